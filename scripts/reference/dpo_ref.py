"""Reference for tstorch's DPOTrainer (test/dpo.test.ts): TRL's DPOTrainer in plain PyTorch, over
the tiny GPT-2 fixture with PEFT LoRA (r 4, alpha 8), as TRL runs it with a PEFT model: the
reference is the same model with its adapters disabled, dropout off in both (disable_dropout).
A transcription of TRL's tokenize_row (after the tokenizer: eos after each completion, the prompt's
last max_prompt_length tokens, each completion's first max_completion_length, where given; TRL 0.x),
TRL 1.x's truncation (truncation_mode keep_start, its default: each row's first max_length tokens,
and a pair whose prompt alone fills max_length left out of the data first) or TRL 0.x's (keep_end:
the last max_length tokens), concatenated_forward (prompt + completion per row, right-padded;
each completion token's log-probability from the logits one position earlier, summed per row, ipo:
averaged) and dpo_loss (sigmoid with label smoothing, robust, exo_pair, hinge, ipo, nca_pair, sppo_hard,
aot, aot_pair, apo_zero, apo_down, discopop, bco_pair with TRL's RunningMoments, sft; a list of them
weighted by loss_weights, TRL's MPO; rpo_alpha adding the chosen rows' nll_loss as TRL's
concatenated_forward computes it; use_weighting: WPO's weight on each pair's loss; ld_alpha: LD-DPO's policy
log-probabilities, the tokens past the pair's shorter completion's length weighted by ld_alpha, counted from each
completion's first token (TRL's code counts from the sequence's start: the paper's l_p is a completion length)); the rewards and metrics as TRL
logs them. The optimizer loop is HF's: AdamW over the decay groups, a linear schedule with warmup,
clip_grad_norm_, the step's pairs in order.

Usage: dpo_ref.py SPEC.json INPUTS.safetensors OUT.safetensors
SPEC: {"fixtures", "pairs": [{"prompt", "chosen", "rejected"}: token ids], "eval_pairs": [...], "eos",
       "max_prompt_length", "max_completion_length", "max_length", "truncation_mode", "batch", "steps", "warmup",
       "cases": [{"name", "beta", "loss_type", "label_smoothing", "discopop_tau" (optional, 0.05), "rpo_alpha" (optional),
                  "f_divergence_type" (optional: reverse_kl, js_divergence, alpha_divergence), "f_alpha_divergence_coef" (optional, 1),
                  "use_weighting" (optional, false), "loss_weights" (optional, with a list loss_type), "ld_alpha" (optional), "lr", "weight_decay"}]}
INPUTS: init.<name>: the LoRA weights to start from.
Written per case: <case>.losses (steps), <case>.metrics (steps, 8 (9 with rpo_alpha or sft: nll_loss last): rewards/chosen, rewards/rejected,
rewards/accuracies, rewards/margins, logps/chosen, logps/rejected, each a mean over the step's
pairs, logits/chosen, logits/rejected, the step's batch's), <case>.eval (loss, reward accuracy on eval_pairs after training), <case>.final.<name>.
"""
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
import lora_ref  # noqa: E402
import train_ref  # noqa: E402


def tokenize_row(pair, eos, max_prompt, max_completion):
    return [tokenize_side(pair["prompt"], pair[side], eos, max_prompt, max_completion) for side in ("chosen", "rejected")]


def tokenize_side(prompt, completion, eos, max_prompt, max_completion):
    """(the prompt's last max_prompt tokens, the completion + eos's first max_completion)"""
    prompt = prompt[-max_prompt:] if max_prompt else list(prompt)
    completion = completion + [eos]
    if max_completion:
        completion = completion[:max_completion]
    return prompt, completion


def concatenated(pairs, eos, spec):
    """The 2B rows (chosen, then rejected), right-padded, and the completion mask."""
    rows = [tokenize_row(p, eos, spec["max_prompt_length"], spec["max_completion_length"]) for p in pairs]
    return pad_rows([r[0] for r in rows] + [r[1] for r in rows], eos, spec)


def kept(items, spec):
    """TRL 1.x (keep_start): the items (pairs or examples) whose prompt, as tokenize_side cuts it, is
    shorter than max_length; the others are left out of the data."""
    L = spec["max_length"]
    if spec.get("truncation_mode", "keep_start") != "keep_start" or not L:
        return list(items)
    mp = spec["max_prompt_length"]
    return [x for x in items if len(x["prompt"][-mp:] if mp else x["prompt"]) < L]


def pad_rows(seqs, eos, spec):
    """(prompt, completion) rows joined, cut to max_length (keep_start: the first tokens; keep_end:
    the last), right-padded with eos: input ids, attention mask and the completion mask."""
    ids, masks = [], []
    L, keep_start = spec["max_length"], spec.get("truncation_mode", "keep_start") == "keep_start"
    for prompt, completion in seqs:
        x, m = prompt + completion, [0] * len(prompt) + [1] * len(completion)
        if L and len(x) > L:
            x, m = (x[:L], m[:L]) if keep_start else (x[-L:], m[-L:])
        ids.append(x)
        masks.append(m)
    T = max(len(x) for x in ids)
    attn = torch.tensor([[1] * len(x) + [0] * (T - len(x)) for x in ids])
    loss_mask = torch.tensor([m + [0] * (T - len(m)) for m in masks]).bool()
    input_ids = torch.tensor([x + [eos] * (T - len(x)) for x in ids])
    return input_ids, attn, loss_mask


def sequence_logps(model, input_ids, attn, loss_mask, loss_type, rpo=False, weighting=False, ld_alpha=None):
    """Each row's log-probability; with rpo or weighting, (logps, nll_loss or None, WPO weights or None,
    [the mean logit at the positions predicting the chosen completions' tokens, the rejected's])."""
    logits, _, _ = model(input_ids, attention_mask=attn)
    nll = None
    if rpo:
        # TRL's: labels the next tokens (rolled), 0 outside the completions, and the chosen rows'
        # cross entropy with ignore_index=0
        B = input_ids.shape[0] // 2
        rolled = torch.roll(input_ids, shifts=-1, dims=1)
        rolled_mask = torch.roll(loss_mask, shifts=-1, dims=1)
        rolled[~rolled_mask] = 0
        nll = F.cross_entropy(torch.flatten(logits[:B].float(), end_dim=1), torch.flatten(rolled[:B], end_dim=1), ignore_index=0)
    labels = input_ids[:, 1:].clone()
    mask = loss_mask[:, 1:].clone()
    labels[~mask] = 0
    per_token = torch.gather(logits[:, :-1].float().log_softmax(-1), 2, labels.unsqueeze(-1)).squeeze(-1)
    per_token[~mask] = 0
    logps = per_token.sum(-1)
    if ld_alpha is not None:
        # LD-DPO: l_p = min(chosen, rejected completion length) per pair; within each completion the
        # tokens at places >= l_p count ld_alpha times
        B = input_ids.shape[0] // 2
        lengths = mask.sum(-1)
        public = torch.minimum(lengths[:B], lengths[B:]).repeat(2)
        place = torch.cumsum(mask.long(), dim=-1) - 1
        front = mask & (place < public[:, None])
        rear = mask & ~front
        logps = (per_token * front).sum(-1) + ld_alpha * (per_token * rear).sum(-1)
    if loss_type == "ipo":
        logps = logps / mask.sum(-1)
    weights = None
    if weighting:
        # TRL's use_weighting (WPO, eq. 2): per token log p - logsumexp(2 log p), averaged over the
        # completion, the pair's weight exp(chosen + rejected) clamped at 1
        with torch.no_grad():
            adjust = torch.logsumexp(2 * logits[:, :-1].float().log_softmax(-1), dim=-1)
            w = ((per_token - adjust) * mask).sum(-1) / mask.sum(-1)
            B = input_ids.shape[0] // 2
            weights = torch.clamp(torch.exp(w[:B] + w[B:]), max=1)
    # TRL's mean_chosen_logits / mean_rejected_logits: logits[:B][loss_mask[:B]].mean(), the logits aligned with their labels
    B = input_ids.shape[0] // 2
    shifted = logits[:, :-1]
    mean_logits = [shifted[:B][mask[:B]].mean(), shifted[B:][mask[B:]].mean()]
    return (logps, nll, weights, mean_logits) if rpo or weighting else logps


def set_adapters(model, on):
    for m in model.modules():
        if isinstance(m, lora_ref.PeftLoraConv1D):
            if not hasattr(m, "_scaling"):
                m._scaling = m.scaling
            m.scaling = m._scaling if on else 0.0


def cap_exp(value):
    # TRL's cap_exp: exp with its argument clamped at log(the dtype's largest value)
    return torch.exp(torch.clamp(value, max=torch.tensor(torch.finfo(value.dtype).max).log()))


class RunningMoments:
    """TRL's RunningMoments (one process): bco_pair's running mean of the batches' mean rewards."""

    def __init__(self):
        self.mean, self.std, self.var, self.count = 0, 1, 1, 1e-24

    @torch.no_grad()
    def update(self, xs):
        xs_count = xs.numel()
        xs_var, xs_mean = torch.var_mean(xs, unbiased=False)
        xs_mean, xs_var = xs_mean.float(), xs_var.float()
        delta = xs_mean - self.mean
        tot_count = self.count + xs_count
        new_sum = xs_var * xs_count
        old_sum = self.var * self.count + delta**2 * self.count * xs_count / tot_count
        tot_sum = old_sum + new_sum
        self.mean += (delta * xs_count / tot_count).item()
        new_var = tot_sum / tot_count
        self.std = (new_var * tot_count / (tot_count - 1)).float().sqrt().item()
        self.var = new_var.item()
        self.count = tot_count


def dpo_loss(policy, reference, beta, loss_type, label_smoothing, discopop_tau=0.05, rpo_alpha=None, nll=None, f_divergence="reverse_kl", f_alpha=1.0, weights=None,
             loss_weights=None, running=None, training=True, mean_logits=None):
    """TRL's dpo_loss over the loss types (a list: their losses and rewards added, each times its
    loss weight), then RPO's term and WPO's weights. bco_pair's running mean takes each training
    batch in; evaluation reads it (TRL's evaluation updates it too: not here)."""
    B = policy.shape[0] // 2
    pc, pr, rc, rr = policy[:B], policy[B:], reference[:B], reference[B:]
    chosen_logratios, rejected_logratios = pc - rc, pr - rr
    if f_divergence == "alpha_divergence":
        logits = (cap_exp(rejected_logratios * -f_alpha) - cap_exp(chosen_logratios * -f_alpha)) / f_alpha
    else:
        logits = (pc - pr) - (rc - rr)
        if f_divergence == "js_divergence":
            logits = logits - (F.softplus(chosen_logratios) - F.softplus(rejected_logratios))

    def smoothed(delta):
        return -F.logsigmoid(beta * delta) * (1 - label_smoothing) - F.logsigmoid(-beta * delta) * label_smoothing

    def one(loss_type):
        if loss_type == "sigmoid":
            return smoothed(logits)
        if loss_type == "robust":
            return (-F.logsigmoid(beta * logits) * (1 - label_smoothing) + F.logsigmoid(-beta * logits) * label_smoothing) / (1 - 2 * label_smoothing)
        if loss_type == "exo_pair":
            eps = label_smoothing or 1e-3
            return (beta * logits).sigmoid() * (F.logsigmoid(beta * logits) - math.log(1 - eps)) + \
                (-beta * logits).sigmoid() * (F.logsigmoid(-beta * logits) - math.log(eps))
        if loss_type == "hinge":
            return torch.relu(1 - beta * logits)
        if loss_type == "ipo":
            return (logits - 1 / (2 * beta)) ** 2
        if loss_type == "nca_pair":
            chosen_rewards, rejected_rewards = chosen_logratios * beta, rejected_logratios * beta
            return -F.logsigmoid(chosen_rewards) - 0.5 * F.logsigmoid(-chosen_rewards) - 0.5 * F.logsigmoid(-rejected_rewards)
        if loss_type == "sppo_hard":
            return (chosen_logratios - 0.5 / beta) ** 2 + (rejected_logratios + 0.5 / beta) ** 2
        if loss_type == "aot_pair":
            return smoothed(torch.sort(chosen_logratios, dim=0)[0] - torch.sort(rejected_logratios, dim=0)[0])
        if loss_type == "aot":
            return smoothed(torch.sort(pc - pr, dim=0)[0] - torch.sort(rc - rr, dim=0)[0])
        if loss_type == "apo_zero":
            return (1 - F.sigmoid(beta * chosen_logratios)) + F.sigmoid(beta * rejected_logratios)
        if loss_type == "apo_down":
            return F.sigmoid(beta * chosen_logratios) + (1 - F.sigmoid(beta * (chosen_logratios - rejected_logratios)))
        if loss_type == "discopop":
            z = ((pc - pr) - (rc - rr)) * beta
            modulation = torch.sigmoid(z / discopop_tau)
            return -F.logsigmoid(z) * (1 - modulation) + torch.exp(-z) * modulation
        if loss_type == "bco_pair":
            chosen_rewards, rejected_rewards = beta * chosen_logratios, beta * rejected_logratios
            if training:
                running.update(torch.cat((chosen_rewards, rejected_rewards), 0).mean().detach())
            delta = running.mean
            return -F.logsigmoid(chosen_rewards - delta) - F.logsigmoid(-(rejected_rewards - delta))
        if loss_type == "sft":
            return nll.expand(B)
        raise ValueError(f"unknown loss_type {loss_type}")

    types = loss_type if isinstance(loss_type, list) else [loss_type]
    loss_weights = loss_weights or [1.0] * len(types)
    losses, chosen_rewards, rejected_rewards = 0, 0, 0
    for t, w in zip(types, loss_weights):
        losses = losses + one(t) * w
        if t != "sft":  # (sft's rewards are zeros)
            chosen_rewards = chosen_rewards + beta * (pc - rc).detach() * w
            rejected_rewards = rejected_rewards + beta * (pr - rr).detach() * w
    if not torch.is_tensor(chosen_rewards):
        chosen_rewards, rejected_rewards = torch.zeros_like(pc), torch.zeros_like(pr)
    metrics = [chosen_rewards.mean(), rejected_rewards.mean(), (chosen_rewards > rejected_rewards).float().mean(),
               (chosen_rewards - rejected_rewards).mean(), pc.detach().mean(), pr.detach().mean(), mean_logits[0].detach(), mean_logits[1].detach()]
    if rpo_alpha is not None:
        losses = losses + rpo_alpha * nll
    if rpo_alpha is not None or "sft" in types:
        metrics.append(nll.detach())
    if weights is not None:
        losses = losses * weights
    return losses.mean(), torch.stack(metrics)


def run(spec, case, inputs):
    model = train_ref.tiny_peft_lora(spec["fixtures"], inputs)  # (eval mode: TRL's disable_dropout)
    eos, lt = spec["eos"], case["loss_type"]
    averaged = "ipo" if "ipo" in (lt if isinstance(lt, list) else [lt]) else "sigmoid"  # (ipo among the types: every log-probability a token mean, as TRL)
    running = RunningMoments()

    def stats(pairs, training=True):
        input_ids, attn, loss_mask = concatenated(pairs, eos, spec)
        with torch.no_grad():
            set_adapters(model, False)
            reference = sequence_logps(model, input_ids, attn, loss_mask, averaged)
            set_adapters(model, True)
        rpo, weighting = case.get("rpo_alpha"), case.get("use_weighting", False)
        policy, nll, weights, mean_logits = sequence_logps(model, input_ids, attn, loss_mask, averaged, rpo=True, weighting=weighting, ld_alpha=case.get("ld_alpha"))
        return dpo_loss(policy, reference, case["beta"], lt, case["label_smoothing"], case.get("discopop_tau", 0.05), rpo_alpha=rpo, nll=nll,
                        f_divergence=case.get("f_divergence_type", "reverse_kl"), f_alpha=case.get("f_alpha_divergence_coef", 1.0), weights=weights,
                        loss_weights=case.get("loss_weights"), running=running, training=training, mean_logits=mean_logits)

    return pair_run(spec, case, model, stats, eval_stats=lambda pairs: stats(pairs, training=False))


def pair_run(spec, case, model, stats, eval_stats=None):
    """HF's loop over spec's pairs, spec["batch"] a step, stats(pairs) giving (loss, metrics), then
    eval_stats (or stats) on the eval pairs: <case>.losses, .metrics, .eval (loss, metrics[2]: reward accuracy), .final.<name>."""
    steps, B = spec["steps"], spec["batch"]
    opt, sched, groups, trainable = train_ref.hf_optimizer(model, case["lr"], case["weight_decay"], steps, spec["warmup"])
    losses, metrics = [], []
    pairs, eval_pairs = kept(spec["pairs"], spec), kept(spec["eval_pairs"], spec)
    for step in range(steps):
        loss, m = stats(pairs[step * B:(step + 1) * B])
        losses.append(train_ref.hf_step(loss, trainable, opt, sched))
        metrics.append(m)
    with torch.no_grad():
        eval_loss, eval_metrics = (eval_stats or stats)(eval_pairs)
    name = case["name"]
    return {f"{name}.losses": torch.tensor(losses, dtype=torch.float64), f"{name}.metrics": torch.stack(metrics),
            f"{name}.eval": torch.stack([eval_loss, eval_metrics[2]]), **train_ref.final_tensors(name, groups)}


if __name__ == "__main__":
    torch.set_num_threads(1)
    train_ref.run_cases(run, *sys.argv[1:4])
