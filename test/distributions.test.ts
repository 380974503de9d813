// torch.distributions against PyTorch's (scripts/reference/distributions_ref.py), float64: the
// same seed draws the same samples (exactly, within 1e-12), and log_prob, cdf, icdf, entropy,
// moments, KL divergences and the gradients of rsample, log_prob and KL agree within 1e-10.
import * as torch from '../lib';
import { referenceTensors, pythonJson } from './helpers';

type T = torch.Tensor;
const D = torch.distributions;
const SEED = 11;
const f64 = { dtype: 'float64' as const };

const r = (...s: number[]) => torch.randn(s, f64);
const pos = (...s: number[]) => torch.rand(s, f64).add(0.5);
const unit = (...s: number[]) => torch.rand(s, f64).mul(0.9).add(0.05);
const spd = (...s: number[]) => torch.tidy(() => { const a = r(...s); const n = s[s.length - 1]; return a.matmul(a.transpose(-2, -1)).add(torch.eye(n, n, f64).mul(n)); });
const lowerChol = (...s: number[]) => torch.tidy(() => r(...s).tril(-1).add(pos(...s.slice(0, -1)).diagEmbed()));
const simplex = (...s: number[]) => torch.tidy(() => torch.nn.functional.softmax(pos(...s), -1));
const ints = (lo: number, hi: number, ...s: number[]) => torch.randint(lo, hi, s).to(f64);

interface Case {
  name: string;
  params: Record<string, () => T>;
  ts: (p: Record<string, T>) => torch.distributions.Distribution;
  py: string;
  sample?: number[];
  rsample?: number[];
  values?: () => T;
  quantiles?: () => T;
  /** logProb, cdf, icdf, entropy (Python: log_prob, cdf, icdf, entropy) */
  methods: ('logProb' | 'cdf' | 'icdf' | 'entropy')[];
  /** properties, by their TS names */
  props: string[];
}
const PY_NAME: Record<string, string> = { logProb: 'log_prob', covarianceMatrix: 'covariance_matrix', precisionMatrix: 'precision_matrix', scaleTril: 'scale_tril' };
const py = (n: string) => PY_NAME[n] ?? n;
const moments = ['mean', 'variance', 'stddev'];

const cases: Case[] = [
  { name: 'normal', params: { loc: () => r(3), scale: () => pos(3) }, ts: (p) => new D.Normal(p.loc, p.scale), py: 'D.Normal(loc, scale)',
    sample: [2], rsample: [4], values: () => r(5, 3), quantiles: () => unit(3), methods: ['logProb', 'cdf', 'icdf', 'entropy'], props: [...moments, 'mode'] },
  { name: 'normal_scalar', params: {}, ts: () => new D.Normal(0.5, 2), py: 'D.Normal(0.5, 2.0)', sample: [3], values: () => r(4), methods: ['logProb', 'entropy'], props: moments },
  { name: 'lognormal', params: { loc: () => r(2), scale: () => pos(2) }, ts: (p) => new D.LogNormal(p.loc, p.scale), py: 'D.LogNormal(loc, scale)',
    sample: [3], rsample: [3], values: () => pos(4, 2), quantiles: () => unit(2), methods: ['logProb', 'cdf', 'icdf', 'entropy'], props: [...moments, 'mode'] },
  { name: 'uniform', params: { low: () => r(3), width: () => pos(3) }, ts: (p) => new D.Uniform(p.low, p.low.add(p.width)), py: 'D.Uniform(low, low + width)',
    sample: [2], rsample: [5], values: () => unit(3), quantiles: () => unit(3), methods: ['entropy', 'icdf'], props: moments },
  { name: 'exponential', params: { rate: () => pos(4) }, ts: (p) => new D.Exponential(p.rate), py: 'D.Exponential(rate)',
    sample: [2], rsample: [3], values: () => pos(3, 4), quantiles: () => unit(4), methods: ['logProb', 'cdf', 'icdf', 'entropy'], props: [...moments, 'mode'] },
  { name: 'laplace', params: { loc: () => r(3), scale: () => pos(3) }, ts: (p) => new D.Laplace(p.loc, p.scale), py: 'D.Laplace(loc, scale)',
    sample: [2], rsample: [4], values: () => r(2, 3), quantiles: () => unit(3), methods: ['logProb', 'cdf', 'icdf', 'entropy'], props: [...moments, 'mode'] },
  { name: 'gamma', params: { concentration: () => pos(4).mul(2), rate: () => pos(4) }, ts: (p) => new D.Gamma(p.concentration, p.rate), py: 'D.Gamma(concentration, rate)',
    sample: [3], rsample: [5], values: () => pos(2, 4), methods: ['logProb', 'entropy'], props: ['mean', 'variance', 'mode'] },
  { name: 'beta', params: { a: () => pos(3).mul(2), b: () => pos(3) }, ts: (p) => new D.Beta(p.a, p.b), py: 'D.Beta(a, b)',
    sample: [2], rsample: [4], values: () => unit(2, 3), methods: ['logProb', 'entropy'], props: ['mean', 'variance'] },
  { name: 'dirichlet', params: { concentration: () => pos(2, 4) }, ts: (p) => new D.Dirichlet(p.concentration), py: 'D.Dirichlet(concentration)',
    sample: [3], rsample: [2], values: () => simplex(3, 2, 4), methods: ['logProb', 'entropy'], props: ['mean', 'variance'] },
  { name: 'mvn_cov', params: { loc: () => r(2, 3), cov: () => spd(3, 3) }, ts: (p) => new D.MultivariateNormal(p.loc, { covarianceMatrix: p.cov }), py: 'D.MultivariateNormal(loc, covariance_matrix=cov)',
    sample: [2], rsample: [4], values: () => r(5, 2, 3), methods: ['logProb', 'entropy'], props: ['mean', 'variance', 'scaleTril', 'precisionMatrix'] },
  { name: 'mvn_prec', params: { loc: () => r(3), prec: () => spd(3, 3) }, ts: (p) => new D.MultivariateNormal(p.loc, { precisionMatrix: p.prec }), py: 'D.MultivariateNormal(loc, precision_matrix=prec)',
    rsample: [3], values: () => r(4, 3), methods: ['logProb', 'entropy'], props: ['variance', 'covarianceMatrix', 'scaleTril'] },
  { name: 'mvn_tril', params: { loc: () => r(3), tril: () => lowerChol(2, 3, 3) }, ts: (p) => new D.MultivariateNormal(p.loc, { scaleTril: p.tril }), py: 'D.MultivariateNormal(loc, scale_tril=tril)',
    sample: [2], rsample: [2], values: () => r(2, 3), methods: ['logProb', 'entropy'], props: ['variance', 'covarianceMatrix'] },
  { name: 'bernoulli_probs', params: { probs: () => unit(4) }, ts: (p) => new D.Bernoulli({ probs: p.probs }), py: 'D.Bernoulli(probs=probs)',
    sample: [3], values: () => ints(0, 2, 3, 4), methods: ['logProb', 'entropy'], props: ['mean', 'variance', 'logits'] },
  { name: 'bernoulli_logits', params: { logits: () => r(2, 3) }, ts: (p) => new D.Bernoulli({ logits: p.logits }), py: 'D.Bernoulli(logits=logits)',
    sample: [2], values: () => ints(0, 2, 2, 3), methods: ['logProb', 'entropy'], props: ['mean', 'probs'] },
  { name: 'categorical_probs', params: { probs: () => pos(2, 5) }, ts: (p) => new D.Categorical({ probs: p.probs }), py: 'D.Categorical(probs=probs)',
    sample: [6], values: () => ints(0, 5, 3, 2), methods: ['logProb', 'entropy'], props: ['probs', 'logits', 'mode'] },
  { name: 'categorical_logits', params: { logits: () => r(4, 3) }, ts: (p) => new D.Categorical({ logits: p.logits }), py: 'D.Categorical(logits=logits)',
    sample: [2, 3], values: () => ints(0, 3, 4), methods: ['logProb', 'entropy'], props: ['probs', 'logits'] },
  { name: 'onehot', params: { logits: () => r(5) }, ts: (p) => new D.OneHotCategorical({ logits: p.logits }), py: 'D.OneHotCategorical(logits=logits)',
    sample: [4], values: () => torch.oneHot(torch.tensor([0, 3, 4]), 5).to(f64), methods: ['logProb', 'entropy'], props: ['mean', 'variance', 'mode'] },
  { name: 'poisson', params: { rate: () => pos(4).mul(3) }, ts: (p) => new D.Poisson(p.rate), py: 'D.Poisson(rate)',
    sample: [3], values: () => ints(0, 6, 2, 4), methods: ['logProb'], props: ['mean', 'variance', 'mode'] },
  // ---- more families, and distributions built from others ----
  { name: 'cauchy', params: { loc: () => r(3), scale: () => pos(3) }, ts: (p) => new D.Cauchy(p.loc, p.scale), py: 'D.Cauchy(loc, scale)',
    sample: [2], rsample: [4], values: () => r(5, 3), quantiles: () => unit(3), methods: ['logProb', 'cdf', 'icdf', 'entropy'], props: ['mean', 'variance', 'mode'] },
  { name: 'chi2', params: { df: () => pos(4).mul(3) }, ts: (p) => new D.Chi2(p.df), py: 'D.Chi2(df)',
    sample: [3], rsample: [2], values: () => pos(2, 4), methods: ['logProb', 'entropy'], props: ['mean', 'variance', 'df'] },
  { name: 'studentt', params: { df: () => pos(4).mul(3), loc: () => r(4), scale: () => pos(4) }, ts: (p) => new D.StudentT(p.df, p.loc, p.scale), py: 'D.StudentT(df, loc, scale)',
    sample: [2], rsample: [3], values: () => r(3, 4), methods: ['logProb', 'entropy'], props: ['mean', 'variance', 'mode'] },
  { name: 'studentt_heavy', params: { df: () => torch.tensor([0.5, 1.5, 3], f64) }, ts: (p) => new D.StudentT(p.df), py: 'D.StudentT(df)',
    values: () => r(2, 3), methods: ['logProb'], props: ['mean', 'variance'] },
  { name: 'halfnormal', params: { scale: () => pos(3) }, ts: (p) => new D.HalfNormal(p.scale), py: 'D.HalfNormal(scale)',
    sample: [2], rsample: [3], values: () => pos(2, 3), quantiles: () => unit(3), methods: ['logProb', 'cdf', 'icdf', 'entropy'], props: ['mean', 'variance', 'mode'] },
  { name: 'geometric', params: { probs: () => unit(4) }, ts: (p) => new D.Geometric({ probs: p.probs }), py: 'D.Geometric(probs=probs)',
    sample: [3], values: () => ints(0, 5, 2, 4), methods: ['logProb', 'entropy'], props: ['mean', 'variance', 'mode', 'logits'] },
  { name: 'geometric_logits', params: { logits: () => r(3) }, ts: (p) => new D.Geometric({ logits: p.logits }), py: 'D.Geometric(logits=logits)',
    sample: [2], values: () => ints(0, 4, 3), methods: ['logProb', 'entropy'], props: ['mean', 'probs'] },
  { name: 'binomial', params: { n: () => ints(1, 10, 4), probs: () => unit(4) }, ts: (p) => new D.Binomial(p.n, { probs: p.probs }), py: 'D.Binomial(n, probs=probs)',
    sample: [3], values: () => ints(0, 2, 3, 4), methods: ['logProb'], props: ['mean', 'variance', 'mode', 'logits'] },
  { name: 'binomial_logits', params: { logits: () => r(2, 3) }, ts: (p) => new D.Binomial(5, { logits: p.logits }), py: 'D.Binomial(5, logits=logits)',
    sample: [2], values: () => ints(0, 6, 2, 3), methods: ['logProb'], props: ['mean', 'variance', 'probs'] },
  { name: 'multinomial', params: { probs: () => pos(2, 4) }, ts: (p) => new D.Multinomial(6, { probs: p.probs }), py: 'D.Multinomial(6, probs=probs)',
    sample: [3], values: () => torch.tensor([[1, 2, 0, 3], [0, 0, 6, 0]], f64), methods: ['logProb'], props: ['mean', 'variance'] },
  { name: 'independent', params: { loc: () => r(2, 3), scale: () => pos(2, 3) }, ts: (p) => new D.Independent(new D.Normal(p.loc, p.scale), 1), py: 'D.Independent(D.Normal(loc, scale), 1)',
    sample: [2], rsample: [3], values: () => r(4, 2, 3), methods: ['logProb', 'entropy'], props: ['mean', 'variance'] },
  { name: 'tanh_normal', params: { loc: () => r(3), scale: () => pos(3) }, ts: (p) => new D.TransformedDistribution(new D.Normal(p.loc, p.scale), [new D.TanhTransform()]),
    py: 'D.TransformedDistribution(D.Normal(loc, scale), [D.transforms.TanhTransform()])',
    sample: [2], rsample: [4], values: () => unit(2, 3).mul(2).sub(1), quantiles: () => unit(3), methods: ['logProb', 'cdf', 'icdf'], props: [] },
  { name: 'flow', params: { loc: () => r(2), scale: () => pos(2), a: () => r(2), b: () => pos(2) },
    ts: (p) => new D.TransformedDistribution(new D.Normal(p.loc, p.scale), [new D.AffineTransform(p.a, p.b), new D.SigmoidTransform(), new D.PowerTransform(2), new D.ExpTransform()]),
    py: 'D.TransformedDistribution(D.Normal(loc, scale), [D.transforms.AffineTransform(a, b), D.transforms.SigmoidTransform(), D.transforms.PowerTransform(2.0), D.transforms.ExpTransform()])',
    sample: [3], rsample: [2], values: () => unit(3, 2).add(1), quantiles: () => unit(2), methods: ['logProb', 'cdf', 'icdf'], props: [] },
  { name: 'affine_event', params: { loc: () => r(2, 3), scale: () => pos(2, 3), s: () => pos(3) },
    ts: (p) => new D.TransformedDistribution(new D.Normal(p.loc, p.scale), new D.AffineTransform(0.5, p.s, 1)),
    py: 'D.TransformedDistribution(D.Normal(loc, scale), D.transforms.AffineTransform(0.5, s, 1))',
    rsample: [2], values: () => r(4, 2, 3), methods: ['logProb'], props: [] },
  { name: 'mixture', params: { logits: () => r(3), loc: () => r(3), scale: () => pos(3) },
    ts: (p) => new D.MixtureSameFamily(new D.Categorical({ logits: p.logits }), new D.Normal(p.loc, p.scale)),
    py: 'D.MixtureSameFamily(D.Categorical(logits=logits), D.Normal(loc, scale))', sample: [4], values: () => r(5), methods: ['logProb', 'cdf'], props: ['mean', 'variance'] },
  { name: 'mixture_batched', params: { logits: () => r(2, 3), loc: () => r(2, 3, 2), scale: () => pos(2, 3, 2) },
    ts: (p) => new D.MixtureSameFamily(new D.Categorical({ logits: p.logits }), new D.Independent(new D.Normal(p.loc, p.scale), 1)),
    py: 'D.MixtureSameFamily(D.Categorical(logits=logits), D.Independent(D.Normal(loc, scale), 1))', sample: [3], values: () => r(4, 2, 2), methods: ['logProb'], props: ['mean', 'variance'] },
  // ---- families PyTorch builds from transforms, and the relaxed (Concrete) ones ----
  { name: 'gumbel', params: { loc: () => r(3), scale: () => pos(3) }, ts: (p) => new D.Gumbel(p.loc, p.scale), py: 'D.Gumbel(loc, scale)',
    sample: [2], rsample: [4], values: () => r(2, 3), quantiles: () => unit(3), methods: ['logProb', 'cdf', 'icdf', 'entropy'], props: [...moments, 'mode'] },
  { name: 'gumbel_scalar', params: {}, ts: () => new D.Gumbel(0.5, 2), py: 'D.Gumbel(0.5, 2.0)', sample: [3], values: () => r(4), methods: ['logProb', 'entropy'], props: ['mean'] },
  { name: 'weibull', params: { scale: () => pos(3), k: () => pos(3).mul(2) }, ts: (p) => new D.Weibull(p.scale, p.k), py: 'D.Weibull(scale, k)',
    sample: [2], rsample: [3], values: () => pos(2, 3), quantiles: () => unit(3), methods: ['logProb', 'cdf', 'icdf', 'entropy'], props: ['mean', 'variance', 'mode'] },
  { name: 'pareto', params: { scale: () => pos(3), alpha: () => pos(3).mul(3) }, ts: (p) => new D.Pareto(p.scale, p.alpha), py: 'D.Pareto(scale, alpha)',
    sample: [2], rsample: [3], values: () => pos(2, 3).add(1.5), quantiles: () => unit(3), methods: ['logProb', 'cdf', 'icdf', 'entropy'], props: ['mean', 'variance', 'mode'] },
  { name: 'halfcauchy', params: { scale: () => pos(3) }, ts: (p) => new D.HalfCauchy(p.scale), py: 'D.HalfCauchy(scale)',
    sample: [2], rsample: [3], values: () => pos(2, 3), quantiles: () => unit(3), methods: ['logProb', 'cdf', 'icdf', 'entropy'], props: ['mean', 'variance', 'mode'] },
  { name: 'kumaraswamy', params: { a: () => pos(3).mul(2), b: () => pos(3).mul(2) }, ts: (p) => new D.Kumaraswamy(p.a, p.b), py: 'D.Kumaraswamy(a, b)',
    sample: [2], rsample: [3], values: () => unit(2, 3), quantiles: () => unit(3), methods: ['logProb', 'cdf', 'icdf', 'entropy'], props: ['mean', 'variance', 'mode'] },
  { name: 'logisticnormal', params: { loc: () => r(2, 3), scale: () => pos(2, 3) }, ts: (p) => new D.LogisticNormal(p.loc, p.scale), py: 'D.LogisticNormal(loc, scale)',
    sample: [2], rsample: [2], values: () => simplex(3, 2, 4), methods: ['logProb'], props: ['loc', 'scale'] },
  { name: 'fishersnedecor', params: { df1: () => pos(3).mul(4), df2: () => pos(3).mul(4).add(4) }, ts: (p) => new D.FisherSnedecor(p.df1, p.df2), py: 'D.FisherSnedecor(df1, df2)',
    sample: [2], rsample: [3], values: () => pos(2, 3), methods: ['logProb'], props: ['mean', 'variance', 'mode'] },
  { name: 'negbinomial', params: { n: () => pos(4).mul(3), probs: () => unit(4) }, ts: (p) => new D.NegativeBinomial(p.n, { probs: p.probs }), py: 'D.NegativeBinomial(n, probs=probs)',
    sample: [3], values: () => ints(0, 6, 2, 4), methods: ['logProb'], props: ['mean', 'variance', 'mode', 'logits'] },
  { name: 'negbinomial_logits', params: { logits: () => r(3) }, ts: (p) => new D.NegativeBinomial(4, { logits: p.logits }), py: 'D.NegativeBinomial(4, logits=logits)',
    sample: [2], values: () => ints(0, 5, 3), methods: ['logProb'], props: ['mean', 'probs'] },
  { name: 'relaxed_bernoulli', params: { probs: () => unit(2, 3) }, ts: (p) => new D.RelaxedBernoulli(0.7, { probs: p.probs }), py: 'D.RelaxedBernoulli(torch.tensor(0.7, dtype=torch.float64), probs=probs)',
    sample: [2], rsample: [3], values: () => unit(2, 3), methods: ['logProb'], props: ['probs', 'logits', 'temperature'] },
  { name: 'relaxed_onehot', params: { logits: () => r(2, 4) }, ts: (p) => new D.RelaxedOneHotCategorical(0.5, { logits: p.logits }), py: 'D.RelaxedOneHotCategorical(torch.tensor(0.5, dtype=torch.float64), logits=logits)',
    sample: [3], rsample: [2], values: () => simplex(3, 2, 4), methods: ['logProb'], props: ['probs'] },
  { name: 'softplus_reshape', params: { loc: () => r(2, 6), scale: () => pos(2, 6) },
    ts: (p) => new D.TransformedDistribution(new D.Independent(new D.Normal(p.loc, p.scale), 1), [new D.ReshapeTransform([6], [2, 3]), new D.IndependentTransform(new D.SoftplusTransform(), 2)]),
    py: 'D.TransformedDistribution(D.Independent(D.Normal(loc, scale), 1), [D.transforms.ReshapeTransform((6,), (2, 3)), D.transforms.IndependentTransform(D.transforms.SoftplusTransform(), 2)])',
    sample: [2], rsample: [3], values: () => pos(4, 2, 2, 3), methods: ['logProb'], props: [] },
  { name: 'stickbreaking_inv', params: { c: () => pos(2, 4) },
    ts: (p) => new D.TransformedDistribution(new D.Dirichlet(p.c), [new D.StickBreakingTransform().inv, new D.AffineTransform(0.5, 2, 1)]),
    py: 'D.TransformedDistribution(D.Dirichlet(c), [D.transforms.StickBreakingTransform().inv, D.transforms.AffineTransform(0.5, 2.0, 1)])',
    rsample: [3], values: () => r(5, 2, 3), methods: ['logProb'], props: [] },
  { name: 'continuous_bernoulli', params: { probs: () => torch.tensor([0.2, 0.4995, 0.8, 0.6], f64) }, ts: (p) => new D.ContinuousBernoulli({ probs: p.probs }), py: 'D.ContinuousBernoulli(probs=probs)',
    sample: [2], rsample: [3], values: () => unit(2, 4), quantiles: () => unit(4), methods: ['logProb', 'cdf', 'icdf', 'entropy'], props: ['mean', 'variance', 'logits'] },
  { name: 'continuous_bernoulli_logits', params: { logits: () => r(3) }, ts: (p) => new D.ContinuousBernoulli({ logits: p.logits }), py: 'D.ContinuousBernoulli(logits=logits)',
    rsample: [2], values: () => unit(2, 3), methods: ['logProb', 'entropy'], props: ['mean', 'variance', 'probs'] },
  { name: 'vonmises', params: { loc: () => r(3), k: () => pos(3).mul(3) }, ts: (p) => new D.VonMises(p.loc, p.k), py: 'D.VonMises(loc, k)',
    sample: [4], values: () => r(2, 3), methods: ['logProb'], props: ['mean', 'variance'] },
  { name: 'vonmises_flat', params: { k: () => torch.tensor([0.3, 5, 12], f64) }, ts: (p) => new D.VonMises(0.5, p.k), py: 'D.VonMises(0.5, k)',
    sample: [3], values: () => r(3), methods: ['logProb'], props: ['variance'] },
  { name: 'lowrank_mvn', params: { loc: () => r(2, 3), cf: () => r(3, 2), cd: () => pos(3) }, ts: (p) => new D.LowRankMultivariateNormal(p.loc, p.cf, p.cd), py: 'D.LowRankMultivariateNormal(loc, cf, cd)',
    sample: [2], rsample: [3], values: () => r(4, 2, 3), methods: ['logProb', 'entropy'], props: ['mean', 'variance', 'covarianceMatrix', 'scaleTril', 'precisionMatrix'] },
  { name: 'onehot_straight_through', params: { logits: () => r(4) }, ts: (p) => new D.OneHotCategoricalStraightThrough({ logits: p.logits }), py: 'D.OneHotCategoricalStraightThrough(logits=logits)',
    sample: [3], rsample: [5], values: () => torch.oneHot(torch.tensor([0, 3]), 4).to(f64), methods: ['logProb', 'entropy'], props: ['mean'] },
  { name: 'lkj', params: { c: () => pos(2).mul(2) }, ts: (p) => new D.LKJCholesky(3, p.c), py: 'D.LKJCholesky(3, c)',
    sample: [2], values: () => new D.CorrCholeskyTransform().forward(r(4, 2, 3)), methods: ['logProb'], props: [] },
  { name: 'lkj_uniform', params: {}, ts: () => new D.LKJCholesky(4), py: 'D.LKJCholesky(4)', sample: [3], values: () => new D.CorrCholeskyTransform().forward(r(2, 6)), methods: ['logProb'], props: [] },
  { name: 'corr_cholesky_flow', params: { loc: () => r(3), scale: () => pos(3) },
    ts: (p) => new D.TransformedDistribution(new D.Independent(new D.Normal(p.loc, p.scale), 1), new D.CorrCholeskyTransform()),
    py: 'D.TransformedDistribution(D.Independent(D.Normal(loc, scale), 1), D.transforms.CorrCholeskyTransform())',
    rsample: [2], values: () => new D.CorrCholeskyTransform().forward(r(4, 3)), methods: ['logProb'], props: [] },
  { name: 'cat_flow', params: { loc: () => r(2, 3), scale: () => pos(2, 3) },
    ts: (p) => new D.TransformedDistribution(new D.Normal(p.loc, p.scale), new D.CatTransform([new D.ExpTransform(), new D.AffineTransform(1, 2)], -1, [1, 2])),
    py: 'D.TransformedDistribution(D.Normal(loc, scale), D.transforms.CatTransform([D.transforms.ExpTransform(), D.transforms.AffineTransform(1.0, 2.0)], -1, [1, 2]))',
    rsample: [3], values: () => unit(5, 2, 3).mul(0.5).add(0.4), methods: ['logProb'], props: [] },
  { name: 'wishart_cov', params: { df: () => torch.tensor([4.5, 6], f64), cov: () => spd(3, 3) }, ts: (p) => new D.Wishart(p.df, { covarianceMatrix: p.cov }), py: 'D.Wishart(df, covariance_matrix=cov)',
    sample: [2], values: () => spd(2, 3, 3), methods: ['logProb', 'entropy'], props: ['mean', 'variance', 'mode', 'scaleTril', 'precisionMatrix'] },
  { name: 'wishart_tril', params: { tril: () => lowerChol(3, 3) }, ts: (p) => new D.Wishart(5, { scaleTril: p.tril }), py: 'D.Wishart(5.0, scale_tril=tril)',
    sample: [4], values: () => spd(3, 3), methods: ['logProb', 'entropy'], props: ['mean', 'covarianceMatrix'] },
];

interface KlCase { name: string; params: Record<string, () => T>; ts: (p: Record<string, T>) => [torch.distributions.Distribution, torch.distributions.Distribution]; p: string; q: string }
const klCases: KlCase[] = [
  { name: 'kl_normal', params: { a: () => r(3), b: () => pos(3), c: () => r(3), d: () => pos(3) }, ts: (p) => [new D.Normal(p.a, p.b), new D.Normal(p.c, p.d)], p: 'D.Normal(a, b)', q: 'D.Normal(c, d)' },
  { name: 'kl_lognormal', params: { a: () => r(2), b: () => pos(2) }, ts: (p) => [new D.LogNormal(p.a, p.b), new D.LogNormal(0.3, 1.5)], p: 'D.LogNormal(a, b)', q: 'D.LogNormal(0.3, 1.5)' },
  { name: 'kl_bernoulli', params: { a: () => unit(4), b: () => unit(4) }, ts: (p) => [new D.Bernoulli({ probs: p.a }), new D.Bernoulli({ probs: p.b })], p: 'D.Bernoulli(probs=a)', q: 'D.Bernoulli(probs=b)' },
  { name: 'kl_categorical', params: { a: () => r(2, 4), b: () => pos(2, 4) }, ts: (p) => [new D.Categorical({ logits: p.a }), new D.Categorical({ probs: p.b })], p: 'D.Categorical(logits=a)', q: 'D.Categorical(probs=b)' },
  { name: 'kl_onehot', params: { a: () => r(3), b: () => r(3) }, ts: (p) => [new D.OneHotCategorical({ logits: p.a }), new D.OneHotCategorical({ logits: p.b })], p: 'D.OneHotCategorical(logits=a)', q: 'D.OneHotCategorical(logits=b)' },
  { name: 'kl_uniform', params: { lo: () => r(3), w: () => pos(3) }, ts: (p) => [new D.Uniform(p.lo, p.lo.add(p.w)), new D.Uniform(p.lo.sub(1), p.lo.add(p.w).add(0.5))], p: 'D.Uniform(lo, lo + w)', q: 'D.Uniform(lo - 1, lo + w + 0.5)' },
  { name: 'kl_exponential', params: { a: () => pos(3), b: () => pos(3) }, ts: (p) => [new D.Exponential(p.a), new D.Exponential(p.b)], p: 'D.Exponential(a)', q: 'D.Exponential(b)' },
  { name: 'kl_laplace', params: { a: () => r(3), b: () => pos(3), c: () => r(3), d: () => pos(3) }, ts: (p) => [new D.Laplace(p.a, p.b), new D.Laplace(p.c, p.d)], p: 'D.Laplace(a, b)', q: 'D.Laplace(c, d)' },
  { name: 'kl_gamma', params: { a: () => pos(3), b: () => pos(3), c: () => pos(3), d: () => pos(3) }, ts: (p) => [new D.Gamma(p.a, p.b), new D.Gamma(p.c, p.d)], p: 'D.Gamma(a, b)', q: 'D.Gamma(c, d)' },
  { name: 'kl_beta', params: { a: () => pos(3), b: () => pos(3), c: () => pos(3), d: () => pos(3) }, ts: (p) => [new D.Beta(p.a, p.b), new D.Beta(p.c, p.d)], p: 'D.Beta(a, b)', q: 'D.Beta(c, d)' },
  { name: 'kl_dirichlet', params: { a: () => pos(2, 3), b: () => pos(2, 3) }, ts: (p) => [new D.Dirichlet(p.a), new D.Dirichlet(p.b)], p: 'D.Dirichlet(a)', q: 'D.Dirichlet(b)' },
  { name: 'kl_poisson', params: { a: () => pos(3), b: () => pos(3) }, ts: (p) => [new D.Poisson(p.a), new D.Poisson(p.b)], p: 'D.Poisson(a)', q: 'D.Poisson(b)' },
  { name: 'kl_independent', params: { a: () => r(2, 3), b: () => pos(2, 3), c: () => r(2, 3), d: () => pos(2, 3) },
    ts: (p) => [new D.Independent(new D.Normal(p.a, p.b), 1), new D.Independent(new D.Normal(p.c, p.d), 1)], p: 'D.Independent(D.Normal(a, b), 1)', q: 'D.Independent(D.Normal(c, d), 1)' },
  { name: 'kl_halfnormal', params: { a: () => pos(3), b: () => pos(3) }, ts: (p) => [new D.HalfNormal(p.a), new D.HalfNormal(p.b)], p: 'D.HalfNormal(a)', q: 'D.HalfNormal(b)' },
  { name: 'kl_geometric', params: { a: () => unit(3), b: () => unit(3) }, ts: (p) => [new D.Geometric({ probs: p.a }), new D.Geometric({ probs: p.b })], p: 'D.Geometric(probs=a)', q: 'D.Geometric(probs=b)' },
  { name: 'kl_binomial', params: { a: () => unit(3), b: () => unit(3) },
    ts: (p) => [new D.Binomial(5, { probs: p.a }), new D.Binomial(torch.tensor([5, 5, 4], f64), { probs: p.b })], p: 'D.Binomial(5, probs=a)', q: 'D.Binomial(torch.tensor([5., 5., 4.], dtype=torch.float64), probs=b)' },
  { name: 'kl_gumbel', params: { a: () => r(3), b: () => pos(3), c: () => r(3), d: () => pos(3) }, ts: (p) => [new D.Gumbel(p.a, p.b), new D.Gumbel(p.c, p.d)], p: 'D.Gumbel(a, b)', q: 'D.Gumbel(c, d)' },
  { name: 'kl_pareto', params: { a: () => pos(3), b: () => pos(3).mul(2), c: () => pos(3), d: () => pos(3).mul(2) }, ts: (p) => [new D.Pareto(p.a, p.b), new D.Pareto(p.c, p.d)], p: 'D.Pareto(a, b)', q: 'D.Pareto(c, d)' },
  { name: 'kl_cauchy', params: { a: () => r(3), b: () => pos(3), c: () => r(3), d: () => pos(3) }, ts: (p) => [new D.Cauchy(p.a, p.b), new D.Cauchy(p.c, p.d)], p: 'D.Cauchy(a, b)', q: 'D.Cauchy(c, d)' },
  { name: 'kl_cbernoulli', params: { a: () => torch.tensor([0.2, 0.4999, 0.7], f64), b: () => unit(3) }, ts: (p) => [new D.ContinuousBernoulli({ probs: p.a }), new D.ContinuousBernoulli({ probs: p.b })], p: 'D.ContinuousBernoulli(probs=a)', q: 'D.ContinuousBernoulli(probs=b)' },
  { name: 'kl_normal_laplace', params: { a: () => r(3), b: () => pos(3), c: () => r(3), d: () => pos(3) }, ts: (p) => [new D.Normal(p.a, p.b), new D.Laplace(p.c, p.d)], p: 'D.Normal(a, b)', q: 'D.Laplace(c, d)' },
  { name: 'kl_laplace_normal', params: { a: () => r(3), b: () => pos(3), c: () => r(3), d: () => pos(3) }, ts: (p) => [new D.Laplace(p.a, p.b), new D.Normal(p.c, p.d)], p: 'D.Laplace(a, b)', q: 'D.Normal(c, d)' },
  { name: 'kl_exponential_gamma', params: { a: () => pos(3), c: () => pos(3).mul(2), d: () => pos(3) }, ts: (p) => [new D.Exponential(p.a), new D.Gamma(p.c, p.d)], p: 'D.Exponential(a)', q: 'D.Gamma(c, d)' },
  { name: 'kl_gamma_exponential', params: { a: () => pos(3).mul(2), b: () => pos(3), c: () => pos(3) }, ts: (p) => [new D.Gamma(p.a, p.b), new D.Exponential(p.c)], p: 'D.Gamma(a, b)', q: 'D.Exponential(c)' },
  { name: 'kl_exponential_normal', params: { a: () => pos(3), c: () => r(3), d: () => pos(3) }, ts: (p) => [new D.Exponential(p.a), new D.Normal(p.c, p.d)], p: 'D.Exponential(a)', q: 'D.Normal(c, d)' },
  { name: 'kl_normal_gumbel', params: { a: () => r(3), b: () => pos(3), c: () => r(3), d: () => pos(3).add(0.5) }, ts: (p) => [new D.Normal(p.a, p.b), new D.Gumbel(p.c, p.d)], p: 'D.Normal(a, b)', q: 'D.Gumbel(c, d)' },
  { name: 'kl_uniform_normal', params: { lo: () => r(3), w: () => pos(3), c: () => r(3), d: () => pos(3) }, ts: (p) => [new D.Uniform(p.lo, p.lo.add(p.w)), new D.Normal(p.c, p.d)], p: 'D.Uniform(lo, lo + w)', q: 'D.Normal(c, d)' },
  { name: 'kl_bernoulli_poisson', params: { a: () => unit(3), b: () => pos(3) }, ts: (p) => [new D.Bernoulli({ probs: p.a }), new D.Poisson(p.b)], p: 'D.Bernoulli(probs=a)', q: 'D.Poisson(b)' },
  { name: 'kl_gamma_normal', params: { a: () => pos(3).mul(2), b: () => pos(3), c: () => r(3), d: () => pos(3) }, ts: (p) => [new D.Gamma(p.a, p.b), new D.Normal(p.c, p.d)], p: 'D.Gamma(a, b)', q: 'D.Normal(c, d)' },
  { name: 'kl_uniform_exponential', params: { lo: () => torch.tensor([0.2, -0.5, 1], f64), w: () => pos(3), c: () => pos(3) }, ts: (p) => [new D.Uniform(p.lo, p.lo.add(p.w)), new D.Exponential(p.c)], p: 'D.Uniform(lo, lo + w)', q: 'D.Exponential(c)' },
  { name: 'kl_exponential_gumbel', params: { a: () => pos(3), c: () => r(3), d: () => pos(3) }, ts: (p) => [new D.Exponential(p.a), new D.Gumbel(p.c, p.d)], p: 'D.Exponential(a)', q: 'D.Gumbel(c, d)' },
  { name: 'kl_gumbel_normal', params: { a: () => r(3), b: () => pos(3), c: () => r(3), d: () => pos(3) }, ts: (p) => [new D.Gumbel(p.a, p.b), new D.Normal(p.c, p.d)], p: 'D.Gumbel(a, b)', q: 'D.Normal(c, d)' },
  { name: 'kl_gamma_gumbel', params: { a: () => pos(3).mul(2), b: () => pos(3), c: () => r(3), d: () => pos(3) }, ts: (p) => [new D.Gamma(p.a, p.b), new D.Gumbel(p.c, p.d)], p: 'D.Gamma(a, b)', q: 'D.Gumbel(c, d)' },
  { name: 'kl_pareto_exponential', params: { a: () => pos(3), b: () => torch.tensor([0.8, 2, 3], f64), c: () => pos(3) }, ts: (p) => [new D.Pareto(p.a, p.b), new D.Exponential(p.c)], p: 'D.Pareto(a, b)', q: 'D.Exponential(c)' },
  { name: 'kl_pareto_gamma', params: { a: () => pos(3), b: () => torch.tensor([0.8, 2, 3], f64), c: () => pos(3).mul(2), d: () => pos(3) }, ts: (p) => [new D.Pareto(p.a, p.b), new D.Gamma(p.c, p.d)], p: 'D.Pareto(a, b)', q: 'D.Gamma(c, d)' },
  { name: 'kl_pareto_normal', params: { a: () => pos(3), b: () => torch.tensor([1.5, 2.5, 4], f64), c: () => r(3), d: () => pos(3) }, ts: (p) => [new D.Pareto(p.a, p.b), new D.Normal(p.c, p.d)], p: 'D.Pareto(a, b)', q: 'D.Normal(c, d)' },
  { name: 'kl_uniform_gamma', params: { lo: () => torch.tensor([0.2, -0.5, 1], f64), w: () => pos(3), c: () => pos(3).mul(2), d: () => pos(3) }, ts: (p) => [new D.Uniform(p.lo, p.lo.add(p.w)), new D.Gamma(p.c, p.d)], p: 'D.Uniform(lo, lo + w)', q: 'D.Gamma(c, d)' },
  { name: 'kl_uniform_gumbel', params: { lo: () => r(3), w: () => pos(3), c: () => r(3), d: () => pos(3) }, ts: (p) => [new D.Uniform(p.lo, p.lo.add(p.w)), new D.Gumbel(p.c, p.d)], p: 'D.Uniform(lo, lo + w)', q: 'D.Gumbel(c, d)' },
  { name: 'kl_uniform_pareto', params: { lo: () => torch.tensor([0.6, 1.5, 2], f64), w: () => pos(3), c: () => pos(3), d: () => pos(3).mul(2) }, ts: (p) => [new D.Uniform(p.lo, p.lo.add(p.w)), new D.Pareto(p.c, p.d)], p: 'D.Uniform(lo, lo + w)', q: 'D.Pareto(c, d)' },
  { name: 'kl_uniform_beta', params: { lo: () => torch.tensor([0.1, 0.3, -0.2], f64), w: () => torch.tensor([0.5, 0.4, 0.6], f64), c: () => pos(3).mul(2), d: () => pos(3).mul(2) }, ts: (p) => [new D.Uniform(p.lo, p.lo.add(p.w)), new D.Beta(p.c, p.d)], p: 'D.Uniform(lo, lo + w)', q: 'D.Beta(c, d)' },
  { name: 'kl_beta_uniform', params: { a: () => pos(3).mul(2), b: () => pos(3).mul(2), lo: () => torch.tensor([-0.5, 0.1, -1], f64), w: () => torch.tensor([2, 2, 0.5], f64) }, ts: (p) => [new D.Beta(p.a, p.b), new D.Uniform(p.lo, p.lo.add(p.w))], p: 'D.Beta(a, b)', q: 'D.Uniform(lo, lo + w)' },
  { name: 'kl_beta_exponential', params: { a: () => pos(3).mul(2), b: () => pos(3).mul(2), c: () => pos(3) }, ts: (p) => [new D.Beta(p.a, p.b), new D.Exponential(p.c)], p: 'D.Beta(a, b)', q: 'D.Exponential(c)' },
  { name: 'kl_beta_gamma', params: { a: () => pos(3).mul(2), b: () => pos(3).mul(2), c: () => pos(3).mul(2), d: () => pos(3) }, ts: (p) => [new D.Beta(p.a, p.b), new D.Gamma(p.c, p.d)], p: 'D.Beta(a, b)', q: 'D.Gamma(c, d)' },
  { name: 'kl_beta_normal', params: { a: () => pos(3).mul(2), b: () => pos(3).mul(2), c: () => r(3), d: () => pos(3) }, ts: (p) => [new D.Beta(p.a, p.b), new D.Normal(p.c, p.d)], p: 'D.Beta(a, b)', q: 'D.Normal(c, d)' },
  { name: 'kl_lowrank_mvn', params: { a: () => r(2, 3), w: () => r(3, 2), d: () => pos(3), c: () => r(3), v: () => r(2, 3, 1), e: () => pos(2, 3) },
    ts: (p) => [new D.LowRankMultivariateNormal(p.a, p.w, p.d), new D.LowRankMultivariateNormal(p.c, p.v, p.e)], p: 'D.LowRankMultivariateNormal(a, w, d)', q: 'D.LowRankMultivariateNormal(c, v, e)' },
  { name: 'kl_mvn_lowrank', params: { a: () => r(2, 3), s: () => spd(3, 3), c: () => r(3), v: () => r(3, 2), e: () => pos(3) },
    ts: (p) => [new D.MultivariateNormal(p.a, { covarianceMatrix: p.s }), new D.LowRankMultivariateNormal(p.c, p.v, p.e)], p: 'D.MultivariateNormal(a, covariance_matrix=s)', q: 'D.LowRankMultivariateNormal(c, v, e)' },
  { name: 'kl_lowrank_to_mvn', params: { a: () => r(3), w: () => r(2, 3, 2), d: () => pos(3), c: () => r(3), t: () => lowerChol(3, 3) },
    ts: (p) => [new D.LowRankMultivariateNormal(p.a, p.w, p.d), new D.MultivariateNormal(p.c, { scaleTril: p.t })], p: 'D.LowRankMultivariateNormal(a, w, d)', q: 'D.MultivariateNormal(c, scale_tril=t)' },
  { name: 'kl_beta_cb', params: { a: () => pos(3).mul(2), b: () => pos(3).mul(2), c: () => torch.tensor([0.2, 0.4999, 0.8], f64) }, ts: (p) => [new D.Beta(p.a, p.b), new D.ContinuousBernoulli({ probs: p.c })], p: 'D.Beta(a, b)', q: 'D.ContinuousBernoulli(probs=c)' },
  { name: 'kl_uniform_cb', params: { lo: () => torch.tensor([0.1, 0.3, 0], f64), w: () => torch.tensor([0.5, 0.4, 0.6], f64), c: () => unit(3) }, ts: (p) => [new D.Uniform(p.lo, p.lo.add(p.w)), new D.ContinuousBernoulli({ probs: p.c })], p: 'D.Uniform(lo, lo + w)', q: 'D.ContinuousBernoulli(probs=c)' },
  { name: 'kl_cb_exponential', params: { a: () => unit(3), c: () => pos(3) }, ts: (p) => [new D.ContinuousBernoulli({ probs: p.a }), new D.Exponential(p.c)], p: 'D.ContinuousBernoulli(probs=a)', q: 'D.Exponential(c)' },
  { name: 'kl_cb_normal', params: { a: () => torch.tensor([0.2, 0.4999, 0.8], f64), c: () => r(3), d: () => pos(3) }, ts: (p) => [new D.ContinuousBernoulli({ probs: p.a }), new D.Normal(p.c, p.d)], p: 'D.ContinuousBernoulli(probs=a)', q: 'D.Normal(c, d)' },
  { name: 'kl_cb_uniform', params: { a: () => unit(3), lo: () => torch.tensor([-0.5, 0.2, -1], f64), w: () => torch.tensor([2, 2, 1.5], f64) }, ts: (p) => [new D.ContinuousBernoulli({ probs: p.a }), new D.Uniform(p.lo, p.lo.add(p.w))], p: 'D.ContinuousBernoulli(probs=a)', q: 'D.Uniform(lo, lo + w)' },
  { name: 'kl_transformed', params: { a: () => r(3), b: () => pos(3), c: () => r(3), d: () => pos(3), s: () => pos(3) },
    ts: (p) => [new D.TransformedDistribution(new D.Normal(p.a, p.b), [new D.AffineTransform(1, p.s), new D.TanhTransform()]), new D.TransformedDistribution(new D.Normal(p.c, p.d), [new D.AffineTransform(1, p.s.clone()), new D.TanhTransform()])],
    p: 'D.TransformedDistribution(D.Normal(a, b), [D.transforms.AffineTransform(1.0, s), D.transforms.TanhTransform()])', q: 'D.TransformedDistribution(D.Normal(c, d), [D.transforms.AffineTransform(1.0, s.clone()), D.transforms.TanhTransform()])' },
  { name: 'kl_mvn', params: { a: () => r(2, 3), s: () => spd(3, 3), c: () => r(3), t: () => lowerChol(2, 3, 3) },
    ts: (p) => [new D.MultivariateNormal(p.a, { covarianceMatrix: p.s }), new D.MultivariateNormal(p.c, { scaleTril: p.t })], p: 'D.MultivariateNormal(a, covariance_matrix=s)', q: 'D.MultivariateNormal(c, scale_tril=t)' },
];

const inputs = new Map<string, T>();
let want: Map<string, T>;
beforeAll(() => {
  torch.manualSeed(3);
  const add = (k: string, t: T) => inputs.set(k, torch.keep(t));
  for (const c of cases) {
    for (const [k, make] of Object.entries(c.params)) add(`${c.name}.${k}`, make());
    if (c.values) add(`${c.name}.values`, c.values());
    if (c.quantiles) add(`${c.name}.quantiles`, c.quantiles());
  }
  for (const c of klCases) for (const [k, make] of Object.entries(c.params)) add(`${c.name}.${k}`, make());
  const specs = {
    cases: cases.map((c) => ({ name: c.name, py: c.py, params: Object.keys(c.params), sample: c.sample ?? null, rsample: c.rsample ?? null, methods: c.methods.map(py), props: c.props.map(py) })),
    kl: klCases.map((c) => ({ name: c.name, p: c.p, q: c.q, params: Object.keys(c.params) })),
  };
  want = referenceTensors('distributions_ref.py', inputs, specs);
}, 120_000);

function close(a: T, b: T, what: string, tol = 1e-10): void {
  expect([what, a.shape]).toEqual([what, b.shape]);
  const e = torch.tidy(() => {
    const fa = a.to(f64), fb = b.to(f64);
    // inf and nan where PyTorch has them; relative error elsewhere
    const same = fa.eq(fb).logicalOr(fa.isnan().logicalAnd(fb.isnan()));
    const diff = fa.sub(fb).abs().maskedFill(same, 0);
    return (diff.max().item() as number) / Math.max(fb.maskedFill(fb.isfinite().logicalNot(), 0).abs().max().item() as number, 1);
  });
  if (!(e <= tol)) throw new Error(`${what}: off by ${e}`);
}
const leaves = (name: string, params: Record<string, unknown>) =>
  Object.fromEntries(Object.keys(params).map((k) => {
    const v = inputs.get(`${name}.${k}`)!.clone();
    return [k, v.dtype === 'float64' ? v.requiresGrad_(true) : v];
  }));
function checkGrads(name: string, what: string, y: T, p: Record<string, T>): void {
  const w = want.get(`${name}.${what}.w`)!;
  const ks = Object.keys(p).filter((k) => p[k].requiresGrad);
  expect(y.requiresGrad).toBe(ks.length > 0);
  if (!ks.length) return;
  const gs = torch.autograd.grad(y.mul(w).sum(), ks.map((k) => p[k]), { allowUnused: true, retainGraph: true });
  ks.forEach((k, j) => {
    const theirs = want.get(`${name}.grad_${what}.${k}`);
    if (!theirs) expect([k, gs[j]]).toEqual([k, null]);
    else close(gs[j]!, theirs, `${name} d${what}/d${k}`);
  });
}

describe.each(cases.map((c) => [c.name, c] as const))('%s as PyTorch\'s', (name, c) => {
  test('samples from the same seed, rsample gradients, log_prob (and its gradients), cdf, icdf, entropy, moments', () => {
    torch.tidy(() => {
      const p = leaves(name, c.params);
      const d = c.ts(p);
      if (c.sample) {
        torch.manualSeed(SEED);
        const s = d.sample(c.sample);
        expect(s.requiresGrad).toBe(false);
        close(s, want.get(`${name}.sample`)!, `${name}.sample`, 1e-12);
      }
      if (c.rsample) {
        torch.manualSeed(SEED + 1);
        const x = d.rsample(c.rsample);
        close(x, want.get(`${name}.rsample`)!, `${name}.rsample`, 1e-12);
        checkGrads(name, 'rsample', x, p);
      } else if (!d.hasRsample) {
        expect(() => d.rsample()).toThrow(/has no rsample/);
      }
      for (const m of c.methods) {
        const y = m === 'entropy' ? d.entropy() : m === 'icdf' ? d.icdf(inputs.get(`${name}.quantiles`)!) : d[m](inputs.get(`${name}.values`)!);
        close(y, want.get(`${name}.${py(m)}`)!, `${name}.${m}`);
        if (m === 'logProb') checkGrads(name, 'log_prob', y, p);
      }
      for (const prop of c.props) close((d as unknown as Record<string, T>)[prop], want.get(`${name}.${py(prop)}`)!, `${name}.${prop}`);
    });
  });
});

test.each(klCases.map((c) => [c.name, c] as const))('%s: KL divergence and its gradients as PyTorch\'s', (name, c) => {
  torch.tidy(() => {
    const p = leaves(name, c.params);
    const [a, b] = c.ts(p);
    const kl = D.klDivergence(a, b);
    close(kl, want.get(`${name}.kl`)!, `${name}.kl`);
    checkGrads(name, 'kl', kl, p);
  });
});

test('bad parameters and values are PyTorch\'s errors; an unregistered KL pair says so', () => {
  torch.tidy(() => {
    expect(() => new D.Normal(torch.zeros([2]), torch.tensor([1, -1]))).toThrow(/Expected parameter scale \(Tensor of shape \[2\]\) of distribution Normal\(loc: torch.Size\(\[2\]\), scale: torch.Size\(\[2\]\)\) to satisfy the constraint GreaterThan\(lower_bound=0.0\)/);
    expect(() => new D.Normal(0, torch.tensor([1, -1]), { validateArgs: false })).not.toThrow();
    expect(() => new D.Bernoulli({ probs: 0.5, logits: 0 } as never)).toThrow('Bernoulli: either probs or logits must be specified, but not both');
    expect(() => new D.Categorical({ probs: torch.tensor([0.5, -0.1, 0.6]) })).toThrow(/to satisfy the constraint Simplex\(\)/);
    expect(() => new D.Uniform(1, 1)).toThrow('Uniform is not defined when low>= high');
    expect(() => new D.MultivariateNormal(torch.zeros([2]), { covarianceMatrix: torch.tensor([[1, 2], [2, 1]], f64) })).toThrow(/PositiveDefinite/);
    expect(() => new D.MultivariateNormal(torch.zeros([2]), {} as never)).toThrow(/exactly one of covarianceMatrix, precisionMatrix or scaleTril/);
    const n = new D.Normal(torch.zeros([3]), torch.ones([3]));
    expect(() => n.logProb(torch.zeros([2]))).toThrow('Value is not broadcastable with batchShape+eventShape: [2] vs [3].');
    expect(() => new D.Exponential(2).logProb(torch.tensor(-1))).toThrow(/to be within the support \(GreaterThanEq\(lower_bound=0.0\)\)/);
    expect(() => new D.Categorical({ logits: torch.zeros([3]) }).logProb(torch.tensor(3))).toThrow(/IntegerInterval\(lower_bound=0, upper_bound=2\)/);
    expect(() => D.klDivergence(n, new D.Cauchy(0, 1))).toThrow('klDivergence: no KL divergence registered for Normal and Cauchy (registerKl adds one)');
    D.registerKl(D.Normal, D.Cauchy, () => torch.tensor(42));
    expect(D.klDivergence(n, new D.Cauchy(0, 1)).item()).toBe(42);
    expect(n.batchShape).toEqual([3]);
    expect(new D.Dirichlet(torch.ones([2, 4])).eventShape).toEqual([4]);
    expect(String(new D.Normal(0, 1))).toBe('Normal(loc: tensor(0.), scale: tensor(1.))');
    expect(() => new D.Independent(new D.Normal(0, 1), 1)).toThrow('Expected reinterpretedBatchNdims <= baseDist.batchShape.length, actual 1 vs 0');
    expect(() => new D.MixtureSameFamily(new D.Categorical({ logits: torch.zeros([2]) }), new D.Normal(torch.zeros([3]), torch.ones([3])))).toThrow('The Mixture distribution component (2) does not equal the componentDistribution.batchShape[-1] (3)');
    expect(() => new D.Multinomial(2.5, { probs: torch.ones([3]) })).toThrow(/inhomogeneous totalCount is not supported/);
    expect(() => new D.Geometric({ probs: torch.tensor([0.5, 0]) })).toThrow(/Expected parameter probs \(Tensor of shape \[2\]\) of distribution Geometric\(probs: torch.Size\(\[2\]\)\) to be positive but found invalid values/);
    expect(() => new D.TransformedDistribution(new D.Normal(0, 1), [{} as never])).toThrow('transforms must be a Transform or a list of Transforms');
    expect(() => new D.Gumbel(torch.zeros([2]), torch.tensor([1, 0]))).toThrow(/Expected parameter scale \(Tensor of shape \[2\]\) of distribution Gumbel\(loc: torch.Size\(\[2\]\), scale: torch.Size\(\[2\]\)\) to satisfy the constraint GreaterThan\(lower_bound=0.0\)/);
    expect(() => new D.NegativeBinomial(3, {} as never)).toThrow('NegativeBinomial: either probs or logits must be specified, but not both');
    expect(() => new D.NegativeBinomial(3, { probs: torch.tensor([0.5, 1]) })).toThrow(/HalfOpenInterval\(lower_bound=0.0, upper_bound=1.0\)/);
    expect(() => new D.Pareto(2, 1).logProb(torch.tensor([1.5]))).toThrow(/to be within the support \(GreaterThanEq\(lower_bound=scale\)\)/);
    expect(() => new D.ReshapeTransform([6], [4])).toThrow('in_shape, out_shape have different numbers of elements');
    expect(new D.ExpTransform().inv.inv).toBeInstanceOf(D.ExpTransform);
    expect(() => D.klDivergence(new D.TransformedDistribution(new D.Normal(0, 1), new D.TanhTransform()), new D.TransformedDistribution(new D.Normal(0, 1), new D.ExpTransform()))).toThrow(/only when their transforms are the same/);
    expect([new D.AffineTransform(1, 2).equals(new D.AffineTransform(1, 2)), new D.ExpTransform().inv.equals(new D.ExpTransform().inv), new D.PowerTransform(2).equals(new D.PowerTransform(3))]).toEqual([true, true, false]);
    expect(() => new D.TransformedDistribution(new D.Normal(0, 1), new D.TanhTransform()).logProb(torch.tensor(1.5))).toThrow(/to be within the support \(Interval\(lower_bound=-1.0, upper_bound=1.0\)\)/);
  });
});

test('a policy-gradient step with a Categorical: sample, log_prob, entropy bonus, as a PyTorch user writes it', () => {
  torch.manualSeed(0);
  const policy = new torch.nn.Linear(4, 3);
  const opt = new torch.optim.Adam(policy.parameters(), { lr: 0.1 });
  const state = torch.keep(torch.randn([8, 4]));
  const rewardOf = (a: T) => a.eq(2).to({ dtype: 'float32' }); // action 2 is the good one
  const meanReward = () => torch.tidy(() => torch.noGrad(() => new D.Categorical({ logits: policy.forward(state) }).probs.select(-1, 2).mean().item() as number));
  const before = meanReward();
  for (let step = 0; step < 30; step++) {
    torch.tidy(() => {
      const dist = new D.Categorical({ logits: policy.forward(state) });
      const action = dist.sample();
      const loss = dist.logProb(action).mul(rewardOf(action)).neg().mean().sub(dist.entropy().mean().mul(0.01));
      opt.zeroGrad();
      loss.backward();
      opt.step();
    });
  }
  expect(meanReward()).toBeGreaterThan(Math.max(before, 0.8));
  state.dispose();
  policy.dispose();
});

test('F.gumbelSoftmax draws PyTorch\'s samples after the same seed (soft and hard), with its straight-through gradients', () => {
  const logits = [[0.5, -1, 2, 0.1], [1.5, 0.2, -0.3, 0.0]];
  const r = require('child_process').spawnSync('/usr/bin/python3', ['-c', `
import json, sys, torch
import torch.nn.functional as F
x = torch.tensor(json.loads(sys.argv[1]), dtype=torch.float64, requires_grad=True)
torch.manual_seed(0)
soft = F.gumbel_softmax(x, tau=0.5)
hard = F.gumbel_softmax(x, hard=True)
w = torch.arange(8, dtype=torch.float64).reshape(2, 4)
((soft + hard) * w).sum().backward()
print(json.dumps([soft.tolist(), hard.tolist(), x.grad.tolist()]))`, JSON.stringify(logits)], { encoding: 'utf8' });
  expect(r.status).toBe(0);
  const [soft, hard, grad] = JSON.parse(r.stdout) as number[][][];
  torch.tidy(() => {
    const x = torch.tensor(logits, { dtype: 'float64' }).requiresGrad_();
    torch.manualSeed(0);
    const s = torch.nn.functional.gumbelSoftmax(x, { tau: 0.5 });
    const h = torch.nn.functional.gumbelSoftmax(x, { hard: true });
    s.add(h).mul(torch.arange(8).reshape([2, 4]).to({ dtype: 'float64' })).sum().backward();
    const near = (a: number[][], b: number[][]) => a.every((row, i) => row.every((v, j) => Math.abs(v - b[i][j]) < 1e-12));
    expect(near(s.tolist() as number[][], soft)).toBe(true);
    expect(h.tolist()).toEqual(hard);
    expect(near(x.grad!.tolist() as number[][], grad)).toBe(true);
  });
});

test('StackTransform and CatTransform on their own, and CorrCholeskyTransform round trips, as PyTorch\'s', () => {
  const want = pythonJson(`
import json, torch
import torch.distributions.transforms as T
torch.manual_seed(4)
x = torch.randn(2, 4, 3, dtype=torch.float64)
st = T.StackTransform([T.SigmoidTransform(), T.ExpTransform(), T.AffineTransform(1.0, -2.0), T.TanhTransform()], dim=1)
ct = T.CatTransform([T.ExpTransform(), T.SigmoidTransform()], dim=2, lengths=[2, 1])
y1, y2 = st(x), ct(x)
cc = T.CorrCholeskyTransform()
v = torch.randn(5, 6, dtype=torch.float64)
L = cc(v)
print(json.dumps({"x": x.tolist(), "v": v.tolist(), "st": [y1.tolist(), st.inv(y1).tolist(), st.log_abs_det_jacobian(x, y1).tolist()],
  "ct": [y2.tolist(), ct.inv(y2).tolist(), ct.log_abs_det_jacobian(x, y2).tolist()], "cc": [L.tolist(), cc.inv(L).tolist(), cc.log_abs_det_jacobian(v, L).tolist()]}))`);
  torch.tidy(() => {
    const T = torch.distributions;
    const x = torch.tensor(want.x, { dtype: 'float64' }), v = torch.tensor(want.v, { dtype: 'float64' });
    const st = new T.StackTransform([new T.SigmoidTransform(), new T.ExpTransform(), new T.AffineTransform(1, -2), new T.TanhTransform()], 1);
    const ct = new T.CatTransform([new T.ExpTransform(), new T.SigmoidTransform()], 2, [2, 1]);
    const cc = new T.CorrCholeskyTransform();
    const check = (got: torch.Tensor[], w: number[][]) => got.forEach((g, k) => torch.testing.assertClose(g, torch.tensor(w[k] as never, { dtype: 'float64' }), { rtol: 1e-10, atol: 1e-12 }));
    const y1 = st.forward(x), y2 = ct.forward(x), L = cc.forward(v);
    check([y1, st.inverse(y1), st.logAbsDetJacobian(x, y1)], want.st);
    check([y2, ct.inverse(y2), ct.logAbsDetJacobian(x, y2)], want.ct);
    check([L, cc.inverse(L), cc.logAbsDetJacobian(v, L)], want.cc);
    // rows of a correlation matrix's Cholesky factor have unit norm
    torch.testing.assertClose(L.norm(2, -1), torch.ones([5, 4], { dtype: 'float64' }));
    expect(() => new T.CatTransform([new T.ExpTransform()], 0).forward(torch.zeros([3]))).toThrow(/lengths' total 1/);
  });
});

test('KL pairs where q has no density on part of p\'s support are infinite, as PyTorch\'s', () => {
  const want = pythonJson<string[][]>(`
import json, torch
import torch.distributions as D
pairs = [(D.Normal(torch.zeros(2), torch.ones(2)), D.Uniform(-1.0, 1.0)), (D.Poisson(torch.ones(3)), D.Bernoulli(probs=0.3)), (D.Gamma(2.0, 1.0), D.Beta(2.0, 2.0)),
         (D.Laplace(0.0, 1.0), D.Exponential(1.0)), (D.Exponential(torch.ones(2)), D.Pareto(1.0, 2.0))]
print(json.dumps([[str(v) for v in D.kl_divergence(p, q).flatten().tolist()] for p, q in pairs]))`);
  torch.tidy(() => {
    const got = [D.klDivergence(new D.Normal(torch.zeros([2]), torch.ones([2])), new D.Uniform(-1, 1)), D.klDivergence(new D.Poisson(torch.ones([3])), new D.Bernoulli({ probs: 0.3 })),
      D.klDivergence(new D.Gamma(2, 1), new D.Beta(2, 2)), D.klDivergence(new D.Laplace(0, 1), new D.Exponential(1)), D.klDivergence(new D.Exponential(torch.ones([2])), new D.Pareto(1, 2))];
    expect(got.map((t) => (t.flatten().tolist() as number[]).map((v) => (v === Infinity ? 'inf' : String(v))))).toEqual(want);
  });
});

test('probs / logits by position, as PyTorch code passes them (Categorical(p), Bernoulli(None, logits), Binomial(10, p), ...), against PyTorch', () => {
  const want = pythonJson<number[][]>(`
import json, torch
from torch.distributions import *
d = torch.float64
p3 = torch.tensor([0.2, 0.3, 0.5], dtype=d); lg = torch.tensor([0.4, -1.2], dtype=d)
out = [Categorical(p3).log_prob(torch.tensor([0, 2])), Bernoulli(None, lg).probs, Binomial(10, torch.tensor(0.3, dtype=d)).log_prob(torch.tensor(3., dtype=d)),
       Geometric(torch.tensor(0.2, dtype=d), None, True).log_prob(torch.tensor(3., dtype=d)), OneHotCategorical(None, lg).entropy(),
       Multinomial(5, p3).log_prob(torch.tensor([1., 2., 2.], dtype=d)), NegativeBinomial(torch.tensor(3., dtype=d), None, lg).log_prob(torch.tensor(2., dtype=d)),
       ContinuousBernoulli(torch.tensor(0.3, dtype=d), None, (0.4, 0.6)).log_prob(torch.tensor(0.2, dtype=d)), RelaxedBernoulli(torch.tensor(0.5, dtype=d), torch.tensor(0.3, dtype=d)).log_prob(torch.tensor(0.4, dtype=d)),
       RelaxedOneHotCategorical(torch.tensor(0.7, dtype=d), p3).log_prob(torch.tensor([0.1, 0.3, 0.6], dtype=d)), Bernoulli(probs=torch.tensor(0.25, dtype=d)).entropy()]
print(json.dumps([o.reshape(-1).tolist() for o in out]))`);
  torch.tidy(() => {
    const p3 = torch.tensor([0.2, 0.3, 0.5], f64), lg = torch.tensor([0.4, -1.2], f64);
    const s = (v: number) => torch.tensor(v, f64);
    const got = [new D.Categorical(p3).logProb(torch.tensor([0, 2])), new D.Bernoulli(null, lg).probs, new D.Binomial(10, s(0.3)).logProb(s(3)),
      new D.Geometric(s(0.2), null, true).logProb(s(3)), new D.OneHotCategorical(null, lg).entropy(),
      new D.Multinomial(5, p3).logProb(torch.tensor([1, 2, 2], f64)), new D.NegativeBinomial(s(3), null, lg).logProb(s(2)),
      new D.ContinuousBernoulli(s(0.3), null, [0.4, 0.6]).logProb(s(0.2)), new D.RelaxedBernoulli(s(0.5), s(0.3)).logProb(s(0.4)),
      new D.RelaxedOneHotCategorical(s(0.7), p3).logProb(torch.tensor([0.1, 0.3, 0.6], f64)), new D.Bernoulli({ probs: s(0.25) }).entropy()];
    got.forEach((g, k) => {
      const flat = g.reshape([-1]).tolist() as number[];
      expect([k, flat.length]).toEqual([k, want[k].length]);
      flat.forEach((v, j) => expect([k, Math.abs(v - want[k][j]) < 1e-12]).toEqual([k, true]));
    });
    // the object form with its options, and the errors of either form
    expect(new D.Categorical({ logits: lg }, { validateArgs: false }).logits.shape).toEqual([2]);
    expect(() => new D.Bernoulli(s(0.3), lg)).toThrow('Bernoulli: either probs or logits must be specified, but not both');
    expect(() => new D.Categorical(null)).toThrow('Categorical: either probs or logits must be specified, but not both');
    expect(() => new D.Categorical({ logits: lg }, { validate_args: true } as object)).toThrow(/Categorical: unknown option 'validate_args' \(did you mean validateArgs\?\)/);
    expect(() => new D.Bernoulli(s(0.3), null, false, 5 as never)).toThrow(/Bernoulli: 4 arguments after its required ones, but it takes at most 3 \(probs, logits, validateArgs\)/);
  });
});

test('validateArgs by position (PyTorch\'s validate_args) or by name; a misspelt option is an error, not quietly ignored', () => {
  const want = pythonJson<boolean[]>(`
import json, torch
from torch.distributions import *
def raises(f):
    try:
        f()
        return False
    except ValueError:
        return True
print(json.dumps([raises(lambda: Normal(0., -1., False)), raises(lambda: Normal(0., -1., True)), raises(lambda: Gamma(-1., 1., False)), raises(lambda: Poisson(torch.tensor(-1.), False))]))`);
  const raises = (f: () => unknown) => { try { f(); return false; } catch { return true; } };
  torch.tidy(() => {
    expect([raises(() => new D.Normal(0, -1, false)), raises(() => new D.Normal(0, -1, true)), raises(() => new D.Gamma(-1, 1, false)), raises(() => new D.Poisson(torch.tensor(-1), false))]).toEqual(want);
    expect(() => new D.Normal(0, -1, { validateArgs: true })).toThrow(/scale/);
    expect(() => new D.Normal(0, 1, { validate_args: true } as object)).toThrow(/Normal: unknown option 'validate_args' \(did you mean validateArgs\?\)/);
    expect(() => new D.HalfNormal(1, { validate: false } as object)).toThrow(/unknown option 'validate' \(it takes scale, validateArgs\)/);
  });
});
