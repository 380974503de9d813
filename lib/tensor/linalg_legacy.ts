// PyTorch's older linear-algebra functions in the torch namespace (torch.svd, torch.qr,
// torch.cholesky, torch.lu, torch.lu_unpack, torch.lu_solve, torch.chain_matmul, torch.addbmm,
// torch.addr), still common in code written before torch.linalg. Each is what PyTorch defines it
// as in terms of torch.linalg (its own docs give these equivalences), except lu_unpack, which is
// libtorch's own.
import { NamedTuple, namedTuple } from './named_tuple';
import { native } from './native';
import { Tensor, _wrap as wrap, _id as id } from './tensor';
import * as linalg from './linalg';
import { zeros } from './creation';

/**
 * torch.svd: A = U·diag(S)·Vᴴ with V itself (not Vᴴ as torch.linalg.svd); some (default true)
 * gives the reduced factors. computeUv false gives S alone and zero-filled U (m, m) and V (n, n), as PyTorch.
 */
export function svd(A: Tensor, some = true, computeUv = true): NamedTuple<{ U: Tensor; S: Tensor; V: Tensor }> {
  if (!computeUv) {
    const [m, n] = A.shape.slice(-2), batch = A.shape.slice(0, -2);
    const opts = { dtype: A.dtype, device: A.device };
    return namedTuple({ U: zeros([...batch, m, m], opts), S: linalg.svdvals(A), V: zeros([...batch, n, n], opts) });
  }
  const { U, S, Vh } = linalg.svd(A, { fullMatrices: !some });
  const V = Vh.mH;
  Vh.dispose();
  return namedTuple({ U, S, V });
}

/** torch.qr: torch.linalg.qr with mode 'reduced' (some, the default) or 'complete'. */
export function qr(A: Tensor, some = true): NamedTuple<{ Q: Tensor; R: Tensor }> {
  return linalg.qr(A, some ? 'reduced' : 'complete');
}

/** torch.cholesky: the lower factor L (A = L·Lᴴ), or with upper the upper one U = Lᴴ. */
export function cholesky(A: Tensor, upper = false): Tensor {
  return linalg.cholesky(A, { upper });
}

/**
 * torch.lu: the packed LU factorization and its pivots (torch.linalg.lu_factor); getInfos adds
 * the per-matrix info (> 0: singular) instead of failing on a singular matrix.
 */
export function lu(A: Tensor, opts: { pivot?: boolean; getInfos?: boolean } = {}): NamedTuple<{ LU: Tensor; pivots: Tensor; infos?: Tensor }> {
  if (opts.getInfos) {
    const { LU, pivots, info } = linalg.luFactorEx(A, { pivot: opts.pivot });
    return namedTuple({ LU, pivots, infos: info });
  }
  return linalg.luFactor(A, { pivot: opts.pivot });
}

/** torch.lu_unpack: the permutation P and the factors L, U of torch.lu's packed result (A = P·L·U). */
export function luUnpack(LU: Tensor, pivots: Tensor, unpackData = true, unpackPivots = true): NamedTuple<{ P: Tensor; L: Tensor; U: Tensor }> {
  const [P, L, U] = (native.luUnpack(id(LU), id(pivots), unpackData, unpackPivots) as number[]).map(wrap);
  return namedTuple({ P, L, U });
}

/** torch.lu_solve: the solution X of A·X = B from A's torch.lu factorization. */
export function luSolve(B: Tensor, LU: Tensor, pivots: Tensor): Tensor {
  return linalg.luSolve(LU, pivots, B);
}

/** torch.chain_matmul: the product of the matrices, in the cheapest order (torch.linalg.multi_dot). */
export function chainMatmul(...matrices: Tensor[]): Tensor {
  return linalg.multiDot(matrices);
}

/** torch.addbmm: beta·input + alpha·Σᵢ batch1[i]·batch2[i]. */
export function addbmm(input: Tensor, batch1: Tensor, batch2: Tensor, opts: { beta?: number; alpha?: number } = {}): Tensor {
  return input.addbmm(batch1, batch2, opts);
}

/** torch.addr: beta·input + alpha·(vec1 ⊗ vec2). */
export function addr(input: Tensor, vec1: Tensor, vec2: Tensor, opts: { beta?: number; alpha?: number } = {}): Tensor {
  return input.addr(vec1, vec2, opts);
}
