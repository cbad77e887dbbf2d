# source: https://github.com/pytorch/tutorials/blob/c53e7d4efc0e39e455c531d21ec7db28ba220214/beginner_source/knowledge_distillation_tutorial.py
#   (train_knowledge_distillation, the later text: torch.sum(soft_targets * (soft_targets.log() - soft_prob)) / ...)
# licence: BSD-3-Clause (pytorch/tutorials)
# adapted: the loss lines only, out of the training loop; soft_target_loss_weight -> alpha, ce_loss_weight -> (1 - alpha)
# verdict: failed
# mistake: unstable_log_softmax
# why: the value is the true KL, but soft_targets.log() of a softmax gives log(0) = -inf where a teacher probability
#   underflows, and 0 * -inf = NaN: with logits in the hundreds the loss is NaN
import torch
import torch.nn as nn


def distillation_loss(student_logits, teacher_logits, labels, temperature, alpha):
    T = temperature
    ce_loss = nn.CrossEntropyLoss()
    soft_targets = nn.functional.softmax(teacher_logits / T, dim=-1)
    soft_prob = nn.functional.log_softmax(student_logits / T, dim=-1)
    soft_targets_loss = torch.sum(soft_targets * (soft_targets.log() - soft_prob)) / soft_prob.size()[0] * (T**2)
    label_loss = ce_loss(student_logits, labels)
    loss = alpha * soft_targets_loss + (1 - alpha) * label_loss
    return loss
