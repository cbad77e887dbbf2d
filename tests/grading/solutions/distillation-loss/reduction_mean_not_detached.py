"""Known mistake: reduction='mean', in a loss that leaves detaching the teacher to the caller."""

import torch.nn.functional as F


def distillation_loss(student_logits, teacher_logits, labels, temperature, alpha):
    T = temperature
    soft = F.kl_div(F.log_softmax(student_logits / T, -1), F.softmax(teacher_logits / T, -1), reduction="mean")
    return alpha * soft * T * T + (1 - alpha) * F.cross_entropy(student_logits, labels)
