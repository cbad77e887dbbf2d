"""Known mistake, and something unknown: torchdistill's weighting (alpha on the hard term) with its early return,
which hands back the bare soft KL (no T², no hard term) when alpha == 0."""

import torch.nn.functional as F


def distillation_loss(student_logits, teacher_logits, labels, temperature, alpha):
    T = temperature
    soft = F.kl_div(
        F.log_softmax(student_logits / T, dim=1), F.softmax(teacher_logits.detach() / T, dim=1), reduction="batchmean"
    )
    if alpha == 0:
        return soft
    return alpha * F.cross_entropy(student_logits, labels) + (1 - alpha) * T * T * soft
