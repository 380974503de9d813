"""Reference for test/lbfgs.test.ts: torch.optim.LBFGS in PyTorch (float64).

Usage: lbfgs_ref.py INPUTS.safetensors OUT.safetensors

Two problems, each with and without the strong-Wolfe line search: the Rosenbrock function from
(-1.5, 2) (3 steps of max_iter 10), and least squares tanh(X W + b) ~ Y from W, b in INPUTS
(4 steps of max_iter 5, history_size 3 so the history wraps). Written: each step's returned
loss (`<case>.losses`) and the final parameters (`<case>.<param>`).
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
import st  # noqa: E402


def rosenbrock(p):
    return (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2


def main(inputs_path, out_path):
    t = st.load(inputs_path)
    out = {}
    for ls in (None, "strong_wolfe"):
        tag = "wolfe" if ls else "plain"
        p = torch.tensor([-1.5, 2.0], dtype=torch.float64, requires_grad=True)
        opt = torch.optim.LBFGS([p], lr=1, max_iter=10, line_search_fn=ls)

        def closure():
            opt.zero_grad()
            loss = rosenbrock(p)
            loss.backward()
            return loss
        out[f"rosen_{tag}.losses"] = torch.tensor([float(opt.step(closure)) for _ in range(3)], dtype=torch.float64)
        out[f"rosen_{tag}.p"] = p.detach()

        W = t["W"].clone().requires_grad_(True)
        b = t["b"].clone().requires_grad_(True)
        opt = torch.optim.LBFGS([W, b], lr=0.8, max_iter=5, history_size=3, line_search_fn=ls)

        def closure2():
            opt.zero_grad()
            loss = ((torch.tanh(t["X"] @ W + b) - t["Y"]) ** 2).mean()
            loss.backward()
            return loss
        out[f"lsq_{tag}.losses"] = torch.tensor([float(opt.step(closure2)) for _ in range(4)], dtype=torch.float64)
        out[f"lsq_{tag}.W"] = W.detach()
        out[f"lsq_{tag}.b"] = b.detach()
    st.save(out_path, out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
