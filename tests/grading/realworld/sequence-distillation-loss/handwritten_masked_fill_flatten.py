# source: written for this corpus (flatten to (tokens, vocab), masked_fill the padded KLs, divide by count_nonzero)
# licence: same as this repository
# adapted: n/a
# verdict: passed
# why: the per-token KL(teacher || student) summed over real tokens and divided by their number, times T^2
import torch


def sequence_distillation_loss(student_logits, teacher_logits, attention_mask, temperature):
    V = student_logits.size(-1)
    s = torch.log_softmax(student_logits.reshape(-1, V) / temperature, dim=-1)
    t = torch.log_softmax(teacher_logits.detach().reshape(-1, V) / temperature, dim=-1)
    kl = (t.exp() * (t - s)).sum(-1)
    real = attention_mask.reshape(-1) != 0
    kl = kl.masked_fill(~real, 0.0)
    return kl.sum() / real.count_nonzero() * temperature * temperature
