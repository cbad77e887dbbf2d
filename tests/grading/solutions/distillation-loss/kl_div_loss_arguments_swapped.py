"""Known mistake: nn.KLDivLoss called as (student probabilities, teacher log-probabilities)."""

import torch.nn as nn
import torch.nn.functional as F


def distillation_loss(student_logits, teacher_logits, labels, temperature, alpha):
    T = temperature
    kl = nn.KLDivLoss(reduction="batchmean")
    soft = kl(F.softmax(student_logits / T, -1), F.log_softmax(teacher_logits / T, -1)) * T * T
    return alpha * soft + (1 - alpha) * F.cross_entropy(student_logits, labels)
