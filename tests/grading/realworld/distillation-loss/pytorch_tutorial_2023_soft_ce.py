# source: https://github.com/pytorch/tutorials/blob/035c541fa706ab2b1eca57e0625b5bbdca5e04cb/beginner_source/knowledge_distillation_tutorial.py
#   (train_knowledge_distillation, the 2023 text: soft_targets_loss = -torch.sum(soft_targets * soft_prob) /
#   soft_prob.size()[0] * (T**2)); the page https://pytorch.org/tutorials/beginner/knowledge_distillation_tutorial.html
# licence: BSD-3-Clause (pytorch/tutorials)
# adapted: the loss lines only, out of the training loop; soft_target_loss_weight -> alpha, ce_loss_weight -> (1 - alpha)
# verdict: failed
# mistake: soft_cross_entropy
# why: -sum p_t log q_s is the soft cross-entropy, larger than the KL by the teacher's entropy (same gradients)
import torch
import torch.nn as nn


def distillation_loss(student_logits, teacher_logits, labels, temperature, alpha):
    T = temperature
    ce_loss = nn.CrossEntropyLoss()
    soft_targets = nn.functional.softmax(teacher_logits / T, dim=-1)
    soft_prob = nn.functional.log_softmax(student_logits / T, dim=-1)
    soft_targets_loss = -torch.sum(soft_targets * soft_prob) / soft_prob.size()[0] * (T**2)
    label_loss = ce_loss(student_logits, labels)
    loss = alpha * soft_targets_loss + (1 - alpha) * label_loss
    return loss
