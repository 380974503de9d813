"""Reference for test/optim.sgd-adam.test.ts: torch.optim.SGD, Adam, RMSprop, Adagrad, Adamax,
NAdam, RAdam, Adadelta, Rprop and ASGD, in PyTorch; and Hugging Face's Adafactor
(transformers.Adafactor, whose package is not installed here), written out below in plain
PyTorch from the paper and transformers' documented update.

Usage: optim_ref.py CASES.json INPUTS.safetensors OUT.safetensors

Each case names an optimizer, its keyword arguments and optional param groups (over W and b).
From the same start (W, b, X, Y in INPUTS), 6 steps minimise
    mean((tanh(X W + b) - Y)^2) + 0.1 * sum(|W|)
(float64); at the third step b's gradient is dropped before step(), so it is skipped there, as
optimizers skip parameters without a gradient. Written: `<case>.losses`, `<case>.W`, `<case>.b`.
"""
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
import st  # noqa: E402


class Adafactor(torch.optim.Optimizer):
    """transformers.optimization.Adafactor's update, step for step."""

    def __init__(self, params, lr=None, eps=(1e-30, 1e-3), clip_threshold=1.0, decay_rate=-0.8, beta1=None,
                 weight_decay=0.0, scale_parameter=True, relative_step=True, warmup_init=False):
        super().__init__(params, dict(lr=lr, eps=eps, clip_threshold=clip_threshold, decay_rate=decay_rate, beta1=beta1,
                                      weight_decay=weight_decay, scale_parameter=scale_parameter,
                                      relative_step=relative_step, warmup_init=warmup_init))

    @staticmethod
    def rms(t):
        return t.norm(2) / (t.numel() ** 0.5)

    @torch.no_grad()
    def step(self):
        for g in self.param_groups:
            for p in g["params"]:
                if p.grad is None:
                    continue
                grad, state = p.grad, self.state[p]
                factored = grad.dim() >= 2
                if not state:
                    state["step"] = 0
                    if g["beta1"] is not None:
                        state["exp_avg"] = torch.zeros_like(grad)
                    if factored:
                        state["row"] = torch.zeros(grad.shape[:-1], dtype=grad.dtype)
                        state["col"] = torch.zeros(grad.shape[:-2] + grad.shape[-1:], dtype=grad.dtype)
                    else:
                        state["sq"] = torch.zeros_like(grad)
                state["step"] += 1
                t = state["step"]
                size = g["lr"]
                if g["relative_step"]:
                    size = min(1e-6 * t if g["warmup_init"] else 1e-2, 1.0 / math.sqrt(t))
                lr = size * (max(g["eps"][1], self.rms(p).item()) if g["scale_parameter"] else 1.0)
                beta2t = 1.0 - t ** g["decay_rate"]
                sq = grad * grad + g["eps"][0]
                if factored:
                    row = state["row"].mul_(beta2t).add_(sq.mean(dim=-1), alpha=1 - beta2t)
                    col = state["col"].mul_(beta2t).add_(sq.mean(dim=-2), alpha=1 - beta2t)
                    r = (row / row.mean(dim=-1, keepdim=True)).rsqrt().unsqueeze(-1)
                    c = col.unsqueeze(-2).rsqrt()
                    update = r * c * grad
                else:
                    update = state["sq"].mul_(beta2t).add_(sq, alpha=1 - beta2t).rsqrt() * grad
                update = update / (self.rms(update) / g["clip_threshold"]).clamp(min=1.0)
                update = update * lr
                if g["beta1"] is not None:
                    update = state["exp_avg"].mul_(g["beta1"]).add_(update, alpha=1 - g["beta1"])
                if g["weight_decay"] != 0:
                    p.add_(p, alpha=-g["weight_decay"] * lr)
                p.sub_(update)


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
        cls = Adafactor if c["optimizer"] == "Adafactor" else getattr(torch.optim, c["optimizer"])
        opt = cls(params, **c["kwargs"])
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
