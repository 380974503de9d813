// Tokenized text cached on disk (as HF's datasets caches map()): an entry is read back only for
// the same key, whole and with its checksum right; anything else is tokenized again.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as torch from '../lib';

const D = torch.data;
let tmp: string;
beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-token-cache-')); });
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('cachedTokenIds: made once, then read back equal; another key, overwrite, a damaged entry or an unwritable folder make them again', () => {
  const dir = path.join(tmp, 'cache');
  const text = D.brownDocuments(['a']).slice(0, 5).map((d) => d.text).join('\n\n');
  const expected = torch.tokenizer.encode(text);
  let made = 0;
  const make = () => { made++; return torch.tokenizer.encodeChunks([text], { chunkChars: 1000 }); };
  const key = { files: [['corpus.txt', 1, 2]], tokenizer: torch.tokenizer.fingerprint };
  const first = D.cachedTokenIds(key, make, { dir });
  expect([first.fromCache, first.damaged, made]).toEqual([false, false, 1]);
  expect(fs.statSync(first.file).size).toBe(24 + 4 * expected.length);
  const again = D.cachedTokenIds(key, make, { dir });
  expect([again.fromCache, made, again.file]).toEqual([true, 1, first.file]);
  expect(Array.from(again.ids)).toEqual(expected);
  // another key (a file changed: its stamp), or overwrite: made again
  expect(D.cachedTokenIds({ ...key, files: [['corpus.txt', 1, 3]] }, make, { dir }).fromCache).toBe(false);
  expect(D.cachedTokenIds(key, make, { dir, overwrite: true }).fromCache).toBe(false);
  expect(made).toBe(3);
  // a flipped id (the length right): the checksum catches it; made again and replaced
  const bytes = fs.readFileSync(first.file);
  bytes[24 + 4 * 10] ^= 1;
  fs.writeFileSync(first.file, bytes);
  const opens = jest.spyOn(require('fs') as typeof fs, 'openSync'); // (the module itself: the import's namespace cannot be spied on)
  let mended: ReturnType<typeof D.cachedTokenIds>;
  try {
    mended = D.cachedTokenIds(key, make, { dir });
    // (read once: the look again under the lock sees the same damaged file and does not read it in full again)
    expect(opens.mock.calls.filter(([f, flag]) => f === first.file && flag === 'r').length).toBe(1);
  } finally {
    opens.mockRestore();
  }
  expect([mended.fromCache, mended.damaged, made]).toEqual([false, true, 4]);
  expect(Array.from(D.cachedTokenIds(key, make, { dir }).ids)).toEqual(expected);
  // cut short, or not an entry at all
  for (const bad of [bytes.subarray(0, bytes.length - 4), Buffer.from('not an entry')]) {
    fs.writeFileSync(first.file, bad);
    expect(D.cachedTokenIds(key, make, { dir }).damaged).toBe(true);
  }
  expect(made).toBe(6);
  // a temporary left by a killed writer is tidied when an entry is written
  const stale = path.join(dir, `.x.ids.tmp-999999999-1`);
  fs.writeFileSync(stale, 'half');
  D.cachedTokenIds({ other: 1 }, make, { dir });
  expect(fs.existsSync(stale)).toBe(false);
  // a folder that cannot be written: the ids all the same
  const file = path.join(tmp, 'a-file');
  fs.writeFileSync(file, '');
  const unwritable = D.cachedTokenIds(key, make, { dir: path.join(file, 'cache') });
  expect([unwritable.fromCache, Array.from(unwritable.ids)]).toEqual([false, expected]);
});

test('a tokenizer\'s fingerprint follows what decides its ids: tables, eos, chat template', () => {
  const gpt2 = torch.tokenizer.fingerprint;
  expect(torch.tokenizer.fingerprint).toBe(gpt2);
  expect(torch.tokenizer.withChatTemplate('{{ messages }}').fingerprint).not.toBe(gpt2);
  const dir = path.join(tmp, 'tok');
  torch.tokenizer.savePretrained(dir);
  expect(torch.GPT2Tokenizer.fromFiles(dir, { gpt2Fast: false }).fingerprint).toBe(gpt2); // (GPT-2's tables run by the other code path: the same ids)
  fs.writeFileSync(path.join(dir, 'added_tokens.json'), JSON.stringify({ '<|im_end|>': 50257 }));
  const added = torch.GPT2Tokenizer.fromFiles(dir);
  expect(added.fingerprint).not.toBe(gpt2);
  expect(added.withEosToken('<|im_end|>').fingerprint).not.toBe(added.fingerprint);
});

test('one process makes an entry others ask for at once: they wait on its lock and read it; a dead or another machine\'s lock is not waited on', async () => {
  const dir = path.join(tmp, 'locked');
  const key = { corpus: 'shared' };
  const ids = Int32Array.from({ length: 1000 }, (_, i) => (i * 7919) % 50257);
  // another process takes the lock and makes the entry slowly (a second)
  const dist = path.join(__dirname, '..', 'dist', 'lib', 'index.js');
  const { spawn } = await import('child_process');
  const child = spawn(process.execPath, ['-e', `
    const t = require(${JSON.stringify(dist)});
    t.data.cachedTokenIds(${JSON.stringify(key)}, ({ exclusive }) => {
      if (!exclusive) process.exit(3);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
      return Int32Array.from(${JSON.stringify(Array.from(ids))});
    }, { dir: ${JSON.stringify(dir)} });`]);
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const lockOf = () => (fs.existsSync(dir) ? fs.readdirSync(dir).find((n) => n.endsWith('.lock')) : undefined);
  for (let i = 0; i < 200 && !lockOf(); i++) await new Promise((r) => setTimeout(r, 25));
  expect(lockOf()).toBeDefined();
  const waitedFor: number[] = [];
  let made = 0;
  const got = D.cachedTokenIds(key, () => { made++; return new Int32Array(1); }, { dir, onWait: (pid) => waitedFor.push(pid) });
  expect([got.fromCache, made, waitedFor]).toEqual([true, 0, [child.pid]]);
  expect(Array.from(got.ids)).toEqual(Array.from(ids));
  expect(await exited).toBe(0);
  expect(lockOf()).toBeUndefined(); // (released by its maker)
  // a lock whose process is gone is taken over (also where its pid now names a later process: the
  // start time differs); one of another machine (a shared folder) is not waited on
  const lockFile = got.file.replace(/\.ids$/, '.lock');
  for (const holder of ['999999999 ' + os.hostname(), `${process.pid} ${os.hostname()} 1`, `${process.pid} another-machine`]) {
    fs.writeFileSync(lockFile, holder);
    const exclusive: boolean[] = [];
    const again = D.cachedTokenIds(key, (o) => { exclusive.push(o.exclusive); return ids; }, { dir, overwrite: true, onWait: () => { throw new Error('waited'); } });
    expect([again.fromCache, exclusive]).toEqual([false, [!holder.endsWith('another-machine')]]);
  }
  fs.rmSync(lockFile);
});

test('a maker that finishes between the waiter\'s look and its taking the lock: the waiter reads its entry, it does not make it again', () => {
  // (the race a loaded machine hit: look, nothing there; the holder writes the entry and lets the
  // lock go; the lock is free to take. Made to happen here at the look itself.)
  const dir = path.join(tmp, 'race');
  const key = { corpus: 'race' };
  const ids = Int32Array.from([5, 6, 7]);
  const elsewhere = path.join(tmp, 'race-made');
  const madeThere = D.cachedTokenIds(key, () => ids, { dir: elsewhere });
  const file = madeThere.file.replace(elsewhere, dir), lockFile = file.replace(/\.ids$/, '.lock');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(lockFile, `${process.ppid} ${os.hostname()}`); // (a live process of this machine holds it)
  let waited = false, finishedThere = false;
  const nodeFs = require('fs') as typeof fs; // (the module itself: the import above is a read-only view of it)
  const realOpen = nodeFs.openSync;
  const open = jest.spyOn(nodeFs, 'openSync').mockImplementation(((f: fs.PathLike, ...rest: unknown[]) => {
    const opened = () => (realOpen as (...a: unknown[]) => number)(f, ...rest);
    if (f !== file || !waited || finishedThere) return opened();
    // the look after the wait finds nothing, and just then the holder finishes: entry in, lock out
    finishedThere = true;
    try {
      return opened();
    } finally {
      fs.copyFileSync(madeThere.file, file);
      fs.rmSync(lockFile);
    }
  }) as typeof fs.openSync);
  try {
    let made = 0;
    const got = D.cachedTokenIds(key, () => { made++; return new Int32Array(1); }, {
      dir,
      onWait: () => {
        waited = true;
      },
    });
    expect([finishedThere, got.fromCache, made, Array.from(got.ids)]).toEqual([true, true, 0, [5, 6, 7]]);
  } finally {
    open.mockRestore();
  }
});

test('tokenCacheEntries lists the entries (tokens, sources, last use); clearTokenCache removes them, or only those unused for days', () => {
  const dir = path.join(tmp, 'listed');
  const a = D.cachedTokenIds({ files: [['/data/a.txt', 1, 2]] }, () => Int32Array.from([1, 2, 3]), { dir });
  const b = D.cachedTokenIds({ files: [['/data/b.txt', 1, 2], ['/data/c.txt', 3, 4]] }, () => Int32Array.from([4, 5]), { dir });
  const old = new Date(Date.now() - 30 * 86400e3);
  fs.utimesSync(a.file, old, old);
  let listed = D.tokenCacheEntries({ dir });
  expect(listed.map((e) => [e.file, e.tokens, e.bytes, e.sources, e.locked])).toEqual([
    [b.file, 2, 24 + 8, ['/data/b.txt', '/data/c.txt'], false],
    [a.file, 3, 24 + 12, ['/data/a.txt'], false],
  ]);
  expect(listed[1].lastUsed.getTime()).toBe(old.getTime());
  // reading an entry makes it recently used (b a minute old: times are in ms, and both were made within one)
  const minuteAgo = new Date(Date.now() - 60e3);
  fs.utimesSync(b.file, minuteAgo, minuteAgo);
  expect(D.cachedTokenIds({ files: [['/data/a.txt', 1, 2]] }, () => new Int32Array(0), { dir }).fromCache).toBe(true);
  expect(D.tokenCacheEntries({ dir })[0].file).toBe(a.file);
  fs.utimesSync(a.file, old, old);
  expect(D.clearTokenCache({ dir, olderThanDays: 7 })).toEqual({ removed: 1, bytes: 36 });
  listed = D.tokenCacheEntries({ dir });
  expect(listed.map((e) => e.file)).toEqual([b.file]);
  expect(fs.existsSync(a.file.replace(/\.ids$/, '.json'))).toBe(false); // (its description went with it)
  // an entry being made again now (its lock held by a live process) is kept
  fs.writeFileSync(b.file.replace(/\.ids$/, '.lock'), `${process.pid} ${os.hostname()}`);
  expect(D.tokenCacheEntries({ dir })[0].locked).toBe(true);
  expect(D.clearTokenCache({ dir })).toEqual({ removed: 0, bytes: 0 });
  fs.rmSync(b.file.replace(/\.ids$/, '.lock'));
  expect(D.clearTokenCache({ dir })).toEqual({ removed: 1, bytes: 32 });
  expect(fs.readdirSync(dir)).toEqual([]);
  expect(() => D.clearTokenCache({ dir, olderThanDays: -1 })).toThrow(/olderThanDays must be a number of days >= 0/);
  expect(D.tokenCacheEntries({ dir: path.join(tmp, 'none') })).toEqual([]);
});
