// Custom autograd Functions, tensor hooks and module hooks, written in TypeScript as
// scripts/reference/autograd_fn_ref.py writes them in PyTorch (float64): outputs, recorded
// gradients and input gradients within 1e-12 of PyTorch's; plus PyTorch's errors and flat memory.
import * as torch from '../lib';
import { referenceTensors } from './helpers';
import { native } from '../lib/tensor/native';
import { _callbackSlots } from '../lib/tensor/function';

type T = torch.Tensor;
const { Function } = torch.autograd;
type Ctx = torch.autograd.FunctionCtx;

class Exp extends Function {
  static forward(ctx: Ctx, x: T) {
    const y = x.exp();
    ctx.saveForBackward(y);
    return y;
  }
  static backward(ctx: Ctx, gy: T) {
    return gy.mul(ctx.savedTensors[0]!);
  }
}
class Legendre3 extends Function {
  static forward(ctx: Ctx, x: T) {
    ctx.saveForBackward(x);
    return x.pow(3).mul(5).sub(x.mul(3)).mul(0.5);
  }
  static backward(ctx: Ctx, g: T) {
    const [x] = ctx.savedTensors as T[];
    return g.mul(1.5).mul(x.pow(2).mul(5).sub(1));
  }
}
class ScaledProductAndSum extends Function {
  static forward(ctx: Ctx, x: T, y: T, scale: number) {
    ctx.saveForBackward(x, y);
    ctx.scale = scale;
    return [x.mul(y).mul(scale), x.add(y)];
  }
  static backward(ctx: Ctx, gProd: T, gSum: T) {
    const [x, y] = ctx.savedTensors as T[];
    const s = ctx.scale as number;
    return [gProd.mul(y).mul(s).add(gSum), gProd.mul(x).mul(s).add(gSum), null];
  }
}
class SortWithIndices extends Function {
  static forward(ctx: Ctx, x: T) {
    const { values, indices } = x.sort();
    ctx.markNonDifferentiable(indices);
    ctx.saveForBackward(indices);
    return [values, indices];
  }
  static backward(ctx: Ctx, gValues: T) {
    return torch.zerosLike(gValues).scatter(0, ctx.savedTensors[0]!, gValues);
  }
}
class DoubleInPlace extends Function {
  static forward(ctx: Ctx, x: T) {
    x.mul_(2);
    ctx.markDirty(x);
    return x;
  }
  static backward(_ctx: Ctx, g: T) {
    return g.mul(2);
  }
}
const nullSeen: boolean[] = [];
class TwoOutputsNoMaterialize extends Function {
  static forward(ctx: Ctx, x: T) {
    ctx.setMaterializeGrads(false);
    return [x.mul(2), x.mul(3)];
  }
  static backward(_ctx: Ctx, g2: T, g3: T | null) {
    nullSeen.push(g3 === null);
    return g3 ? g2.mul(2).add(g3.mul(3)) : g2.mul(2);
  }
}
class Cube extends Function {
  static forward(ctx: Ctx, x: T) {
    ctx.saveForBackward(x);
    return x.pow(3);
  }
  static backward(ctx: Ctx, g: T) {
    const x = ctx.savedTensors[0]!;
    return g.mul(3).mul(x).mul(x);
  }
}

let want: Map<string, T>;
const inputs = new Map<string, T>();
beforeAll(() => {
  torch.manualSeed(3);
  const f64 = { dtype: 'float64' as const };
  const add = (k: string, t: T) => inputs.set(k, torch.keep(t));
  add('x', torch.randn([5], f64));
  add('y', torch.randn([5], f64));
  add('a', torch.tensor(0.3, f64));
  add('b', torch.tensor(-0.7, f64));
  add('v', torch.randn([6], f64));
  add('mx', torch.randn([4, 3], f64));
  add('net.0.weight', torch.randn([4, 3], f64));
  add('net.0.bias', torch.randn([4], f64));
  add('net.2.weight', torch.randn([2, 4], f64));
  add('net.2.bias', torch.randn([2], f64));
  want = referenceTensors('autograd_fn_ref.py', inputs);
}, 60_000);

const leaf = (name: string) => torch.keep(inputs.get(name)!.clone().requiresGrad_(true));
// sum_k sum(out_k * w_k) with the reference's weights (weighted.py); checks the outputs too.
function weightedLoss(name: string, outs: T[]): T {
  let loss: T | null = null;
  outs.forEach((y, k) => {
    close(y, want.get(`${name}.out${k}`)!, `${name}.out${k}`);
    const term = y.mul(want.get(`${name}.w${k}`)!).sum();
    loss = loss ? loss.add(term) : term;
  });
  return loss!;
}
function close(a: T, b: T, what: string): void {
  expect([what, a.shape]).toEqual([what, b.shape]);
  const e = torch.tidy(() => (a.sub(b).abs().max().item() as number) / Math.max(b.abs().max().item() as number, 1e-12));
  if (!(e < 1e-12)) throw new Error(`${what}: off by ${e}`);
}

// Both ways the engine can reach JS: directly on the calling thread (a CPU backward), and from
// another thread through the JS thread's serving loop (what CUDA's device threads do).
describe.each([['the calling thread', false], ['a helper thread, as with CUDA', true]])('backward on %s', (_, helper) => {
  let previousMode = false;
  beforeAll(() => { previousMode = native.setAutogradHelperThread(helper); });
  afterAll(() => { native.setAutogradHelperThread(previousMode); });

  describe('torch.autograd.Function as PyTorch\'s', () => {
    test('saved output (Exp) and saved input inside a larger graph (Legendre3)', () => {
      torch.tidy(() => {
        const x = leaf('x');
        const y = Exp.apply(x);
        expect(String(y)).toMatch(/grad_fn=<ExpBackward>\)$/);
        weightedLoss('exp', [y]).backward();
        close(x.grad!, want.get('exp.g.x')!, 'exp.g.x');
        const a = leaf('a'), b = leaf('b');
        weightedLoss('legendre', [Legendre3.apply(a.add(b.mul(inputs.get('x')!)))]).backward();
        close(a.grad!, want.get('legendre.g.a')!, 'legendre.g.a');
        close(b.grad!, want.get('legendre.g.b')!, 'legendre.g.b');
      });
    });

    test('two tensor inputs and a number, two outputs; a non-differentiable output', () => {
      torch.tidy(() => {
        const x = leaf('x'), y = leaf('y');
        expect(ScaledProductAndSum.apply(x, torch.tensor([1, 2, 3, 4, 5], { dtype: 'float64' }), 2.5)[0].requiresGrad).toBe(true);
        weightedLoss('two', ScaledProductAndSum.apply(x, y, 2.5)).backward();
        close(x.grad!, want.get('two.g.x')!, 'two.g.x');
        close(y.grad!, want.get('two.g.y')!, 'two.g.y');

        const v = leaf('v');
        const [values, indices] = SortWithIndices.apply(v.mul(1));
        expect(indices.requiresGrad).toBe(false);
        expect(indices.equal(want.get('sort.indices')!)).toBe(true);
        weightedLoss('sort', [values]).backward();
        close(v.grad!, want.get('sort.g.v')!, 'sort.g.v');
      });
    });

    test('an input modified in place (markDirty), grads not materialized, double backward', () => {
      torch.tidy(() => {
        const x = leaf('x');
        const h = x.mul(1);
        const out = DoubleInPlace.apply(h);
        expect(h.equal(out)).toBe(true); // h itself was doubled, as in PyTorch
        weightedLoss('dirty', [out.tanh()]).backward();
        close(x.grad!, want.get('dirty.g.x')!, 'dirty.g.x');
        // A leaf that requires grad cannot be modified in place, as in PyTorch.
        expect(() => DoubleInPlace.apply(leaf('x'))).toThrow(/leaf Variable that requires grad/);

        const x2 = leaf('x');
        nullSeen.length = 0;
        const [p2] = TwoOutputsNoMaterialize.apply(x2);
        weightedLoss('nomat', [p2]).backward();
        close(x2.grad!, want.get('nomat.g.x')!, 'nomat.g.x');
        expect(nullSeen).toEqual([want.get('nomat.g3_was_none')!.item()]);

        const x3 = leaf('x');
        const [g] = torch.autograd.grad(Cube.apply(x3).sum(), x3, { createGraph: true }) as T[];
        close(g, want.get('cube.g')!, 'cube.g');
        g.mul(inputs.get('y')!).sum().backward();
        close(x3.grad!, want.get('cube.gg.x')!, 'cube.gg.x');
      });
    });

    test('errors as PyTorch\'s: wrong count or shape of gradients, a modified saved tensor, backward twice, a throwing backward', () => {
      class WrongCount extends Function {
        static forward(_ctx: Ctx, x: T, y: T) {
          return x.add(y);
        }
        static backward(_ctx: Ctx, g: T) {
          return g;
        }
      }
      class WrongShape extends Function {
        static forward(_ctx: Ctx, x: T) {
          return x.mul(2);
        }
        static backward() {
          return torch.ones([7], { dtype: 'float64' });
        }
      }
      class Throws extends Function {
        static forward(_ctx: Ctx, x: T) {
          return x.mul(2);
        }
        static backward(): T {
          throw new RangeError('my backward failed');
        }
      }
      class NotTensor extends Function {
        static forward() {
          return 3 as unknown as T;
        }
      }
      torch.tidy(() => {
        const x = leaf('x'), y = leaf('y');
        expect(() => WrongCount.apply(x, y).sum().backward()).toThrow('function WrongCountBackward returned an incorrect number of gradients (expected 2, got 1)');
        expect(() => WrongShape.apply(x).sum().backward()).toThrow('function WrongShapeBackward returned an invalid gradient at index 0 - got [7] but expected shape compatible with [5]');
        let thrown: unknown;
        try {
          Throws.apply(x).sum().backward();
        } catch (e) {
          thrown = e;
        }
        expect(thrown).toBeInstanceOf(RangeError); // the very error the backward threw
        expect((thrown as Error).message).toBe('my backward failed');
        expect(() => NotTensor.apply()).toThrow(/NotTensor.forward must return a Tensor or an array of tensors/);
        const e = Exp.apply(x);
        e.add_(1);
        expect(() => e.sum().backward()).toThrow(/modified by an inplace operation: .*which is output 0 of ExpBackward/);
        const l = Exp.apply(x).sum();
        l.backward();
        expect(() => l.backward()).toThrow(/Trying to backward through the graph a second time/);
        expect(() => (Function as unknown as typeof Exp).apply(x)).toThrow(/must define static forward/);
      });
    });

    test('a backward that runs autograd itself (torch.utils.checkpoint, reentrant and with parameters) gives the plain gradients', () => {
      torch.manualSeed(1);
      const lin = new torch.nn.Linear(5, 5).double();
      const w = torch.keep(torch.randn([5, 5], { dtype: 'float64', requiresGrad: true }));
      const x = torch.keep(torch.randn([3, 5], { dtype: 'float64', requiresGrad: true }));
      const f = (h: T) => h.matmul(w).tanh();
      const grads = (ckpt: boolean) => torch.tidy(() => {
        for (const t of [x, w, lin.weight]) t.grad = null;
        const h = ckpt ? torch.utils.checkpoint.checkpoint(lin, x) : (lin.forward(x) as T);
        (ckpt ? torch.utils.checkpoint.checkpoint(f, h) : f(h)).pow(2).sum().backward();
        return [x, w, lin.weight].map((t) => torch.keep(t.grad!.clone()));
      });
      const plain = grads(false), ckpt = grads(true);
      plain.forEach((g, k) => expect(torch.tidy(() => g.sub(ckpt[k]).abs().max().item() as number)).toBeLessThan(1e-12));
      for (const t of [...plain, ...ckpt, w, x]) t.dispose();
      lin.dispose();
    });

    test('handles cross in a shared buffer, and as arrays past its size; a gradient given twice, kept or made outside the backward stays right', () => {
      // 300 inputs, outputs and saved tensors (past the 256-entry exchange buffer both ways),
      // against the same graph built from built-in ops.
      class DoubleEach extends Function {
        static forward(ctx: Ctx, ...xs: T[]) {
          ctx.saveForBackward(...xs);
          return xs.map((x) => x.mul(2));
        }
        static backward(ctx: Ctx, ...gs: T[]) {
          expect(ctx.savedTensors.length).toBe(gs.length);
          return gs.map((g) => g.mul(2));
        }
      }
      torch.tidy(() => {
        const base = inputs.get('x')!;
        const xs = Array.from({ length: 300 }, (_, k) => base.mul(k + 1).requiresGrad_(true));
        const refs = Array.from({ length: 300 }, (_, k) => base.mul(k + 1).requiresGrad_(true));
        const ws = Array.from({ length: 300 }, (_, k) => torch.full([5], (k % 7) - 3, { dtype: 'float64' }));
        const mine = DoubleEach.apply(...xs);
        expect(mine.length).toBe(300);
        torch.stack(mine.map((y, k) => y.mul(ws[k]).sum())).sum().backward();
        torch.stack(refs.map((x, k) => x.mul(2).mul(ws[k]).sum())).sum().backward();
        xs.forEach((x, k) => close(x.grad!, refs[k].grad!, `DoubleEach: input ${k}'s grad`));
      });
      // One tensor returned for two inputs; a kept tensor and one made before backward returned
      // as gradients: each input gets its own, and the caller's tensors stay live.
      const kept = torch.keep(torch.tensor([1, 2, 3, 4, 5], { dtype: 'float64' }));
      let outside: T | null = null;
      class Returns extends Function {
        static forward(_ctx: Ctx, a: T, b: T, c: T, d: T) {
          return [a.mul(1), b.mul(1), c.mul(1), d.mul(1)];
        }
        static backward(_ctx: Ctx, ga: T) {
          return [ga, ga, kept, outside];
        }
      }
      torch.tidy(() => {
        outside = torch.tensor([5, 4, 3, 2, 1], { dtype: 'float64' });
        const [a, b, c, d] = ['x', 'y', 'x', 'y'].map(leaf);
        const outs = Returns.apply(a, b, c, d);
        outs[0].mul(want.get('hooks.seen')!).sum().backward();
        close(a.grad!, want.get('hooks.seen')!, 'Returns: a.grad');
        close(b.grad!, want.get('hooks.seen')!, 'Returns: b.grad (the same tensor as a\'s)');
        expect(c.grad!.tolist()).toEqual([1, 2, 3, 4, 5]);
        expect(d.grad!.tolist()).toEqual([5, 4, 3, 2, 1]);
        expect(kept.tolist()).toEqual([1, 2, 3, 4, 5]);
        expect(outside.tolist()).toEqual([5, 4, 3, 2, 1]);
        for (const t of [a, b, c, d]) t.dispose();
      });
      kept.dispose();
      // A disposed tensor returned after a fresh one: PyTorch-like error, nothing left behind.
      class ReturnsDisposed extends Function {
        static forward(_ctx: Ctx, a: T, b: T) {
          return [a.mul(1), b.mul(1)];
        }
        static backward(_ctx: Ctx, ga: T) {
          const gone = ga.mul(1);
          gone.dispose();
          return [ga.mul(2), gone];
        }
      }
      const [a, b] = ['x', 'y'].map(leaf);
      const live = torch.memory().liveTensors;
      torch.tidy(() => {
        expect(() => ReturnsDisposed.apply(a, b)[0].sum().backward()).toThrow('this tensor was disposed');
      });
      expect(torch.memory().liveTensors).toBe(live);
      expect(a.grad).toBeNull();
      for (const t of [a, b]) t.dispose();
    });

    test('without gradients (noGrad, or inputs that need none) it is a plain call; memory stays flat', () => {
      const x = leaf('x');
      torch.tidy(() => {
        expect(torch.noGrad(() => Exp.apply(x)).requiresGrad).toBe(false);
        expect(Exp.apply(inputs.get('x')!).requiresGrad).toBe(false);
      });
      const step = () =>
        torch.tidy(() => {
          const [p, s] = ScaledProductAndSum.apply(Exp.apply(x), x, 2);
          p.add(s).sum().backward();
        });
      for (let k = 0; k < 5; k++) step();
      const live = torch.memory().liveTensors;
      for (let k = 0; k < 200; k++) step();
      expect(torch.memory().liveTensors).toBe(live);
    });
  });

  describe('hooks as PyTorch\'s', () => {
    test('Tensor.registerHook on a leaf and an intermediate: replacing and recording gradients; remove()', () => {
      torch.tidy(() => {
        const x = leaf('x');
        x.registerHook((g) => g.mul(2));
        const h = x.mul(3);
        h.registerHook((g) => g.add(1));
        let seen: T | null = null;
        h.registerHook((g) => {
          seen = g.clone().keep();
        });
        weightedLoss('hooks', [h.tanh()]).backward();
        close(x.grad!, want.get('hooks.g.x')!, 'hooks.g.x');
        close(seen!, want.get('hooks.seen')!, 'hooks.seen');
        (seen as unknown as T).dispose();

        const z = leaf('x');
        const handle = z.registerHook((g) => g.mul(100));
        handle.remove();
        z.mul(3).sum().backward();
        expect(z.grad!.tolist()).toEqual([3, 3, 3, 3, 3]);
        expect(() => inputs.get('x')!.registerHook((g) => g)).toThrow("cannot register a hook on a tensor that doesn't require gradient");
        const w = leaf('x');
        w.registerHook(() => torch.ones([2], { dtype: 'float64' }));
        expect(() => w.sum().backward()).toThrow('a tensor hook changed the size of the gradient (was [5], got [2])');
      });
    });

    test('a removed hook stays silent while other callbacks come and go; callback ids are reused', () => {
      torch.tidy(() => {
        const z = leaf('x');
        z.registerHook((g) => g.mul(100)).remove();
        // Many custom Functions made and freed after the removal: their ids are taken back and
        // reused, but never the removed hook's, which libtorch still holds on z.
        const x = leaf('x');
        const slotsBefore = _callbackSlots();
        const slotsAfterWarmUp: number[] = [];
        for (let k = 0; k < 300; k++) {
          torch.tidy(() => {
            Exp.apply(x).sum().backward();
          });
          if (k === 99 || k === 299) slotsAfterWarmUp.push(_callbackSlots());
        }
        close(x.grad!, inputs.get('x')!.exp().mul(300), 'x.grad after 300 Exp backwards');
        expect(slotsAfterWarmUp[1]).toBe(slotsAfterWarmUp[0]); // no growth: ids are reused
        expect(slotsAfterWarmUp[1]).toBeLessThanOrEqual(slotsBefore + 64); // (ids are taken back every 32 new ones)
        z.mul(3).sum().backward();
        expect(z.grad!.tolist()).toEqual([3, 3, 3, 3, 3]);

        // A hook whose tensor is gone has its id taken back, and the next callback made gets it:
        // removing the old hook late must not silence the new one.
        const doomed = leaf('x');
        const late = doomed.registerHook((g) => g.mul(100));
        doomed.dispose();
        const held = leaf('x');
        for (let k = 0; k < 200; k++) held.registerHook((g) => g.mul(2)); // (past several takebacks)
        late.remove();
        held.sum().backward();
        expect(held.grad!.tolist()).toEqual([1, 1, 1, 1, 1].map(() => 2 ** 200));
        for (const t of [z, x, held]) t.dispose();
      });
    });

    test('two copies of the library in one process (jest loads one per test file): each copy\'s callbacks reach its own code', () => {
      let other!: typeof torch;
      const mode = native.setAutogradHelperThread(helper);
      jest.isolateModules(() => {
        other = require('../lib') as typeof torch; // (the same native addon, a second JS copy)
      });
      expect(native.setAutogradHelperThread(helper)).toBe(mode); // loading it left the thread mode as it was
      class OtherExp extends other.autograd.Function {
        static forward(ctx: torch.autograd.FunctionCtx, x: T) {
          const y = x.exp();
          ctx.saveForBackward(y);
          return y;
        }
        static backward(ctx: torch.autograd.FunctionCtx, gy: T) {
          return gy.mul(ctx.savedTensors[0]!);
        }
      }
      const xa = leaf('x');
      const xb = other.keep(other.tensor(inputs.get('x')!.tolist() as number[], { dtype: 'float64' }).requiresGrad_(true));
      const hook = xb.registerHook((g) => g.mul(2));
      // Interleaved, past several takebacks of released ids on each side.
      for (let k = 0; k < 100; k++) {
        torch.tidy(() => Exp.apply(xa).sum().backward());
        other.tidy(() => OtherExp.apply(xb).sum().backward());
      }
      hook.remove();
      other.tidy(() => OtherExp.apply(xb).sum().backward());
      const e = torch.tidy(() => inputs.get('x')!.exp().keep());
      close(xa.grad!, e.mul(100), 'copy A: 100 Exp backwards');
      close(torch.tensor(xb.grad!.tolist() as number[], { dtype: 'float64' }), e.mul(201), 'copy B: 100 hooked (x2) and one plain');
      for (const t of [xa, e]) t.dispose();
      xb.dispose();
    });

    test('module forward pre-hook, forward hook and full backward hook (recording, replacing grad_input)', () => {
      torch.setDefaultDtype('float64');
      const net = new torch.nn.Sequential(new torch.nn.Linear(3, 4), new torch.nn.Tanh(), new torch.nn.Linear(4, 2));
      torch.setDefaultDtype('float32');
      net.loadStateDict(new Map([...net.stateDict().keys()].map((k) => [k, inputs.get(`net.${k}`)!])));
      const [first, , second] = net.children();
      first.registerForwardPreHook((_m, args) => [(args[0] as T).mul(0.5)]);
      const fwd = first.registerForwardHook((_m, _args, output) => (output as T).add(1));
      const recorded: Record<string, T> = {};
      second.registerFullBackwardHook((_m, gradInput, gradOutput) => {
        recorded.gi = gradInput[0]!.clone().keep();
        recorded.go = gradOutput[0]!.clone().keep();
        return [gradInput[0]!.mul(2)];
      });
      torch.tidy(() => {
        const mx = leaf('mx');
        weightedLoss('module', [net.forward(mx) as T]).backward();
        close(mx.grad!, want.get('module.g.mx')!, 'module.g.mx');
        close(recorded.gi, want.get('module.gi')!, 'module.gi');
        close(recorded.go, want.get('module.go')!, 'module.go');
        for (const [k, p] of net.namedParameters()) close(p.grad!, want.get(`module.g.net.${k}`)!, `grad ${k}`);
      });
      // remove() takes a hook out: the forward hook's +1 is gone.
      const withHook = torch.tidy(() => torch.noGrad(() => (first.forward(inputs.get('mx')!) as T).sum().item() as number));
      fwd.remove();
      const without = torch.tidy(() => torch.noGrad(() => (first.forward(inputs.get('mx')!) as T).sum().item() as number));
      expect(withHook - without).toBeCloseTo(4 * 4, 10);
      for (const t of Object.values(recorded)) t.dispose();
      net.dispose();
    });

    test('backward pre-hook replaces grad_output; modules without an input that needs a gradient; memory stays flat', () => {
      torch.manualSeed(0);
      const lin = new torch.nn.Linear(3, 2);
      const x = torch.keep(torch.randn([4, 3]));
      const plain = torch.tidy(() => {
        lin.forward(x).sum().backward();
        return torch.keep(lin.weight.grad!.clone());
      });
      lin.zeroGrad();
      lin.registerFullBackwardPreHook((_m, gradOutput) => [gradOutput[0]!.mul(3)]);
      const calls: (T | null)[][] = [];
      lin.registerFullBackwardHook((_m, gradInput) => {
        calls.push(gradInput);
      });
      torch.tidy(() => lin.forward(x).sum().backward());
      expect(torch.tidy(() => lin.weight.grad!.sub(plain.mul(3)).abs().max().item())).toBeLessThan(1e-6);
      expect(calls.length).toBe(1);
      expect(calls[0]).toEqual([null]); // x needs no gradient: grad_input is [null], as PyTorch's (None,)
      const step = () => torch.tidy(() => lin.forward(x.requiresGrad_(true)).sum().backward());
      step();
      const live = torch.memory().liveTensors;
      for (let k = 0; k < 100; k++) step();
      expect(torch.memory().liveTensors).toBe(live);
      lin.dispose();
    });
  });
});
