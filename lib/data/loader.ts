// torch.utils.data's map-style datasets and DataLoader: TensorDataset (rows of tensors in
// memory), any Dataset of your own (length and get(i)), Subset, ConcatDataset, randomSplit, and
// batches collated as PyTorch's default_collate does (or by your collateFn).
import { Tensor } from '../tensor/tensor';
import { tensor, randperm, empty } from '../tensor/creation';
import { Generator } from '../tensor/generator';
import { BatchSampler, RandomSampler, SequentialSampler } from './sampler';
import { stack } from '../tensor/ops';
import { keep, tidy } from '../tensor/scope';
import { epochBatches } from './dataset';
import { optionsOf, PositionalOr } from '../tensor/options';

/**
 * A map-style dataset, examples 0..length-1: torch.utils.data.Dataset, to extend as PyTorch's
 * (`class MyData extends torch.utils.data.Dataset { get length() {...} get(i) {...} }`; Python's
 * `__len__()` and `__getitem__(i)` do too). Any object with a length and get(i) is one as well.
 */
export abstract class Dataset<T = unknown> {
  /** the number of examples (PyTorch's __len__): define it, or __len__() */
  get length(): number {
    const len = (this as { __len__?: () => number }).__len__;
    if (typeof len !== 'function') throw new Error(`${this.constructor.name}: a Dataset defines length (or __len__()): how many examples it has`);
    return len.call(this);
  }
  // (so that a subclass's `length = 5` field works where class fields are assigned, not defined)
  set length(n: number) {
    Object.defineProperty(this, 'length', { value: n, writable: true, enumerable: true, configurable: true });
  }
  /** example `index` (PyTorch's __getitem__): define it, or __getitem__(index) */
  get(index: number): T {
    const item = (this as { __getitem__?: (i: number) => T }).__getitem__;
    if (typeof item !== 'function') throw new Error(`${this.constructor.name}: a Dataset defines get(index) (or __getitem__(index)): example index`);
    return item.call(this, index);
  }
}

/**
 * An iterable-style dataset (PyTorch's IterableDataset): examples come from iterating it (a
 * stream: lines of a file, a generator), sync or async. Any Iterable / AsyncIterable will do;
 * this base class only names the kind.
 */
export abstract class IterableDataset<T = unknown> implements Iterable<T> {
  abstract [Symbol.iterator](): Iterator<T>;
}
type AnyIterable<T> = Iterable<T> | AsyncIterable<T>;
const isMapStyle = (d: unknown): d is Dataset => Array.isArray(d) || (typeof (d as Dataset)?.get === 'function' && typeof (d as Dataset).length === 'number');
/**
 * A plain array is a map-style dataset, as a Python list is (DataLoader(pairs, shuffle=True),
 * random_split(list, ...)): example i is its element i.
 */
export type ArrayDataset<T> = readonly T[];
function mapStyle<T>(d: Dataset<T> | ArrayDataset<T>): Dataset<T> {
  if (!Array.isArray(d)) return d as Dataset<T>;
  const items = d as ArrayDataset<T>;
  return { get length() { return items.length; }, get: (i: number) => items[i] } as Dataset<T>;
}
const isIterable = (d: unknown): d is AnyIterable<unknown> =>
  d !== null && typeof d === 'object' && (Symbol.iterator in (d as object) || Symbol.asyncIterator in (d as object));

/** Rows i of each tensor (all with the same first dimension) are example i. */
export class TensorDataset implements Dataset<Tensor[]> {
  readonly tensors: Tensor[];
  constructor(...tensors: Tensor[]) {
    if (!tensors.length) throw new Error('TensorDataset: give at least one tensor');
    const n = tensors[0].shape[0];
    tensors.forEach((t, k) => {
      if (t.ndim === 0 || t.shape[0] !== n) throw new Error(`TensorDataset: tensor ${k} has ${t.ndim ? t.shape[0] : 'no'} rows, tensor 0 has ${n}; all need the same first dimension`);
    });
    this.tensors = tensors.map((t) => keep(t));
  }
  get length(): number {
    return this.tensors[0].shape[0];
  }
  /** Example i: row i of each tensor. */
  get(index: number): Tensor[] {
    checkIndex(this, index);
    return this.tensors.map((t) => t.select(0, index));
  }
}

function checkIndex(ds: Dataset, index: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= ds.length) throw new Error(`index ${index} is out of range for a dataset of ${ds.length} examples`);
}

/** The examples of a dataset at the given indices (torch.utils.data.Subset). */
export class Subset<T> implements Dataset<T> {
  private readonly source: Dataset<T>;
  constructor(readonly dataset: Dataset<T> | ArrayDataset<T>, readonly indices: number[]) {
    this.source = mapStyle(dataset);
    for (const i of indices) checkIndex(this.source, i);
  }
  get length(): number {
    return this.indices.length;
  }
  get(index: number): T {
    checkIndex(this, index);
    return this.source.get(this.indices[index]);
  }
}

/** Datasets one after another (torch.utils.data.ConcatDataset). */
export class ConcatDataset<T> implements Dataset<T> {
  private readonly ends: number[] = [];
  constructor(readonly datasets: Dataset<T>[]) {
    if (!datasets.length) throw new Error('ConcatDataset: datasets should not be an empty iterable');
    let end = 0;
    for (const d of datasets) this.ends.push((end += d.length));
  }
  get length(): number {
    return this.ends[this.ends.length - 1];
  }
  get(index: number): T {
    checkIndex(this, index);
    const k = this.ends.findIndex((e) => index < e);
    return this.datasets[k].get(index - (k ? this.ends[k - 1] : 0));
  }
}

/** Iterable datasets one after another (torch.utils.data.ChainDataset): a stream of streams. */
export class ChainDataset<T> implements Iterable<T> {
  constructor(readonly datasets: Iterable<T>[]) {
    for (const d of datasets) if (!(d !== null && typeof d === 'object' && Symbol.iterator in d)) throw new Error('ChainDataset only supports IterableDataset');
  }
  *[Symbol.iterator](): Iterator<T> {
    for (const d of this.datasets) yield* d;
  }
  /** the total length, when every dataset has one */
  get length(): number {
    let total = 0;
    for (const d of this.datasets) {
      const n = (d as { length?: unknown }).length;
      if (typeof n !== 'number') throw new Error('ChainDataset: a dataset in the chain has no length');
      total += n;
    }
    return total;
  }
}

/** torch.utils.data.get_worker_info: null, as in PyTorch's main process (tstorch's DataLoader loads in the calling thread). */
export function getWorkerInfo(): null {
  return null;
}

/**
 * torch.utils.data.random_split: non-overlapping Subsets of the given lengths (or fractions
 * summing to 1), from one permutation drawn from the CPU generator or the one given (the same
 * split as PyTorch's after the same torch.manualSeed, or from a generator seeded alike).
 */
export function randomSplit<T>(dataset: Dataset<T> | ArrayDataset<T>, lengths: number[], generator?: Generator | { generator?: Generator }): Subset<T>[] {
  const gen = generator instanceof Generator ? generator : generator?.generator;
  const n = dataset.length;
  let counts = lengths;
  const total = lengths.reduce((a, b) => a + b, 0);
  if (Math.abs(total - 1) < 1e-9 && total !== n) {
    // fractions: floors, then the remainder one each round-robin, as PyTorch
    counts = lengths.map((f) => {
      if (!(f >= 0 && f <= 1)) throw new Error(`randomSplit: fraction ${f} is not between 0 and 1`);
      return Math.floor(n * f);
    });
    let rest = n - counts.reduce((a, b) => a + b, 0);
    for (let i = 0; rest > 0; i = (i + 1) % counts.length, rest--) counts[i] += 1;
  }
  if (counts.reduce((a, b) => a + b, 0) !== n) throw new Error('Sum of input lengths does not equal the length of the input dataset!');
  const perm = tidy(() => Array.from(randperm(n, { generator: gen }).data() as BigInt64Array, Number));
  let start = 0;
  return counts.map((c) => new Subset(dataset, perm.slice(start, (start += c))));
}

/** What default collation gives for a batch of examples of type T. */
export type Batch = Tensor | string[] | Batch[] | { [key: string]: Batch };

/**
 * PyTorch's default_collate: tensors stacked, numbers into a tensor (int64 for integers,
 * float64 otherwise), booleans into a bool tensor, strings kept in an array, arrays (tuples) and
 * plain objects collated position by position, key by key.
 */
export function defaultCollate(items: unknown[]): Batch {
  const first = items[0];
  if (first instanceof Tensor) return stack(items as Tensor[]);
  if (typeof first === 'number') return tensor(items as number[], { dtype: (items as number[]).every(Number.isInteger) ? 'int64' : 'float64' });
  if (typeof first === 'boolean') return tensor(items as boolean[]);
  if (typeof first === 'string') return items as string[];
  if (Array.isArray(first)) {
    if (!items.every((x) => Array.isArray(x) && x.length === first.length)) throw new Error('defaultCollate: each element in list of batch should be of equal size');
    return first.map((_, k) => defaultCollate(items.map((x) => (x as unknown[])[k])));
  }
  if (first && typeof first === 'object' && Object.getPrototypeOf(first) === Object.prototype) {
    return Object.fromEntries(Object.keys(first).map((k) => [k, defaultCollate(items.map((x) => (x as Record<string, unknown>)[k]))]));
  }
  throw new Error(`defaultCollate: batch must contain tensors, numbers, booleans, strings, arrays or plain objects; found ${first === null ? 'null' : typeof first}`);
}

export interface DataLoaderOptions<B = unknown> {
  /** examples per batch (1); null is PyTorch's batch_size=None: no batching, each example as it is (through collateFn if given) */
  batchSize?: number | null;
  shuffle?: boolean;
  /**
   * a shuffle of its own, from this seed: each epoch (each pass over the loader) gets its own
   * order from it, whatever the global generator's state. Without it (nor a generator or a
   * sampler), the loader draws from the global generator what PyTorch's does, so that
   * torch.manualSeed(s) then DataLoader(ds, { shuffle: true }) gives PyTorch's very batches.
   */
  seed?: number;
  /**
   * a torch.Generator to shuffle with instead of the seed: each epoch then draws exactly what
   * PyTorch's DataLoader(..., shuffle=True, generator=g) draws (its workers' base seed, then
   * RandomSampler's torch.randperm), so the same seeded generator gives PyTorch's very batches.
   */
  generator?: Generator;
  /** which indices, in which order (a RandomSampler, WeightedRandomSampler, ...): instead of shuffle */
  sampler?: Iterable<number> & { length?: number };
  /** whole batches of indices: instead of batchSize, shuffle, sampler and dropLast */
  batchSampler?: Iterable<number[]> & { length?: number };
  /** drop the last batch when it is smaller than batchSize */
  dropLast?: boolean;
  /** makes a batch of examples (default: defaultCollate; a TensorDataset's rows are gathered at once) */
  collateFn?: (items: never[]) => B;
}

/** PyTorch's worker and memory settings: taken, and without effect here (batches are made in this process). */
export interface InProcessHints {
  numWorkers?: number;
  pinMemory?: boolean;
  timeout?: number;
  workerInitFn?: ((workerId: number) => void) | null;
  multiprocessingContext?: unknown;
  prefetchFactor?: number | null;
  persistentWorkers?: boolean;
  pinMemoryDevice?: string;
  inOrder?: boolean;
}

/**
 * Iterating gives one batch at a time: [rows of tensor 0, rows of tensor 1, ...] (fresh
 * tensors: free them, or iterate inside tidy()). Every pass is a new epoch with a new order
 * when shuffling. Every epoch draws from the generators what PyTorch's DataLoader draws (first
 * its workers' base seed, from the loader's generator or the global one; then a shuffle's seed),
 * so runs seeded as PyTorch's (torch.manualSeed) match PyTorch's batch for batch, and so do the
 * random draws after them (dropout's). With the seed option, a shuffle of its own instead: the
 * same seed gives the same orders, and the global generator is not drawn from.
 */
export class DataLoader<B = Tensor[], D extends Dataset | AnyIterable<unknown> = Dataset | AnyIterable<unknown>> implements Iterable<B> {
  /** null: no batching (PyTorch's batch_size=None), each example yielded as it is */
  readonly batchSize: number | null;
  /** examples read per yield (1 without batching) */
  private readonly rowsPerBatch: number;
  readonly shuffle: boolean;
  /** the seed of a shuffle of its own (null: PyTorch's draws, from the generator given or the global one) */
  readonly seed: number | null;
  readonly dropLast: boolean;
  readonly generator: Generator | null;
  /** PyTorch's way of drawing the order (a generator, sampler or batch sampler was given) */
  private readonly batchSampler: (Iterable<number[]> & { length?: number }) | null;
  private readonly collateFn: ((items: never[]) => unknown) | null;
  epoch = 0;
  /** the dataset is iterable-style (a stream), not map-style */
  private readonly iterable: boolean;
  /** the dataset as map-style (an array's elements by index too) */
  private readonly examples: Dataset | null;
  /**
   * PyTorch's DataLoader(dataset, batchSize, shuffle, sampler, batchSampler, numWorkers, collateFn,
   * pinMemory, dropLast, ...) by position too, or an options object. Batches are made in this
   * process: numWorkers, pinMemory, timeout, workerInitFn, prefetchFactor and persistentWorkers
   * are taken and change nothing (as PyTorch's numWorkers 0).
   */
  /** (the dataset keeps its type: len(loader.dataset) is loader.dataset.length for a TensorDataset) */
  constructor(readonly dataset: D,
    ...args: PositionalOr<[batchSize?: number | null, shuffle?: boolean | null, sampler?: DataLoaderOptions['sampler'] | null, batchSampler?: DataLoaderOptions['batchSampler'] | null, numWorkers?: number,
      collateFn?: DataLoaderOptions<B>['collateFn'] | null, pinMemory?: boolean, dropLast?: boolean], DataLoaderOptions<B> & InProcessHints>) {
    const given = optionsOf<DataLoaderOptions>('DataLoader', args, ['batchSize', 'shuffle', 'sampler', 'batchSampler', 'numWorkers', 'collateFn', 'pinMemory', 'dropLast'],
      { extra: ['seed', 'generator', 'timeout', 'workerInitFn', 'multiprocessingContext', 'prefetchFactor', 'persistentWorkers', 'pinMemoryDevice', 'inOrder'] });
    const opts: DataLoaderOptions = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== null)); // (PyTorch's None: the default)
    // batch_size=None is not the default (1): PyTorch then yields the examples one by one, unbatched.
    const unbatched = given.batchSize === null;
    if (unbatched && opts.dropLast) throw new Error('DataLoader: batchSize null (no batching) is mutually exclusive with dropLast');
    this.collateFn = opts.collateFn ?? null;
    this.iterable = !isMapStyle(dataset);
    this.examples = this.iterable ? null : mapStyle(dataset as Dataset);
    if (this.iterable) {
      if (!isIterable(dataset)) throw new Error('DataLoader: the dataset must be map-style (length and get(i)) or iterable (for ... of / for await ... of)');
      // As PyTorch: the stream's own order is the order.
      if (opts.shuffle) throw new Error('DataLoader with IterableDataset: expected unspecified shuffle option, but got shuffle=true');
      if (opts.sampler) throw new Error('DataLoader with IterableDataset: expected unspecified sampler option');
      if (opts.batchSampler) throw new Error('DataLoader with IterableDataset: expected unspecified batchSampler option');
    }
    if (opts.batchSampler && (opts.batchSize !== undefined || opts.shuffle || opts.sampler || opts.dropLast)) {
      throw new Error('DataLoader: batchSampler option is mutually exclusive with batchSize, shuffle, sampler, and dropLast');
    }
    if (opts.sampler && opts.shuffle) throw new Error('DataLoader: sampler option is mutually exclusive with shuffle');
    this.rowsPerBatch = opts.batchSize ?? 1;
    if (!Number.isInteger(this.rowsPerBatch) || this.rowsPerBatch < 1) throw new Error(`DataLoader: batchSize must be a positive integer (or null: no batching), got ${opts.batchSize}`);
    this.batchSize = unbatched ? null : this.rowsPerBatch;
    this.shuffle = opts.shuffle ?? false;
    if (opts.seed !== undefined && (opts.generator || opts.sampler || opts.batchSampler)) throw new Error('DataLoader: seed is for its own shuffle; give seed, or generator / sampler / batchSampler, not both');
    this.seed = opts.seed ?? null;
    this.generator = opts.generator ?? null;
    this.dropLast = opts.dropLast ?? false;
    if (this.iterable) this.batchSampler = null;
    else if (opts.batchSampler) this.batchSampler = opts.batchSampler;
    else if (this.seed === null) {
      // PyTorch's: a RandomSampler (its seed drawn from the generator each epoch) or a SequentialSampler, in batches
      const ds = this.examples!;
      const sampler = opts.sampler ?? (this.shuffle ? new RandomSampler(ds, { generator: opts.generator }) : new SequentialSampler(ds));
      this.batchSampler = new BatchSampler(sampler, this.rowsPerBatch, this.dropLast);
    } else this.batchSampler = null;
  }
  /** Batches per epoch (an iterable dataset: when it has a length). */
  get length(): number {
    if (this.iterable) {
      const n = (this.dataset as { length?: unknown }).length;
      if (typeof n !== 'number') throw new Error('DataLoader: this iterable dataset has no length');
      return this.dropLast ? Math.floor(n / this.rowsPerBatch) : Math.ceil(n / this.rowsPerBatch);
    }
    if (this.batchSampler) {
      const n = this.batchSampler.length;
      if (n === undefined) throw new Error('DataLoader: its batch sampler has no length');
      return n;
    }
    const n = this.examples!.length;
    return this.dropLast ? Math.floor(n / this.rowsPerBatch) : Math.ceil(n / this.rowsPerBatch);
  }
  *[Symbol.iterator](): Iterator<B> {
    if (this.iterable) {
      const source = this.dataset as AnyIterable<unknown>;
      if (!(Symbol.iterator in source)) throw new Error('DataLoader: this dataset is async: iterate with for await (const batch of loader)');
      this.startStream();
      yield* this.batchesOf(source);
      return;
    }
    const ds = this.examples!;
    let batches: Iterable<number[]>;
    if (this.batchSampler) {
      // PyTorch's iterator takes its workers' base seed first (one 64-bit draw), then samples.
      tidy(() => { empty([], { dtype: 'int64' }).random_(null, null, { generator: this.generator }); }); // (the draw only: nothing kept)
      this.epoch++;
      batches = this.batchSampler;
    } else {
      batches = epochBatches(ds.length, this.rowsPerBatch, { shuffle: this.shuffle, seed: this.seed ?? 0, epoch: this.epoch++ })
        .filter((rows) => !(this.dropLast && rows.length < this.rowsPerBatch));
    }
    for (const rows of batches) {
      if (ds instanceof TensorDataset && !this.collateFn && this.batchSize !== null) {
        // A TensorDataset's batch is one gather per tensor, not a stack of rows.
        yield tidy(() => {
          const index = tensor(rows, { dtype: 'int64', device: ds.tensors[0].device });
          return ds.tensors.map((t) => t.indexSelect(0, index));
        }) as B;
        continue;
      }
      yield tidy(() => this.collateRows(rows.map((i) => ds.get(i)))) as B;
    }
  }
  /** for await (const batch of loader): over an async iterable dataset (a sync one works too). */
  async *[Symbol.asyncIterator](): AsyncIterator<B> {
    if (!this.iterable || Symbol.iterator in (this.dataset as object)) {
      const it = this[Symbol.iterator]();
      for (let r = it.next(); !r.done; r = it.next()) yield r.value;
      return;
    }
    this.startStream();
    let rows: unknown[] = [];
    for await (const item of this.dataset as AsyncIterable<unknown>) {
      rows.push(item);
      if (rows.length === this.rowsPerBatch) {
        yield this.collate(rows);
        rows = [];
      }
    }
    if (rows.length && !this.dropLast) yield this.collate(rows);
  }
  /** A new pass over a stream: PyTorch's iterator takes its workers' base seed first. */
  private startStream(): void {
    tidy(() => { empty([], { dtype: 'int64' }).random_(null, null, { generator: this.generator }); }); // (the draw only: nothing kept)
    this.epoch++;
  }
  private *batchesOf(source: Iterable<unknown>): IterableIterator<B> {
    let rows: unknown[] = [];
    for (const item of source) {
      rows.push(item);
      if (rows.length === this.rowsPerBatch) {
        yield this.collate(rows);
        rows = [];
      }
    }
    if (rows.length && !this.dropLast) yield this.collate(rows);
  }
  private collate(items: unknown[]): B {
    return tidy(() => this.collateRows(items)) as B;
  }
  /** The examples' own tensors are freed once collated (call inside tidy); the batch is the caller's. */
  private collateRows(items: unknown[]): unknown {
    if (this.batchSize === null) return this.collateFn ? this.collateFn(items[0] as never) : items[0];
    return (this.collateFn ?? defaultCollate)(items as never[]);
  }
}
