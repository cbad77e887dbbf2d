"""Known mistake: input modified in place."""

import torch
import torch.nn.functional as F


def distillation_loss(student_logits, teacher_logits, labels, temperature, alpha):
    T = temperature
    s, t = student_logits, teacher_logits.detach()
    soft = F.kl_div(F.log_softmax(s / T, -1), F.softmax(t / T, -1), reduction="batchmean") * T**2
    loss = alpha * soft + (1 - alpha) * F.cross_entropy(s, labels)
    # Scaling the caller's tensor after use still corrupts it for everyone else.
    teacher_logits.data.mul_(2.0)
    return loss
