// torch.nn.utils: gradient clipping (clip_grad_norm_, clip_grad_value_) and parameters as one vector.
import { Tensor, _id as id, _wrap as wrap } from '../tensor/tensor';
import { native } from '../tensor/native';
import { tidy } from '../tensor/scope';
import { cat } from '../tensor/ops';
import { noGrad } from '../tensor/runtime';

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

/** pad_sequence (also in nn.utils.rnn, with the packing functions). */
export { padSequence } from './packed';

/** Clamps every gradient to [-clipValue, clipValue] in place (clip_grad_value_). */
export function clipGradValue(params: Tensor[], clipValue: number): void {
  if (!(clipValue >= 0)) throw new Error(`clipGradValue: clipValue must be >= 0, got ${clipValue}`);
  for (const p of params) {
    const g = p.grad;
    if (!g) continue;
    g.clamp_(-clipValue, clipValue);
    g.dispose();
  }
}

/** The parameters flattened and joined into one vector (parameters_to_vector). */
export function parametersToVector(params: Tensor[]): Tensor {
  return tidy(() => cat(params.map((p) => p.detach().reshape([-1]))));
}

/** Copies consecutive slices of vec into the parameters, in place (vector_to_parameters). */
export function vectorToParameters(vec: Tensor, params: Tensor[]): void {
  const total = params.reduce((s, p) => s + p.numel(), 0);
  if (vec.ndim !== 1 || vec.numel() !== total) throw new Error(`vectorToParameters: vec must be 1-D with ${total} elements (the parameters' count), got [${vec.shape}]`);
  tidy(() => noGrad(() => {
    let offset = 0;
    for (const p of params) {
      const n = p.numel();
      p.copy_(vec.narrow(0, offset, n).view(p.shape));
      offset += n;
    }
  }));
}

/** torch.nn.utils.rnn: PackedSequence, packPaddedSequence, padPackedSequence, packSequence, padSequence. */
export * as rnn from './packed';
