// Continuous distributions: Normal, LogNormal, Uniform, Exponential, Laplace, Gamma, Beta,
// Dirichlet, MultivariateNormal, LowRankMultivariateNormal, VonMises, ..., as PyTorch's (same formulas, same draws from the same seed).
import { Tensor } from '../tensor/tensor';
import { randn, rand, empty, eye, zerosLike, full, arange } from '../tensor/creation';
import { matmul, stack, cat, choleskyInverse, choleskySolve, trilIndices } from '../tensor/ops';
import { native } from '../tensor/native';
import { _wrap as wrap, _id as id } from '../tensor/tensor';
import { Function, FunctionCtx } from '../tensor/function';
import * as linalg from '../tensor/linalg';
import { noGrad } from '../tensor/runtime';
import { tidy } from '../tensor/scope';
import { Distribution, DistributionOptions, Param, Shape, Constraint, constraints, broadcastAll, batchParams, broadcastShapes, finfoEps, finfoTiny, DistArgs, distributionArgs } from './distribution';

const LOG_SQRT_2PI = Math.log(Math.sqrt(2 * Math.PI));

// What Normal and Laplace share: a location and a positive scale over the real line.
abstract class LocScale extends Distribution {
  readonly loc: Tensor;
  readonly scale: Tensor;
  protected override get argConstraints() { return { loc: constraints.real, scale: constraints.positive }; }
  override get support(): Constraint { return constraints.real; }
  override get hasRsample() { return true; }
  constructor(...args: DistArgs<[loc: Param, scale: Param], { loc?: Param; scale?: Param }>) {
    const [[loc, scale], opts] = distributionArgs<[Param, Param]>(new.target.name, ['loc', 'scale'], args);
    const [batch, [l, s]] = batchParams(loc, scale);
    super(batch, [], opts);
    this.loc = l;
    this.scale = s;
    this.checkArgs();
  }
  override get mean() { return this.loc; }
  override get mode() { return this.loc; }
}

export class Normal extends LocScale {
  override get stddev() { return this.scale; }
  override get variance() { return this.scale.pow(2); }
  override rsample(sampleShape: Shape = []): Tensor {
    const eps = randn(this.extendedShape(sampleShape), { dtype: this.loc.dtype, device: this.loc.device });
    return this.loc.add(eps.mul(this.scale));
  }
  override logProb(value: Tensor): Tensor {
    this.validateSample(value);
    const variance = this.scale.pow(2);
    return value.sub(this.loc).pow(2).neg().div(variance.mul(2)).sub(this.scale.log()).sub(LOG_SQRT_2PI);
  }
  override cdf(value: Tensor): Tensor {
    this.validateSample(value);
    return value.sub(this.loc).mul(this.scale.reciprocal()).div(Math.SQRT2).erf().add(1).mul(0.5);
  }
  override icdf(value: Tensor): Tensor {
    return this.loc.add(this.scale.mul(value.mul(2).sub(1).erfinv()).mul(Math.SQRT2));
  }
  override entropy(): Tensor {
    return this.scale.log().add(0.5 + 0.5 * Math.log(2 * Math.PI));
  }
}

/** exp of a Normal(loc, scale) (PyTorch's TransformedDistribution of Normal by ExpTransform). */
export class LogNormal extends Distribution {
  readonly baseDist: Normal;
  protected override get argConstraints() { return { loc: constraints.real, scale: constraints.positive }; }
  override get support(): Constraint { return constraints.positive; }
  override get hasRsample() { return true; }
  constructor(...args: DistArgs<[loc: Param, scale: Param], { loc?: Param; scale?: Param }>) {
    const [[loc, scale], opts] = distributionArgs<[Param, Param]>('LogNormal', ['loc', 'scale'], args);
    const base = new Normal(loc, scale, opts);
    super(base.batchShape, [], opts);
    this.baseDist = base;
  }
  get loc() { return this.baseDist.loc; }
  get scale() { return this.baseDist.scale; }
  override get mean() { return this.loc.add(this.scale.pow(2).div(2)).exp(); }
  override get mode() { return this.loc.sub(this.scale.pow(2)).exp(); }
  override get variance() {
    const s2 = this.scale.pow(2);
    return s2.expm1().mul(this.loc.mul(2).add(s2).exp());
  }
  override rsample(sampleShape: Shape = []): Tensor {
    return this.baseDist.rsample(sampleShape).exp();
  }
  override logProb(value: Tensor): Tensor {
    this.validateSample(value);
    const x = value.log(); // the inverse of exp; log|d exp(x)/dx| = x
    return this.baseDist.logProb(x).sub(x);
  }
  override cdf(value: Tensor): Tensor {
    return this.baseDist.cdf(value.log());
  }
  override icdf(value: Tensor): Tensor {
    return this.baseDist.icdf(value).exp();
  }
  override entropy(): Tensor {
    return this.baseDist.entropy().add(this.loc);
  }
}

export class Uniform extends Distribution {
  readonly low: Tensor;
  readonly high: Tensor;
  override get support(): Constraint { return constraints.interval(this.low, this.high); }
  override get hasRsample() { return true; }
  constructor(...args: DistArgs<[low: Param, high: Param], { low?: Param; high?: Param }>) {
    const [[low, high], opts] = distributionArgs<[Param, Param]>('Uniform', ['low', 'high'], args);
    const [batch, [lo, hi]] = batchParams(low, high);
    super(batch, [], opts);
    this.low = lo;
    this.high = hi;
    if (this.validateArgs && !(lo.lt(hi).all().item<boolean>())) throw new Error('Uniform is not defined when low>= high');
  }
  override get mean() { return this.high.add(this.low).div(2); }
  override get mode() { return this.high.mul(NaN); }
  override get stddev() { return this.high.sub(this.low).div(Math.sqrt(12)); }
  override get variance() { return this.high.sub(this.low).pow(2).div(12); }
  override rsample(sampleShape: Shape = []): Tensor {
    const u = rand(this.extendedShape(sampleShape), { dtype: this.low.dtype, device: this.low.device });
    return this.low.add(u.mul(this.high.sub(this.low)));
  }
  override logProb(value: Tensor): Tensor {
    this.validateSample(value);
    const lb = this.low.le(value).to({ dtype: this.low.dtype }), ub = this.high.gt(value).to({ dtype: this.low.dtype });
    return lb.mul(ub).log().sub(this.high.sub(this.low).log());
  }
  override cdf(value: Tensor): Tensor {
    this.validateSample(value);
    return value.sub(this.low).div(this.high.sub(this.low)).clamp(0, 1);
  }
  override icdf(value: Tensor): Tensor {
    return value.mul(this.high.sub(this.low)).add(this.low);
  }
  override entropy(): Tensor {
    return this.high.sub(this.low).log();
  }
}

export class Exponential extends Distribution {
  readonly rate: Tensor;
  protected override get argConstraints() { return { rate: constraints.positive }; }
  override get support(): Constraint { return constraints.nonnegative; }
  override get hasRsample() { return true; }
  constructor(...args: DistArgs<[rate: Param], { rate?: Param }>) {
    const [[rate], opts] = distributionArgs<[Param]>('Exponential', ['rate'], args);
    const [batch, [r]] = batchParams(rate);
    super(batch, [], opts);
    this.rate = r;
    this.checkArgs();
  }
  override get mean() { return this.rate.reciprocal(); }
  override get mode() { return zerosLike(this.rate); }
  override get stddev() { return this.rate.reciprocal(); }
  override get variance() { return this.rate.pow(-2); }
  override rsample(sampleShape: Shape = []): Tensor {
    return empty(this.extendedShape(sampleShape), { dtype: this.rate.dtype, device: this.rate.device }).exponential_().div(this.rate);
  }
  override logProb(value: Tensor): Tensor {
    this.validateSample(value);
    return this.rate.log().sub(this.rate.mul(value));
  }
  override cdf(value: Tensor): Tensor {
    this.validateSample(value);
    return this.rate.neg().mul(value).exp().neg().add(1);
  }
  override icdf(value: Tensor): Tensor {
    return value.neg().add(1).log().neg().div(this.rate);
  }
  override entropy(): Tensor {
    return this.rate.log().neg().add(1);
  }
}

export class Laplace extends LocScale {
  override get variance() { return this.scale.pow(2).mul(2); }
  override get stddev() { return this.scale.mul(Math.SQRT2); }
  override rsample(sampleShape: Shape = []): Tensor {
    const u = empty(this.extendedShape(sampleShape), { dtype: this.loc.dtype, device: this.loc.device }).uniform_(finfoEps(this.loc.dtype) - 1, 1);
    return this.loc.sub(this.scale.mul(u.sign()).mul(u.abs().neg().log1p()));
  }
  override logProb(value: Tensor): Tensor {
    this.validateSample(value);
    return this.scale.mul(2).log().neg().sub(value.sub(this.loc).abs().div(this.scale));
  }
  override cdf(value: Tensor): Tensor {
    this.validateSample(value);
    const d = value.sub(this.loc);
    return d.sign().mul(0.5).mul(d.abs().neg().div(this.scale).expm1()).neg().add(0.5);
  }
  override icdf(value: Tensor): Tensor {
    const term = value.sub(0.5);
    return this.loc.sub(this.scale.mul(term.sign()).mul(term.abs().mul(-2).log1p()));
  }
  override entropy(): Tensor {
    return this.scale.mul(2).log().add(1);
  }
}

export class Gamma extends Distribution {
  readonly concentration: Tensor;
  readonly rate: Tensor;
  protected override get argConstraints() { return { concentration: constraints.positive, rate: constraints.positive }; }
  override get support(): Constraint { return constraints.nonnegative; }
  override get hasRsample() { return true; }
  constructor(...args: DistArgs<[concentration: Param, rate: Param], { concentration?: Param; rate?: Param }>) {
    const [[concentration, rate], opts] = distributionArgs<[Param, Param]>('Gamma', ['concentration', 'rate'], args);
    const [batch, [c, r]] = batchParams(concentration, rate);
    super(batch, [], opts);
    this.concentration = c;
    this.rate = r;
    this.checkArgs();
  }
  override get mean() { return this.concentration.div(this.rate); }
  override get mode() { return this.concentration.sub(1).div(this.rate).clamp(0); }
  override get variance() { return this.concentration.div(this.rate.pow(2)); }
  override rsample(sampleShape: Shape = []): Tensor {
    const shape = this.extendedShape(sampleShape);
    const value = wrap(native.standardGamma(id(this.concentration.expand(shape)))).div(this.rate.expand(shape));
    value.detach().clamp_(finfoTiny(value.dtype)); // in place, outside autograd, as PyTorch
    return value;
  }
  override logProb(value: Tensor): Tensor {
    this.validateSample(value);
    const c = this.concentration;
    return c.xlogy(this.rate).add(c.sub(1).xlogy(value)).sub(this.rate.mul(value)).sub(c.lgamma());
  }
  override entropy(): Tensor {
    const c = this.concentration;
    return c.sub(this.rate.log()).add(c.lgamma()).add(c.neg().add(1).mul(c.digamma()));
  }
}

// A Dirichlet draw with its reparameterization gradient (libtorch's _dirichlet_grad), as
// PyTorch's _Dirichlet Function.
class DirichletSample extends Function {
  static forward(ctx: FunctionCtx, concentration: Tensor): Tensor {
    const x = wrap(native.sampleDirichlet(id(concentration)));
    ctx.saveForBackward(x, concentration);
    return x;
  }
  static backward(ctx: FunctionCtx, gradOutput: Tensor): Tensor {
    const [x, concentration] = ctx.savedTensors as Tensor[];
    const total = concentration.sum(-1, true).expand(concentration.shape);
    const grad = wrap(native.dirichletGrad(id(x), id(concentration), id(total)));
    return grad.mul(gradOutput.sub(x.mul(gradOutput).sum(-1, true)));
  }
}

export class Dirichlet extends Distribution {
  readonly concentration: Tensor;
  protected override get argConstraints() { return { concentration: constraints.positiveVector }; }
  override get support(): Constraint { return constraints.simplex; }
  override get hasRsample() { return true; }
  constructor(...args: DistArgs<[concentration: Tensor], { concentration?: Tensor }>) {
    const [[concentration], opts] = distributionArgs<[Tensor]>('Dirichlet', ['concentration'], args);
    if (!(concentration instanceof Tensor) || concentration.ndim < 1) throw new Error('Dirichlet: concentration must be a tensor of at least one dimension');
    const shape = concentration.shape;
    super(shape.slice(0, -1), shape.slice(-1), opts);
    this.concentration = concentration;
    this.checkArgs();
  }
  override get mean() { return this.concentration.div(this.concentration.sum(-1, true)); }
  override get variance() {
    const c = this.concentration, c0 = c.sum(-1, true);
    return c.mul(c0.sub(c)).div(c0.pow(2).mul(c0.add(1)));
  }
  override rsample(sampleShape: Shape = []): Tensor {
    return DirichletSample.apply(this.concentration.expand(this.extendedShape(sampleShape)));
  }
  override logProb(value: Tensor): Tensor {
    this.validateSample(value);
    const c = this.concentration;
    return value.log().mul(c.sub(1)).sum(-1).add(c.sum(-1).lgamma()).sub(c.lgamma().sum(-1));
  }
  override entropy(): Tensor {
    const c = this.concentration, k = c.shape[c.ndim - 1], a0 = c.sum(-1);
    return c.lgamma().sum(-1).sub(a0.lgamma()).sub(a0.neg().add(k).mul(a0.digamma())).sub(c.sub(1).mul(c.digamma()).sum(-1));
  }
}

export class Beta extends Distribution {
  /** @internal Beta(a, b) is the first coordinate of Dirichlet([a, b]) */
  readonly dirichlet: Dirichlet;
  protected override get argConstraints() { return { concentration1: constraints.positive, concentration0: constraints.positive }; }
  override get support(): Constraint { return constraints.unitInterval; }
  override get hasRsample() { return true; }
  constructor(...args: DistArgs<[concentration1: Param, concentration0: Param], { concentration1?: Param; concentration0?: Param }>) {
    const [[concentration1, concentration0], opts] = distributionArgs<[Param, Param]>('Beta', ['concentration1', 'concentration0'], args);
    const [c1, c0] = broadcastAll(concentration1, concentration0);
    const dirichlet = new Dirichlet(stack([c1, c0], -1), opts);
    super(dirichlet.batchShape, [], opts);
    this.dirichlet = dirichlet;
  }
  get concentration1() { return this.dirichlet.concentration.select(-1, 0); }
  get concentration0() { return this.dirichlet.concentration.select(-1, 1); }
  override get mean() { return this.concentration1.div(this.concentration1.add(this.concentration0)); }
  override get variance() {
    const a = this.concentration1, b = this.concentration0, total = a.add(b);
    return a.mul(b).div(total.pow(2).mul(total.add(1)));
  }
  override rsample(sampleShape: Shape = []): Tensor {
    return this.dirichlet.rsample(sampleShape).select(-1, 0);
  }
  override logProb(value: Tensor): Tensor {
    this.validateSample(value);
    return this.dirichlet.logProb(stack([value, value.neg().add(1)], -1));
  }
  override entropy(): Tensor {
    return this.dirichlet.entropy();
  }
}

type MvnMatrix = { covarianceMatrix: Tensor } | { precisionMatrix: Tensor } | { scaleTril: Tensor };

/**
 * MultivariateNormal(loc, { covarianceMatrix } | { precisionMatrix } | { scaleTril }): batched
 * over leading dims; everything goes through the lower Cholesky factor, as PyTorch's.
 */
export class MultivariateNormal extends Distribution {
  readonly loc: Tensor;
  /** @internal the lower Cholesky factor of the covariance, not broadcast */
  readonly unbroadcastedScaleTril: Tensor;
  private readonly given: 'covarianceMatrix' | 'precisionMatrix' | 'scaleTril';
  private readonly givenMatrix: Tensor;
  protected override get argConstraints(): Record<string, Constraint> {
    const matrix = this.given === 'scaleTril' ? constraints.lowerCholesky : constraints.positiveDefinite;
    return { loc: constraints.realVector, [this.given]: matrix };
  }
  override get support(): Constraint { return constraints.realVector; }
  override get hasRsample() { return true; }
  constructor(loc: Tensor, matrix: MvnMatrix, opts: DistributionOptions = {}) {
    if (!(loc instanceof Tensor) || loc.ndim < 1) throw new Error('MultivariateNormal: loc must be at least one-dimensional');
    const keys = Object.keys(matrix ?? {}).filter((k) => (matrix as Record<string, unknown>)[k] != null);
    if (keys.length !== 1 || !['covarianceMatrix', 'precisionMatrix', 'scaleTril'].includes(keys[0])) {
      throw new Error('MultivariateNormal: exactly one of covarianceMatrix, precisionMatrix or scaleTril may be specified');
    }
    const given = keys[0] as 'covarianceMatrix' | 'precisionMatrix' | 'scaleTril';
    const m = (matrix as Record<string, Tensor>)[given];
    if (m.ndim < 2) throw new Error(`MultivariateNormal: ${given} must be at least two-dimensional, with optional leading batch dimensions`);
    const batchShape = broadcastShapes(m.shape.slice(0, -2), loc.shape.slice(0, -1));
    const n = loc.shape[loc.ndim - 1];
    super(batchShape, [n], opts);
    this.given = given;
    this.givenMatrix = m.expand([...batchShape, -1, -1]);
    this.loc = loc.expand([...batchShape, -1]);
    this.checkArgs();
    this.unbroadcastedScaleTril = given === 'scaleTril' ? m : given === 'covarianceMatrix' ? linalg.cholesky(m) : precisionToScaleTril(m);
  }
  get scaleTril(): Tensor { return this.given === 'scaleTril' ? this.givenMatrix : this.unbroadcastedScaleTril.expand(this.matrixShape()); }
  get covarianceMatrix(): Tensor {
    if (this.given === 'covarianceMatrix') return this.givenMatrix;
    const L = this.unbroadcastedScaleTril;
    return L.matmul(L.transpose(-2, -1)).expand(this.matrixShape());
  }
  get precisionMatrix(): Tensor { return this.given === 'precisionMatrix' ? this.givenMatrix : choleskyInverse(this.unbroadcastedScaleTril).expand(this.matrixShape()); }
  private matrixShape(): Shape {
    return [...this.batchShape, ...this.eventShape, ...this.eventShape];
  }
  override get mean() { return this.loc; }
  override get mode() { return this.loc; }
  override get variance() { return this.unbroadcastedScaleTril.pow(2).sum(-1).expand([...this.batchShape, ...this.eventShape]); }
  override rsample(sampleShape: Shape = []): Tensor {
    const eps = randn(this.extendedShape(sampleShape), { dtype: this.loc.dtype, device: this.loc.device });
    return this.loc.add(matmul(this.unbroadcastedScaleTril, eps.unsqueeze(-1)).squeeze(-1));
  }
  override logProb(value: Tensor): Tensor {
    this.validateSample(value);
    const diff = value.sub(this.loc);
    const M = mahalanobis(this.unbroadcastedScaleTril, diff);
    return M.add(this.eventShape[0] * Math.log(2 * Math.PI)).mul(-0.5).sub(halfLogDet(this.unbroadcastedScaleTril));
  }
  override entropy(): Tensor {
    const H = halfLogDet(this.unbroadcastedScaleTril).add(0.5 * this.eventShape[0] * (1 + Math.log(2 * Math.PI)));
    return this.batchShape.length ? H.expand(this.batchShape) : H;
  }
}

/** log det of the covariance / 2, from its Cholesky factor */
export const halfLogDet = (L: Tensor) => L.diagonal(0, -2, -1).log().sum(-1);

/** x^T (L L^T)^-1 x over the last dim, L broadcast over x's batch dims */
export function mahalanobis(L: Tensor, x: Tensor): Tensor {
  const n = x.shape[x.ndim - 1];
  const batch = broadcastShapes(L.shape.slice(0, -2), x.shape.slice(0, -1));
  const solved = linalg.solveTriangular(L.expand([...batch, n, n]), x.expand([...batch, n]).unsqueeze(-1), { upper: false });
  return solved.squeeze(-1).pow(2).sum(-1);
}

function precisionToScaleTril(P: Tensor): Tensor {
  const Lf = linalg.cholesky(P.flip([-2, -1]));
  const Linv = Lf.flip([-2, -1]).transpose(-2, -1);
  const I = eye(P.shape[P.ndim - 1], undefined, { dtype: P.dtype, device: P.device });
  return linalg.solveTriangular(Linv, I, { upper: false });
}

/** The Cauchy (Lorentz) distribution: heavy tails, no mean or variance. */
export class Cauchy extends LocScale {
  override get mean() { return full(this.extendedShape(), NaN, { dtype: this.loc.dtype, device: this.loc.device }); }
  override get variance() { return full(this.extendedShape(), Infinity, { dtype: this.loc.dtype, device: this.loc.device }); }
  override rsample(sampleShape: Shape = []): Tensor {
    const eps = empty(this.extendedShape(sampleShape), { dtype: this.loc.dtype, device: this.loc.device }).cauchy_();
    return this.loc.add(eps.mul(this.scale));
  }
  override logProb(value: Tensor): Tensor {
    this.validateSample(value);
    return this.scale.log().neg().sub(Math.log(Math.PI)).sub(value.sub(this.loc).div(this.scale).pow(2).add(1).log());
  }
  override cdf(value: Tensor): Tensor {
    this.validateSample(value);
    return value.sub(this.loc).div(this.scale).atan().div(Math.PI).add(0.5);
  }
  override icdf(value: Tensor): Tensor {
    return value.sub(0.5).mul(Math.PI).tan().mul(this.scale).add(this.loc);
  }
  override entropy(): Tensor {
    return this.scale.log().add(Math.log(4 * Math.PI));
  }
}

/** Gamma(df / 2, 1 / 2): the sum of df squared standard normals. */
export class Chi2 extends Gamma {
  constructor(...args: DistArgs<[df: Param], { df?: Param }>) {
    const [[df], opts] = distributionArgs<[Param]>('Chi2', ['df'], args);
    const [d] = broadcastAll(df);
    super(d.mul(0.5), 0.5, opts);
  }
  get df(): Tensor { return this.concentration.mul(2); }
}

/** Student's t with df degrees of freedom, location and scale. */
export class StudentT extends Distribution {
  readonly df: Tensor;
  readonly loc: Tensor;
  readonly scale: Tensor;
  private readonly chi2: Chi2;
  protected override get argConstraints() { return { df: constraints.positive, loc: constraints.real, scale: constraints.positive }; }
  override get support(): Constraint { return constraints.real; }
  override get hasRsample() { return true; }
  constructor(...args: DistArgs<[df: Param, loc?: Param, scale?: Param], { df?: Param; loc?: Param; scale?: Param }>) {
    const [[df, loc, scale], opts] = distributionArgs<[Param, Param, Param]>('StudentT', ['df', 'loc', 'scale'], args, { loc: 0, scale: 1 });
    const [d, l, s] = broadcastAll(df, loc, scale);
    super(d.shape, [], opts);
    this.df = d;
    this.loc = l;
    this.scale = s;
    this.checkArgs();
    this.chi2 = new Chi2(d, { validateArgs: false });
  }
  override get mean() { return this.loc.maskedFill(this.df.le(1), NaN); }
  override get mode() { return this.loc; }
  override get variance() {
    const v = this.scale.pow(2).mul(this.df).div(this.df.sub(2));
    return v.maskedFill(this.df.le(2).logicalAnd(this.df.gt(1)), Infinity).maskedFill(this.df.le(1), NaN);
  }
  override rsample(sampleShape: Shape = []): Tensor {
    // X ~ N(0, 1), Z ~ Chi2(df): loc + scale · X / sqrt(Z / df), drawn in PyTorch's order
    const x = empty(this.extendedShape(sampleShape), { dtype: this.df.dtype, device: this.df.device }).normal_();
    const z = this.chi2.rsample(sampleShape);
    return this.loc.add(this.scale.mul(x.mul(z.div(this.df).rsqrt())));
  }
  override logProb(value: Tensor): Tensor {
    this.validateSample(value);
    const y = value.sub(this.loc).div(this.scale);
    const z = this.scale.log().add(this.df.log().mul(0.5)).add(0.5 * Math.log(Math.PI)).add(this.df.mul(0.5).lgamma()).sub(this.df.add(1).mul(0.5).lgamma());
    return this.df.add(1).mul(-0.5).mul(y.pow(2).div(this.df).log1p()).sub(z);
  }
  override entropy(): Tensor {
    const lbeta = this.df.mul(0.5).lgamma().add(0.5723649429247001).sub(this.df.add(1).mul(0.5).lgamma()); // lgamma(0.5) = log(sqrt(pi))
    return this.scale.log().add(this.df.add(1).mul(0.5).mul(this.df.add(1).mul(0.5).digamma().sub(this.df.mul(0.5).digamma())))
      .add(this.df.log().mul(0.5)).add(lbeta);
  }
}

/** Fisher-Snedecor's F(df1, df2): the ratio of two scaled chi-squares (from two Gammas). */
export class FisherSnedecor extends Distribution {
  readonly df1: Tensor;
  readonly df2: Tensor;
  private readonly gamma1: Gamma;
  private readonly gamma2: Gamma;
  protected override get argConstraints() { return { df1: constraints.positive, df2: constraints.positive }; }
  override get support(): Constraint { return constraints.positive; }
  override get hasRsample() { return true; }
  constructor(...args: DistArgs<[df1: Param, df2: Param], { df1?: Param; df2?: Param }>) {
    const [[df1, df2], opts] = distributionArgs<[Param, Param]>('FisherSnedecor', ['df1', 'df2'], args);
    const [batch, [a, b]] = batchParams(df1, df2);
    super(batch, [], opts);
    this.df1 = a;
    this.df2 = b;
    this.gamma1 = new Gamma(a.mul(0.5), a, { validateArgs: false });
    this.gamma2 = new Gamma(b.mul(0.5), b, { validateArgs: false });
    this.checkArgs();
  }
  override get mean() { const d = this.df2.maskedFill(this.df2.le(2), NaN); return d.div(d.sub(2)); }
  override get mode() { return this.df1.sub(2).div(this.df1).mul(this.df2).div(this.df2.add(2)).maskedFill(this.df1.le(2), NaN); }
  override get variance() {
    const d = this.df2.maskedFill(this.df2.le(4), NaN);
    return d.pow(2).mul(2).mul(this.df1.add(d).sub(2)).div(this.df1.mul(d.sub(2).pow(2)).mul(d.sub(4)));
  }
  override rsample(sampleShape: Shape = []): Tensor {
    const shape = this.extendedShape(sampleShape);
    const x1 = this.gamma1.rsample(sampleShape).view(shape);
    const tiny = finfoTiny(x1.dtype);
    const x2 = this.gamma2.rsample(sampleShape).view(shape).clampMin(tiny);
    return x1.div(x2).clampMin(tiny);
  }
  override logProb(value: Tensor): Tensor {
    this.validateSample(value);
    const ct1 = this.df1.mul(0.5), ct2 = this.df2.mul(0.5), ct3 = this.df1.div(this.df2);
    const t1 = ct1.add(ct2).lgamma().sub(ct1.lgamma()).sub(ct2.lgamma());
    const t2 = ct1.mul(ct3.log()).add(ct1.sub(1).mul(value.log()));
    const t3 = ct1.add(ct2).mul(ct3.mul(value).log1p());
    return t1.add(t2).sub(t3);
  }
}

// log I_order(x) for x > 0 (order 0 or 1): PyTorch's polynomial approximations (Abramowitz & Stegun 9.8).
const I0_SMALL = [1.0, 3.5156229, 3.0899424, 1.2067492, 0.2659732, 0.360768e-1, 0.45813e-2];
const I0_LARGE = [0.39894228, 0.1328592e-1, 0.225319e-2, -0.157565e-2, 0.916281e-2, -0.2057706e-1, 0.2635537e-1, -0.1647633e-1, 0.392377e-2];
const I1_SMALL = [0.5, 0.87890594, 0.51498869, 0.15084934, 0.2658733e-1, 0.301532e-2, 0.32411e-3];
const I1_LARGE = [0.39894228, -0.3988024e-1, -0.362018e-2, 0.163801e-2, -0.1031555e-1, 0.2282967e-1, -0.2895312e-1, 0.1787654e-1, -0.420059e-2];
function evalPoly(y: Tensor, coef: number[]): Tensor {
  // Horner from the highest coefficient, as PyTorch's _eval_poly
  let result: Tensor = y.mul(coef[coef.length - 1]).add(coef[coef.length - 2]);
  for (let k = coef.length - 3; k >= 0; k--) result = y.mul(result).add(coef[k]);
  return result;
}
function logModifiedBessel(x: Tensor, order: 0 | 1): Tensor {
  const ySmall = x.div(3.75).pow(2);
  let small = evalPoly(ySmall, order === 0 ? I0_SMALL : I1_SMALL);
  if (order === 1) small = x.abs().mul(small);
  small = small.log();
  const yLarge = x.reciprocal().mul(3.75);
  const large = x.sub(x.log().mul(0.5)).add(evalPoly(yLarge, order === 0 ? I0_LARGE : I1_LARGE).log());
  return small.where(x.lt(3.75), large);
}

/** The von Mises distribution on the circle: loc (an angle) and concentration; samples in [-pi, pi). */
export class VonMises extends Distribution {
  readonly loc: Tensor;
  readonly concentration: Tensor;
  private readonly proposalR: Tensor;
  protected override get argConstraints() { return { loc: constraints.real, concentration: constraints.positive }; }
  override get support(): Constraint { return constraints.real; }
  constructor(...args: DistArgs<[loc: Param, concentration: Param], { loc?: Param; concentration?: Param }>) {
    const [[loc, concentration], opts] = distributionArgs<[Param, Param]>('VonMises', ['loc', 'concentration'], args);
    const [l, k] = broadcastAll(loc, concentration);
    super(l.shape, [], opts);
    this.loc = l;
    this.concentration = k;
    const tau = k.pow(2).mul(4).add(1).sqrt().add(1);
    const rho = tau.sub(tau.mul(2).sqrt()).div(k.mul(2));
    this.proposalR = rho.pow(2).add(1).div(rho.mul(2));
    this.checkArgs();
  }
  override logProb(value: Tensor): Tensor {
    this.validateSample(value);
    return this.concentration.mul(value.sub(this.loc).cos()).sub(Math.log(2 * Math.PI)).sub(logModifiedBessel(this.concentration, 0));
  }
  /** Best and Fisher's rejection sampler, drawing as PyTorch's (three uniforms per try, until all accepted). */
  override sample(sampleShape: Shape = []): Tensor {
    return noGrad(() => tidy(() => {
      const shape = this.extendedShape(sampleShape);
      let x = zerosLike(this.loc).expand(shape).contiguous();
      let done = x.ne(x);
      while (!(done.all().item<boolean>())) {
        const [u1, u2, u3] = rand([3, ...shape], { dtype: this.loc.dtype, device: this.loc.device }).unbind(0);
        const z = u1.mul(Math.PI).cos();
        const f = this.proposalR.mul(z).add(1).div(this.proposalR.add(z));
        const c = this.concentration.mul(this.proposalR.sub(f));
        const accept = c.mul(c.neg().add(2)).sub(u2).gt(0).logicalOr(c.div(u2).log().add(1).sub(c).ge(0));
        if (accept.any().item<boolean>()) {
          x = u3.sub(0.5).sign().mul(f.acos()).where(accept, x);
          done = done.logicalOr(accept);
        }
      }
      return x.add(Math.PI).add(this.loc).remainder(2 * Math.PI).sub(Math.PI);
    }));
  }
  override get mean() { return this.loc; }
  override get mode() { return this.loc; }
  override get variance() {
    return logModifiedBessel(this.concentration, 1).sub(logModifiedBessel(this.concentration, 0)).exp().neg().add(1);
  }
}

/**
 * LowRankMultivariateNormal(loc, covFactor, covDiag): covariance W Wᵀ + diag(D) with W of rank m
 * (cheap for large dims); log-probabilities through the m x m capacitance matrix.
 */
export class LowRankMultivariateNormal extends Distribution {
  readonly loc: Tensor;
  readonly covFactor: Tensor;
  readonly covDiag: Tensor;
  private readonly W: Tensor;
  private readonly D: Tensor;
  private readonly capacitanceTril: Tensor;
  override get support(): Constraint { return constraints.realVector; }
  override get hasRsample() { return true; }
  constructor(loc: Tensor, covFactor: Tensor, covDiag: Tensor, opts: DistributionOptions = {}) {
    if (loc.ndim < 1) throw new Error('loc must be at least one-dimensional.');
    const n = loc.shape[loc.ndim - 1];
    if (covFactor.ndim < 2) throw new Error('cov_factor must be at least two-dimensional, with optional leading batch dimensions');
    if (covFactor.shape[covFactor.ndim - 2] !== n) throw new Error(`cov_factor must be a batch of matrices with shape ${n} x m`);
    if (covDiag.shape[covDiag.ndim - 1] !== n) throw new Error(`cov_diag must be a batch of vectors with shape [${n}]`);
    let batch: Shape;
    try {
      batch = broadcastShapes(loc.shape.slice(0, -1), covFactor.shape.slice(0, -2), covDiag.shape.slice(0, -1));
    } catch {
      throw new Error(`Incompatible batch shapes: loc [${loc.shape}], cov_factor [${covFactor.shape}], cov_diag [${covDiag.shape}]`);
    }
    super(batch, [n], opts);
    const m = covFactor.shape[covFactor.ndim - 1];
    this.loc = loc.expand([...batch, n]);
    this.covFactor = covFactor.expand([...batch, n, m]);
    this.covDiag = covDiag.expand([...batch, n]);
    this.W = covFactor;
    this.D = covDiag;
    // capacitance I + Wᵀ D⁻¹ W, by its Cholesky factor
    const wtDinv = covFactor.transpose(-2, -1).div(covDiag.unsqueeze(-2));
    this.capacitanceTril = linalg.cholesky(matmul(wtDinv, covFactor).add(eye(m, m, { dtype: covFactor.dtype, device: covFactor.device })));
    if (this.validateArgs) {
      const ok = tidy(() => noGrad(() => covDiag.gt(0).all().item<boolean>()));
      if (!ok) throw new Error(`Expected parameter cov_diag (Tensor of shape [${covDiag.shape}]) of distribution LowRankMultivariateNormal to satisfy the constraint IndependentConstraint(GreaterThan(lower_bound=0.0), 1), but found invalid values`);
    }
  }
  override get mean() { return this.loc; }
  override get mode() { return this.loc; }
  override get variance() { return this.W.pow(2).sum(-1).add(this.D).expand([...this.batchShape, ...this.eventShape]); }
  get covarianceMatrix(): Tensor {
    const n = this.eventShape[0];
    return matmul(this.W, this.W.transpose(-2, -1)).add(this.D.diagEmbed()).expand([...this.batchShape, n, n]);
  }
  get scaleTril(): Tensor {
    const n = this.eventShape[0];
    const dSqrt = this.D.sqrt().unsqueeze(-1);
    const dw = this.W.div(dSqrt);
    const K = matmul(dw, dw.transpose(-2, -1)).add(eye(n, n, { dtype: this.W.dtype, device: this.W.device }));
    return dSqrt.mul(linalg.cholesky(K)).expand([...this.batchShape, n, n]);
  }
  get precisionMatrix(): Tensor {
    const n = this.eventShape[0];
    const wtDinv = this.W.transpose(-2, -1).div(this.D.unsqueeze(-2));
    const A = linalg.solveTriangular(this.capacitanceTril, wtDinv, { upper: false });
    return this.D.reciprocal().diagEmbed().sub(matmul(A.transpose(-2, -1), A)).expand([...this.batchShape, n, n]);
  }
  override rsample(sampleShape: Shape = []): Tensor {
    const shape = this.extendedShape(sampleShape);
    const m = this.covFactor.shape[this.covFactor.ndim - 1];
    const epsW = empty([...shape.slice(0, -1), m], { dtype: this.loc.dtype, device: this.loc.device }).normal_();
    const epsD = empty(shape, { dtype: this.loc.dtype, device: this.loc.device }).normal_();
    return this.loc.add(matmul(this.W, epsW.unsqueeze(-1)).squeeze(-1)).add(this.D.sqrt().mul(epsD));
  }
  /** @internal log det of the covariance (the matrix determinant lemma) */
  _logDet(): Tensor {
    return this.capacitanceTril.diagonal(0, -2, -1).log().sum(-1).mul(2).add(this.D.log().sum(-1));
  }
  /** @internal xᵀ Σ⁻¹ x over the last dim (Woodbury) */
  _mahalanobis(x: Tensor): Tensor {
    const wtDinv = this.W.transpose(-2, -1).div(this.D.unsqueeze(-2));
    const wtDinvX = matmul(wtDinv, x.unsqueeze(-1)).squeeze(-1);
    return x.pow(2).div(this.D).sum(-1).sub(mahalanobis(this.capacitanceTril, wtDinvX));
  }
  /** @internal the factors, not broadcast: W, D and the capacitance's Cholesky factor */
  get _factors(): { W: Tensor; D: Tensor; capacitanceTril: Tensor } {
    return { W: this.W, D: this.D, capacitanceTril: this.capacitanceTril };
  }
  override logProb(value: Tensor): Tensor {
    this.validateSample(value);
    return this._logDet().add(this._mahalanobis(value.sub(this.loc))).add(this.eventShape[0] * Math.log(2 * Math.PI)).mul(-0.5);
  }
  override entropy(): Tensor {
    const H = this._logDet().add(this.eventShape[0] * (1 + Math.log(2 * Math.PI))).mul(0.5);
    return this.batchShape.length ? H.expand(this.batchShape) : H;
  }
}

/**
 * LKJCholesky(dim, concentration): Cholesky factors of dim x dim correlation matrices, with density
 * proportional to det(L Lᵀ)^(concentration - 1) (concentration 1: uniform over correlations);
 * sampled by PyTorch's onion method (the same draws).
 */
export class LKJCholesky extends Distribution {
  readonly concentration: Tensor;
  private readonly beta: Beta;
  protected override get argConstraints() { return { concentration: constraints.positive }; }
  override get support(): Constraint {
    return { name: 'CorrCholesky()', eventDim: 2, check: (x) => constraints.lowerCholesky.check(x).logicalAnd(x.norm(2, -1).sub(1).abs().le(finfoEps(x.dtype) * x.shape[x.ndim - 1] * 10).all(-1)) };
  }
  constructor(readonly dim: number, concentration: Param = 1, opts: DistributionOptions = {}) {
    if (!(Number.isInteger(dim) && dim >= 2)) throw new Error(`Expected dim to be an integer greater than or equal to 2. Found dim=${dim}.`);
    const [c] = broadcastAll(concentration);
    super(c.shape, [dim, dim], opts);
    this.concentration = c;
    const marginal = c.add(0.5 * (dim - 2));
    const offsetTail = arangeHere(dim - 1, c);
    const offset = cat([offsetTail.newZeros([1]), offsetTail]);
    this.beta = new Beta(offset.add(0.5), marginal.unsqueeze(-1).sub(offset.mul(0.5)), { validateArgs: false });
    this.checkArgs();
  }
  override sample(sampleShape: Shape = []): Tensor {
    return noGrad(() => {
      const y = this.beta.sample(sampleShape).unsqueeze(-1);
      const uNormal = randn(this.extendedShape(sampleShape), { dtype: y.dtype, device: y.device }).tril(-1);
      const uSphere = uNormal.div(uNormal.norm(2, -1, true));
      uSphere.select(-2, 0).fill_(0); // (the first row was 0 / 0)
      const w = y.sqrt().mul(uSphere);
      const diag = w.pow(2).sum(-1).neg().add(1).clamp(finfoTiny(w.dtype)).sqrt();
      return w.add(diag.diagEmbed());
    });
  }
  override logProb(value: Tensor): Tensor {
    this.validateSample(value);
    const diagElems = value.diagonal(0, -1, -2).narrow(-1, 1, this.dim - 1);
    const order = arangeHere(this.dim - 1, this.concentration).add(2).neg().add(this.dim).add(this.concentration.sub(1).unsqueeze(-1).mul(2));
    const unnormalized = order.mul(diagElems.log()).sum(-1);
    const dm1 = this.dim - 1;
    const alpha = this.concentration.add(0.5 * dm1);
    const denominator = alpha.lgamma().mul(dm1);
    const numerator = alpha.sub(0.5).mvlgamma(dm1);
    return unnormalized.sub(numerator.sub(denominator).add(0.5 * dm1 * Math.log(Math.PI)));
  }
}
const arangeHere = (n: number, like: Tensor) => arange(n, undefined, 1, { dtype: like.dtype, device: like.device });

const mvdigamma = (x: Tensor, p: number) => x.unsqueeze(-1).sub(arange(p, undefined, 1, { dtype: x.dtype, device: x.device }).div(2)).digamma().sum(-1);

/**
 * Wishart(df, { covarianceMatrix } | { precisionMatrix } | { scaleTril }): positive-definite
 * p x p matrices (sums of df outer products of N(0, Σ) draws), sampled by the Bartlett
 * decomposition with PyTorch's very draws (its redraw of the samples its check accepts included).
 */
export class Wishart extends Distribution {
  readonly df: Tensor;
  private readonly L: Tensor;
  private readonly chi2: Chi2;
  private readonly batchDims: number[];
  protected override get argConstraints(): Record<string, Constraint> {
    const p = this.eventShape[1];
    return { df: { name: `GreaterThan(lower_bound=${p - 1})`, eventDim: 0, check: (x) => x.gt(p - 1) } };
  }
  override get support(): Constraint { return { ...constraints.positiveDefinite, check: positiveDefiniteByCholesky }; }
  override get hasRsample() { return true; }
  constructor(df: Param, matrix: MvnMatrix, opts: DistributionOptions = {}) {
    const keys = Object.keys(matrix ?? {}).filter((k) => (matrix as Record<string, unknown>)[k] != null);
    if (keys.length !== 1 || !['covarianceMatrix', 'precisionMatrix', 'scaleTril'].includes(keys[0])) {
      throw new Error('Exactly one of covariance_matrix or precision_matrix or scale_tril may be specified.');
    }
    const given = keys[0] as 'covarianceMatrix' | 'precisionMatrix' | 'scaleTril';
    const m = (matrix as Record<string, Tensor>)[given];
    if (m.ndim < 2) throw new Error('scale_tril must be at least two-dimensional, with optional leading batch dimensions');
    const batch = typeof df === 'number' ? m.shape.slice(0, -2) : broadcastShapes(m.shape.slice(0, -2), df.shape);
    const dfT = typeof df === 'number' ? full([], df, { dtype: m.dtype, device: m.device }) : df.expand(batch);
    const p = m.shape[m.ndim - 1];
    if (dfT.le(p - 1).any().item<boolean>()) throw new Error(`Value of df=${typeof df === 'number' ? df : dfT} expected to be greater than ndim - 1 = ${p - 1}.`);
    super(batch, [p, p], opts);
    this.df = dfT;
    this.checkArgs();
    this.batchDims = batch.map((_, k) => -(k + 1));
    this.L = given === 'scaleTril' ? m : given === 'covarianceMatrix' ? linalg.cholesky(m) : precisionToScaleTril(m);
    this.chi2 = new Chi2(dfT.unsqueeze(-1).sub(arange(p, undefined, 1, { dtype: this.L.dtype, device: this.L.device }).expand([...batch, -1])), { validateArgs: false });
  }
  get scaleTril(): Tensor { return this.L.expand([...this.batchShape, ...this.eventShape]); }
  get covarianceMatrix(): Tensor { return matmul(this.L, this.L.transpose(-2, -1)).expand([...this.batchShape, ...this.eventShape]); }
  get precisionMatrix(): Tensor {
    const p = this.eventShape[1];
    return choleskySolve(eye(p, p, { dtype: this.L.dtype, device: this.L.device }), this.L).expand([...this.batchShape, ...this.eventShape]);
  }
  override get mean() { return this.df.view([...this.batchShape, 1, 1]).mul(this.covarianceMatrix); }
  override get mode() {
    const factor = this.df.sub(this.eventShape[1] + 1);
    return factor.maskedFill(factor.le(0), NaN).view([...this.batchShape, 1, 1]).mul(this.covarianceMatrix);
  }
  override get variance() {
    const V = this.covarianceMatrix;
    const d = V.diagonal(0, -2, -1);
    return this.df.view([...this.batchShape, 1, 1]).mul(V.pow(2).add(d.unsqueeze(-1).mul(d.unsqueeze(-2))));
  }
  private bartlett(sampleShape: Shape): Tensor {
    const p = this.eventShape[1];
    const noise = this.chi2.rsample(sampleShape).sqrt().clampMin(finfoEps(this.L.dtype)).diagEmbed();
    const idx = trilIndicesHere(p, -1, noise);
    const below = randn([...sampleShape, ...this.batchShape, (p * (p - 1)) / 2], { dtype: noise.dtype, device: noise.device });
    const flat = noise.flatten(-2).indexCopy(-1, idx, below);
    const chol = matmul(this.L, flat.view(noise.shape));
    return matmul(chol, chol.transpose(-2, -1));
  }
  override rsample(sampleShape: Shape = []): Tensor {
    let sample = this.bartlett(sampleShape);
    // PyTorch 1.13 redraws the samples its support check accepts (once: the redraws pass it too);
    // done alike, so that the same seed gives the same samples
    let accepted = positiveDefiniteByCholesky(sample);
    for (const d of this.batchDims) accepted = accepted.amax(d);
    if (accepted.any().item<boolean>()) {
      const n = accepted.sum().item() as number;
      const redraw = this.bartlett([n]);
      const mask = accepted.view([...accepted.shape, ...new Array(this.batchShape.length + 2).fill(1)]).expand(sample.shape);
      sample = sample.maskedScatter(mask, redraw);
    }
    return sample;
  }
  override logProb(value: Tensor): Tensor {
    this.validateSample(value);
    const nu = this.df, p = this.eventShape[1];
    const logDiag = this.L.diagonal(0, -2, -1).log().sum(-1);
    return nu.mul(logDiag.add((p * Math.LN2) / 2)).neg()
      .sub(nu.div(2).mvlgamma(p))
      .add(nu.sub(p + 1).div(2).mul(linalg.slogdet(value).logabsdet))
      .sub(choleskySolve(value, this.L).diagonal(0, -2, -1).sum(-1).div(2));
  }
  override entropy(): Tensor {
    const nu = this.df, p = this.eventShape[1];
    const logDiag = this.L.diagonal(0, -2, -1).log().sum(-1);
    return logDiag.add((p * Math.LN2) / 2).mul(p + 1)
      .add(nu.div(2).mvlgamma(p))
      .sub(nu.sub(p + 1).div(2).mul(mvdigamma(nu.div(2), p)))
      .add(nu.mul(p / 2));
  }
}
// PyTorch's positive-definite check: symmetric (1e-6) and a Cholesky factorization that succeeds.
function positiveDefiniteByCholesky(x: Tensor): Tensor {
  const symmetric = x.isclose(x.transpose(-2, -1), { atol: 1e-6 }).all(-1).all(-1);
  if (!(symmetric.all().item<boolean>())) return symmetric;
  return linalg.choleskyEx(x).info.eq(0);
}
// the flat positions (row * p + col) of the strictly lower triangle, in row order
function trilIndicesHere(p: number, offset: number, like: Tensor): Tensor {
  const ij = trilIndices(p, p, offset);
  return ij.select(0, 0).mul(p).add(ij.select(0, 1)).to({ device: like.device });
}
