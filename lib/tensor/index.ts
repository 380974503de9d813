// The tensor layer's public face.
export { Tensor, Slice } from './tensor';
export type { Shape, Scalar, TensorLike, Dims, ValuesIndices, Index, SliceIndex } from './tensor';
export type { DType, Device, MemoryFormat } from './dtype';
export { dtypeBytes, isFloatingDtype, isComplexDtype } from './dtype';
export * from './creation';
export * from './ops';
export * from './runtime';
export { tidy, keep, scopeDepth } from './scope';
export { setPrintOptions, getPrintOptions } from './print';
export type { PrintOptions } from './print';
export * as distributed from './distributed';
export * as linalg from './linalg';
export * as fft from './fft';
export * as special from './special';
export * as testing from './testing';
export * from './spectral';
export * as autograd from './autograd';
export * as utils from './utils';
