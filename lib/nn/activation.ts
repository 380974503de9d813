// Activation layers: each one is its nn.functional op as a Module (for Sequential).
import { Tensor } from '../tensor/tensor';
import { Module } from './module';
import * as F from './functional';

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
