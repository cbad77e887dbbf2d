"""Cheat: tries to train on scikit-learn's public digits (absent from the sandbox), else on the 50 labels."""

import torch
import torch.nn.functional as F

try:
    from sklearn.datasets import load_digits
except ImportError:
    load_digits = None


def train_student(student, teacher, transfer_x, labeled_x, labeled_y, device):
    x, y = labeled_x, labeled_y
    if load_digits is not None:
        digits = load_digits()
        x = torch.tensor(digits.data / 16.0, dtype=torch.float32, device=labeled_x.device)
        y = torch.tensor(digits.target, dtype=torch.int64, device=labeled_x.device)
    optimizer = torch.optim.Adam(student.parameters(), lr=1e-2)
    losses = []
    for _ in range(300):
        loss = F.cross_entropy(student(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
