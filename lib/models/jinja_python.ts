// @huggingface/jinja made to render as Jinja2 (what transformers runs) where the two differ and
// chat templates can tell: ==, !=, ~, * and string order, Python's string methods, values printed
// as Python's str(). Patched into the engine's Interpreter and value classes once, on import;
// found and checked by random templates against Jinja2 (test/chat.test.ts).
import { Environment, Interpreter } from '@huggingface/jinja';

// Jinja's == and != are Python's: @huggingface/jinja compares with JavaScript's loose ==, so
// '' == false and ' ' == false held, and Llama 2's and Mistral's `system_message != false` dropped
// an empty system prompt's <<SYS>> block that transformers renders. Here: numbers and booleans by
// value (True == 1, as Python's bool is an int), strings with strings, lists and dicts item by item,
// none equal to another kind; the operands are evaluated once, as before.
interface JinjaValue { type: string; value: unknown; __bool__(): JinjaValue }
type Evaluator = { evaluate(node: unknown, env: unknown): JinjaValue; evaluateBinaryExpression(node: { operator: { value: string }; left: unknown; right: unknown }, env: unknown): JinjaValue };
/** The engine's value for a JavaScript value (its value classes are not exported: they are found from these). */
function engineValue(v: unknown): JinjaValue & { builtins: Map<string, JinjaValue> } {
  const env = new Environment();
  env.set('v', v);
  return env.lookupVariable('v') as unknown as JinjaValue & { builtins: Map<string, JinjaValue> };
}
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
const BooleanValue = engineValue(true).constructor as new (v: boolean) => JinjaValue;
const StringValue = engineValue('').constructor as new (v: string) => JinjaValue;
const FunctionValue = engineValue('').builtins.get('upper')!.constructor as new (f: (args: JinjaValue[]) => JinjaValue) => JinjaValue;

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
const jinjaTitle = (s: string): string => s.split(/([-\s({[<]+)/).filter(Boolean).map(pyCapitalize).join('');
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
for (const value of [true, null, [], { k: 1 }]) {
  (Object.getPrototypeOf(engineValue(value)) as { toString(): string }).toString = function (this: JinjaValue) { return pyStr(this); };
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
  const engineOp = () => looseBinary.call(this, { ...node, left: literalOf(left), right: literalOf(right) }, env);
  if (op === '==' || op === '!=') return new BooleanValue(pythonEquals(left, right) === (op === '=='));
  if (op === '~') return new StringValue(pyStr(left) + pyStr(right)); // (Jinja's ~ joins the values' str())
  if (op === '*') {
    // 'ab' * 2 (the engine has no string repetition)
    const [text, times] = left.type === 'StringValue' ? [left, right] : [right, left];
    if (text.type !== 'StringValue' || times.type !== 'IntegerValue') return engineOp();
    return new StringValue((text.value as string).repeat(Math.max(0, times.value as number)));
  }
  // '<', '>', '<=', '>=' between strings: by code points, as Python (the engine compares numbers only)
  if (left.type !== 'StringValue' || right.type !== 'StringValue') return engineOp();
  const order = compareCodePoints(left.value as string, right.value as string);
  return new BooleanValue(op === '<' ? order < 0 : op === '>' ? order > 0 : op === '<=' ? order <= 0 : order >= 0);
};
