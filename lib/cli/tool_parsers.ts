// Tool calls read out of a model's reply, as vLLM's tool-call parsers read them (tstorch serve
// --enable-auto-tool-choice --tool-call-parser NAME):
//   hermes       <tool_call>{"name": ..., "arguments": {...}}</tool_call>, any number of them, after
//                the reply's text (Hermes 2 Pro, Qwen2.5, Qwen3 and models trained on their templates)
//   llama3_json  JSON in the reply: {"name": ..., "parameters": {...}}, several joined by ";"
//                (Llama 3.1 and 3.2's JSON tool calling), the text around them dropped
// A reply that does not parse as calls is text, as there. The calls' arguments are written as
// Python's json.dumps writes them after json.loads (vLLM's), so the JSON here is read as Python's
// json module reads it: floats stay floats (1.0, not 1), integers keep every digit, keys keep their
// order (a JS object would put "2" before "a"), NaN and Infinity are read.
import { PY_SPACE, pyFloatRepr, pyTrim } from '../models/jinja_python';
import { heldEnding } from './streaming';

export const TOOL_CALL_PARSERS = ['hermes', 'llama3_json'] as const;
export type ToolCallParser = (typeof TOOL_CALL_PARSERS)[number];

/** A call as OpenAI's API spells it: the function's name and its arguments as a JSON string. */
export interface ParsedToolCall {
  name: string;
  arguments: string;
}

/** What a reply holds: its text (null when it is only calls) and its calls. */
export interface ExtractedToolCalls {
  toolsCalled: boolean;
  content: string | null;
  calls: ParsedToolCall[];
}

// ---- JSON as Python's json module reads and writes it ----

/** A JSON number as Python holds it: an int of any size, or a float. */
class PyInt { constructor(readonly value: bigint) {} }
class PyFloat { constructor(readonly value: number) {} }
type PyJson = null | boolean | string | PyInt | PyFloat | PyJson[] | Map<string, PyJson>;

class JsonDecodeError extends Error {}
const JSON_SPACE = /[ \t\n\r]*/y;
const NUMBER = /(-?(?:0|[1-9]\d*))(\.\d+)?([eE][-+]?\d+)?/y;
const STRING_ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

/** Python's json.JSONDecoder().raw_decode(text[start:]): the value that starts exactly at `start`, and where it ends. */
function rawDecode(text: string, start: number): { value: PyJson; end: number } {
  let i = start;
  const space = () => { JSON_SPACE.lastIndex = i; JSON_SPACE.exec(text); i = JSON_SPACE.lastIndex; };
  const fail = (what: string): never => { throw new JsonDecodeError(`${what} at character ${i}`); };
  const value = (): PyJson => {
    const c = text[i];
    if (c === '"') return string();
    if (c === '{') {
      const object = new Map<string, PyJson>();
      i++;
      space();
      if (text[i] === '}') { i++; return object; }
      for (;;) {
        if (text[i] !== '"') fail('Expecting property name enclosed in double quotes');
        const key = string();
        space();
        if (text[i] !== ':') fail('Expecting \':\' delimiter');
        i++;
        space();
        object.set(key, value()); // (a repeated key: the last value, in the first one's place, as a Python dict)
        space();
        if (text[i] === '}') { i++; return object; }
        if (text[i] !== ',') fail('Expecting \',\' delimiter');
        i++;
        space();
      }
    }
    if (c === '[') {
      const list: PyJson[] = [];
      i++;
      space();
      if (text[i] === ']') { i++; return list; }
      for (;;) {
        list.push(value());
        space();
        if (text[i] === ']') { i++; return list; }
        if (text[i] !== ',') fail('Expecting \',\' delimiter');
        i++;
        space();
      }
    }
    for (const [word, v] of [['null', null], ['true', true], ['false', false], ['NaN', new PyFloat(NaN)], ['Infinity', new PyFloat(Infinity)], ['-Infinity', new PyFloat(-Infinity)]] as const) {
      if (text.startsWith(word, i)) { i += word.length; return v; }
    }
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (!m) return fail('Expecting value');
    i = NUMBER.lastIndex;
    return m[2] !== undefined || m[3] !== undefined ? new PyFloat(Number(m[0])) : new PyInt(BigInt(m[1]));
  };
  const string = (): string => {
    let out = '';
    i++;
    for (;;) {
      const c = text[i];
      if (c === undefined) fail('Unterminated string');
      if (c === '"') { i++; return out; }
      if (c < ' ') fail('Invalid control character'); // (json.loads is strict)
      if (c !== '\\') { out += c; i++; continue; }
      const e = text[i + 1];
      if (e === 'u') {
        const hex = text.slice(i + 2, i + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('Invalid \\uXXXX escape');
        out += String.fromCharCode(parseInt(hex, 16)); // (a surrogate pair's halves join in the JS string)
        i += 6;
      } else if (e !== undefined && Object.hasOwn(STRING_ESCAPES, e)) {
        out += STRING_ESCAPES[e];
        i += 2;
      } else {
        fail('Invalid \\escape');
      }
    }
  };
  const v = value();
  return { value: v, end: i };
}

/** Python's json.loads: one value, JSON whitespace around it and nothing else. */
function loads(text: string): PyJson {
  const start = /^[ \t\n\r]*/.exec(text)![0].length;
  const { value, end } = rawDecode(text, start);
  if (/[^ \t\n\r]/.test(text.slice(end))) throw new JsonDecodeError(`Extra data at character ${end}`);
  return value;
}

/** Python's json.dumps(value, ensure_ascii=False). */
function dumps(v: PyJson): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'string') return JSON.stringify(v);
  if (v instanceof PyInt) return v.value.toString();
  if (v instanceof PyFloat) return Number.isNaN(v.value) ? 'NaN' : !Number.isFinite(v.value) ? (v.value > 0 ? 'Infinity' : '-Infinity') : pyFloatRepr(v.value);
  if (Array.isArray(v)) return `[${v.map(dumps).join(', ')}]`;
  return `{${[...v].map(([k, x]) => `${JSON.stringify(k)}: ${dumps(x)}`).join(', ')}}`;
}

/**
 * Python's json.loads as JavaScript values for a chat template: a float whose value is whole as a
 * Number object (2.0 stays 2.0 in the template, see jinja_python.ts), integers as numbers. Throws
 * a SyntaxError saying where the JSON breaks.
 */
export function pythonJsonLoads(text: string): unknown {
  const toJs = (v: PyJson): unknown => {
    if (v instanceof PyInt) return Number(v.value);
    if (v instanceof PyFloat) return Number.isInteger(v.value) ? Object(v.value) : v.value;
    if (Array.isArray(v)) return v.map(toJs);
    if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [k, toJs(x)]));
    return v;
  };
  try {
    return toJs(loads(text));
  } catch (e) {
    throw e instanceof JsonDecodeError ? new SyntaxError(e.message) : e;
  }
}

// ---- the parsers ----

const HERMES_START = '<tool_call>', HERMES_END = '</tool_call>';
const PYTHON_TAG = '<|python_tag|>';
const LLAMA_OBJECT = `\\{[^{}]*(?:\\{[^{}]*\\}[^{}]*)*\\}`;
const LLAMA_CALLS = new RegExp(`${LLAMA_OBJECT}(?:[${PY_SPACE}]*;[${PY_SPACE}]*${LLAMA_OBJECT})*`);
const asText = (text: string): ExtractedToolCalls => ({ toolsCalled: false, content: text, calls: [] });

/** A parsed call's name and arguments (vLLM's function_call["name"] and json.dumps of its arguments); throws where a key is missing. */
function call(value: PyJson, argumentsKeys: string[]): ParsedToolCall {
  if (!(value instanceof Map)) throw new JsonDecodeError('a tool call is not a JSON object');
  const name = value.get('name');
  if (typeof name !== 'string') throw new JsonDecodeError('a tool call has no name');
  const key = argumentsKeys.find((k) => value.has(k));
  if (key === undefined) throw new JsonDecodeError(`a tool call has no ${argumentsKeys.join(' or ')}`);
  return { name, arguments: dumps(value.get(key)!) };
}

/** The calls in a whole reply, as vLLM's parser's extract_tool_calls reads them. */
export function extractToolCalls(parser: ToolCallParser, text: string): ExtractedToolCalls {
  try {
    if (parser === 'hermes') {
      // (<tool_call>(.*?)</tool_call>|<tool_call>(.*): the last one may be unclosed)
      const at = text.indexOf(HERMES_START);
      if (at < 0) return asText(text);
      const calls: ParsedToolCall[] = [];
      for (let from = at; from >= 0; from = text.indexOf(HERMES_START, from)) {
        const close = text.indexOf(HERMES_END, from + HERMES_START.length);
        calls.push(call(loads(text.slice(from + HERMES_START.length, close < 0 ? text.length : close)), ['arguments']));
        if (close < 0) break;
        from = close + HERMES_END.length;
      }
      return { toolsCalled: true, content: text.slice(0, at) || null, calls };
    }
    // llama3_json: the first run of JSON objects joined by ';' (each at most one level of braces
    // inside, as vLLM's regex finds them), split at every ';' (one inside a string too)
    if (!(text.includes(PYTHON_TAG) || text.includes('{'))) return asText(text);
    const run = LLAMA_CALLS.exec(text);
    if (!run) return asText(text);
    const calls: ParsedToolCall[] = [];
    for (const piece of run[0].split(';')) {
      const json = pyTrim(piece); // (Python's str.strip())
      if (json) calls.push(call(loads(json), ['arguments', 'parameters']));
    }
    return { toolsCalled: true, content: null, calls };
  } catch (e) {
    if (e instanceof JsonDecodeError || e instanceof SyntaxError) return asText(text); // (not calls: the reply is text)
    throw e;
  }
}

/**
 * The calls of a reply held to tool_choice "required" (vLLM's schema: a JSON list of {"name": ...,
 * "parameters": {...}}), each with its parameters as Python's json.dumps writes them; null where
 * the reply is not such a list (cut short by max_tokens).
 */
export function requiredToolCalls(text: string): ParsedToolCall[] | null {
  try {
    const list = loads(text);
    if (!Array.isArray(list) || !list.length) return null;
    return list.map((item) => call(item, ['parameters']));
  } catch (e) {
    if (e instanceof JsonDecodeError) return null;
    throw e;
  }
}

/**
 * While a reply streams, how much of it may be sent as text: up to where a call may begin (hermes:
 * its first <tool_call>; llama3_json: its first '{' or <|python_tag|>), not an ending that may
 * begin the tag either. The rest waits for the end, when extractToolCalls decides: calls, or more
 * text. (A streamed llama3_json reply keeps the text before its calls, which vLLM's whole reply drops.)
 */
export function textBeforeToolCalls(parser: ToolCallParser, text: string): number {
  const tag = parser === 'hermes' ? HERMES_START : PYTHON_TAG;
  const starts = [text.indexOf(tag), parser === 'hermes' ? -1 : text.indexOf('{')].filter((i) => i >= 0);
  return starts.length ? Math.min(...starts) : text.length - heldEnding(text, [tag]);
}
