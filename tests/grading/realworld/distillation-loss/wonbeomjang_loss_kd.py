# source: https://github.com/wonbeomjang/Knowledge-Distilling-PyTorch/blob/4475879b91b9191a4022fe354951c4a8a0d71c75/loss.py
#   (loss_kd)
# licence: not stated in the file
# adapted: (preds, labels, teacher_preds, params) -> entry point's arguments
# verdict: passed
# why: reduction='batchmean', T^2, alpha on the soft term: the reference formula
import torch.nn.functional as F


def distillation_loss(student_logits, teacher_logits, labels, temperature, alpha):
    preds, teacher_preds = student_logits, teacher_logits
    T = temperature
    loss = F.kl_div(
        F.log_softmax(preds / T, dim=1), F.softmax(teacher_preds / T, dim=1), reduction="batchmean"
    ) * T * T * alpha + F.cross_entropy(preds, labels) * (1.0 - alpha)
    return loss
