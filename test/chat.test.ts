// Chat templates and TRL's conversational data, against scripts/reference/chat_ref.py
// (transformers' apply_chat_template on Jinja2, and TRL's data_utils, transcribed).
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as torch from '../lib';
import { saveTinyGpt2 } from './helpers';
import { textStream } from '../lib/cli/commands/generate';

const D = torch.data;
let tmp: string;
beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-chat-')); });
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Random numbers from a seed (the C library's rand), and a random item of a list: the random tests' cases are the same each run. */
function seeded(seed: number): { rnd: () => number; pick: <T>(items: T[]) => T } {
  const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
  return { rnd, pick: (items) => items[Math.floor(rnd() * items.length)] };
}

function reference(job: Record<string, unknown>): { render: (string | { error: string })[]; rows: (Record<string, unknown> | { error: string })[] } {
  const r = spawnSync('/usr/bin/python3', [path.join(__dirname, '..', 'scripts', 'reference', 'chat_ref.py')], { input: JSON.stringify(job), encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

// Templates as their models' tokenizer_config.json holds them (ChatML, Zephyr, Llama 2, Gemma,
// Phi-3), and two that exercise the engine: tools through tojson, and loop controls with a kwarg.
const TEMPLATES: Record<string, string> = {
  chatml: torch.CHATML_TEMPLATE,
  zephyr: "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'system' %}\n{{ '<|system|>\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n{% endif %}\n{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}",
  llama2: "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}",
  gemma: "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}",
  phi3: "{% for message in messages %}{% if message['role'] == 'system' %}{{'<|system|>\n' + message['content'] + '<|end|>\n'}}{% elif message['role'] == 'user' %}{{'<|user|>\n' + message['content'] + '<|end|>\n'}}{% elif message['role'] == 'assistant' %}{{'<|assistant|>\n' + message['content'] + '<|end|>\n'}}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% else %}{{ eos_token }}{% endif %}",
  tools: "{%- if tools %}\n{{- '<tools>' + tools | tojson + '</tools>\\n' }}\n{%- endif %}\n{%- for message in messages %}\n    {{- message.role | upper + ': ' + message.content + '\\n' }}\n{%- endfor %}\n{%- if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}",
  loops: "{% for message in messages %}{% if loop.index > max_turns | default(99) %}{% break %}{% endif %}{% if message.role == 'system' %}{% continue %}{% endif %}[{{ loop.index }}/{{ loop.length }} {{ message.role }}] {{ message.content | replace('\\n', ' ') }}{{ '\\n' if not loop.last }}{% endfor %}{% if add_generation_prompt %}\n[assistant] {% endif %}",
};
const SPECIAL = { bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>' };
const WEATHER_TOOL = { type: 'function', function: { name: 'weather', description: 'Le temps <qu\'il fait>', parameters: { type: 'object', properties: { city: { type: 'string' } } } } };
const CHATS = [
  [{ role: 'user', content: 'What color is the sky?' }, { role: 'assistant', content: 'It is blue.' }],
  [{ role: 'system', content: 'Answer briefly.' }, { role: 'user', content: '  Naïve café? 東京\n😀 ' }, { role: 'assistant', content: 'Yes.  ' }, { role: 'user', content: 'And "quotes" {{ not code }}?' }],
  [{ role: 'user', content: 'Prefill this' }, { role: 'assistant', content: 'Sure, the answer is' }],
  [{ role: 'user', content: 'one' }, { role: 'user', content: 'two in a row' }],
];

test('== and != are Python\'s (@huggingface/jinja\'s are JavaScript\'s loose ==): Llama 2\'s empty system prompt keeps its <<SYS>> block', () => {
  const comparisons = ["'' == false", "' ' != false", '1 == true', '0 == false', '2 == true', '1 == 1.0', "'1' == 1", '[1, 2] == [1, 2]', '[1] == [2]', '[1] == 1',
    'none == none', "'' == none", "{'a': 1} == {'a': 1}", "{'a': 1} == {'a': 2}", "'a' == 'a'", "'a' != 'b'", 'nothing == none', 'messages[0].content == \'\''];
  const template = `{% for v in [${comparisons.join(', ')}] %}{{ 'T' if v else 'F' }}{% endfor %}`;
  const cases = [
    { template, messages: [{ role: 'user', content: '' }], special: SPECIAL, add_generation_prompt: false, continue_final_message: false },
    ...['', ' ', '\n'].map((system) => ({ template: TEMPLATES.llama2, messages: [{ role: 'system', content: system }, { role: 'user', content: 'hi' }], special: SPECIAL, add_generation_prompt: false, continue_final_message: false })),
  ];
  const want = reference({ render: cases }).render;
  expect(want[0]).toBe('FTTTFTFTFFTFTFTTFT'); // (what Python says: the checks can fail)
  cases.forEach((c, i) => expect(torch.renderChatTemplate(c.template, c.messages, c.special)).toBe(want[i]));
  expect(want[1]).toContain('<<SYS>>\n\n<</SYS>>');
  // Python's string methods where the engine's differ (strip's characters: Qwen's content.lstrip('\\n')), Jinja's title filter, 'ab' * 2, string order
  const strings = "{{ 'ab '.strip('a ') }}|{{ '\\n x\\n'.lstrip('\\n') }}|{{ 'xxhixx'.rstrip('x') }}|{{ '  y  '.strip() }}|{{ 'a,b,,c'.title() }}|{{ 'HELLO wORLD' | title }}|{{ 'a-b c(d,e' | title }}|" +
    "{{ 'hELLO' | capitalize }}|{{ 'é東x'.title() }}|{{ 'ab' * 2 }}|{{ 3 * 'c' }}|{{ 2 * 3 }}|{{ 'T' if 'a' < 'b' else 'F' }}{{ 'T' if 'b' <= 'a' else 'F' }}{{ 'T' if 'é' > 'z' else 'F' }}{{ 'T' if 1 < 2 else 'F' }}";
  const stringCase = { template: strings, messages: [{ role: 'user', content: '' }], special: SPECIAL, add_generation_prompt: false, continue_final_message: false };
  const wantStrings = reference({ render: [stringCase] }).render[0];
  expect(wantStrings).toBe('b| x\n|xxhi|y|A,B,,C|Hello World|A-B C(D,e|Hello|É東X|abab|ccc|6|TFTT');
  expect(torch.renderChatTemplate(strings, stringCase.messages, SPECIAL)).toBe(wantStrings);
  // values printed as Python's str() (the engine wrote true, null and JSON)
  const printed = "{{ true }}|{{ none }}|{{ [1, 'a', none, \"it's\"] }}|{{ {'k': false} }}|{{ 'a' ~ true ~ 1 }}|{{ [true, 1, 'x'] | join(',') }}|{{ false | string }}|{{ messages[0].content is none }}";
  const printedCase = { ...stringCase, template: printed };
  const wantPrinted = reference({ render: [printedCase] }).render[0];
  expect(wantPrinted).toBe(`True|None|[1, 'a', None, "it's"]|{'k': False}|aTrue1|True,1,x|False|False`);
  expect(torch.renderChatTemplate(printed, stringCase.messages, SPECIAL)).toBe(wantPrinted);
  // a null content (an assistant's tool call, unguarded) renders as transformers renders it: None, through | trim too
  const nullCases = ['chatml', 'zephyr', 'gemma', 'phi3'].map((name) => ({ template: TEMPLATES[name], messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: null }], special: SPECIAL, add_generation_prompt: false, continue_final_message: false }));
  const wantNull = reference({ render: nullCases }).render;
  expect(wantNull.map((w) => (typeof w === 'string' ? w.includes('model\nNone<end_of_turn>') : 'error'))).toEqual(['error', 'error', true, 'error']); // ('...' + None is Python's TypeError)
  nullCases.forEach((c, i) => {
    const run = () => torch.renderChatTemplate(c.template, c.messages as torch.ChatMessage[], SPECIAL);
    if (typeof wantNull[i] === 'string') expect(run()).toBe(wantNull[i]);
    else expect(run).toThrow();
  });
});

test('Jinja2\'s filters, tests, string methods and operators render as Jinja2\'s (@huggingface/jinja lacks or differs on many), or fail where Jinja2 fails', () => {
  const lines = fs.readFileSync(path.join(__dirname, 'fixtures', 'jinja_expressions.txt'), 'utf8').split('\n').filter((l) => l.trim() && !l.startsWith('#'));
  const messages = [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'yo', tool_calls: [{ function: { name: 'f', arguments: { a: 1 } } }] }, { role: 'user', content: 'é' }];
  const tools = [{ name: 'f', args: { x: 1, y: 'a"b', z: [1, 2], w: null, v: true, f: 0.5, g: 1e-7, h: 1e21 } }];
  const kwargs = { builtin_tools: ['a', 'code_interpreter', 'b'], n: 3, s: '  Hi There  ', e: '' };
  const cases = lines.map((line) => ({ template: /\{[{%#]/.test(line) ? line : `{{ ${line} }}`, messages, special: SPECIAL, tools, kwargs }));
  const want = reference({ render: cases }).render;
  const wanted = (line: string) => want[lines.indexOf(line)];
  // (what Jinja2 says, so the comparisons can fail: Llama 3.1's builtin tools, Python's float repr, round's ties to even, an attribute of undefined)
  expect([wanted("builtin_tools | reject('equalto', 'code_interpreter') | join(', ')"), wanted('tools[0].args | tojson'), wanted('2.5 | round'), wanted("'héllo😀x' | length")])
    .toEqual(['a, b', '{"x": 1, "y": "a\\"b", "z": [1, 2], "w": null, "v": true, "f": 0.5, "g": 1e-07, "h": 1e+21}', '2.0', '7']);
  expect(wanted('undefined_thing.foo')).toEqual({ error: expect.stringMatching(/UndefinedError/) });
  let rendered = 0, failed = 0;
  cases.forEach((c, i) => {
    const run = () => torch.renderChatTemplate(c.template, c.messages, c.special, { tools: c.tools, kwargs: c.kwargs });
    if (typeof want[i] === 'string') {
      expect({ line: lines[i], text: run() }).toEqual({ line: lines[i], text: want[i] });
      rendered++;
    } else {
      expect(run).toThrow(/chat template/);
      failed++;
    }
  });
  expect(rendered).toBeGreaterThan(350);
  expect(failed).toBeGreaterThan(20);
});

test('tool-calling conversations through Llama 3.1- and Qwen3-style templates and TRL\'s training templates render as transformers\' (random, seeded)', () => {
  const dir = path.join(__dirname, 'fixtures', 'chat_templates');
  const templates = fs.readdirSync(dir).filter((f) => f.endsWith('.jinja')).map((f) => fs.readFileSync(path.join(dir, f), 'utf8'));
  const { rnd, pick } = seeded(7);
  const bits = ['hello', ' ', '\n', '\n\n', '"', "'", '\\', 'é', '東京', '😀', '<think>', '</think>', '<tool_response>', '</tool_response>', '\t', '/', '<', '&', ''];
  const text = () => Array.from({ length: Math.floor(rnd() * 5) }, () => pick(bits)).join('');
  const value = (depth = 0): unknown => {
    const r = rnd();
    if (r < 0.3 || depth > 1) return text();
    if (r < 0.45) return Math.floor(rnd() * 100) - 50;
    if (r < 0.5) return pick([true, false, null]);
    if (r < 0.55) return pick([0.5, 1e21, -2.25, 1e-7]);
    if (r < 0.75) return Object.fromEntries(Array.from({ length: Math.floor(rnd() * 3) }, () => [pick(['a', 'b', 'zz', 'é', 'k y']), value(depth + 1)]));
    return [value(depth + 1), value(depth + 1)].slice(0, Math.floor(rnd() * 3));
  };
  const content = () => (rnd() < 0.04 ? null : rnd() < 0.04 ? [{ type: 'text', text: text() }] : text());
  const tool = () => ({ type: 'function', function: { name: pick(['get_weather', 'search', 'brave_search']), description: text(), parameters: { type: 'object', properties: { q: { type: 'string', description: text() } }, required: ['q'] } } });
  const cases = Array.from({ length: 300 }, () => {
    const messages: Record<string, unknown>[] = rnd() < 0.3 ? [{ role: 'system', content: content() }] : [];
    const turns = 1 + Math.floor(rnd() * 5);
    for (let i = 0; i < turns; i++) {
      const role = i === 0 ? 'user' : pick(['user', 'assistant', 'assistant', 'tool']);
      const m: Record<string, unknown> = { role, content: content() };
      if (role === 'assistant' && rnd() < 0.3) {
        m.tool_calls = Array.from({ length: 1 + Math.floor(rnd() * 2) }, () => ({ type: 'function', function: { name: pick(['get_weather', 'brave_search']), arguments: rnd() < 0.85 ? { q: value(), n: value() } : '{"q": 1}' } }));
      }
      if (role === 'assistant' && rnd() < 0.15) m.reasoning_content = text();
      messages.push(m);
    }
    const kwargs: Record<string, unknown> = {};
    if (rnd() < 0.2) kwargs.enable_thinking = rnd() < 0.5;
    if (rnd() < 0.2) kwargs.builtin_tools = ['brave_search', 'code_interpreter'];
    if (rnd() < 0.15) kwargs.tools_in_user_message = false;
    const agp = rnd() < 0.4;
    return { template: pick(templates), messages, special: SPECIAL, add_generation_prompt: agp, continue_final_message: !agp && rnd() < 0.2, kwargs, tools: rnd() < 0.35 ? [tool(), tool()].slice(0, 1 + Math.floor(rnd() * 2)) : undefined };
  });
  const want = reference({ render: cases }).render;
  let rendered = 0;
  cases.forEach((c, i) => {
    const run = () => torch.renderChatTemplate(c.template, c.messages as torch.ChatMessage[], c.special,
      { addGenerationPrompt: c.add_generation_prompt, continueFinalMessage: c.continue_final_message, kwargs: c.kwargs, tools: c.tools });
    if (typeof want[i] === 'string') {
      expect({ i, text: run() }).toEqual({ i, text: want[i] });
      rendered++;
    } else {
      expect(run).toThrow(/chat template/);
    }
  });
  expect(rendered).toBeGreaterThan(200);
});

test('whitespace as Jinja2 makes it: lstrip_blocks, trim_blocks, - and + on tags (if, for, recursive for, set, with, macro, raw, comments), Windows line ends (random templates, seeded); a CRLF template file renders as its LF twin', () => {
  const { rnd, pick } = seeded(11);
  // (\x85 and \x1f are Python's whitespace, not JavaScript's; \ufeff JavaScript's, not Python's)
  const space = () => pick(['\u2028 ', '\x0b', '\r', '', ' ', '  ', '\n', '\n\n', '\t', ' \n', '\n  ', '\r\n', 'x', ' x ', '\n x\n', '  \t', '\x85', ' \x1f', '\ufeff ']);
  const cases = Array.from({ length: 400 }, (_, t) => {
    const mark = () => pick(t % 2 ? ['', '-', '', '+', ''] : ['', '-', '']);
    const block = (depth: number): string => {
      const inner = () => (depth > 2 ? space() : Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => (rnd() < 0.5 ? space() : block(depth + 1))).join(''));
      const tag = (body: string) => `{%${mark()} ${body} ${mark()}%}`;
      const r = rnd();
      if (r < 0.25) return `{{${pick(['', '-', ''])} ${pick(['1', "'a'", 'x', "'\\n'", "' '"])} ${pick(['', '-', ''])}}}`;
      if (r < 0.45) return `${tag(`if ${pick(['true', 'false', 'x'])}`)}${inner()}${tag('else')}${inner()}${tag('endif')}`;
      if (r < 0.6) return `${tag('for i in [1, 2]')}${inner()}${tag('endfor')}`;
      if (r < 0.7) return `{#${mark()} c ${mark()}#}`;
      if (r < 0.8) return tag('set y = 1');
      if (r < 0.85) return `${tag('set z')}${inner()}${tag('endset')}{{ z }}`;
      if (r < 0.9) return `${tag('with w = 1')}${inner()}{{ w }}${tag('endwith')}`;
      if (r < 0.95) return `${tag('raw')}${Array.from({ length: 3 }, () => pick([space(), '{{ x }}', '{% if %}', '{#', '%}', "'", '"', '\\', '\\n'])).join('')}${tag('endraw')}`;
      if (r < 0.975) return `${tag('macro m()')}${inner()}${tag('endmacro')}{{ m() }}`;
      return `${tag('for i in [[1], 2] recursive')}${inner()}${tag('if i is iterable')}{{ loop(i) }}${tag('endif')}${inner()}${tag('endfor')}`;
    };
    let template = '';
    for (let i = 0, n = 1 + Math.floor(rnd() * 5); i < n; i++) template += space() + block(0);
    return { template: template + space(), messages: [{ role: 'user', content: 'hi' }], special: {}, kwargs: { x: 'X' } };
  });
  // a tag's end and a newline inside a string literal are the string's, and a backslash before a newline joins lines
  for (const template of ["{{ '%}\n' }}|\n{{ '-%}\n  ' }}|", "{% set x = 'a\\\nb' %}\n{{ x }}|\n", "{% if '{#' %}\n  {{ '#}\n' }}{% endif %}\n."]) {
    cases.push({ template, messages: [{ role: 'user', content: 'hi' }], special: {}, kwargs: { x: 'X' } });
  }
  const want = reference({ render: cases }).render;
  let rendered = 0;
  cases.forEach((c, i) => {
    const run = () => torch.renderChatTemplate(c.template, c.messages, c.special, { kwargs: c.kwargs });
    if (typeof want[i] === 'string') {
      expect({ template: c.template, text: run() }).toEqual({ template: c.template, text: want[i] });
      rendered++;
    } else {
      expect(run).toThrow(/chat template/); // (+}} and a + inside an expression are not Jinja's)
    }
  });
  expect(rendered).toBeGreaterThan(300);
  const lf = fs.readFileSync(path.join(__dirname, 'fixtures', 'chat_templates', 'qwen2_5_training.jinja'), 'utf8');
  const crlf = lf.replace(/\n/g, '\r\n');
  const chat = [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }];
  const [wantCrlf] = reference({ render: [{ template: crlf, messages: chat, special: {} }] }).render;
  expect(wantCrlf).toBe(torch.renderChatTemplate(lf, chat, {}));
  expect(torch.renderChatTemplate(crlf, chat, {})).toBe(wantCrlf);
  // generation blocks with + and - on their tags (transformers' extension tag: a block tag like any)
  const generation = [
    "{% for m in messages %}\n  {%+ if m.role == 'assistant' +%}\n  {%+ generation +%}\n{{ m.content }}\n  {%+ endgeneration +%}\n{% else %}{{ m.content }}\n{% endif %}\n{% endfor %}",
    "{% for m in messages %}\n  {%- if m.role == 'assistant' %}\n  {% generation -%}\n {{ m.content }}\n  {%- endgeneration %}\n{% else %}{{ m.content }}\n{% endif %}\n{% endfor %}\n",
  ];
  const wantGeneration = reference({ render: generation.map((template) => ({ template, messages: chat, special: {} })) }).render;
  expect(wantGeneration[0]).toBe('  Be brief.\n  hi\n  \n  \nhello\n  \n');
  generation.forEach((template, i) => expect(torch.renderChatTemplate(template, chat, {})).toBe(wantGeneration[i]));
});

test('templates render as transformers renders them (add_generation_prompt, continue_final_message, tools, kwargs, raise_exception)', () => {
  const cases: { template: string; messages: unknown[]; special: Record<string, string>; add_generation_prompt: boolean; continue_final_message: boolean; tools?: unknown[]; kwargs?: Record<string, unknown> }[] = [];
  const tools = [{ type: 'function', function: { name: 'weather', description: 'Le temps <qu\'il fait>', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
  for (const template of Object.values(TEMPLATES)) {
    for (const messages of CHATS) {
      for (const [agp, cfm] of [[false, false], [true, false], [false, true]]) {
        cases.push({ template, messages, special: SPECIAL, add_generation_prompt: agp, continue_final_message: cfm });
      }
    }
  }
  cases.push({ template: TEMPLATES.tools, messages: CHATS[0], special: SPECIAL, add_generation_prompt: true, continue_final_message: false, tools });
  cases.push({ template: TEMPLATES.loops, messages: CHATS[1], special: SPECIAL, add_generation_prompt: true, continue_final_message: false, kwargs: { max_turns: 3 } });
  const want = reference({ render: cases }).render;
  let rendered = 0, refused = 0;
  cases.forEach((c, i) => {
    const w = want[i];
    const run = () => torch.renderChatTemplate(c.template, c.messages as torch.ChatMessage[], c.special,
      { addGenerationPrompt: c.add_generation_prompt, continueFinalMessage: c.continue_final_message, tools: c.tools as Record<string, unknown>[] | undefined, kwargs: c.kwargs });
    if (typeof w === 'string') {
      expect({ i, text: run() }).toEqual({ i, text: w });
      rendered++;
    } else {
      expect(run).toThrow(/chat template/);
      refused++;
    }
  });
  // (llama2 and gemma refuse two user turns in a row, gemma a system turn: 3 conversations, 3 ways each)
  expect([rendered, refused]).toEqual([cases.length - 9, 9]);
  expect(() => torch.renderChatTemplate(TEMPLATES.chatml, [], SPECIAL)).toThrow(/empty conversation/);
  expect(() => torch.renderChatTemplate(TEMPLATES.chatml, CHATS[0], SPECIAL, { addGenerationPrompt: true, continueFinalMessage: true })).toThrow(/do not go together/);
  expect(() => torch.renderChatTemplate('{% for m in messages %}', CHATS[0], SPECIAL)).toThrow(/chat template/);
});

test('TRL\'s conversational rows become its text rows: messages, prompt-completion, preferences (explicit and implicit prompt), unpaired, a prefilled assistant turn', () => {
  const rows: Record<string, unknown>[] = [
    { messages: CHATS[1] },
    { prompt: [CHATS[0][0]], completion: [CHATS[0][1]] },
    { prompt: CHATS[1].slice(0, 2), chosen: [{ role: 'assistant', content: 'Yes.' }], rejected: [{ role: 'assistant', content: 'No!' }] },
    { chosen: CHATS[0], rejected: [CHATS[0][0], { role: 'assistant', content: 'Green.' }] },
    { prompt: [CHATS[0][0]], completion: [{ role: 'assistant', content: 'Blue' }], label: false },
    { prompt: CHATS[2], completion: [{ role: 'assistant', content: ' blue.' }] },
    { prompt: 'a plain prompt', chosen: ' text', rejected: ' rows' },
    { prompt: [CHATS[0][0]], completion: 'not a conversation' },
    { prompt: [{ role: 'system', content: 'x' }], completion: [CHATS[0][1]] },
    // a tools column goes to the template (TRL's SFT: tools=example.get("tools")); an implicit prompt keeps the row's other fields
    { messages: CHATS[1], tools: [WEATHER_TOOL] },
    { prompt: [CHATS[0][0]], completion: [CHATS[0][1]], tools: [WEATHER_TOOL], chat_template_kwargs: { max_turns: 1 } },
    { chosen: CHATS[1], rejected: [...CHATS[1].slice(0, -1), { role: 'assistant', content: 'Green.' }], tools: [WEATHER_TOOL], chat_template_kwargs: { max_turns: 2 } },
  ];
  for (const name of ['chatml', 'zephyr', 'phi3', 'tools', 'loops']) {
    const template = TEMPLATES[name];
    const want = reference({ rows: rows.map((row) => ({ template, special: SPECIAL, row })) }).rows;
    const chat = { applyChatTemplate: (m: torch.ChatMessage[], o?: torch.ChatTemplateOptions) => torch.renderChatTemplate(template, m, SPECIAL, o) };
    rows.forEach((row, i) => {
      const w = want[i];
      if ('error' in w) expect(() => D.conversationToText(row, chat)).toThrow();
      else expect({ name, i, row: D.conversationToText(row, chat) }).toEqual({ name, i, row: w });
    });
    expect({ name, errors: want.filter((w) => 'error' in w).length }).toEqual({ name, errors: name === 'loops' ? 3 : 2 }); // (loops: a completion that is text meets | replace)
  }
  const withTools = D.conversationToText({ messages: CHATS[0], tools: [WEATHER_TOOL] }, { applyChatTemplate: (m, o) => torch.renderChatTemplate(TEMPLATES.tools, m, SPECIAL, o) });
  expect(withTools.text).toContain('<tools>[{"type": "function", "function": {"name": "weather"');
  expect(() => D.conversationToText({ messages: CHATS[0], tools: JSON.stringify([WEATHER_TOOL]) }, { applyChatTemplate: () => '' })).toThrow(/tools must be a list of tool schemas .*a JSON string: store the list itself/);
  // TRL's prompt extraction on text and on messages
  expect(D.extractPrompt({ chosen: 'The sky is blue', rejected: 'The sky is green' })).toEqual({ prompt: 'The sky is', chosen: ' blue', rejected: ' green' });
  expect(D.extractPrompt({ chosen: 'abc', rejected: 'abcd' })).toEqual({ prompt: 'ab', chosen: 'c', rejected: 'cd' });
  expect(D.maybeExtractPrompt({ prompt: 'p', chosen: 'a', rejected: 'b' })).toEqual({ prompt: 'p', chosen: 'a', rejected: 'b' });
  expect(() => D.conversationToText({ messages: CHATS[0] })).toThrow(/made text by a chat template: give one/);
});

test('random TRL rows (every format, tools, chat_template_kwargs) through ChatML and the fixtures\' templates become the text rows TRL makes (seeded)', () => {
  const dir = path.join(__dirname, 'fixtures', 'chat_templates');
  const templates = [torch.CHATML_TEMPLATE, ...fs.readdirSync(dir).filter((f) => f.endsWith('.jinja')).map((f) => fs.readFileSync(path.join(dir, f), 'utf8'))];
  const { rnd, pick } = seeded(3);
  const text = () => Array.from({ length: Math.floor(rnd() * 4) }, () => pick(['hello', ' ', '\n', 'é', '<think>x</think>', ' the', 'The', '', '"', 'Blue', ' sky'])).join('');
  const msg = (role: string) => ({ role, content: text() });
  const turns = (n: number) => Array.from({ length: n }, (_, i) => msg(i % 2 ? 'assistant' : 'user'));
  const cases = Array.from({ length: 300 }, () => {
    const sys = rnd() < 0.3 ? [msg('system')] : [];
    const prompt = [...sys, ...turns(1 + 2 * Math.floor(rnd() * 2))];
    const row: Record<string, unknown> = pick([
      () => ({ messages: [...sys, ...turns(1 + Math.floor(rnd() * 4))] }),
      () => ({ prompt, completion: [msg('assistant')] }),
      () => ({ prompt: [...sys, ...turns(2)], completion: [msg('assistant')] }), // (a prefilled reply: the prompt ends with the assistant)
      () => ({ prompt, chosen: [msg('assistant')], rejected: [msg('assistant')] }),
      () => ({ chosen: [...prompt, msg('assistant')], rejected: [...prompt, msg('assistant')] }),
      () => ({ prompt, completion: [msg('assistant')], label: rnd() < 0.5 }),
      () => ({ prompt: text(), chosen: text(), rejected: text() }),
    ])();
    if (rnd() < 0.3) row.tools = [WEATHER_TOOL];
    if (rnd() < 0.3) row.chat_template_kwargs = { enable_thinking: rnd() < 0.5 };
    return { template: pick(templates), special: SPECIAL, row };
  });
  const want = reference({ rows: cases }).rows;
  let made = 0;
  cases.forEach((c, i) => {
    const chat = { applyChatTemplate: (m: torch.ChatMessage[], o?: torch.ChatTemplateOptions) => torch.renderChatTemplate(c.template, m, c.special, o) };
    if ('error' in want[i]) expect(() => D.conversationToText(c.row, chat)).toThrow();
    else { expect({ i, row: D.conversationToText(c.row, chat) }).toEqual({ i, row: want[i] }); made++; }
  });
  expect(made).toBeGreaterThan(250);
});

test('a reply ends at the tag the template writes after it (ChatML\'s <|im_end|>, Llama 3\'s <|eot_id|>, Gemma\'s <end_of_turn> ...), which GPT-2 writes as text; not at an eos the template writes', () => {
  const dir = path.join(__dirname, 'fixtures', 'chat_templates');
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.jinja')).sort();
  const templates = [...files.map((f) => fs.readFileSync(path.join(dir, f), 'utf8')), TEMPLATES.chatml, TEMPLATES.zephyr, TEMPLATES.llama2, TEMPLATES.gemma];
  // what follows the reply in Jinja2's rendering (transformers'), for each template
  const mark = '\uE000reply\uE000';
  const rendered = reference({ render: templates.map((template) => ({ template, messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: mark }], special: SPECIAL })) }).render;
  const after = rendered.map((r) => (typeof r === 'string' ? r.slice(r.lastIndexOf(mark) + mark.length, r.lastIndexOf(mark) + mark.length + 24) : JSON.stringify(r)));
  expect(after.slice(0, 3)).toEqual(['<｜end▁of▁sentence｜>', '<end_of_turn>\n', '<|im_end|>\n']);
  const ends = templates.map((t) => torch.tokenizer.withChatTemplate(t).assistantTurnEnd());
  expect(Object.fromEntries([...files, 'chatml', 'zephyr', 'llama2', 'gemma'].map((name, i) => [name, ends[i] ?? null]))).toEqual({
    'deepseekv3_training.jinja': '<｜end▁of▁sentence｜>', 'gemma_training.jinja': '<end_of_turn>', 'lfm2_training.jinja': '<|im_end|>', 'llama3_1_style_tools.jinja': '<|eot_id|>',
    'llama3_training.jinja': '<|eot_id|>', 'phi3_training.jinja': '<|end|>', 'qwen2_5_training.jinja': '<|im_end|>', 'qwen3_style_reasoning.jinja': '<|im_end|>',
    chatml: '<|im_end|>', zephyr: null, llama2: null, gemma: '<end_of_turn>', // (zephyr's and Llama 2's reply ends with eos_token: GPT-2's eos, a token)
  });
  ends.forEach((end, i) => { if (end) expect(after[i].startsWith(end)).toBe(true); });
  expect(torch.tokenizer.assistantTurnEnd()).toBeUndefined();
});

test('a folder\'s chat template: chat_template.jinja first, else tokenizer_config.json\'s (one or several by name); saved back both ways', async () => {
  const dir = path.join(tmp, 'tok');
  torch.tokenizer.savePretrained(dir);
  expect(torch.GPT2Tokenizer.fromFiles(dir).chatTemplate).toBeNull();
  expect(() => torch.tokenizer.applyChatTemplate(CHATS[0])).toThrow(/no chat template \(GPT-2 has none\): give one with withChatTemplate\(template\), or --chat-template FILE/);
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8'));
  fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify({ ...config, chat_template: [{ name: 'default', template: TEMPLATES.zephyr }, { name: 'tool_use', template: TEMPLATES.tools }] }));
  const named = await torch.GPT2Tokenizer.fromPretrained(dir);
  expect(named.isGpt2).toBe(true); // GPT-2's tables keep the fast path
  const eos = '<|endoftext|>';
  expect(named.applyChatTemplate(CHATS[0])).toBe(`<|user|>\nWhat color is the sky?${eos}\n<|assistant|>\nIt is blue.${eos}\n`);
  expect(named.applyChatTemplate(CHATS[0], { tools: [{ name: 'f' }], addGenerationPrompt: true })).toBe('<tools>[{"name": "f"}]</tools>\nUSER: What color is the sky?\nASSISTANT: It is blue.\nASSISTANT:');
  expect(named.applyChatTemplate(CHATS[0], { chatTemplate: 'tool_use' })).toMatch(/^USER: /);
  expect(() => named.applyChatTemplate(CHATS[0], { chatTemplate: 'rag' })).toThrow(/no chat template named 'rag' \(it has default, tool_use\)/);
  fs.writeFileSync(path.join(dir, 'chat_template.jinja'), TEMPLATES.chatml);
  const jinja = torch.GPT2Tokenizer.fromFiles(dir);
  expect(jinja.chatTemplate).toBe(TEMPLATES.chatml);
  // the ids are the rendering's ids (no special tokens added, as HF's tokenize=True)
  expect(jinja.encode(jinja.applyChatTemplate(CHATS[0]))).toEqual(torch.tokenizer.encode('<|im_start|>user\nWhat color is the sky?<|im_end|>\n<|im_start|>assistant\nIt is blue.<|im_end|>\n'));
  const out = path.join(tmp, 'tok-out');
  jinja.withChatTemplate(TEMPLATES.phi3).savePretrained(out);
  expect(fs.readFileSync(path.join(out, 'chat_template.jinja'), 'utf8')).toBe(TEMPLATES.phi3);
  expect(JSON.parse(fs.readFileSync(path.join(out, 'tokenizer_config.json'), 'utf8')).chat_template).toBe(TEMPLATES.phi3);
  expect(torch.GPT2Tokenizer.fromFiles(out).applyChatTemplate(CHATS[0], { addGenerationPrompt: true })).toBe('<|user|>\nWhat color is the sky?<|end|>\n<|assistant|>\nIt is blue.<|end|>\n<|assistant|>\n');
  fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify({ ...config, chat_template: 7 }));
  fs.rmSync(path.join(dir, 'chat_template.jinja'));
  expect(() => torch.GPT2Tokenizer.fromFiles(dir)).toThrow(/tokenizer_config\.json: chat_template: a chat template is a Jinja string, or several by name/);
});

test('conversational files train as TRL\'s SFT makes them: each conversation an example, ended by the template (no eos added)', () => {
  const file = path.join(tmp, 'chats.jsonl');
  fs.writeFileSync(file, CHATS.slice(0, 3).map((m) => JSON.stringify({ messages: m })).join('\n') + '\n');
  const chat = torch.tokenizer.withChatTemplate(TEMPLATES.chatml);
  const docs = D.readTrainingDocuments(file, { chat });
  const want = reference({ render: CHATS.slice(0, 3).map((messages) => ({ template: TEMPLATES.chatml, messages, special: chat.specialTokensMap })) }).render;
  expect(docs).toEqual({ texts: want, conversational: true });
  expect(() => D.readTrainingDocuments(file)).toThrow(/chats\.jsonl:1: conversational data \(lists of \{role, content\} messages\) is made text by a chat template/);
  const ex = D.ExampleDataset.fromTexts((docs as { texts: string[] }).texts, { maxLength: 64, tokenizer: chat, addEos: false });
  expect(Array.from(ex.examples[0])).toEqual(torch.tokenizer.encode(want[0] as string));
  // a folder may not mix conversations and text
  const mixed = path.join(tmp, 'mixed');
  fs.mkdirSync(mixed);
  fs.copyFileSync(file, path.join(mixed, 'a.jsonl'));
  fs.writeFileSync(path.join(mixed, 'b.jsonl'), '{"text": "plain"}\n');
  expect(() => D.readTrainingDocuments(mixed, { chat })).toThrow(/a\.jsonl holds conversations but .*b\.jsonl text; give a folder of one kind/);
});

test('the CLI: --chat-template chatml on conversations (SFT and DPO); the run keeps its template; eval agrees with the same rows rendered by the reference', async () => {
  const bin = path.join(__dirname, '..', 'dist', 'lib', 'cli', 'main.js');
  const cli = (...args: string[]) => {
    const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 300000 });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };
  const modelDir = await saveTinyGpt2(path.join(tmp, 'model'), { n_positions: 256 }); // (room for a two-turn chat)
  // SFT on messages
  const chats = path.join(tmp, 'sft.jsonl');
  const convs = Array.from({ length: 12 }, (_, i) => [{ role: 'user', content: `Question ${i}: what is ${i} and ${i + 1}?` }, { role: 'assistant', content: `It is ${2 * i + 1}.` }]);
  fs.writeFileSync(chats, convs.map((m) => JSON.stringify({ messages: m })).join('\n') + '\n');
  expect(cli('train', '--model', modelDir, '--data', chats, '--out', path.join(tmp, 'x')).err).toMatch(/sft\.jsonl:1: tokenizer: no chat template \(GPT-2 has none\): give one with withChatTemplate\(template\), or --chat-template FILE \(a Jinja template; chatml for ChatML\)/);
  const out = path.join(tmp, 'sft');
  const t = cli('train', '--model', modelDir, '--data', chats, '--eval-data', chats, '--chat-template', 'chatml', '--out', out, '--block-size', '48', '--batch-size', '4', '--max-steps', '2', '--lr', '1e-3');
  expect(t.err).toBe('');
  expect(fs.readFileSync(path.join(out, 'chat_template.jinja'), 'utf8')).toBe(torch.CHATML_TEMPLATE);
  // the same conversations rendered by the reference, as plain texts without an added eos: the same eval loss
  const rendered = reference({ render: convs.map((messages) => ({ template: torch.CHATML_TEMPLATE, messages, special: torch.tokenizer.specialTokensMap })) }).render as string[];
  const evals = fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.eval_loss !== undefined);
  const e = JSON.parse(cli('eval', '--model', modelDir, '--adapter', out, '--data', chats, '--block-size', '48', '--json').out); // (the template: the adapter folder's)
  expect(Math.abs(e.loss - evals[evals.length - 1].eval_loss)).toBeLessThan(1e-5);
  const ds = D.ExampleDataset.fromTexts(rendered, { maxLength: 48, addEos: false });
  const model = await torch.GPT2LMHeadModel.fromPretrained(modelDir);
  await torch.lora.loadAdapter(model, out);
  const ref = torch.train.evaluate(model, ds, { batchSize: 8 });
  expect(Math.abs(ref.loss - e.loss)).toBeLessThan(1e-5);
  model.dispose();
  // DPO on conversational pairs with an implicit prompt = DPO on TRL's text rows of them
  const pairs = path.join(tmp, 'prefs.jsonl'), textPairs = path.join(tmp, 'prefs-text.jsonl');
  const prefRows = convs.map((m, i) => ({ chosen: m, rejected: [m[0], { role: 'assistant', content: `It is ${i}.` }] }));
  fs.writeFileSync(pairs, prefRows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const asText = reference({ rows: prefRows.map((row) => ({ template: torch.CHATML_TEMPLATE, special: torch.tokenizer.specialTokensMap, row })) }).rows;
  fs.writeFileSync(textPairs, asText.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const dpo = (data: string) => JSON.parse(cli('eval', '--model', modelDir, '--adapter', out, '--data', data, '--block-size', '48', '--json').out);
  const a = dpo(pairs), b = dpo(textPairs);
  expect(a).toEqual(b);
  expect(a.loss).toBeGreaterThan(0);
  // generate --chat: the user's message rendered with the generation prompt (as the reference renders it), the reply alone
  const question = 'Question 3: what is 3 and 4?';
  const [asked] = reference({ render: [{ template: torch.CHATML_TEMPLATE, messages: [{ role: 'system', content: 'Be exact.' }, { role: 'user', content: question }], special: torch.tokenizer.specialTokensMap, add_generation_prompt: true }] }).render as string[];
  const g = cli('generate', '--model', modelDir, '--adapter', out, '--chat', '--system', 'Be exact.', '--prompt', question, '--max-new-tokens', '8', '--json');
  expect(g.err).toBe('');
  const reply = JSON.parse(g.out);
  expect(reply.prompt).toBe(asked);
  const plain = JSON.parse(cli('generate', '--model', modelDir, '--adapter', out, '--prompt', asked, '--max-new-tokens', '8', '--stop', '<|im_end|>', '--json').out);
  expect(reply.tokens).toEqual(plain.tokens);
  expect(plain.text.startsWith(asked + reply.reply)).toBe(true);
  // --prompts: a conversational prompt (TRL's prompt-only row) and a string one (a user's message) give that reply too
  const promptsFile = path.join(tmp, 'ask.jsonl');
  fs.writeFileSync(promptsFile, `${JSON.stringify({ prompt: [{ role: 'system', content: 'Be exact.' }, { role: 'user', content: question }] })}\n`);
  const fromFile = JSON.parse(cli('generate', '--model', modelDir, '--adapter', out, '--chat', '--prompts', promptsFile, '--max-new-tokens', '8').out);
  expect([fromFile.prompt, fromFile.completion, fromFile.tokens]).toEqual([asked, reply.reply, reply.tokens]);
  expect(cli('generate', '--model', modelDir, '--chat', '--prompt', 'hi').err).toMatch(/no chat template \(GPT-2 has none\)/);
  // tstorch chat: each line a user's turn; the whole conversation rendered each time; !clear starts over
  const second = 'And 5 and 6?';
  const session = spawnSync(process.execPath, [bin, 'chat', '--model', modelDir, '--adapter', out, '--system', 'Be exact.', '--max-new-tokens', '8'],
    { input: `${question}\n\n${second}\n!clear\n${question}\n!exit\nnot read\n`, encoding: 'utf8', timeout: 300000 });
  expect(session.stderr).toBe('');
  const replies = session.stdout.split('\n').slice(0, -1);
  expect(replies.length).toBe(3);
  expect([replies[0], replies[2]]).toEqual([reply.reply, reply.reply]);
  // !save FILE writes the conversation so far as TRL's messages; !help lists the commands; neither is a message
  const saved = path.join(tmp, 'saved-chat.json');
  const withSave = spawnSync(process.execPath, [bin, 'chat', '--model', modelDir, '--adapter', out, '--system', 'Be exact.', '--max-new-tokens', '8'],
    { input: `!help\n${question}\n!save ${saved}\n!save\n`, encoding: 'utf8', timeout: 300000 });
  expect(withSave.stdout).toBe(`${reply.reply}\n`);
  expect(withSave.stderr).toMatch(/^commands \(HF's transformers chat's\):\n  !clear .*\n  !save FILE .*\n  !set NAME=VALUE;...\n .*\n .*\n  !status .*\n  !help .*\n  !exit .*\nchat: 3 messages saved to .*saved-chat\.json\nchat: !save needs a file name: !save chat\.json\n$/);
  expect(JSON.parse(fs.readFileSync(saved, 'utf8'))).toEqual({ messages: [{ role: 'system', content: 'Be exact.' }, { role: 'user', content: question }, { role: 'assistant', content: reply.reply }] });
  // !set changes the decoding settings for the next replies (HF's NAME=VALUE;...), a bad one changes nothing; !status shows them
  const short = JSON.parse(cli('generate', '--model', modelDir, '--adapter', out, '--chat', '--system', 'Be exact.', '--prompt', question, '--max-new-tokens', '3', '--json').out);
  const withSet = spawnSync(process.execPath, [bin, 'chat', '--model', modelDir, '--adapter', out, '--system', 'Be exact.', '--max-new-tokens', '8'],
    { input: `!set max_new_tokens=3;repetition_penalty=1\n!set temperature=-1\n!set top_p=x\n!set do_sample=maybe\n!set beams=2\n${question}\n!status\n`, encoding: 'utf8', timeout: 300000 });
  expect(withSet.stdout).toBe(`${short.reply}\n`);
  expect(short.tokens.length).toBe(reply.tokens.length - 5); // (8 tokens, no stop string before)
  expect(withSet.stderr.split('\n')).toEqual([
    'chat: decoding: max_new_tokens=3 do_sample=false repetition_penalty=1 stop="<|im_end|>"',
    'chat: temperature must be >= 0, got -1; the settings are as they were',
    'chat: !set: top_p must be a number, got \'x\'; the settings are as they were',
    'chat: !set: do_sample is true or false, got \'maybe\'; the settings are as they were',
    expect.stringMatching(/^chat: !set: 'beams' is not a setting chat can change; it can: max_new_tokens, temperature, do_sample, top_k, top_p, .*, stop; the settings are as they were$/),
    expect.stringMatching(/^model: .* with adapter .* on cpu, fp32$/),
    expect.stringMatching(/^conversation: 3 messages, \d+ tokens of the model's 256$/),
    'decoding: max_new_tokens=3 do_sample=false repetition_penalty=1 stop="<|im_end|>"',
    '',
  ]);
  // the same session with the base model drafting (HF's assisted decoding): the same replies, ended by the stop string
  const assisted = spawnSync(process.execPath, [bin, 'chat', '--model', modelDir, '--adapter', out, '--system', 'Be exact.', '--max-new-tokens', '8', '--assistant-model', modelDir],
    { input: `${question}\n\n${second}\n!clear\n${question}\n!exit\n`, encoding: 'utf8', timeout: 300000 });
  expect([assisted.stderr, assisted.stdout]).toEqual(['', session.stdout]);
  const [turn2] = reference({ render: [{ template: torch.CHATML_TEMPLATE, special: torch.tokenizer.specialTokensMap, add_generation_prompt: true,
    messages: [{ role: 'system', content: 'Be exact.' }, { role: 'user', content: question }, { role: 'assistant', content: replies[0] }, { role: 'user', content: second }] }] }).render as string[];
  const plain2 = JSON.parse(cli('generate', '--model', modelDir, '--adapter', out, '--prompt', turn2, '--max-new-tokens', '8', '--stop', '<|im_end|>', '--json').out);
  // a conversation past the model's context is refused, the session goes on
  const small = await saveTinyGpt2(path.join(tmp, 'small-model'), { n_positions: 40 });
  const tooLong = spawnSync(process.execPath, [bin, 'chat', '--model', small, '--chat-template', 'chatml', '--max-new-tokens', '2'],
    { input: `${'word '.repeat(30)}\nhi\n`, encoding: 'utf8', timeout: 300000 });
  expect(tooLong.stderr).toMatch(/^chat: the conversation is \d+ tokens, the model's context 40: !clear to start over\n$/);
  expect(tooLong.stdout.split('\n').length).toBe(2); // (the second message answered)
  expect(plain2.text.startsWith(turn2)).toBe(true);
  const rest = plain2.text.slice(turn2.length);
  expect(replies[1]).toBe(rest.includes('<|im_end|>') ? rest.slice(0, rest.indexOf('<|im_end|>')) : rest);
  expect(cli('generate', '--model', modelDir, '--system', 'x', '--prompt', 'hi').err).toMatch(/--system is a chat's system message: add --chat/);
});

test('tstorch chat streams a reply as it comes: held back are an incomplete character and an ending that may start the stop string, never shown', () => {
  // tokens are pieces of text here; 9 is half a character (decoding gives U+FFFD until its other half, 10)
  const pieces: Record<number, string> = { 1: 'Hel', 2: 'lo <', 3: 'b> <|', 4: 'im_', 5: 'end|>', 6: ' more', 7: '<|im_', 8: 'x', 9: '\uFFFD', 10: 'é' };
  const decode = (ts: number[]) => ts.map((t, i) => (t === 9 && ts[i + 1] === 10 ? '' : pieces[t])).join('');
  const run = (tokens: number[], reply: string) => {
    const writes: string[] = [];
    const s = textStream(decode, ['<|im_end|>'], (w) => writes.push(w));
    for (const t of tokens) s.add(t);
    s.end(reply);
    return writes;
  };
  // '<' may start the stop string until 'b' shows it does not; '<|im_' waits, and '<|im_end|>' is cut
  expect(run([1, 2, 3, 4, 5], 'Hello <b> ')).toEqual(['Hel', 'lo ', '<b> ', '\n']);
  // an ending that was not the stop string after all comes out with what follows, or at the end
  expect(run([1, 7, 8], 'Hel<|im_x')).toEqual(['Hel', '<|im_x', '\n']);
  expect(run([1, 7], 'Hel<|im_')).toEqual(['Hel', '<|im_\n']);
  // half a character waits for its other half
  expect(run([1, 9, 10, 6], 'Helé more')).toEqual(['Hel', 'é', ' more', '\n']);
  // no stop strings: each piece as it comes
  const plainWrites: string[] = [];
  const s = textStream(decode, undefined, (w) => plainWrites.push(w));
  [1, 6].forEach((t) => s.add(t));
  s.end('Hel more');
  expect(plainWrites).toEqual(['Hel', ' more', '\n']);
});

test('tstorch chat: Ctrl-C while a reply is written ends the reply (kept as shown), not the chat', async () => {
  const dir = await saveTinyGpt2(path.join(tmp, 'long-context'), { n_positions: 1024, n_embd: 32 });
  const bin = path.join(__dirname, '..', 'dist', 'lib', 'cli', 'main.js');
  const child = spawn(process.execPath, [bin, 'chat', '--model', dir, '--chat-template', 'chatml', '--max-new-tokens', '1000'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '', err = '';
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const firstText = new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => { out += d.toString(); resolve(); }));
  child.stdin.write('Tell me a long story.\n');
  await firstText; // (the reply has begun: 1000 tokens take far longer than this)
  child.kill('SIGINT');
  await new Promise((r) => setTimeout(r, 300));
  child.stdin.end('!exit\n');
  const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));
  expect({ code, signal, err: err.replace(/\(a message.*\n/, '') }).toEqual({ code: 0, signal: null, err: '' });
  expect(out.endsWith('\n')).toBe(true);
  const reply = out.trimEnd();
  expect(reply.length).toBeGreaterThan(0);
  expect(torch.tokenizer.encode(reply).length).toBeLessThan(900); // (cut short, not the 1000 asked for)
}, 60000);
