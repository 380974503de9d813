// torch.nn.utils.parametrizations: orthogonal, spectral_norm and weight_norm as parametrizations
// (nn/parametrize.ts), with PyTorch's state-dict names (parametrizations.weight.original,
// ...0._u / _v; original0 / original1 for weight norm) and PyTorch's power-iteration draws.
import { Tensor } from '../tensor/tensor';
import { native } from '../tensor/native';
import { noGrad } from '../tensor/runtime';
import { tidy, keep } from '../tensor/scope';
import { empty, eye, randn, zerosLike } from '../tensor/creation';
import { cat, geqrf } from '../tensor/ops';
import * as linalg from '../tensor/linalg';
import { _wrap as wrap, _id as id } from '../tensor/tensor';
import { Module } from './module';
import { normalize } from './functional';
import { ConvTranspose1d, ConvTranspose2d } from './conv';
import { registerParametrization, NotImplementedError } from './parametrize';

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

export type OrthogonalMap = 'matrix_exp' | 'cayley' | 'householder';

/** Q = A with its columns' signs set so that R's diagonal is positive: the orthogonal factor of A = QR (PyTorch's _make_orthogonal). */
function makeOrthogonal(A: Tensor): Tensor {
  return tidy(() => {
    const { a, tau } = geqrf(A);
    return linalg.householderProduct(a, tau).mul(a.diagonal(0, -2, -1).sgn().unsqueeze(-2));
  });
}

/** Q's columns orthonormal within 10 n eps (PyTorch's _is_orthogonal). */
function isOrthogonal(Q: Tensor): boolean {
  return tidy(() => {
    const [n, k] = Q.shape.slice(-2);
    const eps = 10 * n * (Q.dtype === 'float64' || Q.dtype === 'complex128' ? 2 ** -52 : 2 ** -23);
    return Q.mH.matmul(Q).allclose(eye(k, k, { dtype: Q.dtype, device: Q.device }), { atol: eps });
  });
}

/**
 * The orthogonal (unitary) matrix a parameter X stands for: the matrix exponential or Cayley map
 * of the skew-symmetric matrix X's lower triangle makes, or the product of the Householder
 * reflectors below X's diagonal; with use_trivialization, times the stored orthogonal `base`
 * (PyTorch's _Orthogonal, step by step).
 */
class Orthogonal extends Module {
  declare base: Tensor | null;
  readonly shape: number[];
  constructor(weight: Tensor, readonly orthogonalMap: OrthogonalMap, readonly useTrivialization: boolean) {
    super();
    if (weight.isComplex() && orthogonalMap === 'householder') throw new Error('The householder parametrization does not support complex tensors.');
    this.shape = weight.shape;
    if (useTrivialization) this.registerBuffer('base', null);
  }

  forward(weight: Tensor): Tensor {
    let X = weight, [n, k] = X.shape.slice(-2);
    const transposed = n < k;
    if (transposed) { X = X.mT; [n, k] = [k, n]; }
    let Q: Tensor;
    if (this.orthogonalMap === 'householder') {
      const A = X.tril(-1);
      const tau = A.mul(A).sum(-2).add(1).reciprocal().mul(2);
      // (the diagonal of X holds +-1 and is neither differentiated nor updated: hence the cast)
      Q = linalg.householderProduct(A, tau).mul(X.diagonal(0, -2, -1).int().unsqueeze(-2));
    } else {
      X = X.tril();
      if (n !== k) X = cat([X, X.newZeros([n, n - k]).expand([...X.shape.slice(0, -2), n, n - k])], -1);
      const A = X.sub(X.mH); // skew-symmetric (skew-Hermitian)
      if (this.orthogonalMap === 'matrix_exp') Q = linalg.matrixExp(A);
      else {
        const I = eye(n, n, { dtype: A.dtype, device: A.device });
        Q = linalg.solve(I.add(A, -0.5), I.add(A, 0.5)); // Cayley: (I + A/2)(I - A/2)^-1
      }
      if (n !== k) Q = Q.index('...', `:${k}`);
    }
    if (this.base) Q = this.base.matmul(Q);
    return transposed ? Q.mT : Q;
  }

  rightInverse(Q: Tensor): Tensor {
    return noGrad(() => tidy(() => {
      if (Q.shape.join() !== this.shape.join()) throw new Error(`Expected a matrix or batch of matrices of shape [${this.shape}]. Got a tensor of shape [${Q.shape}].`);
      const init = Q;
      let [n, k] = Q.shape.slice(-2);
      const transpose = n < k;
      if (transpose) { Q = Q.mT; [n, k] = [k, n]; }
      if (!this.useTrivialization) {
        if (this.orthogonalMap !== 'householder') {
          throw new NotImplementedError('It is not possible to assign to the matrix exponential or the Cayley parametrizations when useTrivialization is false.');
        }
        // The reflectors of Q's QR, with R's diagonal signs (+1 where LAPACK used no reflection: tau 0)
        const { a, tau } = geqrf(Q);
        const d = a.diagonal(0, -2, -1);
        d.copy_(d.sign().mul(tau.eq(0).to(d.dtype).mul(-2).add(1)));
        return transpose ? a.mT : a;
      }
      let base: Tensor;
      if (n === k) base = isOrthogonal(Q) ? Q.clone() : makeOrthogonal(Q);
      else {
        // complete Q's columns to an n x n orthogonal matrix
        const N = randn([...Q.shape.slice(0, -2), n, n - k], { dtype: Q.dtype, device: Q.device });
        base = makeOrthogonal(cat([Q, N], -1));
      }
      const old = this.base;
      this.registerBuffer('base', keep(base));
      old?.dispose();
      // -I: the Householder map of it is I (and the exponential and Cayley maps of its skew part too)
      const negId = zerosLike(init);
      negId.diagonal(0, -2, -1).fill_(-1);
      return negId;
    }));
  }
}

/**
 * torch.nn.utils.parametrizations.orthogonal: module[name] (a matrix, or a batch) stays
 * orthogonal (unitary) through training. orthogonalMap: 'matrix_exp' (default for square or
 * complex matrices), 'cayley' or 'householder' (default otherwise). With useTrivialization
 * (default) an orthogonal base matrix is kept as the buffer parametrizations.<name>.0.base and
 * the parameter moves around it (PyTorch's "dynamic trivialization"). The initial value is the
 * weight if orthogonal, else the Q of its QR decomposition.
 */
export function orthogonal<M extends Module>(module: M, name = 'weight', orthogonalMap: OrthogonalMap | null = null, opts: { useTrivialization?: boolean } = {}): M {
  const weight = (module as unknown as Record<string, unknown>)[name];
  if (!(weight instanceof Tensor)) throw new Error(`Module '${module.constructor.name}' has no parameter or buffer with name '${name}'`);
  if (weight.ndim < 2) throw new Error(`Expected a matrix or batch of matrices. Got a tensor of ${weight.ndim} dimensions.`);
  const [n, k] = weight.shape.slice(-2);
  const map = orthogonalMap ?? (n === k || weight.isComplex() ? 'matrix_exp' : 'householder');
  if (!['matrix_exp', 'cayley', 'householder'].includes(map)) throw new Error(`orthogonal_map has to be one of "matrix_exp", "cayley", "householder". Got: ${map}`);
  return registerParametrization(module, name, new Orthogonal(weight, map, opts.useTrivialization ?? true), { unsafe: true });
}
