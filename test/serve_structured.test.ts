// tstorch serve's structured outputs beyond response_format, as vLLM serves them:
// {"structured_outputs": {"choice" | "regex" | "json" | "grammar" | "structural_tag" | "json_object": ...}},
// response_format structural_tag, and the guided_* fields older vLLM read. A small GPT-2 with random weights samples freely; held, each reply
// is one of the choices, a match of the pattern by Python's re.fullmatch (scripts/reference/regex_ref.py),
// a text the grammar derives by python3-lark (grammar_ref.py), a text the structural tag accepts
// (stag_ref.py), or JSON the schema accepts, whole where
// it stopped and the start of one where max_tokens cut it.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import * as torch from '../lib';
import { postJson } from './helpers';
import { requestHandler } from '../lib/cli/commands/serve';
import { JsonGrammar, readJsonPrefix } from '../lib/models/json_constraint';
import { RegexGrammar, readRegexPrefix } from '../lib/models/regex_constraint';
import { EbnfGrammar, readGrammarPrefix } from '../lib/models/grammar_constraint';
import { StructuralTag } from '../lib/models/structural_tag';
import { readPrefix } from '../lib/models/token_constraint';

const TEMPLATE = fs.readFileSync(path.join(__dirname, 'fixtures', 'chat_templates', 'qwen3_style_reasoning.jinja'), 'utf8');
const tok = torch.tokenizer.withChatTemplate(TEMPLATE);
let model: torch.GPT2LMHeadModel, server: http.Server, base: string;

beforeAll(async () => {
  torch.manualSeed(0);
  model = new torch.GPT2LMHeadModel({ vocab_size: 50257, n_positions: 256, n_embd: 32, n_layer: 1, n_head: 2 });
  model.eval();
  server = http.createServer(requestHandler({ model, tokenizer: tok, name: 'tiny' }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => { server?.close(() => resolve()); server?.closeAllConnections(); });
  model?.dispose();
});

const post = (route: string, body: unknown) => postJson(base, route, body);

function fullmatch(pattern: string, texts: string[]): boolean[] {
  const r = spawnSync('/usr/bin/python3', [path.join(__dirname, '..', 'scripts', 'reference', 'regex_ref.py')], { input: JSON.stringify({ check: [{ pattern, texts: texts.map((t) => [...Buffer.from(t)]) }] }), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout).matches[0];
}

const CHOICES = ['positive', 'negative', 'neutral', 'mixed feelings'];

test('choice: each sampled reply is exactly one of the choices; structured_outputs and guided_choice alike; streamed alike', async () => {
  // (unheld, the model's reply is none of them: the hold is what makes it one)
  const free = await post('/v1/completions', { prompt: 'The review was', max_tokens: 6, temperature: 1, seed: 1, n: 4 });
  expect(free.json.choices.some((c: any) => !CHOICES.includes(c.text))).toBe(true);
  for (const field of [{ structured_outputs: { choice: CHOICES } }, { guided_choice: CHOICES, guided_decoding_backend: 'xgrammar' }]) {
    const r = await post('/v1/completions', { prompt: 'The review was', max_tokens: 20, temperature: 1, seed: 2, n: 8, ...field });
    expect(r.status).toBe(200);
    expect(r.json.choices.map((c: any) => c.finish_reason)).toEqual(Array(8).fill('stop'));
    expect(r.json.choices.every((c: any) => CHOICES.includes(c.text))).toBe(true);
    expect(new Set(r.json.choices.map((c: any) => c.text)).size).toBeGreaterThan(1); // (sampled: not always the same one)
  }
  const s = await post('/v1/completions', { prompt: 'The review was', max_tokens: 20, temperature: 1, seed: 3, stream: true, structured_outputs: { choice: CHOICES } });
  const chunks = s.events!.filter((e) => e !== '[DONE]');
  expect(CHOICES).toContain(chunks.map((e) => e.choices[0].text).join(''));
  expect(chunks.at(-1).choices[0].finish_reason).toBe('stop');
});

test('regex: each sampled reply matches as Python\'s re.fullmatch reads it where it stopped, and is the start of a match where max_tokens cut it', async () => {
  const patterns = ['\\d{3}-[a-z]{2,4}( ok)?', '(?:yes|no), because [A-Z][a-z]{1,5}\\.', '[\\u00e0-\\u00ff]{1,3}|\\w{1,8}@\\w{1,8}\\.(com|org)'];
  for (const pattern of patterns) {
    const grammar = RegexGrammar.fromPattern(pattern);
    const r = await post('/v1/completions', { prompt: 'Answer:', max_tokens: 24, temperature: 1, seed: 4, n: 6, structured_outputs: { regex: pattern } });
    expect(r.status).toBe(200);
    const texts: string[] = r.json.choices.map((c: any) => c.text);
    const python = fullmatch(pattern, texts);
    r.json.choices.forEach((c: any, i: number) => {
      expect({ pattern, text: c.text, finish: c.finish_reason, match: python[i] }).toEqual({ pattern, text: c.text, finish: c.finish_reason, match: c.finish_reason === 'stop' });
      if (c.finish_reason === 'length') expect(readRegexPrefix(grammar, Buffer.from(c.text))).not.toEqual(expect.any(Number));
    });
    expect({ pattern, stopped: r.json.choices.some((c: any) => c.finish_reason === 'stop'), texts }).toMatchObject({ pattern, stopped: true });
  }
  // guided_regex, older vLLM's name, through chat: the reply's content
  const chat = await post('/v1/chat/completions', { messages: [{ role: 'user', content: 'A code?' }], max_tokens: 24, temperature: 1, seed: 5, n: 3, guided_regex: '[A-Z]{2}\\d{2}', chat_template_kwargs: { enable_thinking: false } });
  expect(chat.status).toBe(200);
  const contents = chat.json.choices.map((c: any) => c.message.content);
  expect(fullmatch('[A-Z]{2}\\d{2}', contents)).toEqual(contents.map(() => true));
});

test('json: a JSON Schema (or its text) with any root, and json_object; the replies are JSON the schema accepts', async () => {
  const schema = { type: 'array', items: { type: 'object', properties: { id: { type: 'integer' }, ok: { type: 'boolean' } }, required: ['id', 'ok'] }, minItems: 1, maxItems: 2 };
  const grammar = JsonGrammar.fromSchema(schema, { anyRoot: true });
  for (const field of [{ structured_outputs: { json: schema } }, { structured_outputs: { json: JSON.stringify(schema) } }, { guided_json: schema }]) {
    const r = await post('/v1/completions', { prompt: 'Items:', max_tokens: 60, temperature: 0.7, seed: 6, n: 3, ...field });
    expect(r.status).toBe(200);
    for (const c of r.json.choices) {
      expect(readJsonPrefix(grammar, Buffer.from(c.text))).toBe(c.finish_reason === 'stop' ? 'done' : 'open');
      if (c.finish_reason === 'stop') expect(Array.isArray(JSON.parse(c.text))).toBe(true);
    }
  }
  // (what Pydantic writes for a date, a constr pattern, a conint and a confloat: response_format json_schema)
  const checked = { type: 'object', properties: { when: { type: 'string', format: 'date' }, code: { type: 'string', pattern: '^[A-Z]{3}$' }, n: { type: 'integer', minimum: 1, maximum: 9 }, score: { type: 'number', exclusiveMinimum: 0, maximum: 1 } }, required: ['when', 'code', 'n', 'score'] };
  const r = await post('/v1/completions', { prompt: 'Record:', max_tokens: 90, temperature: 0.8, seed: 8, n: 4, response_format: { type: 'json_schema', json_schema: { name: 'record', schema: checked } } });
  expect(r.json.error).toBeUndefined();
  const whole = r.json.choices.filter((c: any) => c.finish_reason === 'stop').map((c: any) => JSON.parse(c.text));
  expect(whole.length).toBeGreaterThan(1);
  const dates = spawnSync('/usr/bin/python3', [path.join(__dirname, '..', 'scripts', 'reference', 'json_ref.py')], { input: JSON.stringify({ formats: { date: whole.map((v: any) => v.when) } }), encoding: 'utf8' });
  expect(JSON.parse(dates.stdout).date).toEqual(whole.map(() => true));
  for (const v of whole) {
    expect(v.code).toMatch(/^[A-Z]{3}$/);
    expect(Number.isInteger(v.n) && v.n >= 1 && v.n <= 9).toBe(true);
    expect({ score: v.score, inRange: typeof v.score === 'number' && v.score > 0 && v.score <= 1 }).toEqual({ score: v.score, inRange: true });
  }
  // (vLLM's options: no whitespace between JSON's parts; no keys an object does not list)
  const compact = await post('/v1/completions', { prompt: 'Object:', max_tokens: 60, temperature: 0.9, seed: 9, n: 4, structured_outputs: { json: { type: 'object', properties: { a: { type: 'array', items: { type: 'integer', minimum: 0, maximum: 9 }, maxItems: 3 }, b: { enum: ['x y', 'z'] } }, required: ['a', 'b'] }, disable_any_whitespace: true } });
  const stopped = compact.json.choices.filter((c: any) => c.finish_reason === 'stop');
  expect(stopped.length).toBeGreaterThan(0);
  for (const c of stopped) {
    expect(typeof JSON.parse(c.text)).toBe('object');
    expect(c.text.replace(/"[^"]*"/g, '""')).not.toMatch(/\s/); // (none outside its strings)
  }
  const bare = await post('/v1/completions', { prompt: 'Object:', max_tokens: 20, temperature: 1, seed: 10, n: 3, structured_outputs: { json: { type: 'object', properties: { meta: { type: 'object' } }, required: ['meta'] }, disable_additional_properties: true, disable_any_whitespace: true } });
  for (const c of bare.json.choices) expect(c.text).toBe('{"meta":{}}');
  // (a bare value at the root, as vLLM takes it: an integer in range, one of an enum's values; a number ends where it is whole)
  const age = await post('/v1/completions', { prompt: 'Age:', max_tokens: 8, temperature: 1, seed: 11, n: 6, structured_outputs: { json: { type: 'integer', minimum: 18, maximum: 99 } } });
  for (const c of age.json.choices) {
    expect({ text: c.text, stop: c.finish_reason }).toEqual({ text: expect.stringMatching(/^(1[89]|[2-9]\d)$/), stop: 'stop' });
  }
  const color = await post('/v1/completions', { prompt: 'Color:', max_tokens: 8, temperature: 1, seed: 12, n: 4, guided_json: { enum: ['red', 'green', 7, null] } });
  for (const c of color.json.choices) expect(['"red"', '"green"', '7', 'null']).toContain(c.text);
  const o = await post('/v1/completions', { prompt: 'Object:', max_tokens: 40, temperature: 0.7, seed: 7, n: 3, structured_outputs: { json_object: true } });
  for (const c of o.json.choices) expect(readJsonPrefix(JsonGrammar.object(), Buffer.from(c.text))).toBe(c.finish_reason === 'stop' ? 'done' : 'open');
});
// vLLM's documented grammar example, and arithmetic (with Lark's reading of it, the reference)
const SQL = 'root ::= select_statement\nselect_statement ::= "SELECT " column " from " table " where " condition\ncolumn ::= "col_1 " | "col_2 "\ntable ::= "table_1 " | "table_2 "\ncondition ::= column "= " number\nnumber ::= "1 " | "2 "\n';
const ARITHMETIC = 'root ::= expr\nexpr ::= term ([-+] term)*\nterm ::= factor ([*/] factor)*\nfactor ::= [0-9]{1,3} | "(" expr ")"\n';
const ARITHMETIC_LARK = 'start: expr\nexpr: term (/[-+]/ term)*\nterm: factor (/[*\\/]/ factor)*\nfactor: /[0-9]/ ~ 1..3 | "(" expr ")"\n';

test('grammar: each sampled reply is a text the grammar derives where it stopped (vLLM\'s SQL example: one of its 16 statements; arithmetic: as Lark parses it), the start of one where cut; guided_grammar and streams alike', async () => {
  const statements = ['col_1 ', 'col_2 '].flatMap((c) => ['table_1 ', 'table_2 '].flatMap((t) => ['col_1 ', 'col_2 '].flatMap((w) => ['1 ', '2 '].map((n) => `SELECT ${c} from ${t} where ${w}= ${n}`))));
  const r = await post('/v1/completions', { prompt: 'SQL:', max_tokens: 40, temperature: 1, seed: 11, n: 6, structured_outputs: { grammar: SQL } });
  expect(r.status).toBe(200);
  expect(r.json.choices.map((c: any) => c.finish_reason)).toEqual(Array(6).fill('stop'));
  for (const c of r.json.choices) expect(statements).toContain(c.text);
  expect(new Set(r.json.choices.map((c: any) => c.text)).size).toBeGreaterThan(1);
  const arithmetic = EbnfGrammar.fromText(ARITHMETIC);
  const texts: string[] = [];
  for (const field of [{ structured_outputs: { grammar: ARITHMETIC } }, { guided_grammar: ARITHMETIC, guided_decoding_backend: 'xgrammar' }]) {
    const a = await post('/v1/completions', { prompt: 'Sum:', max_tokens: 16, temperature: 1, seed: 12, n: 6, ...field });
    expect(a.status).toBe(200);
    for (const c of a.json.choices) {
      // (cut by max_tokens: the start of a text, or a whole one that might have gone on)
      expect({ text: c.text, read: readGrammarPrefix(arithmetic, Buffer.from(c.text)) }).toEqual({ text: c.text, read: c.finish_reason === 'stop' ? 'done' : expect.any(String) });
      if (c.finish_reason === 'stop') texts.push(c.text);
    }
  }
  const s = await post('/v1/chat/completions', { messages: [{ role: 'user', content: 'A sum?' }], max_tokens: 16, temperature: 1, seed: 13, stream: true, structured_outputs: { grammar: ARITHMETIC }, chat_template_kwargs: { enable_thinking: false } });
  const streamed = s.events!.filter((e) => e !== '[DONE]').map((e) => e.choices[0]?.delta?.content ?? '').join('');
  if (s.events!.filter((e) => e !== '[DONE]').at(-1).choices[0].finish_reason === 'stop') texts.push(streamed);
  else expect(readGrammarPrefix(arithmetic, Buffer.from(streamed))).toEqual(expect.any(String));
  expect(texts.length).toBeGreaterThan(3);
  const parsed = spawnSync('/usr/bin/python3', [path.join(__dirname, '..', 'scripts', 'reference', 'grammar_ref.py')], { input: JSON.stringify({ check: [{ lark: ARITHMETIC_LARK, texts }] }), encoding: 'utf8' });
  expect(JSON.parse(parsed.stdout).verdicts[0]).toEqual(texts.map(() => true));
});

const CALL = { type: 'object', properties: { city: { type: 'string', maxLength: 12 }, days: { type: 'integer', minimum: 1, maximum: 7 } }, required: ['city', 'days'] };
const CALL_TAG = { begin: '<function=get_weather>', content: { type: 'json_schema', json_schema: CALL }, end: '</function>' };

test('structural_tag: each reply is a text the structural tag accepts where it stopped (stag_ref.py), the start of one where cut; response_format (new and older form), structured_outputs (its JSON text) and a stream alike', async () => {
  const exactlyOne = { type: 'structural_tag', format: { type: 'triggered_tags', triggers: ['<function='], tags: [CALL_TAG], at_least_one: true, stop_after_first: true } };
  const calls = { type: 'structural_tag', format: { type: 'tag', begin: '[', content: { type: 'tags_with_separator', separator: ', ', at_least_one: true, tags: [CALL_TAG] }, end: ']' } };
  const legacy = { type: 'structural_tag', structures: [{ begin: '<function=get_weather>', schema: CALL, end: '</function>' }], triggers: ['<function='] };
  const checked: { spec: unknown; texts: number[][] }[] = [];
  let whole = 0;
  for (const [spec, field] of [[exactlyOne, { response_format: exactlyOne }], [exactlyOne, { structured_outputs: { structural_tag: JSON.stringify(exactlyOne) } }], [calls, { response_format: calls }], [legacy, { response_format: legacy }]] as const) {
    const machine = StructuralTag.fromSpec(spec).machine();
    const r = await post('/v1/chat/completions', { messages: [{ role: 'user', content: 'Weather in Oslo?' }], max_tokens: 80, temperature: 1, seed: 21, n: 4, chat_template_kwargs: { enable_thinking: false }, ...field });
    expect(r.status).toBe(200);
    const texts: number[][] = [];
    for (const c of r.json.choices) {
      const text: string = c.message.content;
      // (cut by max_tokens: the start of an accepted text (a character cut midway ends in U+FFFD); stopped: a whole one)
      if (c.finish_reason === 'stop') {
        expect({ text, read: readPrefix(machine, Buffer.from(text)) }).toEqual({ text, read: 'done' });
        texts.push([...Buffer.from(text)]);
      } else if (!text.endsWith('\ufffd')) {
        expect({ text, dead: typeof readPrefix(machine, Buffer.from(text)) === 'number' }).toEqual({ text, dead: false });
      }
    }
    whole += texts.length;
    checked.push({ spec, texts });
  }
  const s = await post('/v1/chat/completions', { messages: [{ role: 'user', content: 'Weather?' }], max_tokens: 80, temperature: 1, seed: 22, stream: true, response_format: exactlyOne, chat_template_kwargs: { enable_thinking: false } });
  const events = s.events!.filter((e) => e !== '[DONE]');
  const streamed = events.map((e) => e.choices[0]?.delta?.content ?? '').join('');
  if (events.at(-1).choices[0].finish_reason === 'stop') checked.push({ spec: exactlyOne, texts: [[...Buffer.from(streamed)]] });
  else expect(typeof readPrefix(StructuralTag.fromSpec(exactlyOne).machine(), Buffer.from(streamed))).not.toBe('number');
  expect(whole).toBeGreaterThan(6);
  const r = spawnSync('/usr/bin/python3', [path.join(__dirname, '..', 'scripts', 'reference', 'stag_ref.py')], { input: JSON.stringify({ check: checked }), encoding: 'utf8' });
  expect(JSON.parse(r.stdout).verdicts).toEqual(checked.map((c) => c.texts.map(() => true)));
});

test('what cannot be held, or asks two things at once, is a 400 that says what to do', async () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ structured_outputs: { regex: 'a(?=b)' } }, /structured_outputs regex: regex "a\(\?=b\)" at position \d+: a lookahead is not served/],
    [{ guided_regex: '(a' }, /guided_regex: .*missing \), unterminated subpattern/],
    [{ structured_outputs: { choice: [] } }, /structured_outputs choice must be a non-empty list of strings/],
    [{ guided_choice: ['a', 2] }, /guided_choice must be a non-empty list of strings/],
    [{ structured_outputs: { regex: 'a', choice: ['a'] } }, /only one kind of structured output at a time, got structured_outputs regex and structured_outputs choice/],
    [{ structured_outputs: { choice: ['a'] }, guided_regex: 'a' }, /structured_outputs and guided_regex do not go together/],
    [{ structured_outputs: { grammar: 'expr ::= expr "+" "1" | "1"\nroot ::= expr' } }, /structured_outputs grammar: the rule expr may begin with itself \(left recursion/],
    [{ guided_grammar: 'root: "a"' }, /guided_grammar: grammar at line 1, column 5: expected ::= after the rule name root \(this reads as a Lark grammar/],
    [{ structured_outputs: { grammar: ['root ::= "a"'] } }, /structured_outputs grammar must be a string/],
    [{ structured_outputs: { structural_tag: '{}' } }, /structured_outputs structural_tag: a structural tag needs its "format" \(or the older "structures" and "triggers"\)/],
    [{ structured_outputs: { structural_tag: '{"format": ' } }, /structured_outputs structural_tag: a string must be a structural tag's JSON text/],
    [{ response_format: { type: 'structural_tag', format: { type: 'sequence', elements: [{ type: 'any_text' }, { type: 'const_string', value: '.' }] } } }, /response_format structural_tag: format.elements\[0\]: only the last element of a sequence may run free/],
    [{ response_format: { type: 'structural_tag', format: { type: 'token', token: 7 } } }, /response_format structural_tag: format: format "token" is not served/],
    [{ structured_outputs: { choice: ['a'] }, response_format: { type: 'json_object' } }, /response_format and structured_outputs choice do not go together/],
    [{ structured_outputs: {} }, /structured_outputs holds no reply to anything/],
    [{ structured_outputs: { regex: 'a', whitespace_pattern: ' *' } }, /whitespace_pattern is not served/],
    [{ structured_outputs: { json: { type: 'object' }, disable_any_whitespace: 'yes' } }, /structured_outputs disable_any_whitespace must be true or false/],
    [{ structured_outputs: { json: 'not json' } }, /structured_outputs json: a string must be a JSON Schema's JSON text/],
    [{ structured_outputs: { json: { type: 'integer', multipleOf: 2 } } }, /structured_outputs json: schema: 'multipleOf' is not served/],
    [{ response_format: { type: 'json_schema', json_schema: { name: 'n', schema: { type: 'integer' } } } }, /response_format json_schema: schema: the reply must be an object/],
    [{ structured_outputs: { regex: 'a' }, ignore_eos: true }, /structured_outputs regex needs an end token/],
    [{ guided_choice: ['a'], min_tokens: 3 }, /guided_choice and min_tokens do not go together/],
    [{ structured_outputs: { pattern: 'a' } }, /unknown structured_outputs fields: pattern/],
    [{ structured_outputs: 'a' }, /structured_outputs must be an object/],
  ];
  for (const [field, message] of cases) {
    const r = await post('/v1/completions', { prompt: 'x', max_tokens: 4, ...field });
    expect({ field, status: r.status, message: r.json.error.message }).toEqual({ field, status: 400, message: expect.stringMatching(message) });
  }
});
