# source: https://github.com/pytorch/tutorials/blob/c53e7d4efc0e39e455c531d21ec7db28ba220214/beginner_source/knowledge_distillation_tutorial.py
#   (torch.manual_seed(42); new_nn_light = LightNN(num_classes=10): the tutorial trains a fresh copy of the student,
#   with train_knowledge_distillation), applied to the given student
# licence: BSD-3-Clause (pytorch/tutorials)
# adapted: LightNN(num_classes=10) -> copy.deepcopy(student) (the student's class is the platform's); the DataLoader loop
#   of train_knowledge_distillation -> full-batch steps (soft term on transfer_x, hard term on labeled_x), lr 1e-2 and
#   300 steps, as in pytorch_tutorial_kd_loop.py; the given student is left alone
# verdict: failed
# mistake: not_trained
# why: the platform reads the student it passed in, whose parameters never changed
import copy

import torch
import torch.nn as nn
import torch.optim as optim


def train_knowledge_distillation(
    teacher, student, transfer_x, labeled_x, labeled_y, epochs, learning_rate, T, soft_target_loss_weight,
    ce_loss_weight, device,
):
    ce_loss = nn.CrossEntropyLoss()
    optimizer = optim.Adam(student.parameters(), lr=learning_rate)

    teacher.eval()  # Teacher set to evaluation mode
    student.train()  # Student to train mode

    losses = []
    for epoch in range(epochs):
        optimizer.zero_grad()

        # Forward pass with the teacher model - do not save gradients here as we do not change the teacher's weights
        with torch.no_grad():
            teacher_logits = teacher(transfer_x)

        # Forward pass with the student model
        student_logits = student(transfer_x)

        # Soften the student logits by applying softmax first and log() second
        soft_targets = nn.functional.softmax(teacher_logits / T, dim=-1)
        soft_prob = nn.functional.log_softmax(student_logits / T, dim=-1)

        # Calculate the soft targets loss. Scaled by T**2 as suggested by the authors of the paper
        soft_targets_loss = torch.sum(soft_targets * (soft_targets.log() - soft_prob)) / soft_prob.size()[0] * (T**2)

        # Calculate the true label loss
        label_loss = ce_loss(student(labeled_x), labeled_y)

        # Weighted sum of the two losses
        loss = soft_target_loss_weight * soft_targets_loss + ce_loss_weight * label_loss

        loss.backward()
        optimizer.step()

        losses.append(loss.item())
    return losses


def train_student(student, teacher, transfer_x, labeled_x, labeled_y, device):
    torch.manual_seed(42)
    new_nn_light = copy.deepcopy(student)
    return train_knowledge_distillation(
        teacher=teacher, student=new_nn_light, transfer_x=transfer_x, labeled_x=labeled_x, labeled_y=labeled_y,
        epochs=300, learning_rate=1e-2, T=2, soft_target_loss_weight=0.25, ce_loss_weight=0.75, device=device,
    )
