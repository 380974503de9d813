// Learning-rate schedules as Hugging Face's get_scheduler names them: a factor of the base lr
// per optimizer step; step() after each optimizer.step(). As HF's, 'constant' ignores warmup
// steps; the others warm up linearly over them. Options (HF's lr_scheduler_kwargs, by HF's
// names): num_cycles (cosine 0.5, cosine_with_restarts 1, cosine_with_min_lr 0.5), lr_end and
// power (polynomial: 1e-7, 1), timescale (inverse_sqrt: the warmup steps, or 10,000),
// min_lr or min_lr_rate (cosine_with_min_lr and cosine_warmup_with_min_lr: one of them; the
// latter also warmup_lr_rate); warmup_stable_decay: num_decay_steps
// (needed), num_stable_steps (default: what warmup and decay leave), warmup_type and decay_type
// (linear, cosine or 1-sqrt; default linear, cosine), min_lr_ratio (0), num_cycles (0.5).
// reduce_lr_on_plateau is PyTorch's ReduceLROnPlateau, stepped with an eval metric (the Trainer's
// metricForBestModel, the loss by default) after each evaluation (stepMetric) rather than per step; it takes no warmup, and torch's options by their
// Python names: mode, factor, patience, threshold, threshold_mode, cooldown, min_lr, eps.

import { ReduceLROnPlateau, SchedulableOptimizer } from './lr_scheduler';
import type { Picklable } from '../io/torchsave';
import { nonEmptyGroups } from './state_dict';

export type ScheduleKind = 'linear' | 'cosine' | 'cosine_with_restarts' | 'polynomial' | 'constant' | 'constant_with_warmup' | 'inverse_sqrt' | 'cosine_with_min_lr' | 'warmup_stable_decay' | 'reduce_lr_on_plateau' | 'cosine_warmup_with_min_lr';
export const SCHEDULE_KINDS: ScheduleKind[] = ['linear', 'cosine', 'cosine_with_restarts', 'polynomial', 'constant', 'constant_with_warmup', 'inverse_sqrt', 'cosine_with_min_lr', 'warmup_stable_decay', 'reduce_lr_on_plateau', 'cosine_warmup_with_min_lr'];
/** warmup_stable_decay's shapes of its warmup and its decay */
export type WsdShape = 'linear' | 'cosine' | '1-sqrt';
const WSD_SHAPES: WsdShape[] = ['linear', 'cosine', '1-sqrt'];

/** HF's lr_scheduler_kwargs, by HF's names. */
export interface ScheduleKwargs {
  num_cycles?: number;
  lr_end?: number;
  power?: number;
  timescale?: number;
  min_lr?: number;
  min_lr_rate?: number;
  num_decay_steps?: number;
  num_stable_steps?: number;
  warmup_type?: WsdShape;
  decay_type?: WsdShape;
  min_lr_ratio?: number;
  mode?: 'min' | 'max';
  factor?: number;
  patience?: number;
  threshold?: number;
  threshold_mode?: 'rel' | 'abs';
  cooldown?: number;
  eps?: number;
  warmup_lr_rate?: number;
}
/** Options whose values are names, and the names each takes. */
const NAMED: Partial<Record<keyof ScheduleKwargs, string[]>> = { warmup_type: WSD_SHAPES, decay_type: WSD_SHAPES, mode: ['min', 'max'], threshold_mode: ['rel', 'abs'] };
const ALLOWED: Record<ScheduleKind, (keyof ScheduleKwargs)[]> = {
  linear: [], constant: [], constant_with_warmup: [], cosine: ['num_cycles'], cosine_with_restarts: ['num_cycles'],
  polynomial: ['lr_end', 'power'], inverse_sqrt: ['timescale'], cosine_with_min_lr: ['num_cycles', 'min_lr', 'min_lr_rate'],
  warmup_stable_decay: ['num_decay_steps', 'num_stable_steps', 'warmup_type', 'decay_type', 'min_lr_ratio', 'num_cycles'],
  reduce_lr_on_plateau: ['mode', 'factor', 'patience', 'threshold', 'threshold_mode', 'cooldown', 'min_lr', 'eps'],
  cosine_warmup_with_min_lr: ['num_cycles', 'min_lr', 'min_lr_rate', 'warmup_lr_rate'],
};

/** Refuses options the schedule does not take, and values it cannot use (as HF's schedule functions do). */
export function checkScheduleKwargs(kind: ScheduleKind, kwargs: ScheduleKwargs, lrInit: number): void {
  if (!SCHEDULE_KINDS.includes(kind)) throw new Error(`LRScheduler: unknown schedule '${kind}' (${SCHEDULE_KINDS.join(', ')})`);
  for (const [k, v] of Object.entries(kwargs)) {
    if (!(ALLOWED[kind] as string[]).includes(k)) throw new Error(`LRScheduler: '${kind}' takes no option '${k}'${ALLOWED[kind].length ? ` (it takes ${ALLOWED[kind].join(', ')})` : ''}`);
    const names = NAMED[k as keyof ScheduleKwargs];
    if (names) {
      if (!names.includes(v as string)) throw new Error(`LRScheduler: option ${k} must be ${names.join(', ')}; got ${JSON.stringify(v)}`);
    } else if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new Error(`LRScheduler: option ${k} must be a number, got ${JSON.stringify(v)}`);
    }
  }
  if (kind === 'warmup_stable_decay' && kwargs.num_decay_steps === undefined) {
    throw new Error("LRScheduler: 'warmup_stable_decay' needs num_decay_steps (lrSchedulerKwargs / --lr-scheduler-kwargs, e.g. {\"num_decay_steps\": 100})");
  }
  if (kind === 'polynomial' && !(lrInit > (kwargs.lr_end ?? 1e-7))) throw new Error(`LRScheduler: lr_end (${kwargs.lr_end ?? 1e-7}) must be smaller than initial lr (${lrInit})`);
  if ((kind === 'cosine_with_min_lr' || kind === 'cosine_warmup_with_min_lr') && (kwargs.min_lr === undefined) === (kwargs.min_lr_rate === undefined)) {
    throw new Error(`LRScheduler: '${kind}' needs one of min_lr or min_lr_rate (lrSchedulerKwargs / --lr-scheduler-kwargs)`);
  }
}

/**
 * The factor of the base lr at a step (HF's lr_lambda for the schedule). lrInit is the
 * optimizer's initial lr (polynomial and cosine_with_min_lr's min_lr are relative to it).
 */
export function lrFactor(kind: ScheduleKind, step: number, warmup: number, total: number, kwargs: ScheduleKwargs = {}, lrInit = 1): number {
  if (kind === 'constant' || kind === 'reduce_lr_on_plateau') return 1; // (the plateau's cuts come from stepMetric)
  if (kind === 'warmup_stable_decay') return wsdFactor(step, warmup, total, kwargs);
  if (kind === 'cosine_warmup_with_min_lr') return cosineWarmupMinLrFactor(step, warmup, total, kwargs, lrInit);
  if (step < warmup) return step / Math.max(1, warmup);
  if (kind === 'constant_with_warmup') return 1;
  if (kind === 'inverse_sqrt') {
    const timescale = kwargs.timescale ?? (warmup || 10_000);
    return 1 / Math.sqrt((step + timescale - warmup) / timescale);
  }
  if (kind === 'polynomial') {
    const lrEnd = kwargs.lr_end ?? 1e-7, power = kwargs.power ?? 1;
    if (step > total) return lrEnd / lrInit;
    const remaining = 1 - (step - warmup) / (total - warmup);
    return ((lrInit - lrEnd) * remaining ** power + lrEnd) / lrInit;
  }
  const progress = (step - warmup) / Math.max(1, total - warmup);
  if (kind === 'linear') return Math.max(0, (total - step) / Math.max(1, total - warmup));
  if (kind === 'cosine_with_restarts') {
    if (progress >= 1) return 0;
    return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * (((kwargs.num_cycles ?? 1) * progress) % 1))));
  }
  const cycles = kwargs.num_cycles ?? 0.5;
  const factor = 0.5 * (1 + Math.cos(Math.PI * cycles * 2 * progress));
  if (kind === 'cosine') return Math.max(0, factor);
  const minRate = kwargs.min_lr_rate ?? (kwargs.min_lr ?? 0) / lrInit; // cosine_with_min_lr
  return Math.max(0, factor * (1 - minRate) + minRate);
}

/**
 * HF's warmup-stable-decay (get_wsd_schedule): from min_lr_ratio up to 1 over the warmup, 1 over
 * the stable steps, down to min_lr_ratio over the decay steps, min_lr_ratio after.
 */
function wsdFactor(step: number, warmup: number, total: number, kw: ScheduleKwargs): number {
  const decay = kw.num_decay_steps ?? 0, stable = kw.num_stable_steps ?? total - warmup - decay, minRatio = kw.min_lr_ratio ?? 0;
  const scaled = (f: number) => Math.max(0, f * (1 - minRatio) + minRatio);
  if (step < warmup) {
    const progress = step / Math.max(1, warmup), shape = kw.warmup_type ?? 'linear';
    return scaled(shape === 'linear' ? progress : shape === 'cosine' ? 0.5 * (1 - Math.cos(Math.PI * progress)) : 1 - Math.sqrt(1 - progress));
  }
  if (step < warmup + stable) return 1;
  if (step < warmup + stable + decay) {
    const progress = (step - warmup - stable) / Math.max(1, decay), shape = kw.decay_type ?? 'cosine';
    return scaled(shape === 'linear' ? 1 - progress : shape === 'cosine' ? 0.5 * (1 + Math.cos(Math.PI * (kw.num_cycles ?? 0.5) * 2 * progress)) : 1 - Math.sqrt(progress));
  }
  return minRatio;
}

/**
 * HF's cosine_warmup_with_min_lr: cosine_with_min_lr counted one step ahead, its warmup starting at
 * 1/warmup (or at warmup_lr_rate, reaching 1 at the warmup's last step).
 */
function cosineWarmupMinLrFactor(step: number, warmup: number, total: number, kw: ScheduleKwargs, lrInit: number): number {
  const minRate = kw.min_lr_rate ?? (kw.min_lr ?? 0) / lrInit;
  if (step < warmup) {
    if (kw.warmup_lr_rate === undefined) return (step + 1) / Math.max(1, warmup);
    return kw.warmup_lr_rate + (1 - kw.warmup_lr_rate) * step / Math.max(1, warmup - 1);
  }
  const progress = (step - warmup + 1) / Math.max(1, total - warmup);
  const factor = 0.5 * (1 + Math.cos(Math.PI * (kw.num_cycles ?? 0.5) * 2 * progress));
  return Math.max(0, factor * (1 - minRate) + minRate);
}

export class LRScheduler {
  private baseLrs: number[];
  lastEpoch = 0;
  readonly kwargs: ScheduleKwargs;
  /** reduce_lr_on_plateau: PyTorch's ReduceLROnPlateau, which owns the groups' lr */
  readonly plateau: ReduceLROnPlateau | null = null;
  constructor(readonly optimizer: Scheduled, readonly kind: ScheduleKind, readonly warmupSteps: number, readonly totalSteps: number, kwargs: ScheduleKwargs = {}) {
    this.baseLrs = optimizer.paramGroups.map((g) => {
      if (g.lr === null) throw new Error('LRScheduler: the optimizer has no lr to schedule (Adafactor with relativeStep sets its own)');
      return g.lr;
    });
    this.kwargs = { ...kwargs };
    checkScheduleKwargs(kind, this.kwargs, this.lrInit);
    if (kind === 'reduce_lr_on_plateau') {
      const k = this.kwargs;
      this.plateau = new ReduceLROnPlateau(optimizer as SchedulableOptimizer, {
        mode: k.mode, factor: k.factor, patience: k.patience, threshold: k.threshold, thresholdMode: k.threshold_mode, cooldown: k.cooldown, minLr: k.min_lr, eps: k.eps,
      });
      return;
    }
    this.apply();
  }
  /** the optimizer's initial lr (HF: optimizer.defaults['lr']; the Trainer's groups all start at it) */
  private get lrInit(): number {
    return this.baseLrs[0] ?? 1;
  }
  private apply(): void {
    const f = lrFactor(this.kind, this.lastEpoch, this.warmupSteps, this.totalSteps, this.kwargs, this.lrInit);
    this.optimizer.paramGroups.forEach((g, i) => (g.lr = this.baseLrs[i] * f));
  }
  /** After each optimizer step (a plateau schedule only counts it). */
  step(): void {
    this.lastEpoch += 1;
    if (!this.plateau) this.apply();
  }
  /** After each evaluation, with its metric (HF: the eval loss): the plateau schedule's step; other schedules ignore it. */
  stepMetric(metric: number): void {
    this.plateau?.step(metric);
  }
  getLastLr(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr as number);
  }
  stateDict(): { lastEpoch: number; baseLrs: number[]; kind: ScheduleKind; warmupSteps: number; totalSteps: number; kwargs: ScheduleKwargs; plateau?: PlateauState } {
    const p = this.plateau;
    return {
      lastEpoch: this.lastEpoch, baseLrs: this.baseLrs, kind: this.kind, warmupSteps: this.warmupSteps, totalSteps: this.totalSteps, kwargs: this.kwargs,
      ...(p ? { plateau: { best: p.best, numBadEpochs: p.numBadEpochs, cooldownCounter: p.cooldownCounter, lastEpoch: p.lastEpoch, lrs: this.getLastLr() } } : {}),
    };
  }
  /**
   * PyTorch's state_dict() of the scheduler HF's Trainer builds, what its scheduler.pt holds:
   * LambdaLR's (the schedule's function is no state: lr_lambdas holds None for each group), or
   * ReduceLROnPlateau's. loadStateDict takes it back, from here or from an HF checkpoint.
   */
  torchStateDict(): Record<string, Picklable> {
    if (this.plateau) return this.plateau.stateDict() as Record<string, Picklable>;
    return {
      base_lrs: [...this.baseLrs], last_epoch: this.lastEpoch, verbose: false, _step_count: this.lastEpoch + 1,
      _get_lr_called_within_step: false, _last_lr: this.getLastLr(), lr_lambdas: this.baseLrs.map(() => null),
    };
  }
  /** Restores stateDict()'s state, or torchStateDict()'s (PyTorch's layout, as an HF checkpoint's scheduler.pt read with torch.loadObject). */
  loadStateDict(given: { lastEpoch: number; baseLrs: number[]; plateau?: PlateauState } | Record<string, unknown>): void {
    if ('last_epoch' in given) return this.loadTorchStateDict(given);
    if (!('lastEpoch' in given)) throw new Error('LRScheduler.loadStateDict: expected the object stateDict() or torchStateDict() gave');
    const s = given as { lastEpoch: number; baseLrs: number[]; plateau?: PlateauState };
    this.lastEpoch = s.lastEpoch;
    this.baseLrs = this.perGroup(s.baseLrs, this.baseLrs, 'baseLrs');
    if (!this.plateau) return this.apply();
    if (!s.plateau) throw new Error('LRScheduler.loadStateDict: the state is not a reduce_lr_on_plateau schedule\'s');
    // (JSON has no Infinity: a best not yet set comes back as null)
    Object.assign(this.plateau, { ...s.plateau, best: s.plateau.best ?? (this.plateau.mode === 'min' ? Infinity : -Infinity) });
    const lrs = this.perGroup(s.plateau.lrs, this.getLastLr(), 'plateau.lrs');
    this.optimizer.paramGroups.forEach((g, i) => (g.lr = lrs[i]));
  }
  /**
   * One learning rate per param group from a saved list. A list saved without the optimizer's
   * empty groups (tstorch's checkpoints before 2026-12 left LoRA's empty no-decay group out; HF's
   * Trainer keeps it) holds the non-empty groups' rates in order; an empty group keeps `own`.
   */
  private perGroup(saved: unknown, own: number[], what: string): number[] {
    const groups = this.optimizer.paramGroups;
    const full = nonEmptyGroups(groups as { params?: unknown }[]);
    let lrs = saved;
    if (Array.isArray(saved) && saved.length !== groups.length && saved.length === full.length) lrs = own.map((o, i) => (full.includes(i) ? saved[full.indexOf(i)] : o));
    if (!Array.isArray(lrs) || lrs.length !== groups.length || !lrs.every((v) => typeof v === 'number')) {
      throw new Error(`LRScheduler.loadStateDict: ${what} must be ${groups.length} learning rates (one per param group), got ${JSON.stringify(saved)}`);
    }
    return [...lrs] as number[];
  }
  private loadTorchStateDict(s: Record<string, unknown>): void {
    const where = 'LRScheduler.loadStateDict';
    if (this.plateau) {
      if (!('num_bad_epochs' in s)) throw new Error(`${where}: the state is not a reduce_lr_on_plateau schedule's (LambdaLR's, from another lr_scheduler_type?)`);
      // (the groups' lr is the optimizer's state: its param_groups)
      return this.plateau.loadStateDict(s);
    }
    if ('num_bad_epochs' in s) throw new Error(`${where}: the state is a reduce_lr_on_plateau schedule's, this one is ${this.kind}`);
    const { last_epoch: lastEpoch } = s;
    if (!Number.isInteger(lastEpoch) || (lastEpoch as number) < 0) throw new Error(`${where}: last_epoch must be a step count, got ${String(lastEpoch)}`);
    this.baseLrs = this.perGroup(s.base_lrs, this.baseLrs, 'base_lrs');
    this.lastEpoch = lastEpoch as number;
    this.apply();
  }
}

/** ReduceLROnPlateau's state in a checkpoint, with the lr it has come to. */
interface PlateauState {
  best: number;
  numBadEpochs: number;
  cooldownCounter: number;
  lastEpoch: number;
  lrs: number[];
}

/** What a schedule drives: an optimizer's param groups and their lr. */
export type Scheduled = { paramGroups: { lr: number | null }[] };
export const linearScheduleWithWarmup = (opt: Scheduled, warmup: number, total: number) => new LRScheduler(opt, 'linear', warmup, total);
export const cosineScheduleWithWarmup = (opt: Scheduled, warmup: number, total: number) => new LRScheduler(opt, 'cosine', warmup, total);
