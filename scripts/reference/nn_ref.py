"""Reference for test/nn.modules.test.ts: four small networks made of torch.nn layers, in PyTorch.

Usage: nn_ref.py INPUTS.safetensors OUT.safetensors

Each network is built right after torch.manual_seed(SEED) (the TypeScript test builds its own
after torch.manualSeed(SEED)), its initial state dict written (`<net>.init.<name>`), then trained
for 3 AdamW steps (lr 1e-2, weight decay 0.01) on the inputs with cross-entropy in train mode:
the losses (`<net>.losses`), the first step's gradients (`<net>.grad.<name>`), the final state
dict with the running statistics (`<net>.final.<name>`) and the eval-mode logits after training
(`<net>.eval`).
"""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
import st  # noqa: E402

SEED = 5


def cnn():
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 12, (3, 2), stride=(1, 2), padding_mode="reflect", padding=(1, 1), groups=4), nn.GroupNorm(3, 12), nn.SiLU(),
        nn.AdaptiveAvgPool2d((2, 2)), nn.Flatten(), nn.Linear(48, 5),
    )


def seq1d():
    return nn.Sequential(
        nn.Conv1d(4, 6, 3, padding="same", bias=False), nn.BatchNorm1d(6, momentum=None), nn.GELU(approximate="tanh"),
        nn.Conv1d(6, 6, 2, stride=2, padding_mode="circular", padding=1), nn.LeakyReLU(0.1), nn.AvgPool1d(2),
        nn.Flatten(), nn.Linear(18, 8), nn.BatchNorm1d(8), nn.Tanh(), nn.Linear(8, 5),
    )


def decoder():
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.InstanceNorm2d(8, affine=True, track_running_stats=True), nn.PReLU(8), nn.Dropout2d(0.25),
        nn.ConvTranspose2d(8, 6, 3, stride=2, padding=1, output_padding=1), nn.Hardswish(), nn.PixelUnshuffle(2),
        nn.Conv2d(24, 4, 1), nn.PixelShuffle(2), nn.ReLU6(), nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Unflatten(1, (4, 4)),
        nn.Flatten(), nn.Linear(16, 8), nn.SELU(), nn.Linear(8, 5),
    )


class ChannelShuffle(nn.Module):
    """nn.ChannelShuffle's permutation with a gradient (PyTorch 1.13's kernel has none)."""

    def __init__(self, groups):
        super().__init__()
        self.groups = groups

    def forward(self, x):
        n, c = x.shape[:2]
        return x.reshape(n, self.groups, c // self.groups, *x.shape[2:]).transpose(1, 2).reshape(x.shape)


def extras2d():
    return nn.Sequential(
        nn.ReflectionPad2d(1), nn.Conv2d(3, 8, 3), nn.LocalResponseNorm(3), ChannelShuffle(2), nn.ReplicationPad2d((1, 0, 1, 0)),
        nn.LPPool2d(2, 2), nn.ZeroPad2d(1), nn.ConstantPad2d((0, 1, 0, 1), 0.5), nn.RReLU(), nn.AdaptiveMaxPool2d(2), nn.Flatten(), nn.Linear(32, 5),
    )


def extras1d():
    return nn.Sequential(
        nn.ConstantPad1d(2, 0.1), nn.Conv1d(4, 6, 3), nn.ReflectionPad1d(1), nn.LPPool1d(2, 3, stride=2), nn.ReplicationPad1d((0, 1)),
        nn.AdaptiveMaxPool1d(3), nn.FeatureAlphaDropout(0.2), nn.Flatten(), nn.Linear(18, 5),
    )


def extras3d():
    return nn.Sequential(
        nn.ConvTranspose3d(2, 3, 2, stride=2), nn.InstanceNorm3d(3, affine=True), nn.Dropout3d(0.2), nn.ReplicationPad3d(1), nn.ConstantPad3d(1, -0.5),
        nn.ReflectionPad3d((1, 1, 0, 0, 1, 0)), nn.AdaptiveMaxPool3d(1), nn.Flatten(), nn.Linear(3, 5),
    )


def vol3d():
    return nn.Sequential(
        nn.Conv3d(2, 4, 3, padding=1), nn.BatchNorm3d(4), nn.ReLU(), nn.MaxPool3d(2),
        nn.Conv3d(4, 4, (1, 3, 3), padding=(0, 1, 1), padding_mode="replicate"), nn.AvgPool3d((1, 2, 2)),
        nn.AdaptiveAvgPool3d(1), nn.Flatten(), nn.Linear(4, 5),
    )


def run(name, make, x, y, out):
    torch.manual_seed(SEED)
    net = make()
    for k, v in net.state_dict().items():
        out[f"{name}.init.{k}"] = v.clone()
    opt = torch.optim.AdamW(net.parameters(), lr=1e-2, weight_decay=0.01)
    losses = []
    for step in range(3):
        opt.zero_grad()
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        if step == 0:
            for k, p in net.named_parameters():
                out[f"{name}.grad.{k}"] = p.grad.clone()
        opt.step()
        losses.append(loss.item())
    out[f"{name}.losses"] = torch.tensor(losses, dtype=torch.float64)
    for k, v in net.state_dict().items():
        out[f"{name}.final.{k}"] = v.clone()
    net.eval()
    with torch.no_grad():
        out[f"{name}.eval"] = net(x)


def main(inputs_path, out_path):
    t = st.load(inputs_path)
    out = {}
    run("cnn", cnn, t["cnn.x"], t["cnn.y"], out)
    run("seq1d", seq1d, t["seq1d.x"], t["seq1d.y"], out)
    run("decoder", decoder, t["decoder.x"], t["decoder.y"], out)
    run("vol3d", vol3d, t["vol3d.x"], t["vol3d.y"], out)
    run("extras2d", extras2d, t["extras2d.x"], t["extras2d.y"], out)
    run("extras1d", extras1d, t["extras1d.x"], t["extras1d.y"], out)
    run("extras3d", extras3d, t["extras3d.x"], t["extras3d.y"], out)
    torch.manual_seed(SEED)  # layers outside a Sequential: their initial weights
    for k, v in nn.Bilinear(3, 4, 2).state_dict().items():
        out[f"bilinear.{k}"] = v
    for k, v in nn.ConvTranspose1d(4, 6, 3, groups=2).state_dict().items():
        out[f"convt1d.{k}"] = v
    for k, v in nn.EmbeddingBag(10, 3, mode="sum", padding_idx=2).state_dict().items():
        out[f"bag.{k}"] = v
    st.save(out_path, out)


if __name__ == "__main__":
    main(*sys.argv[1:3])
