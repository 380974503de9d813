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
  private inverted?: Transform;
  /** t⁻¹ as a transform of its own (PyTorch's .inv): ExpTransform().inv maps y to log y */
  get inv(): Transform { return (this.inverted ??= new InverseTransform(this)); }
}

/** t⁻¹: forward and inverse swapped, the log-determinant negated (PyTorch's _InverseTransform). */
export class InverseTransform extends Transform {
  constructor(private readonly base: Transform) { super(); }
  override get domain() { return this.base.codomain; }
  override get codomain() { return this.base.domain; }
  override get sign() { return this.base.sign; }
  override get inv() { return this.base; }
  forward(x: Tensor) { return this.base.inverse(x); }
  inverse(y: Tensor) { return this.base.forward(y); }
  logAbsDetJacobian(x: Tensor, y: Tensor) { return this.base.logAbsDetJacobian(y, x).neg(); }
  override forwardShape(shape: number[]) { return this.base.inverseShape(shape); }
  override inverseShape(shape: number[]) { return this.base.forwardShape(shape); }
}

/** y = exp(x). */
export class ExpTransform extends Transform {
  override get codomain() { return constraints.positive; }
  override get sign() { return 1; }
  forward(x: Tensor) { return x.exp(); }
  inverse(y: Tensor) { return y.log(); }
  logAbsDetJacobian(x: Tensor) { return x; }
}

/** y = x ** exponent (x > 0; the exponent a number or a tensor broadcast with x). */
export class PowerTransform extends Transform {
  constructor(readonly exponent: number | Tensor) { super(); }
  override get domain() { return constraints.positive; }
  override get codomain() { return constraints.positive; }
  override get sign(): number | Tensor { return typeof this.exponent === 'number' ? Math.sign(this.exponent) : this.exponent.sign(); }
  forward(x: Tensor) { return x.pow(this.exponent); }
  inverse(y: Tensor) { return typeof this.exponent === 'number' ? y.pow(1 / this.exponent) : y.pow(this.exponent.reciprocal()); }
  logAbsDetJacobian(x: Tensor, y: Tensor) { return y.mul(this.exponent).div(x).abs().log(); }
  override forwardShape(shape: number[]) { return typeof this.exponent === 'number' ? shape : broadcast(shape, this.exponent.shape); }
  override inverseShape(shape: number[]) { return typeof this.exponent === 'number' ? shape : broadcast(shape, this.exponent.shape); }
}

/** y = |x| (not invertible: inverse gives y back). */
export class AbsTransform extends Transform {
  override get codomain() { return constraints.positive; }
  forward(x: Tensor) { return x.abs(); }
  inverse(y: Tensor) { return y; }
  logAbsDetJacobian(): Tensor { throw new Error('AbsTransform is not bijective: it has no log-determinant'); }
}

/** y = softplus(x) = log(1 + exp(x)) (linear above 20). */
export class SoftplusTransform extends Transform {
  override get codomain() { return constraints.positive; }
  override get sign() { return 1; }
  forward(x: Tensor) { return F.softplus(x); }
  inverse(y: Tensor) { return y.neg().expm1().neg().log().add(y); }
  logAbsDetJacobian(x: Tensor) { return F.softplus(x.neg()).neg(); }
}

/** exp then normalize over the last dim: onto the simplex (not bijective). */
export class SoftmaxTransform extends Transform {
  override get domain() { return constraints.realVector; }
  override get codomain() { return constraints.simplex; }
  forward(x: Tensor) {
    const probs = x.sub(x.max(-1, true).values).exp();
    return probs.div(probs.sum(-1, true));
  }
  inverse(y: Tensor) { return y.log(); }
  logAbsDetJacobian(): Tensor { throw new Error('SoftmaxTransform is not bijective: it has no log-determinant'); }
  override forwardShape(shape: number[]) { if (!shape.length) throw new Error('Too few dimensions on input'); return shape; }
  override inverseShape(shape: number[]) { if (!shape.length) throw new Error('Too few dimensions on input'); return shape; }
}

/** n reals onto the simplex of n + 1 by stick breaking (bijective; Dirichlet's unconstrained space). */
export class StickBreakingTransform extends Transform {
  override get domain() { return constraints.realVector; }
  override get codomain() { return constraints.simplex; }
  private offset(x: Tensor) {
    const n = x.shape[x.ndim - 1];
    return x.newOnes([n]).cumsum(-1).neg().add(n + 1);
  }
  forward(x: Tensor) {
    const eps = finfoEps(x.dtype);
    const z = x.sub(this.offset(x).log()).sigmoid().clamp(eps, 1 - eps);
    const zCumprod = z.neg().add(1).cumprod(-1);
    return F.pad(z, [0, 1], { value: 1 }).mul(F.pad(zCumprod, [1, 0], { value: 1 }));
  }
  inverse(y: Tensor) {
    const n = y.shape[y.ndim - 1];
    const crop = y.narrow(-1, 0, n - 1);
    const offset = y.newOnes([n - 1]).cumsum(-1).neg().add(n);
    const sf = crop.cumsum(-1).neg().add(1).clamp(finfoTiny(y.dtype));
    return crop.log().sub(sf.log()).add(offset.log());
  }
  logAbsDetJacobian(x: Tensor, y: Tensor) {
    const xs = x.sub(this.offset(x).log());
    return xs.neg().add(F.logSigmoid(xs)).add(y.narrow(-1, 0, y.shape[y.ndim - 1] - 1).log()).sum(-1);
  }
  override forwardShape(shape: number[]) { if (!shape.length) throw new Error('Too few dimensions on input'); return [...shape.slice(0, -1), shape[shape.length - 1] + 1]; }
  override inverseShape(shape: number[]) { if (!shape.length) throw new Error('Too few dimensions on input'); return [...shape.slice(0, -1), shape[shape.length - 1] - 1]; }
}

/** Square matrices to lower-triangular ones with a positive diagonal (exp of the diagonal). */
export class LowerCholeskyTransform extends Transform {
  override get domain(): Constraint { return { ...constraints.real, eventDim: 2, name: 'IndependentConstraint(Real(), 2)' }; }
  override get codomain() { return constraints.lowerCholesky; }
  forward(x: Tensor) { return x.tril(-1).add(x.diagonal(0, -2, -1).exp().diagEmbed()); }
  inverse(y: Tensor) { return y.tril(-1).add(y.diagonal(0, -2, -1).log().diagEmbed()); }
  logAbsDetJacobian(): Tensor { throw new Error('LowerCholeskyTransform has no log-determinant in PyTorch either'); }
}

/** y = cdf(x) of a distribution: onto (0, 1) (a copula's marginals). */
export class CumulativeDistributionTransform extends Transform {
  constructor(readonly distribution: { cdf(x: Tensor): Tensor; icdf(y: Tensor): Tensor; logProb(x: Tensor): Tensor; support: Constraint | null }) { super(); }
  override get domain() { return this.distribution.support ?? constraints.real; }
  override get codomain() { return constraints.unitInterval; }
  override get sign() { return 1; }
  forward(x: Tensor) { return this.distribution.cdf(x); }
  inverse(y: Tensor) { return this.distribution.icdf(y); }
  logAbsDetJacobian(x: Tensor) { return this.distribution.logProb(x); }
}

/** Reshapes the rightmost inShape dims to outShape (unit Jacobian). */
export class ReshapeTransform extends Transform {
  constructor(readonly inShape: number[], readonly outShape: number[]) {
    super();
    const numel = (s: number[]) => s.reduce((a, b) => a * b, 1);
    if (numel(inShape) !== numel(outShape)) throw new Error('in_shape, out_shape have different numbers of elements');
  }
  override get domain(): Constraint { return { ...constraints.real, eventDim: this.inShape.length, name: `IndependentConstraint(Real(), ${this.inShape.length})` }; }
  override get codomain(): Constraint { return { ...constraints.real, eventDim: this.outShape.length, name: `IndependentConstraint(Real(), ${this.outShape.length})` }; }
  forward(x: Tensor) { return x.reshape([...x.shape.slice(0, x.ndim - this.inShape.length), ...this.outShape]); }
  inverse(y: Tensor) { return y.reshape([...y.shape.slice(0, y.ndim - this.outShape.length), ...this.inShape]); }
  logAbsDetJacobian(x: Tensor) { return x.newZeros(x.shape.slice(0, x.ndim - this.inShape.length)); }
  override forwardShape(shape: number[]) { return reshapeShape(shape, this.inShape, this.outShape); }
  override inverseShape(shape: number[]) { return reshapeShape(shape, this.outShape, this.inShape); }
}
function reshapeShape(shape: number[], from: number[], to: number[]): number[] {
  if (shape.length < from.length) throw new Error('Too few dimensions on input');
  const cut = shape.length - from.length;
  if (shape.slice(cut).join() !== from.join()) throw new Error(`Shape mismatch: expected [${shape.slice(cut)}] but got [${from}]`);
  return [...shape.slice(0, cut), ...to];
}

/** base, with reinterpretedBatchNdims more rightmost dims summed in the log-determinant. */
export class IndependentTransform extends Transform {
  constructor(readonly baseTransform: Transform, readonly reinterpretedBatchNdims: number) { super(); }
  override get domain(): Constraint { return widen(this.baseTransform.domain, this.reinterpretedBatchNdims); }
  override get codomain(): Constraint { return widen(this.baseTransform.codomain, this.reinterpretedBatchNdims); }
  override get sign() { return this.baseTransform.sign; }
  forward(x: Tensor) {
    if (x.ndim < this.domain.eventDim) throw new Error('Too few dimensions on input');
    return this.baseTransform.forward(x);
  }
  inverse(y: Tensor) {
    if (y.ndim < this.codomain.eventDim) throw new Error('Too few dimensions on input');
    return this.baseTransform.inverse(y);
  }
  logAbsDetJacobian(x: Tensor, y: Tensor) { return sumRightmost(this.baseTransform.logAbsDetJacobian(x, y), this.reinterpretedBatchNdims); }
  override forwardShape(shape: number[]) { return this.baseTransform.forwardShape(shape); }
  override inverseShape(shape: number[]) { return this.baseTransform.inverseShape(shape); }
}
function widen(c: Constraint, n: number): Constraint {
  return { name: `IndependentConstraint(${c.name}, ${n})`, eventDim: c.eventDim + n, check: (x) => { let r = c.check(x); for (let k = 0; k < n; k++) r = r.all(-1); return r; } };
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
    // the first part's domain, widened to the most dims any part spans (PyTorch's rule)
    let eventDim = this.parts[this.parts.length - 1].codomain.eventDim;
    for (const p of [...this.parts].reverse()) eventDim = Math.max(eventDim + p.domain.eventDim - p.codomain.eventDim, p.domain.eventDim);
    const d = this.parts[0].domain;
    return eventDim > d.eventDim ? widen(d, eventDim - d.eventDim) : d;
  }
  override get codomain(): Constraint {
    if (!this.parts.length) return constraints.real;
    let eventDim = this.parts[0].domain.eventDim;
    for (const p of this.parts) eventDim = Math.max(eventDim + p.codomain.eventDim - p.domain.eventDim, p.codomain.eventDim);
    const c = this.parts[this.parts.length - 1].codomain;
    return eventDim > c.eventDim ? widen(c, eventDim - c.eventDim) : c;
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
