# source: https://github.com/haitongli/knowledge-distillation-pytorch/blob/9937528f0be0efa979c745174fbcbe9621cea8b7/model/net.py
#   (loss_fn_kd; the repo formerly peterliht/knowledge-distillation-pytorch)
# licence: MIT
# adapted: renamed (outputs, labels, teacher_outputs, params) to the entry point's arguments; params.alpha/params.temperature -> alpha/temperature
# verdict: failed
# mistake: reduction_mean
# why: nn.KLDivLoss() defaults to reduction='mean', which divides the summed KL by batch x classes, not by the batch
import torch.nn as nn
import torch.nn.functional as F


def distillation_loss(student_logits, teacher_logits, labels, temperature, alpha):
    outputs, teacher_outputs = student_logits, teacher_logits
    T = temperature
    KD_loss = nn.KLDivLoss()(F.log_softmax(outputs / T, dim=1), F.softmax(teacher_outputs / T, dim=1)) * (
        alpha * T * T
    ) + F.cross_entropy(outputs, labels) * (1.0 - alpha)
    return KD_loss
