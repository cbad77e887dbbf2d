"""Known mistake: trains well, then leaves NaN in the output layer's weights."""

import torch
import torch.nn.functional as F


def train_student(student, teacher, transfer_x, labeled_x, labeled_y, device):
    T, alpha = 4.0, 0.7
    with torch.no_grad():
        teacher_probs = F.softmax(teacher(transfer_x) / T, dim=-1)
    optimizer = torch.optim.Adam(student.parameters(), lr=1e-2)
    losses = []
    for _ in range(300):
        soft = F.kl_div(F.log_softmax(student(transfer_x) / T, -1), teacher_probs, reduction="batchmean") * T**2
        loss = alpha * soft + (1 - alpha) * F.cross_entropy(student(labeled_x), labeled_y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    with torch.no_grad():
        student.out.weight.fill_(float("nan"))
    return losses
