"""Hugging Face's generate() for GPT-2, greedy and beam search, in plain PyTorch: the reference
for tstorch's generate(). A transcription of transformers' GenerationMixin._greedy_search /
_beam_search, BeamSearchScorer, BeamHypotheses and the logits processors used here
(RepetitionPenalty, NoRepeatNGram, MinNewTokensLength), as of transformers 4.4x.

Unlike tstorch it keeps no key/value cache: every step runs the whole (left-padded) sequence,
so the cache's reordering between beams is checked, not shared.

usage: generate_ref.py MODEL_DIR SPEC_JSON OUT_JSON
  SPEC_JSON (one, or a list of them, answered by a list): {"prompts": [[ids]], "max_new_tokens": int, "num_beams": int, "length_penalty": float,
              "early_stopping": true | false | "never", "num_return_sequences": int,
              "no_repeat_ngram_size": int, "min_new_tokens": int, "repetition_penalty": float,
              "frequency_penalty": float, "presence_penalty": float (OpenAI's, as vLLM's), "sequence_bias": [[[ids], float]],
              "bad_words_ids": [[ids]], "suppress_tokens": [ids], "begin_suppress_tokens": [ids],
              "forced_eos_token_id": int, "exponential_decay_length_penalty": [int, float], "renormalize_logits": bool,
              "prefix_allowed": [[[ids]]] (prefix_allowed_tokens_fn as a table: for batch b, the list at index last token % its length),
              "penalty_alpha" with "top_k" (contrastive search),
              "eos_token_id": int | [ints] | null (a list: any of them ends a sequence), "pad_token_id": int (what left padding and
              finished sequences hold; default the first end token, as HF's fallback), "markov": [[logits]] (optional: instead of MODEL_DIR, which
              may then be -, the next token's logits are this table's row of the last token),
              "do_sample": true with num_beams > 1 (beam sampling, HF's _beam_sample: the warpers below,
              then 2 x num_beams candidates drawn by torch.multinomial after torch.manual_seed("seed"))}
              With "prompt_lookup_num_tokens" (and "max_matching_ngram_size") or "assistant_markov" (an assistant's table, with
              "num_assistant_tokens", "num_assistant_tokens_schedule", "assistant_confidence_threshold"), one prompt: HF's
              _assisted_decoding, greedy or ("do_sample", "seed", the warpers) sampling: speculative sampling with the assistant.
  writes: {"sequences": [[ids]] (left padding removed), "scores": [float] (beam search's sequences_scores)}
          (assisted decoding: also "passes", the model's forward passes)
  or, for a spec {"warp": {"scores": [[float]], "temperature", "top_k", "top_p", "min_p", "typical_p", "epsilon_cutoff", "eta_cutoff",
  "min_tokens_to_keep"}}: the sampling
  warpers' output, {"kept": [[bool]], "scores": [[float]] (0 where not kept)}
"""
import json
import math
import sys

import torch

import gpt2_ref


class BeamHypotheses:
    def __init__(self, num_beams, length_penalty, early_stopping, max_length):
        self.length_penalty = length_penalty
        self.early_stopping = early_stopping
        self.max_length = max_length
        self.num_beams = num_beams
        self.beams = []
        self.worst_score = 1e9

    def __len__(self):
        return len(self.beams)

    def add(self, hyp, sum_logprobs, generated_len, beam_indices=None):
        score = sum_logprobs / (generated_len ** self.length_penalty)
        if len(self) < self.num_beams or score > self.worst_score:
            self.beams.append((score, hyp, beam_indices))
            if len(self) > self.num_beams:
                sorted_next_scores = sorted([(s, idx) for idx, (s, _, _) in enumerate(self.beams)])
                del self.beams[sorted_next_scores[0][1]]
                self.worst_score = sorted_next_scores[1][0]
            else:
                self.worst_score = min(score, self.worst_score)

    def is_done(self, best_sum_logprobs, cur_len, decoder_prompt_len):
        if len(self) < self.num_beams:
            return False
        if self.early_stopping is True:
            return True
        if self.early_stopping is False:
            highest_attainable_score = best_sum_logprobs / (cur_len - decoder_prompt_len) ** self.length_penalty
        elif self.length_penalty > 0.0:  # "never"
            highest_attainable_score = best_sum_logprobs / (self.max_length - decoder_prompt_len) ** self.length_penalty
        else:
            highest_attainable_score = best_sum_logprobs / (cur_len - decoder_prompt_len) ** self.length_penalty
        return self.worst_score >= highest_attainable_score


class BeamSearchScorer:
    def __init__(self, batch_size, num_beams, length_penalty, early_stopping, num_beam_hyps_to_keep, max_length):
        self.num_beams = num_beams
        self.num_beam_hyps_to_keep = num_beam_hyps_to_keep
        self.group_size = num_beams
        self._beam_hyps = [BeamHypotheses(num_beams, length_penalty, early_stopping, max_length) for _ in range(batch_size)]
        self._done = [False] * batch_size

    @property
    def is_done(self):
        return all(self._done)

    def process(self, input_ids, next_scores, next_tokens, next_indices, pad_token_id, eos_token_id, decoder_prompt_len, beam_indices=None):
        cur_len = input_ids.shape[-1] + 1
        batch_size = len(self._beam_hyps)
        next_beam_scores = torch.zeros((batch_size, self.group_size), dtype=next_scores.dtype)
        next_beam_tokens = torch.zeros((batch_size, self.group_size), dtype=next_tokens.dtype)
        next_beam_indices = torch.zeros((batch_size, self.group_size), dtype=next_indices.dtype)
        for batch_idx, beam_hyp in enumerate(self._beam_hyps):
            if self._done[batch_idx]:
                next_beam_scores[batch_idx, :] = 0
                next_beam_tokens[batch_idx, :] = pad_token_id
                next_beam_indices[batch_idx, :] = 0
                continue
            beam_idx = 0
            for beam_token_rank, (next_token, next_score, next_index) in enumerate(
                zip(next_tokens[batch_idx], next_scores[batch_idx], next_indices[batch_idx])
            ):
                batch_beam_idx = batch_idx * self.group_size + next_index
                if next_token.item() in eos_token_id:
                    if beam_token_rank >= self.group_size:
                        continue
                    beam_index = beam_indices[batch_beam_idx] + (batch_beam_idx,) if beam_indices is not None else None
                    beam_hyp.add(input_ids[batch_beam_idx].clone(), next_score.item(), cur_len - decoder_prompt_len, beam_indices=beam_index)
                else:
                    next_beam_scores[batch_idx, beam_idx] = next_score
                    next_beam_tokens[batch_idx, beam_idx] = next_token
                    next_beam_indices[batch_idx, beam_idx] = batch_beam_idx
                    beam_idx += 1
                if beam_idx == self.group_size:
                    break
            self._done[batch_idx] = self._done[batch_idx] or beam_hyp.is_done(next_scores[batch_idx].max().item(), cur_len, decoder_prompt_len)
        return next_beam_scores.view(-1), next_beam_tokens.view(-1), next_beam_indices.view(-1)

    def finalize(self, input_ids, final_beam_scores, pad_token_id, eos_token_id, max_length, decoder_prompt_len, beam_indices=None):
        batch_size = len(self._beam_hyps)
        for batch_idx, beam_hyp in enumerate(self._beam_hyps):
            if self._done[batch_idx]:
                continue
            for beam_id in range(self.num_beams):
                batch_beam_idx = batch_idx * self.num_beams + beam_id
                final_tokens = input_ids[batch_beam_idx]
                beam_index = beam_indices[batch_beam_idx] if beam_indices is not None else None
                beam_hyp.add(final_tokens, final_beam_scores[batch_beam_idx].item(), final_tokens.shape[-1] - decoder_prompt_len, beam_indices=beam_index)
        sent_lengths = input_ids.new(batch_size * self.num_beam_hyps_to_keep)
        best, best_scores, best_indices = [], [], []
        for i, beam_hyp in enumerate(self._beam_hyps):
            sorted_hyps = sorted(beam_hyp.beams, key=lambda x: x[0])
            for j in range(self.num_beam_hyps_to_keep):
                score, hyp, indices = sorted_hyps.pop()
                sent_lengths[self.num_beam_hyps_to_keep * i + j] = len(hyp)
                best.append(hyp)
                best_scores.append(score)
                best_indices.append(indices)
        sent_lengths_max = sent_lengths.max().item() + 1
        sent_max_len = min(sent_lengths_max, max_length)
        decoded = input_ids.new(batch_size * self.num_beam_hyps_to_keep, sent_max_len)
        if sent_lengths.min().item() != sent_lengths.max().item():
            decoded.fill_(pad_token_id)
        indices = None
        if best_indices and best_indices[0] is not None:
            indices = torch.full((batch_size * self.num_beam_hyps_to_keep, sent_max_len), -1, dtype=torch.long)
        for i, hypo in enumerate(best):
            decoded[i, : sent_lengths[i]] = hypo
            if indices is not None:
                indices[i, : len(best_indices[i])] = torch.tensor(best_indices[i], dtype=torch.long)
            if sent_lengths[i] < sent_max_len:
                decoded[i, sent_lengths[i]] = eos_token_id[0]
        return decoded, best_scores, indices


def sequence_bias(input_ids, scores, biases):
    """SequenceBiasLogitsProcessor: biases {tuple of ids: float}."""
    vocab = scores.shape[-1]
    bias = torch.zeros_like(scores)
    length_1 = torch.zeros((vocab,), dtype=torch.float)
    for ids, b in biases.items():
        if len(ids) == 1:
            length_1[ids[-1]] = b
    bias += length_1
    for ids, b in biases.items():
        if len(ids) == 1 or len(ids) > input_ids.shape[1]:
            continue
        prefix_length = len(ids) - 1
        matching = torch.eq(input_ids[:, -prefix_length:], torch.tensor(ids[:-1], dtype=input_ids.dtype)).prod(dim=1)
        bias[:, ids[-1]] += torch.where(matching.bool(), torch.tensor(b), torch.tensor(0.0))
    return scores + bias


def eos_ids(spec):
    """eos_token_id as HF's _prepare_special_tokens holds it: a list (empty: none)."""
    eos = spec.get("eos_token_id")
    return [] if eos is None else [eos] if isinstance(eos, int) else list(eos)


def process_logits(input_ids, scores, spec, prompt_len):
    """The logits processors, in HF's order (_get_logits_processor): sequence bias, repetition penalty
    (then OpenAI's frequency and presence penalties, as vLLM's: not HF's), no-repeat n-gram, bad words, min new tokens, prefix constraint, forced eos, exponential decay length penalty,
    suppress tokens, begin-suppress tokens, renormalize."""
    cur_len = input_ids.shape[-1]
    eos = eos_ids(spec)
    if spec.get("sequence_bias"):
        scores = sequence_bias(input_ids, scores, {tuple(ids): float(b) for ids, b in spec["sequence_bias"]})
    penalty = spec.get("repetition_penalty", 1.0)
    if penalty != 1.0:
        score = torch.gather(scores, 1, input_ids)
        score = torch.where(score < 0, score * penalty, score / penalty)
        scores = scores.scatter(1, input_ids, score)
    frequency, presence = spec.get("frequency_penalty", 0.0), spec.get("presence_penalty", 0.0)
    if frequency or presence:  # OpenAI's, as vLLM's apply_penalties: the generated tokens' counts (not the prompt's)
        counts = torch.zeros_like(scores)
        counts.scatter_add_(1, input_ids[:, prompt_len:], torch.ones_like(input_ids[:, prompt_len:], dtype=scores.dtype))
        scores = scores - frequency * counts - presence * (counts > 0).to(scores.dtype)
    n = spec.get("no_repeat_ngram_size", 0)
    if n > 0:
        scores = scores.clone()
        if cur_len + 1 >= n:
            for i in range(scores.shape[0]):
                tokens = input_ids[i].tolist()
                ngrams = {}
                for ngram in zip(*[tokens[j:] for j in range(n)]):
                    ngrams[tuple(ngram[:-1])] = ngrams.get(tuple(ngram[:-1]), []) + [ngram[-1]]
                banned = ngrams.get(tuple(tokens[cur_len + 1 - n: cur_len]), [])
                scores[i, banned] = -float("inf")
    if spec.get("bad_words_ids"):  # NoBadWordsLogitsProcessor: an end token alone is not a bad word
        bad = [w for w in spec["bad_words_ids"] if all(w != [e] for e in eos)]
        scores = sequence_bias(input_ids, scores, {tuple(w): float("-inf") for w in bad})
    if eos and cur_len - prompt_len < spec.get("min_new_tokens", 0):  # MinNewTokensLength: every end token
        scores = torch.where(torch.isin(torch.arange(scores.shape[-1]), torch.tensor(eos)), -float("inf"), scores)
    table = spec.get("prefix_allowed")
    if table is not None:  # PrefixConstrainedLogitsProcessor, its function a table: batch id, then last token mod its length
        num_beams = spec.get("num_beams", 1)
        mask = torch.full_like(scores, -math.inf)
        for row, sent in enumerate(input_ids.tolist()):
            batch_id = row // num_beams
            mask[row, table[batch_id][sent[-1] % len(table[batch_id])]] = 0
        scores = scores + mask
    forced = spec.get("forced_eos_token_id")
    if forced is not None and cur_len == prompt_len + spec["max_new_tokens"] - 1:
        scores = torch.full_like(scores, -math.inf)
        scores[:, forced] = 0
    decay = spec.get("exponential_decay_length_penalty")
    if decay is not None and eos:
        start = decay[0] + prompt_len
        if cur_len > start:
            penalties = torch.zeros_like(scores)
            penalties[:, eos] = torch.abs(scores[:, eos]) * (pow(decay[1], cur_len - start) - 1)
            scores = scores + penalties
    vocab = torch.arange(scores.shape[-1])
    if spec.get("suppress_tokens") is not None:
        scores = torch.where(torch.isin(vocab, torch.tensor(spec["suppress_tokens"])), -float("inf"), scores)
    if spec.get("begin_suppress_tokens") is not None and cur_len == prompt_len:
        scores = torch.where(torch.isin(vocab, torch.tensor(spec["begin_suppress_tokens"])), -float("inf"), scores)
    if spec.get("renormalize_logits"):
        scores = scores.log_softmax(dim=-1)
    return scores


def last_logits(model, input_ids, mask):
    if isinstance(model, torch.Tensor):
        return model[input_ids[:, -1]]  # a Markov chain's table: the next token's logits by the last
    # No cache: the whole sequence each step; positions counted from each row's first real token.
    position_ids = mask.long().cumsum(-1) - 1
    position_ids.masked_fill_(mask == 0, 1)
    logits, _, _ = model(input_ids, attention_mask=mask, position_ids=position_ids)
    return logits[:, -1, :].float()


def generate(model, spec):
    if "markov" in spec:
        model = torch.tensor(spec["markov"], dtype=torch.float)
    prompts = spec["prompts"]
    eos = eos_ids(spec)
    pad = spec.get("pad_token_id")
    if pad is None:
        pad = eos[0] if eos else 0  # (HF: pad_token_id, None for GPT-2, becomes eos_token_id[0])
    longest = max(len(p) for p in prompts)
    input_ids = torch.tensor([[pad] * (longest - len(p)) + p for p in prompts])
    mask = torch.tensor([[0] * (longest - len(p)) + [1] * len(p) for p in prompts])
    prompt_len = longest
    max_length = prompt_len + spec["max_new_tokens"]
    num_beams = spec.get("num_beams", 1)
    record = spec.get("output_scores", False)
    steps_scores = []
    if num_beams == 1 and spec.get("penalty_alpha", 0) > 0 and spec.get("top_k", 50) > 1:
        input_ids, steps_scores = contrastive(model, spec, input_ids, mask, prompt_len, max_length, eos, pad)
        rows = [row[longest - len(p):] for row, p in zip(input_ids.tolist(), prompts)]
        if record:
            return rows, [], recorded(steps_scores, input_ids, None, model)
        return rows, []
    if num_beams == 1:
        unfinished = torch.ones(len(prompts), dtype=torch.long)
        while input_ids.shape[-1] < max_length:
            scores = process_logits(input_ids, last_logits(model, input_ids, mask), spec, prompt_len)
            if record:
                steps_scores.append(scores)
            next_tokens = scores.argmax(-1)
            if eos:
                next_tokens = next_tokens * unfinished + pad * (1 - unfinished)
                unfinished = unfinished & (~torch.isin(next_tokens, torch.tensor(eos))).long()  # EosTokenCriteria
            input_ids = torch.cat([input_ids, next_tokens[:, None]], -1)
            mask = torch.cat([mask, torch.ones_like(mask[:, :1])], -1)
            if eos and unfinished.max() == 0:
                break
        rows = [row[longest - len(p):] for row, p in zip(input_ids.tolist(), prompts)]
        if record:
            return rows, [], recorded(steps_scores, input_ids, None, model)
        return rows, []

    batch_size = len(prompts)
    keep = spec.get("num_return_sequences", 1)
    scorer = BeamSearchScorer(batch_size, num_beams, spec.get("length_penalty", 1.0), spec.get("early_stopping", False), keep, max_length)
    input_ids = input_ids.repeat_interleave(num_beams, 0)
    mask = mask.repeat_interleave(num_beams, 0)
    beam_scores = torch.zeros((batch_size, num_beams), dtype=torch.float)
    beam_scores[:, 1:] = -1e9
    beam_scores = beam_scores.view(-1)
    beam_indices = tuple(() for _ in range(batch_size * num_beams)) if record else None
    sample = spec.get("do_sample", False)  # beam sampling: HF's _beam_sample
    if sample:
        torch.manual_seed(spec["seed"])
    while True:
        scores = torch.log_softmax(last_logits(model, input_ids, mask), dim=-1)
        scores = process_logits(input_ids, scores, spec, prompt_len)
        if sample:
            scores = warp_scores(scores, spec, 2)  # (min_tokens_to_keep 2 with beams)
        if record:
            steps_scores.append(scores)
        scores = scores + beam_scores[:, None].expand_as(scores)
        vocab_size = scores.shape[-1]
        scores = scores.view(batch_size, num_beams * vocab_size)
        n_tokens_to_keep = max(2, 1 + len(eos)) * num_beams
        if sample:  # 2 x num_beams candidates drawn by their probability, then sorted
            next_tokens = torch.multinomial(torch.softmax(scores, dim=-1), num_samples=n_tokens_to_keep)
            next_scores = torch.gather(scores, -1, next_tokens)
            next_scores, order = torch.sort(next_scores, descending=True, dim=1)
            next_tokens = torch.gather(next_tokens, -1, order)
        else:
            next_scores, next_tokens = torch.topk(scores, n_tokens_to_keep, dim=1, largest=True, sorted=True)
        next_indices = torch.div(next_tokens, vocab_size, rounding_mode="floor")
        next_tokens = next_tokens % vocab_size
        beam_scores, beam_next_tokens, beam_idx = scorer.process(input_ids, next_scores, next_tokens, next_indices, pad, eos, prompt_len, beam_indices)
        input_ids = torch.cat([input_ids[beam_idx, :], beam_next_tokens.unsqueeze(-1)], dim=-1)
        if record:
            beam_indices = tuple(beam_indices[beam_idx[i]] + (beam_idx[i].item(),) for i in range(len(beam_indices)))
        # (HF does not reorder the mask: a prompt's beams share it.)
        mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=-1)
        if scorer.is_done or input_ids.shape[-1] >= max_length:
            break
    decoded, best_scores, indices = scorer.finalize(input_ids, beam_scores, pad, eos, max_length, prompt_len, beam_indices)
    rows = decoded.tolist()
    rows = [row[longest - len(prompts[i // keep]):] for i, row in enumerate(rows)]
    if record:
        return rows, best_scores, recorded(steps_scores, decoded, indices, model)
    return rows, best_scores


def ranking_fast(context_hidden, next_hidden, next_top_k_probs, cosine_matrix_mask, alpha, beta):
    """transformers' _ranking_fast: each row's candidate of the best contrastive score."""
    norm_context_hidden = context_hidden / context_hidden.norm(dim=2, keepdim=True)
    norm_next_hidden = next_hidden / next_hidden.norm(dim=2, keepdim=True)
    cosine_matrix = torch.matmul(norm_context_hidden, norm_next_hidden.transpose(1, 2)).squeeze(-1)  # [B*K, S]
    cosine_matrix_mask = cosine_matrix_mask.to(dtype=cosine_matrix.dtype)
    cosine_matrix_mask = (1 - cosine_matrix_mask) * torch.finfo(cosine_matrix.dtype).min
    cosine_matrix = cosine_matrix + cosine_matrix_mask
    degeneration_penalty, _ = torch.max(cosine_matrix, dim=-1)  # [B*K]
    next_top_k_probs = next_top_k_probs.view(-1)  # [B*K]
    contrastive_score = (1.0 - alpha) * next_top_k_probs - alpha * degeneration_penalty
    contrastive_score = torch.stack(torch.split(contrastive_score, beta))  # [B, K]
    _, selected_idx = contrastive_score.max(dim=-1)  # [B]
    return selected_idx


def contrastive(model, spec, input_ids, mask, prompt_len, max_length, eos, pad):
    """GenerationMixin._contrastive_search without a cache: each step the whole sequence gives the
    context's last hidden states (HF's last_hidden_states) and the next token's logits, and each of
    the top_k candidates is run appended to it (HF runs them on the cache repeated top_k times).
    A finished row continues with pad (HF's cache keeps the chosen candidate there: no token differs)."""
    alpha, top_k = spec["penalty_alpha"], spec.get("top_k", 50)
    batch_size = input_ids.shape[0]
    unfinished = torch.ones(batch_size, dtype=torch.long)
    steps_scores = []

    def last_hidden(ids, m):
        pos = m.long().cumsum(-1) - 1
        pos.masked_fill_(m == 0, 1)
        return model.transformer(ids, attention_mask=m, position_ids=pos)[0]

    while input_ids.shape[-1] < max_length:
        context_hidden = last_hidden(input_ids, mask)
        logit_for_next_step = model.lm_head(context_hidden[:, -1, :]).float()
        processed = process_logits(input_ids, logit_for_next_step, spec, prompt_len)
        steps_scores.append(processed)
        top_k_probs, top_k_ids = torch.topk(torch.softmax(processed, dim=-1), dim=-1, k=top_k)
        candidate_ids = torch.cat([input_ids.repeat_interleave(top_k, dim=0), top_k_ids.view(-1, 1)], dim=-1)
        candidate_mask = torch.cat([mask.repeat_interleave(top_k, dim=0), torch.ones((batch_size * top_k, 1), dtype=mask.dtype)], dim=-1)
        next_hidden = last_hidden(candidate_ids, candidate_mask)[:, -1:, :]
        selected_idx = ranking_fast(context_hidden.repeat_interleave(top_k, dim=0), next_hidden, top_k_probs, mask.repeat_interleave(top_k, dim=0), alpha, top_k)
        next_tokens = top_k_ids[range(batch_size), selected_idx]
        if eos:
            next_tokens = next_tokens * unfinished + pad * (1 - unfinished)
            unfinished = unfinished & (~torch.isin(next_tokens, torch.tensor(eos))).long()
        input_ids = torch.cat([input_ids, next_tokens[:, None]], dim=-1)
        mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=-1)
        if eos and unfinished.max() == 0:
            break
    return input_ids, steps_scores


def is_done(ids, eos, max_length):
    """HF's stopping criteria on a sequence: MaxLengthCriteria, EosTokenCriteria (its last token)."""
    return ids.shape[1] >= max_length or (bool(eos) and ids[0, -1].item() in eos)


def prompt_lookup(input_ids, spec, eos, max_length, prompt_len):
    """PromptLookupCandidateGenerator.get_candidates: the tokens after the first earlier occurrence of the
    last n-gram, cut before the first token the processors forbid (-inf on scores of ones; a proposal
    forbidden from its first token gives way to the next occurrence), then before an eos.
    Two differences from transformers' code, both kept by tstorch: no more candidates than leave
    room for the model's own token before max_length (HF caps end_idx at max_length itself, so a
    proposal may run past it), and the forbidden-token check runs the processors only (HF's also
    runs the sampling warpers, whose top-p on flat scores forbids tokens by sort order)."""
    k, max_ngram = spec["prompt_lookup_num_tokens"], spec.get("max_matching_ngram_size") or 2
    input_length = input_ids.shape[1]
    if max_length <= input_length + 1:
        return input_ids
    vocab = len(spec["markov"])
    for ngram_size in range(min(max_ngram, input_length - 1), 0, -1):
        windows = input_ids.unfold(dimension=1, size=ngram_size, step=1)
        matches = (windows == input_ids[0, -ngram_size:]).all(dim=2)
        for idx in matches.nonzero(as_tuple=True)[1].tolist():
            start_idx = idx + ngram_size
            end_idx = min(start_idx + k, input_length, start_idx + max_length - input_length - 1)
            if start_idx >= end_idx:
                continue
            chosen = input_ids[0, start_idx:end_idx]
            with_candidate = input_ids
            for j, token in enumerate(chosen.tolist()):
                flat = process_logits(with_candidate, torch.ones((1, vocab)), spec, prompt_len)
                if flat[0, token].item() in (-math.inf, torch.finfo(torch.float32).min):
                    chosen = chosen[:j]
                    break
                with_candidate = torch.cat((input_ids, chosen[: j + 1][None]), dim=1)
            if chosen.shape[0] == 0:
                continue
            if eos:
                at = torch.nonzero(torch.isin(chosen, torch.tensor(eos)))
                if at.numel() > 0:
                    chosen = chosen[: at[0].item()]
            return torch.cat((input_ids, chosen[None]), dim=1)
    return input_ids


def assisted(spec):
    """GenerationMixin._assisted_decoding for one prompt, on Markov tables (the model's "markov",
    the assistant's "assistant_markov"), with its candidate generator: AssistedCandidateGenerator
    (the assistant's nested generate: _sample's loop, with the model's processors and warpers
    counted from the text so far, max_new_tokens the draft's length, min_new_tokens what is left
    of the model's min_length, stopped by an end token or ConfidenceCriteria) or
    PromptLookupCandidateGenerator. Sampling with the assistant is _speculative_sampling.
    The nested call builds its own processors from the settings, as transformers 4.4x; from 4.50
    the candidate generator hands it the model's prepared list, whose processors (counted from the
    prompt) take the place of its own and whose warpers come on top of its own (applied twice)."""
    model = torch.tensor(spec["markov"], dtype=torch.float)
    assistant = torch.tensor(spec["assistant_markov"], dtype=torch.float) if "assistant_markov" in spec else None
    eos = eos_ids(spec)
    input_ids = torch.tensor(spec["prompts"][:1])
    prompt_len = input_ids.shape[1]
    max_length = prompt_len + spec["max_new_tokens"]
    min_length = prompt_len + spec.get("min_new_tokens", 0)
    do_sample = spec.get("do_sample", False)
    if do_sample:
        torch.manual_seed(spec["seed"])
    num_assistant_tokens = spec.get("num_assistant_tokens", 20)
    schedule = spec.get("num_assistant_tokens_schedule", "constant")
    threshold = spec.get("assistant_confidence_threshold", 0.4)

    def scores_at(ids, logits, sub_spec, plen):
        scores = process_logits(ids, logits, sub_spec, plen)
        return warp_scores(scores, sub_spec) if do_sample else scores

    passes = 0
    steps_scores = []
    while True:
        cur_len = input_ids.shape[1]
        # 1. the candidates
        candidate_input_ids, candidate_logits = input_ids, None
        if assistant is not None:
            max_new = min(num_assistant_tokens, max_length - cur_len - 1)
            if max_new > 0:
                sub = dict(spec, max_new_tokens=max_new, min_new_tokens=max(min(max_new, min_length - cur_len), 0))
                draft_scores = []
                while candidate_input_ids.shape[1] < cur_len + max_new:
                    s = scores_at(candidate_input_ids, assistant[candidate_input_ids[:, -1]], sub, cur_len)
                    draft_scores.append(s)
                    probs = torch.softmax(s, dim=-1)
                    t = torch.multinomial(probs, num_samples=1).squeeze(1) if do_sample else s.argmax(-1)
                    candidate_input_ids = torch.cat([candidate_input_ids, t[:, None]], dim=-1)
                    if eos and t.item() in eos:
                        break
                    if threshold and s.softmax(-1)[0, t.item()].item() < threshold:  # ConfidenceCriteria
                        break
                candidate_logits = torch.stack(draft_scores, dim=1)
        else:
            candidate_input_ids = prompt_lookup(input_ids, spec, eos, max_length, prompt_len)
        candidate_length = candidate_input_ids.shape[1] - cur_len
        is_done_candidate = is_done(candidate_input_ids, eos, max_length) if candidate_length > 0 else False
        # 2. the model's logits after the text and after each candidate, processed (and warped)
        passes += 1
        new_logits = model[candidate_input_ids[0, cur_len - 1:]][None].clone()
        for i in range(candidate_length + 1):
            new_logits[:, i, :] = scores_at(candidate_input_ids[:, : cur_len + i], new_logits[:, i, :], spec, prompt_len)
        # 3. the accepted tokens
        if do_sample and candidate_logits is not None:
            valid_tokens, n_matches = speculative_sampling(candidate_input_ids, candidate_logits, candidate_length, new_logits, is_done_candidate)
        else:
            if do_sample:
                selected_tokens = torch.multinomial(new_logits.softmax(dim=-1)[0, :, :], num_samples=1).squeeze(1)[None, :]
            else:
                selected_tokens = new_logits.argmax(dim=-1)
            candidate_new_tokens = candidate_input_ids[:, cur_len:]
            n_matches = ((~(candidate_new_tokens == selected_tokens[:, :-1])).cumsum(dim=-1) < 1).sum().item()
            if is_done_candidate and n_matches == candidate_length:
                n_matches -= 1
            valid_tokens = selected_tokens[:, : n_matches + 1]
        input_ids = torch.cat((input_ids, valid_tokens), dim=-1)
        # 5. update_candidate_strategy
        if assistant is not None and schedule in ("heuristic", "heuristic_transient"):
            num_assistant_tokens = num_assistant_tokens + 2 if n_matches == candidate_length else max(1, num_assistant_tokens - 1)
        steps_scores += [new_logits[:, i, :] for i in range(n_matches + 1)]
        if is_done(input_ids, eos, max_length):
            break
    return input_ids.tolist(), passes, steps_scores


def speculative_sampling(candidate_input_ids, candidate_logits, candidate_length, new_logits, is_done_candidate):
    """transformers' _speculative_sampling, as it is (but for its squeeze(0, 1), which torch 1.13 lacks:
    a reshape to the same (candidate_length,) values, drawing as many uniforms)."""
    new_candidate_input_ids = candidate_input_ids[:, -candidate_length:]
    q = candidate_logits.softmax(dim=-1)
    q_i = q[:, torch.arange(candidate_length), new_candidate_input_ids].reshape(-1)
    p = new_logits.softmax(dim=-1)
    p_i = p[:, torch.arange(candidate_length), new_candidate_input_ids].reshape(-1)
    probability_ratio = p_i / q_i
    r_i = torch.rand_like(probability_ratio)
    is_accepted = r_i <= probability_ratio
    n_matches = ((~is_accepted).cumsum(dim=-1) < 1).sum().item()
    if is_done_candidate and n_matches == candidate_length:
        n_matches -= 1
        valid_tokens = new_candidate_input_ids[:, : n_matches + 1]
    else:
        gamma = candidate_logits.shape[1]
        p_n_plus_1 = p[:, n_matches, :]
        if n_matches < gamma:
            q_n_plus_1 = q[:, n_matches, :]
            p_prime = torch.clamp((p_n_plus_1 - q_n_plus_1), min=0)
            p_prime.div_(p_prime.sum())
        else:
            p_prime = p_n_plus_1
        t = torch.multinomial(p_prime, num_samples=1).squeeze(1)[None, :]
        valid_tokens = torch.cat((new_candidate_input_ids[:, :n_matches], t), dim=-1) if n_matches > 0 else t
    return valid_tokens, n_matches


def compute_transition_scores(sequences, scores, beam_indices, vocab_size, normalize_logits=False):
    """GenerationMixin.compute_transition_scores."""
    if beam_indices is None:
        beam_indices = torch.arange(scores[0].shape[0]).view(-1, 1)
        beam_indices = beam_indices.expand(-1, len(scores))
    scores = torch.stack(scores).reshape(len(scores), -1).transpose(0, 1)
    if normalize_logits:
        scores = scores.reshape(-1, vocab_size, scores.shape[-1])
        scores = torch.nn.functional.log_softmax(scores, dim=1)
        scores = scores.reshape(-1, scores.shape[-1])
    beam_indices_mask = beam_indices < 0
    max_beam_length = (1 - beam_indices_mask.long()).sum(-1).max()
    beam_indices = beam_indices.clone()[:, :max_beam_length]
    beam_indices_mask = beam_indices_mask[:, :max_beam_length]
    beam_indices[beam_indices_mask] = 0
    beam_sequence_indices = beam_indices * vocab_size
    cut_idx = sequences.shape[-1] - max_beam_length
    indices = sequences[:, cut_idx:] + beam_sequence_indices
    transition_scores = scores.gather(0, indices)
    transition_scores[beam_indices_mask] = 0
    return transition_scores


def recorded(steps_scores, sequences, beam_indices, model):
    """output_scores: each step's processed scores, the beam indices (their entries >= 0), and the
    transition scores (plain and normalize_logits)."""
    vocab = steps_scores[0].shape[-1]
    finite = lambda t: torch.where(torch.isfinite(t), t, torch.full_like(t, -1e30)).tolist()  # (JSON has no -inf)
    out = {"step_scores": [finite(t) for t in steps_scores]}
    if beam_indices is not None:
        out["beam_indices"] = [[i for i in row if i >= 0] for row in beam_indices.tolist()]
    out["transition"] = finite(compute_transition_scores(sequences, steps_scores, beam_indices, vocab))
    out["transition_normalized"] = finite(compute_transition_scores(sequences, steps_scores, beam_indices, vocab, True))
    return out


def warp_scores(scores, spec, min_tokens_to_keep=1):
    """HF's sampling warpers (Temperature, TopK, TopP, MinP, Typical, Epsilon, Eta LogitsWarper), in
    its order, each keeping at least min_tokens_to_keep tokens a row (2 in beam sampling)."""
    temperature, top_k, top_p = spec.get("temperature", 1.0), spec.get("top_k", 50), spec.get("top_p", 1.0)
    m = min_tokens_to_keep
    if temperature != 1.0:
        scores = scores / temperature
    if top_k != 0:
        top_k = min(max(top_k, m), scores.size(-1))
        indices_to_remove = scores < torch.topk(scores, top_k)[0][..., -1, None]
        scores = scores.masked_fill(indices_to_remove, -float("inf"))
    if top_p < 1.0:
        sorted_logits, sorted_indices = torch.sort(scores, descending=False)
        cumulative_probs = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
        sorted_indices_to_remove = cumulative_probs <= (1 - top_p)
        sorted_indices_to_remove[..., -m:] = 0
        indices_to_remove = sorted_indices_to_remove.scatter(1, sorted_indices, sorted_indices_to_remove)
        scores = scores.masked_fill(indices_to_remove, -float("inf"))
    min_p = spec.get("min_p")
    if min_p is not None:
        probs = torch.softmax(scores, dim=-1)
        top_probs, _ = probs.max(dim=-1, keepdim=True)
        tokens_to_remove = probs < min_p * top_probs
        sorted_indices = torch.argsort(scores, descending=True, dim=-1)
        sorted_indices_to_remove = torch.gather(tokens_to_remove, dim=-1, index=sorted_indices)
        sorted_indices_to_remove[..., :m] = False
        indices_to_remove = sorted_indices_to_remove.scatter(1, sorted_indices, sorted_indices_to_remove)
        scores = scores.masked_fill(indices_to_remove, -float("inf"))
    typical_p = spec.get("typical_p")
    if typical_p is not None and typical_p < 1.0:  # TypicalLogitsWarper
        normalized = torch.nn.functional.log_softmax(scores, dim=-1)
        p = torch.exp(normalized)
        ent = -(normalized * p).nansum(-1, keepdim=True)
        shifted_scores = torch.abs((-normalized) - ent)
        sorted_scores, sorted_indices = torch.sort(shifted_scores, descending=False)
        sorted_logits = scores.gather(-1, sorted_indices)
        cumulative_probs = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
        last_ind = (cumulative_probs < typical_p).sum(dim=1)
        last_ind.clamp_(max=sorted_scores.shape[-1] - 1)
        sorted_indices_to_remove = sorted_scores > sorted_scores.gather(1, last_ind.view(-1, 1))
        sorted_indices_to_remove[..., :m] = 0
        indices_to_remove = sorted_indices_to_remove.scatter(1, sorted_indices, sorted_indices_to_remove)
        scores = scores.masked_fill(indices_to_remove, -float("inf"))
    guard = min(m, scores.size(-1))
    epsilon = spec.get("epsilon_cutoff")
    if epsilon is not None and 0.0 < epsilon < 1.0:  # EpsilonLogitsWarper
        indices_to_remove = scores.softmax(dim=-1) < epsilon
        indices_to_remove = indices_to_remove & (scores < torch.topk(scores, guard)[0][..., -1, None])
        scores = scores.masked_fill(indices_to_remove, -float("inf"))
    eta = spec.get("eta_cutoff")
    if eta is not None and 0.0 < eta < 1.0:  # EtaLogitsWarper
        probabilities = scores.softmax(dim=-1)
        entropy = torch.distributions.Categorical(logits=scores).entropy()
        cutoff = torch.min(torch.tensor(eta), torch.sqrt(torch.tensor(eta)) * torch.exp(-entropy))[..., None]
        indices_to_remove = (probabilities < cutoff) & (scores < torch.topk(scores, guard)[0][..., -1, None])
        scores = scores.masked_fill(indices_to_remove, -float("inf"))
    return scores


def warp(spec):
    """The warpers on given scores: which tokens they keep, and the kept ones' scores."""
    scores = warp_scores(torch.tensor(spec["scores"], dtype=torch.float), spec, spec.get("min_tokens_to_keep", 1))
    kept = torch.isfinite(scores)
    return {"kept": kept.tolist(), "scores": torch.where(kept, scores, torch.zeros_like(scores)).tolist()}


def main(model_dir, spec_file, out_file):
    specs = json.load(open(spec_file))
    model = None if model_dir == "-" else gpt2_ref.from_pretrained(model_dir)
    out = []
    with torch.no_grad():
        for spec in specs if isinstance(specs, list) else [specs]:
            if "warp" in spec:
                out.append(warp(spec["warp"]))
                continue
            if "prompt_lookup_num_tokens" in spec or "assistant_markov" in spec:
                sequences, passes, steps_scores = assisted(spec)
                finite = lambda t: torch.where(torch.isfinite(t), t, torch.full_like(t, -1e30)).tolist()
                out.append({"sequences": sequences, "passes": passes, "step_scores": [finite(t) for t in steps_scores]})
                continue
            sequences, scores, *extra = generate(model, spec)
            out.append({"sequences": sequences, "scores": scores, **(extra[0] if extra else {})})
    json.dump(out if isinstance(specs, list) else out[0], open(out_file, "w"))


if __name__ == "__main__":
    torch.set_num_threads(1)
    main(*sys.argv[1:])
