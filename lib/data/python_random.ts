// Python's `random` module, the part ported programs draw from (seed with an integer, random,
// getrandbits, randint / randrange, choice, shuffle): the same Mersenne Twister (MT19937),
// seeded as CPython seeds it (init_by_array over the integer's 32-bit words), and the same
// rejection sampling, so a port draws exactly what its Python original draws after random.seed(n).
// (Not torch's generator: PyTorch programs that call `random.randint` draw from this one; HF's
// rng_state.pth holds its state.)

const N = 624, M = 397;

/** MT19937's init_genrand: the 624 state words from one 32-bit seed (NumPy's np.random.seed(n) too). */
export function mt19937InitGenrand(seed: number): Uint32Array {
  const mt = new Uint32Array(N);
  mt[0] = seed >>> 0;
  for (let i = 1; i < N; i++) {
    const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
    mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
  }
  return mt;
}

export class PythonRandom {
  private readonly mt = new Uint32Array(N);
  private mti = N + 1;

  constructor(seed = 0) {
    this.seed(seed);
  }

  /** random.seed(n) for an integer n (CPython: init_by_array over |n|'s 32-bit words, low first). */
  seed(n: number | bigint): void {
    let a = BigInt(n);
    if (a < 0n) a = -a;
    const key: number[] = [];
    do {
      key.push(Number(a & 0xffffffffn));
      a >>= 32n;
    } while (a > 0n);
    this.initByArray(key);
  }

  /** random.getstate(): (3, the 624 state words and the position, gauss_next None), tuples as arrays. */
  getstate(): [number, number[], null] {
    return [3, [...this.mt, this.mti], null];
  }

  private initByArray(key: number[]): void {
    const mt = this.mt;
    mt.set(mt19937InitGenrand(19650218));
    this.mti = N;
    let i = 1, j = 0;
    for (let k = Math.max(N, key.length); k > 0; k--) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = ((mt[i] ^ Math.imul(prev, 1664525)) + key[j] + j) >>> 0;
      i++;
      j++;
      if (i >= N) {
        mt[0] = mt[N - 1];
        i = 1;
      }
      if (j >= key.length) j = 0;
    }
    for (let k = N - 1; k > 0; k--) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = ((mt[i] ^ Math.imul(prev, 1566083941)) - i) >>> 0;
      i++;
      if (i >= N) {
        mt[0] = mt[N - 1];
        i = 1;
      }
    }
    mt[0] = 0x80000000;
  }

  /** The next 32-bit output of MT19937 (genrand_uint32). */
  private next32(): number {
    const mt = this.mt;
    if (this.mti >= N) {
      let kk = 0;
      for (; kk < N - M; kk++) {
        const y = (mt[kk] & 0x80000000) | (mt[kk + 1] & 0x7fffffff);
        mt[kk] = mt[kk + M] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      }
      for (; kk < N - 1; kk++) {
        const y = (mt[kk] & 0x80000000) | (mt[kk + 1] & 0x7fffffff);
        mt[kk] = mt[kk + (M - N)] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      }
      const y = (mt[N - 1] & 0x80000000) | (mt[0] & 0x7fffffff);
      mt[N - 1] = mt[M - 1] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      this.mti = 0;
    }
    let y = mt[this.mti++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** random.random(): a float in [0, 1) from 53 random bits. */
  random(): number {
    const a = this.next32() >>> 5, b = this.next32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** random.getrandbits(k) for k up to 53 (CPython fills the low words first). */
  getrandbits(k: number): number {
    if (!Number.isInteger(k) || k < 0 || k > 53) throw new Error(`getrandbits: k must be an integer in 0..53, got ${k}`);
    if (k === 0) return 0;
    if (k <= 32) return this.next32() >>> (32 - k);
    const low = this.next32(), high = this.next32() >>> (64 - k);
    return high * 4294967296 + low;
  }

  // CPython's _randbelow_with_getrandbits: k = n.bit_length() bits, drawn again until below n.
  private randbelow(n: number): number {
    const k = n.toString(2).length;
    let r = this.getrandbits(k);
    while (r >= n) r = this.getrandbits(k);
    return r;
  }

  /** random.randrange(start, stop) (step 1), or randrange(stop). */
  randrange(start: number, stop?: number): number {
    if (stop === undefined) [start, stop] = [0, start];
    if (!Number.isInteger(start) || !Number.isInteger(stop)) throw new Error(`randrange: integers only, got (${start}, ${stop})`);
    const width = stop - start;
    if (width <= 0) throw new Error(`randrange: empty range (${start}, ${stop})`);
    return start + this.randbelow(width);
  }

  /** random.randint(a, b): an integer in [a, b], both included. */
  randint(a: number, b: number): number {
    return this.randrange(a, b + 1);
  }

  /** random.choice(seq). */
  choice<T>(seq: ArrayLike<T>): T {
    if (!seq.length) throw new Error('choice: cannot choose from an empty sequence');
    return seq[this.randbelow(seq.length)];
  }

  /** random.shuffle(x) in place (Fisher-Yates from the end, as CPython's). */
  shuffle<T>(x: T[]): void {
    for (let i = x.length - 1; i > 0; i--) {
      const j = this.randbelow(i + 1);
      [x[i], x[j]] = [x[j], x[i]];
    }
  }
}
