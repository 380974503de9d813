// GPT-2's byte-level BPE (r50k_base, the same merges as Hugging Face's GPT2Tokenizer), offline,
// from the gpt-tokenizer package.
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

export class GPT2Tokenizer {
  readonly eosTokenId = EOS_TOKEN_ID;
  readonly vocabSize = VOCAB_SIZE;
  /** Text to token ids, no special tokens added ("<|endoftext|>" in the text is that token, as in HF). */
  encode(text: string): number[] {
    return r50k().encode(text, { allowedSpecial: allowed });
  }
  decode(ids: number[]): string {
    return r50k().decode(ids);
  }
}

export const tokenizer = new GPT2Tokenizer();
