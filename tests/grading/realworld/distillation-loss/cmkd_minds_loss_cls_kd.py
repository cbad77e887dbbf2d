# source: https://github.com/increase24/CMKD-MINDS/blob/42650019608a3596cfec3f4eb8b6dc866c14f767/utils/loss.py
#   (loss_cls_kd)
# licence: not stated in the file
# adapted: module -> function; (output, target, output_tch) and params.alpha/params.temperature -> the entry point's
#   arguments
# verdict: failed
# mistake: reduction_mean
# why: nn.KLDivLoss() defaults to reduction='mean', which divides the summed KL by batch x classes, not by the batch
import torch.nn as nn
import torch.nn.functional as F


class loss_cls_kd(nn.Module):
    def __init__(self, alpha, temperature):
        super(loss_cls_kd, self).__init__()
        self.alpha = alpha
        self.T = temperature

    def forward(self, output, target, output_tch):
        loss_ce = F.cross_entropy(output, target)
        loss_kl = nn.KLDivLoss()(F.log_softmax(output / self.T, dim=1), F.softmax(output_tch / self.T, dim=1)) * self.T * self.T
        loss_kd = loss_ce * (1.0 - self.alpha) + loss_kl * self.alpha
        # print("loss_ce", loss_ce, "loss_kl：", loss_kl)
        return loss_kd


def distillation_loss(student_logits, teacher_logits, labels, temperature, alpha):
    return loss_cls_kd(alpha, temperature)(student_logits, labels, teacher_logits)
