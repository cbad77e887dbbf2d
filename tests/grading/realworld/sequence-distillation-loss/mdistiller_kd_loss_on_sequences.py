# source: https://github.com/megvii-research/mdistiller/blob/e8c5bb331e78c9d79a8894ca233caae78531cf7f/mdistiller/distillers/KD.py
#   (kd_loss), applied as is to (batch, length, vocab) logits
# licence: MIT
# adapted: none beyond the entry point (the teacher logits detached, as forward_train runs the teacher under no_grad); the mask
#   is ignored, as a learner reusing the classification loss would
# verdict: failed
# mistake: softmax_over_sequence_axis (softmax over dim=1, the sequence axis, instead of the vocabulary; padding counted too)
# why: dim=1 was the class axis for (batch, classes); on sequences it normalises over positions
import torch.nn.functional as F


def kd_loss(logits_student, logits_teacher, temperature):
    log_pred_student = F.log_softmax(logits_student / temperature, dim=1)
    pred_teacher = F.softmax(logits_teacher / temperature, dim=1)
    loss_kd = F.kl_div(log_pred_student, pred_teacher, reduction="none").sum(1).mean()
    loss_kd *= temperature**2
    return loss_kd


def sequence_distillation_loss(student_logits, teacher_logits, attention_mask, temperature):
    return kd_loss(student_logits, teacher_logits.detach(), temperature)
