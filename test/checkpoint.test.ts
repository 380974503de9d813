// torch.utils.checkpoint, torch.autograd.backward and autocast regions: a checkpointed
// computation gives what the same computation gives straight through libtorch's autograd
// (outputs, gradients of inputs and parameters, dropout masks, the generator afterwards).
import * as torch from '../lib';

type T = torch.Tensor;
const { checkpoint } = torch.utils.checkpoint;

const maxDiff = (a: T, b: T) => torch.tidy(() => a.sub(b).abs().max().item() as number);

function mlp(): torch.nn.Sequential {
  torch.manualSeed(5);
  return new torch.nn.Sequential(new torch.nn.Linear(6, 16), new torch.nn.GELU(), new torch.nn.Dropout(0.3), new torch.nn.Linear(16, 6));
}

test('a module under checkpoint: outputs, input and parameter gradients, dropout masks and the generator as without', () => {
  for (const inputNeedsGrad of [true, false]) {
    const run = (ckpt: boolean) => {
      const net = mlp();
      torch.manualSeed(9);
      const x = torch.randn([4, 6]).requiresGrad_(inputNeedsGrad);
      const y = ckpt ? checkpoint(net, x) : (net.forward(x) as T);
      const z = (ckpt ? checkpoint(net, y) : (net.forward(y) as T)).tanh(); // twice: the generator moved on between them
      z.mul(torch.linspace(-1, 1, 24).reshape([4, 6])).sum().backward();
      const next = torch.rand([2]).tolist();
      return { net, z: z.detach(), gx: x.grad, next, grads: net.parameters().map((p) => p.grad!) };
    };
    torch.tidy(() => {
      const plain = run(false), ckpt = run(true);
      expect(maxDiff(ckpt.z, plain.z)).toBe(0);
      expect(ckpt.next).toEqual(plain.next);
      if (inputNeedsGrad) expect(maxDiff(ckpt.gx!, plain.gx!)).toBeLessThan(1e-6);
      else expect(ckpt.gx).toBeNull();
      // Parameters get their gradients even when the input needs none (they are the checkpoint's inputs).
      ckpt.grads.forEach((g, k) => expect(maxDiff(g, plain.grads[k])).toBeLessThan(1e-6));
      plain.net.dispose();
      ckpt.net.dispose();
    });
  }
});

test('a function under checkpoint (reentrant): what it uses gets gradients when an input needs one; several outputs', () => {
  torch.manualSeed(2);
  const w = torch.keep(torch.randn([5, 5], { dtype: 'float64', requiresGrad: true }));
  const f = (x: T, scale: number) => {
    const h = x.matmul(w).tanh().mul(scale);
    return [h, h.pow(2).sum(1)];
  };
  torch.tidy(() => {
    const x = torch.randn([3, 5], { dtype: 'float64', requiresGrad: true });
    const [h1, s1] = checkpoint(f, x, 0.5);
    torch.autograd.backward([h1.sum(), s1], { gradTensors: [null, torch.tensor([1, 2, 3], { dtype: 'float64' })] });
    const gx = x.grad!.clone(), gw = w.grad!.clone();
    x.grad = null;
    w.grad = null;
    const [h2, s2] = f(x, 0.5);
    h2.sum().add(s2.mul(torch.tensor([1, 2, 3], { dtype: 'float64' })).sum()).backward();
    expect(maxDiff(gx, x.grad!)).toBeLessThan(1e-12);
    expect(maxDiff(gw, w.grad!)).toBeLessThan(1e-12);
  });
  expect(() => checkpoint(42 as never, torch.ones([1]))).toThrow(/fn must be a function or a module/);
  expect(() => torch.tidy(() => checkpoint(() => 3 as never, torch.ones([1]).requiresGrad_()))).toThrow(/must return a Tensor or an array of tensors/);
  w.dispose();
});

test('checkpoint recomputes under the autocast of its forward; autocast enabled: false is a full-precision region', () => {
  const a = torch.keep(torch.randn([4, 4]).requiresGrad_()), b = torch.keep(torch.randn([4, 4]));
  torch.tidy(() => {
    const cpuBf16 = { deviceType: 'cpu' as const, dtype: 'bfloat16' as const };
    torch.autocast(() => {
      expect(a.matmul(b).dtype).toBe('bfloat16');
      expect(torch.autocastState('cpu')).toEqual({ enabled: true, dtype: 'bfloat16' });
      torch.autocast(() => {
        expect(a.matmul(b).dtype).toBe('float32');
        expect(torch.autocastState('cpu').enabled).toBe(false);
      }, { deviceType: 'cpu', enabled: false });
      expect(a.matmul(b).dtype).toBe('bfloat16');
    }, cpuBf16);
    expect(torch.autocastState('cpu').enabled).toBe(false);

    const g = (ckpt: boolean) => {
      a.grad = null;
      const y = torch.autocast(() => (ckpt ? checkpoint((x: T) => x.matmul(b).relu(), a) : a.matmul(b).relu()), cpuBf16);
      y.float().sum().backward(); // backward outside autocast, as a training loop does
      return a.grad!.clone();
    };
    expect(maxDiff(g(true), g(false))).toBe(0);
  });
  a.dispose();
  b.dispose();
});

test('torch.autograd.backward: several outputs in one pass, weighted; inputs limits which .grad fills', () => {
  torch.tidy(() => {
    const x = torch.tensor([1, 2, 3], { dtype: 'float64', requiresGrad: true });
    const y = torch.tensor([0.5, -1], { dtype: 'float64', requiresGrad: true });
    const u = x.pow(2), v = y.mul(x.sum());
    torch.autograd.backward([u, v], { gradTensors: [torch.tensor([1, 1, 2], { dtype: 'float64' }), torch.tensor([3, 4], { dtype: 'float64' })], retainGraph: true });
    // d/dx: 2x * [1, 1, 2] + sum(y * [3, 4]) = [2, 4, 12] + (-2.5); d/dy: sum(x) * [3, 4]
    expect(x.grad!.tolist()).toEqual([-0.5, 1.5, 9.5]);
    expect(y.grad!.tolist()).toEqual([18, 24]);
    x.grad = null;
    y.grad = null;
    torch.autograd.backward(v.sum(), { inputs: [y] });
    expect(x.grad).toBeNull();
    expect(y.grad!.tolist()).toEqual([6, 6]);
    expect(() => torch.autograd.backward([u, v], { gradTensors: [null] })).toThrow(/1 gradTensors for 2 outputs/);
  });
});

test('checkpointSequential: the loss and every gradient of the plain run, with all but the last chunk recomputed', () => {
  torch.manualSeed(5);
  const layers = [new torch.nn.Linear(6, 8), new torch.nn.Tanh(), new torch.nn.Linear(8, 8), new torch.nn.GELU(), new torch.nn.Linear(8, 4), new torch.nn.Tanh(), new torch.nn.Linear(4, 2)];
  const net = new torch.nn.Sequential(...layers);
  const x = torch.randn([5, 6]); // (needs no gradient: the parameters get theirs anyway)
  const grads = (f: () => torch.Tensor) => torch.tidy(() => {
    net.zeroGrad();
    const loss = f().pow(2).mean();
    loss.backward();
    return [loss.item() as number, ...net.parameters().map((p) => p.grad!.flatten().tolist() as number[])];
  });
  const plain = grads(() => net.forward(x));
  for (const segments of [1, 2, 3, 7]) {
    const ck = grads(() => torch.utils.checkpoint.checkpointSequential(net, segments, x));
    expect([segments, ck]).toEqual([segments, plain]);
  }
  expect(() => torch.utils.checkpoint.checkpointSequential(layers, 0, x)).toThrow(/segments must be a positive integer/);
  net.dispose();
  x.dispose();
});
