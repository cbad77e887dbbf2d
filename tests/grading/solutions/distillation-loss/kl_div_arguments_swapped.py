"""Known mistake: kl_div given the teacher's probabilities first and the student's log-probabilities second."""

import torch.nn.functional as F


def distillation_loss(student_logits, teacher_logits, labels, temperature, alpha):
    T = temperature
    soft = F.kl_div(F.softmax(teacher_logits / T, -1), F.log_softmax(student_logits / T, -1), reduction="batchmean")
    return alpha * soft * T**2 + (1 - alpha) * F.cross_entropy(student_logits, labels)
