// torch.linalg: each function is one libtorch call of the same name (batched over leading dims).
import { NamedTuple, namedTuple } from './named_tuple';
import { native } from './native';
import { optionsOf, takesOptions } from './options';
import { Tensor, _self as self, _wrap as wrap, _id as id } from './tensor';
import type { DType } from './dtype';

const pair = ([a, b]: number[]): [Tensor, Tensor] => [wrap(a), wrap(b)];

export const inv = (A: Tensor) => wrap(native.linalgInv(id(A)));
export const det = (A: Tensor) => wrap(native.linalgDet(id(A)));
/** sign and log of |det A|, for determinants too large or small to hold. */
export function slogdet(A: Tensor): NamedTuple<{ sign: Tensor; logabsdet: Tensor }> {
  const [sign, logabsdet] = pair(native.linalgSlogdet(id(A)));
  return namedTuple({ sign, logabsdet });
}
/** X with A X = B. */
export const solve = (A: Tensor, B: Tensor) => wrap(native.linalgSolve(id(A), id(B)));
/** L with A = L Lᴴ (upper: U with A = Uᴴ U). */
export const cholesky = takesOptions('linalg.cholesky', 1, [], (A: Tensor, opts: { upper?: boolean } = {}) => wrap(native.linalgCholesky(id(A), opts.upper ?? false)), { extra: ['upper'] });
/** X with A X = B (left, default) or X A = B, A triangular: lower unless upper. */
export const solveTriangular = takesOptions('linalg.solveTriangular', 2, [], (A: Tensor, B: Tensor, opts: { upper: boolean; left?: boolean; unitriangular?: boolean }) =>
  wrap(native.linalgSolveTriangular(id(A), id(B), opts.upper, opts.left ?? true, opts.unitriangular ?? false)), { extra: ['upper', 'left', 'unitriangular'] });
/**
 * The pseudoinverse: singular values under max(atol, rtol * the largest) dropped; with neither,
 * rtol is eps * max(m, n), as PyTorch's (rcond, positional as in PyTorch 1.x, is rtol's old name).
 */
export const pinv = takesOptions('linalg.pinv', 1, ['rcond', 'hermitian'], (A: Tensor, opts: { rcond?: number; hermitian?: boolean; atol?: number | null; rtol?: number | null } = {}) => {
  if (opts.rcond != null && opts.rtol != null) throw new Error('linalg.pinv: rcond is rtol\'s old name; give one of them');
  return wrap(native.linalgPinvTol(id(A), opts.atol ?? null, opts.rtol ?? opts.rcond ?? null, opts.hermitian ?? false));
}, { extra: ['atol', 'rtol'] });
export const matrixExp = (A: Tensor) => wrap(native.linalgMatrixExp(id(A)));
export const matrixPower = (A: Tensor, n: number) => wrap(native.linalgMatrixPower(id(A), n));
export const matrixRank = takesOptions('linalg.matrixRank', 1, [], (A: Tensor, opts: { hermitian?: boolean } = {}) => wrap(native.linalgMatrixRank(id(A), opts.hermitian ?? false)), { extra: ['hermitian'] });
/** The ord-norm of x as a vector (over dims, or all elements). */
export const vectorNorm = takesOptions('linalg.vectorNorm', 1, ['ord', 'dim', 'keepdim', 'dtype'], (x: Tensor, opts: NormOptions<number> = {}): Tensor =>
  normIn(x, opts.dtype, (t) => wrap(native.linalgVectorNorm(id(t), opts.ord ?? 2, dimsOf(opts.dim), opts.keepdim ?? false))));
/** Frobenius ('fro'), nuclear ('nuc') or ord ±1, ±2, ±Infinity norm over two dims (the last two by default). */
export const matrixNorm = takesOptions('linalg.matrixNorm', 1, ['ord', 'dim', 'keepdim', 'dtype'], function matrixNorm(A: Tensor, opts: NormOptions<number | 'fro' | 'nuc'> = {}): Tensor {
  const ord = opts.ord ?? 'fro';
  if (opts.dim == null) return normIn(A, opts.dtype, (t) => wrap(native.linalgMatrixNorm(id(t), ord, opts.keepdim ?? false)));
  const dims = dimsOf(opts.dim)!;
  if (dims.length !== 2) throw new Error(`linalg.matrixNorm: dim must be two dims, got [${dims}]`);
  // (linalg.norm over two dims is the matrix norm over them)
  return normIn(A, opts.dtype, (t) => wrap(native.linalgNorm(id(t), ord, dims, opts.keepdim ?? false)));
});
/** The options of the linalg norms after the input: PyTorch's (ord, dim, keepdim, dtype). */
interface NormOptions<O> { ord?: O | null; dim?: number | number[] | null; keepdim?: boolean; dtype?: DType | null }
const dimsOf = (dim: number | number[] | null | undefined) => (dim === undefined || dim === null ? null : typeof dim === 'number' ? [dim] : dim);
/** A norm of x computed in dtype (x cast first, as PyTorch's dtype argument). */
function normIn(x: Tensor, dtype: DType | null | undefined, f: (t: Tensor) => Tensor): Tensor {
  if (dtype == null || dtype === x.dtype) return f(x);
  const c = x.to(dtype);
  try {
    return f(c);
  } finally {
    c.dispose();
  }
}
/** A = Q R; mode 'reduced' (default), 'complete' or 'r' (Q empty). */
export function qr(A: Tensor, mode: 'reduced' | 'complete' | 'r' | { mode?: 'reduced' | 'complete' | 'r' } = 'reduced'): NamedTuple<{ Q: Tensor; R: Tensor }> {
  if (typeof mode === 'object') mode = optionsOf<{ mode?: 'reduced' | 'complete' | 'r' }>('linalg.qr', [mode], ['mode']).mode ?? 'reduced';
  const [Q, R] = pair(native.linalgQr(id(A), mode));
  return namedTuple({ Q, R });
}
/** Eigenvalues (ascending) and eigenvectors of a symmetric / Hermitian matrix, from its lower (L) or upper (U) triangle. */
export function eigh(A: Tensor, UPLO: 'L' | 'U' | { UPLO?: 'L' | 'U' } = 'L'): NamedTuple<{ eigenvalues: Tensor; eigenvectors: Tensor }> {
  if (typeof UPLO === 'object') UPLO = optionsOf<{ UPLO?: 'L' | 'U' }>('linalg.eigh', [UPLO], ['UPLO']).UPLO ?? 'L';
  const [eigenvalues, eigenvectors] = pair(native.linalgEigh(id(A), UPLO));
  return namedTuple({ eigenvalues, eigenvectors });
}
/** Eigenvalues and eigenvectors of a general square matrix (complex; not sorted). */
export function eig(A: Tensor): NamedTuple<{ eigenvalues: Tensor; eigenvectors: Tensor }> {
  const [eigenvalues, eigenvectors] = pair(native.linalgEig(id(A)));
  return namedTuple({ eigenvalues, eigenvectors });
}
export const eigvals = (A: Tensor) => wrap(native.linalgEigvals(id(A)));
export const eigvalsh = takesOptions('linalg.eigvalsh', 1, ['UPLO'], (A: Tensor, opts: { UPLO?: 'L' | 'U' } = {}) => wrap(native.linalgEigvalsh(id(A), opts.UPLO ?? 'L')));
/** A = U diag(S) Vh; fullMatrices (true, as PyTorch) gives square U and Vh. */
export function svd(A: Tensor, ...args: [opts?: { fullMatrices?: boolean }] | [fullMatrices?: boolean]): NamedTuple<{ U: Tensor; S: Tensor; Vh: Tensor }> {
  const opts = optionsOf<{ fullMatrices?: boolean }>('linalg.svd', args, ['fullMatrices']);
  const [U, S, Vh] = (native.linalgSvd(id(A), opts.fullMatrices ?? true) as number[]).map(wrap);
  return namedTuple({ U, S, Vh });
}
export const svdvals = (A: Tensor) => wrap(native.linalgSvdvals(id(A)));
/**
 * The least-squares solution of A X ≈ B, as torch.linalg.lstsq: solution; residuals (the squared
 * residual norms, for a tall full-rank A and drivers other than 'gelsy'; else empty); rank and
 * singularValues (from the rank-revealing drivers: rank from gelsy, gelsd, gelss; singular
 * values from gelsd, gelss). driver: 'gels' (default on the CPU; A of full rank), 'gelsy', 'gelsd', 'gelss'.
 */
export function lstsq(A: Tensor, B: Tensor, ...args: [opts?: { rcond?: number | null; driver?: 'gels' | 'gelsy' | 'gelsd' | 'gelss' | null }] | [rcond?: number | null]):
  { solution: Tensor; residuals: Tensor; rank: Tensor; singularValues: Tensor } {
  const opts = optionsOf<{ rcond?: number | null; driver?: 'gels' | 'gelsy' | 'gelsd' | 'gelss' | null }>('linalg.lstsq', args, ['rcond'], { extra: ['driver'] });
  const [solution, residuals, rank, singularValues] = (native.linalgLstsq(id(A), id(B), opts.rcond ?? null, opts.driver ?? null) as number[]).map(wrap);
  return { solution, residuals, rank, singularValues };
}
/** The vector norm (dim a number, or all of a 1-D / flattened input) or matrix norm (dim of two, or a 2-D input), as linalg.norm. */
export const norm = takesOptions('linalg.norm', 1, ['ord', 'dim', 'keepdim', 'dtype'], (x: Tensor, opts: NormOptions<number | 'fro' | 'nuc'> = {}): Tensor =>
  normIn(x, opts.dtype, (t) => wrap(native.linalgNorm(id(t), opts.ord ?? null, dimsOf(opts.dim), opts.keepdim ?? false))));
/** The condition number of A in the p-norm (2: the ratio of the extreme singular values). */
export const cond = takesOptions('linalg.cond', 1, ['p'], (A: Tensor, opts: { p?: number | 'fro' | 'nuc' | null } = {}) => wrap(native.linalgCond(id(A), opts.p ?? null)));
/** A = P L U (pivot: partial pivoting, as LAPACK's getrf). */
export const lu = takesOptions('linalg.lu', 1, [], function lu(A: Tensor, opts: { pivot?: boolean } = {}): NamedTuple<{ P: Tensor; L: Tensor; U: Tensor }> {
  const [P, L, U] = (native.linalgLu(id(A), opts.pivot ?? true) as number[]).map(wrap);
  return namedTuple({ P, L, U });
}, { extra: ['pivot'] });
/** LU and the pivots in LAPACK's compact form (for luSolve). */
export const luFactor = takesOptions('linalg.luFactor', 1, [], function luFactor(A: Tensor, opts: { pivot?: boolean } = {}): NamedTuple<{ LU: Tensor; pivots: Tensor }> {
  const [LU, pivots] = pair(native.linalgLuFactor(id(A), opts.pivot ?? true));
  return namedTuple({ LU, pivots });
}, { extra: ['pivot'] });
/** luFactor that reports singular matrices in info (> 0) instead of throwing. */
export const luFactorEx = takesOptions('linalg.luFactorEx', 1, [], function luFactorEx(A: Tensor, opts: { pivot?: boolean } = {}): NamedTuple<{ LU: Tensor; pivots: Tensor; info: Tensor }> {
  const [LU, pivots, info] = (native.linalgLuFactorEx(id(A), opts.pivot ?? true) as number[]).map(wrap);
  return namedTuple({ LU, pivots, info });
}, { extra: ['pivot'] });
/** solve that reports singular matrices in info (> 0) instead of throwing (left: false for X A = B). */
export const solveEx = takesOptions('linalg.solveEx', 2, [], function solveEx(A: Tensor, B: Tensor, opts: { left?: boolean } = {}): NamedTuple<{ result: Tensor; info: Tensor }> {
  const [result, info] = pair(native.linalgSolveEx(id(A), id(B), opts.left ?? true));
  return namedTuple({ result, info });
}, { extra: ['left'] });
/** The LDLᴴ factorization of a symmetric (hermitian: Hermitian) indefinite matrix, as LAPACK's sytrf. */
export const ldlFactor = takesOptions('linalg.ldlFactor', 1, [], function ldlFactor(A: Tensor, opts: { hermitian?: boolean } = {}): NamedTuple<{ LD: Tensor; pivots: Tensor }> {
  const { LD, pivots, info } = ldlFactorEx(A, opts);
  const bad = info.ne(0).any().item<boolean>();
  info.dispose();
  if (bad) throw new Error('torch.linalg.ldl_factor: the factorization could not be completed because the input is not symmetric-factorizable (info != 0)');
  return namedTuple({ LD, pivots });
}, { extra: ['hermitian'] });
export const ldlFactorEx = takesOptions('linalg.ldlFactorEx', 1, [], function ldlFactorEx(A: Tensor, opts: { hermitian?: boolean } = {}): NamedTuple<{ LD: Tensor; pivots: Tensor; info: Tensor }> {
  const [LD, pivots, info] = (native.linalgLdlFactorEx(id(A), opts.hermitian ?? false) as number[]).map(wrap);
  return namedTuple({ LD, pivots, info });
}, { extra: ['hermitian'] });
/** X with A X = B from ldlFactor(A). */
export const ldlSolve = takesOptions('linalg.ldlSolve', 3, [], (LD: Tensor, pivots: Tensor, B: Tensor, opts: { hermitian?: boolean } = {}) => wrap(native.linalgLdlSolve(id(LD), id(pivots), id(B), opts.hermitian ?? false)), { extra: ['hermitian'] });
/** torch.linalg.vecdot: the dot products along dim (x conjugated). */
export const vecdot = takesOptions('linalg.vecdot', 2, [], (x: Tensor, y: Tensor, opts: { dim?: number } = {}) => wrap(native.linalgVecdot(id(x), id(y), opts.dim ?? -1)), { extra: ['dim'] });
/** X with A X = B from luFactor(A) (left: false for X A = B; adjoint: with Aᴴ). */
export const luSolve = takesOptions('linalg.luSolve', 3, [], (LU: Tensor, pivots: Tensor, B: Tensor, opts: { left?: boolean; adjoint?: boolean } = {}) =>
  wrap(native.linalgLuSolve(id(LU), id(pivots), id(B), opts.left ?? true, opts.adjoint ?? false)), { extra: ['left', 'adjoint'] });
/** cholesky without throwing: info > 0 where the matrix was not positive-definite (its leading minor's order). */
export const choleskyEx = takesOptions('linalg.choleskyEx', 1, [], function choleskyEx(A: Tensor, opts: { upper?: boolean } = {}): NamedTuple<{ L: Tensor; info: Tensor }> {
  const [L, info] = pair(native.linalgCholeskyEx(id(A), opts.upper ?? false));
  return namedTuple({ L, info });
}, { extra: ['upper'] });
/** inv without throwing: info > 0 where the matrix was singular. */
export function invEx(A: Tensor): NamedTuple<{ inverse: Tensor; info: Tensor }> {
  const [inverse, info] = pair(native.linalgInvEx(id(A)));
  return namedTuple({ inverse, info });
}
/** A chain of matrix products, multiplied in the cheapest order. */
export const multiDot = (tensors: Tensor[]) => wrap(native.linalgMultiDot(tensors.map(id)));
/** The product of Householder reflectors (the Q of a geqrf). */
export const householderProduct = (A: Tensor, tau: Tensor) => wrap(native.linalgHouseholderProduct(id(A), id(tau)));
/** The tensor inverse over the first ind dims. */
export const tensorinv = (A: Tensor, ind = 2) => wrap(native.linalgTensorinv(id(A), ind));
/** X with tensordot(A, X, X.ndim) = B. */
export const tensorsolve = (A: Tensor, B: Tensor, dims?: number[] | null) => wrap(native.linalgTensorsolve(id(A), id(B), dims ?? null));
/** The Vandermonde matrix of x: columns x⁰, x¹, ..., x^(N-1). */
export const vander = takesOptions('linalg.vander', 1, ['N'], (x: Tensor, opts: { N?: number | null } = {}) => wrap(native.linalgVander(id(x), opts.N ?? null)));
export const cross = takesOptions('linalg.cross', 2, [], (a: Tensor, b: Tensor, opts: { dim?: number } = {}) => wrap(native.linalgCross(id(a), id(b), opts.dim ?? -1)), { extra: ['dim'] });
export const diagonal = takesOptions('linalg.diagonal', 1, [], (A: Tensor, opts: { offset?: number; dim1?: number; dim2?: number } = {}) =>
  wrap(native.linalgDiagonal(id(A), opts.offset ?? 0, opts.dim1 ?? -2, opts.dim2 ?? -1)), { extra: ['offset', 'dim1', 'dim2'] });
export const matmul = (a: Tensor, b: Tensor) => self('torch.linalg.matmul', a).matmul(b);
