// torch.vmap against PyTorch 1.13's torch.vmap (the same ATen batched tensors), float64: values
// within 1e-12, gradients through vmap, autograd.grad's isGradsBatched, and jacobian / hessian
// with vectorize against PyTorch's vectorize=True; PyTorch's refusals for bad inDims.
import * as torch from '../lib';
import { pythonJson, expectFlatClose } from './helpers';

type T = torch.Tensor;
const F = torch.nn.functional;

// [name, ours, PyTorch's (vmap is torch._vmap_internals.vmap)] on x (3, 4), y (3, 4), w (4, 2), z (4, 3)
const cases: [string, (x: T, y: T, w: T, z: T) => T | T[], string][] = [
  ['rows@w', (x, _y, w) => torch.vmap((r: T) => r.matmul(w))(x), 'vmap(lambda r: r @ w)(x)'],
  ['inDim1.sum', (x) => torch.vmap((c: T) => c.sum(), 1)(x), 'vmap(lambda c: c.sum(), 1)(x)'],
  ['dot', (x, y) => torch.vmap((a: T, b: T) => a.dot(b))(x, y), 'vmap(lambda a, b: a.dot(b))(x, y)'],
  ['mixedInDims', (x, _y, _w, z) => torch.vmap((a: T, b: T) => a.mul(b).softmax(0), [0, 1])(x, z), 'vmap(lambda a, b: (a * b).softmax(0), (0, 1))(x, z)'],
  ['outer', (x, y) => torch.vmap(torch.vmap((a: T, b: T) => a.mul(b), [null, 0]), [0, null])(x.select(1, 0), y.select(0, 1)), 'vmap(vmap(lambda a, b: a * b, (None, 0)), (0, None))(x[:, 0], y[1])'],
  ['nested.rows', (x) => torch.vmap(torch.vmap((e: T) => e.sin().mul(e)))(x), 'vmap(vmap(lambda e: e.sin() * e))(x)'],
  ['twoOuts.outDims', (x, _y, w) => torch.vmap((r: T) => [r.matmul(w), r.exp()], 0, [1, 0])(x), 'vmap(lambda r: (r @ w, r.exp()), 0, (1, 0))(x)'],
  ['listArg', (x, y) => torch.vmap((ab: T[]) => ab[0].sub(ab[1]).abs().max())([x, y]), 'vmap(lambda ab: (ab[0] - ab[1]).abs().max())([x, y])'],
  ['layerNorm.gelu', (x) => torch.vmap((r: T) => F.gelu(F.layerNorm(r, [4])))(x), 'vmap(lambda r: F.gelu(F.layer_norm(r, [4])))(x)'],
  ['linear.shared', (x, _y, w) => torch.vmap((r: T, W: T) => F.linear(r, W.t()), [0, null])(x, w), 'vmap(lambda r, W: F.linear(r, W.t()), (0, None))(x, w)'],
  ['cumsum.fallback', (x) => torch.vmap((r: T) => r.cumsum(0).flip([0]))(x), 'vmap(lambda r: r.cumsum(0).flip([0]))(x)'],
  ['outer.product', (x, y) => torch.vmap((a: T, b: T) => torch.outer(a, b))(x, y), 'vmap(lambda a, b: torch.outer(a, b))(x, y)'],
];

let ref: Record<string, number[][]>;
let x: T, y: T, w: T, z: T, g: T;
beforeAll(() => {
  torch.manualSeed(5);
  const r = (...s: number[]) => torch.keep(torch.randn(s, { dtype: 'float64' }));
  [x, y, w, z, g] = [r(3, 4), r(3, 4), r(4, 2), r(4, 3), r(5, 3, 2)];
  const py = `
import json, sys, torch
import torch.nn.functional as F
from torch._vmap_internals import vmap
import torch.autograd.functional as AF
a = json.loads(sys.argv[1])
x, y, w, z, g = (torch.tensor(a[k], dtype=torch.float64) for k in 'xywzg')
flat = lambda r: [t.flatten().tolist() for t in (r if isinstance(r, (tuple, list)) else [r])]
out = {${cases.map(([n, , p]) => `${JSON.stringify(n)}: flat(${p})`).join(', ')}}
# gradients through vmap
xg = x.clone().requires_grad_()
vmap(lambda r: (r @ w).tanh().sum())(xg).pow(2).sum().backward()
out['grad'] = flat(xg.grad)
# is_grads_batched: five vector-Jacobian products at once
xg = x.clone().requires_grad_()
out['batchedGrad'] = flat(torch.autograd.grad((xg @ w).sin(), xg, g, is_grads_batched=True))
f = lambda a, b: ((a @ b).tanh(), a.sin().sum(1))
out['jac'] = flat([t for row in AF.jacobian(f, (x[:2, :3], w[:3]), vectorize=True) for t in row])
out['jacFwd'] = flat([t for row in AF.jacobian(f, (x[:2, :3], w[:3]), vectorize=True, strategy='forward-mode') for t in row])
out['hess'] = flat(AF.hessian(lambda a: (a.sin() * a.pow(2)).sum(), x, vectorize=True))
print(json.dumps(out))`;
  ref = pythonJson(py, JSON.stringify({ x: x.tolist(), y: y.tolist(), w: w.tolist(), z: z.tolist(), g: g.tolist() }));
}, 60_000);

const expectClose = (name: string, got: T | T[] | (T | null)[]) => expectFlatClose(name, (Array.isArray(got) ? got : [got]) as T[], ref[name]);

test.each(cases.map(([n, f]) => [n, f] as const))('vmap %s as PyTorch (1e-12)', (name, f) => {
  torch.tidy(() => expectClose(name, f(x, y, w, z)));
});

test('vmap equals stacking f over the examples (an independent loop), and leaves no tensor behind', () => {
  torch.tidy(() => {
    const f = (r: T, s: T) => r.exp().mul(s.sum()).div(r.norm());
    const loop = torch.stack([0, 1, 2].map((i) => f(x.select(0, i), y.select(0, i))));
    torch.testing.assertClose(torch.vmap(f)(x, y), loop, { rtol: 0, atol: 1e-14 });
  });
  const before = torch.memory().liveTensors;
  torch.vmap((r: T) => r.sin().cos().matmul(w))(x).dispose();
  expect(torch.memory().liveTensors).toBe(before);
});

test('gradients flow through vmap; isGradsBatched gives one vector-Jacobian product per row', () => {
  torch.tidy(() => {
    const xg = x.clone().requiresGrad_();
    torch.vmap((r: T) => r.matmul(w).tanh().sum())(xg).pow(2).sum().backward();
    expectClose('grad', xg.grad!);
    const xb = x.clone().requiresGrad_();
    expectClose('batchedGrad', torch.autograd.grad(xb.matmul(w).sin(), xb, { gradOutputs: [g], isGradsBatched: true }));
    expect(() => torch.autograd.grad(xb.sum(), xb, { isGradsBatched: true })).toThrow(/needs a gradOutputs tensor/);
  });
});

test('jacobian (reverse and forward mode) and hessian with vectorize as PyTorch\'s vectorize=True, and as the unvectorized ones', () => {
  torch.tidy(() => {
    const AF = torch.autograd.functional;
    const f = (a: T, b: T) => [a.matmul(b).tanh(), a.sin().sum(1)];
    const inputs = [x.narrow(0, 0, 2).narrow(1, 0, 3), w.narrow(0, 0, 3)];
    const jv = AF.jacobian(f, inputs, { vectorize: true }) as T[][];
    expectClose('jac', jv.flat());
    expectClose('jacFwd', (AF.jacobian(f, inputs, { vectorize: true, strategy: 'forward-mode' }) as T[][]).flat());
    expect(() => AF.jacobian(f, inputs, { strategy: 'forward-mode' })).toThrow(/only implemented for `vectorize=True`/);
    const jl = AF.jacobian(f, inputs) as T[][];
    jv.flat().forEach((t, k) => torch.testing.assertClose(t, jl.flat()[k], { rtol: 0, atol: 1e-14 }));
    const h = (a: T) => a.sin().mul(a.pow(2)).sum();
    expectClose('hess', AF.hessian(h, x, { vectorize: true }) as T);
    expect(() => AF.jacobian(f, inputs, { vectorize: true, strict: true })).toThrow(/not supported together/);
  });
});

test('PyTorch\'s refusals: batch sizes that differ, inDim out of range, a mapped non-tensor, no inputs, outDims per output', () => {
  torch.tidy(() => {
    expect(() => torch.vmap((a: T, b: T) => a.add(b))(x, z)).toThrow(/same size in the mapped dimension, got sizes 3, 4/);
    expect(() => torch.vmap((a: T) => a, 2)(x)).toThrow(/Got inDim=2 for some input, but that input is a Tensor of dimensionality 2/);
    expect(() => torch.vmap((a: T, k: number) => a.mul(k))(x, 2)).toThrow(/We cannot vmap over non-Tensor arguments, please use null/);
    expect(torch.vmap((a: T, k: number) => a.mul(k), [0, null])(x, 2).shape).toEqual([3, 4]);
    expect(() => torch.vmap(() => x)()).toThrow(/got no inputs/);
    expect(() => torch.vmap((a: T) => [a, a], 0, [0])(x)).toThrow(/one dim per output \(got 2 outputs\)/);
    expect(() => torch.vmap((a: T) => a, [0, 0])(x)).toThrow(/not compatible with the structure/);
    // an output that does not depend on the mapped inputs is repeated per example
    expect(torch.vmap((_a: T) => torch.ones([2]), 0, 1)(x).shape).toEqual([2, 3]);
  });
});
