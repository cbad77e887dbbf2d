# source: https://github.com/Yuting-Gao/DisCo-pytorch/blob/35da4b316459324c323b5a138524d919ae2c1f87/DisCo/kd_ce_loss.py
#   (loss_fn_kd)
# licence: not stated in the file
# adapted: (outputs, labels, teacher_outputs, args) -> entry point's arguments; args.alpha/args.T -> alpha/temperature
# verdict: failed
# mistake: reduction_mean
# why: the peterliht loss copied with its nn.KLDivLoss() default reduction='mean' (divides by the number of classes too)
import torch.nn as nn
import torch.nn.functional as F


def distillation_loss(student_logits, teacher_logits, labels, temperature, alpha):
    outputs, teacher_outputs = student_logits, teacher_logits
    T = temperature
    KD_loss = nn.KLDivLoss()(F.log_softmax(outputs / T, dim=1), F.softmax(teacher_outputs / T, dim=1)) * (
        alpha * T * T
    ) + F.cross_entropy(outputs, labels) * (1.0 - alpha)
    return KD_loss
