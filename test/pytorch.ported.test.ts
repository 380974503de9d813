// PyTorch code ported as written: keywords as an options object, PyTorch's positional forms, and
// the in-place flags, each call checked against the same call run by PyTorch on the same numbers.
import * as torch from '../lib';
import { pythonJson } from './helpers';
import * as path from 'path';
import * as fs from 'fs';
import * as os from 'os';
import { spawnSync } from 'child_process';
import { inspect } from 'util';

const { nn } = torch;
const F = nn.functional;

afterEach(() => torch.manualSeed(0));

/** Each of our results against PyTorch's (the Python expressions, evaluated with `setup` run first), shape and values. */
function expectLikePyTorch(setup: string, calls: [string, () => torch.Tensor][], tol = 1e-6): void {
  const want = pythonJson<{ v: number[]; shape: number[]; dtype: string }[]>(`import torch, json, sys, math
import torch.nn.functional as F
import torch.nn as nn
${setup}
def run(c):
    t = eval(c)
    return {'v': t.double().flatten().tolist(), 'shape': list(t.shape), 'dtype': str(t.dtype)[6:]}
print(json.dumps([run(c) for c in json.loads(sys.argv[1])]))`, JSON.stringify(calls.map(([py]) => py)));
  torch.tidy(() => {
    calls.forEach(([py, ours], k) => {
      const t = ours();
      expect([py, t.shape, t.dtype]).toEqual([py, want[k].shape, want[k].dtype]);
      const v = t.to('float64').flatten().tolist() as number[];
      const off = Math.max(0, ...v.map((a, j) => Math.abs(a - want[k].v[j]) / Math.max(1, Math.abs(want[k].v[j]))));
      expect([py, off <= tol]).toEqual([py, true]);
    });
  });
}

const X = [[0.5, -1.25, 2, 3.5], [1, 4, -0.75, 0.25], [2.5, 0, 1.5, -2]];
const Y = [[1.5, 0.25, -2, 0.5], [-1, 2, 0.75, 1.25], [0.5, 1, -1.5, 2]];
const SETUP = `x = torch.tensor(${JSON.stringify(X)}); y = torch.tensor(${JSON.stringify(Y)})
idx = torch.tensor([[0, 3], [1, 1], [2, 0]]); cols = torch.tensor([3, 0])
img = torch.arange(2 * 4 * 3 * 3, dtype=torch.float32).reshape(2, 4, 3, 3).sin()
w4 = torch.tensor([0.5, 1.5, -1, 2]); b4 = torch.tensor([0.1, -0.2, 0.3, 0.4])`;

describe('PyTorch code ported as written', () => {
  test('joins, splits, where, einsum and dims by name (torch.cat(ts, dim=1), x.split(2, dim=1), x.gather(dim=1, index=i), x.view(torch.int32)), against PyTorch', () => {
    const x = torch.keep(torch.tensor(X)), y = torch.keep(torch.tensor(Y));
    const idx = torch.keep(torch.tensor([[0, 3], [1, 1], [2, 0]])), cols = torch.keep(torch.tensor([3, 0]));
    expectLikePyTorch(SETUP, [
      ['torch.cat([x, y], dim=1)', () => torch.cat([x, y], { dim: 1 })], ['torch.stack([x, y], dim=2)', () => torch.stack([x, y], { dim: 2 })],
      ['torch.concat([x, y], dim=-1)', () => torch.concat([x, y], { dim: -1 })], ['torch.cat([x, y])', () => torch.cat([x, y])],
      ['torch.where(x > 0)[0]', () => torch.where(x.gt(0))[0]], ['torch.where(x > 0)[1]', () => torch.where(x.gt(0))[1]],
      ['torch.where(x > 0, x, 0.0)', () => torch.where(x.gt(0), x, 0)], ['torch.where(x > 0, -1.0, y)', () => torch.where(x.gt(0), -1, y)],
      ['x.nonzero(as_tuple=True)[1]', () => x.nonzero({ asTuple: true })[1]],
      ["torch.einsum('ij,kj->ik', [x, y])", () => torch.einsum('ij,kj->ik', [x, y])], ["torch.einsum('ij,kj->ik', x, y)", () => torch.einsum('ij,kj->ik', x, y)],
      ['x.unbind(dim=1)[2]', () => x.unbind({ dim: 1 })[2]], ['x.split(3, dim=1)[1]', () => x.split(3, { dim: 1 })[1]], ['x.chunk(2, dim=1)[0]', () => x.chunk(2, { dim: 1 })[0]],
      ['x.tensor_split(3, dim=1)[2]', () => x.tensorSplit(3, { dim: 1 })[2]], ['x.tril(diagonal=-1)', () => x.tril({ diagonal: -1 })], ['x.triu(diagonal=1)', () => x.triu({ diagonal: 1 })],
      ['x.roll(1, dims=1)', () => x.roll(1, { dims: 1 })], ['x.roll(shifts=2, dims=0)', () => x.roll({ shifts: 2, dims: 0 })], ['x.roll(1)', () => x.roll(1)],
      ['x[None].movedim(source=0, destination=2)', () => x.unsqueeze(0).movedim({ source: 0, destination: 2 })], ['x.repeat_interleave(2, dim=0)', () => x.repeatInterleave(2, { dim: 0 })],
      ['x.gather(dim=1, index=idx)', () => x.gather({ dim: 1, index: idx })], ['x.gather(1, idx)', () => x.gather(1, idx)], ['x.gather(1, index=idx)', () => x.gather(1, { index: idx })],
      ['x.index_select(dim=1, index=cols)', () => x.indexSelect({ dim: 1, index: cols })], ['torch.gather(x, 1, idx)', () => torch.gather(x, 1, idx)],
      ['x.view(torch.int32)', () => x.view('int32')], ['x.view(torch.int32).view(torch.float32)', () => x.view('int32').view('float32')],
    ]);
    // allclose broadcasts and takes its tolerances by name, as PyTorch's
    const near = x.add(1e-6);
    const closeWant = pythonJson<boolean[]>(`import torch, json
x = torch.tensor(${JSON.stringify(X)}); near = x + 1e-6
print(json.dumps([torch.allclose(x, near), torch.allclose(x, near, atol=1e-9, rtol=0), torch.allclose(x, near, 0, 1e-5), torch.allclose(x[:1], x[:1].expand(3, 4))]))`);
    expect([torch.allclose(x, near), torch.allclose(x, near, { atol: 1e-9, rtol: 0 }), torch.allclose(x, near, 0, 1e-5), torch.allclose(x.index(':1'), x.index(':1').expand(3, 4)), torch.allclose(x, x.double())])
      .toEqual([...closeWant, true]);
    // (PyTorch refuses the last, float32 against float64; here they are compared in float64)
    torch.manualSeed(3);
    const drawn = torch.randint(10, [6]).tolist();
    expect(drawn).toEqual(pythonJson<number[]>('import torch, json\ntorch.manual_seed(3)\nprint(json.dumps(torch.randint(10, (6,)).tolist()))'));
    // what fits neither form is an error that says what to give
    expect(() => torch.cat([x, y], { dims: 1 } as object)).toThrow(/torch.cat: unknown option 'dims' \(did you mean dim\?\)/);
    expect(() => torch.cat(x as unknown as torch.Tensor[])).toThrow(/torch.cat: expected an array of tensors/);
    expect(() => (torch.where as (...a: unknown[]) => unknown)(x.gt(0), x)).toThrow(/torch.where: give condition alone, or condition, x and y/);
    expect(() => x.gather({ dim: 1 } as { dim: number; index: torch.Tensor })).toThrow(/Tensor.gather: give dim \(a number\) and index \(a tensor\)/);
    expect(() => x.split(2, { dims: 1 } as object)).toThrow(/Tensor.split: unknown option 'dims' \(did you mean dim\?\)/);
    expect(() => x.movedim(0)).toThrow(/Tensor.movedim: give source and destination/);
    expect(() => torch.randint(5, [2], [3] as unknown as object)).toThrow(/randint: give randint\(high, size\) or randint\(low, high, size\)/);
    for (const t of [x, y, idx, cols, near]) t.dispose();
  });

  test('F\'s activations, dropouts, norms and attention with PyTorch\'s keywords and positional forms; inplace writes into the input, as PyTorch\'s', () => {
    const x = torch.keep(torch.tensor(X)), y = torch.keep(torch.tensor(Y));
    const img = torch.keep(torch.arange(2 * 4 * 3 * 3, { dtype: 'float32' }).reshape([2, 4, 3, 3]).sin());
    const w4 = torch.keep(torch.tensor([0.5, 1.5, -1, 2])), b4 = torch.keep(torch.tensor([0.1, -0.2, 0.3, 0.4]));
    const setup = `${SETUP}
q = x.reshape(1, 3, 4); k = y.reshape(1, 3, 4); v = (x * y).reshape(1, 3, 4)
mask = torch.tensor([[True, False, True], [True, True, False], [False, True, True]])
def attention(q, k, v, mask=None, scale=None):
    s = q @ k.transpose(-2, -1) * (scale if scale is not None else 1 / math.sqrt(q.size(-1)))
    if mask is not None: s = s.masked_fill(~mask, float('-inf'))
    return s.softmax(-1) @ v
rm = torch.zeros(4); rv = torch.ones(4)`;
    const q = x.reshape([1, 3, 4]), k = y.reshape([1, 3, 4]), v = x.mul(y).reshape([1, 3, 4]);
    const mask = torch.tensor([[true, false, true], [true, true, false], [false, true, true]]);
    expectLikePyTorch(setup, [
      ['F.dropout(x, p=0.3, training=False)', () => F.dropout(x, { p: 0.3, training: false })], ['F.dropout(x, 0.3, False)', () => F.dropout(x, 0.3, false)],
      ['F.dropout2d(img, p=0.5, training=False)', () => F.dropout2d(img, { p: 0.5, training: false })], ['F.alpha_dropout(x, 0.2)', () => F.alphaDropout(x, 0.2)],
      ['F.one_hot(torch.tensor([0, 2, 1]), num_classes=4)', () => F.oneHot(torch.tensor([0, 2, 1]), { numClasses: 4 })], ['F.one_hot(torch.tensor([0, 2]))', () => F.oneHot(torch.tensor([0, 2]))],
      ['F.leaky_relu(x, negative_slope=0.2)', () => F.leakyRelu(x, { negativeSlope: 0.2 })], ['F.leaky_relu(x, 0.3)', () => F.leakyRelu(x, 0.3)],
      ['F.elu(x, alpha=0.5)', () => F.elu(x, { alpha: 0.5 })], ['F.celu(x, 2.0)', () => F.celu(x, 2)], ['F.hardtanh(x, min_val=-0.5, max_val=0.75)', () => F.hardtanh(x, { minVal: -0.5, maxVal: 0.75 })],
      ['F.relu6(x * 3)', () => F.relu6(x.mul(3))], ['F.softplus(x, beta=2, threshold=3)', () => F.softplus(x, { beta: 2, threshold: 3 })], ['F.glu(x, dim=1)', () => F.glu(x, { dim: 1 })],
      ['F.hardshrink(x, lambd=0.6)', () => F.hardshrink(x, { lambd: 0.6 })], ['F.softshrink(x, 0.6)', () => F.softshrink(x, 0.6)], ['F.threshold(x, 0.6, -9.0)', () => F.threshold(x, 0.6, -9)],
      ['F.softmin(x, dim=1)', () => F.softmin(x, { dim: 1 })], ['F.softmin(x, 0, dtype=torch.float64)', () => F.softmin(x, 0, { dtype: 'float64' })],
      ['F.cosine_similarity(x, y, dim=0)', () => F.cosineSimilarity(x, y, { dim: 0 })], ['F.pairwise_distance(x, y, p=1, keepdim=True)', () => F.pairwiseDistance(x, y, { p: 1, keepdim: true })],
      ['F.pdist(x, p=1)', () => F.pdist(x, { p: 1 })], ['F.linear(x, y, bias=w4[:3])', () => F.linear(x, y, { bias: w4.index(':3') })],
      ['F.layer_norm(x, [4], w4, eps=1e-3)', () => F.layerNorm(x, [4], w4, { eps: 1e-3 })], ['F.layer_norm(x, [4], weight=w4, bias=b4)', () => F.layerNorm(x, [4], { weight: w4, bias: b4 })],
      ['F.group_norm(img, 2, eps=1e-2)', () => F.groupNorm(img, 2, { eps: 1e-2 })], ['F.group_norm(img, 2, w4, b4)', () => F.groupNorm(img, 2, w4, b4)],
      ['F.batch_norm(x, rm.clone(), rv.clone(), w4, b4, True, 0.2)', () => F.batchNorm(x, torch.zeros([4]), torch.ones([4]), w4, b4, true, 0.2)],
      ['F.batch_norm(x, rm, rv, w4, b4)', () => F.batchNorm(x, torch.zeros([4]), torch.ones([4]), w4, b4)],
      ['F.instance_norm(img, None, None, w4, b4)', () => F.instanceNorm(img, null, null, w4, b4)], ['F.instance_norm(img, eps=0.1)', () => F.instanceNorm(img, { eps: 0.1 })],
      ['attention(q, k, v, mask)', () => F.scaledDotProductAttention(q, k, v, mask)], ['attention(q, k, v, scale=0.3)', () => F.scaledDotProductAttention(q, k, v, { scale: 0.3 })],
      ['attention(q, k, v, mask, scale=0.3)', () => F.scaledDotProductAttention(q, k, v, mask, 0, false, 0.3)],
      ['F.adaptive_max_pool2d(img, 2)', () => F.adaptiveMaxPool2d(img, 2)], ['F.adaptive_max_pool2d(img, 2, return_indices=True)[1]', () => F.adaptiveMaxPool2dWithIndices(img, 2).indices],
      ['torch.adaptive_max_pool1d(x[None], 2)[1]', () => torch.adaptiveMaxPool1d(x.unsqueeze(0), 2).indices],
    ], 1e-5);
    // dropout in training draws as PyTorch's does (the same generator, the same mask)
    torch.manualSeed(5);
    const dropped = F.dropout(x, { p: 0.4 });
    expect(dropped.tolist()).toEqual(pythonJson(`import torch, json
import torch.nn.functional as F
x = torch.tensor(${JSON.stringify(X)}); torch.manual_seed(5)
print(json.dumps(F.dropout(x, p=0.4).tolist()))`));
    // inplace: the input itself is overwritten and returned (F.relu(x, inplace=True))
    const inplaceWant = pythonJson<number[][][]>(`import torch, json
import torch.nn.functional as F
x = torch.tensor(${JSON.stringify(X)})
out = []
for f in [lambda t: F.relu(t, inplace=True), lambda t: F.leaky_relu(t, 0.2, True), lambda t: F.elu(t, inplace=True), lambda t: F.hardtanh(t, -1.0, 1.0, True),
          lambda t: F.threshold(t, 0.6, 0.0, True), lambda t: F.silu(t, inplace=True), lambda t: F.relu6(t, inplace=True), lambda t: F.dropout(t, 0.5, False, True)]:
    c = x.clone(); r = f(c); assert r is c; out.append(c.tolist())
print(json.dumps(out))`);
    const inplace: ((t: torch.Tensor) => torch.Tensor)[] = [(t) => F.relu(t, { inplace: true }), (t) => F.leakyRelu(t, 0.2, true), (t) => F.elu(t, { inplace: true }), (t) => F.hardtanh(t, -1, 1, true),
      (t) => F.threshold(t, 0.6, 0, true), (t) => F.silu(t, { inplace: true }), (t) => F.relu6(t, true), (t) => F.dropout(t, 0.5, false, true)];
    inplace.forEach((f, i) => {
      const c = x.clone();
      expect(f(c)).toBe(c);
      const got = c.tolist() as number[][];
      got.flat().forEach((a, j) => expect(Math.abs(a - inplaceWant[i].flat()[j])).toBeLessThan(1e-6));
    });
    // and what PyTorch would refuse, or what fits no form, is an error
    expect(() => F.dropout(x, { p: 1.5 })).toThrow('dropout: p must be in [0, 1], got 1.5');
    expect(() => F.dropout(x, { prob: 0.5 } as object)).toThrow(/dropout: unknown option 'prob' \(it takes p, training, inplace\)/);
    expect(() => (F.softmin as (...a: unknown[]) => unknown)(x)).toThrow(/softmin: give the dim/);
    expect(() => F.leakyRelu(x, { negative_slope: 0.2 } as object)).toThrow(/did you mean negativeSlope\?/);
    expect(() => F.gelu(x, { approx: 'tanh' } as object)).toThrow(/gelu: unknown option 'approx'/);
    expect(() => F.scaledDotProductAttention(q, k, v, { is_causal: true } as object)).toThrow(/did you mean isCausal\?/);
    expect(() => F.tripletMarginWithDistanceLoss(x, y, x, { margn: 1 } as object)).toThrow(/unknown option 'margn'/);
    for (const t of [x, y, img, w4, b4]) t.dispose();
  });

  test('layers\' inplace as PyTorch\'s (nn.ReLU(inplace=True), nn.Dropout(0.1, inplace=True), ...): forward writes into its input and returns it; outputs and gradients against PyTorch', () => {
    // Each layer after a Linear (as in a real model: in place on the Linear's output, which autograd allows)
    const layers: [string, () => torch.nn.Module][] = [
      ['nn.ReLU(inplace=True)', () => new nn.ReLU({ inplace: true })], ['nn.ReLU(True)', () => new nn.ReLU(true)],
      ['nn.ReLU6(inplace=True)', () => new nn.ReLU6(true)], ['nn.SELU(True)', () => new nn.SELU(true)], ['nn.SiLU(inplace=True)', () => new nn.SiLU({ inplace: true })],
      ['nn.Mish(True)', () => new nn.Mish(true)], ['nn.Hardswish(True)', () => new nn.Hardswish(true)], ['nn.Hardsigmoid(True)', () => new nn.Hardsigmoid(true)],
      ['nn.LeakyReLU(0.2, True)', () => new nn.LeakyReLU(0.2, true)], ['nn.LeakyReLU(negative_slope=0.3, inplace=True)', () => new nn.LeakyReLU({ negativeSlope: 0.3, inplace: true })],
      ['nn.ELU(0.5, inplace=True)', () => new nn.ELU(0.5, { inplace: true })], ['nn.CELU(2.0, True)', () => new nn.CELU(2, true)],
      ['nn.Hardtanh(-0.5, 0.75, True)', () => new nn.Hardtanh(-0.5, 0.75, true)], ['nn.Threshold(0.1, -2.0, True)', () => new nn.Threshold(0.1, -2, true)],
      ['nn.Dropout(0.3, inplace=True).eval()', () => new nn.Dropout(0.3, { inplace: true }).eval()],
      ['nn.Dropout(0.0, True)', () => new nn.Dropout(0, true)], ['nn.AlphaDropout(0.2, True).eval()', () => new nn.AlphaDropout(0.2, true).eval()],
    ];
    const want = pythonJson<{ y: number[]; g: number[]; same: boolean; repr: string }[]>(`import torch, json
import torch.nn as nn
out = []
for layer in [${layers.map(([py]) => py).join(', ')}]:
    torch.manual_seed(0)
    lin = nn.Linear(4, 3)
    x = torch.tensor(${JSON.stringify(X)})
    h = lin(x)
    y = layer(h)
    (y * torch.arange(1.0, 10.0).reshape(3, 3)).sum().backward()
    out.append({'y': y.detach().flatten().tolist(), 'g': lin.weight.grad.flatten().tolist(), 'same': y is h, 'repr': repr(layer)})
print(json.dumps(out))`);
    layers.forEach(([py, make], i) => torch.tidy(() => {
      torch.manualSeed(0);
      const lin = new nn.Linear(4, 3), layer = make();
      const h = lin.forward(torch.tensor(X));
      const y = layer.forward(h) as torch.Tensor;
      y.mul(torch.arange(1, 10).reshape([3, 3])).sum().backward();
      const close = (a: number[], b: number[]) => a.length === b.length && a.every((v, j) => Math.abs(v - b[j]) <= 1e-5 * Math.max(1, Math.abs(b[j])));
      expect([py, y === h, close(y.detach().flatten().tolist() as number[], want[i].y), close(lin.weight.grad!.flatten().tolist() as number[], want[i].g)])
        .toEqual([py, want[i].same, true, true]);
      // where PyTorch's repr says inplace=True, ours does, in our spelling (ours says it for Hardswish and Hardsigmoid too)
      expect([py, String(layer).includes('inplace=true')]).toEqual([py, want[i].repr.includes('inplace=True') || /Hard(swish|sigmoid)/.test(py)]);
    }));
    // and without inplace the input is left as it was
    const h = torch.tensor(X), before = h.tolist();
    const y = new nn.ReLU().forward(h);
    expect([y === h, h.tolist()]).toEqual([false, before]);
    expect(() => new nn.ReLU({ in_place: true } as object)).toThrow(/nn.ReLU: unknown option 'in_place' \(did you mean inplace\?\)/);
    h.dispose();
    y.dispose();
  });

  test('alpha and value by name, sum / mean / cumsum with a dtype, masked_fill with a tensor, torch.pow(2, x), meshgrid\'s keyword, histc, against PyTorch', () => {
    const x = torch.keep(torch.tensor(X)), y = torch.keep(torch.tensor(Y));
    const xi = torch.keep(torch.tensor([[1, 2, 3], [4, 5, 6]], { dtype: 'int32' }));
    const setup = `${SETUP}
xi = torch.tensor([[1, 2, 3], [4, 5, 6]], dtype=torch.int32)
p = x.clone(); p.add_(y, alpha=-0.1); p.sub_(x, alpha=0.5); p.addcmul_(x, y, value=0.25); p.addcdiv_(x, y.abs() + 1, value=-2)`;
    expectLikePyTorch(setup, [
      ['x.add(y, alpha=2)', () => x.add(y, { alpha: 2 })], ['x.sub(y, alpha=0.5)', () => x.sub(y, { alpha: 0.5 })], ['torch.add(x, y, alpha=-3)', () => torch.add(x, y, { alpha: -3 })],
      ['x.add(1.5, alpha=2)', () => x.add(1.5, { alpha: 2 })], ['x.addcmul(x, y, value=0.5)', () => x.addcmul(x, y, { value: 0.5 })], ['x.addcdiv(x, y.abs() + 1, value=2)', () => x.addcdiv(x, y.abs().add(1), { value: 2 })],
      ['p', () => x.clone().add_(y, { alpha: -0.1 }).sub_(x, { alpha: 0.5 }).addcmul_(x, y, { value: 0.25 }).addcdiv_(x, y.abs().add(1), { value: -2 })],
      ['xi.sum(dtype=torch.float64)', () => xi.sum({ dtype: 'float64' })], ['xi.sum(1, dtype=torch.float64)', () => xi.sum(1, { dtype: 'float64' })], ['xi.sum()', () => xi.sum()],
      ['xi.mean(dim=1, dtype=torch.float64)', () => xi.mean({ dim: 1, dtype: 'float64' })], ['x.mean(0, keepdim=True, dtype=torch.float64)', () => x.mean(0, { keepdim: true, dtype: 'float64' })],
      ['xi.prod(1, dtype=torch.float32)', () => xi.prod(1, { dtype: 'float32' })], ['xi.cumsum(0, dtype=torch.float64)', () => xi.cumsum(0, { dtype: 'float64' })], ['xi.cumprod(dim=1)', () => xi.cumprod({ dim: 1 })],
      ['torch.cumsum(xi, dim=1, dtype=torch.float32)', () => torch.cumsum(xi, { dim: 1, dtype: 'float32' })], ['x.nansum(dtype=torch.float64)', () => x.nansum({ dtype: 'float64' })],
      ['x.masked_fill(x > 1, torch.tensor(-7.0))', () => x.maskedFill(x.gt(1), torch.tensor(-7))], ['torch.pow(2, x)', () => torch.pow(2, x)], ['torch.pow(x, 2)', () => torch.pow(x, 2)],
      ["torch.meshgrid(torch.arange(2), torch.arange(3), indexing='xy')[1]", () => torch.meshgrid(torch.arange(2), torch.arange(3), { indexing: 'xy' })[1]],
      ["torch.meshgrid([torch.arange(2), torch.arange(3)], indexing='ij')[0]", () => torch.meshgrid([torch.arange(2), torch.arange(3)], { indexing: 'ij' })[0]],
      ['x.histc(bins=4, min=-2, max=4)', () => x.histc({ bins: 4, min: -2, max: 4 })], ['x.histc(3)', () => x.histc(3)],
    ]);
    // masked_fill's tensor value gets its gradient, as PyTorch's
    const v = torch.tensor(2.5, { requiresGrad: true });
    x.maskedFill(x.gt(1), v).mul(y).sum().backward();
    expect(v.grad!.item()).toBeCloseTo(pythonJson<number>(`import torch, json
x = torch.tensor(${JSON.stringify(X)}); y = torch.tensor(${JSON.stringify(Y)}); v = torch.tensor(2.5, requires_grad=True)
x.masked_fill(x > 1, v).mul(y).sum().backward(); print(json.dumps(v.grad.item()))`), 6);
    // whole numbers asked to require grad are floats (JS has no 1.0), where PyTorch's int64 would be refused
    const w = torch.tensor([1, 2], { requiresGrad: true });
    expect([w.dtype, w.requiresGrad]).toEqual(['float32', true]);
    expect(() => torch.tensor([1, 2], { dtype: 'int64', requiresGrad: true })).toThrow(/only floating-point and complex tensors can require gradients/);
    // torch.device, torch.autocast('cpu', fn), torch.utils.data, ModuleList.extend / insert
    expect([torch.device('cuda', 1), torch.device('cuda:0'), torch.device('cpu')]).toEqual(['cuda:1', 'cuda:0', 'cpu']);
    expect(() => torch.device('tpu')).toThrow(/unknown device 'tpu'/);
    expect(torch.autocast('cpu', () => torch.tidy(() => x.matmul(y.t()).dtype))).toBe('bfloat16');
    expect(torch.autocast('cpu', { enabled: false }, () => torch.tidy(() => x.matmul(y.t()).dtype))).toBe('float32');
    expect(() => (torch.autocast as (...a: unknown[]) => unknown)('cpu', { dtype: 'bfloat16' })).toThrow(/autocast: give the function to run/);
    expect(torch.utils.data.DataLoader).toBe(torch.data.DataLoader);
    const [a, b, c] = [new nn.Linear(1, 1), new nn.Linear(1, 2), new nn.Linear(1, 3)];
    const list = new nn.ModuleList([a]).extend([c]);
    list.insert(1, b);
    expect([...list].map((m) => m.outFeatures)).toEqual([1, 2, 3]);
    expect([...list.namedParameters()].map(([n]) => n)).toEqual(['0.weight', '0.bias', '1.weight', '1.bias', '2.weight', '2.bias']);
    expect(list.get(1)).toBe(b);
    expect(() => x.add(y, { alfa: 2 } as object)).toThrow(/Tensor.add: unknown option 'alfa' \(it takes alpha\)/);
    expect(() => xi.max({ dim: 0, dtype: 'float64' } as unknown as number)).toThrow(/Tensor.max: unknown option 'dtype'/);
    expect(() => (torch.pow as (...a: unknown[]) => unknown)(2, 3)).toThrow(/torch.pow: give a tensor as the base or the exponent/);
    for (const t of [x, y, xi]) t.dispose();
  });

  test('required arguments by name (linspace(steps=5), multinomial(num_samples=1), topk(k=2), max_pool2d(kernel_size=2)), tensor bounds, stable sort, norms, against PyTorch', () => {
    const x = torch.keep(torch.tensor(X)), y = torch.keep(torch.tensor(Y));
    const img = torch.keep(torch.arange(2 * 4 * 3 * 3, { dtype: 'float32' }).reshape([2, 4, 3, 3]).sin());
    const ties = torch.keep(torch.tensor([2, 1, 2, 1, 2, 0, 1]));
    expectLikePyTorch(`${SETUP}
ties = torch.tensor([2, 1, 2, 1, 2, 0, 1])`, [
      ['torch.linspace(0, 1, steps=5)', () => torch.linspace(0, 1, { steps: 5 })], ['torch.linspace(-1, 1, steps=3, dtype=torch.float64)', () => torch.linspace(-1, 1, { steps: 3, dtype: 'float64' })],
      ['torch.logspace(0, 2, steps=3, base=2)', () => torch.logspace(0, 2, { steps: 3, base: 2 })], ['torch.logspace(0, 2, 3, base=2)', () => torch.logspace(0, 2, 3, { base: 2 })],
      ['x.topk(k=2).values', () => x.topk({ k: 2 }).values], ['x.topk(k=2, dim=0, largest=False).indices', () => x.topk({ k: 2, dim: 0, largest: false }).indices],
      ['x.clamp(min=y)', () => x.clamp({ min: y })], ['x.clamp(y, torch.tensor(1.0))', () => x.clamp(y, 1)], ['torch.clamp(x, max=y[0])', () => torch.clamp(x, { max: y.index(0) })],
      ['x.max(y)', () => x.max(y)], ['torch.min(x, y)', () => torch.min(x, y)],
      ['ties.sort(stable=True).indices', () => ties.sort({ stable: true }).indices], ['ties.sort(descending=True, stable=True).indices', () => ties.sort({ descending: true, stable: true }).indices],
      // (PyTorch 2's squeeze((0, 2)), one dim at a time in 1.13)
      ['x[None, :, None].squeeze(2).squeeze(0)', () => x.unsqueeze(0).unsqueeze(2).squeeze([0, 2])], ['x[None, :, None].squeeze(-2)', () => x.unsqueeze(0).unsqueeze(2).squeeze([-2])],
      ['F.max_pool2d(img, kernel_size=2, stride=1)', () => F.maxPool2d(img, { kernelSize: 2, stride: 1 })], ['F.avg_pool2d(img, kernel_size=2, padding=1)', () => F.avgPool2d(img, { kernelSize: 2, padding: 1 })],
      ['F.max_pool1d(x[None], kernel_size=2)', () => F.maxPool1d(x.unsqueeze(0), { kernelSize: 2 })], ['F.max_pool2d(img, kernel_size=2, return_indices=True)[1]', () => F.maxPool2dWithIndices(img, { kernelSize: 2 }).indices],
      ["x.norm(p='fro')", () => x.norm({ p: 'fro' })], ["x.norm('nuc')", () => x.norm('nuc')], ["x.norm('fro', dim=1)", () => x.norm('fro', { dim: 1 })],
      ['torch.linalg.norm(x, dim=1)', () => torch.linalg.norm(x, { dim: 1 })], ['torch.linalg.norm(x, ord=1, dim=(0, 1), keepdim=True)', () => torch.linalg.norm(x, { ord: 1, dim: [0, 1], keepdim: true })],
      ['torch.linalg.vector_norm(x, ord=1, dim=-1)', () => torch.linalg.vectorNorm(x, { ord: 1, dim: -1 })], ['torch.linalg.vector_norm(x, 3, 0, True, dtype=torch.float64)', () => torch.linalg.vectorNorm(x, 3, 0, true, 'float64')],
      ["torch.linalg.matrix_norm(img, ord='fro', dim=(1, 2))", () => torch.linalg.matrixNorm(img, { ord: 'fro', dim: [1, 2] })], ["torch.linalg.matrix_norm(img, 'nuc', (-2, -1), True)", () => torch.linalg.matrixNorm(img, 'nuc', [-2, -1], true)],
    ], 1e-5);
    // multinomial's numSamples by name draws what PyTorch draws
    torch.manualSeed(9);
    const drawn = x.softmax(-1).multinomial({ numSamples: 3, replacement: true }).tolist();
    expect(drawn).toEqual(pythonJson(`import torch, json
x = torch.tensor(${JSON.stringify(X)}); torch.manual_seed(9)
print(json.dumps(torch.multinomial(x.softmax(-1), num_samples=3, replacement=True).tolist()))`));
    expect(() => torch.linspace(0, 1, { step: 5 } as unknown as number)).toThrow(/linspace: give steps/);
    expect(() => x.topk({ dim: 0 } as unknown as number)).toThrow(/Tensor.topk: give k/);
    expect(() => F.maxPool2d(img, { stride: 1 } as unknown as number)).toThrow(/maxPool2d: give kernelSize/);
    expect(() => x.norm('frob' as 'fro')).toThrow(/Tensor.norm: p must be a number, 'fro' or 'nuc'/);
    expect(() => torch.linalg.matrixNorm(img, 'fro', [1])).toThrow(/linalg.matrixNorm: dim must be two dims/);
    expect(() => x.add(undefined as unknown as torch.Tensor)).toThrow('tstorch: expected a Tensor, got undefined');
    for (const t of [x, y, img, ties]) t.dispose();
  });

  test('layers with every argument by name (nn.LSTM(input_size=4, hidden_size=5), nn.Conv2d(in_channels=3, ...)) get PyTorch\'s weights from the same seed', () => {
    const calls: [string, () => torch.nn.Module][] = [
      ['nn.Linear(in_features=4, out_features=3)', () => new nn.Linear({ inFeatures: 4, outFeatures: 3 })],
      ['nn.Linear(4, out_features=3, bias=False)', () => new nn.Linear(4, { outFeatures: 3, bias: false } as unknown as number)],
      ['nn.Conv2d(in_channels=2, out_channels=3, kernel_size=3, padding=1)', () => new nn.Conv2d({ inChannels: 2, outChannels: 3, kernelSize: 3, padding: 1 })],
      ['nn.Conv1d(2, 3, kernel_size=2)', () => new nn.Conv1d(2, 3, { kernelSize: 2 } as unknown as number)],
      ['nn.Embedding(num_embeddings=6, embedding_dim=3, padding_idx=0)', () => new nn.Embedding({ numEmbeddings: 6, embeddingDim: 3, paddingIdx: 0 })],
      ['nn.LSTM(input_size=3, hidden_size=4, num_layers=2, batch_first=True)', () => new nn.LSTM({ inputSize: 3, hiddenSize: 4, numLayers: 2, batchFirst: true })],
      ['nn.GRU(input_size=3, hidden_size=2)', () => new nn.GRU({ inputSize: 3, hiddenSize: 2 })], ["nn.RNN(input_size=3, hidden_size=2, nonlinearity='relu')", () => new nn.RNN({ inputSize: 3, hiddenSize: 2, nonlinearity: 'relu' })],
      ['nn.LayerNorm(normalized_shape=4, eps=1e-3)', () => new nn.LayerNorm({ normalizedShape: 4, eps: 1e-3 })],
      ['nn.BatchNorm1d(num_features=3, momentum=0.2)', () => new nn.BatchNorm1d({ numFeatures: 3, momentum: 0.2 })], ['nn.GroupNorm(num_groups=2, num_channels=4)', () => new nn.GroupNorm({ numGroups: 2, numChannels: 4 })],
      ['nn.InstanceNorm1d(num_features=3, affine=True)', () => new nn.InstanceNorm1d({ numFeatures: 3, affine: true })],
      ['nn.MultiheadAttention(embed_dim=4, num_heads=2, batch_first=True)', () => new nn.MultiheadAttention({ embedDim: 4, numHeads: 2, batchFirst: true })],
      ['nn.TransformerEncoderLayer(d_model=4, nhead=2, dim_feedforward=8)', () => new nn.TransformerEncoderLayer({ dModel: 4, nhead: 2, dimFeedforward: 8 })],
      ['nn.TransformerEncoder(nn.TransformerEncoderLayer(4, 2, 8), num_layers=2)', () => new nn.TransformerEncoder(new nn.TransformerEncoderLayer(4, 2, 8), { numLayers: 2 } as unknown as number)],
      ['nn.ConvTranspose2d(in_channels=2, out_channels=3, kernel_size=2, stride=2)', () => new nn.ConvTranspose2d({ inChannels: 2, outChannels: 3, kernelSize: 2, stride: 2 })],
      ['nn.LSTMCell(input_size=3, hidden_size=2)', () => new nn.LSTMCell({ inputSize: 3, hiddenSize: 2 })], ['nn.GRUCell(input_size=3, hidden_size=2, bias=False)', () => new nn.GRUCell({ inputSize: 3, hiddenSize: 2, bias: false })],
      ["nn.EmbeddingBag(num_embeddings=5, embedding_dim=2, mode='sum')", () => new nn.EmbeddingBag({ numEmbeddings: 5, embeddingDim: 2, mode: 'sum' })],
      ['nn.Bilinear(in1_features=2, in2_features=3, out_features=2)', () => new nn.Bilinear({ in1Features: 2, in2Features: 3, outFeatures: 2 })],
    ];
    const want = pythonJson<{ names: string[]; values: number[] }[]>(`import torch, json, sys
import torch.nn as nn
out = []
for c in json.loads(sys.argv[1]):
    torch.manual_seed(4); m = eval(c); sd = m.state_dict()
    out.append({'names': list(sd.keys()), 'values': [float(v) for t in sd.values() for v in t.flatten().tolist()]})
print(json.dumps(out))`, JSON.stringify(calls.map(([py]) => py)));
    calls.forEach(([py, make], k) => {
      torch.manualSeed(4);
      const m = make();
      const sd = m.stateDict();
      expect([py, [...sd.keys()]]).toEqual([py, want[k].names]);
      const values = [...sd.values()].flatMap((t) => t.flatten().tolist() as number[]);
      const off = Math.max(...values.map((a, j) => Math.abs(a - want[k].values[j])));
      expect([py, values.length, off < 1e-6]).toEqual([py, want[k].values.length, true]);
      m.dispose();
    });
    // the layers' optional arguments by name, where they took none before
    const x = torch.tensor(X), y = torch.tensor(Y);
    expect(new nn.CosineSimilarity({ dim: 0 }).forward(x, y).equal(F.cosineSimilarity(x, y, 0))).toBe(true);
    expect(new nn.PairwiseDistance({ p: 1, keepdim: true }).forward(x, y).equal(F.pairwiseDistance(x, y, 1, 1e-6, true))).toBe(true);
    expect(new nn.Flatten({ startDim: 0 }).forward(x).shape).toEqual([12]);
    expect(new nn.MaxPool1d({ kernelSize: 2 }).forward(x.unsqueeze(0)).equal(F.maxPool1d(x.unsqueeze(0), 2))).toBe(true);
    expect(new nn.AdaptiveAvgPool1d({ outputSize: 2 }).forward(x.unsqueeze(0)).equal(F.adaptiveAvgPool1d(x.unsqueeze(0), 2))).toBe(true);
    expect(new nn.AdaptiveMaxPool1d({ outputSize: 2 }).forward(x.unsqueeze(0)).equal(F.adaptiveMaxPool1d(x.unsqueeze(0), 2))).toBe(true);
    expect(new nn.ConstantPad1d({ padding: 1, value: 3 }).forward(x).equal(F.pad(x, [1, 1], { value: 3 }))).toBe(true);
    expect(new nn.ReflectionPad1d({ padding: 1 }).forward(x.unsqueeze(0)).equal(F.pad(x.unsqueeze(0), [1, 1], 'reflect'))).toBe(true);
    expect(new nn.PixelShuffle({ upscaleFactor: 2 }).upscaleFactor).toBe(2);
    expect(new nn.Unflatten({ dim: 1, unflattenedSize: [2, 2] }).forward(x).shape).toEqual([3, 2, 2]);
    expect(nn.Embedding.fromPretrained({ embeddings: y, freeze: false }).weight.equal(y)).toBe(true);
    expect(new nn.MaxPool3d({ kernelSize: 2 }).kernelSize).toBe(2);
    // (an encoder of 'two' layers was quietly one of none)
    expect(() => new nn.TransformerEncoder(new nn.TransformerEncoderLayer(4, 2, 8), 'two' as unknown as number)).toThrow('nn.TransformerEncoder: numLayers must be a whole number >= 0, got two');
    expect(() => new nn.ConstantPad1d({ padding: 1 } as { padding: number; value: number })).toThrow('nn.ConstantPad1d: give value (the number padded in)');
    expect(() => new nn.LSTM({ input_size: 4, hidden_size: 5 } as unknown as number, 5)).toThrow(/nn.LSTM: an options object goes last/);
    expect(() => new nn.LSTM({ input_size: 4, hidden_size: 5 } as unknown as { inputSize: number; hiddenSize: number })).toThrow("nn.LSTM: give inputSize and hiddenSize (by position, or by name: new nn.LSTM({ inputSize, hiddenSize })); 'input_size' is PyTorch's spelling");
    expect(() => new nn.Linear({ inFeatures: 3 } as { inFeatures: number; outFeatures: number })).toThrow(/nn.Linear: give outFeatures/);
    expect(() => new nn.Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 3, padding_mode: 'reflect' } as object as { inChannels: number; outChannels: number; kernelSize: number })).toThrow(/did you mean paddingMode\?/);
  });

  test('sizes, shapes and factories by name (x.reshape(shape=(4, 3)), torch.zeros(size=(2, 3)), torch.arange(start=1, end=7, step=2), x.new_zeros(2, 3)), against PyTorch', () => {
    const x = torch.keep(torch.tensor(X)), y = torch.keep(torch.tensor(Y));
    const idx = torch.keep(torch.tensor([[0], [3], [1]]));
    expectLikePyTorch(`${SETUP}\nidx1 = torch.tensor([[0], [3], [1]])`, [
      ['x.view(size=(4, 3))', () => x.view({ size: [4, 3] })], ['x.reshape(shape=(2, -1))', () => x.reshape({ shape: [2, -1] })],
      ['x.permute(dims=(1, 0))', () => x.permute({ dims: [1, 0] })], ['x[None].expand(size=(2, 3, 4))', () => x.unsqueeze(0).expand({ size: [2, 3, 4] })],
      ['x.repeat(repeats=(2, 1))', () => x.repeat({ repeats: [2, 1] })], ['x.flip(dims=(0,))', () => x.flip({ dims: [0] })], ['x.tile(dims=(2,))', () => x.tile({ dims: [2] })],
      ['torch.zeros(size=(2, 3))', () => torch.zeros({ size: [2, 3] })], ['torch.ones(size=(2,), dtype=torch.float64)', () => torch.ones({ size: [2], dtype: 'float64' })],
      ['torch.full(size=(2, 2), fill_value=7.5)', () => torch.full({ size: [2, 2], fillValue: 7.5 })], ['torch.full((2,), 3.0)', () => torch.full([2], 3)], // (JS's 3 is also 3.0: float, unless a dtype is given)
      ['torch.eye(3, dtype=torch.bool)', () => torch.eye(3, { dtype: 'bool' })], ['torch.eye(2, 3, dtype=torch.float64)', () => torch.eye(2, 3, { dtype: 'float64' })],
      ['torch.arange(start=1, end=7, step=2)', () => torch.arange({ start: 1, end: 7, step: 2 })], ['torch.arange(end=4, dtype=torch.float64)', () => torch.arange({ end: 4, dtype: 'float64' })],
      ['x.new_zeros(2, 3)', () => x.newZeros(2, 3)], ['x.new_ones(size=(3,), dtype=torch.int64)', () => x.newOnes({ size: [3], dtype: 'int64' })], ['x.new_ones((2,), dtype=torch.bool)', () => x.newOnes([2], { dtype: 'bool' })],
      ['x.narrow(dim=1, start=1, length=2)', () => x.narrow({ dim: 1, start: 1, length: 2 })], ['x.select(dim=1, index=3)', () => x.select({ dim: 1, index: 3 })],
      ['x.scatter(dim=1, index=idx1, value=5.0)', () => x.scatter({ dim: 1, index: idx, value: 5 })], ['x.scatter(dim=1, index=idx1, src=y)', () => x.scatter({ dim: 1, index: idx, src: y })],
      ['torch.tensordot(x, y, dims=([1], [1]))', () => torch.tensordot(x, y, { dims: [[1], [1]] })], ['torch.tensordot(x, y.T, 1)', () => torch.tensordot(x, y.T, 1)],
      ['torch.cdist(x, y, p=1)', () => torch.cdist(x, y, { p: 1 })], ['torch.cdist(x, y)', () => torch.cdist(x, y)],
    ]);
    // PyTorch 2.1's itemsize and nbytes (numel × element_size)
    const sizes = pythonJson<number[]>(`import torch, json\nx = torch.zeros(3, 4)\nprint(json.dumps([x.element_size(), x.numel() * x.element_size(), x.t().double().numel() * 8]))`);
    expect([x.itemsize, x.nbytes, x.t().double().nbytes]).toEqual(sizes);
    expect(() => x.reshape({ shap: [12] } as unknown as number[])).toThrow("Tensor.reshape: unknown option 'shap' (did you mean shape?)");
    expect(() => torch.arange({ start: 1 } as unknown as { end: number })).toThrow(/arange: give end/);
    expect(() => torch.arange('5' as unknown as number)).toThrow('arange: start, end and step must be numbers, got 0, "5", 1');
    expect(() => (torch.full as (...a: unknown[]) => unknown)([2])).toThrow(/full: give the size \(an array\) and the value/);
    expect(() => x.narrow({ dim: 1, start: 1 } as { dim: number; start: number; length: number })).toThrow('Tensor.narrow: give length (numbers), by position or by name: narrow({ dim, start, length })');
    expect(() => x.scatter({ dim: 1, index: idx } as { dim: number; index: torch.Tensor })).toThrow(/Tensor.scatter: give dim, index and one of src/);
    expect(() => torch.tensordot(x, y, { dims: [1, 1] as unknown as [number[], number[]] })).toThrow(/tensordot: dims is a number .* or two arrays of dims/);
    expect(() => x.newZeros({ size: [2], dtyp: 'float32' } as unknown as number[])).toThrow(/Tensor.newZeros: unknown option 'dtyp'/);
    // (one size as a number, as nn.LayerNorm(4) takes it; what is neither says what it got, not "An array was expected")
    expect(F.layerNorm(x, 4).equal(F.layerNorm(x, [4]))).toBe(true);
    expect(() => F.layerNorm(x, '4' as unknown as number)).toThrow('tstorch: expected a list of sizes or dims (an array such as [2, 3]), got a string "4"');
    expect(() => x.renorm({ p: 2 } as unknown as number, 0, 1)).toThrow('tstorch: expected a number (or a boolean) as a scalar, got an object (an options object where a number goes?)');
    for (const t of [x, y, idx]) t.dispose();
  });

  test('list indices (x[:, [-1]], x[[0, 2]], x[[True, False, True]]), torch.frombuffer, typed arrays without a libtorch dtype, autocast by name, against PyTorch', () => {
    const x = torch.keep(torch.tensor(X));
    const bytes = Buffer.from([...Array(16).keys()].map((k) => (k * 37) % 256));
    const floats = Buffer.from(new Float32Array([1.5, -2, 3, 0.25]).buffer);
    const live = torch.memory().liveTensors;
    expectLikePyTorch(`${SETUP}
cl = x.clone(); cl[:, [0, 2]] = -1.0
b = bytearray(${JSON.stringify([...bytes])}); f = bytearray(${JSON.stringify([...floats])})
with torch.autocast(device_type='cpu', dtype=torch.bfloat16):
    ac = x @ x.T`, [
      ['x[:, [-1]]', () => x.index(':', [-1])], ['x[[0, 2]]', () => x.index([0, 2])], ['x[[True, False, True]]', () => x.index([true, false, true])],
      ['x[[0, 2], [1, 3]]', () => x.index([0, 2], [1, 3])], ['x[:, [[0, 1], [2, 3]]]', () => x.index(':', [[0, 1], [2, 3]])], ['x[..., [1]]', () => x.index('...', [1])],
      ['cl', () => x.clone().indexPut_([':', [0, 2]], -1)],
      ['torch.frombuffer(b, dtype=torch.int16, count=3, offset=2)', () => torch.frombuffer(bytes, { dtype: 'int16', count: 3, offset: 2 })],
      ['torch.frombuffer(b, dtype=torch.int32)', () => torch.frombuffer(bytes, { dtype: 'int32' })], ['torch.frombuffer(b, dtype=torch.uint8, offset=15)', () => torch.frombuffer(bytes, { dtype: 'uint8', offset: 15 })],
      ['torch.frombuffer(f, dtype=torch.float32)', () => torch.frombuffer(floats, { dtype: 'float32' })], ['torch.frombuffer(b, dtype=torch.float16, count=2)', () => torch.frombuffer(bytes, { dtype: 'float16', count: 2 })],
      ['torch.frombuffer(b, dtype=torch.bfloat16, count=2, offset=4)', () => torch.frombuffer(bytes, { dtype: 'bfloat16', count: 2, offset: 4 })],
      ["ac  # with torch.autocast(device_type='cpu', dtype=torch.bfloat16): x @ x.T", () => torch.autocast({ deviceType: 'cpu', dtype: 'bfloat16' }, () => x.matmul(x.T))],
    ], 1e-6);
    expect(torch.memory().liveTensors).toBe(live); // (a list index's tensor is freed after the call)
    // typed arrays libtorch 1.13 has no dtype for: each value kept, in the smallest signed dtype holding them all
    const u16 = torch.tensor(new Uint16Array([1, 2, 65535])), u32 = torch.tensor(new Uint32Array([0, 4294967295])), clamped = torch.tensor(new Uint8ClampedArray([3, 255]));
    expect([u16.dtype, u16.tolist(), u32.dtype, u32.tolist(), clamped.dtype, clamped.tolist()]).toEqual(['int32', [1, 2, 65535], 'int64', [0, 4294967295], 'uint8', [3, 255]]);
    for (const t of [u16, u32, clamped]) t.dispose();
    expect(() => x.index([0.5])).toThrow('index: position 0 is a list of float32 values; a list index holds integers or booleans');
    expect(() => torch.frombuffer(bytes.subarray(0, 5), { dtype: 'int32' })).toThrow(/5 bytes after offset 0 are not a whole number of int32 values \(4 bytes each\); give count/);
    expect(() => torch.frombuffer(bytes, { dtype: 'int32', count: 5 })).toThrow(/count must be -1 \(all\) or from 1 to 4/);
    expect(() => torch.frombuffer(bytes, {} as { dtype: 'int32' })).toThrow(/frombuffer: give the dtype the bytes hold/);
    expect(() => torch.tensor(new DataView(new ArrayBuffer(4)) as unknown as Uint8Array)).toThrow(/a DataView is not taken/);
    expect(() => (torch.autocast as (...a: unknown[]) => unknown)({ deviceType: 'cpu' })).toThrow(/autocast: give the function to run after the settings/);
    x.dispose();
  });

  test('more of torch\'s keywords (quantile(q, dim=1, interpolation=...), histogram(x, bins=4, range=...), searchsorted(sorter=...), rot90(k=2), clamp_(min=0)) and torch.normal\'s forms, against PyTorch', () => {
    const x = torch.keep(torch.tensor(X));
    const idx = torch.keep(torch.tensor([[0, 3], [1, 1], [2, 0]]));
    const seq = torch.keep(torch.tensor([3, 1, 2, 5])), sorter = torch.keep(torch.tensor([1, 2, 0, 3])), vals = torch.keep(torch.tensor([2.5, 0, 6]));
    const seeded = (fn: () => torch.Tensor) => () => { torch.manualSeed(5); return fn(); };
    expectLikePyTorch(`${SETUP}
seq = torch.tensor([3., 1, 2, 5]); sorter = torch.tensor([1, 2, 0, 3]); vals = torch.tensor([2.5, 0, 6])
def seeded(f):
    torch.manual_seed(5)
    return f()`, [
      ['torch.take_along_dim(x, idx, dim=1)', () => torch.takeAlongDim(x, idx, { dim: 1 })], ['torch.take_along_dim(x, torch.tensor([0, 5, 11]))', () => torch.takeAlongDim(x, torch.tensor([0, 5, 11]))],
      ['torch.searchsorted(seq, vals, sorter=sorter)', () => torch.searchsorted(seq, vals, { sorter })], ["torch.searchsorted(seq.sort()[0], vals, side='right', out_int32=True)", () => torch.searchsorted(seq.sort().values, vals, { side: 'right', outInt32: true })],
      ['x.clone().clamp_(min=0)', () => x.clone().clamp_({ min: 0 })], ['x.clone().clamp_(max=y)', () => x.clone().clamp_({ max: torch.tensor(Y) })],
      ['torch.special.logit(x.sigmoid(), eps=0.2)', () => torch.special.logit(x.sigmoid(), { eps: 0.2 })],
      ["x.quantile(0.3, dim=1, keepdim=True, interpolation='nearest')", () => x.quantile(0.3, { dim: 1, keepdim: true, interpolation: 'nearest' })],
      ["torch.nanquantile(x, torch.tensor([0.25, 0.75]), dim=0, interpolation='midpoint')", () => torch.nanquantile(x, torch.tensor([0.25, 0.75]), { dim: 0, interpolation: 'midpoint' })],
      ['torch.histogram(x, bins=4, range=(-2., 4.)).hist', () => torch.histogram(x, { bins: 4, range: [-2, 4] }).hist], ['torch.histogram(x, 3, density=True).bin_edges', () => torch.histogram(x, 3, { density: true }).binEdges], ['torch.histogram(x).hist', () => torch.histogram(x).hist],
      ['torch.combinations(torch.tensor([1, 2, 3]), r=2, with_replacement=True)', () => torch.combinations(torch.tensor([1, 2, 3]), { r: 2, withReplacement: true })],
      ['torch.tril_indices(3, 4, offset=-1)', () => torch.trilIndices(3, 4, { offset: -1 })], ['torch.triu_indices(3, 3, 1, dtype=torch.int32)', () => torch.triuIndices(3, 3, 1, { dtype: 'int32' })],
      ['torch.vander(torch.tensor([1, 2, 3]), N=4, increasing=True)', () => torch.vander(torch.tensor([1, 2, 3]), { N: 4, increasing: true })], ['torch.linalg.vander(torch.tensor([1., 2, 3]), N=2)', () => torch.linalg.vander(torch.tensor([1, 2, 3]).float(), { N: 2 })],
      ['torch.rot90(x, k=2, dims=[0, 1])', () => torch.rot90(x, { k: 2, dims: [0, 1] })], ['x.unflatten(dim=1, sizes=(2, 2))', () => x.unflatten({ dim: 1, sizes: [2, 2] })],
      ['seeded(lambda: torch.normal(x, x.abs() + 0.5))', seeded(() => torch.normal(x, x.abs().add(0.5)))], ['seeded(lambda: torch.normal(x, 2.0))', seeded(() => torch.normal(x, 2))],
      ['seeded(lambda: torch.normal(1.5, x.abs()))', seeded(() => torch.normal(1.5, x.abs()))], ['seeded(lambda: torch.normal(mean=0.5, std=2.0, size=(3, 5)))', seeded(() => torch.normal({ mean: 0.5, std: 2, size: [3, 5] }))],
      ['seeded(lambda: torch.normal(w4, torch.ones(3, 4)))', seeded(() => torch.normal(torch.tensor([0.5, 1.5, -1, 2]), torch.ones(3, 4)))],
    ], 1e-5);
    expect(() => torch.searchsorted(seq, vals, { side: 'middle' as 'left' })).toThrow("searchsorted: side must be 'left' or 'right', got 'middle'");
    expect(() => torch.normal(0, 1)).toThrow(/normal: with a number mean and std, give the size/);
    expect(() => torch.normal(x, x, [2] as object)).toThrow(/normal: with a tensor mean or std the size is theirs/);
    expect(() => x.unflatten({ dim: 1 } as { dim: number; sizes: number[] })).toThrow(/Tensor.unflatten: give dim \(a number\) and sizes/);
    for (const t of [x, idx, seq, sorter, vals]) t.dispose();
  });

  test('a module\'s children and nn.Parameter(...) assigned as properties are registered, as PyTorch\'s (this.fc = new nn.Linear(4, 3)): same state dict, forward and SGD step', () => {
    const want = pythonJson<{ names: string[]; values: number[]; out: number[]; after: number[]; recurseFalse: number }>(`import torch, json
import torch.nn as nn
class M(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 3)
        self.w = nn.Parameter(torch.randn(3))
        self.plain = torch.ones(1)
        self.blocks = nn.ModuleList([nn.Linear(3, 3) for _ in range(2)])
        self.register_buffer('b', torch.zeros(3))
        self.head = nn.Linear(3, 2)
    def forward(self, x):
        h = self.fc1(x) * self.w + self.b
        for blk in self.blocks:
            h = torch.tanh(blk(h))
        return self.head(h)
torch.manual_seed(4)
m = M()
x = torch.tensor(${JSON.stringify(X)})
out = m(x)
sd = m.state_dict()
values = [v for t in sd.values() for v in t.flatten().tolist()]  # (state_dict's tensors share the parameters' memory: read before the step)
opt = torch.optim.SGD(m.parameters(), lr=0.5)
out.pow(2).mean().backward()
opt.step()
print(json.dumps({'names': list(sd.keys()), 'values': values, 'out': out.flatten().tolist(),
  'after': [v for t in m.state_dict().values() for v in t.flatten().tolist()], 'recurseFalse': len(list(m.parameters(recurse=False)))}))`);
    class M extends nn.Module {
      fc1 = new nn.Linear(4, 3); // (a class field: assigned right after super(), as PyTorch's first line)
      w: torch.Tensor;
      plain: torch.Tensor;
      blocks: torch.nn.ModuleList<torch.nn.Linear>;
      head: torch.nn.Linear;
      declare b: torch.Tensor;
      constructor() {
        super();
        this.w = nn.Parameter(torch.randn([3]));
        this.plain = torch.keep(torch.ones([1]));
        this.blocks = new nn.ModuleList([new nn.Linear(3, 3), new nn.Linear(3, 3)]);
        this.registerBuffer('b', torch.zeros([3]));
        this.head = new nn.Linear(3, 2);
      }
      forward(x: torch.Tensor): torch.Tensor {
        let h = this.fc1.forward(x).mul(this.w).add(this.b);
        for (const blk of this.blocks) h = blk.forward(h).tanh();
        return this.head.forward(h);
      }
    }
    torch.manualSeed(4);
    const m = new M();
    const x = torch.tensor(X);
    const out = m.forward(x);
    const sd = m.stateDict();
    expect([...sd.keys()]).toEqual(want.names);
    const close = (a: number[], b: number[]) => a.length === b.length && a.every((v, k) => Math.abs(v - b[k]) < 1e-5);
    expect(close([...sd.values()].flatMap((t) => t.flatten().tolist() as number[]), want.values)).toBe(true);
    expect(close(out.flatten().tolist() as number[], want.out)).toBe(true);
    const opt = new torch.optim.SGD(m.parameters(), { lr: 0.5 });
    out.pow(2).mean().backward();
    opt.step();
    expect(close([...m.stateDict().values()].flatMap((t) => t.flatten().tolist() as number[]), want.after)).toBe(true);
    expect([m.parameters(false).length, m.parameters({ recurse: false }).length]).toEqual([want.recurseFalse, want.recurseFalse]);
    // zero_grad(set_to_none=False) zeroes in place; the default sets None
    m.zeroGrad(false);
    expect(m.parameters().map((p) => p.grad?.abs().sum().item())).toEqual(m.parameters().map(() => 0));
    m.zeroGrad({ setToNone: true });
    expect(m.parameters().every((p) => p.grad === null)).toBe(true);
    expect([m.w instanceof nn.Parameter, m.fc1.weight instanceof nn.Parameter, m.plain instanceof nn.Parameter, m.b instanceof nn.Parameter]).toEqual([true, true, false, false]);
    expect(String(m).split('\n').map((l) => l.trim().split(':')[0])).toEqual(['M(', '(fc1)', '(blocks)', '(0)', '(1)', ')', '(head)', ')']);
    expect(() => nn.Parameter(3 as unknown as torch.Tensor)).toThrow('nn.Parameter: give a tensor, got number');
    // (and the containers' dict views, as PyTorch's: items(), values())
    const md = new nn.ModuleDict({ a: new nn.Identity() }), pd = new nn.ParameterDict({ p: torch.zeros([1]) });
    expect([md.items().map(([k]) => k), pd.items().map(([k]) => k), pd.values().length]).toEqual([['a'], ['p'], 1]);
    pd.dispose();
    m.dispose();
    for (const t of [x, out, m.plain]) t.dispose();
  });

  test('schedulers with their arguments by name (SequentialLR(opt, schedulers=[...], milestones=[2]), ChainedScheduler(schedulers=[...])): PyTorch\'s learning rates', () => {
    const want = pythonJson<number[][]>(`import torch, json
from torch.optim import lr_scheduler as S
def run(make):
    p = torch.zeros(2, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.1)
    s = make(opt)
    out = []
    for _ in range(6):
        opt.step(); s.step(); out.append(opt.param_groups[0]['lr'])
    return out
print(json.dumps([
  run(lambda o: S.SequentialLR(o, schedulers=[S.LinearLR(o, start_factor=0.5, total_iters=2), S.ExponentialLR(o, gamma=0.5)], milestones=[2])),
  run(lambda o: S.ChainedScheduler(schedulers=[S.ExponentialLR(o, gamma=0.9), S.StepLR(o, step_size=2, gamma=0.5)])),
  run(lambda o: S.CosineAnnealingWarmRestarts(o, T_0=3, eta_min=0.01)),
]))`);
    const S = torch.optim.lrScheduler;
    const run = (make: (o: torch.optim.SGD) => { step(): void }) => {
      const p = torch.zeros([2]).requiresGrad_();
      const opt = new torch.optim.SGD([p], { lr: 0.1 });
      const s = make(opt), out: number[] = [];
      for (let k = 0; k < 6; k++) { opt.step(); s.step(); out.push(opt.paramGroups[0].lr); }
      p.dispose();
      return out;
    };
    const got = [
      run((o) => new S.SequentialLR(o, { schedulers: [new S.LinearLR(o, { startFactor: 0.5, totalIters: 2 }), new S.ExponentialLR(o, { gamma: 0.5 })], milestones: [2] })),
      run((o) => new S.ChainedScheduler({ schedulers: [new S.ExponentialLR(o, { gamma: 0.9 }), new S.StepLR(o, { stepSize: 2, gamma: 0.5 })] })),
      run((o) => new S.CosineAnnealingWarmRestarts(o, { t0: 3, etaMin: 0.01 })),
    ];
    got.forEach((lrs, k) => lrs.forEach((lr, j) => expect(Math.abs(lr - want[k][j])).toBeLessThan(1e-12)));
    const opt = new torch.optim.SGD([torch.zeros([1]).requiresGrad_()], { lr: 0.1 });
    expect(() => new S.CosineAnnealingWarmRestarts(opt, { T_0: 3 } as unknown as { t0: number })).toThrow("CosineAnnealingWarmRestarts: unknown option 'T_0' (did you mean t0?)");
    expect(() => new S.SequentialLR(opt, { schedulers: [new S.ExponentialLR(opt, 0.9)] } as unknown as { schedulers: torch.optim.lrScheduler.LRSchedulerBase[]; milestones: number[] })).toThrow(/SequentialLR: give the schedulers and the milestones/);
  });

  test('linalg and fft with PyTorch\'s keywords (eigh(A, UPLO=\'U\'), qr(A, mode=...), pinv(A, atol=...), fftfreq(n, d=...), stft(x, n_fft=16, ...)); linalg.pinv\'s default tolerance is PyTorch\'s', () => {
    // an ill-conditioned A: singular values 1, 1e-3 and 1e-9 (pinv's default tolerance decides the answer)
    const setup = `${SETUP}
g = torch.Generator().manual_seed(0)
U, _, V = torch.linalg.svd(torch.randn(3, 3, generator=g, dtype=torch.float64))
A = (U @ torch.diag(torch.tensor([1.0, 1e-3, 1e-9], dtype=torch.float64)) @ V.T).float()
S = x[:, :3] @ x[:, :3].T
sig = torch.sin(torch.arange(64.) / 3)`;
    const want = pythonJson<number[][]>(`import torch, json
${setup}
print(json.dumps([A.flatten().tolist(), S.flatten().tolist()]))`);
    const A = torch.keep(torch.tensor(want[0]).reshape([3, 3])), S = torch.keep(torch.tensor(want[1]).reshape([3, 3]));
    const x = torch.keep(torch.tensor(X)), sig = torch.keep(torch.arange(64).float().div(3).sin());
    const c = torch.keep(torch.tensor([1, 2, 3]).float()), d = torch.keep(torch.tensor([0.5, -1, 2]));
    expectLikePyTorch(`${setup}\ncv = torch.tensor([1., 2, 3]); dv = torch.tensor([0.5, -1, 2])`, [
      ['torch.linalg.pinv(A)', () => torch.linalg.pinv(A)], ['torch.linalg.pinv(A, atol=1e-4)', () => torch.linalg.pinv(A, { atol: 1e-4 })],
      ['torch.linalg.pinv(A, rtol=1e-2)', () => torch.linalg.pinv(A, { rtol: 1e-2 })], ['torch.linalg.pinv(S, hermitian=True)', () => torch.linalg.pinv(S, { hermitian: true })],
      ["torch.linalg.eigh(S, UPLO='U').eigenvalues", () => torch.linalg.eigh(S, { UPLO: 'U' }).eigenvalues], ["torch.linalg.eigvalsh(S, UPLO='U')", () => torch.linalg.eigvalsh(S, { UPLO: 'U' })],
      ["torch.linalg.qr(x.T, mode='complete').R.abs()", () => torch.linalg.qr(x.T, { mode: 'complete' }).R.abs()], ["torch.linalg.cond(S, p='fro')", () => torch.linalg.cond(S, { p: 'fro' })],
      ['torch.linalg.cross(cv, dv, dim=0)', () => torch.linalg.cross(c, d, { dim: 0 })],
      ['torch.fft.fftfreq(8, d=0.5)', () => torch.fft.fftfreq(8, { d: 0.5 })], ['torch.fft.rfftfreq(8, 0.25)', () => torch.fft.rfftfreq(8, 0.25)],
      ['torch.fft.fftshift(x, dim=1)', () => torch.fft.fftshift(x, { dim: 1 })], ['torch.fft.ifftshift(x)', () => torch.fft.ifftshift(x)],
      ['torch.stft(sig, n_fft=16, hop_length=4, window=torch.hann_window(16), return_complex=True).abs()', () => torch.stft(sig, { nFft: 16, hopLength: 4, window: torch.hannWindow(16), returnComplex: true }).abs()],
      ['torch.istft(torch.stft(sig, 16, hop_length=4, window=torch.hann_window(16), return_complex=True), n_fft=16, hop_length=4, window=torch.hann_window(16))',
        () => torch.istft(torch.stft(sig, 16, { hopLength: 4, window: torch.hannWindow(16), returnComplex: true }), { nFft: 16, hopLength: 4, window: torch.hannWindow(16) })],
    ], 1e-4);
    expect(() => torch.linalg.pinv(A, { rcond: 1e-3, rtol: 1e-3 })).toThrow("linalg.pinv: rcond is rtol's old name; give one of them");
    expect(() => torch.stft(sig, { hopLength: 4 } as unknown as { nFft: number })).toThrow(/stft: give nFft \(a number\)/);
    for (const t of [A, S, x, sig, c, d]) t.dispose();
  });

  test('the other layers by name too (nn.Unfold(kernel_size=2), nn.LPPool2d(norm_type=2, kernel_size=2), nn.ChannelShuffle(groups=2), ...), forward against PyTorch', () => {
    const x = torch.keep(torch.tensor(X));
    const img = torch.keep(torch.arange(2 * 4 * 3 * 3, { dtype: 'float32' }).reshape([2, 4, 3, 3]).sin());
    const rs = torch.keep(torch.linspace(0.1, 0.9, 16).reshape([2, 4, 2]));
    const corner = torch.keep(img.narrow(2, 0, 2).narrow(3, 0, 2));
    expectLikePyTorch(`${SETUP}\nrs = torch.linspace(0.1, 0.9, 16).reshape(2, 4, 2); corner = img[:, :, :2, :2]`, [
      ['nn.Unfold(kernel_size=2, stride=1)(img)', () => new nn.Unfold({ kernelSize: 2, stride: 1 }).forward(img)],
      ['nn.Fold(output_size=(3, 3), kernel_size=2)(nn.Unfold(2)(img))', () => new nn.Fold({ outputSize: [3, 3], kernelSize: 2 }).forward(new nn.Unfold(2).forward(img))],
      ['nn.Fold((3, 3), kernel_size=2)(nn.Unfold(2)(img))', () => new nn.Fold([3, 3], { kernelSize: 2 } as unknown as number).forward(new nn.Unfold(2).forward(img))],
      ['nn.LPPool2d(norm_type=2, kernel_size=2, stride=1)(img)', () => new nn.LPPool2d({ normType: 2, kernelSize: 2, stride: 1 }).forward(img)],
      ['nn.LPPool1d(2, kernel_size=2)(x[None])', () => new nn.LPPool1d(2, { kernelSize: 2 } as unknown as number).forward(x.unsqueeze(0))],
      ['nn.LocalResponseNorm(size=2, alpha=1e-2)(img)', () => new nn.LocalResponseNorm({ size: 2, alpha: 1e-2 }).forward(img)],
      ['nn.ChannelShuffle(groups=2)(img)', () => new nn.ChannelShuffle({ groups: 2 }).forward(img)],
      ['nn.FractionalMaxPool2d(kernel_size=2, output_size=2, _random_samples=rs)(img)', () => new nn.FractionalMaxPool2d({ kernelSize: 2, outputSize: 2, randomSamples: rs }).forward(img)],
      ['nn.MaxUnpool2d(kernel_size=2)(*nn.MaxPool2d(2, return_indices=True)(corner))', () => {
        const { values, indices } = new nn.MaxPool2d(2).forwardWithIndices(corner);
        return new nn.MaxUnpool2d({ kernelSize: 2 }).forward(values, indices);
      }],
      // (weights drawn at the first forward, from the same seed)
      ['(torch.manual_seed(4), nn.LazyLinear(out_features=3)(x))[1]', () => (torch.manualSeed(4), new nn.LazyLinear({ outFeatures: 3 }).forward(x))],
      ['(torch.manual_seed(4), nn.LazyConv2d(out_channels=2, kernel_size=2, bias=False)(img))[1]', () => (torch.manualSeed(4), new nn.LazyConv2d({ outChannels: 2, kernelSize: 2, bias: false }).forward(img))],
      ['(torch.manual_seed(4), nn.AdaptiveLogSoftmaxWithLoss(in_features=4, n_classes=6, cutoffs=[2], div_value=2.0).log_prob(x))[1]', () => (torch.manualSeed(4), new nn.AdaptiveLogSoftmaxWithLoss({ inFeatures: 4, nClasses: 6, cutoffs: [2], divValue: 2 }).logProb(x))],
    ]);
    // Hugging Face's Conv1D by name: Conv1D(nf=3, nx=4) holds its weight as (nx, nf)
    const conv = new nn.Conv1D({ nf: 3, nx: 4 });
    expect([conv.weight.shape, conv.bias.shape]).toEqual([[4, 3], [3]]);
    conv.dispose();
    expect(() => new nn.LPPool2d({ kernelSize: 2 } as { normType: number; kernelSize: number })).toThrow(/nn.LPPool2d: give normType/);
    expect(() => new nn.ChannelShuffle({ groups: 2, dim: 1 } as { groups: number })).toThrow('nn.ChannelShuffle: takes only groups');
    expect(() => new nn.Fold({ kernelSize: 2 } as { outputSize: number; kernelSize: number })).toThrow(/nn.Fold: give outputSize/);
    for (const t of [x, img, rs, corner]) t.dispose();
  });

  test('distributions take their parameters by name too (Normal(loc=0, scale=1), Gamma(concentration=2, rate=3)), against PyTorch', () => {
    const D = torch.distributions;
    const v = torch.tensor([0.25, 0.5, 0.75]);
    // [PyTorch's constructor call, ours], each's log_prob at v (Dirichlet: at a simplex point)
    const calls: [string, () => { logProb(x: torch.Tensor): torch.Tensor }][] = [
      ['D.Normal(loc=0.5, scale=2.0)', () => new D.Normal({ loc: 0.5, scale: 2 })], ['D.Normal(0.5, scale=2.0)', () => new D.Normal(0.5, { scale: 2 })],
      ['D.Laplace(loc=0.0, scale=0.5)', () => new D.Laplace({ loc: 0, scale: 0.5 })], ['D.Cauchy(loc=0.1, scale=1.5)', () => new D.Cauchy({ loc: 0.1, scale: 1.5 })],
      ['D.LogNormal(loc=0.0, scale=1.0)', () => new D.LogNormal({ loc: 0, scale: 1 })], ['D.Uniform(low=0.0, high=2.0)', () => new D.Uniform({ low: 0, high: 2 })],
      ['D.Exponential(rate=1.5)', () => new D.Exponential({ rate: 1.5 })], ['D.Gamma(concentration=2.0, rate=3.0)', () => new D.Gamma({ concentration: 2, rate: 3 })],
      ['D.Beta(concentration1=2.0, concentration0=3.0)', () => new D.Beta({ concentration1: 2, concentration0: 3 })], ['D.Chi2(df=3.0)', () => new D.Chi2({ df: 3 })],
      ['D.StudentT(df=4.0, scale=2.0)', () => new D.StudentT({ df: 4, scale: 2 })], ['D.StudentT(4.0)', () => new D.StudentT(4)],
      ['D.FisherSnedecor(df1=3.0, df2=5.0)', () => new D.FisherSnedecor({ df1: 3, df2: 5 })], ['D.VonMises(loc=0.5, concentration=2.0)', () => new D.VonMises({ loc: 0.5, concentration: 2 })],
      ['D.HalfNormal(scale=2.0)', () => new D.HalfNormal({ scale: 2 })], ['D.HalfCauchy(scale=1.0)', () => new D.HalfCauchy({ scale: 1 })],
      ['D.Gumbel(loc=0.0, scale=2.0)', () => new D.Gumbel({ loc: 0, scale: 2 })], ['D.Weibull(scale=1.0, concentration=2.0)', () => new D.Weibull({ scale: 1, concentration: 2 })],
      ['D.Pareto(scale=0.1, alpha=2.0)', () => new D.Pareto({ scale: 0.1, alpha: 2 })], ['D.Kumaraswamy(concentration1=2.0, concentration0=3.0)', () => new D.Kumaraswamy({ concentration1: 2, concentration0: 3 })],
      ['D.Poisson(rate=2.0)', () => new D.Poisson({ rate: 2 })],
    ];
    const want = pythonJson<number[][]>(`import torch, json, sys
import torch.distributions as D
v = torch.tensor([0.25, 0.5, 0.75])
out = [eval(c).log_prob(v.round() if 'Poisson' in c else v).tolist() for c in json.loads(sys.argv[1])]
out.append(D.Dirichlet(concentration=torch.tensor([1.0, 2.0, 3.0])).log_prob(torch.tensor([0.2, 0.3, 0.5])).tolist())
out.append(D.LogisticNormal(loc=torch.zeros(2), scale=torch.ones(2)).log_prob(torch.tensor([0.2, 0.3, 0.5])).tolist())
print(json.dumps(out))`, JSON.stringify(calls.map(([py]) => py)));
    torch.tidy(() => {
      calls.forEach(([py, make], k) => {
        const lp = make().logProb(py.includes('Poisson') ? v.round() : v).tolist() as number[];
        lp.forEach((a, j) => expect([py, j, Math.abs(a - want[k][j]) < 1e-5]).toEqual([py, j, true]));
      });
      const dir = new D.Dirichlet({ concentration: torch.tensor([1, 2, 3], { dtype: 'float32' }) }).logProb(torch.tensor([0.2, 0.3, 0.5])).item() as number;
      expect(Math.abs(dir - (want[calls.length] as unknown as number))).toBeLessThan(1e-5);
      const ln = new D.LogisticNormal({ loc: torch.zeros([2]), scale: torch.ones([2]) }).logProb(torch.tensor([0.2, 0.3, 0.5])).item() as number;
      expect(Math.abs(ln - (want[calls.length + 1] as unknown as number))).toBeLessThan(1e-5);
      // validateArgs by position or by name, as before; a missing or misspelt parameter is an error
      expect(() => new D.Normal(0, -1)).toThrow(/scale/);
      expect(new D.Normal(0, -1, false).scale.item()).toBe(-1);
      expect(new D.Normal({ loc: 0, scale: -1, validateArgs: false }).scale.item()).toBe(-1);
      expect(() => new D.Normal({ loc: 0 } as { loc: number; scale: number })).toThrow('Normal: give scale (by position, or by name: new Normal({ loc, scale }))');
      expect(() => new D.Gamma({ concentration: 1, rte: 2 } as object)).toThrow(/Gamma: unknown option 'rte'/);
      expect(() => new D.Normal(0, 1, { validate_args: false } as object)).toThrow(/did you mean validateArgs\?/);
    });
  });

  test('torch.backends\' switches read and set as PyTorch\'s (its defaults); torch.cuda\'s memory counters and manualSeedAll', () => {
    const want = pythonJson<boolean[]>(`import torch, json
b = torch.backends
print(json.dumps([b.cuda.matmul.allow_tf32, b.cudnn.allow_tf32, b.cudnn.benchmark, b.cudnn.deterministic, b.cudnn.enabled]))`);
    // (the switches are global to the process, which other test files share: the defaults are read in a fresh one)
    const fresh = spawnSync(process.execPath, ['-e', `const b = require('./dist/lib/index.js').backends;
console.log(JSON.stringify([b.cuda.matmul.allowTf32, b.cudnn.allowTf32, b.cudnn.benchmark, b.cudnn.deterministic, b.cudnn.enabled]))`], { cwd: path.join(__dirname, '..'), encoding: 'utf8' });
    expect(JSON.parse(fresh.stdout)).toEqual(want);
    const b = torch.backends;
    const before = [b.cuda.matmul.allowTf32, b.cudnn.benchmark, b.cudnn.deterministic] as const;
    try {
      b.cudnn.benchmark = true;
      b.cudnn.deterministic = true;
      b.cuda.matmul.allowTf32 = true;
      expect([b.cudnn.benchmark, b.cudnn.deterministic, b.cuda.matmul.allowTf32, torch.cuda.getAllowTF32()]).toEqual([true, true, true, true]);
      expect(() => { (b.cudnn as { benchmark: unknown }).benchmark = 'yes'; }).toThrow(/torch.backends: benchmarkCuDNN takes true or false/);
    } finally {
      [b.cuda.matmul.allowTf32, b.cudnn.benchmark, b.cudnn.deterministic] = before;
    }
    expect(b.cuda.isBuilt()).toBe(torch.buildInfo().builtWithCuda);
    if (!torch.cuda.isAvailable()) {
      // (PyTorch's answer before CUDA starts, or without it: no bytes)
      expect([torch.cuda.memoryAllocated(), torch.cuda.maxMemoryAllocated(), torch.cuda.memoryReserved(), torch.cuda.maxMemoryReserved()]).toEqual([0, 0, 0, 0]);
    }
    // manualSeedAll seeds the CUDA generators and leaves the CPU's stream where it was
    torch.manualSeed(3);
    const first = torch.rand([4]).tolist();
    torch.manualSeed(3);
    torch.cuda.manualSeedAll(99);
    expect(torch.rand([4]).tolist()).toEqual(first);
  });

  test('torch.compile(model) gives the model back, run eagerly (libtorch has no compiler), and says so once; Python\'s spellings of options name ours (T_max: tMax)', () => {
    const model = new nn.Linear(3, 2), x = torch.randn([4, 3]);
    const compiled = torch.compile(model, { mode: 'max-autotune' });
    expect(compiled).toBe(model);
    const fn = (t: torch.Tensor) => t.sin();
    expect(torch.compile(fn)).toBe(fn);
    expect(compiled.forward(x).equal(model.forward(x))).toBe(true);
    // (the warning, in a process of its own: warnings are process-wide and emitted on the next tick)
    const seen = spawnSync(process.execPath, ['-e', `const torch = require('./dist/lib/index.js'), seen = [];
process.on('warning', (w) => seen.push(w.name + ': ' + w.message));
const m = new torch.nn.Linear(2, 2);
torch.compile(m); torch.compile(m); torch.compile((t) => t);
setImmediate(() => console.log(JSON.stringify(seen)));`], { cwd: path.join(__dirname, '..'), encoding: 'utf8' });
    expect(JSON.parse(seen.stdout)).toEqual(['UserWarning: torch.compile: libtorch has no compiler (TorchDynamo and Inductor are Python): the model runs eagerly, as it is']);
    expect(() => torch.compile(model, { fullGraph: true } as object)).toThrow("torch.compile: unknown option 'fullGraph' (did you mean fullgraph?)");
    expect(() => torch.compile(3 as unknown as object)).toThrow('torch.compile: give a module (with forward) or a function');
    const opt = new torch.optim.SGD(model.parameters(), { lr: 0.1 });
    expect(() => new torch.optim.lrScheduler.CosineAnnealingLR(opt, { T_max: 10 } as object as { tMax: number })).toThrow("CosineAnnealingLR: unknown option 'T_max' (did you mean tMax?)");
    model.dispose();
    x.dispose();
  });

  test('nn.init with PyTorch\'s keywords (kaiming_uniform_(w, a=math.sqrt(5)), normal_(w, std=0.02)) draws what PyTorch draws; a generator is taken', () => {
    const calls: [string, (w: torch.Tensor) => unknown][] = [
      ['init.kaiming_uniform_(w, a=math.sqrt(5))', (w) => nn.init.kaimingUniform_(w, { a: Math.sqrt(5) })],
      ["init.kaiming_normal_(w, mode='fan_out', nonlinearity='relu')", (w) => nn.init.kaimingNormal_(w, { mode: 'fan_out', nonlinearity: 'relu' })],
      ["init.kaiming_normal_(w, 0, 'fan_out', 'relu')", (w) => nn.init.kaimingNormal_(w, 0, 'fan_out', 'relu')],
      ['init.normal_(w, std=0.02)', (w) => nn.init.normal_(w, { std: 0.02 })], ['init.normal_(w, 1.0, 0.5)', (w) => nn.init.normal_(w, 1, 0.5)],
      ['init.uniform_(w, a=-0.1, b=0.1)', (w) => nn.init.uniform_(w, { a: -0.1, b: 0.1 })], ['init.trunc_normal_(w, std=0.02)', (w) => nn.init.truncNormal_(w, { std: 0.02 })],
      ['init.trunc_normal_(w, 0.0, 1.0, -0.5, 0.5)', (w) => nn.init.truncNormal_(w, 0, 1, -0.5, 0.5)],
      ["init.xavier_uniform_(w, gain=init.calculate_gain('relu'))", (w) => nn.init.xavierUniform_(w, { gain: nn.init.calculateGain('relu') })],
      ['init.xavier_normal_(w, 0.5)', (w) => nn.init.xavierNormal_(w, 0.5)], ['init.constant_(w, val=0.25)', (w) => nn.init.constant_(w, { val: 0.25 })],
      ['init.orthogonal_(w, gain=2.0)', (w) => nn.init.orthogonal_(w, { gain: 2 })], ['init.sparse_(w, 0.5, std=0.1)', (w) => nn.init.sparse_(w, 0.5, { std: 0.1 })],
    ];
    const want = pythonJson<number[][]>(`import torch, json, sys, math
import torch.nn.init as init
out = []
for c in json.loads(sys.argv[1]):
    torch.manual_seed(7); w = torch.empty(5, 4); eval(c); out.append(w.flatten().tolist())
# a generator of its own: the draw Tensor.normal_ makes with it (PyTorch 1.13's init has no generator argument)
g = torch.Generator().manual_seed(11); w = torch.empty(5, 4); w.normal_(0, 0.5, generator=g); out.append(w.flatten().tolist())
g = torch.Generator().manual_seed(11); w = torch.empty(5, 4); b = math.sqrt(3) * math.sqrt(2) / math.sqrt(4); w.uniform_(-b, b, generator=g); out.append(w.flatten().tolist())
print(json.dumps(out))`, JSON.stringify(calls.map(([py]) => py)));
    torch.tidy(() => {
      calls.forEach(([py, ours], k) => {
        torch.manualSeed(7);
        const w = torch.empty([5, 4]);
        ours(w);
        const got = w.flatten().tolist() as number[];
        const off = Math.max(...got.map((a, j) => Math.abs(a - want[k][j])));
        expect([py, off < 1e-6]).toEqual([py, true]);
      });
      const g = new torch.Generator().manualSeed(11);
      const w = nn.init.normal_(torch.empty([5, 4]), { std: 0.5, generator: g });
      (w.flatten().tolist() as number[]).forEach((a, j) => expect(Math.abs(a - want[calls.length][j])).toBeLessThan(1e-6));
      const w2 = nn.init.kaimingUniform_(torch.empty([5, 4]), { nonlinearity: 'relu', generator: new torch.Generator().manualSeed(11) });
      (w2.flatten().tolist() as number[]).forEach((a, j) => expect(Math.abs(a - want[calls.length + 1][j])).toBeLessThan(1e-6));
      expect(() => nn.init.kaimingUniform_(torch.empty([5, 4]), { non_linearity: 'relu' } as object)).toThrow(/init.kaimingUniform_: unknown option 'non_linearity'/);
      expect(() => nn.init.normal_(torch.empty([2]), 0, 1, { mean: 1 })).toThrow(/init.normal_: mean is given twice/);
      expect(() => (nn.init.constant_ as (...a: unknown[]) => unknown)(torch.empty([2]))).toThrow(/init.constant_: give the value/);
    });
  });

  test('clip_grad_norm_ / clip_grad_value_, zero_grad(set_to_none=False), add_param_group and backward(retain_graph=True), against PyTorch', () => {
    const W = [[0.5, -1, 0.25], [1.5, 0.75, -0.5]], B = [0.1, -0.2], XS = [[1, 2, -1], [0.5, -1.5, 2]];
    const want = pythonJson<{ norm: number; clipped: number[]; value: number[]; w: number[]; b: number[]; zeroed: number[]; twice: number[] }>(`import torch, json
W, B, XS = ${JSON.stringify([W, B, XS])}
lin = torch.nn.Linear(3, 2)
with torch.no_grad(): lin.weight.copy_(torch.tensor(W)); lin.bias.copy_(torch.tensor(B))
x = torch.tensor(XS)
lin(x).pow(2).sum().backward()
norm = torch.nn.utils.clip_grad_norm_(lin.parameters(), max_norm=0.5).item()
clipped = lin.weight.grad.flatten().tolist()
torch.nn.utils.clip_grad_value_(lin.parameters(), clip_value=0.05)
value = lin.weight.grad.flatten().tolist() + lin.bias.grad.tolist()
opt = torch.optim.SGD([lin.weight], lr=0.1, momentum=0.9)
opt.add_param_group({'params': [lin.bias], 'lr': 0.5})
for _ in range(3):
    opt.zero_grad(set_to_none=False)
    lin(x).pow(2).sum().backward()
    opt.step()
zeroed = []
opt.zero_grad(set_to_none=False); zeroed = lin.weight.grad.flatten().tolist()
t = torch.tensor([1.0, 2.0], requires_grad=True); l = (t * t).sum(); l.backward(retain_graph=True); l.backward()
print(json.dumps({'norm': norm, 'clipped': clipped, 'value': value, 'w': lin.weight.flatten().tolist(), 'b': lin.bias.tolist(), 'zeroed': zeroed, 'twice': t.grad.tolist()}))`);
    const lin = new nn.Linear(3, 2);
    torch.noGrad(() => { lin.weight.copy_(torch.tensor(W)); lin.bias!.copy_(torch.tensor(B)); });
    const x = torch.tensor(XS);
    lin.forward(x).pow(2).sum().backward();
    const norm = nn.utils.clipGradNorm_(lin.parameters(), { maxNorm: 0.5 });
    expect(norm.shape).toEqual([]);
    expect(Math.abs((norm.item() as number) - want.norm)).toBeLessThan(1e-5);
    (lin.weight.grad!.flatten().tolist() as number[]).forEach((a, j) => expect(Math.abs(a - want.clipped[j])).toBeLessThan(1e-6));
    nn.utils.clipGradValue_(lin.parameters(), { clipValue: 0.05 });
    [...(lin.weight.grad!.flatten().tolist() as number[]), ...(lin.bias!.grad!.tolist() as number[])].forEach((a, j) => expect(Math.abs(a - want.value[j])).toBeLessThan(1e-6));

    const opt = new torch.optim.SGD([lin.weight], { lr: 0.1, momentum: 0.9 });
    opt.addParamGroup({ params: [lin.bias!], lr: 0.5 });
    expect(opt.paramGroups.map((g) => [g.lr, g.momentum])).toEqual([[0.1, 0.9], [0.5, 0.9]]);
    for (let i = 0; i < 3; i++) {
      opt.zeroGrad({ setToNone: false });
      torch.tidy(() => lin.forward(x).pow(2).sum().backward());
      opt.step();
    }
    (lin.weight.flatten().tolist() as number[]).forEach((a, j) => expect(Math.abs(a - want.w[j])).toBeLessThan(1e-5));
    (lin.bias!.tolist() as number[]).forEach((a, j) => expect(Math.abs(a - want.b[j])).toBeLessThan(1e-5));
    opt.zeroGrad(false);
    expect(lin.weight.grad!.flatten().tolist()).toEqual(want.zeroed);
    opt.zeroGrad();
    expect(lin.weight.grad).toBeNull();
    // a parameter already in a group, or a group's option out of range, is refused
    expect(() => opt.addParamGroup({ params: [lin.weight] })).toThrow(/SGD.addParamGroup: some parameters appear in more than one parameter group/);
    expect(() => opt.addParamGroup({ params: [torch.zeros([2], { requiresGrad: true })], lr: -1 })).toThrow(/SGD: invalid learning rate -1/);
    const adamw = new torch.optim.AdamW([lin.weight], { lr: 1e-3 });
    adamw.addParamGroup({ params: lin.bias!, weightDecay: 0 });
    expect(adamw.paramGroups.map((g) => [g.lr, g.weightDecay])).toEqual([[1e-3, 1e-2], [1e-3, 0]]);
    expect(() => nn.utils.clipGradNorm_(lin.parameters(), { max_norm: 1 } as unknown as { maxNorm: number })).toThrow(/did you mean maxNorm\?/);

    const t = torch.tensor([1, 2], { dtype: 'float32', requiresGrad: true });
    const l = t.mul(t).sum();
    l.backward({ retainGraph: true });
    l.backward();
    expect(t.grad!.tolist()).toEqual(want.twice);
  });

  test('nn.Sequential(OrderedDict([...])) as new nn.Sequential(new Map([...])): layers by name, PyTorch\'s state dict loads into it, same output; a non-module layer is refused', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-seqdict-'));
    const file = path.join(dir, 'seq.pt');
    const want = pythonJson<{ keys: string[]; y: number[] }>(`import torch, json
from collections import OrderedDict
import torch.nn as nn
torch.manual_seed(0)
m = nn.Sequential(OrderedDict([('fc1', nn.Linear(3, 4)), ('act', nn.Tanh()), ('fc2', nn.Linear(4, 2))]))
torch.save(m.state_dict(), ${JSON.stringify(file)})
x = torch.arange(6.).reshape(2, 3) / 5
print(json.dumps({'keys': list(m.state_dict().keys()), 'y': m(x).flatten().tolist()}))`);
    const m = new nn.Sequential(new Map<string, torch.nn.Module & { forward(x: torch.Tensor): torch.Tensor }>([['fc1', new nn.Linear(3, 4)], ['act', new nn.Tanh()], ['fc2', new nn.Linear(4, 2)]]));
    expect([...m.stateDict().keys()]).toEqual(want.keys);
    m.loadStateDict(torch.load(file));
    const y = torch.tidy(() => m.forward(torch.arange(6).reshape([2, 3]).div(5)).flatten().tolist() as number[]);
    y.forEach((a, j) => expect(Math.abs(a - want.y[j])).toBeLessThan(1e-6));
    // the layers by name and by position, as seq.fc1 and seq[0]
    const fc1 = (m as unknown as { fc1: torch.nn.Linear }).fc1;
    expect([fc1 === m.get(0), m.get('fc2') === m.get(-1), m.length]).toEqual([true, true, 3]);
    // a plain object's order is its keys' order, as a Map's
    expect([...new nn.Sequential({ b: new nn.Linear(2, 2), a: new nn.ReLU() }).stateDict().keys()]).toEqual(['b.weight', 'b.bias']);
    // LoRA wraps a named layer in the forward path too
    torch.lora.applyLoRA(m, { r: 2, targetModules: ['fc1'] });
    expect(m.get(0)).toBe((m as unknown as { fc1: torch.nn.Module }).fc1);
    expect(m.get(0).constructor.name).toBe('LoRALayer');
    expect(() => m.get('fc3')).toThrow("nn.Sequential has no layer 'fc3' (it has 'fc1', 'act', 'fc2')");
    expect(() => new nn.Sequential(new nn.Linear(2, 2), [new nn.ReLU()] as never)).toThrow("Sequential: child '1' is an array, not a module (nn.Module)");
    expect(() => new nn.ModuleList([new nn.Linear(2, 2), 3 as never])).toThrow("ModuleList: child '1' is a number, not a module (nn.Module)");
    expect(() => new nn.Sequential(new Map([['a.b', new nn.ReLU()]]))).toThrow(/a name must be non-empty and without '\.'/);
    expect(() => m.namedParameters({ trainable_only: true } as never)).toThrow("namedParameters: unknown option 'trainable_only' (did you mean trainableOnly?)");
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('PyTorch\'s named tuples read as tuples too (_, predicted = torch.max(out, 1); U, S, Vh = torch.linalg.svd(A); x.sort(1)[1]; out, idx = F.max_pool2d(x, 2, return_indices=True)), against PyTorch', () => {
    const x = torch.keep(torch.tensor(X)), img = torch.keep(torch.arange(2 * 4 * 3 * 3).reshape([2, 4, 3, 3]).sin());
    const A = torch.keep(torch.tensor([[4, 1, 2], [1, 3, 0.5], [2, 0.5, 5]]));
    const pick = <T>(tuple: Iterable<T>, k: number): T => [...tuple][k];
    expectLikePyTorch(`${SETUP}
A = torch.tensor([[4, 1, 2], [1, 3, 0.5], [2, 0.5, 5]])
_, predicted = torch.max(x, 1)
U, S, Vh = torch.linalg.svd(A)
Q, R = torch.linalg.qr(A)
sign, logabsdet = torch.linalg.slogdet(A)
out, where = F.max_pool2d(img, 2, return_indices=True)
u, counts = torch.unique(torch.tensor([3, 1, 1, 2, 3, 3]), return_counts=True)`, [
      ['predicted', () => { const [, predicted] = torch.max(x, 1); return predicted; }],
      ['x.max(1)[0]', () => x.max(1)[0]], ['x.sort(1, descending=True)[1]', () => x.sort(1, true)[1]], ['x.topk(2)[0]', () => pick(x.topk(2), 0)],
      ['U @ torch.diag(S) @ Vh', () => { const [U, S, Vh] = torch.linalg.svd(A); return U.matmul(torch.diag(S)).matmul(Vh); }],
      ['Q.abs()', () => { const [Q] = torch.linalg.qr(A); return Q.abs(); }], ['R.abs()', () => torch.linalg.qr(A)[1].abs()],
      ['sign', () => torch.linalg.slogdet(A)[0]], ['logabsdet', () => { const [, l] = torch.linalg.slogdet(A); return l; }],
      ['torch.linalg.eigh(A)[0]', () => torch.linalg.eigh(A)[0]], ['where', () => F.maxPool2dWithIndices(img, 2)[1]], ['out', () => F.maxPool2dWithIndices(img, 2)[0]],
      // return_indices=True as PyTorch takes it: the pair, by name, by position or with every argument by name
      ['F.max_pool2d(img, 2, return_indices=True)[1]', () => F.maxPool2d(img, 2, { returnIndices: true })[1]],
      ['F.max_pool2d(img, 2, None, 0, 1, False, True)[1]', () => F.maxPool2d(img, 2, null, 0, 1, false, true).indices],
      ['F.max_pool2d(img, kernel_size=2, stride=1, return_indices=True)[0]', () => F.maxPool2d(img, { kernelSize: 2, stride: 1, returnIndices: true }).values],
      ['F.max_pool1d(img[0], 2, return_indices=True)[1]', () => F.maxPool1d(img.select(0, 0), 2, { returnIndices: true })[1]],
      ['F.adaptive_max_pool2d(img, 2, True)[1]', () => F.adaptiveMaxPool2d(img, 2, true)[1]],
      ['F.adaptive_max_pool2d(img, output_size=2, return_indices=True)[0]', () => F.adaptiveMaxPool2d(img, { outputSize: 2, returnIndices: true })[0]],
      ['F.adaptive_max_pool2d(img, 2)', () => F.adaptiveMaxPool2d(img, 2)],
      // and the layers built with return_indices=True give the pair too, for MaxUnpool (SegNet's encoder / decoder)
      ['(lambda p: nn.MaxUnpool2d(2)(*p, output_size=img.size()))(nn.MaxPool2d(2, return_indices=True)(img))', () => { const [o, i] = new nn.MaxPool2d(2, { returnIndices: true }).forward(img); return new nn.MaxUnpool2d(2).forward(o, i, img.shape); }],
      ['nn.MaxPool1d(2, 1, 0, 1, True)(img[0])[1]', () => new nn.MaxPool1d(2, 1, 0, 1, true).forward(img.select(0, 0)).indices],
      ['nn.MaxPool3d(kernel_size=2, return_indices=True)(img[None])[1]', () => new nn.MaxPool3d({ kernelSize: 2, returnIndices: true }).forward(img.unsqueeze(0))[1]],
      ['nn.MaxPool2d(2)(img)', () => new nn.MaxPool2d(2).forward(img)],
      ['counts', () => { const [, counts] = torch.unique(torch.tensor([3, 1, 1, 2, 3, 3]), { returnCounts: true }); return counts!; }],
      // with nothing more asked for, torch.unique is a tensor, as PyTorch's (len(torch.unique(labels)) counts classes)
      ['torch.unique(torch.tensor([3, 1, 1, 2, 3, 3]))', () => torch.unique(torch.tensor([3, 1, 1, 2, 3, 3]))],
      ['torch.tensor(len(torch.unique(torch.tensor([[3, 1], [1, 2]]), sorted=False)))', () => torch.tensor(torch.unique(torch.tensor([[3, 1], [1, 2]]), { sorted: false }).numel())],
      ['torch.unique_consecutive(torch.tensor([3, 1, 1, 2, 3, 3]))', () => torch.uniqueConsecutive(torch.tensor([3, 1, 1, 2, 3, 3]))],
      ['torch.unique_consecutive(torch.tensor([3, 1, 1, 2, 3, 3]), return_counts=True)[1]', () => torch.uniqueConsecutive(torch.tensor([3, 1, 1, 2, 3, 3]), { returnCounts: true }).counts!],
      ['torch.aminmax(x)[1]', () => x.aminmax()[1]], ['torch.histogram(x, bins=4)[1]', () => x.histogram(4)[1]],
      ['x.cummax(1)[1]', () => x.cummax(1)[1]], ['x.median(0)[1]', () => x.median(0)[1]], ['x.kthvalue(2, 1)[0]', () => x.kthvalue(2, 1)[0]],
    ], 1e-5);
    // the fields stay the named tuple's: by name, as before; length as Python's len()
    const r = x.max(1);
    expect([r.length, r.values === r[0], r.indices === r[1], Object.keys(r)]).toEqual([2, true, true, ['values', 'indices']]);
    // tidy() keeps a returned named tuple's tensors, and torch.save writes it as its fields
    const kept = torch.tidy(() => x.sort(1));
    expect([kept.values.isDisposed, kept[1].isDisposed]).toEqual([false, false]);
    for (const t of [x, img, A, ...kept]) t.dispose();
  });

  test('a float-only op on a tensor of whole numbers (int64: JS writes 1.0 as 1) says how to get a float tensor', () => {
    const ints = torch.tensor([[1, 2], [3, 4]]);
    expect(ints.dtype).toBe('int64');
    const note = /is int64 as PyTorch's; JS writes 1\.0 as 1, so give \{ dtype: 'float32' \} or call \.float\(\)/;
    expect(() => ints.mean()).toThrow(note);
    expect(() => F.softmax(ints, -1)).toThrow(note);
    expect(() => ints.std()).toThrow(note);
    expect(() => ints.maskedFill(ints.gt(2), -Infinity)).toThrow(note);
    expect(() => ints.requiresGrad_()).toThrow(note);
    // (an error about something else gets no such note)
    expect(() => ints.matmul(torch.ones([3, 3], { dtype: 'int64' }))).toThrow(/^(?![\s\S]*JS writes 1\.0)/);
    expect(ints.float().mean().item()).toBe(2.5);
    ints.dispose();
  });

  test('F.* with their required arguments by name (F.unfold(x, kernel_size=2), F.conv2d(x, w, padding=1), F.pad(x, pad=(1, 1)), ...), against PyTorch', () => {
    const img = torch.keep(torch.arange(2 * 4 * 3 * 3).reshape([2, 4, 3, 3]).sin());
    const w = torch.keep(torch.arange(3 * 4 * 2 * 2).reshape([3, 4, 2, 2]).cos()), b3 = torch.keep(torch.tensor([0.1, -0.2, 0.3]));
    const wt = torch.keep(torch.arange(4 * 2 * 2 * 2).reshape([4, 2, 2, 2]).cos());
    expectLikePyTorch(`${SETUP}
w = torch.arange(3 * 4 * 2 * 2, dtype=torch.float32).reshape(3, 4, 2, 2).cos(); b3 = torch.tensor([0.1, -0.2, 0.3])
wt = torch.arange(4 * 2 * 2 * 2, dtype=torch.float32).reshape(4, 2, 2, 2).cos()
pooled, where = F.max_pool2d(img, 2, stride=1, return_indices=True)`, [
      ['F.conv2d(img, w, padding=1)', () => F.conv2d(img, w, { padding: 1 })],
      ['F.conv2d(img, w, bias=b3, stride=2, padding=1)', () => F.conv2d(img, w, { bias: b3, stride: 2, padding: 1 })],
      ['F.conv_transpose2d(img, wt, stride=2)', () => F.convTranspose2d(img, wt, { stride: 2 })],
      ['F.unfold(img, kernel_size=2)', () => F.unfold(img, { kernelSize: 2 })], ['F.unfold(img, kernel_size=2, stride=1, padding=1)', () => F.unfold(img, { kernelSize: 2, stride: 1, padding: 1 })],
      ['F.fold(F.unfold(img, 2), output_size=(3, 3), kernel_size=2)', () => F.fold(F.unfold(img, 2), { outputSize: [3, 3], kernelSize: 2 })],
      ['F.fold(F.unfold(img, 2), (3, 3), kernel_size=2)', () => F.fold(F.unfold(img, 2), [3, 3], { kernelSize: 2 })],
      ['F.pad(img, pad=(1, 2), value=0.5)', () => F.pad(img, { pad: [1, 2], value: 0.5 })],
      ['F.layer_norm(img, normalized_shape=(3, 3))', () => F.layerNorm(img, { normalizedShape: [3, 3] })],
      ['F.group_norm(img, num_groups=2, eps=1e-3)', () => F.groupNorm(img, { numGroups: 2, eps: 1e-3 })],
      ['F.pixel_shuffle(img, upscale_factor=2)', () => F.pixelShuffle(img, { upscaleFactor: 2 })],
      ['F.adaptive_avg_pool2d(img, output_size=1)', () => F.adaptiveAvgPool2d(img, { outputSize: 1 })],
      ['F.adaptive_max_pool2d(img, output_size=(2, 1))', () => F.adaptiveMaxPool2d(img, { outputSize: [2, 1] })],
      ['F.lp_pool2d(img, norm_type=2, kernel_size=2)', () => F.lpPool2d(img, { normType: 2, kernelSize: 2 })],
      ['F.local_response_norm(img, size=2)', () => F.localResponseNorm(img, { size: 2 })],
      ['F.max_unpool2d(pooled, where, kernel_size=2, stride=1)', () => { const [pooled, where] = F.maxPool2dWithIndices(img, 2, { stride: 1 }); return F.maxUnpool2d(pooled, where, { kernelSize: 2, stride: 1 }); }],
      ['F.affine_grid(torch.eye(2, 3)[None], size=(1, 1, 2, 3), align_corners=False)', () => F.affineGrid(torch.eye(2, 3).unsqueeze(0), { size: [1, 1, 2, 3], alignCorners: false })],
    ], 1e-5);
    expect(() => F.unfold(img, { stride: 2 } as never)).toThrow('F.unfold: give kernelSize (by position, or by name: F.unfold(x, { kernelSize }))');
    expect(() => F.unfold(img, { kernel_size: 2 } as never)).toThrow("'kernel_size' is PyTorch's spelling");
    expect(() => F.conv2d(img, w, { padding: 1, strid: 2 } as never)).toThrow("conv2d: unknown option 'strid'");
    for (const t of [img, w, b3, wt]) t.dispose();
  });

  test('keywords after the arguments as PyTorch code gives them: checkpoint(m, x, use_reentrant=False), torch.Generator(device=...); misspelt ones are errors', () => {
    torch.manualSeed(0);
    const lin = new nn.Linear(3, 2), x = torch.randn([4, 3], { requiresGrad: true });
    torch.tidy(() => lin.forward(x).tanh().sum().backward());
    const [gw, gx] = [lin.weight.grad!.clone(), x.grad!.clone()];
    lin.zeroGrad();
    x.grad = null;
    // the options object is taken out of the module's arguments (its forward would get it as an input otherwise)
    torch.tidy(() => torch.utils.checkpoint.checkpoint(lin, x, { useReentrant: false }).tanh().sum().backward());
    expect([lin.weight.grad!.equal(gw), x.grad!.equal(gx)]).toEqual([true, true]);
    expect(() => torch.utils.checkpoint.checkpoint(lin, x, { use_reentrant: false })).toThrow("checkpoint: unknown option 'use_reentrant' (did you mean useReentrant?)");
    const g = new torch.Generator({ device: 'cpu' }).manualSeed(7);
    expect(torch.randn([3], { generator: g }).tolist()).toEqual(pythonJson<number[]>("import torch, json\nprint(json.dumps(torch.randn(3, generator=torch.Generator(device='cpu').manual_seed(7)).tolist()))"));
    expect(() => new torch.Generator({ devce: 'cpu' } as never)).toThrow("Generator: unknown option 'devce' (did you mean device?)");
    expect(() => torch.autograd.gradcheck((t: torch.Tensor) => t.mul(2), [torch.ones([2], { dtype: 'float64', requiresGrad: true })], { raise_exception: false } as never))
      .toThrow("gradcheck: unknown option 'raise_exception' (did you mean raiseException?)");
    expect(() => new torch.utils.tensorboard.SummaryWriter(path.join(os.tmpdir(), 'tstorch-never'), { flush_secs: 1 } as never)).toThrow("SummaryWriter: unknown option 'flush_secs' (did you mean flushSecs?)");
    for (const t of [gw, gx, x]) t.dispose();
  });

  test('p.data as PyTorch code uses it (m.weight.data.normal_(0, 0.02), p.data.clamp_(-c, c), p.data = t), against PyTorch; p.data() stays the typed-array copy', () => {
    const want = pythonJson<{ init: number[]; clipped: number[]; replaced: number[]; out: number[]; grad: number[] }>(`import torch, json
import torch.nn as nn
torch.manual_seed(0)
lin = nn.Linear(3, 2)
lin.weight.data.normal_(0.0, 0.02); lin.bias.data.fill_(0.1)
init = lin.weight.flatten().tolist()
for p in lin.parameters(): p.data.clamp_(-0.01, 0.01)
clipped = lin.weight.flatten().tolist() + lin.bias.tolist()
opt = torch.optim.SGD(lin.parameters(), lr=0.5)
lin.weight.data = torch.arange(6.).reshape(2, 3) / 10
x = torch.tensor([[1., 2., 3.]])
lin(x).sum().backward(); opt.step()
print(json.dumps({'init': init, 'clipped': clipped, 'replaced': lin.weight.flatten().tolist(), 'out': lin(x).flatten().tolist(), 'grad': lin.weight.grad.flatten().tolist()}))`);
    torch.manualSeed(0);
    const lin = new nn.Linear(3, 2);
    lin.weight.data.normal_(0, 0.02);
    lin.bias!.data.fill_(0.1);
    const close = (got: number[], w: number[]) => got.forEach((v, j) => expect(Math.abs(v - w[j])).toBeLessThan(1e-6));
    close(lin.weight.flatten().tolist() as number[], want.init);
    for (const p of lin.parameters()) p.data.clamp_(-0.01, 0.01);
    close([...(lin.weight.flatten().tolist() as number[]), ...(lin.bias!.tolist() as number[])], want.clipped);
    // p.data = t: the parameter keeps its identity (the optimizer still steps it) and takes t's values
    const opt = new torch.optim.SGD(lin.parameters(), { lr: 0.5 });
    lin.weight.data = torch.arange(6).reshape([2, 3]).div(10);
    expect([lin.weight.requiresGrad, opt.paramGroups[0].params[0] === lin.weight]).toEqual([true, true]);
    const x = torch.tensor([[1, 2, 3]], { dtype: 'float32' });
    torch.tidy(() => lin.forward(x).sum().backward());
    opt.step();
    close(lin.weight.flatten().tolist() as number[], want.replaced);
    close(lin.weight.grad!.flatten().tolist() as number[], want.grad);
    close(torch.tidy(() => lin.forward(x).flatten().tolist() as number[]), want.out);
    // still the typed-array copy when called, and a tensor when used as one
    expect([lin.weight.data().constructor.name === 'Float32Array', lin.weight.data instanceof torch.Tensor, torch.cat([lin.weight.data, lin.weight.data]).shape]).toEqual([true, true, [4, 3]]);
    // printed as the tensor (print(p.data)), not as the function it also is
    expect(inspect(lin.weight.data)).toBe(inspect(lin.weight.detach()));
    // writes through .data do not count as autograd's: no graph is made
    expect(torch.tidy(() => lin.weight.data.mul(2).requiresGrad)).toBe(false);
    expect(() => { (lin.weight as { data: unknown }).data = 3; }).toThrow('Tensor.data = ...: expected a Tensor, got');
    x.dispose();
  });
});
