// torch.nn.utils.parametrizations: spectral_norm and weight_norm as parametrizations
// (nn/parametrize.ts), with PyTorch's state-dict names (parametrizations.weight.original,
// ...0._u / _v; original0 / original1 for weight norm) and PyTorch's power-iteration draws.
import { Tensor } from '../tensor/tensor';
import { native } from '../tensor/native';
import { noGrad } from '../tensor/runtime';
import { tidy } from '../tensor/scope';
import { empty } from '../tensor/creation';
import { _wrap as wrap, _id as id } from '../tensor/tensor';
import { Module } from './module';
import { normalize } from './functional';
import { ConvTranspose1d, ConvTranspose2d } from './conv';
import { registerParametrization } from './parametrize';

/** W / sigma(W), sigma the largest singular value, estimated by power iteration (u, v kept as buffers). */
class SpectralNorm extends Module {
  readonly dim: number;
  readonly nPowerIterations: number;
  declare _u: Tensor;
  declare _v: Tensor;
  constructor(weight: Tensor, nPowerIterations = 1, dim = 0, readonly eps = 1e-12) {
    super();
    const ndim = weight.ndim;
    if (dim >= ndim || dim < -ndim) throw new Error(`Dimension out of range (expected to be in range of [-${ndim}, ${ndim - 1}] but got ${dim})`);
    if (!(nPowerIterations > 0)) throw new Error(`Expected nPowerIterations to be positive, but got nPowerIterations=${nPowerIterations}`);
    this.dim = dim >= 0 ? dim : dim + ndim;
    this.nPowerIterations = nPowerIterations;
    if (ndim > 1) {
      tidy(() => {
        const w = this.matrix(weight);
        const [h, k] = w.shape;
        const u = empty([h], { dtype: w.dtype, device: w.device }).normal_(0, 1);
        const v = empty([k], { dtype: w.dtype, device: w.device }).normal_(0, 1);
        this.registerBuffer('_u', normalize(u, { dim: 0, eps: this.eps }));
        this.registerBuffer('_v', normalize(v, { dim: 0, eps: this.eps }));
        this.powerMethod(w, 15);
      });
    }
  }
  private matrix(weight: Tensor): Tensor {
    const w = this.dim === 0 ? weight : weight.permute([this.dim, ...Array.from({ length: weight.ndim }, (_, d) => d).filter((d) => d !== this.dim)]);
    return w.flatten(1);
  }
  private powerMethod(w: Tensor, iterations: number): void {
    noGrad(() => tidy(() => {
      for (let i = 0; i < iterations; i++) {
        this._u.copy_(normalize(w.mv(this._v), { dim: 0, eps: this.eps }));
        this._v.copy_(normalize(w.t().mv(this._u), { dim: 0, eps: this.eps }));
      }
    }));
  }
  forward(weight: Tensor): Tensor {
    if (weight.ndim === 1) return normalize(weight, { dim: 0, eps: this.eps });
    const w = this.matrix(weight);
    if (this.training) this.powerMethod(w, this.nPowerIterations);
    const sigma = this._u.clone().vdot(w.mv(this._v.clone()));
    return weight.div(sigma);
  }
  rightInverse(value: Tensor): Tensor {
    return value;
  }
}

/**
 * torch.nn.utils.parametrizations.spectral_norm: module[name] is divided by its spectral norm on
 * every read (one power iteration per read in training, as PyTorch's). dim: 1 for transposed
 * convolutions, else 0.
 */
export function spectralNorm<M extends Module>(module: M, name = 'weight', opts: { nPowerIterations?: number; eps?: number; dim?: number } = {}): M {
  const weight = (module as unknown as Record<string, unknown>)[name];
  if (!(weight instanceof Tensor)) throw new Error(`Module '${module.constructor.name}' has no parameter or buffer with name '${name}'`);
  const dim = opts.dim ?? (module instanceof ConvTranspose1d || module instanceof ConvTranspose2d ? 1 : 0);
  return registerParametrization(module, name, new SpectralNorm(weight, opts.nPowerIterations ?? 1, dim, opts.eps ?? 1e-12));
}

/** g · v / ||v|| over every dim but dim (the originals: original0 = g, original1 = v). */
class WeightNorm extends Module {
  constructor(readonly dim: number) {
    super();
  }
  forward(g: Tensor, v: Tensor): Tensor {
    return wrap(native.weightNorm(id(v), id(g), this.dim));
  }
  rightInverse(weight: Tensor): Tensor[] {
    return [wrap(native.normExceptDim(id(weight), 2, this.dim)), weight];
  }
}

/**
 * torch.nn.utils.parametrizations.weight_norm (PyTorch 2.1+): module[name] = g · v / ||v||, with
 * g and v as parametrizations.<name>.original0 / original1. dim null: the norm over the whole tensor.
 */
export function weightNorm<M extends Module>(module: M, name = 'weight', dim: number | null = 0): M {
  const weight = (module as unknown as Record<string, unknown>)[name];
  if (!(weight instanceof Tensor)) throw new Error(`Module '${module.constructor.name}' has no parameter or buffer with name '${name}'`);
  const d = dim === null ? -1 : dim < 0 ? dim + weight.ndim : dim;
  return registerParametrization(module, name, new WeightNorm(d), { unsafe: true });
}
