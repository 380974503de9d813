// Parameter initialisers (torch.nn.init): PyTorch's formulas, drawn in PyTorch's order, in
// place under noGrad, so the same seed gives the same weights as PyTorch.
import { Tensor } from '../tensor/tensor';
import { empty, tensor, randperm } from '../tensor/creation';
import * as linalg from '../tensor/linalg';
import { noGrad } from '../tensor/runtime';
import { tidy } from '../tensor/scope';
import { takesOptions } from '../tensor/options';
import type { Generator } from '../tensor/generator';
import { warnOnce } from '../tensor/warn';

// Each initialiser takes PyTorch's arguments by position (kaimingUniform_(w, Math.sqrt(5))) or
// by name in an options object (kaimingUniform_(w, { a: Math.sqrt(5) })), generator included.
type Draw = { generator?: Generator | null };
const draw = (o: Draw) => (o.generator ? { generator: o.generator } : {});

export type Nonlinearity = 'linear' | 'conv1d' | 'conv2d' | 'conv3d' | 'conv_transpose1d' | 'conv_transpose2d' | 'conv_transpose3d' | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu' | 'selu';

/** torch.nn.init.calculate_gain: the recommended scale for weights feeding this nonlinearity. */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'tanh': return 5 / 3;
    case 'relu': return Math.sqrt(2);
    case 'leaky_relu': return Math.sqrt(2 / (1 + (param ?? 0.01) ** 2));
    case 'selu': return 3 / 4;
    case 'linear': case 'sigmoid': case 'conv1d': case 'conv2d': case 'conv3d':
    case 'conv_transpose1d': case 'conv_transpose2d': case 'conv_transpose3d': return 1;
    default: throw new Error(`calculateGain: unsupported nonlinearity '${nonlinearity}'`);
  }
}

/** fan_in = size(1) x receptive field, fan_out = size(0) x receptive field (weights are (out, in, ...)). */
export function fans(t: Tensor): { fanIn: number; fanOut: number } {
  const s = t.shape;
  if (s.length < 2) throw new Error(`fan in and fan out need a tensor with at least 2 dims, got [${s}]`);
  const receptive = s.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: s[1] * receptive, fanOut: s[0] * receptive };
}
const fan = (t: Tensor, mode: 'fan_in' | 'fan_out') => {
  if (mode !== 'fan_in' && mode !== 'fan_out') throw new Error(`mode must be 'fan_in' or 'fan_out', got '${mode}'`);
  const f = fans(t);
  return mode === 'fan_in' ? f.fanIn : f.fanOut;
};

export const uniform_ = takesOptions('init.uniform_', 1, ['a', 'b', 'generator'], (t: Tensor, o: { a?: number; b?: number } & Draw = {}) =>
  noGrad(() => t.uniform_(o.a ?? 0, o.b ?? 1, draw(o))));
export const normal_ = takesOptions('init.normal_', 1, ['mean', 'std', 'generator'], (t: Tensor, o: { mean?: number; std?: number } & Draw = {}) =>
  noGrad(() => t.normal_(o.mean ?? 0, o.std ?? 1, draw(o))));
export const constant_ = takesOptions('init.constant_', 1, ['val'], (t: Tensor, o: { val: number }) => {
  if (typeof o.val !== 'number') throw new Error('init.constant_: give the value (constant_(w, 0.5))');
  return noGrad(() => t.fill_(o.val));
});
export const zeros_ = (t: Tensor) => noGrad(() => t.zero_());
export const ones_ = (t: Tensor) => noGrad(() => t.fill_(1));
/** The identity in a 2-D tensor. */
export function eye_(t: Tensor): Tensor {
  if (t.ndim !== 2) throw new Error(`eye_: only 2-D tensors, got [${t.shape}]`);
  return noGrad(() => t.zero_().fillDiagonal_(1));
}

/** Glorot: U(-a, a), a = gain·sqrt(6 / (fan_in + fan_out)). */
export const xavierUniform_ = takesOptions('init.xavierUniform_', 1, ['gain', 'generator'], function xavierUniform_(t: Tensor, o: { gain?: number } & Draw = {}): Tensor {
  const { fanIn, fanOut } = fans(t);
  const a = Math.sqrt(3) * (o.gain ?? 1) * Math.sqrt(2 / (fanIn + fanOut));
  return noGrad(() => t.uniform_(-a, a, draw(o)));
});
export const xavierNormal_ = takesOptions('init.xavierNormal_', 1, ['gain', 'generator'], function xavierNormal_(t: Tensor, o: { gain?: number } & Draw = {}): Tensor {
  const { fanIn, fanOut } = fans(t);
  return noGrad(() => t.normal_(0, (o.gain ?? 1) * Math.sqrt(2 / (fanIn + fanOut)), draw(o)));
});
/** He: U(-b, b), b = gain·sqrt(3 / fan); by default PyTorch's Linear/Conv layers' a = √5 leaky-ReLU form. */
type KaimingOptions = { a?: number; mode?: 'fan_in' | 'fan_out'; nonlinearity?: Nonlinearity } & Draw;
const KAIMING_KEYS = ['a', 'mode', 'nonlinearity', 'generator'] as const;
/** kaiming's std: gain(nonlinearity, a) / sqrt(fan) */
const kaimingStd = (t: Tensor, o: KaimingOptions) => calculateGain(o.nonlinearity ?? 'leaky_relu', o.a ?? 0) / Math.sqrt(fan(t, o.mode ?? 'fan_in'));
export const kaimingUniform_ = takesOptions('init.kaimingUniform_', 1, KAIMING_KEYS, function kaimingUniform_(t: Tensor, o: KaimingOptions = {}): Tensor {
  if (noElements(t)) return t;
  const bound = Math.sqrt(3) * kaimingStd(t, o);
  return noGrad(() => t.uniform_(-bound, bound, draw(o)));
});
export const kaimingNormal_ = takesOptions('init.kaimingNormal_', 1, KAIMING_KEYS, (t: Tensor, o: KaimingOptions = {}): Tensor =>
  noElements(t) ? t : noGrad(() => t.normal_(0, kaimingStd(t, o), draw(o))));
/** PyTorch's kaiming initialisers leave a tensor with a 0 in its shape as it is (its fan may be 0: a bound of 1/0), and say so. */
function noElements(t: Tensor): boolean {
  if (!t.shape.includes(0)) return false;
  warnOnce('Initializing zero-element tensors is a no-op');
  return true;
}

/** A normal(mean, std) cut to [a, b], by PyTorch's inverse-CDF method (uniform, erfinv, scale, clamp). */
export const truncNormal_ = takesOptions('init.truncNormal_', 1, ['mean', 'std', 'a', 'b', 'generator'], function truncNormal_(t: Tensor, o: { mean?: number; std?: number; a?: number; b?: number } & Draw = {}): Tensor {
  const { mean = 0, std = 1, a = -2, b = 2 } = o;
  // Φ in float64 with libtorch's erf, as Python's math.erf (both the C library's).
  const cdf = (x: number) => tidy(() => ((1 + (tensor([x / Math.SQRT2], { dtype: 'float64' }).erf().item() as number)) / 2));
  const l = cdf((a - mean) / std), u = cdf((b - mean) / std);
  return noGrad(() => t.uniform_(2 * l - 1, 2 * u - 1, draw(o)).erfinv_().mul_(std * Math.sqrt(2)).add_(mean).clamp_(a, b));
});

/** A (semi-)orthogonal matrix from the QR of a normal draw, signs fixed by R's diagonal, times gain. */
export const orthogonal_ = takesOptions('init.orthogonal_', 1, ['gain', 'generator'], function orthogonal_(t: Tensor, o: { gain?: number } & Draw = {}): Tensor {
  const gain = o.gain ?? 1;
  if (t.ndim < 2) throw new Error(`orthogonal_: only tensors with 2 or more dims, got [${t.shape}]`);
  if (t.numel() === 0) return t;
  const rows = t.shape[0], cols = t.numel() / rows;
  tidy(() => noGrad(() => {
    let flat = empty([rows, cols], { dtype: t.dtype, device: t.device }).normal_(0, 1, draw(o));
    if (rows < cols) flat = flat.t();
    let { Q, R } = linalg.qr(flat);
    Q = Q.mul(R.diag().sign());
    if (rows < cols) Q = Q.t();
    t.view(Q.shape).copy_(Q);
    t.mul_(gain);
  }));
  return t;
});

/**
 * dirac_: a convolution weight (3-5 dims) that passes its input through: 1 at the kernel's
 * centre for each matching in/out channel (per group), 0 elsewhere.
 */
export const dirac_ = takesOptions('init.dirac_', 1, ['groups'], function dirac_(t: Tensor, o: { groups?: number } = {}): Tensor {
  const groups = o.groups ?? 1;
  const dims = t.ndim;
  if (![3, 4, 5].includes(dims)) throw new Error('Only tensors with 3, 4, or 5 dimensions are supported');
  if (t.shape[0] % groups !== 0) throw new Error('dim 0 must be divisible by groups');
  const outPerGroup = t.shape[0] / groups;
  const minDim = Math.min(outPerGroup, t.shape[1]);
  const centre = t.shape.slice(2).map((n) => Math.floor(n / 2));
  noGrad(() => {
    t.zero_();
    tidy(() => {
      for (let g = 0; g < groups; g++) {
        for (let d = 0; d < minDim; d++) [g * outPerGroup + d, d, ...centre].reduce((v: Tensor, i, k) => v.select(0, i), t).fill_(1);
      }
    });
  });
  return t;
});

/**
 * sparse_: a 2-D weight drawn from N(0, std) with ceil(sparsity * rows) zeros in every column
 * (the rows chosen by randperm, as PyTorch's: the same draws from the same seed).
 */
export const sparse_ = takesOptions('init.sparse_', 2, ['std', 'generator'], function sparse_(t: Tensor, sparsity: number, o: { std?: number } & Draw = {}): Tensor {
  const std = o.std ?? 0.01;
  if (t.ndim !== 2) throw new Error('Only tensors with 2 dimensions are supported');
  const [rows, cols] = t.shape;
  const numZeros = Math.ceil(sparsity * rows);
  noGrad(() => {
    t.normal_(0, std, draw(o));
    tidy(() => {
      for (let c = 0; c < cols; c++) {
        const zeroRows = randperm(rows, draw(o)).narrow(0, 0, numZeros);
        t.select(1, c).indexFill_(0, zeroRows, 0);
      }
    });
  });
  return t;
});

// PyTorch's deprecated names without the trailing underscore (nn.init.xavier_uniform(w), in code
// older ports copy): the same initialiser, with PyTorch's warning, once.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function deprecated<F extends (...args: any[]) => Tensor>(oldName: string, fn: F): F {
  return ((...args: Parameters<F>) => {
    warnOnce(`nn.init.${oldName} is now deprecated in favor of nn.init.${oldName}_.`);
    return fn(...args);
  }) as F;
}
/** @deprecated PyTorch's old name: use uniform_ */
export const uniform = deprecated('uniform', uniform_);
/** @deprecated PyTorch's old name: use normal_ */
export const normal = deprecated('normal', normal_);
/** @deprecated PyTorch's old name: use constant_ */
export const constant = deprecated('constant', constant_);
/** @deprecated PyTorch's old name: use xavierUniform_ */
export const xavierUniform = deprecated('xavierUniform', xavierUniform_);
/** @deprecated PyTorch's old name: use xavierNormal_ */
export const xavierNormal = deprecated('xavierNormal', xavierNormal_);
/** @deprecated PyTorch's old name: use kaimingUniform_ */
export const kaimingUniform = deprecated('kaimingUniform', kaimingUniform_);
/** @deprecated PyTorch's old name: use kaimingNormal_ */
export const kaimingNormal = deprecated('kaimingNormal', kaimingNormal_);
/** @deprecated PyTorch's old name: use orthogonal_ */
export const orthogonal = deprecated('orthogonal', orthogonal_);
/** @deprecated PyTorch's old name: use sparse_ */
export const sparse = deprecated('sparse', sparse_);
/** @deprecated PyTorch's old name: use dirac_ */
export const dirac = deprecated('dirac', dirac_);
/** @deprecated PyTorch's old name: use eye_ */
export const eye = deprecated('eye', eye_);
