"""Known mistake: returns without training the student."""


def train_student(student, teacher, transfer_x, labeled_x, labeled_y, device):
    return []
