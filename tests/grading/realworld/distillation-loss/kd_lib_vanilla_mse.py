# source: https://github.com/SforAiDl/KD_Lib/blob/d00c232de5a16bcd2a81b896a35ec3f20c2f9fa8/KD_Lib/KD/vision/vanilla/vanilla_kd.py
#   (VanillaKD.calculate_kd_loss with the constructor's default loss_fn=nn.MSELoss())
# licence: MIT
# adapted: method -> function; self.temp -> temperature, self.distil_weight -> alpha (KD_Lib's distil_weight already
#   weights the soft term and 1 - distil_weight the cross-entropy); self.loss_fn -> the default nn.MSELoss()
# verdict: failed
# mistake: squared_error (mean squared error between the teacher's and the student's softened probabilities in place of the
#   KL; nn.MSELoss also averages over batch x classes)
# why: T^2 * mean((p_t - q_s)^2) is zero when the two distributions match, like the KL, but it is a different quantity
#   with different gradients (squared differences of probabilities, averaged over the classes as well), not T^2 * KL
import torch.nn as nn
import torch.nn.functional as F


def calculate_kd_loss(y_pred_student, y_pred_teacher, y_true, temp, distil_weight, loss_fn=nn.MSELoss()):
    """
    Function used for calculating the KD loss during distillation

    :param y_pred_student (torch.FloatTensor): Prediction made by the student model
    :param y_pred_teacher (torch.FloatTensor): Prediction made by the teacher model
    :param y_true (torch.FloatTensor): Original label
    """

    soft_teacher_out = F.softmax(y_pred_teacher / temp, dim=1)
    soft_student_out = F.softmax(y_pred_student / temp, dim=1)

    loss = (1 - distil_weight) * F.cross_entropy(y_pred_student, y_true)
    loss += (distil_weight * temp * temp) * loss_fn(soft_teacher_out, soft_student_out)

    return loss


def distillation_loss(student_logits, teacher_logits, labels, temperature, alpha):
    return calculate_kd_loss(student_logits, teacher_logits, labels, temperature, alpha)
