// Preference data for DPO (TRL's DPOTrainer), unpaired examples for KTO, pairs for reward models.
// DPO's: each pair a prompt and two completions, the chosen
// and the rejected one, tokenized as TRL's tokenize_row does: the prompt and each completion
// apart (no special tokens), eos after each completion, the prompt cut to its last
// maxPromptLength tokens, each completion to maxCompletionLength, and prompt + completion to
// maxLength (truncation 'keep_end': the start goes, TRL's default). A batch of B pairs is 2B rows:
// the chosen sequences, then the rejected ones, right-padded; labels only on the completions.
import { tokenizer as gpt2Tokenizer, GPT2Tokenizer } from '../models/tokenizer';
import { padRows, paddedSize, toDevice } from './dataset';
import { tensor } from '../tensor/creation';
import type { Device } from '../tensor/dtype';
import type { LMBatch, LMDataset } from './dataset';

/** A pair as text, or as token ids already (then tokenized by nobody; eos still ends each completion). */
export interface PreferencePair {
  prompt: string | number[];
  chosen: string | number[];
  rejected: string | number[];
}

export interface PreferenceOptions {
  /** default GPT-2's; a model folder's: GPT2Tokenizer.fromPretrained (its eos ends each completion and pads) */
  tokenizer?: GPT2Tokenizer;
  /** what ends each completion and pads (default the tokenizer's eos) */
  eosTokenId?: number;
  /** the prompt's last tokens kept (TRL's max_prompt_length, default 512) */
  maxPromptLength?: number | null;
  /** each completion's first tokens kept, its eos included (TRL's max_completion_length, default none) */
  maxCompletionLength?: number | null;
  /** prompt + completion's last tokens kept (TRL's max_length, default 1024) */
  maxLength?: number | null;
}

/** One side of a pair: its tokens and where the completion starts. */
interface Sequence {
  ids: Int32Array;
  promptLength: number;
}

/** prompt + completion, the start cut where longer than maxLength (TRL's truncation 'keep_end'). */
function joinKeepEnd(prompt: number[], completion: number[], maxLength: number | null): Sequence {
  let ids = [...prompt, ...completion], promptLength = prompt.length;
  if (maxLength !== null && ids.length > maxLength) {
    const cut = ids.length - maxLength;
    ids = ids.slice(cut);
    promptLength = Math.max(0, promptLength - cut);
  }
  return { ids: Int32Array.from(ids), promptLength };
}

/**
 * Rows of prompt + completion, right-padded to the longest with `pad`; labels are the completion
 * tokens (a position's label is its own token: the logits one position earlier predict it), -100
 * elsewhere; the mask marks real tokens.
 */
function collateCompletions(rows: Sequence[], pad: number, device?: string): LMBatch {
  const T = Math.max(...rows.map((r) => r.ids.length)), R = rows.length;
  const ids = new BigInt64Array(R * T).fill(BigInt(pad)), labels = new BigInt64Array(R * T).fill(-100n), mask = new BigInt64Array(R * T);
  rows.forEach((r, j) => {
    for (let k = 0; k < r.ids.length; k++) {
      ids[j * T + k] = BigInt(r.ids[k]);
      mask[j * T + k] = 1n;
      // (the first token has nothing before it to predict it from)
      if (k >= Math.max(r.promptLength, 1)) labels[j * T + k] = BigInt(r.ids[k]);
    }
  });
  // (on CUDA through pinned memory, as the other datasets' batches)
  return { inputIds: toDevice(ids, [R, T], device), labels: toDevice(labels, [R, T], device), attentionMask: toDevice(mask, [R, T], device) };
}

export class PreferenceDataset implements LMDataset {
  readonly chosen: Sequence[] = [];
  readonly rejected: Sequence[] = [];
  readonly padTokenId: number;

  constructor(pairs: PreferencePair[], opts: PreferenceOptions = {}) {
    const tok = opts.tokenizer ?? gpt2Tokenizer;
    const maxPrompt = opts.maxPromptLength === undefined ? 512 : opts.maxPromptLength;
    const maxCompletion = opts.maxCompletionLength ?? null;
    const maxLength = opts.maxLength === undefined ? 1024 : opts.maxLength;
    for (const [k, v] of [['maxPromptLength', maxPrompt], ['maxCompletionLength', maxCompletion], ['maxLength', maxLength]] as const) {
      if (v !== null && !(Number.isInteger(v) && v >= 1)) throw new Error(`PreferenceDataset: ${k} must be an integer >= 1 (or null: no limit), got ${v}`);
    }
    const eos = opts.eosTokenId ?? tok.eosTokenId;
    this.padTokenId = eos;
    pairs.forEach((p, i) => {
      for (const k of ['prompt', 'chosen', 'rejected'] as const) {
        const v = p?.[k];
        if (typeof v !== 'string' && !(Array.isArray(v) && v.every((t) => Number.isInteger(t) && t >= 0))) {
          throw new Error(`PreferenceDataset: pair ${i + 1} has no '${k}' (each pair needs prompt, chosen and rejected: strings, or arrays of token ids)`);
        }
      }
      const toIds = (v: string | number[]) => (typeof v === 'string' ? tok.encode(v) : v);
      let prompt = toIds(p.prompt);
      if (maxPrompt !== null) prompt = prompt.slice(-maxPrompt);
      const side = (completion: string | number[]): Sequence => {
        let c = [...toIds(completion), eos];
        if (maxCompletion !== null) c = c.slice(0, maxCompletion);
        return joinKeepEnd(prompt, c, maxLength);
      };
      this.chosen.push(side(p.chosen));
      this.rejected.push(side(p.rejected));
    });
    if (!this.chosen.length) throw new Error('PreferenceDataset: no pairs');
  }

  get length(): number {
    return this.chosen.length;
  }

  /**
   * 2B rows (the B chosen sequences, then the B rejected ones), right-padded to the longest with
   * eos; labels are the tokens of the completions (a position's label is its own token: the
   * model's logits one position earlier predict it), -100 elsewhere; the mask marks real tokens.
   */
  collate(indices: number[], device?: string): LMBatch {
    return collateCompletions([...indices.map((i) => this.chosen[i]), ...indices.map((i) => this.rejected[i])], this.padTokenId, device);
  }

  /** The completion tokens scored (chosen and rejected). */
  lossTokens(indices: number[]): number {
    const n = (s: Sequence) => s.ids.length - Math.max(s.promptLength, 1);
    return indices.reduce((t, i) => t + n(this.chosen[i]) + n(this.rejected[i]), 0);
  }

  tokens(indices: number[]): number {
    return indices.reduce((t, i) => t + this.chosen[i].ids.length + this.rejected[i].ids.length, 0);
  }
  paddedTokens(indices: number[]): number {
    return paddedSize([...indices.map((i) => this.chosen[i].ids.length), ...indices.map((i) => this.rejected[i].ids.length)]);
  }

  /** Pairs start..end-1 (a validation split, or --max-train-samples). */
  subset(start: number, end: number): PreferenceDataset {
    const part = Object.create(PreferenceDataset.prototype) as PreferenceDataset;
    Object.assign(part, this, { chosen: this.chosen.slice(start, end), rejected: this.rejected.slice(start, end) });
    return part;
  }
}

/** An unpaired example for KTO: a prompt, a completion, and whether the completion is desirable (TRL's label). */
export interface KTOExample {
  prompt: string | number[];
  completion: string | number[];
  label: boolean;
}

/** TRL's unpair_preference_dataset: per chunk of 1000 pairs (its map's batches), the chosen completions (desirable), then the rejected ones. */
export function unpairPreferences(pairs: PreferencePair[]): KTOExample[] {
  const out: KTOExample[] = [];
  for (let i = 0; i < pairs.length; i += 1000) {
    const chunk = pairs.slice(i, i + 1000);
    out.push(...chunk.map((p) => ({ prompt: p.prompt, completion: p.chosen, label: true })), ...chunk.map((p) => ({ prompt: p.prompt, completion: p.rejected, label: false })));
  }
  return out;
}

/**
 * KTO data (TRL's KTOTrainer): unpaired examples, each a prompt and a completion marked desirable
 * or not, tokenized as PreferenceDataset tokenizes a side of a pair. KTO's reference point, the KL
 * term, comes from mismatched rows: TRL pairs each prompt with the completion before it in its
 * chunk of perDeviceTrainBatchSize examples (the first with the chunk's last), chunks taken in the
 * data's order, whatever the shuffle. collateKTO gives a batch's rows and those mismatched rows.
 */
export class KTODataset implements LMDataset {
  /** the prompts' tokens (their last maxPromptLength) */
  readonly prompts: number[][] = [];
  /** the completions' tokens, eos ended (their first maxCompletionLength) */
  readonly completions: number[][] = [];
  readonly examples: Sequence[] = [];
  /** whether each completion is desirable */
  readonly labels: boolean[] = [];
  readonly padTokenId: number;
  private readonly maxLength: number | null;

  constructor(examples: KTOExample[], opts: PreferenceOptions = {}) {
    const tok = opts.tokenizer ?? gpt2Tokenizer;
    const maxPrompt = opts.maxPromptLength === undefined ? 512 : opts.maxPromptLength;
    const maxCompletion = opts.maxCompletionLength ?? null;
    this.maxLength = opts.maxLength === undefined ? 1024 : opts.maxLength;
    for (const [k, v] of [['maxPromptLength', maxPrompt], ['maxCompletionLength', maxCompletion], ['maxLength', this.maxLength]] as const) {
      if (v !== null && !(Number.isInteger(v) && v >= 1)) throw new Error(`KTODataset: ${k} must be an integer >= 1 (or null: no limit), got ${v}`);
    }
    const eos = opts.eosTokenId ?? tok.eosTokenId;
    this.padTokenId = eos;
    examples.forEach((e, i) => {
      for (const k of ['prompt', 'completion'] as const) {
        const v = e?.[k];
        if (typeof v !== 'string' && !(Array.isArray(v) && v.every((t) => Number.isInteger(t) && t >= 0))) {
          throw new Error(`KTODataset: example ${i + 1} has no '${k}' (each needs prompt, completion and label: strings, or arrays of token ids, and true / false)`);
        }
      }
      if (typeof e.label !== 'boolean') throw new Error(`KTODataset: example ${i + 1}'s label must be true (a desirable completion) or false, got ${JSON.stringify(e.label)}`);
      const toIds = (v: string | number[]) => (typeof v === 'string' ? tok.encode(v) : v);
      const prompt = maxPrompt !== null ? toIds(e.prompt).slice(-maxPrompt) : toIds(e.prompt);
      let completion = [...toIds(e.completion), eos];
      if (maxCompletion !== null) completion = completion.slice(0, maxCompletion);
      this.prompts.push(prompt);
      this.completions.push(completion);
      this.examples.push(joinKeepEnd(prompt, completion, this.maxLength));
      this.labels.push(e.label);
    });
    if (!this.examples.length) throw new Error('KTODataset: no examples');
  }

  /** Preference pairs unpaired (unpairPreferences): each gives its chosen completion (desirable) and its rejected one (not). */
  static fromPairs(pairs: PreferencePair[], opts: PreferenceOptions = {}): KTODataset {
    return new KTODataset(unpairPreferences(pairs), opts);
  }

  get length(): number {
    return this.examples.length;
  }

  /** the desirable and the undesirable examples */
  get counts(): { desirable: number; undesirable: number } {
    const desirable = this.labels.filter((l) => l).length;
    return { desirable, undesirable: this.labels.length - desirable };
  }

  /** The example whose completion example i's KL row borrows: the one before it in its chunk of `chunk` (the first borrows the last). */
  klPartner(i: number, chunk: number): number {
    const start = i - (i % chunk), end = Math.min(start + chunk, this.length);
    return i === start ? end - 1 : i - 1;
  }

  /** The examples' rows (B), labels on the completions, right-padded. */
  collate(indices: number[], device?: string): LMBatch {
    return collateCompletions(indices.map((i) => this.examples[i]), this.padTokenId, device);
  }

  /** The examples' rows and their KL rows (each prompt with its partner's completion, klPartner with `chunk`), each batch padded on its own. */
  collateKTO(indices: number[], chunk: number, device?: string): { batch: LMBatch; kl: LMBatch } {
    const kl = indices.map((i) => joinKeepEnd(this.prompts[i], this.completions[this.klPartner(i, chunk)], this.maxLength));
    return { batch: this.collate(indices, device), kl: collateCompletions(kl, this.padTokenId, device) };
  }

  /** The completion tokens scored. */
  lossTokens(indices: number[]): number {
    return indices.reduce((t, i) => t + this.examples[i].ids.length - Math.max(this.examples[i].promptLength, 1), 0);
  }

  tokens(indices: number[]): number {
    return indices.reduce((t, i) => t + this.examples[i].ids.length, 0);
  }
  paddedTokens(indices: number[]): number {
    return paddedSize(indices.map((i) => this.examples[i].ids.length));
  }

  /** Examples start..end-1 (a validation split, or --max-train-samples); KL partners are then found among them. */
  subset(start: number, end: number): KTODataset {
    const part = Object.create(KTODataset.prototype) as KTODataset;
    const cut = <T>(a: T[]) => a.slice(start, end);
    Object.assign(part, this, { prompts: cut(this.prompts), completions: cut(this.completions), examples: cut(this.examples), labels: cut(this.labels) });
    return part;
  }
}

/** A pair for reward modeling: two texts (or token ids), the chosen one better; optionally a shared prompt before both and a margin. */
export interface RewardPair {
  chosen: string | number[];
  rejected: string | number[];
  /** put before each (TRL's explicit-prompt format): prompt + chosen, prompt + rejected */
  prompt?: string | number[];
  /** how much better chosen is (TRL's margin column): the loss wants r(chosen) - r(rejected) > margin */
  margin?: number;
}

/**
 * Reward-model data (TRL's RewardTrainer): each side of a pair tokenized whole (prompt + completion
 * as one text, no special tokens), pairs with a side over maxLength left out (TRL's filter). A
 * batch of B pairs is 2B rows, the chosen then the rejected, right-padded; labels carry each
 * pair's margin (0 without).
 */
export class RewardDataset implements LMDataset {
  readonly chosen: Int32Array[] = [];
  readonly rejected: Int32Array[] = [];
  readonly margins: number[] = [];
  /** whether any pair gave a margin */
  readonly hasMargin: boolean;
  readonly padTokenId: number;
  /** pairs left out: a side longer than maxLength */
  readonly dropped: number = 0;

  constructor(pairs: RewardPair[], opts: { tokenizer?: GPT2Tokenizer; maxLength?: number; padTokenId?: number } = {}) {
    const tok = opts.tokenizer ?? gpt2Tokenizer, maxLength = opts.maxLength ?? 1024;
    if (!Number.isInteger(maxLength) || maxLength < 1) throw new Error(`RewardDataset: maxLength must be a positive integer, got ${maxLength}`);
    this.padTokenId = opts.padTokenId ?? tok.eosTokenId;
    const isText = (v: unknown) => typeof v === 'string' || (Array.isArray(v) && v.every((t) => Number.isInteger(t) && t >= 0));
    let dropped = 0;
    pairs.forEach((p, i) => {
      for (const k of ['chosen', 'rejected'] as const) {
        if (!isText(p?.[k])) throw new Error(`RewardDataset: pair ${i + 1} has no '${k}' (each pair needs chosen and rejected: strings, or arrays of token ids)`);
      }
      if (p.prompt !== undefined && !isText(p.prompt)) throw new Error(`RewardDataset: pair ${i + 1}'s prompt must be a string or token ids`);
      if (p.margin !== undefined && !Number.isFinite(p.margin)) throw new Error(`RewardDataset: pair ${i + 1}'s margin must be a number, got ${p.margin}`);
      const side = (v: string | number[]) => {
        if (typeof v === 'string') return tok.encode(typeof p.prompt === 'string' ? p.prompt + v : p.prompt ? tok.decode(p.prompt) + v : v);
        return [...(p.prompt === undefined ? [] : typeof p.prompt === 'string' ? tok.encode(p.prompt) : p.prompt), ...v];
      };
      const [c, r] = [side(p.chosen), side(p.rejected)];
      if (!c.length || !r.length) throw new Error(`RewardDataset: pair ${i + 1} has a side with no tokens`);
      if (c.length > maxLength || r.length > maxLength) {
        dropped++;
        return;
      }
      this.chosen.push(Int32Array.from(c));
      this.rejected.push(Int32Array.from(r));
      this.margins.push(p.margin ?? 0);
    });
    this.dropped = dropped;
    this.hasMargin = pairs.some((p) => p?.margin !== undefined);
    if (!this.chosen.length) throw new Error(pairs.length ? `RewardDataset: every pair has a side longer than maxLength ${maxLength} tokens` : 'RewardDataset: no pairs');
  }

  get length(): number {
    return this.chosen.length;
  }

  /** Pairs start..end-1, e.g. for a validation split. */
  subset(start: number, end: number): RewardDataset {
    const part = Object.create(RewardDataset.prototype) as RewardDataset;
    Object.assign(part, this, { chosen: this.chosen.slice(start, end), rejected: this.rejected.slice(start, end), margins: this.margins.slice(start, end), dropped: 0 });
    return part;
  }

  /** 2B rows (chosen, then rejected) right-padded, the mask, and labels: each pair's margin, (B) float. */
  collate(indices: number[], device?: string): LMBatch {
    const rows = [...indices.map((i) => this.chosen[i]), ...indices.map((i) => this.rejected[i])];
    const { flat: ids, mask, T } = padRows(rows, this.padTokenId), R = rows.length;
    const margins = tensor(Float32Array.from(indices.map((i) => this.margins[i])), { shape: [indices.length], device: device as Device });
    return { inputIds: toDevice(ids, [R, T], device), labels: margins, attentionMask: toDevice(mask, [R, T], device) };
  }

  /** One loss term per pair. */
  lossTokens(indices: number[]): number {
    return indices.length;
  }

  tokens(indices: number[]): number {
    return indices.reduce((t, i) => t + this.chosen[i].length + this.rejected[i].length, 0);
  }
  paddedTokens(indices: number[]): number {
    return paddedSize([...indices.map((i) => this.chosen[i].length), ...indices.map((i) => this.rejected[i].length)]);
  }
}
