// torch.distributions: probability distributions with sampling (rsample where gradients flow
// through the draw), log-probabilities, entropy and KL divergences, as PyTorch's.
export { Distribution, constraints, broadcastShapes } from './distribution';
export type { Constraint, Param, Shape } from './distribution';
export { Normal, LogNormal, Uniform, Exponential, Laplace, Gamma, Beta, Dirichlet, MultivariateNormal, Cauchy, Chi2, StudentT } from './continuous';
export { Bernoulli, Categorical, OneHotCategorical, Poisson, Geometric, Binomial, Multinomial } from './discrete';
export { Independent, TransformedDistribution, HalfNormal, MixtureSameFamily } from './transformed';
/** torch.distributions.transforms: invertible maps with their log-determinants. */
export * as transforms from './transforms';
export { Transform, ExpTransform, PowerTransform, SigmoidTransform, TanhTransform, AffineTransform, ComposeTransform } from './transforms';
export { klDivergence, registerKl } from './kl';
