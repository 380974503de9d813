// Generation held to a language read byte by byte (JSON, a regular expression, a list of choices):
// at each step only the tokens whose bytes keep the reply the start of something the language
// accepts, and the end tokens where the reply so far is a whole one. The vocabulary is walked as a
// trie, so tokens that share a start share its steps, and what each state allows is kept with the
// tokenizer (a client holds request after request to the same language).
import type { GPT2Tokenizer } from './tokenizer';

/**
 * A language as a machine over the reply's bytes. States are immutable; `key` says everything that
 * decides a state's later steps, and differs between machines (what a state allows is kept by it).
 */
export interface ByteMachine<S> {
  /** The states before the first byte. */
  start(): S[];
  /** The states after byte b (none: b cannot come next). */
  feed(s: S, b: number): S[];
  key(s: S): string;
  /** Whether the reply may end in this state. */
  accepts(s: S): boolean;
  /**
   * Optional: whether every printable ASCII byte but '"' and '\\' leaves this state as it is (the
   * inside of a JSON string): its walk then takes the tokens made of those bytes alone at once.
   */
  absorbsPlainText?(s: S): boolean;
}

/** The states after `bytes` from the machine's start; where none are left, the index of the byte that could not come. */
export function statesAfter<S>(m: ByteMachine<S>, bytes: ArrayLike<number>): { states: S[]; deadAt?: number } {
  let states = m.start();
  for (let i = 0; i < bytes.length; i++) {
    states = step(m, states, bytes[i]);
    if (!states.length) return { states, deadAt: i };
  }
  return { states };
}

function step<S>(m: ByteMachine<S>, states: S[], b: number): S[] {
  const next = states.length === 1 ? m.feed(states[0], b) : states.flatMap((s) => m.feed(s, b));
  if (next.length < 2) return next;
  const seen = new Map<string, S>();
  for (const s of next) seen.set(m.key(s), s);
  return [...seen.values()];
}

/**
 * How far `bytes` go as the start of a reply the machine accepts: 'done' where they are a whole
 * one, 'open' where more may follow, or the index of the first byte that cannot come.
 */
export function readPrefix<S>(m: ByteMachine<S>, bytes: ArrayLike<number>): 'done' | 'open' | number {
  const { states, deadAt } = statesAfter(m, bytes);
  if (deadAt !== undefined) return deadAt;
  return states.some((s) => m.accepts(s)) ? 'done' : 'open';
}

/** The vocabulary as a trie of its tokens' bytes (special tokens left out: they are not text). */
interface TrieNode { ids: number[]; bytes: number[]; kids: TrieNode[] } // (kids[k]: the child by byte bytes[k])

/**
 * A tokenizer's trie (by the model's vocabulary size) and what each state it met allows, kept with
 * the tokenizer. plainIds: the tokens of plain text alone (printable ASCII but '"' and '\\');
 * rest: a trie of the others.
 */
interface Trie { root: TrieNode; plainIds: number[]; rest: TrieNode; allowed: Map<string, number[]>; kept: number; every: number[] }
const tries = new WeakMap<GPT2Tokenizer, Map<number, Trie>>();
const isPlain = (b: number) => b >= 0x20 && b <= 0x7f && b !== 0x22 && b !== 0x5c;
// (what the states allow is kept up to this many ids in all, about 32 MB: inside a string nearly every token is allowed)
const MAX_KEPT_IDS = 4_000_000;

function trieOf(tokenizer: GPT2Tokenizer, vocabSize: number) {
  if (!tries.has(tokenizer)) tries.set(tokenizer, new Map());
  const bySize = tries.get(tokenizer)!;
  let t = bySize.get(vocabSize);
  if (!t) {
    // (children found by byte through maps while it is built; kept as lists, which a walk goes through faster)
    const byByte = new Map<TrieNode, Map<number, TrieNode>>();
    const node = (): TrieNode => ({ ids: [], bytes: [], kids: [] });
    const root = node(), rest = node();
    const plainIds: number[] = [];
    const add = (into: TrieNode, id: number, bytes: Uint8Array) => {
      let at = into;
      for (const b of bytes) {
        let children = byByte.get(at);
        if (!children) byByte.set(at, (children = new Map()));
        let child = children.get(b);
        if (!child) {
          children.set(b, (child = node()));
          at.bytes.push(b);
          at.kids.push(child);
        }
        at = child;
      }
      at.ids.push(id);
    };
    const special = tokenizer.specialIds;
    for (let id = 0; id < Math.min(vocabSize, tokenizer.vocabSize); id++) {
      const bytes = tokenizer.tokenBytes(id);
      if (special.has(id) || !bytes.length) continue;
      add(root, id, bytes);
      if (bytes.every(isPlain)) plainIds.push(id);
      else add(rest, id, bytes);
    }
    bySize.set(vocabSize, (t = { root, plainIds, rest, allowed: new Map(), kept: 0, every: Array.from({ length: vocabSize }, (_, id) => id) }));
  }
  return t;
}

/** The text tokens allowed after state s: those whose bytes all step on from it. */
function allowedFrom<S>(m: ByteMachine<S>, trie: Trie, s: S): number[] {
  // (where plain text leaves the state as it is, its tokens are all allowed: only the others are walked)
  const plain = m.absorbsPlainText?.(s) ?? false;
  const out: number[] = plain ? [...trie.plainIds] : [];
  const walk = (at: TrieNode, states: S[]) => {
    for (let k = 0; k < at.kids.length; k++) {
      const b = at.bytes[k], child = at.kids[k];
      const next = step(m, states, b);
      if (!next.length) continue;
      for (const id of child.ids) out.push(id);
      if (child.kids.length) walk(child, next);
    }
  };
  walk(plain ? trie.rest : trie.root, [s]);
  return out;
}

/**
 * A constraint that holds a reply to the machine's language: given the reply's tokens so far, the
 * token ids that may come next (the end tokens among them where the reply may end). `after`: the
 * hold starts once the reply has written this text (a reasoning's end tag, as vLLM holds a
 * reasoning model's answer and not its thinking); before it, any token. `what` names the language
 * in the error thrown where the reply so far cannot begin it (it was not made under this constraint).
 */
export function tokenConstraint<S>(tokenizer: GPT2Tokenizer, vocabSize: number, endTokens: number[], m: ByteMachine<S>, opts: { after?: string; what?: string } = {}): (reply: number[]) => number[] {
  const trie = trieOf(tokenizer, vocabSize);
  const after = opts.after === undefined ? undefined : Buffer.from(opts.after, 'utf8');
  return (reply) => {
    // (a row that has ended is padded with an end token while the others go on: it stays ended)
    if (reply.some((id) => endTokens.includes(id))) return endTokens;
    let bytes = Buffer.concat(reply.map((id) => tokenizer.tokenBytes(id)));
    if (after) {
      const at = bytes.indexOf(after);
      if (at < 0) return trie.every; // (before it, any token)
      bytes = bytes.subarray(at + after.length);
    }
    const { states } = statesAfter(m, bytes);
    if (!states.length) throw new Error(`the reply so far is not the start of ${opts.what ?? 'what the constraint accepts'}`);
    const each = states.map((s) => {
      const key = m.key(s);
      let ids = trie.allowed.get(key);
      if (ids) {
        trie.allowed.delete(key); // (met again: the newest, the last to go)
        trie.allowed.set(key, ids);
      } else {
        ids = allowedFrom(m, trie, s);
        // (full: the states met longest ago make room)
        for (const [old, oldIds] of trie.allowed) {
          if (trie.kept + ids.length <= MAX_KEPT_IDS) break;
          trie.allowed.delete(old);
          trie.kept -= oldIds.length;
        }
        trie.allowed.set(key, ids);
        trie.kept += ids.length;
      }
      return m.accepts(s) ? (ids.length ? [...ids, ...endTokens] : endTokens) : ids;
    });
    const allowed = each.length === 1 ? each[0] : [...new Set(each.flat())];
    // (a machine whose states all go on never gets here; one that leaves some texts out, a grammar read in too many ways, may)
    if (!allowed.length) throw new Error(`no token may come next: ${opts.what ?? 'what the constraint accepts'} has no way on from the reply so far`);
    return allowed;
  };
}
