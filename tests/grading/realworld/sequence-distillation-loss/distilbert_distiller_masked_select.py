# source: https://github.com/huggingface/transformers/blob/1607444705841ea5084ea2c37b22950175c7c84a/examples/research_projects/distillation/distiller.py
#   (Distiller.step, restrict_ce_to_mask off: mask = attention_mask.unsqueeze(-1).expand_as(s_logits), masked_select;
#   self.ce_loss_fct = nn.KLDivLoss(reduction="batchmean"))
# licence: Apache-2.0
# adapted: model calls replaced by the given logits; the loss_ce term only (alpha_ce = 1, no MLM/cosine terms);
#   attention_mask.bool() added because the distiller's own mask is already bool and this one may be int64 or float
# verdict: passed
# why: selecting the real tokens' rows and taking batchmean over them is the KL averaged over the real tokens, times T^2
import torch
import torch.nn as nn


def sequence_distillation_loss(student_logits, teacher_logits, attention_mask, temperature):
    s_logits, t_logits = student_logits, teacher_logits.detach()
    ce_loss_fct = nn.KLDivLoss(reduction="batchmean")
    mask = attention_mask.bool().unsqueeze(-1).expand_as(s_logits)  # (bs, seq_length, voc_size)
    s_logits_slct = torch.masked_select(s_logits, mask)  # (bs * seq_length * voc_size) modulo the 1s in mask
    s_logits_slct = s_logits_slct.view(-1, s_logits.size(-1))  # (bs * seq_length, voc_size) modulo the 1s in mask
    t_logits_slct = torch.masked_select(t_logits, mask)  # (bs * seq_length * voc_size) modulo the 1s in mask
    t_logits_slct = t_logits_slct.view(-1, s_logits.size(-1))  # (bs * seq_length, voc_size) modulo the 1s in mask
    assert t_logits_slct.size() == s_logits_slct.size()

    loss_ce = (
        ce_loss_fct(
            nn.functional.log_softmax(s_logits_slct / temperature, dim=-1),
            nn.functional.softmax(t_logits_slct / temperature, dim=-1),
        )
        * (temperature) ** 2
    )
    return loss_ce
