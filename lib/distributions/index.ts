// torch.distributions: probability distributions with sampling (rsample where gradients flow
// through the draw), log-probabilities, entropy and KL divergences, as PyTorch's.
export { Distribution, constraints, broadcastShapes } from './distribution';
export type { Constraint, Param, Shape } from './distribution';
export { Normal, LogNormal, Uniform, Exponential, Laplace, Gamma, Beta, Dirichlet, MultivariateNormal, Cauchy, Chi2, StudentT, FisherSnedecor, VonMises, LowRankMultivariateNormal, LKJCholesky, Wishart } from './continuous';
export { Bernoulli, Categorical, OneHotCategorical, Poisson, Geometric, Binomial, Multinomial, NegativeBinomial, OneHotCategoricalStraightThrough, ContinuousBernoulli } from './discrete';
export {
  Independent, TransformedDistribution, HalfNormal, MixtureSameFamily, Gumbel, Weibull, Pareto, HalfCauchy, Kumaraswamy, LogisticNormal,
  LogitRelaxedBernoulli, RelaxedBernoulli, ExpRelaxedCategorical, RelaxedOneHotCategorical,
} from './transformed';
/** torch.distributions.transforms: invertible maps with their log-determinants. */
export * as transforms from './transforms';
export {
  Transform, ExpTransform, PowerTransform, SigmoidTransform, TanhTransform, AffineTransform, ComposeTransform, InverseTransform, AbsTransform, SoftplusTransform,
  SoftmaxTransform, StickBreakingTransform, LowerCholeskyTransform, CumulativeDistributionTransform, ReshapeTransform, IndependentTransform, CatTransform, StackTransform, CorrCholeskyTransform,
} from './transforms';
export { klDivergence, registerKl } from './kl';
