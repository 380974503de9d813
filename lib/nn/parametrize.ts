// torch.nn.utils.parametrize: a module's parameter (or buffer) computed from an "original"
// tensor by parametrization modules on every read: module.weight = p_n(...p_1(original)).
// As PyTorch's: the original lives at module.parametrizations.<name>.original (the state-dict
// name), assigning module.<name> goes through the parametrizations' rightInverse, and
// removeParametrizations makes it a plain tensor again.
import { Tensor } from '../tensor/tensor';
import { keep } from '../tensor/scope';
import { noGrad } from '../tensor/runtime';
import { native } from '../tensor/native';
import { Module, ModuleList } from './module';
import { ModuleDict } from './containers';

/** A parametrization: a module whose forward maps the original tensor(s) to the value, and may map back. */
/** Thrown by a rightInverse that has no inverse to give (PyTorch's NotImplementedError): registration then keeps the tensor as it is. */
export class NotImplementedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotImplementedError';
  }
}

export interface Parametrization extends Module {
  /** value -> original (or the originals, as an array); used at registration and on assignment */
  rightInverse?(value: Tensor): Tensor | Tensor[];
}

type Slots = Record<string, unknown>;
const shapeOf = (t: Tensor) => `[${t.shape.join(', ')}]`;

/** The parametrizations of one tensor and its original(s): module.parametrizations.<name>. */
export class ParametrizationList extends ModuleList<Parametrization> {
  readonly isTensor: boolean;
  readonly ntensors: number;
  unsafe: boolean;
  /** whether the tensor was a buffer (it goes back as one) */
  readonly wasBuffer: boolean;

  constructor(modules: Parametrization[], original: Tensor, opts: { unsafe?: boolean; isBuffer?: boolean } = {}) {
    super(modules);
    this.unsafe = opts.unsafe ?? false;
    this.wasBuffer = opts.isBuffer ?? false;
    const { shape, dtype } = original;
    const value = noGrad((): Tensor | Tensor[] => {
      let v: Tensor | Tensor[] = original;
      for (const m of [...this.items].reverse()) {
        if (typeof m.rightInverse !== 'function') continue;
        try {
          v = m.rightInverse(v as Tensor);
        } catch (e) {
          if (!(e instanceof NotImplementedError)) throw e; // (as PyTorch: a rightInverse that cannot be is the identity here)
        }
      }
      return v;
    });
    const register = (name: string, t: Tensor) => (this.wasBuffer ? this.registerBuffer(name, t) : this.registerParameter(name, t, original.requiresGrad));
    if (value instanceof Tensor) {
      this.isTensor = true;
      this.ntensors = 1;
      if (value.dtype !== original.dtype) {
        throw new Error(`When \`rightInverse\` outputs one tensor, it may not change the dtype.\noriginal.dtype: ${original.dtype}\nrightInverse(original).dtype: ${value.dtype}`);
      }
      // The original keeps its identity (an optimizer made before still holds it), with the new value.
      if (value !== original) noGrad(() => native.setData(original._id, (value as Tensor)._id));
      register('original', original);
    } else if (Array.isArray(value)) {
      this.isTensor = false;
      this.ntensors = value.length;
      value.forEach((t, i) => {
        if (!(t instanceof Tensor)) throw new Error(`'rightInverse' must return a Tensor or an array of tensors. Got ${typeof t}`);
        const o = keep(noGrad(() => t.detach().clone()));
        if (original.requiresGrad) o.requiresGrad_(true);
        register(`original${i}`, o);
      });
    } else {
      throw new Error(`'rightInverse' must return a Tensor or an array of tensors. Got ${typeof value}`);
    }
    if (!this.unsafe) {
      const z = this.forward();
      if (!(z instanceof Tensor)) throw new Error(`A parametrization must return a tensor. Got ${typeof z}.`);
      if (z.dtype !== dtype) throw new Error(`Registering a parametrization may not change the dtype of the tensor, unless \`unsafe\` is set.\nunparametrized dtype: ${dtype}\nparametrized dtype: ${z.dtype}`);
      if (z.shape.join() !== shape.join()) throw new Error(`Registering a parametrization may not change the shape of the tensor, unless \`unsafe\` is set.\nunparametrized shape: ${shapeOf(original)}\nparametrized shape: ${shapeOf(z)}`);
    }
  }

  /** The parametrized value, computed from the original(s). */
  forward(): Tensor {
    const slots = this as unknown as Slots;
    let x = this.isTensor
      ? this.items[0].forward(slots.original)
      : this.items[0].forward(...Array.from({ length: this.ntensors }, (_, i) => slots[`original${i}`]));
    for (const m of this.items.slice(1)) x = m.forward(x);
    return x as Tensor;
  }

  /** Sets the original(s) so that the parametrized value becomes `value` (module.<name> = value). */
  rightInverse(value: Tensor): void {
    noGrad(() => {
      let v: Tensor | Tensor[] = value;
      for (const m of [...this.items].reverse()) {
        if (typeof m.rightInverse !== 'function') throw new Error(`parametrization ${m.constructor.name} does not implement rightInverse.`);
        v = m.rightInverse(v as Tensor);
      }
      const slots = this as unknown as Slots;
      const set = (name: string, t: Tensor) => {
        const o = slots[name] as Tensor;
        if (t.dtype !== o.dtype) throw new Error(`The tensor returned by rightInverse has dtype ${t.dtype} while \`${name}\` has dtype ${o.dtype}`);
        const c = t.detach().clone();
        native.setData(o._id, c._id);
        c.dispose(); // (the handle only: o holds the memory now)
      };
      if (this.isTensor) {
        if (!(v instanceof Tensor)) throw new Error(`\`rightInverse\` should return a tensor. Got ${typeof v}`);
        set('original', v);
      } else {
        if (!Array.isArray(v) || v.length !== this.ntensors) throw new Error(`'rightInverse' must return a sequence of ${this.ntensors} tensors`);
        v.forEach((t, i) => set(`original${i}`, t));
      }
    });
  }
}

// parametrize.cached(): each parametrized value computed once while it runs.
let cache: Map<ParametrizationList, Tensor> | null = null;

function describe(name: string) {
  return (module: Module): PropertyDescriptor => ({
    configurable: true,
    enumerable: false,
    get: () => {
      const list = (module as unknown as { parametrizations: ModuleDict<ParametrizationList> }).parametrizations.get(name);
      if (!cache) return list.forward();
      let t = cache.get(list);
      if (!t) cache.set(list, (t = keep(list.forward())));
      return t;
    },
    set: (value: Tensor) => (module as unknown as { parametrizations: ModuleDict<ParametrizationList> }).parametrizations.get(name).rightInverse(value),
  });
}

/** Whether module has parametrizations (on tensorName, or on any tensor). */
export function isParametrized(module: Module, tensorName?: string): boolean {
  const p = (module as unknown as { parametrizations?: unknown }).parametrizations;
  if (!(p instanceof ModuleDict)) return false;
  return tensorName === undefined ? p.size > 0 : p.has(tensorName);
}

/**
 * torch.nn.utils.parametrize.register_parametrization: module[tensorName] becomes
 * parametrization.forward(original) on every read; registering a second one on the same tensor
 * chains it. unsafe: skip the checks that the value keeps its shape and dtype.
 */
export function registerParametrization<M extends Module>(module: M, tensorName: string, parametrization: Parametrization, opts: { unsafe?: boolean } = {}): M {
  parametrization.train(module.training);
  const slots = module as unknown as Slots;
  if (isParametrized(module, tensorName)) {
    const list = (slots.parametrizations as ModuleDict<ParametrizationList>).get(tensorName);
    if (!opts.unsafe) {
      const y = slots[tensorName] as Tensor;
      const x = parametrization.forward(y);
      if (!(x instanceof Tensor)) throw new Error(`A parametrization must return a tensor. Got ${typeof x}.`);
      if (x.dtype !== y.dtype) throw new Error(`Registering a parametrization may not change the dtype of the tensor, unless \`unsafe\` is set.\nunparametrized dtype: ${y.dtype}\nparametrized dtype: ${x.dtype}`);
      if (x.shape.join() !== y.shape.join()) throw new Error(`Registering a parametrization may not change the shape of the tensor, unless \`unsafe\` is set.\nunparametrized shape: ${shapeOf(y)}\nparametrized shape: ${shapeOf(x)}`);
    }
    list.append(parametrization);
    list.unsafe ||= opts.unsafe ?? false;
    return module;
  }
  const isParam = module.hasOwnParameter(tensorName), isBuffer = module.hasOwnBuffer(tensorName);
  if (!isParam && !isBuffer) {
    throw new Error(`Module '${module.constructor.name}' does not have a parameter, a buffer, or a parametrized element with name '${tensorName}'`);
  }
  const original = slots[tensorName] as Tensor;
  const list = new ParametrizationList([parametrization], original, { unsafe: opts.unsafe, isBuffer });
  if (isParam) module.unregisterParameter(tensorName);
  else module.unregisterBuffer(tensorName);
  if (!(slots.parametrizations instanceof ModuleDict)) module.registerModule('parametrizations', new ModuleDict<ParametrizationList>());
  (slots.parametrizations as ModuleDict<ParametrizationList>).set(tensorName, list);
  const make = describe(tensorName);
  delete slots[tensorName];
  Object.defineProperty(module, tensorName, make(module));
  (module._computed ??= new Map()).set(tensorName, make);
  return module;
}

/**
 * torch.nn.utils.parametrize.remove_parametrizations: tensorName becomes a plain parameter (or
 * buffer) again: its current parametrized value (leaveParametrized, default) or its original.
 */
export function removeParametrizations<M extends Module>(module: M, tensorName: string, opts: { leaveParametrized?: boolean } = {}): M {
  if (!isParametrized(module, tensorName)) throw new Error(`Module ${module.constructor.name} does not have a parametrization on ${tensorName}`);
  const leave = opts.leaveParametrized ?? true;
  const slots = module as unknown as Slots;
  const dict = slots.parametrizations as ModuleDict<ParametrizationList>;
  const list = dict.get(tensorName);
  let original: Tensor;
  if (list.isTensor) {
    original = (list as unknown as Slots).original as Tensor;
    if (leave) {
      const t = noGrad(() => slots[tensorName] as Tensor);
      if (t.dtype !== original.dtype) throw new Error('When `rightInverse` outputs one tensor, it may not change the dtype.');
      noGrad(() => native.setData(original._id, t._id));
    }
  } else {
    if (!leave) throw new Error('Cannot leave unparametrized (`leaveParametrized: false`) a tensor that is parametrized in terms of a sequence of tensors.');
    const t = slots[tensorName] as Tensor;
    original = keep(noGrad(() => t.detach().clone()));
    if (t.requiresGrad) original.requiresGrad_(true);
  }
  delete slots[tensorName];
  module._computed?.delete(tensorName);
  // The original leaves the list without being freed (it goes back to the module); originals of a sequence are freed.
  const slotsOfList = list as unknown as Slots;
  if (list.isTensor) {
    if (list.wasBuffer) list.unregisterBuffer('original');
    else list.unregisterParameter('original');
  } else {
    for (let i = 0; i < list.ntensors; i++) (slotsOfList[`original${i}`] as Tensor).dispose();
  }
  dict.delete(tensorName);
  if (list.wasBuffer) module.registerBuffer(tensorName, original);
  else module.registerParameter(tensorName, original, original.requiresGrad);
  if (dict.size === 0) module.unregisterModule('parametrizations');
  return module;
}

/**
 * torch.nn.utils.parametrize.cached: while fn runs, each parametrized tensor is computed once (a
 * weight used at several time steps, as in an RNN). What fn returns stays valid after.
 */
export function cached<T>(fn: () => T): T {
  if (cache) return fn(); // nested: the outer region's cache serves
  cache = new Map();
  let result: T | undefined;
  try {
    result = fn();
    return result;
  } finally {
    const returned = new Set<unknown>(result instanceof Tensor ? [result] : Array.isArray(result) ? result : []);
    for (const t of cache.values()) if (!returned.has(t)) t.dispose();
    cache = null;
  }
}
