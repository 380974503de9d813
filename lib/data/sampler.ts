// torch.utils.data samplers: which dataset indices a DataLoader visits, in which order. Each
// draws exactly what PyTorch's draws (the same ops on the same generator), so a seeded run visits
// the examples PyTorch's would.
import { Tensor } from '../tensor/tensor';
import { tensor, randint, randperm, empty } from '../tensor/creation';
import { multinomial } from '../tensor/ops';
import { tidy } from '../tensor/scope';
import { Generator } from '../tensor/generator';
import { getRank, getWorldSize } from '../tensor/distributed';

/** An iterable of dataset indices, with a length when it has one. */
export interface Sampler extends Iterable<number> {
  readonly length: number;
}

const ints = (t: Tensor): number[] => Array.from(t.data() as BigInt64Array, Number);

/** 0, 1, ..., n - 1. */
export class SequentialSampler implements Sampler {
  constructor(readonly dataSource: { length: number }) {}
  get length(): number {
    return this.dataSource.length;
  }
  *[Symbol.iterator](): Iterator<number> {
    for (let i = 0; i < this.dataSource.length; i++) yield i;
  }
}

/**
 * A fresh seed from the global generator, as PyTorch's samplers take one when given no generator
 * (torch.empty((), dtype=torch.int64).random_()): a generator of their own, seeded with it.
 */
function ownGenerator(): Generator {
  const seed = tidy(() => (empty([], { dtype: 'int64' }).random_().data() as BigInt64Array)[0]);
  return new Generator().manualSeed(seed);
}

export interface RandomSamplerOptions {
  /** draw with replacement (false: a permutation) */
  replacement?: boolean;
  /** how many indices per epoch (the dataset's length) */
  numSamples?: number;
  generator?: Generator;
}

/** A random order of the indices each epoch (or draws with replacement), PyTorch's RandomSampler. */
export class RandomSampler implements Sampler {
  readonly replacement: boolean;
  readonly generator: Generator | null;
  private readonly numSamples_: number | undefined;
  constructor(readonly dataSource: { length: number }, opts: RandomSamplerOptions = {}) {
    this.replacement = opts.replacement ?? false;
    this.generator = opts.generator ?? null;
    this.numSamples_ = opts.numSamples;
    if (opts.numSamples !== undefined && !(Number.isInteger(opts.numSamples) && opts.numSamples > 0)) {
      throw new Error(`RandomSampler: numSamples should be a positive integer value, but got numSamples=${opts.numSamples}`);
    }
  }
  get length(): number {
    return this.numSamples_ ?? this.dataSource.length;
  }
  *[Symbol.iterator](): Iterator<number> {
    const n = this.dataSource.length, total = this.length;
    const g = this.generator ?? ownGenerator();
    try {
      if (this.replacement) {
        for (let k = 0; k < Math.floor(total / 32); k++) yield* tidy(() => ints(randint(0, n, [32], { generator: g })));
        yield* tidy(() => ints(randint(0, n, [total % 32], { generator: g })));
      } else {
        for (let k = 0; k < Math.floor(total / n); k++) yield* tidy(() => ints(randperm(n, { generator: g })));
        yield* tidy(() => ints(randperm(n, { generator: g }))).slice(0, total % n);
      }
    } finally {
      if (g !== this.generator) g.dispose();
    }
  }
}

/** The given indices in a random order each epoch (PyTorch's SubsetRandomSampler). */
export class SubsetRandomSampler implements Sampler {
  constructor(readonly indices: number[], readonly opts: { generator?: Generator } = {}) {}
  get length(): number {
    return this.indices.length;
  }
  *[Symbol.iterator](): Iterator<number> {
    const order = tidy(() => ints(randperm(this.indices.length, { generator: this.opts.generator })));
    for (const i of order) yield this.indices[i];
  }
}

/** numSamples indices drawn with probabilities proportional to weights (PyTorch's WeightedRandomSampler). */
export class WeightedRandomSampler implements Sampler {
  readonly weights: Tensor;
  readonly replacement: boolean;
  constructor(weights: number[] | Tensor, readonly numSamples: number, opts: { replacement?: boolean; generator?: Generator } = {}) {
    if (!(Number.isInteger(numSamples) && numSamples > 0)) {
      throw new Error(`WeightedRandomSampler: numSamples should be a positive integer value, but got numSamples=${numSamples}`);
    }
    const w = weights instanceof Tensor ? weights.to({ dtype: 'float64' }) : tensor(weights, { dtype: 'float64' });
    if (w.ndim !== 1) throw new Error(`WeightedRandomSampler: weights should be a 1d sequence but given weights have shape [${w.shape}]`);
    this.weights = w.keep();
    this.replacement = opts.replacement ?? true;
    this.generator = opts.generator ?? null;
  }
  readonly generator: Generator | null;
  get length(): number {
    return this.numSamples;
  }
  *[Symbol.iterator](): Iterator<number> {
    yield* tidy(() => ints(multinomial(this.weights, this.numSamples, this.replacement, { generator: this.generator })));
  }
}

/** Groups another sampler's indices into batches of batchSize (the last one shorter unless dropLast). */
export class BatchSampler implements Iterable<number[]> {
  constructor(readonly sampler: Iterable<number> & { length?: number }, readonly batchSize: number, readonly dropLast = false) {
    if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new Error(`BatchSampler: batchSize should be a positive integer value, but got batchSize=${batchSize}`);
  }
  get length(): number {
    const n = this.sampler.length;
    if (n === undefined) throw new Error('BatchSampler: its sampler has no length');
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }
  *[Symbol.iterator](): Iterator<number[]> {
    let batch: number[] = [];
    for (const i of this.sampler) {
      batch.push(i);
      if (batch.length === this.batchSize) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length && !this.dropLast) yield batch;
  }
}

export interface DistributedSamplerOptions {
  /** how many processes share the dataset (default: the process group's world size) */
  numReplicas?: number;
  /** this process's share (default: its rank in the process group) */
  rank?: number;
  /** a new permutation each epoch (setEpoch), the same on every rank: seed + epoch */
  shuffle?: boolean;
  seed?: number;
  /** drop the tail that does not split evenly (default: pad by repeating the first indices) */
  dropLast?: boolean;
}
/**
 * torch.utils.data.DistributedSampler: each of numReplicas processes visits its own 1/numReplicas
 * of the dataset (rank, rank + numReplicas, ... of one shared order), so together they see it
 * once per epoch; call setEpoch(e) each epoch for a new shared shuffle, as with PyTorch's.
 */
export class DistributedSampler implements Sampler {
  readonly numReplicas: number;
  readonly rank: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  epoch = 0;
  readonly numSamples: number;
  readonly totalSize: number;
  constructor(readonly dataset: { length: number }, opts: DistributedSamplerOptions = {}) {
    this.numReplicas = opts.numReplicas ?? getWorldSize();
    this.rank = opts.rank ?? getRank();
    if (!(Number.isInteger(this.rank) && this.rank >= 0 && this.rank < this.numReplicas)) {
      throw new Error(`Invalid rank ${this.rank}, rank should be in the interval [0, ${this.numReplicas - 1}]`);
    }
    this.shuffle = opts.shuffle ?? true;
    this.seed = opts.seed ?? 0;
    this.dropLast = opts.dropLast ?? false;
    const n = dataset.length;
    this.numSamples = this.dropLast && n % this.numReplicas !== 0 ? Math.ceil((n - this.numReplicas) / this.numReplicas) : Math.ceil(n / this.numReplicas);
    this.totalSize = this.numSamples * this.numReplicas;
  }
  get length(): number {
    return this.numSamples;
  }
  /** The epoch whose shuffle the next iteration uses (the same on every rank). */
  setEpoch(epoch: number): void {
    this.epoch = epoch;
  }
  *[Symbol.iterator](): Iterator<number> {
    const n = this.dataset.length;
    let indices: number[];
    if (this.shuffle) {
      const g = new Generator().manualSeed(this.seed + this.epoch);
      try {
        indices = tidy(() => ints(randperm(n, { generator: g })));
      } finally {
        g.dispose();
      }
    } else {
      indices = Array.from({ length: n }, (_, i) => i);
    }
    if (!this.dropLast) {
      const pad = this.totalSize - indices.length;
      if (pad <= indices.length) indices = indices.concat(indices.slice(0, pad));
      else indices = indices.concat(Array.from({ length: Math.ceil(pad / indices.length) }, () => indices).flat().slice(0, pad));
    } else {
      indices = indices.slice(0, this.totalSize);
    }
    for (let k = this.rank; k < this.totalSize; k += this.numReplicas) yield indices[k];
  }
}
