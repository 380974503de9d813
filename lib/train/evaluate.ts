// Held-out loss and perplexity of a causal LM over a TextDataset.
import { tidy, keep } from '../tensor/scope';
import { Tensor } from '../tensor/tensor';
import { stack } from '../tensor/ops';
import { autocast, noGrad } from '../tensor/runtime';
import { GPT2LMHeadModel, GPT2Output } from '../models/gpt2';
import { TextDataset } from '../data/dataset';
import { tensor } from '../tensor/creation';
import * as distributed from '../tensor/distributed';

/** Runs fn under bfloat16 autocast for the device when precision is 'bf16' (as it is otherwise). */
export function withPrecision<T>(precision: 'fp32' | 'bf16', device: string, fn: () => T): T {
  return autocast(fn, { enabled: precision === 'bf16', deviceType: device.startsWith('cuda') ? 'cuda' : 'cpu', dtype: 'bfloat16' });
}

/** The model's forward pass with labels, under bfloat16 autocast when precision is 'bf16'. */
export function forwardWithLoss(model: GPT2LMHeadModel, ids: Tensor, precision: 'fp32' | 'bf16' = 'fp32', device = 'cpu'): GPT2Output {
  return withPrecision(precision, device, () => model.forward(ids, { labels: ids }));
}

/**
 * The values of 1-element tensors (losses kept on the device), read in one go, then disposed:
 * on CUDA each separate read would wait for the device.
 */
export function readAndDispose(ts: Tensor[]): number[] {
  try {
    return ts.length ? (tidy(() => stack(ts).tolist() as number[][]).map(([v]) => v)) : [];
  } finally {
    for (const t of ts) t.dispose();
  }
}

export interface EvalResult {
  loss: number;
  perplexity: number;
  /** tokens in the evaluated blocks */
  tokens: number;
  blocks: number;
}

/**
 * Mean HF loss over all blocks (each block weighs the same), in eval mode, no grad. With
 * precision 'bf16' the forward passes run under bfloat16 autocast (as HF evaluates with bf16=True).
 * With `distributed` in a data-parallel run, each rank evaluates every world-size-th block and
 * the sums are all-reduced: every rank gets the mean over all blocks, in 1/world of the time.
 */
export function evaluate(model: GPT2LMHeadModel, data: TextDataset, opts: { batchSize?: number; device?: string; precision?: 'fp32' | 'bf16'; distributed?: boolean } = {}): EvalResult {
  if (data.length === 0) throw new Error('evaluate: the dataset has no complete block (text shorter than the block size?)');
  const bs = opts.batchSize ?? 8;
  const world = opts.distributed ? distributed.getWorldSize() : 1, rank = distributed.getRank();
  const mine = Array.from({ length: data.length }, (_, i) => i).filter((i) => world === 1 || i % world === rank);
  const wasTraining = model.training;
  model.eval();
  // Batch losses are read once at the end: on CUDA each read would wait for the device.
  const losses: Tensor[] = [];
  const sizes: number[] = [];
  let sum = 0;
  try {
    noGrad(() => {
      for (let i = 0; i < mine.length; i += bs) {
        const idx = mine.slice(i, i + bs);
        tidy(() => {
          const ids = data.batch(idx, opts.device);
          losses.push(keep(forwardWithLoss(model, ids, opts.precision, opts.device).loss!.reshape([1])));
        });
        sizes.push(idx.length);
      }
    });
    readAndDispose(losses.splice(0)).forEach((v, k) => { sum += v * sizes[k]; });
  } finally {
    for (const t of losses) t.dispose();
    model.train(wasTraining);
  }
  if (world > 1) {
    const both = tensor([sum, mine.length], { dtype: 'float64', device: opts.device }); // (NCCL takes device tensors only)
    distributed.allReduce([both], { op: 'sum' });
    [sum] = both.tolist() as number[];
    both.dispose();
  }
  const loss = sum / data.length;
  return { loss, perplexity: Math.exp(loss), tokens: data.length * data.blockSize, blocks: data.length };
}
