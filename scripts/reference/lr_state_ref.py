"""Reference for test/lr_scheduler.test.ts: scheduler states crossing between PyTorch and tstorch
through torch.save files, in PyTorch's state_dict layout.

Usage: lr_state_ref.py save CASES.json DIR
       lr_state_ref.py resume CASES.json DIR OUT.json

The cases are lr_ref.py's. `save` runs each case's first half (max(1, steps // 2) steps) and
writes its scheduler's state_dict() with torch.save to DIR/<name>.torch.pt, for tstorch to load.
`resume` builds each case afresh, restores the param groups from DIR/<name>.groups.json (what
optimizer.load_state_dict would restore) and the scheduler from tstorch's DIR/<name>.ours.pt with
load_state_dict, runs the second half, and writes the groups' lrs (and momentum or beta1) after
each step to OUT: the rest of the schedule, to match PyTorch's uninterrupted one.
"""
import json
import os
import sys

import torch

from lr_ref import build


def make(case):
    groups = [{"params": [torch.zeros(1, requires_grad=True)], "lr": 0.1}, {"params": [torch.zeros(1, requires_grad=True)], "lr": 0.05}]
    opt = torch.optim.SGD(groups, lr=0.1, momentum=0.9) if case["optimizer"] == "SGD" else torch.optim.Adam(groups, lr=0.1)
    return opt, build(opt, case)


def step(case, sched, i):
    if case["scheduler"] == "ReduceLROnPlateau":
        sched.step(case["metrics"][i])
    else:
        sched.step()


def half(case):
    return max(1, case["steps"] // 2)


def without_functions(state):
    """The state as PyTorch 2 saves it: 1.x also kept functions (anneal_func, _scale_fn_ref), which no file holds."""
    out = {}
    for k, v in state.items():
        if k == "_schedulers":
            v = [without_functions(s) for s in v]
        if not callable(v) or isinstance(v, type):
            out[k] = v
    return out


def save(cases, out_dir):
    for c in cases:
        opt, sched = make(c)
        for i in range(half(c)):
            opt.step()
            step(c, sched, i)
        torch.save(without_functions(sched.state_dict()), os.path.join(out_dir, c["name"] + ".torch.pt"))


def resume(cases, in_dir, out_path):
    out = {}
    for c in cases:
        opt, sched = make(c)
        with open(os.path.join(in_dir, c["name"] + ".groups.json")) as f:
            for group, saved in zip(opt.param_groups, json.load(f)):
                group.update({k: tuple(v) if k == "betas" else v for k, v in saved.items()})
        state = torch.load(os.path.join(in_dir, c["name"] + ".ours.pt"))
        if torch.__version__ < "2" and c["scheduler"] == "CyclicLR":
            # PyTorch 2's CyclicLR.load_state_dict keeps its own scale function (the state's
            # _scale_fn_custom is None for a function); 1.13's would take the None.
            state.pop("_scale_fn_custom")
        sched.load_state_dict(state)

        def record():
            return [[g["lr"], g["betas"][0] if "betas" in g else g["momentum"]] for g in opt.param_groups]

        seq = []
        for i in range(half(c), c["steps"]):
            opt.step()
            step(c, sched, i)
            seq.append(record())
        out[c["name"]] = seq
    with open(out_path, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    with open(sys.argv[2]) as f:
        cases = json.load(f)
    if sys.argv[1] == "save":
        save(cases, sys.argv[3])
    else:
        resume(cases, sys.argv[3], sys.argv[4])
