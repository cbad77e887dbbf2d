# source: https://github.com/NVIDIA/TensorRT-Model-Optimizer/blob/4c611e47a60084a86e1de7e48690a692a1b8170c/modelopt/torch/distill/losses.py
#   (LogitsDistillationLoss, with its default reduction='batchmean'), applied to (batch, length, vocab) logits
# licence: Apache-2.0
# adapted: none beyond the entry point; the mask is not used: the loss takes none, and its docstring leaves masking to
#   the caller (reduction='none'), which a learner keeping the default batchmean skips
# verdict: failed
# mistake: mean_over_padding
# why: view(-1, vocab) makes every position a row, padded ones included, and batchmean divides the summed KL by
#   batch x length: the mean over all positions, times T^2, so padding dilutes the loss and its logits get gradients
import torch
import torch.nn.functional as F
from torch.nn.modules.loss import _Loss as Loss


class LogitsDistillationLoss(Loss):
    """KL-Divergence loss on output logits.

    This function implements the distillation loss found in the paper: https://arxiv.org/abs/1503.02531.
    """

    def __init__(self, temperature: float = 1.0, reduction: str = "batchmean"):
        """Constructor.

        Args:
            temperature: A value used to soften the logits_t and logits_s before computing loss on them.
            reduction: How to reduce the final pointwise loss before returning. Pass ``"none"`` to
                use your own reduction function afterwards, i.e. with loss masks.
        """
        super().__init__()
        self._temperature: float = temperature
        self._reduction: str = reduction

    def forward(self, logits_s: torch.Tensor, logits_t: torch.Tensor) -> torch.Tensor:
        """Compute KD loss on student and teacher logits.

        Args:
            logits_s: Student's logits, treated as prediction.
            logits_t: Teacher's logits, treated as label.

        .. note::

            Assumes class logits dimension is last.
        """
        soft_log_probs = F.log_softmax(logits_s / self._temperature, dim=-1)
        soft_targets = F.softmax(logits_t / self._temperature, dim=-1)

        soft_log_probs = soft_log_probs.view(-1, soft_log_probs.size(-1))
        soft_targets = soft_targets.view(-1, soft_targets.size(-1))

        kd_loss = F.kl_div(soft_log_probs, soft_targets.detach(), reduction=self._reduction)

        # Since the magnitudes of the gradients produced by the soft logits scale as 1/(T^2),
        # multiplying them by T^2 ensures that the relative contributions of the logits
        # remain roughly unchanged while experimenting with meta-parameters.
        kd_loss *= self._temperature**2

        return kd_loss


def sequence_distillation_loss(student_logits, teacher_logits, attention_mask, temperature):
    return LogitsDistillationLoss(temperature=temperature)(student_logits, teacher_logits)
