// GPT-2 with a classification head, numerically Hugging Face's GPT2ForSequenceClassification:
// the transformer's final hidden state at each sequence's last real token (the rightmost one
// that is not config.pad_token_id) goes through `score`, a bias-free linear layer to num_labels
// outputs. The loss follows config.problem_type, inferred on the first labelled call as HF does:
// one label is regression (MSE), integer labels single-label classification (cross-entropy),
// float (B, num_labels) labels multi-label classification (binary cross-entropy with logits).
// Checkpoints are HF's: transformer.* and score.weight, config.json with id2label / label2id.
import * as fs from 'fs';
import * as path from 'path';
import { Tensor } from '../tensor/tensor';
import { arange } from '../tensor/creation';
import { tidy } from '../tensor/scope';
import { Linear } from '../nn/layers';
import * as F from '../nn/functional';
import { SaveWeightsOptions, loadWeights, saveWeights } from '../io/weights';
import { writeFileAtomic } from '../io/atomic';
import { adapterBaseModel, readAdapterConfigFile, repoIdOf, resolvePretrained } from '../io/hub';
import { GPT2Config, GPT2Model, GPT2ModelOptions, GPT2PreTrainedModel, ResolvedGPT2Config, loadPretrained, forwardArguments, MODEL_OPTIONS, checkAdapterTask, readConfig, resolveConfig, withAdapterFolder } from './gpt2';
import { keywordOptions } from '../tensor/options';

/** A classifier's forward options (HF's attention_mask, position_ids, labels; label smoothing as its LabelSmoother). */
export interface ClassifierForwardOptions { attentionMask?: Tensor; positionIds?: Tensor; labels?: Tensor; labelSmoothing?: number }

export type ProblemType = 'regression' | 'single_label_classification' | 'multi_label_classification';
export const PROBLEM_TYPES: ProblemType[] = ['regression', 'single_label_classification', 'multi_label_classification'];

/** The classification settings of a config (HF's PretrainedConfig fields), all optional. */
export interface ClassificationOptions {
  /** outputs of the head (HF's num_labels, default 2; from id2label when that is given) */
  numLabels?: number;
  /** each output's name (HF's id2label; default LABEL_0, LABEL_1, ...) */
  id2label?: Record<number | string, string>;
  /** HF's problem_type; null (default) infers it from the labels of the first labelled call */
  problemType?: ProblemType | null;
  /** the token that pads batches (HF's pad_token_id): needed for batches of more than one sequence; GPT-2 usually pads with its eos, 50256 */
  padTokenId?: number | null;
}

export type ClassifierConfig = ResolvedGPT2Config & {
  id2label: Record<string, string>;
  label2id: Record<string, number>;
  problem_type: ProblemType | null;
  pad_token_id: number | null;
};

export interface SequenceClassifierOutput {
  /** (B, num_labels), one row per sequence */
  logits: Tensor;
  /** with labels: the loss of config.problem_type, a mean over the batch */
  loss?: Tensor;
}

/** A config's classification fields, filled in as HF's PretrainedConfig does, options over the config's own. */
export function classifierConfig(config: Partial<GPT2Config> & Record<string, unknown>, o: ClassificationOptions): ClassifierConfig {
  const base = resolveConfig(config) as ResolvedGPT2Config & Record<string, unknown>;
  let id2label = (o.id2label ?? base.id2label) as Record<string, string> | undefined;
  const numLabels = o.numLabels ?? (o.id2label ? undefined : base.num_labels as number | undefined) ?? (id2label ? Object.keys(id2label).length : 2);
  if (!Number.isInteger(numLabels) || numLabels < 1) throw new Error(`GPT2ForSequenceClassification: numLabels must be a positive integer, got ${numLabels}`);
  if (id2label && Object.keys(id2label).length !== numLabels) {
    if (o.numLabels !== undefined && !o.id2label) id2label = undefined; // (HF: num_labels given anew makes fresh names)
    else throw new Error(`GPT2ForSequenceClassification: id2label names ${Object.keys(id2label).length} labels but numLabels is ${numLabels}`);
  }
  const names: Record<string, string> = {};
  for (let i = 0; i < numLabels; i++) {
    const name = id2label ? id2label[String(i)] : `LABEL_${i}`;
    if (typeof name !== 'string') throw new Error(`GPT2ForSequenceClassification: id2label has no name for label ${i} (its keys must be 0..${numLabels - 1})`);
    names[String(i)] = name;
  }
  const problemType = o.problemType !== undefined ? o.problemType : (base.problem_type as ProblemType | null | undefined) ?? null;
  if (problemType !== null && !PROBLEM_TYPES.includes(problemType)) throw new Error(`GPT2ForSequenceClassification: problemType must be ${PROBLEM_TYPES.join(', ')} (or null), got '${problemType}'`);
  const pad = o.padTokenId !== undefined ? o.padTokenId : (base.pad_token_id as number | null | undefined) ?? null;
  if (pad !== null && !(Number.isInteger(pad) && pad >= 0)) throw new Error(`GPT2ForSequenceClassification: padTokenId must be a token id (an integer >= 0) or null, got ${pad}`);
  const { num_labels: _n, ...rest } = base; // (HF writes id2label, not num_labels)
  return {
    ...rest,
    id2label: names,
    label2id: Object.fromEntries(Object.entries(names).map(([i, n]) => [n, Number(i)])),
    problem_type: problemType,
    pad_token_id: pad,
  } as ClassifierConfig;
}

/**
 * What GPT-2's classifiers share: a labelled config, the Trainer's forwardBackward, and Hugging
 * Face's folder layout (every tensor under its own name; config.json naming the architecture).
 */
export abstract class GPT2Classifier extends GPT2PreTrainedModel {
  abstract readonly config: ClassifierConfig;
  /** HF's class name, written into config.json's architectures */
  protected abstract readonly architecture: string;
  abstract forward(inputIds: Tensor, opts?: { attentionMask?: Tensor; labels?: Tensor; labelSmoothing?: number }): { logits: Tensor; loss?: Tensor };

  get numLabels(): number {
    return Object.keys(this.config.id2label).length;
  }

  /**
   * A training step's forward and backward, as GPT2LMHeadModel.forwardBackward (the Trainer's
   * call): .grad gets forward(ids, { labels }).loss times lossScale's gradient; returns the loss, detached.
   */
  forwardBackward(ids: Tensor, opts: { labels?: Tensor; attentionMask?: Tensor; lossScale?: number; labelSmoothing?: number; wrap?: <T>(fn: () => T) => T } = {}): Tensor {
    if (!opts.labels) throw new Error(`${this.architecture}.forwardBackward: labels are needed`);
    const run = opts.wrap ?? (<T>(fn: () => T): T => fn());
    const scale = opts.lossScale ?? 1;
    return tidy(() => {
      const loss = run(() => this.forward(ids, { labels: opts.labels, attentionMask: opts.attentionMask, labelSmoothing: opts.labelSmoothing }).loss!);
      (scale === 1 ? loss : loss.mul(scale)).backward();
      return loss.detach();
    });
  }

  /** config.json and the weights, as GPT2LMHeadModel.savePretrained (shards past maxShardSize; .bin with safeSerialization false). */
  async savePretrained(dir: string, opts: SaveWeightsOptions = {}): Promise<void> {
    this.writePretrained(dir, opts);
  }

  /** config.json (the architecture, id2label, label2id, ...) and model.safetensors, each atomically. */
  writePretrained(dir: string, opts: SaveWeightsOptions = {}): void {
    saveWeights(dir, this.hfStateDict(), opts);
    const config = { ...this.config, architectures: [this.architecture], model_type: 'gpt2', torch_dtype: this.transformer.wte.weight.dtype };
    writeFileAtomic(path.join(dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  }

  /** Every tensor, under HF's names (nothing is tied here). */
  hfStateDict(): Map<string, Tensor> {
    return this.stateDict();
  }
}

/** model(inputIds, opts) or model(batch), as forward's two forms. */
export interface GPT2ForSequenceClassification {
  (inputIds: Tensor, opts?: ClassifierForwardOptions): SequenceClassifierOutput;
  (batch: ClassifierForwardOptions & { inputIds: Tensor }): SequenceClassifierOutput;
}
export class GPT2ForSequenceClassification extends GPT2Classifier {
  declare transformer: GPT2Model;
  declare score: Linear;
  readonly config: ClassifierConfig;

  constructor(config: Partial<GPT2Config>, opts: GPT2ModelOptions & ClassificationOptions = {}) {
    super();
    this.config = classifierConfig(config, opts);
    this.registerModule('transformer', new GPT2Model(this.config, opts));
    this.registerModule('score', new Linear(this.config.n_embd, this.numLabels, { bias: false, dtype: opts.dtype, device: opts.device }));
    this.initWeights();
  }

  /**
   * Each sequence's index of its last token that is not padding (HF: the rightmost position
   * whose id is not pad_token_id, 0 if all are), (B). Without a pad token only a batch of one
   * sequence can be read (its last position), as HF.
   */
  lastTokenIndices(inputIds: Tensor): Tensor {
    const [B, T] = inputIds.shape;
    const pad = this.config.pad_token_id;
    if (pad === null) {
      if (B !== 1) throw new Error('GPT2ForSequenceClassification: a batch of more than one sequence needs a pad token to find where each ends; set padTokenId (config.pad_token_id; GPT-2 pads with its eos, 50256)');
      return tidy(() => arange(T - 1, T, 1, { device: inputIds.device }));
    }
    return tidy(() => inputIds.ne(pad).to({ dtype: 'int64' }).mul(arange(0, T, 1, { device: inputIds.device })).argmax(-1));
  }

  /**
   * (B, T) token ids to (B, num_labels) logits; with labels ((B) class ids, (B) or (B, 1) values
   * for regression, (B, num_labels) 0/1 floats for multi-label) also the loss. labelSmoothing ε
   * (single-label only, HF's LabelSmoother): (1 - ε)·NLL + ε·mean over the labels of -log p.
   */
  forward(inputIds: Tensor, opts?: ClassifierForwardOptions): SequenceClassifierOutput;
  /** HF's model(**batch): one object with inputIds among the options */
  forward(batch: ClassifierForwardOptions & { inputIds: Tensor }): SequenceClassifierOutput;
  forward(ids: Tensor | (ClassifierForwardOptions & { inputIds: Tensor }), options?: ClassifierForwardOptions): SequenceClassifierOutput {
    const [inputIds, opts] = forwardArguments('GPT2ForSequenceClassification', ids, options, ['attentionMask', 'positionIds', 'labels', 'labelSmoothing']);
    if (inputIds.shape.length !== 2) throw new Error(`GPT2ForSequenceClassification: inputIds must be (batch, sequence), got [${inputIds.shape}]`);
    return tidy(() => {
      const { hidden } = this.transformer.forward(inputIds, { attentionMask: opts.attentionMask, positionIds: opts.positionIds });
      const [B, , C] = hidden.shape;
      // The head on the pooled rows only: what HF's score-everything-then-pick gives, without (B, T, num_labels).
      const last = this.lastTokenIndices(inputIds);
      const pooled = hidden.gather(1, last.view([B, 1, 1]).expand([B, 1, C])).squeeze(1);
      const logits = this.score.forward(pooled);
      const out: SequenceClassifierOutput = { logits };
      if (opts.labels) out.loss = this.loss(logits, opts.labels, opts.labelSmoothing ?? 0);
      return out;
    });
  }

  /** HF's loss for config.problem_type (set from these labels if it is null, as HF does). */
  loss(logits: Tensor, labels: Tensor, labelSmoothing = 0): Tensor {
    const B = logits.shape[0], L = this.numLabels;
    if (this.config.problem_type === null) {
      this.config.problem_type = L === 1 ? 'regression' : labels.dtype === 'int64' || labels.dtype === 'int32' ? 'single_label_classification' : 'multi_label_classification';
    }
    const kind = this.config.problem_type;
    if (labelSmoothing !== 0 && kind !== 'single_label_classification') throw new Error(`GPT2ForSequenceClassification: label smoothing is for single-label classification; this model's problem is ${kind}`);
    if (!(labelSmoothing >= 0 && labelSmoothing < 1)) throw new Error(`GPT2ForSequenceClassification: label smoothing must be in [0, 1), got ${labelSmoothing}`);
    const n = labels.shape.reduce((x, y) => x * y, 1);
    return tidy(() => {
      const x = logits.float();
      if (kind === 'regression') {
        if (n !== B * L) throw new Error(`GPT2ForSequenceClassification: regression labels must hold ${B * L} values (batch ${B} x ${L} outputs), got [${labels.shape}]`);
        return F.mseLoss(x.reshape([-1]), labels.float().reshape([-1]));
      }
      if (kind === 'single_label_classification') {
        if (n !== B || labels.dtype.startsWith('float')) throw new Error(`GPT2ForSequenceClassification: single-label classification takes (${B}) integer class ids, got [${labels.shape}] ${labels.dtype}`);
        return F.crossEntropy(x, labels.to({ dtype: 'int64' }).reshape([-1]), { labelSmoothing });
      }
      if (labels.shape.length !== 2 || labels.shape[0] !== B || labels.shape[1] !== L) throw new Error(`GPT2ForSequenceClassification: multi-label classification takes (${B}, ${L}) labels of 0/1, got [${labels.shape}]`);
      return F.binaryCrossEntropyWithLogits(x, labels.float());
    });
  }

  // ---------- Hugging Face folders ----------

  /**
   * A Hugging Face folder as a classifier: one saved by GPT2ForSequenceClassification
   * (transformer.* and score.weight), or a language model's (GPT2LMHeadModel or GPT2Model
   * weights), whose head is then new, N(0, initializer_range) from the current seed, with a
   * warning, as HF's from_pretrained. Options override the folder's config (numLabels for a new
   * head; a saved head must have that many outputs). In eval mode. A PEFT SEQ_CLS adapter folder
   * loads as transformers with PEFT installed loads one: its base, then the adapter (fromAdapterFolder).
   */
  static async fromPretrained(dir: string, opts: GPT2ModelOptions & ClassificationOptions = {}): Promise<GPT2ForSequenceClassification> {
    keywordOptions('GPT2ForSequenceClassification.fromPretrained', opts, [...MODEL_OPTIONS, 'numLabels', 'id2label', 'problemType', 'padTokenId']);
    const make = (o: ClassificationOptions) => (config: GPT2Config & Record<string, unknown>) => new GPT2ForSequenceClassification(config, { ...o, dtype: undefined, device: undefined });
    const fromAdapter = await fromAdapterFolder('GPT2ForSequenceClassification', dir, opts, 'score', (c) => ({
      id2label: c.tstorch_id2label as Record<string, string> | undefined,
      problemType: c.tstorch_problem_type as ProblemType | null | undefined,
      padTokenId: c.tstorch_pad_token_id as number | null | undefined,
    }), make);
    return fromAdapter ?? loadWithHead(dir, opts, make(opts), 'score');
  }

  protected readonly architecture = 'GPT2ForSequenceClassification';
}

/** Whether a model folder's config.json names this architecture (HF's `architectures`). */
export function folderHasArchitecture(dir: string, architecture: string): boolean {
  try {
    const c = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    return Array.isArray(c.architectures) && c.architectures.includes(architecture);
  } catch {
    return false;
  }
}

/** Whether a model folder's config.json says it is a sequence classifier. */
export function isSequenceClassifierFolder(dir: string): boolean {
  return folderHasArchitecture(dir, 'GPT2ForSequenceClassification');
}

/**
 * HF's from_pretrained for GPT-2 with a head named `head` (score, classifier): a folder saved
 * with that head (transformer.* and head.*), or a language model's (GPT2LMHeadModel or bare
 * GPT2Model names), whose head is then new (HF's init, from the current seed), with a warning. A
 * saved head must have the model's number of outputs. Read as opts say (loadPretrained); in eval mode.
 */
export function loadWithHead<M extends GPT2Classifier>(nameOrPath: string, opts: GPT2ModelOptions,
  make: (config: GPT2Config & Record<string, unknown>) => M, head: string, { newHeadExpected = false } = {}): M {
  const dir = resolvePretrained(nameOrPath, { revision: opts.revision });
  const config = readConfig(dir) as GPT2Config & Record<string, unknown>;
  const model = loadPretrained(dir, opts, () => make(config), {
    keep: head,
    // a head the folder lacks is the one part initialised, from the current seed, as HF's from_pretrained
    prepare: (m, state) => {
      const saved = state.get(`${head}.weight`);
      if (saved && saved.shape[0] !== m.numLabels) {
        throw new Error(`its classification head has ${saved.shape[0]} outputs, not ${m.numLabels} (to train a new head with another number of labels, start from the language model's folder)`);
      }
      if (saved) return [];
      if (!newHeadExpected) console.warn(`${m.constructor.name}: ${dir} has no ${head}.weight: the classification head (${m.numLabels} labels) is newly initialized; train it before use`);
      return [head];
    },
    describe: (m, file, message) => `${m.constructor.name}: ${file}: ${message}`,
  });
  model.nameOrPath = repoIdOf(dir) ?? nameOrPath;
  return model.eval();
}

/** The outputs of the classifier head `head` (score, classifier) an adapter folder saved (PEFT's modules_to_save); undefined where it saved none. */
export function adapterHeadSize(dir: string, head: string): number | undefined {
  const key = `base_model.model.${head}.weight`;
  const saved = loadWeights(dir, 'adapter', { filter: (n) => n === key }).tensors; // (adapter_model.safetensors or .bin)
  const rows = saved.get(key)?.shape[0];
  for (const t of saved.values()) t.dispose();
  return rows;
}

/**
 * transformers + PEFT's AutoModelFor*Classification.from_pretrained(adapter folder): the base the
 * adapter names (base_model_name_or_path) as a classifier whose head has the outputs of the head
 * the adapter saved (PEFT's modules_to_save), named as the adapter's config says (tstorch_id2label;
 * opts override), then the adapter on it, unmerged, in eval mode. undefined for a folder that is
 * not an adapter.
 */
export async function fromAdapterFolder<M extends GPT2Classifier, O extends ClassificationOptions>(what: string, nameOrPath: string, opts: GPT2ModelOptions & O, head: string,
  labels: (adapterConfig: Record<string, unknown>) => O, make: (o: O) => (config: GPT2Config & Record<string, unknown>) => M): Promise<M | undefined> {
  const dir = resolvePretrained(nameOrPath, { revision: opts.revision });
  const base = adapterBaseModel(dir);
  if (base === undefined) return undefined;
  const adapterConfig = readAdapterConfigFile(dir);
  checkAdapterTask(what, dir, adapterConfig);
  const rows = adapterHeadSize(dir, head);
  let options = opts;
  if (rows !== undefined) {
    if (opts.numLabels !== undefined && opts.numLabels !== rows) throw new Error(`${what}: the adapter ${dir} has a ${head} head of ${rows} outputs, not numLabels ${opts.numLabels}`);
    const defined = Object.fromEntries(Object.entries(labels(adapterConfig)).filter(([, v]) => v !== undefined));
    options = { ...defined, numLabels: rows, ...opts };
  }
  // (where the adapter brings the head, the base's lack of one is no news; the revision was the adapter's)
  return withAdapterFolder(what, dir, base, () => loadWithHead(base, { ...options, revision: undefined }, make(options), head, { newHeadExpected: rows !== undefined }));
}
