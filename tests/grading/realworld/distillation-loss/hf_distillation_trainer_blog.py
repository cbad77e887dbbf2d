# source: https://www.philschmid.de/knowledge-distillation-bert-transformers (DistillationTrainer.compute_loss;
#   also huggingface/notebooks examples/text_classification distillation)
# licence: not stated (blog post)
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
