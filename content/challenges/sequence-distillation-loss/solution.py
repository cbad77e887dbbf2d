"""Reference solution for the sequence-distillation-loss challenge (shown to learners after they pass)."""

import torch
import torch.nn.functional as F


def sequence_distillation_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    attention_mask: torch.Tensor,
    temperature: float,
) -> torch.Tensor:
    T = temperature
    # The teacher is fixed: no gradient may flow into it.
    teacher_logits = teacher_logits.detach()

    # Both sides as log-probabilities over the vocabulary, at the same temperature. log_softmax
    # subtracts the max first, so logits in the hundreds and vocabularies in the tens of thousands
    # stay finite; torch.log(torch.softmax(...)) would turn tiny probabilities into log(0) = -inf.
    student_log_probs = F.log_softmax(student_logits / T, dim=-1)
    teacher_log_probs = F.log_softmax(teacher_logits / T, dim=-1)

    # KL(teacher || student) at every position: with log_target=True, kl_div computes
    # exp(target) * (target - input) element by element; summing over the vocabulary gives one KL
    # per token, shape (batch, length). No reduction yet: the padding has to go first.
    per_token = F.kl_div(student_log_probs, teacher_log_probs, reduction="none", log_target=True).sum(-1)

    # The mask may be int64, bool or float; as 0.0 / 1.0 in the loss's dtype it can weight the tokens.
    mask = attention_mask.to(per_token.dtype)

    # Mask the per-token loss, not the logits: a padded position then adds exactly 0 to the sum and
    # receives exactly 0 gradient, whatever finite values its logits hold. Divide by the number of
    # real tokens (not the batch size, not batch * length), so the loss does not depend on how much
    # padding there is.
    loss = (per_token * mask).sum() / mask.sum()

    # Soft-target gradients shrink like 1/T^2; T^2 keeps their size comparable across temperatures.
    return loss * T * T
