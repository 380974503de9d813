// torch.distributions: probability distributions with sampling (rsample where gradients flow
// through the draw), log-probabilities, entropy and KL divergences, as PyTorch's.
export { Distribution, constraints, broadcastShapes } from './distribution';
export type { Constraint, Param, Shape } from './distribution';
export { Normal, LogNormal, Uniform, Exponential, Laplace, Gamma, Beta, Dirichlet, MultivariateNormal } from './continuous';
export { Bernoulli, Categorical, OneHotCategorical, Poisson } from './discrete';
export { klDivergence, registerKl } from './kl';
