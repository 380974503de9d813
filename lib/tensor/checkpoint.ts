// torch.utils.checkpoint: trade compute for memory. fn runs without autograd in forward, keeping
// only its inputs; backward runs it again with autograd (the random generators replayed, so
// dropout draws the same masks) and backpropagates through that.
import { isOptionsObject, keywordOptions } from './options';
import { Tensor } from './tensor';
import { Function, FunctionCtx } from './function';
import { backward as autogradBackward, grad as autogradGrad } from './autograd';
import { autocast, autocastState, enableGrad, getRngState, setRngState, isGradEnabled } from './runtime';
import type { DType, Device } from './dtype';

type Outputs = Tensor | Tensor[];
interface HasForwardAndParameters {
  forward(...args: never[]): unknown;
  parameters(): Tensor[];
}

let warnedNoGradInputs = false;

/** PyTorch's checkpoint keywords: given last as an options object, they are taken out of fn's arguments. */
const CHECKPOINT_KEYWORDS = ['useReentrant', 'preserveRngState', 'determinismCheck', 'debug'];
/**
 * torch.utils.checkpoint.checkpoint(fn, ...args): fn's result (a Tensor or an array of tensors)
 * with fn's activations not kept for backward. fn may be a function or a module (nn.Module:
 * its forward runs).
 *
 * For a module, its trainable parameters take part as inputs of the checkpoint, so they get
 * gradients even when no argument needs one (a frozen embedding in front of LoRA layers). A plain
 * function's gradients reach the tensors it uses as PyTorch's reentrant checkpoint does: only
 * when some argument needs a gradient.
 */
export function checkpoint<R extends Outputs>(fn: (...args: never[]) => R, ...args: unknown[]): R;
/** A module's forward under checkpoint (its result typed as a Tensor unless R says otherwise). */
export function checkpoint<R extends Outputs = Tensor>(module: HasForwardAndParameters, ...args: unknown[]): R;
export function checkpoint<R extends Outputs>(fn: ((...args: never[]) => R) | HasForwardAndParameters, ...args: unknown[]): R {
  const last = args[args.length - 1];
  if (isOptionsObject(last) && Object.keys(last).length && Object.keys(last).every((k) => CHECKPOINT_KEYWORDS.includes(k) || k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()) !== k)) {
    // (checkpoint(fn, x, { useReentrant: false }) as PyTorch code writes it: one recompute serves both (the RNG state
    // always replayed); where they differ, a plain fn whose inputs need no gradient, the warning below says so.
    // Python's use_reentrant names useReentrant.)
    keywordOptions('checkpoint', last, CHECKPOINT_KEYWORDS);
    args = args.slice(0, -1);
  }
  // (a module is itself callable, a function: told apart by its forward and parameters)
  const isModule = fn !== null && (typeof fn === 'object' || typeof fn === 'function') && typeof (fn as HasForwardAndParameters).forward === 'function' && typeof (fn as HasForwardAndParameters).parameters === 'function';
  const run = isModule ? (...a: unknown[]) => (fn as HasForwardAndParameters).forward(...(a as never[])) as R : (fn as (...a: unknown[]) => R);
  if (!isModule && typeof fn !== 'function') throw new Error('checkpoint: fn must be a function or a module');
  const parameters = isModule ? (fn as HasForwardAndParameters).parameters().filter((p) => p.requiresGrad) : [];
  if (isGradEnabled() && !isModule && !args.some((a) => a instanceof Tensor && a.requiresGrad) && !warnedNoGradInputs) {
    warnedNoGradInputs = true;
    console.warn('torch.utils.checkpoint: none of the inputs need a gradient, so no gradient will reach what fn uses; pass a module (checkpoint(module, ...args)) to include its parameters');
  }
  return checkpointWithParameters(run, args, parameters);
}

/**
 * torch.utils.checkpoint.checkpoint_sequential(functions, segments, input): the layers (an array
 * of modules, or a Sequential's children) run in `segments` chunks, every chunk but the last
 * checkpointed (its activations recomputed in backward): memory for depth. The chunks' trainable
 * parameters get their gradients whether or not the input needs one.
 */
export function checkpointSequential(functions: HasForwardAndParameters[] | { items: HasForwardAndParameters[] }, segments: number, input: Tensor): Tensor {
  const layers = Array.isArray(functions) ? functions : functions.items;
  if (!(Number.isInteger(segments) && segments >= 1)) throw new Error(`checkpointSequential: segments must be a positive integer, got ${segments}`);
  const size = Math.floor(layers.length / segments);
  const runRange = (start: number, end: number) => (x: unknown) => {
    let h = x as Tensor;
    for (let j = start; j <= end; j++) h = (layers[j] as unknown as { forward(x: Tensor): Tensor }).forward(h);
    return h;
  };
  let end = -1;
  let h = input;
  for (let start = 0; start < size * (segments - 1); start += size) {
    end = start + size - 1;
    const params = layers.slice(start, end + 1).flatMap((m) => m.parameters().filter((p) => p.requiresGrad));
    h = checkpointWithParameters(runRange(start, end), [h], params) as Tensor;
  }
  return runRange(end + 1, layers.length - 1)(h);
}

/** @internal checkpoint with explicit parameters (tensors fn uses that must get gradients). */
export function checkpointWithParameters<R extends Outputs>(run: (...args: unknown[]) => R, args: unknown[], parameters: Tensor[]): R {
  return Checkpoint.apply(run, args.length, ...args, ...parameters) as R;
}

class Checkpoint extends Function {
  static forward(ctx: FunctionCtx, run: (...args: unknown[]) => Outputs, nArgs: number, ...inputs: unknown[]): Outputs {
    const args = inputs.slice(0, nArgs);
    ctx.run = run;
    ctx.args = args.map((a) => (a instanceof Tensor ? null : a)); // non-tensors as they are
    ctx.parameters = inputs.slice(nArgs);
    ctx.saveForBackward(...args.map((a) => (a instanceof Tensor ? a : null)));
    // The generators fn draws from: the CPU's, and each CUDA device's among the arguments.
    const devices = new Set<Device>(['cpu']);
    for (const a of args) if (a instanceof Tensor && a.device !== 'cpu') devices.add(a.device);
    ctx.rngStates = [...devices].map((d) => [d, getRngState(d)] as const);
    ctx.autocast = (['cpu', 'cuda'] as const).map((deviceType) => ({ deviceType, ...autocastState(deviceType) }));
    const out = run(...args);
    const list = Array.isArray(out) ? out : [out];
    if (!list.every((t) => t instanceof Tensor)) throw new Error('checkpoint: fn must return a Tensor or an array of tensors');
    return out;
  }

  static backward(ctx: FunctionCtx, ...gradOutputs: (Tensor | null)[]): (Tensor | null)[] {
    const saved = ctx.savedTensors;
    const template = ctx.args as unknown[];
    const parameters = ctx.parameters as Tensor[];
    // Fresh leaves for the tensor arguments: the recomputed graph ends at them.
    const args = template.map((a, k) => (saved[k] ? saved[k]!.detach().requiresGrad_(saved[k]!.requiresGrad) : a));
    const rngStates = ctx.rngStates as (readonly [Device, Buffer])[];
    const now = rngStates.map(([d]) => [d, getRngState(d)] as const);
    let outs: Tensor[];
    try {
      for (const [d, s] of rngStates) setRngState(s, d);
      // Recomputed as it was computed: autograd on, and autocast as it was in forward.
      let recompute = () => (ctx.run as (...a: unknown[]) => Outputs)(...args);
      for (const a of ctx.autocast as { deviceType: 'cpu' | 'cuda'; enabled: boolean; dtype: DType }[]) {
        const inner = recompute;
        recompute = () => autocast(inner, a);
      }
      const out = enableGrad(recompute);
      outs = Array.isArray(out) ? out : [out];
    } finally {
      for (const [d, s] of now) setRngState(s, d); // the generators go on as if fn had run once
    }
    const used = outs.map((_, k) => k).filter((k) => outs[k].requiresGrad && gradOutputs[k]);
    const leaves = args.filter((a): a is Tensor => a instanceof Tensor && a.requiresGrad);
    let leafGrads: (Tensor | null)[] = leaves.map(() => null);
    let parameterGrads: (Tensor | null)[] = parameters.map(() => null);
    if (used.length) {
      const tensors = used.map((k) => outs[k]), grads = used.map((k) => gradOutputs[k]);
      if (parameters.length) {
        // The parameters are inputs of this node: their gradients go back through it, not into .grad here.
        const all = autogradGrad(tensors, [...leaves, ...parameters], { gradOutputs: grads, allowUnused: true });
        leafGrads = all.slice(0, leaves.length);
        parameterGrads = all.slice(leaves.length);
      } else {
        autogradBackward(tensors, { gradTensors: grads }); // reentrant: what fn used accumulates directly
        leafGrads = leaves.map((leaf) => leaf.grad);
      }
    }
    let j = 0;
    const argGrads = args.map((a) => (a instanceof Tensor && a.requiresGrad ? leafGrads[j++] : null));
    return [null, null, ...argGrads, ...parameterGrads];
  }
}
