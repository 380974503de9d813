// Distributions built from others: Independent (batch dims read as event dims),
// TransformedDistribution (a base pushed through transforms), HalfNormal, MixtureSameFamily.
import { Tensor } from '../tensor/tensor';
import { noGrad } from '../tensor/runtime';
import { Distribution, Shape, Constraint } from './distribution';
import { Normal } from './continuous';
import { Categorical } from './discrete';
import { Transform, ComposeTransform, sumRightmost, productOfSigns } from './transforms';
import * as F from '../nn/functional';

/** Reinterprets the rightmost reinterpretedBatchNdims batch dims of base as event dims (log-probs summed over them). */
export class Independent extends Distribution {
  constructor(readonly baseDist: Distribution, readonly reinterpretedBatchNdims: number, opts: { validateArgs?: boolean } = {}) {
    if (reinterpretedBatchNdims > baseDist.batchShape.length) {
      throw new Error(`Expected reinterpretedBatchNdims <= baseDist.batchShape.length, actual ${reinterpretedBatchNdims} vs ${baseDist.batchShape.length}`);
    }
    const shape = [...baseDist.batchShape, ...baseDist.eventShape];
    const eventDim = reinterpretedBatchNdims + baseDist.eventShape.length;
    super(shape.slice(0, shape.length - eventDim), shape.slice(shape.length - eventDim), opts.validateArgs);
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
  constructor(base: Distribution, transforms: Transform | Transform[], opts: { validateArgs?: boolean } = {}) {
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
    super(forwardShape.slice(0, cut), forwardShape.slice(cut), opts.validateArgs);
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
  constructor(scale: Tensor | number, opts: { validateArgs?: boolean } = {}) {
    const base = new Normal(0, scale, opts);
    super(base.batchShape, [], opts.validateArgs);
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
  constructor(readonly mixtureDistribution: Categorical, readonly componentDistribution: Distribution, opts: { validateArgs?: boolean } = {}) {
    if (!(mixtureDistribution instanceof Categorical)) throw new Error('The Mixture distribution needs to be an instance of torch.distributions.Categorical');
    const mb = mixtureDistribution.batchShape, cb = componentDistribution.batchShape;
    const cbb = cb.slice(0, -1);
    for (let k = 1; k <= Math.min(mb.length, cbb.length); k++) {
      const a = mb[mb.length - k], b = cbb[cbb.length - k];
      if (a !== 1 && b !== 1 && a !== b) throw new Error(`mixtureDistribution.batchShape [${mb}] is not compatible with componentDistribution.batchShape [${cbb}]`);
    }
    const km = mixtureDistribution.numEvents, kc = cb[cb.length - 1];
    if (km !== kc) throw new Error(`The Mixture distribution component (${km}) does not equal the componentDistribution.batchShape[-1] (${kc})`);
    super(cbb, componentDistribution.eventShape, opts.validateArgs);
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
