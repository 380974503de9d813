"""Reference values for the tensor API's breadth test (test/ops.parity.test.ts), in plain PyTorch.

Usage: ops_ref.py CASES.json INPUTS.safetensors OUT.safetensors

CASES.json lists {name, py, inputs}: py is the case in PyTorch, a lambda over the inputs (or a
`def f(...)` block), written independently of the TypeScript one; inputs are the names of the
case's tensors in INPUTS.safetensors; floating inputs need a gradient except those listed in
`constants` (positions). For each case this writes
every output (`<name>.out<k>`; a tuple's items in order, numbers and booleans as 0-d tensors)
and, when an output needs a gradient, the gradient of sum_k sum(out_k * w_k) for the float
outputs, with fixed weights w_k (`<name>.w<k>`), for each input (`<name>.grad<i>`).
"""
import json
import math
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, __import__("os").path.dirname(__file__))
import st  # noqa: E402
from weighted import weighted_loss  # noqa: E402


def as_tensors(r):
    if isinstance(r, torch.Tensor):
        # sparse results as the dense tensors they stand for; complex ones as their (real, imaginary) pairs
        if r.is_sparse:
            return as_tensors(r.to_dense())
        return [torch.view_as_real(r.resolve_conj())] if r.is_complex() else [r]
    if isinstance(r, (tuple, list)):
        out = []
        for x in r:
            out.extend(as_tensors(x))
        return out
    if isinstance(r, bool):
        return [torch.tensor(r)]
    if isinstance(r, int):
        return [torch.tensor(r, dtype=torch.int64)]
    if isinstance(r, float):
        return [torch.tensor(r, dtype=torch.float64)]
    raise TypeError(f"unexpected result {type(r)}")


def compile_case(src):
    env = {"torch": torch, "F": F, "nn": nn, "math": math}
    if src.lstrip().startswith("def "):
        exec(src, env)
        return env["f"]
    return eval(src, env)


def main(cases_path, inputs_path, out_path):
    with open(cases_path) as f:
        cases = json.load(f)
    inputs = st.load(inputs_path)
    out = {}
    for case in cases:
        try:
            run_case(case, inputs, out)
        except Exception as e:
            raise RuntimeError(f"case {case['name']}: {e}") from e
    st.save(out_path, out)


def run_case(case, inputs, out):
    name = case["name"]
    xs = []
    for i, n in enumerate(case["inputs"]):
        t = inputs[n].clone()
        if t.is_floating_point() and i not in case["constants"]:
            t.requires_grad_(True)
        xs.append(t)
    loss = weighted_loss(name, as_tensors(compile_case(case["py"])(*xs)), out)
    if loss is not None:
        grads = torch.autograd.grad(loss, [x for x in xs if x.requires_grad], allow_unused=True)
        it = iter(grads)
        for i, x in enumerate(xs):
            if x.requires_grad:
                g = next(it)
                if g is not None:
                    out[f"{name}.grad{i}"] = g


if __name__ == "__main__":
    main(*sys.argv[1:4])
