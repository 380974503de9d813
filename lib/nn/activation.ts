// Activation layers: each one is its nn.functional op as a Module (for Sequential).
import { Tensor } from '../tensor/tensor';
import { Module } from './module';
import * as F from './functional';
import { full } from '../tensor/creation';
import type { FactoryOptions } from './layers';
import { layerOptions, PositionalOr } from './args';

// An activation's settings: PyTorch's positional arguments (keys, in its order), or one options
// object. With inplace, forward writes its result into the input and returns it, as PyTorch's
// (the memory of one activation saved; the input is gone).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const settings = (name: string, args: unknown[], keys: string[]): any => layerOptions(name, args, keys, { factory: false });
type Inplace = { inplace?: boolean };
type InplaceArgs = PositionalOr<[inplace?: boolean], Inplace>;
/** The inplace flag of a layer that takes nothing else: nn.ReLU(inplace=True), nn.ReLU(true) or nn.ReLU({ inplace: true }). */
const inplaceOf = (name: string, args: unknown[]): boolean => (settings(name, args, ['inplace']).inplace ?? false) === true;
/** PyTorch's extra_repr of inplace: said when true. */
const inplaceRepr = (inplace: boolean, before = '') => (inplace ? `${before ? `${before}, ` : ''}inplace=true` : before);
/** An activation whose one setting is inplace (nn.ReLU(inplace=False), nn.SiLU, ...). */
abstract class InplaceActivation extends Module {
  readonly inplace: boolean;
  constructor(...args: InplaceArgs) {
    super();
    this.inplace = inplaceOf(this.constructor.name, args);
  }
  protected override extraRepr(): string { return inplaceRepr(this.inplace); }
}

// (PyTorch's implicit dim, deprecated there, is not offered)
function dimOf(name: string, args: unknown[]): number {
  const { dim } = settings(name, args, ['dim']);
  if (typeof dim !== 'number') throw new Error(`nn.${name}: give the dim to normalize over (a number), got ${dim}`);
  return dim;
}

/** nn.ReLU(inplace=False) */
export class ReLU extends InplaceActivation {
  forward(x: Tensor): Tensor { return this.inplace ? x.relu_() : x.relu(); }
}
export class GELU extends Module {
  readonly approximate: 'none' | 'tanh';
  constructor(...args: PositionalOr<[approximate?: 'none' | 'tanh'], { approximate?: 'none' | 'tanh' }>) {
    super();
    ({ approximate: this.approximate = 'none' } = settings('GELU', args, ['approximate']));
  }
  forward(x: Tensor): Tensor { return F.gelu(x, this.approximate); }
  protected override extraRepr(): string { return `approximate='${this.approximate}'`; }
}
/** nn.SiLU(inplace=False) */
export class SiLU extends InplaceActivation {
  forward(x: Tensor): Tensor { return F.silu(x, this.inplace); }
}
/** nn.Mish(inplace=False) */
export class Mish extends InplaceActivation {
  forward(x: Tensor): Tensor { return F.mish(x, this.inplace); }
}
export class Tanh extends Module {
  forward(x: Tensor): Tensor { return x.tanh(); }
}
export class Sigmoid extends Module {
  forward(x: Tensor): Tensor { return x.sigmoid(); }
}
export class LeakyReLU extends Module {
  readonly negativeSlope: number;
  readonly inplace: boolean;
  constructor(...args: PositionalOr<[negativeSlope?: number, inplace?: boolean], { negativeSlope?: number } & Inplace>) {
    super();
    ({ negativeSlope: this.negativeSlope = 0.01, inplace: this.inplace = false } = settings('LeakyReLU', args, ['negativeSlope', 'inplace']));
  }
  forward(x: Tensor): Tensor { return F.leakyRelu(x, this.negativeSlope, this.inplace); }
  protected override extraRepr(): string { return inplaceRepr(this.inplace, `negativeSlope=${this.negativeSlope}`); }
}
export class ELU extends Module {
  readonly alpha: number;
  readonly inplace: boolean;
  constructor(...args: PositionalOr<[alpha?: number, inplace?: boolean], { alpha?: number } & Inplace>) {
    super();
    ({ alpha: this.alpha = 1, inplace: this.inplace = false } = settings('ELU', args, ['alpha', 'inplace']));
  }
  forward(x: Tensor): Tensor { return F.elu(x, this.alpha, this.inplace); }
  protected override extraRepr(): string { return inplaceRepr(this.inplace, `alpha=${this.alpha}`); }
}
export class Softplus extends Module {
  readonly beta: number;
  readonly threshold: number;
  constructor(...args: PositionalOr<[beta?: number, threshold?: number], { beta?: number; threshold?: number }>) {
    super();
    ({ beta: this.beta = 1, threshold: this.threshold = 20 } = settings('Softplus', args, ['beta', 'threshold']));
  }
  forward(x: Tensor): Tensor { return F.softplus(x, this.beta, this.threshold); }
  protected override extraRepr(): string { return `beta=${this.beta}, threshold=${this.threshold}`; }
}
export class Softmax extends Module {
  readonly dim: number;
  constructor(...args: PositionalOr<[dim: number], { dim: number }>) {
    super();
    this.dim = dimOf('Softmax', args);
  }
  forward(x: Tensor): Tensor { return F.softmax(x, this.dim); }
  protected override extraRepr(): string { return `dim=${this.dim}`; }
}
export class LogSoftmax extends Module {
  readonly dim: number;
  constructor(...args: PositionalOr<[dim: number], { dim: number }>) {
    super();
    this.dim = dimOf('LogSoftmax', args);
  }
  forward(x: Tensor): Tensor { return F.logSoftmax(x, this.dim); }
  protected override extraRepr(): string { return `dim=${this.dim}`; }
}
export class Hardtanh extends Module {
  readonly minVal: number;
  readonly maxVal: number;
  readonly inplace: boolean;
  constructor(...args: PositionalOr<[minVal?: number, maxVal?: number, inplace?: boolean], { minVal?: number; maxVal?: number } & Inplace>) {
    super();
    ({ minVal: this.minVal = -1, maxVal: this.maxVal = 1, inplace: this.inplace = false } = settings('Hardtanh', args, ['minVal', 'maxVal', 'inplace']));
  }
  forward(x: Tensor): Tensor { return F.hardtanh(x, this.minVal, this.maxVal, this.inplace); }
  protected override extraRepr(): string { return inplaceRepr(this.inplace, `minVal=${this.minVal}, maxVal=${this.maxVal}`); }
}
/** nn.ReLU6(inplace=False) */
export class ReLU6 extends InplaceActivation {
  forward(x: Tensor): Tensor { return F.relu6(x, this.inplace); }
}
/** nn.SELU(inplace=False) */
export class SELU extends InplaceActivation {
  forward(x: Tensor): Tensor { return F.selu(x, this.inplace); }
}
export class CELU extends Module {
  readonly alpha: number;
  readonly inplace: boolean;
  constructor(...args: PositionalOr<[alpha?: number, inplace?: boolean], { alpha?: number } & Inplace>) {
    super();
    ({ alpha: this.alpha = 1, inplace: this.inplace = false } = settings('CELU', args, ['alpha', 'inplace']));
  }
  forward(x: Tensor): Tensor { return F.celu(x, this.alpha, this.inplace); }
  protected override extraRepr(): string { return inplaceRepr(this.inplace, `alpha=${this.alpha}`); }
}
/** nn.Hardswish(inplace=False) */
export class Hardswish extends InplaceActivation {
  forward(x: Tensor): Tensor { return F.hardswish(x, this.inplace); }
}
/** nn.Hardsigmoid(inplace=False) */
export class Hardsigmoid extends InplaceActivation {
  forward(x: Tensor): Tensor { return F.hardsigmoid(x, this.inplace); }
}
export class Softsign extends Module {
  forward(x: Tensor): Tensor { return F.softsign(x); }
}
export class LogSigmoid extends Module {
  forward(x: Tensor): Tensor { return F.logSigmoid(x); }
}
export class GLU extends Module {
  readonly dim: number;
  constructor(...args: PositionalOr<[dim?: number], { dim?: number }>) {
    super();
    ({ dim: this.dim = -1 } = settings('GLU', args, ['dim']));
  }
  forward(x: Tensor): Tensor { return F.glu(x, this.dim); }
}
export class Hardshrink extends Module {
  readonly lambd: number;
  constructor(...args: PositionalOr<[lambd?: number], { lambd?: number }>) {
    super();
    ({ lambd: this.lambd = 0.5 } = settings('Hardshrink', args, ['lambd']));
  }
  forward(x: Tensor): Tensor { return F.hardshrink(x, this.lambd); }
}
export class Softshrink extends Module {
  readonly lambd: number;
  constructor(...args: PositionalOr<[lambd?: number], { lambd?: number }>) {
    super();
    ({ lambd: this.lambd = 0.5 } = settings('Softshrink', args, ['lambd']));
  }
  forward(x: Tensor): Tensor { return F.softshrink(x, this.lambd); }
}
export class Tanhshrink extends Module {
  forward(x: Tensor): Tensor { return F.tanhshrink(x); }
}
export class Threshold extends Module {
  readonly threshold: number;
  readonly value: number;
  readonly inplace: boolean;
  constructor(...args: PositionalOr<[threshold: number, value: number, inplace?: boolean], { threshold: number; value: number } & Inplace>) {
    super();
    ({ threshold: this.threshold, value: this.value, inplace: this.inplace = false } = settings('Threshold', args, ['threshold', 'value', 'inplace']));
    if (typeof this.threshold !== 'number' || typeof this.value !== 'number') throw new Error('nn.Threshold: give the threshold and the value (numbers)');
  }
  forward(x: Tensor): Tensor { return F.threshold(x, this.threshold, this.value, this.inplace); }
  protected override extraRepr(): string { return inplaceRepr(this.inplace, `threshold=${this.threshold}, value=${this.value}`); }
}
export class Softmin extends Module {
  readonly dim: number;
  constructor(...args: PositionalOr<[dim: number], { dim: number }>) {
    super();
    this.dim = dimOf('Softmin', args);
  }
  forward(x: Tensor): Tensor { return F.softmin(x, this.dim); }
}
/** x where x >= 0, weight · x elsewhere; one learned slope, or one per channel (dim 1). */
export class PReLU extends Module {
  declare weight: Tensor;
  /** nn.PReLU(numParameters=1, init=0.25, *, device, dtype) */
  constructor(...args: PositionalOr<[numParameters?: number, init?: number], FactoryOptions & { numParameters?: number; init?: number }>) {
    super();
    const { numParameters = 1, init = 0.25, dtype, device } = layerOptions<FactoryOptions & { numParameters?: number; init?: number }>('PReLU', args, ['numParameters', 'init']);
    this.registerParameter('weight', full([numParameters], init, { dtype, device }));
  }
  forward(x: Tensor): Tensor { return F.prelu(x, this.weight); }
  protected override extraRepr(): string { return `numParameters=${this.weight.numel()}`; }
}

/** Softmax over the channels of (N, C, H, W) or (C, H, W) (nn.Softmax2d). */
export class Softmax2d extends Module {
  forward(x: Tensor): Tensor {
    if (x.ndim !== 3 && x.ndim !== 4) throw new Error(`Softmax2d: expected input of 3 or 4 dimensions, got [${x.shape}]`);
    return F.softmax(x, -3);
  }
}
/** Leaky ReLU with random slopes in U(lower, upper) while training, their mean in eval (nn.RReLU). */
export class RReLU extends Module {
  readonly lower: number;
  readonly upper: number;
  readonly inplace: boolean;
  constructor(...args: PositionalOr<[lower?: number, upper?: number, inplace?: boolean], { lower?: number; upper?: number } & Inplace>) {
    super();
    ({ lower: this.lower = 1 / 8, upper: this.upper = 1 / 3, inplace: this.inplace = false } = settings('RReLU', args, ['lower', 'upper', 'inplace']));
  }
  forward(x: Tensor): Tensor { return (this.inplace ? F.rrelu_ : F.rrelu)(x, { lower: this.lower, upper: this.upper, training: this.training }); }
  protected override extraRepr(): string { return inplaceRepr(this.inplace, `lower=${this.lower}, upper=${this.upper}`); }
}
