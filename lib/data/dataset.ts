// Datasets for causal-LM training, two ways, as Hugging Face and TRL give them:
// - TextDataset (packing; HF's TextDataset / run_clm's group_texts): the whole text is tokenized
//   at once (no special tokens) and cut into non-overlapping blocks of blockSize tokens; the
//   remainder is dropped. Labels are the inputs (the model shifts them).
// - ExampleDataset (TRL's SFTTrainer without packing): one example per text, or per prompt and
//   completion, ended by <|endoftext|>, cut at maxLength, right-padded per batch; padding (and,
//   for prompt-completion data, the prompt) carries no loss.
// Batches come in a seeded order, reshuffled every epoch.
import { keywordOptions } from '../tensor/options';
import { Tensor } from '../tensor/tensor';
import { tensor } from '../tensor/creation';
import type { Device } from '../tensor/dtype';
import { tokenizer, EOS_TOKEN_ID, GPT2Tokenizer, assistantTokensMask } from '../models/tokenizer';
import type { TokenizedExample } from './text';

let pinnedCopies = true;

/** One batch for a causal LM: labels are -100 where no loss is taken; attentionMask (1/0) only where there is padding. */
export interface LMBatch {
  inputIds: Tensor;
  labels: Tensor;
  /** (B, T) padding mask, or (B, 1, T, T) for packed sequences (each attends to its own) */
  attentionMask?: Tensor;
  /** (B, T) positions, where they do not simply count from 0 along the row (packed sequences: from 0 in each) */
  positionIds?: Tensor;
}

/** What the Trainer and evaluate() take: items batched by index. */
export interface LMDataset {
  readonly length: number;
  /** The (B, T) batch of these items, on `device`. */
  collate(indices: number[], device?: string): LMBatch;
  /** Tokens the loss predicts in these items (labels after the shift that are not -100): a batch's loss is their mean. */
  lossTokens(indices: number[]): number;
  /** Tokens (padding aside) in these items: what throughput counts. */
  tokens(indices: number[]): number;
  /** The batch's input ids with their padding (B x T as collate makes it): HF's include_num_input_tokens_seen 'all' (without it: tokens). */
  paddedTokens?(indices: number[]): number;
}

/** Rows of these lengths padded to the longest: how many entries (rows x longest). */
export const paddedSize = (lengths: number[]): number => lengths.length * Math.max(0, ...lengths);

/**
 * Rows of different lengths right-padded with `fill` to the longest, flat (B x T), with the mask
 * of real entries (1) and padding (0).
 */
export function padRows(rows: ArrayLike<number>[], fill: number): { flat: BigInt64Array; mask: BigInt64Array; T: number } {
  const T = Math.max(...rows.map((r) => r.length)), B = rows.length;
  const flat = new BigInt64Array(B * T).fill(BigInt(fill)), mask = new BigInt64Array(B * T);
  rows.forEach((r, j) => {
    for (let k = 0; k < r.length; k++) {
      flat[j * T + k] = BigInt(r[k]);
      mask[j * T + k] = 1n;
    }
  });
  return { flat, mask, T };
}

/**
 * An int64 (B, T) tensor on device from a flat BigInt64Array. On CUDA it goes through pinned
 * host memory with a non-blocking copy (a DataLoader's pin_memory and .to(non_blocking=True)):
 * a plain copy from pageable memory waits for the device, so the host could not queue the next
 * step while the GPU still runs this one.
 */
export function toDevice(flat: BigInt64Array, shape: number[], device?: string): Tensor {
  if (!device?.startsWith('cuda') || !pinnedCopies) return tensor(flat, { shape, device: device as Device });
  const host = tensor(flat, { shape });
  try {
    let pinned: Tensor;
    try {
      pinned = host.pinMemory();
    } catch {
      pinnedCopies = false; // no page-locked memory to be had here: plain copies from now on
      return host.to(device as Device);
    }
    try {
      return pinned.to({ device: device as Device, nonBlocking: true });
    } finally {
      pinned.dispose(); // safe before the copy ends: the host allocator waits for it
    }
  } finally {
    host.dispose();
  }
}

export class TextDataset implements LMDataset {
  readonly blocks: Int32Array[];
  /** tokens: the whole text's ids, cut here into blocks; or the blocks themselves. */
  constructor(tokens: ArrayLike<number> | Int32Array[], readonly blockSize: number) {
    if (!Number.isInteger(blockSize) || blockSize < 2) throw new Error(`TextDataset: block size must be an integer >= 2, got ${blockSize}`);
    if (Array.isArray(tokens) && tokens.every((b) => b instanceof Int32Array)) {
      this.blocks = tokens as Int32Array[];
      return;
    }
    const ids = tokens as ArrayLike<number>;
    const n = Math.floor(ids.length / blockSize);
    this.blocks = [];
    // (a corpus's ids in an Int32Array: the blocks are views of one copy, not an array each)
    const all = ids instanceof Int32Array ? ids.slice(0, n * blockSize) : Int32Array.from({ length: n * blockSize }, (_, k) => ids[k]);
    for (let i = 0; i < n; i++) this.blocks.push(all.subarray(i * blockSize, (i + 1) * blockSize));
  }
  /** ids cut into blocks that are views of the array itself, not a copy (it is the dataset's from then on): a corpus's ids from encodeChunks. */
  static fromIds(ids: Int32Array, blockSize: number): TextDataset {
    const n = Math.floor(ids.length / blockSize);
    return new TextDataset(Array.from({ length: n }, (_, i) => ids.subarray(i * blockSize, (i + 1) * blockSize)), blockSize);
  }
  /** text's ids (by GPT-2's tokenizer, or the model folder's: GPT2Tokenizer.fromPretrained) cut into blocks */
  static fromText(text: string, blockSize: number, tok: GPT2Tokenizer = tokenizer): TextDataset {
    if (typeof tok?.encode !== 'function') throw new Error('TextDataset.fromText(text, blockSize, tokenizer): the third argument is a tokenizer (GPT2Tokenizer.fromPretrained), not options');
    return new TextDataset(tok.encode(text), blockSize);
  }
  get length(): number {
    return this.blocks.length;
  }
  /** A (B, blockSize) int64 batch of the given block indices (through pinned memory to a GPU). */
  batch(indices: number[], device?: string): Tensor {
    const flat = new BigInt64Array(indices.length * this.blockSize);
    indices.forEach((b, r) => {
      const blk = this.blocks[b];
      for (let k = 0; k < this.blockSize; k++) flat[r * this.blockSize + k] = BigInt(blk[k]);
    });
    return toDevice(flat, [indices.length, this.blockSize], device);
  }
  /** The blocks as a batch: labels are the inputs themselves (one tensor), nothing padded. */
  collate(indices: number[], device?: string): LMBatch {
    const ids = this.batch(indices, device);
    return { inputIds: ids, labels: ids };
  }
  lossTokens(indices: number[]): number {
    return indices.length * (this.blockSize - 1);
  }
  tokens(indices: number[]): number {
    return indices.length * this.blockSize;
  }
  paddedTokens(indices: number[]): number {
    return this.tokens(indices); // (blocks are full)
  }
  /** Splits off the last `fraction` of blocks (at least one) for evaluation. */
  split(evalFraction: number): [TextDataset, TextDataset] {
    return splitOffLast(this, evalFraction);
  }
  /** Blocks from..to-1 as a dataset of their own. */
  subset(from: number, to: number): TextDataset {
    return new TextDataset(this.blocks.slice(from, to), this.blockSize);
  }
}

/** A prompt and its completion (TRL's prompt-completion format). */
export interface PromptCompletion {
  prompt: string;
  completion: string;
  /** where in prompt + completion the chat template's {% generation %} blocks are: with these, only their tokens are learned (assistant-only loss) */
  assistantSpans?: [number, number][];
}

/** One example for ExampleDataset: its token ids, how many leading ones are not learned, and which are (1) where not all are. */
export interface ExampleIds {
  ids: ArrayLike<number>;
  /** how many tokens the example had where `ids` were already cut at maxLength (default: ids' length) */
  fullLength?: number;
  promptLength?: number;
  /** 1 on the tokens the loss learns (TRL's assistant_masks), as long as ids */
  lossMask?: ArrayLike<number>;
}

export interface ExampleOptions {
  /** each example is cut to its first maxLength tokens (TRL's max_length; truncation keeps the start) */
  maxLength: number;
  /** prompt-completion data: the loss on the completion only (TRL's completion_only_loss; default true) */
  completionOnlyLoss?: boolean;
  /** end each text (or completion) with <|endoftext|>, unless it already ends so (TRL's add_eos; default true) */
  addEos?: boolean;
  /** the tokenizer (default GPT-2's; a model folder's: GPT2Tokenizer.fromPretrained): its eos ends examples and pads batches */
  tokenizer?: GPT2Tokenizer;
  /** fromTexts: each text's {% generation %} spans (renderChat's): only their tokens are learned (TRL's assistant_only_loss) */
  assistantSpans?: [number, number][][];
  /** worker threads tokenizing the examples (HF's num_proc; tokenizer.encodeEach): the same ids whatever the count; default 1 */
  threads?: number;
}

/** toPacked's header: the count of examples, then dropped, mismatched, truncated and truncatedTokens */
export const PACKED_HEAD = 5;

/**
 * One example per text, or per prompt and completion, as TRL's SFTTrainer without packing: each
 * is tokenized alone (ended by <|endoftext|>, so the model learns where to stop), cut at
 * maxLength, and a batch is right-padded to its longest example with an attention mask; labels
 * are -100 on padding and, with completionOnlyLoss, on the prompt. An example that leaves the
 * loss nothing to predict (the prompt fills maxLength) is left out and counted in `dropped`.
 */
export class ExampleDataset implements LMDataset {
  /** each example's token ids */
  readonly examples: Int32Array[] = [];
  /** how many leading tokens of each example are not predicted (its prompt, under completion-only loss) */
  readonly promptLengths: number[] = [];
  /** per example, 1 on the tokens that are learned (assistant-only loss), or null: all past the prompt */
  readonly lossMasks: (Uint8Array | null)[] = [];
  private readonly predicted: number[] = []; // (how many positions of each example the loss predicts)
  /** examples left out: nothing for the loss to predict */
  readonly dropped: number = 0;
  /** examples longer than maxLength, cut to their first maxLength tokens (TRL's truncation), and the tokens cut off them */
  readonly truncated: number = 0;
  readonly truncatedTokens: number = 0;
  /**
   * prompt-completion examples whose prompt's tokens are not the start of prompt + completion's
   * (a token across the boundary, e.g. a prompt ending in a space): the loss starts where the
   * prompt's own tokens end, as TRL's (which warns of it too)
   */
  readonly mismatched: number = 0;
  /** what padding positions hold (never attended to, never predicted): GPT-2's eos by default, as its pad token usually is */
  readonly padTokenId: number;

  /** opts.ownsIds: the examples' Int32Array ids are this dataset's to keep as they are (fresh copies no longer than maxLength) */
  constructor(examples: ExampleIds[], readonly maxLength: number, opts: { padTokenId?: number; ownsIds?: boolean } = {}) {
    this.padTokenId = opts.padTokenId ?? EOS_TOKEN_ID;
    if (!Number.isInteger(maxLength) || maxLength < 2) throw new Error(`ExampleDataset: maxLength must be an integer >= 2, got ${maxLength}`);
    let dropped = 0, truncated = 0, truncatedTokens = 0;
    examples.forEach((e, i) => {
      if (e.lossMask !== undefined && e.lossMask.length !== e.ids.length) throw new Error(`ExampleDataset: example ${i}'s lossMask has ${e.lossMask.length} entries for ${e.ids.length} tokens`);
      const fullLength = Math.max(e.fullLength ?? 0, e.ids.length);
      if (fullLength > maxLength) {
        truncated++;
        truncatedTokens += fullLength - maxLength;
      }
      const ids = isInt32Array(e.ids) ? (opts.ownsIds && e.ids.length <= maxLength ? e.ids : e.ids.slice(0, maxLength)) : Int32Array.from(Array.prototype.slice.call(e.ids, 0, maxLength) as number[]);
      const prompt = Math.min(e.promptLength ?? 0, ids.length);
      const mask = e.lossMask === undefined ? null : Uint8Array.from(Array.prototype.slice.call(e.lossMask, 0, maxLength) as number[]);
      // (position k is predicted from k - 1: k >= 1, past the prompt, and in the mask where there is one)
      let predicted = ids.length - Math.max(prompt, 1);
      if (mask) {
        predicted = 0;
        for (let k = Math.max(prompt, 1); k < ids.length; k++) predicted += mask[k] ? 1 : 0;
      }
      if (predicted <= 0) {
        dropped++;
        return;
      }
      this.examples.push(ids);
      this.promptLengths.push(prompt);
      this.lossMasks.push(mask);
      this.predicted.push(predicted);
    });
    this.dropped = dropped;
    this.truncated = truncated;
    this.truncatedTokens = truncatedTokens;
  }

  /** Language-modeling data: each text an example, the loss on all of it. */
  static fromTexts(texts: string[], opts: ExampleOptions): ExampleDataset {
    keywordOptions('ExampleDataset.fromTexts', opts, ['maxLength', 'completionOnlyLoss', 'addEos', 'tokenizer', 'assistantSpans', 'threads']);
    const addEos = opts.addEos ?? true, tok = opts.tokenizer ?? tokenizer, eos = tok.eosToken;
    const spans = opts.assistantSpans;
    if (spans && spans.length !== texts.length) throw new Error(`ExampleDataset.fromTexts: ${spans.length} assistantSpans for ${texts.length} texts`);
    const withEos = (t: string) => (addEos && !t.endsWith(eos) ? t + eos : t);
    if (spans) return new ExampleDataset(texts.map((t, i) => assistantOnly(tok, withEos(t), spans[i], 0, i)), opts.maxLength, { padTokenId: tok.eosTokenId });
    // (on opts.threads threads; each kept as a copy cut at maxLength, so a batch's ids are let go at once)
    const examples: ExampleIds[] = [];
    tok.encodeEachInto(function* () { for (const t of texts) yield withEos(t); }(), (ids) => examples.push({ ids: ids.slice(0, opts.maxLength), fullLength: ids.length }), { threads: opts.threads });
    return new ExampleDataset(examples, opts.maxLength, { padTokenId: tok.eosTokenId, ownsIds: true });
  }

  /**
   * Prompt-completion data, tokenized as TRL does: prompt + completion as one text (so BPE merges
   * across the seam as it would in use), the prompt's own token count marking where the loss starts.
   */
  static fromPromptCompletions(pairs: PromptCompletion[], opts: ExampleOptions): ExampleDataset {
    const addEos = opts.addEos ?? true, completionOnly = opts.completionOnlyLoss ?? true;
    const tok = opts.tokenizer ?? tokenizer, eos = tok.eosToken;
    let mismatched = 0;
    const whole = ({ prompt, completion }: PromptCompletion) => prompt + (addEos && !completion.endsWith(eos) ? completion + eos : completion);
    // Each pair's prompt (under completion-only loss) and prompt + completion are encoded in turn,
    // on opts.threads threads (a conversation's text is encoded with its offsets below instead).
    function* texts() {
      for (const p of pairs) {
        if (completionOnly) yield p.prompt;
        yield p.assistantSpans ? '' : whole(p);
      }
    }
    const examples: ExampleIds[] = [];
    let promptIds: Int32Array | null = null;
    tok.encodeEachInto(texts(), (ids) => {
      if (completionOnly && promptIds === null) {
        promptIds = ids;
        return;
      }
      const i = examples.length, p = pairs[i], promptLength = promptIds?.length ?? 0;
      if (p.assistantSpans) examples.push(assistantOnly(tok, whole(p), p.assistantSpans, promptLength, i));
      else {
        if (promptIds && !startsWith(ids, promptIds)) mismatched++;
        examples.push({ ids: ids.slice(0, opts.maxLength), fullLength: ids.length, promptLength }); // (a copy: the batch's ids are let go)
      }
      promptIds = null;
    }, { threads: opts.threads });
    const ds = new ExampleDataset(examples, opts.maxLength, { padTokenId: tok.eosTokenId, ownsIds: true });
    return Object.assign(ds, { mismatched });
  }

  /**
   * Pre-tokenized examples (TRL's processed data): the ids as given, the loss where the labels are
   * not -100 and the assistant mask is 1, and (completionOnlyLoss, default true) the completion
   * mask is 1; cut at maxLength. padTokenId: the tokenizer's (default GPT-2's eos).
   */
  static fromTokenized(rows: TokenizedExample[], opts: { maxLength: number; completionOnlyLoss?: boolean; padTokenId?: number }): ExampleDataset {
    const completionOnly = opts.completionOnlyLoss ?? true;
    return new ExampleDataset(rows.map((r) => {
      const masks = [r.assistantMasks, completionOnly ? r.completionMask : undefined, r.labels?.map((l) => (l === -100 ? 0 : 1))].filter((m): m is number[] => m !== undefined);
      return masks.length ? { ids: r.inputIds, lossMask: r.inputIds.map((_, k) => (masks.every((m) => m[k]) ? 1 : 0)) } : { ids: r.inputIds };
    }), opts.maxLength, { padTokenId: opts.padTokenId });
  }

  /**
   * Sliding-window perplexity (Hugging Face's "Perplexity of fixed-length models"): windows of
   * maxLength tokens starting every `stride` tokens, each predicting only the tokens the previous
   * window did not reach, with the rest of it as context; the last window ends at the text's end.
   * With stride < maxLength every token but the first is predicted once, with at least
   * maxLength - stride tokens before it (all there are, near the start); stride = maxLength gives
   * non-overlapping blocks (the first token of each unpredicted, as in the guide's loop).
   */
  static slidingWindows(tokens: ArrayLike<number>, opts: { maxLength: number; stride: number }): ExampleDataset {
    const { maxLength, stride } = opts;
    if (!Number.isInteger(stride) || stride < 1 || stride > maxLength) throw new Error(`slidingWindows: stride must be an integer in 1..maxLength (${maxLength}), got ${stride}`);
    if (tokens.length < 2) throw new Error(`slidingWindows: ${tokens.length} token(s): nothing to predict`);
    const windows: { ids: ArrayLike<number>; promptLength: number }[] = [];
    let prevEnd = 0;
    for (let begin = 0; begin < tokens.length; begin += stride) {
      const end = Math.min(begin + maxLength, tokens.length);
      windows.push({ ids: Array.prototype.slice.call(tokens, begin, end) as number[], promptLength: end - begin - (end - prevEnd) });
      prevEnd = end;
      if (end === tokens.length) break;
    }
    return new ExampleDataset(windows, maxLength);
  }

  /**
   * The examples in one array, for the token cache: after `prefix`, the count, dropped, mismatched,
   * each example's length and prompt length, then all their ids. Examples with loss masks
   * (assistant-only loss) have no such form.
   */
  toPacked(prefix: number[] = []): Int32Array {
    if (this.lossMasks.some((m) => m !== null)) throw new Error('ExampleDataset.toPacked: examples with loss masks are not packed');
    const n = this.examples.length, head = prefix.length + PACKED_HEAD;
    const out = new Int32Array(head + 2 * n + this.examples.reduce((sum, e) => sum + e.length, 0));
    out.set([...prefix, n, this.dropped, this.mismatched, this.truncated, Math.min(this.truncatedTokens, 2 ** 31 - 1)]); // (an int32 each)
    let at = head + 2 * n;
    this.examples.forEach((e, i) => {
      out[head + i] = e.length;
      out[head + n + i] = this.promptLengths[i];
      out.set(e, at);
      at += e.length;
    });
    return out;
  }
  /** The dataset toPacked gave (without its prefix): its examples are views of `packed`, not copies. */
  static fromPacked(packed: Int32Array, maxLength: number, opts: { padTokenId?: number } = {}): ExampleDataset {
    const [n, dropped, mismatched, truncated, truncatedTokens] = packed;
    const lengths = packed.subarray(PACKED_HEAD, PACKED_HEAD + n), prompts = packed.subarray(PACKED_HEAD + n, PACKED_HEAD + 2 * n);
    if (!(n >= 0) || packed.length !== PACKED_HEAD + 2 * n + lengths.reduce((a, b) => a + b, 0)) throw new Error('ExampleDataset.fromPacked: not an array toPacked made');
    const examples: ExampleIds[] = [];
    let at = PACKED_HEAD + 2 * n;
    for (let i = 0; i < n; i++) {
      examples.push({ ids: packed.subarray(at, at + lengths[i]), promptLength: prompts[i] });
      at += lengths[i];
    }
    return Object.assign(new ExampleDataset(examples, maxLength, { ...opts, ownsIds: true }), { dropped, mismatched, truncated, truncatedTokens });
  }

  get length(): number {
    return this.examples.length;
  }

  /**
   * Batches are padded to a multiple of this many tokens (HF's and TRL's pad_to_multiple_of: shapes
   * that suit a GPU's kernels, fewer distinct shapes); null: to the longest example.
   */
  padToMultipleOf: number | null = null;

  /** Right-padded to the batch's longest example (rounded up to padToMultipleOf); the attention mask only when something is padded. */
  collate(indices: number[], device?: string): LMBatch {
    const T = this.paddedLength(indices), B = indices.length, pad = BigInt(this.padTokenId);
    const ids = new BigInt64Array(B * T).fill(pad), labels = new BigInt64Array(B * T).fill(-100n), mask = new BigInt64Array(B * T);
    let padded = false;
    indices.forEach((e, r) => {
      const ex = this.examples[e], prompt = this.promptLengths[e], lossMask = this.lossMasks[e];
      for (let k = 0; k < ex.length; k++) {
        ids[r * T + k] = BigInt(ex[k]);
        mask[r * T + k] = 1n;
        if (k >= prompt && (!lossMask || lossMask[k])) labels[r * T + k] = BigInt(ex[k]);
      }
      padded ||= ex.length < T;
    });
    const batch: LMBatch = { inputIds: toDevice(ids, [B, T], device), labels: toDevice(labels, [B, T], device) };
    if (padded) batch.attentionMask = toDevice(mask, [B, T], device);
    return batch;
  }

  lossTokens(indices: number[]): number {
    return indices.reduce((n, i) => n + this.predicted[i], 0);
  }

  tokens(indices: number[]): number {
    return indices.reduce((n, i) => n + this.examples[i].length, 0);
  }

  paddedTokens(indices: number[]): number {
    return indices.length * this.paddedLength(indices);
  }

  /** A batch's length T: its longest example, rounded up to padToMultipleOf. */
  private paddedLength(indices: number[]): number {
    const longest = Math.max(0, ...indices.map((i) => this.examples[i].length)), m = this.padToMultipleOf;
    return m ? Math.ceil(longest / m) * m : longest;
  }

  /** Splits off the last `fraction` of examples (at least one) for evaluation. */
  split(evalFraction: number): [ExampleDataset, ExampleDataset] {
    return splitOffLast(this, evalFraction);
  }
  /** Examples from..to-1 as a dataset of their own (their prompt lengths with them). */
  subset(from: number, to: number): ExampleDataset {
    const part = new ExampleDataset(this.examples.slice(from, to).map((ids, k) => ({ ids, promptLength: this.promptLengths[from + k], lossMask: this.lossMasks[from + k] ?? undefined })),
      this.maxLength, { padTokenId: this.padTokenId });
    part.padToMultipleOf = this.padToMultipleOf;
    return part;
  }
}

/**
 * One example learned on its assistant's tokens only (TRL's assistant_only_loss): the text's ids
 * and transformers' assistant mask of its {% generation %} spans. An example with no assistant
 * token is refused, as TRL does: the template most likely marks nothing.
 */
function assistantOnly(tok: GPT2Tokenizer, text: string, spans: [number, number][], promptLength: number, index: number): ExampleIds {
  const { ids, offsets } = tok.encodeWithOffsets(text);
  const lossMask = assistantTokensMask(offsets, spans);
  if (!lossMask.includes(1)) {
    throw new Error(`assistant-only loss: example ${index + 1} has no assistant tokens: the chat template marks none of it with {% generation %} ... {% endgeneration %} (give a template that marks the assistant's replies, e.g. --chat-template chatml, or one of TRL's training templates)`);
  }
  return { ids, promptLength, lossMask };
}

/**
 * TRL's best-fit-decreasing packing (trl.data_utils._pack_bfd, SFTConfig packing_strategy='bfd'):
 * sequences of these lengths (each at most seqLength), longest first (ties in order), each into the
 * open row whose free space fits it most tightly (of rows with the same free space, the one that
 * got it first), else a new row. As datasets' map gives TRL 1000 examples at a time, rows never mix
 * examples of different thousands (`example` maps a sequence to the example it came from, where
 * examples were split into several; default: each its own). Returns each row's sequence indices,
 * rows in creation order.
 */
export function packBfd(lengths: number[], seqLength: number, opts: { example?: number[] } = {}): number[][] {
  if (!Number.isInteger(seqLength) || seqLength < 1) throw new Error(`packBfd: seqLength must be an integer >= 1, got ${seqLength}`);
  lengths.forEach((n, i) => { if (!(Number.isInteger(n) && n >= 1 && n <= seqLength)) throw new Error(`packBfd: length ${n} of sequence ${i} is not in 1..${seqLength}`); });
  const exampleOf = opts.example ?? lengths.map((_, i) => i);
  const rows: number[][] = [];
  for (let start = 0; start < lengths.length;) {
    let end = start;
    while (end < lengths.length && Math.floor(exampleOf[end] / 1000) === Math.floor(exampleOf[start] / 1000)) end++;
    const ids = Array.from({ length: end - start }, (_, k) => start + k).sort((a, b) => lengths[b] - lengths[a] || a - b);
    const bySpace = new Map<number, number[][]>(); // free space -> rows with it, first come first
    for (const i of ids) {
      let space = lengths[i];
      while (space < seqLength && !bySpace.get(space)?.length) space++;
      const row = space < seqLength ? bySpace.get(space)!.shift()! : [];
      if (space === seqLength) rows.push(row);
      row.push(i);
      const left = space - lengths[i];
      if (!bySpace.has(left)) bySpace.set(left, []);
      bySpace.get(left)!.push(row);
    }
    start = end;
  }
  return rows;
}

/**
 * TRL's bfd_split: each example longer than seqLength cut into pieces of seqLength tokens (the last
 * one shorter), each piece then a sequence of its own (its prompt and loss mask the example's part
 * of them). Pieces with nothing to learn are left out. Returns the pieces and each one's example.
 */
function splitExamples(ex: ExampleDataset, seqLength: number): { pieces: ExampleIds[]; example: number[] } {
  const pieces: ExampleIds[] = [], example: number[] = [];
  ex.examples.forEach((ids, e) => {
    for (let at = 0; at < ids.length; at += seqLength) {
      const mask = ex.lossMasks[e];
      pieces.push({ ids: ids.subarray(at, at + seqLength), promptLength: Math.max(0, ex.promptLengths[e] - at), lossMask: mask ? mask.subarray(at, at + seqLength) : undefined });
      example.push(e);
    }
  });
  return { pieces, example };
}

/**
 * Separate examples packed into rows of up to seqLength tokens, as TRL's SFT with packing=True
 * (packing_strategy 'bfd', padding-free): whole examples placed by packBfd, each row a batch item;
 * inside a row each example attends only to itself and counts its positions from 0, and its first
 * token is not predicted, so each example's loss is what it would be alone (its prompt and loss
 * mask as in the ExampleDataset) while far fewer tokens are padding.
 */
export class PackedExampleDataset implements LMDataset {
  /** each row's example indices (into `examples`) */
  readonly rows: number[][];

  /** the sequences packed: the examples, or with 'bfd_split' their pieces */
  readonly examples: ExampleDataset;

  /**
   * seqLength: the rows' length (default the examples' maxLength); strategy: 'bfd' (the default;
   * longer examples must already be cut, as ExampleDataset's maxLength does) or 'bfd_split'
   * (longer examples cut into pieces of seqLength, every token kept: build the ExampleDataset with
   * a maxLength past the longest); rows: a packing already made (subset's).
   */
  constructor(examples: ExampleDataset, opts: { seqLength?: number; strategy?: 'bfd' | 'bfd_split'; rows?: number[][] } = {}) {
    const seqLength = opts.seqLength ?? examples.maxLength, strategy = opts.strategy ?? 'bfd';
    if (strategy !== 'bfd' && strategy !== 'bfd_split') throw new Error(`PackedExampleDataset: strategy must be bfd or bfd_split, got '${strategy}'`);
    if (strategy === 'bfd_split' && !opts.rows) {
      const { pieces, example } = splitExamples(examples, seqLength);
      const kept = new ExampleDataset(pieces, seqLength, { padTokenId: examples.padTokenId });
      // (ExampleDataset leaves out the pieces with nothing to learn: position k >= 1, past the prompt, in the mask)
      const learned = pieces.map((p) => Array.from({ length: p.ids.length }, (_, k) => k).some((k) => k >= Math.max(p.promptLength ?? 0, 1) && (!p.lossMask || p.lossMask[k])));
      this.examples = kept;
      this.rows = packBfd(kept.examples.map((e) => e.length), seqLength, { example: example.filter((_, k) => learned[k]) });
      return;
    }
    this.examples = examples;
    this.rows = opts.rows ?? packBfd(examples.examples.map((e) => e.length), seqLength);
  }

  get length(): number {
    return this.rows.length;
  }

  /** Right-padded to the batch's longest row; positions and a (B, 1, T, T) mask that keeps each example to itself. */
  collate(indices: number[], device?: string): LMBatch {
    const ex = this.examples;
    const T = Math.max(...indices.map((r) => this.rowLength(r)));
    const B = indices.length, pad = BigInt(ex.padTokenId);
    const ids = new BigInt64Array(B * T).fill(pad), labels = new BigInt64Array(B * T).fill(-100n);
    const positions = new BigInt64Array(B * T), sequence = new BigInt64Array(B * T);
    indices.forEach((row, r) => {
      let at = 0;
      this.rows[row].forEach((e, n) => {
        const toks = ex.examples[e], prompt = ex.promptLengths[e], mask = ex.lossMasks[e];
        for (let k = 0; k < toks.length; k++, at++) {
          ids[r * T + at] = BigInt(toks[k]);
          positions[r * T + at] = BigInt(k);
          sequence[r * T + at] = BigInt(n);
          // (k >= 1: an example's first token is not predicted from the one before it in the row)
          if (k >= Math.max(prompt, 1) && (!mask || mask[k])) labels[r * T + at] = BigInt(toks[k]);
        }
      });
      // padding: a sequence of its own (its queries keep one key to attend)
      for (; at < T; at++) sequence[r * T + at] = -1n;
    });
    const seq = toDevice(sequence, [B, T], device);
    const attentionMask = seq.unsqueeze(2).eq(seq.unsqueeze(1)).unsqueeze(1);
    seq.dispose();
    return { inputIds: toDevice(ids, [B, T], device), labels: toDevice(labels, [B, T], device), positionIds: toDevice(positions, [B, T], device), attentionMask };
  }

  private rowLength(row: number): number {
    return this.rows[row].reduce((n, e) => n + this.examples.examples[e].length, 0);
  }

  lossTokens(indices: number[]): number {
    return indices.reduce((n, r) => n + this.examples.lossTokens(this.rows[r]), 0);
  }

  tokens(indices: number[]): number {
    return indices.reduce((n, r) => n + this.rowLength(r), 0);
  }
  paddedTokens(indices: number[]): number {
    return paddedSize(indices.map((r) => this.rowLength(r)));
  }

  /** Rows from..to-1 as a dataset of their own. */
  subset(from: number, to: number): PackedExampleDataset {
    const rows = this.rows.slice(from, to), kept = rows.flat(), ex = this.examples;
    const index = new Map(kept.map((e, k) => [e, k]));
    const examples = new ExampleDataset(kept.map((e) => ({ ids: ex.examples[e], promptLength: ex.promptLengths[e], lossMask: ex.lossMasks[e] ?? undefined })), ex.maxLength, { padTokenId: ex.padTokenId });
    return new PackedExampleDataset(examples, { rows: rows.map((row) => row.map((e) => index.get(e)!)) });
  }

  /** Splits off the last `fraction` of rows (at least one) for evaluation. */
  split(evalFraction: number): [PackedExampleDataset, PackedExampleDataset] {
    return splitOffLast(this, evalFraction);
  }
}

/** [the rest, the last `evalFraction` of the items (at least one)]. */
function splitOffLast<D extends TextDataset | ExampleDataset | PackedExampleDataset>(ds: D, evalFraction: number): [D, D] {
  const nEval = Math.max(1, Math.round(ds.length * evalFraction));
  const [name, items] = ds instanceof TextDataset ? ['TextDataset', 'blocks'] : ds instanceof PackedExampleDataset ? ['PackedExampleDataset', 'rows'] : ['ExampleDataset', 'examples'];
  if (nEval >= ds.length) throw new Error(`${name}: ${ds.length} ${items} are too few to hold out ${nEval}`);
  const cut = ds.length - nEval;
  return [ds.subset(0, cut) as D, ds.subset(cut, ds.length) as D];
}

/**
 * HF run_clm's validation_split_percentage: the first `percent`% of the items held out (as
 * datasets' percent slices train[:P%], rounded to the closest, halves to even as Python's
 * round), the rest to train. Returns [train, validation]; both must keep at least one item.
 */
export function holdOutFirst<D extends LMDataset & { subset(start: number, end: number): LMDataset }>(ds: D, percent: number): [D, D] {
  if (!(percent > 0 && percent < 100)) throw new Error(`validation split: the percentage must be in (0, 100), got ${percent}`);
  const x = (percent * ds.length) / 100, floor = Math.floor(x);
  const k = x - floor === 0.5 ? floor + (floor % 2) : Math.round(x);
  const what = ds instanceof TextDataset ? 'blocks' : 'examples';
  if (k < 1 || k >= ds.length) throw new Error(`validation split: ${percent}% of ${ds.length} ${what} is ${k}; both parts need at least one (more data, or another percentage)`);
  return [ds.subset(k, ds.length) as D, ds.subset(0, k) as D];
}

/** A small, fast, seedable PRNG (mulberry32): the data order depends on the seed only. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The order of n items in a given epoch: a Fisher-Yates shuffle seeded by (seed, epoch). */
export function epochPermutation(n: number, seed: number, epoch: number): number[] {
  const rnd = mulberry32((seed * 1000003 + epoch * 7919) >>> 0);
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

/**
 * HF's group_by_length (get_length_grouped_indices), on an epoch's order: cut it into megabatches
 * of `batchSize` x min(50, n / (4 x batchSize)) items, sort each by length, longest first, and put
 * the longest item of all first (an out-of-memory shows at once). Batches then hold items of
 * similar lengths: little padding, while the order stays random between megabatches.
 */
export function lengthGroupedOrder(order: number[], length: (i: number) => number, batchSize: number): number[] {
  const mult = Math.max(1, Math.min(Math.floor(order.length / (batchSize * 4)), 50));
  const size = mult * batchSize;
  const megabatches: number[][] = [];
  for (let i = 0; i < order.length; i += size) {
    // (a stable sort: equal lengths keep the epoch's order)
    megabatches.push(order.slice(i, i + size).sort((x, y) => length(y) - length(x)));
  }
  let longest = 0;
  megabatches.forEach((m, k) => { if (length(m[0]) > length(megabatches[longest][0])) longest = k; });
  [megabatches[0][0], megabatches[longest][0]] = [megabatches[longest][0], megabatches[0][0]];
  return megabatches.flat();
}

/** Batches of block indices for one epoch; the last partial batch is kept (HF's default). */
export function epochBatches(n: number, batchSize: number, opts: { shuffle: boolean; seed: number; epoch: number }): number[][] {
  const order = opts.shuffle ? epochPermutation(n, opts.seed, opts.epoch) : Array.from({ length: n }, (_, i) => i);
  const out: number[][] = [];
  for (let i = 0; i < n; i += batchSize) out.push(order.slice(i, i + batchSize));
  return out;
}

/** Whether ids are an Int32Array (by its tag: a worker thread's arrays may come from another realm, as under jest). */
const isInt32Array = (ids: ArrayLike<number>): ids is Int32Array => Object.prototype.toString.call(ids) === '[object Int32Array]';

/** Whether `ids` begins with `prefix`. */
export function startsWith(ids: ArrayLike<number>, prefix: ArrayLike<number>): boolean {
  if (prefix.length > ids.length) return false;
  for (let k = 0; k < prefix.length; k++) if (ids[k] !== prefix[k]) return false;
  return true;
}
