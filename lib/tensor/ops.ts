// Free functions over tensors (torch.cat, torch.where, ...), for code that reads like PyTorch.
import { native } from './native';
import { Tensor, TensorLike, _wrap as wrap, _id as id } from './tensor';

export function cat(tensors: Tensor[], dim = 0): Tensor {
  return wrap(native.cat(tensors.map(id), dim));
}
export function stack(tensors: Tensor[], dim = 0): Tensor {
  return wrap(native.stack(tensors.map(id), dim));
}
/** where(condition, x, y): x where condition is true, y elsewhere. */
export function where(condition: Tensor, x: Tensor, y: TensorLike): Tensor {
  return x.where(condition, y);
}
export const matmul = (a: Tensor, b: Tensor) => a.matmul(b);
export const mm = (a: Tensor, b: Tensor) => a.mm(b);
export const bmm = (a: Tensor, b: Tensor) => a.bmm(b);
export const addmm = (input: Tensor, m1: Tensor, m2: Tensor, opts: { beta?: number; alpha?: number } = {}) =>
  input.addmm(m1, m2, opts);
export const outer = (a: Tensor, b: Tensor) => wrap(native.outer(id(a), id(b)));
export const tril = (x: Tensor, diagonal = 0) => x.tril(diagonal);
export const triu = (x: Tensor, diagonal = 0) => x.triu(diagonal);
export const multinomial = (probs: Tensor, numSamples: number, replacement = false) => probs.multinomial(numSamples, replacement);
export const topk = (x: Tensor, k: number, dim = -1, largest = true, sorted = true) => x.topk(k, dim, largest, sorted);
export const sort = (x: Tensor, dim = -1, descending = false) => x.sort(dim, descending);
export const cumsum = (x: Tensor, dim: number) => x.cumsum(dim);
export const maximum = (a: Tensor, b: Tensor) => a.maximum(b);
export const minimum = (a: Tensor, b: Tensor) => a.minimum(b);
export const clamp = (x: Tensor, min?: number | null, max?: number | null) => x.clamp(min, max);
export const exp = (x: Tensor) => x.exp();
export const log = (x: Tensor) => x.log();
export const tanh = (x: Tensor) => x.tanh();
export const sqrt = (x: Tensor) => x.sqrt();
export const oneHot = (x: Tensor, numClasses = -1) => wrap(native.oneHot(id(x), numClasses));

/** True when a and b have the same shape and |a - b| <= atol + rtol * |b| everywhere. */
export function allclose(a: Tensor, b: Tensor, rtol = 1e-5, atol = 1e-8): boolean {
  const sa = a.shape, sb = b.shape;
  if (sa.length !== sb.length || sa.some((s, i) => s !== sb[i])) return false;
  const da = a.to({ dtype: 'float64' }), db = b.to({ dtype: 'float64' });
  const diff = da.sub(db).abs();
  const tol = db.abs().mul(rtol).add(atol);
  const ok = diff.le(tol).all();
  const r = ok.item() as boolean;
  for (const t of [da, db, diff, tol, ok]) t.dispose();
  return r;
}
