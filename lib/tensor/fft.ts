// torch.fft: discrete Fourier transforms, each one libtorch call of the same name. Arguments
// follow PyTorch's order (x, n, dim, norm), or take them as one options object:
//   fft.rfft(x, null, 1)  ==  fft.rfft(x, { dim: 1 })
import { native } from './native';
import { DType, Device, dtypeCode, deviceCode, defaults } from './dtype';
import { Tensor, _wrap as wrap, _id as id } from './tensor';
import { takesOptions } from './options';

/** Which direction is scaled: 'backward' (1/n on the inverse, default), 'ortho' (1/sqrt(n) both), 'forward'. */
export type FftNorm = 'backward' | 'ortho' | 'forward';
export interface FftOptions {
  /** the signal's length along dim: trimmed or zero-padded to it (its own length) */
  n?: number | null;
  dim?: number;
  norm?: FftNorm | null;
}
export interface FftnOptions {
  /** the signal's size along each of dim */
  s?: number[] | null;
  /** the dims to transform (all, or the last s.length; fft2 and friends: the last two) */
  dim?: number[] | null;
  norm?: FftNorm | null;
}

function checkNorm(fn: string, norm: FftNorm | null | undefined): FftNorm | null {
  if (norm === undefined || norm === null) return null;
  if (norm !== 'backward' && norm !== 'ortho' && norm !== 'forward') {
    throw new Error(`fft.${fn}: norm must be 'backward', 'ortho' or 'forward', got '${norm}'`);
  }
  return norm;
}

type OneDim = (x: Tensor, n?: number | null | FftOptions, dim?: number, norm?: FftNorm | null) => Tensor;
function oneDim(fn: string, op: string): OneDim {
  return (x, n, dim = -1, norm) => {
    const o: FftOptions = n !== null && typeof n === 'object' ? n : { n, dim, norm };
    return wrap(native[op](id(x), o.n ?? null, o.dim ?? -1, checkNorm(fn, o.norm)));
  };
}

type NDim = (x: Tensor, s?: number[] | null | FftnOptions, dim?: number[] | null, norm?: FftNorm | null) => Tensor;
function nDim(fn: string, op: string, defaultDim: number[] | null): NDim {
  return (x, s, dim, norm) => {
    const o: FftnOptions = s !== null && s !== undefined && !Array.isArray(s) ? s : { s, dim, norm };
    return wrap(native[op](id(x), o.s ?? null, o.dim ?? defaultDim, checkNorm(fn, o.norm)));
  };
}

/** The 1-D discrete Fourier transform along dim (complex result; real input allowed). */
export const fft = oneDim('fft', 'fftFft');
export const ifft = oneDim('ifft', 'fftIfft');
/** The transform of a real signal: its n / 2 + 1 non-negative frequencies. */
export const rfft = oneDim('rfft', 'fftRfft');
/** The real signal back from rfft's half spectrum (n: the signal's length, 2 (m - 1) by default). */
export const irfft = oneDim('irfft', 'fftIrfft');
/** The transform of a Hermitian-symmetric signal given by its first half: a real spectrum. */
export const hfft = oneDim('hfft', 'fftHfft');
export const ihfft = oneDim('ihfft', 'fftIhfft');

export const fftn = nDim('fftn', 'fftFftn', null);
export const ifftn = nDim('ifftn', 'fftIfftn', null);
export const rfftn = nDim('rfftn', 'fftRfftn', null);
export const irfftn = nDim('irfftn', 'fftIrfftn', null);
export const hfftn = nDim('hfftn', 'fftHfftn', null);
export const ihfftn = nDim('ihfftn', 'fftIhfftn', null);
/** The 2-D transforms: fftn over the last two dims unless dim says otherwise. */
export const fft2 = nDim('fft2', 'fftFftn', [-2, -1]);
export const ifft2 = nDim('ifft2', 'fftIfftn', [-2, -1]);
export const rfft2 = nDim('rfft2', 'fftRfftn', [-2, -1]);
export const irfft2 = nDim('irfft2', 'fftIrfftn', [-2, -1]);
export const hfft2 = nDim('hfft2', 'fftHfftn', [-2, -1]);
export const ihfft2 = nDim('ihfft2', 'fftIhfftn', [-2, -1]);

export interface FreqOptions {
  dtype?: DType;
  device?: Device;
}
/** The sample frequencies of an n-point fft with sample spacing d: [0, 1, ..., -1] / (d n). */
export const fftfreq = takesOptions('fft.fftfreq', 1, ['d'], (n: number, opts: FreqOptions & { d?: number } = {}) =>
  wrap(native.fftFftfreq(n, opts.d ?? 1, dtypeCode(opts.dtype ?? defaults.floatDtype), deviceCode(opts.device ?? defaults.device))), { extra: ['dtype', 'device'] });
/** The n / 2 + 1 non-negative sample frequencies of an n-point rfft. */
export const rfftfreq = takesOptions('fft.rfftfreq', 1, ['d'], (n: number, opts: FreqOptions & { d?: number } = {}) =>
  wrap(native.fftRfftfreq(n, opts.d ?? 1, dtypeCode(opts.dtype ?? defaults.floatDtype), deviceCode(opts.device ?? defaults.device))), { extra: ['dtype', 'device'] });

const dimsOf = (dim?: number | number[] | null) => (dim === undefined || dim === null ? null : typeof dim === 'number' ? [dim] : dim);
/** Moves the zero frequency to the centre (along dim, all dims by default). */
export const fftshift = takesOptions('fft.fftshift', 1, ['dim'], (x: Tensor, opts: { dim?: number | number[] | null } = {}) => wrap(native.fftFftshift(id(x), dimsOf(opts.dim))));
/** fftshift's inverse. */
export const ifftshift = takesOptions('fft.ifftshift', 1, ['dim'], (x: Tensor, opts: { dim?: number | number[] | null } = {}) => wrap(native.fftIfftshift(id(x), dimsOf(opts.dim))));
