// PyTorch checkpoints (torch.save's pytorch_model.bin, adapter_model.bin) read without Python:
// the zip format (torch >= 1.6: <name>/data.pkl and one <name>/data/<key> record per storage)
// and the legacy one (pickles, then the storages' raw bytes). The pickle is read by a
// restricted unpickler, as torch.load(weights_only=True): it knows the handful of classes a
// state dict is made of (OrderedDict, torch's tensor rebuilders and storage types; NumPy's
// arrays, dtypes and scalars, rebuilt from their bytes) and refuses anything else; nothing in
// the file is ever executed. Tensors are read straight from the file.
import * as fs from 'fs';
import * as path from 'path';
import { Tensor, _wrap as wrap } from '../tensor/tensor';
import { native } from '../tensor/native';
import { DType, dtypeBytes, dtypeCode, deviceCode } from '../tensor/dtype';
import { tidy } from '../tensor/scope';
import { fromBytes } from '../tensor/creation';
import { LoadOptions, castAsRead, tensorFromFile } from './safetensors';

const STORAGE_DTYPES: Record<string, DType> = {
  FloatStorage: 'float32', DoubleStorage: 'float64', HalfStorage: 'float16', BFloat16Storage: 'bfloat16',
  LongStorage: 'int64', IntStorage: 'int32', ShortStorage: 'int16', CharStorage: 'int8', ByteStorage: 'uint8', BoolStorage: 'bool',
  ComplexFloatStorage: 'complex64', ComplexDoubleStorage: 'complex128',
};

/** A storage as the pickle names it: its dtype, its key (record name or legacy key), its element count. */
interface StorageRef { dtype: DType; key: string; numel: number }
/** A tensor as the pickle describes it: a view (offset, sizes, strides in elements) of a storage. */
class TensorRef {
  constructor(readonly storage: StorageRef, readonly offset: number, readonly shape: number[], readonly stride: number[]) {}
}
/** A class or function the pickle names (GLOBAL), known or not. */
class PyGlobal {
  constructor(readonly module: string, readonly name: string) {}
  get qualified(): string { return `${this.module}.${this.name}`; }
}
const MARK = Symbol('mark');

/**
 * NumPy's values as pickled (np.dtype, np.ndarray, NumPy scalars; HF's rng_state.pth holds
 * NumPy's generator state): rebuilt from their data alone, as torch.load's unpickler with NumPy's
 * safe globals would; NumPy's own code is not involved.
 */
class NumpyDtype {
  byteOrder = '=';
  constructor(readonly code: string) {}
  /** its width in bytes and whether the bytes are big-endian */
  get itemsize(): number { return Number(/\d+$/.exec(this.code)?.[0] ?? NaN); }
  get bigEndian(): boolean { return this.byteOrder === '>'; }
}
/** An ndarray being rebuilt: _reconstruct makes it empty, BUILD gives it its shape, dtype and bytes. */
class NumpyArray {
  shape: number[] = [];
  dtype: NumpyDtype | null = null;
  fortran = false;
  data: Buffer | null = null;
}
const NUMPY_MULTIARRAY = ['numpy.core.multiarray', 'numpy._core.multiarray'];
/** numpy dtype code (kind and width) -> tstorch's dtype; unsigned codes tstorch lacks widen. */
const NUMPY_DTYPES: Record<string, DType> = {
  f2: 'float16', f4: 'float32', f8: 'float64', i1: 'int8', i2: 'int16', i4: 'int32', i8: 'int64', u1: 'uint8', b1: 'bool',
  c8: 'complex64', c16: 'complex128', u2: 'int32', u4: 'int64',
};

function fail(file: string, why: string): never {
  throw new Error(`torch checkpoint: ${file}: ${why}`);
}

/** Bytes of a file read on demand through a window: legacy checkpoints are pickles then gigabytes of storage. */
class FileBytes {
  private buf = Buffer.alloc(0);
  private bufStart = 0;
  constructor(private readonly fd: number, readonly file: string, public pos = 0, private readonly end = fs.fstatSync(fd).size) {}
  take(n: number): Buffer {
    if (this.pos + n > this.end) fail(this.file, `truncated (needs ${n} bytes at offset ${this.pos}, the file ends at ${this.end})`);
    if (this.pos < this.bufStart || this.pos + n > this.bufStart + this.buf.length) {
      this.buf = Buffer.alloc(Math.min(Math.max(n, 1 << 20), this.end - this.pos));
      fs.readSync(this.fd, this.buf, 0, this.buf.length, this.pos);
      this.bufStart = this.pos;
    }
    const out = this.buf.subarray(this.pos - this.bufStart, this.pos - this.bufStart + n);
    this.pos += n;
    return out;
  }
}

/**
 * Python's pickle machine, restricted to what torch.save writes for a state dict (protocols 2-5).
 * `persistentLoad` turns torch's storage ids into StorageRefs.
 */
function unpickle(src: FileBytes, persistentLoad: (pid: unknown[]) => StorageRef): unknown {
  try {
    return runPickle(src, persistentLoad);
  } catch (e) {
    // A damaged pickle can put anything anywhere: whatever breaks is said as what it is.
    if ((e as Error).message.startsWith('torch checkpoint:')) throw e;
    fail(src.file, `corrupt pickle near offset ${src.pos} (${(e as Error).message})`);
  }
}

function runPickle(src: FileBytes, persistentLoad: (pid: unknown[]) => StorageRef): unknown {
  const stack: unknown[] = [];
  const memo = new Map<number, unknown>();
  const popMark = (): unknown[] => {
    const k = stack.lastIndexOf(MARK);
    if (k < 0) fail(src.file, 'corrupt pickle (no MARK)');
    const items = stack.splice(k + 1);
    stack.pop();
    return items;
  };
  const u8 = () => src.take(1)[0];
  const u32 = () => src.take(4).readUInt32LE(0);
  const setItems = (d: unknown, kv: unknown[]) => {
    if (!(d instanceof Map)) fail(src.file, 'corrupt pickle (SETITEM on a non-dict)');
    for (let i = 0; i + 1 < kv.length; i += 2) d.set(kv[i], kv[i + 1]);
  };
  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: u8(); break; // PROTO
      case 0x95: src.take(8); break; // FRAME: frames only group bytes
      case 0x2e: return stack.pop(); // STOP
      case 0x28: stack.push(MARK); break; // MARK
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4a: stack.push(src.take(4).readInt32LE(0)); break; // BININT
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(src.take(2).readUInt16LE(0)); break; // BININT2
      case 0x8a: { // LONG1: little-endian two's complement
        const b = src.take(u8());
        let v = 0n;
        for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
        if (b.length && b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
        stack.push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case 0x47: stack.push(src.take(8).readDoubleBE(0)); break; // BINFLOAT
      case 0x58: stack.push(src.take(u32()).toString('utf8')); break; // BINUNICODE
      case 0x8c: stack.push(src.take(u8()).toString('utf8')); break; // SHORT_BINUNICODE
      case 0x8d: stack.push(src.take(Number(src.take(8).readBigUInt64LE(0))).toString('utf8')); break; // BINUNICODE8
      case 0x54: stack.push(src.take(src.take(4).readInt32LE(0)).toString('latin1')); break; // BINSTRING
      case 0x55: stack.push(src.take(u8()).toString('latin1')); break; // SHORT_BINSTRING
      case 0x42: stack.push(Buffer.from(src.take(u32()))); break; // BINBYTES
      case 0x43: stack.push(Buffer.from(src.take(u8()))); break; // SHORT_BINBYTES
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x64: { const m = new Map(); setItems(m, popMark()); stack.push(m); break; } // DICT
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x6c: stack.push(popMark()); break; // LIST
      case 0x29: stack.push([]); break; // EMPTY_TUPLE (tuples are arrays here)
      case 0x74: stack.push(popMark()); break; // TUPLE
      case 0x85: stack.push([stack.pop()]); break; // TUPLE1
      case 0x86: { const b = stack.pop(), a = stack.pop(); stack.push([a, b]); break; } // TUPLE2
      case 0x87: { const c = stack.pop(), b = stack.pop(), a = stack.pop(); stack.push([a, b, c]); break; } // TUPLE3
      case 0x8f: stack.push(new Set()); break; // EMPTY_SET
      case 0x90: { const items = popMark(); const s = stack[stack.length - 1] as Set<unknown>; items.forEach((x) => s.add(x)); break; } // ADDITEMS
      case 0x91: stack.push(new Set(popMark())); break; // FROZENSET
      case 0x61: { const x = stack.pop(); (stack[stack.length - 1] as unknown[]).push(x); break; } // APPEND
      case 0x65: { const items = popMark(); (stack[stack.length - 1] as unknown[]).push(...items); break; } // APPENDS
      case 0x73: { const v = stack.pop(), k = stack.pop(); setItems(stack[stack.length - 1], [k, v]); break; } // SETITEM
      case 0x75: { const kv = popMark(); setItems(stack[stack.length - 1], kv); break; } // SETITEMS
      case 0x71: memo.set(u8(), stack[stack.length - 1]); break; // BINPUT
      case 0x72: memo.set(u32(), stack[stack.length - 1]); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, stack[stack.length - 1]); break; // MEMOIZE
      case 0x68: stack.push(memo.get(u8())); break; // BINGET
      case 0x6a: stack.push(memo.get(u32())); break; // LONG_BINGET
      case 0x63: { // GLOBAL "module\nname\n"
        const line = () => { let s = ''; for (let c = u8(); c !== 0x0a; c = u8()) s += String.fromCharCode(c); return s; };
        const module = line();
        stack.push(new PyGlobal(module, line()));
        break;
      }
      case 0x93: { const name = stack.pop() as string, module = stack.pop() as string; stack.push(new PyGlobal(module, name)); break; } // STACK_GLOBAL
      case 0x51: stack.push(persistentLoad(stack.pop() as unknown[])); break; // BINPERSID
      case 0x52: { const args = stack.pop() as unknown[], fn = stack.pop(); stack.push(call(src.file, fn, args)); break; } // REDUCE
      case 0x81: { const args = stack.pop() as unknown[], cls = stack.pop(); stack.push(call(src.file, cls, args)); break; } // NEWOBJ
      case 0x62: { // BUILD: a NumPy dtype's or array's state; an OrderedDict's (its _metadata) or a tensor's: nothing to keep
        const state = stack.pop(), obj = stack[stack.length - 1];
        if (obj instanceof NumpyDtype || obj instanceof NumpyArray) buildNumpy(src.file, obj, state);
        break;
      }
      default:
        fail(src.file, `unsupported pickle opcode 0x${op.toString(16)} at offset ${src.pos - 1} (not a state dict saved by torch.save?)`);
    }
  }
}

/** The only calls a state dict's pickle makes; anything else is refused, never run. */
function call(file: string, fn: unknown, args: unknown[]): unknown {
  if (!(fn instanceof PyGlobal)) fail(file, 'corrupt pickle (a call of something that is not a class or function)');
  switch (fn.qualified) {
    case 'collections.OrderedDict':
      return new Map();
    case 'collections.Counter': // (a dict of counts, e.g. MultiStepLR's milestones in a scheduler's state)
      return args[0] instanceof Map ? new Map(args[0]) : new Map();
    case 'torch._utils._rebuild_tensor_v2':
    case 'torch._utils._rebuild_tensor': {
      const [storage, offset, shape, stride] = args as [StorageRef, number, number[], number[]];
      const ints = (a: unknown) => Array.isArray(a) && a.every((v) => Number.isInteger(v) && v >= 0);
      if (!storage?.dtype || !Number.isInteger(offset) || offset < 0 || !ints(shape) || !ints(stride) || shape.length !== stride.length) {
        fail(file, 'corrupt pickle (a tensor without a valid storage, offset, shape and stride)');
      }
      return new TensorRef(storage, offset, [...shape], [...stride]);
    }
    case 'torch._utils._rebuild_parameter':
    case 'torch._utils._rebuild_parameter_with_state':
      return args[0]; // an nn.Parameter saved as such: its data
    case '_codecs.encode': // bytes in pickle protocol 2: _codecs.encode(str, 'latin1')
      if (typeof args[0] !== 'string' || args[1] !== 'latin1') fail(file, 'corrupt pickle (bytes not encoded as latin1)');
      return Buffer.from(args[0], 'latin1');
    case '__builtin__.bytes': // (an empty bytes in protocol 2)
    case 'builtins.bytes':
      if (args.length !== 0) fail(file, 'corrupt pickle (bytes made of something other than nothing or latin1 text)');
      return Buffer.alloc(0);
    case 'numpy.dtype':
      if (typeof args[0] !== 'string') fail(file, 'corrupt pickle (a numpy dtype without its code)');
      return new NumpyDtype(args[0]);
    default:
      if (NUMPY_MULTIARRAY.includes(fn.module) && fn.name === '_reconstruct') return new NumpyArray();
      if (NUMPY_MULTIARRAY.includes(fn.module) && fn.name === 'scalar') return numpyScalar(file, args[0], args[1]);
      fail(file, `it pickles ${fn.qualified}, which a state dict does not hold; tstorch reads only state dicts (torch.save(model.state_dict())) and runs nothing from a pickle`);
  }
}

function buildNumpy(file: string, obj: NumpyDtype | NumpyArray, state: unknown): void {
  if (!Array.isArray(state)) fail(file, 'corrupt pickle (a numpy object without its state)');
  if (obj instanceof NumpyDtype) {
    obj.byteOrder = String(state[1]);
    return;
  }
  // ndarray.__setstate__((version, shape, dtype, is_fortran, rawdata))
  const [, shape, dtype, fortran, data] = state as [number, number[], unknown, boolean, unknown];
  if (!(dtype instanceof NumpyDtype)) fail(file, 'corrupt pickle (a numpy array without a dtype)');
  if (!Buffer.isBuffer(data)) fail(file, `a numpy array of dtype ${dtype.code} holds Python objects, which tstorch does not read`);
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) fail(file, 'corrupt pickle (a numpy array without a valid shape)');
  const known = dtype.code.replace(/^[<>=|]/, '') in NUMPY_DTYPES || /u8$/.test(dtype.code); // (others are refused when read)
  if (known && shape.reduce((a, b) => a * b, 1) * dtype.itemsize !== data.length) fail(file, `corrupt pickle (a numpy array of shape [${shape}] and dtype ${dtype.code} with ${data.length} bytes)`);
  Object.assign(obj, { shape: [...shape], dtype, fortran: Boolean(fortran), data });
}

/** A NumPy scalar (np.float32(1.5), np.int64(3), ...): its value as a number (a bigint past 2^53; bool a boolean). */
function numpyScalar(file: string, dtype: unknown, data: unknown): number | bigint | boolean {
  if (!(dtype instanceof NumpyDtype) || !Buffer.isBuffer(data) || data.length !== dtype.itemsize) fail(file, 'corrupt pickle (a numpy scalar without its dtype and bytes)');
  const b = dtype.bigEndian ? Buffer.from(data).reverse() : data;
  const kind = dtype.code.replace(/^[<>=|]/, '');
  switch (kind) {
    case 'f2': { // (libtorch reads the half)
      const t = fromBytes(b, [], 'float16');
      const v = t.item() as number;
      t.dispose();
      return v;
    }
    case 'f4': return b.readFloatLE(0);
    case 'f8': return b.readDoubleLE(0);
    case 'b1': return b[0] !== 0;
    case 'i1': return b.readInt8(0);
    case 'u1': return b[0];
    case 'i2': return b.readInt16LE(0);
    case 'u2': return b.readUInt16LE(0);
    case 'i4': return b.readInt32LE(0);
    case 'u4': return b.readUInt32LE(0);
    case 'i8': case 'u8': {
      const v = kind === 'i8' ? b.readBigInt64LE(0) : b.readBigUInt64LE(0);
      return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
    }
    default: fail(file, `a numpy scalar of dtype ${dtype.code}, which tstorch does not read`);
  }
}

/**
 * A NumPy array as a tensor of the same values and shape (on the CPU; C order). uint16 and
 * uint32, which libtorch lacks, widen to int32 and int64; uint64 to int64 when every value fits.
 */
function numpyTensor(file: string, a: NumpyArray): Tensor {
  const code = a.dtype!.code.replace(/^[<>=|]/, '');
  let dtype = Object.hasOwn(NUMPY_DTYPES, code) ? NUMPY_DTYPES[code] : undefined;
  const size = a.dtype!.itemsize;
  let bytes = Buffer.from(a.data!);
  if (a.dtype!.bigEndian && size > 1) { // byte-swap each element (complex: each of its two parts)
    const part = code.startsWith('c') ? size / 2 : size;
    for (let i = 0; i < bytes.length; i += part) bytes.subarray(i, i + part).reverse();
  }
  if (code === 'u2' || code === 'u4') {
    const n = bytes.length / size, wide = Buffer.alloc(n * size * 2);
    for (let i = 0; i < n; i++) {
      if (code === 'u2') wide.writeInt32LE(bytes.readUInt16LE(i * 2), i * 4);
      else wide.writeBigInt64LE(BigInt(bytes.readUInt32LE(i * 4)), i * 8);
    }
    bytes = wide;
  } else if (code === 'u8') {
    for (let i = 0; i < bytes.length; i += 8) if (bytes.readBigUInt64LE(i) >= 1n << 63n) fail(file, 'a numpy uint64 array has values past int64\'s range, which tstorch cannot hold');
    dtype = 'int64';
  }
  if (!dtype) fail(file, `a numpy array of dtype ${a.dtype!.code}, which tstorch does not read (numbers and booleans only)`);
  if (!a.fortran) return fromBytes(bytes, a.shape, dtype);
  // Fortran order: the bytes are the transpose's in C order
  return tidy(() => fromBytes(bytes, [...a.shape].reverse(), dtype).permute([...a.shape.keys()].reverse()).contiguous());
}

function storageRef(file: string, pid: unknown[], legacy: boolean): StorageRef {
  const [tag, type, key, , numel, view] = pid as [string, PyGlobal, string, string, number, unknown];
  if (tag !== 'storage' || !(type instanceof PyGlobal)) fail(file, `unexpected persistent id ${JSON.stringify(tag)}`);
  const dtype = Object.hasOwn(STORAGE_DTYPES, type.name) ? STORAGE_DTYPES[type.name] : undefined;
  if (!dtype || type.module !== 'torch') fail(file, `storage type ${type.qualified} is not supported (one of torch.${Object.keys(STORAGE_DTYPES).join(', torch.')})`);
  if (legacy && view !== null && view !== undefined) fail(file, 'storage views of the legacy format are not supported (re-save it with a recent torch.save)');
  if (!Number.isInteger(numel) || numel < 0) fail(file, `corrupt pickle (storage ${String(key)} has ${String(numel)} elements)`);
  return { dtype, key: String(key), numel };
}

/** The tensors of a pickled state dict, as (name -> view of a storage). */
function stateDictOf(file: string, obj: unknown): Map<string, TensorRef> {
  const tensorsOnly = (v: unknown): v is Map<unknown, TensorRef> => v instanceof Map && v.size > 0 && [...v.values()].every((t) => t instanceof TensorRef);
  if (!(obj instanceof Map)) fail(file, 'holds no state dict (a dict of tensors); torch.loadObject reads the whole object');
  if (obj.size && !tensorsOnly(obj)) { // (an empty dict: the state of a model without tensors)
    // A checkpoint that wraps its weights ({"state_dict": ...}, {"model": ..., "optimizer": ..., "iter_num": ...}):
    // one level is looked through, to the one dict of tensors there. Anything else is said, not
    // guessed at: a loose tensor beside the model (nanoGPT's best_val_loss) is not the weights.
    const inner = [...obj.entries()].filter(([, v]) => tensorsOnly(v));
    if (inner.length !== 1) {
      const keys = [...obj.keys()].map((k) => `'${String(k)}'`).join(', ');
      const what = inner.length ? `${inner.length} dicts of tensors (${inner.map(([k]) => `'${String(k)}'`).join(', ')})` : 'no dict of tensors alone';
      fail(file, `is a checkpoint of ${keys}, with ${what}: not one state dict. Read it whole with torch.loadObject(file) (Python's torch.load) and take the entry you want, e.g. loadObject(file).model`);
    }
    obj = inner[0][1];
  }
  const out = new Map<string, TensorRef>();
  for (const [k, v] of obj as Map<unknown, TensorRef>) {
    if (typeof k !== 'string') fail(file, `holds a dict of tensors keyed by ${typeof k}s, not names; torch.loadObject reads it`);
    out.set(k, v);
  }
  return out;
}

/** One stored entry of a zip archive: where its bytes start, and how many. */
interface ZipEntry { offset: number; size: number }

/** The entries of a zip file (torch's are stored uncompressed; zip64 when past 4 GiB). */
function zipEntries(fd: number, file: string): Map<string, ZipEntry> {
  const size = fs.fstatSync(fd).size;
  const read = (pos: number, n: number) => {
    const b = Buffer.alloc(n);
    if (fs.readSync(fd, b, 0, n, pos) !== n) fail(file, 'truncated zip');
    return b;
  };
  const tailLen = Math.min(size, 65557);
  const tail = read(size - tailLen, tailLen);
  const eocd = tail.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) fail(file, 'not a complete zip archive (no end record: truncated?)');
  let count = tail.readUInt16LE(eocd + 10), cdOffset = tail.readUInt32LE(eocd + 16);
  if (count === 0xffff || cdOffset === 0xffffffff) {
    const loc = tail.lastIndexOf(Buffer.from([0x50, 0x4b, 0x06, 0x07]), eocd);
    if (loc < 0) fail(file, 'zip64 archive without its locator');
    const z = read(Number(tail.readBigUInt64LE(loc + 8)), 56);
    if (z.readUInt32LE(0) !== 0x06064b50) fail(file, 'corrupt zip64 end record');
    count = Number(z.readBigUInt64LE(32));
    cdOffset = Number(z.readBigUInt64LE(48));
  }
  const entries = new Map<string, ZipEntry>();
  let pos = cdOffset;
  for (let i = 0; i < count; i++) {
    const h = read(pos, 46);
    if (h.readUInt32LE(0) !== 0x02014b50) fail(file, 'corrupt zip central directory');
    const method = h.readUInt16LE(10), nameLen = h.readUInt16LE(28), extraLen = h.readUInt16LE(30), commentLen = h.readUInt16LE(32);
    let compressed: number = h.readUInt32LE(20), local: number = h.readUInt32LE(42);
    const rest = read(pos + 46, nameLen + extraLen);
    const name = rest.subarray(0, nameLen).toString('utf8');
    // zip64 extra field (0x0001): the 64-bit values of those fields that read 0xffffffff, in order.
    for (let e = nameLen; e + 4 <= rest.length;) {
      const id = rest.readUInt16LE(e), len = rest.readUInt16LE(e + 2);
      if (id === 0x0001) {
        let at = e + 4;
        if (h.readUInt32LE(24) === 0xffffffff) at += 8; // uncompressed size comes first
        if (compressed === 0xffffffff) { compressed = Number(rest.readBigUInt64LE(at)); at += 8; }
        if (local === 0xffffffff) local = Number(rest.readBigUInt64LE(at));
      }
      e += 4 + len;
    }
    if (method !== 0) fail(file, `zip entry ${name} is compressed (method ${method}); torch.save stores entries uncompressed`);
    const lh = read(local, 30);
    if (lh.readUInt32LE(0) !== 0x04034b50) fail(file, `corrupt zip local header for ${name}`);
    entries.set(name, { offset: local + 30 + lh.readUInt16LE(26) + lh.readUInt16LE(28), size: compressed });
    pos += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/** Where each storage's bytes start in the file, and the state dict's tensors. */
function readIndex(file: string, fd: number, whole = false): { tensors: Map<string, TensorRef>; storageStart: Map<string, number>; obj: unknown } {
  const magic = Buffer.alloc(4);
  fs.readSync(fd, magic, 0, 4, 0);
  const storageStart = new Map<string, number>();
  if (magic.readUInt32LE(0) === 0x04034b50) {
    const entries = zipEntries(fd, file);
    const pkl = [...entries.keys()].find((n) => /^[^/]+\/data\.pkl$/.test(n));
    if (!pkl) fail(file, 'a zip archive without data.pkl (not a torch.save file)');
    const root = pkl.slice(0, -'data.pkl'.length);
    const e = entries.get(pkl)!;
    const seen: StorageRef[] = [];
    const obj = unpickle(new FileBytes(fd, file, e.offset, e.offset + e.size), (pid) => {
      const s = storageRef(file, pid, false);
      seen.push(s);
      return s;
    });
    for (const s of seen) {
      const rec = entries.get(`${root}data/${s.key}`);
      if (!rec) fail(file, `storage record ${root}data/${s.key} is missing`);
      if (rec.size < s.numel * dtypeBytes[s.dtype]) fail(file, `storage ${s.key} holds ${rec.size} bytes, not the ${s.numel * dtypeBytes[s.dtype]} its tensors need`);
      storageStart.set(s.key, rec.offset);
    }
    return { tensors: whole ? new Map() : stateDictOf(file, obj), storageStart, obj };
  }
  // Legacy: magic number, protocol version, system info, the object, the storage keys, then each
  // storage as an 8-byte element count and its bytes, in the keys' order.
  const src = new FileBytes(fd, file);
  const none = (): StorageRef => fail(file, 'not a torch.save file (storage before the object)');
  let head: unknown;
  try {
    head = unpickle(src, none);
  } catch {
    fail(file, 'neither a zip archive nor a legacy torch.save file');
  }
  if (head !== 0x1950a86a20f9469cfc6cn) fail(file, 'neither a zip archive nor a legacy torch.save file (wrong magic number)');
  const version = unpickle(src, none);
  if (version !== 1001) fail(file, `legacy format version ${String(version)} is not supported`);
  unpickle(src, none); // system info (endianness, type sizes): little-endian assumed, as x86 and ARM
  const byKey = new Map<string, StorageRef>();
  const obj = unpickle(src, (pid) => {
    const s = storageRef(file, pid, true);
    if (!byKey.has(s.key)) byKey.set(s.key, s);
    return byKey.get(s.key)!;
  });
  const keys = unpickle(src, none) as unknown[];
  if (!Array.isArray(keys)) fail(file, 'corrupt legacy file (no storage key list)');
  const size = fs.fstatSync(fd).size, count = Buffer.alloc(8);
  let pos = src.pos;
  for (const key of keys.map(String)) {
    const s = byKey.get(key);
    if (fs.readSync(fd, count, 0, 8, pos) !== 8) fail(file, 'truncated (the storages run past the end of the file)');
    const numel = Number(count.readBigInt64LE(0));
    if (s && numel < s.numel) fail(file, `storage ${key} holds ${numel} elements, not the ${s.numel} its tensors need`);
    storageStart.set(key, pos + 8);
    pos += 8 + numel * (s ? dtypeBytes[s.dtype] : 1);
  }
  if (pos > size) fail(file, 'truncated (the storages run past the end of the file)');
  return { tensors: whole ? new Map() : stateDictOf(file, obj), storageStart, obj };
}

/** Elements of its storage a tensor reaches from its offset (0 when empty); fails if past the storage or the file. */
function checkedSpan(file: string, fileSize: number, ref: TensorRef, start: number): number {
  const numel = ref.shape.reduce((a, b) => a * b, 1);
  const span = numel === 0 ? 0 : 1 + ref.shape.reduce((s, n, d) => s + (n - 1) * ref.stride[d], 0);
  if (ref.offset + span > ref.storage.numel) fail(file, `a tensor of shape [${ref.shape}] reaches past its storage ${ref.storage.key}`);
  if (start + (ref.offset + span) * dtypeBytes[ref.storage.dtype] > fileSize) fail(file, `truncated (storage ${ref.storage.key} runs past the end of the file)`);
  return span;
}

/** Reads one tensor: straight from the file when contiguous, else its storage's span, then the strided view. */
function readTensor(file: string, fileSize: number, ref: TensorRef, start: number, opts: { device?: string; mmap?: boolean }): Tensor {
  const device = opts.device;
  const { dtype } = ref.storage, esize = dtypeBytes[dtype];
  let contiguous = true;
  for (let d = ref.shape.length - 1, expect = 1; d >= 0; d--) {
    if (ref.shape[d] !== 1 && ref.stride[d] !== expect) contiguous = false;
    expect *= ref.shape[d];
  }
  const span = checkedSpan(file, fileSize, ref, start);
  const abs = path.resolve(file);
  if (contiguous) return tensorFromFile(abs, start + ref.offset * esize, ref.shape, dtype, opts);
  return tidy(() => {
    const flat = wrap(native.fromFile(abs, start + ref.offset * esize, [span], dtypeCode(dtype), -1));
    return flat.asStrided(ref.shape, ref.stride, 0).contiguous().to({ device: device ?? 'cpu' });
  });
}

/**
 * Makes tensors as torch.load does: those that share a storage in the file (tied weights, a
 * view saved next to its base) become views of that storage, read once, so a change in place
 * through one shows in the others; a tensor alone on its storage is read by itself (only the
 * bytes it uses). `users` counts, per storage key, the tensors that will be asked for.
 */
class StorageReader {
  private readonly whole = new Map<string, Tensor>();
  constructor(private readonly file: string, private readonly fileSize: number, private readonly storageStart: Map<string, number>,
    private readonly users: Map<string, number>, private readonly opts: { device?: string; mmap?: boolean }) {}

  read(ref: TensorRef, what: string): Tensor {
    const { key, dtype, numel } = ref.storage;
    const start = this.storageStart.get(key);
    if (start === undefined) fail(this.file, `storage ${key} of ${what} is not in the file`);
    if ((this.users.get(key) ?? 0) < 2) return readTensor(this.file, this.fileSize, ref, start, this.opts);
    checkedSpan(this.file, this.fileSize, ref, start);
    let storage = this.whole.get(key);
    if (!storage) {
      if (start + numel * dtypeBytes[dtype] > this.fileSize) fail(this.file, `truncated (storage ${key} runs past the end of the file)`);
      storage = tensorFromFile(path.resolve(this.file), start, [numel], dtype, this.opts);
      this.whole.set(key, storage);
    }
    return storage.asStrided(ref.shape, ref.stride, ref.offset);
  }
  /** Lets go of the whole storages (their views keep what they use). */
  dispose(): void {
    for (const t of this.whole.values()) t.dispose();
    this.whole.clear();
  }
}
const countUsers = (refs: Iterable<TensorRef>): Map<string, number> => {
  const users = new Map<string, number>();
  for (const r of refs) users.set(r.storage.key, (users.get(r.storage.key) ?? 0) + 1);
  return users;
};

/**
 * Loads the tensors of a PyTorch checkpoint (a state dict saved by torch.save; or those
 * `filter` accepts). Tensors that share a storage in the file (tied weights) share it here too,
 * as torch.load's do (each name its own Tensor, disposed on its own); a dtype cast copies.
 */
export function loadTorchFile(file: string, opts: LoadOptions = {}): { tensors: Map<string, Tensor> } {
  if (!fs.existsSync(file)) throw new Error(`torch checkpoint: ${file} not found`);
  const fd = fs.openSync(file, 'r');
  const out = new Map<string, Tensor>();
  let reader: StorageReader | undefined;
  try {
    let index: ReturnType<typeof readIndex>;
    try {
      index = readIndex(file, fd);
    } catch (e) {
      // A damaged archive can put any number in any field: whatever breaks is said as what it is.
      if ((e as Error).message.startsWith('torch checkpoint:')) throw e;
      fail(file, `damaged (${(e as Error).message})`);
    }
    const { tensors, storageStart } = index;
    const wanted = [...tensors].filter(([name]) => !opts.filter || opts.filter(name));
    const fileSize = fs.fstatSync(fd).size; // (once, not per tensor)
    reader = new StorageReader(file, fileSize, storageStart, countUsers(wanted.map(([, ref]) => ref)), opts);
    for (const [name, ref] of wanted) out.set(name, castAsRead(reader.read(ref, `'${name}'`), opts.dtype));
  } catch (e) {
    for (const t of out.values()) t.dispose();
    throw e;
  } finally {
    reader?.dispose();
    fs.closeSync(fd);
  }
  return { tensors: out };
}

/** What loadTorchObject gives for Python's values: dicts with string keys become plain objects. */
export type Unpickled = Tensor | number | bigint | string | boolean | null | Buffer | Unpickled[] | Set<Unpickled> | Map<unknown, Unpickled> | { [key: string]: Unpickled };

/**
 * Loads a whole torch.save file, not only its state dict: Python's dicts (as plain objects when
 * every key is a string, else Maps), lists and tuples (arrays), numbers, strings, booleans, None
 * (null) and tensors, e.g. a training checkpoint {'epoch': ..., 'model': ..., 'optimizer': ...};
 * also bytes (Buffers), NumPy arrays (tensors of the same values and shape; uint16/uint32 widened
 * to int32/int64, which libtorch 1.13 lacks) and NumPy scalars (numbers), as HF's rng_state.pth holds.
 * Only those are read: a pickle naming any other class or function is refused, nothing is run.
 * A tensor saved twice (shared) comes out as one Tensor; tensors sharing a storage (a view and
 * its base) share it here too, as torch.load's.
 */
export function loadTorchObject(file: string, opts: { device?: string; mmap?: boolean } = {}): Unpickled {
  if (!fs.existsSync(file)) throw new Error(`torch checkpoint: ${file} not found`);
  const fd = fs.openSync(file, 'r');
  const made = new Map<TensorRef, Tensor>();
  const numpyMade: Tensor[] = [];
  let reader: StorageReader | undefined;
  try {
    let index: ReturnType<typeof readIndex>;
    try {
      index = readIndex(file, fd, true);
    } catch (e) {
      if ((e as Error).message.startsWith('torch checkpoint:')) throw e;
      fail(file, `damaged (${(e as Error).message})`);
    }
    const { storageStart, obj } = index;
    const fileSize = fs.fstatSync(fd).size;
    reader = new StorageReader(file, fileSize, storageStart, countUsers(tensorRefsIn(obj)), opts);
    const seen = new Map<unknown, Unpickled>();
    const convert = (v: unknown): Unpickled => {
      if (v instanceof TensorRef) {
        let t = made.get(v);
        if (!t) {
          t = reader!.read(v, 'a tensor');
          made.set(v, t);
        }
        return t;
      }
      if (v === null || typeof v !== 'object' || Buffer.isBuffer(v)) return v as Unpickled;
      if (seen.has(v)) return seen.get(v)!;
      if (v instanceof NumpyArray) {
        if (!v.dtype) fail(file, 'corrupt pickle (a numpy array never given its state)');
        let t = numpyTensor(file, v);
        if (opts.device && opts.device !== 'cpu') {
          const cpu = t;
          t = cpu.to({ device: opts.device });
          cpu.dispose();
        }
        numpyMade.push(t);
        seen.set(v, t);
        return t;
      }
      if (Array.isArray(v)) {
        const out: Unpickled[] = [];
        seen.set(v, out);
        for (const x of v) out.push(convert(x));
        return out;
      }
      if (v instanceof Set) {
        const out = new Set<Unpickled>();
        seen.set(v, out);
        for (const x of v) out.add(convert(x));
        return out;
      }
      if (v instanceof Map) {
        if ([...v.keys()].every((k) => typeof k === 'string')) {
          const out: { [key: string]: Unpickled } = {};
          seen.set(v, out);
          for (const [k, x] of v) out[k as string] = convert(x);
          return out;
        }
        const out = new Map<unknown, Unpickled>();
        seen.set(v, out);
        for (const [k, x] of v) out.set(k, convert(x));
        return out;
      }
      fail(file, `holds a ${(v as object).constructor?.name ?? typeof v} tstorch does not read`);
    };
    return convert(obj);
  } catch (e) {
    for (const t of [...made.values(), ...numpyMade]) t.dispose();
    throw e;
  } finally {
    reader?.dispose();
    fs.closeSync(fd);
  }
}

/** The distinct tensors of an unpickled object, each once (a tensor saved twice is one). */
function tensorRefsIn(obj: unknown): Set<TensorRef> {
  const refs = new Set<TensorRef>(), seen = new Set<unknown>();
  const walk = (v: unknown): void => {
    if (v instanceof TensorRef) refs.add(v);
    else if (v !== null && typeof v === 'object' && !Buffer.isBuffer(v) && !seen.has(v)) {
      seen.add(v);
      if (Array.isArray(v) || v instanceof Set) for (const x of v) walk(x);
      else if (v instanceof Map) for (const [k, x] of v) { walk(k); walk(x); }
    }
  };
  walk(obj);
  return refs;
}
