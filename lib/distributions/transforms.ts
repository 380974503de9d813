// torch.distributions.transforms: invertible maps y = t(x) with log|det dy/dx|, what
// TransformedDistribution builds on (a tanh-squashed Normal, a normalizing flow). Formulas and
// clamping as PyTorch's.
import { Tensor } from '../tensor/tensor';
import { fullLike, arange, eye } from '../tensor/creation';
import { cat, stack, broadcastShapes } from '../tensor/ops';
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
  /** PyTorch's Transform.__eq__: the same map (parameterless transforms of one class are equal) */
  equals(other: Transform): boolean {
    return other === this;
  }
  private inverted?: Transform;
  /** t⁻¹ as a transform of its own (PyTorch's .inv): ExpTransform().inv maps y to log y */
  get inv(): Transform { return (this.inverted ??= new InverseTransform(this)); }
}

/** t⁻¹: forward and inverse swapped, the log-determinant negated (PyTorch's _InverseTransform). */
export class InverseTransform extends Transform {
  constructor(private readonly base: Transform) { super(); }
  override equals(other: Transform): boolean { return other instanceof InverseTransform && this.base.equals(other.base); }
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

// Equal parameters, as PyTorch's transforms compare them: numbers by value, tensors elementwise (all).
function sameValue(a: number | Tensor, b: number | Tensor): boolean {
  if (typeof a === 'number' && typeof b === 'number') return a === b;
  if (typeof a === 'number' || typeof b === 'number') return false;
  if (a === b) return true;
  if (a.shape.join() !== b.shape.join()) return false;
  const eq = a.eq(b), all = eq.all();
  const r = all.item<boolean>();
  eq.dispose();
  all.dispose();
  return r;
}

/** y = exp(x). */
export class ExpTransform extends Transform {
  override equals(other: Transform): boolean { return other instanceof ExpTransform; }
  override get codomain() { return constraints.positive; }
  override get sign() { return 1; }
  forward(x: Tensor) { return x.exp(); }
  inverse(y: Tensor) { return y.log(); }
  logAbsDetJacobian(x: Tensor) { return x; }
}

/** y = x ** exponent (x > 0; the exponent a number or a tensor broadcast with x). */
export class PowerTransform extends Transform {
  constructor(readonly exponent: number | Tensor) { super(); }
  override equals(other: Transform): boolean { return other instanceof PowerTransform && sameValue(this.exponent, other.exponent); }
  override get domain() { return constraints.positive; }
  override get codomain() { return constraints.positive; }
  override get sign(): number | Tensor { return typeof this.exponent === 'number' ? Math.sign(this.exponent) : this.exponent.sign(); }
  forward(x: Tensor) { return x.pow(this.exponent); }
  inverse(y: Tensor) { return typeof this.exponent === 'number' ? y.pow(1 / this.exponent) : y.pow(this.exponent.reciprocal()); }
  logAbsDetJacobian(x: Tensor, y: Tensor) { return y.mul(this.exponent).div(x).abs().log(); }
  override forwardShape(shape: number[]) { return typeof this.exponent === 'number' ? shape : broadcastShapes(shape, this.exponent.shape); }
  override inverseShape(shape: number[]) { return typeof this.exponent === 'number' ? shape : broadcastShapes(shape, this.exponent.shape); }
}

/** y = |x| (not invertible: inverse gives y back). */
export class AbsTransform extends Transform {
  override equals(other: Transform): boolean { return other instanceof AbsTransform; }
  override get codomain() { return constraints.positive; }
  forward(x: Tensor) { return x.abs(); }
  inverse(y: Tensor) { return y; }
  logAbsDetJacobian(): Tensor { throw new Error('AbsTransform is not bijective: it has no log-determinant'); }
}

/** y = softplus(x) = log(1 + exp(x)) (linear above 20). */
export class SoftplusTransform extends Transform {
  override equals(other: Transform): boolean { return other instanceof SoftplusTransform; }
  override get codomain() { return constraints.positive; }
  override get sign() { return 1; }
  forward(x: Tensor) { return F.softplus(x); }
  inverse(y: Tensor) { return y.neg().expm1().neg().log().add(y); }
  logAbsDetJacobian(x: Tensor) { return F.softplus(x.neg()).neg(); }
}

/** exp then normalize over the last dim: onto the simplex (not bijective). */
export class SoftmaxTransform extends Transform {
  override equals(other: Transform): boolean { return other instanceof SoftmaxTransform; }
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
  override equals(other: Transform): boolean { return other instanceof StickBreakingTransform; }
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
  override equals(other: Transform): boolean { return other instanceof LowerCholeskyTransform; }
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
  override equals(other: Transform): boolean {
    return other instanceof IndependentTransform && other.reinterpretedBatchNdims === this.reinterpretedBatchNdims && this.baseTransform.equals(other.baseTransform);
  }
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
  override equals(other: Transform): boolean { return other instanceof SigmoidTransform; }
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
  override equals(other: Transform): boolean { return other instanceof TanhTransform; }
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
  override equals(other: Transform): boolean {
    return other instanceof AffineTransform && this.eventDim === other.eventDim && sameValue(this.loc, other.loc) && sameValue(this.scale, other.scale);
  }
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
  override forwardShape(shape: number[]): number[] { return broadcastShapes(shape, this.paramShape()); }
  override inverseShape(shape: number[]): number[] { return broadcastShapes(shape, this.paramShape()); }
  private paramShape(): number[] {
    const a = typeof this.loc === 'number' ? [] : this.loc.shape, b = typeof this.scale === 'number' ? [] : this.scale.shape;
    return broadcastShapes(a, b);
  }
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
  override equals(other: Transform): boolean {
    return other instanceof ComposeTransform && other.parts.length === this.parts.length && this.parts.every((p, k) => p.equals(other.parts[k]));
  }
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

/** Different transforms on consecutive slices of dim (lengths: each slice's size, default 1), joined again. */
export class CatTransform extends Transform {
  readonly lengths: number[];
  constructor(readonly transforms: Transform[], readonly dim = 0, lengths?: number[]) {
    super();
    if (!transforms.every((t) => t instanceof Transform)) throw new Error('CatTransform: every part must be a Transform');
    this.lengths = lengths ?? transforms.map(() => 1);
    if (this.lengths.length !== transforms.length) throw new Error(`CatTransform: ${this.lengths.length} lengths for ${transforms.length} transforms`);
  }
  private get eventDim(): number { return Math.max(...this.transforms.map((t) => t.domain.eventDim)); }
  override get domain(): Constraint { return catConstraint(this.transforms.map((t) => t.domain), this.dim, this.lengths); }
  override get codomain(): Constraint { return catConstraint(this.transforms.map((t) => t.codomain), this.dim, this.lengths); }
  private pieces(x: Tensor, f: (t: Transform, slice: Tensor, k: number, start: number) => Tensor): Tensor[] {
    const total = this.lengths.reduce((a, b) => a + b, 0);
    if (!(this.dim >= -x.ndim && this.dim < x.ndim)) throw new Error(`CatTransform: dim ${this.dim} is out of range for a ${x.ndim}-D input`);
    if (x.shape[this.dim < 0 ? this.dim + x.ndim : this.dim] !== total) throw new Error(`CatTransform: the input's size along dim ${this.dim} is not the lengths' total ${total}`);
    let start = 0;
    return this.transforms.map((t, k) => {
      const out = f(t, x.narrow(this.dim, start, this.lengths[k]), k, start);
      start += this.lengths[k];
      return out;
    });
  }
  forward(x: Tensor) { return cat(this.pieces(x, (t, slice) => t.forward(slice)), this.dim); }
  inverse(y: Tensor) { return cat(this.pieces(y, (t, slice) => t.inverse(slice)), this.dim); }
  logAbsDetJacobian(x: Tensor, y: Tensor): Tensor {
    const eventDim = this.eventDim;
    const parts = this.pieces(x, (t, xs, k, start) => {
      const ld = t.logAbsDetJacobian(xs, y.narrow(this.dim, start, this.lengths[k]));
      return t.domain.eventDim < eventDim ? sumRightmost(ld, eventDim - t.domain.eventDim) : ld;
    });
    // the slices' log-determinants are joined along dim if it is a batch dim, else summed
    const d = (this.dim >= 0 ? this.dim - x.ndim : this.dim) + eventDim;
    return d < 0 ? cat(parts, d) : parts.reduce((a, b) => a.add(b));
  }
}
function catConstraint(cs: Constraint[], dim: number, lengths: number[]): Constraint {
  return {
    name: `_Cat(${cs.map((c) => c.name).join(', ')})`,
    eventDim: Math.max(...cs.map((c) => c.eventDim)),
    check: (x) => {
      let start = 0;
      return cat(cs.map((c, k) => { const r = c.check(x.narrow(dim, start, lengths[k])); start += lengths[k]; return r; }), dim);
    },
  };
}

/** A transform per slice of dim (one per index), stacked again. */
export class StackTransform extends Transform {
  constructor(readonly transforms: Transform[], readonly dim = 0) {
    super();
    if (!transforms.every((t) => t instanceof Transform)) throw new Error('StackTransform: every part must be a Transform');
  }
  override get domain(): Constraint { return stackConstraint(this.transforms.map((t) => t.domain), this.dim); }
  override get codomain(): Constraint { return stackConstraint(this.transforms.map((t) => t.codomain), this.dim); }
  private slices(x: Tensor): Tensor[] {
    const n = x.shape[this.dim < 0 ? this.dim + x.ndim : this.dim];
    if (n !== this.transforms.length) throw new Error(`StackTransform: ${n} slices along dim ${this.dim} for ${this.transforms.length} transforms`);
    return Array.from({ length: n }, (_, k) => x.select(this.dim, k));
  }
  forward(x: Tensor) { return stack(this.slices(x).map((s, k) => this.transforms[k].forward(s)), this.dim); }
  inverse(y: Tensor) { return stack(this.slices(y).map((s, k) => this.transforms[k].inverse(s)), this.dim); }
  logAbsDetJacobian(x: Tensor, y: Tensor) {
    const ys = this.slices(y);
    return stack(this.slices(x).map((s, k) => this.transforms[k].logAbsDetJacobian(s, ys[k])), this.dim);
  }
}
function stackConstraint(cs: Constraint[], dim: number): Constraint {
  return { name: `_Stack(${cs.map((c) => c.name).join(', ')})`, eventDim: Math.max(...cs.map((c) => c.eventDim)), check: (x) => stack(cs.map((c, k) => c.check(x.select(dim, k))), dim) };
}

// The lower triangle (below diag + 1) of square matrices as vectors in row order, and back (PyTorch's utils).
function trilMask(n: number, diag: number, like: Tensor): Tensor {
  const r = arange(n, undefined, 1, { device: like.device });
  return r.lt(r.view([-1, 1]).add(diag + 1));
}
export function trilMatrixToVec(mat: Tensor, diag = 0): Tensor {
  const n = mat.shape[mat.ndim - 1];
  if (diag < -n || diag >= n) throw new Error(`diag (${diag}) provided is outside [${-n}, ${n - 1}].`);
  const mask = trilMask(n, diag, mat);
  return mat.flatten(-2).indexSelect(-1, mask.flatten().nonzero().view([-1]));
}
export function vecToTrilMatrix(vec: Tensor, diag = 0): Tensor {
  const len = vec.shape[vec.ndim - 1];
  const nf = (-(1 + 2 * diag) + Math.sqrt((1 + 2 * diag) ** 2 + 8 * len + 4 * Math.abs(diag) * (diag + 1))) / 2;
  if (Math.abs(Math.round(nf) - nf) > finfoEps(vec.dtype)) throw new Error(`The size of last dimension is ${len} which cannot be expressed as the lower triangular part of a square D x D matrix.`);
  const n = Math.round(nf);
  const idx = trilMask(n, diag, vec).flatten().nonzero().view([-1]);
  const flat = vec.newZeros([...vec.shape.slice(0, -1), n * n]).indexCopy(-1, idx, vec);
  return flat.view([...vec.shape.slice(0, -1), n, n]);
}

/** Unconstrained vectors of D(D-1)/2 reals to Cholesky factors of D x D correlation matrices (LKJ's space). */
export class CorrCholeskyTransform extends Transform {
  override equals(other: Transform): boolean { return other instanceof CorrCholeskyTransform; }
  override get domain() { return constraints.realVector; }
  override get codomain(): Constraint {
    return {
      name: 'CorrCholesky()', eventDim: 2,
      check: (x) => {
        const tol = finfoEps(x.dtype) * x.shape[x.ndim - 1] * 10;
        const rowNorm = x.norm(2, -1).sub(1).abs().le(tol).all(-1);
        return constraints.lowerCholesky.check(x).logicalAnd(rowNorm);
      },
    };
  }
  forward(x0: Tensor) {
    const eps = finfoEps(x0.dtype);
    const x = x0.tanh().clamp(-1 + eps, 1 - eps);
    let r = vecToTrilMatrix(x, -1);
    const z1mCumprodSqrt = r.pow(2).neg().add(1).sqrt().cumprod(-1);
    const n = r.shape[r.ndim - 1];
    r = r.add(eye(n, n, { dtype: r.dtype, device: r.device }));
    return r.mul(F.pad(z1mCumprodSqrt.narrow(-1, 0, n - 1), [1, 0], { value: 1 }));
  }
  inverse(y: Tensor) {
    const n = y.shape[y.ndim - 1];
    const yCumsum = y.mul(y).cumsum(-1).neg().add(1);
    const shifted = F.pad(yCumsum.narrow(-1, 0, n - 1), [1, 0], { value: 1 });
    const t = trilMatrixToVec(y, -1).div(trilMatrixToVec(shifted, -1).sqrt());
    return t.add(1).div(t.neg().add(1)).log().div(2);
  }
  logAbsDetJacobian(x: Tensor, y: Tensor) {
    const y1mCumsum = y.mul(y).cumsum(-1).neg().add(1);
    const stickBreaking = trilMatrixToVec(y1mCumsum, -2).log().sum(-1).mul(0.5);
    const tanh = x.add(F.softplus(x.mul(-2))).sub(Math.LN2).sum(-1).mul(-2);
    return stickBreaking.add(tanh);
  }
  override forwardShape(shape: number[]) {
    if (!shape.length) throw new Error('Too few dimensions on input');
    const N = shape[shape.length - 1];
    const D = Math.round(Math.sqrt(0.25 + 2 * N) + 0.5);
    if ((D * (D - 1)) / 2 !== N) throw new Error('Input is not a flattend lower-diagonal number');
    return [...shape.slice(0, -1), D, D];
  }
  override inverseShape(shape: number[]) {
    if (shape.length < 2) throw new Error('Too few dimensions on input');
    if (shape[shape.length - 2] !== shape[shape.length - 1]) throw new Error('Input is not square');
    const D = shape[shape.length - 1];
    return [...shape.slice(0, -2), (D * (D - 1)) / 2];
  }
}
