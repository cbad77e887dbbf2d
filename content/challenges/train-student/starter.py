import torch
import torch.nn.functional as F


def train_student(student, teacher, transfer_x, labeled_x, labeled_y, device):
    """Train `student` in place by distilling `teacher`; return the loss at each step as Python floats."""
    T = 4.0  # temperature
    alpha = 0.7  # weight on the soft (teacher) term

    # The teacher is frozen: compute its logits on the unlabelled transfer set once, without gradients.
    teacher_logits = ...  # TODO

    # An optimizer over the student's parameters only.
    optimizer = ...  # TODO

    losses = []
    for step in range(300):
        # Soft term: T^2 * KL(teacher || student) on transfer_x, averaged over the images.
        soft = ...  # TODO

        # Hard term: cross-entropy of the student's logits on labeled_x against labeled_y.
        hard = ...  # TODO

        loss = alpha * soft + (1 - alpha) * hard

        # TODO: clear old gradients, backpropagate, take an optimizer step.

        losses.append(loss.item())
    return losses
