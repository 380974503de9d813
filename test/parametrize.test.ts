// torch.nn.utils.parametrize and parametrizations against PyTorch 1.13: the same parametrizations
// (a symmetric-matrix one with a right inverse, a chained scale with its own parameter, one on a
// buffer) give the same state-dict names, values, gradients, assignment through rightInverse,
// cached reads and removal; spectral_norm gives PyTorch's power-iteration draws and values.
import * as torch from '../lib';
import { pythonJson } from './helpers';

const nn = torch.nn;
const P = nn.utils.parametrize;
type T = torch.Tensor;
const det = (shape: number[], scale = 1) => torch.linspace(-1, 1, shape.reduce((a, b) => a * b, 1), { dtype: 'float64' }).mul(scale).reshape(shape);

class Sym extends nn.Module {
  forward(X: T) { return X.triu().add(X.triu(1).transpose(0, 1)); }
  rightInverse(A: T) { return A.triu(); }
}
class Scale extends nn.Module {
  declare s: T;
  constructor() { super(); this.registerParameter('s', torch.tensor(2, { dtype: 'float64' })); }
  forward(X: T) { return X.mul(this.s); }
  rightInverse(X: T) { return X.div(this.s); }
}
class Exp extends nn.Module {
  forward(X: T) { return X.exp(); }
  rightInverse(X: T) { return X.log(); }
}

const PY = `
import json, torch, torch.nn as nn
import torch.nn.utils.parametrize as P
from torch.nn.utils.parametrizations import spectral_norm
torch.set_default_dtype(torch.float64)
det = lambda shape, scale=1: (torch.linspace(-1, 1, torch.Size(shape).numel()) * scale).reshape(shape)
class Sym(nn.Module):
    def forward(self, X): return X.triu() + X.triu(1).transpose(0, 1)
    def right_inverse(self, A): return A.triu()
class Scale(nn.Module):
    def __init__(self):
        super().__init__(); self.s = nn.Parameter(torch.tensor(2.0))
    def forward(self, X): return X * self.s
    def right_inverse(self, X): return X / self.s
class Exp(nn.Module):
    def forward(self, X): return X.exp()
    def right_inverse(self, X): return X.log()
L = lambda t: t.tolist()
out = {}
m = nn.Linear(3, 3)
m.load_state_dict({"weight": det([3, 3]), "bias": det([3], 0.5)})
P.register_parametrization(m, "weight", Sym())
out["keys1"] = list(m.state_dict().keys())
out["w1"] = L(m.weight)
x = det([2, 3], 2)
m(x).pow(2).sum().backward()
out["grad1"] = L(m.parametrizations.weight.original.grad)
P.register_parametrization(m, "weight", Scale())
out["keys2"] = list(m.state_dict().keys())
out["w2"] = L(m.weight)
m(x).sum().backward()
out["grad_s"] = L(m.parametrizations.weight[1].s.grad)
with torch.no_grad():
    m.weight = det([3, 3], 3) + det([3, 3], 3).t()
out["original_after_assign"] = L(m.parametrizations.weight.original)
out["w3"] = L(m.weight)
with P.cached():
    out["cached_same"] = m.weight is m.weight
out["uncached_same"] = m.weight is m.weight
out["is_p"] = [P.is_parametrized(m), P.is_parametrized(m, "weight"), P.is_parametrized(m, "bias")]
P.remove_parametrizations(m, "weight")
out["keys3"] = list(m.state_dict().keys())
out["w4"] = L(m.weight)
out["w4_param"] = [n for n, _ in m.named_parameters()]
bn = nn.BatchNorm1d(3)
P.register_parametrization(bn, "running_var", Exp())
out["bn_keys"] = list(bn.state_dict().keys())
out["bn_var"] = L(bn.running_var)
out["bn_buffers"] = [n for n, _ in bn.named_buffers()]
P.remove_parametrizations(bn, "running_var", leave_parametrized=False)
out["bn_after"] = [L(bn.running_var), [n for n, _ in bn.named_buffers()]]
torch.manual_seed(0)
sn = spectral_norm(nn.Linear(4, 5))
out["sn_keys"] = list(sn.state_dict().keys())
out["sn_uv"] = [L(sn.parametrizations.weight[0]._u), L(sn.parametrizations.weight[0]._v)]
xs = det([3, 4])
out["sn_y"] = [L(sn(xs)), L(sn(xs))]
sn.eval()
out["sn_eval"] = [L(sn.weight), L(sn.parametrizations.weight[0]._u)]
torch.manual_seed(1)
ct = spectral_norm(nn.ConvTranspose2d(2, 3, 2), n_power_iterations=3)
out["ct"] = [L(ct.weight), L(ct.parametrizations.weight[0]._u)]
print(json.dumps(out))
`;

test('parametrize and spectral_norm as PyTorch\'s', () => {
  const want = pythonJson(PY);
  const out: Record<string, unknown> = {};
  torch.setDefaultDtype('float64');
  try {
    torch.tidy(() => {
      const L = (t: T) => t.tolist();
      const m = new nn.Linear(3, 3);
      m.loadStateDict({ weight: det([3, 3]), bias: det([3], 0.5) });
      P.registerParametrization(m, 'weight', new Sym());
      out.keys1 = [...m.stateDict().keys()];
      out.w1 = L(m.weight);
      const x = det([2, 3], 2);
      m.forward(x).pow(2).sum().backward();
      const list = () => (m as unknown as { parametrizations: torch.nn.ModuleDict<InstanceType<typeof P.ParametrizationList>> }).parametrizations.get('weight');
      out.grad1 = L((list() as unknown as { original: T }).original.grad!);
      P.registerParametrization(m, 'weight', new Scale());
      out.keys2 = [...m.stateDict().keys()];
      out.w2 = L(m.weight);
      m.forward(x).sum().backward();
      out.grad_s = L((list().get(1) as Scale).s.grad!);
      torch.noGrad(() => { m.weight = det([3, 3], 3).add(det([3, 3], 3).t()); });
      out.original_after_assign = L((list() as unknown as { original: T }).original);
      out.w3 = L(m.weight);
      out.cached_same = P.cached(() => m.weight === m.weight);
      out.uncached_same = m.weight === m.weight;
      out.is_p = [P.isParametrized(m), P.isParametrized(m, 'weight'), P.isParametrized(m, 'bias')];
      P.removeParametrizations(m, 'weight');
      out.keys3 = [...m.stateDict().keys()];
      out.w4 = L(m.weight);
      out.w4_param = m.namedParameters().map(([n]) => n);
      const bn = new nn.BatchNorm1d(3);
      P.registerParametrization(bn, 'running_var', new Exp());
      out.bn_keys = [...bn.stateDict().keys()];
      out.bn_var = L((bn as unknown as { running_var: T }).running_var);
      out.bn_buffers = bn.namedBuffers().map(([n]) => n);
      P.removeParametrizations(bn, 'running_var', { leaveParametrized: false });
      out.bn_after = [L((bn as unknown as { running_var: T }).running_var), bn.namedBuffers().map(([n]) => n)];
      torch.manualSeed(0);
      const sn = nn.utils.parametrizations.spectralNorm(new nn.Linear(4, 5));
      const snp = () => (sn as unknown as { parametrizations: torch.nn.ModuleDict }).parametrizations.get('weight') as unknown as { get(i: number): { _u: T; _v: T } };
      out.sn_keys = [...sn.stateDict().keys()];
      out.sn_uv = [L(snp().get(0)._u), L(snp().get(0)._v)];
      const xs = det([3, 4]);
      out.sn_y = [L(sn.forward(xs)), L(sn.forward(xs))];
      sn.eval();
      out.sn_eval = [L(sn.weight), L(snp().get(0)._u)];
      torch.manualSeed(1);
      const ct = nn.utils.parametrizations.spectralNorm(new nn.ConvTranspose2d(2, 3, 2), 'weight', { nPowerIterations: 3 });
      out.ct = [L(ct.weight), L(((ct as unknown as { parametrizations: torch.nn.ModuleDict }).parametrizations.get('weight') as unknown as { get(i: number): { _u: T } }).get(0)._u)];
    });
  } finally {
    torch.setDefaultDtype('float32');
  }
  // names exactly; numbers within 1e-12 (assertClose, as PyTorch's, compares no strings)
  const names = ['keys1', 'keys2', 'keys3', 'w4_param', 'bn_keys', 'bn_buffers', 'sn_keys'];
  expect(Object.fromEntries(names.map((k) => [k, out[k]]))).toEqual(Object.fromEntries(names.map((k) => [k, want[k]])));
  expect((out.bn_after as unknown[])[1]).toEqual(want.bn_after[1]);
  const numbers = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([k]) => !names.includes(k)).map(([k, v]) => [k, k === 'bn_after' ? (v as unknown[])[0] : v]));
  torch.testing.assertClose(numbers(out) as never, numbers(want) as never, { rtol: 1e-12, atol: 1e-12 });
});

test('weight norm as a parametrization equals g · v / ||v||; errors are clear; deepCopy keeps parametrizations', () => {
  torch.tidy(() => {
    const m = nn.utils.parametrizations.weightNorm(new nn.Linear(4, 3));
    expect([...m.stateDict().keys()]).toEqual(['bias', 'parametrizations.weight.original0', 'parametrizations.weight.original1']);
    const old = nn.utils.weightNorm(new nn.Linear(4, 3), 'weight', 0);
    old.loadStateDict({ weight_g: m.stateDict().get('parametrizations.weight.original0')!, weight_v: m.stateDict().get('parametrizations.weight.original1')!, bias: m.bias! });
    const x = torch.randn([2, 4]);
    torch.testing.assertClose(m.forward(x), old.forward(x));
    // deepCopy: the copy's weight is computed from the copy's own originals
    const copy = m.deepCopy();
    torch.noGrad(() => copy.stateDict().get('parametrizations.weight.original0')!.mul_(2));
    torch.testing.assertClose(copy.weight, m.weight.mul(2));
    expect(() => P.registerParametrization(m, 'nope', new Exp())).toThrow("Module 'Linear' does not have a parameter, a buffer, or a parametrized element with name 'nope'");
    expect(() => P.removeParametrizations(new nn.Linear(2, 2), 'weight')).toThrow('Module Linear does not have a parametrization on weight');
    class Bad extends nn.Module { forward(X: T) { return X.sum(); } }
    expect(() => P.registerParametrization(new nn.Linear(2, 2), 'weight', new Bad())).toThrow(/may not change the shape of the tensor, unless `unsafe` is set.\nunparametrized shape: \[2, 2\]\nparametrized shape: \[\]/);
    class NoInverse extends nn.Module { forward(X: T) { return X.mul(2); } }
    const n = P.registerParametrization(new nn.Linear(2, 2), 'weight', new NoInverse());
    expect(() => { n.weight = torch.zeros([2, 2]); }).toThrow('parametrization NoInverse does not implement rightInverse.');
    expect(() => nn.utils.parametrizations.spectralNorm(new nn.Linear(2, 2), 'weight', { nPowerIterations: 0 })).toThrow('Expected nPowerIterations to be positive, but got nPowerIterations=0');
    // an optimizer made before registration keeps training the original (the same tensor)
    const lin = new nn.Linear(3, 3);
    const opt = new torch.optim.SGD(lin.parameters(), { lr: 0.1 });
    const w0 = lin.weight;
    P.registerParametrization(lin, 'weight', new Sym());
    expect((lin as unknown as { parametrizations: torch.nn.ModuleDict }).parametrizations.get('weight').getParameter('original')).toBe(w0);
    lin.forward(torch.randn([2, 3])).sum().backward();
    opt.step();
    expect(w0.grad).not.toBeNull();
  });
});

test('nn.utils.spectralNorm (the hook form) as PyTorch\'s: names, u and v, weights over training steps, eval, removal', () => {
  const want = pythonJson(`
import json, torch, torch.nn as nn
from torch.nn.utils import spectral_norm, remove_spectral_norm
torch.manual_seed(12)
lin = spectral_norm(nn.Linear(5, 4))
tconv = spectral_norm(nn.ConvTranspose2d(3, 2, 2), n_power_iterations=2)
opt = torch.optim.SGD(list(lin.parameters()) + list(tconv.parameters()), lr=0.1)
torch.manual_seed(13)
x, img = torch.randn(6, 5), torch.randn(2, 3, 4, 4)
losses = []
for _ in range(3):
    opt.zero_grad()
    loss = lin(x).pow(2).mean() + tconv(img).abs().mean()
    loss.backward()
    opt.step()
    losses.append(loss.item())
keys = [list(lin.state_dict().keys()), list(tconv.state_dict().keys())]
lin.eval()
y_eval = lin(x).tolist()
u = lin.weight_u.tolist()
remove_spectral_norm(lin)
print(json.dumps({"keys": keys, "losses": losses, "eval": y_eval, "u": u, "removed": lin.weight.tolist(), "after": list(lin.state_dict().keys()), "tv": tconv.weight_v.tolist()}))
`);
  torch.manualSeed(12);
  const lin = nn.utils.spectralNorm(new nn.Linear(5, 4));
  const tconv = nn.utils.spectralNorm(new nn.ConvTranspose2d(3, 2, 2), 'weight', { nPowerIterations: 2 });
  const opt = new torch.optim.SGD([...lin.parameters(), ...tconv.parameters()], { lr: 0.1 });
  torch.manualSeed(13);
  const x = torch.randn([6, 5]), img = torch.randn([2, 3, 4, 4]);
  const losses: number[] = [];
  for (let k = 0; k < 3; k++) {
    torch.tidy(() => {
      opt.zeroGrad();
      const loss = lin.forward(x).pow(2).mean().add(tconv.forward(img).abs().mean());
      loss.backward();
      opt.step();
      losses.push(loss.item() as number);
    });
  }
  expect([[...lin.stateDict().keys()], [...tconv.stateDict().keys()]]).toEqual(want.keys);
  torch.testing.assertClose(losses, want.losses, { rtol: 1e-5, atol: 1e-6 });
  lin.eval();
  torch.tidy(() => torch.testing.assertClose(lin.forward(x).tolist() as never, want.eval, { rtol: 1e-5, atol: 1e-6 }));
  torch.testing.assertClose((lin as unknown as { weight_u: torch.Tensor }).weight_u.tolist() as never, want.u, { rtol: 1e-5, atol: 1e-6 });
  torch.testing.assertClose((tconv as unknown as { weight_v: torch.Tensor }).weight_v.tolist() as never, want.tv, { rtol: 1e-5, atol: 1e-6 });
  nn.utils.removeSpectralNorm(lin);
  torch.testing.assertClose(lin.weight.tolist() as never, want.removed, { rtol: 1e-5, atol: 1e-6 });
  expect([...lin.stateDict().keys()]).toEqual(want.after);
  expect(() => nn.utils.removeSpectralNorm(lin)).toThrow("spectral_norm of 'weight' not found in Linear");
  expect(() => nn.utils.spectralNorm(tconv)).toThrow('Cannot register two spectral_norm hooks on the same parameter weight');
  [lin, tconv, x, img].forEach((t) => t.dispose());
  opt.dispose();
});

test('orthogonal: each map, with and without trivialization, square, wide and batched, against PyTorch (weights, state dicts, gradients, assignment, a training step)', () => {
  // [map, useTrivialization, weight shape]: Linear(in, out) has weight [out, in]
  const configs: [string | null, boolean, number[]][] = [
    [null, true, [4, 4]], ['cayley', true, [4, 4]], ['householder', true, [4, 4]], [null, true, [3, 5]], ['matrix_exp', true, [5, 3]],
    ['householder', false, [3, 5]], ['householder', false, [5, 3]], ['cayley', true, [2, 3, 3]],
  ];
  const out: Record<string, unknown>[] = [];
  torch.setDefaultDtype('float64');
  try {
    torch.tidy(() => {
      configs.forEach(([map, triv, shape], i) => {
        class Holder extends nn.Module { declare weight: T; forward(x: T) { return x; } }
        const m = new Holder();
        m.registerParameter('weight', det(shape, 0.7).add(torch.eye(shape.at(-2)!, shape.at(-1)!, { dtype: 'float64' })));
        torch.manualSeed(10 + i); // (the completion of a non-square Q draws from the generator)
        nn.utils.parametrizations.orthogonal(m, 'weight', map as never, { useTrivialization: triv });
        const W = m.weight;
        const sd = m.stateDict();
        const r: Record<string, unknown> = { keys: [...sd.keys()], W: W.tolist() };
        const original = sd.get('parametrizations.weight.original')!;
        r.original = original.tolist();
        if (sd.has('parametrizations.weight.0.base')) r.base = sd.get('parametrizations.weight.0.base')!.tolist();
        m.weight.mul(det(shape, 1.3)).sum().backward();
        const param = (m as unknown as { parametrizations: torch.nn.ModuleDict }).parametrizations.get('weight').getParameter('original') as T;
        r.grad = param.grad!.tolist();
        torch.noGrad(() => param.sub_(param.grad!.mul(0.1)));
        r.stepped = m.weight.tolist();
        if (triv || map === 'householder') {
          torch.manualSeed(20 + i);
          m.weight = det(shape, 0.5).add(torch.eye(shape.at(-2)!, shape.at(-1)!, { dtype: 'float64' }));
          r.assigned = m.weight.tolist();
        }
        out.push(r);
      });
    });
  } finally {
    torch.setDefaultDtype('float32');
  }
  const want = pythonJson<Record<string, unknown>[]>(`
import json, sys, torch, torch.nn as nn
torch.set_default_dtype(torch.float64)
def det(shape, scale=1.0):
    n = 1
    for s in shape: n *= s
    return (torch.linspace(-1, 1, n) * scale).reshape(shape)
out = []
for i, (map_, triv, shape) in enumerate(json.loads(sys.argv[1])):
    m = nn.Module()
    m.weight = nn.Parameter(det(shape, 0.7) + torch.eye(shape[-2], shape[-1]))
    torch.manual_seed(10 + i)
    nn.utils.parametrizations.orthogonal(m, 'weight', map_, use_trivialization=triv)
    sd = m.state_dict()
    r = {'keys': list(sd.keys()), 'W': m.weight.tolist(), 'original': sd['parametrizations.weight.original'].tolist()}
    if 'parametrizations.weight.0.base' in sd: r['base'] = sd['parametrizations.weight.0.base'].tolist()
    (m.weight * det(shape, 1.3)).sum().backward()
    p = m.parametrizations.weight.original
    r['grad'] = p.grad.tolist()
    with torch.no_grad(): p -= 0.1 * p.grad
    r['stepped'] = m.weight.tolist()
    if triv or map_ == 'householder':
        torch.manual_seed(20 + i)
        m.weight = det(shape, 0.5) + torch.eye(shape[-2], shape[-1])
        r['assigned'] = m.weight.tolist()
    out.append(r)
print(json.dumps(out))`, JSON.stringify(configs));
  configs.forEach((c, i) => {
    expect([c, out[i].keys]).toEqual([c, want[i].keys]);
    const { keys: _k, ...got } = out[i], { keys: _w, ...exp } = want[i];
    torch.testing.assertClose(got as never, exp as never, { rtol: 1e-10, atol: 1e-10, msg: (m: string) => `${JSON.stringify(c)}: ${m}` } as never);
  });
  // orthogonal it is: QᵀQ = I for a tall Q
  const lin = nn.utils.parametrizations.orthogonal(new nn.Linear(3, 6));
  torch.testing.assertClose(lin.weight.t().matmul(lin.weight), torch.eye(3), { atol: 1e-5, rtol: 0 });
  expect(() => nn.utils.parametrizations.orthogonal(new nn.Linear(3, 3), 'bias')).toThrow('Expected a matrix or batch of matrices. Got a tensor of 1 dimensions.');
  expect(() => nn.utils.parametrizations.orthogonal(new nn.Linear(3, 3), 'weight', 'qr' as never)).toThrow(/orthogonal_map has to be one of "matrix_exp", "cayley", "householder". Got: qr/);
  const noTriv = nn.utils.parametrizations.orthogonal(new nn.Linear(3, 3), 'weight', 'cayley', { useTrivialization: false });
  expect(() => { noTriv.weight = torch.eye(3); }).toThrow(/not possible to assign to the matrix exponential or the Cayley parametrizations/);
  expect(() => { lin.weight = torch.eye(3); }).toThrow(/Expected a matrix or batch of matrices of shape \[6,3\]. Got a tensor of shape \[3,3\]/);
});
