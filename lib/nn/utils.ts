// torch.nn.utils: gradient clipping (clip_grad_norm_, clip_grad_value_) and parameters as one vector.
import { Tensor, _id as id, _wrap as wrap } from '../tensor/tensor';
import { native } from '../tensor/native';
import { tidy } from '../tensor/scope';
import { cat } from '../tensor/ops';
import { noGrad } from '../tensor/runtime';
import { keep } from '../tensor/scope';
import { Module } from './module';
import { optionsOf, PositionalOr, isOptionsObject } from '../tensor/options';
import { getDefaultDevice, withDefaultDevice } from '../tensor/creation';
import type { Device } from '../tensor/dtype';

type ClipOptions = { normType?: number; errorIfNonfinite?: boolean; foreach?: boolean | null };
/** PyTorch's clip_grad_norm_(parameters, max_norm, norm_type=2, error_if_nonfinite=False, foreach=None) after maxNorm, or an options object (foreach: taken, without effect) */
type ClipArgs = PositionalOr<[normType?: number, errorIfNonfinite?: boolean, foreach?: boolean | null], ClipOptions>;

/**
 * Scales the gradients so their global 2-norm is at most maxNorm; returns the norm before
 * clipping (a number). total = ||(||g_i||)_i||, coef = min(1, maxNorm / (total + 1e-6)).
 */
export function clipGradNorm(params: Params, maxNorm: number | ClipOptions & { maxNorm: number }, ...args: ClipArgs): number {
  return tidy(() => clipGradNormTensor(params, maxNorm, ...args).item() as number);
}
/** What PyTorch's clip_grad_* take as parameters: a list (or any iterable) of tensors, or one tensor. */
type Params = Iterable<Tensor> | Tensor;
function paramList(name: string, params: Params): Tensor[] {
  const list = params instanceof Tensor ? [params] : params != null && typeof (params as Iterable<Tensor>)[Symbol.iterator] === 'function' ? [...params] : null;
  if (!list || !list.every((p) => p instanceof Tensor)) throw new TypeError(`${name}: parameters must be a tensor or a list of tensors (model.parameters())`);
  return list;
}
/**
 * torch.nn.utils.clip_grad_norm_, as PyTorch's: the total norm before clipping as a 0-d tensor
 * (clipGradNorm gives it as a number). clipGradNorm_(params, 1.0) or (params, { maxNorm: 1.0 }).
 */
export const clipGradNorm_ = (params: Params, maxNorm: number | ClipOptions & { maxNorm: number }, ...args: ClipArgs): Tensor =>
  clipGradNormTensor(params, maxNorm, ...args);
/** torch.nn.utils.clip_grad_value_: every gradient clamped to [-clipValue, clipValue] in place. */
export const clipGradValue_ = (params: Params, clipValue: number | { clipValue: number; foreach?: boolean | null }, foreach?: boolean | null): void =>
  clipGradValue(params, clipValue, foreach);

/**
 * clipGradNorm returning the total norm as a 0-d tensor, as torch's clip_grad_norm_ does: on
 * CUDA nothing waits for the device, so the next kernels queue up behind this step's.
 */
export function clipGradNormTensor(params: Params, maxNorm: number | ClipOptions & { maxNorm: number }, ...args: ClipArgs): Tensor {
  const opts = optionsOf<ClipOptions & { maxNorm?: number }>('clipGradNorm', [maxNorm, ...args], ['maxNorm', 'normType', 'errorIfNonfinite', 'foreach']);
  if (typeof opts.maxNorm !== 'number' || Number.isNaN(opts.maxNorm)) throw new Error(`clipGradNorm: maxNorm must be a number, got ${opts.maxNorm}`);
  const normType = opts.normType ?? 2;
  const ids = paramList('clipGradNorm', params).map(id);
  const max = opts.maxNorm;
  return tidy(() => {
    const total = wrap(native.gradNorm(ids, normType));
    // (errorIfNonfinite reads the norm back: the one place this function waits for a GPU)
    if (opts.errorIfNonfinite && !(total.isfinite().item<boolean>())) {
      throw new Error(`The total norm of order ${normType} for gradients from \`parameters\` is non-finite, so it cannot be clipped. To disable this error and scale the gradients by the non-finite norm anyway, set \`errorIfNonfinite: false\``);
    }
    const coef = total.add(1e-6).reciprocal().mul(max).clamp(null, 1);
    native.scaleGrads(ids, id(coef));
    return total;
  });
}

/** The global gradient norm without clipping. */
export function gradNorm(params: Tensor[], normType = 2): number {
  return tidy(() => wrap(native.gradNorm(params.map(id), normType)).item() as number);
}

/**
 * fuse_conv_bn_weights: a convolution's weight and bias with an eval-mode batch norm folded in
 * (w * gamma / sqrt(var + eps) per output channel, or per input channel for a transposed conv),
 * as new parameters.
 */
export function fuseConvBnWeights(convW: Tensor, convB: Tensor | null, bnRm: Tensor, bnRv: Tensor, bnEps: number, bnW: Tensor | null, bnB: Tensor | null, transpose = false): [Tensor, Tensor] {
  return noGrad(() => tidy(() => {
    const b = convB ?? bnRm.mul(0);
    const gamma = bnW ?? bnRm.mul(0).add(1);
    const beta = bnB ?? bnRm.mul(0);
    const rsqrt = bnRv.add(bnEps).rsqrt();
    const shape = transpose ? [1, -1, ...new Array(convW.ndim - 2).fill(1)] : [-1, 1, ...new Array(convW.ndim - 2).fill(1)];
    const w = keep(convW.mul(gamma.mul(rsqrt).reshape(shape)));
    const bias = keep(b.sub(bnRm).mul(rsqrt).mul(gamma).add(beta));
    if (convW.requiresGrad) w.requiresGrad_(true);
    if (convW.requiresGrad || (convB?.requiresGrad ?? false)) bias.requiresGrad_(true);
    return [w, bias] as [Tensor, Tensor];
  }));
}

/** fuse_conv_bn_eval: a copy of conv that computes conv then bn (both in eval mode) in one convolution. */
export function fuseConvBnEval<C extends Module & { weight: Tensor; bias: Tensor | null }>(
  conv: C,
  bn: Module & { running_mean: Tensor | null; running_var: Tensor | null; eps: number; weight: Tensor | null; bias: Tensor | null },
  transpose = false,
): C {
  if (conv.training || bn.training) throw new Error('Fusion only for eval!');
  if (!bn.running_mean || !bn.running_var) throw new Error('fuseConvBnEval: the batch norm tracks no running statistics (trackRunningStats: false)');
  const fused = conv.deepCopy();
  const [w, b] = fuseConvBnWeights(fused.weight, fused.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias, transpose);
  const oldW = fused.weight, oldB = fused.bias;
  fused.registerParameter('weight', w, w.requiresGrad);
  fused.registerParameter('bias', b, b.requiresGrad);
  oldW.dispose();
  oldB?.dispose();
  return fused;
}

/** pad_sequence (also in nn.utils.rnn, with the packing functions). */
export { padSequence } from './packed';

/**
 * torch.nn.utils.skip_init: `new moduleClass(...args)` without initialising anything: built on
 * the meta device (no memory, nothing drawn), then given uninitialised memory (toEmpty) on the
 * device a trailing options object names, else the default one. For weights about to be loaded
 * (or initialised by hand) anyway: a large model is built in no time. Tensors the constructor
 * makes with an explicit device are not skipped.
 */
// (args unknown[]: TypeScript would check them against the class's last overload only)
export function skipInit<M extends Module>(moduleClass: new (...args: never[]) => M, ...args: unknown[]): M {
  if (typeof moduleClass !== 'function' || !(moduleClass.prototype instanceof Module)) {
    throw new Error('skipInit: give a Module class and its arguments: skipInit(nn.Linear, 4, 3)');
  }
  // (PyTorch pops the device keyword and builds with device='meta')
  const last = args[args.length - 1] as Record<string, unknown> | undefined;
  const hasDevice = isOptionsObject(last) && last.device !== undefined;
  const finalDevice = (hasDevice ? last!.device : getDefaultDevice()) as Device;
  const metaArgs = (hasDevice ? [...args.slice(0, -1), { ...last, device: 'meta' }] : args) as never[];
  const m = withDefaultDevice('meta', () => new moduleClass(...metaArgs));
  return m.toEmpty({ device: finalDevice });
}

/** Clamps every gradient to [-clipValue, clipValue] in place (clip_grad_value_). */
export function clipGradValue(params: Params, clipValue: number | { clipValue: number; foreach?: boolean | null }, foreach?: boolean | null): void {
  const { clipValue: v } = optionsOf<{ clipValue?: number; foreach?: boolean | null }>('clipGradValue', [clipValue, foreach], ['clipValue', 'foreach']);
  if (typeof v !== 'number' || !(v >= 0)) throw new Error(`clipGradValue: clipValue must be >= 0 (a number), got ${v}`);
  for (const p of paramList('clipGradValue', params)) {
    const g = p.grad;
    if (!g) continue;
    g.clamp_(-v, v);
    g.dispose();
  }
}

/** The parameters flattened and joined into one vector (parameters_to_vector). */
export function parametersToVector(params: Tensor[]): Tensor {
  return tidy(() => cat(params.map((p) => p.detach().reshape([-1]))));
}

/** Copies consecutive slices of vec into the parameters, in place (vector_to_parameters). */
export function vectorToParameters(vec: Tensor, params: Tensor[]): void {
  const total = params.reduce((s, p) => s + p.numel(), 0);
  if (vec.ndim !== 1 || vec.numel() !== total) throw new Error(`vectorToParameters: vec must be 1-D with ${total} elements (the parameters' count), got [${vec.shape}]`);
  tidy(() => noGrad(() => {
    let offset = 0;
    for (const p of params) {
      const n = p.numel();
      p.copy_(vec.narrow(0, offset, n).view(p.shape));
      offset += n;
    }
  }));
}

/**
 * torch.nn.utils.weight_norm: module[name] becomes g · v / ||v|| (the norm over every dim but
 * dim; null: over the whole tensor), recomputed before each forward, with parameters
 * `${name}_g` and `${name}_v` in its place (PyTorch's names). Returns the module.
 */
export function weightNorm<M extends Module>(module: M, name = 'weight', dim: number | null = 0): M {
  const slots = module as unknown as Record<string, Tensor | null>;
  const w = slots[name];
  if (!(w instanceof Tensor) || !module.namedParameters({ recurse: false }).some(([n]) => n === name)) {
    throw new Error(`weightNorm: ${module.constructor.name} has no parameter '${name}'`);
  }
  if ((module as unknown as { _weightNorms?: Map<string, unknown> })._weightNorms?.has(name)) throw new Error(`weightNorm: '${name}' already has weight norm`);
  const d = dim === null ? -1 : dim < 0 ? dim + w.ndim : dim;
  const g = noGrad(() => wrap(native.normExceptDim(id(w), 2, d)));
  const v = noGrad(() => w.detach().clone());
  module.unregisterParameter(name);
  module.registerParameter(`${name}_g`, g);
  module.registerParameter(`${name}_v`, v);
  const compute = () => {
    const old = slots[name];
    slots[name] = keep(wrap(native.weightNorm(id(slots[`${name}_v`]!), id(slots[`${name}_g`]!), d)));
    old?.dispose();
  };
  compute();
  w.dispose();
  const handle = module.registerForwardPreHook(() => { compute(); });
  const table = ((module as unknown as { _weightNorms?: Map<string, { remove(): void; dim: number }> })._weightNorms ??= new Map());
  table.set(name, { remove: handle.remove, dim: d });
  return module;
}

/** torch.nn.utils.remove_weight_norm: the current g · v / ||v|| becomes the plain parameter again. */
export function removeWeightNorm<M extends Module>(module: M, name = 'weight'): M {
  const table = (module as unknown as { _weightNorms?: Map<string, { remove(): void; dim: number }> })._weightNorms;
  const entry = table?.get(name);
  if (!entry) throw new Error(`removeWeightNorm: weight_norm of '${name}' not found in ${module.constructor.name}`);
  entry.remove();
  table!.delete(name);
  const slots = module as unknown as Record<string, Tensor | null>;
  const w = noGrad(() => wrap(native.weightNorm(id(slots[`${name}_v`]!), id(slots[`${name}_g`]!), entry.dim)));
  slots[name]?.dispose();
  for (const p of [`${name}_g`, `${name}_v`]) {
    slots[p]?.dispose();
    module.unregisterParameter(p);
  }
  module.registerParameter(name, w);
  return module;
}

/** torch.nn.utils.rnn: PackedSequence, packPaddedSequence, padPackedSequence, packSequence, padSequence. */
export * as rnn from './packed';
export * as stateless from './stateless';
/** torch.nn.utils.parametrize: registerParametrization, removeParametrizations, isParametrized, cached. */
export * as parametrize from './parametrize';
/** torch.nn.utils.prune: l1Unstructured, randomUnstructured, lnStructured, randomStructured, globalUnstructured, customFromMask, identity, remove, isPruned. */
export * as prune from './prune';
/** torch.nn.utils.parametrizations: orthogonal, spectralNorm, weightNorm. */
export * as parametrizations from './parametrizations';
/** torch.nn.utils.spectral_norm / remove_spectral_norm: the forward-pre-hook form (weight_orig, weight_u, weight_v). */
export { spectralNorm, removeSpectralNorm } from './spectral_norm';
