"""Reference for tstorch's KTOTrainer (test/dpo.test.ts): TRL's KTOTrainer in plain PyTorch, over
the tiny GPT-2 fixture with PEFT LoRA (r 4, alpha 8), the reference being the model with its
adapters disabled, dropout off (disable_dropout). Each example is prompt + completion + eos,
tokenized as dpo_ref's rows (the prompt's last max_prompt_length tokens, the completion's first
max_completion_length, the joint row cut to max_length by truncation_mode; with keep_start, TRL
1.x's, the examples whose prompt fills max_length left out first). TRL's _get_kl_dataset: over the data in
its order, in chunks of per_device_train_batch_size (also for the eval set), each example's KL row
is its prompt with the completion of the example before it in the chunk (the first takes the
last). From TRL's kto_loss (average_log_prob=False: summed log-probabilities):
  kl = clamp(mean(policy_KL_logps - reference_KL_logps), min=0), no grad
  chosen_losses = 1 - sigmoid(beta * (chosen_logratios - kl)), weighted by desirable_weight
  rejected_losses = 1 - sigmoid(beta * (kl - rejected_logratios)), weighted by undesirable_weight
  loss = nanmean(cat(chosen_losses, rejected_losses))
and its logged metrics: rewards/chosen = sum(beta * chosen_logratios) / count/chosen, the same for
rejected, logps/*, rewards/margins, kl (a mean over the batches). The optimizer loop is HF's, the
steps' examples in order; evaluation over eval batches (loss: the batch losses weighted by size).

Usage: kto_ref.py SPEC.json INPUTS.safetensors OUT.safetensors
SPEC: {"fixtures", "examples": [{"prompt", "completion": token ids, "label": bool}], "eval_examples", "eos",
       "max_prompt_length", "max_completion_length", "max_length", "truncation_mode", "batch", "eval_batch", "steps", "warmup",
       "cases": [{"name", "beta", "desirable_weight", "undesirable_weight", "loss_type" (optional: kto, apo_zero_unpaired), "lr", "weight_decay"}]}
Written per case: <case>.losses (steps), <case>.metrics (steps, 6: rewards/chosen, rewards/rejected,
rewards/margins, logps/chosen, logps/rejected, kl; NaN where a step has no example of a side),
<case>.eval (7: loss and the 6 metrics over eval_examples after training), <case>.final.<name>.
"""
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
import dpo_ref  # noqa: E402
import train_ref  # noqa: E402


def rows(prompts, completions, eos, spec):
    """prompt + completion rows as dpo_ref's (each completion eos-ended), right-padded, and the completion mask."""
    sides = [dpo_ref.tokenize_side(p, c, eos, spec["max_prompt_length"], spec["max_completion_length"]) for p, c in zip(prompts, completions)]
    return dpo_ref.pad_rows(sides, eos, spec)


def kl_completions(examples, chunk):
    """TRL's _get_kl_dataset, map(batched=True, batch_size=chunk): completions rotated by one per chunk."""
    out = []
    for i in range(0, len(examples), chunk):
        c = [e["completion"] for e in examples[i:i + chunk]]
        out += [c[-1]] + c[:-1]
    return out


def kto_batch(model, examples, kl_comps, eos, spec, case):
    prompts = [e["prompt"] for e in examples]
    batch = rows(prompts, [e["completion"] for e in examples], eos, spec)
    kl_rows = rows(prompts, kl_comps, eos, spec)
    with torch.no_grad():
        policy_kl = dpo_ref.sequence_logps(model, *kl_rows, "sigmoid")
        dpo_ref.set_adapters(model, False)
        reference = dpo_ref.sequence_logps(model, *batch, "sigmoid")
        reference_kl = dpo_ref.sequence_logps(model, *kl_rows, "sigmoid")
        dpo_ref.set_adapters(model, True)
    policy = dpo_ref.sequence_logps(model, *batch, "sigmoid")
    label = torch.tensor([e["label"] for e in examples])
    beta = case["beta"]
    pc, pr, rc, rr = policy[label], policy[~label], reference[label], reference[~label]
    if case.get("loss_type", "kto") == "apo_zero_unpaired":
        # TRL's unpaired APO-zero: calculate_KL False, kl zeros(1)
        kl = torch.zeros(1)
        chosen_losses = 1 - torch.sigmoid(beta * (pc - rc))
        rejected_losses = torch.sigmoid(beta * (pr - rr))
    else:
        kl = (policy_kl - reference_kl).mean().clamp(min=0)
        chosen_losses = 1 - torch.sigmoid(beta * ((pc - rc) - kl))
        rejected_losses = 1 - torch.sigmoid(beta * (kl - (pr - rr)))
    losses = torch.cat((case["desirable_weight"] * chosen_losses, case["undesirable_weight"] * rejected_losses), 0)
    sums = [(beta * (pc - rc)).detach().sum().item(), (beta * (pr - rr)).detach().sum().item(), pc.detach().sum().item(), pr.detach().sum().item(),
            len(pc), len(pr), kl.item()]
    return losses.nanmean(), sums


def metrics(sums_list):
    """TRL's KTOTrainer.log: per side sum / count, the margin, kl averaged over the batches."""
    rc, rr, lc, lr, nc, nr = (sum(s[k] for s in sums_list) for k in range(6))
    kl = sum(s[6] for s in sums_list) / len(sums_list)
    nan = math.nan
    chosen, rejected = (rc / nc if nc else nan), (rr / nr if nr else nan)
    return [chosen, rejected, chosen - rejected, lc / nc if nc else nan, lr / nr if nr else nan, kl]


def run(spec, case, inputs):
    model = train_ref.tiny_peft_lora(spec["fixtures"], inputs)  # (eval mode: TRL's disable_dropout)
    steps, B = spec["steps"], spec["batch"]
    opt, sched, groups, trainable = train_ref.hf_optimizer(model, case["lr"], case["weight_decay"], steps, spec["warmup"])
    eos, examples = spec["eos"], dpo_ref.kept(spec["examples"], spec)
    kl = kl_completions(examples, B)
    losses, step_metrics = [], []
    for step in range(steps):
        sl = slice(step * B, (step + 1) * B)
        loss, sums = kto_batch(model, examples[sl], kl[sl], eos, spec, case)
        losses.append(train_ref.hf_step(loss, trainable, opt, sched))
        step_metrics.append(metrics([sums]))
    ev = dpo_ref.kept(spec["eval_examples"], spec)
    eval_kl, EB = kl_completions(ev, B), spec["eval_batch"]
    total, all_sums = 0.0, []
    with torch.no_grad():
        for i in range(0, len(ev), EB):
            loss, sums = kto_batch(model, ev[i:i + EB], eval_kl[i:i + EB], eos, spec, case)
            total += loss.item() * len(ev[i:i + EB])
            all_sums.append(sums)
    name = case["name"]
    return {f"{name}.losses": torch.tensor(losses, dtype=torch.float64), f"{name}.metrics": torch.tensor(step_metrics, dtype=torch.float64),
            f"{name}.eval": torch.tensor([total / len(ev)] + metrics(all_sums), dtype=torch.float64), **train_ref.final_tensors(name, groups)}


if __name__ == "__main__":
    torch.set_num_threads(1)
    train_ref.run_cases(run, *sys.argv[1:4])
