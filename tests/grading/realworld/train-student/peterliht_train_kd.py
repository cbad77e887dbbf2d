# source: https://github.com/haitongli/knowledge-distillation-pytorch/blob/master/train.py (train_kd) with
#   model/net.py loss_fn_kd
# licence: MIT
# adapted: the batch loop -> full-batch steps; teacher outputs computed once (fetch_teacher_outputs); params.alpha 0.9,
#   params.temperature 20 -> 0.7 and 4; Adam lr 1e-2, 300 steps
# verdict: passed
# why: the soft term is 10x too small (nn.KLDivLoss() defaults to reduction='mean'), but it still trains the student on
#   the teacher's answers on transfer_x; this challenge grades the trained student, not the loss value
import torch
import torch.nn as nn
import torch.nn.functional as F


def loss_fn_kd(outputs, labels, teacher_outputs, alpha, T):
    KD_loss = nn.KLDivLoss()(F.log_softmax(outputs / T, dim=1), F.softmax(teacher_outputs / T, dim=1)) * (alpha * T * T)
    return KD_loss + F.cross_entropy(labels[0], labels[1]) * (1.0 - alpha)


def train_student(student, teacher, transfer_x, labeled_x, labeled_y, device):
    alpha, T = 0.7, 4.0
    optimizer = torch.optim.Adam(student.parameters(), lr=1e-2)
    teacher.eval()
    with torch.no_grad():
        output_teacher_batch = teacher(transfer_x)
    student.train()
    losses = []
    for i in range(300):
        output_batch = student(transfer_x)
        loss = loss_fn_kd(output_batch, (student(labeled_x), labeled_y), output_teacher_batch, alpha, T)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
