# source: https://github.com/huggingface/trl/blob/a9fa292c2d1df64c6f0189ebe32d37b46ce64438/trl/trainer/gkd_trainer.py
#   (GKDTrainer.generalized_jsd_loss)
# licence: Apache-2.0
# adapted: staticmethod -> function; beta = 0 (the forward KL(teacher || student)); labels built from the mask (-100 at
#   padding) as the trainer's collator does; the temperature is passed in (GKDTrainer.compute_loss at this commit calls it
#   without one, so T = 1)
# verdict: failed
# mistake: no_t_squared
# why: masked per-token KL averaged over real tokens (jsd.sum() / mask.sum()), but never multiplied by T^2
import torch
import torch.nn.functional as F


def generalized_jsd_loss(student_logits, teacher_logits, labels=None, beta=0.5, temperature=1.0, reduction="batchmean"):
    student_logits = student_logits / temperature
    teacher_logits = teacher_logits / temperature
    student_log_probs = F.log_softmax(student_logits, dim=-1)
    teacher_log_probs = F.log_softmax(teacher_logits, dim=-1)

    if beta == 0:
        jsd = F.kl_div(student_log_probs, teacher_log_probs, reduction="none", log_target=True)
    elif beta == 1:
        jsd = F.kl_div(teacher_log_probs, student_log_probs, reduction="none", log_target=True)
    else:
        beta = torch.tensor(beta, dtype=student_log_probs.dtype)
        mixture_log_probs = torch.logsumexp(
            torch.stack([student_log_probs + torch.log(1 - beta), teacher_log_probs + torch.log(beta)]),
            dim=0,
        )
        kl_teacher = F.kl_div(mixture_log_probs, teacher_log_probs, reduction="none", log_target=True)
        kl_student = F.kl_div(mixture_log_probs, student_log_probs, reduction="none", log_target=True)
        jsd = beta * kl_teacher + (1 - beta) * kl_student

    if labels is not None:
        mask = labels != -100
        jsd = jsd[mask]

    if reduction == "batchmean":
        return jsd.sum() / mask.sum() if labels is not None else jsd.sum() / (jsd.size(0) * jsd.size(1))
    elif reduction == "sum":
        return jsd.sum()
    elif reduction == "mean":
        return jsd.mean()
    else:
        return jsd


def sequence_distillation_loss(student_logits, teacher_logits, attention_mask, temperature):
    labels = torch.where(attention_mask.bool(), 0, -100)
    return generalized_jsd_loss(
        student_logits, teacher_logits.detach(), labels=labels, beta=0.0, temperature=temperature
    )
