// Convolution and pooling layers over (N, C, L), (N, C, H, W) and (N, C, D, H, W), as torch.nn's.
import { Tensor } from '../tensor/tensor';
import type { NamedTuple } from '../tensor/named_tuple';
import { empty } from '../tensor/creation';
import { noGrad } from '../tensor/runtime';
import { Module } from './module';
import * as F from './functional';
import { kaimingUniform_ } from './init';
import type { FactoryOptions } from './layers';
import { factoryOf, layerOptions, requiredByName, PositionalOr } from './args';
import { optionsOf, isOptionsObject } from '../tensor/options';

type Size = number | number[];
const tuple = (v: Size, nd: number, what: string): number[] => {
  const t = typeof v === 'number' ? new Array(nd).fill(v) : v;
  // (a string '2' would be taken apart, or reach the native layer as text)
  if (!Array.isArray(t) || t.length !== nd || !t.every((k) => Number.isInteger(k))) throw new Error(`${what} must be ${nd === 1 ? 'an integer (or a list of one)' : `an integer or ${nd} of them`}, got ${typeof v === 'string' ? JSON.stringify(v) : Array.isArray(v) ? `[${v}]` : String(v)}`);
  return t;
};

export interface ConvLayerOptions extends FactoryOptions {
  stride?: Size;
  padding?: Size | 'same' | 'valid';
  dilation?: Size;
  groups?: number;
  bias?: boolean;
  /** how the input is padded: 'zeros' (default), 'reflect', 'replicate' or 'circular' */
  paddingMode?: 'zeros' | 'reflect' | 'replicate' | 'circular';
}

/** PyTorch's (inChannels, outChannels, kernelSize, stride=1, padding=0, dilation=1, groups=1, bias=True, paddingMode='zeros', *, device, dtype) after kernelSize, or an options object. */
export type ConvArgs = PositionalOr<[stride?: Size, padding?: Size | 'same' | 'valid', dilation?: Size, groups?: number, bias?: boolean, paddingMode?: ConvLayerOptions['paddingMode']], ConvLayerOptions>;
export const convOptions = (name: string, args: unknown[]) => layerOptions<ConvLayerOptions>(name, args, ['stride', 'padding', 'dilation', 'groups', 'bias', 'paddingMode']);

/** nn.Conv1d / nn.Conv2d: weight (out, in / groups, ...kernel), PyTorch's initialisation. */
// (Conv*d's arguments that have no default, by position or by name)
const CONV_REQUIRED = ['inChannels', 'outChannels', 'kernelSize'];
abstract class ConvNd extends Module {
  declare weight: Tensor;
  declare bias: Tensor | null;
  readonly kernelSize: number[];
  readonly stride: number[];
  readonly padding: number[] | 'same' | 'valid';
  readonly dilation: number[];
  readonly groups: number;
  readonly paddingMode: 'zeros' | 'reflect' | 'replicate' | 'circular';

  constructor(private readonly nd: number, readonly inChannels: number, readonly outChannels: number, kernelSize: Size, opts: ConvLayerOptions = {}) {
    super();
    const name = `Conv${nd}d`;
    this.groups = opts.groups ?? 1;
    if (inChannels % this.groups || outChannels % this.groups) {
      throw new Error(`${name}: inChannels (${inChannels}) and outChannels (${outChannels}) must both be divisible by groups (${this.groups})`);
    }
    this.kernelSize = tuple(kernelSize, nd, `nn.${name}: kernelSize`);
    this.stride = tuple(opts.stride ?? 1, nd, `nn.${name}: stride`);
    this.padding = typeof opts.padding === 'string' ? opts.padding : tuple(opts.padding ?? 0, nd, `nn.${name}: padding`);
    this.dilation = tuple(opts.dilation ?? 1, nd, `nn.${name}: dilation`);
    this.paddingMode = opts.paddingMode ?? 'zeros';
    if (!['zeros', 'reflect', 'replicate', 'circular'].includes(this.paddingMode)) {
      throw new Error(`${name}: paddingMode must be one of 'zeros', 'reflect', 'replicate', 'circular', got '${this.paddingMode}'`);
    }
    if (this.padding === 'same' && this.stride.some((s) => s !== 1)) throw new Error(`${name}: padding 'same' needs stride 1, as in PyTorch`);
    if (this.paddingMode !== 'zeros' && typeof this.padding === 'string') throw new Error(`${name}: paddingMode '${this.paddingMode}' needs numeric padding`);
    this.registerParameter('weight', empty([outChannels, inChannels / this.groups, ...this.kernelSize], factoryOf(opts)));
    this.registerParameter('bias', opts.bias === false ? null : empty([outChannels], factoryOf(opts)));
    // reset_parameters(): kaiming_uniform_(a=√5), bias uniform(±1/√fan_in), in that order.
    noGrad(() => {
      kaimingUniform_(this.weight, Math.sqrt(5));
      const fanIn = (inChannels / this.groups) * this.kernelSize.reduce((a, b) => a * b, 1);
      const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
      this.bias?.uniform_(-bound, bound);
    });
  }

  forward(x: Tensor): Tensor {
    const conv = this.nd === 1 ? F.conv1d : this.nd === 2 ? F.conv2d : F.conv3d;
    const opts = { stride: this.stride, dilation: this.dilation, groups: this.groups };
    if (this.paddingMode === 'zeros') return conv(x, this.weight, this.bias, { ...opts, padding: this.padding });
    // Other modes pad first (last dim first, as F.pad wants), then convolve without padding.
    const p = this.padding as number[];
    const padded = F.pad(x, [...p].reverse().flatMap((k) => [k, k]), { mode: this.paddingMode });
    const out = conv(padded, this.weight, this.bias, { ...opts, padding: 0 });
    padded.dispose();
    return out;
  }
  protected override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}, kernelSize=[${this.kernelSize}], stride=[${this.stride}]` +
      (typeof this.padding === 'string' ? `, padding='${this.padding}'` : this.padding.some((p) => p) ? `, padding=[${this.padding}]` : '') +
      (this.groups !== 1 ? `, groups=${this.groups}` : '') + (this.bias ? '' : ', bias=false');
  }
}
export class Conv1d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: Size, ...args: ConvArgs);
  constructor(opts: ConvLayerOptions & { inChannels: number; outChannels: number; kernelSize: Size });
  /** the channels by position, kernelSize and the rest by name: PyTorch's nn.Conv2d(3, 64, kernel_size=7, stride=2) */
  constructor(inChannels: number, outChannels: number, opts: ConvLayerOptions & { kernelSize: Size });
  constructor(...all: unknown[]) {
    const [[inChannels, outChannels, kernelSize], args] = requiredByName('Conv1d', CONV_REQUIRED, all) as [[number, number, Size], unknown[]];
    super(1, inChannels, outChannels, kernelSize, convOptions('Conv1d', args));
  }
}
export class Conv2d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: Size, ...args: ConvArgs);
  constructor(opts: ConvLayerOptions & { inChannels: number; outChannels: number; kernelSize: Size });
  /** the channels by position, kernelSize and the rest by name: PyTorch's nn.Conv2d(3, 64, kernel_size=7, stride=2) */
  constructor(inChannels: number, outChannels: number, opts: ConvLayerOptions & { kernelSize: Size });
  constructor(...all: unknown[]) {
    const [[inChannels, outChannels, kernelSize], args] = requiredByName('Conv2d', CONV_REQUIRED, all) as [[number, number, Size], unknown[]];
    super(2, inChannels, outChannels, kernelSize, convOptions('Conv2d', args));
  }
}
/** Over (N, C, D, H, W). */
export class Conv3d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: Size, ...args: ConvArgs);
  constructor(opts: ConvLayerOptions & { inChannels: number; outChannels: number; kernelSize: Size });
  /** the channels by position, kernelSize and the rest by name: PyTorch's nn.Conv2d(3, 64, kernel_size=7, stride=2) */
  constructor(inChannels: number, outChannels: number, opts: ConvLayerOptions & { kernelSize: Size });
  constructor(...all: unknown[]) {
    const [[inChannels, outChannels, kernelSize], args] = requiredByName('Conv3d', CONV_REQUIRED, all) as [[number, number, Size], unknown[]];
    super(3, inChannels, outChannels, kernelSize, convOptions('Conv3d', args));
  }
}

type MaxPoolLayerOptions = F.PoolOptions & { dilation?: Size };
type AvgPoolLayerOptions = F.PoolOptions & { countIncludePad?: boolean };
/** PyTorch's nn.MaxPoolNd(kernelSize, stride=None, padding=0, dilation=1, returnIndices=False, ceilMode=False), or an options object after kernelSize. */
type MaxPoolLayerArgs<R extends boolean> = PositionalOr<[stride?: Size | null, padding?: Size, dilation?: Size, returnIndices?: R, ceilMode?: boolean], MaxPoolLayerOptions & { returnIndices?: R }>;
/** A max pool's forward: the values; built with returnIndices true, PyTorch's pair (values, indices), for MaxUnpool. */
export type MaxPoolOutput<R extends boolean> = R extends true ? NamedTuple<{ values: Tensor; indices: Tensor }> : Tensor;
/** PyTorch's nn.AvgPoolNd(kernelSize, stride=None, padding=0, ceilMode=False, countIncludePad=True, divisorOverride=None (only)). */
type AvgPoolLayerArgs = PositionalOr<[stride?: Size | null, padding?: Size, ceilMode?: boolean, countIncludePad?: boolean, divisorOverride?: null], AvgPoolLayerOptions>;
function maxPoolOptions(name: string, args: unknown[]): { opts: MaxPoolLayerOptions; returnIndices: boolean } {
  const { returnIndices, ...opts } = layerOptions<MaxPoolLayerOptions & { returnIndices?: boolean }>(name, args, ['stride', 'padding', 'dilation', 'returnIndices', 'ceilMode'], { factory: false });
  return { opts, returnIndices: indicesFlag(name, returnIndices) };
}
const avgPoolOptions = (name: string, args: unknown[]) =>
  layerOptions<AvgPoolLayerOptions>(name, args, ['stride', 'padding', 'ceilMode', 'countIncludePad', 'divisorOverride'], { factory: false, fixed: { divisorOverride: null } });

const poolRepr = (k: Size, o: F.PoolOptions) =>
  `kernelSize=${JSON.stringify(k)}, stride=${JSON.stringify(o.stride ?? k)}` + (o.padding ? `, padding=${JSON.stringify(o.padding)}` : '') + (o.ceilMode ? ', ceilMode=true' : '');

export class MaxPool1d<R extends boolean = false> extends Module {
  readonly opts: MaxPoolLayerOptions;
  readonly kernelSize: Size;
  /** forward gives (values, indices), as PyTorch's return_indices=True */
  readonly returnIndices: R;
  constructor(kernelSize: Size, ...args: MaxPoolLayerArgs<R>);
  constructor(opts: MaxPoolLayerOptions & { kernelSize: Size; returnIndices?: R });
  constructor(...all: unknown[]) {
    super();
    const [[kernelSize], args] = requiredByName('MaxPool1d', ['kernelSize'], all) as [[Size], unknown[]];
    this.kernelSize = kernelSize;
    const { opts, returnIndices } = maxPoolOptions('MaxPool1d', args);
    this.opts = opts;
    this.returnIndices = returnIndices as R;
  }
  forward(x: Tensor): MaxPoolOutput<R> {
    return (this.returnIndices ? F.maxPool1dWithIndices(x, this.kernelSize, this.opts) : F.maxPool1d(x, this.kernelSize, this.opts)) as MaxPoolOutput<R>;
  }
  /** The values and their indices (PyTorch's return_indices=True), for MaxUnpool1d. */
  forwardWithIndices(x: Tensor): { values: Tensor; indices: Tensor } { return F.maxPool1dWithIndices(x, this.kernelSize, this.opts); }
  protected override extraRepr(): string { return poolRepr(this.kernelSize, this.opts); }
}
export class MaxPool2d<R extends boolean = false> extends Module {
  readonly opts: MaxPoolLayerOptions;
  readonly kernelSize: Size;
  /** forward gives (values, indices), as PyTorch's return_indices=True */
  readonly returnIndices: R;
  constructor(kernelSize: Size, ...args: MaxPoolLayerArgs<R>);
  constructor(opts: MaxPoolLayerOptions & { kernelSize: Size; returnIndices?: R });
  constructor(...all: unknown[]) {
    super();
    const [[kernelSize], args] = requiredByName('MaxPool2d', ['kernelSize'], all) as [[Size], unknown[]];
    this.kernelSize = kernelSize;
    const { opts, returnIndices } = maxPoolOptions('MaxPool2d', args);
    this.opts = opts;
    this.returnIndices = returnIndices as R;
  }
  forward(x: Tensor): MaxPoolOutput<R> {
    return (this.returnIndices ? F.maxPool2dWithIndices(x, this.kernelSize, this.opts) : F.maxPool2d(x, this.kernelSize, this.opts)) as MaxPoolOutput<R>;
  }
  /** The values and their indices (PyTorch's return_indices=True), for MaxUnpool2d. */
  forwardWithIndices(x: Tensor): { values: Tensor; indices: Tensor } { return F.maxPool2dWithIndices(x, this.kernelSize, this.opts); }
  protected override extraRepr(): string { return poolRepr(this.kernelSize, this.opts); }
}
export class AvgPool1d extends Module {
  readonly opts: AvgPoolLayerOptions;
  readonly kernelSize: Size;
  constructor(kernelSize: Size, ...args: AvgPoolLayerArgs);
  constructor(opts: AvgPoolLayerOptions & { kernelSize: Size });
  constructor(...all: unknown[]) {
    super();
    const [[kernelSize], args] = requiredByName('AvgPool1d', ['kernelSize'], all) as [[Size], unknown[]];
    this.kernelSize = kernelSize;
    this.opts = avgPoolOptions('AvgPool1d', args);
  }
  forward(x: Tensor): Tensor { return F.avgPool1d(x, this.kernelSize, this.opts); }
  protected override extraRepr(): string { return poolRepr(this.kernelSize, this.opts); }
}
export class AvgPool2d extends Module {
  readonly opts: AvgPoolLayerOptions;
  readonly kernelSize: Size;
  constructor(kernelSize: Size, ...args: AvgPoolLayerArgs);
  constructor(opts: AvgPoolLayerOptions & { kernelSize: Size });
  constructor(...all: unknown[]) {
    super();
    const [[kernelSize], args] = requiredByName('AvgPool2d', ['kernelSize'], all) as [[Size], unknown[]];
    this.kernelSize = kernelSize;
    this.opts = avgPoolOptions('AvgPool2d', args);
  }
  forward(x: Tensor): Tensor { return F.avgPool2d(x, this.kernelSize, this.opts); }
  protected override extraRepr(): string { return poolRepr(this.kernelSize, this.opts); }
}
export class MaxPool3d<R extends boolean = false> extends Module {
  readonly opts: MaxPoolLayerOptions;
  readonly kernelSize: Size;
  /** forward gives (values, indices), as PyTorch's return_indices=True */
  readonly returnIndices: R;
  constructor(kernelSize: Size, ...args: MaxPoolLayerArgs<R>);
  /** every argument by name, as Python's keywords */
  constructor(opts: { kernelSize: Size; returnIndices?: R } & Record<string, unknown>);
  constructor(...all: unknown[]) {
    const [[kernelSize], args] = requiredByName('MaxPool3d', ['kernelSize'], all) as [[Size], unknown[]];
    super();
    this.kernelSize = kernelSize;
    const { opts, returnIndices } = maxPoolOptions('MaxPool3d', args);
    this.opts = opts;
    this.returnIndices = returnIndices as R;
  }
  forward(x: Tensor): MaxPoolOutput<R> {
    return (this.returnIndices ? F.maxPool3dWithIndices(x, this.kernelSize, this.opts) : F.maxPool3d(x, this.kernelSize, this.opts)) as MaxPoolOutput<R>;
  }
  /** The values and their indices (PyTorch's return_indices=True), for MaxUnpool3d. */
  forwardWithIndices(x: Tensor): { values: Tensor; indices: Tensor } { return F.maxPool3dWithIndices(x, this.kernelSize, this.opts); }
  protected override extraRepr(): string { return poolRepr(this.kernelSize, this.opts); }
}
export class AvgPool3d extends Module {
  readonly opts: AvgPoolLayerOptions;
  readonly kernelSize: Size;
  constructor(kernelSize: Size, ...args: AvgPoolLayerArgs);
  /** every argument by name, as Python's keywords */
  constructor(opts: { kernelSize: Size } & Record<string, unknown>);
  constructor(...all: unknown[]) {
    const [[kernelSize], args] = requiredByName('AvgPool3d', ['kernelSize'], all) as [[Size], AvgPoolLayerArgs];
    super();
    this.kernelSize = kernelSize;
    this.opts = avgPoolOptions('AvgPool3d', args);
  }
  forward(x: Tensor): Tensor { return F.avgPool3d(x, this.kernelSize, this.opts); }
  protected override extraRepr(): string { return poolRepr(this.kernelSize, this.opts); }
}
export class AdaptiveAvgPool3d extends Module {
  readonly outputSize: Size;
  constructor(outputSize: Size | { outputSize: Size }) {
    super();
    this.outputSize = requiredByName('AdaptiveAvgPool3d', ['outputSize'], [outputSize])[0][0] as Size;
  }
  forward(x: Tensor): Tensor { return F.adaptiveAvgPool3d(x, this.outputSize); }
  protected override extraRepr(): string { return `outputSize=${JSON.stringify(this.outputSize)}`; }
}
export class AdaptiveAvgPool1d extends Module {
  readonly outputSize: Size;
  constructor(outputSize: Size | { outputSize: Size }) {
    super();
    this.outputSize = requiredByName('AdaptiveAvgPool1d', ['outputSize'], [outputSize])[0][0] as Size;
  }
  forward(x: Tensor): Tensor { return F.adaptiveAvgPool1d(x, this.outputSize); }
  protected override extraRepr(): string { return `outputSize=${JSON.stringify(this.outputSize)}`; }
}
type InterpolateMode = NonNullable<F.InterpolateOptions['mode']>;
/** nn.Upsample: F.interpolate with fixed options. */
export class Upsample extends Module {
  readonly options: F.InterpolateOptions;
  /** nn.Upsample(size, scaleFactor, mode='nearest', alignCorners, recomputeScaleFactor), or an options object */
  constructor(...args: PositionalOr<[size?: Size | null, scaleFactor?: number | number[] | null, mode?: InterpolateMode, alignCorners?: boolean | null, recomputeScaleFactor?: boolean | null], F.InterpolateOptions>) {
    super();
    const options = this.options = layerOptions<F.InterpolateOptions>(this.constructor.name, args, ['size', 'scaleFactor', 'mode', 'alignCorners', 'recomputeScaleFactor'], { factory: false });
    if ((options.size == null) === (options.scaleFactor == null)) throw new Error('Upsample: give either size or scaleFactor (one of them)');
  }
  forward(x: Tensor): Tensor {
    return F.interpolate(x, this.options);
  }
  protected override extraRepr(): string {
    const o = this.options;
    return `${o.size != null ? `size=${JSON.stringify(o.size)}` : `scaleFactor=${JSON.stringify(o.scaleFactor)}`}, mode='${o.mode ?? 'nearest'}'`;
  }
}
export class AdaptiveAvgPool2d extends Module {
  readonly outputSize: Size;
  constructor(outputSize: Size | { outputSize: Size }) {
    super();
    this.outputSize = requiredByName('AdaptiveAvgPool2d', ['outputSize'], [outputSize])[0][0] as Size;
  }
  forward(x: Tensor): Tensor { return F.adaptiveAvgPool2d(x, this.outputSize); }
  protected override extraRepr(): string { return `outputSize=${JSON.stringify(this.outputSize)}`; }
}

export interface ConvTransposeLayerOptions extends FactoryOptions {
  stride?: Size;
  padding?: Size;
  /** extra size added to one side of the output (to pick among the sizes a strided conv maps from) */
  outputPadding?: Size;
  dilation?: Size;
  groups?: number;
  bias?: boolean;
}

/** PyTorch's (inChannels, outChannels, kernelSize, stride=1, padding=0, outputPadding=0, groups=1, bias=True, dilation=1, paddingMode='zeros' (only), *, device, dtype) after kernelSize, or an options object. */
export type ConvTransposeArgs = PositionalOr<[stride?: Size, padding?: Size, outputPadding?: Size, groups?: number, bias?: boolean, dilation?: Size, paddingMode?: 'zeros'], ConvTransposeLayerOptions>;
export const convTransposeOptions = (name: string, args: unknown[]) =>
  layerOptions<ConvTransposeLayerOptions>(name, args, ['stride', 'padding', 'outputPadding', 'groups', 'bias', 'dilation', 'paddingMode'], { fixed: { paddingMode: 'zeros' } });

/** nn.ConvTranspose1d / 2d: weight (in, out / groups, ...kernel), PyTorch's initialisation. */
abstract class ConvTransposeNd extends Module {
  declare weight: Tensor;
  declare bias: Tensor | null;
  readonly kernelSize: number[];
  readonly stride: number[];
  readonly padding: number[];
  readonly outputPadding: number[];
  readonly dilation: number[];
  readonly groups: number;

  constructor(private readonly nd: number, readonly inChannels: number, readonly outChannels: number, kernelSize: Size, opts: ConvTransposeLayerOptions = {}) {
    super();
    this.groups = opts.groups ?? 1;
    if (inChannels % this.groups || outChannels % this.groups) {
      throw new Error(`ConvTranspose${nd}d: inChannels (${inChannels}) and outChannels (${outChannels}) must both be divisible by groups (${this.groups})`);
    }
    [this.kernelSize, this.stride, this.padding, this.outputPadding, this.dilation] =
      ([['kernelSize', kernelSize], ['stride', opts.stride ?? 1], ['padding', opts.padding ?? 0], ['outputPadding', opts.outputPadding ?? 0], ['dilation', opts.dilation ?? 1]] as const)
        .map(([what, v]) => tuple(v, nd, `nn.ConvTranspose${nd}d: ${what}`));
    this.registerParameter('weight', empty([inChannels, outChannels / this.groups, ...this.kernelSize], factoryOf(opts)));
    this.registerParameter('bias', opts.bias === false ? null : empty([outChannels], factoryOf(opts)));
    // As _ConvNd.reset_parameters: the fan-in of this weight layout is (out / groups) · kernel.
    noGrad(() => {
      kaimingUniform_(this.weight, Math.sqrt(5));
      const fanIn = (outChannels / this.groups) * this.kernelSize.reduce((a, b) => a * b, 1);
      const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
      this.bias?.uniform_(-bound, bound);
    });
  }
  forward(x: Tensor): Tensor {
    const conv = this.nd === 1 ? F.convTranspose1d : this.nd === 2 ? F.convTranspose2d : F.convTranspose3d;
    return conv(x, this.weight, this.bias, { stride: this.stride, padding: this.padding, outputPadding: this.outputPadding, groups: this.groups, dilation: this.dilation });
  }
  protected override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}, kernelSize=[${this.kernelSize}], stride=[${this.stride}]`;
  }
}
export class ConvTranspose1d extends ConvTransposeNd {
  constructor(inChannels: number, outChannels: number, kernelSize: Size, ...args: ConvTransposeArgs);
  /** every argument by name, as Python's keywords */
  constructor(opts: { inChannels: number; outChannels: number; kernelSize: Size } & Record<string, unknown>);
  /** the channels by position, kernelSize and the rest by name */
  constructor(inChannels: number, outChannels: number, opts: { kernelSize: Size } & Record<string, unknown>);
  constructor(...all: unknown[]) {
    const [[inChannels, outChannels, kernelSize], args] = requiredByName('ConvTranspose1d', ['inChannels', 'outChannels', 'kernelSize'], all) as [[number, number, Size], ConvTransposeArgs];
    super(1, inChannels, outChannels, kernelSize, convTransposeOptions('ConvTranspose1d', args));
  }
}
export class ConvTranspose2d extends ConvTransposeNd {
  constructor(inChannels: number, outChannels: number, kernelSize: Size, ...args: ConvTransposeArgs);
  /** every argument by name, as Python's keywords */
  constructor(opts: { inChannels: number; outChannels: number; kernelSize: Size } & Record<string, unknown>);
  /** the channels by position, kernelSize and the rest by name */
  constructor(inChannels: number, outChannels: number, opts: { kernelSize: Size } & Record<string, unknown>);
  constructor(...all: unknown[]) {
    const [[inChannels, outChannels, kernelSize], args] = requiredByName('ConvTranspose2d', ['inChannels', 'outChannels', 'kernelSize'], all) as [[number, number, Size], ConvTransposeArgs];
    super(2, inChannels, outChannels, kernelSize, convTransposeOptions('ConvTranspose2d', args));
  }
}

/** (N, C·r², H, W) -> (N, C, H·r, W·r) (sub-pixel upsampling). */
export class PixelShuffle extends Module {
  readonly upscaleFactor: number;
  constructor(upscaleFactor: number);
  /** every argument by name, as Python's keywords */
  constructor(opts: { upscaleFactor: number } & Record<string, unknown>);
  constructor(...all: unknown[]) {
    const [[upscaleFactor], _rest] = requiredByName('PixelShuffle', ['upscaleFactor'], all) as [[number], unknown[]];
    if (_rest.length) throw new Error('nn.PixelShuffle: takes only upscaleFactor');
    super();
    this.upscaleFactor = upscaleFactor;
  }
  forward(x: Tensor): Tensor { return F.pixelShuffle(x, this.upscaleFactor); }
  protected override extraRepr(): string { return `upscaleFactor=${this.upscaleFactor}`; }
}
export class PixelUnshuffle extends Module {
  readonly downscaleFactor: number;
  constructor(downscaleFactor: number);
  /** every argument by name, as Python's keywords */
  constructor(opts: { downscaleFactor: number } & Record<string, unknown>);
  constructor(...all: unknown[]) {
    const [[downscaleFactor], _rest] = requiredByName('PixelUnshuffle', ['downscaleFactor'], all) as [[number], unknown[]];
    if (_rest.length) throw new Error('nn.PixelUnshuffle: takes only downscaleFactor');
    super();
    this.downscaleFactor = downscaleFactor;
  }
  forward(x: Tensor): Tensor { return F.pixelUnshuffle(x, this.downscaleFactor); }
  protected override extraRepr(): string { return `downscaleFactor=${this.downscaleFactor}`; }
}

type BlockOptions = { dilation?: Size; padding?: Size; stride?: Size };
type BlockArgs = PositionalOr<[dilation?: Size, padding?: Size, stride?: Size], BlockOptions>;
/** Sliding blocks as columns (nn.Unfold, F.unfold). */
export class Unfold extends Module {
  readonly opts: BlockOptions;
  readonly kernelSize: Size;
  /** nn.Unfold(kernelSize, dilation=1, padding=0, stride=1), or an options object after kernelSize */
  constructor(kernelSize: Size, ...args: BlockArgs);
  constructor(opts: BlockOptions & { kernelSize: Size });
  constructor(...all: unknown[]) {
    super();
    const [[kernelSize], args] = requiredByName('Unfold', ['kernelSize'], all) as [[Size], unknown[]];
    this.kernelSize = kernelSize;
    this.opts = layerOptions('Unfold', args, ['dilation', 'padding', 'stride'], { factory: false });
  }
  forward(x: Tensor): Tensor { return F.unfold(x, this.kernelSize, this.opts); }
}
/** Columns summed back into an image (nn.Fold, F.fold). */
export class Fold extends Module {
  readonly opts: BlockOptions;
  readonly outputSize: Size;
  readonly kernelSize: Size;
  /** nn.Fold(outputSize, kernelSize, dilation=1, padding=0, stride=1), or an options object after kernelSize */
  constructor(outputSize: Size, kernelSize: Size, ...args: BlockArgs);
  constructor(opts: BlockOptions & { outputSize: Size; kernelSize: Size });
  constructor(...all: unknown[]) {
    super();
    const [[outputSize, kernelSize], args] = requiredByName('Fold', ['outputSize', 'kernelSize'], all) as [[Size, Size], unknown[]];
    this.outputSize = outputSize;
    this.kernelSize = kernelSize;
    this.opts = layerOptions('Fold', args, ['dilation', 'padding', 'stride'], { factory: false });
  }
  forward(x: Tensor): Tensor { return F.fold(x, this.outputSize, this.kernelSize, this.opts); }
}

/** nn.ConvTranspose3d: over (N, C, D, H, W). */
export class ConvTranspose3d extends ConvTransposeNd {
  constructor(inChannels: number, outChannels: number, kernelSize: Size, ...args: ConvTransposeArgs);
  /** every argument by name, as Python's keywords */
  constructor(opts: { inChannels: number; outChannels: number; kernelSize: Size } & Record<string, unknown>);
  /** the channels by position, kernelSize and the rest by name */
  constructor(inChannels: number, outChannels: number, opts: { kernelSize: Size } & Record<string, unknown>);
  constructor(...all: unknown[]) {
    const [[inChannels, outChannels, kernelSize], args] = requiredByName('ConvTranspose3d', ['inChannels', 'outChannels', 'kernelSize'], all) as [[number, number, Size], ConvTransposeArgs];
    super(3, inChannels, outChannels, kernelSize, convTransposeOptions('ConvTranspose3d', args));
  }
}

// ---- max pooling with indices, adaptive max pooling, unpooling, LP pooling ----
/** AdaptiveMaxPool1d / 2d / 3d: forward gives the values; built with returnIndices true, the pair (values, indices), as PyTorch's. */
abstract class AdaptiveMaxPoolNd<R extends boolean> extends Module {
  /** forward gives (values, indices), as PyTorch's return_indices=True */
  readonly returnIndices: R;
  constructor(private readonly nd: 1 | 2 | 3, readonly outputSize: Size, returnIndices: unknown) {
    super();
    this.returnIndices = indicesFlag(`AdaptiveMaxPool${nd}d`, returnIndices) as R;
  }
  /** The values and their indices, whatever returnIndices says. */
  forwardWithIndices(x: Tensor): NamedTuple<{ values: Tensor; indices: Tensor }> {
    return [F.adaptiveMaxPool1dWithIndices, F.adaptiveMaxPool2dWithIndices, F.adaptiveMaxPool3dWithIndices][this.nd - 1](x, this.outputSize);
  }
  forward(x: Tensor): MaxPoolOutput<R> {
    return valuesOrPair(this.forwardWithIndices(x), this.returnIndices);
  }
  protected override extraRepr(): string { return `outputSize=${JSON.stringify(this.outputSize)}`; }
}
function indicesFlag(name: string, v: unknown): boolean {
  if (v !== undefined && typeof v !== 'boolean') throw new Error(`nn.${name}: returnIndices must be true or false, got ${JSON.stringify(v)}`);
  return v ?? false;
}
/** A pool's (values, indices): the pair when returnIndices, else the values alone (the indices freed). */
function valuesOrPair<R extends boolean>(r: NamedTuple<{ values: Tensor; indices: Tensor }>, returnIndices: R): MaxPoolOutput<R> {
  if (returnIndices) return r as MaxPoolOutput<R>;
  r.indices.dispose();
  return r.values as MaxPoolOutput<R>;
}
type AdaptiveMaxPoolArgs<R extends boolean> = PositionalOr<[returnIndices?: R], { returnIndices?: R }>;
const adaptiveIndicesFlag = (name: string, args: unknown[]): boolean | undefined =>
  layerOptions<{ returnIndices?: boolean }>(name, args, ['returnIndices'], { factory: false }).returnIndices;
export class AdaptiveMaxPool1d<R extends boolean = false> extends AdaptiveMaxPoolNd<R> {
  /** nn.AdaptiveMaxPool1d(outputSize, returnIndices=False) */
  constructor(outputSize: Size, ...args: AdaptiveMaxPoolArgs<R>);
  constructor(opts: { outputSize: Size; returnIndices?: R });
  constructor(...all: unknown[]) {
    const [[outputSize], args] = requiredByName('AdaptiveMaxPool1d', ['outputSize'], all) as [[Size], unknown[]];
    super(1, outputSize, adaptiveIndicesFlag('AdaptiveMaxPool1d', args));
  }
}
export class AdaptiveMaxPool2d<R extends boolean = false> extends AdaptiveMaxPoolNd<R> {
  /** nn.AdaptiveMaxPool2d(outputSize, returnIndices=False) */
  constructor(outputSize: Size, ...args: AdaptiveMaxPoolArgs<R>);
  constructor(opts: { outputSize: Size; returnIndices?: R });
  constructor(...all: unknown[]) {
    const [[outputSize], args] = requiredByName('AdaptiveMaxPool2d', ['outputSize'], all) as [[Size], unknown[]];
    super(2, outputSize, adaptiveIndicesFlag('AdaptiveMaxPool2d', args));
  }
}
export class AdaptiveMaxPool3d<R extends boolean = false> extends AdaptiveMaxPoolNd<R> {
  /** nn.AdaptiveMaxPool3d(outputSize, returnIndices=False) */
  constructor(outputSize: Size, ...args: AdaptiveMaxPoolArgs<R>);
  constructor(opts: { outputSize: Size; returnIndices?: R });
  constructor(...all: unknown[]) {
    const [[outputSize], args] = requiredByName('AdaptiveMaxPool3d', ['outputSize'], all) as [[Size], unknown[]];
    super(3, outputSize, adaptiveIndicesFlag('AdaptiveMaxPool3d', args));
  }
}
type FractionalArgs<R extends boolean> = PositionalOr<[outputSize?: Size | null, outputRatio?: number | number[] | null, returnIndices?: R, randomSamples?: Tensor], F.FractionalMaxPoolOptions & { returnIndices?: R }>;
function fractionalOptions(name: string, args: unknown[]): { opts: F.FractionalMaxPoolOptions; returnIndices: boolean | undefined } {
  const { returnIndices, ...opts } = layerOptions<F.FractionalMaxPoolOptions & { returnIndices?: boolean }>(name, args, ['outputSize', 'outputRatio', 'returnIndices', 'randomSamples'], { factory: false });
  return { opts, returnIndices };
}
/** FractionalMaxPool2d / 3d (Graham's fractional max pooling): forward gives the values; built with returnIndices true, the pair (values, indices). */
abstract class FractionalMaxPoolNd<R extends boolean> extends Module {
  /** forward gives (values, indices), as PyTorch's return_indices=True */
  readonly returnIndices: R;
  readonly opts: F.FractionalMaxPoolOptions;
  constructor(private readonly nd: 2 | 3, readonly kernelSize: Size, { opts, returnIndices }: { opts: F.FractionalMaxPoolOptions; returnIndices: boolean | undefined }) {
    super();
    this.opts = opts;
    this.returnIndices = indicesFlag(`FractionalMaxPool${nd}d`, returnIndices) as R;
    if (opts.outputSize == null && opts.outputRatio == null) throw new Error(`FractionalMaxPool${nd}d requires specifying either an output size, or a pooling ratio`);
    if (opts.outputSize != null && opts.outputRatio != null) throw new Error('only one of output_size and output_ratio may be specified');
    const ratios = opts.outputRatio == null ? [] : Array.isArray(opts.outputRatio) ? opts.outputRatio : [opts.outputRatio];
    for (const r of ratios) if (!(r > 0 && r < 1)) throw new Error(`output_ratio must be between 0 and 1 (got ${JSON.stringify(opts.outputRatio)})`);
  }
  /** The values and their indices, whatever returnIndices says. */
  forwardWithIndices(x: Tensor): NamedTuple<{ values: Tensor; indices: Tensor }> {
    return (this.nd === 2 ? F.fractionalMaxPool2dWithIndices : F.fractionalMaxPool3dWithIndices)(x, this.kernelSize, this.opts);
  }
  forward(x: Tensor): MaxPoolOutput<R> {
    return valuesOrPair(this.forwardWithIndices(x), this.returnIndices);
  }
}
export class FractionalMaxPool2d<R extends boolean = false> extends FractionalMaxPoolNd<R> {
  /** nn.FractionalMaxPool2d(kernelSize, outputSize, outputRatio, returnIndices=False, _randomSamples) */
  constructor(kernelSize: Size, ...args: FractionalArgs<R>);
  constructor(opts: F.FractionalMaxPoolOptions & { kernelSize: Size; returnIndices?: R });
  constructor(...all: unknown[]) {
    const [[kernelSize], args] = requiredByName('FractionalMaxPool2d', ['kernelSize'], all) as [[Size], unknown[]];
    super(2, kernelSize, fractionalOptions('FractionalMaxPool2d', args));
  }
}
export class FractionalMaxPool3d<R extends boolean = false> extends FractionalMaxPoolNd<R> {
  /** nn.FractionalMaxPool3d(kernelSize, outputSize, outputRatio, returnIndices=False, _randomSamples) */
  constructor(kernelSize: Size, ...args: FractionalArgs<R>);
  constructor(opts: F.FractionalMaxPoolOptions & { kernelSize: Size; returnIndices?: R });
  constructor(...all: unknown[]) {
    const [[kernelSize], args] = requiredByName('FractionalMaxPool3d', ['kernelSize'], all) as [[Size], unknown[]];
    super(3, kernelSize, fractionalOptions('FractionalMaxPool3d', args));
  }
}
type UnpoolOptions = { stride?: Size | null; padding?: Size };
type UnpoolArgs = PositionalOr<[stride?: Size | null, padding?: Size], UnpoolOptions>;
/** MaxUnpool1d / 2d / 3d: forward(x, indices, outputSize?) puts the pooled values back. */
abstract class MaxUnpoolNd extends Module {
  constructor(private readonly nd: 1 | 2 | 3, readonly kernelSize: Size, readonly opts: { stride?: Size | null; padding?: Size } = {}) { super(); }
  forward(x: Tensor, indices: Tensor, outputSize?: number[]): Tensor {
    return [F.maxUnpool1d, F.maxUnpool2d, F.maxUnpool3d][this.nd - 1](x, indices, this.kernelSize, { ...this.opts, outputSize });
  }
  protected override extraRepr(): string { return poolRepr(this.kernelSize, this.opts); }
}
export class MaxUnpool1d extends MaxUnpoolNd {
  /** nn.MaxUnpool1d(kernelSize, stride=None, padding=0) */
  constructor(kernelSize: Size, ...args: UnpoolArgs);
  constructor(opts: UnpoolOptions & { kernelSize: Size });
  constructor(...all: unknown[]) {
    const [[kernelSize], args] = requiredByName('MaxUnpool1d', ['kernelSize'], all) as [[Size], unknown[]];
    super(1, kernelSize, layerOptions('MaxUnpool1d', args, ['stride', 'padding'], { factory: false }));
  }
}
export class MaxUnpool2d extends MaxUnpoolNd {
  /** nn.MaxUnpool2d(kernelSize, stride=None, padding=0) */
  constructor(kernelSize: Size, ...args: UnpoolArgs);
  constructor(opts: UnpoolOptions & { kernelSize: Size });
  constructor(...all: unknown[]) {
    const [[kernelSize], args] = requiredByName('MaxUnpool2d', ['kernelSize'], all) as [[Size], unknown[]];
    super(2, kernelSize, layerOptions('MaxUnpool2d', args, ['stride', 'padding'], { factory: false }));
  }
}
export class MaxUnpool3d extends MaxUnpoolNd {
  /** nn.MaxUnpool3d(kernelSize, stride=None, padding=0) */
  constructor(kernelSize: Size, ...args: UnpoolArgs);
  constructor(opts: UnpoolOptions & { kernelSize: Size });
  constructor(...all: unknown[]) {
    const [[kernelSize], args] = requiredByName('MaxUnpool3d', ['kernelSize'], all) as [[Size], unknown[]];
    super(3, kernelSize, layerOptions('MaxUnpool3d', args, ['stride', 'padding'], { factory: false }));
  }
}
export class LPPool1d extends Module {
  readonly opts: { stride?: number | null; ceilMode?: boolean };
  readonly normType: number;
  readonly kernelSize: number;
  /** nn.LPPool1d(normType, kernelSize, stride=None, ceilMode=False) */
  constructor(normType: number, kernelSize: number, ...args: PositionalOr<[stride?: number | null, ceilMode?: boolean], { stride?: number | null; ceilMode?: boolean }>);
  constructor(opts: { normType: number; kernelSize: number; stride?: number | null; ceilMode?: boolean });
  constructor(...all: unknown[]) {
    super();
    const [[normType, kernelSize], args] = requiredByName('LPPool1d', ['normType', 'kernelSize'], all) as [[number, number], unknown[]];
    this.normType = normType;
    this.kernelSize = kernelSize;
    this.opts = layerOptions('LPPool1d', args, ['stride', 'ceilMode'], { factory: false });
  }
  forward(x: Tensor): Tensor { return F.lpPool1d(x, this.normType, this.kernelSize, this.opts); }
  protected override extraRepr(): string { return `normType=${this.normType}, kernelSize=${this.kernelSize}, stride=${this.opts.stride ?? null}, ceilMode=${this.opts.ceilMode ?? false}`; }
}
export class LPPool2d extends Module {
  readonly opts: { stride?: Size | null; ceilMode?: boolean };
  readonly normType: number;
  readonly kernelSize: Size;
  /** nn.LPPool2d(normType, kernelSize, stride=None, ceilMode=False) */
  constructor(normType: number, kernelSize: Size, ...args: PositionalOr<[stride?: Size | null, ceilMode?: boolean], { stride?: Size | null; ceilMode?: boolean }>);
  constructor(opts: { normType: number; kernelSize: Size; stride?: Size | null; ceilMode?: boolean });
  constructor(...all: unknown[]) {
    super();
    const [[normType, kernelSize], args] = requiredByName('LPPool2d', ['normType', 'kernelSize'], all) as [[number, Size], unknown[]];
    this.normType = normType;
    this.kernelSize = kernelSize;
    this.opts = layerOptions('LPPool2d', args, ['stride', 'ceilMode'], { factory: false });
  }
  forward(x: Tensor): Tensor { return F.lpPool2d(x, this.normType, this.kernelSize, this.opts); }
  protected override extraRepr(): string { return `normType=${this.normType}, kernelSize=${JSON.stringify(this.kernelSize)}, stride=${JSON.stringify(this.opts.stride ?? null)}, ceilMode=${this.opts.ceilMode ?? false}`; }
}
/** nn.UpsamplingNearest2d / UpsamplingBilinear2d (the latter with alignCorners, as PyTorch's). */
type UpsamplingArgs = PositionalOr<[size?: Size | null, scaleFactor?: number | number[] | null], { size?: Size | null; scaleFactor?: number | number[] | null }>;
export class UpsamplingNearest2d extends Upsample {
  constructor(...args: UpsamplingArgs) { super({ ...layerOptions('UpsamplingNearest2d', args, ['size', 'scaleFactor'], { factory: false }), mode: 'nearest' }); }
}
export class UpsamplingBilinear2d extends Upsample {
  constructor(...args: UpsamplingArgs) { super({ ...layerOptions('UpsamplingBilinear2d', args, ['size', 'scaleFactor'], { factory: false }), mode: 'bilinear', alignCorners: true }); }
}

// ---- padding layers: F.pad with fixed padding (left, right[, top, bottom[, front, back]]) ----
abstract class PadNd extends Module {
  readonly padding: number[];
  readonly value: number;
  // (padding, and ConstantPad's value, by position or by name: new nn.ConstantPad1d({ padding: 2, value: 1 }))
  constructor(nd: number, padding: number | number[] | { padding: number | number[]; value?: number }, readonly mode: 'constant' | 'reflect' | 'replicate' | 'circular', value?: number) {
    super();
    const name = new.target.name, constant = name.startsWith('Constant');
    if (isOptionsObject(padding)) ({ padding, value = value } = optionsOf<{ padding: number | number[]; value?: number }>(`nn.${name}`, [padding], constant ? ['padding', 'value'] : ['padding']));
    if (padding === undefined) throw new Error(`nn.${name}: give padding`);
    if (constant && value === undefined) throw new Error(`nn.${name}: give value (the number padded in)`);
    this.value = value ?? 0;
    this.padding = typeof padding === 'number' ? new Array(2 * nd).fill(padding) : padding as number[];
    if (this.padding.length !== 2 * nd) throw new Error(`${this.constructor.name}: padding needs ${2 * nd} numbers, got ${this.padding.length}`);
  }
  forward(x: Tensor): Tensor { return F.pad(x, this.padding, { mode: this.mode, value: this.value }); }
  protected override extraRepr(): string { return `padding=[${this.padding}]${this.mode === 'constant' ? `, value=${this.value}` : ''}`; }
}
export class ConstantPad1d extends PadNd {
  constructor(padding: number | number[], value: number);
  constructor(opts: { padding: number | number[]; value: number });
  constructor(padding: number | number[] | { padding: number | number[]; value: number }, value?: number) { super(1, padding, 'constant', value); }
}
export class ConstantPad2d extends PadNd {
  constructor(padding: number | number[], value: number);
  constructor(opts: { padding: number | number[]; value: number });
  constructor(padding: number | number[] | { padding: number | number[]; value: number }, value?: number) { super(2, padding, 'constant', value); }
}
export class ConstantPad3d extends PadNd {
  constructor(padding: number | number[], value: number);
  constructor(opts: { padding: number | number[]; value: number });
  constructor(padding: number | number[] | { padding: number | number[]; value: number }, value?: number) { super(3, padding, 'constant', value); }
}
export class ZeroPad1d extends PadNd { constructor(padding: number | number[] | { padding: number | number[] }) { super(1, padding, 'constant', 0); } }
export class ZeroPad2d extends PadNd { constructor(padding: number | number[] | { padding: number | number[] }) { super(2, padding, 'constant', 0); } }
export class ZeroPad3d extends PadNd { constructor(padding: number | number[] | { padding: number | number[] }) { super(3, padding, 'constant', 0); } }
/** PyTorch 2.1's CircularPad1d/2d/3d: the input wrapped around (F.pad's 'circular'). */
export class CircularPad1d extends PadNd { constructor(padding: number | number[] | { padding: number | number[] }) { super(1, padding, 'circular'); } }
export class CircularPad2d extends PadNd { constructor(padding: number | number[] | { padding: number | number[] }) { super(2, padding, 'circular'); } }
export class CircularPad3d extends PadNd { constructor(padding: number | number[] | { padding: number | number[] }) { super(3, padding, 'circular'); } }
export class ReflectionPad1d extends PadNd { constructor(padding: number | number[] | { padding: number | number[] }) { super(1, padding, 'reflect'); } }
export class ReflectionPad2d extends PadNd { constructor(padding: number | number[] | { padding: number | number[] }) { super(2, padding, 'reflect'); } }
export class ReflectionPad3d extends PadNd { constructor(padding: number | number[] | { padding: number | number[] }) { super(3, padding, 'reflect'); } }
export class ReplicationPad1d extends PadNd { constructor(padding: number | number[] | { padding: number | number[] }) { super(1, padding, 'replicate'); } }
export class ReplicationPad2d extends PadNd { constructor(padding: number | number[] | { padding: number | number[] }) { super(2, padding, 'replicate'); } }
export class ReplicationPad3d extends PadNd { constructor(padding: number | number[] | { padding: number | number[] }) { super(3, padding, 'replicate'); } }

/** Regroups channels (ShuffleNet's channel shuffle). */
export class ChannelShuffle extends Module {
  readonly groups: number;
  constructor(groups: number);
  constructor(opts: { groups: number });
  constructor(...all: unknown[]) {
    const [[groups], rest] = requiredByName('ChannelShuffle', ['groups'], all) as [[number], unknown[]];
    if (rest.length) throw new Error('nn.ChannelShuffle: takes only groups');
    super();
    this.groups = groups;
  }
  forward(x: Tensor): Tensor { return F.channelShuffle(x, this.groups); }
  protected override extraRepr(): string { return `groups=${this.groups}`; }
}
/** Local response normalization across channels (AlexNet's). */
export class LocalResponseNorm extends Module {
  readonly opts: { alpha?: number; beta?: number; k?: number };
  readonly size: number;
  /** nn.LocalResponseNorm(size, alpha=1e-4, beta=0.75, k=1) */
  constructor(size: number, ...args: PositionalOr<[alpha?: number, beta?: number, k?: number], { alpha?: number; beta?: number; k?: number }>);
  constructor(opts: { size: number; alpha?: number; beta?: number; k?: number });
  constructor(...all: unknown[]) {
    super();
    const [[size], args] = requiredByName('LocalResponseNorm', ['size'], all) as [[number], unknown[]];
    this.size = size;
    this.opts = layerOptions('LocalResponseNorm', args, ['alpha', 'beta', 'k'], { factory: false });
  }
  forward(x: Tensor): Tensor { return F.localResponseNorm(x, this.size, this.opts); }
  protected override extraRepr(): string { return `${this.size}, alpha=${this.opts.alpha ?? 1e-4}, beta=${this.opts.beta ?? 0.75}, k=${this.opts.k ?? 1}`; }
}
