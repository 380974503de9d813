"""Reference for test/mnist.test.ts: PyTorch's examples/mnist main.py (its Net, train, test and
main, without argument parsing, CUDA / MPS selection and torchvision: the images come ready,
normalized, as tensors), and examples/mnist_rnn's Net (its main is the same), in PyTorch.

Usage: mnist_ref.py RUN.json DATA.safetensors OUT_DIR

RUN: arch ("cnn": mnist's Net; "rnn": mnist_rnn's), batch_size, test_batch_size, epochs, lr, gamma, seed. DATA: train_images, train_labels,
test_images, test_labels. OUT_DIR gets init.safetensors and final.safetensors (the model's state
dict as built and after training) and out.json: every training batch's loss, and each epoch's
test loss and number correct.
"""
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.optim.lr_scheduler import StepLR

import st


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.dropout2(x)
        x = self.fc2(x)
        output = F.log_softmax(x, dim=1)
        return output


class RNNNet(nn.Module):
    """examples/mnist_rnn's Net"""

    def __init__(self):
        super(RNNNet, self).__init__()
        self.rnn = nn.LSTM(input_size=28, hidden_size=64, batch_first=True)
        self.batchnorm = nn.BatchNorm1d(64)
        self.dropout1 = nn.Dropout2d(0.25)
        self.dropout2 = nn.Dropout2d(0.5)
        self.fc1 = nn.Linear(64, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, input):
        input = input.reshape(-1, 28, 28)
        output, hidden = self.rnn(input)
        output = output[:, -1, :]
        output = self.batchnorm(output)
        output = self.dropout1(output)
        output = self.fc1(output)
        output = F.relu(output)
        output = self.dropout2(output)
        output = self.fc2(output)
        output = F.log_softmax(output, dim=1)
        return output


def train(model, train_loader, optimizer, losses):
    model.train()
    for batch_idx, (data, target) in enumerate(train_loader):
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())


def test(model, test_loader):
    model.eval()
    test_loss = 0
    correct = 0
    with torch.no_grad():
        for data, target in test_loader:
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction='sum').item()
            pred = output.argmax(dim=1, keepdim=True)
            correct += pred.eq(target.view_as(pred)).sum().item()
    test_loss /= len(test_loader.dataset)
    return {"testLoss": test_loss, "correct": correct}


def main(run_path, data_path, out_dir):
    with open(run_path) as f:
        args = json.load(f)
    data = st.load(data_path)
    torch.manual_seed(args["seed"])
    dataset1 = torch.utils.data.TensorDataset(data["train_images"], data["train_labels"])
    dataset2 = torch.utils.data.TensorDataset(data["test_images"], data["test_labels"])
    train_loader = torch.utils.data.DataLoader(dataset1, batch_size=args["batch_size"], shuffle=True)
    test_loader = torch.utils.data.DataLoader(dataset2, batch_size=args["test_batch_size"])

    model = RNNNet() if args.get("arch") == "rnn" else Net()
    st.save(os.path.join(out_dir, "init.safetensors"), {k: v.clone() for k, v in model.state_dict().items()})
    optimizer = optim.Adadelta(model.parameters(), lr=args["lr"])

    scheduler = StepLR(optimizer, step_size=1, gamma=args["gamma"])
    losses, tests = [], []
    for epoch in range(1, args["epochs"] + 1):
        train(model, train_loader, optimizer, losses)
        tests.append(test(model, test_loader))
        scheduler.step()
    st.save(os.path.join(out_dir, "final.safetensors"), {k: v.clone() for k, v in model.state_dict().items()})
    with open(os.path.join(out_dir, "out.json"), "w") as f:
        json.dump({"train_losses": losses, "tests": tests}, f)


if __name__ == "__main__":
    main(*sys.argv[1:4])
