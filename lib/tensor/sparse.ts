// Sparse COO tensors: torch.sparse_coo_tensor and the torch.sparse namespace. A sparse tensor is
// an ordinary Tensor with layout 'sparse_coo'; add, mul, matmul, t, neg, ... work on it as in
// PyTorch (libtorch dispatches on the layout); toDense() gives the dense tensor.
import { native } from './native';
import { DType, Device, dtypeCode, deviceCode } from './dtype';
import { Shape, Tensor, _wrap as wrap, _id as id } from './tensor';
import { tensor, TensorData } from './creation';

/**
 * torch.sparse_coo_tensor: values at indices ((sparse dims, nnz)) of a tensor of `size` (inferred
 * from the indices when absent). Duplicates are allowed until coalesce() sums them. As PyTorch's,
 * the indices may be of any dtype (made int64: int32 edge lists from a file are common) and either
 * may be given as nested arrays (`sparseCooTensor([[0, 1], [1, 0]], [3, 4], [2, 2])`).
 */
export function sparseCooTensor(indices: Tensor | TensorData, values: Tensor | TensorData, size?: Shape | null, opts: SparseOptions = {}): Tensor {
  const idx = indices instanceof Tensor ? (indices.dtype === 'int64' ? indices : indices.to('int64')) : tensor(indices, { dtype: 'int64' });
  try {
    return fromValues(values, opts, (vals, dtype, device) => native.sparseCooTensor(id(idx), id(vals), size ?? null, dtype, device));
  } finally {
    if (idx !== indices) idx.dispose();
  }
}

/**
 * torch.sparse_csr_tensor: a 2-D compressed-sparse-row tensor: crowIndices (rows + 1 row
 * pointers), colIndices and values (nnz each). matmul with a dense matrix and toDense() work on it.
 */
export function sparseCsrTensor(crowIndices: Tensor, colIndices: Tensor, values: Tensor, size?: Shape | null, opts: SparseOptions = {}): Tensor {
  return fromValues(values, opts, (vals, dtype, device) => native.sparseCsrTensor(id(crowIndices), id(colIndices), id(vals), size ?? null, dtype, device));
}

type SparseOptions = { dtype?: DType; device?: Device; requiresGrad?: boolean };
/**
 * A sparse tensor that make builds (natively) from the values, given as the dtype asked for:
 * PyTorch's constructors convert them, libtorch's keep the values' own dtype. A converted copy is
 * freed after; requiresGrad is set on the result.
 */
function fromValues(values: Tensor | TensorData, opts: SparseOptions, make: (vals: Tensor, dtype: number, device: unknown) => number): Tensor {
  const vals = !(values instanceof Tensor) ? tensor(values, opts.dtype ? { dtype: opts.dtype } : {})
    : opts.dtype && values.dtype !== opts.dtype ? values.to(opts.dtype) : values;
  try {
    const t = wrap(make(vals, opts.dtype ? dtypeCode(opts.dtype) : -1, opts.device === undefined ? null : deviceCode(opts.device)));
    if (opts.requiresGrad) t.requiresGrad_(true);
    return t;
  } finally {
    if (vals !== values) vals.dispose();
  }
}

/**
 * torch.sparse_csc_tensor / sparse_bsr_tensor / sparse_bsc_tensor: a compressed sparse tensor of
 * that layout from its compressed indices (ccol for CSC / BSC, crow for BSR), its plain indices
 * (row / col) and its values (BSR / BSC: blocks, (nnz, blockRows, blockCols)).
 */
function sparseCompressed(layout: string, compressed: Tensor, plain: Tensor, values: Tensor, size: Shape | null | undefined, opts: SparseOptions): Tensor {
  return fromValues(values, opts, (vals, dtype, device) => native.sparseCompressedTensor(id(compressed), id(plain), id(vals), size ?? null, layout, dtype, device));
}
export const sparseCscTensor = (ccolIndices: Tensor, rowIndices: Tensor, values: Tensor, size?: Shape | null, opts: { dtype?: DType; device?: Device; requiresGrad?: boolean } = {}) =>
  sparseCompressed('sparse_csc', ccolIndices, rowIndices, values, size, opts);
export const sparseBsrTensor = (crowIndices: Tensor, colIndices: Tensor, values: Tensor, size?: Shape | null, opts: { dtype?: DType; device?: Device; requiresGrad?: boolean } = {}) =>
  sparseCompressed('sparse_bsr', crowIndices, colIndices, values, size, opts);
export const sparseBscTensor = (ccolIndices: Tensor, rowIndices: Tensor, values: Tensor, size?: Shape | null, opts: { dtype?: DType; device?: Device; requiresGrad?: boolean } = {}) =>
  sparseCompressed('sparse_bsc', ccolIndices, rowIndices, values, size, opts);

/** sparse × dense (or sparse × sparse) matrix product; gradients reach both (the sparse one's sparse). */
export const mm = (sparse: Tensor, dense: Tensor) => wrap(native.sparseMm(id(sparse), id(dense)));
/** The sum over dims (all by default): sparse while sparse dims remain, dense otherwise. */
export const sum = (x: Tensor, dim?: number | number[]) => wrap(native.sparseSum(id(x), dim === undefined ? null : typeof dim === 'number' ? [dim] : dim));
/** Softmax over dim among the stored values only (the absent ones count as -inf, not 0). */
export const softmax = (x: Tensor, dim: number) => wrap(native.sparseSoftmax(id(x), dim));
export const logSoftmax = (x: Tensor, dim: number) => wrap(native.sparseLogSoftmax(id(x), dim));
