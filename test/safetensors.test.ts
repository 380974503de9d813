// safetensors reader/writer: every dtype, __metadata__, validation, atomic writes.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import * as torch from '../lib';
import { fileMappings } from './helpers';

const st = torch.io.safetensors;
let dir: string;
beforeAll(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-st-')); });
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function sample(): Record<string, torch.Tensor> {
  return {
    f32: torch.tensor([[1.5, -2], [3, 4]], { dtype: 'float32' }),
    f64: torch.tensor([Math.PI], { dtype: 'float64' }),
    f16: torch.tensor([0.5, 65504], { dtype: 'float16' }),
    bf16: torch.tensor([1, -3.5], { dtype: 'bfloat16' }),
    i64: torch.tensor([-(2 ** 40), 7], { dtype: 'int64' }),
    i32: torch.tensor([1, 2, 3], { dtype: 'int32' }),
    u8: torch.tensor([255, 0], { dtype: 'uint8' }),
    b: torch.tensor([true, false, true]),
    scalar: torch.tensor(2.5),
    empty: torch.zeros([0, 3]),
  };
}

test('round trip of every dtype, with __metadata__', () => {
  const file = path.join(dir, 'all.safetensors');
  const t = sample();
  st.saveFile(file, t, { format: 'pt', note: 'hello' });
  const { tensors, metadata } = st.loadFile(file);
  expect(metadata).toEqual({ format: 'pt', note: 'hello' });
  for (const [k, v] of Object.entries(t)) {
    const r = tensors.get(k)!;
    expect(r.dtype).toBe(v.dtype);
    expect(r.shape).toEqual(v.shape);
    expect(r.bytes().equals(v.bytes())).toBe(true);
  }
  const raw = fs.readFileSync(file);
  const hlen = Number(raw.readBigUInt64LE(0));
  expect(hlen % 8).toBe(0);
});

test('files written by the Python reference load, and ours load in Python', () => {
  const file = path.join(dir, 'ours.safetensors');
  st.saveFile(file, { w: torch.tensor([[1, 2, 3]], { dtype: 'float32' }), h: torch.tensor([1.5], { dtype: 'bfloat16' }) });
  const py = `
import sys; sys.path.insert(0, ${JSON.stringify(path.join(__dirname, '..', 'scripts', 'reference'))})
import st, torch
t = st.load(${JSON.stringify(file)})
assert t['w'].tolist() == [[1.0, 2.0, 3.0]] and t['h'].dtype == torch.bfloat16 and t['h'].item() == 1.5
st.save(${JSON.stringify(path.join(dir, 'py.safetensors'))}, {'x': torch.arange(6, dtype=torch.float16).reshape(2, 3)}, {'format': 'pt'})
print('ok')`;
  const r = spawnSync('/usr/bin/python3', ['-c', py], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.stdout.trim()).toBe('ok');
  const { tensors } = st.loadFile(path.join(dir, 'py.safetensors'));
  expect(tensors.get('x')!.dtype).toBe('float16');
  expect(tensors.get('x')!.tolist()).toEqual([[0, 1, 2], [3, 4, 5]]);
});

test("torch.load tells safetensors from torch.save files whatever the header length (one whose first byte is 0x80, a pickle's PROTO, too)", () => {
  // Names of growing length until the header's length starts with the byte 0x80; every file loads back.
  let seen80 = false;
  for (let k = 1; k <= 40; k++) {
    const file = path.join(dir, `len${k}.safetensors`);
    const t = torch.arange(k, { dtype: 'float32' });
    torch.save({ ['w'.repeat(k)]: t }, file);
    seen80 ||= fs.readFileSync(file)[0] === 0x80;
    const back = torch.load(file);
    expect([k, back.get('w'.repeat(k))!.equal(t)]).toEqual([k, true]);
    t.dispose();
    for (const v of back.values()) v.dispose();
  }
  expect(seen80).toBe(true);
});

describe('corrupt files give an error naming the file and the fault', () => {
  const good = () => {
    const f = path.join(dir, 'good.safetensors');
    st.saveFile(f, { a: torch.ones([4, 4]), b: torch.zeros([3]) });
    return fs.readFileSync(f);
  };
  const write = (name: string, buf: Buffer) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, buf);
    return f;
  };
  test('truncated data', () => {
    const b = good();
    const f = write('trunc.safetensors', b.subarray(0, b.length - 5));
    expect(() => st.loadFile(f)).toThrow(/trunc\.safetensors.*(truncated|past the data)/);
  });
  test('truncated header', () => {
    const f = write('short.safetensors', good().subarray(0, 20));
    expect(() => st.loadFile(f)).toThrow(/short\.safetensors.*header length/);
  });
  test('tiny file', () => {
    expect(() => st.loadFile(write('tiny.safetensors', Buffer.from([1, 2])))).toThrow(/too short/);
  });
  test('bad JSON', () => {
    const b = good();
    b[8] = 0x78; // 'x' where the header's '{' was
    expect(() => st.loadFile(write('json.safetensors', b))).toThrow(/json\.safetensors.*JSON/);
  });
  test('offsets that disagree with the shape', () => {
    const header = Buffer.from(JSON.stringify({ a: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 12] } }));
    const len = Buffer.alloc(8); len.writeBigUInt64LE(BigInt(header.length));
    expect(() => st.loadFile(write('offs.safetensors', Buffer.concat([len, header, Buffer.alloc(12)])))).toThrow(/needs 16/);
  });
  test('unknown dtype, hole, missing file', () => {
    const mk = (h: object, n: number) => {
      const header = Buffer.from(JSON.stringify(h));
      const len = Buffer.alloc(8); len.writeBigUInt64LE(BigInt(header.length));
      return Buffer.concat([len, header, Buffer.alloc(n)]);
    };
    expect(() => st.loadFile(write('dt.safetensors', mk({ a: { dtype: 'Q7', shape: [1], data_offsets: [0, 1] } }, 1)))).toThrow(/unsupported dtype "Q7" \(readable: F64, F32/);
    // a dtype left out, a name that is a property of every object, an entry that is no object
    expect(() => st.loadFile(write('nodt.safetensors', mk({ a: { shape: [1], data_offsets: [0, 1] } }, 1)))).toThrow(/'a' has no dtype/);
    expect(() => st.loadFile(write('proto.safetensors', mk({ a: { dtype: 'constructor', shape: [1], data_offsets: [0, 1] } }, 1)))).toThrow(/unsupported dtype "constructor"/);
    expect(() => st.loadFile(write('entry.safetensors', mk({ a: 7 }, 0)))).toThrow(/'a': its header entry is not an object/);
    expect(() => st.loadFile(write('meta.safetensors', mk({ __metadata__: { format: 1 } }, 0)))).toThrow(/__metadata__ must be an object of strings/);
    // ... nor is such a file written
    expect(() => st.saveFile(path.join(dir, 'meta-out.safetensors'), { a: torch.ones([1]) }, { step: 5 } as never)).toThrow("safetensors: metadata 'step' is a number; __metadata__ holds strings only: give String(value) or JSON.stringify(value)");
    expect(fs.existsSync(path.join(dir, 'meta-out.safetensors'))).toBe(false);
    expect(() => st.loadFile(write('hole.safetensors', mk({ a: { dtype: 'U8', shape: [1], data_offsets: [2, 3] } }, 3)))).toThrow(/hole/);
    expect(() => st.loadFile(path.join(dir, 'nope.safetensors'))).toThrow(/nope\.safetensors.*ENOENT/);
  });
});

test('writes are atomic: a failing write leaves the old file whole and no temporary behind', () => {
  const f = path.join(dir, 'atomic.safetensors');
  st.saveFile(f, { a: torch.ones([2]) });
  const before = fs.readFileSync(f);
  const disposed = torch.ones([2]);
  disposed.dispose();
  expect(() => st.saveFile(f, { a: torch.zeros([2]), b: disposed })).toThrow(/disposed/);
  expect(fs.readFileSync(f).equals(before)).toBe(true);
  expect(fs.readdirSync(dir).filter((n) => n.includes('.tmp-'))).toEqual([]);
  // saveFile streams its chunks (one tensor's bytes at a time): one that fails after others were
  // written still leaves the old file whole
  const failing = function* () {
    yield Buffer.from('the first chunk');
    throw new Error('the second chunk could not be made');
  };
  expect(() => torch.io.writeFileAtomic(f, failing())).toThrow('the second chunk could not be made');
  expect(fs.readFileSync(f).equals(before)).toBe(true);
  expect(fs.readdirSync(dir).filter((n) => n.includes('.tmp-'))).toEqual([]);
});

test('a write the system stops half-way (here a file-size limit: EFBIG, as a full disk gives ENOSPC) says so in terms of the file asked for, and leaves the old file whole', () => {
  // (in a child process under `ulimit -f`: node ignores SIGXFSZ, so the write fails with EFBIG)
  const dist = path.join(__dirname, '..', 'dist', 'lib');
  const f = path.join(dir, 'limited.pt'), g = path.join(dir, 'limited.safetensors');
  torch.save({ small: torch.ones([2]) }, f);
  st.saveFile(g, { small: torch.ones([2]) });
  const before = [fs.readFileSync(f), fs.readFileSync(g)];
  const code = `
const torch = require(${JSON.stringify(dist)});
const big = { w: torch.ones([1 << 20]) }; // 4 MiB, past the 1 MiB limit
for (const save of [() => torch.save(big, ${JSON.stringify(f)}), () => torch.io.safetensors.saveFile(${JSON.stringify(g)}, big)]) {
  try { save(); console.log('written'); } catch (e) { console.log(e.message); }
}`;
  const r = spawnSync('bash', ['-c', 'ulimit -f 1024 && exec "$0" -e "$1"', process.execPath, code], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.stdout.trim().split('\n')).toEqual([f, g].map((file) => `cannot write ${file}: the file would pass the largest size allowed here (ulimit -f, or the filesystem's limit) (EFBIG); the file there is as it was`));
  expect([fs.readFileSync(f), fs.readFileSync(g)]).toEqual(before);
  expect(fs.readdirSync(dir).filter((n) => n.includes('.tmp-'))).toEqual([]);
});

test('mmap: tensors over a private mapping of the file, as torch.load(mmap=True): the same values, writes kept from the file, unmapped when freed', () => {
  const file = path.join(dir, 'mapped.safetensors');
  const t = sample();
  st.saveFile(file, t);
  const bytes = fs.readFileSync(file);
  const read = st.loadFile(file).tensors;
  const mapped = st.loadFile(file, { mmap: true }).tensors;
  expect(fileMappings(file)).toBe(Object.values(t).filter((x) => x.numel() > 0).length); // (an empty tensor maps nothing)
  for (const [k, v] of Object.entries(t)) {
    expect(mapped.get(k)!.dtype).toBe(v.dtype);
    expect(mapped.get(k)!.bytes().equals(read.get(k)!.bytes())).toBe(true);
  }
  // a write changes this process's copy of the page, never the file
  mapped.get('f32')!.mul_(10);
  expect(mapped.get('f32')!.tolist()).toEqual([[15, -20], [30, 40]]);
  expect(fs.readFileSync(file).equals(bytes)).toBe(true);
  // a cast (dtype) or another device reads as usual; filter maps only those asked for
  const cast = st.loadFile(file, { mmap: true, dtype: 'float64', filter: (n) => n === 'f32' || n === 'i32' }).tensors;
  expect([...cast.keys()].sort()).toEqual(['f32', 'i32']);
  expect(cast.get('f32')!.dtype).toBe('float64');
  expect(fileMappings(file)).toBe(Object.values(t).filter((x) => x.numel() > 0).length + 1); // (i32 mapped, f32 cast and its mapping let go)
  for (const x of [...mapped.values(), ...cast.values(), ...read.values()]) x.dispose();
  expect(fileMappings(file)).toBe(0);
  for (const x of Object.values(t)) x.dispose();
});

test('mmap: a tensor whose offset is not a whole number of its elements is read instead; a file shorter than the mapping asked is an error, not a crash', () => {
  // U8[3] then F32[2]: the float32 tensor starts 3 bytes into the data
  const header = Buffer.from(JSON.stringify({ a: { dtype: 'U8', shape: [3], data_offsets: [0, 3] }, b: { dtype: 'F32', shape: [2], data_offsets: [3, 11] } }).padEnd(88, ' '));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(header.length));
  const data = Buffer.alloc(11);
  data.set([1, 2, 3]);
  data.writeFloatLE(1.5, 3);
  data.writeFloatLE(-2, 7);
  const file = path.join(dir, 'odd.safetensors');
  fs.writeFileSync(file, Buffer.concat([len, header, data]));
  const { tensors } = st.loadFile(file, { mmap: true });
  expect(tensors.get('a')!.tolist()).toEqual([1, 2, 3]);
  expect(tensors.get('b')!.tolist()).toEqual([1.5, -2]);
  expect(fileMappings(file)).toBe(1); // (a: mapped; b: read)
  for (const x of tensors.values()) x.dispose();
  const { native } = require('../lib/tensor/native');
  expect(() => native.mapFile(file, 8, [100], 6)).toThrow(/could not map 400 bytes at offset 8 \(file truncated\?\)/);
  expect(() => native.mapFile(file + '.missing', 0, [1], 6)).toThrow(/cannot open .*No such file/);
});

test('mmap through torch.load: a PyTorch checkpoint (zip) written by Python maps tensor by tensor, equal to reading it', () => {
  const file = path.join(dir, 'py.bin');
  const r = spawnSync('/usr/bin/python3', ['-c', `
import sys, torch
g = torch.Generator().manual_seed(0)
w = torch.randn(40, 30, generator=g)
torch.save({"w": w, "wt": w.t(), "b": torch.arange(7, dtype=torch.int64), "h": torch.randn(5, generator=g).bfloat16(), "row": w[3]}, sys.argv[1])`, file], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  const read = torch.load(file), mapped = torch.load(file, { mmap: true });
  expect([...mapped.keys()].sort()).toEqual(['b', 'h', 'row', 'w', 'wt']);
  for (const [k, v] of read) expect(mapped.get(k)!.bytes().equals(v.bytes())).toBe(true);
  expect(fileMappings(file)).toBe(3); // (w's storage once, which w, its transpose wt and row view, as torch.load shares it; b; h)
  expect(mapped.get('wt')!.stride()).toEqual([1, 30]);
  expect(() => torch.load(file, { mmap: 'yes' as unknown as boolean })).toThrow(/mmap must be true or false/);
  for (const x of [...read.values(), ...mapped.values()]) x.dispose();
  expect(fileMappings(file)).toBe(0);
});

test('safeOpen (safetensors\' safe_open): keys, metadata, one tensor, and parts of one read alone, as Python indexes them', () => {
  const file = path.join(dir, 'open.safetensors');
  const py = `
import json, sys; sys.path.insert(0, ${JSON.stringify(path.join(__dirname, '..', 'scripts', 'reference'))})
import st, torch
g = torch.Generator().manual_seed(0)
emb, h = torch.randn(1000, 16, generator=g), torch.randn(3, 4, 5, generator=g).bfloat16()
st.save(sys.argv[1], {"wte": emb, "h": h, "ids": torch.arange(10)}, {"format": "pt", "note": "x"})
print(json.dumps({"rows": emb[10:13].tolist(), "cols": emb[:, ::4][-2:].tolist(), "one": emb[999].tolist(), "h": h[1, :, 2:].float().tolist(), "hlast": h[..., -1].float().tolist()}))`;
  const r = spawnSync('/usr/bin/python3', ['-c', py, file], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  const want = JSON.parse(r.stdout);
  const f = st.safeOpen(file, { framework: 'pt' });
  expect(f.keys()).toEqual(['h', 'ids', 'wte']); // (sorted, as safetensors)
  expect(f.metadata()).toEqual({ format: 'pt', note: 'x' });
  const wte = f.getSlice('wte');
  expect([wte.getShape(), wte.getDtype(), f.getSlice('h').getDtype()]).toEqual([[1000, 16], 'F32', 'BF16']);
  torch.tidy(() => {
    expect(wte.get('10:13').tolist()).toEqual(want.rows);
    expect(wte.get(':', '::4').index('-2:').tolist()).toEqual(want.cols);
    expect(wte.get(999).tolist()).toEqual(want.one);
    expect(f.getSlice('h').get(1, ':', '2:').to({ dtype: 'float32' }).tolist()).toEqual(want.h);
    expect(f.getSlice('h').get('...', -1).to({ dtype: 'float32' }).tolist()).toEqual(want.hlast);
    expect(f.getTensor('ids').tolist()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
  expect(fileMappings(file)).toBe(0); // (a part is a copy of its own: nothing stays mapped)
  expect(() => f.getTensor('wpe')).toThrow(/has no tensor 'wpe' \(it has 3: h, ids, wte\)/);
  expect(() => st.safeOpen(file, { framework: 'np' })).toThrow(/framework 'np' is not offered here/);
  expect(() => st.safeOpen(path.join(dir, 'none.safetensors'))).toThrow(/cannot open \(ENOENT\)/);
  expect(() => st.safeOpen(file, { dtype: 'float32' } as never)).toThrow(/unknown option 'dtype'/);
  // the file replaced since: an error, not the new file's bytes read at the old offsets
  st.saveFile(file, { other: torch.zeros([4]) });
  expect(() => f.getSlice('wte')).toThrow(/has changed since safeOpen read its header: safeOpen it again/);
});

test('the GPT-2 tokenizer is GPT-2 BPE', () => {
  const tok = torch.tokenizer;
  expect(tok.encode('Hello world')).toEqual([15496, 995]);
  expect(tok.encode('<|endoftext|>')).toEqual([50256]);
  expect(tok.decode(tok.encode(' The jury said Friday.'))).toBe(' The jury said Friday.');
});
