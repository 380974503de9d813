// torch.optim.SparseAdam: Adam for sparse gradients (an nn.Embedding with sparse: true). Only the
// rows that appear in a step's gradient have their moments and values updated; PyTorch's
// arithmetic, operation by operation.
import { Tensor } from '../tensor/tensor';
import { zerosLike } from '../tensor/creation';
import { sparseCooTensor } from '../tensor/sparse';
import { Optimizer, ParamState } from './optimizer';
import { Groups, ImplementationFlags, PositionalOr, optimizerOptions } from './groups';

export interface SparseAdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  /** ascend instead of descend */
  maximize?: boolean;
}

export class SparseAdam extends Optimizer<SparseAdamOptions> {
  /** PyTorch's torch.optim.SparseAdam(params, lr, betas, eps), or an options object after params (or after the positional ones) */
  constructor(params: Groups<SparseAdamOptions>, ...args: PositionalOr<[lr?: number, betas?: [number, number], eps?: number], SparseAdamOptions & ImplementationFlags>) {
    const [defaults] = optimizerOptions<SparseAdamOptions>('SparseAdam', args, ['lr', 'betas', 'eps'], { extra: ['maximize'] });
    super('SparseAdam', params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, maximize: false, ...defaults }, (g) => {
      if (!(g.lr > 0)) throw new Error(`SparseAdam: invalid learning rate: ${g.lr}`);
      if (!(g.eps > 0)) throw new Error(`SparseAdam: invalid epsilon value: ${g.eps}`);
      if (!(g.betas[0] >= 0 && g.betas[0] < 1)) throw new Error(`SparseAdam: invalid beta parameter at index 0: ${g.betas[0]}`);
      if (!(g.betas[1] >= 0 && g.betas[1] < 1)) throw new Error(`SparseAdam: invalid beta parameter at index 1: ${g.betas[1]}`);
    });
    this.paramGroups.forEach((g, gi) => g.params.forEach((p, i) => {
      if (p.isSparse) throw new Error(`SparseAdam: sparse param at [${gi}, ${i}]: SparseAdam requires dense parameter tensors`);
    }));
  }
  protected readonly takesSparseGrads = true;
  protected initState(p: Tensor) {
    return { exp_avg: zerosLike(p), exp_avg_sq: zerosLike(p) };
  }
  protected update(p: Tensor, grad0: Tensor, s: ParamState, g: Required<SparseAdamOptions>): void {
    if (!grad0.isSparse) throw new Error('SparseAdam does not support dense gradients, please consider Adam instead');
    const [beta1, beta2] = g.betas;
    const grad = (g.maximize ? grad0.neg() : grad0).coalesce(); // the update is not linear: each index once
    const indices = grad.indices({ raw: true }), values = grad.values({ raw: true }), size = grad.shape;
    const sparse = (v: Tensor) => sparseCooTensor(indices, v, size);
    const { exp_avg: expAvg, exp_avg_sq: expAvgSq } = s.tensors;
    // old <- b · old + (1 - b) · new, as old += (1 - b) · (new - old), on the gradient's rows only
    const oldExpAvg = expAvg.sparseMask(grad).values({ raw: true });
    const expAvgUpdate = values.sub(oldExpAvg).mul_(1 - beta1);
    expAvg.add_(sparse(expAvgUpdate));
    const oldExpAvgSq = expAvgSq.sparseMask(grad).values({ raw: true });
    const expAvgSqUpdate = values.pow(2).sub_(oldExpAvgSq).mul_(1 - beta2);
    expAvgSq.add_(sparse(expAvgSqUpdate));
    const numer = expAvgUpdate.add_(oldExpAvg);
    const denom = expAvgSqUpdate.add_(oldExpAvgSq).sqrt_().add_(g.eps);
    const stepSize = (g.lr * Math.sqrt(1 - beta2 ** s.step)) / (1 - beta1 ** s.step);
    p.add_(sparse(numer.div_(denom).mul(-stepSize)));
  }
}
