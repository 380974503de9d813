"""Reference for test/time_sequence_prediction.test.ts: PyTorch's examples/time_sequence_prediction
train.py (its Sequence and training loop, without argument parsing and plotting; the sine waves
come ready, as generate_sine_wave.py would make them), in PyTorch.

Usage: time_sequence_ref.py RUN.json DATA.safetensors OUT_DIR

RUN: steps, future. DATA: data (N, L) float64. OUT_DIR gets init.safetensors and final.safetensors
(the state dict as built, in float64, and after training), pred.safetensors (the last
prediction) and out.json: every closure's loss and each step's test loss.
"""
import json
import os
import sys

import torch
import torch.nn as nn
import torch.optim as optim

import st


class Sequence(nn.Module):
    def __init__(self):
        super(Sequence, self).__init__()
        self.lstm1 = nn.LSTMCell(1, 51)
        self.lstm2 = nn.LSTMCell(51, 51)
        self.linear = nn.Linear(51, 1)

    def forward(self, input, future=0):
        outputs = []
        h_t = torch.zeros(input.size(0), 51, dtype=torch.double)
        c_t = torch.zeros(input.size(0), 51, dtype=torch.double)
        h_t2 = torch.zeros(input.size(0), 51, dtype=torch.double)
        c_t2 = torch.zeros(input.size(0), 51, dtype=torch.double)

        for input_t in input.split(1, dim=1):
            h_t, c_t = self.lstm1(input_t, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            output = self.linear(h_t2)
            outputs += [output]
        for i in range(future):  # if we should predict the future
            h_t, c_t = self.lstm1(output, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            output = self.linear(h_t2)
            outputs += [output]
        outputs = torch.cat(outputs, dim=1)
        return outputs


def main(run_path, data_path, out_dir):
    with open(run_path) as f:
        opt = json.load(f)
    torch.manual_seed(0)
    data = st.load(data_path)["data"]
    input = data[3:, :-1]
    target = data[3:, 1:]
    test_input = data[:3, :-1]
    test_target = data[:3, 1:]
    seq = Sequence()
    seq.double()
    st.save(os.path.join(out_dir, "init.safetensors"), {k: v.clone() for k, v in seq.state_dict().items()})
    criterion = nn.MSELoss()
    optimizer = optim.LBFGS(seq.parameters(), lr=0.8)
    losses, test_losses = [], []
    future = opt["future"]
    for i in range(opt["steps"]):
        def closure():
            optimizer.zero_grad()
            out = seq(input)
            loss = criterion(out, target)
            losses.append(loss.item())
            loss.backward()
            return loss
        optimizer.step(closure)
        with torch.no_grad():
            pred = seq(test_input, future=future)
            loss = criterion(pred[:, :-future], test_target)
            test_losses.append(loss.item())
    st.save(os.path.join(out_dir, "final.safetensors"), {k: v.clone() for k, v in seq.state_dict().items()})
    st.save(os.path.join(out_dir, "pred.safetensors"), {"pred": pred})
    with open(os.path.join(out_dir, "out.json"), "w") as f:
        json.dump({"losses": losses, "test_losses": test_losses}, f)


if __name__ == "__main__":
    main(*sys.argv[1:4])
