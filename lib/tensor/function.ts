// torch.autograd.Function (custom forward and backward written in TypeScript) and tensor hooks
// (Tensor.registerHook). libtorch's autograd engine runs the graph; when it reaches one of these
// nodes it calls back into JS (native/autograd.cc) through the one dispatcher below.
import { native } from './native';
import { Tensor, _wrap as wrap, _id as id } from './tensor';
import { handOver, tidy } from './scope';

/** What the engine calls: JS gradients in, JS gradients out (null: none). */
type Callback = (grads: (Tensor | null)[], saved: (Tensor | null)[]) => (Tensor | null)[];

// The live callbacks by id. Ids are slots, reused once libtorch says their node or hook is gone
// (a removed hook's slot holds null until then: its C++ side may still ask). Not a Map: a Map
// that churns keeps its old backing tables, and through them dead callbacks, alive across young
// GCs, which made every custom Function call pay for promoted garbage.
const callbacks: (Callback | null)[] = [];
const freeIds: number[] = [];

let addsSinceDrain = 0;
function addCallback(cb: Callback): number {
  // Now and then, take back the ids of callbacks whose graph nodes or hooks libtorch has freed.
  if (++addsSinceDrain === 32) {
    addsSinceDrain = 0;
    for (const gone of native.autogradReleased(dispatcher) as number[]) {
      callbacks[gone] = null;
      freeIds.push(gone);
    }
  }
  const cbId = freeIds.length > 0 ? freeIds.pop()! : callbacks.length;
  callbacks[cbId] = cb;
  return cbId;
}
/** @internal how many callback ids are in use or waiting for reuse (tests: the table stays small) */
export function _callbackSlots(): number {
  return callbacks.length;
}

// Called by native/autograd.cc during backward, with fresh handles (in the exchange buffer
// below: [nGrads, ...grads, nSaved, ...saved], or as two arrays); gives back handles that C++
// takes over (those of tensors the callback made, or aliases of others: what it returns may be
// a tensor the user keeps): their count, the handles in the exchange buffer, or an array of them.
function dispatch(cbId: number, gradHandles?: number[], savedHandles?: number[]): number | number[] {
  const handle = (h: number) => (h < 0 ? null : wrap(h));
  return tidy(() => {
    let grads: (Tensor | null)[], saved: (Tensor | null)[];
    if (gradHandles && savedHandles) {
      grads = gradHandles.map(handle);
      saved = savedHandles.map(handle);
    } else {
      // read it all before any JS runs that could write the buffer again
      const nGrads = exchange[0], nSaved = exchange[1 + nGrads];
      grads = new Array<Tensor | null>(nGrads);
      for (let k = 0; k < nGrads; k++) grads[k] = handle(exchange[1 + k]);
      saved = new Array<Tensor | null>(nSaved);
      for (let k = 0; k < nSaved; k++) saved[k] = handle(exchange[2 + nGrads + k]);
    }
    const cb = callbacks[cbId];
    if (!cb) return 0; // a removed hook: the gradient is left as it was
    const out = cb(grads, saved);
    if (out.length > exchange.length) return out.map((t) => (t ? (native.alias(id(t)) as number) : -1));
    for (const t of out) if (t) id(t); // (a disposed one throws here, before any handle has moved)
    for (let k = 0; k < out.length; k++) {
      const t = out[k];
      if (!t) {
        exchange[k] = -1;
        continue;
      }
      let earlier = k - 1;
      while (earlier >= 0 && out[earlier] !== t) earlier--;
      // a tensor made in this callback's scope is handed over; one from outside (or given
      // twice) crosses as an alias
      const h = earlier >= 0 ? -1 : handOver(t);
      exchange[k] = h >= 0 ? h : (native.alias(earlier >= 0 ? exchange[earlier] : id(t)) as number);
    }
    return out.length;
  });
}
// This copy's dispatcher: libtorch calls back, and reports released ids, to the copy that made the callback.
const dispatcher = native.setAutogradDispatcher(dispatch) as number;
// Handles cross to and from native/autograd.cc in this buffer, shared with C++ (one crossing and
// no JS arrays per call; each copy of this module gets the environment's one); longer lists
// cross as arrays.
const exchange = native.autogradExchange() as Int32Array;

/** Tensor.registerHook's return value (PyTorch's RemovableHandle). */
export interface RemovableHandle {
  remove(): void;
}

/** @internal Tensor.registerHook: hook(grad) may return a replacement gradient. */
export function registerTensorHook(t: Tensor, hook: (grad: Tensor) => Tensor | void | null | undefined): RemovableHandle {
  if (typeof hook !== 'function') throw new Error('registerHook: the hook must be a function (grad) => Tensor | undefined');
  if (!t.requiresGrad) throw new Error("registerHook: cannot register a hook on a tensor that doesn't require gradient");
  const cbId = addCallback(([grad]) => {
    const r = hook(grad!);
    if (r === undefined || r === null) return [null];
    if (!(r instanceof Tensor)) throw new Error(`registerHook: the hook returned ${typeof r}; return a Tensor (the new gradient) or nothing`);
    checkSameKind(grad!, r, 'a tensor hook');
    return [r];
  });
  const pos = native.registerHook(id(t), cbId, dispatcher) as number;
  return hookHandle(cbId, () => {
    if (!t.isDisposed) native.removeHook(id(t), pos);
  });
}

// A hook's handle: remove() (once) forgets its callback, and detaches it from libtorch where it can.
function hookHandle(cbId: number, detach?: () => void): RemovableHandle {
  const cb = callbacks[cbId];
  let removed = false;
  return {
    remove() {
      if (removed) return;
      removed = true;
      // The id is reused only once libtorch reports it released; by then it may be another's.
      if (callbacks[cbId] === cb) callbacks[cbId] = null;
      detach?.();
    },
  };
}

// A node hook's result: nothing (the gradients as they were) or one replacement per gradient.
function replacements(what: string, r: (Tensor | null)[] | void | null | undefined, grads: (Tensor | null)[]): (Tensor | null)[] {
  if (r === undefined || r === null) return grads;
  if (!Array.isArray(r) || r.length !== grads.length) throw new Error(`${what} returned ${Array.isArray(r) ? `${r.length} gradients` : typeof r}; return ${grads.length} (one per gradient, null for none) or nothing`);
  r.forEach((t, k) => {
    if (t && grads[k]) checkSameKind(grads[k]!, t, what);
  });
  return r;
}

/** @internal GraphNode.registerHook: hook(gradInputs, gradOutputs) may return new gradInputs. */
export function registerNodeHook(node: unknown, hook: (gradInputs: (Tensor | null)[], gradOutputs: (Tensor | null)[]) => (Tensor | null)[] | void | null | undefined): RemovableHandle {
  if (typeof hook !== 'function') throw new Error('registerHook: the hook must be a function (gradInputs, gradOutputs) => gradInputs | undefined');
  const cbId = addCallback((gradInputs, gradOutputs) => replacements("a graph node's hook", hook(gradInputs, gradOutputs), gradInputs));
  const key = native.nodeRegisterHook(node, cbId, dispatcher) as number;
  return hookHandle(cbId, () => native.nodeRemoveHook(node, key));
}
/** @internal GraphNode.registerPrehook: hook(gradOutputs) may return new gradOutputs. */
export function registerNodePrehook(node: unknown, hook: (gradOutputs: (Tensor | null)[]) => (Tensor | null)[] | void | null | undefined): RemovableHandle {
  if (typeof hook !== 'function') throw new Error('registerPrehook: the hook must be a function (gradOutputs) => gradOutputs | undefined');
  const cbId = addCallback((gradOutputs) => replacements("a graph node's pre-hook", hook(gradOutputs), gradOutputs));
  native.nodeRegisterPrehook(node, cbId, dispatcher);
  return hookHandle(cbId); // (libtorch keeps the pre-hook; without its callback it passes the gradients on)
}

// PyTorch checks a hook's result against the gradient it replaces (check_variable_result).
function checkSameKind(original: Tensor, result: Tensor, what: string): void {
  const a = original.shape, b = result.shape;
  if (a.length !== b.length || a.some((d, k) => d !== b[k])) {
    throw new Error(`${what} changed the size of the gradient (was [${a}], got [${b}])`);
  }
  if (original.dtype !== result.dtype || original.device !== result.device) {
    throw new Error(`${what} changed the type of the gradient (was ${original.dtype} on ${original.device}, got ${result.dtype} on ${result.device})`);
  }
}

// What a ctx holds until forward sets its lists: one shared empty list (never written: the setters replace it).
const NONE: never[] = [];

/** ctx of a custom Function: what forward leaves for backward. Other properties are free to set. */
export class FunctionCtx {
  /** @internal the forward's arguments, and whether autograd was recording when apply() was called */
  _args: unknown[] = NONE;
  /** @internal */ _recording = false;
  private _needsInputGrad: boolean[] | null = null;
  /** Per forward argument: whether it is a tensor that needs a gradient (PyTorch's ctx.needs_input_grad). */
  get needsInputGrad(): boolean[] {
    this._needsInputGrad ??= this._args.map((a) => this._recording && a instanceof Tensor && a.requiresGrad);
    return this._needsInputGrad;
  }
  /** @internal */ _toSave: (Tensor | null)[] = NONE;
  /** @internal */ _dirty: Tensor[] = NONE;
  /** @internal */ _nonDifferentiable: Tensor[] = NONE;
  /** @internal */ _materializeGrads = true;
  /** @internal set while backward runs */ _saved: (Tensor | null)[] | null = null;
  [key: string]: unknown;

  /**
   * Tensors backward needs (inputs, outputs or intermediates; null allowed). They are kept by
   * the graph, not by JS, and libtorch checks in backward that none was modified in place since.
   */
  saveForBackward(...tensors: (Tensor | null | undefined)[]): void {
    this._toSave = tensors.map((t) => t ?? null);
  }
  /** The tensors given to saveForBackward, in backward. */
  get savedTensors(): (Tensor | null)[] {
    if (this._saved === null) throw new Error('ctx.savedTensors can be read only in backward (save them in forward with ctx.saveForBackward)');
    return this._saved;
  }
  /** Inputs that forward modified in place (and returns). */
  markDirty(...tensors: Tensor[]): void {
    this._dirty = tensors;
  }
  /** Outputs that take no gradient (indices, masks): backward gets none for them. */
  markNonDifferentiable(...tensors: Tensor[]): void {
    this._nonDifferentiable = tensors;
  }
  /** false: backward gets null for outputs that had no gradient, instead of zeros (the default). */
  setMaterializeGrads(value: boolean): void {
    this._materializeGrads = value;
  }
}

type ForwardOutput = Tensor | Tensor[];
type BackwardOutput = Tensor | null | undefined | (Tensor | null | undefined)[];

// Per Function class, the native id of its node's name (registered on its first apply).
const nameIds = new WeakMap<object, number>();

/**
 * torch.autograd.Function: subclass it with static forward(ctx, ...args) and backward(ctx,
 * ...gradOutputs), and call it as MyFn.apply(...args).
 *
 *   class Exp extends torch.autograd.Function {
 *     static forward(ctx: FunctionCtx, x: Tensor) { const y = x.exp(); ctx.saveForBackward(y); return y; }
 *     static backward(ctx: FunctionCtx, gy: Tensor) { return gy.mul(ctx.savedTensors[0]!); }
 *   }
 *   const y = Exp.apply(x);
 *
 * forward runs without gradient recording and returns a Tensor or an array of tensors; backward
 * gets one gradient per output and returns one per forward argument (null for a non-tensor or
 * for an input that needs none). Both are synchronous. Tensors made inside them are freed after
 * (as in tidy()); what they return is not. With createGraph, backward's own ops are recorded,
 * so it can be differentiated again.
 */
export class Function {
  static forward(_ctx: FunctionCtx, ..._args: never[]): ForwardOutput {
    throw new Error(`${this.name}: a custom Function must define static forward(ctx, ...args)`);
  }
  static backward(_ctx: FunctionCtx, ..._gradOutputs: never[]): BackwardOutput {
    throw new Error(`${this.name}: this custom Function defines no static backward(ctx, ...gradOutputs)`);
  }

  static apply<A extends unknown[], R extends ForwardOutput>(
    this: { forward(ctx: FunctionCtx, ...args: A): R; backward(ctx: FunctionCtx, ...grads: never[]): BackwardOutput; name: string },
    ...args: A
  ): R {
    const cls = this;
    const ctx = new FunctionCtx();
    ctx._args = args;
    const tensorArgs: number[] = [];
    for (let k = 0; k < args.length; k++) if (args[k] instanceof Tensor) tensorArgs.push(k);
    let nameId = nameIds.get(cls);
    if (nameId === undefined) nameIds.set(cls, (nameId = native.functionName(`${cls.name}Backward`) as number));

    const backward: Callback = (grads, saved) => {
      ctx._saved = saved;
      let r: BackwardOutput;
      try {
        r = cls.backward(ctx, ...(grads as never[]));
      } finally {
        ctx._saved = null;
      }
      const list = Array.isArray(r) ? r : [r];
      // As PyTorch: extra trailing nulls are fine, anything else must match the arguments.
      let extra = false;
      for (let k = args.length; k < list.length; k++) extra ||= !!list[k];
      if (list.length < args.length || extra) {
        throw new Error(`function ${cls.name}Backward returned an incorrect number of gradients (expected ${args.length}, got ${list.length})`);
      }
      const out = new Array<Tensor | null>(tensorArgs.length);
      for (let j = 0; j < tensorArgs.length; j++) {
        const k = tensorArgs[j];
        const g = list[k];
        if (g !== null && g !== undefined && !(g instanceof Tensor)) {
          throw new Error(`function ${cls.name}Backward returned a ${typeof g} as gradient ${k}; return a Tensor or null`);
        }
        out[j] = g ?? null; // (its shape is checked in native/autograd.cc)
      }
      return out;
    };

    return tidy(() => {
      // Forward without recording (noGrad, with the mode it finds kept for needsInputGrad).
      const recording = native.setGradEnabled(false) as boolean;
      ctx._recording = recording;
      let raw: ForwardOutput;
      try {
        raw = cls.forward(ctx, ...args);
      } finally {
        native.setGradEnabled(recording);
      }
      const outs: Tensor[] = Array.isArray(raw) ? raw : [raw];
      for (let k = 0; k < outs.length; k++) {
        if (!(outs[k] instanceof Tensor)) throw new Error(`${cls.name}.forward must return a Tensor or an array of tensors (output ${k} is ${typeof outs[k]})`);
      }
      const cbId = addCallback(backward);
      // the five handle lists, each [count, ...handles], in the exchange buffer (or, when they do not fit, an array of their own)
      const n = 5 + tensorArgs.length + outs.length + ctx._toSave.length + ctx._dirty.length + ctx._nonDifferentiable.length;
      const buf = n <= exchange.length ? exchange : new Int32Array(n);
      let at = 0;
      buf[at++] = tensorArgs.length;
      for (const k of tensorArgs) buf[at++] = id(args[k] as Tensor);
      buf[at++] = outs.length;
      for (const o of outs) buf[at++] = id(o);
      buf[at++] = ctx._toSave.length;
      for (const t of ctx._toSave) buf[at++] = t ? id(t) : -1;
      buf[at++] = ctx._dirty.length;
      for (const t of ctx._dirty) buf[at++] = id(t);
      buf[at++] = ctx._nonDifferentiable.length;
      for (const t of ctx._nonDifferentiable) buf[at++] = id(t);
      const r = native.functionApply(buf === exchange ? at : buf, ctx._materializeGrads, cbId, nameId, dispatcher) as number | number[];
      let wrapped: Tensor[];
      if (typeof r === 'number') {
        wrapped = new Array<Tensor>(r);
        for (let k = 0; k < r; k++) wrapped[k] = wrap(exchange[k]);
      } else {
        wrapped = r.map(wrap);
      }
      return (Array.isArray(raw) ? wrapped : wrapped[0]) as R;
    });
  }
}
