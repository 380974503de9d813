// TensorDataset and DataLoader, as torch.utils.data's, for tensors already in memory (images,
// features, token ids): rows of equal-length tensors, served in (shuffled) batches.
import { Tensor } from '../tensor/tensor';
import { tensor } from '../tensor/creation';
import { keep } from '../tensor/scope';
import { epochBatches } from './dataset';

/** Rows i of each tensor (all with the same first dimension) are example i. */
export class TensorDataset {
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
}

export interface DataLoaderOptions {
  batchSize?: number;
  shuffle?: boolean;
  /** the shuffle's seed: each epoch (each pass over the loader) gets its own order from it */
  seed?: number;
  /** drop the last batch when it is smaller than batchSize */
  dropLast?: boolean;
}

/**
 * Iterating gives one batch at a time: [rows of tensor 0, rows of tensor 1, ...] (fresh
 * tensors: free them, or iterate inside tidy()). Every pass is a new epoch with a new order
 * when shuffling; the same seed gives the same orders.
 */
export class DataLoader implements Iterable<Tensor[]> {
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  epoch = 0;
  constructor(readonly dataset: TensorDataset, opts: DataLoaderOptions = {}) {
    this.batchSize = opts.batchSize ?? 1;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) throw new Error(`DataLoader: batchSize must be a positive integer, got ${opts.batchSize}`);
    this.shuffle = opts.shuffle ?? false;
    this.seed = opts.seed ?? 0;
    this.dropLast = opts.dropLast ?? false;
  }
  /** Batches per epoch. */
  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }
  *[Symbol.iterator](): Iterator<Tensor[]> {
    const batches = epochBatches(this.dataset.length, this.batchSize, { shuffle: this.shuffle, seed: this.seed, epoch: this.epoch++ });
    for (const rows of batches) {
      if (this.dropLast && rows.length < this.batchSize) break;
      const index = tensor(rows, { dtype: 'int64', device: this.dataset.tensors[0].device });
      const batch = this.dataset.tensors.map((t) => t.indexSelect(0, index));
      index.dispose();
      yield batch;
    }
  }
}
