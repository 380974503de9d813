// What the preference-pair trainers (DPO, ORPO, CPO) share: the Trainer with its step replaced by
// a loss over micro-batches of pairs, TRL's metrics summed over the pairs between log lines, and
// evaluation as a mean over a dataset's pairs. Each trainer gives only its loss of a batch.
import { Tensor } from '../tensor/tensor';
import { tidy, keep } from '../tensor/scope';
import { noGrad } from '../tensor/runtime';
import { stack, cat } from '../tensor/ops';
import { tensor } from '../tensor/creation';
import * as distributed from '../tensor/distributed';
import { GPT2LMHeadModel } from '../models/gpt2';
import { PreferenceDataset } from '../data/preference';
import { Trainer, TrainingArguments } from './trainer';
import { shardedSums } from './evaluate';
import type { EvalMetrics, TrainerCallback } from './callbacks';

/** A batch of pairs as PreferenceDataset.collate gives it: the B chosen rows, then the B rejected. */
export type PairBatch = { inputIds: Tensor; labels: Tensor; attentionMask?: Tensor };

/** What a batch of pairs gives: the loss (a mean over its pairs), (), and the metrics summed over its pairs, (metrics). */
export interface PairLoss {
  loss: Tensor;
  sums: Tensor;
}

/**
 * A preference trainer's metrics between log lines: sums over pairs kept on the device (read once,
 * at the line), then means over every rank's pairs (TRL's gather_for_metrics).
 */
export class PairMetrics {
  private sum: Tensor | null = null;
  private pairs = 0;
  constructor(readonly names: string[]) {}

  /** A step's metric sums (one (names) tensor per micro-batch) over its `pairs` pairs. */
  add(sums: Tensor[], pairs: number): void {
    const before = this.sum;
    this.sum = keep(tidy(() => stack(before ? [before, ...sums] : sums).sum(0)));
    before?.dispose();
    this.pairs += pairs;
  }

  /** The means since the last call, over all ranks (every rank must call it at each log line). */
  take(worldSize: number): Record<string, number> {
    if (!this.sum) return {};
    let sums: number[], n: number;
    if (worldSize > 1) {
      const all = keep(tidy(() => cat([this.sum!, tensor([this.pairs], { dtype: this.sum!.dtype, device: this.sum!.device })], 0)));
      distributed.allReduce([all], { op: 'sum' });
      const v = all.tolist() as number[];
      all.dispose();
      [sums, n] = [v.slice(0, this.names.length), v[this.names.length]];
    } else {
      [sums, n] = [this.sum.tolist() as number[], this.pairs];
    }
    this.sum.dispose();
    this.sum = null;
    this.pairs = 0;
    return Object.fromEntries(this.names.map((m, k) => [m, sums[k] / n]));
  }
}

/**
 * The Trainer for preference pairs: a step is the gradient of the mean loss over all its pairs
 * (each micro-batch weighted by its share of them), without dropout (TRL's disable_dropout), and
 * each log line carries the means of the metrics since the last one.
 */
export abstract class PairTrainer extends Trainer {
  declare readonly model: GPT2LMHeadModel;
  private readonly pairMetrics: PairMetrics;

  constructor(model: GPT2LMHeadModel, args: TrainingArguments, trainDataset: PreferenceDataset, evalDataset: PreferenceDataset | undefined,
    callbacks: TrainerCallback[], metricNames: string[]) {
    super(model, args, trainDataset, evalDataset, callbacks);
    this.pairMetrics = new PairMetrics(metricNames);
  }

  /** The loss of a micro-batch of the training set's pairs (their indices, and their batch). */
  protected abstract trainingLoss(indices: number[], batch: PairBatch): PairLoss;

  /** One optimizer step over its micro-batches of pairs. Returns the step's loss, (1). */
  override trainingStep(micros: number[][]): Tensor {
    const data = this.trainDataset as PreferenceDataset;
    this.model.eval(); // (TRL's disable_dropout)
    const { loss, sums } = this.weightedStep(micros, (micro) => this.trainingLoss(micro, data.collate(micro, this.args.device)));
    this.pairMetrics.add(sums, micros.reduce((n, m) => n + m.length, 0));
    return loss;
  }

  /** TRL's metrics, means over the pairs since the last log line. */
  protected override trainingLogExtras(): Record<string, number> {
    return this.pairMetrics.take(this.worldSize);
  }
}

/**
 * A model's mean loss over a dataset's pairs (eval_loss), its reward accuracy (eval_accuracy) and
 * the metrics with eval_ names, each a mean over the pairs; lossOf gives a batch's. With
 * `distributed`, each rank takes every world-size-th pair and the sums are all-reduced.
 */
export function evaluatePairLoss(model: GPT2LMHeadModel, dataset: PreferenceDataset, names: string[],
  opts: { batchSize?: number; device: string; distributed?: boolean }, lossOf: (indices: number[], batch: PairBatch) => PairLoss): EvalMetrics & Record<string, number> {
  const totals = shardedSums(model, dataset.length, 1 + names.length, opts, (idx) => {
    const { loss, sums } = lossOf(idx, dataset.collate(idx, opts.device));
    return cat([loss.double().mul(idx.length).reshape([1]), sums.double()], 0);
  });
  const n = dataset.length;
  const metrics = Object.fromEntries(names.map((m, k) => [`eval_${m}`, totals[1 + k] / n]));
  // (no eval_perplexity: it means nothing for pairs, and metricForBestModel cannot ask for it here)
  return { eval_loss: totals[0] / n, eval_accuracy: metrics['eval_rewards/accuracies'], ...metrics } as EvalMetrics & Record<string, number>;
}

/**
 * TRL's ORPO and CPO logits/chosen and logits/rejected: the mean of the logits over every position
 * and vocabulary entry of the chosen rows (the first half), and of the rejected rows, padding
 * included as TRL's all_logits[:len_chosen].mean() has it, (2).
 */
export function allLogitsMeans(logits: Tensor): Tensor {
  return noGrad(() => tidy(() => {
    const B = logits.shape[0] / 2, l = logits.detach().float();
    return stack([l.narrow(0, 0, B).mean(), l.narrow(0, B, B).mean()]);
  }));
}

/**
 * What a trainer without a reference (ORPO, CPO) needs of its model, data and arguments: a causal
 * LM, preference pairs, none of the language model's own training tricks, no perplexity metric.
 */
export function checkReferenceFreeTrainer(method: string, model: GPT2LMHeadModel, args: TrainingArguments, trainDataset: PreferenceDataset, evalDataset?: PreferenceDataset): void {
  const who = `${method}Trainer`;
  if (!(model instanceof GPT2LMHeadModel)) throw new Error(`${who}: the model must be a GPT2LMHeadModel (${method} scores completions by their log-probabilities)`);
  checkPairData(method, args, trainDataset, evalDataset);
  for (const [k, bad] of [['labelSmoothingFactor', args.labelSmoothingFactor], ['neftuneNoiseAlpha', args.neftuneNoiseAlpha]] as const) {
    if (bad) throw new Error(`${who}: ${k} is for language-model training; ${method} does not take it`);
  }
}

/** A pair trainer's data: preference pairs, and loss or accuracy (not perplexity) for the best model. */
export function checkPairData(method: string, args: TrainingArguments, trainDataset: PreferenceDataset, evalDataset?: PreferenceDataset): void {
  const who = `${method}Trainer`;
  if (!(trainDataset instanceof PreferenceDataset)) throw new Error(`${who}: the training set must be a PreferenceDataset (prompt, chosen, rejected)`);
  if (evalDataset && !(evalDataset instanceof PreferenceDataset)) throw new Error(`${who}: the eval set must be a PreferenceDataset too`);
  if (args.metricForBestModel && /perplexity/.test(args.metricForBestModel)) throw new Error(`${who}: metricForBestModel is loss or accuracy (the reward accuracy) for ${method}, not perplexity`);
}
