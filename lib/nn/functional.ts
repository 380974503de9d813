// torch.nn.functional: tensor first, PyTorch's argument names in camelCase.
import { native } from '../tensor/native';
import { Tensor, _wrap as wrap, _id as id } from '../tensor/tensor';
import { ones } from '../tensor/creation';

const optId = (t?: Tensor | null) => (t ? id(t) : -1);

/** y = x Wᵀ + b, W of shape (out, in). */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  return wrap(native.linear(id(x), id(weight), optId(bias)));
}
export function softmax(x: Tensor, dim: number): Tensor {
  return wrap(native.softmax(id(x), dim));
}
export function logSoftmax(x: Tensor, dim: number): Tensor {
  return wrap(native.logSoftmax(id(x), dim));
}
export function layerNorm(x: Tensor, normalizedShape: number[], weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  return wrap(native.layerNorm(id(x), normalizedShape, optId(weight), optId(bias), eps));
}
/** Rows of weight picked by integer indices. */
export function embedding(input: Tensor, weight: Tensor): Tensor {
  return wrap(native.embedding(id(weight), id(input)));
}
export function dropout(x: Tensor, p = 0.5, training = true): Tensor {
  if (p < 0 || p > 1) throw new Error(`dropout: p must be in [0, 1], got ${p}`);
  return wrap(native.dropout(id(x), p, training));
}
/** GELU; approximate 'tanh' is GPT-2's gelu_new. */
export function gelu(x: Tensor, opts: { approximate?: 'none' | 'tanh' } | 'none' | 'tanh' = {}): Tensor {
  const approximate = typeof opts === 'string' ? opts : opts.approximate ?? 'none';
  return wrap(native.gelu(id(x), approximate));
}
export const relu = (x: Tensor) => x.relu();
export const sigmoid = (x: Tensor) => x.sigmoid();
export const tanh = (x: Tensor) => x.tanh();

const reductions = { none: 0, mean: 1, sum: 2 } as const;

/** Cross-entropy of logits (N, C[, ...]) against class indices (N[, ...]); targets equal to ignoreIndex (-100) are skipped. */
export function crossEntropy(
  input: Tensor,
  target: Tensor,
  opts: { ignoreIndex?: number; reduction?: 'none' | 'mean' | 'sum'; labelSmoothing?: number } = {},
): Tensor {
  const reduction = reductions[opts.reduction ?? 'mean'];
  if (reduction === undefined) throw new Error(`crossEntropy: unknown reduction '${opts.reduction}'`);
  return wrap(native.crossEntropy(id(input), id(target), opts.ignoreIndex ?? -100, reduction, opts.labelSmoothing ?? 0));
}

export const hasFusedAttention: boolean = native.hasSdpa();

/**
 * softmax(q kᵀ / sqrt(d) + mask) v. On libtorch 2.x this is at::scaled_dot_product_attention
 * (flash / memory-efficient kernels on CUDA); on 1.13 the same math composed from ops.
 * attnMask: bool (true = attend) or float (added to the scores).
 */
export function scaledDotProductAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  opts: { attnMask?: Tensor | null; dropoutP?: number; isCausal?: boolean } = {},
): Tensor {
  const dropoutP = opts.dropoutP ?? 0;
  const isCausal = opts.isCausal ?? false;
  if (hasFusedAttention) {
    return wrap(native.scaledDotProductAttention(id(q), id(k), id(v), optId(opts.attnMask), dropoutP, isCausal));
  }
  return composedAttention(q, k, v, opts.attnMask ?? null, dropoutP, isCausal);
}

/** The reference math of scaled dot-product attention, op by op. */
export function composedAttention(q: Tensor, k: Tensor, v: Tensor, attnMask: Tensor | null, dropoutP: number, isCausal: boolean): Tensor {
  const temps: Tensor[] = [];
  const t = <T extends Tensor>(x: T) => (temps.push(x), x);
  const [L, S] = [q.size(-2) as number, k.size(-2) as number];
  const scale = 1 / Math.sqrt(q.size(-1) as number);
  let scores = t(q.matmul(t(k.transpose(-2, -1)))).mul(scale);
  if (isCausal) {
    const keepMask = t(t(t(ones([L, S], { dtype: 'bool', device: q.device })).tril(0)).logicalNot());
    scores = t(scores).maskedFill(keepMask, -Infinity);
  }
  if (attnMask) {
    if (attnMask.dtype === 'bool') scores = t(scores).maskedFill(t(attnMask.logicalNot()), -Infinity);
    else scores = t(scores).add(attnMask);
  }
  let probs = softmax(t(scores), -1);
  if (dropoutP > 0) probs = dropout(t(probs), dropoutP, true);
  const out = probs.matmul(v);
  temps.push(probs);
  for (const x of temps) x.dispose();
  return out;
}
