// Module: PyTorch's nn.Module, explicit. Parameters, buffers and children are ordinary
// properties of the object; the module records their names (registerParameter/Buffer/Module)
// so it can walk them with Hugging Face's dotted names. Parameters and buffers are keep()-ed:
// no tidy() frees them; module.dispose() does.
import { Tensor, ToArgs, conversionOf } from '../tensor/tensor';
import { optionsOf, PositionalOr, keywordOptions } from '../tensor/options';
import { keep } from '../tensor/scope';
import { noGrad } from '../tensor/runtime';
import { native } from '../tensor/native';
import { DType, Device, MemoryFormat, isFloatingDtype, isComplexDtype } from '../tensor/dtype';
import { empty as emptyTensor } from '../tensor/creation';
import type { RemovableHandle } from '../tensor/function';
import { ModuleHooks, ForwardPreHook, ForwardHook, BackwardHook, BackwardPreHook, addHook, emptyHooks, callWithHooks } from './hooks';

let nextLoadHookId = 0;

// Tensors marked as parameters: by nn.Parameter(t), and every tensor a module registers as one.
const parameterMarks = new WeakSet<Tensor>();

// libtorch's set_data (PyTorch's `p.data = x`) moves a tensor's data in place between CPU and
// CUDA, but not to or from the meta device: there a new tensor takes the old one's place.
const canSetData = (from: Device, to: Device) => (from === 'meta') === (to === 'meta');
/**
 * nn.Parameter(data, requiresGrad = true): data marked as a parameter (kept past tidy(),
 * requiring grad when floating), so that a module property assigned it, as PyTorch code writes
 * `this.w = nn.Parameter(torch.randn([3]))`, is registered as a parameter under that name.
 * Callable with or without new; `t instanceof nn.Parameter` is true for it and for every
 * registered parameter.
 */
export const Parameter = function Parameter(data: Tensor, requiresGrad = true): Tensor {
  if (!(data instanceof Tensor)) throw new Error(`nn.Parameter: give a tensor, got ${data === null ? 'null' : typeof data}`);
  keep(data);
  if (requiresGrad && (isFloatingDtype(data.dtype) || isComplexDtype(data.dtype)) && !data.requiresGrad) data.requiresGrad_(true);
  parameterMarks.add(data);
  return data;
} as unknown as { (data: Tensor, requiresGrad?: boolean): Tensor; new (data: Tensor, requiresGrad?: boolean): Tensor };
Object.defineProperty(Parameter, Symbol.hasInstance, { value: (v: unknown) => v instanceof Tensor && parameterMarks.has(v) });

/**
 * A module's extra state (PyTorch's get_extra_state / set_extra_state): a subclass that defines
 * getExtraState(): Tensor and setExtraState(t: Tensor) has it saved in its state dict under
 * `<prefix>_extra_state` and handed back on loadStateDict.
 */
function extraStateOf(m: Module): { get: () => Tensor; set: (t: Tensor) => void } | null {
  const x = m as unknown as { getExtraState?: () => Tensor; setExtraState?: (t: Tensor) => void };
  if (typeof x.getExtraState !== 'function') return null;
  return {
    get: () => x.getExtraState!(),
    set: (t) => {
      if (typeof x.setExtraState !== 'function') throw new Error(`${m.constructor.name} has getExtraState but no setExtraState: it cannot load its _extra_state`);
      x.setExtraState(t);
    },
  };
}

/**
 * A new module object: a function that calls its own forward (so that `model(x)` is
 * `model.forward(x)`, hooks included, as PyTorch's __call__), with the class's prototype. A
 * function's own `name` and `length` are removed so that modules may use those names.
 */
function callableModule(proto: object): Module {
  const m = ((...args: unknown[]) => m.forward(...args)) as unknown as Module;
  delete (m as { name?: string }).name;
  delete (m as { length?: number }).length;
  Object.setPrototypeOf(m, proto);
  return m;
}

/**
 * nn.Module. A module is callable: `model(x)` runs forward(x) with its hooks, as PyTorch's
 * `model(x)`; its type is forward's (the call signature below).
 */
export interface Module {
  (...args: Parameters<this['forward']>): ReturnType<this['forward']>;
}
export abstract class Module {
  // (declared, not initialised here: the constructor returns another object, the callable one,
  // and sets these on it)
  declare training: boolean;
  private declare _paramNames: string[];
  private declare _bufferNames: string[];
  private declare _nonPersistent: Set<string>;
  private declare _moduleNames: string[];
  private declare _references?: Set<string>; // (properties that adoptAssigned leaves: see unregistered)

  constructor() {
    const m = callableModule(new.target.prototype);
    m.training = true;
    m._paramNames = [];
    m._bufferNames = [];
    m._nonPersistent = new Set<string>();
    m._moduleNames = [];
    m._hooks = null;
    return m;
  }

  private slot(name: string): unknown {
    return (this as unknown as Record<string, unknown>)[name];
  }
  private setSlot(name: string, value: unknown): void {
    (this as unknown as Record<string, unknown>)[name] = value;
  }

  /** Registers (or replaces) a parameter; it requires grad and is kept past tidy(). */
  registerParameter<T extends Tensor | null>(name: string, t: T, requiresGrad = true): T {
    if (t) {
      keep(t);
      if (requiresGrad && isFloatingDtype(t.dtype) && !t.requiresGrad) t.requiresGrad_(true);
      parameterMarks.add(t);
    }
    if (!this._paramNames.includes(name)) this._paramNames.push(name);
    this.setSlot(name, t);
    return t;
  }
  /** Forgets a parameter's registration (its tensor is left to the caller). */
  unregisterParameter(name: string): void {
    this._paramNames = this._paramNames.filter((n) => n !== name);
    this.setSlot(name, null);
  }
  /** Forgets a buffer's registration (its tensor is left to the caller). */
  unregisterBuffer(name: string): void {
    this._bufferNames = this._bufferNames.filter((n) => n !== name);
    this._nonPersistent.delete(name);
    this.setSlot(name, null);
  }
  /** Forgets a child's registration. */
  unregisterModule(name: string): void {
    this._moduleNames = this._moduleNames.filter((n) => n !== name);
    this.setSlot(name, null);
  }
  /**
   * Children and parameters assigned as plain properties, as PyTorch code writes them
   * (this.fc = new nn.Linear(4, 2); this.w = nn.Parameter(torch.randn([3]))): registered under
   * their property names, in the order assigned, whenever the module is walked. (A plain tensor
   * property stays unregistered, as in PyTorch: registerBuffer makes it state.)
   */
  private adoptAssigned(): void {
    const self = this as unknown as Record<string, unknown>, references = this._references;
    // (for-in, not Object.keys: no array made; a module's methods are on its prototype, not enumerable)
    for (const key in self) {
      // (a parametrization's getter, which computes when read; or a property declared a reference)
      if (this._computed?.has(key) || references?.has(key)) continue;
      const v = self[key];
      if (v === null || (typeof v !== 'object' && typeof v !== 'function')) continue;
      if (v instanceof Module) {
        if (v !== this && !this._moduleNames.includes(key) && !this._paramNames.includes(key) && !this._bufferNames.includes(key)) this._moduleNames.push(key);
      } else if (v instanceof Tensor && parameterMarks.has(v) && !this._paramNames.includes(key) && !this._bufferNames.includes(key) && !this._moduleNames.includes(key)) {
        this._paramNames.push(key);
      }
    }
  }
  /**
   * Properties that hold a module or a parameter by reference, not as this module's child or
   * parameter: assigning to them registers nothing.
   */
  protected unregistered(...names: string[]): void {
    this._references ??= new Set();
    for (const n of names) this._references.add(n);
  }
  /** Whether name is one of this module's own parameters / buffers (not its children's). */
  hasOwnParameter(name: string): boolean {
    this.adoptAssigned();
    return this._paramNames.includes(name);
  }
  hasOwnBuffer(name: string): boolean {
    return this._bufferNames.includes(name);
  }
  /**
   * @internal properties computed on each read (parametrizations, nn/parametrize.ts): how to
   * make their descriptors for a module, so that deepCopy can put them on the copy too.
   */
  declare _computed?: Map<string, (m: Module) => PropertyDescriptor>;
  registerBuffer<T extends Tensor | null>(name: string, t: T, persistent = true): T {
    if (t) keep(t);
    if (!this._bufferNames.includes(name)) this._bufferNames.push(name);
    if (!persistent) this._nonPersistent.add(name);
    this.setSlot(name, t);
    return t;
  }
  registerModule<M extends Module | null>(name: string, m: M): M {
    // (PyTorch's add_module: "... is not a Module subclass"; unchecked, a Map or array passed for a layer vanished from parameters())
    if (m !== null && !(m instanceof Module)) throw new Error(`${this.constructor.name}: child '${name}' is ${describeNonModule(m)}, not a module (nn.Module)`);
    if (!this._moduleNames.includes(name)) this._moduleNames.push(name);
    this.setSlot(name, m);
    return m;
  }
  /** add_module: registerModule's other name. */
  addModule<M extends Module | null>(name: string, m: M): M {
    return this.registerModule(name, m);
  }
  /** Replaces a registered child (how LoRA wraps a layer in place). */
  replaceModule(name: string, m: Module): void {
    if (!this._moduleNames.includes(name)) throw new Error(`${this.constructor.name} has no child '${name}'`);
    this.setSlot(name, m);
  }

  // (any[]: a module whose forward takes (x: Tensor) is still a Module, callable as one)
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  abstract forward(...args: any[]): unknown;

  // ---------- hooks ----------
  private declare _hooks: ModuleHooks | null;
  private hookTable(): ModuleHooks {
    if (!this._hooks) {
      const hooks = (this._hooks = emptyHooks());
      // Callers call forward() directly: this instance's forward becomes the hook runner.
      const forward = this.forward as (...args: unknown[]) => unknown;
      (this as { forward: (...args: unknown[]) => unknown }).forward = (...args: unknown[]) => callWithHooks(this, hooks, forward, args);
    }
    return this._hooks;
  }
  /** @internal whether any hook is registered on this module now (a caller may bypass forward only where none is) */
  _hasHooks(): boolean {
    const h = this._hooks;
    return !!h && (h.forwardPre.size > 0 || h.forward.size > 0 || h.backward.size > 0 || h.backwardPre.size > 0);
  }
  /** register_forward_pre_hook: hook(module, args) runs before forward and may return new args. */
  registerForwardPreHook(hook: ForwardPreHook<this>): RemovableHandle {
    return addHook(this.hookTable(), 'forwardPre', hook as ForwardPreHook);
  }
  /** register_forward_hook: hook(module, args, output) runs after forward and may return a new output. */
  registerForwardHook(hook: ForwardHook<this>): RemovableHandle {
    return addHook(this.hookTable(), 'forward', hook as ForwardHook);
  }
  /**
   * register_full_backward_hook: hook(module, gradInput, gradOutput) runs once the gradients
   * with respect to the module's inputs are computed, and may return replacements for them.
   * Forward must take and return tensors (or arrays of them). The gradients given to hooks are
   * freed after the hook: keep() (or clone) what you store.
   */
  registerFullBackwardHook(hook: BackwardHook<this>): RemovableHandle {
    return addHook(this.hookTable(), 'backward', hook as BackwardHook);
  }
  /** register_full_backward_pre_hook (PyTorch 2): hook(module, gradOutput) may replace gradOutput before the module's backward. */
  registerFullBackwardPreHook(hook: BackwardPreHook<this>): RemovableHandle {
    return addHook(this.hookTable(), 'backwardPre', hook as BackwardPreHook);
  }

  /**
   * @internal (torch.func.functionalCall) every place that holds a parameter or buffer, by its
   * dotted name: tied tensors are listed under each of their names.
   */
  _tensorSlots(): { name: string; owner: Module; slot: string; tensor: Tensor; isBuffer: boolean }[] {
    const out: { name: string; owner: Module; slot: string; tensor: Tensor; isBuffer: boolean }[] = [];
    const walk = (m: Module, prefix: string, seen: Set<Module>) => {
      if (seen.has(m)) return;
      seen.add(m);
      m.adoptAssigned();
      for (const [names, isBuffer] of [[m._paramNames, false], [m._bufferNames, true]] as const) {
        for (const n of names) {
          const t = m.slot(n) as Tensor | null;
          if (t) out.push({ name: prefix ? `${prefix}.${n}` : n, owner: m, slot: n, tensor: t, isBuffer });
        }
      }
      for (const cn of m._moduleNames) {
        const c = m.slot(cn) as Module | null;
        if (c) walk(c, prefix ? `${prefix}.${cn}` : cn, seen);
      }
    };
    walk(this, '', new Set());
    return out;
  }
  /** @internal puts a tensor in a parameter's or buffer's place as it is (no keep, no requiresGrad): functionalCall swaps with it. */
  _setTensorSlot(slot: string, t: Tensor | null): void {
    this.setSlot(slot, t);
  }

  // ---------- walking ----------
  *namedChildren(): Generator<[string, Module]> {
    this.adoptAssigned();
    yield* this.registeredChildren();
  }
  /** The children as registered (adoptAssigned has run). */
  private *registeredChildren(): Generator<[string, Module]> {
    for (const n of this._moduleNames) {
      const m = this.slot(n) as Module | null;
      if (m) yield [n, m];
    }
  }
  children(): Module[] {
    return [...this.namedChildren()].map(([, m]) => m);
  }
  *namedModules(prefix = ''): Generator<[string, Module]> {
    this.adoptAssigned();
    yield [prefix, this];
    for (const [n, m] of this.registeredChildren()) yield* m.namedModules(prefix ? `${prefix}.${n}` : n);
  }
  /** Own parameters first, then children's; a tensor shared by two names (tied weights) once. */
  namedParameters(opts: string | { prefix?: string; trainableOnly?: boolean; recurse?: boolean } = {}, recurse?: boolean): [string, Tensor][] {
    // (or PyTorch's positional named_parameters(prefix, recurse))
    if (typeof opts === 'string') opts = { prefix: opts, recurse };
    else keywordOptions('namedParameters', opts, ['prefix', 'trainableOnly', 'recurse']);
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    const walk = (m: Module, prefix: string) => {
      m.adoptAssigned();
      for (const n of m._paramNames) {
        const t = m.slot(n) as Tensor | null;
        if (!t || seen.has(t)) continue;
        seen.add(t);
        if (opts.trainableOnly && !t.requiresGrad) continue;
        out.push([prefix ? `${prefix}.${n}` : n, t]);
      }
      if (opts.recurse === false) return;
      for (const [cn, c] of m.registeredChildren()) walk(c, prefix ? `${prefix}.${cn}` : cn);
    };
    walk(this, opts.prefix ?? '');
    return out;
  }
  parameters(opts: boolean | { trainableOnly?: boolean; recurse?: boolean } = {}): Tensor[] {
    // (or PyTorch's positional parameters(recurse))
    return this.namedParameters(typeof opts === 'boolean' ? { recurse: opts } : opts).map(([, t]) => t);
  }
  namedBuffers(opts: { persistentOnly?: boolean } = {}): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [prefix, m] of this.namedModules()) {
      for (const n of m._bufferNames) {
        const t = m.slot(n) as Tensor | null;
        if (!t || (opts.persistentOnly && m._nonPersistent.has(n))) continue;
        out.push([prefix ? `${prefix}.${n}` : n, t]);
      }
    }
    return out;
  }

  /** The buffers (running statistics, masks, ...), this module's and its children's. */
  buffers(opts: { persistentOnly?: boolean } = {}): Tensor[] {
    return this.namedBuffers(opts).map(([, t]) => t);
  }

  /** Number of parameter elements (tied weights counted once). */
  numParameters(opts: { trainableOnly?: boolean } = {}): number {
    return this.parameters(opts).reduce((s, t) => s + t.numel(), 0);
  }

  // ---------- modes ----------
  /**
   * Sets training mode here and, through each child's own train(), below (as PyTorch: a child
   * that overrides train, a TorchScript module or a lazy layer, is told too).
   */
  train(mode = true): this {
    if (typeof mode !== 'boolean') throw new Error(`train: the mode must be a boolean, got ${typeof mode}`);
    this.training = mode;
    this.adoptAssigned();
    for (const n of this._moduleNames) (this.slot(n) as Module | null)?.train(mode);
    return this;
  }
  eval(): this {
    return this.train(false);
  }
  requiresGrad_(requiresGrad = true): this {
    for (const p of this.parameters()) p.requiresGrad_(requiresGrad);
    return this;
  }
  /** The parameters' gradients set to null (PyTorch's default), or with zeroGrad(false) / { setToNone: false } zeroed in place. */
  zeroGrad(setToNone: boolean | { setToNone?: boolean } = true): void {
    const none = typeof setToNone === 'boolean' ? setToNone : optionsOf<{ setToNone?: boolean }>('Module.zeroGrad', [setToNone], ['setToNone']).setToNone ?? true;
    native.zeroGrads(this.parameters().map((p) => p._id), none);
  }

  // ---------- state ----------
  /**
   * Every parameter and persistent buffer by dotted name. Tied tensors appear under each of
   * their names (as PyTorch's state_dict). The tensors are the module's own: do not dispose.
   */
  stateDict(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const [prefix, m] of this.namedModules()) {
      const p = prefix ? `${prefix}.` : '';
      for (const n of m._paramNames) {
        const t = m.slot(n) as Tensor | null;
        if (t) out.set(p + n, t);
      }
      for (const n of m._bufferNames) {
        const t = m.slot(n) as Tensor | null;
        if (t && !m._nonPersistent.has(n)) out.set(p + n, t);
      }
      const extra = extraStateOf(m);
      if (extra) out.set(`${p}_extra_state`, extra.get());
    }
    return out;
  }

  /**
   * Copies values into the module's tensors (shapes must match; dtype and device follow the
   * module). strict: every key of each side must be present in the other.
   *
   * assign (PyTorch 2's assign=True): instead of copying, the module takes the state dict's
   * tensors themselves (their memory, dtype and device; a parameter keeps its requiresGrad), and
   * frees the ones it had. What a model built on the meta device (torch.nn.utils.skipInit, or
   * setDefaultDevice('meta')) loads its weights with: nothing is allocated, drawn or copied
   * twice. Unlike PyTorch's, tied parameters stay tied (the first key's tensor is adopted and a
   * different one under a later key copied into it). The state dict stays the caller's to free.
   */
  loadStateDict(state: Map<string, Tensor> | Record<string, Tensor>, ...args: PositionalOr<[strict?: boolean, assign?: boolean], { strict?: boolean; assign?: boolean }>): { missingKeys: string[]; unexpectedKeys: string[] } {
    // (PyTorch's load_state_dict(state_dict, strict=True, assign=False))
    const opts = optionsOf<{ strict?: boolean; assign?: boolean }>('loadStateDict', args, ['strict', 'assign']);
    if (state instanceof Module) throw new Error(`loadStateDict: given a module (${state.constructor.name}); pass its weights: loadStateDict(other.stateDict())`);
    if (!state || typeof state !== 'object' || Array.isArray(state) || state instanceof Tensor) {
      throw new Error(`loadStateDict: expected a state dict (tensors by name, a Map or an object), got ${state === null ? 'null' : Array.isArray(state) ? 'an array' : state instanceof Tensor ? 'a tensor' : typeof state}; torch.load(file) gives a file's weights, torch.loadObject(file).model an entry of a whole checkpoint`);
    }
    const src = state instanceof Map ? state : new Map(Object.entries(state));
    for (const [k, v] of src) {
      if (!(v instanceof Tensor)) {
        const what = v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'a dict' : `a ${typeof v}`;
        throw new Error(`loadStateDict: '${k}' is ${what}, not a tensor: is this a whole checkpoint? Take the model's entry of it (torch.loadObject(file).${k === 'model' || k === 'state_dict' ? k : 'model'})`);
      }
    }
    // Lazy layers not yet run take their sizes from the checkpoint first (nn/lazy.ts).
    for (const [prefix, m] of this.namedModules()) {
      (m as unknown as { _lazyLoad?: (p: string, s: Map<string, Tensor>) => void })._lazyLoad?.(prefix ? `${prefix}.` : '', src);
    }
    const own = this.stateDict();
    const missingKeys = [...own.keys()].filter((k) => !src.has(k));
    const unexpectedKeys = [...src.keys()].filter((k) => !own.has(k));
    // post hooks see (and may clear) what did not match before strict judges it, as PyTorch's
    const incompatible = { missingKeys, unexpectedKeys };
    for (const [, m] of this.namedModules()) for (const hook of m._loadPostHooks?.values() ?? []) hook(m, incompatible);
    if ((opts.strict ?? true) && (missingKeys.length || unexpectedKeys.length)) {
      throw new Error(
        `loadStateDict: ${missingKeys.length ? `missing keys: ${missingKeys.slice(0, 8).join(', ')}${missingKeys.length > 8 ? ', ...' : ''}` : ''}` +
          `${missingKeys.length && unexpectedKeys.length ? '; ' : ''}` +
          `${unexpectedKeys.length ? `unexpected keys: ${unexpectedKeys.slice(0, 8).join(', ')}${unexpectedKeys.length > 8 ? ', ...' : ''}` : ''}`,
      );
    }
    // extra state (a module's getExtraState / setExtraState, PyTorch's _extra_state) goes back through its setter
    const extraSetters = new Map<string, (t: Tensor) => void>();
    for (const [prefix, m] of this.namedModules()) {
      const extra = extraStateOf(m);
      if (extra) extraSetters.set(`${prefix ? `${prefix}.` : ''}_extra_state`, extra.set);
    }
    for (const [k, dst] of own) {
      const s = src.get(k);
      const ds = dst.shape, ss = s?.shape;
      if (ss && !extraSetters.has(k) && (ds.length !== ss.length || ds.some((d, i) => d !== ss[i]))) {
        throw new Error(`loadStateDict: '${k}' has shape [${ss}] in the checkpoint, [${ds}] in the model`);
      }
    }
    // assign: old tensor -> the one adopted in its place (and the source it was made from)
    const adopted = new Map<Tensor, { fresh: Tensor; from: Tensor }>();
    noGrad(() => {
      for (const [k, dst] of own) {
        const s = src.get(k);
        if (!s) continue;
        const setExtra = extraSetters.get(k);
        if (setExtra) {
          setExtra(s);
          continue;
        }
        const taken = adopted.get(dst);
        if (taken) {
          if (taken.from !== s) taken.fresh.copy_(s); // (a tied parameter given twice: it stays one tensor)
        } else if (opts.assign && s !== dst) {
          adopted.set(dst, { fresh: s.detach(), from: s }); // (its own handle: the caller frees theirs)
        } else if (s !== dst) {
          dst.copy_(s);
        }
      }
    });
    if (adopted.size) this.replaceTensors(new Map([...adopted].map(([old, { fresh }]) => [old, fresh])));
    return { missingKeys, unexpectedKeys };
  }

  /** @internal load-state-dict post hooks, by handle id */
  _loadPostHooks?: Map<number, (module: Module, incompatible: { missingKeys: string[]; unexpectedKeys: string[] }) => void>;
  /**
   * register_load_state_dict_post_hook: hook(module, { missingKeys, unexpectedKeys }) after each
   * loadStateDict on this module or one containing it; it may empty the arrays (in place) so
   * that strict loading accepts what it knows how to handle.
   */
  registerLoadStateDictPostHook(hook: (module: this, incompatible: { missingKeys: string[]; unexpectedKeys: string[] }) => void): RemovableHandle {
    const hooks = (this._loadPostHooks ??= new Map());
    const key = nextLoadHookId++;
    hooks.set(key, hook as (module: Module, incompatible: { missingKeys: string[]; unexpectedKeys: string[] }) => void);
    return { remove: () => { hooks.delete(key); } };
  }
  /**
   * to_empty: every parameter and buffer replaced by uninitialized memory of its shape on device
   * (each keeps its identity; from or to the meta device, new tensors take their places, as in
   * PyTorch, tied ones staying tied). How a model built on the meta device gets memory. Buffers
   * a module derives (resetBuffers: GPT-2's causal mask) are computed again.
   */
  toEmpty(opts: { device: Device }): this {
    keywordOptions('toEmpty', opts, ['device']);
    const replaced = new Map<Tensor, Tensor>();
    noGrad(() => {
      for (const t of new Set([...this.parameters(), ...this.buffers()])) {
        const fresh = emptyTensor(t.shape, { dtype: t.dtype, device: opts.device });
        if (!canSetData(t.device, fresh.device)) {
          replaced.set(t, fresh);
          continue;
        }
        native.setData(t._id, fresh._id);
        fresh.dispose();
      }
    });
    if (replaced.size) this.replaceTensors(replaced);
    for (const [, m] of this.namedModules()) m.resetBuffers?.();
    return this;
  }

  /**
   * Defined by a module whose buffers are derived, not learned (GPT-2's causal mask): computes
   * them again. toEmpty calls it, so that an uninitialised mask is never used for a real one.
   */
  resetBuffers?(): void;

  /**
   * Puts new tensors in the places of old ones: every slot that holds an old one (tied weights
   * stay tied), a parameter staying a parameter with its requiresGrad. The old tensors are
   * freed. (For what libtorch's set_data cannot do in place: moves from or to the meta device.)
   */
  private replaceTensors(fresh: Map<Tensor, Tensor>): void {
    for (const { owner, slot, tensor, isBuffer } of this._tensorSlots()) {
      const t = fresh.get(tensor);
      if (!t) continue;
      if (isBuffer) owner.setSlot(slot, keep(t));
      else owner.registerParameter(slot, t, tensor.requiresGrad);
    }
    for (const old of fresh.keys()) if (!old.isDisposed) old.dispose();
  }

  /**
   * Moves/casts every parameter and buffer (floating ones only for dtype) in place, as PyTorch's
   * Module.to: each keeps its identity (optimizers and tied weights still hold it), its
   * requiresGrad and its .grad, which moves with it.
   */
  /** PyTorch's forms too: to(device, dtype), to(dtype), to(tensor) (its dtype and device), each optionally then an options object */
  to(...args: ToArgs): this {
    const target = conversionOf('Module.to', args);
    if (target.copy) throw new Error('Module.to: copy is not an option for a module (its tensors are converted in place)');
    if (target.dtype && !isFloatingDtype(target.dtype) && !isComplexDtype(target.dtype)) {
      throw new Error(`Module.to only accepts floating point or complex dtypes, but got desired dtype=${target.dtype}`);
    }
    const done = new Set<Tensor>();
    const replaced = new Map<Tensor, Tensor>(); // (to or from the meta device: see convert)
    const convert = (t: Tensor) => {
      if (done.has(t)) return;
      done.add(t);
      // As PyTorch: the dtype applies to floating and complex tensors, the memory format to 4-D / 5-D ones.
      const dtype = target.dtype && (isFloatingDtype(t.dtype) || isComplexDtype(t.dtype)) ? target.dtype : undefined;
      const memoryFormat = target.memoryFormat && (t.ndim === 4 || t.ndim === 5) ? target.memoryFormat : undefined;
      if (!dtype && !target.device && !memoryFormat) return;
      noGrad(() => {
        if (target.device && !canSetData(t.device, target.device)) {
          // (to or from the meta device: a new tensor in its place, as PyTorch's _apply does; a gradient is dropped)
          replaced.set(t, t.to({ dtype, device: target.device, memoryFormat }));
          return;
        }
        for (const x of [t, t.grad]) {
          if (!x) continue;
          const converted = x.to({ dtype, device: target.device, memoryFormat, nonBlocking: target.nonBlocking });
          native.setData(x._id, converted._id);
          converted.dispose();
          if (x !== t) x.dispose(); // (the wrapper .grad made, not the gradient)
        }
      });
    };
    for (const [, m] of this.namedModules()) {
      for (const n of [...m._paramNames, ...m._bufferNames]) {
        const t = m.slot(n) as Tensor | null;
        if (t) convert(t);
      }
    }
    if (replaced.size) this.replaceTensors(replaced);
    return this;
  }

  /** to() shorthands, as PyTorch's: floating parameters and buffers to that dtype, or all to that device. */
  float(): this { return this.to({ dtype: 'float32' }); }
  double(): this { return this.to({ dtype: 'float64' }); }
  half(): this { return this.to({ dtype: 'float16' }); }
  bfloat16(): this { return this.to({ dtype: 'bfloat16' }); }
  cpu(): this { return this.to({ device: 'cpu' }); }
  cuda(device: number | Device = 0): this { return this.to({ device: typeof device === 'number' ? (`cuda:${device}` as Device) : device }); }

  /** Calls fn on every submodule (children first) and then this one, as PyTorch's apply (weight init). */
  apply(fn: (m: Module) => void): this {
    for (const c of this.children()) c.apply(fn);
    fn(this);
    return this;
  }
  /** Every module of the tree, this one first. */
  modules(): Module[] {
    return [...this.namedModules()].map(([, m]) => m);
  }
  /** The submodule at a dotted path ('transformer.h.0.attn'); '' is this module. */
  getSubmodule(target: string): Module {
    let m: Module = this;
    if (target === '') return m;
    for (const part of target.split('.')) {
      const next = [...m.namedChildren()].find(([n]) => n === part)?.[1];
      if (!next) throw new Error(`${m.constructor.name} has no attribute \`${part}\` (in '${target}')`);
      m = next;
    }
    return m;
  }
  /** The parameter at a dotted path ('transformer.wte.weight'). */
  getParameter(target: string): Tensor {
    const dot = target.lastIndexOf('.');
    const owner = this.getSubmodule(dot < 0 ? '' : target.slice(0, dot)), name = target.slice(dot + 1);
    owner.adoptAssigned();
    if (!owner._paramNames.includes(name)) throw new Error(`${owner.constructor.name} has no parameter \`${name}\` (in '${target}')`);
    const t = owner.slot(name) as Tensor | null;
    if (!t) throw new Error(`'${target}' is None`);
    return t;
  }
  /** The buffer at a dotted path ('norm.running_mean'). */
  getBuffer(target: string): Tensor {
    const dot = target.lastIndexOf('.');
    const owner = this.getSubmodule(dot < 0 ? '' : target.slice(0, dot)), name = target.slice(dot + 1);
    if (!owner._bufferNames.includes(name)) throw new Error(`${owner.constructor.name} has no buffer \`${name}\` (in '${target}')`);
    const t = owner.slot(name) as Tensor | null;
    if (!t) throw new Error(`'${target}' is None`);
    return t;
  }

  /**
   * A deep copy (Python's copy.deepcopy(model)): the same class, every parameter and buffer
   * cloned (ties kept, requiresGrad as it was), children copied, other fields shared (settings,
   * functions). Hooks are not copied. For EMA teachers, RL target networks, AveragedModel.
   */
  deepCopy(): this {
    return deepCopyOf(this, new Map()) as this;
  }

  /** Frees every parameter and buffer. The module is unusable afterwards. */
  dispose(): void {
    for (const [, m] of this.namedModules()) {
      for (const n of [...m._paramNames, ...m._bufferNames]) (m.slot(n) as Tensor | null)?.dispose();
    }
  }

  /** console.log(model) prints the module tree, as Python's print(model). */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
  /** A PyTorch-style printout of the module tree. */
  toString(): string {
    // As PyTorch's __repr__: the extra lines first, then one line (block) per child.
    const extra = this.extraRepr() ? this.extraRepr().split('\n') : [];
    const kids = [...this.namedChildren()].map(([n, m]) => `(${n}): ${m.toString().split('\n').join('\n  ')}`);
    if (!kids.length && extra.length <= 1) return `${this.constructor.name}(${extra[0] ?? ''})`;
    return `${this.constructor.name}(\n  ${[...extra, ...kids].join('\n  ')}\n)`;
  }
  protected extraRepr(): string {
    return '';
  }
}

/** A list of modules named "0", "1", ... (nn.ModuleList). */
/** What a value that should have been a module is, for errors: 'an array', 'a Map', 'a number'. */
export function describeNonModule(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  return Array.isArray(v) ? 'an array' : typeof v === 'object' ? `a ${(v as object).constructor?.name ?? 'object'}` : `a ${typeof v}`;
}

export class ModuleList<M extends Module = Module> extends Module {
  constructor(modules: M[] = []) {
    super();
    modules.forEach((m) => this.append(m));
  }
  /**
   * The modules in order: the registered children, read afresh, as PyTorch's lists are their
   * _modules. So a module assigned as a property (`seq.fc = layer`, PyTorch's __setattr__) is
   * appended, and `addModule` with an existing name replaces that item in place.
   */
  get items(): M[] {
    return this.namedItems().map(([, m]) => m);
  }
  /** [name, module] of each item: '0', '1', ..., or a named Sequential's names. */
  protected namedItems(): [string, M][] {
    return [...this.namedChildren()] as [string, M][];
  }
  append(m: M): this {
    this.registerModule(String(this.items.length), m);
    return this;
  }
  /** add_module / register_module on a list (or a Sequential): a new name appends the module, an existing one replaces it. */
  override registerModule<T extends Module | null>(name: string, m: T): T {
    if (m === null) throw new Error(`${this.constructor.name}: '${name}' must be a module, got null`);
    return super.registerModule(name, m);
  }
  /** Appends each module of modules (ModuleList.extend). */
  extend(modules: Iterable<M>): this {
    for (const m of modules) this.append(m);
    return this;
  }
  /** Puts m before position index, the later ones moving up by one (ModuleList.insert). */
  insert(index: number, m: M): void {
    const items = this.items, n = items.length;
    const at = Math.min(Math.max(index < 0 ? n + index : index, 0), n);
    this.append(m);
    for (let i = n; i > at; i--) this.replaceModule(String(i), items[i - 1]);
    this.replaceModule(String(at), m);
  }
  get length(): number {
    return this.items.length;
  }
  /** The i-th module (negative i counts from the end, as Python's indexing). */
  get(i: number): M {
    return this.items[this.position(i)];
  }
  /** list[i] = m (Python's __setitem__): the i-th module replaced, under the same name. */
  set(i: number, m: M): this {
    if (!(m instanceof Module)) throw new Error(`${this.constructor.name}.set: cannot assign ${describeNonModule(m)} as child module ${i} (a module expected)`);
    this.replaceModule(this.namedItems()[this.position(i)][0], m);
    return this;
  }
  /**
   * del list[i] (Python's __delitem__): removes the i-th module; those left are renumbered
   * '0', '1', ... as PyTorch renumbers them (a named Sequential's names too), so state-dict keys
   * follow the new positions. The module itself is the caller's (pop returns it).
   */
  delete(i: number): void {
    const at = this.position(i), items = this.namedItems();
    for (const [name] of items) {
      this.unregisterModule(name);
      delete (this as unknown as Record<string, unknown>)[name];
    }
    items.forEach(([, m], j) => j !== at && this.append(m));
  }
  /** list.pop(i = -1): removes the i-th module (del list[i]) and returns it. */
  pop(i = -1): M {
    const m = this.get(i);
    this.delete(i);
    return m;
  }
  // Python's index rules: negative from the end; out of range is an error, not undefined.
  private position(i: number): number {
    const n = this.items.length;
    if (!Number.isInteger(i) || i < -n || i >= n) throw new Error(`${this.constructor.name}: index ${i} is out of range (it has ${n} module${n === 1 ? '' : 's'})`);
    return i < 0 ? n + i : i;
  }
  /** Python's list[start:end]: a ModuleList of those modules (the same ones, numbered from 0 again). */
  slice(start?: number, end?: number): ModuleList<M> {
    return new ModuleList(this.items.slice(start, end));
  }
  [Symbol.iterator](): Iterator<M> {
    return this.items[Symbol.iterator]();
  }
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  forward(..._args: any[]): unknown {
    throw new Error('ModuleList has no forward(); iterate over it');
  }
}

// deepCopy's walk: modules and tensors (and the arrays, plain objects and Maps holding them)
// copied once each, so what was shared (tied weights, a ModuleList's items and its named
// children) stays shared in the copy.
function deepCopyOf(v: unknown, memo: Map<unknown, unknown>): unknown {
  if (v === null || (typeof v !== 'object' && !(v instanceof Module))) return v;
  if (memo.has(v)) return memo.get(v);
  if (v instanceof Tensor) {
    const t = keep(noGrad(() => v.detach().clone()));
    if (v.requiresGrad) t.requiresGrad_(true);
    memo.set(v, t);
    return t;
  }
  if (v instanceof Module) {
    if (typeof (v as unknown as { deepCopyRefused?: string }).deepCopyRefused === 'string') throw new Error((v as unknown as { deepCopyRefused: string }).deepCopyRefused);
    const copy = callableModule(Object.getPrototypeOf(v) as object) as unknown as Record<string, unknown>;
    memo.set(v, copy);
    for (const [k, x] of Object.entries(v)) {
      if (k === '_hooks') copy[k] = null; // (and the hook runner in front of forward is left out below)
      else if (k === 'forward' && (v as unknown as { _hooks: unknown })._hooks) continue;
      else copy[k] = deepCopyOf(x, memo);
    }
    for (const [name, describe] of v._computed ?? []) Object.defineProperty(copy, name, describe(copy as unknown as Module));
    return copy;
  }
  if (Array.isArray(v)) {
    const out: unknown[] = [];
    memo.set(v, out);
    for (const x of v) out.push(deepCopyOf(x, memo));
    return out;
  }
  if (v instanceof Map) {
    const out = new Map();
    memo.set(v, out);
    for (const [k, x] of v) out.set(k, deepCopyOf(x, memo));
    return out;
  }
  if (v instanceof Set) {
    const out = new Set();
    memo.set(v, out);
    for (const x of v) out.add(deepCopyOf(x, memo));
    return out;
  }
  if (Object.getPrototypeOf(v) === Object.prototype) {
    const out: Record<string, unknown> = {};
    memo.set(v, out);
    for (const [k, x] of Object.entries(v)) out[k] = deepCopyOf(x, memo);
    return out;
  }
  return v; // other objects (a tokenizer, a config class): shared, as they hold no tensors of the module's
}
