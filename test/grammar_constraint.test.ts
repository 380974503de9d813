// Generation held to a grammar (vLLM's structured outputs "grammar": EBNF as xgrammar and
// llama.cpp's GBNF write it): the machine against python3-lark's Earley parser on random grammars
// (scripts/reference/grammar_ref.py writes each one twice from one tree: as EBNF for us, in Lark's
// syntax for Lark). A text the machine reads whole Lark parses, one it stops Lark does not, and
// every text it leaves open the grammar finishes (the shortest way, from the state's stacks) into
// one it reads whole and Lark parses; token by token, random walks never find no token allowed.
import { spawnSync } from 'child_process';
import * as path from 'path';
import * as torch from '../lib';
import { EbnfGrammar, grammarConstraint, readGrammarPrefix } from '../lib/models/grammar_constraint';
import { statesAfter, tokenConstraint, type ByteMachine } from '../lib/models/token_constraint';
import { seededRandom } from './helpers';

function python(job: unknown): any {
  const r = spawnSync('/usr/bin/python3', [path.join(__dirname, '..', 'scripts', 'reference', 'grammar_ref.py')], { input: JSON.stringify(job), encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}
const read = (g: EbnfGrammar, text: string) => readGrammarPrefix(g, Buffer.from(text));

test('random grammars against Lark: 120 grammars, 8 texts each drawn from the grammar and 8 near misses: read whole exactly where Lark parses them; every prefix left open is finished by the grammar into a text Lark parses', () => {
  const grammars: { ebnf: string; lark: string; texts: string[] }[] = python({ make: { seed: 17, count: 120 } });
  const verdicts: boolean[][] = python({ check: grammars }).verdicts;
  let whole = 0, stopped = 0;
  const finishes: { lark: string; texts: string[] }[] = [];
  grammars.forEach(({ ebnf, lark, texts }, i) => {
    const grammar = EbnfGrammar.fromText(ebnf);
    texts.forEach((text, j) => {
      const done = read(grammar, text) === 'done';
      expect({ ebnf, text, done }).toEqual({ ebnf, text, done: verdicts[i][j] });
      if (done) whole++;
      else stopped++;
    });
    // (every prefix of the texts that the machine leaves open, finished by the grammar the shortest way: the machine reads it whole, and Lark is to parse it)
    const open = new Set<string>();
    for (const text of texts) {
      const bytes = Buffer.from(text);
      for (let n = 0; n <= bytes.length; n++) if (readGrammarPrefix(grammar, bytes.subarray(0, n)) === 'open') open.add(bytes.subarray(0, n).toString('hex'));
    }
    const machine = grammar.machine();
    const finished = [...open].map((hex) => {
      const prefix = Buffer.from(hex, 'hex');
      const [state] = statesAfter(machine, prefix).states;
      const whole = Buffer.concat([prefix, Buffer.from(grammar.finish(state))]);
      expect({ ebnf, prefix: prefix.toString(), read: readGrammarPrefix(grammar, whole) }).toEqual({ ebnf, prefix: prefix.toString(), read: 'done' });
      return whole.toString();
    });
    finishes.push({ lark, texts: finished });
  });
  expect({ whole: whole > 900, stopped: stopped > 600 }).toEqual({ whole: true, stopped: true });
  const parsed: boolean[][] = python({ check: finishes }).verdicts;
  finishes.forEach(({ texts }, i) => texts.forEach((text, j) => expect({ text, parsed: parsed[i][j] }).toEqual({ text, parsed: true })));
  expect(finishes.reduce((n, f) => n + f.texts.length, 0)).toBeGreaterThan(500);
});

// vLLM's documented example (structured outputs, grammar), and an arithmetic grammar with nesting
const SQL = `
root ::= select_statement

select_statement ::= "SELECT " column " from " table " where " condition

column ::= "col_1 " | "col_2 "

table ::= "table_1 " | "table_2 "

condition ::= column "= " number

number ::= "1 " | "2 "
`;
const ARITHMETIC = `# numbers, + - * /, and parentheses
root ::= expr
expr ::= term (space [-+] space term)*
term ::= factor (space [*/] space factor)*
factor ::= "-"? [0-9]+ ("." [0-9]+)? | "(" space expr space ")"
space ::= " "?
`;

const JSON_GBNF = String.raw`root   ::= object
value  ::= object | array | string | number | ("true" | "false" | "null") ws

object ::=
  "{" ws (
            string ":" ws value
    ("," ws string ":" ws value)*
  )? "}" ws

array  ::=
  "[" ws (
            value
    ("," ws value)*
  )? "]" ws

string ::=
  "\"" (
    [^"\\\x7F\x00-\x1F] |
    "\\" (["\\bfnrt] | "u" [0-9a-fA-F]{4}) # escapes
  )* "\"" ws

number ::= ("-"? ([0-9] | [1-9] [0-9]{0,15})) ("." [0-9]+)? ([eE] [-+]? [1-9] [0-9]{0,15})? ws

# Optional space: by convention, applied in this grammar after literal chars when allowed
ws ::= | " " | "\n" [ \t]{0,20}
`;

test('the language\'s forms: vLLM\'s SQL example, llama.cpp\'s json.gbnf, nesting, escapes, classes, ., repeats, comments, strict UTF-8', () => {
  const sql = EbnfGrammar.fromText(SQL);
  expect(read(sql, 'SELECT col_1  from table_2  where col_2 = 1 ')).toBe('done');
  expect(read(sql, 'SELECT col_2 ')).toBe('open');
  expect(read(sql, 'SELECT col_3')).toBe(11);
  const arithmetic = EbnfGrammar.fromText(ARITHMETIC);
  expect(['1+2', '(1 + 2) * -3.5', '((((7))))', '-0.25/(4-2)'].map((t) => read(arithmetic, t))).toEqual(['done', 'done', 'done', 'done']);
  expect(['(1', '1 +', '((2)'].map((t) => read(arithmetic, t))).toEqual(['open', 'open', 'open']);
  expect(['1++2', '1)', '.5'].map((t) => read(arithmetic, t))).toEqual([2, 1, 0]);
  const forms = EbnfGrammar.fromText('root ::= "\\x41\\u00e9\\U0001F600" [^a-z\\]] . "\\"\\\\" [\\-^]{2} "!"{1,3}');
  expect(read(forms, 'Aé😀Z\n"\\-^!!')).toBe('done');
  expect(read(forms, 'Aé😀A東"\\^-!!!')).toBe('done');
  expect(read(forms, 'Aé😀a')).toBe(7); // ([^a-z\]]: no lowercase letter)
  expect(read(forms, 'Aé😀]')).toBe(7); // (nor ])
  expect(read(forms, 'Aé😀Zx"\\--!!!!')).toBe(16); // (at most three !)
  // (strict UTF-8: no overlong form, no surrogate, a character's first bytes only where one may come)
  const any = EbnfGrammar.fromText('root ::= .*');
  expect(readGrammarPrefix(any, [0xc0, 0x80])).toBe(0);
  expect(readGrammarPrefix(any, [0xed, 0xa0, 0x80])).toBe(1);
  expect(readGrammarPrefix(any, [0xe6, 0x9d])).toBe('open');
  const ascii = EbnfGrammar.fromText('root ::= [a-z]* "é"?');
  expect(readGrammarPrefix(ascii, [0xc3])).toBe('open'); // (é's first byte)
  expect(readGrammarPrefix(ascii, [0xc4])).toBe(0); // (no character from U+0100 on may come)
  // (an empty repeat and a nullable rule repeated: no endless loop)
  const nullable = EbnfGrammar.fromText('root ::= item* "."\nitem ::= "a"? "b"?');
  expect(['.', 'ab.', 'bba.', 'aa.'].map((t) => read(nullable, t))).toEqual(['done', 'done', 'done', 'done']);
  // (llama.cpp's grammars/json.gbnf, as it is written there: multi-line rules, an empty alternative, escapes in classes, comments)
  const json = EbnfGrammar.fromText(JSON_GBNF);
  expect(['{"a": [1, 2.5e3, "x\\n"], "b": {"c": null}}', '{}', '{"k": "\\u00e9"} ', '{\n  "t": true\n}'].map((t) => read(json, t))).toEqual(['done', 'done', 'done', 'done']);
  expect([read(json, '{"a":'), read(json, '{"a" 1}'), read(json, '{"a": 01}'), read(json, '{"a": "\u0001"}')]).toEqual(['open', 5, 7, 7]);
  // (recursion through the middle: balanced brackets, deep)
  const brackets = EbnfGrammar.fromText('root ::= pair*\npair ::= "[" root "]" | "{" root "}"');
  expect(read(brackets, '[{}[]]'.repeat(3) + '['.repeat(200) + ']'.repeat(200))).toBe('done');
  expect(read(brackets, '[{]')).toBe(2);
});

test('what cannot be held is refused by name, never read past', () => {
  const refused: [string, RegExp][] = [
    ['expr ::= expr "+" term | term\nterm ::= [0-9]\nroot ::= expr', /the rule expr may begin with itself \(left recursion.*write it as a repeat/],
    ['root ::= a "x"\na ::= b\nb ::= a "y" | "z"', /the rule a may begin with itself|the rule b may begin with itself/],
    ['start ::= "a"', /no rule named root.*rename start to root/],
    ['root ::= missing', /line 1, column 10: the rule missing is not defined \(in root\)/],
    ['root: "a" | "b"', /expected ::= after the rule name root \(this reads as a Lark grammar: give it as EBNF/],
    ['root ::= "a" (= "b")', /a lookahead assertion \(= \.\.\.\) is not served/],
    ['root ::= TagDispatch(("<a>", a))', /TagDispatch\(\.\.\.\) is not served/],
    ['root ::= [z-a]', /a class's range runs backwards/],
    ['root ::= "a"{3,2}', /has its least above its most/],
    ['root ::= "a"{5000}', /a repeat over 1000 is not served/],
    ['root ::= "\\q"', /unknown escape \\q/],
    ['root ::= "\\uD800"', /\\uD800 is no character/],
    ['root ::= "abc', /a string " is not closed/],
    ['root ::= ("a"', /a group \( is not closed/],
    ['root ::= "a"\nroot ::= "b"', /the rule root is defined twice/],
    ['root ::= a\na ::= "x" a', /derives no text from root/],
    [`root ::= ${'"a"{1000} '.repeat(201)}`, /too large to hold a reply to \(over 200000 places/],
  ];
  for (const [text, message] of refused) expect(() => EbnfGrammar.fromText(text)).toThrow(message);
  // (a text read in over 1000 ways at once is not taken: here the readings treble with each "a", and the 9th is refused; the texts around it are held)
  const ambiguous = EbnfGrammar.fromText('root ::= r\nr ::= "a" r "b" | "a" r "c" | "a"');
  expect([read(ambiguous, 'a'.repeat(8)), read(ambiguous, 'a'.repeat(9)), read(ambiguous, `${'a'.repeat(8)}bcbcbcb`)]).toEqual(['open', 8, 'done']);
  // (where a machine leaves no way on, the hold says so rather than allow nothing)
  const stuck: ByteMachine<number> = { start: () => [0], feed: (s, b) => (s === 0 && b === 0x78 ? [1] : []), key: String, accepts: () => false };
  expect(() => tokenConstraint(torch.tokenizer, 50257, [50256], stuck, { what: 'the stub' })(torch.tokenizer.encode('x'))).toThrow(/no token may come next: the stub has no way on from the reply so far/);
  // (an alternative that can never end is dropped; the rest are held)
  const pruned = EbnfGrammar.fromText('root ::= "a" loop | "b"\nloop ::= "x" loop');
  expect([read(pruned, 'b'), read(pruned, 'a')]).toEqual(['done', 0]);
});

test('token by token: random walks through the allowed tokens always find one, and end in texts Lark parses', () => {
  const tok = torch.tokenizer;
  const lark: Record<string, string> = {
    sql: 'start: "SELECT " column " from " table " where " column "= " number\ncolumn: "col_1 " | "col_2 "\ntable: "table_1 " | "table_2 "\nnumber: "1 " | "2 "\n',
    arithmetic: 'start: expr\nexpr: term (space /[-+]/ space term)*\nterm: factor (space /[*\\/]/ space factor)*\nfactor: "-"? /[0-9]/+ ("." /[0-9]/+)? | "(" space expr space ")"\nspace: " "?\n',
  };
  const { random } = seededRandom(5);
  for (const [name, text] of [['sql', SQL], ['arithmetic', ARITHMETIC]]) {
    const allowedNext = grammarConstraint(tok, 50257, [50256], EbnfGrammar.fromText(text));
    const finished: string[] = [];
    for (let walk = 0; walk < 12; walk++) {
      const reply: number[] = [];
      for (let step = 0; step < 60; step++) {
        const allowed = allowedNext(reply);
        expect({ name, reply: tok.decode(reply), some: allowed.length > 0 }).toEqual({ name, reply: tok.decode(reply), some: true });
        if (allowed.includes(50256) && random() < 0.3) break;
        const tokens = allowed.filter((id) => id !== 50256);
        if (!tokens.length) break;
        reply.push(tokens[Math.floor(random() * tokens.length)]);
      }
      if (allowedNext(reply).includes(50256)) finished.push(tok.decode(reply));
    }
    expect({ name, finished: finished.length >= 4 }).toEqual({ name, finished: true });
    const parsed: boolean[] = python({ check: [{ lark: lark[name], texts: finished }] }).verdicts[0];
    expect({ name, finished, parsed }).toEqual({ name, finished, parsed: finished.map(() => true) });
  }
});
