// GPT-2 with a label per token, numerically Hugging Face's GPT2ForTokenClassification: the
// transformer's final hidden states, dropout (config.classifier_dropout, default 0.1), then
// `classifier`, a linear layer to num_labels outputs with a bias, at every position; the loss is
// the cross-entropy over the labelled positions (labels -100 elsewhere). Part-of-speech tagging
// and named-entity recognition. Checkpoints are HF's: transformer.*, classifier.weight and .bias.
import { Tensor } from '../tensor/tensor';
import { tidy } from '../tensor/scope';
import { Dropout, Linear } from '../nn/layers';
import * as F from '../nn/functional';
import { GPT2Config, GPT2Model, GPT2ModelOptions, forwardArguments, MODEL_OPTIONS } from './gpt2';
import { keywordOptions } from '../tensor/options';
import { ClassificationOptions, ClassifierConfig, ClassifierForwardOptions, GPT2Classifier, classifierConfig, folderHasArchitecture, fromAdapterFolder, loadWithHead } from './sequence_classification';

export type TokenClassifierConfig = ClassifierConfig & { classifier_dropout: number | null };

/** model(inputIds, opts) or model(batch), as forward's two forms. */
export interface GPT2ForTokenClassification {
  (inputIds: Tensor, opts?: ClassifierForwardOptions): { logits: Tensor; loss?: Tensor };
  (batch: ClassifierForwardOptions & { inputIds: Tensor }): { logits: Tensor; loss?: Tensor };
}
export class GPT2ForTokenClassification extends GPT2Classifier {
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

  /**
   * (B, T) token ids to (B, T, num_labels) logits; with labels ((B, T) class ids, -100 where a
   * position has none) also the mean cross-entropy over the labelled positions (labelSmoothing ε
   * as HF's LabelSmoother).
   */
  forward(inputIds: Tensor, opts?: ClassifierForwardOptions): { logits: Tensor; loss?: Tensor };
  /** HF's model(**batch): one object with inputIds among the options */
  forward(batch: ClassifierForwardOptions & { inputIds: Tensor }): { logits: Tensor; loss?: Tensor };
  forward(ids: Tensor | (ClassifierForwardOptions & { inputIds: Tensor }), options?: ClassifierForwardOptions): { logits: Tensor; loss?: Tensor } {
    const [inputIds, opts] = forwardArguments('GPT2ForTokenClassification', ids, options, ['attentionMask', 'positionIds', 'labels', 'labelSmoothing']);
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

  /**
   * A Hugging Face folder as a token classifier: one saved by GPT2ForTokenClassification, or a
   * language model's whose head is then new (N(0, initializer_range) weight, zero bias, from the
   * current seed) with a warning, as HF's from_pretrained. In eval mode. A PEFT TOKEN_CLS adapter
   * folder loads as transformers with PEFT installed loads one: its base, then the adapter.
   */
  static async fromPretrained(dir: string, opts: GPT2ModelOptions & Omit<ClassificationOptions, 'problemType'> = {}): Promise<GPT2ForTokenClassification> {
    keywordOptions('GPT2ForTokenClassification.fromPretrained', opts, [...MODEL_OPTIONS, 'numLabels', 'id2label', 'padTokenId']);
    const make = (o: ClassificationOptions) => (config: GPT2Config & Record<string, unknown>) => new GPT2ForTokenClassification(config, { ...o, dtype: undefined, device: undefined });
    const fromAdapter = await fromAdapterFolder('GPT2ForTokenClassification', dir, opts, 'classifier', (c) => ({ id2label: c.tstorch_id2label as Record<string, string> | undefined }), make);
    return fromAdapter ?? loadWithHead(dir, opts, make(opts), 'classifier');
  }

  protected readonly architecture = 'GPT2ForTokenClassification';
}

/** Whether a model folder's config.json says it is a token classifier. */
export function isTokenClassifierFolder(dir: string): boolean {
  return folderHasArchitecture(dir, 'GPT2ForTokenClassification');
}
