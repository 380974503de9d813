// Jinja2's filters and tests, and Python's string methods, where @huggingface/jinja lacks them or
// its differ, so that chat templates render as transformers renders them: Llama 3.1's
// `builtin_tools | reject('equalto', 'code_interpreter')`, Qwen's content.lstrip('\n'),
// `selectattr('tool_calls', 'undefined')`, min / max / sum / batch / dictsort, tojson as
// Python's json.dumps. Patched into the engine once, on import; checked by random templates
// against Jinja2 (test/chat.test.ts).
import { Environment, Interpreter } from '@huggingface/jinja';
import {
  JinjaValue, LEADING_PY_SPACE, PY_SPACE, Py, TRAILING_PY_SPACE, compareCodePoints, isNumber, isSequence, literalOf, pyCompare, pyFloatRepr, pyPercentFormat, PyRange, pyRepr, pyStr, pyTrim, pyTypeName, pythonEquals,
} from './jinja_python';

type Kwargs = Map<string, JinjaValue>;
const str = (s: string) => new Py.str(s);
const int = (n: number) => new Py.int(n);
const list = (items: JinjaValue[]) => new Py.list(items);
const truthy = (v: JinjaValue) => Boolean(v.__bool__().value);
const chars = (s: string) => [...s];
/** The items a Python for-loop over the value gives: a string's characters, a dict's keys, nothing from undefined. */
function iterate(v: JinjaValue): JinjaValue[] {
  if (isSequence(v)) return v.value as JinjaValue[];
  if (v.type === 'StringValue') return chars(v.value as string).map(str);
  if (v.type === 'ObjectValue') return [...(v.value as Map<string, JinjaValue>).keys()].map(str);
  if (v.type === 'UndefinedValue') return [];
  throw new TypeError(`'${pyTypeName(v)}' object is not iterable`);
}
const cased = (c: string) => c.toLowerCase() !== c.toUpperCase();
const PY_SPACE_CHAR = new RegExp(`^[${PY_SPACE}]$`);
const isPySpace = (c: string) => PY_SPACE_CHAR.test(c);
// (int() and float() strip whitespace but the information separators \x1c-\x1f)
const numberTrim = (s: string) => { const t = pyTrim(s); return /[\x1c-\x1f]/.test(s.replace(t, '')) ? s : t; };
const asString = (v: JinjaValue) => (v.type === 'StringValue' ? v.value as string : pyStr(v));

// ---- Python's string methods ----
// strip / lstrip / rstrip take the characters to strip (Qwen's templates: content.lstrip('\n');
// the engine stripped all whitespace whatever it was given); title() starts each run of cased
// letters ('a,b'.title() is 'A,B') and lowers the rest; find, count, isdigit, center, join,
// rsplit, partition, removeprefix ... which the engine lacks.
const stripChars = (s: string, chars: unknown, start: boolean, end: boolean): string => {
  if (chars === undefined || chars === null) return end ? (start ? pyTrim(s) : s.replace(TRAILING_PY_SPACE, '')) : s.replace(LEADING_PY_SPACE, '');
  const set = new Set(String(chars));
  const cs = [...s];
  let a = 0, b = cs.length;
  if (start) while (a < b && set.has(cs[a])) a++;
  if (end) while (b > a && set.has(cs[b - 1])) b--;
  return cs.slice(a, b).join('');
};
// Title case where it is not upper case (Python's str.title / capitalize; from its unicodedata): digraphs, ligatures, ß,
// Greek with ypogegrammeni (U+1F80..1FAF: +8 where bit 3 is clear); Georgian letters stay as they are.
const TITLE_CASE: Record<string, string> = {
  '\u00df': 'Ss', '\u01c4': '\u01c5', '\u01c5': '\u01c5', '\u01c6': '\u01c5', '\u01c7': '\u01c8', '\u01c8': '\u01c8', '\u01c9': '\u01c8', '\u01ca': '\u01cb', '\u01cb': '\u01cb', '\u01cc': '\u01cb',
  '\u01f1': '\u01f2', '\u01f2': '\u01f2', '\u01f3': '\u01f2', '\u0587': '\u0535\u0582', '\u1fb2': '\u1fba\u0345', '\u1fb3': '\u1fbc', '\u1fb4': '\u0386\u0345', '\u1fb7': '\u0391\u0342\u0345', '\u1fbc': '\u1fbc',
  '\u1fc2': '\u1fca\u0345', '\u1fc3': '\u1fcc', '\u1fc4': '\u0389\u0345', '\u1fc7': '\u0397\u0342\u0345', '\u1fcc': '\u1fcc', '\u1ff2': '\u1ffa\u0345', '\u1ff3': '\u1ffc', '\u1ff4': '\u038f\u0345', '\u1ff7': '\u03a9\u0342\u0345',
  '\u1ffc': '\u1ffc', '\ufb00': 'Ff', '\ufb01': 'Fi', '\ufb02': 'Fl', '\ufb03': 'Ffi', '\ufb04': 'Ffl', '\ufb05': 'St', '\ufb06': 'St', '\ufb13': '\u0544\u0576', '\ufb14': '\u0544\u0565', '\ufb15': '\u0544\u056b',
  '\ufb16': '\u054e\u0576', '\ufb17': '\u0544\u056d',
};
const titleCase = (c: string): string => {
  const code = c.codePointAt(0)!;
  if (code >= 0x10d0 && code <= 0x10ff) return c;
  if (code >= 0x1f80 && code <= 0x1faf) return String.fromCodePoint(code & 8 ? code : code + 8);
  return TITLE_CASE[c] ?? c.toUpperCase();
};
const pyTitle = (s: string): string => {
  let out = '', prevCased = false;
  for (const c of s) {
    out += prevCased ? c.toLowerCase() : titleCase(c);
    prevCased = cased(c);
  }
  return out;
};
const pyCapitalize = (s: string): string => { const cs = [...s]; return cs.length ? titleCase(cs[0]) + cs.slice(1).join('').toLowerCase() : ''; };
/** Python's str.center: the odd space goes left when the width is odd. */
const pyCenter = (s: string, width: number, fill = ' ') => {
  const pad = width - chars(s).length;
  if (pad <= 0) return s;
  const left = Math.floor(pad / 2) + (pad & width & 1);
  return fill.repeat(left) + s + fill.repeat(pad - left);
};
const pyIsLower = (s: string) => chars(s).some(cased) && s === s.toLowerCase();
const pyIsUpper = (s: string) => chars(s).some(cased) && s === s.toUpperCase();
/** A code-point index of `sub` in s[start:end] (Python's find), or -1. */
function pyFind(s: string, sub: string, start: JinjaValue | undefined, end: JinjaValue | undefined, last: boolean): number {
  const cs = chars(s), n = cs.length;
  const clamp = (v: JinjaValue | undefined, dflt: number) => {
    if (v === undefined || v.type === 'NullValue') return dflt;
    const i = Number(v.value);
    return i < 0 ? Math.max(0, n + i) : Math.min(n, i);
  };
  const a = clamp(start, 0), b = clamp(end, n);
  if (a > b) return -1;
  const window = cs.slice(a, b).join('');
  const at = last ? window.lastIndexOf(sub) : window.indexOf(sub);
  return at < 0 ? -1 : a + chars(window.slice(0, at)).length;
}
function pyCount(s: string, sub: string): number {
  if (sub === '') return chars(s).length + 1;
  let n = 0;
  for (let at = s.indexOf(sub); at >= 0; at = s.indexOf(sub, at + sub.length)) n++;
  return n;
}
/** Python's str.split / str.rsplit(sep=None, maxsplit=-1): on runs of whitespace (ends ignored; what maxsplit leaves keeps its far end's), or on sep. */
function pySplit(s: string, sep: JinjaValue | undefined, maxsplit: number, fromRight: boolean): string[] {
  if (sep === undefined || sep.type === 'NullValue') {
    // (Python's whitespace is all in the BMP: UTF-16 units will do)
    const words: string[] = [];
    let at = fromRight ? s.length : 0;
    const inside = () => (fromRight ? at > 0 : at < s.length);
    const next = () => s[fromRight ? at - 1 : at];
    const step = () => { at += fromRight ? -1 : 1; };
    for (;;) {
      while (inside() && isPySpace(next())) step();
      if (!inside()) break;
      if (maxsplit >= 0 && words.length === maxsplit) { words.push(fromRight ? s.slice(0, at) : s.slice(at)); break; }
      const from = at;
      while (inside() && !isPySpace(next())) step();
      words.push(fromRight ? s.slice(at, from) : s.slice(from, at));
    }
    return fromRight ? words.reverse() : words;
  }
  if (sep.type !== 'StringValue') throw new TypeError(`must be str or None, not ${pyTypeName(sep)}`);
  const separator = sep.value as string;
  if (separator === '') throw new Error('ValueError: empty separator');
  const parts = s.split(separator);
  if (maxsplit < 0 || parts.length <= maxsplit + 1) return parts;
  return fromRight ? [parts.slice(0, parts.length - maxsplit).join(separator), ...parts.slice(parts.length - maxsplit)] : [...parts.slice(0, maxsplit), parts.slice(maxsplit).join(separator)];
}
/** Python's str.format for {} / {0} / {name} fields without a format spec. */
function pyStrFormat(fmt: string, args: JinjaValue[]): string {
  const kw = args.at(-1)?.type === 'KeywordArgumentsValue' ? args.pop()!.value as Kwargs : new Map<string, JinjaValue>();
  let auto = 0;
  return fmt.replace(/\{\{|\}\}|\{([^{}]*)\}/g, (m, field: string | undefined) => {
    if (m === '{{') return '{';
    if (m === '}}') return '}';
    const [name, spec] = field!.split(':');
    if (spec !== undefined || /[!.[]/.test(name)) throw new Error(`str.format: the field {${field}} needs a format spec or conversion, which this engine does not read; use the | format filter ('%.2f' | format(x))`);
    const v = name === '' ? args[auto++] : /^\d+$/.test(name) ? args[Number(name)] : kw.get(name);
    if (v === undefined) throw new Error(`str.format: no value for the field {${field}}`);
    return pyStr(v);
  });
}
/** split's (sep, maxsplit), given by position or by name. */
const splitArgs = (args: JinjaValue[]): [JinjaValue | undefined, number] => {
  const kw = args.at(-1)?.type === 'KeywordArgumentsValue' ? args.at(-1)!.value as Kwargs : undefined;
  const positional = kw ? args.slice(0, -1) : args;
  return [kw?.get('sep') ?? positional[0], Number((kw?.get('maxsplit') ?? positional[1])?.value ?? -1)];
};
const isDecimal = (s: string) => s.length > 0 && /^\p{Nd}+$/u.test(s);
// (isdigit also takes the digits that are not decimal: superscripts, circled digits ...: Unicode's Numeric_Type=Digit)
const isDigit = (s: string) => s.length > 0 && /^[\p{Nd}\u{B2}-\u{B3}\u{B9}\u{1369}-\u{1371}\u{19DA}\u{2070}\u{2074}-\u{2079}\u{2080}-\u{2089}\u{2460}-\u{2468}\u{2474}-\u{247C}\u{2488}-\u{2490}\u{24EA}\u{24F5}-\u{24FD}\u{24FF}\u{2776}-\u{277E}\u{2780}-\u{2788}\u{278A}-\u{2792}\u{10A40}-\u{10A43}\u{10E60}-\u{10E68}\u{11052}-\u{1105A}\u{1F100}-\u{1F10A}]+$/u.test(s);
const STRING_METHODS: Record<string, (s: string, args: JinjaValue[]) => JinjaValue> = {
  strip: (s, [c]) => str(stripChars(s, c?.value, true, true)),
  lstrip: (s, [c]) => str(stripChars(s, c?.value, true, false)),
  rstrip: (s, [c]) => str(stripChars(s, c?.value, false, true)),
  title: (s) => str(pyTitle(s)),
  capitalize: (s) => str(pyCapitalize(s)),
  swapcase: (s) => str(chars(s).map((c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())).join('')),
  casefold: (s) => str(s.toLowerCase()),
  find: (s, [sub, a, b]) => int(pyFind(s, asString(sub), a, b, false)),
  rfind: (s, [sub, a, b]) => int(pyFind(s, asString(sub), a, b, true)),
  index: (s, [sub, a, b]) => { const i = pyFind(s, asString(sub), a, b, false); if (i < 0) throw new Error('ValueError: substring not found'); return int(i); },
  rindex: (s, [sub, a, b]) => { const i = pyFind(s, asString(sub), a, b, true); if (i < 0) throw new Error('ValueError: substring not found'); return int(i); },
  count: (s, [sub]) => int(pyCount(s, asString(sub))),
  isdigit: (s) => new Py.bool(isDigit(s)),
  isdecimal: (s) => new Py.bool(isDecimal(s)),
  isnumeric: (s) => new Py.bool(s.length > 0 && /^\p{N}+$/u.test(s)),
  isalpha: (s) => new Py.bool(s.length > 0 && /^\p{L}+$/u.test(s)),
  isalnum: (s) => new Py.bool(s.length > 0 && /^[\p{L}\p{N}]+$/u.test(s)),
  isspace: (s) => new Py.bool(s.length > 0 && [...s].every(isPySpace)),
  islower: (s) => new Py.bool(pyIsLower(s)),
  isupper: (s) => new Py.bool(pyIsUpper(s)),
  center: (s, [w, f]) => str(pyCenter(s, Number(w.value), f ? asString(f) : ' ')),
  ljust: (s, [w, f]) => str(s + (f ? asString(f) : ' ').repeat(Math.max(0, Number(w.value) - chars(s).length))),
  rjust: (s, [w, f]) => str((f ? asString(f) : ' ').repeat(Math.max(0, Number(w.value) - chars(s).length)) + s),
  zfill: (s, [w]) => {
    const sign = /^[-+]/.test(s) ? s[0] : '';
    return str(sign + '0'.repeat(Math.max(0, Number(w.value) - chars(s).length)) + s.slice(sign.length));
  },
  join: (s, [items]) => str(iterate(items).map((v) => {
    if (v.type !== 'StringValue') throw new TypeError(`sequence item: expected str instance, ${pyTypeName(v)} found`);
    return v.value as string;
  }).join(s)),
  split: (s, args) => list(pySplit(s, ...splitArgs(args), false).map(str)),
  rsplit: (s, args) => list(pySplit(s, ...splitArgs(args), true).map(str)),
  partition: (s, [sep]) => { const t = asString(sep), i = s.indexOf(t); return new Py.tuple((i < 0 ? [s, '', ''] : [s.slice(0, i), t, s.slice(i + t.length)]).map(str)); },
  rpartition: (s, [sep]) => { const t = asString(sep), i = s.lastIndexOf(t); return new Py.tuple((i < 0 ? ['', '', s] : [s.slice(0, i), t, s.slice(i + t.length)]).map(str)); },
  removeprefix: (s, [p]) => str(s.startsWith(asString(p)) ? s.slice(asString(p).length) : s),
  removesuffix: (s, [p]) => str(asString(p) && s.endsWith(asString(p)) ? s.slice(0, -asString(p).length) : s),
  splitlines: (s) => list(s.split(/\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]/).filter((x, i, all) => i < all.length - 1 || x !== '').map(str)),
  format: (s, args) => str(pyStrFormat(s, [...args])),
};
/** f(), where an argument left out (read as undefined) is said as Python says it, not as "reading 'value' of undefined". */
function withArguments<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof TypeError && /of undefined/.test(e.message)) throw new TypeError(`${what} is missing a required argument`);
    throw e;
  }
}
const stringProto = Py.str.prototype as unknown as { builtins: Map<string, JinjaValue> };
const engineBuiltins = Object.getOwnPropertyDescriptor(stringProto, 'builtins')!.get!;
const withMethods = new WeakSet<Map<string, JinjaValue>>();
Object.defineProperty(stringProto, 'builtins', {
  get(this: JinjaValue) {
    const m = engineBuiltins.call(this) as Map<string, JinjaValue>;
    if (!withMethods.has(m)) {
      // (made when looked up, ours before the engine's: most strings never have a method called)
      const s = this.value as string, engineGet = m.get.bind(m);
      m.get = (name: string) => (Object.hasOwn(STRING_METHODS, name) ? new Py.function((args) => withArguments(`str.${name}()`, () => STRING_METHODS[name](s, args))) : engineGet(name));
      withMethods.add(m);
    }
    return m;
  },
});
// A dict's items() are (key, value) tuples, printed as Python's (the engine's were lists).
const dictProto = Py.dict.prototype as unknown as { items(this: JinjaValue): JinjaValue };
dictProto.items = function (this: JinjaValue) {
  return list([...(this.value as Map<string, JinjaValue>)].map(([k, v]) => new Py.tuple([str(k), v])));
};

// ---- tests (`x is string`, select('equalto', y)) as Jinja2's ----
type Test = (value: JinjaValue, ...args: JinjaValue[]) => boolean;
const sameAs = (a: JinjaValue, b: JinjaValue) => a.type === b.type && (a.value === b.value || (typeof a.value !== 'object' && pythonEquals(a, b)));
const containerHas = (container: JinjaValue, item: JinjaValue): boolean => {
  if (container.type === 'StringValue') {
    if (item.type !== 'StringValue') throw new TypeError(`'in <string>' requires string as left operand, not ${pyTypeName(item)}`);
    return (container.value as string).includes(item.value as string);
  }
  if (container.type === 'ObjectValue') return item.type === 'StringValue' && (container.value as Map<string, JinjaValue>).has(item.value as string);
  return iterate(container).some((x) => pythonEquals(x, item));
};
const mod = (v: JinjaValue, n: number) => {
  if (!isNumber(v)) throw new TypeError(`unsupported operand type(s) for %: '${pyTypeName(v)}' and 'int'`);
  const r = Number(v.value) % n;
  return r !== 0 && (r < 0) !== (n < 0) ? r + n : r;
};
const TESTS: Record<string, Test> = {
  odd: (v) => mod(v, 2) === 1,
  even: (v) => mod(v, 2) === 0,
  divisibleby: (v, n) => mod(v, Number(n.value)) === 0,
  number: (v) => isNumber(v),
  integer: (v) => v.type === 'IntegerValue',
  float: (v) => v.type === 'FloatValue',
  iterable: (v) => isSequence(v) || ['StringValue', 'ObjectValue', 'UndefinedValue'].includes(v.type),
  sequence: (v) => isSequence(v) || v.type === 'StringValue' || v.type === 'ObjectValue',
  mapping: (v) => v.type === 'ObjectValue' || v.type === 'KeywordArgumentsValue',
  lower: (v) => pyIsLower(asString(v)),
  upper: (v) => pyIsUpper(asString(v)),
  eq: (a, b) => pythonEquals(a, b),
  ne: (a, b) => !pythonEquals(a, b),
  lt: (a, b) => pyCompare(a, b, '<') < 0,
  le: (a, b) => pyCompare(a, b, '<=') <= 0,
  gt: (a, b) => pyCompare(a, b, '>') > 0,
  ge: (a, b) => pyCompare(a, b, '>=') >= 0,
  in: (v, seq) => containerHas(seq, v),
  sameas: sameAs,
  escaped: () => false,
};
for (const [alias, name] of [['equalto', 'eq'], ['==', 'eq'], ['!=', 'ne'], ['<', 'lt'], ['lessthan', 'lt'], ['<=', 'le'], ['>', 'gt'], ['greaterthan', 'gt'], ['>=', 'ge']]) TESTS[alias] = TESTS[name];
const engineTests = (Environment as unknown as { TESTS: Map<string, Test> }).TESTS;
for (const [name, test] of Object.entries(TESTS)) engineTests.set(name, test);
function findTest(env: unknown, name: JinjaValue): Test {
  const test = (env as { tests: Map<string, Test> }).tests.get(String(name.value));
  if (!test) throw new Error(`no test named ${pyRepr(name)}`);
  return test;
}

// ---- filters ----
/** An item's attribute by Jinja2's dotted path ('function.name', 'items.0'), undefined where it has none. */
function attribute(item: JinjaValue, path: JinjaValue): JinjaValue {
  let v = item;
  for (const part of String(path.value).split('.')) {
    if (v.type === 'UndefinedValue') throw new Error(`UndefinedError: no attribute '${part}' of an undefined value (attribute ${pyRepr(path)})`);
    if (v.type === 'ObjectValue') v = (v.value as Map<string, JinjaValue>).get(part) ?? new Py.undefined(undefined);
    else if (isSequence(v) && /^-?\d+$/.test(part)) v = (v.value as JinjaValue[]).at(Number(part)) ?? new Py.undefined(undefined);
    else v = new Py.undefined(undefined);
  }
  return v;
}
/** Jinja2's sort key: the attribute if asked for, strings lowered unless case-sensitive. */
const sortKey = (item: JinjaValue, kw: Kwargs, attributeArg?: JinjaValue) => {
  const attr = kw.get('attribute') ?? attributeArg;
  let v = attr && attr.type !== 'NullValue' ? attribute(item, attr) : item;
  if (v.type === 'StringValue' && !truthy(kw.get('case_sensitive') ?? new Py.bool(false))) v = str((v.value as string).toLowerCase());
  return v;
};
/** Python's round() of a float: ties to even on the exact value of the double (2.5 -> 2.0, 0.125 -> 0.12). */
function pyRound(x: number, digits: number): number {
  if (!Number.isFinite(x)) return x;
  if (digits < 0 || digits > 20) { const f = 10 ** digits; return Math.round(x * f) / f; }
  const exact = Math.abs(x).toFixed(100), dot = exact.indexOf('.');
  const tie = exact[dot + 1 + digits] === '5' && /^0*$/.test(exact.slice(dot + 2 + digits));
  let r = Math.abs(x).toFixed(digits); // (toFixed rounds ties away from zero)
  if (tie) {
    const truncated = exact.slice(0, digits ? dot + 1 + digits : dot);
    if (Number(truncated.at(-1)) % 2 === 0) r = truncated;
  }
  return Math.sign(x) * Number(r) || (x < 0 ? -0 : 0);
}
/** Python's int(text): digits with _ between and spaces around, in the base (0x.. / 0o.. / 0b.. prefixes in their base or base 0). */
function pyIntOf(text: string, base: number): number | undefined {
  let t = numberTrim(text).replace(/(?<=[0-9a-zA-Z])_(?=[0-9a-zA-Z])/g, '');
  const sign = t.startsWith('-') ? -1 : 1;
  t = t.replace(/^[-+]/, '');
  const prefix = /^0([xob])/i.exec(t);
  if (prefix) {
    const b = { x: 16, o: 8, b: 2 }[prefix[1].toLowerCase() as 'x' | 'o' | 'b'];
    if (base === b || base === 0) { base = b; t = t.slice(2); }
  } else if (base === 0) base = 10;
  const digits = '0123456789abcdefghijklmnopqrstuvwxyz'.slice(0, base);
  if (!t || ![...t.toLowerCase()].every((c) => digits.includes(c))) return undefined;
  return sign * parseInt(t, base);
}
/** Python's float(text): decimal or exponent notation, inf, nan, spaces around, _ between digits. */
function pyFloatOf(text: string): number | undefined {
  const t = numberTrim(text).replace(/(?<=\d)_(?=\d)/g, '').toLowerCase();
  if (/^[-+]?(inf|infinity)$/.test(t)) return t.startsWith('-') ? -Infinity : Infinity;
  if (/^[-+]?nan$/.test(t)) return NaN;
  return /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/.test(t) ? Number(t) : undefined;
}
// Python's json.dumps as transformers' tojson calls it (ensure_ascii=False): floats as Python's
// repr (1e-07), keys sorted by code point, indent=0 still breaking lines, undefined an error.
function pyJsonDumps(v: JinjaValue, opts: { indent: number | null; ensureAscii: boolean; separators: [string, string] | null; sortKeys: boolean }, depth = 0): string {
  const [itemSep, keySep] = opts.separators ?? (opts.indent !== null ? [',', ': '] : [', ', ': ']);
  const quote = (s: string) => {
    const q = JSON.stringify(s);
    return opts.ensureAscii ? q.replace(/[\x7f-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0')) : q;
  };
  const block = (open: string, close: string, parts: string[]) => {
    if (!parts.length) return open + close;
    if (opts.indent === null) return open + parts.join(itemSep) + close;
    const pad = '\n' + ' '.repeat(opts.indent * (depth + 1));
    return open + pad + parts.join(itemSep + pad) + '\n' + ' '.repeat(opts.indent * depth) + close;
  };
  switch (v.type) {
    case 'NullValue': return 'null';
    case 'BooleanValue': return v.value ? 'true' : 'false';
    case 'IntegerValue': return String(v.value);
    case 'FloatValue': { const x = v.value as number; return Number.isNaN(x) ? 'NaN' : !Number.isFinite(x) ? (x > 0 ? 'Infinity' : '-Infinity') : pyFloatRepr(x); }
    case 'StringValue': return quote(v.value as string);
    case 'ArrayValue': case 'TupleValue':
      if (v instanceof PyRange) throw new TypeError('tojson: Object of type range is not JSON serializable');
      return block('[', ']', (v.value as JinjaValue[]).map((x) => pyJsonDumps(x, opts, depth + 1)));
    case 'ObjectValue': {
      let entries = [...(v.value as Map<string, JinjaValue>)];
      if (opts.sortKeys) entries = entries.sort(([a], [b]) => compareCodePoints(a, b));
      return block('{', '}', entries.map(([k, x]) => quote(k) + keySep + pyJsonDumps(x, opts, depth + 1)));
    }
    default: throw new TypeError(`tojson: Object of type ${pyTypeName(v)} is not JSON serializable`);
  }
}
function tojson(v: JinjaValue, _args: JinjaValue[], kw: Kwargs): JinjaValue {
  const indent = kw.get('indent');
  const separators = kw.get('separators');
  return str(pyJsonDumps(v, {
    indent: indent && indent.type !== 'NullValue' ? Number(indent.value) : null,
    ensureAscii: truthy(kw.get('ensure_ascii') ?? new Py.bool(false)),
    separators: separators && separators.type !== 'NullValue' ? (separators.value as JinjaValue[]).map((x) => String(x.value)) as [string, string] : null,
    sortKeys: truthy(kw.get('sort_keys') ?? new Py.bool(false)),
  }));
}
const WORD_BEGINNINGS = new RegExp(`([-${PY_SPACE}({[<]+)`); // (jinja2's _word_beginning_split_re)
type FilterContext = { interpreter: FilterApplier; env: unknown };
type Filter = (operand: JinjaValue, args: JinjaValue[], kwargs: Kwargs, ctx: FilterContext) => JinjaValue | undefined;
/** select / reject / selectattr / rejectattr: keep the items whose value passes the named test (or is truthy), or the others. */
const selecting = (keep: boolean, byAttribute: boolean): Filter => (operand, args, _kw, { env }) => {
  const [attr, testName, ...testArgs]: (JinjaValue | undefined)[] = byAttribute ? args : [undefined, ...args];
  if (byAttribute && !attr) throw new TypeError('selectattr / rejectattr: give the attribute to test');
  const test: Test = testName ? findTest(env, testName) : (v) => truthy(v);
  return list(iterate(operand).filter((item) => test(attr ? attribute(item, attr) : item, ...testArgs as JinjaValue[]) === keep));
};
/** The items in the order of their keys (each computed once), reversed if asked; a stable sort, as Python's sorted. */
function sortedBy<K>(items: JinjaValue[], key: (item: JinjaValue) => K, compare: (a: K, b: K) => number, reverse: boolean): JinjaValue {
  const keyed = items.map((item) => [key(item), item] as const);
  return list(keyed.sort(([a], [b]) => (reverse ? -1 : 1) * compare(a, b)).map(([, item]) => item));
}
/** min / max / unique's settings: case_sensitive and attribute, by name or position. */
const keySettings = (args: JinjaValue[], kw: Kwargs): Kwargs => new Map([['case_sensitive', kw.get('case_sensitive') ?? args[0] ?? new Py.bool(false)], ['attribute', kw.get('attribute') ?? args[1] ?? new Py.none(null)]]);
/** min / max: the first least (or greatest) item, by its attribute if asked, strings case-insensitive unless asked; undefined if none. */
const extreme = (sign: number): Filter => (operand, args, kw) => {
  let best: JinjaValue | undefined, bestKey: JinjaValue | undefined;
  const settings = keySettings(args, kw);
  for (const item of iterate(operand)) {
    const key = sortKey(item, settings);
    if (!bestKey || sign * pyCompare(key, bestKey) < 0) { best = item; bestKey = key; }
  }
  return best ?? new Py.undefined(undefined);
};
const FILTERS: Record<string, Filter> = {
  tojson,
  select: selecting(true, false),
  reject: selecting(false, false),
  selectattr: selecting(true, true),
  rejectattr: selecting(false, true),
  min: extreme(1),
  max: extreme(-1),
  map: (operand, args, kw, ctx) => {
    const items = iterate(operand);
    if (kw.has('attribute') || !args.length) {
      if (!kw.has('attribute')) throw new TypeError('map: give a filter name or attribute=');
      return list(items.map((item) => { const v = attribute(item, kw.get('attribute')!); return v.type === 'UndefinedValue' && kw.has('default') ? kw.get('default')! : v; }));
    }
    const [name, ...rest] = args;
    const node = { type: 'CallExpression', callee: { type: 'Identifier', value: name.value }, args: [...rest.map(literalOf), ...[...kw].map(([key, value]) => ({ type: 'KeywordArgumentExpression', key: { value: key }, value: literalOf(value) }))] };
    return list(items.map((item) => ctx.interpreter.applyFilter(item, node, ctx.env)));
  },
  sum: (operand, args, kw) => {
    const attr = kw.get('attribute') ?? args[0];
    let total: JinjaValue = kw.get('start') ?? args[1] ?? int(0);
    for (const item of iterate(operand)) {
      const v = attr && attr.type !== 'NullValue' ? attribute(item, attr) : item;
      if (isNumber(total) && isNumber(v)) total = total.type === 'FloatValue' || v.type === 'FloatValue' ? new Py.float(Number(total.value) + Number(v.value)) : int(Number(total.value) + Number(v.value));
      else if (isSequence(total) && total.type === v.type) total = new (total.type === 'TupleValue' ? Py.tuple : Py.list)([...total.value as JinjaValue[], ...v.value as JinjaValue[]]);
      else throw new TypeError(`sum: unsupported operand type(s) for +: '${pyTypeName(total)}' and '${pyTypeName(v)}'`);
    }
    return total;
  },
  length: (operand) => int(operand.type === 'StringValue' ? chars(operand.value as string).length : operand.type === 'ObjectValue' ? (operand.value as Map<string, unknown>).size : iterate(operand).length),
  first: (operand) => (operand.type === 'ObjectValue' ? undefined : iterate(operand)[0] ?? new Py.undefined(undefined)),
  last: (operand) => (operand.type === 'ObjectValue' ? undefined : iterate(operand).at(-1) ?? new Py.undefined(undefined)),
  list: (operand) => list([...iterate(operand)]),
  items: (operand) => (operand.type === 'UndefinedValue' ? list([]) : operand.type === 'ObjectValue' ? dictProto.items.call(operand) : undefined),
  dictsort: (operand, args, kw) => {
    if (operand.type !== 'ObjectValue') throw new TypeError(`dictsort: a dict is required, not ${pyTypeName(operand)}`);
    const caseSensitive = kw.get('case_sensitive') ?? args[0] ?? new Py.bool(false);
    const by = String((kw.get('by') ?? args[1] ?? str('key')).value);
    if (by !== 'key' && by !== 'value') throw new Error("dictsort: by must be 'key' or 'value'");
    const reverse = truthy(kw.get('reverse') ?? args[2] ?? new Py.bool(false));
    const settings: Kwargs = new Map([['case_sensitive', caseSensitive]]);
    return sortedBy(dictProto.items.call(operand).value as JinjaValue[], (pair) => sortKey((pair.value as JinjaValue[])[by === 'key' ? 0 : 1], settings), (a, b) => pyCompare(a, b), reverse);
  },
  sort: (operand, args, kw) => {
    const reverse = truthy(kw.get('reverse') ?? args[0] ?? new Py.bool(false));
    const settings: Kwargs = new Map([['case_sensitive', kw.get('case_sensitive') ?? args[1] ?? new Py.bool(false)]]);
    const attributes = kw.get('attribute') ?? args[2];
    const paths = attributes && attributes.type !== 'NullValue' ? String(attributes.value).split(',').map((a) => str(a.trim())) : [undefined];
    const order = (a: JinjaValue[], b: JinjaValue[]) => { for (let i = 0; i < a.length; i++) { const c = pyCompare(a[i], b[i]); if (c) return c; } return 0; };
    return sortedBy(iterate(operand), (item) => paths.map((p) => sortKey(item, settings, p)), order, reverse);
  },
  unique: (operand, args, kw) => {
    const seen: JinjaValue[] = [], out: JinjaValue[] = [];
    const unhashable = (v: JinjaValue): boolean => v.type === 'ArrayValue' || v.type === 'ObjectValue' || (v.type === 'TupleValue' && (v.value as JinjaValue[]).some(unhashable));
    const settings = keySettings(args, kw);
    for (const item of iterate(operand)) {
      const key = sortKey(item, settings);
      if (unhashable(key)) throw new TypeError(`unique: unhashable type: '${pyTypeName(key)}'`);
      if (!seen.some((k) => pythonEquals(k, key))) { seen.push(key); out.push(item); }
    }
    return list(out);
  },

  batch: (operand, [size, fill]) => {
    const n = Number(size.value), out: JinjaValue[] = [];
    let row: JinjaValue[] = [];
    for (const item of iterate(operand)) {
      if (row.length === n) { out.push(list(row)); row = []; }
      row.push(item);
    }
    if (row.length) {
      if (fill && fill.type !== 'NullValue') while (row.length < n) row.push(fill);
      out.push(list(row));
    }
    return list(out);
  },
  slice: (operand, [slices, fill]) => {
    const seq = iterate(operand), n = Number(slices.value), per = Math.floor(seq.length / n), extra = seq.length % n, out: JinjaValue[] = [];
    let offset = 0;
    for (let i = 0; i < n; i++) {
      const start = offset + i * per;
      if (i < extra) offset++;
      const part = seq.slice(start, offset + (i + 1) * per);
      if (fill && fill.type !== 'NullValue' && i >= extra) part.push(fill);
      out.push(list(part));
    }
    return list(out);
  },
  reverse: (operand) => (operand.type === 'StringValue' ? str(chars(operand.value as string).reverse().join('')) : undefined),
  round: (operand, args, kw) => {
    const precision = Number((kw.get('precision') ?? args[0] ?? int(0)).value);
    const method = String((kw.get('method') ?? args[1] ?? str('common')).value);
    if (!isNumber(operand)) throw new TypeError(`round: a number is required, not ${pyTypeName(operand)}`);
    const x = Number(operand.value);
    if (method === 'common') return operand.type === 'FloatValue' ? new Py.float(pyRound(x, precision)) : int(x);
    if (method !== 'ceil' && method !== 'floor') throw new Error("round: method must be 'common', 'ceil' or 'floor'");
    return new Py.float(Math[method](x * 10 ** precision) / 10 ** precision);
  },
  int: (operand, args, kw) => {
    if (operand.type === 'UndefinedValue') throw new Error('UndefinedError: int of an undefined value');
    const fallback = kw.get('default') ?? args[0] ?? int(0);
    if (operand.type === 'StringValue') {
      const text = operand.value as string;
      const base = Number((kw.get('base') ?? args[1] ?? int(10)).value);
      const n = pyIntOf(text, base) ?? (base === 10 ? pyFloatOf(text) : undefined);
      return n === undefined || !Number.isFinite(n) ? fallback : int(Math.trunc(n));
    }
    if (isNumber(operand)) return Number.isFinite(Number(operand.value)) ? int(Math.trunc(Number(operand.value))) : fallback;
    return fallback;
  },
  float: (operand, args, kw) => {
    if (operand.type === 'UndefinedValue') throw new Error('UndefinedError: float of an undefined value');
    const fallback = kw.get('default') ?? args[0] ?? new Py.float(0);
    if (operand.type === 'StringValue') { const x = pyFloatOf(operand.value as string); return x === undefined ? fallback : new Py.float(x); }
    return isNumber(operand) ? new Py.float(Number(operand.value)) : fallback;
  },
  abs: (operand) => (isNumber(operand) ? new (operand.type === 'FloatValue' ? Py.float : Py.int)(Math.abs(Number(operand.value))) : undefined),
  string: (operand) => str(pyStr(operand)),
  join: (operand, args, kw) => {
    const attr = kw.get('attribute') ?? args[1];
    const separator = asString(kw.get('d') ?? args[0] ?? str(''));
    return str(iterate(operand).map((item) => pyStr(attr && attr.type !== 'NullValue' ? attribute(item, attr) : item)).join(separator));
  },
  // (the engine's str.replace, on the operand's and arguments' str(), as jinja2's do_replace)
  replace: (operand, args, kw) => {
    const count = kw.get('count') ?? args[2];
    const engineReplace = (new Py.str(asString(operand)) as unknown as { builtins: Map<string, JinjaValue> }).builtins.get('replace')!.value as (args: JinjaValue[]) => JinjaValue;
    return engineReplace([str(asString(args[0])), str(asString(args[1])), ...(count ? [count] : [])]);
  },
  trim: (operand, [chars]) => str(stripChars(asString(operand), chars?.value, true, true)),
  // (jinja2's do_title: words split at spaces, -, (, {, [ and <; each word's first character upper-cased, the rest lowered)
  title: (operand) => str(asString(operand).split(WORD_BEGINNINGS).filter(Boolean).map((w) => { const cs = chars(w); return cs[0].toUpperCase() + cs.slice(1).join('').toLowerCase(); }).join('')),
  capitalize: (operand) => str(pyCapitalize(asString(operand))),
  upper: (operand) => str(asString(operand).toUpperCase()),
  lower: (operand) => str(asString(operand).toLowerCase()),
  center: (operand, [width]) => str(pyCenter(asString(operand), width ? Number(width.value) : 80)),
  wordcount: (operand) => int((asString(operand).match(/[\p{L}\p{N}_]+/gu) ?? []).length),
  truncate: (operand, args, kw) => {
    const s = chars(asString(operand));
    const length = Number((kw.get('length') ?? args[0] ?? int(255)).value), killwords = truthy(kw.get('killwords') ?? args[1] ?? new Py.bool(false));
    const end = asString(kw.get('end') ?? args[2] ?? str('...')), leeway = Number((kw.get('leeway') ?? args[3] ?? int(5)).value);
    if (s.length <= length + leeway) return str(s.join(''));
    const head = s.slice(0, length - chars(end).length).join('');
    return str((killwords ? head : head.lastIndexOf(' ') >= 0 ? head.slice(0, head.lastIndexOf(' ')) : head) + end);
  },
  escape: (operand) => str(asString(operand).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&#34;').replace(/'/g, '&#39;')),
  format: (operand, args, kw) => str(pyPercentFormat(asString(operand), kw.size ? new Py.dict(kw) : new Py.tuple(args))),
  // (an attribute, not an item: a dict's keys are not its attributes, its methods are)
  attr: (operand, [name]) => (operand as unknown as { builtins: Map<string, JinjaValue> }).builtins.get(String(name.value)) ?? new Py.undefined(undefined),
};
FILTERS.count = FILTERS.length;
// `(x,)` as the parser reads it (jinja_python.ts's token rewrite): a one-item tuple
FILTERS.__tstorch_tuple = (operand) => new Py.tuple([operand]);
// `()` as the parser reads it: the empty list made a tuple
FILTERS.__tstorch_tuple_of = (operand) => new Py.tuple(operand.value as JinjaValue[]);
// `x is name(args)` as the parser reads it (jinja_python.ts's token rewrite): the named test, negated or not
FILTERS.__tstorch_test = (operand, [name, negate, ...args], _kw, { env }) => new Py.bool(findTest(env, name)(operand, ...args) !== truthy(negate));
FILTERS.e = FILTERS.escape;
FILTERS.forceescape = FILTERS.escape;
FILTERS.d = (operand, args) => (operand.type === 'UndefinedValue' || (truthy(args[1] ?? new Py.bool(false)) && !truthy(operand)) ? args[0] ?? str('') : operand);

type FilterApplier = {
  applyFilter(operand: JinjaValue, filter: { type: string; value?: unknown; callee?: { type: string; value: unknown }; args?: unknown[] }, env: unknown): JinjaValue;
  evaluateArguments(args: unknown[], env: unknown): [JinjaValue[], Kwargs];
};
const interpreter = Interpreter.prototype as unknown as FilterApplier;
const engineFilter = interpreter.applyFilter;
interpreter.applyFilter = function (this: FilterApplier, operand, filter, env) {
  const name = filter.type === 'Identifier' ? filter.value : filter.type === 'CallExpression' && filter.callee?.type === 'Identifier' ? filter.callee.value : undefined;
  const ours = FILTERS[name as string];
  if (ours) {
    const [args, kwargs] = filter.type === 'CallExpression' ? this.evaluateArguments(filter.args ?? [], env) : [[], new Map<string, JinjaValue>()];
    const result = withArguments(`the ${String(name)} filter`, () => ours(operand, args, kwargs, { interpreter: this, env }));
    if (result) return result;
  }
  return engineFilter.call(this, operand, filter, env);
};
