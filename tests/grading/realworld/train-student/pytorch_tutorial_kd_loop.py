# source: https://github.com/pytorch/tutorials/blob/c53e7d4efc0e39e455c531d21ec7db28ba220214/beginner_source/knowledge_distillation_tutorial.py
#   (train_knowledge_distillation); the page https://pytorch.org/tutorials/beginner/knowledge_distillation_tutorial.html
# licence: BSD-3-Clause (pytorch/tutorials)
# adapted: the DataLoader loop -> full-batch steps (one "batch" = soft term on transfer_x, hard term on labeled_x);
#   T=2, soft_target_loss_weight=0.25, ce_loss_weight=0.75 and Adam as in the tutorial, lr 1e-2 and 300 steps
#   instead of lr 1e-3 over 10 CIFAR epochs; the loss is the tutorial's current KL form
# verdict: passed
# why: teacher under no_grad, student's parameters only, KL on the transfer set, CE on the labels
import torch
import torch.nn as nn
import torch.optim as optim


def train_student(student, teacher, transfer_x, labeled_x, labeled_y, device):
    T, soft_target_loss_weight, ce_loss_weight = 2, 0.25, 0.75
    ce_loss = nn.CrossEntropyLoss()
    optimizer = optim.Adam(student.parameters(), lr=1e-2)

    teacher.eval()
    student.train()
    losses = []
    for epoch in range(300):
        optimizer.zero_grad()

        with torch.no_grad():
            teacher_logits = teacher(transfer_x)

        student_logits = student(transfer_x)
        soft_targets = nn.functional.softmax(teacher_logits / T, dim=-1)
        soft_prob = nn.functional.log_softmax(student_logits / T, dim=-1)
        soft_targets_loss = torch.sum(soft_targets * (soft_targets.log() - soft_prob)) / soft_prob.size()[0] * (T**2)
        label_loss = ce_loss(student(labeled_x), labeled_y)
        loss = soft_target_loss_weight * soft_targets_loss + ce_loss_weight * label_loss

        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
