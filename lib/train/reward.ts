// Reward modeling as TRL's RewardTrainer: a GPT2ForSequenceClassification with one output scores
// each side of a preference pair, and the loss (Bradley-Terry) is
//   -logσ(r(chosen) - r(rejected) - margin), averaged over the pairs,
// plus center_rewards_coefficient · mean((r(chosen) + r(rejected))²) when that is set (it keeps
// the rewards centred on zero). The Trainer's loop (optimizer, schedule, accumulation, logging,
// checkpoints, resume, data parallel) with its step and evaluation replaced; eval_accuracy is the
// share of pairs whose chosen side scores higher.
import { Tensor } from '../tensor/tensor';
import { tidy } from '../tensor/scope';
import { stack } from '../tensor/ops';
import * as F from '../nn/functional';
import { GPT2ForSequenceClassification } from '../models/sequence_classification';
import { RewardDataset } from '../data/preference';
import type { LMBatch } from '../data/dataset';
import { Trainer, TrainingArguments } from './trainer';
import { shardedSums, withPrecision } from './evaluate';
import type { EvalMetrics, TrainerCallback } from './callbacks';

export interface RewardArguments extends TrainingArguments {
  /** TRL's center_rewards_coefficient: weight of mean((r(chosen) + r(rejected))²) in the loss; null (default) leaves it out */
  centerRewardsCoefficient?: number | null;
}

/** The rewards of a batch's 2B rows, (2B), float32. */
function rewards(model: GPT2ForSequenceClassification, batch: LMBatch, precision: 'fp32' | 'bf16', device: string): Tensor {
  return tidy(() => withPrecision(precision, device, () => model.forward(batch.inputIds, { attentionMask: batch.attentionMask }).logits).float().view([-1]));
}

/** TRL's reward loss of B pairs from their 2B rewards and B margins. */
export function rewardLoss(r: Tensor, margins: Tensor, centerRewardsCoefficient: number | null = null): Tensor {
  return tidy(() => {
    const B = r.shape[0] / 2;
    const [chosen, rejected] = [r.narrow(0, 0, B), r.narrow(0, B, B)];
    let loss = F.logSigmoid(chosen.sub(rejected).sub(margins)).mean().neg();
    if (centerRewardsCoefficient !== null) loss = loss.add(chosen.add(rejected).pow(2).mean().mul(centerRewardsCoefficient));
    return loss;
  });
}

/**
 * A reward model's loss and accuracy over pairs (eval_loss: the mean over pairs; eval_accuracy:
 * pairs whose chosen side scores higher), in eval mode, no grad; with `distributed`, each rank
 * takes every world-size-th pair and the sums are all-reduced.
 */
export function evaluateRewards(model: GPT2ForSequenceClassification, data: RewardDataset, opts: {
  batchSize?: number; device?: string; precision?: 'fp32' | 'bf16'; centerRewardsCoefficient?: number | null; distributed?: boolean;
} = {}): { loss: number; accuracy: number; pairs: number } {
  if (!(data instanceof RewardDataset)) throw new Error('evaluateRewards: the data must be a RewardDataset (chosen, rejected)');
  const device = opts.device ?? 'cpu';
  const [sum, correct] = shardedSums(model, data.length, 2, opts, (idx) => {
    const batch = data.collate(idx, device);
    const r = rewards(model, batch, opts.precision ?? 'fp32', device);
    const B = idx.length;
    const loss = rewardLoss(r, batch.labels, opts.centerRewardsCoefficient ?? null);
    return stack([loss.double().mul(B), r.narrow(0, 0, B).gt(r.narrow(0, B, B)).double().sum()]);
  });
  return { loss: sum / data.length, accuracy: correct / data.length, pairs: data.length };
}

export class RewardTrainer extends Trainer {
  static override readonly argumentNames: readonly string[] = [...Trainer.argumentNames, 'centerRewardsCoefficient'];
  declare readonly model: GPT2ForSequenceClassification;
  readonly centerRewardsCoefficient: number | null;

  /** The card's lines for this method (createModelCard). */
  protected override methodHyperparameters(): [string, string | number][] {
    return [['training_method', 'reward modeling'], ...(this.centerRewardsCoefficient !== null ? [['center_rewards_coefficient', this.centerRewardsCoefficient] as [string, number]] : [])];
  }

  constructor(model: GPT2ForSequenceClassification, args: RewardArguments, trainDataset: RewardDataset, evalDataset?: RewardDataset, callbacks: TrainerCallback[] = []) {
    if (!(model instanceof GPT2ForSequenceClassification) || model.numLabels !== 1) {
      throw new Error('RewardTrainer: the model must be a GPT2ForSequenceClassification with one output (numLabels: 1), the reward');
    }
    for (const [what, d] of [['training', trainDataset], ['eval', evalDataset]] as const) {
      if (d === undefined) continue;
      if (!(d instanceof RewardDataset)) throw new Error(`RewardTrainer: the ${what} set must be a RewardDataset (chosen, rejected)`);
      if (model.config.pad_token_id !== d.padTokenId) throw new Error(`RewardTrainer: the ${what} set pads with token ${d.padTokenId} but the model's pad_token_id is ${model.config.pad_token_id}: it would score each row at the wrong token`);
    }
    if (args.labelSmoothingFactor) throw new Error('RewardTrainer: labelSmoothingFactor is for classification; the reward loss does not take it');
    if (args.metricForBestModel && /perplexity/.test(args.metricForBestModel)) throw new Error('RewardTrainer: metricForBestModel is loss or accuracy for a reward model, not perplexity');
    const coefficient = args.centerRewardsCoefficient ?? null;
    if (coefficient !== null && !(coefficient >= 0)) throw new Error(`RewardTrainer: centerRewardsCoefficient must be >= 0 (or null), got ${coefficient}`);
    super(model, args, trainDataset, evalDataset, callbacks);
    this.centerRewardsCoefficient = coefficient;
  }

  /** One optimizer step over its micro-batches of pairs: the gradient of the mean loss over all the step's pairs. Returns that loss, (1). */
  override trainingStep(micros: number[][]): Tensor {
    const data = this.trainDataset as RewardDataset, a = this.args;
    return this.weightedStep(micros, (micro) => {
      const batch = data.collate(micro, a.device);
      return { loss: rewardLoss(rewards(this.model, batch, a.precision, a.device), batch.labels, this.centerRewardsCoefficient), sums: null };
    }).loss;
  }

  /** The eval set's mean reward loss (eval_loss) and the share of pairs ranked right (eval_accuracy). */
  override evaluate(dataset = this.evalDataset): EvalMetrics {
    if (!dataset) throw new Error('RewardTrainer.evaluate: no eval dataset (pass one to the RewardTrainer or to evaluate())');
    if (!(dataset instanceof RewardDataset)) throw new Error('RewardTrainer.evaluate: the eval set must be a RewardDataset');
    const a = this.args;
    const r = evaluateRewards(this.model, dataset, { batchSize: a.perDeviceEvalBatchSize, device: a.device, precision: a.precision, centerRewardsCoefficient: this.centerRewardsCoefficient, distributed: true });
    return { eval_loss: r.loss, eval_accuracy: r.accuracy } as EvalMetrics;
  }
}
