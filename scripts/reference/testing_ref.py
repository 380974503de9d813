"""Reference for test/testing.test.ts: what torch.testing.assert_close says, case by case.

Usage: testing_ref.py CASES.json INPUTS.safetensors OUT.json

Each case has `actual` and `expected` specs: {"t": name, "op"?: "t" | "complex"} a tensor of
INPUTS (transposed, or its (real, imaginary) pairs seen as complex), {"f": x} a float, {"b": x} a
bool, a list of specs, or {"dict": {key: spec}}; and `kwargs` for assert_close (msg given as a
string). OUT maps each case to null (no error) or {type, message}.
"""
import json
import os
import sys

import torch
from torch.testing import assert_close

sys.path.insert(0, os.path.dirname(__file__))
import st  # noqa: E402


def build(spec, t):
    if isinstance(spec, list):
        return [build(s, t) for s in spec]
    if "t" in spec:
        x = t[spec["t"]]
        op = spec.get("op")
        return x.t() if op == "t" else torch.view_as_complex(x) if op == "complex" else x
    if "f" in spec:
        return float(spec["f"]) if spec["f"] is not None else float("nan")
    if "b" in spec:
        return bool(spec["b"])
    return {k: build(v, t) for k, v in spec["dict"].items()}


def main(cases_path, inputs_path, out_path):
    cases = json.load(open(cases_path))
    t = st.load(inputs_path)
    out = {}
    for c in cases:
        try:
            assert_close(build(c["actual"], t), build(c["expected"], t), **c.get("kwargs", {}))
            out[c["name"]] = None
        except Exception as e:  # the type and words are what is compared
            out[c["name"]] = {"type": type(e).__name__, "message": str(e)}
    json.dump(out, open(out_path, "w"))


if __name__ == "__main__":
    main(*sys.argv[1:4])
