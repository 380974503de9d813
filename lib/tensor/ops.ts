// Free functions over tensors (torch.cat, torch.where, ...), for code that reads like PyTorch.
import { NamedTuple, namedTuple } from './named_tuple';
import { native } from './native';
import { optionsOf, keywordOptions, takesOptions, isOptionsObject } from './options';
import { Tensor, TensorLike, UniqueArgs, UniqueOf, _self as self, _wrap as wrap, _id as id } from './tensor';
import { Generator, drawGenerator } from './generator';
import { tensor as tensorFrom, randint, TensorData } from './creation';
import { DType, Device, dtypeCode, dtypeName } from './dtype';
import { det as linalgDet, inv as linalgInv, matrixPower as linalgMatrixPower, matrixExp as linalgMatrixExp, slogdet as linalgSlogdet, pinv as linalgPinv } from './linalg';

/** A tuple without its first element (a method's arguments after the tensor it is called on). */
type Tail<T extends unknown[]> = T extends [unknown, ...infer R] ? R : never;

/** cat's and stack's dim: a number, or { dim } (torch.cat(ts, dim=1)). */
function joinDim(name: string, dim: number | { dim?: number }): number {
  if (typeof dim === 'number') return dim;
  const d = optionsOf<{ dim?: number }>(`torch.${name}`, [dim], ['dim']).dim ?? 0;
  if (typeof d !== 'number') throw new Error(`torch.${name}: dim must be a number, got ${typeof d}`);
  return d;
}
function tensorList(name: string, tensors: Tensor[]): number[] {
  if (!Array.isArray(tensors)) throw new TypeError(`torch.${name}: expected an array of tensors, got ${tensors === null ? 'null' : typeof tensors}`);
  return tensors.map(id);
}
/** Joins along an existing dim: torch.cat([a, b], 1) or torch.cat([a, b], { dim: 1 }). */
export function cat(tensors: Tensor[], dim: number | { dim?: number } = 0): Tensor {
  return wrap(native.cat(tensorList('cat', tensors), joinDim('cat', dim)));
}
/** Joins along a new dim: torch.stack([a, b], 1) or torch.stack([a, b], { dim: 1 }). */
export function stack(tensors: Tensor[], dim: number | { dim?: number } = 0): Tensor {
  return wrap(native.stack(tensorList('stack', tensors), joinDim('stack', dim)));
}
/**
 * where(condition, x, y): x where condition is true, y elsewhere (either may be a number); where
 * (condition) alone: the indices of its true elements, one tensor per dim (nonzero(asTuple)).
 */
export function where(condition: Tensor): Tensor[];
export function where(condition: Tensor, x: TensorLike, y: TensorLike): Tensor;
export function where(condition: Tensor, x?: TensorLike, y?: TensorLike): Tensor | Tensor[] {
  if (x === undefined && y === undefined) return condition.nonzero({ asTuple: true });
  if (x === undefined || y === undefined) throw new Error('torch.where: give condition alone, or condition, x and y');
  if (x instanceof Tensor) return x.where(condition, y);
  if (y instanceof Tensor) return wrap(native.whereScalarSelf(id(condition), x, id(y)));
  const full = tensorFrom(x, { device: condition.device });
  try {
    return full.where(condition, y);
  } finally {
    full.dispose();
  }
}
export const matmul = (a: Tensor, b: Tensor) => self('torch.matmul', a).matmul(b);
export const mm = (a: Tensor, b: Tensor) => self('torch.mm', a).mm(b);
/** torch.spmm(sparse, dense): torch.mm's older name for a sparse matrix times a dense one (examples/gcn's GraphConv). */
export const spmm = (a: Tensor, b: Tensor) => self('torch.spmm', a).mm(b);
export const bmm = (a: Tensor, b: Tensor) => self('torch.bmm', a).bmm(b);
export const addmm = (input: Tensor, m1: Tensor, m2: Tensor, opts: { beta?: number; alpha?: number } = {}) =>
  self('torch.addmm', input).addmm(m1, m2, opts);
export const outer = (a: Tensor, b: Tensor) => wrap(native.outer(id(a), id(b)));
export const tril = (x: Tensor, diagonal = 0) => self('torch.tril', x).tril(diagonal);
export const triu = (x: Tensor, diagonal = 0) => self('torch.triu', x).triu(diagonal);
export const multinomial = (probs: Tensor, ...args: Parameters<Tensor['multinomial']>) => self('torch.multinomial', probs).multinomial.apply(probs, args);
export const topk = (x: Tensor, ...args: Parameters<Tensor['topk']>) => self('torch.topk', x).topk.apply(x, args);
export const sort = (x: Tensor, ...args: Parameters<Tensor['sort']>) => self('torch.sort', x).sort(...args);
export const cumsum = (x: Tensor, ...args: Parameters<Tensor['cumsum']>) => self('torch.cumsum', x).cumsum(...args);
export const maximum = (a: Tensor, b: Tensor) => self('torch.maximum', a).maximum(b);
export const minimum = (a: Tensor, b: Tensor) => self('torch.minimum', a).minimum(b);
export const clamp = (x: Tensor, ...args: Parameters<Tensor['clamp']>) => self('torch.clamp', x).clamp(...args);
export const exp = (x: Tensor) => self('torch.exp', x).exp();
export const log = (x: Tensor) => self('torch.log', x).log();
export const tanh = (x: Tensor) => self('torch.tanh', x).tanh();
export const sqrt = (x: Tensor) => self('torch.sqrt', x).sqrt();
export const oneHot = (x: Tensor, numClasses = -1) => wrap(native.oneHot(id(x), numClasses));

/**
 * True when |a - b| <= atol + rtol * |b| everywhere (a and b broadcast, as PyTorch's):
 * allclose(a, b, rtol, atol, equalNan) or allclose(a, b, { rtol, atol, equalNan }). Unlike
 * PyTorch's, different dtypes are compared in the wider one rather than refused.
 */
export function allclose(a: Tensor, b: Tensor, ...args: [opts?: { rtol?: number; atol?: number; equalNan?: boolean }] | [rtol?: number, atol?: number, equalNan?: boolean]): boolean {
  const opts = optionsOf<{ rtol?: number; atol?: number; equalNan?: boolean }>('torch.allclose', args, ['rtol', 'atol', 'equalNan']);
  if (a.dtype === b.dtype) return a.allclose(b, opts);
  const common = dtypeName(native.promoteTypes(dtypeCode(a.dtype), dtypeCode(b.dtype)));
  const [ca, cb] = [a.to(common), b.to(common)];
  try {
    return ca.allclose(cb, opts);
  } finally {
    ca.dispose();
    cb.dispose();
  }
}

// ---------- more of torch.* ----------
/** Einstein summation: einsum('bij,bjk->bik', a, b). */
export function einsum(equation: string, ...operands: Tensor[] | [Tensor[]]): Tensor {
  // (PyTorch takes the operands one by one or as one list)
  const list = operands.length === 1 && Array.isArray(operands[0]) ? operands[0] : operands as Tensor[];
  return wrap(native.einsum(equation, list.map(id)));
}
export const kron = (a: Tensor, b: Tensor) => wrap(native.kron(id(a), id(b)));
/** Sums products over dimsA of a and dimsB of b (or, for a number n, a's last n and b's first n dims). */
export function tensordot(a: Tensor, b: Tensor, dims: number | [number[], number[]] | { dims: number | [number[], number[]] } = 2): Tensor {
  if (isOptionsObject(dims)) dims = optionsOf<{ dims?: number | [number[], number[]] }>('tensordot', [dims], ['dims']).dims ?? 2;
  if (!(typeof dims === 'number' || (Array.isArray(dims) && dims.length === 2 && dims.every(Array.isArray)))) {
    throw new Error(`tensordot: dims is a number (the last n dims of a with the first n of b) or two arrays of dims ([[1], [0]]), got ${JSON.stringify(dims)}`);
  }
  const [da, db] = typeof dims === 'number'
    ? [Array.from({ length: dims }, (_, k) => a.ndim - dims + k), Array.from({ length: dims }, (_, k) => k)]
    : dims;
  return wrap(native.tensordot(id(a), id(b), da, db));
}
/** Pairwise p-norm distances between the rows of x1 (…, P, M) and x2 (…, R, M). */
export const cdist = takesOptions('cdist', 2, ['p'], (x1: Tensor, x2: Tensor, opts: { p?: number } = {}) => wrap(native.cdist(id(x1), id(x2), opts.p ?? 2)));
export const dot = (a: Tensor, b: Tensor) => self('torch.dot', a).dot(b);
export const cross = (a: Tensor, b: Tensor, dim = -1) => self('torch.cross', a).cross(b, dim);
export const atan2 = (a: Tensor, b: Tensor) => self('torch.atan2', a).atan2(b);
export const lerp = (start: Tensor, end: Tensor, weight: TensorLike) => self('torch.lerp', start).lerp(end, weight);
export const isclose = (a: Tensor, b: Tensor, ...args: Tail<Parameters<Tensor['isclose']>>) => self('torch.isclose', a).isclose(b, ...args);
export const equal = (a: Tensor, b: Tensor) => self('torch.equal', a).equal(b);
export const flip = (x: Tensor, dims: number | number[]) => self('torch.flip', x).flip(dims);
export const roll = (x: Tensor, shifts: number | number[], dims?: number | number[]) => self('torch.roll', x).roll(shifts, dims);
export const diag = (x: Tensor, diagonal = 0) => self('torch.diag', x).diag(diagonal);
export const diagonal = (x: Tensor, offset = 0, dim1 = 0, dim2 = 1) => self('torch.diagonal', x).diagonal(offset, dim1, dim2);
export const trace = (x: Tensor) => self('torch.trace', x).trace();
export const nonzero = (x: Tensor) => self('torch.nonzero', x).nonzero();
export const maskedSelect = (x: Tensor, mask: Tensor) => self('torch.maskedSelect', x).maskedSelect(mask);
export const unique = <A extends UniqueArgs>(x: Tensor, ...args: A): UniqueOf<A, 'unique'> => x.unique(...args);
export const amax = (x: Tensor, ...args: Parameters<Tensor['amax']>) => self('torch.amax', x).amax(...args);
export const amin = (x: Tensor, ...args: Parameters<Tensor['amin']>) => self('torch.amin', x).amin(...args);
export const cumprod = (x: Tensor, ...args: Parameters<Tensor['cumprod']>) => self('torch.cumprod', x).cumprod(...args);
export const unbind = (x: Tensor, dim = 0) => self('torch.unbind', x).unbind(dim);
export const movedim = (x: Tensor, source: number | number[], destination: number | number[]) => self('torch.movedim', x).movedim(source, destination);
export const takeAlongDim = (x: Tensor, indices: Tensor, dim?: number | null | { dim?: number | null }) => self('torch.takeAlongDim', x).takeAlongDim(indices, dim);
export const bincount = (x: Tensor, ...args: Parameters<Tensor['bincount']>) => self('torch.bincount', x).bincount(...args);
/** Indices into the sorted last dimension of sortedSequence where each value would go (right: after equal ones). */
export const searchsorted = takesOptions('searchsorted', 2, [], function searchsorted(sortedSequence: Tensor, values: Tensor, opts: { right?: boolean; side?: 'left' | 'right' | null; outInt32?: boolean; sorter?: Tensor | null } = {}): Tensor {
  if (opts.side != null && opts.side !== 'left' && opts.side !== 'right') throw new Error(`searchsorted: side must be 'left' or 'right', got '${opts.side}'`);
  if (opts.side === 'left' && opts.right) throw new Error("searchsorted: side='left' and right=True disagree; give one");
  const right = opts.right === true || opts.side === 'right';
  // (with a sorter, the sequence in its sorted order: what PyTorch searches)
  const seq = opts.sorter ? sortedSequence.takeAlongDim(opts.sorter, -1) : sortedSequence;
  try {
    const at = wrap(native.searchsorted(id(seq), id(values), right));
    if (!opts.outInt32) return at;
    const narrow = at.to({ dtype: 'int32' });
    at.dispose();
    return narrow;
  } finally {
    if (seq !== sortedSequence) seq.dispose();
  }
}, { extra: ['right', 'side', 'outInt32', 'sorter'] });
/** The bucket of each value among the sorted 1-D boundaries (right: boundaries[i-1] <= x < boundaries[i]). */
export const bucketize = takesOptions('bucketize', 2, [], function bucketize(input: Tensor, boundaries: Tensor, opts: { right?: boolean } = {}): Tensor {
  return wrap(native.bucketize(id(input), id(boundaries), opts.right ?? false));
}, { extra: ['right'] });
/** Coordinate grids of 1-D tensors; indexing 'ij' (matrix) or 'xy' (Cartesian), as torch.meshgrid. */
export function meshgrid(tensors: Tensor[], opts?: { indexing?: 'ij' | 'xy' }): Tensor[];
/** torch.meshgrid(a, b, indexing='xy'): the tensors one by one, then the options. */
export function meshgrid(...args: (Tensor | { indexing?: 'ij' | 'xy' })[]): Tensor[];
export function meshgrid(...args: unknown[]): Tensor[] {
  const [tensors, rest] = Array.isArray(args[0]) ? [args[0] as Tensor[], args.slice(1)] : [args.filter((a) => a instanceof Tensor) as Tensor[], args.filter((a) => !(a instanceof Tensor))];
  const opts = optionsOf<{ indexing?: 'ij' | 'xy' }>('meshgrid', rest, [], { extra: ['indexing'] });
  const indexing = opts.indexing ?? 'ij';
  if (indexing !== 'ij' && indexing !== 'xy') throw new Error(`meshgrid: indexing must be 'ij' or 'xy', got '${indexing}'`);
  return (native.meshgrid(tensors.map(id), indexing) as number[]).map(wrap);
}
/** Row and column indices (2, N) of the lower triangle of a row x col matrix. */
export const trilIndices = takesOptions('trilIndices', 2, ['offset'], (row: number, col: number, opts: { offset?: number; dtype?: DType; device?: Device } = {}) => triangleIndices('trilIndices', row, col, opts), { extra: ['dtype', 'device'] });
export const triuIndices = takesOptions('triuIndices', 2, ['offset'], (row: number, col: number, opts: { offset?: number; dtype?: DType; device?: Device } = {}) => triangleIndices('triuIndices', row, col, opts), { extra: ['dtype', 'device'] });
function triangleIndices(fn: 'trilIndices' | 'triuIndices', row: number, col: number, opts: { offset?: number; dtype?: DType; device?: Device }): Tensor {
  const t = wrap(native[fn](row, col, opts.offset ?? 0));
  if ((opts.dtype ?? 'int64') === 'int64' && (opts.device ?? 'cpu') === 'cpu') return t;
  const moved = t.to({ dtype: opts.dtype ?? 'int64', device: opts.device ?? 'cpu' });
  t.dispose();
  return moved;
}
/** 1 where a draw falls below p (a tensor of probabilities), else 0, in p's dtype: torch.bernoulli. */
export const bernoulli = (p: Tensor, opts: { generator?: Generator | null } = {}) => wrap(native.bernoulli(id(p), drawGenerator('bernoulli', opts)));
/** A Binomial(count, prob) draw per element (torch.binomial; count and prob floating, broadcast alike). */
export const binomial = (count: Tensor, prob: Tensor, opts: { generator?: Generator | null } = {}) => wrap(native.binomial(id(count), id(prob), drawGenerator('binomial', opts)));
/** A Poisson draw per element with that rate (torch.poisson). */
export const poisson = (rates: Tensor, opts: { generator?: Generator | null } = {}) => wrap(native.poisson(id(rates), drawGenerator('poisson', opts)));
/** The inverse of A = L Lᵀ from its Cholesky factor L (upper: from U with A = Uᵀ U), torch.cholesky_inverse. */
export const choleskyInverse = (L: Tensor, upper = false) => wrap(native.choleskyInverse(id(L), upper));
/** torch.cholesky_solve(B, L, upper): X with (L Lᵀ) X = B, from the Cholesky factor L. */
export const choleskySolve = (B: Tensor, L: Tensor, upper = false) => wrap(native.choleskySolve(id(B), id(L), upper));
/** torch.geqrf: A's QR in LAPACK's Householder form: `a` holds R above the diagonal and the reflectors below, `tau` their scales. */
export const geqrf = (A: Tensor): NamedTuple<{ a: Tensor; tau: Tensor }> => A.geqrf();
/** torch.ormqr: C multiplied by the Q of geqrf's (a, tau) without forming it: Q C (left) or C Q, Qᵀ with transpose. */
export const ormqr = (a: Tensor, tau: Tensor, C: Tensor, left = true, transpose = false) => wrap(native.ormqr(id(a), id(tau), id(C), left, transpose));
/** torch.orgqr: the Q of geqrf's (a, tau), formed (torch.linalg.householder_product). */
export const orgqr = (a: Tensor, tau: Tensor) => wrap(native.linalgHouseholderProduct(id(a), id(tau)));
/** torch.triangular_solve(b, A): X with A X = b for a triangular A (see Tensor.triangularSolve). */
export const triangularSolve = (b: Tensor, A: Tensor, upper = true, transpose = false, unitriangular = false) => self('torch.triangularSolve', b).triangularSolve(A, upper, transpose, unitriangular);
/** torch.index_put (out of place): input with values put (or added) at the index tensors' positions. */
export const indexPut = (input: Tensor, indices: Tensor[], values: Tensor, accumulate = false) => self('torch.indexPut', input).indexPut(indices, values, accumulate);
/** torch.split_with_sizes: input's pieces of the given sizes along dim. */
export const splitWithSizes = (input: Tensor, sizes: number[], dim = 0) => self('torch.splitWithSizes', input).split(sizes, dim);
/** torch.hardshrink / torch.prelu, as torch.nn.functional's. */
export const hardshrink = (input: Tensor, lambd = 0.5) => self('torch.hardshrink', input).hardshrink(lambd);
export const prelu = (input: Tensor, weight: Tensor) => self('torch.prelu', input).prelu(weight);
/** torch.vander: the Vandermonde matrix of a 1-D x, N columns (default x's length), powers decreasing (increasing: from x⁰). */
export const vander = takesOptions('vander', 1, ['N', 'increasing'], (x: Tensor, opts: { N?: number | null; increasing?: boolean } = {}) => wrap(native.vander(id(x), opts.N ?? null, opts.increasing ?? false)));

// ---------- stacking, products and sums over tensors (torch.hstack, ...) ----------
export const hstack = (tensors: Tensor[]) => wrap(native.hstack(tensorList('hstack', tensors)));
export const vstack = (tensors: Tensor[]) => wrap(native.vstack(tensorList('vstack', tensors)));
export const dstack = (tensors: Tensor[]) => wrap(native.dstack(tensorList('dstack', tensors)));
export const columnStack = (tensors: Tensor[]) => wrap(native.columnStack(tensorList('columnStack', tensors)));
/** Every combination of one element from each 1-D tensor, as rows. */
export const cartesianProd = (...tensors: Tensor[]) => wrap(native.cartesianProd(tensors.map(id)));
/** The matrices on the diagonal of one block matrix. */
export const blockDiag = (...tensors: Tensor[]) => wrap(native.blockDiag(tensors.map(id)));
export const atleast1d = (x: Tensor) => wrap(native.atleast1d(id(x)));
export const atleast2d = (x: Tensor) => wrap(native.atleast2d(id(x)));
export const atleast3d = (x: Tensor) => wrap(native.atleast3d(id(x)));
/** The r-element combinations of a 1-D tensor's elements, as rows (itertools.combinations). */
export const combinations = takesOptions('combinations', 1, ['r', 'withReplacement'], (x: Tensor, opts: { r?: number; withReplacement?: boolean } = {}) => wrap(native.combinations(id(x), opts.r ?? 2, opts.withReplacement ?? false)));
/** The trapezoidal rule along dim: over sample points x, or with spacing dx (default 1). */
// (PyTorch's trapezoid(y, x) and cumulative_trapezoid(y, x) take x by position; dx and dim by name)
type TrapezoidOptions = { x?: Tensor; dx?: number; dim?: number };
type TrapezoidArgs = [opts?: TrapezoidOptions] | [x?: Tensor | null, opts?: { dim?: number }];
function trapezoidOptions(name: string, args: unknown[]): TrapezoidOptions {
  // (x by position, then its keyword options: trapezoid(y, x, { dim: 0 }))
  if (args[0] instanceof Tensor || args[0] === null) return { ...keywordOptions<TrapezoidOptions>(name, args[1] as TrapezoidOptions | undefined, ['dim']), x: (args[0] as Tensor | null) ?? undefined };
  return optionsOf<TrapezoidOptions>(name, args, [], { extra: ['x', 'dx', 'dim'] });
}
export function trapezoid(y: Tensor, ...args: TrapezoidArgs): Tensor {
  const opts = trapezoidOptions('trapezoid', args);
  if (opts.x && opts.dx !== undefined) throw new Error('trapezoid: give x or dx, not both');
  return wrap(opts.x ? native.trapezoid(id(y), id(opts.x), opts.dim ?? -1) : native.trapezoidDx(id(y), opts.dx ?? 1, opts.dim ?? -1));
}
export const logaddexp = (a: Tensor, b: Tensor) => self('torch.logaddexp', a).logaddexp(b);
export const cov = (x: Tensor, opts: { correction?: number; fweights?: Tensor | null; aweights?: Tensor | null } = {}) => self('torch.cov', x).cov(opts);
export const corrcoef = (x: Tensor) => self('torch.corrcoef', x).corrcoef();
export const diff = (x: Tensor, ...args: Parameters<Tensor['diff']>) => self('torch.diff', x).diff(...args);
export const histogram = (x: Tensor, ...args: Parameters<Tensor['histogram']>) => self('torch.histogram', x).histogram(...args);

// ---------- numeric helpers PyTorch has as torch.<name> ----------

const asTensorArg = (x: Tensor | number | number[], like?: Tensor) =>
  x instanceof Tensor ? x : tensorFrom(x as number | number[], like ? { dtype: like.dtype, device: like.device } : {});

/** torch.isin: whether each element of elements is among testElements (invert: is not). */
export const isin = takesOptions('isin', 2, [], function isin(elements: Tensor | number | number[], testElements: Tensor | number | number[], opts: { assumeUnique?: boolean; invert?: boolean } = {}): Tensor {
  const e = asTensorArg(elements, testElements instanceof Tensor ? testElements : undefined);
  const t = asTensorArg(testElements, e);
  try {
    return wrap(native.isin(id(e), id(t), opts.assumeUnique ?? false, opts.invert ?? false));
  } finally {
    // (the tensors made here from numbers)
    if (e !== elements) e.dispose();
    if (t !== testElements) t.dispose();
  }
}, { extra: ['assumeUnique', 'invert'] });
/** torch.nanquantile: quantile with NaNs left out. */
export const nanquantile = (x: Tensor, ...args: Parameters<Tensor['nanquantile']>): Tensor => (x.nanquantile as (...a: unknown[]) => Tensor).apply(x, args);
/**
 * torch.gradient: the derivative of sampled values by central differences (one-sided at the
 * edges, to edgeOrder), one tensor per dim. spacing: a number (the same step everywhere), a number
 * per dim, or a coordinates tensor per dim.
 */
export const gradient = takesOptions('gradient', 1, [], function gradient(x: Tensor, opts: { spacing?: number | number[] | Tensor[]; dim?: number | number[]; edgeOrder?: 1 | 2 } = {}): Tensor[] {
  const sp = opts.spacing;
  const coords = Array.isArray(sp) && sp.length > 0 && sp[0] instanceof Tensor;
  const spacing = sp === undefined ? null : coords ? (sp as Tensor[]).map(id) : sp;
  return (native.gradient(id(x), spacing, opts.dim ?? null, opts.edgeOrder ?? 1, coords) as number[]).map(wrap);
}, { extra: ['spacing', 'dim', 'edgeOrder'] });
/** torch.cumulative_trapezoid: the running trapezoidal integral along dim (over x, or with spacing dx). */
export function cumulativeTrapezoid(y: Tensor, ...args: TrapezoidArgs): Tensor {
  const opts = trapezoidOptions('cumulativeTrapezoid', args);
  if (opts.x && opts.dx !== undefined) throw new Error('cumulativeTrapezoid: give x or dx, not both');
  return wrap(opts.x ? native.cumulativeTrapezoid(id(y), id(opts.x), opts.dim ?? -1) : native.cumulativeTrapezoidDx(id(y), opts.dx ?? 1, opts.dim ?? -1));
}
/** torch.trapz: the older name of trapezoid. */
export const trapz = trapezoid;
/** torch.histogramdd: a histogram over the last dim's D coordinates: bins per dim (a number for all). */
export const histogramdd = takesOptions('histogramdd', 2, [], function histogramdd(x: Tensor, bins: number | number[], opts: { range?: number[]; weight?: Tensor | null; density?: boolean } = {}): NamedTuple<{ hist: Tensor; binEdges: Tensor[] }> {
  const d = self('torch.histogramdd', x).shape[x.ndim - 1];
  const b = Array.isArray(bins) ? bins : new Array(d).fill(bins);
  const [h, ...edges] = (native.histogramdd(id(x), b, opts.range ?? null, opts.weight ? id(opts.weight) : -1, opts.density ?? false) as number[]).map(wrap);
  return namedTuple({ hist: h, binEdges: edges });
}, { extra: ['range', 'weight', 'density'] });
/** torch.index_reduce (functional form of Tensor.indexReduce). */
export const indexReduce = (x: Tensor, dim: number, index: Tensor, source: Tensor, reduce: 'prod' | 'mean' | 'amax' | 'amin', opts: { includeSelf?: boolean } = {}) => self('torch.indexReduce', x).indexReduce(dim, index, source, reduce, opts);
/** torch.pdist: the p-norm distances between every pair of rows of x (N, M), upper triangle flattened. */
export const pdist = (x: Tensor, p = 2) => wrap(native.pdist(id(x), p));
export const diagonalScatter = (x: Tensor, src: Tensor, offset = 0, dim1 = 0, dim2 = 1) => self('torch.diagonalScatter', x).diagonalScatter(src, offset, dim1, dim2);
export const selectScatter = (x: Tensor, src: Tensor, dim: number, index: number) => self('torch.selectScatter', x).selectScatter(src, dim, index);
export const sliceScatter = (x: Tensor, src: Tensor, ...args: Tail<Parameters<Tensor['sliceScatter']>>) => self('torch.sliceScatter', x).sliceScatter(src, ...args);
/** torch.row_stack: vstack. torch.concat / concatenate: cat. */
export const rowStack = (tensors: Tensor[]) => vstack(tensors);
export const concat = (tensors: Tensor[], dim: number | { dim?: number } = 0) => cat(tensors, dim);
export const concatenate = concat;
/** torch.broadcast_tensors: the tensors expanded to their common shape (views). */
export function broadcastTensors(...tensors: Tensor[]): Tensor[] {
  const shape = broadcastShapes(...tensors.map((t) => t.shape));
  return tensors.map((t) => t.expand(shape));
}
/** torch.broadcast_shapes: the shape tensors of these shapes broadcast to. */
export function broadcastShapes(...shapes: number[][]): number[] {
  const n = Math.max(0, ...shapes.map((s) => s.length));
  const out: number[] = new Array(n).fill(1);
  for (const s of shapes) {
    for (let k = 0; k < s.length; k++) {
      const i = n - s.length + k, d = s[k];
      if (out[i] === 1) out[i] = d;
      else if (d !== 1 && d !== out[i]) throw new Error(`Shape mismatch: objects cannot be broadcast to a single shape: [${shapes.map((x) => `[${x}]`).join(', ')}]`);
    }
  }
  return out;
}

// ---------- type promotion ----------

/** torch.result_type: the dtype an op on a and b computes in (numbers count as Python scalars: they do not widen a tensor's category). */
export function resultType(a: Tensor | number | boolean, b: Tensor | number | boolean): DType {
  const arg = (x: Tensor | number | boolean) => (x instanceof Tensor ? id(x) : x);
  return dtypeName(native.resultType(arg(a), arg(b), a instanceof Tensor, b instanceof Tensor));
}
/** torch.promote_types: the smallest dtype both fit in. */
export const promoteTypes = (a: DType, b: DType): DType => dtypeName(native.promoteTypes(dtypeCode(a), dtypeCode(b)));
/** torch.can_cast: whether casting from to to is allowed by PyTorch's casting rules (no float to int, no complex to real). */
export const canCast = (from: DType, to: DType): boolean => native.canCast(dtypeCode(from), dtypeCode(to));
/** torch.is_tensor */
export const isTensor = (x: unknown): x is Tensor => x instanceof Tensor;
/** torch.as_tensor / asarray: x itself when it is a tensor already of that dtype and device, else a tensor of it. */
export function asTensor(x: Tensor | TensorData, opts: { dtype?: DType; device?: Device } = {}): Tensor {
  if (x instanceof Tensor) return (opts.dtype && opts.dtype !== x.dtype) || (opts.device && opts.device !== x.device) ? x.to(opts) : x;
  return tensorFrom(x, opts);
}
export const asarray = asTensor;
/** torch.scalar_tensor: a 0-dim tensor holding v (float32 unless told, as PyTorch's). */
export const scalarTensor = (v: number, opts: { dtype?: DType; device?: Device } = {}) => tensorFrom(v, { dtype: opts.dtype ?? 'float32', device: opts.device });
/** torch.randint_like: integers in [low, high) (or [0, low)) with x's shape, dtype and device. */
export function randintLike(x: Tensor, low: number, high?: number, opts: { dtype?: DType; generator?: Generator } = {}): Tensor {
  const [lo, hi] = high === undefined ? [0, low] : [low, high];
  return randint(lo, hi, x.shape, { dtype: opts.dtype ?? x.dtype, device: x.device, generator: opts.generator });
}

// torch.<linalg op>: the older names, the same functions as torch.linalg's.
export const det = (A: Tensor) => linalgDet(A);
export const inverse = (A: Tensor) => linalgInv(A);
export const matrixPower = (A: Tensor, n: number) => linalgMatrixPower(A, n);
export const matrixExp = (A: Tensor) => linalgMatrixExp(A);
export const slogdet = (A: Tensor) => linalgSlogdet(A);
/** torch.pinverse(A, rcond = 1e-15) */
export const pinverse = (A: Tensor, rcond = 1e-15) => linalgPinv(A, { rcond });

/**
 * torch.fake_quantize_per_tensor_affine: x rounded to the integer grid of scale and zeroPoint
 * within [quantMin, quantMax] and back to floats (quantization-aware training: gradients pass
 * straight through inside the range, zero outside).
 */
export const fakeQuantizePerTensorAffine = (x: Tensor, scale: number, zeroPoint: number, quantMin: number, quantMax: number) =>
  wrap(native.fakeQuantizePerTensor(id(x), scale, zeroPoint, quantMin, quantMax));
/** torch.fake_quantize_per_channel_affine: a scale (float) and zero point (int32) per slice of axis. */
export const fakeQuantizePerChannelAffine = (x: Tensor, scale: Tensor, zeroPoint: Tensor, axis: number, quantMin: number, quantMax: number) =>
  wrap(native.fakeQuantizePerChannel(id(x), id(scale), id(zeroPoint), axis, quantMin, quantMax));
