// tstorch eval: held-out loss and perplexity of a model (and adapter) on a text or CSV file.
import * as fs from 'fs';
import * as torch from '../../index';
import { flagGiven, Parsed, Spec } from '../args';
import { asTrainedWith, attnFlag, chatOf, classificationDataset, CPO_FLAGS, cpoArguments, DPO_LOSS_FLAGS, dataFlags, dpoLoss, isClassifierSetup, isTokenClassifierSetup, ktoDataset, loadClassifier, loadDataset, loadModel, loadModelFromFlags, loadTokenClassifier, preferenceDataset, preferenceLossFlags, sharedFlags, tokenClassificationDataset, tokenizerFromFlags, truncationFlags, truncationOptions } from './common';
import { evaluateClassifier, evaluateTokenClassifier } from '../../train/evaluate';
import { notInCacheHint } from '../../io/hub';
import { evaluate } from '../../train/evaluate';
import { SUMMARIES } from '../summaries';

export const summary = SUMMARIES.eval;
export const spec: Spec = {
  model: sharedFlags.model,
  revision: sharedFlags.revision,
  'chat-template': sharedFlags['chat-template'],
  'dataset-config-name': sharedFlags['dataset-config-name'],
  tokenizer: sharedFlags.tokenizer,
  adapter: sharedFlags.adapter,
  data: { type: 'string', required: true, help: '.txt file, a .csv with an Article column, or a .jsonl or .parquet with a text field (or prompt and completion fields; or prompt, chosen and rejected: DPO metrics)', aliases: ['validation-file', 'dataset-name'] },
  'block-size': { type: 'int', default: 128, help: 'tokens per block (without packing: an example\'s maximum length)' },
  'batch-size': { type: 'int', default: 8, help: 'blocks (or examples) per batch', aliases: ['per-device-eval-batch-size'] },
  stride: { type: 'int', help: 'sliding windows of --block-size tokens every N tokens, each scoring only the tokens past the previous one (HF\'s perplexity of fixed-length models; the whole text, context for every token)' },
  cleaning: sharedFlags.cleaning,
  'dataset-num-proc': sharedFlags['dataset-num-proc'],
  'dataset-cache': sharedFlags['dataset-cache'],
  'overwrite-cache': sharedFlags['overwrite-cache'],
  'text-column': sharedFlags['text-column'],
  'text-column-delimiter': sharedFlags['text-column-delimiter'],
  packing: sharedFlags.packing,
  'packing-strategy': sharedFlags['packing-strategy'],
  'completion-only-loss': sharedFlags['completion-only-loss'],
  'assistant-only-loss': sharedFlags['assistant-only-loss'],
  device: sharedFlags.device,
  attn: sharedFlags.attn,
  mmap: sharedFlags.mmap,
  precision: { type: 'string', default: 'fp32', help: 'fp32 | bf16 (bfloat16 autocast, as HF evaluates with bf16=True)' },
  bf16: { type: 'boolean', help: 'HF\'s --bf16: the same as --precision bf16' },
  json: { type: 'boolean', help: 'one JSON line: loss, perplexity, tokens' },
  beta: { type: 'number', default: 0.1, help: 'preference data (prompt, chosen, rejected): DPO\'s (or ORPO\'s, KTO\'s) beta for the loss and rewards' },
  'dpo-label-smoothing': { type: 'number', default: 0, help: 'preference pairs, DPO\'s and CPO\'s sigmoid (robust, exo_pair; simpo) loss: the chance a pair\'s preference is flipped, as the run trained with it (TRL\'s label_smoothing, cDPO)', aliases: ['label-smoothing'] },
  'loss-type': { type: 'string', default: 'sigmoid', help: 'preference data: the DPO loss, sigmoid | robust | exo_pair | hinge | ipo | nca_pair | sppo_hard | aot | aot_pair | apo_zero | apo_down | discopop | bco_pair | sft, or several comma-separated (TRL\'s MPO), as the run trained with it' },
  method: { type: 'string', default: 'dpo', help: 'preference data: dpo (rewards against a reference), orpo (TRL\'s ORPO loss and metrics; no reference), cpo or simpo (TRL\'s CPO loss and metrics; no reference) or kto (the pairs unpaired); unpaired data (prompt, completion, label) is scored with kto' },
  ...asTrainedWith(preferenceLossFlags),
  ...truncationFlags,
  'ref-model': { type: 'string', help: 'preference data: the reference model folder (default, with --adapter: the base without the adapter)' },
  'ref-adapter': { type: 'string', help: 'preference data: the reference is --model with this adapter (a DPO run that went on from --adapter SFT measured against SFT: give it here to get that run\'s metrics)' },
  'center-rewards-coefficient': { type: 'number', help: 'a reward model on chosen / rejected pairs: the loss\'s centering term, as the run trained with it (TRL\'s center_rewards_coefficient; default none)' },
  'label-names': { type: 'string', help: 'integer labels or tags (a Hugging Face dataset\'s ClassLabel ids, as sst2\'s label or conll2003\'s ner_tags): their names in id order, comma-separated (negative,positive or O,B-PER,I-PER,...)' },
  'label-column': { type: 'string', help: 'a classifier (--model a classifier\'s folder, or --adapter a SEQ_CLS / TOKEN_CLS one): the labels\' field of the .jsonl or column of the .csv (default label; a token classifier\'s: tags, ner_tags or pos_tags)', aliases: ['label-column-name'] },
};

export async function run(f: Record<string, unknown>): Promise<void> {
  if (f.bf16) f.precision = 'bf16';
  if (!['fp32', 'bf16'].includes(f.precision as string)) throw new Error(`--precision must be fp32 or bf16, got '${f.precision}'`);
  if (!['dpo', 'orpo', 'cpo', 'simpo', 'kto'].includes(f.method as string)) throw new Error(`--method must be dpo, orpo, cpo, simpo or kto, got '${f.method}'`);
  const stride = f.stride as number | undefined;
  if (stride !== undefined && !(stride >= 1 && stride <= (f['block-size'] as number))) throw new Error(`--stride must be between 1 and --block-size (${f['block-size']}), got ${stride}`);
  const ktoData = () => torch.data.readKTOExamples(f.data as string, chatOf(f)) !== null || (f.method === 'kto' && torch.data.readPreferencePairs(f.data as string, chatOf(f)) !== null);
  if ((f['desirable-weight'] !== 1 || f['undesirable-weight'] !== 1) && !ktoData()) throw new Error('--desirable-weight and --undesirable-weight are KTO\'s (unpaired examples, or pairs with --method kto)');
  const rewardPairs = () => isClassifierSetup(f.model as string, f.adapter as string | undefined) && torch.data.readRewardPairs(f.data as string, chatOf(f)) !== null;
  if (f['center-rewards-coefficient'] !== undefined && !rewardPairs()) throw new Error('--center-rewards-coefficient is for a reward model on chosen / rejected pairs');
  const sftOnly = '--assistant-only-loss is SFT\'s (TRL\'s assistant_only_loss): conversations as messages, or prompt and completion';
  const classifier = isClassifierSetup(f.model as string, f.adapter as string | undefined) || isTokenClassifierSetup(f.model as string, f.adapter as string | undefined);
  if (f['assistant-only-loss'] && classifier) throw new Error(`${sftOnly}; not a classifier`);
  for (const k of ['ref-model', 'ref-adapter']) if (classifier && f[k] !== undefined) throw new Error(`--${k} is the reference of DPO and KTO metrics; a classifier has none`);
  if (classifier) refusePreferenceFlags(f, 'a classifier has none');
  if (isClassifierSetup(f.model as string, f.adapter as string | undefined)) return evalClassifier(f);
  if (isTokenClassifierSetup(f.model as string, f.adapter as string | undefined)) return evalTokenClassifier(f);
  if (f['label-names'] !== undefined) throw new Error('--label-names names integer labels: it is for a classifier or a token classifier (its folder, or a SEQ_CLS / TOKEN_CLS --adapter)');
  if (f['text-column-delimiter'] !== undefined) throw new Error('--text-column-delimiter joins several text columns for a text classifier');
  if (f['label-column'] !== undefined) throw new Error('--label-column names the labels\' field: it is for a classifier or a token classifier (its folder, or a SEQ_CLS / TOKEN_CLS --adapter)');
  const model = await loadModelFromFlags(f);
  const unpaired = torch.data.readKTOExamples(f.data as string, chatOf(f));
  const pairs = unpaired ? null : torch.data.readPreferencePairs(f.data as string, chatOf(f));
  if (f['assistant-only-loss'] && (unpaired || pairs)) throw new Error(`${sftOnly}; not preference or KTO data`);
  if (!unpaired && !pairs) refusePreferenceFlags(f, `${f.data} holds neither`);
  for (const k of ['ref-model', 'ref-adapter']) {
    if (f[k] !== undefined && !unpaired && !(pairs && (f.method === 'dpo' || f.method === 'kto'))) throw new Error(`--${k} is the reference of DPO and KTO metrics, on preference pairs or KTO examples${pairs ? `; ${(f.method as string).toUpperCase()} has none` : ''}`);
  }
  for (const k of DPO_LOSS_FLAGS) if (f[k] !== undefined && f[k] !== false && !(pairs && f.method === 'dpo')) throw new Error(`--${k} is DPO's, on preference pairs`);
  if (flagGiven(f as Parsed, 'dpo-label-smoothing') && !(pairs && ['dpo', 'cpo', 'simpo'].includes(f.method as string))) throw new Error('--dpo-label-smoothing is DPO\'s and CPO\'s, on preference pairs');
  for (const k of CPO_FLAGS) if (f[k] !== undefined && !(pairs && (f.method === 'cpo' || f.method === 'simpo'))) throw new Error(`--${k} is CPO's and SimPO's (--method cpo or simpo), on preference pairs`);
  if (unpaired || (pairs && f.method === 'kto')) return evalKTO(f, model, unpaired ?? torch.data.unpairPreferences(pairs!));
  if (pairs) return evalPreferences(f, model, pairs);
  const data = loadDataset(f.data as string, f['block-size'] as number, model, { ...dataFlags(f), stride, scored: true });
  const bs = f['batch-size'] as number;
  if (!(bs >= 1)) throw new Error(`--batch-size must be >= 1, got ${bs}`);
  const r = evaluate(model, data, { batchSize: bs, device: f.device as string, precision: f.precision as 'fp32' | 'bf16' });
  if (f.json) console.log(JSON.stringify({ loss: r.loss, perplexity: r.perplexity, accuracy: r.accuracy, tokens: r.tokens, blocks: r.blocks, predictedTokens: r.predictedTokens }));
  else {
    const items = stride !== undefined ? 'windows' : data instanceof torch.data.TextDataset ? 'blocks' : data instanceof torch.data.PackedExampleDataset ? 'rows' : 'examples';
    console.log(`loss ${r.loss.toFixed(4)}  perplexity ${r.perplexity.toFixed(2)}  accuracy ${r.accuracy.toFixed(4)}  (${r.blocks} ${items}, ${r.tokens} tokens, ${r.predictedTokens} predicted)`);
  }
  model.dispose();
}

/** The settings of preference and KTO scoring (those with defaults too) refused where given on other data: they would change nothing. */
function refusePreferenceFlags(f: Record<string, unknown>, why: string): void {
  const given = ['beta', 'method', 'loss-type', 'truncation-mode'].filter((k) => flagGiven(f as Parsed, k)).concat(['max-prompt-length', 'max-completion-length'].filter((k) => f[k] !== undefined));
  if (given.length) throw new Error(`--${given[0]} is for preference pairs (prompt, chosen, rejected) or KTO examples (prompt, completion, label); ${why}`);
}

/**
 * The reference of DPO and KTO metrics: --ref-model, --model with --ref-adapter (loaded apart, as
 * the adapter computes in its run), or null: the model's base, its --adapter disabled.
 */
async function referenceOf(f: Record<string, unknown>, needed: string, orElse = ''): Promise<{ ref: torch.GPT2LMHeadModel | null; against: string }> {
  const refModel = f['ref-model'] as string | undefined, refAdapter = f['ref-adapter'] as string | undefined;
  if (refModel !== undefined && refAdapter !== undefined) throw new Error('--ref-model and --ref-adapter: one reference, a model folder or an adapter on --model');
  if (!f.adapter && refModel === undefined && refAdapter === undefined) throw new Error(`${needed}: give --adapter (its base is the reference), --ref-adapter DIR (--model with that adapter) or --ref-model DIR${orElse}`);
  const opts = { device: f.device as string | undefined, attn: attnFlag(f), mmap: Boolean(f.mmap) };
  if (refModel !== undefined) return { ref: await loadModel(refModel, opts), against: refModel };
  if (refAdapter === undefined) return { ref: null, against: 'the base without the adapter' };
  if (!fs.existsSync(refAdapter)) throw new Error(`--ref-adapter ${refAdapter}: no such folder${notInCacheHint(refAdapter)}`);
  return { ref: await loadModel(f.model as string, { ...opts, adapter: refAdapter }), against: `${f.model} with the adapter ${refAdapter}` };
}

/**
 * Preference pairs: the DPO loss, reward accuracy and margins of the model (with --adapter, against
 * its base; or against --ref-model), as a DPO run's evaluation logs them.
 */
async function evalPreferences(f: Record<string, unknown>, model: torch.GPT2LMHeadModel, pairs: torch.data.PreferencePair[]): Promise<void> {
  if (f.stride !== undefined) throw new Error('--stride is for running text, not preference pairs');
  if (f.method === 'orpo') {
    const data = preferenceDataset(f.data as string, pairs, f, model, { ...truncationOptions(f), bosTokenId: tokenizerFromFlags(f).bosTokenId });
    const r = torch.train.evaluateOrpo(model, data, { beta: f.beta as number, batchSize: f['batch-size'] as number, device: f.device as string, precision: f.precision as 'fp32' | 'bf16' });
    const metrics: Record<string, number> = Object.fromEntries(Object.entries(r).map(([k, v]) => [k.replace(/^eval_/, ''), v as number]));
    if (f.json) console.log(JSON.stringify({ pairs: data.length, ...metrics }));
    else console.log(`loss ${metrics.loss.toFixed(4)}  nll_loss ${metrics.nll_loss.toFixed(4)}  log_odds_ratio ${metrics.log_odds_ratio.toFixed(4)}  rewards/accuracies ${metrics['rewards/accuracies'].toFixed(4)}  (${data.length} pairs; ORPO, beta ${f.beta})`);
    model.dispose();
    return;
  }
  if (f.method === 'cpo' || f.method === 'simpo') {
    if (f.method === 'simpo' && f['loss-type'] !== 'sigmoid' && f['loss-type'] !== 'simpo') throw new Error(`--method simpo is CPO's simpo loss; --loss-type ${f['loss-type']} is not it (give --method cpo --loss-type ${f['loss-type']})`);
    const data = preferenceDataset(f.data as string, pairs, f, model, { ...truncationOptions(f), bosTokenId: tokenizerFromFlags(f).bosTokenId });
    const r = torch.train.evaluateCpo(model, data, { ...cpoArguments(f), batchSize: f['batch-size'] as number, device: f.device as string, precision: f.precision as 'fp32' | 'bf16' });
    const metrics: Record<string, number> = Object.fromEntries(Object.entries(r).map(([k, v]) => [k.replace(/^eval_/, ''), v as number]));
    if (f.json) console.log(JSON.stringify({ pairs: data.length, ...metrics }));
    else console.log(`loss ${metrics.loss.toFixed(4)}  nll_loss ${metrics.nll_loss.toFixed(4)}  rewards/accuracies ${metrics['rewards/accuracies'].toFixed(4)}  rewards/margins ${metrics['rewards/margins'].toFixed(4)}  (${data.length} pairs; ${f.method === 'simpo' ? 'SimPO' : 'CPO'}, beta ${f.beta})`);
    model.dispose();
    return;
  }
  const loss = dpoLoss(f);
  const { ref, against } = await referenceOf(f, `${f.data} holds preference pairs: their DPO rewards need a reference`, ' (or --method orpo, which needs none)');
  const data = preferenceDataset(f.data as string, pairs, f, model, truncationOptions(f));
  const r = torch.train.evaluatePreferences(model, data, {
    beta: f.beta as number, ...loss, dpoLabelSmoothing: f['dpo-label-smoothing'] as number, discopopTau: f['discopop-tau'] as number | undefined, rpoAlpha: f['rpo-alpha'] as number | undefined,
    fDivergenceType: f['f-divergence-type'] as torch.train.FDivergenceType | undefined, fAlphaDivergenceCoef: f['f-alpha-divergence-coef'] as number | undefined, useWeighting: Boolean(f['use-weighting']), ldAlpha: f['ld-alpha'] as number | undefined, refModel: ref, batchSize: f['batch-size'] as number,
    device: f.device as string, precision: f.precision as 'fp32' | 'bf16',
  });
  const metrics: Record<string, number> = Object.fromEntries(Object.entries(r).map(([k, v]) => [k.replace(/^eval_/, ''), v as number]));
  if (f.json) console.log(JSON.stringify({ pairs: data.length, ...metrics }));
  else console.log(`loss ${metrics.loss.toFixed(4)}${metrics.nll_loss === undefined ? '' : `  nll_loss ${metrics.nll_loss.toFixed(4)}`}  rewards/accuracies ${metrics['rewards/accuracies'].toFixed(4)}  rewards/margins ${metrics['rewards/margins'].toFixed(4)}  (${data.length} pairs; beta ${f.beta}, ${f['loss-type']} loss, against ${against})`);
  ref?.dispose();
  model.dispose();
}

/**
 * KTO examples (or pairs, unpaired): TRL's KTO loss and metrics against the base (--adapter) or
 * --ref-model. Each batch's KL rows pair its prompts with the completions of its chunk of
 * --batch-size examples: with the run's train and eval batch size, the run's eval_loss.
 */
async function evalKTO(f: Record<string, unknown>, model: torch.GPT2LMHeadModel, examples: torch.data.KTOExample[]): Promise<void> {
  if (f.stride !== undefined) throw new Error('--stride is for running text, not KTO examples');
  const { ref, against } = await referenceOf(f, `${f.data}: KTO's rewards need a reference`);
  const data = ktoDataset(f.data as string, examples, f, model, truncationOptions(f));
  const bs = f['batch-size'] as number;
  // (--loss-type's default is DPO's sigmoid: for KTO, kto unless apo_zero_unpaired is asked for)
  const lossType: torch.train.KTOLossType = f['loss-type'] === 'apo_zero_unpaired' ? 'apo_zero_unpaired' : 'kto';
  if (!['sigmoid', 'kto', 'apo_zero_unpaired'].includes(f['loss-type'] as string)) throw new Error(`--loss-type for KTO is kto or apo_zero_unpaired (TRL's KTOConfig loss_type); got '${f['loss-type']}'`);
  if (lossType === 'kto' && !(bs >= 2)) throw new Error('--batch-size must be >= 2 for KTO: its KL term pairs each prompt with another example\'s completion');
  const r = torch.train.evaluateKTO(model, data, {
    lossType, beta: f.beta as number, desirableWeight: f['desirable-weight'] as number, undesirableWeight: f['undesirable-weight'] as number, klChunk: bs, refModel: ref,
    batchSize: bs, device: f.device as string, precision: f.precision as 'fp32' | 'bf16',
  });
  const metrics: Record<string, number> = Object.fromEntries(Object.entries(r).map(([k, v]) => [k.replace(/^eval_/, ''), v as number]));
  const { desirable, undesirable } = data.counts;
  if (f.json) console.log(JSON.stringify({ examples: data.length, desirable, undesirable, ...metrics }));
  else {
    const side = (k: string) => (metrics[k] === undefined ? '' : `  ${k} ${metrics[k].toFixed(4)}`);
    console.log(`loss ${metrics.loss.toFixed(4)}  kl ${metrics.kl.toFixed(4)}${side('rewards/chosen')}${side('rewards/rejected')}${side('rewards/margins')}  (${data.length} examples, ${desirable} desirable; KTO, beta ${f.beta}, against ${against})`);
  }
  ref?.dispose();
  model.dispose();
}

/** A text classifier on labelled texts: its loss and accuracy (the Trainer's eval_loss and eval_accuracy). */
async function evalClassifier(f: Record<string, unknown>): Promise<void> {
  if (f.stride !== undefined) throw new Error('--stride is for running text, not labelled texts');
  const tok = tokenizerFromFlags(f);
  const model = await loadClassifier(f.model as string, { adapter: f.adapter as string | undefined, device: f.device as string, attn: attnFlag(f), mmap: Boolean(f.mmap), padTokenId: tok.eosTokenId });
  const c = model.config;
  const pairs = torch.data.readRewardPairs(f.data as string, chatOf(f));
  if (pairs) {
    // a reward model on chosen / rejected pairs: TRL's reward loss and accuracy
    if (model.numLabels !== 1) throw new Error(`${f.data} holds chosen / rejected pairs, for a reward model (one output); this classifier has ${model.numLabels}`);
    if (f['label-names'] !== undefined) throw new Error('--label-names names integer labels; a reward model has none');
    if (f['label-column'] !== undefined) throw new Error('--label-column names the labels\' field; a reward model\'s pairs (chosen, rejected) have none');
    const blockSize = f['block-size'] as number;
    if (blockSize > c.n_positions) throw new Error(`--block-size ${blockSize} exceeds the model's n_positions (${c.n_positions})`);
    const data = new torch.data.RewardDataset(pairs, { tokenizer: tok, maxLength: blockSize, padTokenId: c.pad_token_id ?? tok.eosTokenId });
    if (data.dropped) console.error(`${f.data}: ${data.dropped} pair(s) with a side longer than --block-size ${blockSize} tokens left out`);
    const coefficient = f['center-rewards-coefficient'] as number | undefined;
    if (coefficient !== undefined && !(coefficient >= 0)) throw new Error(`--center-rewards-coefficient must be >= 0, got ${coefficient}`);
    const r = torch.train.evaluateRewards(model, data, { batchSize: f['batch-size'] as number, device: f.device as string, precision: f.precision as 'fp32' | 'bf16', centerRewardsCoefficient: coefficient ?? null });
    if (f.json) console.log(JSON.stringify({ loss: r.loss, accuracy: r.accuracy, pairs: r.pairs }));
    else console.log(`loss ${r.loss.toFixed(4)}  accuracy ${r.accuracy.toFixed(4)}  (${r.pairs} pairs: the share whose chosen side scores higher)`);
    model.dispose();
    return;
  }
  const data = classificationDataset(f.data as string, f, model, { labels: Object.values(c.id2label), problemType: c.problem_type ?? undefined, padTokenId: c.pad_token_id ?? undefined });
  const r = evaluateClassifier(model, data, { batchSize: f['batch-size'] as number, device: f.device as string, precision: f.precision as 'fp32' | 'bf16' });
  if (f.json) console.log(JSON.stringify({ loss: r.loss, ...(Number.isNaN(r.accuracy) ? {} : { accuracy: r.accuracy }), examples: r.examples, problem_type: data.problemType }));
  else console.log(`loss ${r.loss.toFixed(4)}${Number.isNaN(r.accuracy) ? '' : `  accuracy ${r.accuracy.toFixed(4)}`}  (${r.examples} examples, ${data.problemType.replace(/_/g, ' ')})`);
  model.dispose();
}

/** A token classifier on tagged words: its loss and accuracy over the words (each word's first token); with entity tags, run_ner's entity scores. */
async function evalTokenClassifier(f: Record<string, unknown>): Promise<void> {
  if (f.stride !== undefined) throw new Error('--stride is for running text, not tagged words');
  const model = await loadTokenClassifier(f.model as string, { adapter: f.adapter as string | undefined, device: f.device as string, attn: attnFlag(f), mmap: Boolean(f.mmap) });
  const data = tokenClassificationDataset(f.data as string, f, model, { labels: Object.values(model.config.id2label) });
  const r = evaluateTokenClassifier(model, data, { batchSize: f['batch-size'] as number, device: f.device as string, precision: f.precision as 'fp32' | 'bf16' });
  const e = r.entities;
  if (f.json) {
    // (evaluate's seqeval keys: overall_* and a {precision, recall, f1, number} per entity type)
    const entities = e ? { overall_precision: e.overall.precision, overall_recall: e.overall.recall, overall_f1: e.overall.f1, entities: e.overall.number, types: e.types } : {};
    console.log(JSON.stringify({ loss: r.loss, accuracy: r.accuracy, ...entities, words: r.tokens, examples: data.length }));
  } else {
    const scores = e ? `  precision ${e.overall.precision.toFixed(4)}  recall ${e.overall.recall.toFixed(4)}  f1 ${e.overall.f1.toFixed(4)}` : '';
    console.log(`loss ${r.loss.toFixed(4)}${scores}  accuracy ${r.accuracy.toFixed(4)}  (${data.length} examples, ${r.tokens} words${e ? `, ${e.overall.number} entities` : ''})`);
    if (e) for (const [type, t] of Object.entries(e.types)) console.log(`  ${type.padEnd(12)} precision ${t.precision.toFixed(4)}  recall ${t.recall.toFixed(4)}  f1 ${t.f1.toFixed(4)}  (${t.number})`);
  }
  model.dispose();
}
