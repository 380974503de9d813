// Generation held to a structural tag (xgrammar's, as vLLM's response_format "structural_tag" and
// structured outputs' structural_tag take it): the machine against scripts/reference/stag_ref.py,
// which reads a structural tag another way (the set of places each format can end at, JSON by
// Python's json and jsonschema, a regex by re, a grammar by Lark). Texts drawn from each tag and
// their near misses: read whole exactly where the reference accepts them; every prefix of an
// accepted text left open; every open prefix finished (breadth first over the machine's states)
// into a text the reference accepts; token by token, walks through GPT-2's vocabulary end in
// accepted texts. 80 random trees of every format too. Refusals name the format's place.
import { spawnSync } from 'child_process';
import * as path from 'path';
import * as torch from '../lib';
import { StructuralTag } from '../lib/models/structural_tag';
import { readPrefix, tokenConstraint } from '../lib/models/token_constraint';
import { seededRandom, shortestFinish } from './helpers';

function python(job: unknown): any {
  const r = spawnSync('/usr/bin/python3', [path.join(__dirname, '..', 'scripts', 'reference', 'stag_ref.py')], { input: JSON.stringify(job), encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

const weather = { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer', minimum: 1, maximum: 7 } }, required: ['city'] };
const time = { type: 'object', properties: { zone: { type: 'string', enum: ['UTC', 'CET'] } }, required: ['zone'] };
const tool = (name: string, schema: unknown) => ({ begin: `<function=${name}>`, content: { type: 'json_schema', json_schema: schema }, end: '</function>' });
const triggered = (flags: Record<string, boolean>) => ({ type: 'triggered_tags', triggers: ['<function='], tags: [tool('get_weather', weather), tool('get_time', time)], ...flags });

/** The structural tags checked: each format and flag, free text where it stands inside and outside tags. */
const SPECS: Record<string, unknown> = {
  legacy: { type: 'structural_tag', structures: [{ begin: '<f=a>', schema: weather, end: '</f>' }, { begin: '<f=b>', schema: time, end: '</f>' }], triggers: ['<f='] },
  triggered: { type: 'structural_tag', format: triggered({}) },
  at_least_one: { type: 'structural_tag', format: triggered({ at_least_one: true }) },
  stop_after_first: { type: 'structural_tag', format: triggered({ stop_after_first: true }) },
  exactly_one: { type: 'structural_tag', format: triggered({ at_least_one: true, stop_after_first: true }) },
  in_a_tag: { type: 'structural_tag', format: { type: 'tag', begin: '<r>', content: { ...triggered({}), excludes: ['<r>'] }, end: ['</r>', '<end>'] } },
  first_in_a_tag: { type: 'structural_tag', format: { type: 'sequence', elements: [{ type: 'tag', begin: '<r>', content: triggered({ stop_after_first: true }), end: '</r>' }, { type: 'const_string', value: '.' }] } },
  think_then_answer: { type: 'structural_tag', format: { type: 'sequence', elements: [{ type: 'tag', begin: '<think>', content: { type: 'any_text' }, end: '</think>' }, { type: 'regex', pattern: 'Answer: [0-9]{1,3}' }] } },
  think_then_calls: { type: 'structural_tag', format: { type: 'sequence', elements: [{ type: 'tag', begin: '<think>', content: { type: 'any_text' }, end: '</think>' }, triggered({})] } },
  separated: { type: 'structural_tag', format: { type: 'tag', begin: '[', content: { type: 'tags_with_separator', separator: ', ', tags: [tool('get_weather', weather), tool('get_time', time)] }, end: ']' } },
  separated_one: { type: 'structural_tag', format: { type: 'tags_with_separator', separator: ',', at_least_one: true, stop_after_first: true, tags: [{ begin: '<a>', content: { type: 'const_string', value: 'x' }, end: '</a>' }] } },
  separator_is_end: { type: 'structural_tag', format: { type: 'tag', begin: '(', content: { type: 'tags_with_separator', separator: ')', tags: [{ begin: '<a>', content: { type: 'regex', pattern: '[ab]+' }, end: '</a>' }] }, end: ')' } },
  excludes_midway: { type: 'structural_tag', format: { type: 'sequence', elements: [{ type: 'any_text', excludes: ['#'] }, { type: 'const_string', value: '#' }, { type: 'or', elements: [{ type: 'const_string', value: 'yes' }, { type: 'const_string', value: 'no' }] }] } },
  repeats: { type: 'structural_tag', format: { type: 'sequence', elements: [{ type: 'optional', content: { type: 'const_string', value: 'Hi ' } }, { type: 'star', content: { type: 'tag', begin: '<b>', content: { type: 'regex', pattern: 'a*' }, end: '</b>' } }, { type: 'plus', content: { type: 'const_string', value: '!' } }, { type: 'repeat', min: 1, max: 2, content: { type: 'const_string', value: 'é' } }] } },
  overlapping_end: { type: 'structural_tag', format: { type: 'tag', begin: '[[', content: { type: 'any_text', excludes: ['東'] }, end: ']]' } },
  free_or: { type: 'structural_tag', format: { type: 'tag', begin: '<x>', content: { type: 'or', elements: [{ type: 'any_text' }, triggered({ at_least_one: true })] }, end: '</x>' } },
};

/**
 * One structural tag's texts against the reference: read whole exactly where stag_ref.py accepts
 * them; every prefix of an accepted text left open; up to `finishes` open prefixes of each text
 * finished (breadth first over the machine's states) into texts the reference accepts. (A search
 * that meets over 5000 sets of states gives up, and is counted: free text before JSON reads each
 * '{' as a JSON's start, and the sets of those readings grow fast.)
 */
function checkAgainstReference(name: string, spec: unknown, texts: number[][], finishes: number): { accepted: number; refused: number; finished: number; gaveUp: number } {
  const verdicts: boolean[] = python({ check: [{ spec, texts }] }).verdicts[0];
  const machine = StructuralTag.fromSpec(spec).machine();
  const finished: number[][] = [];
  const alphabet = [...new Set([...Buffer.from(JSON.stringify(spec)), ...Buffer.from('abcdef 0123456789{}[]":,\\ué')])];
  let accepted = 0, gaveUp = 0;
  texts.forEach((bytes, i) => {
    const text = Buffer.from(bytes).toString();
    const read = readPrefix(machine, bytes);
    expect({ name, text, done: read === 'done' }).toEqual({ name, text, done: verdicts[i] });
    if (verdicts[i]) accepted++;
    const open: number[] = [];
    for (let n = 0; n <= bytes.length; n++) {
      const r = readPrefix(machine, bytes.slice(0, n));
      if (verdicts[i]) expect({ name, text, prefix: n, dead: typeof r === 'number' }).toEqual({ name, text, prefix: n, dead: false });
      if (r === 'open') open.push(n);
    }
    for (const n of open.filter((_, k) => k % Math.max(1, Math.floor(open.length / finishes)) === 0).slice(0, finishes)) {
      const tail = shortestFinish(machine, bytes.slice(0, n), alphabet, 5000);
      if (tail === undefined) {
        gaveUp++;
        continue;
      }
      expect({ name, text, prefix: n, finished: tail !== null }).toEqual({ name, text, prefix: n, finished: true });
      finished.push([...bytes.slice(0, n), ...tail!]);
    }
  });
  const finishedVerdicts: boolean[] = finished.length ? python({ check: [{ spec, texts: finished }] }).verdicts[0] : [];
  finished.forEach((bytes, i) => expect({ name, text: Buffer.from(bytes).toString(), accepted: finishedVerdicts[i] }).toEqual({ name, text: Buffer.from(bytes).toString(), accepted: true }));
  return { accepted, refused: texts.length - accepted, finished: finished.length, gaveUp };
}

test('structural tags against the reference: texts drawn from 16 tags and their near misses read whole exactly where stag_ref.py accepts them; prefixes of accepted texts left open; every open prefix finished into an accepted text', () => {
  let accepted = 0, refused = 0, finished = 0, gaveUp = 0;
  for (const [name, spec] of Object.entries(SPECS)) {
    const texts: number[][] = python({ make: { seed: 7, spec, count: 24 } }).texts;
    const counts = checkAgainstReference(name, spec, texts, 4);
    accepted += counts.accepted;
    refused += counts.refused;
    finished += counts.finished;
    gaveUp += counts.gaveUp;
  }
  expect({ accepted: accepted > 300, refused: refused > 150, finished: finished > 300, gaveUp }).toEqual({ accepted: true, refused: true, finished: true, gaveUp: 0 });
});

test('random structural tags against the reference: 80 trees of every format up to 4 deep (free text where xgrammar lets it stand), 8 texts drawn from each and 8 near misses: compiled, and read as stag_ref.py reads them', () => {
  const cases: { spec: unknown; texts: number[][] }[] = python({ make_specs: { seed: 5, count: 80, texts: 8 } }).specs;
  let accepted = 0, refused = 0, finished = 0, gaveUp = 0;
  cases.forEach(({ spec, texts }, i) => {
    const counts = checkAgainstReference(`random ${i}: ${JSON.stringify(spec)}`, spec, texts, 2);
    accepted += counts.accepted;
    refused += counts.refused;
    finished += counts.finished;
    gaveUp += counts.gaveUp;
  });
  expect({ accepted: accepted > 400, refused: refused > 300, finished: finished > 300, gaveUp: gaveUp < finished / 10 }).toEqual({ accepted: true, refused: true, finished: true, gaveUp: true });
});

test('structural tags by hand: free text up to a trigger, then the tag it begins; a tag\'s end ends free text at its first occurrence; a grammar inside a tag (Lark agrees)', () => {
  const read = (spec: unknown, text: string) => readPrefix(StructuralTag.fromSpec(spec).machine(), Buffer.from(text));
  const tools = SPECS.triggered;
  expect(read(tools, 'Let me look. <function=get_weather>{"city": "Paris", "days": 3}</function> Done.')).toBe('done');
  expect(read(tools, '<function=get_time>{"zone": "UTC"}</function><function=get_time>{"zone":"CET"}</function>')).toBe('done');
  expect(read(tools, 'no calls at all, < function= is not a trigger')).toBe('done');
  // (a trigger must go on as a tag: the name is one of the tools', the arguments their schema's)
  expect(read(tools, 'x <function=get_news>{}</function>')).toBe(2 + '<function=get_'.length);
  expect(read(tools, '<function=get_weather>{"days": 3}</function>')).toBe('<function=get_weather>{"'.length);
  expect(read(tools, '<function=get_weather>{"city": "x", "days": 8}')).toBe(22 + '{"city": "x", "days": '.length);
  expect(read(tools, '<function=get_weather>{"city": "</function>"}')).toBe('open');
  expect(read(SPECS.at_least_one, 'text first <function=get_time>{"zone": "UTC"}</function>')).toBe(0);
  expect(read(SPECS.stop_after_first, 'a <function=get_time>{"zone": "UTC"}</function>')).toBe('done');
  expect(read(SPECS.stop_after_first, 'a <function=get_time>{"zone": "UTC"}</function> b')).toBe('a <function=get_time>{"zone": "UTC"}</function>'.length);
  expect(read(SPECS.exactly_one, '<function=get_time>{"zone": "UTC"}</function>')).toBe('done');
  // (the think tag's text ends at the first </think>: what follows is the answer's)
  expect(read(SPECS.think_then_answer, '<think>2 < 3, </thin </think>Answer: 42')).toBe('done');
  expect(read(SPECS.think_then_answer, '<think>a</think></think>Answer: 4')).toBe('<think>a</think>'.length);
  expect(read(SPECS.overlapping_end, '[[x]]]')).toBe('[[x]]'.length);
  expect(read(SPECS.overlapping_end, '[[x]]')).toBe('done');
  expect(read(SPECS.overlapping_end, '[[東]]')).toBe(4);
  expect(read(SPECS.in_a_tag, '<r>hi <function=get_time>{"zone": "UTC"}</function> bye<end>')).toBe('done');
  expect(read(SPECS.in_a_tag, '<r>hi <r>')).toBe('<r>hi <r'.length);
  expect(read(SPECS.first_in_a_tag, '<r>a <function=get_time>{"zone": "UTC"}</function></r>.')).toBe('done');
  expect(read(SPECS.first_in_a_tag, '<r>a <function=get_time>{"zone": "UTC"}</function> b</r>.')).toBe('<r>a <function=get_time>{"zone": "UTC"}</function>'.length);
  expect(read(SPECS.separated, '[<function=get_time>{"zone": "UTC"}</function>, <function=get_weather>{"city": "Oslo"}</function>]')).toBe('done');
  expect(read(SPECS.separated, '[]')).toBe('done');
  // (a bare number or string inside a tag: it ends where the tag's end begins; a bounded number has no exponent, -0 is 0)
  const scalars = { type: 'structural_tag', format: { type: 'sequence', elements: [{ type: 'tag', begin: '<n>', content: { type: 'json_schema', json_schema: { type: 'number', minimum: 0 } }, end: '</n>' }, { type: 'tag', begin: '<s>', content: { type: 'json_schema', json_schema: { type: 'string' } }, end: '</s>' }] } };
  expect(['<n>12.5</n><s>"a</s>"</s>', '<n>-1</n>', '<n>-0</n>', '<n>1000</n><s>"x"', '<n>1.</n>', '<n>1e3</n>'].map((t) => read(scalars, t))).toEqual(['done', 4, 'open', 'open', 5, 4]);
  // (strict UTF-8 in free text)
  expect(readPrefix(StructuralTag.fromSpec(tools).machine(), [0x61, 0xc3, 0x28])).toBe(2);
  expect(readPrefix(StructuralTag.fromSpec(tools).machine(), [0xed, 0xa0, 0x80])).toBe(1);
  // (a grammar inside a tag: arithmetic, as Lark's Earley parser reads it)
  const spec = { type: 'structural_tag', format: { type: 'tag', begin: '<calc>', content: { type: 'grammar', grammar: 'root ::= expr\nexpr ::= term ([-+] term)*\nterm ::= [0-9]+ | "(" expr ")"' }, end: '</calc>' } };
  const texts = ['<calc>1+(2-3)</calc>', '<calc>(1</calc>', '<calc>12</calc>', '<calc></calc>', '<calc>1+</calc>x'];
  const ours = texts.map((t) => read(spec, t) === 'done');
  const lark = { 'root ::= expr\nexpr ::= term ([-+] term)*\nterm ::= [0-9]+ | "(" expr ")"': 'start: expr\nexpr: term (/[-+]/ term)*\nterm: /[0-9]/+ | "(" expr ")"\n' };
  const reference: boolean[] = python({ check: [{ spec, lark, texts: texts.map((t) => [...Buffer.from(t)]) }] }).verdicts[0];
  expect(ours).toEqual(reference);
  expect(ours).toEqual([true, false, true, false, false]);
});

test('a structural tag that cannot be held is refused, its place named', () => {
  const refused = (format: unknown) => () => StructuralTag.fromSpec({ type: 'structural_tag', format });
  expect(refused({ type: 'sequence', elements: [{ type: 'any_text' }, { type: 'const_string', value: 'x' }] })).toThrow(/format.elements\[0\]: only the last element of a sequence may run free/);
  expect(refused({ type: 'or', elements: [{ type: 'any_text' }, { type: 'const_string', value: 'x' }] })).toThrow(/format: an or's elements must all run free/);
  expect(refused({ type: 'tag', begin: '<a>', content: { type: 'any_text' }, end: '' })).toThrow(/its end must be a non-empty string/);
  expect(refused({ type: 'triggered_tags', triggers: ['<f', '<fu'], tags: [tool('x', time)] })).toThrow(/format.tags\[0\]: its begin "<function=x>" must start with exactly one of the triggers, starts with "<f" and "<fu"/);
  expect(refused({ type: 'triggered_tags', triggers: ['<g'], tags: [tool('x', time)] })).toThrow(/starts with none/);
  expect(refused({ type: 'tag', begin: '<think>', content: { type: 'any_text', excludes: ['<'] }, end: '</think>' })).toThrow(/format.content: the end "<\/think>" holds the exclude "<", so free text could never write it/);
  expect(refused({ type: 'triggered_tags', triggers: ['<function='], excludes: ['n='], tags: [tool('x', time)] })).toThrow(/format: the trigger "<function=" holds the exclude "n="/);
  expect(refused({ type: 'star', content: { type: 'any_text' } })).toThrow(/format.content runs free \(any_text\): it cannot be repeated/);
  expect(refused({ type: 'token', token: 5 })).toThrow(/format "token" is not served \(token-level formats are not served/);
  expect(refused({ type: 'dispatch', rules: [] })).toThrow(/format "dispatch" is not served \(write it as triggered_tags\)/);
  expect(refused({ type: 'json_schema', json_schema: weather, style: 'qwen_xml' })).toThrow(/format: style "qwen_xml" is not served/);
  expect(refused({ type: 'json_schema', json_schema: { type: 'integer', multipleOf: 2 } })).toThrow(/format.json_schema: schema: 'multipleOf' is not served/);
  expect(refused({ type: 'regex', pattern: '(?<=a)b' })).toThrow(/format.pattern: /);
  expect(refused({ type: 'tag', begin: '<a>', content: { type: 'grammar', grammar: 'start: "a"' }, end: '</a>' })).toThrow(/format.content.grammar: /);
  expect(refused({ type: 'sequence', elements: [] })).toThrow(/format.elements must be a non-empty list of formats/);
  expect(refused({ type: 'const_string', value: '' })).toThrow(/format.value must be a non-empty string/);
  expect(refused({ type: 'any_text', max_tokens: 5 })).toThrow(/any_text's max_tokens is not served/);
  expect(refused({ type: 'repeat', min: 2, max: 1, content: { type: 'const_string', value: 'a' } })).toThrow(/format.max must be -1/);
  expect(refused({ value: 'x' })).toThrow(/format needs its "type"/);
  expect(refused({ type: 'tags_with_separator', separator: ',', tags: [{ type: 'const_string', value: 'x' }] })).toThrow(/format.tags\[0\] must be a tag, got a const_string/);
  expect(() => StructuralTag.fromSpec({ type: 'structural_tag' })).toThrow(/needs its "format" \(or the older "structures" and "triggers"\)/);
  expect(() => StructuralTag.fromSpec({ type: 'json_schema', format: {} })).toThrow(/type must be "structural_tag"/);
  expect(() => StructuralTag.fromSpec({ structures: [{ begin: '<a>', schema: time, end: '</a>' }], triggers: ['<b'] })).toThrow(/structures.tags\[0\]: its begin "<a>" must start with exactly one of the triggers/);
});

test('token by token: texts the reference accepts are spelt by allowed tokens to their end; walks that stray from them always find a token allowed, and end in texts the reference accepts', () => {
  const tok = torch.tokenizer;
  const { random } = seededRandom(11);
  // (each token's bytes, to spell a text with the longest token that begins what is left of it)
  const bytesOf = (id: number) => tok.tokenBytes(id);
  for (const name of ['triggered', 'exactly_one', 'think_then_answer', 'separated', 'in_a_tag']) {
    const spec = SPECS[name];
    const allowedNext = tokenConstraint(tok, 50257, [50256], StructuralTag.fromSpec(spec).machine(), { what: name });
    const drawn: number[][] = python({ make: { seed: 3, spec, count: 6 } }).texts.slice(0, 6);
    const finished: number[][] = [];
    drawn.forEach((target, walk) => {
      // (walks 0-2 spell the text whole; the others stray from it at some step and go on at random)
      const strayAt = walk < 3 ? Infinity : Math.floor(random() * 12);
      const reply: number[] = [];
      let at = 0;
      for (let step = 0; step < 200; step++) {
        const allowed = allowedNext(reply);
        const text = tok.decode(reply);
        expect({ name, text, some: allowed.length > 0 }).toEqual({ name, text, some: true });
        const tokens = allowed.filter((id) => id !== 50256);
        if (step < strayAt && at < target.length) {
          let best = -1, bestLength = 0;
          for (const id of tokens) {
            const b = bytesOf(id);
            if (b.length > bestLength && at + b.length <= target.length && b.every((x: number, k: number) => x === target[at + k])) [best, bestLength] = [id, b.length];
          }
          expect({ name, text, spelt: best >= 0 }).toEqual({ name, text, spelt: true });
          reply.push(best);
          at += bestLength;
          continue;
        }
        if (step < strayAt) break; // (the text spelt whole)
        if ((allowed.includes(50256) && random() < 0.3) || !tokens.length) break;
        reply.push(tokens[Math.floor(random() * tokens.length)]);
      }
      const ended = allowedNext(reply).includes(50256);
      if (walk < 3) expect({ name, text: Buffer.from(reply.flatMap((id) => [...bytesOf(id)])).toString(), ended }).toEqual({ name, text: Buffer.from(target).toString(), ended: true });
      if (ended) finished.push(reply.flatMap((id) => [...bytesOf(id)]));
    });
    const verdicts: boolean[] = python({ check: [{ spec, texts: finished }] }).verdicts[0];
    expect({ name, verdicts }).toEqual({ name, verdicts: finished.map(() => true) });
  }
});
