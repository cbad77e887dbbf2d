# source: the pattern of the reference loop (this platform's train-student solution, the loop of
#   https://pytorch.org/tutorials/beginner/knowledge_distillation_tutorial.html) with its optimizer.zero_grad() dropped, the
#   most asked-about PyTorch loop bug (discuss.pytorch.org "why do we need to call zero_grad"); written for this corpus,
#   not copied from one file
# licence: BSD-3-Clause (pytorch/tutorials)
# adapted: full-batch steps, soft term on transfer_x, hard term on labeled_x, T=4, alpha=0.7, SGD lr 0.1, 300 steps
# verdict: failed
# mistake: diverged (optimizer.zero_grad() never called: gradients accumulate across steps, so the loss climbs back up)
# why: with SGD each step applies the running sum of every past gradient, so the weights overshoot and training diverges
import torch
import torch.nn.functional as F


def train_student(student, teacher, transfer_x, labeled_x, labeled_y, device):
    T, alpha = 4.0, 0.7
    with torch.no_grad():
        teacher_probs = F.softmax(teacher(transfer_x) / T, dim=-1)
    optimizer = torch.optim.SGD(student.parameters(), lr=0.1)
    losses = []
    for _ in range(300):
        soft = F.kl_div(F.log_softmax(student(transfer_x) / T, dim=-1), teacher_probs, reduction="batchmean") * T * T
        hard = F.cross_entropy(student(labeled_x), labeled_y)
        loss = alpha * soft + (1 - alpha) * hard
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
