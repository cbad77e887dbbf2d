# source: https://github.com/yoshitomo-matsubara/torchdistill/blob/95998d87df2bb4318732790afe82de3c5364dc85/torchdistill/losses/mid_level.py
#   (KDLoss)
# licence: MIT
# adapted: io dicts -> logits; conventions mapped correctly: torchdistill alpha = 1 - alpha, beta = alpha
# verdict: failed
# mistake: no_t_squared_in_one_branch (torchdistill's early return: when its hard-label weight is 0, i.e. the platform's alpha = 1, it returns the bare soft KL without T^2)
# why: right for 0 <= alpha < 1; at alpha = 1 the value is KL instead of T^2 * KL
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
    return KDLoss(temperature, alpha=1 - alpha, beta=alpha)(student_logits, teacher_logits, labels)
