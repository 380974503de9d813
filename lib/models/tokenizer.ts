// GPT-2's byte-level BPE (r50k_base, the same merges as Hugging Face's GPT2Tokenizer), offline,
// from the gpt-tokenizer package; and Hugging Face's tokenizer files (vocab.json, merges.txt, ...)
// made from the same tables, so that an output folder loads with AutoTokenizer as it is.
import * as fs from 'fs';
import * as path from 'path';
import { writeFileAtomic } from '../io/atomic';

interface R50k {
  encode(text: string, opts?: { allowedSpecial?: Set<string> }): number[];
  decode(tokens: number[]): string;
}
// Loaded on first use: the BPE tables are large, and most tensor code never needs them.
let r50kCache: R50k | null = null;
function r50k(): R50k {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (r50kCache ??= require('gpt-tokenizer/encoding/r50k_base') as R50k);
}

export const EOS_TOKEN = '<|endoftext|>';
export const EOS_TOKEN_ID = 50256;
export const VOCAB_SIZE = 50257;
const allowed = new Set([EOS_TOKEN]);

/** The tokenizer files Hugging Face reads from a model folder (GPT2Tokenizer's, and the fast one's). */
export const TOKENIZER_FILES = ['vocab.json', 'merges.txt', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'added_tokens.json'];

export class GPT2Tokenizer {
  readonly eosTokenId = EOS_TOKEN_ID;
  readonly vocabSize = VOCAB_SIZE;
  /** Text to token ids, no special tokens added ("<|endoftext|>" in the text is that token, as in HF). */
  encode(text: string): number[] {
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
  decode(ids: number[]): string {
    return r50k().decode(ids);
  }

  /**
   * Writes what Hugging Face's GPT2Tokenizer.save_pretrained writes (vocab.json, merges.txt,
   * tokenizer_config.json, special_tokens_map.json), each file whole or not at all.
   * modelMaxLength is the model's n_positions (1024 for GPT-2).
   */
  savePretrained(dir: string, opts: { modelMaxLength?: number } = {}): void {
    fs.mkdirSync(dir, { recursive: true });
    const { vocab, merges } = vocabAndMerges();
    // In id order (a JS object would put the digit-only tokens first).
    writeFileAtomic(path.join(dir, 'vocab.json'), `{${vocab.map((token, id) => `${JSON.stringify(token)}: ${id}`).join(', ')}}`);
    writeFileAtomic(path.join(dir, 'merges.txt'), ['#version: 0.2', ...merges.map(([a, b]) => `${a} ${b}`)].join('\n') + '\n');
    const special = { bos_token: EOS_TOKEN, eos_token: EOS_TOKEN, unk_token: EOS_TOKEN };
    writeFileAtomic(path.join(dir, 'special_tokens_map.json'), JSON.stringify(special, null, 2) + '\n');
    writeFileAtomic(path.join(dir, 'tokenizer_config.json'), JSON.stringify({
      add_bos_token: false, add_prefix_space: false,
      added_tokens_decoder: { [EOS_TOKEN_ID]: { content: EOS_TOKEN, lstrip: false, normalized: true, rstrip: false, single_word: false, special: true } },
      ...special, clean_up_tokenization_spaces: false, errors: 'replace', model_max_length: opts.modelMaxLength ?? 1024,
      pad_token: null, tokenizer_class: 'GPT2Tokenizer',
    }, null, 2) + '\n');
  }
}

export const tokenizer = new GPT2Tokenizer();

/**
 * Puts tokenizer files into an output folder: the base model folder's own (as the notebook's
 * tokenizer.save_pretrained(output_dir) of the tokenizer loaded from it), or, where it has none,
 * GPT-2's written by GPT2Tokenizer.savePretrained.
 */
export function saveTokenizerFiles(baseDir: string | null, outDir: string, opts: { modelMaxLength?: number } = {}): void {
  const has = (f: string) => baseDir !== null && fs.existsSync(path.join(baseDir, f));
  if (!has('vocab.json') || !has('merges.txt')) return tokenizer.savePretrained(outDir, opts);
  if (path.resolve(baseDir!) === path.resolve(outDir)) return;
  for (const f of TOKENIZER_FILES.filter(has)) writeFileAtomic(path.join(outDir, f), fs.readFileSync(path.join(baseDir!, f)));
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
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ranks = (require('gpt-tokenizer/bpeRanks/r50k_base') as { default: (string | number[])[] }).default;
  const enc = new TextEncoder();
  const bytesOf = ranks.map((t) => (typeof t === 'string' ? enc.encode(t) : Uint8Array.from(t)));
  const key = (b: Uint8Array) => Buffer.from(b).toString('latin1');
  const rankOf = new Map<string, number>(bytesOf.map((b, r) => [key(b), r]));
  const byteChar = bytesToUnicode();
  const vocab = bytesOf.map((b) => Array.from(b, (x) => byteChar[x]).join(''));
  vocab.push(EOS_TOKEN);
  const merges: [string, string][] = [];
  for (let r = 256; r < bytesOf.length; r++) {
    let parts: Uint8Array[] = Array.from(bytesOf[r], (x) => Uint8Array.of(x));
    for (;;) {
      let best = -1, bestRank = r;
      for (let i = 0; i + 1 < parts.length; i++) {
        const pr = rankOf.get(key(concat(parts[i], parts[i + 1])));
        if (pr !== undefined && pr < bestRank) { bestRank = pr; best = i; }
      }
      if (best < 0) break;
      parts = [...parts.slice(0, best), concat(parts[best], parts[best + 1]), ...parts.slice(best + 2)];
    }
    if (parts.length !== 2) throw new Error(`tokenizer: token ${r} is not one merge of two lower-ranked tokens`);
    merges.push([vocab[rankOf.get(key(parts[0]))!], vocab[rankOf.get(key(parts[1]))!]]);
  }
  return (vocabCache = { vocab, merges });
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
