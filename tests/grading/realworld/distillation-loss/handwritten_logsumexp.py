# source: written for this corpus (a correct variant with no F.kl_div, no log_softmax and no cross_entropy)
# licence: same as this repository
# adapted: n/a
# verdict: passed
# why: log-probabilities from logsumexp, KL as an explicit sum, CE by gathering the label's log-probability
import torch


def distillation_loss(student_logits, teacher_logits, labels, temperature, alpha):
    t = teacher_logits.detach() / temperature
    s = student_logits / temperature
    log_p = t - torch.logsumexp(t, dim=1, keepdim=True)
    log_q = s - torch.logsumexp(s, dim=1, keepdim=True)
    kl = (log_p.exp() * (log_p - log_q)).sum(dim=1).mean()
    log_q1 = student_logits - torch.logsumexp(student_logits, dim=1, keepdim=True)
    ce = -log_q1.gather(1, labels.unsqueeze(1)).squeeze(1).mean()
    return alpha * temperature**2 * kl + (1 - alpha) * ce
