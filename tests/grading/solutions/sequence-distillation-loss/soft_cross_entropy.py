"""Known mistake: the per-token soft-target cross-entropy -sum p log q instead of the KL (temperature and T² kept)."""

import torch


def sequence_distillation_loss(student_logits, teacher_logits, attention_mask, temperature):
    T = temperature
    p = torch.softmax(teacher_logits.detach() / T, dim=-1)
    log_q = torch.log_softmax(student_logits / T, dim=-1)
    cross_entropy = -(p * log_q).sum(dim=-1)  # per token: the KL plus the teacher's entropy
    real = attention_mask.bool()
    return cross_entropy[real].mean() * T**2
