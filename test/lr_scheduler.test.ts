// torch.optim.lrScheduler against PyTorch's torch.optim.lr_scheduler (scripts/reference/lr_ref.py):
// the learning rate of each of two param groups (and OneCycleLR's momentum / beta1) after
// construction and after every step, within 1e-12 relative.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import * as torch from '../lib';
import { referenceJson } from './helpers';

const S = torch.optim.lrScheduler;

type Opt = torch.optim.SGD | torch.optim.Adam;
interface Case { name: string; optimizer: 'SGD' | 'Adam'; scheduler: string; kwargs: Record<string, unknown>; steps: number; metrics?: number[]; make: (o: Opt) => { step(m?: number): void } }
const metrics = [5, 4, 4.5, 4.2, 4.1, 4.3, 3, 3.1, 3.2, 3.3, 3.05, 2.9, 3, 3, 3, 3, 3, 3];
const cases: Case[] = [
  { name: 'step', optimizer: 'SGD', scheduler: 'StepLR', kwargs: { step_size: 3, gamma: 0.5 }, steps: 10, make: (o) => new S.StepLR(o, 3, 0.5) },
  { name: 'multistep', optimizer: 'SGD', scheduler: 'MultiStepLR', kwargs: { milestones: [2, 5, 5, 8], gamma: 0.3 }, steps: 10, make: (o) => new S.MultiStepLR(o, [2, 5, 5, 8], 0.3) },
  { name: 'exponential', optimizer: 'Adam', scheduler: 'ExponentialLR', kwargs: { gamma: 0.9 }, steps: 8, make: (o) => new S.ExponentialLR(o, 0.9) },
  { name: 'lambda', optimizer: 'SGD', scheduler: 'LambdaLR', kwargs: { lr_lambda: 'lambda e: 1 / (1 + e) ** 0.5' }, steps: 6, make: (o) => new S.LambdaLR(o, (e) => 1 / (1 + e) ** 0.5) },
  { name: 'lambda_per_group', optimizer: 'SGD', scheduler: 'LambdaLR', kwargs: { lr_lambda: '[lambda e: 0.9 ** e, lambda e: min(1.0, (e + 1) / 4)]' }, steps: 6, make: (o) => new S.LambdaLR(o, [(e) => 0.9 ** e, (e) => Math.min(1, (e + 1) / 4)]) },
  { name: 'linear', optimizer: 'Adam', scheduler: 'LinearLR', kwargs: { start_factor: 0.25, end_factor: 0.9, total_iters: 4 }, steps: 7, make: (o) => new S.LinearLR(o, 0.25, 0.9, 4) },
  { name: 'cosine', optimizer: 'SGD', scheduler: 'CosineAnnealingLR', kwargs: { T_max: 5, eta_min: 0.001 }, steps: 16, make: (o) => new S.CosineAnnealingLR(o, 5, 0.001) },
  { name: 'onecycle_sgd', optimizer: 'SGD', scheduler: 'OneCycleLR', kwargs: { max_lr: [1.0, 0.5], total_steps: 20 }, steps: 20, make: (o) => new S.OneCycleLR(o, { maxLr: [1.0, 0.5], totalSteps: 20 }) },
  { name: 'onecycle_adam_linear_3phase', optimizer: 'Adam', scheduler: 'OneCycleLR', kwargs: { max_lr: 0.3, epochs: 3, steps_per_epoch: 5, anneal_strategy: 'linear', three_phase: true, pct_start: 0.25, div_factor: 10, final_div_factor: 100, base_momentum: 0.8, max_momentum: 0.9 }, steps: 15,
    make: (o) => new S.OneCycleLR(o, { maxLr: 0.3, epochs: 3, stepsPerEpoch: 5, annealStrategy: 'linear', threePhase: true, pctStart: 0.25, divFactor: 10, finalDivFactor: 100, baseMomentum: 0.8, maxMomentum: 0.9 }) },
  { name: 'onecycle_no_momentum', optimizer: 'SGD', scheduler: 'OneCycleLR', kwargs: { max_lr: 0.2, total_steps: 9, cycle_momentum: false }, steps: 9, make: (o) => new S.OneCycleLR(o, { maxLr: 0.2, totalSteps: 9, cycleMomentum: false }) },
  { name: 'multiplicative', optimizer: 'Adam', scheduler: 'MultiplicativeLR', kwargs: { lr_lambda: 'lambda e: 0.95 if e % 2 else 0.8' }, steps: 6, make: (o) => new S.MultiplicativeLR(o, (e) => (e % 2 ? 0.95 : 0.8)) },
  { name: 'constant', optimizer: 'SGD', scheduler: 'ConstantLR', kwargs: { factor: 0.5, total_iters: 3 }, steps: 6, make: (o) => new S.ConstantLR(o, 0.5, 3) },
  { name: 'polynomial', optimizer: 'SGD', scheduler: 'PolynomialLR', kwargs: { total_iters: 6, power: 2.0 }, steps: 8, make: (o) => new S.PolynomialLR(o, 6, 2) },
  { name: 'warm_restarts', optimizer: 'SGD', scheduler: 'CosineAnnealingWarmRestarts', kwargs: { T_0: 3, T_mult: 2, eta_min: 0.001 }, steps: 16, make: (o) => new S.CosineAnnealingWarmRestarts(o, 3, { tMult: 2, etaMin: 0.001 }) },
  { name: 'cyclic_triangular2', optimizer: 'SGD', scheduler: 'CyclicLR', kwargs: { base_lr: 0.01, max_lr: [0.1, 0.2], step_size_up: 3, step_size_down: 2, mode: 'triangular2' }, steps: 16,
    make: (o) => new S.CyclicLR(o, { baseLr: 0.01, maxLr: [0.1, 0.2], stepSizeUp: 3, stepSizeDown: 2, mode: 'triangular2' }) },
  { name: 'cyclic_exp_range', optimizer: 'SGD', scheduler: 'CyclicLR', kwargs: { base_lr: 0.02, max_lr: 0.3, step_size_up: 4, mode: 'exp_range', gamma: 0.9, base_momentum: 0.7, max_momentum: 0.95 }, steps: 14,
    make: (o) => new S.CyclicLR(o, { baseLr: 0.02, maxLr: 0.3, stepSizeUp: 4, mode: 'exp_range', gamma: 0.9, baseMomentum: 0.7, maxMomentum: 0.95 }) },
  { name: 'cyclic_adam_scale_fn', optimizer: 'Adam', scheduler: 'CyclicLR', kwargs: { base_lr: 0.001, max_lr: 0.01, step_size_up: 2, scale_fn: 'lambda x: 1 / (1 + x)', scale_mode: 'iterations', cycle_momentum: false }, steps: 9,
    make: (o) => new S.CyclicLR(o, { baseLr: 0.001, maxLr: 0.01, stepSizeUp: 2, scaleFn: (x) => 1 / (1 + x), scaleMode: 'iterations', cycleMomentum: false }) },
  { name: 'sequential_warmup_cosine', optimizer: 'Adam', scheduler: 'SequentialLR', steps: 12,
    kwargs: { schedulers: [{ scheduler: 'LinearLR', kwargs: { start_factor: 0.1, total_iters: 4 } }, { scheduler: 'CosineAnnealingLR', kwargs: { T_max: 8, eta_min: 0.001 } }], milestones: [4] },
    make: (o) => new S.SequentialLR(o, [new S.LinearLR(o, 0.1, 1, 4), new S.CosineAnnealingLR(o, 8, 0.001)], [4]) },
  { name: 'sequential_three', optimizer: 'SGD', scheduler: 'SequentialLR', steps: 12,
    kwargs: { schedulers: [{ scheduler: 'ConstantLR', kwargs: { factor: 0.5, total_iters: 2 } }, { scheduler: 'ExponentialLR', kwargs: { gamma: 0.8 } }, { scheduler: 'StepLR', kwargs: { step_size: 2, gamma: 0.5 } }], milestones: [3, 7] },
    make: (o) => new S.SequentialLR(o, [new S.ConstantLR(o, 0.5, 2), new S.ExponentialLR(o, 0.8), new S.StepLR(o, 2, 0.5)], [3, 7]) },
  { name: 'chained', optimizer: 'SGD', scheduler: 'ChainedScheduler', steps: 8,
    kwargs: { schedulers: [{ scheduler: 'ConstantLR', kwargs: { factor: 0.25, total_iters: 3 } }, { scheduler: 'ExponentialLR', kwargs: { gamma: 0.9 } }] },
    make: (o) => new S.ChainedScheduler([new S.ConstantLR(o, 0.25, 3), new S.ExponentialLR(o, 0.9)]) },
  { name: 'plateau', optimizer: 'SGD', scheduler: 'ReduceLROnPlateau', kwargs: { patience: 2, factor: 0.5, cooldown: 1, min_lr: [0.01, 0.02] }, steps: metrics.length, metrics, make: (o) => new S.ReduceLROnPlateau(o, { patience: 2, factor: 0.5, cooldown: 1, minLr: [0.01, 0.02] }) },
  { name: 'plateau_max_abs', optimizer: 'Adam', scheduler: 'ReduceLROnPlateau', kwargs: { mode: 'max', threshold_mode: 'abs', threshold: 0.05, patience: 1 }, steps: metrics.length, metrics: metrics.map((m) => -m), make: (o) => new S.ReduceLROnPlateau(o, { mode: 'max', thresholdMode: 'abs', threshold: 0.05, patience: 1 }) },
];

let want: Record<string, number[][][]>;
beforeAll(() => {
  want = referenceJson<Record<string, number[][][]>>('lr_ref.py', cases.map(({ make: _m, ...c }) => c));
}, 60_000);

describe('learning-rate schedulers step as PyTorch\'s (1e-12)', () => {
  for (const c of cases) {
    test(c.name, () => {
      const ps = [torch.zeros([1]).requiresGrad_(), torch.zeros([1]).requiresGrad_()];
      const groups = [{ params: [ps[0]], lr: 0.1 }, { params: [ps[1]], lr: 0.05 }];
      const opt: Opt = c.optimizer === 'SGD' ? new torch.optim.SGD(groups, { lr: 0.1, momentum: 0.9 }) : new torch.optim.Adam(groups, { lr: 0.1 });
      const sched = c.make(opt);
      const record = () => opt.paramGroups.map((g) => [g.lr, 'betas' in g ? g.betas[0] : (g as { momentum: number }).momentum]);
      const got = [record()];
      for (let i = 0; i < c.steps; i++) {
        opt.step();
        sched.step(c.metrics?.[i]);
        got.push(record());
      }
      expect(got.length).toBe(want[c.name].length);
      got.forEach((row, s) => row.forEach((vals, g) => vals.forEach((v, k) => {
        const w = want[c.name][s][g][k];
        if (!(Math.abs(v - w) <= 1e-12 * Math.abs(w))) throw new Error(`${c.name} step ${s} group ${g} ${k ? 'momentum' : 'lr'}: ${v}, PyTorch ${w}`);
      })));
      // The schedule did move the lr (a no-op scheduler fails unless PyTorch's stood still too).
      expect(new Set(got.map((r) => r[0][0])).size).toBeGreaterThan(1);
      ps.forEach((p) => p.dispose());
    });
  }

  // A run stopped midway and resumed from the saved states (the scheduler's stateDict through JSON,
  // the optimizer's learning rates and momenta): the rest of the schedule is PyTorch's uninterrupted one.
  for (const c of cases) {
    test(`${c.name}: stateDict / loadStateDict resume the schedule`, () => {
      type Resumable = { step(m?: number): void; stateDict(): Record<string, unknown>; loadStateDict(sd: Record<string, unknown>): void };
      const build = () => {
        const ps = [torch.zeros([1]).requiresGrad_(), torch.zeros([1]).requiresGrad_()];
        const groups = [{ params: [ps[0]], lr: 0.1 }, { params: [ps[1]], lr: 0.05 }];
        const opt: Opt = c.optimizer === 'SGD' ? new torch.optim.SGD(groups, { lr: 0.1, momentum: 0.9 }) : new torch.optim.Adam(groups, { lr: 0.1 });
        return { ps, opt, sched: c.make(opt) as unknown as Resumable };
      };
      const record = (opt: Opt) => opt.paramGroups.map((g) => [g.lr, 'betas' in g ? g.betas[0] : (g as { momentum: number }).momentum]);
      const half = Math.max(1, Math.floor(c.steps / 2));
      const first = build();
      for (let i = 0; i < half; i++) {
        first.opt.step();
        first.sched.step(c.metrics?.[i]);
      }
      const saved = JSON.parse(JSON.stringify(first.sched.stateDict()));
      const groupsSaved = first.opt.paramGroups.map((g) => ({ ...g, params: undefined }));
      const second = build();
      // (what optimizer.loadStateDict restores: each group's lr, momentum / betas, initial lr)
      second.opt.paramGroups.forEach((g, i) => Object.assign(g, { ...groupsSaved[i], params: g.params }));
      second.sched.loadStateDict(saved);
      const got = [record(second.opt)];
      for (let i = half; i < c.steps; i++) {
        second.opt.step();
        second.sched.step(c.metrics?.[i]);
        got.push(record(second.opt));
      }
      got.forEach((row, k) => row.forEach((vals, g) => vals.forEach((v, j) => {
        const w = want[c.name][half + k][g][j];
        if (!(Math.abs(v - w) <= 1e-12 * Math.abs(w))) throw new Error(`${c.name} resumed at ${half}, step ${half + k} group ${g}: ${v}, PyTorch ${w}`);
      })));
      [...first.ps, ...second.ps].forEach((p) => p.dispose());
    });
  }

  // The same, across languages: PyTorch's state_dict() saved by Python's torch.save resumes here
  // (read with torch.loadObject), and ours saved with torch.save resumes in PyTorch; both runs
  // continue as PyTorch's uninterrupted one.
  test('PyTorch\'s state_dict layout both ways: Python\'s saved states resume here, ours in PyTorch (torch.save files)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-lr-state-'));
    const ref = path.join(__dirname, '..', 'scripts', 'reference', 'lr_state_ref.py');
    const python = (...args: string[]) => {
      const r = spawnSync('/usr/bin/python3', ['-W', 'ignore', ref, ...args], { encoding: 'utf8', env: { ...process.env, PYTHONPATH: path.dirname(ref) } });
      if (r.status !== 0) throw new Error(`lr_state_ref.py ${args[0]} failed:\n${r.stderr}`);
    };
    type Resumable = { step(m?: number): void; stateDict(): Record<string, unknown>; loadStateDict(sd: Record<string, unknown>): void };
    const build = (c: Case) => {
      const ps = [torch.zeros([1]).requiresGrad_(), torch.zeros([1]).requiresGrad_()];
      const groups = [{ params: [ps[0]], lr: 0.1 }, { params: [ps[1]], lr: 0.05 }];
      const opt: Opt = c.optimizer === 'SGD' ? new torch.optim.SGD(groups, { lr: 0.1, momentum: 0.9 }) : new torch.optim.Adam(groups, { lr: 0.1 });
      return { ps, opt, sched: c.make(opt) as unknown as Resumable };
    };
    const record = (opt: Opt) => opt.paramGroups.map((g) => [g.lr, 'betas' in g ? g.betas[0] : (g as { momentum: number }).momentum]);
    const check = (what: string, name: string, from: number, rows: number[][][]) => rows.forEach((row, k) => row.forEach((vals, g) => vals.forEach((v, j) => {
      const w = want[name][from + k][g][j];
      if (!(Math.abs(v - w) <= 1e-12 * Math.abs(w))) throw new Error(`${name} (${what}) step ${from + k} group ${g}: ${v}, PyTorch ${w}`);
    })));
    try {
      const casesFile = path.join(dir, 'cases.json');
      fs.writeFileSync(casesFile, JSON.stringify(cases.map(({ make: _m, ...c }) => c)));
      python('save', casesFile, dir);
      for (const c of cases) {
        const half = Math.max(1, Math.floor(c.steps / 2));
        // our first half: its optimizer groups (what optimizer.loadStateDict restores) and, saved, our state
        const first = build(c);
        for (let i = 0; i < half; i++) {
          first.opt.step();
          first.sched.step(c.metrics?.[i]);
        }
        const groupsSaved = first.opt.paramGroups.map((g) => ({ lr: g.lr, initial_lr: (g as { initialLr?: number }).initialLr, ...('betas' in g ? { betas: g.betas } : { momentum: (g as { momentum: number }).momentum }) }));
        fs.writeFileSync(path.join(dir, `${c.name}.groups.json`), JSON.stringify(groupsSaved));
        torch.save(first.sched.stateDict() as never, path.join(dir, `${c.name}.ours.pt`));
        // Python's state, loaded here, resumes the schedule
        const second = build(c);
        second.opt.paramGroups.forEach((g, i) => Object.assign(g, { lr: groupsSaved[i].lr, initialLr: groupsSaved[i].initial_lr }, 'betas' in groupsSaved[i] ? { betas: groupsSaved[i].betas } : { momentum: groupsSaved[i].momentum }));
        second.sched.loadStateDict(torch.loadObject(path.join(dir, `${c.name}.torch.pt`)) as Record<string, unknown>);
        const got = [record(second.opt)];
        for (let i = half; i < c.steps; i++) {
          second.opt.step();
          second.sched.step(c.metrics?.[i]);
          got.push(record(second.opt));
        }
        check('PyTorch\'s state loaded here', c.name, half, got);
        [...first.ps, ...second.ps].forEach((p) => p.dispose());
      }
      // ours, loaded by PyTorch's load_state_dict, resumes the schedule there
      const out = path.join(dir, 'out.json');
      python('resume', casesFile, dir, out);
      const resumed = JSON.parse(fs.readFileSync(out, 'utf8')) as Record<string, number[][][]>;
      for (const c of cases) check('our state loaded by PyTorch', c.name, Math.max(1, Math.floor(c.steps / 2)) + 1, resumed[c.name]);
      expect(Object.keys(resumed).length).toBe(cases.length);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  test('loadStateDict refuses another scheduler\'s state', () => {
    const opt = new torch.optim.SGD([torch.zeros([1]).requiresGrad_()], { lr: 0.1, momentum: 0.9 });
    const step = new S.StepLR(opt, 3);
    expect(() => new S.CosineAnnealingLR(opt, 5).loadStateDict(step.stateDict())).toThrow("CosineAnnealingLR.loadStateDict: unknown key 'step_size': is this the state of another kind of scheduler?");
    expect(() => step.loadStateDict(null as never)).toThrow('StepLR.loadStateDict: expected the object stateDict() gave');
    expect(() => new S.SequentialLR(opt, [new S.ConstantLR(opt), step], [2]).loadStateDict({ schedulers: [] })).toThrow('SequentialLR.loadStateDict: expected the states of its 2 schedulers');
    // a state in the camelCase layout of earlier versions still loads
    const old = new S.StepLR(opt, 3, 0.5);
    old.loadStateDict({ baseLrs: [0.1], lastEpoch: 4, stepCount: 5, lastLr: [0.05], stepSize: 3, gamma: 0.5 });
    expect([old.lastEpoch, old.getLastLr(), old.stateDict().last_epoch, old.stateDict()._step_count]).toEqual([4, [0.05], 4, 5]);
    // settings other state is built from are checked, not silently taken
    const cyclic = new S.CyclicLR(opt, { baseLr: 0.01, maxLr: 0.1, mode: 'triangular2' });
    expect(() => new S.CyclicLR(opt, { baseLr: 0.01, maxLr: 0.1 }).loadStateDict(cyclic.stateDict()))
      .toThrow(`CyclicLR.loadStateDict: mode is "triangular2" in the state, "triangular" in this scheduler: build it with the settings the state was saved with`);
    expect(() => step.loadStateDict({ ...step.stateDict(), step_size: 5, gamma: 'half' })).toThrow('StepLR.loadStateDict: gamma: expected a number, got "half"');
    expect(step.stepSize).toBe(3); // (nothing taken from a state refused: step_size, read before gamma, put back)
    // ReduceLROnPlateau's best (Infinity before any metric) survives JSON
    const p = new S.ReduceLROnPlateau(opt);
    const q = new S.ReduceLROnPlateau(opt);
    q.loadStateDict(JSON.parse(JSON.stringify(p.stateDict())));
    expect(q.best).toBe(Infinity);
  });

  test('bad settings are clear errors', () => {
    const opt = new torch.optim.SGD([torch.zeros([1]).requiresGrad_()], { lr: 0.1 });
    expect(() => new S.StepLR(opt, 0)).toThrow(/stepSize must be a positive integer/);
    expect(() => new S.CosineAnnealingWarmRestarts(opt, 0)).toThrow('CosineAnnealingWarmRestarts: expected positive integer t0, but got 0');
    expect(() => new S.CyclicLR(new torch.optim.Adam([torch.zeros([1]).requiresGrad_()]), { baseLr: 0.1, maxLr: 1 })).toThrow('CyclicLR: optimizer must support momentum with the cycleMomentum option enabled');
    expect(() => new S.SequentialLR(opt, [new S.ConstantLR(opt)], [3])).toThrow(/one more scheduler than milestones/);
    expect(() => new S.ConstantLR(opt, 2)).toThrow(/factor expected to be between 0 and 1/);
    expect(() => new S.OneCycleLR(opt, { maxLr: 1 })).toThrow(/give totalSteps, or epochs and stepsPerEpoch/);
    expect(() => new S.OneCycleLR(opt, { maxLr: [1, 2], totalSteps: 5 })).toThrow(/2 values of maxLr for 1 param groups/);
    expect(() => new S.ReduceLROnPlateau(opt, { factor: 1 })).toThrow(/factor must be below 1/);
    expect(() => new S.LambdaLR(opt, [(e) => e, (e) => e])).toThrow(/2 functions for 1 param groups/);
    const oc = new S.OneCycleLR(opt, { maxLr: 1, totalSteps: 2, cycleMomentum: false });
    oc.step();
    oc.step();
    expect(() => oc.step()).toThrow(/stepped 3 times, more than totalSteps \(2\)/);
  });
});
