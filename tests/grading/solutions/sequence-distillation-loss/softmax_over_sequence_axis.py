"""Known mistake: a (batch, classes) distillation loss applied as is to (batch, length, vocab) logits: the softmax
runs over dim 1, the positions of a sequence, and padding is counted."""

import torch
import torch.nn as nn


def sequence_distillation_loss(student_logits, teacher_logits, attention_mask, temperature):
    T = temperature
    kl = nn.KLDivLoss(reduction="none")(
        torch.log_softmax(student_logits / T, dim=1), torch.softmax(teacher_logits.detach() / T, dim=1)
    )
    return kl.sum(1).mean() * T * T
