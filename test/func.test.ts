// torch.func (grad, gradAndValue, vjp, jacrev, jacfwd, hessian) against functorch 1.13 (the same
// API, PyTorch's own), float64 within 1e-12: argnums, several outputs, hasAux, nesting, and
// functorch's refusals.
import * as torch from '../lib';
import { pythonJson, expectFlatClose } from './helpers';

type T = torch.Tensor;
const Fn = torch.func;

let ref: Record<string, number[][]>;
let x: T, y: T, c: T, c2: T;
beforeAll(() => {
  torch.manualSeed(21);
  const r = (...s: number[]) => torch.keep(torch.randn(s, { dtype: 'float64' }));
  [x, y, c, c2] = [r(3), r(2, 3), r(2, 3), r(3)];
  const py = `
import json, sys, torch
import functorch as ft
a = json.loads(sys.argv[1])
x, y, c, c2 = (torch.tensor(a[k], dtype=torch.float64) for k in ('x', 'y', 'c', 'c2'))
flat = lambda r: [t.flatten().tolist() for t in (r if isinstance(r, (tuple, list)) else [r])]
f1 = lambda a: (a.sin() * a).sum()
f2 = lambda a, b: (b @ a.exp()).pow(2).sum()
f3 = lambda a, b: ((b @ a).tanh(), b.sin() * a)
out = {}
out['grad'] = flat(ft.grad(f1)(x))
out['grad.argnums'] = flat(ft.grad(f2, argnums=(0, 1))(x, y))
g, (v, aux) = ft.grad_and_value(lambda a, b: (f2(a, b), b.mean()), argnums=1, has_aux=True)(x, y)
out['gradAndValue'] = flat([g, v, aux])
o, fn = ft.vjp(f3, x, y)
out['vjp.out'] = flat(o)
out['vjp'] = flat(fn((c[:, 0], c)))
out['jacrev'] = flat(ft.jacrev(lambda a: a.sin() * a.sum())(x))
out['jacrev.multi'] = flat([t for row in ft.jacrev(f3, argnums=(0, 1))(x, y) for t in row])
out['jacfwd'] = flat(ft.jacfwd(lambda a: a.sin() * a.sum())(x))
out['jacfwd.multi'] = flat([t for row in ft.jacfwd(f3, argnums=(0, 1))(x, y) for t in row])
out['hessian'] = flat(ft.hessian(f1)(x))
out['hessian.2'] = flat(ft.hessian(f2, argnums=1)(x, y))
out['grad.grad'] = flat(ft.grad(lambda a: ft.grad(f1)(a).dot(c2))(x))
print(json.dumps(out))`;
  ref = pythonJson(py, JSON.stringify({ x: x.tolist(), y: y.tolist(), c: c.tolist(), c2: c2.tolist() }));
}, 60_000);

const f1 = (a: T) => a.sin().mul(a).sum();
const f2 = (a: T, b: T) => b.matmul(a.exp()).pow(2).sum();
const f3 = (a: T, b: T) => [b.matmul(a).tanh(), b.sin().mul(a)];

const expectClose = (name: string, got: unknown) => expectFlatClose(name, (got instanceof torch.Tensor ? [got] : (got as unknown[]).flat(2)) as T[], ref[name]);

test('grad and gradAndValue as functorch\'s: argnums, hasAux (aux detached), nested grad of grad', () => {
  torch.tidy(() => {
    expectClose('grad', Fn.grad(f1)(x));
    expectClose('grad.argnums', Fn.grad(f2, { argnums: [0, 1] })(x, y));
    const [g, [v, aux]] = Fn.gradAndValue((a: T, b: T) => [f2(a, b), b.mean()], { argnums: 1, hasAux: true })(x, y);
    expectClose('gradAndValue', [g, v, aux]);
    expect(aux.requiresGrad).toBe(false);
    expect(g.requiresGrad).toBe(false);
    expectClose('grad.grad', Fn.grad((a: T) => (Fn.grad(f1)(a) as T).dot(c2))(x));
    // an input f does not use gets a zero gradient
    expect((Fn.grad((a: T, b: T) => b.sum(), { argnums: 0 })(x, y) as T).abs().sum().item()).toBe(0);
  });
});

test('vjp as functorch\'s: outputs, and a vjpFn that can be called again', () => {
  torch.tidy(() => {
    const [out, vjpFn] = Fn.vjp(f3, [x, y]);
    expectClose('vjp.out', out);
    expectClose('vjp', vjpFn([c.select(1, 0), c]));
    expectClose('vjp', vjpFn([c.select(1, 0), c]));
    expect(() => vjpFn([c, c])).toThrow(/Mismatch in shape: grad_output\[0\] has a shape of \[2,3\] and output\[0\] has a shape of \[2\]/);
    expect(() => vjpFn([c])).toThrow(/1 cotangents for 2 outputs/);
  });
});

test('jacrev and jacfwd as functorch\'s, aux through both', () => {
  torch.tidy(() => {
    const g = (a: T) => a.sin().mul(a.sum());
    expectClose('jacrev', Fn.jacrev(g)(x));
    expectClose('jacfwd', Fn.jacfwd(g)(x));
    expectClose('jacrev.multi', Fn.jacrev(f3, [0, 1])(x, y));
    expectClose('jacfwd.multi', Fn.jacfwd(f3, [0, 1])(x, y));
    // aux passes through both (jacfwd's out of its vmap)
    const [, auxR] = Fn.jacrev((a: T) => [a.exp(), a.max()], 0, { hasAux: true })(x);
    const [, auxF] = Fn.jacfwd((a: T) => [a.exp(), { top: a.max(), n: 3 }], 0, { hasAux: true })(x);
    expect(auxR.item()).toBe(x.max().item());
    expect([auxF.top.item(), auxF.n]).toEqual([x.max().item(), 3]);
    // one forward pass per column (libtorch 2.x's default): the same Jacobians and aux
    expectClose('jacfwd', Fn.jacfwd(g, 0, { vectorize: false })(x));
    expectClose('jacfwd.multi', Fn.jacfwd(f3, [0, 1], { vectorize: false })(x, y));
    const [, auxL] = Fn.jacfwd((a: T) => [a.exp(), { top: a.max(), n: 3 }], 0, { hasAux: true, vectorize: false })(x);
    expect([auxL.top.item(), auxL.n]).toEqual([x.max().item(), 3]);
  });
});

test('hessian as functorch\'s (one input, and one of two by argnums)', () => {
  torch.tidy(() => {
    expectClose('hessian', Fn.hessian(f1)(x));
    expectClose('hessian.2', Fn.hessian(f2, 1)(x, y));
  });
});

test('functorch\'s refusals: a non-scalar output, an argnum out of range, an integer input, aux without a pair', () => {
  torch.tidy(() => {
    expect(() => Fn.grad((a: T) => a.sin())(x)).toThrow(/Expected f\(\*args\) to return a scalar Tensor, got tensor with 1 dims/);
    expect(() => Fn.grad((a: T) => a.sum(), { argnums: 2 })(x)).toThrow(/Got argnum=2, but only 1 positional inputs/);
    expect(() => Fn.grad((a: T) => a.sum())(torch.arange(3))).toThrow(/int64; only floating point/);
    expect(() => Fn.grad((a: T) => a.sum(), { hasAux: true })(x)).toThrow(/should be a tuple: \(output, aux\)/);
    expect(() => Fn.jacrev((a: T) => a, [0, 0])(x)).toThrow(/argnums must be unique/);
  });
});
