// Param groups as PyTorch's optimizers take them: a list of tensors, or groups with their own options.
import { Tensor, _id as id } from '../tensor/tensor';
import { native } from '../tensor/native';
import { optionsOf, keywordOptions, OptionSpec, isOptionsObject, shownValue } from '../tensor/options';
export type { PositionalOr } from '../tensor/options';

export type Groups<O> = Tensor[] | (O & { params: Tensor[] })[];

/** Param groups as PyTorch forms them: defaults, overridden per group; frozen parameters (and their names, where a group names them) left out. */
export function paramGroups<O extends object>(name: string, params: Groups<O>, defaults: Required<O>, check: (o: Required<O>) => void): (Required<O> & { params: Tensor[] })[] {
  const groups: (Partial<O> & { params: Tensor[] })[] = params.length && params[0] instanceof Tensor ? [{ params: params as Tensor[] } as Partial<O> & { params: Tensor[] }] : (params as (O & { params: Tensor[] })[]);
  const known = [...Object.keys(defaults), 'params', 'names'];
  const out = groups.map((g, i) => {
    keywordOptions(`${name}: param group ${i}`, g, known); // (weight_decay in a group was quietly the default)
    const group = { ...defaults, ...g, params: g.params.filter((p) => p.requiresGrad) } as Required<O> & { params: Tensor[]; names?: string[] };
    const names = (g as { names?: string[] }).names;
    if (names) group.names = names.filter((_, k) => g.params[k].requiresGrad);
    checkOptionTypes(name, group);
    check(group);
    return group;
  });
  const all = out.flatMap((g) => g.params);
  if (new Set(all).size !== all.length) throw new Error(`${name}: a parameter appears in more than one group`);
  if (!all.length) throw new Error(`${name}: no parameter requires grad (is everything frozen?)`);
  return out;
}

// The optimizers' options that are numbers, and those that are true or false (null where PyTorch's default is None)
const NUMBER_OPTIONS = ['lr', 'eps', 'weightDecay', 'momentum', 'dampening', 'alpha', 'lrDecay', 'initialAccumulatorValue', 'rho', 'lambd', 't0', 'momentumDecay',
  'clipThreshold', 'decayRate', 'beta1', 'maxIter', 'maxEval', 'toleranceGrad', 'toleranceChange', 'historySize'];
const BOOLEAN_OPTIONS = ['maximize', 'amsgrad', 'nesterov', 'centered', 'scaleParameter', 'relativeStep', 'warmupInit', 'foreach', 'fused', 'capturable', 'differentiable'];
const NULLABLE = ['Adafactor.lr', 'Adafactor.beta1', 'LBFGS.maxEval', 'foreach', 'fused'];

/**
 * A group's options of the right type, before the optimizer's own checks: lr '1e-3' from a config
 * read as text compares as a number in JS (and null as 0), maximize 'no' is truthy (the step would
 * go uphill). Said before any step.
 */
function checkOptionTypes(name: string, g: Record<string, unknown>): void {
  const base = name.split('.')[0];
  for (const [k, v] of Object.entries(g)) {
    const number = NUMBER_OPTIONS.includes(k), boolean = BOOLEAN_OPTIONS.includes(k);
    if (!number && !boolean) continue;
    if (v === null && (NULLABLE.includes(k) || NULLABLE.includes(`${base}.${k}`))) continue;
    if (v === undefined) continue;
    if (number && typeof v !== 'number' && !(k === 'eps' && Array.isArray(v))) throw new Error(`${name}: ${k} must be a number, got ${shownValue(v)}`);
    if (boolean && typeof v !== 'boolean') throw new Error(`${name}: ${k} must be true or false, got ${shownValue(v)}`);
  }
}

/**
 * optimizer.add_param_group(group): one more group (say, layers unfrozen later), its options not
 * given taken from the optimizer's defaults and checked as the constructor checks them. A
 * parameter already in a group is an error, as PyTorch's.
 */
export function addParamGroup<O extends object>(name: string, groups: (Required<O> & { params: Tensor[] })[], group: Partial<O> & { params: Tensor[] | Tensor }, defaults: Required<O>, check: (o: Required<O>) => void): void {
  if (!isOptionsObject(group) || !('params' in group)) throw new Error(`${name}.addParamGroup: give a group { params: [...], ...options }`);
  const params = group.params instanceof Tensor ? [group.params] : group.params;
  if (!Array.isArray(params) || !params.every((p) => p instanceof Tensor)) throw new Error(`${name}.addParamGroup: params must be a tensor or an array of tensors`);
  const [added] = paramGroups(`${name}.addParamGroup`, [{ ...group, params } as O & { params: Tensor[] }], defaults, check);
  const existing = new Set(groups.flatMap((g) => g.params));
  if (added.params.some((p) => existing.has(p))) throw new Error(`${name}.addParamGroup: some parameters appear in more than one parameter group`);
  groups.push(added);
}

/**
 * Throws PyTorch's error when a parameter of any group has a sparse gradient (an Embedding with
 * sparse: true), before the step moves anything: the optimizers other than SGD, Adagrad and
 * SparseAdam take dense gradients only. One crossing per group.
 */
export function rejectSparseGrads(name: string, groups: { params: Tensor[] }[], hint = ''): void {
  groups.forEach((g, gi) => {
    const k = native.firstSparseGrad(g.params.map(id)) as number;
    if (k >= 0) throw new Error(`${name} does not support sparse gradients${hint} (parameter ${k} of group ${gi} has one: an Embedding or EmbeddingBag made with sparse: true gives them)`);
  });
}

/** optimizer.zero_grad(set_to_none=True): gradients cleared (null), or with setToNone false zeroed in place (detached first). */
export function zeroGradients(name: string, groups: { params: Tensor[] }[], setToNone: boolean | { setToNone?: boolean } = true): void {
  const none = typeof setToNone === 'boolean' ? setToNone : optionsOf<{ setToNone?: boolean }>(`${name}.zeroGrad`, [setToNone], ['setToNone']).setToNone ?? true;
  for (const g of groups) native.zeroGrads(g.params.map(id), none);
}

// PyTorch's flags that pick an implementation, not the math (foreach, fused, capturable): taken,
// and left to this library's own path (AdamW reads foreach itself); differentiable,
// which would change what a step records, is refused.
const IMPLEMENTATION_FLAGS = ['foreach', 'fused', 'capturable'];
export interface ImplementationFlags { foreach?: boolean | null; fused?: boolean | null; capturable?: boolean }

/**
 * An optimizer's defaults from the arguments after params: PyTorch's positional ones (keys, in its
 * order: new SGD(params, 0.1, 0.9) is lr 0.1, momentum 0.9), then optionally an options object.
 * An unknown key (weight_decay names weightDecay), a stray argument or a value not offered here
 * is an error. Returns the defaults and the implementation flags apart.
 */
export function optimizerOptions<O extends object>(name: string, args: unknown[], keys: string[], spec: OptionSpec = {}): [O, ImplementationFlags] {
  const fixed = { differentiable: false, ...spec.fixed };
  const o = optionsOf<Record<string, unknown>>(name, args, keys, { extra: [...(spec.extra ?? []), ...IMPLEMENTATION_FLAGS, ...Object.keys(fixed)], fixed });
  const defaults: Record<string, unknown> = {}, flags: Record<string, unknown> = {};
  for (const k in o) {
    if (IMPLEMENTATION_FLAGS.includes(k)) flags[k] = o[k];
    else if (!(k in fixed) && o[k] !== undefined) defaults[k] = o[k];
  }
  return [defaults as O, flags as ImplementationFlags];
}
