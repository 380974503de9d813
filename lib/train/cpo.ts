// Contrastive Preference Optimization (Xu et al. 2024) and SimPO (Meng et al. 2024) as TRL's
// CPOTrainer: preference pairs without a reference model. One forward pass over the 2B rows
// (chosen, then rejected) gives
//   logp(c), logp(r): each completion's summed token log-probability (ipo and simpo: the mean),
//   nll: the chosen completions' mean next-token cross-entropy,
// and with logits = logp(c) - logp(r) the loss (loss_type), plus cpo_alpha times nll:
//   sigmoid  -(1-ε)·logσ(β·logits) - ε·logσ(-β·logits)        hinge  relu(1 - β·logits)
//   ipo      (logits - 1/(2β))²                                simpo  sigmoid of logits - γ/β
// SimPO is loss_type simpo with cpo_alpha 0 (TRL's recipe; `tstorch train --method simpo`).
// Logged as TRL's: rewards/chosen, rewards/rejected (β·logp), rewards/accuracies, rewards/margins,
// logps/chosen, logps/rejected, nll_loss, logits/chosen, logits/rejected (the mean logit of each
// side's rows, padding included, as TRL's).
import { tidy } from '../tensor/scope';
import { cat, stack } from '../tensor/ops';
import * as F from '../nn/functional';
import { GPT2LMHeadModel } from '../models/gpt2';
import { PreferenceDataset } from '../data/preference';
import type { TrainingArguments } from './trainer';
import { PairTrainer, PairBatch, PairLoss, allLogitsMeans, evaluatePairLoss, checkReferenceFreeTrainer } from './pairs';
import { withPrecision } from './evaluate';
import type { EvalMetrics, TrainerCallback } from './callbacks';

export type CPOLossType = 'sigmoid' | 'hinge' | 'ipo' | 'simpo';
export const CPO_LOSS_TYPES: CPOLossType[] = ['sigmoid', 'hinge', 'ipo', 'simpo'];

export interface CPOArguments extends TrainingArguments {
  /** β (TRL's CPOConfig beta, default 0.1) */
  beta?: number;
  /** TRL's loss_type: sigmoid (CPO, default), hinge, ipo or simpo (SimPO) */
  lossType?: CPOLossType;
  /** the weight of the chosen completions' NLL in the loss (TRL's cpo_alpha, default 1; SimPO's is 0) */
  cpoAlpha?: number;
  /** simpo: γ, the target reward margin (TRL's simpo_gamma, default 0.5) */
  simpoGamma?: number;
  /** sigmoid and simpo: the chance that a pair's labels are flipped (TRL's label_smoothing, default 0) */
  cpoLabelSmoothing?: number;
}

/** What the CPO loss of a batch depends on besides the model. */
export interface CPOSettings {
  beta: number;
  lossType: CPOLossType;
  cpoAlpha: number;
  simpoGamma: number;
  labelSmoothing: number;
}

const METRICS = ['rewards/chosen', 'rewards/rejected', 'rewards/accuracies', 'rewards/margins', 'logps/chosen', 'logps/rejected', 'nll_loss', 'logits/chosen', 'logits/rejected'];

/** The settings of these options, checked (who: the caller, for the errors). */
function cpoSettings(who: string, o: { beta?: number; lossType?: CPOLossType; cpoAlpha?: number; simpoGamma?: number; cpoLabelSmoothing?: number }): CPOSettings {
  const s: CPOSettings = { beta: o.beta ?? 0.1, lossType: o.lossType ?? 'sigmoid', cpoAlpha: o.cpoAlpha ?? 1, simpoGamma: o.simpoGamma ?? 0.5, labelSmoothing: o.cpoLabelSmoothing ?? 0 };
  if (!(s.beta > 0)) throw new Error(`${who}: beta must be > 0, got ${s.beta}`);
  if (!CPO_LOSS_TYPES.includes(s.lossType)) throw new Error(`${who}: lossType must be ${CPO_LOSS_TYPES.join(', ')}; got '${s.lossType}'`);
  if (!(s.cpoAlpha >= 0 && Number.isFinite(s.cpoAlpha))) throw new Error(`${who}: cpoAlpha must be a number >= 0, got ${s.cpoAlpha}`);
  if (!Number.isFinite(s.simpoGamma)) throw new Error(`${who}: simpoGamma must be a number, got ${s.simpoGamma}`);
  if (o.simpoGamma !== undefined && s.lossType !== 'simpo') throw new Error(`${who}: simpoGamma is the simpo loss's; lossType is ${s.lossType}`);
  if (!(s.labelSmoothing >= 0 && s.labelSmoothing < 0.5)) throw new Error(`${who}: cpoLabelSmoothing must be in [0, 0.5), got ${s.labelSmoothing}`);
  if (s.labelSmoothing > 0 && s.lossType !== 'sigmoid' && s.lossType !== 'simpo') throw new Error(`${who}: cpoLabelSmoothing is for the sigmoid and simpo losses`);
  return s;
}

/** The CPO loss of a batch of B pairs (2B rows) and its metric sums over the pairs, (9). */
export function cpoLoss(model: GPT2LMHeadModel, batch: PairBatch, s: CPOSettings, precision: 'fp32' | 'bf16', device: string): PairLoss {
  return tidy(() => {
    const logits = withPrecision(precision, device, () => model.forward(batch.inputIds, { attentionMask: batch.attentionMask }).logits);
    const [R, T, V] = logits.shape, B = R / 2;
    const labels = batch.labels.narrow(1, 1, T - 1);
    const tokenNll = F.crossEntropy(logits.narrow(1, 0, T - 1).float().reshape([-1, V]), labels.reshape([-1]), { reduction: 'none', ignoreIndex: -100 }).view([R, T - 1]);
    const completion = labels.ne(-100).float();
    // each completion's log-probability: summed, or (ipo, simpo) its mean over its tokens
    const sum = tokenNll.sum(1).neg();
    const logps = s.lossType === 'ipo' || s.lossType === 'simpo' ? sum.div(completion.sum(1)) : sum;
    const [lc, lr] = [logps.narrow(0, 0, B), logps.narrow(0, B, B)];
    // the chosen completions' NLL, a mean over their tokens (TRL's CrossEntropyLoss over the chosen rows)
    const chosen = completion.narrow(0, 0, B);
    const nll = tokenNll.narrow(0, 0, B).sum().div(chosen.sum());
    let x = lc.sub(lr);
    if (s.lossType === 'simpo') x = x.sub(s.simpoGamma / s.beta);
    const z = x.mul(s.beta), e = s.labelSmoothing;
    const losses = s.lossType === 'hinge' ? z.neg().add(1).relu()
      : s.lossType === 'ipo' ? x.sub(1 / (2 * s.beta)).pow(2)
        : e > 0 ? F.logSigmoid(z).mul(-(1 - e)).sub(F.logSigmoid(z.neg()).mul(e)) : F.logSigmoid(z).neg();
    // (cpo_alpha 0: TRL leaves the NLL out, and logs it as 0)
    const loss = s.cpoAlpha === 0 ? losses.mean() : losses.mean().add(nll.mul(s.cpoAlpha));
    const [rc, rr] = [lc.detach().mul(s.beta), lr.detach().mul(s.beta)];
    const sums = cat([stack([
      rc.sum(), rr.sum(), rc.gt(rr).float().sum(), rc.sub(rr).sum(), lc.detach().sum(), lr.detach().sum(), s.cpoAlpha === 0 ? nll.detach().mul(0) : nll.detach().mul(B),
    ]), allLogitsMeans(logits).mul(B)], 0);
    return { loss, sums };
  });
}

export class CPOTrainer extends PairTrainer {
  static override readonly argumentNames: readonly string[] = [...PairTrainer.argumentNames, 'beta', 'lossType', 'cpoAlpha', 'simpoGamma', 'cpoLabelSmoothing'];
  readonly settings: CPOSettings;

  /** The card's lines for this method (createModelCard). */
  protected override methodHyperparameters(): [string, string | number][] {
    const s = this.settings;
    return [['training_method', s.lossType === 'simpo' && s.cpoAlpha === 0 ? 'SimPO' : 'CPO'], ['beta', s.beta], ['loss_type', s.lossType], ['cpo_alpha', s.cpoAlpha],
      ...(s.lossType === 'simpo' ? [['simpo_gamma', s.simpoGamma] as [string, number]] : []), ...(s.labelSmoothing ? [['label_smoothing', s.labelSmoothing] as [string, number]] : [])];
  }

  constructor(model: GPT2LMHeadModel, args: CPOArguments, trainDataset: PreferenceDataset, evalDataset?: PreferenceDataset, callbacks: TrainerCallback[] = []) {
    checkReferenceFreeTrainer('CPO', model, args, trainDataset, evalDataset);
    const s = cpoSettings('CPOTrainer', args);
    super(model, args, trainDataset, evalDataset, callbacks, METRICS);
    this.settings = s;
  }

  protected override trainingLoss(_indices: number[], batch: PairBatch): PairLoss {
    return cpoLoss(this.model, batch, this.settings, this.args.precision, this.args.device);
  }

  /** The eval set's mean CPO loss over pairs (eval_loss), its reward accuracy (eval_accuracy) and TRL's metrics with eval_ names. */
  override evaluate(dataset = this.evalDataset): EvalMetrics & Record<string, number> {
    if (!dataset) throw new Error('CPOTrainer.evaluate: no eval dataset (pass one to the CPOTrainer or to evaluate())');
    const a = this.args, s = this.settings;
    return evaluateCpo(this.model, dataset as PreferenceDataset, {
      beta: s.beta, lossType: s.lossType, cpoAlpha: s.cpoAlpha, simpoGamma: s.lossType === 'simpo' ? s.simpoGamma : undefined, cpoLabelSmoothing: s.labelSmoothing,
      batchSize: a.perDeviceEvalBatchSize, device: a.device, precision: a.precision, distributed: true,
    });
  }
}

/**
 * A model's CPO loss on preference pairs (eval_loss, a mean over pairs), its reward accuracy
 * (eval_accuracy) and TRL's metrics with eval_ names; no reference model. With `distributed`,
 * each rank takes every world-size-th pair. What `tstorch eval --method cpo` prints.
 */
export function evaluateCpo(model: GPT2LMHeadModel, dataset: PreferenceDataset, opts: {
  beta?: number; lossType?: CPOLossType; cpoAlpha?: number; simpoGamma?: number; cpoLabelSmoothing?: number; batchSize?: number; device?: string; precision?: 'fp32' | 'bf16'; distributed?: boolean;
} = {}): EvalMetrics & Record<string, number> {
  if (!(dataset instanceof PreferenceDataset)) throw new Error('evaluateCpo: the data must be a PreferenceDataset (prompt, chosen, rejected)');
  const s = cpoSettings('evaluateCpo', opts), device = opts.device ?? 'cpu';
  return evaluatePairLoss(model, dataset, METRICS, { batchSize: opts.batchSize, device, distributed: opts.distributed },
    (_idx, batch) => cpoLoss(model, batch, s, opts.precision ?? 'fp32', device));
}
