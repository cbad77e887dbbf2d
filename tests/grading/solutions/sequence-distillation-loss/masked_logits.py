"""Known mistake: the logits are masked instead of the per-token loss, then averaged over every position."""

import torch
import torch.nn.functional as F


def sequence_distillation_loss(student_logits, teacher_logits, attention_mask, temperature):
    T = temperature
    mask = attention_mask.to(student_logits.dtype)[..., None]
    s, t = student_logits * mask, teacher_logits.detach() * mask
    per_token = F.kl_div(F.log_softmax(s / T, -1), F.log_softmax(t / T, -1), reduction="none", log_target=True).sum(-1)
    return per_token.mean() * T**2
