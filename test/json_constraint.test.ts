// Generation held to a JSON object (serve's response_format json_object): the byte machine that
// decides what may come next, against Python's json module on random objects and near misses
// (scripts/reference/json_ref.py): a text it reads whole is one JSON object to Python, one it
// leaves open can be closed into one, one it stops is none; and token by token, a JSON object's
// own tokens are always allowed and the end only once it is closed.
import { spawnSync } from 'child_process';
import * as path from 'path';
import * as torch from '../lib';
import { JsonGrammar, jsonConstraint, readJsonPrefix } from '../lib/models/json_constraint';
import { tokenConstraint } from '../lib/models/token_constraint';
import { shortestFinish } from './helpers';

const OBJECT = JsonGrammar.object();
const readJsonObject = (bytes: ArrayLike<number>) => readJsonPrefix(OBJECT, bytes);

function python(job: unknown): any {
  const r = spawnSync('/usr/bin/python3', [path.join(__dirname, '..', 'scripts', 'reference', 'json_ref.py')], { input: JSON.stringify(job), encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

// (bytes that close whatever is open, tried in this order: a string's quote, a container's close, ':' after a key, a digit, a literal's letters, a continuation byte)
const CLOSERS = [...'"}]:0ruealsn'].map((c) => c.charCodeAt(0)).concat([0x80, 0x90, 0xa0]);

/** The text with bytes added until it is a whole object (by the machine alone), or null where it gets stuck. */
function closed(bytes: number[]): number[] | null {
  const out = [...bytes];
  for (let n = 0; n < 200; n++) {
    const now = readJsonObject(out);
    if (now === 'done') return out;
    const next = CLOSERS.find((b) => readJsonObject([...out, b]) !== out.length);
    if (next === undefined) return null;
    out.push(next);
  }
  return null;
}

test('the byte machine against Python\'s json: whole objects are read whole, near misses stopped where no object can follow, open ones can be closed into one', () => {
  const texts: number[][] = python({ make: { seed: 7, count: 400 } }).texts;
  const objects: boolean[] = python({ check: texts }).objects;
  expect(objects.filter(Boolean).length).toBeGreaterThan(400); // (the 400 made whole, and the near misses that stay objects)
  expect(objects.filter((o) => !o).length).toBeGreaterThan(200);
  const open: number[][] = [];
  texts.forEach((t, i) => {
    const read = readJsonObject(t);
    // an object to Python is read whole; what is read whole is an object to Python
    expect({ text: Buffer.from(t).toString('latin1'), read: read === 'done' }).toEqual({ text: Buffer.from(t).toString('latin1'), read: objects[i] });
    if (read === 'open') open.push(t);
  });
  // left open: the machine closes each, and Python agrees it is then an object (so 'open' never hides a dead end)
  expect(open.length).toBeGreaterThan(20);
  const closes = open.map(closed);
  expect(closes.every((c) => c !== null)).toBe(true);
  expect(python({ check: closes }).objects.every(Boolean)).toBe(true);
  // stopped: the machine's first bad byte; the text up to it is still open or whole, not stopped earlier
  for (const t of texts) {
    const read = readJsonObject(t);
    if (typeof read === 'number') expect(readJsonObject(t.slice(0, read))).not.toEqual(expect.any(Number));
  }
});

test('strict UTF-8 and JSON\'s own rules: overlong forms, surrogates, control characters, leading zeros, NaN, whitespace around the object; the limit on whitespace runs', () => {
  const cases: [string | number[], string | number][] = [
    ['{"a": "é"}', 'done'],
    [[0x7b, 0x22, 0xc0, 0xaf, 0x22, 0x7d], 2], // (an overlong '/')
    [[0x7b, 0x22, 0xed, 0xa0, 0x80], 3], // (a surrogate in UTF-8)
    [[0x7b, 0x22, 0xf4, 0x90], 3], // (past U+10FFFF)
    ['{"a\u0001": 1}', 3],
    ['{"a": 01}', 7],
    ['{"a": -}', 7],
    ['{"a": NaN}', 6],
    [' {}', 0],
    ['{} ', 2],
    ['{"a": [1, 2,]}', 12],
    ['{"a": "\\ud800"}', 'done'], // (a lone surrogate escape is JSON, as Python reads it)
    ['{"a": tru', 'open'],
    ['[]', 0],
    ['{\n\n"a": 1}', 2], // (tstorch's limit: one line break in a run of whitespace, up to 64 bytes)
    [`{\n${' '.repeat(63)}}`, 'done'],
    [`{${' '.repeat(65)}}`, 65],
    [String.raw`{"a": "\n\n\n"}`, 'done'], // (escaped line breaks are a string's, not whitespace)
  ];
  const bytes = (c: string | number[]) => (typeof c === 'string' ? [...Buffer.from(c, 'utf8')] : c);
  const want = python({ check: cases.map(([c]) => bytes(c)) }).objects;
  cases.forEach(([c, read], i) => {
    expect({ c, read: readJsonObject(bytes(c)) }).toEqual({ c, read });
    expect({ c, object: want[i] }).toEqual({ c, object: read === 'done' });
  });
});

test('token by token: each token of a JSON object is allowed at its place, the end only after the object is closed; a text token never after it', () => {
  const tok = torch.tokenizer;
  const allowedNext = jsonConstraint(tok, 50257, [50256], OBJECT);
  const texts: number[][] = python({ make: { seed: 3, count: 40 } }).texts.slice(0, 40);
  for (const t of texts) {
    const ids = tok.encode(Buffer.from(t).toString('utf8'));
    for (let i = 0; i <= ids.length; i++) {
      const allowed = allowedNext(ids.slice(0, i));
      if (i < ids.length) {
        expect(allowed).toContain(ids[i]);
        expect(allowed).not.toContain(50256);
      } else {
        expect(allowed).toEqual([50256]);
      }
    }
  }
  // what the machine refuses, the constraint does not offer: a token that makes a near miss
  const afterKey = allowedNext(tok.encode('{"a"'));
  expect(afterKey).toContain(tok.encode(':')[0]);
  expect(afterKey).not.toContain(tok.encode(',')[0]);
  expect(allowedNext([])).toEqual(expect.arrayContaining(tok.encode('{')));
  expect(allowedNext([]).every((id) => tok.decode([id]).startsWith('{'))).toBe(true);
  expect(() => allowedNext(tok.encode('[1]'))).toThrow(/not the start of JSON the request's response_format accepts/);
});

// Schemas of the kinds structured outputs use: required and optional properties, nullable and
// union types, enums and consts, arrays with bounds, $defs with a recursive $ref, anyOf,
// additionalProperties as a schema, and no properties at all.
const SCHEMAS: Record<string, unknown> = {
  person: {
    type: 'object',
    properties: { name: { type: 'string' }, age: { type: 'integer' }, email: { type: ['string', 'null'] }, tags: { type: 'array', items: { type: 'string' }, maxItems: 3 }, role: { enum: ['admin', 'user', null] } },
    required: ['name', 'age'], additionalProperties: false,
  },
  shapes: {
    type: 'object',
    $defs: { point: { type: 'object', properties: { x: { type: 'number' }, y: { type: 'number' } }, required: ['x', 'y'] } },
    properties: { kind: { const: 'shape' }, points: { type: 'array', items: { $ref: '#/$defs/point' }, minItems: 1 }, label: { anyOf: [{ type: 'string' }, { type: 'integer' }] } },
    required: ['kind', 'points'],
  },
  flags: { type: 'object', properties: { id: { type: 'integer' } }, required: ['id'], additionalProperties: { type: 'boolean' } },
  anything: { type: 'object' },
  tree: { $defs: { node: { type: 'object', properties: { v: { type: 'integer' }, kids: { type: 'array', items: { $ref: '#/$defs/node' } } }, required: ['v'] } }, $ref: '#/$defs/node' },
  optional: { type: 'object', properties: { ok: { type: 'boolean' }, meta: { type: 'object', properties: { n: { type: 'number', nullable: true } } } } },
  nothing: { type: 'object', properties: { none: { type: 'object', properties: {} } } }, // (properties given, none listed: {} only, as xgrammar's strict mode)
  // (Pydantic's tuple[int, str] and tuple[int, ...], and v1's allOf around a described $ref)
  tuples: {
    type: 'object',
    $defs: { point: { type: 'object', properties: { x: { type: 'integer' } }, required: ['x'] } },
    properties: {
      pair: { type: 'array', prefixItems: [{ type: 'integer' }, { type: 'string' }], items: false, minItems: 2, maxItems: 2 },
      head: { type: 'array', prefixItems: [{ type: 'boolean' }], items: { type: 'integer' } },
      at: { allOf: [{ $ref: '#/$defs/point' }], description: 'where' },
    },
    required: ['pair', 'at'],
  },
  // (Pydantic's constr / conint / confloat: a pattern, as re.search reads it; lengths in characters; integer bounds)
  checked: {
    type: 'object',
    properties: {
      code: { type: 'string', pattern: '^[A-Z]{2}-\\d{3}$' }, name: { type: 'string', minLength: 2, maxLength: 5 }, note: { type: ['string', 'null'], pattern: 'ok|fine', maxLength: 12 },
      age: { type: 'integer', minimum: 0, maximum: 130 }, delta: { type: 'integer', exclusiveMinimum: -10.5, exclusiveMaximum: 1000 }, big: { type: 'integer', minimum: 99 },
      price: { type: 'number', exclusiveMinimum: 0, maximum: 99.5 }, temp: { type: ['number', 'null'], minimum: -40.5, exclusiveMaximum: 60 }, ratio: { enum: [0.5, 0.25, 'none'] },
    },
    required: ['code', 'age', 'name'],
  },
};

test('schemas against python3-jsonschema: objects a schema accepts are read whole, near misses (a required property missing, two swapped, a wrong type, an unknown one) are not', () => {
  for (const [name, schema] of Object.entries(SCHEMAS)) {
    const grammar = JsonGrammar.fromSchema(schema);
    const texts: number[][] = python({ make: { seed: 5, count: 200, schema } }).texts;
    const accepted: boolean[] = python({ check: texts, schema }).objects;
    // (both outcomes exercised for each schema)
    expect({ name, some: accepted.filter(Boolean).length > 60, notAll: accepted.filter((a) => !a).length > 10 }).toEqual({ name, some: true, notAll: true });
    texts.forEach((t, i) => {
      const read = readJsonPrefix(grammar, t);
      expect({ name, text: Buffer.from(t).toString('utf8'), done: read === 'done' }).toEqual({ name, text: Buffer.from(t).toString('utf8'), done: accepted[i] });
    });
  }
});

test('any root (vLLM\'s structured outputs json, a structural tag\'s json_schema): a bare string, number, literal, enum or union at the root read whole exactly where python3-jsonschema accepts it; a number at the root ends wherever it is whole', () => {
  const roots: Record<string, unknown> = {
    short: { type: 'string', maxLength: 5 },
    pattern: { type: 'string', pattern: '^[a-z]+-\\d$' },
    age: { type: 'integer', minimum: -5, maximum: 120 },
    number: { type: 'number' },
    unit: { type: 'number', minimum: 0, exclusiveMaximum: 1 },
    flag: { type: 'boolean' },
    enum: { enum: ['red', 'green', 3, 12, null] },
    union: { anyOf: [{ type: 'integer' }, { type: 'string', pattern: '^x+$' }] },
    nullable: { type: ['string', 'null'] },
    any: true,
  };
  for (const [name, schema] of Object.entries(roots)) {
    const grammar = JsonGrammar.fromSchema(schema, { anyRoot: true });
    const texts: number[][] = python({ make: { seed: 9, count: 120, schema } }).texts;
    const accepted: boolean[] = python({ check: texts, schema, any_root: true }).objects;
    expect({ name, some: accepted.filter(Boolean).length > 20, notAll: accepted.filter((a) => !a).length > 5 }).toEqual({ name, some: true, notAll: true });
    texts.forEach((t, i) => {
      const text = Buffer.from(t).toString('utf8');
      expect({ name, text, done: readJsonPrefix(grammar, t) === 'done' }).toEqual({ name, text, done: accepted[i] });
    });
  }
  const read = (schema: unknown, text: string) => readJsonPrefix(JsonGrammar.fromSchema(schema, { anyRoot: true }), Buffer.from(text));
  expect(['12', '12 ', ' 12', '-', '0', '01', '1.5', '1.', '1e5', '1e', 'true', 'tru', 'null'].map((t) => read({ type: 'number' }, t))).toEqual(['done', 2, 0, 'open', 'done', 1, 'done', 'open', 'done', 'open', 0, 0, 0]);
  expect(['120', '121', '12', '-6', '-5'].map((t) => read({ type: 'integer', minimum: -5, maximum: 120 }, t))).toEqual(['done', 2, 'done', 1, 'done']);
  expect(['"ab"', '"ab" ', 'null', 'nul'].map((t) => read({ type: ['string', 'null'] }, t))).toEqual(['done', 4, 'done', 'open']);
  // (objects stay the root where anyRoot is not asked, as response_format asks)
  expect(() => JsonGrammar.fromSchema({ type: 'string' })).toThrow(/the reply must be an object/);
});

test('minProperties and maxProperties (xgrammar holds them; Pydantic\'s dict with min_length / max_length): objects read whole exactly where python3-jsonschema accepts them; every prefix left open finished into one it accepts', () => {
  const sized: Record<string, unknown> = {
    listedAtLeast2: { type: 'object', properties: { a: { type: 'integer' }, b: { type: 'string' }, c: { type: 'boolean' } }, required: ['a'], minProperties: 2 },
    listedAtMost2: { type: 'object', properties: { a: { type: 'integer' }, b: { type: 'string' }, c: { type: 'boolean' }, d: { type: 'null' } }, required: ['c'], maxProperties: 2 },
    dict1to3: { type: 'object', additionalProperties: { type: 'integer' }, minProperties: 1, maxProperties: 3 },
    mixed2to3: { type: 'object', properties: { a: { type: 'integer' }, b: { type: 'string' } }, required: ['a'], additionalProperties: true, minProperties: 2, maxProperties: 3 },
  };
  const alphabet = [...'"}]:,0123456789abcdtruefalsn{[ '].map((c) => c.charCodeAt(0)).concat([0x80, 0x90, 0xa0]);
  for (const [name, schema] of Object.entries(sized)) {
    const grammar = JsonGrammar.fromSchema(schema);
    const texts: number[][] = python({ make: { seed: 21, count: 120, schema } }).texts;
    const accepted: boolean[] = python({ check: texts, schema }).objects;
    expect({ name, some: accepted.filter(Boolean).length > 20, notAll: accepted.filter((a) => !a).length > 20 }).toEqual({ name, some: true, notAll: true });
    const finished: number[][] = [];
    texts.forEach((t, i) => {
      const text = Buffer.from(t).toString('utf8');
      expect({ name, text, done: readJsonPrefix(grammar, t) === 'done' }).toEqual({ name, text, done: accepted[i] });
      // (a few prefixes left open, finished the shortest way by the machine)
      for (const n of [Math.floor(t.length / 2), t.length - 1]) {
        if (n <= 0 || readJsonPrefix(grammar, t.slice(0, n)) !== 'open') continue;
        const tail = shortestFinish(grammar.machine(), t.slice(0, n), alphabet, 3000);
        if (tail === undefined) continue;
        expect({ name, prefix: Buffer.from(t.slice(0, n)).toString(), finished: tail !== null }).toEqual({ name, prefix: Buffer.from(t.slice(0, n)).toString(), finished: true });
        finished.push([...t.slice(0, n), ...tail!]);
      }
    });
    expect(finished.length).toBeGreaterThan(60);
    const finishedOk: boolean[] = python({ check: finished, schema }).objects;
    finished.forEach((t, i) => expect({ name, text: Buffer.from(t).toString(), ok: finishedOk[i] }).toEqual({ name, text: Buffer.from(t).toString(), ok: true }));
  }
  const read = (schema: unknown, text: string) => readJsonPrefix(JsonGrammar.fromSchema(schema), Buffer.from(text));
  const two = { type: 'object', properties: { a: { type: 'integer' }, b: { type: 'integer' }, c: { type: 'integer' } }, maxProperties: 2 };
  expect(['{"a": 1, "c": 3}', '{"a": 1, "b": 2, ', '{"a": 1, "b": 2}', '{}'].map((t) => read(two, t))).toEqual(['done', 15, 'done', 'done']);
  // (minProperties 2 of a, b listed with none other allowed: a skipped, only b is left and one key is too few, so the first key must be a)
  const both = { type: 'object', properties: { a: { type: 'integer' }, b: { type: 'integer' } }, minProperties: 2 };
  expect(['{"b"', '{"a": 1}', '{"a": 1, "b": 2}'].map((t) => read(both, t))).toEqual([2, 7, 'done']);
  expect(() => JsonGrammar.fromSchema({ type: 'object', properties: { a: {} }, additionalProperties: false, minProperties: 2 })).toThrow(/no object fits: it needs 2 keys .* and may have 1/);
  expect(() => JsonGrammar.fromSchema({ type: 'object', properties: { a: {}, b: {} }, required: ['a', 'b'], maxProperties: 1 })).toThrow(/no object fits: it needs 2 keys/);
});

test('a schema\'s tokens: each token of an accepted object allowed in turn, then only the end; an enum allows its values alone', () => {
  const tok = torch.tokenizer;
  const grammar = JsonGrammar.fromSchema(SCHEMAS.person);
  const allowedNext = jsonConstraint(tok, 50257, [50256], grammar);
  const texts: number[][] = python({ make: { seed: 9, count: 30, schema: SCHEMAS.person } }).texts;
  const accepted: boolean[] = python({ check: texts, schema: SCHEMAS.person }).objects;
  texts.filter((_, i) => accepted[i]).forEach((t) => {
    const ids = tok.encode(Buffer.from(t).toString('utf8'));
    for (let i = 0; i <= ids.length; i++) expect(allowedNext(ids.slice(0, i))).toEqual(i < ids.length ? expect.arrayContaining([ids[i]]) : [50256]);
  });
  // after "role": only the enum's values can begin: "admin", "user" or null
  const afterRole = allowedNext(tok.encode('{"name": "A", "age": 1, "role": ')).map((id) => tok.decode([id]));
  expect(afterRole.length).toBeGreaterThan(0);
  for (const piece of afterRole.map((p) => p.replace(/^[ \t\r\n]+/, ''))) expect({ piece, begins: ['"admin"', '"user"', 'null'].some((v) => v.startsWith(piece)) }).toEqual({ piece, begins: true });
  expect(afterRole).toEqual(expect.arrayContaining(['"', 'null']));
  // the first key must be "name" (required, listed first)
  expect(allowedNext(tok.encode('{"')).map((id) => tok.decode([id])).every((p) => 'name"'.startsWith(p) || p.startsWith('name"'))).toBe(true);
});

test('what a schema asks that a reply cannot be held to is refused, by name, never read past', () => {
  const refused: [unknown, RegExp][] = [
    [{ type: 'object', properties: { d: { type: 'string', format: 'duration' } } }, /schema\.properties\.d\.format "duration" is not served/],
    [{ type: 'object', properties: { n: { type: 'number', minimum: 9, exclusiveMaximum: 9 } } }, /properties\.n: no number is in \[9, 9\)/],
    [{ type: 'object', properties: { n: { type: 'number', minimum: 1e-40, maximum: 2e-40 } } }, /properties\.n: no number is in \[1e-40, 2e-40\] written in at most 32 characters/],
    [{ type: 'object', properties: { n: { type: 'number', exclusiveMinimum: 1e200 } } }, /properties\.n: no number is in \(1e\+200, inf\) written in at most 32 characters/],
    [{ type: 'object', properties: { n: { type: 'number', maximum: '9' } } }, /properties\.n\.maximum must be a number/],
    [{ type: 'object', properties: { n: { const: 1e300 } } }, /properties\.n\.const: no number is in \[1e\+300, 1e\+300\] written in at most 32 characters/],
    [{ type: 'object', properties: { n: { type: 'integer', minimum: 5, maximum: 4 } } }, /no integer is in \[5, 4\]/],
    [{ type: 'object', properties: { n: { type: 'integer', exclusiveMinimum: true } } }, /exclusiveMinimum must be a number \(draft 4's boolean form is not served/],
    [{ type: 'object', properties: { n: { type: 'integer', maximum: 1e300 } } }, /beyond the integers held here/],
    [{ type: 'object', properties: { s: { type: 'string', pattern: '(?=a)' } } }, /properties\.s\.pattern: regex "\(\?=a\)" at position \d+: a lookahead is not served/],
    [{ type: 'object', properties: { s: { type: 'string', minLength: 3, maxLength: 2 } } }, /minLength 3 > maxLength 2: no string fits/],
    [{ type: 'object', properties: { s: { type: 'string', format: 'hostname' } } }, /format "hostname" is not served/],
    [{ type: 'object', properties: { s: { type: 'string', format: 'date', pattern: '^2' } } }, /pattern beside format is not served/],
    [{ type: 'object', properties: { s: { type: 'string', pattern: '^\\d{3}$', minLength: 5 } } }, /no text matches the pattern within those lengths/],
    [{ type: 'object', properties: { s: { type: 'string', pattern: '((ab){1000}){30}' } } }, /too large to hold a reply to/],
    [{ type: 'object', allOf: [{ type: 'object' }] }, /'allOf' is served with one schema and nothing beside it/],
    [{ type: 'object', properties: { a: { allOf: [{ type: 'string' }, { maxLength: 3 }] } } }, /properties\.a: 'allOf' is served with one schema/],
    [{ type: 'object', properties: { a: { type: 'array', prefixItems: [{ type: 'string' }], items: false, minItems: 2 } } }, /minItems 2 > 1 \(maxItems, or the prefixItems with items false\): no array fits/],
    [{ type: 'array' }, /the reply must be an object/],
    [{ type: 'object', required: ['a'] }, /required names a, not among its properties/],
    [{ type: 'object', properties: { a: { $ref: 'http://x/y' } } }, /only local references/],
    [{ type: 'object', properties: { a: { enum: [{ b: 1 }] } } }, /\{"b":1\} is not served \(strings, numbers, true, false and null are\)/],
    [{ type: 'object', properties: { a: { type: 'array', items: [{ type: 'string' }] } } }, /a tuple's list is prefixItems since draft 2020-12: give prefixItems/],
    [{ type: 'object', properties: { a: {}, b: { description: 'no type', minLength: 1 } } }, /schema needs a type/],
    [{ type: 'object', $defs: { p: { type: 'string' } }, properties: { a: { $ref: '#/$defs/p', maxLength: 3 } } }, /maxLength beside \$ref is not served/],
  ];
  for (const [schema, message] of refused) expect(() => JsonGrammar.fromSchema(schema)).toThrow(message);
});

test('integer bounds, lengths and patterns, at their edges: a number that only begins one in range goes on but does not end; escapes count as the characters they stand for', () => {
  const read = (schema: unknown, text: string) => readJsonPrefix(JsonGrammar.fromSchema({ type: 'object', properties: { v: schema }, required: ['v'] }), Buffer.from(text));
  const big = { type: 'integer', minimum: 99 };
  expect(read(big, '{"v": 9')).toBe('open'); // (99 may follow)
  expect(read(big, '{"v": 9}')).toBe(7);
  expect(['{"v": 99}', '{"v": 100}', '{"v": 123456789012}'].map((t) => read(big, t))).toEqual(['done', 'done', 'done']);
  expect(read(big, '{"v": -1')).toBe(6);
  const age = { type: 'integer', minimum: 0, maximum: 130 };
  expect(read(age, '{"v": 13')).toBe('open');
  expect(read(age, '{"v": 131')).toBe(8);
  expect(read(age, '{"v": 130}')).toBe('done');
  expect(read(age, '{"v": 01')).toBe(7); // (JSON: no leading zeros)
  const around = { type: 'integer', exclusiveMinimum: -10.5, maximum: 5 };
  expect(['{"v": -10}', '{"v": -0}', '{"v": 5}', '{"v": 0}'].map((t) => read(around, t))).toEqual(['done', 'done', 'done', 'done']);
  expect(read(around, '{"v": -11')).toBe(8);
  expect(read(around, '{"v": 6')).toBe(6);
  const name = { type: 'string', minLength: 2, maxLength: 3 };
  expect(['{"v": "ab"}', '{"v": "\\ud83d\\ude00a"}', '{"v": "東京x"}', '{"v": "\\n\\t"}'].map((t) => read(name, t))).toEqual(['done', 'done', 'done', 'done']);
  expect(read(name, '{"v": "a"}')).toBe(8);
  expect(read(name, '{"v": "abcd')).toBe(10);
  expect(read(name, '{"v": "\\ud83d"}')).toBe(13); // (a lone surrogate is no character)
  expect(read(name, '{"v": "\\ud83dx')).toBe(13);
  const code = { type: 'string', pattern: '^[A-Z]{2}-\\d{3}$' };
  expect(['{"v": "AB-123"}', '{"v": "\\u0041B-123"}'].map((t) => read(code, t))).toEqual(['done', 'done']);
  expect(read(code, '{"v": "AB-123\\n"}')).toBe(13); // ($: the text's end, as ECMA-262's and Pydantic's; Python's would take a last line break)
  expect(read(code, '{"v": "xAB')).toBe(7);
  expect(read(code, '{"v": "AB-1234')).toBe(13);
  const somewhere = { type: 'string', pattern: 'ok' };
  expect(['{"v": "ok"}', '{"v": "it is ok, yes"}'].map((t) => read(somewhere, t))).toEqual(['done', 'done']);
  expect(read(somewhere, '{"v": "o"}')).toBe(8);
  expect(read(somewhere, '{"v": "not yet')).toBe('open');
  // (Pydantic's HttpUrl: a uri of 1 to 2083 characters; a length's count kept beside the pattern's state, not multiplied into it)
  const url = { type: 'string', format: 'uri', minLength: 1, maxLength: 2083 };
  const long = `https://example.org/${'a'.repeat(2083 - 20)}`;
  expect([`{"v": "${long}"}`, `{"v": "${long}a`, '{"v": "x:"}', '{"v": ""}', '{"v": "x"}'].map((t) => read(url, t))).toEqual(['done', 7 + 2083, 'done', 7, 8]);
  const even = { type: 'string', pattern: '^(ab)*$', minLength: 3, maxLength: 6 };
  expect(['{"v": "ab"}', '{"v": "abab"}', '{"v": "ababab"}', '{"v": "abababa', '{"v": "aba'].map((t) => read(even, t))).toEqual([9, 'done', 'done', 13, 'open']);
});

test('a number\'s bounds against Python\'s float: texts at, around and between 300 random ranges\' bounds, and where a text\'s double turns, read whole exactly where their double is in range; every text left open finishes into one', () => {
  const ranges: { schema: Record<string, number>; texts: string[] }[] = python({ make_number_ranges: { seed: 11, count: 300 } });
  const verdicts: boolean[][] = python({ number_ranges: ranges });
  const objectOf = (v: unknown) => ({ type: 'object', properties: { v }, required: ['v'] });
  const NUMBER_BYTES = [...'0123456789.}'].map((c) => c.charCodeAt(0));
  let refused = 0, inRange = 0, outOfRange = 0, longer = 0;
  const finishes: { schema: Record<string, number>; texts: string[] }[] = [];
  ranges.forEach(({ schema, texts }, i) => {
    let grammar: JsonGrammar;
    try {
      grammar = JsonGrammar.fromSchema(objectOf({ type: 'number', ...schema }));
    } catch (e) {
      // (a range with no number in it: refused, and Python finds none of its texts in it)
      expect({ schema, message: (e as Error).message }).toEqual({ schema, message: expect.stringMatching(/no number is in/) });
      expect({ schema, some: verdicts[i].some(Boolean) }).toEqual({ schema, some: false });
      refused++;
      return;
    }
    texts.forEach((text, j) => {
      const done = readJsonPrefix(grammar, Buffer.from(`{"v": ${text}}`)) === 'done';
      expect({ schema, text, done }).toEqual({ schema, text, done: verdicts[i][j] });
      if (text.length > 32) longer++;
      if (done) inRange++;
      else outOfRange++;
    });
    // (the prefixes of three of its texts that the machine leaves open: each finished the shortest way, for Python to check)
    const machine = grammar.machine();
    const open = new Set<string>();
    for (const text of [texts[0], texts[texts.length >> 1], texts[texts.length - 1]]) {
      for (let n = 1; n <= text.length; n++) if (readJsonPrefix(grammar, Buffer.from(`{"v": ${text.slice(0, n)}`)) === 'open') open.add(text.slice(0, n));
    }
    const finished = [...open].map((prefix) => {
      const tail = shortestFinish(machine, Buffer.from(`{"v": ${prefix}`), NUMBER_BYTES);
      expect({ schema, prefix, finished: tail !== null }).toEqual({ schema, prefix, finished: true });
      return prefix + Buffer.from(tail!.slice(0, -1)).toString(); // (less the object's closing brace)
    });
    finishes.push({ schema, texts: finished });
  });
  expect({ refused: refused > 5, inRange: inRange > 3000, outOfRange: outOfRange > 3000, longer: longer > 300 }).toEqual({ refused: true, inRange: true, outOfRange: true, longer: true });
  const finishVerdicts: boolean[][] = python({ number_ranges: finishes });
  finishes.forEach(({ schema, texts }, i) => texts.forEach((text, j) => expect({ schema, text, inRange: finishVerdicts[i][j] }).toEqual({ schema, text, inRange: true })));
  expect(finishes.reduce((n, f) => n + f.texts.length, 0)).toBeGreaterThan(1000);
});

test('a number\'s bounds at their edges: no exponent, -0 as 0, a text read as its double (0.1 and the texts that read as it), 32 characters at most, and bounds of any size', () => {
  const read = (schema: unknown, text: string) => readJsonPrefix(JsonGrammar.fromSchema({ type: 'object', properties: { v: schema }, required: ['v'] }), Buffer.from(`{"v": ${text}}`));
  const positive = { type: 'number', exclusiveMinimum: 0 };
  expect(['0.5', '1', '0.000001', '123.25', `0.${'0'.repeat(29)}1`].map((t) => read(positive, t))).toEqual(['done', 'done', 'done', 'done', 'done']);
  expect(['0', '-0', '0.000', '-1', '1e2', `0.${'0'.repeat(30)}1`].map((t) => read(positive, t) === 'done')).toEqual([false, false, false, false, false, false]);
  const upTo = { type: 'number', maximum: 0.1 };
  expect(['0.1', '0.10000000000000001249', '-5', '-0'].map((t) => read(upTo, t))).toEqual(['done', 'done', 'done', 'done']); // (0.10000000000000001249 reads as 0.1)
  expect(['0.1000000000000000125', '0.11', '1'].map((t) => read(upTo, t) === 'done')).toEqual([false, false, false]);
  const below = { type: 'number', exclusiveMaximum: 0 };
  expect(['-0.5', '-0', '0'].map((t) => read(below, t) === 'done')).toEqual([true, false, false]);
  const huge = { type: 'number', minimum: -1.7976931348623157e308, maximum: 1.7976931348623157e308 };
  expect(['0', '-12.5', '9'.repeat(32), `-${'9'.repeat(31)}`].map((t) => read(huge, t))).toEqual(['done', 'done', 'done', 'done']);
  expect([`1${'0'.repeat(32)}`, `-${'9'.repeat(32)}`].map((t) => read(huge, t))).toEqual([38, 38]); // (33 characters: stopped at the 33rd)
  const both = { type: ['integer', 'number'], minimum: 2.5, maximum: 7 };
  expect(['3', '2.5', '7.0', '7'].map((t) => read(both, t))).toEqual(['done', 'done', 'done', 'done']);
  expect(['2', '7.01'].map((t) => read(both, t) === 'done')).toEqual([false, false]);
  // (an enum's or a const's number other than an integer: the texts that read as it)
  const pi = { enum: [3.14, 1e21, 'x'] };
  expect(['3.14', '3.140', '3.1400000000000001', '1000000000000000000000', '"x"'].map((t) => read(pi, t))).toEqual(['done', 'done', 'done', 'done', 'done']);
  expect(['3.1', '3.141', '3.14e0', '1e21'].map((t) => read(pi, t) === 'done')).toEqual([false, false, false, false]);
  // (a number without bounds keeps JSON's exponents)
  expect(read({ type: 'number' }, '1.5e-7')).toBe('done');
});

const SHAPES: Record<string, RegExp> = { date: /^\d{4}-\d{2}-\d{2}$/, uuid: /^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$/i };

test('string formats against their references: uuid, ipv4, ipv6, uri, uri-reference, json-pointer and date as python3-jsonschema checks them (Python\'s ipaddress, rfc3987, jsonpointer), date-time and time by RFC 3339\'s grammar; email held to addresses jsonschema takes', () => {
  const texts: Record<string, string[]> = python({ make_formats: { seed: 9, count: 150 } });
  const verdicts: Record<string, boolean[]> = python({ formats: texts });
  for (const [format, list] of Object.entries(texts)) {
    const grammar = JsonGrammar.fromSchema({ type: 'object', properties: { v: { type: 'string', format } }, required: ['v'] });
    let accepted = 0;
    list.forEach((text, i) => {
      const ours = readJsonPrefix(grammar, Buffer.from(JSON.stringify({ v: text }))) === 'done';
      accepted += ours ? 1 : 0;
      // (where the reference takes more than the format's own texts: a date in ISO 8601's other forms, 20240101, as Python
      // 3.11's fromisoformat; a uuid with its hyphens anywhere, as Python's UUID(); an email needs only an @ there)
      const shape = SHAPES[format];
      const want = format === 'email' ? (i % 2 === 0 && i < 300 ? true : ours) : verdicts[format][i] && (!shape || shape.test(text));
      expect({ format, text, ours }).toEqual({ format, text, ours: want });
      if (ours) expect({ format, text, reference: verdicts[format][i] }).toEqual({ format, text, reference: true });
    });
    expect({ format, some: accepted > 150, notAll: accepted < list.length - 20 }).toEqual({ format, some: true, notAll: true });
  }
  expect(() => JsonGrammar.fromSchema({ type: 'object', properties: { u: { type: 'string', format: 'hostname' } } })).toThrow(/format "hostname" is not served \(date-time, date, time, uuid, ipv4, ipv6, email, uri, uri-reference, json-pointer are\)/);
});

test('the hold never leads into a dead end: random walks through the allowed tokens always find some token allowed, and what they finish python3-jsonschema accepts', () => {
  const tok = torch.tokenizer;
  const walked: Record<string, unknown> = {
    checked: SCHEMAS.checked, tuples: SCHEMAS.tuples, nothing: SCHEMAS.nothing,
    formats: { type: 'object', properties: { when: { type: 'string', format: 'date' }, at: { type: 'string', format: 'date-time' }, id: { type: 'string', format: 'uuid' }, ip: { type: 'string', format: 'ipv4' } }, required: ['when', 'at', 'id', 'ip'] },
    lengths: { type: 'object', properties: { code: { type: 'string', pattern: '^[a-z]+\\d*$', minLength: 3, maxLength: 6 }, word: { type: 'string', pattern: 'é', maxLength: 2 }, n: { type: 'integer', minimum: 40, maximum: 45 } }, required: ['code', 'word', 'n'] },
  };
  let seed = 1;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (const [name, schema] of Object.entries(walked)) {
    const allowedNext = jsonConstraint(tok, 50257, [50256], JsonGrammar.fromSchema(schema));
    const finished: number[][] = [];
    for (let walk = 0; walk < 15; walk++) {
      const reply: number[] = [];
      for (let step = 0; step < 150; step++) {
        const allowed = allowedNext(reply);
        expect({ name, reply: tok.decode(reply), some: allowed.length > 0 }).toEqual({ name, reply: tok.decode(reply), some: true });
        // (the end where it is allowed, else a token: often one that closes something, so walks finish)
        if (allowed.includes(50256)) break;
        const closing = allowed.filter((id) => tok.tokenBytes(id).some((b) => b === 0x22 || b === 0x7d || b === 0x5d || b === 0x2c));
        const pool = closing.length && rand() < 0.5 ? closing : allowed;
        reply.push(pool[Math.floor(rand() * pool.length)]);
      }
      if (allowedNext(reply).includes(50256)) finished.push([...Buffer.from(tok.decode(reply))]);
    }
    expect({ name, finished: finished.length >= 3 }).toEqual({ name, finished: true });
    expect({ name, accepted: python({ check: finished, schema }).objects }).toEqual({ name, accepted: finished.map(() => true) });
  }
});

test('inside a string, the tokens of plain text are taken at once and only the others walked: the same tokens allowed as a walk of every token', () => {
  const tok = torch.tokenizer;
  const grammar = JsonGrammar.fromSchema(SCHEMAS.person);
  const quick = jsonConstraint(tok, 50257, [50256], grammar);
  // (the same machine without the shortcut; another vocabulary size, so nothing kept is shared)
  const { absorbsPlainText, ...walked } = grammar.machine();
  expect(typeof absorbsPlainText).toBe('function');
  const slow = tokenConstraint(tok, 50258, [50256], walked);
  const texts: number[][] = python({ make: { seed: 13, count: 6, schema: SCHEMAS.person } }).texts;
  let inString = 0;
  for (const t of texts) {
    const ids = tok.encode(Buffer.from(t).toString('utf8'));
    for (let i = 0; i <= ids.length; i++) {
      let a: number[], b: number[];
      try {
        a = quick(ids.slice(0, i));
      } catch {
        break; // (a near miss: past its first bad token)
      }
      b = slow(ids.slice(0, i));
      if (a.length > 40000) inString++;
      expect({ at: tok.decode(ids.slice(0, i)), same: a.length === b.length && new Set([...a, ...b]).size === a.length }).toEqual({ at: tok.decode(ids.slice(0, i)), same: true });
    }
  }
  expect(inString).toBeGreaterThan(5);
});

test('compact (vLLM\'s disable_any_whitespace): no whitespace between JSON\'s parts, inside strings as ever; noAdditional (disable_additional_properties): an object lists its keys or has none', () => {
  const compact = JsonGrammar.object({ compact: true });
  const read = (g: JsonGrammar, text: string) => readJsonPrefix(g, Buffer.from(text));
  expect(read(compact, '{"a b":[1,{"c":" x "}],"d":true}')).toBe('done');
  expect(read(compact, '{ "a": 1}')).toBe(1);
  expect(read(compact, '{"a":1 }')).toBe(6); // (a number ends on a space: not here)
  expect(read(JsonGrammar.object(), '{ "a": 1 }')).toBe('done');
  const schema = { type: 'object', properties: { meta: { type: 'object' }, n: { type: 'integer' } }, required: ['meta'] };
  expect(read(JsonGrammar.fromSchema(schema), '{"meta": {"x": 1}}')).toBe('done');
  const strict = JsonGrammar.fromSchema(schema, { noAdditional: true });
  expect(read(strict, '{"meta": {}, "n": 2}')).toBe('done');
  expect(read(strict, '{"meta": {"')).toBe(10);
  // token by token: a compact hold never offers a token with whitespace outside a string
  const tok = torch.tokenizer;
  const hold = jsonConstraint(tok, 50257, [50256], compact);
  const afterKey = hold(tok.encode('{"a"'));
  expect(afterKey.every((id) => !/\s/.test(tok.decode([id])[0]))).toBe(true);
  expect(afterKey).toContain(tok.encode(':')[0]);
  const inString = hold(tok.encode('{"a":"x'));
  expect(inString).toContain(tok.encode(' the')[0]);
});
