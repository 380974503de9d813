// A chat reply's reasoning read out of it as vLLM's reasoning parsers read it (deepseek_r1, qwen3
// with thinking on and off), then its tool calls in the answer after it, as vLLM's chat serving
// reads a whole reply: random replies made of the tags and text around them, against the same rules
// in plain Python (scripts/reference/reasoning_parser_ref.py). And streamed: what goes out before
// the end is the whole reply's reasoning and answer, never more.
import { spawnSync } from 'child_process';
import * as path from 'path';
import { extractReasoning, ReasoningParser, reasoningReader, streamedReasoning } from '../lib/cli/reasoning_parsers';
import { chatReply } from '../lib/cli/commands/serve';
import { seededRandom } from './helpers';

interface Case { parser: ReasoningParser; thinking: boolean; text: string; tools?: boolean }
interface Message { reasoning: string | null; content: string | null; tool_calls: { name: string; arguments: string }[] | null }

function reference(cases: Case[]): Message[] {
  const r = spawnSync('/usr/bin/python3', [path.join(__dirname, '..', 'scripts', 'reference', 'reasoning_parser_ref.py')], { input: JSON.stringify(cases), encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

const readerOf = (c: Case) => reasoningReader(c.parser, { enable_thinking: c.thinking });

function ours(c: Case): Message {
  const { message } = chatReply(c.text, 'stop', { reasoning: readerOf(c), toolParser: c.tools ? 'hermes' : undefined });
  expect(message.reasoning_content).toBe(message.reasoning);
  return { reasoning: message.reasoning ?? null, content: message.content, tool_calls: message.tool_calls?.map((t) => t.function) ?? null };
}

const FRAGMENTS = ['<think>', '</think>', '<tool_call>', '\n<function=f>', ' <function name="x">', '<function', '\u3000<function=g>', '\x85<function\x1f',
  'Let me think.', ' ', '\n', '\n\n', '</th', '<thi', '<tool', 'é😀', '<tool_call>{"name": "f", "arguments": {"a": 1}}</tool_call>', '<tool_call>\n{"name": "g", "arguments": {}}\n</tool_call>'];

function randomReplies(seed: number, count: number, thinkOnlyFirst = false): Case[] {
  const { random, int } = seededRandom(seed);
  const pick = <T>(items: T[]): T => items[int(0, items.length - 1)];
  const cases: Case[] = [];
  for (let n = 0; n < count; n++) {
    let text = random() < 0.3 ? '<think>' : '';
    for (let k = int(0, 7); k > 0; k--) text += pick(thinkOnlyFirst ? FRAGMENTS.filter((f) => f !== '<think>') : FRAGMENTS);
    const parser: ReasoningParser = random() < 0.5 ? 'deepseek_r1' : 'qwen3';
    cases.push({ parser, thinking: parser === 'deepseek_r1' || random() < 0.8, text, tools: random() < 0.5 });
  }
  return cases;
}

test('known replies: reasoning then answer; cut short while thinking; <think> in the prompt; thinking off; a Qwen3.5 call ending the reasoning; calls after the reasoning', () => {
  const cases: Case[] = [
    { parser: 'deepseek_r1', thinking: true, text: '<think>\nThe user greets.\n</think>\n\nHello!' },
    { parser: 'deepseek_r1', thinking: true, text: 'The template wrote the start tag.\n</think>Hello!' },
    { parser: 'deepseek_r1', thinking: true, text: '<think>\nStill thinking when max_tokens ran out' },
    { parser: 'deepseek_r1', thinking: true, text: '<think>done</think>' },
    { parser: 'qwen3', thinking: false, text: 'Hello, no thinking.' },
    { parser: 'qwen3', thinking: true, text: 'Thinking, then a call\n<tool_call>\n<function=get_time>\n<parameter=tz>UTC</parameter>\n</function>\n</tool_call>' },
    { parser: 'qwen3', thinking: true, text: 'Mentions <tool_call> in passing' },
    { parser: 'qwen3', thinking: true, text: '<think>\nWeather first.\n</think>\n\nChecking.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris", "days": 2.0}}\n</tool_call>', tools: true },
    { parser: 'qwen3', thinking: true, text: '<think>\nOnly thinking\n', tools: true },
  ];
  const want = reference(cases);
  // (what vLLM's rules say, so the comparison can fail)
  expect(want.slice(0, 4)).toEqual([
    { reasoning: '\nThe user greets.\n', content: '\n\nHello!', tool_calls: null },
    { reasoning: 'The template wrote the start tag.\n', content: 'Hello!', tool_calls: null },
    { reasoning: '\nStill thinking when max_tokens ran out', content: null, tool_calls: null },
    { reasoning: 'done', content: null, tool_calls: null },
  ]);
  expect(want[4]).toEqual({ reasoning: null, content: 'Hello, no thinking.', tool_calls: null });
  expect(want[5]).toEqual({ reasoning: 'Thinking, then a call\n', content: cases[5].text.slice('Thinking, then a call\n'.length), tool_calls: null });
  expect(want[6]).toEqual({ reasoning: cases[6].text, content: null, tool_calls: null });
  expect(want[7]).toEqual({ reasoning: '\nWeather first.\n', content: '\n\nChecking.\n', tool_calls: [{ name: 'get_weather', arguments: '{"city": "Paris", "days": 2.0}' }] });
  expect(want[8]).toEqual({ reasoning: '\nOnly thinking\n', content: null, tool_calls: null });
  expect(cases.map(ours)).toEqual(want);
});

test('random replies (the tags, broken tags, Qwen3.5 calls after Python\'s whitespace, hermes calls) read as vLLM reads them (seeded)', () => {
  const cases = randomReplies(3, 800);
  const want = reference(cases);
  // (every branch is exercised: an end tag, none, a call ending the reasoning, thinking off, calls read)
  expect(want.filter((w, i) => cases[i].text.includes('</think>')).length).toBeGreaterThan(100);
  expect(want.filter((w) => w.reasoning === null).length).toBeGreaterThan(30);
  expect(want.filter((w) => w.tool_calls).length).toBeGreaterThan(15);
  expect(want.filter((w, i) => w.content?.startsWith('<tool_call>') && !cases[i].text.includes('</think>')).length).toBeGreaterThan(10);
  cases.forEach((c, i) => expect({ ...c, got: ours(c) }).toEqual({ ...c, got: want[i] }));
});

test('streamed: what goes out as reasoning before the end is the start of the whole reply\'s reasoning, the answer from where the whole reply\'s begins; never taken back', () => {
  // (a <think> after other text makes the whole reply drop that text, which a stream has sent: those replies are left out here)
  const cases = randomReplies(11, 400, true).filter((c) => c.thinking);
  for (const c of cases) {
    const reader = readerOf(c);
    const whole = extractReasoning(reader, c.text);
    let sent = 0;
    for (let cut = 0; cut <= c.text.length; cut++) {
      const so = streamedReasoning(reader, c.text.slice(0, cut));
      const reasoning = c.text.slice(so.reasoningFrom, so.reasoningTo);
      expect({ ...c, cut, startOfWhole: (whole.reasoning ?? '').startsWith(reasoning) }).toEqual({ ...c, cut, startOfWhole: true });
      expect(reasoning.length).toBeGreaterThanOrEqual(sent);
      sent = reasoning.length;
      if (so.answerFrom !== undefined) {
        expect(reasoning).toBe(whole.reasoning ?? '');
        expect((whole.content ?? '').startsWith(c.text.slice(so.answerFrom, cut))).toBe(true);
      }
    }
    // (at the end of the stream: all of the reasoning out, or held back no more than a tag's beginning or a call that ended it)
    const last = streamedReasoning(reader, c.text);
    const held = (whole.reasoning ?? '').length - (last.reasoningTo - last.reasoningFrom);
    if (held > 0) expect(held < '<tool_call>'.length || /<tool_call>/.test(c.text)).toBe(true);
  }
});
