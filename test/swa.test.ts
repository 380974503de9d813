// torch.optim.swaUtils (AveragedModel for SWA and EMA, SWALR, updateBn) and Module.deepCopy,
// against PyTorch's (scripts/reference/swa_ref.py), float64: the averaged weights, buffers and
// step counts, and the learning rates, within 1e-12.
import * as torch from '../lib';
import { referenceTensors } from './helpers';

const nn = torch.nn;
const { AveragedModel, SWALR, updateBn } = torch.optim.swaUtils;
type T = torch.Tensor;

let want: Map<string, T>;
const data: Record<string, T> = {};
beforeAll(() => {
  torch.manualSeed(1);
  data.x = torch.keep(torch.randn([8, 4], { dtype: 'float64' }));
  data.y = torch.keep(torch.randn([8, 2], { dtype: 'float64' }));
  want = referenceTensors('swa_ref.py', data);
}, 60_000);

const close = (a: T, b: T, what: string) => {
  expect([what, a.shape]).toEqual([what, b.shape]);
  const e = torch.tidy(() => (a.to({ dtype: 'float64' }).sub(b.to({ dtype: 'float64' })).abs().max().item() as number));
  if (!(e < 1e-12)) throw new Error(`${what}: off by ${e}`);
};

test('SWA and EMA averages, SWALR and updateBn as PyTorch\'s', () => {
  torch.setDefaultDtype('float64');
  torch.manualSeed(3);
  const net = new nn.Sequential(new nn.Linear(4, 8), new nn.BatchNorm1d(8), new nn.ReLU(), new nn.Linear(8, 2));
  torch.setDefaultDtype('float32');
  const opt = new torch.optim.SGD(net.parameters(), { lr: 0.1 });
  const sched = new SWALR(opt, 0.05, { annealEpochs: 3, annealStrategy: 'linear' });
  const swa = new AveragedModel(net);
  const ema = new AveragedModel(net, { avgFn: (avg, p) => avg.mul(0.9).add(p.mul(0.1)), useBuffers: true });
  const lrs = [opt.paramGroups[0].lr];
  for (let step = 0; step < 6; step++) {
    torch.tidy(() => {
      opt.zeroGrad();
      torch.nn.functional.mseLoss(net.forward(data.x), data.y).backward();
      opt.step();
    });
    swa.updateParameters(net);
    ema.updateParameters(net);
    sched.step();
    lrs.push(opt.paramGroups[0].lr);
  }
  updateBn([data.x.index('0:4'), data.x.index('4:')], swa);
  (want.get('lrs')!.tolist() as number[]).forEach((w, k) => expect(Math.abs(lrs[k] - w)).toBeLessThan(1e-12));
  for (const [name, m] of [['swa', swa], ['ema', ema]] as const) {
    const sd = m.stateDict();
    expect([...sd.keys()].sort()).toEqual([...want.keys()].filter((k) => k.startsWith(`${name}.`)).map((k) => k.slice(name.length + 1)).sort());
    for (const [k, v] of sd) close(v, want.get(`${name}.${k}`)!, `${name}.${k}`);
  }
  // The average runs forward as the model does.
  expect(torch.tidy(() => (swa.forward(data.x) as T).shape)).toEqual([8, 2]);
  for (const m of [net, swa, ema]) m.dispose();
});

test('Module.deepCopy: same class and outputs, its own tensors (ties kept), training mode, hooks left behind', () => {
  torch.manualSeed(0);
  class Tied extends nn.Module {
    declare emb: torch.nn.Embedding;
    declare blocks: torch.nn.ModuleList<torch.nn.Linear>;
    declare head: torch.nn.Linear;
    constructor() {
      super();
      this.registerModule('emb', new nn.Embedding(10, 4));
      this.registerModule('blocks', new nn.ModuleList([new nn.Linear(4, 4), new nn.Linear(4, 4)]));
      this.registerModule('head', new nn.Linear(4, 10, { bias: false }));
      this.head.weight.dispose();
      this.head.registerParameter('weight', this.emb.weight); // tied, as GPT-2's
    }
    forward(ids: T): T {
      let h = this.emb.forward(ids);
      for (const b of this.blocks) h = b.forward(h).tanh();
      return this.head.forward(h);
    }
  }
  const a = new Tied();
  a.eval();
  let calls = 0;
  a.registerForwardHook(() => { calls++; });
  const b = a.deepCopy();
  expect(b).toBeInstanceOf(Tied);
  expect(b.training).toBe(false);
  expect(b.head.weight).toBe(b.emb.weight); // the tie survives
  expect(b.emb.weight).not.toBe(a.emb.weight);
  expect(b.blocks.get(1)).toBe((b as unknown as Record<string, torch.nn.ModuleList>).blocks.items[1]);
  const ids = torch.tensor([1, 2, 3]);
  torch.tidy(() => expect((a.forward(ids) as T).equal(b.forward(ids) as T)).toBe(true));
  expect(calls).toBe(1); // the copy has no hooks
  torch.noGrad(() => a.emb.weight.add_(1)); // the copy is independent
  torch.tidy(() => expect((a.forward(ids) as T).equal(b.forward(ids) as T)).toBe(false));
  expect(b.parameters().every((p) => p.requiresGrad)).toBe(true);
  for (const m of [a, b]) m.dispose();
  ids.dispose();
});
