// torch.save's format written without Python: a zip of STORED records, <name>/data.pkl (a
// protocol-2 pickle of an OrderedDict of tensors, each rebuilt by torch._utils._rebuild_tensor_v2
// from a persistent storage id), one <name>/data/<key> record per storage, <name>/version and
// <name>/byteorder; records aligned to 64 bytes as PyTorch's writer does. Python's torch.load
// reads it (weights_only=True too), so does torch.io.loadTorchFile. Written whole or not at all.
import { isRecord } from '../tensor/named_tuple';
import * as path from 'path';
import { Tensor } from '../tensor/tensor';
import { DType } from '../tensor/dtype';
import { writeFileAtomic } from './atomic';
import { crc32 } from './checksum';

const STORAGE: Record<DType, string> = {
  float32: 'FloatStorage', float64: 'DoubleStorage', float16: 'HalfStorage', bfloat16: 'BFloat16Storage',
  int64: 'LongStorage', int32: 'IntStorage', int16: 'ShortStorage', int8: 'CharStorage', uint8: 'ByteStorage', bool: 'BoolStorage',
  complex64: 'ComplexFloatStorage', complex128: 'ComplexDoubleStorage',
};

// ---------- the pickle (protocol 2, the opcodes torch.save's pickler uses) ----------
class Pickler {
  private parts: Buffer[] = [Buffer.from([0x80, 2])]; // PROTO 2
  private op(...bytes: number[]) { this.parts.push(Buffer.from(bytes)); }
  global(module: string, name: string) { this.parts.push(Buffer.from(`c${module}\n${name}\n`, 'utf8')); }
  str(s: string) {
    const b = Buffer.from(s, 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32LE(b.length);
    this.parts.push(Buffer.from([0x58]), len, b); // BINUNICODE
  }
  int(n: number) {
    if (!Number.isSafeInteger(n)) throw new Error(`torch.save: ${n} is not an integer the pickle can hold`);
    if (n >= 0 && n < 256) this.op(0x4b, n); // BININT1
    else if (n >= 0 && n < 65536) this.op(0x4d, n & 0xff, n >> 8); // BININT2
    else if (n >= -(2 ** 31) && n < 2 ** 31) {
      const b = Buffer.alloc(5);
      b[0] = 0x4a; // BININT
      b.writeInt32LE(n, 1);
      this.parts.push(b);
    } else {
      const b = Buffer.alloc(10);
      b[0] = 0x8a; // LONG1, 8 bytes two's complement
      b[1] = 8;
      b.writeBigInt64LE(BigInt(n), 2);
      this.parts.push(b);
    }
  }
  ints(xs: number[]) { this.mark(); xs.forEach((x) => this.int(x)); this.tuple(); }
  mark() { this.op(0x28); }
  tuple() { this.op(0x74); }
  emptyTuple() { this.op(0x29); }
  reduce() { this.op(0x52); }
  falsy() { this.op(0x89); } // NEWFALSE
  persId() { this.op(0x51); } // BINPERSID
  setItems() { this.op(0x75); }
  appends() { this.op(0x65); }
  emptyDict() { this.op(0x7d); }
  emptyList() { this.op(0x5d); }
  none() { this.op(0x4e); }
  bool(v: boolean) { this.op(v ? 0x88 : 0x89); }
  float(x: number) {
    const b = Buffer.alloc(9);
    b[0] = 0x47; // BINFLOAT, big-endian double
    b.writeDoubleBE(x, 1);
    this.parts.push(b);
  }
  bigint(n: bigint) {
    const b = Buffer.alloc(10);
    b[0] = 0x8a; // LONG1, 8 bytes two's complement
    b[1] = 8;
    b.writeBigInt64LE(n, 2);
    this.parts.push(b);
  }
  stop() { this.op(0x2e); }
  bytes(): Buffer { return Buffer.concat(this.parts); }
}

// A tensor as torch.save pickles it: _rebuild_tensor_v2 of a persistent storage (its key) and a
// contiguous layout.
function pickleTensor(p: Pickler, t: Tensor, key: number): void {
  const shape = t.shape;
  const stride = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  p.global('torch._utils', '_rebuild_tensor_v2');
  p.mark();
  // persistent id ('storage', torch.<Type>Storage, key, location, numel)
  p.mark();
  p.str('storage');
  p.global('torch', STORAGE[t.dtype]);
  p.str(String(key));
  p.str('cpu');
  p.int(t.numel());
  p.tuple();
  p.persId();
  p.int(0); // storage offset
  p.ints(shape);
  p.ints(stride);
  p.falsy(); // requires_grad
  p.global('collections', 'OrderedDict'); // backward hooks
  p.emptyTuple();
  p.reduce();
  p.tuple();
  p.reduce();
}

function pickleStateDict(entries: [string, Tensor][]): Buffer {
  const p = new Pickler();
  p.global('collections', 'OrderedDict');
  p.emptyTuple();
  p.reduce();
  p.mark();
  entries.forEach(([name, t], key) => {
    p.str(name);
    pickleTensor(p, t, key);
  });
  p.setItems();
  p.stop();
  return p.bytes();
}

/** What torch.save can hold besides tensors by name: nested objects, arrays, Maps, numbers, strings, booleans, null. */
export type Picklable = Tensor | number | bigint | string | boolean | null | undefined | Picklable[] | Map<string | number, Picklable> | { [key: string]: Picklable };

// Any such value, as Python's pickle of the same dicts, lists and scalars; tensors collected in
// order (one storage each; the same Tensor twice is one storage, as in PyTorch).
function pickleObject(obj: Picklable, tensors: Tensor[]): Buffer {
  const p = new Pickler();
  const seen = new Set<unknown>();
  const put = (v: Picklable, where: string): void => {
    if (v === null || v === undefined) p.none();
    else if (typeof v === 'boolean') p.bool(v);
    else if (typeof v === 'number') {
      if (Number.isSafeInteger(v)) p.int(v);
      else p.float(v);
    } else if (typeof v === 'bigint') p.bigint(v);
    else if (typeof v === 'string') p.str(v);
    else if (v instanceof Tensor) {
      if (!STORAGE[v.dtype]) throw new Error(`torch.save: ${where} has dtype ${v.dtype}, which has no torch storage type`);
      let key = tensors.indexOf(v);
      if (key < 0) key = tensors.push(v) - 1;
      pickleTensor(p, v, key);
    } else {
      if (seen.has(v)) throw new Error(`torch.save: ${where} contains itself`);
      seen.add(v);
      if (Array.isArray(v)) {
        p.emptyList();
        if (v.length) {
          p.mark();
          v.forEach((x, i) => put(x, `${where}[${i}]`));
          p.appends();
        }
      } else if (v instanceof Map || isRecord(v)) {
        const items = v instanceof Map ? [...v] : Object.entries(v);
        p.emptyDict();
        if (items.length) {
          p.mark();
          for (const [k, x] of items) {
            if (typeof k === 'number') p.int(k);
            else if (typeof k === 'string') p.str(k);
            else throw new Error(`torch.save: ${where} has a key that is neither a string nor a number`);
            put(x, `${where}.${String(k)}`);
          }
          p.setItems();
        }
      } else if (typeof (v as { stateDict?: unknown }).stateDict === 'function' && typeof (v as { loadStateDict?: unknown }).loadStateDict === 'function') {
        // (PyTorch pickles a whole module or optimizer, code and all; its own advice is to save the state dict)
        const kind = (v as object).constructor?.name ?? 'object';
        throw new Error(`torch.save: ${where} is a ${kind}, whose code a file cannot hold: save its stateDict() instead (torch.save(model.stateDict(), file)), and load it into a new ${kind} with loadStateDict(torch.load(file))`);
      } else {
        throw new Error(`torch.save: ${where} is a ${(v as object).constructor?.name ?? typeof v}; torch.save holds tensors, numbers, strings, booleans, null, arrays, Maps and plain objects`);
      }
      seen.delete(v);
    }
  };
  put(obj, 'the object');
  p.stop();
  return p.bytes();
}

// ---------- the zip (STORED, no compression) ----------
const ALIGN = 64;
function zip(records: [string, Buffer][]): Buffer[] {
  const out: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of records) {
    const nameBytes = Buffer.from(name, 'utf8');
    // Pad the local header with an extra field ('FB', as PyTorch's writer) so the data starts on a 64-byte boundary.
    const headerLen = 30 + nameBytes.length;
    const pad = (ALIGN - ((offset + headerLen + 4) % ALIGN)) % ALIGN;
    const extra = Buffer.alloc(4 + pad);
    extra.writeUInt16LE(0x4246, 0);
    extra.writeUInt16LE(pad, 2);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(0, 8); // stored
    local.writeUInt32LE(0, 10); // time, date
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    local.writeUInt16LE(extra.length, 28);
    out.push(local, nameBytes, extra, data);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(20, 4); // made by
    c.writeUInt16LE(20, 6);
    c.writeUInt16LE(0x0800, 8);
    c.writeUInt16LE(0, 10);
    c.writeUInt32LE(0, 12);
    c.writeUInt32LE(crc, 16);
    c.writeUInt32LE(data.length, 20);
    c.writeUInt32LE(data.length, 24);
    c.writeUInt16LE(nameBytes.length, 28);
    c.writeUInt32LE(offset, 42);
    central.push(c, nameBytes);
    offset += 30 + nameBytes.length + extra.length + data.length;
  }
  const centralSize = central.reduce((s, b) => s + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(records.length, 8);
  end.writeUInt16LE(records.length, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(offset, 16);
  return [...out, ...central, end];
}

/**
 * torch.save(obj, file) in PyTorch's zip format (what Python's torch.load reads; for Hugging Face
 * folders safetensors is the better choice). A state dict (tensors by name) is written as
 * PyTorch's OrderedDict; anything else Picklable (a checkpoint with a model's and an optimizer's
 * state, an epoch, a list of losses, ...) as the same dicts, lists and scalars Python would
 * write. Tensors are saved as contiguous CPU copies, without their autograd state.
 */
export function saveTorchFile(file: string, obj: Picklable): void {
  const stateDict = isStateDict(obj);
  let pkl: Buffer;
  let tensors: Tensor[];
  if (stateDict) {
    const entries = obj instanceof Map ? [...(obj as Map<string, Tensor>)] : Object.entries(obj as Record<string, Tensor>);
    for (const [name, t] of entries) {
      if (!STORAGE[t.dtype]) throw new Error(`torch.save: '${name}' has dtype ${t.dtype}, which has no torch storage type`);
    }
    pkl = pickleStateDict(entries);
    tensors = entries.map(([, t]) => t);
  } else {
    tensors = [];
    pkl = pickleObject(obj, tensors);
  }
  const prefix = path.basename(file).replace(/\.[^.]*$/, '').replace(/[^A-Za-z0-9_.-]/g, '_') || 'archive';
  const records: [string, Buffer][] = [[`${prefix}/data.pkl`, pkl], [`${prefix}/byteorder`, Buffer.from('little')]];
  tensors.forEach((t, key) => records.push([`${prefix}/data/${key}`, t.bytes()]));
  records.push([`${prefix}/version`, Buffer.from('3\n')]);
  const parts = zip(records);
  const total = parts.reduce((s, b) => s + b.length, 0);
  if (total >= 0xffffffff || records.length >= 0xffff) {
    throw new Error(`torch.save: ${file} would be ${total} bytes in ${records.length} records, over what a zip without zip64 holds (4 GiB, 65535 records); save it as safetensors (torch.io.safetensors.saveFile), which has no such limit`);
  }
  writeFileAtomic(file, parts);
}

/** Tensors by name and nothing else (a Map or a plain object, non-empty). */
export function isStateDict(obj: unknown): obj is Map<string, Tensor> | Record<string, Tensor> {
  if (obj instanceof Map) return obj.size > 0 && [...obj].every(([k, v]) => typeof k === 'string' && v instanceof Tensor);
  if (obj && typeof obj === 'object' && Object.getPrototypeOf(obj) === Object.prototype) {
    const vs = Object.values(obj);
    return vs.length > 0 && vs.every((v) => v instanceof Tensor);
  }
  return false;
}
