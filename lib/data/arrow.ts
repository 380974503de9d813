// Datasets saved by Hugging Face's save_to_disk, read without Python: Dataset.save_to_disk writes a
// folder of Arrow stream files (data-00000-of-00002.arrow, ...), state.json naming them in order
// and dataset_info.json with the features (a ClassLabel's names among them); DatasetDict's writes
// one such folder a split and dataset_dict.json naming the splits. Decoding is apache-arrow's.
// Values come out as JSON would hold them: int64 as a number where exact, else a decimal string
// (as the Parquet reader gives them), lists as arrays, structs as objects.
import { readJsonObject } from '../io/json';
import * as fs from 'fs';
import * as path from 'path';
import { classLabelsOf } from './parquet';

type Arrow = typeof import('apache-arrow');
let arrowModule: Arrow | null = null;
// (loaded on first use: apache-arrow costs 0.1 s and 14 MB at start-up, and most runs read no Arrow file)
// eslint-disable-next-line @typescript-eslint/no-require-imports
const arrow = (): Arrow => (arrowModule ??= require('apache-arrow') as Arrow);

export const isArrowFile = (file: string): boolean => /\.arrow$/i.test(file);

/**
 * Whether a folder is a Dataset.save_to_disk folder: a state.json naming .arrow files that are
 * there (a folder of other data with datasets' state.json beside it is not).
 */
export function isSavedDataset(dir: string): boolean {
  const file = path.join(dir, 'state.json');
  if (!fs.existsSync(file)) return false;
  let state: unknown;
  try { state = JSON.parse(fs.readFileSync(file, 'utf8')); } catch { return false; }
  const files = (state as { _data_files?: { filename?: unknown }[] })?._data_files;
  return Array.isArray(files) && files.length > 0 && files.every((f) => typeof f?.filename === 'string' && isArrowFile(f.filename) && fs.existsSync(path.join(dir, f.filename)));
}

/** A DatasetDict.save_to_disk folder's splits (dataset_dict.json's), each its folder; null for any other folder. */
export function savedDatasetSplits(dir: string): Record<string, string> | null {
  const file = path.join(dir, 'dataset_dict.json');
  if (!fs.existsSync(file)) return null;
  const splits = readJson(file).splits;
  if (!Array.isArray(splits) || !splits.every((s) => typeof s === 'string')) throw new Error(`${file}: no list of splits (a DatasetDict.save_to_disk folder has {"splits": ["train", ...]})`);
  return Object.fromEntries((splits as string[]).map((s) => [s, path.join(dir, s)]));
}

/** A save_to_disk folder's Arrow files, in the order state.json gives them. */
export function savedDatasetFiles(dir: string): string[] {
  const state = readJson(path.join(dir, 'state.json'));
  const files = (state._data_files as { filename?: unknown }[] | undefined)?.map((f) => f.filename);
  if (!files?.length || !files.every((f) => typeof f === 'string')) throw new Error(`${path.join(dir, 'state.json')}: no _data_files (not a folder written by save_to_disk?)`);
  return (files as string[]).map((f) => path.join(dir, f));
}

/** The columns and ClassLabel names per column of the saved dataset an .arrow file belongs to (its folder's dataset_info.json features). */
export function savedDatasetClassLabels(arrowFile: string): { columns: string[]; classLabels: Record<string, string[]> } {
  const info = path.join(path.dirname(arrowFile), 'dataset_info.json');
  const features = fs.existsSync(info) ? readJson(info).features : undefined;
  if (!features || typeof features !== 'object') return { columns: [], classLabels: {} };
  return { columns: Object.keys(features), classLabels: classLabelsOf(features as Record<string, unknown>) };
}

/** The rows of an Arrow stream file (as save_to_disk writes them), as plain objects. */
export function readArrowRows(file: string): Record<string, unknown>[] {
  let table;
  try {
    table = arrow().tableFromIPC(fs.readFileSync(file));
  } catch (e) {
    throw new Error(`${file}: not a readable Arrow file (${(e as Error).message})`);
  }
  const names = table.schema.fields.map((f) => f.name);
  const columns = names.map((n) => table.getChild(n)!);
  return Array.from({ length: table.numRows }, (_, i) => Object.fromEntries(names.map((n, c) => [n, plain(columns[c].get(i))])));
}

/** An Arrow value as JSON holds it. */
function plain(v: unknown): unknown {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (v instanceof arrow().Vector) return Array.from(v as Iterable<unknown>, plain);
  if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function') {
    const o = (v as { toJSON(): unknown }).toJSON();
    if (o !== null && typeof o === 'object' && !Array.isArray(o)) return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, plain(x)]));
    return o;
  }
  if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<number>, plain);
  return v;
}

function readJson(file: string): Record<string, unknown> {
  return readJsonObject(file, 'dataset', 'is the folder what datasets\' save_to_disk wrote, copied whole?');
}
