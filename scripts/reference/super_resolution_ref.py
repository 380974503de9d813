"""Reference for test/super_resolution.test.ts: PyTorch's examples/super_resolution (model.py's
Net; main.py's train and test, without argument parsing, device selection, the BSDS300 download
and checkpoints: the image pairs come ready as tensors), in PyTorch.

Usage: super_resolution_ref.py RUN.json DATA.safetensors OUT_DIR

RUN: upscale_factor, batch_size, test_batch_size, n_epochs, lr, seed. DATA: train_input,
train_target, test_input, test_target. OUT_DIR gets init.safetensors, final.safetensors and
out.json: each epoch's average loss and average PSNR on the test set.
"""
import json
import os
import sys
from math import log10

import torch
import torch.nn as nn
import torch.nn.init as init
import torch.optim as optim

import st


class Net(nn.Module):
    def __init__(self, upscale_factor):
        super(Net, self).__init__()

        self.relu = nn.ReLU()
        self.conv1 = nn.Conv2d(1, 64, (5, 5), (1, 1), (2, 2))
        self.conv2 = nn.Conv2d(64, 64, (3, 3), (1, 1), (1, 1))
        self.conv3 = nn.Conv2d(64, 32, (3, 3), (1, 1), (1, 1))
        self.conv4 = nn.Conv2d(32, upscale_factor ** 2, (3, 3), (1, 1), (1, 1))
        self.pixel_shuffle = nn.PixelShuffle(upscale_factor)

        self._initialize_weights()

    def forward(self, x):
        x = self.relu(self.conv1(x))
        x = self.relu(self.conv2(x))
        x = self.relu(self.conv3(x))
        x = self.pixel_shuffle(self.conv4(x))
        return x

    def _initialize_weights(self):
        init.orthogonal_(self.conv1.weight, init.calculate_gain('relu'))
        init.orthogonal_(self.conv2.weight, init.calculate_gain('relu'))
        init.orthogonal_(self.conv3.weight, init.calculate_gain('relu'))
        init.orthogonal_(self.conv4.weight)


def main(run_path, data_path, out_dir):
    with open(run_path) as f:
        opt = json.load(f)
    data = st.load(data_path)
    torch.manual_seed(opt["seed"])
    training_data_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(data["train_input"], data["train_target"]), batch_size=opt["batch_size"], shuffle=True)
    testing_data_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(data["test_input"], data["test_target"]), batch_size=opt["test_batch_size"], shuffle=False)
    model = Net(upscale_factor=opt["upscale_factor"])
    st.save(os.path.join(out_dir, "init.safetensors"), {k: v.clone() for k, v in model.state_dict().items()})
    criterion = nn.MSELoss()
    optimizer = optim.Adam(model.parameters(), lr=opt["lr"])
    epoch_losses, psnrs = [], []

    def train(epoch):
        epoch_loss = 0
        for iteration, batch in enumerate(training_data_loader, 1):
            input, target = batch[0], batch[1]
            optimizer.zero_grad()
            loss = criterion(model(input), target)
            epoch_loss += loss.item()
            loss.backward()
            optimizer.step()
        epoch_losses.append(epoch_loss / len(training_data_loader))

    def test():
        avg_psnr = 0
        with torch.no_grad():
            for batch in testing_data_loader:
                input, target = batch[0], batch[1]
                prediction = model(input)
                mse = criterion(prediction, target)
                psnr = 10 * log10(1 / mse.item())
                avg_psnr += psnr
        psnrs.append(avg_psnr / len(testing_data_loader))

    for epoch in range(1, opt["n_epochs"] + 1):
        train(epoch)
        test()
    st.save(os.path.join(out_dir, "final.safetensors"), {k: v.clone() for k, v in model.state_dict().items()})
    with open(os.path.join(out_dir, "out.json"), "w") as f:
        json.dump({"epoch_losses": epoch_losses, "psnrs": psnrs}, f)


if __name__ == "__main__":
    main(*sys.argv[1:4])
