# source: https://github.com/pytorch/tutorials/blob/c53e7d4efc0e39e455c531d21ec7db28ba220214/beginner_source/knowledge_distillation_tutorial.py
#   (train_knowledge_distillation); the page https://pytorch.org/tutorials/beginner/knowledge_distillation_tutorial.html
# licence: BSD-3-Clause (pytorch/tutorials)
# adapted: the tutorial's train_loader yields (inputs, labels) and feeds the same inputs to teacher and student; the
#   only labelled batch here is (labeled_x, labeled_y), so transfer_x is never used; lr 1e-2, 300 steps
# verdict: failed
# mistake: soft_targets_labelled_only (soft targets used, but only on the 50 labelled images: transfer_x is never used)
# why: the teacher's answers on 50 images add little over the labels; the student scores like the labels-only baseline
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
        inputs, labels = labeled_x.to(device), labeled_y.to(device)
        optimizer.zero_grad()
        with torch.no_grad():
            teacher_logits = teacher(inputs)
        student_logits = student(inputs)
        soft_targets = nn.functional.softmax(teacher_logits / T, dim=-1)
        soft_prob = nn.functional.log_softmax(student_logits / T, dim=-1)
        soft_targets_loss = torch.sum(soft_targets * (soft_targets.log() - soft_prob)) / soft_prob.size()[0] * (T**2)
        label_loss = ce_loss(student_logits, labels)
        loss = soft_target_loss_weight * soft_targets_loss + ce_loss_weight * label_loss
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
