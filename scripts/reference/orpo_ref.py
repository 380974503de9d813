"""Reference for tstorch's ORPOTrainer (test/dpo.test.ts): TRL's ORPOTrainer in plain PyTorch, over
the tiny GPT-2 fixture with PEFT LoRA (r 4, alpha 8), dropout off (disable_dropout). Rows as
dpo_ref.concatenated builds them (prompt + completion + eos, right-padded; the pairs here need no
truncation), with the tokenizer's bos before each prompt (spec "bos": TRL's ORPO tokenize_row adds it,
GPT-2's <|endoftext|>). From TRL's concatenated_forward,
get_batch_logps(average_log_prob=True) and odds_ratio_loss:
  logps: each completion's mean token log-probability (logits one position earlier)
  nll: cross_entropy(logits[:B, :-1], labels[:B, 1:]), labels the ids where attention_mask is 1
  log_odds = (lc - lr) - (log1p(-exp(lc)) - log1p(-exp(lr))), loss = nll - mean(beta * logsigmoid(log_odds)).
The optimizer loop is HF's (train_ref.hf_optimizer / hf_step), the step's pairs in order.

Usage: orpo_ref.py SPEC.json INPUTS.safetensors OUT.safetensors
SPEC: {"fixtures", "pairs", "eval_pairs", "eos", "bos", "max_prompt_length", "max_completion_length", "max_length",
       "batch", "steps", "warmup", "cases": [{"name", "beta", "lr", "weight_decay"}]}
Written per case: <case>.losses, <case>.metrics (steps, 11: rewards/chosen, rewards/rejected,
rewards/accuracies, rewards/margins, logps/chosen, logps/rejected, nll_loss, log_odds_ratio,
log_odds_chosen, logits/chosen, logits/rejected), <case>.eval (loss, reward accuracy), <case>.final.<name>.
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
import dpo_ref  # noqa: E402
import train_ref  # noqa: E402


def orpo_loss(model, pairs, eos, spec, beta):
    input_ids, attn, loss_mask = dpo_ref.concatenated(pairs, eos, spec)
    B = len(pairs)
    logits, _, _ = model(input_ids, attention_mask=attn)
    # get_batch_logps(average_log_prob=True)
    labels = input_ids[:, 1:].clone()
    mask = loss_mask[:, 1:]
    labels[~mask] = 0
    per_token = torch.gather(logits[:, :-1].float().log_softmax(-1), 2, labels.unsqueeze(-1)).squeeze(-1)
    logps = (per_token * mask).sum(-1) / mask.sum(-1)
    lc, lr = logps[:B], logps[B:]
    # the chosen rows' NLL over every real token
    nll_labels = torch.where(attn == 1, input_ids, torch.full_like(input_ids, -100))
    nll = F.cross_entropy(logits[:B, :-1].float().reshape(-1, logits.size(-1)), nll_labels[:B, 1:].reshape(-1))
    log_odds = (lc - lr) - (torch.log1p(-torch.exp(lc)) - torch.log1p(-torch.exp(lr)))
    ratio = F.logsigmoid(log_odds)
    loss = nll - (beta * ratio).mean()
    rc, rr = beta * lc.detach(), beta * lr.detach()
    metrics = torch.stack([rc.mean(), rr.mean(), (rc > rr).float().mean(), (rc - rr).mean(), lc.detach().mean(), lr.detach().mean(),
                           nll.detach(), ratio.detach().mean(), log_odds.detach().mean(),
                           # TRL's logits/chosen, logits/rejected: all_logits[:B].mean(), padding included
                           logits[:B].detach().float().mean(), logits[B:].detach().float().mean()])
    return loss, metrics


def with_bos(pairs, bos):
    """TRL's add_bos_token_if_needed: the tokenizer's bos before each prompt that does not start with it."""
    if bos is None:
        return pairs
    return [{**p, "prompt": p["prompt"] if p["prompt"][:1] == [bos] else [bos] + p["prompt"]} for p in pairs]


def run(spec, case, inputs):
    model = train_ref.tiny_peft_lora(spec["fixtures"], inputs)  # (eval mode: TRL's disable_dropout)
    spec = {**spec, "pairs": with_bos(spec["pairs"], spec.get("bos")), "eval_pairs": with_bos(spec["eval_pairs"], spec.get("bos"))}
    return dpo_ref.pair_run(spec, case, model, lambda pairs: orpo_loss(model, pairs, spec["eos"], spec, case["beta"]))


if __name__ == "__main__":
    torch.set_num_threads(1)
    train_ref.run_cases(run, *sys.argv[1:4])
