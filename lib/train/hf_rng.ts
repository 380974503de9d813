// HF Trainer's rng_state.pth: the generators' states its resume restores (_load_rng_state:
// random.setstate, np.random.set_state, torch.random.set_rng_state, the GPU's). tstorch draws
// from torch's generators alone, so Python's and NumPy's are where HF's set_seed(seed) leaves
// them (nothing in a training loop draws from them), computed here as CPython's and NumPy's
// seeding does (MT19937's init_by_array and init_genrand).
import { PyTuple, Picklable } from '../io/torchsave';
import { fromBytes } from '../tensor/creation';
import { Tensor } from '../tensor/tensor';

const N = 624;

/** MT19937's init_genrand: the state words from one 32-bit seed. */
function initGenrand(seed: number): Uint32Array {
  const mt = new Uint32Array(N);
  mt[0] = seed >>> 0;
  for (let i = 1; i < N; i++) {
    const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
    mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
  }
  return mt;
}

/** MT19937's init_by_array (CPython's random.seed of an int: its 32-bit words, low first). */
function initByArray(key: number[]): Uint32Array {
  const mt = initGenrand(19650218);
  let i = 1, j = 0;
  for (let k = Math.max(N, key.length); k > 0; k--) {
    const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
    mt[i] = ((mt[i] ^ Math.imul(prev, 1664525)) + key[j] + j) >>> 0;
    i++; j++;
    if (i >= N) { mt[0] = mt[N - 1]; i = 1; }
    if (j >= key.length) j = 0;
  }
  for (let k = N - 1; k > 0; k--) {
    const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
    mt[i] = ((mt[i] ^ Math.imul(prev, 1566083941)) - i) >>> 0;
    i++;
    if (i >= N) { mt[0] = mt[N - 1]; i = 1; }
  }
  mt[0] = 0x80000000;
  return mt;
}

/** random.seed(seed); random.getstate(): (3, the 624 words and the position 624, None). */
export function pythonSeededState(seed: number): PyTuple {
  let n = BigInt(Math.abs(Math.trunc(seed)));
  const key: number[] = [];
  do {
    key.push(Number(n & 0xffffffffn));
    n >>= 32n;
  } while (n > 0n);
  return new PyTuple([3, new PyTuple([...initByArray(key), N]), null]);
}

/** np.random.seed(seed); np.random.get_state(): ('MT19937', the 624 words, 624, 0, 0.0), the words as a list (set_state takes one). */
export function numpySeededState(seed: number): PyTuple {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new Error(`rng_state.pth: NumPy takes seeds in [0, 2^32 - 1], got ${seed}`);
  return new PyTuple(['MT19937', [...initGenrand(seed)], N, 0, 0.0]);
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
