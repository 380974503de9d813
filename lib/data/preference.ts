// Preference data for DPO (TRL's DPOTrainer): each pair a prompt and two completions, the chosen
// and the rejected one, tokenized as TRL's tokenize_row does: the prompt and each completion
// apart (no special tokens), eos after each completion, the prompt cut to its last
// maxPromptLength tokens, each completion to maxCompletionLength, and prompt + completion to
// maxLength (truncation 'keep_end': the start goes, TRL's default). A batch of B pairs is 2B rows:
// the chosen sequences, then the rejected ones, right-padded; labels only on the completions.
import { tokenizer as gpt2Tokenizer, GPT2Tokenizer } from '../models/tokenizer';
import { padRows, toDevice } from './dataset';
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
        let ids = [...prompt, ...c], promptLength = prompt.length;
        if (maxLength !== null && ids.length > maxLength) {
          const cut = ids.length - maxLength;
          ids = ids.slice(cut);
          promptLength = Math.max(0, promptLength - cut);
        }
        return { ids: Int32Array.from(ids), promptLength };
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
    const rows = [...indices.map((i) => this.chosen[i]), ...indices.map((i) => this.rejected[i])];
    const T = Math.max(...rows.map((r) => r.ids.length)), R = rows.length, pad = BigInt(this.padTokenId);
    const ids = new BigInt64Array(R * T).fill(pad), labels = new BigInt64Array(R * T).fill(-100n), mask = new BigInt64Array(R * T);
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

  /** The completion tokens scored (chosen and rejected). */
  lossTokens(indices: number[]): number {
    const n = (s: Sequence) => s.ids.length - Math.max(s.promptLength, 1);
    return indices.reduce((t, i) => t + n(this.chosen[i]) + n(this.rejected[i]), 0);
  }

  tokens(indices: number[]): number {
    return indices.reduce((t, i) => t + this.chosen[i].ids.length + this.rejected[i].ids.length, 0);
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
}
