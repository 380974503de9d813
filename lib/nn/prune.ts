// torch.nn.utils.prune: zeroing a module's weights by a mask, as PyTorch's. Pruning `weight`
// moves the parameter to `weight_orig`, adds the buffer `weight_mask` (both in the state dict,
// under PyTorch's names), and makes `module.weight` the product weight_orig * weight_mask,
// computed on each read (PyTorch recomputes it in a forward pre-hook). Pruning again prunes
// among what is left (PyTorch's PruningContainer); remove() makes the pruning permanent.
import { Tensor } from '../tensor/tensor';
import { keep } from '../tensor/scope';
import { noGrad } from '../tensor/runtime';
import { onesLike, zerosLike, rand } from '../tensor/creation';
import { cat } from '../tensor/ops';
import { native } from '../tensor/native';
import { Module } from './module';

type Slots = Record<string, unknown>;
type PruningType = 'unstructured' | 'structured' | 'global';

/** One pruning step: how it chooses what to zero, on a tensor and the mask so far. */
interface Method {
  name: string;
  type: PruningType;
  /** structured methods: the dim whose slices are pruned */
  dim?: number;
  computeMask(t: Tensor, defaultMask: Tensor): Tensor;
}

// What a module has pruned: per tensor name, the methods applied in order. An own property of
// the module (PyTorch keeps it in the module's hooks), so that deepCopy copies it along.
const pruned = {
  get: (m: Module) => (m as unknown as { _pruning?: Map<string, Method[]> })._pruning,
  has: (m: Module) => (m as unknown as { _pruning?: unknown })._pruning !== undefined,
  set: (m: Module, v: Map<string, Method[]>) => {
    (m as unknown as { _pruning?: Map<string, Method[]> })._pruning = v;
  },
};

// PyTorch's amount: a whole number is a count of parameters (of channels, for structured
// methods), as Python's int; a fraction below 1 a share of them (rounded half to even, as
// Python's round()). JavaScript has no 1.0 apart from 1: 1 is one parameter, as PyTorch's int 1.
function checkAmount(amount: number): void {
  if (!(typeof amount === 'number' && Number.isFinite(amount) && amount >= 0 && (Number.isInteger(amount) || amount < 1))) {
    throw new Error(`amount=${amount} should either be a float in the range [0, 1) or a non-negative integer (a count)`);
  }
}
function countToPrune(amount: number, size: number): number {
  if (Number.isInteger(amount)) {
    if (amount > size) throw new Error(`amount=${amount} should be smaller than the number of parameters to prune=${size}`);
    return amount;
  }
  const x = amount * size;
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r; // half to even
}
function checkStructured(t: Tensor, dim: number): void {
  if (t.dim() <= 1) throw new Error(`Structured pruning can only be applied to multidimensional tensors. Found tensor of shape [${t.shape.join(', ')}] with ${t.dim()} dims`);
  if (dim >= t.dim()) throw new Error(`Invalid index ${dim} for tensor of size [${t.shape.join(', ')}]`);
}
// A mask of zeros with ones at `keep` (indices) along dim.
function channelMask(t: Tensor, dim: number, keepIdx: Tensor): Tensor {
  const mask = zerosLike(t);
  mask.indexFill_(dim < 0 ? dim + t.dim() : dim, keepIdx, 1);
  return mask;
}

function l1Method(amount: number, importance: 'abs' | 'random'): Method {
  checkAmount(amount);
  return {
    name: importance === 'abs' ? 'L1Unstructured' : 'RandomUnstructured',
    type: 'unstructured',
    computeMask(t, defaultMask) {
      const n = countToPrune(amount, t.numel());
      const mask = defaultMask.contiguous().clone();
      if (n !== 0) {
        const scores = importance === 'abs' ? t.abs().view([-1]) : rand(t.shape, { dtype: t.dtype, device: t.device }).view([-1]);
        const { indices } = scores.topk(n, -1, importance !== 'abs');
        mask.view([-1]).indexFill_(0, indices, 0);
      }
      return mask;
    },
  };
}

function structuredMethod(amount: number, dim: number, norm: number | 'fro' | null): Method {
  checkAmount(amount);
  return {
    name: norm === null ? 'RandomStructured' : 'LnStructured',
    type: 'structured',
    dim,
    computeMask(t, defaultMask) {
      checkStructured(t, dim);
      const d = dim < 0 ? dim + t.dim() : dim;
      const size = t.shape[d];
      const n = countToPrune(amount, size);
      if (n === 0) return defaultMask;
      let mask: Tensor;
      if (norm === null) {
        // PyTorch draws one uniform per channel and keeps those above the n-th smallest
        const prob = rand([size]);
        const threshold = prob.kthvalue(n).values;
        mask = channelMask(t, d, prob.gt(threshold).nonzero().view([-1]));
      } else {
        const dims = [...Array(t.dim()).keys()].filter((k) => k !== d);
        const norms = t.norm(norm === 'fro' ? 2 : norm, dims);
        mask = channelMask(t, d, norms.topk(size - n, -1, true).indices);
      }
      return mask.mul(defaultMask.to({ dtype: mask.dtype }));
    },
  };
}

function fromMaskMethod(mask: Tensor): Method {
  return {
    name: 'CustomFromMask',
    type: 'global',
    computeMask(_t, defaultMask) {
      if (defaultMask.shape.join() !== mask.shape.join()) throw new Error(`custom mask of shape [${mask.shape}] does not match the tensor's [${defaultMask.shape}]`);
      return defaultMask.mul(mask.to({ dtype: defaultMask.dtype, device: defaultMask.device }));
    },
  };
}

const identityMethod: Method = { name: 'Identity', type: 'unstructured', computeMask: (_t, m) => m };

// PyTorch's PruningContainer._combine_masks: the new method sees only what is still unpruned.
function combine(method: Method, t: Tensor, mask: Tensor): Tensor {
  const newMask = mask.to({ dtype: t.dtype });
  if (method.type === 'unstructured') {
    const slc = mask.eq(1);
    const partial = method.computeMask(t.maskedSelect(slc), mask.maskedSelect(slc));
    return newMask.maskedScatter(slc, partial.to({ dtype: newMask.dtype }));
  }
  if (method.type === 'structured') {
    const d = method.dim! < 0 ? method.dim! + t.dim() : method.dim!;
    if (d < 0) throw new Error(`Index is out of bounds for tensor with dimensions ${t.dim()}`);
    const others = [...Array(t.dim()).keys()].filter((k) => k !== d);
    const kept = mask.sum(others).ne(0).nonzero().view([-1]);
    const partial = method.computeMask(t.indexSelect(d, kept), mask.indexSelect(d, kept));
    return newMask.indexCopy(d, kept, partial.to({ dtype: newMask.dtype }));
  }
  return method.computeMask(t, mask).to({ dtype: newMask.dtype });
}

function maskedValue(module: Module, name: string): Tensor {
  const slots = module as unknown as Slots;
  return (slots[`${name}_orig`] as Tensor).mul(slots[`${name}_mask`] as Tensor);
}

function describe(name: string) {
  return (m: Module): PropertyDescriptor => ({ configurable: true, enumerable: false, get: () => maskedValue(m, name) });
}

// BasePruningMethod.apply: the first pruning of a tensor reparametrizes it; later ones combine masks.
function apply<M extends Module>(module: M, name: string, method: Method, importanceScores?: Tensor): M {
  const slots = module as unknown as Slots;
  const history = pruned.get(module)?.get(name);
  const current = slots[name];
  if (!(current instanceof Tensor)) throw new Error(`Parameter '${name}' of module ${module.constructor.name} has to be pruned but does not exist (module.${name} is not a tensor)`);
  if (!history && !module.hasOwnParameter(name)) throw new Error(`prune: '${name}' is not a parameter of ${module.constructor.name} (only parameters can be pruned)`);
  if (importanceScores && importanceScores.shape.join() !== current.shape.join()) {
    throw new Error(`importance_scores should have the same shape as parameter ${name} of ${module.constructor.name}: [${importanceScores.shape}] vs [${current.shape}]`);
  }
  noGrad(() => {
    const scores = importanceScores ?? current;
    let mask: Tensor;
    if (!history) {
      mask = method.computeMask(scores, onesLike(current));
    } else {
      const old = (slots[`${name}_mask`] as Tensor).detach().contiguous().clone();
      mask = combine(method, scores, old);
    }
    keep(mask);
    if (!history) {
      // the parameter keeps its identity under its new name (optimizers made before still hold it)
      module.unregisterParameter(name);
      module.registerParameter(`${name}_orig`, current, current.requiresGrad);
      delete slots[name];
      const make = describe(name);
      Object.defineProperty(module, name, make(module));
      (module._computed ??= new Map()).set(name, make);
      module.registerBuffer(`${name}_mask`, mask);
      if (!pruned.has(module)) pruned.set(module, new Map());
      pruned.get(module)!.set(name, [method]);
    } else {
      (slots[`${name}_mask`] as Tensor).dispose();
      module.registerBuffer(`${name}_mask`, mask);
      history.push(method);
    }
  });
  return module;
}

/** prune.l1_unstructured: zeroes the amount (a fraction, or a count) of entries smallest in |value| (or in importanceScores). */
export function l1Unstructured<M extends Module>(module: M, name: string, amount: number, opts: { importanceScores?: Tensor } = {}): M {
  return apply(module, name, l1Method(amount, 'abs'), opts.importanceScores);
}
/** prune.random_unstructured: zeroes the amount of entries at random (torch.rand, so seeded draws are PyTorch's). */
export function randomUnstructured<M extends Module>(module: M, name: string, amount: number): M {
  return apply(module, name, l1Method(amount, 'random'));
}
/** prune.ln_structured: zeroes the amount of slices along dim with the smallest L-n norm (n: a number, Infinity, or 'fro'). */
export function lnStructured<M extends Module>(module: M, name: string, amount: number, n: number | 'fro', dim: number, opts: { importanceScores?: Tensor } = {}): M {
  return apply(module, name, structuredMethod(amount, dim, n), opts.importanceScores);
}
/** prune.random_structured: zeroes the amount of slices along dim at random. */
export function randomStructured<M extends Module>(module: M, name: string, amount: number, dim: number): M {
  return apply(module, name, structuredMethod(amount, dim, null));
}
/** prune.identity: the pruning reparametrization with a mask of ones (nothing pruned yet). */
export function identity<M extends Module>(module: M, name: string): M {
  return apply(module, name, identityMethod);
}
/** prune.custom_from_mask: zeroes where mask is 0. */
export function customFromMask<M extends Module>(module: M, name: string, mask: Tensor): M {
  return apply(module, name, fromMaskMethod(mask));
}

/**
 * prune.global_unstructured: prunes the amount over all the given tensors together (the
 * smallest by |value| across every layer, so some layers lose more than others).
 */
export function globalUnstructured(parameters: [Module, string][], pruningMethod: 'l1Unstructured' | 'randomUnstructured', opts: { amount: number; importanceScores?: Map<[Module, string], Tensor> }): void {
  if (!Array.isArray(parameters) || parameters.length === 0) throw new Error('global_unstructured: parameters must be a non-empty array of [module, name] pairs');
  if (pruningMethod !== 'l1Unstructured' && pruningMethod !== 'randomUnstructured') {
    throw new Error(`Only "unstructured" PRUNING_TYPE supported for the \`pruning_method\`. Found method ${String(pruningMethod)}`);
  }
  const scoreOf = (m: Module, n: string) => {
    for (const [key, t] of opts.importanceScores ?? []) if (key[0] === m && key[1] === n) return t;
    return (m as unknown as Slots)[n] as Tensor;
  };
  noGrad(() => {
    const scores = cat(parameters.map(([m, n]) => scoreOf(m, n).reshape([-1])));
    const masks = cat(parameters.map(([m, n]) => {
      const mask = (m as unknown as Slots)[`${n}_mask`];
      return (pruned.get(m)?.has(n) && mask instanceof Tensor ? mask : onesLike((m as unknown as Slots)[n] as Tensor)).reshape([-1]);
    }));
    const finalMask = combine(l1Method(opts.amount, pruningMethod === 'l1Unstructured' ? 'abs' : 'random'), scores, masks);
    let at = 0;
    for (const [m, n] of parameters) {
      const p = (m as unknown as Slots)[n] as Tensor;
      const k = p.numel();
      customFromMask(m, n, finalMask.narrow(0, at, k).view(p.shape));
      at += k;
    }
  });
}

/** prune.remove: makes the pruning permanent: `name` is a plain parameter again, holding the pruned values. */
export function remove<M extends Module>(module: M, name: string): M {
  const history = pruned.get(module)?.get(name);
  if (!history) throw new Error(`Parameter '${name}' of module ${module.constructor.name} has to be pruned before pruning can be removed`);
  const slots = module as unknown as Slots;
  const orig = slots[`${name}_orig`] as Tensor, mask = slots[`${name}_mask`] as Tensor;
  noGrad(() => {
    const value = orig.mul(mask);
    native.setData(orig._id, value._id);
    value.dispose();
  });
  delete slots[name];
  module._computed?.delete(name);
  module.unregisterParameter(`${name}_orig`);
  module.unregisterBuffer(`${name}_mask`);
  mask.dispose();
  module.registerParameter(name, orig, orig.requiresGrad);
  pruned.get(module)!.delete(name);
  return module;
}

/** prune.is_pruned: whether the module or any module inside it has a pruned tensor. */
export function isPruned(module: Module): boolean {
  for (const [, m] of module.namedModules()) if ((pruned.get(m)?.size ?? 0) > 0) return true;
  return false;
}

/** The pruning methods applied to module.name, in order (PyTorch's hook, or its PruningContainer). */
export function methods(module: Module, name: string): string[] {
  return (pruned.get(module)?.get(name) ?? []).map((m) => m.name);
}
