// Distributions built from others: Independent (batch dims read as event dims),
// TransformedDistribution (a base pushed through transforms) and the families PyTorch defines as
// one (Gumbel, Weibull, Pareto, HalfCauchy, Kumaraswamy, LogisticNormal, the relaxed Bernoulli
// and one-hot categorical), HalfNormal, MixtureSameFamily.
import { Tensor } from '../tensor/tensor';
import { noGrad } from '../tensor/runtime';
import { full, fullLike, onesLike, rand } from '../tensor/creation';
import { Distribution, DistributionOptions, Shape, Constraint, Param, constraints, broadcastAll, batchParams, finfoEps, finfoTiny, DistArgs, distributionArgs } from './distribution';
import { Normal, Uniform, Exponential, Cauchy } from './continuous';
import { Categorical, ProbsOrLogits, ProbsLogitsRest, oneOf, binaryProbsLogits, probsLogits } from './discrete';
import { Transform, ComposeTransform, sumRightmost, productOfSigns, ExpTransform, AffineTransform, PowerTransform, AbsTransform, StickBreakingTransform, SigmoidTransform } from './transforms';
import * as F from '../nn/functional';

/** Reinterprets the rightmost reinterpretedBatchNdims batch dims of base as event dims (log-probs summed over them). */
export class Independent extends Distribution {
  constructor(readonly baseDist: Distribution, readonly reinterpretedBatchNdims: number, opts: DistributionOptions = {}) {
    if (reinterpretedBatchNdims > baseDist.batchShape.length) {
      throw new Error(`Expected reinterpretedBatchNdims <= baseDist.batchShape.length, actual ${reinterpretedBatchNdims} vs ${baseDist.batchShape.length}`);
    }
    const shape = [...baseDist.batchShape, ...baseDist.eventShape];
    const eventDim = reinterpretedBatchNdims + baseDist.eventShape.length;
    super(shape.slice(0, shape.length - eventDim), shape.slice(shape.length - eventDim), opts);
  }
  override get support(): Constraint | null {
    const s = this.baseDist.support;
    if (!s) return null;
    const extra = this.reinterpretedBatchNdims;
    return { name: `IndependentConstraint(${s.name}, ${extra})`, eventDim: s.eventDim + extra, check: (x) => { let r = s.check(x); for (let k = 0; k < extra; k++) r = r.all(-1); return r; } };
  }
  override get hasRsample() { return this.baseDist.hasRsample; }
  override get mean() { return this.baseDist.mean; }
  override get mode() { return this.baseDist.mode; }
  override get variance() { return this.baseDist.variance; }
  override sample(sampleShape: Shape = []) { return this.baseDist.sample(sampleShape); }
  override rsample(sampleShape: Shape = []) { return this.baseDist.rsample(sampleShape); }
  override logProb(value: Tensor) { return sumRightmost(this.baseDist.logProb(value), this.reinterpretedBatchNdims); }
  override entropy() { return sumRightmost(this.baseDist.entropy(), this.reinterpretedBatchNdims); }
  override toString() { return `Independent(${this.baseDist}, ${this.reinterpretedBatchNdims})`; }
}

/** base pushed through transforms: y = t_n(...t_1(x)), x ~ base; logProb by the change of variables. */
export class TransformedDistribution extends Distribution {
  readonly transforms: Transform[];
  readonly baseDist: Distribution;
  constructor(base: Distribution, transforms: Transform | Transform[], opts: DistributionOptions = {}) {
    const list = Array.isArray(transforms) ? transforms : [transforms];
    if (!list.every((t) => t instanceof Transform)) throw new Error('transforms must be a Transform or a list of Transforms');
    const baseShape = [...base.batchShape, ...base.eventShape];
    const baseEventDim = base.eventShape.length;
    const t = new ComposeTransform(list);
    if (baseShape.length < t.domain.eventDim) throw new Error(`base distribution needs to have shape with size at least ${t.domain.eventDim}, but got [${baseShape}].`);
    const forwardShape = t.forwardShape(baseShape);
    const expanded = t.inverseShape(forwardShape);
    if (expanded.join() !== baseShape.join()) throw new Error(`TransformedDistribution: the transforms broadcast the base shape [${baseShape}] to [${expanded}]; expand the base distribution first`);
    const reinterpreted = t.domain.eventDim - baseEventDim;
    const eventDim = t.codomain.eventDim + Math.max(baseEventDim - t.domain.eventDim, 0);
    const cut = forwardShape.length - eventDim;
    super(forwardShape.slice(0, cut), forwardShape.slice(cut), opts);
    this.transforms = list;
    this.baseDist = reinterpreted > 0 ? new Independent(base, reinterpreted) : base;
  }
  override get support(): Constraint | null {
    if (!this.transforms.length) return this.baseDist.support;
    const c = this.transforms[this.transforms.length - 1].codomain;
    return this.eventShape.length > c.eventDim ? { ...c, eventDim: this.eventShape.length } : c;
  }
  override get hasRsample() { return this.baseDist.hasRsample; }
  override sample(sampleShape: Shape = []): Tensor {
    return noGrad(() => this.transforms.reduce((x, t) => t.forward(x), this.baseDist.sample(sampleShape)));
  }
  override rsample(sampleShape: Shape = []): Tensor {
    return this.transforms.reduce((x, t) => t.forward(x), this.baseDist.rsample(sampleShape));
  }
  override logProb(value: Tensor): Tensor {
    this.validateSample(value);
    let eventDim = this.eventShape.length;
    let logProb: Tensor | number = 0;
    let y = value;
    for (const t of [...this.transforms].reverse()) {
      const x = t.inverse(y);
      eventDim += t.domain.eventDim - t.codomain.eventDim;
      const term = sumRightmost(t.logAbsDetJacobian(x, y), eventDim - t.domain.eventDim);
      logProb = typeof logProb === 'number' ? term.neg().add(logProb) : logProb.sub(term);
      y = x;
    }
    const base = sumRightmost(this.baseDist.logProb(y), eventDim - this.baseDist.eventShape.length);
    return typeof logProb === 'number' ? base.add(logProb) : logProb.add(base);
  }
  private monotonize(value: Tensor): Tensor {
    const sign = productOfSigns(this.transforms);
    return sign === 1 ? value : value.sub(0.5).mul(sign).add(0.5);
  }
  override cdf(value: Tensor): Tensor {
    for (const t of [...this.transforms].reverse()) value = t.inverse(value);
    return this.monotonize(this.baseDist.cdf(value));
  }
  override icdf(value: Tensor): Tensor {
    return this.transforms.reduce((x, t) => t.forward(x), this.baseDist.icdf(this.monotonize(value)));
  }
}

/** |X| for X ~ Normal(0, scale). */
export class HalfNormal extends Distribution {
  readonly baseDist: Normal;
  override get support(): Constraint { return { name: 'GreaterThanEq(lower_bound=0.0)', eventDim: 0, check: (x) => x.ge(0) }; }
  override get hasRsample() { return true; }
  constructor(...args: DistArgs<[scale: Tensor | number], { scale?: Tensor | number }>) {
    const [[scale], opts] = distributionArgs<[Tensor | number]>('HalfNormal', ['scale'], args);
    const base = new Normal(0, scale, opts);
    super(base.batchShape, [], opts);
    this.baseDist = base;
  }
  get scale() { return this.baseDist.scale; }
  override get mean() { return this.scale.mul(Math.sqrt(2 / Math.PI)); }
  override get mode() { return this.scale.mul(0); }
  override get variance() { return this.scale.pow(2).mul(1 - 2 / Math.PI); }
  override rsample(sampleShape: Shape = []) { return this.baseDist.rsample(sampleShape).abs(); }
  override logProb(value: Tensor): Tensor {
    this.validateSample(value);
    const lp = this.baseDist.logProb(value).add(Math.LN2);
    return lp.where(value.ge(0), -Infinity);
  }
  override cdf(value: Tensor) {
    this.validateSample(value);
    return this.baseDist.cdf(value).mul(2).sub(1);
  }
  override icdf(prob: Tensor) { return this.baseDist.icdf(prob.add(1).div(2)); }
  override entropy() { return this.baseDist.entropy().sub(Math.LN2); }
}

/**
 * A mixture of components of one family: mixture (a Categorical over the last batch dim of the
 * components) picks a component, which draws the value.
 */
export class MixtureSameFamily extends Distribution {
  private readonly eventNdims: number;
  constructor(readonly mixtureDistribution: Categorical, readonly componentDistribution: Distribution, opts: DistributionOptions = {}) {
    if (!(mixtureDistribution instanceof Categorical)) throw new Error('The Mixture distribution needs to be an instance of torch.distributions.Categorical');
    const mb = mixtureDistribution.batchShape, cb = componentDistribution.batchShape;
    const cbb = cb.slice(0, -1);
    for (let k = 1; k <= Math.min(mb.length, cbb.length); k++) {
      const a = mb[mb.length - k], b = cbb[cbb.length - k];
      if (a !== 1 && b !== 1 && a !== b) throw new Error(`mixtureDistribution.batchShape [${mb}] is not compatible with componentDistribution.batchShape [${cbb}]`);
    }
    const km = mixtureDistribution.numEvents, kc = cb[cb.length - 1];
    if (km !== kc) throw new Error(`The Mixture distribution component (${km}) does not equal the componentDistribution.batchShape[-1] (${kc})`);
    super(cbb, componentDistribution.eventShape, opts);
    this.eventNdims = componentDistribution.eventShape.length;
  }
  private pad(x: Tensor) { return x.unsqueeze(-1 - this.eventNdims); }
  private padMixture(x: Tensor): Tensor {
    const distBatch = this.batchShape.length, catBatch = this.mixtureDistribution.batchShape.length;
    const padNdims = catBatch === 1 ? 0 : distBatch - catBatch;
    const xs = x.shape;
    return x.reshape([...xs.slice(0, -1), ...new Array(Math.max(padNdims, 0)).fill(1), xs[xs.length - 1], ...new Array(this.eventNdims).fill(1)]);
  }
  override get mean() {
    return this.padMixture(this.mixtureDistribution.probs).mul(this.componentDistribution.mean).sum(-1 - this.eventNdims);
  }
  override get variance() {
    const probs = this.padMixture(this.mixtureDistribution.probs);
    const meanCondVar = probs.mul(this.componentDistribution.variance).sum(-1 - this.eventNdims);
    const varCondMean = probs.mul(this.componentDistribution.mean.sub(this.pad(this.mean)).pow(2)).sum(-1 - this.eventNdims);
    return meanCondVar.add(varCondMean);
  }
  override cdf(x: Tensor) {
    const cdfX = this.componentDistribution.cdf(this.pad(x));
    return cdfX.mul(this.mixtureDistribution.probs).sum(-1);
  }
  override logProb(x: Tensor): Tensor {
    this.validateSample(x);
    const logProbX = this.componentDistribution.logProb(this.pad(x));
    const logMix = F.logSoftmax(this.mixtureDistribution.logits, -1);
    return logProbX.add(logMix).logsumexp(-1);
  }
  override sample(sampleShape: Shape = []): Tensor {
    return noGrad(() => {
      const gatherDim = sampleShape.length + this.batchShape.length;
      const es = this.eventShape;
      const mix = this.mixtureDistribution.sample(sampleShape);
      const comp = this.componentDistribution.sample(sampleShape);
      const idx = mix.reshape([...mix.shape, ...new Array(es.length + 1).fill(1)]).repeat([...new Array(mix.ndim).fill(1), 1, ...es]);
      return comp.gather(gatherDim, idx).squeeze(gatherDim);
    });
  }
}

const EULER = 0.5772156649015329;
type Opts = DistributionOptions;
const clampProbs = (p: Tensor) => p.clamp(finfoEps(p.dtype), 1 - finfoEps(p.dtype));

/** Gumbel(loc, scale): the maximum of many draws (-log(-log U) scaled); logProb in closed form. */
export class Gumbel extends TransformedDistribution {
  readonly loc: Tensor;
  readonly scale: Tensor;
  protected override get argConstraints() { return { loc: constraints.real, scale: constraints.positive }; }
  override get support(): Constraint { return constraints.real; }
  constructor(...args: DistArgs<[loc: Param, scale: Param], { loc?: Param; scale?: Param }>) {
    const [[loc, scale], opts] = distributionArgs<[Param, Param]>('Gumbel', ['loc', 'scale'], args);
    const [l, s] = broadcastAll(loc, scale);
    const tiny = finfoTiny(l.dtype), eps = finfoEps(l.dtype);
    const base = typeof loc === 'number' && typeof scale === 'number' ? new Uniform(tiny, 1 - eps) : new Uniform(fullLike(l, tiny), fullLike(l, 1 - eps));
    const exp = new ExpTransform();
    super(base, [exp.inv, new AffineTransform(0, onesLike(s).neg()), exp.inv, new AffineTransform(loc, s.neg())], opts);
    this.loc = l;
    this.scale = s;
    this.checkArgs();
  }
  override logProb(value: Tensor): Tensor {
    this.validateSample(value);
    const y = this.loc.sub(value).div(this.scale);
    return y.sub(y.exp()).sub(this.scale.log());
  }
  override get mean() { return this.loc.add(this.scale.mul(EULER)); }
  override get mode() { return this.loc; }
  override get stddev() { return this.scale.mul(Math.PI / Math.sqrt(6)); }
  override get variance() { return this.stddev.pow(2); }
  override entropy() { return this.scale.log().add(1 + EULER); }
}

/** Weibull(scale, concentration): scale · E^(1/concentration), E ~ Exponential(1). */
export class Weibull extends TransformedDistribution {
  readonly scale: Tensor;
  readonly concentration: Tensor;
  private readonly k1: Tensor;
  protected override get argConstraints() { return { scale: constraints.positive, concentration: constraints.positive }; }
  override get support(): Constraint { return constraints.positive; }
  constructor(...args: DistArgs<[scale: Param, concentration: Param], { scale?: Param; concentration?: Param }>) {
    const [[scale, concentration], opts] = distributionArgs<[Param, Param]>('Weibull', ['scale', 'concentration'], args);
    const [s, k] = broadcastAll(scale, concentration);
    const k1 = k.reciprocal();
    super(new Exponential(onesLike(s), opts), [new PowerTransform(k1), new AffineTransform(0, s)], opts);
    this.scale = s;
    this.concentration = k;
    this.k1 = k1;
    this.checkArgs();
  }
  override get mean() { return this.scale.mul(this.k1.add(1).lgamma().exp()); }
  override get mode() { return this.scale.mul(this.concentration.sub(1).div(this.concentration).pow(this.concentration.reciprocal())); }
  override get variance() {
    return this.scale.pow(2).mul(this.k1.mul(2).add(1).lgamma().exp().sub(this.k1.add(1).lgamma().mul(2).exp()));
  }
  override entropy() { return this.k1.neg().add(1).mul(EULER).add(this.scale.mul(this.k1).log()).add(1); }
}

/** Pareto(scale, alpha): scale · exp(E), E ~ Exponential(alpha); support [scale, ∞). */
export class Pareto extends TransformedDistribution {
  readonly scale: Tensor;
  readonly alpha: Tensor;
  protected override get argConstraints() { return { alpha: constraints.positive, scale: constraints.positive }; }
  override get support(): Constraint { return { name: 'GreaterThanEq(lower_bound=scale)', eventDim: 0, check: (x) => x.ge(this.scale) }; }
  constructor(...args: DistArgs<[scale: Param, alpha: Param], { scale?: Param; alpha?: Param }>) {
    const [[scale, alpha], opts] = distributionArgs<[Param, Param]>('Pareto', ['scale', 'alpha'], args);
    const [s, a] = broadcastAll(scale, alpha);
    super(new Exponential(a, opts), [new ExpTransform(), new AffineTransform(0, s)], opts);
    this.scale = s;
    this.alpha = a;
    this.checkArgs();
  }
  override get mean() { const a = this.alpha.clampMin(1); return a.mul(this.scale).div(a.sub(1)); }
  override get mode() { return this.scale; }
  override get variance() { const a = this.alpha.clampMin(2); return this.scale.pow(2).mul(a).div(a.sub(1).pow(2).mul(a.sub(2))); }
  override entropy() { return this.scale.div(this.alpha).log().add(this.alpha.reciprocal().add(1)); }
}

/** |X| for X ~ Cauchy(0, scale). */
export class HalfCauchy extends TransformedDistribution {
  protected override get argConstraints() { return { scale: constraints.positive }; }
  override get support(): Constraint { return constraints.nonnegative; }
  constructor(...args: DistArgs<[scale: Param], { scale?: Param }>) {
    const [[scale], opts] = distributionArgs<[Param]>('HalfCauchy', ['scale'], args);
    super(new Cauchy(0, scale, { validateArgs: false }), new AbsTransform(), opts);
    this.checkArgs();
  }
  get scale(): Tensor { return (this.baseDist as Cauchy).scale; }
  override get mean() { return fullLike(this.scale, Infinity).expand(this.extendedShape()); }
  override get mode() { return this.scale.mul(0); }
  override get variance() { return this.baseDist.variance; }
  override logProb(value: Tensor): Tensor {
    this.validateSample(value);
    return this.baseDist.logProb(value).add(Math.LN2).where(value.ge(0), -Infinity);
  }
  override cdf(value: Tensor) {
    this.validateSample(value);
    return this.baseDist.cdf(value).mul(2).sub(1);
  }
  override icdf(prob: Tensor) { return this.baseDist.icdf(prob.add(1).div(2)); }
  override entropy() { return this.baseDist.entropy().sub(Math.LN2); }
}

/** Kumaraswamy(concentration1, concentration0): like Beta on (0, 1), with a closed-form cdf. */
export class Kumaraswamy extends TransformedDistribution {
  readonly concentration1: Tensor;
  readonly concentration0: Tensor;
  protected override get argConstraints() { return { concentration1: constraints.positive, concentration0: constraints.positive }; }
  override get support(): Constraint { return constraints.unitInterval; }
  override get hasRsample() { return true; }
  constructor(...args: DistArgs<[concentration1: Param, concentration0: Param], { concentration1?: Param; concentration0?: Param }>) {
    const [[concentration1, concentration0], opts] = distributionArgs<[Param, Param]>('Kumaraswamy', ['concentration1', 'concentration0'], args);
    const [a, b] = broadcastAll(concentration1, concentration0);
    const base = new Uniform(fullLike(b, 0), fullLike(b, 1), opts);
    super(base, [new PowerTransform(b.reciprocal()), new AffineTransform(1, -1), new PowerTransform(a.reciprocal())], opts);
    this.concentration1 = a;
    this.concentration0 = b;
    this.checkArgs();
  }
  // E[X^n] = b · B(1 + n/a, b)
  private moment(n: number): Tensor {
    const a = this.concentration1, b = this.concentration0;
    const arg1 = a.reciprocal().mul(n).add(1);
    return b.mul(arg1.lgamma().add(b.lgamma()).sub(arg1.add(b).lgamma()).exp());
  }
  override get mean() { return this.moment(1); }
  override get mode() {
    const a = this.concentration1, b = this.concentration0;
    // PyTorch's formula as written (NaN where either concentration is below 1)
    const logMode = b.reciprocal().mul(b.neg().log1p()).sub(b.neg().mul(a).log1p());
    return logMode.maskedFill(b.lt(1).logicalOr(a.lt(1)), NaN).exp();
  }
  override get variance() { return this.moment(2).sub(this.mean.pow(2)); }
  override entropy() {
    const a = this.concentration1, b = this.concentration0;
    const t1 = a.reciprocal().neg().add(1), t0 = b.reciprocal().neg().add(1);
    const h0 = b.add(1).digamma().add(EULER);
    return t0.add(t1.mul(h0)).sub(a.log()).sub(b.log());
  }
}

/** LogisticNormal(loc, scale): a Normal pushed onto the simplex by stick breaking (one more category). */
export class LogisticNormal extends TransformedDistribution {
  protected override get argConstraints() { return { loc: constraints.real, scale: constraints.positive }; }
  override get support(): Constraint { return constraints.simplex; }
  override get hasRsample() { return true; }
  constructor(...args: DistArgs<[loc: Param, scale: Param], { loc?: Param; scale?: Param }>) {
    const [[loc, scale], opts] = distributionArgs<[Param, Param]>('LogisticNormal', ['loc', 'scale'], args);
    const [l, s] = broadcastAll(loc, scale);
    const base = l.ndim === 0 ? new Normal(l.expand([1]), s.expand([1]), opts) : new Normal(l, s, opts);
    super(base, new StickBreakingTransform(), opts);
  }
  private get normal(): Normal { return (this.baseDist as Independent).baseDist as Normal; }
  get loc(): Tensor { return this.normal.loc; }
  get scale(): Tensor { return this.normal.scale; }
}

/** The logit of a RelaxedBernoulli: (logistic noise + logits) / temperature, unbounded. */
export class LogitRelaxedBernoulli extends Distribution {
  readonly temperature: Tensor;
  readonly probs: Tensor;
  readonly logits: Tensor;
  private readonly given: 'probs' | 'logits';
  protected override get argConstraints(): Record<string, Constraint> { return this.given === 'probs' ? { probs: constraints.unitInterval } : { logits: constraints.real }; }
  override get support(): Constraint { return constraints.real; }
  override get hasRsample() { return true; }
  /** PyTorch's LogitRelaxedBernoulli(temperature, probs=None, logits=None, validate_args=None), or { probs } | { logits } then the options */
  constructor(temperature: Param, first: ProbsOrLogits | Param | null, ...rest: ProbsLogitsRest) {
    const [args, opts] = probsLogits('LogitRelaxedBernoulli', first, rest);
    const given = oneOf(args, 'LogitRelaxedBernoulli');
    const [batch, [p]] = batchParams(args[given] as Param);
    super(batch, [], opts);
    this.given = given;
    [this.probs, this.logits] = binaryProbsLogits(given, p);
    this.temperature = temperature instanceof Tensor ? temperature : full([], temperature, { dtype: p.dtype, device: p.device });
    this.checkArgs();
  }
  override rsample(sampleShape: Shape = []): Tensor {
    const shape = this.extendedShape(sampleShape);
    const probs = clampProbs(this.probs.expand(shape));
    const u = clampProbs(rand(shape, { dtype: probs.dtype, device: probs.device }));
    return u.log().sub(u.neg().log1p()).add(probs.log()).sub(probs.neg().log1p()).div(this.temperature);
  }
  override logProb(value: Tensor): Tensor {
    this.validateSample(value);
    const [logits, v] = broadcastAll(this.logits, value);
    const diff = logits.sub(v.mul(this.temperature));
    return this.temperature.log().add(diff).sub(diff.exp().log1p().mul(2));
  }
}

/** RelaxedBernoulli(temperature, { probs } | { logits }): a Bernoulli made continuous on (0, 1) (Concrete). */
export class RelaxedBernoulli extends TransformedDistribution {
  protected override get argConstraints(): Record<string, Constraint> { return {}; }
  override get support(): Constraint { return constraints.unitInterval; }
  override get hasRsample() { return true; }
  /** PyTorch's RelaxedBernoulli(temperature, probs=None, logits=None, validate_args=None), or { probs } | { logits } then the options */
  constructor(temperature: Param, first: ProbsOrLogits | Param | null, ...rest: ProbsLogitsRest) {
    const [args, opts] = probsLogits('RelaxedBernoulli', first, rest);
    super(new LogitRelaxedBernoulli(temperature, args, opts), new SigmoidTransform(), opts);
  }
  private get base(): LogitRelaxedBernoulli { return this.baseDist as LogitRelaxedBernoulli; }
  get temperature(): Tensor { return this.base.temperature; }
  get probs(): Tensor { return this.base.probs; }
  get logits(): Tensor { return this.base.logits; }
}

/** The log of a RelaxedOneHotCategorical: Gumbel-softmax scores in log space. */
export class ExpRelaxedCategorical extends Distribution {
  readonly temperature: Tensor;
  private readonly categorical: Categorical;
  override get support(): Constraint { return constraints.realVector; }
  override get hasRsample() { return true; }
  /** PyTorch's ExpRelaxedCategorical(temperature, probs=None, logits=None, validate_args=None), or { probs } | { logits } then the options */
  constructor(temperature: Param, first: ProbsOrLogits | Tensor | null, ...rest: ProbsLogitsRest) {
    const [args, opts] = probsLogits('ExpRelaxedCategorical', first, rest);
    const categorical = new Categorical(args as never, opts);
    const k = categorical.logits.shape[categorical.logits.ndim - 1];
    super(categorical.batchShape, [k], opts);
    this.categorical = categorical;
    this.temperature = temperature instanceof Tensor ? temperature : full([], temperature, { dtype: categorical.logits.dtype, device: categorical.logits.device });
  }
  get logits(): Tensor { return this.categorical.logits; }
  get probs(): Tensor { return this.categorical.probs; }
  override rsample(sampleShape: Shape = []): Tensor {
    const shape = this.extendedShape(sampleShape);
    const u = clampProbs(rand(shape, { dtype: this.logits.dtype, device: this.logits.device }));
    const gumbels = u.log().neg().log().neg();
    const scores = this.logits.add(gumbels).div(this.temperature);
    return scores.sub(scores.logsumexp(-1, true));
  }
  override logProb(value: Tensor): Tensor {
    this.validateSample(value);
    const k = this.eventShape[0];
    const [logits, v] = broadcastAll(this.logits, value);
    const logScale = fullLike(this.temperature, k).lgamma().sub(this.temperature.log().mul(-(k - 1)));
    let score = logits.sub(v.mul(this.temperature));
    score = score.sub(score.logsumexp(-1, true)).sum(-1);
    return score.add(logScale);
  }
}

/** RelaxedOneHotCategorical(temperature, { probs } | { logits }): Gumbel-softmax samples on the simplex. */
export class RelaxedOneHotCategorical extends TransformedDistribution {
  protected override get argConstraints(): Record<string, Constraint> { return {}; }
  override get support(): Constraint { return constraints.simplex; }
  override get hasRsample() { return true; }
  /** PyTorch's RelaxedOneHotCategorical(temperature, probs=None, logits=None, validate_args=None), or { probs } | { logits } then the options */
  constructor(temperature: Param, first: ProbsOrLogits | Tensor | null, ...rest: ProbsLogitsRest) {
    const [args, opts] = probsLogits('RelaxedOneHotCategorical', first, rest);
    super(new ExpRelaxedCategorical(temperature, args, opts), new ExpTransform(), opts);
  }
  private get base(): ExpRelaxedCategorical { return this.baseDist as ExpRelaxedCategorical; }
  get temperature(): Tensor { return this.base.temperature; }
  get probs(): Tensor { return this.base.probs; }
  get logits(): Tensor { return this.base.logits; }
}
