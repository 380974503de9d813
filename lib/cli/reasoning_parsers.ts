// A reply's reasoning read out of it, as vLLM's reasoning parsers read it (tstorch serve
// --reasoning-parser NAME): the text a model writes between <think> and </think> before its answer
// goes to the message's `reasoning` (vLLM's field; `reasoning_content` too, the name DeepSeek's API
// and older vLLM use), the rest to its `content`.
//   deepseek_r1  <think> (or the template puts it in the prompt) ... </think> answer; a reply with
//                no </think> is all reasoning (cut short while thinking)
//   qwen3        the same; with chat_template_kwargs {"enable_thinking": false} a reply with no
//                </think> is all content; a <tool_call> followed by <function=...> (Qwen3.5's
//                calls) ends the reasoning too
// The tags are read in the text, as vLLM reads a whole reply (its streaming reads token ids; a
// model writes each tag as one added token, so the two agree).
import { LEADING_PY_SPACE, PY_SPACE } from '../models/jinja_python';
import { heldEnding } from './streaming';

export const REASONING_PARSERS = ['deepseek_r1', 'qwen3'] as const;
export type ReasoningParser = (typeof REASONING_PARSERS)[number];

const START = '<think>', END = '</think>', TOOL_CALL = '<tool_call>';
const FUNCTION_OPEN = new RegExp(`^<function[=${PY_SPACE}]`); // (vLLM's <function[\s=]; Python's \s is str.isspace())

/** How one request's replies are read: the parser, whether thinking is on (qwen3's enable_thinking), whether the reasoning is returned (include_reasoning). */
export interface ReasoningReader {
  parser: ReasoningParser;
  thinking: boolean;
  included: boolean;
}

/** A reply split: its reasoning (null where it has none) and the answer after it (null where empty). */
export interface ReasoningSplit {
  reasoning: string | null;
  content: string | null;
}

/**
 * The reader for a request: qwen3 reads chat_template_kwargs' enable_thinking (default on; off
 * only where falsy as Python reads it); vLLM's include_reasoning false leaves the reasoning out.
 */
export function reasoningReader(parser: ReasoningParser, templateKwargs: Record<string, unknown> | undefined, included = true): ReasoningReader {
  const flag = templateKwargs && Object.hasOwn(templateKwargs, 'enable_thinking') ? templateKwargs.enable_thinking : true;
  return { parser, thinking: parser !== 'qwen3' || pyTruthy(flag), included };
}

function pyTruthy(v: unknown): boolean {
  if (Array.isArray(v) || typeof v === 'string') return v.length > 0;
  if (v !== null && typeof v === 'object') return Object.keys(v).length > 0;
  return Boolean(v);
}

/** After a leading part of `text` (through its first <think>, where it has one): vLLM's partition(start_token). */
function afterStart(text: string): string {
  const at = text.indexOf(START);
  return at < 0 ? text : text.slice(at + START.length);
}

/** qwen3: where the first <tool_call> ends the reasoning (a <function= or <function name= after it), or -1. */
function toolCallEnd(text: string): number {
  const at = text.indexOf(TOOL_CALL);
  if (at < 0) return -1;
  return FUNCTION_OPEN.test(text.slice(at + TOOL_CALL.length).replace(LEADING_PY_SPACE, '')) ? at : -1;
}

/** A whole reply split, as vLLM's extract_reasoning splits it. */
export function extractReasoning(reader: ReasoningReader, reply: string): ReasoningSplit {
  const text = afterStart(reply);
  const end = text.indexOf(END);
  if (end >= 0) return { reasoning: text.slice(0, end), content: text.slice(end + END.length) || null };
  if (reader.parser === 'qwen3') {
    if (!reader.thinking) return { reasoning: null, content: text };
    const call = toolCallEnd(text);
    if (call >= 0) return { reasoning: text.slice(0, call) || null, content: text.slice(call) || null };
  }
  return { reasoning: text, content: null }; // (no end: cut short while thinking, all of it reasoning)
}

/**
 * While a reply streams, what of it is settled: where the reasoning that no later text can change
 * lies in the text (not an ending that may begin a tag), and, once the reasoning has ended, where
 * the answer begins (it is sent as a reply without reasoning is, tool calls held back alike). A qwen3 reply
 * whose reasoning a <tool_call> ends waits for the end for its answer: a later </think> would
 * still make the call part of the reasoning, as it does in a whole reply. With thinking off, the
 * reply is answer from its start, as vLLM streams it (a </think> the model writes anyway stays in
 * the streamed answer, where a whole reply is split there).
 * (A <think> after other text: the text before it went out as reasoning; a whole reply drops it.)
 */
export function streamedReasoning(reader: ReasoningReader, text: string): { reasoningFrom: number; reasoningTo: number; answerFrom?: number } {
  if (!reader.thinking) return { reasoningFrom: 0, reasoningTo: 0, answerFrom: 0 };
  const startAt = text.indexOf(START);
  const from = startAt < 0 ? 0 : startAt + START.length;
  const rest = text.slice(from);
  const end = rest.indexOf(END);
  if (end >= 0) return { reasoningFrom: from, reasoningTo: from + end, answerFrom: from + end + END.length };
  let settled = rest.length;
  if (reader.parser === 'qwen3') {
    // (from the first <tool_call> on: held while what follows it may still be <function)
    const call = rest.indexOf(TOOL_CALL);
    if (call >= 0) {
      const after = rest.slice(call + TOOL_CALL.length).replace(LEADING_PY_SPACE, '');
      if (FUNCTION_OPEN.test(after) || '<function'.startsWith(after)) settled = call;
    }
  }
  const tags = [END, ...(startAt < 0 ? [START] : []), ...(reader.parser === 'qwen3' && !rest.includes(TOOL_CALL) ? [TOOL_CALL] : [])];
  return { reasoningFrom: from, reasoningTo: from + Math.min(settled, rest.length - heldEnding(rest, tags)) };
}
