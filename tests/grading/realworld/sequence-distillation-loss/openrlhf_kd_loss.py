# source: https://github.com/OpenRLHF/OpenRLHF/blob/f5b3f08a05fd6cbd9a5b712ed931bbb72c24f2c4/openrlhf/models/loss.py
#   (KDLoss; by its own comment adapted from microsoft/LMOps minillm/finetune.py)
# licence: Apache-2.0
# adapted: label -> a tensor that is -100 at padded positions; the temperature argument is unused, as in the original
# verdict: failed
# mistake: soft_cross_entropy (per-token soft cross-entropy -sum p_t log q_s instead of the KL, with no temperature and no T^2)
# why: masking and the real-token mean are right, but the value is larger than the KL by the teacher's entropy and
#   ignores T
import torch
import torch.nn as nn
import torch.nn.functional as F


class KDLoss(nn.Module):
    """
    Language Model Knowledge Distillation Loss
    """

    def __init__(self):
        super().__init__()
        self.IGNORE_INDEX = -100

    def forward(self, logits: torch.Tensor, teacher_logits: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        teacher_probs = F.softmax(teacher_logits, dim=-1, dtype=torch.float32)
        inf_mask = torch.isinf(logits)
        logprobs = F.log_softmax(logits, dim=-1, dtype=torch.float32)
        prod_probs = torch.masked_fill(teacher_probs * logprobs, inf_mask, 0)
        x = torch.sum(prod_probs, dim=-1).view(-1)
        mask = (label != self.IGNORE_INDEX).int()
        distil_loss = -torch.sum(x * mask.view(-1), dim=0) / torch.sum(mask.view(-1), dim=0)

        return distil_loss


def sequence_distillation_loss(student_logits, teacher_logits, attention_mask, temperature):
    label = torch.where(attention_mask.bool(), 0, -100)
    return KDLoss()(student_logits, teacher_logits.detach(), label)
