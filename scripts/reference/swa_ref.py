"""Reference for test/swa.test.ts: torch.optim.swa_utils in PyTorch (float64).

Usage: swa_ref.py INPUTS.safetensors OUT.safetensors

A net (Linear, BatchNorm1d, ReLU, Linear) built after torch.manual_seed(SEED) trains 6 SGD steps
under SWALR (linear annealing to 0.05 over 3 steps); after each step an AveragedModel (plain
SWA) and an EMA (decay 0.9, buffers averaged too) fold the weights in; then update_bn recomputes
the SWA model's BatchNorm statistics over two batches. Written: both averaged state dicts
(`swa.<name>`, `ema.<name>`) and the lrs (`lrs`).
"""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel, SWALR, update_bn

sys.path.insert(0, os.path.dirname(__file__))
import st  # noqa: E402

SEED = 3


def main(inputs_path, out_path):
    torch.set_default_dtype(torch.float64)
    t = st.load(inputs_path)
    torch.manual_seed(SEED)
    net = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    sched = SWALR(opt, swa_lr=0.05, anneal_epochs=3, anneal_strategy="linear")
    swa = AveragedModel(net)
    ema = AveragedModel(net, avg_fn=lambda avg, p, n: avg * 0.9 + p * 0.1, use_buffers=True)
    lrs = [opt.param_groups[0]["lr"]]
    for _ in range(6):
        opt.zero_grad()
        F.mse_loss(net(t["x"]), t["y"]).backward()
        opt.step()
        swa.update_parameters(net)
        ema.update_parameters(net)
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    update_bn([t["x"][:4], t["x"][4:]], swa)
    out = {"lrs": torch.tensor(lrs)}
    for name, m in (("swa", swa), ("ema", ema)):
        for k, v in m.state_dict().items():
            out[f"{name}.{k}"] = v
    st.save(out_path, out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
