# source: https://github.com/philschmid/knowledge-distillation-transformers-pytorch-sagemaker/blob/2cdcb885a65d4ad8bff2524214ce4a3373ebc520/scripts/train.py
#   (DistillationTrainer.compute_loss; the code of the blog post https://www.philschmid.de/knowledge-distillation-bert-transformers)
# licence: not stated in the file
# adapted: outputs_student.loss -> F.cross_entropy(student_logits, labels); self.args.alpha/temperature -> arguments
# verdict: failed
# mistake: alpha_swapped
# why: the blog weights the student's hard loss by alpha and the KL by (1 - alpha), the opposite of this platform
import torch.nn as nn
import torch.nn.functional as F


def distillation_loss(student_logits, teacher_logits, labels, temperature, alpha):
    student_loss = F.cross_entropy(student_logits, labels)
    loss_function = nn.KLDivLoss(reduction="batchmean")
    loss_logits = loss_function(
        F.log_softmax(student_logits / temperature, dim=-1), F.softmax(teacher_logits / temperature, dim=-1)
    ) * (temperature**2)
    loss = alpha * student_loss + (1.0 - alpha) * loss_logits
    return loss
