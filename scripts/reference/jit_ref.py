"""Reference for test/jit.test.ts: TorchScript modules made in PyTorch (torch.jit.script with
control flow, torch.jit.trace), saved with torch.jit.save, with their outputs and gradients.

Usage: jit_ref.py DIR  -> DIR/scripted.pt, DIR/traced.pt, DIR/out.safetensors
"""
import os
import sys
from typing import Dict, List, Tuple

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(__file__))
import st  # noqa: E402


class Scripted(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)
        self.norm = nn.BatchNorm1d(3)
        self.drop = nn.Dropout(0.5)
        self.scale = nn.Parameter(torch.tensor(1.5))

    def forward(self, x: torch.Tensor, steps: int = 2) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
        h = self.fc(x)
        for _ in range(steps):  # control flow a trace could not keep
            h = torch.tanh(h) * self.scale
        h = self.drop(self.norm(h))
        return h, {"sum": h.sum(), "max": h.max()}

    @torch.jit.export
    def describe(self, x: torch.Tensor) -> List[int]:
        return list(x.shape)


def main(out_dir):
    torch.manual_seed(0)
    m = torch.jit.script(Scripted())
    x = torch.randn(5, 4)
    m.train()
    m(x)  # one train-mode call: the running statistics move (dropout draws from the generator)
    m.eval()
    with torch.no_grad():
        h, d = m(x, 3)
    out = {"x": x, "eval_h": h, "eval_sum": d["sum"], "eval_max": d["max"]}
    h, d = m(x, 1)
    d["sum"].backward()
    for name, p in m.named_parameters():
        out[f"grad.{name}"] = p.grad.clone()
    for name, b in m.named_buffers():
        out[f"buffer.{name}"] = b.clone()
    m.save(os.path.join(out_dir, "scripted.pt"))  # after the train-mode step: its running stats
    traced = torch.jit.trace(nn.Sequential(nn.Linear(4, 6), nn.GELU(), nn.Linear(6, 2)).eval(), x)
    out["traced_out"] = traced(x).detach()
    traced.save(os.path.join(out_dir, "traced.pt"))
    st.save(os.path.join(out_dir, "out.safetensors"), out)


if __name__ == "__main__":
    main(sys.argv[1])
