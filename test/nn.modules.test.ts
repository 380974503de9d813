// torch.nn layers (Sequential, Conv1d/2d, BatchNorm1d/2d, GroupNorm, pooling, activations)
// against PyTorch's own, in scripts/reference/nn_ref.py: the same seed gives the same initial
// weights (PyTorch's initialisation, drawn in the same order), and 3 AdamW steps in train mode
// give the same losses, gradients, weights, running statistics and eval-mode logits (float32).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as torch from '../lib';
import { referenceTensors, pythonJson, expectFlatClose } from './helpers';

const nn = torch.nn;
const F = nn.functional;
const SEED = 5;

const nets: Record<string, () => torch.nn.Sequential> = {
  cnn: () => new nn.Sequential(
    new nn.Conv2d(3, 8, 3, { padding: 1 }), new nn.BatchNorm2d(8), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Conv2d(8, 12, [3, 2], { stride: [1, 2], paddingMode: 'reflect', padding: [1, 1], groups: 4 }), new nn.GroupNorm(3, 12), new nn.SiLU(),
    new nn.AdaptiveAvgPool2d([2, 2]), new nn.Flatten(), new nn.Linear(48, 5),
  ),
  seq1d: () => new nn.Sequential(
    new nn.Conv1d(4, 6, 3, { padding: 'same', bias: false }), new nn.BatchNorm1d(6, { momentum: null }), new nn.GELU('tanh'),
    new nn.Conv1d(6, 6, 2, { stride: 2, paddingMode: 'circular', padding: 1 }), new nn.LeakyReLU(0.1), new nn.AvgPool1d(2),
    new nn.Flatten(), new nn.Linear(18, 8), new nn.BatchNorm1d(8), new nn.Tanh(), new nn.Linear(8, 5),
  ),
  // (Dropout2d draws its channel masks from the generator in the same order as PyTorch's)
  decoder: () => new nn.Sequential(
    new nn.Conv2d(3, 8, 3, { padding: 1 }), new nn.InstanceNorm2d(8, { affine: true, trackRunningStats: true }), new nn.PReLU(8), new nn.Dropout2d(0.25),
    new nn.ConvTranspose2d(8, 6, 3, { stride: 2, padding: 1, outputPadding: 1 }), new nn.Hardswish(), new nn.PixelUnshuffle(2),
    new nn.Conv2d(24, 4, 1), new nn.PixelShuffle(2), new nn.ReLU6(), new nn.AdaptiveAvgPool2d(4), new nn.Flatten(), new nn.Unflatten(1, [4, 4]),
    new nn.Flatten(), new nn.Linear(16, 8), new nn.SELU(), new nn.Linear(8, 5),
  ),
  // (RReLU draws its training slopes from the generator in the same order as PyTorch's)
  extras2d: () => new nn.Sequential(
    new nn.ReflectionPad2d(1), new nn.Conv2d(3, 8, 3), new nn.LocalResponseNorm(3), new nn.ChannelShuffle(2), new nn.ReplicationPad2d([1, 0, 1, 0]),
    new nn.LPPool2d(2, 2), new nn.ZeroPad2d(1), new nn.ConstantPad2d([0, 1, 0, 1], 0.5), new nn.RReLU(), new nn.AdaptiveMaxPool2d(2), new nn.Flatten(), new nn.Linear(32, 5),
  ),
  extras1d: () => new nn.Sequential(
    new nn.ConstantPad1d(2, 0.1), new nn.Conv1d(4, 6, 3), new nn.ReflectionPad1d(1), new nn.LPPool1d(2, 3, { stride: 2 }), new nn.ReplicationPad1d([0, 1]),
    new nn.AdaptiveMaxPool1d(3), new nn.FeatureAlphaDropout(0.2), new nn.Flatten(), new nn.Linear(18, 5),
  ),
  extras3d: () => new nn.Sequential(
    new nn.ConvTranspose3d(2, 3, 2, { stride: 2 }), new nn.InstanceNorm3d(3, { affine: true }), new nn.Dropout3d(0.2), new nn.ReplicationPad3d(1), new nn.ConstantPad3d(1, -0.5),
    new nn.ReflectionPad3d([1, 1, 0, 0, 1, 0]), new nn.AdaptiveMaxPool3d(1), new nn.Flatten(), new nn.Linear(3, 5),
  ),
  vol3d: () => new nn.Sequential(
    new nn.Conv3d(2, 4, 3, { padding: 1 }), new nn.BatchNorm3d(4), new nn.ReLU(), new nn.MaxPool3d(2),
    new nn.Conv3d(4, 4, [1, 3, 3], { padding: [0, 1, 1], paddingMode: 'replicate' }), new nn.AvgPool3d([1, 2, 2]),
    new nn.AdaptiveAvgPool3d(1), new nn.Flatten(), new nn.Linear(4, 5),
  ),
};

let want: Map<string, torch.Tensor>;
const data: Record<string, torch.Tensor> = {};

function err(a: torch.Tensor, b: torch.Tensor): number {
  expect(a.shape).toEqual(b.shape);
  return torch.tidy(() => {
    const d = a.to({ dtype: 'float64' }).sub(b.to({ dtype: 'float64' })).abs().max().item() as number;
    return d / Math.max(b.to({ dtype: 'float64' }).abs().max().item() as number, 1e-6);
  });
}

beforeAll(() => {
  torch.manualSeed(11);
  data['cnn.x'] = torch.keep(torch.randn([6, 3, 8, 8]));
  data['cnn.y'] = torch.keep(torch.randint(0, 5, [6]));
  data['seq1d.x'] = torch.keep(torch.randn([7, 4, 12]));
  data['seq1d.y'] = torch.keep(torch.randint(0, 5, [7]));
  data['decoder.x'] = torch.keep(torch.randn([4, 3, 8, 8]));
  data['decoder.y'] = torch.keep(torch.randint(0, 5, [4]));
  data['extras2d.x'] = torch.keep(torch.randn([5, 3, 8, 8]));
  data['extras2d.y'] = torch.keep(torch.randint(0, 5, [5]));
  data['extras1d.x'] = torch.keep(torch.randn([6, 4, 10]));
  data['extras1d.y'] = torch.keep(torch.randint(0, 5, [6]));
  data['extras3d.x'] = torch.keep(torch.randn([3, 2, 2, 3, 3]));
  data['extras3d.y'] = torch.keep(torch.randint(0, 5, [3]));
  data['vol3d.x'] = torch.keep(torch.randn([3, 2, 4, 6, 6]));
  data['vol3d.y'] = torch.keep(torch.randint(0, 5, [3]));
  want = referenceTensors('nn_ref.py', data);
}, 120_000);

describe.each(Object.keys(nets))('%s: torch.nn layers train as PyTorch\'s', (name) => {
  test('same seed, same initial weights and buffers (exactly), same state-dict names', () => {
    torch.manualSeed(SEED);
    const net = nets[name]();
    const ours = net.stateDict();
    const theirs = [...want.keys()].filter((k) => k.startsWith(`${name}.init.`)).map((k) => k.slice(`${name}.init.`.length));
    expect([...ours.keys()].sort()).toEqual(theirs.sort()); // (a safetensors file keeps no order)
    for (const [k, t] of ours) expect([k, t.dtype, t.equal(want.get(`${name}.init.${k}`)!)]).toEqual([k, want.get(`${name}.init.${k}`)!.dtype, true]);
    net.dispose();
  });

  test('3 AdamW steps: losses, gradients, weights, running statistics and eval logits within 1e-5', () => {
    torch.manualSeed(SEED);
    const net = nets[name]();
    const opt = new torch.optim.AdamW(net.parameters(), { lr: 1e-2, weightDecay: 0.01 });
    const losses: number[] = [];
    for (let step = 0; step < 3; step++) {
      torch.tidy(() => {
        net.zeroGrad();
        const loss = F.crossEntropy(net.forward(data[`${name}.x`]), data[`${name}.y`]);
        loss.backward();
        if (step === 0) {
          for (const [k, p] of net.namedParameters()) {
            const e = err(p.grad!, want.get(`${name}.grad.${k}`)!);
            if (!(e < 1e-5)) throw new Error(`gradient of ${k}: off by ${e}`);
          }
        }
        opt.step();
        losses.push(loss.item() as number);
      });
    }
    const wantLosses = want.get(`${name}.losses`)!.tolist() as number[];
    losses.forEach((l, i) => expect(Math.abs(l - wantLosses[i]) / Math.abs(wantLosses[i])).toBeLessThan(1e-5));
    for (const [k, t] of net.stateDict()) {
      const w = want.get(`${name}.final.${k}`)!;
      if (t.dtype === 'int64') expect([k, t.tolist()]).toEqual([k, w.tolist()]);
      else {
        const e = err(t, w);
        if (!(e < 1e-5)) throw new Error(`${k} after 3 steps: off by ${e}`);
      }
    }
    net.eval();
    const logits = torch.noGrad(() => net.forward(data[`${name}.x`]));
    expect(err(logits, want.get(`${name}.eval`)!)).toBeLessThan(1e-5);
    logits.dispose();
    net.dispose();
  });
});

describe('torch.nn layers: errors and bookkeeping', () => {
  test('bad shapes and settings are clear errors', () => {
    expect(() => new nn.Conv2d(3, 8, 3, { groups: 2 })).toThrow(/divisible by groups/);
    expect(() => new nn.Conv1d(4, 4, 3, { padding: 'same', stride: 2 })).toThrow(/'same' needs stride 1/);
    expect(() => new nn.GroupNorm(4, 6)).toThrow(/divisible by numGroups/);
    const bn = new nn.BatchNorm2d(3);
    torch.tidy(() => {
      expect(() => bn.forward(torch.randn([2, 4, 5, 5]))).toThrow(/BatchNorm2d\(3\): expected input of 4 dims with 3 channels in dim 1, got \[2,4,5,5\]/);
      const conv = new nn.Conv2d(3, 4, 3);
      expect(() => conv.forward(torch.randn([2, 5, 8, 8]))).toThrow(/expected input\[2, 5, 8, 8\] to have 3 channels|channels/);
      conv.dispose();
    });
    bn.dispose();
  });

  test('Module.to converts in place, as PyTorch\'s: same tensors (an optimizer made before still steps them), grads moved, ties and buffers kept', () => {
    torch.manualSeed(0);
    const net = new nn.Sequential(new nn.Linear(3, 3), new nn.BatchNorm1d(3), new nn.Linear(3, 3));
    const [first, norm, last] = net.children() as [torch.nn.Linear, torch.nn.BatchNorm1d, torch.nn.Linear];
    last.weight.dispose();
    last.registerParameter('weight', first.weight); // tied, as GPT-2's lm_head and wte
    const opt = new torch.optim.SGD(net.parameters(), { lr: 0.1 });
    const params = net.parameters();
    torch.tidy(() => net.forward(torch.randn([5, 3])).sum().backward());
    const live = torch.memory().liveTensors;
    net.to({ dtype: 'float64' });
    expect(torch.memory().liveTensors).toBe(live); // converted, not copied
    expect(net.parameters()).toEqual(params);
    expect(params.length).toBe(5); // the tied weight once
    expect(last.weight).toBe(first.weight);
    for (const p of params) expect([p.dtype, p.grad!.dtype, p.requiresGrad]).toEqual(['float64', 'float64', true]);
    expect(norm.running_mean!.dtype).toBe('float64');
    expect(norm.num_batches_tracked!.dtype).toBe('int64'); // integers stay
    const before = params.map((p) => torch.keep(p.clone()));
    opt.step();
    params.forEach((p, k) => expect(p.sub(before[k]).abs().max().item()).toBeGreaterThan(0));
    torch.tidy(() => net.forward(torch.randn([5, 3], { dtype: 'float64' })).sum().backward());
    before.forEach((t) => t.dispose());
    net.dispose();
  });
  test('apply, modules, getSubmodule / getParameter / getBuffer, and the dtype shorthands', () => {
    torch.manualSeed(0);
    const net = new nn.Sequential(new nn.Linear(3, 4), new nn.Sequential(new nn.BatchNorm1d(4), new nn.Linear(4, 2)));
    const seen: string[] = [];
    net.apply((m) => seen.push(m.constructor.name));
    expect(seen).toEqual(['Linear', 'BatchNorm1d', 'Linear', 'Sequential', 'Sequential']); // children first, as PyTorch's
    // Weight init the PyTorch way: every Linear's weight to a constant.
    net.apply((m) => { if (m instanceof nn.Linear) torch.nn.init.constant_(m.weight, 0.5); });
    expect((net.getParameter('1.1.weight').mean().item() as number)).toBe(0.5);
    expect(net.modules().length).toBe(5);
    expect(net.getSubmodule('1.0')).toBeInstanceOf(nn.BatchNorm1d);
    expect(net.getBuffer('1.0.running_var').shape).toEqual([4]);
    expect(() => net.getSubmodule('1.2')).toThrow("Sequential has no attribute `2` (in '1.2')");
    expect(() => net.getParameter('0.scale')).toThrow("Linear has no parameter `scale` (in '0.scale')");
    net.double();
    expect(net.getParameter('0.weight').dtype).toBe('float64');
    net.float();
    expect(net.getBuffer('1.0.running_mean').dtype).toBe('float32');
    expect(net.getBuffer('1.0.num_batches_tracked').dtype).toBe('int64');
    net.dispose();
  });
  test('ModuleDict, ParameterList and ParameterDict: names in the state dict as PyTorch\'s, parameters found, bad names refused', () => {
    torch.manualSeed(0);
    const heads = new nn.ModuleDict<torch.nn.TensorModule>({ cls: new nn.Linear(4, 2), reg: new nn.Linear(4, 1) });
    const scales = new nn.ParameterList([torch.ones([2]), torch.zeros([3])]);
    const extra = new nn.ParameterDict({ temperature: torch.tensor(1.5) });
    class Net extends nn.Module {
      constructor() {
        super();
        this.registerModule('heads', heads);
        this.registerModule('scales', scales);
        this.registerModule('extra', extra);
      }
      forward(x: torch.Tensor) {
        return heads.get('cls').forward(x).mul(scales.get(0)).div(extra.get('temperature'));
      }
    }
    const net = new Net();
    expect([...net.stateDict().keys()]).toEqual(['heads.cls.weight', 'heads.cls.bias', 'heads.reg.weight', 'heads.reg.bias', 'scales.0', 'scales.1', 'extra.temperature']);
    expect(net.parameters().every((p) => p.requiresGrad)).toBe(true);
    expect(heads.keys()).toEqual(['cls', 'reg']);
    torch.tidy(() => net.forward(torch.randn([3, 4])).sum().backward());
    expect(extra.get('temperature').grad).not.toBeNull();
    heads.set('cls', new nn.Linear(4, 2)); // replaced in place, order kept
    expect(heads.keys()).toEqual(['cls', 'reg']);
    expect(() => heads.set('train', new nn.Identity())).toThrow("ModuleDict: attribute 'train' already exists; choose another name");
    expect(() => heads.set('a.b', new nn.Identity())).toThrow(/without '\.'/);
    expect(() => heads.get('box')).toThrow("ModuleDict has no module 'box' (it has 'cls', 'reg')");
    net.dispose();
  });
  test('Bilinear, ConvTranspose1d and EmbeddingBag start from PyTorch\'s very weights', () => {
    torch.manualSeed(SEED);
    const bl = new nn.Bilinear(3, 4, 2), ct = new nn.ConvTranspose1d(4, 6, 3, { groups: 2 }), bag = new nn.EmbeddingBag(10, 3, { mode: 'sum', paddingIdx: 2 });
    for (const [k, t] of bl.stateDict()) expect([k, t.equal(want.get(`bilinear.${k}`)!)]).toEqual([k, true]);
    for (const [k, t] of ct.stateDict()) expect([k, t.equal(want.get(`convt1d.${k}`)!)]).toEqual([k, true]);
    for (const [k, t] of bag.stateDict()) expect([k, t.equal(want.get(`bag.${k}`)!)]).toEqual([k, true]);
    torch.tidy(() => expect(bag.forward(torch.tensor([[2, 2], [1, 3]])).index(0).abs().sum().item()).toBe(0)); // padding rows left out
    bag.dispose();
    torch.tidy(() => {
      expect(bl.forward(torch.randn([5, 3]), torch.randn([5, 4])).shape).toEqual([5, 2]);
      expect(ct.forward(torch.randn([2, 4, 7])).shape).toEqual([2, 6, 9]);
    });
    bl.dispose();
    ct.dispose();
  });
  test('Sequential frees its intermediate results and keeps memory flat over steps', () => {
    torch.manualSeed(SEED);
    const net = nets.cnn();
    const x = data['cnn.x'];
    const step = () => torch.tidy(() => {
      const out = net.forward(x);
      out.sum().backward();
    });
    step();
    const before = torch.memory().liveTensors;
    for (let i = 0; i < 20; i++) step();
    expect(torch.memory().liveTensors).toBe(before);
    // Outside any tidy(), only the result is left behind.
    const live = torch.memory().liveTensors;
    const out = torch.noGrad(() => net.forward(x));
    expect(torch.memory().liveTensors).toBe(live + 1);
    out.dispose();
    expect(String(net)).toMatch(/Conv2d\(3, 8, kernelSize=\[3,3\]/);
    net.dispose();
  });

  test('nn.utils: clipGradValue, parametersToVector / vectorToParameters; Embedding.fromPretrained', () => {
    const a = torch.tensor([[1, -2], [3, 0.5]], { requiresGrad: true }), b = torch.tensor([0.1, -4], { requiresGrad: true });
    torch.tidy(() => a.mul(torch.tensor([[1, -2], [3, 0.5]])).sum().add(b.mul(torch.tensor([0.2, -5])).sum()).backward());
    nn.utils.clipGradValue([a, b], 1);
    expect(a.grad!.tolist()).toEqual([[1, -1], [1, 0.5]]);
    expect((b.grad!.tolist() as number[]).map((v) => Math.round(v * 1e6) / 1e6)).toEqual([0.2, -1]);
    const v = nn.utils.parametersToVector([a, b]);
    expect(v.tolist()).toEqual([1, -2, 3, 0.5, Math.fround(0.1), -4]);
    nn.utils.vectorToParameters(v.mul(2), [a, b]);
    expect(a.tolist()).toEqual([[2, -4], [6, 1]]);
    expect(() => nn.utils.vectorToParameters(torch.zeros([5]), [a, b])).toThrow(/vec must be 1-D with 6 elements/);
    expect(() => nn.utils.clipGradValue([a], -1)).toThrow(/clipValue must be >= 0/);
    const rng = torch.getRngState();
    const e = nn.Embedding.fromPretrained(torch.tensor([[1, 2], [3, 4], [5, 6.5]]), { paddingIdx: 0 });
    expect(torch.getRngState().equals(rng)).toBe(true); // nothing drawn, as PyTorch's
    expect(e.weight.requiresGrad).toBe(false);
    expect(torch.tidy(() => e.forward(torch.tensor([2, 0])).tolist())).toEqual([[5, 6.5], [1, 2]]);
    expect(String(e)).toBe('Embedding(3, 2, paddingIdx=0)');
    expect(() => new nn.Embedding(3, 2, { paddingIdx: 3 })).toThrow(/paddingIdx 3 is outside the 3 embeddings/);
    // RMSNorm: the functional form (checked against PyTorch in the op cases) with a learned scale, ones at first.
    const rms = new nn.RMSNorm(4, 1e-6);
    torch.tidy(() => {
      const x = torch.randn([3, 4]);
      expect(rms.forward(x).equal(F.rmsNorm(x, [4], torch.ones([4]), 1e-6))).toBe(true);
      expect(() => rms.forward(torch.randn([3, 5]))).toThrow(/normalizedShape \[4\] must be the input's last dims/);
    });
    expect([...rms.stateDict().keys()]).toEqual(['weight']);
    rms.dispose();
    for (const t of [a, b, v]) t.dispose();
    e.dispose();
  });
});

test('nn.utils.weightNorm / removeWeightNorm as PyTorch\'s: weight_g and weight_v, outputs and their gradients, removal', () => {
  const r = require('child_process').spawnSync('/usr/bin/python3', ['-c', `
import json, torch
torch.set_default_dtype(torch.float64)
torch.manual_seed(0)
lin = torch.nn.utils.weight_norm(torch.nn.Linear(4, 3))
conv = torch.nn.utils.weight_norm(torch.nn.Conv1d(2, 3, 2), dim=None)
x, xc = torch.arange(8.0).reshape(2, 4) / 7, torch.arange(10.0).reshape(1, 2, 5) / 9
for step in range(2):
    (lin(x).pow(2).sum() + conv(xc).sum()).backward()
    with torch.no_grad():
        for p in list(lin.parameters()) + list(conv.parameters()):
            p -= 0.1 * p.grad
            p.grad = None
out = {k: v.tolist() for k, v in list(lin.state_dict().items()) + [("conv." + k, v) for k, v in conv.state_dict().items()]}
out["y"] = lin(x).tolist()
torch.nn.utils.remove_weight_norm(lin)
out["removed"] = sorted(lin.state_dict())
out["weight"] = lin.weight.tolist()
print(json.dumps(out))`], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  const want = JSON.parse(r.stdout);
  torch.setDefaultDtype('float64');
  torch.manualSeed(0);
  const lin = nn.utils.weightNorm(new nn.Linear(4, 3));
  const conv = nn.utils.weightNorm(new nn.Conv1d(2, 3, 2), 'weight', null);
  torch.setDefaultDtype('float32');
  const x = torch.arange(8).reshape([2, 4]).to({ dtype: 'float64' }).div(7), xc = torch.arange(10).reshape([1, 2, 5]).to({ dtype: 'float64' }).div(9);
  for (let step = 0; step < 2; step++) {
    torch.tidy(() => {
      (lin.forward(x) as torch.Tensor).pow(2).sum().add((conv.forward(xc) as torch.Tensor).sum()).backward();
      torch.noGrad(() => {
        for (const p of [...lin.parameters(), ...conv.parameters()]) {
          p.sub_(p.grad!.mul(0.1));
          p.grad = null;
        }
      });
    });
  }
  const near = (a: unknown, b: unknown): boolean => (Array.isArray(a) ? (a as unknown[]).every((v, i) => near(v, (b as unknown[])[i])) : Math.abs((a as number) - (b as number)) < 1e-12);
  const got: Record<string, unknown> = {};
  for (const [k, t] of lin.stateDict()) got[k] = t.tolist();
  for (const [k, t] of conv.stateDict()) got[`conv.${k}`] = t.tolist();
  expect(Object.keys(got).sort()).toEqual(Object.keys(want).filter((k) => !['y', 'removed', 'weight'].includes(k)).sort());
  for (const k of Object.keys(got)) expect([k, near(got[k], want[k])]).toEqual([k, true]);
  expect(near(torch.tidy(() => (lin.forward(x) as torch.Tensor).tolist()), want.y)).toBe(true);
  nn.utils.removeWeightNorm(lin);
  expect([...lin.stateDict().keys()].sort()).toEqual(want.removed);
  expect(near(lin.weight.tolist(), want.weight)).toBe(true);
  expect(lin.weight.requiresGrad).toBe(true);
  expect(() => nn.utils.removeWeightNorm(lin)).toThrow("removeWeightNorm: weight_norm of 'weight' not found in Linear");
  expect(() => nn.utils.weightNorm(lin, 'scale')).toThrow("weightNorm: Linear has no parameter 'scale'");
  for (const m of [lin, conv]) m.dispose();
});

test('pooling layers with indices and MaxUnpool layers give what their functional forms (checked against PyTorch) give', () => {
  torch.tidy(() => {
    const x = torch.randn([2, 3, 6, 6]);
    const pool = new nn.MaxPool2d(2), unpool = new nn.MaxUnpool2d(2);
    const { values, indices } = pool.forwardWithIndices(x);
    const want = F.maxPool2dWithIndices(x, 2);
    expect(torch.equal(values, want.values) && torch.equal(indices, want.indices)).toBe(true);
    expect(torch.equal(unpool.forward(values, indices), F.maxUnpool2d(values, indices, 2))).toBe(true);
    expect(unpool.forward(values, indices, [7, 7]).shape).toEqual([2, 3, 7, 7]);
    expect(() => unpool.forward(values, indices, [9, 9])).toThrow('maxUnpool2d: invalid outputSize [9,9] (dim 0 must be between 5 and 7)');
    const a = new nn.AdaptiveMaxPool2d([2, 3]).forwardWithIndices(x);
    expect(torch.equal(a.indices, F.adaptiveMaxPool2dWithIndices(x, [2, 3]).indices)).toBe(true);
    expect(torch.equal(new nn.AdaptiveMaxPool2d([2, 3]).forward(x), a.values)).toBe(true);
    // built with returnIndices (by position or by name), the call gives PyTorch's pair
    const [v1, i1] = new nn.AdaptiveMaxPool2d([2, 3], true)(x);
    const [v3, i3] = new nn.AdaptiveMaxPool3d({ outputSize: [1, 2, 3], returnIndices: true })(x);
    const want3 = F.adaptiveMaxPool3dWithIndices(x, [1, 2, 3]);
    expect([torch.equal(v1, a.values), torch.equal(i1, a.indices), torch.equal(v3, want3.values), torch.equal(i3, want3.indices)]).toEqual([true, true, true, true]);
    expect(() => new nn.AdaptiveMaxPool1d(2, 'yes' as never)).toThrow('nn.AdaptiveMaxPool1d: returnIndices must be true or false, got "yes"');
    expect(() => new nn.ZeroPad2d([1, 2, 3])).toThrow('ZeroPad2d: padding needs 4 numbers, got 3');
    expect(() => F.channelShuffle(torch.randn([1, 5, 2, 2]), 2)).toThrow('channelShuffle: the number of channels (5) must be divisible by groups (2)');
    expect(() => F.localResponseNorm(torch.randn([2, 3]), 2)).toThrow('localResponseNorm: expected 3D or higher dimensionality input (got 2 dimensions)');
    expect(new nn.Softmax2d().forward(x).sum(1).sub(1).abs().max().item()).toBeLessThan(1e-6);
  });
});

test('fuseConvBnEval: one convolution computing conv then batch norm (eval), with PyTorch\'s fused weights', () => {
  torch.manualSeed(4);
  const conv = new torch.nn.Conv2d(3, 4, 3, { bias: false }), bn = new torch.nn.BatchNorm2d(4);
  const tconv = new torch.nn.ConvTranspose2d(3, 4, 2), tbn = new torch.nn.BatchNorm2d(4);
  const x = torch.randn([2, 3, 6, 6]);
  torch.tidy(() => {
    // running statistics that are not the initial ones, and an affine part that is not identity
    bn.forward(conv.forward(x.mul(3).add(1)));
    tbn.forward(tconv.forward(x.mul(2).sub(1)));
    torch.noGrad(() => [bn.weight!, bn.bias!, tbn.weight!, tbn.bias!].forEach((t) => t.uniform_(0.5, 1.5)));
  });
  [conv, bn, tconv, tbn].forEach((m) => m.eval());
  expect(() => torch.nn.utils.fuseConvBnEval(conv, new torch.nn.BatchNorm2d(4))).toThrow('Fusion only for eval!');
  const fused = torch.nn.utils.fuseConvBnEval(conv, bn);
  const tfused = torch.nn.utils.fuseConvBnEval(tconv, tbn, true);
  const state = (m: torch.nn.Module) => Object.fromEntries([...m.stateDict()].map(([k, v]) => [k, v.tolist()]));
  const want = pythonJson(`
import json, sys, torch
from torch.nn.utils import fuse_conv_bn_weights
a = json.loads(sys.argv[1])
t = lambda d, k: torch.tensor(d[k]) if d.get(k) is not None else None
out = []
for conv, bn, tr in ((a['conv'], a['bn'], False), (a['tconv'], a['tbn'], True)):
    w, b = fuse_conv_bn_weights(t(conv, 'weight'), t(conv, 'bias'), t(bn, 'running_mean'), t(bn, 'running_var'), 1e-5, t(bn, 'weight'), t(bn, 'bias'), tr)
    out.append([w.detach().tolist(), b.detach().tolist()])
print(json.dumps(out))`, JSON.stringify({ conv: state(conv), bn: state(bn), tconv: state(tconv), tbn: state(tbn) }));
  torch.tidy(() => {
    torch.testing.assertClose(fused.weight, torch.tensor(want[0][0]), { rtol: 1e-6, atol: 1e-7 });
    torch.testing.assertClose(fused.bias!, torch.tensor(want[0][1]), { rtol: 1e-6, atol: 1e-7 });
    torch.testing.assertClose(tfused.weight, torch.tensor(want[1][0]), { rtol: 1e-6, atol: 1e-7 });
    torch.testing.assertClose(tfused.bias!, torch.tensor(want[1][1]), { rtol: 1e-6, atol: 1e-7 });
    // and the point of it: the same outputs as the two layers
    torch.testing.assertClose(fused.forward(x), bn.forward(conv.forward(x)), { rtol: 1e-5, atol: 1e-5 });
    torch.testing.assertClose(tfused.forward(x), tbn.forward(tconv.forward(x)), { rtol: 1e-5, atol: 1e-5 });
    expect(conv.bias).toBeNull(); // the original is left as it was
  });
  [conv, bn, tconv, tbn, fused, tfused].forEach((m) => m.dispose());
  x.dispose();
});

test('FractionalMaxPool2d / 3d as PyTorch\'s: the same regions from the same seed (values, indices, gradients)', () => {
  const want = pythonJson(`
import json, torch, torch.nn as nn
torch.manual_seed(6)
x = torch.randn(2, 3, 9, 9, requires_grad=True)
v = torch.randn(1, 2, 7, 6, 8, requires_grad=True)
torch.manual_seed(7)
p2 = nn.FractionalMaxPool2d(3, output_size=(5, 4), return_indices=True)
y, i = p2(x)
z = nn.FractionalMaxPool3d(2, output_ratio=0.5)(v)
(y.sum() + z.pow(2).sum()).backward()
print(json.dumps({"y": y.tolist(), "i": i.tolist(), "z": z.tolist(), "gx": x.grad.tolist(), "gv": v.grad.tolist()}))
`);
  torch.tidy(() => {
    torch.manualSeed(6);
    const x = torch.randn([2, 3, 9, 9]).requiresGrad_(), v = torch.randn([1, 2, 7, 6, 8]).requiresGrad_();
    torch.manualSeed(7);
    // (built as PyTorch's, returnIndices: true: the call gives the pair)
    const [y, i] = new torch.nn.FractionalMaxPool2d(3, { outputSize: [5, 4], returnIndices: true })(x);
    const z = new torch.nn.FractionalMaxPool3d(2, { outputRatio: 0.5 }).forward(v);
    y.sum().add(z.pow(2).sum()).backward();
    expect(i.tolist()).toEqual(want.i);
    for (const [got, w] of [[y, want.y], [z, want.z], [x.grad!, want.gx], [v.grad!, want.gv]] as const) torch.testing.assertClose(got.tolist() as never, w, { rtol: 0, atol: 1e-6 });
    expect(() => new torch.nn.FractionalMaxPool2d(2, { outputRatio: 1.5 })).toThrow('output_ratio must be between 0 and 1 (got 1.5)');
    expect(() => new torch.nn.FractionalMaxPool2d(2, {})).toThrow(/either an output size, or a pooling ratio/);
    expect(() => new torch.nn.FractionalMaxPool2d(2, { outputRatio: 0.5, returnIndices: 1 as never })).toThrow('nn.FractionalMaxPool2d: returnIndices must be true or false, got 1');
    // F's form, as F.fractional_max_pool2d(x, 3, output_size=(5, 4), return_indices=True): the same regions from the same draws
    torch.manualSeed(7);
    const [fy, fi] = F.fractionalMaxPool2d(x, 3, { outputSize: [5, 4], returnIndices: true });
    expect([torch.equal(fy, y), torch.equal(fi, i)]).toEqual([true, true]);
    torch.manualSeed(7);
    expect(torch.equal(F.fractionalMaxPool2d(x, 3, [5, 4], null, false), y)).toBe(true);
  });
});

test('AdaptiveLogSoftmaxWithLoss as PyTorch\'s: parameters and names, output and loss, gradients, logProb, predict', () => {
  const want = pythonJson(`
import json, torch, torch.nn as nn
torch.manual_seed(8)
m = nn.AdaptiveLogSoftmaxWithLoss(16, 30, [5, 12, 20], div_value=2.0, head_bias=True)
torch.manual_seed(9)
x = torch.randn(10, 16)
t = torch.tensor([0, 4, 5, 11, 12, 19, 20, 29, 3, 25])
out, loss = m(x, t)
loss.backward()
single = m(x[1], t[1])
print(json.dumps({"keys": list(m.state_dict().keys()), "out": out.tolist(), "loss": loss.item(), "single": [single.output.item(), single.loss.item()],
  "grads": {k: p.grad.tolist() for k, p in m.named_parameters()}, "logprob": m.log_prob(x).tolist(), "predict": m.predict(x * 3).tolist()}))
`);
  torch.manualSeed(8);
  const m = new torch.nn.AdaptiveLogSoftmaxWithLoss(16, 30, [5, 12, 20], { divValue: 2, headBias: true });
  torch.tidy(() => {
    torch.manualSeed(9);
    const x = torch.randn([10, 16]);
    const t = torch.tensor([0, 4, 5, 11, 12, 19, 20, 29, 3, 25], { dtype: 'int64' });
    expect([...m.stateDict().keys()]).toEqual(want.keys);
    const { output, loss } = m.forward(x, t);
    loss.backward();
    torch.testing.assertClose(output.tolist() as never, want.out, { rtol: 1e-5, atol: 1e-6 });
    expect(loss.item()).toBeCloseTo(want.loss, 5);
    const single = m.forward(x.select(0, 1), t.select(0, 1));
    torch.testing.assertClose([single.output.item(), single.loss.item()] as never, want.single, { rtol: 1e-5, atol: 1e-6 });
    for (const [k, p] of m.namedParameters()) torch.testing.assertClose(p.grad!.tolist() as never, want.grads[k], { rtol: 1e-5, atol: 1e-6 });
    torch.testing.assertClose(m.logProb(x).tolist() as never, want.logprob, { rtol: 1e-5, atol: 1e-6 });
    // the log-probabilities of every class sum to 1
    torch.testing.assertClose(m.logProb(x).exp().sum(1), torch.ones([10]), { rtol: 1e-5, atol: 1e-5 });
    expect(m.predict(x.mul(3)).tolist()).toEqual(want.predict);
    expect(() => m.forward(x, torch.tensor([0, 30, 1, 1, 1, 1, 1, 1, 1, 1], { dtype: 'int64' }))).toThrow('Target values should be in [0, 29], but values in range [0, 30] were found.');
    expect(() => new torch.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [5, 3])).toThrow(/cutoffs should be a sequence of unique, positive integers/);
  });
  m.dispose();
});

test('AdaptiveLogSoftmaxWithLoss with a zero-width cluster (in_features // div_value ** 2 = 0) builds as PyTorch\'s: its empty weights left as they are, the same draws and loss; forward frees its intermediates', () => {
  const want = pythonJson<{ loss: number; shapes: number[][] }>(`
import json, warnings, torch, torch.nn as nn
warnings.simplefilter('ignore')
torch.manual_seed(0)
m = nn.AdaptiveLogSoftmaxWithLoss(8, 10, [4, 8])
out = m(torch.randn(4, 8), torch.tensor([0, 5, 9, 3]))
print(json.dumps({"loss": out.loss.item(), "shapes": [list(p.shape) for p in m.parameters()]}))
`);
  torch.manualSeed(0);
  const m = new torch.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [4, 8]); // (was: 'from is out of bounds for float', a bound of 1/sqrt(0))
  expect(m.parameters().map((p) => p.shape)).toEqual(want.shapes);
  const x = torch.randn([4, 8]), t = torch.tensor([0, 5, 9, 3]);
  const live = torch.memory().liveTensors;
  const { output, loss } = m.forward(x, t);
  expect(loss.item()).toBeCloseTo(want.loss, 5);
  output.dispose();
  loss.dispose();
  m.logProb(x).dispose();
  m.predict(x).dispose();
  expect(torch.memory().liveTensors).toBe(live); // (forward left 42 handles behind)
  for (const z of [x, t]) z.dispose();
  m.dispose();
});

test('Module.buffers, addModule, toEmpty, and load-state-dict post hooks that can accept what strict would refuse', () => {
  const bn = new torch.nn.BatchNorm1d(3);
  expect(bn.buffers().map((t) => t.shape)).toEqual([[3], [3], []]);
  const seq = new torch.nn.Sequential();
  seq.addModule('0', new torch.nn.Linear(2, 2));
  expect([...seq.stateDict().keys()]).toEqual(['0.weight', '0.bias']);
  const lin = new torch.nn.Linear(3, 2);
  const w = lin.weight;
  lin.toEmpty({ device: 'cpu' });
  expect([lin.weight === w, lin.weight.shape]).toEqual([true, [2, 3]]);
  // a hook that knows an old checkpoint's extra key lets a strict load through
  const seen: string[][] = [];
  const handle = lin.registerLoadStateDictPostHook((_m, keys) => {
    seen.push([...keys.unexpectedKeys]);
    keys.unexpectedKeys.splice(0, keys.unexpectedKeys.length, ...keys.unexpectedKeys.filter((k) => k !== 'version'));
  });
  const sd = new Map([...lin.stateDict()].map(([k, v]) => [k, v.clone()]));
  sd.set('version', torch.tensor(2));
  expect(lin.loadStateDict(sd).unexpectedKeys).toEqual([]);
  expect(seen).toEqual([['version']]);
  handle.remove();
  expect(() => lin.loadStateDict(sd)).toThrow(/unexpected keys: version/);
  [bn, seq, lin].forEach((m) => m.dispose());
});

test('extra state: getExtraState / setExtraState are saved and loaded under PyTorch\'s _extra_state key', () => {
  const want = pythonJson<string[]>(`
import json, torch, torch.nn as nn
class Counter(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(2, 2)
        self.steps = 0
    def get_extra_state(self):
        return torch.tensor(self.steps)
    def set_extra_state(self, state):
        self.steps = int(state)
net = nn.Sequential(Counter(), nn.ReLU(), Counter())
print(json.dumps(list(net.state_dict().keys())))`);
  class Counter extends torch.nn.Module {
    lin = this.registerModule('lin', new torch.nn.Linear(2, 2));
    steps = 0;
    forward(x: torch.Tensor) { this.steps += 1; return this.lin.forward(x); }
    getExtraState() { return torch.tensor(this.steps); }
    setExtraState(t: torch.Tensor) { this.steps = t.item() as number; }
  }
  const net = new torch.nn.Sequential(new Counter(), new torch.nn.ReLU(), new Counter());
  torch.tidy(() => { net.forward(torch.ones([1, 2])); net.forward(torch.ones([1, 2])); });
  expect([...net.stateDict().keys()]).toEqual(want);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'extra-'));
  torch.save(net.stateDict(), path.join(dir, 'sd.pt'));
  const fresh = new torch.nn.Sequential(new Counter(), new torch.nn.ReLU(), new Counter());
  fresh.loadStateDict(torch.load(path.join(dir, 'sd.pt')));
  expect([(fresh.items[0] as Counter).steps, (fresh.items[2] as Counter).steps]).toEqual([2, 2]);
  const sd = net.stateDict();
  sd.delete('0._extra_state');
  expect(() => fresh.loadStateDict(sd)).toThrow(/missing keys: 0._extra_state/);
  fs.rmSync(dir, { recursive: true });
  [net, fresh].forEach((m) => m.dispose());
});

test('ZeroPad1d/3d and CircularPad1d/2d/3d (PyTorch 2.1) equal F.pad\'s constant and circular modes in PyTorch', () => {
  torch.manualSeed(3);
  const x1 = torch.randn([2, 3, 5], { dtype: 'float64' }), x2 = torch.randn([1, 2, 4, 5], { dtype: 'float64' }), x3 = torch.randn([1, 2, 3, 4, 3], { dtype: 'float64' });
  const got = [
    new nn.ZeroPad1d([1, 2]).forward(x1), new nn.ZeroPad3d(1).forward(x3), new nn.CircularPad1d([2, 1]).forward(x1),
    new nn.CircularPad2d([1, 2, 3, 0]).forward(x2), new nn.CircularPad3d([1, 0, 2, 1, 0, 2]).forward(x3), new nn.CircularPad2d(1).forward(x2.index(0)),
  ];
  const want = pythonJson<number[][]>(`
import json, sys, torch
import torch.nn.functional as F
x1, x2, x3 = (torch.tensor(json.loads(a), dtype=torch.float64) for a in sys.argv[1:4])
outs = [F.pad(x1, [1, 2]), F.pad(x3, [1] * 6), F.pad(x1, [2, 1], mode='circular'), F.pad(x2, [1, 2, 3, 0], mode='circular'),
        F.pad(x3, [1, 0, 2, 1, 0, 2], mode='circular'), F.pad(x2[0:1], [1, 1, 1, 1], mode='circular')[0]]
print(json.dumps([o.flatten().tolist() for o in outs]))`, ...[x1, x2, x3].map((t) => JSON.stringify(t.tolist())));
  expectFlatClose('pads', got, want, 1e-15);
  expect(got.map((t) => t.shape)).toEqual([[2, 3, 8], [1, 2, 5, 6, 5], [2, 3, 8], [1, 2, 7, 8], [1, 2, 5, 7, 4], [2, 6, 7]]);
  expect(() => new nn.CircularPad2d([1, 2])).toThrow('CircularPad2d: padding needs 4 numbers, got 2');
});

describe('modules are callable, as PyTorch\'s model(x)', () => {
  test('model(x) is model.forward(x), hooks included; typed from forward; deepCopy, repr and names as before', () => {
    torch.manualSeed(3);
    const net = new nn.Sequential(new nn.Linear(3, 4), new nn.ReLU(), new nn.Linear(4, 2));
    const x = torch.randn([5, 3]);
    const viaCall: torch.Tensor = net(x);
    expect(viaCall.equal(net.forward(x))).toBe(true);
    // by hand, as the layers compute it: relu(x W1^T + b1) W2^T + b2
    const [l1, , l2] = [net.get(0) as torch.nn.Linear, null, net.get(2) as torch.nn.Linear];
    const byHand = x.matmul(l1.weight.t()).add(l1.bias!).relu().matmul(l2.weight.t()).add(l2.bias!);
    expect(viaCall.allclose(byHand, 1e-6, 1e-6)).toBe(true);

    // hooks run on a call as on forward (PyTorch's __call__ runs them; forward() here does too)
    const seen: number[][] = [];
    const handle = l1.registerForwardHook((_m, _args, out) => { seen.push((out as torch.Tensor).shape); return (out as torch.Tensor).mul(0); });
    expect(net(x).equal(l2.bias!.expand([5, 2]))).toBe(true);
    expect(seen).toEqual([[5, 4]]);
    handle.remove();
    expect(net(x).equal(viaCall)).toBe(true);

    // a module may have fields a function has (name, length), and ModuleList's length getter still counts
    class Named extends nn.Module {
      name = 'encoder';
      length = 7;
      lin = new nn.Linear(2, 2);
      forward(a: torch.Tensor, scale: number): torch.Tensor { return this.lin(a).mul(scale); }
    }
    const named = new Named();
    expect([named.name, named.length]).toEqual(['encoder', 7]);
    expect([...named.namedParameters()].map(([n]) => n)).toEqual(['lin.weight', 'lin.bias']);
    const a = torch.randn([1, 2]);
    expect(named(a, 2).equal(named.lin.forward(a).mul(2))).toBe(true);
    // @ts-expect-error forward takes (Tensor, number): the call is typed from it
    expect(() => named(a, 'two')).toThrow();
    expect(new nn.ModuleList([new nn.ReLU(), new nn.Tanh()]).length).toBe(2);

    // a module goes where a function of tensors is asked for, as in PyTorch: the Jacobian of x -> xW^T + b is W
    const jac = torch.autograd.functional.jacobian(l1, torch.randn([3])) as torch.Tensor;
    expect(torch.equal(jac, l1.weight)).toBe(true);
    expect(torch.vmap(l1)(x).allclose(l1.forward(x), 1e-6, 1e-6)).toBe(true);

    // deepCopy gives a callable module with its own weights; the repr is what console.log prints
    const copy = net.deepCopy();
    expect(copy(x).equal(viaCall)).toBe(true);
    torch.noGrad(() => (copy.get(2) as torch.nn.Linear).bias!.add_(1));
    expect(copy(x).sub(viaCall).allclose(torch.ones([5, 2]))).toBe(true);
    expect(net(x).equal(viaCall)).toBe(true);
    expect(require('util').inspect(net)).toBe(net.toString());
    expect(net.toString()).toBe('Sequential(\n  (0): Linear(inFeatures=3, outFeatures=4, bias=true)\n  (1): ReLU()\n  (2): Linear(inFeatures=4, outFeatures=2, bias=true)\n)');
    // a module is still a module wherever one is asked for
    expect(net instanceof nn.Module && copy instanceof nn.Sequential).toBe(true);
    expect([...net.stateDict().keys()]).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
    expect(() => net.loadStateDict(copy as never)).toThrow(/given a module \(Sequential\); pass its weights: loadStateDict\(other.stateDict\(\)\)/);
    for (const m of [net, copy, named]) m.dispose();
  });
});

test('Sequential / ModuleList built by addModule run and index what was added, as PyTorch\'s (vgg.py\'s slices: Sequential() then add_module(str(x), layer))', () => {
  torch.manualSeed(2);
  const layers = [new nn.Linear(3, 4), new nn.ReLU(), new nn.Linear(4, 2), new nn.Tanh()];
  const first = new nn.Sequential(), second = new nn.Sequential();
  for (let x = 0; x < 2; x++) first.addModule(String(x), layers[x]);
  for (let x = 2; x < 4; x++) second.addModule(String(x), layers[x]);
  const x = torch.randn([5, 3]);
  const byHand = torch.tidy(() => layers[3].forward(layers[2].forward(layers[1].forward(layers[0].forward(x)))) as torch.Tensor);
  expect(torch.equal(second(first(x)), byHand)).toBe(true);
  expect([first.length, second.length, second.get(0) === layers[2], second.get(-1) === layers[3]]).toEqual([2, 2, true, true]);
  expect([...second.stateDict().keys()]).toEqual(['2.weight', '2.bias']);
  // a name added again replaces its layer where it stands; a new name appends (PyTorch's _modules)
  const sigmoid = new nn.Sigmoid();
  second.addModule('3', sigmoid);
  second.registerModule('extra', new nn.Identity());
  expect([second.length, second.get(1) === sigmoid, [...second.namedChildren()].map(([n]) => n)]).toEqual([3, true, ['2', '3', 'extra']]);
  expect(torch.equal(second(first(x)), torch.tidy(() => layers[2].forward(layers[1].forward(layers[0].forward(x))).sigmoid()))).toBe(true);
  const list = new nn.ModuleList();
  list.addModule('a', new nn.ReLU());
  expect([list.length, [...list].length]).toEqual([1, 1]);
  expect(() => list.registerModule('b', null)).toThrow("ModuleList: 'b' must be a module, got null");
  for (const m of [first, second]) m.dispose();
  x.dispose(); byHand.dispose();
});

test('Sequential and ModuleList slices as Python\'s seq[a:b]: the same modules, Sequential\'s names kept, ModuleList\'s renumbered', () => {
  const want = pythonJson<{ seq: string[]; named: string[]; list: string[]; neg: string[] }>(`
import json, torch.nn as nn
from collections import OrderedDict
seq = nn.Sequential(*[nn.Linear(2, 2) if i % 2 == 0 else nn.ReLU() for i in range(8)])
named = nn.Sequential(OrderedDict([("conv", nn.Linear(2, 2)), ("act", nn.ReLU()), ("fc", nn.Linear(2, 2))]))
lst = nn.ModuleList([nn.Linear(2, 2) for _ in range(5)])
print(json.dumps({"seq": list(seq[2:6].state_dict()), "named": list(named[1:].state_dict()), "list": list(lst[1:3].state_dict()), "neg": list(seq[-3:].state_dict())}))
`);
  torch.manualSeed(1);
  const seq = new nn.Sequential(...Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? new nn.Linear(2, 2) : new nn.ReLU())));
  const named = new nn.Sequential(new Map<string, torch.nn.TensorModule>([['conv', new nn.Linear(2, 2)], ['act', new nn.ReLU()], ['fc', new nn.Linear(2, 2)]]));
  const list = new nn.ModuleList(Array.from({ length: 5 }, () => new nn.Linear(2, 2)));
  const part = seq.slice(2, 6);
  expect([[...part.stateDict().keys()], [...named.slice(1).stateDict().keys()], [...list.slice(1, 3).stateDict().keys()], [...seq.slice(-3).stateDict().keys()]])
    .toEqual([want.seq, want.named, want.list, want.neg]);
  // the same modules: the slice computes what those layers compute, and shares their weights
  expect([part.get(0) === seq.get(2), list.slice(1, 3).get(1) === list.get(2)]).toEqual([true, true]);
  const x = torch.randn([3, 2]);
  expect(torch.equal(seq(x), seq.slice(6)(part(seq.slice(0, 2)(x))))).toBe(true);
  for (const m of [seq, named, list]) m.dispose();
  x.dispose();
});

test('Sequential / ModuleList edited as PyTorch\'s: seq.fc = m appends fc, seq[i] = m, del seq[i] and pop(i) renumber, out of range is an error', () => {
  const want = pythonJson<{ keys: string[][]; out: number[][]; popped: string[]; errors: string[] }>(`
import json, torch, torch.nn as nn
from collections import OrderedDict
torch.manual_seed(3)
seq = nn.Sequential(OrderedDict([("a", nn.Linear(2, 3)), ("b", nn.ReLU()), ("c", nn.Linear(3, 3))]))
keys = []
seq.fc = nn.Linear(3, 2)                  # __setattr__: appended
keys.append(list(seq.state_dict()))
seq[1] = nn.Tanh()                        # __setitem__: replaced under its name
del seq[2]                                # __delitem__: renumbered
keys.append(list(seq.state_dict()))
x = torch.linspace(-1, 1, 8).view(4, 2)
out = seq(x).tolist()
lst = nn.ModuleList([nn.Linear(2, 2), nn.ReLU(), nn.Tanh(), nn.Linear(2, 2)])
popped = type(lst.pop(1)).__name__, type(lst.pop(-1)).__name__
keys.append(list(lst.state_dict()))
errors = []
for f in (lambda: lst[5], lambda: lst[-4], lambda: seq[3]):
    try: f(); errors.append("none")
    except IndexError: errors.append("IndexError")
print(json.dumps({"keys": keys, "out": out, "popped": popped, "errors": errors}))
`);
  torch.manualSeed(3);
  const seq = new nn.Sequential(new Map<string, torch.nn.TensorModule>([['a', new nn.Linear(2, 3)], ['b', new nn.ReLU()], ['c', new nn.Linear(3, 3)]]));
  const keys: string[][] = [];
  (seq as unknown as { fc: torch.nn.Linear }).fc = new nn.Linear(3, 2);
  keys.push([...seq.stateDict().keys()]);
  const c = seq.get(2) as torch.nn.Linear;
  seq.set(1, new nn.Tanh());
  seq.delete(2);
  keys.push([...seq.stateDict().keys()]);
  const x = torch.linspace(-1, 1, 8).view(4, 2);
  const out = seq(x);
  const lst = new nn.ModuleList<torch.nn.Module>([new nn.Linear(2, 2), new nn.ReLU(), new nn.Tanh(), new nn.Linear(2, 2)]);
  const popped = [lst.pop(1).constructor.name, lst.pop().constructor.name]; // (pop() is pop(-1), as a Python list's)
  keys.push([...lst.stateDict().keys()]);
  const errors = [() => lst.get(5), () => lst.get(-4), () => seq.get(3)].map((f) => {
    try { f(); return 'none'; } catch (e) { return /index -?\d+ is out of range \(it has \d+ modules\)/.test(String(e)) ? 'IndexError' : String(e); }
  });
  expect({ keys, popped, errors }).toEqual({ keys: want.keys, popped: want.popped, errors: want.errors });
  expect(() => seq.set(0, 5 as never)).toThrow(/Sequential.set: cannot assign .* as child module 0 \(a module expected\)/);
  expect(out.sub(torch.tensor(want.out)).abs().max().item()).toBeLessThan(1e-6);
  // what forward runs is what is registered: a, Tanh, fc
  expect(seq.items.map((m) => m.constructor.name)).toEqual(['Linear', 'Tanh', 'Linear']);
  for (const m of [seq, lst, c]) m.dispose();
  for (const t of [x, out]) t.dispose();
});
