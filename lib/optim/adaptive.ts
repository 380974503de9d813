// torch.optim.RMSprop, Adagrad, Adamax, NAdam and RAdam with PyTorch's exact updates (their
// single-tensor paths, op for op), state names and defaults.
import { Tensor } from '../tensor/tensor';
import { zerosLike, fullLike, tensor } from '../tensor/creation';
import { sparseCooTensor } from '../tensor/sparse';
import { Groups, ImplementationFlags, PositionalOr, optimizerOptions } from './groups';
import { Optimizer, ParamState, checkRange, checkCommon } from './optimizer';

const ascent = (grad: Tensor, maximize: boolean) => (maximize ? grad.neg() : grad);
const withDecay = (grad: Tensor, p: Tensor, weightDecay: number) => (weightDecay !== 0 ? grad.add(p, weightDecay) : grad);

export interface RMSpropOptions {
  lr?: number;
  /** smoothing of the squared-gradient average */
  alpha?: number;
  eps?: number;
  weightDecay?: number;
  momentum?: number;
  /** normalize by the gradient's estimated variance (the mean's square taken out) */
  centered?: boolean;
  maximize?: boolean;
}
/** torch.optim.RMSprop (defaults lr 0.01, alpha 0.99, eps 1e-8). */
export class RMSprop extends Optimizer<RMSpropOptions> {
  /** PyTorch's torch.optim.RMSprop(params, lr, alpha, eps, weightDecay, momentum, centered), or an options object after params (or after the positional ones) */
  constructor(params: Groups<RMSpropOptions>, ...args: PositionalOr<[lr?: number, alpha?: number, eps?: number, weightDecay?: number, momentum?: number, centered?: boolean], RMSpropOptions & ImplementationFlags>) {
    const [defaults] = optimizerOptions<RMSpropOptions>('RMSprop', args, ['lr', 'alpha', 'eps', 'weightDecay', 'momentum', 'centered'], { extra: ['maximize'] });
    super('RMSprop', params, { lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false, maximize: false, ...defaults }, (g) => {
      checkCommon('RMSprop', g);
      checkRange('RMSprop', 'momentum value', g.momentum, g.momentum >= 0);
      checkRange('RMSprop', 'alpha value', g.alpha, g.alpha >= 0);
    });
  }
  protected initState(p: Tensor, g: Required<RMSpropOptions>) {
    const s: Record<string, Tensor> = { square_avg: zerosLike(p) };
    if (g.momentum > 0) s.momentum_buffer = zerosLike(p);
    if (g.centered) s.grad_avg = zerosLike(p);
    return s;
  }
  protected update(p: Tensor, grad0: Tensor, s: ParamState, g: Required<RMSpropOptions>): void {
    const grad = withDecay(ascent(grad0, g.maximize), p, g.weightDecay);
    const squareAvg = s.tensors.square_avg.mul_(g.alpha).addcmul_(grad, grad, 1 - g.alpha);
    let avg: Tensor;
    if (g.centered) {
      const gradAvg = s.tensors.grad_avg.mul_(g.alpha).add_(grad, 1 - g.alpha);
      avg = squareAvg.addcmul(gradAvg, gradAvg, -1).sqrt_();
    } else {
      avg = squareAvg.sqrt();
    }
    avg.add_(g.eps);
    if (g.momentum > 0) {
      const buf = s.tensors.momentum_buffer.mul_(g.momentum).addcdiv_(grad, avg);
      p.add_(buf, -g.lr);
    } else {
      p.addcdiv_(grad, avg, -g.lr);
    }
  }
}

export interface AdagradOptions {
  lr?: number;
  /** the step size shrinks as lr / (1 + (step - 1) * lrDecay) */
  lrDecay?: number;
  weightDecay?: number;
  initialAccumulatorValue?: number;
  eps?: number;
  maximize?: boolean;
}
/** torch.optim.Adagrad (defaults lr 0.01, eps 1e-10). */
export class Adagrad extends Optimizer<AdagradOptions> {
  /** PyTorch's torch.optim.Adagrad(params, lr, lrDecay, weightDecay, initialAccumulatorValue, eps), or an options object after params (or after the positional ones) */
  constructor(params: Groups<AdagradOptions>, ...args: PositionalOr<[lr?: number, lrDecay?: number, weightDecay?: number, initialAccumulatorValue?: number, eps?: number], AdagradOptions & ImplementationFlags>) {
    const [defaults] = optimizerOptions<AdagradOptions>('Adagrad', args, ['lr', 'lrDecay', 'weightDecay', 'initialAccumulatorValue', 'eps'], { extra: ['maximize'] });
    super('Adagrad', params, { lr: 1e-2, lrDecay: 0, weightDecay: 0, initialAccumulatorValue: 0, eps: 1e-10, maximize: false, ...defaults }, (g) => {
      checkCommon('Adagrad', g);
      checkRange('Adagrad', 'lr_decay value', g.lrDecay, g.lrDecay >= 0);
      checkRange('Adagrad', 'initial_accumulator_value value', g.initialAccumulatorValue, g.initialAccumulatorValue >= 0);
    });
  }
  protected readonly takesSparseGrads = true;
  protected initState(p: Tensor, g: Required<AdagradOptions>) {
    return { sum: fullLike(p, g.initialAccumulatorValue) };
  }
  protected update(p: Tensor, grad0: Tensor, s: ParamState, g: Required<AdagradOptions>): void {
    const clr = g.lr / (1 + (s.step - 1) * g.lrDecay);
    if (grad0.isSparse) {
      // PyTorch's sparse Adagrad: the sum and the parameter change on the gradient's rows only
      if (g.weightDecay !== 0) throw new Error('Adagrad: weight_decay option is not compatible with sparse gradients');
      const grad = ascent(grad0, g.maximize).coalesce();
      const indices = grad.indices({ raw: true }), values = grad.values({ raw: true }), size = grad.shape;
      const sparse = (v: Tensor) => sparseCooTensor(indices, v, size);
      s.tensors.sum.add_(sparse(values.pow(2)));
      const std = s.tensors.sum.sparseMask(grad).values({ raw: true }).sqrt_().add_(g.eps);
      p.add_(sparse(values.div(std)), -clr);
      return;
    }
    const grad = withDecay(ascent(grad0, g.maximize), p, g.weightDecay);
    const sum = s.tensors.sum.addcmul_(grad, grad, 1);
    p.addcdiv_(grad, sum.sqrt().add_(g.eps), -clr);
  }
}

export interface AdamaxOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  maximize?: boolean;
}
/** torch.optim.Adamax: Adam with the infinity norm (defaults lr 0.002). */
export class Adamax extends Optimizer<AdamaxOptions> {
  /** PyTorch's torch.optim.Adamax(params, lr, betas, eps, weightDecay), or an options object after params (or after the positional ones) */
  constructor(params: Groups<AdamaxOptions>, ...args: PositionalOr<[lr?: number, betas?: [number, number], eps?: number, weightDecay?: number], AdamaxOptions & ImplementationFlags>) {
    const [defaults] = optimizerOptions<AdamaxOptions>('Adamax', args, ['lr', 'betas', 'eps', 'weightDecay'], { extra: ['maximize'] });
    super('Adamax', params, { lr: 2e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, maximize: false, ...defaults }, (g) => {
      checkCommon('Adamax', g);
    });
  }
  protected initState(p: Tensor) {
    return { exp_avg: zerosLike(p), exp_inf: zerosLike(p) };
  }
  protected update(p: Tensor, grad0: Tensor, s: ParamState, g: Required<AdamaxOptions>): void {
    const [beta1, beta2] = g.betas;
    const grad = withDecay(ascent(grad0, g.maximize), p, g.weightDecay);
    const expAvg = s.tensors.exp_avg.mul_(beta1).add_(grad, 1 - beta1);
    const expInf = s.tensors.exp_inf;
    expInf.copy_(expInf.mul_(beta2).maximum(grad.abs().add_(g.eps)));
    p.addcdiv_(expAvg, expInf, -g.lr / (1 - beta1 ** s.step));
  }
}

export interface NAdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  /** how fast the momentum schedule mu_t approaches beta1 */
  momentumDecay?: number;
}
/** torch.optim.NAdam: Adam with Nesterov momentum (defaults lr 0.002, momentumDecay 0.004). */
export class NAdam extends Optimizer<NAdamOptions> {
  /** PyTorch's torch.optim.NAdam(params, lr, betas, eps, weightDecay, momentumDecay, decoupledWeightDecay), or an options object after params (or after the positional ones) */
  constructor(params: Groups<NAdamOptions>, ...args: PositionalOr<[lr?: number, betas?: [number, number], eps?: number, weightDecay?: number, momentumDecay?: number, decoupledWeightDecay?: false], NAdamOptions & ImplementationFlags>) {
    const [defaults] = optimizerOptions<NAdamOptions>('NAdam', args, ['lr', 'betas', 'eps', 'weightDecay', 'momentumDecay', 'decoupledWeightDecay'], { fixed: { decoupledWeightDecay: false, maximize: false } });
    super('NAdam', params, { lr: 2e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, momentumDecay: 4e-3, ...defaults }, (g) => {
      checkCommon('NAdam', g);
      checkRange('NAdam', 'momentum_decay value', g.momentumDecay, g.momentumDecay >= 0);
    });
  }
  protected initState(p: Tensor) {
    // mu_product is a float32 scalar tensor in PyTorch too: its rounding is part of the update.
    return { exp_avg: zerosLike(p), exp_avg_sq: zerosLike(p), mu_product: tensor(1, { dtype: 'float32', device: p.device }) };
  }
  protected update(p: Tensor, grad0: Tensor, s: ParamState, g: Required<NAdamOptions>): void {
    const [beta1, beta2] = g.betas;
    const step = s.step;
    const grad = withDecay(grad0, p, g.weightDecay);
    const bc2 = 1 - beta2 ** step;
    const mu = beta1 * (1 - 0.5 * 0.96 ** (step * g.momentumDecay));
    const muNext = beta1 * (1 - 0.5 * 0.96 ** ((step + 1) * g.momentumDecay));
    const muProduct = s.tensors.mu_product.mul_(mu);
    const muProductNext = muProduct.mul(mu).mul(muNext);
    s.tensors.exp_avg.mul_(beta1).add_(grad, 1 - beta1);
    s.tensors.exp_avg_sq.mul_(beta2).addcmul_(grad, grad, 1 - beta2);
    const denom = s.tensors.exp_avg_sq.div(bc2).sqrt().add_(g.eps);
    p.addcdiv_(grad, denom, (-g.lr * (1 - mu)) / (1 - (muProduct.item() as number)));
    p.addcdiv_(s.tensors.exp_avg, denom, (-g.lr * muNext) / (1 - (muProductNext.item() as number)));
  }
}

export interface RAdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}
/** torch.optim.RAdam: Adam with the variance of the adaptive rate rectified (plain momentum SGD for the first steps). */
export class RAdam extends Optimizer<RAdamOptions> {
  /** PyTorch's torch.optim.RAdam(params, lr, betas, eps, weightDecay, decoupledWeightDecay), or an options object after params (or after the positional ones) */
  constructor(params: Groups<RAdamOptions>, ...args: PositionalOr<[lr?: number, betas?: [number, number], eps?: number, weightDecay?: number, decoupledWeightDecay?: false], RAdamOptions & ImplementationFlags>) {
    const [defaults] = optimizerOptions<RAdamOptions>('RAdam', args, ['lr', 'betas', 'eps', 'weightDecay', 'decoupledWeightDecay'], { fixed: { decoupledWeightDecay: false, maximize: false } });
    super('RAdam', params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, ...defaults }, (g) => {
      checkCommon('RAdam', g);
    });
  }
  protected initState(p: Tensor) {
    return { exp_avg: zerosLike(p), exp_avg_sq: zerosLike(p) };
  }
  protected update(p: Tensor, grad0: Tensor, s: ParamState, g: Required<RAdamOptions>): void {
    const [beta1, beta2] = g.betas;
    const step = s.step;
    const bc1 = 1 - beta1 ** step, bc2 = 1 - beta2 ** step;
    const grad = withDecay(grad0, p, g.weightDecay);
    const expAvg = s.tensors.exp_avg.mul_(beta1).add_(grad, 1 - beta1);
    const expAvgSq = s.tensors.exp_avg_sq.mul_(beta2).addcmul_(grad, grad, 1 - beta2);
    const corrected = expAvg.div(bc1);
    const rhoInf = 2 / (1 - beta2) - 1;
    const rhoT = rhoInf - (2 * step * beta2 ** step) / bc2;
    if (rhoT > 5) {
      const rect = Math.sqrt(((rhoT - 4) * (rhoT - 2) * rhoInf) / ((rhoInf - 4) * (rhoInf - 2) * rhoT));
      // (Python's scalar / tensor is tensor.reciprocal() * scalar)
      const adaptiveLr = expAvgSq.sqrt().add_(g.eps).reciprocal().mul(Math.sqrt(bc2));
      p.add_(corrected.mul(g.lr).mul(adaptiveLr).mul(rect), -1);
    } else {
      p.add_(corrected.mul(g.lr), -1);
    }
  }
}
