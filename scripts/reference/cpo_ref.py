"""Reference for tstorch's CPOTrainer (test/dpo.test.ts): TRL's CPOTrainer in plain PyTorch, over
the tiny GPT-2 fixture with PEFT LoRA (r 4, alpha 8), dropout off (disable_dropout). Rows as
orpo_ref builds them (TRL's CPO and ORPO share tokenize_row: the tokenizer's bos before each prompt,
eos after each completion; the pairs here need no truncation). From TRL's concatenated_forward,
get_batch_logps and cpo_loss:
  logps: each completion's summed token log-probability (ipo, simpo: average_log_prob, the mean)
  nll: CrossEntropyLoss over the chosen rows, logits[:B, :-1] against labels[:B, 1:], the labels
       the completion tokens (-100 elsewhere); 0 when cpo_alpha is 0
  logits = lc - lr (simpo: minus simpo_gamma / beta), and the loss: sigmoid / simpo with label
  smoothing, hinge relu(1 - beta * logits), ipo (logits - 1/(2 beta))^2; loss = mean + cpo_alpha * nll.
The optimizer loop is HF's (train_ref.hf_optimizer / hf_step), the step's pairs in order.

Usage: cpo_ref.py SPEC.json INPUTS.safetensors OUT.safetensors
SPEC: as orpo_ref's, "cases": [{"name", "beta", "loss_type", "cpo_alpha", "simpo_gamma", "label_smoothing", "lr", "weight_decay"}]
Written per case: <case>.losses, <case>.metrics (steps, 9: rewards/chosen, rewards/rejected,
rewards/accuracies, rewards/margins, logps/chosen, logps/rejected, nll_loss, logits/chosen, logits/rejected), <case>.eval (loss,
reward accuracy), <case>.final.<name>.
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
import dpo_ref  # noqa: E402
import orpo_ref  # noqa: E402
import train_ref  # noqa: E402


def cpo_loss(model, pairs, eos, spec, case):
    beta, loss_type, alpha, eps = case["beta"], case["loss_type"], case["cpo_alpha"], case["label_smoothing"]
    input_ids, attn, loss_mask = dpo_ref.concatenated(pairs, eos, spec)
    B = len(pairs)
    logits, _, _ = model(input_ids, attention_mask=attn)
    labels = torch.where(loss_mask, input_ids, torch.full_like(input_ids, -100))
    if alpha == 0:
        nll = torch.tensor(0.0)
    else:
        nll = F.cross_entropy(logits[:B, :-1].float().reshape(-1, logits.size(-1)), labels[:B, 1:].reshape(-1))
    # get_batch_logps
    shifted = labels[:, 1:].clone()
    mask = shifted != -100
    shifted[~mask] = 0
    per_token = torch.gather(logits[:, :-1].float().log_softmax(-1), 2, shifted.unsqueeze(-1)).squeeze(-1)
    logps = (per_token * mask).sum(-1)
    if loss_type in ("ipo", "simpo"):
        logps = logps / mask.sum(-1)
    lc, lr = logps[:B], logps[B:]
    x = lc - lr
    if loss_type == "simpo":
        x = x - case["simpo_gamma"] / beta
    if loss_type in ("sigmoid", "simpo"):
        losses = -F.logsigmoid(beta * x) * (1 - eps) - F.logsigmoid(-beta * x) * eps
    elif loss_type == "hinge":
        losses = torch.relu(1 - beta * x)
    elif loss_type == "ipo":
        losses = (x - 1 / (2 * beta)) ** 2
    else:
        raise ValueError(f"unknown loss_type {loss_type}")
    loss = losses.mean() + alpha * nll
    rc, rr = beta * lc.detach(), beta * lr.detach()
    # (logits/chosen, logits/rejected: TRL's all_logits[:B].mean(), padding included)
    metrics = torch.stack([rc.mean(), rr.mean(), (rc > rr).float().mean(), (rc - rr).mean(), lc.detach().mean(), lr.detach().mean(), nll.detach(),
                           logits[:B].detach().float().mean(), logits[B:].detach().float().mean()])
    return loss, metrics


def run(spec, case, inputs):
    model = train_ref.tiny_peft_lora(spec["fixtures"], inputs)  # (eval mode: TRL's disable_dropout)
    spec = {**spec, "pairs": orpo_ref.with_bos(spec["pairs"], spec.get("bos")), "eval_pairs": orpo_ref.with_bos(spec["eval_pairs"], spec.get("bos"))}
    return dpo_ref.pair_run(spec, case, model, lambda pairs: cpo_loss(model, pairs, spec["eos"], spec, case))


if __name__ == "__main__":
    torch.set_num_threads(1)
    train_ref.run_cases(run, *sys.argv[1:4])
