// HF Trainer's rng_state.pth: the generators' states its resume restores (_load_rng_state:
// random.setstate, np.random.set_state, torch.random.set_rng_state, the GPU's). tstorch draws
// from torch's generators alone, so Python's and NumPy's are where HF's set_seed(seed) leaves
// them (nothing in a training loop draws from them): CPython's and NumPy's seeding (MT19937's
// init_by_array and init_genrand).
import { PyTuple, Picklable } from '../io/torchsave';
import { fromBytes } from '../tensor/creation';
import { Tensor } from '../tensor/tensor';
import { PythonRandom, mt19937InitGenrand } from '../data/python_random';

/** random.seed(seed); random.getstate(): (3, the 624 words and the position 624, None). */
export function pythonSeededState(seed: number): PyTuple {
  const [version, words, gauss] = new PythonRandom(Math.trunc(seed)).getstate();
  return new PyTuple([version, new PyTuple(words), gauss]);
}

/** np.random.seed(seed); np.random.get_state(): ('MT19937', the 624 words, 624, 0, 0.0), the words as a list (set_state takes one). */
export function numpySeededState(seed: number): PyTuple {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new Error(`rng_state.pth: NumPy takes seeds in [0, 2^32 - 1], got ${seed}`);
  return new PyTuple(['MT19937', [...mt19937InitGenrand(seed)], 624, 0, 0.0]);
}

/**
 * What HF's _save_rng_state writes: Python's and NumPy's generators as set_seed(seed) leaves
 * them, torch's CPU state, and the GPU's where training on one (one state, or every device's
 * in a distributed run, as get_rng_state_all). The tensors returned are the caller's to free.
 */
export function hfRngState(seed: number, cpu: Buffer, cuda?: Buffer | Buffer[]): { state: Picklable; tensors: Tensor[] } {
  const tensors: Tensor[] = [];
  const asTensor = (b: Buffer) => {
    const t = fromBytes(b, [b.length], 'uint8');
    tensors.push(t);
    return t;
  };
  const state: Record<string, Picklable> = {
    python: pythonSeededState(seed), numpy: numpySeededState(seed), cpu: asTensor(cpu),
  };
  if (cuda !== undefined) state.cuda = Array.isArray(cuda) ? cuda.map(asTensor) : asTensor(cuda);
  return { state, tensors };
}
