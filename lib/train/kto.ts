// Kahneman-Tversky Optimization (Ethayarajh et al. 2024) as TRL's KTOTrainer: preference
// learning from unpaired examples, each a completion marked desirable or not. For each example
// the policy's and the reference's log-probabilities of its completion (summed over its tokens)
// give the log-ratio r = log πθ(y|x) - log πref(y|x); the reference point z is an estimate of
// KL(πθ || πref) from mismatched rows (each prompt with another example's completion, no grad):
// z = max(0, mean(log πθ - log πref) over those rows), averaged over the data-parallel ranks. Then
//   desirable:   λD · (1 - σ(β·(r - z)))      undesirable:   λU · (1 - σ(β·(z - r)))
// and the loss is their mean over the batch. loss_type apo_zero_unpaired (APO's unpaired variant)
// is the same with no reference point, z = 0, and so no KL rows to score. As DPO, the reference is the model with its LoRA
// adapters disabled (or another of its adapters, or a frozen refModel), dropout off. Logged as TRL's: rewards/chosen,
// rewards/rejected (β·r means over the desirable / undesirable examples), rewards/margins,
// logps/chosen, logps/rejected, kl.
import { Tensor } from '../tensor/tensor';
import { tidy, keep } from '../tensor/scope';
import { noGrad } from '../tensor/runtime';
import { stack, cat, where } from '../tensor/ops';
import { tensor } from '../tensor/creation';
import * as distributed from '../tensor/distributed';
import { GPT2LMHeadModel } from '../models/gpt2';
import { KTODataset } from '../data/preference';
import { Trainer, TrainingArguments } from './trainer';
import { shardedSums } from './evaluate';
import { checkPolicyAndReference, checkReference, completionLogps, freezeReference, onReference, type ReferenceSpec } from './dpo';
import type { PairBatch } from './pairs';
import type { EvalMetrics, TrainerCallback } from './callbacks';
import type { Device } from '../tensor/dtype';

export type KTOLossType = 'kto' | 'apo_zero_unpaired';
export const KTO_LOSS_TYPES: KTOLossType[] = ['kto', 'apo_zero_unpaired'];

export interface KTOArguments extends TrainingArguments {
  /** TRL's KTOConfig loss_type: kto (default) or apo_zero_unpaired (no KL reference point) */
  lossType?: KTOLossType;
  /** β: how far from the reference the policy may go (TRL's beta, default 0.1) */
  beta?: number;
  /** λD: the desirable examples' loss weight (TRL's desirable_weight, default 1) */
  desirableWeight?: number;
  /** λU: the undesirable examples' loss weight (TRL's undesirable_weight, default 1) */
  undesirableWeight?: number;
  /**
   * TRL's precompute_ref_log_probs: the reference's log-probabilities of every training example
   * and its KL row computed once, before the first step, instead of two reference passes each
   * step (half the passes; the reference never changes). Evaluation still runs the reference.
   */
  precomputeRefLogProbs?: boolean;
  /** TRL's ref_adapter_name: the reference is this other adapter of the model (DPOArguments.refAdapterName) */
  refAdapterName?: string | null;
  /** TRL's model_adapter_name: the adapter that trains (made active; default the active one) */
  modelAdapterName?: string | null;
}

/** What the KTO loss of a batch depends on besides the model. */
interface KTOSettings {
  lossType: KTOLossType;
  beta: number;
  desirableWeight: number;
  undesirableWeight: number;
  precision: 'fp32' | 'bf16';
  device: string;
}

// A batch's metric sums: rewards and log-probabilities summed over its desirable (chosen) and
// undesirable (rejected) examples, their counts, its KL estimate, and 1 (the batch).
const SUMS = ['rewards/chosen', 'rewards/rejected', 'logps/chosen', 'logps/rejected', 'count/chosen', 'count/rejected', 'kl', 'batches'];

/** TRL's KTO metrics from summed SUMS: the means per side (a side without examples left out), the margin, the mean KL. */
function ktoMetrics(v: number[], prefix = ''): Record<string, number> {
  const [rc, rr, lc, lr, nc, nr, kl, batches] = v;
  const m: Record<string, number> = {};
  if (nc > 0) Object.assign(m, { [`${prefix}rewards/chosen`]: rc / nc, [`${prefix}logps/chosen`]: lc / nc });
  if (nr > 0) Object.assign(m, { [`${prefix}rewards/rejected`]: rr / nr, [`${prefix}logps/rejected`]: lr / nr });
  if (nc > 0 && nr > 0) m[`${prefix}rewards/margins`] = rc / nc - rr / nr;
  m[`${prefix}kl`] = kl / batches;
  return m;
}

/**
 * The KTO loss of a batch (the mean over its examples) and its metric sums, from the policy's and
 * the reference's log-probabilities of the completions and of the mismatched (KL) rows. With
 * `gatherKL` the KL estimate is averaged over the ranks (TRL's accelerator.gather(kl).mean()).
 */
export function ktoLoss(policy: Tensor, reference: Tensor, policyKL: Tensor | null, referenceKL: Tensor | null, desirable: boolean[], s: Pick<KTOSettings, 'beta' | 'desirableWeight' | 'undesirableWeight'>,
  gatherKL = false): { loss: Tensor; sums: Tensor } {
  return tidy(() => {
    // (no KL rows, as apo_zero_unpaired scores none: z = 0, TRL's calculate_KL False)
    if (!policyKL || !referenceKL) return ktoLossAt(tensor(0, { dtype: policy.dtype, device: policy.device }), policy, reference, desirable, s);
    let kl = policyKL.sub(referenceKL).mean().detach().clamp(0, null);
    if (gatherKL) {
      const all = kl.reshape([1]).clone();
      distributed.allReduce([all], { op: 'avg' });
      kl = all.reshape([]).clamp(0, null);
    }
    return ktoLossAt(kl, policy, reference, desirable, s);
  });
}

/** The KTO loss and metric sums at the reference point kl. */
function ktoLossAt(kl: Tensor, policy: Tensor, reference: Tensor, desirable: boolean[], s: Pick<KTOSettings, 'beta' | 'desirableWeight' | 'undesirableWeight'>): { loss: Tensor; sums: Tensor } {
  return tidy(() => {
    const logratios = policy.sub(reference);
    const d = tensor(desirable, { dtype: 'bool', device: policy.device });
    const chosenLosses = logratios.sub(kl).mul(s.beta).sigmoid().neg().add(1).mul(s.desirableWeight);
    const rejectedLosses = kl.sub(logratios).mul(s.beta).sigmoid().neg().add(1).mul(s.undesirableWeight);
    const loss = where(d, chosenLosses, rejectedLosses).mean();
    const rewards = logratios.detach().mul(s.beta), logps = policy.detach(), df = d.float(), uf = df.neg().add(1);
    const sums = stack([
      rewards.mul(df).sum(), rewards.mul(uf).sum(), logps.mul(df).sum(), logps.mul(uf).sum(), df.sum(), uf.sum(), kl.float(), tensor(1, { dtype: 'float32', device: policy.device }),
    ]);
    return { loss, sums };
  });
}

/** The reference's log-probabilities of a batch's rows and of its KL rows (none for apo_zero_unpaired), (B) each; no graph. */
function referenceLogpsOf(model: GPT2LMHeadModel, ref: ReferenceSpec, rows: { batch: PairBatch; kl: PairBatch }, s: KTOSettings): [Tensor, Tensor | null] {
  const reference = (b: PairBatch) => onReference(model, ref, (m) => completionLogps(m, b, s.precision, s.device));
  const referenceKL = s.lossType === 'kto' ? reference(rows.kl) : null;
  return [reference(rows.batch), referenceKL];
}

/**
 * The log-probabilities of a batch's and its KL rows' completions under the policy (the batch's
 * with grad) and the reference (no grad; or `precomputed`, [rows, KL rows]).
 */
function logpsOf(model: GPT2LMHeadModel, ref: ReferenceSpec, rows: { batch: PairBatch; kl: PairBatch }, s: KTOSettings, withGrad: boolean,
  precomputed?: [Tensor, Tensor | null]): [Tensor, Tensor, Tensor | null, Tensor | null] {
  const policy = (b: PairBatch) => completionLogps(model, b, s.precision, s.device);
  // (the passes without grad first, as TRL: none of them runs while the policy's graph is held)
  const policyKL = s.lossType === 'kto' ? noGrad(() => policy(rows.kl)) : null;
  const [referenceLogps, referenceKL] = precomputed ?? referenceLogpsOf(model, ref, rows, s);
  return [withGrad ? policy(rows.batch) : noGrad(() => policy(rows.batch)), referenceLogps, policyKL, referenceKL];
}

/**
 * A model's KTO loss on unpaired examples (eval_loss, a mean over examples) and TRL's metrics
 * with eval_ names, against refModel, another adapter of the model (refAdapterName) or (a LoRA
 * model) the model with its adapters disabled;
 * `klChunk` pairs the KL rows (the run's perDeviceTrainBatchSize, as TRL's eval set). Each batch's
 * KL estimate is its own (not gathered over ranks); with `distributed`, each rank takes every
 * world-size-th example and the sums are all-reduced.
 */
export function evaluateKTO(model: GPT2LMHeadModel, dataset: KTODataset, opts: {
  lossType?: KTOLossType; beta?: number; desirableWeight?: number; undesirableWeight?: number; klChunk?: number; refModel?: GPT2LMHeadModel | null; refAdapterName?: string | null;
  batchSize?: number; device?: string; precision?: 'fp32' | 'bf16'; distributed?: boolean;
} = {}): EvalMetrics & Record<string, number> {
  if (!(dataset instanceof KTODataset)) throw new Error('evaluateKTO: the data must be a KTODataset (prompt, completion, label)');
  const ref = { refModel: opts.refModel ?? null, refAdapterName: opts.refAdapterName ?? null };
  checkReference('evaluateKTO', model, ref);
  const s: KTOSettings = {
    lossType: opts.lossType ?? 'kto', beta: opts.beta ?? 0.1, desirableWeight: opts.desirableWeight ?? 1, undesirableWeight: opts.undesirableWeight ?? 1, precision: opts.precision ?? 'fp32', device: opts.device ?? 'cpu',
  };
  checkSettings('evaluateKTO', s);
  const chunk = opts.klChunk ?? opts.batchSize ?? 8;
  ref.refModel?.eval();
  const totals = shardedSums(model, dataset.length, 1 + SUMS.length, { batchSize: opts.batchSize, device: s.device, distributed: opts.distributed }, (idx) => {
    const [policy, reference, policyKL, referenceKL] = logpsOf(model, ref, dataset.collateKTO(idx, chunk, s.device), s, false);
    const { loss, sums } = ktoLoss(policy, reference, policyKL, referenceKL, idx.map((i) => dataset.labels[i]), s);
    return cat([loss.double().mul(idx.length).reshape([1]), sums.double()], 0);
  });
  return { eval_loss: totals[0] / dataset.length, ...ktoMetrics(totals.slice(1), 'eval_') } as EvalMetrics & Record<string, number>;
}

function checkSettings(who: string, s: KTOSettings): void {
  if (!KTO_LOSS_TYPES.includes(s.lossType)) throw new Error(`${who}: lossType must be ${KTO_LOSS_TYPES.join(' or ')}; got '${s.lossType}'`);
  if (!(s.beta > 0)) throw new Error(`${who}: beta must be > 0, got ${s.beta}`);
  for (const k of ['desirableWeight', 'undesirableWeight'] as const) if (!(s[k] > 0)) throw new Error(`${who}: ${k} must be > 0, got ${s[k]}`);
}

export class KTOTrainer extends Trainer {
  static override readonly argumentNames: readonly string[] = [...Trainer.argumentNames, 'lossType', 'beta', 'desirableWeight', 'undesirableWeight', 'precomputeRefLogProbs', 'refAdapterName', 'modelAdapterName'];
  declare readonly model: GPT2LMHeadModel;
  readonly lossType: KTOLossType;
  readonly beta: number;
  readonly desirableWeight: number;
  readonly undesirableWeight: number;
  private sums: Tensor | null = null; // SUMS since the last log line
  /** precomputeRefLogProbs: the training examples' reference log-probabilities, [row, KL row] per example */
  private refCache: Float32Array | null = null;

  /** The card's lines for this method (createModelCard). */
  protected override methodHyperparameters(): [string, string | number][] {
    return [['training_method', 'KTO'], ...(this.lossType === 'kto' ? [] : [['loss_type', this.lossType] as [string, string]]), ['beta', this.beta], ['desirable_weight', this.desirableWeight], ['undesirable_weight', this.undesirableWeight]];
  }

  /**
   * refModel: the frozen reference for full fine-tuning; leave it out for a LoRA model (the
   * reference is then the model with its adapters disabled, as TRL's with PEFT, or the adapter
   * args.refAdapterName).
   */
  constructor(model: GPT2LMHeadModel, args: KTOArguments, trainDataset: KTODataset, evalDataset?: KTODataset,
    callbacks: TrainerCallback[] = [], readonly refModel: GPT2LMHeadModel | null = null) {
    checkPolicyAndReference('KTO', model, refModel, args);
    if (!(trainDataset instanceof KTODataset)) throw new Error('KTOTrainer: the training set must be a KTODataset (prompt, completion, label; or KTODataset.fromPairs of preference pairs)');
    if (evalDataset && !(evalDataset instanceof KTODataset)) throw new Error('KTOTrainer: the eval set must be a KTODataset too');
    if (args.metricForBestModel && !/^(eval_)?loss$/.test(args.metricForBestModel)) throw new Error(`KTOTrainer: metricForBestModel is loss for KTO (it has no ${args.metricForBestModel.replace(/^eval_/, '')})`);
    // (TRL's: with one example per device the KL rows would be the examples themselves)
    if ((args.lossType ?? 'kto') === 'kto' && (args.perDeviceTrainBatchSize ?? 8) < 2) throw new Error('KTOTrainer: perDeviceTrainBatchSize must be > 1: KTO estimates its KL term from the other examples of a batch');
    const s = { lossType: args.lossType ?? 'kto', beta: args.beta ?? 0.1, desirableWeight: args.desirableWeight ?? 1, undesirableWeight: args.undesirableWeight ?? 1, precision: 'fp32', device: 'cpu' } as KTOSettings;
    checkSettings('KTOTrainer', s);
    const counts = trainDataset.counts;
    if (!counts.desirable || !counts.undesirable) throw new Error(`KTOTrainer: the training set has ${counts.desirable} desirable and ${counts.undesirable} undesirable examples; KTO needs both`);
    // (all checked before the Trainer makes its optimizer and schedule)
    super(model, args, trainDataset, evalDataset, callbacks);
    this.lossType = s.lossType;
    this.beta = s.beta;
    this.desirableWeight = s.desirableWeight;
    this.undesirableWeight = s.undesirableWeight;
    const { desirable, undesirable } = trainDataset.counts;
    // TRL's advice: the weighted desirable examples should be 1 to 4/3 times the weighted undesirable ones
    const ratio = (s.desirableWeight * desirable) / (s.undesirableWeight * undesirable);
    if (this.rank === 0 && !(ratio >= 1 && ratio <= 4 / 3)) {
      const lo = (s.undesirableWeight * undesirable) / desirable, hi = (lo * 4) / 3;
      console.warn(`KTOTrainer: ${desirable} desirable and ${undesirable} undesirable examples with weights ${s.desirableWeight} and ${s.undesirableWeight}: `
        + `TRL recommends desirableWeight in [${lo.toFixed(2)}, ${hi.toFixed(2)}] (or undesirableWeight in [${((s.desirableWeight * desirable) / undesirable / (4 / 3)).toFixed(2)}, ${((s.desirableWeight * desirable) / undesirable).toFixed(2)}])`);
    }
    if (refModel) freezeReference(refModel);
  }

  /** the reference of this run */
  private get reference(): ReferenceSpec {
    return { refModel: this.refModel, refAdapterName: (this.args as KTOArguments).refAdapterName ?? null };
  }

  private get settings(): KTOSettings {
    return { lossType: this.lossType, beta: this.beta, desirableWeight: this.desirableWeight, undesirableWeight: this.undesirableWeight, precision: this.args.precision, device: this.args.device };
  }

  /**
   * One optimizer step over its micro-batches of examples: the gradient of the mean KTO loss over
   * all the step's examples (each micro-batch weighted by its share of them). Returns that loss, (1).
   */
  override trainingStep(micros: number[][]): Tensor {
    const data = this.trainDataset as KTODataset, a = this.args;
    this.model.eval(); // (TRL's disable_dropout)
    const { loss, sums } = this.weightedStep(micros, (micro) => {
      const rows = data.collateKTO(micro, a.perDeviceTrainBatchSize, a.device);
      const [policy, reference, policyKL, referenceKL] = logpsOf(this.model, this.reference, rows, this.settings, true, this.precomputed(micro));
      return ktoLoss(policy, reference, policyKL, referenceKL, micro.map((i) => data.labels[i]), this.settings, this.worldSize > 1);
    });
    const before = this.sums;
    this.sums = keep(tidy(() => stack(before ? [before, ...sums] : sums).sum(0)));
    before?.dispose();
    return loss;
  }

  /** With precomputeRefLogProbs: these examples' reference log-probabilities [rows, KL rows], every example's computed on first use (TRL's precompute pass). */
  private precomputed(indices: number[]): [Tensor, Tensor] | undefined {
    if (!(this.args as KTOArguments).precomputeRefLogProbs) return undefined;
    const data = this.trainDataset as KTODataset, a = this.args, bs = a.perDeviceTrainBatchSize;
    if (!this.refCache) {
      const cache = new Float32Array(2 * data.length);
      for (let i = 0; i < data.length; i += bs) {
        const idx = Array.from({ length: Math.min(bs, data.length - i) }, (_, k) => i + k);
        tidy(() => {
          const [r, rk] = referenceLogpsOf(this.model, this.reference, data.collateKTO(idx, bs, a.device), this.settings).map((t) => (t ? t.tolist() as number[] : null));
          idx.forEach((j, k) => { cache[2 * j] = r![k]; cache[2 * j + 1] = rk ? rk[k] : 0; });
        });
      }
      this.refCache = cache;
    }
    const c = this.refCache, device = a.device as Device;
    return [tensor(indices.map((i) => c[2 * i]), { dtype: 'float32', device }), tensor(indices.map((i) => c[2 * i + 1]), { dtype: 'float32', device })];
  }

  /** TRL's KTO metrics over the examples since the last log line, all ranks (every rank calls it at each log line). */
  protected override trainingLogExtras(): Record<string, number> {
    if (!this.sums) return {};
    if (this.worldSize > 1) distributed.allReduce([this.sums], { op: 'sum' });
    const v = this.sums.tolist() as number[];
    this.sums.dispose();
    this.sums = null;
    return ktoMetrics(v);
  }

  /** The eval set's mean KTO loss (eval_loss) and TRL's metrics (eval_rewards/chosen, ..., eval_kl). */
  override evaluate(dataset = this.evalDataset): EvalMetrics & Record<string, number> {
    if (!dataset) throw new Error('KTOTrainer.evaluate: no eval dataset (pass one to the KTOTrainer or to evaluate())');
    if (!(dataset instanceof KTODataset)) throw new Error('KTOTrainer.evaluate: the eval set must be a KTODataset');
    const a = this.args;
    return evaluateKTO(this.model, dataset, {
      lossType: this.lossType, beta: this.beta, desirableWeight: this.desirableWeight, undesirableWeight: this.undesirableWeight, klChunk: a.perDeviceTrainBatchSize,
      ...this.reference, batchSize: a.perDeviceEvalBatchSize, device: a.device, precision: a.precision, distributed: true,
    });
  }
}
