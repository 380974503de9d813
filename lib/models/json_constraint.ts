// Generation held to JSON (OpenAI's response_format, as vLLM serves it): at each step only the
// tokens that keep the reply the start of a JSON object are allowed, and the end token only once
// the object is closed. {"type": "json_object"} asks for any object; {"type": "json_schema"} for
// one that a JSON Schema accepts (the keywords below; any other is refused, never ignored).
// JSON is RFC 8259's read byte by byte: strings in strict UTF-8 without control characters,
// escapes as JSON has them, numbers without leading zeros, whitespace between the parts but none
// before the object or after it, and one limit of tstorch's own: a run of whitespace holds one line
// break and up to 64 bytes (a small model held to JSON otherwise writes newlines until max_tokens).
// A schema's properties come in the order it lists them (optional ones may be left out), as
// xgrammar, vLLM's engine, writes its grammar; additional properties where it allows them. A
// string's pattern or format and lengths, and a number's or an integer's bounds, are
// regex_constraint.ts's machines stepped along the value's text (a pattern as re.search reads it:
// found anywhere unless anchored; $ the text's end, as ECMA-262's and Pydantic's, not Python's; a
// bounded number written out in full, number_range.ts).
// The reply's bytes go through a pushdown machine (a stack of immutable frames), held token by
// token by token_constraint.ts.
import type { GPT2Tokenizer } from './tokenizer';
import { readPrefix, tokenConstraint, type ByteMachine } from './token_constraint';
import { RegexGrammar, type RegexState } from './regex_constraint';
import { numberRange, type NumberBound } from './number_range';

// ---- what a schema compiles to ----

type Node =
  | { id: number; kind: 'object'; props: Prop[]; additional: Node | null; minProps: number; maxProps: number }
  | { id: number; kind: 'array'; prefix: Node[]; items: Node | null; min: number; max: number } // (prefix: prefixItems, a tuple's; items: the rest, null: none)
  | { id: number; kind: 'string'; values: number[][] | null; check: RegexGrammar | null } // (values: the raw bytes each allowed string has between its quotes; check: what its text must match, pattern or format and lengths)
  | { id: number; kind: 'number'; integer: boolean; range: RegexGrammar | null } // (range: the texts allowed by minimum and maximum)
  | { id: number; kind: 'literal'; texts: number[][] } // (true, false, null, or exact integers)
  | { id: number; kind: 'union'; options: Node[] };
/** A listed property: its name's bytes as JSON writes them (raw), the same one byte a character (key: what a key string read is compared with). */
interface Prop { raw: number[]; key: string; node: Node; required: boolean }

const bytesOf = (s: string): number[] => [...Buffer.from(s, 'utf8')];
/** A string's bytes between its quotes as JSON writes it (escaped where it must be). */
const rawString = (s: string): number[] => bytesOf(JSON.stringify(s).slice(1, -1));

let nextId = 0;
function node<K extends Node['kind']>(kind: K, fields: Omit<Extract<Node, { kind: K }>, 'id' | 'kind'>): Extract<Node, { kind: K }> {
  return { id: nextId++, kind, ...fields } as Extract<Node, { kind: K }>;
}

/** Any JSON value (an object of any keys, an array of anything, ...). */
const ANY: Node = node('union', { options: [] });
const ANY_OBJECT = node('object', { props: [], additional: ANY, minProps: 0, maxProps: Infinity });
(ANY as { options: Node[] }).options.push(
  ANY_OBJECT, node('array', { prefix: [], items: ANY, min: 0, max: Infinity }), node('string', { values: null, check: null }), node('number', { integer: false, range: null }),
  node('literal', { texts: ['true', 'false', 'null'].map(bytesOf) }),
);

/** Keywords that only describe: read past. */
const ANNOTATIONS = new Set(['title', 'description', 'default', 'examples', '$schema', '$id', '$comment', 'deprecated', 'readOnly', 'writeOnly', '$defs', 'definitions']);
const TYPE_KEYWORDS: Record<string, string[]> = {
  object: ['properties', 'required', 'additionalProperties', 'minProperties', 'maxProperties'],
  array: ['items', 'prefixItems', 'minItems', 'maxItems'],
  string: ['minLength', 'maxLength', 'pattern', 'format'], integer: ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum'],
  number: ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum'], boolean: [], null: [],
};

/** A JSON Schema compiled for generation; what it cannot hold a reply to is an error that says so. */
export class JsonGrammar {
  /** compact: no whitespace between JSON's parts (vLLM's disable_any_whitespace); inside strings as ever. */
  private constructor(readonly root: Node, readonly compact = false) {}

  /** This grammar as token_constraint.ts's machine. */
  machine(): ByteMachine<unknown> {
    return machineOf(this) as ByteMachine<unknown>;
  }

  /** Any JSON object (response_format json_object); compact: written without whitespace between its parts. */
  static object(opts: { compact?: boolean } = {}): JsonGrammar {
    return new JsonGrammar(ANY_OBJECT, opts.compact === true);
  }

  /**
   * The objects a JSON Schema accepts: type (one or a list; nullable), properties, required,
   * additionalProperties, minProperties, maxProperties, items, minItems, maxItems, enum, const, anyOf, oneOf (as anyOf), local
   * $ref (#/$defs/..., #/definitions/...), a string's pattern or format (date-time, date, time,
   * uuid, ipv4, email) and its minLength and maxLength, a number's or an integer's minimum, maximum,
   * exclusiveMinimum and exclusiveMaximum, prefixItems (a tuple's), allOf of one schema;
   * annotations are read past. The root must be an object (or, with anyRoot, any value: an array
   * of tool_choice "required"'s calls, a bare string or number as vLLM's structured outputs json
   * takes it; a number at the root may end wherever it is a whole one).
   * noAdditional: no object has keys beyond those it lists unless additionalProperties says so,
   * also one that lists none (vLLM's disable_additional_properties); compact: as object()'s.
   */
  static fromSchema(schema: unknown, opts: { anyRoot?: boolean; noAdditional?: boolean; compact?: boolean } = {}): JsonGrammar {
    const refs = new Map<string, Node>();
    const compile = (s: unknown, where: string): Node => {
      if (s === true || (isObject(s) && !Object.keys(s).some((k) => !ANNOTATIONS.has(k)))) return ANY;
      if (!isObject(s)) throw new Error(`${where}: a schema must be an object (or true), got ${JSON.stringify(s)}`);
      if (typeof s.$ref === 'string') {
        const rest = Object.keys(s).filter((k) => k !== '$ref' && !ANNOTATIONS.has(k));
        if (rest.length) throw new Error(`${where}: ${rest.join(', ')} beside $ref is not served: put ${rest.length > 1 ? 'them' : 'it'} in the definition`);
        return ref(s.$ref, where);
      }
      if (s.enum !== undefined || s.const !== undefined) return constants(s.enum !== undefined ? s.enum : [s.const], `${where}.${s.enum !== undefined ? 'enum' : 'const'}`);
      // (allOf of one schema, as Pydantic v1 wraps a described $ref: that schema)
      if (s.allOf !== undefined) {
        const rest = Object.keys(s).filter((k) => k !== 'allOf' && !ANNOTATIONS.has(k));
        if (!Array.isArray(s.allOf) || s.allOf.length !== 1 || rest.length) throw new Error(`${where}: 'allOf' is served with one schema and nothing beside it (a reply cannot be held to an intersection here): merge them into one schema`);
        return compile(s.allOf[0], `${where}.allOf[0]`);
      }
      for (const key of ['anyOf', 'oneOf'] as const) {
        if (s[key] !== undefined) {
          if (!Array.isArray(s[key]) || !(s[key] as unknown[]).length) throw new Error(`${where}.${key} must be a non-empty list of schemas`);
          const rest = Object.keys(s).filter((k) => k !== key && !ANNOTATIONS.has(k));
          if (rest.length) throw new Error(`${where}: ${key} beside ${rest.join(', ')} is not served: put those keywords in each of its schemas`);
          return node('union', { options: (s[key] as unknown[]).map((o, i) => compile(o, `${where}.${key}[${i}]`)) });
        }
      }
      const types = s.type === undefined ? undefined : Array.isArray(s.type) ? s.type : [s.type];
      if (types === undefined) throw new Error(`${where}: a schema needs a type (or enum, const, anyOf, $ref) to hold a reply to`);
      if (s.nullable === true && !types.includes('null')) types.push('null');
      const allowed = new Set(['type', 'nullable', ...types.flatMap((t) => TYPE_KEYWORDS[t as string] ?? [])]);
      const other = Object.keys(s).filter((k) => !allowed.has(k) && !ANNOTATIONS.has(k));
      if (other.length) throw new Error(`${where}: ${other.map((k) => `'${k}'`).join(', ')} ${other.length > 1 ? 'are' : 'is'} not served (a reply cannot be held to ${other.length > 1 ? 'them' : 'it'} here)${types.length > 1 ? ' with these types' : ''}: leave ${other.length > 1 ? 'them' : 'it'} out and check the reply`);
      const options = types.map((t) => typed(t, s, where));
      return options.length === 1 ? options[0] : node('union', { options });
    };
    const typed = (type: unknown, s: Record<string, unknown>, where: string): Node => {
      switch (type) {
        case 'object': return objectNode(s, where);
        case 'array': {
          if (s.items !== undefined && !isObject(s.items) && typeof s.items !== 'boolean') throw new Error(`${where}.items must be one schema (a tuple's list is prefixItems since draft 2020-12: give prefixItems)`);
          if (s.prefixItems !== undefined && !Array.isArray(s.prefixItems)) throw new Error(`${where}.prefixItems must be a list of schemas`);
          const prefix = ((s.prefixItems ?? []) as unknown[]).map((p, i) => compile(p, `${where}.prefixItems[${i}]`));
          const items = s.items === false ? null : s.items === undefined || s.items === true ? ANY : compile(s.items, `${where}.items`);
          const min = count(s.minItems, 0, `${where}.minItems`);
          const max = Math.min(count(s.maxItems, Infinity, `${where}.maxItems`), items ? Infinity : prefix.length);
          if (min > max) throw new Error(`${where}: minItems ${min} > ${max} (maxItems, or the prefixItems with items false): no array fits`);
          return node('array', { prefix, items, min, max });
        }
        case 'string': return node('string', { values: null, check: stringCheck(s, where) });
        case 'integer': return node('number', { integer: true, range: integerRange(s, where) });
        case 'number': return node('number', { integer: false, range: numberRangeOf(s, where) });
        case 'boolean': return node('literal', { texts: ['true', 'false'].map(bytesOf) });
        case 'null': return node('literal', { texts: [bytesOf('null')] });
        default: throw new Error(`${where}.type must be object, array, string, number, integer, boolean or null, got ${JSON.stringify(type)}`);
      }
    };
    const objectNode = (s: Record<string, unknown>, where: string): Node => {
      const properties = s.properties ?? {};
      if (!isObject(properties)) throw new Error(`${where}.properties must be an object of schemas`);
      const required = s.required ?? [];
      if (!Array.isArray(required) || required.some((r) => typeof r !== 'string')) throw new Error(`${where}.required must be a list of property names`);
      const missing = required.filter((r) => !Object.hasOwn(properties, r));
      if (missing.length) throw new Error(`${where}.required names ${missing.join(', ')}, not among its properties: add ${missing.length > 1 ? 'them' : 'it'} to properties`);
      const props = Object.entries(properties).map(([name, p]) => {
        const raw = rawString(name);
        return { raw, key: String.fromCharCode(...raw), node: compile(p, `${where}.properties.${name}`), required: required.includes(name) };
      });
      // (no properties given: any keys, as JSON Schema; properties given: only those unless additionalProperties says more, as xgrammar's strict mode)
      const extra = s.additionalProperties;
      const additional = extra === undefined ? (s.properties !== undefined || opts.noAdditional ? null : ANY) : extra === false ? null : compile(extra, `${where}.additionalProperties`);
      // (minProperties / maxProperties, as xgrammar holds them: how many keys the object writes)
      const minProps = count(s.minProperties, 0, `${where}.minProperties`), maxProps = count(s.maxProperties, Infinity, `${where}.maxProperties`);
      const most = additional ? maxProps : Math.min(maxProps, props.length), least = Math.max(minProps, required.length);
      if (least > most) throw new Error(`${where}: no object fits: it needs ${least} keys (minProperties or required) and may have ${most} (maxProperties, or the properties listed${additional ? '' : ' with no others allowed'})`);
      return node('object', { props, additional, minProps, maxProps });
    };
    const constants = (values: unknown, where: string): Node => {
      if (!Array.isArray(values) || !values.length) throw new Error(`${where} must be a non-empty list`);
      const strings = values.filter((v): v is string => typeof v === 'string').map(rawString);
      const numbers: Node[] = [];
      const literals = values.filter((v) => typeof v !== 'string').flatMap((v) => {
        if (v === null || typeof v === 'boolean' || (typeof v === 'number' && Number.isSafeInteger(v))) return [bytesOf(JSON.stringify(v))];
        // (any other number: the texts that read as it, as a number's bounds hold them)
        if (typeof v === 'number' && Number.isFinite(v)) {
          let range: RegexGrammar;
          try {
            range = numberRange({ value: v, exclusive: false }, { value: v, exclusive: false });
          } catch (e) {
            throw new Error(`${where}: ${(e as Error).message}`);
          }
          numbers.push(node('number', { integer: false, range }));
          return [];
        }
        throw new Error(`${where}: ${JSON.stringify(v)} is not served (strings, numbers, true, false and null are)`);
      });
      const options: Node[] = [...numbers];
      if (strings.length) options.push(node('string', { values: strings, check: null }));
      if (literals.length) options.push(node('literal', { texts: literals }));
      return options.length === 1 ? options[0] : node('union', { options });
    };
    const ref = (path: string, where: string): Node => {
      const m = /^#\/(\$defs|definitions)\/([^/]+)$/.exec(path);
      if (!m) throw new Error(`${where}.$ref ${JSON.stringify(path)}: only local references (#/$defs/NAME, #/definitions/NAME) are served`);
      const defs = isObject(schema) ? schema[m[1]] : undefined;
      const name = m[2].replace(/~1/g, '/').replace(/~0/g, '~');
      if (!isObject(defs) || !Object.hasOwn(defs, name)) throw new Error(`${where}.$ref ${JSON.stringify(path)}: no such definition`);
      let target = refs.get(path);
      if (!target) {
        // (a stand-in first, so a schema that refers to itself compiles: its node is filled in after)
        const standIn = node('union', { options: [] });
        refs.set(path, standIn);
        standIn.options.push(compile(defs[name], path));
        target = standIn;
      }
      return target;
    };
    const root = compile(schema, 'schema');
    const rootIsObject = (n: Node): boolean => n.kind === 'object' || (n.kind === 'union' && n.options.length > 0 && n.options.every(rootIsObject));
    if (!opts.anyRoot && !rootIsObject(root)) throw new Error('schema: the reply must be an object: give the schema type "object" (OpenAI\'s structured outputs ask the same)');
    return new JsonGrammar(root, opts.compact === true);
  }
}

const BOUNDS = ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum'];

// The formats served, as the texts RFC 3339, RFC 4122, RFC 791, RFC 4291 (as RFC 3986 writes an
// IPv6 address), RFC 3986 (uri, uri-reference) and RFC 6901 (json-pointer) write (a date's day
// within its month, February 29 in leap years; years 0001-9999, as Python's datetime; no zone
// after an IPv6 address); an email address as a dot-atom local part @ a domain of
// letter-digit-hyphen labels (stricter than JSON Schema's "email", which asks only for an @: what a
// model is held to here is an address mail systems take).
const YEAR = '(?:000[1-9]|00[1-9]\\d|0[1-9]\\d{2}|[1-9]\\d{3})';
const LEAP_YEAR = '(?:\\d{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)';
const DATE = `(?:${YEAR}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\\d|30)|02-(?:0[1-9]|1\\d|2[0-8]))|${LEAP_YEAR}-02-29)`;
const TIME = '(?:[01]\\d|2[0-3]):[0-5]\\d:(?:[0-5]\\d|60)(?:\\.\\d+)?(?:[Zz]|[+-](?:[01]\\d|2[0-3]):[0-5]\\d)';
const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const ATOM = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+";
const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const IPV4 = `${OCTET}(?:\\.${OCTET}){3}`;
const H16 = '[0-9A-Fa-f]{1,4}';
const LS32 = `(?:${H16}:${H16}|${IPV4})`;
// (RFC 3986's nine forms: the groups before and after "::", 8 in all or fewer with "::" for the rest)
const IPV6 = `(?:(?:${H16}:){6}${LS32}|::(?:${H16}:){5}${LS32}|(?:${H16})?::(?:${H16}:){4}${LS32}|(?:(?:${H16}:){0,1}${H16})?::(?:${H16}:){3}${LS32}|(?:(?:${H16}:){0,2}${H16})?::(?:${H16}:){2}${LS32}|(?:(?:${H16}:){0,3}${H16})?::${H16}:${LS32}|(?:(?:${H16}:){0,4}${H16})?::${LS32}|(?:(?:${H16}:){0,5}${H16})?::${H16}|(?:(?:${H16}:){0,6}${H16})?::)`;
// (RFC 3986's URI grammar: unreserved, percent-encoded and sub-delims characters in their places)
const PCT = '%[0-9A-Fa-f]{2}';
const PCHAR = `(?:[A-Za-z0-9._~!$&'()*+,;=:@-]|${PCT})`;
const SEGMENT_NZ_NC = `(?:[A-Za-z0-9._~!$&'()*+,;=@-]|${PCT})+`;
const AUTHORITY = `(?:(?:[A-Za-z0-9._~!$&'()*+,;=:-]|${PCT})*@)?(?:\\[(?:${IPV6}|v[0-9A-Fa-f]+\\.[A-Za-z0-9._~!$&'()*+,;=:-]+)\\]|(?:[A-Za-z0-9._~!$&'()*+,;=-]|${PCT})*)(?::[0-9]*)?`;
const PATH_ABSOLUTE = `/(?:${PCHAR}+(?:/${PCHAR}*)*)?`;
const QUERY_FRAGMENT = `(?:\\?(?:${PCHAR}|[/?])*)?(?:#(?:${PCHAR}|[/?])*)?`;
const URI = `[A-Za-z][A-Za-z0-9+.-]*:(?://${AUTHORITY}(?:/${PCHAR}*)*|${PATH_ABSOLUTE}|${PCHAR}+(?:/${PCHAR}*)*)?${QUERY_FRAGMENT}`;
const RELATIVE_REF = `(?://${AUTHORITY}(?:/${PCHAR}*)*|${PATH_ABSOLUTE}|${SEGMENT_NZ_NC}(?:/${PCHAR}*)*)?${QUERY_FRAGMENT}`;
const FORMATS: Record<string, string> = {
  'date-time': `${DATE}[Tt]${TIME}`, date: DATE, time: TIME,
  uuid: '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}',
  ipv4: IPV4,
  ipv6: IPV6,
  email: `${ATOM}(?:\\.${ATOM})*@(?:${LABEL}\\.)+[A-Za-z]{2,63}`,
  uri: URI,
  'uri-reference': `(?:${URI}|${RELATIVE_REF})`,
  'json-pointer': '(?:/(?:[^~/]|~[01])*)*',
};
const formatGrammars = new Map<string, RegexGrammar>();

/** A format's texts (compiled once). */
export function formatGrammar(format: string): RegexGrammar | undefined {
  if (!Object.hasOwn(FORMATS, format)) return undefined;
  let g = formatGrammars.get(format);
  if (!g) formatGrammars.set(format, (g = RegexGrammar.fromPattern(FORMATS[format])));
  return g;
}

/**
 * What a string schema's text must match: its pattern (as Python's re.search reads it, \\d \\w \\s
 * ASCII's) or format, within its minLength and maxLength (characters); null where nothing.
 */
function stringCheck(s: Record<string, unknown>, where: string): RegexGrammar | null {
  if (s.pattern !== undefined && s.format !== undefined) throw new Error(`${where}: pattern beside format is not served (a reply is held to one of them here): give one`);
  let check: RegexGrammar | null = null;
  if (s.format !== undefined) {
    check = typeof s.format === 'string' ? formatGrammar(s.format) ?? null : null;
    if (!check) throw new Error(`${where}.format ${JSON.stringify(s.format)} is not served (${Object.keys(FORMATS).join(', ')} are): leave it out, or give a pattern`);
  }
  if (s.pattern !== undefined) {
    if (typeof s.pattern !== 'string') throw new Error(`${where}.pattern must be a string (a regular expression)`);
    try {
      check = RegexGrammar.search(s.pattern);
    } catch (e) {
      throw new Error(`${where}.pattern: ${(e as Error).message}`);
    }
  }
  if (s.minLength !== undefined || s.maxLength !== undefined) {
    const min = count(s.minLength, 0, `${where}.minLength`), max = count(s.maxLength, Infinity, `${where}.maxLength`);
    if (min > max) throw new Error(`${where}: minLength ${min} > maxLength ${max}: no string fits`);
    if (Math.max(min, max === Infinity ? 0 : max) > 10000) throw new Error(`${where}: a length over 10000 is not served`);
    try {
      check = check ? check.withLength(min, max) : RegexGrammar.length(min, max);
    } catch (e) {
      throw new Error(`${where}: ${(e as Error).message}`);
    }
  }
  return check;
}

/** A number or integer schema's minimum, maximum, exclusiveMinimum and exclusiveMaximum (draft 6 on: numbers), the tighter where two are given; null: none. */
function boundsOf(s: Record<string, unknown>, where: string): { lo: NumberBound | null; hi: NumberBound | null } | null {
  const given = BOUNDS.filter((k) => s[k] !== undefined);
  if (!given.length) return null;
  for (const k of given) if (typeof s[k] !== 'number' || !Number.isFinite(s[k])) throw new Error(`${where}.${k} must be a number${typeof s[k] === 'boolean' ? ' (draft 4\'s boolean form is not served: give the bound itself)' : ''}`);
  const bound = (inclusive: string, exclusive: string, tighter: (a: number, b: number) => boolean): NumberBound | null => {
    const a = s[inclusive] as number | undefined, b = s[exclusive] as number | undefined;
    if (b !== undefined && (a === undefined || tighter(b, a) || a === b)) return { value: b, exclusive: true };
    return a === undefined ? null : { value: a, exclusive: false };
  };
  return { lo: bound('minimum', 'exclusiveMinimum', (x, y) => x > y), hi: bound('maximum', 'exclusiveMaximum', (x, y) => x < y) };
}

/** An integer schema's bounds as the range its text must be in. */
function integerRange(s: Record<string, unknown>, where: string): RegexGrammar | null {
  const bounds = boundsOf(s, where);
  if (!bounds) return null;
  const { lo, hi } = bounds;
  try {
    return RegexGrammar.integerRange(
      lo ? (lo.exclusive ? Math.floor(lo.value) + 1 : Math.ceil(lo.value)) : -Infinity,
      hi ? (hi.exclusive ? Math.ceil(hi.value) - 1 : Math.floor(hi.value)) : Infinity,
    );
  } catch (e) {
    throw new Error(`${where}: ${(e as Error).message}`);
  }
}

/** A number schema's bounds as the range its text must be in (number_range.ts: written out in full, up to 32 characters). */
function numberRangeOf(s: Record<string, unknown>, where: string): RegexGrammar | null {
  const bounds = boundsOf(s, where);
  if (!bounds) return null;
  try {
    return numberRange(bounds.lo, bounds.hi);
  } catch (e) {
    throw new Error(`${where}: ${(e as Error).message}`);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
function count(v: unknown, fallback: number, where: string): number {
  if (v === undefined) return fallback;
  if (!Number.isSafeInteger(v) || (v as number) < 0) throw new Error(`${where} must be an integer >= 0, got ${JSON.stringify(v)}`);
  return v as number;
}

// ---- the machine ----

/**
 * One frame of the stack. `space`: the whitespace run so far where whitespace may come (bytes x 2,
 * + 1 once it has a line break; -1 where none may, before the whole object).
 */
type Frame =
  | { t: 'value'; node: Node; space: number } // a value of `node` comes next
  | { t: 'object'; node: Extract<Node, { kind: 'object' }>; phase: 'first' | 'key' | 'colon' | 'after'; next: number; prop: number; count: number; space: number }
  | { t: 'array'; node: Extract<Node, { kind: 'array' }>; phase: 'first' | 'after'; count: number; space: number }
  | { t: 'string'; free: boolean; cands: number[][] | null; pos: number; raw: string | null; escape: number; lo: number; hi: number; more: number; check: Check | null }
  | { t: 'number'; integer: boolean; sub: NumberPart; range: RegexGrammar | null; at: RegexState | null }
  | { t: 'literal'; cands: number[][]; pos: number }
  | { t: 'done' };
type NumberPart = 'minus' | 'zero' | 'int' | 'dot' | 'frac' | 'exp' | 'expSign' | 'expInt';
/**
 * A checked string's text so far, as its check reads it: its state, the \u escape's code unit
 * being read (unit), and a high surrogate waiting for its low one (high; 0: none).
 */
interface Check { grammar: RegexGrammar; at: RegexState; unit: number; high: number }
interface State { frame: Frame; up: State | null }

const isSpace = (b: number) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
const isDigit = (b: number) => b >= 0x30 && b <= 0x39;
const isHex = (b: number) => isDigit(b) || (b >= 0x61 && b <= 0x66) || (b >= 0x41 && b <= 0x46);
const ESCAPES = new Set([...'"\\/bfnrtu'].map((c) => c.charCodeAt(0)));
const MAX_SPACE_RUN = 64;
const DONE: State = { frame: { t: 'done' }, up: null };

const push = (frame: Frame, up: State | null): State => ({ frame, up });
/** The stack with its top frame replaced. */
const replaced = (s: State, frame: Frame): State => ({ frame, up: s.up });

/** The run of whitespace `space` with byte b added, or null where it would be too long (or none may come). */
function spaced(space: number, b: number): number | null {
  if (space < 0) return null;
  const bytes = space >> 1, lineBreak = space & 1;
  if (bytes >= MAX_SPACE_RUN || (b === 0x0a && lineBreak)) return null;
  return ((bytes + 1) << 1) | (b === 0x0a ? 1 : lineBreak);
}

/** The stack once the value on top of `up` is complete: its container goes on after it, or the whole object is done. */
function completed(up: State | null): State {
  if (!up) return DONE;
  const f = up.frame;
  if (f.t === 'object') return replaced(up, { ...f, phase: 'after', prop: -1, count: keyCount(f.node, f.count + 1), space: 0 });
  if (f.t === 'array') return replaced(up, { ...f, phase: 'after', count: f.count + 1, space: 0 });
  throw new Error('json_constraint: a value completed inside a frame that holds none');
}

/** An object's count of keys as its state keeps it: past minProperties, where there is no maxProperties, counts are alike. */
const keyCount = (n: Extract<Node, { kind: 'object' }>, count: number) => (n.maxProps === Infinity ? Math.min(count, n.minProps) : count);

/** How many required properties are still to come (at or after `next`). */
const requiredLeft = (f: Extract<Frame, { t: 'object' }>) => f.node.props.reduce((k, p, i) => k + (i >= f.next && p.required ? 1 : 0), 0);

/**
 * The properties whose key may come next: in the schema's order, up to the first required one
 * still to come; and of those, the ones that leave room within maxProperties for the required ones
 * after them and, where no other keys are allowed, enough listed ones after them for minProperties.
 */
function keyChoices(f: Extract<Frame, { t: 'object' }>): Prop[] {
  const props = f.node.props;
  let end = f.next;
  while (end < props.length && !props[end].required) end++;
  const left = requiredLeft(f);
  return props.slice(f.next, end + 1).filter((p, k) => {
    const i = f.next + k;
    return f.count + 1 + left - (p.required ? 1 : 0) <= f.node.maxProps && (f.node.additional !== null || f.count + props.length - i >= f.node.minProps);
  });
}

/** Whether a key not listed may come next: others are allowed, and one more leaves room for the required ones still to come. */
const freeKeyMayCome = (f: Extract<Frame, { t: 'object' }>) => f.node.additional !== null && f.count + 1 + requiredLeft(f) <= f.node.maxProps;

/** Whether an object may close here: no required property left at or after `next`, and minProperties written. */
const mayClose = (f: Extract<Frame, { t: 'object' }>) => requiredLeft(f) === 0 && f.count >= f.node.minProps;

/** The states after byte b (none: b cannot come next). */
function feed(s: State, b: number): State[] {
  const f = s.frame;
  // (whitespace between the parts: a value's, an object's and an array's)
  if (isSpace(b) && 'space' in f) {
    const space = spaced(f.space, b);
    return space === null ? [] : [replaced(s, { ...f, space })];
  }
  switch (f.t) {
    case 'done': return [];
    case 'value': return start(f.node, s.up, b);
    case 'object': {
      if (f.phase === 'colon') return b === 0x3a ? [push({ t: 'value', node: f.prop >= 0 ? f.node.props[f.prop].node : f.node.additional!, space: 0 }, replaced(s, { ...f, phase: 'after', space: 0 }))] : [];
      if (f.phase === 'after') {
        if (b === 0x2c) return keyChoices(f).length || freeKeyMayCome(f) ? [replaced(s, { ...f, phase: 'key', space: 0 })] : [];
        return b === 0x7d && mayClose(f) ? [completed(s.up)] : [];
      }
      if (f.phase === 'first' && b === 0x7d) return mayClose(f) ? [completed(s.up)] : [];
      if (b !== 0x22) return [];
      // a key: one of the properties that may come next, or (where additional ones are allowed) any
      const cands = keyChoices(f).map((p) => p.raw);
      const free = freeKeyMayCome(f);
      if (!free && !cands.length) return []; // (no key may come: no quote either, or it would lead nowhere)
      return [push({ t: 'string', free, cands: free ? null : cands, pos: 0, raw: free && f.node.props.length ? '' : null, escape: 0, lo: 0, hi: 0, more: 0, check: null }, s)];
    }
    case 'array': {
      if (b === 0x5d) return f.count >= f.node.min ? [completed(s.up)] : [];
      if (f.phase === 'after') return b === 0x2c && f.count < f.node.max ? [push({ t: 'value', node: itemAt(f.node, f.count), space: 0 }, s)] : [];
      return f.count < f.node.max ? start(itemAt(f.node, f.count), s, b) : [];
    }
    case 'string': return stringByte(s, f, b);
    case 'number': {
      const sub = numberByte(f.sub, b, f.integer);
      if (sub) {
        const at = f.range && f.range.step(f.at!, b);
        return !f.range || at ? [replaced(s, { ...f, sub, at })] : [];
      }
      // (a number ends where something else begins: what follows it, read by its container)
      return endsHere(f) && s.up ? feed(completed(s.up), b) : [];
    }
    case 'literal': {
      const cands = f.cands.filter((c) => c[f.pos] === b);
      if (cands.length) return [replaced(s, { ...f, cands, pos: f.pos + 1 })];
      return endsHere(f) && s.up ? feed(completed(s.up), b) : [];
    }
  }
}

/** The schema of an array's item at this place (the array's max keeps it within what may come). */
const itemAt = (n: Extract<Node, { kind: 'array' }>, place: number): Node => (place < n.prefix.length ? n.prefix[place] : n.items!);

/** The states where a value of `n` begins with byte b on top of `up`. */
function start(n: Node, up: State | null, b: number): State[] {
  switch (n.kind) {
    case 'union': return n.options.flatMap((o) => start(o, up, b));
    case 'object': return b === 0x7b ? [push({ t: 'object', node: n, phase: 'first', next: 0, prop: -1, count: 0, space: 0 }, up)] : [];
    case 'array': return b === 0x5b ? [push({ t: 'array', node: n, phase: 'first', count: 0, space: 0 }, up)] : [];
    case 'string': {
      const check = n.check ? { grammar: n.check, at: n.check.start, unit: 0, high: 0 } : null;
      return b === 0x22 ? [push({ t: 'string', free: n.values === null, cands: n.values, pos: 0, raw: null, escape: 0, lo: 0, hi: 0, more: 0, check }, up)] : [];
    }
    case 'number': {
      const sub: NumberPart | null = b === 0x2d ? 'minus' : b === 0x30 ? 'zero' : isDigit(b) ? 'int' : null;
      const at = n.range && n.range.step(n.range.start, b);
      return sub && (!n.range || at) ? [push({ t: 'number', integer: n.integer, sub, range: n.range, at }, up)] : [];
    }
    case 'literal': {
      const cands = n.texts.filter((t) => t[0] === b);
      return cands.length ? [push({ t: 'literal', cands, pos: 1 }, up)] : [];
    }
  }
}

/** A number's next part after byte b, or null where b does not go on with it. */
function numberByte(sub: NumberPart, b: number, integer: boolean): NumberPart | null {
  switch (sub) {
    case 'minus': return b === 0x30 ? 'zero' : isDigit(b) ? 'int' : null;
    case 'dot': return isDigit(b) ? 'frac' : null;
    case 'exp': return b === 0x2b || b === 0x2d ? 'expSign' : isDigit(b) ? 'expInt' : null;
    case 'expSign': return isDigit(b) ? 'expInt' : null;
    default:
      if (isDigit(b) && sub !== 'zero') return sub;
      if (integer) return null;
      if (b === 0x2e && (sub === 'zero' || sub === 'int')) return 'dot';
      if ((b === 0x65 || b === 0x45) && sub !== 'expInt') return 'exp';
      return null;
  }
}

/** A string's next byte: a fixed one of its allowed values (cands), or JSON's string rules (free). */
function stringByte(s: State, f: Extract<Frame, { t: 'string' }>, b: number): State[] {
  if (!f.free) {
    if (b === 0x22 && f.cands!.some((c) => c.length === f.pos)) return closeString(s, f);
    const cands = f.cands!.filter((c) => c[f.pos] === b);
    return cands.length ? [replaced(s, { ...f, cands, pos: f.pos + 1 })] : [];
  }
  const raw = f.raw === null ? null : f.raw + String.fromCharCode(b);
  const next = (fields: Partial<typeof f>): State[] => [replaced(s, { ...f, raw, ...fields })];
  if (f.check) return checkedStringByte(s, f, f.check, b, next);
  if (f.more > 0) { // (UTF-8 continuation bytes, the next in lo..hi)
    return b >= f.lo && b <= f.hi ? next({ more: f.more - 1, lo: 0x80, hi: 0xbf }) : [];
  }
  if (f.escape === 1) return ESCAPES.has(b) ? next({ escape: b === 0x75 ? 5 : 0 }) : [];
  if (f.escape > 1) return isHex(b) ? next({ escape: f.escape === 2 ? 0 : f.escape - 1 }) : [];
  if (b === 0x22) return closeString(s, f);
  if (b === 0x5c) return next({ escape: 1 });
  if (b < 0x20) return []; // (a control character must be escaped)
  if (b < 0x80) return f.raw === null ? [s] : next({});
  return utf8Lead(b, next);
}

/** A UTF-8 lead byte, and the continuation bytes it asks for, as a strict decoder takes them. */
function utf8Lead(b: number, next: (fields: Partial<Extract<Frame, { t: 'string' }>>) => State[]): State[] {
  // (a UTF-8 lead byte and the continuation bytes after it, as a strict decoder takes them: no
  // overlong forms, no surrogates, nothing past U+10FFFF; C0, C1 and F5.. never lead)
  if (b >= 0xc2 && b <= 0xdf) return next({ more: 1, lo: 0x80, hi: 0xbf });
  if (b === 0xe0) return next({ more: 2, lo: 0xa0, hi: 0xbf });
  if (b === 0xed) return next({ more: 2, lo: 0x80, hi: 0x9f });
  if (b >= 0xe1 && b <= 0xef) return next({ more: 2, lo: 0x80, hi: 0xbf });
  if (b === 0xf0) return next({ more: 3, lo: 0x90, hi: 0xbf });
  if (b === 0xf4) return next({ more: 3, lo: 0x80, hi: 0x8f });
  if (b >= 0xf1 && b <= 0xf3) return next({ more: 3, lo: 0x80, hi: 0xbf });
  return [];
}

// (what a JSON escape stands for)
const ESCAPED: Record<number, number> = { 0x22: 0x22, 0x5c: 0x5c, 0x2f: 0x2f, 0x62: 0x08, 0x66: 0x0c, 0x6e: 0x0a, 0x72: 0x0d, 0x74: 0x09 };

/**
 * A byte of a string whose text has a check (pattern or format, lengths): as stringByte, and the
 * check steps on: by the raw UTF-8 bytes, or by the character an escape stands for (a surrogate
 * pair's as one; a lone surrogate is no character, so no text of it passes). An escape goes on only
 * where some character it may still stand for is read; the string closes where the check passes.
 */
function checkedStringByte(s: State, f: Extract<Frame, { t: 'string' }>, c: Check, b: number, next: (fields: Partial<typeof f>) => State[]): State[] {
  const g = c.grammar;
  const stepped = (at: RegexState | null, fields: Partial<typeof f>): State[] => (at ? next({ ...fields, check: { grammar: g, at, unit: 0, high: 0 } }) : []);
  // (a \\u escape with `left` hex digits still to come, its code unit so far `unit`: whether some character it may stand for is read)
  const escapeGoesOn = (unit: number, left: number, high: number): boolean => {
    const lo = unit << (4 * left), hi = ((unit + 1) << (4 * left)) - 1;
    const part = (a: number, z: number): [number, number] | null => (Math.max(lo, a) <= Math.min(hi, z) ? [Math.max(lo, a), Math.min(hi, z)] : null);
    const pair = (h: number, l: number) => 0x10000 + ((h - 0xd800) << 10) + (l - 0xdc00);
    if (high) {
      const low = part(0xdc00, 0xdfff);
      return low !== null && g.canRead(c.at, pair(high, low[0]), pair(high, low[1]));
    }
    const plain = [part(0, 0xd7ff), part(0xe000, 0xffff)].filter((r): r is [number, number] => r !== null);
    const highs = part(0xd800, 0xdbff);
    return plain.some(([a, z]) => g.canRead(c.at, a, z)) || (highs !== null && g.canRead(c.at, pair(highs[0], 0xdc00), pair(highs[1], 0xdfff)));
  };
  const check = (fields: Partial<Check>) => ({ ...c, ...fields });
  if (f.more > 0) return b >= f.lo && b <= f.hi ? stepped(g.step(c.at, b), { more: f.more - 1, lo: 0x80, hi: 0xbf }) : [];
  if (f.escape === 1) {
    if (b === 0x75) return escapeGoesOn(0, 4, c.high) ? next({ escape: 5, check: check({ unit: 0 }) }) : [];
    return Object.hasOwn(ESCAPED, b) && !c.high ? stepped(g.stepChar(c.at, ESCAPED[b]), { escape: 0 }) : [];
  }
  if (f.escape > 1) {
    if (!isHex(b)) return [];
    const unit = c.unit * 16 + parseInt(String.fromCharCode(b), 16);
    if (f.escape > 2) return escapeGoesOn(unit, f.escape - 2, c.high) ? next({ escape: f.escape - 1, check: check({ unit }) }) : [];
    const isHigh = unit >= 0xd800 && unit <= 0xdbff, isLow = unit >= 0xdc00 && unit <= 0xdfff;
    if (c.high) return isLow ? stepped(g.stepChar(c.at, 0x10000 + ((c.high - 0xd800) << 10) + (unit - 0xdc00)), { escape: 0 }) : [];
    if (isHigh) return escapeGoesOn(unit, 0, 0) ? next({ escape: 0, check: check({ unit: 0, high: unit }) }) : [];
    return isLow ? [] : stepped(g.stepChar(c.at, unit), { escape: 0 });
  }
  // (a backslash: some character must be read next, by some escape)
  if (b === 0x5c) return (c.high || g.canRead(c.at, 0, 0x10ffff)) ? next({ escape: 1 }) : [];
  if (c.high) return []; // (a high surrogate's low one must follow it, escaped)
  if (b === 0x22) return g.accepts(c.at) ? closeString(s, f) : [];
  if (b < 0x20) return [];
  if (b < 0x80) return stepped(g.step(c.at, b), {});
  return utf8Lead(b, (fields) => stepped(g.step(c.at, b), fields));
}

/**
 * The stack once a string closes: a value done, or an object's key read (then its colon). A key
 * names one of the properties that may come next, or is an additional one (where they are
 * allowed) that names none of the object's properties: none repeats, none comes out of order.
 */
function closeString(s: State, f: Extract<Frame, { t: 'string' }>): State[] {
  const up = s.up!;
  if (up?.frame.t !== 'object' || up.frame.phase === 'after' || up.frame.phase === 'colon') return [completed(up)];
  const o = up.frame;
  const text = f.raw ?? (f.cands ? String.fromCharCode(...(f.cands.find((c) => c.length === f.pos) ?? [])) : null);
  const named = text === null ? undefined : keyChoices(o).find((p) => p.key === text);
  if (!named && text !== null && o.node.props.some((p) => p.key === text)) return [];
  const at = named ? o.node.props.indexOf(named) : -1;
  return [replaced(up, { ...o, phase: 'colon', prop: at, next: at >= 0 ? at + 1 : o.next, space: 0 })];
}

// ---- reading a reply, and the tokens allowed next ----

/**
 * A state as a key: everything that decides later steps. (A frame under the top one goes on with
 * its whitespace run reset, and an array's count matters only against its minItems and maxItems.)
 */
function keyOf(s: State): string {
  let key = '';
  for (let c: State | null = s; c; c = c.up) {
    const f = c.frame;
    const space = c === s && 'space' in f ? f.space : '';
    switch (f.t) {
      case 'value': key += `v${f.node.id},${space}|`; break;
      case 'object': key += `o${f.node.id},${f.phase},${f.next},${f.prop},${f.count},${space}|`; break;
      case 'array': key += `a${f.node.id},${f.phase},${f.node.max === Infinity ? Math.min(f.count, Math.max(f.node.min, f.node.prefix.length)) : f.count},${space}|`; break;
      case 'string': {
        const check = f.check ? `${f.check.at.key},${f.check.unit},${f.check.high}` : '';
        key += `s${f.free ? 1 : 0},${f.cands?.map((x) => x.join('.')).join(' ') ?? ''},${f.pos},${f.raw ?? ''},${f.escape},${f.lo},${f.hi},${f.more},${check}|`;
        break;
      }
      case 'number': key += `n${f.integer ? 1 : 0},${f.sub},${f.at?.key ?? ''}|`; break;
      case 'literal': key += `l${f.cands.map((x) => x.join('.')).join(' ')},${f.pos}|`; break;
      case 'done': key += 'd|'; break;
    }
  }
  return key;
}

/**
 * Whether a number or a literal may end here (one at the root, with nothing after it to close it:
 * a whole number in range, or one of the literal's texts read whole).
 */
function endsHere(f: Frame): boolean {
  if (f.t === 'number') return ['zero', 'int', 'frac', 'expInt'].includes(f.sub) && (!f.range || f.range.accepts(f.at!));
  if (f.t === 'literal') return f.cands.some((c) => c.length === f.pos);
  return false;
}

/** JSON's machine for token_constraint.ts: from a value of the grammar's root, done once it is closed (or, a number or a literal at the root, once it is whole). */
function machineOf(grammar: JsonGrammar): ByteMachine<State> {
  // (compact: whitespace only inside strings; its states keyed apart, as they allow other tokens)
  const compact = grammar.compact;
  return {
    start: () => [{ frame: { t: 'value', node: grammar.root, space: -1 }, up: null }],
    feed: compact ? (s, b) => (isSpace(b) && s.frame.t !== 'string' ? [] : feed(s, b)) : feed,
    key: compact ? (s) => `c${keyOf(s)}` : keyOf,
    accepts: (s) => s.frame.t === 'done' || (s.up === null && endsHere(s.frame)),
    // (inside a string of any text, not a key being matched, no escape or character under way: stringByte gives [s] back)
    absorbsPlainText: (s) => { const f = s.frame; return f.t === 'string' && f.free && f.raw === null && !f.check && !f.escape && !f.more; },
  };
}

/**
 * How far `bytes` go as the start of a reply the grammar accepts: 'done' where they are a whole
 * one, 'open' where more may follow, or the index of the first byte that cannot come.
 */
export function readJsonPrefix(grammar: JsonGrammar, bytes: ArrayLike<number>): 'done' | 'open' | number {
  return readPrefix(machineOf(grammar), bytes);
}

/**
 * A constraint that holds a reply to the grammar: given the reply's tokens so far, the token ids
 * that may come next (the end tokens once the object is closed). `after`: the hold starts once
 * the reply has written this text (a reasoning's end tag, as vLLM holds a reasoning model's answer
 * and not its thinking); before it, any token. Throws where the reply so far cannot begin JSON
 * the grammar accepts (it was not made under this constraint).
 */
export function jsonConstraint(tokenizer: GPT2Tokenizer, vocabSize: number, endTokens: number[], grammar: JsonGrammar, opts: { after?: string } = {}): (reply: number[]) => number[] {
  return tokenConstraint(tokenizer, vocabSize, endTokens, machineOf(grammar), { after: opts.after, what: 'JSON the request\'s response_format accepts' });
}
