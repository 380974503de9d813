"""Reference for the Trainer's `optim` choices (test/trainer.test.ts): what Hugging Face's
Trainer.create_optimizer builds for optim = adamw_torch, sgd, adagrad, rmsprop and adafactor,
driven by its loop (clip_grad_norm_, optimizer step, linear schedule with warmup), over the
tiny GPT-2 fixture with PEFT LoRA (r 4, alpha 8, no dropout).

Usage: trainer_optim_ref.py CASES.json INPUTS.safetensors OUT.safetensors

CASES: {"fixtures": the test fixtures folder, "cases": [{name, optim, optim_args, lr, weight_decay, warmup, max_grad_norm}]};
INPUTS: `batches` [steps, batch, T] and `init.<name>` (the LoRA weights to start from).
Written: `<case>.losses` and `<case>.final.<name>` for every trained tensor.
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
import lora_ref  # noqa: E402
import optim_ref  # noqa: E402
import st  # noqa: E402
import train_ref  # noqa: E402


def make_optimizer(optim, groups, lr, optim_args):
    """HF's get_optimizer_cls_and_kwargs: lr for all; betas/eps for AdamW; Adafactor with an external lr."""
    if optim == "adamw_torch":
        return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.999), eps=1e-8)
    if optim == "adafactor":
        return optim_ref.Adafactor(groups, lr=lr, scale_parameter=False, relative_step=False, **optim_args)
    cls = {"sgd": torch.optim.SGD, "adagrad": torch.optim.Adagrad, "rmsprop": torch.optim.RMSprop}[optim]
    return cls(groups, lr=lr, **optim_args)


def run(fixtures, case, inputs):
    model, _ = train_ref.load_tiny(fixtures)
    lora_ref.wrap(model, lambda m: lora_ref.PeftLoraConv1D(m, r=4, alpha=8))
    lora_ref.freeze_for_peft(model)
    params = dict(model.named_parameters())
    with torch.no_grad():
        for k, t in inputs.items():
            if k.startswith("init."):
                params[k[5:]].copy_(t)
    model.eval()  # no dropout anywhere: the Trainer side runs with dropout 0
    groups = lora_ref.hf_decay_groups(model, case["weight_decay"])
    opt = make_optimizer(case["optim"], [{"params": g["params"], "weight_decay": g["weight_decay"]} for g in groups],
                         case["lr"], case.get("optim_args", {}))
    batches = inputs["batches"]
    steps, warmup = batches.shape[0], case["warmup"]

    def linear(step):
        if step < warmup:
            return step / max(1, warmup)
        return max(0.0, (steps - step) / max(1, steps - warmup))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, linear)
    trainable = [p for g in groups for p in g["params"]]
    losses = []
    for step in range(steps):
        ids = batches[step]
        _, loss, _ = model(ids, labels=ids)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, case["max_grad_norm"])
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        losses.append(loss.item())
    out = {f"{case['name']}.losses": torch.tensor(losses, dtype=torch.float64)}
    for g in groups:
        for n, p in zip(g["names"], g["params"]):
            out[f"{case['name']}.final.{n}"] = p.detach().clone()
    return out


def main(cases_path, inputs_path, out_path):
    with open(cases_path) as f:
        spec = json.load(f)
    inputs = st.load(inputs_path)
    out = {}
    for case in spec["cases"]:
        out.update(run(spec["fixtures"], case, inputs))
    st.save(out_path, out)


if __name__ == "__main__":
    main(*sys.argv[1:4])
