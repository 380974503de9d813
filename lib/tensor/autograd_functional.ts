// torch.autograd.functional: vjp, jvp, jacobian, hessian, vhp and hvp of a function, on
// autograd.grad (reverse mode; jvp and hvp by the double-backward trick), as PyTorch's.
// A single tensor in gives a single tensor out, an array gives an array (PyTorch's tuples).
import { Tensor } from './tensor';
import { zerosLike, eye, zeros } from './creation';
import { stack } from './ops';
import { grad as autogradGrad } from './autograd';
import { enableGrad } from './runtime';
import { tidy } from './scope';
import { jacfwd } from './func';

type Tensors = Tensor | Tensor[];
type Fn = (...inputs: Tensor[]) => Tensors;
export interface FunctionalOptions {
  /** keep the results differentiable (higher-order uses); otherwise they are detached */
  createGraph?: boolean;
  /** an output independent of an input is an error instead of a zero */
  strict?: boolean;
  /** jacobian / hessian: all rows in one vmapped backward (torch.vmap) instead of one backward per output element */
  vectorize?: boolean;
}
export interface JacobianOptions extends FunctionalOptions {
  /** 'forward-mode' (needs vectorize): columns by dual tensors, cheaper when outputs outnumber inputs */
  strategy?: 'reverse-mode' | 'forward-mode';
}

const asList = (x: Tensors): Tensor[] => (Array.isArray(x) ? x : [x]);
const unlist = <T>(isList: boolean, xs: T[]): T | T[] => (isList ? xs : xs[0]);

// Fresh leaves for the inputs (or, with createGraph, views that keep their history).
function prepare(inputs: Tensor[], createGraph: boolean, needGraph: boolean): Tensor[] {
  return inputs.map((x) => (createGraph && x.requiresGrad ? x.viewAs(x) : x.detach().requiresGrad_(needGraph)));
}
function finish(xs: Tensor[], createGraph: boolean): Tensor[] {
  return createGraph ? xs : xs.map((x) => x.detach());
}
// autograd.grad over the outputs that need a gradient; null for inputs they do not reach.
function gradOf(outputs: Tensor[], inputs: Tensor[], gradOutputs: (Tensor | null)[] | null, createGraph: boolean, retainGraph = createGraph): (Tensor | null)[] {
  const keep = outputs.map((o, k) => k).filter((k) => outputs[k].requiresGrad);
  if (!keep.length) return inputs.map(() => null);
  return autogradGrad(keep.map((k) => outputs[k]), inputs, {
    gradOutputs: gradOutputs ? keep.map((k) => gradOutputs[k]) : null,
    createGraph, retainGraph, allowUnused: true,
  });
}
// func on fresh leaves of the inputs, with autograd on: what every function here starts with.
function evaluate(func: Fn, inputs: Tensors, opts: FunctionalOptions) {
  const ins = prepare(asList(inputs), opts.createGraph ?? false, true);
  const raw = enableGrad(() => func(...ins));
  const outs = asList(raw);
  checkOutputs(outs, opts.strict);
  return { ins, raw, outs };
}
function checkOutputs(outs: Tensor[], strict: boolean | undefined): void {
  if (!strict) return;
  outs.forEach((o, i) => {
    if (!o.requiresGrad) throw new Error(`Output ${i} of the user-provided function does not require gradients. The outputs must be computed in a differentiable manner from the input when running in strict mode.`);
  });
}
function zerosFor(grads: (Tensor | null)[], refs: Tensor[], strict: boolean, what: string): Tensor[] {
  return grads.map((g, i) => {
    if (g) return g;
    if (strict) throw new Error(`The ${what} of the user-provided function is independent of input ${i}. This is not allowed in strict mode.`);
    return zerosLike(refs[i]);
  });
}
function checkV(v: Tensor[], refs: Tensor[], what: string): void {
  if (v.length !== refs.length) throw new Error(`The given v should contain ${refs.length} tensors (one per ${what}), got ${v.length}`);
  v.forEach((t, i) => {
    if (t.shape.join() !== refs[i].shape.join()) throw new Error(`Entry ${i} in v has invalid size: should be [${refs[i].shape}] but got [${t.shape}]`);
  });
}
function scalarV(v: Tensors | undefined, refs: Tensor[], what: string, fn: string): Tensor[] | null {
  if (v !== undefined) return asList(v);
  if (refs.length !== 1 || refs[0].numel() !== 1) {
    throw new Error(`${fn}: the vector v can only be omitted if the ${what} is a single tensor with a single element`);
  }
  return null;
}

/** torch.autograd.functional.vjp: [func(inputs), vᵀ J], v shaped as the outputs (omit it for a scalar output). */
export function vjp(func: Fn, inputs: Tensors, v?: Tensors, opts: FunctionalOptions = {}): [Tensors, Tensors] {
  const createGraph = opts.createGraph ?? false;
  return tidy(() => {
    const { ins, raw, outs } = evaluate(func, inputs, opts);
    const vs = scalarV(v, outs, 'output', 'vjp');
    if (vs) checkV(vs, outs, 'output');
    const g = zerosFor(gradOf(outs, ins, vs, createGraph), ins, opts.strict ?? false, 'output');
    return [unlist(Array.isArray(raw), finish(outs, createGraph)), unlist(Array.isArray(inputs), finish(g, createGraph))];
  });
}

/** torch.autograd.functional.jvp: [func(inputs), J v], v shaped as the inputs (the double-backward trick). */
export function jvp(func: Fn, inputs: Tensors, v?: Tensors, opts: FunctionalOptions = {}): [Tensors, Tensors] {
  const createGraph = opts.createGraph ?? false;
  return tidy(() => {
    const ins = prepare(asList(inputs), createGraph, true);
    const vs = scalarV(v, ins, 'input', 'jvp');
    if (vs) checkV(vs, ins, 'input');
    const raw = enableGrad(() => func(...ins));
    const outs = asList(raw);
    checkOutputs(outs, opts.strict);
    const gradOutputs = outs.map((o) => zerosLike(o).requiresGrad_(true));
    const gradInputs = enableGrad(() => gradOf(outs, ins, gradOutputs, true)).filter((g): g is Tensor => g !== null);
    const res = gradInputs.length ? gradOf(gradInputs, gradOutputs, vs, createGraph) : gradOutputs.map(() => null);
    const j = zerosFor(res, outs, opts.strict ?? false, 'output');
    return [unlist(Array.isArray(raw), finish(outs, createGraph)), unlist(Array.isArray(raw), finish(j, createGraph))];
  });
}

/**
 * torch.autograd.functional.jacobian (reverse mode): J[i][j] of shape outputs[i].shape +
 * inputs[j].shape; a single tensor where func returns one and inputs is one.
 */
export function jacobian(func: Fn, inputs: Tensors, opts: JacobianOptions = {}): Tensor | Tensor[] | Tensor[][] {
  const createGraph = opts.createGraph ?? false;
  const strategy = opts.strategy ?? 'reverse-mode';
  if (strategy !== 'reverse-mode' && strategy !== 'forward-mode') throw new Error(`Expected strategy to be either "forward-mode" or "reverse-mode". Hint: If your function has more outputs than inputs, "forward-mode" tends to be more performant. Otherwise, prefer to use "reverse-mode".`);
  if (strategy === 'forward-mode') {
    if (createGraph) throw new Error('torch.autograd.functional.jacobian: `create_graph=True` and `strategy="forward-mode"` are not supported together (yet). Please either set `create_graph=False` or `strategy="reverse-mode"`.');
    if (opts.strict) throw new Error('torch.autograd.functional.jacobian: `strict=True` and `strategy="forward-mode"` are not supported together (yet). Please either set `strict=False` or `strategy="reverse-mode"`.');
    if (!opts.vectorize) throw new Error('Computing Jacobian using forward-AD or forward-over-reverse Hessian is only implemented for `vectorize=True`.');
    const ins = asList(inputs);
    const res = jacfwd(func, ins.map((_, i) => i))(...ins) as Tensor[] | Tensor[][];
    const multiOut = Array.isArray(res[0]);
    const jac = (multiOut ? res : [res]) as Tensor[][];
    const perOutput = jac.map((row) => unlist(Array.isArray(inputs), row) as Tensor);
    return multiOut ? (Array.isArray(inputs) ? jac : perOutput) : (Array.isArray(inputs) ? jac[0] : jac[0][0]);
  }
  if (opts.vectorize && opts.strict) throw new Error('torch.autograd.functional.jacobian: `strict=True` and `vectorized=True` are not supported together. Please either set `strict=False` or `vectorize=False`.');
  return tidy(() => {
    const { ins, raw, outs } = evaluate(func, inputs, opts);
    const jac = outs.map((out) => {
      if (opts.vectorize) {
        // the rows of the identity as a batch of output gradients: every row in one backward
        const n = out.numel();
        const flat = out.reshape([-1]);
        const g = flat.requiresGrad
          ? autogradGrad(flat, ins, { gradOutputs: [eye(n, n, { dtype: out.dtype, device: out.device })], isGradsBatched: true, allowUnused: true, retainGraph: true, createGraph })
          : ins.map(() => null);
        return g.map((gi, k) => finish([(gi ?? zeros([n, ...ins[k].shape], { dtype: ins[k].dtype, device: ins[k].device })).view([...out.shape, ...ins[k].shape])], createGraph)[0]);
      }
      const rows: Tensor[][] = ins.map(() => []);
      const flat = out.reshape([-1]);
      for (let e = 0; e < out.numel(); e++) {
        const g = zerosFor(gradOf([flat.select(0, e)], ins, null, createGraph, true), ins, opts.strict ?? false, 'output');
        g.forEach((gi, k) => rows[k].push(gi));
      }
      return rows.map((r, k) => finish([stack(r, 0).view([...out.shape, ...ins[k].shape])], createGraph)[0]);
    });
    const perOutput = jac.map((row) => unlist(Array.isArray(inputs), row) as Tensor);
    return Array.isArray(raw) ? (Array.isArray(inputs) ? jac : perOutput) : (Array.isArray(inputs) ? jac[0] : jac[0][0]);
  });
}

/** torch.autograd.functional.hessian of a scalar function: H[i][j] of shape inputs[i].shape + inputs[j].shape. */
export function hessian(func: Fn, inputs: Tensors, opts: FunctionalOptions = {}): Tensor | Tensor[][] {
  const single = (...inp: Tensor[]) => {
    const out = func(...inp);
    if (Array.isArray(out)) throw new Error('The function given to hessian should return a single Tensor');
    if (out.numel() !== 1) throw new Error('The Tensor returned by the function given to hessian should contain a single element');
    return out.squeeze();
  };
  const jacFunc = (...inp: Tensor[]) => jacobian(single, Array.isArray(inputs) ? inp : inp[0], { createGraph: true, strict: opts.strict, vectorize: opts.vectorize }) as Tensors;
  return jacobian(jacFunc, inputs, opts) as Tensor | Tensor[][];
}

// The gradient of a scalar func and its double backward: what vhp and hvp share.
function secondOrder(func: Fn, inputs: Tensors, v: Tensors | undefined, what: 'vhp' | 'hvp', opts: FunctionalOptions): [Tensors, Tensors] {
  const createGraph = opts.createGraph ?? false;
  return tidy(() => {
    const ins = prepare(asList(inputs), createGraph, true);
    const vs = scalarV(v, ins, 'input', what);
    if (vs) checkV(vs, ins, 'input');
    const raw = enableGrad(() => func(...ins));
    if (Array.isArray(raw)) throw new Error(`The function given to ${what} should return a single Tensor`);
    if (raw.numel() !== 1) throw new Error(`The Tensor returned by the function given to ${what} should contain a single element`);
    checkOutputs([raw], opts.strict);
    const jac = enableGrad(() => gradOf([raw], ins, null, true)).map((g, i) => g ?? zerosLike(ins[i]));
    let res: (Tensor | null)[];
    if (what === 'vhp') {
      res = gradOf(jac, ins, vs, createGraph);
    } else {
      // H v without forming H: the gradient's vector-Jacobian product with a probe u is uᵀH, linear
      // in u; differentiating that with respect to u, weighted by v, gives H v (PyTorch's trick).
      const probe = ins.map((x) => zerosLike(x).requiresGrad_(true));
      const doubleBack = enableGrad(() => gradOf(jac, ins, probe, true)).map((g, i) => g ?? zerosLike(ins[i]));
      res = gradOf(doubleBack, probe, vs, createGraph);
    }
    const out = zerosFor(res, ins, opts.strict ?? false, 'hessian');
    return [finish([raw], createGraph)[0], unlist(Array.isArray(inputs), finish(out, createGraph))];
  });
}
/** torch.autograd.functional.vhp: [func(inputs), vᵀ H] for a scalar func. */
export const vhp = (func: Fn, inputs: Tensors, v?: Tensors, opts: FunctionalOptions = {}) => secondOrder(func, inputs, v, 'vhp', opts);
/** torch.autograd.functional.hvp: [func(inputs), H v] for a scalar func (double-backward trick). */
export const hvp = (func: Fn, inputs: Tensors, v?: Tensors, opts: FunctionalOptions = {}) => secondOrder(func, inputs, v, 'hvp', opts);
