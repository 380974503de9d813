// Forward-mode AD (torch.autograd.forward_ad, torch.func.jvp) against PyTorch's forward_ad, float64:
// each function's value and tangent (J·v) within 1e-12, plus the level rules and the refusals.
import * as torch from '../lib';
import { pythonJson } from './helpers';

type T = torch.Tensor;
const fa = torch.autograd.forwardAd;

// [name, ours, PyTorch's] on x (3, 4) and w (4, 2); the tangent rides on x only.
const cases: [string, (x: T, w: T) => T, string][] = [
  ['sin*exp', (x) => x.sin().mul(x.exp()), 'x.sin() * x.exp()'],
  ['matmul.tanh', (x, w) => x.matmul(w).tanh(), '(x @ w).tanh()'],
  ['softmax', (x) => x.softmax(-1), 'x.softmax(-1)'],
  ['logsumexp', (x) => x.logsumexp(1), 'x.logsumexp(1)'],
  ['sum.pow', (x) => x.pow(3).sum(0), 'x.pow(3).sum(0)'],
  ['gelu', (x) => torch.nn.functional.gelu(x), 'torch.nn.functional.gelu(x)'],
  ['layer_norm', (x) => torch.nn.functional.layerNorm(x, [4]), 'torch.nn.functional.layer_norm(x, [4])'],
  ['view.t.slice', (x) => x.t().narrow(0, 1, 2).reshape([6]), 'x.t().narrow(0, 1, 2).reshape(6)'],
  ['div.sqrt.abs', (x) => x.abs().add(1).sqrt().div(x.exp()), '(x.abs() + 1).sqrt() / x.exp()'],
  ['max.dim', (x) => x.max(1).values, 'x.max(1).values'],
  ['cumsum.prod', (x) => x.cumsum(1).prod(0), 'x.cumsum(1).prod(0)'],
];

let ref: Record<string, { value: number[]; tangent: number[] }>;
let x: T, v: T, w: T;
beforeAll(() => {
  torch.manualSeed(11);
  x = torch.keep(torch.randn([3, 4], { dtype: 'float64' }));
  v = torch.keep(torch.randn([3, 4], { dtype: 'float64' }));
  w = torch.keep(torch.randn([4, 2], { dtype: 'float64' }));
  const py = `
import json, sys, torch
import torch.autograd.forward_ad as fa
a = json.loads(sys.argv[1])
X, V, w = (torch.tensor(a[k], dtype=torch.float64) for k in ('x', 'v', 'w'))
fns = {${cases.map(([n, , p]) => `${JSON.stringify(n)}: lambda x: ${p}`).join(', ')}}
out = {}
for name, f in fns.items():
    with fa.dual_level():
        p, t = fa.unpack_dual(f(fa.make_dual(X, V)))
        out[name] = {'value': p.flatten().tolist(), 'tangent': t.flatten().tolist()}
print(json.dumps(out))`;
  ref = pythonJson(py, JSON.stringify({ x: x.tolist(), v: v.tolist(), w: w.tolist() }));
}, 60_000);

const close = (got: T, want: number[]) => {
  const g = got.flatten().tolist() as number[];
  expect(g.length).toBe(want.length);
  const err = Math.max(0, ...g.map((a, k) => Math.abs(a - want[k])));
  return err;
};

test.each(cases.map(([n, f]) => [n, f] as const))('%s: value and tangent as PyTorch forward_ad (1e-12)', (name, f) => {
  fa.dualLevel(() =>
    torch.tidy(() => {
      const { primal, tangent } = fa.unpackDual(f(fa.makeDual(x, v), w));
      expect(tangent).not.toBeNull();
      expect(close(primal, ref[name].value)).toBeLessThan(1e-12);
      expect(close(tangent!, ref[name].tangent)).toBeLessThan(1e-12);
    }),
  );
});

test('func.jvp gives [f(x), J·v] for one and for several outputs, and the levels close behind it', () => {
  torch.tidy(() => {
    const [y, jv] = torch.func.jvp((a: T) => a.sin().mul(a.exp()), [x], [v]);
    expect(close(y, ref['sin*exp'].value)).toBeLessThan(1e-12);
    expect(close(jv, ref['sin*exp'].tangent)).toBeLessThan(1e-12);
    const [ys, jvs] = torch.func.jvp((a: T) => [a.softmax(-1), a.matmul(w).tanh(), w.sum()], [x], [v]);
    expect(close(ys[1], ref['matmul.tanh'].value)).toBeLessThan(1e-12);
    expect(close(jvs[0], ref['softmax'].tangent)).toBeLessThan(1e-12);
    expect(close(jvs[1], ref['matmul.tanh'].tangent)).toBeLessThan(1e-12);
    // an output that does not depend on the primals has a zero tangent
    expect(jvs[2].item()).toBe(0);
    // two primals: the tangents add (linearity of J)
    const [, both] = torch.func.jvp((a: T, b: T) => a.mul(b), [x, x], [v, v]);
    const [, one] = torch.func.jvp((a: T) => a.mul(a), [x], [v]);
    expect(close(both, one.flatten().tolist() as number[])).toBeLessThan(1e-12);
  });
  // no level is left open: a dual tensor needs one
  expect(() => fa.makeDual(x, v)).toThrow(/no level exists/);
  expect(() => torch.func.jvp((a: T) => a, [x], [torch.zeros([2])])).toThrow(/tangent is \[2\]/);
});

test('one level at a time (as in PyTorch); tangents die with their level; integer primals are refused', () => {
  const level = fa.enterDualLevel();
  let d: T;
  try {
    expect(() => fa.makeDual(torch.tensor([1, 2], { dtype: 'int64' }), torch.tensor([1.0, 1.0]))).toThrow(/floating point/);
    d = fa.makeDual(x, v);
    expect(fa.unpackDual(d).tangent).not.toBeNull();
    expect(() => fa.enterDualLevel()).toThrow(/Nested forward mode AD is not supported/);
    expect(() => fa.exitDualLevel({ level: level + 1 })).toThrow(/not the last one/);
  } finally {
    fa.exitDualLevel();
  }
  expect(fa.unpackDual(d).tangent).toBeNull();
  // a new level after it works, and ops outside levels are plain again
  fa.dualLevel(() => expect(fa.unpackDual(fa.makeDual(x, v).exp()).tangent).not.toBeNull());
  d.dispose();
});
