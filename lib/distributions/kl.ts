// kl_divergence(p, q) for pairs of the same family and across families, with PyTorch's closed forms (torch/distributions/kl.py).
import { Tensor } from '../tensor/tensor';
import { broadcastShapes, Distribution } from './distribution';
import { Normal, LogNormal, Uniform, Exponential, Laplace, Gamma, Beta, Dirichlet, MultivariateNormal, Cauchy, LowRankMultivariateNormal, halfLogDet, mahalanobis } from './continuous';
import { Bernoulli, Categorical, OneHotCategorical, Poisson, Geometric, Binomial, ContinuousBernoulli } from './discrete';
import { Independent, HalfNormal, Gumbel, Pareto, TransformedDistribution } from './transformed';
import { sumRightmost } from './transforms';
import * as F from '../nn/functional';
import * as linalg from '../tensor/linalg';
import { fullLike } from '../tensor/creation';

// (any: a class of any constructor; never[] would refuse rest-parameter constructors)
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type ClassOf<D> = abstract new (...args: any[]) => D;
type Ctor = ClassOf<Distribution>;
type KL = (p: never, q: never) => Tensor;
const registry: [Ctor, Ctor, KL][] = [];

/** torch.distributions.kl.register_kl: adds (or replaces) the KL divergence of a pair of types. */
export function registerKl<P extends Distribution, Q extends Distribution>(
  typeP: ClassOf<P>, typeQ: ClassOf<Q>, fn: (p: P, q: Q) => Tensor,
): void {
  const k = registry.findIndex(([a, b]) => a === typeP && b === typeQ);
  if (k >= 0) registry.splice(k, 1);
  registry.push([typeP, typeQ, fn as KL]);
}

/** KL(p || q), batched as the distributions are; an unregistered pair is an error, as in PyTorch. */
export function klDivergence(p: Distribution, q: Distribution): Tensor {
  // The most derived registered pair wins: look for exact classes first, then their ancestors.
  for (let a: object | null = p.constructor; a && a !== Distribution; a = Object.getPrototypeOf(a)) {
    for (let b: object | null = q.constructor; b && b !== Distribution; b = Object.getPrototypeOf(b)) {
      const hit = registry.find(([x, y]) => x === a && y === b);
      if (hit) return (hit[2] as (p: Distribution, q: Distribution) => Tensor)(p, q);
    }
  }
  throw new Error(`klDivergence: no KL divergence registered for ${p.constructor.name} and ${q.constructor.name} (registerKl adds one)`);
}

const inf = Infinity;

registerKl(Normal, Normal, (p, q) => {
  const varRatio = p.scale.div(q.scale).pow(2);
  const t1 = p.loc.sub(q.loc).div(q.scale).pow(2);
  return varRatio.add(t1).sub(1).sub(varRatio.log()).mul(0.5);
});
registerKl(LogNormal, LogNormal, (p, q) => klDivergence(p.baseDist, q.baseDist));
registerKl(Bernoulli, Bernoulli, (p, q) => {
  let t1 = p.probs.mul(F.softplus(q.logits.neg()).sub(F.softplus(p.logits.neg())));
  t1 = t1.maskedFill(q.probs.eq(0), inf).maskedFill(p.probs.eq(0), 0);
  let t2 = p.probs.neg().add(1).mul(F.softplus(q.logits).sub(F.softplus(p.logits)));
  t2 = t2.maskedFill(q.probs.eq(1), inf).maskedFill(p.probs.eq(1), 0);
  return t1.add(t2);
});
function klCategorical(p: Categorical, q: Categorical): Tensor {
  let t = p.probs.mul(p.logits.sub(q.logits));
  t = t.maskedFill(q.probs.eq(0).expand(t.shape), inf).maskedFill(p.probs.eq(0).expand(t.shape), 0);
  return t.sum(-1);
}
registerKl(Categorical, Categorical, klCategorical);
registerKl(OneHotCategorical, OneHotCategorical, (p, q) => klCategorical(p.categorical, q.categorical));
registerKl(Uniform, Uniform, (p, q) => {
  const result = q.high.sub(q.low).div(p.high.sub(p.low)).log();
  return result.maskedFill(q.low.gt(p.low).logicalOr(q.high.lt(p.high)), inf);
});
registerKl(Exponential, Exponential, (p, q) => {
  const rateRatio = q.rate.div(p.rate);
  return rateRatio.log().neg().add(rateRatio).sub(1);
});
registerKl(Laplace, Laplace, (p, q) => {
  const scaleRatio = p.scale.div(q.scale);
  const locAbsDiff = p.loc.sub(q.loc).abs();
  return scaleRatio.log().neg().add(locAbsDiff.div(q.scale)).add(scaleRatio.mul(locAbsDiff.neg().div(p.scale).exp())).sub(1);
});
registerKl(Gamma, Gamma, (p, q) => {
  const t1 = q.concentration.mul(p.rate.div(q.rate).log());
  const t2 = q.concentration.lgamma().sub(p.concentration.lgamma());
  const t3 = p.concentration.sub(q.concentration).mul(p.concentration.digamma());
  const t4 = q.rate.sub(p.rate).mul(p.concentration.div(p.rate));
  return t1.add(t2).add(t3).add(t4);
});
registerKl(Beta, Beta, (p, q) => {
  const sumP = p.concentration1.add(p.concentration0), sumQ = q.concentration1.add(q.concentration0);
  const t1 = q.concentration1.lgamma().add(q.concentration0.lgamma()).add(sumP.lgamma());
  const t2 = p.concentration1.lgamma().add(p.concentration0.lgamma()).add(sumQ.lgamma());
  const t3 = p.concentration1.sub(q.concentration1).mul(p.concentration1.digamma());
  const t4 = p.concentration0.sub(q.concentration0).mul(p.concentration0.digamma());
  const t5 = sumQ.sub(sumP).mul(sumP.digamma());
  return t1.sub(t2).add(t3).add(t4).add(t5);
});
registerKl(Dirichlet, Dirichlet, (p, q) => {
  const sumP = p.concentration.sum(-1), sumQ = q.concentration.sum(-1);
  const t1 = sumP.lgamma().sub(sumQ.lgamma());
  const t2 = p.concentration.lgamma().sub(q.concentration.lgamma()).sum(-1);
  const t3 = p.concentration.sub(q.concentration);
  const t4 = p.concentration.digamma().sub(sumP.digamma().unsqueeze(-1));
  return t1.sub(t2).add(t3.mul(t4).sum(-1));
});
registerKl(Poisson, Poisson, (p, q) => p.rate.mul(p.rate.log().sub(q.rate.log())).sub(p.rate.sub(q.rate)));
registerKl(MultivariateNormal, MultivariateNormal, (p, q) => {
  const n = p.eventShape[0];
  if (n !== q.eventShape[0]) throw new Error('KL-divergence between two Multivariate Normals with different event shapes cannot be computed');
  const Lp = p.unbroadcastedScaleTril, Lq = q.unbroadcastedScaleTril;
  const halfTerm1 = halfLogDet(Lq).sub(halfLogDet(Lp));
  const batch = broadcastShapes(Lq.shape.slice(0, -2), Lp.shape.slice(0, -2));
  const solved = linalg.solveTriangular(Lq.expand([...batch, n, n]), Lp.expand([...batch, n, n]), { upper: false });
  const term2 = solved.pow(2).sum([-2, -1]); // trace(X X^T)
  const term3 = mahalanobis(Lq, q.loc.sub(p.loc));
  return halfTerm1.add(term2.add(term3).sub(n).mul(0.5));
});

registerKl(Independent, Independent, (p, q) => {
  if (p.reinterpretedBatchNdims !== q.reinterpretedBatchNdims) throw new Error('klDivergence: Independent distributions with different reinterpretedBatchNdims are not supported');
  return sumRightmost(klDivergence(p.baseDist, q.baseDist), p.reinterpretedBatchNdims);
});
registerKl(HalfNormal, HalfNormal, (p, q) => klDivergence(p.baseDist, q.baseDist));
registerKl(Geometric, Geometric, (p, q) => p.entropy().neg().sub(q.probs.neg().log1p().div(p.probs)).sub(q.logits));
registerKl(Binomial, Binomial, (p, q) => {
  if (p.totalCount.lt(q.totalCount).any().item()) throw new Error('klDivergence: KL between Binomials where q.totalCount > p.totalCount is not implemented');
  const kl = p.totalCount.mul(p.probs.mul(p.logits.sub(q.logits)).add(p.probs.neg().log1p()).sub(q.probs.neg().log1p()));
  return kl.maskedFill(p.totalCount.gt(q.totalCount), Infinity);
});

// ---- more pairs (PyTorch's closed forms): same families added later, and across families ----
const EULER = 0.5772156649015329;
registerKl(Gumbel, Gumbel, (p, q) => {
  const ct1 = p.scale.div(q.scale), ct2 = q.loc.div(q.scale), ct3 = p.loc.div(q.scale);
  const t1 = ct1.log().neg().sub(ct2).add(ct3);
  const t2 = ct1.mul(EULER);
  const t3 = ct2.add(ct1.add(1).lgamma()).sub(ct3).exp();
  return t1.add(t2).add(t3).sub(1 + EULER);
});
registerKl(Pareto, Pareto, (p, q) => {
  const scaleRatio = p.scale.div(q.scale), alphaRatio = q.alpha.div(p.alpha);
  const result = q.alpha.mul(scaleRatio.log()).sub(alphaRatio.log()).add(alphaRatio).sub(1);
  return result.maskedFill(p.scale.lt(q.scale), inf);
});
registerKl(Cauchy, Cauchy, (p, q) => p.scale.add(q.scale).pow(2).add(p.loc.sub(q.loc).pow(2)).log().sub(p.scale.mul(q.scale).mul(4).log()));
registerKl(ContinuousBernoulli, ContinuousBernoulli, (p, q) => {
  const t1 = p.mean.mul(p.logits.sub(q.logits));
  const t2 = p._logNorm().add(p.probs.neg().log1p());
  const t3 = q._logNorm().neg().sub(q.probs.neg().log1p());
  return t1.add(t2).add(t3);
});
registerKl(Normal, Laplace, (p, q) => {
  const locDiff = p.loc.sub(q.loc), scaleRatio = p.scale.div(q.scale), ratio = locDiff.div(p.scale);
  const t2 = p.scale.mul(Math.sqrt(2 / Math.PI)).mul(ratio.pow(2).mul(-0.5).exp());
  const t3 = locDiff.mul(ratio.mul(Math.sqrt(0.5)).erf());
  return scaleRatio.log().neg().add(t2.add(t3).div(q.scale)).sub(0.5 * (1 + Math.log(0.5 * Math.PI)));
});
registerKl(Laplace, Normal, (p, q) => {
  const varNormal = q.scale.pow(2), ratio = p.scale.pow(2).div(varNormal);
  const t1 = ratio.mul(2 / Math.PI).log().mul(0.5);
  const t234 = p.loc.pow(2).mul(0.5).sub(p.loc.mul(q.loc)).add(q.loc.pow(2).mul(0.5));
  return t1.neg().add(ratio).add(t234.div(varNormal)).sub(1);
});
registerKl(Exponential, Gamma, (p, q) => {
  const ratio = q.rate.div(p.rate);
  return q.concentration.neg().mul(ratio.log()).add(ratio).add(q.concentration.lgamma()).add(q.concentration.mul(EULER)).sub(1 + EULER);
});
registerKl(Gamma, Exponential, (p, q) => p.entropy().neg().sub(q.rate.log()).add(q.rate.mul(p.concentration).div(p.rate)));
registerKl(Exponential, Normal, (p, q) => {
  const varNormal = q.scale.pow(2), rateSqr = p.rate.pow(2);
  const t1 = rateSqr.mul(varNormal).mul(2 * Math.PI).log().mul(0.5);
  const t234 = rateSqr.reciprocal().sub(q.loc.div(p.rate)).add(q.loc.pow(2).mul(0.5));
  return t1.sub(1).add(t234.div(varNormal));
});
registerKl(Normal, Gumbel, (p, q) => {
  const meanRatio = p.loc.div(q.scale), varRatio = p.scale.div(q.scale).pow(2), locRatio = q.loc.div(q.scale);
  const t3 = meanRatio.neg().add(varRatio.mul(0.5)).add(locRatio).exp();
  return varRatio.log().mul(0.5).neg().add(meanRatio.sub(locRatio)).add(t3).sub(0.5 * (1 + Math.log(2 * Math.PI)));
});
registerKl(Uniform, Normal, (p, q) => {
  const common = p.high.sub(p.low);
  const t1 = q.scale.mul(Math.sqrt(Math.PI * 2)).div(common).log();
  const t2 = common.pow(2).div(12);
  const t3 = p.high.add(p.low).sub(q.loc.mul(2)).div(2).pow(2);
  return t1.add(t2.add(t3).mul(0.5).div(q.scale.pow(2)));
});
registerKl(Bernoulli, Poisson, (p, q) => p.entropy().neg().sub(p.probs.mul(q.rate.log()).sub(q.rate)));
registerKl(Gamma, Normal, (p, q) => {
  const varNormal = q.scale.pow(2), betaSqr = p.rate.pow(2);
  const t1 = betaSqr.mul(varNormal).mul(2 * Math.PI).log().mul(0.5).sub(p.concentration).sub(p.concentration.lgamma());
  const t2 = p.concentration.pow(2).add(p.concentration).mul(0.5).div(betaSqr);
  const t3 = q.loc.mul(p.concentration).div(p.rate);
  const t4 = q.loc.pow(2).mul(0.5);
  return t1.add(p.concentration.sub(1).mul(p.concentration.digamma())).add(t2.sub(t3).add(t4).div(varNormal));
});
registerKl(Uniform, Exponential, (p, q) => {
  const result = q.rate.mul(p.high.add(p.low)).div(2).sub(p.high.sub(p.low).mul(q.rate).log());
  return result.maskedFill(p.low.lt(0), inf);
});
registerKl(Exponential, Gumbel, (p, q) => {
  const prod = p.rate.mul(q.scale), locRatio = q.loc.div(q.scale);
  const t1 = prod.log().sub(1);
  const t2 = locRatio.exp().mul(prod).div(prod.add(1));
  return t1.sub(locRatio).add(t2).add(prod.reciprocal());
});
registerKl(Gumbel, Normal, (p, q) => {
  const ratio = p.scale.div(q.scale);
  const t1 = ratio.div(Math.sqrt(2 * Math.PI)).log();
  const t2 = ratio.mul(Math.PI * 0.5).pow(2).div(3);
  const t3 = p.loc.add(p.scale.mul(EULER)).sub(q.loc).div(q.scale).pow(2).mul(0.5);
  return t1.neg().add(t2).add(t3).sub(EULER + 1);
});
registerKl(Gamma, Gumbel, (p, q) => {
  const prod = p.rate.mul(q.scale), locRatio = q.loc.div(q.scale);
  const t1 = p.concentration.sub(1).mul(p.concentration.digamma()).sub(p.concentration.lgamma()).sub(p.concentration);
  const t2 = prod.log().add(p.concentration.div(prod));
  const t3 = locRatio.exp().mul(prod.reciprocal().add(1).pow(p.concentration.neg())).sub(locRatio);
  return t1.add(t2).add(t3);
});
registerKl(Pareto, Exponential, (p, q) => {
  const prod = p.scale.mul(q.rate);
  const result = p.alpha.div(prod).log().sub(p.alpha.reciprocal()).add(p.alpha.mul(prod).div(p.alpha.sub(1))).sub(1);
  return result.maskedFill(p.alpha.le(1), inf);
});
registerKl(Pareto, Gamma, (p, q) => {
  const common = p.scale.log().add(p.alpha.reciprocal());
  const t1 = p.alpha.log().sub(common);
  const t2 = q.concentration.lgamma().sub(q.concentration.mul(q.rate.log()));
  const t3 = q.concentration.neg().add(1).mul(common);
  const t4 = q.rate.mul(p.alpha).mul(p.scale).div(p.alpha.sub(1));
  return t1.add(t2).add(t3).add(t4).sub(1).maskedFill(p.alpha.le(1), inf);
});
registerKl(Pareto, Normal, (p, q) => {
  const varNormal = q.scale.pow(2).mul(2);
  const common = p.scale.div(p.alpha.sub(1));
  const t1 = q.scale.mul(Math.sqrt(2 * Math.PI)).mul(p.alpha).div(p.scale).log();
  const t3 = p.alpha.mul(common.pow(2)).div(p.alpha.sub(2));
  const t4 = p.alpha.mul(common).sub(q.loc).pow(2);
  return t1.sub(p.alpha.reciprocal()).add(t3.add(t4).div(varNormal)).sub(1).maskedFill(p.alpha.le(2), inf);
});
const xLogX = (x: Tensor) => x.mul(x.log());
registerKl(Uniform, Gamma, (p, q) => {
  const common = p.high.sub(p.low);
  const t2 = q.concentration.lgamma().sub(q.concentration.mul(q.rate.log()));
  const t3 = q.concentration.neg().add(1).mul(xLogX(p.high).sub(xLogX(p.low)).sub(common)).div(common);
  const t4 = q.rate.mul(p.high.add(p.low)).div(2);
  return common.log().neg().add(t2).add(t3).add(t4).maskedFill(p.low.lt(0), inf);
});
registerKl(Uniform, Gumbel, (p, q) => {
  const common = q.scale.div(p.high.sub(p.low));
  const hi = p.high.sub(q.loc).div(q.scale), lo = p.low.sub(q.loc).div(q.scale);
  const t1 = common.log().add(hi.add(lo).mul(0.5));
  const t2 = common.mul(hi.neg().exp().sub(lo.neg().exp()));
  return t1.sub(t2);
});
registerKl(Uniform, Pareto, (p, q) => {
  const width = p.high.sub(p.low);
  const t1 = q.alpha.mul(q.scale.pow(q.alpha)).mul(width).log();
  const t2 = xLogX(p.high).sub(xLogX(p.low)).sub(width).div(width);
  return t2.mul(q.alpha.add(1)).sub(t1).maskedFill(p.low.lt(q.scale), inf);
});
registerKl(Uniform, Beta, (p, q) => {
  const common = p.high.sub(p.low);
  const a = q.concentration1, b = q.concentration0;
  const t2 = a.sub(1).mul(xLogX(p.high).sub(xLogX(p.low)).sub(common)).div(common);
  const t3 = b.sub(1).mul(xLogX(p.high.neg().add(1)).sub(xLogX(p.low.neg().add(1))).add(common)).div(common);
  const t4 = a.lgamma().add(b.lgamma()).sub(a.add(b).lgamma());
  return t3.add(t4).sub(common.log()).sub(t2).maskedFill(p.high.gt(1).logicalOr(p.low.lt(0)), inf);
});
registerKl(Beta, Uniform, (p, q) => p.entropy().neg().add(q.high.sub(q.low).log()).maskedFill(q.low.gt(0).logicalOr(q.high.lt(1)), inf));
registerKl(Beta, Exponential, (p, q) => p.entropy().neg().sub(q.rate.log()).add(q.rate.mul(p.concentration1.div(p.concentration1.add(p.concentration0)))));
registerKl(Beta, Gamma, (p, q) => {
  const a = p.concentration1, b = p.concentration0;
  const t2 = q.concentration.lgamma().sub(q.concentration.mul(q.rate.log()));
  const t3 = q.concentration.sub(1).mul(a.digamma().sub(a.add(b).digamma()));
  const t4 = q.rate.mul(a).div(a.add(b));
  return p.entropy().neg().add(t2).sub(t3).add(t4);
});
registerKl(Beta, Normal, (p, q) => {
  const a = p.concentration1, b = p.concentration0;
  const e = a.div(a.add(b)), varNormal = q.scale.pow(2);
  const t2 = varNormal.mul(2 * Math.PI).log().mul(0.5);
  const t3 = e.mul(e.neg().add(1)).div(a.add(b).add(1)).add(e.pow(2)).mul(0.5);
  return p.entropy().neg().add(t2).add(t3.sub(q.loc.mul(e)).add(q.loc.pow(2).mul(0.5)).div(varNormal));
});
// where q gives zero density on part of p's support: infinite (PyTorch's _kl_*_infinity)
const infiniteLike = (t: Tensor) => fullLike(t, inf);
for (const Q of [Uniform, Pareto, Gamma, Exponential, ContinuousBernoulli, Beta] as Ctor[]) {
  registerKl(Normal, Q, (p) => infiniteLike(p.loc));
  registerKl(Laplace, Q, (p) => infiniteLike(p.loc));
  registerKl(Gumbel, Q, (p) => infiniteLike(p.loc));
}
for (const Q of [Uniform, Pareto, ContinuousBernoulli, Beta] as Ctor[]) {
  registerKl(Exponential, Q, (p) => infiniteLike(p.rate));
  registerKl(Gamma, Q, (p) => infiniteLike(p.concentration));
}
for (const Q of [Uniform, ContinuousBernoulli, Beta] as Ctor[]) registerKl(Pareto, Q, (p) => infiniteLike(p.scale));
registerKl(Beta, Pareto, (p) => infiniteLike(p.concentration1));
registerKl(ContinuousBernoulli, Pareto, (p) => infiniteLike(p.probs));
registerKl(Poisson, Bernoulli, (p) => infiniteLike(p.rate));
registerKl(Poisson, Binomial, (p) => infiniteLike(p.rate));
// the sum of squares of each matrix's entries (trace of X Xᵀ), over the batch
const traceXXt = (m: Tensor) => m.pow(2).sum([-2, -1]);
registerKl(LowRankMultivariateNormal, LowRankMultivariateNormal, (p, q) => {
  if (p.eventShape.join() !== q.eventShape.join()) throw new Error('KL-divergence between two Low Rank Multivariate Normals with different event shapes cannot be computed');
  const pf = p._factors, qf = q._factors;
  const term1 = q._logDet().sub(p._logDet());
  const term3 = q._mahalanobis(q.loc.sub(p.loc));
  const A = linalg.solveTriangular(qf.capacitanceTril, qf.W.transpose(-2, -1).div(qf.D.unsqueeze(-2)), { upper: false });
  const term21 = pf.D.div(qf.D).sum(-1);
  const term22 = traceXXt(pf.W.mul(qf.D.rsqrt().unsqueeze(-1)));
  const term23 = traceXXt(A.mul(pf.D.sqrt().unsqueeze(-2)));
  const term24 = traceXXt(A.matmul(pf.W));
  return term1.add(term21.add(term22).sub(term23).sub(term24)).add(term3).sub(p.eventShape[0]).mul(0.5);
});
registerKl(MultivariateNormal, LowRankMultivariateNormal, (p, q) => {
  if (p.eventShape.join() !== q.eventShape.join()) throw new Error('KL-divergence between two (Low Rank) Multivariate Normals with different event shapes cannot be computed');
  const qf = q._factors, L = p.unbroadcastedScaleTril;
  const term1 = q._logDet().sub(halfLogDet(L).mul(2));
  const term3 = q._mahalanobis(q.loc.sub(p.loc));
  const A = linalg.solveTriangular(qf.capacitanceTril, qf.W.transpose(-2, -1).div(qf.D.unsqueeze(-2)), { upper: false });
  const term2 = traceXXt(L.mul(qf.D.rsqrt().unsqueeze(-1))).sub(traceXXt(A.matmul(L)));
  return term1.add(term2).add(term3).sub(p.eventShape[0]).mul(0.5);
});
registerKl(LowRankMultivariateNormal, MultivariateNormal, (p, q) => {
  if (p.eventShape.join() !== q.eventShape.join()) throw new Error('KL-divergence between two (Low Rank) Multivariate Normals with different event shapes cannot be computed');
  const pf = p._factors, L = q.unbroadcastedScaleTril;
  const n = p.eventShape[0], m = pf.W.shape[pf.W.ndim - 1];
  const term1 = halfLogDet(L).mul(2).sub(p._logDet());
  const term3 = mahalanobis(L, q.loc.sub(p.loc));
  const batch = broadcastShapes(L.shape.slice(0, -2), pf.W.shape.slice(0, -2));
  const qL = L.expand([...batch, n, n]);
  const term21 = traceXXt(linalg.solveTriangular(qL, pf.W.expand([...batch, n, m]), { upper: false }));
  const term22 = traceXXt(linalg.solveTriangular(qL, pf.D.sqrt().diagEmbed().expand([...batch, n, n]), { upper: false }));
  return term1.add(term21.add(term22)).add(term3).sub(n).mul(0.5);
});
// ContinuousBernoulli against other families (PyTorch's forms, including where its Uniform checks
// count the support's edges as outside)
const cbCross = (p: Distribution & { mean: Tensor; entropy(): Tensor }, q: ContinuousBernoulli) =>
  p.entropy().neg().sub(p.mean.mul(q.logits)).sub(q.probs.neg().log1p()).sub(q._logNorm());
registerKl(Beta, ContinuousBernoulli, (p, q) => cbCross(p, q));
registerKl(Uniform, ContinuousBernoulli, (p, q) => cbCross(p, q).maskedFill(p.high.ge(1).logicalOr(p.low.le(0)), inf));
registerKl(ContinuousBernoulli, Exponential, (p, q) => p.entropy().neg().sub(q.rate.log()).add(q.rate.mul(p.mean)));
registerKl(ContinuousBernoulli, Normal, (p, q) => {
  const t2 = q.loc.div(q.scale).pow(2).add(Math.log(2 * Math.PI)).mul(0.5).add(q.scale.log());
  const t3 = p.variance.add(p.mean.pow(2)).sub(q.loc.mul(p.mean).mul(2)).div(q.scale.pow(2).mul(2));
  return p.entropy().neg().add(t2).add(t3);
});
registerKl(ContinuousBernoulli, Uniform, (p, q) => p.entropy().neg().add(q.high.sub(q.low).log()).maskedFill(q.low.ge(0).logicalOr(q.high.le(1)), inf));
registerKl(TransformedDistribution, TransformedDistribution, (p, q) => {
  const same = p.transforms.length === q.transforms.length && p.transforms.every((t, k) => t.equals(q.transforms[k]));
  if (!same || p.eventShape.join() !== q.eventShape.join()) {
    throw new Error('klDivergence: between TransformedDistributions only when their transforms are the same (then it is their bases\' KL), as PyTorch\'s');
  }
  return klDivergence(p.baseDist, q.baseDist);
});
