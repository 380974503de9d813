// Generation held to a regular expression or to a list of choices (vLLM's structured outputs
// "regex" and "choice"): the whole reply must match, as Python's re.fullmatch reads it.
// The pattern language is Python's re, less what no finite machine can hold: characters and
// escapes (\n \t \xHH \uHHHH \U........, an escaped metacharacter), classes [a-z_] [^...], \d \w \s
// and their negations (ASCII's, as re.ASCII reads them), '.' (any character but a line break),
// groups (...) (?:...) (?P<name>...), alternation |, and the repeats * + ? {n} {n,} {,m} {n,m}
// (lazy ones too: the same replies match). ^ and \A may begin the pattern and $ and \Z end it.
// Backreferences, lookarounds, word boundaries, inline flags and conditionals are refused by name.
// The pattern compiles to a machine over characters (Thompson's, its states as sets); the reply's
// bytes step it in strict UTF-8, a character's bytes held until it is whole.
import type { GPT2Tokenizer } from './tokenizer';
import { readPrefix, tokenConstraint, type ByteMachine } from './token_constraint';
import { MAX_CODE_POINT, complement, decodeUtf8, inRanges, normalized, overlaps, utf8Length, utf8Span, type Ranges } from './code_points';

type Re =
  | { k: 'chars'; ranges: Ranges }
  | { k: 'seq'; items: Re[] }
  | { k: 'alt'; options: Re[] }
  | { k: 'repeat'; item: Re; min: number; max: number };

const ch = (c: string): number => c.codePointAt(0)!;
// (ASCII's classes, as Python's re.ASCII: \s is [ \t\n\r\f\v])
const DIGIT: Ranges = [[0x30, 0x39]];
const WORD: Ranges = normalized([[0x30, 0x39], [0x41, 0x5a], [0x61, 0x7a], [0x5f, 0x5f]]);
const SPACE: Ranges = normalized([[0x09, 0x0d], [0x20, 0x20]]);
const CLASS_ESCAPES: Record<string, Ranges> = { d: DIGIT, D: complement(DIGIT), w: WORD, W: complement(WORD), s: SPACE, S: complement(SPACE) };
const CHAR_ESCAPES: Record<string, number> = { n: 0x0a, t: 0x09, r: 0x0d, f: 0x0c, v: 0x0b, a: 0x07 };
const REFUSED_ESCAPES: Record<string, string> = {
  b: 'a word boundary (\\b)', B: 'a word boundary (\\B)', N: 'a named character (\\N{...}): write the character itself',
  p: 'a Unicode property (\\p{...})', P: 'a Unicode property (\\P{...})', k: 'a backreference',
};

/** A top-level alternative and its anchors: whether it must begin at the start, and whether at the end ($ or \\Z). */
interface Branch { re: Re; start: boolean; end: boolean }

/** The pattern read as Python's re reads it (what a finite machine cannot hold refused by name), as its top-level alternatives. */
function parse(pattern: string): Branch[] {
  const cs = Array.from(pattern);
  let i = 0;
  const fail = (what: string): never => { throw new Error(`regex ${JSON.stringify(pattern)} at position ${i}: ${what}`); };
  const atEnd = () => i >= cs.length;

  let anchors: Omit<Branch, 're'> = { start: false, end: false }; // (the top-level alternative being read)
  const alternation = (depth: number): Re => {
    const options = [sequence(depth)];
    while (cs[i] === '|') {
      i++;
      options.push(sequence(depth));
    }
    return options.length === 1 ? options[0] : { k: 'alt', options };
  };

  const sequence = (depth: number): Re => {
    const items: Re[] = [];
    while (!atEnd() && cs[i] !== '|' && cs[i] !== ')') {
      const c = cs[i];
      // (anchors: where a whole match must begin or end anyway; anywhere else they would need lookaround)
      if (c === '^' || (c === '\\' && cs[i + 1] === 'A')) {
        if (depth > 0 || items.length) fail(`${c === '^' ? '^' : '\\A'} only at the start of the pattern (or of one of its top-level alternatives) is served`);
        i += c === '^' ? 1 : 2;
        anchors.start = true;
        continue;
      }
      if (c === '$' || (c === '\\' && cs[i + 1] === 'Z')) {
        i += c === '$' ? 1 : 2;
        if (depth > 0 || !(atEnd() || cs[i] === '|')) fail(`${c === '$' ? '$' : '\\Z'} only at the end of the pattern (or of one of its top-level alternatives) is served`);
        anchors.end = true;
        continue;
      }
      if (quantifierAt() !== null) fail('nothing to repeat');
      let atom = single(depth);
      const q = quantifierAt();
      if (q !== null) {
        i = q.end;
        if (cs[i] === '?') i++; // (lazy: the same replies match)
        if (cs[i] === '+') fail('a possessive repeat is not served');
        if (quantifierAt() !== null) fail('multiple repeat');
        atom = { k: 'repeat', item: atom, min: q.min, max: q.max };
      }
      items.push(atom);
    }
    return items.length === 1 ? items[0] : { k: 'seq', items };
  };

  /** A repeat at i ({ that is not one is a literal, as in Python), or null. */
  const quantifierAt = (): { min: number; max: number; end: number } | null => {
    const c = cs[i];
    if (c === '*') return { min: 0, max: Infinity, end: i + 1 };
    if (c === '+') return { min: 1, max: Infinity, end: i + 1 };
    if (c === '?') return { min: 0, max: 1, end: i + 1 };
    if (c !== '{') return null;
    const m = /^\{(\d*)(,(\d*))?\}/.exec(cs.slice(i, i + 24).join(''));
    if (!m || m[0] === '{}') return null;
    const min = m[1] ? Number(m[1]) : 0;
    const max = m[2] === undefined ? min : m[3] ? Number(m[3]) : Infinity;
    if (max < min) fail('min repeat greater than max repeat');
    if (min > 1000 || (max !== Infinity && max > 1000)) fail('a repeat count over 1000 is not served');
    return { min, max, end: i + m[0].length };
  };

  const single = (depth: number): Re => {
    const c = cs[i++];
    if (c === '(') {
      if (cs[i] === '?') {
        const rest = cs.slice(i, i + 3).join('');
        if (rest.startsWith('?:')) i += 2;
        else if (rest === '?P<') {
          const close = cs.indexOf('>', i);
          if (close < 0 || !/^[A-Za-z_]\w*$/.test(cs.slice(i + 3, close).join(''))) fail('a bad group name');
          i = close + 1;
        } else {
          const what = rest.startsWith('?=') || rest.startsWith('?!') ? 'a lookahead' : rest.startsWith('?<=') || rest.startsWith('?<!') ? 'a lookbehind'
            : rest === '?P=' ? 'a backreference' : rest.startsWith('?#') ? 'a comment group' : rest.startsWith('?(') ? 'a conditional group' : 'an inline flag';
          fail(`${what} is not served (a reply is held to a pattern a finite machine reads)`);
        }
      }
      const inner = alternation(depth + 1);
      if (cs[i] !== ')') fail('missing ), unterminated subpattern');
      i++;
      return inner;
    }
    if (c === ')') fail('unbalanced parenthesis');
    if (c === '[') return { k: 'chars', ranges: charClass() };
    if (c === '.') return { k: 'chars', ranges: complement([[0x0a, 0x0a]]) };
    if (c === '\\') {
      const e = escape(false);
      return { k: 'chars', ranges: typeof e === 'number' ? [[e, e]] : e };
    }
    return { k: 'chars', ranges: [[ch(c), ch(c)]] };
  };

  /** After a backslash: one character, or a class's ranges (\d \w \s ...). */
  const escape = (inClass: boolean): number | Ranges => {
    if (atEnd()) fail('bad escape (end of pattern)');
    const c = cs[i++];
    if (Object.hasOwn(CLASS_ESCAPES, c)) return CLASS_ESCAPES[c];
    if (Object.hasOwn(CHAR_ESCAPES, c)) return CHAR_ESCAPES[c];
    if (inClass && c === 'b') return 0x08;
    const hex = (n: number) => {
      const digits = cs.slice(i, i + n).join('');
      if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(digits)) fail(`bad escape \\${c}: it needs ${n} hex digits`);
      i += n;
      const v = parseInt(digits, 16);
      if (v > MAX_CODE_POINT) fail(`bad escape \\${c}${digits}: beyond Unicode`);
      return v;
    };
    if (c === 'x') return hex(2);
    if (c === 'u') return hex(4);
    if (c === 'U') return hex(8);
    if (c === '0') {
      let digits = '';
      while (digits.length < 2 && /[0-7]/.test(cs[i] ?? '')) digits += cs[i++];
      return parseInt(digits || '0', 8);
    }
    if (/[1-9]/.test(c)) fail('a backreference (or an octal escape \\NNN) is not served');
    if (Object.hasOwn(REFUSED_ESCAPES, c)) fail(`${REFUSED_ESCAPES[c]} is not served`);
    if (/[A-Za-z]/.test(c)) fail(`bad escape \\${c}`);
    return ch(c);
  };

  /** After '[': the class's code points, up to its ']'. */
  const charClass = (): Ranges => {
    const negated = cs[i] === '^';
    if (negated) i++;
    const ranges: Ranges = [];
    let first = true;
    for (;;) {
      if (atEnd()) fail('unterminated character set');
      if (cs[i] === ']' && !first) break;
      first = false;
      const from = classItem();
      if (cs[i] === '-' && cs[i + 1] !== undefined && cs[i + 1] !== ']') {
        i++;
        const to = classItem();
        if (typeof from !== 'number' || typeof to !== 'number') fail('bad character range (a class escape at an end)');
        if ((to as number) < (from as number)) fail('bad character range');
        ranges.push([from as number, to as number]);
      } else if (typeof from === 'number') ranges.push([from, from]);
      else ranges.push(...from);
    }
    i++;
    return negated ? complement(ranges) : normalized(ranges);
  };
  const classItem = (): number | Ranges => {
    const c = cs[i++];
    return c === '\\' ? escape(true) : ch(c);
  };

  const branches: Branch[] = [];
  for (;;) {
    anchors = { start: false, end: false };
    branches.push({ re: sequence(0), ...anchors });
    if (cs[i] !== '|') break;
    i++;
  }
  if (!atEnd()) fail('unbalanced parenthesis');
  return branches;
}

const ANY_CHAR: Re = { k: 'chars', ranges: [[0, MAX_CODE_POINT]] };
const literal = (text: string): Re => ({ k: 'seq', items: Array.from(text, (x): Re => ({ k: 'chars', ranges: [[ch(x), ch(x)]] })) });
const alt = (options: Re[]): Re => (options.length === 1 ? options[0] : { k: 'alt', options });

/** As re.fullmatch reads the pattern: each alternative the whole text (its anchors change nothing). */
const fullmatchRe = (branches: Branch[]): Re => alt(branches.map((b) => b.re));

/**
 * As a search reads it (JSON Schema's pattern): an alternative anywhere in the text, unless
 * anchored. $ is the text's end, as ECMA-262's (JSON Schema's regex dialect) and Rust's (Pydantic's)
 * read it, not Python's, which also takes a last line break after it.
 */
function searchRe(branches: Branch[]): Re {
  const anything: Re = { k: 'repeat', item: ANY_CHAR, min: 0, max: Infinity };
  return alt(branches.map((b) => ({ k: 'seq', items: [...(b.start ? [] : [anything]), b.re, ...(b.end ? [] : [anything])] })));
}

/** The texts of the integers in [lo, hi] as JSON writes them (no leading zeros; -0 where 0 is in it). */
function integerRangeRe(lo: number, hi: number): Re {
  const options: Re[] = [];
  if (hi >= 0) options.push(naturals(Math.max(lo, 0), hi));
  if (lo < 0) options.push({ k: 'seq', items: [literal('-'), naturals(hi < 0 ? -hi : 1, -lo)] });
  if (lo <= 0 && hi >= 0) options.push(literal('-0'));
  return alt(options);
}

/** The numbers in [a, b] (b may be Infinity), written without leading zeros. */
function naturals(a: number, b: number): Re {
  const digit: Re = { k: 'chars', ranges: [[0x30, 0x39]] };
  const options: Re[] = [];
  const top = b === Infinity ? 10 ** String(a).length - 1 : b;
  for (let length = String(a).length; length <= String(top).length; length++) {
    const from = Math.max(a, length === 1 ? 0 : 10 ** (length - 1)), to = Math.min(top, 10 ** length - 1);
    if (from <= to) options.push(sameLength(String(from), String(to)));
  }
  // (beyond: any number with more digits)
  if (b === Infinity) options.push({ k: 'seq', items: [{ k: 'chars', ranges: [[0x31, 0x39]] }, { k: 'repeat', item: digit, min: String(a).length, max: Infinity }] });
  return alt(options);

  function sameLength(from: string, to: string): Re {
    const n = from.length;
    const range = (x: string, y: string): Re => ({ k: 'chars', ranges: [[ch(x), ch(y)]] });
    if (n === 1) return range(from, to);
    if (from[0] === to[0]) return { k: 'seq', items: [literal(from[0]), sameLength(from.slice(1), to.slice(1))] };
    const parts: Re[] = [{ k: 'seq', items: [literal(from[0]), sameLength(from.slice(1), '9'.repeat(n - 1))] }];
    if (ch(to[0]) - ch(from[0]) > 1) parts.push({ k: 'seq', items: [range(String.fromCharCode(ch(from[0]) + 1), String.fromCharCode(ch(to[0]) - 1)), { k: 'repeat', item: digit, min: n - 1, max: n - 1 }] });
    parts.push({ k: 'seq', items: [literal(to[0]), sameLength('0'.repeat(n - 1), to.slice(1))] });
    return alt(parts);
  }
}

// ---- the machine: Thompson's, over characters ----

interface NfaNode { eps: number[]; edges: { ranges: Ranges; to: number }[] }
const MAX_NFA_NODES = 50_000;
// (a bound on a text's length, in characters: JSON Schema's minLength / maxLength, a number's text)
const MAX_LENGTH = 100_000;

/**
 * A grammar's length bounds: min, max (Infinity: none), cap (max, or min where there is none:
 * counts past it are alike), and for each node the numbers of characters, 0 to cap, in which the
 * end can be reached from it (a bit each; where there is no max, cap stands for cap or more).
 */
interface Lengths { min: number; max: number; cap: number; reach: Uint32Array[] }

/**
 * The nodes' reach (see Lengths), a count at a time: the nodes that end in exactly k characters
 * are those that reach, by empty steps, a node with an edge into one that ends in k - 1. Where
 * there is no max, cap stands for cap or more: the nodes that reach (by any steps) one that ends in
 * exactly cap.
 */
function lengthsOf(nodes: NfaNode[], accept: number, min: number, max: number): Lengths {
  const cap = max === Infinity ? min : max;
  const reach = nodes.map(() => new Uint32Array((cap >> 5) + 1));
  const epsInto: number[][] = nodes.map(() => []), edgeInto: number[][] = nodes.map(() => []);
  nodes.forEach((n, from) => {
    for (const to of n.eps) epsInto[to].push(from);
    for (const e of n.edges) edgeInto[e.to].push(from);
  });
  /** The nodes that reach one of `from` by empty steps (or, anySteps, by any), marked in a fresh array. */
  const backwards = (from: number[], anySteps: boolean): Uint8Array => {
    const seen = new Uint8Array(nodes.length);
    const todo = from.filter((n) => !seen[n] && (seen[n] = 1));
    while (todo.length) {
      const n = todo.pop()!;
      for (const list of anySteps ? [epsInto[n], edgeInto[n]] : [epsInto[n]]) {
        for (const p of list) if (!seen[p]) { seen[p] = 1; todo.push(p); }
      }
    }
    return seen;
  };
  let layer = backwards([accept], false);
  for (let k = 0; ; k++) {
    const last = k === cap;
    const marked = last && max === Infinity ? backwards(onesOf(layer), true) : layer;
    marked.forEach((on, n) => { if (on) reach[n][k >> 5] |= 1 << (k & 31); });
    if (last) break;
    const before: number[] = [];
    for (let n = 0; n < layer.length; n++) if (layer[n]) for (const p of edgeInto[n]) before.push(p);
    if (!before.length) break; // (no node ends in more characters)
    layer = backwards(before, false);
  }
  return { min, max, cap, reach };
}

/** The nodes marked. */
function onesOf(marks: Uint8Array): number[] {
  const out: number[] = [];
  marks.forEach((on, n) => { if (on) out.push(n); });
  return out;
}

/** Whether a bit from lo to hi is set. */
function anyBit(bits: Uint32Array, lo: number, hi: number): boolean {
  for (let k = lo; k <= hi; k++) {
    const w = bits[k >> 5];
    if (!w) {
      k = (k | 31); // (a word without bits: on to the next)
      continue;
    }
    if ((w >>> (k & 31)) & 1) return true;
  }
  return false;
}

/** A set of machine nodes (those with an edge, or the accepting one) and a character's first bytes while it is not whole. */
export interface RegexState {
  readonly nodes: number[];
  readonly pending: number[];
  /** characters read, where the grammar bounds its texts' length (up to its cap) */
  readonly count: number;
  readonly key: string;
  /** the steps taken from it, by byte, each as the list the machine's feed returns ([] or [the state]) */
  readonly steps: (RegexState[] | undefined)[];
}

let nextGrammarId = 0;
const NONE: RegexState[] = [];

/** A regular expression (or a list of choices) compiled for generation. */
export class RegexGrammar {
  private readonly id = nextGrammarId++;
  private readonly nodes: NfaNode[] = [];
  private accept = -1;
  private readonly startNode: number;
  private readonly begin: RegexState;
  private readonly lengths: Lengths | null = null;
  // (the states met, one object a key: the steps kept on each are found again by whoever meets it)
  private readonly states = new Map<string, RegexState>();

  private constructor(re: Re | null, built?: { nodes: NfaNode[]; start: number; accept: number; lengths: [number, number] }) {
    if (built) {
      this.nodes = built.nodes; // (shared with the grammar it bounds: read, never changed)
      this.startNode = built.start;
      this.accept = built.accept;
      this.lengths = lengthsOf(this.nodes, this.accept, ...built.lengths);
    } else {
      this.startNode = this.node();
      this.accept = this.build(re!, this.startNode);
      this.prune();
    }
    this.begin = this.state(this.live(this.closure([this.startNode]), 0), [], 0);
    if (!this.begin.nodes.length) throw new Error(built ? 'no text matches the pattern within those lengths' : 'the pattern matches no reply at all (an empty character class?)');
  }

  /**
   * The texts of this grammar's that are also min to max characters long (JSON Schema's pattern or
   * format with minLength / maxLength): the same machine, with a count of characters read beside
   * each state (up to max, or, without one, up to min, where it stays), and kept to the nodes from
   * which the end can still be reached in a number of characters the bounds allow.
   */
  withLength(min: number, max: number): RegexGrammar {
    const [lo, hi] = this.lengths ? [Math.max(min, this.lengths.min), Math.min(max, this.lengths.max)] : [min, max];
    if (lo > hi) throw new Error(`no text is ${lo} to ${hi} characters long`);
    if ((hi === Infinity ? lo : hi) > MAX_LENGTH) throw new Error(`a length bound over ${MAX_LENGTH} is not served`);
    return new RegexGrammar(null, { nodes: this.nodes, start: this.startNode, accept: this.accept, lengths: [lo, hi] });
  }

  /** The replies Python's re.fullmatch(pattern, reply) accepts (the pattern language above). */
  static fromPattern(pattern: string): RegexGrammar {
    if (typeof pattern !== 'string') throw new Error(`a regex must be a string, got ${JSON.stringify(pattern)}`);
    return new RegexGrammar(fullmatchRe(parse(pattern)));
  }

  /** The texts in which a search finds the pattern (JSON Schema's pattern: as Python's re.search, $ as ECMA-262's end). */
  static search(pattern: string): RegexGrammar {
    if (typeof pattern !== 'string') throw new Error(`a regex must be a string, got ${JSON.stringify(pattern)}`);
    return new RegexGrammar(searchRe(parse(pattern)));
  }

  /** Exactly one of the choices, as written (vLLM's structured outputs "choice"). */
  static choice(choices: readonly string[]): RegexGrammar {
    if (!Array.isArray(choices) || !choices.length || choices.some((c) => typeof c !== 'string')) throw new Error('choice must be a non-empty list of strings');
    return new RegexGrammar(alt(choices.map(literal)));
  }

  /** Texts of min to max characters (code points; max may be Infinity): JSON Schema's minLength and maxLength. */
  static length(min: number, max: number): RegexGrammar {
    return new RegexGrammar({ k: 'repeat', item: ANY_CHAR, min, max });
  }

  /** The integers in [lo, hi] (either may be infinite) as JSON writes them: JSON Schema's minimum and maximum. */
  static integerRange(lo: number, hi: number): RegexGrammar {
    if (lo > hi) throw new Error(`no integer is in [${lo}, ${hi}]`);
    for (const bound of [lo, hi]) if (Number.isFinite(bound) && !Number.isSafeInteger(bound)) throw new Error(`a bound of ${bound} is beyond the integers held here (${Number.MAX_SAFE_INTEGER} at most)`);
    return new RegexGrammar(integerRangeRe(lo, hi));
  }

  private node(): number {
    if (this.nodes.length >= MAX_NFA_NODES) throw new Error(`the pattern is too large to hold a reply to (over ${MAX_NFA_NODES} machine states once its repeats are written out): use smaller repeat counts`);
    this.nodes.push({ eps: [], edges: [] });
    return this.nodes.length - 1;
  }

  /** Adds re's machine after node `from`; returns its end node. */
  private build(re: Re, from: number): number {
    switch (re.k) {
      case 'chars': {
        const to = this.node();
        this.nodes[from].edges.push({ ranges: re.ranges, to });
        return to;
      }
      case 'seq': return re.items.reduce((at, item) => this.build(item, at), from);
      case 'alt': {
        const end = this.node();
        for (const option of re.options) {
          const start = this.node();
          this.nodes[from].eps.push(start);
          this.nodes[this.build(option, start)].eps.push(end);
        }
        return end;
      }
      case 'repeat': {
        let at = from;
        for (let n = 0; n < re.min; n++) at = this.build(re.item, at);
        if (re.max === Infinity) {
          const loop = this.node();
          this.nodes[at].eps.push(loop);
          this.nodes[this.build(re.item, loop)].eps.push(loop);
          return loop;
        }
        const end = this.node();
        for (let n = re.min; n < re.max; n++) {
          this.nodes[at].eps.push(end);
          at = this.build(re.item, at);
        }
        this.nodes[at].eps.push(end);
        return end;
      }
    }
  }

  /** Drops the edges into nodes from which the end cannot be reached (an empty class), so every state left can still end. */
  private prune(): void {
    const into: number[][] = this.nodes.map(() => []);
    this.nodes.forEach((n, from) => {
      for (const to of n.eps) into[to].push(from);
      for (const e of n.edges) if (e.ranges.length) into[e.to].push(from);
    });
    const live = new Set([this.accept]);
    const todo = [this.accept];
    while (todo.length) for (const from of into[todo.pop()!]) if (!live.has(from)) { live.add(from); todo.push(from); }
    for (const n of this.nodes) {
      n.eps = n.eps.filter((to) => live.has(to));
      n.edges = n.edges.filter((e) => e.ranges.length && live.has(e.to));
    }
  }

  /** The nodes reachable from `from` by empty steps, kept where they read a character or accept. */
  private closure(from: number[]): number[] {
    const seen = new Set<number>();
    const todo = [...from];
    const kept: number[] = [];
    while (todo.length) {
      const n = todo.pop()!;
      if (seen.has(n)) continue;
      seen.add(n);
      if (this.nodes[n].edges.length || n === this.accept) kept.push(n);
      todo.push(...this.nodes[n].eps);
    }
    return kept.sort((a, b) => a - b);
  }

  /** The state of these nodes, pending bytes and count: one object a key, its steps kept on it (the machine lazily made a DFA). */
  private state(nodes: number[], pending: number[], count: number): RegexState {
    const key = `r${this.id}:${nodes.join(',')}/${pending.join(',')}${this.lengths ? `#${count}` : ''}`;
    let s = this.states.get(key);
    if (!s) {
      if (this.states.size > 200_000) this.states.clear(); // (states already out keep their steps)
      this.states.set(key, (s = { nodes, pending, count, key, steps: new Array(256) }));
    }
    return s;
  }

  /** The count after one more character (-1: the bounds allow no more). */
  private nextCount(count: number): number {
    const l = this.lengths;
    if (!l) return 0;
    if (l.max === Infinity) return Math.min(count + 1, l.cap);
    return count < l.max ? count + 1 : -1;
  }

  /** The nodes from which the end can still be reached within the length bounds, `count` characters read. */
  private live(nodes: number[], count: number): number[] {
    const l = this.lengths;
    if (!l) return nodes;
    if (count < 0) return [];
    const lo = Math.max(0, l.min - count), hi = l.max === Infinity ? l.cap : l.max - count;
    return nodes.filter((n) => anyBit(l.reach[n], lo, hi));
  }

  /** The state after character c, or null where none of the nodes reads it. */
  private afterChar(s: RegexState, c: number): RegexState | null {
    const to: number[] = [];
    for (const n of s.nodes) for (const e of this.nodes[n].edges) if (inRanges(e.ranges, c)) to.push(e.to);
    if (!to.length) return null;
    const count = this.nextCount(s.count);
    const nodes = this.live(this.closure(to), count);
    return nodes.length ? this.state(nodes, [], count) : null;
  }

  /** Whether some node reads a character in one of these ranges and goes on to a node that can still end. */
  private readsInto(s: RegexState, ranges: [number, number][]): boolean {
    const count = this.nextCount(s.count);
    return s.nodes.some((n) => this.nodes[n].edges.some((e) => ranges.some(([lo, hi]) => overlaps(e.ranges, lo, hi)) && (!this.lengths || this.live(this.closure([e.to]), count).length > 0)));
  }

  /** Whether some node reads a character whose UTF-8 begins with these bytes. */
  private mayRead(s: RegexState, pending: number[]): boolean {
    const span = utf8Span(pending);
    return span !== null && this.readsInto(s, span);
  }

  private feed(s: RegexState, b: number): RegexState | null {
    if (!s.pending.length && b < 0x80) return this.afterChar(s, b);
    const pending = [...s.pending, b];
    const length = utf8Length(pending[0]);
    if (pending.length === length) {
      const c = decodeUtf8(pending);
      return c === null ? null : this.afterChar(s, c);
    }
    return this.mayRead(s, pending) ? this.state(s.nodes, pending, s.count) : null;
  }

  // ---- stepped from outside: by token_constraint.ts, and by json_constraint.ts inside a JSON string or number ----

  get start(): RegexState {
    return this.begin;
  }

  /** The state after byte b of the text's UTF-8 (null: b cannot come), the steps kept. */
  step(s: RegexState, b: number): RegexState | null {
    return this.stepped(s, b)[0] ?? null;
  }

  private stepped(s: RegexState, b: number): RegexState[] {
    let next = s.steps[b];
    if (next === undefined) {
      const state = this.feed(s, b);
      s.steps[b] = next = state ? [state] : NONE;
    }
    return next;
  }

  /** Whether the state reads some character in [lo, hi] (a JSON \\u escape not yet whole). */
  canRead(s: RegexState, lo: number, hi: number): boolean {
    return !s.pending.length && this.readsInto(s, [[lo, hi]]);
  }

  /** The state after a whole character (a JSON escape's), or null. */
  stepChar(s: RegexState, c: number): RegexState | null {
    return s.pending.length ? null : this.afterChar(s, c);
  }

  accepts(s: RegexState): boolean {
    return !s.pending.length && s.nodes.includes(this.accept) && (!this.lengths || s.count >= this.lengths.min);
  }

  /** This grammar as token_constraint.ts's machine. */
  machine(): ByteMachine<RegexState> {
    return {
      start: () => [this.begin],
      feed: (s, b) => this.stepped(s, b),
      key: (s) => s.key,
      accepts: (s) => this.accepts(s),
    };
  }
}

/**
 * How far `bytes` go as the start of a reply the grammar accepts: 'done' where they are a whole
 * one (more may still follow: a* after 'aa'), 'open' where more must follow, or the index of the
 * first byte that cannot come.
 */
export function readRegexPrefix(grammar: RegexGrammar, bytes: ArrayLike<number>): 'done' | 'open' | number {
  return readPrefix(grammar.machine(), bytes);
}

/**
 * A constraint that holds a reply to the grammar: given the reply's tokens so far, the token ids
 * that may come next (the end tokens among them where the reply matches whole). `after` as
 * jsonConstraint's: the hold starts once the reply has written this text.
 */
export function regexConstraint(tokenizer: GPT2Tokenizer, vocabSize: number, endTokens: number[], grammar: RegexGrammar, opts: { after?: string } = {}): (reply: number[]) => number[] {
  return tokenConstraint(tokenizer, vocabSize, endTokens, grammar.machine(), { after: opts.after, what: 'a reply the request\'s pattern (or choice) accepts' });
}
