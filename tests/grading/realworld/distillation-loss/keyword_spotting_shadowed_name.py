# source: https://github.com/huonglarne/keyword-spotting-with-distillation/blob/6ff5401fdb1e06f05c72de0aab4cc254d2496bc6/src/loss.py
#   (distillation_loss; a later commit, c17dcefa, renames the helpers to _student_loss/_kd_loss)
# licence: not stated in the file
# adapted: none beyond the argument order (student_preds, teacher_preds, labels, alpha, T) -> entry point's
# verdict: failed
# mistake: none-yet (a local variable shadows the helper function: `student_loss = student_loss(...)` raises UnboundLocalError)
# why: the formula (log_target=True, batchmean, T^2) is right, but the function crashes on every call
import torch.nn as nn
import torch.nn.functional as F


def student_loss(student_preds, labels):
    loss = nn.CrossEntropyLoss()
    return loss(student_preds, labels)


def kd_loss(student_preds, teacher_preds, T):
    loss = nn.KLDivLoss(reduction="batchmean", log_target=True)

    return (
        loss(
            F.log_softmax(student_preds / T, dim=1),
            F.log_softmax(teacher_preds / T, dim=1),
        )
        * T
        * T
    )


def distillation_loss(student_logits, teacher_logits, labels, temperature, alpha):
    student_preds, teacher_preds, T = student_logits, teacher_logits, temperature
    student_loss = student_loss(student_preds, labels)
    kd_loss = kd_loss(student_preds, teacher_preds, T)

    return kd_loss * alpha + student_loss * (1 - alpha)
