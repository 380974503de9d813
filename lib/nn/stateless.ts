// torch.func.functional_call (torch.nn.utils.stateless): runs a module with other tensors in the
// places of its parameters and buffers, for this call only. Gradients then flow to those tensors
// (meta-learning, per-example gradients, ensembles of weights), and the module is left as it was.
import { Tensor } from '../tensor/tensor';
import { Module } from './module';

export interface FunctionalCallOptions {
  /** tied weights (GPT-2's lm_head / wte) follow a replacement given under any of their names (true) */
  tieWeights?: boolean;
  /** every parameter and buffer must be given (false: the module's own fill the rest) */
  strict?: boolean;
}

/**
 * module.forward(...args) with the tensors of `parameters` (by dotted names, as stateDict's; one
 * object / Map, or several merged in order) standing in for the module's own. args: the
 * arguments of forward as an array (anything else is the one argument).
 */
export function functionalCall<R = unknown>(
  module: Module,
  parameters: Record<string, Tensor> | Map<string, Tensor> | (Record<string, Tensor> | Map<string, Tensor>)[],
  args: unknown,
  opts: FunctionalCallOptions = {},
): R {
  const given = new Map<string, Tensor>();
  for (const dict of Array.isArray(parameters) ? parameters : [parameters]) {
    for (const [k, v] of dict instanceof Map ? dict : Object.entries(dict)) {
      if (given.has(k)) throw new Error(`functionalCall: '${k}' appeared in more than one of the dictionaries`);
      if (!(v instanceof Tensor)) throw new Error(`functionalCall: '${k}' must be a Tensor, got ${v === null ? 'null' : typeof v}`);
      given.set(k, v);
    }
  }
  const slots = module._tensorSlots();
  const names = new Set(slots.map((s) => s.name));
  const unexpected = [...given.keys()].filter((k) => !names.has(k));
  if (unexpected.length) {
    throw new Error(`functionalCall: ${module.constructor.name} has no parameter or buffer ${unexpected.map((k) => `'${k}'`).join(', ')} (names are stateDict's)`);
  }
  // A tied tensor takes the replacement given under any of its names (two different ones: an error).
  const byTensor = new Map<Tensor, { name: string; t: Tensor }>();
  if (opts.tieWeights ?? true) {
    for (const s of slots) {
      const r = given.get(s.name);
      if (!r) continue;
      const prev = byTensor.get(s.tensor);
      if (prev && prev.t !== r) throw new Error(`functionalCall: '${prev.name}' and '${s.name}' are tied, but were given different tensors`);
      byTensor.set(s.tensor, { name: s.name, t: r });
    }
  }
  const replacement = (s: (typeof slots)[number]) => given.get(s.name) ?? byTensor.get(s.tensor)?.t;
  if (opts.strict) {
    const missing = slots.filter((s) => !replacement(s)).map((s) => `'${s.name}'`);
    if (missing.length) throw new Error(`functionalCall (strict): missing ${missing.join(', ')}`);
  }
  const swapped: { owner: Module; slot: string; tensor: Tensor }[] = [];
  try {
    for (const s of slots) {
      const r = replacement(s);
      if (!r) continue;
      s.owner._setTensorSlot(s.slot, r);
      swapped.push(s);
    }
    return (module.forward as (...a: unknown[]) => R)(...(Array.isArray(args) ? args : [args]));
  } finally {
    for (const s of swapped.reverse()) s.owner._setTensorSlot(s.slot, s.tensor);
  }
}
