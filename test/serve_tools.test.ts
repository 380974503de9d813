// tstorch serve with tools, as vLLM serves them: the request's tools reach the chat template, and
// with --enable-auto-tool-choice --tool-call-parser hermes the reply's tool calls come back as
// OpenAI's tool_calls, read as vLLM's parser reads them (scripts/reference/tool_parser_ref.py);
// with --reasoning-parser, the reply's reasoning comes apart from its answer (reasoning_parser_ref.py).
// The model: a small GPT-2 trained here until its greedy reply to the conversation is a text and
// two calls in Qwen's hermes format, a real generation through the server.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import * as torch from '../lib';
import { postJson } from './helpers';
import { requestHandler, ServeContext } from '../lib/cli/commands/serve';
import { JsonGrammar, readJsonPrefix } from '../lib/models/json_constraint';

const TEMPLATE = fs.readFileSync(path.join(__dirname, 'fixtures', 'chat_templates', 'qwen3_style_reasoning.jinja'), 'utf8');
const tok = torch.tokenizer.withChatTemplate(TEMPLATE);
const TOOLS = [
  { type: 'function', function: { name: 'get_weather', description: 'The weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'number' } }, required: ['city'] } } },
  { type: 'function', function: { name: 'get_time', description: 'The time in a zone', parameters: { type: 'object', properties: { tz: { type: 'string' } } } } },
];
const MESSAGES = [{ role: 'user', content: 'Weather and time in Paris?' }];
const REPLY = 'Checking.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris", "days": 2.0}}\n</tool_call>\n<tool_call>\n{"name": "get_time", "arguments": {"tz": "Europe/Paris"}}\n</tool_call>';
const EOS = 50256;

let model: torch.GPT2LMHeadModel, server: http.Server, base: string, prompt: number[];

/** Trains `model` until its greedy reply to `prompt` is `reply` then eos (the logits' argmax right at every reply position three steps running). */
function memorize(m: torch.GPT2LMHeadModel, promptIds: number[], reply: number[]): void {
  const ids = torch.keep(torch.tensor([[...promptIds, ...reply]], { dtype: 'int64' }));
  const target = torch.keep(torch.tensor(reply, { dtype: 'int64' }));
  const opt = new torch.optim.AdamW(m.parameters(), { lr: 3e-3 });
  let right = 0;
  for (let step = 0; step < 400 && right < 3; step++) {
    // (the logits of the reply's positions only: the prompt's are not trained)
    const allRight = torch.tidy(() => {
      const hidden = m.transformer.forward(ids).hidden.narrow(1, promptIds.length - 1, reply.length).squeeze(0);
      const logits = hidden.matmul(m.transformer.wte.weight.t());
      torch.nn.functional.crossEntropy(logits, target).backward();
      return logits.argmax(-1).eq(target).all().item<boolean>();
    });
    opt.step();
    opt.zeroGrad();
    right = allRight ? right + 1 : 0;
  }
  ids.dispose();
  target.dispose();
  m.eval();
}

function reference(cases: { parser: string; text: string }[]): { tools_called: boolean; content: string | null; calls: { name: string; arguments: string }[] }[] {
  const r = spawnSync('/usr/bin/python3', [path.join(__dirname, '..', 'scripts', 'reference', 'tool_parser_ref.py')], { input: JSON.stringify(cases), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

beforeAll(() => {
  torch.manualSeed(0);
  model = new torch.GPT2LMHeadModel({ vocab_size: 50257, n_positions: 512, n_embd: 64, n_layer: 2, n_head: 4 });
  prompt = tok.encode(tok.applyChatTemplate(MESSAGES, { tools: TOOLS, addGenerationPrompt: true }));
  memorize(model, prompt, [...tok.encode(REPLY), EOS]);
}, 120000);
afterAll(async () => {
  await new Promise<void>((resolve) => { server?.close(() => resolve()); server?.closeAllConnections(); });
  model?.dispose();
});

async function serving(ctx: Partial<ServeContext>): Promise<void> {
  if (server) await new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); });
  server = http.createServer(requestHandler({ model, tokenizer: tok, name: 'tiny', ...ctx }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

const post = (route: string, body: unknown) => postJson(base, route, body);

test('the model was trained to call: its greedy reply is the text and two calls (the premise of the tests below)', () => {
  const out = model.generate([prompt], { maxNewTokens: 100, eosTokenId: EOS })[0];
  expect(tok.decode(out.slice(prompt.length), { skipSpecialTokens: true })).toBe(REPLY);
});

test('--enable-auto-tool-choice --tool-call-parser hermes: the tools reach the template; the reply\'s calls come back as tool_calls, as vLLM\'s parser reads them; streamed alike', async () => {
  await serving({ toolCallParser: 'hermes', autoToolChoice: true });
  const body = { messages: MESSAGES, tools: TOOLS, temperature: 0, max_tokens: 100 };
  // the prompt is the template's with the tools (vLLM's /tokenize takes tools too)
  expect((await post('/tokenize', { messages: MESSAGES, tools: TOOLS })).json.tokens).toEqual(prompt);
  const [want] = reference([{ parser: 'hermes', text: REPLY }]);
  expect(want).toEqual({ tools_called: true, content: 'Checking.\n', calls: [{ name: 'get_weather', arguments: '{"city": "Paris", "days": 2.0}' }, { name: 'get_time', arguments: '{"tz": "Europe/Paris"}' }] });
  const r = await post('/v1/chat/completions', body);
  expect(r.status).toBe(200);
  const choice = r.json.choices[0];
  expect(choice.finish_reason).toBe('tool_calls');
  expect(choice.message.content).toBe(want.content);
  expect(choice.message.tool_calls.map((c: any) => c.function)).toEqual(want.calls);
  for (const c of choice.message.tool_calls) expect(c).toMatchObject({ id: expect.stringMatching(/^chatcmpl-tool-[0-9a-f]{32}$/), type: 'function' });
  expect(new Set(choice.message.tool_calls.map((c: any) => c.id)).size).toBe(2);
  expect(r.json.usage.completion_tokens).toBe(tok.encode(REPLY).length + 1);
  // parallel_tool_calls false: the first call only
  const one = await post('/v1/chat/completions', { ...body, parallel_tool_calls: false });
  expect(one.json.choices[0].message.tool_calls.map((c: any) => c.function)).toEqual(want.calls.slice(0, 1));
  // streamed: the text before the calls in content deltas (no piece of a call among them), then each call whole, then 'tool_calls'
  const s = await post('/v1/chat/completions', { ...body, stream: true });
  const chunks = s.events!.filter((e) => e !== '[DONE]');
  const deltas = chunks.map((e) => e.choices[0].delta);
  const content = deltas.map((d) => d.content ?? '').join('');
  expect(content).toBe(want.content);
  expect(deltas.filter((d) => d.content).length).toBeGreaterThan(1); // (the text did stream, piece by piece)
  const calls = deltas.filter((d) => d.tool_calls).map((d) => d.tool_calls[0]);
  expect(calls.map((c) => ({ index: c.index, ...c.function }))).toEqual(want.calls.map((c, index) => ({ index, ...c })));
  expect(chunks.at(-1).choices[0].finish_reason).toBe('tool_calls');
  expect(s.events!.at(-1)).toBe('[DONE]');
});

test('tool_choice none: the tools are in the prompt and the reply is text; a reply cut short in its call is text; what is not served says so', async () => {
  await serving({ toolCallParser: 'hermes', autoToolChoice: true });
  const none = await post('/v1/chat/completions', { messages: MESSAGES, tools: TOOLS, tool_choice: 'none', temperature: 0, max_tokens: 100 });
  expect(none.json.choices[0]).toMatchObject({ message: { role: 'assistant', content: REPLY }, finish_reason: 'stop' });
  expect(none.json.choices[0].message.tool_calls).toBeUndefined();
  // a reply cut short in its call (max_tokens) is no call: all of it is text, streamed too (the part held back while it might be a call sent at the end)
  const cut = tok.decode(model.generate([prompt], { maxNewTokens: 12, eosTokenId: EOS })[0].slice(prompt.length));
  expect(cut).toMatch(/^Checking\.\n<tool_call>\n\{"/);
  expect(reference([{ parser: 'hermes', text: cut }])[0]).toEqual({ tools_called: false, content: cut, calls: [] });
  const short = await post('/v1/chat/completions', { messages: MESSAGES, tools: TOOLS, temperature: 0, max_tokens: 12 });
  expect(short.json.choices[0]).toMatchObject({ message: { role: 'assistant', content: cut }, finish_reason: 'length' });
  expect(short.json.choices[0].message.tool_calls).toBeUndefined();
  const shortStream = (await post('/v1/chat/completions', { messages: MESSAGES, tools: TOOLS, temperature: 0, max_tokens: 12, stream: true })).events!.filter((e) => e !== '[DONE]');
  expect(shortStream.map((e) => e.choices[0].delta.content ?? '').join('')).toBe(cut);
  expect(shortStream.at(-1).choices[0].finish_reason).toBe('length');
  for (const [body, message] of [
    [{ messages: MESSAGES, tool_choice: 'auto' }, /^When using `tool_choice`, `tools` must be set\.$/],
    [{ messages: MESSAGES, tool_choice: 'required', tools: null }, /^When using `tool_choice`, `tools` must be set\.$/],
    [{ messages: MESSAGES, tools: [{ name: 'get_time' }] }, /^tools\[0\] must be \{"type": "function", "function": \{"name": /],
    [{ messages: MESSAGES, tools: TOOLS, parallel_tool_calls: 'no' }, /parallel_tool_calls must be true or false/],
    [{ messages: [...MESSAGES, { role: 'assistant', content: null, tool_calls: [{ id: 'x', type: 'function', function: { name: 'get_time', arguments: '{"tz": ' } }] }], tools: TOOLS }, /messages\[1\]\.tool_calls\[0\]\.function\.arguments is not JSON/],
  ] as [unknown, RegExp][]) {
    const r = await post('/v1/chat/completions', body);
    expect(r.status).toBe(400);
    expect(r.json.error.message).toMatch(message);
  }
  // tool_choice none needs no tools; an empty list of tools is none (nothing to call), as vLLM's
  for (const body of [{ tool_choice: 'none' }, { tools: [] }]) {
    const r = await post('/v1/chat/completions', { messages: MESSAGES, temperature: 0, max_tokens: 3, ...body });
    expect({ body, status: r.status, tool_calls: r.json.choices[0].message.tool_calls }).toEqual({ body, status: 200, tool_calls: undefined });
  }
  // llama3_json finds JSON anywhere in the reply: here the first call alone (the second is not joined by ';'), the text dropped, as vLLM's;
  // streamed, the text before the first '{' comes as it is made
  await serving({ toolCallParser: 'llama3_json', autoToolChoice: true });
  const [llamaWant] = reference([{ parser: 'llama3_json', text: REPLY }]);
  expect(llamaWant).toEqual({ tools_called: true, content: null, calls: [{ name: 'get_weather', arguments: '{"city": "Paris", "days": 2.0}' }] });
  const llama = await post('/v1/chat/completions', { messages: MESSAGES, tools: TOOLS, temperature: 0, max_tokens: 100 });
  expect(llama.json.choices[0]).toMatchObject({ message: { role: 'assistant', content: null }, finish_reason: 'tool_calls' });
  expect(llama.json.choices[0].message.tool_calls.map((c: any) => c.function)).toEqual(llamaWant.calls);
  const llamaStream = (await post('/v1/chat/completions', { messages: MESSAGES, tools: TOOLS, temperature: 0, max_tokens: 100, stream: true })).events!.filter((e) => e !== '[DONE]');
  expect(llamaStream.map((e) => e.choices[0].delta.content ?? '').join('')).toBe(REPLY.slice(0, REPLY.indexOf('{')));
  expect(llamaStream.filter((e) => e.choices[0].delta.tool_calls).map((e) => e.choices[0].delta.tool_calls[0].function)).toEqual(llamaWant.calls);
  expect(llamaStream.at(-1).choices[0].finish_reason).toBe('tool_calls');
  // without --enable-auto-tool-choice, tools ask for tool_choice none
  await serving({});
  const refused = await post('/v1/chat/completions', { messages: MESSAGES, tools: TOOLS });
  expect(refused.status).toBe(400);
  expect(refused.json.error.message).toMatch(/^"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set/);
  expect((await post('/v1/chat/completions', { messages: MESSAGES, tools: TOOLS, tool_choice: 'none', temperature: 0, max_tokens: 100 })).json.choices[0].message.content).toBe(REPLY);
});

test('the next turn: the assistant\'s calls sent back with their arguments as JSON strings (OpenAI\'s) reach the template as Python\'s json.loads makes them (vLLM\'s): objects, 2.0 a float', async () => {
  await serving({ toolCallParser: 'hermes', autoToolChoice: true });
  const first = (await post('/v1/chat/completions', { messages: MESSAGES, tools: TOOLS, temperature: 0, max_tokens: 100 })).json.choices[0].message;
  const turn = [...MESSAGES, first, { role: 'tool', tool_call_id: first.tool_calls[0].id, content: '{"temp": 21}' }, { role: 'tool', tool_call_id: first.tool_calls[1].id, content: '14:05' }];
  // the reference: Jinja2 (transformers' rendering) given the arguments as Python's json module reads them
  const args = first.tool_calls.map((c: any) => c.function.arguments as string);
  const asPlaceholders = turn.map((m: any, i) => (i === 1 ? { ...m, tool_calls: m.tool_calls.map((c: any, j: number) => ({ ...c, function: { ...c.function, arguments: `@ARGS${j}@` } })) } : m));
  let job = JSON.stringify({ render: [{ template: TEMPLATE, messages: asPlaceholders, special: {}, tools: TOOLS, add_generation_prompt: true }] });
  args.forEach((a: string, j: number) => { job = job.replace(`"@ARGS${j}@"`, a); });
  const r = spawnSync('/usr/bin/python3', [path.join(__dirname, '..', 'scripts', 'reference', 'chat_ref.py')], { input: job, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  const want = JSON.parse(r.stdout).render[0] as string;
  expect(want).toContain('<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris", "days": 2.0}}\n</tool_call>'); // (an object through tojson, its float a float)
  expect(want).toContain('<tool_response>\n{"temp": 21}\n</tool_response>');
  expect((await post('/tokenize', { messages: turn, tools: TOOLS })).json.tokens).toEqual(tok.encode(want));
});

/** Whether each text is one JSON object, by Python's json module (scripts/reference/json_ref.py). */
function jsonObjects(texts: string[]): boolean[] {
  const r = spawnSync('/usr/bin/python3', [path.join(__dirname, '..', 'scripts', 'reference', 'json_ref.py')], { input: JSON.stringify({ check: texts.map((t) => [...Buffer.from(t, 'utf8')]) }), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout).objects;
}

/** Whether python3-jsonschema accepts each text under the schema (json_ref.py's reading: strict, in the schema's order). */
function schemaAccepts(schema: unknown, texts: string[]): boolean[] {
  const r = spawnSync('/usr/bin/python3', [path.join(__dirname, '..', 'scripts', 'reference', 'json_ref.py')], { input: JSON.stringify({ check: texts.map((t) => [...Buffer.from(t, 'utf8')]), schema }), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout).objects;
}

test('response_format json_object and json_schema: the reply is held to a JSON object (one the schema accepts), ended once it is closed; streamed alike; sampled replies too; what does not go with it says so', async () => {
  await serving({});
  const body = { messages: MESSAGES, tools: TOOLS, tool_choice: 'none', temperature: 0, max_tokens: 100 };
  // (the model was trained to write text and calls: unheld, its reply is no JSON object)
  expect(jsonObjects([(await post('/v1/chat/completions', body)).json.choices[0].message.content])).toEqual([false]);
  const held = (await post('/v1/chat/completions', { ...body, response_format: { type: 'json_object' } })).json.choices[0];
  expect(held.finish_reason).toBe('stop');
  expect(jsonObjects([held.message.content])).toEqual([true]);
  expect(held.message.content).toContain('"Paris'); // (within the object, the model still writes what it learned)
  const streamed = (await post('/v1/chat/completions', { ...body, response_format: { type: 'json_object' }, stream: true })).events!.filter((e) => e !== '[DONE]');
  expect(streamed.map((e) => e.choices[0].delta.content ?? '').join('')).toBe(held.message.content);
  expect(streamed.at(-1).choices[0].finish_reason).toBe('stop');
  // a schema: the call the model learned, held to its fields (python3-jsonschema agrees)
  const schema = { type: 'object', properties: { name: { enum: ['get_weather', 'get_time'] }, arguments: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'number' } }, required: ['city'] } }, required: ['name', 'arguments'] };
  const call = (await post('/v1/chat/completions', { ...body, response_format: { type: 'json_schema', json_schema: { name: 'call', schema } } })).json.choices[0];
  expect(call.finish_reason).toBe('stop');
  expect(schemaAccepts(schema, [call.message.content])).toEqual([true]);
  expect(JSON.parse(call.message.content)).toMatchObject({ arguments: { city: 'Paris' } });
  // {"type": "text"} is the plain reply
  expect((await post('/v1/chat/completions', { ...body, response_format: { type: 'text' } })).json.choices[0].message.content).toBe(REPLY);
  // sampled, several at once (completions): each reply a whole object where it stopped, the start of one where max_tokens cut it
  const sampledReply = await post('/v1/completions', { prompt: 'Weather in Paris:', n: 4, temperature: 1, seed: 3, max_tokens: 24, response_format: { type: 'json_object' } });
  const sampled = sampledReply.json.choices;
  const whole = jsonObjects(sampled.map((c: any) => c.text));
  sampled.forEach((c: any, i: number) => {
    expect(c.text.startsWith('{')).toBe(true);
    expect({ finish: c.finish_reason, object: whole[i], read: readJsonPrefix(JsonGrammar.object(), Buffer.from(c.text, 'utf8')) }).toEqual(c.finish_reason === 'stop' ? { finish: 'stop', object: true, read: 'done' } : { finish: 'length', object: false, read: 'open' });
  });
  for (const [extra, message] of [
    [{ response_format: { type: 'json_schema', json_schema: { name: 'w', schema: { type: 'object', properties: { t: { type: 'string', format: 'hostname' } } } } } }, /^response_format json_schema: schema\.properties\.t\.format "hostname" is not served/],
    [{ response_format: { type: 'json_schema', json_schema: { name: 'w' } } }, /^response_format json_schema needs "json_schema": \{"name": \.\.\., "schema": \{\.\.\.\}\}/],
    [{ response_format: { type: 'xml' } }, /^response_format must be \{"type": "json_object"\}, \{"type": "json_schema"/],
    [{ response_format: { type: 'json_object' }, ignore_eos: true }, /response_format needs an end token to stop at once the reply is whole: leave out ignore_eos/],
    [{ response_format: { type: 'json_object' }, min_tokens: 5 }, /response_format and min_tokens do not go together/],
  ] as [Record<string, unknown>, RegExp][]) {
    const r = await post('/v1/chat/completions', { ...body, ...extra });
    expect({ extra, status: r.status }).toEqual({ extra, status: 400 });
    expect(r.json.error.message).toMatch(message);
  }
});

test('tool_choice "required" and a named function: the reply held to calls (vLLM\'s schemas for them) and read out as tool_calls; streamed, the calls whole at the end', async () => {
  await serving({}); // (no --enable-auto-tool-choice: these need no parser, as vLLM's)
  const body = { messages: MESSAGES, tools: TOOLS, temperature: 0, max_tokens: 100 };
  const weather = TOOLS[0].function.parameters;
  // a named function: the reply is its arguments, an object its parameters' schema accepts
  const named = (await post('/v1/chat/completions', { ...body, tool_choice: { type: 'function', function: { name: 'get_weather' } } })).json.choices[0];
  expect(named).toMatchObject({ message: { role: 'assistant', content: '' }, finish_reason: 'stop' });
  expect(named.message.tool_calls.map((c: any) => c.function.name)).toEqual(['get_weather']);
  expect(schemaAccepts(weather, [named.message.tool_calls[0].function.arguments])).toEqual([true]);
  // required, one call (parallel_tool_calls false): a list of one {"name", "parameters"}, read out as a call whose arguments are
  // the parameters as Python's json.dumps writes them; the tool's schema accepts them
  const one = (await post('/v1/chat/completions', { ...body, tool_choice: 'required', parallel_tool_calls: false })).json.choices[0];
  expect(one).toMatchObject({ message: { role: 'assistant', content: '' }, finish_reason: 'tool_calls' });
  expect(one.message.tool_calls).toHaveLength(1);
  const [call] = one.message.tool_calls;
  const tool = TOOLS.find((t) => t.function.name === call.function.name)!;
  expect(schemaAccepts(tool.function.parameters, [call.function.arguments])).toEqual([true]);
  const redumped = spawnSync('/usr/bin/python3', ['-c', 'import json, sys; print(json.dumps(json.loads(sys.stdin.read()), ensure_ascii=False), end="")'], { input: call.function.arguments, encoding: 'utf8' }).stdout;
  expect(call.function.arguments).toBe(redumped);
  // streamed: no piece of the calls' JSON as content; the call whole at the end, then tool_calls
  const streamed = (await post('/v1/chat/completions', { ...body, tool_choice: 'required', parallel_tool_calls: false, stream: true })).events!.filter((e) => e !== '[DONE]');
  expect(streamed.map((e) => e.choices[0].delta.content ?? '').join('')).toBe('');
  expect(streamed.filter((e) => e.choices[0].delta.tool_calls).map((e) => e.choices[0].delta.tool_calls[0].function)).toEqual([call.function]);
  expect(streamed.at(-1).choices[0].finish_reason).toBe('tool_calls');
  // required, any number of calls, cut short by max_tokens: no whole list, so text, as it came
  const cut = (await post('/v1/chat/completions', { ...body, tool_choice: 'required', max_tokens: 20 })).json.choices[0];
  expect(cut.finish_reason).toBe('length');
  expect(cut.message.tool_calls).toBeUndefined();
  expect(cut.message.content).toMatch(/^\[/);
  expect(readJsonPrefix(JsonGrammar.fromSchema({ type: 'array', items: {} }, { anyRoot: true }), Buffer.from(cut.message.content, 'utf8'))).toBe('open');
  for (const [extra, message] of [
    [{ tool_choice: { type: 'function', function: { name: 'get_news' } } }, /^Tool 'get_news' has not been passed in `tools`\.$/],
    [{ tool_choice: { type: 'function', function: {} } }, /a named tool_choice is \{"type": "function", "function": \{"name": \.\.\.\}\}/],
    [{ tool_choice: 'required', response_format: { type: 'json_object' } }, /response_format and tool_choice "required" \(or a named function\) do not go together/],
    [{ tool_choice: 'required', tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: { d: { type: 'string', format: 'hostname' } } } } }] }, /^tool_choice "required": the tools' parameters: .*format "hostname" is not served/],
  ] as [Record<string, unknown>, RegExp][]) {
    const r = await post('/v1/chat/completions', { ...body, ...extra });
    expect({ extra, status: r.status }).toEqual({ extra, status: 400 });
    expect(r.json.error.message).toMatch(message);
  }
});

const THINKING = '<think>\nWeather first, then time.\n</think>\n\nChecking.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris", "days": 2.0}}\n</tool_call>';

function reasoningReference(cases: { parser: string; thinking: boolean; text: string; tools?: boolean }[]): { reasoning: string | null; content: string | null; tool_calls: { name: string; arguments: string }[] | null }[] {
  const r = spawnSync('/usr/bin/python3', [path.join(__dirname, '..', 'scripts', 'reference', 'reasoning_parser_ref.py')], { input: JSON.stringify(cases), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

test('--reasoning-parser qwen3: the reply\'s reasoning in reasoning (and reasoning_content), the answer after it in content, its calls read there; streamed, the reasoning deltas first; include_reasoning false; the next turn gives the template reasoning_content', async () => {
  // a second model, trained to think before it answers and calls
  torch.manualSeed(1);
  const thinker = new torch.GPT2LMHeadModel({ vocab_size: 50257, n_positions: 512, n_embd: 64, n_layer: 2, n_head: 4 });
  memorize(thinker, prompt, [...tok.encode(THINKING), EOS]);
  try {
    expect(tok.decode(thinker.generate([prompt], { maxNewTokens: 100, eosTokenId: EOS })[0].slice(prompt.length), { skipSpecialTokens: true })).toBe(THINKING);
    await serving({ model: thinker, toolCallParser: 'hermes', autoToolChoice: true, reasoningParser: 'qwen3' });
    const body = { messages: MESSAGES, tools: TOOLS, temperature: 0, max_tokens: 100 };
    const [want] = reasoningReference([{ parser: 'qwen3', thinking: true, text: THINKING, tools: true }]);
    expect(want).toEqual({ reasoning: '\nWeather first, then time.\n', content: '\n\nChecking.\n', tool_calls: [{ name: 'get_weather', arguments: '{"city": "Paris", "days": 2.0}' }] });
    const whole = (await post('/v1/chat/completions', body)).json.choices[0];
    expect(whole).toMatchObject({ message: { role: 'assistant', reasoning: want.reasoning, reasoning_content: want.reasoning, content: want.content }, finish_reason: 'tool_calls' });
    expect(whole.message.tool_calls.map((c: any) => c.function)).toEqual(want.tool_calls);
    // streamed: the reasoning piece by piece in reasoning deltas, then the answer in content deltas, then the call
    const deltas = (await post('/v1/chat/completions', { ...body, stream: true })).events!.filter((e) => e !== '[DONE]').map((e) => e.choices[0].delta);
    const reasoningDeltas = deltas.filter((d) => d.reasoning !== undefined);
    expect(reasoningDeltas.map((d) => d.reasoning).join('')).toBe(want.reasoning);
    expect(reasoningDeltas.every((d) => d.reasoning_content === d.reasoning && d.content === undefined)).toBe(true);
    expect(reasoningDeltas.length).toBeGreaterThan(1);
    expect(deltas.findIndex((d) => d.content)).toBeGreaterThan(deltas.lastIndexOf(reasoningDeltas.at(-1)));
    expect(deltas.map((d) => d.content ?? '').join('')).toBe(want.content);
    expect(deltas.filter((d) => d.tool_calls).map((d) => d.tool_calls[0].function)).toEqual(want.tool_calls);
    // the log-probabilities streamed with the reasoning and answer pieces are the whole reply's, each token once
    const scoredWhole = (await post('/v1/chat/completions', { ...body, logprobs: true })).json.choices[0].logprobs.content.map((t: any) => t.token);
    const scoredStream = (await post('/v1/chat/completions', { ...body, logprobs: true, stream: true })).events!.filter((e) => e !== '[DONE]').flatMap((e) => e.choices[0].logprobs?.content ?? []).map((t: any) => t.token);
    expect(scoredStream).toEqual(scoredWhole);
    expect(scoredWhole.join('')).toBe(THINKING);
    // include_reasoning false (vLLM's): no reasoning, whole or streamed; the answer the same
    const without = (await post('/v1/chat/completions', { ...body, include_reasoning: false })).json.choices[0].message;
    expect([without.reasoning, without.reasoning_content, without.content]).toEqual([null, null, want.content]);
    const withoutStream = (await post('/v1/chat/completions', { ...body, include_reasoning: false, stream: true })).events!.filter((e) => e !== '[DONE]');
    expect(withoutStream.some((e) => e.choices[0].delta.reasoning !== undefined)).toBe(false);
    // cut short while thinking: all reasoning, no content, as vLLM's
    const cut = tok.decode(thinker.generate([prompt], { maxNewTokens: 6, eosTokenId: EOS })[0].slice(prompt.length));
    const [cutWant] = reasoningReference([{ parser: 'qwen3', thinking: true, text: cut, tools: true }]);
    expect(cutWant).toEqual({ reasoning: cut.slice('<think>'.length), content: null, tool_calls: null });
    const short = (await post('/v1/chat/completions', { ...body, max_tokens: 6 })).json.choices[0];
    expect(short).toMatchObject({ message: { reasoning: cutWant.reasoning, content: null }, finish_reason: 'length' });
    const shortStream = (await post('/v1/chat/completions', { ...body, max_tokens: 6, stream: true })).events!.filter((e) => e !== '[DONE]');
    expect(shortStream.map((e) => e.choices[0].delta.reasoning ?? '').join('')).toBe(cutWant.reasoning);
    expect(shortStream.map((e) => e.choices[0].delta.content ?? '').join('')).toBe('');
    // the next turn: the reply sent back with its reasoning field; the template reads reasoning_content (vLLM copies it so)
    const turn = [...MESSAGES, whole.message, { role: 'tool', tool_call_id: whole.message.tool_calls[0].id, content: '{"temp": 21}' }];
    const asRendered = turn.map((m: any, i) => (i === 1 ? { ...m, reasoning_content: m.reasoning } : m));
    const r = spawnSync('/usr/bin/python3', [path.join(__dirname, '..', 'scripts', 'reference', 'chat_ref.py')], { input: JSON.stringify({ render: [{ template: TEMPLATE, messages: asRendered, special: {}, tools: TOOLS, add_generation_prompt: true }] }), encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
    const rendered = JSON.parse(r.stdout).render[0] as string;
    expect(rendered).toContain('<|im_start|>assistant\n<think>\nWeather first, then time.\n</think>\n\nChecking.\n\n<tool_call>');
    expect((await post('/tokenize', { messages: turn, tools: TOOLS })).json.tokens).toEqual(tok.encode(rendered));
    // deepseek_r1, no tools: the answer is all that follows </think>
    await serving({ model: thinker, reasoningParser: 'deepseek_r1' });
    const r1 = (await post('/v1/chat/completions', { messages: MESSAGES, tools: TOOLS, tool_choice: 'none', temperature: 0, max_tokens: 100 })).json.choices[0].message;
    const [r1Want] = reasoningReference([{ parser: 'deepseek_r1', thinking: true, text: THINKING }]);
    expect({ reasoning: r1.reasoning, content: r1.content }).toEqual({ reasoning: r1Want.reasoning, content: r1Want.content });
    expect(r1Want.content).toBe(THINKING.slice(THINKING.indexOf('</think>') + '</think>'.length));
    // held to JSON, as vLLM holds a reasoning model: the thinking is free, the answer after </think> is held (whole and streamed)
    const held = (await post('/v1/chat/completions', { messages: MESSAGES, tools: TOOLS, tool_choice: 'none', temperature: 0, max_tokens: 60, response_format: { type: 'json_object' } })).json.choices[0];
    expect(held.message.reasoning).toBe('\nWeather first, then time.\n');
    expect(held.message.content).toMatch(/^\{/);
    expect(readJsonPrefix(JsonGrammar.object(), Buffer.from(held.message.content, 'utf8'))).toBe(held.finish_reason === 'stop' ? 'done' : 'open');
    const heldStream = (await post('/v1/chat/completions', { messages: MESSAGES, tools: TOOLS, tool_choice: 'none', temperature: 0, max_tokens: 60, response_format: { type: 'json_object' }, stream: true })).events!.filter((e) => e !== '[DONE]');
    expect(heldStream.map((e) => e.choices[0].delta.reasoning ?? '').join('')).toBe(held.message.reasoning);
    expect(heldStream.map((e) => e.choices[0].delta.content ?? '').join('')).toBe(held.message.content);
    // a named function likewise: its reasoning, then the arguments, held to the function's parameters
    await serving({ model: thinker, reasoningParser: 'qwen3' });
    const named = (await post('/v1/chat/completions', { messages: MESSAGES, tools: TOOLS, temperature: 0, max_tokens: 80, tool_choice: { type: 'function', function: { name: 'get_weather' } } })).json.choices[0];
    expect(named.message.reasoning).toBe('\nWeather first, then time.\n');
    if (named.finish_reason === 'stop') {
      expect(named.message.content).toBe('');
      expect(schemaAccepts(TOOLS[0].function.parameters, [named.message.tool_calls[0].function.arguments])).toEqual([true]);
    } else {
      expect(readJsonPrefix(JsonGrammar.fromSchema(TOOLS[0].function.parameters), Buffer.from(named.message.content, 'utf8'))).toBe('open');
    }
    // thinking off (qwen3's enable_thinking false): held from the first token, no reasoning
    const off = (await post('/v1/chat/completions', { messages: MESSAGES, temperature: 0, max_tokens: 30, response_format: { type: 'json_object' }, chat_template_kwargs: { enable_thinking: false } })).json.choices[0];
    expect(off.message.reasoning).toBeNull();
    expect(off.message.content).toMatch(/^\{/);
  } finally {
    await serving({});
    thinker.dispose();
  }
}, 120000);

test('tstorch serve: --enable-auto-tool-choice needs a known --tool-call-parser, said before the model loads', () => {
  const cli = path.join(__dirname, '..', 'dist', 'lib', 'cli', 'main.js');
  const run = (...args: string[]) => spawnSync(process.execPath, [cli, 'serve', '--model', 'no-such-model-folder', ...args], { encoding: 'utf8' });
  const noParser = run('--enable-auto-tool-choice');
  expect(noParser.status).toBe(1);
  expect(noParser.stderr).toMatch(/--enable-auto-tool-choice needs --tool-call-parser \(hermes or llama3_json\)/);
  const unknown = run('--enable-auto-tool-choice', '--tool-call-parser', 'mistral');
  expect(unknown.status).toBe(1);
  expect(unknown.stderr).toMatch(/--tool-call-parser must be hermes or llama3_json, got 'mistral'/);
  const reasoning = run('--reasoning-parser', 'r1');
  expect(reasoning.status).toBe(1);
  expect(reasoning.stderr).toMatch(/--reasoning-parser must be deepseek_r1 or qwen3, got 'r1'/);
});
