"""10 training steps of the tiny GPT-2 fixture, three ways (seed LoRA, peft LoRA, full), with
torch.optim.AdamW, clip_grad_norm_(1.0) and HF's linear schedule with warmup. Writes the
initial LoRA weights, the batches, the losses / grad norms / lrs and every trainable tensor
after the last step, so that the TypeScript run can be compared step by step."""
import json
import os

import torch

import gpt2_ref
import lora_ref
import st

STEPS, WARMUP, LR, WD, B, T = 10, 2, 2e-3, 0.01, 2, 12


def load_tiny(fixtures):
    d = os.path.join(fixtures, "gpt2", "tiny")
    cfg = json.load(open(os.path.join(d, "config.json")))
    model = gpt2_ref.GPT2LMHeadModel(cfg)
    sd = st.load(os.path.join(d, "model.safetensors"))
    sd["lm_head.weight"] = sd["transformer.wte.weight"]
    model.load_state_dict(sd)
    return model, cfg


def tiny_peft_lora(fixtures, inputs, bias="none", lora_wte=False):
    """The tiny fixture with PEFT LoRA (r 4, alpha 8) on c_attn, c_proj and c_fc (and the token
    embedding with lora_wte), frozen as PEFT (bias: "none" or "all"), every trained tensor from
    inputs' init.<name>, in eval mode (the tstorch sides of these comparisons run without dropout)."""
    model, _ = load_tiny(fixtures)
    lora_ref.wrap(model, lambda m: lora_ref.PeftLoraConv1D(m, r=4, alpha=8))
    if lora_wte:
        model.transformer.wte = lora_ref.PeftLoraEmbedding(model.transformer.wte, 4, 8)
    lora_ref.freeze_for_peft(model, bias)
    params = dict(model.named_parameters())
    with torch.no_grad():
        for k, t in inputs.items():
            if k.startswith("init."):
                params[k[5:]].copy_(t)
    return model.eval()


def linear_schedule(steps, warmup):
    """HF's get_linear_schedule_with_warmup as a LambdaLR factor."""
    def factor(step):
        if step < warmup:
            return step / max(1, warmup)
        return max(0.0, (steps - step) / max(1, steps - warmup))
    return factor


def hf_optimizer(model, lr, weight_decay, steps, warmup):
    """HF Trainer's optimizer and schedule: AdamW over the decay groups, linear with warmup.
    Returns (optimizer, scheduler, groups, the trained parameters)."""
    groups = lora_ref.hf_decay_groups(model, weight_decay)
    opt = torch.optim.AdamW([{"params": g["params"], "weight_decay": g["weight_decay"]} for g in groups], lr=lr, betas=(0.9, 0.999), eps=1e-8)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, linear_schedule(steps, warmup))
    return opt, sched, groups, [p for g in groups for p in g["params"]]


def hf_step(loss, trainable, opt, sched):
    """One HF Trainer step from a loss: backward, clip_grad_norm_(1.0), optimizer and schedule
    steps, grads cleared. Returns the loss's value."""
    loss.backward()
    torch.nn.utils.clip_grad_norm_(trainable, 1.0)
    opt.step()
    sched.step()
    opt.zero_grad(set_to_none=True)
    return loss.item()


def final_tensors(name, groups):
    """Every trained tensor of the param groups, as <name>.final.<param name>."""
    return {f"{name}.final.{n}": p.detach().clone() for g in groups for n, p in zip(g["names"], g["params"])}


def run_cases(run, spec_path, inputs_path, out_path):
    """run(spec, case, inputs) for each of the spec's cases, their outputs into one safetensors file."""
    with open(spec_path) as f:
        spec = json.load(f)
    inputs = st.load(inputs_path)
    out = {}
    for case in spec["cases"]:
        out.update(run(spec, case, inputs))
    st.save(out_path, out)


def linear_lambda(step):
    if step < WARMUP:
        return step / max(1, WARMUP)
    return max(0.0, (STEPS - step) / max(1, STEPS - WARMUP))


def run(fixtures, out_dir, mode, seed):
    torch.manual_seed(seed)
    model, cfg = load_tiny(fixtures)
    if mode == "seed":
        lora_ref.wrap(model, lambda m: lora_ref.LoRAConv1DWrapper(m, rank=2))
    elif mode == "peft":
        lora_ref.wrap(model, lambda m: lora_ref.PeftLoraConv1D(m, r=4, alpha=8))
        lora_ref.freeze_for_peft(model)
        # B starts at zero in LoRA; start it random here so step 1 already exercises B's path.
        with torch.no_grad():
            for m in model.modules():
                if isinstance(m, lora_ref.PeftLoraConv1D):
                    m.lora_B.weight.normal_(0, 0.02)
    model.eval()  # no dropout: the comparison is of the math, not of the RNG stream
    init = {n: p.detach().clone() for n, p in model.named_parameters() if ("W_" in n or "lora_" in n)}
    groups = lora_ref.hf_decay_groups(model, WD)
    opt = torch.optim.AdamW([{k: g[k] for k in ("params", "weight_decay")} for g in groups], lr=LR, betas=(0.9, 0.999), eps=1e-8)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, linear_lambda)
    gen = torch.Generator().manual_seed(seed + 1)
    batches = torch.randint(0, cfg["vocab_size"], (STEPS, B, T), generator=gen)
    losses, norms, lrs = [], [], []
    params = [p for g in groups for p in g["params"]]
    for step in range(STEPS):
        ids = batches[step]
        _, loss, _ = model(ids, labels=ids)
        loss.backward()
        norms.append(torch.nn.utils.clip_grad_norm_(params, 1.0).item())
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        losses.append(loss.item())
        lrs.append(sched.get_last_lr()[0])
    final = {n: p.detach().clone() for g in groups for n, p in zip(g["names"], g["params"])}
    trainable = sorted(n for n, p in model.named_parameters() if p.requires_grad)
    tensors = {"batches": batches}
    tensors.update({"init." + n: t for n, t in init.items()})
    tensors.update({"final." + n: t for n, t in final.items()})
    st.save(os.path.join(out_dir, f"train_{mode}.safetensors"), tensors)
    with open(os.path.join(out_dir, f"train_{mode}.json"), "w") as f:
        json.dump({"losses": losses, "grad_norms": norms, "lrs": lrs, "trainable": trainable,
                   "decay": groups[0]["names"], "no_decay": groups[1]["names"],
                   "steps": STEPS, "warmup": WARMUP, "lr": LR, "weight_decay": WD}, f)


def main(fixtures, out_dir):
    for i, mode in enumerate(("seed", "peft", "full")):
        run(fixtures, out_dir, mode, seed=500 + i)
