"""Reference for test/lora.linear.test.ts: PEFT's LoRA (and DoRA) on nn.Linear layers of a
torch.nn.TransformerEncoderLayer, in PyTorch, written in merged form: every adapted weight is
W' = W + s·B·A (DoRA: W' = (m / ||W + s·B·A||, per output row, detached) · (W + s·B·A)), used
through torch.nn.utils.stateless.functional_call. That is the same math as PEFT's unmerged
forward (base(x) + s·lora_B(lora_A(x)), dropout 0), by another route.

Usage: lora_linear_ref.py SPEC.json TENSORS.safetensors OUT.safetensors
SPEC: {targets, scaling, dora}; TENSORS: the layer's base weights (PyTorch's names), each
target's `<t>.lora_A`, `<t>.lora_B` (and `<t>.m`), the input `x`. OUT: `out`, and the gradients
of sum(out * w) (`w` written too) for every LoRA tensor (`grad.<t>.lora_A`, ...).
"""
import json
import os
import sys

import torch
import torch.nn as nn
from torch.nn.utils.stateless import functional_call

sys.path.insert(0, os.path.dirname(__file__))
import st  # noqa: E402


def main(spec_path, tensors_path, out_path):
    torch.set_default_dtype(torch.float64)
    with open(spec_path) as f:
        spec = json.load(f)
    t = st.load(tensors_path)
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0)
    layer.load_state_dict({k: v for k, v in t.items() if not k.startswith("lora.") and k != "x"})
    layer.train()
    s = spec["scaling"]
    lora = {}
    params = {}
    for name in spec["targets"]:
        A = t[f"lora.{name}.lora_A"].clone().requires_grad_(True)
        B = t[f"lora.{name}.lora_B"].clone().requires_grad_(True)
        lora[f"{name}.lora_A"], lora[f"{name}.lora_B"] = A, B
        W = dict(layer.named_parameters())[f"{name}.weight"].detach()
        merged = W + s * (B @ A)
        if spec["dora"]:
            m = t[f"lora.{name}.m"].clone().requires_grad_(True)
            lora[f"{name}.m"] = m
            merged = (m / merged.norm(p=2, dim=1).detach()).unsqueeze(1) * merged
        params[f"{name}.weight"] = merged
    out = functional_call(layer, params, (t["x"],))
    w = torch.linspace(-1.0, 1.5, out.numel()).reshape(out.shape)
    (out * w).sum().backward()
    res = {"out": out.detach(), "w": w}
    for k, v in lora.items():
        res[f"grad.{k}"] = v.grad
    st.save(out_path, res)


if __name__ == "__main__":
    main(*sys.argv[1:4])
