// Tokenized text cached on disk, as Hugging Face's datasets caches what map() made: a large
// corpus is tokenized once, and later runs on the same files with the same tokenizer read its
// ids back (a 600 MB text: a minute of tokenizing, against a second of reading). The key is
// everything that decides the ids: each file's path, size and modification time, how the text is
// read (column, cleaning), and the tokenizer's fingerprint; an entry is written whole or not at all.
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { crc32 } from '../io/checksum'; // (zlib's where node has it: a large corpus's ids are hundreds of MB)
import { processAlive, recoverInterruptedWrites, writeFileAtomic } from '../io/atomic';

// (bumped whenever tokenizing or reading text changes what ids a text gets)
const FORMAT = 'tstorch-token-ids-1';
const MAGIC = Buffer.from('TSTKIDS1');
const HEADER_BYTES = 24; // magic, the id count (uint64), the ids' CRC-32 (uint32), 4 bytes unused

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

export interface CachedIdsOptions {
  /** make the ids again even where the cache has them (run_clm's --overwrite_cache) */
  overwrite?: boolean;
  /** the cache folder (default tokenCacheDir()) */
  dir?: string;
  /** called once when another process on this machine is making the same entry and this one waits for it (its pid; 0 when not yet known) */
  onWait?: (pid: number, lockFile: string) => void;
  /** how many tokens an entry's array holds, for tstorch cache (default its length: an entry of ids alone) */
  countTokens?: (ids: Int32Array) => number;
}

/**
 * The ids `make()` gives for `key`, from the cache where an entry for the key is there (unless
 * `overwrite`); else made and written to it. A damaged entry is made again, never used. A cache
 * that cannot be written (read-only, full disk) costs nothing but the next run's time.
 *
 * Processes asking for the same entry at once (a data-parallel run's workers, two runs on one
 * corpus) make it once, as HF's datasets locks its cache files: the first takes the entry's lock
 * and makes it (`make({ exclusive: true })`: it may use every core), the others wait for it and
 * read what it wrote. A lock left by a process that died is taken over.
 */
export function cachedTokenIds(key: unknown, make: (o: { exclusive: boolean }) => Int32Array, opts: CachedIdsOptions = {}): CachedIds {
  const file = entryFile(key, opts.dir), lockFile = file.slice(0, -ENTRY.length) + LOCK;
  let damaged = false, waited = false;
  // (the damaged entry last read, by its inode, size and time: not read in full again unless rewritten)
  let damagedStamp: string | null = null;
  const look = (): CachedIds | null => {
    const stamp = stampOf(file);
    if (damagedStamp !== null && stamp === damagedStamp) return null;
    const ids = readEntry(file);
    if (ids instanceof Int32Array) {
      touch(file); // (the entry's time is its last use: what clearTokenCache's olderThanDays reads)
      return { ids, fromCache: true, damaged, file };
    }
    if (ids === 'damaged') { damaged = true; damagedStamp = stamp; }
    return null;
  };
  for (;;) {
    // (after waiting on another process's lock, its fresh entry is taken even with overwrite: it made them again)
    const useEntry = !opts.overwrite || waited;
    const before = useEntry ? look() : null;
    if (before) return before;
    const lock = takeLock(lockFile);
    if (typeof lock === 'number') {
      if (!waited) opts.onWait?.(lock, lockFile);
      waited = true;
      sleep(250);
      continue;
    }
    try {
      // (looked at again under the lock: its last holder may have written the entry and let the
      // lock go between the look above and taking it)
      const written = useEntry && lock === 'held' ? look() : null;
      if (written) return written;
      const ids = make({ exclusive: lock === 'held' });
      writeEntry(file, ids, key, opts.countTokens?.(ids) ?? ids.length);
      return { ids, fromCache: false, damaged, file };
    } finally {
      if (lock === 'held') fs.rmSync(lockFile, { force: true });
    }
  }
}

/**
 * The cache's ids for `key` where it has a sound entry, else null (none, or a damaged one, which
 * cachedTokenIds then makes again): a look before deciding to read the data at all.
 */
export function readCachedTokenIds(key: unknown, opts: { dir?: string } = {}): { ids: Int32Array; file: string } | null {
  const file = entryFile(key, opts.dir), ids = readEntry(file);
  if (!(ids instanceof Int32Array)) return null;
  touch(file);
  return { ids, file };
}

const ENTRY = '.ids', LOCK = '.lock', ABOUT = '.json';

/** A key's entry file: named by the hash of everything that decides its ids. */
function entryFile(key: unknown, dir = tokenCacheDir()): string {
  return path.join(dir, crypto.createHash('sha256').update(JSON.stringify([FORMAT, key])).digest('hex') + ENTRY);
}

/** Writes an entry whole (and what it was made from, for tstorch cache), or nothing where the folder cannot be written. */
function writeEntry(file: string, ids: Int32Array, key: unknown, tokens: number): void {
  const bytes = new Uint8Array(ids.buffer, ids.byteOffset, ids.byteLength);
  try {
    const header = Buffer.alloc(HEADER_BYTES);
    MAGIC.copy(header);
    header.writeBigUInt64LE(BigInt(ids.length), 8);
    header.writeUInt32LE(crc32(bytes), 16);
    recoverInterruptedWrites(path.dirname(file)); // (an entry half-written by a killed run: removed)
    writeFileAtomic(file.slice(0, -ENTRY.length) + ABOUT, JSON.stringify({ key, tokens, made: new Date().toISOString() }));
    writeFileAtomic(file, [header, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)]);
  } catch {
    // (not cached: the run goes on with the ids it made)
  }
}

/**
 * The entry's lock: 'held' (this process took it), the pid of a live process on this machine that
 * holds it, or 'none' (the folder cannot be written, or the holder is on another machine sharing
 * the folder, whose life cannot be seen from here: the entry is made without waiting).
 */
function takeLock(lock: string): 'held' | 'none' | number {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.mkdirSync(path.dirname(lock), { recursive: true });
      fs.writeFileSync(lock, `${process.pid} ${os.hostname()} ${startTimeOf(process.pid)}`, { flag: 'wx' });
      return 'held';
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return 'none';
    }
    const holder = lockHolder(lock);
    if (holder === 'elsewhere') return 'none';
    if (holder !== null) return holder;
    fs.rmSync(lock, { force: true }); // (its process died: taken over)
  }
  return 'none';
}

/** A lock's holder: its pid when alive on this machine, null when gone (or unreadable), 'elsewhere' for another machine's. */
function lockHolder(lock: string): number | null | 'elsewhere' {
  let text: string;
  try {
    text = fs.readFileSync(lock, 'utf8');
  } catch {
    return null;
  }
  const [pid, host, started] = text.split(' ');
  if (host !== undefined && host !== os.hostname()) return 'elsewhere';
  // (a lock just created may be read before its pid is written: give it a moment)
  if (!(Number(pid) > 0)) return Date.now() - mtimeOf(lock) < 5000 ? 0 : null;
  // (the pid alive, and the same process: not a later one given the dead one's pid)
  return processAlive(Number(pid)) && (started === undefined || started === startTimeOf(Number(pid))) ? Number(pid) : null;
}

/** When a process started (Linux's /proc/PID/stat starttime), '' where that cannot be read. */
function startTimeOf(pid: number): string {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  } catch {
    return '';
  }
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
    const header = readHeader(fd);
    if (!header) return 'damaged';
    const ids = new Int32Array(header.count);
    const bytes = Buffer.from(ids.buffer);
    for (let off = 0; off < bytes.length;) {
      const got = fs.readSync(fd, bytes, off, Math.min(bytes.length - off, 1 << 30), HEADER_BYTES + off);
      if (got <= 0) return 'damaged';
      off += got;
    }
    return crc32(bytes) === header.crc ? ids : 'damaged';
  } finally {
    fs.closeSync(fd);
  }
}

/** A file's identity and version (inode, size, modification time); null where it is not there. */
function stampOf(file: string): string | null {
  try {
    const st = fs.statSync(file, { bigint: true });
    return `${st.ino}:${st.size}:${st.mtimeNs}`;
  } catch {
    return null;
  }
}

function mtimeOf(file: string): number {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

function touch(file: string): void {
  try {
    const now = new Date();
    fs.utimesSync(file, now, now);
  } catch {
    // (a read-only cache is still read)
  }
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** One entry of the cache, as `tstorch cache` lists it. */
export interface TokenCacheEntry {
  file: string;
  bytes: number;
  /** the tokens it holds (from its description, else its header; null where the header is not an entry's) */
  tokens: number | null;
  /** when it was last written or read */
  lastUsed: Date;
  /** the files it was made from (as their paths were then), where its description says */
  sources: string[];
  /** another process is making it now */
  locked: boolean;
}

/** The cache's entries, most recently used first. */
export function tokenCacheEntries(opts: { dir?: string } = {}): TokenCacheEntry[] {
  const dir = opts.dir ?? tokenCacheDir();
  if (!fs.existsSync(dir)) return [];
  const out: TokenCacheEntry[] = [];
  for (const name of fs.readdirSync(dir)) {
    if (!name.endsWith(ENTRY) || name.startsWith('.')) continue;
    const file = path.join(dir, name), base = file.slice(0, -ENTRY.length);
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch {
      continue; // (removed meanwhile)
    }
    const about = aboutOf(base + ABOUT), count = headerCount(file);
    out.push({ file, bytes: st.size, tokens: count === null ? null : typeof about?.tokens === 'number' ? about.tokens : count, lastUsed: st.mtime, sources: sourcesOf(about), locked: typeof lockHolder(base + LOCK) === 'number' });
  }
  return out.sort((a, b) => b.lastUsed.getTime() - a.lastUsed.getTime());
}

/**
 * Removes the cache's entries (those not used for `olderThanDays` days, where given), with what a
 * killed run left (temporaries, a dead process's lock). An entry another process is making now is
 * kept (one being read is read whole all the same: a removed file stays for whoever has it open).
 * Returns what was removed.
 */
export function clearTokenCache(opts: { dir?: string; olderThanDays?: number } = {}): { removed: number; bytes: number } {
  const dir = opts.dir ?? tokenCacheDir();
  const days = opts.olderThanDays;
  if (days !== undefined && !(days >= 0)) throw new Error(`olderThanDays must be a number of days >= 0, got ${days}`);
  if (!fs.existsSync(dir)) return { removed: 0, bytes: 0 };
  recoverInterruptedWrites(dir);
  let removed = 0, bytes = 0;
  for (const e of tokenCacheEntries({ dir })) {
    if (e.locked || (days !== undefined && Date.now() - e.lastUsed.getTime() < days * 86400e3)) continue;
    fs.rmSync(e.file, { force: true });
    removed++;
    bytes += e.bytes;
  }
  // (descriptions and locks whose entry is gone)
  for (const name of fs.readdirSync(dir)) {
    const m = /^([0-9a-f]{64})(\.json|\.lock)$/.exec(name);
    if (!m || fs.existsSync(path.join(dir, m[1] + ENTRY))) continue;
    if (m[2] === LOCK && lockHolder(path.join(dir, name)) !== null) continue;
    fs.rmSync(path.join(dir, name), { force: true });
  }
  return { removed, bytes };
}

/** An open entry's id count and checksum, or null where its header is not an entry's or its length disagrees with it. */
function readHeader(fd: number): { count: number; crc: number } | null {
  const size = fs.fstatSync(fd).size, header = Buffer.alloc(HEADER_BYTES);
  if (size < HEADER_BYTES || fs.readSync(fd, header, 0, HEADER_BYTES, 0) !== HEADER_BYTES || !header.subarray(0, 8).equals(MAGIC)) return null;
  const count = Number(header.readBigUInt64LE(8));
  return size === HEADER_BYTES + 4 * count ? { count, crc: header.readUInt32LE(16) } : null;
}

/** An entry's id count from its header (null where damaged or gone), for tstorch cache. */
function headerCount(file: string): number | null {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      return readHeader(fd)?.count ?? null;
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return null;
  }
}

/** An entry's description (what it was made from, its token count), or null where it has none: an entry of an older tstorch. */
function aboutOf(file: string): { key?: { files?: unknown }; tokens?: unknown } | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

/** The source files an entry's description names ([] where it has none). */
function sourcesOf(about: ReturnType<typeof aboutOf>): string[] {
  const files = about?.key?.files;
  return Array.isArray(files) ? files.map((f: unknown) => (Array.isArray(f) ? String(f[0]) : String(f))) : [];
}
