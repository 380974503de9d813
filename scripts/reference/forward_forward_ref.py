"""Reference for test/forward_forward.test.ts: PyTorch's examples/mnist_forward_forward (main.py:
Hinton's forward-forward algorithm, each layer trained on its own by its own Adam to give positive
data high goodness and negative data low), in PyTorch, without argument parsing, device selection,
the MNIST download and the plots: the images come ready as tensors (normalised, flattened).

Usage: forward_forward_ref.py RUN.json DATA.safetensors OUT_DIR

RUN: dims, epochs, lr, threshold, train_batch_size, test_batch_size, seed. DATA: train_images,
train_labels, test_images, test_labels. OUT_DIR gets init.safetensors and final.safetensors (each
layer's weight and bias, as layers.i.weight), batch.safetensors (the shuffled training batch, x_pos,
x_neg) and out.json: each layer's losses (every epoch's), the train and test error.
"""
import json
import os
import sys

import torch
import torch.nn as nn
from torch.optim import Adam
from torch.utils.data import DataLoader, TensorDataset

import st


def MNIST_loaders(data, train_batch_size=50000, test_batch_size=10000):
    train_loader = DataLoader(TensorDataset(data["train_images"], data["train_labels"]), batch_size=train_batch_size, shuffle=True)
    test_loader = DataLoader(TensorDataset(data["test_images"], data["test_labels"]), batch_size=test_batch_size, shuffle=False)
    return train_loader, test_loader


def overlay_y_on_x(x, y):
    """Replace the first 10 pixels of data [x] with one-hot-encoded label [y]
    """
    x_ = x.clone()
    x_[:, :10] *= 0.0
    x_[range(x.shape[0]), y] = x.max()
    return x_


class Net(torch.nn.Module):

    def __init__(self, dims, args):
        super().__init__()
        self.layers = []
        for d in range(len(dims) - 1):
            self.layers += [Layer(dims[d], dims[d + 1], args)]

    def predict(self, x):
        goodness_per_label = []
        for label in range(10):
            h = overlay_y_on_x(x, label)
            goodness = []
            for layer in self.layers:
                h = layer(h)
                goodness += [h.pow(2).mean(1)]
            goodness_per_label += [sum(goodness).unsqueeze(1)]
        goodness_per_label = torch.cat(goodness_per_label, 1)
        return goodness_per_label.argmax(1)

    def train(self, x_pos, x_neg):
        h_pos, h_neg = x_pos, x_neg
        for i, layer in enumerate(self.layers):
            h_pos, h_neg = layer.train(h_pos, h_neg)


class Layer(nn.Linear):
    def __init__(self, in_features, out_features, args, bias=True, device=None, dtype=None):
        super().__init__(in_features, out_features, bias, device, dtype)
        self.relu = torch.nn.ReLU()
        self.opt = Adam(self.parameters(), lr=args["lr"])
        self.threshold = args["threshold"]
        self.num_epochs = args["epochs"]
        self.losses = []

    def forward(self, x):
        x_direction = x / (x.norm(2, 1, keepdim=True) + 1e-4)
        return self.relu(
            torch.mm(x_direction, self.weight.T) +
            self.bias.unsqueeze(0))

    def train(self, x_pos, x_neg):
        for i in range(self.num_epochs):
            g_pos = self.forward(x_pos).pow(2).mean(1)
            g_neg = self.forward(x_neg).pow(2).mean(1)
            # The following loss pushes pos (neg) samples to
            # values larger (smaller) than the self.threshold.
            loss = torch.log(1 + torch.exp(torch.cat([
                -g_pos + self.threshold,
                g_neg - self.threshold]))).mean()
            self.opt.zero_grad()
            # this backward just compute the derivative and hence
            # is not considered backpropagation.
            loss.backward()
            self.opt.step()
            self.losses.append(loss.item())
        return self.forward(x_pos).detach(), self.forward(x_neg).detach()


def state(net):
    return {f"layers.{i}.{k}": v.detach().clone() for i, layer in enumerate(net.layers) for k, v in layer.state_dict().items()}


def main(run_path, data_path, out_dir):
    with open(run_path) as f:
        args = json.load(f)
    data = st.load(data_path)
    torch.manual_seed(args["seed"])
    train_loader, test_loader = MNIST_loaders(data, args["train_batch_size"], args["test_batch_size"])

    net = Net(args["dims"], args)
    st.save(os.path.join(out_dir, "init.safetensors"), state(net))
    x, y = next(iter(train_loader))
    x_pos = overlay_y_on_x(x, y)
    rnd = torch.randperm(x.size(0))
    x_neg = overlay_y_on_x(x, y[rnd])
    st.save(os.path.join(out_dir, "batch.safetensors"), {"x": x, "y": y, "x_pos": x_pos, "x_neg": x_neg})

    net.train(x_pos, x_neg)

    train_error = 1.0 - net.predict(x).eq(y).float().mean().item()

    x_te, y_te = next(iter(test_loader))

    test_error = 1.0 - net.predict(x_te).eq(y_te).float().mean().item()
    st.save(os.path.join(out_dir, "final.safetensors"), state(net))
    with open(os.path.join(out_dir, "out.json"), "w") as f:
        json.dump({"losses": [layer.losses for layer in net.layers], "train_error": train_error, "test_error": test_error}, f)


if __name__ == "__main__":
    main(*sys.argv[1:4])
