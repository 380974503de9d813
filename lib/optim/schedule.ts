// Learning-rate schedules as Hugging Face's get_scheduler names them (linear, cosine, constant,
// constant_with_warmup): a factor of the base lr per optimizer step; step() after each
// optimizer.step(). As HF's, 'constant' ignores warmup steps; 'constant_with_warmup' uses them.
import { AdamW } from './adamw';

export type ScheduleKind = 'linear' | 'cosine' | 'constant' | 'constant_with_warmup';
export const SCHEDULE_KINDS: ScheduleKind[] = ['linear', 'cosine', 'constant', 'constant_with_warmup'];

export function lrFactor(kind: ScheduleKind, step: number, warmup: number, total: number): number {
  if (kind === 'constant') return 1;
  if (step < warmup) return step / Math.max(1, warmup);
  if (kind === 'constant_with_warmup') return 1;
  const progress = (step - warmup) / Math.max(1, total - warmup);
  if (kind === 'linear') return Math.max(0, (total - step) / Math.max(1, total - warmup));
  return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * progress)));
}

export class LRScheduler {
  private baseLrs: number[];
  lastEpoch = 0;
  constructor(readonly optimizer: AdamW, readonly kind: ScheduleKind, readonly warmupSteps: number, readonly totalSteps: number) {
    if (!SCHEDULE_KINDS.includes(kind)) throw new Error(`LRScheduler: unknown schedule '${kind}' (${SCHEDULE_KINDS.join(', ')})`);
    this.baseLrs = optimizer.paramGroups.map((g) => g.lr);
    this.apply();
  }
  private apply(): void {
    const f = lrFactor(this.kind, this.lastEpoch, this.warmupSteps, this.totalSteps);
    this.optimizer.paramGroups.forEach((g, i) => (g.lr = this.baseLrs[i] * f));
  }
  step(): void {
    this.lastEpoch += 1;
    this.apply();
  }
  getLastLr(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }
  stateDict(): { lastEpoch: number; baseLrs: number[]; kind: ScheduleKind; warmupSteps: number; totalSteps: number } {
    return { lastEpoch: this.lastEpoch, baseLrs: this.baseLrs, kind: this.kind, warmupSteps: this.warmupSteps, totalSteps: this.totalSteps };
  }
  loadStateDict(s: { lastEpoch: number; baseLrs: number[] }): void {
    this.lastEpoch = s.lastEpoch;
    this.baseLrs = s.baseLrs;
    this.apply();
  }
}

export const linearScheduleWithWarmup = (opt: AdamW, warmup: number, total: number) => new LRScheduler(opt, 'linear', warmup, total);
export const cosineScheduleWithWarmup = (opt: AdamW, warmup: number, total: number) => new LRScheduler(opt, 'cosine', warmup, total);
