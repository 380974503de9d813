"""Reference for test/lr_scheduler.test.ts: torch.optim.lr_scheduler's learning rates (and
OneCycleLR's momentum / beta1) step by step, in PyTorch.

Usage: lr_ref.py CASES.json OUT.json

Each case: an optimizer (SGD with momentum 0.9, or Adam) over two param groups (lr 0.1 and 0.05),
a scheduler with keyword arguments (`lr_lambda` / `scale_fn` given as Python source; SequentialLR's
and ChainedScheduler's `schedulers` as nested specs), and a number of steps;
ReduceLROnPlateau is stepped with the case's metrics. OUT maps each case to the groups' lrs
(and momentum or beta1) after construction and after every step.
"""
import json
import sys

import torch
from torch.optim import lr_scheduler


def build(opt, spec):
    """A scheduler from its spec; SequentialLR's and ChainedScheduler's `schedulers` are specs too."""
    kwargs = dict(spec["kwargs"])
    for k in ("lr_lambda", "scale_fn"):
        if k in kwargs:
            kwargs[k] = eval(kwargs[k])
    if "schedulers" in kwargs:
        kwargs["schedulers"] = [build(opt, s) for s in kwargs["schedulers"]]
    if spec["scheduler"] == "ChainedScheduler":
        return lr_scheduler.ChainedScheduler(**kwargs)
    return getattr(lr_scheduler, spec["scheduler"])(opt, **kwargs)


def main(cases_path, out_path):
    with open(cases_path) as f:
        cases = json.load(f)
    out = {}
    for c in cases:
        groups = [{"params": [torch.zeros(1, requires_grad=True)], "lr": 0.1}, {"params": [torch.zeros(1, requires_grad=True)], "lr": 0.05}]
        opt = torch.optim.SGD(groups, lr=0.1, momentum=0.9) if c["optimizer"] == "SGD" else torch.optim.Adam(groups, lr=0.1)
        sched = build(opt, c)

        def record():
            return [[g["lr"], g["betas"][0] if "betas" in g else g["momentum"]] for g in opt.param_groups]

        seq = [record()]
        for i in range(c["steps"]):
            opt.step()
            if c["scheduler"] == "ReduceLROnPlateau":
                sched.step(c["metrics"][i])
            else:
                sched.step()
            seq.append(record())
        out[c["name"]] = seq
    with open(out_path, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main(*sys.argv[1:3])
