"""Known mistake: kl_div given the teacher's probabilities first and the student's log-probabilities second."""

import torch.nn.functional as F


def sequence_distillation_loss(student_logits, teacher_logits, attention_mask, temperature):
    T = temperature
    per_token = F.kl_div(F.softmax(teacher_logits / T, -1), F.log_softmax(student_logits / T, -1), reduction="none")
    mask = attention_mask.to(per_token.dtype)
    return (per_token.sum(-1) * mask).sum() / mask.sum() * T * T
