// torch.nn.utils: gradient clipping, as clip_grad_norm_.
import { Tensor, _id as id, _wrap as wrap } from '../tensor/tensor';
import { native } from '../tensor/native';
import { tidy } from '../tensor/scope';

/**
 * Scales the gradients so their global 2-norm is at most maxNorm; returns the norm before
 * clipping (a number). total = ||(||g_i||)_i||, coef = min(1, maxNorm / (total + 1e-6)).
 */
export function clipGradNorm(params: Tensor[], maxNorm: number, normType = 2): number {
  return tidy(() => clipGradNormTensor(params, maxNorm, normType).item() as number);
}

/**
 * clipGradNorm returning the total norm as a 0-d tensor, as torch's clip_grad_norm_ does: on
 * CUDA nothing waits for the device, so the next kernels queue up behind this step's.
 */
export function clipGradNormTensor(params: Tensor[], maxNorm: number, normType = 2): Tensor {
  return tidy(() => {
    const ids = params.map(id);
    const total = wrap(native.gradNorm(ids, normType));
    const coef = total.add(1e-6).reciprocal().mul(maxNorm).clamp(null, 1);
    native.scaleGrads(ids, id(coef));
    return total;
  });
}

/** The global gradient norm without clipping. */
export function gradNorm(params: Tensor[], normType = 2): number {
  return tidy(() => wrap(native.gradNorm(params.map(id), normType)).item() as number);
}
