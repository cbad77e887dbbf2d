import torch
import torch.nn.functional as F


def sequence_distillation_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    attention_mask: torch.Tensor,
    temperature: float,
) -> torch.Tensor:
    """T^2 * KL(softmax(teacher/T) || softmax(student/T)) per token, averaged over the real tokens (mask = 1)."""
    T = temperature

    # Per-token KL(teacher || student), the teacher's softened distribution as the target,
    # summed over the vocabulary: shape (batch, length).
    per_token = ...  # TODO

    # The mask may be int64, bool or float: turn it into numbers you can multiply and add up.
    mask = ...  # TODO

    # Average over the real tokens only (padding must have no effect), then multiply by T^2.
    loss = ...  # TODO

    return loss
