"""Reference for test/distributions.test.ts: torch.distributions in PyTorch (float64).

Usage: distributions_ref.py INPUTS.safetensors SPECS.json OUT.safetensors

SPECS: {"cases": [{name, py, params, sample?, rsample?, methods, props}], "kl": [{name, p, q, params}]}
where `py` is a distribution expression over the case's parameters (named as in `params`, read
from INPUTS as `<name>.<param>`, leaves that require grad when floating point). For each case:
  - `<name>.sample`: d.sample(sample) right after torch.manual_seed(SEED)
  - `<name>.rsample` and `<name>.grad_rsample.<param>`: d.rsample(rsample) after manual_seed(SEED + 1),
    and the gradients of its weighted sum (weights `<name>.rsample.w`)
  - `<name>.<method>` for log_prob / cdf (on `<name>.values`), icdf (on `<name>.quantiles`),
    entropy; `<name>.grad_log_prob.<param>`: gradients of the weighted sum of log_prob
  - `<name>.<prop>` for properties (mean, variance, stddev, mode, covariance_matrix, ...)
KL cases: `<name>.kl` = kl_divergence(p, q) and `<name>.grad_kl.<param>` for its weighted sum.
"""
import json
import os
import sys

import torch
import torch.distributions as D

sys.path.insert(0, os.path.dirname(__file__))
import st  # noqa: E402

SEED = 11


def weights(y):
    return torch.linspace(-1.0, 1.5, y.numel(), dtype=torch.float64).reshape(y.shape)


def grads(name, what, y, params, out):
    w = weights(y)
    out[f"{name}.{what}.w"] = w
    leaves = {k: v for k, v in params.items() if v.requires_grad}
    if not leaves or not y.requires_grad:
        return
    gs = torch.autograd.grad((y * w).sum(), list(leaves.values()), allow_unused=True, retain_graph=True)
    for (k, _), g in zip(leaves.items(), gs):
        if g is not None:
            out[f"{name}.grad_{what}.{k}"] = g


def load_params(t, name, names):
    params = {}
    for k in names:
        v = t[f"{name}.{k}"].clone()
        if v.is_floating_point():
            v.requires_grad_(True)
        params[k] = v
    return params


def main(inputs_path, specs_path, out_path):
    t = st.load(inputs_path)
    specs = json.load(open(specs_path))
    out = {}
    for c in specs["cases"]:
        name = c["name"]
        params = load_params(t, name, c["params"])
        d = eval(c["py"], {"D": D, "torch": torch}, dict(params))
        if c.get("sample") is not None:
            torch.manual_seed(SEED)
            out[f"{name}.sample"] = d.sample(c["sample"])
        if c.get("rsample") is not None:
            torch.manual_seed(SEED + 1)
            x = d.rsample(c["rsample"])
            out[f"{name}.rsample"] = x.detach().clone()
            grads(name, "rsample", x, params, out)
        for m in c["methods"]:
            arg = t[f"{name}.quantiles"] if m == "icdf" else t.get(f"{name}.values")
            y = getattr(d, m)() if m == "entropy" else getattr(d, m)(arg)
            out[f"{name}.{m}"] = y.detach().clone()
            if m == "log_prob":
                grads(name, "log_prob", y, params, out)
        for p in c["props"]:
            out[f"{name}.{p}"] = getattr(d, p).detach().clone()
    for c in specs["kl"]:
        name = c["name"]
        params = load_params(t, name, c["params"])
        env = dict(params)
        p = eval(c["p"], {"D": D, "torch": torch}, env)
        q = eval(c["q"], {"D": D, "torch": torch}, env)
        kl = D.kl_divergence(p, q)
        out[f"{name}.kl"] = kl.detach().clone()
        grads(name, "kl", kl, params, out)
    st.save(out_path, out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
