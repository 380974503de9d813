// Held-out loss and perplexity of a causal LM over a dataset (blocks or padded examples); a
// sequence classifier's loss and accuracy; a token classifier's, with entity scores.
import { keywordOptions } from '../tensor/options';
import { tidy, keep } from '../tensor/scope';
import { Tensor } from '../tensor/tensor';
import { cat, stack } from '../tensor/ops';
import { entityCounts, entityReport, entityTypes, isEntityTagSet, type EntityReport } from './seqeval';
import { autocast, noGrad } from '../tensor/runtime';
import { GPT2LMHeadModel } from '../models/gpt2';
import { LMDataset } from '../data/dataset';
import { ClassificationDataset, TokenClassificationDataset } from '../data/classification';
import { GPT2ForTokenClassification } from '../models/token_classification';
import { GPT2ForSequenceClassification } from '../models/sequence_classification';
import type { Device } from '../tensor/dtype';
import type { Module } from '../nn/module';
import { tensor, zeros } from '../tensor/creation';
import * as distributed from '../tensor/distributed';

/** Runs fn under bfloat16 autocast for the device when precision is 'bf16' (as it is otherwise). */
export function withPrecision<T>(precision: 'fp32' | 'bf16', device: string, fn: () => T): T {
  return autocast(fn, { enabled: precision === 'bf16', deviceType: device.startsWith('cuda') ? 'cuda' : 'cpu', dtype: 'bfloat16' });
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
  /** tokens in the evaluated blocks (or examples, padding aside) */
  tokens: number;
  /** blocks (or examples) evaluated */
  blocks: number;
  /** tokens the loss predicted: the mean is over these */
  predictedTokens: number;
  /**
   * the share of those tokens the model's most likely next token gets right (HF run_clm's
   * eval_accuracy; padding and masked prompts are left out here, where run_clm counts them wrong)
   */
  accuracy: number;
}

/**
 * The mean HF loss over every predicted token of the dataset (for blocks, each block weighs the
 * same; for padded examples, each predicted token does, whatever the batching: HF's mean of
 * batch means would shift with the batch size), in eval mode, no grad. With precision 'bf16'
 * the forward passes run under bfloat16 autocast (as HF evaluates with bf16=True). With
 * `distributed` in a data-parallel run, each rank evaluates every world-size-th item and the
 * sums are all-reduced: every rank gets the mean over all of them, in 1/world of the time.
 */
export function evaluate(model: GPT2LMHeadModel, data: LMDataset, opts: { batchSize?: number; device?: string; precision?: 'fp32' | 'bf16'; distributed?: boolean } = {}): EvalResult {
  if (data.length === 0) throw new Error('evaluate: the dataset is empty (text shorter than the block size?)');
  keywordOptions('evaluate', opts, ['batchSize', 'device', 'precision', 'distributed']);
  const bs = opts.batchSize ?? 8;
  const world = opts.distributed ? distributed.getWorldSize() : 1, rank = distributed.getRank();
  const mine = Array.from({ length: data.length }, (_, i) => i).filter((i) => world === 1 || i % world === rank);
  const wasTraining = model.training;
  model.eval();
  // Batch losses are read once at the end: on CUDA each read would wait for the device.
  const losses: Tensor[] = [];
  const hits: Tensor[] = [];
  const sizes: number[] = [];
  let sum = 0, correct = 0;
  try {
    noGrad(() => {
      for (let i = 0; i < mine.length; i += bs) {
        const idx = mine.slice(i, i + bs);
        tidy(() => {
          const batch = data.collate(idx, opts.device);
          const out = withPrecision(opts.precision ?? 'fp32', opts.device ?? 'cpu', () => model.forward(batch.inputIds, { labels: batch.labels, attentionMask: batch.attentionMask, positionIds: batch.positionIds }));
          losses.push(keep(out.loss!.reshape([1])));
          // next-token accuracy: the argmax at t against the label at t + 1, where there is one
          const T = batch.labels.shape[1];
          const next = batch.labels.narrow(1, 1, T - 1);
          hits.push(keep(out.logits.narrow(1, 0, T - 1).argmax(-1).eq(next).logicalAnd(next.ne(-100)).sum().reshape([1]).to({ dtype: 'float64' })));
        });
        sizes.push(data.lossTokens(idx));
      }
    });
    readAndDispose(losses.splice(0)).forEach((v, k) => { sum += v * sizes[k]; });
    correct = readAndDispose(hits.splice(0)).reduce((x, y) => x + y, 0);
  } finally {
    for (const t of [...losses, ...hits]) t.dispose();
    model.train(wasTraining);
  }
  if (world > 1) {
    const total = tensor([sum, correct], { dtype: 'float64', device: opts.device }); // (NCCL takes device tensors only)
    distributed.allReduce([total], { op: 'sum' });
    [sum, correct] = total.tolist() as number[];
    total.dispose();
  }
  const all = Array.from({ length: data.length }, (_, i) => i);
  const predictedTokens = data.lossTokens(all);
  const loss = sum / predictedTokens;
  return { loss, perplexity: Math.exp(loss), tokens: data.tokens(all), blocks: data.length, predictedTokens, accuracy: correct / predictedTokens };
}

export interface ClassifierEvalResult {
  /** the mean loss over the examples (HF's eval_loss: its batch means weighted by batch size) */
  loss: number;
  /** single-label: the share of examples whose most likely class is the label; multi-label: whose every class is decided right (logit > 0 when labelled); NaN for regression */
  accuracy: number;
  examples: number;
}

/**
 * A sequence classifier's eval loss and accuracy over a ClassificationDataset, in eval mode, no
 * grad (bf16 autocast with precision 'bf16'); with `distributed`, each rank takes every
 * world-size-th example and the sums are all-reduced.
 */
export function evaluateClassifier(model: GPT2ForSequenceClassification, data: ClassificationDataset,
  opts: { batchSize?: number; device?: string; precision?: 'fp32' | 'bf16'; distributed?: boolean } = {}): ClassifierEvalResult {
  const [sum, correct] = shardedSums(model, data.length, 2, opts, (idx) => {
    const batch = data.collate(idx, opts.device);
    const out = withPrecision(opts.precision ?? 'fp32', opts.device ?? 'cpu', () => model.forward(batch.inputIds, { labels: batch.labels, attentionMask: batch.attentionMask }));
    let correct: Tensor;
    if (data.problemType === 'single_label_classification') correct = out.logits.argmax(-1).eq(batch.labels).sum();
    else if (data.problemType === 'multi_label_classification') correct = out.logits.gt(0).eq(batch.labels.gt(0.5)).all(-1).sum();
    else correct = tensor(0, { device: out.logits.device as Device });
    return stack([out.loss!.double().mul(idx.length), correct.double()]);
  });
  const n = data.length;
  return { loss: sum / n, accuracy: data.problemType === 'regression' ? NaN : correct / n, examples: n };
}

export interface TokenClassifierEvalResult {
  /** the mean loss over the labelled tokens (each word's first) */
  loss: number;
  /** the share of words tagged right (seqeval's accuracy) */
  accuracy: number;
  /** the words scored */
  tokens: number;
  /** with entity tags (IOB / IOBES, see isEntityTagSet): run_ner's micro-averaged entity scores, and per type; else absent */
  entities?: EntityReport;
}

/**
 * A token classifier's eval loss (the mean over the labelled tokens), accuracy (the share of them
 * tagged right) and, when its tags name entities, HF run_ner's entity precision, recall and F1
 * (seqeval's default mode over each sentence's word tags). Sharded as evaluateClassifier.
 */
export function evaluateTokenClassifier(model: GPT2ForTokenClassification, data: TokenClassificationDataset,
  opts: { batchSize?: number; device?: string; precision?: 'fp32' | 'bf16'; distributed?: boolean } = {}): TokenClassifierEvalResult {
  const names = data.labelNames, types = isEntityTagSet(names) ? entityTypes(names) : [];
  const sums = shardedSums(model, data.length, 3 + 3 * types.length, opts, (idx) => {
    const batch = data.collate(idx, opts.device);
    const out = withPrecision(opts.precision ?? 'fp32', opts.device ?? 'cpu', () => model.forward(batch.inputIds, { labels: batch.labels, attentionMask: batch.attentionMask }));
    const predicted = out.logits.argmax(-1);
    const labelled = batch.labels.ne(-100), count = data.lossTokens(idx), dev = batch.labels.device as Device;
    // entity counts need each sentence's word tags: the predictions are read here, the gold tags are the dataset's
    const counts = new Array<number>(3 * types.length).fill(0);
    if (types.length) {
      const rows = predicted.tolist() as number[][];
      idx.forEach((i, r) => {
        const gold: string[] = [], guess: string[] = [];
        data.labels[i].forEach((l, t) => { if (l !== -100) { gold.push(names[l]); guess.push(names[rows[r][t]]); } });
        entityCounts(gold, guess, types).forEach((c, k) => { counts[k] += c; });
      });
    }
    return cat([
      stack([out.loss!.double().mul(count), predicted.eq(batch.labels).logicalAnd(labelled).sum().double(), tensor(count, { dtype: 'float64', device: dev })]),
      tensor(counts, { dtype: 'float64', device: dev }),
    ]);
  });
  const [sum, correct, n] = sums;
  return { loss: sum / n, accuracy: correct / n, tokens: n, ...(types.length ? { entities: entityReport(sums.slice(3), types) } : {}) };
}

/**
 * Sums over a dataset's n items, in eval mode without grad: batch(indices) gives a batch's
 * `width` sums, a (width) tensor; with `distributed`, each rank takes every world-size-th item and the sums are
 * all-reduced, so every rank gets the totals. Read from the device once, at the end.
 */
export function shardedSums(model: Module, n: number, width: number, opts: { batchSize?: number; device?: string; distributed?: boolean }, batch: (indices: number[]) => Tensor): number[] {
  const bs = opts.batchSize ?? 8;
  const world = opts.distributed ? distributed.getWorldSize() : 1, rank = distributed.getRank();
  const mine = Array.from({ length: n }, (_, i) => i).filter((i) => world === 1 || i % world === rank);
  const wasTraining = model.training;
  model.eval();
  const sums: Tensor[] = [];
  try {
    noGrad(() => {
      for (let i = 0; i < mine.length; i += bs) {
        const idx = mine.slice(i, i + bs);
        tidy(() => { sums.push(keep(batch(idx))); });
      }
    });
    // (a rank with no items still joins the all-reduce, with zeros)
    const total = tidy(() => (sums.length ? stack(sums).sum(0).double() : zeros([width], { dtype: 'float64', device: opts.device as Device })));
    if (world > 1) distributed.allReduce([total], { op: 'sum' });
    try {
      return total.tolist() as number[];
    } finally {
      total.dispose();
    }
  } finally {
    for (const t of sums) t.dispose();
    model.train(wasTraining);
  }
}
