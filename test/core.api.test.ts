// The tensor API: creation, dtypes, data out, shape ops, in-place ops, errors.
import * as torch from '../lib';
import { pythonJson } from './helpers';
import * as path from 'path';
import { spawnSync } from 'child_process';

afterEach(() => torch.manualSeed(0));

describe('creation and data', () => {
  test('tensor() from nested arrays infers shape and dtype like Python', () => {
    const a = torch.tensor([[1, 2, 3], [4, 5, 6]]);
    expect(a.shape).toEqual([2, 3]);
    expect(a.dtype).toBe('int64');
    expect(a.tolist()).toEqual([[1, 2, 3], [4, 5, 6]]);
    const b = torch.tensor([0.5, 1.5]);
    expect(b.dtype).toBe('float32');
    expect(torch.tensor([true, false]).tolist()).toEqual([true, false]);
    expect(torch.tensor(3.25).item()).toBe(3.25);
    expect(torch.tensor(3.25).shape).toEqual([]);
    // item() is a number wherever it goes (an argument typed Tensor | number too); a bool tensor's, item<boolean>()
    const shifted = torch.tensor([1, 2]).sub(torch.tensor(0.5).item());
    expect(shifted.tolist()).toEqual([0.5, 1.5]);
    const isTrue: boolean = torch.tensor(true).item<boolean>();
    expect(isTrue).toBe(true);
    // @ts-expect-error a bool tensor's value is asked for as one
    const asNumber: boolean = torch.tensor(true).item();
    expect(asNumber).toBe(true);
  });

  test('tensor() from typed arrays, data() copies back', () => {
    const src = new Float32Array([1, 2, 3, 4, 5, 6]);
    const t = torch.tensor(src, { shape: [2, 3] });
    src[0] = 100; // the tensor owns a copy
    expect(Array.from(t.data() as Float32Array)).toEqual([1, 2, 3, 4, 5, 6]);
    const l = torch.tensor(new BigInt64Array([1n, 2n, 3n]));
    expect(l.dtype).toBe('int64');
    expect(Array.from(l.data() as BigInt64Array)).toEqual([1n, 2n, 3n]);
    expect(() => torch.tensor(new Float32Array(5), { shape: [2, 3] })).toThrow(/5 elements/);
  });

  test('every dtype round-trips', () => {
    for (const dtype of ['float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'uint8'] as torch.DType[]) {
      const t = torch.tensor([1, 2, 3], { dtype });
      expect(t.dtype).toBe(dtype);
      expect(t.tolist()).toEqual([1, 2, 3]);
    }
    expect(torch.tensor([1, 0], { dtype: 'bool' }).tolist()).toEqual([true, false]);
    expect(torch.tensor([1.5]).to({ dtype: 'bfloat16' }).to('float64').item()).toBe(1.5);
  });

  test('factories', () => {
    expect(torch.zeros([2, 2]).sum().item()).toBe(0);
    expect(torch.ones([2, 3]).sum().item()).toBe(6);
    expect(torch.full([2], 7).tolist()).toEqual([7, 7]);
    expect(torch.arange(5).tolist()).toEqual([0, 1, 2, 3, 4]);
    expect(torch.arange(1, 2, 0.25).tolist()).toEqual([1, 1.25, 1.5, 1.75]);
    expect(torch.eye(3).sum().item()).toBe(3);
    expect(torch.empty([4, 5]).shape).toEqual([4, 5]);
    const r = torch.randint(3, 7, [1000]);
    expect(r.min().item()).toBeGreaterThanOrEqual(3);
    expect(r.max().item()).toBeLessThan(7);
    const u = torch.rand([1000]);
    expect(u.min().item()).toBeGreaterThanOrEqual(0);
    expect(u.max().item()).toBeLessThan(1);
  });

  test('to() with nonBlocking, and pinned memory where there is no CUDA', () => {
    const a = torch.tensor([[1.5, -2], [3, 4]]);
    // On the CPU nonBlocking changes nothing: same values, the dtype converted as asked.
    expect(a.to({ dtype: 'float64', nonBlocking: true }).tolist()).toEqual([[1.5, -2], [3, 4]]);
    expect(a.to({ dtype: 'int64', nonBlocking: true }).dtype).toBe('int64');
    expect(a.isPinned()).toBe(false);
    if (!torch.cuda.isAvailable()) {
      expect(() => a.pinMemory()).toThrow(/pinMemory: page-locked memory needs CUDA/);
    }
  });

  test('manualSeed makes randn repeatable and equal to PyTorch with the same seed', () => {
    torch.manualSeed(42);
    const a = torch.randn([3]).tolist() as number[];
    torch.manualSeed(42);
    const b = torch.randn([3]).tolist() as number[];
    expect(a).toEqual(b);
    // torch.manual_seed(42); torch.randn(3) in Python 1.13 / 2.x:
    const python = [0.33669036626815796, 0.12880940735340118, 0.23446236550807953];
    a.forEach((v, i) => expect(v).toBeCloseTo(python[i], 7));
  });
});

describe('ops', () => {
  test('reductions with dim and keepdim', () => {
    const x = torch.tensor([[1, 2, 3], [4, 5, 6]], { dtype: 'float64' });
    expect(x.sum(0).tolist()).toEqual([5, 7, 9]);
    expect(x.sum(1, true).shape).toEqual([2, 1]);
    expect(x.mean().item()).toBe(3.5);
    const { values, indices } = x.max(1);
    expect(values.tolist()).toEqual([3, 6]);
    expect(indices.tolist()).toEqual([2, 2]);
    expect(x.min(0).values.tolist()).toEqual([1, 2, 3]);
    expect(x.argmax().item()).toBe(5);
    expect(x.var(1).tolist()).toEqual([1, 1]);
    expect((x.var(1, { unbiased: false }).tolist() as number[])[0]).toBeCloseTo(2 / 3, 12);
    expect(x.norm().item()).toBeCloseTo(Math.sqrt(91), 12);
    expect((x.logsumexp(1).tolist() as number[])[0]).toBeCloseTo(Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3)), 12);
    expect(x.cumsum(1).tolist()).toEqual([[1, 3, 6], [4, 9, 15]]);
  });

  test('matmul family', () => {
    const a = torch.tensor([[1, 2], [3, 4]], { dtype: 'float32' });
    expect(a.matmul(a).tolist()).toEqual([[7, 10], [15, 22]]);
    expect(a.mm(torch.eye(2)).tolist()).toEqual([[1, 2], [3, 4]]);
    expect(a.unsqueeze(0).bmm(a.unsqueeze(0)).shape).toEqual([1, 2, 2]);
    expect(torch.ones([2, 2]).addmm(a, a, { beta: 2, alpha: 1 }).tolist()).toEqual([[9, 12], [17, 24]]);
  });

  test('shape ops', () => {
    const x = torch.arange(24).view([2, 3, 4]);
    expect(x.transpose(0, 2).shape).toEqual([4, 3, 2]);
    expect(x.permute([2, 0, 1]).shape).toEqual([4, 2, 3]);
    expect(x.reshape([6, -1]).shape).toEqual([6, 4]);
    expect(x.split(2, 2).map((t) => t.shape)).toEqual([[2, 3, 2], [2, 3, 2]]);
    expect(x.split([1, 3], 2).map((t) => t.shape)).toEqual([[2, 3, 1], [2, 3, 3]]);
    expect(x.chunk(3, 1).length).toBe(3);
    expect(x.narrow(2, 1, 2).shape).toEqual([2, 3, 2]);
    expect(x.unsqueeze(1).squeeze(1).shape).toEqual([2, 3, 4]);
    expect(torch.stack([x, x], 0).shape).toEqual([2, 2, 3, 4]);
    expect(torch.cat([x, x], 1).shape).toEqual([2, 6, 4]);
    expect(torch.ones([3, 3]).tril().sum().item()).toBe(6);
    expect(torch.ones([3, 3]).triu(1).sum().item()).toBe(3);
    expect(torch.tensor([[1], [2]]).expand([2, 3]).tolist()).toEqual([[1, 1, 1], [2, 2, 2]]);
  });

  test('sampling and sorting', () => {
    const x = torch.tensor([3, 1, 2], { dtype: 'float32' });
    expect(x.topk(2).indices.tolist()).toEqual([0, 2]);
    expect(x.sort().values.tolist()).toEqual([1, 2, 3]);
    expect(x.sort(-1, true).indices.tolist()).toEqual([0, 2, 1]);
    torch.manualSeed(1);
    const probs = torch.tensor([0, 0, 1, 0], { dtype: 'float32' });
    expect(torch.multinomial(probs, 3, true).tolist()).toEqual([2, 2, 2]);
  });

  test('where, maskedFill, clamp, comparisons', () => {
    const x = torch.tensor([-2, -1, 0, 1, 2], { dtype: 'float32' });
    expect(torch.where(x.gt(0), x, 0).tolist()).toEqual([0, 0, 0, 1, 2]);
    expect(x.maskedFill(x.lt(0), 9).tolist()).toEqual([9, 9, 0, 1, 2]);
    expect(x.clamp(-1, 1).tolist()).toEqual([-1, -1, 0, 1, 1]);
    expect(x.clamp(null, 0).tolist()).toEqual([-2, -1, 0, 0, 0]);
    expect(x.eq(0).tolist()).toEqual([false, false, true, false, false]);
  });

  test('in-place optimizer ops return the same tensor and update it', () => {
    const p = torch.zeros([3], { dtype: 'float64' });
    const g = torch.tensor([1, 2, 3], { dtype: 'float64' });
    expect(p.add_(g, -0.5)).toBe(p);
    expect(p.tolist()).toEqual([-0.5, -1, -1.5]);
    p.mul_(2).addcmul_(g, g, 0.5).addcdiv_(g, g.add(1), 2);
    expect(p.tolist()).toEqual([-1 + 0.5 + 1, -2 + 2 + 4 / 3, -3 + 4.5 + 1.5]);
    p.lerp_(g, 0.5);
    p.copy_(g).fill_(4).zero_();
    expect(p.sum().item()).toBe(0);
    const n = torch.empty([10000]).normal_(1, 2);
    expect(n.mean().item()).toBeCloseTo(1, 0);
    const u = torch.empty([10000]).uniform_(-3, -2);
    expect(u.max().item()).toBeLessThanOrEqual(-2);
  });

  test('noGrad and enableGrad', () => {
    const w = torch.ones([2], { requiresGrad: true });
    expect(torch.noGrad(() => w.mul(2)).requiresGrad).toBe(false);
    expect(torch.noGrad(() => torch.enableGrad(() => w.mul(2)).requiresGrad)).toBe(true);
    expect(torch.isGradEnabled()).toBe(true);
    const y = w.mul(w).sum();
    y.backward();
    expect(w.grad!.tolist()).toEqual([2, 2]);
    expect(w.detach().requiresGrad).toBe(false);
    w.grad = null;
    expect(w.grad).toBeNull();
  });

  test('functional', () => {
    const F = torch.nn.functional;
    const x = torch.tensor([[1, 2, 3]], { dtype: 'float64' });
    expect((F.softmax(x, 1).sum().item() as number)).toBeCloseTo(1, 12);
    expect(F.dropout(x, 0.5, false).tolist()).toEqual(x.tolist());
    const d = F.dropout(torch.ones([10000]), 0.5, true);
    expect(d.eq(0).sum().item()).toBeGreaterThan(4000);
    expect(d.max().item()).toBe(2);
    const g = F.gelu(torch.tensor([1], { dtype: 'float64' }), { approximate: 'tanh' }).item() as number;
    expect(g).toBeCloseTo(0.5 * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (1 + 0.044715))), 12);
  });

  test('cuda queries answer without a GPU', () => {
    expect(typeof torch.cuda.isAvailable()).toBe('boolean');
    expect(torch.cuda.deviceCount()).toBeGreaterThanOrEqual(0);
    const tf32 = torch.cuda.getAllowTF32();
    torch.cuda.setAllowTF32(!tf32);
    expect(torch.cuda.getAllowTF32()).toBe(!tf32);
    torch.cuda.setAllowTF32(tf32);
    const info = torch.buildInfo();
    expect(info.torchVersion).toMatch(/^\d+\.\d+/);
    expect(info.torchSource.length).toBeGreaterThan(0);
    if (!torch.cuda.isAvailable()) {
      expect(() => torch.cuda.synchronize()).toThrow(/CUDA/);
      expect(() => torch.ones([1]).cuda()).toThrow();
    }
  });
});

describe('errors become JS exceptions', () => {
  test('shape mismatch', () => {
    expect(() => torch.ones([2, 3]).mm(torch.ones([2, 3]))).toThrow(/cannot be multiplied/);
    expect(() => torch.ones([2]).add(torch.ones([3]))).toThrow(/size of tensor/);
  });
  test('bad view', () => {
    expect(() => torch.ones([4]).view([3, -1])).toThrow(/invalid for input of size 4/);
    expect(() => torch.ones([2, 3]).transpose(0, 1).view([6])).toThrow(/view size is not compatible/);
  });
  test('wrong dtype', () => {
    expect(() => torch.nn.functional.embedding(torch.ones([2]), torch.ones([3, 3]))).toThrow(/Long|Int/);
    expect(() => torch.tensor([1, 2]).requiresGrad_()).toThrow(/floating point/);
    expect(() => torch.zeros([2], { dtype: 'float128' as torch.DType })).toThrow(/unknown dtype/);
    expect(() => torch.zeros([2], { device: 'tpu' })).toThrow(/unknown device/);
  });
  test("a name that is a property of every JS object ('constructor') is as unknown as any other", () => {
    const F = torch.nn.functional;
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      expect(() => torch.zeros([2], { dtype: name as torch.DType })).toThrow(new RegExp(`unknown dtype '${name}'`));
      expect(() => torch.finfo(name as torch.DType)).toThrow(/is not a floating point dtype/);
      expect(() => torch.iinfo(name as torch.DType)).toThrow(/is not an integer dtype/);
      expect(() => torch.frombuffer(new Uint8Array(4), { dtype: name as torch.DType })).toThrow(/give the dtype the bytes hold/);
      expect(() => F.mseLoss(torch.zeros([2]), torch.zeros([2]), { reduction: name as 'sum' })).toThrow(new RegExp(`unknown reduction '${name}'`));
      expect(() => F.interpolate(torch.zeros([1, 1, 3]), { size: 5, mode: name as 'linear' })).toThrow(new RegExp(`unknown mode '${name}'`));
      expect(() => torch.train.parseOptimArgs('sgd', `${name}=1`)).toThrow(/sgd takes momentum, dampening, nesterov/);
      expect(() => torch.train.parseOptimArgs(name as 'sgd', 'momentum=1')).toThrow(/optim must be adamw_torch/);
      const tok = new torch.GPT2Tokenizer(null, { chatTemplate: { default: '{{ messages[0].content }}', tool_use: '{{ tools }}' } });
      expect(() => tok.applyChatTemplate([{ role: 'user', content: 'hi' }], { chatTemplate: name })).toThrow(/no chat template named/);
    }
  });
  test('a CUDA device that is not there says so, and what to use instead', () => {
    const n = torch.cuda.deviceCount();
    const missing = `cuda:${n}`;
    const expected = n === 0 ? new RegExp(`device '${missing}' is not available: .*; use 'cpu'`) : new RegExp(`device '${missing}' does not exist: this machine has ${n}`);
    expect(() => torch.zeros([2], { device: missing })).toThrow(expected);
    expect(() => torch.tensor([1, 2]).to(missing)).toThrow(expected);
    expect(() => torch.randn([2], { device: missing })).toThrow(expected);
  });
  test('disposed tensor', () => {
    const t = torch.ones([2]);
    t.dispose();
    expect(() => t.add(1)).toThrow(/disposed/);
    expect(() => t.shape).toThrow(/disposed/);
    t.dispose(); // twice is fine
    const kept = torch.tidy(() => torch.ones([2]).add(1));
    const freed: torch.Tensor[] = [];
    torch.tidy(() => { freed.push(torch.ones([2])); });
    expect(() => freed[0].sum()).toThrow(/tidy/);
    expect(kept.sum().item()).toBe(4);
  });
  test('odd arguments never crash the process', () => {
    const t = torch.ones([2, 2]);
    expect(() => t.view(['a' as unknown as number])).toThrow();
    expect(() => t.sum(99)).toThrow(/Dimension out of range/);
    expect(() => t.select(0, 5)).toThrow(/out of range/);
    expect(() => t.item()).toThrow(/one element/);
    expect(() => torch.tensor([[1, 2], [3]])).toThrow(/ragged/);
    expect(() => torch.randn([-1])).toThrow();
    expect(() => t.backward()).toThrow(/grad can be implicitly created only for scalar|does not require grad/);
  });
});

describe('default dtype and device (torch.set_default_dtype / set_default_device)', () => {
  afterEach(() => {
    torch.setDefaultDtype('float32');
    torch.setDefaultDevice('cpu');
  });
  test('factories, torch.tensor and new layers follow the default dtype; integers and explicit dtypes do not', () => {
    torch.tidy(() => {
      expect(torch.getDefaultDtype()).toBe('float32');
      torch.setDefaultDtype('float64');
      expect(torch.zeros([2]).dtype).toBe('float64');
      expect(torch.randn([2]).dtype).toBe('float64');
      expect(torch.tensor([1.5, 2]).dtype).toBe('float64');
      expect(torch.full([1], 0.5).dtype).toBe('float64');
      expect(torch.arange(0, 1, 0.25).dtype).toBe('float64');
      expect(torch.linspace(0, 1, 3).dtype).toBe('float64');
      expect(torch.eye(2).dtype).toBe('float64');
      expect(torch.tensor([1, 2]).dtype).toBe('int64');
      expect(torch.arange(3).dtype).toBe('int64');
      expect(torch.randint(0, 3, [2]).dtype).toBe('int64');
      expect(torch.zeros([2], { dtype: 'float32' }).dtype).toBe('float32');
      const lin = new torch.nn.Linear(3, 2);
      expect(lin.weight.dtype).toBe('float64');
      lin.dispose();
      expect(() => torch.setDefaultDtype('int64')).toThrow(/only floating dtypes can be the default, got 'int64'/);
      torch.setDefaultDtype('float32');
      expect(torch.ones([1]).dtype).toBe('float32');
    });
  });
  test('the default device is checked when set and used by factories', () => {
    expect(torch.getDefaultDevice()).toBe('cpu');
    expect(() => torch.setDefaultDevice('gpu')).toThrow(/unknown device 'gpu'/);
    torch.setDefaultDevice('cpu');
    expect(torch.tidy(() => torch.zeros([1]).device)).toBe('cpu');
    if (!torch.cuda.isAvailable()) {
      expect(() => torch.setDefaultDevice('cuda')).toThrow(/setDefaultDevice\('cuda'\): CUDA is not available/);
      expect(torch.getDefaultDevice()).toBe('cpu');
    } else {
      torch.setDefaultDevice('cuda');
      expect(torch.tidy(() => [torch.zeros([1]).device, torch.tensor([1, 2]).device, torch.zeros([1], { device: 'cpu' }).device])).toEqual(['cuda:0', 'cuda:0', 'cpu']);
    }
  });
});

test('t() as PyTorch: 0-D and 1-D as they are, 2-D transposed, 3-D refused; T reverses every dim', () => {
  torch.tidy(() => {
    expect(torch.arange(3).t().tolist()).toEqual([0, 1, 2]);
    expect(torch.arange(6).view([2, 3]).t().tolist()).toEqual([[0, 3], [1, 4], [2, 5]]);
    expect(() => torch.zeros([2, 3, 4]).t()).toThrow(/t\(\) expects a tensor with <= 2 dimensions, but self is 3D/);
    expect(torch.zeros([2, 3, 4]).T.shape).toEqual([4, 3, 2]);
  });
});

test('type promotion (resultType, promoteTypes, canCast), broadcastShapes, asTensor and settings as PyTorch\'s', () => {
  const want = pythonJson(`
import json, torch
f, i, b, h = torch.zeros(2), torch.zeros(2, dtype=torch.int64), torch.zeros(2, dtype=torch.bool), torch.zeros(2, dtype=torch.float16)
name = lambda t: str(t).replace('torch.', '')
pairs = [('int32', 'float16'), ('uint8', 'int8'), ('bool', 'int64'), ('bfloat16', 'float16'), ('complex64', 'float64')]
print(json.dumps({
  'result': [name(torch.result_type(f, i)), name(torch.result_type(i, 2.5)), name(torch.result_type(b, 3)), name(torch.result_type(h, 1.5)), name(torch.result_type(h, i)), name(torch.result_type(2, 3.5))],
  'promote': [name(torch.promote_types(getattr(torch, a), getattr(torch, c))) for a, c in pairs],
  'cast': [torch.can_cast(torch.float64, torch.int32), torch.can_cast(torch.int32, torch.float16), torch.can_cast(torch.complex64, torch.float32), torch.can_cast(torch.bool, torch.uint8)],
  'shape': list(torch.broadcast_shapes((3, 1), (1, 4), (4,))),
}))`);
  torch.tidy(() => {
    const f = torch.zeros([2]), i = torch.zeros([2], { dtype: 'int64' }), b = torch.zeros([2], { dtype: 'bool' }), h = torch.zeros([2], { dtype: 'float16' });
    expect([torch.resultType(f, i), torch.resultType(i, 2.5), torch.resultType(b, 3), torch.resultType(h, 1.5), torch.resultType(h, i), torch.resultType(2, 3.5)]).toEqual(want.result);
    const pairs: [torch.DType, torch.DType][] = [['int32', 'float16'], ['uint8', 'int8'], ['bool', 'int64'], ['bfloat16', 'float16'], ['complex64', 'float64']];
    expect(pairs.map(([a, c]) => torch.promoteTypes(a, c))).toEqual(want.promote);
    expect([torch.canCast('float64', 'int32'), torch.canCast('int32', 'float16'), torch.canCast('complex64', 'float32'), torch.canCast('bool', 'uint8')]).toEqual(want.cast);
    expect(torch.broadcastShapes([3, 1], [1, 4], [4])).toEqual(want.shape);
    expect(() => torch.broadcastShapes([3], [4])).toThrow(/cannot be broadcast/);
    expect(torch.asTensor(f)).toBe(f);
    expect(torch.asTensor(f, { dtype: 'float64' }).dtype).toBe('float64');
    expect(torch.asTensor([1, 2]).tolist()).toEqual([1, 2]);
    expect([torch.scalarTensor(3).dtype, torch.scalarTensor(3).shape]).toEqual(['float32', []]);
    const ri = torch.randintLike(f, 5);
    expect([ri.dtype, ri.shape, ri.ge(0).all().item(), ri.lt(5).all().item()]).toEqual(['float32', [2], true, true]);
    expect(torch.isTensor(f)).toBe(true);
  });
  torch.useDeterministicAlgorithms(true, { warnOnly: true });
  expect([torch.areDeterministicAlgorithmsEnabled(), torch.isDeterministicAlgorithmsWarnOnlyEnabled()]).toEqual([true, true]);
  torch.useDeterministicAlgorithms(false);
  expect(torch.areDeterministicAlgorithmsEnabled()).toBe(false);
  const before = torch.getFloat32MatmulPrecision();
  expect(before).toBe('highest');
  torch.setFloat32MatmulPrecision('high');
  expect(torch.getFloat32MatmulPrecision()).toBe('high');
  torch.setFloat32MatmulPrecision(before);
  expect(() => torch.setFloat32MatmulPrecision('low' as never)).toThrow(/'highest', 'high' or 'medium'/);
  expect(torch.getNumInteropThreads()).toBeGreaterThan(0);
});

test('Tensor.type(), apply_ and map_ as PyTorch\'s', () => {
  const want = pythonJson(`
import json, torch
x = torch.tensor([[1.5, -2.0], [3.0, 0.25]], dtype=torch.float64)
y = x.clone().apply_(lambda v: v * v - 1)
z = x.clone().map_(torch.tensor([10.0, -1.0], dtype=torch.float64), lambda a, b: a * b + 1)
i = torch.tensor([3, 7]).apply_(lambda v: v // 2)
print(json.dumps({"types": [x.type(), torch.zeros(1).type(), torch.zeros(1, dtype=torch.bool).type(), torch.zeros(1, dtype=torch.int32).type()], "y": y.tolist(), "z": z.tolist(), "i": i.tolist()}))`);
  torch.tidy(() => {
    const x = torch.tensor([[1.5, -2.0], [3.0, 0.25]], { dtype: 'float64' });
    expect([x.type(), torch.zeros([1]).type(), torch.zeros([1], { dtype: 'bool' }).type(), torch.zeros([1], { dtype: 'int32' }).type()]).toEqual(want.types);
    expect(x.clone().apply_((v) => v * v - 1).tolist()).toEqual(want.y);
    expect(x.clone().map_(torch.tensor([10, -1], { dtype: 'float64' }), (a, b) => a * b + 1).tolist()).toEqual(want.z);
    expect(torch.tensor([3, 7]).apply_((v) => Math.floor(v / 2)).tolist()).toEqual(want.i);
    expect(x.type('float32').dtype).toBe('float32');
  });
});

test('fromFile shared: the file mapped, as torch.from_file(shared=True): writes reach it and every mapping of it; a missing or short file is made the size asked', () => {
  const os = require('os') as typeof import('os'), fs = require('fs') as typeof import('fs'), path = require('path') as typeof import('path');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-fromfile-shared-'));
  const [ours, theirs, shortOurs, shortTheirs] = ['ours.bin', 'theirs.bin', 'short-ours.bin', 'short-theirs.bin'].map((n) => path.join(dir, n));
  for (const f of [shortOurs, shortTheirs]) fs.writeFileSync(f, Buffer.from([1, 2, 3, 4, 5]));
  // the same steps in Python and here: a file made by mapping it, written through one mapping; a short file grown
  pythonJson(`
import sys, torch
t = torch.from_file(sys.argv[1], shared=True, size=6, dtype=torch.float64)
t.copy_(torch.arange(6, dtype=torch.float64) * 1.5)
s = torch.from_file(sys.argv[2], shared=True, size=3, dtype=torch.float32)
s[2] = 7
print("null")`, theirs, shortTheirs);
  torch.tidy(() => {
    const t = torch.fromFile(ours, true, 6, { dtype: 'float64' });
    const again = torch.fromFile(ours, true, 6, { dtype: 'float64' }); // (a second mapping sees the first's writes)
    t.copy_(torch.arange(6, { dtype: 'float64' }).mul(1.5));
    expect(again.tolist()).toEqual([0, 1.5, 3, 4.5, 6, 7.5]);
    const s = torch.fromFile(shortOurs, true, 3, { dtype: 'float32' });
    s.narrow(0, 2, 1).fill_(7);
    expect(torch.fromFile(ours, false, 6, { dtype: 'float64' }).tolist()).toEqual([0, 1.5, 3, 4.5, 6, 7.5]);
    expect(() => torch.fromFile(ours, true, 1, { device: 'cuda' })).toThrow(/shared true maps the file into CPU memory/);
  });
  torch.memory(); // (the mappings let go)
  expect(fs.readFileSync(ours).equals(fs.readFileSync(theirs))).toBe(true);
  expect(fs.readFileSync(shortOurs).equals(fs.readFileSync(shortTheirs))).toBe(true);
  expect(fs.statSync(shortOurs).size).toBe(12);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('emptyStrided, newEmptyStrided, fromFile, setFlushDenormal and the autocast / anomaly queries as PyTorch\'s', () => {
  const os = require('os') as typeof import('os'), fs = require('fs') as typeof import('fs'), path = require('path') as typeof import('path');
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-fromfile-')), 'values.bin');
  fs.writeFileSync(file, Buffer.from(new Float64Array([1.5, -2, 3.25, 7, 11]).buffer));
  const want = pythonJson(`
import json, sys, torch
e = torch.empty_strided((2, 3), (1, 2))
n = torch.zeros(4, dtype=torch.int32).new_empty_strided((3, 2), (2, 1))
z = torch.empty_strided((2, 0, 3), (7, 5, 1))
ok = torch.set_flush_denormal(True)
tiny = torch.tensor([1e-310, 1.0], dtype=torch.float64).mul(1).tolist()
torch.set_flush_denormal(False)
with torch.autocast('cpu', dtype=torch.bfloat16):
    inside = [torch.is_autocast_cpu_enabled(), str(torch.get_autocast_cpu_dtype()).replace('torch.', '')]
print(json.dumps({"e": [list(e.shape), list(e.stride())], "n": [list(n.shape), list(n.stride()), str(n.dtype).replace('torch.', '')],
  "z": [list(z.shape), list(z.stride())],
  "file": torch.from_file(sys.argv[1], size=4, dtype=torch.float64).tolist(), "file0": torch.from_file(sys.argv[1], size=0, dtype=torch.float64).tolist(),
  "flush": ok, "tiny": tiny, "after": torch.tensor([1e-310], dtype=torch.float64).mul(1).tolist(),
  "outside": [torch.is_autocast_enabled(), torch.is_autocast_cpu_enabled(), str(torch.get_autocast_gpu_dtype()).replace('torch.', '')], "inside": inside,
  "anomaly": torch.is_anomaly_enabled()}))
`, file);
  torch.tidy(() => {
    const e = torch.emptyStrided([2, 3], [1, 2]);
    expect([e.shape, e.stride()]).toEqual(want.e);
    const n = torch.zeros([4], { dtype: 'int32' }).newEmptyStrided([3, 2], [2, 1]);
    expect([n.shape, n.stride(), n.dtype]).toEqual(want.n);
    const z = torch.emptyStrided([2, 0, 3], [7, 5, 1]);
    expect([z.shape, z.stride()]).toEqual(want.z);
    expect(torch.emptyStrided([2], [1], { requiresGrad: true }).requiresGrad).toBe(true);
    expect(() => torch.emptyStrided([2, 3], [1])).toThrow(/size has 2 dimensions but stride 1/);

    expect(torch.fromFile(file, false, 4, { dtype: 'float64' }).tolist()).toEqual(want.file);
    expect(torch.fromFile(file, null, 0, { dtype: 'float64' }).tolist()).toEqual(want.file0);
    expect(() => torch.fromFile(file, false, 6, { dtype: 'float64' })).toThrow(/has 40 bytes, but 6 elements of float64 need 48; give a smaller size/);
    expect(() => torch.fromFile(file + '.missing', false, 1)).toThrow(/ENOENT/);

    expect(torch.setFlushDenormal(true)).toBe(want.flush);
    expect(torch.tensor([1e-310, 1], { dtype: 'float64' }).mul(1).tolist()).toEqual(want.tiny);
    torch.setFlushDenormal(false);
    expect(torch.tensor([1e-310], { dtype: 'float64' }).mul(1).tolist()).toEqual(want.after);

    expect([torch.isAutocastEnabled(), torch.isAutocastCpuEnabled(), torch.getAutocastGpuDtype()]).toEqual(want.outside);
    expect(torch.autocast(() => [torch.isAutocastCpuEnabled(), torch.getAutocastCpuDtype()], { deviceType: 'cpu', dtype: 'bfloat16' })).toEqual(want.inside);
    expect(torch.isAnomalyEnabled()).toBe(want.anomaly);
    torch.setAnomalyEnabled(true);
    expect([torch.isAnomalyEnabled(), torch.autograd.isAnomalyEnabled()]).toEqual([true, true]);
    torch.setAnomalyEnabled(false);
    expect(torch.isAnomalyEnabled()).toBe(false);
  });
});

describe('dtype limits, grad mode, determinism and libtorch warnings, as PyTorch', () => {
  test('finfo and iinfo give PyTorch\'s values; other dtypes are refused, saying which to use', () => {
    const want = pythonJson(`import torch, json
f = {str(d).split('.')[1]: (lambda i: [i.bits, i.eps, i.max, i.min, i.tiny, i.smallest_normal, i.resolution, str(i.dtype)])(torch.finfo(d))
     for d in [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.complex64, torch.complex128]}
i = {str(d).split('.')[1]: [torch.iinfo(d).bits, str(torch.iinfo(d).max), str(torch.iinfo(d).min)] for d in [torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64]}
print(json.dumps({'f': f, 'default': torch.finfo().eps, 'i': i}))`);
    for (const [dtype, [bits, eps, max, min, tiny, smallestNormal, resolution, of]] of Object.entries(want.f as Record<string, unknown[]>)) {
      const got = torch.finfo(dtype as torch.DType);
      expect([got.bits, got.eps, got.max, got.min, got.tiny, got.smallestNormal, got.resolution, got.dtype]).toEqual([bits, eps, max, min, tiny, smallestNormal, resolution, of]);
    }
    expect(torch.finfo().eps).toBe(want.default);
    torch.setDefaultDtype('float64');
    try {
      expect(torch.finfo().dtype).toBe('float64');
    } finally {
      torch.setDefaultDtype('float32');
    }
    for (const [dtype, [bits, max, min]] of Object.entries(want.i as Record<string, [number, string, string]>)) {
      const got = torch.iinfo(dtype as torch.DType);
      expect([got.bits, String(got.max), String(got.min), got.dtype]).toEqual([bits, max, min, dtype]);
    }
    expect(typeof torch.iinfo('int64').max).toBe('bigint');
    expect(torch.iinfo('int32').max).toBe(2147483647);
    expect(() => torch.iinfo('bool')).toThrow(/bool is not an integer dtype/);
    expect(() => torch.iinfo('float32')).toThrow(/for floating dtypes use finfo/);
    expect(() => torch.finfo('int64')).toThrow(/int64 is not a floating point dtype \(for integer dtypes use iinfo\)/);
    // (the mask value of GPT-2's attention is finfo's min)
    expect(torch.finfoMin('bfloat16')).toBe(torch.finfo('bfloat16').min);
  });

  test('setGradEnabled (function and scoped forms), deterministic debug mode, anomaly and warn-always queries follow PyTorch', () => {
    const want = pythonJson(`import torch, json
out = {'warnAlways': torch.is_warn_always_enabled(), 'checkNan': torch.is_anomaly_check_nan_enabled(), 'modes': []}
for m in ['warn', 2, 'default', 1, 0, 'error']:
    torch.set_deterministic_debug_mode(m)
    out['modes'].append([torch.get_deterministic_debug_mode(), torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()])
torch.set_deterministic_debug_mode(0)
torch.set_grad_enabled(False)
out['off'] = torch.is_grad_enabled()
with torch.set_grad_enabled(True):
    out['inside'] = torch.is_grad_enabled()
out['after'] = torch.is_grad_enabled()
torch.set_anomaly_enabled(True, False)
out['checkNanOff'] = torch.is_anomaly_check_nan_enabled()
print(json.dumps(out))`);
    const x = torch.ones([2], { requiresGrad: true });
    torch.setGradEnabled(false);
    try {
      expect(torch.isGradEnabled()).toBe(want.off);
      expect(x.mul(2).requiresGrad).toBe(false);
      const inside = torch.setGradEnabled(true, () => [torch.isGradEnabled(), x.mul(2).requiresGrad]);
      expect(inside).toEqual([want.inside, true]);
      expect(torch.isGradEnabled()).toBe(want.after);
    } finally {
      torch.setGradEnabled(true);
    }
    expect(torch.setGradEnabled(false, () => torch.isGradEnabled())).toBe(false);
    expect(torch.isGradEnabled()).toBe(true);
    expect(() => torch.setGradEnabled('no' as unknown as boolean)).toThrow(/mode must be true or false/);

    const modes: unknown[] = [];
    try {
      for (const m of ['warn', 2, 'default', 1, 0, 'error'] as const) {
        torch.setDeterministicDebugMode(m);
        modes.push([torch.getDeterministicDebugMode(), torch.areDeterministicAlgorithmsEnabled(), torch.isDeterministicAlgorithmsWarnOnlyEnabled()]);
      }
    } finally {
      torch.setDeterministicDebugMode('default');
    }
    expect(modes).toEqual(want.modes);
    expect(() => torch.setDeterministicDebugMode('constructor' as 'warn')).toThrow(/expected 'default', 'warn', 'error'/);
    expect(() => torch.setDeterministicDebugMode(3 as 2)).toThrow(/expected 'default', 'warn', 'error'/);

    expect(torch.isWarnAlwaysEnabled()).toBe(want.warnAlways);
    expect(torch.isAnomalyCheckNanEnabled()).toBe(want.checkNan);
    torch.setAnomalyEnabled(true, false);
    try {
      expect(torch.isAnomalyCheckNanEnabled()).toBe(want.checkNanOff);
    } finally {
      torch.setAnomalyEnabled(false);
    }
  });

  test('libtorch\'s warnings are Node warnings with PyTorch\'s messages: once each, every time with setWarnAlways, hidden by --no-warnings', () => {
    // (what Python's warnings module records from the same ops)
    const want = pythonJson<{ messages: string[]; categories: string[] }>(`import torch, json, warnings
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter('always')
    a = torch.randn(3, 3)
    a[(a > 0).to(torch.uint8)]
    torch.randn(2).cov(correction=5)
print(json.dumps({'messages': [str(x.message) for x in w], 'categories': [x.category.__name__ for x in w]}))`);
    // (a process of its own: what it prints on stderr, and warnings are process-wide)
    const script = `const torch = require(${JSON.stringify(path.join(__dirname, '..', 'dist', 'lib'))});
const seen = [];
process.on('warning', (w) => seen.push([w.name, w.message]));
const a = torch.randn([3, 3]);
for (let i = 0; i < 3; i++) a.index(a.gt(0).to({ dtype: 'uint8' }));
torch.randn([2]).cov({ correction: 5 });
const before = seen.length;
torch.setWarnAlways(true);
for (let i = 0; i < 2; i++) a.index(a.gt(0).to({ dtype: 'uint8' }));
setImmediate(() => console.log(JSON.stringify({ seen, before })));`;
    const run = (...flags: string[]) => spawnSync(process.execPath, [...flags, '-e', script], { encoding: 'utf8', timeout: 120000 });
    const r = run();
    expect(r.status).toBe(0);
    const got = JSON.parse(r.stdout) as { seen: [string, string][]; before: number };
    // (the message, and where in libtorch: PyTorch's Python handler words the place with an extra space)
    const parts = (m: string) => { const k = m.indexOf(' (Triggered internally at '); return [m.slice(0, k), m.slice(k).replace(/\s+/g, ' ')]; };
    expect(got.seen.slice(0, 2).map(([, m]) => parts(m))).toEqual(want.messages.map(parts));
    expect(got.seen.map(([name]) => name)).toEqual([...want.categories, 'UserWarning', 'UserWarning']);
    expect(got.before).toBe(0); // (emitted on the next tick, as Node's own warnings)
    expect(got.seen.length).toBe(4); // (the uint8 warning once for 3 calls, then twice with setWarnAlways)
    expect(r.stderr).toContain('UserWarning: indexing with dtype torch.uint8 is now deprecated');
    expect(r.stderr).not.toContain('InitGoogleLogging');
    const quiet = run('--no-warnings');
    expect(quiet.status).toBe(0);
    expect(JSON.parse(quiet.stdout).seen.length).toBe(4);
    expect(quiet.stderr).toBe('');
  });

  test('F\'s functions take PyTorch\'s positional form too (against PyTorch); an unknown option, a stray argument or a deprecated one is an error, never the defaults', () => {
    const F = torch.nn.functional as unknown as Record<string, (...a: unknown[]) => torch.Tensor>;
    const x = torch.randn([1, 2, 8, 8], { dtype: 'float64' }), w = torch.randn([3, 2, 3, 3], { dtype: 'float64' });
    const y = torch.randn([4, 3], { dtype: 'float64' }), t = torch.tensor([0, 1, 2, 1]), cw = torch.tensor([1, 2, 3], { dtype: 'float64' });
    // (the same calls, written as PyTorch code is, run by PyTorch on the same numbers)
    const want = pythonJson<number[][]>(`import torch, json, sys
import torch.nn.functional as F
d = json.loads(sys.argv[1]); T = lambda v, **k: torch.tensor(v, dtype=torch.float64, **k)
x, w, y, cw = T(d['x']), T(d['w']), T(d['y']), T(d['cw']); t = torch.tensor([0, 1, 2, 1])
out = [F.conv2d(x, w, None, 2, 1), F.cross_entropy(y, t, cw), F.cross_entropy(y, t, None, None, -100, None, 'sum', 0.1), F.pad(y[None], [2, 1], 'reflect'),
       F.nll_loss(y.log_softmax(1), t, None, None, 1), F.embedding(t, y, 1), F.interpolate(x, None, 1.5, 'bilinear', True), F.normalize(y, 1, 0), F.avg_pool2d(x, 3, 2, 1, True, False)]
print(json.dumps([o.flatten().tolist() for o in out]))`, JSON.stringify({ x: x.tolist(), w: w.tolist(), y: y.tolist(), cw: cw.tolist() }));
    // (through F's own types: the positional forms type-check as written)
    const TF = torch.nn.functional;
    const got = [TF.conv2d(x, w, null, 2, 1), TF.crossEntropy(y, t, cw), TF.crossEntropy(y, t, null, null, -100, null, 'sum', 0.1), TF.pad(y.unsqueeze(0), [2, 1], 'reflect'),
      TF.nllLoss(y.logSoftmax(1), t, null, null, 1), TF.embedding(t, y, 1), TF.interpolate(x, null, 1.5, 'bilinear', true), TF.normalize(y, 1, 0), TF.avgPool2d(x, 3, 2, 1, true, false)];
    // @ts-expect-error (a string is no class weight: the types say so, and so does the call: it was quietly unweighted)
    expect(() => TF.crossEntropy(y, t, 'w')).toThrow('tstorch: expected a Tensor, got string "w"');
    expect(() => F.nllLoss(y, t, { weight: [1, 2, 3] })).toThrow('tstorch: expected a Tensor, got an array (make it a tensor with torch.tensor)');
    got.forEach((g, k) => {
      const flat = g.flatten().tolist() as number[];
      expect(flat.length).toBe(want[k].length);
      flat.forEach((v, j) => expect(Math.abs(v - want[k][j])).toBeLessThan(1e-12));
    });
    // an embedding's padding row gets no gradient, given positionally as by options
    const e = torch.randn([3, 2], { requiresGrad: true });
    F.embedding(t, e, 1).sum().backward();
    expect((e.grad!.select(0, 1).tolist() as number[])).toEqual([0, 0]);

    // Python's f(x, w, None, 2, padding=1): positional arguments, then keywords
    expect(F.conv2d(x, w, null, 2, { padding: 1 }).equal(got[0])).toBe(true);
    expect(() => F.conv2d(x, w, null, 2, { stride: 1 })).toThrow(/conv2d: stride is given twice, by position and in the options object/);
    expect(() => (F.conv2d as (...a: unknown[]) => torch.Tensor)(x, w, null, { padding: 1 }, 2)).toThrow(/conv2d: an options object goes last, after the positional arguments \(as Python's keywords\), not in the place of stride/);
    expect(() => F.conv2d(x, w, null, 1, 0, 1, 1, 9)).toThrow(/5 arguments after its required ones, but it takes at most 4 \(stride, padding, dilation, groups\)/);
    expect(() => F.crossEntropy(y, t, { ignore_index: 1 })).toThrow(/crossEntropy: unknown option 'ignore_index' \(did you mean ignoreIndex\?\)/);
    expect(() => F.mseLoss(y, y, { reductio: 'sum' })).toThrow(/unknown option 'reductio' \(did you mean reduction\?\)/);
    expect(() => F.mseLoss(y, y, 'sum')).toThrow(/sizeAverage is deprecated in PyTorch and not offered here: give reduction/);
    expect(() => F.pad(y, [1, 1], 'reflect', 0, 5)).toThrow(/pad: 3 arguments after its required ones, but it takes at most 2 \(mode, value\)/);
    expect(() => F.interpolate(x, { scaleFactor: 2, antialias: true })).toThrow(/antialias true is not offered here \(only false/);
    expect(() => new torch.nn.CrossEntropyLoss({ label_smoothing: 0.1 } as object).forward(y, t)).toThrow(/did you mean labelSmoothing\?/);
    expect(() => torch.nn.functional.maxPool2d(x, 2, { return_indices: true } as object)).toThrow(/unknown option 'return_indices' \(did you mean returnIndices\?\)/);
    expect(() => (torch.nn.functional.avgPool2d as (...a: unknown[]) => torch.Tensor)(x, 2, null, 0, false, true, 3)).toThrow(/divisorOverride is not offered/);
    expect(() => torch.embedding(torch.randn([4, 2]), torch.tensor([0, 1]), -2)).toThrow(/or -1 for none/);
  });

  test('Tensor methods take PyTorch\'s positional arguments too (against PyTorch: x.var(1, false) was the unbiased variance); keyword-only options stay objects', () => {
    const x = torch.tensor([[1, 2, 3], [4, 5, 9]], { dtype: 'float64' }), near = x.add(1e-3), q = torch.tensor([0.25, 0.5], { dtype: 'float64' });
    const nan = torch.tensor([NaN, Infinity, -Infinity, 1], { dtype: 'float64' }), ints = torch.tensor([1, 3, 3, 0]), w = torch.tensor([0.5, 1, 2, 4], { dtype: 'float64' });
    const want = pythonJson<unknown[]>(`import torch, json
x = torch.tensor([[1., 2, 3], [4, 5, 9]], dtype=torch.float64); near = x + 1e-3; q = torch.tensor([0.25, 0.5], dtype=torch.float64)
nan = torch.tensor([float('nan'), float('inf'), float('-inf'), 1], dtype=torch.float64); ints = torch.tensor([1, 3, 3, 0]); w = torch.tensor([0.5, 1, 2, 4], dtype=torch.float64)
L = lambda t: t.tolist()
out = [L(x.var(1, False)), L(x.var(False)), L(x.std(1, False, True)), L(x.std(0, True)), L(torch.var(x, 1, False)), [L(t) for t in torch.var_mean(x, 1, False, True)], [L(t) for t in torch.std_mean(x, 0, False)],
       L(x.isclose(near, 0.1, 0.1)), L(x.isclose(near, 0, 1e-4)), x.allclose(near, 0.1), x.allclose(near, 0, 1e-4), L(x.quantile(q, 1, True)), L(x.nanquantile(0.5, 0, True)),
       [L(t) for t in x.unique(True, True, True)], [L(t) for t in ints.unique_consecutive(True, True)], L(ints.bincount(w, 6)), L(x.diff(2, 0)), L(x.diff(1, 1, x[:, :1])), L(nan.nan_to_num(0, 7, -7)),
       L(x.slice_scatter(torch.zeros(2, 1, dtype=torch.float64), 1, 1, 2, 1))]
print(json.dumps(out))`);
    const L = (t: torch.Tensor) => t.tolist();
    const u = x.unique(true, true, true), uc = ints.uniqueConsecutive(true, true);
    const got = [L(x.var(1, false)), L(x.var(false)), L(x.std(1, false, true)), L(x.std(0, true)), L(torch.var(x, 1, false)), torch.varMean(x, 1, false, true).map(L), torch.stdMean(x, 0, false).map(L),
      L(x.isclose(near, 0.1, 0.1)), L(x.isclose(near, 0, 1e-4)), x.allclose(near, 0.1), x.allclose(near, 0, 1e-4), L(x.quantile(q, 1, true)), L(x.nanquantile(0.5, 0, true)),
      [L(u.values), L(u.inverse!), L(u.counts!)], [L(uc.values), L(uc.inverse!), L(uc.counts!)], L(ints.bincount(w, 6)), L(x.diff(2, 0)), L(x.diff(1, 1, x.narrow(1, 0, 1))), L(nan.nanToNum(0, 7, -7)),
      L(x.sliceScatter(torch.zeros([2, 1], { dtype: 'float64' }), 1, 1, 2, 1))];
    expect(got).toEqual(want);
    // the options forms give the same
    expect(L(x.var(1, { unbiased: false }))).toEqual(want[0]);
    expect(L(x.std(1, { correction: 0, keepdim: true }))).toEqual(want[2]);
    // what fits neither form is an error, never the defaults
    expect(() => x.var(1, { keep_dim: true } as object)).toThrow(/var: unknown option 'keep_dim' \(did you mean keepdim\?\)/);
    expect(() => x.var(1, { correction: 0, unbiased: true })).toThrow(/give correction or unbiased, not both/);
    expect(() => (x.var as (...a: unknown[]) => torch.Tensor)(false, 1)).toThrow(/with unbiased first \(over every element\) it takes nothing more/);
    expect(() => x.div(2, { rounding_mode: 'floor' } as object)).toThrow(/did you mean roundingMode\?/);
    expect(() => (x.addmm as (...a: unknown[]) => torch.Tensor)(x, x.t(), 2)).toThrow(/addmm: its options go in one object \{ beta, alpha \} \(PyTorch's keyword-only arguments\), not by position/);
    expect(() => (x.diff as (...a: unknown[]) => torch.Tensor)(1, 0, null, null, 5)).toThrow(/diff: 5 arguments after its required ones, but it takes at most 4 \(n, dim, prepend, append\)/);
  });

  test('shapes one size at a time (torch.zeros(2, 3), x.view(2, -1)), and torch\'s functions, windows and linalg with PyTorch\'s positional arguments, against PyTorch', () => {
    const y = torch.tensor([1, 2, 3], { dtype: 'float64' }), xs = torch.tensor([0, 1, 5], { dtype: 'float64' }), A = torch.tensor([[3, 1], [1, 2], [0, 1]], { dtype: 'float64' });
    const want = pythonJson<unknown[]>(`import torch, json
y = torch.tensor([1., 2, 3], dtype=torch.float64); xs = torch.tensor([0., 1, 5], dtype=torch.float64); A = torch.tensor([[3., 1], [1, 2], [0, 1]], dtype=torch.float64)
L = lambda t: t.tolist()
print(json.dumps([list(torch.zeros(2, 3).shape), str(torch.ones(2, 1, dtype=torch.float64).dtype).split('.')[1], list(torch.empty(4).shape),
  list(torch.arange(6).view(2, -1).shape), list(torch.arange(6).reshape(3, 2).shape), list(torch.zeros(2, 3, 4).permute(2, 0, 1).shape), list(torch.zeros(1, 3).expand(2, 3).shape),
  L(torch.arange(3).repeat(2, 1)), L(torch.arange(4).view(2, 2).flip(0, 1)), L(torch.arange(2).tile(2, 2)),
  L(torch.hann_window(8, False)), L(torch.hamming_window(6, True, 0.5, 0.5)), L(torch.kaiser_window(5, False, 4.0)), L(torch.blackman_window(5, False, dtype=torch.float64)),
  torch.trapezoid(y, xs).item(), L(torch.cumulative_trapezoid(y, xs, dim=0)), L(torch.isclose(y, y + 0.05, 0.01, 0.1)), [L(t) for t in torch.unique(torch.tensor([3, 1, 3]), True, True)],
  L(torch.diff(y, 1, 0, xs[:1])), list(torch.linalg.svd(A, False).U.shape), L(torch.linalg.lstsq(A, y, 1e-3).solution)]))`);
    const L = (t: torch.Tensor) => t.tolist();
    const u = torch.unique(torch.tensor([3, 1, 3]), true, true);
    const got = [torch.zeros(2, 3).shape, torch.ones(2, 1, { dtype: 'float64' }).dtype, torch.empty(4).shape,
      torch.arange(6).view(2, -1).shape, torch.arange(6).reshape(3, 2).shape, torch.zeros(2, 3, 4).permute(2, 0, 1).shape, torch.zeros(1, 3).expand(2, 3).shape,
      L(torch.arange(3).repeat(2, 1)), L(torch.arange(4).view(2, 2).flip(0, 1)), L(torch.arange(2).tile(2, 2)),
      L(torch.hannWindow(8, false)), L(torch.hammingWindow(6, true, 0.5, 0.5)), L(torch.kaiserWindow(5, false, 4)), L(torch.blackmanWindow(5, false, { dtype: 'float64' })),
      torch.trapezoid(y, xs).item(), L(torch.cumulativeTrapezoid(y, xs, { dim: 0 })), L(torch.isclose(y, y.add(0.05), 0.01, 0.1)), [L(u.values), L(u.inverse!)],
      L(torch.diff(y, 1, 0, xs.narrow(0, 0, 1))), torch.linalg.svd(A, false).U.shape, L(torch.linalg.lstsq(A, y.unsqueeze(1), 1e-3).solution.squeeze(1))];
    got.forEach((g, k) => {
      if (typeof g === 'number') expect(Math.abs(g - (want[k] as number))).toBeLessThan(1e-12);
      else if (k === 20) (g as number[]).forEach((v, j) => expect(Math.abs(v - (want[k] as number[])[j])).toBeLessThan(1e-10));
      else expect(g).toEqual(want[k]);
    });
    expect(() => torch.zeros(2, 'a' as unknown as number)).toThrow(/zeros: expected the shape as an array \(\[2, 3\]\) or as numbers \(2, 3\), then an options object/);
    expect(() => (torch.arange(6).view as (...a: unknown[]) => torch.Tensor)([2], 3)).toThrow(/view: give the sizes as one array \(\[2, 3\]\) or as numbers \(2, 3\), not both/);
    expect(() => torch.hannWindow(8, { periodc: false } as object)).toThrow(/hannWindow: unknown option 'periodc' \(did you mean periodic\?\)/);
    expect(() => torch.trapezoid(y, { x: xs, dx: 2 })).toThrow(/give x or dx, not both/);
    // (keyword-only in PyTorch: an object here, checked)
    const spd = torch.tensor([[2, 1], [1, 2]], { dtype: 'float64' });
    expect(L(torch.linalg.cholesky(spd, { upper: true }))).toEqual(L(torch.linalg.cholesky(spd).t()));
    expect(() => (torch.linalg.cholesky as (...a: unknown[]) => torch.Tensor)(spd, true)).toThrow(/linalg.cholesky: its options go in one object \{ upper \} \(PyTorch's keyword-only arguments\), not by position/);
    expect(() => torch.isin(y, xs, { assume_unique: true } as object)).toThrow(/isin: unknown option 'assume_unique' \(did you mean assumeUnique\?\)/);
    expect(() => torch.searchsorted(xs, y, { sid: 'right' } as object)).toThrow(/searchsorted: unknown option 'sid' \(did you mean side\?\)/);
    // stft / istft as audio code calls them: hop, win length, window by position
    const sig = torch.sin(torch.arange(64, { dtype: 'float64' }).mul(0.3)), win = torch.hannWindow(16, { dtype: 'float64' });
    const spec = torch.stft(sig, 16, 4, 16, win, true, 'reflect', false, true, true);
    const wantSpec = pythonJson<{ re: number[]; back: number[] }>(`import torch, json
sig = torch.sin(torch.arange(64, dtype=torch.float64) * 0.3); win = torch.hann_window(16, dtype=torch.float64)
S = torch.stft(sig, 16, 4, 16, win, True, 'reflect', False, True, True)
print(json.dumps({'re': torch.view_as_real(S).flatten().tolist(), 'back': torch.istft(S, 16, 4, 16, win, True, False, True, 64).tolist()}))`);
    const re = torch.viewAsReal(spec).flatten().tolist() as number[];
    expect(re.length).toBe(wantSpec.re.length);
    re.forEach((v, j) => expect(Math.abs(v - wantSpec.re[j])).toBeLessThan(1e-10));
    (spec.istft(16, 4, 16, win, true, false, true, 64).tolist() as number[]).forEach((v, j) => expect(Math.abs(v - wantSpec.back[j])).toBeLessThan(1e-10));
    expect(() => sig.newZeros([2], { dtpye: 'float64' } as object)).toThrow(/Tensor.newZeros: unknown option 'dtpye' \(did you mean dtype\?\)/);
  });

  test('to() takes PyTorch\'s forms (x.to(\'cpu\', float64), model.to(float64), x.to(other)); factories and to() refuse keys they do not know (requires_grad was quietly no gradient)', () => {
    const want = pythonJson<Record<string, unknown>>(`
import json, torch
x = torch.ones(3)
m = torch.nn.Linear(2, 2)
other = torch.zeros(1, dtype=torch.int32)
out = {
  'deviceDtype': str(x.to('cpu', torch.float64).dtype), 'dtypeCopy': str(x.to(torch.float16, False, True).dtype),
  'other': str(x.to(other).dtype), 'deviceKeyword': str(x.to('cpu', dtype=torch.bfloat16).dtype),
  'copyIsNew': x.to(torch.float32, copy=True).data_ptr() != x.data_ptr(), 'sameIsSelf': x.to('cpu').data_ptr() == x.data_ptr(),
}
m.to(torch.float64); out['module'] = str(m.weight.dtype)
m.to('cpu', torch.float16); out['moduleDevice'] = str(m.weight.dtype)
m.to(torch.zeros(1, dtype=torch.float32)); out['moduleOther'] = str(m.weight.dtype)
out['grad'] = torch.zeros(2, requires_grad=True).requires_grad
print(json.dumps(out))`);
    const py = (d: unknown) => `torch.${d}`;
    const x = torch.ones([3]);
    const m = new torch.nn.Linear(2, 2);
    const got: Record<string, unknown> = {
      deviceDtype: py(x.to('cpu', 'float64').dtype), dtypeCopy: py(x.to('float16', false, true).dtype),
      other: py(x.to(torch.zeros([1], { dtype: 'int32' })).dtype), deviceKeyword: py(x.to('cpu', { dtype: 'bfloat16' }).dtype),
      copyIsNew: x.to('float32', { copy: true }).dataPtr() !== x.dataPtr(), sameIsSelf: x.to('cpu').dataPtr() === x.dataPtr(),
    };
    m.to('float64');
    got.module = py(m.weight.dtype);
    m.to('cpu', 'float16');
    got.moduleDevice = py(m.weight.dtype);
    m.to(torch.zeros([1]));
    got.moduleOther = py(m.weight.dtype);
    got.grad = torch.zeros([2], { requiresGrad: true }).requiresGrad;
    expect(got).toEqual(want);

    const loose = torch as unknown as Record<string, (...a: unknown[]) => torch.Tensor>;
    expect(() => loose.zeros([2], { requires_grad: true })).toThrow(/zeros: unknown option 'requires_grad' \(did you mean requiresGrad\?\)/);
    expect(() => loose.randn(2, 3, { dtyp: 'float64' })).toThrow(/randn: unknown option 'dtyp' \(did you mean dtype\?\)/);
    expect(() => loose.tensor([1, 2], { pin_memory: true })).toThrow(/tensor: unknown option 'pin_memory'/);
    expect(() => loose.arange(0, 4, 1, { dtype: 'int32', layout: 'strided' })).toThrow(/arange: unknown option 'layout'/);
    expect(() => loose.full([2], 1, { requires_grad: true })).toThrow(/full: unknown option 'requires_grad'/);
    expect(() => x.to({ dtyp: 'float64' } as object)).toThrow(/Tensor.to: unknown option 'dtyp' \(did you mean dtype\?\)/);
    expect(() => x.to('cuda:x')).toThrow(/Tensor.to: 'cuda:x' is neither a device \('cpu', 'cuda', 'cuda:1'\) nor a dtype/);
    expect(() => x.to('cpu', 'float64', false, false, true as never)).toThrow(/Tensor.to: 4 arguments after its required ones, but it takes at most 3 \(dtype, nonBlocking, copy\)/);
    expect(() => m.to({ dtype: 'float32', copy: true })).toThrow(/Module.to: copy is not an option for a module/);
  });

  test('reductions, sorts, softmax, clamp, flatten, ... take Python\'s keywords as an options object (x.sum({ dim: 0 }), x.max(1, { keepdim: true })), against PyTorch', () => {
    const data = [[0.5, -1.25, 2, 3.5], [1, 4, -0.75, 0.25], [2.5, 0, 1.5, -2]];
    // [PyTorch's call on x, ours]
    const calls: [string, (x: torch.Tensor) => torch.Tensor][] = [
      ['x.sum(dim=0)', (x) => x.sum({ dim: 0 })], ['x.sum(1, keepdim=True)', (x) => x.sum(1, { keepdim: true })], ['x.mean(dim=[0, 1], keepdim=True)', (x) => x.mean({ dim: [0, 1], keepdim: true })],
      ['x.max(dim=1).values', (x) => x.max({ dim: 1 }).values], ['x.max(0, keepdim=True).indices', (x) => x.max(0, { keepdim: true }).indices], ['x.min(dim=0).values', (x) => x.min({ dim: 0 }).values],
      ['x.argmax(dim=1)', (x) => x.argmax({ dim: 1 })], ['x.argmin(dim=0, keepdim=True)', (x) => x.argmin({ dim: 0, keepdim: true })], ['x.prod(dim=1)', (x) => x.prod({ dim: 1 })],
      ['x.norm(p=1, dim=1)', (x) => x.norm({ p: 1, dim: 1 })], ['x.norm(2, dim=0, keepdim=True)', (x) => x.norm(2, { dim: 0, keepdim: true })], ['x.logsumexp(dim=1)', (x) => x.logsumexp({ dim: 1 })],
      ['x.gt(0).all(dim=1)', (x) => x.gt(0).all({ dim: 1 })], ['x.gt(0).any(dim=0, keepdim=True)', (x) => x.gt(0).any({ dim: 0, keepdim: true })], ['x.amax(dim=1)', (x) => x.amax({ dim: 1 })],
      ['x.amin(dim=(0, 1))', (x) => x.amin({ dim: [0, 1] })], ['x.nansum(dim=0)', (x) => x.nansum({ dim: 0 })], ['x.median(dim=1).values', (x) => x.median({ dim: 1 }).values],
      ['x.kthvalue(2, dim=0).values', (x) => x.kthvalue(2, { dim: 0 }).values], ['x.count_nonzero(dim=0)', (x) => x.countNonzero({ dim: 0 })], ['x.cumsum(dim=1)', (x) => x.cumsum({ dim: 1 })],
      ['x.cummax(dim=0).values', (x) => x.cummax({ dim: 0 }).values], ['x.std(dim=1, correction=0)', (x) => x.std({ dim: 1, correction: 0 })], ['x.var(dim=0, unbiased=False, keepdim=True)', (x) => x.var({ dim: 0, unbiased: false, keepdim: true })],
      ['x.std(1, keepdim=True)', (x) => x.std(1, { keepdim: true })], ['x.sort(descending=True).values', (x) => x.sort({ descending: true }).values], ['x.sort(0, descending=True).indices', (x) => x.sort(0, { descending: true }).indices],
      ['x.argsort(dim=0)', (x) => x.argsort({ dim: 0 })], ['x.topk(2, dim=0).values', (x) => x.topk(2, { dim: 0 }).values], ['x.topk(2, largest=False).indices', (x) => x.topk(2, { largest: false }).indices],
      ['x.softmax(dim=1)', (x) => x.softmax({ dim: 1 })], ['torch.nn.functional.softmax(x, dim=0)', (x) => torch.nn.functional.softmax(x, { dim: 0 })],
      ['torch.nn.functional.log_softmax(x, dim=-1, dtype=torch.float64)', (x) => torch.nn.functional.logSoftmax(x, -1, { dtype: 'float64' })], ['x.clamp(min=0)', (x) => x.clamp({ min: 0 })],
      ['x.clamp(max=1)', (x) => x.clamp({ max: 1 })], ['x.clamp(-1, max=1)', (x) => x.clamp(-1, { max: 1 })], ['x[None].flatten(start_dim=1)', (x) => x.unsqueeze(0).flatten({ startDim: 1 })],
      ['x.transpose(dim0=0, dim1=1)', (x) => x.transpose({ dim0: 0, dim1: 1 })], ['x.unsqueeze(dim=1)', (x) => x.unsqueeze({ dim: 1 })], ['x[None].squeeze(dim=0)', (x) => x.unsqueeze(0).squeeze({ dim: 0 })],
      ['torch.sum(x, dim=1)', (x) => torch.sum(x, { dim: 1 })], ['torch.max(x, dim=1).values', (x) => torch.max(x, { dim: 1 }).values], ['torch.sort(x, descending=True).values', (x) => torch.sort(x, { descending: true }).values],
      ['torch.clamp(x, min=0.5)', (x) => torch.clamp(x, { min: 0.5 })], ['torch.topk(x, 1, dim=0).values', (x) => torch.topk(x, 1, { dim: 0 }).values], ['torch.cumsum(x, dim=0)', (x) => torch.cumsum(x, { dim: 0 })],
      ['x.nanmedian(dim=0).values', (x) => x.nanmedian({ dim: 0 }).values], ['x.round().mode(dim=1, keepdim=True).values', (x) => x.round().mode({ dim: 1, keepdim: true }).values],
    ];
    const want = pythonJson<{ v: number[]; shape: number[] }[]>(`import torch, json, sys
x = torch.tensor(${JSON.stringify(data)}, dtype=torch.float32)
print(json.dumps([{'v': (lambda t: t.double().flatten().tolist())(eval(c)), 'shape': list(eval(c).shape)} for c in json.loads(sys.argv[1])]))`, JSON.stringify(calls.map(([py]) => py)));
    torch.tidy(() => {
      const x = torch.tensor(data, { dtype: 'float32' });
      calls.forEach(([py, ours], k) => {
        const t = ours(x);
        const v = t.to('float64').flatten().tolist() as number[];
        expect([py, t.shape]).toEqual([py, want[k].shape]);
        v.forEach((a, j) => expect([py, j, Math.abs(a - want[k].v[j]) <= 1e-6 * Math.max(1, Math.abs(a))]).toEqual([py, j, true]));
      });
      expect(torch.nn.functional.logSoftmax(x, -1, { dtype: 'float64' }).dtype).toBe('float64');
      // a misspelt keyword, or a keyword given twice, is an error, never the default
      const loose = x as unknown as Record<string, (...a: unknown[]) => unknown>;
      expect(() => loose.sum.call(x, { dims: 0 })).toThrow(/Tensor.sum: unknown option 'dims' \(did you mean dim\?\)/);
      expect(() => loose.max.call(x, 1, { keep_dim: true })).toThrow(/Tensor.max: unknown option 'keep_dim'/);
      expect(() => loose.sort.call(x, 0, { dim: 1 })).toThrow(/Tensor.sort: dim is given twice/);
      expect(() => loose.clamp.call(x, { min: 0 }, 1)).toThrow(/Tensor.clamp: an options object goes last/);
      expect(() => loose.softmax.call(x)).toThrow(/Tensor.softmax: give dim/);
      expect(() => loose.cumsum.call(x, { dims: 1 })).toThrow(/Tensor.cumsum: unknown option 'dims'/);
    });
  });

  test('a size, dim or index that is not a whole number is an error, as PyTorch\'s TypeError (x.view(2.5, -1) was x.view(2, -1))', () => {
    // PyTorch refuses each of these calls
    const refused = pythonJson<boolean[]>(`import torch, json
x = torch.randn(4, 6)
def refuses(f):
    try:
        f()
        return False
    except TypeError:
        return True
print(json.dumps([refuses(lambda: x.view(2.5, -1)), refuses(lambda: x.sum(1.5)), refuses(lambda: torch.zeros(2.5)), refuses(lambda: x.narrow(0, 0, 1.5)), refuses(lambda: x.select(0, float('nan')))]))`);
    expect(refused).toEqual([true, true, true, true, true]);
    torch.tidy(() => {
      const x = torch.randn([4, 6]);
      expect(() => x.view([2.5, -1])).toThrow('tstorch: a size, dim or index in a list must be a whole number, got 2.5');
      expect(() => x.sum(1.5)).toThrow('tstorch: a size, dim or index in a list must be a whole number, got 1.5');
      expect(() => torch.zeros([2.5])).toThrow('tstorch: a size, dim or index in a list must be a whole number, got 2.5');
      expect(() => x.narrow(0, 0, 1.5)).toThrow('tstorch: an integer argument must be a whole number, got 1.5');
      expect(() => x.select(0, NaN)).toThrow('tstorch: an integer argument must be a whole number, got nan');
      // what is no number at all says what it got (it was node-addon-api's bare 'A number was expected')
      expect(() => x.narrow('0' as unknown as number, 0, 1)).toThrow('tstorch: an integer argument must be a number, got a string "0"');
      expect(() => x.diagonal({ offset: 1 } as unknown as number)).toThrow('tstorch: an integer argument must be a number, got an object (an options object where a number goes?)');
      expect(() => x.view([2, null as unknown as number])).toThrow('tstorch: a size, dim or index in a list must be a number, got null');
      expect(() => x.logit('0.1' as unknown as number)).toThrow('Tensor.logit: eps must be a number, got string');
      expect(x.view([2, -1]).shape).toEqual([2, 12]); // (whole numbers as always)
      expect(torch.zeros([2 ** 40 / 2 ** 38]).shape).toEqual([4]);
    });
  });
});

test('torch.* functions of a tensor say so when given something else (PyTorch: "argument \'input\' must be Tensor"), not "Cannot read properties of undefined"', () => {
  const cases: [() => unknown, string][] = [
    [() => torch.mm(5 as never, torch.ones([2, 2])), 'torch.mm: the first argument must be a Tensor, got number 5'],
    [() => (torch.clamp as (...a: unknown[]) => unknown)(), 'torch.clamp: the first argument must be a Tensor, got undefined'],
    [() => torch.topk('x' as never, 1), 'torch.topk: the first argument must be a Tensor, got string "x"'],
    [() => torch.zerosLike(null as never), 'torch.zerosLike: the first argument must be a Tensor, got null'],
    [() => torch.fullLike([1, 2] as never, 3), 'torch.fullLike: the first argument must be a Tensor, got an array (make it a tensor with torch.tensor)'],
    [() => torch.special.erf({} as never), 'torch.special.erf: the first argument must be a Tensor, got an object (Object)'],
    [() => torch.linalg.matmul(undefined as never, torch.ones([2])), 'torch.linalg.matmul: the first argument must be a Tensor, got undefined'],
    [() => torch.real(2 as never), 'torch.real: the first argument must be a Tensor, got number 2'],
    [() => torch.vstack('sum' as never), 'torch.vstack: expected an array of tensors, got string'],
    [() => torch.noGrad(5 as never), 'torch.noGrad: give the function to run, torch.noGrad(() => ...), got number'],
    [() => (torch.inferenceMode as (...a: unknown[]) => unknown)(), 'torch.inferenceMode: give the function to run, torch.inferenceMode(() => ...), got undefined'],
    // (a required argument left out, or an options object in its place: said, not "reading 'shape'" or "k.size is not a function")
    [() => (torch.histogramdd as (...a: unknown[]) => unknown)(torch.ones([3, 2])), 'histogramdd: takes 2 arguments before its options, got 1'],
    [() => (torch.nn.functional.gaussianNllLoss as (...a: unknown[]) => unknown)(torch.ones([3])), 'gaussianNllLoss: takes 3 arguments before its options, got 1'],
    [() => (torch.nn.functional.scaledDotProductAttention as (...a: unknown[]) => unknown)(torch.ones([1, 2, 2]), { isCausal: true }), 'scaledDotProductAttention: takes 3 arguments before its options, got 1, then an options object'],
    [() => (torch.linalg.solveTriangular as (...a: unknown[]) => unknown)(torch.eye(2), { upper: true }), 'linalg.solveTriangular: takes 2 arguments before its options, got 1, then an options object'],
  ];
  for (const [call, message] of cases) expect(call).toThrow(message);
  // and with tensors, what the methods give
  torch.tidy(() => {
    const a = torch.tensor([[1, 2], [3, 4]]);
    expect([torch.mm(a, a).tolist(), torch.clamp(a, 2, 3).tolist(), torch.special.erf(torch.zeros([1])).tolist(), torch.onesLike(a).tolist()]).toEqual([[[7, 10], [15, 22]], [[2, 2], [3, 3]], [0], [[1, 1], [1, 1]]]);
  });
});

test('a typed array or a Map where a dim or a flag goes is an error (was endless recursion: sum(Float32Array)); a flag takes true / false (or 0 / 1), not an object', () => {
  torch.tidy(() => {
    const t = torch.ones([2, 3]);
    expect(() => t.sum(new Float32Array(3) as never)).toThrow(/expected a list of sizes or dims/);
    expect(() => t.prod(new Map() as never)).toThrow(/must be a number, got an object/);
    expect(() => t.sum(0, new Float32Array(3) as never)).toThrow('tstorch: argument 2 must be true or false, got an object');
    expect(() => t.sum(0, 'yes' as never)).toThrow('tstorch: argument 2 must be true or false, got a string "yes"');
    expect(() => t.std(0, true, [1] as never)).toThrow('tstorch: argument 3 must be true or false, got an array');
    expect([t.sum(0, 1 as never).shape, t.sum(0, 0 as never).shape, t.sum(0, true).shape, t.sum({ dim: 1, keepdim: true }).shape]).toEqual([[1, 3], [3], [1, 3], [2, 1]]);
  });
});

test('map_ frees the broadcast view of its other tensor (one handle leaked per call); methods taking another tensor say when given something else', () => {
  const a = torch.ones([3]), b = torch.tensor([1, 2, 3]);
  const live = torch.memory().liveTensors;
  for (let i = 0; i < 10; i++) a.map_(b, (x, y) => x + y);
  expect(torch.memory().liveTensors).toBe(live);
  expect(a.tolist()).toEqual([11, 21, 31]);
  const cases: [() => unknown, string][] = [
    [() => a.map_(5 as never, (x) => x), 'Tensor.map_: the first argument must be a Tensor, got number 5'],
    [() => a.map_(b, 3 as never), 'map_: give the function to apply, got number 3'],
    [() => a.reshapeAs(null as never), 'Tensor.reshapeAs: the first argument must be a Tensor, got null'],
    [() => a.expandAs([3] as never), 'Tensor.expandAs: the first argument must be a Tensor, got an array (make it a tensor with torch.tensor)'],
    [() => a.isSameSize({} as never), 'Tensor.isSameSize: the first argument must be a Tensor, got an object (Object)'],
    [() => a.indexPut({} as never, b), 'Tensor.indexPut: indices must be an array of index tensors (one per dim), got an object (Object)'],
    [() => a.takeAlongDim([1] as never), 'Tensor.takeAlongDim: the first argument must be a Tensor, got an array (make it a tensor with torch.tensor)'],
  ];
  for (const [call, message] of cases) expect(call).toThrow(message);
  a.dispose();
  b.dispose();
});
