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
  const c = codes[d];
  if (c === undefined) {
    throw new Error(`tstorch: unknown dtype '${d}' (expected one of ${Object.keys(codes).join(', ')})`);
  }
  return c;
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

/** 'cpu' -> -1, 'cuda' -> 0, 'cuda:N' -> N: how devices cross into C++. */
export function deviceCode(d: Device | undefined): number {
  if (d === undefined || d === 'cpu') return -1;
  const m = /^cuda(?::(\d+))?$/.exec(d);
  if (!m) throw new Error(`tstorch: unknown device '${d}' (expected 'cpu', 'cuda' or 'cuda:N')`);
  return m[1] ? Number(m[1]) : 0;
}

export function deviceName(code: number): Device {
  if (code === -1) return 'cpu';
  if (code >= 0) return `cuda:${code}`;
  return 'other';
}

/** What factories use when their options say nothing (torch.set_default_device / set_default_dtype). */
export const defaults: { device: Device; floatDtype: DType } = { device: 'cpu', floatDtype: 'float32' };
