// Discrete distributions: Bernoulli, Categorical, OneHotCategorical, Poisson, as PyTorch's.
import { Tensor } from '../tensor/tensor';
import { full, empty, rand } from '../tensor/creation';
import { noGrad } from '../tensor/runtime';
import { bernoulli, poisson, oneHot, binomial, broadcastShapes } from '../tensor/ops';
import { Gamma } from './continuous';
import * as F from '../nn/functional';
import { Distribution, DistributionOptions, Param, Shape, Constraint, constraints, broadcastAll, batchParams, probsToLogits, finfoMin, finfoTiny, finfoEps, DistArgs, distributionArgs } from './distribution';
import { isOptionsObject, optionsOf, PositionalOr } from '../tensor/options';

export type ProbsOrLogits = { probs: Param; logits?: undefined } | { logits: Param; probs?: undefined };
type TensorProbsOrLogits = { probs: Tensor; logits?: undefined } | { logits: Tensor; probs?: undefined };

/** What follows probs in PyTorch's (probs=None, logits=None, validate_args=None): logits, then validateArgs, or an options object. */
export type ProbsLogitsRest<O = { validateArgs?: boolean }> = PositionalOr<[logits?: Param | null, validateArgs?: boolean], O>;

/**
 * A distribution's probs / logits as PyTorch takes them, (probs=None, logits=None, [more...,]
 * validate_args=None) by position (new Categorical(p), new Bernoulli(null, logits)), or this
 * library's { probs } | { logits } object, then the options. Exactly one of the two is given.
 */
export function probsLogits<O extends object = { validateArgs?: boolean }>(what: string, first: unknown, rest: unknown[], more: string[] = []): [ProbsOrLogits, O] {
  const objectForm = isOptionsObject(first);
  const merged = objectForm && isOptionsObject(rest[0]) ? [{ ...first, ...rest[0] }, ...rest.slice(1)] : [first, ...rest];
  const { probs, logits, ...opts } = optionsOf<{ probs?: Param | null; logits?: Param | null }>(what, merged, ['probs', 'logits', ...more, 'validateArgs']);
  const pl = { probs: probs ?? undefined, logits: logits ?? undefined };
  oneOf(pl, what);
  return [pl as ProbsOrLogits, opts as O];
}

const clampProbs = (p: Tensor) => p.clamp(finfoEps(p.dtype), 1 - finfoEps(p.dtype));

export function oneOf(args: { probs?: unknown; logits?: unknown } | undefined, what: string): 'probs' | 'logits' {
  const hasProbs = args?.probs != null, hasLogits = args?.logits != null;
  if (hasProbs === hasLogits) throw new Error(`${what}: either probs or logits must be specified, but not both`);
  return hasProbs ? 'probs' : 'logits';
}

/** The given parameter and the other one of a binary event: logits of the probability, or the sigmoid of the logits. */
export function binaryProbsLogits(given: 'probs' | 'logits', p: Tensor): [Tensor, Tensor] {
  return given === 'probs' ? [p, probsToLogits(p, true)] : [p.sigmoid(), p];
}

/** Bernoulli({ probs } | { logits }): 1 with probability probs. */
export class Bernoulli extends Distribution {
  readonly probs: Tensor;
  readonly logits: Tensor;
  private readonly given: 'probs' | 'logits';
  protected override get argConstraints(): Record<string, Constraint> { return this.given === 'probs' ? { probs: constraints.unitInterval } : { logits: constraints.real }; }
  override get support(): Constraint { return constraints.boolean; }
  /** PyTorch's Bernoulli(probs=None, logits=None, validate_args=None), or { probs } | { logits } then the options */
  constructor(first: ProbsOrLogits | Param | null, ...rest: ProbsLogitsRest) {
    const [args, opts] = probsLogits('Bernoulli', first, rest);
    const given = oneOf(args, 'Bernoulli');
    const value = args[given] as Param;
    const [batch, [p]] = batchParams(value);
    super(batch, [], opts.validateArgs);
    this.given = given;
    [this.probs, this.logits] = binaryProbsLogits(given, p);
    this.checkArgs();
  }
  override get mean() { return this.probs; }
  override get mode() { return this.probs.ge(0.5).to({ dtype: this.probs.dtype }).maskedFill(this.probs.eq(0.5), NaN); }
  override get variance() { return this.probs.mul(this.probs.neg().add(1)); }
  override sample(sampleShape: Shape = []): Tensor {
    return bernoulli(this.probs.expand(this.extendedShape(sampleShape)).detach());
  }
  override logProb(value: Tensor): Tensor {
    this.validateSample(value);
    const [logits, v] = broadcastAll(this.logits, value);
    return F.binaryCrossEntropyWithLogits(logits, v, { reduction: 'none' }).neg();
  }
  override entropy(): Tensor {
    return F.binaryCrossEntropyWithLogits(this.logits, this.probs, { reduction: 'none' });
  }
}

/**
 * Categorical({ probs } | { logits }) over the last dim's categories 0..K-1 (probs need not sum
 * to 1: they are normalized; logits are normalized to log-probabilities).
 */
export class Categorical extends Distribution {
  readonly probs: Tensor;
  readonly logits: Tensor;
  private readonly given: 'probs' | 'logits';
  readonly numEvents: number;
  protected override get argConstraints(): Record<string, Constraint> { return this.given === 'probs' ? { probs: constraints.simplex } : { logits: constraints.realVector }; }
  override get support(): Constraint { return constraints.integerInterval(0, this.numEvents - 1); }
  /** PyTorch's Categorical(probs=None, logits=None, validate_args=None), or { probs } | { logits } then the options */
  constructor(first: TensorProbsOrLogits | Tensor | null, ...rest: ProbsLogitsRest) {
    const [args, opts] = probsLogits('Categorical', first, rest);
    const given = oneOf(args, 'Categorical');
    const param = args[given] as Tensor;
    if (!(param instanceof Tensor) || param.ndim < 1) throw new Error(`Categorical: ${given} must be a tensor of at least one dimension`);
    super(param.shape.slice(0, -1), [], opts.validateArgs);
    this.given = given;
    this.numEvents = param.shape[param.ndim - 1];
    if (given === 'probs') {
      this.probs = param.div(param.sum(-1, true));
      this.checkArgs();
      this.logits = probsToLogits(this.probs);
    } else {
      this.logits = param.sub(param.logsumexp(-1, true));
      this.checkArgs();
      this.probs = F.softmax(this.logits, -1);
    }
  }
  override get mean() { return full(this.extendedShape(), NaN, { dtype: this.probs.dtype, device: this.probs.device }); }
  override get mode() { return this.probs.argmax(-1); }
  override get variance() { return full(this.extendedShape(), NaN, { dtype: this.probs.dtype, device: this.probs.device }); }
  override sample(sampleShape: Shape = []): Tensor {
    const n = sampleShape.reduce((a, b) => a * b, 1);
    const probs2d = this.probs.detach().reshape([-1, this.numEvents]);
    return probs2d.multinomial(n, true).t().reshape(this.extendedShape(sampleShape));
  }
  override logProb(value: Tensor): Tensor {
    this.validateSample(value);
    const v = value.long().unsqueeze(-1);
    const shape = [...v.shape.slice(0, -1), 1];
    const batch = [...broadcastShapes(shape.slice(0, -1), this.logits.shape.slice(0, -1))];
    const logPmf = this.logits.expand([...batch, this.numEvents]);
    return logPmf.gather(-1, v.expand([...batch, 1])).squeeze(-1);
  }
  override entropy(): Tensor {
    const logits = this.logits.clamp(finfoMin(this.logits.dtype));
    return logits.mul(this.probs).sum(-1).neg();
  }
}

/** OneHotCategorical: a Categorical whose samples are one-hot vectors over the last dim. */
export class OneHotCategorical extends Distribution {
  readonly categorical: Categorical;
  protected override get argConstraints(): Record<string, Constraint> { return {}; }
  override get support(): Constraint { return { name: 'OneHot()', eventDim: 1, check: (x) => x.eq(0).logicalOr(x.eq(1)).all(-1).logicalAnd(x.sum(-1).eq(1)) }; }
  /** PyTorch's OneHotCategorical(probs=None, logits=None, validate_args=None), or { probs } | { logits } then the options */
  constructor(first: TensorProbsOrLogits | Tensor | null, ...rest: ProbsLogitsRest) {
    const [args, opts] = probsLogits('OneHotCategorical', first, rest);
    const categorical = new Categorical(args as TensorProbsOrLogits, opts);
    super(categorical.batchShape, [categorical.numEvents], opts.validateArgs);
    this.categorical = categorical;
  }
  get probs() { return this.categorical.probs; }
  get logits() { return this.categorical.logits; }
  override get mean() { return this.probs; }
  override get mode() { return oneHot(this.probs.argmax(-1), this.categorical.numEvents).to({ dtype: this.probs.dtype }); }
  override get variance() { return this.probs.mul(this.probs.neg().add(1)); }
  override sample(sampleShape: Shape = []): Tensor {
    return oneHot(this.categorical.sample(sampleShape), this.categorical.numEvents).to({ dtype: this.probs.dtype });
  }
  override logProb(value: Tensor): Tensor {
    this.validateSample(value);
    return this.categorical.logProb(value.argmax(-1));
  }
  override entropy(): Tensor {
    return this.categorical.entropy();
  }
}

export class Poisson extends Distribution {
  readonly rate: Tensor;
  protected override get argConstraints() { return { rate: constraints.nonnegative }; }
  override get support(): Constraint { return constraints.nonnegativeInteger; }
  constructor(...args: DistArgs<[rate: Param], { rate?: Param }>) {
    const [[rate], opts] = distributionArgs<[Param]>('Poisson', ['rate'], args);
    const [batch, [r]] = batchParams(rate);
    super(batch, [], opts);
    this.rate = r;
    this.checkArgs();
  }
  override get mean() { return this.rate; }
  override get mode() { return this.rate.floor(); }
  override get variance() { return this.rate; }
  override sample(sampleShape: Shape = []): Tensor {
    return poisson(this.rate.expand(this.extendedShape(sampleShape)).detach());
  }
  override logProb(value: Tensor): Tensor {
    this.validateSample(value);
    const [rate, v] = broadcastAll(this.rate, value);
    return v.xlogy(rate).sub(rate).sub(v.add(1).lgamma());
  }
}

/** The number of failures before the first success in Bernoulli(probs) trials: 0, 1, 2, ... */
export class Geometric extends Distribution {
  readonly probs: Tensor;
  readonly logits: Tensor;
  private readonly given: 'probs' | 'logits';
  protected override get argConstraints(): Record<string, Constraint> { return this.given === 'probs' ? { probs: constraints.unitInterval } : { logits: constraints.real }; }
  override get support(): Constraint { return constraints.nonnegativeInteger; }
  /** PyTorch's Geometric(probs=None, logits=None, validate_args=None), or { probs } | { logits } then the options */
  constructor(first: ProbsOrLogits | Param | null, ...rest: ProbsLogitsRest) {
    const [args, opts] = probsLogits('Geometric', first, rest);
    const given = oneOf(args, 'Geometric');
    const [batch, [p]] = batchParams(args[given] as Param);
    super(batch, [], opts.validateArgs);
    this.given = given;
    [this.probs, this.logits] = binaryProbsLogits(given, p);
    this.checkArgs();
    if (given === 'probs' && this.validateArgs && !(p.gt(0).all().item<boolean>())) {
      throw new Error(`Expected parameter probs (Tensor of shape [${p.shape.join(', ')}]) of distribution ${this} to be positive but found invalid values:\n${p.maskedSelect(p.le(0))}`);
    }
  }
  override get mean() { return this.probs.reciprocal().sub(1); }
  override get mode() { return this.probs.mul(0); }
  override get variance() { return this.probs.reciprocal().sub(1).div(this.probs); }
  override sample(sampleShape: Shape = []): Tensor {
    return noGrad(() => {
      const u = empty(this.extendedShape(sampleShape), { dtype: this.probs.dtype, device: this.probs.device }).uniform_(finfoTiny(this.probs.dtype), 1);
      return u.log().div(this.probs.neg().log1p()).floor();
    });
  }
  override logProb(value: Tensor): Tensor {
    this.validateSample(value);
    const [v, p] = broadcastAll(value, this.probs);
    const probs = p.maskedFill(p.eq(1).logicalAnd(v.eq(0)), 0);
    return v.mul(probs.neg().log1p()).add(this.probs.log());
  }
  override entropy(): Tensor {
    return F.binaryCrossEntropyWithLogits(this.logits, this.probs, { reduction: 'none' }).div(this.probs);
  }
}

/** (x.clamp(min 0) + x - x.clamp(max 0)) / 2: max(x, 0) with a gradient of 1/2 at 0, as PyTorch's. */
const clampByZero = (x: Tensor) => x.clamp(0).add(x).sub(x.clamp(null, 0)).div(2);

/** The number of successes in totalCount Bernoulli(probs) trials. */
export class Binomial extends Distribution {
  readonly totalCount: Tensor;
  readonly probs: Tensor;
  readonly logits: Tensor;
  private readonly given: 'probs' | 'logits';
  protected override get argConstraints(): Record<string, Constraint> {
    return { totalCount: constraints.nonnegativeInteger, ...(this.given === 'probs' ? { probs: constraints.unitInterval } : { logits: constraints.real }) };
  }
  override get support(): Constraint {
    const n = this.totalCount;
    return { name: 'IntegerInterval(lower_bound=0, upper_bound=totalCount)', eventDim: 0, check: (x) => x.remainder(1).eq(0).logicalAnd(x.ge(0)).logicalAnd(x.le(n)) };
  }
  /** PyTorch's Binomial(total_count, probs=None, logits=None, validate_args=None), or { probs } | { logits } then the options */
  constructor(totalCount: Param, first: ProbsOrLogits | Param | null, ...rest: ProbsLogitsRest) {
    const [args, opts] = probsLogits('Binomial', first, rest);
    const given = oneOf(args, 'Binomial');
    const [batch, [n, p]] = batchParams(totalCount, args[given] as Param);
    super(batch, [], opts.validateArgs);
    this.given = given;
    this.totalCount = n.to({ dtype: p.dtype });
    [this.probs, this.logits] = binaryProbsLogits(given, p);
    this.checkArgs();
  }
  override get mean() { return this.totalCount.mul(this.probs); }
  override get mode() { return this.totalCount.add(1).mul(this.probs).floor().minimum(this.totalCount); }
  override get variance() { return this.totalCount.mul(this.probs).mul(this.probs.neg().add(1)); }
  override sample(sampleShape: Shape = []): Tensor {
    const shape = this.extendedShape(sampleShape);
    return noGrad(() => binomial(this.totalCount.expand(shape), this.probs.expand(shape)));
  }
  override logProb(value: Tensor): Tensor {
    this.validateSample(value);
    const n = this.totalCount;
    const logFactN = n.add(1).lgamma(), logFactK = value.add(1).lgamma(), logFactNmK = n.sub(value).add(1).lgamma();
    const normalize = n.mul(clampByZero(this.logits)).add(n.mul(this.logits.abs().neg().exp().log1p())).sub(logFactN);
    return value.mul(this.logits).sub(logFactK).sub(logFactNmK).sub(normalize);
  }
}

/** Counts of totalCount draws over the last dim's categories (PyTorch's Multinomial: one totalCount for all). */
export class Multinomial extends Distribution {
  readonly totalCount: number;
  readonly categorical: Categorical;
  protected override get argConstraints(): Record<string, Constraint> { return {}; }
  override get support(): Constraint {
    const n = this.totalCount;
    return { name: `Multinomial(upper_bound=${n})`, eventDim: 1, check: (x) => x.ge(0).all(-1).logicalAnd(x.sum(-1).le(n)) };
  }
  /** PyTorch's Multinomial(total_count, probs=None, logits=None, validate_args=None), or { probs } | { logits } then the options */
  constructor(totalCount: number, first: TensorProbsOrLogits | Tensor | null, ...rest: ProbsLogitsRest) {
    if (!Number.isInteger(totalCount)) throw new Error('Multinomial: inhomogeneous totalCount is not supported (give one integer)');
    const [args, opts] = probsLogits('Multinomial', first, rest);
    const categorical = new Categorical(args as TensorProbsOrLogits, opts);
    super(categorical.batchShape, [categorical.numEvents], opts.validateArgs);
    this.totalCount = totalCount;
    this.categorical = categorical;
  }
  get probs() { return this.categorical.probs; }
  get logits() { return this.categorical.logits; }
  override get mean() { return this.probs.mul(this.totalCount); }
  override get variance() { return this.probs.mul(this.totalCount).mul(this.probs.neg().add(1)); }
  override sample(sampleShape: Shape = []): Tensor {
    return noGrad(() => {
      const samples = this.categorical.sample([this.totalCount, ...sampleShape]);
      const order = Array.from({ length: samples.ndim }, (_, k) => k);
      order.push(order.shift()!);
      const idx = samples.permute(order);
      const counts = full(this.extendedShape(sampleShape), 0, { dtype: idx.dtype, device: idx.device });
      counts.scatterAdd_(-1, idx, idx.mul(0).add(1));
      return counts.to({ dtype: this.probs.dtype });
    });
  }
  override logProb(value: Tensor): Tensor {
    this.validateSample(value);
    const [logitsB, v] = broadcastAll(this.logits, value);
    const logits = logitsB.maskedFill(v.eq(0).logicalAnd(logitsB.eq(-Infinity)), 0);
    const logFactN = v.sum(-1).add(1).lgamma();
    const logFactXs = v.add(1).lgamma().sum(-1);
    return logFactN.sub(logFactXs).add(logits.mul(v).sum(-1));
  }
}

/**
 * NegativeBinomial(totalCount, { probs } | { logits }): the number of successes (each with
 * probability probs) before totalCount failures; sampled as Poisson(Gamma(totalCount, odds)).
 */
export class NegativeBinomial extends Distribution {
  readonly totalCount: Tensor;
  readonly probs: Tensor;
  readonly logits: Tensor;
  private readonly given: 'probs' | 'logits';
  protected override get argConstraints(): Record<string, Constraint> {
    const count: Constraint = { name: 'GreaterThanEq(lower_bound=0)', eventDim: 0, check: (x) => x.ge(0) };
    const halfOpen: Constraint = { name: 'HalfOpenInterval(lower_bound=0.0, upper_bound=1.0)', eventDim: 0, check: (x) => x.ge(0).logicalAnd(x.lt(1)) };
    return this.given === 'probs' ? { totalCount: count, probs: halfOpen } : { totalCount: count, logits: constraints.real };
  }
  override get support(): Constraint { return constraints.nonnegativeInteger; }
  /** PyTorch's NegativeBinomial(total_count, probs=None, logits=None, validate_args=None), or { probs } | { logits } then the options */
  constructor(totalCount: Param, first: ProbsOrLogits | Param | null, ...rest: ProbsLogitsRest) {
    const [args, opts] = probsLogits('NegativeBinomial', first, rest);
    const given = oneOf(args, 'NegativeBinomial');
    const [n, p] = broadcastAll(totalCount, args[given] as Param);
    super(p.shape, [], opts.validateArgs);
    this.given = given;
    this.totalCount = n.to({ dtype: p.dtype });
    [this.probs, this.logits] = binaryProbsLogits(given, p);
    this.checkArgs();
  }
  override get mean() { return this.totalCount.mul(this.logits.exp()); }
  override get mode() { return this.totalCount.sub(1).mul(this.logits.exp()).floor().clampMin(0); }
  override get variance() { return this.mean.div(this.logits.neg().sigmoid()); }
  override sample(sampleShape: Shape = []): Tensor {
    return noGrad(() => poisson(new Gamma(this.totalCount, this.logits.neg().exp(), { validateArgs: false }).sample(sampleShape)));
  }
  override logProb(value: Tensor): Tensor {
    this.validateSample(value);
    const unnormalized = this.totalCount.mul(F.logSigmoid(this.logits.neg())).add(value.mul(F.logSigmoid(this.logits)));
    const total = this.totalCount.add(value);
    const normalization = total.lgamma().neg().add(value.add(1).lgamma()).add(this.totalCount.lgamma()).maskedFill(total.eq(0), 0);
    return unnormalized.sub(normalization);
  }
}

/** OneHotCategorical whose rsample passes gradients straight through the draw (sample + probs - probs.detach()). */
export class OneHotCategoricalStraightThrough extends OneHotCategorical {
  override get hasRsample() { return true; }
  override rsample(sampleShape: Shape = []): Tensor {
    const samples = this.sample(sampleShape);
    const probs = this.probs; // (cached in the categorical)
    return samples.add(probs.sub(probs.detach()));
  }
}

/**
 * ContinuousBernoulli({ probs } | { logits }): the Bernoulli's continuous relaxation on [0, 1]
 * (Loaiza-Ganem & Cunningham), with PyTorch's Taylor expansions near probs = 0.5 (lims).
 */
export class ContinuousBernoulli extends Distribution {
  readonly probs: Tensor;
  readonly logits: Tensor;
  private readonly given: 'probs' | 'logits';
  private readonly lims: [number, number];
  protected override get argConstraints(): Record<string, Constraint> { return this.given === 'probs' ? { probs: constraints.unitInterval } : { logits: constraints.real }; }
  override get support(): Constraint { return constraints.unitInterval; }
  override get hasRsample() { return true; }
  /** PyTorch's ContinuousBernoulli(probs=None, logits=None, lims=(0.499, 0.501), validate_args=None), or { probs } | { logits } then the options */
  constructor(first: ProbsOrLogits | Param | null, ...rest: PositionalOr<[logits?: Param | null, lims?: [number, number], validateArgs?: boolean], { validateArgs?: boolean; lims?: [number, number] }>) {
    const [args, opts] = probsLogits<{ validateArgs?: boolean; lims?: [number, number] }>('ContinuousBernoulli', first, rest, ['lims']);
    const given = oneOf(args, 'ContinuousBernoulli');
    const [batch, [p]] = batchParams(args[given] as Param);
    super(batch, [], opts.validateArgs);
    this.given = given;
    this.lims = opts.lims ?? [0.499, 0.501];
    if (given === 'probs') {
      if (this.validateArgs && !(p.ge(0).logicalAnd(p.le(1)).all().item<boolean>())) throw new Error('The parameter probs has invalid values');
      this.probs = clampProbs(p);
      this.logits = probsToLogits(this.probs, true);
    } else {
      this.logits = p;
      this.probs = clampProbs(p.sigmoid());
    }
  }
  private outsideUnstable(): Tensor { return this.probs.le(this.lims[0]).logicalOr(this.probs.gt(this.lims[1])); }
  private cutProbs(): Tensor { return this.probs.where(this.outsideUnstable(), this.probs.mul(0).add(this.lims[0])); }
  /** @internal the log normalizing constant (kl.ts uses it) */
  _logNorm(): Tensor { return this.logNorm(); }
  private logNorm(): Tensor {
    const cut = this.cutProbs();
    const below = cut.where(cut.le(0.5), cut.mul(0));
    const above = cut.where(cut.ge(0.5), cut.mul(0).add(1));
    const logNorm = cut.neg().log1p().sub(cut.log()).abs().log().sub(below.mul(-2).log1p().where(cut.le(0.5), above.mul(2).sub(1).log()));
    const x = this.probs.sub(0.5).pow(2);
    const taylor = x.mul(104 / 45).add(4 / 3).mul(x).add(Math.log(2));
    return logNorm.where(this.outsideUnstable(), taylor);
  }
  override get mean() {
    const cut = this.cutProbs();
    const mus = cut.div(cut.mul(2).sub(1)).add(cut.neg().log1p().sub(cut.log()).reciprocal());
    const x = this.probs.sub(0.5);
    const taylor = x.pow(2).mul(16 / 45).add(1 / 3).mul(x).add(0.5);
    return mus.where(this.outsideUnstable(), taylor);
  }
  override get variance() {
    const cut = this.cutProbs();
    const vars = cut.mul(cut.sub(1)).div(cut.mul(-2).add(1).pow(2)).add(cut.neg().log1p().sub(cut.log()).pow(2).reciprocal());
    const x = this.probs.sub(0.5).pow(2);
    const taylor = x.mul(-128 / 945).add(1 / 15).mul(x).neg().add(1 / 12);
    return vars.where(this.outsideUnstable(), taylor);
  }
  override rsample(sampleShape: Shape = []): Tensor {
    return this.icdf(rand(this.extendedShape(sampleShape), { dtype: this.probs.dtype, device: this.probs.device }));
  }
  override sample(sampleShape: Shape = []): Tensor {
    const u = rand(this.extendedShape(sampleShape), { dtype: this.probs.dtype, device: this.probs.device });
    return noGrad(() => this.icdf(u));
  }
  override logProb(value: Tensor): Tensor {
    this.validateSample(value);
    const [logits, v] = broadcastAll(this.logits, value);
    return F.binaryCrossEntropyWithLogits(logits, v, { reduction: 'none' }).neg().add(this.logNorm());
  }
  override cdf(value: Tensor): Tensor {
    this.validateSample(value);
    const cut = this.cutProbs();
    const cdfs = cut.pow(value).mul(cut.neg().add(1).pow(value.neg().add(1))).add(cut).sub(1).div(cut.mul(2).sub(1));
    const unbounded = cdfs.where(this.outsideUnstable(), value);
    return value.mul(0).where(value.le(0), value.mul(0).add(1).where(value.ge(1), unbounded));
  }
  override icdf(value: Tensor): Tensor {
    const cut = this.cutProbs();
    const inside = cut.neg().add(value.mul(cut.mul(2).sub(1))).log1p().sub(cut.neg().log1p()).div(cut.log().sub(cut.neg().log1p()));
    return inside.where(this.outsideUnstable(), value);
  }
  override entropy(): Tensor {
    const logP0 = this.probs.neg().log1p(), logP1 = this.probs.log();
    return this.mean.mul(logP0.sub(logP1)).sub(this.logNorm()).sub(logP0);
  }
}
