// Generation held to JSON (OpenAI's response_format {"type": "json_object"}, as vLLM serves it):
// at each step only the tokens that keep the reply the start of a JSON object are allowed, and the
// end token only once the object is closed. "The start of a JSON object" is RFC 8259's grammar
// read byte by byte (strings in UTF-8, no control characters, escapes as JSON has them; numbers
// without leading zeros; whitespace between the parts, none before the object or after it), with
// one limit of its own: a run of whitespace holds one line break and up to 64 bytes.
// A token's bytes are fed through a small pushdown machine; the vocabulary is walked as a trie,
// so tokens that share a start share its steps, and what a state allows is remembered.
import type { GPT2Tokenizer } from './tokenizer';

/** Where in the JSON the reply is. Containers are a linked stack, so a state is never changed, only followed. */
interface State {
  mode: Mode;
  /** the open objects and arrays, innermost first */
  stack: Stack | null;
  /**
   * String: UTF-8 continuation bytes still to come; Unicode: hex digits still to come; Literal:
   * letters of `literal` already matched; between parts: the whitespace run so far (bytes x 2, + 1
   * once it has a line break)
   */
  aux: number;
  /** the string is an object's key */
  key: boolean;
  literal?: string;
  /** String with continuation bytes to come: the next one's range (UTF-8 allows less after E0, ED, F0 and F4) */
  lo?: number;
  hi?: number;
}
interface Stack { open: '{' | '['; up: Stack | null }

const enum Mode {
  Start, // nothing yet: the object's '{'
  Value, // a value (after ':' or ',' in an array)
  ValueOrClose, // after '[': a value or ']'
  KeyOrClose, // after '{': a key or '}'
  Key, // after ',' in an object: a key
  Colon, // after a key: ':'
  String, // inside a string (aux: UTF-8 continuation bytes still to come)
  Escape, // after a backslash
  Unicode, // \u and aux hex digits to come
  Literal, // true / false / null, aux letters to come of `literal`
  Minus, Zero, Int, Dot, Frac, Exp, ExpSign, ExpInt, // a number: after '-', '0', other digits, '.', fraction digits, 'e', its sign, its digits
  After, // after a value inside a container: ',' or the container's close
  Done, // the object is closed: only the end
}

const isSpace = (b: number) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
// A run of whitespace between parts holds one line break and up to 64 bytes (an indented line):
// a small model held to JSON otherwise writes newlines until max_tokens runs out.
const MAX_SPACE_RUN = 64;
const isDigit = (b: number) => b >= 0x30 && b <= 0x39;
const isHex = (b: number) => isDigit(b) || (b >= 0x61 && b <= 0x66) || (b >= 0x41 && b <= 0x46);
const ESCAPES = new Set([...'"\\/bfnrtu'].map((c) => c.charCodeAt(0)));
const LITERALS: Record<number, string> = { 0x74: 'rue', 0x66: 'alse', 0x6e: 'ull' };

const at = (mode: Mode, stack: Stack | null, aux = 0, key = false, literal?: string): State => ({ mode, stack, aux, key, literal });
/** Inside a string, `count` continuation bytes to come, the next in lo..hi. */
const continuing = (s: State, count: number, lo = 0x80, hi = 0xbf): State => ({ mode: Mode.String, stack: s.stack, aux: count, key: s.key, lo, hi });

/** State s with whitespace byte b added to its run, or null where the run would be too long. */
function space(s: State, b: number): State | null {
  const bytes = s.aux >> 1, lineBreak = s.aux & 1;
  if (bytes >= MAX_SPACE_RUN || (b === 0x0a && lineBreak)) return null;
  return { ...s, aux: ((bytes + 1) << 1) | (b === 0x0a ? 1 : lineBreak) };
}

/** After a value ends: the next part of its container, or the end of the whole object. */
function afterValue(stack: Stack | null): State {
  return stack ? at(Mode.After, stack) : at(Mode.Done, null);
}

/** The start of a value at byte b, or null where b cannot start one. */
function valueStart(b: number, stack: Stack | null): State | null {
  if (b === 0x7b) return at(Mode.KeyOrClose, { open: '{', up: stack });
  if (b === 0x5b) return at(Mode.ValueOrClose, { open: '[', up: stack });
  if (b === 0x22) return at(Mode.String, stack, 0, false);
  if (b === 0x2d) return at(Mode.Minus, stack);
  if (b === 0x30) return at(Mode.Zero, stack);
  if (isDigit(b)) return at(Mode.Int, stack);
  const literal = LITERALS[b];
  return literal ? at(Mode.Literal, stack, 0, false, literal) : null;
}

/** Closes the innermost container with b (']' or '}'), or null where b does not close it. */
function close(b: number, stack: Stack | null): State | null {
  if (!stack || b !== (stack.open === '{' ? 0x7d : 0x5d)) return null;
  return afterValue(stack.up);
}

/** The state after byte b, or null where b cannot come next. */
function step(s: State, b: number): State | null {
  switch (s.mode) {
    case Mode.Start: return b === 0x7b ? at(Mode.KeyOrClose, { open: '{', up: null }) : null;
    case Mode.Value: return isSpace(b) ? space(s, b) : valueStart(b, s.stack);
    case Mode.ValueOrClose: return isSpace(b) ? space(s, b) : b === 0x5d ? close(b, s.stack) : valueStart(b, s.stack);
    case Mode.KeyOrClose: return isSpace(b) ? space(s, b) : b === 0x7d ? close(b, s.stack) : b === 0x22 ? at(Mode.String, s.stack, 0, true) : null;
    case Mode.Key: return isSpace(b) ? space(s, b) : b === 0x22 ? at(Mode.String, s.stack, 0, true) : null;
    case Mode.Colon: return isSpace(b) ? space(s, b) : b === 0x3a ? at(Mode.Value, s.stack) : null;
    case Mode.String:
      if (s.aux > 0) return b >= s.lo! && b <= s.hi! ? (s.aux > 1 ? continuing(s, s.aux - 1) : at(Mode.String, s.stack, 0, s.key)) : null;
      if (b === 0x22) return s.key ? at(Mode.Colon, s.stack) : afterValue(s.stack);
      if (b === 0x5c) return at(Mode.Escape, s.stack, 0, s.key);
      if (b < 0x20) return null; // (a control character must be escaped)
      if (b < 0x80) return s;
      // (a UTF-8 lead byte and the continuation bytes after it, as a strict decoder takes them: no
      // overlong forms, no surrogates, nothing past U+10FFFF; C0, C1 and F5.. never lead)
      if (b >= 0xc2 && b <= 0xdf) return continuing(s, 1);
      if (b === 0xe0) return continuing(s, 2, 0xa0);
      if (b === 0xed) return continuing(s, 2, 0x80, 0x9f);
      if (b >= 0xe1 && b <= 0xef) return continuing(s, 2);
      if (b === 0xf0) return continuing(s, 3, 0x90);
      if (b === 0xf4) return continuing(s, 3, 0x80, 0x8f);
      if (b >= 0xf1 && b <= 0xf3) return continuing(s, 3);
      return null;
    case Mode.Escape:
      if (!ESCAPES.has(b)) return null;
      return b === 0x75 ? at(Mode.Unicode, s.stack, 4, s.key) : at(Mode.String, s.stack, 0, s.key);
    case Mode.Unicode:
      if (!isHex(b)) return null;
      return s.aux > 1 ? at(Mode.Unicode, s.stack, s.aux - 1, s.key) : at(Mode.String, s.stack, 0, s.key);
    case Mode.Literal: {
      if (b !== s.literal!.charCodeAt(s.aux)) return null;
      return s.aux + 1 < s.literal!.length ? at(Mode.Literal, s.stack, s.aux + 1, false, s.literal) : afterValue(s.stack);
    }
    case Mode.Minus: return b === 0x30 ? at(Mode.Zero, s.stack) : isDigit(b) ? at(Mode.Int, s.stack) : null;
    case Mode.Dot: return isDigit(b) ? at(Mode.Frac, s.stack) : null;
    case Mode.Exp: return b === 0x2b || b === 0x2d ? at(Mode.ExpSign, s.stack) : isDigit(b) ? at(Mode.ExpInt, s.stack) : null;
    case Mode.ExpSign: return isDigit(b) ? at(Mode.ExpInt, s.stack) : null;
    case Mode.Zero: case Mode.Int: case Mode.Frac: case Mode.ExpInt: {
      if (isDigit(b) && s.mode !== Mode.Zero) return s;
      if (b === 0x2e && (s.mode === Mode.Zero || s.mode === Mode.Int)) return at(Mode.Dot, s.stack);
      if ((b === 0x65 || b === 0x45) && s.mode !== Mode.ExpInt) return at(Mode.Exp, s.stack);
      // (a number ends where something else begins: its container's next part)
      return s.stack ? step(at(Mode.After, s.stack), b) : null;
    }
    case Mode.After:
      if (isSpace(b)) return space(s, b);
      if (b === 0x2c) return s.stack!.open === '{' ? at(Mode.Key, s.stack) : at(Mode.Value, s.stack);
      return close(b, s.stack);
    case Mode.Done: return null;
  }
}

/**
 * How far `bytes` go as the start of a JSON object: 'done' where they are a whole one, 'open'
 * where more may follow, or the index of the first byte that cannot come.
 */
export function readJsonObject(bytes: Iterable<number>): 'done' | 'open' | number {
  let s: State | null = at(Mode.Start, null), i = 0;
  for (const b of bytes) {
    s = step(s, b);
    if (!s) return i;
    i++;
  }
  return s.mode === Mode.Done ? 'done' : 'open';
}

/** The vocabulary as a trie of its tokens' bytes (special tokens left out: they are not text). */
interface TrieNode { next: Map<number, TrieNode>; ids: number[] }

/** A tokenizer's trie (by the model's vocabulary size) and what each state it met allows, kept with the tokenizer. */
const tries = new WeakMap<GPT2Tokenizer, Map<number, { root: TrieNode; allowed: Map<string, number[]> }>>();

function trieOf(tokenizer: GPT2Tokenizer, vocabSize: number) {
  if (!tries.has(tokenizer)) tries.set(tokenizer, new Map());
  const bySize = tries.get(tokenizer)!;
  let t = bySize.get(vocabSize);
  if (!t) {
    const root: TrieNode = { next: new Map(), ids: [] };
    const special = tokenizer.specialIds;
    for (let id = 0; id < Math.min(vocabSize, tokenizer.vocabSize); id++) {
      if (special.has(id)) continue;
      let node = root;
      for (const b of tokenizer.tokenBytes(id)) {
        let child = node.next.get(b);
        if (!child) node.next.set(b, (child = { next: new Map(), ids: [] }));
        node = child;
      }
      if (node !== root) node.ids.push(id);
    }
    bySize.set(vocabSize, (t = { root, allowed: new Map() }));
  }
  return t;
}

/** A state as a key: what decides every later step (the whole stack, as a token may close several containers). */
function keyOf(s: State): string {
  let stack = '';
  for (let c = s.stack; c; c = c.up) stack += c.open;
  return `${s.mode},${s.aux},${s.key ? 1 : 0},${s.literal ?? ''},${s.lo ?? ''},${s.hi ?? ''},${stack}`;
}

/** The text tokens allowed after state s: those whose bytes all step on from it. */
function allowedFrom(root: TrieNode, s: State): number[] {
  const out: number[] = [];
  const walk = (node: TrieNode, state: State) => {
    for (const [b, child] of node.next) {
      const nextState = step(state, b);
      if (!nextState) continue;
      for (const id of child.ids) out.push(id);
      if (child.next.size) walk(child, nextState);
    }
  };
  walk(root, s);
  return out.sort((a, b) => a - b);
}

/**
 * A constraint that holds a reply to a JSON object: given the reply's tokens so far, the token ids
 * that may come next (the end tokens only once the object is closed). Throws where the reply so
 * far is not the start of one (it was not made under this constraint).
 */
export function jsonObjectConstraint(tokenizer: GPT2Tokenizer, vocabSize: number, endTokens: number[]): (reply: number[]) => number[] {
  const trie = trieOf(tokenizer, vocabSize);
  return (reply) => {
    // (a row that has ended is padded with an end token while the others go on: it stays ended)
    if (reply.some((id) => endTokens.includes(id))) return endTokens;
    let s: State | null = at(Mode.Start, null);
    for (const id of reply) {
      for (const b of tokenizer.tokenBytes(id)) {
        s = step(s, b);
        if (!s) throw new Error('the reply so far is not the start of a JSON object');
      }
    }
    if (s.mode === Mode.Done) return endTokens;
    const key = keyOf(s);
    let allowed = trie.allowed.get(key);
    if (!allowed) {
      if (trie.allowed.size > 10_000) trie.allowed.clear(); // (a bound: deep or unusual states are many)
      trie.allowed.set(key, (allowed = allowedFrom(trie.root, s)));
    }
    return allowed;
  };
}
