// torch.optim.LBFGS against PyTorch's (scripts/reference/lbfgs_ref.py), float64: the Rosenbrock
// function and a least-squares fit, with and without the strong-Wolfe line search, the history
// wrapping around; each step's loss and the final parameters within 1e-10.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as torch from '../lib';
import { referenceTensors, pythonJson } from './helpers';

type T = torch.Tensor;
let want: Map<string, T>;
const data: Record<string, T> = {};
beforeAll(() => {
  torch.manualSeed(2);
  data.W = torch.keep(torch.randn([3, 2], { dtype: 'float64' }));
  data.b = torch.keep(torch.randn([2], { dtype: 'float64' }));
  data.X = torch.keep(torch.randn([6, 3], { dtype: 'float64' }));
  data.Y = torch.keep(torch.randn([6, 2], { dtype: 'float64' }).mul(0.5));
  want = referenceTensors('lbfgs_ref.py', data);
}, 60_000);

const close = (a: T | number[], b: T, what: string, tol = 1e-10) => {
  const x = a instanceof torch.Tensor ? (a.tolist() as number[] | number[][]).flat() : a;
  const y = (b.tolist() as number[] | number[][]).flat();
  expect([what, x.length]).toEqual([what, y.length]);
  x.forEach((v, i) => { if (!(Math.abs(v - y[i]) <= tol * Math.max(1, Math.abs(y[i])))) throw new Error(`${what}[${i}]: ${v}, PyTorch ${y[i]}`); });
};

describe.each([['plain', null], ['wolfe', 'strong_wolfe']] as const)('LBFGS (%s) as PyTorch\'s', (tag, lineSearchFn) => {
  test('Rosenbrock from (-1.5, 2): 3 steps of up to 10 iterations', () => {
    const p = torch.tensor([-1.5, 2], { dtype: 'float64' }).requiresGrad_();
    const opt = new torch.optim.LBFGS([p], { lr: 1, maxIter: 10, lineSearchFn });
    const closure = () => {
      opt.zeroGrad();
      const loss = p.index(0).neg().add(1).pow(2).add(p.index(1).sub(p.index(0).pow(2)).pow(2).mul(100));
      loss.backward();
      return loss;
    };
    const losses = [0, 1, 2].map(() => opt.step(closure));
    close(losses, want.get(`rosen_${tag}.losses`)!, 'losses');
    close(p, want.get(`rosen_${tag}.p`)!, 'p');
    opt.dispose();
    // Memory: only the state is kept between steps (direction, previous gradient, history pairs).
    const small = new torch.optim.LBFGS([p], { maxIter: 4, historySize: 2, lineSearchFn });
    const live = torch.memory().liveTensors;
    for (let k = 0; k < 10; k++) small.step(closure);
    expect(torch.memory().liveTensors - live).toBeLessThanOrEqual(2 + 2 * 2 + 1); // d, prevFlatGrad, 2 pairs (and p.grad)
    small.dispose();
    p.dispose();
  });

  test('least squares over two tensors, the history (3) wrapping: 4 steps of up to 5 iterations', () => {
    const W = data.W.clone().requiresGrad_(), b = data.b.clone().requiresGrad_();
    const opt = new torch.optim.LBFGS([W, b], { lr: 0.8, maxIter: 5, historySize: 3, lineSearchFn });
    const closure = () => {
      opt.zeroGrad();
      const loss = data.X.matmul(W).add(b).tanh().sub(data.Y).pow(2).mean();
      loss.backward();
      return loss;
    };
    const losses = [0, 1, 2, 3].map(() => opt.step(closure));
    close(losses, want.get(`lsq_${tag}.losses`)!, 'losses');
    close(W, want.get(`lsq_${tag}.W`)!, 'W');
    close(b, want.get(`lsq_${tag}.b`)!, 'b');
    opt.dispose();
    W.dispose();
    b.dispose();
  });
});

test('LBFGS refuses what PyTorch refuses', () => {
  const p = torch.zeros([2]).requiresGrad_();
  expect(() => new torch.optim.LBFGS([p], { lineSearchFn: 'backtracking' as never })).toThrow("LBFGS: only 'strong_wolfe' is supported");
  expect(() => new torch.optim.LBFGS([{ params: [p] }] as never)).toThrow(/doesn't support per-parameter options/);
  p.dispose();
});

test('LBFGS state dicts: 2 steps, saved with torch.save, loaded (here or by Python\'s load_state_dict), 2 more = 4 straight; Python\'s loads here', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-lbfgs-state-'));
  const run = (W: T, b: T, opt: torch.optim.LBFGS, n: number) => {
    const closure = () => { opt.zeroGrad(); const l = data.X.matmul(W).add(b).tanh().sub(data.Y).pow(2).mean(); l.backward(); return l; };
    for (let i = 0; i < n; i++) opt.step(closure);
  };
  const make = (ps: T[]) => new torch.optim.LBFGS(ps, { lr: 0.8, maxIter: 5, historySize: 3, lineSearchFn: 'strong_wolfe' });
  const fresh = () => [data.W.clone().requiresGrad_(), data.b.clone().requiresGrad_()];
  const [W1, b1] = fresh(), straight = make([W1, b1]);
  run(W1, b1, straight, 4);
  const [W2, b2] = fresh(), first = make([W2, b2]);
  run(W2, b2, first, 2);
  const file = path.join(dir, 'ours.pt');
  torch.save({ W: W2, b: b2, optimizer: first.stateDict() }, file);
  first.dispose();
  const second = make([W2, b2]);
  second.loadStateDict((torch.loadObject(file) as { optimizer: never }).optimizer);
  run(W2, b2, second, 2);
  expect([W2.equal(W1), b2.equal(b1)]).toEqual([true, true]);
  // Python continues ours, and saves its own after 2 steps for us to continue
  torch.save({ W: data.W, b: data.b, X: data.X, Y: data.Y }, path.join(dir, 'data.pt'));
  const py = pythonJson<{ continued: number[]; straight: number[] }>(`import torch, json, sys, os, copy
d = sys.argv[1]; s = torch.load(os.path.join(d, 'data.pt')); ours = torch.load(os.path.join(d, 'ours.pt'))
def run(W, b, opt, n):
    def closure():
        opt.zero_grad(); l = (torch.tanh(s['X'] @ W + b) - s['Y']).pow(2).mean(); l.backward(); return l
    for _ in range(n): opt.step(closure)
make = lambda ps: torch.optim.LBFGS(ps, lr=0.8, max_iter=5, history_size=3, line_search_fn='strong_wolfe')
W, b = torch.nn.Parameter(ours['W']), torch.nn.Parameter(ours['b']); opt = make([W, b]); opt.load_state_dict(ours['optimizer']); run(W, b, opt, 2)
W2, b2 = torch.nn.Parameter(s['W'].clone()), torch.nn.Parameter(s['b'].clone()); opt2 = make([W2, b2]); run(W2, b2, opt2, 2)
torch.save({'W': W2.detach().clone(), 'b': b2.detach().clone(), 'optimizer': copy.deepcopy(opt2.state_dict())}, os.path.join(d, 'python.pt'))
run(W2, b2, opt2, 2)
print(json.dumps({'continued': W.detach().flatten().tolist() + b.detach().flatten().tolist(), 'straight': W2.detach().flatten().tolist() + b2.detach().flatten().tolist()}))`, dir);
  close([...(W1.flatten().tolist() as number[]), ...(b1.tolist() as number[])], torch.tensor(py.continued, { dtype: 'float64' }), 'ours continued by PyTorch');
  const theirs = torch.loadObject(path.join(dir, 'python.pt')) as { W: T; b: T; optimizer: never };
  const [W3, b3] = [theirs.W.requiresGrad_(), theirs.b.requiresGrad_()];
  const third = make([W3, b3]);
  third.loadStateDict(theirs.optimizer);
  run(W3, b3, third, 2);
  close([...(W3.flatten().tolist() as number[]), ...(b3.tolist() as number[])], torch.tensor(py.straight, { dtype: 'float64' }), 'PyTorch\'s continued here');
  expect(() => make([W3]).loadStateDict(third.stateDict())).toThrow('LBFGS.loadStateDict: the state dict\'s group has 2 parameters, this optimizer 1');
  for (const o of [straight, second, third]) o.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

test("LBFGS takes a sparse gradient (an Embedding with sparse: true) as PyTorch's does, made dense: 2 steps equal Python's", () => {
  const W = [[0.5, -1], [1.5, 0.75], [-2, 0.1]], rows = [0, 2, 0];
  const want = pythonJson<{ losses: number[]; w: number[][] }>(`
import json, torch
emb = torch.nn.Embedding(3, 2, sparse=True).double()
with torch.no_grad(): emb.weight.copy_(torch.tensor(${JSON.stringify(W)}, dtype=torch.float64))
opt = torch.optim.LBFGS(emb.parameters(), lr=0.5, max_iter=5)
def closure():
    opt.zero_grad()
    loss = (emb(torch.tensor(${JSON.stringify(rows)})) - 1).pow(2).sum()
    loss.backward()
    return loss
losses = [opt.step(closure).item() for _ in range(2)]
print(json.dumps({"losses": losses, "w": emb.weight.tolist()}))`);
  const emb = new torch.nn.Embedding(3, 2, { sparse: true, dtype: 'float64' });
  torch.noGrad(() => emb.weight.copy_(torch.tensor(W, { dtype: 'float64' })));
  const opt = new torch.optim.LBFGS(emb.parameters(), { lr: 0.5, maxIter: 5 });
  const closure = () => {
    opt.zeroGrad();
    const loss = emb.forward(torch.tensor(rows, { dtype: 'int64' })).sub(1).pow(2).sum();
    loss.backward();
    expect(emb.weight.grad!.isSparse).toBe(true);
    return loss;
  };
  const losses = [0, 1].map(() => opt.step(closure));
  close(losses, torch.tensor(want.losses, { dtype: 'float64' }), 'losses', 1e-10);
  close(emb.weight, torch.tensor(want.w, { dtype: 'float64' }), 'weight', 1e-10);
});
