// tstorch generate --choice / --regex / --json-schema / --json-object / --grammar / --structural-tag,
// run as a user would: a small GPT-2 with random weights samples, and each reply is held to what was
// asked (Python's re.fullmatch, json, python3-lark and stag_ref.py judge), in each of generate's paths: one prompt streamed, several
// sequences, --prompts in padded batches and with --continuous-batching.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { saveTinyGpt2 } from './helpers';
import { JsonGrammar, readJsonPrefix } from '../lib/models/json_constraint';
import { EbnfGrammar, readGrammarPrefix } from '../lib/models/grammar_constraint';
import { StructuralTag } from '../lib/models/structural_tag';
import { readPrefix } from '../lib/models/token_constraint';

const bin = path.join(__dirname, '..', 'dist', 'lib', 'cli', 'main.js');
let tmp: string, modelDir: string;

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 300000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function fullmatch(pattern: string, texts: string[]): boolean[] {
  const r = spawnSync('/usr/bin/python3', [path.join(__dirname, '..', 'scripts', 'reference', 'regex_ref.py')], { input: JSON.stringify({ check: [{ pattern, texts: texts.map((t) => [...Buffer.from(t)]) }] }), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout).matches[0];
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-cli-structured-'));
  modelDir = await saveTinyGpt2(path.join(tmp, 'model'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('--choice and --regex: sampled replies are one of the choices, or match the pattern; streamed alike', () => {
  const prompt = 'The verdict:';
  const r = cli('generate', '--model', modelDir, '--prompt', prompt, '--choice', 'guilty,not guilty,hung jury', '--temperature', '1', '--seed', '1', '--num-return-sequences', '6', '--max-new-tokens', '20', '--json');
  expect(r.err).toBe('');
  const replies = r.out.trim().split('\n').map((l) => JSON.parse(l).text.slice(prompt.length));
  expect(replies.length).toBe(6);
  for (const reply of replies) expect(['guilty', 'not guilty', 'hung jury']).toContain(reply);
  const json = cli('generate', '--model', modelDir, '--prompt', prompt, '--choice', '["a, b", "c"]', '--max-new-tokens', '20', '--json');
  expect(['a, b', 'c']).toContain(JSON.parse(json.out).text.slice(prompt.length));
  // one prompt, streamed as it is generated
  const pattern = '[A-Z]{2}-\\d{2,3}( \\(ok\\))?';
  const streamed = cli('generate', '--model', modelDir, '--prompt', prompt, '--regex', pattern, '--temperature', '1', '--seed', '2', '--max-new-tokens', '30');
  expect(streamed.err).toBe('');
  expect(streamed.out.startsWith(prompt)).toBe(true);
  const reply = streamed.out.slice(prompt.length).replace(/\n$/, '');
  expect({ reply, match: fullmatch(pattern, [reply])[0] }).toEqual({ reply, match: true });
});

test('--json-schema and --json-object over --prompts: padded batches and continuous batching, each completion JSON the schema accepts', () => {
  const schema = { type: 'object', properties: { name: { type: 'string', enum: ['Ann', 'Bo'] }, age: { enum: [1, 2, 30] }, tags: { type: 'array', items: { type: 'boolean' }, maxItems: 2 } }, required: ['name', 'age', 'tags'] };
  const schemaFile = path.join(tmp, 'schema.json');
  fs.writeFileSync(schemaFile, JSON.stringify(schema));
  const grammar = JsonGrammar.fromSchema(schema);
  const promptsFile = path.join(tmp, 'prompts.txt');
  fs.writeFileSync(promptsFile, ['Person:', 'A much longer prompt that comes before the record:', 'X'].join('\n'));
  for (const extra of [['--batch-size', '2'], ['--continuous-batching', '--batch-size', '2']]) {
    const r = cli('generate', '--model', modelDir, '--prompts', promptsFile, '--json-schema', schemaFile, '--temperature', '0.8', '--seed', '3', '--max-new-tokens', '80', ...extra);
    expect(r.err).toBe('');
    const lines = r.out.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.length).toBe(3);
    // (ended by the end token: whole, and the schema's; cut by max_tokens or the tiny model's 64 positions: the start of one)
    const ended = lines.filter((l) => l.tokens.at(-1) === 50256);
    expect(ended.length).toBeGreaterThan(0);
    for (const l of lines) expect(readJsonPrefix(grammar, Buffer.from(l.completion))).toBe(ended.includes(l) ? 'done' : 'open');
    for (const l of ended) {
      const value = JSON.parse(l.completion);
      expect(Object.keys(value)).toEqual(['name', 'age', 'tags']);
      expect(['Ann', 'Bo']).toContain(value.name);
      expect([1, 2, 30]).toContain(value.age);
      expect(value.tags.every((t: unknown) => typeof t === 'boolean') && value.tags.length <= 2).toBe(true);
    }
  }
  const o = cli('generate', '--model', modelDir, '--prompts', promptsFile, '--json-object', '--max-new-tokens', '60', '--temperature', '0.8', '--seed', '4');
  for (const l of o.out.trim().split('\n').map((x) => JSON.parse(x))) expect(readJsonPrefix(JsonGrammar.object(), Buffer.from(l.completion))).toBe(l.tokens.at(-1) === 50256 ? 'done' : 'open');
});

/**
 * Replies sampled under a hold (`hold`: its flag and file): six sequences for `prompt`, and one for
 * each of it and a longer prompt through --prompts in a padded batch; ended: the reply's last token
 * is the end (a whole reply), else max_tokens cut it.
 */
function heldReplies(hold: string[], prompt: string): { text: string; ended: boolean }[] {
  const r = cli('generate', '--model', modelDir, '--prompt', prompt, ...hold, '--temperature', '1', '--seed', '5', '--num-return-sequences', '6', '--max-new-tokens', '40', '--json');
  expect(r.err).toBe('');
  const replies = r.out.trim().split('\n').map((l) => JSON.parse(l)).map((l) => ({ text: l.text.slice(prompt.length), ended: l.tokens.at(-1) === 50256 }));
  const promptsFile = path.join(tmp, 'held-prompts.txt');
  fs.writeFileSync(promptsFile, `${prompt}\nA longer prompt before it:`);
  const batched = cli('generate', '--model', modelDir, '--prompts', promptsFile, ...hold, '--temperature', '1', '--seed', '6', '--max-new-tokens', '40', '--batch-size', '2');
  expect(batched.err).toBe('');
  return [...replies, ...batched.out.trim().split('\n').map((l) => JSON.parse(l)).map((l) => ({ text: l.completion, ended: l.tokens.at(-1) === 50256 }))];
}

test('--grammar FILE: sampled replies a text the grammar derives (as Lark parses it) where they ended, the start of one where cut; over --prompts too', () => {
  const ebnf = '# a list of words\nroot ::= "[" word (", " word)* "]"\nword ::= [a-z]{1,6} | "\\"" [A-Z]+ "\\""\n';
  const lark = 'start: "[" word (", " word)* "]"\nword: /[a-z]/ ~ 1..6 | "\\"" /[A-Z]/+ "\\""\n';
  const file = path.join(tmp, 'list.ebnf');
  fs.writeFileSync(file, ebnf);
  const grammar = EbnfGrammar.fromText(ebnf);
  const replies = heldReplies(['--grammar', file], 'Words:');
  for (const { text, ended } of replies) expect({ text, read: readGrammarPrefix(grammar, Buffer.from(text)) }).toEqual({ text, read: ended ? 'done' : expect.any(String) });
  const whole = replies.filter((x) => x.ended).map((x) => x.text);
  expect(whole.length).toBeGreaterThan(2);
  const parsed = spawnSync('/usr/bin/python3', [path.join(__dirname, '..', 'scripts', 'reference', 'grammar_ref.py')], { input: JSON.stringify({ check: [{ lark, texts: whole }] }), encoding: 'utf8' });
  expect(JSON.parse(parsed.stdout).verdicts[0]).toEqual(whole.map(() => true));
});

test('--structural-tag FILE: sampled replies a text the structural tag accepts (stag_ref.py) where they ended, the start of one where cut; over --prompts too', () => {
  const spec = { type: 'structural_tag', format: { type: 'sequence', elements: [{ type: 'const_string', value: ' Call: ' }, { type: 'tags_with_separator', separator: ';', at_least_one: true, tags: [
    { begin: '<add>', content: { type: 'json_schema', json_schema: { type: 'object', properties: { a: { type: 'integer' }, b: { type: 'integer' } }, required: ['a', 'b'] } }, end: '</add>' },
    { begin: '<say>', content: { type: 'regex', pattern: '[a-z]{1,8}' }, end: '</say>' }] }] } };
  const file = path.join(tmp, 'calls.json');
  fs.writeFileSync(file, JSON.stringify(spec));
  const machine = StructuralTag.fromSpec(spec).machine();
  const replies = heldReplies(['--structural-tag', file], 'Tools:');
  for (const { text, ended } of replies) {
    const read = readPrefix(machine, Buffer.from(text));
    expect({ text, read: ended ? read : typeof read }).toEqual({ text, read: ended ? 'done' : 'string' });
  }
  const whole = replies.filter((x) => x.ended).map((x) => [...Buffer.from(x.text)]);
  expect(whole.length).toBeGreaterThan(2);
  const checked = spawnSync('/usr/bin/python3', [path.join(__dirname, '..', 'scripts', 'reference', 'stag_ref.py')], { input: JSON.stringify({ check: [{ spec, texts: whole }] }), encoding: 'utf8' });
  expect(JSON.parse(checked.stdout).verdicts[0]).toEqual(whole.map(() => true));
});

test('what cannot be held says so, before any work', () => {
  fs.writeFileSync(path.join(tmp, 'tag.ebnf'), 'root ::= "a"');
  const cases: [string[], RegExp][] = [
    [['--choice', 'a', '--regex', 'b'], /--regex and --choice: give one/],
    [['--regex', 'a(?=b)'], /--regex: regex "a\(\?=b\)" at position \d+: a lookahead is not served/],
    [['--json-schema', path.join(tmp, 'none.json')], /--json-schema: .*none\.json: no such file/],
    [['--choice', 'a', '--min-new-tokens', '2'], /--choice and --min-new-tokens do not go together/],
    [['--choice', '[1]'], /--choice: choice must be a non-empty list of strings/],
    [['--grammar', path.join(tmp, 'none.ebnf')], /--grammar: .*none\.ebnf: no such file \(a grammar in EBNF/],
    [['--grammar', path.join(tmp, 'list.ebnf'), '--regex', 'a'], /--regex and --grammar: give one/],
    [['--structural-tag', path.join(tmp, 'none.json')], /--structural-tag: .*none\.json: no such file \(a structural tag/],
    [['--structural-tag', path.join(tmp, 'tag.ebnf')], /--structural-tag: .*tag\.ebnf is not JSON/],
    [['--structural-tag', path.join(tmp, 'calls.json'), '--grammar', path.join(tmp, 'list.ebnf')], /--grammar and --structural-tag: give one/],
  ];
  for (const [flags, message] of cases) {
    const r = cli('generate', '--model', modelDir, '--prompt', 'x', ...flags);
    expect({ flags, code: r.code, err: r.err }).toEqual({ flags, code: 1, err: expect.stringMatching(message) });
  }
});
