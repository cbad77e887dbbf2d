"""Known mistake: a typical minibatch distillation loop (SGD with momentum, batches of 64) run for 5 epochs.

Its soft term is right and dominates the loss, but 95 steps at this learning rate leave the student near the
labels-only baseline's accuracy while the curve is still falling: under-trained, not "soft targets unused".
"""

import torch
import torch.nn.functional as F

TEMPERATURE = 4.0
ALPHA = 0.7
EPOCHS = 5
BATCH = 64


def train_student(student, teacher, transfer_x, labeled_x, labeled_y, device):
    T = TEMPERATURE
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        teacher_logits = teacher(transfer_x)
    optimizer = torch.optim.SGD(student.parameters(), lr=0.01, momentum=0.9)
    losses = []
    for _ in range(EPOCHS):
        order = torch.randperm(len(transfer_x), generator=generator)
        for start in range(0, len(order), BATCH):
            batch = order[start : start + BATCH]
            student_log_probs = F.log_softmax(student(transfer_x[batch]) / T, dim=-1)
            teacher_probs = F.softmax(teacher_logits[batch] / T, dim=-1)
            soft = F.kl_div(student_log_probs, teacher_probs, reduction="batchmean") * T * T
            hard = F.cross_entropy(student(labeled_x), labeled_y)
            loss = ALPHA * soft + (1 - ALPHA) * hard
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return losses
