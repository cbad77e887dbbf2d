# source: https://github.com/open-mmlab/mmrazor/blob/09bef65714ba0f227626ca2585ebad2adb44bf9d/mmrazor/models/losses/kl_divergence.py
#   (KLDivergence, mmrazor 0.x: named a KL divergence, computed as a soft cross-entropy)
# licence: Apache-2.0
# adapted: module -> function with tau = temperature, loss_weight = alpha; the hard loss added as (1 - alpha) * CE
# verdict: failed
# mistake: soft_cross_entropy
# why: sum(-p_t * log q_s) / N * tau^2 is the soft cross-entropy, larger than the KL by the teacher's entropy (same
#   gradients); mmrazor 1.x replaced it with F.kl_div(..., reduction='batchmean')
import torch
import torch.nn as nn
import torch.nn.functional as F


class KLDivergence(nn.Module):
    """A measure of how one probability distribution Q is different from a
    second, reference probability distribution P.

    Args:
        tau (float): Temperature coefficient. Defaults to 1.0.
        loss_weight (float): Weight of loss. Defaults to 1.0.
    """

    def __init__(
        self,
        tau=1.0,
        loss_weight=1.0,
    ):
        super(KLDivergence, self).__init__()
        self.tau = tau
        self.loss_weight = loss_weight

    def forward(self, preds_S, preds_T):
        N, C = preds_S.shape
        preds_T = preds_T.detach()
        softmax_pred_T = F.softmax(preds_T / self.tau, dim=1)

        logsoftmax = torch.nn.LogSoftmax(dim=1)
        loss = torch.sum(-softmax_pred_T * logsoftmax(preds_S / self.tau)) * (self.tau**2)
        return self.loss_weight * loss / N


def distillation_loss(student_logits, teacher_logits, labels, temperature, alpha):
    kd = KLDivergence(tau=temperature, loss_weight=alpha)(student_logits, teacher_logits)
    return kd + (1 - alpha) * F.cross_entropy(student_logits, labels)
