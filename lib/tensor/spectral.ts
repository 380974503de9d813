// Complex tensors' free functions (torch.complex, torch.viewAsReal, ...), the short-time Fourier
// transform (torch.stft / istft) and the window functions. torch.fft is in fft.ts.
import { native } from './native';
import { optionsOf, keywordOptions, isOptionsObject } from './options';
import { DType, Device, dtypeCode, deviceCode, defaults } from './dtype';
import { Tensor, _self as self, _wrap as wrap, _id as id } from './tensor';

/** real + i·imag, elementwise (float32 -> complex64, float64 -> complex128). */
export const complex = (real: Tensor, imag: Tensor) => wrap(native.complex(id(real), id(imag)));
/** abs · (cos(angle) + i·sin(angle)), elementwise. */
export const polar = (abs: Tensor, angle: Tensor) => wrap(native.polar(id(abs), id(angle)));
/** A complex tensor's memory as floats, with a last dim of 2 (real, imaginary): a view. */
export const viewAsReal = (x: Tensor) => wrap(native.viewAsReal(id(x)));
/** A float tensor whose last dim is 2 (real, imaginary), seen as complex: a view. */
export const viewAsComplex = (x: Tensor) => wrap(native.viewAsComplex(id(x)));
export const real = (x: Tensor) => self('torch.real', x).real;
export const imag = (x: Tensor) => self('torch.imag', x).imag;
export const conj = (x: Tensor) => self('torch.conj', x).conj();
export const conjPhysical = (x: Tensor) => self('torch.conjPhysical', x).conjPhysical();
export const angle = (x: Tensor) => self('torch.angle', x).angle();
export const isComplex = (x: Tensor) => self('torch.isComplex', x).isComplex();

export interface StftOptions {
  /** distance between frames (nFft / 4, as PyTorch: winLength / 4) */
  hopLength?: number;
  /** the window's length, <= nFft (nFft) */
  winLength?: number;
  /** a 1-D window of winLength (a rectangular window of ones when absent) */
  window?: Tensor | null;
  /** pad the signal by nFft / 2 on both sides so that frame t is centred on sample t·hop (true) */
  center?: boolean;
  /** how it is padded when center: 'reflect' (default), 'constant', 'replicate' or 'circular' */
  padMode?: 'reflect' | 'constant' | 'replicate' | 'circular';
  /** multiply by nFft^-1/2 */
  normalized?: boolean;
  /** only the nFft / 2 + 1 non-negative frequencies (true for real input) */
  onesided?: boolean;
  /** a complex result (true); false gives torch.viewAsReal of it, PyTorch's deprecated layout */
  returnComplex?: boolean;
}

/**
 * torch.stft: the Fourier transform of overlapping windowed frames of a 1-D signal (or a batch,
 * (B, L)): (freq, frames) or (B, freq, frames). Unlike PyTorch, returnComplex defaults to true
 * (PyTorch requires it for real input and will require true).
 */
// (PyTorch's positional order after nFft, for both)
/** nFft and the other options, from one options object holding them all. */
function nFftOutOf(name: string, o: unknown, args: unknown[]): [number, unknown[]] {
  if (!isOptionsObject(o)) throw new Error(`${name}: nFft must be a number, got ${JSON.stringify(o)}`);
  if (args.length) throw new Error(`${name}: an options object goes last, after the positional arguments`);
  const { nFft, ...rest } = o;
  if (typeof nFft !== 'number') throw new Error(`${name}: give nFft (a number): ${name}(x, 512, ...) or ${name}(x, { nFft: 512, ... })`);
  return [nFft, [rest]];
}
export type StftArgs = [opts?: StftOptions] | [hopLength?: number | null, winLength?: number | null, window?: Tensor | null, center?: boolean, padMode?: StftOptions['padMode'],
  normalized?: boolean, onesided?: boolean | null, returnComplex?: boolean | null];
export function stft(x: Tensor, nFft: number | (StftOptions & { nFft: number }), ...args: StftArgs): Tensor {
  // (nFft too by name, as Python's torch.stft(x, n_fft=512, hop_length=128))
  if (typeof nFft !== 'number') {
    const [n, rest] = nFftOutOf('stft', nFft, args);
    return stft(x, n, ...(rest as StftArgs));
  }
  const opts = optionsOf<StftOptions>('stft', args, ['hopLength', 'winLength', 'window', 'center', 'padMode', 'normalized', 'onesided', 'returnComplex']);
  const center = opts.center ?? true, padMode = opts.padMode ?? 'reflect';
  const length = x.shape[x.ndim - 1];
  // libtorch's own word here is about a padding it made: say what to change instead.
  if (center && padMode === 'reflect' && x.ndim >= 1 && x.ndim <= 2 && Math.floor(nFft / 2) >= length) {
    throw new Error(`stft: with center (the default) and padMode 'reflect', the signal (length ${length}) must be longer than ` +
      `nFft / 2 = ${Math.floor(nFft / 2)}: use a smaller nFft, or padMode 'constant'`);
  }
  return wrap(native.stft(id(x), nFft, opts.hopLength ?? null, opts.winLength ?? null, opts.window ? id(opts.window) : -1,
    center, padMode, opts.normalized ?? false, opts.onesided ?? null, opts.returnComplex ?? true));
}

export interface IstftOptions {
  hopLength?: number;
  winLength?: number;
  window?: Tensor | null;
  center?: boolean;
  normalized?: boolean;
  onesided?: boolean;
  /** the signal's length (trims or zero-pads the result to it) */
  length?: number;
  /** the signal was complex (false: a real signal) */
  returnComplex?: boolean;
}

/** torch.istft: the signal back from its stft (overlap-add with window normalization). */
export type IstftArgs = [opts?: IstftOptions] | [hopLength?: number | null, winLength?: number | null, window?: Tensor | null, center?: boolean, normalized?: boolean,
  onesided?: boolean | null, length?: number | null, returnComplex?: boolean];
export function istft(x: Tensor, nFft: number | (IstftOptions & { nFft: number }), ...args: IstftArgs): Tensor {
  if (typeof nFft !== 'number') {
    const [n, rest] = nFftOutOf('istft', nFft, args);
    return istft(x, n, ...(rest as IstftArgs));
  }
  const opts = optionsOf<IstftOptions>('istft', args, ['hopLength', 'winLength', 'window', 'center', 'normalized', 'onesided', 'length', 'returnComplex']);
  return wrap(native.istft(id(x), nFft, opts.hopLength ?? null, opts.winLength ?? null, opts.window ? id(opts.window) : -1,
    opts.center ?? true, opts.normalized ?? false, opts.onesided ?? null, opts.length ?? null, opts.returnComplex ?? false));
}

export interface WindowOptions {
  /** the window for spectral analysis (true: the length+1 symmetric window without its last sample) */
  periodic?: boolean;
  dtype?: DType;
  device?: Device;
}
const windowArgs = (o: WindowOptions) => [dtypeCode(o.dtype ?? defaults.floatDtype), deviceCode(o.device ?? defaults.device)];

// (each also as PyTorch's positional form: hannWindow(8, false), hammingWindow(8, true, 0.5, 0.5), then the dtype options)
type WindowArgs<O> = [opts?: WindowOptions & O] | [periodic?: boolean, opts?: WindowOptions];
const WINDOW_EXTRA = ['dtype', 'device'];
/** A window's options: an object, or PyTorch's positional `keys` and then an object of dtype and device. */
function windowOptions<O>(name: string, args: unknown[], keys: string[]): WindowOptions & O {
  const last = args.length > 1 && typeof args[args.length - 1] === 'object' && args[args.length - 1] !== null ? args[args.length - 1] as WindowOptions : undefined;
  const head = last ? args.slice(0, -1) : args;
  const o = optionsOf<WindowOptions & O>(name, head, keys, { extra: WINDOW_EXTRA });
  return last ? { ...o, ...keywordOptions(name, last, WINDOW_EXTRA) } : o;
}
export const hannWindow = (windowLength: number, ...args: WindowArgs<object>) => {
  const opts = windowOptions('hannWindow', args, ['periodic']);
  return wrap(native.hannWindow(windowLength, opts.periodic ?? true, ...windowArgs(opts)));
};
export const bartlettWindow = (windowLength: number, ...args: WindowArgs<object>) => {
  const opts = windowOptions('bartlettWindow', args, ['periodic']);
  return wrap(native.bartlettWindow(windowLength, opts.periodic ?? true, ...windowArgs(opts)));
};
export const blackmanWindow = (windowLength: number, ...args: WindowArgs<object>) => {
  const opts = windowOptions('blackmanWindow', args, ['periodic']);
  return wrap(native.blackmanWindow(windowLength, opts.periodic ?? true, ...windowArgs(opts)));
};
/** alpha - beta · cos(2 pi n / N) (alpha 0.54, beta 0.46). */
export const hammingWindow = (windowLength: number, ...args: [opts?: WindowOptions & { alpha?: number; beta?: number }] | [periodic?: boolean, alpha?: number, beta?: number, opts?: WindowOptions]) => {
  const opts = windowOptions<{ alpha?: number; beta?: number }>('hammingWindow', args, ['periodic', 'alpha', 'beta']);
  return wrap(native.hammingWindow(windowLength, opts.periodic ?? true, opts.alpha ?? 0.54, opts.beta ?? 0.46, ...windowArgs(opts)));
};
/** The Kaiser window of shape parameter beta (12). */
export const kaiserWindow = (windowLength: number, ...args: [opts?: WindowOptions & { beta?: number }] | [periodic?: boolean, beta?: number, opts?: WindowOptions]) => {
  const opts = windowOptions<{ beta?: number }>('kaiserWindow', args, ['periodic', 'beta']);
  return wrap(native.kaiserWindow(windowLength, opts.periodic ?? true, opts.beta ?? 12, ...windowArgs(opts)));
};
