// torch.optim.lr_scheduler for any of our optimizers (SGD, Adam, AdamW): PyTorch's schedulers
// with its recursive update formulas, so the learning rates are PyTorch's to the last bits.
// Construction takes the first step (last_epoch 0), as PyTorch's does; call step() after each
// optimizer.step() (ReduceLROnPlateau: step(metric) after each evaluation).
import { optionsOf, isOptionsObject, PositionalOr } from '../tensor/options';

/** What a scheduler needs of an optimizer: its param groups' learning rates (and momentum / betas for OneCycleLR). */
export interface SchedulableOptimizer {
  /** initialLr is set by the first scheduler (PyTorch's group['initial_lr']): later ones start from it too */
  paramGroups: { lr: number; initialLr?: number; momentum?: number; betas?: [number, number] }[];
}

/**
 * A scheduler's arguments after the optimizer, as PyTorch takes them: by position, then
 * optionally an options object (Python's keywords, which may name the required ones too).
 * last_epoch other than -1 (a scheduler built mid-run) is not offered: step(epoch) jumps there.
 */
function schedulerOptions<O extends object>(name: string, args: unknown[], keys: (keyof O & string)[], required: (keyof O & string)[] = []): O {
  const o = optionsOf<O>(name, args, [...keys, 'lastEpoch', 'verbose'], { fixed: { lastEpoch: -1, verbose: false } });
  for (const k of required) {
    if ((o as Record<string, unknown>)[k] === undefined) throw new Error(`${name}: give ${k} (new ${name}(optimizer, ${required.join(', ')}, ...) or { ${required.join(', ')}, ... })`);
  }
  return o;
}

/** A value of an earlier version's (camelCase) state back, shaped as the field it replaces (a Map again; an object merged, keeping its functions). */
function restored(now: unknown, saved: unknown, where: string): unknown {
  if (typeof now === 'function') return now;
  if (typeof now === 'number' && typeof saved === 'string' && ['Infinity', '-Infinity', 'NaN'].includes(saved)) return Number(saved);
  if (now instanceof Map) {
    if (!Array.isArray(saved)) throw new Error(`${where}: expected a list of entries`);
    return new Map(saved as [unknown, unknown][]);
  }
  if (Array.isArray(saved)) return saved.map((x, i) => restored(Array.isArray(now) ? now[i] : undefined, x, where));
  if (saved && typeof saved === 'object' && now && typeof now === 'object' && !Array.isArray(now)) {
    const out: Record<string, unknown> = { ...(now as Record<string, unknown>) };
    for (const [k, x] of Object.entries(saved)) out[k] = restored(out[k], x, `${where}.${k}`);
    return out;
  }
  return saved;
}
/** Loads a state in the camelCase layout earlier versions saved (every field but the optimizer and functions). */
function loadSchedulerState(s: object, sd: Record<string, unknown>, name: string, skip: string[] = []): void {
  if (!sd || typeof sd !== 'object' || Array.isArray(sd)) throw new Error(`${name}.loadStateDict: expected the object stateDict() gave`);
  const fields = s as Record<string, unknown>;
  for (const k of Object.keys(sd)) {
    // (PyTorch's load_state_dict updates __dict__ with anything; a key this scheduler lacks is another scheduler's state)
    if (!(k in fields) || k === 'optimizer' || skip.includes(k) || typeof fields[k] === 'function') {
      throw new Error(`${name}.loadStateDict: unknown key '${k}': is this the state of another kind of scheduler?`);
    }
  }
  for (const [k, v] of Object.entries(sd)) fields[k] = restored(fields[k], v, `${name}.loadStateDict: ${k}`);
}

// ---- PyTorch's state_dict layout ----
// stateDict() gives the keys and values PyTorch's state_dict() has (base_lrs, last_epoch,
// _step_count, _last_lr, T_max, ...), so torch.save(scheduler.stateDict()) is what Python's
// scheduler.load_state_dict takes, and a state Python saved (read with torch.loadObject) loads
// here. It is JSON-ready too (MultiStepLR's milestones write as an object; ReduceLROnPlateau's
// infinite best as null, read back as infinite). loadStateDict also takes the camelCase states
// earlier versions gave.

/** One key of PyTorch's state_dict: how ours gives it, and takes it back (set absent: given only, ignored on load). */
interface TorchField { get(): unknown; set?(v: unknown): void }
/**
 * Keys of PyTorch's state dicts that hold nothing to restore here: functions (1.x's anneal_func,
 * _scale_fn_ref), constants and Python's bookkeeping, of 1.x and 2.x (_is_initial, default_min_lr).
 */
const IGNORED_KEYS = ['verbose', '_get_lr_called_within_step', '_is_initial', '_scale_fn_ref', '_scale_fn_custom', 'anneal_func', 'mode_worse', 'default_min_lr'];

function checkNumber(v: unknown, where: string): number {
  if (typeof v === 'bigint') v = Number(v);
  if (typeof v !== 'number' || Number.isNaN(v)) throw new Error(`${where}: expected a number, got ${JSON.stringify(v)}`);
  return v;
}
function checkNumbers(v: unknown, where: string): number[] {
  if (!Array.isArray(v)) throw new Error(`${where}: expected a list of numbers, got ${JSON.stringify(v)}`);
  return v.map((x, i) => checkNumber(x, `${where}[${i}]`));
}
/** A number field of obj, by PyTorch's key (readonly settings too: PyTorch's load_state_dict overwrites them). */
function numberField(obj: object, name: string, where: string): TorchField {
  const o = obj as Record<string, unknown>;
  return { get: () => o[name], set: (v) => (o[name] = checkNumber(v, where)) };
}
function numbersField(obj: object, name: string, where: string): TorchField {
  const o = obj as Record<string, unknown>;
  return { get: () => [...(o[name] as number[])], set: (v) => (o[name] = checkNumbers(v, where)) };
}
/** A setting that other state is built from (CyclicLR's mode, ...): given, and on load checked to be this scheduler's. */
function fixedField(name: string, key: string, value: unknown): TorchField {
  return {
    get: () => value,
    set: (v) => {
      if (JSON.stringify(v) !== JSON.stringify(value)) {
        throw new Error(`${name}.loadStateDict: ${key} is ${JSON.stringify(v)} in the state, ${JSON.stringify(value)} in this scheduler: build it with the settings the state was saved with`);
      }
    },
  };
}
/** LambdaLR's lr_lambdas: PyTorch saves None for each function (and a callable object's __dict__): nothing to restore. */
function lrLambdasField(name: string, groups: number): TorchField {
  return {
    get: () => new Array(groups).fill(null),
    set: (v) => {
      if (!Array.isArray(v) || v.length !== groups) throw new Error(`${name}.loadStateDict: lr_lambdas must be a list of ${groups} (one per param group), got ${JSON.stringify(v)}`);
    },
  };
}
/** A dict with integer keys (MultiStepLR's milestones, Python's Counter): a Map for torch.save (int keys), an object in JSON. */
class IntKeyedDict extends Map<number, number> {
  toJSON(): Record<string, number> { return Object.fromEntries(this); }
}
function intKeyedDict(v: unknown, where: string): Map<number, number> {
  const entries = v instanceof Map ? [...v.entries()] : v && typeof v === 'object' && !Array.isArray(v) ? Object.entries(v) : null;
  if (!entries) throw new Error(`${where}: expected a dict of step -> count, got ${JSON.stringify(v)}`);
  return new Map(entries.map(([k, n]) => [checkNumber(typeof k === 'string' ? Number(k) : k, `${where} key`), checkNumber(n, `${where}[${String(k)}]`)]));
}
/** Whether sd is in PyTorch's layout (else the camelCase one of earlier versions). */
const isTorchLayout = (sd: Record<string, unknown>) => ['last_epoch', '_last_lr', '_schedulers', 'base_lrs'].some((k) => k in sd);
/** Loads a state in PyTorch's layout through fields: an unknown key is an error (another scheduler's state), a known one is set. */
function loadTorchFields(name: string, sd: Record<string, unknown>, fields: Record<string, TorchField>): void {
  for (const k of Object.keys(sd)) {
    if (!(k in fields) && !IGNORED_KEYS.includes(k)) throw new Error(`${name}.loadStateDict: unknown key '${k}': is this the state of another kind of scheduler?`);
  }
  // (all or nothing: a value refused halfway puts back the ones already taken)
  const before = Object.entries(fields).filter(([k, f]) => k in sd && f.set).map(([k, f]) => [k, f.get()] as const);
  try {
    for (const [k, f] of Object.entries(fields)) if (k in sd) f.set?.(sd[k]);
  } catch (e) {
    for (const [k, v] of before) fields[k].set!(v);
    throw e;
  }
}
function checkStateObject(name: string, sd: unknown): asserts sd is Record<string, unknown> {
  if (!sd || typeof sd !== 'object' || Array.isArray(sd) || sd instanceof Map) throw new Error(`${name}.loadStateDict: expected the object stateDict() gave (PyTorch's state_dict() layout)`);
}

/** The base of PyTorch's _LRScheduler: baseLrs, lastEpoch, step(), getLastLr(). */
export abstract class LRSchedulerBase {
  readonly baseLrs: number[];
  lastEpoch = -1;
  protected stepCount = 0;
  private lastLr: number[] = [];
  constructor(readonly optimizer: SchedulableOptimizer, initialLrs?: number[]) {
    // PyTorch's group.setdefault('initial_lr', lr): a second scheduler on the same optimizer
    // (SequentialLR, ChainedScheduler) starts from the same base as the first.
    optimizer.paramGroups.forEach((g, i) => {
      if (initialLrs) g.initialLr = initialLrs[i];
      else g.initialLr ??= g.lr;
    });
    this.baseLrs = optimizer.paramGroups.map((g) => g.initialLr!);
  }
  /** The next learning rates (PyTorch's get_lr), from lastEpoch and the groups' current ones. */
  protected abstract nextLrs(): number[];
  /** The learning rates at lastEpoch from the base ones (PyTorch's _get_closed_form_lr), where there is a formula. */
  protected closedFormLrs(): number[] | null {
    return null;
  }
  /** Takes the first step: subclasses call it at the end of their constructor. */
  protected start(): void {
    this.step();
  }
  /** One step; with an epoch, jumps there (SequentialLR restarts a scheduler at 0 so). */
  step(epoch?: number): void {
    this.stepCount += 1;
    let lrs: number[];
    if (epoch === undefined) {
      this.lastEpoch += 1;
      lrs = this.nextLrs();
    } else {
      this.lastEpoch = epoch;
      lrs = this.closedFormLrs() ?? this.nextLrs();
    }
    this.setLrs(lrs);
  }
  protected setLrs(lrs: number[]): void {
    this.optimizer.paramGroups.forEach((g, i) => (g.lr = lrs[i]));
    this.lastLr = lrs;
  }
  getLastLr(): number[] {
    return [...this.lastLr];
  }
  /**
   * PyTorch's state_dict(): the scheduler's state (its step, learning rates and settings; not the
   * optimizer, not functions such as LambdaLR's), JSON-ready. Save it with the optimizer's;
   * loadStateDict() on a scheduler built the same way resumes the schedule where it was.
   */
  stateDict(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, f] of Object.entries(this.allTorchFields())) out[k] = f.get();
    return out;
  }
  loadStateDict(sd: Record<string, unknown>): void {
    const name = this.constructor.name;
    checkStateObject(name, sd);
    if (!isTorchLayout(sd)) return loadSchedulerState(this, sd, name); // (a state saved by an earlier version)
    loadTorchFields(name, sd, this.allTorchFields());
  }
  /** The subclass's own keys of PyTorch's state_dict (its settings and counters), in PyTorch's order. */
  protected torchFields(): Record<string, TorchField> {
    return {};
  }
  private allTorchFields(): Record<string, TorchField> {
    const name = this.constructor.name;
    const constant = (v: unknown): TorchField => ({ get: () => v });
    return {
      ...this.torchFields(),
      base_lrs: numbersField(this, 'baseLrs', `${name}.loadStateDict: base_lrs`),
      last_epoch: numberField(this, 'lastEpoch', `${name}.loadStateDict: last_epoch`),
      verbose: constant(false),
      _step_count: numberField(this, 'stepCount', `${name}.loadStateDict: _step_count`),
      _get_lr_called_within_step: constant(false),
      _last_lr: numbersField(this, 'lastLr', `${name}.loadStateDict: _last_lr`),
      ...this.torchFieldsAfter(),
    };
  }
  /** Keys PyTorch puts after the base ones (LambdaLR's lr_lambdas). */
  protected torchFieldsAfter(): Record<string, TorchField> {
    return {};
  }
  protected current(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }
}

/** lr × gamma every stepSize steps. */
export class StepLR extends LRSchedulerBase {
  readonly stepSize: number;
  readonly gamma: number;
  /** PyTorch's StepLR(optimizer, step_size, gamma=0.1), or an options object */
  constructor(optimizer: SchedulableOptimizer, ...args: PositionalOr<[stepSize: number, gamma?: number, lastEpoch?: -1, verbose?: false], Partial<{ stepSize: number; gamma?: number }>>) {
    super(optimizer);
    const o = schedulerOptions<{ stepSize: number; gamma?: number }>('StepLR', args, ['stepSize', 'gamma'], ['stepSize']);
    const stepSize = this.stepSize = o.stepSize;
    this.gamma = o.gamma ?? 0.1;
    if (!(Number.isInteger(stepSize) && stepSize > 0)) throw new Error(`StepLR: stepSize must be a positive integer, got ${stepSize}`);
    this.start();
  }
  protected override torchFields(): Record<string, TorchField> {
    return { step_size: numberField(this, 'stepSize', 'StepLR.loadStateDict: step_size'), gamma: numberField(this, 'gamma', 'StepLR.loadStateDict: gamma') };
  }
  protected nextLrs(): number[] {
    if (this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0) return this.current();
    return this.current().map((lr) => lr * this.gamma);
  }
  protected override closedFormLrs(): number[] {
    return this.baseLrs.map((b) => b * this.gamma ** Math.floor(this.lastEpoch / this.stepSize));
  }
}

/** lr × gamma at each milestone (a milestone listed twice multiplies twice). */
export class MultiStepLR extends LRSchedulerBase {
  private counts = new Map<number, number>();
  readonly gamma: number;
  /** PyTorch's MultiStepLR(optimizer, milestones, gamma=0.1), or an options object */
  constructor(optimizer: SchedulableOptimizer, ...args: PositionalOr<[milestones: number[], gamma?: number, lastEpoch?: -1, verbose?: false], Partial<{ milestones: number[]; gamma?: number }>>) {
    super(optimizer);
    const o = schedulerOptions<{ milestones: number[]; gamma?: number }>('MultiStepLR', args, ['milestones', 'gamma'], ['milestones']);
    this.gamma = o.gamma ?? 0.1;
    if (!Array.isArray(o.milestones)) throw new Error(`MultiStepLR: milestones must be an array of step numbers, got ${String(o.milestones)}`);
    for (const m of o.milestones) this.counts.set(m, (this.counts.get(m) ?? 0) + 1);
    this.start();
  }
  protected override torchFields(): Record<string, TorchField> {
    return {
      milestones: { get: () => new IntKeyedDict(this.counts), set: (v) => (this.counts = intKeyedDict(v, 'MultiStepLR.loadStateDict: milestones')) },
      gamma: numberField(this, 'gamma', 'MultiStepLR.loadStateDict: gamma'),
    };
  }
  protected nextLrs(): number[] {
    const k = this.counts.get(this.lastEpoch);
    if (!k) return this.current();
    return this.current().map((lr) => lr * this.gamma ** k);
  }
  protected override closedFormLrs(): number[] {
    let passed = 0; // bisect_right over the sorted milestones, duplicates counted
    for (const [m, k] of this.counts) if (m <= this.lastEpoch) passed += k;
    return this.baseLrs.map((b) => b * this.gamma ** passed);
  }
}

/** lr × gamma every step. */
export class ExponentialLR extends LRSchedulerBase {
  readonly gamma: number;
  /** PyTorch's ExponentialLR(optimizer, gamma), or an options object */
  constructor(optimizer: SchedulableOptimizer, ...args: PositionalOr<[gamma: number, lastEpoch?: -1, verbose?: false], Partial<{ gamma: number }>>) {
    super(optimizer);
    this.gamma = schedulerOptions<{ gamma: number }>('ExponentialLR', args, ['gamma'], ['gamma']).gamma;
    if (!(typeof this.gamma === 'number' && Number.isFinite(this.gamma))) throw new Error(`ExponentialLR: gamma must be a number, got ${String(this.gamma)}`);
    this.start();
  }
  protected override torchFields(): Record<string, TorchField> {
    return { gamma: numberField(this, 'gamma', 'ExponentialLR.loadStateDict: gamma') };
  }
  protected nextLrs(): number[] {
    if (this.lastEpoch === 0) return this.current();
    return this.current().map((lr) => lr * this.gamma);
  }
  protected override closedFormLrs(): number[] {
    return this.baseLrs.map((b) => b * this.gamma ** this.lastEpoch);
  }
}

/** lr × factor(step) for a function of the step (LambdaLR); one function for all groups or one each. */
export class LambdaLR extends LRSchedulerBase {
  readonly lrLambda: ((step: number) => number) | ((step: number) => number)[];
  /** PyTorch's LambdaLR(optimizer, lr_lambda), or an options object */
  constructor(optimizer: SchedulableOptimizer, ...args: PositionalOr<[lrLambda: ((step: number) => number) | ((step: number) => number)[], lastEpoch?: -1, verbose?: false], Partial<{ lrLambda: ((step: number) => number) | ((step: number) => number)[] }>>) {
    super(optimizer);
    const lrLambda = this.lrLambda = schedulerOptions<{ lrLambda: ((step: number) => number) | ((step: number) => number)[] }>('LambdaLR', args, ['lrLambda'], ['lrLambda']).lrLambda;
    if (![lrLambda].flat().every((f) => typeof f === 'function')) throw new Error(`LambdaLR: lrLambda must be a function of the step (or one per param group)`);
    if (Array.isArray(lrLambda) && lrLambda.length !== optimizer.paramGroups.length) {
      throw new Error(`LambdaLR: ${lrLambda.length} functions for ${optimizer.paramGroups.length} param groups`);
    }
    this.start();
  }
  protected override torchFieldsAfter(): Record<string, TorchField> {
    return { lr_lambdas: lrLambdasField('LambdaLR', this.optimizer.paramGroups.length) };
  }
  protected nextLrs(): number[] {
    return this.baseLrs.map((base, i) => base * (Array.isArray(this.lrLambda) ? this.lrLambda[i] : this.lrLambda)(this.lastEpoch));
  }
}

/** The factor goes linearly from startFactor to endFactor over totalIters steps. */
export class LinearLR extends LRSchedulerBase {
  readonly startFactor: number;
  readonly endFactor: number;
  readonly totalIters: number;
  /** PyTorch's LinearLR(optimizer, start_factor=1/3, end_factor=1, total_iters=5), or an options object */
  constructor(optimizer: SchedulableOptimizer, ...args: PositionalOr<[startFactor?: number, endFactor?: number, totalIters?: number, lastEpoch?: -1, verbose?: false], { startFactor?: number; endFactor?: number; totalIters?: number }>) {
    super(optimizer);
    const o = schedulerOptions<{ startFactor?: number; endFactor?: number; totalIters?: number }>('LinearLR', args, ['startFactor', 'endFactor', 'totalIters']);
    const startFactor = this.startFactor = o.startFactor ?? 1 / 3;
    const endFactor = this.endFactor = o.endFactor ?? 1;
    this.totalIters = o.totalIters ?? 5;
    if (!(startFactor > 0 && startFactor <= 1)) throw new Error(`LinearLR: startFactor must be in (0, 1], got ${startFactor}`);
    if (!(endFactor >= 0 && endFactor <= 1)) throw new Error(`LinearLR: endFactor must be in [0, 1], got ${endFactor}`);
    this.start();
  }
  protected override torchFields(): Record<string, TorchField> {
    return {
      start_factor: numberField(this, 'startFactor', 'LinearLR.loadStateDict: start_factor'),
      end_factor: numberField(this, 'endFactor', 'LinearLR.loadStateDict: end_factor'),
      total_iters: numberField(this, 'totalIters', 'LinearLR.loadStateDict: total_iters'),
    };
  }
  protected nextLrs(): number[] {
    const cur = this.current();
    if (this.lastEpoch === 0) return cur.map((lr) => lr * this.startFactor);
    if (this.lastEpoch > this.totalIters) return cur;
    const { startFactor: s, endFactor: e, totalIters: n } = this;
    return cur.map((lr) => lr * (1 + (e - s) / (n * s + (this.lastEpoch - 1) * (e - s))));
  }
  protected override closedFormLrs(): number[] {
    const { startFactor: s, endFactor: e, totalIters: n } = this;
    return this.baseLrs.map((b) => b * (s + ((e - s) * Math.min(n, this.lastEpoch)) / n));
  }
}

/** Cosine annealing from the base lr to etaMin over tMax steps (and back up, SGDR-style without restarts). */
export class CosineAnnealingLR extends LRSchedulerBase {
  readonly tMax: number;
  readonly etaMin: number;
  /** PyTorch's CosineAnnealingLR(optimizer, T_max, eta_min=0), or an options object */
  constructor(optimizer: SchedulableOptimizer, ...args: PositionalOr<[tMax: number, etaMin?: number, lastEpoch?: -1, verbose?: false], Partial<{ tMax: number; etaMin?: number }>>) {
    super(optimizer);
    const o = schedulerOptions<{ tMax: number; etaMin?: number }>('CosineAnnealingLR', args, ['tMax', 'etaMin'], ['tMax']);
    this.tMax = o.tMax;
    if (!(typeof o.tMax === 'number' && o.tMax > 0)) throw new Error(`CosineAnnealingLR: tMax must be a positive number of steps, got ${String(o.tMax)}`);
    this.etaMin = o.etaMin ?? 0;
    this.start();
  }
  protected override torchFields(): Record<string, TorchField> {
    return { T_max: numberField(this, 'tMax', 'CosineAnnealingLR.loadStateDict: T_max'), eta_min: numberField(this, 'etaMin', 'CosineAnnealingLR.loadStateDict: eta_min') };
  }
  protected nextLrs(): number[] {
    const { tMax: T, etaMin: eta, lastEpoch: t } = this;
    const cur = this.current();
    if (t === 0) return cur;
    if ((t - 1 - T) % (2 * T) === 0) return cur.map((lr, i) => lr + ((this.baseLrs[i] - eta) * (1 - Math.cos(Math.PI / T))) / 2);
    return cur.map((lr) => ((1 + Math.cos((Math.PI * t) / T)) / (1 + Math.cos((Math.PI * (t - 1)) / T))) * (lr - eta) + eta);
  }
  protected override closedFormLrs(): number[] {
    return this.baseLrs.map((b) => this.etaMin + ((b - this.etaMin) * (1 + Math.cos((Math.PI * this.lastEpoch) / this.tMax))) / 2);
  }
}

/** lr × factor(step) applied on top of the current lr each step (MultiplicativeLR). */
export class MultiplicativeLR extends LRSchedulerBase {
  readonly lrLambda: ((step: number) => number) | ((step: number) => number)[];
  /** PyTorch's MultiplicativeLR(optimizer, lr_lambda), or an options object */
  constructor(optimizer: SchedulableOptimizer, ...args: PositionalOr<[lrLambda: ((step: number) => number) | ((step: number) => number)[], lastEpoch?: -1, verbose?: false], Partial<{ lrLambda: ((step: number) => number) | ((step: number) => number)[] }>>) {
    super(optimizer);
    const lrLambda = this.lrLambda = schedulerOptions<{ lrLambda: ((step: number) => number) | ((step: number) => number)[] }>('MultiplicativeLR', args, ['lrLambda'], ['lrLambda']).lrLambda;
    if (![lrLambda].flat().every((f) => typeof f === 'function')) throw new Error(`MultiplicativeLR: lrLambda must be a function of the step (or one per param group)`);
    if (Array.isArray(lrLambda) && lrLambda.length !== optimizer.paramGroups.length) {
      throw new Error(`MultiplicativeLR: expected ${optimizer.paramGroups.length} lr lambdas, but got ${lrLambda.length}`);
    }
    this.start();
  }
  protected override torchFieldsAfter(): Record<string, TorchField> {
    return { lr_lambdas: lrLambdasField('MultiplicativeLR', this.optimizer.paramGroups.length) };
  }
  protected nextLrs(): number[] {
    if (this.lastEpoch <= 0) return this.current();
    return this.current().map((lr, i) => lr * (Array.isArray(this.lrLambda) ? this.lrLambda[i] : this.lrLambda)(this.lastEpoch));
  }
}

/** lr × factor for the first totalIters steps, then the base lr (a constant warm-up, ConstantLR). */
export class ConstantLR extends LRSchedulerBase {
  readonly factor: number;
  readonly totalIters: number;
  /** PyTorch's ConstantLR(optimizer, factor=1/3, total_iters=5), or an options object */
  constructor(optimizer: SchedulableOptimizer, ...args: PositionalOr<[factor?: number, totalIters?: number, lastEpoch?: -1, verbose?: false], { factor?: number; totalIters?: number }>) {
    super(optimizer);
    const o = schedulerOptions<{ factor?: number; totalIters?: number }>('ConstantLR', args, ['factor', 'totalIters']);
    const factor = this.factor = o.factor ?? 1 / 3;
    this.totalIters = o.totalIters ?? 5;
    if (!(factor >= 0 && factor <= 1)) throw new Error('ConstantLR: constant multiplicative factor expected to be between 0 and 1');
    this.start();
  }
  protected override torchFields(): Record<string, TorchField> {
    return { factor: numberField(this, 'factor', 'ConstantLR.loadStateDict: factor'), total_iters: numberField(this, 'totalIters', 'ConstantLR.loadStateDict: total_iters') };
  }
  protected nextLrs(): number[] {
    const cur = this.current();
    if (this.lastEpoch === 0) return cur.map((lr) => lr * this.factor);
    if (this.lastEpoch !== this.totalIters) return cur;
    return cur.map((lr) => lr * (1 / this.factor));
  }
  protected override closedFormLrs(): number[] {
    return this.baseLrs.map((b) => b * (this.factor + (this.lastEpoch >= this.totalIters ? 1 - this.factor : 0)));
  }
}

/** lr × (1 - step / totalIters) ** power, down to 0 at totalIters (PolynomialLR). */
export class PolynomialLR extends LRSchedulerBase {
  readonly totalIters: number;
  readonly power: number;
  /** PyTorch's PolynomialLR(optimizer, total_iters=5, power=1), or an options object */
  constructor(optimizer: SchedulableOptimizer, ...args: PositionalOr<[totalIters?: number, power?: number, lastEpoch?: -1, verbose?: false], { totalIters?: number; power?: number }>) {
    super(optimizer);
    const o = schedulerOptions<{ totalIters?: number; power?: number }>('PolynomialLR', args, ['totalIters', 'power']);
    this.totalIters = o.totalIters ?? 5;
    this.power = o.power ?? 1;
    this.start();
  }
  protected override torchFields(): Record<string, TorchField> {
    return { total_iters: numberField(this, 'totalIters', 'PolynomialLR.loadStateDict: total_iters'), power: numberField(this, 'power', 'PolynomialLR.loadStateDict: power') };
  }
  protected nextLrs(): number[] {
    const t = this.lastEpoch, n = this.totalIters;
    if (t === 0 || t > n) return this.current();
    const decay = ((1 - t / n) / (1 - (t - 1) / n)) ** this.power;
    return this.current().map((lr) => lr * decay);
  }
  protected override closedFormLrs(): number[] {
    return this.baseLrs.map((b) => b * (1 - Math.min(this.totalIters, this.lastEpoch) / this.totalIters) ** this.power);
  }
}

/** SGDR: cosine annealing over periods of t0, t0·tMult, ... steps, each restarting at the base lr. */
export class CosineAnnealingWarmRestarts extends LRSchedulerBase {
  private tI: number;
  private tCur: number;
  readonly opts: { tMult?: number; etaMin?: number };
  /** PyTorch's CosineAnnealingWarmRestarts(optimizer, T_0, T_mult=1, eta_min=0), or an options object */
  readonly t0: number;
  constructor(optimizer: SchedulableOptimizer, ...args: PositionalOr<[t0: number, tMult?: number, etaMin?: number, lastEpoch?: -1, verbose?: false], Partial<{ t0: number; tMult?: number; etaMin?: number }>>) {
    super(optimizer);
    const opts = this.opts = schedulerOptions<{ t0: number; tMult?: number; etaMin?: number }>('CosineAnnealingWarmRestarts', args, ['t0', 'tMult', 'etaMin'], ['t0']);
    const t0 = this.t0 = opts.t0;
    if (!(Number.isInteger(t0) && t0 > 0)) throw new Error(`CosineAnnealingWarmRestarts: expected positive integer t0, but got ${t0}`);
    const tMult = opts.tMult ?? 1;
    if (!(Number.isInteger(tMult) && tMult >= 1)) throw new Error(`CosineAnnealingWarmRestarts: expected integer tMult >= 1, but got ${tMult}`);
    this.tI = t0;
    this.tCur = -1;
    this.start();
  }
  protected override torchFields(): Record<string, TorchField> {
    const where = 'CosineAnnealingWarmRestarts.loadStateDict';
    const opt = (name: 'tMult' | 'etaMin', dflt: number): TorchField => ({
      get: () => this.opts[name] ?? dflt,
      set: (v) => ((this as { opts: object }).opts = { ...this.opts, [name]: checkNumber(v, `${where}: ${name === 'tMult' ? 'T_mult' : 'eta_min'}`) }),
    });
    return {
      T_0: numberField(this, 't0', `${where}: T_0`), T_i: numberField(this, 'tI', `${where}: T_i`), T_mult: opt('tMult', 1),
      eta_min: opt('etaMin', 0), T_cur: numberField(this, 'tCur', `${where}: T_cur`),
    };
  }
  protected nextLrs(): number[] {
    const eta = this.opts.etaMin ?? 0;
    return this.baseLrs.map((b) => eta + ((b - eta) * (1 + Math.cos((Math.PI * this.tCur) / this.tI))) / 2);
  }
  /** One step, or (epoch given, fractional allowed) to that point of the schedule. */
  override step(epoch?: number): void {
    const tMult = this.opts.tMult ?? 1;
    if (epoch === undefined && this.lastEpoch < 0) epoch = 0;
    if (epoch === undefined) {
      epoch = this.lastEpoch + 1;
      this.tCur += 1;
      if (this.tCur >= this.tI) {
        this.tCur -= this.tI;
        this.tI *= tMult;
      }
    } else {
      if (epoch < 0) throw new Error(`CosineAnnealingWarmRestarts: expected non-negative epoch, but got ${epoch}`);
      if (epoch >= this.t0) {
        if (tMult === 1) this.tCur = epoch % this.t0;
        else {
          const n = Math.floor(Math.log((epoch / this.t0) * (tMult - 1) + 1) / Math.log(tMult));
          this.tCur = epoch - (this.t0 * (tMult ** n - 1)) / (tMult - 1);
          this.tI = this.t0 * tMult ** n;
        }
      } else {
        this.tI = this.t0;
        this.tCur = epoch;
      }
    }
    this.stepCount += 1;
    this.lastEpoch = Math.floor(epoch);
    this.setLrs(this.nextLrs());
  }
}

export interface CyclicLROptions {
  baseLr: number | number[];
  maxLr: number | number[];
  stepSizeUp?: number;
  stepSizeDown?: number;
  mode?: 'triangular' | 'triangular2' | 'exp_range';
  gamma?: number;
  /** a custom amplitude scaling (instead of mode), of the cycle number or of the step (scaleMode) */
  scaleFn?: (x: number) => number;
  scaleMode?: 'cycle' | 'iterations';
  /** cycle SGD's momentum inversely to the lr (true; the optimizer must have momentum) */
  cycleMomentum?: boolean;
  baseMomentum?: number | number[];
  maxMomentum?: number | number[];
}

/** The cyclical learning rate policy (CyclicLR): lr between baseLr and maxLr in triangles, per step. */
export class CyclicLR extends LRSchedulerBase {
  private readonly maxLrs: number[];
  private readonly totalSize: number;
  private readonly stepRatio: number;
  private readonly scale: (x: number) => number;
  private readonly scaleMode: 'cycle' | 'iterations';
  private readonly momentums: { base: number[]; max: number[] } | null = null;
  readonly opts: CyclicLROptions;
  /** PyTorch's CyclicLR(optimizer, base_lr, max_lr, step_size_up=2000, step_size_down, mode, gamma, scale_fn, scale_mode, cycle_momentum, base_momentum, max_momentum), or an options object */
  constructor(optimizer: SchedulableOptimizer, ...args: PositionalOr<[baseLr: number | number[], maxLr: number | number[], stepSizeUp?: number, stepSizeDown?: number | null, mode?: CyclicLROptions['mode'],
    gamma?: number, scaleFn?: ((x: number) => number) | null, scaleMode?: 'cycle' | 'iterations', cycleMomentum?: boolean, baseMomentum?: number | number[], maxMomentum?: number | number[], lastEpoch?: -1, verbose?: false], CyclicLROptions>) {
    const opts = schedulerOptions<CyclicLROptions>('CyclicLR', args,
      ['baseLr', 'maxLr', 'stepSizeUp', 'stepSizeDown', 'mode', 'gamma', 'scaleFn', 'scaleMode', 'cycleMomentum', 'baseMomentum', 'maxMomentum'], ['baseLr', 'maxLr']);
    const n = optimizer.paramGroups.length;
    const perGroup = (name: string, v: number | number[]) => {
      if (Array.isArray(v) && v.length !== n) throw new Error(`CyclicLR: expected ${n} values for ${name}, got ${v.length}`);
      return Array.isArray(v) ? v : new Array<number>(n).fill(v);
    };
    const baseLrs = perGroup('baseLr', opts.baseLr);
    optimizer.paramGroups.forEach((g, i) => (g.lr = baseLrs[i]));
    super(optimizer);
    this.opts = opts;
    this.maxLrs = perGroup('maxLr', opts.maxLr);
    const up = opts.stepSizeUp ?? 2000, down = opts.stepSizeDown ?? up;
    this.totalSize = up + down;
    this.stepRatio = up / this.totalSize;
    const mode = opts.mode ?? 'triangular', gamma = opts.gamma ?? 1;
    if (opts.scaleFn) {
      this.scale = opts.scaleFn;
      this.scaleMode = opts.scaleMode ?? 'cycle';
    } else if (mode === 'triangular') {
      [this.scale, this.scaleMode] = [() => 1, 'cycle'];
    } else if (mode === 'triangular2') {
      [this.scale, this.scaleMode] = [(x) => 1 / 2 ** (x - 1), 'cycle'];
    } else if (mode === 'exp_range') {
      [this.scale, this.scaleMode] = [(x) => gamma ** x, 'iterations'];
    } else {
      throw new Error(`CyclicLR: mode '${mode}' is invalid and scaleFn is not given`);
    }
    if (opts.cycleMomentum ?? true) {
      if (!optimizer.paramGroups.every((g) => g.momentum !== undefined)) throw new Error('CyclicLR: optimizer must support momentum with the cycleMomentum option enabled');
      const base = perGroup('baseMomentum', opts.baseMomentum ?? 0.8);
      optimizer.paramGroups.forEach((g, i) => (g.momentum = base[i]));
      this.momentums = { base, max: perGroup('maxMomentum', opts.maxMomentum ?? 0.9) };
    }
    // (PyTorch: the base lrs are baseLr even when an earlier scheduler set initialLr)
    baseLrs.forEach((b, i) => (this.baseLrs[i] = b));
    this.start();
  }
  protected override torchFields(): Record<string, TorchField> {
    const where = 'CyclicLR.loadStateDict';
    const momentums = this.momentums;
    return {
      max_lrs: numbersField(this, 'maxLrs', `${where}: max_lrs`),
      total_size: numberField(this, 'totalSize', `${where}: total_size`),
      step_ratio: numberField(this, 'stepRatio', `${where}: step_ratio`),
      // (the scale function is built from these: they are checked, not taken)
      mode: fixedField('CyclicLR', 'mode', this.opts.mode ?? 'triangular'),
      gamma: fixedField('CyclicLR', 'gamma', this.opts.gamma ?? 1),
      _scale_fn_custom: { get: () => null }, // (a function: PyTorch saves it, nothing here can restore it)
      scale_mode: fixedField('CyclicLR', 'scale_mode', this.scaleMode),
      cycle_momentum: fixedField('CyclicLR', 'cycle_momentum', momentums !== null),
      ...(momentums ? {
        use_beta1: fixedField('CyclicLR', 'use_beta1', false), // (PyTorch 2's key; momentum is SGD's here)
        base_momentums: { get: () => [...momentums.base], set: (v: unknown) => (momentums.base = checkNumbers(v, `${where}: base_momentums`)) },
        max_momentums: { get: () => [...momentums.max], set: (v: unknown) => (momentums.max = checkNumbers(v, `${where}: max_momentums`)) },
      } : {}),
    };
  }
  protected nextLrs(): number[] {
    const cycle = Math.floor(1 + this.lastEpoch / this.totalSize);
    const x = 1 + this.lastEpoch / this.totalSize - cycle;
    const factor = x <= this.stepRatio ? x / this.stepRatio : (x - 1) / (this.stepRatio - 1);
    const s = this.scale(this.scaleMode === 'cycle' ? cycle : this.lastEpoch);
    if (this.momentums) {
      const { base, max } = this.momentums;
      this.optimizer.paramGroups.forEach((g, i) => (g.momentum = max[i] - (max[i] - base[i]) * factor * s));
    }
    return this.baseLrs.map((b, i) => b + (this.maxLrs[i] - b) * factor * s);
  }
}

/** One scheduler after another: schedulers[i] from milestones[i - 1] on, each restarted at its milestone (SequentialLR). */
export class SequentialLR {
  lastEpoch: number;
  private lastLr: number[];
  private readonly schedulers: LRSchedulerBase[];
  private readonly milestones: number[];
  /** PyTorch's SequentialLR(optimizer, schedulers, milestones) */
  constructor(optimizer: SchedulableOptimizer, schedulers: LRSchedulerBase[], milestones: number[], ...rest: PositionalOr<[lastEpoch?: -1, verbose?: false], object>);
  /** the rest by name, as Python's SequentialLR(opt, schedulers=[a, b], milestones=[5]) */
  constructor(optimizer: SchedulableOptimizer, opts: { schedulers: LRSchedulerBase[]; milestones: number[]; lastEpoch?: -1; verbose?: false });
  constructor(readonly optimizer: SchedulableOptimizer, ...all: unknown[]) {
    let [schedulers, milestones, ...rest] = all as [LRSchedulerBase[], number[], ...unknown[]];
    if (isOptionsObject(schedulers)) {
      if (all.length > 1) throw new Error('SequentialLR: an options object goes last, after the positional arguments');
      const { schedulers: s, milestones: m, ...o } = all[0] as { schedulers: LRSchedulerBase[]; milestones: number[] };
      [schedulers, milestones, rest] = [s, m, [o]];
    }
    schedulerOptions('SequentialLR', rest, []);
    if (!Array.isArray(schedulers) || !Array.isArray(milestones)) throw new Error('SequentialLR: give the schedulers and the milestones (arrays): new SequentialLR(opt, [a, b], [5])');
    this.schedulers = schedulers;
    this.milestones = milestones;
    schedulers.forEach((s, i) => {
      if (s.optimizer !== optimizer) throw new Error(`SequentialLR expects all schedulers to belong to the same optimizer, but got scheduler at index ${i} to be different than the optimizer passed in`);
    });
    if (milestones.length !== schedulers.length - 1) {
      throw new Error(`SequentialLR expects one more scheduler than milestones, but got ${schedulers.length} schedulers and ${milestones.length} milestones`);
    }
    this.lastEpoch = 0;
    // As PyTorch: back to the initial lrs, every scheduler one step back, the first one started again.
    for (const g of optimizer.paramGroups) g.lr = g.initialLr ?? g.lr;
    for (const s of schedulers) s.lastEpoch -= 1;
    schedulers[0].step();
    this.lastLr = schedulers[0].getLastLr();
  }
  step(): void {
    this.lastEpoch += 1;
    let idx = 0;
    while (idx < this.milestones.length && this.milestones[idx] <= this.lastEpoch) idx++;
    const s = this.schedulers[idx];
    if (idx > 0 && this.milestones[idx - 1] === this.lastEpoch) s.step(0);
    else s.step();
    this.lastLr = s.getLastLr();
  }
  getLastLr(): number[] {
    return [...this.lastLr];
  }
  /** PyTorch's state_dict(): its milestones and step, and each scheduler's state */
  stateDict(): Record<string, unknown> {
    return { _milestones: [...this.milestones], last_epoch: this.lastEpoch, _last_lr: [...this.lastLr], _schedulers: this.schedulers.map((s) => s.stateDict()) };
  }
  loadStateDict(sd: Record<string, unknown>): void {
    checkStateObject('SequentialLR', sd);
    const torchLayout = isTorchLayout(sd);
    const { [torchLayout ? '_schedulers' : 'schedulers']: schedulers, ...own } = sd;
    if (!Array.isArray(schedulers) || schedulers.length !== this.schedulers.length) {
      throw new Error(`SequentialLR.loadStateDict: expected the states of its ${this.schedulers.length} schedulers`);
    }
    if (!torchLayout) loadSchedulerState(this, own, 'SequentialLR', ['schedulers']);
    else {
      loadTorchFields('SequentialLR', own, {
        _milestones: numbersField(this, 'milestones', 'SequentialLR.loadStateDict: _milestones'),
        last_epoch: numberField(this, 'lastEpoch', 'SequentialLR.loadStateDict: last_epoch'),
        _last_lr: numbersField(this, 'lastLr', 'SequentialLR.loadStateDict: _last_lr'),
      });
    }
    this.schedulers.forEach((s, i) => s.loadStateDict(schedulers[i] as Record<string, unknown>));
  }
}

/** Several schedulers stepped together, their factors compounding (ChainedScheduler). */
export class ChainedScheduler {
  readonly optimizer: SchedulableOptimizer;
  private readonly schedulers: { optimizer: SchedulableOptimizer; step(): void }[];
  /** PyTorch's ChainedScheduler(schedulers, optimizer=None), or both by name: { schedulers, optimizer } */
  constructor(schedulers: { optimizer: SchedulableOptimizer; step(): void }[] | { schedulers: { optimizer: SchedulableOptimizer; step(): void }[]; optimizer?: SchedulableOptimizer | null }, optimizer?: SchedulableOptimizer | null) {
    if (!Array.isArray(schedulers)) ({ schedulers, optimizer = optimizer } = optionsOf<{ schedulers: { optimizer: SchedulableOptimizer; step(): void }[]; optimizer?: SchedulableOptimizer | null }>('ChainedScheduler', [schedulers], ['schedulers', 'optimizer']));
    if (!Array.isArray(schedulers)) throw new Error('ChainedScheduler: give the schedulers (an array)');
    this.schedulers = schedulers;
    if (!schedulers.length) throw new Error('ChainedScheduler: give at least one scheduler');
    this.optimizer = optimizer ?? schedulers[0].optimizer;
    schedulers.forEach((s, i) => {
      if (s.optimizer !== this.optimizer) {
        throw new Error(`ChainedScheduler expects all schedulers to belong to the same optimizer, but got ${optimizer ? `scheduler at index ${i} to be different than the optimizer passed in` : `schedulers at index 0 and ${i} to be different`}`);
      }
    });
  }
  step(): void {
    for (const s of this.schedulers) s.step();
  }
  getLastLr(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }
  /** PyTorch's state_dict(): the last lrs and each scheduler's state */
  stateDict(): Record<string, unknown> {
    return { _last_lr: this.getLastLr(), _schedulers: this.schedulers.map((s) => (s as Partial<LRSchedulerBase>).stateDict?.() ?? null) };
  }
  loadStateDict(sd: Record<string, unknown>): void {
    checkStateObject('ChainedScheduler', sd);
    for (const k of Object.keys(sd)) {
      if (!['_last_lr', '_schedulers', 'schedulers'].includes(k)) throw new Error(`ChainedScheduler.loadStateDict: unknown key '${k}': is this the state of another kind of scheduler?`);
    }
    const states = sd._schedulers ?? sd.schedulers;
    if (!Array.isArray(states) || states.length !== this.schedulers.length) throw new Error(`ChainedScheduler.loadStateDict: expected the states of its ${this.schedulers.length} schedulers`);
    this.schedulers.forEach((s, i) => {
      if (states[i] !== null) (s as LRSchedulerBase).loadStateDict(states[i] as Record<string, unknown>);
    });
  }
}

export interface OneCycleOptions {
  maxLr: number | number[];
  totalSteps?: number;
  epochs?: number;
  stepsPerEpoch?: number;
  pctStart?: number;
  annealStrategy?: 'cos' | 'linear';
  /** cycle SGD's momentum or Adam's beta1 inversely to the lr (true) */
  cycleMomentum?: boolean;
  baseMomentum?: number;
  maxMomentum?: number;
  divFactor?: number;
  finalDivFactor?: number;
  threePhase?: boolean;
}

/** The 1cycle policy (OneCycleLR): up from maxLr/divFactor to maxLr, then down to a tiny lr; momentum the other way. */
export class OneCycleLR extends LRSchedulerBase {
  readonly totalSteps: number;
  private phases: { end: number; lr: [string, string]; mom: [string, string] }[];
  private groups: Record<string, number>[];
  private anneal: (start: number, end: number, pct: number) => number;
  private useBeta1: boolean;
  private annealStrategy: 'cos' | 'linear';
  readonly cycleMomentum: boolean;

  /** PyTorch's OneCycleLR(optimizer, max_lr, total_steps, epochs, steps_per_epoch, pct_start=0.3, anneal_strategy='cos', cycle_momentum, base_momentum, max_momentum, div_factor=25, final_div_factor=1e4, three_phase), or an options object */
  constructor(optimizer: SchedulableOptimizer, ...args: PositionalOr<[maxLr: number | number[], totalSteps?: number | null, epochs?: number | null, stepsPerEpoch?: number | null, pctStart?: number, annealStrategy?: 'cos' | 'linear',
    cycleMomentum?: boolean, baseMomentum?: number, maxMomentum?: number, divFactor?: number, finalDivFactor?: number, threePhase?: boolean, lastEpoch?: -1, verbose?: false], OneCycleOptions>) {
    const o = schedulerOptions<OneCycleOptions>('OneCycleLR', args,
      ['maxLr', 'totalSteps', 'epochs', 'stepsPerEpoch', 'pctStart', 'annealStrategy', 'cycleMomentum', 'baseMomentum', 'maxMomentum', 'divFactor', 'finalDivFactor', 'threePhase'], ['maxLr']);
    const n = optimizer.paramGroups.length;
    const perGroup = (v: number | number[], what: string) => {
      if (!Array.isArray(v)) return new Array(n).fill(v);
      if (v.length !== n) throw new Error(`OneCycleLR: ${v.length} values of ${what} for ${n} param groups`);
      return v;
    };
    const maxLrs = perGroup(o.maxLr, 'maxLr');
    const divFactor = o.divFactor ?? 25, finalDivFactor = o.finalDivFactor ?? 1e4;
    const groups = maxLrs.map((max) => ({ initial_lr: max / divFactor, max_lr: max, min_lr: max / divFactor / finalDivFactor } as Record<string, number>));
    super(optimizer, groups.map((g) => g.initial_lr));
    this.groups = groups;
    const total = o.totalSteps ?? (o.epochs !== undefined && o.stepsPerEpoch !== undefined ? o.epochs * o.stepsPerEpoch : NaN);
    if (!(Number.isInteger(total) && total > 0)) throw new Error('OneCycleLR: give totalSteps, or epochs and stepsPerEpoch (positive integers)');
    this.totalSteps = total;
    const pct = o.pctStart ?? 0.3;
    if (!(pct >= 0 && pct <= 1)) throw new Error(`OneCycleLR: pctStart must be in [0, 1], got ${pct}`);
    this.phases = o.threePhase
      ? [
          { end: pct * total - 1, lr: ['initial_lr', 'max_lr'], mom: ['max_momentum', 'base_momentum'] },
          { end: 2 * pct * total - 2, lr: ['max_lr', 'initial_lr'], mom: ['base_momentum', 'max_momentum'] },
          { end: total - 1, lr: ['initial_lr', 'min_lr'], mom: ['max_momentum', 'max_momentum'] },
        ]
      : [
          { end: pct * total - 1, lr: ['initial_lr', 'max_lr'], mom: ['max_momentum', 'base_momentum'] },
          { end: total - 1, lr: ['max_lr', 'min_lr'], mom: ['base_momentum', 'max_momentum'] },
        ];
    const strategy = o.annealStrategy ?? 'cos';
    if (strategy !== 'cos' && strategy !== 'linear') throw new Error(`OneCycleLR: annealStrategy must be 'cos' or 'linear', got '${strategy}'`);
    this.annealStrategy = strategy;
    this.anneal = strategy === 'cos'
      ? (start, end, p) => end + ((start - end) / 2) * (Math.cos(Math.PI * p) + 1)
      : (start, end, p) => (end - start) * p + start;
    this.cycleMomentum = o.cycleMomentum ?? true;
    this.useBeta1 = false;
    if (this.cycleMomentum) {
      const g0 = optimizer.paramGroups[0];
      if (g0.betas === undefined && g0.momentum === undefined) throw new Error('OneCycleLR: the optimizer has neither momentum nor betas; pass cycleMomentum: false');
      this.useBeta1 = g0.betas !== undefined;
      const maxM = perGroup(o.maxMomentum ?? 0.95, 'maxMomentum'), baseM = perGroup(o.baseMomentum ?? 0.85, 'baseMomentum');
      optimizer.paramGroups.forEach((g, i) => {
        this.setMomentum(g, maxM[i]);
        groups[i].max_momentum = maxM[i];
        groups[i].base_momentum = baseM[i];
      });
    }
    this.start();
  }
  private setMomentum(g: SchedulableOptimizer['paramGroups'][number], m: number): void {
    if (this.useBeta1) g.betas = [m, g.betas![1]];
    else g.momentum = m;
  }
  protected override torchFields(): Record<string, TorchField> {
    const where = 'OneCycleLR.loadStateDict';
    return {
      total_steps: numberField(this, 'totalSteps', `${where}: total_steps`),
      _schedule_phases: {
        get: () => this.phases.map((p) => ({ end_step: p.end, start_lr: p.lr[0], end_lr: p.lr[1], start_momentum: p.mom[0], end_momentum: p.mom[1] })),
        set: (v) => {
          if (!Array.isArray(v) || !v.every((p) => p && typeof p === 'object')) throw new Error(`${where}: _schedule_phases must be a list of phases`);
          this.phases = v.map((p: Record<string, unknown>, i) => {
            const names = [p.start_lr, p.end_lr, p.start_momentum, p.end_momentum];
            if (!names.every((n) => typeof n === 'string' && ['initial_lr', 'max_lr', 'min_lr', 'max_momentum', 'base_momentum'].includes(n))) throw new Error(`${where}: _schedule_phases[${i}] names values OneCycleLR does not have`);
            return { end: checkNumber(p.end_step, `${where}: _schedule_phases[${i}].end_step`), lr: [names[0], names[1]] as [string, string], mom: [names[2], names[3]] as [string, string] };
          });
        },
      },
      // (PyTorch 2's name of the anneal function; 1.x saved the function itself)
      _anneal_func_type: fixedField('OneCycleLR', '_anneal_func_type', this.annealStrategy),
      cycle_momentum: fixedField('OneCycleLR', 'cycle_momentum', this.cycleMomentum),
      ...(this.cycleMomentum ? { use_beta1: fixedField('OneCycleLR', 'use_beta1', this.useBeta1) } : {}),
    };
  }
  protected nextLrs(): number[] {
    const step = this.lastEpoch;
    if (step > this.totalSteps) throw new Error(`OneCycleLR: stepped ${step} times, more than totalSteps (${this.totalSteps})`);
    return this.optimizer.paramGroups.map((g, gi) => {
      const vals = this.groups[gi];
      let start = 0;
      for (let i = 0; i < this.phases.length; i++) {
        const ph = this.phases[i];
        if (step <= ph.end || i === this.phases.length - 1) {
          const pct = (step - start) / (ph.end - start);
          if (this.cycleMomentum) this.setMomentum(g, this.anneal(vals[ph.mom[0]], vals[ph.mom[1]], pct));
          return this.anneal(vals[ph.lr[0]], vals[ph.lr[1]], pct);
        }
        start = ph.end;
      }
      throw new Error('unreachable');
    });
  }
}

export interface ReduceLROnPlateauOptions {
  mode?: 'min' | 'max';
  factor?: number;
  patience?: number;
  threshold?: number;
  thresholdMode?: 'rel' | 'abs';
  cooldown?: number;
  minLr?: number | number[];
  eps?: number;
}

/** Cuts the lr by factor when a metric (step(metric)) has not improved for patience steps. */
export class ReduceLROnPlateau {
  readonly mode: 'min' | 'max';
  readonly factor: number;
  readonly patience: number;
  readonly threshold: number;
  readonly thresholdMode: 'rel' | 'abs';
  readonly cooldown: number;
  readonly minLrs: number[];
  readonly eps: number;
  best: number;
  numBadEpochs = 0;
  cooldownCounter = 0;
  lastEpoch = 0;
  /** PyTorch's ReduceLROnPlateau(optimizer, mode='min', factor=0.1, patience=10, threshold=1e-4, threshold_mode='rel', cooldown=0, min_lr=0, eps=1e-8), or an options object */
  constructor(readonly optimizer: SchedulableOptimizer, ...args: PositionalOr<[mode?: 'min' | 'max', factor?: number, patience?: number, threshold?: number, thresholdMode?: 'rel' | 'abs', cooldown?: number, minLr?: number | number[], eps?: number, verbose?: false], ReduceLROnPlateauOptions>) {
    const o = optionsOf<ReduceLROnPlateauOptions>('ReduceLROnPlateau', args, ['mode', 'factor', 'patience', 'threshold', 'thresholdMode', 'cooldown', 'minLr', 'eps', 'verbose'], { fixed: { verbose: false } });
    this.mode = o.mode ?? 'min';
    this.factor = o.factor ?? 0.1;
    if (!(this.factor < 1)) throw new Error(`ReduceLROnPlateau: factor must be below 1, got ${this.factor}`);
    this.patience = o.patience ?? 10;
    this.threshold = o.threshold ?? 1e-4;
    this.thresholdMode = o.thresholdMode ?? 'rel';
    if (this.mode !== 'min' && this.mode !== 'max') throw new Error(`ReduceLROnPlateau: mode must be 'min' or 'max', got '${this.mode}'`);
    if (this.thresholdMode !== 'rel' && this.thresholdMode !== 'abs') throw new Error(`ReduceLROnPlateau: thresholdMode must be 'rel' or 'abs', got '${this.thresholdMode}'`);
    this.cooldown = o.cooldown ?? 0;
    const n = optimizer.paramGroups.length;
    this.minLrs = Array.isArray(o.minLr) ? o.minLr : new Array(n).fill(o.minLr ?? 0);
    if (this.minLrs.length !== n) throw new Error(`ReduceLROnPlateau: ${this.minLrs.length} minLr values for ${n} param groups`);
    this.eps = o.eps ?? 1e-8;
    this.best = this.mode === 'min' ? Infinity : -Infinity;
  }
  private isBetter(a: number): boolean {
    const { best, threshold: th } = this;
    if (this.mode === 'min') return this.thresholdMode === 'rel' ? a < best * (1 - th) : a < best - th;
    return this.thresholdMode === 'rel' ? a > best * (th + 1) : a > best + th;
  }
  step(metric: number): void {
    this.lastEpoch += 1;
    if (this.isBetter(metric)) {
      this.best = metric;
      this.numBadEpochs = 0;
    } else {
      this.numBadEpochs += 1;
    }
    if (this.cooldownCounter > 0) {
      this.cooldownCounter -= 1;
      this.numBadEpochs = 0;
    }
    if (this.numBadEpochs > this.patience) {
      this.optimizer.paramGroups.forEach((g, i) => {
        const next = Math.max(g.lr * this.factor, this.minLrs[i]);
        if (g.lr - next > this.eps) g.lr = next;
      });
      this.cooldownCounter = this.cooldown;
      this.numBadEpochs = 0;
    }
  }
  getLastLr(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }
  /** PyTorch's state_dict(): best metric, bad-epoch and cooldown counters, settings (JSON-ready: an infinite best writes as null) */
  stateDict(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, f] of Object.entries(this.torchFields())) out[k] = f.get();
    return out;
  }
  loadStateDict(sd: Record<string, unknown>): void {
    checkStateObject('ReduceLROnPlateau', sd);
    if (!isTorchLayout(sd)) return loadSchedulerState(this, sd, 'ReduceLROnPlateau');
    loadTorchFields('ReduceLROnPlateau', sd, this.torchFields());
  }
  private torchFields(): Record<string, TorchField> {
    const where = 'ReduceLROnPlateau.loadStateDict';
    const self = this as unknown as Record<string, unknown>;
    const choice = (name: string, key: string, options: string[]): TorchField => ({
      get: () => self[name],
      set: (v) => {
        if (typeof v !== 'string' || !options.includes(v)) throw new Error(`${where}: ${key} must be one of ${options.map((o) => `'${o}'`).join(', ')}, got ${JSON.stringify(v)}`);
        self[name] = v;
      },
    });
    return {
      factor: numberField(this, 'factor', `${where}: factor`),
      min_lrs: numbersField(this, 'minLrs', `${where}: min_lrs`),
      patience: numberField(this, 'patience', `${where}: patience`),
      verbose: { get: () => false },
      cooldown: numberField(this, 'cooldown', `${where}: cooldown`),
      cooldown_counter: numberField(this, 'cooldownCounter', `${where}: cooldown_counter`),
      mode: choice('mode', 'mode', ['min', 'max']),
      threshold: numberField(this, 'threshold', `${where}: threshold`),
      threshold_mode: choice('thresholdMode', 'threshold_mode', ['rel', 'abs']),
      // (after mode: JSON's null for an infinite best is the worst value of the mode loaded)
      best: {
        get: () => this.best,
        set: (v) => {
          if (v === null || v === undefined) this.best = this.mode === 'min' ? Infinity : -Infinity;
          else if (typeof v === 'string' && ['Infinity', '-Infinity'].includes(v)) this.best = Number(v);
          else this.best = checkNumber(v, `${where}: best`);
        },
      },
      num_bad_epochs: numberField(this, 'numBadEpochs', `${where}: num_bad_epochs`),
      mode_worse: { get: () => (this.mode === 'min' ? Infinity : -Infinity) },
      eps: numberField(this, 'eps', `${where}: eps`),
      last_epoch: numberField(this, 'lastEpoch', `${where}: last_epoch`),
      _last_lr: { get: () => this.getLastLr() },
    };
  }
}
