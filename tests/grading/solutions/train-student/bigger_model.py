"""Known mistake: replaces the student's layers with bigger ones (64 -> 256 -> 10) and distills into those."""

import torch
import torch.nn.functional as F
from torch import nn


def train_student(student, teacher, transfer_x, labeled_x, labeled_y, device):
    T, alpha = 4.0, 0.7
    student.hidden = nn.Linear(64, 256).to(transfer_x.device)
    student.out = nn.Linear(256, 10).to(transfer_x.device)
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
    return losses
