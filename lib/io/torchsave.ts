// torch.save's format written without Python: a zip of STORED records, <name>/data.pkl (a
// protocol-2 pickle of an OrderedDict of tensors, each rebuilt by torch._utils._rebuild_tensor_v2
// from a persistent storage id), one <name>/data/<key> record per storage, <name>/version and
// <name>/byteorder; records aligned to 64 bytes as PyTorch's writer does. Python's torch.load
// reads it (weights_only=True too), so does torch.io.loadTorchFile. Written whole or not at all,
// a piece at a time; zip64 past 4 GiB.
import { isRecord } from '../tensor/named_tuple';
import * as path from 'path';
import { Tensor } from '../tensor/tensor';
import { DType } from '../tensor/dtype';
import { FileWriter, writeFileAtomic } from './atomic';
import { tensorBytePieces } from './tensor_bytes';
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

// The tensors a pickle refers to, in the order first met, one storage each: a tensor met again
// (under a second name, as GPT-2's lm_head.weight tied to transformer.wte.weight, or twice in a
// list) gets its first key, as PyTorch writes one storage.
class Storages {
  readonly tensors: Tensor[] = [];
  private readonly keys = new Map<Tensor, number>();
  key(t: Tensor): number {
    let key = this.keys.get(t);
    if (key === undefined) this.keys.set(t, (key = this.tensors.push(t) - 1));
    return key;
  }
}

function pickleStateDict(entries: [string, Tensor][], storages: Storages): Buffer {
  const p = new Pickler();
  p.global('collections', 'OrderedDict');
  p.emptyTuple();
  p.reduce();
  p.mark();
  for (const [name, t] of entries) {
    p.str(name);
    pickleTensor(p, t, storages.key(t));
  }
  p.setItems();
  p.stop();
  return p.bytes();
}

/** What torch.save can hold besides tensors by name: nested objects, arrays, Maps, numbers, strings, booleans, null. */
export type Picklable = Tensor | number | bigint | string | boolean | null | undefined | PyTuple | Picklable[] | Map<string | number, Picklable> | { [key: string]: Picklable };

/**
 * Items pickled as a Python tuple, where Python insists on one (random.setstate's state, a value
 * a Python reader unpacks or compares as a tuple): torch.save({ pair: new torch.io.PyTuple([3, 0.5]) }, f).
 * Arrays are pickled as lists, as JS has no tuples; torch.loadObject gives a file's tuples as arrays.
 */
export class PyTuple {
  constructor(readonly items: Picklable[]) {}
}

// Any such value, as Python's pickle of the same dicts, lists and scalars; its tensors go to storages.
function pickleObject(obj: Picklable, storages: Storages): Buffer {
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
      pickleTensor(p, v, storages.key(v));
    } else {
      if (seen.has(v)) throw new Error(`torch.save: ${where} contains itself`);
      seen.add(v);
      if (v instanceof PyTuple) {
        p.mark();
        v.items.forEach((x, i) => put(x, `${where}[${i}]`));
        p.tuple();
      } else if (Array.isArray(v)) {
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

// ---------- the zip (STORED, no compression), written as it is made ----------
const ALIGN = 64;
const U32_MAX = 0xffffffff;

/** One record of the archive: its name, its size, and its bytes, made when it is written. */
interface ZipRecord { name: string; size: number; pieces: () => Iterable<Buffer> }

// zip64's extended-information extra field (0x0001): 64-bit values of the fields that read 0xffffffff.
function zip64Extra(values: number[]): Buffer {
  const b = Buffer.alloc(4 + 8 * values.length);
  b.writeUInt16LE(0x0001, 0);
  b.writeUInt16LE(8 * values.length, 2);
  values.forEach((v, i) => b.writeBigUInt64LE(BigInt(v), 4 + 8 * i));
  return b;
}

/**
 * Writes the records as a zip archive, each record's bytes a piece at a time: its CRC-32 is
 * computed as they go and written into the local header after them. Sizes and offsets past
 * 4 GiB, or more than 65535 records, get zip64 records, as PyTorch's writer (miniz) writes
 * them; forceZip64 writes them for every record (what a reader of big archives is tested with).
 */
function writeZip(out: FileWriter, records: ZipRecord[], forceZip64: boolean): void {
  const central: Buffer[] = [];
  for (const { name, size, pieces } of records) {
    const nameBytes = Buffer.from(name, 'utf8');
    const offset = out.position;
    const bigSize = forceZip64 || size >= U32_MAX, bigOffset = forceZip64 || offset >= U32_MAX;
    const localExtra = bigSize ? zip64Extra([size, size]) : Buffer.alloc(0);
    // Pad the local header with an extra field ('FB', as PyTorch's writer) so the data starts on a 64-byte boundary.
    const headerLen = 30 + nameBytes.length + localExtra.length;
    const pad = (ALIGN - ((offset + headerLen + 4) % ALIGN)) % ALIGN;
    const fb = Buffer.alloc(4 + pad);
    fb.writeUInt16LE(0x4246, 0);
    fb.writeUInt16LE(pad, 2);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(bigSize ? 45 : 20, 4); // version needed (4.5: zip64)
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(0, 8); // stored
    local.writeUInt32LE(0, 10); // time, date
    local.writeUInt32LE(0, 14); // CRC-32: written once the data has been
    local.writeUInt32LE(bigSize ? U32_MAX : size, 18);
    local.writeUInt32LE(bigSize ? U32_MAX : size, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    local.writeUInt16LE(localExtra.length + fb.length, 28);
    out.write(Buffer.concat([local, nameBytes, localExtra, fb]));
    let crc = 0, written = 0;
    for (const piece of pieces()) {
      crc = crc32(piece, crc);
      out.write(piece);
      written += piece.length;
    }
    if (written !== size) throw new Error(`torch.save: record ${name} gave ${written} bytes, not ${size}`);
    const crcBytes = Buffer.alloc(4);
    crcBytes.writeUInt32LE(crc);
    out.writeAt(crcBytes, offset + 14);
    const centralExtra = bigSize || bigOffset ? zip64Extra([...(bigSize ? [size, size] : []), ...(bigOffset ? [offset] : [])]) : Buffer.alloc(0);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(45, 4); // made by
    c.writeUInt16LE(centralExtra.length ? 45 : 20, 6);
    c.writeUInt16LE(0x0800, 8);
    c.writeUInt16LE(0, 10);
    c.writeUInt32LE(0, 12);
    c.writeUInt32LE(crc, 16);
    c.writeUInt32LE(bigSize ? U32_MAX : size, 20);
    c.writeUInt32LE(bigSize ? U32_MAX : size, 24);
    c.writeUInt16LE(nameBytes.length, 28);
    c.writeUInt16LE(centralExtra.length, 30);
    c.writeUInt32LE(bigOffset ? U32_MAX : offset, 42);
    central.push(c, nameBytes, centralExtra);
  }
  const centralOffset = out.position;
  for (const b of central) out.write(b);
  const centralSize = out.position - centralOffset;
  const big = forceZip64 || records.length >= 0xffff || centralOffset >= U32_MAX || centralSize >= U32_MAX;
  if (big) {
    const end64Offset = out.position;
    const end64 = Buffer.alloc(56);
    end64.writeUInt32LE(0x06064b50, 0);
    end64.writeBigUInt64LE(44n, 4); // the size of the rest of this record
    end64.writeUInt16LE(45, 12);
    end64.writeUInt16LE(45, 14);
    end64.writeBigUInt64LE(BigInt(records.length), 24);
    end64.writeBigUInt64LE(BigInt(records.length), 32);
    end64.writeBigUInt64LE(BigInt(centralSize), 40);
    end64.writeBigUInt64LE(BigInt(centralOffset), 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(0x07064b50, 0);
    locator.writeBigUInt64LE(BigInt(end64Offset), 8);
    locator.writeUInt32LE(1, 16); // disks
    out.write(Buffer.concat([end64, locator]));
  }
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(big ? 0xffff : records.length, 8);
  end.writeUInt16LE(big ? 0xffff : records.length, 10);
  end.writeUInt32LE(big ? U32_MAX : centralSize, 12);
  end.writeUInt32LE(big ? U32_MAX : centralOffset, 16);
  out.write(end);
}

/** What torch.save takes besides the file and the object. */
export interface SaveOptions {
  /** zip64 records for every entry even when no size or offset needs them (Python's zipfile force_zip64): what readers of big checkpoints are tested with */
  forceZip64?: boolean;
}

/**
 * torch.save(obj, file) in PyTorch's zip format (what Python's torch.load reads; for Hugging Face
 * folders safetensors is the better choice). A state dict (tensors by name) is written as
 * PyTorch's OrderedDict; anything else Picklable (a checkpoint with a model's and an optimizer's
 * state, an epoch, a list of losses, ...) as the same dicts, lists and scalars Python would
 * write. Tensors are saved as contiguous CPU copies, without their autograd state, written
 * straight from their memory (a CPU tensor dense already is not copied at all); past 4 GiB the
 * archive is zip64, as PyTorch's.
 */
export function saveTorchFile(file: string, obj: Picklable, opts: SaveOptions = {}): void {
  const stateDict = isStateDict(obj);
  let pkl: Buffer;
  const storages = new Storages();
  if (stateDict) {
    const entries = obj instanceof Map ? [...(obj as Map<string, Tensor>)] : Object.entries(obj as Record<string, Tensor>);
    for (const [name, t] of entries) {
      if (!STORAGE[t.dtype]) throw new Error(`torch.save: '${name}' has dtype ${t.dtype}, which has no torch storage type`);
    }
    pkl = pickleStateDict(entries, storages);
  } else {
    pkl = pickleObject(obj, storages);
  }
  const prefix = path.basename(file).replace(/\.[^.]*$/, '').replace(/[^A-Za-z0-9_.-]/g, '_') || 'archive';
  const inMemory = (name: string, bytes: Buffer): ZipRecord => ({ name, size: bytes.length, pieces: () => [bytes] });
  const records: ZipRecord[] = [inMemory(`${prefix}/data.pkl`, pkl), inMemory(`${prefix}/byteorder`, Buffer.from('little'))];
  // (pieces shared with the tensors, not copied: each is written at once)
  storages.tensors.forEach((t, key) => records.push({ name: `${prefix}/data/${key}`, size: t.nbytes, pieces: () => tensorBytePieces(t, { shared: true }) }));
  records.push(inMemory(`${prefix}/version`, Buffer.from('3\n')));
  writeFileAtomic(file, (out) => writeZip(out, records, opts.forceZip64 ?? false));
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
