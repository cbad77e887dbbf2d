# source: written for this corpus (KL as cross-entropy minus entropy, via F.cross_entropy with probability targets)
# licence: same as this repository
# adapted: n/a
# verdict: passed
# why: H(p, q) - H(p) = KL(p || q); F.cross_entropy with soft targets averages over the batch
import torch.nn.functional as F


def distillation_loss(student_logits, teacher_logits, labels, temperature, alpha):
    T = temperature
    with_teacher = teacher_logits.detach() / T
    p = F.softmax(with_teacher, dim=-1)
    cross = F.cross_entropy(student_logits / T, p)
    entropy = F.cross_entropy(with_teacher, p)
    soft = (cross - entropy) * T**2
    return alpha * soft + (1 - alpha) * F.cross_entropy(student_logits, labels)
