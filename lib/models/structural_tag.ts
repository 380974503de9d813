// Structural tags, as xgrammar reads them and vLLM serves them (response_format {"type":
// "structural_tag", ...}, structured_outputs' structural_tag): a reply described as a tree of
// formats — free text, exact strings, JSON a schema accepts, a regular expression, a grammar — put
// together in sequences, alternatives and repeats, wrapped in begin ... end tags, or dispatched from
// free text when a trigger is written (<function= ... a tool call held to its parameters' schema).
//
// The tree compiles to a small program of nodes; a state is one place in it (a leaf: a string's
// byte, a sub-grammar's state, free text's match so far) and the stack of places to go on with when
// that leaf is done. The machine is nondeterministic: a byte may lead to several states.
import type { ByteMachine } from './token_constraint';
import { JsonGrammar } from './json_constraint';
import { RegexGrammar } from './regex_constraint';
import { EbnfGrammar } from './grammar_constraint';
import { decodeUtf8, utf8Length, utf8Span } from './code_points';

// ---- the formats, as a request writes them ----

interface TagFormat { type: 'tag'; begin: string; content: Format; end: string[] }
type Format =
  | { type: 'const_string'; value: string }
  | { type: 'json_schema'; schema: unknown }
  | { type: 'grammar'; grammar: string }
  | { type: 'regex'; pattern: string }
  | { type: 'any_text'; excludes: string[] }
  | { type: 'sequence' | 'or'; elements: Format[] }
  | { type: 'repeat'; content: Format; min: number; max: number }
  | TagFormat
  | { type: 'triggered_tags'; triggers: string[]; tags: TagFormat[]; excludes: string[]; atLeastOne: boolean; stopAfterFirst: boolean }
  | { type: 'tags_with_separator'; tags: TagFormat[]; separator: string; atLeastOne: boolean; stopAfterFirst: boolean };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const NOT_SERVED: Record<string, string> = {
  dispatch: 'write it as triggered_tags',
  qwen_xml_parameter: 'give the parameters as json_schema (JSON)',
  token: 'token-level formats are not served: give the token\'s text as a const_string',
  exclude_token: 'token-level formats are not served',
  any_tokens: 'token-level formats are not served: use any_text',
  token_triggered_tags: 'token-level formats are not served: use triggered_tags with the tokens\' text',
  token_dispatch: 'token-level formats are not served: use triggered_tags with the tokens\' text',
};
const MAX_REPEAT = 1000;

/** A format read from its JSON, or an error that names its place (format.tags[1].content ...). */
function parseFormat(v: unknown, where: string, tagExpected = false): Format {
  if (!isObject(v)) throw new Error(`${where} must be an object (a format: {"type": ..., ...})`);
  const type = v.type ?? (tagExpected || ('begin' in v && 'end' in v) ? 'tag' : undefined);
  if (typeof type !== 'string') throw new Error(`${where} needs its "type" (const_string, json_schema, grammar, regex, any_text, sequence, or, optional, star, plus, repeat, tag, triggered_tags or tags_with_separator)`);
  const str = (key: string, nonEmpty: boolean): string => {
    const s = v[key];
    if (typeof s !== 'string' || (nonEmpty && !s.length)) throw new Error(`${where}.${key} must be a ${nonEmpty ? 'non-empty ' : ''}string`);
    return s;
  };
  const strings = (key: string, nonEmpty: boolean): string[] => {
    const list = v[key] ?? [];
    if (!Array.isArray(list) || list.some((s) => typeof s !== 'string' || (nonEmpty && !s.length))) throw new Error(`${where}.${key} must be a list of ${nonEmpty ? 'non-empty ' : ''}strings`);
    return list as string[];
  };
  const flag = (key: string): boolean => {
    if (v[key] === undefined || v[key] === null) return false;
    if (typeof v[key] !== 'boolean') throw new Error(`${where}.${key} must be true or false`);
    return v[key] as boolean;
  };
  const tags = (): TagFormat[] => {
    if (!Array.isArray(v.tags) || !v.tags.length) throw new Error(`${where}.tags must be a non-empty list of tags ({"begin": ..., "content": ..., "end": ...})`);
    return v.tags.map((t, i) => {
      const tag = parseFormat(t, `${where}.tags[${i}]`, true);
      if (tag.type !== 'tag') throw new Error(`${where}.tags[${i}] must be a tag, got a ${tag.type}`);
      return tag;
    });
  };
  const content = () => parseFormat(v.content, `${where}.content`);
  switch (type) {
    case 'const_string':
      return { type, value: str('value', true) };
    case 'json_schema': {
      const style = v.style ?? v.parsing_type ?? 'json';
      if (style !== 'json') throw new Error(`${where}: style ${JSON.stringify(style)} is not served (JSON is: leave style out)`);
      if (v.any_order === true) throw new Error(`${where}: any_order is not served (properties come in the schema's order)`);
      if (!isObject(v.json_schema) && v.json_schema !== true) throw new Error(`${where}.json_schema must be a JSON Schema (an object)`);
      return { type, schema: v.json_schema };
    }
    case 'grammar':
      return { type, grammar: str('grammar', true) };
    case 'regex':
      return { type, pattern: str('pattern', true) };
    case 'any_text':
      for (const key of ['max_tokens', 'max_chars']) {
        if (v[key] !== undefined && v[key] !== null) throw new Error(`${where}: any_text's ${key} is not served (bound the reply with max_tokens)`);
      }
      return { type, excludes: strings('excludes', false).filter((s) => s.length) };
    case 'sequence':
    case 'or': {
      if (!Array.isArray(v.elements) || !v.elements.length) throw new Error(`${where}.elements must be a non-empty list of formats`);
      return { type, elements: v.elements.map((e, i) => parseFormat(e, `${where}.elements[${i}]`)) };
    }
    case 'optional':
      return { type: 'repeat', content: content(), min: 0, max: 1 };
    case 'star':
      return { type: 'repeat', content: content(), min: 0, max: Infinity };
    case 'plus':
      return { type: 'repeat', content: content(), min: 1, max: Infinity };
    case 'repeat': {
      const { min, max } = v;
      if (!Number.isInteger(min) || (min as number) < 0 || (min as number) > MAX_REPEAT) throw new Error(`${where}.min must be an integer from 0 to ${MAX_REPEAT}`);
      if (!Number.isInteger(max) || (max !== -1 && ((max as number) < (min as number) || (max as number) > MAX_REPEAT))) throw new Error(`${where}.max must be -1 (no bound) or an integer from min to ${MAX_REPEAT}`);
      return { type, content: content(), min: min as number, max: max === -1 ? Infinity : (max as number) };
    }
    case 'tag': {
      const end = typeof v.end === 'string' ? [v.end] : v.end;
      if (!Array.isArray(end) || !end.length || end.some((s) => typeof s !== 'string')) throw new Error(`${where}.end must be a string or a non-empty list of strings`);
      if (v.begin !== undefined && typeof v.begin !== 'string') throw new Error(`${where}.begin must be a string (token-level begins are not served)`);
      return { type, begin: str('begin', false), content: content(), end: end as string[] };
    }
    case 'triggered_tags': {
      const triggers = strings('triggers', true);
      if (!triggers.length) throw new Error(`${where}.triggers must be a non-empty list of strings`);
      return { type, triggers, tags: tags(), excludes: strings('excludes', true), atLeastOne: flag('at_least_one'), stopAfterFirst: flag('stop_after_first') };
    }
    case 'tags_with_separator':
      return { type, tags: tags(), separator: str('separator', false), atLeastOne: flag('at_least_one'), stopAfterFirst: flag('stop_after_first') };
    default:
      throw new Error(`${where}: format ${JSON.stringify(type)} ${type in NOT_SERVED ? `is not served (${NOT_SERVED[type]})` : 'is not a structural tag format'}`);
  }
}

/** Whether a format may run on to any length (free text): it then ends where its enclosing tag's end is written. */
function runsFree(f: Format): boolean {
  if (f.type === 'any_text' || f.type === 'triggered_tags' || f.type === 'tags_with_separator') return true;
  if (f.type === 'sequence') return runsFree(f.elements[f.elements.length - 1]);
  if (f.type === 'or') return f.elements.every(runsFree);
  return false;
}
const hasExcludes = (f: Format) => (f.type === 'any_text' || f.type === 'triggered_tags') && f.excludes.length > 0;

/** xgrammar's rules on where free text may stand, checked before anything is compiled. */
function check(f: Format, where: string): void {
  switch (f.type) {
    case 'sequence':
      f.elements.forEach((e, i) => {
        check(e, `${where}.elements[${i}]`);
        if (i < f.elements.length - 1 && runsFree(e) && !hasExcludes(e)) throw new Error(`${where}.elements[${i}]: only the last element of a sequence may run free (${e.type} with no excludes has no end): move it last, or give it excludes`);
      });
      return;
    case 'or': {
      f.elements.forEach((e, i) => check(e, `${where}.elements[${i}]`));
      const free = f.elements.map(runsFree);
      if (free.some((x) => x) && !free.every((x) => x)) throw new Error(`${where}: an or's elements must all run free (any_text, triggered_tags, tags_with_separator) or none of them, as xgrammar asks`);
      return;
    }
    case 'repeat':
      check(f.content, `${where}.content`);
      if (runsFree(f.content)) throw new Error(`${where}.content runs free (${f.content.type}): it cannot be repeated: wrap it in a tag`);
      return;
    case 'tag':
      check(f.content, `${where}.content`);
      if (runsFree(f.content) && !f.end.some((s) => s.length)) throw new Error(`${where}: its content runs free (${f.content.type}), so its end must be a non-empty string where the content stops`);
      return;
    case 'triggered_tags':
      f.tags.forEach((t, i) => {
        check(t, `${where}.tags[${i}]`);
        const matched = f.triggers.filter((trigger) => t.begin.startsWith(trigger));
        if (matched.length !== 1) throw new Error(`${where}.tags[${i}]: its begin ${JSON.stringify(t.begin)} must start with exactly one of the triggers, ${matched.length ? `starts with ${matched.map((m) => JSON.stringify(m)).join(' and ')}` : 'starts with none'}`);
      });
      return;
    case 'tags_with_separator':
      f.tags.forEach((t, i) => check(t, `${where}.tags[${i}]`));
      return;
    default:
  }
}

// ---- the program: nodes, and free text's matcher ----

/**
 * Free text's patterns, all matched at once as Aho-Corasick's automaton matches them (a state: the
 * longest end of the text so far that begins one of them): an exclude may not be written; a stop
 * ends the text (it is the enclosing tag's end); a trigger dispatches to the tags that begin with it.
 */
class Patterns {
  private readonly goto: Map<number, number>[] = [new Map()];
  private readonly fail: number[] = [0];
  /** What is written when the text reaches each state: an exclude, a stop, triggers (their indexes). */
  readonly hits: { exclude: boolean; stop: boolean; triggers: number[] }[] = [{ exclude: false, stop: false, triggers: [] }];
  private readonly steps: (Int32Array | undefined)[] = [];

  constructor(excludes: string[], stops: string[], triggers: string[]) {
    const add = (text: string, mark: (h: Patterns['hits'][number]) => void) => {
      let s = 0;
      for (const b of Buffer.from(text, 'utf8')) {
        let t = this.goto[s].get(b);
        if (t === undefined) {
          t = this.goto.length;
          this.goto.push(new Map());
          this.fail.push(0);
          this.hits.push({ exclude: false, stop: false, triggers: [] });
          this.goto[s].set(b, t);
        }
        s = t;
      }
      mark(this.hits[s]);
    };
    for (const e of excludes) add(e, (h) => (h.exclude = true));
    for (const s of stops) add(s, (h) => (h.stop = true));
    triggers.forEach((t, i) => add(t, (h) => h.triggers.push(i)));
    // (breadth first: each state's fail is the longest proper suffix that is a state, and what it hits is hit here too)
    const queue = [...this.goto[0].values()];
    while (queue.length) {
      const s = queue.shift()!;
      for (const [b, t] of this.goto[s]) {
        let f = this.fail[s];
        while (f && !this.goto[f].has(b)) f = this.fail[f];
        this.fail[t] = s === 0 ? 0 : this.goto[f].get(b) ?? 0;
        const h = this.hits[t], g = this.hits[this.fail[t]];
        h.exclude ||= g.exclude;
        h.stop ||= g.stop;
        h.triggers = [...new Set([...h.triggers, ...g.triggers])];
        queue.push(t);
      }
    }
  }

  next(s: number, b: number): number {
    const row = (this.steps[s] ??= new Int32Array(256).fill(-1));
    if (row[b] < 0) {
      let f = s;
      while (f && !this.goto[f].has(b)) f = this.fail[f];
      row[b] = this.goto[f].get(b) ?? 0;
    }
    return row[b];
  }
}

type Node =
  | { kind: 'lit'; bytes: number[] }
  | { kind: 'sub'; machine: ByteMachine<unknown> }
  | { kind: 'seq' | 'or'; items: number[] }
  | { kind: 'repeat'; item: number; min: number; max: number }
  /**
   * Free text: ends at a stop (consumed), or, with endsAnywhere, wherever what follows may begin;
   * at trigger i, dispatch[i] follows (and, with loop, free text again after it).
   */
  | { kind: 'text'; patterns: Patterns; endsAnywhere: boolean; dispatch: number[]; loop: boolean };

/** Where to go on once the node below is done: node `node` at `at` (a sequence's next item, a repeat's count; free text's return: -1), then `next`. */
interface Cont { id: number; node: number; at: number; next: Cont | null }

type Leaf =
  | { k: 'lit'; node: number; pos: number }
  | { k: 'sub'; node: number; inner: unknown }
  | { k: 'text'; node: number; ac: number; pending: number[] }
  | { k: 'end' };

/** A state of the machine: a leaf and what follows it. */
export interface StructuralTagState { readonly leaf: Leaf; readonly cont: Cont | null; readonly key: string; steps?: (StructuralTagState[] | undefined)[] }

const MAX_STATES = 200_000;
let nextTagId = 0;

/** A structural tag compiled for generation; what it cannot hold a reply to is an error that names the format's place. */
export class StructuralTag {
  // (keys name the tag: what states allow is kept by key with the tokenizer, for every machine alike)
  private readonly id = nextTagId++;
  private readonly nodes: Node[] = [];
  private readonly built = new Map<Format, Map<string, number>>();
  private readonly root: number;
  private readonly conts = new Map<string, Cont>();
  private readonly states = new Map<string, StructuralTagState>();
  private begin?: StructuralTagState[];

  private constructor(format: Format, where: string) {
    this.root = this.build(format, [], where);
  }

  /**
   * A structural tag as vLLM takes it: {"type": "structural_tag", "format": {...}} (xgrammar's
   * formats: const_string, json_schema, grammar, regex, any_text, sequence, or, optional, star,
   * plus, repeat, tag, triggered_tags, tags_with_separator), or the older {"type":
   * "structural_tag", "structures": [{"begin", "schema", "end"}, ...], "triggers": [...]} (free
   * text in which each trigger begins one of the structures: its JSON, then its end).
   */
  static fromSpec(spec: unknown): StructuralTag {
    if (!isObject(spec)) throw new Error('a structural tag must be an object: {"type": "structural_tag", "format": {...}}');
    if (spec.type !== undefined && spec.type !== 'structural_tag') throw new Error(`a structural tag's type must be "structural_tag", got ${JSON.stringify(spec.type)}`);
    let format: Format;
    if (spec.format !== undefined) {
      format = parseFormat(spec.format, 'format');
    } else if (spec.structures !== undefined) {
      const { structures, triggers } = spec;
      if (!Array.isArray(structures) || !structures.length) throw new Error('structures must be a non-empty list of {"begin": ..., "schema": {...}, "end": ...}');
      format = parseFormat({
        type: 'triggered_tags',
        triggers,
        tags: structures.map((s, i) => {
          if (!isObject(s)) throw new Error(`structures[${i}] must be {"begin": ..., "schema": {...}, "end": ...}`);
          return { type: 'tag', begin: s.begin, content: { type: 'json_schema', json_schema: s.schema }, end: s.end };
        }),
      }, 'structures');
    } else {
      throw new Error('a structural tag needs its "format" (or the older "structures" and "triggers")');
    }
    const where = spec.format !== undefined ? 'format' : 'structures';
    check(format, where);
    return new StructuralTag(format, where);
  }

  private add(node: Node): number {
    this.nodes.push(node);
    return this.nodes.length - 1;
  }

  private lit(text: string): number {
    return this.add({ kind: 'lit', bytes: [...Buffer.from(text, 'utf8')] });
  }

  /** One of the strings (none: the empty string). */
  private oneOf(texts: string[]): number {
    return texts.length === 1 ? this.lit(texts[0]) : this.add({ kind: 'or', items: texts.length ? texts.map((t) => this.lit(t)) : [this.lit('')] });
  }

  /**
   * The nodes of a format; stops: where it ends if it runs free (its tag's end strings; none:
   * anywhere, as at the reply's end). A format met again (a tag's content, for its whole begin and
   * for what follows its trigger) is built once: a node is only a place, what follows it is the state's.
   */
  private build(f: Format, stops: string[], where: string): number {
    const key = JSON.stringify(stops);
    let built = this.built.get(f);
    if (!built) this.built.set(f, (built = new Map()));
    let n = built.get(key);
    if (n === undefined) built.set(key, (n = this.buildNew(f, stops, where)));
    return n;
  }

  private buildNew(f: Format, stops: string[], where: string): number {
    switch (f.type) {
      case 'const_string':
        return this.lit(f.value);
      case 'json_schema':
        return this.sub(() => JsonGrammar.fromSchema(f.schema, { anyRoot: true }).machine(), `${where}.json_schema`);
      case 'grammar':
        return this.sub(() => EbnfGrammar.fromText(f.grammar).machine(), `${where}.grammar`);
      case 'regex':
        return this.sub(() => RegexGrammar.fromPattern(f.pattern).machine(), `${where}.pattern`);
      case 'any_text':
        return this.add({ kind: 'text', patterns: this.patterns(f.excludes, stops, [], where), endsAnywhere: !stops.length, dispatch: [], loop: false });
      case 'sequence':
        return this.add({ kind: 'seq', items: f.elements.map((e, i) => this.build(e, i === f.elements.length - 1 ? stops : [], `${where}.elements[${i}]`)) });
      case 'or':
        return this.add({ kind: 'or', items: f.elements.map((e, i) => this.build(e, stops, `${where}.elements[${i}]`)) });
      case 'repeat':
        return this.add({ kind: 'repeat', item: this.build(f.content, [], `${where}.content`), min: f.min, max: f.max });
      case 'tag':
        return this.tag(f, f.begin, where);
      case 'triggered_tags': {
        const ends = stops.length ? [this.oneOf(stops)] : [];
        // (at_least_one and stop_after_first: exactly one tag, no text around it)
        if (f.atLeastOne && f.stopAfterFirst) return this.add({ kind: 'seq', items: [this.add({ kind: 'or', items: f.tags.map((t, i) => this.tag(t, t.begin, `${where}.tags[${i}]`)) }), ...ends] });
        // (after a trigger, the rest of one of the tags that begin with it; with stop_after_first, then the end)
        const dispatch = f.triggers.map((trigger) => {
          const group = this.add({ kind: 'or', items: f.tags.flatMap((t, i) => (t.begin.startsWith(trigger) ? [this.tag(t, t.begin.slice(trigger.length), `${where}.tags[${i}]`)] : [])) });
          return f.stopAfterFirst ? this.add({ kind: 'seq', items: [group, ...ends] }) : group;
        });
        const text = this.add({ kind: 'text', patterns: this.patterns(f.excludes, stops, f.triggers, where), endsAnywhere: !stops.length, dispatch, loop: !f.stopAfterFirst });
        // (at_least_one: a tag first, no text before it)
        return f.atLeastOne ? this.add({ kind: 'seq', items: [this.add({ kind: 'or', items: f.tags.map((t, i) => this.tag(t, t.begin, `${where}.tags[${i}]`)) }), text] }) : text;
      }
      case 'tags_with_separator': {
        const anyTag = () => this.add({ kind: 'or', items: f.tags.map((t, i) => this.tag(t, t.begin, `${where}.tags[${i}]`)) });
        const ends = stops.length ? [this.oneOf(stops)] : [];
        const nothing = this.add({ kind: 'seq', items: ends });
        let some: number;
        if (f.stopAfterFirst || stops.includes(f.separator)) {
          some = this.add({ kind: 'seq', items: [anyTag(), ...ends] });
        } else {
          const more = this.add({ kind: 'seq', items: [...(f.separator ? [this.lit(f.separator)] : []), anyTag()] });
          some = this.add({ kind: 'seq', items: [anyTag(), this.add({ kind: 'repeat', item: more, min: 0, max: Infinity }), ...ends] });
        }
        return f.atLeastOne ? some : this.add({ kind: 'or', items: [some, nothing] });
      }
    }
  }

  /** Free text's patterns; an end or a trigger that holds an exclude could never be written, and is refused. */
  private patterns(excludes: string[], stops: string[], triggers: string[], where: string): Patterns {
    for (const [what, texts] of [['end', stops], ['trigger', triggers]] as const) {
      for (const text of texts) {
        const held = excludes.find((e) => text.includes(e));
        if (held !== undefined) throw new Error(`${where}: the ${what} ${JSON.stringify(text)} holds the exclude ${JSON.stringify(held)}, so free text could never write it: leave that exclude out`);
      }
    }
    return new Patterns(excludes, stops, triggers);
  }

  /** A tag from `begin` (its begin, or what follows a trigger): content that runs free ends at the tag's end itself. */
  private tag(t: TagFormat, begin: string, where: string): number {
    const free = runsFree(t.content);
    const content = this.build(t.content, free ? t.end.filter((s) => s.length) : [], `${where}.content`);
    return this.add({ kind: 'seq', items: [this.lit(begin), content, ...(free ? [] : [this.oneOf(t.end)])] });
  }

  /** A JSON Schema's, a regular expression's or a grammar's machine; what cannot be compiled is an error at its place. */
  private sub(make: () => ByteMachine<unknown>, where: string): number {
    try {
      return this.add({ kind: 'sub', machine: make() });
    } catch (e) {
      throw new Error(`${where}: ${(e as Error).message}`);
    }
  }

  // ---- the machine ----

  private cont(node: number, at: number, next: Cont | null): Cont {
    const key = `${node},${at},${next ? next.id : -1}`;
    let c = this.conts.get(key);
    if (!c) this.conts.set(key, (c = { id: this.conts.size, node, at, next }));
    return c;
  }

  private state(leaf: Leaf, cont: Cont | null): StructuralTagState {
    const where = leaf.k === 'end' ? 'e' : leaf.k === 'lit' ? `l${leaf.node}.${leaf.pos}` : leaf.k === 'text' ? `t${leaf.node}.${leaf.ac}.${leaf.pending.join(',')}` : `s${leaf.node}.${(this.nodes[leaf.node] as { machine: ByteMachine<unknown> }).machine.key(leaf.inner)}`;
    const key = `st${this.id}:${where}|${cont ? cont.id : ''}`;
    let s = this.states.get(key);
    if (!s) {
      if (this.states.size >= MAX_STATES) this.states.clear();
      this.states.set(key, (s = { leaf, cont, key }));
    }
    return s;
  }

  /** The states at the start of node n, then cont; seen: what this step has entered already (a repeat of something empty would loop). */
  private enter(n: number, cont: Cont | null, out: StructuralTagState[], seen: Set<string>): void {
    const mark = `e${n}|${cont ? cont.id : ''}`;
    if (seen.has(mark)) return;
    seen.add(mark);
    const node = this.nodes[n];
    switch (node.kind) {
      case 'lit':
        if (node.bytes.length) out.push(this.state({ k: 'lit', node: n, pos: 0 }, cont));
        else this.done(cont, out, seen);
        return;
      case 'sub': {
        const starts = node.machine.start();
        for (const inner of starts) out.push(this.state({ k: 'sub', node: n, inner }, cont));
        if (starts.some((s) => node.machine.accepts(s))) this.done(cont, out, seen);
        return;
      }
      case 'seq':
        if (node.items.length) this.enter(node.items[0], node.items.length > 1 ? this.cont(n, 1, cont) : cont, out, seen);
        else this.done(cont, out, seen);
        return;
      case 'or':
        for (const item of node.items) this.enter(item, cont, out, seen);
        return;
      case 'repeat':
        this.again(n, 0, cont, out, seen);
        return;
      case 'text':
        out.push(this.state({ k: 'text', node: n, ac: 0, pending: [] }, cont));
        if (node.endsAnywhere) this.done(cont, out, seen);
    }
  }

  /** A repeat after `count` times: done where count reaches min, once more where it is under max. */
  private again(n: number, count: number, cont: Cont | null, out: StructuralTagState[], seen: Set<string>): void {
    const node = this.nodes[n] as Extract<Node, { kind: 'repeat' }>;
    if (count >= node.min) this.done(cont, out, seen);
    // (without a bound, counts past min are alike)
    if (count < node.max) this.enter(node.item, this.cont(n, node.max === Infinity ? Math.min(count + 1, node.min) : count + 1, cont), out, seen);
  }

  /** What follows once a node is done: the stack's top goes on (none left: the reply may end). */
  private done(cont: Cont | null, out: StructuralTagState[], seen: Set<string>): void {
    if (!cont) {
      out.push(this.state({ k: 'end' }, null));
      return;
    }
    const mark = `d${cont.id}`;
    if (seen.has(mark)) return;
    seen.add(mark);
    const node = this.nodes[cont.node];
    if (node.kind === 'seq') {
      const last = cont.at === node.items.length - 1;
      this.enter(node.items[cont.at], last ? cont.next : this.cont(cont.node, cont.at + 1, cont.next), out, seen);
    } else if (node.kind === 'repeat') {
      this.again(cont.node, cont.at, cont.next, out, seen);
    } else if (node.kind === 'text') {
      // (back from a dispatched tag: free text again)
      out.push(this.state({ k: 'text', node: cont.node, ac: 0, pending: [] }, cont.next));
      if (node.endsAnywhere) this.done(cont.next, out, seen);
    }
  }

  private feed(s: StructuralTagState, b: number): StructuralTagState[] {
    const steps = (s.steps ??= []);
    let next = steps[b];
    if (next) return next;
    const out: StructuralTagState[] = [];
    const seen = new Set<string>();
    const leaf = s.leaf;
    if (leaf.k === 'lit') {
      const node = this.nodes[leaf.node] as Extract<Node, { kind: 'lit' }>;
      if (node.bytes[leaf.pos] === b) {
        if (leaf.pos + 1 < node.bytes.length) out.push(this.state({ k: 'lit', node: leaf.node, pos: leaf.pos + 1 }, s.cont));
        else this.done(s.cont, out, seen);
      }
    } else if (leaf.k === 'sub') {
      const m = (this.nodes[leaf.node] as Extract<Node, { kind: 'sub' }>).machine;
      const after = m.feed(leaf.inner, b);
      for (const inner of after) out.push(this.state({ k: 'sub', node: leaf.node, inner }, s.cont));
      if (after.some((x) => m.accepts(x))) this.done(s.cont, out, seen);
    } else if (leaf.k === 'text') {
      this.feedText(s, leaf, b, out, seen);
    }
    next = out.length < 2 ? out : [...new Map(out.map((x) => [x.key, x])).values()];
    steps[b] = next;
    return next;
  }

  /** Free text's next byte: strict UTF-8; an exclude ends it all, a stop ends the text, a trigger dispatches. */
  private feedText(s: StructuralTagState, leaf: Extract<Leaf, { k: 'text' }>, b: number, out: StructuralTagState[], seen: Set<string>): void {
    const node = this.nodes[leaf.node] as Extract<Node, { kind: 'text' }>;
    let pending: number[];
    if (!leaf.pending.length) {
      const length = utf8Length(b);
      if (!length) return;
      pending = length === 1 ? [] : [b];
    } else {
      const bytes = [...leaf.pending, b];
      if (bytes.length === utf8Length(bytes[0])) {
        if (decodeUtf8(bytes) === null) return;
        pending = [];
      } else {
        if (!utf8Span(bytes)) return;
        pending = bytes;
      }
    }
    const ac = node.patterns.next(leaf.ac, b);
    const hit = node.patterns.hits[ac];
    if (hit.exclude) return;
    if (hit.stop) {
      this.done(s.cont, out, seen);
      return;
    }
    if (hit.triggers.length) {
      for (const t of hit.triggers) this.enter(node.dispatch[t], node.loop ? this.cont(leaf.node, -1, s.cont) : s.cont, out, seen);
      return;
    }
    out.push(this.state({ k: 'text', node: leaf.node, ac, pending }, s.cont));
    if (node.endsAnywhere && !pending.length) this.done(s.cont, out, seen);
  }

  private startStates(): StructuralTagState[] {
    if (!this.begin) {
      const out: StructuralTagState[] = [];
      this.enter(this.root, null, out, new Set());
      this.begin = [...new Map(out.map((x) => [x.key, x])).values()];
    }
    return this.begin;
  }

  /** This structural tag as token_constraint.ts's machine. */
  machine(): ByteMachine<StructuralTagState> {
    return {
      start: () => this.startStates(),
      feed: (s, b) => this.feed(s, b),
      key: (s) => s.key,
      accepts: (s) => s.leaf.k === 'end',
      absorbsPlainText: (s) => {
        if (s.leaf.k !== 'sub') return false;
        const m = (this.nodes[s.leaf.node] as Extract<Node, { kind: 'sub' }>).machine;
        return m.absorbsPlainText?.(s.leaf.inner) ?? false;
      },
    };
  }
}
