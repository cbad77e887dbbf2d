# source: https://github.com/open-mmlab/mmrazor/blob/147e85ffc4e2c90f8aa8a7493820b6c7efd49a96/mmrazor/models/losses/kl_divergence.py
#   (KLDivergence, mmrazor 1.x)
# licence: Apache-2.0
# adapted: module -> function with tau = temperature, loss_weight = alpha; the hard loss added as (1 - alpha) * CE
# verdict: passed
# why: tau^2 * batchmean KL with the teacher detached
import torch.nn as nn
import torch.nn.functional as F


class KLDivergence(nn.Module):
    def __init__(self, tau=1.0, reduction="batchmean", loss_weight=1.0, teacher_detach=True):
        super(KLDivergence, self).__init__()
        self.tau = tau
        self.loss_weight = loss_weight
        self.teacher_detach = teacher_detach
        accept_reduction = {"none", "batchmean", "sum", "mean"}
        assert reduction in accept_reduction
        self.reduction = reduction

    def forward(self, preds_S, preds_T):
        if self.teacher_detach:
            preds_T = preds_T.detach()
        softmax_pred_T = F.softmax(preds_T / self.tau, dim=1)
        logsoftmax_preds_S = F.log_softmax(preds_S / self.tau, dim=1)
        loss = (self.tau**2) * F.kl_div(logsoftmax_preds_S, softmax_pred_T, reduction=self.reduction)
        return self.loss_weight * loss


def distillation_loss(student_logits, teacher_logits, labels, temperature, alpha):
    kd = KLDivergence(tau=temperature, loss_weight=alpha)(student_logits, teacher_logits)
    return kd + (1 - alpha) * F.cross_entropy(student_logits, labels)
