"""Reference for test/optim.sgd-adam.test.ts: torch.optim.SGD, Adam, RMSprop, Adagrad, Adamax,
NAdam, RAdam, Adadelta, Rprop and ASGD, in PyTorch.

Usage: optim_ref.py CASES.json INPUTS.safetensors OUT.safetensors

Each case names an optimizer, its keyword arguments and optional param groups (over W and b).
From the same start (W, b, X, Y in INPUTS), 6 steps minimise
    mean((tanh(X W + b) - Y)^2) + 0.1 * sum(|W|)
(float64); at the third step b's gradient is dropped before step(), so it is skipped there, as
optimizers skip parameters without a gradient. Written: `<case>.losses`, `<case>.W`, `<case>.b`.
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
import st  # noqa: E402


def main(cases_path, inputs_path, out_path):
    with open(cases_path) as f:
        cases = json.load(f)
    t = st.load(inputs_path)
    out = {}
    for c in cases:
        W = t["W"].clone().requires_grad_(True)
        b = t["b"].clone().requires_grad_(True)
        named = {"W": W, "b": b}
        params = [dict(g, params=[named[n] for n in g["params"]]) for g in c["groups"]] if c.get("groups") else [W, b]
        opt = getattr(torch.optim, c["optimizer"])(params, **c["kwargs"])
        losses = []
        for step in range(6):
            opt.zero_grad()
            loss = ((torch.tanh(t["X"] @ W + b) - t["Y"]) ** 2).mean() + 0.1 * W.abs().sum()
            loss.backward()
            if step == 2:
                b.grad = None
            opt.step()
            losses.append(loss.item())
        out[f"{c['name']}.losses"] = torch.tensor(losses, dtype=torch.float64)
        out[f"{c['name']}.W"] = W.detach()
        out[f"{c['name']}.b"] = b.detach()
    st.save(out_path, out)


if __name__ == "__main__":
    main(*sys.argv[1:4])
