"""Reference for test/siamese_network.test.ts: PyTorch's examples/siamese_network (main.py: a
Siamese network - torchvision's resnet18 with a one-channel first convolution and without its fc
as the shared feature extractor, the two images' features concatenated into a small MLP and a
sigmoid; pairs of images of the same class (even indices) or of different classes (odd) drawn
with Python's random module; BCELoss, Adadelta, StepLR), in PyTorch as written, without argument
parsing, devices and the MNIST download: the images come ready as uint8 tensors. One addition:
random.seed(seed), so that the pairs can be drawn again (main.py leaves Python's random unseeded).
torchvision is not installed here: its ResNet is resnet_ref.py's copy.

Usage: siamese_network_ref.py RUN.json DATA.safetensors OUT_DIR

RUN: batch_size, test_batch_size, epochs, lr, gamma, seed, log_interval, dry_run. DATA:
train_images, train_targets, test_images, test_targets. OUT_DIR gets init.safetensors and
final.safetensors (the state dict), pairs.safetensors (the first training batch: images_1,
images_2, targets) and out.json: every batch's loss, and each epoch's test loss and correct count.
"""
import json
import os
import random
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
from torch.utils.data import Dataset
from torch.optim.lr_scheduler import StepLR

import st
from resnet_ref import ResNet, BasicBlock


def resnet18(pretrained=False):
    # (torchvision.models.resnet18 without weights)
    return ResNet(BasicBlock, [2, 2, 2, 2])


class SiameseNetwork(nn.Module):
    def __init__(self):
        super(SiameseNetwork, self).__init__()
        # get resnet model
        self.resnet = resnet18(pretrained=False)

        # over-write the first conv layer to be able to read MNIST images
        # as resnet18 reads (3,x,x) where 3 is RGB channels
        # whereas MNIST has (1,x,x) where 1 is a gray-scale channel
        self.resnet.conv1 = nn.Conv2d(1, 64, kernel_size=(7, 7), stride=(2, 2), padding=(3, 3), bias=False)
        self.fc_in_features = self.resnet.fc.in_features

        # remove the last layer of resnet18 (linear layer which is before avgpool layer)
        self.resnet = torch.nn.Sequential(*(list(self.resnet.children())[:-1]))

        # add linear layers to compare between the features of the two images
        self.fc = nn.Sequential(
            nn.Linear(self.fc_in_features * 2, 256),
            nn.ReLU(inplace=True),
            nn.Linear(256, 1),
        )

        self.sigmoid = nn.Sigmoid()

        # initialize the weights
        self.resnet.apply(self.init_weights)
        self.fc.apply(self.init_weights)

    def init_weights(self, m):
        if isinstance(m, nn.Linear):
            torch.nn.init.xavier_uniform(m.weight)
            m.bias.data.fill_(0.01)

    def forward_once(self, x):
        output = self.resnet(x)
        output = output.view(output.size()[0], -1)
        return output

    def forward(self, input1, input2):
        # get two images' features
        output1 = self.forward_once(input1)
        output2 = self.forward_once(input2)

        # concatenate both images' features
        output = torch.cat((output1, output2), 1)

        # pass the concatenation to the linear layers
        output = self.fc(output)

        # pass the out of the linear layers to sigmoid layer
        output = self.sigmoid(output)

        return output


class APP_MATCHER(Dataset):
    def __init__(self, images, targets):
        super(APP_MATCHER, self).__init__()
        # (main.py: self.dataset = datasets.MNIST(root, train=train, download=download))
        self.images, self.targets = images, targets
        self.data = self.images.unsqueeze(1).clone()

        self.group_examples()

    def group_examples(self):
        # get the targets from MNIST dataset
        np_arr = np.array(self.targets.clone())

        # group examples based on class
        self.grouped_examples = {}
        for i in range(0, 10):
            self.grouped_examples[i] = np.where((np_arr == i))[0]

    def __len__(self):
        return self.data.shape[0]

    def __getitem__(self, index):
        # pick some random class for the first image
        selected_class = random.randint(0, 9)

        # pick a random index for the first image in the grouped indices based of the label
        # of the class
        random_index_1 = random.randint(0, self.grouped_examples[selected_class].shape[0] - 1)

        # pick the index to get the first image
        index_1 = self.grouped_examples[selected_class][random_index_1]

        # get the first image
        image_1 = self.data[index_1].clone().float()

        # same class
        if index % 2 == 0:
            # pick a random index for the second image
            random_index_2 = random.randint(0, self.grouped_examples[selected_class].shape[0] - 1)

            # ensure that the index of the second image isn't the same as the first image
            while random_index_2 == random_index_1:
                random_index_2 = random.randint(0, self.grouped_examples[selected_class].shape[0] - 1)

            # pick the index to get the second image
            index_2 = self.grouped_examples[selected_class][random_index_2]

            # get the second image
            image_2 = self.data[index_2].clone().float()

            # set the label for this example to be positive (1)
            target = torch.tensor(1, dtype=torch.float)

        # different class
        else:
            # pick a random class
            other_selected_class = random.randint(0, 9)

            # ensure that the class of the second image isn't the same as the first image
            while other_selected_class == selected_class:
                other_selected_class = random.randint(0, 9)

            # pick a random index for the second image in the grouped indices based of the label
            # of the class
            random_index_2 = random.randint(0, self.grouped_examples[other_selected_class].shape[0] - 1)

            # pick the index to get the second image
            index_2 = self.grouped_examples[other_selected_class][random_index_2]

            # get the second image
            image_2 = self.data[index_2].clone().float()

            # set the label for this example to be negative (0)
            target = torch.tensor(0, dtype=torch.float)

        return image_1, image_2, target


def train(args, model, device, train_loader, optimizer, epoch, log, out_dir):
    model.train()

    # we aren't using `TripletLoss` as the MNIST dataset is simple, so `BCELoss` can do the trick.
    criterion = nn.BCELoss()

    for batch_idx, (images_1, images_2, targets) in enumerate(train_loader):
        if epoch == 1 and batch_idx == 0:
            st.save(os.path.join(out_dir, "pairs.safetensors"), {"images_1": images_1, "images_2": images_2, "targets": targets})
        images_1, images_2, targets = images_1.to(device), images_2.to(device), targets.to(device)
        optimizer.zero_grad()
        outputs = model(images_1, images_2).squeeze()
        loss = criterion(outputs, targets)
        loss.backward()
        optimizer.step()
        log["losses"].append(loss.item())
        if batch_idx % args["log_interval"] == 0:
            if args["dry_run"]:
                break


def test(model, device, test_loader, log):
    model.eval()
    test_loss = 0
    correct = 0

    # we aren't using `TripletLoss` as the MNIST dataset is simple, so `BCELoss` can do the trick.
    criterion = nn.BCELoss()

    with torch.no_grad():
        for (images_1, images_2, targets) in test_loader:
            images_1, images_2, targets = images_1.to(device), images_2.to(device), targets.to(device)
            outputs = model(images_1, images_2).squeeze()
            test_loss += criterion(outputs, targets).sum().item()  # sum up batch loss
            pred = torch.where(outputs > 0.5, 1, 0)  # get the index of the max log-probability
            correct += pred.eq(targets.view_as(pred)).sum().item()

    test_loss /= len(test_loader.dataset)
    log["tests"].append([test_loss, correct])


def main(run_path, data_path, out_dir):
    with open(run_path) as f:
        args = json.load(f)
    data = st.load(data_path)

    torch.manual_seed(args["seed"])
    random.seed(args["seed"])
    device = torch.device("cpu")

    train_dataset = APP_MATCHER(data["train_images"], data["train_targets"])
    test_dataset = APP_MATCHER(data["test_images"], data["test_targets"])
    train_loader = torch.utils.data.DataLoader(train_dataset, batch_size=args["batch_size"])
    test_loader = torch.utils.data.DataLoader(test_dataset, batch_size=args["test_batch_size"])

    model = SiameseNetwork().to(device)
    st.save(os.path.join(out_dir, "init.safetensors"), {k: v.detach().clone() for k, v in model.state_dict().items()})
    optimizer = optim.Adadelta(model.parameters(), lr=args["lr"])

    log = {"losses": [], "tests": []}
    scheduler = StepLR(optimizer, step_size=1, gamma=args["gamma"])
    for epoch in range(1, args["epochs"] + 1):
        train(args, model, device, train_loader, optimizer, epoch, log, out_dir)
        test(model, device, test_loader, log)
        scheduler.step()

    st.save(os.path.join(out_dir, "final.safetensors"), {k: v.detach().clone() for k, v in model.state_dict().items()})
    with open(os.path.join(out_dir, "out.json"), "w") as f:
        json.dump(log, f)


if __name__ == "__main__":
    main(*sys.argv[1:4])
