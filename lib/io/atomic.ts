// Whole-or-nothing writes: a temporary file in the same folder, fsync, then rename.
import * as fs from 'fs';
import * as path from 'path';

/** What a writer given to writeFileAtomic writes with: bytes in order, and fix-ups of bytes already written. */
export interface FileWriter {
  /** appends bytes at the end */
  write(bytes: Buffer | string): void;
  /** overwrites bytes already written, at a byte position (a length or checksum known only after what follows it) */
  writeAt(bytes: Buffer, position: number): void;
  /** how many bytes have been written */
  readonly position: number;
}

/**
 * data: the bytes, or chunks of them (an iterable is read as the file is written: chunks made on
 * demand are held one at a time), or a function that writes them with a FileWriter.
 */
export function writeFileAtomic(file: string, data: string | Buffer | Iterable<Buffer | string> | ((out: FileWriter) => void)): void {
  const dir = path.dirname(path.resolve(file));
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.tmp-${process.pid}-${Date.now()}`);
  // The system's errors (a full disk, a file-size limit, a read-only folder) name the temporary
  // file, not the one asked for: said again in the caller's terms.
  const failed = (e: unknown): never => {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOSPC' || err.code === 'EDQUOT' ? 'the disk is full: free some space or write elsewhere'
      : err.code === 'EFBIG' ? 'the file would pass the largest size allowed here (ulimit -f, or the filesystem\'s limit)'
        : err.code === 'EACCES' || err.code === 'EPERM' || err.code === 'EROFS' ? 'this folder cannot be written to'
          : 'the system refused';
    throw new Error(`cannot write ${file}: ${why} (${err.code ?? err.message}); ${fs.existsSync(file) ? 'the file there is as it was' : 'nothing was written there'}`, { cause: e });
  };
  let fd: number;
  try {
    fd = fs.openSync(tmp, 'w');
  } catch (e) {
    return failed(e);
  }
  let position = 0;
  const writeAt = (buf: Buffer, at: number) => {
    try {
      for (let off = 0; off < buf.length;) off += fs.writeSync(fd, buf, off, buf.length - off, at + off);
    } catch (e) {
      failed(e);
    }
  };
  const out: FileWriter = {
    write(chunk) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
      writeAt(buf, position);
      position += buf.length;
    },
    writeAt(buf, at) {
      if (at < 0 || at + buf.length > position) throw new RangeError(`writeFileAtomic: cannot overwrite bytes ${at}..${at + buf.length} of the ${position} written`);
      writeAt(buf, at);
    },
    get position() { return position; },
  };
  try {
    if (typeof data === 'function') data(out);
    else for (const chunk of typeof data === 'string' || Buffer.isBuffer(data) ? [data] : data) out.write(chunk);
    try {
      fs.fsyncSync(fd);
    } catch (e) {
      failed(e);
    }
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
}

/**
 * Builds a folder whole or not at all: fill() writes into a temporary sibling folder, which
 * then replaces `dir` (an existing `dir` is moved aside first and removed after).
 */
export function writeDirAtomic(dir: string, fill: (tmpDir: string) => void): void {
  const abs = path.resolve(dir);
  fs.mkdirSync(path.dirname(abs), { recursive: true });
  const tmp = `${abs}.tmp-${process.pid}-${Date.now()}`;
  fs.mkdirSync(tmp);
  try {
    fill(tmp);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  const old = `${abs}.old-${process.pid}-${Date.now()}`;
  const existed = fs.existsSync(abs);
  if (existed) fs.renameSync(abs, old);
  fs.renameSync(tmp, abs);
  if (existed) fs.rmSync(old, { recursive: true, force: true });
}

/** (a worker's source's expression for) its OS thread id, from Linux's /proc/thread-self; 0 where there is none */
export const WORKER_TID_SOURCE = "(() => { try { return Number(require('fs').readlinkSync('/proc/thread-self').split('/').pop()) || 0; } catch { return 0; } })()";

/**
 * Whether a worker's OS thread (its id from WORKER_TID_SOURCE; 0: unknown) has ended. A worker
 * that died (out of memory) answers nothing more, and a thread blocked waiting for its answer
 * sees no exit event: its thread gone from /proc is how such a wait learns of it.
 */
export function threadEnded(tid: number): boolean {
  return tid > 0 && !fs.existsSync(`/proc/self/task/${tid}`);
}

/** Whether a process with this pid runs on this machine (this one, or another user's). */
export function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // alive, someone else's
  }
}

/**
 * Tidies what a writer killed mid-write left in `dir` (a kill cannot be cleaned up after by the
 * process it kills): temporaries of the functions above from processes no longer running are
 * removed (they were never renamed into place, so nothing reads them), and a folder that
 * writeDirAtomic had moved aside but not yet replaced is put back. Returns what it did.
 */
export function recoverInterruptedWrites(dir: string): string[] {
  const done: string[] = [];
  if (!fs.existsSync(dir)) return done;
  for (const name of fs.readdirSync(dir).sort()) {
    const m = /^(.+)\.(tmp|old)-(\d+)-\d+$/.exec(name);
    if (!m || processAlive(Number(m[3]))) continue;
    const full = path.join(dir, name);
    const target = path.join(dir, m[1]);
    if (m[2] === 'old' && !fs.existsSync(target)) {
      fs.renameSync(full, target);
      done.push(`restored ${m[1]} (a replacement of it was interrupted)`);
    } else {
      fs.rmSync(full, { recursive: true, force: true });
      done.push(`removed ${name} (left by an interrupted write)`);
    }
  }
  return done;
}
