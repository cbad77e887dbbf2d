"""Known mistake: KL direction swapped."""

import torch
import torch.nn.functional as F


def distillation_loss(student_logits, teacher_logits, labels, temperature, alpha):
    T = temperature
    s, t = student_logits, teacher_logits.detach()
    soft = F.kl_div(F.log_softmax(t / T, -1), F.softmax(s / T, -1), reduction="batchmean") * T**2
    return alpha * soft + (1 - alpha) * F.cross_entropy(s, labels)
