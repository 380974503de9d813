// Direct Preference Optimization (Rafailov et al. 2023) as TRL's DPOTrainer: the Trainer's loop
// (optimizer, schedule, accumulation, logging, checkpoints, resume) with its training step
// replaced. For each pair the policy's and the reference's log-probabilities of the chosen and
// the rejected completion (summed over the completion's tokens) give
//   logits = (log πθ(chosen) - log πθ(rejected)) - (log πref(chosen) - log πref(rejected))
// and the loss (loss_type): sigmoid   -(1-ε)·logσ(β·logits) - ε·logσ(-β·logits)
//                           robust    (-(1-ε)·logσ(β·logits) + ε·logσ(-β·logits)) / (1 - 2ε)
//                           exo_pair  σ(β·logits)·(logσ(β·logits) - log(1-ε)) + σ(-β·logits)·(logσ(-β·logits) - log ε), ε 1e-3 if 0
//                           hinge     relu(1 - β·logits)
//                           ipo       (logits - 1/(2β))², log-probabilities averaged over tokens
//                           nca_pair  -logσ(rc) - ½logσ(-rc) - ½logσ(-rr), rc and rr the rewards below
//                           sppo_hard (c - 1/(2β))² + (r + 1/(2β))², c and r the log-ratios to the reference
//                           aot_pair  the sigmoid loss of (sorted c) - (sorted r), sorted over the batch
//                           aot       the sigmoid loss of sorted policy log-ratios - sorted reference ones
//                           apo_zero  1 - σ(β·c) + σ(β·r)        apo_down  σ(β·c) + 1 - σ(β·(c - r))
//                           discopop  -logσ(z)·(1 - σ(z/τ)) + exp(-z)·σ(z/τ), z = β·logits
//                           bco_pair  -logσ(β·c - δ) - logσ(-(β·r - δ)), δ the running mean of the batches' mean reward
//                           sft       the chosen completions' NLL.
// A list of loss types (TRL's MPO) adds their losses and rewards, each times its loss weight.
// TRL's f_divergence_type (f-DPO) changes the logits the first five take: js_divergence subtracts
// softplus(c) - softplus(r); alpha_divergence makes them (e^(-α·r) - e^(-α·c)) / α.
// The reference is the model with its LoRA adapters disabled (TRL with a PEFT model), another
// adapter of the model (TRL's ref_adapter_name: DPO after SFT, the SFT adapter loaded twice), or
// a frozen refModel given for full fine-tuning. As TRL's disable_dropout (its default), the policy and the
// reference run without dropout. With rpo_alpha (RPO) the loss adds α times the chosen completions'
// NLL; with use_weighting (WPO) each pair's loss is weighted by how likely the policy finds its
// completions (wpoWeights); with ld_alpha (LD-DPO) the policy's tokens past the shorter completion's
// length count α times (ldLogps). Logged as TRL's: rewards/chosen, rewards/rejected (β times the log-ratio to the reference),
// rewards/accuracies, rewards/margins, logps/chosen, logps/rejected, logits/chosen, logits/rejected
// (and nll_loss with RPO or sft).
import { Tensor } from '../tensor/tensor';
import { tidy } from '../tensor/scope';
import { noGrad } from '../tensor/runtime';
import { stack, cat } from '../tensor/ops';
import * as distributed from '../tensor/distributed';
import { tensor } from '../tensor/creation';
import * as F from '../nn/functional';
import { GPT2LMHeadModel } from '../models/gpt2';
import { PreferenceDataset } from '../data/preference';
import { loraConfig, disableAdapter, withAdapter, adapterNames, activeAdapter, setAdapter } from '../lora/inject';
import type { TrainingArguments } from './trainer';
import { PairTrainer, PairBatch, PairLoss, evaluatePairLoss, checkPairData } from './pairs';
import { withPrecision } from './evaluate';
import { loadFile, saveFile } from '../io/safetensors';
import * as fs from 'fs';
import * as path from 'path';
import type { EvalMetrics, TrainerCallback, TrainerState } from './callbacks';

export type FDivergenceType = 'reverse_kl' | 'js_divergence' | 'alpha_divergence';
export const F_DIVERGENCE_TYPES: FDivergenceType[] = ['reverse_kl', 'js_divergence', 'alpha_divergence'];
export type DPOLossType = 'sigmoid' | 'robust' | 'exo_pair' | 'hinge' | 'ipo' | 'nca_pair' | 'sppo_hard' | 'aot' | 'aot_pair' | 'apo_zero' | 'apo_down' | 'discopop' | 'bco_pair' | 'sft';
export const DPO_LOSS_TYPES: DPOLossType[] = ['sigmoid', 'robust', 'exo_pair', 'hinge', 'ipo', 'nca_pair', 'sppo_hard', 'aot', 'aot_pair', 'apo_zero', 'apo_down', 'discopop', 'bco_pair', 'sft'];
/** the losses that take a label smoothing ε (TRL ignores it, with a warning, in the others; refused here) */
const SMOOTHED: DPOLossType[] = ['sigmoid', 'robust', 'exo_pair', 'aot', 'aot_pair'];
/** the losses of TRL's `logits`, which f_divergence_type changes */
const LOGIT_LOSSES: DPOLossType[] = ['sigmoid', 'robust', 'exo_pair', 'hinge', 'ipo'];
/** log of float32's largest value: TRL's cap_exp clamps exp's argument there */
const EXP_CAP = Math.log(3.4028234663852886e38);

export interface DPOArguments extends TrainingArguments {
  /** β: how far from the reference the policy may go (TRL's beta, default 0.1) */
  beta?: number;
  /**
   * TRL's loss_type: sigmoid (DPO, default), robust (rDPO), exo_pair (EXO), hinge (SLiC), ipo,
   * nca_pair (NCA), sppo_hard (SPPO), aot / aot_pair (AOT: sorted over each batch), apo_zero /
   * apo_down (APO), discopop (DiscoPOP), bco_pair (BCO's: the rewards centred on a running mean of
   * the batches' mean reward) or sft (the chosen completions' NLL); or a list of them, the loss
   * their sum (TRL's MPO: ['sigmoid', 'bco_pair', 'sft'] with lossWeights [0.8, 0.2, 1])
   */
  lossType?: DPOLossType | DPOLossType[];
  /** with a list of loss types: each one's weight (TRL's loss_weights; default 1 each) */
  lossWeights?: number[] | null;
  /** discopop: τ, the temperature of its mixing of the logistic and exponential losses (TRL's discopop_tau, default 0.05) */
  discopopTau?: number;
  /** TRL's f_divergence_type (f-DPO): reverse_kl (DPO's, default), js_divergence or alpha_divergence */
  fDivergenceType?: FDivergenceType;
  /** alpha_divergence: α (TRL's f_alpha_divergence_coef, default 1) */
  fAlphaDivergenceCoef?: number;
  /**
   * TRL's use_logits_to_keep: the LM head only from the position before the batch's first
   * completion token on (the prompt's own positions predict nothing any loss reads); the same
   * values, less time and memory with long prompts. Default false, as TRL.
   */
  useLogitsToKeep?: boolean;
  /**
   * TRL's rpo_alpha (RPO, Pang et al. 2024): the loss adds α times the NLL of the chosen
   * completions, a token mean over the batch (TRL's nll_loss, logged); default none.
   */
  rpoAlpha?: number | null;
  /**
   * TRL's use_weighting (WPO, Zhou et al. 2024): each pair's loss weighted by how likely the
   * policy finds both its completions against its own expected token probability, the weight
   * exp(chosen's + rejected's mean log p(token) - log Σ p²) capped at 1; default false.
   */
  useWeighting?: boolean;
  /**
   * TRL's ld_alpha (LD-DPO, Liu et al. 2024): in the policy's log-probability of each completion,
   * the tokens past the pair's public length (the shorter of its two completions) count α times,
   * so a longer completion's excess weighs less; the paper takes α in [0, 1]. Default none.
   * Positions count from each completion's first token (see ldLogps for where TRL differs).
   */
  ldAlpha?: number | null;
  /** sigmoid, robust and exo_pair: the chance that a pair's labels are flipped (TRL's label_smoothing, cDPO; default 0) */
  dpoLabelSmoothing?: number;
  /**
   * TRL's precompute_ref_log_probs: the reference's log-probabilities of every pair computed once,
   * before they are first needed, instead of a reference forward pass each step (a third less
   * compute per step; the reference never changes). Default false, as TRL.
   */
  precomputeRefLogProbs?: boolean;
  /**
   * TRL's ref_adapter_name: the reference is this other adapter of the model (for DPO after SFT:
   * the SFT adapter loaded twice, once to train on and once, under this name, to stay as it was),
   * instead of the model with its adapters disabled; no second copy of the base.
   */
  refAdapterName?: string | null;
  /** TRL's model_adapter_name: the adapter that trains (made active; default the active one). */
  modelAdapterName?: string | null;
  /**
   * TRL's sync_ref_model (TR-DPO, Gorbatovski et al. 2024): every refModelSyncSteps steps the
   * refModel moves toward the policy, ref ← (1 - α)·ref + α·policy (α: refModelMixupAlpha). Full
   * fine-tuning (a refModel); checkpoints keep the moved reference (ref_model.safetensors).
   */
  syncRefModel?: boolean;
  /** TR-DPO's α (TRL's ref_model_mixup_alpha, default 0.6) */
  refModelMixupAlpha?: number;
  /** TR-DPO: the steps between syncs (TRL's ref_model_sync_steps, default 512) */
  refModelSyncSteps?: number;
}

/**
 * TRL's SyncRefModelCallback (TR-DPO): at the end of every syncSteps-th step, the reference takes
 * α of the policy, parameter by parameter: ref ← (1 - α)·ref + α·policy.
 */
export class SyncRefModelCallback implements TrainerCallback {
  constructor(private readonly model: GPT2LMHeadModel, private readonly refModel: GPT2LMHeadModel, readonly alpha: number, readonly syncSteps: number) {}
  onStepEnd(state: TrainerState): void {
    if (state.globalStep % this.syncSteps === 0) syncReference(this.model, this.refModel, this.alpha);
  }
}

/** ref ← (1 - α)·ref + α·policy for every parameter of the reference (by name). */
export function syncReference(model: GPT2LMHeadModel, refModel: GPT2LMHeadModel, alpha: number): void {
  const policy = new Map(model.namedParameters());
  noGrad(() => {
    for (const [n, r] of refModel.namedParameters()) r.mul_(1 - alpha).add_(policy.get(n)!, alpha);
  });
}

/** TR-DPO's checks (who: the caller); [α, steps] of a run that syncs, null otherwise. */
function syncSettings(who: string, model: GPT2LMHeadModel, refModel: GPT2LMHeadModel | null, args: DPOArguments): [number, number] | null {
  if (!args.syncRefModel) {
    for (const k of ['refModelMixupAlpha', 'refModelSyncSteps'] as const) if (args[k] !== undefined) throw new Error(`${who}: ${k} is TR-DPO's; set syncRefModel too`);
    return null;
  }
  const alpha = args.refModelMixupAlpha ?? 0.6, steps = args.refModelSyncSteps ?? 512;
  if (!refModel || loraConfig(model)) throw new Error(`${who}: syncRefModel (TR-DPO) moves a separate reference model toward the policy, weight by weight: full fine-tuning with a refModel (with LoRA the reference is the base itself)`);
  if (args.precomputeRefLogProbs) throw new Error(`${who}: syncRefModel moves the reference during training, precomputeRefLogProbs scores it once: not both (as TRL)`);
  if (!(alpha >= 0 && alpha <= 1)) throw new Error(`${who}: refModelMixupAlpha must be in [0, 1], got ${alpha}`);
  if (!(Number.isInteger(steps) && steps >= 1)) throw new Error(`${who}: refModelSyncSteps must be an integer >= 1, got ${steps}`);
  const policy = new Map(model.namedParameters());
  for (const [n, r] of refModel.namedParameters()) {
    const p = policy.get(n);
    if (!p || p.shape.join() !== r.shape.join()) throw new Error(`${who}: syncRefModel: refModel's ${n} ${p ? `is [${r.shape}], the policy's [${p.shape}]` : 'is not in the policy'}; the reference must be a copy of the policy's architecture`);
  }
  return [alpha, steps];
}

/** The file in a TR-DPO run's checkpoints that holds the reference as the syncs have moved it. */
const SYNCED_REFERENCE = 'ref_model.safetensors';

const METRICS = ['rewards/chosen', 'rewards/rejected', 'rewards/accuracies', 'rewards/margins', 'logps/chosen', 'logps/rejected', 'logits/chosen', 'logits/rejected'];

/** What the DPO loss of a batch depends on besides the model. */
export interface LossSettings {
  beta: number;
  /** as given: one loss type or a list */
  lossType: DPOLossType | DPOLossType[];
  lossWeights: number[] | null;
  labelSmoothing: number;
  discopopTau: number;
  fDivergenceType: FDivergenceType;
  fAlphaDivergenceCoef: number;
  useLogitsToKeep: boolean;
  rpoAlpha: number | null;
  useWeighting: boolean;
  ldAlpha: number | null;
  precision: 'fp32' | 'bf16';
  device: string;
}

/** The loss settings of these options, checked (who: the caller, for the errors). */
function lossSettings(who: string, o: {
  beta?: number; lossType?: DPOLossType | DPOLossType[]; lossWeights?: number[] | null; dpoLabelSmoothing?: number; discopopTau?: number; fDivergenceType?: FDivergenceType; fAlphaDivergenceCoef?: number; rpoAlpha?: number | null;
  useLogitsToKeep?: boolean; useWeighting?: boolean; ldAlpha?: number | null; precision: 'fp32' | 'bf16'; device: string;
}): LossSettings {
  const s: LossSettings = {
    beta: o.beta ?? 0.1, lossType: o.lossType ?? 'sigmoid', lossWeights: o.lossWeights ?? null, labelSmoothing: o.dpoLabelSmoothing ?? 0, discopopTau: o.discopopTau ?? 0.05,
    fDivergenceType: o.fDivergenceType ?? 'reverse_kl', fAlphaDivergenceCoef: o.fAlphaDivergenceCoef ?? 1, useLogitsToKeep: o.useLogitsToKeep ?? false, rpoAlpha: o.rpoAlpha ?? null,
    useWeighting: o.useWeighting ?? false, ldAlpha: o.ldAlpha ?? null,
    precision: o.precision, device: o.device,
  };
  const types = Array.isArray(s.lossType) ? s.lossType : [s.lossType], named = types.join(', ');
  if (types.length === 0) throw new Error(`${who}: lossType is an empty list; give one loss type or several`);
  for (const t of types) if (!DPO_LOSS_TYPES.includes(t)) throw new Error(`${who}: lossType must be ${DPO_LOSS_TYPES.join(', ')} (or a list of them); got '${t}'`);
  if (s.lossWeights !== null && !(Array.isArray(s.lossWeights) && s.lossWeights.length === types.length && s.lossWeights.every(Number.isFinite))) {
    throw new Error(`${who}: lossWeights must be ${types.length} number${types.length > 1 ? 's' : ''}, one per loss type (${named}); got ${JSON.stringify(s.lossWeights)}`);
  }
  if (!F_DIVERGENCE_TYPES.includes(s.fDivergenceType)) throw new Error(`${who}: fDivergenceType must be ${F_DIVERGENCE_TYPES.join(', ')}; got '${s.fDivergenceType}'`);
  if (s.fDivergenceType !== 'reverse_kl' && !types.some((t) => LOGIT_LOSSES.includes(t))) throw new Error(`${who}: fDivergenceType is for the ${LOGIT_LOSSES.join(', ')} losses (the others take the log-ratios as they are)`);
  if (!(s.fAlphaDivergenceCoef > 0)) throw new Error(`${who}: fAlphaDivergenceCoef must be > 0, got ${s.fAlphaDivergenceCoef}`);
  if (o.fAlphaDivergenceCoef !== undefined && s.fDivergenceType !== 'alpha_divergence') throw new Error(`${who}: fAlphaDivergenceCoef is alpha_divergence's; fDivergenceType is ${s.fDivergenceType}`);
  if (s.rpoAlpha !== null && !(s.rpoAlpha >= 0 && Number.isFinite(s.rpoAlpha))) throw new Error(`${who}: rpoAlpha must be a number >= 0 (or null: no RPO term), got ${s.rpoAlpha}`);
  if (!(s.beta > 0)) throw new Error(`${who}: beta must be > 0, got ${s.beta}`);
  if (!(s.labelSmoothing >= 0 && s.labelSmoothing < 0.5)) throw new Error(`${who}: dpoLabelSmoothing must be in [0, 0.5), got ${s.labelSmoothing}`);
  if (s.labelSmoothing > 0 && !types.some((t) => SMOOTHED.includes(t))) throw new Error(`${who}: dpoLabelSmoothing is for the ${SMOOTHED.join(', ')} losses`);
  if (!(s.discopopTau > 0)) throw new Error(`${who}: discopopTau must be > 0, got ${s.discopopTau}`);
  if (o.discopopTau !== undefined && !types.includes('discopop')) throw new Error(`${who}: discopopTau is the discopop loss's; lossType is ${named}`);
  if (s.ldAlpha !== null && !(s.ldAlpha >= 0 && Number.isFinite(s.ldAlpha))) throw new Error(`${who}: ldAlpha must be a number >= 0 (LD-DPO's weight of the tokens past the shorter completion's length; the paper takes it in [0, 1]) or null, got ${s.ldAlpha}`);
  // (TRL would average the reference's log-probabilities for ipo and then replace the policy's by LD-DPO's sums)
  if (s.ldAlpha !== null && averagesLogps(s)) throw new Error(`${who}: ldAlpha weights summed log-probabilities; ipo's are token means: leave out one of them`);
  return s;
}

/** The loss types of these settings, as a list. */
export function lossTypes(s: { lossType: DPOLossType | DPOLossType[] }): DPOLossType[] {
  return Array.isArray(s.lossType) ? s.lossType : [s.lossType];
}

/** A pass over a batch's rows: the logits that predict the labels, (rows, K, V); those labels, (rows, K) (-100: none); -log p of each, 0 where none. */
interface LabelScores {
  logits: Tensor;
  labels: Tensor;
  nll: Tensor;
}
function labelNll(model: GPT2LMHeadModel, batch: PairBatch, precision: 'fp32' | 'bf16', device: string, trimPrompt = false): LabelScores {
  const T = batch.inputIds.shape[1];
  // TRL's use_logits_to_keep: the logits from the position before the batch's first labelled token
  // on, the earlier ones predicting prompt tokens no loss reads (the LM head's largest product, cut)
  const keep = trimPrompt ? Math.min(T, T - firstLabelled(batch.labels) + 1) : 0;
  const all = withPrecision(precision, device, () => model.forward(batch.inputIds, { attentionMask: batch.attentionMask, logitsToKeep: keep }).logits);
  const [R, K, V] = all.shape;
  const labels = batch.labels.narrow(1, T - K + 1, K - 1), logits = all.narrow(1, 0, K - 1).float();
  const nll = F.crossEntropy(logits.reshape([-1, V]), labels.reshape([-1]), { reduction: 'none', ignoreIndex: -100 }).view([R, K - 1]);
  return { logits, labels, nll };
}

/** The first position where any row has a label (not -100). */
function firstLabelled(labels: Tensor): number {
  const any = tidy(() => labels.ne(-100).any(0).tolist() as boolean[]);
  const first = any.indexOf(true);
  return first < 0 ? labels.shape[1] : first;
}

/** Each row's summed (mean: averaged) log-probability of its labelled tokens, (rows): TRL's get_batch_logps. */
export function completionLogps(model: GPT2LMHeadModel, batch: PairBatch, precision: 'fp32' | 'bf16', device: string, mean = false): Tensor {
  return tidy(() => rowLogps(labelNll(model, batch, precision, device), mean));
}
function rowLogps({ nll, labels }: LabelScores, mean: boolean): Tensor {
  const sum = nll.sum(1).neg();
  return mean ? sum.div(labels.ne(-100).sum(1).clamp(1, null)) : sum;
}

/** Whether the log-probabilities are token means, not sums: ipo's (with ipo among several loss types, for all of them, as TRL). */
function averagesLogps(s: LossSettings): boolean {
  return lossTypes(s).includes('ipo');
}

/** Each row's summed (ipo: mean) log-probability of its labelled tokens, (rows). */
function sequenceLogps(model: GPT2LMHeadModel, batch: PairBatch, s: LossSettings): Tensor {
  return tidy(() => rowLogps(labelNll(model, batch, s.precision, s.device, s.useLogitsToKeep), averagesLogps(s)));
}

/**
 * The policy's pass over a batch of pairs: each row's log-probability; the mean logit over the
 * chosen and over the rejected completions' positions (TRL's logits/chosen, logits/rejected), (2);
 * with RPO or sft, TRL's nll_loss; with useWeighting, each pair's WPO weight.
 */
interface PolicyOutput {
  logps: Tensor;
  meanLogits: Tensor;
  nll: Tensor | null;
  weights: Tensor | null;
}
function policyOutput(model: GPT2LMHeadModel, batch: PairBatch, s: LossSettings): PolicyOutput {
  const withNll = s.rpoAlpha !== null || lossTypes(s).includes('sft');
  return tidy(() => {
    const scores = labelNll(model, batch, s.precision, s.device, s.useLogitsToKeep), { labels, nll } = scores;
    const B = labels.shape[0] / 2;
    let chosenNll: Tensor | null = null;
    if (withNll) {
      // TRL's nll_loss: cross_entropy over the chosen rows (the first half) with ignore_index=0, the
      // label it gives the tokens outside the completions: so a completion token of id 0 is left out too
      const chosen = labels.narrow(0, 0, B), counted = chosen.ne(-100).logicalAnd(chosen.ne(0)).float();
      chosenNll = nll.narrow(0, 0, B).mul(counted).sum().div(counted.sum());
    }
    const logps = s.ldAlpha !== null ? ldLogps(scores, s.ldAlpha) : rowLogps(scores, averagesLogps(s));
    return { logps, meanLogits: meanLogits(scores), nll: chosenNll, weights: s.useWeighting ? wpoWeights(scores) : null };
  });
}

/**
 * LD-DPO's log-probability of each row (Liu et al. 2024, TRL's ld_alpha): a completion's first l_p
 * tokens count whole and the rest α times, l_p its pair's public length (the shorter completion's
 * token count), (rows). Positions count from each completion's first token, as the paper's l_p
 * means; TRL's code counts them from the sequence's start, prompt included, so that there a prompt
 * as long as the shorter completion leaves nothing of either completion in front.
 */
function ldLogps({ nll, labels }: LabelScores, alpha: number): Tensor {
  const completion = labels.ne(-100), B = labels.shape[0] / 2;
  const lengths = completion.sum(1), publicLength = lengths.narrow(0, 0, B).minimum(lengths.narrow(0, B, B)).repeat([2]);
  const place = completion.long().cumsum(1).sub(1); // (each token's place in its completion)
  const front = place.lt(publicLength.unsqueeze(1)).float();
  // (nll is 0 where there is no label: the weight there changes nothing)
  return nll.mul(front.mul(1 - alpha).add(alpha)).sum(1).neg();
}

/** The mean of the logits (every vocabulary entry) at the positions that predict the chosen, and the rejected, completions' tokens, (2). */
function meanLogits({ logits, labels }: LabelScores): Tensor {
  return noGrad(() => tidy(() => {
    const rows = logits.detach().sum(-1), completion = labels.ne(-100).float(), B = rows.shape[0] / 2, V = logits.shape[2];
    const mean = (from: number) => rows.narrow(0, from, B).mul(completion.narrow(0, from, B)).sum().div(completion.narrow(0, from, B).sum().mul(V));
    return stack([mean(0), mean(B)]);
  }));
}

/**
 * WPO's weight of each pair (Zhou et al. 2024, eq. 2, as TRL's use_weighting): each completion's
 * mean over its tokens of log p(token) - log Σ_v p(v)² (its probability against the policy's own
 * expected one), the pair's weight exp(chosen's + rejected's) capped at 1; no gradient, (pairs).
 */
function wpoWeights({ logits, labels, nll }: LabelScores): Tensor {
  return noGrad(() => tidy(() => {
    // log Σ p² = logsumexp(2·logits) - 2·logsumexp(logits): without the (rows, K, V) log-softmax
    const l = logits.detach(), expected = l.mul(2).logsumexp(-1).sub(l.logsumexp(-1).mul(2));
    const completion = labels.ne(-100).float();
    const rows = nll.detach().neg().sub(expected).mul(completion).sum(1).div(completion.sum(1));
    const B = rows.shape[0] / 2;
    return rows.narrow(0, 0, B).add(rows.narrow(0, B, B)).exp().clamp(null, 1);
  }));
}

/**
 * The metrics a run with these settings logs: TRL's eight (logits/chosen and logits/rejected are
 * each batch's mean, weighted by its pairs between log lines), and RPO's or sft's nll_loss.
 */
function metricNames(s: LossSettings): string[] {
  return s.rpoAlpha === null && !lossTypes(s).includes('sft') ? METRICS : [...METRICS, 'nll_loss'];
}

/** What a batch's losses are computed from: the policy's and reference's log-probabilities, chosen and rejected, (B) each. */
interface PairLogps {
  pc: Tensor; pr: Tensor; rc: Tensor; rr: Tensor;
  /** the policy's log-ratios to the reference */
  chosenRatio: Tensor; rejectedRatio: Tensor;
  /** the chosen completions' NLL (RPO's, sft's), () */
  nll: Tensor | null;
}

/**
 * bco_pair's centre: given the batch's mean reward, the running mean of them (TRL's RunningMoments:
 * in training it takes the batch in first, over all ranks; in evaluation it only reads).
 */
export type RewardCentre = (batchMeanReward: Tensor) => number;

/** One loss type's loss of each pair, (B). */
function typeLosses(type: DPOLossType, q: PairLogps, s: LossSettings, centre: RewardCentre): Tensor {
  const { pc, pr, rc, rr, chosenRatio, rejectedRatio } = q;
  const plain = pc.sub(pr).sub(rc.sub(rr));
  const a = s.fAlphaDivergenceCoef;
  const logits = !LOGIT_LOSSES.includes(type) ? plain
    : s.fDivergenceType === 'alpha_divergence' ? rejectedRatio.mul(-a).clamp(null, EXP_CAP).exp().sub(chosenRatio.mul(-a).clamp(null, EXP_CAP).exp()).div(a)
      : s.fDivergenceType === 'js_divergence' ? plain.sub(F.softplus(chosenRatio).sub(F.softplus(rejectedRatio))) : plain;
  const z = logits.mul(s.beta), e = s.labelSmoothing;
  // the sigmoid loss with label smoothing ε of x (= β·logits for DPO)
  const smoothedSigmoid = (x: Tensor) => (e > 0 ? F.logSigmoid(x).mul(-(1 - e)).sub(F.logSigmoid(x.neg()).mul(e)) : F.logSigmoid(x).neg());
  const sorted = (t: Tensor) => t.sort(0).values;
  switch (type) {
    case 'sigmoid': return smoothedSigmoid(z);
    case 'robust': return F.logSigmoid(z).mul(-(1 - e)).add(F.logSigmoid(z.neg()).mul(e)).div(1 - 2 * e);
    case 'exo_pair': {
      const eps = e === 0 ? 1e-3 : e; // (TRL's)
      return z.sigmoid().mul(F.logSigmoid(z).sub(Math.log(1 - eps))).add(z.neg().sigmoid().mul(F.logSigmoid(z.neg()).sub(Math.log(eps))));
    }
    case 'hinge': return z.neg().add(1).relu();
    case 'ipo': return logits.sub(1 / (2 * s.beta)).pow(2);
    case 'nca_pair': {
      const cr = chosenRatio.mul(s.beta), rr2 = rejectedRatio.mul(s.beta);
      return F.logSigmoid(cr).neg().sub(F.logSigmoid(cr.neg()).mul(0.5)).sub(F.logSigmoid(rr2.neg()).mul(0.5));
    }
    case 'sppo_hard': return chosenRatio.sub(0.5 / s.beta).pow(2).add(rejectedRatio.add(0.5 / s.beta).pow(2));
    case 'aot_pair': return smoothedSigmoid(sorted(chosenRatio).sub(sorted(rejectedRatio)).mul(s.beta));
    case 'aot': return smoothedSigmoid(sorted(pc.sub(pr)).sub(sorted(rc.sub(rr))).mul(s.beta));
    case 'apo_zero': return chosenRatio.mul(s.beta).sigmoid().neg().add(1).add(rejectedRatio.mul(s.beta).sigmoid());
    case 'apo_down': return chosenRatio.mul(s.beta).sigmoid().add(1).sub(chosenRatio.sub(rejectedRatio).mul(s.beta).sigmoid());
    case 'discopop': {
      const mix = z.div(s.discopopTau).sigmoid(); // (on the plain logits: TRL's discopop takes no f-divergence)
      return F.logSigmoid(z).neg().mul(mix.neg().add(1)).add(z.neg().exp().mul(mix));
    }
    case 'bco_pair': {
      // the rewards centred on the running mean of the batches' mean rewards (this one's included)
      const cr = chosenRatio.mul(s.beta), rr2 = rejectedRatio.mul(s.beta);
      const delta = centre(cat([cr, rr2], 0).mean().detach());
      return F.logSigmoid(cr.sub(delta)).neg().sub(F.logSigmoid(rr2.sub(delta).neg()));
    }
    case 'sft': return q.nll!.expand([pc.shape[0]]); // (the chosen completions' NLL, the same for every pair)
  }
}

/**
 * The DPO loss of a batch of B pairs (2B rows) and its metric sums (metricNames). With several
 * loss types (TRL's MPO), the loss and the rewards are their sums, each times its weight (sft's
 * rewards are 0).
 */
function pairStats(output: PolicyOutput, reference: Tensor, s: LossSettings, centre: RewardCentre): PairLoss {
  return tidy(() => {
    const policy = output.logps;
    const B = policy.shape[0] / 2;
    const [pc, pr] = [policy.narrow(0, 0, B), policy.narrow(0, B, B)];
    const [rc, rr] = [reference.narrow(0, 0, B), reference.narrow(0, B, B)];
    const q: PairLogps = { pc, pr, rc, rr, chosenRatio: pc.sub(rc), rejectedRatio: pr.sub(rr), nll: output.nll };
    const types = lossTypes(s), weights = s.lossWeights ?? types.map(() => 1);
    let losses = typeLosses(types[0], q, s, centre).mul(weights[0]);
    for (let i = 1; i < types.length; i++) losses = losses.add(typeLosses(types[i], q, s, centre).mul(weights[i]));
    // each reward is β times the log-ratio to the reference, weighted as its loss (sft's: 0)
    const rewardWeight = types.reduce((w, t, i) => (t === 'sft' ? w : w + weights[i]), 0);
    const chosenRewards = q.chosenRatio.mul(s.beta * rewardWeight).detach(), rejectedRewards = q.rejectedRatio.mul(s.beta * rewardWeight).detach();
    const sums = cat([
      stack([chosenRewards.sum(), rejectedRewards.sum(), chosenRewards.gt(rejectedRewards).float().sum(), chosenRewards.sub(rejectedRewards).sum(), pc.detach().sum(), pr.detach().sum()]),
      output.meanLogits.mul(B), ...(output.nll ? [output.nll.detach().mul(B).reshape([1])] : []),
    ], 0);
    // (TRL's order: RPO's term is added to each pair's loss, then WPO weighs the sum)
    if (s.rpoAlpha !== null) losses = losses.add(output.nll!.mul(s.rpoAlpha));
    if (output.weights) losses = losses.mul(output.weights);
    return { loss: losses.mean(), sums };
  });
}

/**
 * The mean DPO loss over a dataset's pairs (eval_loss), the reward accuracy (eval_accuracy) and
 * TRL's metrics with eval_ names; reference(indices, batch) gives the reference's log-probabilities.
 * With `distributed`, each rank takes every world-size-th pair and the sums are all-reduced.
 */
function evaluatePairs(model: GPT2LMHeadModel, dataset: PreferenceDataset, s: LossSettings, batchSize: number,
  reference: (indices: number[], batch: PairBatch) => Tensor, centre: RewardCentre, distributed = false): EvalMetrics & Record<string, number> {
  return evaluatePairLoss(model, dataset, metricNames(s), { batchSize, device: s.device, distributed },
    (idx, batch) => pairStats(policyOutput(model, batch, s), reference(idx, batch), s, centre));
}

/**
 * TRL's RunningMoments as bco_pair reads it: the running mean of the batches' mean rewards, each
 * batch (all ranks' together, n of them) weighted by n.
 */
export class RunningMean {
  mean = 0;
  count = 1e-24; // (TRL's start: the first batch's mean is taken whole)
  /** Takes in a batch's mean reward x (the mean of n ranks'); returns the new running mean. */
  add(x: number, n = 1): number {
    const total = this.count + n;
    this.mean += ((x - this.mean) * n) / total;
    this.count = total;
    return this.mean;
  }
}

/**
 * Where a preference trainer's reference log-probabilities come from: a frozen refModel, another
 * adapter of the policy's model (refAdapterName), or, given neither, the policy's model with its
 * adapters disabled.
 */
export interface ReferenceSpec {
  refModel?: GPT2LMHeadModel | null;
  refAdapterName?: string | null;
}

/** fn (a forward pass) run on the reference of model; no graph. */
export function onReference<T>(model: GPT2LMHeadModel, ref: ReferenceSpec, fn: (m: GPT2LMHeadModel) => T): T {
  return noGrad(() => (ref.refModel ? fn(ref.refModel)
    : ref.refAdapterName ? withAdapter(model, ref.refAdapterName, () => fn(model))
      : disableAdapter(model, () => fn(model))));
}

/**
 * Checks that model has the reference ref names (and modelAdapterName, the adapter that trains);
 * throws with what to do.
 */
export function checkReference(who: string, model: GPT2LMHeadModel, ref: ReferenceSpec, modelAdapterName: string | null = null): void {
  const { refModel = null, refAdapterName = null } = ref;
  if (refModel && refAdapterName) throw new Error(`${who}: one reference: refModel (a separate model) or refAdapterName (an adapter of this one), not both`);
  if (refAdapterName === null && modelAdapterName === null) {
    if (!refModel && !loraConfig(model)) throw new Error(`${who}: a reference is needed: a LoRA model (its base is the reference) or a refModel`);
    return;
  }
  if (!loraConfig(model)) throw new Error(`${who}: refAdapterName and modelAdapterName name adapters of the model, which has no LoRA`);
  const names = adapterNames(model);
  for (const [k, n] of [['refAdapterName', refAdapterName], ['modelAdapterName', modelAdapterName]] as const) {
    if (n !== null && !names.includes(n)) throw new Error(`${who}: ${k} '${n}': the model has no such adapter (it has ${names.join(', ')}); loadAdapter(model, dir, { adapterName: '${n}' }) adds one`);
  }
  if (refAdapterName !== null) {
    const trained = modelAdapterName ?? activeAdapter(model);
    if (refAdapterName === trained) throw new Error(`${who}: refAdapterName '${refAdapterName}' is the adapter that trains; the reference must be another (load the starting adapter a second time under another name)`);
    withAdapter(model, refAdapterName, () => undefined); // (there and back: what refuses the switch, an embedding's LoRA, does so now)
  }
}

/**
 * A model's DPO metrics on preference pairs against a reference: refModel, another adapter of
 * the model (refAdapterName), or (a LoRA model) the model with its adapters disabled. What
 * `tstorch eval` prints for pair data. With `distributed`, each rank takes every world-size-th pair.
 */
export function evaluatePreferences(model: GPT2LMHeadModel, dataset: PreferenceDataset, opts: {
  beta?: number; lossType?: DPOLossType | DPOLossType[]; lossWeights?: number[] | null; dpoLabelSmoothing?: number; discopopTau?: number; fDivergenceType?: FDivergenceType; fAlphaDivergenceCoef?: number;
  useLogitsToKeep?: boolean; rpoAlpha?: number | null; useWeighting?: boolean; ldAlpha?: number | null; refModel?: GPT2LMHeadModel | null; refAdapterName?: string | null;
  batchSize?: number; device?: string; precision?: 'fp32' | 'bf16'; distributed?: boolean;
} = {}): EvalMetrics & Record<string, number> {
  if (!(dataset instanceof PreferenceDataset)) throw new Error('evaluatePreferences: the data must be a PreferenceDataset (prompt, chosen, rejected)');
  const ref = { refModel: opts.refModel ?? null, refAdapterName: opts.refAdapterName ?? null };
  checkReference('evaluatePreferences', model, ref);
  const s = lossSettings('evaluatePreferences', { ...opts, precision: opts.precision ?? 'fp32', device: opts.device ?? 'cpu' });
  // bco_pair: the running mean over these batches, as a fresh TRL trainer's evaluate takes it
  if (lossTypes(s).includes('bco_pair') && opts.distributed && distributed.getWorldSize() > 1) {
    throw new Error('evaluatePreferences: bco_pair\'s running mean runs over the batches in order; evaluate on one process');
  }
  const running = new RunningMean();
  ref.refModel?.eval();
  return evaluatePairs(model, dataset, s, opts.batchSize ?? 8, (_idx, batch) => onReference(model, ref, (m) => sequenceLogps(m, batch, s)),
    (m) => running.add(m.item() as number), opts.distributed);
}

/**
 * What a trainer against a reference (DPO, KTO) needs of its models and arguments: a causal LM
 * policy, a reference (LoRA's disabled adapters, another adapter, or a separate refModel), none
 * of the language model's own training tricks (gradient checkpointing is fine: the policy's pass
 * recomputes its blocks in backward, the reference's has no graph). Makes modelAdapterName the
 * active adapter, the one that trains.
 */
export function checkPolicyAndReference(method: string, model: GPT2LMHeadModel, refModel: GPT2LMHeadModel | null,
  args: TrainingArguments & { refAdapterName?: string | null; modelAdapterName?: string | null }): void {
  const who = `${method}Trainer`;
  if (!(model instanceof GPT2LMHeadModel)) throw new Error(`${who}: the policy must be a GPT2LMHeadModel (${method} scores completions by their log-probabilities)`);
  if (!refModel && !loraConfig(model)) throw new Error(`${who}: full fine-tuning needs a frozen reference model (refModel); with LoRA the reference is the model with its adapters disabled`);
  if (refModel === model) throw new Error(`${who}: refModel must be a separate copy of the model (it stays frozen)`);
  for (const [k, bad] of [['labelSmoothingFactor', args.labelSmoothingFactor], ['neftuneNoiseAlpha', args.neftuneNoiseAlpha]] as const) {
    if (bad) throw new Error(`${who}: ${k} is for language-model training; ${method} does not take it`);
  }
  checkReference(who, model, { refModel, refAdapterName: args.refAdapterName ?? null }, args.modelAdapterName ?? null);
  if (args.modelAdapterName != null) setAdapter(model, args.modelAdapterName);
}

/** A reference model as trainers keep it: no gradients, eval mode (no dropout). */
export function freezeReference(refModel: GPT2LMHeadModel): void {
  for (const p of refModel.parameters()) p.requiresGrad_(false);
  refModel.eval();
}

export class DPOTrainer extends PairTrainer {
  static override readonly argumentNames: readonly string[] = [...PairTrainer.argumentNames, 'beta', 'lossType', 'lossWeights', 'dpoLabelSmoothing', 'discopopTau', 'fDivergenceType', 'fAlphaDivergenceCoef', 'useLogitsToKeep', 'rpoAlpha', 'useWeighting', 'ldAlpha', 'precomputeRefLogProbs', 'refAdapterName', 'modelAdapterName', 'syncRefModel', 'refModelMixupAlpha', 'refModelSyncSteps'];
  /** the loss's settings (the arguments', defaults filled in), as this run uses them */
  readonly loss: Omit<LossSettings, 'precision' | 'device'>;
  /** bco_pair: the running mean of the training batches' mean rewards */
  private readonly rewardMean = new RunningMean();
  /** TR-DPO: [α, steps] when the reference moves toward the policy */
  readonly sync: [number, number] | null;
  /** precomputeRefLogProbs: each dataset's reference log-probabilities, [chosen, rejected] per pair */
  private refCache = new Map<PreferenceDataset, Float32Array[]>();

  /** The card's lines for this method (createModelCard). */
  protected override methodHyperparameters(): [string, string | number][] {
    const l = this.loss, types = lossTypes(l), lines: [string, string | number][] = [['training_method', 'DPO'], ['beta', l.beta], ['loss_type', types.join(', ')]];
    if (l.lossWeights) lines.push(['loss_weights', l.lossWeights.join(', ')]);
    if (types.includes('discopop')) lines.push(['discopop_tau', l.discopopTau]);
    if (l.labelSmoothing) lines.push(['label_smoothing', l.labelSmoothing]);
    if (l.rpoAlpha !== null) lines.push(['rpo_alpha', l.rpoAlpha]);
    if (l.useWeighting) lines.push(['use_weighting', 'true']);
    if (l.ldAlpha !== null) lines.push(['ld_alpha', l.ldAlpha]);
    if (l.fDivergenceType !== 'reverse_kl') lines.push(['f_divergence_type', l.fDivergenceType]);
    if (l.fDivergenceType === 'alpha_divergence') lines.push(['f_alpha_divergence_coef', l.fAlphaDivergenceCoef]);
    if (this.sync) lines.push(['sync_ref_model', 'true'], ['ref_model_mixup_alpha', this.sync[0]], ['ref_model_sync_steps', this.sync[1]]);
    return lines;
  }

  /**
   * refModel: the frozen reference for full fine-tuning; leave it out for a LoRA model (the
   * reference is then the model with its adapters disabled, as TRL's with PEFT, or the adapter
   * args.refAdapterName).
   */
  constructor(model: GPT2LMHeadModel, args: DPOArguments, trainDataset: PreferenceDataset, evalDataset?: PreferenceDataset,
    callbacks: TrainerCallback[] = [], readonly refModel: GPT2LMHeadModel | null = null) {
    checkPolicyAndReference('DPO', model, refModel, args);
    checkPairData('DPO', args, trainDataset, evalDataset);
    const settings = lossSettings('DPOTrainer', { ...args, precision: 'fp32', device: 'cpu' }), { precision: _p, device: _d, ...loss } = settings;
    const sync = syncSettings('DPOTrainer', model, refModel, args);
    // (all checked before the Trainer makes its optimizer and schedule)
    super(model, args, trainDataset, evalDataset, callbacks, metricNames(settings));
    this.loss = loss;
    this.sync = sync;
    if (refModel) freezeReference(refModel);
    if (sync) this.addCallback(new SyncRefModelCallback(model, refModel!, ...sync));
  }

  /** TRL's beta, loss_type and label_smoothing of this run */
  get beta(): number { return this.loss.beta; }
  get lossType(): DPOLossType | DPOLossType[] { return this.loss.lossType; }
  get dpoLabelSmoothing(): number { return this.loss.labelSmoothing; }

  /** the loss settings of this run */
  private get settings(): LossSettings {
    return { ...this.loss, precision: this.args.precision, device: this.args.device };
  }

  /** The reference's log-probabilities; no graph. */
  private referenceLogps(batch: PairBatch): Tensor {
    return onReference(this.model, this.reference, (m) => sequenceLogps(m, batch, this.settings));
  }
  /** the reference of this run */
  private get reference(): ReferenceSpec {
    return { refModel: this.refModel, refAdapterName: (this.args as DPOArguments).refAdapterName ?? null };
  }

  /** The reference's log-probabilities of these pairs (2B: chosen, then rejected): computed now, or taken from the precomputed ones. */
  private referenceFor(dataset: PreferenceDataset, indices: number[], batch: PairBatch, batchSize: number): Tensor {
    if (!(this.args as DPOArguments).precomputeRefLogProbs) return this.referenceLogps(batch);
    let cache = this.refCache.get(dataset);
    if (!cache) {
      // every pair once, in order, in batches of the given size (TRL's precompute pass)
      cache = [];
      for (let i = 0; i < dataset.length; i += batchSize) {
        const idx = Array.from({ length: Math.min(batchSize, dataset.length - i) }, (_, k) => i + k);
        const values = Float32Array.from(tidy(() => this.referenceLogps(dataset.collate(idx, this.args.device)).tolist() as number[]));
        idx.forEach((_, k) => cache!.push(Float32Array.of(values[k], values[idx.length + k])));
      }
      this.refCache.set(dataset, cache);
    }
    const c = cache;
    return tensor([...indices.map((i) => c[i][0]), ...indices.map((i) => c[i][1])], { dtype: 'float32', device: batch.inputIds.device });
  }

  /** The DPO loss of a micro-batch of the training set's pairs. */
  protected override trainingLoss(indices: number[], batch: PairBatch): PairLoss {
    const reference = this.referenceFor(this.trainDataset as PreferenceDataset, indices, batch, this.args.perDeviceTrainBatchSize);
    return pairStats(policyOutput(this.model, batch, this.settings), reference, this.settings, (m) => this.takeRewardMean(m));
  }

  /** bco_pair in training: the running mean with this micro-batch's mean reward in (all ranks': TRL's get_global_statistics). */
  private takeRewardMean(batchMean: Tensor): number {
    if (this.worldSize === 1) return this.rewardMean.add(batchMean.item() as number);
    const all = batchMean.float().reshape([1]).clone();
    distributed.allReduce([all], { op: 'sum' });
    return this.rewardMean.add((all.item() as number) / this.worldSize, this.worldSize);
  }

  /** bco_pair's running mean: a checkpoint keeps it, so that a resumed run centres its rewards as the run it continues. */
  protected override methodState(): Record<string, number> | null {
    return lossTypes(this.loss).includes('bco_pair') ? { bco_reward_mean: this.rewardMean.mean, bco_reward_count: this.rewardMean.count } : null;
  }
  /** TR-DPO: a checkpoint keeps the reference as the syncs have moved it, and resume takes it back. */
  protected override writeMethodFiles(dir: string): void {
    if (this.sync) saveFile(path.join(dir, SYNCED_REFERENCE), new Map(this.refModel!.namedParameters()));
  }
  protected override readMethodFiles(dir: string): void {
    const file = path.join(dir, SYNCED_REFERENCE);
    // (a checkpoint without it is of a run whose reference never moved: it stays as given)
    if (!this.sync || !fs.existsSync(file)) return;
    const { tensors } = loadFile(file);
    const mine = new Map(this.refModel!.namedParameters());
    try {
      for (const n of mine.keys()) if (!tensors.has(n)) throw new Error(`resume: ${file} lacks the reference's ${n}: not this model's checkpoint?`);
      noGrad(() => { for (const [n, t] of tensors) mine.get(n)?.copy_(t); });
    } finally {
      for (const t of tensors.values()) t.dispose();
    }
  }

  protected override restoreMethodState(state: Record<string, unknown>): void {
    if (typeof state.bco_reward_mean === 'number' && typeof state.bco_reward_count === 'number') [this.rewardMean.mean, this.rewardMean.count] = [state.bco_reward_mean, state.bco_reward_count];
  }

  /**
   * The eval set's mean DPO loss (eval_loss), its reward accuracy (eval_accuracy, also
   * eval_rewards/accuracies) and TRL's other metrics (eval_rewards/chosen, ...); no perplexity.
   */
  override evaluate(dataset = this.evalDataset): EvalMetrics & Record<string, number> {
    if (!dataset) throw new Error('DPOTrainer.evaluate: no eval dataset (pass one to the DPOTrainer or to evaluate())');
    if (!(dataset instanceof PreferenceDataset)) throw new Error('DPOTrainer.evaluate: the eval set must be a PreferenceDataset');
    const bs = this.args.perDeviceEvalBatchSize;
    // (bco_pair reads the running mean as training left it: evaluating does not move it, so an
    // evaluation mid-run leaves the run as it would be without one; TRL's evaluation moves it)
    return evaluatePairs(this.model, dataset, this.settings, bs, (idx, batch) => this.referenceFor(dataset, idx, batch, bs), () => this.rewardMean.mean, true);
  }
}
