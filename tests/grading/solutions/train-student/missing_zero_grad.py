"""Known mistake: a correct distillation loop that never calls optimizer.zero_grad(), so every step applies the sum of
all past gradients; with SGD the loss falls, then climbs back up."""

import torch
import torch.nn.functional as F


def train_student(student, teacher, transfer_x, labeled_x, labeled_y, device):
    T, alpha = 4.0, 0.7
    with torch.no_grad():
        teacher_probs = F.softmax(teacher(transfer_x) / T, dim=-1)
    optimizer = torch.optim.SGD(student.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for _ in range(300):
        soft = F.kl_div(F.log_softmax(student(transfer_x) / T, dim=-1), teacher_probs, reduction="batchmean")
        hard = F.cross_entropy(student(labeled_x), labeled_y)
        loss = alpha * soft * T * T + (1 - alpha) * hard
        loss.backward()  # no optimizer.zero_grad(): the gradients pile up
        optimizer.step()
        losses.append(loss.item())
    return losses
