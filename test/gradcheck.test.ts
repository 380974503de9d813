// torch.autograd.gradcheck / gradgradcheck against PyTorch's: the same functions (custom
// Functions with right and wrong backwards, built-in ops, several inputs and outputs) on the same
// float64 inputs must pass or fail alike, failures with the same message (the Jacobians printed
// by PyTorch's repr, which ours reproduces).
import * as torch from '../lib';
import { pythonJson } from './helpers';

const { gradcheck, gradgradcheck, GradcheckError } = torch.autograd;
type T = torch.Tensor;
type Ctx = torch.autograd.FunctionCtx;

const PY = `
import json, torch
from torch.autograd import gradcheck, gradgradcheck

class WrongExp(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        y = x.exp(); ctx.save_for_backward(y); return y
    @staticmethod
    def backward(ctx, g):
        y, = ctx.saved_tensors; return g * y * 1.01

class RightExp(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        y = x.exp(); ctx.save_for_backward(y); return y
    @staticmethod
    def backward(ctx, g):
        y, = ctx.saved_tensors; return g * y

class Noisy(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2
    @staticmethod
    def backward(ctx, g):
        return g * 2 + torch.rand(g.shape, dtype=g.dtype) * 1e-3

class FlatBackward(torch.autograd.Function):  # a backward that is not differentiable itself
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x); return x ** 3
    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors; return g * 3 * x.detach() ** 2

class NoUndefined(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.set_materialize_grads(False); return x * 3
    @staticmethod
    def backward(ctx, g):
        if g is None:
            raise RuntimeError("no gradient")
        return g * 3

x = torch.linspace(-1, 1, 6, dtype=torch.float64).reshape(2, 3).requires_grad_()
y = torch.linspace(0.5, 2, 3, dtype=torch.float64).requires_grad_()
go = torch.linspace(-1, 1, 6, dtype=torch.float64).reshape(2, 3).requires_grad_()
ints = torch.tensor([1, 2, 3])

def run(f):
    try:
        return {"ok": f()}
    except Exception as e:
        return {"error": type(e).__name__, "message": str(e)}

cases = {
    "builtin": lambda: gradcheck(lambda a, b: (a.sin() * b, (a * b).sum()), (x, y)),
    "right_fn": lambda: gradcheck(RightExp.apply, (x,)),
    "wrong_fn": lambda: gradcheck(WrongExp.apply, (x,)),
    "wrong_quiet": lambda: gradcheck(WrongExp.apply, (x,), raise_exception=False),
    "wrong_loose": lambda: gradcheck(WrongExp.apply, (x,), atol=0.1, rtol=0.1),
    "second_input": lambda: gradcheck(lambda a, b: a + WrongExp.apply(b), (x, y)),
    "mixed_inputs": lambda: gradcheck(lambda a, n, b: a * n + b.sum(), (x, ints, y)),
    "nondet": lambda: gradcheck(Noisy.apply, (y,)),
    "nondet_tol": lambda: (torch.manual_seed(0), gradcheck(Noisy.apply, (y,), nondet_tol=1e-2))[1],
    "no_grad_inputs": lambda: gradcheck(lambda a: a * 2, (x.detach(),)),
    "no_diff_outputs": lambda: gradcheck(lambda a: a.detach() * 2, (x,)),
    "undefined": lambda: gradcheck(lambda a: (NoUndefined.apply(a), a * 2), (x,)),
    "undefined_off": lambda: gradcheck(lambda a: (NoUndefined.apply(a), a * 2), (x,), check_undefined_grad=False),
    "gradgrad_builtin": lambda: gradgradcheck(lambda a, b: a.pow(3) * b, (x, y), (go,)),
    "gradgrad_flat": lambda: gradgradcheck(FlatBackward.apply, (x,), (go,)),
}
print(json.dumps({k: run(f) for k, f in cases.items()}))
`;

class WrongExp extends torch.autograd.Function {
  static forward(ctx: Ctx, x: T) { const y = x.exp(); ctx.saveForBackward(y); return y; }
  static backward(ctx: Ctx, g: T) { return g.mul(ctx.savedTensors[0]!).mul(1.01); }
}
class RightExp extends torch.autograd.Function {
  static forward(ctx: Ctx, x: T) { const y = x.exp(); ctx.saveForBackward(y); return y; }
  static backward(ctx: Ctx, g: T) { return g.mul(ctx.savedTensors[0]!); }
}
class Noisy extends torch.autograd.Function {
  static forward(_ctx: Ctx, x: T) { return x.mul(2); }
  static backward(_ctx: Ctx, g: T) { return g.mul(2).add(torch.rand(g.shape, { dtype: g.dtype }).mul(1e-3)); }
}
class FlatBackward extends torch.autograd.Function {
  static forward(ctx: Ctx, x: T) { ctx.saveForBackward(x); return x.pow(3); }
  static backward(ctx: Ctx, g: T) { return g.mul(3).mul(ctx.savedTensors[0]!.detach().pow(2)); }
}
class NoUndefined extends torch.autograd.Function {
  static forward(ctx: Ctx, x: T) { ctx.setMaterializeGrads(false); return x.mul(3); }
  static backward(_ctx: Ctx, g: T | null) {
    if (g === null) throw new Error('no gradient');
    return g.mul(3);
  }
}

test('gradcheck and gradgradcheck give PyTorch\'s verdicts and messages', () => {
  const want = pythonJson(PY) as Record<string, { ok?: boolean; error?: string; message?: string }>;
  torch.tidy(() => {
    const x = torch.linspace(-1, 1, 6, { dtype: 'float64' }).reshape([2, 3]).requiresGrad_();
    const y = torch.linspace(0.5, 2, 3, { dtype: 'float64' }).requiresGrad_();
    const go = torch.linspace(-1, 1, 6, { dtype: 'float64' }).reshape([2, 3]).requiresGrad_();
    const ints = torch.tensor([1, 2, 3]);
    const apply = (F: typeof WrongExp) => (a: T) => F.apply(a) as T;
    const cases: Record<string, () => boolean> = {
      builtin: () => gradcheck((a: T, b: T) => [a.sin().mul(b), a.mul(b).sum()], [x, y]),
      right_fn: () => gradcheck(apply(RightExp), [x]),
      wrong_fn: () => gradcheck(apply(WrongExp), [x]),
      wrong_quiet: () => gradcheck(apply(WrongExp), [x], { raiseException: false }),
      wrong_loose: () => gradcheck(apply(WrongExp), [x], { atol: 0.1, rtol: 0.1 }),
      second_input: () => gradcheck((a: T, b: T) => a.add(WrongExp.apply(b) as T), [x, y]),
      mixed_inputs: () => gradcheck((a: T, n: T, b: T) => a.mul(n).add(b.sum()), [x, ints, y]),
      nondet: () => gradcheck(apply(Noisy), [y]),
      nondet_tol: () => { torch.manualSeed(0); return gradcheck(apply(Noisy), [y], { nondetTol: 1e-2 }); },
      no_grad_inputs: () => gradcheck((a: T) => a.mul(2), [x.detach()]),
      no_diff_outputs: () => gradcheck((a: T) => a.detach().mul(2), [x]),
      undefined: () => gradcheck((a: T) => [NoUndefined.apply(a) as T, a.mul(2)], [x]),
      undefined_off: () => gradcheck((a: T) => [NoUndefined.apply(a) as T, a.mul(2)], [x], { checkUndefinedGrad: false }),
      gradgrad_builtin: () => gradgradcheck((a: T, b: T) => a.pow(3).mul(b), [x, y], [go]),
      gradgrad_flat: () => gradgradcheck(apply(FlatBackward), [x], [go]),
    };
    const got: typeof want = {};
    for (const [name, f] of Object.entries(cases)) {
      try {
        got[name] = { ok: f() };
      } catch (e) {
        const err = e as Error;
        got[name] = { error: err instanceof GradcheckError ? 'GradcheckError' : 'ValueError', message: err.message };
      }
    }
    // PyTorch raises ValueError / RuntimeError for unusable inputs; ours are plain Errors
    const pyErr = (w: (typeof want)[string]) => (w.error === 'RuntimeError' ? { ...w, error: 'ValueError' } : w);
    expect(got).toEqual(Object.fromEntries(Object.entries(want).map(([k, w]) => [k, pyErr(w)])));
    // the cases cover both verdicts
    expect(Object.values(got).filter((g) => g.ok === true).length).toBeGreaterThanOrEqual(6);
    expect(Object.values(got).filter((g) => g.error === 'GradcheckError').length).toBeGreaterThanOrEqual(5);
  });
});
