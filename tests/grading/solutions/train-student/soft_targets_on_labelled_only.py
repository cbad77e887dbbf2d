"""Known mistake: the teacher's soft targets used, but on the 50 labelled images (the hard term's batch) rather than
on transfer_x, which is never touched."""

import torch
import torch.nn.functional as F


def train_student(student, teacher, transfer_x, labeled_x, labeled_y, device):
    T, alpha = 4.0, 0.7
    with torch.no_grad():
        teacher_logits = teacher(labeled_x)
    optimizer = torch.optim.Adam(student.parameters(), lr=1e-2)
    losses = []
    for _ in range(300):
        logits = student(labeled_x)
        soft = F.kl_div(F.log_softmax(logits / T, dim=-1), F.softmax(teacher_logits / T, dim=-1), reduction="batchmean")
        loss = alpha * T * T * soft + (1 - alpha) * F.cross_entropy(logits, labeled_y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
