// A dataset repository's splits, as Hugging Face `datasets` finds them in a folder (a snapshot in
// the hub cache, or a clone): the README's YAML `configs` when it has them, else datasets' default
// patterns — data/{split}-NNNNN-of-NNNNN shards, then split names (and their synonyms: dev,
// valid, eval, ...) as folder names, then in file names, else every file is train. Tested against
// datasets' own load_dataset_builder (scripts/reference/make_split_fixtures.py).
import * as fs from 'fs';
import * as path from 'path';
import { parse as parseYaml } from 'yaml';
import { dataName, isRecordFile, parseCsv, readDataText, readRecords } from './text';

const SPLIT_KEYWORDS: Record<string, string[]> = {
  train: ['train', 'training'],
  validation: ['validation', 'valid', 'dev', 'val'],
  test: ['test', 'testing', 'eval', 'evaluation'],
};
const SEP = '-._ 0-9';
const FILENAME_PATTERNS = ['**/{k}[{s}]*', '**/*[{s}]{k}[{s}]*'];
const DIRNAME_PATTERNS = ['**/{k}/**', '**/{k}[{s}]*/**', '**/*[{s}]{k}/**', '**/*[{s}]{k}[{s}]*/**'];
const SHARDED = 'data/{split}-[0-9][0-9][0-9][0-9][0-9]-of-[0-9][0-9][0-9][0-9][0-9]*.*';
const FILES_TO_IGNORE = new Set(['README.md', 'config.json', 'dataset_info.json', 'dataset_infos.json', 'dummy_data.zip', 'dataset_dict.json']);
// datasets' packaged builders and their extensions: the files kept are the most common kind's
const KINDS: Record<string, string[]> = { parquet: ['.parquet'], arrow: ['.arrow'], json: ['.json', '.jsonl'], csv: ['.csv'], text: ['.txt'] };

/** An fsspec glob (**, *, [...]) as a regular expression over '/'-separated relative paths. */
function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length;) {
    if (glob.startsWith('**/', i)) { re += '(?:.*/)?'; i += 3; } else if (glob.startsWith('/**', i) && i + 3 === glob.length) { re += '/.*'; i += 3; } else if (glob.startsWith('**', i)) { re += '.*'; i += 2; } else if (glob[i] === '*') { re += '[^/]*'; i++; } else if (glob[i] === '?') { re += '[^/]'; i++; } else if (glob[i] === '[') {
      const end = glob.indexOf(']', i + 1);
      re += `[${glob.slice(i + 1, end).replace(/\\/g, '\\\\').replace(/^!/, '^')}]`;
      i = end + 1;
    } else { re += glob[i].replace(/[.+^${}()|\\]/g, '\\$&'); i++; }
  }
  return new RegExp(`^${re}$`);
}

/** Every file under root (relative, '/'-separated, sorted), without hidden ones, __special__ folders' and datasets' metadata. */
function filesUnder(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      if (e.name.startsWith('.')) continue;
      const r = rel ? `${rel}/${e.name}` : e.name;
      const full = path.join(root, r);
      const isDir = e.isDirectory() || (e.isSymbolicLink() && fs.statSync(full).isDirectory());
      if (isDir) { if (!e.name.startsWith('__')) walk(r); } else if (!FILES_TO_IGNORE.has(e.name)) out.push(r);
    }
  };
  walk('');
  return out.sort();
}

const matching = (files: string[], patterns: string[]): string[] => {
  const seen = new Set<string>(), out: string[] = [];
  for (const p of patterns) {
    const re = globToRegExp(p);
    for (const f of files) if (re.test(f) && !seen.has(f)) { seen.add(f); out.push(f); }
  }
  return out;
};

/** datasets' default patterns over a list of files (relative paths): split -> files. */
function defaultSplits(files: string[]): Record<string, string[]> {
  const sharded = globToRegExp(SHARDED.replace('{split}', '*'));
  const shards = files.filter((f) => sharded.test(f));
  if (shards.length) {
    const names = [...new Set(shards.map((f) => /^data\/(.*)-\d{5}-of-\d{5}/.exec(f)![1]))];
    const order = [...Object.keys(SPLIT_KEYWORDS).filter((s) => names.includes(s)), ...names.filter((s) => !(s in SPLIT_KEYWORDS)).sort()];
    return Object.fromEntries(order.map((s) => [s, matching(files, [SHARDED.replace('{split}', s)])]));
  }
  const byPatterns = (patterns: string[]) => {
    const out: Record<string, string[]> = {};
    for (const [split, keywords] of Object.entries(SPLIT_KEYWORDS)) {
      const found = matching(files, keywords.flatMap((k) => patterns.map((p) => p.replace(/\{k\}/g, k).replace(/\{s\}/g, SEP))));
      if (found.length) out[split] = found;
    }
    return out;
  };
  for (const patterns of [DIRNAME_PATTERNS, FILENAME_PATTERNS]) {
    const found = byPatterns(patterns);
    if (Object.keys(found).length) return found;
  }
  return files.length ? { train: files } : {};
}

interface YamlConfig { config_name?: string; data_files?: unknown; data_dir?: string; default?: boolean }

/** The README's YAML `configs` (null without a front matter that has them). */
function readmeConfigs(root: string): YamlConfig[] | null {
  const readme = path.join(root, 'README.md');
  if (!fs.existsSync(readme)) return null;
  const m = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?/.exec(fs.readFileSync(readme, 'utf8'));
  if (!m) return null;
  let meta: unknown;
  try {
    meta = parseYaml(m[1]);
  } catch (e) {
    throw new Error(`${readme}: its YAML front matter does not parse (${(e as Error).message})`);
  }
  const configs = (meta as { configs?: unknown } | null)?.configs;
  return Array.isArray(configs) ? (configs as YamlConfig[]) : null;
}

/** A YAML config's data_files: a pattern, a list of them (train), or a list of {split, path}. */
function configSplits(files: string[], c: YamlConfig, where: string): Record<string, string[]> {
  const dataFiles = c.data_files;
  if (dataFiles === undefined || dataFiles === null) {
    const dir = c.data_dir?.replace(/\/$/, '');
    const inDir = dir ? files.filter((f) => f.startsWith(`${dir}/`)).map((f) => f.slice(dir.length + 1)) : files;
    return Object.fromEntries(Object.entries(defaultSplits(inDir)).map(([s, fs_]) => [s, fs_.map((f) => (dir ? `${dir}/${f}` : f))]));
  }
  const list = (v: unknown): string[] => (typeof v === 'string' ? [v] : Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : []);
  if (list(dataFiles).length) return { train: matching(files, list(dataFiles)) };
  if (Array.isArray(dataFiles) && dataFiles.every((d) => d && typeof d.split === 'string' && list(d.path).length)) {
    return Object.fromEntries(dataFiles.map((d: { split: string; path: unknown }) => [d.split, matching(files, list(d.path))]));
  }
  throw new Error(`${where}: data_files must be a pattern, a list of them, or a list of {split, path} (as datasets reads it)`);
}

/**
 * The splits of the dataset in `root` (a snapshot folder): split name -> its files (absolute),
 * for `config` (a YAML config_name; default: the one marked default, else the only one).
 */
export function datasetSplits(root: string, opts: { config?: string } = {}): Record<string, string[]> {
  const files = filesUnder(root);
  const configs = readmeConfigs(root);
  let splits: Record<string, string[]>;
  if (configs && configs.length) {
    const names = configs.map((c) => c.config_name ?? 'default');
    let chosen: YamlConfig | undefined;
    if (opts.config !== undefined) {
      chosen = configs.find((c) => (c.config_name ?? 'default') === opts.config);
      if (!chosen) throw new Error(`${root}: no config '${opts.config}' (its README names ${names.join(', ')})`);
    } else {
      chosen = configs.find((c) => c.default === true) ?? configs.find((c) => (c.config_name ?? 'default') === 'default') ?? (configs.length === 1 ? configs[0] : undefined);
      if (!chosen) throw new Error(`${root}: several configs (${names.join(', ')}) and none the default: choose one (--dataset-config-name)`);
    }
    splits = configSplits(files, chosen, `${path.join(root, 'README.md')}: config ${chosen.config_name ?? 'default'}`);
  } else {
    if (opts.config !== undefined) throw new Error(`${root}: no configs in its README, so no config '${opts.config}'`);
    splits = defaultSplits(files);
  }
  // the files of the most common kind (as datasets infers its builder), the others left out
  const all = Object.values(splits).flat();
  // (datasets infers the kind past a compression ending: train.jsonl.gz is json)
  const extOf = (f: string) => path.extname(dataName(f)).toLowerCase();
  const counts = Object.entries(KINDS).map(([kind, exts]) => [kind, all.filter((f) => exts.includes(extOf(f))).length] as const);
  const [kind, n] = counts.reduce((a, b) => (b[1] > a[1] ? b : a));
  if (!n) throw new Error(`${root}: no data files tstorch reads (.parquet, .jsonl, .json, .csv, .txt; the last four maybe .gz or .zst)`);
  const keep = (f: string) => KINDS[kind].includes(extOf(f)) && !/\.parquet\.(gz|zst)$/i.test(f);
  return Object.fromEntries(Object.entries(splits).map(([s, fs_]) => [s, fs_.filter(keep).map((f) => path.join(root, f))]).filter(([, fs_]) => fs_.length));
}

// --- split slicing: load_dataset(..., split="train[:10%]+validation[-2:]") ---

/** One part of a split spec, as datasets' ReadInstruction holds it: a split and a slice of it. */
export interface SplitInstruction {
  split: string;
  from: number | null;
  to: number | null;
  /** '%': from and to are percents of the split's rows (both, when either is written with %) */
  unit: '%' | 'abs';
  rounding: 'closest' | 'pct1_dropremainder' | null;
}

const SUB_SPEC = /^(\w+(?:\.\w+)*)(?:\[(?:(-?[\d_]+)(%)?)?:(?:(-?[\d_]+)(%)?)?\])?(?:\(([^)]*)\))?$/;

/** datasets' ReadInstruction.from_spec: `train`, `train[:10%]`, `train[10:20]`, `train[-5:]`, `test[:50%](pct1_dropremainder)`, joined by `+`. */
export function parseSplitSpec(spec: string): SplitInstruction[] {
  return spec.trim().split(/\s*\+\s*/).map((sub) => {
    const m = SUB_SPEC.exec(sub);
    if (!m) throw new Error(`split '${spec}': '${sub}' is not a split spec (datasets' forms: train, train[:10%], train[10:20], train[-5:], train[:50%](pct1_dropremainder); several joined by +)`);
    const unit = m[3] || m[5] ? '%' : 'abs';
    const int = (s: string | undefined) => (s === undefined ? null : Number(s.replace(/_/g, '')));
    const [from, to] = [int(m[2]), int(m[4])];
    const rounding = m[6] ?? null;
    if (rounding !== null && rounding !== 'closest' && rounding !== 'pct1_dropremainder') throw new Error(`split '${spec}': rounding must be closest or pct1_dropremainder, got '${rounding}'`);
    if (unit !== '%' && rounding !== null) throw new Error(`split '${spec}': a rounding is for percent slices only`);
    if (unit === '%' && [from, to].some((b) => b !== null && Math.abs(b) > 100)) throw new Error(`split '${spec}': percent slice boundaries must be between -100 and 100`);
    return { split: m[1], from, to, unit, rounding: unit === '%' ? (rounding ?? 'closest') : null };
  });
}

/** The rows [from, to) an instruction takes of a split of n rows (datasets' _rel_to_abs_instr). */
export function splitSliceBounds(instr: SplitInstruction, n: number): [number, number] {
  const pct = (b: number): number => {
    if (instr.rounding === 'pct1_dropremainder') {
      if (n < 100) throw new Error(`split '${instr.split}': pct1_dropremainder rounding on a split of fewer than 100 rows (${n}) always gives nothing`);
      return b * Math.trunc(n / 100);
    }
    const x = (b * n) / 100, floor = Math.floor(x);
    return x - floor === 0.5 ? floor + (floor % 2 === 0 ? 0 : 1) : Math.round(x); // (Python's round: halves to even)
  };
  let from = instr.from === null ? 0 : instr.unit === '%' ? pct(instr.from) : instr.from;
  let to = instr.to === null ? n : instr.unit === '%' ? pct(instr.to) : instr.to;
  if (from < 0) from = Math.max(n + from, 0);
  if (to < 0) to = Math.max(n + to, 0);
  return [Math.min(from, n), Math.min(to, n)];
}

/** A data file's rows as datasets' builders count them, and how to write some of them back as a file tstorch reads the same way. */
function fileRows(file: string): { rows: unknown[]; ext: string; write: (rows: unknown[]) => string } {
  const ext = path.extname(dataName(file)).toLowerCase();
  if (isRecordFile(file)) {
    return { rows: readRecords(file, { raw: true }).map(([, row]) => row), ext: '.jsonl', write: (rows) => rows.map((r) => JSON.stringify(r) + '\n').join('') };
  }
  if (ext === '.csv') {
    // (as bytes, latin1 both ways: a UTF-8 file stays UTF-8, the notebook's ISO-8859-1 stays so)
    const rows = parseCsv(readDataText(file, 'latin1'), file).filter((r) => !(r.length === 1 && r[0] === ''));
    if (!rows.length) throw new Error(`${file}: empty CSV`);
    const quote = (v: string) => (/[",\r\n]/.test(v) || v !== v.trim() ? `"${v.replace(/"/g, '""')}"` : v);
    const line = (r: string[]) => r.map(quote).join(',') + '\n';
    return { rows: rows.slice(1), ext, write: (body) => line(rows[0]) + (body as string[][]).map(line).join('') };
  }
  if (ext === '.txt') {
    // datasets' text builder: every line a row, blank ones too (Python's splitlines)
    const lines = readDataText(file).split(/\r\n|\r|\n/);
    if (lines[lines.length - 1] === '') lines.pop();
    return { rows: lines, ext, write: (rows) => (rows as string[]).map((l) => l + '\n').join('') };
  }
  throw new Error(`${file}: split slicing reads .parquet, .jsonl, .json, .csv and .txt files (the last four maybe .gz or .zst)`);
}

/**
 * The rows a split spec names (`train[:10%]+validation[-2:]`, as load_dataset's split=), of the
 * splits' files (datasetSplits'), written into `outDir` as files tstorch reads (records as .jsonl,
 * CSV as CSV, text as text), in order, named so that a folder read takes them in that order.
 * Returns the files written. A spec that takes no rows is an error, as in datasets.
 */
export function sliceSplits(splits: Record<string, string[]>, spec: string, outDir: string): string[] {
  const instructions = parseSplitSpec(spec);
  const written: string[] = [];
  for (const instr of instructions) {
    const files = splits[instr.split];
    if (!files) throw new Error(`split '${spec}': no '${instr.split}' split (there are ${Object.keys(splits).join(', ')})`);
    const parts = files.map(fileRows);
    const n = parts.reduce((k, p) => k + p.rows.length, 0);
    const [from, to] = splitSliceBounds(instr, n);
    let start = 0;
    for (const [i, part] of parts.entries()) {
      const take = part.rows.slice(Math.max(from - start, 0), Math.max(to - start, 0));
      start += part.rows.length;
      if (!take.length) continue;
      const out = path.join(outDir, `${String(written.length).padStart(5, '0')}-${path.basename(dataName(files[i]), path.extname(dataName(files[i])))}${part.ext}`);
      fs.writeFileSync(out, part.write(take));
      written.push(out);
    }
  }
  if (!written.length) throw new Error(`split '${spec}' takes no rows`);
  return written;
}
