// safetensors, to the format's spec: an 8-byte little-endian header length, a JSON header
// ({name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}), padded
// with spaces to a multiple of 8, then the tensor bytes. Readers validate everything; writers
// write a temporary file and rename it, so a crash never leaves half a file.
//
// (The npm package named `safetensors` is a read-only browser helper that fails on files with
// `__metadata__`, which every Hugging Face file has; hence this module.)
import * as fs from 'fs';
import * as path from 'path';
import { native } from '../tensor/native';
import { Index, Tensor } from '../tensor/tensor';
import { DType, dtypeCode, deviceCode, dtypeBytes, isFloatingDtype } from '../tensor/dtype';
import { _wrap as wrap } from '../tensor/tensor';
import { writeFileAtomic } from './atomic';
import { tensorBytePieces } from './tensor_bytes';
import { keywordOptions } from '../tensor/options';

// safetensors has no complex dtype: those are refused with a way out (see serialize).
const toST: Partial<Record<DType, string>> = {
  float64: 'F64', float32: 'F32', float16: 'F16', bfloat16: 'BF16',
  int64: 'I64', int32: 'I32', int16: 'I16', int8: 'I8', uint8: 'U8', bool: 'BOOL',
};
const fromST: Record<string, DType> = Object.fromEntries(Object.entries(toST).map(([k, v]) => [v, k as DType]));

export interface TensorInfo {
  dtype: DType;
  shape: number[];
  /** absolute byte offset in the file */
  offset: number;
  nbytes: number;
}

export interface SafetensorsHeader {
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string>;
}

const MAX_HEADER = 100 * 1024 * 1024;

/** Reads and validates a file's header; throws an error naming the file and the fault. */
export function readHeader(file: string): SafetensorsHeader {
  const bad = (why: string) => new Error(`safetensors: ${file}: ${why}`);
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw bad(`cannot open (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    const size = fs.fstatSync(fd).size;
    if (size < 8) throw bad(`file is ${size} bytes, too short for a header (truncated?)`);
    const lenBuf = Buffer.alloc(8);
    fs.readSync(fd, lenBuf, 0, 8, 0);
    const len = Number(lenBuf.readBigUInt64LE(0));
    if (len > MAX_HEADER || len > size - 8) throw bad(`header length ${len} exceeds the file size ${size} (truncated or not safetensors)`);
    const hbuf = Buffer.alloc(len);
    fs.readSync(fd, hbuf, 0, len, 8);
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(hbuf.toString('utf8'));
    } catch (e) {
      throw bad(`header is not valid JSON (${(e as Error).message})`);
    }
    if (json === null || typeof json !== 'object' || Array.isArray(json)) throw bad('header is not a JSON object');
    const dataStart = 8 + len;
    const dataLen = size - dataStart;
    const tensors = new Map<string, TensorInfo>();
    let metadata: Record<string, string> = {};
    const spans: [number, number, string][] = [];
    for (const [name, v] of Object.entries(json)) {
      if (name === '__metadata__') {
        // the Rust reader (safetensors' own) refuses anything but strings here too
        if (v === null || typeof v !== 'object' || Array.isArray(v) || !Object.values(v).every((x) => typeof x === 'string')) {
          throw bad('__metadata__ must be an object of strings');
        }
        metadata = v as Record<string, string>;
        continue;
      }
      if (v === null || typeof v !== 'object' || Array.isArray(v)) throw bad(`tensor '${name}': its header entry is not an object`);
      const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
      if (e.dtype === undefined) throw bad(`tensor '${name}' has no dtype`);
      // own keys only: a dtype of 'constructor' must not find Object's
      const dtype = typeof e.dtype === 'string' && Object.hasOwn(fromST, e.dtype) ? fromST[e.dtype] : undefined;
      if (!dtype) throw bad(`tensor '${name}' has unsupported dtype ${JSON.stringify(e.dtype)} (readable: ${Object.keys(fromST).join(', ')})`);
      if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) throw bad(`tensor '${name}' has an invalid shape`);
      const offs = e.data_offsets;
      if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((d) => Number.isInteger(d) && d >= 0) || offs[0] > offs[1]) {
        throw bad(`tensor '${name}' has invalid data_offsets`);
      }
      const shape = e.shape as number[];
      const nbytes = shape.reduce((a, b) => a * b, 1) * dtypeBytes[dtype];
      if (offs[1] - offs[0] !== nbytes) throw bad(`tensor '${name}': data_offsets span ${offs[1] - offs[0]} bytes, but ${dtype}[${shape}] needs ${nbytes}`);
      if (offs[1] > dataLen) throw bad(`tensor '${name}' ends at byte ${offs[1]} past the data (${dataLen} bytes): file truncated`);
      spans.push([offs[0], offs[1], name]);
      tensors.set(name, { dtype, shape, offset: dataStart + offs[0], nbytes });
    }
    // The spec asks for a buffer fully covered by non-overlapping tensors.
    spans.sort((a, b) => a[0] - b[0]);
    let at = 0;
    for (const [b, e, name] of spans) {
      if (b < at) throw bad(`tensor '${name}' overlaps the one before it`);
      if (b > at) throw bad(`a hole of ${b - at} bytes before tensor '${name}'`);
      at = e;
    }
    if (at !== dataLen) throw bad(`${dataLen - at} bytes after the last tensor (corrupt or wrong header)`);
    return { tensors, metadata };
  } finally {
    fs.closeSync(fd);
  }
}

/** What the weight loaders take: where the tensors go, which are read, and (dtype) what floating ones are cast to. */
export interface LoadOptions {
  device?: string;
  filter?: (name: string) => boolean;
  /** floating tensors cast to it one by one as they are read (a float32 file read as bfloat16 is never whole in float32) */
  dtype?: DType;
  /**
   * CPU tensors over a private mapping of the file (PyTorch's torch.load(mmap=True)): nothing read
   * until used, memory shared with the page cache and with other processes mapping the same file;
   * a write to such a tensor stays in this process. The file must not be changed in place while
   * mapped (replaced by a rename, as every tstorch writer does, is fine). Other devices, and a
   * tensor cast by dtype, are read as usual.
   */
  mmap?: boolean;
}

/**
 * @internal One tensor's bytes at offset as a tensor on device: mapped (LoadOptions.mmap, on the
 * CPU, where the offset is a whole number of elements) or read.
 */
export function tensorFromFile(file: string, offset: number, shape: number[], dtype: DType, opts: { device?: string; mmap?: boolean }): Tensor {
  const onCpu = opts.device === undefined || opts.device === 'cpu';
  if (opts.mmap && onCpu && offset % dtypeBytes[dtype] === 0) return wrap(native.mapFile(path.resolve(file), offset, shape, dtypeCode(dtype)));
  return wrap(native.fromFile(path.resolve(file), offset, shape, dtypeCode(dtype), deviceCode(opts.device)));
}

/** @internal a tensor just read, cast to dtype if it is floating (LoadOptions.dtype). */
export function castAsRead(t: Tensor, dtype: DType | undefined): Tensor {
  if (!dtype || t.dtype === dtype || !isFloatingDtype(t.dtype)) return t;
  const cast = t.to({ dtype });
  t.dispose();
  return cast;
}

/** Loads every tensor (or those `filter` accepts). Each is read straight into its own memory (or mapped: opts.mmap). */
export function loadFile(file: string, opts: LoadOptions = {}): { tensors: Map<string, Tensor>; metadata: Record<string, string> } {
  const header = readHeader(file);
  const out = new Map<string, Tensor>();
  try {
    for (const [name, info] of header.tensors) {
      if (opts.filter && !opts.filter(name)) continue;
      out.set(name, castAsRead(tensorFromFile(file, info.offset, info.shape, info.dtype, opts), opts.dtype));
    }
  } catch (e) {
    for (const t of out.values()) t.dispose();
    throw e;
  }
  return { tensors: out, metadata: header.metadata };
}

/**
 * One tensor of a file, not yet read (safetensors' PySafeSlice): its shape and dtype, and get(...)
 * for a part of it, read alone: the tensor is mapped and indexed, so only the pages the part
 * lies in are read (a few rows of an embedding, not the whole of it).
 */
export interface SafetensorsSlice {
  /** the tensor's shape (get_shape) */
  getShape(): number[];
  /** its dtype as the file says it (get_dtype): 'F32', 'BF16', 'I64', ... */
  getDtype(): string;
  /** slice[...] as Tensor.index takes it: get('0:10'), get(':', '::2'), get(3), get(); a copy of its own */
  get(...indices: Index[]): Tensor;
}

/** A safetensors file opened (safetensors' safe_open): its names and metadata, each tensor read when asked. */
export interface SafeOpen {
  keys(): string[];
  metadata(): Record<string, string>;
  /** one tensor, read whole (on the device safeOpen was given) */
  getTensor(name: string): Tensor;
  getSlice(name: string): SafetensorsSlice;
  /** (nothing is held open between reads: for `using`, as Python's with) */
  [Symbol.dispose](): void;
}

/**
 * safetensors' safe_open(file, framework='pt', device='cpu'): the header read and checked at once,
 * each tensor (or a part of it: getSlice) read only when asked for, as a loader of a large file
 * that needs a few of its tensors wants.
 */
export function safeOpen(file: string, opts: { framework?: string; device?: string } = {}): SafeOpen {
  keywordOptions('safetensors.safeOpen', opts, ['framework', 'device']);
  if (opts.framework !== undefined && opts.framework !== 'pt') throw new Error(`safetensors.safeOpen: framework '${opts.framework}' is not offered here; tensors come as torch tensors ('pt')`);
  const header = readHeader(file);
  const keys = [...header.tensors.keys()].sort();
  // (each read opens the file again: one replaced or rewritten since would be read at this header's offsets)
  const identity = (st: fs.Stats) => `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
  const opened = identity(fs.statSync(file));
  const infoOf = (name: string): TensorInfo => {
    if (identity(fs.statSync(file)) !== opened) throw new Error(`safetensors: ${file} has changed since safeOpen read its header: safeOpen it again`);
    const info = header.tensors.get(name);
    if (!info) throw new Error(`safetensors: ${file} has no tensor '${name}' (it has ${keys.length}: ${keys.slice(0, 5).join(', ')}${keys.length > 5 ? ', ...' : ''})`);
    return info;
  };
  const onDevice = (t: Tensor) => {
    if (opts.device === undefined || opts.device === 'cpu') return t;
    const moved = t.to({ device: opts.device });
    t.dispose();
    return moved;
  };
  return {
    keys: () => [...keys],
    metadata: () => ({ ...header.metadata }),
    getTensor: (name) => {
      const info = infoOf(name);
      return tensorFromFile(file, info.offset, info.shape, info.dtype, { device: opts.device });
    },
    getSlice: (name) => {
      const info = infoOf(name);
      return {
        getShape: () => [...info.shape],
        getDtype: () => toST[info.dtype]!,
        get: (...indices) => {
          const whole = tensorFromFile(file, info.offset, info.shape, info.dtype, { mmap: true });
          try {
            const part = whole.index(...indices);
            const own = part.clone(); // (not the mapping's: its own memory, the mapping let go)
            part.dispose();
            return onDevice(own);
          } finally {
            whole.dispose();
          }
        },
      };
    },
    [Symbol.dispose]: () => undefined,
  };
}

/** Reads one file of a sharded checkpoint (loadFile; a PyTorch checkpoint's reader for pytorch_model.bin shards). */
export type ShardLoader = (file: string, opts: LoadOptions) => { tensors: Map<string, Tensor> };

/**
 * Loads a sharded checkpoint from its index (Hugging Face's model.safetensors.index.json:
 * { metadata, weight_map: { tensor name: shard file } }), shard by shard. Every tensor the index
 * names must be in its shard; a shard that is missing or a name it lacks is an error.
 */
export function loadSharded(
  indexFile: string,
  opts: LoadOptions & { loadShard?: ShardLoader } = {},
): { tensors: Map<string, Tensor>; metadata: Record<string, string> } {
  const loadShard = opts.loadShard ?? loadFile;
  let index: { weight_map?: Record<string, string>; metadata?: Record<string, unknown> };
  try {
    index = JSON.parse(fs.readFileSync(indexFile, 'utf8'));
  } catch (e) {
    throw new Error(`safetensors: ${indexFile}: not a readable index (${(e as Error).message})`);
  }
  const map = index.weight_map;
  if (!map || typeof map !== 'object' || !Object.values(map).every((f) => typeof f === 'string' && !f.includes('..') && !path.isAbsolute(f))) {
    throw new Error(`safetensors: ${indexFile} has no valid weight_map (tensor name -> shard file in the same folder)`);
  }
  const byFile = new Map<string, Set<string>>();
  for (const [name, file] of Object.entries(map)) {
    if (opts.filter && !opts.filter(name)) continue;
    if (!byFile.has(file)) byFile.set(file, new Set());
    byFile.get(file)!.add(name);
  }
  const out = new Map<string, Tensor>();
  try {
    for (const [file, names] of byFile) {
      const shard = path.join(path.dirname(indexFile), file);
      if (!fs.existsSync(shard)) throw new Error(`safetensors: ${indexFile} lists ${file}, which is not in that folder (an incomplete download?)`);
      const { tensors } = loadShard(shard, { device: opts.device, dtype: opts.dtype, mmap: opts.mmap, filter: (n) => names.has(n) });
      for (const [n, t] of tensors) out.set(n, t);
      for (const n of names) if (!tensors.has(n)) throw new Error(`safetensors: ${indexFile} puts '${n}' in ${file}, which does not hold it`);
    }
  } catch (e) {
    for (const t of out.values()) t.dispose();
    throw e;
  }
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(index.metadata ?? {})) metadata[k] = String(v);
  return { tensors: out, metadata };
}

/** Builds the bytes of a safetensors file (header padded to 8 with spaces, as the reference writer). */
export function serialize(tensors: Map<string, Tensor> | Record<string, Tensor>, metadata?: Record<string, string>): Buffer[] {
  return [...serializedChunks(tensors, metadata)];
}

/**
 * serialize's bytes, made as they are asked for: the header at once (from shapes and dtypes),
 * then each tensor's bytes in pieces (tensorBytePieces), so that a writer holds one piece's copy
 * at a time, not a tensor's or the whole model's. writeAtOnce (a writer that writes each chunk
 * as it is made): chunks share the tensors' memory, no copy (serialize's own chunks are copies, as
 * they outlive the call).
 */
function serializedChunks(tensors: Map<string, Tensor> | Record<string, Tensor>, metadata?: Record<string, string>, writeAtOnce = false): Iterable<Buffer> {
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  for (const [name, t] of entries) {
    if (!toST[t.dtype]) {
      throw new Error(`safetensors: '${name}' is ${t.dtype}, which safetensors cannot hold: save torch.viewAsReal(x) ` +
        '(a float tensor whose last dim holds the real and imaginary parts; torch.viewAsComplex undoes it), or use torch.save');
    }
  }
  for (const [k, v] of Object.entries(metadata ?? {})) {
    // (a file our reader, and Python's safetensors, would refuse is not written)
    if (typeof v !== 'string') throw new Error(`safetensors: metadata '${k}' is a ${typeof v}; __metadata__ holds strings only: give String(value) or JSON.stringify(value)`);
  }
  // Sorted by dtype size then name, as the Rust reference orders the data (alignment friendly).
  entries.sort((a, b) => dtypeBytes[b[1].dtype] - dtypeBytes[a[1].dtype] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of entries) {
    const n = t.nbytes;
    header[name] = { dtype: toST[t.dtype], shape: t.shape, data_offsets: [offset, offset + n] };
    offset += n;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (8 - (json.length % 8)) % 8;
  if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return (function* () {
    yield len;
    yield json;
    for (const [name, t] of entries) {
      const [from, to] = (header[name] as { data_offsets: [number, number] }).data_offsets;
      let n = 0;
      for (const piece of tensorBytePieces(t, { shared: writeAtOnce })) {
        n += piece.length;
        yield piece;
      }
      if (n !== to - from) throw new Error(`safetensors: '${name}' gave ${n} bytes, not ${to - from}`);
    }
  })();
}

/** Writes a safetensors file atomically (temporary file, fsync, rename), a piece of a tensor's bytes at a time. */
export function saveFile(file: string, tensors: Map<string, Tensor> | Record<string, Tensor>, metadata: Record<string, string> = { format: 'pt' }): void {
  writeFileAtomic(file, serializedChunks(tensors, metadata, true));
}
