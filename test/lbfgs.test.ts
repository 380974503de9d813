// torch.optim.LBFGS against PyTorch's (scripts/reference/lbfgs_ref.py), float64: the Rosenbrock
// function and a least-squares fit, with and without the strong-Wolfe line search, the history
// wrapping around; each step's loss and the final parameters within 1e-10.
import * as torch from '../lib';
import { referenceTensors } from './helpers';

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
