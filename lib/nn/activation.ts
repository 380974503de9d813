// Activation layers: each one is its nn.functional op as a Module (for Sequential).
import { Tensor } from '../tensor/tensor';
import { Module } from './module';
import * as F from './functional';
import { full } from '../tensor/creation';
import type { FactoryOptions } from './layers';

export class ReLU extends Module {
  forward(x: Tensor): Tensor { return x.relu(); }
}
export class GELU extends Module {
  constructor(readonly approximate: 'none' | 'tanh' = 'none') { super(); }
  forward(x: Tensor): Tensor { return F.gelu(x, this.approximate); }
  protected override extraRepr(): string { return `approximate='${this.approximate}'`; }
}
export class SiLU extends Module {
  forward(x: Tensor): Tensor { return F.silu(x); }
}
export class Mish extends Module {
  forward(x: Tensor): Tensor { return F.mish(x); }
}
export class Tanh extends Module {
  forward(x: Tensor): Tensor { return x.tanh(); }
}
export class Sigmoid extends Module {
  forward(x: Tensor): Tensor { return x.sigmoid(); }
}
export class LeakyReLU extends Module {
  constructor(readonly negativeSlope = 0.01) { super(); }
  forward(x: Tensor): Tensor { return F.leakyRelu(x, this.negativeSlope); }
  protected override extraRepr(): string { return `negativeSlope=${this.negativeSlope}`; }
}
export class ELU extends Module {
  constructor(readonly alpha = 1) { super(); }
  forward(x: Tensor): Tensor { return F.elu(x, this.alpha); }
  protected override extraRepr(): string { return `alpha=${this.alpha}`; }
}
export class Softplus extends Module {
  constructor(readonly beta = 1, readonly threshold = 20) { super(); }
  forward(x: Tensor): Tensor { return F.softplus(x, this.beta, this.threshold); }
  protected override extraRepr(): string { return `beta=${this.beta}, threshold=${this.threshold}`; }
}
export class Softmax extends Module {
  constructor(readonly dim: number) { super(); }
  forward(x: Tensor): Tensor { return F.softmax(x, this.dim); }
  protected override extraRepr(): string { return `dim=${this.dim}`; }
}
export class LogSoftmax extends Module {
  constructor(readonly dim: number) { super(); }
  forward(x: Tensor): Tensor { return F.logSoftmax(x, this.dim); }
  protected override extraRepr(): string { return `dim=${this.dim}`; }
}
export class Hardtanh extends Module {
  constructor(readonly minVal = -1, readonly maxVal = 1) { super(); }
  forward(x: Tensor): Tensor { return F.hardtanh(x, this.minVal, this.maxVal); }
  protected override extraRepr(): string { return `minVal=${this.minVal}, maxVal=${this.maxVal}`; }
}
export class ReLU6 extends Module {
  forward(x: Tensor): Tensor { return F.relu6(x); }
}
export class SELU extends Module {
  forward(x: Tensor): Tensor { return F.selu(x); }
}
export class CELU extends Module {
  constructor(readonly alpha = 1) { super(); }
  forward(x: Tensor): Tensor { return F.celu(x, this.alpha); }
}
export class Hardswish extends Module {
  forward(x: Tensor): Tensor { return F.hardswish(x); }
}
export class Hardsigmoid extends Module {
  forward(x: Tensor): Tensor { return F.hardsigmoid(x); }
}
export class Softsign extends Module {
  forward(x: Tensor): Tensor { return F.softsign(x); }
}
export class LogSigmoid extends Module {
  forward(x: Tensor): Tensor { return F.logSigmoid(x); }
}
export class GLU extends Module {
  constructor(readonly dim = -1) { super(); }
  forward(x: Tensor): Tensor { return F.glu(x, this.dim); }
}
export class Hardshrink extends Module {
  constructor(readonly lambd = 0.5) { super(); }
  forward(x: Tensor): Tensor { return F.hardshrink(x, this.lambd); }
}
export class Softshrink extends Module {
  constructor(readonly lambd = 0.5) { super(); }
  forward(x: Tensor): Tensor { return F.softshrink(x, this.lambd); }
}
export class Tanhshrink extends Module {
  forward(x: Tensor): Tensor { return F.tanhshrink(x); }
}
export class Threshold extends Module {
  constructor(readonly threshold: number, readonly value: number) { super(); }
  forward(x: Tensor): Tensor { return F.threshold(x, this.threshold, this.value); }
}
export class Softmin extends Module {
  constructor(readonly dim: number) { super(); }
  forward(x: Tensor): Tensor { return F.softmin(x, this.dim); }
}
/** x where x >= 0, weight · x elsewhere; one learned slope, or one per channel (dim 1). */
export class PReLU extends Module {
  declare weight: Tensor;
  constructor(numParameters = 1, init = 0.25, opts: FactoryOptions = {}) {
    super();
    this.registerParameter('weight', full([numParameters], init, opts));
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
  constructor(readonly lower = 1 / 8, readonly upper = 1 / 3) { super(); }
  forward(x: Tensor): Tensor { return F.rrelu(x, { lower: this.lower, upper: this.upper, training: this.training }); }
  protected override extraRepr(): string { return `lower=${this.lower}, upper=${this.upper}`; }
}
