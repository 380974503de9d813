// AdamW: the native multi-tensor (_foreach) step against the readable per-tensor reference,
// and PyTorch's update formula on a hand-checkable case; schedules; clipping.
import { spawnSync } from 'child_process';
import * as path from 'path';
import * as torch from '../lib';
import { referenceTensors, relErr } from './helpers';

function setup(seed: number) {
  torch.manualSeed(seed);
  const params = [torch.randn([7, 5]), torch.randn([5]), torch.randn([3, 4, 2])].map((t) => torch.keep(t.requiresGrad_()));
  return params;
}

test('foreach AdamW equals the per-tensor reference over 20 steps (decay, partial grads)', () => {
  const a = setup(1), b = setup(1);
  const optA = new torch.optim.AdamW([{ params: a.slice(0, 2), weightDecay: 0.1 }, { params: a.slice(2), weightDecay: 0 }], { lr: 1e-2, foreach: true });
  const optB = new torch.optim.AdamW([{ params: b.slice(0, 2), weightDecay: 0.1 }, { params: b.slice(2), weightDecay: 0 }], { lr: 1e-2, foreach: false });
  for (let step = 0; step < 20; step++) {
    torch.manualSeed(100 + step);
    const gs = a.map((p) => torch.randn(p.shape));
    for (const [params, opt] of [[a, optA], [b, optB]] as const) {
      params.forEach((p, i) => { if (!(step % 5 === 3 && i === 1)) p.grad = gs[i].clone(); }); // sometimes no grad
      opt.step();
      opt.zeroGrad();
    }
  }
  a.forEach((p, i) => expect(relErr(p, b[i])).toBeLessThan(1e-6));
});

test("AdamW's native step gives PyTorch's AdamW bit for bit (float32, bfloat16, float64; decay and none; 6 steps)", () => {
  // reference: torch.optim.AdamW(foreach=True) in scripts/reference/adamw_ref.py, from the same
  // parameters and gradients; the CPU step multiplies by 0-d tensors where PyTorch's _foreach
  // ops take numbers, which must not change a bit.
  torch.manualSeed(3);
  const dtypes: torch.DType[] = ['float32', 'bfloat16', 'float32', 'float64'];
  const inputs = new Map<string, torch.Tensor>();
  const params = [[7, 5], [5], [3, 4, 2], [6]].map((shape, i) => torch.keep(torch.randn(shape).to({ dtype: dtypes[i] }).requiresGrad_()));
  params.forEach((p, i) => inputs.set(`p${i}`, p.detach().clone()));
  for (let s = 0; s < 6; s++) params.forEach((p, i) => inputs.set(`g${s}_${i}`, torch.keep(torch.randn(p.shape).to({ dtype: p.dtype }))));
  const want = referenceTensors('adamw_ref.py', inputs);
  const opt = new torch.optim.AdamW([{ params: params.slice(0, 2), weightDecay: 0.1 }, { params: params.slice(2), weightDecay: 0 }], { lr: 1e-2 });
  for (let s = 0; s < 6; s++) {
    params.forEach((p, i) => { p.grad = inputs.get(`g${s}_${i}`)!.clone(); });
    opt.step();
    opt.zeroGrad();
  }
  params.forEach((p, i) => {
    expect(p.dtype).toBe(dtypes[i]);
    expect([i, torch.equal(p.detach(), want.get(`p${i}`)!)]).toEqual([i, true]);
  });
  expect(torch.equal(params[0].detach(), inputs.get('p0')!)).toBe(false); // it moved
});

test("one AdamW step is PyTorch's formula", () => {
  for (const foreach of [true, false]) {
    const p = torch.keep(torch.tensor([1.0, -2.0], { dtype: 'float64' }).requiresGrad_());
    const opt = new torch.optim.AdamW([p], { lr: 0.1, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01, foreach });
    p.grad = torch.tensor([0.5, -0.25], { dtype: 'float64' });
    opt.step();
    // p*(1-lr*wd) - lr/(1-b1) * m / (sqrt(v)/sqrt(1-b2) + eps), m=(1-b1)g, v=(1-b2)g²  =>  step of ~lr*sign(g)
    const expect0 = 1 * (1 - 0.001) - 0.1 * 0.5 / (0.5 + 1e-8);
    const expect1 = -2 * (1 - 0.001) + 0.1 * 0.25 / (0.25 + 1e-8);
    const got = p.tolist() as number[];
    expect(got[0]).toBeCloseTo(expect0, 12);
    expect(got[1]).toBeCloseTo(expect1, 12);
  }
});

test('every HF schedule (get_scheduler\'s names, lr_scheduler_kwargs) gives HF\'s learning rates step by step, past the end too (reference: HF\'s lr_lambdas through LambdaLR)', () => {
  const cases: { kind: torch.optim.ScheduleKind; warmup: number; total: number; lr: number; kwargs: torch.optim.ScheduleKwargs; steps: number }[] = [
    { kind: 'linear', warmup: 3, total: 12, lr: 0.1, kwargs: {}, steps: 14 },
    { kind: 'cosine', warmup: 2, total: 12, lr: 0.1, kwargs: {}, steps: 14 },
    { kind: 'cosine', warmup: 0, total: 10, lr: 0.1, kwargs: { num_cycles: 1.5 }, steps: 12 },
    { kind: 'cosine_with_restarts', warmup: 2, total: 14, lr: 0.1, kwargs: { num_cycles: 3 }, steps: 16 },
    { kind: 'cosine_with_restarts', warmup: 0, total: 8, lr: 0.1, kwargs: {}, steps: 10 },
    { kind: 'polynomial', warmup: 2, total: 10, lr: 0.01, kwargs: {}, steps: 13 },
    { kind: 'polynomial', warmup: 1, total: 9, lr: 0.01, kwargs: { lr_end: 1e-4, power: 2 }, steps: 12 },
    { kind: 'inverse_sqrt', warmup: 4, total: 20, lr: 0.1, kwargs: {}, steps: 20 },
    { kind: 'inverse_sqrt', warmup: 0, total: 20, lr: 0.1, kwargs: {}, steps: 6 },
    { kind: 'inverse_sqrt', warmup: 2, total: 20, lr: 0.1, kwargs: { timescale: 5 }, steps: 10 },
    { kind: 'cosine_with_min_lr', warmup: 2, total: 12, lr: 0.1, kwargs: { min_lr: 0.01 }, steps: 14 },
    { kind: 'cosine_with_min_lr', warmup: 0, total: 12, lr: 0.1, kwargs: { min_lr_rate: 0.2, num_cycles: 1 }, steps: 13 },
    { kind: 'constant', warmup: 3, total: 5, lr: 0.1, kwargs: {}, steps: 6 },
    { kind: 'constant_with_warmup', warmup: 3, total: 5, lr: 0.1, kwargs: {}, steps: 6 },
    { kind: 'warmup_stable_decay', warmup: 3, total: 20, lr: 0.1, kwargs: { num_decay_steps: 6 }, steps: 22 },
    { kind: 'warmup_stable_decay', warmup: 4, total: 20, lr: 0.1, kwargs: { num_decay_steps: 5, num_stable_steps: 3, warmup_type: 'cosine', decay_type: 'linear', min_lr_ratio: 0.1 }, steps: 15 },
    { kind: 'warmup_stable_decay', warmup: 5, total: 16, lr: 0.1, kwargs: { num_decay_steps: 8, warmup_type: '1-sqrt', decay_type: '1-sqrt', min_lr_ratio: 0.05 }, steps: 18 },
    { kind: 'warmup_stable_decay', warmup: 0, total: 10, lr: 0.1, kwargs: { num_decay_steps: 10, num_cycles: 1 }, steps: 11 },
    { kind: 'cosine_warmup_with_min_lr', warmup: 3, total: 12, lr: 0.1, kwargs: { min_lr: 0.01 }, steps: 14 },
    { kind: 'cosine_warmup_with_min_lr', warmup: 4, total: 12, lr: 0.1, kwargs: { min_lr_rate: 0.2, warmup_lr_rate: 0.1, num_cycles: 1 }, steps: 13 },
  ];
  const r = spawnSync('/usr/bin/python3', [path.join(__dirname, '..', 'scripts', 'reference', 'hf_schedules_ref.py')], { input: JSON.stringify(cases), encoding: 'utf8' });
  expect(r.stderr).toBe('');
  const want = JSON.parse(r.stdout) as number[][];
  cases.forEach((c, i) => {
    const p = torch.zeros([1]).requiresGrad_();
    const opt = new torch.optim.AdamW([p], { lr: c.lr });
    const sched = new torch.optim.LRScheduler(opt, c.kind, c.warmup, c.total, c.kwargs);
    const got = [sched.getLastLr()[0]];
    for (let s = 0; s < c.steps; s++) { sched.step(); got.push(sched.getLastLr()[0]); }
    expect(got.length).toBe(want[i].length);
    got.forEach((v, k) => { if (!(Math.abs(v - want[i][k]) <= 1e-15 + 1e-12 * Math.abs(want[i][k]))) throw new Error(`${c.kind} ${JSON.stringify(c.kwargs)} step ${k}: ${v} vs HF ${want[i][k]}`); });
    opt.dispose();
    p.dispose();
  });
  const opt = new torch.optim.AdamW([torch.zeros([1]).requiresGrad_()], { lr: 1e-3 });
  expect(() => new torch.optim.LRScheduler(opt, 'cosine', 0, 10, { power: 2 })).toThrow(/'cosine' takes no option 'power' \(it takes num_cycles\)/);
  expect(() => new torch.optim.LRScheduler(opt, 'polynomial', 0, 10, { lr_end: 1e-2 })).toThrow(/lr_end \(0.01\) must be smaller than initial lr \(0.001\)/);
  expect(() => new torch.optim.LRScheduler(opt, 'cosine_with_min_lr', 0, 10)).toThrow(/needs one of min_lr or min_lr_rate/);
  expect(() => new torch.optim.LRScheduler(opt, 'cosine', 0, 10, { num_cycles: '2' as never })).toThrow(/num_cycles must be a number/);
  expect(() => new torch.optim.LRScheduler(opt, 'warmup_stable_decay', 0, 10)).toThrow(/'warmup_stable_decay' needs num_decay_steps/);
  expect(() => new torch.optim.LRScheduler(opt, 'warmup_stable_decay', 0, 10, { num_decay_steps: 2, decay_type: 'exp' as never })).toThrow('LRScheduler: option decay_type must be linear, cosine, 1-sqrt; got "exp"');
});

test('schedules and clipping', () => {
  expect(torch.optim.lrFactor('linear', 0, 2, 10)).toBe(0);
  expect(torch.optim.lrFactor('linear', 1, 2, 10)).toBe(0.5);
  expect(torch.optim.lrFactor('linear', 2, 2, 10)).toBe(1);
  expect(torch.optim.lrFactor('linear', 6, 2, 10)).toBe(0.5);
  expect(torch.optim.lrFactor('cosine', 6, 2, 10)).toBeCloseTo(0.5, 12);
  // HF's get_constant_schedule ignores warmup; get_constant_schedule_with_warmup uses it.
  expect([0, 1, 2, 9].map((s) => torch.optim.lrFactor('constant', s, 2, 10))).toEqual([1, 1, 1, 1]);
  expect([0, 1, 2, 9].map((s) => torch.optim.lrFactor('constant_with_warmup', s, 2, 10))).toEqual([0, 0.5, 1, 1]);
  expect(() => new torch.optim.LRScheduler(new torch.optim.AdamW([torch.zeros([1]).requiresGrad_()]), 'step' as torch.optim.ScheduleKind, 0, 10)).toThrow(/unknown schedule 'step'/);
  const p = torch.keep(torch.zeros([2]).requiresGrad_());
  expect(() => { p.grad = torch.tensor([3, 4]); }).toThrow(/dtype int64/);
  p.grad = torch.tensor([3, 4], { dtype: 'float32' });
  expect(torch.nn.utils.clipGradNorm([p], 1)).toBeCloseTo(5, 6);
  expect(p.grad!.norm().item()).toBeCloseTo(1, 5);
  // The tensor-returning form (torch's clip_grad_norm_ returns a tensor): same clipping.
  p.grad = torch.tensor([6, 8], { dtype: 'float32' });
  const total = torch.nn.utils.clipGradNormTensor([p], 2);
  expect(total.shape).toEqual([]);
  expect(total.item()).toBeCloseTo(10, 5);
  expect(p.grad!.tolist()).toEqual([expect.closeTo(1.2, 5), expect.closeTo(1.6, 5)]);
  total.dispose();
  expect(() => new torch.optim.AdamW([p], { lr: -1 })).toThrow(/learning rate/);
});

test('bf16 autocast: matmuls run in bfloat16 inside, float32 outside; a training step stays close to fp32', () => {
  torch.tidy(() => {
    const a = torch.randn([8, 8]), b = torch.randn([8, 8]);
    const inside = torch.autocast(() => a.matmul(b), { deviceType: 'cpu', dtype: 'bfloat16' });
    expect(inside.dtype).toBe('bfloat16');
    expect(a.matmul(b).dtype).toBe('float32');
    expect(relErr(inside, a.matmul(b))).toBeLessThan(2e-2);
    const nested = torch.autocast(() => torch.autocast(() => a.matmul(b), { deviceType: 'cpu' }).add(0), { deviceType: 'cpu' });
    expect(nested.dtype).toBe('bfloat16');
    expect(a.matmul(b).dtype).toBe('float32');
  });
  torch.manualSeed(0);
  const m = new torch.GPT2LMHeadModel({ vocab_size: 64, n_positions: 16, n_embd: 16, n_layer: 1, n_head: 2 }).eval();
  const ids = torch.randint(0, 64, [2, 16]);
  const fp32 = m.forward(ids, { labels: ids }).loss!;
  const bf16 = torch.autocast(() => m.forward(ids, { labels: ids }), { deviceType: 'cpu' }).loss!;
  expect(bf16.dtype).toBe('float32');
  expect(Math.abs((bf16.item() as number) - (fp32.item() as number))).toBeLessThan(0.05);
  bf16.backward();
  expect(new Map(m.namedParameters()).get('transformer.h.0.attn.c_attn.weight')!.grad!.dtype).toBe('float32');
  m.dispose();
});

test('an optimizer option of the wrong type is said before any step: lr \'1e-3\' (compared as a number in JS, null as 0), maximize \'no\' (truthy: uphill)', () => {
  torch.tidy(() => {
    const p = torch.ones([2]).requiresGrad_();
    for (const name of ['SGD', 'Adam', 'AdamW', 'RMSprop', 'Adagrad', 'Adadelta', 'Adamax', 'Rprop', 'ASGD'] as const) {
      const Make = torch.optim[name] as unknown as new (params: torch.Tensor[], o: object) => unknown;
      expect(() => new Make([p], { lr: '1e-3' })).toThrow(`${name}: lr must be a number, got "1e-3"`);
      expect(() => new Make([p], { lr: null })).toThrow(`${name}: lr must be a number, got null`);
      expect(() => new Make([p], { maximize: 'no' })).toThrow(`${name}: maximize must be true or false, got "no"`);
    }
    expect(() => new torch.optim.SGD([{ params: [p], momentum: '0.9' as never }], { lr: 0.1 })).toThrow('SGD: momentum must be a number, got "0.9"');
    expect(() => new torch.optim.Adam([p], { amsgrad: 1 as never })).toThrow('Adam: amsgrad must be true or false, got 1');
    // PyTorch's None defaults stay null: Adafactor's lr (relative steps), foreach
    expect(() => new torch.optim.Adafactor([p], { lr: null })).not.toThrow();
    expect(() => new torch.optim.AdamW([p], { foreach: null } as never)).not.toThrow();
  });
});
