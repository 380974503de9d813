// torch.optim.Adadelta, Rprop and ASGD with PyTorch's exact updates (their single-tensor paths,
// op for op), state names and defaults.
import { Tensor } from '../tensor/tensor';
import { zerosLike, fullLike, full } from '../tensor/creation';
import { Groups, ImplementationFlags, PositionalOr, optimizerOptions } from './groups';
import { Optimizer, ParamState, checkRange, checkCommon } from './optimizer';

const ascent = (grad: Tensor, maximize: boolean) => (maximize ? grad.neg() : grad);

export interface AdadeltaOptions {
  /** scales the update (default 1: Adadelta needs no learning rate) */
  lr?: number;
  /** smoothing of the squared-gradient and squared-update averages */
  rho?: number;
  eps?: number;
  weightDecay?: number;
  maximize?: boolean;
}
/** torch.optim.Adadelta (defaults lr 1, rho 0.9, eps 1e-6): steps sized by the ratio of the RMS update to the RMS gradient. */
export class Adadelta extends Optimizer<AdadeltaOptions> {
  /** PyTorch's torch.optim.Adadelta(params, lr, rho, eps, weightDecay), or an options object after params (or after the positional ones) */
  constructor(params: Groups<AdadeltaOptions>, ...args: PositionalOr<[lr?: number, rho?: number, eps?: number, weightDecay?: number], AdadeltaOptions & ImplementationFlags>) {
    const [defaults] = optimizerOptions<AdadeltaOptions>('Adadelta', args, ['lr', 'rho', 'eps', 'weightDecay'], { extra: ['maximize'] });
    super('Adadelta', params, { lr: 1, rho: 0.9, eps: 1e-6, weightDecay: 0, maximize: false, ...defaults }, (g) => {
      checkCommon('Adadelta', g);
      checkRange('Adadelta', 'rho value', g.rho, g.rho >= 0 && g.rho <= 1);
    });
  }
  protected initState(p: Tensor) {
    return { square_avg: zerosLike(p), acc_delta: zerosLike(p) };
  }
  protected update(p: Tensor, grad0: Tensor, s: ParamState, g: Required<AdadeltaOptions>): void {
    let grad = ascent(grad0, g.maximize);
    if (g.weightDecay !== 0) grad = grad.add(p, g.weightDecay);
    const squareAvg = s.tensors.square_avg.mul_(g.rho).addcmul_(grad, grad, 1 - g.rho);
    const std = squareAvg.add(g.eps).sqrt_();
    const delta = s.tensors.acc_delta.add(g.eps).sqrt_().div_(std).mul_(grad);
    s.tensors.acc_delta.mul_(g.rho).addcmul_(delta, delta, 1 - g.rho);
    p.add_(delta, -g.lr);
  }
}

export interface RpropOptions {
  /** the first step size */
  lr?: number;
  /** [shrink, grow]: a step size's factor when the gradient's sign flips, or keeps */
  etas?: [number, number];
  /** [min, max] step size */
  stepSizes?: [number, number];
  maximize?: boolean;
}
/** torch.optim.Rprop (defaults lr 0.01, etas [0.5, 1.2], stepSizes [1e-6, 50]): sign-based steps, each parameter's own size. */
export class Rprop extends Optimizer<RpropOptions> {
  /** PyTorch's torch.optim.Rprop(params, lr, etas, stepSizes), or an options object after params (or after the positional ones) */
  constructor(params: Groups<RpropOptions>, ...args: PositionalOr<[lr?: number, etas?: [number, number], stepSizes?: [number, number]], RpropOptions & ImplementationFlags>) {
    const [defaults] = optimizerOptions<RpropOptions>('Rprop', args, ['lr', 'etas', 'stepSizes'], { extra: ['maximize'] });
    super('Rprop', params, { lr: 1e-2, etas: [0.5, 1.2], stepSizes: [1e-6, 50], maximize: false, ...defaults }, (g) => {
      checkCommon('Rprop', g);
      if (!(g.etas[0] > 0 && g.etas[0] < 1 && g.etas[1] > 1)) throw new Error(`Rprop: invalid eta values: ${g.etas[0]}, ${g.etas[1]}`);
    });
  }
  protected initState(p: Tensor, g: Required<RpropOptions>) {
    return { prev: zerosLike(p), step_size: fullLike(p, g.lr) };
  }
  protected update(p: Tensor, grad0: Tensor, s: ParamState, g: Required<RpropOptions>): void {
    const [etaminus, etaplus] = g.etas;
    const grad = ascent(grad0, g.maximize);
    const product = grad.mul(s.tensors.prev).sign();
    // the sign becomes the step size's factor: grow where it kept, shrink where it flipped, 1 at zero
    const factor = fullLike(product, 1).maskedFill(product.gt(0), etaplus).maskedFill(product.lt(0), etaminus);
    s.tensors.step_size.mul_(factor).clamp_(g.stepSizes[0], g.stepSizes[1]);
    // where the sign flipped, no step now and no memory of the gradient
    const kept = grad.maskedFill(factor.eq(etaminus), 0);
    p.addcmul_(kept.sign(), s.tensors.step_size, -1);
    s.tensors.prev.copy_(kept);
  }
}

export interface ASGDOptions {
  lr?: number;
  /** decay term */
  lambd?: number;
  /** power for the step size's decay */
  alpha?: number;
  /** the step at which averaging starts */
  t0?: number;
  weightDecay?: number;
  maximize?: boolean;
}
/**
 * torch.optim.ASGD (defaults lr 0.01, lambd 1e-4, alpha 0.75, t0 1e6): SGD with a decaying step
 * and, from step t0 on, a running average of the parameters (state `ax`).
 */
export class ASGD extends Optimizer<ASGDOptions> {
  /** PyTorch's torch.optim.ASGD(params, lr, lambd, alpha, t0, weightDecay), or an options object after params (or after the positional ones) */
  constructor(params: Groups<ASGDOptions>, ...args: PositionalOr<[lr?: number, lambd?: number, alpha?: number, t0?: number, weightDecay?: number], ASGDOptions & ImplementationFlags>) {
    const [defaults] = optimizerOptions<ASGDOptions>('ASGD', args, ['lr', 'lambd', 'alpha', 't0', 'weightDecay'], { extra: ['maximize'] });
    super('ASGD', params, { lr: 1e-2, lambd: 1e-4, alpha: 0.75, t0: 1e6, weightDecay: 0, maximize: false, ...defaults }, (g) => {
      checkCommon('ASGD', g);
    });
  }
  protected initState(p: Tensor, g: Required<ASGDOptions>) {
    // eta and mu are float32 scalars in PyTorch too: their rounding is part of the update
    return { eta: full([], g.lr, { dtype: 'float32' }), mu: full([], 1, { dtype: 'float32' }), ax: zerosLike(p) };
  }
  protected update(p: Tensor, grad0: Tensor, s: ParamState, g: Required<ASGDOptions>): void {
    let grad = ascent(grad0, g.maximize);
    const step = s.step;
    if (g.weightDecay !== 0) grad = grad.add(p, g.weightDecay);
    const eta = s.tensors.eta.item() as number;
    p.mul_(1 - g.lambd * eta);
    p.add_(grad, -eta);
    const mu = s.tensors.mu.item() as number;
    if (mu !== 1) s.tensors.ax.add_(p.sub(s.tensors.ax).mul(mu));
    else s.tensors.ax.copy_(p);
    s.tensors.eta.fill_(g.lr / Math.pow(1 + g.lambd * g.lr * step, g.alpha));
    s.tensors.mu.fill_(1 / Math.max(1, step - g.t0));
  }
}
