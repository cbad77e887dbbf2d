"""Known mistake: the per-token KL averaged within each sequence, then over the sequences."""

import torch.nn.functional as F


def sequence_distillation_loss(student_logits, teacher_logits, attention_mask, temperature):
    T = temperature
    log_q = F.log_softmax(student_logits / T, -1)
    p = F.softmax(teacher_logits.detach() / T, -1)
    per_token = F.kl_div(log_q, p, reduction="none").sum(-1)
    mask = attention_mask.to(per_token.dtype)
    per_sequence = (per_token * mask).sum(-1) / mask.sum(-1)
    return per_sequence.mean() * T * T
