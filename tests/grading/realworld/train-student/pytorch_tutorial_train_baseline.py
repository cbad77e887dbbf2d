# source: https://github.com/pytorch/tutorials/blob/c53e7d4efc0e39e455c531d21ec7db28ba220214/beginner_source/knowledge_distillation_tutorial.py
#   (train: the labels-only baseline); the page https://pytorch.org/tutorials/beginner/knowledge_distillation_tutorial.html
# licence: BSD-3-Clause (pytorch/tutorials)
# adapted: the DataLoader loop -> full-batch steps on (labeled_x, labeled_y); lr 1e-2, 300 steps; teacher unused
# verdict: failed
# mistake: labels_only
# why: plain cross-entropy on the 50 labels; the teacher is never asked
import torch.nn as nn
import torch.optim as optim


def train_student(student, teacher, transfer_x, labeled_x, labeled_y, device):
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.Adam(student.parameters(), lr=1e-2)
    student.train()
    losses = []
    for epoch in range(300):
        inputs, labels = labeled_x.to(device), labeled_y.to(device)
        optimizer.zero_grad()
        outputs = student(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
