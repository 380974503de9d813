// dtypes by PyTorch's names, and devices as 'cpu' | 'cuda' | 'cuda:N'.
import { native } from './native';

export type DType =
  | 'float32' | 'float64' | 'float16' | 'bfloat16'
  | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool'
  | 'complex64' | 'complex128';

const codes: Record<DType, number> = native.dtypeCodes();
const names: Record<number, DType> = {};
for (const [name, code] of Object.entries(codes)) names[code] = name as DType;

export function dtypeCode(d: DType): number {
  const c = Object.hasOwn(codes, d) ? codes[d] : undefined; // (own keys: 'constructor' is no dtype)
  if (c === undefined) {
    throw new Error(`tstorch: unknown dtype '${d}' (expected one of ${Object.keys(codes).join(', ')})`);
  }
  return c;
}

/** Whether s names a dtype ('float32', 'int64', ...). */
export function isDtype(s: string): s is DType {
  return Object.prototype.hasOwnProperty.call(codes, s);
}

export function dtypeName(code: number): DType {
  return names[code];
}

export function isFloatingDtype(d: DType): boolean {
  return d === 'float32' || d === 'float64' || d === 'float16' || d === 'bfloat16';
}

/** complex64 and complex128 (torch.is_complex): pairs of float32 / float64. */
export function isComplexDtype(d: DType): boolean {
  return d === 'complex64' || d === 'complex128';
}
/** The complex dtype whose parts are d (float64 -> complex128, others -> complex64), and back. */
export const complexOf = (d: DType): DType => (d === 'float64' ? 'complex128' : 'complex64');
export const realOf = (d: DType): DType => (d === 'complex128' ? 'float64' : d === 'complex64' ? 'float32' : d);

export const dtypeBytes: Record<DType, number> = {
  float32: 4, float64: 8, float16: 2, bfloat16: 2, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1,
  complex64: 8, complex128: 16,
};

/** How a 4-D (5-D) tensor's elements lie in memory: PyTorch's torch.contiguous_format, torch.channels_last, ... */
export type MemoryFormat = 'contiguousFormat' | 'channelsLast' | 'channelsLast3d' | 'preserveFormat';
const formatCodes: Record<MemoryFormat, number> = native.memoryFormatCodes();
export function memoryFormatCode(f: MemoryFormat | undefined | null): number {
  if (f === undefined || f === null) return -1;
  const c = formatCodes[f];
  if (c === undefined) throw new Error(`tstorch: unknown memory format '${f}' (expected one of ${Object.keys(formatCodes).join(', ')})`);
  return c;
}

export type Device = string;

/** 'cpu' -> -1, 'cuda' -> 0, 'cuda:N' -> N, 'meta' -> -2: how devices cross into C++. */
export function deviceCode(d: Device | undefined): number {
  if (d === undefined || d === 'cpu') return -1;
  if (d === 'meta') return -2;
  const m = /^cuda(?::(\d+))?$/.exec(d);
  if (!m) throw new Error(`tstorch: unknown device '${d}' (expected 'cpu', 'cuda', 'cuda:N' or 'meta')`);
  return m[1] ? Number(m[1]) : 0;
}

/**
 * torch.device('cuda:1') or torch.device('cuda', 1): devices are strings here ('cpu', 'cuda',
 * 'cuda:N'); this checks one and gives it in that form, with no device needed to be present.
 */
export function device(type: Device, index?: number | null): Device {
  if (typeof type !== 'string') throw new Error(`torch.device: expected a string such as 'cpu' or 'cuda:0', got ${type === null ? 'null' : typeof type}`);
  if (index != null) {
    if (!(Number.isInteger(index) && index >= 0)) throw new Error(`torch.device: the index must be a whole number >= 0, got ${index}`);
    if (type === 'cpu') return 'cpu';
    if (type !== 'cuda') throw new Error(`torch.device: unknown device type '${type}' (expected 'cpu' or 'cuda'; 'meta' takes no index)`);
    return `cuda:${index}`;
  }
  deviceCode(type);
  return type;
}

export function deviceName(code: number): Device {
  if (code === -1) return 'cpu';
  if (code >= 0) return `cuda:${code}`;
  if (code === -2) return 'meta';
  return 'other';
}

/** What factories use when their options say nothing (torch.set_default_device / set_default_dtype). */
export const defaults: { device: Device; floatDtype: DType } = { device: 'cpu', floatDtype: 'float32' };

/** torch.finfo: the numerical properties of a floating dtype (a complex dtype: those of its parts). */
export interface FInfo {
  /** bits per number */
  bits: number;
  /** the smallest e with 1 + e != 1 */
  eps: number;
  /** the largest finite number */
  max: number;
  /** the most negative finite number (-max) */
  min: number;
  /** the smallest positive normal number (PyTorch's tiny, also smallest_normal) */
  tiny: number;
  smallestNormal: number;
  /** the approximate decimal resolution: 10^-(digits the dtype holds) */
  resolution: number;
  /** the floating dtype described (a complex dtype's parts: float32 or float64) */
  dtype: DType;
}

// (float32's and float64's are JavaScript's own limits rounded to them; float16's and bfloat16's as PyTorch reports them)
const FLOAT_INFO: Record<string, Omit<FInfo, 'dtype' | 'min' | 'smallestNormal'>> = {
  float32: { bits: 32, eps: 2 ** -23, max: 3.4028234663852886e38, tiny: 2 ** -126, resolution: 1e-6 },
  float64: { bits: 64, eps: Number.EPSILON, max: Number.MAX_VALUE, tiny: 2 ** -1022, resolution: 1e-15 },
  float16: { bits: 16, eps: 2 ** -10, max: 65504, tiny: 2 ** -14, resolution: 1e-3 },
  bfloat16: { bits: 16, eps: 2 ** -7, max: 3.3895313892515355e38, tiny: 2 ** -126, resolution: 1e-2 },
};

/** torch.finfo(dtype): eps, max, min, tiny ... of a floating (or complex) dtype; without one, of the default dtype. */
export function finfo(dtype: DType = defaults.floatDtype): Readonly<FInfo> {
  const real = realOf(dtype);
  let f = finfoCache.get(real);
  if (!f) {
    const info = Object.hasOwn(FLOAT_INFO, real) ? FLOAT_INFO[real] : undefined;
    if (!info) throw new Error(`finfo: ${String(dtype)} is not a floating point dtype (for integer dtypes use iinfo)`);
    f = Object.freeze({ ...info, min: -info.max, smallestNormal: info.tiny, dtype: real });
    finfoCache.set(real, f);
  }
  return f;
}
// (one read-only object per dtype, as PyTorch's finfo objects: models ask for it in every forward)
const finfoCache = new Map<DType, Readonly<FInfo>>();

/** torch.iinfo: the range of an integer dtype; int64's as bigints (JavaScript numbers hold integers only up to 2^53). */
export interface IInfo<N extends number | bigint = number> {
  bits: number;
  max: N;
  min: N;
  dtype: DType;
}

const INT_INFO: Record<string, { bits: number; signed: boolean }> = {
  uint8: { bits: 8, signed: false }, int8: { bits: 8, signed: true }, int16: { bits: 16, signed: true }, int32: { bits: 32, signed: true },
};

/** torch.iinfo(dtype): bits, max and min of an integer dtype (int64: bigints). bool, as in PyTorch, is not one. */
export function iinfo(dtype: 'int64'): IInfo<bigint>;
export function iinfo(dtype: 'uint8' | 'int8' | 'int16' | 'int32'): IInfo<number>;
export function iinfo(dtype: DType): IInfo<number> | IInfo<bigint>;
export function iinfo(dtype: DType): IInfo<number> | IInfo<bigint> {
  if (dtype === 'int64') return { bits: 64, max: 2n ** 63n - 1n, min: -(2n ** 63n), dtype };
  const info = Object.hasOwn(INT_INFO, dtype) ? INT_INFO[dtype] : undefined;
  if (!info) throw new Error(`iinfo: ${String(dtype)} is not an integer dtype (uint8, int8, int16, int32, int64)${isFloatingDtype(dtype) || isComplexDtype(dtype) ? '; for floating dtypes use finfo' : ''}`);
  return { bits: info.bits, max: info.signed ? 2 ** (info.bits - 1) - 1 : 2 ** info.bits - 1, min: info.signed ? -(2 ** (info.bits - 1)) : 0, dtype };
}
