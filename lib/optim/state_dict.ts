// Optimizer state dicts in PyTorch's layout, so that the checkpoint every PyTorch tutorial writes,
//   torch.save({ epoch, model: model.stateDict(), optimizer: optimizer.stateDict() }, file)
// loads back here (optimizer.loadStateDict(torch.loadObject(file).optimizer)) and in Python
// (optimizer.load_state_dict(torch.load(file)['optimizer'])), and Python's loads here.
//
// PyTorch's layout: { state: { <index>: { step, exp_avg, ... } }, param_groups: [{ lr, betas,
// weight_decay, ..., params: [<index>, ...] }] }, a parameter's index counting over all groups in
// order. The optimizers keep a flat one inside (state tensors by '<key>.<name>', safetensors-ready,
// steps by key, settings by our names), which the Trainer's checkpoints hold; both convert here.
import { Tensor } from '../tensor/tensor';
import type { Picklable } from '../io/torchsave';
import { isOptionsObject } from '../tensor/options';

/** PyTorch's optimizer.state_dict(): per-parameter state by index, the groups' settings (PyTorch's key names) with params as indices. */
export type TorchOptimizerStateDict = {
  /** by the parameter's index over all groups: its step (a number) and state tensors by PyTorch's names (LBFGS: lists and numbers too) */
  state: Map<number, Record<string, Picklable>>;
  /** each group's settings by PyTorch's names (weight_decay, ...) and `params`, its parameters' indices */
  param_groups: Record<string, Picklable>[];
};

/** The flat layout: state tensors by '<key>.<name>', steps by key, the groups' settings by our names. */
export interface FlatOptimizerStateDict {
  tensors: Map<string, Tensor>;
  steps?: Record<string, number>;
  groups?: object[];
}

/** What a group offers here: its parameters, and their names where the group was built with them. */
interface GroupLike { params: Tensor[]; names?: string[] }
/** A parameter's key in the flat layout ('<group>.<index>', or its name). */
export type StateKey = (group: number, index: number) => string;
export const indexKey: StateKey = (gi, i) => `${gi}.${i}`;

export const snake = (k: string) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
export const camel = (k: string) => k.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** Which groups have parameters (an empty group, as HF's no-decay group under LoRA, has none). */
export const nonEmptyGroups = (groups: { params?: unknown }[]): number[] =>
  groups.map((g, k) => (Array.isArray(g.params) && g.params.length ? k : -1)).filter((k) => k >= 0);

/** The flat layout as PyTorch's. */
export function torchLayout(flat: FlatOptimizerStateDict, groups: GroupLike[], keyOf: StateKey): TorchOptimizerStateDict {
  const state = new Map<number, Record<string, Picklable>>();
  const paramGroups: Record<string, Picklable>[] = [];
  let index = 0;
  groups.forEach((g, gi) => {
    const params: number[] = [];
    g.params.forEach((_, i) => {
      const key = keyOf(gi, i);
      const entry: Record<string, Picklable> = {};
      if (flat.steps && key in flat.steps) entry.step = flat.steps[key];
      for (const [k, t] of flat.tensors) {
        const name = k.startsWith(`${key}.`) ? k.slice(key.length + 1) : '';
        if (name && !name.includes('.')) entry[name] = t;
      }
      if (Object.keys(entry).length) state.set(index, entry);
      params.push(index++);
    });
    const settings = (flat.groups?.[gi] ?? {}) as Record<string, Picklable>;
    const group: Record<string, Picklable> = {};
    for (const [k, v] of Object.entries(settings)) if (k !== 'params' && k !== 'names') group[snake(k)] = v;
    // (PyTorch 2.6's layout for optimizers built over named parameters)
    if (g.names) group.param_names = [...g.names];
    group.params = params;
    paramGroups.push(group);
  });
  return { state, param_groups: paramGroups };
}

/** A number from a step as PyTorch saves it: an int, a float or a 0-d tensor. */
function stepNumber(name: string, where: string, v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Tensor && v.numel() === 1) return Number(v.item());
  throw new Error(`${name}.loadStateDict: ${where}.step is not a number`);
}

/**
 * Either layout (from stateDict(), from torch.loadObject of a file that holds one, written here
 * or by Python) as the flat one, checked against the optimizer's groups: the same number of
 * groups and of parameters in each, as PyTorch's load_state_dict checks. Settings come back by
 * our names, those the optimizer has (PyTorch's foreach, fused, capturable... are left out).
 */
export function flatLayout(name: string, sd: unknown, groups: (GroupLike & object)[], keyOf: StateKey): FlatOptimizerStateDict {
  if (!sd || typeof sd !== 'object') throw new Error(`${name}.loadStateDict: expected a state dict (what stateDict() gives), not ${sd === null ? 'null' : typeof sd}`);
  const given = sd as Record<string, unknown>;
  if ('state' in given && 'param_groups' in given) return fromTorchLayout(name, given, groups, keyOf);
  if ('tensors' in given) {
    // (the flat layout; its tensors arrive as a plain object when read back with torch.loadObject)
    const tensors = given.tensors instanceof Map ? given.tensors : isOptionsObject(given.tensors) ? new Map(Object.entries(given.tensors)) : null;
    if (!tensors || ![...tensors.values()].every((t) => t instanceof Tensor)) throw new Error(`${name}.loadStateDict: its 'tensors' are not tensors by name`);
    return { tensors: tensors as Map<string, Tensor>, steps: (given.steps ?? {}) as Record<string, number>, groups: given.groups as object[] | undefined };
  }
  throw new Error(`${name}.loadStateDict: this is not an optimizer's state dict (it has neither 'state' and 'param_groups', PyTorch's, nor 'tensors')`);
}

function fromTorchLayout(name: string, sd: Record<string, unknown>, groups: (GroupLike & object)[], keyOf: StateKey): FlatOptimizerStateDict {
  const saved = sd.param_groups;
  if (!Array.isArray(saved) || !saved.every(isOptionsObject)) throw new Error(`${name}.loadStateDict: param_groups is not a list of groups`);
  // Saved group k is ours k. Where the counts differ only by empty groups (HF's Trainer keeps an
  // empty no-decay group for LoRA, which tstorch's checkpoints before 2026-12 left out), the
  // non-empty groups are matched in order.
  let ourIndex = saved.map((_, k) => k);
  if (saved.length !== groups.length) {
    const savedFull = nonEmptyGroups(saved), oursFull = nonEmptyGroups(groups);
    if (savedFull.length !== oursFull.length) throw new Error(`${name}.loadStateDict: loaded state dict has a different number of parameter groups (${saved.length}; the optimizer has ${groups.length})`);
    ourIndex = saved.map(() => -1);
    savedFull.forEach((k, j) => { ourIndex[k] = oursFull[j]; });
  }
  const stateOf = (index: number): unknown => {
    const st = sd.state;
    if (st instanceof Map) return st.get(index) ?? st.get(BigInt(index)) ?? st.get(String(index));
    if (isOptionsObject(st)) return st[String(index)];
    throw new Error(`${name}.loadStateDict: state is not a dict`);
  };
  const out: Required<FlatOptimizerStateDict> = { tensors: new Map(), steps: {}, groups: groups.map(() => ({})) };
  saved.forEach((h, k) => {
    const ids = h.params;
    const gi = ourIndex[k];
    if (!Array.isArray(ids)) throw new Error(`${name}.loadStateDict: param group ${k} has no params list`);
    if (gi < 0) return; // an empty group with no counterpart here
    const g = groups[gi];
    if (ids.length !== g.params.length) {
      throw new Error(`${name}.loadStateDict: loaded state dict contains a parameter group that doesn't match the size of optimizer's group (group ${gi}: ${ids.length} parameters saved, ${g.params.length} here; `
        + 'the optimizers here leave frozen parameters out, so a PyTorch optimizer built over frozen ones too counts more)');
    }
    ids.forEach((id, i) => {
      const entry = stateOf(Number(id));
      if (entry === undefined || entry === null) return;
      const fields = entry instanceof Map ? Object.fromEntries(entry) : entry;
      if (!isOptionsObject(fields)) throw new Error(`${name}.loadStateDict: the state of parameter ${String(id)} is not a dict`);
      const key = keyOf(gi, i);
      for (const [k, v] of Object.entries(fields)) {
        if (k === 'step') out.steps[key] = stepNumber(name, `state[${String(id)}]`, v);
        else if (v instanceof Tensor) out.tensors.set(`${key}.${k}`, v);
        // (None, as SGD's momentum_buffer without momentum, is no state)
        else if (v !== null && v !== undefined) throw new Error(`${name}.loadStateDict: state[${String(id)}].${k} is neither a tensor nor None`);
      }
      // (SGD keeps no step; the flat loaders look for one where their state has it)
      if (!('step' in fields)) out.steps[key] = 0;
    });
    const ours = g as unknown as Record<string, unknown>;
    const settings: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(h)) {
      const c = camel(k);
      if (k !== 'params' && k !== 'param_names' && (c in ours || c === 'initialLr')) settings[c] = v;
    }
    out.groups[gi] = settings;
  });
  return out;
}

/**
 * A flat state saved with fewer groups than the optimizer has, because empty groups were left
 * out (tstorch's checkpoints before 2026-12 dropped LoRA's, or BitFit's, empty group; HF's
 * Trainer keeps it): its groups are the non-empty ones here, in order. Their settings move there,
 * and so do state keys of the '<group>.<index>' form where the optimizer keys its state by
 * position (byIndex; AdamW over named groups keys by name, which needs no move).
 */
export function alignSavedGroups(name: string, flat: FlatOptimizerStateDict, groups: GroupLike[], byIndex: boolean): FlatOptimizerStateDict {
  const saved = flat.groups;
  if (!saved || saved.length === groups.length) return flat;
  const full = nonEmptyGroups(groups);
  if (saved.length !== full.length) throw new Error(`${name}.loadStateDict: loaded state dict has a different number of parameter groups (${saved.length}; the optimizer has ${groups.length})`);
  const settings: object[] = groups.map(() => ({}));
  saved.forEach((h, j) => { settings[full[j]] = h; });
  if (!byIndex) return { ...flat, groups: settings };
  const move = (key: string) => {
    const m = /^(\d+)\.(\d+)(\..*)?$/.exec(key);
    return m && Number(m[1]) < full.length ? `${full[Number(m[1])]}.${m[2]}${m[3] ?? ''}` : key;
  };
  return {
    tensors: new Map([...flat.tensors].map(([k, t]) => [move(k), t])),
    steps: flat.steps && Object.fromEntries(Object.entries(flat.steps).map(([k, v]) => [move(k), v])),
    groups: settings,
  };
}
