// A strict flag parser: --name value, --name=value, booleans as --flag (--no-flag, --flag=false); unknown flags,
// missing values and bad numbers are errors that say what to do.
export type FlagType = 'string' | 'int' | 'number' | 'boolean';
export interface FlagSpec {
  type: FlagType;
  required?: boolean;
  default?: string | number | boolean;
  help: string;
}
export type Spec = Record<string, FlagSpec>;
export type Parsed = Record<string, string | number | boolean | undefined>;

export class UsageError extends Error {}

export function parseFlags(command: string, argv: string[], spec: Spec): Parsed {
  const out: Parsed = {};
  for (const [k, s] of Object.entries(spec)) if (s.default !== undefined) out[k] = s.default;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new UsageError(`unexpected argument '${a}' (see: tstorch ${command} --help)`);
    let [name, value] = a.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    // --no-<flag> turns a boolean off (HfArgumentParser's --no_<flag>), for flags that default to true.
    if (!spec[name] && name.startsWith('no-') && spec[name.slice(3)]?.type === 'boolean' && value === undefined) {
      out[name.slice(3)] = false;
      continue;
    }
    const s = spec[name];
    if (!s) throw new UsageError(`unknown flag --${name} for '${command}' (see: tstorch ${command} --help)`);
    if (s.type === 'boolean') {
      if (value !== undefined && !['true', 'false'].includes(value)) throw new UsageError(`--${name} takes no value (or =true/=false)`);
      out[name] = value === undefined ? true : value === 'true';
      continue;
    }
    if (value === undefined) {
      if (i + 1 >= argv.length || argv[i + 1].startsWith('--')) throw new UsageError(`--${name} needs a value`);
      value = argv[++i];
    }
    if (s.type === 'int' || s.type === 'number') {
      const n = Number(value);
      if (value.trim() === '' || !Number.isFinite(n) || (s.type === 'int' && !Number.isInteger(n))) {
        throw new UsageError(`--${name} must be ${s.type === 'int' ? 'an integer' : 'a number'}, got '${value}'`);
      }
      out[name] = n;
    } else {
      out[name] = value;
    }
  }
  for (const [k, s] of Object.entries(spec)) {
    if (s.required && out[k] === undefined) throw new UsageError(`missing --${k} (${s.help}); see: tstorch ${command} --help`);
  }
  return out;
}

export function helpText(command: string, summary: string, spec: Spec): string {
  const lines = [`tstorch ${command}: ${summary}`, '', 'Flags:'];
  const flags = Object.entries(spec).map(([k, s]) => `  --${k}${s.type === 'boolean' ? '' : ` <${s.type === 'string' ? 'value' : s.type}>`}`);
  const width = Math.max(34, ...flags.map((f) => f.length + 2)); // the helps in one column
  Object.values(spec).forEach((s, i) => {
    const def = s.default !== undefined ? ` (default ${s.default})` : s.required ? ' (required)' : '';
    lines.push(flags[i].padEnd(width) + s.help + def);
  });
  return lines.join('\n');
}
