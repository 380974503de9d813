// Beam search and HF's logits processors against scripts/reference/generate_ref.py: Hugging Face's
// generate (greedy and _beam_search with BeamSearchScorer) transcribed in plain PyTorch, run
// without a key/value cache, so our cache's reordering between beams is checked, not shared.
// Tokens must be equal; scores (HF's sequences_scores) within 1e-5 relative.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as torch from '../lib';
import { DecodingState, beamSearch, decodeAssisted, decodeGreedy, decodePromptLookup, eosList } from '../lib/models/generation';
import type { ForwardOptions, LayerPast } from '../lib/models/gpt2';
import { lessFlatGpt2, relErr, settledLiveTensors } from './helpers';

const PYTHON = '/usr/bin/python3';
const REF = path.join(__dirname, '..', 'scripts', 'reference', 'generate_ref.py');

interface RefSpec {
  prompts: number[][];
  max_new_tokens: number;
  num_beams: number;
  eos_token_id: number | number[] | null;
  pad_token_id?: number;
  num_return_sequences?: number;
  length_penalty?: number;
  early_stopping?: boolean | 'never';
  no_repeat_ngram_size?: number;
  repetition_penalty?: number;
  frequency_penalty?: number;
  presence_penalty?: number;
  min_new_tokens?: number;
  sequence_bias?: [number[], number][];
  bad_words_ids?: number[][];
  suppress_tokens?: number[];
  begin_suppress_tokens?: number[];
  forced_eos_token_id?: number;
  exponential_decay_length_penalty?: [number, number];
  renormalize_logits?: boolean;
  penalty_alpha?: number;
  top_k?: number;
  prefix_allowed?: number[][][];
}

function options(s: RefSpec): torch.GenerateOptions {
  return {
    maxNewTokens: s.max_new_tokens, numBeams: s.num_beams, eosTokenId: s.eos_token_id, padTokenId: s.pad_token_id, numReturnSequences: s.num_return_sequences,
    lengthPenalty: s.length_penalty, earlyStopping: s.early_stopping, noRepeatNgramSize: s.no_repeat_ngram_size,
    repetitionPenalty: s.repetition_penalty, frequencyPenalty: s.frequency_penalty, presencePenalty: s.presence_penalty, minNewTokens: s.min_new_tokens, sequenceBias: s.sequence_bias, badWordsIds: s.bad_words_ids,
    suppressTokens: s.suppress_tokens, beginSuppressTokens: s.begin_suppress_tokens, forcedEosTokenId: s.forced_eos_token_id,
    exponentialDecayLengthPenalty: s.exponential_decay_length_penalty, renormalizeLogits: s.renormalize_logits,
    penaltyAlpha: s.penalty_alpha, topK: s.top_k,
    prefixAllowedTokensFn: s.prefix_allowed && ((b: number, ids: number[]) => s.prefix_allowed![b][ids[ids.length - 1] % s.prefix_allowed![b].length]),
  };
}

let tmp: string;
let model: torch.GPT2LMHeadModel;
// Prompts of three lengths in one batch (left padding); eos 17 and 50 are tokens this model often
// picks, so hypotheses finish at different lengths.
const prompts = [[5, 17, 42, 8, 9, 3], [1], [7, 60, 7, 33]];
const specs: RefSpec[] = [
  { prompts, max_new_tokens: 12, num_beams: 4, num_return_sequences: 2, eos_token_id: 17 },
  { prompts, max_new_tokens: 12, num_beams: 4, num_return_sequences: 4, eos_token_id: 50, early_stopping: true, length_penalty: 0.5 },
  { prompts, max_new_tokens: 12, num_beams: 3, eos_token_id: 17, early_stopping: 'never', length_penalty: 2 },
  { prompts, max_new_tokens: 12, num_beams: 3, num_return_sequences: 3, eos_token_id: 17, no_repeat_ngram_size: 2, repetition_penalty: 1.3, min_new_tokens: 4 },
  { prompts, max_new_tokens: 12, num_beams: 2, eos_token_id: null },
  { prompts: [[9, 9, 9, 4]], max_new_tokens: 10, num_beams: 5, num_return_sequences: 5, eos_token_id: 17, length_penalty: -1 },
  // greedy, with the processors
  { prompts, max_new_tokens: 14, num_beams: 1, eos_token_id: 17, no_repeat_ngram_size: 3, min_new_tokens: 5 },
  { prompts, max_new_tokens: 14, num_beams: 1, eos_token_id: null, no_repeat_ngram_size: 1 },
  // sequence bias, bad words (eos alone is not one), suppressed tokens, forced eos, the exponential length penalty, renormalisation
  { prompts, max_new_tokens: 10, num_beams: 3, num_return_sequences: 2, eos_token_id: 17, sequence_bias: [[[17], 1.5], [[5, 9], -3], [[42, 8, 9], 2], [[7, 7], 4]],
    bad_words_ids: [[3], [60, 7], [17], [9, 9]], renormalize_logits: true },
  { prompts, max_new_tokens: 12, num_beams: 1, eos_token_id: 17, suppress_tokens: [50, 12], begin_suppress_tokens: [33, 9], exponential_decay_length_penalty: [3, 1.5], forced_eos_token_id: 21 },
  { prompts, max_new_tokens: 8, num_beams: 4, num_return_sequences: 4, eos_token_id: 50, exponential_decay_length_penalty: [2, 2], forced_eos_token_id: 50, suppress_tokens: [17] },
  { prompts, max_new_tokens: 9, num_beams: 1, eos_token_id: null, sequence_bias: [[[40], 3], [[40, 40], -6]], bad_words_ids: [[8, 9, 10]] },
  // several end tokens (HF's eos_token_id list): any ends a sequence, the first pads; every one
  // banned before min_new_tokens, raised by the length penalty, exempt as a bad word alone;
  // beam search weighs (1 + their number) x num_beams candidates
  { prompts, max_new_tokens: 12, num_beams: 1, eos_token_id: [50, 17], min_new_tokens: 2 },
  { prompts, max_new_tokens: 12, num_beams: 1, eos_token_id: [21, 17, 50], exponential_decay_length_penalty: [2, 1.5], bad_words_ids: [[17], [3]] },
  { prompts, max_new_tokens: 12, num_beams: 3, num_return_sequences: 3, eos_token_id: [50, 17] },
  { prompts, max_new_tokens: 10, num_beams: 4, num_return_sequences: 2, eos_token_id: [17, 21, 50], min_new_tokens: 3, early_stopping: true, length_penalty: 0.5 },
  // a pad token of its own (HF's pad_token_id): it left-pads the prompts (seen by the repetition
  // penalty) and continues finished sequences; in beam search it follows the first end token
  { prompts, max_new_tokens: 12, num_beams: 1, eos_token_id: 17, pad_token_id: 5, repetition_penalty: 1.3 },
  { prompts, max_new_tokens: 12, num_beams: 4, num_return_sequences: 3, eos_token_id: 17, pad_token_id: 5 },
  { prompts, max_new_tokens: 12, num_beams: 3, num_return_sequences: 3, eos_token_id: [50, 17], pad_token_id: 21, no_repeat_ngram_size: 2 },
  // contrastive search (HF's penalty_alpha with top_k): ragged prompts, end tokens, the processors
  { prompts, max_new_tokens: 12, num_beams: 1, eos_token_id: 17, penalty_alpha: 0.6, top_k: 4 },
  { prompts, max_new_tokens: 10, num_beams: 1, eos_token_id: null, penalty_alpha: 0.3, top_k: 8, repetition_penalty: 1.2, no_repeat_ngram_size: 3 },
  { prompts: [[9, 9, 9, 4]], max_new_tokens: 12, num_beams: 1, eos_token_id: [50, 17], pad_token_id: 5, penalty_alpha: 0.9, top_k: 3 },
  { prompts, max_new_tokens: 10, num_beams: 1, eos_token_id: 50, penalty_alpha: 0.5, top_k: 64, min_new_tokens: 3 },
];
const CONTRASTIVE_CASES = [19, 20, 21, 22];
// prefix_allowed_tokens_fn (a table: each prompt's allowed tokens by its last token), greedy, beam search, contrastive
const ALLOWED = [[[17, 3, 9], [4, 8], [50, 21, 5, 6]], [[1, 2, 3, 4, 5, 6, 7, 8]], [[60, 7], [33, 17, 40], [9]]];
specs.push(
  { prompts, max_new_tokens: 10, num_beams: 1, eos_token_id: 17, prefix_allowed: ALLOWED },
  { prompts, max_new_tokens: 10, num_beams: 3, num_return_sequences: 2, eos_token_id: 17, prefix_allowed: ALLOWED, no_repeat_ngram_size: 2 },
  { prompts, max_new_tokens: 10, num_beams: 1, eos_token_id: null, prefix_allowed: ALLOWED, penalty_alpha: 0.6, top_k: 3 },
);
const PREFIX_CASES = [23, 24, 25];
// OpenAI's frequency and presence penalties (vLLM's; the new tokens counted, not the prompt nor its
// left padding): greedy with a pad token of its own, negative (repeats encouraged), with the
// repetition penalty, beam search, contrastive search
specs.push(
  { prompts, max_new_tokens: 14, num_beams: 1, eos_token_id: 17, pad_token_id: 5, frequency_penalty: 1.5, presence_penalty: 0.5 },
  { prompts, max_new_tokens: 14, num_beams: 1, eos_token_id: null, frequency_penalty: -0.7 },
  { prompts, max_new_tokens: 12, num_beams: 1, eos_token_id: 50, presence_penalty: 2, repetition_penalty: 1.3, min_new_tokens: 3 },
  { prompts, max_new_tokens: 10, num_beams: 3, num_return_sequences: 2, eos_token_id: 17, frequency_penalty: 0.8, presence_penalty: 0.4 },
  { prompts, max_new_tokens: 10, num_beams: 1, eos_token_id: null, penalty_alpha: 0.4, top_k: 5, frequency_penalty: 1, presence_penalty: 1 },
);
const PENALTY_CASES = [26, 27, 28, 29, 30];
CONTRASTIVE_CASES.push(30);
const PAD_CASES = [16, 17, 18];
let want: { sequences: number[][]; scores: number[] }[];

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-gen-'));
  // A small random GPT-2 made less flat, so the beams differ from greedy and from each other.
  model = lessFlatGpt2();
  await model.savePretrained(tmp);
  fs.writeFileSync(path.join(tmp, 'specs.json'), JSON.stringify(specs));
  const r = spawnSync(PYTHON, [REF, tmp, path.join(tmp, 'specs.json'), path.join(tmp, 'want.json')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`generate_ref.py failed: ${r.stderr}`);
  want = JSON.parse(fs.readFileSync(path.join(tmp, 'want.json'), 'utf8'));
});
/** How many forward passes m makes while fn runs. */
function forwardCalls(m: torch.GPT2LMHeadModel, fn: () => unknown): number {
  const spy = jest.spyOn(m, 'forward');
  try {
    fn();
    return spy.mock.calls.length;
  } finally {
    spy.mockRestore();
  }
}

afterAll(() => {
  model?.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe.each(specs.map((s, i) => [i, s] as const))('generate as Hugging Face, case %i', (i, spec) => {
  test(`${spec.num_beams > 1 ? `beam search, ${spec.num_beams} beams` : spec.penalty_alpha ? 'contrastive search' : 'greedy'}: ${JSON.stringify({ ...spec, prompts: undefined })}`, () => {
    const before = torch.memory().liveTensors;
    if (spec.num_beams > 1) {
      const got = model.beamSearch(spec.prompts, options(spec));
      expect(got.sequences).toEqual(want[i].sequences);
      expect(got.scores).toHaveLength(want[i].scores.length);
      got.scores.forEach((s, k) => expect(Math.abs(s - want[i].scores[k]) / Math.abs(want[i].scores[k])).toBeLessThan(1e-5));
      // generate() gives the same sequences; without the cache, too.
      expect(model.generate(spec.prompts, options(spec))).toEqual(got.sequences);
      expect(model.generate(spec.prompts, { ...options(spec), useCache: false })).toEqual(got.sequences);
    } else {
      expect(model.generate(spec.prompts, options(spec))).toEqual(want[i].sequences);
      // the prompts (left-padded) through the model two positions a pass (HF's prefill_chunk_size): the same tokens
      if (!spec.penalty_alpha) expect(model.generate(spec.prompts, { ...options(spec), prefillChunkSize: 2 })).toEqual(want[i].sequences);
    }
    expect(torch.memory().liveTensors).toBe(before);
  });
});

// Beam search's bookkeeping (finished hypotheses, early stopping, length penalty, which beams
// survive) on random Markov chains: the next token's logits are a table's row of the last token,
// small enough a vocabulary (eos among 6 tokens) that many hypotheses finish at many lengths.
// The same tables go to the reference; tokens equal, scores within 1e-5.
test('beam search on 100 random Markov chains, as Hugging Face\'s', () => {
  const V = 6, eos = 0, markovPrompts = [[1], [2, 3], [4, 5, 1]];
  const cases: (RefSpec & { markov: number[][] })[] = [];
  const lengthPenalties = [1, 2, 0.5, -0.5, 0], stops: (boolean | 'never')[] = [false, true, 'never'];
  torch.manualSeed(7);
  // The settings drawn independently of each other (a small LCG), every one of them often.
  let seed = 12345;
  const pick = <T>(xs: T[]): T => xs[(seed = (seed * 1103515245 + 12345) % 2147483648) % xs.length];
  for (let i = 0; i < 100; i++) {
    const markov = torch.tidy(() => torch.randn([V, V]).mul(pick([1.5, 3, 5])).tolist() as number[][]);
    const K = pick([2, 3, 4]);
    cases.push({
      prompts: markovPrompts, markov, eos_token_id: pick([eos, eos, [eos, 3]]), num_beams: K, max_new_tokens: pick([4, 6, 8, 10, 12]),
      length_penalty: pick(lengthPenalties), early_stopping: pick(stops), num_return_sequences: pick([1, 2, 3, 4].filter((n) => n <= K)),
      ...(pick([0, 1, 2, 3]) === 3 ? { no_repeat_ngram_size: 2, min_new_tokens: 2 } : {}),
      ...(i % 4 === 1 ? { pad_token_id: 4 } : {}), // (a pad token of its own, after the first end token)
    });
  }
  const file = path.join(tmp, 'markov.json'), out = path.join(tmp, 'markov-want.json');
  fs.writeFileSync(file, JSON.stringify(cases));
  const r = spawnSync(PYTHON, [REF, '-', file, out], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`generate_ref.py failed: ${r.stderr}`);
  const ref: { sequences: number[][]; scores: number[] }[] = JSON.parse(fs.readFileSync(out, 'utf8'));
  let shorter = 0, listChanged = 0;
  cases.forEach((c, i) => {
    const run = (eosTokenId: number | number[]) => torch.tidy(() => {
      const table = torch.tensor(c.markov, { dtype: 'float32' });
      const forward = (ids: torch.Tensor) => ({ logits: table.indexSelect(0, ids.select(1, ids.shape[1] - 1)).unsqueeze(1) });
      const rows = c.prompts.flatMap((p) => Array.from({ length: c.num_beams }, () => [...p]));
      const longest = Math.max(...c.prompts.map((p) => p.length));
      const state = new DecodingState(forward, rows, rows.map((p) => longest - p.length), c.pad_token_id ?? eos, 'cpu', false);
      return beamSearch(state, options(c), eosTokenId, longest + c.max_new_tokens);
    });
    const got = run(c.eos_token_id as number | number[]);
    expect({ case: i, sequences: got.sequences }).toEqual({ case: i, sequences: ref[i].sequences });
    got.scores.forEach((s, k) => expect(Math.abs(s - ref[i].scores[k])).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(ref[i].scores[k]))));
    shorter += got.sequences.filter((s, k) => s.indexOf(eos, c.prompts[Math.floor(k / (c.num_return_sequences ?? 1))].length) >= 0).length;
    // (a hypothesis is stored without its end token, and returned with the first of the list: HF 4.4x's BeamSearchScorer)
    if (Array.isArray(c.eos_token_id)) listChanged += Number(JSON.stringify(run(eos).sequences) !== JSON.stringify(got.sequences));
  });
  expect(shorter).toBeGreaterThan(30); // many returned sequences ended with eos
  expect(listChanged).toBeGreaterThan(5); // the second end token of a list ended hypotheses too
});

// Beam sampling (HF's _beam_sample) on random Markov chains: the same tables and seed go to the
// reference, whose torch.multinomial draws from the same libtorch generator: the same candidates
// must be drawn, so tokens equal and scores within 1e-5.
test('beam sampling on 60 random Markov chains, as Hugging Face\'s (same seed, same draws)', () => {
  const V = 10, eos = 0, markovPrompts = [[1], [2, 3], [4, 5, 1]];
  const cases: (RefSpec & { markov: number[][]; do_sample: true; seed: number; temperature?: number; top_k?: number; top_p?: number })[] = [];
  torch.manualSeed(8);
  let seed = 777;
  const pick = <T>(xs: T[]): T => xs[(seed = (seed * 1103515245 + 12345) % 2147483648) % xs.length];
  for (let i = 0; i < 60; i++) {
    const markov = torch.tidy(() => torch.randn([V, V]).mul(pick([1, 2, 4])).tolist() as number[][]);
    const K = pick([2, 3]);
    cases.push({
      prompts: markovPrompts, markov, eos_token_id: eos, num_beams: K, max_new_tokens: pick([4, 6, 9]), do_sample: true, seed: 100 + i,
      length_penalty: pick([1, 0.5, 2]), early_stopping: pick([false, true, 'never'] as (boolean | 'never')[]), num_return_sequences: pick([1, 2].filter((n) => n <= K)),
      temperature: pick([0.7, 1, 1.5]), top_k: pick([0, 8, 50]), top_p: pick([1, 0.95]),
    });
  }
  const file = path.join(tmp, 'markov-sample.json'), out = path.join(tmp, 'markov-sample-want.json');
  fs.writeFileSync(file, JSON.stringify(cases));
  const r = spawnSync(PYTHON, [REF, '-', file, out], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`generate_ref.py failed: ${r.stderr}`);
  const ref: { sequences: number[][]; scores: number[] }[] = JSON.parse(fs.readFileSync(out, 'utf8'));
  const run = (c: (typeof cases)[number], sample: boolean) => torch.tidy(() => {
    const table = torch.tensor(c.markov, { dtype: 'float32' });
    const forward = (ids: torch.Tensor) => ({ logits: table.indexSelect(0, ids.select(1, ids.shape[1] - 1)).unsqueeze(1) });
    const rows = c.prompts.flatMap((p) => Array.from({ length: c.num_beams }, () => [...p]));
    const longest = Math.max(...c.prompts.map((p) => p.length));
    const state = new DecodingState(forward, rows, rows.map((p) => longest - p.length), eos, 'cpu', false);
    torch.manualSeed(c.seed);
    return beamSearch(state, { ...options(c), doSample: sample, temperature: c.temperature, topK: c.top_k, topP: c.top_p }, eos, longest + c.max_new_tokens);
  });
  let differs = 0;
  cases.forEach((c, i) => {
    const got = run(c, true);
    expect({ case: i, sequences: got.sequences }).toEqual({ case: i, sequences: ref[i].sequences });
    got.scores.forEach((s, k) => expect(Math.abs(s - ref[i].scores[k])).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(ref[i].scores[k]))));
    if (JSON.stringify(run(c, false).sequences) !== JSON.stringify(got.sequences)) differs++;
  });
  expect(differs).toBeGreaterThan(20); // drawing, not taking the best, changes what comes out
});

test('the cases exercise what they are meant to: finished hypotheses of several lengths, bans that change the text', () => {
  // Case 0: some returned sequences ended with eos before the length limit (then padded with it).
  const lengths = want[0].sequences.map((s, k) => s.length - prompts[Math.floor(k / 2)].length);
  const ended = want[0].sequences.filter((s, k) => s.slice(prompts[Math.floor(k / 2)].length).indexOf(17) < 11);
  expect(ended.length).toBeGreaterThan(0);
  expect(Math.min(...lengths)).toBeLessThan(12);
  // Beam search finds sequences greedy does not.
  const greedy = model.generate(prompts, { maxNewTokens: 12, eosTokenId: 17 });
  expect(want[0].sequences.filter((_, k) => k % 2 === 0)).not.toEqual(greedy.map((s) => s.slice(0, want[0].sequences[0].length)));
  // Case 3's processors change the beams; case 6's the greedy text.
  expect(model.beamSearch(prompts, { ...options(specs[3]), noRepeatNgramSize: 0, repetitionPenalty: 1, minNewTokens: 0 }).sequences).not.toEqual(want[3].sequences);
  expect(model.generate(prompts, { maxNewTokens: 14, eosTokenId: 17 })).not.toEqual(want[6].sequences);
  // Case 7 (no 1-gram twice): every new token is new to its row (the prompt may repeat itself).
  want[7].sequences.forEach((s, k) => {
    for (let j = prompts[k].length; j < s.length; j++) expect(s.slice(0, j)).not.toContain(s[j]);
  });
  // Cases 8-11's processors change the text; 9 and 10 end in the forced token, 10 and 11 hold no suppressed or bad one.
  const plain = (i: number) => ({ maxNewTokens: specs[i].max_new_tokens, numBeams: specs[i].num_beams, numReturnSequences: specs[i].num_return_sequences, eosTokenId: specs[i].eos_token_id });
  for (const i of [8, 9, 10, 11]) expect({ i, seqs: model.beamSearch(prompts, { ...plain(i), numBeams: Math.max(2, specs[i].num_beams) }).sequences }).not.toEqual({ i, seqs: want[i].sequences });
  expect(model.generate(prompts, plain(9))).not.toEqual(want[9].sequences);
  expect(model.generate(prompts, plain(11))).not.toEqual(want[11].sequences);
  want[9].sequences.forEach((s) => { const e = s.indexOf(17); if (e < 0) expect(s[s.length - 1]).toBe(21); });
  want[9].sequences.forEach((s, k) => { expect(s.slice(prompts[k].length)).not.toContain(50); expect(s.slice(prompts[k].length)).not.toContain(12); expect(s[prompts[k].length]).not.toBe(33); });
  want[11].sequences.forEach((s, k) => { for (let j = prompts[k].length; j + 2 < s.length; j++) expect(s.slice(j, j + 3)).not.toEqual([8, 9, 10]); });
  // Cases 16-18: a sequence that ended before the others is continued with the pad token (in beam
  // search after the first end token), so the text differs from padding with the end token.
  for (const i of PAD_CASES) {
    const { eos_token_id: eos, pad_token_id: pad } = specs[i], ends = eosList(eos as number | number[]), per = specs[i].num_return_sequences ?? 1;
    const padded = want[i].sequences.filter((s, k) => {
      const p = prompts[Math.floor(k / per)].length, end = s.findIndex((t, j) => j >= p && ends.includes(t));
      return end >= 0 && end + 1 < s.length && s.slice(end + 1).every((t) => t === pad) && (specs[i].num_beams === 1 || s[end] === ends[0]);
    });
    expect({ i, padded: padded.length > 0 }).toEqual({ i, padded: true });
    expect(model.generate(prompts, { ...options(specs[i]), padTokenId: undefined })).not.toEqual(want[i].sequences);
  }
  // Case 3's returned texts hold no bigram twice before their eos.
  want[3].sequences.forEach((s, k) => {
    const p = prompts[Math.floor(k / 3)].length, end = s.indexOf(17, p);
    const upto = end >= 0 ? s.slice(0, end + 1) : s;
    const bigrams = upto.slice(1).map((t, j) => `${upto[j]},${t}`);
    expect(new Set(bigrams).size).toBe(bigrams.length);
  });
});

test('the sampling warpers (temperature, top-k with HF\'s default 50, top-p, min-p, typical-p, epsilon and eta cutoffs) leave the tokens HF\'s leave, with its scores', () => {
  torch.manualSeed(3);
  const rows = torch.tidy(() => torch.randn([4, 300]).mul(3).tolist() as number[][]);
  const settings = [{}, { temperature: 0.7 }, { top_k: 0, top_p: 0.9 }, { temperature: 1.3, top_k: 20, top_p: 0.8 }, { top_k: 400 }, { top_k: 0, top_p: 0.05 },
    { top_k: 0, min_p: 0.02 }, { temperature: 0.8, top_p: 0.95, min_p: 0.05 }, { top_k: 0, min_p: 1 },
    { top_k: 0, typical_p: 0.9 }, { temperature: 0.8, typical_p: 0.3 }, { top_k: 0, epsilon_cutoff: 0.004 }, { top_k: 0, eta_cutoff: 0.02 },
    { top_k: 40, top_p: 0.9, typical_p: 0.95, epsilon_cutoff: 0.001, eta_cutoff: 0.002 }, { top_k: 0, epsilon_cutoff: 0.9 },
    // min_tokens_to_keep (beam sampling keeps 2 a row): each warper that would leave fewer keeps that many
    { top_k: 1, min_tokens_to_keep: 2 }, { top_k: 0, top_p: 0.05, min_tokens_to_keep: 3 }, { top_k: 0, min_p: 1, min_tokens_to_keep: 2 },
    { top_k: 0, typical_p: 0.01, min_tokens_to_keep: 2 }, { top_k: 0, epsilon_cutoff: 0.9, min_tokens_to_keep: 2 }, { top_k: 0, eta_cutoff: 0.5, min_tokens_to_keep: 3 }];
  const file = path.join(tmp, 'warp.json'), out = path.join(tmp, 'warp-want.json');
  fs.writeFileSync(file, JSON.stringify(settings.map((w) => ({ warp: { scores: rows, ...w } }))));
  const r = spawnSync(PYTHON, [REF, '-', file, out], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`generate_ref.py failed: ${r.stderr}`);
  const want: { kept: boolean[][]; scores: number[][] }[] = JSON.parse(fs.readFileSync(out, 'utf8'));
  settings.forEach((w, i) => {
    const o = w as { temperature?: number; top_k?: number; top_p?: number; min_p?: number; typical_p?: number; epsilon_cutoff?: number; eta_cutoff?: number; min_tokens_to_keep?: number };
    const got = torch.tidy(() => torch.warpScores(torch.tensor(rows, { dtype: 'float32' }), {
      temperature: o.temperature, topK: o.top_k, topP: o.top_p, minP: o.min_p, typicalP: o.typical_p, epsilonCutoff: o.epsilon_cutoff, etaCutoff: o.eta_cutoff,
    }, o.min_tokens_to_keep).tolist() as number[][]);
    expect({ i, kept: got.map((row) => row.map(Number.isFinite)) }).toEqual({ i, kept: want[i].kept });
    got.forEach((row, b) => row.forEach((v, t) => { if (Number.isFinite(v)) expect(Math.abs(v - want[i].scores[b][t])).toBeLessThan(1e-5); }));
  });
  // The default keeps 50 a row; top-p 0.05 at least the best one; min-p 0.02 some but not all; min-p 1 the best alone.
  const counts = (i: number) => want[i].kept.map((row) => row.filter(Boolean).length);
  expect(counts(0)).toEqual([50, 50, 50, 50]);
  expect(counts(5).every((n) => n >= 1)).toBe(true);
  expect(counts(6).every((n) => n > 1 && n < 300)).toBe(true);
  expect(counts(8)).toEqual([1, 1, 1, 1]);
  // typical-p, epsilon and eta each leave fewer than all (more than one somewhere); an epsilon above every probability the best alone
  for (const i of [9, 10, 11, 12, 13]) expect({ i, ok: counts(i).every((n) => n >= 1 && n < 300) && counts(i).some((n) => n > 1) }).toEqual({ i, ok: true });
  expect(counts(14)).toEqual([1, 1, 1, 1]);
  expect([15, 16, 17, 18, 19].map(counts)).toEqual([[2, 2, 2, 2], [3, 3, 3, 3], [2, 2, 2, 2], [2, 2, 2, 2], [2, 2, 2, 2]]);
  expect(counts(20).every((n) => n >= 3) && counts(20).includes(3)).toBe(true); // (eta's cutoff shrinks with the entropy: some rows keep more)
});

test('stopStrings (HF\'s stop_strings): a row stops at the token whose text completes a string, kept whole; the others go on', () => {
  torch.manualSeed(0);
  const m = new torch.GPT2LMHeadModel({ vocab_size: 50257, n_positions: 64, n_embd: 16, n_layer: 1, n_head: 2 });
  const tok = torch.tokenizer;
  const prompts = [tok.encode('The jury said'), tok.encode('Yes')];
  const opts = { maxNewTokens: 16, temperature: 1, topK: 0, seed: 5 };
  const free = m.generate(prompts, opts);
  const p = prompts[0].length;
  const pieces = free[0].slice(p).map((t) => tok.decode([t]));
  const long = pieces.map((x, k) => [x, k] as const).filter(([x]) => x.length >= 3 && !x.includes('\uFFFD')).map(([, k]) => k);
  const a = long.find((k) => long.includes(k + 1))!; // two long tokens in a row
  const b = long.find((k) => k > a + 1)!;
  // Across a token boundary (the string begins inside one token, ends inside the next), and inside one token.
  for (const stop of [pieces[a].slice(-2) + pieces[a + 1].slice(0, 2), pieces[b].slice(1, 3)]) {
    const got = m.generate(prompts, { ...opts, stopStrings: [stop] });
    // Reference: each row's first prefix whose whole decoded text holds the string, then eos padding.
    const want = free.map((row, i) => {
      let end = prompts[i].length + 1;
      while (end <= row.length && !tok.decode(row.slice(0, end)).includes(stop)) end++;
      return end <= row.length ? row.slice(0, end) : row;
    });
    const steps = Math.max(...want.map((r, i) => r.length - prompts[i].length));
    expect(got).toEqual(want.map((r, i) => [...r, ...Array(prompts[i].length + steps - r.length).fill(50256)]));
    expect(want[0].length).toBeLessThan(free[0].length); // it did stop the first row
    expect(torch.completesStopString(want[0], [stop])).toBe(true);
    expect(torch.completesStopString(want[0].slice(0, -1), [stop])).toBe(false);
  }
  expect(() => m.generate(prompts, { stopStrings: [''] })).toThrow(/stopStrings must be a list of non-empty strings/);
  expect(() => m.generate(prompts, { numBeams: 2, stopStrings: ['x'] })).toThrow(/stopStrings is for greedy decoding and sampling/);
  expect(() => m.generate(prompts, { typicalP: 0 })).toThrow('generate: typicalP must be in (0, 1], got 0');
  expect(() => m.generate(prompts, { badWordsIds: [[]] })).toThrow('generate: badWordsIds must be a list of non-empty token-id lists, got [[]]');
  expect(() => m.generate(prompts, { sequenceBias: [[[60000], 1]] })).toThrow("generate: the model's vocabulary has 50257 tokens, but these are biased or banned: 60000");
  expect(() => m.generate(prompts, { exponentialDecayLengthPenalty: [-1, 2] })).toThrow(/exponentialDecayLengthPenalty must be \[start \(new tokens\), factor\]/);
  // options of the wrong type (from JSON or a form): refused, not compared as numbers ('0.9' > 0) or taken as truthy ('no')
  expect(() => m.generate(prompts, { topP: '0.9', doSample: true } as never)).toThrow('generate: topP must be a number, got "0.9"');
  expect(() => m.generate(prompts, { temperature: '0.7', doSample: true } as never)).toThrow('generate: temperature must be a number, got "0.7"');
  expect(() => m.generate(prompts, { useCache: 'no' } as never)).toThrow('generate: useCache must be true or false, got "no"');
  expect(() => m.generate(prompts, { doSample: 1 } as never)).toThrow('generate: doSample must be true or false, got 1');
  // and a refused generation leaves the global generator as it was (the seed is set after the checks)
  torch.manualSeed(3);
  const before = torch.getRngState();
  expect(() => m.generate(prompts, { seed: 9, doSample: true, topP: 2 })).toThrow('generate: topP must be in (0, 1], got 2');
  const after = torch.getRngState();
  expect(after.equals(before)).toBe(true);
  m.dispose();
});

test('generation_config.json: fromPretrained reads it as generate()\'s defaults (given options win), savePretrained writes it', async () => {
  const dir = path.join(tmp, 'with-generation-config');
  const defaults: torch.GenerateOptions = { numBeams: 3, noRepeatNgramSize: 2, maxNewTokens: 7, eosTokenId: 17 };
  model.generationConfig = defaults;
  await model.savePretrained(dir);
  model.generationConfig = {};
  expect(JSON.parse(fs.readFileSync(path.join(dir, 'generation_config.json'), 'utf8'))).toEqual({ bos_token_id: 63, eos_token_id: 17, num_beams: 3, no_repeat_ngram_size: 2, max_new_tokens: 7 });
  const loaded = await torch.GPT2LMHeadModel.fromPretrained(dir);
  expect(loaded.generationConfig).toEqual(defaults);
  expect(loaded.generate(prompts)).toEqual(model.beamSearch(prompts, defaults).sequences);
  expect(loaded.generate(prompts, { numBeams: 1, maxNewTokens: 9 })).toEqual(model.generate(prompts, { ...defaults, numBeams: 1, maxNewTokens: 9 }));
  loaded.dispose();
  // As transformers writes it: unused fields ignored, a one-element eos list, a stop string alone.
  fs.writeFileSync(path.join(dir, 'generation_config.json'), JSON.stringify({
    _from_model_config: true, bos_token_id: 63, eos_token_id: [17], pad_token_id: 0, do_sample: true, top_k: 5, temperature: 0.7,
    max_length: 50, stop_strings: 'x', transformers_version: '4.57.0',
  }));
  expect(torch.readGenerationConfig(dir)).toEqual({ eosTokenId: 17, padTokenId: 0, doSample: true, topK: 5, temperature: 0.7, stopStrings: ['x'], maxLength: 50 });
  // Several end tokens (as chat models' configs have them): generate's default, and written back so.
  fs.writeFileSync(path.join(dir, 'generation_config.json'), JSON.stringify({ bos_token_id: 63, eos_token_id: [50, 17], max_new_tokens: 12, min_new_tokens: 2 }));
  const multi = await torch.GPT2LMHeadModel.fromPretrained(dir);
  expect(multi.generationConfig).toEqual({ eosTokenId: [50, 17], maxNewTokens: 12, minNewTokens: 2 });
  expect(multi.generate(prompts)).toEqual(want[12].sequences); // (case 12: these end tokens, greedy, HF's reference)
  await multi.savePretrained(path.join(tmp, 'multi-eos'));
  expect(JSON.parse(fs.readFileSync(path.join(tmp, 'multi-eos', 'generation_config.json'), 'utf8')).eos_token_id).toEqual([50, 17]);
  multi.dispose();
  expect(() => model.generate(prompts, { eosTokenId: [] })).toThrow('generate: eosTokenId must be a token id, a non-empty list of them, or null, got []');
  // A pad token: generation_config.json's pad_token_id, else (no such file, HF's from_model_config) config.json's; written back.
  fs.writeFileSync(path.join(dir, 'generation_config.json'), JSON.stringify({ bos_token_id: 63, eos_token_id: 17, pad_token_id: 5, repetition_penalty: 1.3, max_new_tokens: 12 }));
  const padded = await torch.GPT2LMHeadModel.fromPretrained(dir);
  expect(padded.generate(prompts)).toEqual(want[16].sequences); // (case 16: this pad token, HF's reference)
  await padded.savePretrained(path.join(tmp, 'with-pad'));
  expect(JSON.parse(fs.readFileSync(path.join(tmp, 'with-pad', 'generation_config.json'), 'utf8')).pad_token_id).toBe(5);
  padded.dispose();
  fs.rmSync(path.join(tmp, 'with-pad', 'generation_config.json'));
  const config = JSON.parse(fs.readFileSync(path.join(tmp, 'with-pad', 'config.json'), 'utf8'));
  fs.writeFileSync(path.join(tmp, 'with-pad', 'config.json'), JSON.stringify({ ...config, pad_token_id: 5 }));
  const fromConfig = await torch.GPT2LMHeadModel.fromPretrained(path.join(tmp, 'with-pad'));
  expect(fromConfig.generationConfig).toEqual({ padTokenId: 5 });
  fromConfig.dispose();
  expect(() => model.generate(prompts, { padTokenId: -1 })).toThrow('generate: padTokenId must be a token id (an integer >= 0), got -1');
  model.train();
  expect(() => model.generate(prompts, { padTokenId: 64 })).toThrow('generate: padTokenId 64 is beyond this model\'s vocabulary (64)');
  expect(model.training).toBe(true); // (refused before anything changed)
  model.eval();
  // The processors' fields, as HF writes them, both ways.
  const processors: torch.GenerateOptions = {
    typicalP: 0.9, epsilonCutoff: 3e-4, etaCutoff: 2e-3, badWordsIds: [[5, 6], [7]], sequenceBias: [[[1, 2], -1.5], [[3], 2]], suppressTokens: [4],
    beginSuppressTokens: [8, 9], forcedEosTokenId: 17, exponentialDecayLengthPenalty: [5, 1.2], renormalizeLogits: true,
  };
  fs.writeFileSync(path.join(dir, 'generation_config.json'), JSON.stringify({
    typical_p: 0.9, epsilon_cutoff: 3e-4, eta_cutoff: 2e-3, bad_words_ids: [[5, 6], [7]], sequence_bias: [[[1, 2], -1.5], [[3], 2]], suppress_tokens: [4],
    begin_suppress_tokens: [8, 9], forced_eos_token_id: 17, exponential_decay_length_penalty: [5, 1.2], renormalize_logits: true,
  }));
  expect(torch.readGenerationConfig(dir)).toEqual(processors);
  model.generationConfig = processors;
  await model.savePretrained(path.join(tmp, 'with-processors'));
  model.generationConfig = {};
  expect(torch.readGenerationConfig(path.join(tmp, 'with-processors'))).toEqual({ ...processors, eosTokenId: 63 }); // (the model's own eos, written too)
  for (const [json, error] of [
    ['{"bad_words_ids": [5, 6]}', /generation_config.json: bad_words_ids has the wrong type: \[5,6\]/],
    ['{"sequence_bias": {"5": 1}}', /sequence_bias has the wrong type/],
    ['{"top_k": "5"}', /generation_config.json: top_k has the wrong type: "5"/],
    ['{"eos_token_id": []}', /eos_token_id must be a token id or a non-empty list of them: \[\]/],
    ['{"eos_token_id": [1, "2"]}', /eos_token_id must be a token id or a non-empty list of them/],
    ['{"num_beams": 2', /generation_config.json is not valid JSON/],
    ['[1]', /generation_config.json must hold a JSON object/],
  ] as const) {
    fs.writeFileSync(path.join(dir, 'generation_config.json'), json);
    await expect(torch.GPT2LMHeadModel.fromPretrained(dir)).rejects.toThrow(error);
  }
  fs.rmSync(path.join(dir, 'generation_config.json'));
  expect((await torch.GPT2LMHeadModel.fromPretrained(dir)).generationConfig).toEqual({});
  // config.json too: an object, and its sizes integers (a string "16" named as one)
  const configText = fs.readFileSync(path.join(dir, 'config.json'), 'utf8');
  fs.writeFileSync(path.join(dir, 'config.json'), 'null');
  await expect(torch.GPT2LMHeadModel.fromPretrained(dir)).rejects.toThrow(/config\.json must hold a JSON object \(a model's config\)/);
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...JSON.parse(configText), n_embd: '16' }));
  await expect(torch.GPT2LMHeadModel.fromPretrained(dir)).rejects.toThrow('GPT2Config: n_embd must be a positive integer, got "16"');
  fs.writeFileSync(path.join(dir, 'config.json'), configText);
});

test('returnDictInGenerate with outputScores / outputLogits: each step\'s scores, the beam indices and computeTransitionScores as HF\'s (greedy and beam search, ragged prompts, early eos)', () => {
  const cases: (RefSpec & { output_scores: true })[] = [
    { prompts, max_new_tokens: 8, num_beams: 1, eos_token_id: 17, repetition_penalty: 1.2, output_scores: true },
    { prompts, max_new_tokens: 10, num_beams: 3, num_return_sequences: 2, eos_token_id: 17, output_scores: true },
    { prompts, max_new_tokens: 9, num_beams: 4, num_return_sequences: 3, eos_token_id: 50, length_penalty: 0.7, no_repeat_ngram_size: 2, output_scores: true },
    // (contrastive search without end tokens: after one, HF's row scores its chosen candidate's cache, the reference the pad)
    { prompts, max_new_tokens: 8, num_beams: 1, eos_token_id: null, penalty_alpha: 0.6, top_k: 4, output_scores: true },
  ];
  const file = path.join(tmp, 'scores.json'), out = path.join(tmp, 'scores-want.json');
  fs.writeFileSync(file, JSON.stringify(cases));
  const r = spawnSync(PYTHON, [REF, tmp, file, out], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`generate_ref.py failed: ${r.stderr}`);
  const ref: { sequences: number[][]; scores: number[]; step_scores: number[][][]; beam_indices?: number[][]; transition: number[][]; transition_normalized: number[][] }[] = JSON.parse(fs.readFileSync(out, 'utf8'));
  const finite = (x: number) => (Number.isFinite(x) ? x : -1e30);
  const close = (a: number, b: number) => Math.abs(a - b) <= 1e-5 * Math.max(1, Math.abs(b));
  cases.forEach((c, i) => {
    const before = torch.memory().liveTensors;
    const got = model.generate(c.prompts, { ...options(c), returnDictInGenerate: true, outputScores: true, outputLogits: true });
    expect({ i, sequences: got.sequences }).toEqual({ i, sequences: ref[i].sequences });
    expect(got.scores!.length).toBe(ref[i].step_scores.length);
    // (beam search: the rows on a returned sequence's path; a finished prompt's rows go on as padding,
    // which HF continues from the batch's row 0 and tstorch from their own: no sequence reads them)
    const onPath = (j: number, a: number) => c.num_beams === 1 || ref[i].beam_indices!.some((p) => p[j] === a);
    got.scores!.forEach((t, j) => {
      const rows = t.tolist() as number[][];
      const bad = rows.flatMap((row, a) => (onPath(j, a) ? row.map((v, b) => [a, b, finite(v), ref[i].step_scores[j][a][b]]) : [])).filter(([, , x, y]) => !close(x, y));
      expect({ i, step: j, bad: bad.slice(0, 3) }).toEqual({ i, step: j, bad: [] });
    });
    expect(got.logits!.length).toBe(got.scores!.length);
    if (c.num_beams > 1) {
      expect(got.beamIndices).toEqual(ref[i].beam_indices);
      got.sequencesScores!.forEach((x, k) => expect(close(x, ref[i].scores[k])).toBe(true));
    }
    for (const [normalize, want] of [[false, ref[i].transition], [true, ref[i].transition_normalized]] as const) {
      const ts = model.computeTransitionScores(got.sequences, got.scores!, got.beamIndices ?? null, normalize);
      expect(ts.length).toBe(want.length);
      ts.forEach((row, a) => row.forEach((v, b) => expect([i, normalize, a, b, close(finite(v), want[a][b])]).toEqual([i, normalize, a, b, true])));
    }
    // beam search: a sequence's transition scores sum to its score times its length penalty (HF's check)
    if (c.num_beams > 1) {
      const ts = model.computeTransitionScores(got.sequences, got.scores!, got.beamIndices!);
      got.sequencesScores!.forEach((score, k) => {
        const n = got.beamIndices![k].length;
        expect(Math.abs(ts[k].reduce((x, y) => x + y, 0) - score * n ** (c.length_penalty ?? 1))).toBeLessThan(1e-4);
      });
    }
    for (const t of [...got.scores!, ...got.logits!]) t.dispose();
    expect(torch.memory().liveTensors).toBe(before);
  });
  // greedy without processors: the scores are the logits
  const plain = model.generate(prompts, { maxNewTokens: 3, eosTokenId: null, returnDictInGenerate: true, outputScores: true, outputLogits: true });
  plain.scores!.forEach((t, j) => expect(relErr(t, plain.logits![j])).toBe(0));
  for (const t of [...plain.scores!, ...plain.logits!]) t.dispose();
  // sampling: the warped scores, -inf outside top-k
  const sampled = model.generate([[5, 6]], { maxNewTokens: 3, temperature: 1, topK: 5, seed: 1, returnDictInGenerate: true, outputScores: true });
  for (const t of sampled.scores!) expect((t.tolist() as number[][])[0].filter(Number.isFinite).length).toBe(5);
  const ts = model.computeTransitionScores(sampled.sequences, sampled.scores!);
  expect(ts[0].every(Number.isFinite)).toBe(true); // each sampled token was among those kept
  for (const t of sampled.scores!) t.dispose();
  expect(model.generate([[5, 6]], { maxNewTokens: 2, returnDictInGenerate: true }).scores).toBeUndefined();
  // beam sampling: the warped scores are recorded (HF's), and each sequence's score is its transition
  // scores' sum over its length ** lengthPenalty, as for beam search
  const bs = model.generate(prompts, { maxNewTokens: 6, numBeams: 3, numReturnSequences: 2, doSample: true, topK: 8, temperature: 1.3, seed: 4, lengthPenalty: 1.5, returnDictInGenerate: true, outputScores: true });
  for (const t of bs.scores!) expect((t.tolist() as number[][]).every((row) => row.filter(Number.isFinite).length === 8)).toBe(true);
  const bts = model.computeTransitionScores(bs.sequences, bs.scores!, bs.beamIndices!);
  bs.sequencesScores!.forEach((score, k) => {
    const steps = bs.beamIndices![k].length;
    const sum = bts[k].slice(0, steps).reduce((a, b) => a + b, 0);
    expect(Math.abs(sum / steps ** 1.5 - score)).toBeLessThan(1e-4);
  });
  for (const t of bs.scores!) t.dispose();
  const again = model.generate(prompts, { maxNewTokens: 6, numBeams: 3, numReturnSequences: 2, doSample: true, topK: 8, temperature: 1.3, seed: 4, lengthPenalty: 1.5 });
  expect(again).toEqual(bs.sequences); // repeatable from the seed
});

test('promptLookupNumTokens (HF\'s prompt lookup decoding): greedy decoding\'s tokens and scores, in fewer forward passes when the text repeats itself', () => {
  expect(torch.promptLookupCandidates([1, 2, 3, 1, 2], 2, 2, null, 99)).toEqual([3, 1]); // after the first [1, 2]
  expect(torch.promptLookupCandidates([1, 2, 3, 4, 2], 5, 2, null, 99)).toEqual([3, 4, 2]); // no [4, 2] before: the 1-gram [2]
  expect(torch.promptLookupCandidates([1, 2, 9, 3, 1, 2], 4, 2, 3, 99)).toEqual([9]); // cut before eos 3
  expect(torch.promptLookupCandidates([1, 2, 3, 1, 2], 2, 2, null, 6)).toEqual([]); // one token left: greedy does it
  expect(torch.promptLookupCandidates([5, 6, 7], 3, 2, null, 99)).toEqual([]);
  // a token the processors forbid ends the proposal; forbidden from the start, the next occurrence is tried (HF's)
  expect(torch.promptLookupCandidates([1, 2, 3, 4, 1, 2], 3, 2, null, 99, (seq, t) => seq.length === 7 && t === 4)).toEqual([3]);
  expect(torch.promptLookupCandidates([1, 2, 9, 1, 2, 5, 1, 2], 2, 2, null, 99, (_, t) => t === 9)).toEqual([5, 1]);
  const calls = (fn: () => unknown) => forwardCalls(model, fn);
  const settings: torch.GenerateOptions[] = [
    { maxNewTokens: 30, eosTokenId: null },
    { maxNewTokens: 30, eosTokenId: 17, promptLookupNumTokens: 3 },
    { maxNewTokens: 25, eosTokenId: 17, repetitionPenalty: 1.1, minNewTokens: 3 },
    { maxNewTokens: 30, eosTokenId: null, maxMatchingNgramSize: 3 },
  ];
  let fewer = 0;
  for (const prompt of [[5, 17, 42, 8, 9, 3], [7, 60, 7, 33, 7, 60], [1]]) {
    for (const base of settings) {
      const plainOpts = { ...base, promptLookupNumTokens: undefined, maxMatchingNgramSize: undefined };
      let want: number[][] = [];
      const plainCalls = calls(() => { want = model.generate([prompt], plainOpts); });
      let got: number[][] = [];
      const lookupCalls = calls(() => { got = model.generate([prompt], { promptLookupNumTokens: 10, ...base }); });
      expect({ prompt, base, got }).toEqual({ prompt, base, got: want });
      expect(lookupCalls).toBeLessThanOrEqual(plainCalls);
      if (lookupCalls < plainCalls) fewer++;
    }
  }
  expect(fewer).toBeGreaterThan(4); // the model's greedy text loops, and the lookup finds it
  // the steps' scores as plain greedy's; the tokens streamed one by one
  const a = model.generate([[7, 60, 7, 33]], { maxNewTokens: 20, eosTokenId: null, returnDictInGenerate: true, outputScores: true });
  const streamed: number[] = [];
  const b = model.generate([[7, 60, 7, 33]], { maxNewTokens: 20, eosTokenId: null, promptLookupNumTokens: 5, returnDictInGenerate: true, outputScores: true, onToken: ([t]) => streamed.push(t) });
  expect(b.sequences).toEqual(a.sequences);
  expect(streamed).toEqual(a.sequences[0].slice(4));
  expect(b.scores!.length).toBe(a.scores!.length);
  b.scores!.forEach((t, j) => expect(relErr(t, a.scores![j])).toBeLessThan(1e-4));
  for (const t of [...a.scores!, ...b.scores!]) t.dispose();
  // at the context's end: no more tokens proposed than positions are left
  const long = Array.from({ length: 34 }, (_, i) => [7, 60, 7, 33][i % 4]);
  expect(model.generate([long], { maxNewTokens: 10, eosTokenId: null, promptLookupNumTokens: 10 })).toEqual(model.generate([long], { maxNewTokens: 10, eosTokenId: null }));
  expect(() => model.generate([[1], [2]], { promptLookupNumTokens: 3 })).toThrow(/takes one prompt at a time/);
  expect(() => model.generate([[1]], { promptLookupNumTokens: 3, numBeams: 2 })).toThrow(/promptLookupNumTokens is for greedy decoding/);
  expect(() => model.generate([[1]], { promptLookupNumTokens: 0 })).toThrow(/promptLookupNumTokens must be an integer >= 1/);
});

test('assistantModel (HF\'s assisted decoding): greedy decoding\'s tokens and scores; a twin assistant\'s drafts are all kept, so the model runs once a round', async () => {
  const calls = forwardCalls;
  const before = await settledLiveTensors();
  // A twin (the same weights, loaded again) drafts what the model would write: with no confidence
  // threshold every draft is kept, so each model pass adds numTokens + 1 (the last, one token left, its own).
  // A draft from a wrongly kept cache would be rejected and cost passes, so this checks the
  // assistant's cache handling, not only the result.
  const twin = await torch.GPT2LMHeadModel.fromPretrained(tmp);
  const prompt = [5, 17, 42, 8, 9, 3];
  const want = model.generate([prompt], { maxNewTokens: 21, eosTokenId: null });
  let got: number[][] = [];
  const twinCalls = calls(twin, () => {
    const modelCalls = calls(model, () => { got = model.generate([prompt], { maxNewTokens: 21, eosTokenId: null, assistantModel: twin, numAssistantTokens: 4, assistantConfidenceThreshold: 0 }); });
    expect(modelCalls).toBe(1 + 20 / 5);
  });
  expect(got).toEqual(want);
  // (4 rounds of 4 drafts, each a pass but the first of a round, which also feeds the token the model added)
  expect(twinCalls).toBe(4 * 4);
  // A different, smaller assistant (one layer, a shorter context) guesses some tokens right and
  // some wrong: still greedy's tokens, with the processors, several end tokens, both schedules,
  // the confidence threshold, and up to the model's and the assistant's context limits.
  torch.manualSeed(11);
  const small = new torch.GPT2LMHeadModel({ vocab_size: 64, n_positions: 24, n_embd: 16, n_layer: 1, n_head: 2, eos_token_id: 63, bos_token_id: 63 });
  torch.tidy(() => torch.noGrad(() => { small.transformer.wte.weight.copy_(twin.transformer.wte.weight.narrow(1, 0, 16)); })); // (some of the model's word sense)
  small.train(); // (generate puts it in eval mode, and back)
  const settings: torch.GenerateOptions[] = [
    { maxNewTokens: 30, eosTokenId: null },
    { maxNewTokens: 30, eosTokenId: [17, 50], numAssistantTokensSchedule: 'heuristic' },
    { maxNewTokens: 25, eosTokenId: 17, repetitionPenalty: 1.3, minNewTokens: 4, noRepeatNgramSize: 3, numAssistantTokens: 3 },
    { maxNewTokens: 30, eosTokenId: null, assistantConfidenceThreshold: 0, numAssistantTokensSchedule: 'heuristic', numAssistantTokens: 2 },
    { maxNewTokens: 30, eosTokenId: null, suppressTokens: [7], badWordsIds: [[60, 7]], assistantConfidenceThreshold: 0.9 },
  ];
  let kept = 0;
  for (const p of [[5, 17, 42, 8, 9, 3], [7, 60, 7, 33, 7, 60], [1], Array.from({ length: 20 }, (_, i) => (i * 7) % 60)]) {
    for (const base of settings) {
      const plain = model.generate([p], base);
      let assisted: number[][] = [];
      const passes = calls(model, () => { assisted = model.generate([p], { ...base, assistantModel: small }); });
      expect({ p, base, assisted }).toEqual({ p, base, assisted: plain });
      if (passes < plain[0].length - p.length) kept++;
    }
  }
  expect(small.training).toBe(true);
  expect(kept).toBeGreaterThan(3); // (some drafts were right, so fewer passes than tokens)
  // the steps' scores as plain greedy's; the tokens streamed one by one
  const a = model.generate([[7, 60, 7, 33]], { maxNewTokens: 20, eosTokenId: null, returnDictInGenerate: true, outputScores: true });
  const streamed: number[] = [];
  const b = model.generate([[7, 60, 7, 33]], { maxNewTokens: 20, eosTokenId: null, assistantModel: twin, returnDictInGenerate: true, outputScores: true, onToken: ([t]) => streamed.push(t) });
  expect(b.sequences).toEqual(a.sequences);
  expect(streamed).toEqual(a.sequences[0].slice(4));
  expect(b.scores!.length).toBe(a.scores!.length);
  b.scores!.forEach((t, j) => expect(relErr(t, a.scores![j])).toBeLessThan(1e-4));
  for (const t of [...a.scores!, ...b.scores!]) t.dispose();
  // stop strings: a run kept from a draft (or a lookup) ends where greedy decoding ends, also
  // inside it (the twin's drafts run on past the stop); the scores of the tokens after it go
  for (const p of [[5, 17, 42, 8, 9, 3], [7, 60, 7, 33, 7, 60]]) {
    const free = model.generate([p], { maxNewTokens: 30, eosTokenId: null })[0];
    const stop = torch.tokenizer.decode(free.slice(p.length + 6, p.length + 8));
    const greedy = model.generate([p], { maxNewTokens: 30, eosTokenId: null, stopStrings: [stop], returnDictInGenerate: true, outputScores: true });
    expect(greedy.sequences[0].length).toBeLessThan(free.length);
    for (const extra of [{ assistantModel: twin, assistantConfidenceThreshold: 0 }, { assistantModel: small }, { promptLookupNumTokens: 10 }] as torch.GenerateOptions[]) {
      const got = model.generate([p], { ...extra, maxNewTokens: 30, eosTokenId: null, stopStrings: [stop], returnDictInGenerate: true, outputScores: true });
      expect({ p, stop, sequences: got.sequences }).toEqual({ p, stop, sequences: greedy.sequences });
      expect(got.scores!.length).toBe(greedy.scores!.length);
      for (const t of got.scores!) t.dispose();
    }
    for (const t of greedy.scores!) t.dispose();
  }
  // the assistant's generation config supplies its settings, as HF reads them
  twin.generationConfig = { numAssistantTokens: 2, assistantConfidenceThreshold: 0 };
  expect(calls(model, () => model.generate([prompt], { maxNewTokens: 10, eosTokenId: null, assistantModel: twin }))).toBe(1 + 9 / 3);
  twin.generationConfig = { numAssistantTokens: 0 };
  expect(() => model.generate([prompt], { assistantModel: twin })).toThrow('generate: numAssistantTokens must be an integer >= 1, got 0');
  const other = new torch.GPT2LMHeadModel({ vocab_size: 65, n_positions: 24, n_embd: 16, n_layer: 1, n_head: 2 });
  expect(() => model.generate([prompt], { assistantModel: other })).toThrow('generate: the assistant\'s vocabulary (65 tokens) is not this model\'s (64)');
  for (const [o, error] of [
    [{ numBeams: 2 }, /assistantModel is for greedy decoding and sampling with one sequence/],
    [{ doSample: true, numReturnSequences: 2 }, /assistantModel is for greedy decoding and sampling with one sequence/],
    [{ useCache: false }, /assistantModel needs the key\/value cache/],
    [{ promptLookupNumTokens: 3 }, /promptLookupNumTokens and assistantModel are two ways of proposing tokens: give one/],
    [{ numAssistantTokensSchedule: 'fast' }, /numAssistantTokensSchedule must be 'constant', 'heuristic' or 'heuristic_transient'/],
    [{ assistantConfidenceThreshold: 1 }, /assistantConfidenceThreshold must be in \[0, 1\)/],
  ] as [torch.GenerateOptions, RegExp][]) expect(() => model.generate([prompt], { ...o, assistantModel: small })).toThrow(error);
  expect(() => model.generate([[1], [2]], { assistantModel: small })).toThrow(/assistantModel takes one prompt at a time/);
  expect(() => model.generate([[1]], { assistantModel: {} as torch.GPT2LMHeadModel })).toThrow(/assistantModel must be a GPT2LMHeadModel/);
  for (const m of [twin, small, other]) m.dispose();
  expect(await settledLiveTensors()).toBe(before);
});

// A Markov chain as a model for DecodingState: the next token's logits are the table's row of the
// last token; a stand-in key/value cache (zeros) counts the positions, so cropping it is checked.
function markovModel(table: torch.Tensor, counter?: { passes: number }) {
  return (ids: torch.Tensor, o: ForwardOptions) => {
    if (counter) counter.passes++;
    const [B, T] = ids.shape;
    const logits = table.indexSelect(0, ids.reshape([-1])).reshape([B, T, -1]);
    const kept = o.logitsToKeep ? Math.min(o.logitsToKeep, T) : T;
    const past = o.pastKeyValues ? o.pastKeyValues[0][0].shape[2] : 0;
    const k = torch.zeros([B, 1, past + T, 1]);
    return { logits: logits.narrow(1, T - kept, kept), pastKeyValues: o.useCache ? [[k, k.clone()] as LayerPast] : undefined };
  };
}

// HF's _assisted_decoding on random Markov chains, against generate_ref.py's transcription of it
// (AssistedCandidateGenerator with the assistant's nested generate, PromptLookupCandidateGenerator,
// _speculative_sampling): greedy and sampling, the processors and warpers, every schedule and
// confidence threshold. Greedy, the tokens and the model's passes (the rounds) must be equal;
// sampling from the same seed, the same draws: the same tokens. Each step's scores within 1e-5.
test('assisted decoding and prompt lookup on 150 random Markov chains, as Hugging Face\'s _assisted_decoding (sampling: speculative sampling, same seed, same draws)', () => {
  const V = 8, eos = 0;
  type Case = RefSpec & { markov: number[][]; assistant_markov?: number[][]; do_sample: boolean; seed: number; temperature: number; top_k: number; top_p: number;
    prompt_lookup_num_tokens?: number; max_matching_ngram_size?: number; num_assistant_tokens?: number;
    num_assistant_tokens_schedule?: 'constant' | 'heuristic' | 'heuristic_transient'; assistant_confidence_threshold?: number };
  const cases: Case[] = [];
  torch.manualSeed(9);
  let seed = 4242;
  const pick = <T>(xs: T[]): T => xs[(seed = (seed * 1103515245 + 12345) % 2147483648) % xs.length];
  for (let i = 0; i < 150; i++) {
    const markov = torch.tidy(() => torch.randn([V, V]).mul(pick([1, 2, 3])));
    // the assistant: the model's table and some noise, so that it guesses often, not always
    const assistant = torch.tidy(() => markov.add(torch.randn([V, V]).mul(pick([0.3, 1, 2]))).tolist() as number[][]);
    cases.push({
      prompts: [pick([[1], [2, 3, 2, 3, 4], [5, 6, 7, 5, 6, 7, 5]])], markov: markov.tolist() as number[][], num_beams: 1,
      eos_token_id: pick([eos, null, [eos, 3]] as (number | number[] | null)[]), max_new_tokens: pick([6, 10, 16]),
      do_sample: i % 2 === 0, seed: 500 + i, temperature: pick([0.7, 1, 1.5]), top_k: pick([0, 5, 50]), top_p: pick([1, 0.9]),
      ...(i % 3 === 2
        ? { prompt_lookup_num_tokens: pick([2, 4, 10]), max_matching_ngram_size: pick([1, 2, 3]) }
        : { assistant_markov: assistant, num_assistant_tokens: pick([1, 3, 5, 20]), num_assistant_tokens_schedule: pick(['constant', 'heuristic', 'heuristic_transient'] as const),
          assistant_confidence_threshold: pick([0, 0.4, 0.7]) }),
      ...(pick([0, 1, 2, 3]) === 3 ? { no_repeat_ngram_size: 2, min_new_tokens: 3 } : {}),
      ...(pick([0, 1, 2, 3]) === 3 ? { bad_words_ids: [[2, 3]], repetition_penalty: 1.3 } : {}),
      ...(i % 7 === 3 ? { frequency_penalty: 0.8, presence_penalty: 0.5 } : {}), // (the assistant's counted from the text so far, as its min new tokens)
      // (counted from the text so far in the assistant's nested call, as HF's; not the forced token and
      // the decay together: HF's decay turns the forced step's -inf end tokens into NaN)
      ...[{}, {}, {}, { begin_suppress_tokens: [1], forced_eos_token_id: 4 }, { begin_suppress_tokens: [1], exponential_decay_length_penalty: [2, 1.5] as [number, number] }][pick([0, 1, 2, 3, 4])],
    });
    markov.dispose();
  }
  const file = path.join(tmp, 'assisted.json'), out = path.join(tmp, 'assisted-want.json');
  fs.writeFileSync(file, JSON.stringify(cases));
  const r = spawnSync(PYTHON, [REF, '-', file, out], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`generate_ref.py failed: ${r.stderr}`);
  const ref: { sequences: number[][]; passes: number; step_scores: number[][][] }[] = JSON.parse(fs.readFileSync(out, 'utf8'));
  const before = torch.memory().liveTensors;
  let sampledOtherwise = 0, fewerPasses = 0;
  cases.forEach((c, i) => {
    const prompt = c.prompts[0], maxLength = prompt.length + c.max_new_tokens;
    const counter = { passes: 0 };
    const opts: torch.GenerateOptions = {
      ...options(c), doSample: c.do_sample, temperature: c.temperature, topK: c.top_k, topP: c.top_p,
      promptLookupNumTokens: c.prompt_lookup_num_tokens, maxMatchingNgramSize: c.max_matching_ngram_size,
    };
    const record = { scores: [] as torch.Tensor[] };
    const got = torch.tidy(() => {
      const state = new DecodingState(markovModel(torch.tensor(c.markov), counter), [[...prompt]], [0], eos, 'cpu', true);
      const draft = c.assistant_markov && new DecodingState(markovModel(torch.tensor(c.assistant_markov)), [[...prompt]], [0], eos, 'cpu', true);
      const settings = { numAssistantTokens: c.num_assistant_tokens!, numAssistantTokensSchedule: c.num_assistant_tokens_schedule!, assistantConfidenceThreshold: c.assistant_confidence_threshold! };
      torch.manualSeed(c.seed);
      try {
        return draft ? decodeAssisted(state, draft, settings, opts, c.eos_token_id, maxLength, record).sequences : decodePromptLookup(state, opts, c.eos_token_id, maxLength, record, V);
      } finally {
        draft?.dispose();
        state.dispose();
      }
    });
    expect({ case: i, sequences: got, passes: counter.passes }).toEqual({ case: i, sequences: ref[i].sequences, passes: ref[i].passes });
    expect(record.scores.length).toBe(ref[i].step_scores.length);
    record.scores.forEach((t, j) => {
      const row = (t.tolist() as number[][])[0].map((v) => (v === -Infinity ? -1e30 : v));
      row.forEach((v, k) => expect(Math.abs(v - ref[i].step_scores[j][0][k])).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(v))));
      t.dispose();
    });
    if (counter.passes < got[0].length - prompt.length) fewerPasses++;
    if (c.do_sample) {
      // (greedy on the same chain gives other text: the draws matter)
      const greedy = torch.tidy(() => decodeGreedy(new DecodingState(markovModel(torch.tensor(c.markov)), [[...prompt]], [0], eos, 'cpu', false),
        { ...opts, doSample: false, promptLookupNumTokens: undefined }, c.eos_token_id, maxLength));
      if (JSON.stringify(greedy) !== JSON.stringify(got)) sampledOtherwise++;
    }
  });
  expect(torch.memory().liveTensors).toBe(before);
  expect(fewerPasses).toBeGreaterThan(40); // (proposals were kept)
  expect(sampledOtherwise).toBeGreaterThan(40);
});

// Speculative sampling is exact: the text is distributed as the model's own sampling, whatever
// the assistant. 3000 draws of 3 tokens with an assistant unlike the model, against the exact
// probabilities of the model's warped chain (chi-square, 1 in 10^4 of failing by chance); the
// same counts are far from the assistant's own chain, so the test tells the two apart. Twice:
// with top-k (each side sampling tokens the other never would) and without.
test('speculative sampling\'s text is distributed as the model\'s own sampling (3000 draws, chi-square against the exact probabilities)', () => {
  const V = 5, N = 3000, prompt = [1];
  const before = torch.memory().liveTensors;
  torch.manualSeed(21);
  const [P, Q] = torch.tidy(() => [torch.keep(torch.randn([V, V]).mul(1.5)), torch.keep(torch.randn([V, V]).mul(1.5))]);
  const settings = { numAssistantTokens: 2, numAssistantTokensSchedule: 'constant' as const, assistantConfidenceThreshold: 0 };
  torch.manualSeed(5);
  for (const warp of [{ temperature: 1.3, topK: 4 }, { temperature: 0.8, topK: 0 }]) {
    const opts: torch.GenerateOptions = { ...warp, doSample: true, maxNewTokens: 3, eosTokenId: null };
    const counts = new Map<string, number>();
    for (let i = 0; i < N; i++) {
      const seq = torch.tidy(() => {
        const state = new DecodingState(markovModel(P), [[...prompt]], [0], 0, 'cpu', true);
        const draft = new DecodingState(markovModel(Q), [[...prompt]], [0], 0, 'cpu', true);
        try {
          return decodeAssisted(state, draft, settings, opts, null, 4, {}).sequences[0];
        } finally {
          state.dispose();
          draft.dispose();
        }
      });
      const key = seq.slice(1).join(',');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    // a chain's probability of each continuation, its rows warped as generate warps them
    const chain = (table: torch.Tensor) => torch.tidy(() => torch.softmax(torch.warpScores(table, opts), -1).tolist() as number[][]);
    const chiSquare = (probs: number[][]) => {
      let chi = 0, cells = 0;
      for (let a = 0; a < V; a++) for (let b = 0; b < V; b++) for (let c = 0; c < V; c++) {
        const expected = N * probs[prompt[0]][a] * probs[a][b] * probs[b][c];
        const seen = counts.get(`${a},${b},${c}`) ?? 0;
        if (expected === 0) { // (a token the warpers remove is never drawn)
          if (seen) return { chi: Infinity, df: 0 };
          continue;
        }
        chi += (seen - expected) ** 2 / expected;
        cells++;
      }
      return { chi, df: cells - 1 };
    };
    const fit = chiSquare(chain(P));
    // the chi-square quantile at 1 - 1e-4 (Wilson-Hilferty)
    const z = 3.719, k = fit.df, bound = k * (1 - 2 / (9 * k) + z * Math.sqrt(2 / (9 * k))) ** 3;
    expect({ warp, chi: fit.chi, below: fit.chi < bound }).toEqual({ warp, chi: fit.chi, below: true }); // (chi-square 73 of 114 allowed with top-k, 101 of 191 without)
    expect(chiSquare(chain(Q)).chi).toBeGreaterThan(10 * bound);
  }
  P.dispose();
  Q.dispose();
  expect(torch.memory().liveTensors).toBe(before);
});

test('assistantModel and promptLookupNumTokens with sampling on GPT-2: repeatable from a seed, every token one the model could sample, greedy\'s text at topK 1', async () => {
  const before = await settledLiveTensors();
  const twin = await torch.GPT2LMHeadModel.fromPretrained(tmp);
  torch.manualSeed(12);
  const small = new torch.GPT2LMHeadModel({ vocab_size: 64, n_positions: 40, n_embd: 16, n_layer: 1, n_head: 2, eos_token_id: 63, bos_token_id: 63 });
  const calls = forwardCalls;
  const prompts = [[5, 17, 42, 8, 9, 3], [7, 60, 7, 33, 7, 60]];
  for (const p of prompts) {
    for (const extra of [{ assistantModel: twin }, { assistantModel: small }, { promptLookupNumTokens: 4 }] as torch.GenerateOptions[]) {
      const o: torch.GenerateOptions = { ...extra, maxNewTokens: 20, eosTokenId: null, doSample: true, temperature: 1.2, topK: 6, seed: 3 };
      const a = model.generate([p], o)[0];
      expect(model.generate([p], o)[0]).toEqual(a); // (from the seed)
      expect(model.generate([p], { ...o, seed: 4 })[0]).not.toEqual(a);
      // each new token among the model's 6 likeliest after the text before it (topK 6: the only ones it samples)
      torch.tidy(() => {
        const logits = model.forward(torch.tensor([a], { dtype: 'int64' })).logits.select(0, 0);
        for (let j = p.length; j < a.length; j++) expect(logits.select(0, j - 1).topk(6).indices.tolist()).toContain(a[j]);
      });
      // topK 1 leaves one token to sample: greedy's text, whichever proposals came
      expect(model.generate([p], { ...o, topK: 1 })).toEqual(model.generate([p], { maxNewTokens: 20, eosTokenId: null }));
    }
    // a twin's drafts are drawn from the model's own probabilities, so all kept: 5 tokens a pass
    const o = { maxNewTokens: 20, eosTokenId: null, doSample: true, topK: 0, seed: 8, assistantModel: twin, numAssistantTokens: 4, assistantConfidenceThreshold: 0 };
    expect(calls(model, () => model.generate([p], o))).toBe(20 / 5);
  }
  // HF's 'heuristic' schedule carries the draft length reached to the assistant's next call; 'heuristic_transient' does not
  small.generationConfig = {};
  model.generate([prompts[0]], { maxNewTokens: 10, eosTokenId: null, assistantModel: twin, numAssistantTokensSchedule: 'heuristic_transient', assistantConfidenceThreshold: 0 });
  expect(twin.generationConfig.numAssistantTokens).toBeUndefined();
  model.generate([prompts[0]], { maxNewTokens: 10, eosTokenId: null, assistantModel: twin, numAssistantTokensSchedule: 'heuristic', numAssistantTokens: 2, assistantConfidenceThreshold: 0 });
  expect(twin.generationConfig.numAssistantTokens).toBe(2 + 2 + 2 + 2); // (three rounds all kept: drafts of 2, 4, then the 1 the length leaves)
  for (const m of [twin, small]) m.dispose();
  expect(await settledLiveTensors()).toBe(before);
});

test('contrastive search (penaltyAlpha): other text than greedy, less repetitive; penaltyAlpha 0 or topK 1 is greedy; streamed; clear errors', () => {
  const before = torch.memory().liveTensors;
  // the reference's contrastive texts (cases 19-22) are not greedy's
  const differs = CONTRASTIVE_CASES.filter((i) => JSON.stringify(model.generate(specs[i].prompts, { ...options(specs[i]), penaltyAlpha: undefined })) !== JSON.stringify(want[i].sequences));
  expect(differs.length).toBeGreaterThanOrEqual(3);
  // what it is for: this model's greedy text falls into loops; the degeneration penalty breaks them
  const long = { maxNewTokens: 30, eosTokenId: null };
  const distinct = (rows: number[][]) => rows.reduce((n, r, i) => n + new Set(r.slice(prompts[i].length)).size, 0);
  const greedy = model.generate(prompts, long), contrastive = model.generate(prompts, { ...long, penaltyAlpha: 0.6, topK: 4 });
  expect(distinct(contrastive)).toBeGreaterThan(distinct(greedy) * 1.3); // (71 distinct new tokens against 43)
  // HF's choice of decoding: penalty_alpha 0, top_k 1, or sampling is not contrastive search
  expect(model.generate(prompts, { ...long, penaltyAlpha: 0, topK: 4 })).toEqual(greedy);
  expect(model.generate(prompts, { ...long, penaltyAlpha: 0.6, topK: 1 })).toEqual(greedy);
  // streamed step by step; a row that met its end token continues with it
  const streamed: number[][] = [];
  const ended = model.generate(prompts, { maxNewTokens: 12, eosTokenId: 17, penaltyAlpha: 0.6, topK: 4, onToken: (t) => streamed.push(t) });
  expect(ended).toEqual(want[19].sequences);
  prompts.forEach((p, i) => expect(streamed.map((t) => t[i])).toEqual(ended[i].slice(p.length).concat(Array(streamed.length - ended[i].length + p.length).fill(17))));
  for (const [o, error] of [
    [{ numReturnSequences: 2 }, /contrastive search \(penaltyAlpha\) gives one sequence per prompt/],
    [{ useCache: false }, /contrastive search \(penaltyAlpha\) needs the key\/value cache/],
    [{ promptLookupNumTokens: 3 }, /penaltyAlpha \(contrastive search\) is a decoding of its own/],
  ] as [torch.GenerateOptions, RegExp][]) expect(() => model.generate([[1, 2]], { penaltyAlpha: 0.6, topK: 4, ...o })).toThrow(error);
  expect(() => model.generate([[1, 2]], { penaltyAlpha: 1.5 })).toThrow('generate: penaltyAlpha must be in [0, 1] (0: off), got 1.5');
  expect(torch.memory().liveTensors).toBe(before);
});

test('generateAsync: generate()\'s results, the event loop running between steps; an AbortSignal stops it with every tensor freed; overlapping calls', async () => {
  const before = await settledLiveTensors(); // (earlier garbage may be finalized at any await here)
  const small = new torch.GPT2LMHeadModel({ vocab_size: 64, n_positions: 40, n_embd: 16, n_layer: 1, n_head: 2 });
  const cases: torch.GenerateOptions[] = [
    { maxNewTokens: 8, eosTokenId: 17 },
    { maxNewTokens: 8, eosTokenId: null, doSample: true, topK: 10, seed: 5 },
    { maxNewTokens: 8, eosTokenId: 17, numBeams: 3, numReturnSequences: 2 },
    { maxNewTokens: 8, eosTokenId: null, penaltyAlpha: 0.6, topK: 4 },
  ];
  for (const o of cases) expect(await model.generateAsync(prompts, o)).toEqual(model.generate(prompts, o));
  for (const o of [{ assistantModel: small }, { promptLookupNumTokens: 3 }, { assistantModel: small, doSample: true, seed: 2 }] as torch.GenerateOptions[]) {
    expect(await model.generateAsync([prompts[0]], { maxNewTokens: 8, eosTokenId: null, ...o })).toEqual(model.generate([prompts[0]], { maxNewTokens: 8, eosTokenId: null, ...o }));
  }
  const dict = await model.generateAsync(prompts, { maxNewTokens: 5, eosTokenId: null, returnDictInGenerate: true, outputScores: true });
  const syncDict = model.generate(prompts, { maxNewTokens: 5, eosTokenId: null, returnDictInGenerate: true, outputScores: true });
  expect(dict.sequences).toEqual(syncDict.sequences);
  dict.scores!.forEach((t, j) => expect(relErr(t, syncDict.scores![j])).toBe(0));
  for (const t of [...dict.scores!, ...syncDict.scores!]) t.dispose();
  // the event loop turns between steps: a callback queued before the call runs after its first token
  const order: string[] = [];
  setImmediate(() => order.push('other work'));
  await model.generateAsync([[1, 2]], { maxNewTokens: 4, eosTokenId: null, onToken: () => order.push('token') });
  expect(order).toEqual(['token', 'other work', 'token', 'token', 'token']);
  order.length = 0;
  setImmediate(() => order.push('other work'));
  model.generate([[1, 2]], { maxNewTokens: 4, eosTokenId: null, onToken: () => order.push('token') });
  await new Promise((r) => setImmediate(r));
  expect(order).toEqual(['token', 'token', 'token', 'token', 'other work']); // (generate() holds the thread)
  // an AbortSignal: aborted from outside a few turns of the event loop in, or from onToken; or before the start
  model.train();
  for (const o of [{}, { numBeams: 2 }, { penaltyAlpha: 0.6, topK: 4 }, { assistantModel: small }, { returnDictInGenerate: true, outputScores: true }] as torch.GenerateOptions[]) {
    const controller = new AbortController();
    let turns = 0;
    const tick = () => (++turns === 3 ? controller.abort() : setImmediate(tick));
    setImmediate(tick);
    await expect(model.generateAsync([[5, 6, 7]], { ...o, maxNewTokens: 30, eosTokenId: null, signal: controller.signal })).rejects.toThrow(expect.objectContaining({ name: 'AbortError' }));
    expect(turns).toBe(3);
    expect(model.training).toBe(true); // (the mode it had, back)
  }
  const inside = new AbortController();
  expect(() => model.generate([[5, 6, 7]], { maxNewTokens: 30, signal: inside.signal, onToken: () => inside.abort(new Error('enough')) })).toThrow('enough');
  await expect(model.generateAsync([[5]], { signal: AbortSignal.abort() })).rejects.toThrow(expect.objectContaining({ name: 'AbortError' }));
  expect(() => model.generate([[5]], { signal: {} as AbortSignal })).toThrow(/signal must be an AbortSignal/);
  // two at once on one model: each its own text; eval mode until the last ends, then training again
  const alone = [model.generate([prompts[0]], { maxNewTokens: 10, eosTokenId: null }), model.generate([prompts[1]], { maxNewTokens: 6, eosTokenId: null, numBeams: 2 })];
  const a = model.generateAsync([prompts[0]], { maxNewTokens: 10, eosTokenId: null });
  const b = model.generateAsync([prompts[1]], { maxNewTokens: 6, eosTokenId: null, numBeams: 2 });
  expect(await Promise.all([a, b])).toEqual(alone);
  expect(model.training).toBe(true);
  model.eval();
  small.dispose();
  expect(await settledLiveTensors()).toBe(before);
});

test('generate\'s autocast option: the steps under bfloat16 autocast, as generate() wrapped in torch.autocast', async () => {
  const o = { maxNewTokens: 6, eosTokenId: null, numBeams: 2, returnDictInGenerate: true as const, outputScores: true };
  const wrapped = torch.autocast(() => model.beamSearch(prompts, o), { deviceType: 'cpu', dtype: 'bfloat16' });
  const asOption = await model.generateAsync(prompts, { ...o, autocast: { deviceType: 'cpu', dtype: 'bfloat16' } });
  const plain = model.generate(prompts, o);
  expect(asOption.sequencesScores).toEqual(wrapped.scores);
  expect(asOption.sequencesScores).not.toEqual(plain.sequencesScores); // (bf16 scores are not fp32's)
  for (const t of [...asOption.scores!, ...plain.scores!]) t.dispose();
});

test('frequencyPenalty and presencePenalty (OpenAI\'s, as vLLM\'s): other text than without them; positive, fewer repeats; negative, more; clear errors', () => {
  const before = torch.memory().liveTensors;
  // the reference's texts (cases 26-30) are not those without the penalties
  for (const i of PENALTY_CASES) {
    const o = { ...options(specs[i]), frequencyPenalty: undefined, presencePenalty: undefined };
    expect(specs[i].num_beams > 1 ? model.beamSearch(specs[i].prompts, o).sequences : model.generate(specs[i].prompts, o)).not.toEqual(want[i].sequences);
  }
  // what they are for: this model's greedy text falls into loops
  const long = { maxNewTokens: 30, eosTokenId: null };
  const distinct = (rows: number[][]) => rows.reduce((n, r, i) => n + new Set(r.slice(prompts[i].length)).size, 0);
  const greedy = distinct(model.generate(prompts, long));
  expect(distinct(model.generate(prompts, { ...long, presencePenalty: 2 }))).toBeGreaterThan(greedy * 1.5);
  expect(distinct(model.generate(prompts, { ...long, frequencyPenalty: 1 }))).toBeGreaterThan(greedy * 1.5);
  expect(distinct(model.generate(prompts, { ...long, frequencyPenalty: -2 }))).toBeLessThan(greedy);
  // 0 is off
  expect(model.generate(prompts, { ...long, frequencyPenalty: 0, presencePenalty: 0 })).toEqual(model.generate(prompts, long));
  for (const k of ['frequencyPenalty', 'presencePenalty'] as const) {
    expect(() => model.generate([[1]], { [k]: NaN })).toThrow(`generate: ${k} must be a finite number (0 is off), got NaN`);
  }
  expect(torch.memory().liveTensors).toBe(before);
});

test('onLogits: each step\'s raw logits, as outputLogits records them, just before onToken hears of its tokens (greedy, sampling, contrastive, prompt lookup); not with beams', () => {
  const before = torch.memory().liveTensors;
  for (const o of [{}, { doSample: true, seed: 5 }, { penaltyAlpha: 0.6, topK: 4 }, { promptLookupNumTokens: 2 }] as torch.GenerateOptions[]) {
    const rows = o.promptLookupNumTokens ? [[7, 60, 7, 33, 7, 60, 7]] : prompts;
    const heard: string[] = [], seen: number[][][] = [];
    const out = model.generate(rows, {
      ...o, maxNewTokens: 8, eosTokenId: null, returnDictInGenerate: true, outputLogits: true, repetitionPenalty: 1.5,
      onLogits: (logits) => { heard.push('logits'); seen.push(logits.tolist() as number[][]); },
      onToken: () => heard.push('token'),
    });
    expect(seen).toHaveLength(8);
    expect(seen).toEqual(out.logits!.map((t) => t.tolist()));
    expect(heard).toEqual(Array(8).fill(['logits', 'token']).flat());
    for (const t of out.logits!) t.dispose();
  }
  expect(() => model.generate([[1]], { numBeams: 2, onLogits: () => undefined })).toThrow('generate: onLogits cannot stream beam search');
  expect(torch.memory().liveTensors).toBe(before);
});

test('pastKeyValues (HF\'s past_key_values for generate): a cache of the prompt\'s start, only the rest fed; the same tokens in every mode; the caller\'s tensors untouched; clear errors', () => {
  const before = torch.memory().liveTensors;
  const prefix = [5, 17, 42, 8, 9], prompt = [...prefix, 3, 11];
  const cacheOf = (ids: number[][]) => torch.tidy(() => model.forward(torch.tensor(ids, { dtype: 'int64' }), { useCache: true }).pastKeyValues!.map(([k, v]) => [torch.keep(k), torch.keep(v)] as torch.LayerPast));
  const past = cacheOf([prefix]);
  const copies = past.flat().map((t) => t.clone());
  const o = { maxNewTokens: 10, eosTokenId: 17 };
  for (const extra of [{}, { repetitionPenalty: 1.3, frequencyPenalty: 0.5 }, { doSample: true, seed: 3, numReturnSequences: 2, topK: 10 }, { promptLookupNumTokens: 2 }, { numBeams: 3, numReturnSequences: 2 }] as torch.GenerateOptions[]) {
    expect({ extra, got: model.generate([prompt], { ...o, ...extra, pastKeyValues: past }) }).toEqual({ extra, got: model.generate([prompt], { ...o, ...extra }) });
  }
  // the first pass feeds only the two tokens after the cache
  const fed: number[][] = [], forward = model.forward.bind(model);
  const spy = jest.spyOn(model, 'forward').mockImplementation(((ids: torch.Tensor, opts?: torch.ForwardOptions) => { fed.push(ids.shape); return forward(ids, opts); }) as typeof model.forward);
  model.generate([prompt], { maxNewTokens: 3, pastKeyValues: past });
  spy.mockRestore();
  expect(fed).toEqual([[1, 2], [1, 1], [1, 1]]);
  // prompts of one length: one cache row shared, or a row each
  const two = [[...prefix, 3], [...prefix, 40]];
  expect(model.generate(two, { ...o, pastKeyValues: past })).toEqual(model.generate(two, o));
  const both = cacheOf([[7, 60, 7, 33, 9], prefix]);
  expect(model.generate([[7, 60, 7, 33, 9, 1], [...prefix, 3]], { ...o, pastKeyValues: both })).toEqual(model.generate([[7, 60, 7, 33, 9, 1], [...prefix, 3]], o));
  // the caller's tensors as they were
  past.flat().forEach((t, i) => expect(torch.equal(t, copies[i])).toBe(true));
  for (const [opts, error] of [
    [{ pastKeyValues: past }, /covers 5 positions, the prompt has 5 tokens: it must leave at least the prompt's last token to feed/],
    [{ pastKeyValues: past.slice(1) }, /must be a forward pass's cache: 2 layers of \[keys, values\]/],
    [{ pastKeyValues: past, penaltyAlpha: 0.6, topK: 4 }, /is not taken by contrastive search/],
  ] as [torch.GenerateOptions, RegExp][]) expect(() => model.generate([prefix], opts)).toThrow(error);
  model.train(); // (a refused call leaves the model's mode as it was)
  expect(() => model.generate([prompt, [1, 2]], { pastKeyValues: past })).toThrow(/goes with prompts of one length/);
  expect(model.training).toBe(true);
  model.eval();
  expect(() => model.generate([[...prefix, 1], [...prefix, 2], [...prefix, 3]], { pastKeyValues: both })).toThrow(/tensors must be \(1 or 3, 2, P, 16\) keys and values, got \(2, 2, 5, 16\)/);
  for (const t of [...past.flat(), ...both.flat(), ...copies]) t.dispose();
  expect(torch.memory().liveTensors).toBe(before);
});

test('prefillChunkSize (HF\'s prefill_chunk_size): all but the prompt\'s last token in passes of that many, then the steps; the same logits (1e-5) and draws; with a cache given; a step each for generateAsync; clear errors', async () => {
  const before = torch.memory().liveTensors;
  const prompt = [5, 17, 42, 8, 9, 3, 11, 40];
  const shapes = (opts: torch.GenerateOptions, p: number[][] = [prompt]) => {
    const fed: number[][] = [], forward = model.forward.bind(model);
    const spy = jest.spyOn(model, 'forward').mockImplementation(((ids: torch.Tensor, o?: torch.ForwardOptions) => { fed.push(ids.shape); return forward(ids, o); }) as typeof model.forward);
    try {
      model.generate(p, { maxNewTokens: 2, eosTokenId: null, ...opts });
    } finally {
      spy.mockRestore();
    }
    return fed;
  };
  expect(shapes({ prefillChunkSize: 3 })).toEqual([[1, 3], [1, 3], [1, 1], [1, 1], [1, 1]]); // (7 positions in 3 + 3 + 1, the last token, a step)
  expect(shapes({ prefillChunkSize: 100 })).toEqual([[1, 7], [1, 1], [1, 1]]);
  expect(shapes({ prefillChunkSize: 4 }, [prompt, [1, 2]])).toEqual([[2, 4], [2, 3], [2, 1], [2, 1]]); // (the padded rows)
  expect(shapes({ prefillChunkSize: 3, numBeams: 2 })).toEqual([[1, 7], [2, 1], [2, 1]]); // (beam search: not in chunks; the beams share the prompt's pass)
  // the logits of every step as one pass gives them, padded prompts too; sampling draws the same
  for (const extra of [{}, { doSample: true, seed: 5, topK: 20, numReturnSequences: 2 }] as torch.GenerateOptions[]) {
    const p = [prompt, [7, 60, 7]];
    const whole = model.generate(p, { ...extra, maxNewTokens: 6, eosTokenId: null, returnDictInGenerate: true, outputLogits: true }) as torch.GenerateOutput;
    const chunked = model.generate(p, { ...extra, maxNewTokens: 6, eosTokenId: null, returnDictInGenerate: true, outputLogits: true, prefillChunkSize: 2 }) as torch.GenerateOutput;
    expect(chunked.sequences).toEqual(whole.sequences);
    chunked.logits!.forEach((t, k) => expect(relErr(t, whole.logits![k])).toBeLessThan(1e-5));
    for (const t of [...whole.logits!, ...chunked.logits!]) t.dispose();
  }
  // a cache given for the prompt's start: the chunks go on from it
  const past = torch.tidy(() => model.forward(torch.tensor([prompt.slice(0, 3)], { dtype: 'int64' }), { useCache: true }).pastKeyValues!.map(([k, v]) => [torch.keep(k), torch.keep(v)] as torch.LayerPast));
  expect(shapes({ prefillChunkSize: 2, pastKeyValues: past })).toEqual([[1, 2], [1, 2], [1, 1], [1, 1]]);
  expect(model.generate([prompt], { maxNewTokens: 8, eosTokenId: null, prefillChunkSize: 2, pastKeyValues: past })).toEqual(model.generate([prompt], { maxNewTokens: 8, eosTokenId: null }));
  for (const t of past.flat()) t.dispose();
  // generateAsync: the event loop has a turn between the chunks (an abort stops it in the prompt)
  const controller = new AbortController();
  const fed: number[][] = [], forward = model.forward.bind(model);
  const spy = jest.spyOn(model, 'forward').mockImplementation(((ids: torch.Tensor, o?: torch.ForwardOptions) => { fed.push(ids.shape); if (fed.length === 2) setImmediate(() => controller.abort()); return forward(ids, o); }) as typeof model.forward);
  await expect(model.generateAsync([prompt], { maxNewTokens: 4, prefillChunkSize: 2, signal: controller.signal })).rejects.toThrow(/abort/i);
  spy.mockRestore();
  expect(fed.length).toBeLessThan(4);
  // maxTime counts the chunks' passes too (as HF's MaxTimeCriteria, from the call): each pass a second on a mocked clock
  let clock = 0;
  const now = jest.spyOn(Date, 'now').mockImplementation(() => clock);
  const timed = jest.spyOn(model, 'forward').mockImplementation(((ids: torch.Tensor, o?: torch.ForwardOptions) => { clock += 1000; return forward(ids, o); }) as typeof model.forward);
  try {
    expect(model.generate([prompt], { maxNewTokens: 10, eosTokenId: null, prefillChunkSize: 1, maxTime: 5 })[0]).toHaveLength(prompt.length + 1); // (7 s of chunks: one step)
    expect(model.generate([prompt], { maxNewTokens: 10, eosTokenId: null, prefillChunkSize: 4, maxTime: 5 })[0]).toHaveLength(prompt.length + 4); // (2 s of chunks; the 4th step ends past 5 s)
  } finally {
    timed.mockRestore();
    now.mockRestore();
  }
  // from generation_config.json, as HF's
  const saved = model.generationConfig;
  model.generationConfig = { ...saved, prefillChunkSize: 3 };
  expect(shapes({})).toEqual([[1, 3], [1, 3], [1, 1], [1, 1], [1, 1]]);
  model.generationConfig = saved;
  expect(() => model.generate([prompt], { prefillChunkSize: 0 })).toThrow(/prefillChunkSize must be an integer >= 1, got 0/);
  expect(() => model.generate([prompt], { prefillChunkSize: 2, useCache: false })).toThrow(/prefillChunkSize needs the key\/value cache/);
  expect(torch.memory().liveTensors).toBe(before);
});

test('prefixAllowedTokensFn (HF\'s prefix_allowed_tokens_fn): every new token one the function allowed, the function seeing each row\'s padded tokens and batch id; maxTime stops after a step; clear errors', () => {
  const allowed = (b: number, ids: number[]) => ALLOWED[b][ids[ids.length - 1] % ALLOWED[b].length];
  for (const i of PREFIX_CASES.slice(0, 2)) {
    want[i].sequences.forEach((seq, k) => {
      const b = specs[i].num_beams > 1 ? Math.floor(k / (specs[i].num_return_sequences ?? 1)) : k;
      for (let j = prompts[b].length; j < seq.length; j++) if (seq[j - 1] !== 17) expect(allowed(b, seq.slice(0, j))).toContain(seq[j]);
    });
    expect(want[i].sequences).not.toEqual(model.generate(prompts, { ...options(specs[i]), prefixAllowedTokensFn: undefined, numBeams: specs[i].num_beams }).slice(0, want[i].sequences.length));
  }
  // what the function sees: batch ids by prompt (beams share theirs), the rows with left padding
  const seen: string[] = [];
  model.generate(prompts, { maxNewTokens: 1, numBeams: 2, prefixAllowedTokensFn: (b, ids) => { seen.push(`${b}:${ids.join(',')}`); return [4]; } });
  expect(seen).toEqual(['0:5,17,42,8,9,3', '0:5,17,42,8,9,3', '1:63,63,63,63,63,1', '1:63,63,63,63,63,1', '2:63,63,7,60,7,33', '2:63,63,7,60,7,33']);
  expect(() => model.generate([[1]], { prefixAllowedTokensFn: () => [] })).toThrow('generate: prefixAllowedTokensFn gave no tokens for batch 0: the constraint cannot be met (it must return the token ids allowed next)');
  expect(() => model.generate([[1]], { prefixAllowedTokensFn: () => [64] })).toThrow(/gave 64 for batch 0, not a token id of this vocabulary \(0 \.\. 63\)/);
  // maxTime: checked after each step, as HF's MaxTimeCriteria; the text so far is the result
  for (const o of [{}, { numBeams: 2 }, { penaltyAlpha: 0.6, topK: 4 }, { promptLookupNumTokens: 2 }] as torch.GenerateOptions[]) {
    const got = model.generate([[5, 6, 7]], { ...o, maxNewTokens: 20, eosTokenId: null, maxTime: 1e-6 });
    expect(got[0].length).toBeLessThan(3 + 20);
    expect(got[0].length).toBeGreaterThan(3);
  }
  expect(() => model.generate([[1]], { maxTime: 0 })).toThrow('generate: maxTime must be a number of seconds > 0, got 0');
});

test('noRepeatNgramBans is HF\'s: the tokens that would repeat an n-gram ending in the last n - 1 tokens', () => {
  expect(torch.noRepeatNgramBans([[1, 2, 3, 1, 2], [1, 2], [4]], 3)).toEqual([[3], [], []]);
  expect(torch.noRepeatNgramBans([[1, 2, 1, 3, 1]], 2)).toEqual([[2, 3]]);
  expect(torch.noRepeatNgramBans([[5, 6, 5]], 1)).toEqual([[5, 6]]);
});

test('maxLength / minLength as HF\'s max_length / min_length (the prompt counted; maxNewTokens wins); an option generate() does not know is an error', () => {
  const prompt = [[5, 17, 42]];
  // max_length 9 with a 3-token prompt is 6 new tokens, greedy or beam search
  expect(model.generate(prompt, { maxLength: 9, eosTokenId: null })).toEqual(model.generate(prompt, { maxNewTokens: 6, eosTokenId: null }));
  expect(model.generate(prompt, { maxLength: 9, eosTokenId: null })[0].length).toBe(9);
  expect(model.beamSearch(prompt, { maxLength: 8, numBeams: 2, eosTokenId: null })).toEqual(model.beamSearch(prompt, { maxNewTokens: 5, numBeams: 2, eosTokenId: null }));
  expect(model.generate(prompt, { maxLength: 9, maxNewTokens: 2, eosTokenId: null })[0].length).toBe(5);
  // min_length: no end token before prompt + new tokens reach it (41, this prompt's second new token, as the end token)
  expect(model.generate(prompt, { maxNewTokens: 10, eosTokenId: 41 })[0].length).toBe(5);
  expect(model.generate(prompt, { minLength: 8, maxNewTokens: 10, eosTokenId: 41 })).toEqual(model.generate(prompt, { minNewTokens: 5, maxNewTokens: 10, eosTokenId: 41 }));
  expect(model.generate(prompt, { minLength: 8, maxNewTokens: 10, eosTokenId: 41 })[0].length).toBeGreaterThanOrEqual(8);
  // a default maxLength (generation_config.json's max_length) gives way to a maxNewTokens given in the call, and the other way round
  model.generationConfig = { maxLength: 6 };
  expect([model.generate(prompt, { eosTokenId: null })[0].length, model.generate(prompt, { maxNewTokens: 5, eosTokenId: null })[0].length]).toEqual([6, 8]);
  model.generationConfig = { maxNewTokens: 2 };
  expect(model.generate(prompt, { maxLength: 7, eosTokenId: null })[0].length).toBe(7);
  model.generationConfig = {};
  expect(() => model.generate(prompt, { maxLength: 3 })).toThrow("generate: maxLength 3 counts the prompt too (HF's max_length), and the prompt is already 3 tokens: give a larger maxLength, or maxNewTokens");
  expect(() => model.generate(prompt, { max_new_tokens: 5 } as never)).toThrow("generate: unknown option 'max_new_tokens' (did you mean maxNewTokens?)");
  expect(() => model.generate(prompt, { maxNewToken: 5 } as never)).toThrow("generate: unknown option 'maxNewToken' (did you mean maxNewTokens?)");
  expect(() => model.beamSearch(prompt, { numBeam: 2 } as never)).toThrow("generate: unknown option 'numBeam' (did you mean numBeams?)");
});

test('beam search: the context limit, maxNewTokens 0, and clear errors', () => {
  const n = model.config.n_positions;
  const long = model.beamSearch([Array(n - 2).fill(7)], { numBeams: 3, maxNewTokens: 10, eosTokenId: null });
  expect(long.sequences[0].length).toBe(n + 1);
  const none = model.beamSearch([[1, 2], [3]], { numBeams: 3, maxNewTokens: 0, numReturnSequences: 2 });
  expect(none).toEqual({ sequences: [[1, 2], [1, 2], [3], [3]], scores: [0, 0, 0, 0], beamIndices: [[], [], [], []] });
  expect(() => model.generate([1], { numBeams: 2, numReturnSequences: 3 })).toThrow(/numReturnSequences \(3\) must be <= numBeams \(2\)/);
  expect(() => model.generate([1], { numBeams: 3, doSample: true, topK: 2 })).toThrow('generate: beam sampling draws 2 x numBeams (6) candidates a step, but the warpers left only 2 tokens to draw from: raise topK / topP, or lower numBeams');
  expect(() => model.generate([1], { numBeams: 2, onToken: () => {} })).toThrow(/onToken cannot stream beam search/);
  expect(() => model.generate([1], { numReturnSequences: 2 })).toThrow(/greedy decoding gives one sequence per prompt/);
  expect(() => model.generate([1], { doSample: true, temperature: 0 })).toThrow(/doSample with temperature 0: sampling needs a temperature > 0/); // (HF's TemperatureLogitsWarper refuses it too)
  expect(() => model.generate([1], { numBeams: 0 })).toThrow(/numBeams must be an integer >= 1/);
  expect(() => model.generate([1], { noRepeatNgramSize: -1 })).toThrow(/noRepeatNgramSize must be an integer >= 0/);
  expect(() => model.generate([1], { numBeams: 2, earlyStopping: 'sometimes' as never })).toThrow(/earlyStopping must be true, false or 'never'/);
});

test('rows that repeat a prompt (its beams, its samples) share its pass: all but the last token once per prompt, then each row\'s last token; the first step\'s logits those of the whole prompt (1e-5); beams reorder their cache in place', () => {
  const fed: number[][] = [], forward = model.forward.bind(model);
  const spy = jest.spyOn(model, 'forward').mockImplementation(((ids: torch.Tensor, o?: torch.ForwardOptions) => { fed.push(ids.shape); return forward(ids, o); }) as typeof model.forward);
  const fedBy = (p: number[][], opts: torch.GenerateOptions) => {
    fed.length = 0;
    const out = model.generate(p, { maxNewTokens: 3, eosTokenId: null, returnDictInGenerate: true, outputLogits: true, ...opts }) as unknown as torch.GenerateOutput;
    return { fed: [...fed], out };
  };
  const p = [[5, 17, 42, 8, 9, 3], [7, 60, 7]];
  try {
    const beams = fedBy(p, { numBeams: 3 });
    expect(beams.fed).toEqual([[2, 5], [6, 1], [6, 1], [6, 1]]);
    const sampled = fedBy(p, { doSample: true, seed: 3, numReturnSequences: 2 });
    expect(sampled.fed).toEqual([[2, 5], [4, 1], [4, 1], [4, 1]]);
    expect(fedBy(p, {}).fed).toEqual([[2, 6], [2, 1], [2, 1]]); // (one row a prompt: the whole prompt, as before)
    expect(fedBy([[4]], { numBeams: 2 }).fed).toEqual([[2, 1], [2, 1], [2, 1]]); // (a one-token prompt: nothing to share)
    // the first step's logits: each row's, the whole (padded) prompt's last position's
    const whole = torch.noGrad(() => forward(torch.tensor([p[0], [0, 0, 0, ...p[1]]], { dtype: 'int64' }), {
      attentionMask: torch.tensor([[1, 1, 1, 1, 1, 1], [0, 0, 0, 1, 1, 1]], { dtype: 'int64' }),
      positionIds: torch.tensor([[0, 1, 2, 3, 4, 5], [1, 1, 1, 0, 1, 2]], { dtype: 'int64' }),
    }).logits.select(1, 5));
    for (const [out, copies] of [[beams.out, 3], [sampled.out, 2]] as const) {
      expect(relErr(out.logits![0], whole.repeatInterleave(copies, 0))).toBeLessThan(1e-5);
      for (const t of out.logits!) t.dispose();
    }
    whole.dispose();
  } finally {
    spy.mockRestore();
  }
  // beam search's steps reorder the cache where it lies, and the prompt's shared cache is repeated
  // to the beams into a buffer with room: one buffer a layer from the first step to the last
  const pointers = new Set<number>();
  const forwardAgain = model.forward.bind(model);
  const watch = jest.spyOn(model, 'forward').mockImplementation(((ids: torch.Tensor, o?: torch.ForwardOptions) => {
    const given = o?.pastKeyValues?.[0][0].dataPtr();
    const out = forwardAgain(ids, o);
    if (o?.pastKeyValues && ids.shape[1] === 1) {
      fed.push(ids.shape);
      pointers.add(given!).add(out.pastKeyValues![0][0].dataPtr());
    }
    return out;
  }) as typeof model.forward);
  fed.length = 0;
  try {
    model.generate([[5, 17, 42, 8, 9, 3]], { numBeams: 3, maxNewTokens: 6, eosTokenId: null });
  } finally {
    watch.mockRestore();
  }
  expect(fed.length).toBe(6);
  expect(pointers.size).toBe(1);
});

test('sampling with numReturnSequences: each prompt\'s samples adjacent, each as the prompt sampled alone from its seed', () => {
  const opts = { maxNewTokens: 6, temperature: 1.5, eosTokenId: null, seed: 11 };
  const both = model.generate([[1, 2], [3]], { ...opts, numReturnSequences: 3 });
  expect(both).toHaveLength(6);
  expect(both.slice(0, 3).every((s) => s[0] === 1 && s[1] === 2)).toBe(true);
  expect(both.slice(3).every((s) => s[0] === 3)).toBe(true);
  expect(new Set(both.map((s) => s.join())).size).toBeGreaterThan(2); // the samples differ
  // The same rows drawn as one batch of six prompts (HF repeats each prompt so).
  expect(model.generate([[1, 2], [1, 2], [1, 2], [3], [3], [3]], opts)).toEqual(both);
});
