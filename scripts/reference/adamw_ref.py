"""Reference for test/optim.test.ts: torch.optim.AdamW (foreach, PyTorch's multi-tensor step),
whose results tstorch's native AdamW step must match bit for bit.

Usage: adamw_ref.py INPUTS.safetensors OUT.safetensors

INPUTS holds the parameters p0..pN-1 (any floating dtype) and, for steps s = 0..S-1, their
gradients g<s>_<i>. Two groups: p0 and p1 with weight decay 0.1, the rest with none; lr 1e-2.
Each step sets every gradient, steps and zeroes them. Written: the parameters after the last step.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
import st  # noqa: E402

inputs = st.load(sys.argv[1])
n = sum(1 for k in inputs if k.startswith("p"))
steps = sum(1 for k in inputs if k.startswith("g")) // n
params = [inputs[f"p{i}"].clone().requires_grad_() for i in range(n)]
opt = torch.optim.AdamW([{"params": params[:2], "weight_decay": 0.1}, {"params": params[2:], "weight_decay": 0.0}],
                        lr=1e-2, foreach=True)
for s in range(steps):
    for i, p in enumerate(params):
        p.grad = inputs[f"g{s}_{i}"].clone()
    opt.step()
    opt.zero_grad()
st.save(sys.argv[2], {f"p{i}": p.detach() for i, p in enumerate(params)})
