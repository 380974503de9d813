// Odds Ratio Preference Optimization (Hong et al. 2024) as TRL's ORPOTrainer: preference pairs
// without a reference model. One forward pass over the 2B rows (chosen, then rejected) gives
//   logp(c), logp(r): each completion's mean token log-probability, and
//   nll: the chosen rows' mean next-token cross-entropy over every real token (prompt included),
// and the loss is  nll - β·mean(logσ(log odds)),  log odds = (logp(c) - logp(r)) -
// (log(1 - e^logp(c)) - log(1 - e^logp(r))): supervised fine-tuning on the chosen completions with
// a penalty on the odds of the rejected one. Logged as TRL's: rewards/chosen, rewards/rejected
// (β·logp), rewards/accuracies, rewards/margins, logps/chosen, logps/rejected, nll_loss,
// log_odds_ratio (mean logσ(log odds)), log_odds_chosen (mean log odds), logits/chosen,
// logits/rejected (the mean logit of each side's rows, padding included, as TRL's).
import { tidy } from '../tensor/scope';
import { cat, stack, where } from '../tensor/ops';
import { full } from '../tensor/creation';
import * as F from '../nn/functional';
import { GPT2LMHeadModel } from '../models/gpt2';
import { PreferenceDataset } from '../data/preference';
import type { TrainingArguments } from './trainer';
import { PairTrainer, PairBatch, PairLoss, allLogitsMeans, evaluatePairLoss, checkReferenceFreeTrainer } from './pairs';
import { withPrecision } from './evaluate';
import type { EvalMetrics, TrainerCallback } from './callbacks';

export interface ORPOArguments extends TrainingArguments {
  /** β: the weight of the odds-ratio term (TRL's ORPOConfig beta, default 0.1) */
  beta?: number;
}

const METRICS = ['rewards/chosen', 'rewards/rejected', 'rewards/accuracies', 'rewards/margins', 'logps/chosen', 'logps/rejected', 'nll_loss', 'log_odds_ratio', 'log_odds_chosen', 'logits/chosen', 'logits/rejected'];

/** The ORPO loss of a batch of B pairs (2B rows) and its metric sums over the pairs, (11). */
export function orpoLoss(model: GPT2LMHeadModel, batch: PairBatch, beta: number, precision: 'fp32' | 'bf16', device: string): PairLoss {
  return tidy(() => {
    const logits = withPrecision(precision, device, () => model.forward(batch.inputIds, { attentionMask: batch.attentionMask }).logits);
    const [R, T, V] = logits.shape, B = R / 2;
    // every real token after the first is a target (TRL's labels: the ids where the mask is 1)
    const ids = batch.inputIds.narrow(1, 1, T - 1), real = batch.attentionMask!.narrow(1, 1, T - 1).eq(1);
    const targets = where(real, ids, full(ids.shape, -100, { dtype: ids.dtype, device: ids.device }));
    const tokenNll = F.crossEntropy(logits.narrow(1, 0, T - 1).float().reshape([-1, V]), targets.reshape([-1]), { reduction: 'none', ignoreIndex: -100 }).view([R, T - 1]);
    // each completion's mean log-probability (its labelled tokens)
    const completion = batch.labels.narrow(1, 1, T - 1).ne(-100).float();
    const logps = tokenNll.mul(completion).sum(1).neg().div(completion.sum(1).clamp(1, null));
    const [lc, lr] = [logps.narrow(0, 0, B), logps.narrow(0, B, B)];
    // the chosen rows' NLL, a mean over their real tokens
    const chosenReal = real.narrow(0, 0, B).float();
    const nll = tokenNll.narrow(0, 0, B).mul(chosenReal).sum().div(chosenReal.sum());
    // log(p / (1 - p)) for each side; log1p(-exp(x)) as TRL writes it
    const logOdds = lc.sub(lr).sub(lc.exp().neg().log1p().sub(lr.exp().neg().log1p()));
    const ratio = F.logSigmoid(logOdds);
    const loss = nll.sub(ratio.mean().mul(beta));
    const [rc, rr] = [lc.detach().mul(beta), lr.detach().mul(beta)];
    const sums = cat([stack([
      rc.sum(), rr.sum(), rc.gt(rr).float().sum(), rc.sub(rr).sum(), lc.detach().sum(), lr.detach().sum(),
      nll.detach().mul(B), ratio.detach().sum(), logOdds.detach().sum(),
    ]), allLogitsMeans(logits).mul(B)], 0);
    return { loss, sums };
  });
}

export class ORPOTrainer extends PairTrainer {
  static override readonly argumentNames: readonly string[] = [...PairTrainer.argumentNames, 'beta'];
  readonly beta: number;

  /** The card's lines for this method (createModelCard). */
  protected override methodHyperparameters(): [string, string | number][] {
    return [['training_method', 'ORPO'], ['beta', this.beta]];
  }

  constructor(model: GPT2LMHeadModel, args: ORPOArguments, trainDataset: PreferenceDataset, evalDataset?: PreferenceDataset, callbacks: TrainerCallback[] = []) {
    checkReferenceFreeTrainer('ORPO', model, args, trainDataset, evalDataset);
    const beta = args.beta ?? 0.1;
    if (!(beta > 0)) throw new Error(`ORPOTrainer: beta must be > 0, got ${beta}`);
    super(model, args, trainDataset, evalDataset, callbacks, METRICS);
    this.beta = beta;
  }

  protected override trainingLoss(_indices: number[], batch: PairBatch): PairLoss {
    return orpoLoss(this.model, batch, this.beta, this.args.precision, this.args.device);
  }

  /** The eval set's mean ORPO loss over pairs (eval_loss), its reward accuracy (eval_accuracy) and TRL's metrics with eval_ names. */
  override evaluate(dataset = this.evalDataset): EvalMetrics & Record<string, number> {
    if (!dataset) throw new Error('ORPOTrainer.evaluate: no eval dataset (pass one to the ORPOTrainer or to evaluate())');
    const a = this.args;
    return evaluateOrpo(this.model, dataset as PreferenceDataset, { beta: this.beta, batchSize: a.perDeviceEvalBatchSize, device: a.device, precision: a.precision, distributed: true });
  }
}

/**
 * A model's ORPO loss on preference pairs (eval_loss, a mean over pairs), its reward accuracy
 * (eval_accuracy) and TRL's metrics with eval_ names; no reference model. With `distributed`,
 * each rank takes every world-size-th pair. What `tstorch eval --method orpo` prints.
 */
export function evaluateOrpo(model: GPT2LMHeadModel, dataset: PreferenceDataset, opts: { beta?: number; batchSize?: number; device?: string; precision?: 'fp32' | 'bf16'; distributed?: boolean } = {}): EvalMetrics & Record<string, number> {
  if (!(dataset instanceof PreferenceDataset)) throw new Error('evaluateOrpo: the data must be a PreferenceDataset (prompt, chosen, rejected)');
  const beta = opts.beta ?? 0.1, device = opts.device ?? 'cpu';
  if (!(beta > 0)) throw new Error(`evaluateOrpo: beta must be > 0, got ${beta}`);
  return evaluatePairLoss(model, dataset, METRICS, { batchSize: opts.batchSize, device, distributed: opts.distributed },
    (_idx, batch) => orpoLoss(model, batch, beta, opts.precision ?? 'fp32', device));
}
