// The tensor layer's public face.
export { Tensor, Slice, GraphNode } from './tensor';
export { Generator, defaultGenerator } from './generator';
export type { Shape, Scalar, TensorLike, Dims, ValuesIndices, Index, SliceIndex } from './tensor';
export type { DType, Device, MemoryFormat } from './dtype';
export { dtypeBytes, isFloatingDtype, isComplexDtype, finfo, iinfo, device } from './dtype';
export type { FInfo, IInfo } from './dtype';
export * from './creation';
export * from './ops';
export * from './runtime';
export { tidy, keep, scopeDepth } from './scope';
// (collections.namedtuple's role in ported code: fields by name, also a tuple in their order, as torch.return_types)
export { namedTuple } from './named_tuple';
export type { NamedTuple } from './named_tuple';
export { setPrintOptions, getPrintOptions } from './print';
export { setPrintOptions as setPrintoptions, getPrintOptions as getPrintoptions } from './print'; // (PyTorch's spelling)
export type { PrintOptions } from './print';
export * as distributed from './distributed';
export * as linalg from './linalg';
export { svd, qr, cholesky, lu, luUnpack, luSolve, chainMatmul, addbmm, addr } from './linalg_legacy';
export { svdLowrank, pcaLowrank } from './lowrank';
export * as fft from './fft';
export * as special from './special';
export * as testing from './testing';
export * as sparse from './sparse';
export { sparseCooTensor, sparseCsrTensor, sparseCscTensor, sparseBsrTensor, sparseBscTensor } from './sparse';
export * from './spectral';
export * as autograd from './autograd';
export * as profiler from './profiler';
export { vmap } from './vmap';
export type { InDims } from './vmap';
export * as utils from './utils';
export * from './functions';
