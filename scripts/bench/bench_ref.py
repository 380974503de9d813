"""Python reference side of scripts/bench: one case per process, prints one JSON line.
  bench_ref.py CASE ITERS THREADS
Cases: tiny_step, fwdbwd_124m, lora_step_124m, full_step_124m, generate_124m, contrastive_124m, serve_batch_124m, serve_arrivals_124m, prompt_1000_124m, generate_8x500_124m, beam_4x500_124m, lora_step_124m_bf16, sft_step_124m, dpo_step_124m,
seqcls_step_124m, kto_step_124m."""
import json
import os
import resource
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
import generate_ref  # noqa: E402
import gpt2_ref  # noqa: E402
import lora_ref  # noqa: E402

case, iters, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
warmup = int(sys.argv[4]) if len(sys.argv) > 4 else 1
torch.set_num_threads(threads)
torch.manual_seed(0)

GPT2_124M = dict(vocab_size=50257, n_positions=1024, n_embd=768, n_layer=12, n_head=12)
TINY = dict(vocab_size=256, n_positions=64, n_embd=32, n_layer=2, n_head=2)
cfg, B, T = {
    "tiny_step": (TINY, 2, 32), "fwdbwd_124m": (GPT2_124M, 2, 128), "lora_step_124m": (GPT2_124M, 8, 128),
    "full_step_124m": (GPT2_124M, 8, 128), "generate_124m": (GPT2_124M, 1, 16), "contrastive_124m": (GPT2_124M, 1, 16),
    "lora_step_124m_bf16": (GPT2_124M, 8, 128), "sft_step_124m": (GPT2_124M, 8, 128), "dpo_step_124m": (GPT2_124M, 4, 128),
    "seqcls_step_124m": (GPT2_124M, 8, 128), "kto_step_124m": (GPT2_124M, 8, 128), "serve_batch_124m": (GPT2_124M, 8, 44),
    "serve_arrivals_124m": (GPT2_124M, 8, 500),
    "prompt_1000_124m": (GPT2_124M, 1, 1000), "generate_8x500_124m": (GPT2_124M, 8, 500),
    "beam_4x500_124m": (GPT2_124M, 1, 500),
}[case]
# *_bf16: the forward pass under bfloat16 autocast (CPU), weights and optimizer in float32.
bf16 = case.endswith("_bf16")
model = gpt2_ref.GPT2LMHeadModel(cfg) if case != "seqcls_step_124m" else None  # (the classifier is made below)
if case.startswith("lora_step_124m") or case in ("sft_step_124m", "dpo_step_124m", "kto_step_124m"):
    lora_ref.wrap(model, lambda m: lora_ref.PeftLoraConv1D(m, 8, 16, dropout=0.05))
    lora_ref.freeze_for_peft(model)
ids = torch.randint(0, cfg["vocab_size"], (B, T))
labels, mask = ids, None
if case == "sft_step_124m":
    # 8 examples of 128, 112, ..., 16 tokens, a 32-token prompt (8 for the shortest) without
    # loss, right-padded to 128 as TRL's collator pads: pad id eos, labels -100, mask 0.
    lengths = [T - 16 * i for i in range(B)]
    mask = torch.tensor([[1] * n + [0] * (T - n) for n in lengths])
    ids = torch.where(mask.bool(), ids, torch.full_like(ids, 50256))
    labels = ids.clone()
    labels[mask == 0] = -100
    for i, n in enumerate(lengths):
        labels[i, : min(32, n // 2)] = -100
if case == "dpo_step_124m":
    # B pairs of a 64-token prompt and two 63-token completions (+ eos), as TRL's DPO step with a
    # PEFT model (dpo_ref.py): reference log-probabilities with the adapters off, then the policy's.
    import dpo_ref  # noqa: E402
    rows = ids.tolist()
    dpo_pairs = [{"prompt": r[:64], "chosen": r[64:127], "rejected": r[65:127] + [r[0]]} for r in rows]
    dpo_spec = {"max_prompt_length": 512, "max_completion_length": None, "max_length": 1024}
if case == "kto_step_124m":
    # B unpaired examples of a 64-token prompt and a 63-token completion (+ eos), half desirable,
    # as TRL's KTO step with a PEFT model (kto_ref.py): the KL rows, reference and policy passes.
    import kto_ref  # noqa: E402
    rows = ids.tolist()
    kto_examples = [{"prompt": r[:64], "completion": r[64:127], "label": i % 2 == 0} for i, r in enumerate(rows)]
    kto_kl = kto_ref.kl_completions(kto_examples, B)
    kto_spec = {"max_prompt_length": 512, "max_completion_length": None, "max_length": 1024}
    kto_case = {"beta": 0.1, "desirable_weight": 1.0, "undesirable_weight": 1.0}
if case == "seqcls_step_124m":
    # transformers' GPT2ForSequenceClassification (seqcls_ref.py) with PEFT LoRA, task_type SEQ_CLS
    # (score trained too): 8 texts of 128, 112, ..., 16 tokens right-padded with eos, 2 labels.
    import seqcls_ref  # noqa: E402
    model = seqcls_ref.GPT2ForSequenceClassification(cfg, 2, 50256)
    lora_ref.wrap(model, lambda m: lora_ref.PeftLoraConv1D(m, 8, 16, dropout=0.05))
    for n, p in model.named_parameters():
        p.requires_grad = "lora_" in n or n.startswith("score.")
    lengths = [T - 16 * i for i in range(B)]
    ids = torch.where(ids == 50256, torch.zeros_like(ids), ids)
    mask = torch.tensor([[1] * n + [0] * (T - n) for n in lengths])
    ids = torch.where(mask.bool(), ids, torch.full_like(ids, 50256))
    labels = torch.tensor([i % 2 for i in range(B)])
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def step_fn():
    if case == "fwdbwd_124m":
        model.train()
        _, loss, _ = model(ids, labels=ids)
        loss.backward()
        model.zero_grad(set_to_none=True)
        return B * T
    if case in ("generate_124m", "generate_8x500_124m"):
        model.eval()
        with torch.no_grad():
            seq = ids
            logits, _, past = model(seq, logits_to_keep=1)  # as HF's generate
            n = 32
            for _ in range(n):
                nxt = logits[:, -1, :].argmax(-1, keepdim=True)
                logits, _, past = model(nxt, past_key_values=past, logits_to_keep=1)
        return n
    if case == "beam_4x500_124m":
        # HF's _beam_search on the cache (num_beams 4, no end token): the prompt repeated to the
        # beams and put through whole, then each step the 2 x 4 best (beam, token) pairs by summed
        # log-probability, the first 4 go on, the cache reordered by index_select (HF's
        # _reorder_cache / DynamicCache.reorder_cache) and grown by cat
        model.eval()
        k, n = 4, 32
        with torch.no_grad():
            seq = ids.repeat_interleave(k, dim=0)
            logits, _, past = model(seq, logits_to_keep=1)
            beam_scores = torch.zeros(k)
            beam_scores[1:] = -1e9
            for _ in range(n):
                scores = torch.log_softmax(logits[:, -1, :], dim=-1) + beam_scores[:, None]
                vocab = scores.shape[-1]
                top_scores, top = torch.topk(scores.view(1, -1), 2 * k, dim=1)
                beam_idx, tokens = top[0, :k] // vocab, top[0, :k] % vocab
                beam_scores = top_scores[0, :k]
                past = [(key.index_select(0, beam_idx), value.index_select(0, beam_idx)) for key, value in past]
                seq = torch.cat([seq[beam_idx], tokens[:, None]], dim=-1)
                logits, _, past = model(tokens[:, None], past_key_values=past, logits_to_keep=1)
        return n
    if case == "prompt_1000_124m":
        # a 1000-token prompt's pass, as generate's first: no grad, the last position's logits
        model.eval()
        with torch.no_grad():
            model(ids, logits_to_keep=1)
        return T
    if case == "serve_batch_124m":
        # 8 requests (prompts of 16, 20, ..., 44 tokens), each generated alone with its cache, greedy,
        # 32 new tokens: what serving them costs one at a time (HF's generate per request)
        model.eval()
        n = 32
        with torch.no_grad():
            for i in range(B):
                logits, _, past = model(ids[i:i + 1, :16 + 4 * i], logits_to_keep=1)
                for _ in range(n):
                    nxt = logits[:, -1, :].argmax(-1, keepdim=True)
                    logits, _, past = model(nxt, past_key_values=past, logits_to_keep=1)
        return B * n
    if case == "serve_arrivals_124m":
        # 8 requests (prompts of 500, 460, ..., 220 tokens; 80, 72, ..., 24 new tokens), each
        # generated alone with its cache, greedy, in the order they arrive
        model.eval()
        with torch.no_grad():
            for i in range(B):
                logits, _, past = model(ids[i:i + 1, :500 - 40 * i], logits_to_keep=1)
                for _ in range(80 - 8 * i):
                    nxt = logits[:, -1, :].argmax(-1, keepdim=True)
                    logits, _, past = model(nxt, past_key_values=past, logits_to_keep=1)
        return sum(80 - 8 * i for i in range(B))
    if case == "contrastive_124m":
        # HF's _contrastive_search (penalty_alpha 0.6, top_k 4) on the cache: the candidates in one
        # pass over it repeated top_k times, ranked by _ranking_fast (generate_ref.py's transcription)
        model.eval()
        k, n = 4, 32
        with torch.no_grad():
            context, past = model.transformer(ids)
            logits = model.lm_head(context[:, -1, :])
            mask = torch.ones((k, T), dtype=torch.long)
            for _ in range(n):
                top_k_probs, top_k_ids = torch.topk(torch.softmax(logits, dim=-1), dim=-1, k=k)
                repeated = [(key.repeat_interleave(k, dim=0), value.repeat_interleave(k, dim=0)) for key, value in past]
                next_hidden, candidate_past = model.transformer(top_k_ids.view(-1, 1), past_key_values=repeated)
                selected = generate_ref.ranking_fast(context.repeat_interleave(k, dim=0), next_hidden, top_k_probs, mask, 0.6, k)
                past = [(key[selected], value[selected]) for key, value in candidate_past]
                context = torch.cat([context, next_hidden[selected]], dim=1)
                logits = model.lm_head(next_hidden[selected][:, -1, :])
                mask = torch.cat([mask, torch.ones((k, 1), dtype=torch.long)], dim=-1)
        return n
    if case == "dpo_step_124m":
        model.eval()  # TRL's disable_dropout
        input_ids, attn, loss_mask = dpo_ref.concatenated(dpo_pairs, 50256, dpo_spec)
        with torch.no_grad():
            dpo_ref.set_adapters(model, False)
            reference = dpo_ref.sequence_logps(model, input_ids, attn, loss_mask, "sigmoid")
            dpo_ref.set_adapters(model, True)
        loss, _ = dpo_ref.dpo_loss(dpo_ref.sequence_logps(model, input_ids, attn, loss_mask, "sigmoid"), reference, 0.1, "sigmoid", 0.0)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return 2 * B * T
    if case == "kto_step_124m":
        model.eval()  # TRL's disable_dropout
        loss, _ = kto_ref.kto_batch(model, kto_examples, kto_kl, 50256, kto_spec, kto_case)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return 2 * B * T
    model.train()
    if case == "seqcls_step_124m":
        _, loss = model(ids, mask, labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return int(mask.sum())
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        _, loss, _ = model(ids, labels=labels, attention_mask=mask)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    opt.zero_grad(set_to_none=True)
    return B * T if mask is None else int(mask.sum())


params = [p for p in model.parameters() if p.requires_grad]
opt = torch.optim.AdamW(params, lr=1e-4) if case in ("tiny_step", "lora_step_124m", "full_step_124m", "lora_step_124m_bf16", "sft_step_124m", "dpo_step_124m", "seqcls_step_124m", "kto_step_124m") else None
# warm-up (allocates optimizer state; with bf16, oneDNN builds its kernels for the backward's
# shapes; a number of steps given: as many as the tstorch side runs before timing)
for _ in range(max(warmup, 2 if bf16 else 1)):
    step_fn()
times = []
for _ in range(iters):
    t0 = time.perf_counter()
    work = step_fn()
    times.append(time.perf_counter() - t0)
times.sort()
med = times[len(times) // 2]
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"ms": med * 1e3, "per_second": work / med, "peak_rss_mib": peak / 1024, "peak_delta_mib": (peak - rss0) / 1024}))
