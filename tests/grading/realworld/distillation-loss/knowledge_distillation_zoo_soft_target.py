# source: https://github.com/AberHu/Knowledge-Distillation-Zoo/blob/65470c846c1300d555815da26999cbe2b51fc815/kd_losses/st.py
#   (SoftTarget; the weighting from train_kd.py at the same commit: cls_loss + kd_loss * args.lambda_kd)
# licence: not stated in the file
# adapted: module -> function; train_kd.py's CE + lambda_kd * soft mapped to (1 - alpha) * CE + alpha * soft
# verdict: passed
# why: batchmean KL times T^2, alpha on the soft term
import torch.nn as nn
import torch.nn.functional as F


class SoftTarget(nn.Module):
    """Distilling the Knowledge in a Neural Network"""

    def __init__(self, T):
        super(SoftTarget, self).__init__()
        self.T = T

    def forward(self, out_s, out_t):
        loss = (
            F.kl_div(F.log_softmax(out_s / self.T, dim=1), F.softmax(out_t / self.T, dim=1), reduction="batchmean")
            * self.T
            * self.T
        )
        return loss


def distillation_loss(student_logits, teacher_logits, labels, temperature, alpha):
    cls_loss = F.cross_entropy(student_logits, labels)
    kd_loss = SoftTarget(temperature)(student_logits, teacher_logits.detach())
    return (1 - alpha) * cls_loss + alpha * kd_loss
