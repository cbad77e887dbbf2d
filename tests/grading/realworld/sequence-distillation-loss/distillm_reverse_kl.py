# source: https://github.com/jongwooko/distillm/blob/17c0f98bc263b1861a02d5df578c84aea652ee65/distillm/losses.py
#   (reverse_kl)
# licence: not stated in the file
# adapted: no_model_batch["label"] -> a tensor that is -100 at padding; reverse_kl takes no temperature, so both logits
#   are divided by T before the call
# verdict: failed
# mistake: swapped_kl (and no T^2)
# why: sum q_s (log p_t - log q_s), negated: KL(student || teacher), the reverse KL that MiniLLM/DistiLLM choose on
#   purpose, averaged over real tokens; not the forward KL this challenge asks for, and never multiplied by T^2
import torch
import torch.nn.functional as F


def reverse_kl(logits, teacher_logits, no_model_batch):
    student_probs = F.softmax(logits, dim=-1, dtype=torch.float32)
    student_logprobs = F.log_softmax(logits, dim=-1, dtype=torch.float32)
    teacher_logprobs = F.log_softmax(teacher_logits, dim=-1, dtype=torch.float32)
    inf_mask = torch.isinf(teacher_logits) | torch.isinf(logits)
    prod_probs = torch.masked_fill(student_probs * teacher_logprobs, inf_mask, 0)
    prod_probs -= torch.masked_fill(student_probs * student_logprobs, inf_mask, 0)
    x = torch.sum(prod_probs, dim=-1).view(-1)
    mask = (no_model_batch["label"] != -100).int()
    distil_loss = -torch.sum(x * mask.view(-1), dim=0) / torch.sum(mask.view(-1), dim=0)
    return distil_loss


def sequence_distillation_loss(student_logits, teacher_logits, attention_mask, temperature):
    label = torch.where(attention_mask.bool(), 0, -100)
    return reverse_kl(student_logits / temperature, teacher_logits.detach() / temperature, {"label": label})
