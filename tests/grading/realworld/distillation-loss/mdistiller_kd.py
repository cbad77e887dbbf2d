# source: https://github.com/megvii-research/mdistiller/blob/e8c5bb331e78c9d79a8894ca233caae78531cf7f/mdistiller/distillers/KD.py
#   (kd_loss, KD.forward_train)
# licence: MIT
# adapted: ce_loss_weight -> (1 - alpha), kd_loss_weight -> alpha; forward_train's model calls replaced by the given logits
# verdict: passed
# why: reduction='none' then .sum(1).mean() is the per-example KL summed over classes, averaged over the batch, times T^2
import torch.nn.functional as F


def kd_loss(logits_student, logits_teacher, temperature):
    log_pred_student = F.log_softmax(logits_student / temperature, dim=1)
    pred_teacher = F.softmax(logits_teacher / temperature, dim=1)
    loss_kd = F.kl_div(log_pred_student, pred_teacher, reduction="none").sum(1).mean()
    loss_kd *= temperature**2
    return loss_kd


def distillation_loss(student_logits, teacher_logits, labels, temperature, alpha):
    loss_ce = (1 - alpha) * F.cross_entropy(student_logits, labels)
    loss_kd = alpha * kd_loss(student_logits, teacher_logits, temperature)
    return loss_ce + loss_kd
