"""Known mistake: T² dropped only in the alpha = 1 shortcut. The teacher is detached by the caller."""

import torch.nn.functional as F


def distillation_loss(student_logits, teacher_logits, labels, temperature, alpha):
    T = temperature
    kl = F.kl_div(F.log_softmax(student_logits / T, -1), F.softmax(teacher_logits / T, -1), reduction="batchmean")
    if alpha == 1:
        return kl
    return alpha * kl * T * T + (1 - alpha) * F.cross_entropy(student_logits, labels)
