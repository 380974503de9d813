// Preference data for DPO (TRL's DPOTrainer), unpaired examples for KTO, pairs for reward models.
// DPO's: each pair a prompt and two completions, the chosen and the rejected one, tokenized as
// TRL 1.x's DPOTrainer does: the prompt alone and prompt + completion as one text (no special
// tokens), the completion the tokens past the prompt's, the eos after it (unless it ends with
// one); prompt + completion cut to maxLength keeping the start (TRL's truncation_mode keep_start),
// and a pair whose prompt alone fills maxLength left out (it would leave nothing to learn).
// TRL 0.x's ways stay as options: truncationMode 'keep_end' (the start goes), maxPromptLength
// (the prompt's last tokens), maxCompletionLength (each completion's first). A batch of B pairs
// is 2B rows: the chosen sequences, then the rejected ones, right-padded; labels only on the completions.
import { keywordOptions } from '../tensor/options';
import { tokenizer as gpt2Tokenizer, GPT2Tokenizer } from '../models/tokenizer';
import { padRows, paddedSize, startsWith, toDevice } from './dataset';
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
  /** the prompt's last tokens kept (TRL 0.x's max_prompt_length; default none, as TRL 1.x) */
  maxPromptLength?: number | null;
  /** each completion's first tokens kept, its eos included (TRL 0.x's max_completion_length, default none) */
  maxCompletionLength?: number | null;
  /** the most tokens of prompt + completion (TRL's max_length, default 1024; null: no limit) */
  maxLength?: number | null;
  /** which end of a too-long prompt + completion stays: 'keep_start' (TRL 1.x's default and only DPO/KTO mode) or 'keep_end' (TRL 0.x's default) */
  truncationMode?: TruncationMode;
  /** put before each prompt that does not start with it (TRL's ORPO: the tokenizer's bos, GPT-2's <|endoftext|>); default none (DPO, KTO) */
  bosTokenId?: number | null;
  /** worker threads tokenizing the texts (HF's num_proc; tokenizer.encodeEach): the same ids whatever the count; default 1 */
  threads?: number;
}

const PREFERENCE_OPTIONS = ['tokenizer', 'eosTokenId', 'maxPromptLength', 'maxCompletionLength', 'maxLength', 'truncationMode', 'bosTokenId', 'threads'] as const satisfies readonly (keyof PreferenceOptions)[];
// (compile-time: an option added to PreferenceOptions but not to the list fails here)
const everyPreferenceOption: Exclude<keyof PreferenceOptions, (typeof PREFERENCE_OPTIONS)[number]> extends never ? true : never = true;
void everyPreferenceOption;

export type TruncationMode = 'keep_start' | 'keep_end';

interface Limits {
  maxPrompt: number | null;
  maxCompletion: number | null;
  maxLength: number | null;
  mode: TruncationMode;
  bos: number | null;
}

/** The options' limits, checked, with their defaults (TRL 1.x's). */
function limitsOf(opts: PreferenceOptions, where: string): Limits {
  const maxPrompt = opts.maxPromptLength ?? null, maxCompletion = opts.maxCompletionLength ?? null;
  const maxLength = opts.maxLength === undefined ? 1024 : opts.maxLength, mode = opts.truncationMode ?? 'keep_start', bos = opts.bosTokenId ?? null;
  for (const [k, v] of [['maxPromptLength', maxPrompt], ['maxCompletionLength', maxCompletion], ['maxLength', maxLength]] as const) {
    if (v !== null && !(Number.isInteger(v) && v >= 1)) throw new Error(`${where}: ${k} must be an integer >= 1 (or null: no limit), got ${v}`);
  }
  if (mode !== 'keep_start' && mode !== 'keep_end') throw new Error(`${where}: truncationMode must be keep_start or keep_end, got ${JSON.stringify(mode)}`);
  if (bos !== null && !(Number.isInteger(bos) && bos >= 0)) throw new Error(`${where}: bosTokenId must be a token id (or null), got ${bos}`);
  return { maxPrompt, maxCompletion, maxLength, mode, bos };
}

/**
 * A prompt and its completions as ids, as TRL 1.x tokenizes them: text through the tokenizer, the
 * prompt alone (once) and prompt + completion as one (the completion: the tokens past the
 * prompt's), eos after a completion unless its text ends with the eos; ids as they are, eos after.
 * Then the bos before the prompt (where given) and TRL 0.x's caps: [prompt, completion] per completion.
 */
function sidesOf(tok: GPT2Tokenizer, encode: Encode, prompt: string | number[], completions: (string | number[])[], eos: number, l: Limits): { sides: [number[], number[]][]; mismatched: boolean } {
  let p = typeof prompt === 'string' ? encode(prompt) : prompt;
  let mismatched = false;
  const cs = completions.map((completion) => {
    if (typeof prompt === 'string' && typeof completion === 'string') {
      const whole = encode(prompt + completion);
      // (a token across the boundary: sliced all the same, as TRL, which warns of it)
      mismatched ||= !startsWith(whole, p);
      const c = whole.slice(p.length);
      return completion.endsWith(tok.eosToken) && eos === tok.eosTokenId ? c : [...c, eos];
    }
    return [...(typeof completion === 'string' ? encode(completion) : completion), eos];
  });
  if (l.bos !== null && p[0] !== l.bos) p = [l.bos, ...p];
  if (l.maxPrompt !== null) p = p.slice(-l.maxPrompt);
  return { sides: cs.map((c) => [p, l.maxCompletion !== null ? c.slice(0, l.maxCompletion) : c]), mismatched };
}

type Encode = (text: string) => number[];

/**
 * What sidesOf encodes with: the tokenizer itself, or with threads > 1 the ids of every text it
 * will ask for, encoded beforehand on that many threads (tokenizer.encodeEach) and handed out in
 * turn. `visit(encode)` goes through the rows as the dataset will; it is first run recording the
 * texts asked for (with no ids: sidesOf has no side effects), so the two passes ask alike.
 */
function encoderFor(tok: GPT2Tokenizer, threads: number | undefined, visit: (encode: Encode) => void): Encode {
  if (threads === undefined || threads <= 1) return (text) => tok.encode(text);
  const texts: string[] = [];
  visit((text) => {
    texts.push(text);
    return [];
  });
  const ids = tok.encodeEach(texts, { threads });
  let next = 0;
  return (text) => {
    if (texts[next] !== text) throw new Error('internal error: texts asked for in another order than recorded');
    return Array.from(ids[next++]);
  };
}

/** TRL 1.x's filter: with keep_start, a prompt that fills maxLength would leave nothing to learn. */
function fillsMaxLength(promptLength: number, l: Limits): boolean {
  return l.mode === 'keep_start' && l.maxLength !== null && promptLength >= l.maxLength;
}

/** One side of a pair: its tokens and where the completion starts. */
interface Sequence {
  ids: Int32Array;
  promptLength: number;
}

/** prompt + completion, cut to maxLength: its start kept (keep_start), or its end (keep_end). */
function join(prompt: number[], completion: number[], { maxLength, mode }: Limits): Sequence {
  let ids = [...prompt, ...completion], promptLength = prompt.length;
  if (maxLength !== null && ids.length > maxLength) {
    const cut = ids.length - maxLength;
    ids = mode === 'keep_start' ? ids.slice(0, maxLength) : ids.slice(cut);
    promptLength = mode === 'keep_start' ? Math.min(promptLength, maxLength) : Math.max(0, promptLength - cut);
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
  /** pairs left out: the prompt alone fills maxLength (keep_start would leave no completion token) */
  readonly dropped: number = 0;
  /**
   * pairs whose prompt's tokens are not the start of prompt + completion's (a token across the
   * boundary, e.g. a prompt ending in a space): the completion is the tokens past the prompt's, as
   * TRL's (which warns of it too)
   */
  mismatched = 0;

  constructor(pairs: PreferencePair[], opts: PreferenceOptions = {}) {
    keywordOptions('PreferenceDataset', opts, PREFERENCE_OPTIONS);
    const tok = opts.tokenizer ?? gpt2Tokenizer;
    const limits = limitsOf(opts, 'PreferenceDataset');
    const eos = opts.eosTokenId ?? tok.eosTokenId;
    let dropped = 0;
    this.padTokenId = eos;
    pairs.forEach((p, i) => {
      for (const k of ['prompt', 'chosen', 'rejected'] as const) {
        const v = p?.[k];
        if (typeof v !== 'string' && !(Array.isArray(v) && v.every((t) => Number.isInteger(t) && t >= 0))) {
          throw new Error(`PreferenceDataset: pair ${i + 1} has no '${k}' (each pair needs prompt, chosen and rejected: strings, or arrays of token ids)`);
        }
      }
    });
    const encode = encoderFor(tok, opts.threads, (enc) => pairs.forEach((p) => sidesOf(tok, enc, p.prompt, [p.chosen, p.rejected], eos, limits)));
    pairs.forEach((p) => {
      const { sides: [chosen, rejected], mismatched } = sidesOf(tok, encode, p.prompt, [p.chosen, p.rejected], eos, limits);
      if (mismatched) this.mismatched++;
      if (fillsMaxLength(chosen[0].length, limits)) {
        dropped++;
        return;
      }
      this.chosen.push(join(...chosen, limits));
      this.rejected.push(join(...rejected, limits));
    });
    this.dropped = dropped;
    if (!this.chosen.length) throw new Error(pairs.length ? `PreferenceDataset: every pair's prompt fills maxLength ${limits.maxLength} tokens (nothing left to learn): raise maxLength (the CLI's --block-size)` : 'PreferenceDataset: no pairs');
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
 * or not, tokenized as PreferenceDataset tokenizes a side of a pair (TRL 1.x's KTO and DPO agree). KTO's reference point, the KL
 * term, comes from mismatched rows: TRL pairs each prompt with the completion before it in its
 * chunk of perDeviceTrainBatchSize examples (the first with the chunk's last), chunks taken in the
 * data's order, whatever the shuffle. collateKTO gives a batch's rows and those mismatched rows.
 */
export class KTODataset implements LMDataset {
  /** the prompts' tokens (their last maxPromptLength, where given) */
  readonly prompts: number[][] = [];
  /** the completions' tokens, eos ended (their first maxCompletionLength, where given) */
  readonly completions: number[][] = [];
  readonly examples: Sequence[] = [];
  /** whether each completion is desirable */
  readonly labels: boolean[] = [];
  readonly padTokenId: number;
  /** examples left out: the prompt alone fills maxLength (keep_start would leave no completion token) */
  readonly dropped: number = 0;
  /**
   * examples whose prompt's tokens are not the start of prompt + completion's (a token across the
   * boundary, e.g. a prompt ending in a space): the completion is the tokens past the prompt's, as
   * TRL's (which warns of it too)
   */
  mismatched = 0;
  private readonly limits: Limits;

  constructor(examples: KTOExample[], opts: PreferenceOptions = {}) {
    keywordOptions('KTODataset', opts, PREFERENCE_OPTIONS);
    const tok = opts.tokenizer ?? gpt2Tokenizer;
    this.limits = limitsOf(opts, 'KTODataset');
    const eos = opts.eosTokenId ?? tok.eosTokenId;
    let dropped = 0;
    this.padTokenId = eos;
    examples.forEach((e, i) => {
      for (const k of ['prompt', 'completion'] as const) {
        const v = e?.[k];
        if (typeof v !== 'string' && !(Array.isArray(v) && v.every((t) => Number.isInteger(t) && t >= 0))) {
          throw new Error(`KTODataset: example ${i + 1} has no '${k}' (each needs prompt, completion and label: strings, or arrays of token ids, and true / false)`);
        }
      }
      if (typeof e.label !== 'boolean') throw new Error(`KTODataset: example ${i + 1}'s label must be true (a desirable completion) or false, got ${JSON.stringify(e.label)}`);
    });
    const encode = encoderFor(tok, opts.threads, (enc) => examples.forEach((e) => sidesOf(tok, enc, e.prompt, [e.completion], eos, this.limits)));
    examples.forEach((e) => {
      const { sides: [[prompt, completion]], mismatched } = sidesOf(tok, encode, e.prompt, [e.completion], eos, this.limits);
      if (mismatched) this.mismatched++;
      if (fillsMaxLength(prompt.length, this.limits)) {
        dropped++;
        return;
      }
      this.prompts.push(prompt);
      this.completions.push(completion);
      this.examples.push(join(prompt, completion, this.limits));
      this.labels.push(e.label);
    });
    this.dropped = dropped;
    if (!this.examples.length) throw new Error(examples.length ? `KTODataset: every example's prompt fills maxLength ${this.limits.maxLength} tokens (nothing left to learn): raise maxLength (the CLI's --block-size)` : 'KTODataset: no examples');
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
    const kl = indices.map((i) => join(this.prompts[i], this.completions[this.klPartner(i, chunk)], this.limits));
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
    keywordOptions('RewardDataset', opts, ['tokenizer', 'maxLength', 'padTokenId']);
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
