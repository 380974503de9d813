// Tool calls read out of replies as vLLM's hermes and llama3_json parsers read them: random replies
// (text, tags, JSON calls with Python's corner cases, broken JSON) against the same parsers in
// plain Python with Python's json module (scripts/reference/tool_parser_ref.py).
import { spawnSync } from 'child_process';
import * as path from 'path';
import { extractToolCalls, textBeforeToolCalls, ToolCallParser } from '../lib/cli/tool_parsers';
import { seededRandom } from './helpers';

interface Extracted { tools_called: boolean; content: string | null; calls: { name: string; arguments: string }[] }

function reference(cases: { parser: ToolCallParser; text: string }[]): Extracted[] {
  const r = spawnSync('/usr/bin/python3', [path.join(__dirname, '..', 'scripts', 'reference', 'tool_parser_ref.py')], { input: JSON.stringify(cases), encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

const ours = (parser: ToolCallParser, text: string): Extracted => {
  const e = extractToolCalls(parser, text);
  return { tools_called: e.toolsCalled, content: e.content, calls: e.calls };
};

test('known replies: a hermes call after text, two calls, Llama 3\'s JSON after <|python_tag|> and joined by ";", or after text; the arguments as Python writes them', () => {
  const cases: { parser: ToolCallParser; text: string }[] = [
    { parser: 'hermes', text: 'Let me look.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris", "days": 2.0, "big": 12345678901234567890, "2": "b", "a": "x"}}\n</tool_call>' },
    { parser: 'hermes', text: '<tool_call>{"name":"f","arguments":{}}</tool_call>\n<tool_call>{"name":"g","arguments":{"x":[1,1e-7,NaN]}}</tool_call>' },
    { parser: 'hermes', text: 'no calls here' },
    { parser: 'hermes', text: '<tool_call>{"name": "f", "arguments": {"x": 1}' },
    { parser: 'llama3_json', text: '<|python_tag|>{"name": "f", "parameters": {"q": "é\\u00e9"}}; {"name": "g", "arguments": {"n": -0}}' },
    { parser: 'llama3_json', text: 'Sure. {"name": "f", "parameters": {}} done' },
    { parser: 'llama3_json', text: '{"name": "f", "parameters": {"a": {"b": 1}}}' },
    { parser: 'llama3_json', text: '{"name": "f", "parameters": {"q": "a;b"}}' },
  ];
  const want = reference(cases);
  // (what Python says, so the comparison can fail: floats stay floats, integers keep their digits and keys their order)
  expect(want[0]).toEqual({ tools_called: true, content: 'Let me look.\n', calls: [{ name: 'get_weather', arguments: '{"city": "Paris", "days": 2.0, "big": 12345678901234567890, "2": "b", "a": "x"}' }] });
  expect(want[1].calls.map((c) => c.arguments)).toEqual(['{}', '{"x": [1, 1e-07, NaN]}']);
  expect(want[3]).toEqual({ tools_called: false, content: cases[3].text, calls: [] });
  expect(want[4].calls).toEqual([{ name: 'f', arguments: '{"q": "éé"}' }, { name: 'g', arguments: '{"n": 0}' }]);
  // (vLLM's llama3_json finds the JSON anywhere and drops the text; its regex takes one level of braces inside a call; it splits at every ';')
  expect(want.slice(5).map((w) => [w.tools_called, w.content])).toEqual([[true, null], [false, cases[6].text], [false, cases[7].text]]);
  expect(cases.map((c) => ours(c.parser, c.text))).toEqual(want);
});

test('random replies (text, tags, calls with Python\'s JSON corner cases, broken JSON) read as vLLM\'s parsers read them (seeded)', () => {
  const { random, int } = seededRandom(5);
  const pick = <T>(items: T[]): T => items[int(0, items.length - 1)];
  const strings = ['Paris', '', 'é東😀', 'a\\"b', 'back\\\\slash', 'tab\\t', 'nl\\n', '\\u00e9\\ud83d\\ude00', '\\/', '<tool_call>'];
  const numbers = ['0', '-0', '1', '2.0', '1e-7', '1E5', '1.5e+3', '-0.0', '12345678901234567890', '1e400', 'NaN', '-Infinity'];
  // (not JSON to Python: a control character in a string, \x, a leading zero or +, Python's words)
  const broken = ['"ctl\u0001"', '"\\x41"', '01', '1.', '.5', '+1', 'None', 'True', "'a'"];
  const value = (depth: number): string => {
    const r = random();
    if (r < 0.02) return pick(broken);
    if (depth > 2 || r < 0.3) return pick(numbers);
    if (r < 0.55) return `"${pick(strings)}"`;
    if (r < 0.65) return pick(['true', 'false', 'null']);
    if (r < 0.8) return `[${Array.from({ length: int(0, 3) }, () => value(depth + 1)).join(pick([', ', ',', ' , ']))}]`;
    return object(depth + 1);
  };
  const object = (depth: number): string => `{${Array.from({ length: int(0, 3) }, () => `"${pick(['a', '2', 'b', '10', 'a', 'é'])}"${pick([': ', ':', ' : '])}${value(depth)}`).join(pick([', ', ',', ',\n']))}}`;
  const callJson = () => {
    const r = random();
    const name = r < 0.85 ? `"name": "${pick(['get_weather', 'f', 'é'])}"` : pick(['"name": 3', '"nom": "f"']);
    const args = `"${pick(['arguments', 'arguments', 'parameters'])}": ${random() < 0.8 ? object(1) : value(1)}`;
    const body = random() < 0.8 ? `{${name}, ${args}}` : `{${args}, ${name}}`;
    return random() < 0.04 ? body.slice(0, int(1, body.length - 1)) : random() < 0.03 ? `[${body}]` : body;
  };
  const text = () => pick(['Sure.', 'Let me check', ' ', '\n', '', 'x<tool', '{"not": "a call"}', 'é']);
  const cases: { parser: ToolCallParser; text: string }[] = [];
  for (let n = 0; n < 600; n++) {
    const parser: ToolCallParser = n % 2 ? 'hermes' : 'llama3_json';
    let reply = '';
    if (parser === 'hermes') {
      reply = random() < 0.7 ? text() : '';
      for (let k = random() < 0.1 ? 0 : int(1, 3); k > 0; k--) {
        reply += `<tool_call>${pick(['', '\n', ' '])}${callJson()}${pick(['', '\n', ' ', '', '\n', 'x'])}${random() < 0.9 ? '</tool_call>' : ''}${pick(['', '\n', ' ok'])}`;
      }
    } else {
      reply = pick(['<|python_tag|>', '<|python_tag|>', '', '', ' ', '<|python_tag|> ', 'text ']);
      for (let k = int(1, 3); k > 0; k--) reply += (k < 3 && reply.length > 20 ? pick(['; ', '; ', '; ', ';', '  ', ';\n']) : '') + callJson();
      reply += pick(['', '', '', '\n', ';', 'x', ' more text']);
    }
    cases.push({ parser, text: reply });
  }
  const want = reference(cases);
  const called = want.filter((w) => w.tools_called).length;
  expect(called).toBeGreaterThan(100); // (both outcomes are exercised)
  expect(cases.length - called).toBeGreaterThan(100);
  cases.forEach((c, i) => expect({ ...c, got: ours(c.parser, c.text) }).toEqual({ ...c, got: want[i] }));
});

test('streaming: what may be sent before the end is never part of a call, and never taken back', () => {
  const { random, int } = seededRandom(9);
  const replies = ['Let me look. <tool_call>{"name": "f", "arguments": {}}</tool_call>', 'just text <tool_', 'a <tool_call', '<tool_call>{"name": "f", "arguments": {"a": 1}}', 'x'];
  const llama = ['<|python_tag|>{"name": "f", "parameters": {}}', '{"name": "f", "parameters": {}}; {"name": "g", "parameters": {}}', 'Sure. {"name": "f", "parameters": {"a": 1}}', '<|python', 'plain text', '<|not a tag', 'a {broken'];
  for (let n = 0; n < 200; n++) {
    const parser: ToolCallParser = random() < 0.5 ? 'hermes' : 'llama3_json';
    const list = parser === 'hermes' ? replies : llama, reply = list[int(0, list.length - 1)];
    const final = extractToolCalls(parser, reply);
    // (where the calls begin: the tag, or llama3_json's first '{')
    const callsAt = Math.min(...[reply.indexOf(parser === 'hermes' ? '<tool_call>' : '<|python_tag|>'), parser === 'hermes' ? -1 : reply.indexOf('{')].map((i) => (i < 0 ? Infinity : i)));
    let sent = 0;
    for (let cut = 0; cut <= reply.length; cut++) {
      const shown = textBeforeToolCalls(parser, reply.slice(0, cut));
      expect(shown).toBeGreaterThanOrEqual(sent); // (what was sent is not taken back)
      sent = shown;
      if (final.toolsCalled) expect(sent).toBeLessThanOrEqual(callsAt);
    }
    // (held back at the end of the stream: from where a call may begin, or no more than a tag's beginning)
    if (callsAt !== Infinity) expect(sent).toBe(callsAt);
    else expect(reply.length - sent).toBeLessThan(parser === 'hermes' ? '<tool_call>'.length : '<|python_tag|>'.length);
  }
});
