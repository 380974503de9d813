// A JS number as the other operand of arithmetic, comparisons and where (x.mul(2), x.lt(0),
// x.where(c, 0)) against Python's x * 2, x < 0, torch.where(c, x, 0): result dtypes, values
// (every dtype, awkward numbers), graph nodes. On float32/float64 the number crosses as a reused
// 0-d tensor of the tensor's dtype (native/math.cc): the last tests check that a graph which
// saved one keeps its value.
import * as torch from '../lib';
import { pythonJson } from './helpers';

const DTYPES = ['float32', 'float64', 'float16', 'bfloat16', 'int32', 'int64', 'uint8', 'bool'] as const;
const NUMBERS = [2, 0.1, -3, 1e300, -1e-310, 2 ** 40, 0.5];
const OPS = ['add', 'sub', 'mul', 'div', 'rsub', 'remainder', 'fmod', 'eq', 'ne', 'lt', 'le', 'gt', 'ge', 'add_alpha', 'sub_alpha', 'where_other'] as const;
const BASE = [-2.5, -1, 0, 0.3, 1, 7];

// Numbers as strings so that inf and nan survive JSON; '!' for an error.
const show = (v: unknown): string => (typeof v === 'boolean' ? String(v) : Number.isNaN(v) ? 'nan' : v === Infinity ? 'inf' : v === -Infinity ? '-inf' : String(Number(v)));

function ours(dtype: string, op: string, k: number): { dtype: string; values: string[] } | '!' {
  try {
    return torch.tidy(() => {
      const x = torch.tensor(BASE, { dtype: 'float64' }).to({ dtype: dtype as torch.DType });
      const y =
        op === 'add_alpha' ? x.add(k, { alpha: 2 }) :
        op === 'sub_alpha' ? x.sub(k, { alpha: 2 }) :
        op === 'where_other' ? x.where(x.gt(0), k) :
        (x as unknown as Record<string, (n: number) => torch.Tensor>)[op](k);
      return { dtype: y.dtype, values: (y.to({ dtype: y.dtype === 'bool' ? 'bool' : 'float64' }).tolist() as unknown[]).map(show) };
    });
  } catch {
    return '!';
  }
}

test('x.op(number) as Python x op number: 8 dtypes x 16 ops (where(cond, x, number) too) x 7 numbers, dtypes and values', () => {
  const want = pythonJson<Record<string, { dtype: string; values: string[] } | '!'>>(`
import json, math, torch
names = {torch.float32: 'float32', torch.float64: 'float64', torch.float16: 'float16', torch.bfloat16: 'bfloat16', torch.int32: 'int32', torch.int64: 'int64', torch.uint8: 'uint8', torch.bool: 'bool'}
def show(v):
    if isinstance(v, bool): return 'true' if v else 'false'
    if math.isnan(v): return 'nan'
    if math.isinf(v): return 'inf' if v > 0 else '-inf'
    return repr(float(v))
out = {}
for dt in ${JSON.stringify(DTYPES)}:
    for op in ${JSON.stringify(OPS)}:
        for k in ${JSON.stringify(NUMBERS)}:
            k = int(k) if k == int(k) and abs(k) < 2**53 else k
            x = torch.tensor(${JSON.stringify(BASE)}, dtype=torch.float64).to(getattr(torch, dt))
            try:
                y = (x.add(k, alpha=2) if op == 'add_alpha' else x.sub(k, alpha=2) if op == 'sub_alpha' else
                     torch.rsub(x, k) if op == 'rsub' else torch.where(x > 0, x, k) if op == 'where_other' else getattr(x, op)(k))
                out[f'{dt} {op} {k}'] = {'dtype': names[y.dtype], 'values': [show(v) for v in (y if y.dtype == torch.bool else y.double()).tolist()]}
            except Exception:
                out[f'{dt} {op} {k}'] = '!'
print(json.dumps(out))`);
  // Numbers compared as JS reads them ('2.0' and '2', '1e+300' and '1e300' alike)
  const norm = (r: { dtype: string; values: string[] } | '!') =>
    r === '!' ? r : { dtype: r.dtype, values: r.values.map((v) => (v === 'true' || v === 'false' || v.endsWith('inf') || v === 'nan' ? v : String(Number(v)))) };
  let compared = 0;
  for (const dt of DTYPES) {
    for (const op of OPS) {
      for (const k of NUMBERS) {
        const key = `${dt} ${op} ${k}`; // (JS and Python print these numbers alike)
        const w = want[key];
        expect(w).toBeDefined();
        expect({ key, got: norm(ours(dt, op, k)) }).toEqual({ key, got: norm(w) });
        compared++;
      }
    }
  }
  expect(compared).toBe(DTYPES.length * OPS.length * NUMBERS.length);
});

test('graph nodes of x.op(number) are the ones Python records (MulBackward0, RsubBackward1, WhereBackward0, ...), in place too', () => {
  const want = pythonJson<string[]>(`
import json, torch
out = []
for dt in [torch.float32, torch.float64, torch.float16]:
    x = torch.ones(3, dtype=dt, requires_grad=True)
    out += [(x + 1).grad_fn.name(), (x - 1).grad_fn.name(), (x * 2).grad_fn.name(), (x / 2).grad_fn.name(), torch.rsub(x, 1).grad_fn.name(),
            x.remainder(2).grad_fn.name(), x.fmod(2).grad_fn.name(), x.clone().mul_(2).grad_fn.name(), x.clone().add_(1, alpha=3).grad_fn.name(),
            x.clone().div_(4).grad_fn.name(), x.clone().sub_(1).grad_fn.name(), torch.where(x > 0, x, 0.5).grad_fn.name()]
print(json.dumps(out))`);
  const got: string[] = [];
  for (const dtype of ['float32', 'float64', 'float16'] as const) {
    const x = torch.ones([3], { dtype }).requiresGrad_();
    got.push(x.add(1).gradFn!.name(), x.sub(1).gradFn!.name(), x.mul(2).gradFn!.name(), x.div(2).gradFn!.name(), x.rsub(1).gradFn!.name(),
      x.remainder(2).gradFn!.name(), x.fmod(2).gradFn!.name(), x.clone().mul_(2).gradFn!.name(), x.clone().add_(1, { alpha: 3 }).gradFn!.name(),
      x.clone().div_(4).gradFn!.name(), x.clone().sub_(1).gradFn!.name(), x.where(x.gt(0), 0.5).gradFn!.name());
  }
  expect(got).toEqual(want);
  // where's gradient reaches x where the condition holds, nothing where the number was taken
  const x = torch.tensor([-1, 2, -3, 4], { dtype: 'float32' }).requiresGrad_();
  x.where(x.gt(0), 0.5).mul(torch.tensor([1, 2, 3, 4], { dtype: 'float32' })).sum().backward();
  expect(x.grad!.tolist()).toEqual([0, 2, 0, 4]);
});

test('a graph that saved a number keeps its value through later ops with other numbers', () => {
  const x = torch.tensor([1, 2, 3], { dtype: 'float32' }).requiresGrad_();
  const y = x.mul(3).div(4); // MulBackward0 saves 3, DivBackward0 saves 4
  const noise = torch.ones([2]).mul(5).add(6).div(7).mul_(8); // numbers through the same float32 path
  expect((noise.tolist() as number[])[0]).toBeCloseTo(((1 * 5 + 6) / 7) * 8, 5);
  const d = torch.tensor([1, 2], { dtype: 'float64' }).requiresGrad_();
  const e = d.mul(10); // a float64 node saving 10
  torch.ones([2], { dtype: 'float64' }).mul(-1);
  y.sum().backward();
  e.sum().backward();
  expect(x.grad!.tolist()).toEqual([0.75, 0.75, 0.75]);
  expect(d.grad!.tolist()).toEqual([10, 10]);
  // and a second-order graph that saved numbers, with number ops run between its passes
  const z = torch.tensor([2], { dtype: 'float32' }).requiresGrad_();
  const g = torch.autograd.grad([z.pow(3).mul(0.5)], [z], { createGraph: true })[0]!; // 1.5 z^2
  torch.ones([1]).mul(123);
  const gg = torch.autograd.grad([g.sum()], [z])[0]!; // 3 z
  expect(g.item()).toBeCloseTo(6, 6);
  expect(gg.item()).toBeCloseTo(6, 6);
});
