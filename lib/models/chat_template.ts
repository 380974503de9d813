// Chat templates as Hugging Face's apply_chat_template renders them: the model folder's Jinja
// template (tokenizer_config.json's chat_template, or chat_template.jinja) run by
// @huggingface/jinja (transformers.js's engine: trim_blocks and lstrip_blocks as transformers
// sets them, raise_exception, tojson, strftime_now), with the tokenizer's special tokens as
// variables. Tested against transformers' rendering (scripts/reference/chat_ref.py).
import { Environment, Interpreter, Template } from '@huggingface/jinja';

/** One turn of a conversation: a role (system, user, assistant, tool) and its content. */
export interface ChatMessage {
  role: string;
  content?: string | { type: string; text?: string; [k: string]: unknown }[] | null;
  [k: string]: unknown;
}

export interface ChatTemplateOptions {
  /** End with the header that starts the assistant's reply (HF's add_generation_prompt). */
  addGenerationPrompt?: boolean;
  /** Leave the last message open, to be continued (HF's continue_final_message): a prefill. */
  continueFinalMessage?: boolean;
  /** Tool schemas for templates that describe tools (HF's tools). */
  tools?: Record<string, unknown>[];
  /** Documents for retrieval templates (HF's documents). */
  documents?: Record<string, unknown>[];
  /** Further template variables (HF's **kwargs; e.g. enable_thinking). */
  kwargs?: Record<string, unknown>;
}

// Jinja's == and != are Python's: @huggingface/jinja compares with JavaScript's loose ==, so
// '' == false and ' ' == false held, and Llama 2's and Mistral's `system_message != false` dropped
// an empty system prompt's <<SYS>> block that transformers renders. Here: numbers and booleans by
// value (True == 1, as Python's bool is an int), strings with strings, lists and dicts item by item,
// none equal to another kind; the operands are evaluated once, as before.
interface JinjaValue { type: string; value: unknown; __bool__(): JinjaValue }
function pythonEquals(a: JinjaValue, b: JinjaValue): boolean {
  const numeric = (v: JinjaValue) => v.type === 'IntegerValue' || v.type === 'FloatValue' || v.type === 'BooleanValue';
  if (numeric(a) && numeric(b)) return Number(a.value) === Number(b.value);
  const sequence = (v: JinjaValue) => v.type === 'ArrayValue' || v.type === 'TupleValue';
  if (sequence(a) || sequence(b)) {
    if (a.type !== b.type) return false;
    const x = a.value as JinjaValue[], y = b.value as JinjaValue[];
    return x.length === y.length && x.every((v, i) => pythonEquals(v, y[i]));
  }
  if (a.type !== b.type) return false;
  if (a.type === 'ObjectValue') {
    const x = a.value as Map<string, JinjaValue>, y = b.value as Map<string, JinjaValue>;
    return x.size === y.size && [...x].every(([k, v]) => y.has(k) && pythonEquals(v, y.get(k)!));
  }
  return a.value === b.value; // (strings; None and Undefined each equal to their own kind)
}
// (the engine's value classes, which it does not export, from values it makes)
const [BooleanValue, StringValue, FunctionValue] = (() => {
  const env = new Environment();
  env.set('x', 1);
  env.set('s', '');
  const str = env.lookupVariable('s') as unknown as JinjaValue & { builtins: Map<string, JinjaValue> };
  return [(env.lookupVariable('x') as unknown as JinjaValue).__bool__().constructor, str.constructor, str.builtins.get('upper')!.constructor] as
    [new (v: boolean) => JinjaValue, new (v: string) => JinjaValue, new (f: (args: JinjaValue[]) => JinjaValue) => JinjaValue];
})();

// Python's string methods where @huggingface/jinja's differ: strip / lstrip / rstrip take the
// characters to strip (Qwen's templates: content.lstrip('\n'); the engine stripped all whitespace
// whatever it was given); title() starts each run of cased letters ('a,b'.title() is 'A,B') and
// lowers the rest, capitalize() lowers the rest; Jinja's title filter splits words at spaces, -, (,
// {, [ and < only (jinja2's do_title). Checked against Jinja2 by random templates.
const stripChars = (s: string, chars: unknown, start: boolean, end: boolean): string => {
  if (chars === undefined || chars === null) return start && end ? s.trim() : start ? s.trimStart() : s.trimEnd();
  const set = new Set(String(chars));
  const cs = [...s];
  let a = 0, b = cs.length;
  if (start) while (a < b && set.has(cs[a])) a++;
  if (end) while (b > a && set.has(cs[b - 1])) b--;
  return cs.slice(a, b).join('');
};
const cased = (c: string) => c.toLowerCase() !== c.toUpperCase();
const pyTitle = (s: string): string => {
  let out = '', prevCased = false;
  for (const c of s) {
    out += prevCased ? c.toLowerCase() : c.toUpperCase();
    prevCased = cased(c);
  }
  return out;
};
const pyCapitalize = (s: string): string => { const cs = [...s]; return cs.length ? cs[0].toUpperCase() + cs.slice(1).join('').toLowerCase() : ''; };
const jinjaTitle = (s: string): string => s.split(/([-\s({[<]+)/).filter(Boolean).map((w) => { const cs = [...w]; return cs[0].toUpperCase() + cs.slice(1).join('').toLowerCase(); }).join('');
const stringProto = StringValue.prototype as unknown as { builtins: Map<string, JinjaValue> };
const engineBuiltins = Object.getOwnPropertyDescriptor(stringProto, 'builtins')!.get!;
const pythonBuiltins = new WeakSet<Map<string, JinjaValue>>();
Object.defineProperty(stringProto, 'builtins', {
  get(this: JinjaValue) {
    const m = engineBuiltins.call(this) as Map<string, JinjaValue>;
    if (!pythonBuiltins.has(m)) {
      const s = this.value as string;
      const strip = (start: boolean, end: boolean) => new FunctionValue((args) => new StringValue(stripChars(s, args[0]?.value, start, end)));
      m.set('strip', strip(true, true)).set('lstrip', strip(true, false)).set('rstrip', strip(false, true));
      m.set('title', new FunctionValue(() => new StringValue(pyTitle(s)))).set('capitalize', new FunctionValue(() => new StringValue(pyCapitalize(s))));
      pythonBuiltins.add(m);
    }
    return m;
  },
});
// Values as Python's str() writes them, where the engine writes JavaScript's or JSON: True,
// False and None printed ({{ flag }}, ~, | string, | join), lists and dicts as their repr.
const pyStrRepr = (s: string): string => {
  const q = s.includes("'") && !s.includes('"') ? '"' : "'";
  const escaped = s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t');
  return q + (q === "'" ? escaped.replace(/'/g, "\\'") : escaped) + q;
};
function pyRepr(v: JinjaValue): string {
  switch (v.type) {
    case 'StringValue': return pyStrRepr(v.value as string);
    case 'ArrayValue': return `[${(v.value as JinjaValue[]).map(pyRepr).join(', ')}]`;
    case 'TupleValue': { const items = (v.value as JinjaValue[]).map(pyRepr); return `(${items.join(', ')}${items.length === 1 ? ',' : ''})`; }
    case 'ObjectValue': return `{${[...(v.value as Map<string, JinjaValue>)].map(([k, x]) => `${pyStrRepr(k)}: ${pyRepr(x)}`).join(', ')}}`;
    default: return pyStr(v);
  }
}
function pyStr(v: JinjaValue): string {
  switch (v.type) {
    case 'StringValue': return v.value as string;
    case 'BooleanValue': return v.value ? 'True' : 'False';
    case 'NullValue': return 'None';
    case 'UndefinedValue': return '';
    case 'ArrayValue': case 'TupleValue': case 'ObjectValue': return pyRepr(v);
    default: return String(v);
  }
}
{
  const env = new Environment();
  for (const [name, value] of [['b', true], ['n', null], ['a', []], ['o', { k: 1 }]] as const) {
    env.set(name, value);
    (Object.getPrototypeOf(env.lookupVariable(name)) as { toString(): string }).toString = function (this: JinjaValue) { return pyStr(this); };
  }
}
// {{ none }} prints None, as Jinja2's str(None) (a tool call's message.content of null, unguarded):
// the engine left out every null, statements' results and expressions' alike.
const STATEMENTS = new Set(['Program', 'If', 'For', 'Break', 'Continue', 'Set', 'Macro', 'Comment', 'FilterStatement', 'CallStatement']);
type BlockEvaluator = Evaluator & { evaluateBlock(statements: { type: string }[], env: unknown): JinjaValue };
(Interpreter.prototype as unknown as BlockEvaluator).evaluateBlock = function (this: BlockEvaluator, statements, env) {
  let result = '';
  for (const statement of statements) {
    const value = this.evaluate(statement, env);
    if (value.type === 'UndefinedValue' || (value.type === 'NullValue' && STATEMENTS.has(statement.type))) continue;
    result += value.toString();
  }
  return new StringValue(result);
};
const STR_FILTERS = new Set(['trim', 'upper', 'lower', 'title', 'capitalize', 'replace']);
type FilterApplier = {
  applyFilter(operand: JinjaValue, filter: { type: string; value?: unknown; callee?: { type: string; value: unknown }; args?: unknown[] }, env: unknown): JinjaValue;
  evaluateArguments(args: unknown[], env: unknown): [JinjaValue[], Map<string, JinjaValue>];
};
const engineFilter = (Interpreter.prototype as unknown as FilterApplier).applyFilter;
(Interpreter.prototype as unknown as FilterApplier).applyFilter = function (this: FilterApplier, operand, filter, env) {
  const name = filter.type === 'Identifier' ? filter.value : filter.type === 'CallExpression' && filter.callee?.type === 'Identifier' ? filter.callee.value : undefined;
  // (Jinja's string filters take any value's str(): None | trim is 'None', as Gemma's template gives a null content)
  if (STR_FILTERS.has(name as string) && ['NullValue', 'BooleanValue', 'IntegerValue', 'FloatValue'].includes(operand.type)) operand = new StringValue(pyStr(operand));
  if (name === 'title' && operand.type === 'StringValue' && filter.type === 'Identifier') return new StringValue(jinjaTitle(operand.value as string));
  if (name === 'string' && filter.type === 'Identifier') return new StringValue(pyStr(operand));
  if (name === 'join' && (operand.type === 'ArrayValue' || operand.type === 'TupleValue')) {
    const [args, kwargs] = filter.type === 'CallExpression' ? this.evaluateArguments(filter.args ?? [], env) : [[], new Map<string, JinjaValue>()];
    if (!kwargs.has('attribute')) {
      const separator = args[0] ?? kwargs.get('d') ?? new StringValue('');
      if (separator.type === 'StringValue') return new StringValue((operand.value as JinjaValue[]).map(pyStr).join(separator.value as string));
    }
  }
  return engineFilter.call(this, operand, filter, env);
};
type Evaluator = { evaluate(node: unknown, env: unknown): JinjaValue; evaluateBinaryExpression(node: { operator: { value: string }; left: unknown; right: unknown }, env: unknown): JinjaValue };
const PYTHON_OPERATORS = new Set(['==', '!=', '*', '<', '>', '<=', '>=', '~']);
/** An evaluated operand as a node that evaluates to it (the engine's own operators get it without evaluating it twice). */
const literalOf = (value: JinjaValue) => ({ type: 'Evaluated', value });
const compareCodePoints = (a: string, b: string): number => {
  const x = [...a], y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i].codePointAt(0)! - y[i].codePointAt(0)!;
  return x.length - y.length;
};
const engineEvaluate = (Interpreter.prototype as unknown as Evaluator).evaluate;
(Interpreter.prototype as unknown as Evaluator).evaluate = function (this: Evaluator, node, env) {
  return (node as { type?: string } | null)?.type === 'Evaluated' ? (node as { value: JinjaValue }).value : engineEvaluate.call(this, node, env);
};
const looseBinary = (Interpreter.prototype as unknown as Evaluator).evaluateBinaryExpression;
(Interpreter.prototype as unknown as Evaluator).evaluateBinaryExpression = function (this: Evaluator, node, env) {
  const op = node.operator.value;
  if (!PYTHON_OPERATORS.has(op)) return looseBinary.call(this, node, env);
  const left = this.evaluate(node.left, env), right = this.evaluate(node.right, env);
  if (op === '==' || op === '!=') return new BooleanValue(pythonEquals(left, right) === (op === '=='));
  if (op === '~') return new StringValue(pyStr(left) + pyStr(right)); // (Jinja's ~ joins the values' str())
  if (op === '*') {
    // 'ab' * 2 (the engine has no string repetition)
    const [text, times] = left.type === 'StringValue' ? [left, right] : [right, left];
    if (text.type !== 'StringValue' || times.type !== 'IntegerValue') return looseBinary.call(this, { ...node, left: literalOf(left), right: literalOf(right) }, env);
    return new StringValue((text.value as string).repeat(Math.max(0, times.value as number)));
  }
  // '<', '>', '<=', '>=' between strings: by code points, as Python (the engine compares numbers only)
  if (left.type !== 'StringValue' || right.type !== 'StringValue') return looseBinary.call(this, { ...node, left: literalOf(left), right: literalOf(right) }, env);
  const order = compareCodePoints(left.value as string, right.value as string);
  return new BooleanValue(op === '<' ? order < 0 : op === '>' ? order > 0 : op === '<=' ? order <= 0 : order >= 0);
};

const compiled = new Map<string, Template>(); // (as transformers' lru_cache: one parse per template, the 128 used last)

/** A rendering and where its {% generation %} blocks are (transformers' generation_indices), as [start, end) string indices. */
export interface RenderedChat {
  text: string;
  generationSpans: [number, number][];
}

// transformers renders `{% generation %} ... {% endgeneration %}` (the assistant's part, for
// return_assistant_tokens_mask) by an extension that records where each block's output starts and
// ends. Here the tags become a call block (what the extension parses them into), same whitespace
// controls, whose macro puts two noncharacters around the block's output; they are taken out after.
const GENERATION_TAG = /\{%(-?)\s*generation\s*(-?)%\}/g, END_GENERATION_TAG = /\{%(-?)\s*endgeneration\s*(-?)%\}/g;
const OPEN_MARK = '\uFDD0', CLOSE_MARK = '\uFDD1';
// (the definition ends with a block tag and a newline, which trim_blocks eats: the template's first line stays a line start)
const GENERATION_MACRO = `{% macro __tstorch_generation() %}${OPEN_MARK}{{ caller() }}${CLOSE_MARK}{% endmacro %}\n`;

/** Whether a template marks the assistant's output with {% generation %} blocks (TRL's has_generation_markers). */
export function hasGenerationMarkers(template: string): boolean {
  return /\{%-?\s*generation\s*-?%\}/.test(template);
}

function compile(template: string): Template {
  let t = compiled.get(template);
  if (t) {
    compiled.delete(template);
    compiled.set(template, t);
    return t;
  }
  let source = template;
  if (hasGenerationMarkers(template)) {
    source = GENERATION_MACRO + template.replace(GENERATION_TAG, '{%$1 call __tstorch_generation() $2%}').replace(END_GENERATION_TAG, '{%$1 endcall $2%}');
  }
  try {
    t = new Template(source);
  } catch (e) {
    throw new Error(`chat template: not a template this engine can read (${(e as Error).message})`);
  }
  if (compiled.size >= 128) compiled.delete(compiled.keys().next().value!); // (the one used longest ago: a hit moves its entry last)
  compiled.set(template, t);
  return t;
}

/** The rendering without the generation marks, and the [start, end) of each marked block in it (nested blocks inside out, as recorded). */
function takeOutMarks(marked: string): RenderedChat {
  const spans: [number, number][] = [], open: number[] = [];
  let text = '';
  let from = 0;
  for (let i = 0; i < marked.length; i++) {
    const c = marked[i];
    if (c !== OPEN_MARK && c !== CLOSE_MARK) continue;
    text += marked.slice(from, i);
    from = i + 1;
    if (c === OPEN_MARK) open.push(text.length);
    else spans.push([open.pop()!, text.length]);
  }
  return { text: text + marked.slice(from), generationSpans: spans };
}

// (transformers marks the final message's end with this, then cuts the rendering there)
const CONTINUE_TAG = 'CONTINUE_FINAL_MESSAGE_TAG ';

/**
 * A conversation rendered by `template` as transformers' apply_chat_template(conversation,
 * tokenize=False, ...): `special` are the tokenizer's special tokens by name (bos_token,
 * eos_token, ...), passed as variables with the options' kwargs over them.
 */
export function renderChatTemplate(template: string, messages: ChatMessage[], special: Record<string, string> = {}, opts: ChatTemplateOptions = {}): string {
  return renderChatTemplateSpans(template, messages, special, opts).text;
}

/**
 * renderChatTemplate, and where the template's {% generation %} blocks put their output: the
 * spans transformers' apply_chat_template(..., return_assistant_tokens_mask=True) turns into the
 * assistant mask. As there, they are positions in the whole rendering, before a continued final
 * message is cut off (a span may reach past the text's end).
 */
export function renderChatTemplateSpans(template: string, messages: ChatMessage[], special: Record<string, string> = {}, opts: ChatTemplateOptions = {}): RenderedChat {
  if (!Array.isArray(messages) || !messages.length) throw new Error('chat template: cannot apply a chat template to an empty conversation; give at least one message');
  for (const [i, m] of messages.entries()) {
    if (m === null || typeof m !== 'object' || typeof m.role !== 'string') throw new Error(`chat template: message ${i} is not a {role, content} object: ${JSON.stringify(m)}`);
  }
  if (opts.continueFinalMessage && opts.addGenerationPrompt) {
    throw new Error('chat template: continueFinalMessage and addGenerationPrompt do not go together: continue the final message, or start a new assistant one');
  }
  let chat = messages;
  let finalText = '';
  if (opts.continueFinalMessage) {
    chat = structuredClone(messages);
    const last = chat[chat.length - 1];
    if (last.content === undefined || last.content === null) throw new Error('chat template: continueFinalMessage, but the final message has no content to continue');
    if (!template.includes('content')) throw new Error('chat template: continueFinalMessage, but the template does not use the messages\' content');
    if (Array.isArray(last.content)) {
      const block = [...last.content].reverse().find((b) => typeof b.text === 'string');
      if (!block) throw new Error('chat template: continueFinalMessage, but the final message has no text to continue');
      finalText = block.text!;
      block.text = finalText + CONTINUE_TAG;
    } else {
      finalText = String(last.content);
      last.content = finalText + CONTINUE_TAG;
    }
  }
  const t = compile(template);
  // (only a template with generation blocks has marks to take out; its inputs must not hold them)
  const marked = hasGenerationMarkers(template);
  if (marked) {
    const inputs = JSON.stringify([messages, special, opts.kwargs, opts.tools, opts.documents]) ?? '';
    if (inputs.includes(OPEN_MARK) || inputs.includes(CLOSE_MARK)) throw new Error('chat template: the conversation holds the noncharacters U+FDD0 / U+FDD1, which mark generation blocks here; take them out');
  }
  let rendered: string, generationSpans: [number, number][];
  try {
    const out = t.render({
      ...special, ...opts.kwargs,
      messages: chat, tools: opts.tools ?? null, documents: opts.documents ?? null, add_generation_prompt: Boolean(opts.addGenerationPrompt),
    });
    ({ text: rendered, generationSpans } = marked ? takeOutMarks(out) : { text: out, generationSpans: [] });
  } catch (e) {
    throw new Error(`chat template: ${(e as Error).message}`);
  }
  if (opts.continueFinalMessage) {
    const tag = CONTINUE_TAG.trim();
    if (!rendered.includes(finalText.trim()) || !rendered.includes(tag)) {
      throw new Error('chat template: continueFinalMessage, but the final message does not appear in the rendering (the template changes it)');
    }
    const at = rendered.lastIndexOf(tag);
    rendered = rendered.slice(at, at + CONTINUE_TAG.length) === CONTINUE_TAG ? rendered.slice(0, at) : rendered.slice(0, at).trimEnd();
  }
  return { text: rendered, generationSpans };
}
