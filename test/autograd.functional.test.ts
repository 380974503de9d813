// torch.autograd.functional against PyTorch's (scripts/reference/autograd_functional_ref.py),
// float64: vjp, jvp, jacobian (single and several inputs and outputs), hessian, vhp, hvp, and a
// jacobian made with createGraph differentiated again, within 1e-12; every result in PyTorch's
// tuple structure.
import * as torch from '../lib';
import { referenceTensors } from './helpers';

type T = torch.Tensor;
const AF = torch.autograd.functional;
const f1 = (x: T, y: T) => x.exp().mul(y.sin()).sum();
const f2 = (x: T) => x.pow(3).cumsum(0);
const f3 = (x: T, y: T) => [x.matmul(y), x.mul(2).sum(1)];
const f4 = (x: T) => x.sin().mul(x.pow(2)).sum();

const inputs = new Map<string, T>();
let want: Map<string, T>;
beforeAll(() => {
  torch.manualSeed(4);
  const r = (...s: number[]) => torch.keep(torch.randn(s, { dtype: 'float64' }));
  for (const [k, s] of Object.entries({ a: [2, 3], b: [2, 3], c: [2, 3], d: [3, 2], x4: [4], v4: [4], v22: [2, 2], v2: [2], u4: [4], uc: [2, 3], ud: [3, 2], w4: [4], va: [2, 3], vb: [2, 3] })) inputs.set(k, r(...s));
  want = referenceTensors('autograd_functional_ref.py', inputs);
}, 60_000);

const flat = (r: unknown): T[] => (r instanceof torch.Tensor ? [r] : (r as unknown[]).flatMap(flat));
function same(name: string, got: unknown): void {
  const ts = flat(got);
  const theirs = [...want.keys()].filter((k) => k.startsWith(`${name}.`));
  expect([name, ts.length]).toEqual([name, theirs.length]);
  ts.forEach((t, k) => {
    const w = want.get(`${name}.${k}`)!;
    expect([name, k, t.shape]).toEqual([name, k, w.shape]);
    const e = torch.tidy(() => (t.sub(w).abs().max().item() as number) / Math.max(w.abs().max().item() as number, 1));
    if (!(e < 1e-12)) throw new Error(`${name}.${k}: off by ${e}`);
    expect(t.requiresGrad).toBe(false); // detached without createGraph
  });
}

test('vjp, jvp, jacobian, hessian, vhp and hvp as PyTorch\'s, in its tuple structure', () => {
  const i = (k: string) => inputs.get(k)!;
  torch.tidy(() => {
    same('vjp_f2', AF.vjp(f2, i('x4'), i('v4')));
    same('vjp_f3', AF.vjp(f3, [i('c'), i('d')], [i('v22'), i('v2')]));
    same('vjp_f1', AF.vjp(f1, [i('a'), i('b')]));
    same('jvp_f2', AF.jvp(f2, i('x4'), i('u4')));
    same('jvp_f3', AF.jvp(f3, [i('c'), i('d')], [i('uc'), i('ud')]));
    const j2 = AF.jacobian(f2, i('x4'));
    expect(j2).toBeInstanceOf(torch.Tensor);
    same('jac_f2', j2);
    const j3 = AF.jacobian(f3, [i('c'), i('d')]) as T[][];
    expect([j3.length, j3[0].length, j3[0][1].shape]).toEqual([2, 2, [2, 2, 3, 2]]);
    same('jac_f3', j3);
    same('jac_f1', AF.jacobian(f1, [i('a'), i('b')]));
    same('jac_two_out', AF.jacobian((x) => [x.sin(), x.cos()], i('x4')));
    same('hess_f4', AF.hessian(f4, i('x4')));
    same('hess_f1', AF.hessian(f1, [i('a'), i('b')]));
    same('vhp_f4', AF.vhp(f4, i('x4'), i('w4')));
    same('hvp_f4', AF.hvp(f4, i('x4'), i('w4')));
    same('hvp_f1', AF.hvp(f1, [i('a'), i('b')], [i('va'), i('vb')]));
  });
});

test('createGraph keeps the jacobian differentiable; bad v and functions are PyTorch\'s errors; memory flat', () => {
  torch.tidy(() => {
    const x = inputs.get('x4')!.clone().requiresGrad_(true);
    const J = AF.jacobian(f2, x, { createGraph: true }) as T;
    expect(J.requiresGrad).toBe(true);
    J.pow(2).sum().backward();
    const w = want.get('jac_grad.0')!;
    expect(torch.tidy(() => x.grad!.sub(w).abs().max().item() as number)).toBeLessThan(1e-12);
    expect(() => AF.vjp(f2, x)).toThrow(/the vector v can only be omitted if the output is a single tensor with a single element/);
    expect(() => AF.vjp(f2, x, torch.ones([3], { dtype: 'float64' }))).toThrow('Entry 0 in v has invalid size: should be [4] but got [3]');
    expect(() => AF.hessian(f2, x)).toThrow('The Tensor returned by the function given to hessian should contain a single element');
    expect(() => AF.jacobian((a: T) => a.sum().detach(), x, { strict: true })).toThrow('Output 0 of the user-provided function does not require gradients. The outputs must be computed in a differentiable manner from the input when running in strict mode.');
    expect((AF.jacobian((a: T) => a.sum().detach(), x) as T).tolist()).toEqual([0, 0, 0, 0]); // non-strict: zeros, as PyTorch's
    expect(() => AF.vjp((a: T, b: T) => a.sum(), [x, x.clone()], undefined, { strict: true })).toThrow(/independent of input 1/);
  });
  const step = () => torch.tidy(() => { AF.hessian(f4, inputs.get('x4')!); AF.jvp(f3, [inputs.get('c')!, inputs.get('d')!], [inputs.get('uc')!, inputs.get('ud')!]); });
  step();
  const live = torch.memory().liveTensors;
  for (let k = 0; k < 20; k++) step();
  expect(torch.memory().liveTensors).toBe(live);
});
