"""Fails (exit 1) when two fixture folders differ beyond float rounding: compare_fixtures.py A B."""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st  # noqa: E402

TOL = 1e-5  # relative to each tensor's largest element; fixtures are float32 or float64


def close(a, b):
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if not a.is_floating_point():
        return torch.equal(a, b)
    scale = max(b.abs().max().item(), 1e-30) if b.numel() else 1.0
    return a.numel() == 0 or ((a - b).abs().max().item() / scale) <= TOL


def json_close(a, b):
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(json_close(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(json_close(x, y) for x, y in zip(a, b))
    if isinstance(a, float) or isinstance(b, float):
        return abs(a - b) <= TOL * max(1.0, abs(b))
    return a == b


def main(committed, fresh):
    bad = []
    for root, _, files in os.walk(fresh):
        for f in files:
            rel = os.path.relpath(os.path.join(root, f), fresh)
            a, b = os.path.join(committed, rel), os.path.join(fresh, rel)
            if not os.path.exists(a):
                bad.append(f"{rel}: not committed")
            elif f.endswith(".json"):
                if not json_close(json.load(open(a)), json.load(open(b))):
                    bad.append(f"{rel}: values differ")
            elif f.endswith(".safetensors"):
                ta, tb = st.load(a), st.load(b)
                if ta.keys() != tb.keys():
                    bad.append(f"{rel}: different tensor names")
                else:
                    bad += [f"{rel}: {k} differs" for k in ta if not close(ta[k], tb[k])]
    if bad:
        print("fixtures drifted from the Python reference (run: npm run fixtures):\n  " + "\n  ".join(bad))
        sys.exit(1)
    print("fixtures match the Python reference")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
