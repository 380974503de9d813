// torch.nn layers built as PyTorch code builds them, by position (nn.Conv2d(3, 4, 3, 2, 1, 1, 1,
// False)), against PyTorch's own layers built from the very same arguments: after the same seed,
// the same initial weights, and the same outputs (and running statistics) on the same input.
// Before, every argument after the required ones went into one options object, and these were
// quietly the defaults. Then: what fits neither form is a clear error.
import * as torch from '../lib';
import { pythonJson } from './helpers';

const nn = torch.nn;
const SEED = 5;

// name: [PyTorch's expression, ours, the input's shape ('long:' for indices), eval mode]
const layers: Record<string, [string, () => torch.nn.Module, string, boolean?]> = {
  linear: ['nn.Linear(4, 3, False)', () => new nn.Linear(4, 3, false), '2,4'],
  conv2d: ['nn.Conv2d(3, 4, 3, 2, 1, 1, 1, False)', () => new nn.Conv2d(3, 4, 3, 2, 1, 1, 1, false), '2,3,7,7'],
  conv2dReflect: ["nn.Conv2d(4, 4, (3, 1), 1, (1, 0), 1, 2, True, 'reflect')", () => new nn.Conv2d(4, 4, [3, 1], 1, [1, 0], 1, 2, true, 'reflect'), '1,4,5,5'],
  conv1dKeywords: ['nn.Conv1d(2, 4, 3, 2, padding=2, dilation=2)', () => new nn.Conv1d(2, 4, 3, 2, { padding: 2, dilation: 2 }), '2,2,9'],
  convTranspose1d: ['nn.ConvTranspose1d(4, 6, 3, 2, 1, 1, 2, False, 1)', () => new nn.ConvTranspose1d(4, 6, 3, 2, 1, 1, 2, false, 1), '2,4,5'],
  batchNorm1d: ['nn.BatchNorm1d(4, 1e-3, None, False)', () => new nn.BatchNorm1d(4, 1e-3, null, false), '5,4'],
  instanceNorm1d: ['nn.InstanceNorm1d(3, 1e-4, 0.2, True, True)', () => new nn.InstanceNorm1d(3, 1e-4, 0.2, true, true), '2,3,6'],
  layerNorm: ['nn.LayerNorm(6, 1e-3, False)', () => new nn.LayerNorm(6, 1e-3, false), '2,6'],
  layerNorm2d: ['nn.LayerNorm([2, 3], 1e-6)', () => new nn.LayerNorm([2, 3], 1e-6), '4,2,3'],
  groupNorm: ['nn.GroupNorm(2, 4, 1e-3, False)', () => new nn.GroupNorm(2, 4, 1e-3, false), '2,4,3'],
  maxPool2d: ['nn.MaxPool2d(3, 2, 1, 1, False, True)', () => new nn.MaxPool2d(3, 2, 1, 1, false, true), '1,2,8,8'],
  avgPool2d: ['nn.AvgPool2d(3, 2, 1, True, False)', () => new nn.AvgPool2d(3, 2, 1, true, false), '1,2,8,8'],
  avgPool1d: ['nn.AvgPool1d(3, 2, 1, True, False)', () => new nn.AvgPool1d(3, 2, 1, true, false), '1,2,9'],
  embedding: ['nn.Embedding(10, 3, 0, None, 2.0, False, False)', () => new nn.Embedding(10, 3, 0, null, 2, false, false), 'long:2,4'],
  embeddingBag: ["nn.EmbeddingBag(10, 3, None, 2.0, False, 'max')", () => new nn.EmbeddingBag(10, 3, null, 2, false, 'max'), 'long:2,4'],
  lstm: ['nn.LSTM(4, 5, 2, True, True, 0.0, True)', () => new nn.LSTM(4, 5, 2, true, true, 0, true), '2,3,4'],
  gru: ['nn.GRU(4, 5, 1, False, True)', () => new nn.GRU(4, 5, 1, false, true), '2,3,4'],
  // (PyTorch 2's order, nonlinearity 4th; 1.13, the reference here, takes it by keyword only)
  rnn: ["nn.RNN(4, 5, 1, nonlinearity='relu', bias=True, batch_first=True)", () => new nn.RNN(4, 5, 1, 'relu', true, true), '2,3,4'],
  lstmCell: ['nn.LSTMCell(4, 5, False)', () => new nn.LSTMCell(4, 5, false), '2,4'],
  attention: ['nn.MultiheadAttention(8, 2, 0.0, False, False, False, None, None, True)', () => new nn.MultiheadAttention(8, 2, 0, false, false, false, null, null, true), '2,3,8'],
  encoderLayer: ["nn.TransformerEncoderLayer(8, 2, 16, 0.0, 'gelu', 1e-6, True, True)", () => new nn.TransformerEncoderLayer(8, 2, 16, 0, 'gelu', 1e-6, true, true), '2,3,8', true],
  softplus: ['nn.Softplus(2, 1)', () => new nn.Softplus(2, 1), '2,5'],
  leakyRelu: ['nn.LeakyReLU(0.2, True)', () => new nn.LeakyReLU(0.2, true), '2,5'],
  hardtanh: ['nn.Hardtanh(-0.5, 0.25)', () => new nn.Hardtanh(-0.5, 0.25), '2,5'],
  threshold: ['nn.Threshold(0.1, 20)', () => new nn.Threshold(0.1, 20), '2,5'],
  softmax: ['nn.Softmax(0)', () => new nn.Softmax(0), '2,5'],
  prelu: ['nn.PReLU(3, 0.1)', () => new nn.PReLU(3, 0.1), '2,3,4'],
  upsample: ["nn.Upsample(None, 2, 'bilinear', True)", () => new nn.Upsample(null, 2, 'bilinear', true), '1,1,3,3'],
  unfold: ['nn.Unfold(2, 1, 1, 2)', () => new nn.Unfold(2, 1, 1, 2), '1,2,4,4'],
  lrn: ['nn.LocalResponseNorm(3, 0.1, 0.5, 2.0)', () => new nn.LocalResponseNorm(3, 0.1, 0.5, 2), '1,4,3'],
};

interface Want { input: number[]; init: Record<string, number[]>; out: number[]; after: Record<string, number[]> }
let want: Record<string, Want>;

beforeAll(() => {
  const cases = Object.fromEntries(Object.entries(layers).map(([k, [py, , shape, evalMode]]) => [k, [py, shape, evalMode ?? false]]));
  want = pythonJson(`
import json, sys, torch
import torch.nn as nn
cases = json.loads(sys.argv[1])
res = {}
for i, (name, (expr, shape, eval_mode)) in enumerate(cases.items()):
    torch.manual_seed(100 + i)
    dims = [int(d) for d in shape.split(':')[-1].split(',')]
    x = torch.randint(0, 10, dims) if shape.startswith('long:') else torch.randn(dims, dtype=torch.float64).float()
    given = x.flatten().double().tolist()  # (before an inplace layer changes it)
    torch.manual_seed(${SEED})
    layer = eval(expr)
    init = {k: v.flatten().double().tolist() for k, v in layer.state_dict().items()}
    if eval_mode: layer.eval()
    y = layer(x, x, x) if isinstance(layer, nn.MultiheadAttention) else layer(x)
    if isinstance(y, tuple): y = y[0]
    after = {k: v.flatten().double().tolist() for k, v in layer.state_dict().items()}
    res[name] = {'input': given, 'init': init, 'out': y.detach().flatten().double().tolist(), 'after': after}
print(json.dumps(res))`, JSON.stringify(cases));
}, 120_000);

function maxDiff(got: number[], exp: number[]): number {
  expect(got.length).toBe(exp.length);
  return Math.max(0, ...got.map((v, i) => Math.abs(v - exp[i]) / Math.max(1, Math.abs(exp[i]))));
}

describe('torch.nn layers built with PyTorch\'s positional arguments, against PyTorch\'s built from the same', () => {
  test.each(Object.keys(layers))('%s: same initial weights, outputs and state after a forward', (name) => {
    const [, make, shape, evalMode] = layers[name];
    const w = want[name];
    torch.tidy(() => {
      const dims = shape.split(':').pop()!.split(',').map(Number);
      const x = shape.startsWith('long:') ? torch.tensor(w.input, { dtype: 'int64' }).reshape(dims) : torch.tensor(w.input, { dtype: 'float32' }).reshape(dims);
      torch.manualSeed(SEED);
      const layer = make();
      const init = layer.stateDict();
      expect([...init.keys()].sort()).toEqual(Object.keys(w.init).sort());
      for (const [k, t] of init) expect([k, maxDiff(t.flatten().tolist() as number[], w.init[k])]).toEqual([k, 0]);
      if (evalMode) layer.eval();
      let y = layer instanceof nn.MultiheadAttention ? layer.forward(x, x, x) : (layer as unknown as { forward(x: torch.Tensor): unknown }).forward(x);
      if (Array.isArray(y)) y = y[0];
      expect(maxDiff((y as torch.Tensor).flatten().tolist() as number[], w.out)).toBeLessThan(1e-5);
      for (const [k, t] of layer.stateDict()) expect([k, maxDiff(t.flatten().tolist() as number[], w.after[k]) < 1e-6]).toEqual([k, true]);
      layer.dispose();
    });
  });

  test('loss layers take PyTorch\'s positional weight, ignore index, reduction, margin, ... (against PyTorch)', () => {
    torch.manualSeed(3);
    const logits = torch.keep(torch.randn([6, 4], { dtype: 'float64' }));
    const target = torch.keep(torch.tensor([0, 1, 3, 1, 2, 0], { dtype: 'int64' }));
    const w = torch.keep(torch.tensor([0.5, 2, 1, 3], { dtype: 'float64' }));
    const y = torch.keep(torch.tensor([1, 0, 1, 1, 0, 1], { dtype: 'float64' }));
    const got = [
      new nn.CrossEntropyLoss(w, null, 1).forward(logits, target),
      new nn.CrossEntropyLoss(w, null, -100, null, 'sum', 0.1).forward(logits, target),
      new nn.NLLLoss(w, null, 0, null, 'sum').forward(logits.logSoftmax(1), target),
      new nn.BCEWithLogitsLoss(null, null, null, 'sum', torch.tensor([2], { dtype: 'float64' })).forward(logits.select(1, 0), y),
      new nn.MultiMarginLoss(1, 0.5, w).forward(logits, target),
      new nn.HuberLoss('sum', 0.5).forward(logits.select(1, 0), logits.select(1, 1)),
      new nn.MarginRankingLoss(0.3).forward(logits.select(1, 0), logits.select(1, 1), y.mul(2).sub(1)),
      new nn.SmoothL1Loss(null, null, 'mean', 0.25).forward(logits.select(1, 0), logits.select(1, 1)),
      new nn.KLDivLoss(null, null, 'batchmean', true).forward(logits.logSoftmax(1), logits.flip([0]).logSoftmax(1)),
    ].map((t) => t.item() as number);
    const exp = pythonJson<number[]>(`
import json, sys, torch
import torch.nn as nn
d = json.loads(sys.argv[1])
logits, w, y = (torch.tensor(d[k], dtype=torch.float64) for k in ('logits', 'w', 'y'))
t = torch.tensor(d['target'])
out = [
    nn.CrossEntropyLoss(w, None, 1)(logits, t),
    nn.CrossEntropyLoss(w, None, -100, None, 'sum', 0.1)(logits, t),
    nn.NLLLoss(w, None, 0, None, 'sum')(logits.log_softmax(1), t),
    nn.BCEWithLogitsLoss(None, None, None, 'sum', torch.tensor([2.], dtype=torch.float64))(logits[:, 0], y),
    nn.MultiMarginLoss(1, 0.5, w)(logits, t),
    nn.HuberLoss('sum', 0.5)(logits[:, 0], logits[:, 1]),
    nn.MarginRankingLoss(0.3)(logits[:, 0], logits[:, 1], y * 2 - 1),
    nn.SmoothL1Loss(None, None, 'mean', 0.25)(logits[:, 0], logits[:, 1]),
    nn.KLDivLoss(None, None, 'batchmean', True)(logits.log_softmax(1), logits.flip(0).log_softmax(1)),
]
print(json.dumps([o.item() for o in out]))`, JSON.stringify({ logits: logits.tolist(), target: target.tolist(), w: w.tolist(), y: y.tolist() }));
    got.forEach((g, k) => expect([k, Math.abs(g - exp[k]) < 1e-12]).toEqual([k, true]));
    // the weight given positionally is used (it was quietly left out): weighted and unweighted differ
    expect(Math.abs(got[0] - (new nn.CrossEntropyLoss(null, null, 1).forward(logits, target).item() as number))).toBeGreaterThan(1e-3);
    for (const t of [logits, target, w, y]) t.dispose();
  });

  test('positional arguments, then an options object, as Python\'s keywords after positional ones; each form the same layer', () => {
    const same = (a: () => torch.nn.Module, b: () => torch.nn.Module) => {
      torch.manualSeed(SEED);
      const x = a();
      torch.manualSeed(SEED);
      const y = b();
      expect(x.toString()).toBe(y.toString());
      const sx = x.stateDict(), sy = y.stateDict();
      expect([...sx.keys()]).toEqual([...sy.keys()]);
      for (const [k, t] of sx) expect([k, t.equal(sy.get(k)!)]).toEqual([k, true]);
      x.dispose();
      y.dispose();
    };
    same(() => new nn.Conv2d(3, 4, 3, 2, 1, 1, 1, false), () => new nn.Conv2d(3, 4, 3, { stride: 2, padding: 1, bias: false }));
    same(() => new nn.Conv2d(3, 4, 3, 2, { padding: 1, bias: false }), () => new nn.Conv2d(3, 4, 3, { stride: 2, padding: 1, bias: false }));
    same(() => new nn.Linear(4, 3, false, { dtype: 'float64' }), () => new nn.Linear(4, 3, { bias: false, dtype: 'float64' }));
    same(() => new nn.LSTM(4, 5, 2, true, true, 0, true), () => new nn.LSTM(4, 5, { numLayers: 2, batchFirst: true, bidirectional: true }));
    same(() => new nn.Transformer(8, 2, 1, 1, 16, 0), () => new nn.Transformer({ dModel: 8, nhead: 2, numEncoderLayers: 1, numDecoderLayers: 1, dimFeedforward: 16, dropout: 0 }));
    same(() => new nn.BatchNorm2d(4, 1e-3, 0.3, false, false), () => new nn.BatchNorm2d(4, { eps: 1e-3, momentum: 0.3, affine: false, trackRunningStats: false }));
    same(() => new nn.LazyConv2d(4, 3, 2), () => new nn.LazyConv2d(4, 3, { stride: 2 }));
    expect(new nn.Dropout({ p: 0.2 }).p).toBe(0.2);
    expect(new nn.GELU({ approximate: 'tanh' }).approximate).toBe('tanh');
    expect(new nn.Softmax({ dim: 1 }).dim).toBe(1);
    expect(new nn.LayerNorm(4, { elementwiseAffine: false }).weight).toBeNull();
    expect(new nn.LayerNorm(4, 1e-5, true, false).bias).toBeNull();
    // (PyTorch's from_pretrained(embeddings, freeze=False): trainable; the default freezes)
    const table = torch.randn([3, 2]);
    expect([nn.Embedding.fromPretrained(table, false).weight.requiresGrad, nn.Embedding.fromPretrained(table).weight.requiresGrad]).toEqual([true, false]);
    expect(nn.Embedding.fromPretrained(table, true, 1).paddingIdx).toBe(1);
    // a key set to undefined in the options object leaves the positional value as it is
    same(() => new nn.Conv2d(3, 4, 3, 2, { padding: 1, stride: undefined }), () => new nn.Conv2d(3, 4, 3, { stride: 2, padding: 1 }));
  });

  test('what fits neither form is a clear error, never the defaults', () => {
    const bad = (make: () => unknown, message: RegExp) => expect(make).toThrow(message);
    const loose = nn as unknown as Record<string, new (...args: unknown[]) => unknown>;
    bad(() => new loose.Linear(4, 3, { bias_: false }), /nn.Linear: unknown option 'bias_' \(did you mean bias\?\)/);
    bad(() => new loose.LayerNorm(4, { elementwise_affine: false }), /nn.LayerNorm: unknown option 'elementwise_affine' \(did you mean elementwiseAffine\?\)/);
    bad(() => new loose.Conv2d(3, 4, 3, 1, 0, 1, 1, true, 'zeros', 'cpu'), /nn.Conv2d: 7 arguments after its required ones, but it takes at most 6 \(stride, padding, dilation, groups, bias, paddingMode\)/);
    bad(() => new nn.Conv2d(3, 4, 3, 2, { stride: 1 }), /nn.Conv2d: stride is given twice, by position and in the options object/);
    bad(() => new loose.CrossEntropyLoss(null, true), /nn.CrossEntropyLoss: sizeAverage is deprecated in PyTorch and not offered here: give reduction/);
    bad(() => new loose.LSTM(4, 5, 1, true, false, 0, false, 3), /nn.LSTM: projSize 3 is not offered here \(only 0, PyTorch's default\)/);
    bad(() => new loose.MaxPool2d(2, 2, 0, 1, 'yes'), /nn.MaxPool2d: returnIndices must be true or false, got "yes"/);
    bad(() => new loose.MultiheadAttention(8, 2, 0, true, true), /nn.MultiheadAttention: addBiasKv true is not offered here/);
    bad(() => new nn.Dropout(1.5), /nn.Dropout: dropout probability has to be between 0 and 1, but got 1.5/);
    bad(() => new loose.Softmax(), /nn.Softmax: give the dim to normalize over/);
    bad(() => new loose.GaussianNLLLoss(true), /nn.GaussianNLLLoss: its options go in one object \{ full, eps, reduction \}/);
    bad(() => new loose.ConvTranspose2d(3, 4, 3, 1, 0, 0, 1, true, 1, 'reflect'), /nn.ConvTranspose2d: paddingMode "reflect" is not offered here/);
    // (PyTorch's ValueError at construction, not a failure at the first forward)
    bad(() => new nn.Conv2d(1, 1, 3, { paddingMode: 'zero' as never }), /Conv2d: paddingMode must be one of 'zeros', 'reflect', 'replicate', 'circular', got 'zero'/);
  });

  test('sequence packing, DataLoader, clipGradNorm and loadStateDict take PyTorch\'s positional arguments (against PyTorch)', () => {
    const seqs = [[1, 2, 3], [4, 5], [6]];
    const want = pythonJson<Record<string, unknown>>(`
import json, torch
from torch.nn.utils.rnn import pad_sequence, pack_padded_sequence, pad_packed_sequence, pack_sequence
seqs = [torch.tensor(s, dtype=torch.float64) for s in ${JSON.stringify(seqs)}]
padded = pad_sequence(seqs, True, -1.0)
left = torch.stack([torch.cat([torch.full((3 - len(s),), 9.0, dtype=torch.float64), s]) for s in seqs])
packed = pack_padded_sequence(padded, [3, 2, 1], True)
unsorted = pack_padded_sequence(padded.flip(0), [1, 2, 3], True, False)
back, lengths = pad_packed_sequence(unsorted, True, 0.5, 4)
ds = torch.utils.data.TensorDataset(torch.arange(10.))
batches = [b[0].tolist() for b in torch.utils.data.DataLoader(ds, 4, False, None, None, 0, None, False, True)]
w = torch.tensor([3., 4.], requires_grad=True)
(w * w).sum().backward()
norm = torch.nn.utils.clip_grad_norm_([w], 1.0, 1.0, True)
print(json.dumps({'padded': padded.tolist(), 'left': left.tolist(), 'packed': packed.data.tolist(), 'sizes': packed.batch_sizes.tolist(),
  'back': back.tolist(), 'lengths': lengths.tolist(), 'batches': batches, 'norm': norm.item(), 'grad': w.grad.tolist()}))`);
    torch.tidy(() => {
      const ts = seqs.map((s) => torch.tensor(s, { dtype: 'float64' }));
      const rnn = torch.nn.utils.rnn;
      const padded = rnn.padSequence(ts, true, -1);
      const packed = rnn.packPaddedSequence(padded, [3, 2, 1], true);
      const [back, lengths] = rnn.padPackedSequence(rnn.packPaddedSequence(padded.flip([0]), [1, 2, 3], true, false), true, 0.5, 4);
      const ds = new torch.data.TensorDataset(torch.arange(10, { dtype: 'float32' }));
      const batches = [...new torch.data.DataLoader(ds, 4, false, null, null, 0, null, false, true)].map((b) => b[0].tolist());
      const w = torch.tensor([3, 4], { dtype: 'float32', requiresGrad: true });
      w.mul(w).sum().backward();
      const norm = torch.nn.utils.clipGradNorm([w], 1, 1, true);
      expect({
        padded: padded.tolist(), left: rnn.padSequence(ts, { batchFirst: true, paddingValue: 9, paddingSide: 'left' }).tolist(), packed: packed.data.tolist(), sizes: packed.batchSizes.tolist(),
        back: back.tolist(), lengths: lengths.tolist(), batches, norm, grad: w.grad!.tolist(),
      }).toEqual(want);
    });
    // loadStateDict(sd, false): PyTorch's strict=False, given by position
    const a = new torch.nn.Linear(2, 2), b = new torch.nn.Sequential(new torch.nn.Linear(2, 2));
    const r = a.loadStateDict(b.stateDict(), false);
    expect([r.missingKeys, r.unexpectedKeys]).toEqual([['weight', 'bias'], ['0.weight', '0.bias']]);
    expect(() => a.loadStateDict(b.stateDict(), true)).toThrow(/missing|unexpected/i);
    // (strict, assign) by position as PyTorch 2's load_state_dict(sd, strict, assign): b's weight adopted as it is
    const c = new torch.nn.Linear(2, 2);
    expect(c.loadStateDict(b.get(0).stateDict(), false, true)).toEqual({ missingKeys: [], unexpectedKeys: [] });
    expect(c.weight.dataPtr()).toBe((b.get(0) as torch.nn.Linear).weight.dataPtr());
    expect(() => c.loadStateDict(b.stateDict(), { strict: true, asign: true } as object)).toThrow(/unknown option 'asign' \(did you mean assign\?\)/);
    c.dispose();
    const loose = torch.data as unknown as Record<string, new (...a: unknown[]) => unknown>;
    expect(() => new loose.DataLoader([1, 2, 3], { batch_size: 2 })).toThrow(/DataLoader: unknown option 'batch_size' \(did you mean batchSize\?\)/);
    a.dispose();
    b.dispose();
  });

  test('DataLoader(ds, null): PyTorch\'s batch_size=None yields the examples unbatched, in the sampler\'s order', () => {
    const want = pythonJson<Record<string, unknown>>(`
import json, torch
from torch.utils.data import DataLoader, TensorDataset
g = torch.Generator().manual_seed(3)
ds = TensorDataset(torch.arange(6.), torch.arange(6) * 10)
rows = [[t.tolist() for t in b] for b in DataLoader(ds, None, True, generator=g)]
class Squares(torch.utils.data.Dataset):
    def __len__(self): return 4
    def __getitem__(self, i): return i * i
doubled = [b for b in DataLoader(Squares(), batch_size=None, collate_fn=lambda x: x * 2)]
print(json.dumps({'rows': rows, 'doubled': doubled, 'len': len(DataLoader(ds, None))}))`);
    torch.tidy(() => {
      const ds = new torch.data.TensorDataset(torch.arange(6, { dtype: 'float32' }), torch.arange(6).mul(10));
      const g = new torch.Generator().manualSeed(3);
      const loader = new torch.data.DataLoader(ds, null, true, { generator: g });
      expect(loader.batchSize).toBeNull();
      const rows = [...loader].map((b) => b.map((t) => t.tolist()));
      const squares = { length: 4, get: (i: number) => i * i };
      const doubled = [...new torch.data.DataLoader<number>(squares, { batchSize: null, collateFn: (x) => (x as unknown as number) * 2 })];
      expect({ rows, doubled, len: new torch.data.DataLoader(ds, null).length }).toEqual(want);
      expect(() => new torch.data.DataLoader(ds, null, false, null, null, 0, null, false, true)).toThrow('DataLoader: batchSize null (no batching) is mutually exclusive with dropLast');
    });
  });
});

test('torch\'s in-place functional forms (torch.selu_(x), torch.dropout_(x, p, train), torch.arccos_(x), ...) overwrite x and give PyTorch\'s values', () => {
  // (float64 inputs made in Python, so that the random ones draw from the same seed on both sides)
  const want = pythonJson<Record<string, { input: number[]; output: number[] }>>(`
import json, torch
cases = {
  "selu_": lambda x: torch.selu_(x), "celu_": lambda x: torch.celu_(x, 0.5), "threshold_": lambda x: torch.threshold_(x, 0.1, -2.0),
  "rrelu_": lambda x: torch.rrelu_(x, 0.1, 0.3, True), "dropout_": lambda x: torch.dropout_(x, 0.4, True),
  "alpha_dropout_": lambda x: torch.alpha_dropout_(x, 0.3, True), "feature_alpha_dropout_": lambda x: torch.feature_alpha_dropout_(x, 0.5, True),
  "dropout_eval": lambda x: torch.dropout_(x, 0.4, False),
  "arccos_": lambda x: torch.arccos_(x.mul_(0.9).clamp_(-0.9, 0.9)), "arctanh_": lambda x: torch.arctanh_(x.clamp_(-0.9, 0.9)),
  "arcsinh_": lambda x: torch.arcsinh_(x), "negative_": lambda x: torch.negative_(x), "sinc_": lambda x: torch.sinc_(x), "i0_": lambda x: torch.i0_(x),
  "ldexp_": lambda x: torch.ldexp_(x, torch.tensor([2.0, -1.0, 0.0, 3.0, 1.0, -2.0], dtype=torch.float64).view(2, 3)),
}
out = {}
for name, f in cases.items():
    torch.manual_seed(11)
    x = torch.randn(2, 3, dtype=torch.float64)
    x0 = x.clone()
    y = f(x)
    assert y is x
    out[name] = {"input": x0.flatten().tolist(), "output": y.flatten().tolist()}
print(json.dumps(out))
`);
  const cases: Record<string, (x: torch.Tensor) => torch.Tensor> = {
    selu_: (x) => torch.selu_(x), celu_: (x) => torch.celu_(x, 0.5), threshold_: (x) => torch.threshold_(x, 0.1, -2.0),
    rrelu_: (x) => torch.rrelu_(x, 0.1, 0.3, true), dropout_: (x) => torch.dropout_(x, 0.4, true),
    alpha_dropout_: (x) => torch.alphaDropout_(x, 0.3, true), feature_alpha_dropout_: (x) => torch.featureAlphaDropout_(x, 0.5, true),
    dropout_eval: (x) => torch.dropout_(x, 0.4, false),
    arccos_: (x) => torch.arccos_(x.mul_(0.9).clamp_(-0.9, 0.9)), arctanh_: (x) => torch.arctanh_(x.clamp_(-0.9, 0.9)),
    arcsinh_: (x) => torch.arcsinh_(x), negative_: (x) => torch.negative_(x), sinc_: (x) => torch.sinc_(x), i0_: (x) => torch.i0_(x),
    ldexp_: (x) => torch.ldexp_(x, torch.tensor([2, -1, 0, 3, 1, -2], { dtype: 'float64' }).view(2, 3)),
  };
  expect(Object.keys(cases).sort()).toEqual(Object.keys(want).sort());
  for (const [name, f] of Object.entries(cases)) {
    torch.tidy(() => {
      torch.manualSeed(11);
      const x = torch.randn([2, 3], { dtype: 'float64' });
      expect([name, x.flatten().tolist()]).toEqual([name, want[name].input]);
      const y = f(x);
      expect([name, y === x]).toEqual([name, true]);
      const err = Math.max(...(y.flatten().tolist() as number[]).map((v, i) => Math.abs(v - want[name].output[i])));
      expect([name, err < 1e-12]).toEqual([name, true]);
    });
  }
  // F.rrelu(x, inplace=True), as PyTorch's, writes into x
  torch.tidy(() => {
    const x = torch.randn([4]), xs = x.clone();
    const y = torch.nn.functional.rrelu(x, { inplace: true });
    expect([y === x, torch.equal(y, xs.where(xs.ge(0), xs.mul((1 / 8 + 1 / 3) / 2)))]).toEqual([true, true]);
  });
});

test('a required argument left out is said, as Python\'s "missing required positional argument" (was "this.kernelSize is not iterable")', () => {
  const F = torch.nn.functional;
  expect(() => new (nn.Conv1d as unknown as new (...a: unknown[]) => unknown)(3)).toThrow('nn.Conv1d: give outChannels and kernelSize (by position, or by name: new nn.Conv1d({ inChannels, outChannels, kernelSize }))');
  expect(() => new (nn.Conv2d as unknown as new (...a: unknown[]) => unknown)(3, 4)).toThrow('nn.Conv2d: give kernelSize (by position');
  expect(() => new (nn.LayerNorm as unknown as new (...a: unknown[]) => unknown)()).toThrow('nn.LayerNorm: give normalizedShape');
  expect(() => new (nn.Linear as unknown as new (...a: unknown[]) => unknown)(3)).toThrow('nn.Linear: give outFeatures');
  torch.tidy(() => {
    const x = torch.ones([1, 2, 4]);
    expect(() => (F.maxPool1d as (...a: unknown[]) => unknown)(x)).toThrow('maxPool1d kernelSize: expected an integer, got nothing (it is required)');
    expect(() => (F.avgPool2d as (...a: unknown[]) => unknown)(torch.ones([1, 1, 4, 4]), 'x')).toThrow('avgPool2d kernelSize: expected an integer or 2 of them, got "x"');
    expect(F.maxPool1d(x, 2).shape).toEqual([1, 2, 2]);
    expect(new nn.Conv1d(2, 3, 2).forward(x).shape).toEqual([1, 3, 3]);
  });
});

test('layer options of the wrong type are said at construction (Linear(3, 4, \'no\') was a bias; a stride of \'2\' reached the native layer as text)', () => {
  const make = (f: () => unknown) => f;
  const cases: [() => unknown, string][] = [
    [make(() => new (nn.Linear as unknown as new (...a: unknown[]) => unknown)(3, 4, 'no')), 'nn.Linear: bias must be true or false, got "no"'],
    [make(() => new (nn.Dropout as unknown as new (...a: unknown[]) => unknown)('0.1')), 'nn.Dropout: p must be a number, got "0.1"'],
    [make(() => new (nn.LayerNorm as unknown as new (...a: unknown[]) => unknown)(4, '1e-5')), 'nn.LayerNorm: eps must be a number, got "1e-5"'],
    [make(() => new (nn.LSTM as unknown as new (...a: unknown[]) => unknown)(3, 4, { batchFirst: 1 })), 'nn.LSTM: batchFirst must be true or false, got 1'],
    [make(() => new (nn.Conv2d as unknown as new (...a: unknown[]) => unknown)(3, 4, 3, '2')), 'nn.Conv2d: stride must be an integer or 2 of them, got "2"'],
    [make(() => new (nn.Conv2d as unknown as new (...a: unknown[]) => unknown)(3, 4, [3, 3, 3])), 'nn.Conv2d: kernelSize must be an integer or 2 of them, got [3,3,3]'],
    [make(() => new (nn.ConvTranspose1d as unknown as new (...a: unknown[]) => unknown)(3, 4, 3, { outputPadding: 'x' })), 'nn.ConvTranspose1d: outputPadding must be an integer (or a list of one), got "x"'],
  ];
  for (const [f, message] of cases) expect(f).toThrow(message);
  // what PyTorch takes still builds: BatchNorm's momentum None (a cumulative average), padding 'valid'
  expect(new nn.BatchNorm1d(4, 1e-5, null).momentum).toBeNull();
  expect(new nn.Conv2d(3, 4, 3, 1, 'valid').padding).toBe('valid');
});
