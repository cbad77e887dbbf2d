# source: https://github.com/yoshitomo-matsubara/torchdistill/blob/95998d87df2bb4318732790afe82de3c5364dc85/torchdistill/losses/mid_level.py
#   (KDLoss)
# licence: MIT
# adapted: io dicts -> logits; the platform's alpha passed as torchdistill's alpha (beta defaults to 1 - alpha)
# verdict: failed
# mistake: alpha_swapped (and, at alpha = 0, the bare soft KL with no T², which no key matches: said as what differed)
# why: torchdistill's alpha weights the hard-label loss and beta = 1 - alpha the soft term: the opposite convention;
#   also, with alpha == 0 it returns the bare soft loss (no T^2, no hard term)
import torch
import torch.nn as nn


class KDLoss(nn.KLDivLoss):
    def __init__(self, temperature, alpha=None, beta=None, reduction="batchmean", **kwargs):
        super().__init__(reduction=reduction)
        self.temperature = temperature
        self.alpha = alpha
        self.beta = 1 - alpha if beta is None else beta
        cel_reduction = "mean" if reduction == "batchmean" else reduction
        self.cross_entropy_loss = nn.CrossEntropyLoss(reduction=cel_reduction, **kwargs)

    def forward(self, student_logits, teacher_logits, targets=None, *args, **kwargs):
        soft_loss = super().forward(
            torch.log_softmax(student_logits / self.temperature, dim=1),
            torch.softmax(teacher_logits / self.temperature, dim=1),
        )
        if self.alpha is None or self.alpha == 0 or targets is None:
            return soft_loss

        hard_loss = self.cross_entropy_loss(student_logits, targets)
        return self.alpha * hard_loss + self.beta * (self.temperature**2) * soft_loss


def distillation_loss(student_logits, teacher_logits, labels, temperature, alpha):
    return KDLoss(temperature, alpha=alpha)(student_logits, teacher_logits, labels)
