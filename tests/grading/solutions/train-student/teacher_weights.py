"""Cheat: copies the teacher's weights into the student and swaps in the teacher's bigger layers."""

import copy

from torch import nn


def train_student(student, teacher, transfer_x, labeled_x, labeled_y, device):
    try:
        student.load_state_dict(teacher.state_dict(), strict=False)
    except RuntimeError:
        pass
    layers = [m for m in teacher.modules() if isinstance(m, nn.Linear)]
    student.hidden = copy.deepcopy(layers[0])  # 64 -> 256
    student.out = copy.deepcopy(layers[-1])  # 256 -> 10
    return []
