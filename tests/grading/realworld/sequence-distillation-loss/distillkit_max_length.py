# source: https://github.com/arcee-ai/DistillKit/blob/09fbb0ca43720259c504817cf8f13b57f5ce00cd/distil_logits.py
#   (LogitsTrainer.distillation_loss)
# licence: Apache-2.0
# adapted: config["tokenizer"]["max_length"] -> the padded length of the batch (the trainer pads to max_length);
#   pad_logits/device moves and the original_loss mix dropped (alpha = 1)
# verdict: failed
# mistake: mean_over_padding
# why: no mask at all; batchmean on (batch, length, vocab) divides by the batch, then / max_length: the mean over
#   every position, padded ones included
import torch.nn.functional as F


def sequence_distillation_loss(student_logits, teacher_logits, attention_mask, temperature):
    max_length = student_logits.shape[1]
    student_logits_scaled = student_logits / temperature
    teacher_logits_scaled = teacher_logits / temperature

    loss_kd = (
        F.kl_div(
            F.log_softmax(student_logits_scaled, dim=-1),
            F.softmax(teacher_logits_scaled, dim=-1),
            reduction="batchmean",
        )
        * (temperature**2)
        / max_length
    )
    return loss_kd
