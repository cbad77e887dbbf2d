# source: https://pytorch.org/tutorials/beginner/knowledge_distillation_tutorial.html (the tutorial builds a fresh
#   LightNN "new_nn_light" with the same seed and trains that copy), applied to the given student
# licence: BSD-3-Clause (pytorch/tutorials)
# adapted: new_nn_light = copy.deepcopy(student), trained with the reference loop; the given student is left alone
# verdict: failed
# mistake: not_trained
# why: the platform reads the student it passed in, whose parameters never changed
import copy

import torch
import torch.nn.functional as F


def train_student(student, teacher, transfer_x, labeled_x, labeled_y, device):
    T, alpha = 4.0, 0.7
    new_nn_light = copy.deepcopy(student)
    with torch.no_grad():
        teacher_probs = F.softmax(teacher(transfer_x) / T, dim=-1)
    optimizer = torch.optim.Adam(new_nn_light.parameters(), lr=1e-2)
    losses = []
    for _ in range(300):
        soft = F.kl_div(F.log_softmax(new_nn_light(transfer_x) / T, dim=-1), teacher_probs, reduction="batchmean")
        loss = alpha * soft * T * T + (1 - alpha) * F.cross_entropy(new_nn_light(labeled_x), labeled_y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
