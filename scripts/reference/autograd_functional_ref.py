"""Reference for test/autograd.functional.test.ts: torch.autograd.functional in PyTorch (float64).

Usage: autograd_functional_ref.py INPUTS.safetensors OUT.safetensors

The functions (written the same way in the test):
  f1(x, y) = sum(exp(x) * sin(y))            scalar of two (2, 3) inputs
  f2(x)    = cumsum(x^3)                      (4,) -> (4,)
  f3(x, y) = (x @ y, sum(2 x, 1))             (2, 3), (3, 2) -> (2, 2), (2,)
  f4(x)    = sum(sin(x) * x^2)                scalar of a (4,) input
Every result is written flat: `<name>.<k>` in PyTorch's tuple order.
"""
import os
import sys

import torch
from torch.autograd import functional as AF

sys.path.insert(0, os.path.dirname(__file__))
import st  # noqa: E402


def f1(x, y):
    return (x.exp() * y.sin()).sum()


def f2(x):
    return x.pow(3).cumsum(0)


def f3(x, y):
    return x @ y, (x * 2).sum(1)


def f4(x):
    return (x.sin() * x.pow(2)).sum()


def flat(r):
    if isinstance(r, torch.Tensor):
        return [r]
    return [t for e in r for t in flat(e)]


def main(inputs_path, out_path):
    t = st.load(inputs_path)
    a, b, c, d, x4 = t["a"], t["b"], t["c"], t["d"], t["x4"]
    results = {
        "vjp_f2": AF.vjp(f2, x4, t["v4"]),
        "vjp_f3": AF.vjp(f3, (c, d), (t["v22"], t["v2"])),
        "vjp_f1": AF.vjp(f1, (a, b)),
        "jvp_f2": AF.jvp(f2, x4, t["u4"]),
        "jvp_f3": AF.jvp(f3, (c, d), (t["uc"], t["ud"])),
        "jac_f2": AF.jacobian(f2, x4),
        "jac_f3": AF.jacobian(f3, (c, d)),
        "jac_f1": AF.jacobian(f1, (a, b)),
        "jac_two_out": AF.jacobian(lambda x: (x.sin(), x.cos()), x4),
        "hess_f4": AF.hessian(f4, x4),
        "hess_f1": AF.hessian(f1, (a, b)),
        "vhp_f4": AF.vhp(f4, x4, t["w4"]),
        "hvp_f4": AF.hvp(f4, x4, t["w4"]),
        "hvp_f1": AF.hvp(f1, (a, b), (t["va"], t["vb"])),
    }
    out = {}
    for name, r in results.items():
        for k, v in enumerate(flat(r)):
            out[f"{name}.{k}"] = v.detach().clone()
    # create_graph: the jacobian itself differentiated
    x = x4.clone().requires_grad_(True)
    AF.jacobian(f2, x, create_graph=True).pow(2).sum().backward()
    out["jac_grad.0"] = x.grad
    st.save(out_path, out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
