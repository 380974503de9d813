// @huggingface/jinja made to render as Jinja2 (what transformers runs) where the two differ and
// chat templates can tell: values printed as Python's str() writes them, Python's operators
// (==, !=, +, %, /, ~, * and order), attributes of undefined values, strings indexed by code
// point, the loop's cycle(). Patched into the engine's Interpreter and value classes once, on
// import; the filters, tests and string methods are in jinja_filters.ts. Found and checked by
// random templates against Jinja2 (test/chat.test.ts).
import { Environment, Interpreter, Template, parse, tokenize } from '@huggingface/jinja';

export interface JinjaValue { type: string; value: unknown; __bool__(): JinjaValue; toString(): string }
type ValueClass<T = unknown> = new (v: T) => JinjaValue;
/** The engine's value for a JavaScript value (its value classes are not exported: they are found from these). */
export function engineValue(v: unknown): JinjaValue & { builtins: Map<string, JinjaValue> } {
  const env = new Environment();
  env.set('v', v);
  return env.lookupVariable('v') as unknown as JinjaValue & { builtins: Map<string, JinjaValue> };
}
const ArrayClass = engineValue([]).constructor as ValueClass<JinjaValue[]>;
/** The engine's value classes, by Python's type. */
export const Py = {
  int: engineValue(1).constructor as ValueClass<number>,
  float: engineValue(0.5).constructor as ValueClass<number>,
  bool: engineValue(true).constructor as ValueClass<boolean>,
  str: engineValue('').constructor as ValueClass<string>,
  list: ArrayClass,
  // (a tuple is the engine's TupleValue: an array that prints and compares as a tuple)
  tuple: class extends ArrayClass { type = 'TupleValue'; } as ValueClass<JinjaValue[]>,
  dict: engineValue({}).constructor as ValueClass<Map<string, JinjaValue>>,
  none: engineValue(null).constructor as ValueClass<null>,
  undefined: new Environment().lookupVariable('nothing').constructor as ValueClass<undefined>,
  function: engineValue('').builtins.get('upper')!.constructor as ValueClass<(args: JinjaValue[], env?: unknown) => JinjaValue>,
};
/** Python's range: its numbers as a list's (to loop, index, measure), printed as range(start, stop[, step]). */
export class PyRange extends (ArrayClass as unknown as new (v: JinjaValue[]) => JinjaValue) {
  constructor(readonly start: number, readonly stop: number, readonly step: number) {
    const items: JinjaValue[] = [];
    for (let i = start; step > 0 ? i < stop : i > stop; i += step) items.push(new Py.int(i));
    super(items);
  }
}
export const isNumber = (v: JinjaValue) => v.type === 'IntegerValue' || v.type === 'FloatValue' || v.type === 'BooleanValue';
export const isSequence = (v: JinjaValue) => v.type === 'ArrayValue' || v.type === 'TupleValue';
const PY_TYPE_NAMES: Record<string, string> = {
  StringValue: 'str', IntegerValue: 'int', FloatValue: 'float', BooleanValue: 'bool', ArrayValue: 'list', TupleValue: 'tuple',
  ObjectValue: 'dict', KeywordArgumentsValue: 'dict', NullValue: 'NoneType', UndefinedValue: 'Undefined', FunctionValue: 'function', NamespaceValue: 'Namespace',
};
/** Python's name of a value's type, for messages worded as Python's. */
export const pyTypeName = (v: JinjaValue) => PY_TYPE_NAMES[v.type] ?? v.type;

/** Python's whitespace (str.isspace, re's \\s), for a regex class: JavaScript's lacks \\x1c-\\x1f and \\x85, and has \\ufeff. */
export const PY_SPACE = '\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
export const LEADING_PY_SPACE = new RegExp(`^[${PY_SPACE}]+`), TRAILING_PY_SPACE = new RegExp(`[${PY_SPACE}]+$`);
/** Python's str.strip() with no argument. */
export const pyTrim = (s: string): string => s.replace(LEADING_PY_SPACE, '').replace(TRAILING_PY_SPACE, '');

// Jinja's == and != are Python's: @huggingface/jinja compares with JavaScript's loose ==, so
// '' == false and ' ' == false held, and Llama 2's and Mistral's `system_message != false` dropped
// an empty system prompt's <<SYS>> block that transformers renders. Here: numbers and booleans by
// value (True == 1, as Python's bool is an int), strings with strings, lists and dicts item by item,
// none equal to another kind.
export function pythonEquals(a: JinjaValue, b: JinjaValue): boolean {
  if (isNumber(a) && isNumber(b)) return Number(a.value) === Number(b.value);
  if (isSequence(a) || isSequence(b)) {
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
export const compareCodePoints = (a: string, b: string): number => {
  const x = [...a], y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i].codePointAt(0)! - y[i].codePointAt(0)!;
  return x.length - y.length;
};
/** Python's order (<) of two values: numbers, strings by code point, lists and tuples item by item; other pairs are Python's TypeError. */
export function pyCompare(a: JinjaValue, b: JinjaValue, op = '<'): number {
  if (isNumber(a) && isNumber(b)) return Number(a.value) < Number(b.value) ? -1 : Number(a.value) > Number(b.value) ? 1 : 0;
  if (a.type === 'StringValue' && b.type === 'StringValue') return compareCodePoints(a.value as string, b.value as string);
  if (isSequence(a) && a.type === b.type) {
    const x = a.value as JinjaValue[], y = b.value as JinjaValue[];
    for (let i = 0; i < Math.min(x.length, y.length); i++) if (!pythonEquals(x[i], y[i])) return pyCompare(x[i], y[i], op);
    return x.length - y.length;
  }
  throw new TypeError(`'${op}' not supported between instances of '${pyTypeName(a)}' and '${pyTypeName(b)}'`);
}

// Values as Python's str() writes them, where the engine writes JavaScript's or JSON: True,
// False and None ({{ flag }}, ~, | string, | join), lists and dicts as their repr, floats as
// Python's repr (1e-07, 1e+16, 1.0; JavaScript writes 1e-7, 10000000000000000, 1).
/** Python's repr() of a float: the shortest digits that read back (as JavaScript's), exponent below 1e-4 and from 1e16. */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mantissa, e] = x.toExponential().split('e'); // (no argument: as many digits as it takes to read back)
  const exp = Number(e), sign = x < 0 ? '-' : '';
  const digits = mantissa.replace(/[-.]/g, '');
  if (exp < -4 || exp >= 16) return `${sign}${digits[0]}${digits.length > 1 ? '.' + digits.slice(1) : ''}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  if (digits.length <= exp + 1) return `${sign}${digits}${'0'.repeat(exp + 1 - digits.length)}.0`;
  return `${sign}${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
}
// (repr escapes what Python does not print: controls, formats, separators and spaces but ' ', unassigned code points)
const NOT_PRINTABLE = /(?! )[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/gu;
const pyStrRepr = (s: string): string => {
  const q = s.includes("'") && !s.includes('"') ? '"' : "'";
  const escaped = s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t').replace(NOT_PRINTABLE, (c) => {
    const code = c.codePointAt(0)!;
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : code < 0x10000 ? `\\u${code.toString(16).padStart(4, '0')}` : `\\U${code.toString(16).padStart(8, '0')}`;
  });
  return q + (q === "'" ? escaped.replace(/'/g, "\\'") : escaped) + q;
};
export function pyRepr(v: JinjaValue): string {
  switch (v.type) {
    case 'StringValue': return pyStrRepr(v.value as string);
    case 'ArrayValue': return v instanceof PyRange ? `range(${v.start}, ${v.stop}${v.step === 1 ? '' : `, ${v.step}`})` : `[${(v.value as JinjaValue[]).map(pyRepr).join(', ')}]`;
    case 'TupleValue': { const items = (v.value as JinjaValue[]).map(pyRepr); return `(${items.join(', ')}${items.length === 1 ? ',' : ''})`; }
    case 'ObjectValue': return `{${[...(v.value as Map<string, JinjaValue>)].map(([k, x]) => `${pyStrRepr(k)}: ${pyRepr(x)}`).join(', ')}}`;
    case 'UndefinedValue': return 'Undefined';
    default: return pyStr(v);
  }
}
export function pyStr(v: JinjaValue): string {
  switch (v.type) {
    case 'StringValue': return v.value as string;
    case 'BooleanValue': return v.value ? 'True' : 'False';
    case 'NullValue': return 'None';
    case 'UndefinedValue': return '';
    case 'FloatValue': return pyFloatRepr(v.value as number);
    case 'ArrayValue': case 'TupleValue': case 'ObjectValue': return pyRepr(v);
    default: return String(v.value);
  }
}
for (const value of [true, null, [], { k: 1 }, 0.5]) {
  (Object.getPrototypeOf(engineValue(value)) as { toString(): string }).toString = function (this: JinjaValue) { return pyStr(this); };
}
Object.defineProperty(Py.tuple.prototype, 'toString', { value(this: JinjaValue) { return pyStr(this); } });

// {{ none }} prints None, as Jinja2's str(None) (a tool call's message.content of null, unguarded):
// the engine left out every null, statements' results and expressions' alike.
const STATEMENTS = new Set(['Program', 'If', 'For', 'Break', 'Continue', 'Set', 'Macro', 'Comment', 'FilterStatement', 'CallStatement']);
type Node = { type: string; [k: string]: unknown };
type Engine = {
  evaluate(node: unknown, env: unknown): JinjaValue;
  evaluateBlock(statements: Node[], env: unknown): JinjaValue;
  evaluateBinaryExpression(node: { operator: { value: string }; left: unknown; right: unknown }, env: unknown): JinjaValue;
  evaluateMemberExpression(node: { object: Node; property: Node; computed: boolean }, env: unknown): JinjaValue;
};
const engine = Interpreter.prototype as unknown as Engine;
engine.evaluateBlock = function (this: Engine, statements, env) {
  let result = '';
  for (const statement of statements) {
    const value = this.evaluate(statement, env);
    if (value.type === 'UndefinedValue' || (value.type === 'NullValue' && STATEMENTS.has(statement.type))) continue;
    result += value.toString();
  }
  return new Py.str(result);
};

/** An evaluated value as a node that evaluates to it (the engine's own code gets it without evaluating it twice). */
export const literalOf = (value: JinjaValue) => ({ type: 'Evaluated', value });
const engineEvaluate = engine.evaluate;
engine.evaluate = function (this: Engine, node, env) {
  return (node as { type?: string } | null)?.type === 'Evaluated' ? (node as { value: JinjaValue }).value : engineEvaluate.call(this, node, env);
};

/** Python's `fmt % args` for %s, %r, %d, %i, %f, %e, %x, %o, %c and %% with flags, width and precision. */
export function pyPercentFormat(fmt: string, args: JinjaValue): string {
  const positional = args.type === 'TupleValue' ? [...(args.value as JinjaValue[])] : args.type === 'ObjectValue' ? [] : [args];
  const named = args.type === 'ObjectValue' ? args.value as Map<string, JinjaValue> : undefined;
  let used = 0;
  const out = fmt.replace(/%(?:\(([^)]*)\))?([-+ 0#]*)(\d+|\*)?(?:\.(\d+))?([a-zA-Z%])/g, (spec, name: string | undefined, flags: string, width: string | undefined, precision: string | undefined, conversion: string) => {
    if (conversion === '%') return '%';
    const take = (): JinjaValue => {
      if (name !== undefined) {
        if (!named?.has(name)) throw new Error(`KeyError: '${name}' (in the format ${pyStrRepr(fmt)})`);
        return named.get(name)!;
      }
      if (used >= positional.length) throw new TypeError('not enough arguments for format string');
      return positional[used++];
    };
    const w = width === '*' ? Number(take().value) : Number(width ?? 0);
    const v = take();
    let body: string;
    const num = () => {
      if (!isNumber(v)) throw new TypeError(`%${conversion} format: a real number is required, not ${pyTypeName(v)}`);
      return Number(v.value);
    };
    switch (conversion) {
      case 's': body = pyStr(v); break;
      case 'r': case 'a': body = pyRepr(v); break;
      case 'd': case 'i': case 'u': body = String(Math.trunc(num())); break;
      case 'f': case 'F': body = num().toFixed(precision === undefined ? 6 : Number(precision)); break;
      case 'e': case 'E': {
        const [m, e] = num().toExponential(precision === undefined ? 6 : Number(precision)).split('e');
        body = `${m}e${e[0]}${e.slice(1).padStart(2, '0')}`;
        if (conversion === 'E') body = body.toUpperCase();
        break;
      }
      case 'x': case 'X': case 'o': body = Math.trunc(num()).toString(conversion === 'o' ? 8 : 16); if (conversion === 'X') body = body.toUpperCase(); break;
      case 'c': body = v.type === 'StringValue' ? v.value as string : String.fromCodePoint(num()); break;
      default: throw new Error(`unsupported format character '${conversion}' in ${pyStrRepr(fmt)} (here: %s %r %d %i %f %e %x %o %c)`);
    }
    if (precision !== undefined && 'sra'.includes(conversion)) body = [...body].slice(0, Number(precision)).join('');
    if ('diufFeExXo'.includes(conversion) && !body.startsWith('-')) body = (flags.includes('+') ? '+' : flags.includes(' ') ? ' ' : '') + body;
    const pad = w - [...body].length;
    if (pad <= 0) return body;
    if (flags.includes('-')) return body + ' '.repeat(pad);
    if (flags.includes('0') && 'diufFeExXo'.includes(conversion)) {
      const sign = /^[-+ ]/.test(body) ? body[0] : '';
      return sign + '0'.repeat(pad) + body.slice(sign.length);
    }
    return ' '.repeat(pad) + body;
  });
  if (named === undefined && used < positional.length) throw new TypeError('not all arguments converted during string formatting');
  return out;
}

/** Python's divmod of two numbers: the floor of the exact quotient (float // rounds -7 // 1e-7 to -70000001.0, not -7e7) and the remainder with b's sign. */
function pyDivmod(a: number, b: number): [number, number] {
  let mod = a % b; // (fmod, exact)
  let div = (a - mod) / b;
  if (mod) {
    if ((b < 0) !== (mod < 0)) { mod += b; div -= 1; }
  } else mod = b < 0 ? -0 : 0;
  let floordiv: number;
  if (div) {
    floordiv = Math.floor(div);
    if (div - floordiv > 0.5) floordiv += 1;
  } else floordiv = a / b < 0 || Object.is(a / b, -0) ? -0 : 0; // (copysign(0, a / b))
  return [floordiv, mod];
}

// Python's operators where the engine's differ: == and != (above); ~ joins str()s; + adds numbers
// and joins two strings, two lists or two tuples (anything else is Python's TypeError: the engine
// joined 'a' + 1 and 'a' + [..], so a list-of-parts content went into a prompt as its repr);
// 'ab' * 2 and [x] * 2 repeat; % is the remainder with the divisor's sign, or string formatting;
// /, //, % by zero are errors (the engine gave Infinity); strings are ordered by code point;
// `in` compares items as ==.
const PYTHON_OPERATORS = new Set(['==', '!=', '*', '<', '>', '<=', '>=', '~', '+', '-', '**', '/', '//', '%', 'in', 'not in']);
// (Python's bool is an int: True + 1 is 2, 2 * (x is defined) counts)
const NUMERIC_OPERATORS = new Set(['+', '-', '*', '**', '/', '//', '%', '<', '>', '<=', '>=']);
const boolAsInt = (v: JinjaValue) => (v.type === 'BooleanValue' ? new Py.int(v.value ? 1 : 0) : v);
// (an int has no -0: the engine's -(0) and 0 * -1 made one, and 0.0 * it printed -0.0)
const noNegativeZero = (v: JinjaValue) => (v.type === 'IntegerValue' && Object.is(v.value, -0) ? new Py.int(0) : v);
const unaryEngine = engine as unknown as { evaluateUnaryExpression(node: unknown, env: unknown): JinjaValue };
const engineUnary = unaryEngine.evaluateUnaryExpression;
unaryEngine.evaluateUnaryExpression = function (this: Engine, node, env) { return noNegativeZero(engineUnary.call(this, node, env)); };
const engineBinary = engine.evaluateBinaryExpression;
engine.evaluateBinaryExpression = function (this: Engine, node, env) {
  const op = node.operator.value;
  if (!PYTHON_OPERATORS.has(op)) return engineBinary.call(this, node, env);
  const left = this.evaluate(node.left, env), right = this.evaluate(node.right, env);
  const engineOp = () => noNegativeZero(engineBinary.call(this, { ...node, left: literalOf(left), right: literalOf(right) }, env));
  const str = (v: JinjaValue) => v.type === 'StringValue';
  if (NUMERIC_OPERATORS.has(op) && isNumber(left) && isNumber(right) && (left.type === 'BooleanValue' || right.type === 'BooleanValue')) {
    return engine.evaluateBinaryExpression.call(this, { ...node, left: literalOf(boolAsInt(left)), right: literalOf(boolAsInt(right)) }, env);
  }
  switch (op) {
    case '-': case '**': return engineOp();
    case '==': case '!=': return new Py.bool(pythonEquals(left, right) === (op === '=='));
    case '~': return new Py.str(pyStr(left) + pyStr(right)); // (Jinja's ~ joins the values' str())
    case '+':
      if (left.type === 'UndefinedValue' || right.type === 'UndefinedValue') return engineOp();
      if (str(left) && str(right)) return new Py.str((left.value as string) + (right.value as string));
      if (isSequence(left) && left.type === right.type) return new (left.type === 'TupleValue' ? Py.tuple : Py.list)([...left.value as JinjaValue[], ...right.value as JinjaValue[]]);
      if (isNumber(left) && isNumber(right)) {
        const sum = Number(left.value) + Number(right.value);
        return left.type === 'FloatValue' || right.type === 'FloatValue' ? new Py.float(sum) : new Py.int(sum);
      }
      if (str(left) || isSequence(left)) throw new TypeError(`can only concatenate ${pyTypeName(left)} (not "${pyTypeName(right)}") to ${pyTypeName(left)}`);
      throw new TypeError(`unsupported operand type(s) for +: '${pyTypeName(left)}' and '${pyTypeName(right)}'`);
    case '*': {
      // 'ab' * 2, [x] * 2 (the engine has no repetition)
      const [seq, times] = isNumber(left) ? [right, left] : [left, right];
      if (times.type !== 'IntegerValue' && times.type !== 'BooleanValue') return engineOp();
      const n = Math.max(0, Number(times.value));
      if (str(seq)) return new Py.str((seq.value as string).repeat(n));
      if (isSequence(seq)) return new (seq.type === 'TupleValue' ? Py.tuple : Py.list)(Array.from({ length: n }, () => seq.value as JinjaValue[]).flat());
      return engineOp();
    }
    case '%':
      if (str(left)) return new Py.str(pyPercentFormat(left.value as string, right));
    // falls through
    case '/': case '//':
      if (isNumber(left) && isNumber(right)) {
        const a = Number(left.value), b = Number(right.value);
        if (b === 0) throw new Error(`ZeroDivisionError: ${op === '%' ? 'modulo' : 'division'} by zero`);
        const float = op === '/' || left.type === 'FloatValue' || right.type === 'FloatValue';
        if (op === '/') return new Py.float(a / b);
        const [quotient, remainder] = pyDivmod(a, b);
        const r = op === '//' ? quotient : remainder;
        return float ? new Py.float(r) : new Py.int(r || 0);
      }
      return engineOp();
    case 'in': case 'not in':
      if (isSequence(right)) return new Py.bool((right.value as JinjaValue[]).some((x) => pythonEquals(x, left)) === (op === 'in'));
      return engineOp();
    default: {
      // '<', '>', '<=', '>=' between strings: by code points, as Python (the engine compares numbers only)
      if (!str(left) || !str(right)) return engineOp();
      const order = compareCodePoints(left.value as string, right.value as string);
      return new Py.bool(op === '<' ? order < 0 : op === '>' ? order > 0 : op === '<=' ? order <= 0 : order >= 0);
    }
  }
};

// An attribute or item of an undefined value is Jinja2's UndefinedError (the engine gave another
// undefined, so `message.tool_calls[0].function.name` of a message without tool calls rendered
// as ''); a string's items are its code points, as Python's (the engine's were UTF-16 units).
const engineMember = engine.evaluateMemberExpression;
const describe = (node: Node): string => {
  if (node.type === 'Identifier') return String(node.value);
  if (node.type === 'MemberExpression') {
    const property = node.property as Node;
    return `${describe(node.object as Node)}${node.computed ? `[${property.type === 'StringLiteral' ? pyStrRepr(String(property.value)) : describe(property)}]` : `.${String(property.value)}`}`;
  }
  return String(node.value ?? node.type);
};
engine.evaluateMemberExpression = function (this: Engine, node, env) {
  const object = this.evaluate(node.object, env);
  if (object.type === 'UndefinedValue') throw new Error(`UndefinedError: '${describe(node.object)}' is undefined (reading ${describe(node as unknown as Node)})`);
  if (object.type === 'StringValue' && node.computed && node.property.type !== 'SliceExpression') {
    const index = this.evaluate(node.property, env);
    if (index.type === 'IntegerValue') {
      const chars = [...(object.value as string)];
      const i = (index.value as number) < 0 ? chars.length + (index.value as number) : index.value as number;
      return i >= 0 && i < chars.length ? new Py.str(chars[i]) : new Py.undefined(undefined);
    }
    return engineMember.call(this, { ...node, object: literalOf(object) as unknown as Node, property: literalOf(index) as unknown as Node }, env);
  }
  return engineMember.call(this, { ...node, object: literalOf(object) as unknown as Node }, env);
};

// The loop's cycle(), changed(), depth and depth0 (Jinja2's loop object; the engine's lacks them).
// changed() remembers its last values across one loop's iterations: each running for-loop has its
// own memory, on a stack (evaluateFor below pushes it).
const loopMemories: { last?: JinjaValue[]; depth?: number }[] = [];
const engineSetVariable = Environment.prototype.setVariable;
Environment.prototype.setVariable = function (this: Environment, name: string, value: unknown) {
  const loop = value as JinjaValue;
  if (name === 'loop' && loop?.type === 'ObjectValue' && loopMemories.length) {
    const fields = loop.value as Map<string, JinjaValue>, memory = loopMemories[loopMemories.length - 1];
    const index0 = fields.get('index0')?.value as number;
    const depth = memory.depth ?? 1; // (a recursive loop's level: rewriteRecursiveLoops below)
    fields.set('depth', new Py.int(depth)).set('depth0', new Py.int(depth - 1));
    fields.set('cycle', new Py.function((args) => {
      if (!args.length) throw new TypeError('no items for cycling given');
      return args[index0 % args.length];
    }));
    fields.set('changed', new Py.function((args) => {
      const same = memory.last !== undefined && memory.last.length === args.length && memory.last.every((v, i) => pythonEquals(v, args[i]));
      memory.last = args;
      return new Py.bool(!same);
    }));
  }
  // (a macro's extra positional arguments are a tuple in Jinja2: {{ varargs }} prints (1, 2))
  if (name === 'varargs' && loop?.type === 'ArrayValue') return engineSetVariable.call(this, name, new Py.tuple(loop.value as JinjaValue[]) as never);
  return engineSetVariable.call(this, name, value as never);
};

// A for-loop goes over a string's characters and over nothing for an undefined value (the
// engine refused both), and unpacks tuples (`for k, v in d.items()`) as it does lists.
type ForNode = { type: string; loopvar: Node; iterable: Node & { lhs?: Node } };
const loopEngine = engine as unknown as { evaluateFor(node: ForNode, env: unknown): JinjaValue };
const engineFor = loopEngine.evaluateFor;
loopEngine.evaluateFor = function (this: Engine, node, env) {
  const select = node.iterable.type === 'SelectExpression';
  let items = this.evaluate(select ? node.iterable.lhs : node.iterable, env);
  if (items.type === 'StringValue') items = new Py.list([...(items.value as string)].map((c) => new Py.str(c)));
  else if (items.type === 'UndefinedValue') items = new Py.list([]);
  if (isSequence(items) && node.loopvar.type === 'TupleLiteral') {
    items = new Py.list((items.value as JinjaValue[]).map((x) => (x.type === 'TupleValue' ? new Py.list(x.value as JinjaValue[]) : x)));
  }
  const evaluated = literalOf(items) as unknown as Node;
  const source = select ? node.iterable.lhs : node.iterable;
  const recursive = source?.type === 'Identifier' && source.value === RECURSIVE_ITEMS;
  loopMemories.push(recursive ? { depth: Number((env as { lookupVariable(n: string): JinjaValue }).lookupVariable(RECURSIVE_DEPTH).value) } : {});
  try {
    return engineFor.call(this, { ...node, iterable: select ? { ...node.iterable, lhs: evaluated } : evaluated }, env);
  } finally {
    loopMemories.pop();
  }
};

// A Number object (Object(2)) in a template's data stands for a Python float whose value is whole,
// 2.0: the engine takes every whole number for an int and would print 2. JSON read as Python's
// json module reads it (pythonJsonLoads: tool calls' arguments in `serve`) keeps its floats so.
const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype;
const hasFloatBox = (v: unknown): boolean => v instanceof Number || (Array.isArray(v) ? v.some(hasFloatBox) : isPlainObject(v) && Object.values(v).some(hasFloatBox));
function withFloats(v: unknown): JinjaValue {
  if (v instanceof Number) return new Py.float(v.valueOf());
  if (Array.isArray(v)) return new Py.list(v.map(withFloats));
  if (isPlainObject(v)) return new Py.dict(new Map(Object.entries(v).map(([k, x]) => [k, withFloats(x)])));
  if (typeof v === 'string') return new Py.str(v);
  if (typeof v === 'number') return Number.isInteger(v) ? new Py.int(v) : new Py.float(v);
  return engineValue(v);
}

// Jinja2's dict() global, dict(a=1) or dict(pairs) (the engine's globals lack it): set beside the
// engine's own globals, which the template's variables then shadow, as in Jinja2.
type Scope = { variables: Map<string, JinjaValue>; set(name: string, value: unknown): JinjaValue; declareVariable(name: string, value: JinjaValue): JinjaValue };
const scopeProto = Environment.prototype as unknown as Scope;
const engineSet = scopeProto.set;
scopeProto.set = function (this: Scope, name, value) {
  const result = hasFloatBox(value) ? this.declareVariable(name, withFloats(value)) : engineSet.call(this, name, value);
  if (name === 'range') {
    // Python's range(stop) / range(start, stop[, step]) of ints (the engine's took floats and
    // strings, and printed a list)
    this.variables.set('range', new Py.function((args) => {
      if (!args.length || args.length > 3) throw new TypeError(`range expected ${args.length ? 'at most 3 arguments' : 'at least 1 argument'}, got ${args.length}`);
      const ints = args.map((a) => {
        if (a.type !== 'IntegerValue' && a.type !== 'BooleanValue') throw new TypeError(`'${pyTypeName(a)}' object cannot be interpreted as an integer`);
        return Number(a.value);
      });
      const [start, stop, step] = ints.length === 1 ? [0, ints[0], 1] : [ints[0], ints[1], ints[2] ?? 1];
      if (step === 0) throw new Error('ValueError: range() arg 3 must not be zero');
      return new PyRange(start, stop, step);
    }));
    this.variables.set('dict', new Py.function((args) => {
      const entries = new Map<string, JinjaValue>();
      for (const arg of args) {
        if (arg.type === 'ObjectValue' || arg.type === 'KeywordArgumentsValue') for (const [k, v] of arg.value as Map<string, JinjaValue>) entries.set(k, v);
        else if (isSequence(arg)) for (const pair of arg.value as JinjaValue[]) { const [k, v] = pair.value as JinjaValue[]; entries.set(pyStr(k), v); }
        else throw new TypeError(`dict: '${pyTypeName(arg)}' object is not iterable`);
      }
      return new Py.dict(entries);
    }));
  }
  return result;
};

// ---- what the engine's parser does not read, rewritten in its tokens ----
// Jinja2's tests with arguments, `x is divisibleby(3)`, `x is sameas false`, `x is not in [..]`
// (the engine's parser takes a bare name only), become a filter, `x | __tstorch_test('divisibleby',
// false, 3)`: Jinja2's filters and tests bind alike, to the operand on their left. Float literals
// with an exponent (1e-07; the engine's lexer splits them) become one number.
type Token = { value: string; type: string };
const TOKEN_PROTOTYPE = Object.getPrototypeOf(tokenize('{{ x }}')[0]); // (the engine's Token class is not exported)
/** A token as the engine's lexer makes them. */
const token = (value: string, type: string): Token => Object.assign(Object.create(TOKEN_PROTOTYPE), { value, type });
const TEST_FILTER = '__tstorch_test';
const NOT_AN_ARGUMENT = new Set(['else', 'or', 'and', 'if', 'in', 'is', 'not']);
const OPENERS: Record<string, string> = { OpenParen: 'CloseParen', OpenSquareBracket: 'CloseSquareBracket', OpenCurlyBracket: 'CloseCurlyBracket' };
/** The index after the bracketed group that opens at `i`. */
function afterGroup(tokens: Token[], i: number): number {
  const stack: string[] = [];
  for (let j = i; j < tokens.length; j++) {
    if (OPENERS[tokens[j].type]) stack.push(OPENERS[tokens[j].type]);
    else if (tokens[j].type === stack.at(-1)) { stack.pop(); if (!stack.length) return j + 1; }
  }
  throw new SyntaxError('a bracket is not closed');
}
/** The index after a primary expression and its postfixes (.name, [..], (..)) that starts at `i`: Jinja2's argument of a test without parentheses. */
function afterPrimary(tokens: Token[], i: number): number {
  let j = OPENERS[tokens[i].type] ? afterGroup(tokens, i) : i + 1;
  for (;;) {
    if (tokens[j]?.type === 'Dot' && tokens[j + 1]) j += 2;
    else if (tokens[j]?.type === 'OpenSquareBracket' || tokens[j]?.type === 'OpenParen') j = afterGroup(tokens, j);
    else return j;
  }
}
/** Whether tokens[i] opens the statement `{% name`. */
const isStatement = (tokens: Token[], i: number, name: string) => tokens[i]?.type === 'OpenStatement' && tokens[i + 1]?.type === 'Identifier' && tokens[i + 1].value === name;
/** The index of the `%}` that closes the statement opened at i (brackets skipped). */
function statementEnd(tokens: Token[], i: number): number {
  let end = i + 2;
  while (end < tokens.length && tokens[end].type !== 'CloseStatement') end = OPENERS[tokens[end].type] ? afterGroup(tokens, end) : end + 1;
  return end;
}
function rewriteTokens(tokens: Token[]): Token[] {
  const out: Token[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    // 1e-07, 1.5e3, 2E+10: a number, an identifier e.., maybe a sign and digits
    if (t.type === 'NumericLiteral' && tokens[i + 1]?.type === 'Identifier' && /^[eE]\d*$/.test(tokens[i + 1].value)) {
      const e = tokens[i + 1].value;
      const signed = e.length === 1 && tokens[i + 2]?.type === 'AdditiveBinaryOperator' && /^[-+]$/.test(tokens[i + 2].value) && /^\d+$/.test(tokens[i + 3]?.value ?? '');
      if (e.length > 1 || signed) {
        const exponent = signed ? tokens[i + 2].value + tokens[i + 3].value : e.slice(1);
        out.push(token(`${t.value.includes('.') ? t.value : t.value + '.0'}e${exponent}`, 'NumericLiteral'));
        i += signed ? 3 : 1;
        continue;
      }
    }
    // x is [not] name(args) / x is [not] name arg
    if (t.type === 'Identifier' && t.value === 'is') {
      const negate = tokens[i + 1]?.type === 'Identifier' && tokens[i + 1].value === 'not';
      const nameAt = i + (negate ? 2 : 1), name = tokens[nameAt], next = tokens[nameAt + 1];
      const withParens = next?.type === 'OpenParen';
      const bare = next && ['Identifier', 'StringLiteral', 'NumericLiteral', 'OpenSquareBracket', 'OpenCurlyBracket'].includes(next.type) && !(next.type === 'Identifier' && NOT_AN_ARGUMENT.has(next.value));
      if (name?.type === 'Identifier' && (withParens || bare)) {
        const end = withParens ? afterGroup(tokens, nameAt + 1) : afterPrimary(tokens, nameAt + 1);
        const args = withParens ? tokens.slice(nameAt + 2, end - 1) : tokens.slice(nameAt + 1, end);
        out.push(token('|', 'Pipe'), token(TEST_FILTER, 'Identifier'), token('(', 'OpenParen'), token(name.value, 'StringLiteral'), token(',', 'Comma'), token(negate ? 'true' : 'false', 'Identifier'));
        if (args.length) out.push(token(',', 'Comma'), ...args);
        out.push(token(')', 'CloseParen'));
        i = end - 1;
        continue;
      }
    }
    out.push(t);
  }
  return out;
}
// Jinja2's {% with a = 1, b = x %} ... {% endwith %} (a scope of its own; the engine's parser has
// no with) becomes a macro defined and called in place: {% macro __tstorch_with_1(a, b) %} ...
// {% endmacro %}{{ __tstorch_with_1(1, x) }} (its values evaluated outside it, its sets local).
function rewriteWith(tokens: Token[]): Token[] {
  const out: Token[] = [], open: { name: string; values: Token[][] }[] = [];
  let made = 0;
  for (let i = 0; i < tokens.length; i++) {
    if (isStatement(tokens, i, 'with')) {
      const end = statementEnd(tokens, i);
      // the assignments, at the commas outside brackets: name = value
      const names: Token[] = [], values: Token[][] = [];
      for (let j = i + 2; j < end;) {
        if (tokens[j].type !== 'Identifier' || tokens[j + 1]?.type !== 'Equals') throw new SyntaxError('{% with %} takes assignments: {% with a = 1, b = x %}');
        let k = j + 2;
        while (k < end && tokens[k].type !== 'Comma') k = OPENERS[tokens[k].type] ? afterGroup(tokens, k) : k + 1;
        names.push(tokens[j]);
        values.push(tokens.slice(j + 2, k));
        j = k + 1;
      }
      const name = `__tstorch_with_${++made}`;
      open.push({ name, values });
      out.push(token('{%', 'OpenStatement'), token('macro', 'Identifier'), token(name, 'Identifier'), token('(', 'OpenParen'));
      names.forEach((n, k) => out.push(...(k ? [token(',', 'Comma')] : []), n));
      out.push(token(')', 'CloseParen'), token('%}', 'CloseStatement'));
      i = end;
    } else if (isStatement(tokens, i, 'endwith') && tokens[i + 2]?.type === 'CloseStatement') {
      const w = open.pop();
      if (!w) throw new SyntaxError('{% endwith %} without its {% with %}');
      out.push(token('{%', 'OpenStatement'), token('endmacro', 'Identifier'), token('%}', 'CloseStatement'), token('{{', 'OpenExpression'), token(w.name, 'Identifier'), token('(', 'OpenParen'));
      w.values.forEach((v, k) => out.push(...(k ? [token(',', 'Comma')] : []), ...v));
      out.push(token(')', 'CloseParen'), token('}}', 'CloseExpression'));
      i += 2;
    } else {
      out.push(tokens[i]);
    }
  }
  if (open.length) throw new SyntaxError('{% with %} without its {% endwith %}');
  return out;
}

// Jinja2's recursive loops, {% for x in items recursive %} ... {{ loop(x.children) }} ...
// {% endfor %} (the engine's parser has no recursive), become a macro that loops and calls itself
// where the body calls loop(...), defined and called in place: {% macro __tstorch_loop_1(
// __tstorch_items, __tstorch_depth) %}{% for x in __tstorch_items %} ... {{ __tstorch_loop_1(
// x.children, __tstorch_depth + 1) }} ... {% endfor %}{% endmacro %}{{ __tstorch_loop_1(items, 1) }}
// (loop.depth is __tstorch_depth; whitespace was settled in the source before).
const RECURSIVE_ITEMS = '__tstorch_items', RECURSIVE_DEPTH = '__tstorch_depth';
function rewriteRecursiveLoops(tokens: Token[], made = { count: 0 }): Token[] {
  const word = (t: Token | undefined, value: string) => t?.type === 'Identifier' && t.value === value;
  const out: Token[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const end = isStatement(tokens, i, 'for') ? statementEnd(tokens, i) : -1;
    if (end < 0 || !word(tokens[end - 1], 'recursive')) {
      out.push(tokens[i]);
      continue;
    }
    // the header: targets `in` iterable [`if` condition], at the tag's own bracket level
    const header = tokens.slice(i + 2, end - 1);
    const at = (w: string, from = 0) => { for (let k = from; k < header.length; k = OPENERS[header[k].type] ? afterGroup(header, k) : k + 1) if (word(header[k], w)) return k; return -1; };
    const inAt = at('in');
    if (inAt < 0) throw new SyntaxError('{% for ... recursive %} needs `in`');
    const ifAt = at('if', inAt + 1) < 0 ? header.length : at('if', inAt + 1);
    // the body, up to the matching endfor; loop(...) at this loop's level (not in loops inside it) calls the macro one level deeper
    let level = 1, close = end + 1;
    for (; close < tokens.length; close++) {
      if (isStatement(tokens, close, 'for')) level++;
      else if (isStatement(tokens, close, 'endfor') && --level === 0) break;
    }
    if (level) throw new SyntaxError('{% for ... recursive %} without its {% endfor %}');
    const name = `__tstorch_loop_${++made.count}`;
    const body: Token[] = [];
    for (let k = end + 1, nested = 0; k < close; k++) {
      if (isStatement(tokens, k, 'for')) nested++;
      else if (isStatement(tokens, k, 'endfor')) nested--;
      if (!nested && word(tokens[k], 'loop') && tokens[k + 1]?.type === 'OpenParen' && tokens[k - 1]?.type !== 'Dot') {
        const after = afterGroup(tokens, k + 1);
        body.push(token(name, 'Identifier'), token('(', 'OpenParen'), ...tokens.slice(k + 2, after - 1), token(',', 'Comma'), token(RECURSIVE_DEPTH, 'Identifier'), token('+', 'AdditiveBinaryOperator'), token('1', 'NumericLiteral'), token(')', 'CloseParen'));
        k = after - 1;
      } else {
        body.push(tokens[k]);
      }
    }
    const tag = (...inner: Token[]) => [token('{%', 'OpenStatement'), ...inner, token('%}', 'CloseStatement')];
    out.push(
      ...tag(token('macro', 'Identifier'), token(name, 'Identifier'), token('(', 'OpenParen'), token(RECURSIVE_ITEMS, 'Identifier'), token(',', 'Comma'), token(RECURSIVE_DEPTH, 'Identifier'), token(')', 'CloseParen')),
      ...tag(token('for', 'Identifier'), ...header.slice(0, inAt + 1), token(RECURSIVE_ITEMS, 'Identifier'), ...header.slice(ifAt)),
      ...rewriteRecursiveLoops(body, made),
      ...tag(token('endfor', 'Identifier')), ...tag(token('endmacro', 'Identifier')),
      token('{{', 'OpenExpression'), token(name, 'Identifier'), token('(', 'OpenParen'), ...header.slice(inAt + 1, ifAt), token(',', 'Comma'), token('1', 'NumericLiteral'), token(')', 'CloseParen'), token('}}', 'CloseExpression'),
    );
    i = close + 2; // (past the endfor tag)
  }
  return out;
}

// A trailing comma before ')': `(x,)` is Jinja2's one-item tuple (the engine's parser wanted
// another item), `(a, b,)` and `f(a,)` the same without it. The one-item tuple becomes `(x) |
// __tstorch_tuple`, the filter making the tuple (it binds to the parenthesis, as a postfix would).
const TUPLE_FILTER = '__tstorch_tuple';
const KEYWORDS = new Set(['in', 'not', 'and', 'or', 'is', 'if', 'else', 'elif', 'for', 'set', 'return']);
function rewriteTrailingCommas(tokens: Token[]): Token[] {
  const out: Token[] = [];
  const open: { call: boolean; commas: number }[] = [];
  for (const t of tokens) {
    if (OPENERS[t.type]) {
      const before = out.at(-1);
      // (a parenthesis right after a name, a call or a subscript is a call's)
      const call = t.type === 'OpenParen' && !!before && ((before.type === 'Identifier' && !KEYWORDS.has(before.value)) || before.type === 'CloseParen' || before.type === 'CloseSquareBracket');
      open.push({ call, commas: 0 });
    } else if (t.type === 'Comma' && open.length) {
      open[open.length - 1].commas++;
    } else if (Object.values(OPENERS).includes(t.type)) {
      const group = open.pop();
      // `()`, the empty tuple (the engine's parser wanted an expression): `([] | __tstorch_tuple_of)`
      if (t.type === 'CloseParen' && group && !group.call && out.at(-1)?.type === 'OpenParen') {
        out.push(token('[', 'OpenSquareBracket'), token(']', 'CloseSquareBracket'), token('|', 'Pipe'), token(`${TUPLE_FILTER}_of`, 'Identifier'), t);
        continue;
      }
      if (t.type === 'CloseParen' && out.at(-1)?.type === 'Comma') {
        out.pop();
        if (group && !group.call && group.commas === 1) { out.push(t, token('|', 'Pipe'), token(TUPLE_FILTER, 'Identifier')); continue; }
      }
    }
    out.push(t);
  }
  return out;
}
// Jinja2 chains comparisons as Python does: `a < b < c` is `a < b and b < c` (the engine's parser
// read `(a < b) < c`, a silent wrong answer). Within each bracket, the operands between `and`, `or`,
// `not`, `if`, `else`, commas, colons, `=` and the tags are split at the comparison operators;
// where there are two or more, they become `((a) < (b) and (b) < (c))`. (A middle operand is
// evaluated twice; Jinja2 evaluates it once. Template expressions have no side effects to see it.)
const COMPARISON_BOUNDARIES = new Set(['Text', 'Comment', 'OpenStatement', 'CloseStatement', 'OpenExpression', 'CloseExpression', 'Comma', 'Colon', 'Equals']);
const LOGIC_WORDS = new Set(['and', 'or', 'not', 'if', 'else', 'elif']);
function rewriteChainedComparisons(tokens: Token[], start = 0, end = tokens.length): Token[] {
  const out: Token[] = [];
  let operands: Token[][] = [[]], operators: Token[][] = [];
  const flush = () => {
    if (operators.length >= 2 && operands.every((o) => o.length)) {
      const group = (o: Token[]) => [token('(', 'OpenParen'), ...o, token(')', 'CloseParen')];
      out.push(token('(', 'OpenParen'));
      operators.forEach((op, k) => out.push(...(k ? [token('and', 'Identifier')] : []), ...group(operands[k]), ...op, ...group(operands[k + 1])));
      out.push(token(')', 'CloseParen'));
    } else {
      operands.forEach((o, k) => out.push(...(k ? operators[k - 1] : []), ...o));
    }
    operands = [[]];
    operators = [];
  };
  for (let i = start; i < end;) {
    const t = tokens[i], current = operands[operands.length - 1];
    const word = t.type === 'Identifier' ? t.value : undefined;
    if (OPENERS[t.type]) {
      const after = afterGroup(tokens, i);
      current.push(t, ...rewriteChainedComparisons(tokens, i + 1, after - 1), tokens[after - 1]);
      i = after;
    } else if (t.type === 'ComparisonBinaryOperator' || word === 'in' || (word === 'not' && tokens[i + 1]?.value === 'in' && tokens[i + 1].type === 'Identifier')) {
      const op = word === 'not' ? [t, tokens[i + 1]] : [t];
      operators.push(op);
      operands.push([]);
      i += op.length;
    } else if (COMPARISON_BOUNDARIES.has(t.type) || tokens[i - 1]?.type === 'OpenStatement' || (word !== undefined && LOGIC_WORDS.has(word) && !(word === 'not' && tokens[i - 1]?.value === 'is'))) {
      // (the word after {% is the statement's: for, set, if, macro ...)
      flush();
      out.push(t);
      i++;
    } else {
      current.push(t);
      i++;
    }
  }
  flush();
  return out;
}

// {% raw %} ... {% endraw %} (the engine's parser has no raw) becomes the same text as a string
// printed in an if-block that keeps the raw tags' whitespace control: lstrip_blocks and `-` before
// the raw tag, trim_blocks and `-` after the endraw tag. Inside, as Jinja2: no trim_blocks after
// {% raw %}, lstrip_blocks before {% endraw %}. The text is escaped so no later rewrite sees its
// tags or newlines.
const RAW_BLOCK = /\{%([-+]?)\s*raw\s*(-?)%\}([\s\S]*?)\{%([-+]?)\s*endraw\s*([-+]?)%\}/g;
const LAST_LINE_SPACE = new RegExp(`\\n(?:(?!\\n)[${PY_SPACE}])+$`);
function rewriteRawBlocks(source: string): string {
  return source.replace(RAW_BLOCK, (_, before: string, afterRaw: string, text: string, beforeEnd: string, after: string) => {
    if (afterRaw === '-') text = text.replace(LEADING_PY_SPACE, '');
    if (beforeEnd === '-') text = text.replace(TRAILING_PY_SPACE, '');
    else if (beforeEnd !== '+') text = text.replace(LAST_LINE_SPACE, '\n');
    return `{%${before} if true %}{{ ${engineStringLiteral(text)} }}{% endif ${after}%}`;
  });
}

// String literals in tags read as Python reads them (Jinja2 decodes them with unicode-escape): \a,
// octal \0 and \101, \U0001F600, a backslash before a newline joining lines, and an unknown escape
// such as \d kept as written (the engine knew \n \t \r \b \f \v \x \u only and refused the rest).
// Each literal is written back in the engine's escapes, its {, }, %, # and newlines escaped too,
// so the whitespace rules below do not take a `%}` inside a string for a tag's end. The same pass
// does the tags' `-`: it strips Python's whitespace before or after the tag, then goes (the engine's
// would strip JavaScript's, which lacks \x85 and \x1c-\x1f and has \ufeff).
const PYTHON_ESCAPES: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', "'": "'", '"': '"', '\n': '' };
function pythonStringLiteral(body: string): string {
  return body.replace(/\\(?:([0-7]{1,3})|x(.{0,2})|u(.{0,4})|U(.{0,8})|N(\{[^}]*\})?|([\s\S]))/g, (all, octal?: string, x?: string, u?: string, U?: string, name?: string, other?: string) => {
    if (octal !== undefined) return String.fromCodePoint(parseInt(octal, 8));
    const hex = x ?? u ?? U;
    if (hex !== undefined) {
      const want = x !== undefined ? 2 : u !== undefined ? 4 : 8;
      if (!new RegExp(`^[0-9a-fA-F]{${want}}$`).test(hex)) throw new SyntaxError(`truncated \\${all[1]}${'X'.repeat(want)} escape in the string literal '${body}'`);
      const code = parseInt(hex, 16);
      if (code > 0x10ffff) throw new SyntaxError(`illegal Unicode character \\${all.slice(1)} in the string literal '${body}'`);
      return String.fromCodePoint(code);
    }
    if (all[1] === 'N') throw new SyntaxError(`\\N{...} escapes (Unicode character names) are not read here: write the character, or \\u with its code, in '${body}'`);
    return PYTHON_ESCAPES[other!] ?? all;
  });
}
const engineStringLiteral = (text: string): string =>
  `'${text.replace(/[\\'\n{}%#]/g, (c) => (c === '\n' ? '\\n' : c === '\\' || c === "'" ? `\\${c}` : `\\x${c.charCodeAt(0).toString(16)}`))}'`;
function rewriteStringsAndMinusMarks(source: string): string {
  let out = '', i = 0, stripNext = false;
  const text = (t: string) => {
    out += stripNext ? t.replace(LEADING_PY_SPACE, '') : t;
    stripNext = false;
  };
  while (i < source.length) {
    const open = source.slice(i).search(/\{[{%#]/);
    if (open < 0) break;
    const start = i + open, kind = source[start + 1], minus = source[start + 2] === '-';
    text(source.slice(i, start));
    if (minus) out = out.replace(TRAILING_PY_SPACE, '');
    out += source.slice(start, start + 2);
    let k = start + (minus ? 3 : 2);
    if (kind === '#') {
      const end = source.indexOf('#}', k);
      if (end < 0) break; // (unclosed: the engine says so)
      const endMinus = end > k && source[end - 1] === '-';
      out += source.slice(k, endMinus ? end - 1 : end) + '#}';
      stripNext = endMinus;
      i = end + 2;
      continue;
    }
    let depth = 0;
    while (k < source.length) {
      const c = source[k];
      if (c === "'" || c === '"') {
        let end = k + 1;
        while (end < source.length && source[end] !== c) end += source[end] === '\\' ? 2 : 1;
        if (end >= source.length) break; // (unclosed: the engine says so)
        out += engineStringLiteral(pythonStringLiteral(source.slice(k + 1, end)));
        k = end + 1;
        continue;
      }
      if (kind === '{' && c === '{') depth++;
      else if (kind === '{' && c === '}' && depth > 0) depth--;
      else if (source.startsWith(kind === '{' ? '}}' : '%}', k) && depth === 0) {
        if (out.endsWith('-')) { out = out.slice(0, -1); stripNext = true; }
        out += source.slice(k, k + 2);
        k += 2;
        break;
      }
      out += c;
      k++;
    }
    i = k;
  }
  text(source.slice(i));
  return out;
}

/**
 * Jinja2's whitespace rules as transformers sets them, applied to the source: newlines made \n
 * (Jinja2's lexer does so first: a template saved with Windows line ends renders \n);
 * lstrip_blocks (the whitespace before a block or comment tag that starts its line goes) and
 * trim_blocks (the newline after one goes), each turned off for a tag by its + ({%+ ... +%}),
 * which the engine could not read; a tag's - stripping Python's whitespace around it.
 */
const LINE_START_SPACE_BEFORE_TAG = new RegExp(`(^|\\n)(?:(?!\\n)[${PY_SPACE}])+(?=\\{[%#](?!\\+))`, 'g');
function jinjaWhitespace(source: string): string {
  return rewriteStringsAndMinusMarks(rewriteRawBlocks(source.replace(/\r\n?/g, '\n')))
    .replace(LINE_START_SPACE_BEFORE_TAG, '$1')
    .replace(/([^+-])([%#]\})\n/g, '$1$2')
    .replace(/\{([%#{])\+/g, '{$1').replace(/\+([%#]\})/g, '$1'); // (+}} is not Jinja's)
}
/** A template parsed as the engine's Template does, with Jinja2's whitespace rules and the rewrites above. */
export function compileJinja(source: string): Template {
  // (the engine's own lstrip_blocks and trim_blocks are off: jinjaWhitespace did them)
  const tokens = tokenize(jinjaWhitespace(source)) as unknown as Token[];
  const template = Object.create(Template.prototype) as Template & { parsed: unknown };
  template.parsed = parse((tokens.length ? rewriteChainedComparisons(rewriteRecursiveLoops(rewriteWith(rewriteTrailingCommas(rewriteTokens(tokens))))) : tokens) as never);
  return template;
}
