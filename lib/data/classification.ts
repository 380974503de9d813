// Text classification data for GPT2ForSequenceClassification, as HF's run_classification
// prepares it: each text tokenized (no special tokens), cut to its first maxLength tokens; the
// labels mapped to ids in sorted order (or the order a model's id2label gives). A batch is
// right-padded with the pad token (GPT-2's eos), with an attention mask; the model reads each
// row at its last real token. The kind of problem follows the labels, as run_classification's:
// classes (strings, integers, booleans) single-label, non-integer numbers regression, lists of
// classes multi-label.
import { tokenizer as gpt2Tokenizer, GPT2Tokenizer } from '../models/tokenizer';
import type { ProblemType } from '../models/sequence_classification';
import { padRows, paddedSize, toDevice } from './dataset';
import type { LMBatch, LMDataset } from './dataset';
import { tensor } from '../tensor/creation';
import type { Device } from '../tensor/dtype';

export type ClassLabel = string | number | boolean;

export interface ClassificationDatasetOptions {
  /** default GPT-2's; a model folder's: GPT2Tokenizer.fromPretrained */
  tokenizer?: GPT2Tokenizer;
  /** each text's first tokens kept (HF's max_seq_length; default 1024, GPT-2's n_positions) */
  maxLength?: number;
  /** what pads a batch (default the tokenizer's eos, as GPT-2 is usually padded); the model's config.pad_token_id must be the same */
  padTokenId?: number;
  /** the class names in id order (a trained model's id2label, so its ids mean the same); default the data's classes, sorted */
  labels?: string[];
  /** HF's problem_type; default from the labels */
  problemType?: ProblemType;
  /**
   * the names of integer class labels (a Hugging Face dataset's ClassLabel names, as
   * run_classification reads them): label i is classNames[i] (in a multi-label list too), and
   * the class order is theirs unless `labels` says otherwise
   */
  classNames?: string[];
}

export class ClassificationDataset implements LMDataset {
  readonly examples: Int32Array[] = [];
  /** per example: a class id (single-label), a value (regression) or a 0/1 row of numLabels (multi-label) */
  readonly targets: (number | Float32Array)[] = [];
  readonly problemType: ProblemType;
  /** the class names in id order (HF's id2label); regression: one output, LABEL_0 */
  readonly labelNames: string[];
  readonly padTokenId: number;
  /** examples cut at maxLength */
  readonly truncated: number = 0;

  constructor(data: { text: string | number[]; label: ClassLabel | ClassLabel[] }[], opts: ClassificationDatasetOptions = {}) {
    const tok = opts.tokenizer ?? gpt2Tokenizer, maxLength = opts.maxLength ?? 1024;
    if (!Number.isInteger(maxLength) || maxLength < 1) throw new Error(`ClassificationDataset: maxLength must be a positive integer, got ${maxLength}`);
    if (!data.length) throw new Error('ClassificationDataset: no examples');
    this.padTokenId = opts.padTokenId ?? tok.eosTokenId;
    const names = opts.classNames;
    if (names) {
      if (!Array.isArray(names) || names.length < 1 || new Set(names).size !== names.length) throw new Error('ClassificationDataset: classNames must be a list of distinct names, one per integer label');
      if (opts.problemType === 'regression') throw new Error('ClassificationDataset: classNames name classes; regression has none');
      const name = (l: ClassLabel, i: number): ClassLabel => {
        if (typeof l !== 'number') return l;
        if (!(Number.isInteger(l) && l >= 0 && l < names.length)) throw new Error(`ClassificationDataset: example ${i + 1} has label ${l}, not an id into the ${names.length} class names`);
        return names[l];
      };
      data = data.map((d, i) => ({ text: d.text, label: Array.isArray(d.label) ? d.label.map((l) => name(l, i)) : d.label === undefined || d.label === null ? d.label : name(d.label, i) }));
    }
    const labels = data.map((d) => d.label);
    labels.forEach((l, i) => {
      if (l === undefined || l === null) throw new Error(`ClassificationDataset: example ${i + 1} has no label`);
    });
    const multi = labels.some((l) => Array.isArray(l));
    const numeric = labels.every((l) => typeof l === 'number');
    this.problemType = opts.problemType
      ?? (multi ? 'multi_label_classification' : numeric && labels.some((l) => !Number.isInteger(l)) ? 'regression' : 'single_label_classification');
    if (multi && this.problemType !== 'multi_label_classification') throw new Error(`ClassificationDataset: list labels are multi-label classification, not ${this.problemType}`);
    if (this.problemType === 'multi_label_classification' && !labels.every((l) => Array.isArray(l))) {
      throw new Error(`ClassificationDataset: multi-label classification needs a list of classes for every example; example ${labels.findIndex((l) => !Array.isArray(l)) + 1} has ${JSON.stringify(labels.find((l) => !Array.isArray(l)))}`);
    }
    if (this.problemType === 'regression') {
      if (!numeric) throw new Error(`ClassificationDataset: regression needs a number for every label; example ${labels.findIndex((l) => typeof l !== 'number') + 1} has ${JSON.stringify(labels.find((l) => typeof l !== 'number'))}`);
      this.labelNames = opts.labels ?? ['LABEL_0'];
      if (this.labelNames.length !== 1) throw new Error('ClassificationDataset: regression has one output; labels must name one');
    } else {
      const classes = labels.flatMap((l) => (Array.isArray(l) ? l : [l]));
      // sorted as run_classification's label_list.sort(): numbers by value, the rest as text
      const sorted = [...new Set(classes.map(String))].sort((a, b) => (classes.every((c) => typeof c === 'number') ? Number(a) - Number(b) : a < b ? -1 : a > b ? 1 : 0));
      this.labelNames = opts.labels ?? names ?? sorted;
      const unknown = sorted.filter((c) => !this.labelNames.includes(c));
      if (unknown.length) {
        const hint = !names && unknown.every((u) => /^\d+$/.test(u)) && this.labelNames.some((n) => !/^\d+$/.test(n)) ? '; integer labels are ids: give their names (classNames, --label-names: a dataset\'s ClassLabel names)' : '';
        throw new Error(`ClassificationDataset: label${unknown.length > 1 ? 's' : ''} ${unknown.slice(0, 5).map((u) => `'${u}'`).join(', ')} not among the model's (${this.labelNames.join(', ')})${hint}`);
      }
      if (this.problemType === 'single_label_classification' && this.labelNames.length < 2) throw new Error(`ClassificationDataset: single-label classification needs at least 2 classes; the data has only '${this.labelNames[0]}' (give labels, or a regression / multi-label problem)`);
    }
    const id = new Map(this.labelNames.map((n, i) => [n, i]));
    let truncated = 0;
    data.forEach((d, i) => {
      const all = typeof d.text === 'string' ? tok.encode(d.text) : d.text;
      if (!all.length) throw new Error(`ClassificationDataset: example ${i + 1} has no tokens (an empty text?)`);
      if (all.length > maxLength) truncated++;
      this.examples.push(Int32Array.from(all.slice(0, maxLength)));
      const l = d.label;
      if (this.problemType === 'regression') this.targets.push(l as number);
      else if (this.problemType === 'single_label_classification') this.targets.push(id.get(String(l))!);
      else {
        const row = new Float32Array(this.labelNames.length);
        for (const c of l as ClassLabel[]) row[id.get(String(c))!] = 1;
        this.targets.push(row);
      }
    });
    this.truncated = truncated;
  }

  get length(): number {
    return this.examples.length;
  }

  /** Examples start..end-1 (the same classes and ids), e.g. for a validation split. */
  subset(start: number, end: number): ClassificationDataset {
    const part = Object.create(ClassificationDataset.prototype) as ClassificationDataset;
    Object.assign(part, this, { examples: this.examples.slice(start, end), targets: this.targets.slice(start, end), truncated: 0 });
    return part;
  }

  get numLabels(): number {
    return this.labelNames.length;
  }

  /** The model's id2label for these classes. */
  get id2label(): Record<string, string> {
    return Object.fromEntries(this.labelNames.map((n, i) => [String(i), n]));
  }

  /** (B, T) ids right-padded with the pad token, the mask, and labels: (B) int64 class ids, (B) float values or (B, numLabels) float 0/1. */
  collate(indices: number[], device?: string): LMBatch {
    const { flat: ids, mask, T } = padRows(indices.map((i) => this.examples[i]), this.padTokenId), B = indices.length;
    let labels;
    if (this.problemType === 'single_label_classification') {
      labels = toDevice(BigInt64Array.from(indices.map((i) => BigInt(this.targets[i] as number))), [B], device);
    } else if (this.problemType === 'regression') {
      labels = tensor(Float32Array.from(indices.map((i) => this.targets[i] as number)), { shape: [B], device: device as Device });
    } else {
      const flat = new Float32Array(B * this.numLabels);
      indices.forEach((i, j) => flat.set(this.targets[i] as Float32Array, j * this.numLabels));
      labels = tensor(flat, { shape: [B, this.numLabels], device: device as Device });
    }
    return { inputIds: toDevice(ids, [B, T], device), labels, attentionMask: toDevice(mask, [B, T], device) };
  }

  /** One loss term per example: a batch's loss is the mean over its examples. */
  lossTokens(indices: number[]): number {
    return indices.length;
  }

  tokens(indices: number[]): number {
    return indices.reduce((t, i) => t + this.examples[i].length, 0);
  }
  paddedTokens(indices: number[]): number {
    return paddedSize(indices.map((i) => this.examples[i].length));
  }
}

/**
 * Token classification data (part-of-speech tags, named entities) as HF's run_ner prepares it for
 * GPT-2: each example's words tokenized one by one, each with a space before it (GPT-2's
 * tokenizer with add_prefix_space, is_split_into_words), the word's tag on its first token and
 * -100 on the rest (label_all_tokens false), cut to maxLength tokens; tags mapped to ids in sorted
 * order (or a model's id2label). Batches are right-padded (labels -100 there), with a mask.
 */
export interface TokenClassificationOptions extends Omit<ClassificationDatasetOptions, 'problemType'> {
  /**
   * the names of integer tags (a Hugging Face dataset's ClassLabel names, as run_ner reads them):
   * tag i is tagNames[i], and the label order is theirs unless `labels` says otherwise
   */
  tagNames?: string[];
}

export class TokenClassificationDataset implements LMDataset {
  readonly examples: Int32Array[] = [];
  /** per example, per token: the tag id, or -100 (a word's later tokens, padding) */
  readonly labels: Int32Array[] = [];
  /** the tag names in id order (HF's id2label) */
  readonly labelNames: string[];
  readonly padTokenId: number;
  /** examples cut at maxLength (their last words unlabelled) */
  readonly truncated: number = 0;

  constructor(data: { tokens: (string | number[])[]; tags: (string | number)[] }[], opts: TokenClassificationOptions = {}) {
    const tok = opts.tokenizer ?? gpt2Tokenizer, maxLength = opts.maxLength ?? 1024;
    if (!Number.isInteger(maxLength) || maxLength < 1) throw new Error(`TokenClassificationDataset: maxLength must be a positive integer, got ${maxLength}`);
    if (!data.length) throw new Error('TokenClassificationDataset: no examples');
    this.padTokenId = opts.padTokenId ?? tok.eosTokenId;
    data.forEach((d, i) => {
      if (!Array.isArray(d?.tokens) || !Array.isArray(d?.tags)) throw new Error(`TokenClassificationDataset: example ${i + 1} needs tokens (its words) and tags (one per word), as lists`);
      if (d.tokens.length !== d.tags.length) throw new Error(`TokenClassificationDataset: example ${i + 1} has ${d.tokens.length} words but ${d.tags.length} tags`);
      if (!d.tokens.length) throw new Error(`TokenClassificationDataset: example ${i + 1} has no words`);
    });
    const names = opts.tagNames;
    if (names) {
      if (!Array.isArray(names) || !names.length || new Set(names).size !== names.length) throw new Error('TokenClassificationDataset: tagNames must be a list of distinct names, one per integer tag');
      data = data.map((d, i) => ({
        tokens: d.tokens,
        tags: d.tags.map((t) => {
          if (typeof t !== 'number') return t;
          if (!(Number.isInteger(t) && t >= 0 && t < names.length)) throw new Error(`TokenClassificationDataset: example ${i + 1} has tag ${t}, not an id into the ${names.length} tag names`);
          return names[t];
        }),
      }));
    }
    const sorted = TokenClassificationDataset.tagNames(data);
    this.labelNames = opts.labels ?? names ?? sorted;
    const id = new Map(this.labelNames.map((n, i) => [n, i]));
    const unknown = sorted.filter((t) => !id.has(t));
    if (unknown.length) {
      const hint = !names && unknown.every((u) => /^\d+$/.test(u)) && this.labelNames.some((n) => !/^\d+$/.test(n)) ? '; integer tags are ids: give their names (tagNames, --label-names: a dataset\'s ClassLabel names)' : '';
      throw new Error(`TokenClassificationDataset: tag${unknown.length > 1 ? 's' : ''} ${unknown.slice(0, 5).map((u) => `'${u}'`).join(', ')} not among the model's (${this.labelNames.slice(0, 20).join(', ')}${this.labelNames.length > 20 ? ', ...' : ''})${hint}`);
    }
    let truncated = 0;
    for (const d of data) {
      const ids: number[] = [], labels: number[] = [];
      d.tokens.forEach((w, k) => {
        const pieces = typeof w === 'string' ? tok.encode(' ' + w) : w;
        pieces.forEach((t, j) => { ids.push(t); labels.push(j === 0 ? id.get(String(d.tags[k]))! : -100); });
      });
      if (ids.length > maxLength) truncated++;
      this.examples.push(Int32Array.from(ids.slice(0, maxLength)));
      this.labels.push(Int32Array.from(labels.slice(0, maxLength)));
    }
    this.truncated = truncated;
  }

  /** The tags of these examples as the dataset names them by default: each once, sorted (run_ner's get_label_list; integers by value). */
  static tagNames(data: { tags: (string | number)[] }[]): string[] {
    const tags = data.flatMap((d) => d.tags);
    const numeric = tags.every((t) => typeof t === 'number');
    return [...new Set(tags.map(String))].sort((a, b) => (numeric ? Number(a) - Number(b) : a < b ? -1 : a > b ? 1 : 0));
  }

  get length(): number {
    return this.examples.length;
  }

  get numLabels(): number {
    return this.labelNames.length;
  }

  get id2label(): Record<string, string> {
    return Object.fromEntries(this.labelNames.map((n, i) => [String(i), n]));
  }

  subset(start: number, end: number): TokenClassificationDataset {
    const part = Object.create(TokenClassificationDataset.prototype) as TokenClassificationDataset;
    Object.assign(part, this, { examples: this.examples.slice(start, end), labels: this.labels.slice(start, end), truncated: 0 });
    return part;
  }

  /** (B, T) ids right-padded with the pad token, the mask, and (B, T) int64 tag ids (-100 where none). */
  collate(indices: number[], device?: string): LMBatch {
    const { flat: ids, mask, T } = padRows(indices.map((i) => this.examples[i]), this.padTokenId), B = indices.length;
    const labels = padRows(indices.map((i) => this.labels[i]), -100).flat;
    return { inputIds: toDevice(ids, [B, T], device), labels: toDevice(labels, [B, T], device), attentionMask: toDevice(mask, [B, T], device) };
  }

  /** The labelled tokens (each word's first): a batch's loss is their mean. */
  lossTokens(indices: number[]): number {
    return indices.reduce((t, i) => t + this.labels[i].reduce((n, l) => n + (l !== -100 ? 1 : 0), 0), 0);
  }

  tokens(indices: number[]): number {
    return indices.reduce((t, i) => t + this.examples[i].length, 0);
  }
  paddedTokens(indices: number[]): number {
    return paddedSize(indices.map((i) => this.examples[i].length));
  }
}
