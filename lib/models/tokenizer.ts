// GPT-2's byte-level BPE (r50k_base, the same merges as Hugging Face's GPT2Tokenizer), offline,
// from the gpt-tokenizer package; and Hugging Face's tokenizer files (vocab.json, merges.txt, ...)
// made from the same tables, so that an output folder loads with AutoTokenizer as it is.
// GPT2Tokenizer.fromPretrained(dir) reads a model folder's own files: GPT-2's tables take the fast
// path above; any other byte-level BPE (a GPT-2 trained on another language or corpus) is run by
// ByteLevelBPE below, Hugging Face's GPT2Tokenizer algorithm.
import { keywordOptions } from '../tensor/options';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { isJsonObject, readJsonObject } from '../io/json';
import { writeFileAtomic } from '../io/atomic';
import { adapterBaseModel, resolvePretrained } from '../io/hub';
import { EncodePool, workerModule } from './encode_pool';
import { ChatMessage, ChatTemplateOptions, RenderedChat, renderChatTemplateSpans } from './chat_template';

interface R50k {
  encode(text: string, opts?: { allowedSpecial?: Set<string> }): number[];
}
// Loaded on first use: the BPE tables are large, and most tensor code never needs them.
let r50kCache: R50k | null = null;
function r50k(): R50k {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (r50kCache ??= require('gpt-tokenizer/encoding/r50k_base') as R50k);
}

let r50kRanksCache: (string | number[])[] | null = null;
/** gpt-tokenizer's r50k tokens by id: a token's text, or its bytes where they are not whole UTF-8 */
function r50kRanks(): (string | number[])[] {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (r50kRanksCache ??= (require('gpt-tokenizer/bpeRanks/r50k_base') as { default: (string | number[])[] }).default);
}

/**
 * GPT-2's ids as text, as HF's decode: the bytes between special tokens decoded at once, an
 * invalid or unfinished UTF-8 sequence as U+FFFD (errors='replace'). (Not gpt-tokenizer's decode:
 * its one TextDecoder, shared and streaming, keeps an unfinished character's bytes and puts them
 * in front of whatever is decoded next, anywhere in the process.)
 */
function r50kDecode(ids: number[]): string {
  return decodeBytes(ids, (id) => (id === EOS_TOKEN_ID ? EOS_TOKEN : undefined), r50kBytes);
}

/** A GPT-2 vocabulary token's bytes (not eos: an added token). */
function r50kBytes(id: number): Uint8Array | number[] {
  const token = Number.isInteger(id) ? r50kRanks()[id] : undefined;
  if (token === undefined) throw new Error(`tokenizer: id ${id} is not in GPT-2's vocabulary (${EOS_TOKEN_ID + 1} ids)`);
  return typeof token === 'string' ? Buffer.from(token, 'utf8') : token;
}

/**
 * Ids as text: an added token's text as it is (special), the bytes of the ids between them decoded
 * together, an invalid or unfinished UTF-8 sequence as U+FFFD (HF's errors='replace').
 */
function decodeBytes(ids: number[], added: (id: number) => string | undefined, bytesOf: (id: number) => Iterable<number>): string {
  let text = '';
  let bytes: number[] = [];
  const flush = () => {
    if (bytes.length) text += new TextDecoder('utf-8', { ignoreBOM: true }).decode(Uint8Array.from(bytes)); // (a BOM is text: Python's decode keeps it)
    bytes = [];
  };
  for (const id of ids) {
    const special = added(id);
    if (special !== undefined) {
      flush();
      text += special;
      continue;
    }
    for (const b of bytesOf(id)) bytes.push(b);
  }
  flush();
  return text;
}

/** A conversation's tokens by applyChatTemplate({ tokenize: true }) (HF's BatchEncoding of one conversation). */
export interface ChatEncoding {
  inputIds: number[];
  attentionMask: number[];
  /** 1 on the tokens of the template's {% generation %} blocks (HF's assistant_masks) */
  assistantMasks?: number[];
}

/**
 * transformers' assistant mask: for each generation span, the tokens from the one holding its
 * first character to the one holding its last (char_to_token: the first token holding it), all to
 * the end where the last has none, and no further spans once a first character has none.
 */
export function assistantTokensMask(offsets: [number, number][], spans: [number, number][]): number[] {
  const mask = offsets.map(() => 0);
  const charToToken = (c: number) => offsets.findIndex(([s, e]) => c >= s && c < e);
  for (const [start, end] of spans) {
    const first = charToToken(start), last = charToToken(end - 1);
    if (first < 0) break; // (HF: out of bounds, maybe truncated)
    // (HF's `end_token + 1 if end_token else len(input_ids)`: none, or token 0, run to the end)
    const stop = last > 0 ? last + 1 : offsets.length;
    for (let t = first; t < stop; t++) mask[t] = 1;
  }
  return mask;
}

export const EOS_TOKEN = '<|endoftext|>';
export const EOS_TOKEN_ID = 50256;
export const VOCAB_SIZE = 50257;
const allowed = new Set([EOS_TOKEN]);

/** The tokenizer files Hugging Face reads from a model folder (GPT2Tokenizer's, and the fast one's). */
export const TOKENIZER_FILES = ['vocab.json', 'merges.txt', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'added_tokens.json', 'chat_template.jinja'];

/** Chat templates: one, or several by name (HF's dict: 'default', 'tool_use', ...). */
export type ChatTemplates = string | Record<string, string>;

/** ChatML, for a GPT-2 that has no template of its own (`--chat-template chatml`): <|im_start|>role\ncontent<|im_end|>\n. */
export const CHATML_TEMPLATE = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
/**
 * CHATML_TEMPLATE with the assistant's replies in {% generation %} blocks (each reply, its
 * <|im_end|> and newline: what the model learns to write, and to stop), for assistant-only loss;
 * it renders as CHATML_TEMPLATE does. (TRL's training templates are made the same way.)
 */
export const CHATML_TRAINING_TEMPLATE = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n'}}{% if message['role'] == 'assistant' %}{% generation %}{{ message['content'] + '<|im_end|>' + '\\n' }}{% endgeneration %}{% else %}{{ message['content'] + '<|im_end|>' + '\\n' }}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

export class GPT2Tokenizer {
  readonly eosTokenId: number;
  readonly eosToken: string;
  /** ids in use: the vocabulary and the added tokens (HF's len(tokenizer)) */
  readonly vocabSize: number;

  /** The chat template(s) (HF's chat_template): the folder's, or one given with withChatTemplate; null: none (GPT-2's case). */
  readonly chatTemplate: ChatTemplates | null;
  /** The named special tokens (HF's special_tokens_map: bos_token, eos_token, unk_token, ...), a chat template's variables. */
  readonly specialTokensMap: Record<string, string>;

  /** bpe: a folder's own tables (fromPretrained); none: GPT-2's, encoded by gpt-tokenizer. eos: another of its added tokens as the eos (withEosToken). */
  constructor(private readonly bpe: ByteLevelBPE | null = null, opts: { chatTemplate?: ChatTemplates | null; specialTokensMap?: Record<string, string>; eos?: [string, number] } = {}) {
    this.eosToken = opts.eos?.[0] ?? (bpe ? bpe.eosToken : EOS_TOKEN);
    this.eosTokenId = opts.eos?.[1] ?? (bpe ? bpe.eosTokenId : EOS_TOKEN_ID);
    this.vocabSize = bpe ? bpe.size : VOCAB_SIZE;
    this.chatTemplate = opts.chatTemplate ?? null;
    this.specialTokensMap = opts.specialTokensMap ?? { bos_token: EOS_TOKEN, eos_token: EOS_TOKEN, unk_token: EOS_TOKEN };
  }

  /** This tokenizer with another chat template (a Jinja string, several by name, or null for none); the tables are shared. */
  withChatTemplate(template: ChatTemplates | null): GPT2Tokenizer {
    if (template !== null) checkChatTemplates(template, 'withChatTemplate');
    return new GPT2Tokenizer(this.bpe, { chatTemplate: template, specialTokensMap: this.specialTokensMap, eos: [this.eosToken, this.eosTokenId] });
  }

  /**
   * This tokenizer with another of its added tokens as the eos token (TRL's eos_token, HF's
   * tokenizer.eos_token = ...): what ends each example, pads batches, and what savePretrained
   * (and saveTokenizerFiles with eosToken) write as eos_token. The tables are shared.
   */
  withEosToken(token: string): GPT2Tokenizer {
    if (token === this.eosToken) return this;
    const id = this.bpe?.added.get(token);
    if (id === undefined) {
      throw new Error(`tokenizer: the eos token ${JSON.stringify(token)} is not one of the tokenizer's added tokens (${this.bpe ? [...this.bpe.added.keys()].join(', ') : EOS_TOKEN}): add it to the tokenizer (added_tokens.json, or tokenizer.json's added_tokens) first, as TRL requires it in the vocabulary`);
    }
    return new GPT2Tokenizer(this.bpe, { chatTemplate: this.chatTemplate, specialTokensMap: { ...this.specialTokensMap, eos_token: token }, eos: [token, id] });
  }

  /**
   * The tag the chat template writes right after an assistant's reply (ChatML's <|im_end|>, Llama
   * 3's <|eot_id|>, Gemma's <end_of_turn>), unless it is the eos token; undefined where there is
   * none (or no template). GPT-2 has no such token: a model trained on the template writes the tag
   * as text, so `generate --chat`, `chat` and `serve` end a reply there (a stop string).
   */
  assistantTurnEnd(): string | undefined {
    if (this.turnEnd === undefined) this.turnEnd = this.readAssistantTurnEnd() ?? null;
    return this.turnEnd ?? undefined;
  }
  private turnEnd?: string | null; // (read once: serve asks on every request)
  private readAssistantTurnEnd(): string | undefined {
    if (this.chatTemplate === null) return undefined;
    const reply = '\uE000reply\uE000'; // (a private-use mark no template writes)
    let text: string;
    try {
      text = this.applyChatTemplate([{ role: 'user', content: 'hi' }, { role: 'assistant', content: reply }]);
    } catch {
      return undefined; // (a template that refuses this conversation: no end read from it)
    }
    const at = text.lastIndexOf(reply);
    const tag = at < 0 ? undefined : /^<[^<>\s]+>/.exec(text.slice(at + reply.length))?.[0];
    return tag !== undefined && tag !== this.eosToken ? tag : undefined;
  }

  /**
   * The template HF's get_chat_template picks: `name`, else with tools the 'tool_use' one where
   * there is one, else 'default' (or the only one).
   */
  getChatTemplate(name?: string, opts: { tools?: boolean } = {}): string {
    const t = this.chatTemplate;
    if (t === null) {
      throw new Error('tokenizer: no chat template (GPT-2 has none): give one with withChatTemplate(template), or --chat-template FILE (a Jinja template; chatml for ChatML)');
    }
    if (typeof t === 'string') return t;
    if (name !== undefined) {
      if (!Object.hasOwn(t, name)) throw new Error(`tokenizer: no chat template named '${name}' (it has ${Object.keys(t).join(', ')})`);
      return t[name];
    }
    if (opts.tools && 'tool_use' in t) return t.tool_use;
    if ('default' in t) return t.default;
    const names = Object.keys(t);
    if (names.length === 1) return t[names[0]];
    throw new Error(`tokenizer: several chat templates (${names.join(', ')}) and none named default: choose one by name`);
  }

  /**
   * A conversation as text by the chat template (HF's tokenizer.apply_chat_template(messages,
   * tokenize=False, ...)); with tokenize: true its ids (HF's tokenize=True, return_dict=True: no
   * special tokens added) and, with returnAssistantTokensMask, 1 on the tokens of the template's
   * {% generation %} blocks (the assistant's replies; all 0 when the template has none), as HF's
   * return_assistant_tokens_mask. chatTemplate: a template's name, or a template itself.
   */
  applyChatTemplate(messages: ChatMessage[], opts: ChatTemplateOptions & { chatTemplate?: string; tokenize: true; returnAssistantTokensMask?: boolean }): ChatEncoding;
  applyChatTemplate(messages: ChatMessage[], opts?: ChatTemplateOptions & { chatTemplate?: string; tokenize?: false }): string;
  applyChatTemplate(messages: ChatMessage[], opts: ChatTemplateOptions & { chatTemplate?: string; tokenize?: boolean; returnAssistantTokensMask?: boolean } = {}): string | ChatEncoding {
    if (opts.returnAssistantTokensMask && opts.continueFinalMessage) throw new Error('applyChatTemplate: continueFinalMessage does not go with returnAssistantTokensMask (as in transformers): the mask is of whole conversations');
    const rendered = this.renderChat(messages, opts);
    if (!opts.tokenize) {
      if (opts.returnAssistantTokensMask) throw new Error('applyChatTemplate: returnAssistantTokensMask needs tokenize: true (the mask is over tokens)');
      return rendered.text;
    }
    if (!opts.returnAssistantTokensMask) {
      const inputIds = this.encode(rendered.text);
      return { inputIds, attentionMask: inputIds.map(() => 1) };
    }
    const { ids, offsets } = this.encodeWithOffsets(rendered.text);
    return { inputIds: ids, attentionMask: ids.map(() => 1), assistantMasks: assistantTokensMask(offsets, rendered.generationSpans) };
  }

  /** A conversation rendered by the chat template, and where its {% generation %} blocks are in the text (transformers' generation_indices). */
  renderChat(messages: ChatMessage[], opts: ChatTemplateOptions & { chatTemplate?: string } = {}): RenderedChat {
    // (as HF's get_chat_template: a name of one of the tokenizer's templates, else a template itself)
    const given = opts.chatTemplate;
    const named = given !== undefined && !(typeof this.chatTemplate === 'object' && this.chatTemplate !== null && Object.hasOwn(this.chatTemplate, given)) && /\{[{%]/.test(given);
    const template = named ? given! : this.getChatTemplate(given, { tools: opts.tools !== undefined });
    return renderChatTemplateSpans(template, messages, this.specialTokensMap, opts);
  }

  /**
   * Text to token ids with each token's [start, end) in the text (HF's offset_mapping for GPT-2:
   * byte-level offsets, not trimmed; a token holding part of a character spans all of it).
   */
  encodeWithOffsets(text: string): { ids: number[]; offsets: [number, number][] } {
    const ids = this.encode(text);
    const prefixed = this.bpe?.addPrefixSpace === true && text.length > 0 && !/^\s/.test(text);
    const bytesOf = prefixed ? ' ' + text : text;
    // each UTF-8 byte of the text -> the [start, end) of its character (UTF-16 indices)
    const charStart: number[] = [], charEnd: number[] = [];
    for (let i = 0; i < bytesOf.length;) {
      const cp = bytesOf.codePointAt(i)!, units = cp > 0xffff ? 2 : 1;
      const n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
      for (let k = 0; k < n; k++) { charStart.push(i); charEnd.push(i + units); }
      i += units;
    }
    const offsets: [number, number][] = [];
    let b = 0;
    for (const id of ids) {
      const n = this.tokenByteLength(id);
      if (n < 1 || b + n > charStart.length) break;
      offsets.push([charStart[b], charEnd[b + n - 1]]);
      b += n;
    }
    if (b !== charStart.length || offsets.length !== ids.length) throw new Error('encodeWithOffsets: the tokens do not spell the text byte for byte (a tokenizer that changes the text)');
    // (the space add_prefix_space put in front belongs to the first character)
    return { ids, offsets: prefixed ? offsets.map(([s, e]) => [Math.max(0, s - 1), Math.max(1, e - 1)]) : offsets };
  }

  /** How many bytes of text a token stands for. */
  private tokenByteLength(id: number): number {
    if (this.bpe) return this.bpe.byteLength(id);
    if (id === EOS_TOKEN_ID) return Buffer.byteLength(EOS_TOKEN);
    const t = r50kRanks()[id];
    return typeof t === 'string' ? Buffer.byteLength(t) : t.length;
  }

  /**
   * A model folder's tokenizer, as AutoTokenizer.from_pretrained reads it: vocab.json and
   * merges.txt (or tokenizer.json, a byte-level BPE), the added and special tokens
   * (tokenizer.json, tokenizer_config.json, added_tokens.json, special_tokens_map.json) and
   * add_prefix_space. GPT-2's own tables give the shared fast `tokenizer`.
   */
  static async fromPretrained(nameOrPath: string, opts: { revision?: string } = {}): Promise<GPT2Tokenizer> {
    return GPT2Tokenizer.fromFiles(resolvePretrained(nameOrPath, opts));
  }
  /** fromPretrained, synchronously. gpt2Fast: false runs even GPT-2's tables through ByteLevelBPE (to check one against the other). */
  static fromFiles(dir: string, opts: { gpt2Fast?: boolean } = {}): GPT2Tokenizer {
    const t = readTokenizerFiles(dir);
    if (t.addBosToken) {
      // (HF's tokenizer(text) would put the bos token first; encode adds no special tokens, as GPT-2's default)
      console.warn(`tokenizer: ${path.join(dir, 'tokenizer_config.json')} sets add_bos_token, which tstorch does not apply: texts are encoded without a leading bos token; add it to your texts if the model expects one`);
    }
    const chat = { chatTemplate: t.chatTemplate, specialTokensMap: t.specialTokensMap };
    if (opts.gpt2Fast !== false && isGpt2Tables(t)) return t.chatTemplate === null ? tokenizer : new GPT2Tokenizer(null, chat);
    return new GPT2Tokenizer(new ByteLevelBPE(t), chat);
  }
  /**
   * sha-256 of everything that decides this tokenizer's ids for a text (its tables, added tokens,
   * add_prefix_space, eos, chat template and special tokens): the key of tokenized data cached on disk.
   */
  get fingerprint(): string {
    if (this.fingerprintHex) return this.fingerprintHex;
    const b = this.bpe, tables = b ? b.tables() : null;
    const parts = {
      // (2: the pre-tokenizer's whitespace became Unicode's White_Space; ids cached before are not reused)
      rules: 2,
      tables: tables ? tablesFingerprint(tables.vocab, tables.merges) : GPT2_TABLES_FINGERPRINT,
      added: b ? [...b.added] : [[EOS_TOKEN, EOS_TOKEN_ID]], addPrefixSpace: b?.addPrefixSpace ?? false,
      eos: [this.eosToken, this.eosTokenId], chatTemplate: this.chatTemplate, specialTokensMap: this.specialTokensMap,
      // (2: templates render as Jinja2 renders them (filters, whitespace, ...) and rows' tools reach them;
      // 3: chained comparisons, raw blocks, string escapes and - around Python's whitespace as Jinja2's; conversations cached before are rendered again)
      ...(this.chatTemplate !== null ? { chatRendering: 3 } : {}),
    };
    return (this.fingerprintHex = crypto.createHash('sha256').update(JSON.stringify(parts)).digest('hex'));
  }
  private fingerprintHex?: string;

  /** the id of the bos token (HF's bos_token_id: GPT-2's is its eos, <|endoftext|>), or null where it names none */
  get bosTokenId(): number | null {
    const bos = this.specialTokensMap.bos_token;
    if (bos === undefined) return null;
    return (this.bpe ? this.bpe.idOf(bos) : bos === EOS_TOKEN ? EOS_TOKEN_ID : undefined) ?? null;
  }

  /** true: GPT-2's own tokenizer (r50k). */
  get isGpt2(): boolean {
    return this.bpe === null;
  }

  /** Text to token ids, no special tokens added ("<|endoftext|>" in the text is that token, as in HF). */
  encode(text: string): number[] {
    if (this.bpe) return this.bpe.encode(text);
    if (NOT_JS_SPACES.test(text)) return gpt2Bpe().encode(text); // (rare: GPT-2's tables, run with White_Space)
    // As HF's tokenizers, the special token is split out first and the pieces between encoded.
    // (gpt-tokenizer 4.0 finds one only at the very start of the text: "a<|endoftext|>" gave
    // 8 ids.) No array spread: a corpus's ids can outnumber a call's arguments.
    if (!text.includes(EOS_TOKEN)) return r50k().encode(text, { allowedSpecial: allowed });
    const ids: number[] = [];
    text.split(EOS_TOKEN).forEach((piece, i) => {
      if (i > 0) ids.push(EOS_TOKEN_ID);
      if (piece) for (const id of r50k().encode(piece, { allowedSpecial: allowed })) ids.push(id);
    });
    return ids;
  }
  /**
   * encode(pieces.join('')) without ever holding the whole text: a corpus larger than a JavaScript
   * string (about 512 M characters) or than the heap. The text is encoded a chunk of about
   * chunkChars characters at a time, each cut where GPT-2's pre-tokenizer starts a piece whatever
   * follows: after a newline between two non-space characters, or before a space between two
   * (no piece of its pattern runs across either, and none looks back), so the ids are encode's
   * own. (A tokenizer with added tokens that hold whitespace is encoded whole: they could span a cut.)
   * expectedIds: about how many ids to make room for at once (a corpus's bytes / 4 for English).
   * threads: worker threads encoding the chunks while this one reads the text (the same ids;
   * about threads x faster on as many free cores; 1, the default, encodes here).
   */
  encodeChunks(pieces: Iterable<string>, opts: { chunkChars?: number; expectedIds?: number; threads?: number } = {}): Int32Array {
    const chunkChars = opts.chunkChars ?? 1 << 20, threads = opts.threads ?? 1;
    if (!(Number.isInteger(chunkChars) && chunkChars >= 1)) throw new Error(`encodeChunks: chunkChars must be an integer >= 1, got ${chunkChars}`);
    if (!(Number.isInteger(threads) && threads >= 1)) throw new Error(`encodeChunks: threads must be an integer >= 1, got ${threads}`);
    // (expectedIds: about how many ids there will be, room made at once: no copies while growing)
    const out = new IdBuffer(Math.max(1 << 16, Math.floor(opts.expectedIds ?? 0)));
    if (this.bpe && [...this.bpe.added.keys()].some((t) => /\s/u.test(t))) {
      out.push(this.encode(Array.from(pieces).join('')));
      return out.ids();
    }
    // threads > 1: worker threads encode the chunks (started at the first cut: a text of one chunk
    // is encoded here; and only where the build's tokenizer module is there for them to load)
    const module = threads > 1 ? workerModule() : null;
    let pool: EncodePool | null = null;
    try {
      let pending = '', scanned = 0, first = true;
      const flush = (end: number) => {
        if (!pool && module && end < pending.length) pool = new EncodePool(module, this.bpe?.source ?? null, threads, (ids) => out.push(ids));
        if (pool) pool.submit(pending.slice(0, end), !first);
        else out.push(encodeChunk(this.bpe, pending.slice(0, end), !first));
        pending = pending.slice(end); scanned = 0; first = false;
      };
      for (const piece of pieces) {
        pending += piece;
        if (pending.length < chunkChars) continue;
        const cut = safeCut(pending, scanned);
        scanned = Math.max(0, pending.length - 2); // (the last two characters are looked at again with what follows)
        if (cut > 0) flush(cut);
      }
      if (pending) flush(pending.length);
      (pool as EncodePool | null)?.finish();
    } finally {
      (pool as EncodePool | null)?.close();
    }
    return out.ids();
  }

  /**
   * Each text's ids, as encode(text) gives them (HF's tokenizer(list_of_texts), or datasets' map
   * with num_proc): with threads > 1, worker threads encode batches of the texts (about 256 K
   * characters each) while this one hands them out; the ids are the same whatever the thread count.
   */
  encodeEach(texts: Iterable<string>, opts: { threads?: number } = {}): Int32Array[] {
    const out: Int32Array[] = [];
    this.encodeEachInto(texts, (ids) => out.push(ids), opts);
    return out;
  }
  /**
   * encodeEach handing each text's ids to sink, in order, as they come: the texts are read as they
   * are handed out and the ids may be views of a batch's array (copy what is kept), so neither all
   * texts nor all ids need be held at once.
   */
  encodeEachInto(texts: Iterable<string>, sink: (ids: Int32Array) => void, opts: { threads?: number } = {}): void {
    const threads = opts.threads ?? 1;
    if (!(Number.isInteger(threads) && threads >= 1)) throw new Error(`encodeEach: threads must be an integer >= 1, got ${threads}`);
    const module = threads > 1 ? workerModule() : null;
    if (!module) {
      for (const t of texts) sink(Int32Array.from(this.encode(t)));
      return;
    }
    // (started at the first full batch: fewer texts than that are encoded here)
    let pool: EncodePool | null = null;
    try {
      let batch: string[] = [], chars = 0;
      for (const t of texts) {
        batch.push(t);
        chars += t.length;
        if (chars < BATCH_CHARS) continue;
        pool ??= new EncodePool(module, this.bpe?.source ?? null, threads, (ids, lengths) => {
          let at = 0;
          for (const n of lengths!) { sink(ids.subarray(at, at + n)); at += n; }
        });
        pool.submitBatch(batch);
        batch = []; chars = 0;
      }
      if (pool) {
        if (batch.length) pool.submitBatch(batch);
        (pool as EncodePool).finish();
      } else {
        for (const t of batch) sink(Int32Array.from(this.encode(t)));
      }
    } finally {
      (pool as EncodePool | null)?.close();
    }
  }

  /** Token ids to text; skipSpecialTokens (HF's skip_special_tokens) leaves out eos and the other special tokens. */
  decode(ids: number[], opts: { skipSpecialTokens?: boolean } = {}): string {
    keywordOptions('GPT2Tokenizer.decode', opts, ['skipSpecialTokens']);
    if (opts.skipSpecialTokens) {
      const special = this.specialIds;
      ids = ids.filter((id) => !special.has(id));
    }
    return this.bpe ? this.bpe.decode(ids) : r50kDecode(ids);
  }
  /**
   * The bytes of text one token stands for (an added token's text in UTF-8): a token may hold part
   * of a character, which decode() alone shows as U+FFFD (OpenAI's logprobs give these bytes).
   */
  tokenBytes(id: number): Uint8Array {
    if (this.bpe) return this.bpe.tokenBytes(id);
    return id === EOS_TOKEN_ID ? Buffer.from(EOS_TOKEN, 'utf8') : Uint8Array.from(r50kBytes(id));
  }

  /** the ids of the special tokens (eos, bos, unk, pad and those marked special) */
  get specialIds(): Set<number> {
    return (this.specialIdSet ??= this.bpe ? new Set([...this.bpe.special].map((t) => this.bpe!.added.get(t)!)) : new Set([EOS_TOKEN_ID]));
  }
  private specialIdSet?: Set<number>; // (decode with skipSpecialTokens runs per streamed token)

  /**
   * Several texts at once, as HF's tokenizer(texts, padding=..., truncation=..., max_length=...):
   * each text's ids (no special tokens added, as GPT-2's), cut to maxLength with truncation
   * (keeping the start), padded with padding ('longest': to the longest; 'max_length': to
   * maxLength) on paddingSide ('right', HF's default; 'left' for generation) with padTokenId
   * (default eos, GPT-2 having no pad token). attentionMask is 1 on real tokens, 0 on padding.
   * torch.tensor(out.inputIds, { dtype: 'int64' }) makes the batch a tensor. threads: as encodeEach's.
   */
  encodeBatch(texts: string[], opts: { padding?: boolean | 'longest' | 'max_length'; truncation?: boolean; maxLength?: number; paddingSide?: 'right' | 'left'; padTokenId?: number; threads?: number } = {}): { inputIds: number[][]; attentionMask: number[][] } {
    if (!Array.isArray(texts) || !texts.every((t) => typeof t === 'string')) throw new Error('encodeBatch: texts must be an array of strings');
    keywordOptions('encodeBatch', opts, ['padding', 'truncation', 'maxLength', 'paddingSide', 'padTokenId', 'threads']);
    const padding = opts.padding === true ? 'longest' : opts.padding ?? false;
    if (padding !== false && padding !== 'longest' && padding !== 'max_length') throw new Error(`encodeBatch: padding must be true, false, 'longest' or 'max_length', got ${JSON.stringify(opts.padding)}`);
    if (opts.maxLength !== undefined && !(Number.isInteger(opts.maxLength) && opts.maxLength >= 1)) throw new Error(`encodeBatch: maxLength must be an integer >= 1, got ${opts.maxLength}`);
    if (padding === 'max_length' && opts.maxLength === undefined) throw new Error('encodeBatch: padding \'max_length\' needs maxLength');
    const side = opts.paddingSide ?? 'right';
    if (side !== 'right' && side !== 'left') throw new Error(`encodeBatch: paddingSide must be right or left, got '${side}'`);
    const pad = opts.padTokenId ?? this.eosTokenId;
    let rows = opts.threads !== undefined && opts.threads > 1 ? this.encodeEach(texts, { threads: opts.threads }).map((ids) => Array.from(ids)) : texts.map((t) => this.encode(t));
    if (opts.truncation) {
      const limit = opts.maxLength ?? 1024; // (HF: the model's max length; GPT-2's 1024)
      rows = rows.map((r) => r.slice(0, limit));
    }
    const width = padding === 'max_length' ? Math.max(opts.maxLength!, ...rows.map((r) => r.length)) : padding === 'longest' ? Math.max(0, ...rows.map((r) => r.length)) : 0;
    const inputIds: number[][] = [], attentionMask: number[][] = [];
    for (const r of rows) {
      const fill = Math.max(0, width - r.length);
      const padIds = Array<number>(fill).fill(pad), zeros = Array<number>(fill).fill(0), ones = Array<number>(r.length).fill(1);
      inputIds.push(side === 'right' ? [...r, ...padIds] : [...padIds, ...r]);
      attentionMask.push(side === 'right' ? [...ones, ...zeros] : [...zeros, ...ones]);
    }
    return { inputIds, attentionMask };
  }

  /**
   * Writes what Hugging Face's GPT2Tokenizer.save_pretrained writes (vocab.json, merges.txt,
   * tokenizer_config.json, special_tokens_map.json), each file whole or not at all.
   * modelMaxLength is the model's n_positions (1024 for GPT-2).
   */
  savePretrained(dir: string, opts: { modelMaxLength?: number } = {}): void {
    fs.mkdirSync(dir, { recursive: true });
    const { vocab, merges } = this.bpe ? this.bpe.tables() : vocabAndMerges();
    // In id order (a JS object would put the digit-only tokens first).
    writeFileAtomic(path.join(dir, 'vocab.json'), `{${vocab.map((token, id) => (token === undefined ? null : `${JSON.stringify(token)}: ${id}`)).filter((e) => e !== null).join(', ')}}`);
    writeFileAtomic(path.join(dir, 'merges.txt'), ['#version: 0.2', ...merges.map(([a, b]) => `${a} ${b}`)].join('\n') + '\n');
    const eos = this.eosToken;
    const special = { bos_token: eos, eos_token: eos, unk_token: eos };
    writeFileAtomic(path.join(dir, 'special_tokens_map.json'), JSON.stringify(special, null, 2) + '\n');
    const added: Record<string, object> = {};
    for (const [content, id] of this.bpe ? this.bpe.added : new Map([[EOS_TOKEN, EOS_TOKEN_ID]])) {
      // (GPT-2's own file marks its eos normalized; HF's AddedToken defaults: special ones not normalized, others normalized)
      const special = this.bpe ? this.bpe.special.has(content) : true;
      added[id] = { content, lstrip: false, normalized: this.bpe ? !special : true, rstrip: false, single_word: false, special };
    }
    writeFileAtomic(path.join(dir, 'tokenizer_config.json'), JSON.stringify({
      add_bos_token: false, add_prefix_space: this.bpe?.addPrefixSpace ?? false, added_tokens_decoder: added,
      ...special, clean_up_tokenization_spaces: false, errors: 'replace', model_max_length: opts.modelMaxLength ?? 1024,
      pad_token: null, tokenizer_class: 'GPT2Tokenizer',
      ...(this.chatTemplate !== null ? { chat_template: chatTemplateJson(this.chatTemplate) } : {}),
    }, null, 2) + '\n');
    // transformers 5 keeps the template in chat_template.jinja (read first); older ones in tokenizer_config.json: both
    if (typeof this.chatTemplate === 'string') writeFileAtomic(path.join(dir, 'chat_template.jinja'), this.chatTemplate);
  }
}

/** What a folder's tokenizer files say. */
interface TokenizerTables {
  dir: string;
  vocab: Map<string, number>;
  merges: [string, string][];
  /** added tokens (content -> id): split out of the text before BPE, each one id */
  added: Map<string, number>;
  special: Set<string>;
  eosToken: string;
  addPrefixSpace: boolean;
  /** tokenizer_config.json's add_bos_token (a few GPT-2 fine-tunes set it): not applied, said so */
  addBosToken: boolean;
  /** chat_template.jinja, else tokenizer_config.json's chat_template (a string, or a list of {name, template}) */
  chatTemplate: ChatTemplates | null;
  /** bos_token, eos_token, ... as HF's special_tokens_map */
  specialTokensMap: Record<string, string>;
}

/** tokenizer_config.json's chat_template: the string, or HF's list of {name, template} for several. */
function chatTemplateJson(t: ChatTemplates): string | { name: string; template: string }[] {
  return typeof t === 'string' ? t : Object.entries(t).map(([name, template]) => ({ name, template }));
}

function checkChatTemplates(t: unknown, where: string): ChatTemplates {
  if (typeof t === 'string') return t;
  if (isJsonObject(t) && Object.values(t).every((v) => typeof v === 'string') && Object.keys(t).length) return t as Record<string, string>;
  throw new Error(`${where}: a chat template is a Jinja string, or several by name ({ default: ..., tool_use: ... }); got ${JSON.stringify(t)?.slice(0, 80)}`);
}

/** A folder's chat template(s): chat_template.jinja (transformers 5 reads it first), else tokenizer_config.json's. */
function readChatTemplate(dir: string, config: Record<string, unknown>): ChatTemplates | null {
  const jinja = path.join(dir, 'chat_template.jinja');
  if (fs.existsSync(jinja)) return fs.readFileSync(jinja, 'utf8');
  const t = config.chat_template;
  if (t === undefined || t === null) return null;
  const where = `tokenizer: ${path.join(dir, 'tokenizer_config.json')}: chat_template`;
  if (Array.isArray(t)) {
    const named: Record<string, string> = {};
    for (const e of t) {
      if (!e || typeof e.name !== 'string' || typeof e.template !== 'string') throw new Error(`${where} is a list whose entries must be {name, template}; got ${JSON.stringify(e)?.slice(0, 80)}`);
      named[e.name] = e.template;
    }
    return checkChatTemplates(named, where);
  }
  return checkChatTemplates(t, where);
}

function readJson(file: string): Record<string, unknown> {
  return readJsonObject(file, 'tokenizer', 'a broken download? fetch the tokenizer files again');
}

/** A special token's spelling in tokenizer_config.json / special_tokens_map.json: a string or { content }. */
function tokenContent(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return undefined;
}

/** Reads a folder's tokenizer files; errors say which file is wrong and how. */
export function readTokenizerFiles(dir: string): TokenizerTables {
  const file = (f: string) => path.join(dir, f);
  const has = (f: string) => fs.existsSync(file(f));
  if (!fs.existsSync(dir)) throw new Error(`tokenizer: ${dir}: no such folder`);
  const tj = has('tokenizer.json') ? readJson(file('tokenizer.json')) : null;
  let vocab: Map<string, number>;
  let merges: [string, string][];
  if (has('vocab.json') && has('merges.txt')) {
    vocab = vocabMap(readJson(file('vocab.json')), file('vocab.json'));
    const lines = fs.readFileSync(file('merges.txt'), 'utf8').split(/\r?\n/);
    merges = [];
    lines.forEach((line, i) => {
      if (!line || (i === 0 && line.startsWith('#version'))) return;
      const parts = line.split(' ');
      if (parts.length !== 2 || !parts[0] || !parts[1]) throw new Error(`tokenizer: ${file('merges.txt')} line ${i + 1} is not two tokens separated by one space: ${JSON.stringify(line)}`);
      merges.push([parts[0], parts[1]]);
    });
  } else if (tj) {
    const model = tj.model as { type?: string; vocab?: Record<string, unknown>; merges?: unknown[] } | undefined;
    const pre = tj.pre_tokenizer as { type?: string; use_regex?: boolean } | null | undefined;
    if (model?.type !== 'BPE' || !model.vocab || !Array.isArray(model.merges)) {
      throw new Error(`tokenizer: ${file('tokenizer.json')} is ${typeof model?.type === 'string' ? `a ${model.type}` : 'an unknown kind of'} tokenizer; tstorch reads byte-level BPE tokenizers (GPT-2's kind)`);
    }
    if (pre?.type !== 'ByteLevel' || pre.use_regex === false) {
      throw new Error(`tokenizer: ${file('tokenizer.json')}: its pre-tokenizer is ${pre?.type ?? 'none'}${pre?.use_regex === false ? ' without GPT-2\'s regex' : ''}; tstorch reads GPT-2's byte-level BPE (pre_tokenizer ByteLevel)`);
    }
    if (tj.normalizer) throw new Error(`tokenizer: ${file('tokenizer.json')} has a normalizer (${(tj.normalizer as { type?: string }).type}); GPT-2's byte-level BPE has none, and tstorch does not apply one`);
    vocab = vocabMap(model.vocab, file('tokenizer.json'));
    merges = model.merges.map((m, i) => {
      const pair = typeof m === 'string' ? m.split(' ') : m;
      if (!Array.isArray(pair) || pair.length !== 2 || !pair.every((x) => typeof x === 'string' && x)) throw new Error(`tokenizer: ${file('tokenizer.json')}: merge ${i} is not a pair of tokens: ${JSON.stringify(m)}`);
      return pair as [string, string];
    });
  } else {
    throw new Error(`tokenizer: ${dir} has no tokenizer files (vocab.json and merges.txt, or tokenizer.json)`);
  }
  merges.forEach(([a, b], i) => {
    for (const t of [a, b, a + b]) if (!vocab.has(t)) throw new Error(`tokenizer: merge ${i} (${a} ${b}) uses '${t}', which the vocabulary lacks: vocab and merges do not belong together`);
  });

  const config = has('tokenizer_config.json') ? readJson(file('tokenizer_config.json')) : {};
  const specialMap = has('special_tokens_map.json') ? readJson(file('special_tokens_map.json')) : {};
  const added = new Map<string, number>(), special = new Set<string>();
  const add = (content: unknown, id: unknown, isSpecial: boolean, where: string) => {
    if (typeof content !== 'string') throw new Error(`tokenizer: ${where}: an added token without its text (content), got ${JSON.stringify(content) ?? 'nothing'}`);
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) throw new Error(`tokenizer: ${where}: added token ${JSON.stringify(content)} has id ${JSON.stringify(id)}, not an integer >= 0`);
    const inVocab = vocab.get(content);
    if (inVocab !== undefined && inVocab !== id) throw new Error(`tokenizer: ${where}: added token ${JSON.stringify(content)} has id ${id}, the vocabulary ${inVocab}`);
    added.set(content, id);
    if (isSpecial) special.add(content);
  };
  // (entries of the wrong shape, e.g. null, are refused by add, saying which file)
  type Entry = { id?: unknown; content?: unknown; special?: boolean } | null;
  const listed = tj?.added_tokens ?? [];
  if (!Array.isArray(listed)) throw new Error(`tokenizer: ${file('tokenizer.json')}: added_tokens must be a list`);
  for (const t of listed as Entry[]) add(t?.content, t?.id, t?.special ?? false, 'tokenizer.json');
  const decoder = config.added_tokens_decoder ?? {};
  if (!isJsonObject(decoder)) throw new Error(`tokenizer: ${file('tokenizer_config.json')}: added_tokens_decoder must be an object of tokens by id`);
  for (const [id, t] of Object.entries(decoder as Record<string, Entry>)) add(t?.content, /^\d+$/.test(id) ? Number(id) : id, t?.special ?? false, 'tokenizer_config.json');
  if (has('added_tokens.json')) for (const [content, id] of Object.entries(readJson(file('added_tokens.json')))) add(content, id as number, false, 'added_tokens.json');
  for (const key of ['bos_token', 'eos_token', 'unk_token', 'pad_token']) {
    const t = tokenContent(config[key]) ?? tokenContent(specialMap[key]);
    if (t !== undefined && (added.has(t) || vocab.has(t))) {
      special.add(t);
      if (!added.has(t)) added.set(t, vocab.get(t)!);
    }
  }
  const eosToken = tokenContent(config.eos_token) ?? tokenContent(specialMap.eos_token) ?? (vocab.has(EOS_TOKEN) ? EOS_TOKEN : undefined);
  if (eosToken === undefined) throw new Error(`tokenizer: ${dir} names no eos token (tokenizer_config.json eos_token) and has no ${EOS_TOKEN}: GPT-2 training and generation need one`);
  if (!vocab.has(eosToken) && !added.has(eosToken)) throw new Error(`tokenizer: ${dir}: the eos token ${JSON.stringify(eosToken)} is neither in the vocabulary nor an added token`);
  const pre = tj?.pre_tokenizer as { add_prefix_space?: boolean } | undefined;
  const addPrefixSpace = Boolean(config.add_prefix_space ?? pre?.add_prefix_space ?? false);
  const specialTokensMap: Record<string, string> = {};
  for (const key of ['bos_token', 'eos_token', 'unk_token', 'sep_token', 'pad_token', 'cls_token', 'mask_token']) {
    const t = tokenContent(config[key]) ?? tokenContent(specialMap[key]);
    if (t !== undefined) specialTokensMap[key] = t;
  }
  specialTokensMap.eos_token ??= eosToken;
  return { dir, vocab, merges, added, special, eosToken, addPrefixSpace, addBosToken: config.add_bos_token === true, chatTemplate: readChatTemplate(dir, config), specialTokensMap };
}

function vocabMap(obj: Record<string, unknown>, where: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const [token, id] of Object.entries(obj)) {
    if (!Number.isInteger(id) || (id as number) < 0) throw new Error(`tokenizer: ${where}: token ${JSON.stringify(token)} has id ${JSON.stringify(id)}, not an integer >= 0`);
    m.set(token, id as number);
  }
  if (!m.size) throw new Error(`tokenizer: ${where}: the vocabulary is empty`);
  return m;
}

/** sha-256 of a tokenizer's vocabulary (tokens by id) and merges, to recognise GPT-2's. */
export function tablesFingerprint(vocab: string[], merges: [string, string][]): string {
  const h = crypto.createHash('sha256');
  h.update(vocab.join('\n'));
  h.update('\n\n');
  h.update(merges.map(([a, b]) => `${a} ${b}`).join('\n'));
  return h.digest('hex');
}
/** tablesFingerprint(vocabAndMerges()): GPT-2's (test/tokenizer.test.ts recomputes it). */
export const GPT2_TABLES_FINGERPRINT = '51f122e868a6258b1686ffde419d8ae05b5b78e25de2db603ad95ac2c418872c';

function isGpt2Tables(t: TokenizerTables): boolean {
  if (t.vocab.size !== VOCAB_SIZE || t.merges.length !== VOCAB_SIZE - 257 || t.addPrefixSpace || t.eosToken !== EOS_TOKEN) return false;
  if ([...t.added].some(([c, id]) => c !== EOS_TOKEN || id !== EOS_TOKEN_ID)) return false;
  const byId: string[] = [];
  for (const [token, id] of t.vocab) byId[id] = token;
  return byId.length === VOCAB_SIZE && tablesFingerprint(byId, t.merges) === GPT2_TABLES_FINGERPRINT;
}

/**
 * Unicode's White_Space characters: the pre-tokenizer's \s as the `regex` module, tiktoken and HF's
 * tokenizers read it. JavaScript's \s lacks U+0085 (NEL) and has U+FEFF (the BOM, no space):
 * "a\u0085'll" is 'a', '\u0085', "'ll" for GPT-2, not 'a', "\u0085'", 'll'.
 */
const WHITE_SPACE = '\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
/** Text where JavaScript's \s and White_Space differ: gpt-tokenizer's pattern (JavaScript's) would split it otherwise than GPT-2. */
const NOT_JS_SPACES = /[\u0085\ufeff]/;
const SPACE_CHAR = new RegExp(`^[${WHITE_SPACE}]$`, 'u');
const isSpace = (c: string) => SPACE_CHAR.test(c);
/**
 * The last place in text (searched back to `from`) where the pre-tokenizer's pieces are the same
 * whether the text is encoded whole or cut there: after a newline between two non-space
 * characters, or before a space between two; 0 where there is none.
 */
function safeCut(text: string, from: number): number {
  for (let p = text.length - 2; p >= Math.max(2, from); p--) {
    const c = text[p];
    if (c === '\n' && !isSpace(text[p - 1]) && !isSpace(text[p + 1])) return p + 1;
    if (c === ' ' && !isSpace(text[p - 1]) && !isSpace(text[p + 1])) return p;
  }
  return 0;
}

/** A growing Int32Array of token ids (a corpus's ids: 4 bytes each, off the JavaScript heap). */
class IdBuffer {
  private buf: Int32Array;
  private n = 0;
  constructor(capacity: number) {
    this.buf = new Int32Array(capacity);
  }
  push(ids: ArrayLike<number>): void {
    if (this.n + ids.length > this.buf.length) {
      const grown = new Int32Array(Math.max(Math.ceil(1.5 * this.buf.length), this.n + ids.length));
      grown.set(this.buf.subarray(0, this.n));
      this.buf = grown;
    }
    this.buf.set(ids, this.n);
    this.n += ids.length;
  }
  /** the ids: a view where little is unused (no second copy of a corpus's ids at once), else a copy */
  ids(): Int32Array {
    return this.n >= 0.75 * this.buf.length ? this.buf.subarray(0, this.n) : this.buf.slice(0, this.n);
  }
}

// GPT-2's pre-tokenizer (encoder.py's pattern; HF's ByteLevel with use_regex): contractions, letter
// runs, digit runs, other symbols, each with one leading space; whitespace before a word stays apart.
// Its \s is Unicode's White_Space (WHITE_SPACE above), not JavaScript's.
const PRETOKENIZE = new RegExp(`'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^${WHITE_SPACE}\\p{L}\\p{N}]+|[${WHITE_SPACE}]+(?![^${WHITE_SPACE}])|[${WHITE_SPACE}]+`, 'gu');

/**
 * Byte-level BPE as Hugging Face's GPT2Tokenizer runs it: added tokens split out first (longest
 * first), add_prefix_space, the pre-tokenizer above, each piece's UTF-8 bytes as byte-level
 * characters, then merges by rank (every occurrence of the best pair, left to right) until none
 * applies. Decoding maps the characters back to bytes (invalid UTF-8 becomes U+FFFD, HF's
 * errors='replace'); added tokens decode as themselves.
 */
class ByteLevelBPE {
  readonly eosToken: string;
  readonly eosTokenId: number;
  readonly size: number;
  readonly added: Map<string, number>;
  readonly special: Set<string>;
  readonly addPrefixSpace: boolean;
  private readonly vocab: Map<string, number>;
  private readonly ranks = new Map<string, number>();
  private readonly merges: [string, string][];
  private readonly byId = new Map<number, string>();
  private readonly addedById = new Map<number, string>();
  private readonly addedPattern: RegExp | null;
  private readonly byteChar = bytesToUnicode();
  private readonly charByte = new Map<string, number>();
  private cache = new Map<string, number[]>();

  /** the tables it was built from (a tokenizer thread builds its own from them) */
  readonly source: TokenizerTables;

  constructor(t: TokenizerTables) {
    this.source = t;
    this.vocab = t.vocab;
    this.merges = t.merges;
    t.merges.forEach(([a, b], rank) => { if (!this.ranks.has(`${a} ${b}`)) this.ranks.set(`${a} ${b}`, rank); });
    for (const [token, id] of t.vocab) this.byId.set(id, token);
    for (const [content, id] of t.added) this.addedById.set(id, content);
    this.added = t.added;
    this.special = t.special;
    this.addPrefixSpace = t.addPrefixSpace;
    this.eosToken = t.eosToken;
    this.eosTokenId = t.added.get(t.eosToken) ?? t.vocab.get(t.eosToken)!;
    this.size = new Set([...t.vocab.values(), ...t.added.values()]).size;
    const contents = [...t.added.keys()].filter(Boolean).sort((a, b) => b.length - a.length);
    this.addedPattern = contents.length ? new RegExp(contents.map((c) => c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g') : null;
    this.byteChar.forEach((c, b) => this.charByte.set(c, b));
    for (const c of this.byteChar) {
      if (!t.vocab.has(c)) throw new Error(`tokenizer: ${t.dir}: the vocabulary lacks the byte-level character ${JSON.stringify(c)}: not a byte-level BPE (GPT-2's kind)`);
    }
  }

  /** how many bytes of text a token stands for (a vocabulary token's byte-level characters are one byte each) */
  byteLength(id: number): number {
    const added = this.addedById.get(id);
    if (added !== undefined) return Buffer.byteLength(added);
    const token = this.byId.get(id);
    if (token === undefined) throw new Error(`tokenizer: id ${id} is not in the vocabulary (${this.size} ids)`);
    return token.length;
  }

  /** a token's id (an added token's, else the vocabulary's) */
  idOf(token: string): number | undefined {
    return this.added.get(token) ?? this.vocab.get(token);
  }

  /** vocab by id and merges by rank, for savePretrained */
  tables(): { vocab: string[]; merges: [string, string][] } {
    const vocab: string[] = [];
    for (const [token, id] of this.vocab) vocab[id] = token;
    return { vocab, merges: this.merges };
  }

  /** continued: the text goes on from an earlier chunk (no prefix space: it is not the start) */
  encode(text: string, opts: { continued?: boolean } = {}): number[] {
    if (this.addPrefixSpace && !opts.continued && text.length > 0 && !/^\s/.test(text)) text = ' ' + text;
    const ids: number[] = [];
    if (!this.addedPattern) {
      this.encodeOrdinary(text, ids);
      return ids;
    }
    let last = 0;
    for (const m of text.matchAll(this.addedPattern)) {
      this.encodeOrdinary(text.slice(last, m.index), ids);
      ids.push(this.added.get(m[0])!);
      last = m.index! + m[0].length;
    }
    this.encodeOrdinary(text.slice(last), ids);
    return ids;
  }

  private encodeOrdinary(text: string, out: number[]): void {
    if (!text) return;
    const enc = new TextEncoder();
    for (const [piece] of text.matchAll(PRETOKENIZE)) {
      let ids = this.cache.get(piece);
      if (!ids) {
        let word = '';
        for (const b of enc.encode(piece)) word += this.byteChar[b];
        ids = this.bpe(word).map((t) => this.vocab.get(t)!);
        if (this.cache.size > 100_000) this.cache = new Map(); // (a bound: a long corpus has many rare words)
        this.cache.set(piece, ids);
      }
      for (const id of ids) out.push(id);
    }
  }

  /** A word's tokens: its characters merged by rank, the best pair everywhere at once, until none applies. */
  private bpe(word: string): string[] {
    let parts = Array.from(word);
    while (parts.length > 1) {
      let best = -1, bestRank = Infinity;
      for (let i = 0; i + 1 < parts.length; i++) {
        const r = this.ranks.get(`${parts[i]} ${parts[i + 1]}`);
        if (r !== undefined && r < bestRank) { bestRank = r; best = i; }
      }
      if (best < 0) break;
      const [a, b] = [parts[best], parts[best + 1]];
      const merged: string[] = [];
      for (let i = 0; i < parts.length;) {
        if (i + 1 < parts.length && parts[i] === a && parts[i + 1] === b) { merged.push(a + b); i += 2; } else { merged.push(parts[i]); i += 1; }
      }
      parts = merged;
    }
    return parts;
  }

  decode(ids: number[]): string {
    return decodeBytes(ids, (id) => this.addedById.get(id), (id) => this.vocabBytes(id));
  }

  /** a token's bytes of text (an added token's text in UTF-8) */
  tokenBytes(id: number): Uint8Array {
    const added = this.addedById.get(id);
    return added !== undefined ? Buffer.from(added, 'utf8') : Uint8Array.from(this.vocabBytes(id));
  }

  private vocabBytes(id: number): number[] {
    const token = this.byId.get(id);
    if (token === undefined) throw new Error(`tokenizer: id ${id} is not in the vocabulary (${this.size} ids)`);
    return Array.from(token, (c) => this.charByte.get(c) ?? 0x3f);
  }
}

export const tokenizer = new GPT2Tokenizer();

let gpt2BpeCache: ByteLevelBPE | null = null;
/** GPT-2's own tables as a ByteLevelBPE (built once, on first need: the text gpt-tokenizer's pattern splits otherwise). */
function gpt2Bpe(): ByteLevelBPE {
  if (gpt2BpeCache) return gpt2BpeCache;
  const { vocab, merges } = vocabAndMerges();
  return (gpt2BpeCache = new ByteLevelBPE({
    dir: 'GPT-2', vocab: new Map(vocab.map((t, id) => [t, id])), merges, added: new Map([[EOS_TOKEN, EOS_TOKEN_ID]]), special: new Set([EOS_TOKEN]),
    eosToken: EOS_TOKEN, addPrefixSpace: false, addBosToken: false, chatTemplate: null, specialTokensMap: { eos_token: EOS_TOKEN },
  }));
}

/** About how much text (characters) encodeEach hands a worker thread at once: few messages, small ones. */
const BATCH_CHARS = 1 << 18;

/** An encodeChunks chunk's ids, by a BPE or GPT-2's own (null); continued: it goes on from an earlier chunk (no prefix space). */
function encodeChunk(bpe: ByteLevelBPE | null, text: string, continued: boolean): number[] {
  return bpe ? bpe.encode(text, { continued }) : tokenizer.encode(text);
}

/** A tokenizer thread's encoder of encodeChunks' chunks: from a BPE's tables, or GPT-2's own (null). */
export function chunkEncoder(tables: TokenizerTables | null): (text: string, continued: boolean) => number[] {
  const bpe = tables ? new ByteLevelBPE(tables) : null;
  return (text, continued) => encodeChunk(bpe, text, continued);
}

/** Whether a folder holds a tokenizer of its own (vocab.json and merges.txt, or tokenizer.json). */
export function hasTokenizerFiles(dir: string | null): boolean {
  const has = (f: string) => dir !== null && fs.existsSync(path.join(dir, f));
  return (has('vocab.json') && has('merges.txt')) || has('tokenizer.json');
}

/** A model folder's tokenizer when it has one, else GPT-2's (a folder of weights alone, as tests make). */
export function tokenizerFor(dir: string): GPT2Tokenizer {
  if (hasTokenizerFiles(dir)) return GPT2Tokenizer.fromFiles(dir);
  // (a PEFT adapter folder without tokenizer files of its own: its base model's)
  const base = adapterBaseModel(dir);
  return base !== undefined ? tokenizerFor(resolvePretrained(base)) : tokenizer;
}

/**
 * Puts tokenizer files into an output folder: the base model folder's own (as the notebook's
 * tokenizer.save_pretrained(output_dir) of the tokenizer loaded from it), or, where it has none,
 * GPT-2's written by GPT2Tokenizer.savePretrained.
 */
export function saveTokenizerFiles(baseDir: string | null, outDir: string, opts: { modelMaxLength?: number; chatTemplate?: ChatTemplates; eosToken?: string; padToken?: string } = {}): void {
  const has = (f: string) => baseDir !== null && fs.existsSync(path.join(baseDir, f));
  if (!hasTokenizerFiles(baseDir)) {
    for (const t of [opts.eosToken, opts.padToken]) if (t !== undefined && t !== EOS_TOKEN) throw new Error(`saveTokenizerFiles: GPT-2's own tokenizer has no ${t}`);
    tokenizer.withChatTemplate(opts.chatTemplate ?? null).savePretrained(outDir, opts);
  } else {
    if (path.resolve(baseDir!) !== path.resolve(outDir)) {
      for (const f of TOKENIZER_FILES.filter(has)) writeFileAtomic(path.join(outDir, f), fs.readFileSync(path.join(baseDir!, f)));
    }
    if (opts.chatTemplate !== undefined) setChatTemplate(outDir, opts.chatTemplate);
    if (opts.eosToken !== undefined) setSpecialToken(outDir, 'eos_token', opts.eosToken);
  }
  // (TRL's trainers set tokenizer.pad_token, the eos for GPT-2, and save it so)
  if (opts.padToken !== undefined) setSpecialToken(outDir, 'pad_token', opts.padToken);
}

/** Names a special token (another eos, a pad token) in a folder's tokenizer_config.json and special_tokens_map.json, as save_pretrained writes tokenizer.eos_token = ... */
function setSpecialToken(dir: string, key: 'eos_token' | 'pad_token', token: string): void {
  for (const name of ['tokenizer_config.json', 'special_tokens_map.json']) {
    const file = path.join(dir, name);
    if (!fs.existsSync(file) && name === 'special_tokens_map.json') continue;
    const config = fs.existsSync(file) ? readJson(file) : {};
    if (tokenContent(config[key]) === token) continue;
    writeFileAtomic(file, JSON.stringify({ ...config, [key]: token }, null, 2) + '\n');
  }
}

/** Gives a folder's tokenizer files a chat template (the one a run trained with), as save_pretrained would write it. */
function setChatTemplate(dir: string, template: ChatTemplates): void {
  const configFile = path.join(dir, 'tokenizer_config.json');
  const config = fs.existsSync(configFile) ? readJson(configFile) : {};
  writeFileAtomic(configFile, JSON.stringify({ ...config, chat_template: chatTemplateJson(template) }, null, 2) + '\n');
  const jinja = path.join(dir, 'chat_template.jinja');
  if (typeof template === 'string') writeFileAtomic(jinja, template);
  else if (fs.existsSync(jinja)) fs.rmSync(jinja); // (it would win over the named ones)
}

/**
 * GPT-2's byte-to-unicode map (OpenAI's and HF's bytes_to_unicode): each byte as one printable
 * character, the printable ones as themselves, the rest as 256 onwards (space is 'Ġ').
 */
function bytesToUnicode(): string[] {
  const printable = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  const out: string[] = [];
  let next = 256;
  for (let b = 0; b < 256; b++) out.push(String.fromCodePoint(printable(b) ? b : next++));
  return out;
}

let vocabCache: { vocab: string[]; merges: [string, string][] } | null = null;
/**
 * The vocabulary (token string by id, in the files' byte-level characters) and the merges by
 * rank. gpt-tokenizer stores only each token's bytes by rank (tiktoken's form); a token's merge
 * is found as tiktoken's converters do: BPE its bytes with the lower-ranked tokens only, which
 * ends in exactly the two parts it was made of. For GPT-2, token 256 + i is merge i.
 */
export function vocabAndMerges(): { vocab: string[]; merges: [string, string][] } {
  if (vocabCache) return vocabCache;
  const ranks = r50kRanks();
  const enc = new TextEncoder();
  const bytesOf = ranks.map((t) => (typeof t === 'string' ? enc.encode(t) : Uint8Array.from(t)));
  // (each token's bytes as a latin1 string: one character a byte, so joining strings joins bytes)
  const keys = bytesOf.map((b) => Buffer.from(b).toString('latin1'));
  const rankOf = new Map<string, number>(keys.map((k, r) => [k, r]));
  const byteChar = bytesToUnicode();
  const vocab = bytesOf.map((b) => Array.from(b, (x) => byteChar[x]).join(''));
  vocab.push(EOS_TOKEN);
  const merges: [string, string][] = [];
  for (let r = 256; r < keys.length; r++) {
    let parts = Array.from(keys[r]);
    for (;;) {
      let best = -1, bestRank = r;
      for (let i = 0; i + 1 < parts.length; i++) {
        const pr = rankOf.get(parts[i] + parts[i + 1]);
        if (pr !== undefined && pr < bestRank) { bestRank = pr; best = i; }
      }
      if (best < 0) break;
      parts.splice(best, 2, parts[best] + parts[best + 1]);
    }
    if (parts.length !== 2) throw new Error(`tokenizer: token ${r} is not one merge of two lower-ranked tokens`);
    merges.push([vocab[rankOf.get(parts[0])!], vocab[rankOf.get(parts[1])!]]);
  }
  return (vocabCache = { vocab, merges });
}
