"""Reference for test/init.test.ts: torch.nn.init and the random in-place ops, in PyTorch.

Usage: init_ref.py CASES.json OUT.safetensors

Each case: torch.manual_seed(seed), torch.empty(shape, dtype), then `py` (a lambda of the
tensor, run under no_grad); OUT holds the resulting tensor by case name.
"""
import json
import math
import os
import sys

import torch
import torch.nn.init as init

sys.path.insert(0, os.path.dirname(__file__))
import st  # noqa: E402


def main(cases_path, out_path):
    with open(cases_path) as f:
        cases = json.load(f)
    out = {}
    for c in cases:
        torch.manual_seed(c["seed"])
        t = torch.empty(c["shape"], dtype=getattr(torch, c["dtype"]))
        with torch.no_grad():
            eval(c["py"], {"torch": torch, "init": init, "math": math})(t)
        out[c["name"]] = t
    st.save(out_path, out)


if __name__ == "__main__":
    main(*sys.argv[1:3])
