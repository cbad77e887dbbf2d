# source: https://github.com/Ilya703/Inheritune/blob/f7799610a4ba0bed09fe3a9cba4f4cd87c0bad08/src/utils/distillation_loss.py
#   (distillation_loss; a later commit reads the reduction from a config)
# licence: not stated in the file
# adapted: the soft-only function kept as is (renamed _distillation_loss); the hard term and the alpha weighting added around it
#   as the statement asks
# verdict: failed
# mistake: no_t_squared
# why: batchmean KL at temperature T, never multiplied by T^2
import torch
import torch.nn.functional as F


def _distillation_loss(student_logits, teacher_logits, temperature):
    loss_fn = torch.nn.KLDivLoss(reduction="batchmean")
    student_probs = torch.nn.functional.log_softmax(student_logits / temperature, dim=-1)
    teacher_probs = torch.nn.functional.softmax(teacher_logits / temperature, dim=-1)

    return loss_fn(student_probs, teacher_probs)


def distillation_loss(student_logits, teacher_logits, labels, temperature, alpha):
    soft = _distillation_loss(student_logits, teacher_logits, temperature)
    return alpha * soft + (1 - alpha) * F.cross_entropy(student_logits, labels)
