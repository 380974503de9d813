// The cases of the tensor API's breadth test: each op written with tstorch (ts) and in plain
// PyTorch (py), over inputs made here. test/ops.parity.test.ts checks them against PyTorch on the
// CPU; test/cuda.test.ts runs them on CUDA against the CPU.
import * as torch from '../lib';

const F = torch.nn.functional;
const nn = torch.nn;
const { linalg, autograd, fft } = torch;
export type T = torch.Tensor;
// A case's result: a tensor, a number or boolean, or arrays / objects of them (in PyTorch's tuple order).
type Result = unknown;

// Input makers (float64; the tests seed the generator before making them).
const r = (...shape: number[]) => torch.randn(shape, { dtype: 'float64' });
/** values in [0.5, 1.5): for log, sqrt, pow, division */
const pos = (...shape: number[]) => torch.rand(shape, { dtype: 'float64' }).add(0.5);
/** values in (-0.9, 0.9): for asin, atanh, erfinv */
const unit = (...shape: number[]) => torch.rand(shape, { dtype: 'float64' }).mul(1.8).sub(0.9);
/** values in [0.05, 0.95]: probabilities */
const prob = (...shape: number[]) => torch.rand(shape, { dtype: 'float64' }).mul(0.9).add(0.05);
const ints = (low: number, high: number, ...shape: number[]) => torch.randint(low, high, shape);
const long = (v: number[] | number[][]) => torch.tensor(v, { dtype: 'int64' });
/** a symmetric positive-definite matrix */
const spd = (n: number) => torch.tidy(() => { const a = r(n, n); return a.matmul(a.t()).add(torch.eye(n, n, { dtype: 'float64' }).mul(n)); });

export interface Case {
  name: string;
  inputs: () => T[];
  ts: (...xs: T[]) => Result;
  py: string;
  /** inputs (by position) that need no gradient, as class weights cannot have one */
  constants?: number[];
  /** outputs (by position) that CUDA may compute otherwise, as PyTorch's docs say (test/cuda.test.ts skips them) */
  cudaNondeterministic?: number[];
}

export const cases: Case[] = [
  // ---- elementwise ----
  { name: 'trig', inputs: () => [unit(3, 4)], ts: (x) => [x.tan(), x.asin(), x.acos(), x.atan(), x.sinh(), x.cosh(), x.asinh(), x.atanh()],
    py: 'lambda x: [x.tan(), x.asin(), x.acos(), x.atan(), x.sinh(), x.cosh(), x.asinh(), x.atanh()]' },
  { name: 'where_numbers', inputs: () => [r(3, 4), r(3, 4)],
    ts: (x, y) => [torch.where(x.gt(0), 2.5, y), torch.where(x.gt(0), y, -1.5), torch.where(x.gt(0), x, y), torch.where(x.gt(0), 3, y.long())],
    py: 'lambda x, y: [torch.where(x > 0, 2.5, y), torch.where(x > 0, y, -1.5), torch.where(x > 0, x, y), torch.where(x > 0, 3, y.long())]' },
  { name: 'exp_log', inputs: () => [pos(3, 4)], ts: (x) => [x.expm1(), x.exp2(), x.log2(), x.log10(), x.add(1).acosh(), x.lgamma(), x.digamma(), x.erfc()],
    py: 'lambda x: [x.expm1(), x.exp2(), x.log2(), x.log10(), (x + 1).acosh(), x.lgamma(), x.digamma(), x.erfc()]' },
  { name: 'erfinv_logit', inputs: () => [prob(5)], ts: (p) => [p.mul(2).sub(1).erfinv(), p.logit(), p.logit(0.2)],
    py: 'lambda p: [(p * 2 - 1).erfinv(), p.logit(), p.logit(0.2)]' },
  { name: 'rounding', inputs: () => [r(4, 5)], ts: (x) => [x.mul(3).trunc(), x.mul(3).frac(), x.detach().mul(3).floorDivide(2), x.mul(3).div(-2, { roundingMode: 'trunc' }), x.mul(5).fmod(1.5), x.mul(5).remainder(1.5)],
    py: 'lambda x: [(x * 3).trunc(), (x * 3).frac(), (x.detach() * 3) // 2, torch.div(x * 3, -2, rounding_mode="trunc"), torch.fmod(x * 5, 1.5), torch.remainder(x * 5, 1.5)]' },
  { name: 'int_division', inputs: () => [ints(-20, 20, 6), long([3, -3, 4, -4, 7, 2])], ts: (a, b) => [a.floorDivide(b), a.div(b, { roundingMode: 'trunc' }), a.fmod(b), a.remainder(b)],
    py: 'lambda a, b: [a // b, torch.div(a, b, rounding_mode="trunc"), torch.fmod(a, b), torch.remainder(a, b)]' },
  { name: 'binary', inputs: () => [r(3, 4), pos(3, 4), r(4)], ts: (a, b, c) => [torch.atan2(a, b), a.hypot(c), b.xlogy(b), a.lerp(c, 0.3), torch.lerp(a, c, b.sub(0.5)), a.fmod(b)],
    py: 'lambda a, b, c: [torch.atan2(a, b), a.hypot(c), b.xlogy(b), torch.lerp(a, c, 0.3), torch.lerp(a, c, b - 0.5), torch.fmod(a, b)]' },
  { name: 'nan_to_num_isinf', inputs: () => [torch.tensor([1, NaN, Infinity, -Infinity, -2], { dtype: 'float64' })],
    ts: (x) => [x.isinf(), x.detach().nanToNum(), x.detach().nanToNum({ nan: 7, posinf: 100, neginf: -100 })],
    py: 'lambda x: [x.isinf(), x.detach().nan_to_num(), x.detach().nan_to_num(7, 100, -100)]' },
  { name: 'close_xor', inputs: () => [r(6)], ts: (x) => [x.isclose(x.add(1e-9)), x.isclose(x.add(1e-3), { atol: 1e-2, rtol: 0 }), x.gt(0).logicalXor(x.gt(0.5)), torch.equal(x, x.clone()), torch.equal(x, x.add(1))],
    py: 'lambda x: [torch.isclose(x, x + 1e-9), torch.isclose(x, x + 1e-3, atol=1e-2, rtol=0), torch.logical_xor(x > 0, x > 0.5), torch.equal(x, x.clone()), torch.equal(x, x + 1)]' },

  // ---- reductions ----
  { name: 'amax_amin', inputs: () => [r(3, 4, 5)], ts: (x) => [x.amax(), x.amax([0, 2]), x.amin(1, true), torch.amax(x, -1)],
    py: 'lambda x: [x.amax(), x.amax(dim=(0, 2)), x.amin(1, keepdim=True), torch.amax(x, -1)]' },
  { name: 'median_kth', inputs: () => [r(4, 6)], ts: (x) => [x.median(), x.median(1), x.median(0, true).values, x.kthvalue(2, 1), x.kthvalue(3, 0, true)],
    py: 'lambda x: [x.median(), tuple(x.median(1)), x.median(0, keepdim=True).values, tuple(x.kthvalue(2, 1)), tuple(x.kthvalue(3, 0, keepdim=True))]' },
  { name: 'cumulative', inputs: () => [pos(3, 5)], ts: (x) => [x.cumprod(1), x.logcumsumexp(0), x.cummax(1), x.cummin(0)],
    py: 'lambda x: [x.cumprod(1), x.logcumsumexp(0), tuple(x.cummax(1)), tuple(x.cummin(0))]' },
  { name: 'all_any_count', inputs: () => [r(3, 4)], ts: (x) => [x.gt(-1).all(1), x.gt(1).any(0, true), x.gt(0).countNonzero(), x.gt(0).countNonzero(1), x.gt(0).countNonzero([0, 1])],
    py: 'lambda x: [(x > -1).all(1), (x > 1).any(0, keepdim=True), (x > 0).count_nonzero(), (x > 0).count_nonzero(1), (x > 0).count_nonzero((0, 1))]' },
  { name: 'quantile', inputs: () => [r(4, 7)], ts: (x) => [x.float().quantile(0.3), x.quantile(0.3), x.quantile(torch.tensor([0.1, 0.5, 0.9], { dtype: 'float64' }), 1, { keepdim: true }), x.quantile(0.4, 0, { interpolation: 'nearest' }), x.quantile(0.4, 1, { interpolation: 'midpoint' })],
    py: 'lambda x: [x.float().quantile(0.3), x.quantile(0.3), x.quantile(torch.tensor([0.1, 0.5, 0.9], dtype=torch.float64), 1, keepdim=True), x.quantile(0.4, 0, interpolation="nearest"), x.quantile(0.4, 1, interpolation="midpoint")]' },

  // ---- products ----
  { name: 'einsum', inputs: () => [r(2, 3, 4), r(2, 4, 5), r(3), r(3)],
    ts: (a, b, u, v) => [torch.einsum('bij,bjk->bik', a, b), torch.einsum('i,j->ij', u, v), torch.einsum('bii->b', a.narrow(2, 0, 3)), torch.einsum('...ij->...ji', a), torch.einsum('i,i', u, v)],
    py: 'lambda a, b, u, v: [torch.einsum("bij,bjk->bik", a, b), torch.einsum("i,j->ij", u, v), torch.einsum("bii->b", a[:, :, :3]), torch.einsum("...ij->...ji", a), torch.einsum("i,i", u, v)]' },
  { name: 'products', inputs: () => [r(3, 4), r(4), r(2, 3), r(4, 3), r(5, 3)],
    ts: (m, v, k, c, d) => [m.mv(v), v.dot(v), torch.kron(k, m), c.cross(d.narrow(0, 0, 4)), torch.tensordot(m, c, 1), torch.tensordot(m, m, [[0, 1], [0, 1]]), torch.cdist(c, d), torch.cdist(c, d, 1)],
    py: 'lambda m, v, k, c, d: [m.mv(v), v.dot(v), torch.kron(k, m), torch.linalg.cross(c, d[:4]), torch.tensordot(m, c, 1), torch.tensordot(m, m, ([0, 1], [0, 1])), torch.cdist(c, d), torch.cdist(c, d, p=1)]' },

  // ---- shapes ----
  { name: 'flip_roll_diag', inputs: () => [r(3, 4), r(4)],
    ts: (x, v) => [x.flip(0), torch.flip(x, [0, 1]), x.roll(1, 1), x.roll([1, -2], [0, 1]), x.roll(5), v.diag(), v.diag(1), x.diag(-1), x.diagonal(1), x.trace(), v.diagEmbed()],
    py: 'lambda x, v: [x.flip(0), torch.flip(x, [0, 1]), x.roll(1, 1), x.roll((1, -2), (0, 1)), x.roll(5), v.diag(), v.diag(1), x.diag(-1), x.diagonal(1), x.trace(), torch.diag_embed(v)]' },
  { name: 'move_tile_unfold', inputs: () => [r(2, 3, 4), r(3)],
    ts: (x, v) => [x.movedim(0, -1), x.movedim([0, 1], [2, 0]), v.tile([2, 2]), v.broadcastTo([2, 3]), x.unfold(2, 2, 1), x.unbind(1), v.repeatInterleave(2), x.repeatInterleave(long([1, 0, 2]), 1), x.expandAs(x), v.viewAs(v)],
    py: 'lambda x, v: [x.movedim(0, -1), x.movedim((0, 1), (2, 0)), v.tile((2, 2)), v.broadcast_to((2, 3)), x.unfold(2, 2, 1), x.unbind(1), v.repeat_interleave(2), x.repeat_interleave(torch.tensor([1, 0, 2]), dim=1), x.expand_as(x), v.view_as(v)]' },
  { name: 'scatter_index', inputs: () => [r(3, 5), r(3, 2), long([[0, 4], [2, 2], [1, 0]]), long([2, 0]), r(2, 5)],
    ts: (x, src, idx, rows, s2) => [x.scatterAdd(1, idx, src), x.scatterReduce(1, idx, src, 'amax'), x.scatterReduce(1, idx, src, 'mean', { includeSelf: false }), x.scatterReduce(1, idx, src, 'prod'),
      x.indexAdd(0, rows, s2, { alpha: 2 }), x.indexCopy(0, rows, s2), x.indexFill(1, long([1, 3]), -1), x.take(long([0, 14, 7])), x.takeAlongDim(idx, 1)],
    py: 'lambda x, src, idx, rows, s2: [x.scatter_add(1, idx, src), x.scatter_reduce(1, idx, src, "amax"), x.scatter_reduce(1, idx, src, "mean", include_self=False), x.scatter_reduce(1, idx, src, "prod"), x.index_add(0, rows, s2, alpha=2), x.index_copy(0, rows, s2), x.index_fill(1, torch.tensor([1, 3]), -1), x.take(torch.tensor([0, 14, 7])), torch.take_along_dim(x, idx, 1)]' },
  { name: 'select_by_mask', inputs: () => [r(4, 5)], ts: (x) => [x.maskedSelect(x.gt(0)), x.gt(0.3).nonzero(), torch.nonzero(x.lt(-0.5))],
    py: 'lambda x: [x.masked_select(x > 0), (x > 0.3).nonzero(), torch.nonzero(x < -0.5)]' },
  { name: 'unique', inputs: () => [ints(0, 6, 20), ints(0, 2, 6, 2)],
    ts: (a, m) => [a.unique(), a.unique({ returnInverse: true, returnCounts: true }), m.unique({ dim: 0, returnCounts: true }), a.uniqueConsecutive({ returnCounts: true }), a.bincount(), a.bincount({ minlength: 9 })],
    py: 'lambda a, m: [a.unique(), a.unique(return_inverse=True, return_counts=True), m.unique(dim=0, return_counts=True), a.unique_consecutive(return_counts=True), a.bincount(), a.bincount(minlength=9)]' },
  { name: 'bins_search', inputs: () => [r(12), r(7)],
    ts: (x, w) => [x.detach().histc(5), x.detach().histc(4, -1, 1), torch.searchsorted(x.sort().values, w), torch.searchsorted(x.sort().values, w, { right: true }), torch.bucketize(w, torch.linspace(-1, 1, 5, { dtype: 'float64' })), long([0, 2, 2, 5, 1, 0, 3]).bincount({ weights: w.detach() })],
    py: 'lambda x, w: [x.detach().histc(5), x.detach().histc(4, -1, 1), torch.searchsorted(x.sort().values, w), torch.searchsorted(x.sort().values, w, right=True), torch.bucketize(w, torch.linspace(-1, 1, 5, dtype=torch.float64)), torch.tensor([0, 2, 2, 5, 1, 0, 3]).bincount(weights=w.detach())]' },
  { name: 'creation', inputs: () => [r(3), r(2)],
    ts: (a, b) => [torch.linspace(-1, 2, 7, { dtype: 'float64' }), torch.logspace(0, 2, 5, 2, { dtype: 'float64' }), torch.meshgrid([a, b]), torch.meshgrid([a, b], { indexing: 'xy' }), torch.trilIndices(4, 3), torch.triuIndices(3, 4, 1)],
    py: 'lambda a, b: [torch.linspace(-1, 2, 7, dtype=torch.float64), torch.logspace(0, 2, 5, base=2, dtype=torch.float64), torch.meshgrid(a, b, indexing="ij"), torch.meshgrid(a, b, indexing="xy"), torch.tril_indices(4, 3), torch.triu_indices(3, 4, 1)]' },

  // (scatter_ with a repeated index, row 1: the CPU writes the last source, CUDA any of them)
  { name: 'inplace', inputs: () => [r(3, 5), r(3, 2), long([[0, 4], [2, 2], [1, 0]]), r(2, 5)], cudaNondeterministic: [11],
    ts: (x, src, idx, s2) => [x.clone().clamp_(-0.5, 0.5), x.clone().clamp_(null, 0.1), x.clone().relu_(), x.clone().exp_(), x.clone().abs_().log_(), x.clone().neg_().tanh_(), x.clone().sigmoid_(),
      x.clone().mul(0.5).erfinv_(), x.clone().abs_().pow_(1.5), x.clone().sub_(2, 0.5), x.clone().fillDiagonal_(7), x.clone().scatter_(1, idx, src), x.clone().scatter_(1, idx, -1), x.clone().scatterAdd_(1, idx, src),
      x.clone().indexAdd_(0, long([2, 0]), s2, { alpha: -1 }), x.clone().indexCopy_(0, long([1, 2]), s2), x.clone().indexFill_(1, long([0, 3]), 9)],
    py: `def f(x, src, idx, s2):
    c = lambda: x.clone()
    return [c().clamp_(-0.5, 0.5), c().clamp_(max=0.1), c().relu_(), c().exp_(), c().abs_().log_(), c().neg_().tanh_(), c().sigmoid_(),
        (c() * 0.5).erfinv_(), c().abs_().pow_(1.5), c().sub_(2, alpha=0.5), c().fill_diagonal_(7), c().scatter_(1, idx, src), c().scatter_(1, idx, -1.0), c().scatter_add_(1, idx, src),
        c().index_add_(0, torch.tensor([2, 0]), s2, alpha=-1), c().index_copy_(0, torch.tensor([1, 2]), s2), c().index_fill_(1, torch.tensor([0, 3]), 9)]` },

  // ---- Python indexing ----
  { name: 'index_basic', inputs: () => [r(4, 5, 6)],
    ts: (x) => [x.index(1), x.index(':', 2), x.index('1:3', null, '::2'), x.index('...', -1), x.index(0, '1:', torch.Slice(1, 5, 3)), x.index('...', null, 2, '-2:'), x.index(true)],
    py: 'lambda x: [x[1], x[:, 2], x[1:3, None, ::2], x[..., -1], x[0, 1:, 1:5:3], x[..., None, 2, -2:], x[True]]' },
  { name: 'index_advanced', inputs: () => [r(4, 5, 6), long([3, 0, 3]), long([[1, 2], [4, 0]])],
    ts: (x, i, j) => [x.index(i), x.index(':', j), x.index(i, ':', long([5, 0, 1])), x.index(x.gt(0)), x.index(1, x.select(0, 1).select(1, 0).gt(0)), x.index('...', j, '1:3'), x.index(i, null, j.select(0, 0).narrow(0, 0, 1))],
    py: 'lambda x, i, j: [x[i], x[:, j], x[i, :, torch.tensor([5, 0, 1])], x[x > 0], x[1, x[1, :, 0] > 0], x[..., j, 1:3], x[i, None, j[0, :1]]]' },
  { name: 'index_put', inputs: () => [r(4, 5), r(5), r(2, 3)],
    ts: (x, v, w) => {
      const a = x.clone().indexPut_([1], v);
      const b = x.clone().indexPut_(['1:3', '2:'], w);
      const c = x.clone().indexPut_([x.gt(0.5)], 0);
      const d = x.clone().indexPut_([long([0, 2, 0]), long([1, 1, 1])], 3.5);
      const e = x.indexPutTensors([long([0, 2, 0]), long([1, 1, 1])], w.select(0, 0), true);
      return [a, b, c, d, e];
    },
    py: `def f(x, v, w):
    a = x.clone(); a[1] = v
    b = x.clone(); b[1:3, 2:] = w
    c = x.clone(); c[x > 0.5] = 0
    d = x.clone(); d[torch.tensor([0, 2, 0]), torch.tensor([1, 1, 1])] = 3.5
    e = x.index_put((torch.tensor([0, 2, 0]), torch.tensor([1, 1, 1])), w[0], accumulate=True)
    return [a, b, c, d, e]` },

  // ---- linalg ----
  { name: 'linalg_square', inputs: () => [spd(4), r(4, 2), r(3, 3)],
    ts: (A, B, M) => [linalg.inv(A), linalg.det(M), linalg.slogdet(A), linalg.solve(A, B), linalg.cholesky(A), linalg.cholesky(A, { upper: true }), linalg.matrixExp(M.mul(0.3)), linalg.matrixPower(M, 3), linalg.matrixPower(A, -1), linalg.matrixRank(M)],
    py: 'lambda A, B, M: [torch.linalg.inv(A), torch.linalg.det(M), tuple(torch.linalg.slogdet(A)), torch.linalg.solve(A, B), torch.linalg.cholesky(A), torch.linalg.cholesky(A, upper=True), torch.linalg.matrix_exp(M * 0.3), torch.linalg.matrix_power(M, 3), torch.linalg.matrix_power(A, -1), torch.linalg.matrix_rank(M)]' },
  { name: 'linalg_norms', inputs: () => [r(3, 4)],
    ts: (x) => [linalg.vectorNorm(x), linalg.vectorNorm(x, 1, 1), linalg.vectorNorm(x, Infinity, [0], true), linalg.matrixNorm(x), linalg.matrixNorm(x, 'nuc'), linalg.matrixNorm(x, 1), linalg.matrixNorm(x, -Infinity), linalg.svdvals(x)],
    py: 'lambda x: [torch.linalg.vector_norm(x), torch.linalg.vector_norm(x, 1, 1), torch.linalg.vector_norm(x, float("inf"), [0], True), torch.linalg.matrix_norm(x), torch.linalg.matrix_norm(x, "nuc"), torch.linalg.matrix_norm(x, 1), torch.linalg.matrix_norm(x, float("-inf")), torch.linalg.svdvals(x)]' },
  // Factors are unique only up to signs: compare reconstructions and sign-free forms.
  { name: 'linalg_factorizations', inputs: () => [r(5, 3), spd(4), r(5, 2)],
    ts: (X, A, B) => {
      const { Q, R } = linalg.qr(X);
      const { U, S, Vh } = linalg.svd(X, { fullMatrices: false });
      const { eigenvalues, eigenvectors: V } = linalg.eigh(A);
      return [Q.matmul(R), R.diagonal().abs(), Q.t().matmul(Q), U.mul(S).matmul(Vh), S, eigenvalues, V.mul(eigenvalues).matmul(V.t()), linalg.eigvalsh(A, 'U'), linalg.pinv(X), linalg.lstsq(X, B).solution];
    },
    py: `def f(X, A, B):
    Q, R = torch.linalg.qr(X)
    U, S, Vh = torch.linalg.svd(X, full_matrices=False)
    L, V = torch.linalg.eigh(A)
    return [Q @ R, R.diagonal().abs(), Q.T @ Q, U * S @ Vh, S, L, V * L @ V.T, torch.linalg.eigvalsh(A, "U"), torch.linalg.pinv(X), torch.linalg.lstsq(X, B).solution]` },

  // ---- nn.functional ----
  { name: 'activations', inputs: () => [r(3, 6), torch.tensor([0.25, 0.1, 0.4], { dtype: 'float64' })],
    ts: (x, w) => [F.silu(x), F.mish(x), F.logSigmoid(x), F.selu(x), F.hardswish(x.mul(4)), F.hardsigmoid(x.mul(4)), F.softplus(x, 2, 1), F.elu(x, 0.5), F.celu(x, 2), F.leakyRelu(x, 0.2), F.hardtanh(x, -0.5, 0.5), F.relu6(x.mul(8)), F.glu(x), F.glu(x.view([6, 3]), 0), F.prelu(x.view([3, 3, 2]), w), F.softsign(x)],
    py: 'lambda x, w: [F.silu(x), F.mish(x), F.logsigmoid(x), F.selu(x), F.hardswish(x * 4), F.hardsigmoid(x * 4), F.softplus(x, 2, 1), F.elu(x, 0.5), F.celu(x, 2.0), F.leaky_relu(x, 0.2), F.hardtanh(x, -0.5, 0.5), F.relu6(x * 8), F.glu(x), F.glu(x.view(6, 3), 0), F.prelu(x.view(3, 3, 2), w), F.softsign(x)]' },
  { name: 'regression_losses', inputs: () => [r(4, 3), r(4, 3)],
    ts: (a, b) => [F.mseLoss(a, b), F.mseLoss(a, b, { reduction: 'none' }), F.l1Loss(a, b, { reduction: 'sum' }), F.smoothL1Loss(a, b, { beta: 0.5 }), F.huberLoss(a, b, { delta: 0.7 }), F.cosineSimilarity(a, b), F.cosineSimilarity(a, b, 0), F.pairwiseDistance(a, b), F.normalize(a), F.normalize(a, { p: 1, dim: 0 })],
    py: 'lambda a, b: [F.mse_loss(a, b), F.mse_loss(a, b, reduction="none"), F.l1_loss(a, b, reduction="sum"), F.smooth_l1_loss(a, b, beta=0.5), F.huber_loss(a, b, delta=0.7), F.cosine_similarity(a, b), F.cosine_similarity(a, b, 0), F.pairwise_distance(a, b), F.normalize(a), F.normalize(a, p=1, dim=0)]' },
  { name: 'classification_losses', inputs: () => [r(5, 4), long([1, 0, 3, -100, 2]), pos(4), r(5, 4), prob(5, 4), prob(5, 4), pos(4)], constants: [2, 6],
    ts: (logits, y, w, z, p, q, pw) => [
      F.nllLoss(F.logSoftmax(logits, 1), y), F.nllLoss(F.logSoftmax(logits, 1), y, { weight: w, reduction: 'sum' }), F.crossEntropy(logits, y, { weight: w }), F.crossEntropy(logits, y, { weight: w, labelSmoothing: 0.1, reduction: 'none' }),
      F.binaryCrossEntropy(p, q), F.binaryCrossEntropy(p, q, { weight: w, reduction: 'none' }), F.binaryCrossEntropyWithLogits(z, q), F.binaryCrossEntropyWithLogits(z, q, { posWeight: pw, reduction: 'sum' }),
      F.klDiv(F.logSoftmax(z, 1), F.softmax(logits, 1), { reduction: 'batchmean' }), F.klDiv(F.logSoftmax(z, 1), F.logSoftmax(logits, 1), { logTarget: true, reduction: 'sum' }), F.klDiv(F.logSoftmax(z, 1), p)],
    py: 'lambda logits, y, w, z, p, q, pw: [F.nll_loss(F.log_softmax(logits, 1), y), F.nll_loss(F.log_softmax(logits, 1), y, weight=w, reduction="sum"), F.cross_entropy(logits, y, weight=w), F.cross_entropy(logits, y, weight=w, label_smoothing=0.1, reduction="none"), F.binary_cross_entropy(p, q), F.binary_cross_entropy(p, q, weight=w, reduction="none"), F.binary_cross_entropy_with_logits(z, q), F.binary_cross_entropy_with_logits(z, q, pos_weight=pw, reduction="sum"), F.kl_div(F.log_softmax(z, 1), F.softmax(logits, 1), reduction="batchmean"), F.kl_div(F.log_softmax(z, 1), F.log_softmax(logits, 1), log_target=True, reduction="sum"), F.kl_div(F.log_softmax(z, 1), p)]' },
  { name: 'embedding_padding', inputs: () => [r(6, 3), long([[0, 2, 5], [2, 2, 1]])],
    ts: (w, idx) => [F.embedding(idx, w, { paddingIdx: 2 }), F.embedding(idx, w, { paddingIdx: -1 }), F.embedding(idx, w)],
    py: 'lambda w, idx: [F.embedding(idx, w, padding_idx=2), F.embedding(idx, w, padding_idx=-1), F.embedding(idx, w)]' },
  { name: 'rms_norm_pad_sequence', inputs: () => [r(2, 3, 6), pos(6), r(4, 2), r(2, 2), r(5, 2)],
    ts: (x, w, a, b, c) => [F.rmsNorm(x, [6], w), F.rmsNorm(x, [3, 6], null, 1e-3), F.rmsNorm(x.float(), [6]), nn.utils.padSequence([a, b, c]), nn.utils.padSequence([a, b, c], { batchFirst: true, paddingValue: -1 })],
    py: 'lambda x, w, a, b, c: [x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + torch.finfo(x.dtype).eps) * w, x * torch.rsqrt(x.pow(2).mean((-2, -1), keepdim=True) + 1e-3), (lambda f: f * torch.rsqrt(f.pow(2).mean(-1, keepdim=True) + torch.finfo(torch.float32).eps))(x.float()), torch.nn.utils.rnn.pad_sequence([a, b, c]), torch.nn.utils.rnn.pad_sequence([a, b, c], batch_first=True, padding_value=-1)]' },
  { name: 'pad', inputs: () => [r(2, 3, 5)],
    ts: (x) => [F.pad(x, [1, 2]), F.pad(x, [0, 1, 2, 0], { value: -3 }), F.pad(x, [2, 1], { mode: 'reflect' }), F.pad(x, [2, 1], { mode: 'replicate' }), F.pad(x, [1, 3], { mode: 'circular' })],
    py: 'lambda x: [F.pad(x, (1, 2)), F.pad(x, (0, 1, 2, 0), value=-3), F.pad(x, (2, 1), mode="reflect"), F.pad(x, (2, 1), mode="replicate"), F.pad(x, (1, 3), mode="circular")]' },
  { name: 'conv', inputs: () => [r(2, 4, 9), r(6, 2, 3), r(6), r(1, 3, 7, 6), r(5, 3, 3, 2), r(4, 3, 2)],
    ts: (x, w, b, img, k, wt) => [F.conv1d(x, w, b, { groups: 2, stride: 2, padding: 1 }), F.conv1d(x, w, null, { groups: 2, padding: 'same', dilation: 2 }), F.conv2d(img, k), F.conv2d(img, k, null, { stride: [2, 1], padding: [1, 0] }), F.conv2d(img, k, null, { padding: 'valid' }), F.convTranspose1d(x, wt, null, { stride: 2, outputPadding: 1 })],
    py: 'lambda x, w, b, img, k, wt: [F.conv1d(x, w, b, groups=2, stride=2, padding=1), F.conv1d(x, w, None, groups=2, padding="same", dilation=2), F.conv2d(img, k), F.conv2d(img, k, None, stride=(2, 1), padding=(1, 0)), F.conv2d(img, k, None, padding="valid"), F.conv_transpose1d(x, wt, None, stride=2, output_padding=1)]' },
  { name: 'interpolate', inputs: () => [r(2, 3, 5), r(1, 2, 4, 5), r(1, 1, 2, 3, 4)],
    ts: (x, img, vol) => [F.interpolate(x, { scaleFactor: 2 }), F.interpolate(x, { size: 7, mode: 'linear' }), F.interpolate(x, { size: 8, mode: 'linear', alignCorners: true }),
      F.interpolate(img, { scaleFactor: 1.7, mode: 'bilinear' }), F.interpolate(img, { size: [7, 3], mode: 'bicubic', alignCorners: true }), F.interpolate(img, { scaleFactor: [1.5, 0.6], mode: 'nearest-exact' }),
      F.interpolate(img, { scaleFactor: 2.5, mode: 'bilinear', recomputeScaleFactor: true }), F.interpolate(img, { size: [2, 3], mode: 'area' }), F.interpolate(img, { scaleFactor: 0.5, mode: 'area' }),
      F.interpolate(vol, { scaleFactor: 2, mode: 'trilinear' }), F.interpolate(vol, { size: [3, 2, 5] }), new nn.Upsample({ scaleFactor: 2, mode: 'bicubic' }).forward(img)],
    py: 'lambda x, img, vol: [F.interpolate(x, scale_factor=2), F.interpolate(x, size=7, mode="linear"), F.interpolate(x, size=8, mode="linear", align_corners=True), '
      + 'F.interpolate(img, scale_factor=1.7, mode="bilinear"), F.interpolate(img, size=(7, 3), mode="bicubic", align_corners=True), F.interpolate(img, scale_factor=(1.5, 0.6), mode="nearest-exact"), '
      + 'F.interpolate(img, scale_factor=2.5, mode="bilinear", recompute_scale_factor=True), F.interpolate(img, size=(2, 3), mode="area"), F.interpolate(img, scale_factor=0.5, mode="area"), '
      + 'F.interpolate(vol, scale_factor=2, mode="trilinear"), F.interpolate(vol, size=(3, 2, 5)), nn.Upsample(scale_factor=2, mode="bicubic")(img)]' },
  { name: 'pool', inputs: () => [r(2, 3, 10), r(1, 2, 7, 8)],
    ts: (x, img) => [F.maxPool1d(x, 3), F.maxPool1d(x, 3, { stride: 2, padding: 1, ceilMode: true }), F.avgPool1d(x, 4, { stride: 3 }), F.maxPool2d(img, 2), F.maxPool2d(img, [3, 2], { stride: 1, dilation: [1, 2] }), F.avgPool2d(img, 3, { padding: 1, countIncludePad: false }), F.adaptiveAvgPool1d(x, 4), F.adaptiveAvgPool2d(img, [3, 5])],
    py: 'lambda x, img: [F.max_pool1d(x, 3), F.max_pool1d(x, 3, stride=2, padding=1, ceil_mode=True), F.avg_pool1d(x, 4, stride=3), F.max_pool2d(img, 2), F.max_pool2d(img, (3, 2), stride=1, dilation=(1, 2)), F.avg_pool2d(img, 3, padding=1, count_include_pad=False), F.adaptive_avg_pool1d(x, 4), F.adaptive_avg_pool2d(img, (3, 5))]' },
  { name: 'norms', inputs: () => [r(4, 6, 5), pos(6), r(6)],
    ts: (x, w, b) => {
      const rm = torch.zeros([6], { dtype: 'float64' }), rv = torch.ones([6], { dtype: 'float64' });
      const train = F.batchNorm(x, rm, rv, { weight: w, bias: b, training: true, momentum: 0.2 });
      const evalOut = F.batchNorm(x, rm, rv, { weight: w, bias: b });
      return [train, rm, rv, evalOut, F.groupNorm(x, 3, w, b), F.groupNorm(x, 2)];
    },
    py: `def f(x, w, b):
    rm, rv = torch.zeros(6, dtype=torch.float64), torch.ones(6, dtype=torch.float64)
    train = F.batch_norm(x, rm, rv, w, b, training=True, momentum=0.2)
    ev = F.batch_norm(x, rm, rv, w, b)
    return [train, rm, rv, ev, F.group_norm(x, 3, w, b), F.group_norm(x, 2)]` },

  // ---- autograd.grad: gradients as values, higher order ----
  { name: 'autograd_grad', inputs: () => [r(3), r(3, 3)],
    ts: (x, W) => {
      const y = x.matmul(W).tanh().pow(2).sum();
      const [gx] = autograd.grad(y, x, { createGraph: true });
      const penalty = gx!.pow(2).sum();                      // a gradient penalty, differentiable in x and W
      const [hx] = autograd.grad(gx!.sum(), [x], { retainGraph: true, createGraph: true });
      const vjp = autograd.grad([x.mul(W.select(0, 0))], [W, x], { gradOutputs: [x.sin()], allowUnused: true, retainGraph: true });
      return [penalty, hx!, vjp[0]!.sum(), vjp[1]!];
    },
    py: `def f(x, W):
    y = (x @ W).tanh().pow(2).sum()
    gx, = torch.autograd.grad(y, x, create_graph=True)
    penalty = gx.pow(2).sum()
    hx, = torch.autograd.grad(gx.sum(), [x], retain_graph=True, create_graph=True)
    vjp = torch.autograd.grad([x * W[0]], [W, x], grad_outputs=[x.sin()], allow_unused=True, retain_graph=True)
    return [penalty, hx, vjp[0].sum(), vjp[1]]` },

  // ---- more of torch's API ----
  { name: 'elementwise_more', inputs: () => [r(3, 4), r(3, 4), pos(3, 4), long([1, -2, 0, 3])],
    ts: (a, b, p, e) => [a.logaddexp(b), a.logaddexp2(b), a.sinc(), a.sgn(), a.signbit(), a.copysign(b), p.floatPower(2.5), p.floatPower(b), a.fmax(b), a.fmin(b),
      a.deg2rad(), a.rad2deg(), a.clip(-0.5, 0.5), a.detach().heaviside(b.detach()), a.detach().nextafter(b.detach()).sub(a.detach()), a.ldexp(e), torch.logaddexp(b, a)],
    py: 'lambda a, b, p, e: [torch.logaddexp(a, b), torch.logaddexp2(a, b), torch.sinc(a), torch.sgn(a), torch.signbit(a), torch.copysign(a, b), torch.float_power(p, 2.5), torch.float_power(p, b), '
      + 'torch.fmax(a, b), torch.fmin(a, b), torch.deg2rad(a), torch.rad2deg(a), torch.clip(a, -0.5, 0.5), torch.heaviside(a.detach(), b.detach()), torch.nextafter(a.detach(), b.detach()) - a.detach(), '
      + 'torch.ldexp(a, e), torch.logaddexp(b, a)]' },
  { name: 'integer_bitwise', inputs: () => [ints(-20, 20, 6), ints(1, 10, 6), long([1, 2, 3, 0, 1, 2]), torch.tensor([1, -Infinity, Infinity, NaN], { dtype: 'float64' })],
    ts: (a, b, k, f) => [a.gcd(b), a.lcm(b), a.bitwiseAnd(b), a.bitwiseOr(b), a.bitwiseXor(b), a.bitwiseNot(), b.bitwiseLeftShift(k), a.bitwiseRightShift(k), f.isneginf(), f.isposinf()],
    py: 'lambda a, b, k, f: [torch.gcd(a, b), torch.lcm(a, b), a & b, a | b, a ^ b, ~a, b << k, a >> k, torch.isneginf(f), torch.isposinf(f)]' },
  { name: 'reductions_more', inputs: () => [torch.tensor([[1, NaN, 3, 4], [NaN, 2, 0.5, -1], [2, 2, NaN, 7]], { dtype: 'float64' }), r(3, 5), torch.randint(0, 4, [3, 6]).to({ dtype: 'float64' })],
    ts: (x, y, z) => [x.nansum(), x.nansum(1), x.nanmean(0, true), x.nanmedian(), x.nanmedian(1), z.mode(1), y.detach().aminmax(), y.detach().aminmax({ dim: 0, keepdim: true }), y.stdMean(1), y.varMean([0, 1], { correction: 0 }), y.msort()],
    py: 'lambda x, y, z: [torch.nansum(x), torch.nansum(x, 1), torch.nanmean(x, 0, keepdim=True), torch.nanmedian(x), tuple(torch.nanmedian(x, 1)), tuple(torch.mode(z, 1)), tuple(torch.aminmax(y.detach())), '
      + 'tuple(torch.aminmax(y.detach(), dim=0, keepdim=True)), torch.std_mean(y, 1), torch.var_mean(y, (0, 1), correction=0), torch.msort(y)]' },
  { name: 'linalg_more', inputs: () => [spd(3), r(4, 5), r(3), r(3, 4), r(4), r(2, 3, 5), r(2, 3, 4), r(2, 4, 5), pos(5), r(6)], constants: [8],
    ts: (m, x, inp, mat, vec, b, b1, b2, w, y) => [m.logdet(), x.renorm(2, 0, 1.0), inp.addmv(mat, vec, { beta: 0.5, alpha: 2 }), b.baddbmm(b1, b2, { beta: 0.3, alpha: 1.5 }), x.inner(w.unsqueeze(0)), vec.vdot(vec.mul(2)),
      x.cov(), torch.cov(x, { correction: 0, aweights: w }), x.corrcoef(), x.diff(), torch.diff(x, { n: 2, dim: 0, prepend: x.index('0:1') }), torch.trapezoid(y), torch.trapezoid(x, { x: torch.linspace(0, 2, 5, { dtype: 'float64' }) }), torch.trapezoid(x, { dx: 0.5, dim: 0 })],
    py: 'lambda m, x, inp, mat, vec, b, b1, b2, w, y: [torch.logdet(m), torch.renorm(x, 2, 0, 1.0), torch.addmv(inp, mat, vec, beta=0.5, alpha=2), torch.baddbmm(b, b1, b2, beta=0.3, alpha=1.5), torch.inner(x, w.unsqueeze(0)), torch.vdot(vec, vec * 2), '
      + 'torch.cov(x), torch.cov(x, correction=0, aweights=w), torch.corrcoef(x), torch.diff(x), torch.diff(x, n=2, dim=0, prepend=x[0:1]), torch.trapezoid(y), torch.trapezoid(x, torch.linspace(0, 2, 5, dtype=torch.float64)), torch.trapezoid(x, dx=0.5, dim=0)]' },
  // torch.svd / qr / cholesky / lu / lu_unpack / lu_solve / chain_matmul / addbmm / addr (the torch namespace's older linear algebra)
  { name: 'legacy_linalg', inputs: () => [r(5, 3), spd(4), r(2, 3, 4), r(2, 4, 5), r(3, 5), r(3), r(5)],
    ts: (X, A, b1, b2, M, v1, v2) => {
      const { U, S, V } = torch.svd(X), { Q, R } = torch.qr(X);
      return [U.mul(S).matmul(V.t()), S, Q.matmul(R), R.diagonal().abs(), torch.cholesky(A), torch.cholesky(A, true), torch.addbmm(M, b1, b2, { beta: 0.5, alpha: 2 }), torch.addr(M, v1, v2, { alpha: 3 }),
        torch.chainMatmul(b1.select(0, 0), b2.select(0, 1), M.t()), X.svd().S, X.qr().R.abs(), A.cholesky(true)];
    },
    py: `def f(X, A, b1, b2, M, v1, v2):
    U, S, V = torch.svd(X)
    Q, R = torch.qr(X)
    return [U * S @ V.T, S, Q @ R, R.diagonal().abs(), torch.cholesky(A), torch.cholesky(A, upper=True), torch.addbmm(M, b1, b2, beta=0.5, alpha=2), torch.addr(M, v1, v2, alpha=3),
            torch.chain_matmul(b1[0], b2[1], M.T), X.svd().S, X.qr().R.abs(), A.cholesky(upper=True)]` },
  { name: 'legacy_linalg_factors', inputs: () => [r(5, 3), r(4, 4), r(4, 2)], constants: [0, 1, 2], // (complete SVD factors have no backward; lu's pivots are integers)
    ts: (X, C, D) => {
      const full = torch.svd(X, false), bare = torch.svd(X, true, false), q = torch.qr(X, false);
      const f = torch.lu(C), withInfo = torch.lu(C, { getInfos: true });
      const { P, L, U } = torch.luUnpack(f.LU, f.pivots);
      return [full.U.narrow(1, 0, 3).mul(full.S).matmul(full.V.t()), full.U.t().matmul(full.U), bare.S, bare.U, bare.V, q.Q, q.R, f.LU, f.pivots, withInfo.infos, P, L, U, P.matmul(L).matmul(U), torch.luSolve(D, f.LU, f.pivots)];
    },
    py: `def f(X, C, D):
    U, S, V = torch.svd(X, some=False)
    bU, bS, bV = torch.svd(X, compute_uv=False)
    Q, R = torch.qr(X, some=False)
    LU, piv = torch.lu(C)
    _, _, infos = torch.lu(C, get_infos=True)
    P, L, U2 = torch.lu_unpack(LU, piv)
    return [U[:, :3] * S @ V.T, U.T @ U, bS, bU, bV, Q, R, LU, piv, infos, P, L, U2, P @ L @ U2, torch.lu_solve(D, LU, piv)]` },
  // The method forms of torch functions (t.f(...) as torch.f(t, ...)) and the torch-level forms of methods and F's.
  { name: 'method_forms', inputs: () => [spd(4), r(4, 2), r(5, 3), r(5, 2), r(4, 4), r(2, 64), r(3, 4), r(4), r(6, 3)], constants: [2, 3], // (1.13: no derivative for geqrf, ormqr)
    ts: (A, B, Q, C, T4, sig, x, w, big) => {
      const L = A.cholesky(), f = A.lu(), fi = A.lu({ getInfos: true }), { a, tau } = Q.geqrf(), U = T4.triu().add(torch.eye(4, 4, { dtype: 'float64' }).mul(4));
      const tri = B.triangularSolve(U), triT = torch.triangularSolve(B, U, true, true), lower = B.triangularSolve(U.t(), false, false, true);
      const S = sig.stft(16, { window: torch.hannWindow(16, { dtype: 'float64' }) });
      const idx = [long([0, 2, 1]), long([1, 3, 0])], repeated = [long([0, 2, 2]), long([1, 3, 3])];
      return [B.choleskySolve(L), B.choleskySolve(L.t(), true), L.choleskyInverse(), L.t().choleskyInverse(true), f.LU, f.pivots, fi.infos, B.luSolve(f.LU, f.pivots),
        tri.solution, tri.clonedCoefficient, triT.solution, lower.solution, a, tau, a.orgqr(tau), a.ormqr(tau, C), a.ormqr(tau, C.t(), false, true),
        S, S.istft(16, { window: torch.hannWindow(16, { dtype: 'float64' }), length: 64 }), x.hardshrink(0.4), torch.hardshrink(x), F.logsigmoid(x), torch.prelu(x.view([3, 4]).t(), w.narrow(0, 0, 1)), x.view([3, 4]).prelu(w),
        ...big.splitWithSizes([1, 2, 3]), ...torch.splitWithSizes(big, [2, 1], 1), x.indexPut(idx, torch.tensor([1, 2, 3], { dtype: 'float64' })), torch.indexPut(x, repeated, w.narrow(0, 0, 3), true),
        torch.range(-1, 2, 0.5, { dtype: 'float64' }), torch.range(0, 4), torch.range(3, -1.2, -0.7, { dtype: 'float64' })];
    },
    py: `lambda A, B, Q, C, T4, sig, x, w, big: (lambda L, f, fi, g, U, hw, idx: [
      B.cholesky_solve(L), B.cholesky_solve(L.t(), True), L.cholesky_inverse(), L.t().cholesky_inverse(True), f[0], f[1], fi[2], B.lu_solve(*f),
      *B.triangular_solve(U), B.triangular_solve(U, True, True).solution, B.triangular_solve(U.t(), False, False, True).solution,
      *g, g[0].orgqr(g[1]), g[0].ormqr(g[1], C), g[0].ormqr(g[1], C.t(), False, True),
      sig.stft(16, window=hw, return_complex=True), sig.stft(16, window=hw, return_complex=True).istft(16, window=hw, length=64),
      x.hardshrink(0.4), torch.hardshrink(x), F.logsigmoid(x), torch.prelu(x.view(3, 4).t(), w[:1]), x.view(3, 4).prelu(w),
      *big.split_with_sizes([1, 2, 3]), *torch.split_with_sizes(big, [2, 1], 1),
      x.index_put(idx, torch.tensor([1., 2., 3.], dtype=torch.float64)), torch.index_put(x, [torch.tensor([0, 2, 2]), torch.tensor([1, 3, 3])], w[:3], True),
      torch.range(-1, 2, 0.5, dtype=torch.float64), torch.range(0, 4), torch.range(3, -1.2, -0.7, dtype=torch.float64)])(
      A.cholesky(), A.lu(), A.lu(get_infos=True), Q.geqrf(), T4.triu() + torch.eye(4, dtype=torch.float64) * 4, torch.hann_window(16, dtype=torch.float64),
      [torch.tensor([0, 2, 1]), torch.tensor([1, 3, 0])])` },
  // (torch.conv2d, torch.embedding, ...: the torch namespace's forms, PyTorch's argument orders; F's conv and pool in PyTorch's positional form;
  // 1.13: no derivative for channel_shuffle)
  { name: 'torch_level_functional', inputs: () => [r(1, 2, 6, 6), r(3, 2, 3, 3), r(3), r(2, 3, 3, 3), r(2, 3, 8), r(4, 3, 3), r(10, 4), long([[1, 2, 0], [2, 9, 2]]), r(2), r(2), r(2), r(2)],
    constants: [7, 10, 11],
    ts: (x, w, b, wt, x1, w1, emb, idx, g, beta, rm, rv0) => {
      const rv = rv0.abs().add(0.5), u = torch.pixelUnshuffle(x, 2);
      return [torch.conv2d(x, w, b, 2, 1), F.conv2d(x, w, b, 1, 'same'), torch.conv2d(x, w, null, [1, 2], 0, 2), torch.conv2d(x, w, b, { stride: 2, padding: 1 }),
        torch.conv1d(x1, w1, null, 1, 2, 2), torch.convTranspose2d(x, wt, null, 2, 1, 1),
        torch.maxPool2d(x, 3, 2, 1), F.maxPool2d(x, 2, null, 0, 2, true), torch.maxPool1d(x1, 3, 2, 1, 1, true), torch.avgPool1d(x1, 3, 2, 1, false, false), F.avgPool2d(x, 3, 2, 1, true, false),
        torch.adaptiveAvgPool1d(x1, 3), torch.adaptiveMaxPool1d(x1, 3).values, torch.adaptiveMaxPool1d(x1, 3).indices,
        torch.embedding(emb, idx), torch.embedding(emb, idx, 2),
        torch.batchNorm(x, g, beta, rm, rv, false, 0.1, 1e-5, true), torch.batchNorm(x, g, beta, null, null, true, 0.1, 1e-5, true), torch.instanceNorm(x, g, beta, null, null, true, 0.1, 1e-5, true),
        torch.layerNorm(x, [6, 6]), torch.groupNorm(x, 2, g, beta), torch.dropout(x, 0.3, false), torch.alphaDropout(x, 0.3, false), torch.featureAlphaDropout(x, 0.3, false),
        torch.rrelu(x1), torch.constantPadNd(x1, [1, 2], 0.5), torch.cosineSimilarity(x1, x1.flip(-1)), torch.pairwiseDistance(x1.select(0, 0), x1.select(0, 1)),
        u, torch.pixelShuffle(u, 2), torch.channelShuffle(x1.detach(), 3), torch.celu(x1, 0.5), torch.selu(x1), torch.threshold(x1, 0.1, -1),
        torch.bilinear(x1.select(2, 0), x1.select(2, 1), w1)];
    },
    py: `lambda x, w, b, wt, x1, w1, emb, idx, g, beta, rm, rv0: (lambda rv, u: [
      torch.conv2d(x, w, b, 2, 1), F.conv2d(x, w, b, 1, 'same'), torch.conv2d(x, w, None, [1, 2], 0, 2), torch.conv2d(x, w, b, stride=2, padding=1),
      torch.conv1d(x1, w1, None, 1, 2, 2), torch.conv_transpose2d(x, wt, None, 2, 1, 1),
      torch.max_pool2d(x, 3, 2, 1), F.max_pool2d(x, 2, None, 0, 2, True), torch.max_pool1d(x1, 3, 2, 1, 1, True), torch.avg_pool1d(x1, 3, 2, 1, False, False), F.avg_pool2d(x, 3, 2, 1, True, False),
      torch.adaptive_avg_pool1d(x1, 3), *torch.adaptive_max_pool1d(x1, 3),
      torch.embedding(emb, idx), torch.embedding(emb, idx, 2),
      torch.batch_norm(x, g, beta, rm, rv, False, 0.1, 1e-5, True), torch.batch_norm(x, g, beta, None, None, True, 0.1, 1e-5, True), torch.instance_norm(x, g, beta, None, None, True, 0.1, 1e-5, True),
      torch.layer_norm(x, [6, 6]), torch.group_norm(x, 2, g, beta), torch.dropout(x, 0.3, False), torch.alpha_dropout(x, 0.3, False), torch.feature_alpha_dropout(x, 0.3, False),
      torch.rrelu(x1), torch.constant_pad_nd(x1, [1, 2], 0.5), torch.cosine_similarity(x1, x1.flip(-1)), torch.pairwise_distance(x1[0], x1[1]),
      u, torch.pixel_shuffle(u, 2), torch.channel_shuffle(x1.detach(), 3), torch.celu(x1, 0.5), torch.selu(x1), torch.threshold(x1, 0.1, -1.),
      torch.bilinear(x1[:, :, 0], x1[:, :, 1], w1)])(rv0.abs() + 0.5, torch.pixel_unshuffle(x, 2))` },
  { name: 'householder_vander_onehot', inputs: () => [r(5, 3), r(5, 2), r(4), r(6, 3), r(6, 2), ints(0, 5, 7)], constants: [0, 1, 2, 3, 4], // (1.13: no derivative for geqrf, ormqr, narrow_copy; vander's backward fails)
    ts: (A, C, x, L, B, k) => {
      const { a, tau } = torch.geqrf(A);
      const gelsd = linalg.lstsq(L, B, { driver: 'gelsd' }), gelsy = linalg.lstsq(L, B, { driver: 'gelsy', rcond: 1e-12 }), gels = linalg.lstsq(L, B);
      return [a, tau, torch.ormqr(a, tau, C), torch.ormqr(a, tau, C.t(), false, true), torch.orgqr(a, tau), torch.vander(x), torch.vander(x, 2, true), torch.vander(x, 0), x.detach().narrowCopy(0, 1, 2),
        gelsd.solution, gelsd.residuals, gelsd.rank, gelsd.singularValues, gelsy.solution, gelsy.rank, gels.residuals, F.oneHot(k), F.oneHot(k, 7)];
    },
    py: 'lambda A, C, x, L, B, k: [*torch.geqrf(A), torch.ormqr(*torch.geqrf(A), C), torch.ormqr(*torch.geqrf(A), C.t(), left=False, transpose=True), torch.orgqr(*torch.geqrf(A)), '
      + 'torch.vander(x), torch.vander(x, 2, True), torch.vander(x, 0), x.detach().narrow_copy(0, 1, 2), '
      + '*torch.linalg.lstsq(L, B, driver="gelsd"), torch.linalg.lstsq(L, B, rcond=1e-12, driver="gelsy").solution, torch.linalg.lstsq(L, B, rcond=1e-12, driver="gelsy").rank, torch.linalg.lstsq(L, B).residuals, '
      + 'torch.nn.functional.one_hot(k), torch.nn.functional.one_hot(k, 7)]' },
  { name: 'shape_more', inputs: () => [r(4, 6), r(2, 3), r(2, 3), r(3), r(2), r(2, 2), r(3, 1), torch.tensor(1.5, { dtype: 'float64' }), torch.rand([4, 6]).gt(0.5), r(24)], constants: [8],
    ts: (x, a, b, u, v, m1, m2, s, mask, src) => [x.tensorSplit(3, 1), x.tensorSplit([1, 3], 1), x.hsplit(2), x.vsplit([1]), torch.hstack([a, b]), torch.vstack([a, b]), torch.dstack([a, b]), torch.columnStack([u, u.mul(2)]),
      torch.cartesianProd(u, v), torch.blockDiag(m1, m2), torch.atleast1d(s), torch.atleast2d(u), torch.atleast3d(a), x.rot90(), x.rot90(2, [1, 0]), torch.combinations(u, 2), torch.combinations(u, 2, true), x.maskedScatter(mask, src),
      x.detach().clone().triu_(1), x.detach().clone().tril_(-1)],
    py: 'lambda x, a, b, u, v, m1, m2, s, mask, src: [torch.tensor_split(x, 3, 1), torch.tensor_split(x, [1, 3], 1), torch.hsplit(x, 2), torch.vsplit(x, [1]), torch.hstack([a, b]), torch.vstack([a, b]), torch.dstack([a, b]), torch.column_stack([u, u * 2]), '
      + 'torch.cartesian_prod(u, v), torch.block_diag(m1, m2), torch.atleast_1d(s), torch.atleast_2d(u), torch.atleast_3d(a), torch.rot90(x), torch.rot90(x, 2, [1, 0]), torch.combinations(u, 2), torch.combinations(u, 2, with_replacement=True), x.masked_scatter(mask, src), '
      + 'x.detach().clone().triu_(1), x.detach().clone().tril_(-1)]' },
  { name: 'torch_functions_more', constants: [1, 4],
    inputs: () => [r(3, 4), torch.tensor([[1, NaN, 3, 4], [NaN, 2, 0.5, -1], [2, 2, NaN, 7]], { dtype: 'float64' }), ints(0, 6, 3, 4), long([0, 2, 0, 1]), r(20, 2), r(4, 4), r(5, 3), r(3), r(3), r(3, 2), spd(3)],
    ts: (x, nanx, e, idx, pts, src, m, d3, r3, s2, sq) => [torch.isin(e, long([1, 3, 5])), torch.isin(e, [1, 3, 5], { invert: true }), torch.isin(2, e),
      nanx.nanquantile(0.5), torch.nanquantile(nanx, torch.tensor([0.25, 0.75], { dtype: 'float64' }), 1),
      torch.gradient(x), torch.gradient(x, { spacing: 2, dim: 1 }), torch.gradient(x, { spacing: [torch.linspace(0, 1, 3, { dtype: 'float64' }), torch.tensor([0, 1, 3, 6], { dtype: 'float64' })] }), torch.gradient(x, { spacing: [0.5, 2], edgeOrder: 2 }),
      torch.cumulativeTrapezoid(x), torch.cumulativeTrapezoid(x, { dx: 0.5, dim: 0 }), torch.cumulativeTrapezoid(x, { x: torch.tensor([0, 1, 3, 6], { dtype: 'float64' }) }), torch.trapz(x),
      torch.histogramdd(pts, [3, 4]), torch.histogramdd(pts, 2, { range: [-1, 1, -2, 2], density: true }),
      x.indexReduce(1, idx, src.narrow(0, 0, 3), 'prod'), x.indexReduce(1, idx, src.narrow(0, 0, 3), 'amax', { includeSelf: false }), torch.indexReduce(x, 1, idx, src.narrow(0, 0, 3), 'mean'),
      torch.pdist(m), torch.pdist(m, 1), x.diagonalScatter(d3), x.selectScatter(r3, 1, 2), torch.sliceScatter(x, s2, { dim: 1, start: 1, step: 2 }),
      torch.det(sq), torch.inverse(sq), torch.matrixPower(sq, 3), torch.matrixExp(sq.div(4)), torch.pinverse(x), torch.slogdet(sq), torch.sigmoid_(x.detach().clone()), torch.clamp_(x.detach().clone(), -0.5, 0.5),
      torch.broadcastTensors(d3, x.narrow(1, 0, 3)), torch.concat([x, x], 1), torch.rowStack([d3, r3])],
    py: 'lambda x, nanx, e, idx, pts, src, m, d3, r3, s2, sq: [torch.isin(e, torch.tensor([1, 3, 5])), torch.isin(e, torch.tensor([1, 3, 5]), invert=True), torch.isin(2, e), '
      + 'torch.nanquantile(nanx, 0.5), torch.nanquantile(nanx, torch.tensor([0.25, 0.75], dtype=torch.float64), 1), '
      + 'torch.gradient(x), torch.gradient(x, spacing=2, dim=1), torch.gradient(x, spacing=(torch.linspace(0, 1, 3, dtype=torch.float64), torch.tensor([0., 1, 3, 6], dtype=torch.float64))), torch.gradient(x, spacing=[0.5, 2.0], edge_order=2), '
      + 'torch.cumulative_trapezoid(x), torch.cumulative_trapezoid(x, dx=0.5, dim=0), torch.cumulative_trapezoid(x, torch.tensor([0., 1, 3, 6], dtype=torch.float64)), torch.trapz(x), '
      + 'tuple(torch.histogramdd(pts, [3, 4])), tuple(torch.histogramdd(pts, 2, range=[-1., 1., -2., 2.], density=True)), '
      + 'x.index_reduce(1, idx, src[:3], "prod"), x.index_reduce(1, idx, src[:3], "amax", include_self=False), torch.index_reduce(x, 1, idx, src[:3], "mean"), '
      + 'torch.pdist(m), torch.pdist(m, 1), x.diagonal_scatter(d3), x.select_scatter(r3, 1, 2), torch.slice_scatter(x, s2, dim=1, start=1, step=2), '
      + 'torch.det(sq), torch.inverse(sq), torch.matrix_power(sq, 3), torch.matrix_exp(sq / 4), torch.pinverse(x), tuple(torch.slogdet(sq)), torch.sigmoid_(x.detach().clone()), torch.clamp_(x.detach().clone(), -0.5, 0.5), '
      + 'torch.broadcast_tensors(d3, x[:, :3]), torch.concat([x, x], 1), torch.row_stack([d3, r3])]' },
  { name: 'tensor_methods_more', constants: [3, 4, 11],
    inputs: () => [r(3, 4), r(3, 4), pos(3, 4), ints(1, 20, 5), ints(1, 20, 5), r(3, 5), r(2, 3, 4), r(2, 4, 5), r(3), r(4), spd(3), torch.rand([3, 4]).gt(0.5)],
    ts: (a, b, p, i1, i2, inp, bt1, bt2, v3, v4, sq, mask) => [a.clone().sinc_(), a.clone().sgn_(), p.clone().i0_(), p.clone().polygamma_(1), p.add(1).mvlgamma_(2), a.detach().clone().ldexp_(b.detach().round()),
      a.detach().clone().heaviside_(b.detach()), a.detach().clone().nextafter_(b.detach()).sub(a.detach()), p.clone().floatPower_(b),
      i1.clone().gcd_(i2), i1.clone().lcm_(i2), i1.clone().bitwiseAnd_(i2), i1.clone().bitwiseOr_(i2), i1.clone().bitwiseXor_(i2), i1.clone().bitwiseNot_(), i1.clone().bitwiseLeftShift_(torch.ones([5], { dtype: 'int64' })), i1.clone().bitwiseRightShift_(torch.ones([5], { dtype: 'int64' })),
      a.clone().renorm_(2, 0, 1), a.clone().maskedScatter_(mask, b.flatten()), a.clone().scatterReduce_(1, torch.tensor([[0, 1, 0, 1], [1, 1, 2, 0], [3, 3, 3, 3]], { dtype: 'int64' }), b, 'amax'),
      a.clone().indexReduce_(0, torch.tensor([0, 2, 0], { dtype: 'int64' }), b, 'prod', { includeSelf: false }),
      v3.clone().addmv_(a, v4, { beta: 0.5, alpha: 2 }), bt1.clone().baddbmm_(bt1.narrow(2, 0, 3), bt1), inp.addbmm(bt1, bt2, { beta: 0.3 }), inp.clone().addbmm_(bt1, bt2), a.addr(v3, v4, { alpha: 2 }), a.clone().addr_(v3, v4),
      a.clone().absolute_(), a.clone().negative_(), a.clone().divide_(p), a.clone().multiply_(b), a.clone().subtract_(b, 2), a.detach().clone().greater_(b.detach()), a.clone().arctan2_(p),
      sq.det(), sq.inverse(), sq.div(4).matrixExp(), sq.matrixPower(2), sq.slogdet(), a.pinverse(), a.kron(v3.unsqueeze(0)), a.allclose(a.add(1e-9)), a.allclose(b)],
    py: 'lambda a, b, p, i1, i2, inp, bt1, bt2, v3, v4, sq, mask: [a.clone().sinc_(), a.clone().sgn_(), p.clone().i0_(), p.clone().polygamma_(1), (p + 1).mvlgamma_(2), a.detach().clone().ldexp_(b.detach().round()), '
      + 'a.detach().clone().heaviside_(b.detach()), a.detach().clone().nextafter_(b.detach()) - a.detach(), p.clone().float_power_(b), '
      + 'i1.clone().gcd_(i2), i1.clone().lcm_(i2), i1.clone().bitwise_and_(i2), i1.clone().bitwise_or_(i2), i1.clone().bitwise_xor_(i2), i1.clone().bitwise_not_(), i1.clone().bitwise_left_shift_(torch.ones(5, dtype=torch.int64)), i1.clone().bitwise_right_shift_(torch.ones(5, dtype=torch.int64)), '
      + 'a.clone().renorm_(2, 0, 1), a.clone().masked_scatter_(mask, b.flatten()), a.clone().scatter_reduce_(1, torch.tensor([[0, 1, 0, 1], [1, 1, 2, 0], [3, 3, 3, 3]]), b, "amax"), '
      + 'a.clone().index_reduce_(0, torch.tensor([0, 2, 0]), b, "prod", include_self=False), '
      + 'v3.clone().addmv_(a, v4, beta=0.5, alpha=2), bt1.clone().baddbmm_(bt1[:, :, :3], bt1), inp.addbmm(bt1, bt2, beta=0.3), inp.clone().addbmm_(bt1, bt2), a.addr(v3, v4, alpha=2), a.clone().addr_(v3, v4), '
      + 'a.clone().absolute_(), a.clone().negative_(), a.clone().divide_(p), a.clone().multiply_(b), a.clone().subtract_(b, alpha=2), a.detach().clone().greater_(b.detach()), a.clone().arctan2_(p), '
      + 'sq.det(), sq.inverse(), (sq / 4).matrix_exp(), sq.matrix_power(2), tuple(sq.slogdet()), a.pinverse(), a.kron(v3.unsqueeze(0)), a.allclose(a + 1e-9), a.allclose(b)]' },
  { name: 'linalg_ex_ldl', constants: [2],
    inputs: () => [spd(4), r(4, 2), torch.tidy(() => { const a = r(4, 4); return a.add(a.t()); }), r(3, 5), r(3, 5)],
    ts: (A, B, S, x, y) => [linalg.luFactorEx(A), linalg.solveEx(A, B), linalg.solveEx(A, B.t(), { left: false }), linalg.ldlFactor(S), linalg.ldlSolve(linalg.ldlFactor(S).LD, linalg.ldlFactor(S).pivots, B.detach()),
      linalg.ldlFactorEx(S, { hermitian: true }), linalg.vecdot(x, y), linalg.vecdot(x, y, { dim: 0 })],
    py: 'lambda A, B, S, x, y: [tuple(torch.linalg.lu_factor_ex(A)), tuple(torch.linalg.solve_ex(A, B)), tuple(torch.linalg.solve_ex(A, B.t(), left=False)), tuple(torch.linalg.ldl_factor(S)), '
      + 'torch.linalg.ldl_solve(*torch.linalg.ldl_factor(S), B.detach()), tuple(torch.linalg.ldl_factor_ex(S, hermitian=True)), torch.linalg.vecdot(x, y), torch.linalg.vecdot(x, y, dim=0)]' },
  { name: 'inplace_activations', inputs: () => [r(3, 4)],
    ts: (x) => [F.elu_(x.clone(), 0.7), F.celu_(x.clone(), 1.3), F.selu_(x.clone()), F.leakyRelu_(x.clone(), 0.2), F.hardtanh_(x.clone(), -0.5, 0.5), F.threshold_(x.clone(), 0.1, -2), F.relu_(x.clone()), F.pdist(x), F.pdist(x, 1)],
    py: 'lambda x: [F.elu_(x.clone(), 0.7), F.celu_(x.clone(), 1.3), F.selu_(x.clone()), F.leaky_relu_(x.clone(), 0.2), F.hardtanh_(x.clone(), -0.5, 0.5), F.threshold_(x.clone(), 0.1, -2.0), F.relu_(x.clone()), F.pdist(x), F.pdist(x, 1)]' },
  { name: 'fake_quantize', inputs: () => [r(3, 4).mul(3), pos(4).mul(0.1)], constants: [1],
    ts: (x, s) => [torch.fakeQuantizePerTensorAffine(x.float(), 0.1, 7, 0, 255), torch.fakeQuantizePerTensorAffine(x.float(), 0.05, 0, -128, 127),
      torch.fakeQuantizePerChannelAffine(x.float(), s.float(), torch.tensor([0, 3, -2, 10], { dtype: 'int32' }), 1, -128, 127)],
    py: 'lambda x, s: [torch.fake_quantize_per_tensor_affine(x.float(), 0.1, 7, 0, 255), torch.fake_quantize_per_tensor_affine(x.float(), 0.05, 0, -128, 127), '
      + 'torch.fake_quantize_per_channel_affine(x.float(), s.float(), torch.tensor([0, 3, -2, 10], dtype=torch.int32), 1, -128, 127)]' },
  { name: 'upsample_conv_tbc', inputs: () => [r(1, 2, 3, 4), r(5, 2, 3), r(3, 3, 4), r(4)],
    ts: (img, x, w, b) => [F.upsample(img, { scaleFactor: 2, mode: 'bilinear' }), F.upsampleNearest(img, { size: [5, 7] }), F.upsampleBilinear(img, { scaleFactor: 1.5 }), F.convTbc(x, w, b, 1)],
    py: 'lambda img, x, w, b: [F.upsample(img, scale_factor=2, mode="bilinear"), F.upsample_nearest(img, size=(5, 7)), F.upsample_bilinear(img, scale_factor=1.5), F.conv_tbc(x, w, b, 1)]' },
  { name: 'histogram', inputs: () => [r(20), pos(20)], constants: [0, 1],
    ts: (x, w) => [x.histogram(5), x.histogram(4, { range: [-1, 1], density: true }), torch.histogram(x, 3, { weight: w })],
    py: 'lambda x, w: [tuple(torch.histogram(x, 5)), tuple(torch.histogram(x, 4, range=(-1.0, 1.0), density=True)), tuple(torch.histogram(x, 3, weight=w))]' },
  { name: 'losses_more', inputs: () => [r(6), r(6), torch.tensor([1, -1, 1, 1, -1, -1], { dtype: 'float64' }), r(4, 5), r(4, 5), r(4, 5), pos(4, 5), long([0, 3, 4, 1]), pos(5), prob(4, 5).gt(0.5).to({ dtype: 'float64' })], constants: [2, 7, 8, 9],
    ts: (a, b, y, x, p, n, rate, cls, w, multi) => [F.marginRankingLoss(a, b, y, { margin: 0.2 }), F.cosineEmbeddingLoss(x, p, y.index('0:4'), { margin: 0.1 }), F.hingeEmbeddingLoss(a, y, { margin: 0.5, reduction: 'sum' }),
      F.softMarginLoss(a, y, { reduction: 'none' }), F.tripletMarginLoss(x, p, n, { margin: 0.5, swap: true }), F.tripletMarginLoss(x, p, n, { p: 1, reduction: 'none' }),
      F.poissonNllLoss(x, rate), F.poissonNllLoss(rate, rate.mul(2), { logInput: false, full: true }), F.multiMarginLoss(x, cls), F.multiMarginLoss(x, cls, { p: 2, margin: 0.5, weight: w, reduction: 'sum' }),
      F.multilabelSoftMarginLoss(x, multi), F.multilabelSoftMarginLoss(x, multi, { weight: w, reduction: 'none' }), F.gaussianNllLoss(x, p, rate), F.gaussianNllLoss(x, p, rate.index(':', 0), { full: true, reduction: 'sum' })],
    py: 'lambda a, b, y, x, p, n, rate, cls, w, multi: [F.margin_ranking_loss(a, b, y, margin=0.2), F.cosine_embedding_loss(x, p, y[0:4], margin=0.1), F.hinge_embedding_loss(a, y, margin=0.5, reduction="sum"), '
      + 'F.soft_margin_loss(a, y, reduction="none"), F.triplet_margin_loss(x, p, n, margin=0.5, swap=True), F.triplet_margin_loss(x, p, n, p=1, reduction="none"), '
      + 'F.poisson_nll_loss(x, rate), F.poisson_nll_loss(rate, rate * 2, log_input=False, full=True), F.multi_margin_loss(x, cls), F.multi_margin_loss(x, cls, p=2, margin=0.5, weight=w, reduction="sum"), '
      + 'F.multilabel_soft_margin_loss(x, multi), F.multilabel_soft_margin_loss(x, multi, weight=w, reduction="none"), F.gaussian_nll_loss(x, p, rate), F.gaussian_nll_loss(x, p, rate[:, 0], full=True, reduction="sum")]' },
  { name: 'ctc', inputs: () => [r(6, 2, 4), long([[1, 2, 2], [3, 1, 0]]), long([6, 5]), long([3, 2])], constants: [1, 2, 3],
    ts: (x, t, il, tl) => { const lp = F.logSoftmax(x, 2); return [F.ctcLoss(lp, t, il, tl), F.ctcLoss(lp, t, il, tl, { reduction: 'none' }), F.ctcLoss(lp, t, [6, 4], [3, 2], { reduction: 'sum', blank: 0 })]; },
    py: 'lambda x, t, il, tl: [F.ctc_loss(x.log_softmax(2), t, il, tl), F.ctc_loss(x.log_softmax(2), t, il, tl, reduction="none"), F.ctc_loss(x.log_softmax(2), t, [6, 4], [3, 2], reduction="sum", blank=0)]' },
  { name: 'layers_more', inputs: () => [r(2, 8, 3, 3), r(2, 3, 4, 4), r(5, 3), r(5, 4), r(2, 3, 4), pos(3), r(3)],
    ts: (x, img, u, v, bw, rm, w) => [F.pixelShuffle(x, 2), F.pixelUnshuffle(img, 2), F.hardshrink(u, 0.3), F.softshrink(u), F.tanhshrink(u), F.threshold(u, 0.1, -2), F.softmin(u, 1),
      F.bilinear(u, v, bw), F.bilinear(u.index(':', '0:3'), v, bw.index(':', ':', ':'), w.index('0:2')), F.instanceNorm(img), F.instanceNorm(img, { weight: w, bias: w.mul(2) }),
      F.instanceNorm(img, { runningMean: rm.detach().clone(), runningVar: rm.detach().clone(), useInputStats: false })],
    py: 'lambda x, img, u, v, bw, rm, w: [F.pixel_shuffle(x, 2), F.pixel_unshuffle(img, 2), F.hardshrink(u, 0.3), F.softshrink(u), F.tanhshrink(u), F.threshold(u, 0.1, -2), F.softmin(u, 1), '
      + 'F.bilinear(u, v, bw), F.bilinear(u[:, 0:3], v, bw[:, :, :], w[0:2]), F.instance_norm(img), F.instance_norm(img, weight=w, bias=w * 2), '
      + 'F.instance_norm(img, running_mean=rm.detach().clone(), running_var=rm.detach().clone(), use_input_stats=False)]' },
  { name: 'sampling_grids', inputs: () => [r(2, 3, 5, 6), unit(2, 4, 5, 2), r(2, 2, 3), r(1, 2, 6, 6), r(1, 8, 9)],
    ts: (img, grid, theta, x, cols) => [F.gridSample(img, grid), F.gridSample(img, grid, { mode: 'nearest', paddingMode: 'border', alignCorners: true }), F.gridSample(img, grid.mul(1.5), { mode: 'bicubic', paddingMode: 'reflection' }),
      F.affineGrid(theta, [2, 3, 4, 5]), F.affineGrid(theta, [2, 1, 3, 3], true), F.unfold(x, 3), F.unfold(x, [2, 3], { stride: 2, padding: 1, dilation: [1, 2] }),
      F.fold(F.unfold(x, 3), [6, 6], 3), new nn.Fold([7, 8], 2, { stride: [2, 3] }).forward(cols)],
    py: 'lambda img, grid, theta, x, cols: [F.grid_sample(img, grid, align_corners=False), F.grid_sample(img, grid, mode="nearest", padding_mode="border", align_corners=True), F.grid_sample(img, grid * 1.5, mode="bicubic", padding_mode="reflection", align_corners=False), '
      + 'F.affine_grid(theta, [2, 3, 4, 5], align_corners=False), F.affine_grid(theta, [2, 1, 3, 3], align_corners=True), F.unfold(x, 3), F.unfold(x, (2, 3), stride=2, padding=1, dilation=(1, 2)), '
      + 'F.fold(F.unfold(x, 3), (6, 6), 3), nn.Fold((7, 8), 2, stride=(2, 3))(cols)]' },
  { name: 'embedding_bag', inputs: () => [r(10, 3), long([[1, 2, 4], [4, 3, 9]]), long([0, 2, 4, 5, 4, 3, 2, 9]), long([0, 3, 3, 5]), pos(8)], constants: [1, 2, 3],
    ts: (w, ids2, ids, offsets, psw) => [F.embeddingBag(ids2, w), F.embeddingBag(ids2, w, { mode: 'sum' }), F.embeddingBag(ids, w, { offsets, mode: 'max' }),
      F.embeddingBag(ids, w, { offsets, mode: 'sum', perSampleWeights: psw }), F.embeddingBag(ids, w, { offsets, paddingIdx: 4 }), F.embeddingBag(ids, w, { offsets: long([0, 3, 5, 8]), includeLastOffset: true, mode: 'sum' }),
      F.embedding(ids2, w.mul(1), { maxNorm: 1.0 }), F.embeddingBag(ids2, w.mul(1), { maxNorm: 0.5, normType: 1 })],
    py: 'lambda w, ids2, ids, offsets, psw: [F.embedding_bag(ids2, w), F.embedding_bag(ids2, w, mode="sum"), F.embedding_bag(ids, w, offsets, mode="max"), '
      + 'F.embedding_bag(ids, w, offsets, mode="sum", per_sample_weights=psw), F.embedding_bag(ids, w, offsets, padding_idx=4), F.embedding_bag(ids, w, torch.tensor([0, 3, 5, 8]), include_last_offset=True, mode="sum"), '
      + 'F.embedding(ids2, w * 1, max_norm=1.0), F.embedding_bag(ids2, w * 1, max_norm=0.5, norm_type=1)]' },
  // ---- complex numbers, torch.fft, stft (complex outputs are compared as torch.viewAsReal pairs) ----
  { name: 'complex_parts', inputs: () => [r(3, 4), r(3, 4)],
    ts: (a, b) => { const z = torch.complex(a, b); return [z, z.real, z.imag, z.abs(), z.angle(), z.conj(), z.conjPhysical(), z.conj().imag, torch.polar(a.abs(), b), torch.viewAsReal(z).sum(-1), torch.viewAsComplex(torch.stack([a, b], -1)), z.isComplex(), a.isComplex(), a.angle()]; },
    py: 'lambda a, b: (lambda z: [z, z.real, z.imag, z.abs(), z.angle(), z.conj(), z.conj_physical(), z.conj().imag, torch.polar(a.abs(), b), torch.view_as_real(z).sum(-1), torch.view_as_complex(torch.stack([a, b], -1)), z.is_complex(), a.is_complex(), a.angle()])(torch.complex(a, b))' },
  { name: 'complex_math', inputs: () => [r(3, 3), r(3, 3), r(3)],
    ts: (a, b, v) => { const z = torch.complex(a, b); return [z.mul(z), z.div(z.add(2)), z.exp(), z.log(), z.sqrt(), z.reciprocal(), z.matmul(z), z.mv(v.to('complex128')), z.sum(), z.mean(1), z.mul(a), z.add(1), z.mul(2.5), z.abs().pow(2), z.sigmoid(), z.tanh(), z.matmul(z.conj().transpose(0, 1)), z.to('complex64')]; },
    py: 'lambda a, b, v: (lambda z: [z * z, z / (z + 2), z.exp(), z.log(), z.sqrt(), z.reciprocal(), z @ z, z.mv(v.to(torch.complex128)), z.sum(), z.mean(1), z * a, z + 1, z * 2.5, z.abs() ** 2, z.sigmoid(), z.tanh(), z @ z.conj().t(), z.to(torch.complex64)])(torch.complex(a, b))' },
  { name: 'fft_1d', inputs: () => [r(4, 10), r(4, 6)],
    ts: (x, y) => { const z = torch.complex(x.narrow(1, 0, 6), y); return [fft.fft(x), fft.ifft(x, 12), fft.fft(x, null, 0, 'ortho'), fft.fft(z, { n: 4, norm: 'forward' }), fft.ifft(z, { dim: 0 }), fft.rfft(x), fft.rfft(x, { n: 7, dim: 0 }), fft.irfft(z), fft.irfft(z, 9, -1, 'ortho'), fft.hfft(z), fft.hfft(z, { n: 7 }), fft.ihfft(x)]; },
    py: 'lambda x, y: (lambda z: [torch.fft.fft(x), torch.fft.ifft(x, 12), torch.fft.fft(x, None, 0, "ortho"), torch.fft.fft(z, n=4, norm="forward"), torch.fft.ifft(z, dim=0), torch.fft.rfft(x), torch.fft.rfft(x, n=7, dim=0), torch.fft.irfft(z), torch.fft.irfft(z, 9, -1, "ortho"), torch.fft.hfft(z), torch.fft.hfft(z, n=7), torch.fft.ihfft(x)])(torch.complex(x[:, :6], y))' },
  { name: 'fft_nd', inputs: () => [r(3, 4, 6), r(3, 4, 6)],
    ts: (x, y) => { const z = torch.complex(x, y); return [fft.fftn(x), fft.fftn(z, [2, 5], [0, 2]), fft.ifftn(z, { dim: [1, 2], norm: 'ortho' }), fft.rfftn(x), fft.irfftn(z), fft.irfftn(z, { s: [4, 8], dim: [1, 2] }), fft.fft2(z), fft.ifft2(x), fft.rfft2(x, [3, 5]), fft.irfft2(z), fft.hfft2(z), fft.ihfft2(x), fft.hfftn(z, { dim: [0, 2] }), fft.ihfftn(x, { norm: 'forward' })]; },
    py: 'lambda x, y: (lambda z: [torch.fft.fftn(x), torch.fft.fftn(z, [2, 5], [0, 2]), torch.fft.ifftn(z, dim=[1, 2], norm="ortho"), torch.fft.rfftn(x), torch.fft.irfftn(z), torch.fft.irfftn(z, s=[4, 8], dim=[1, 2]), torch.fft.fft2(z), torch.fft.ifft2(x), torch.fft.rfft2(x, [3, 5]), torch.fft.irfft2(z), torch.fft.hfft2(z), torch.fft.ihfft2(x), torch.fft.hfftn(z, dim=[0, 2]), torch.fft.ihfftn(x, norm="forward")])(torch.complex(x, y))' },
  { name: 'fft_helpers', inputs: () => [r(5, 6)],
    ts: (x) => [fft.fftshift(x), fft.fftshift(x, 1), fft.ifftshift(x, [0]), fft.ifftshift(x), fft.fftfreq(7, 0.5, { dtype: 'float64' }), fft.fftfreq(8), fft.rfftfreq(9, 2, { dtype: 'float64' }), fft.rfftfreq(8)],
    py: 'lambda x: [torch.fft.fftshift(x), torch.fft.fftshift(x, 1), torch.fft.ifftshift(x, [0]), torch.fft.ifftshift(x), torch.fft.fftfreq(7, 0.5, dtype=torch.float64), torch.fft.fftfreq(8), torch.fft.rfftfreq(9, 2, dtype=torch.float64), torch.fft.rfftfreq(8)]' },
  { name: 'stft_istft', inputs: () => [r(2, 64), r(40)],
    ts: (x, y) => {
      const w = torch.hannWindow(16, { dtype: 'float64' }), w8 = torch.hannWindow(8, { dtype: 'float64' });
      const S = torch.stft(x, 16, { window: w });
      return [S, torch.stft(x, 16, { hopLength: 5, winLength: 12, window: torch.hammingWindow(12, { dtype: 'float64' }), center: false, normalized: true }),
        torch.stft(y, 8, { padMode: 'constant', onesided: false }), torch.stft(y, 10, { returnComplex: false }),
        torch.istft(S, 16, { window: w, length: 64 }), torch.istft(torch.stft(y, 8, { hopLength: 2, window: w8 }), 8, { hopLength: 2, window: w8 })];
    },
    py: `def f(x, y):
    w, w8 = torch.hann_window(16, dtype=torch.float64), torch.hann_window(8, dtype=torch.float64)
    S = torch.stft(x, 16, window=w, return_complex=True)
    return [S, torch.stft(x, 16, hop_length=5, win_length=12, window=torch.hamming_window(12, dtype=torch.float64), center=False, normalized=True, return_complex=True),
            torch.stft(y, 8, pad_mode="constant", onesided=False, return_complex=True), torch.stft(y, 10, return_complex=False),
            torch.istft(S, 16, window=w, length=64), torch.istft(torch.stft(y, 8, hop_length=2, window=w8, return_complex=True), 8, hop_length=2, window=w8)]` },
  { name: 'windows', inputs: () => [],
    ts: () => [torch.hannWindow(10), torch.hannWindow(10, { periodic: false }), torch.hammingWindow(7, { alpha: 0.5, beta: 0.5 }), torch.blackmanWindow(9, { dtype: 'float64' }), torch.bartlettWindow(6), torch.kaiserWindow(8, { beta: 5, dtype: 'float64', periodic: false })],
    py: 'lambda: [torch.hann_window(10), torch.hann_window(10, periodic=False), torch.hamming_window(7, True, 0.5, 0.5), torch.blackman_window(9, dtype=torch.float64), torch.bartlett_window(6), torch.kaiser_window(8, False, 5.0, dtype=torch.float64)]' },
  { name: 'linalg_eig', inputs: () => [r(4, 4)],
    ts: (A) => { const { eigenvalues, eigenvectors } = linalg.eig(A); return [eigenvalues, eigenvectors.abs(), linalg.eigvals(A)]; },
    py: 'lambda A: (lambda e: [e.eigenvalues, e.eigenvectors.abs(), torch.linalg.eigvals(A)])(torch.linalg.eig(A))' },
  // ---- torch.special (functions without a derivative in libtorch on detached inputs) ----
  { name: 'special', inputs: () => [pos(3, 4), unit(3, 4), prob(5)],
    ts: (p, u, q) => { const S = torch.special; return [S.entr(q), S.erfcx(u), S.i0(u), S.i0e(u), S.i1(u), S.i1e(u), S.ndtr(u), S.ndtri(q), S.logNdtr(u), S.xlog1py(p, u), S.polygamma(1, p), S.polygamma(2, p), S.multigammaln(p.add(2), 3), S.expit(u), S.gammaln(p), S.psi(p), S.logit(q, 0.1), S.sinc(u), S.logsumexp(u, 1), S.softmax(u, 0), S.logSoftmax(u, 1), S.xlogy(p, p), S.erfinv(u), S.round(u.mul(4)), u.i0(), p.polygamma(1), p.add(1).mvlgamma(2)]; },
    py: 'lambda p, u, q: (lambda S: [S.entr(q), S.erfcx(u), S.i0(u), S.i0e(u), S.i1(u), S.i1e(u), S.ndtr(u), S.ndtri(q), S.log_ndtr(u), S.xlog1py(p, u), S.polygamma(1, p), S.polygamma(2, p), S.multigammaln(p + 2, 3), S.expit(u), S.gammaln(p), S.psi(p), S.logit(q, 0.1), S.sinc(u), S.logsumexp(u, 1), S.softmax(u, 0), S.log_softmax(u, 1), S.xlogy(p, p), S.erfinv(u), S.round(u * 4), u.i0(), p.polygamma(1), (p + 1).mvlgamma(2)])(torch.special)' },
  { name: 'special_nograd', inputs: () => [pos(3, 4), unit(3, 4), r(6), prob(5)],
    ts: (p0, u0, x0, q0) => {
      const S = torch.special, [p, u, x, q] = [p0.detach(), u0.detach(), x0.detach(), q0.detach()], n = torch.tensor([0, 1, 2, 5, 3]);
      return [S.zeta(p.add(1), p), S.gammainc(p, p.mul(2)), S.gammaincc(p, p.mul(2)), p.igamma(p.add(1)), p.igammac(p.add(1)), S.besselJ0(x), S.besselJ1(x), S.besselY0(p), S.besselY1(p),
        S.modifiedBesselI0(x), S.modifiedBesselI1(x), S.modifiedBesselK0(p), S.modifiedBesselK1(p), S.scaledModifiedBesselK0(p), S.scaledModifiedBesselK1(p), S.sphericalBesselJ0(x), S.airyAi(x),
        S.chebyshevPolynomialT(u, 3), S.chebyshevPolynomialU(q, n), S.chebyshevPolynomialV(u, 4), S.chebyshevPolynomialW(q, n), S.shiftedChebyshevPolynomialT(q, n), S.shiftedChebyshevPolynomialU(q, 2),
        S.shiftedChebyshevPolynomialV(q, 3), S.shiftedChebyshevPolynomialW(q, n), S.hermitePolynomialH(u, 5), S.hermitePolynomialHe(q, n), S.laguerrePolynomialL(p, 4), S.legendrePolynomialP(q, n)];
    },
    py: `def f(p0, u0, x0, q0):
    S, (p, u, x, q), n = torch.special, (p0.detach(), u0.detach(), x0.detach(), q0.detach()), torch.tensor([0, 1, 2, 5, 3])
    return [S.zeta(p + 1, p), S.gammainc(p, p * 2), S.gammaincc(p, p * 2), p.igamma(p + 1), p.igammac(p + 1), S.bessel_j0(x), S.bessel_j1(x), S.bessel_y0(p), S.bessel_y1(p),
            S.modified_bessel_i0(x), S.modified_bessel_i1(x), S.modified_bessel_k0(p), S.modified_bessel_k1(p), S.scaled_modified_bessel_k0(p), S.scaled_modified_bessel_k1(p), S.spherical_bessel_j0(x), S.airy_ai(x),
            S.chebyshev_polynomial_t(u, 3), S.chebyshev_polynomial_u(q, n), S.chebyshev_polynomial_v(u, 4), S.chebyshev_polynomial_w(q, n), S.shifted_chebyshev_polynomial_t(q, n), S.shifted_chebyshev_polynomial_u(q, 2),
            S.shifted_chebyshev_polynomial_v(q, 3), S.shifted_chebyshev_polynomial_w(q, n), S.hermite_polynomial_h(u, 5), S.hermite_polynomial_he(q, n), S.laguerre_polynomial_l(p, 4), S.legendre_polynomial_p(q, n)]` },
  // ---- sparse COO tensors (compared as the dense tensors they stand for) ----
  { name: 'sparse_coo', inputs: () => [r(4), r(3, 5), r(2, 3)],
    ts: (v, d, d2) => {
      const s = torch.sparseCooTensor(long([[0, 1, 1, 1], [2, 0, 2, 2]]), v, [3, 3]);  // (1, 2) twice: coalesce sums them
      const c = s.coalesce();
      return [s, c.indices(), c.values(), s.nnz(), c.nnz(), s.isCoalesced(), c.isCoalesced(), s.isSparse, s.sparseDim(), s.denseDim(), torch.sparse.mm(s, d),
        s.add(s), s.mul(2), s.neg(), s.t(), torch.sparse.sum(s), torch.sparse.sum(s, [1]), torch.sparse.sum(s, 0), torch.sparse.softmax(c, 1), torch.sparse.logSoftmax(c, 0),
        d2.toSparse(), d2.toSparse().coalesce().indices(), d2.toSparse(1).values(), s.mul(s), s.toDense().mul(3), d2.toSparse().add(d2.toSparse()).coalesce().values(), d2.toSparse().toDense(),
        torch.sparseCooTensor(long([[0, 2]]), d2, [4, 3]), torch.sparseCooTensor(long([[0, 1]]), v.narrow(0, 0, 2)).shape];
    },
    py: `def f(v, d, d2):
    s = torch.sparse_coo_tensor(torch.tensor([[0, 1, 1, 1], [2, 0, 2, 2]]), v, (3, 3))
    c = s.coalesce()
    return [s, c.indices(), c.values(), s._nnz(), c._nnz(), s.is_coalesced(), c.is_coalesced(), s.is_sparse, s.sparse_dim(), s.dense_dim(), torch.sparse.mm(s, d),
            s + s, s * 2, -s, s.t(), torch.sparse.sum(s), torch.sparse.sum(s, [1]), torch.sparse.sum(s, 0), torch.sparse.softmax(c, 1), torch.sparse.log_softmax(c, 0),
            d2.to_sparse(), d2.to_sparse().coalesce().indices(), d2.to_sparse(1).values(), s * s, s.to_dense() * 3, (d2.to_sparse() + d2.to_sparse()).coalesce().values(), d2.to_sparse().to_dense(),
            torch.sparse_coo_tensor(torch.tensor([[0, 2]]), d2, (4, 3)), list(torch.sparse_coo_tensor(torch.tensor([[0, 1]]), v[:2]).shape)]` },
  // ---- pooling with indices, unpooling, LP pooling, local response norm, channel shuffle, more losses ----
  { name: 'pool_more', inputs: () => [r(2, 3, 6, 6), r(2, 3, 7), r(1, 2, 4, 4, 4)],
    ts: (x, y, v) => {
      const { values, indices } = F.maxPool2dWithIndices(x, 2);
      const m1 = F.maxPool1dWithIndices(y, 3, { stride: 2, padding: 1 });
      const m3 = F.maxPool3dWithIndices(v, 2);
      return [values, indices, F.maxUnpool2d(values, indices, 2), F.maxUnpool2d(values, indices, 2, { outputSize: [7, 7] }), m1, F.maxUnpool1d(m1.values, m1.indices, 3, { stride: 2, padding: 1 }), m3, F.maxUnpool3d(m3.values, m3.indices, 2),
        F.adaptiveMaxPool1dWithIndices(y, 3), F.adaptiveMaxPool2dWithIndices(x, [4, 3]), F.adaptiveMaxPool3dWithIndices(v, 2), F.lpPool1d(y.abs(), 2, 3, { stride: 2 }), F.lpPool2d(x, 3, 2), F.lpPool2d(x.abs(), 1.5, [2, 3], { stride: [1, 2], ceilMode: true }),
        F.localResponseNorm(y, 3), F.localResponseNorm(x, 2, { alpha: 0.01, beta: 0.5, k: 2 }), F.localResponseNorm(v, 3), F.channelShuffle(x, 3), F.channelShuffle(x.detach(), 3), F.rrelu(x), F.dropout3d(v, 0.5, false), F.featureAlphaDropout(x, 0.3, false)];
    },
    py: `def f(x, y, v):
    values, indices = F.max_pool2d(x, 2, return_indices=True)
    m1 = F.max_pool1d(y, 3, stride=2, padding=1, return_indices=True)
    m3 = F.max_pool3d(v, 2, return_indices=True)
    return [values, indices, F.max_unpool2d(values, indices, 2), F.max_unpool2d(values, indices, 2, output_size=[7, 7]), m1, F.max_unpool1d(m1[0], m1[1], 3, stride=2, padding=1), m3, F.max_unpool3d(m3[0], m3[1], 2),
            F.adaptive_max_pool1d(y, 3, return_indices=True), F.adaptive_max_pool2d(x, (4, 3), return_indices=True), F.adaptive_max_pool3d(v, 2, return_indices=True), F.lp_pool1d(y.abs(), 2, 3, stride=2), F.lp_pool2d(x, 3, 2), F.lp_pool2d(x.abs(), 1.5, (2, 3), stride=(1, 2), ceil_mode=True),
            F.local_response_norm(y, 3), F.local_response_norm(x, 2, alpha=0.01, beta=0.5, k=2.0), F.local_response_norm(v, 3), x.reshape(2, 3, 1, 6, 6).transpose(1, 2).reshape(2, 3, 6, 6), F.channel_shuffle(x.detach(), 3), F.rrelu(x), F.dropout3d(v, 0.5, False), F.feature_alpha_dropout(x, 0.3, False)]` },
  { name: 'losses_extra', inputs: () => [r(3, 5), r(4, 6), r(4, 6), r(4, 6)],
    ts: (x, a, p, n) => {
      const t = long([[3, 0, -1, 1, 0], [1, 2, 4, -1, 0], [0, 1, 2, 3, 4]]);
      return [F.multilabelMarginLoss(x, t), F.multilabelMarginLoss(x, t, { reduction: 'none' }), F.tripletMarginWithDistanceLoss(a, p, n),
        F.tripletMarginWithDistanceLoss(a, p, n, { distanceFunction: (u, w) => u.sub(w).abs().sum(-1), margin: 0.5, swap: true, reduction: 'sum' }),
        F.tripletMarginWithDistanceLoss(a, p, n, { distanceFunction: (u, w) => F.cosineSimilarity(u, w).neg().add(1), reduction: 'none' })];
    },
    py: `def f(x, a, p, n):
    t = torch.tensor([[3, 0, -1, 1, 0], [1, 2, 4, -1, 0], [0, 1, 2, 3, 4]])
    return [F.multilabel_margin_loss(x, t), F.multilabel_margin_loss(x, t, reduction="none"), F.triplet_margin_with_distance_loss(a, p, n),
            F.triplet_margin_with_distance_loss(a, p, n, distance_function=lambda u, w: (u - w).abs().sum(-1), margin=0.5, swap=True, reduction="sum"),
            F.triplet_margin_with_distance_loss(a, p, n, distance_function=lambda u, w: 1 - F.cosine_similarity(u, w), reduction="none")]` },
  // ---- in-place variants, aliases and small conveniences of the Tensor API ----
  { name: 'tensor_api_more', inputs: () => [unit(3, 4), pos(3, 4), r(3, 4), r(4)],
    ts: (u, p, x, v) => {
      const c = (t: T) => t.clone(), d = (t: T) => t.detach().clone();
      return [c(u).acos_(), d(p).add(1).acosh_(), c(u).asin_(), d(x).asinh_(), c(x).atan_(), d(u).atanh_(), d(x).mul(3).ceil_(), c(x).cos_(), c(x).cosh_(), c(p).digamma_(),
        c(x).erf_(), c(x).erfc_(), c(x).exp2_(), c(x).expm1_(), d(x).mul(3).floor_(), c(x).mul(3).frac_(), c(p).lgamma_(), c(p).log10_(), c(p).log1p_(), c(p).log2_(),
        c(p).reciprocal_(), d(x).mul(3).round_(), c(p).rsqrt_(), d(x).sign_(), c(x).sin_(), c(x).sinh_(), c(x).square_(), c(u).tan_(), d(x).mul(3).trunc_(), c(x).deg2rad_(),
        c(x).rad2deg_(), c(u).abs().logit_(), c(x).cumsum_(1), c(x).cumprod_(0), c(x).fmod_(0.7), c(x).fmod_(p), c(x).remainder_(0.7), c(x).remainder_(p), d(x).eq_(x), d(x).lt_(0),
        d(x).ge_(p.sub(1)), d(x).floorDivide_(0.5), c(p).xlogy_(p), c(x).copysign_(u), c(x).atan2_(p), c(x).hypot_(p), d(x).gt(0).logicalAnd_(d(u).gt(0)), d(x).gt(0).logicalNot_(),
        c(x).t_(), c(x).transpose_(0, 1), c(v).unsqueeze_(0), c(v).unsqueeze_(1).squeeze_(), c(x).put_(long([0, 5, 11]), v.narrow(0, 0, 3)), x.put(long([1, 2]), v.narrow(0, 0, 2), true),
        x.sumToSize([1, 4]), v.diagflat(1), x.dist(p, 3), x.frexp(), x.isreal(), x.isSigned(), x.absolute(), x.arctan2(p), x.divide(p), x.multiply(p), x.subtract(p, 2), x.negative(),
        x.greater(0), x.fix(), x.clampMin(0), x.clampMax(0.5), x.moveaxis(0, 1), x.swapaxes(0, 1), x.ravel(), x.fliplr(), x.flipud(), x.mT, x.unflatten(1, [2, 2]), x.newZeros([2]),
        x.newFull([2], 3), x.int(), x.softmax(1), x.logSoftmax(0), v.outer(v), x.gt(0).argwhere(), x.elementSize(), x.nelement(), x.ndimension(), x.narrow(0, 0, 1).narrow(1, 0, 1).isNonzero()];
    },
    py: `def f(u, p, x, v):
    c, d = (lambda t: t.clone()), (lambda t: t.detach().clone())
    return [c(u).acos_(), d(p).add(1).acosh_(), c(u).asin_(), d(x).asinh_(), c(x).atan_(), d(u).atanh_(), d(x).mul(3).ceil_(), c(x).cos_(), c(x).cosh_(), c(p).digamma_(),
            c(x).erf_(), c(x).erfc_(), c(x).exp2_(), c(x).expm1_(), d(x).mul(3).floor_(), c(x).mul(3).frac_(), c(p).lgamma_(), c(p).log10_(), c(p).log1p_(), c(p).log2_(),
            c(p).reciprocal_(), d(x).mul(3).round_(), c(p).rsqrt_(), d(x).sign_(), c(x).sin_(), c(x).sinh_(), c(x).square_(), c(u).tan_(), d(x).mul(3).trunc_(), c(x).deg2rad_(),
            c(x).rad2deg_(), c(u).abs().logit_(), c(x).cumsum_(1), c(x).cumprod_(0), c(x).fmod_(0.7), c(x).fmod_(p), c(x).remainder_(0.7), c(x).remainder_(p), d(x).eq_(x), d(x).lt_(0),
            d(x).ge_(p - 1), d(x).floor_divide_(0.5), c(p).xlogy_(p), c(x).copysign_(u), c(x).atan2_(p), c(x).hypot_(p), (d(x) > 0).logical_and_(d(u) > 0), (d(x) > 0).logical_not_(),
            c(x).t_(), c(x).transpose_(0, 1), c(v).unsqueeze_(0), c(v).unsqueeze_(1).squeeze_(), c(x).put_(torch.tensor([0, 5, 11]), v[:3]), x.put(torch.tensor([1, 2]), v[:2], accumulate=True),
            x.sum_to_size(1, 4), v.diagflat(1), x.dist(p, 3), x.frexp(), x.isreal(), x.is_signed(), x.absolute(), x.arctan2(p), x.divide(p), x.multiply(p), x.subtract(p, alpha=2), x.negative(),
            x.greater(0), x.fix(), x.clamp_min(0), x.clamp_max(0.5), x.moveaxis(0, 1), x.swapaxes(0, 1), x.ravel(), x.fliplr(), x.flipud(), x.mT, x.unflatten(1, (2, 2)), x.new_zeros(2),
            x.new_full((2,), 3), x.int(), x.softmax(1), x.log_softmax(0), v.outer(v), (x > 0).argwhere(), x.element_size(), x.nelement(), x.ndimension(), x[:1, :1].is_nonzero()]` },
  { name: 'torch_functions', inputs: () => [r(3, 4), pos(3, 4), r(4)],
    ts: (x, p, v) => [torch.abs(x), torch.sum(x, 1), torch.mean(x), torch.argmax(x, 1), torch.sin(x), torch.cos(x), torch.pow(p, 2), torch.var(x, 0), torch.std(x), torch.max(x), torch.max(x, 1), torch.max(x, p), torch.min(x, 0, true), torch.median(x),
      torch.transpose(x, 0, 1), torch.reshape(x, [2, 6]), torch.squeeze(torch.unsqueeze(v, 0)), torch.flatten(x), torch.gather(x, 1, long([[0], [1], [3]])), torch.prod(p, 1), torch.logsumexp(x, 1),
      torch.div(x, p), torch.mul(x, 2), torch.sub(x, p, 3), torch.add(x, p), torch.norm(x), torch.t(x), torch.narrow(x, 1, 1, 2), torch.chunk(x, 2, 1), torch.split(x, [1, 3], 1), torch.isnan(x),
      torch.softmax(x, 1), torch.logSoftmax(x, 0), torch.clip(x, -0.5, 0.5), torch.sign(x), torch.rsqrt(p), torch.floorDivide(x.detach(), 0.5), torch.remainder(x, 0.7), torch.numel(x)],
    py: 'lambda x, p, v: [torch.abs(x), torch.sum(x, 1), torch.mean(x), torch.argmax(x, 1), torch.sin(x), torch.cos(x), torch.pow(p, 2), torch.var(x, 0), torch.std(x), torch.max(x), tuple(torch.max(x, 1)), torch.max(x, p), tuple(torch.min(x, 0, keepdim=True)), torch.median(x), '
      + 'torch.transpose(x, 0, 1), torch.reshape(x, (2, 6)), torch.squeeze(torch.unsqueeze(v, 0)), torch.flatten(x), torch.gather(x, 1, torch.tensor([[0], [1], [3]])), torch.prod(p, 1), torch.logsumexp(x, 1), '
      + 'torch.div(x, p), torch.mul(x, 2), torch.sub(x, p, alpha=3), torch.add(x, p), torch.norm(x), torch.t(x), torch.narrow(x, 1, 1, 2), torch.chunk(x, 2, 1), torch.split(x, [1, 3], 1), torch.isnan(x), '
      + 'torch.softmax(x, 1), torch.log_softmax(x, 0), torch.clip(x, -0.5, 0.5), torch.sign(x), torch.rsqrt(p), torch.floor_divide(x.detach(), 0.5), torch.remainder(x, 0.7), torch.numel(x)]' },
  { name: 'linalg_extra', inputs: () => [r(4, 4), r(4, 2), spd(3), r(2, 3, 4), r(3, 3)],
    ts: (A, B, S, T3, C) => {
      const { LU, pivots } = linalg.luFactor(A);
      const lu = linalg.lu(A);
      return [linalg.norm(A), linalg.norm(A, 'fro'), linalg.norm(A, 'nuc'), linalg.norm(A, 2), linalg.norm(B, 1, 0), linalg.norm(T3, Infinity, [1, 2]), linalg.norm(A.flatten(), 3),
        linalg.cond(A), linalg.cond(A.detach(), 'fro'), linalg.cond(A.detach(), 1), lu.P, lu.L, lu.U, LU, pivots, linalg.luSolve(LU, pivots, B), linalg.luSolve(LU, pivots, B.t(), { left: false }),
        linalg.choleskyEx(S).L, linalg.choleskyEx(S).info, linalg.invEx(A.detach()).inverse, linalg.multiDot([A, B, B.t()]), linalg.householderProduct(A.narrow(1, 0, 3), A.narrow(0, 0, 1).flatten().narrow(0, 0, 3)),
        linalg.tensorinv(A.reshape([2, 2, 2, 2]).add(torch.eye(4, 4, { dtype: 'float64' }).reshape([2, 2, 2, 2]).mul(3))), linalg.tensorsolve(C, B.narrow(0, 0, 3).narrow(1, 0, 1).flatten()),
        linalg.vander(B.narrow(1, 0, 1).flatten()), linalg.vander(B.narrow(1, 0, 1).flatten(), 3), linalg.cross(C, C.flip(0)), linalg.diagonal(T3, { offset: 1 }), linalg.matmul(A, B)];
    },
    py: `def f(A, B, S, T3, C):
    LU, pivots = torch.linalg.lu_factor(A)
    P, L, U = torch.linalg.lu(A)
    return [torch.linalg.norm(A), torch.linalg.norm(A, "fro"), torch.linalg.norm(A, "nuc"), torch.linalg.norm(A, 2), torch.linalg.norm(B, 1, 0), torch.linalg.norm(T3, float("inf"), (1, 2)), torch.linalg.norm(A.flatten(), 3),
            torch.linalg.cond(A), torch.linalg.cond(A.detach(), "fro"), torch.linalg.cond(A.detach(), 1), P, L, U, LU, pivots, torch.linalg.lu_solve(LU, pivots, B), torch.linalg.lu_solve(LU, pivots, B.t(), left=False),
            torch.linalg.cholesky_ex(S).L, torch.linalg.cholesky_ex(S).info, torch.linalg.inv_ex(A.detach()).inverse, torch.linalg.multi_dot([A, B, B.t()]), torch.linalg.householder_product(A[:, :3], A[0, :3]),
            torch.linalg.tensorinv(A.reshape(2, 2, 2, 2) + torch.eye(4, dtype=torch.float64).reshape(2, 2, 2, 2) * 3), torch.linalg.tensorsolve(C, B[:3, 0]),
            torch.linalg.vander(B[:, 0]), torch.linalg.vander(B[:, 0], N=3), torch.linalg.cross(C, C.flip(0)), torch.linalg.diagonal(T3, offset=1), torch.linalg.matmul(A, B)]` },
];
// ---------- comparing ----------
export function flatten(res: Result, out: (T | number | boolean)[] = []): (T | number | boolean)[] {
  // Complex tensors are compared as their (real, imaginary) pairs, as the reference writes them.
  // Sparse tensors are compared as the dense tensors they stand for.
  if (res instanceof torch.Tensor && res.isSparse) flatten(res.toDense(), out);
  else if (res instanceof torch.Tensor && res.isComplex()) out.push(torch.viewAsReal(res.resolveConj()));
  else if (res instanceof torch.Tensor || typeof res === 'number' || typeof res === 'boolean') out.push(res);
  else if (Array.isArray(res)) res.forEach((x) => flatten(x, out));
  else if (res && typeof res === 'object') Object.values(res).forEach((x) => x !== undefined && flatten(x, out));
  else throw new Error(`unexpected result ${String(res)}`);
  return out;
}

/** max |a - b| over the reference's largest |b| (1 when that is smaller); NaNs must be in the same places. */
export function maxErr(a: T, b: T): number {
  return torch.tidy(() => {
    if (a.numel() === 0) return 0;
    const da = a.to({ dtype: 'float64' }), db = b.to({ dtype: 'float64' });
    if (!da.isnan().equal(db.isnan())) return Infinity;
    const fa = da.nanToNum(), fb = db.nanToNum();
    const scale = Math.max(fb.abs().max().item() as number, 1);
    return (fa.sub(fb).abs().max().item() as number) / scale;
  });
}
