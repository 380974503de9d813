// torch.autograd: gradients as values (autograd.grad), beside Tensor.backward()'s accumulation.
import { native } from './native';
import { Tensor, _wrap as wrap, _id as id, _afterBackward } from './tensor';
import { vmap } from './vmap';

/**
 * torch.autograd.grad: the gradients of outputs (summed, each weighted by its gradOutputs entry;
 * a scalar output needs none) with respect to inputs, returned instead of accumulated into
 * .grad. createGraph makes them differentiable (higher-order derivatives, gradient penalties);
 * the graph is then kept, as retainGraph does. An input the outputs do not depend on is an
 * error unless allowUnused, which gives null for it. isGradsBatched: each gradOutputs entry has
 * a leading batch dim, and the result one per row (vector-Jacobian products in one vmapped
 * backward: a Jacobian's rows at once).
 */
export function grad(
  outputs: Tensor | Tensor[],
  inputs: Tensor | Tensor[],
  opts: { gradOutputs?: (Tensor | null)[] | Tensor | null; retainGraph?: boolean; createGraph?: boolean; allowUnused?: boolean; isGradsBatched?: boolean } = {},
): (Tensor | null)[] {
  const outs = Array.isArray(outputs) ? outputs : [outputs];
  const ins = Array.isArray(inputs) ? inputs : [inputs];
  const gradOutputs = gradHandles('autograd.grad', 'gradOutputs', opts.gradOutputs, outs.length);
  const createGraph = opts.createGraph ?? false;
  const run = (gos: number[] | null) =>
    native.autogradGrad(outs.map(id), ins.map(id), gos, opts.retainGraph ?? createGraph, createGraph, opts.allowUnused ?? false) as number[];
  if (opts.isGradsBatched) {
    if (!gradOutputs || gradOutputs.some((h) => h < 0)) throw new Error('autograd.grad: isGradsBatched needs a gradOutputs tensor (with the batch dim first) for every output');
    // the engine runs once, on batched gradients; unused inputs (null) are noted on the way
    let unused: boolean[] = [];
    const batched = vmap((...gs: Tensor[]) => {
      const hs = run(gs.map(id));
      unused = hs.map((h) => h < 0);
      return hs.filter((h) => h >= 0).map(wrap);
    })(...(Array.isArray(opts.gradOutputs) ? opts.gradOutputs : [opts.gradOutputs]) as Tensor[]);
    let k = 0;
    return unused.map((u) => (u ? null : batched[k++]));
  }
  return run(gradOutputs).map((h) => (h < 0 ? null : wrap(h)));
}

/**
 * torch.autograd.set_detect_anomaly: while on, a backward whose node gives NaN gradients stops
 * there with "Function 'DivBackward0' returned nan values in its 0th output." (checkNan: true),
 * and errors in backward name the node. Slows backward: for debugging.
 */
export function setDetectAnomaly(enabled: boolean, opts: { checkNan?: boolean } = {}): void {
  native.setDetectAnomaly(enabled, opts.checkNan ?? true);
}
export function isAnomalyEnabled(): boolean {
  return native.isAnomalyEnabled();
}
/** torch.autograd.detect_anomaly: anomaly detection on while fn runs (synchronous; the previous setting comes back). */
export function detectAnomaly<T>(fn: () => T, opts: { checkNan?: boolean } = {}): T {
  const [enabled, checkNan] = native.setDetectAnomaly(true, opts.checkNan ?? true) as [boolean, boolean];
  try {
    return fn();
  } finally {
    native.setDetectAnomaly(enabled, checkNan);
  }
}

export { Function, FunctionCtx } from './function';
/** torch.autograd.functional: vjp, jvp, jacobian, hessian, vhp, hvp. */
export * as functional from './autograd_functional';
/** torch.autograd.forward_ad: dual tensors for forward-mode AD (dualLevel, makeDual, unpackDual). */
export * as forwardAd from './forward_ad';
export type { RemovableHandle } from './function';

/**
 * torch.autograd.backward: accumulates into .grad the gradients of several outputs at once (each
 * weighted by its gradTensors entry; a scalar output needs none), as one backward pass. With
 * inputs, only those tensors' .grad is touched.
 */
export function backward(
  tensors: Tensor | Tensor[],
  opts: { gradTensors?: (Tensor | null)[] | Tensor | null; retainGraph?: boolean; createGraph?: boolean; inputs?: Tensor[] } = {},
): void {
  const outs = Array.isArray(tensors) ? tensors : [tensors];
  const createGraph = opts.createGraph ?? false;
  const grads = gradHandles('autograd.backward', 'gradTensors', opts.gradTensors, outs.length);
  _afterBackward(() => native.autogradBackward(outs.map(id), grads, opts.retainGraph ?? createGraph, createGraph, (opts.inputs ?? []).map(id)));
}

function gradHandles(what: string, option: string, g: (Tensor | null)[] | Tensor | null | undefined, n: number): number[] | null {
  if (g === undefined || g === null) return null;
  const list = (Array.isArray(g) ? g : [g]).map((t) => (t ? id(t) : -1));
  if (list.length !== n) throw new Error(`${what}: ${list.length} ${option} for ${n} outputs; give one per output (null for a scalar)`);
  return list;
}

// Last: gradcheck.ts uses grad() above.
export { gradcheck, gradgradcheck, GradcheckError } from './gradcheck';
export type { GradcheckOptions } from './gradcheck';
