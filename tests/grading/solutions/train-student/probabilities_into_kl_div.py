"""Known mistake: the student's probabilities, not its log-probabilities, passed to F.kl_div, so the "KL" goes negative."""

import torch
import torch.nn.functional as F

TEMPERATURE = 4.0
ALPHA = 0.7  # weight on the soft (teacher) term, this platform's convention
STEPS = 300
LEARNING_RATE = 1e-2


def train_student(student, teacher, transfer_x, labeled_x, labeled_y, device):
    T = TEMPERATURE
    # The teacher is fixed, so its answers never change: compute its logits on the transfer set once,
    # under no_grad so that autograd records nothing for it. (It already is in eval mode; saying so
    # costs nothing.) Every tensor we are given is already on `device`, and everything computed from
    # them stays there, so `device` itself is never needed here.
    teacher.eval()
    with torch.no_grad():
        teacher_probs = F.softmax(teacher(transfer_x) / T, dim=-1)

    # Only the student's parameters go to the optimizer: the teacher must not move.
    optimizer = torch.optim.Adam(student.parameters(), lr=LEARNING_RATE)
    losses = []
    student.train()
    # The data set is tiny, so every step uses all of it (full-batch training): no data loader needed.
    for _ in range(STEPS):
        # Soft term: T^2 * KL(teacher || student) on the 1,207 unlabelled images, where the teacher's
        # soft targets are the only signal. 'batchmean' = sum over classes, mean over images.
        student_probs = F.softmax(student(transfer_x) / T, dim=-1)
        soft = F.kl_div(student_probs, teacher_probs, reduction="batchmean") * T * T
        # Hard term: plain cross-entropy (T = 1) on the 50 labelled images.
        hard = F.cross_entropy(student(labeled_x), labeled_y)
        loss = ALPHA * soft + (1 - ALPHA) * hard

        optimizer.zero_grad()  # PyTorch accumulates gradients: clear last step's first
        loss.backward()
        optimizer.step()
        losses.append(loss.item())  # a plain Python float for the training curve
    # The student was trained in place: the platform reads its parameters, so there is nothing else to return.
    return losses
