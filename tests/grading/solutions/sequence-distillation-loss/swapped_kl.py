"""Known mistake: KL direction swapped, KL(student || teacher)."""

import torch
import torch.nn.functional as F


def sequence_distillation_loss(student_logits, teacher_logits, attention_mask, temperature):
    T = temperature
    s, t = student_logits, teacher_logits.detach()
    per_token = F.kl_div(F.log_softmax(t / T, -1), F.log_softmax(s / T, -1), reduction="none", log_target=True).sum(-1)
    mask = attention_mask.to(per_token.dtype)
    return (per_token * mask).sum() / mask.sum() * T**2
