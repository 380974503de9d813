// torch.optim.swa_utils: stochastic weight averaging and exponential moving averages of a
// model's weights (AveragedModel), the SWA learning-rate schedule (SWALR), and recomputing
// BatchNorm statistics for averaged weights (updateBn), as PyTorch's.
import { Tensor } from '../tensor/tensor';
import { tensor, zerosLike, onesLike } from '../tensor/creation';
import { noGrad } from '../tensor/runtime';
import { tidy } from '../tensor/scope';
import { Module } from '../nn/module';
import { LRSchedulerBase, SchedulableOptimizer } from './lr_scheduler';
import { optionsOf, PositionalOr } from '../tensor/options';

/** avg + (p - avg) / (n + 1): the running mean (SWA); an EMA is (avg, p) => avg * decay + p * (1 - decay). */
export type AvgFn = (averaged: Tensor, current: Tensor, numAveraged: Tensor) => Tensor;

/** averaged(x) is the averaged module's call, typed as it. */
export interface AveragedModel<M extends Module = Module> {
  (...args: Parameters<M['forward']>): ReturnType<M['forward']>;
}
/**
 * A deep copy of model whose weights are the average of model's over updateParameters calls
 * (forward runs the copy). useBuffers averages the buffers too (else they are left as they are:
 * run updateBn).
 */
export class AveragedModel<M extends Module = Module> extends Module {
  declare module: M;
  declare n_averaged: Tensor;
  private readonly avgFn: AvgFn | null;
  readonly useBuffers: boolean;
  constructor(model: M, opts: { avgFn?: AvgFn; useBuffers?: boolean } = {}) {
    super();
    this.registerModule('module', model.deepCopy());
    this.registerBuffer('n_averaged', tensor(0, { dtype: 'int64', device: model.parameters()[0]?.device }));
    this.avgFn = opts.avgFn ?? null;
    this.useBuffers = opts.useBuffers ?? false;
  }
  forward(...args: unknown[]): unknown {
    return (this.module.forward as (...a: unknown[]) => unknown)(...args);
  }
  /** Folds model's current weights into the average. */
  updateParameters(model: M): void {
    const pick = (m: Module) => (this.useBuffers ? [...m.parameters(), ...m.namedBuffers().map(([, b]) => b)] : m.parameters());
    const mine = pick(this.module), theirs = pick(model);
    if (mine.length !== theirs.length) throw new Error(`AveragedModel.updateParameters: the model has ${theirs.length} tensors to average, the average ${mine.length}`);
    const first = (this.n_averaged.item() as number) === 0;
    noGrad(() => tidy(() => {
      mine.forEach((avg, k) => {
        const cur = theirs[k].detach().to({ device: avg.device });
        if (first) avg.copy_(cur);
        else avg.copy_(this.avgFn ? this.avgFn(avg.detach(), cur, this.n_averaged) : avg.add(cur.sub(avg).div(this.n_averaged.add(1))));
      });
      this.n_averaged.add_(1);
    }));
  }
}

/**
 * The SWA learning rate: from each group's lr to swaLr over annealEpochs steps ('cos' or
 * 'linear'), then constant (SWALR).
 */
export class SWALR extends LRSchedulerBase {
  private readonly swaLrs: number[];
  private readonly anneal: (t: number) => number;
  readonly opts: { swaLr?: number | number[]; annealEpochs?: number; annealStrategy?: 'cos' | 'linear' };
  /** PyTorch's SWALR(optimizer, swa_lr, anneal_epochs=10, anneal_strategy='cos'), or an options object */
  constructor(optimizer: SchedulableOptimizer, ...args: PositionalOr<[swaLr: number | number[], annealEpochs?: number, annealStrategy?: 'cos' | 'linear', lastEpoch?: -1], { swaLr?: number | number[]; annealEpochs?: number; annealStrategy?: 'cos' | 'linear' }>) {
    super(optimizer);
    const opts = this.opts = optionsOf<{ swaLr?: number | number[]; annealEpochs?: number; annealStrategy?: 'cos' | 'linear' }>('SWALR', args, ['swaLr', 'annealEpochs', 'annealStrategy', 'lastEpoch'], { fixed: { lastEpoch: -1 } });
    const swaLr = opts.swaLr;
    if (swaLr === undefined || swaLr === null) throw new Error('SWALR: give swaLr (new SWALR(optimizer, swaLr, ...) or { swaLr, ... })');
    if (![swaLr].flat().every((v) => typeof v === 'number' && Number.isFinite(v))) throw new Error(`SWALR: swaLr must be a number (or one per param group), got ${JSON.stringify(swaLr)}`);
    const n = optimizer.paramGroups.length;
    if (Array.isArray(swaLr) && swaLr.length !== n) throw new Error(`SWALR: swaLr must have the same length as optimizer.paramGroups: swaLr has ${swaLr.length}, optimizer.paramGroups has ${n}`);
    this.swaLrs = Array.isArray(swaLr) ? swaLr : new Array<number>(n).fill(swaLr);
    const strategy = opts.annealStrategy ?? 'cos';
    if (strategy !== 'cos' && strategy !== 'linear') throw new Error(`SWALR: annealStrategy must by one of 'cos' or 'linear', instead got ${strategy}`);
    this.anneal = strategy === 'cos' ? (t) => (1 - Math.cos(Math.PI * t)) / 2 : (t) => t;
    const epochs = opts.annealEpochs ?? 10;
    if (!(Number.isInteger(epochs) && epochs >= 0)) throw new Error(`SWALR: annealEpochs must be equal or greater than 0, got ${epochs}`);
    this.start();
  }
  /** PyTorch's keys: anneal_epochs (the swa lrs are in PyTorch's param groups; here, as built) */
  protected override torchFields(): Record<string, { get(): unknown; set?(v: unknown): void }> {
    return {
      anneal_epochs: {
        get: () => this.opts.annealEpochs ?? 10,
        set: (v) => {
          if (!(typeof v === 'number' && Number.isInteger(v) && v >= 0)) throw new Error(`SWALR.loadStateDict: anneal_epochs must be a whole number >= 0, got ${JSON.stringify(v)}`);
          (this as { opts: object }).opts = { ...this.opts, annealEpochs: v };
        },
      },
    };
  }
  protected nextLrs(): number[] {
    const epochs = this.opts.annealEpochs ?? 10;
    let step = this.stepCount - 1;
    if (epochs === 0) step = Math.max(1, step);
    const prevAlpha = this.anneal(Math.max(0, Math.min(1, (step - 1) / Math.max(1, epochs))));
    const alpha = this.anneal(Math.max(0, Math.min(1, step / Math.max(1, epochs))));
    return this.current().map((lr, i) => {
      const swa = this.swaLrs[i];
      const prev = prevAlpha === 1 ? swa : (lr - prevAlpha * swa) / (1 - prevAlpha);
      return swa * alpha + prev * (1 - alpha);
    });
  }
}

/**
 * Recomputes every BatchNorm's running statistics with one pass over loader (batches of input,
 * or arrays whose first element is the input), as a cumulative average (updateBn).
 */
export function updateBn(loader: Iterable<Tensor | Tensor[]>, model: Module, opts: { device?: string } = {}): void {
  type BN = { running_mean: Tensor | null; running_var: Tensor | null; num_batches_tracked: Tensor | null; momentum: number | null };
  const norms = model.modules().filter((m) => 'running_mean' in m && 'running_var' in m && 'momentum' in m && (m as unknown as BN).running_mean) as unknown as (BN & Module)[];
  if (!norms.length) return;
  const momenta = norms.map((m) => m.momentum);
  for (const m of norms) {
    const [mean, variance] = [m.running_mean!, m.running_var!];
    m.registerBuffer('running_mean', noGrad(() => zerosLike(mean)));
    m.registerBuffer('running_var', noGrad(() => onesLike(variance)));
    mean.dispose();
    variance.dispose();
    (m as { momentum: number | null }).momentum = null;
    noGrad(() => m.num_batches_tracked?.mul_(0));
  }
  const wasTraining = model.training;
  model.train();
  noGrad(() => {
    for (const batch of loader) {
      tidy(() => {
        const input = Array.isArray(batch) ? batch[0] : batch;
        model.forward(opts.device ? input.to({ device: opts.device }) : input);
      });
    }
  });
  norms.forEach((m, k) => ((m as { momentum: number | null }).momentum = momenta[k]));
  model.train(wasTraining);
}
