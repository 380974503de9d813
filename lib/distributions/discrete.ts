// Discrete distributions: Bernoulli, Categorical, OneHotCategorical, Poisson, as PyTorch's.
import { Tensor } from '../tensor/tensor';
import { full } from '../tensor/creation';
import { bernoulli, poisson, oneHot } from '../tensor/ops';
import * as F from '../nn/functional';
import { Distribution, Param, Shape, Constraint, constraints, broadcastAll, batchParams, probsToLogits, finfoMin } from './distribution';

type ProbsOrLogits = { probs: Param; logits?: undefined } | { logits: Param; probs?: undefined };
type TensorProbsOrLogits = { probs: Tensor; logits?: undefined } | { logits: Tensor; probs?: undefined };

function oneOf(args: { probs?: unknown; logits?: unknown } | undefined, what: string): 'probs' | 'logits' {
  const hasProbs = args?.probs != null, hasLogits = args?.logits != null;
  if (hasProbs === hasLogits) throw new Error(`${what}: either probs or logits must be specified, but not both`);
  return hasProbs ? 'probs' : 'logits';
}

/** Bernoulli({ probs } | { logits }): 1 with probability probs. */
export class Bernoulli extends Distribution {
  readonly probs: Tensor;
  readonly logits: Tensor;
  private readonly given: 'probs' | 'logits';
  protected override get argConstraints(): Record<string, Constraint> { return this.given === 'probs' ? { probs: constraints.unitInterval } : { logits: constraints.real }; }
  override get support(): Constraint { return constraints.boolean; }
  constructor(args: ProbsOrLogits, opts: { validateArgs?: boolean } = {}) {
    const given = oneOf(args, 'Bernoulli');
    const value = args[given] as Param;
    const [batch, [p]] = batchParams(value);
    super(batch, [], opts.validateArgs);
    this.given = given;
    if (given === 'probs') {
      this.probs = p;
      this.checkArgs();
      this.logits = probsToLogits(p, true);
    } else {
      this.logits = p;
      this.checkArgs();
      this.probs = p.sigmoid();
    }
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
  constructor(args: TensorProbsOrLogits, opts: { validateArgs?: boolean } = {}) {
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
    const batch = [...shapeBroadcast(shape.slice(0, -1), this.logits.shape.slice(0, -1))];
    const logPmf = this.logits.expand([...batch, this.numEvents]);
    return logPmf.gather(-1, v.expand([...batch, 1])).squeeze(-1);
  }
  override entropy(): Tensor {
    const logits = this.logits.clamp(finfoMin(this.logits.dtype));
    return logits.mul(this.probs).sum(-1).neg();
  }
}

function shapeBroadcast(a: Shape, b: Shape): Shape {
  const n = Math.max(a.length, b.length);
  return Array.from({ length: n }, (_, k) => {
    const x = a[a.length - n + k] ?? 1, y = b[b.length - n + k] ?? 1;
    if (x !== 1 && y !== 1 && x !== y) throw new Error(`shapes [${a}] and [${b}] cannot be broadcast together`);
    return x === 1 ? y : x;
  });
}

/** OneHotCategorical: a Categorical whose samples are one-hot vectors over the last dim. */
export class OneHotCategorical extends Distribution {
  readonly categorical: Categorical;
  protected override get argConstraints(): Record<string, Constraint> { return {}; }
  override get support(): Constraint { return { name: 'OneHot()', eventDim: 1, check: (x) => x.eq(0).logicalOr(x.eq(1)).all(-1).logicalAnd(x.sum(-1).eq(1)) }; }
  constructor(args: TensorProbsOrLogits, opts: { validateArgs?: boolean } = {}) {
    const categorical = new Categorical(args, opts);
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
  constructor(rate: Param, opts: { validateArgs?: boolean } = {}) {
    const [batch, [r]] = batchParams(rate);
    super(batch, [], opts.validateArgs);
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
