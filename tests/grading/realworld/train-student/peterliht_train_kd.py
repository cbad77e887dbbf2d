# source: https://github.com/haitongli/knowledge-distillation-pytorch/blob/9937528f0be0efa979c745174fbcbe9621cea8b7/train.py
#   (train_kd) with model/net.py loss_fn_kd at the same commit; alpha 0.9 and temperature 20 from
#   experiments/cnn_distill/params.json
# licence: MIT
# adapted: the DataLoader loop -> full-batch steps, train_batch = transfer_x (the teacher is asked on it each step, under
#   no_grad, as train_kd does); params.alpha/params.temperature -> arguments; transfer_x has no labels, so `labels`
#   carries the labelled batch and loss_fn_kd's F.cross_entropy(outputs, labels) -> F.cross_entropy(labels[0],
#   labels[1]) on (student(labeled_x), labeled_y); Adam lr 1e-2 (params 1e-3) and 300 steps instead of 30 CIFAR epochs
# verdict: passed
# why: the soft term is also divided by the 10 classes (nn.KLDivLoss() defaults to reduction='mean') and T = 20 makes
#   the targets very soft, but matching them still teaches the student the teacher's answers on transfer_x, and Adam does
#   not care about the loss's scale; this challenge grades the trained student, not the loss value
import torch
import torch.nn as nn
import torch.nn.functional as F


def loss_fn_kd(outputs, labels, teacher_outputs, alpha, T):
    """
    Compute the knowledge-distillation (KD) loss given outputs, labels.
    "Hyperparameters": temperature and alpha

    NOTE: the KL Divergence for PyTorch comparing the softmaxs of teacher
    and student expects the input tensor to be log probabilities! See Issue #2
    """
    KD_loss = nn.KLDivLoss()(F.log_softmax(outputs / T, dim=1), F.softmax(teacher_outputs / T, dim=1)) * (
        alpha * T * T
    ) + F.cross_entropy(labels[0], labels[1]) * (1.0 - alpha)

    return KD_loss


def train_student(student, teacher, transfer_x, labeled_x, labeled_y, device):
    model, teacher_model = student, teacher
    alpha, T = 0.9, 20
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)

    # set model to training mode
    model.train()
    teacher_model.eval()

    losses = []
    for i in range(300):
        train_batch, labels_batch = transfer_x, (model(labeled_x), labeled_y)

        # compute model output, fetch teacher output, and compute KD loss
        output_batch = model(train_batch)

        # get one batch output from teacher_outputs list

        with torch.no_grad():
            output_teacher_batch = teacher_model(train_batch)

        loss = loss_fn_kd(output_batch, labels_batch, output_teacher_batch, alpha, T)

        # clear previous gradients, compute gradients of all variables wrt loss
        optimizer.zero_grad()
        loss.backward()

        # performs updates using calculated gradients
        optimizer.step()

        losses.append(loss.item())
    return losses
