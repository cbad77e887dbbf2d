# source: https://github.com/HobbitLong/RepDistiller/blob/5237c1fdeeb06b092cd103cc0daa8a2935cba98f/distiller_zoo/KD.py
#   (DistillKL); the CE and the weights from train_distill in helper/loops.py (loss = opt.gamma * loss_cls +
#   opt.alpha * loss_div + opt.beta * loss_kd, loss_kd = 0 for plain KD,
#   https://github.com/HobbitLong/RepDistiller/blob/1fb2343fb5a61b37bedacac7630f07e3077d49cd/helper/loops.py)
# licence: BSD-2-Clause (RepDistiller)
# adapted: module -> function; RepDistiller's gamma * CE + alpha * KD mapped to (1 - alpha) and alpha; size_average=False
#   kept as in the original (PyTorch warns that it is deprecated and reads it as reduction='sum')
# verdict: passed
# why: KL summed over classes and batch, divided by the batch size, times T^2: exactly reduction='batchmean'
import torch.nn as nn
import torch.nn.functional as F


class DistillKL(nn.Module):
    """KL divergence for KD"""

    def __init__(self, T):
        super(DistillKL, self).__init__()
        self.T = T

    def forward(self, y_s, y_t):
        p_s = F.log_softmax(y_s / self.T, dim=1)
        p_t = F.softmax(y_t / self.T, dim=1)
        loss = F.kl_div(p_s, p_t, size_average=False) * (self.T**2) / y_s.shape[0]
        return loss


def distillation_loss(student_logits, teacher_logits, labels, temperature, alpha):
    criterion_cls = nn.CrossEntropyLoss()
    criterion_div = DistillKL(temperature)
    loss_cls = criterion_cls(student_logits, labels)
    loss_div = criterion_div(student_logits, teacher_logits)
    return (1 - alpha) * loss_cls + alpha * loss_div
