// torch.svd_lowrank and torch.pca_lowrank: randomized low-rank SVD (Halko, Martinsson and Tropp,
// 2009), PyTorch's algorithm step by step (torch/_lowrank.py) with the same random draw, so a
// seeded call gives PyTorch's factors. Dense tensors, batched over leading dims, differentiable.
import { NamedTuple, namedTuple } from './named_tuple';
import { Tensor } from './tensor';
import { tidy } from './scope';
import { randn } from './creation';
import * as linalg from './linalg';

const mT = (x: Tensor) => x.transpose(-2, -1);

/**
 * An orthonormal basis Q (m x q) of A's range, approximately: A times a Gaussian matrix,
 * orthonormalised, then niter power iterations (each through A^H and A) sharpen it. With M,
 * of A - M without forming it.
 */
export function getApproximateBasis(A: Tensor, q: number, niter = 2, M?: Tensor | null): Tensor {
  return tidy(() => {
    const n = A.shape[A.dim() - 1];
    const dtype = ['float16', 'float32', 'float64'].includes(A.dtype) ? A.dtype : 'float32'; // (PyTorch's get_floating_dtype)
    const R = randn([n, q], { dtype, device: A.device });
    const AH = mT(A).conj();
    const minusM = (x: Tensor, Mx: () => Tensor) => (M ? x.sub(Mx()) : x);
    const MH = M ? mT(M).conj() : null;
    let Q = linalg.qr(minusM(A.matmul(R), () => M!.matmul(R))).Q;
    for (let i = 0; i < niter; i++) {
      const Qc = Q;
      Q = linalg.qr(minusM(AH.matmul(Qc), () => MH!.matmul(Qc))).Q;
      const Qd = Q;
      Q = linalg.qr(minusM(A.matmul(Qd), () => M!.matmul(Qd))).Q;
    }
    return Q;
  });
}

/**
 * torch.svd_lowrank: U, S, V with A ≈ U diag(S) Vᴴ for a rank-q approximation (q: default 6,
 * slightly above the rank wanted; at most min(m, n)), niter power iterations (default 2); with M, of A - M.
 * Random: seed the generator for repeatable factors.
 */
export function svdLowrank(A: Tensor, opts: { q?: number | null; niter?: number | null; M?: Tensor | null } = {}): NamedTuple<{ U: Tensor; S: Tensor; V: Tensor }> {
  if (A.dim() < 2) throw new Error(`svdLowrank: A must be a matrix (or a batch of them), got shape [${A.shape}]`);
  const q = opts.q ?? 6, niter = opts.niter ?? 2, M = opts.M ?? null;
  const [m, n] = A.shape.slice(-2);
  // (PyTorch asserts the same through its factors' shapes)
  if (!(Number.isInteger(q) && q >= 0 && q <= Math.min(m, n))) throw new Error(`svdLowrank: q(=${q}) must be a non-negative integer and not greater than min(m, n)=${Math.min(m, n)}`);
  if (!(Number.isInteger(niter) && niter >= 0)) throw new Error(`svdLowrank: niter must be a non-negative integer, got ${niter}`);
  return tidy(() => {
    const Mt = M ? mT(M) : null, At = mT(A);
    if (m < n || n > q) {
      // the basis of Aᵀ's range: A Q is m x q, and its SVD gives U and S; V = Q times its right vectors
      const Q = getApproximateBasis(At, q, niter, Mt), Qc = Q.conj();
      const Bt = M ? A.matmul(Qc).sub(M.matmul(Qc)) : A.matmul(Qc);
      const { U, S, Vh } = linalg.svd(Bt, { fullMatrices: false });
      return namedTuple({ U, S, V: Q.matmul(mT(Vh).conj()) });
    }
    const Q = getApproximateBasis(A, q, niter, M), Qc = Q.conj();
    const B = Mt ? At.matmul(Qc).sub(Mt.matmul(Qc)) : At.matmul(Qc);
    const { U, S, Vh } = linalg.svd(mT(B), { fullMatrices: false });
    return namedTuple({ U: Q.matmul(U), S, V: mT(Vh).conj() });
  });
}

/**
 * torch.pca_lowrank: the principal components of A's rows (A ≈ U diag(S) Vᵀ after centering
 * the columns, unless center is false): V's columns are the directions, S²/(m-1) the variances.
 * q: default min(6, m, n).
 */
export function pcaLowrank(A: Tensor, opts: { q?: number | null; center?: boolean; niter?: number } = {}): NamedTuple<{ U: Tensor; S: Tensor; V: Tensor }> {
  if (A.dim() < 2) throw new Error(`pcaLowrank: A must be a matrix (or a batch of them), got shape [${A.shape}]`);
  const [m, n] = A.shape.slice(-2);
  const q = opts.q ?? Math.min(6, m, n), niter = opts.niter ?? 2;
  if (!(Number.isInteger(q) && q >= 0 && q <= Math.min(m, n))) throw new Error(`pcaLowrank: q(=${q}) must be a non-negative integer and not greater than min(m, n)=${Math.min(m, n)}`);
  if (!(Number.isInteger(niter) && niter >= 0)) throw new Error(`pcaLowrank: niter(=${niter}) must be a non-negative integer`);
  if (opts.center === false) return svdLowrank(A, { q, niter });
  return tidy(() => svdLowrank(A.sub(A.mean(-2, true)), { q, niter }));
}
