// torch.optim.SGD, Adam, AdamW (AMSGrad, maximize), RMSprop, Adagrad, Adamax, NAdam, RAdam, Adadelta, Rprop, ASGD and
// transformers' Adafactor against PyTorch's (scripts/reference/optim_ref.py): 6
// steps from the same start, every option (momentum, dampening, Nesterov, weight decay,
// AMSGrad, maximize, param groups) and a step where one parameter has no gradient. Losses and
// final weights within 1e-12 (float64).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as torch from '../lib';
import { referenceTensors, pythonJson, expectFlatClose } from './helpers';


type Kwargs = Record<string, number | boolean | number[] | string[]>;
type OptimizerName = 'SGD' | 'Adam' | 'AdamW' | 'RMSprop' | 'Adagrad' | 'Adamax' | 'NAdam' | 'RAdam' | 'Adadelta' | 'Rprop' | 'ASGD' | 'Adafactor';
/** `moves`: how far W must have moved at least (default 1e-3) */
interface Case { name: string; optimizer: OptimizerName; kwargs: Kwargs; groups?: (Kwargs & { params: string[] })[]; moves?: number }
const cases: Case[] = [
  { name: 'sgd_plain', optimizer: 'SGD', kwargs: { lr: 0.1 } },
  { name: 'sgd_momentum', optimizer: 'SGD', kwargs: { lr: 0.1, momentum: 0.9 } },
  { name: 'sgd_dampening_decay', optimizer: 'SGD', kwargs: { lr: 0.05, momentum: 0.9, dampening: 0.1, weight_decay: 0.01 } },
  { name: 'sgd_nesterov', optimizer: 'SGD', kwargs: { lr: 0.05, momentum: 0.8, nesterov: true, weight_decay: 0.02 } },
  { name: 'sgd_maximize', optimizer: 'SGD', kwargs: { lr: 0.01, momentum: 0.5, maximize: true } },
  { name: 'sgd_groups', optimizer: 'SGD', kwargs: { lr: 0.05 }, groups: [{ params: ['W'], lr: 0.1, momentum: 0.9 }, { params: ['b'], momentum: 0.5 }] },
  { name: 'adam_plain', optimizer: 'Adam', kwargs: { lr: 0.01 } },
  { name: 'adam_decay', optimizer: 'Adam', kwargs: { lr: 0.02, weight_decay: 0.1 } },
  { name: 'adam_amsgrad', optimizer: 'Adam', kwargs: { lr: 0.02, amsgrad: true, betas: [0.8, 0.9] } },
  { name: 'adam_maximize', optimizer: 'Adam', kwargs: { lr: 0.01, maximize: true, eps: 1e-6 } },
  { name: 'adamw_amsgrad', optimizer: 'AdamW', kwargs: { lr: 0.02, amsgrad: true, weight_decay: 0.05, betas: [0.8, 0.9] } },
  { name: 'adamw_maximize', optimizer: 'AdamW', kwargs: { lr: 0.01, maximize: true } },
  { name: 'adamw_groups', optimizer: 'AdamW', kwargs: { lr: 0.01 }, groups: [{ params: ['W'], amsgrad: true }, { params: ['b'], lr: 0.03, weight_decay: 0 }] },
  { name: 'adam_groups', optimizer: 'Adam', kwargs: { lr: 0.01 }, groups: [{ params: ['W'], weight_decay: 0.05, amsgrad: true }, { params: ['b'], lr: 0.03 }] },
  { name: 'rmsprop_plain', optimizer: 'RMSprop', kwargs: { lr: 0.01 } },
  { name: 'rmsprop_centered_momentum', optimizer: 'RMSprop', kwargs: { lr: 0.01, momentum: 0.9, centered: true, weight_decay: 0.01, alpha: 0.9 } },
  { name: 'rmsprop_maximize', optimizer: 'RMSprop', kwargs: { lr: 0.005, maximize: true, eps: 1e-6 } },
  { name: 'adagrad_plain', optimizer: 'Adagrad', kwargs: { lr: 0.1 } },
  { name: 'adagrad_decay', optimizer: 'Adagrad', kwargs: { lr: 0.1, lr_decay: 0.05, weight_decay: 0.01, initial_accumulator_value: 0.1, eps: 1e-8 } },
  { name: 'adamax_plain', optimizer: 'Adamax', kwargs: { lr: 0.02 } },
  { name: 'adamax_decay', optimizer: 'Adamax', kwargs: { lr: 0.02, weight_decay: 0.05, betas: [0.8, 0.95], maximize: true } },
  { name: 'nadam_plain', optimizer: 'NAdam', kwargs: { lr: 0.01 } },
  { name: 'nadam_decay', optimizer: 'NAdam', kwargs: { lr: 0.02, weight_decay: 0.01, momentum_decay: 0.01 } },
  { name: 'radam_plain', optimizer: 'RAdam', kwargs: { lr: 0.01 } },
  { name: 'radam_rectified', optimizer: 'RAdam', kwargs: { lr: 0.05, weight_decay: 0.02, betas: [0.9, 0.9] } }, // rho_t > 5 at step 6
  { name: 'adadelta_plain', optimizer: 'Adadelta', kwargs: {} },
  { name: 'adadelta_decay', optimizer: 'Adadelta', kwargs: { lr: 0.5, rho: 0.8, eps: 1e-5, weight_decay: 0.05, maximize: true } },
  { name: 'rprop_plain', optimizer: 'Rprop', kwargs: { lr: 0.02 } },
  { name: 'rprop_bounds', optimizer: 'Rprop', kwargs: { lr: 0.05, etas: [0.3, 1.5], step_sizes: [0.01, 0.08], maximize: true } },
  { name: 'asgd_plain', optimizer: 'ASGD', kwargs: { lr: 0.05 } },
  { name: 'asgd_averaging', optimizer: 'ASGD', kwargs: { lr: 0.1, lambd: 0.01, alpha: 0.5, t0: 2, weight_decay: 0.02 } },
  // W is a matrix (factored second moment), b a vector (full second moment)
  { name: 'adafactor_relative', optimizer: 'Adafactor', kwargs: {} },
  { name: 'adafactor_warmup_init', optimizer: 'Adafactor', kwargs: { warmup_init: true }, moves: 1e-7 },
  { name: 'adafactor_manual', optimizer: 'Adafactor', kwargs: { lr: 0.05, relative_step: false, scale_parameter: false, beta1: 0.9, weight_decay: 0.01, clip_threshold: 0.5 } },
  { name: 'adafactor_scaled', optimizer: 'Adafactor', kwargs: { lr: 0.5, relative_step: false, weight_decay: 0.1, decay_rate: -0.5 } },
  { name: 'adafactor_groups', optimizer: 'Adafactor', kwargs: { lr: 0.05, relative_step: false, scale_parameter: false }, groups: [{ params: ['W'], beta1: 0.5 }, { params: ['b'], lr: 0.1, clip_threshold: 2 }] },
  { name: 'rmsprop_groups', optimizer: 'RMSprop', kwargs: { lr: 0.01 }, groups: [{ params: ['W'], momentum: 0.5 }, { params: ['b'], lr: 0.02, centered: true }] },
];

/** Python's keyword names to ours. */
function options(k: Kwargs): Record<string, unknown> {
  const names: Record<string, string> = {
    weight_decay: 'weightDecay', lr_decay: 'lrDecay', initial_accumulator_value: 'initialAccumulatorValue', momentum_decay: 'momentumDecay', step_sizes: 'stepSizes',
    clip_threshold: 'clipThreshold', decay_rate: 'decayRate', scale_parameter: 'scaleParameter', relative_step: 'relativeStep', warmup_init: 'warmupInit',
  };
  return Object.fromEntries(Object.entries(k).map(([n, v]) => [names[n] ?? n, v]));
}

let want: Map<string, torch.Tensor>;
const start: Record<string, torch.Tensor> = {};

beforeAll(() => {
  torch.manualSeed(3);
  start.W = torch.keep(torch.randn([4, 3], { dtype: 'float64' }));
  start.b = torch.keep(torch.randn([3], { dtype: 'float64' }));
  start.X = torch.keep(torch.randn([5, 4], { dtype: 'float64' }));
  start.Y = torch.keep(torch.randn([5, 3], { dtype: 'float64' }));
  want = referenceTensors('optim_ref.py', cases, start);
}, 60_000);

const maxDiff = (a: torch.Tensor, b: torch.Tensor) => torch.tidy(() => a.sub(b).abs().max().item() as number);

describe('SGD, Adam, RMSprop, Adagrad, Adamax, NAdam, RAdam, Adadelta, Rprop, ASGD and Adafactor take the steps PyTorch takes (float64, 1e-12)', () => {
  for (const c of cases) {
    test(c.name, () => {
      const W = start.W.clone().requiresGrad_(), b = start.b.clone().requiresGrad_();
      const named: Record<string, torch.Tensor> = { W, b };
      const params = c.groups ? c.groups.map((g) => ({ ...options(g), params: g.params.map((n) => named[n]) })) : [W, b];
      const Opt = torch.optim[c.optimizer];
      const opt = new Opt(params as never, options(c.kwargs));
      const losses: number[] = [];
      for (let step = 0; step < 6; step++) {
        torch.tidy(() => {
          opt.zeroGrad();
          const loss = start.X.matmul(W).add(b).tanh().sub(start.Y).pow(2).mean().add(W.abs().sum().mul(0.1));
          loss.backward();
          if (step === 2) b.grad = null;
          opt.step();
          losses.push(loss.item() as number);
        });
      }
      const wantLosses = want.get(`${c.name}.losses`)!.tolist() as number[];
      losses.forEach((l, i) => expect(Math.abs(l - wantLosses[i])).toBeLessThan(1e-12));
      expect(maxDiff(W, want.get(`${c.name}.W`)!)).toBeLessThan(1e-12);
      expect(maxDiff(b, want.get(`${c.name}.b`)!)).toBeLessThan(1e-12);
      // The weights moved (a no-op optimizer would fail above, unless PyTorch's stood still too).
      expect(maxDiff(W, start.W)).toBeGreaterThan(c.moves ?? 1e-3);
      opt.dispose();
      W.dispose();
      b.dispose();
    });
  }

  test('bad settings are clear errors', () => {
    const p = torch.zeros([2]).requiresGrad_();
    expect(() => new torch.optim.SGD([p], { lr: -1 })).toThrow(/SGD: invalid learning rate -1/);
    expect(() => new torch.optim.SGD([p], { lr: 0.1, nesterov: true })).toThrow(/nesterov momentum needs a momentum and zero dampening/);
    expect(() => new torch.optim.Adam([p], { betas: [1, 0.9] })).toThrow(/Adam: invalid betas/);
    expect(() => new torch.optim.Adam([p, p])).toThrow(/more than one group/);
    expect(() => new torch.optim.SGD([torch.zeros([2])])).toThrow(/no parameter requires grad/);
    expect(() => new torch.optim.RMSprop([p], { alpha: -1 })).toThrow('RMSprop: invalid alpha value -1');
    expect(() => new torch.optim.NAdam([p], { betas: [0.9, 1] })).toThrow('NAdam: invalid beta parameter at index 1: 1');
    expect(() => new torch.optim.Adagrad([p], { lrDecay: -0.1 })).toThrow('Adagrad: invalid lr_decay value -0.1');
    expect(() => new torch.optim.Adadelta([p], { rho: 1.5 })).toThrow('Adadelta: invalid rho value 1.5');
    expect(() => new torch.optim.Rprop([p], { etas: [0.5, 0.9] })).toThrow('Rprop: invalid eta values: 0.5, 0.9');
    expect(() => new torch.optim.ASGD([p], { weightDecay: -1 })).toThrow('ASGD: invalid weight_decay value -1');
    expect(() => new torch.optim.Adafactor([p], { lr: 0.1 })).toThrow(/manual lr and relativeStep cannot be combined/);
    expect(() => new torch.optim.Adafactor([p], { relativeStep: false })).toThrow('Adafactor: relativeStep: false needs an lr');
    expect(() => new torch.optim.Adafactor([p], { lr: 0.1, relativeStep: false, warmupInit: true })).toThrow('Adafactor: warmupInit needs relativeStep');
    const rms = new torch.optim.RMSprop([p]);
    expect(() => rms.loadStateDict({ tensors: new Map(), steps: { '0.0': 1 } })).toThrow("RMSprop.loadStateDict: missing state tensor '0.0.square_avg'");
    p.dispose();
  });
});

test('optimizer state dicts: 3 steps, saved with torch.save as a PyTorch checkpoint, loaded into new optimizers, 3 more steps = 6 steps straight (exactly)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-optim-state-'));
  type Opt = { step(): void; zeroGrad(): void; dispose(): void; stateDict(): torch.optim.TorchOptimizerStateDict; flatStateDict(): { tensors: Map<string, torch.Tensor> }; loadStateDict(sd: never): void };
  const makers: [string, (ps: torch.Tensor[]) => Opt][] = [
    ['sgd', (ps) => new torch.optim.SGD(ps, { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.01 })],
    ['adam', (ps) => new torch.optim.Adam(ps, { lr: 0.02, amsgrad: true, weightDecay: 0.05 })],
    ['adamw', (ps) => new torch.optim.AdamW(ps, { lr: 0.02, amsgrad: true, weightDecay: 0.05 })],
    ['adamw_named', (ps) => new torch.optim.AdamW([{ params: ps, names: ['W', 'b'] }], { lr: 0.02 })],
    ['rmsprop', (ps) => new torch.optim.RMSprop(ps, { lr: 0.01, momentum: 0.9, centered: true })],
    ['adagrad', (ps) => new torch.optim.Adagrad(ps, { lr: 0.1, lrDecay: 0.05 })],
    ['adamax', (ps) => new torch.optim.Adamax(ps, { lr: 0.02 })],
    ['nadam', (ps) => new torch.optim.NAdam(ps, { lr: 0.02 })],
    ['radam', (ps) => new torch.optim.RAdam(ps, { lr: 0.05, betas: [0.9, 0.9] })],
    ['adadelta', (ps) => new torch.optim.Adadelta(ps, { rho: 0.8 })],
    ['rprop', (ps) => new torch.optim.Rprop(ps, { lr: 0.02 })],
    ['asgd', (ps) => new torch.optim.ASGD(ps, { lr: 0.1, t0: 2, lambd: 0.01 })],
    ['adafactor', (ps) => new torch.optim.Adafactor(ps, { beta1: 0.9 })],
  ];
  for (const [name, make] of makers) {
    const run = (W: torch.Tensor, b: torch.Tensor, opt: Opt, n: number) => {
      for (let i = 0; i < n; i++) torch.tidy(() => {
        opt.zeroGrad();
        start.X.matmul(W).add(b).tanh().sub(start.Y).pow(2).mean().backward();
        opt.step();
      });
    };
    const fresh = () => [start.W.clone().requiresGrad_(), start.b.clone().requiresGrad_()];
    const [W1, b1] = fresh();
    const straight = make([W1, b1]);
    run(W1, b1, straight, 6);

    // PyTorch's checkpoint: torch.save({ epoch, model, optimizer: optimizer.state_dict() }), read back whole
    const [W2, b2] = fresh();
    const first = make([W2, b2]);
    run(W2, b2, first, 3);
    const sd = first.stateDict();
    expect([name, sd.param_groups.map((g) => g.params)]).toEqual([name, [[0, 1]]]);
    torch.save({ epoch: 3, model: { W: W2, b: b2 }, optimizer: sd }, path.join(dir, `${name}.pt`));
    first.dispose();
    const second = make([W2, b2]);
    const checkpoint = torch.loadObject(path.join(dir, `${name}.pt`)) as { epoch: number; optimizer: never };
    second.loadStateDict(checkpoint.optimizer);
    run(W2, b2, second, 3);
    expect([name, checkpoint.epoch, W2.equal(W1), b2.equal(b1)]).toEqual([name, 3, true, true]);

    // The flat layout (the Trainer's checkpoints: tensors to safetensors, the rest to JSON) restores the same state
    const [W3, b3] = fresh();
    const third = make([W3, b3]);
    run(W3, b3, third, 3);
    const flat = third.flatStateDict();
    torch.save(flat.tensors, path.join(dir, `${name}.safetensors`));
    fs.writeFileSync(path.join(dir, `${name}.json`), JSON.stringify({ ...flat, tensors: undefined }));
    third.dispose();
    const fourth = make([W3, b3]);
    const json = JSON.parse(fs.readFileSync(path.join(dir, `${name}.json`), 'utf8'));
    fourth.loadStateDict({ ...json, tensors: torch.load(path.join(dir, `${name}.safetensors`)) } as never);
    run(W3, b3, fourth, 3);
    expect([name, W3.equal(W1), b3.equal(b1)]).toEqual([name, true, true]);
    for (const t of [W1, b1, W2, b2, W3, b3]) t.dispose();
    straight.dispose();
    second.dispose();
    fourth.dispose();
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

test("optimizer state dicts cross to PyTorch and back: ours loaded by Python's load_state_dict, Python's by ours, 3 + 3 steps = 6 straight (float64)", () => {
  // One case per optimizer with the most state (momentum, AMSGrad, centred, two groups).
  const names = ['sgd_nesterov', 'sgd_groups', 'adam_amsgrad', 'adamw_groups', 'rmsprop_centered_momentum', 'adagrad_decay', 'adamax_decay',
    'nadam_decay', 'radam_rectified', 'adadelta_decay', 'rprop_bounds', 'asgd_averaging'];
  const picked = names.map((n) => cases.find((c) => c.name === n)!);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-optim-cross-'));
  const lossOf = (W: torch.Tensor, b: torch.Tensor) => start.X.matmul(W).add(b).tanh().sub(start.Y).pow(2).mean().add(W.abs().sum().mul(0.1));
  type Opt = { step(): void; zeroGrad(): void; dispose(): void; stateDict(): torch.optim.TorchOptimizerStateDict; loadStateDict(sd: never): void };
  const make = (c: Case, W: torch.Tensor, b: torch.Tensor): Opt => {
    const named: Record<string, torch.Tensor> = { W, b };
    const params = c.groups ? c.groups.map((g) => ({ ...options(g), params: g.params.map((n) => named[n]) })) : [W, b];
    return new torch.optim[c.optimizer](params as never, options(c.kwargs)) as unknown as Opt;
  };
  const run = (opt: Opt, W: torch.Tensor, b: torch.Tensor, n: number) => {
    for (let i = 0; i < n; i++) torch.tidy(() => { opt.zeroGrad(); lossOf(W, b).backward(); opt.step(); });
  };
  const ours6 = new Map<string, torch.Tensor[]>();
  for (const c of picked) {
    const W = start.W.clone().requiresGrad_(), b = start.b.clone().requiresGrad_();
    const opt = make(c, W, b);
    run(opt, W, b, 3);
    torch.save({ W, b, optimizer: opt.stateDict() }, path.join(dir, `${c.name}.ours.pt`));
    run(opt, W, b, 3);
    ours6.set(c.name, [W, b]);
    opt.dispose();
  }
  torch.save({ W: start.W, b: start.b, X: start.X, Y: start.Y }, path.join(dir, 'start.pt'));
  const py = pythonJson<Record<string, { continued: number[][]; straight: number[][] }>>(`import torch, json, sys, os, copy
d, cases = sys.argv[1], json.loads(sys.argv[2])
s = torch.load(os.path.join(d, 'start.pt')); X, Y = s['X'], s['Y']
def make(c, W, b):
    named = {'W': W, 'b': b}
    params = [dict(g, params=[named[n] for n in g['params']]) for g in c['groups']] if c.get('groups') else [W, b]
    return getattr(torch.optim, c['optimizer'])(params, **c['kwargs'])
def run(opt, W, b, n):
    for _ in range(n):
        opt.zero_grad(); ((torch.tanh(X @ W + b) - Y).pow(2).mean() + W.abs().sum() * 0.1).backward(); opt.step()
out = {}
for c in cases:
    ours = torch.load(os.path.join(d, c['name'] + '.ours.pt'))
    W, b = torch.nn.Parameter(ours['W']), torch.nn.Parameter(ours['b'])
    opt = make(c, W, b); opt.load_state_dict(ours['optimizer']); run(opt, W, b, 3)
    W2, b2 = torch.nn.Parameter(s['W'].clone()), torch.nn.Parameter(s['b'].clone())
    opt2 = make(c, W2, b2); run(opt2, W2, b2, 3)
    torch.save({'W': W2.detach().clone(), 'b': b2.detach().clone(), 'optimizer': copy.deepcopy(opt2.state_dict())}, os.path.join(d, c['name'] + '.python.pt'))
    run(opt2, W2, b2, 3)
    out[c['name']] = {'continued': [W.detach().flatten().tolist(), b.detach().flatten().tolist()], 'straight': [W2.detach().flatten().tolist(), b2.detach().flatten().tolist()]}
print(json.dumps(out))`, dir, JSON.stringify(picked));
  for (const c of picked) {
    // ours, continued by PyTorch (NAdam's mu_product and ASGD's eta, mu: PyTorch's load_state_dict casts them to the parameters' float64)
    const tol = ['nadam_decay', 'asgd_averaging'].includes(c.name) ? 1e-9 : 1e-12;
    expectFlatClose(`${c.name}: ours continued by PyTorch`, ours6.get(c.name)!, py[c.name].continued, tol);
    // PyTorch's, continued here
    const theirs = torch.loadObject(path.join(dir, `${c.name}.python.pt`)) as { W: torch.Tensor; b: torch.Tensor; optimizer: never };
    const W = theirs.W.requiresGrad_(), b = theirs.b.requiresGrad_();
    const opt = make(c, W, b);
    opt.loadStateDict(theirs.optimizer);
    run(opt, W, b, 3);
    expectFlatClose(`${c.name}: PyTorch's continued here`, [W, b], py[c.name].straight, 1e-12);
    opt.dispose();
    for (const t of [W, b, ...ours6.get(c.name)!]) t.dispose();
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

test('optimizer.loadStateDict: a state dict that does not fit is a clear error', () => {
  const W = start.W.clone().requiresGrad_(), b = start.b.clone().requiresGrad_();
  const opt = new torch.optim.Adam([W, b]);
  const two = new torch.optim.Adam([{ params: [W] }, { params: [b] }]);
  expect(() => opt.loadStateDict(two.stateDict() as never)).toThrow('Adam.loadStateDict: loaded state dict has a different number of parameter groups (2; the optimizer has 1)');
  const one = new torch.optim.Adam([W]);
  expect(() => opt.loadStateDict(one.stateDict() as never)).toThrow(/Adam.loadStateDict: loaded state dict contains a parameter group that doesn't match the size of optimizer's group \(group 0: 1 parameters saved, 2 here; the optimizers here leave frozen parameters out/);
  expect(() => opt.loadStateDict({ lr: 0.1 } as never)).toThrow(/Adam.loadStateDict: this is not an optimizer's state dict \(it has neither 'state' and 'param_groups', PyTorch's, nor 'tensors'\)/);
  expect(() => new torch.optim.RMSprop([W, b]).loadStateDict({ state: new Map([[0, { step: 1 }]]), param_groups: [{ lr: 0.01, params: [0, 1] }] })).toThrow("RMSprop.loadStateDict: missing state tensor '0.0.square_avg'");
  for (const o of [opt, two, one]) o.dispose();
  W.dispose();
  b.dispose();
});

test('optimizer.loadStateDict: groups that differ only by empty ones (HF\'s LoRA no-decay group) are matched in order; the state and the group settings land where they belong', () => {
  const W = start.W.clone().requiresGrad_(), b = start.b.clone().requiresGrad_();
  const step = (o: torch.optim.AdamW) => torch.tidy(() => { o.zeroGrad(); W.matmul(W.t()).add(b.sum()).tanh().sum().backward(); o.step(); });
  // HF's Trainer over LoRA: [decay: everything, no-decay: nothing]; tstorch's checkpoints before had the first alone
  const hf = new torch.optim.AdamW([{ params: [W, b], weightDecay: 0.1 }, { params: [], weightDecay: 0 }], { lr: 0.01 });
  step(hf);
  step(hf);
  const one = new torch.optim.AdamW([{ params: [W, b], weightDecay: 0.3 }], { lr: 0.02 });
  one.loadStateDict(hf.stateDict());
  expect(one.paramGroups.map((g) => [g.lr, g.weightDecay])).toEqual([[0.01, 0.1]]);
  const [a, c] = [hf.stateDict(), one.stateDict()] as { state: Map<number, Record<string, unknown>> }[];
  expect([...c.state.keys()]).toEqual([0, 1]);
  for (const k of [0, 1]) {
    expect(c.state.get(k)!.step).toEqual(a.state.get(k)!.step);
    expect((c.state.get(k)!.exp_avg_sq as torch.Tensor).equal(a.state.get(k)!.exp_avg_sq as torch.Tensor)).toBe(true);
  }
  // and back: the one-group state into HF's two groups, the empty group's settings left as they were
  const two = new torch.optim.AdamW([{ params: [W, b], weightDecay: 0.5 }, { params: [], weightDecay: 0.25 }], { lr: 0.03 });
  two.loadStateDict(one.stateDict());
  expect(two.paramGroups.map((g) => [g.lr, g.weightDecay])).toEqual([[0.01, 0.1], [0.03, 0.25]]);
  expect(((two.stateDict() as { state: Map<number, Record<string, unknown>> }).state.get(1)!.exp_avg as torch.Tensor).equal(a.state.get(1)!.exp_avg as torch.Tensor)).toBe(true);
  // groups that differ in their parameters still do not load
  const split = new torch.optim.AdamW([{ params: [W] }, { params: [b] }, { params: [] }]);
  expect(() => split.loadStateDict(one.stateDict())).toThrow('AdamW.loadStateDict: loaded state dict has a different number of parameter groups (1; the optimizer has 3)');
  for (const o of [hf, one, two, split]) o.dispose();
  W.dispose();
  b.dispose();
});

test("sparse gradients: Adagrad's sparse update is PyTorch's over 3 steps (repeated rows, maximize); Adam, AdamW, RMSprop, Adamax, NAdam refuse them with PyTorch's message before any parameter moves", () => {
  // An Embedding made with sparse: true and a Linear after it; rows 1, 2, 1 looked up (a row twice: coalesced).
  const W = [[0.5, -1, 0.25], [1.5, 0.75, -0.5], [-2, 0.1, 0.3], [0.2, 0.4, -0.6]], L = [[0.3, -0.2, 0.7]];
  const rows = [1, 2, 1];
  const want = pythonJson<Record<string, { emb: number[][]; lin: number[][] } | string>>(`
import json, torch
out = {}
for name, kw in [('Adagrad', dict(lr=0.1, lr_decay=0.01, eps=1e-10)), ('Adagrad_max', dict(lr=0.1, maximize=True)), ('Adam', {}), ('AdamW', {}), ('RMSprop', {}), ('Adamax', {}), ('NAdam', {})]:
    emb = torch.nn.Embedding(4, 3, sparse=True); lin = torch.nn.Linear(3, 1, bias=False)
    with torch.no_grad():
        emb.weight.copy_(torch.tensor(${JSON.stringify(W)}, dtype=torch.float64).float()); lin.weight.copy_(torch.tensor(${JSON.stringify(L)}))
    opt = getattr(torch.optim, name.split('_')[0])(list(emb.parameters()) + list(lin.parameters()), **kw)
    try:
        for step in range(3):
            opt.zero_grad()
            lin(emb(torch.tensor(${JSON.stringify(rows)}))).pow(2).sum().backward()
            opt.step()
        out[name] = {'emb': emb.weight.tolist(), 'lin': lin.weight.tolist()}
    except RuntimeError as e:
        out[name] = str(e)
print(json.dumps(out))`);
  const cases: [string, (ps: torch.Tensor[]) => { step(): void; zeroGrad(): void }][] = [
    ['Adagrad', (ps) => new torch.optim.Adagrad(ps, { lr: 0.1, lrDecay: 0.01, eps: 1e-10 })],
    ['Adagrad_max', (ps) => new torch.optim.Adagrad(ps, { lr: 0.1, maximize: true })],
    ['Adam', (ps) => new torch.optim.Adam(ps)], ['AdamW', (ps) => new torch.optim.AdamW(ps)], ['RMSprop', (ps) => new torch.optim.RMSprop(ps)],
    ['Adamax', (ps) => new torch.optim.Adamax(ps)], ['NAdam', (ps) => new torch.optim.NAdam(ps)],
  ];
  for (const [name, make] of cases) {
    torch.tidy(() => {
      const emb = new torch.nn.Embedding(4, 3, { sparse: true }), lin = new torch.nn.Linear(3, 1, { bias: false });
      torch.noGrad(() => { emb.weight.copy_(torch.tensor(W)); lin.weight.copy_(torch.tensor(L)); });
      const opt = make([...emb.parameters(), ...lin.parameters()]);
      const w = want[name];
      if (typeof w === 'string') {
        expect(w).toMatch(/does not support sparse gradients/);
        opt.zeroGrad();
        lin.forward(emb.forward(torch.tensor(rows, { dtype: 'int64' }))).pow(2).sum().backward();
        expect(emb.weight.grad!.isSparse).toBe(true);
        expect(() => opt.step()).toThrow(w.split(',')[0]); // "<Name> does not support sparse gradients", as PyTorch's
        // nothing moved: not the dense Linear either (its gradient came first)
        expectFlatClose(`${name} emb`, [emb.weight], [W.flat()], 1e-7);
        expectFlatClose(`${name} lin`, [lin.weight], [L.flat()], 1e-7);
        return;
      }
      for (let step = 0; step < 3; step++) {
        opt.zeroGrad();
        lin.forward(emb.forward(torch.tensor(rows, { dtype: 'int64' }))).pow(2).sum().backward();
        opt.step();
      }
      expectFlatClose(`${name} emb`, [emb.weight], [w.emb.flat()], 1e-6);
      expectFlatClose(`${name} lin`, [lin.weight], [w.lin.flat()], 1e-6);
    });
  }
  // Adagrad with weight decay refuses sparse gradients, as PyTorch's
  const emb = new torch.nn.Embedding(4, 3, { sparse: true });
  const opt = new torch.optim.Adagrad(emb.parameters(), { weightDecay: 0.1 });
  emb.forward(torch.tensor([1], { dtype: 'int64' })).sum().backward();
  expect(() => opt.step()).toThrow('weight_decay option is not compatible with sparse gradients');
});
