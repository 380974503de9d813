// torch.distributions.transforms: invertible maps y = t(x) with log|det dy/dx|, what
// TransformedDistribution builds on (a tanh-squashed Normal, a normalizing flow). Formulas and
// clamping as PyTorch's.
import { Tensor } from '../tensor/tensor';
import { fullLike } from '../tensor/creation';
import * as F from '../nn/functional';
import { Constraint, constraints, finfoEps, finfoTiny } from './distribution';

/** Sums the rightmost dims of x (none when dims is 0), as PyTorch's _sum_rightmost. */
export function sumRightmost(x: Tensor, dims: number): Tensor {
  if (dims === 0) return x;
  return x.reshape([...x.shape.slice(0, x.ndim - dims), -1]).sum(-1);
}

const interval = (low: number, high: number, name: string): Constraint => ({ name, eventDim: 0, check: (x) => x.gt(low).logicalAnd(x.lt(high)) });

export abstract class Transform {
  /** where inputs live, and outputs; their eventDim says over how many rightmost dims one value spans */
  get domain(): Constraint { return constraints.real; }
  get codomain(): Constraint { return constraints.real; }
  /** +1 or -1 (elementwise, a tensor, for a tensor-scaled affine map): increasing or decreasing (monotone maps only) */
  get sign(): number | Tensor { throw new Error(`${this.constructor.name} has no sign`); }
  /** y = t(x) */
  abstract forward(x: Tensor): Tensor;
  /** x = t⁻¹(y) */
  abstract inverse(y: Tensor): Tensor;
  /** log |dy/dx|, elementwise (or per event for eventDim > 0) */
  abstract logAbsDetJacobian(x: Tensor, y: Tensor): Tensor;
  /** The shape of t(x) for x of this shape (and back). */
  forwardShape(shape: number[]): number[] { return shape; }
  inverseShape(shape: number[]): number[] { return shape; }
}

/** y = exp(x). */
export class ExpTransform extends Transform {
  override get codomain() { return constraints.positive; }
  override get sign() { return 1; }
  forward(x: Tensor) { return x.exp(); }
  inverse(y: Tensor) { return y.log(); }
  logAbsDetJacobian(x: Tensor) { return x; }
}

/** y = x ** exponent (x > 0). */
export class PowerTransform extends Transform {
  constructor(readonly exponent: number) { super(); }
  override get domain() { return constraints.positive; }
  override get codomain() { return constraints.positive; }
  override get sign() { return Math.sign(this.exponent); }
  forward(x: Tensor) { return x.pow(this.exponent); }
  inverse(y: Tensor) { return y.pow(1 / this.exponent); }
  logAbsDetJacobian(x: Tensor, y: Tensor) { return y.mul(this.exponent).div(x).abs().log(); }
}

/** y = sigmoid(x), kept inside (0, 1) by the dtype's tiny and eps. */
export class SigmoidTransform extends Transform {
  override get codomain() { return interval(0, 1, 'Interval(lower_bound=0.0, upper_bound=1.0)'); }
  override get sign() { return 1; }
  forward(x: Tensor) { return x.sigmoid().clamp(finfoTiny(x.dtype), 1 - finfoEps(x.dtype)); }
  inverse(y: Tensor) {
    const c = y.clamp(finfoTiny(y.dtype), 1 - finfoEps(y.dtype));
    return c.log().sub(c.neg().log1p());
  }
  logAbsDetJacobian(x: Tensor) { return F.softplus(x.neg()).neg().sub(F.softplus(x)); }
}

/** y = tanh(x): squashes into (-1, 1) (SAC's bounded actions). */
export class TanhTransform extends Transform {
  override get codomain() { return interval(-1, 1, 'Interval(lower_bound=-1.0, upper_bound=1.0)'); }
  override get sign() { return 1; }
  forward(x: Tensor) { return x.tanh(); }
  inverse(y: Tensor) { return y.log1p().sub(y.neg().log1p()).mul(0.5); }
  // 2 (log 2 - x - softplus(-2x)): stabler than log(1 - tanh(x)²)
  logAbsDetJacobian(x: Tensor) { return x.neg().add(Math.log(2)).sub(F.softplus(x.mul(-2))).mul(2); }
}

/** y = loc + scale · x (eventDim: how many rightmost dims form one event for the log-determinant). */
export class AffineTransform extends Transform {
  constructor(readonly loc: Tensor | number, readonly scale: Tensor | number, readonly eventDim = 0) { super(); }
  override get domain(): Constraint { return this.eventDim ? { ...constraints.real, eventDim: this.eventDim, name: `IndependentConstraint(Real(), ${this.eventDim})` } : constraints.real; }
  override get codomain(): Constraint { return this.domain; }
  override get sign(): number | Tensor {
    return typeof this.scale === 'number' ? Math.sign(this.scale) : this.scale.sign();
  }
  forward(x: Tensor) { return x.mul(this.scale as Tensor).add(this.loc as Tensor); }
  inverse(y: Tensor) { return y.sub(this.loc as Tensor).div(this.scale as Tensor); }
  logAbsDetJacobian(x: Tensor) {
    let shape = x.shape;
    let result = typeof this.scale === 'number' ? fullLike(x, Math.log(Math.abs(this.scale))) : this.scale.abs().log();
    if (this.eventDim) {
      result = result.reshape([...result.shape.slice(0, result.ndim - this.eventDim), -1]).sum(-1);
      shape = shape.slice(0, shape.length - this.eventDim);
    }
    return result.expand(shape);
  }
  override forwardShape(shape: number[]): number[] { return broadcast(shape, this.paramShape()); }
  override inverseShape(shape: number[]): number[] { return broadcast(shape, this.paramShape()); }
  private paramShape(): number[] {
    const a = typeof this.loc === 'number' ? [] : this.loc.shape, b = typeof this.scale === 'number' ? [] : this.scale.shape;
    return broadcast(a, b);
  }
}

function broadcast(a: number[], b: number[]): number[] {
  const n = Math.max(a.length, b.length);
  return Array.from({ length: n }, (_, k) => {
    const x = a[a.length - n + k] ?? 1, y = b[b.length - n + k] ?? 1;
    if (x !== 1 && y !== 1 && x !== y) throw new Error(`shapes [${a}] and [${b}] cannot be broadcast together`);
    return x === 1 ? y : x;
  });
}

/** The product of the transforms' signs: a number, or a tensor when one of them is. */
export function productOfSigns(parts: Transform[]): number | Tensor {
  let sign: number | Tensor = 1;
  for (const p of parts) {
    const s = p.sign;
    sign = typeof sign === 'number' ? (typeof s === 'number' ? sign * s : s.mul(sign)) : sign.mul(s);
  }
  return sign;
}

/** parts applied in order: y = t_n(...t_1(x)). */
export class ComposeTransform extends Transform {
  constructor(readonly parts: Transform[]) { super(); }
  override get domain(): Constraint {
    if (!this.parts.length) return constraints.real;
    // the first part's domain, widened by what later parts need over more dims
    let eventDim = this.parts[this.parts.length - 1].domain.eventDim;
    for (const p of [...this.parts].reverse()) eventDim = p.domain.eventDim + Math.max(eventDim - p.codomain.eventDim, 0);
    const d = this.parts[0].domain;
    return eventDim === d.eventDim ? d : { ...d, eventDim };
  }
  override get codomain(): Constraint {
    if (!this.parts.length) return constraints.real;
    let eventDim = this.parts[0].codomain.eventDim;
    for (const p of this.parts) eventDim = p.codomain.eventDim + Math.max(eventDim - p.domain.eventDim, 0);
    const c = this.parts[this.parts.length - 1].codomain;
    return eventDim === c.eventDim ? c : { ...c, eventDim };
  }
  override get sign(): number | Tensor { return productOfSigns(this.parts); }
  forward(x: Tensor) { return this.parts.reduce((v, p) => p.forward(v), x); }
  inverse(y: Tensor) { return [...this.parts].reverse().reduce((v, p) => p.inverse(v), y); }
  logAbsDetJacobian(x: Tensor, y: Tensor): Tensor {
    if (!this.parts.length) return x.mul(0);
    const xs = [x];
    for (const p of this.parts.slice(0, -1)) xs.push(p.forward(xs[xs.length - 1]));
    xs.push(y);
    let eventDim = this.domain.eventDim;
    let total: Tensor | null = null;
    this.parts.forEach((p, k) => {
      const term = sumRightmost(p.logAbsDetJacobian(xs[k], xs[k + 1]), eventDim - p.domain.eventDim);
      total = total ? total.add(term) : term;
      eventDim += p.codomain.eventDim - p.domain.eventDim;
    });
    return total!;
  }
  override forwardShape(shape: number[]) { return this.parts.reduce((s, p) => p.forwardShape(s), shape); }
  override inverseShape(shape: number[]) { return [...this.parts].reverse().reduce((s, p) => p.inverseShape(s), shape); }
}
