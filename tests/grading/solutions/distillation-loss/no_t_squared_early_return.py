"""Known mistake: the soft-only early return skips the T² that the combined branch applies."""

import torch.nn.functional as F


def distillation_loss(student_logits, teacher_logits, labels, temperature, alpha):
    T = temperature
    soft = F.kl_div(F.log_softmax(student_logits / T, -1), F.softmax(teacher_logits / T, -1), reduction="batchmean")
    if alpha >= 1:
        return soft
    hard = F.cross_entropy(student_logits, labels)
    return alpha * (soft * T**2) + (1 - alpha) * hard
