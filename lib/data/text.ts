// Reading training text: plain files, the notebook's Articles.csv, and its cleaning().
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { constants as bufferConstants } from 'buffer';
import { StringDecoder } from 'string_decoder';
import { readParquet, readParquetSchema } from './parquet';
import { isArrowFile, isSavedDataset, readArrowRows, savedDatasetClassLabels, savedDatasetFiles, savedDatasetSplits } from './arrow';
import { ChatRenderer, ConversationOptions, conversationToText } from './chat';
import { gunzipSlices } from './gunzip_stream';
import type { PromptCompletion } from './dataset';
import { isJsonObject } from '../io/json';

/**
 * A data file's name without a compression ending (.gz, .zst): what kind of data it holds
 * (`train.jsonl.gz` is JSON Lines, gzipped, as datasets reads it; so are .json.gz, .csv.zst, ...).
 */
export const dataName = (file: string): string => file.replace(/\.(gz|zst)$/i, '');

/** A data file's bytes, decompressed where its name ends in .gz (gzip) or .zst (Zstandard). */
export function readDataBytes(file: string): Buffer {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw new Error(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const kind = /\.gz$/i.test(file) ? 'gzip' : /\.zst$/i.test(file) ? 'zstd' : null;
  if (!kind) return bytes;
  try {
    // (fzstd: pure JavaScript; frames with or without their size, several in a row)
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return kind === 'gzip' ? zlib.gunzipSync(bytes) : Buffer.from((require('fzstd') as typeof import('fzstd')).decompress(bytes));
  } catch (e) {
    throw new Error(`${file}: not a readable ${kind} file (${(e as Error).message}); a whole ${path.extname(file)}, or the file without the ${path.extname(file)} ending`);
  }
}

/**
 * About how many bytes a data file holds decompressed, without decompressing it (to make room
 * for its tokens at once): gzip's trailer says the size (of its last member, modulo 4 GiB); a
 * Zstandard file is taken as text compresses, about 4 to 1; any other file is its size.
 */
export function dataBytesHint(file: string): number {
  const size = fs.statSync(file).size;
  if (/\.zst$/i.test(file)) return 4 * size;
  if (!/\.gz$/i.test(file) || size < 18) return size;
  const trailer = Buffer.alloc(4), fd = fs.openSync(file, 'r');
  try {
    fs.readSync(fd, trailer, 0, 4, size - 4);
  } finally {
    fs.closeSync(fd);
  }
  // (ISIZE is the size modulo 2^32: for a file of 4 GiB or more compressed, the smallest such
  // size not under that; a small file's text may well be shorter than its gzip)
  let isize = trailer.readUInt32LE(0);
  if (size >= 2 ** 32) while (isize < size) isize += 2 ** 32;
  return isize;
}

/** A data file's text (UTF-8 unless said), decompressed where its name ends in .gz or .zst. */
export const readDataText = (file: string, encoding: BufferEncoding = 'utf8'): string => bytesToText(file, readDataBytes(file), encoding);

// The most bytes one JavaScript string surely holds (V8's limit is in characters; a character is at least a byte).
const MAX_TEXT_BYTES = bufferConstants.MAX_STRING_LENGTH;
const MB = (n: number) => `${Math.round(n / 2 ** 20)} MB`;

/** A file's bytes as one string, or an error saying what to do where it is longer than a JavaScript string can be. */
function bytesToText(file: string, bytes: Buffer, encoding: BufferEncoding = 'utf8'): string {
  if (bytes.length > MAX_TEXT_BYTES) {
    throw new Error(`${file}: ${MB(bytes.length)}${/\.(gz|zst)$/i.test(file) ? ' decompressed' : ''}, more than one JavaScript string holds (${MB(MAX_TEXT_BYTES)}) to read as a whole: give it as .txt or JSON Lines (.jsonl), which are read a piece at a time, or split it into files of a folder`);
  }
  return bytes.toString(encoding);
}

/**
 * A data file's lines (UTF-8), each decoded from its bytes alone: a file larger than a
 * JavaScript string reads too. As text.split('\n') gives them (a last empty line after a final newline).
 * From `bytes` where given, else read (and decompressed) a slice at a time, never held whole.
 */
export function* dataLines(file: string, bytes?: Buffer): Generator<string> {
  if (!bytes) {
    let rest = Buffer.alloc(0);
    for (const chunk of dataChunks(file)) {
      const slice = rest.length ? Buffer.concat([rest, chunk]) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
      let p = 0;
      for (let end; (end = slice.indexOf(10, p)) >= 0; p = end + 1) yield slice.toString('utf8', p, end);
      rest = Buffer.from(slice.subarray(p)); // (a copy: the slice is read into again)
    }
    yield rest.toString('utf8');
    return;
  }
  for (let p = 0; p <= bytes.length;) {
    let end = bytes.indexOf(10, p);
    if (end < 0) end = bytes.length;
    yield bytes.toString('utf8', p, end);
    p = end + 1;
  }
}

/**
 * Parses RFC 4180 CSV (quoted fields, doubled quotes, newlines inside quotes, CRLF).
 * Throws with the line number on an unterminated quote.
 */
export function parseCsv(text: string, file = 'CSV'): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let i = 0;
  let line = 1;
  let quoted = false;
  let quoteStartLine = 0;
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') { field += '"'; i += 2; continue; }
        quoted = false; i++; continue;
      }
      if (c === '\n') line++;
      field += c; i++; continue;
    }
    if (c === '"' && field === '') { quoted = true; quoteStartLine = line; i++; continue; }
    if (c === ',') { row.push(field); field = ''; i++; continue; }
    if (c === '\r' && text[i + 1] === '\n') { i++; continue; }
    if (c === '\n' || c === '\r') {
      row.push(field); rows.push(row); row = []; field = ''; line++; i++; continue;
    }
    field += c; i++;
  }
  if (quoted) throw new Error(`${file}: unterminated quoted field starting on line ${quoteStartLine}`);
  if (field !== '' || row.length) { row.push(field); rows.push(row); }
  return rows;
}

/**
 * One column of a CSV file as pandas would give it after read_csv(encoding) and dropna():
 * rows with any empty field are dropped. ISO-8859-1 by default, as the notebook's Articles.csv.
 */
export function readCsvColumn(file: string, column: string, opts: { encoding?: BufferEncoding; dropna?: boolean } = {}): string[] {
  return readCsvColumns(file, [column], opts).map(([v]) => v);
}

/** Several columns of a CSV file, each row's fields in the order asked (as readCsvColumn: dropna by default). */
export function readCsvColumns(file: string, columns: string[], opts: { encoding?: BufferEncoding; dropna?: boolean } = {}): string[][] {
  const rows = parseCsv(readDataText(file, opts.encoding ?? 'latin1'), file).filter((r) => !(r.length === 1 && r[0] === ''));
  if (rows.length < 1) throw new Error(`${file}: empty CSV`);
  const header = rows[0].map((h) => h.trim());
  const cols = columns.map((column) => {
    const col = header.indexOf(column);
    if (col < 0) throw new Error(`${file}: no column '${column}' (columns: ${header.join(', ')})`);
    return col;
  });
  const out: string[][] = [];
  rows.slice(1).forEach((r, k) => {
    if (r.length !== header.length) {
      throw new Error(`${file}: row ${k + 2} has ${r.length} fields, the header has ${header.length} (malformed CSV)`);
    }
    if ((opts.dropna ?? true) && r.some((f) => f === '')) return;
    out.push(cols.map((c) => r[c]));
  });
  return out;
}

// Python 3's `re` on str patterns is Unicode-aware: \s is str.isspace() (which includes
// \x1c-\x1f and \x85, unlike JS's \s), \w is letters, numbers and '_', \d is Unicode decimals.
const PY_S = '[\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]';
const PY_W_NOT = '[^\\p{L}\\p{N}_]';
const cleaningSteps: [RegExp, string][] = [
  [new RegExp(`${PY_S}${PY_W_NOT}`, 'gu'), ' '], //   re.sub('\s\W',' ',s)
  [new RegExp(`${PY_W_NOT},${PY_S}`, 'gu'), ' '], //  re.sub('\W,\s',' ',s)
  [/\p{Nd}+/gu, ''], //                                re.sub("\d+", "", s)
  [new RegExp(`${PY_S}+`, 'gu'), ' '], //              re.sub('\s+',' ',s)
  [/[!@#$_]/gu, ''], //                                re.sub('[!@#$_]', '', s)
];

/**
 * The seed notebook's cleaning(), reproduced exactly (tested against Python's re). Known quirk,
 * kept on purpose for parity: s.replace("co","") deletes every "co" ("company" -> "mpany").
 */
export function notebookCleaning(s: string): string {
  for (const [re, rep] of cleaningSteps) s = s.replace(re, rep);
  return s.split('co').join('').split('https').join('').split('[\\w*').join(' ');
}

/** A sane default cleaning: normalise whitespace, drop URLs; words stay intact. */
export function basicCleaning(s: string): string {
  return s.replace(/https?:\/\/\S+/g, '').replace(/\s+/g, ' ').trim();
}

export type CleaningMode = 'basic' | 'notebook' | 'none';

export function clean(s: string, mode: CleaningMode): string {
  if (mode === 'notebook') return notebookCleaning(s);
  if (mode === 'basic') return basicCleaning(s);
  return s;
}

/**
 * Training text from a file: a .csv is read as the notebook's Articles.csv (column `Article`,
 * ISO-8859-1, dropna), each article cleaned and concatenated as the notebook writes
 * Articles.txt (no separator); a .jsonl has one JSON object a line, its `text` field (or
 * `column`) a document, concatenated as HF's run_clm concatenates documents; anything else is
 * read as UTF-8 text, cleaned as a whole.
 */
export function readTrainingText(file: string, opts: TrainingTextOptions = {}): string {
  const pieces: string[] = [];
  let length = 0;
  for (const piece of readTrainingTextPieces(file, opts)) {
    length += piece.length;
    if (length > bufferConstants.MAX_STRING_LENGTH) throw new Error(`${file}: more text than one JavaScript string holds (${bufferConstants.MAX_STRING_LENGTH} characters): tokenize it a piece at a time (tokenizer.encodeChunks(readTrainingTextPieces(file)); the CLI does)`);
    pieces.push(piece);
  }
  return pieces.join('');
}
export interface TrainingTextOptions { cleaning?: CleaningMode; column?: string; chat?: ChatRenderer | null }

/**
 * readTrainingText's text in the pieces it is made of, one at a time (documents, articles, or
 * slices of a long .txt), for Tokenizer.encodeChunks: a corpus larger than a JavaScript string,
 * never held whole. A .txt cleaned (--cleaning basic / notebook) is cleaned whole, so must fit one.
 */
export function* readTrainingTextPieces(file: string, opts: TrainingTextOptions = {}): Generator<string> {
  if (isFolder(file)) {
    for (const f of dataFilesIn(file)) yield* readTrainingTextPieces(f, opts);
    return;
  }
  checkDataFile(file);
  if (isCsv(file)) {
    const mode = opts.cleaning ?? 'notebook';
    for (const a of readCsvColumn(file, opts.column ?? 'Article')) yield clean(a, mode);
    return;
  }
  // (JSON Lines of plain texts a line at a time, never all held: a corpus larger than the heap)
  if (isPlainTextJsonl(file, opts.column)) {
    for (const d of jsonlTexts(file, opts.column ?? 'text')) yield clean(d, opts.cleaning ?? 'none');
    return;
  }
  // (a column asked for by name is read as it is; without, conversations become text)
  if (isRecordFile(file)) {
    for (const [d] of readJsonlFields(file, [opts.column ?? 'text'], readRecords(file, { chat: opts.chat, raw: opts.column !== undefined }))) yield clean(d, opts.cleaning ?? 'none');
    return;
  }
  const mode = opts.cleaning ?? 'none';
  if (mode !== 'none') {
    const bytes = readDataBytes(file);
    if (bytes.length > MAX_TEXT_BYTES) throw new Error(`${file}: ${MB(bytes.length)}, too large to clean as one text (--cleaning ${mode}); train on it uncleaned (--cleaning none), or split it into files of a folder`);
    yield clean(bytes.toString('utf8'), mode);
    return;
  }
  // (read, and decompressed, a slice at a time: the file is never in memory whole; StringDecoder
  // keeps a character cut at a slice's end for the next slice)
  const decoder = new StringDecoder('utf8');
  for (const chunk of dataChunks(file)) yield decoder.write(chunk);
  yield decoder.end();
}

/**
 * A data file's bytes in slices read in turn, decompressed where its name ends in .gz (Node's
 * zlib on a worker thread) or .zst (fzstd's streaming decoder, pure JavaScript): never all in
 * memory, whatever the file's size. A slice is valid until the next is asked for.
 */
export function* dataChunks(file: string): Generator<Uint8Array> {
  const kind = /\.gz$/i.test(file) ? 'gzip' : /\.zst$/i.test(file) ? 'zstd' : null;
  let fd: number; // (opened here for every kind: a file that cannot be read says so at once, in these words)
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw new Error(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const damaged = (e: unknown) => new Error(`${file}: not a readable ${kind} file (${(e as Error).message}); a whole ${path.extname(file)}, or the file without the ${path.extname(file)} ending`);
  try {
    if (!kind) {
      const slice = Buffer.alloc(TEXT_SLICE_BYTES);
      for (let n; (n = fs.readSync(fd, slice, 0, slice.length, null)) > 0;) yield slice.subarray(0, n);
      return;
    }
    if (kind === 'gzip') {
      const slices = gunzipSlices(file);
      try {
        for (;;) {
          let next: IteratorResult<Uint8Array>;
          try {
            next = slices.next();
          } catch (e) {
            throw damaged(e);
          }
          if (next.done) return;
          yield next.value;
        }
      } finally {
        slices.return(undefined); // (stopped early: its worker stopped too)
      }
    }
    // (the decoder hands out what each push decompresses, copied as it may reuse its buffers,
    // and in slices of at most TEXT_SLICE_BYTES: a megabyte of zstd may hold a gigabyte of text)
    const out: Uint8Array[] = [];
    const take = (chunk: Uint8Array) => {
      for (let p = 0; p < chunk.length; p += TEXT_SLICE_BYTES) out.push(Uint8Array.prototype.slice.call(chunk, p, p + TEXT_SLICE_BYTES));
    };
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const decoder = new (require('fzstd') as typeof import('fzstd')).Decompress(take);
    const push = (bytes: Uint8Array, final: boolean) => {
      try {
        decoder.push(bytes, final);
      } catch (e) {
        throw damaged(e);
      }
    };
    // (each read into a buffer of its own: a decoder may keep what it has not yet used)
    for (let input = Buffer.allocUnsafe(COMPRESSED_READ_BYTES), n; (n = fs.readSync(fd, input, 0, input.length, null)) > 0; input = Buffer.allocUnsafe(COMPRESSED_READ_BYTES)) {
      push(input.subarray(0, n), false);
      yield* out.splice(0);
    }
    push(new Uint8Array(0), true);
    yield* out.splice(0);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Whether `file` (or every data file of a folder) is JSON Lines (.jsonl, maybe compressed) whose
 * first record is a plain text: `column` (default text) a string, and without a column named, not
 * prompt-completion, pre-tokenized or a conversation. Such texts are read a line at a time
 * (readTrainingTextPieces), never all held.
 */
export function isPlainTextJsonl(file: string, column?: string): boolean {
  if (isFolder(file)) {
    const files = dataFilesIn(file);
    return files.length > 0 && files.every((f) => isPlainTextJsonl(f, column));
  }
  if (!/\.jsonl$/i.test(dataName(file)) || !fs.existsSync(file)) return false;
  for (const [, row] of jsonlRows(file)) return plainTextOf(row, column) !== undefined;
  return false;
}

/** A record's text where it is a plain text (see isPlainTextJsonl), else undefined. */
function plainTextOf(row: unknown, column: string | undefined): string | undefined {
  if (row === null || typeof row !== 'object' || Array.isArray(row)) return undefined;
  const r = row as Record<string, unknown>, text = r[column ?? 'text'];
  if (typeof text !== 'string') return undefined;
  if (column !== undefined) return text;
  if (Array.isArray(r.input_ids) || (typeof r.prompt === 'string' && typeof r.completion === 'string')) return undefined;
  try {
    return conversationToText(r, null) === r ? text : undefined;
  } catch {
    return undefined; // (a conversation: it needs a chat template)
  }
}

/** A value as JSON, cut short (for messages). */
const shortJson = (v: unknown): string => { const j = JSON.stringify(v) ?? String(v); return j.length > 40 ? `${j.slice(0, 37)}...` : j; };

/** The fields a token classifier's rows hold their tags in, first found first (run_ner's names). */
export const TAG_COLUMNS = ['tags', 'ner_tags', 'pos_tags'];

/** Words and their tags are a token classifier's data, which a text's reader does not take: said so. */
const taggedWordsHint = (row: unknown): string =>
  isJsonObject(row) && Array.isArray(row.tokens) && TAG_COLUMNS.some((k) => k in row) ? '; words with tags train a token classifier: --task token-classification' : '';

/** The texts of a plain-text JSON Lines file, a line at a time; a record of another kind is an error saying where. */
function* jsonlTexts(file: string, column: string): Generator<string> {
  let n = 0;
  for (const [line, row] of jsonlRows(file)) {
    const text = plainTextOf(row, column === 'text' ? undefined : column);
    if (text === undefined) {
      if (!isJsonObject(row)) throw new Error(`${file}:${line}: a record must be a JSON object of fields, got ${shortJson(row)}`);
      const fields = ` (fields: ${Object.keys(row).join(', ')})`;
      if (typeof (row as Record<string, unknown>)[column] !== 'string') throw new Error(`${file}:${line}: no string field '${column}'${fields}; choose one with --text-column${taggedWordsHint(row)}`);
      throw new Error(`${file}:${line}: a conversation, prompt-completion pair or pre-tokenized row${fields} after plain texts: give one kind of record a file`);
    }
    n++;
    yield text;
  }
  if (!n) throw new Error(noRows(file));
}

/** A JSON Lines file's non-blank lines parsed, with their line numbers, a line at a time (from `bytes`, or read and decompressed in slices). */
function* jsonlRows(file: string, bytes?: Buffer): Generator<[number, unknown]> {
  let i = 0;
  for (const line of dataLines(file, bytes)) {
    i++;
    if (!line.trim()) continue;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch (e) {
      throw new Error(`${file}:${i}: not a JSON line (${(e as Error).message})`);
    }
    yield [i, row];
  }
}

let TEXT_SLICE_BYTES = 16 << 20;
const COMPRESSED_READ_BYTES = 1 << 20;
/** For tests: the slice size readTrainingTextPieces reads a .txt in. */
export function _setTextSliceBytes(n: number): void {
  TEXT_SLICE_BYTES = n;
}

/** The string field `column` of each line's JSON object (blank lines skipped), or of each row of a .parquet. */
export function readJsonlColumn(file: string, column: string): string[] {
  return readJsonlFields(file, [column]).map(([v]) => v);
}

/** The string fields `columns` of each line's JSON object (or .parquet row), in that order (blank lines skipped). */
export function readJsonlFields(file: string, columns: string[], parsed = readRecords(file, { raw: true }), hint = 'choose one with --text-column'): string[][] {
  // (every record is an object: readRecords refuses any other)
  const rows = parsed.map(([line, row]) => columns.map((column) => {
    const value = (row as Record<string, unknown>)[column];
    if (typeof value !== 'string') {
      throw new Error(`${line}: no string field '${column}' (fields: ${Object.keys(row as object).join(', ')}); ${hint}${taggedWordsHint(row)}`);
    }
    return value;
  }));
  if (!rows.length) throw new Error(noRows(file));
  return rows;
}

/**
 * Data files of records: JSON Lines (an object a line), JSON (an array of objects, or JSON Lines
 * named .json, as `Dataset.to_json` writes them; Hugging Face's "json" loader reads both) and
 * Parquet (a row each, as Hugging Face's hub and `Dataset.to_parquet` write them).
 */
export const isRecordFile = (file: string): boolean => /\.(jsonl|json)$/i.test(dataName(file)) || isParquet(file) || isArrowFile(file);
const isParquet = (file: string): boolean => /\.parquet$/i.test(file);
const isJson = (file: string): boolean => /\.json$/i.test(dataName(file));

/**
 * The records of a .jsonl, .json or .parquet, each with where it is, for messages: `file:7` (a
 * line), `file row 7` (a Parquet row), `file item 7` (an element of a JSON array; 1-based).
 * Conversational rows (TRL's formats: messages, or prompt / completion / chosen / rejected as
 * lists of {role, content}) become text by `chat`'s template, as TRL's trainers make them
 * (without `chat`, such a row is an error saying so); raw: every row as it is written.
 */
export function readRecords(file: string, opts: { chat?: ChatRenderer | null; raw?: boolean } & ConversationOptions = {}): [string, unknown][] {
  return readRecordsAndKind(file, opts).records;
}

/**
 * A record file's first record as readRecords gives it, for telling what kind of data the file is:
 * JSON Lines read no further than their first record (a large corpus of texts is not parsed whole
 * only to learn it holds no preference pairs); other formats read as readRecords reads them.
 */
function firstRecord(file: string, opts: { chat?: ChatRenderer | null }): Record<string, unknown> | undefined {
  if (/\.jsonl$/i.test(dataName(file))) {
    for (const [line, row] of jsonlRows(file)) return readRecordsAndKind(file, opts, [[`${file}:${line}`, row]]).records[0][1] as Record<string, unknown> | undefined;
    return undefined;
  }
  return readRecords(file, opts)[0]?.[1] as Record<string, unknown> | undefined;
}

/** readRecords, and whether any row was a conversation (TRL's SFT then adds no eos: the template ends turns). */
function readRecordsAndKind(file: string, opts: { chat?: ChatRenderer | null; raw?: boolean } & ConversationOptions, raw = readRawRecords(file)): { records: [string, unknown][]; conversational: boolean } {
  let conversational = false;
  const records = raw.map(([where, row]): [string, unknown] => {
    // (as datasets' json loader: every record an object; null or [1, 2] is no row of fields)
    if (!isJsonObject(row)) throw new Error(`${where}: a record must be a JSON object of fields, got ${shortJson(row)}`);
    if (opts.raw) return [where, row];
    try {
      const text = conversationToText(row as Record<string, unknown>, opts.chat, { assistantSpans: opts.assistantSpans });
      if (text !== row) conversational = true;
      return [where, text];
    } catch (e) {
      throw new Error(`${where}: ${(e as Error).message}`);
    }
  });
  return { records, conversational };
}

function readRawRecords(file: string): [string, unknown][] {
  if (isParquet(file)) return readParquet(file).rows.map((row, i) => [`${file} row ${i + 1}`, row]);
  if (isArrowFile(file)) return readArrowRows(file).map((row, i) => [`${file} row ${i + 1}`, row]);
  if (isCsv(file)) return readCsvRecords(file).map((row, i) => [`${file} row ${i + 1}`, row]);
  if (isJson(file)) {
    const bytes = readDataBytes(file);
    // (larger than a string: JSON Lines named .json is read a line at a time; an array cannot be)
    if (bytes.length > MAX_TEXT_BYTES) {
      const first = bytes.toString('utf8', 0, 4096).trimStart();
      if (first.startsWith('[')) throw new Error(`${file}: ${MB(bytes.length)}, a JSON array too large for one JavaScript string (${MB(MAX_TEXT_BYTES)}): write it as JSON Lines (one object a line; datasets' to_json does), or split it into files of a folder`);
      return readJsonl(file, bytes).map(([line, row]) => [`${file}:${line}`, row]);
    }
    const text = bytes.toString('utf8');
    if (text.trimStart().startsWith('[')) {
      let items: unknown;
      try {
        items = JSON.parse(text);
      } catch (e) {
        throw new Error(`${file}: not JSON (${(e as Error).message}); give an array of objects or one object a line`);
      }
      if (!Array.isArray(items)) throw new Error(`${file}: not an array of objects`);
      return items.map((row, i) => [`${file} item ${i + 1}`, row]);
    }
    // one object over several lines (SQuAD's {"data": [...]}) is not records: say so, not "line 1 is not JSON"
    if (/\n\s*\S/.test(text.trim())) {
      let whole: unknown;
      try { whole = JSON.parse(text); } catch { whole = undefined; }
      if (whole !== null && typeof whole === 'object') {
        throw new Error(`${file}: one JSON object (fields: ${Object.keys(whole).join(', ')}), not records: give an array of objects or one object a line (take the list of records out of it)`);
      }
    }
    return readJsonl(file, bytes).map(([line, row]) => [`${file}:${line}`, row]);
  }
  return readJsonl(file).map(([line, row]) => [`${file}:${line}`, row]);
}

const isCsv = (file: string): boolean => /\.csv$/i.test(dataName(file));

/**
 * A UTF-8 CSV's rows as records, typed as pandas' read_csv (Hugging Face's csv loader) types
 * them: a column of integers or of numbers gives numbers, of True / False booleans, an empty
 * field null; anything else strings.
 */
export function readCsvRecords(file: string): Record<string, unknown>[] {
  const rows = parseCsv(readDataText(file), file).filter((r) => !(r.length === 1 && r[0] === ''));
  if (!rows.length) throw new Error(`${file}: empty CSV`);
  const header = rows[0].map((h) => h.trim()), body = rows.slice(1);
  body.forEach((r, k) => { if (r.length !== header.length) throw new Error(`${file}: row ${k + 2} has ${r.length} fields, the header has ${header.length} (malformed CSV)`); });
  const typeOf = (c: number): (v: string) => unknown => {
    const values = body.map((r) => r[c]).filter((v) => v !== '');
    if (values.length && values.every((v) => /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(v))) return Number;
    if (values.length && values.every((v) => /^(true|false)$/i.test(v.trim()))) return (v) => v.trim().toLowerCase() === 'true';
    return (v) => v;
  };
  const types = header.map((_, c) => typeOf(c));
  return body.map((r) => Object.fromEntries(header.map((h, c) => [h, r[c] === '' ? null : types[c](r[c])])));
}

const noRows = (file: string): string => `${file}: no ${isParquet(file) || isArrowFile(file) ? 'rows' : isJson(file) ? 'records' : 'JSON lines'}`;

/**
 * The class names of a ClassLabel column (a Hugging Face dataset's label, or list of labels as
 * ner_tags) in a .parquet written by `datasets` (or a dataset saved by save_to_disk), or in every
 * one of a folder (they must agree): for the first of `columns` the data has; undefined for other
 * data, columns and writers.
 */
export function classLabelNames(file: string, columns: string[]): string[] | undefined {
  const labelled = (f: string) => isParquet(f) || isArrowFile(f);
  const files = isFolder(file) ? dataFilesIn(file).filter(labelled) : labelled(file) ? [file] : [];
  let found: string[] | undefined, from = '';
  for (const f of files) {
    // (a saved dataset's features are in its dataset_info.json; every column of its rows is there)
    const schema = isArrowFile(f) ? savedDatasetClassLabels(f) : readParquetSchema(f);
    const classLabels = schema.classLabels;
    const column = columns.find((c) => schema.columns.includes(c));
    const names = column === undefined ? undefined : classLabels[column];
    if (!names) continue;
    if (found && found.join('\n') !== names.join('\n')) throw new Error(`${file}: ${from} and ${f} name their ClassLabel ids differently (${found.join(',')} / ${names.join(',')}); give files of one dataset`);
    if (!found) { found = names; from = f; }
  }
  return found;
}

/** Each non-blank line of a JSON Lines file, parsed, with its line number. */
export function readJsonl(file: string, bytes?: Buffer): [number, unknown][] {
  return Array.from(jsonlRows(file, bytes));
}

/**
 * Training data as separate examples: texts, or prompts with their completions (TRL's two
 * formats); conversational: made by a chat template (TRL's SFT then adds no eos and packs nothing).
 */
export type TrainingDocuments = ({ texts: string[]; assistantSpans?: [number, number][][] } | { pairs: PromptCompletion[] } | { tokenized: TokenizedExample[] }) & { conversational?: boolean };

/**
 * A pre-tokenized example (TRL's processed data: a row with input_ids): its ids, and where the row
 * has them, completion_mask (1 on the completion), assistant_masks (1 on the assistant's tokens),
 * labels (-100 where not learned; elsewhere the input id itself).
 */
export interface TokenizedExample {
  inputIds: number[];
  completionMask?: number[];
  assistantMasks?: number[];
  labels?: number[];
}

/** A record's tokenized fields, checked: ids non-negative integers, masks of 0/1 and labels as long as them. */
function tokenizedExample(where: string, row: Record<string, unknown>): TokenizedExample {
  const ints = (k: string, ok: (v: number) => boolean, what: string): number[] | undefined => {
    const v = row[k];
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isInteger(x) && ok(x))) throw new Error(`${where}: ${k} must be a list of ${what}`);
    return v as number[];
  };
  const inputIds = ints('input_ids', (x) => x >= 0, 'token ids (integers >= 0)');
  if (!inputIds?.length) throw new Error(`${where}: input_ids must be a non-empty list of token ids (the first row has them: pre-tokenized data)`);
  const out: TokenizedExample = { inputIds };
  const fields: [keyof TokenizedExample, string, (x: number) => boolean, string][] = [
    ['completionMask', 'completion_mask', (x) => x === 0 || x === 1, '0 and 1'], ['assistantMasks', 'assistant_masks', (x) => x === 0 || x === 1, '0 and 1'],
    ['labels', 'labels', (x) => x >= -100, 'token ids or -100'],
  ];
  for (const [key, column, ok, what] of fields) {
    const v = ints(column, ok, what);
    if (v === undefined) continue;
    if (v.length !== inputIds.length) throw new Error(`${where}: ${column} has ${v.length} entries for ${inputIds.length} input_ids`);
    out[key] = v as never;
  }
  if (out.labels?.some((l, k) => l !== -100 && l !== inputIds[k])) throw new Error(`${where}: labels differ from input_ids where they are not -100; tstorch learns each token's own id (labels -100 or the input id)`);
  return out;
}

/**
 * Training data as separate examples (for training without packing): a .jsonl gives one per
 * line, prompt-completion pairs when its first object has string `prompt` and `completion`
 * fields (and no `column` was asked for), else its `text` field (or `column`); a .csv one per
 * row of its column (the notebook's Articles.csv: `Article`, cleaned); anything else one per
 * non-blank line, as Hugging Face's "text" loader. Cleaning applies to each text (not to prompts
 * and completions, which are taken as written).
 */
export function readTrainingDocuments(file: string, opts: { cleaning?: CleaningMode; column?: string; chat?: ChatRenderer | null; assistantOnlyLoss?: boolean } = {}): TrainingDocuments {
  if (isFolder(file)) {
    // a folder's files in name order: all prompt-completion data, or all texts
    const parts = dataFilesIn(file).map((f) => [f, readTrainingDocuments(f, opts)] as const);
    const tokenized = parts.filter(([, d]) => 'tokenized' in d);
    if (tokenized.length && tokenized.length < parts.length) {
      throw new Error(`${file}: ${tokenized[0][0]} holds pre-tokenized examples (input_ids) but ${parts.find(([, d]) => !('tokenized' in d))![0]} does not; give a folder of one kind`);
    }
    if (tokenized.length) return { tokenized: parts.flatMap(([, d]) => (d as { tokenized: TokenizedExample[] }).tokenized) };
    const pairs = parts.filter(([, d]) => 'pairs' in d);
    if (pairs.length && pairs.length < parts.length) {
      throw new Error(`${file}: ${pairs[0][0]} holds prompt-completion pairs but ${parts.find(([, d]) => 'texts' in d)![0]} texts; give a folder of one kind`);
    }
    const conv = parts.filter(([, d]) => d.conversational);
    if (conv.length && conv.length < parts.length) {
      throw new Error(`${file}: ${conv[0][0]} holds conversations but ${parts.find(([, d]) => !d.conversational)![0]} text; give a folder of one kind`);
    }
    const kind = conv.length ? { conversational: true } : {};
    if (pairs.length) return { pairs: parts.flatMap(([, d]) => (d as { pairs: PromptCompletion[] }).pairs), ...kind };
    const texts = parts.map(([, d]) => d as { texts: string[]; assistantSpans?: [number, number][][] });
    return { texts: texts.flatMap((d) => d.texts), ...(opts.assistantOnlyLoss ? { assistantSpans: texts.flatMap((d) => d.assistantSpans!) } : {}), ...kind };
  }
  checkDataFile(file);
  // (cleaning is for texts: examples are learned as they are written, as TRL's SFT reads them)
  const cleaned = (opts.cleaning ?? 'none') !== 'none';
  const notCleaned = (kind: string) => new Error(`${file}: --cleaning ${opts.cleaning} cleans texts; ${kind} are learned as they are (leave --cleaning out)`);
  const notConversational = () => new Error(`${file}: assistant-only loss needs conversations (TRL's messages, or prompt and completion as lists of {role, content}), and this data is not conversational`);
  if (isRecordFile(file)) {
    const spans = opts.assistantOnlyLoss === true;
    const { records: parsed, conversational } = readRecordsAndKind(file, { chat: opts.chat, raw: opts.column !== undefined, assistantSpans: spans }), first = parsed[0]?.[1] as Record<string, unknown> | undefined;
    if (opts.column === undefined && Array.isArray(first?.input_ids)) {
      // TRL's processed data: tokenized already (by datasets.map(tokenize), another pipeline, ...)
      if (spans) throw notConversational();
      if (cleaned) throw notCleaned('pre-tokenized examples (input_ids)');
      return { tokenized: parsed.map(([where, row]) => tokenizedExample(where, (row ?? {}) as Record<string, unknown>)) };
    }
    if (spans && !conversational) throw notConversational();
    if (spans && (opts.cleaning ?? 'none') !== 'none') throw new Error(`${file}: assistant-only loss learns the template's rendering as it is: no --cleaning (${opts.cleaning})`);
    const kind = conversational ? { conversational } : {};
    const spansOf = (row: unknown) => (row as { assistant_spans: [number, number][] }).assistant_spans;
    if (opts.column === undefined && typeof first?.prompt === 'string' && typeof first?.completion === 'string') {
      const hint = 'the first line makes this prompt-completion data: every line needs string prompt and completion fields';
      if (cleaned) throw notCleaned('prompt-completion pairs');
      return {
        pairs: readJsonlFields(file, ['prompt', 'completion'], parsed, hint).map(([prompt, completion], i) => ({ prompt, completion, ...(spans ? { assistantSpans: spansOf(parsed[i][1]) } : {}) })),
        ...kind,
      };
    }
    const texts = readJsonlFields(file, [opts.column ?? 'text'], parsed).map(([d]) => clean(d, opts.cleaning ?? 'none'));
    return { texts, ...(spans ? { assistantSpans: parsed.map(([, row]) => spansOf(row)) } : {}), ...kind };
  }
  if (opts.assistantOnlyLoss) throw notConversational();
  if (isCsv(file)) {
    // a CSV of prompt and completion columns is TRL's prompt-completion data; any other, texts (the notebook's Article column)
    if (opts.column === undefined && isPromptCompletionCsv(file)) {
      if (cleaned) throw notCleaned('prompt-completion pairs');
      return { pairs: readJsonlFields(file, ['prompt', 'completion'], readRecords(file, { raw: true })).map(([prompt, completion]) => ({ prompt, completion })) };
    }
    return { texts: readCsvColumn(file, opts.column ?? 'Article').map((a) => clean(a, opts.cleaning ?? 'notebook')) };
  }
  const texts = Array.from(dataLines(file), (l) => clean(l.endsWith('\r') ? l.slice(0, -1) : l, opts.cleaning ?? 'none')).filter((l) => l.trim());
  if (!texts.length) throw new Error(`${file}: no text (only blank lines)`);
  return { texts };
}

function checkDataFile(file: string): void {
  if (!fs.existsSync(file)) throw new Error(`${file}: no such file`);
}

const isFolder = (p: string) => fs.existsSync(p) && fs.statSync(p).isDirectory();

/**
 * A folder's data read file by file with `read` (null: not this kind of data): all its rows, null
 * when no file is of the kind, an error when some are and some are not (`what` names the kind).
 */
function readFolderOfOneKind<T>(dir: string, read: (file: string) => T[] | null, what: string): T[] | null {
  const parts = dataFilesIn(dir).map((f) => [f, read(f)] as const);
  const found = parts.find(([, p]) => p !== null), other = parts.find(([, p]) => p === null);
  if (!found) return null;
  if (other) throw new Error(`${dir}: ${found[0]} holds ${what} but ${other[0]} does not; give a folder of one kind`);
  return parts.flatMap(([, p]) => p!);
}

// what `datasets` writes beside data files (save_to_disk, older hub repos): not rows
const DATASETS_METADATA = new Set(['dataset_info.json', 'dataset_infos.json', 'state.json', 'dataset_dict.json']);

/** A data folder's .txt, .csv, .jsonl, .json (each maybe .gz or .zst) and .parquet files (not its subfolders, not datasets' metadata), in name order. */
export function dataFilesIn(dir: string): string[] {
  if (isSavedDataset(dir)) return savedDatasetFiles(dir); // (Dataset.save_to_disk's Arrow files, in order)
  const splits = savedDatasetSplits(dir);
  if (splits) throw new Error(`${dir}: a DatasetDict saved by save_to_disk (splits ${Object.keys(splits).join(', ')}): give one split's folder (${path.join(dir, Object.keys(splits)[0])}; on the command line also ${dir}:${Object.keys(splits)[0]})`);
  const files = fs.readdirSync(dir).filter((n) => (/\.(txt|csv|jsonl|json)$/i.test(dataName(n)) || isParquet(n)) && !DATASETS_METADATA.has(n) && fs.statSync(path.join(dir, n)).isFile()).sort();
  if (!files.length) throw new Error(`${dir}: a folder without .txt, .csv, .jsonl, .json or .parquet files`);
  return files.map((n) => path.join(dir, n));
}

/**
 * Preference data (TRL's DPO format): a .jsonl whose first line has string prompt, chosen and
 * rejected fields (every line then needs them), or a folder of such files. null when the file
 * is not preference data (so it is read as texts or prompt-completion pairs).
 */
export function readPreferencePairs(file: string, opts: { chat?: ChatRenderer | null } = {}): { prompt: string; chosen: string; rejected: string }[] | null {
  if (isFolder(file)) return readFolderOfOneKind(file, (f) => readPreferencePairs(f, opts), 'preference pairs');
  if (!isRecordFile(file) && !isCsv(file)) return null;
  checkDataFile(file);
  const first = firstRecord(file, opts);
  if (!(typeof first?.prompt === 'string' && typeof first?.chosen === 'string' && typeof first?.rejected === 'string')) return null;
  const parsed = readRecords(file, opts);
  const hint = 'the first line makes this preference data (DPO): every line needs string prompt, chosen and rejected fields';
  return readJsonlFields(file, ['prompt', 'chosen', 'rejected'], parsed, hint).map(([prompt, chosen, rejected]) => ({ prompt, chosen, rejected }));
}

/**
 * KTO data (TRL's unpaired preference format): a .jsonl whose first line has string prompt and
 * completion fields and a boolean label (the completion desirable or not), or a folder of such
 * files; null for other data. Every line must then have all three.
 */
export function readKTOExamples(file: string, opts: { chat?: ChatRenderer | null } = {}): { prompt: string; completion: string; label: boolean }[] | null {
  if (isFolder(file)) return readFolderOfOneKind(file, (f) => readKTOExamples(f, opts), 'KTO examples (prompt, completion, label)');
  if (!isRecordFile(file) && !isCsv(file)) return null;
  checkDataFile(file);
  const first = firstRecord(file, opts);
  if (!(typeof first?.prompt === 'string' && typeof first?.completion === 'string' && typeof first?.label === 'boolean')) return null;
  const parsed = readRecords(file, opts);
  const hint = 'the first line makes this KTO data: every line needs string prompt and completion fields and a boolean label (true: desirable)';
  const texts = readJsonlFields(file, ['prompt', 'completion'], parsed, hint);
  return parsed.map(([line, row], k) => {
    const label = (row as Record<string, unknown>).label;
    if (typeof label !== 'boolean') throw new Error(`${line}: 'label' must be true or false, got ${JSON.stringify(label)}; ${hint}`);
    return { prompt: texts[k][0], completion: texts[k][1], label };
  });
}

/** A text with its label: a class name or number, a value (regression), or a list of class names (multi-label). */
export interface LabelledText {
  text: string;
  label: string | number | boolean | (string | number)[];
}

/**
 * Text classification data (HF run_classification's files): a .jsonl / .json / .parquet of
 * records with a text field and a label field, or a .csv (UTF-8) with those columns, or a folder
 * of such files. The label is a class (string, integer or boolean), a number (regression) or a
 * list of classes (multi-label; in a CSV, class names separated by commas). The text is
 * `textColumn`, else `text`, else run_classification's default `sentence`; several columns
 * (GLUE's sentence1 and sentence2) are joined by `textColumnDelimiter` (default ' '), as
 * run_classification's text_column_names and text_column_delimiter.
 */
export function readLabelledTexts(file: string, opts: { textColumn?: string | string[]; labelColumn?: string; textColumnDelimiter?: string } = {}): LabelledText[] {
  if (isFolder(file)) return dataFilesIn(file).flatMap((f) => readLabelledTexts(f, opts));
  checkDataFile(file);
  const labelColumn = opts.labelColumn ?? 'label', delimiter = opts.textColumnDelimiter ?? ' ';
  const given = opts.textColumn === undefined ? undefined : typeof opts.textColumn === 'string' ? [opts.textColumn] : opts.textColumn;
  if (given && !given.length) throw new Error('readLabelledTexts: textColumn is an empty list');
  // without a choice: `text`, else `sentence` when the data has that and not `text`
  const defaultColumns = (has: (c: string) => boolean) => (!has('text') && has('sentence') ? ['sentence'] : ['text']);
  if (isCsv(file)) {
    const textColumns = given ?? defaultColumns((c) => csvHeader(file).includes(c));
    return readCsvColumns(file, [...textColumns, labelColumn], { encoding: 'utf8' }).map((fields) => {
      const label = fields[fields.length - 1], n = Number(label);
      return { text: fields.slice(0, -1).join(delimiter), label: label.trim() !== '' && Number.isFinite(n) ? n : label.includes(',') ? label.split(',').map((l) => l.trim()) : label };
    });
  }
  if (!isRecordFile(file)) throw new Error(`${file}: classification data is a .jsonl (one {"text": ..., "${labelColumn}": ...} object a line), a .json, a .parquet or a .csv with those columns`);
  const records = readRecords(file);
  const first = (records[0]?.[1] ?? {}) as Record<string, unknown>;
  const textColumns = given ?? defaultColumns((c) => c in first);
  const rows = records.map(([line, row]) => {
    const o = (row !== null && typeof row === 'object' ? row : {}) as Record<string, unknown>;
    const fields = `(fields: ${Object.keys(o).join(', ')}); choose others with --text-column / --label-column`;
    for (const c of textColumns) if (typeof o[c] !== 'string') throw new Error(`${line}: no string field '${c}' ${fields}`);
    const label = o[labelColumn];
    const ok = typeof label === 'string' || typeof label === 'boolean' || (typeof label === 'number' && Number.isFinite(label))
      || (Array.isArray(label) && label.every((l) => typeof l === 'string' || Number.isInteger(l)));
    if (!ok) throw new Error(`${line}: field '${labelColumn}' must be a class (string, integer, boolean), a number or a list of classes, got ${JSON.stringify(label)} ${fields}`);
    return { text: textColumns.map((c) => o[c] as string).join(delimiter), label: label as LabelledText['label'] };
  });
  if (!rows.length) throw new Error(noRows(file));
  return rows;
}

/**
 * Texts made of several columns of each record or CSV row (or of a folder's files), joined by
 * `delimiter` as run_classification joins its text_column_names: texts to classify.
 */
export function readTextColumns(file: string, columns: string[], delimiter = ' '): string[] {
  if (isFolder(file)) return dataFilesIn(file).flatMap((f) => readTextColumns(f, columns, delimiter));
  checkDataFile(file);
  if (isCsv(file)) return readCsvColumns(file, columns, { encoding: 'utf8' }).map((r) => r.join(delimiter));
  if (!isRecordFile(file)) throw new Error(`${file}: texts of several columns come from a .jsonl, .json, .parquet or .csv`);
  return readJsonlFields(file, columns).map((r) => r.join(delimiter));
}

/** Whether a file is a CSV whose header has prompt and completion columns (TRL's prompt-completion data). */
export function isPromptCompletionCsv(file: string): boolean {
  if (!isCsv(file) || !fs.existsSync(file)) return false;
  const header = csvHeader(file);
  return header.includes('prompt') && header.includes('completion');
}

/** A UTF-8 CSV file's column names (its first row). */
function csvHeader(file: string): string[] {
  let first = '';
  for (const line of dataLines(file)) {
    first = line;
    break; // (the file is read no further, and closed)
  }
  return (parseCsv(first, file)[0] ?? []).map((h) => h.trim());
}

/**
 * Reward-model data (TRL's RewardTrainer): a .jsonl whose first line has string chosen and
 * rejected fields (every line then needs them; prompt, a string, and margin, a number, are
 * optional), or a folder of such files. null when the file is not such data.
 */
export function readRewardPairs(file: string, opts: { chat?: ChatRenderer | null } = {}): { chosen: string; rejected: string; prompt?: string; margin?: number }[] | null {
  if (isFolder(file)) return readFolderOfOneKind(file, (f) => readRewardPairs(f, opts), 'chosen / rejected pairs');
  if (!isRecordFile(file) && !isCsv(file)) return null;
  checkDataFile(file);
  const parsed = readRecords(file, opts), first = parsed[0]?.[1] as Record<string, unknown> | undefined;
  if (!(typeof first?.chosen === 'string' && typeof first?.rejected === 'string')) return null;
  return parsed.map(([line, row]) => {
    const o = (row ?? {}) as Record<string, unknown>;
    for (const k of ['chosen', 'rejected']) if (typeof o[k] !== 'string') throw new Error(`${line}: no string field '${k}' (the first line makes this preference data: every line needs chosen and rejected)`);
    if (o.prompt !== undefined && typeof o.prompt !== 'string') throw new Error(`${line}: 'prompt' must be a string`);
    if (o.margin !== undefined && !(typeof o.margin === 'number' && Number.isFinite(o.margin))) throw new Error(`${line}: 'margin' must be a number, got ${JSON.stringify(o.margin)}`);
    return { chosen: o.chosen as string, rejected: o.rejected as string, ...(o.prompt !== undefined ? { prompt: o.prompt as string } : {}), ...(o.margin !== undefined ? { margin: o.margin as number } : {}) };
  });
}

/**
 * Token classification data (HF run_ner's files): a .jsonl of objects with a list of words
 * (`tokens`) and a list of their tags (`tags`, else `ner_tags` or `pos_tags`; strings or
 * integers), one tag per word; or a folder of such files.
 */
export function readTaggedExamples(file: string, opts: { tokensColumn?: string; tagsColumn?: string } = {}): { tokens: string[]; tags: (string | number)[] }[] {
  if (isFolder(file)) return dataFilesIn(file).flatMap((f) => readTaggedExamples(f, opts));
  checkDataFile(file);
  if (!isRecordFile(file)) throw new Error(`${file}: token classification data is a .jsonl, one {"tokens": [words], "tags": [a tag per word]} object a line, or a .parquet with those columns`);
  const wordsKey = opts.tokensColumn ?? 'tokens';
  const rows = readRecords(file).map(([line, row]) => {
    const o = (row !== null && typeof row === 'object' ? row : {}) as Record<string, unknown>;
    const tagsKey = opts.tagsColumn ?? TAG_COLUMNS.find((k) => k in o) ?? 'tags';
    const fields = `(fields: ${Object.keys(o).join(', ')}); choose others with --text-column / --label-column`;
    const words = o[wordsKey], tags = o[tagsKey];
    if (!Array.isArray(words) || !words.every((w) => typeof w === 'string')) throw new Error(`${line}: no list of words '${wordsKey}' ${fields}`);
    if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string' || Number.isInteger(t))) throw new Error(`${line}: no list of tags '${tagsKey}' (strings or integers) ${fields}`);
    if (words.length !== tags.length) throw new Error(`${line}: ${words.length} words but ${tags.length} tags (one tag per word)`);
    if (!words.length) throw new Error(`${line}: no words`);
    return { tokens: words as string[], tags: tags as (string | number)[] };
  });
  if (!rows.length) throw new Error(noRows(file));
  return rows;
}
