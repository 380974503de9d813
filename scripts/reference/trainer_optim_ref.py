"""Reference for the Trainer's `optim` choices (test/trainer.test.ts): what Hugging Face's
Trainer.create_optimizer builds for optim = adamw_torch, sgd, adagrad, rmsprop and adafactor,
driven by its loop (clip_grad_norm_, optimizer step, linear schedule with warmup), over the
tiny GPT-2 fixture with PEFT LoRA (r 4, alpha 8, no dropout).

Usage: trainer_optim_ref.py CASES.json INPUTS.safetensors OUT.safetensors

CASES: {"fixtures": the test fixtures folder, "cases": [{name, optim, optim_args, lr, weight_decay, warmup, max_grad_norm}]};
a case may add "bias" (PEFT's bias: "all" trains every bias), "lora_wte" (LoRA on the token
embedding too) and "loraplus_lr_ratio" / "loraplus_lr_embedding" (LoRA+'s groups, below);
INPUTS: `batches` [steps, batch, T] and `init.<name>` (the LoRA weights to start from).
Written: `<case>.losses` and `<case>.final.<name>` for every trained tensor.
"""
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(__file__))
import lora_ref  # noqa: E402
import optim_ref  # noqa: E402
import train_ref  # noqa: E402


def make_optimizer(optim, groups, lr, optim_args):
    """HF's get_optimizer_cls_and_kwargs: lr for all; betas/eps for AdamW; Adafactor with an external lr."""
    if optim == "adamw_torch":
        return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.999), eps=1e-8)
    if optim == "adafactor":
        return optim_ref.Adafactor(groups, lr=lr, scale_parameter=False, relative_step=False, **optim_args)
    cls = {"sgd": torch.optim.SGD, "adagrad": torch.optim.Adagrad, "rmsprop": torch.optim.RMSprop}[optim]
    return cls(groups, lr=lr, **optim_args)


def loraplus_groups(model, lr, ratio, lr_embedding, weight_decay):
    """PEFT's create_loraplus_optimizer (peft/optimizers/loraplus.py) as the Trainer uses it: groupA
    (lr), embedding (lr_embedding), groupB (lr x ratio: lora_B and 1-D tensors that decay),
    groupB_no_decay (the same lr, no decay: biases, LayerNorm weights); decay as HF's
    get_parameter_names (not under a LayerNorm, no "bias" in the name). LoRA'd embeddings go to the
    embedding group, as PEFT's docstring means (its code tests the parameter, not its module)."""
    under_ln = {id(p) for m in model.modules() if isinstance(m, nn.LayerNorm) for p in m.parameters()}
    lora_emb = {id(p) for m in model.modules() if isinstance(m, lora_ref.PeftLoraEmbedding) for p in (m.lora_embedding_A, m.lora_embedding_B)}
    groups = {"groupA": [], "embedding": [], "groupB": [], "groupB_no_decay": []}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if id(p) in lora_emb:
            groups["embedding"].append((name, p))
        elif "lora_B" in name or p.ndim == 1:
            decays = id(p) not in under_ln and "bias" not in name
            groups["groupB" if decays else "groupB_no_decay"].append((name, p))
        else:
            groups["groupA"].append((name, p))
    settings = {"groupA": (lr, weight_decay), "embedding": (lr_embedding, weight_decay),
                "groupB": (lr * ratio, weight_decay), "groupB_no_decay": (lr * ratio, 0.0)}
    return [{"params": [p for _, p in groups[k]], "names": [n for n, _ in groups[k]], "lr": settings[k][0], "weight_decay": settings[k][1]}
            for k in groups]


def run(spec, case, inputs):
    model = train_ref.tiny_peft_lora(spec["fixtures"], inputs, case.get("bias", "none"), case.get("lora_wte", False))
    if "loraplus_lr_ratio" in case:
        groups = loraplus_groups(model, case["lr"], case["loraplus_lr_ratio"], case.get("loraplus_lr_embedding", 1e-6), case["weight_decay"])
    else:
        groups = lora_ref.hf_decay_groups(model, case["weight_decay"])
    opt = make_optimizer(case["optim"], [{k: g[k] for k in ("params", "weight_decay", "lr") if k in g} for g in groups],
                         case["lr"], case.get("optim_args", {}))
    batches = inputs["batches"]
    steps = batches.shape[0]
    sched = torch.optim.lr_scheduler.LambdaLR(opt, train_ref.linear_schedule(steps, case["warmup"]))
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
    return {f"{case['name']}.losses": torch.tensor(losses, dtype=torch.float64), **train_ref.final_tensors(case["name"], groups)}


if __name__ == "__main__":
    train_ref.run_cases(run, *sys.argv[1:4])
