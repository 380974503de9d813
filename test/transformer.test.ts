// nn.MultiheadAttention, the Transformer encoder / decoder layers and stacks and nn.Transformer against PyTorch's
// (scripts/reference/transformer_ref.py), float64, train mode with dropout 0: the same seed gives
// the same initial weights (exactly), and outputs, attention weights and the gradients of inputs
// and parameters agree within 1e-10. Masks: bool (true = masked, as PyTorch's), float, key padding.
import * as torch from '../lib';
import { referenceTensors, pythonJson } from './helpers';

const nn = torch.nn;
type T = torch.Tensor;
const SEED = 21;

const causal = (n: number) => torch.ones([n, n], { dtype: 'bool' }).triu(1);
const padding = (rows: number[][]) => torch.tensor(rows.map((r) => r.map((v) => v === 1)));

interface Case { inputs: () => T[]; needsGrad: number[]; make: () => torch.nn.Module; run: (m: never, ...xs: T[]) => T | [T, T | null] }
const cases: Record<string, Case> = {
  mha_self: {
    inputs: () => [torch.randn([5, 3, 8]), causal(5), padding([[0, 0, 0, 0, 1], [0, 0, 0, 0, 0], [0, 0, 1, 1, 1]])], needsGrad: [0],
    make: () => new nn.MultiheadAttention(8, 2),
    run: (m: torch.nn.MultiheadAttention, x, c, kpm) => m.forward(x, x, x, { attnMask: c, keyPaddingMask: kpm }),
  },
  mha_cross: {
    inputs: () => [torch.randn([3, 4, 8]), torch.randn([3, 6, 8]), torch.randn([4, 6])], needsGrad: [0, 1],
    make: () => new nn.MultiheadAttention(8, 4, { batchFirst: true }),
    run: (m: torch.nn.MultiheadAttention, q, kv, fmask) => m.forward(q, kv, kv, { attnMask: fmask, averageAttnWeights: false }),
  },
  mha_unbatched: {
    inputs: () => [torch.randn([4, 6]), torch.randn([7, 6]), torch.randn([7, 6])], needsGrad: [0, 1, 2],
    make: () => new nn.MultiheadAttention(6, 3, { bias: false }),
    run: (m: torch.nn.MultiheadAttention, q, k, v) => m.forward(q, k, v),
  },
  mha_kvdim: {
    inputs: () => [torch.randn([2, 4, 8]), torch.randn([2, 6, 5]), torch.randn([2, 6, 3]), padding([[0, 0, 0, 0, 1, 1], [0, 0, 0, 0, 0, 0]])], needsGrad: [0, 1, 2],
    make: () => new nn.MultiheadAttention(8, 2, { kdim: 5, vdim: 3, batchFirst: true }),
    run: (m: torch.nn.MultiheadAttention, q, k, v, kpm) => m.forward(q, k, v, { keyPaddingMask: kpm }),
  },
  enc_post: {
    inputs: () => [torch.randn([5, 3, 8]), torch.randn([5, 5]), padding([[0, 0, 0, 1, 1], [0, 0, 0, 0, 0], [0, 1, 1, 1, 1]])], needsGrad: [0],
    make: () => new nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 16, dropout: 0 }),
    run: (m: torch.nn.TransformerEncoderLayer, x, fmask, kpm) => m.forward(x, { srcMask: fmask, srcKeyPaddingMask: kpm }),
  },
  enc_pre_gelu: {
    inputs: () => [torch.randn([3, 5, 8])], needsGrad: [0],
    make: () => new nn.TransformerEncoderLayer(8, 4, { dimFeedforward: 12, dropout: 0, activation: 'gelu', batchFirst: true, normFirst: true }),
    run: (m: torch.nn.TransformerEncoderLayer, x) => m.forward(x),
  },
  encoder: {
    inputs: () => [torch.randn([3, 5, 8]), padding([[0, 0, 0, 0, 1], [0, 0, 0, 0, 0], [0, 0, 1, 1, 1]])], needsGrad: [0],
    make: () => new nn.TransformerEncoder(new nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 16, dropout: 0, batchFirst: true }), 2, new nn.LayerNorm(8)),
    run: (m: torch.nn.TransformerEncoder, x, kpm) => m.forward(x, { srcKeyPaddingMask: kpm }),
  },
  dec_post: {
    inputs: () => [torch.randn([4, 3, 8]), torch.randn([5, 3, 8]), causal(4), padding([[0, 0, 0, 1, 1], [0, 0, 0, 0, 0], [0, 1, 1, 1, 1]])], needsGrad: [0, 1],
    make: () => new nn.TransformerDecoderLayer(8, 2, { dimFeedforward: 16, dropout: 0 }),
    run: (m: torch.nn.TransformerDecoderLayer, tgt, mem, c, kpm) => m.forward(tgt, mem, { tgtMask: c, memoryKeyPaddingMask: kpm }),
  },
  dec_pre_gelu: {
    inputs: () => [torch.randn([3, 4, 8]), torch.randn([3, 6, 8]), torch.randn([4, 6]), padding([[0, 0, 0, 1], [0, 0, 0, 0], [0, 0, 1, 1]])], needsGrad: [0, 1],
    make: () => new nn.TransformerDecoderLayer(8, 4, { dimFeedforward: 12, dropout: 0, activation: 'gelu', batchFirst: true, normFirst: true }),
    run: (m: torch.nn.TransformerDecoderLayer, tgt, mem, fmask, tkpm) =>
      m.forward(tgt, mem, { tgtMask: nn.Transformer.generateSquareSubsequentMask(4, { dtype: 'float64' }), memoryMask: fmask, tgtKeyPaddingMask: tkpm }),
  },
  transformer: {
    inputs: () => [torch.randn([2, 5, 8]), torch.randn([2, 4, 8]), padding([[0, 0, 0, 1, 1], [0, 0, 0, 0, 0]])], needsGrad: [0, 1],
    make: () => new nn.Transformer(8, 2, { numEncoderLayers: 2, numDecoderLayers: 2, dimFeedforward: 16, dropout: 0, batchFirst: true }),
    run: (m: torch.nn.Transformer, src, tgt, skpm) =>
      m.forward(src, tgt, { tgtMask: nn.Transformer.generateSquareSubsequentMask(4, { dtype: 'float64' }), srcKeyPaddingMask: skpm, memoryKeyPaddingMask: skpm }),
  },
};

let want: Map<string, T>;
const inputs = new Map<string, T>();

beforeAll(() => {
  torch.setDefaultDtype('float64');
  torch.manualSeed(2);
  const files: Record<string, T> = {};
  for (const [name, c] of Object.entries(cases)) {
    c.inputs().forEach((x, k) => { inputs.set(`${name}.in${k}`, torch.keep(x)); files[`${name}.in${k}`] = x; });
    files[`${name}.needs_grad`] = torch.keep(torch.tensor(c.needsGrad.length ? c.needsGrad : [-1]));
  }
  torch.setDefaultDtype('float32');
  want = referenceTensors('transformer_ref.py', files);
}, 60_000);

const err = (a: T, b: T) => torch.tidy(() => (a.sub(b).abs().max().item() as number) / Math.max(b.abs().max().item() as number, 1e-12));

describe.each(Object.keys(cases))('%s as PyTorch\'s', (name) => {
  test('same seed, same initial weights; outputs and gradients within 1e-10', () => {
    const c = cases[name];
    torch.setDefaultDtype('float64');
    torch.manualSeed(SEED);
    const m = c.make();
    torch.setDefaultDtype('float32');
    const sd = m.stateDict();
    const theirs = [...want.keys()].filter((k) => k.startsWith(`${name}.init.`)).map((k) => k.slice(`${name}.init.`.length));
    expect([...sd.keys()].sort()).toEqual(theirs.sort());
    for (const [k, t] of sd) expect([k, t.equal(want.get(`${name}.init.${k}`)!)]).toEqual([k, true]);
    torch.tidy(() => {
      const xs: T[] = [];
      for (let k = 0; inputs.has(`${name}.in${k}`); k++) {
        const x = inputs.get(`${name}.in${k}`)!.clone();
        xs.push(c.needsGrad.includes(k) ? x.requiresGrad_() : x);
      }
      const res = (c.run as (m: torch.nn.Module, ...xs: T[]) => T | [T, T | null])(m, ...xs);
      const outs = ((Array.isArray(res) ? res : [res]) as (T | null)[]).filter((o): o is T => o !== null);
      let loss: T | null = null;
      outs.forEach((o, j) => {
        const w = want.get(`${name}.out${j}`)!;
        const e = err(o, w);
        if (!(e < 1e-10)) throw new Error(`${name} output ${j}: off by ${e}`);
        const term = o.mul(want.get(`${name}.w${j}`)!).sum();
        loss = loss ? loss.add(term) : term;
      });
      expect(want.has(`${name}.out${outs.length}`)).toBe(false);
      (loss as unknown as T).backward();
      xs.forEach((x, i) => {
        if (!c.needsGrad.includes(i)) return;
        const e = err(x.grad!, want.get(`${name}.gin${i}`)!);
        if (!(e < 1e-10)) throw new Error(`${name} gradient of input ${i}: off by ${e}`);
      });
      for (const [k, p] of m.namedParameters()) {
        const e = err(p.grad!, want.get(`${name}.grad.${k}`)!);
        if (!(e < 1e-10)) throw new Error(`${name} gradient of ${k}: off by ${e}`);
      }
    });
    m.dispose();
  });
});

describe('transformer layers: errors and memory', () => {
  test('bad shapes and settings', () => {
    expect(() => new nn.MultiheadAttention(10, 3)).toThrow(/embedDim \(10\) must be divisible by numHeads \(3\)/);
    expect(() => new nn.TransformerEncoderLayer(8, 2, { activation: 'tanh' as never })).toThrow(/activation must be 'relu' or 'gelu'/);
    expect(() => new nn.TransformerDecoderLayer(8, 2, { activation: 'tanh' as never })).toThrow(/TransformerDecoderLayer: activation must be 'relu' or 'gelu'/);
    const t = new nn.Transformer(8, 2, { numEncoderLayers: 1, numDecoderLayers: 1, dimFeedforward: 8 });
    torch.tidy(() => {
      expect(() => t.forward(torch.randn([5, 2, 8]), torch.randn([4, 3, 8]))).toThrow('Transformer: the batch number of src and tgt must be equal');
      expect(() => t.forward(torch.randn([5, 2, 8]), torch.randn([4, 2, 6]))).toThrow('Transformer: the feature number of src and tgt must be equal to dModel');
      expect(nn.Transformer.generateSquareSubsequentMask(3).tolist()).toEqual([[0, -Infinity, -Infinity], [0, 0, -Infinity], [0, 0, 0]]);
    });
    t.dispose();
    const m = new nn.MultiheadAttention(8, 2);
    torch.tidy(() => {
      expect(() => m.forward(torch.randn([2, 3, 6]), torch.randn([2, 3, 6]), torch.randn([2, 3, 6]))).toThrow(/query's last dim is 6, embedDim is 8/);
      expect(() => m.forward(torch.randn([8]), torch.randn([8]), torch.randn([8]))).toThrow(/query must be \(L, E\)/);
    });
    m.dispose();
  });
  test('clone() copies the weights and draws nothing from the generator (as PyTorch\'s deepcopy in TransformerEncoder)', () => {
    const layer = new nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 16 });
    const before = torch.getRngState();
    const copy = layer.clone();
    expect(torch.getRngState().equals(before)).toBe(true);
    for (const [k, t] of layer.stateDict()) expect([k, t.equal(copy.stateDict().get(k)!)]).toEqual([k, true]);
    layer.dispose();
    copy.dispose();
  });
  test('a forward leaves only its results behind; layers stay at flat memory over steps', () => {
    const enc = new nn.TransformerEncoder(new nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 16 }), 2);
    const x = torch.randn([5, 2, 8]);
    const live = torch.memory().liveTensors;
    const y = enc.forward(x);
    expect(torch.memory().liveTensors).toBe(live + 1);
    y.sum().backward();
    const step = () => torch.tidy(() => { enc.zeroGrad(); enc.forward(x).sum().backward(); });
    step();
    const before = torch.memory().liveTensors;
    for (let i = 0; i < 10; i++) step();
    expect(torch.memory().liveTensors).toBe(before);
    enc.dispose();
    // nn.Transformer's construction keeps nothing but its modules' tensors (the layers it clones from are freed)
    const n0 = torch.memory().liveTensors;
    new nn.Transformer({ dModel: 8, nhead: 2, numEncoderLayers: 1, numDecoderLayers: 1, dimFeedforward: 16 }).dispose();
    expect(torch.memory().liveTensors).toBe(n0);
  });
});

test('forwards take their masks by position as PyTorch\'s (language_translation\'s transformer(src, tgt, src_mask, tgt_mask, None, ...)): the same as by name, and as PyTorch\'s', () => {
  torch.manualSeed(4);
  const src = torch.randn([6, 2, 8], { dtype: 'float64' }), tgt = torch.randn([5, 2, 8], { dtype: 'float64' });
  const srcMask = torch.zeros([6, 6], { dtype: 'bool' });
  const tgtMask = nn.Transformer.generateSquareSubsequentMask(5, { dtype: 'float64' });
  const srcPad = padding([[0, 0, 0, 0, 1, 1], [0, 0, 0, 0, 0, 0]]), tgtPad = padding([[0, 0, 0, 1, 1], [0, 0, 0, 0, 0]]);
  const want = pythonJson<{ transformer: number[]; encoder: number[]; decoder: number[]; mha: number[] }>(`
import json, torch, torch.nn as nn
torch.manual_seed(${SEED})
t = nn.Transformer(d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=16, dropout=0.0).double()
mha = nn.MultiheadAttention(8, 2).double()
src, tgt = torch.tensor(${JSON.stringify(src.tolist())}, dtype=torch.float64), torch.tensor(${JSON.stringify(tgt.tolist())}, dtype=torch.float64)
src_mask = torch.zeros(6, 6, dtype=torch.bool); tgt_mask = nn.Transformer.generate_square_subsequent_mask(5).double()
src_pad = torch.tensor(json.loads('${JSON.stringify(srcPad.tolist())}')); tgt_pad = torch.tensor(json.loads('${JSON.stringify(tgtPad.tolist())}'))
out = t(src, tgt, src_mask, tgt_mask, None, src_pad, tgt_pad, src_pad)
memory = t.encoder(src, src_mask, src_pad)
dec = t.decoder(tgt, memory, tgt_mask, None, tgt_pad, src_pad)
attn = mha(tgt, src, src, src_pad, False)[0]
print(json.dumps({"transformer": out.flatten().tolist(), "encoder": memory.flatten().tolist(), "decoder": dec.flatten().tolist(), "mha": attn.flatten().tolist()}))`);
  torch.manualSeed(SEED);
  const t = new nn.Transformer({ dModel: 8, nhead: 2, numEncoderLayers: 2, numDecoderLayers: 2, dimFeedforward: 16, dropout: 0.0 }).double();
  const mha = new nn.MultiheadAttention(8, 2).double();
  const out = t(src, tgt, srcMask, tgtMask, null, srcPad, tgtPad, srcPad);
  const byName = t(src, tgt, { srcMask, tgtMask, srcKeyPaddingMask: srcPad, tgtKeyPaddingMask: tgtPad, memoryKeyPaddingMask: srcPad });
  const mixed = t(src, tgt, srcMask, tgtMask, { srcKeyPaddingMask: srcPad, tgtKeyPaddingMask: tgtPad, memoryKeyPaddingMask: srcPad });
  const memory = t.encoder(src, srcMask, srcPad);
  const dec = t.decoder(tgt, memory, tgtMask, null, tgtPad, srcPad);
  const [attn, weights] = mha(tgt, src, src, srcPad, false);
  expect([torch.equal(out, byName), torch.equal(out, mixed), weights]).toEqual([true, true, null]);
  const diff = (a: T, b: number[]) => torch.tidy(() => a.flatten().sub(torch.tensor(b, { dtype: 'float64' })).abs().max().item());
  expect([diff(out, want.transformer), diff(memory, want.encoder), diff(dec, want.decoder), diff(attn, want.mha)].every((d) => d < 1e-10)).toBe(true);
  expect(() => t(src, tgt, srcMask, tgtMask, null, srcPad, tgtPad, srcPad, srcPad as never)).toThrow(/Transformer.forward: 7 arguments after its required ones, but it takes at most 6/);
  expect(() => t(src, tgt, srcMask, { srcMask })).toThrow(/Transformer.forward: srcMask is given twice/);
  for (const x of [src, tgt, srcMask, tgtMask, srcPad, tgtPad, out, byName, mixed, memory, dec, attn]) x.dispose();
  t.dispose();
  mha.dispose();
});
