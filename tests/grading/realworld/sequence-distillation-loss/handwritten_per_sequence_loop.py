# source: written for this corpus (a Python loop over sequences, boolean indexing of each sequence's real tokens)
# licence: same as this repository
# adapted: n/a
# verdict: passed
# why: sums each sequence's real-token KLs, then divides the total by the total number of real tokens
import torch.nn.functional as F


def sequence_distillation_loss(student_logits, teacher_logits, attention_mask, temperature):
    T = temperature
    total = student_logits.new_zeros(())
    count = 0
    for b in range(student_logits.size(0)):
        real = attention_mask[b].bool()
        s = F.log_softmax(student_logits[b][real] / T, dim=-1)
        t = F.log_softmax(teacher_logits[b][real].detach() / T, dim=-1)
        total = total + F.kl_div(s, t, reduction="sum", log_target=True)
        count += int(real.sum())
    return total / count * T**2
