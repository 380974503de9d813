// Normalization layers with running statistics or groups: nn.BatchNorm1d/2d/3d, SyncBatchNorm, GroupNorm.
import { Tensor } from '../tensor/tensor';
import { ones, zeros, tensor, full } from '../tensor/creation';
import { noGrad } from '../tensor/runtime';
import { cat } from '../tensor/ops';
import { Function, FunctionCtx } from '../tensor/function';
import * as distributed from '../tensor/distributed';
import { Module } from './module';
import * as F from './functional';
import type { FactoryOptions } from './layers';
import { factoryOf, layerOptions, requiredByName, PositionalOr } from './args';

export interface BatchNormOptions extends FactoryOptions {
  eps?: number;
  /** weight of the newest batch in the running statistics; null: a cumulative average */
  momentum?: number | null;
  affine?: boolean;
  trackRunningStats?: boolean;
}
/** PyTorch's (numFeatures, eps, momentum, affine, trackRunningStats, *, device, dtype), or an options object after numFeatures. */
export type BatchNormArgs = PositionalOr<[eps?: number, momentum?: number | null, affine?: boolean, trackRunningStats?: boolean], BatchNormOptions>;
const BATCH_NORM_KEYS = ['eps', 'momentum', 'affine', 'trackRunningStats'];
/** The options of a batch or instance norm layer from its arguments after numFeatures. */
export function batchNormOptions(name: string, args: unknown[]): BatchNormOptions {
  return layerOptions<BatchNormOptions>(name, args, BATCH_NORM_KEYS);
}

/**
 * Batch normalization over the channel dim (1). Training: batch statistics, and the running
 * ones updated (unbiased variance) with numBatchesTracked; eval: the running ones. State-dict
 * names as PyTorch's: weight, bias, running_mean, running_var, num_batches_tracked.
 */
// PyTorch's _NormBase: the affine weight and bias and the running statistics, by their
// state-dict names, each there or not as the layer's options say.
abstract class NormBase extends Module {
  declare weight: Tensor | null;
  declare bias: Tensor | null;
  declare running_mean: Tensor | null;
  declare running_var: Tensor | null;
  declare num_batches_tracked: Tensor | null;
  readonly eps: number;
  constructor(readonly numFeatures: number, affine: boolean, track: boolean, opts: BatchNormOptions) {
    super();
    this.eps = opts.eps ?? 1e-5;
    this.registerParameter('weight', affine ? ones([numFeatures], factoryOf(opts)) : null);
    this.registerParameter('bias', affine ? zeros([numFeatures], factoryOf(opts)) : null);
    this.registerBuffer('running_mean', track ? zeros([numFeatures], factoryOf(opts)) : null);
    this.registerBuffer('running_var', track ? ones([numFeatures], factoryOf(opts)) : null);
    this.registerBuffer('num_batches_tracked', track ? tensor(0, { dtype: 'int64', device: opts.device }) : null);
  }
}

/**
 * A training forward's weight of the new batch statistics in the running ones: momentum, or with
 * momentum null 1/num_batches_tracked (a cumulative average); counts the batch.
 */
function runningStatsFactor(m: NormBase & { momentum: number | null }): number {
  if (!(m.training && m.num_batches_tracked)) return m.momentum ?? 0;
  noGrad(() => m.num_batches_tracked!.add_(1));
  return m.momentum === null ? 1 / (m.num_batches_tracked.item() as number) : m.momentum;
}

abstract class BatchNormNd extends NormBase {
  readonly momentum: number | null;

  constructor(private readonly inputDims: number[], numFeatures: number, opts: BatchNormOptions = {}) {
    super(numFeatures, opts.affine ?? true, opts.trackRunningStats ?? true, opts);
    this.momentum = opts.momentum === undefined ? 0.1 : opts.momentum;
  }

  forward(x: Tensor): Tensor {
    if (!this.inputDims.includes(x.ndim) || x.shape[1] !== this.numFeatures) {
      throw new Error(`${this.constructor.name}(${this.numFeatures}): expected input of ${this.inputDims.join(' or ')} dims with ${this.numFeatures} channels in dim 1, got [${x.shape}]`);
    }
    const factor = runningStatsFactor(this);
    // Batch statistics in training, and whenever there are no running ones.
    const useBatchStats = this.training || !this.running_mean;
    return F.batchNorm(x, this.running_mean, this.running_var, { weight: this.weight, bias: this.bias, training: useBatchStats, momentum: factor, eps: this.eps });
  }
  protected override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}, affine=${this.weight !== null}, trackRunningStats=${this.running_mean !== null}`;
  }
}
/** Over (N, C) or (N, C, L). */
export class BatchNorm1d extends BatchNormNd {
  constructor(numFeatures: number, ...args: BatchNormArgs);
  /** every argument by name, as Python's keywords */
  constructor(opts: { numFeatures: number } & Record<string, unknown>);
  constructor(...all: unknown[]) {
    const [[numFeatures], args] = requiredByName('BatchNorm1d', ['numFeatures'], all) as [[number], BatchNormArgs];
    super([2, 3], numFeatures, batchNormOptions('BatchNorm1d', args));
  }
}
/** Over (N, C, H, W). */
export class BatchNorm2d extends BatchNormNd {
  constructor(numFeatures: number, ...args: BatchNormArgs);
  /** every argument by name, as Python's keywords */
  constructor(opts: { numFeatures: number } & Record<string, unknown>);
  constructor(...all: unknown[]) {
    const [[numFeatures], args] = requiredByName('BatchNorm2d', ['numFeatures'], all) as [[number], BatchNormArgs];
    super([4], numFeatures, batchNormOptions('BatchNorm2d', args));
  }
}
/** Over (N, C, D, H, W). */
export class BatchNorm3d extends BatchNormNd {
  constructor(numFeatures: number, ...args: BatchNormArgs);
  /** every argument by name, as Python's keywords */
  constructor(opts: { numFeatures: number } & Record<string, unknown>);
  constructor(...all: unknown[]) {
    const [[numFeatures], args] = requiredByName('BatchNorm3d', ['numFeatures'], all) as [[number], BatchNormArgs];
    super([5], numFeatures, batchNormOptions('BatchNorm3d', args));
  }
}

/** The sum over ranks of a tensor; its gradient is the sum over ranks of theirs (the all-reduce is its own adjoint). */
class AllReduceSum extends Function {
  static forward(_ctx: FunctionCtx, x: Tensor): Tensor {
    const y = x.clone();
    distributed.allReduce(y);
    return y;
  }
  static backward(_ctx: FunctionCtx, g: Tensor): Tensor {
    const r = g.clone();
    distributed.allReduce(r);
    return r;
  }
}

/**
 * nn.SyncBatchNorm: batch normalization whose training statistics are those of the whole batch
 * over all data-parallel ranks (each rank holding its share), with gradients flowing through
 * them to every rank; any input of 2 or more dims with the channels in dim 1. Without a process
 * group (or with one rank), and in eval, it is BatchNorm. Convert a model's BatchNorm layers with
 * SyncBatchNorm.convertSyncBatchnorm(model).
 */
export class SyncBatchNorm extends NormBase {
  readonly momentum: number | null;

  /** nn.SyncBatchNorm(numFeatures, eps, momentum, affine, trackRunningStats, processGroup (the default one only), *, device, dtype) */
  constructor(numFeatures: number, ...args: PositionalOr<[eps?: number, momentum?: number | null, affine?: boolean, trackRunningStats?: boolean, processGroup?: null], BatchNormOptions>) {
    const opts = layerOptions<BatchNormOptions>('SyncBatchNorm', args, [...BATCH_NORM_KEYS, 'processGroup'], { fixed: { processGroup: null } });
    super(numFeatures, opts.affine ?? true, opts.trackRunningStats ?? true, opts);
    this.momentum = opts.momentum === undefined ? 0.1 : opts.momentum;
  }

  forward(x: Tensor): Tensor {
    if (x.ndim < 2 || x.shape[1] !== this.numFeatures) throw new Error(`SyncBatchNorm(${this.numFeatures}): expected input of 2 or more dims with ${this.numFeatures} channels in dim 1, got [${x.shape}]`);
    const factor = runningStatsFactor(this);
    const useBatchStats = this.training || !this.running_mean;
    const world = distributed.isInitialized() ? distributed.getWorldSize() : 1;
    if (!useBatchStats || world === 1) {
      return F.batchNorm(x, this.running_mean, this.running_var, { weight: this.weight, bias: this.bias, training: useBatchStats, momentum: factor, eps: this.eps });
    }
    // Two passes over all ranks' values: their mean, then their (biased) variance around it.
    const dims = [0, ...Array.from({ length: x.ndim - 2 }, (_, k) => k + 2)];
    const shape = [1, this.numFeatures, ...new Array(x.ndim - 2).fill(1)];
    const C = this.numFeatures;
    const sums = AllReduceSum.apply(cat([x.sum(dims), full([1], x.numel() / C, { dtype: x.dtype, device: x.device })]));
    const count = sums.index(C).item() as number;
    if (count <= 1) throw new Error(`SyncBatchNorm: expected more than 1 value per channel over all ranks when training, got input [${x.shape}]`);
    const mean = sums.index(`:${C}`).div(count);
    const centered = x.sub(mean.reshape(shape));
    const variance = AllReduceSum.apply(centered.mul(centered).sum(dims)).div(count);
    let y = centered.mul(variance.add(this.eps).rsqrt().reshape(shape));
    if (this.weight) y = y.mul(this.weight.reshape(shape));
    if (this.bias) y = y.add(this.bias.reshape(shape));
    if (this.training && this.running_mean && this.running_var) {
      noGrad(() => {
        this.running_mean!.mul_(1 - factor).add_(mean.detach(), factor);
        this.running_var!.mul_(1 - factor).add_(variance.detach().mul(count / (count - 1)), factor);
      });
    }
    return y;
  }

  /** Every BatchNorm1d/2d/3d inside module replaced by a SyncBatchNorm with its parameters, statistics and mode (module itself when it is one). */
  static convertSyncBatchnorm<M extends Module>(module: M): M | SyncBatchNorm {
    if (module instanceof BatchNormNd) {
      // (made without tensors of its own: it takes the BatchNorm's)
      const sync = new SyncBatchNorm(module.numFeatures, { eps: module.eps, momentum: module.momentum, affine: false, trackRunningStats: false });
      for (const name of ['weight', 'bias'] as const) {
        const p = module[name];
        sync.registerParameter(name, p, p?.requiresGrad ?? true);
      }
      for (const name of ['running_mean', 'running_var', 'num_batches_tracked'] as const) sync.registerBuffer(name, module[name]);
      sync.train(module.training);
      return sync;
    }
    for (const [name, child] of [...module.namedChildren()]) {
      const converted = SyncBatchNorm.convertSyncBatchnorm(child);
      if (converted !== child) module.replaceModule(name, converted); // (a ModuleList's items too)
    }
    return module;
  }
  protected override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}, affine=${this.weight !== null}, trackRunningStats=${this.running_mean !== null}`;
  }
}

/** RMS normalization over the last dims with a learned scale (nn.RMSNorm; eps null: the dtype's epsilon). */
export class RMSNorm extends Module {
  declare weight: Tensor | null;
  readonly normalizedShape: number[];
  readonly eps: number | null;
  /** nn.RMSNorm(normalizedShape, eps=None, elementwiseAffine=True, *, device, dtype) */
  constructor(normalizedShape: number | number[], ...args: PositionalOr<[eps?: number | null, elementwiseAffine?: boolean], FactoryOptions & { eps?: number | null; elementwiseAffine?: boolean }>) {
    super();
    const opts = layerOptions<FactoryOptions & { eps?: number | null; elementwiseAffine?: boolean }>('RMSNorm', args, ['eps', 'elementwiseAffine']);
    this.eps = opts.eps ?? null;
    this.normalizedShape = typeof normalizedShape === 'number' ? [normalizedShape] : normalizedShape;
    this.registerParameter('weight', opts.elementwiseAffine ?? true ? ones(this.normalizedShape, factoryOf(opts)) : null);
  }
  forward(x: Tensor): Tensor {
    return F.rmsNorm(x, this.normalizedShape, this.weight, this.eps);
  }
  protected override extraRepr(): string {
    return `[${this.normalizedShape}], eps=${this.eps}`;
  }
}

export class GroupNorm extends Module {
  declare weight: Tensor | null;
  declare bias: Tensor | null;
  readonly eps: number;
  readonly numGroups: number;
  readonly numChannels: number;
  /** nn.GroupNorm(numGroups, numChannels, eps=1e-5, affine=True, *, device, dtype) */
  constructor(numGroups: number, numChannels: number, ...args: PositionalOr<[eps?: number, affine?: boolean], FactoryOptions & { eps?: number; affine?: boolean }>);
  /** every argument by name, as Python's keywords */
  constructor(opts: { numGroups: number; numChannels: number } & Record<string, unknown>);
  constructor(...all: unknown[]) {
    const [[numGroups, numChannels], args] = requiredByName('GroupNorm', ['numGroups', 'numChannels'], all) as [[number, number], PositionalOr<[eps?: number, affine?: boolean], FactoryOptions & { eps?: number; affine?: boolean }>];
    super();
    this.numGroups = numGroups;
    this.numChannels = numChannels;
    const opts = layerOptions<FactoryOptions & { eps?: number; affine?: boolean }>('GroupNorm', args, ['eps', 'affine']);
    this.eps = opts.eps ?? 1e-5;
    if (numChannels % numGroups) throw new Error(`GroupNorm: numChannels (${numChannels}) must be divisible by numGroups (${numGroups})`);
    const affine = opts.affine ?? true;
    this.registerParameter('weight', affine ? ones([numChannels], factoryOf(opts)) : null);
    this.registerParameter('bias', affine ? zeros([numChannels], factoryOf(opts)) : null);
  }
  forward(x: Tensor): Tensor {
    return F.groupNorm(x, this.numGroups, this.weight, this.bias, this.eps);
  }
  protected override extraRepr(): string {
    return `${this.numGroups}, ${this.numChannels}, eps=${this.eps}`;
  }
}

/**
 * nn.InstanceNorm1d / 2d: each sample's channel normalized by its own statistics; affine and
 * running statistics off by default, as PyTorch's. Unbatched inputs ((C, L) / (C, H, W)) too.
 */
abstract class InstanceNormNd extends NormBase {
  readonly momentum: number;
  readonly trackRunningStats: boolean;
  constructor(private readonly spatialDims: number, numFeatures: number, opts: BatchNormOptions = {}) {
    super(numFeatures, opts.affine ?? false, opts.trackRunningStats ?? false, opts);
    this.momentum = opts.momentum ?? 0.1;
    this.trackRunningStats = opts.trackRunningStats ?? false;
  }
  forward(x: Tensor): Tensor {
    const batched = x.ndim === this.spatialDims + 2;
    if (!batched && x.ndim !== this.spatialDims + 1) {
      throw new Error(`${this.constructor.name}: expected ${this.spatialDims + 1}-D (unbatched) or ${this.spatialDims + 2}-D input, got [${x.shape}]`);
    }
    const channels = x.shape[batched ? 1 : 0];
    if (channels !== this.numFeatures) throw new Error(`${this.constructor.name}(${this.numFeatures}): the input has ${channels} channels`);
    const input = batched ? x : x.unsqueeze(0);
    const y = F.instanceNorm(input, {
      runningMean: this.running_mean, runningVar: this.running_var, weight: this.weight, bias: this.bias,
      useInputStats: this.training || !this.trackRunningStats, momentum: this.momentum, eps: this.eps,
    });
    if (batched) return y;
    input.dispose();
    const out = y.squeeze(0);
    y.dispose();
    return out;
  }
  protected override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}, affine=${this.weight !== null}, trackRunningStats=${this.trackRunningStats}`;
  }
}
export class InstanceNorm1d extends InstanceNormNd {
  constructor(numFeatures: number, ...args: BatchNormArgs);
  /** every argument by name, as Python's keywords */
  constructor(opts: { numFeatures: number } & Record<string, unknown>);
  constructor(...all: unknown[]) {
    const [[numFeatures], args] = requiredByName('InstanceNorm1d', ['numFeatures'], all) as [[number], BatchNormArgs];
    super(1, numFeatures, batchNormOptions('InstanceNorm1d', args));
  }
}
export class InstanceNorm2d extends InstanceNormNd {
  constructor(numFeatures: number, ...args: BatchNormArgs);
  /** every argument by name, as Python's keywords */
  constructor(opts: { numFeatures: number } & Record<string, unknown>);
  constructor(...all: unknown[]) {
    const [[numFeatures], args] = requiredByName('InstanceNorm2d', ['numFeatures'], all) as [[number], BatchNormArgs];
    super(2, numFeatures, batchNormOptions('InstanceNorm2d', args));
  }
}
export class InstanceNorm3d extends InstanceNormNd {
  constructor(numFeatures: number, ...args: BatchNormArgs);
  /** every argument by name, as Python's keywords */
  constructor(opts: { numFeatures: number } & Record<string, unknown>);
  constructor(...all: unknown[]) {
    const [[numFeatures], args] = requiredByName('InstanceNorm3d', ['numFeatures'], all) as [[number], BatchNormArgs];
    super(3, numFeatures, batchNormOptions('InstanceNorm3d', args));
  }
}
