// Tokenized text cached on disk, as Hugging Face's datasets caches what map() made: a large
// corpus is tokenized once, and later runs on the same files with the same tokenizer read its
// ids back (a 600 MB text: a minute of tokenizing, against a second of reading). The key is
// everything that decides the ids: each file's path, size and modification time, how the text is
// read (column, cleaning), and the tokenizer's fingerprint; an entry is written whole or not at all.
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { crc32 as crc32Js } from '../io/checksum';
import { recoverInterruptedWrites, writeFileAtomic } from '../io/atomic';

// (bumped whenever tokenizing or reading text changes what ids a text gets)
const FORMAT = 'tstorch-token-ids-1';
const MAGIC = Buffer.from('TSTKIDS1');
const HEADER_BYTES = 24; // magic, the id count (uint64), the ids' CRC-32 (uint32), 4 bytes unused

// (Node's own CRC-32 where it has one: a large corpus's ids are hundreds of MB)
const nativeCrc32 = (zlib as unknown as { crc32?: (b: Uint8Array) => number }).crc32;
const crc32 = (b: Uint8Array): number => (nativeCrc32 ? nativeCrc32(b) >>> 0 : crc32Js(b));

/** The cache folder: $TSTORCH_CACHE/tokenized, else $XDG_CACHE_HOME/tstorch/tokenized, else ~/.cache/tstorch/tokenized. */
export function tokenCacheDir(): string {
  const root = process.env.TSTORCH_CACHE || path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'tstorch');
  return path.join(root, 'tokenized');
}

/** The files' identities (path, size, modification time), for a cache key. */
export function fileStamps(files: string[]): [string, number, number][] {
  return files.map((f) => {
    const st = fs.statSync(f);
    return [path.resolve(f), st.size, st.mtimeMs];
  });
}

export interface CachedIds {
  ids: Int32Array;
  /** true: read from the cache; false: made now (and written to it) */
  fromCache: boolean;
  /** the entry there was damaged (its checksum or length wrong): made again and replaced */
  damaged: boolean;
  file: string;
}

/**
 * The ids `make()` gives for `key`, from the cache where an entry for the key is there (unless
 * `overwrite`); else made and written to it. A damaged entry is made again, never used. A cache
 * that cannot be written (read-only, full disk) costs nothing but the next run's time.
 */
export function cachedTokenIds(key: unknown, make: () => Int32Array, opts: { overwrite?: boolean; dir?: string } = {}): CachedIds {
  const hash = crypto.createHash('sha256').update(JSON.stringify([FORMAT, key])).digest('hex');
  const file = path.join(opts.dir ?? tokenCacheDir(), `${hash}.ids`);
  let damaged = false;
  if (!opts.overwrite) {
    const ids = readEntry(file);
    if (ids instanceof Int32Array) return { ids, fromCache: true, damaged, file };
    damaged = ids === 'damaged';
  }
  const ids = make();
  const bytes = new Uint8Array(ids.buffer, ids.byteOffset, ids.byteLength);
  try {
    const header = Buffer.alloc(HEADER_BYTES);
    MAGIC.copy(header);
    header.writeBigUInt64LE(BigInt(ids.length), 8);
    header.writeUInt32LE(crc32(bytes), 16);
    recoverInterruptedWrites(path.dirname(file)); // (an entry half-written by a killed run: removed)
    writeFileAtomic(file, [header, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)]);
  } catch {
    // (not cached: the run goes on with the ids it made)
  }
  return { ids, fromCache: false, damaged, file };
}

/** An entry's ids; null when there is none; 'damaged' when it is not what was written (length, checksum). */
function readEntry(file: string): Int32Array | null | 'damaged' {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return null;
  }
  try {
    const size = fs.fstatSync(fd).size, header = Buffer.alloc(HEADER_BYTES);
    if (size < HEADER_BYTES || fs.readSync(fd, header, 0, HEADER_BYTES, 0) !== HEADER_BYTES || !header.subarray(0, 8).equals(MAGIC)) return 'damaged';
    const n = Number(header.readBigUInt64LE(8));
    if (size !== HEADER_BYTES + 4 * n) return 'damaged';
    const ids = new Int32Array(n);
    const bytes = Buffer.from(ids.buffer);
    for (let off = 0; off < bytes.length;) {
      const got = fs.readSync(fd, bytes, off, Math.min(bytes.length - off, 1 << 30), HEADER_BYTES + off);
      if (got <= 0) return 'damaged';
      off += got;
    }
    return crc32(bytes) === header.readUInt32LE(16) ? ids : 'damaged';
  } finally {
    fs.closeSync(fd);
  }
}
