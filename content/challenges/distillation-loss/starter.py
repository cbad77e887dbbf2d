import torch
import torch.nn.functional as F


def distillation_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    labels: torch.Tensor,
    temperature: float,
    alpha: float,
) -> torch.Tensor:
    """alpha * T^2 * KL(softmax(teacher/T) || softmax(student/T)) + (1 - alpha) * CE(student, labels)."""
    T = temperature

    # Soft term: KL(teacher || student), the teacher's softened distribution as the target,
    # summed over classes and averaged over the batch, times T^2. The KL itself, not soft cross-entropy.
    soft = ...  # TODO

    # Hard term: cross-entropy with the true labels on the raw student logits.
    hard = ...  # TODO

    return alpha * soft + (1 - alpha) * hard
