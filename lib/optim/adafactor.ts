// Adafactor (Shazeer & Stern, 2018) with the update of transformers.Adafactor, the optimizer behind
// Hugging Face's `optim="adafactor"`. Its memory saving: a matrix's squared-gradient average is
// kept as one row vector and one column vector (their outer product, normalised, stands in for
// the full matrix); vectors keep the full average. The update is clipped to an RMS of
// clipThreshold, and the step size is either the given lr or, with relativeStep, min(1e-2,
// 1/sqrt(step)) (warmupInit: min(1e-6·step, 1/sqrt(step))); scaleParameter multiplies it by the
// parameter's RMS (at least eps[1]).
import { Tensor } from '../tensor/tensor';
import { zerosLike, zeros } from '../tensor/creation';
import { Groups, ImplementationFlags, PositionalOr, optimizerOptions } from './groups';
import { Optimizer, ParamState, checkRange } from './optimizer';

export interface AdafactorOptions {
  /** the external step size; null (the default) needs relativeStep */
  lr?: number | null;
  /** [added to the squared gradient, the least parameter scale]; default [1e-30, 1e-3] */
  eps?: [number, number];
  /** the update's RMS is clipped to this (default 1) */
  clipThreshold?: number;
  /** the squared-gradient average's decay is 1 - step^decayRate (default -0.8) */
  decayRate?: number;
  /** first-moment smoothing; null (the default) keeps no first moment */
  beta1?: number | null;
  /** L2 penalty, applied as p -= weightDecay·lr·p (default 0) */
  weightDecay?: number;
  /** multiply the step size by the parameter's RMS (default true) */
  scaleParameter?: boolean;
  /** a time-dependent step size instead of lr (default true) */
  relativeStep?: boolean;
  /** with relativeStep, start the step size at 1e-6 and grow it linearly (default false) */
  warmupInit?: boolean;
}

const rms = (t: Tensor) => t.norm().div(Math.sqrt(t.numel()));

/**
 * transformers.Adafactor: its defaults, state names (exp_avg_sq_row / _col, exp_avg_sq, exp_avg)
 * and update, op for op. (Not PyTorch 2.5's torch.optim.Adafactor, whose update differs; libtorch
 * 1.13 has none. This is the one Hugging Face's Trainer uses for optim="adafactor".)
 */
export class Adafactor extends Optimizer<AdafactorOptions> {
  /** transformers.Adafactor(params, lr, eps, clipThreshold, decayRate, beta1, weightDecay, scaleParameter, relativeStep, warmupInit), or an options object after params */
  constructor(params: Groups<AdafactorOptions>,
    ...args: PositionalOr<[lr?: number | null, eps?: [number, number], clipThreshold?: number, decayRate?: number, beta1?: number | null, weightDecay?: number, scaleParameter?: boolean, relativeStep?: boolean, warmupInit?: boolean], AdafactorOptions & ImplementationFlags>) {
    const [defaults] = optimizerOptions<AdafactorOptions>('Adafactor', args, ['lr', 'eps', 'clipThreshold', 'decayRate', 'beta1', 'weightDecay', 'scaleParameter', 'relativeStep', 'warmupInit']);
    const d: Required<AdafactorOptions> = {
      lr: null, eps: [1e-30, 1e-3], clipThreshold: 1, decayRate: -0.8, beta1: null, weightDecay: 0,
      scaleParameter: true, relativeStep: true, warmupInit: false, ...defaults,
    };
    super('Adafactor', params, d, (g) => {
      if (g.lr !== null && g.relativeStep) throw new Error('Adafactor: a manual lr and relativeStep cannot be combined (pass relativeStep: false, and scaleParameter: false for a plain external lr)');
      if (g.lr === null && !g.relativeStep) throw new Error('Adafactor: relativeStep: false needs an lr');
      if (g.warmupInit && !g.relativeStep) throw new Error('Adafactor: warmupInit needs relativeStep');
      if (g.lr !== null) checkRange('Adafactor', 'learning rate', g.lr, g.lr >= 0);
      checkRange('Adafactor', 'clip threshold', g.clipThreshold, g.clipThreshold > 0);
      checkRange('Adafactor', 'weight_decay value', g.weightDecay, g.weightDecay >= 0);
      if (g.beta1 !== null) checkRange('Adafactor', 'beta1', g.beta1, g.beta1 >= 0 && g.beta1 < 1);
    });
  }

  /** A matrix (2 or more dims) keeps factored row and column averages. */
  private static factored(p: Tensor): boolean {
    return p.dim() >= 2;
  }

  protected initState(p: Tensor, g: Required<AdafactorOptions>): Record<string, Tensor> {
    const s: Record<string, Tensor> = {};
    if (g.beta1 !== null) s.exp_avg = zerosLike(p);
    if (Adafactor.factored(p)) {
      const shape = p.shape;
      s.exp_avg_sq_row = zeros(shape.slice(0, -1), { dtype: p.dtype, device: p.device });
      s.exp_avg_sq_col = zeros([...shape.slice(0, -2), shape[shape.length - 1]], { dtype: p.dtype, device: p.device });
    } else {
      s.exp_avg_sq = zerosLike(p);
    }
    return s;
  }

  /** The step size of a parameter at its state's step, given its RMS (transformers' _get_lr). */
  static stepSize(g: Required<AdafactorOptions>, step: number, paramRms: number): number {
    let rel = g.lr ?? 0;
    if (g.relativeStep) rel = Math.min(g.warmupInit ? 1e-6 * step : 1e-2, 1 / Math.sqrt(step));
    const scale = g.scaleParameter ? Math.max(g.eps[1], paramRms) : 1;
    return scale * rel;
  }

  protected update(p: Tensor, grad: Tensor, s: ParamState, g: Required<AdafactorOptions>): void {
    const lr = Adafactor.stepSize(g, s.step, g.scaleParameter ? (rms(p).item() as number) : 0);
    const beta2t = 1 - s.step ** g.decayRate;
    let update = grad.pow(2).add_(g.eps[0]);
    if (s.tensors.exp_avg_sq_row) {
      const row = s.tensors.exp_avg_sq_row.mul_(beta2t).add_(update.mean(-1), 1 - beta2t);
      const col = s.tensors.exp_avg_sq_col.mul_(beta2t).add_(update.mean(-2), 1 - beta2t);
      // the full average, approximated: row/mean(row) ⊗ col, and its inverse square root
      const rFactor = row.div(row.mean(-1, true)).rsqrt_().unsqueeze(-1);
      const cFactor = col.unsqueeze(-2).rsqrt();
      update = rFactor.mul(cFactor).mul_(grad);
    } else {
      update = s.tensors.exp_avg_sq.mul_(beta2t).add_(update, 1 - beta2t).rsqrt().mul_(grad);
    }
    update.div_(rms(update).div_(g.clipThreshold).clamp_(1));
    update.mul_(lr);
    if (g.beta1 !== null) update = s.tensors.exp_avg.mul_(g.beta1).add_(update, 1 - g.beta1);
    if (g.weightDecay !== 0) p.add_(p, -g.weightDecay * lr);
    p.sub_(update);
  }
}
