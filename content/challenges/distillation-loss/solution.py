"""Reference solution for the distillation-loss challenge (shown to learners after they pass)."""

import torch
import torch.nn.functional as F


def distillation_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    labels: torch.Tensor,
    temperature: float,
    alpha: float,
) -> torch.Tensor:
    T = temperature
    # The teacher is fixed: no gradient may flow into it.
    teacher_logits = teacher_logits.detach()

    # Soft term: KL(teacher || student) at the same temperature on both sides.
    # F.kl_div wants the student's *log*-probabilities as input and the teacher's probabilities as
    # target; log_softmax subtracts the max first, so logits in the hundreds don't overflow.
    student_log_probs = F.log_softmax(student_logits / T, dim=-1)
    teacher_probs = F.softmax(teacher_logits / T, dim=-1)
    # 'batchmean' = sum over classes, mean over examples: the true KL ('mean' would also divide
    # by the number of classes).
    soft = F.kl_div(student_log_probs, teacher_probs, reduction="batchmean")
    # Soft-target gradients shrink like 1/T^2; multiplying by T^2 keeps the balance with the
    # hard term when T changes (Hinton et al., 2015).
    soft = soft * T * T

    # Hard term: ordinary cross-entropy with the true labels at T = 1.
    hard = F.cross_entropy(student_logits, labels)

    # On this platform alpha weights the soft (teacher) term.
    return alpha * soft + (1 - alpha) * hard
