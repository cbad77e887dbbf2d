# source: a public GitHub file (loss_fn_kd, peterliht-style) stored in the code index as id 26152972214; the index
#   does not name its repository or commit (the code search shows it without a repository too)
# licence: not stated in the file
# adapted: (outputs, labels, teacher_outputs, alpha, T) -> entry point's arguments
# verdict: failed
# mistake: kl_div_arguments_swapped
# why: nn.KLDivLoss()(input=teacher probabilities, target=student log-probabilities): the target is negative, its log
#   NaN, so the loss is NaN on every batch (and the reduction is 'mean' as well)
import torch.nn as nn
import torch.nn.functional as F


def distillation_loss(student_logits, teacher_logits, labels, temperature, alpha):
    outputs, teacher_outputs, T = student_logits, teacher_logits, temperature
    hard_loss = F.cross_entropy(outputs, labels) * (1.0 - alpha)
    soft_loss = (alpha * T * T) * nn.KLDivLoss()(F.softmax(teacher_outputs / T, dim=1), F.log_softmax(outputs / T, dim=1))
    return hard_loss + soft_loss
