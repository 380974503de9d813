// GenerationBatcher (continuous batching): concurrent generations share their plain steps' forward
// passes. Each must get what generate() gives it alone, and the logits of its batched steps must be
// the reference GPT-2's (gpt2_ref.py, the whole sequence in one pass, no cache, no padding).
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as torch from '../lib';
import { lessFlatGpt2, seededRandom, settledLiveTensors } from './helpers';

let tmp: string;
let model: torch.GPT2LMHeadModel;
const prompts = [[5, 17, 42, 8, 9, 3], [1], [7, 60, 7, 33]];

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-batching-'));
  model = lessFlatGpt2(); // (its tokens are not near ties)
  await model.savePretrained(tmp);
});
afterAll(() => {
  model?.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** The reference's logits (float32) after each position of each sequence, one pass each. */
function referenceLogits(sequences: number[][]): number[][][] {
  const r = spawnSync('/usr/bin/python3', ['-c', `
import json, sys, torch
sys.path.insert(0, ${JSON.stringify(path.join(__dirname, '..', 'scripts', 'reference'))})
import gpt2_ref
m = gpt2_ref.from_pretrained(${JSON.stringify(tmp)})
with torch.no_grad():
    print(json.dumps([m(torch.tensor([s]))[0][0].tolist() for s in json.load(sys.stdin)]))
`], { input: JSON.stringify(sequences), encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

const JOBS: [number[][], torch.GenerateOptions][] = [
  [[prompts[0]], { maxNewTokens: 12, eosTokenId: null }],
  [prompts, { maxNewTokens: 10, eosTokenId: 17, frequencyPenalty: 1 }], // (three prompts of their own lengths: padded among themselves too)
  [[prompts[2]], { maxNewTokens: 20, eosTokenId: null, repetitionPenalty: 1.3, noRepeatNgramSize: 2 }],
  [[[9, 9, 9, 4]], { maxNewTokens: 8, eosTokenId: [50, 17], minNewTokens: 3 }],
  [[prompts[1]], { maxNewTokens: 5, eosTokenId: null, numBeams: 2 }], // (beam search: a step each turn, unbatched)
  [[prompts[0]], { maxNewTokens: 6, eosTokenId: null, penaltyAlpha: 0.6, topK: 4 }], // (contrastive search: likewise)
];

test('concurrent generations: each gets generate()\'s tokens alone; the plain steps share passes whose logits are the reference\'s (1e-4); nothing left behind', async () => {
  const want = JOBS.map(([p, o]) => model.generate(p, o));
  const before = await settledLiveTensors();
  const batcher = new torch.GenerationBatcher(model);
  // each plain job's logits, step by step, as its rows of the shared passes gave them
  const seen: number[][][][] = JOBS.map(() => []);
  const got = await Promise.all(JOBS.map(([p, o], j) => batcher.generate(p, { ...o, onLogits: o.numBeams ? undefined : (l) => { seen[j].push(l.tolist() as number[][]); } })));
  expect(got).toEqual(want);
  expect(batcher.stats.batchedPasses).toBeGreaterThanOrEqual(9);
  expect(batcher.stats.widestBatch).toBe(4);
  // (the first shared step goes on in the prompts' pass's cache, no restack; the two jobs that end
  // while others go on (8 and 10 tokens) have their rows cut out of it in place)
  expect(batcher.stats).toMatchObject({ restacks: 0, compactions: 2 });
  // (the four plain jobs' prompts, 6, 6 (three rows, padded among themselves), 4 and 4 tokens, went through in one pass)
  expect(batcher.stats).toMatchObject({ batchedPrefills: 1, prefilledTogether: 4 });
  expect(batcher.size).toBe(0);
  // the logits each plain job saw (rows of batched passes after its first), against the reference's
  // over its whole sequence; rows of a prompt padded among its job's prompts start after their padding
  const sequences: number[][] = [], steps: number[][][] = [];
  for (const j of [0, 1, 2, 3]) {
    const [p] = JOBS[j];
    got[j].forEach((seq, r) => {
      const promptLength = p[r].length;
      const kept = seen[j].map((step) => step[r]).slice(0, seq.length - promptLength); // (a finished row's later steps are padding)
      sequences.push(seq);
      steps.push(kept);
      expect(kept.length).toBe(Math.min(seq.length - promptLength, seen[j].length));
    });
  }
  const ref = referenceLogits(sequences);
  let worst = 0, compared = 0;
  sequences.forEach((seq, i) => {
    const promptLength = seq.length - steps[i].length;
    steps[i].forEach((row, k) => row.forEach((v, t) => { worst = Math.max(worst, Math.abs(v - ref[i][promptLength - 1 + k][t])); compared++; }));
  });
  expect(compared).toBeGreaterThan(64 * 60);
  expect(worst).toBeLessThan(1e-4);
  expect(await settledLiveTensors()).toBe(before);
});

test('generations join and leave between steps; one aborted or failing leaves the others as they are; maxBatchRows caps a pass; a seeded sample alone is generate()\'s', async () => {
  const before = await settledLiveTensors();
  model.train(); // (each generation holds it in eval mode; the mode comes back after the last, however it ended)
  const batcher = new torch.GenerationBatcher(model);
  const long = batcher.generate([prompts[0]], { maxNewTokens: 30, eosTokenId: null });
  // a later one joins while the first runs
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  const late = batcher.generate([prompts[2]], { maxNewTokens: 8, eosTokenId: null });
  const controller = new AbortController();
  let steps = 0;
  const aborted = batcher.generate([prompts[1]], { maxNewTokens: 30, eosTokenId: null, signal: controller.signal, onToken: () => { if (++steps === 3) controller.abort(); } });
  const failing = batcher.generate([prompts[1]], { maxNewTokens: 5, prefixAllowedTokensFn: () => [] });
  const hookFails = batcher.generate([prompts[2]], { maxNewTokens: 5 }, { prefilled: () => { throw new Error('no room to keep it'); } });
  await Promise.all([expect(aborted).rejects.toThrow(/abort/i), expect(failing).rejects.toThrow(/prefixAllowedTokensFn gave no tokens/), expect(hookFails).rejects.toThrow('no room to keep it')]);
  expect(await long).toEqual(model.generate([prompts[0]], { maxNewTokens: 30, eosTokenId: null }));
  expect(await late).toEqual(model.generate([prompts[2]], { maxNewTokens: 8, eosTokenId: null }));
  expect(model.training).toBe(true);
  model.eval();
  expect(batcher.stats.batchedPasses).toBeGreaterThan(0);
  // to the end of the context (n_positions 40: a 30-token prompt gets 11 tokens), next to a short one
  const long30 = Array.from({ length: 30 }, (_, i) => (i * 7) % 60);
  const ends = await Promise.all([batcher.generate([long30], { maxNewTokens: 20, eosTokenId: null }), batcher.generate([[4, 5]], { maxNewTokens: 20, eosTokenId: null })]);
  expect(ends[0][0]).toHaveLength(41);
  expect(ends).toEqual([model.generate([long30], { maxNewTokens: 20, eosTokenId: null }), model.generate([[4, 5]], { maxNewTokens: 20, eosTokenId: null })]);
  // one row a pass: nothing shared, the same tokens
  const single = new torch.GenerationBatcher(model, { maxBatchRows: 1 });
  const alone = await Promise.all(prompts.map((p) => single.generate([p], { maxNewTokens: 6, eosTokenId: null })));
  expect(alone).toEqual(prompts.map((p) => model.generate([p], { maxNewTokens: 6, eosTokenId: null })));
  expect(single.stats.batchedPasses).toBe(0);
  // sampling from a seed, alone in the batcher: generate()'s draws
  const sampled = { maxNewTokens: 10, doSample: true, temperature: 0.9, topK: 20, seed: 4, numReturnSequences: 3, eosTokenId: null };
  expect(await batcher.generate([prompts[0]], sampled)).toEqual(model.generate([prompts[0]], sampled));
  // bad options: the call's own error
  await expect(batcher.generate([prompts[0]], { maxNewTokens: -1 })).rejects.toThrow(/maxNewTokens must be an integer >= 0/);
  await expect(batcher.generate([prompts[0]], { returnDictInGenerate: true })).rejects.toThrow(/returnDictInGenerate is for model.generate\(\)/);
  expect(() => new torch.GenerationBatcher(model, { maxBatchRows: 0 })).toThrow(/maxBatchRows must be an integer >= 1/);
  expect(await settledLiveTensors()).toBe(before);
});

test('a fault of the batcher\'s own (outside any one generation\'s step) rejects every generation in flight with it, frees their caches, and the batcher goes on', async () => {
  const before = await settledLiveTensors();
  const batcher = new torch.GenerationBatcher(model);
  const inner = batcher as unknown as { advance(job: unknown): void };
  const advance = inner.advance;
  let calls = 0;
  inner.advance = function (this: unknown, job: unknown) {
    if (++calls === 5) throw new Error('a fault in the batcher'); // (the third turn, after a shared step)
    advance.call(this, job);
  };
  const both = [batcher.generate([prompts[0]], { maxNewTokens: 12, eosTokenId: null }), batcher.generate([prompts[2]], { maxNewTokens: 12, eosTokenId: null })];
  await Promise.all(both.map((p) => expect(p).rejects.toThrow('a fault in the batcher')));
  expect(batcher.size).toBe(0);
  expect(batcher.stats.batchedPasses).toBeGreaterThan(0);
  expect(await settledLiveTensors()).toBe(before);
  delete (inner as { advance?: unknown }).advance; // (the class's own again)
  const again = { maxNewTokens: 5, eosTokenId: null };
  expect(await Promise.all([batcher.generate([prompts[2]], again), batcher.generate([prompts[0]], again)])).toEqual([model.generate([prompts[2]], again), model.generate([prompts[0]], again)]);
  expect(await settledLiveTensors()).toBe(before);
});

test('random traffic (seeded): generations of 1-3 rows arriving at random turns, ending at their own lengths, end tokens or the context\'s end, some aborted, some beam search, penalties or chunked prompts, under random row and token limits: each gets generate()\'s tokens alone; nothing left behind', async () => {
  const before = await settledLiveTensors();
  const totals = { restacks: 0, compactions: 0, joins: 0, batchedPasses: 0 };
  for (let scenario = 0; scenario < 60; scenario++) {
    const { random, int } = seededRandom(scenario); // (each scenario the same on every run)
    const jobs = Array.from({ length: int(2, 8) }, () => {
      // (prompts of 1-14 tokens, or of 20-36 (n_positions 40): generations that reach the context's end)
      const prompts = Array.from({ length: random() < 0.7 ? 1 : int(2, 3) }, () => Array.from({ length: random() < 0.3 ? int(20, 36) : int(1, 14) }, () => int(0, 62)));
      const options: torch.GenerateOptions = { maxNewTokens: int(1, 20), eosTokenId: random() < 0.5 ? null : int(0, 63) };
      const kind = random();
      if (kind < 0.1) options.numBeams = 2;
      else if (kind < 0.2) options.repetitionPenalty = 1.3;
      else if (kind < 0.28) options.prefillChunkSize = int(2, 5);
      else if (kind < 0.34) options.minNewTokens = int(1, 4);
      const abortAfter = random() < 0.1 && !options.numBeams ? int(1, 4) : 0; // (aborted by its onToken: no beam search)
      return { prompts, options, arrives: int(0, 8), abortAfter };
    });
    const limits: torch.BatcherOptions = {};
    if (random() < 0.3) limits.maxBatchRows = int(1, 6);
    if (random() < 0.2) limits.maxBatchTokens = int(14, 60);
    const want = jobs.map((j) => model.generate(j.prompts, j.options));
    const batcher = new torch.GenerationBatcher(model, limits);
    const results: Promise<number[][] | 'aborted'>[] = [];
    let turn = 0;
    for (const i of jobs.map((_, i) => i).sort((a, b) => jobs[a].arrives - jobs[b].arrives)) {
      for (; turn < jobs[i].arrives; turn++) await new Promise((r) => setImmediate(r));
      const { prompts, options, abortAfter } = jobs[i];
      if (!abortAfter) {
        results[i] = batcher.generate(prompts, options);
        continue;
      }
      const controller = new AbortController();
      let tokens = 0;
      results[i] = batcher.generate(prompts, { ...options, signal: controller.signal, onToken: () => { if (++tokens === abortAfter) controller.abort(); } })
        .then((r) => r, (e) => { if (!/abort/i.test(String(e))) throw e; return 'aborted' as const; }); // (or done before it was aborted)
    }
    const got = await Promise.all(results);
    got.forEach((g, i) => {
      if (g !== 'aborted') expect([scenario, i, g]).toEqual([scenario, i, want[i]]);
    });
    for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += batcher.stats[k];
  }
  // (the scenarios took every path: shared steps going on, cut, joined into, restacked)
  expect(totals.batchedPasses).toBeGreaterThan(300);
  for (const k of ['restacks', 'compactions', 'joins'] as const) expect(totals[k]).toBeGreaterThan(30);
  expect(await settledLiveTensors()).toBe(before);
});

test('prompts waiting together go through in one pass: fresh ones, ones whose start a cache covers (pastKeyValues), padded ones; their logits the reference\'s; the limits on padding, rows, tokens and the context', async () => {
  const before = await settledLiveTensors();
  const cacheOf = (ids: number[][]) => torch.tidy(() => model.forward(torch.tensor(ids, { dtype: 'int64' }), { useCache: true }).pastKeyValues!.map(([k, v]) => [torch.keep(k), torch.keep(v)] as torch.LayerPast));
  const start = [7, 60, 7, 33, 9];
  const seeded = cacheOf([start]), seededTwo = cacheOf([[5, 17, 42], [1, 2, 3]]);
  const jobs: [number[][], torch.GenerateOptions][] = [
    [[[...start, 1, 2, 3, 4]], { maxNewTokens: 6, eosTokenId: null, pastKeyValues: seeded }], // (5 positions cached, 4 to feed)
    [[[5, 17, 42, 8, 9, 3, 11], [1, 2, 3, 44, 45, 46, 47]], { maxNewTokens: 5, eosTokenId: null, pastKeyValues: seededTwo }], // (a cache row per prompt)
    [[[3, 30, 31, 32, 33]], { maxNewTokens: 7, eosTokenId: null }],
    [[[8, 9], [10, 11, 12, 13, 14]], { maxNewTokens: 4, eosTokenId: null, doSample: true, topK: 5, numReturnSequences: 2, seed: 3 }], // (padded, sampled)
  ];
  const want = jobs.map(([p, o]) => model.generate(p, o));
  const batcher = new torch.GenerationBatcher(model);
  const first: number[][][] = jobs.map(() => []);
  const got = await Promise.all(jobs.map(([p, o], j) => batcher.generate(p, { ...o, onLogits: (l) => { if (!first[j].length) first[j] = l.tolist() as number[][]; } })));
  // the sampled job alone draws as generate() does; batched, its draws follow the others' (one generator): compare its first logits only
  expect(got.slice(0, 3)).toEqual(want.slice(0, 3));
  // (the sampled job's two rows repeat each prompt: they share its pass, made alone, and join the others at the last token)
  expect(batcher.stats).toMatchObject({ batchedPrefills: 1, prefilledTogether: 3 });
  // the first step's logits (the prompts' pass) against the reference's after each prompt
  const rows = jobs.flatMap(([p, o]) => p.flatMap((q) => Array.from({ length: o.numReturnSequences ?? 1 }, () => q)));
  const ref = referenceLogits(rows);
  let worst = 0;
  first.flat().forEach((row, i) => row.forEach((v, t) => { worst = Math.max(worst, Math.abs(v - ref[i][rows[i].length - 1][t])); }));
  expect(first.flat()).toHaveLength(rows.length);
  expect(worst).toBeLessThan(1e-4);
  // the caller's caches untouched
  expect(seeded[0][0].shape).toEqual([1, 2, 5, 16]);
  expect(seededTwo[1][1].shape).toEqual([2, 2, 3, 16]);
  for (const layer of [...seeded, ...seededTwo]) for (const t of layer) t.dispose();

  // a long prompt and two short ones: padding a short one to the long one would waste more than half: the long one alone, the short ones together
  const long30 = Array.from({ length: 30 }, (_, i) => (i * 7) % 60);
  const eight12 = () => Array.from({ length: 12 }, (_, i) => (i * 3 + 1) % 60);
  const mixed = new torch.GenerationBatcher(model);
  const three = [long30, [4, 5, 6], [7, 8, 9, 10]];
  const apart = await Promise.all(three.map((p) => mixed.generate([p], { maxNewTokens: 3, eosTokenId: null })));
  expect(apart).toEqual(three.map((p) => model.generate([p], { maxNewTokens: 3, eosTokenId: null })));
  expect(mixed.stats).toMatchObject({ batchedPrefills: 1, prefilledTogether: 2 });
  // a prompt whose first 30 tokens a cache covers goes alone: with the 12-token one's padding its pass would be 30 + 12 positions, past n_positions (40)
  const long34 = Array.from({ length: 34 }, (_, i) => (i * 11) % 60), cached30 = cacheOf([long34.slice(0, 30)]);
  const near = new torch.GenerationBatcher(model);
  const nearJobs: [number[], torch.GenerateOptions][] = [[long34, { maxNewTokens: 6, eosTokenId: null, pastKeyValues: cached30 }], [eight12(), { maxNewTokens: 3, eosTokenId: null }], [[4, 5, 6, 7, 8, 9, 10, 11, 12, 13], { maxNewTokens: 3, eosTokenId: null }]];
  expect(await Promise.all(nearJobs.map(([p, o]) => near.generate([p], o)))).toEqual(nearJobs.map(([p, o]) => model.generate([p], o)));
  expect(near.stats).toMatchObject({ batchedPrefills: 1, prefilledTogether: 2 });
  for (const layer of cached30) for (const t of layer) t.dispose();
  // maxBatchTokens: four 8-token prompts with room for two in a pass: two passes; maxBatchRows: one row a pass, none together
  const eight = [0, 1, 2, 3].map((i) => Array.from({ length: 8 }, (_, t) => (t * 5 + i) % 60));
  for (const [options, prefills, together] of [[{ maxBatchTokens: 16 }, 2, 4], [{ maxBatchTokens: 24 }, 1, 3], [{ maxBatchRows: 1 }, 0, 0]] as const) {
    const limited = new torch.GenerationBatcher(model, options);
    const out = await Promise.all(eight.map((p) => limited.generate([p], { maxNewTokens: 2, eosTokenId: null })));
    expect(out).toEqual(eight.map((p) => model.generate([p], { maxNewTokens: 2, eosTokenId: null })));
    expect(limited.stats).toMatchObject({ batchedPrefills: prefills, prefilledTogether: together });
  }
  expect(() => new torch.GenerationBatcher(model, { maxBatchTokens: 0 })).toThrow(/maxBatchTokens must be an integer >= 1/);
  // a prompt in chunks (prefillChunkSize): its chunks passes of its own, between the others' steps; then it joins their passes
  const chunking = new torch.GenerationBatcher(model);
  let covered = 0;
  const withChunks = await Promise.all([
    chunking.generate([long30], { maxNewTokens: 6, eosTokenId: null, prefillChunkSize: 4 }, { prefilled: (cache) => { covered = cache[0][0].shape[2]; } }),
    ...eight.slice(0, 2).map((p) => chunking.generate([p], { maxNewTokens: 12, eosTokenId: null })),
  ]);
  expect(withChunks).toEqual([model.generate([long30], { maxNewTokens: 6, eosTokenId: null }), ...eight.slice(0, 2).map((p) => model.generate([p], { maxNewTokens: 12, eosTokenId: null }))]);
  expect(covered).toBe(30); // (the hook: once the whole prompt is in the cache)
  expect(chunking.stats).toMatchObject({ batchedPrefills: 1, prefilledTogether: 2, widestBatch: 3 });
  // nothing to generate (maxNewTokens 0): no pass is made for it
  const none = new torch.GenerationBatcher(model);
  expect(await Promise.all([none.generate([[1, 2, 3]], { maxNewTokens: 0 }), none.generate([[4, 5, 6]], { maxNewTokens: 1, eosTokenId: null })]))
    .toEqual([[[1, 2, 3]], model.generate([[4, 5, 6]], { maxNewTokens: 1, eosTokenId: null })]);
  expect(none.stats.batchedPrefills).toBe(0);
  expect(await settledLiveTensors()).toBe(before);
});

test('shared steps go on in the last pass\'s cache: the prompts\' pass, then the rows of generations that end cut out, those that join in its spare rows; a longest one leaving much padding restacks', async () => {
  const before = await settledLiveTensors();
  const tokens = (n: number, k: number) => Array.from({ length: n }, (_, t) => (t * 7 + k) % 60);
  const run = async (jobs: [number[] | number[][], number][]) => {
    const batcher = new torch.GenerationBatcher(model);
    const promptsOf = (p: number[] | number[][]) => (Array.isArray(p[0]) ? p as number[][] : [p as number[]]);
    let got: number[][][] = [];
    const prof = await torch.profiler.profile(async () => {
      got = await Promise.all(jobs.map(([p, n]) => batcher.generate(promptsOf(p), { maxNewTokens: n, eosTokenId: null })));
    }, { recordShapes: true });
    expect(got).toEqual(jobs.map(([p, n]) => model.generate(promptsOf(p), { maxNewTokens: n, eosTokenId: null })));
    // the rows moved within the stacks (each a keys and a values tensor a layer)
    const moved = prof.events().filter((e) => e.name === 'aten::index_copy_').reduce((n, e) => n + e.inputShapes[2][0], 0) / (2 * model.config.n_layer);
    return { ...batcher.stats, moved };
  };
  // jobs of two rows: the first's two rows leave, the last's two fill their hole (2 rows moved, not 5); a
  // one-row hole the last's two do not fit: all close up in order (5 rows moved)
  const pair = (n: number, k: number) => [tokens(n, k), tokens(n, k + 10)];
  expect(await run([[pair(6, 0), 2], [tokens(5, 1), 8], [tokens(5, 2), 8], [pair(5, 3), 8]])).toMatchObject({ restacks: 0, compactions: 1, widestBatch: 4, moved: 2 });
  expect(await run([[tokens(6, 0), 2], [pair(5, 1), 8], [tokens(5, 2), 8], [pair(5, 3), 8]])).toMatchObject({ restacks: 0, compactions: 1, widestBatch: 4, moved: 5 });
  // 8, 6, 7 and 5 tokens together (rows 8, 7, 6, 5: the longest first); the 8-token one ends first (the
  // others' padding then at most 2 of 10 positions: cut out in place, the last row moved into its hole),
  // then the 7's (likewise: one row each time, not all those after it)
  expect(await run([[tokens(8, 0), 2], [tokens(6, 1), 9], [tokens(7, 2), 5], [tokens(5, 3), 9]])).toMatchObject({ batchedPrefills: 1, restacks: 0, compactions: 2, widestBatch: 4, moved: 2 });
  // a 12-token prompt ends after its first token: the 8-token ones would keep 4 of 13 positions padding: restacked to 9
  expect(await run([[tokens(12, 0), 2], [tokens(8, 1), 6], [tokens(8, 2), 6]])).toMatchObject({ batchedPrefills: 1, restacks: 1, compactions: 0 });
  // one joins two going on, then another: each written into the rows the prompts' pass made spare, the
  // others' rows where they are, no restack (before the prompts' pass had rows spare: 1 restack, 1 join)
  const batcher = new torch.GenerationBatcher(model);
  const turns = async (n: number) => { for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r)); };
  const jobs: [number[], number][] = [[tokens(5, 0), 14], [tokens(5, 1), 14], [tokens(4, 2), 8], [tokens(3, 3), 5]];
  const pending = jobs.slice(0, 2).map(([p, n]) => batcher.generate([p], { maxNewTokens: n, eosTokenId: null }));
  await turns(4);
  pending.push(batcher.generate([jobs[2][0]], { maxNewTokens: jobs[2][1], eosTokenId: null }));
  await turns(3);
  pending.push(batcher.generate([jobs[3][0]], { maxNewTokens: jobs[3][1], eosTokenId: null }));
  expect(await Promise.all(pending)).toEqual(jobs.map(([p, n]) => model.generate([p], { maxNewTokens: n, eosTokenId: null })));
  expect(batcher.stats).toMatchObject({ restacks: 0, joins: 2, compactions: 1, widestBatch: 4 }); // (the last two to join end together)
  expect(await settledLiveTensors()).toBe(before);
});
