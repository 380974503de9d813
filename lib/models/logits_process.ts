// Hugging Face's logits processors and sampling warpers (transformers' logits_process.py), in its
// order: what turns a step's logits into the scores a token is chosen from. Processors (sequence
// bias, repetition penalty, OpenAI's frequency and presence penalties, no-repeat n-grams, bad words, minimum new tokens, forced eos, length
// penalty on eos, suppressed tokens, renormalisation) run in every decoding mode; warpers
// (temperature, top-k, top-p, min-p, typical-p, epsilon and eta cutoffs) only when sampling.
import { Tensor } from '../tensor/tensor';
import { full, tensor, zeros } from '../tensor/creation';
import { cat } from '../tensor/ops';
import * as F from '../nn/functional';
import type { GenerateOptions } from './generation';

/** The end tokens, as HF's eos_token_id: one id, several (any of them ends a sequence), or none (null). */
export type EosTokenIds = number | readonly number[] | null;

/** The end tokens as a list (empty: none). */
export function eosList(eos: EosTokenIds | undefined): readonly number[] {
  return eos === null || eos === undefined ? [] : typeof eos === 'number' ? [eos] : eos;
}

/** Where a decoding step is: new tokens so far, and HF's input_ids_seq_length and max_length (both with padding). */
export interface DecodeStep {
  newTokens: number;
  promptLength: number;
  maxLength: number;
}

/**
 * HF's logits processors, in its order (_get_logits_processor): sequence bias, repetition penalty
 * (then OpenAI's frequency and presence penalties, not HF's), no-repeat n-grams, bad words, min new tokens, the prefix constraint, forced eos, exponential decay length penalty,
 * suppressed tokens, tokens suppressed at the beginning, and, last, renormalisation. rowsOf gives the
 * sequences with their left padding, as HF sees them (asked for only when a processor needs them).
 */
export function processLogits(scores: Tensor, rowsOf: () => number[][], o: GenerateOptions, step: DecodeStep, eos: EosTokenIds): Tensor {
  let padded: number[][] | undefined;
  const rows = () => (padded ??= rowsOf()); // (built once a step, however many processors read them)
  const [B, V] = scores.shape;
  const ends = eosList(eos);
  const dev = { device: scores.device };
  const curLength = step.promptLength + step.newTokens;
  if (o.sequenceBias?.length) scores = addSequenceBias(scores, rows(), o.sequenceBias);
  const penalty = o.repetitionPenalty ?? 1;
  if (penalty !== 1) scores = repetitionPenalty(scores, tensor(rows(), { dtype: 'int64', ...dev }), penalty);
  if (o.frequencyPenalty || o.presencePenalty) scores = occurrencePenalties(scores, rows().map((r) => r.slice(step.promptLength)), o.frequencyPenalty ?? 0, o.presencePenalty ?? 0);
  const banned: number[] = []; // flat positions row * V + token
  const n = o.noRepeatNgramSize ?? 0;
  if (n > 0) noRepeatNgramBans(rows(), n).forEach((tokens, row) => { for (const t of tokens) banned.push(row * V + t); });
  scores = banAt(scores, banned);
  if (o.badWordsIds?.length) {
    // HF's NoBadWordsLogitsProcessor: a sequence bias of -inf (a bad "word" that is an end token alone is left out)
    const bad = o.badWordsIds.filter((w) => !(w.length === 1 && ends.includes(w[0])));
    if (bad.length) scores = addSequenceBias(scores, rows(), bad.map((w) => [w, -Infinity] as [number[], number]));
  }
  const eosBans: number[] = [];
  if (step.newTokens < (o.minNewTokens ?? 0)) for (let row = 0; row < B; row++) for (const e of ends) eosBans.push(row * V + e);
  scores = banAt(scores, eosBans);
  if (o.prefixAllowedTokensFn) scores = scores.add(prefixConstraint(o.prefixAllowedTokensFn, rows(), o.numBeams ?? 1, V, scores));
  if (o.forcedEosTokenId !== undefined && curLength === step.maxLength - 1) {
    // HF's ForcedEOSTokenLogitsProcessor: the last token can only be it
    scores = full([B, V], -Infinity, { dtype: scores.dtype, ...dev }).indexFill(1, tensor([o.forcedEosTokenId], { dtype: 'int64', ...dev }), 0);
  }
  const decay = o.exponentialDecayLengthPenalty;
  if (decay && ends.length && curLength > decay[0] + step.promptLength) {
    // HF's ExponentialDecayLengthPenalty: each end token's score + |score|·(factor^(tokens past start) - 1)
    const at = tensor([...new Set(ends)], { dtype: 'int64', ...dev });
    scores = scores.indexAdd(1, at, scores.indexSelect(1, at).abs().mul(decay[1] ** (curLength - decay[0] - step.promptLength) - 1));
  }
  const suppress = [...(o.suppressTokens ?? []), ...(step.newTokens === 0 ? o.beginSuppressTokens ?? [] : [])];
  if (suppress.length) scores = scores.indexFill(1, tensor(suppress, { dtype: 'int64', ...dev }), -Infinity);
  if (o.renormalizeLogits) scores = F.logSoftmax(scores, -1);
  return scores;
}

/**
 * OpenAI's frequency and presence penalties (as vLLM applies them, after the repetition penalty):
 * each token's score less frequency x how often it was generated so far, and less presence once
 * if it was at all. Only the new tokens count (generated[row]), not the prompt.
 */
export function occurrencePenalties(scores: Tensor, generated: number[][], frequency: number, presence: number): Tensor {
  const [B, V] = scores.shape;
  const counts = new Map<number, number>(); // flat position row * V + token -> occurrences
  generated.forEach((tokens, row) => { for (const t of tokens) counts.set(row * V + t, (counts.get(row * V + t) ?? 0) + 1); });
  if (!counts.size) return scores;
  const at = tensor([...counts.keys()], { dtype: 'int64', device: scores.device });
  const penalty = tensor([...counts.values()].map((c) => frequency * c + presence), { dtype: scores.dtype, device: scores.device });
  return scores.sub(zeros([B * V], { dtype: scores.dtype, device: scores.device }).indexPut_([at], penalty).view([B, V]));
}

/**
 * HF's PrefixConstrainedLogitsProcessor: 0 where fn allows a row's next token, -inf elsewhere. fn
 * gets the row's batch id (its prompt, rows of a prompt's beams sharing it; HF's, by numBeams) and
 * its tokens with their left padding; no token allowed is an error, as in HF.
 */
function prefixConstraint(fn: (batchId: number, inputIds: number[]) => number[], rows: number[][], numBeams: number, V: number, like: Tensor): Tensor {
  const allowed: number[] = [];
  rows.forEach((row, r) => {
    const batchId = Math.floor(r / numBeams);
    const tokens = fn(batchId, [...row]);
    if (!Array.isArray(tokens) || !tokens.length) {
      throw new Error(`generate: prefixAllowedTokensFn gave no tokens for batch ${batchId}: the constraint cannot be met (it must return the token ids allowed next)`);
    }
    for (const t of tokens) {
      if (!Number.isInteger(t) || t < 0 || t >= V) throw new Error(`generate: prefixAllowedTokensFn gave ${t} for batch ${batchId}, not a token id of this vocabulary (0 .. ${V - 1})`);
      allowed.push(r * V + t);
    }
  });
  return full([rows.length * V], -Infinity, { dtype: like.dtype, device: like.device }).indexFill(0, tensor(allowed, { dtype: 'int64', device: like.device }), 0).view([rows.length, V]);
}

/** -inf at the flat positions row * V + token. */
function banAt(scores: Tensor, flat: number[]): Tensor {
  if (!flat.length) return scores;
  return scores.contiguous().view([-1]).scatter(0, tensor(flat, { dtype: 'int64', device: scores.device }), -Infinity).view(scores.shape);
}

/**
 * HF's SequenceBiasLogitsProcessor: a one-token sequence's bias always goes to its token; a longer
 * one's to its last token in the rows that end in the rest of it (not when it is longer than the rows).
 */
export function addSequenceBias(scores: Tensor, rows: number[][], bias: [number[], number][]): Tensor {
  const [B, V] = scores.shape;
  for (const [seq] of bias) {
    const over = seq.filter((t) => t >= V);
    if (over.length) throw new Error(`generate: the model's vocabulary has ${V} tokens, but these are biased or banned: ${over.join(', ')}`);
  }
  const sums = new Map<number, number>(); // flat position -> summed bias (HF: += per sequence)
  const add = (at: number, b: number) => sums.set(at, (sums.get(at) ?? 0) + b);
  const single = new Map<number, number>(); // HF keeps one bias per one-token sequence: the last given
  for (const [seq, b] of bias) if (seq.length === 1) single.set(seq[0], b);
  for (let row = 0; row < B; row++) {
    for (const [t, b] of single) add(row * V + t, b);
    const tokens = rows[row];
    for (const [seq, b] of bias) {
      if (seq.length === 1 || seq.length > tokens.length) continue;
      const prefix = seq.slice(0, -1), tail = tokens.slice(tokens.length - prefix.length);
      if (prefix.every((t, j) => t === tail[j])) add(row * V + seq[seq.length - 1], b);
    }
  }
  if (!sums.size) return scores;
  const at = tensor([...sums.keys()], { dtype: 'int64', device: scores.device });
  const values = tensor([...sums.values()], { dtype: scores.dtype, device: scores.device });
  return scores.add(zeros([B * V], { dtype: scores.dtype, device: scores.device }).indexPut_([at], values).view([B, V]));
}

/** HF's RepetitionPenaltyLogitsProcessor: each row's scores at its sequence's tokens, / penalty where > 0, * penalty where < 0. */
export function repetitionPenalty(scores: Tensor, ids: Tensor, penalty: number): Tensor {
  const seen = scores.gather(1, ids);
  return scores.scatter(1, ids, seen.mul(penalty).where(seen.lt(0), seen.div(penalty)));
}

/**
 * HF's NoRepeatNGramLogitsProcessor: for each row, the tokens that would complete an n-gram the
 * row already holds (its last n - 1 tokens followed by them somewhere before).
 */
export function noRepeatNgramBans(rows: number[][], n: number): number[][] {
  return rows.map((tokens) => {
    const len = tokens.length;
    if (len + 1 < n) return [];
    const banned = new Set<number>();
    const tail = tokens.slice(len + 1 - n);
    for (let start = 0; start + n <= len; start++) {
      let match = true;
      for (let j = 0; j < n - 1 && match; j++) match = tokens[start + j] === tail[j];
      if (match) banned.add(tokens[start + n - 1]);
    }
    return [...banned];
  });
}

/**
 * HF's sampling warpers in its order: temperature, top-k (default 50, as HF's GenerationConfig;
 * 0 keeps all), top-p, min-p, typical-p, epsilon and eta cutoffs. Tokens left out get -inf. Each
 * keeps at least minTokensToKeep of a row (HF's min_tokens_to_keep: 1 for sampling, 2 for beam
 * sampling, so that every beam can continue).
 */
export function warpScores(logits: Tensor, opts: GenerateOptions, minTokensToKeep = 1): Tensor {
  const m = Math.min(minTokensToKeep, logits.shape[1]);
  let scores = opts.temperature && opts.temperature > 0 && opts.temperature !== 1 ? logits.div(opts.temperature) : logits;
  const topK = opts.topK ?? 50;
  if (topK > 0 && Math.max(topK, m) < scores.shape[1]) {
    const k = Math.max(topK, m);
    const kth = scores.topk(k, -1).values.narrow(1, k - 1, 1);
    scores = scores.maskedFill(scores.lt(kth), -Infinity);
  }
  // A row's m best stay whatever a cutoff says (epsilon, eta: HF's topk(min_tokens_to_keep) guard).
  const belowTopM = (s: Tensor) => s.lt(s.topk(m, -1).values.narrow(1, m - 1, 1));
  const [B, V] = scores.shape;
  if (opts.topP !== undefined && opts.topP < 1) {
    // Sorted ascending: drop the low tail whose cumulative probability is <= 1 - top_p, keep the last m.
    const { values, indices } = scores.sort(-1, false);
    const cum = F.softmax(values, -1).cumsum(-1);
    const drop = cum.le(1 - opts.topP);
    const keepBest = zeros([B, m], { dtype: 'bool', device: scores.device });
    const sortedRemove = cat([drop.narrow(1, 0, V - m), keepBest], 1);
    const remove = sortedRemove.scatter(1, indices, sortedRemove);
    scores = scores.maskedFill(remove, -Infinity);
  }
  if (opts.minP !== undefined && opts.minP > 0) {
    // HF's MinPLogitsWarper: below minP times the top probability is out (the m best always stay).
    const probs = F.softmax(scores, -1);
    const threshold = probs.max(-1, true).values.mul(opts.minP);
    scores = scores.maskedFill(probs.lt(threshold).logicalAnd(belowTopM(scores)), -Infinity);
  }
  if (opts.typicalP !== undefined && opts.typicalP < 1) {
    // HF's TypicalLogitsWarper: tokens by how far their surprisal is from the entropy, kept up to typicalP mass.
    const logp = F.logSoftmax(scores, -1);
    const entropy = logp.mul(logp.exp()).nansum(-1, true).neg();
    const { values: shifted, indices } = logp.neg().sub(entropy).abs().sort(-1, false);
    const cum = F.softmax(scores.gather(1, indices), -1).cumsum(-1);
    const last = cum.lt(opts.typicalP).sum(1).clamp(null, V - 1).unsqueeze(1);
    const sortedRemove = shifted.gt(shifted.gather(1, last));
    const keepFirst = cat([zeros([B, m], { dtype: 'bool', device: scores.device }), sortedRemove.narrow(1, m, V - m)], 1);
    scores = scores.maskedFill(keepFirst.scatter(1, indices, keepFirst), -Infinity);
  }
  if (opts.epsilonCutoff !== undefined && opts.epsilonCutoff > 0) {
    // HF's EpsilonLogitsWarper: probabilities below epsilon out, the m best kept
    scores = scores.maskedFill(F.softmax(scores, -1).lt(opts.epsilonCutoff).logicalAnd(belowTopM(scores)), -Infinity);
  }
  if (opts.etaCutoff !== undefined && opts.etaCutoff > 0) {
    // HF's EtaLogitsWarper: the cutoff min(eta, sqrt(eta)·e^-H), H the entropy (Categorical's, -inf logits counted as 0)
    const probs = F.softmax(scores, -1);
    const logp = F.logSoftmax(scores, -1).clamp(-3.4028234663852886e38, null);
    const entropy = logp.mul(probs).sum(-1, true).neg();
    const eta = entropy.neg().exp().mul(Math.sqrt(opts.etaCutoff)).clamp(null, opts.etaCutoff);
    scores = scores.maskedFill(probs.lt(eta).logicalAnd(belowTopM(scores)), -Infinity);
  }
  return scores;
}
