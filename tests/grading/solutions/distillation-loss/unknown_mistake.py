"""A wrong loss no known mistake explains: the soft term is squared."""

import torch.nn.functional as F


def distillation_loss(student_logits, teacher_logits, labels, temperature, alpha):
    T = temperature
    soft = F.kl_div(F.log_softmax(student_logits / T, -1), F.softmax(teacher_logits / T, -1), reduction="batchmean")
    return alpha * (soft * T * T) ** 2 + (1 - alpha) * F.cross_entropy(student_logits, labels)
