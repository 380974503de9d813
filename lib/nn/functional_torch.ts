// The torch namespace's own forms of torch.nn.functional's functions (torch.conv2d,
// torch.layer_norm, torch.dropout, ...), which PyTorch code calls as often as F's. Most take what
// F's take; where PyTorch's torch.* order differs from F's (embedding: the weight first;
// batch_norm and instance_norm: weight and bias before the running statistics, every argument
// given; rrelu: positional) these follow torch.*'s, so that a call ported from Python means the
// same here.
import type { Tensor } from '../tensor/tensor';
import type { Generator } from '../tensor/generator';
import * as F from './functional';

export {
  conv1d, conv2d, conv3d, convTranspose1d, convTranspose2d, convTranspose3d,
  maxPool1d, maxPool2d, maxPool3d, avgPool1d, adaptiveAvgPool1d,
  layerNorm, groupNorm, cosineSimilarity, pairwiseDistance, pixelShuffle, pixelUnshuffle, channelShuffle,
  celu, selu, threshold, bilinear,
} from './functional';
/** torch.adaptive_max_pool1d(input, outputSize): values and indices, as PyTorch's (a tuple there). */
export { adaptiveMaxPool1dWithIndices as adaptiveMaxPool1d } from './functional';

// The in-place forms torch also has (torch.selu_(x), torch.threshold_(x, threshold, value), ...): x overwritten and returned.
export { selu_, celu_, threshold_ } from './functional';
/** torch.rrelu_(input, lower = 1/8, upper = 1/3, training = false, generator = null). */
export const rrelu_ = (input: Tensor, lower = 1 / 8, upper = 1 / 3, training = false, generator: Generator | null = null): Tensor =>
  F.rrelu_(input, { lower, upper, training, generator: generator ?? undefined });
/** torch.dropout_(input, p, train). */
export const dropout_ = (input: Tensor, p: number, train: boolean): Tensor => F.dropout(input, { p, training: train, inplace: true });
/** torch.alpha_dropout_(input, p, train). */
export const alphaDropout_ = (input: Tensor, p: number, train: boolean): Tensor => F.alphaDropout(input, { p, training: train, inplace: true });
/** torch.feature_alpha_dropout_(input, p, train). */
export const featureAlphaDropout_ = (input: Tensor, p: number, train: boolean): Tensor => F.featureAlphaDropout(input, { p, training: train, inplace: true });

/** torch.dropout(input, p, train): train given, as PyTorch's torch.dropout asks. */
export const dropout = (input: Tensor, p: number, train: boolean): Tensor => F.dropout(input, p, train);
/** torch.alpha_dropout(input, p, train). */
export const alphaDropout = (input: Tensor, p: number, train: boolean): Tensor => F.alphaDropout(input, p, train);
/** torch.feature_alpha_dropout(input, p, train). */
export const featureAlphaDropout = (input: Tensor, p: number, train: boolean): Tensor => F.featureAlphaDropout(input, p, train);

/** torch.embedding(weight, indices, paddingIdx = -1, scaleGradByFreq = false, sparse = false): F.embedding with the weight first; -1: no padding row. */
export function embedding(weight: Tensor, indices: Tensor, paddingIdx = -1, scaleGradByFreq = false, sparse = false): Tensor {
  // (aten's -1 means none; F's negatives count from the end, so no other negative is passed on)
  if (paddingIdx < -1) throw new Error(`torch.embedding: paddingIdx is a row of the weight, or -1 for none (F.embedding counts negatives from the end), got ${paddingIdx}`);
  return F.embedding(indices, weight, { paddingIdx: paddingIdx === -1 ? null : paddingIdx, scaleGradByFreq, sparse });
}

/**
 * torch.batch_norm(input, weight, bias, runningMean, runningVar, training, momentum, eps,
 * cudnnEnabled): F.batchNorm in aten's order (cudnnEnabled picks a CUDA kernel in PyTorch; the
 * same math, not used here).
 */
export function batchNorm(input: Tensor, weight: Tensor | null, bias: Tensor | null, runningMean: Tensor | null, runningVar: Tensor | null,
  training: boolean, momentum: number, eps: number, cudnnEnabled = true): Tensor {
  void cudnnEnabled;
  return F.batchNorm(input, runningMean, runningVar, { weight, bias, training, momentum, eps });
}

/** torch.instance_norm(input, weight, bias, runningMean, runningVar, useInputStats, momentum, eps, cudnnEnabled): F.instanceNorm in aten's order. */
export function instanceNorm(input: Tensor, weight: Tensor | null, bias: Tensor | null, runningMean: Tensor | null, runningVar: Tensor | null,
  useInputStats: boolean, momentum: number, eps: number, cudnnEnabled = true): Tensor {
  void cudnnEnabled;
  return F.instanceNorm(input, { weight, bias, runningMean, runningVar, useInputStats, momentum, eps });
}

/** torch.rrelu(input, lower = 1/8, upper = 1/3, training = false, generator = null). */
export const rrelu = (input: Tensor, lower = 1 / 8, upper = 1 / 3, training = false, generator: Generator | null = null): Tensor =>
  F.rrelu(input, { lower, upper, training, generator: generator ?? undefined });

/** torch.constant_pad_nd(input, pad, value = 0): F.pad's constant mode. */
export const constantPadNd = (input: Tensor, pad: number[], value = 0): Tensor => F.pad(input, pad, { mode: 'constant', value });
