// Whole-or-nothing writes: a temporary file in the same folder, fsync, then rename.
import * as fs from 'fs';
import * as path from 'path';

export function writeFileAtomic(file: string, data: string | Buffer | Buffer[]): void {
  const dir = path.dirname(path.resolve(file));
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.tmp-${process.pid}-${Date.now()}`);
  const fd = fs.openSync(tmp, 'w');
  try {
    for (const chunk of Array.isArray(data) ? data : [data]) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
      let off = 0;
      while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off);
    }
    fs.fsyncSync(fd);
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
