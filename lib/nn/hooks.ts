// Module hooks, as PyTorch's nn.Module: forward pre-hooks, forward hooks and full backward
// (pre-)hooks. Modules call each other's forward() directly, so the first hook registered on a
// module puts a wrapper in front of that instance's forward; the wrapper runs the hooks.
//
// Backward hooks follow torch/utils/hooks.py's BackwardHook: the tensor arguments and results
// pass through identity Functions, whose backward sees the gradients with respect to the
// module's outputs (grad_output) and then inputs (grad_input).
import { Tensor } from '../tensor/tensor';
import { Function, FunctionCtx, RemovableHandle } from '../tensor/function';
import { isGradEnabled } from '../tensor/runtime';
import { keep } from '../tensor/scope';
import { native } from '../tensor/native';
import { _wrap as wrap, _id as id } from '../tensor/tensor';
import type { Module } from './module';

/** hook(module, args): nothing, or new arguments (an array; any other value is the one argument). */
export type ForwardPreHook<M = Module> = (module: M, args: unknown[]) => unknown;
/** hook(module, args, output): nothing, or a new output. */
export type ForwardHook<M = Module> = (module: M, args: unknown[], output: unknown) => unknown;
/**
 * hook(module, gradInput, gradOutput): gradInput has one entry per forward argument (null for
 * non-tensors and where there is none), gradOutput one per output; return nothing or new gradInput.
 */
export type BackwardHook<M = Module> = (module: M, gradInput: (Tensor | null)[], gradOutput: (Tensor | null)[]) => (Tensor | null)[] | void | undefined;
/** hook(module, gradOutput), before the module's gradients are computed: nothing, or new gradOutput. */
export type BackwardPreHook<M = Module> = (module: M, gradOutput: (Tensor | null)[]) => (Tensor | null)[] | void | undefined;

export interface ModuleHooks {
  forwardPre: Map<number, ForwardPreHook>;
  forward: Map<number, ForwardHook>;
  backward: Map<number, BackwardHook>;
  backwardPre: Map<number, BackwardPreHook>;
}

let nextHookId = 0;

/** Adds hook to one of a module's hook tables; the handle's remove() takes it out again. */
export function addHook<K extends keyof ModuleHooks>(hooks: ModuleHooks, kind: K, hook: ModuleHooks[K] extends Map<number, infer H> ? H : never): RemovableHandle {
  if (typeof hook !== 'function') throw new Error(`register ${kind} hook: the hook must be a function`);
  const hookId = nextHookId++;
  (hooks[kind] as Map<number, unknown>).set(hookId, hook);
  return { remove: () => void hooks[kind].delete(hookId) };
}

export function emptyHooks(): ModuleHooks {
  return { forwardPre: new Map(), forward: new Map(), backward: new Map(), backwardPre: new Map() };
}

/** What the wrapper in front of a hooked module's forward does (nn.Module._call_impl). */
export function callWithHooks(module: Module, hooks: ModuleHooks, forward: (...args: unknown[]) => unknown, args: unknown[]): unknown {
  for (const hook of hooks.forwardPre.values()) {
    const r = hook(module, args);
    if (r !== undefined && r !== null) args = Array.isArray(r) ? r : [r];
  }
  const backward = hooks.backward.size > 0 || hooks.backwardPre.size > 0 ? new BackwardHookState(module, hooks, args.length) : null;
  if (backward) args = backward.setupInputs(args);
  let output = forward.apply(module, args);
  for (const hook of hooks.forward.values()) {
    const r = hook(module, args, output);
    if (r !== undefined) output = r;
  }
  if (backward) output = backward.setupOutputs(output);
  return output;
}

// The identity Functions the tensors pass through. Their graph nodes call back the state that
// made them; backward only passes gradients on (after the hooks had their say).
class BackwardHookInputs extends Function {
  static forward(ctx: FunctionCtx, state: BackwardHookState, ...tensors: Tensor[]): Tensor[] {
    ctx.state = state;
    ctx.markNonDifferentiable(...tensors.filter((t) => !t.requiresGrad));
    return tensors;
  }
  static backward(ctx: FunctionCtx, ...grads: (Tensor | null)[]): (Tensor | null)[] {
    return [null, ...(ctx.state as BackwardHookState).onGradInputs(grads)];
  }
}
class BackwardHookOutputs extends Function {
  static forward(ctx: FunctionCtx, state: BackwardHookState, ...tensors: Tensor[]): Tensor[] {
    ctx.state = state;
    ctx.markNonDifferentiable(...tensors.filter((t) => !t.requiresGrad));
    ctx.setMaterializeGrads(false); // grad_output is null for an output that got no gradient
    return tensors;
  }
  static backward(ctx: FunctionCtx, ...grads: (Tensor | null)[]): (Tensor | null)[] {
    return [null, ...(ctx.state as BackwardHookState).onGradOutputs(grads)];
  }
}

function tensorIndices(values: unknown[]): number[] {
  const out: number[] = [];
  values.forEach((v, k) => v instanceof Tensor && out.push(k));
  return out;
}

/** One forward call's backward hooks (torch.utils.hooks.BackwardHook). */
class BackwardHookState {
  private gradOutputs: (Tensor | null)[] | null = null;
  private inputIndices: number[] | null = null; // null: no input needs a gradient
  private outputIndices: number[] = [];
  private nOutputs = 0;

  constructor(private module: Module, private hooks: ModuleHooks, private nInputs: number) {}

  setupInputs(args: unknown[]): unknown[] {
    const idx = tensorIndices(args);
    const tensors = idx.map((k) => args[k] as Tensor);
    if (!isGradEnabled() || !tensors.some((t) => t.requiresGrad)) return args;
    const through = BackwardHookInputs.apply(this, ...tensors);
    this.inputIndices = idx;
    const out = [...args];
    idx.forEach((k, j) => (out[k] = through[j]));
    return out;
  }

  setupOutputs(output: unknown): unknown {
    const single = output instanceof Tensor;
    const list = single ? [output] : Array.isArray(output) ? output : null;
    const idx = list ? tensorIndices(list) : [];
    const tensors = idx.map((k) => list![k] as Tensor);
    if (!isGradEnabled() || !tensors.some((t) => t.requiresGrad)) {
      if (this.inputIndices && tensors.length === 0) {
        // PyTorch would silently never call the hooks here; say so instead.
        throw new Error(`${this.module.constructor.name}: backward hooks need forward to return a Tensor or an array of tensors`);
      }
      return output;
    }
    this.outputIndices = idx;
    this.nOutputs = list!.length;
    const through = BackwardHookOutputs.apply(this, ...tensors);
    if (single) return through[0];
    const out = [...list!];
    idx.forEach((k, j) => (out[k] = through[j]));
    return out;
  }

  // Gradients with respect to the outputs: the pre-hooks may replace them.
  onGradOutputs(grads: (Tensor | null)[]): (Tensor | null)[] {
    let full = pack(this.outputIndices, grads, this.nOutputs);
    for (const hook of this.hooks.backwardPre.values()) {
      const r = hook(this.module, full);
      if (r === undefined || r === null) continue;
      if (r.length !== full.length) throw new Error(`backward pre-hook returned ${r.length} grad_output, expected ${full.length}`);
      full = r;
    }
    // Held until the inputs' gradients arrive: our own handles, past this callback's scope.
    this.setGradOutputs(full.map((g) => (g ? keep(wrap(native.alias(id(g)))) : null)));
    if (this.inputIndices === null) {
      // No input needs a gradient: the hooks run now, with grad_input all null.
      const gradInputs = new Array<Tensor | null>(this.nInputs).fill(null);
      for (const hook of this.hooks.backward.values()) {
        const r = hook(this.module, gradInputs, full);
        if (r && r.some((g) => g)) throw new Error('backward hook of a module whose inputs need no gradient must return nothing (or only nulls)');
      }
      this.setGradOutputs(null);
    }
    return this.outputIndices.map((k) => full[k]);
  }

  // Gradients with respect to the inputs: the hooks see them with grad_output and may replace them.
  onGradInputs(grads: (Tensor | null)[]): (Tensor | null)[] {
    if (this.gradOutputs === null) return grads; // reached without passing the outputs (double backward)
    const indices = this.inputIndices!;
    let full = pack(indices, grads, this.nInputs);
    for (const hook of this.hooks.backward.values()) {
      const r = hook(this.module, full, this.gradOutputs);
      if (r === undefined || r === null) continue;
      if (r.length !== full.length) throw new Error(`Backward hook returned an invalid number of grad_input, got ${r.length}, but expected ${full.length}`);
      full = r;
    }
    this.setGradOutputs(null);
    return indices.map((k) => full[k]);
  }

  private setGradOutputs(grads: (Tensor | null)[] | null): void {
    for (const g of this.gradOutputs ?? []) g?.dispose();
    this.gradOutputs = grads;
  }
}

function pack(indices: number[], values: (Tensor | null)[], size: number): (Tensor | null)[] {
  const out = new Array<Tensor | null>(size).fill(null);
  indices.forEach((k, j) => (out[k] = values[j]));
  return out;
}
