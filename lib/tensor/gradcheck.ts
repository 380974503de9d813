// torch.autograd.gradcheck / gradgradcheck (PyTorch's slow mode, torch/autograd/gradcheck.py):
// a function's analytical Jacobian (its backward, one output element at a time) against the
// numerical one (central differences, one input element at a time), with PyTorch's checks and
// messages. What custom autograd Functions are tested with.
import { keywordOptions } from './options';
import { native } from './native';
import { Tensor, _wrap as wrap, _id as id } from './tensor';
import { tidy } from './scope';
import { rand, zeros, zerosLike } from './creation';
import { grad } from './autograd';
import { Function as AutogradFunction, FunctionCtx } from './function';

export class GradcheckError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GradcheckError';
  }
}

export interface GradcheckOptions {
  /** the finite-difference step (1e-6) */
  eps?: number;
  /** allclose's tolerances between analytical and numerical Jacobians (1e-5, 1e-3) */
  atol?: number;
  rtol?: number;
  /** throw a GradcheckError on failure (true), or return false */
  raiseException?: boolean;
  /** how far two backward passes may differ (0: exactly reentrant) */
  nondetTol?: number;
  /** gradients must have their inputs' dtypes */
  checkGradDtypes?: boolean;
  /** backward must cope with undefined output gradients (true) */
  checkUndefinedGrad?: boolean;
}

type Fn = (...inputs: never[]) => Tensor | Tensor[];
type Input = Tensor | number | boolean | null | undefined | string;

const FAILED_NONDET_MSG = `\n
NOTE: If your op relies on non-deterministic operations i.e., it is listed here:
https://pytorch.org/docs/stable/generated/torch.use_deterministic_algorithms.html
this failure might be expected.

If you are adding a new operator, please file an issue and then use one of the
workarounds. The workaround depends on how your test invokes gradcheck/gradgradcheck.
If the test
- manually invokes gradcheck/gradgradcheck, then call gradcheck/gradgradcheck
  with \`nondet_tol=<tol>\` as a keyword argument.
- is OpInfo-based (e.g., in test_ops_gradients.py), then modify the OpInfo for the test
  to have \`gradcheck_nondet_tol=<tol>\`.
- is a Module test (e.g., in common_nn.py), then modify the corresponding
  module_test entry to have \`gradcheck_nondet_tol=<tol>\`
`;

const asList = (out: Tensor | Tensor[]): Tensor[] => (Array.isArray(out) ? out : [out]);
const isDiffInput = (x: unknown): x is Tensor => x instanceof Tensor && x.requiresGrad;
const isFloatLike = (t: Tensor) => t.isFloatingPoint() || t.isComplex();
const pyFloat = (x: number) => (Number.isInteger(x) ? `${x}.0` : String(x));

/** Row-major multi-indices of a shape (itertools.product over the dims). */
function* indices(shape: number[]): Generator<number[]> {
  const n = shape.reduce((a, b) => a * b, 1);
  for (let flat = 0; flat < n; flat++) {
    const idx: number[] = new Array(shape.length);
    let r = flat;
    for (let d = shape.length - 1; d >= 0; d--) {
      idx[d] = r % shape[d];
      r = Math.floor(r / shape[d]);
    }
    yield idx;
  }
}

/** d(outputs)/d(input) by central differences: per output, an (input numel, output numel) matrix. */
function numericalJacobian(fn: Fn, inputs: Input[], outputs: Tensor[], input: Tensor, eps: number): (Tensor | null)[] {
  const jac = outputs.map((o) => (isFloatLike(o) ? zeros([input.numel(), o.numel()], { dtype: o.dtype, device: o.device }) : null));
  // x.data: perturbing it in place bumps no version counter the graph of `outputs` has saved.
  const data = wrap(native.variableData(id(input)));
  let col = 0;
  for (const idx of indices(input.shape)) {
    tidy(() => {
      const entry = data.index(...idx);
      const orig = entry.clone();
      entry.copy_(orig.sub(eps));
      const outa = asList(fn(...(inputs as never[])));
      entry.copy_(orig.add(eps));
      const outb = asList(fn(...(inputs as never[])));
      entry.copy_(orig);
      outputs.forEach((o, k) => {
        const j = jac[k];
        if (!j) return;
        const a = outa[k], b = outb[k];
        if (a.dtype !== b.dtype) throw new GradcheckError(`Expected \`func\` to return outputs with the same dtype when inputs are perturbed by ${eps}, but got: dtypes ${a.dtype} and ${b.dtype}.`);
        if (a.shape.join() !== b.shape.join()) throw new GradcheckError(`Expected \`func\` to return outputs with the same shape when inputs are perturbed by ${eps}, but got: shapes [${a.shape}] and [${b.shape}].`);
        j.select(0, col).copy_(b.sub(a).div(2 * eps).detach().reshape([-1]));
      });
    });
    col++;
  }
  data.dispose();
  return jac; // null for integer outputs
}

/** The backward's Jacobian of one output, row by row (vjp with one-hot grad outputs), per differentiable input. */
function analyticalJacobian(output: Tensor, diffInputs: Tensor[], nondetTol: number, checkGradDtypes: boolean): Tensor[] {
  const rows = () => {
    const base = zerosLike(output);
    const flat = base.view([-1]);
    const jac = diffInputs.map((x) => zeros([x.numel(), output.numel()], { dtype: x.dtype, device: x.device }));
    let sizesOk = true, typesOk = true;
    for (let j = 0; j < flat.numel(); j++) {
      tidy(() => {
        flat.zero_();
        flat.select(0, j).fill_(1);
        const gs = grad(output, diffInputs, { gradOutputs: [base], retainGraph: true, allowUnused: true });
        gs.forEach((g, i) => {
          const x = diffInputs[i];
          if (g && g.shape.join() !== x.shape.join()) sizesOk = false;
          else if (g && g.dtype !== x.dtype) typesOk = false;
          const column = jac[i].select(1, j);
          if (!g) column.zero_();
          else column.copy_(g.reshape([-1]));
        });
      });
    }
    flat.dispose();
    base.dispose();
    return { jac, sizesOk, typesOk };
  };
  const first = rows(), second = rows();
  const reentrant = first.jac.every((a, i) => a.numel() === 0 || (tidy(() => a.sub(second.jac[i]).abs().max().item()) as number) <= nondetTol);
  second.jac.forEach((t) => t.dispose());
  if (!first.typesOk && checkGradDtypes) throw new GradcheckError('Gradient has dtype mismatch');
  if (!first.sizesOk) throw new GradcheckError('Analytical gradient has incorrect size');
  if (!reentrant) {
    throw new GradcheckError('Backward is not reentrant, i.e., running backward with same input and grad_output multiple times gives different values, ' +
      `although analytical gradient matches numerical gradient.The tolerance for nondeterminism was ${pyFloat(nondetTol)}.` + FAILED_NONDET_MSG);
  }
  return first.jac;
}

/** PyTorch's UndefinedGrad(): the identity, whose backward passes an undefined gradient on. */
class UndefinedGrad extends AutogradFunction {
  static forward(_ctx: FunctionCtx, x: Tensor): Tensor {
    return x.clone();
  }
  static backward(): null {
    return null;
  }
}

function checkUndefinedGradSupport(fn: Fn, inputs: Input[], diffInputs: Tensor[], nOutputs: number): void {
  const check = (outs: Tensor[]) => {
    let gs: (Tensor | null)[];
    try {
      gs = grad(outs, diffInputs, { gradOutputs: outs.map((o) => zerosLike(o)), allowUnused: true });
    } catch (e) {
      if (e instanceof TypeError) throw e; // a bug in the backward itself, as Python lets TypeErrors through
      throw new GradcheckError('Expected backward function to handle undefined output grads. Please look at "Notes about undefined output gradients" in "tools/autograd/derivatives.yaml"');
    }
    for (const g of gs) {
      if (g && !(g.eq(0).all().item<boolean>())) {
        throw new GradcheckError('Expected all input grads to be undefined or zero when all output grads are undefined or zero. ' +
          'Please look at "Notes about undefined output gradients" in "tools/autograd/derivatives.yaml"');
      }
    }
  };
  const outs = () => asList(fn(...(inputs as never[]))).filter((o) => o.requiresGrad);
  tidy(() => check(outs().map((o) => UndefinedGrad.apply(o) as Tensor)));
  if (nOutputs > 1) {
    for (let k = 0; k < nOutputs; k++) tidy(() => check(outs().map((o, i) => (i === k ? (UndefinedGrad.apply(o) as Tensor) : o))));
  }
}

function check(fn: Fn, inputs: Input[], o: Required<GradcheckOptions>): boolean {
  let any = false;
  inputs.forEach((x, i) => {
    if (!isDiffInput(x)) return;
    if (x.isComplex()) throw new Error(`gradcheck: input #${i} is complex; complex inputs are not supported yet (check the real and imaginary parts as real inputs)`);
    if (!x.stride().every((st, d) => st > 0 || x.shape[d] <= 1)) {
      throw new Error(`The ${i}th input has a dimension with stride 0. gradcheck only supports inputs that are non-overlapping to be able to compute the numerical gradients correctly. You should call .contiguous on the input before passing it to gradcheck.`);
    }
    any = true;
  });
  if (!any) throw new Error('gradcheck expects at least one input tensor to require gradient, but none of the them have requires_grad=True.');
  const diffInputs = inputs.filter(isDiffInput);
  const funcOut = asList(fn(...(inputs as never[])));
  if (funcOut.some((t) => t.isComplex())) throw new Error('gradcheck: complex outputs are not supported yet (check torch.viewAsReal of them)');
  const outputs = funcOut.filter((t) => t.requiresGrad);
  // numerical[k][i]: output k (all of them, differentiable or not) with respect to input i
  const perInput = diffInputs.map((x) => numericalJacobian(fn, inputs, funcOut, x, o.eps));
  if (!outputs.length) {
    for (const js of perInput) for (const j of js) if (j && (j.ne(0).sum().item() as number) > 0) throw new GradcheckError('Numerical gradient for function expected to be zero');
    return true;
  }
  const numerical = funcOut.map((_, k) => perInput.map((js) => js[k])).filter((_, k) => funcOut[k].requiresGrad);
  outputs.forEach((out, k) => {
    const analytical = analyticalJacobian(out, diffInputs, o.nondetTol, o.checkGradDtypes);
    analytical.forEach((a, i) => {
      const n = numerical[k][i]!;
      const close = tidy(() => {
        const dtype = a.dtype === 'float64' || n.dtype === 'float64' ? 'float64' : a.dtype;
        return a.to(dtype).sub(n.to({ dtype, device: a.device })).abs().le(n.to({ dtype, device: a.device }).abs().mul(o.rtol).add(o.atol)).all().item<boolean>();
      });
      if (!close) throw new GradcheckError(`Jacobian mismatch for output ${k} with respect to input ${i},\nnumerical:${n}\nanalytical:${a}\n`);
    });
  });
  // backward must scale by the output gradient: zero in, zero out
  const gs = grad(outputs, diffInputs, { gradOutputs: outputs.map((t) => zerosLike(t)), allowUnused: true });
  gs.forEach((g, i) => {
    if (!g) return;
    const x = diffInputs[i];
    if (!(g.eq(0).all().item<boolean>())) throw new GradcheckError('backward not multiplied by grad_output');
    if (g.dtype !== x.dtype || g.device !== x.device) throw new GradcheckError('grad is incorrect type');
    if (g.shape.join() !== x.shape.join()) throw new GradcheckError('grad is incorrect size');
  });
  if (o.checkUndefinedGrad) checkUndefinedGradSupport(fn, inputs, diffInputs, outputs.length);
  return true;
}

const withDefaults = (o: GradcheckOptions): Required<GradcheckOptions> => (keywordOptions('gradcheck', o, ['eps', 'atol', 'rtol', 'raiseException', 'nondetTol', 'checkGradDtypes', 'checkUndefinedGrad']), {
  eps: o.eps ?? 1e-6, atol: o.atol ?? 1e-5, rtol: o.rtol ?? 1e-3, raiseException: o.raiseException ?? true,
  nondetTol: o.nondetTol ?? 0, checkGradDtypes: o.checkGradDtypes ?? false, checkUndefinedGrad: o.checkUndefinedGrad ?? true,
});

/**
 * torch.autograd.gradcheck: true when fn's gradients (its backward) match finite differences for
 * every input that requires a gradient (use float64 inputs: the default tolerances assume them);
 * otherwise a GradcheckError saying which output and input disagree, both Jacobians printed
 * (or false with raiseException: false).
 */
export function gradcheck(fn: Fn, inputs: Input | Input[], opts: GradcheckOptions = {}): boolean {
  const o = withDefaults(opts);
  const list = Array.isArray(inputs) ? inputs : [inputs];
  try {
    return tidy(() => check(fn, list, o));
  } catch (e) {
    if (!o.raiseException && e instanceof GradcheckError) return false;
    throw e;
  }
}

/**
 * torch.autograd.gradgradcheck: gradcheck of the gradients themselves (fn's double backward),
 * through autograd.grad(fn(inputs), inputs, gradOutputs, { createGraph: true }); the output
 * gradients are drawn from the default generator unless given.
 */
export function gradgradcheck(fn: Fn, inputs: Input | Input[], gradOutputs?: Tensor | Tensor[] | null, opts: GradcheckOptions = {}): boolean {
  const list = Array.isArray(inputs) ? inputs : [inputs];
  // as PyTorch: one gradient per differentiable output, uniform in [-1, 1), requiring a gradient itself
  const gos = gradOutputs ? asList(gradOutputs) : tidy(() => asList(fn(...(list as never[]))).filter((o) => o.requiresGrad)
    .map((o) => rand(o.shape, { dtype: isFloatLike(o) ? o.dtype : 'float64', device: o.device }).mul(2).sub(1).requiresGrad_()));
  const nIn = list.length;
  const newFn = (...args: Input[]) => {
    const ins = args.slice(0, nIn);
    const outs = asList(fn(...(ins as never[]))).filter((o) => o.requiresGrad);
    const gs = grad(outs, ins.filter(isDiffInput), { gradOutputs: args.slice(nIn) as Tensor[], createGraph: true, allowUnused: true });
    return gs.filter((g): g is Tensor => g !== null);
  };
  try {
    return gradcheck(newFn as Fn, [...list, ...gos], opts);
  } finally {
    if (!gradOutputs) gos.forEach((g) => g.dispose());
  }
}
