// Lazy layers (nn.LazyLinear, LazyConv*d, LazyConvTranspose*d, LazyBatchNorm*d, LazyInstanceNorm*d): the input size
// is read from the first input. Until then the parameters are empty placeholders, registered
// under their final names; the first forward (or loadStateDict) makes the real layer, drawing
// its initial weights as PyTorch's reset_parameters does at that moment, and moves them into the
// placeholders in place, so an optimizer made before still trains them.
import { Tensor } from '../tensor/tensor';
import { empty, tensor } from '../tensor/creation';
import { native } from '../tensor/native';
import { Module } from './module';
import { Linear, FactoryOptions } from './layers';
import { Conv1d, Conv2d, Conv3d, ConvLayerOptions, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d, ConvTransposeLayerOptions, ConvArgs, ConvTransposeArgs, convOptions, convTransposeOptions } from './conv';
import { BatchNorm1d, BatchNorm2d, BatchNorm3d, BatchNormOptions, BatchNormArgs, batchNormOptions, InstanceNorm1d, InstanceNorm2d, InstanceNorm3d } from './norm';
import { factoryOf, layerOptions, requiredByName, PositionalOr } from './args';

type Size = number | number[];

abstract class LazyModule<M extends Module> extends Module {
  private inner: M | null = null;
  constructor() {
    super();
    // (the materialized layer computes; its tensors are this module's own, under its own names)
    this.unregistered('inner');
  }
  /** The real layer for this input (its constructor draws the initial weights). */
  protected abstract build(input: Tensor): M;
  /** The real layer for the size a loaded state dict says (named by its first placeholder). */
  protected abstract buildFromSize(size: number): M;
  /** Which placeholder's loaded shape tells the size, and which of its dims. */
  protected abstract readonly sizeFrom: [string, number];

  /** Registers the placeholders (empty tensors) for these parameters and buffers. */
  protected placeholders(params: string[], buffers: string[], opts: FactoryOptions): void {
    for (const n of params) this.registerParameter(n, empty([0], factoryOf(opts)));
    for (const n of buffers) this.registerBuffer(n, empty([0], factoryOf(opts)));
  }
  /** Whether the first forward is still to come (PyTorch's has_uninitialized_params). */
  hasUninitializedParams(): boolean {
    return this.inner === null;
  }
  /** The layer this one became (null before the first forward). */
  get initialized(): M | null {
    return this.inner;
  }
  forward(x: Tensor): Tensor {
    if (!this.inner) this.materialize(this.build(x));
    return (this.inner!.forward as (x: Tensor) => Tensor)(x);
  }
  private materialize(real: M): void {
    real.train(this.training);
    const mine = new Map(this._tensorSlots().filter((s) => s.owner === this).map((s) => [s.slot, s.tensor]));
    for (const s of real._tensorSlots()) {
      if (s.owner !== real) continue;
      const placeholder = mine.get(s.slot);
      if (!placeholder) continue;
      native.setData(placeholder._id, s.tensor._id); // same tensor, the real layer's values
      real._setTensorSlot(s.slot, placeholder);
      s.tensor.dispose();
    }
    this.inner = real;
  }
  /** @internal (loadStateDict) a state dict with this layer's tensors sizes it first, as PyTorch's lazy load hook. */
  _lazyLoad(prefix: string, src: Map<string, Tensor>): void {
    if (this.inner) return;
    const [name, dim] = this.sizeFrom;
    const t = src.get(prefix + name);
    if (t && t.ndim > dim) this.materialize(this.buildFromSize(t.shape[dim]));
  }
  override train(mode = true): this {
    super.train(mode);
    this.inner?.train(mode);
    return this;
  }
}

/** nn.LazyLinear: Linear with inFeatures read from the first input's last dim. */
export class LazyLinear extends LazyModule<Linear> {
  protected readonly sizeFrom: [string, number] = ['weight', 1];
  private readonly opts: FactoryOptions & { bias?: boolean };
  readonly outFeatures: number;
  /** nn.LazyLinear(outFeatures, bias=True, *, device, dtype) */
  constructor(outFeatures: number, ...args: PositionalOr<[bias?: boolean], FactoryOptions & { bias?: boolean }>);
  /** every argument by name, as Python's keywords */
  constructor(opts: FactoryOptions & { outFeatures: number; bias?: boolean });
  constructor(...all: unknown[]) {
    super();
    const [[outFeatures], args] = requiredByName('LazyLinear', ['outFeatures'], all) as [[number], unknown[]];
    this.outFeatures = outFeatures;
    const opts = this.opts = layerOptions('LazyLinear', args, ['bias']);
    this.placeholders(opts.bias === false ? ['weight'] : ['weight', 'bias'], [], opts);
    if (opts.bias === false) this.registerParameter('bias', null);
  }
  protected build(x: Tensor) { return this.buildFromSize(x.shape[x.ndim - 1]); }
  protected buildFromSize(inFeatures: number) { return new Linear(inFeatures, this.outFeatures, this.opts); }
  get inFeatures(): number { return this.initialized?.inFeatures ?? 0; }
  protected override extraRepr(): string { return `inFeatures=${this.inFeatures}, outFeatures=${this.outFeatures}, bias=${this.opts.bias !== false}`; }
}

type ConvLike = Conv1d | Conv2d | Conv3d | ConvTranspose1d | ConvTranspose2d | ConvTranspose3d;
abstract class LazyConvNd<M extends ConvLike, O extends ConvLayerOptions | ConvTransposeLayerOptions> extends LazyModule<M> {
  constructor(private readonly nd: number, readonly outChannels: number, readonly kernelSize: Size, protected readonly opts: O,
    private readonly make: (inChannels: number) => M, transposed: boolean) {
    super();
    this.placeholders(opts.bias === false ? ['weight'] : ['weight', 'bias'], [], opts);
    if (opts.bias === false) this.registerParameter('bias', null);
    this.sizeFrom = ['weight', transposed ? 0 : 1];
  }
  protected readonly sizeFrom: [string, number];
  protected build(x: Tensor) {
    if (x.ndim !== this.nd + 1 && x.ndim !== this.nd + 2) {
      throw new Error(`Expected ${this.nd + 1}D (unbatched) or ${this.nd + 2}D (batched) input to ${this.constructor.name}, but got input of size: [${x.shape}]`);
    }
    const inChannels = x.shape[x.ndim === this.nd + 2 ? 1 : 0];
    const groups = this.opts.groups ?? 1;
    if (inChannels % groups) throw new Error(`${this.constructor.name}: inChannels (${inChannels}) must be divisible by groups (${groups})`);
    return this.make(inChannels);
  }
  protected buildFromSize(size: number) {
    // the weight is (out, in / groups, ...) for convolutions, (in, out / groups, ...) transposed
    return this.make(this.sizeFrom[1] === 1 ? size * (this.opts.groups ?? 1) : size);
  }
}
export class LazyConv1d extends LazyConvNd<Conv1d, ConvLayerOptions> {
  constructor(outChannels: number, kernelSize: Size, ...args: ConvArgs);
  constructor(opts: ConvLayerOptions & { outChannels: number; kernelSize: Size });
  constructor(...all: unknown[]) {
    const [[outChannels, kernelSize], args] = requiredByName('LazyConv1d', ['outChannels', 'kernelSize'], all) as [[number, Size], ConvArgs];
    const opts = convOptions('LazyConv1d', args);
    super(1, outChannels, kernelSize, opts, (c) => new Conv1d(c, outChannels, kernelSize, opts), false);
  }
}
export class LazyConv2d extends LazyConvNd<Conv2d, ConvLayerOptions> {
  constructor(outChannels: number, kernelSize: Size, ...args: ConvArgs);
  constructor(opts: ConvLayerOptions & { outChannels: number; kernelSize: Size });
  constructor(...all: unknown[]) {
    const [[outChannels, kernelSize], args] = requiredByName('LazyConv2d', ['outChannels', 'kernelSize'], all) as [[number, Size], ConvArgs];
    const opts = convOptions('LazyConv2d', args);
    super(2, outChannels, kernelSize, opts, (c) => new Conv2d(c, outChannels, kernelSize, opts), false);
  }
}
export class LazyConv3d extends LazyConvNd<Conv3d, ConvLayerOptions> {
  constructor(outChannels: number, kernelSize: Size, ...args: ConvArgs);
  constructor(opts: ConvLayerOptions & { outChannels: number; kernelSize: Size });
  constructor(...all: unknown[]) {
    const [[outChannels, kernelSize], args] = requiredByName('LazyConv3d', ['outChannels', 'kernelSize'], all) as [[number, Size], ConvArgs];
    const opts = convOptions('LazyConv3d', args);
    super(3, outChannels, kernelSize, opts, (c) => new Conv3d(c, outChannels, kernelSize, opts), false);
  }
}
export class LazyConvTranspose1d extends LazyConvNd<ConvTranspose1d, ConvTransposeLayerOptions> {
  constructor(outChannels: number, kernelSize: Size, ...args: ConvTransposeArgs);
  constructor(opts: ConvTransposeLayerOptions & { outChannels: number; kernelSize: Size });
  constructor(...all: unknown[]) {
    const [[outChannels, kernelSize], args] = requiredByName('LazyConvTranspose1d', ['outChannels', 'kernelSize'], all) as [[number, Size], ConvTransposeArgs];
    const opts = convTransposeOptions('LazyConvTranspose1d', args);
    super(1, outChannels, kernelSize, opts, (c) => new ConvTranspose1d(c, outChannels, kernelSize, opts), true);
  }
}
export class LazyConvTranspose2d extends LazyConvNd<ConvTranspose2d, ConvTransposeLayerOptions> {
  constructor(outChannels: number, kernelSize: Size, ...args: ConvTransposeArgs);
  constructor(opts: ConvTransposeLayerOptions & { outChannels: number; kernelSize: Size });
  constructor(...all: unknown[]) {
    const [[outChannels, kernelSize], args] = requiredByName('LazyConvTranspose2d', ['outChannels', 'kernelSize'], all) as [[number, Size], ConvTransposeArgs];
    const opts = convTransposeOptions('LazyConvTranspose2d', args);
    super(2, outChannels, kernelSize, opts, (c) => new ConvTranspose2d(c, outChannels, kernelSize, opts), true);
  }
}
export class LazyConvTranspose3d extends LazyConvNd<ConvTranspose3d, ConvTransposeLayerOptions> {
  constructor(outChannels: number, kernelSize: Size, ...args: ConvTransposeArgs);
  constructor(opts: ConvTransposeLayerOptions & { outChannels: number; kernelSize: Size });
  constructor(...all: unknown[]) {
    const [[outChannels, kernelSize], args] = requiredByName('LazyConvTranspose3d', ['outChannels', 'kernelSize'], all) as [[number, Size], ConvTransposeArgs];
    const opts = convTransposeOptions('LazyConvTranspose3d', args);
    super(3, outChannels, kernelSize, opts, (c) => new ConvTranspose3d(c, outChannels, kernelSize, opts), true);
  }
}

type BN = BatchNorm1d | BatchNorm2d | BatchNorm3d;
type IN = InstanceNorm1d | InstanceNorm2d | InstanceNorm3d;
abstract class LazyBatchNormNd<M extends BN | IN> extends LazyModule<M> {
  protected readonly sizeFrom: [string, number];
  /** instance norm: unbatched inputs have spatialDims + 1 dims (the lazy ones default to affine and running statistics, as PyTorch's) */
  constructor(protected readonly opts: BatchNormOptions, private readonly make: (n: number) => M, private readonly instance?: { spatialDims: number }) {
    super();
    const affine = opts.affine ?? true, track = opts.trackRunningStats ?? true;
    this.placeholders(affine ? ['weight', 'bias'] : [], track ? ['running_mean', 'running_var'] : [], opts);
    if (!affine) { this.registerParameter('weight', null); this.registerParameter('bias', null); }
    if (track) this.registerBuffer('num_batches_tracked', tensor(0, { dtype: 'int64', device: opts.device }));
    this.sizeFrom = [affine ? 'weight' : 'running_mean', 0];
  }
  protected build(x: Tensor) { return this.make(this.instance && x.ndim === this.instance.spatialDims + 1 ? x.shape[0] : x.shape[1]); }
  protected buildFromSize(n: number) { return this.make(n); }
}
export class LazyBatchNorm1d extends LazyBatchNormNd<BatchNorm1d> {
  constructor(...args: BatchNormArgs) {
    const opts = batchNormOptions('LazyBatchNorm1d', args);
    super(opts, (n) => new BatchNorm1d(n, opts));
  }
}
export class LazyBatchNorm2d extends LazyBatchNormNd<BatchNorm2d> {
  constructor(...args: BatchNormArgs) {
    const opts = batchNormOptions('LazyBatchNorm2d', args);
    super(opts, (n) => new BatchNorm2d(n, opts));
  }
}
export class LazyBatchNorm3d extends LazyBatchNormNd<BatchNorm3d> {
  constructor(...args: BatchNormArgs) {
    const opts = batchNormOptions('LazyBatchNorm3d', args);
    super(opts, (n) => new BatchNorm3d(n, opts));
  }
}
export class LazyInstanceNorm1d extends LazyBatchNormNd<InstanceNorm1d> {
  constructor(...args: BatchNormArgs) {
    const opts = { affine: true, trackRunningStats: true, ...batchNormOptions('LazyInstanceNorm1d', args) };
    super(opts, (n) => new InstanceNorm1d(n, opts), { spatialDims: 1 });
  }
}
export class LazyInstanceNorm2d extends LazyBatchNormNd<InstanceNorm2d> {
  constructor(...args: BatchNormArgs) {
    const opts = { affine: true, trackRunningStats: true, ...batchNormOptions('LazyInstanceNorm2d', args) };
    super(opts, (n) => new InstanceNorm2d(n, opts), { spatialDims: 2 });
  }
}
export class LazyInstanceNorm3d extends LazyBatchNormNd<InstanceNorm3d> {
  constructor(...args: BatchNormArgs) {
    const opts = { affine: true, trackRunningStats: true, ...batchNormOptions('LazyInstanceNorm3d', args) };
    super(opts, (n) => new InstanceNorm3d(n, opts), { spatialDims: 3 });
  }
}
