// torch.nn.utils.spectral_norm (the hook form; parametrizations.spectralNorm is the newer one):
// the parameter moves to <name>_orig, the power-iteration vectors are the buffers <name>_u and
// <name>_v, and before each forward the module's <name> becomes <name>_orig / sigma, sigma its
// largest singular value estimated by power iteration (advanced only in training), as PyTorch's:
// the same draws, state-dict names and values.
import { Tensor } from '../tensor/tensor';
import { keep, tidy } from '../tensor/scope';
import { noGrad } from '../tensor/runtime';
import { empty } from '../tensor/creation';
import type { RemovableHandle } from '../tensor/function';
import { Module } from './module';
import { normalize } from './functional';
import { ConvTranspose1d, ConvTranspose2d, ConvTranspose3d } from './conv';

type Slots = Record<string, unknown>;
interface SpectralState {
  dim: number;
  nPowerIterations: number;
  eps: number;
  hook: RemovableHandle;
}
const stateOf = (m: Module) => ((m as unknown as { _spectralNorm?: Map<string, SpectralState> })._spectralNorm ??= new Map());

function matrix(weight: Tensor, dim: number): Tensor {
  const w = dim === 0 ? weight : weight.permute([dim, ...Array.from({ length: weight.ndim }, (_, d) => d).filter((d) => d !== dim)]);
  return w.reshape([w.shape[0], -1]);
}

// SpectralNorm.compute_weight: power iteration on u and v (in place: they are buffers), then W / sigma.
function computeWeight(m: Module, name: string, s: SpectralState, powerIteration: boolean): Tensor {
  const slots = m as unknown as Slots;
  const weight = slots[`${name}_orig`] as Tensor;
  let u = slots[`${name}_u`] as Tensor, v = slots[`${name}_v`] as Tensor;
  const w = matrix(weight, s.dim);
  if (powerIteration) {
    noGrad(() => tidy(() => {
      for (let i = 0; i < s.nPowerIterations; i++) {
        v.copy_(normalize(w.t().mv(u), { dim: 0, eps: s.eps }));
        u.copy_(normalize(w.mv(v), { dim: 0, eps: s.eps }));
      }
    }));
    // clones, as PyTorch's: the next forward's in-place update must not touch this graph's u and v
    if (s.nPowerIterations > 0) {
      u = u.clone();
      v = v.clone();
    }
  }
  const sigma = u.dot(w.mv(v));
  return weight.div(sigma);
}

/**
 * nn.utils.spectral_norm(module, name = 'weight', { nPowerIterations, eps, dim }): dim 1 for
 * transposed convolutions, else 0.
 */
export function spectralNorm<M extends Module>(module: M, name = 'weight', opts: { nPowerIterations?: number; eps?: number; dim?: number } = {}): M {
  const slots = module as unknown as Slots;
  const states = stateOf(module);
  if (states.has(name)) throw new Error(`Cannot register two spectral_norm hooks on the same parameter ${name}`);
  const weight = slots[name];
  if (!(weight instanceof Tensor) || !module.hasOwnParameter(name)) throw new Error(`Module '${module.constructor.name}' has no parameter '${name}'`);
  const nPowerIterations = opts.nPowerIterations ?? 1;
  if (nPowerIterations <= 0) throw new Error(`Expected n_power_iterations to be positive, but got n_power_iterations=${nPowerIterations}`);
  const isTransposed = module instanceof ConvTranspose1d || module instanceof ConvTranspose2d || module instanceof ConvTranspose3d;
  const dim = opts.dim ?? (isTransposed ? 1 : 0);
  const eps = opts.eps ?? 1e-12;
  const [u, v] = noGrad(() => tidy(() => {
    const [h, w] = matrix(weight, dim).shape;
    const u0 = normalize(empty([h], { dtype: weight.dtype, device: weight.device }).normal_(0, 1), { dim: 0, eps });
    const v0 = normalize(empty([w], { dtype: weight.dtype, device: weight.device }).normal_(0, 1), { dim: 0, eps });
    return [u0, v0];
  }));
  module.unregisterParameter(name);
  module.registerParameter(`${name}_orig`, weight, weight.requiresGrad);
  slots[name] = keep(weight.detach()); // PyTorch's weight.data until the first forward
  module.registerBuffer(`${name}_u`, u);
  module.registerBuffer(`${name}_v`, v);
  const state: SpectralState = { dim, nPowerIterations, eps, hook: null as unknown as RemovableHandle };
  state.hook = module.registerForwardPreHook((m) => {
    const previous = slots[name] as Tensor;
    slots[name] = keep(computeWeight(m, name, state, m.training));
    previous.dispose(); // (the handle: a graph that used it keeps its own reference)
  });
  states.set(name, state);
  return module;
}

/** nn.utils.remove_spectral_norm: name becomes a plain parameter holding W / sigma (without a further power iteration). */
export function removeSpectralNorm<M extends Module>(module: M, name = 'weight'): M {
  const states = stateOf(module);
  const state = states.get(name);
  if (!state) throw new Error(`spectral_norm of '${name}' not found in ${module.constructor.name}`);
  const slots = module as unknown as Slots;
  const weight = keep(noGrad(() => computeWeight(module, name, state, false).detach()));
  state.hook.remove();
  states.delete(name);
  (slots[name] as Tensor).dispose();
  const orig = slots[`${name}_orig`] as Tensor, u = slots[`${name}_u`] as Tensor, v = slots[`${name}_v`] as Tensor;
  module.unregisterParameter(`${name}_orig`);
  module.unregisterBuffer(`${name}_u`);
  module.unregisterBuffer(`${name}_v`);
  [orig, u, v].forEach((t) => t.dispose());
  module.registerParameter(name, weight);
  return module;
}
