"""Hugging Face's learning-rate schedules (transformers.optimization.get_scheduler) in plain
PyTorch: each schedule's lr_lambda, written out as transformers defines it, run through
torch.optim.lr_scheduler.LambdaLR. For test/optim.test.ts.

Usage: hf_schedules_ref.py  (reads a JSON list of cases on stdin: {kind, warmup, total, lr,
kwargs, steps}; prints each case's learning rates after construction and after every step)
"""
import json
import math
import sys
from functools import partial

import torch
from torch.optim.lr_scheduler import LambdaLR


def warmup(step, n):
    return float(step) / float(max(1, n))


def linear(step, *, num_warmup_steps, num_training_steps):
    if step < num_warmup_steps:
        return warmup(step, num_warmup_steps)
    return max(0.0, float(num_training_steps - step) / float(max(1, num_training_steps - num_warmup_steps)))


def cosine(step, *, num_warmup_steps, num_training_steps, num_cycles=0.5, min_lr_rate=0.0):
    if step < num_warmup_steps:
        return warmup(step, num_warmup_steps)
    progress = float(step - num_warmup_steps) / float(max(1, num_training_steps - num_warmup_steps))
    factor = 0.5 * (1.0 + math.cos(math.pi * float(num_cycles) * 2.0 * progress))
    factor = factor * (1 - min_lr_rate) + min_lr_rate
    return max(0, factor)


def cosine_with_restarts(step, *, num_warmup_steps, num_training_steps, num_cycles=1):
    if step < num_warmup_steps:
        return warmup(step, num_warmup_steps)
    progress = float(step - num_warmup_steps) / float(max(1, num_training_steps - num_warmup_steps))
    if progress >= 1.0:
        return 0.0
    return max(0.0, 0.5 * (1.0 + math.cos(math.pi * ((float(num_cycles) * progress) % 1.0))))


def polynomial(step, *, num_warmup_steps, num_training_steps, lr_end=1e-7, power=1.0, lr_init):
    if step < num_warmup_steps:
        return warmup(step, num_warmup_steps)
    if step > num_training_steps:
        return lr_end / lr_init
    lr_range = lr_init - lr_end
    decay_steps = num_training_steps - num_warmup_steps
    pct_remaining = 1 - (step - num_warmup_steps) / decay_steps
    return (lr_range * pct_remaining**power + lr_end) / lr_init


def inverse_sqrt(step, *, num_warmup_steps, timescale=None):
    if timescale is None:
        timescale = num_warmup_steps or 10_000
    if step < num_warmup_steps:
        return warmup(step, num_warmup_steps)
    shift = timescale - num_warmup_steps
    return 1.0 / math.sqrt((step + shift) / timescale)


def constant(step):
    return 1.0


def constant_with_warmup(step, *, num_warmup_steps):
    return warmup(step, num_warmup_steps) if step < num_warmup_steps else 1.0


def wsd(step, *, num_warmup_steps, num_stable_steps, num_decay_steps, warmup_type, decay_type, min_lr_ratio, num_cycles):
    if step < num_warmup_steps:
        progress = float(step) / float(max(1, num_warmup_steps))
        if warmup_type == "linear":
            factor = progress
        elif warmup_type == "cosine":
            factor = 0.5 * (1.0 - math.cos(math.pi * progress))
        elif warmup_type == "1-sqrt":
            factor = 1.0 - math.sqrt(1.0 - progress)
        factor = factor * (1.0 - min_lr_ratio) + min_lr_ratio
        return max(0.0, factor)
    if step < num_warmup_steps + num_stable_steps:
        return 1.0
    if step < num_warmup_steps + num_stable_steps + num_decay_steps:
        progress = float(step - num_warmup_steps - num_stable_steps) / float(max(1, num_decay_steps))
        if decay_type == "linear":
            factor = 1.0 - progress
        elif decay_type == "cosine":
            factor = 0.5 * (1.0 + math.cos(math.pi * float(num_cycles) * 2.0 * progress))
        elif decay_type == "1-sqrt":
            factor = 1.0 - math.sqrt(progress)
        factor = factor * (1.0 - min_lr_ratio) + min_lr_ratio
        return max(0.0, factor)
    return min_lr_ratio


def get_wsd(num_warmup_steps, num_decay_steps, num_training_steps=None, num_stable_steps=None, warmup_type="linear",
            decay_type="cosine", min_lr_ratio=0, num_cycles=0.5):
    """get_wsd_schedule's defaults: the stable phase is what warmup and decay leave of the training steps."""
    if num_stable_steps is None:
        num_stable_steps = num_training_steps - num_warmup_steps - num_decay_steps
    return partial(wsd, num_warmup_steps=num_warmup_steps, num_stable_steps=num_stable_steps, num_decay_steps=num_decay_steps,
                   warmup_type=warmup_type, decay_type=decay_type, min_lr_ratio=min_lr_ratio, num_cycles=num_cycles)


def cosine_warmup_with_min_lr(current_step, *, num_warmup_steps, num_training_steps, num_cycles=0.5, min_lr_rate=0.0, warmup_lr_rate=None):
    current_step = float(current_step)
    num_warmup_steps = float(num_warmup_steps)
    num_training_steps = float(num_training_steps)
    if current_step < num_warmup_steps:
        if warmup_lr_rate is None:
            return (current_step + 1.0) / max(1.0, num_warmup_steps)
        warmup_lr_rate = float(warmup_lr_rate)
        return warmup_lr_rate + (1.0 - warmup_lr_rate) * (current_step) / (max(1, num_warmup_steps - 1))
    progress = (current_step - num_warmup_steps + 1.0) / (max(1.0, num_training_steps - num_warmup_steps))
    factor = 0.5 * (1.0 + math.cos(math.pi * num_cycles * 2.0 * progress))
    factor = factor * (1 - min_lr_rate) + min_lr_rate
    return max(0, factor)


def lam(kind, warmup_steps, total, lr, kw):
    if kind == "cosine_warmup_with_min_lr":
        kw = dict(kw)
        if "min_lr" in kw:
            kw["min_lr_rate"] = kw.pop("min_lr") / lr
        return partial(cosine_warmup_with_min_lr, num_warmup_steps=warmup_steps, num_training_steps=total, **kw)
    if kind == "warmup_stable_decay":
        return get_wsd(warmup_steps, num_training_steps=total, **kw)
    if kind == "constant":
        return constant
    if kind == "constant_with_warmup":
        return partial(constant_with_warmup, num_warmup_steps=warmup_steps)
    if kind == "inverse_sqrt":
        return partial(inverse_sqrt, num_warmup_steps=warmup_steps, **kw)
    if kind == "polynomial":
        return partial(polynomial, num_warmup_steps=warmup_steps, num_training_steps=total, lr_init=lr, **kw)
    if kind == "cosine_with_min_lr":
        kw = dict(kw)
        if "min_lr" in kw:
            kw["min_lr_rate"] = kw.pop("min_lr") / lr
        return partial(cosine, num_warmup_steps=warmup_steps, num_training_steps=total, **kw)
    fn = {"linear": linear, "cosine": cosine, "cosine_with_restarts": cosine_with_restarts}[kind]
    return partial(fn, num_warmup_steps=warmup_steps, num_training_steps=total, **kw)


def main():
    out = []
    for c in json.load(sys.stdin):
        opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=c["lr"])
        sched = LambdaLR(opt, lam(c["kind"], c["warmup"], c["total"], c["lr"], c["kwargs"]))
        lrs = [opt.param_groups[0]["lr"]]
        for _ in range(c["steps"]):
            opt.step()
            sched.step()
            lrs.append(opt.param_groups[0]["lr"])
        out.append(lrs)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
