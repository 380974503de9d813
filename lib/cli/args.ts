// A strict flag parser: --name value, --name=value, booleans as --flag (--no-flag, --flag=false); unknown flags,
// missing values and bad numbers are errors that say what to do.
import * as fs from 'fs';
import * as path from 'path';
import { FOREIGN_FIELDS, foreignValueMatches, foreignValueName } from './hf_fields';
import { isJsonObject } from '../io/json';

export type FlagType = 'string' | 'int' | 'number' | 'boolean';
export interface FlagSpec {
  type: FlagType;
  required?: boolean;
  default?: string | number | boolean;
  help: string;
  /** other names it answers to: Hugging Face's (TrainingArguments, run_clm, TRL), hyphenated */
  aliases?: string[];
  /** a boolean that also takes these words with = (--flag=word), kept as strings (HF's str-or-bool fields) */
  values?: string[];
}
export type Spec = Record<string, FlagSpec>;
export type Parsed = Record<string, string | number | boolean | undefined>;

export class UsageError extends Error {}

/** Per parse, the flags given by another name than their own (canonical -> as typed: lr -> learning_rate). */
const typedNames = new WeakMap<Parsed, Map<string, string>>();
/** Per parse, the flags set on the command line or in --config (not by their defaults). */
const givenFlags = new WeakMap<Parsed, Set<string>>();

/** Whether a flag was given (on the command line or in --config), not just left at its default. */
export function flagGiven(flags: Parsed, name: string): boolean {
  return givenFlags.get(flags)?.has(name) ?? false;
}

/**
 * A message about parsed flags with each flag named as the user typed it: checks made after
 * parsing say --lr-scheduler, the user wrote --lr_scheduler_type.
 */
export function namedAsTyped(flags: Parsed, message: string): string {
  for (const [canonical, typed] of typedNames.get(flags) ?? []) {
    message = message.replace(new RegExp(`--${canonical}(?![\\w-])`, 'g'), `--${typed}`); // (flag names are [a-z0-9-])
  }
  return message;
}

export function parseFlags(command: string, argv: string[], spec: Spec): Parsed {
  const config = withConfigFile(argv);
  argv = config.argv;
  const out: Parsed = {};
  typedNames.set(out, new Map());
  givenFlags.set(out, new Set());
  for (const [k, s] of Object.entries(spec)) if (s.default !== undefined) out[k] = s.default;
  const noEffect: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    try {
      i = parseOne(command, argv, i, spec, out, noEffect);
    } catch (e) {
      if (e instanceof UsageError && i < config.fromFile) e.message += ` (in --config ${config.file})`;
      throw e;
    }
  }
  // (said once: by our launcher, or by rank 0 under another (torchrun); not by every worker)
  if (noEffect.length && !process.env.TSTORCH_LAUNCHED && (process.env.RANK ?? '0') === '0') console.error(`tstorch ${command}: taken, with no effect here: ${noEffect.join('; ')}`);
  for (const [k, s] of Object.entries(spec)) {
    if (s.required && out[k] === undefined) throw new UsageError(`missing --${k} (${s.help}); see: tstorch ${command} --help`);
  }
  return out;
}

/** Reads the flag at argv[i] (and its value) into out; returns the index of the last argument used. */
function parseOne(command: string, argv: string[], i: number, spec: Spec, out: Parsed, noEffect: string[]): number {
  const a = argv[i];
  if (!a.startsWith('--')) throw new UsageError(`unexpected argument '${a}' (see: tstorch ${command} --help)`);
  let [name, value] = a.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
  const given = name; // (as typed: messages name the flag as the user wrote it)
  name = resolveFlag(spec, name) ?? name.replace(/_/g, '-');
  // --no-<flag> turns a boolean off (HfArgumentParser's --no_<flag>), for flags that default to true.
  const negated = name.startsWith('no-') && !Object.hasOwn(spec, name) ? resolveFlag(spec, name.slice(3)) : undefined;
  if (negated && spec[negated].type === 'boolean' && value === undefined) {
    out[negated] = false;
    givenFlags.get(out)?.add(negated);
    return i;
  }
  const s = Object.hasOwn(spec, name) ? spec[name] : undefined; // (own flags: --constructor is none)
  if (s) {
    givenFlags.get(out)?.add(name);
    if (given !== name) typedNames.get(out)?.set(name, given);
    else typedNames.get(out)?.delete(name); // (given by its own name last)
  }
  const foreign = Object.hasOwn(FOREIGN_FIELDS, name) ? FOREIGN_FIELDS[name] : undefined;
  if (!s && foreign && (!foreign.sets || Object.keys(foreign.sets(true)).every((k) => Object.hasOwn(spec, k)))) {
    return foreignField(given, name, value, argv, i, out, noEffect);
  }
  if (!s) {
    const guess = closestFlag(spec, given.replace(/_/g, '-'));
    throw new UsageError(`unknown flag --${given} for '${command}'${guess ? `; did you mean --${guess}?` : ''} (see: tstorch ${command} --help)`);
  }
  if (s.type === 'boolean') {
    if (value !== undefined && s.values?.includes(value)) {
      out[name] = value;
      return i;
    }
    if (value !== undefined && !['true', 'false'].includes(value)) throw new UsageError(`--${given} takes no value (or =true/=false${s.values ? s.values.map((v) => `/=${v}`).join('') : ''})`);
    out[name] = value === undefined ? true : value === 'true';
    return i;
  }
  if (value === undefined) {
    if (i + 1 >= argv.length || argv[i + 1].startsWith('--')) throw new UsageError(`--${given} needs a value`);
    value = argv[++i];
  }
  if (s.type === 'int' || s.type === 'number') {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || (s.type === 'int' && !Number.isSafeInteger(n))) {
      const integer = Number.isInteger(n) ? 'an integer within ±(2**53 - 1)' : 'an integer';
      throw new UsageError(`--${given} must be ${s.type === 'int' ? integer : 'a number'}, got '${value}'`);
    }
    out[name] = n;
  } else {
    out[name] = value;
  }
  return i;
}

/** A Hugging Face / TRL field without a flag of its own here (hf_fields.ts): taken, checked, or turned into ours. */
function foreignField(given: string, name: string, value: string | undefined, argv: string[], i: number, out: Parsed, noEffect: string[]): number {
  const field = FOREIGN_FIELDS[name];
  if (field.boolean) {
    if (value !== undefined && !['true', 'false'].includes(value)) throw new UsageError(`--${given} takes no value (or =true/=false)`);
    value ??= 'true';
  } else if (value === undefined) {
    if (i + 1 >= argv.length || argv[i + 1].startsWith('--')) throw new UsageError(`--${given} needs a value`);
    value = argv[++i];
  }
  if (field.sets) {
    const set = field.sets(value === 'true');
    Object.assign(out, set);
    for (const k of Object.keys(set)) givenFlags.get(out)?.add(k);
  }
  else if (field.only && !foreignValueMatches(field, value)) throw new UsageError(`--${given} ${value}: only ${foreignValueName(field)} here; ${field.only.otherwise}`);
  else if (field.noEffect !== undefined && !(field.hfDefault ?? (field.boolean ? ['false'] : [])).includes(value)) noEffect.push(field.noEffect ? `${given} (${field.noEffect})` : given);
  return i;
}

/**
 * --config FILE (HfArgumentParser's parse_json_file): a JSON object of flags, by our names or
 * Hugging Face's, read as if they came first on the command line, so that flags given there win.
 * true is the bare flag, false --flag=false, a list comma-joined, null left out.
 */
function withConfigFile(argv: string[]): { argv: string[]; fromFile: number; file?: string } {
  const at = argv.findIndex((a) => a === '--config' || a.startsWith('--config='));
  if (at < 0) return { argv, fromFile: 0 };
  const inline = argv[at].startsWith('--config=');
  const file = inline ? argv[at].slice('--config='.length) : argv[at + 1];
  if (!file || file.startsWith('--')) throw new UsageError('--config needs a JSON file');
  const rest = [...argv.slice(0, at), ...argv.slice(at + (inline ? 1 : 2))];
  if (rest.some((a) => a === '--config' || a.startsWith('--config='))) throw new UsageError('--config given twice');
  let config: unknown;
  try {
    const text = fs.readFileSync(file, 'utf8');
    // (a YAML file, as TRL's CLI and HfArgumentParser's parse_yaml_file take recipes)
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    config = /\.ya?ml$/i.test(path.extname(file)) ? (require('yaml') as typeof import('yaml')).parse(text) : JSON.parse(text);
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message;
    throw new UsageError(`--config ${file}: ${why}`);
  }
  if (!isJsonObject(config)) throw new UsageError(`--config ${file}: must hold a JSON object of flags (in a .yaml, a mapping), e.g. {"learning_rate": 2e-4}`);
  const fromFile: string[] = [];
  for (const [key, v] of Object.entries(config)) {
    if (v === null) continue;
    if (typeof v === 'boolean') fromFile.push(v ? `--${key}` : `--${key}=false`);
    else if (typeof v === 'number' || typeof v === 'string') fromFile.push(`--${key}=${v}`);
    else if (Array.isArray(v) && v.every((x) => typeof x === 'string' || typeof x === 'number')) fromFile.push(`--${key}=${v.join(',')}`);
    else if (typeof v === 'object' && !Array.isArray(v)) fromFile.push(`--${key}=${JSON.stringify(v)}`); // (an object flag, e.g. lr_scheduler_kwargs)
    else throw new UsageError(`--config ${file}: "${key}" must be a string, number, boolean, list or object, got ${JSON.stringify(v)}`);
  }
  return { argv: [...fromFile, ...rest], fromFile: fromFile.length, file };
}

/**
 * The flag a name given on the command line means: itself, with underscores read as hyphens
 * (--max_steps, as HfArgumentParser takes both), or an alias (--learning_rate for --lr).
 */
export function resolveFlag(spec: Spec, name: string): string | undefined {
  const n = name.replace(/_/g, '-');
  if (Object.hasOwn(spec, n)) return n;
  return Object.keys(spec).find((k) => spec[k].aliases?.includes(n));
}

/** The flag (or alias) nearest a misspelt name, if one is near enough to be a likely meaning. */
function closestFlag(spec: Spec, name: string): string | undefined {
  let best: string | undefined, bestDistance = Infinity;
  for (const [k, s] of Object.entries(spec)) {
    for (const candidate of [k, ...(s.aliases ?? [])]) {
      const d = editDistance(name, candidate);
      if (d < bestDistance) [best, bestDistance] = [k, d];
    }
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 4)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row.push(Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1)));
    prev = row;
  }
  return prev[b.length];
}

export function helpText(command: string, summary: string, spec: Spec): string {
  const lines = [`tstorch ${command}: ${summary}`, '', 'Flags:'];
  const flags = Object.entries(spec).map(([k, s]) => `  --${k}${s.type === 'boolean' ? '' : ` <${s.type === 'string' ? 'value' : s.type}>`}`);
  const width = Math.max(34, ...flags.map((f) => f.length + 2)); // the helps in one column
  Object.values(spec).forEach((s, i) => {
    const def = s.default !== undefined ? ` (default ${s.default})` : s.required ? ' (required)' : '';
    const also = s.aliases?.length ? ` [also ${s.aliases.map((a) => `--${a.replace(/-/g, '_')}`).join(', ')}]` : '';
    lines.push(flags[i].padEnd(width) + s.help + def + also);
  });
  lines.push(`${'  --config <file>'.padEnd(width)}a JSON object (or a .yaml, as TRL's recipes) of these flags, by our names or Hugging Face's and TRL's (a TrainingArguments / SFTConfig file; their hub, worker and logging fields are taken without effect); the command line's win`);
  return lines.join('\n');
}
