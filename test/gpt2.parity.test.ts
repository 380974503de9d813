// GPT-2 against the Python reference (scripts/reference/gpt2_ref.py, HF semantics), tensor by
// tensor: logits and loss within 1e-5 relative, every gradient within 1e-4 of its largest element.
// Both attention implementations are checked against the same (eager) reference: 'sdpa' goes
// through F.scaledDotProductAttention (libtorch's kernel on 2.x, the composed math on 1.13).
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as torch from '../lib';
import { addRows, appendToCache, cacheWithRoom, newCache, reorderCache, repeatCache, rowRoom, withCacheRows } from '../lib/models/kv_cache';
import { fileMappings, fixtures, relErr, seededRandom } from './helpers';

const configs = fs.readdirSync(path.join(fixtures, 'gpt2'));
const attns: torch.AttnImplementation[] = ['eager', 'sdpa'];

describe.each(configs.flatMap((c) => attns.map((a) => [c, a] as const)))('GPT-2 parity: %s, %s attention', (name, attn) => {
  const dir = path.join(fixtures, 'gpt2', name);
  let model: torch.GPT2LMHeadModel;
  let expected: Map<string, torch.Tensor>;
  beforeAll(async () => {
    model = await torch.GPT2LMHeadModel.fromPretrained(dir, { attnImplementation: attn });
    expect(model.attnImplementation).toBe(attn);
    model.eval();
    expected = torch.io.safetensors.loadFile(path.join(dir, 'expected.safetensors')).tensors;
  });
  afterAll(() => {
    model?.dispose();
    for (const t of expected?.values() ?? []) t.dispose();
  });

  test('logits, loss and every gradient', () => {
    torch.tidy(() => {
      const out = model.forward(expected.get('input_ids')!, { labels: expected.get('labels')! });
      expect(relErr(out.logits, expected.get('logits')!)).toBeLessThan(1e-5);
      const loss = out.loss!.item() as number, refLoss = expected.get('loss')!.item() as number;
      expect(Math.abs(loss - refLoss) / Math.abs(refLoss)).toBeLessThan(1e-5);
      model.zeroGrad();
      out.loss!.backward();
      const params = model.namedParameters();
      const gradNames = [...expected.keys()].filter((k) => k.startsWith('grad.'));
      // The reference's named_parameters() lists the tied lm_head once, under wte: same as ours.
      expect(params.map(([n]) => `grad.${n}`).sort()).toEqual(gradNames.sort());
      let worst = 0;
      for (const [n, p] of params) {
        const e = relErr(p.grad!, expected.get(`grad.${n}`)!);
        worst = Math.max(worst, e);
        expect(e).toBeLessThan(1e-4);
      }
      expect(worst).toBeGreaterThanOrEqual(0);
    });
  });

  test('left-padded batch with attentionMask', () => {
    torch.tidy(() => {
      const out = torch.noGrad(() =>
        model.forward(expected.get('input_ids')!, { labels: expected.get('labels')!, attentionMask: expected.get('attention_mask')! }),
      );
      expect(relErr(out.logits, expected.get('masked_logits')!)).toBeLessThan(1e-5);
      const l = out.loss!.item() as number, r = expected.get('masked_loss')!.item() as number;
      expect(Math.abs(l - r) / Math.abs(r)).toBeLessThan(1e-5);
    });
  });

  test('fromPretrained -> savePretrained -> fromPretrained is bit-identical', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-rt-'));
    await model.savePretrained(tmp);
    const again = await torch.GPT2LMHeadModel.fromPretrained(tmp);
    const a = model.stateDict(), b = again.stateDict();
    expect([...b.keys()]).toEqual([...a.keys()]);
    for (const [k, t] of a) expect(b.get(k)!.bytes().equals(t.bytes())).toBe(true);
    // A second save of the reloaded model writes the very same bytes.
    const tmp2 = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-rt-'));
    await again.savePretrained(tmp2);
    expect(fs.readFileSync(path.join(tmp2, 'model.safetensors')).equals(fs.readFileSync(path.join(tmp, 'model.safetensors')))).toBe(true);
    const cfg = JSON.parse(fs.readFileSync(path.join(tmp, 'config.json'), 'utf8'));
    expect(cfg.model_type).toBe('gpt2');
    expect(cfg.n_embd).toBe(model.config.n_embd);
    again.dispose();
    fs.rmSync(tmp, { recursive: true });
    fs.rmSync(tmp2, { recursive: true });
  });
});

/** The input shapes of the softmaxes that fn runs: one per block of queries, per layer. */
/** The data pointers of a cache's tensors (the same: written in place). */
const ptrs = (past: torch.LayerPast[]) => past.flat().map((t) => t.dataPtr());

function softmaxShapes(fn: () => unknown): number[][] {
  const prof = torch.profiler.profile(fn, { recordShapes: true });
  return prof.events().filter((e) => e.name === 'aten::softmax').map((e) => e.inputShapes[0]);
}

// Where nothing needs the whole attention weights (no dropout on them, no hook, no outputAttentions),
// eager attention goes a block of queries at a time (GPT2Attention.scoreBlockElements scores a
// block, on the CPU), each block's keys cut at its causal window unless a padding mask is given.
// Here two queries a block: logits, loss and gradients stay the reference's (1e-5, 1e-4).
describe.each(configs)('GPT-2 eager attention in blocks of 2 queries: %s', (name) => {
  const dir = path.join(fixtures, 'gpt2', name);
  const defaultBlock = torch.GPT2Attention.scoreBlockElements;
  let model: torch.GPT2LMHeadModel;
  let expected: Map<string, torch.Tensor>;
  let ids: torch.Tensor;
  let B: number, T: number, H: number, L: number;
  /** The softmax shapes of blocks of 2 queries over K keys: [B, H, n, keys] per block, per layer. */
  const blocks = (Tq: number, K: number, cut: boolean) => {
    const one: number[][] = [];
    for (let i = 0; i < Tq; i += 2) one.push([B, H, Math.min(2, Tq - i), cut ? K - Tq + i + Math.min(2, Tq - i) : K]);
    return Array.from({ length: L }, () => one).flat();
  };
  beforeAll(async () => {
    model = await torch.GPT2LMHeadModel.fromPretrained(dir, { attnImplementation: 'eager' });
    model.eval();
    expected = torch.io.safetensors.loadFile(path.join(dir, 'expected.safetensors')).tensors;
    ids = expected.get('input_ids')!;
    [B, T] = ids.shape;
    [H, L] = [model.config.n_head, model.config.n_layer];
    torch.GPT2Attention.scoreBlockElements = 2 * B * H * T; // (2 queries over T keys; more when fewer keys)
  });
  afterAll(() => {
    torch.GPT2Attention.scoreBlockElements = defaultBlock;
    model?.dispose();
    for (const t of expected?.values() ?? []) t.dispose();
  });

  test('logits, loss and every gradient; each block\'s keys end at its causal window', () => {
    torch.tidy(() => {
      let out!: torch.GPT2Output;
      const shapes = softmaxShapes(() => { out = model.forward(ids, { labels: expected.get('labels')! }); });
      expect(shapes).toEqual(blocks(T, T, true));
      expect(relErr(out.logits, expected.get('logits')!)).toBeLessThan(1e-5);
      const loss = out.loss!.item() as number, refLoss = expected.get('loss')!.item() as number;
      expect(Math.abs(loss - refLoss) / Math.abs(refLoss)).toBeLessThan(1e-5);
      model.zeroGrad();
      out.loss!.backward();
      for (const [n, p] of model.namedParameters()) expect(relErr(p.grad!, expected.get(`grad.${n}`)!)).toBeLessThan(1e-4);
    });
  });

  test('left-padded batch: every key in each block (padded rows too are the reference\'s); the keys and values laid out by head once, not copied by each block', () => {
    torch.tidy(() => torch.noGrad(() => {
      let out!: torch.GPT2Output;
      const run = () => { out = model.forward(ids, { labels: expected.get('labels')!, attentionMask: expected.get('attention_mask')! }); };
      const shapes = softmaxShapes(run);
      expect(shapes).toEqual(blocks(T, T, false));
      const D = model.config.n_embd / H, whole = [[B, H, T, D], [B, H, D, T]].map((s) => JSON.stringify(s));
      const copies = torch.profiler.profile(run, { recordShapes: true }).events().filter((e) => e.name === 'aten::copy_' && whole.includes(JSON.stringify(e.inputShapes[0])));
      expect(copies).toHaveLength(B > 1 && H > 1 ? 2 * L : 0); // (one head or one row: they fold as they are)
      expect(relErr(out.logits, expected.get('masked_logits')!)).toBeLessThan(1e-5);
      const l = out.loss!.item() as number, r = expected.get('masked_loss')!.item() as number;
      expect(Math.abs(l - r) / Math.abs(r)).toBeLessThan(1e-5);
    }));
  });

  test('queries after a cache: the whole pass\'s logits', () => {
    torch.tidy(() => torch.noGrad(() => {
      const head = model.forward(ids.narrow(1, 0, 3), { useCache: true });
      let out!: torch.GPT2Output;
      const shapes = softmaxShapes(() => { out = model.forward(ids.narrow(1, 3, T - 3), { pastKeyValues: head.pastKeyValues, useCache: true }); });
      expect(shapes).toEqual(blocks(T - 3, T, true));
      expect(relErr(out.logits, expected.get('logits')!.narrow(1, 3, T - 3))).toBeLessThan(1e-5);
    }));
  });
});

test('eager attention goes whole where its weights are seen: dropout on them, a hook on attn_dropout, outputAttentions', async () => {
  const defaultBlock = torch.GPT2Attention.scoreBlockElements;
  const model = await torch.GPT2LMHeadModel.fromPretrained(path.join(fixtures, 'gpt2', 'tiny'), { attnImplementation: 'eager' });
  const ids = torch.tensor([[5, 17, 42, 3, 9, 11]], { dtype: 'int64' });
  const whole = Array.from({ length: model.config.n_layer }, () => [1, model.config.n_head, 6, 6]);
  try {
    torch.GPT2Attention.scoreBlockElements = 1; // (a query a block wherever it may)
    torch.tidy(() => {
      const H = model.config.n_head;
      const oneQueryBlocks = Array.from({ length: 6 }, (_, i) => [1, H, 1, i + 1]);
      model.train(); // (attn_pdrop 0.1: dropout draws over the whole weights, as HF's)
      expect(softmaxShapes(() => model.forward(ids))).toEqual(whole);
      model.eval();
      expect(softmaxShapes(() => torch.noGrad(() => model.forward(ids)))).toEqual([...oneQueryBlocks, ...oneQueryBlocks]);
      const seen: number[][] = [];
      const handle = model.transformer.h.items[0].attn.attn_dropout.registerForwardHook((_m, args) => { seen.push((args[0] as torch.Tensor).shape); });
      const hooked = softmaxShapes(() => torch.noGrad(() => model.forward(ids)));
      handle.remove();
      expect(seen).toEqual([whole[0]]); // (the hook sees every weight)
      expect(hooked).toEqual([whole[0], ...oneQueryBlocks]);
      expect(softmaxShapes(() => torch.noGrad(() => model.forward(ids, { outputAttentions: true })))).toEqual(whole);
    });
  } finally {
    torch.GPT2Attention.scoreBlockElements = defaultBlock;
    ids.dispose();
    model.dispose();
  }
});

test('the key/value cache grows in place: a pass writes after the very cache it was given; a second continuation, a cropped cache, a cache needing gradients are copied; logits as without a cache (1e-5)', async () => {
  const model = await torch.GPT2LMHeadModel.fromPretrained(path.join(fixtures, 'gpt2', 'tiny'));
  model.eval();
  const ids = torch.tensor([[5, 17, 42, 3, 9, 11, 60, 2, 77, 31, 8, 19]], { dtype: 'int64' });
  try {
    torch.tidy(() => torch.noGrad(() => {
      const full = model.forward(ids).logits;
      const step = (from: number, n: number, past?: torch.LayerPast[]) => model.forward(ids.narrow(1, from, n), { pastKeyValues: past, useCache: true });
      const first = step(0, 4);
      const a = step(4, 1, first.pastKeyValues); // (the prompt's cache is made in a buffer with room)
      expect(ptrs(a.pastKeyValues!)).toEqual(ptrs(first.pastKeyValues!));
      const b = step(5, 2, a.pastKeyValues);
      expect(ptrs(b.pastKeyValues!)).toEqual(ptrs(a.pastKeyValues!)); // (written in place)
      expect(b.pastKeyValues![0][0].shape).toEqual([1, model.config.n_head, 7, model.config.n_embd / model.config.n_head]);
      expect(relErr(b.logits, full.narrow(1, 5, 2))).toBeLessThan(1e-5);
      // a second continuation of a: a's room already holds b's positions, so it is copied, and b's cache stays b's
      const bKeys = b.pastKeyValues!.map(([k, v]) => [k.clone(), v.clone()]);
      const other = torch.tensor([[99, 98]], { dtype: 'int64' });
      const c = model.forward(other, { pastKeyValues: a.pastKeyValues, useCache: true });
      ptrs(c.pastKeyValues!).forEach((p, i) => expect(p).not.toBe(ptrs(a.pastKeyValues!)[i]));
      b.pastKeyValues!.forEach(([k, v], l) => { expect(k.equal(bKeys[l][0])).toBe(true); expect(v.equal(bKeys[l][1])).toBe(true); });
      expect(relErr(c.logits, model.forward(torch.cat([ids.narrow(1, 0, 5), other], 1)).logits.narrow(1, 5, 2))).toBeLessThan(1e-5);
      // a cropped cache (a view it did not make): copied, b untouched
      const cropped = b.pastKeyValues!.map(([k, v]) => [k.narrow(2, 0, 6), v.narrow(2, 0, 6)] as torch.LayerPast);
      const d = step(6, 1, cropped);
      ptrs(d.pastKeyValues!).forEach((p, i) => expect(p).not.toBe(ptrs(b.pastKeyValues!)[i]));
      b.pastKeyValues!.forEach(([k], l) => expect(k.equal(bKeys[l][0])).toBe(true));
      expect(relErr(d.logits, full.narrow(1, 6, 1))).toBeLessThan(1e-5);
      // a token at a time to the end: the logits of the whole pass, the buffer grown (copied) twice: half as long again, then to the context
      let past = d.pastKeyValues!;
      const buffers = new Set([ptrs(past)[0]]);
      for (let t = 7; t < ids.shape[1]; t++) {
        const out = step(t, 1, past);
        expect(relErr(out.logits, full.narrow(1, t, 1))).toBeLessThan(1e-5);
        past = out.pastKeyValues!;
        buffers.add(ptrs(past)[0]);
      }
      expect(buffers.size).toBe(1); // (7 positions in a buffer of 1.5 * 7 + 8 = 19)
      const long = torch.randint(0, model.config.vocab_size, [1, model.config.n_positions - ids.shape[1]]);
      for (let t = 0; t < long.shape[1]; t++) {
        const out = model.forward(long.narrow(1, t, 1), { pastKeyValues: past, useCache: true });
        past = out.pastKeyValues!;
        buffers.add(ptrs(past)[0]);
      }
      expect(buffers.size).toBe(2); // (19 positions, then the context's 32)
      expect(relErr(model.forward(long.narrow(1, long.shape[1] - 1, 1), { pastKeyValues: past.map(([k, v]) => [k.narrow(2, 0, model.config.n_positions - 1), v.narrow(2, 0, model.config.n_positions - 1)] as torch.LayerPast) }).logits,
        model.forward(torch.cat([ids, long], 1)).logits.narrow(1, model.config.n_positions - 1, 1))).toBeLessThan(1e-5);
    }));
    // with autograd (a cache that needs gradients): torch.cat, a new tensor each pass
    torch.tidy(() => {
      const first = model.forward(ids.narrow(1, 0, 4), { useCache: true });
      const a = model.forward(ids.narrow(1, 4, 1), { pastKeyValues: first.pastKeyValues, useCache: true });
      const b = model.forward(ids.narrow(1, 5, 1), { pastKeyValues: a.pastKeyValues, useCache: true });
      expect(b.pastKeyValues![0][0].requiresGrad).toBe(true);
      ptrs(b.pastKeyValues!).forEach((p, i) => expect(p).not.toBe(ptrs(a.pastKeyValues!)[i]));
    });
  } finally {
    ids.dispose();
    model.dispose();
  }
});

test('the cache machinery under 300 random programs (seeded): appends, forks from older caches, rows reordered or cut, rows added, caches repeated: every cache still in use holds what torch.cat / index_select / repeatInterleave give', () => {
  const H = 2, D = 3, maxPositions = 40;
  const ops = { append: 0, fork: 0, reorder: 0, addRows: 0, repeat: 0 };
  for (let program = 0; program < 300; program++) {
    const { random, int } = seededRandom(program); // (the same programs on every run)
    torch.manualSeed(program);
    torch.tidy(() => torch.noGrad(() => {
      // the caches in use, each with what it must hold
      const inUse: { cache: torch.Tensor; want: torch.Tensor }[] = [];
      const [B, K] = [int(1, 4), int(1, 6)], first = torch.randn([B, H, K, D]);
      inUse.push({ cache: newCache(first, maxPositions), want: first });
      if (random() < 0.5) inUse.push({ cache: cacheWithRoom([B, H, K, D], 'float32', 'cpu', maxPositions, B + int(0, 4)).copy_(first), want: first });
      for (let step = 0; step < 30 && inUse.length; step++) {
        const at = int(0, inUse.length - 1), { cache, want } = inUse[at], [b, , k] = cache.shape, op = random();
        if (op < 0.45) {
          if (k > maxPositions - 4) continue;
          const more = torch.randn([b, H, int(1, 3), D]);
          ops[inUse.some((u) => u.cache !== cache && u.cache.dataPtr() === cache.dataPtr() && u.cache.shape[2] > k) ? 'fork' : 'append']++;
          inUse.push({ cache: appendToCache(cache, more, maxPositions), want: torch.cat([want, more], 2) });
        } else if (op < 0.7) {
          const from = Array.from({ length: int(1, b) }, () => int(0, b - 1));
          const [[moved]] = reorderCache([[cache, torch.zeros([b, 1, 1, 1])]], from);
          // (where it moves rows in place, every view of that buffer is reordered too: the generation code keeps none)
          for (let j = inUse.length - 1; j >= 0; j--) if (inUse[j].cache.dataPtr() === cache.dataPtr()) inUse.splice(j, 1);
          inUse.push({ cache: moved, want: want.indexSelect(0, torch.tensor(from, { dtype: 'int64' })) });
          ops.reorder++;
        } else if (op < 0.85) {
          const n = int(1, 2), c = int(1, k), added = torch.randn([n, H, c, D]);
          if (rowRoom(cache) < b + n) continue;
          inUse.push({ cache: addRows(cache, [added]), want: torch.cat([want, torch.cat([torch.zeros([n, H, k - c, D]), added], 2)], 0) });
          ops.addRows++;
        } else {
          const copies = int(1, 3);
          inUse.push({ cache: repeatCache(cache, copies, maxPositions), want: want.repeatInterleave(copies, 0) });
          ops.repeat++;
        }
        for (const u of inUse) expect([program, step, u.cache.shape, u.cache.equal(u.want)]).toEqual([program, step, u.want.shape, true]);
      }
    }));
  }
  for (const n of Object.values(ops)) expect(n).toBeGreaterThan(100);
});

test('reorderCache (beam search\'s reordering): the rows of a cache the model made move within its buffer, so the next pass still appends in place; any other cache is copied; logits as with index_select\'s copy (1e-6)', async () => {
  const model = await torch.GPT2LMHeadModel.fromPretrained(path.join(fixtures, 'gpt2', 'tiny'));
  model.eval();
  const ids = torch.tensor([[5, 17, 42, 3, 9], [11, 60, 2, 77, 31], [8, 19, 4, 6, 1]], { dtype: 'int64' });
  const copyOf = (past: torch.LayerPast[]) => past.map(([k, v]) => [k.clone(), v.clone()] as torch.LayerPast);
  const from = [2, 0, 0]; // (row 0 is both moved and a source)
  const index = torch.tensor(from, { dtype: 'int64' });
  try {
    torch.tidy(() => torch.noGrad(() => {
      const step = (from: number, n: number, past?: torch.LayerPast[]) => model.forward(ids.narrow(1, from, n), { pastKeyValues: past, useCache: true });
      const a = step(1, 1, step(0, 1).pastKeyValues); // (in a buffer with room)
      const before = copyOf(a.pastKeyValues!);
      const reordered = reorderCache(a.pastKeyValues!, from);
      expect(ptrs(reordered)).toEqual(ptrs(a.pastKeyValues!)); // (in place)
      reordered.forEach(([k, v], l) => {
        expect(k.equal(before[l][0].indexSelect(0, index))).toBe(true);
        expect(v.equal(before[l][1].indexSelect(0, index))).toBe(true);
      });
      // the next pass appends to the reordered cache in place; its logits are those of index_select's copy
      const next = torch.tensor([[42], [2], [4]], { dtype: 'int64' });
      const copied = model.forward(next, { pastKeyValues: before.map(([k, v]) => [k.indexSelect(0, index), v.indexSelect(0, index)] as torch.LayerPast), useCache: true });
      const b = model.forward(next, { pastKeyValues: reordered, useCache: true });
      expect(ptrs(b.pastKeyValues!)).toEqual(ptrs(reordered));
      expect(relErr(b.logits, copied.logits)).toBeLessThan(1e-6);
      // nothing moves: the same rows, in place
      const same = copyOf(b.pastKeyValues!);
      const kept = reorderCache(b.pastKeyValues!, [0, 1, 2]);
      expect(ptrs(kept)).toEqual(ptrs(b.pastKeyValues!));
      kept.forEach(([k], l) => expect(k.equal(same[l][0])).toBe(true));
      // copied: a cache the model did not make (the caller's clone, untouched), and an older cache whose buffer has grown past it (b's positions kept)
      const theirs = copyOf(same);
      const fromTheirs = reorderCache(theirs, from);
      ptrs(fromTheirs).forEach((p, i) => expect(p).not.toBe(ptrs(theirs)[i]));
      theirs.forEach(([k], l) => expect(k.equal(same[l][0])).toBe(true));
      fromTheirs.forEach(([k], l) => expect(k.equal(same[l][0].indexSelect(0, index))).toBe(true));
      const c = model.forward(next, { pastKeyValues: kept, useCache: true });
      const old = reorderCache(kept, from);
      ptrs(old).forEach((p, i) => expect(p).not.toBe(ptrs(kept)[i]));
      c.pastKeyValues!.forEach(([k], l) => expect(k.narrow(2, 0, same[l][0].shape[2]).equal(same[l][0])).toBe(true));
      // fewer rows (the batcher cutting out generations that ended): rows 2 and 0 kept, in place, and the next pass appends in place
      const grown = copyOf(c.pastKeyValues!), twoOf = torch.tensor([2, 0], { dtype: 'int64' });
      const cut = reorderCache(c.pastKeyValues!, [2, 0]);
      expect(ptrs(cut)).toEqual(ptrs(c.pastKeyValues!));
      cut.forEach(([k, v], l) => {
        expect(k.shape).toEqual([2, ...grown[l][0].shape.slice(1)]);
        expect(k.equal(grown[l][0].indexSelect(0, twoOf))).toBe(true);
        expect(v.equal(grown[l][1].indexSelect(0, twoOf))).toBe(true);
      });
      const two = next.indexSelect(0, twoOf);
      const d = model.forward(two, { pastKeyValues: cut, useCache: true });
      expect(ptrs(d.pastKeyValues!)).toEqual(ptrs(cut));
      const dCopied = model.forward(two, { pastKeyValues: grown.map(([k, v]) => [k.indexSelect(0, twoOf), v.indexSelect(0, twoOf)] as torch.LayerPast), useCache: true });
      expect(relErr(d.logits, dCopied.logits)).toBeLessThan(1e-6);
      // rows added (the batcher's join) into the buffer's spare row, left-padded with zeros; the others' rows not moved
      const dPast = d.pastKeyValues!, K = dPast[0][0].shape[2];
      expect(dPast.flat().map((t) => rowRoom(t))).toEqual(dPast.flat().map(() => 3)); // (2 rows in use of the first pass's 3)
      const joining = step(0, 2).pastKeyValues!; // (1 row of 2 positions)
      const stayed = copyOf(dPast);
      const joined = dPast.map(([k, v], l) => [addRows(k, [joining[l][0].narrow(0, 0, 1)]), addRows(v, [joining[l][1].narrow(0, 0, 1)])] as torch.LayerPast);
      expect(ptrs(joined)).toEqual(ptrs(dPast));
      joined.forEach((layer, l) => layer.forEach((t, kv) => {
        expect(t.shape).toEqual([3, ...stayed[l][kv].shape.slice(1)]);
        expect(t.narrow(0, 0, 2).equal(stayed[l][kv])).toBe(true);
        expect(t.narrow(0, 2, 1).narrow(2, 0, K - 2).abs().max().item()).toBe(0);
        expect(t.narrow(0, 2, 1).narrow(2, K - 2, 2).equal(joining[l][kv].narrow(0, 0, 1))).toBe(true);
        expect(rowRoom(t)).toBe(3);
      }));
      expect(() => addRows(joined[0][0], [joining[0][0].narrow(0, 0, 1)])).toThrow(/no room/);
      expect(rowRoom(dPast[0][0])).toBe(0); // (no longer a view of all the rows in use)
      // a prompt's pass inside withCacheRows (the batcher's prompts' pass): its caches' buffers hold rows
      // for others to join, kept as the next pass appends in place; outside, only their own
      expect(joining.flat().map((t) => rowRoom(t))).toEqual(joining.flat().map(() => 3));
      const roomy = withCacheRows(5, () => step(0, 2)).pastKeyValues!;
      expect(roomy.flat().map((t) => rowRoom(t))).toEqual(roomy.flat().map(() => 5));
      const roomyNext = step(2, 1, roomy);
      expect(ptrs(roomyNext.pastKeyValues!)).toEqual(ptrs(roomy));
      expect(roomyNext.pastKeyValues!.flat().map((t) => rowRoom(t))).toEqual(roomy.flat().map(() => 5));
      expect(relErr(roomyNext.logits, step(2, 1, step(0, 2).pastKeyValues).logits)).toBe(0);
      expect(step(0, 2).pastKeyValues!.flat().map((t) => rowRoom(t))).toEqual(roomy.flat().map(() => 3)); // (withCacheRows ended)
      for (const [k, v] of joined) { k.dispose(); v.dispose(); }
    }));
  } finally {
    ids.dispose();
    index.dispose();
    model.dispose();
  }
});

/**
 * The reference GPT-2 (gpt2_ref.py) from a folder, on a left-padded batch: \`code\` runs (without
 * grad) with m, ids, mask and HF's positions (pos), and sets \`out\`, returned as JSON.
 */
function referenceRun<T>(dir: string, ids: number[][], mask: number[][], code: string): T {
  const r = spawnSync('/usr/bin/python3', ['-c', `
import json, sys, torch
sys.path.insert(0, ${JSON.stringify(path.join(__dirname, '..', 'scripts', 'reference'))})
import gpt2_ref
m = gpt2_ref.from_pretrained(${JSON.stringify(dir)})
ids, mask = torch.tensor(${JSON.stringify(ids)}), torch.tensor(${JSON.stringify(mask)})
pos = mask.cumsum(-1) - 1
pos.masked_fill_(mask == 0, 1)
with torch.no_grad():
${code.split('\n').map((l) => `    ${l}`).join('\n')}
print(json.dumps(out))
`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

test('outputHiddenStates (HF\'s output_hidden_states): every layer\'s hidden states, as the reference\'s, with padding and a cache (1e-5)', () => {
  const dir = path.join(fixtures, 'gpt2', 'tiny');
  const ids = [[0, 0, 5, 17, 42], [1, 2, 3, 4, 5]], mask = [[0, 0, 1, 1, 1], [1, 1, 1, 1, 1]];
  const want = referenceRun<number[][][][]>(dir, ids, mask, 'hs = []\nm.transformer(ids, attention_mask=mask, position_ids=pos, hidden_states=hs)\nout = [h.tolist() for h in hs]');
  return torch.GPT2LMHeadModel.fromPretrained(dir).then((model) => {
    torch.tidy(() => torch.noGrad(() => {
      const attentionMask = torch.tensor(mask, { dtype: 'int64' });
      const positionIds = torch.tensor([[1, 1, 0, 1, 2], [0, 1, 2, 3, 4]], { dtype: 'int64' });
      const out = model.forward(torch.tensor(ids, { dtype: 'int64' }), { attentionMask, positionIds, outputHiddenStates: true });
      expect(out.hiddenStates).toHaveLength(model.config.n_layer + 1);
      out.hiddenStates!.forEach((h, i) => expect(relErr(h, torch.tensor(want[i]))).toBeLessThan(1e-5));
      // the last is what the head reads: the logits are it times wte
      expect(relErr(out.hiddenStates![model.config.n_layer].matmul(model.transformer.wte.weight.t()), out.logits)).toBeLessThan(1e-5);
      // with a cache, the new positions' states (logitsToKeep leaves them whole)
      const first = model.forward(torch.tensor([[1, 2, 3]], { dtype: 'int64' }), { useCache: true });
      const next = model.forward(torch.tensor([[4, 5]], { dtype: 'int64' }), { pastKeyValues: first.pastKeyValues, useCache: true, outputHiddenStates: true, logitsToKeep: 1 });
      next.hiddenStates!.forEach((h, i) => expect(relErr(h, torch.tensor(want[i]).select(0, 1).narrow(0, 3, 2).unsqueeze(0))).toBeLessThan(1e-5));
      expect(model.forward(torch.tensor(ids, { dtype: 'int64' })).hiddenStates).toBeUndefined();
    }));
    model.dispose();
  });
});

test('outputAttentions (HF\'s output_attentions): every layer\'s attention weights, as the reference\'s, eager or sdpa, with padding and a cache (1e-5)', async () => {
  const dir = path.join(fixtures, 'gpt2', 'tiny');
  const ids = [[0, 0, 5, 17, 42], [1, 2, 3, 4, 5]], mask = [[0, 0, 1, 1, 1], [1, 1, 1, 1, 1]];
  const want = referenceRun<number[][][][][]>(dir, ids, mask, 'm.transformer(ids, attention_mask=mask, position_ids=pos)\nout = [b.attn.last_weights.tolist() for b in m.transformer.h]');
  for (const attn of attns) {
    const model = await torch.GPT2LMHeadModel.fromPretrained(dir, { attnImplementation: attn });
    torch.tidy(() => torch.noGrad(() => {
      const attentionMask = torch.tensor(mask, { dtype: 'int64' });
      const positionIds = torch.tensor([[1, 1, 0, 1, 2], [0, 1, 2, 3, 4]], { dtype: 'int64' });
      const out = model.forward(torch.tensor(ids, { dtype: 'int64' }), { attentionMask, positionIds, outputAttentions: true });
      expect(out.attentions).toHaveLength(model.config.n_layer);
      out.attentions!.forEach((a, i) => {
        expect(a.shape).toEqual([2, model.config.n_head, 5, 5]);
        expect(relErr(a, torch.tensor(want[i]))).toBeLessThan(1e-5);
      });
      // each query's weights sum to 1 over the keys it may see: none on the future, none on padding
      const first = out.attentions![0];
      expect(relErr(first.sum(-1), torch.onesLike(first.sum(-1)))).toBeLessThan(1e-6);
      expect(first.select(0, 1).select(1, 0).narrow(1, 1, 4).abs().max().item()).toBe(0); // (the first token sees only itself)
      expect(first.select(0, 0).narrow(1, 2, 3).narrow(2, 0, 2).abs().max().item()).toBe(0); // (the padding is never seen)
      // with a cache: the new queries over every key so far
      const head = model.forward(torch.tensor([[1, 2, 3]], { dtype: 'int64' }), { useCache: true });
      const next = model.forward(torch.tensor([[4, 5]], { dtype: 'int64' }), { pastKeyValues: head.pastKeyValues, useCache: true, outputAttentions: true });
      next.attentions!.forEach((a, i) => expect(relErr(a, torch.tensor(want[i]).narrow(0, 1, 1).narrow(2, 3, 2))).toBeLessThan(1e-5));
      // the output is the same as without the weights (sdpa's kernels or eager)
      expect(relErr(out.logits, model.forward(torch.tensor(ids, { dtype: 'int64' }), { attentionMask, positionIds }).logits)).toBeLessThan(1e-5);
    }));
    model.dispose();
  }
});

test('an untied lm_head (tie_word_embeddings false): read from lm_head.weight, its own tensor; missing, a clear error; LoRA on it merges into it alone', async () => {
  const dir = path.join(fixtures, 'gpt2', 'untied');
  const model = await torch.GPT2LMHeadModel.fromPretrained(dir);
  const file = torch.io.safetensors.loadFile(path.join(dir, 'model.safetensors')).tensors;
  expect(model.lm_head.weight).not.toBe(model.transformer.wte.weight);
  expect(model.lm_head.weight.bytes().equals(file.get('lm_head.weight')!.bytes())).toBe(true);
  expect(model.transformer.wte.weight.bytes().equals(file.get('transformer.wte.weight')!.bytes())).toBe(true);
  expect(model.numParameters()).toBe([...file.values()].reduce((n, t) => n + t.numel(), 0));
  // The same folder without lm_head.weight: its config says untied, so that is an error, not a silent tie.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-untied-'));
  fs.copyFileSync(path.join(dir, 'config.json'), path.join(tmp, 'config.json'));
  torch.io.safetensors.saveFile(path.join(tmp, 'model.safetensors'), new Map([...file].filter(([k]) => k !== 'lm_head.weight')));
  await expect(torch.GPT2LMHeadModel.fromPretrained(tmp)).rejects.toThrow(/config.json has tie_word_embeddings false, so the weights need an lm_head.weight of their own, and they have none/);
  // LoRA on lm_head (PEFT wraps it as any nn.Linear): merged, the logits stay; wte does not move.
  const ids = torch.tensor([[1, 5, 9, 33, 79, 2]], { dtype: 'int64' });
  torch.manualSeed(3);
  torch.lora.applyLoRA(model, { r: 2, alpha: 4, dropout: 0, targetModules: ['lm_head'], initLoraWeights: false });
  const wte = model.transformer.wte.weight.clone();
  const before = torch.noGrad(() => model.forward(ids).logits);
  torch.lora.merge(model);
  const after = torch.noGrad(() => model.forward(ids).logits);
  expect(relErr(after, before)).toBeLessThan(1e-5);
  expect(model.transformer.wte.weight.bytes().equals(wte.bytes())).toBe(true);
  const head = (model.lm_head as unknown as { base_layer: torch.nn.Linear }).base_layer; // (PEFT's name)
  expect(relErr(head.weight, file.get('lm_head.weight')!)).toBeGreaterThan(1e-3); // (the update went into the head)
  for (const t of [ids, wte, before, after, ...file.values()]) t.dispose();
  model.dispose();
  fs.rmSync(tmp, { recursive: true });
});

test('a sharded checkpoint (model.safetensors.index.json + shards) loads as the single file does; broken ones are clear errors', async () => {
  const dir = path.join(fixtures, 'gpt2', 'tiny');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-shards-'));
  fs.copyFileSync(path.join(dir, 'config.json'), path.join(tmp, 'config.json'));
  // As save_pretrained shards: a weight_map from each name to its file, names split over two files.
  const { tensors } = torch.io.safetensors.loadFile(path.join(dir, 'model.safetensors'));
  const names = [...tensors.keys()].sort();
  const files = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];
  const weightMap: Record<string, string> = {};
  names.forEach((n, i) => { weightMap[n] = files[i < names.length / 2 ? 0 : 1]; });
  files.forEach((f) => torch.io.safetensors.saveFile(path.join(tmp, f), new Map(names.filter((n) => weightMap[n] === f).map((n) => [n, tensors.get(n)!])), { format: 'pt' }));
  fs.writeFileSync(path.join(tmp, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }));
  const single = await torch.GPT2LMHeadModel.fromPretrained(dir), sharded = await torch.GPT2LMHeadModel.fromPretrained(tmp);
  const a = single.stateDict(), b = sharded.stateDict();
  expect([...b.keys()]).toEqual([...a.keys()]);
  for (const [k, t] of a) expect(b.get(k)!.bytes().equals(t.bytes())).toBe(true);
  single.dispose();
  sharded.dispose();
  // An index naming a tensor its shard lacks; then a shard that is not there.
  const moved = names.find((n) => weightMap[n] === files[0])!;
  fs.writeFileSync(path.join(tmp, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { ...weightMap, [moved]: files[1] } }));
  await expect(torch.GPT2LMHeadModel.fromPretrained(tmp)).rejects.toThrow(new RegExp(`puts '${moved.replace(/\./g, '\\.')}' in ${files[1]}, which does not hold it`));
  fs.writeFileSync(path.join(tmp, 'model.safetensors.index.json'), JSON.stringify({ weight_map: weightMap }));
  fs.rmSync(path.join(tmp, files[1]));
  await expect(torch.GPT2LMHeadModel.fromPretrained(tmp)).rejects.toThrow(/lists model-00002-of-00002.safetensors, which is not in that folder/);
  fs.writeFileSync(path.join(tmp, 'model.safetensors.index.json'), '{"weight_map": 3}');
  await expect(torch.GPT2LMHeadModel.fromPretrained(tmp)).rejects.toThrow(/has no valid weight_map/);
  for (const t of tensors.values()) t.dispose();
  fs.rmSync(tmp, { recursive: true });
});

test('savePretrained writes what transformers\' save_pretrained writes: one file, or shards and an index past maxShardSize, .bin with safeSerialization false; no stale weights stay', async () => {
  const src = path.join(fixtures, 'gpt2', 'tiny');
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-save-shards-'));
  const model = await torch.GPT2LMHeadModel.fromPretrained(src);
  const weightFiles = () => fs.readdirSync(out).filter((n) => /\.(safetensors|bin|index\.json)$/.test(n)).sort();
  // The Python side: huggingface_hub's split_torch_state_dict_into_shards transcribed (this model
  // ties nothing in what it saves, so its storage sharing is not needed), applied to the reference
  // model's state dict; every shard's tensors and the index's exact text checked.
  const python = (safe: boolean, maxBytes: number) => {
    const r = spawnSync('/usr/bin/python3', ['-c', `
import json, os, sys, torch, st, gpt2_ref
src, out, safe, max_size = sys.argv[1], sys.argv[2], sys.argv[3] == "true", int(sys.argv[4])
sd = gpt2_ref.from_pretrained(src).hf_state_dict()
shards, current, current_size, total = [], {}, 0, 0
for key, t in sd.items():
    size = t.numel() * t.element_size()
    if size > max_size:
        total += size
        shards.append({key: t})
        continue
    if current_size + size > max_size:
        shards.append(current)
        current, current_size = {}, 0
    current[key] = t
    current_size += size
    total += size
if current:
    shards.append(current)
stem, ext = ("model", ".safetensors") if safe else ("pytorch_model", ".bin")
names = [stem + ext] if len(shards) == 1 else ["%s-%05d-of-%05d%s" % (stem, i + 1, len(shards), ext) for i in range(len(shards))]
want = sorted(names + ([stem + ext + ".index.json"] if len(shards) > 1 else []))
have = sorted(n for n in os.listdir(out) if n.endswith((".safetensors", ".bin", ".index.json")))
assert have == want, (have, want)
for name, shard in zip(names, shards):
    got = st.load(os.path.join(out, name)) if safe else torch.load(os.path.join(out, name), weights_only=True)
    assert sorted(got) == sorted(shard), (name, sorted(got), sorted(shard))
    for k, t in shard.items():
        assert torch.equal(got[k], t), k
if len(shards) > 1:
    index = {"metadata": {"total_size": total}, "weight_map": {k: names[i] for i, s in enumerate(shards) for k in s}}
    assert open(os.path.join(out, stem + ext + ".index.json")).read() == json.dumps(index, indent=2, sort_keys=True) + "\\n"
print(len(shards))
`, src, out, String(safe), String(maxBytes)], { encoding: 'utf8', env: { ...process.env, PYTHONPATH: path.join(__dirname, '..', 'scripts', 'reference') } });
    expect(r.stderr).toBe('');
    return Number(r.stdout.trim());
  };
  const original = model.stateDict();
  const reloadsTheSame = async () => {
    const back = await torch.GPT2LMHeadModel.fromPretrained(out);
    for (const [k, t] of back.stateDict()) expect([k, t.bytes().equals(original.get(k)!.bytes())]).toEqual([k, true]);
    back.dispose();
  };
  await model.savePretrained(out);
  expect(weightFiles()).toEqual(['model.safetensors']);
  expect(python(true, 5e9)).toBe(1);
  // 10 kB: wte (13 kB) alone in a shard, the rest packed in order
  await model.savePretrained(out, { maxShardSize: '10kB' });
  expect(python(true, 10_000)).toBeGreaterThan(5);
  expect(weightFiles()).not.toContain('model.safetensors'); // (it would be read instead of the shards)
  await reloadsTheSame();
  await model.savePretrained(out, { maxShardSize: 30_000, safeSerialization: false });
  expect(python(false, 30_000)).toBeGreaterThan(2);
  expect(weightFiles().filter((n) => n.includes('safetensors'))).toEqual([]);
  await reloadsTheSame();
  await model.savePretrained(out, { safeSerialization: false });
  expect(weightFiles()).toEqual(['pytorch_model.bin']);
  expect(python(false, 5e9)).toBe(1);
  await reloadsTheSame();
  expect(fs.readdirSync(out).filter((n) => n.includes('.tmp-'))).toEqual([]);
  // sizes as HF reads them; bad options say what to give
  expect([torch.io.parseFileSize('5GB'), torch.io.parseFileSize('2GiB'), torch.io.parseFileSize('500MB'), torch.io.parseFileSize('8Mb'), torch.io.parseFileSize(123)]).toEqual([5e9, 2 ** 31, 5e8, 1e6, 123]);
  await expect(model.savePretrained(out, { maxShardSize: 'big' })).rejects.toThrow("maxShardSize: 'big' is not a size; give bytes or a number with a unit (e.g. '5GB', '500MB', '2GiB')");
  await expect(model.savePretrained(out, { maxShardSize: -1 })).rejects.toThrow('maxShardSize: -1 is not a positive whole number of bytes');
  await expect(model.savePretrained(out, { max_shard_size: '1GB' } as never)).rejects.toThrow(/max_shard_size/);
  expect(weightFiles()).toEqual(['pytorch_model.bin']); // a refused save leaves the folder as it was
  // a tensor under two names is counted once and kept with its first name's shard (huggingface_hub's rule)
  const [a, b, c] = [torch.zeros([10]), torch.zeros([10]), torch.zeros([10])];
  const { shards, totalSize } = torch.io.shardWeights(new Map([['a', a], ['b', b], ['a2', a], ['c', c]]), 80);
  expect(shards.map((s) => [...s.keys()])).toEqual([['a', 'b', 'a2'], ['c']]);
  expect(totalSize).toBe(120);
  model.dispose();
  fs.rmSync(out, { recursive: true });
});

describe.each(attns)('generation, %s attention', (attn) => {
  let model: torch.GPT2LMHeadModel;
  beforeAll(async () => {
    model = await torch.GPT2LMHeadModel.fromPretrained(path.join(fixtures, 'gpt2', 'tiny'), { attnImplementation: attn });
  });
  afterAll(() => model?.dispose());

  test('the key/value cache gives the same tokens as recomputing the whole sequence', () => {
    const prompt = [[5, 17, 42, 8], [1, 2, 3, 4]];
    const opts = { maxNewTokens: 20, eosTokenId: null };
    const cached = model.generate(prompt, { ...opts, useCache: true });
    const full = model.generate(prompt, { ...opts, useCache: false });
    expect(cached).toEqual(full);
    expect(cached[0].length).toBe(24);
  });

  test('prompts of different lengths in one batch: each gets the tokens it gets alone (left padding, mask, positions)', () => {
    // Position embeddings and attention outputs scaled up, so that a wrong position or an
    // attended pad changes the greedy tokens (the tiny random model's next token hardly depends
    // on them otherwise).
    const m = torch.GPT2LMHeadModel.fromPretrained(path.join(fixtures, 'gpt2', 'tiny'), { attnImplementation: attn });
    return m.then((sharp) => {
      torch.noGrad(() => {
        sharp.transformer.wpe.weight.mul_(40);
        for (const block of sharp.transformer.h.items) (block.attn.c_proj as torch.nn.Conv1D).weight.mul_(40);
      });
      const prompts = [[5, 17, 42, 8, 9, 3, 11, 12, 13, 14], [1], [7, 60, 7, 33]];
      const alone = prompts.map((p) => sharp.generate([p], { maxNewTokens: 12, eosTokenId: null })[0]);
      for (const useCache of [true, false]) {
        const batch = sharp.generate(prompts, { maxNewTokens: 12, eosTokenId: null, useCache });
        expect(batch.map((s) => s.length)).toEqual([22, 13, 16]);
        expect(batch).toEqual(alone);
      }
      // Distinct continuations: the comparison is not of one repeated token.
      expect(new Set(alone.flatMap((s, i) => s.slice(prompts[i].length))).size).toBeGreaterThan(3);
      // onToken (streaming) sees each step's tokens as they come: together, the continuations;
      // a row that has met eos gets eos again, and says so.
      const streamed: number[][] = [], flags: boolean[][] = [];
      sharp.generate(prompts, { maxNewTokens: 12, eosTokenId: null, onToken: (t, done) => { streamed.push(t); flags.push(done); } });
      expect(streamed.length).toBe(12);
      prompts.forEach((p, i) => expect(streamed.map((t) => t[i])).toEqual(alone[i].slice(p.length)));
      const eos = alone[0][prompts[0].length + 2]; // (its third new token, treated as eos)
      const withEos: number[][] = [], doneFlags: boolean[][] = [];
      const stopped = sharp.generate(prompts, { maxNewTokens: 12, eosTokenId: eos, onToken: (t, done) => { withEos.push(t); doneFlags.push(done); } });
      withEos.forEach((t, k) => t.forEach((v, i) => expect(v).toBe(stopped[i][prompts[i].length + k])));
      expect(doneFlags[2][0]).toBe(true);
      expect(withEos.slice(3).every((t) => t[0] === eos)).toBe(true);
      expect(() => sharp.generate([[1, 2], []])).toThrow(/every prompt needs at least one token/);
      sharp.dispose();
    });
  });

  test('positionIds with an attention mask: a left-padded prompt\'s logits are the unpadded prompt\'s (1e-5)', () => {
    torch.tidy(() => torch.noGrad(() => {
      model.eval();
      const alone = model.forward(torch.tensor([[5, 17, 42]], { dtype: 'int64' })).logits;
      const ids = torch.tensor([[0, 0, 5, 17, 42], [1, 2, 3, 4, 5]], { dtype: 'int64' });
      const attentionMask = torch.tensor([[0, 0, 1, 1, 1], [1, 1, 1, 1, 1]], { dtype: 'int64' });
      const positionIds = torch.tensor([[1, 1, 0, 1, 2], [0, 1, 2, 3, 4]], { dtype: 'int64' });
      const padded = model.forward(ids, { attentionMask, positionIds }).logits;
      expect(relErr(padded.select(0, 0).narrow(0, 2, 3), alone.select(0, 0))).toBeLessThan(1e-5);
      // Without the positions the padded prompt is shifted by two places: different logits.
      const shifted = model.forward(ids, { attentionMask }).logits;
      expect(relErr(shifted.select(0, 0).narrow(0, 2, 3), alone.select(0, 0))).toBeGreaterThan(1e-3);
      expect(() => model.forward(ids, { positionIds: torch.tensor([[0, 1, 2]], { dtype: 'int64' }) })).toThrow(/positionIds must be \[2, 5\]/);
    }));
  });

  test('repetitionPenalty: the tokens of a plain-JS greedy loop applying HF\'s formula to the model\'s logits', () => {
    const prompts = [[5, 17, 42, 8], [1, 2, 3, 4]], penalty = 1.8, steps = 10;
    const got = model.generate(prompts, { maxNewTokens: steps, eosTokenId: null, repetitionPenalty: penalty });
    const want = prompts.map((p) => [...p]);
    for (let s = 0; s < steps; s++) {
      const logits = torch.tidy(() => torch.noGrad(() => {
        model.eval();
        const l = model.forward(torch.tensor(want, { dtype: 'int64' })).logits;
        return l.select(1, l.shape[1] - 1).tolist() as number[][];
      }));
      want.forEach((seq, i) => {
        const scores = logits[i].map((v, t) => (seq.includes(t) ? (v < 0 ? v * penalty : v / penalty) : v));
        seq.push(scores.indexOf(Math.max(...scores)));
      });
    }
    expect(got).toEqual(want);
    // The penalty changes what is generated here (the comparison is not of two unpenalised runs).
    expect(model.generate(prompts, { maxNewTokens: steps, eosTokenId: null })).not.toEqual(want);
    // The formula itself, on scores of both signs and a token seen twice.
    torch.tidy(() => {
      torch.manualSeed(5);
      const scores = torch.randn([2, 7]), ids = torch.tensor([[0, 3, 3], [6, 1, 2]], { dtype: 'int64' });
      const s = scores.tolist() as number[][], idRows = ids.tolist() as number[][];
      const ref = s.map((row, i) => row.map((v, t) => (idRows[i].includes(t) ? (v < 0 ? v * penalty : v / penalty) : v)));
      const out = torch.repetitionPenalty(scores, ids, penalty).tolist() as number[][];
      expect(s.flat().some((v, k) => v < 0 && idRows[Math.floor(k / 7)].includes(k % 7))).toBe(true);
      out.flat().forEach((v, k) => expect(v).toBeCloseTo(ref.flat()[k], 6));
    });
    expect(() => model.generate([1], { repetitionPenalty: 0 })).toThrow(/repetitionPenalty must be a number > 0/);
    expect(() => model.generate([1], { topP: 1.5 })).toThrow(/topP must be in \(0, 1\]/);
    expect(() => model.generate([1], { maxNewTokens: -1 })).toThrow(/maxNewTokens must be an integer >= 0/);
  });

  test('the context: a full one (n_positions tokens) still predicts one token; a longer prompt is refused', () => {
    const n = model.config.n_positions;
    expect(model.generate([Array(n).fill(7)], { maxNewTokens: 3, eosTokenId: null })[0].length).toBe(n + 1);
    expect(model.generate([Array(n - 2).fill(7), [1]], { maxNewTokens: 5, eosTokenId: null }).map((s) => s.length)).toEqual([n + 1, 4]);
    expect(() => model.generate([Array(n + 1).fill(7)])).toThrow(new RegExp(`a prompt of ${n + 1} tokens is longer than this model's context \\(n_positions ${n}\\)`));
  });

  test('cached logits match full-sequence logits at every step', () => {
    torch.tidy(() => torch.noGrad(() => {
      model.eval();
      const ids = torch.tensor([[5, 17, 42, 8, 9, 10]], { dtype: 'int64' });
      const full = model.forward(ids).logits;
      const first = model.forward(ids.narrow(1, 0, 4), { useCache: true });
      const rest = model.forward(ids.narrow(1, 4, 2), { pastKeyValues: first.pastKeyValues, useCache: true });
      expect(relErr(rest.logits, full.narrow(1, 4, 2))).toBeLessThan(1e-5);
    }));
  });

  test('logitsToKeep (HF logits_to_keep, what generate asks for) gives the last positions of the full logits', () => {
    torch.tidy(() => torch.noGrad(() => {
      model.eval();
      const ids = torch.tensor([[5, 17, 42, 8, 9, 10], [1, 2, 3, 4, 5, 6]], { dtype: 'int64' });
      const full = model.forward(ids).logits;
      for (const k of [1, 3]) {
        const part = model.forward(ids, { logitsToKeep: k }).logits;
        expect(part.shape).toEqual([2, k, model.config.vocab_size]);
        expect(relErr(part, full.narrow(1, 6 - k, k))).toBeLessThan(1e-6);
      }
      expect(model.forward(ids, { logitsToKeep: 10 }).logits.shape).toEqual(full.shape); // more than T: all
      expect(() => model.forward(ids, { logitsToKeep: -1 })).toThrow(/logitsToKeep must be an integer >= 0/);
      expect(() => model.forward(ids, { logitsToKeep: 1, labels: ids })).toThrow(/the loss needs the logits at every position/);
    }));
  });

  test('sampling is seeded and repeatable; top-k 1 is greedy; stops at EOS', () => {
    const a = model.generate([1, 2, 3], { maxNewTokens: 10, temperature: 0.9, topK: 20, topP: 0.9, seed: 7, eosTokenId: null });
    const b = model.generate([1, 2, 3], { maxNewTokens: 10, temperature: 0.9, topK: 20, topP: 0.9, seed: 7, eosTokenId: null });
    expect(a).toEqual(b);
    const greedy = model.generate([1, 2, 3], { maxNewTokens: 8, eosTokenId: null });
    expect(model.generate([1, 2, 3], { maxNewTokens: 8, doSample: true, topK: 1, seed: 3, eosTokenId: null })).toEqual(greedy);
    const eos = greedy[0][4];
    const stopped = model.generate([1, 2, 3], { maxNewTokens: 8, eosTokenId: eos });
    expect(stopped[0][stopped[0].length - 1]).toBe(eos);
    expect(stopped[0].length).toBeLessThanOrEqual(greedy[0].length);
  });

  test('the same tokens as the other attention implementation', () => {
    const prompt = [[5, 17, 42, 8], [1, 2, 3, 4]];
    const other = attn === 'eager' ? 'sdpa' : 'eager';
    const mine = model.generate(prompt, { maxNewTokens: 12, eosTokenId: null });
    model.setAttnImplementation(other);
    try {
      expect(model.generate(prompt, { maxNewTokens: 12, eosTokenId: null })).toEqual(mine);
    } finally {
      model.setAttnImplementation(attn);
    }
  });

  test('generation does not leak tensors', () => {
    const before = torch.memory().liveTensors;
    model.generate([1, 2, 3], { maxNewTokens: 5, eosTokenId: null });
    expect(torch.memory().liveTensors).toBe(before);
  });
});

test('sdpa with a padding mask under bf16 autocast stays finite and close to fp32', async () => {
  const model = await torch.GPT2LMHeadModel.fromPretrained(path.join(fixtures, 'gpt2', 'tiny'), { attnImplementation: 'sdpa' });
  torch.tidy(() => torch.noGrad(() => {
    const ids = torch.tensor([[0, 0, 5, 17, 42, 8], [1, 2, 3, 4, 5, 6]], { dtype: 'int64' });
    const mask = torch.tensor([[0, 0, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1]], { dtype: 'int64' });
    const bf16 = torch.autocast(() => model.forward(ids, { attentionMask: mask }).logits, { deviceType: 'cpu', dtype: 'bfloat16' });
    const fp32 = model.forward(ids, { attentionMask: mask }).logits;
    expect(bf16.isfinite().all().item()).toBe(true);
    expect(relErr(bf16.narrow(1, 2, 4), fp32.narrow(1, 2, 4))).toBeLessThan(5e-2);
  }));
  model.dispose();
});

test('an unknown attention implementation is refused with the choices', () => {
  const cfg = { vocab_size: 16, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2 };
  expect(() => new torch.GPT2LMHeadModel(cfg, { attnImplementation: 'flash' as torch.AttnImplementation })).toThrow(/'eager' or 'sdpa'/);
});

test('fromPretrained with mmap: the weights mapped from the file, the same model; training writes stay in memory, the file untouched; freed with the model', async () => {
  const dir = path.join(fixtures, 'gpt2', 'tiny');
  const file = path.join(dir, 'model.safetensors'), before = fs.readFileSync(file);
  const mappings = () => fileMappings(file);
  const was = mappings();
  const read = await torch.GPT2LMHeadModel.fromPretrained(dir, { attnImplementation: 'eager' });
  const mapped = await torch.GPT2LMHeadModel.fromPretrained(dir, { attnImplementation: 'eager', mmap: true });
  // every tensor of the file but those fromPretrained does not read (the causal masks, which it builds, and a stored lm_head)
  const weights = [...torch.io.safetensors.readHeader(file).tensors.keys()].filter((n) => !/\.attn\.(bias|masked_bias)$/.test(n) && n !== 'lm_head.weight');
  expect(mappings() - was).toBe(weights.length);
  const ids = torch.keep(torch.tensor([[5, 17, 99, 3, 42, 7]], { dtype: 'int64' }));
  for (const m of [read, mapped]) m.train();
  // A full fine-tuning step each (dropout drawn alike): the same loss, the same updated weights.
  const step = (m: torch.GPT2LMHeadModel) => {
    torch.manualSeed(1);
    const opt = new torch.optim.AdamW(m.parameters(), { lr: 1e-2 });
    const loss = torch.tidy(() => {
      const l = m.forward(ids, { labels: ids }).loss!;
      l.backward();
      return l.item() as number;
    });
    opt.step();
    return loss;
  };
  expect(step(mapped)).toBe(step(read));
  const a = read.stateDict(), b = mapped.stateDict();
  for (const [k, t] of a) expect(b.get(k)!.bytes().equals(t.bytes())).toBe(true);
  expect(fs.readFileSync(file).equals(before)).toBe(true);
  read.dispose();
  mapped.dispose();
  ids.dispose();
  expect(mappings()).toBe(was);
});
