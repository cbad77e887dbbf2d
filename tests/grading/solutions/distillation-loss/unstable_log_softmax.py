"""Known mistake: log of softmax computed by hand."""

import torch
import torch.nn.functional as F


def distillation_loss(student_logits, teacher_logits, labels, temperature, alpha):
    T = temperature
    s, t = student_logits, teacher_logits.detach()
    q = torch.exp(s / T) / torch.exp(s / T).sum(-1, keepdim=True)
    p = torch.exp(t / T) / torch.exp(t / T).sum(-1, keepdim=True)
    soft = (p * (torch.log(p) - torch.log(q))).sum(-1).mean() * T**2
    return alpha * soft + (1 - alpha) * F.cross_entropy(s, labels)
