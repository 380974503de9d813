// Generation held to a regular expression or a list of choices (serve's structured outputs regex
// and choice): the byte machine against Python's re.fullmatch (scripts/reference/regex_ref.py) on
// random patterns, replies drawn from Python's own parse of each and near misses of them: a text it
// reads whole matches, one that matches is read whole, one it leaves open can be finished into a
// match (Python checks the finish), and no prefix of a match is ever stopped. Then the patterns it
// refuses, and token by token through a tokenizer.
import { spawnSync } from 'child_process';
import * as path from 'path';
import * as torch from '../lib';
import { RegexGrammar, readRegexPrefix, regexConstraint } from '../lib/models/regex_constraint';
import { statesAfter } from '../lib/models/token_constraint';

function python(job: unknown): any {
  const r = spawnSync('/usr/bin/python3', [path.join(__dirname, '..', 'scripts', 'reference', 'regex_ref.py')], { input: JSON.stringify(job), encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

/**
 * Bytes that finish `bytes` into a whole match, found by the machine (or null): a character left
 * open is finished by its first continuation bytes that go on, then whole characters are tried
 * breadth first, one of each kind the machine tells apart (where a class's range begins or ends).
 */
function finish(grammar: RegexGrammar, bytes: number[]): number[] | null {
  const m = grammar.machine();
  const added: number[] = [];
  let states = statesAfter(m, bytes).states;
  for (let open = openBytes(bytes); open > 0 && states.length; open--) {
    const b = [...Array(64).keys()].map((k) => 0x80 + k).find((x) => states.some((s) => m.feed(s, x).length));
    if (b === undefined) return null;
    states = states.flatMap((s) => m.feed(s, b));
    added.push(b);
  }
  // (white-box: the code points where the machine's classes begin or end)
  const edges: { ranges: [number, number][] }[] = (grammar as any).nodes.flatMap((n: any) => n.edges);
  const kinds = new Set([0, ...edges.flatMap((e) => e.ranges.flatMap(([lo, hi]) => [lo, hi + 1]))]);
  const chars = [...kinds].map((c) => (c >= 0xd800 && c <= 0xdfff ? 0xe000 : c)).filter((c) => c <= 0x10ffff).map((c) => [...Buffer.from(String.fromCodePoint(c))]);
  let frontier = states.map((s) => ({ s, added }));
  const seen = new Set(frontier.map(({ s }) => m.key(s)));
  for (let depth = 0; depth < 80 && frontier.length; depth++) {
    const done = frontier.find(({ s }) => m.accepts(s));
    if (done) return done.added;
    const next: typeof frontier = [];
    for (const { s, added: before } of frontier) {
      for (const c of chars) {
        for (const t of statesAfterFrom(m, s, c)) {
          if (!seen.has(m.key(t))) {
            seen.add(m.key(t));
            next.push({ s: t, added: [...before, ...c] });
          }
        }
      }
    }
    frontier = next;
  }
  return null;
}

function statesAfterFrom<S>(m: { feed(s: S, b: number): S[] }, s: S, bytes: number[]): S[] {
  return bytes.reduce((states: S[], b) => states.flatMap((x) => m.feed(x, b)), [s]);
}

/** How many continuation bytes the text's last character still lacks (0: it ends whole). */
function openBytes(bytes: number[]): number {
  for (let back = 1; back <= Math.min(4, bytes.length); back++) {
    const b = bytes[bytes.length - back];
    if (b >= 0x80 && b < 0xc0) continue;
    const length = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return Math.max(0, length - back);
  }
  return 0;
}

const show = (bytes: number[]) => JSON.stringify(Buffer.from(bytes).toString('utf8'));

test('the byte machine against Python\'s re.fullmatch: 300 random patterns, matches read whole, near misses stopped or left open only where a match can follow', () => {
  const cases: { pattern: string; texts: number[][] }[] = python({ make: { seed: 11, count: 300 } }).cases;
  const matches: boolean[][] = python({ check: cases }).matches;
  let matched = 0, missed = 0, stopped = 0;
  const finished: { pattern: string; texts: number[][] }[] = [];
  cases.forEach(({ pattern, texts }, c) => {
    const grammar = RegexGrammar.fromPattern(pattern);
    const toFinish: number[][] = [];
    texts.forEach((t, i) => {
      const read = readRegexPrefix(grammar, t);
      expect({ pattern, text: show(t), whole: read === 'done' }).toEqual({ pattern, text: show(t), whole: matches[c][i] });
      if (matches[c][i]) {
        matched++;
        // every prefix of a match, byte by byte, goes on (a character's first bytes too)
        for (let n = 0; n < t.length; n++) expect({ pattern, prefix: t.slice(0, n), read: typeof readRegexPrefix(grammar, t.slice(0, n)) }).toEqual({ pattern, prefix: t.slice(0, n), read: 'string' });
      } else {
        missed++;
        if (typeof read === 'number') {
          stopped++;
          // (stopped at its first bad byte: the text before it still goes on)
          expect(typeof readRegexPrefix(grammar, t.slice(0, read))).toBe('string');
          toFinish.push(t.slice(0, read));
        } else {
          toFinish.push(t);
        }
      }
    });
    // what goes on can be finished: the machine's shortest finish, which Python must find a match
    const done = toFinish.map((t) => {
      const added = finish(grammar, t);
      expect({ pattern, text: show(t), finishable: added !== null }).toEqual({ pattern, text: show(t), finishable: true });
      return [...t, ...added!];
    });
    finished.push({ pattern, texts: done });
  });
  expect(matched).toBeGreaterThan(1800);
  expect(missed).toBeGreaterThan(1500);
  expect(stopped).toBeGreaterThan(800);
  const verdicts: boolean[][] = python({ check: finished }).matches;
  finished.forEach(({ pattern, texts }, c) => texts.forEach((t, i) => expect({ pattern, text: show(t), match: verdicts[c][i] }).toEqual({ pattern, text: show(t), match: true })));
});

test('strict UTF-8: overlong forms, surrogates and stray continuation bytes are stopped where they begin to go wrong; a class of one script reads its characters\' first bytes only', () => {
  const any = RegexGrammar.fromPattern('.*');
  expect(readRegexPrefix(any, [0xc0, 0x80])).toBe(0); // (overlong: no lead byte C0)
  expect(readRegexPrefix(any, [0xe0, 0x80, 0x80])).toBe(1); // (overlong 3-byte form)
  expect(readRegexPrefix(any, [0xed, 0xa0, 0x80])).toBe(1); // (a surrogate)
  expect(readRegexPrefix(any, [0xf4, 0x90, 0x80, 0x80])).toBe(1); // (beyond U+10FFFF)
  expect(readRegexPrefix(any, [0x80])).toBe(0);
  expect(readRegexPrefix(any, [0xe6, 0x9d])).toBe('open'); // (東's first two bytes: not yet a character)
  expect(readRegexPrefix(any, [...Buffer.from('東😀')])).toBe('done');
  const han = RegexGrammar.fromPattern('[\\u4e00-\\u9fff]+');
  expect(readRegexPrefix(han, [0xe4])).toBe('open');
  expect(readRegexPrefix(han, [0xe3])).toBe(0); // (E3 begins U+3000..U+3FFF: none in the class)
  expect(readRegexPrefix(han, [0xc3])).toBe(0);
  expect(readRegexPrefix(han, [...Buffer.from('東京')])).toBe('done');
  const notHan = RegexGrammar.fromPattern('[^\\u4e00-\\u9fff]');
  expect(readRegexPrefix(notHan, [0xe6])).toBe(0); // (E6 begins U+6000..U+6FFF: all in the range refused)
  expect(readRegexPrefix(notHan, [0xe3])).toBe('open');
  expect(readRegexPrefix(notHan, [0xe4, 0xb7])).toBe('open'); // (U+4DC0..U+4DFF: before the range)
  expect(readRegexPrefix(notHan, [0xe4, 0xb8])).toBe(1); // (U+4E00..U+4E3F: in it)
});

test('patterns refused by name (what a finite machine cannot read, or Python itself refuses), and Python\'s syntax read as Python reads it', () => {
  const refused: [string, RegExp][] = [
    ['(?=a)a', /lookahead is not served/], ['a(?<!b)', /lookbehind is not served/], ['(a)\\1', /backreference/], ['(?P<x>a)(?P=x)', /backreference/],
    ['(?i)a', /inline flag/], ['\\bword\\b', /word boundary/], ['a^b', /\^ only at the start/], ['a$b', /\$ only at the end/], ['(^a)', /\^ only at the start/],
    ['a**', /multiple repeat/], ['*a', /nothing to repeat/], ['a{3,2}', /min repeat greater than max/], ['(a', /missing \)/], ['a)', /unbalanced parenthesis/],
    ['[b-a]', /bad character range/], ['[\\d-z]', /bad character range/], ['\\q', /bad escape \\q/], ['[abc', /unterminated character set/], ['a{2000}', /over 1000/],
    ['(?:a{1000}){100}', /too large/], ['\\N{DIGIT ONE}', /named character/], ['a*+', /possessive/], ['[^\\x00-\\U0010ffff]', /matches no reply/],
  ];
  for (const [pattern, message] of refused) expect(() => RegexGrammar.fromPattern(pattern)).toThrow(message);
  // Python's readings: { not a repeat is a literal; ] first in a class is a literal; - at a class's end; octal \0; {,n}
  const cases: [string, string, boolean][] = [
    ['a{', 'a{', true], ['a{}', 'a{}', true], ['a{x}', 'a{x}', true], ['a{,2}', 'aa', true], ['a{,2}', 'aaa', false], ['a{2,}', 'aaaaa', true],
    ['[]a]+', ']a]', true], ['[^]]', ']', false], ['[a-]', '-', true], ['\\0', '\0', true], ['\\x41\\u00e9\\U0001F600', 'Aé😀', true],
    ['^ab$|^c$', 'c', true], ['\\Aab\\Z', 'ab', true], ['a.c', 'a\nc', false], ['\\s', '\v', true], ['\\w', 'é', false], ['\\W', 'é', true], ['[\\b]', '\b', true],
    ['(?P<name>x)+?y', 'xxy', true], ['', '', true], ['a|', '', true],
  ];
  const verdicts: boolean[][] = python({ check: cases.map(([pattern, text]) => ({ pattern, texts: [[...Buffer.from(text)]] })) }).matches;
  cases.forEach(([pattern, text, want], i) => {
    expect({ pattern, text, python: verdicts[i][0] }).toEqual({ pattern, text, python: want });
    expect({ pattern, text, ours: readRegexPrefix(RegexGrammar.fromPattern(pattern), Buffer.from(text)) === 'done' }).toEqual({ pattern, text, ours: want });
  });
});

test('choices: exactly one of them, as written; a choice that begins another may end or go on', () => {
  const g = RegexGrammar.choice(['yes', 'no', 'not sure', 'a.b', '東京']);
  const read = (s: string) => readRegexPrefix(g, Buffer.from(s));
  expect(['yes', 'no', 'not sure', 'a.b', '東京'].map(read)).toEqual(['done', 'done', 'done', 'done', 'done']);
  expect(read('no')).toBe('done');
  expect(read('not')).toBe('open');
  expect(read('axb')).toBe(1); // (the dot is a dot, not a pattern's)
  expect(read('yes!')).toBe(3);
  expect(read('')).toBe('open');
  expect(() => RegexGrammar.choice([])).toThrow(/non-empty list of strings/);
  expect(() => RegexGrammar.choice(['a', 1 as unknown as string])).toThrow(/non-empty list of strings/);
});

test('token by token: each token of a match is allowed at its place, the end where the reply matches whole; a choice\'s tokens and nothing else', () => {
  const tok = torch.tokenizer;
  const END = 50256;
  const phone = RegexGrammar.fromPattern('\\(\\d{3}\\) \\d{3}-\\d{4}( ext\\. \\d{1,4})?');
  const allowedNext = regexConstraint(tok, 50257, [END], phone);
  for (const text of ['(555) 123-4567', '(555) 123-4567 ext. 89']) {
    const ids = tok.encode(text);
    for (let i = 0; i < ids.length; i++) {
      const allowed = allowedNext(ids.slice(0, i));
      expect(allowed).toContain(ids[i]);
      expect(allowed.includes(END)).toBe(readRegexPrefix(phone, Buffer.from(tok.decode(ids.slice(0, i)))) === 'done');
    }
    const atEnd = allowedNext(ids);
    expect(atEnd).toContain(END);
    // (after the number, only the extension may go on: every text token allowed starts it)
    if (text === '(555) 123-4567') expect(atEnd.filter((id) => id !== END).every((id) => ' ext. 1'.startsWith(tok.decode([id])) || tok.decode([id]).startsWith(' ext'))).toBe(true);
  }
  // every token offered keeps the reply the start of a match
  const some = allowedNext(tok.encode('(55'));
  expect(some.every((id) => typeof readRegexPrefix(phone, Buffer.from('(55' + tok.decode([id]))) === 'string')).toBe(true);
  expect(some.length).toBeGreaterThan(5);
  expect(() => allowedNext(tok.encode('555'))).toThrow(/not the start of a reply the request's pattern \(or choice\) accepts/);

  const choose = regexConstraint(tok, 50257, [END], RegexGrammar.choice(['positive', 'negative', 'neutral']));
  const first = choose([]).map((id) => tok.decode([id]));
  expect(first.length).toBeGreaterThan(2);
  expect(first.every((t) => ['positive', 'negative', 'neutral'].some((c) => c.startsWith(t)))).toBe(true);
  expect(choose(tok.encode('neutral'))).toEqual([END]);
  // (the reasoning first, then the hold: before the tag, any token)
  const afterThink = regexConstraint(tok, 50257, [END], RegexGrammar.choice(['yes', 'no']), { after: '</think>' });
  expect(afterThink(tok.encode('let me see')).length).toBe(50257);
  expect(afterThink(tok.encode('hmm</think>')).map((id) => tok.decode([id])).sort()).toEqual(expect.arrayContaining(['no', 'yes']));
});

test('integerRange (JSON Schema\'s minimum and maximum): every integer text in and around 300 random ranges, against arithmetic', () => {
  let seed = 5;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const pick = () => { const r = rand(); return r < 0.1 ? -Infinity : r < 0.2 ? Infinity : Math.round((rand() - 0.5) * 10 ** Math.floor(rand() * 6)); };
  for (let k = 0; k < 300; k++) {
    let [lo, hi] = [pick(), pick()].sort((a, b) => a - b);
    if (lo === hi && !Number.isFinite(lo)) [lo, hi] = [-Infinity, Infinity];
    const g = RegexGrammar.integerRange(lo, hi);
    const near = [lo, hi].filter(Number.isFinite).flatMap((b) => [b - 11, b - 10, b - 1, b, b + 1, b + 10, b + 11]);
    for (const v of [...near, 0, 1, -1, 9, 10, 99, 100, -100, 12345, -98765, 10 ** 7, -(10 ** 7)]) {
      expect({ lo, hi, v, done: readRegexPrefix(g, Buffer.from(String(v))) === 'done' }).toEqual({ lo, hi, v, done: v >= lo && v <= hi });
    }
    expect(readRegexPrefix(g, Buffer.from('-0')) === 'done').toBe(lo <= 0 && hi >= 0); // (JSON's -0 is 0)
    expect(readRegexPrefix(g, Buffer.from('007'))).toEqual(expect.any(Number)); // (no leading zeros)
  }
});

test('the hold never leads into a dead end: random walks through a random pattern\'s allowed tokens always find some token (or the end) allowed', () => {
  const tok = torch.tokenizer;
  const cases: { pattern: string }[] = python({ make: { seed: 12, count: 25 } }).cases;
  let seed = 3;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  let ended = 0;
  for (const { pattern } of cases) {
    const grammar = RegexGrammar.fromPattern(pattern);
    const allowedNext = regexConstraint(tok, 50257, [50256], grammar);
    for (let walk = 0; walk < 3; walk++) {
      const reply: number[] = [];
      for (let step = 0; step < 30; step++) {
        const allowed = allowedNext(reply);
        expect({ pattern, reply, some: allowed.length > 0 }).toEqual({ pattern, reply, some: true });
        const id = allowed[Math.floor(rand() * allowed.length)];
        if (id === 50256) {
          ended++;
          expect(readRegexPrefix(grammar, Buffer.from(tok.decode(reply)))).toBe('done');
          break;
        }
        reply.push(id);
      }
    }
  }
  expect(ended).toBeGreaterThan(5);
});

test('beam search under a hold: fewer allowed tokens than candidates a step, and every returned sequence is still a whole match (none goes on from a token the hold took away)', () => {
  torch.manualSeed(0);
  const model = new torch.GPT2LMHeadModel({ vocab_size: 50257, n_positions: 64, n_embd: 16, n_layer: 1, n_head: 2 });
  try {
    const tok = torch.tokenizer;
    const prompt = tok.encode('Answer:');
    for (const grammar of [RegexGrammar.choice(['yes', 'no', 'maybe not']), RegexGrammar.fromPattern('[0-9]{2}|ab')]) {
      const hold = regexConstraint(tok, 50257, [50256], grammar);
      const out = model.beamSearch([prompt], { numBeams: 4, numReturnSequences: 4, maxNewTokens: 8, eosTokenId: 50256, prefixAllowedTokensFn: (_b, ids) => hold(ids.slice(prompt.length)) });
      expect(out.sequences.length).toBe(4);
      out.sequences.forEach((s, i) => {
        const reply = s.slice(prompt.length).filter((t) => t !== 50256);
        expect({ reply: tok.decode(reply), read: readRegexPrefix(grammar, Buffer.from(tok.decode(reply))), score: Number.isFinite(out.scores[i]) }).toEqual({ reply: tok.decode(reply), read: 'done', score: true });
      });
    }
  } finally {
    model.dispose();
  }
});
