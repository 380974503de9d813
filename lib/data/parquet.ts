// Reading Parquet files, the format of Hugging Face's dataset hub (its "refs/convert/parquet"
// branch, `Dataset.to_parquet`, pandas, polars, Spark), so a dataset downloaded from the hub trains
// as it is. The decoding is hyparquet's (pure JavaScript: every Parquet encoding, data pages v1 and
// v2, and with hyparquet-compressors snappy, gzip, zstd, brotli and lz4).
//
// Our data readers are synchronous (they are called while building datasets and from the CLI's
// checks), hyparquet is asynchronous and an ES module: it runs in a worker thread, and the caller
// waits on a shared flag (Atomics.wait) and takes the rows from the worker's port at once
// (receiveMessageOnPort), so readParquet works wherever the rest of tstorch does.
import * as fs from 'fs';
import { pathToFileURL } from 'url';
import { MessageChannel, receiveMessageOnPort, Worker } from 'worker_threads';
import { WORKER_TID_SOURCE, threadEnded } from '../io/atomic';

/** A Parquet file's rows, with the Hugging Face features its metadata describes (if any). */
export interface ParquetData {
  /** One object per row, column name to value: strings, numbers, booleans, null, lists, structs (objects). */
  rows: Record<string, unknown>[];
  /** Every column's name, in the file's order. */
  columns: string[];
  /** The `datasets` features written by Hugging Face (`Dataset.to_parquet`, the hub's conversion); undefined for other writers. */
  features?: Record<string, unknown>;
  /**
   * Per column, the class names of a ClassLabel feature, or of a list of ClassLabels (sst2's
   * `label`, conll2003's `ner_tags`): the column holds ids, id i naming names[i].
   */
  classLabels: Record<string, string[]>;
}

// The worker: reads the file with hyparquet and posts { rows, columns, metadata } or { error }.
// int64 values arrive as BigInt: they become numbers when exact, else decimal strings.
const workerSource = `
const { parentPort, workerData } = require('worker_threads');
const fs = require('fs');
const { file, columns, rowsToo, hyparquet, compressors, port, flag } = workerData;
Atomics.store(flag, 1, ${WORKER_TID_SOURCE}); // (its OS thread, for threadEnded)
const toPlain = (v) => {
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  if (Array.isArray(v)) return v.map(toPlain);
  if (v instanceof Date || v instanceof Uint8Array || v === null || typeof v !== 'object') return v;
  const o = {};
  for (const k of Object.keys(v)) o[k] = toPlain(v[k]);
  return o;
};
(async () => {
  let reply;
  try {
    const hp = await import(hyparquet);
    const { compressors: codecs } = await import(compressors);
    // the rows: the whole file in memory; the schema only: the footer alone is read
    let source;
    if (rowsToo) {
      const buf = fs.readFileSync(file);
      source = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
    } else source = await hp.asyncBufferFromFile(file);
    const metadata = await hp.parquetMetadataAsync(source);
    const names = hp.parquetSchema(metadata).children.map((c) => c.element.name);
    const rows = rowsToo ? await hp.parquetReadObjects({ file: source, metadata, compressors: codecs, columns: columns ?? undefined }) : [];
    const kv = {};
    for (const { key, value } of metadata.key_value_metadata ?? []) kv[key] = value;
    reply = { rows: rows.map(toPlain), columns: names, keyValue: kv };
  } catch (e) {
    reply = { error: String(e && e.message || e) };
  }
  port.postMessage(reply);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
})();
`;

/** Where the ES modules are, as file URLs for the worker's import(). */
function moduleUrls(): { hyparquet: string; compressors: string } {
  try {
    return { hyparquet: pathToFileURL(require.resolve('hyparquet')).href, compressors: pathToFileURL(require.resolve('hyparquet-compressors')).href };
  } catch (e) {
    throw new Error(`reading Parquet needs the npm packages hyparquet and hyparquet-compressors (tstorch's dependencies): reinstall with npm ci (${(e as Error).message})`);
  }
}

/**
 * A Parquet file's rows (all columns, or `columns`), read synchronously. Throws with the file's
 * name when it is missing or not a readable Parquet file.
 */
export function readParquet(file: string, opts: { columns?: string[] } = {}): ParquetData {
  if (opts.columns) return runReader(file, opts.columns, true);
  // The CLI asks several readers in turn what a data file holds (KTO rows? pairs? texts?): the last
  // file read whole is kept (by path, size and mtime) so it is decoded once; callers get copies.
  if (!fs.existsSync(file)) throw new Error(`${file}: no such file`);
  const st = fs.statSync(file), key = `${file}\0${st.size}\0${st.mtimeMs}`;
  if (lastRead?.key !== key) lastRead = { key, data: runReader(file, null, true) };
  return structuredClone(lastRead.data);
}
let lastRead: { key: string; data: ParquetData } | null = null;

/** A Parquet file's columns and Hugging Face features, without reading its rows (rows: []). */
export function readParquetSchema(file: string): ParquetData {
  return runReader(file, null, false);
}

function runReader(file: string, columns: string[] | null, rowsToo: boolean): ParquetData {
  if (!fs.existsSync(file)) throw new Error(`${file}: no such file`);
  const { port1, port2 } = new MessageChannel();
  const flag = new Int32Array(new SharedArrayBuffer(8)); // answered, the worker's OS thread id
  const worker = new Worker(workerSource, { eval: true, workerData: { file, columns, rowsToo, ...moduleUrls(), port: port2, flag }, transferList: [port2] });
  try {
    // (a worker that dies, out of memory say, never answers: its thread found gone, or the wait
    // ended after a generous time where that cannot be seen)
    const limitMs = 120_000 + fs.statSync(file).size / 1e6 * 2_000, since = Date.now();
    while (Atomics.wait(flag, 0, 0, 1000) === 'timed-out') {
      if (threadEnded(Atomics.load(flag, 1)) && Atomics.load(flag, 0) === 0) throw new Error(`${file}: the Parquet reader stopped without an answer (out of memory? a file too large to read whole: split it into files of a folder)`);
      if (Date.now() - since > limitMs) throw new Error(`${file}: the Parquet reader gave no answer in ${Math.round(limitMs / 1000)} s (out of memory? a file too large to read whole?)`);
    }
    const reply = receiveMessageOnPort(port1)?.message as { rows: Record<string, unknown>[]; columns: string[]; keyValue: Record<string, string>; error?: undefined } | { error: string } | undefined;
    if (!reply) throw new Error(`${file}: the Parquet reader stopped without an answer`);
    if (reply.error !== undefined) throw new Error(`${file}: not a readable Parquet file (${reply.error})`);
    const features = huggingFaceFeatures(reply.keyValue.huggingface);
    return { rows: reply.rows, columns: reply.columns, ...(features ? { features } : {}), classLabels: features ? classLabelsOf(features) : {} };
  } finally {
    port1.close();
    void worker.terminate();
  }
}

/** The features in the `huggingface` metadata entry (`{"info": {"features": ...}}`), if well-formed. */
function huggingFaceFeatures(entry: string | undefined): Record<string, unknown> | undefined {
  if (entry === undefined) return undefined;
  try {
    const features = JSON.parse(entry)?.info?.features;
    return features !== null && typeof features === 'object' && !Array.isArray(features) ? features : undefined;
  } catch {
    return undefined; // not ours to judge: the rows are still good
  }
}

/**
 * ClassLabel names per column: a ClassLabel, or a list of them (datasets' Sequence / List /
 * LargeList with `feature`, or an older writer's one-element array).
 */
export function classLabelsOf(features: Record<string, unknown>): Record<string, string[]> {
  const names = (f: unknown): string[] | undefined => {
    if (Array.isArray(f)) return f.length === 1 ? names(f[0]) : undefined;
    if (f === null || typeof f !== 'object') return undefined;
    const o = f as Record<string, unknown>;
    if (o._type === 'ClassLabel') return Array.isArray(o.names) && o.names.every((n) => typeof n === 'string') ? (o.names as string[]) : undefined;
    if (o._type === 'Sequence' || o._type === 'List' || o._type === 'LargeList') return names(o.feature);
    return undefined;
  };
  const out: Record<string, string[]> = {};
  for (const [column, f] of Object.entries(features)) {
    const n = names(f);
    if (n) out[column] = n;
  }
  return out;
}
