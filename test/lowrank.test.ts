// torch.svdLowrank / pcaLowrank against PyTorch's svd_lowrank / pca_lowrank with the same seed:
// the same random draw, so the same factors (float64, 1e-10), in each of the algorithm's branches
// (tall, wide, more columns than q, with M, batched, centred or not), the gradient through S
// too; and a rank-3 matrix recovered to rounding.
import * as torch from '../lib';
import { expectFlatClose, pythonJson } from './helpers';

const A = (seed: number, ...shape: number[]) => { torch.manualSeed(seed); return torch.randn(shape, { dtype: 'float64' }); };

test('svdLowrank and pcaLowrank give PyTorch\'s factors for the same seed, and the same gradient', () => {
  const inputs = { tall: A(1, 9, 4), tall7: A(6, 9, 7), wide: A(2, 4, 9), manyCols: A(3, 12, 8), batch: A(4, 2, 7, 5), M: A(5, 9, 4) };
  const calls: [string, () => { U: torch.Tensor; S: torch.Tensor; V: torch.Tensor }, string][] = [
    ['tall, q 4 (n <= q)', () => torch.svdLowrank(inputs.tall, { q: 4 }), 'torch.svd_lowrank(x["tall"], q=4)'],
    ['tall, default q 6 (n > q)', () => torch.svdLowrank(inputs.tall7), 'torch.svd_lowrank(x["tall7"])'],
    ['wide, q 3, niter 1', () => torch.svdLowrank(inputs.wide, { q: 3, niter: 1 }), 'torch.svd_lowrank(x["wide"], q=3, niter=1)'],
    ['n > q', () => torch.svdLowrank(inputs.manyCols, { q: 4 }), 'torch.svd_lowrank(x["manyCols"], q=4)'],
    ['with M', () => torch.svdLowrank(inputs.tall, { q: 4, M: inputs.M }), 'torch.svd_lowrank(x["tall"], q=4, M=x["M"])'],
    ['batched', () => torch.svdLowrank(inputs.batch, { q: 3 }), 'torch.svd_lowrank(x["batch"], q=3)'],
    ['pca', () => torch.pcaLowrank(inputs.manyCols), 'torch.pca_lowrank(x["manyCols"])'],
    ['pca, not centred, q 2', () => torch.pcaLowrank(inputs.wide, { q: 2, center: false, niter: 3 }), 'torch.pca_lowrank(x["wide"], q=2, center=False, niter=3)'],
  ];
  const got = calls.map(([, fn], i) => {
    torch.manualSeed(100 + i);
    const x = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, v.detach().clone().requiresGrad_()]));
    const saved = { ...inputs };
    Object.assign(inputs, x);
    const { U, S, V } = fn();
    Object.assign(inputs, saved);
    S.sum().backward();
    const source = calls[i][2].match(/x\["(\w+)"\]/)![1];
    return [U, S, V, x[source].grad!];
  });
  const want = pythonJson<number[][][]>(`
import json, sys, torch
raw = json.loads(sys.argv[1])
out = []
for i, call in enumerate(json.loads(sys.argv[2])):
    x = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in raw.items()}
    torch.manual_seed(100 + i)
    U, S, V = eval(call)
    S.sum().backward()
    src = call.split('x["')[1].split('"')[0]
    out.append([t.detach().flatten().tolist() for t in (U, S, V, x[src].grad)])
print(json.dumps(out))`, JSON.stringify(Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, v.tolist()]))), JSON.stringify(calls.map(([, , py]) => py)));
  calls.forEach(([name], i) => expectFlatClose(name, got[i], want[i], 1e-10));
});

test('a rank-3 matrix comes back whole; bad arguments are refused', () => {
  torch.manualSeed(0);
  const X = torch.randn([20, 3], { dtype: 'float64' }).matmul(torch.randn([3, 15], { dtype: 'float64' }));
  const { U, S, V } = torch.svdLowrank(X, { q: 5 });
  expect([U.shape, S.shape, V.shape]).toEqual([[20, 5], [5], [15, 5]]);
  const back = U.index(':', ':3').mul(S.index(':3')).matmul(V.index(':', ':3').t());
  expect(back.sub(X).abs().max().item()).toBeLessThan(1e-10);
  expect(S.index('3:').abs().max().item()).toBeLessThan(1e-10);
  expect(() => torch.svdLowrank(torch.randn([4]))).toThrow(/a matrix/);
  expect(() => torch.pcaLowrank(X, { q: 16 })).toThrow(/q\(=16\) must be a non-negative integer and not greater than min\(m, n\)=15/);
  expect(() => torch.svdLowrank(X, { niter: -1 })).toThrow(/niter must be/);
  expect(() => torch.svdLowrank(torch.randn([9, 4]))).toThrow(/q\(=6\) must be a non-negative integer and not greater than min\(m, n\)=4/); // (PyTorch: an AssertionError)
});
