# source: https://github.com/haitongli/knowledge-distillation-pytorch/blob/aa0caf11213cbc6f027a3adbc8ac030be9844343/train.py
#   (fetch_teacher_outputs, train_kd and train_and_evaluate_kd before commit e0578ab "fix bugs about the batch order of
#   teacher output"), model/net.py loss_fn_kd, model/data_loader.py (train DataLoader with shuffle=True) and
#   experiments/cnn_distill/params.json (alpha 0.9, temperature 20, batch_size 128) at the same commit
# licence: MIT
# adapted: the train DataLoader over transfer_x (TensorDataset, batch_size 128, shuffle=True); Variable/.cuda() dropped;
#   params.alpha/params.temperature -> arguments; transfer_x has no labels, so `labels` carries the labelled batch and
#   loss_fn_kd's F.cross_entropy(outputs, labels) -> F.cross_entropy(labels[0], labels[1]) on (student(labeled_x),
#   labeled_y); Adam lr 1e-2 (params 1e-3); 30 epochs of 10 batches as in params.json; torch.manual_seed(230) from the
#   main block kept (it fixes the shuffles); metrics, logging and evaluation dropped
# verdict: failed
# mistake: none-yet (teacher outputs computed once over one shuffled pass, then paired by batch index with batches of
#   later, differently shuffled passes: the soft targets belong to other images)
# why: every epoch reshuffles the loader, so teacher_outputs[i] is not the teacher's answer on the i-th batch; the
#   student is trained to give each image the soft targets of some other image, which teaches it next to nothing
import torch
import torch.nn as nn
import torch.nn.functional as F


def loss_fn_kd(outputs, labels, teacher_outputs, alpha, T):
    """
    Compute the knowledge-distillation (KD) loss given outputs, labels.
    "Hyperparameters": temperature and alpha
    """
    KD_loss = nn.KLDivLoss()(F.log_softmax(outputs / T, dim=1), F.softmax(teacher_outputs / T, dim=1)) * (
        alpha * T * T
    ) + F.cross_entropy(labels[0], labels[1]) * (1.0 - alpha)

    return KD_loss


# Helper function: get [batch_idx, teacher_outputs] list by running teacher model once
def fetch_teacher_outputs(teacher_model, dataloader):
    # set teacher_model to evaluation mode
    teacher_model.eval()
    teacher_outputs = []
    for i, (data_batch,) in enumerate(dataloader):
        output_teacher_batch = teacher_model(data_batch).data.cpu().numpy()
        teacher_outputs.append(output_teacher_batch)

    return teacher_outputs


# Defining train_kd & train_and_evaluate_kd functions
def train_kd(model, teacher_outputs, optimizer, loss_fn_kd, dataloader, labeled_x, labeled_y, alpha, T, device, losses):
    # set model to training mode
    model.train()
    # teacher_model.eval()

    for i, (train_batch,) in enumerate(dataloader):
        labels_batch = (model(labeled_x), labeled_y)

        # compute model output, fetch teacher output, and compute KD loss
        output_batch = model(train_batch)

        # get one batch output from teacher_outputs list
        output_teacher_batch = torch.from_numpy(teacher_outputs[i]).to(device)

        loss = loss_fn_kd(output_batch, labels_batch, output_teacher_batch, alpha, T)

        # clear previous gradients, compute gradients of all variables wrt loss
        optimizer.zero_grad()
        loss.backward()

        # performs updates using calculated gradients
        optimizer.step()

        losses.append(loss.item())


def train_student(student, teacher, transfer_x, labeled_x, labeled_y, device):
    # Set the random seed for reproducible experiments
    torch.manual_seed(230)
    alpha, T, batch_size, num_epochs = 0.9, 20, 128, 30
    train_dl = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(transfer_x), batch_size=batch_size, shuffle=True
    )
    optimizer = torch.optim.Adam(student.parameters(), lr=1e-2)

    # fetch teacher outputs using teacher_model under eval() mode
    teacher.eval()
    teacher_outputs = fetch_teacher_outputs(teacher, train_dl)

    losses = []
    for epoch in range(num_epochs):
        # compute number of batches in one epoch (one full pass over the training set)
        train_kd(student, teacher_outputs, optimizer, loss_fn_kd, train_dl, labeled_x, labeled_y, alpha, T, device, losses)
    return losses
