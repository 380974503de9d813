"""Reference for test/core.grad.test.ts' blocked attention: scaled dot-product attention as
PyTorch documents it (softmax(q kᵀ / sqrt(d) + mask) v, is_causal a top-left lower triangle;
1.13 has no F.scaled_dot_product_attention), in float64, with every input's gradient.

Usage: attention_ref.py INPUTS.safetensors OUT.safetensors

Inputs: q, k, v (and gy, the output's weights in the loss sum(out * gy)) per case, named
`<case>.q` ...; `<case>.mask` where the case has one; `<case>.causal` (a 0-d 1) where causal.
Writes `<case>.out` and `<case>.grad.q`, `.grad.k`, `.grad.v`.
"""
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
import st  # noqa: E402


def attention(q, k, v, mask, causal):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    L, S = q.size(-2), k.size(-2)
    if causal:
        scores = scores.masked_fill(~torch.ones(L, S, dtype=torch.bool).tril(0), float("-inf"))
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else scores + mask
    return scores.softmax(-1) @ v


def main(inputs_path, out_path):
    t = st.load(inputs_path)
    out = {}
    for case in sorted({name.split(".")[0] for name in t}):
        q, k, v = (t[f"{case}.{n}"].clone().requires_grad_() for n in "qkv")
        y = attention(q, k, v, t.get(f"{case}.mask"), f"{case}.causal" in t)
        (y * t[f"{case}.gy"]).sum().backward()
        out[f"{case}.out"] = y.detach()
        for n, x in zip("qkv", (q, k, v)):
            out[f"{case}.grad.{n}"] = x.grad
    st.save(out_path, out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
