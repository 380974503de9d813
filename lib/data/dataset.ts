// Hugging Face TextDataset semantics: the whole text is tokenized at once (no special tokens)
// and cut into non-overlapping blocks of blockSize tokens; the remainder is dropped. Labels are
// the inputs (the model shifts them). Batches come in a seeded order, reshuffled every epoch.
import { Tensor } from '../tensor/tensor';
import { tensor } from '../tensor/creation';
import type { Device } from '../tensor/dtype';
import { tokenizer } from '../models/tokenizer';

let pinnedCopies = true;

export class TextDataset {
  readonly blocks: Int32Array[];
  /** tokens: the whole text's ids, cut here into blocks; or the blocks themselves. */
  constructor(tokens: ArrayLike<number> | Int32Array[], readonly blockSize: number) {
    if (!Number.isInteger(blockSize) || blockSize < 2) throw new Error(`TextDataset: block size must be an integer >= 2, got ${blockSize}`);
    if (Array.isArray(tokens) && tokens.every((b) => b instanceof Int32Array)) {
      this.blocks = tokens as Int32Array[];
      return;
    }
    const ids = tokens as ArrayLike<number>;
    const n = Math.floor(ids.length / blockSize);
    this.blocks = [];
    for (let i = 0; i < n; i++) this.blocks.push(Int32Array.from({ length: blockSize }, (_, k) => ids[i * blockSize + k]));
  }
  static fromText(text: string, blockSize: number): TextDataset {
    return new TextDataset(tokenizer.encode(text), blockSize);
  }
  get length(): number {
    return this.blocks.length;
  }
  /**
   * A (B, blockSize) int64 batch of the given block indices. On CUDA it goes through pinned
   * host memory with a non-blocking copy (a DataLoader's pin_memory and .to(non_blocking=True)):
   * a plain copy from pageable memory waits for the device, so the host could not queue the next
   * step while the GPU still runs this one.
   */
  batch(indices: number[], device?: string): Tensor {
    const flat = new BigInt64Array(indices.length * this.blockSize);
    indices.forEach((b, r) => {
      const blk = this.blocks[b];
      for (let k = 0; k < this.blockSize; k++) flat[r * this.blockSize + k] = BigInt(blk[k]);
    });
    const shape = [indices.length, this.blockSize];
    if (!device?.startsWith('cuda') || !pinnedCopies) return tensor(flat, { shape, device: device as Device });
    const host = tensor(flat, { shape });
    try {
      let pinned: Tensor;
      try {
        pinned = host.pinMemory();
      } catch {
        pinnedCopies = false; // no page-locked memory to be had here: plain copies from now on
        return host.to(device as Device);
      }
      try {
        return pinned.to({ device: device as Device, nonBlocking: true });
      } finally {
        pinned.dispose(); // safe before the copy ends: the host allocator waits for it
      }
    } finally {
      host.dispose();
    }
  }
  /** Splits off the last `fraction` of blocks (at least one) for evaluation. */
  split(evalFraction: number): [TextDataset, TextDataset] {
    const nEval = Math.max(1, Math.round(this.length * evalFraction));
    if (nEval >= this.length) throw new Error(`TextDataset: ${this.length} blocks are too few to hold out ${nEval}`);
    const cut = this.length - nEval;
    return [new TextDataset(this.blocks.slice(0, cut), this.blockSize), new TextDataset(this.blocks.slice(cut), this.blockSize)];
  }
}

/** A small, fast, seedable PRNG (mulberry32): the data order depends on the seed only. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The order of n items in a given epoch: a Fisher-Yates shuffle seeded by (seed, epoch). */
export function epochPermutation(n: number, seed: number, epoch: number): number[] {
  const rnd = mulberry32((seed * 1000003 + epoch * 7919) >>> 0);
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

/** Batches of block indices for one epoch; the last partial batch is kept (HF's default). */
export function epochBatches(n: number, batchSize: number, opts: { shuffle: boolean; seed: number; epoch: number }): number[][] {
  const order = opts.shuffle ? epochPermutation(n, opts.seed, opts.epoch) : Array.from({ length: n }, (_, i) => i);
  const out: number[][] = [];
  for (let i = 0; i < n; i += batchSize) out.push(order.slice(i, i + batchSize));
  return out;
}
