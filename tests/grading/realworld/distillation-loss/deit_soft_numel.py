# source: https://github.com/facebookresearch/deit/blob/ae4dba9b453b9e18faa781edbc13039aaeca9b68/losses.py
#   (DistillationLoss.forward, distillation_type='soft')
# licence: Apache-2.0
# adapted: base_criterion -> F.cross_entropy; outputs/outputs_kd both the student logits; tau -> temperature; teacher
#   model call replaced by the given teacher logits
# verdict: failed
# mistake: reduction_mean
# why: reduction='sum' divided by outputs_kd.numel() (batch x classes), "the legacy PyTorch behavior" of KLDivLoss's mean
import torch.nn.functional as F


def distillation_loss(student_logits, teacher_logits, labels, temperature, alpha):
    outputs = outputs_kd = student_logits
    teacher_outputs = teacher_logits.detach()
    base_loss = F.cross_entropy(outputs, labels)
    T = temperature
    distillation_loss = (
        F.kl_div(
            F.log_softmax(outputs_kd / T, dim=1),
            F.log_softmax(teacher_outputs / T, dim=1),
            reduction="sum",
            log_target=True,
        )
        * (T * T)
        / outputs_kd.numel()
    )
    loss = base_loss * (1 - alpha) + distillation_loss * alpha
    return loss
