// Optimizers and learning-rate schedulers built as PyTorch code builds them, by position
// (optim.SGD(params, 0.1, 0.9)), against PyTorch's own built from the very same arguments: the
// same parameters after three steps, the same learning rates step by step. Before, the numbers
// after params went into one options object, and new SGD(params, 0.1) trained at the default lr.
import * as torch from '../lib';
import { pythonJson } from './helpers';

const optim = torch.optim;
type Make = (p: torch.Tensor[]) => { step(): void; zeroGrad(): void };

// name: [PyTorch's expression over params, ours]
const optimizers: Record<string, [string, Make]> = {
  sgd: ['optim.SGD(p, 0.1, 0.9, 0, 0.01, True)', (p) => new optim.SGD(p, 0.1, 0.9, 0, 0.01, true)],
  sgdKeywords: ['optim.SGD(p, 0.05, momentum=0.5, maximize=True)', (p) => new optim.SGD(p, 0.05, { momentum: 0.5, maximize: true })],
  adam: ['optim.Adam(p, 0.01, (0.8, 0.9), 1e-6, 0.1, True)', (p) => new optim.Adam(p, 0.01, [0.8, 0.9], 1e-6, 0.1, true)],
  adamw: ['optim.AdamW(p, 0.01, (0.8, 0.9), 1e-6, 0.05)', (p) => new optim.AdamW(p, 0.01, [0.8, 0.9], 1e-6, 0.05)],
  rmsprop: ['optim.RMSprop(p, 0.01, 0.9, 1e-6, 0.01, 0.5, True)', (p) => new optim.RMSprop(p, 0.01, 0.9, 1e-6, 0.01, 0.5, true)],
  adagrad: ['optim.Adagrad(p, 0.1, 0.01, 0.01, 0.1, 1e-8)', (p) => new optim.Adagrad(p, 0.1, 0.01, 0.01, 0.1, 1e-8)],
  adamax: ['optim.Adamax(p, 0.01, (0.8, 0.9), 1e-6, 0.01)', (p) => new optim.Adamax(p, 0.01, [0.8, 0.9], 1e-6, 0.01)],
  nadam: ['optim.NAdam(p, 0.01, (0.8, 0.9), 1e-6, 0.01, 0.005)', (p) => new optim.NAdam(p, 0.01, [0.8, 0.9], 1e-6, 0.01, 0.005)],
  radam: ['optim.RAdam(p, 0.01, (0.8, 0.9), 1e-6, 0.01)', (p) => new optim.RAdam(p, 0.01, [0.8, 0.9], 1e-6, 0.01)],
  adadelta: ['optim.Adadelta(p, 0.5, 0.8, 1e-5, 0.01)', (p) => new optim.Adadelta(p, 0.5, 0.8, 1e-5, 0.01)],
  rprop: ['optim.Rprop(p, 0.02, (0.4, 1.3), (1e-5, 40))', (p) => new optim.Rprop(p, 0.02, [0.4, 1.3], [1e-5, 40])],
  asgd: ['optim.ASGD(p, 0.02, 1e-3, 0.7, 2, 0.01)', (p) => new optim.ASGD(p, 0.02, 1e-3, 0.7, 2, 0.01)],
  groups: ["optim.SGD([{'params': p[:1], 'lr': 0.2}, {'params': p[1:], 'weight_decay': 0.1}], 0.05, 0.9)",
    (p) => new optim.SGD([{ params: p.slice(0, 1), lr: 0.2 }, { params: p.slice(1), weightDecay: 0.1 }], 0.05, 0.9)],
};

const W0 = [[0.5, -1.5, 2.0], [3.0, -0.25, 1.0]];
const TARGET = [1.0, 2.0, -1.0];

// f(w) = Σ c·(w - target)², three steps; each parameter a row of W0
function trainOurs(make: Make): number[][] {
  const params = W0.map((row) => torch.tensor(row, { dtype: 'float64', requiresGrad: true }));
  const opt = make(params);
  for (let step = 0; step < 3; step++) {
    torch.tidy(() => {
      opt.zeroGrad();
      const t = torch.tensor(TARGET, { dtype: 'float64' });
      params.reduce((acc, w, i) => acc.add(w.sub(t).pow(2).mul(i + 1).sum()), torch.tensor(0, { dtype: 'float64' })).backward();
      opt.step();
    });
  }
  const out = params.map((w) => w.tolist() as number[]);
  params.forEach((w) => w.dispose());
  return out;
}

describe('optimizers and schedulers built with PyTorch\'s positional arguments, against PyTorch\'s built from the same', () => {
  test('each optimizer: the same parameters after 3 steps (float64, within 1e-12)', () => {
    const exprs = Object.fromEntries(Object.entries(optimizers).map(([k, [py]]) => [k, py]));
    const want = pythonJson<Record<string, number[][]>>(`
import json, sys, torch
import torch.optim as optim
exprs = json.loads(sys.argv[1])
W0, TARGET = ${JSON.stringify(W0)}, ${JSON.stringify(TARGET)}
res = {}
for name, expr in exprs.items():
    p = [torch.tensor(row, dtype=torch.float64, requires_grad=True) for row in W0]
    opt = eval(expr)
    for step in range(3):
        opt.zero_grad()
        t = torch.tensor(TARGET, dtype=torch.float64)
        sum(((w - t) ** 2 * (i + 1)).sum() for i, w in enumerate(p)).backward()
        opt.step()
    res[name] = [w.tolist() for w in p]
print(json.dumps(res))`, JSON.stringify(exprs));
    for (const [name, [, make]] of Object.entries(optimizers)) {
      const got = trainOurs(make);
      const err = Math.max(...got.flatMap((row, i) => row.map((v, j) => Math.abs(v - want[name][i][j]))));
      expect([name, err < 1e-12]).toEqual([name, true]);
    }
    // the lr given by position is used: it was quietly the default (1e-3)
    expect(trainOurs((p) => new optim.SGD(p, 0.1))).not.toEqual(trainOurs((p) => new optim.SGD(p)));
  });

  test('schedulers: the same learning rate at every step', () => {
    const want = pythonJson<Record<string, number[]>>(`
import json, torch
import torch.optim as optim
def lrs(make, steps=10, metrics=None):
    opt = optim.SGD([torch.zeros(1, requires_grad=True)], 0.1, 0.9)
    s = make(opt)
    out = []
    for k in range(steps):
        opt.step()
        s.step(metrics[k]) if metrics else s.step()
        out.append(opt.param_groups[0]['lr'])
    return out
print(json.dumps({
  'warmRestarts': lrs(lambda o: optim.lr_scheduler.CosineAnnealingWarmRestarts(o, 3, 2, 0.01)),
  'cyclic': lrs(lambda o: optim.lr_scheduler.CyclicLR(o, 0.01, 0.1, 3, None, 'triangular2', 1.0, None, 'cycle', False)),
  'oneCycle': lrs(lambda o: optim.lr_scheduler.OneCycleLR(o, 0.1, 12, None, None, 0.25, 'linear', False)),
  'plateau': lrs(lambda o: optim.lr_scheduler.ReduceLROnPlateau(o, 'min', 0.5, 1, 1e-4, 'abs', 1), metrics=[5, 4, 4, 4, 4, 3, 3, 3, 3, 3]),
  'swa': lrs(lambda o: torch.optim.swa_utils.SWALR(o, 0.05, 3, 'linear')),
  'stepKeywords': lrs(lambda o: optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5)),
  'stepFull': lrs(lambda o: optim.lr_scheduler.StepLR(o, 2, 0.7, -1, False)),
  'multiStepKeywords': lrs(lambda o: optim.lr_scheduler.MultiStepLR(o, milestones=[2, 5], gamma=0.3)),
  'exponentialKeywords': lrs(lambda o: optim.lr_scheduler.ExponentialLR(o, gamma=0.9)),
  'lambdaKeywords': lrs(lambda o: optim.lr_scheduler.LambdaLR(o, lr_lambda=lambda e: 1 / (1 + e))),
  'linearPositional': lrs(lambda o: optim.lr_scheduler.LinearLR(o, 0.2, 0.8, 6)),
  'cosineKeywords': lrs(lambda o: optim.lr_scheduler.CosineAnnealingLR(o, T_max=4, eta_min=0.01)),
  'multiplicativeKeywords': lrs(lambda o: optim.lr_scheduler.MultiplicativeLR(o, lr_lambda=lambda e: 0.9)),
  'constantKeywords': lrs(lambda o: optim.lr_scheduler.ConstantLR(o, factor=0.5, total_iters=3)),
  'polynomialPositional': lrs(lambda o: optim.lr_scheduler.PolynomialLR(o, 8, 2.0)),
  'warmRestartsKeywords': lrs(lambda o: optim.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=2)),
  'swaKeywords': lrs(lambda o: torch.optim.swa_utils.SWALR(o, swa_lr=0.05, anneal_epochs=3)),
}))`);
    const lrs = (make: (o: torch.optim.SGD) => { step(m?: number): void }, metrics?: number[]) => {
      const w = torch.zeros([1], { requiresGrad: true });
      const opt = new optim.SGD([w], 0.1, 0.9);
      const s = make(opt);
      const out: number[] = [];
      for (let k = 0; k < 10; k++) {
        opt.step();
        s.step(metrics?.[k]);
        out.push(opt.paramGroups[0].lr);
      }
      w.dispose();
      return out;
    };
    const sched = optim.lrScheduler;
    const got: Record<string, number[]> = {
      warmRestarts: lrs((o) => new sched.CosineAnnealingWarmRestarts(o, 3, 2, 0.01)),
      cyclic: lrs((o) => new sched.CyclicLR(o, 0.01, 0.1, 3, null, 'triangular2', 1, null, 'cycle', false)),
      oneCycle: lrs((o) => new sched.OneCycleLR(o, 0.1, 12, null, null, 0.25, 'linear', false)),
      plateau: lrs((o) => new sched.ReduceLROnPlateau(o, 'min', 0.5, 1, 1e-4, 'abs', 1), [5, 4, 4, 4, 4, 3, 3, 3, 3, 3]),
      swa: lrs((o) => new optim.swaUtils.SWALR(o, 0.05, 3, 'linear')),
      stepKeywords: lrs((o) => new sched.StepLR(o, { stepSize: 3, gamma: 0.5 })),
      stepFull: lrs((o) => new sched.StepLR(o, 2, 0.7, -1, false)),
      multiStepKeywords: lrs((o) => new sched.MultiStepLR(o, { milestones: [2, 5], gamma: 0.3 })),
      exponentialKeywords: lrs((o) => new sched.ExponentialLR(o, { gamma: 0.9 })),
      lambdaKeywords: lrs((o) => new sched.LambdaLR(o, { lrLambda: (e) => 1 / (1 + e) })),
      linearPositional: lrs((o) => new sched.LinearLR(o, 0.2, 0.8, 6)),
      cosineKeywords: lrs((o) => new sched.CosineAnnealingLR(o, { tMax: 4, etaMin: 0.01 })),
      multiplicativeKeywords: lrs((o) => new sched.MultiplicativeLR(o, { lrLambda: () => 0.9 })),
      constantKeywords: lrs((o) => new sched.ConstantLR(o, { factor: 0.5, totalIters: 3 })),
      polynomialPositional: lrs((o) => new sched.PolynomialLR(o, 8, 2)),
      warmRestartsKeywords: lrs((o) => new sched.CosineAnnealingWarmRestarts(o, { t0: 2, tMult: 2 })),
      swaKeywords: lrs((o) => new optim.swaUtils.SWALR(o, { swaLr: 0.05, annealEpochs: 3 })),
    };
    expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
    for (const k of Object.keys(want)) {
      const err = Math.max(...got[k].map((v, i) => Math.abs(v - want[k][i])));
      expect([k, err < 1e-12]).toEqual([k, true]);
    }
  });

  test('what fits neither form is a clear error, never the default', () => {
    const w = torch.zeros([2], { requiresGrad: true });
    const loose = optim as unknown as Record<string, new (...a: unknown[]) => unknown>;
    const looseSched = optim.lrScheduler as unknown as Record<string, new (...a: unknown[]) => unknown>;
    const sched2 = optim.lrScheduler;
    expect(() => new loose.SGD([w], { lr: 0.1, weight_decay: 0.01 })).toThrow(/SGD: unknown option 'weight_decay' \(did you mean weightDecay\?\)/);
    expect(() => new loose.AdamW([{ params: [w], weight_decay: 0 }], 0.01)).toThrow(/AdamW: param group 0: unknown option 'weight_decay' \(did you mean weightDecay\?\)/);
    expect(() => new loose.Adam([{ params: [w], betas1: 0.9 }])).toThrow(/Adam: param group 0: unknown option 'betas1'/);
    expect(() => new optim.SGD([w], 0.1, { lr: 0.2 })).toThrow(/SGD: lr is given twice, by position and in the options object/);
    expect(() => new loose.SGD([w], 0.1, 0.9, 0, 0, false, true)).toThrow(/SGD: 6 arguments after its required ones, but it takes at most 5 \(lr, momentum, dampening, weightDecay, nesterov\)/);
    expect(() => new optim.NAdam([w], 0.01, [0.9, 0.999], 1e-8, 0.01, 0.004, true as false)).toThrow(/NAdam: decoupledWeightDecay true is not offered here/);
    expect(() => new optim.Adam([w], { differentiable: true } as object)).toThrow(/Adam: differentiable true is not offered here/);
    expect(new optim.AdamW([w], 0.01, { fused: true }).paramGroups[0].lr).toBe(0.01); // (an implementation flag: libtorch's multi-tensor step)
    expect(() => new looseSched.CyclicLR(new optim.SGD([w], 0.1), { maxLr: 0.1 })).toThrow('CyclicLR: give baseLr (new CyclicLR(optimizer, baseLr, maxLr, ...) or { baseLr, maxLr, ... })');
    expect(() => new looseSched.CosineAnnealingWarmRestarts(new optim.SGD([w], 0.1), 3, { t_mult: 2 })).toThrow(/unknown option 't_mult' \(did you mean tMult\?\)/);
    // (ExponentialLR(opt, { gamma }) and CosineAnnealingLR(opt, { tMax }) took the object as the number: NaN learning rates)
    const sgd = () => new optim.SGD([w], 0.1);
    expect(() => new looseSched.StepLR(sgd(), { step_size: 3 })).toThrow(/StepLR: unknown option 'step_size' \(did you mean stepSize\?\)/);
    expect(() => new looseSched.StepLR(sgd(), { gamma: 0.5 })).toThrow('StepLR: give stepSize (new StepLR(optimizer, stepSize, ...) or { stepSize, ... })');
    expect(() => new sched2.StepLR(sgd(), 3, 0.5, 4 as -1)).toThrow(/StepLR: lastEpoch 4 is not offered here \(only -1, PyTorch's default\)/);
    expect(() => new (optim.swaUtils as unknown as Record<string, new (...a: unknown[]) => unknown>).SWALR(sgd(), { annealEpochs: 3 })).toThrow('SWALR: give swaLr (new SWALR(optimizer, swaLr, ...) or { swaLr, ... })');
    expect(() => new looseSched.ExponentialLR(sgd(), 'x')).toThrow('ExponentialLR: gamma must be a number, got x');
    expect(() => new looseSched.CosineAnnealingLR(sgd(), 0)).toThrow('CosineAnnealingLR: tMax must be a positive number of steps, got 0');
    expect(() => new looseSched.LambdaLR(sgd(), 0.5)).toThrow(/LambdaLR: lrLambda must be a function of the step/);
    expect(() => new looseSched.MultiStepLR(sgd(), 3)).toThrow(/MultiStepLR: milestones must be an array of step numbers, got 3/);
    const o1 = sgd(), o2 = sgd();
    expect(() => new sched2.SequentialLR(o1, [new sched2.ConstantLR(o1), new sched2.StepLR(o1, 2)], [2], 3 as -1)).toThrow(/SequentialLR: lastEpoch 3 is not offered here/);
    expect(() => new sched2.ChainedScheduler([new sched2.ConstantLR(o1)], o2)).toThrow('ChainedScheduler expects all schedulers to belong to the same optimizer, but got scheduler at index 0 to be different than the optimizer passed in');
    expect(new sched2.ChainedScheduler([new sched2.ExponentialLR(o2, 0.5)], o2).optimizer).toBe(o2);
    expect(() => new looseSched.LinearLR(sgd(), 0.5, 1, 4, -1, false, 1)).toThrow(/LinearLR: 6 arguments after its required ones, but it takes at most 5/);
    expect(() => new torch.amp.GradScaler('cpu', { init_scale: 1 } as object)).toThrow(/GradScaler: unknown option 'init_scale' \(did you mean initScale\?\)/);
    w.dispose();
  });
});
