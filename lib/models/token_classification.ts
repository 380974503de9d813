// GPT-2 with a label per token, numerically Hugging Face's GPT2ForTokenClassification: the
// transformer's final hidden states, dropout (config.classifier_dropout, default 0.1), then
// `classifier`, a linear layer to num_labels outputs with a bias, at every position; the loss is
// the cross-entropy over the labelled positions (labels -100 elsewhere). Part-of-speech tagging
// and named-entity recognition. Checkpoints are HF's: transformer.*, classifier.weight and .bias.
import * as fs from 'fs';
import * as path from 'path';
import { Tensor } from '../tensor/tensor';
import { tidy } from '../tensor/scope';
import { Dropout, Linear } from '../nn/layers';
import * as F from '../nn/functional';
import { saveFile } from '../io/safetensors';
import { writeFileAtomic } from '../io/atomic';
import { GPT2Config, GPT2Model, GPT2ModelOptions, GPT2PreTrainedModel } from './gpt2';
import { ClassificationOptions, ClassifierConfig, classifierConfig, loadWithHead } from './sequence_classification';

export type TokenClassifierConfig = ClassifierConfig & { classifier_dropout: number | null };

export class GPT2ForTokenClassification extends GPT2PreTrainedModel {
  declare transformer: GPT2Model;
  declare dropout: Dropout;
  declare classifier: Linear;
  readonly config: TokenClassifierConfig;

  constructor(config: Partial<GPT2Config> & { classifier_dropout?: number | null }, opts: GPT2ModelOptions & Omit<ClassificationOptions, 'problemType'> = {}) {
    super();
    this.config = { ...classifierConfig(config, { ...opts, problemType: null }), classifier_dropout: config.classifier_dropout ?? null };
    this.registerModule('transformer', new GPT2Model(this.config, opts));
    // HF: classifier_dropout, else hidden_dropout (which GPT-2's config has not), else 0.1
    this.registerModule('dropout', new Dropout(this.config.classifier_dropout ?? 0.1));
    this.registerModule('classifier', new Linear(this.config.n_embd, this.numLabels, { dtype: opts.dtype, device: opts.device }));
    this.initWeights();
  }

  get numLabels(): number {
    return Object.keys(this.config.id2label).length;
  }

  /**
   * (B, T) token ids to (B, T, num_labels) logits; with labels ((B, T) class ids, -100 where a
   * position has none) also the mean cross-entropy over the labelled positions (labelSmoothing ε
   * as HF's LabelSmoother).
   */
  forward(inputIds: Tensor, opts: { attentionMask?: Tensor; positionIds?: Tensor; labels?: Tensor; labelSmoothing?: number } = {}): { logits: Tensor; loss?: Tensor } {
    if (inputIds.shape.length !== 2) throw new Error(`GPT2ForTokenClassification: inputIds must be (batch, sequence), got [${inputIds.shape}]`);
    return tidy(() => {
      const { hidden } = this.transformer.forward(inputIds, { attentionMask: opts.attentionMask, positionIds: opts.positionIds });
      const logits = this.classifier.forward(this.dropout.forward(hidden));
      if (!opts.labels) return { logits };
      const [B, T] = inputIds.shape, L = this.numLabels;
      if (opts.labels.shape.length !== 2 || opts.labels.shape[0] !== B || opts.labels.shape[1] !== T) throw new Error(`GPT2ForTokenClassification: labels must be [${B}, ${T}] like inputIds (-100 where no label), got [${opts.labels.shape}]`);
      const ls = opts.labelSmoothing ?? 0;
      if (!(ls >= 0 && ls < 1)) throw new Error(`GPT2ForTokenClassification: label smoothing must be in [0, 1), got ${ls}`);
      const loss = F.crossEntropy(logits.float().reshape([-1, L]), opts.labels.reshape([-1]), { ignoreIndex: -100, labelSmoothing: ls });
      return { logits, loss };
    });
  }

  /** A training step's forward and backward (the Trainer's call, as GPT2LMHeadModel's); returns the loss, detached. */
  forwardBackward(ids: Tensor, opts: { labels?: Tensor; attentionMask?: Tensor; lossScale?: number; labelSmoothing?: number; wrap?: <T>(fn: () => T) => T } = {}): Tensor {
    if (!opts.labels) throw new Error('GPT2ForTokenClassification.forwardBackward: labels are needed');
    const run = opts.wrap ?? (<T>(fn: () => T): T => fn());
    const scale = opts.lossScale ?? 1;
    return tidy(() => {
      const loss = run(() => this.forward(ids, { labels: opts.labels, attentionMask: opts.attentionMask, labelSmoothing: opts.labelSmoothing }).loss!);
      (scale === 1 ? loss : loss.mul(scale)).backward();
      return loss.detach();
    });
  }

  /**
   * A Hugging Face folder as a token classifier: one saved by GPT2ForTokenClassification, or a
   * language model's whose head is then new (N(0, initializer_range) weight, zero bias, from the
   * current seed) with a warning, as HF's from_pretrained. In eval mode.
   */
  static async fromPretrained(dir: string, opts: GPT2ModelOptions & Omit<ClassificationOptions, 'problemType'> = {}): Promise<GPT2ForTokenClassification> {
    return loadWithHead(dir, opts, (config) => new GPT2ForTokenClassification(config, { ...opts, dtype: undefined, device: undefined }), 'classifier');
  }

  async savePretrained(dir: string): Promise<void> {
    this.writePretrained(dir);
  }

  /** config.json (architectures GPT2ForTokenClassification, id2label, label2id) and model.safetensors, each atomically. */
  writePretrained(dir: string): void {
    fs.mkdirSync(dir, { recursive: true });
    saveFile(path.join(dir, 'model.safetensors'), this.hfStateDict(), { format: 'pt' });
    const config = { ...this.config, architectures: ['GPT2ForTokenClassification'], model_type: 'gpt2', torch_dtype: this.transformer.wte.weight.dtype };
    writeFileAtomic(path.join(dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  }

  hfStateDict(): Map<string, Tensor> {
    return this.stateDict();
  }
}

/** Whether a model folder's config.json says it is a token classifier (architectures). */
export function isTokenClassifierFolder(dir: string): boolean {
  try {
    const c = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    return Array.isArray(c.architectures) && c.architectures.includes('GPT2ForTokenClassification');
  } catch {
    return false;
  }
}
