"""Reference for test/vae.test.ts: PyTorch's examples/vae main.py (its VAE, loss_function, train,
test and sampling, without argument parsing, device selection and image saving; the images come
ready as tensors in [0, 1]), in PyTorch.

Usage: vae_ref.py RUN.json DATA.safetensors OUT_DIR

RUN: batch_size, epochs, seed. DATA: train (N, 1, 28, 28), test. OUT_DIR gets init.safetensors,
final.safetensors, samples.safetensors (the last epoch's 64 decoded samples) and out.json: each
epoch's average train and test loss.
"""
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

import st


class VAE(nn.Module):
    def __init__(self):
        super(VAE, self).__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 784))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


def loss_function(recon_x, x, mu, logvar):
    BCE = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction='sum')
    KLD = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return BCE + KLD


def main(run_path, data_path, out_dir):
    with open(run_path) as f:
        args = json.load(f)
    data = st.load(data_path)
    torch.manual_seed(args["seed"])
    train_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(data["train"]), batch_size=args["batch_size"], shuffle=True)
    test_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(data["test"]), batch_size=args["batch_size"], shuffle=False)
    model = VAE()
    st.save(os.path.join(out_dir, "init.safetensors"), {k: v.clone() for k, v in model.state_dict().items()})
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    train_losses, test_losses = [], []

    def train(epoch):
        model.train()
        train_loss = 0
        for batch_idx, (data, ) in enumerate(train_loader):
            optimizer.zero_grad()
            recon_batch, mu, logvar = model(data)
            loss = loss_function(recon_batch, data, mu, logvar)
            loss.backward()
            train_loss += loss.item()
            optimizer.step()
        train_losses.append(train_loss / len(train_loader.dataset))

    def test(epoch):
        model.eval()
        test_loss = 0
        with torch.no_grad():
            for i, (data, ) in enumerate(test_loader):
                recon_batch, mu, logvar = model(data)
                test_loss += loss_function(recon_batch, data, mu, logvar).item()
        test_losses.append(test_loss / len(test_loader.dataset))

    for epoch in range(1, args["epochs"] + 1):
        train(epoch)
        test(epoch)
        with torch.no_grad():
            sample = torch.randn(64, 20)
            sample = model.decode(sample)
    st.save(os.path.join(out_dir, "final.safetensors"), {k: v.clone() for k, v in model.state_dict().items()})
    st.save(os.path.join(out_dir, "samples.safetensors"), {"samples": sample})
    with open(os.path.join(out_dir, "out.json"), "w") as f:
        json.dump({"train_losses": train_losses, "test_losses": test_losses}, f)


if __name__ == "__main__":
    main(*sys.argv[1:4])
