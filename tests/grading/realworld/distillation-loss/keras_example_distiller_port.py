# source: https://github.com/keras-team/keras-io/blob/501fb4cbe62e5b5c434393f512a452ef833640a1/examples/vision/knowledge_distillation.py
#   (Distiller.train_step, with keras.losses.KLDivergence as distillation_loss_fn), ported to PyTorch; the page
#   https://keras.io/examples/vision/knowledge_distillation/
# licence: Apache-2.0 (keras-io)
# adapted: keras.losses.KLDivergence ported literally (clip both distributions to [1e-7, 1], sum over the last axis,
#   mean over the batch); SparseCategoricalCrossentropy(from_logits=True) -> F.cross_entropy
# verdict: failed
# mistake: alpha_swapped
# why: the example computes alpha * student_loss + (1 - alpha) * distillation_loss (alpha on the hard term)
import torch
import torch.nn.functional as F


def _keras_kl_divergence(y_true, y_pred, eps=1e-7):
    y_true = torch.clamp(y_true, eps, 1)
    y_pred = torch.clamp(y_pred, eps, 1)
    return torch.sum(y_true * torch.log(y_true / y_pred), dim=-1).mean()


def distillation_loss(student_logits, teacher_logits, labels, temperature, alpha):
    teacher_pred, y_pred, y = teacher_logits, student_logits, labels
    student_loss = F.cross_entropy(y_pred, y)
    distillation_loss = _keras_kl_divergence(
        F.softmax(teacher_pred / temperature, dim=1), F.softmax(y_pred / temperature, dim=1)
    ) * (temperature**2)
    loss = alpha * student_loss + (1 - alpha) * distillation_loss
    return loss
