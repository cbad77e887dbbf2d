# source: the pattern of https://github.com/Ilya703/Inheritune/blob/f7799610a4ba0bed09fe3a9cba4f4cd87c0bad08/src/utils/distillation_loss.py
#   (KLDivLoss(reduction='batchmean') on LM logits) with the per-token mask applied through reduction='none'
# licence: not stated in the file
# adapted: reduction='none' + mask + sum / batch size, the 'batchmean' habit kept after masking; T^2 kept
# verdict: failed
# mistake: batch_size_only
# why: the masked sum is divided by the number of sequences, not by the number of real tokens
import torch.nn.functional as F


def sequence_distillation_loss(student_logits, teacher_logits, attention_mask, temperature):
    student_log_probs = F.log_softmax(student_logits / temperature, dim=-1)
    teacher_probs = F.softmax(teacher_logits.detach() / temperature, dim=-1)
    per_token = F.kl_div(student_log_probs, teacher_probs, reduction="none").sum(-1)
    per_token = per_token * attention_mask.to(per_token.dtype)
    return per_token.sum() / student_logits.size(0) * temperature**2
