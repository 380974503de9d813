// Generation held to a context-free grammar (vLLM's structured outputs "grammar": EBNF as xgrammar
// reads it, which is llama.cpp's GBNF): the whole reply must be a text the rule `root` derives.
// The grammar language: rules `name ::= expression` (a rule runs until the next `name ::=`), the
// start rule named root; alternatives |, sequences, "strings" (escapes \n \r \t \\ \" \xHH \uHHHH
// \UHHHHHHHH), classes [a-z0-9_] and [^...], . (any character), groups ( ), the repeats * + ? {n}
// {n,} {n,m}, and # comments. Left recursion (a rule that may begin with itself, expr ::= expr
// "+" term) is refused by name, as llama.cpp refuses it: write it as a repeat (expr ::= term ("+"
// term)*). xgrammar's lookaheads (= ...) and TagDispatch are refused too, never read past.
// The machine is a set of stacks of places in the rules (a pushdown automaton, nondeterministic,
// read character by character as llama.cpp's grammar sampler reads it). Alternatives that can
// never end (a rule with no way out, an empty class) are dropped when the grammar is compiled, so
// every stack left can still end: a held reply never runs into a dead end. A text read in over
// 1000 ways at once (an ambiguous grammar's readings can double with each character) is not
// taken. The reply's bytes step it in strict UTF-8, a character's bytes held until it is whole;
// states are interned and keep their steps, as the regular expressions' are.
import type { GPT2Tokenizer } from './tokenizer';
import { readPrefix, tokenConstraint, type ByteMachine } from './token_constraint';
import { MAX_CODE_POINT, complement, decodeUtf8, inRanges, normalized, overlaps, utf8Length, utf8Span, type Ranges } from './code_points';

// ---- the grammar's text ----

type Expr =
  | { k: 'chars'; ranges: Ranges }
  | { k: 'seq'; items: Expr[] }
  | { k: 'alt'; options: Expr[] }
  | { k: 'ref'; name: string; at: number }
  | { k: 'repeat'; item: Expr; min: number; max: number };

const NAME = /[A-Za-z0-9_.-]+/y;
const ESCAPES: Record<string, number> = { n: 0x0a, r: 0x0d, t: 0x09, '\\': 0x5c, '"': 0x22, "'": 0x27, '[': 0x5b, ']': 0x5d, '-': 0x2d, '^': 0x5e, '/': 0x2f };
const HEX_ESCAPES: Record<string, number> = { x: 2, u: 4, U: 8 };
const MAX_REPEAT = 1000;

/** Reads a grammar's text into its rules (by name, in the order given). */
class Parser {
  private i = 0;
  constructor(private readonly text: string) {}

  fail(message: string, at = this.i): never {
    const before = this.text.slice(0, at).split('\n');
    throw new Error(`grammar at line ${before.length}, column ${before[before.length - 1].length + 1}: ${message}`);
  }

  rules(): Map<string, { body: Expr; at: number }> {
    const rules = new Map<string, { body: Expr; at: number }>();
    for (this.space(); this.i < this.text.length; this.space()) {
      const at = this.i, name = this.name();
      if (name === null) this.fail(`a rule must begin with its name, then ::= (got ${JSON.stringify(this.text.slice(this.i, this.i + 12))})`);
      this.space();
      if (!this.text.startsWith('::=', this.i)) this.fail(`expected ::= after the rule name ${name}${this.text[this.i] === ':' ? ' (this reads as a Lark grammar: give it as EBNF, name ::= ..., the start rule named root, as xgrammar takes it)' : ''}`);
      this.i += 3;
      if (rules.has(name)) this.fail(`the rule ${name} is defined twice`, at);
      rules.set(name, { body: this.alternatives(), at });
    }
    return rules;
  }

  private space(): void {
    for (;;) {
      while (this.i < this.text.length && /\s/.test(this.text[this.i])) this.i++;
      if (this.text[this.i] !== '#') return;
      while (this.i < this.text.length && this.text[this.i] !== '\n') this.i++;
    }
  }

  private name(): string | null {
    NAME.lastIndex = this.i;
    const m = NAME.exec(this.text);
    if (!m) return null;
    this.i += m[0].length;
    return m[0];
  }

  /** Whether a new rule begins here (`name ::=`): the one before ends. */
  private atRule(): boolean {
    const at = this.i;
    const begins = this.name() !== null && (this.space(), this.text.startsWith('::=', this.i));
    this.i = at;
    return begins;
  }

  private alternatives(): Expr {
    const options = [this.sequence()];
    while (this.text[this.i] === '|') {
      this.i++;
      options.push(this.sequence());
    }
    return options.length === 1 ? options[0] : { k: 'alt', options };
  }

  private sequence(): Expr {
    const items: Expr[] = [];
    for (this.space(); this.i < this.text.length && !'|)'.includes(this.text[this.i]) && !this.atRule(); this.space()) items.push(this.postfix(this.primary()));
    return items.length === 1 ? items[0] : { k: 'seq', items };
  }

  private primary(): Expr {
    const c = this.text[this.i];
    if (c === '"') return this.string();
    if (c === '[') return this.charClass();
    if (c === '.') {
      this.i++;
      return { k: 'chars', ranges: [[0, MAX_CODE_POINT]] };
    }
    if (c === '(') {
      if (this.text[this.i + 1] === '=') this.fail('a lookahead assertion (= ...) is not served: leave it out (the rules alone say what may come)');
      this.i++;
      const inner = this.alternatives();
      this.space();
      if (this.text[this.i] !== ')') this.fail('a group ( is not closed');
      this.i++;
      return inner;
    }
    const at = this.i, name = this.name();
    if (name === null) this.fail(`unexpected ${JSON.stringify(c)}: expected a string, a class [...], a rule's name, . or a group (...)`);
    if (this.text[this.i] === '(') this.fail(`${name}(...) is not served (xgrammar's TagDispatch and other built-ins): write the rules out`, at);
    return { k: 'ref', name, at };
  }

  private postfix(item: Expr): Expr {
    for (;;) {
      const c = this.text[this.i];
      if (c === '*' || c === '+' || c === '?') {
        this.i++;
        item = { k: 'repeat', item, min: c === '+' ? 1 : 0, max: c === '?' ? 1 : Infinity };
      } else if (c === '{') {
        const m = /\{\s*(\d*)\s*(?:(,)\s*(\d*)\s*)?\}/y;
        m.lastIndex = this.i;
        const r = m.exec(this.text);
        if (!r || (r[1] === '' && !r[2])) this.fail('a repeat is {n}, {n,}, {,m} or {n,m}');
        const min = r[1] === '' ? 0 : Number(r[1]), max = !r[2] ? min : r[3] === '' ? Infinity : Number(r[3]);
        if (min > max) this.fail(`a repeat {${min},${max}} has its least above its most`);
        if (Math.max(min, max === Infinity ? 0 : max) > MAX_REPEAT) this.fail(`a repeat over ${MAX_REPEAT} is not served`);
        this.i += r[0].length;
        item = { k: 'repeat', item, min, max };
      } else return item;
    }
  }

  /** One character of a string or a class: itself, or an escape. */
  private char(): number {
    const c = this.text.codePointAt(this.i)!;
    if (c !== 0x5c) {
      this.i += c > 0xffff ? 2 : 1;
      return c;
    }
    const e = this.text[this.i + 1];
    if (e !== undefined && Object.hasOwn(ESCAPES, e)) {
      this.i += 2;
      return ESCAPES[e];
    }
    if (e !== undefined && Object.hasOwn(HEX_ESCAPES, e)) {
      const digits = this.text.slice(this.i + 2, this.i + 2 + HEX_ESCAPES[e]);
      if (!/^[0-9a-fA-F]+$/.test(digits) || digits.length !== HEX_ESCAPES[e]) this.fail(`\\${e} takes ${HEX_ESCAPES[e]} hex digits`);
      const code = parseInt(digits, 16);
      if (code > MAX_CODE_POINT || (code >= 0xd800 && code <= 0xdfff)) this.fail(`\\${e}${digits} is no character`);
      this.i += 2 + digits.length;
      return code;
    }
    return this.fail(`unknown escape \\${e ?? ''} (\\n \\r \\t \\\\ \\" \\[ \\] \\- \\xHH \\uHHHH \\UHHHHHHHH are)`);
  }

  private string(): Expr {
    const at = this.i++;
    const items: Expr[] = [];
    while (this.text[this.i] !== '"') {
      if (this.i >= this.text.length || this.text[this.i] === '\n') this.fail('a string " is not closed on its line', at);
      const c = this.char();
      items.push({ k: 'chars', ranges: [[c, c]] });
    }
    this.i++;
    return items.length === 1 ? items[0] : { k: 'seq', items };
  }

  private charClass(): Expr {
    const at = this.i++;
    const negated = this.text[this.i] === '^';
    if (negated) this.i++;
    const ranges: Ranges = [];
    while (this.text[this.i] !== ']') {
      if (this.i >= this.text.length) this.fail('a class [ is not closed', at);
      const lo = this.char();
      let hi = lo;
      if (this.text[this.i] === '-' && this.text[this.i + 1] !== ']') {
        this.i++;
        hi = this.char();
        if (hi < lo) this.fail('a class\'s range runs backwards');
      }
      ranges.push([lo, hi]);
    }
    this.i++;
    return { k: 'chars', ranges: negated ? complement(ranges) : normalized(ranges) };
  }
}

// ---- the rules as places a stack points into ----

/** What a place in a rule reads next: a character of a class, a rule, or (null) nothing: the alternative is done. */
type Elem = { chars: Ranges } | { rule: number };
interface Rule { name: string; alts: Elem[][] }

/**
 * A stack of places, the top first: each a place in a rule's alternative, the one below where to go
 * on once it is done. Stacks are interned (one object a stack), so a stack's key is its number.
 */
interface Stack { readonly place: number; readonly up: Stack | null; readonly key: number }

/** A set of stacks (those about to read a character), whether the text so far is whole, and a character's first bytes. */
export interface GrammarState {
  readonly stacks: Stack[];
  readonly whole: boolean;
  readonly pending: number[];
  readonly key: string;
  /** the steps taken from it, by byte, each as the list the machine's feed returns */
  readonly steps: (GrammarState[] | undefined)[];
}

const MAX_ELEMS = 200_000;
// (a text read in more ways at once than this is not taken: its states would grow without bound)
const MAX_STACKS = 1000;
const TOO_AMBIGUOUS = new Error(`the grammar is too ambiguous to hold a reply to (over ${MAX_STACKS} ways to read the text at once): make its alternatives differ sooner`);
const NONE: GrammarState[] = [];
let nextGrammarId = 0;

/** A grammar (EBNF, as vLLM's structured outputs take it) compiled for generation. */
export class EbnfGrammar {
  private readonly id = nextGrammarId++;
  /** what each place reads (null: its alternative is done), and where each rule's alternatives begin */
  private readonly places: (Elem | null)[] = [];
  private readonly starts: number[][] = [];
  private readonly begin: GrammarState;
  private readonly states = new Map<string, GrammarState>();
  private readonly stacks = new Map<string, Stack>();
  private nextStackKey = 0; // (never reused: a state's key names its stacks by these numbers)

  private constructor(rules: Rule[], private readonly shortest: number[]) {
    for (const rule of rules) {
      this.starts.push(rule.alts.map((alt) => {
        const start = this.places.length;
        this.places.push(...alt, null);
        return start;
      }));
    }
    // (root is rule 0: its alternatives begin the reply)
    const stacks = new Map<number, Stack>(), seen = new Set<number>();
    let whole = false;
    for (const start of this.starts[0]) whole = this.settle(this.push(start, null), stacks, seen) || whole;
    this.begin = this.state([...stacks.values()], whole, []);
  }

  /** The replies the grammar's root rule derives. */
  static fromText(text: string): EbnfGrammar {
    if (typeof text !== 'string') throw new Error(`a grammar must be a string (EBNF), got ${JSON.stringify(text)}`);
    const parser = new Parser(text);
    const named = parser.rules();
    if (!named.has('root')) throw new Error(`the grammar has no rule named root (the start rule, as xgrammar and llama.cpp name it)${named.has('start') ? ': rename start to root' : ''}`);
    const { rules, shortest } = compile(named, parser);
    return new EbnfGrammar(rules, shortest);
  }

  /** The stack with `place` on top of `up` (the one object for it). */
  private push(place: number, up: Stack | null): Stack {
    const id = up ? `${place}.${up.key}` : String(place);
    let s = this.stacks.get(id);
    if (!s) {
      if (this.stacks.size > 200_000) this.stacks.clear(); // (a stack made again gets a new number: its states are only made anew)
      this.stacks.set(id, (s = { place, up, key: this.nextStackKey++ }));
    }
    return s;
  }

  /** The stack once its top place is read past: the next place on top, or (where that was the last) the one below. */
  private after(s: Stack): Stack | null {
    return this.places[s.place + 1] === null ? s.up : this.push(s.place + 1, s.up);
  }

  /** Follows a stack down to places that read a character (into `out`); whether one runs out, the root done. */
  private settle(s: Stack | null, out: Map<number, Stack>, seen: Set<number>): boolean {
    if (!s) return true;
    if (seen.has(s.key)) return false;
    seen.add(s.key);
    const e = this.places[s.place];
    if (e === null) return this.settle(s.up, out, seen);
    if ('chars' in e) {
      out.set(s.key, s);
      if (out.size > MAX_STACKS) throw TOO_AMBIGUOUS;
      return false;
    }
    // (the rule's alternatives, each with this place's next one below it: none where this was the last, so right recursion keeps the stack as it is)
    const rest = this.after(s);
    let whole = false;
    for (const start of this.starts[e.rule]) whole = this.settle(this.push(start, rest), out, seen) || whole;
    return whole;
  }

  private state(stacks: Stack[], whole: boolean, pending: number[]): GrammarState {
    stacks.sort((a, b) => a.key - b.key);
    const key = `g${this.id}:${whole ? 1 : 0}:${stacks.map((s) => s.key).join('|')}/${pending.join(',')}`;
    let s = this.states.get(key);
    if (!s) {
      if (this.states.size > 200_000) this.states.clear(); // (states already out keep their steps)
      this.states.set(key, (s = { stacks, whole, pending, key, steps: new Array(256) }));
    }
    return s;
  }

  private readsOf(s: Stack): Ranges {
    return (this.places[s.place] as { chars: Ranges }).chars;
  }

  /** The state after character c, or null where no stack reads it (or where it would be read in over MAX_STACKS ways). */
  private afterChar(s: GrammarState, c: number): GrammarState | null {
    const out = new Map<number, Stack>(), seen = new Set<number>();
    let whole = false, read = false;
    try {
      for (const stack of s.stacks) {
        if (!inRanges(this.readsOf(stack), c)) continue;
        read = true;
        whole = this.settle(this.after(stack), out, seen) || whole;
      }
    } catch (e) {
      if (e === TOO_AMBIGUOUS) return null; // (a text read in too many ways: not taken)
      throw e;
    }
    return read ? this.state([...out.values()], whole, []) : null;
  }

  private feed(s: GrammarState, b: number): GrammarState | null {
    if (!s.pending.length && b < 0x80) return this.afterChar(s, b);
    const pending = [...s.pending, b];
    if (pending.length === utf8Length(pending[0])) {
      const c = decodeUtf8(pending);
      return c === null ? null : this.afterChar(s, c);
    }
    // (a character's first bytes: on where some stack reads a character they may begin)
    const span = utf8Span(pending);
    return span && s.stacks.some((st) => span.some(([lo, hi]) => overlaps(this.readsOf(st), lo, hi))) ? this.state([...s.stacks], s.whole, pending) : null;
  }

  /** The states after byte b of the text's UTF-8 ([] where it cannot come), the steps kept. */
  private stepped(s: GrammarState, b: number): GrammarState[] {
    let next = s.steps[b];
    if (next === undefined) {
      const state = this.feed(s, b);
      s.steps[b] = next = state ? [state] : NONE;
    }
    return next;
  }

  accepts(s: GrammarState): boolean {
    return !s.pending.length && s.whole;
  }

  /**
   * Bytes that finish the state's text into a whole one (none where it is whole): one of its
   * stacks, each place's rest written the shortest way. Every stack can end (compile drops what
   * cannot), so there is always one: a state the machine reaches is never a dead end.
   */
  finish(s: GrammarState): number[] {
    if (this.accepts(s)) return [];
    const span = s.pending.length ? utf8Span(s.pending) ?? [] : [[0, MAX_CODE_POINT] as [number, number]];
    for (const stack of s.stacks) {
      const reads = normalized(this.readsOf(stack).flatMap(([a, b]) => span.map(([lo, hi]): [number, number] => [Math.max(a, lo), Math.min(b, hi)])));
      const c = firstChar(reads);
      if (c === null) continue;
      let text = String.fromCodePoint(c) + this.restText(stack.place + 1);
      for (let up = stack.up; up; up = up.up) text += this.restText(up.place);
      return [...Buffer.from(text)].slice(s.pending.length);
    }
    throw new Error('grammar_constraint: a state with no stack that reads on (a dead end)');
  }

  /** An alternative's rest from `place`, written the shortest way (a class's first character; a rule's shortest alternative). */
  private restText(place: number): string {
    let text = '';
    for (let e = this.places[place]; e !== null; e = this.places[++place]) {
      text += 'chars' in e ? String.fromCodePoint(firstChar(e.chars)!) : this.restText(this.starts[e.rule][this.shortest[e.rule]]);
    }
    return text;
  }

  /** This grammar as token_constraint.ts's machine. */
  machine(): ByteMachine<GrammarState> {
    return {
      start: () => [this.begin],
      feed: (s, b) => this.stepped(s, b),
      key: (s) => s.key,
      accepts: (s) => this.accepts(s),
    };
  }
}

/**
 * The rules as alternatives of places (root first): groups and repeats become rules of their own;
 * alternatives that can never end are dropped; left recursion is refused. shortest: each rule's
 * alternative that derives the fewest characters.
 */
function compile(named: Map<string, { body: Expr; at: number }>, parser: Parser): { rules: Rule[]; shortest: number[] } {
  const rules: Rule[] = [];
  const ids = new Map<string, number>();
  for (const name of ['root', ...[...named.keys()].filter((n) => n !== 'root')]) {
    ids.set(name, rules.length);
    rules.push({ name, alts: [] });
  }
  let elems = 0;
  const rule = (name: string, alts: Elem[][]): Elem => {
    rules.push({ name, alts });
    return { rule: rules.length - 1 };
  };
  const alternatives = (e: Expr, owner: string): Elem[][] => (e.k === 'alt' ? e.options.flatMap((o) => alternatives(o, owner)) : [sequence(e, owner)]);
  const sequence = (e: Expr, owner: string): Elem[] => {
    const out = e.k === 'seq' ? e.items.flatMap((item) => sequence(item, owner)) : element(e, owner);
    if ((elems += out.length) > MAX_ELEMS) throw new Error(`the grammar is too large to hold a reply to (over ${MAX_ELEMS} places once its repeats are written out): use smaller repeat counts`);
    return out;
  };
  const element = (e: Expr, owner: string): Elem[] => {
    switch (e.k) {
      case 'chars': return [{ chars: e.ranges }];
      case 'ref': {
        const id = ids.get(e.name);
        if (id === undefined) return parser.fail(`the rule ${e.name} is not defined (in ${owner})`, e.at);
        return [{ rule: id }];
      }
      case 'seq': return sequence(e, owner);
      case 'alt': return [rule(`${owner} (a group)`, alternatives(e, owner))];
      case 'repeat': {
        const inner = sequence(e.item, owner);
        const unit = inner.length === 1 ? inner[0] : rule(`${owner} (a group)`, [inner]);
        const out: Elem[] = Array(e.min).fill(unit);
        if (e.max === Infinity) {
          // (x*: R ::= x R | (nothing), right recursive: the stack stays as it is)
          const star = rule(`${owner} (a repeat)`, []);
          rules[(star as { rule: number }).rule].alts.push([unit, star], []);
          out.push(star);
        } else {
          // (up to max - min more: R1 ::= x | (nothing), R2 ::= x R1 | (nothing), ...)
          let tail: Elem | null = null;
          for (let n = e.min; n < e.max; n++) tail = rule(`${owner} (a repeat)`, [tail ? [unit, tail] : [unit], []]);
          if (tail) out.push(tail);
        }
        return out;
      }
    }
  };
  for (const [name, { body }] of named) rules[ids.get(name)!].alts = alternatives(body, name);

  // (the fewest characters each rule derives, Infinity where it has no way out: an alternative with such a rule, or an empty class, can never end)
  const fewest = rules.map(() => Infinity);
  for (let changed = true; changed;) {
    changed = false;
    rules.forEach((r, id) => {
      for (const alt of r.alts) {
        const n = lengthOf(alt, fewest);
        if (n < fewest[id]) [fewest[id], changed] = [n, true];
      }
    });
  }
  if (fewest[0] === Infinity) throw new Error('the grammar derives no text from root (every way through it meets a rule that never ends, or an empty class)');
  for (const r of rules) r.alts = r.alts.filter((alt) => lengthOf(alt, fewest) < Infinity);
  refuseLeftRecursion(rules);
  // (each rule's shortest alternative: the way finish() ends it)
  const shortest = rules.map((r, id) => r.alts.findIndex((alt) => lengthOf(alt, fewest) === fewest[id]));
  return { rules, shortest };
}

/** The fewest characters an alternative derives, given each rule's. */
function lengthOf(alt: Elem[], fewest: number[]): number {
  let n = 0;
  for (const e of alt) n += 'chars' in e ? (firstChar(e.chars) === null ? Infinity : 1) : fewest[e.rule];
  return n;
}

/** A class's first character (surrogates are none), or null where it has none. */
function firstChar(ranges: Ranges): number | null {
  for (const [lo, hi] of ranges) {
    if (lo < 0xd800 || lo > 0xdfff) return lo;
    if (hi > 0xdfff) return 0xe000;
  }
  return null;
}

/**
 * Refuses a rule that may begin with itself where that makes the stack grow without a character
 * read (expr ::= expr "+" term): the machine would never settle. A rule that begins with itself
 * at an alternative's end (x* of something that may be empty) only repeats a stack, and is kept.
 */
function refuseLeftRecursion(rules: Rule[]): void {
  const empty = new Set<number>();
  for (let changed = true; changed;) {
    changed = false;
    rules.forEach((r, id) => {
      if (!empty.has(id) && r.alts.some((alt) => alt.every((e) => 'rule' in e && empty.has(e.rule)))) {
        empty.add(id);
        changed = true;
      }
    });
  }
  // (A -> B where B may come first in an alternative of A; growing where something follows B there)
  const edges: { to: number; growing: boolean }[][] = rules.map((r) => {
    const out: { to: number; growing: boolean }[] = [];
    for (const alt of r.alts) {
      for (let j = 0; j < alt.length; j++) {
        const e = alt[j];
        if ('chars' in e) break;
        out.push({ to: e.rule, growing: j < alt.length - 1 });
        if (!empty.has(e.rule)) break;
      }
    }
    return out;
  });
  // (a growing edge inside a cycle: B leads back to A without a character)
  const reaches = (from: number, to: number): boolean => {
    const seen = new Set<number>([from]);
    const todo = [from];
    while (todo.length) {
      const n = todo.pop()!;
      if (n === to) return true;
      for (const e of edges[n]) if (!seen.has(e.to)) { seen.add(e.to); todo.push(e.to); }
    }
    return false;
  };
  rules.forEach((r, id) => {
    for (const e of edges[id]) {
      if (e.growing && reaches(e.to, id)) {
        throw new Error(`the rule ${r.name} may begin with itself (left recursion, as in expr ::= expr "+" term): write it as a repeat (expr ::= term ("+" term)*)`);
      }
    }
  });
}

/**
 * How far `bytes` go as the start of a reply the grammar accepts: 'done' where they are a whole
 * one, 'open' where more must follow, or the index of the first byte that cannot come.
 */
export function readGrammarPrefix(grammar: EbnfGrammar, bytes: ArrayLike<number>): 'done' | 'open' | number {
  return readPrefix(grammar.machine(), bytes);
}

/**
 * A constraint that holds a reply to the grammar: given the reply's tokens so far, the token ids
 * that may come next (the end tokens among them where the reply is whole). `after` as
 * jsonConstraint's: the hold starts once the reply has written this text.
 */
export function grammarConstraint(tokenizer: GPT2Tokenizer, vocabSize: number, endTokens: number[], grammar: EbnfGrammar, opts: { after?: string } = {}): (reply: number[]) => number[] {
  return tokenConstraint(tokenizer, vocabSize, endTokens, grammar.machine(), { after: opts.after, what: 'a reply the request\'s grammar accepts' });
}
