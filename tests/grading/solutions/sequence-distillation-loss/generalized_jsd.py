"""Known mistake: the generalised Jensen-Shannon divergence (beta = 0.5, GKD's default) instead of the forward KL,
written with the mixture's probabilities rather than logsumexp (temperature and T² kept)."""

import torch


def sequence_distillation_loss(student_logits, teacher_logits, attention_mask, temperature):
    T = temperature
    p = torch.softmax(teacher_logits.detach() / T, dim=-1)
    q = torch.softmax(student_logits / T, dim=-1)
    m = 0.5 * (p + q)
    log_m = torch.log(m)
    jsd = 0.5 * (p * (torch.log_softmax(teacher_logits.detach() / T, -1) - log_m)).sum(-1)
    jsd = jsd + 0.5 * (q * (torch.log_softmax(student_logits / T, -1) - log_m)).sum(-1)
    mask = attention_mask.float()
    return T * T * (jsd * mask).sum() / mask.sum()
