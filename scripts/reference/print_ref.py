"""Reference for test/print.test.ts: repr() of tensors, as PyTorch prints them.

Usage: print_ref.py CASES.json INPUTS.safetensors OUT.json

Each case names its tensor in INPUTS, whether it requires grad, an op applied first ('add':
t + t, 'sum', 'clone'; so the repr shows a grad_fn; 'complex', 'complex_conj': the pairs of the
last dim as complex numbers, conjugated) and print options (torch.set_printoptions
keywords). OUT maps each case to repr(result).
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
import st  # noqa: E402

OPS = {"add": lambda t: t + t, "sum": lambda t: t.sum(), "clone": lambda t: t.clone(), None: lambda t: t,
       # complex tensors cross as their (real, imaginary) pairs
       "complex": torch.view_as_complex, "complex_conj": lambda t: torch.view_as_complex(t).conj(),
       "to_sparse": lambda t: t.to_sparse(), "to_sparse_hybrid": lambda t: t.to_sparse(1)}
DEFAULTS = dict(precision=4, threshold=1000, edgeitems=3, linewidth=80, sci_mode=None)


def main(cases_path, inputs_path, out_path):
    with open(cases_path) as f:
        cases = json.load(f)
    inputs = st.load(inputs_path)
    out = {}
    for c in cases:
        t = inputs[c["name"]]
        if c.get("requires_grad"):
            t.requires_grad_(True)
        torch.set_printoptions(**{**DEFAULTS, **c.get("printopts", {})})
        out[c["name"]] = repr(OPS[c.get("op")](t))
    with open(out_path, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main(*sys.argv[1:4])
