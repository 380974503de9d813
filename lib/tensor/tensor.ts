// The Tensor class: a JS object holding one handle into the native tensor table.
// Methods are PyTorch's, in camelCase; each is one crossing into libtorch.
import { NamedTuple, namedTuple } from './named_tuple';
import { native } from './native';
import { DType, Device, MemoryFormat, dtypeCode, dtypeName, isDtype, deviceCode, deviceName, isFloatingDtype, isComplexDtype, memoryFormatCode } from './dtype';
import { optionsOf, keywordOptions, isOptionsObject, PositionalOr } from './options';
import { track, disposeHandle, keep as keepHandle } from './scope';
import { formatTensor } from './print';
import { Generator, drawGenerator } from './generator';

/** A binary in-place op's other operand for native: [handle, 0] or [-1, number]. */
const operand = (o: TensorLike): [number, number] => (typeof o === 'number' ? [-1, o] : [id(o), 0]);

/** A random op's options: a torch.Generator to draw from instead of the device's default one. */
export interface RandomDraw { generator?: Generator | null }
import { registerTensorHook, registerNodeHook, registerNodePrehook, RemovableHandle } from './function';
import { tensor as tensorFromData, emptyStrided as emptyStridedOf, TensorData } from './creation';
import { stft as stftOf, istft as istftOf, StftArgs, IstftArgs } from './spectral';
import { lu as luOf } from './linalg_legacy';

/** Where and as what Tensor.to and Module.to put a tensor. */
export interface ToOptions {
  dtype?: DType | null;
  device?: Device | null;
  copy?: boolean;
  /** a copy from pinned host memory to a GPU is queued without waiting for the device */
  nonBlocking?: boolean;
  memoryFormat?: MemoryFormat;
}
/** to()'s arguments: one options object, or PyTorch's positional forms, each optionally then an options object. */
export type ToArgs =
  | [target: ToOptions]
  | [dtype: DType, ...rest: PositionalOr<[nonBlocking?: boolean, copy?: boolean], Omit<ToOptions, 'dtype' | 'device'>>]
  | [device: Device, ...rest: PositionalOr<[dtype?: DType | null, nonBlocking?: boolean, copy?: boolean], Omit<ToOptions, 'device'>>]
  | [other: Tensor, ...rest: PositionalOr<[nonBlocking?: boolean, copy?: boolean], Omit<ToOptions, 'dtype' | 'device'>>];
/**
 * PyTorch's forms of to(): to(dtype, nonBlocking, copy), to(device, dtype, nonBlocking, copy),
 * to(other tensor, nonBlocking, copy), each optionally then an options object, or one options
 * object; a string that is neither a device nor a dtype, or an unknown key, is an error.
 */
export function conversionOf(name: string, args: unknown[]): ToOptions {
  const first = args[0];
  // (the options object alone, the common form, allocates nothing here)
  if (typeof first === 'object' && first !== null && !(first instanceof Tensor)) return optionsOf<ToOptions>(name, args, [], { extra: TO_KEYS });
  const more = (keys: string[]) => optionsOf<ToOptions>(name, args.slice(1), keys, { extra: ['memoryFormat'] });
  if (first instanceof Tensor) return { dtype: first.dtype, device: first.device, ...more(['nonBlocking', 'copy']) };
  if (typeof first === 'string') {
    if (/^(cpu|cuda(:\d+)?|meta)$/.test(first)) return { device: first, ...more(['dtype', 'nonBlocking', 'copy']) };
    if (isDtype(first)) return { dtype: first, ...more(['nonBlocking', 'copy']) };
    throw new Error(`${name}: '${first}' is neither a device ('cpu', 'cuda', 'cuda:1') nor a dtype ('float32', 'float64', 'bfloat16', ...)`);
  }
  return optionsOf<ToOptions>(name, args, [], { extra: TO_KEYS });
}
const TO_KEYS = ['dtype', 'device', 'copy', 'nonBlocking', 'memoryFormat'];

export type Shape = number[];
export type Scalar = number | boolean;
export type TensorLike = Tensor | number;
export type Dims = number | number[];

/** A random draw's arguments by position (keys) then optionally an options object with the generator, checked. */
function drawArgs<O extends object>(name: string, args: unknown[], keys: (keyof O & string)[]): O & { handle: number } {
  const o = optionsOf<O & RandomDraw>(`Tensor.${name}`, args, keys, { extra: ['generator'] });
  const g = o.generator;
  if (g !== undefined && g !== null && !(g instanceof Generator)) throw new Error(`Tensor.${name}: generator must be a torch.Generator, got ${typeof g}`);
  return { ...o, handle: Generator._handle(g) };
}

function id(t: Tensor): number {
  const h = t?._id;
  // (one comparison on the hot path: undefined, what a non-tensor gives, fails it too)
  if (!(h >= 0)) {
    if (typeof h !== 'number') throw new TypeError(`tstorch: expected a Tensor, got ${describeValue(t)}`);
    throw new Error('tstorch: this tensor was disposed (by dispose() or by the tidy() scope that made it); keep() it or return it from tidy() to use it later');
  }
  return h;
}
function describeValue(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return 'an array (make it a tensor with torch.tensor)';
  if (typeof v === 'object') return `an object (${v.constructor?.name ?? 'no class'})`;
  return `${typeof v} ${typeof v === 'string' ? JSON.stringify(v) : String(v)}`;
}

function wrap(h: number): Tensor {
  return new Tensor(h);
}
function wrapAll(hs: number[]): Tensor[] {
  return hs.map(wrap);
}
function dimList(d: Dims): number[] {
  return typeof d === 'number' ? [d] : d;
}

const INSPECT = Symbol.for('nodejs.util.inspect.custom');

/** Tensor.data: a typed-array copy when called, PyTorch's x.data (the same memory outside autograd) as a tensor. */
export interface TensorDataAccess extends Tensor {
  (): Float32Array | Float64Array | Int32Array | BigInt64Array | Int16Array | Int8Array | Uint8Array;
}

/** (values, indices) as PyTorch's named tuple: `const { values, indices } = x.max(1)` or `const [v, i] = x.max(1)`. */
export type ValuesIndices = NamedTuple<{ values: Tensor; indices: Tensor }>;

/** unique()'s options (PyTorch's sorted, return_inverse, return_counts, dim). */
export interface UniqueOptions { sorted?: boolean; returnInverse?: boolean; returnCounts?: boolean; dim?: number | null }
export type UniqueArgs = [opts?: UniqueOptions] | [sorted?: boolean, returnInverse?: boolean, returnCounts?: boolean, dim?: number | null];
export type UniqueConsecutiveArgs = [opts?: Omit<UniqueOptions, 'sorted'>] | [returnInverse?: boolean, returnCounts?: boolean, dim?: number | null];
/** unique()'s tuple: the values, and the inverse indices and counts asked for. */
export type UniqueTuple = NamedTuple<{ values: Tensor; inverse?: Tensor; counts?: Tensor }>;
type Asked = true;
type NotAsked = false | undefined;
/**
 * What unique(...args) gives, from its arguments' types: a Tensor when neither the inverse nor
 * the counts are asked for, the tuple when one is asked for with a literal true, and either
 * (as PyTorch's Union) when a boolean decides it at run time.
 */
export type UniqueOf<A, Which extends 'unique' | 'consecutive'> =
  A extends [{ returnInverse: Asked }] | [{ returnCounts: Asked }] ? UniqueTuple
  : A extends [] | [undefined] | [{ sorted?: boolean; returnInverse?: NotAsked; returnCounts?: NotAsked; dim?: number | null }] ? Tensor
  : A extends [object] ? Tensor | UniqueTuple
  : Which extends 'unique'
    ? (A extends [unknown, Asked, ...unknown[]] | [unknown, unknown, Asked, ...unknown[]] ? UniqueTuple
      : A extends [unknown, NotAsked?, NotAsked?, ...unknown[]] ? Tensor : Tensor | UniqueTuple)
    : (A extends [Asked, ...unknown[]] | [unknown, Asked, ...unknown[]] ? UniqueTuple
      : A extends [NotAsked?, NotAsked?, ...unknown[]] ? Tensor : Tensor | UniqueTuple);

/** A Python slice start:stop:step for index(); null bounds are omitted ones. */
export interface SliceIndex {
  readonly start: number | null;
  readonly stop: number | null;
  readonly step: number | null;
}
/** Python's start:stop:step, for t.index(): Slice(1) is 1:, Slice(null, -1) is :-1, Slice(null, null, 2) is ::2. */
export function Slice(start: number | null = null, stop: number | null = null, step: number | null = null): SliceIndex {
  return Object.freeze({ start, stop, step });
}
/**
 * One index of t.index(...), as in Python's t[...]: an integer, null (None: a new axis of size
 * 1), '...' (Ellipsis), a slice (Slice(start, stop, step) or a string as Python writes it:
 * ':', '1:', ':-1', '::2', '1:7:3'), a boolean, or a Tensor of int64 indices or a bool mask
 * (advanced indexing, with Python's rules for where the new dimensions go), or a list of
 * integers or booleans as Python's x[:, [-1]] or x[[0, 2]] (taken as such a tensor).
 */
export type Index = number | null | boolean | string | SliceIndex | Tensor | IndexList;
type IndexList = (number | boolean | IndexList)[];

const SLICE = /^\s*(-?\d+)?\s*:\s*(-?\d+)?\s*(?::\s*(-?\d+)?\s*)?$/;
// Indices cross into C++ as 4 numbers each in one reused Float64Array (one crossing, no JS
// objects to walk there): [kind, a, b, c]; kinds as in native/shape.cc, NaN for an omitted bound.
const enum Ix { Int = 0, None = 1, Ellipsis = 2, Slice = 3, Bool = 4, Tensor = 5 }
let ixBuf = new Float64Array(4 * 16);
// Slices written as strings are parsed once: an indexing loop meets the same few again and again.
const parsedSlices = new Map<string, [number, number, number]>();
function parseSlice(ix: string, k: number): [number, number, number] {
  let p = parsedSlices.get(ix);
  if (p) return p;
  const m = SLICE.exec(ix);
  if (!m) throw new Error(`index: position ${k} is '${ix}'; a string index is '...' or a slice such as ':', '1:', ':-1', '::2'`);
  const n = (x?: string) => (x === undefined ? NaN : Number(x));
  p = [n(m[1]), n(m[2]), n(m[3])];
  if (p[2] === 0) throw new Error(`index: position ${k} is a slice with step 0`);
  if (parsedSlices.size < 1024) parsedSlices.set(ix, p);
  return p;
}
function encodeIndices(ixs: Index[]): Float64Array {
  if (ixs.length * 4 > ixBuf.length) ixBuf = new Float64Array(ixs.length * 8);
  const b = ixBuf;
  for (let k = 0; k < ixs.length; k++) {
    const ix = ixs[k], o = 4 * k;
    if (typeof ix === 'number') {
      if (!Number.isInteger(ix)) throw new Error(`index: position ${k} is ${ix}; integer indices must be whole numbers`);
      b[o] = Ix.Int; b[o + 1] = ix;
    } else if (ix === null) {
      b[o] = Ix.None;
    } else if (typeof ix === 'string') {
      if (ix === '...') b[o] = Ix.Ellipsis;
      else {
        const [start, stop, step] = parseSlice(ix, k);
        b[o] = Ix.Slice; b[o + 1] = start; b[o + 2] = stop; b[o + 3] = step;
      }
    } else if (typeof ix === 'boolean') {
      b[o] = Ix.Bool; b[o + 1] = ix ? 1 : 0;
    } else if (ix instanceof Tensor) {
      b[o] = Ix.Tensor; b[o + 1] = id(ix);
    } else if (typeof ix === 'object' && 'start' in ix && 'stop' in ix && 'step' in ix) {
      for (const bound of [ix.start, ix.stop, ix.step]) {
        if (bound !== null && !Number.isInteger(bound)) throw new Error(`index: position ${k} is a slice with bound ${bound}; slice bounds are integers or null`);
      }
      if (ix.step === 0) throw new Error(`index: position ${k} is a slice with step 0`);
      b[o] = Ix.Slice; b[o + 1] = ix.start ?? NaN; b[o + 2] = ix.stop ?? NaN; b[o + 3] = ix.step ?? NaN;
    } else {
      throw new Error(`index: position ${k} is not an index (${String(ix)}); use a number, null, '...', a slice, a boolean or a Tensor`);
    }
  }
  return b;
}

/** fn with the lists among indices as tensors (int64 positions, or a bool mask), freed after. */
function withListIndices<R>(indices: Index[], fn: (ixs: Index[]) => R): R {
  const made: Tensor[] = [];
  try {
    const ixs = indices.map((ix, k) => {
      if (!Array.isArray(ix)) return ix;
      const t = tensorFromData(ix as number[], ix.length === 0 ? { dtype: 'int64' } : {});
      made.push(t);
      if (t.dtype !== 'int64' && t.dtype !== 'bool') throw new Error(`index: position ${k} is a list of ${t.dtype} values; a list index holds integers or booleans`);
      return t;
    });
    return fn(ixs);
  } finally {
    for (const t of made) t.dispose();
  }
}

// Callbacks run once when the next backward pass ends (autograd's queue_callback): how
// DistributedDataParallel finishes its gradient all-reduce before backward() returns.
let backwardCallbacks: (() => void)[] = [];
/** Runs fn once after the next backward pass (Tensor.backward or autograd.backward) has finished. */
export function _queueBackwardCallback(fn: () => void): void {
  backwardCallbacks.push(fn);
}
/** Sizes (or dims) given as one array, or one number at a time as PyTorch takes them; anything else says so. */
function sizesOf(name: string, first: number | number[] | Record<string, unknown>, more: unknown[], key: string): number[] {
  // (or by name, as Python's x.reshape(shape=(2, 3)): { shape: [2, 3] })
  if (isKeywords(first) && more.length === 0) {
    const given = named<Record<string, unknown>>(name, [first], [key])[key];
    if (given === undefined || given === null) throw new Error(`Tensor.${name}: give ${key} (${name}({ ${key}: [2, 3] }), or the sizes themselves)`);
    first = given as number | number[];
  }
  if (Array.isArray(first)) {
    if (more.length) throw new Error(`${name}: give the sizes as one array ([2, 3]) or as numbers (2, 3), not both`);
    return first;
  }
  if (typeof first !== 'number' || more.some((m) => typeof m !== 'number')) throw new Error(`${name}: expected the sizes as one array ([2, 3]) or as numbers (2, 3), got ${[first, ...more].map((v) => v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : JSON.stringify(v)).join(', ')}`);
  return [first, ...(more as number[])];
}

// Options of methods that also take PyTorch's positional arguments (lib/tensor/options.ts).
const NEW_TENSOR_KEYS = ['dtype', 'device', 'requiresGrad'];
type NewTensorOptions = { dtype?: DType; device?: Device; requiresGrad?: boolean };
type NewShapeArgs = [shape: Shape | (NewTensorOptions & { size: Shape }), opts?: NewTensorOptions] | [...sizes: number[]] | [...sizes: number[], opts: NewTensorOptions];
/** new_zeros' / new_ones' / new_empty's shape and options from any of their forms, with the value to fill in. */
function newShape(name: string, args: unknown[], value: number): [Shape, number, NewTensorOptions] {
  let opts: Record<string, unknown> = {};
  if (args.length > 1 && isKeywords(args[args.length - 1])) opts = args.pop() as Record<string, unknown>;
  else if (args.length === 1 && isKeywords(args[0])) ({ size: args[0], ...opts } = args[0]);
  return [sizesOf(name, args[0] as number[], args.slice(1), 'size'), value, keywordOptions(`Tensor.${name}`, opts, NEW_TENSOR_KEYS)];
}
type BackwardOptions = { gradient?: Tensor | null; retainGraph?: boolean | null; createGraph?: boolean; inputs?: null };
type CloseOptions = { rtol?: number; atol?: number; equalNan?: boolean };
type CloseArgs = [opts?: CloseOptions] | [rtol?: number, atol?: number, equalNan?: boolean];
const CLOSE_KEYS = ['rtol', 'atol', 'equalNan'];
type QuantileOptions = { keepdim?: boolean; interpolation?: 'linear' | 'lower' | 'higher' | 'midpoint' | 'nearest' };
type QuantileArgs = [opts?: QuantileOptions] | [keepdim?: boolean];
/** quantile's dim given by name with its options ({ dim: 1, keepdim: true }): the dim, and the rest as the options. */
function dimOutOf(o: Record<string, unknown>, args: unknown[]): [number | null, QuantileArgs] {
  if (args.length) throw new Error('quantile: an options object goes last, after the positional arguments');
  const { dim = null, ...rest } = o;
  if (dim !== null && typeof dim !== 'number') throw new Error(`quantile: dim must be a number or null, got ${JSON.stringify(dim)}`);
  return [dim as number | null, [rest as QuantileOptions]];
}
type VarianceOptions = { correction?: number; unbiased?: boolean; keepdim?: boolean };
type VarianceArgs = [opts?: VarianceOptions] | [unbiased?: boolean, keepdim?: boolean];

/** An options object standing for Python's keywords (not an array, a tensor or null). */
function isKeywords(v: unknown): v is Record<string, unknown> {
  // (what optionsOf takes for keywords: a typed array or a Map taken here would go round and round)
  return isOptionsObject(v);
}
/**
 * A method's arguments as Python takes them: by position, then (from any place on) by name in an
 * options object, x.sum({ dim: 0 }), x.sum(0, { keepdim: true }), x.clamp({ min: 0 }). Methods
 * call it only when an argument is an options object: the positional call costs nothing more.
 */
function named<O>(name: string, args: unknown[], keys: string[], extra?: string[]): O {
  return optionsOf<O & object>(`Tensor.${name}`, args, keys, extra ? { extra } : undefined);
}
/** An optional number argument by position or in an options object ({ key }): x.tril({ diagonal: 1 }). */
function numberOr(name: string, v: unknown, key: string): number | undefined {
  if (v === undefined || v === null || typeof v === 'number') return v ?? undefined;
  const n = named<Record<string, unknown>>(name, [v], [key])[key];
  if (n !== undefined && n !== null && typeof n !== 'number') throw new Error(`Tensor.${name}: ${key} must be a number, got ${typeof n}`);
  return (n ?? undefined) as number | undefined;
}
/** A scale (add's alpha, addcmul's value) by position or by name ({ alpha: 2 }); 1 when not given. */
const scaleOf = (name: string, v: unknown, key: string): number => numberOr(name, v, key) ?? 1;
/** gather's and indexSelect's (dim, index), by position or by name. */
function dimAndIndex(name: string, dim: unknown, index: unknown): { dim: number; index: Tensor } {
  const o = named<{ dim?: number; index?: Tensor }>(name, [dim, index], ['dim', 'index']);
  if (typeof o.dim !== 'number' || !(o.index instanceof Tensor)) throw new Error(`Tensor.${name}: give dim (a number) and index (a tensor): ${name}(1, index) or ${name}({ dim: 1, index })`);
  return { dim: o.dim, index: o.index };
}
/** A method's required numbers given all by name (x.narrow({ dim: 1, start: 0, length: 2 })), each checked to be there. */
function requiredNumbers<K extends string>(name: string, o: unknown, keys: K[]): Record<K, number> {
  const given = named<Record<string, unknown>>(name, [o], keys);
  const missing = keys.filter((k) => typeof given[k] !== 'number');
  if (missing.length) throw new Error(`Tensor.${name}: give ${missing.join(' and ')} (numbers), by position or by name: ${name}({ ${keys.join(', ')} })`);
  return given as Record<K, number>;
}
/** A required dim by position or as { dim }. */
function dimOf(name: string, dim: number | { dim: number }): number {
  if (typeof dim === 'number') return dim;
  const d = isKeywords(dim) ? named<{ dim?: number }>(name, [dim], ['dim']).dim : dim;
  if (typeof d !== 'number') throw new Error(`Tensor.${name}: give dim, a number (${name}(dim) or ${name}({ dim }))`);
  return d;
}
/** softmax / logSoftmax with a dtype (the input cast first) or dim by name. */
function softmaxLike(x: Tensor, name: 'softmax' | 'logSoftmax', dim: number | { dim: number; dtype?: DType }, opts?: { dtype?: DType }): Tensor {
  const o = named<{ dim?: number; dtype?: DType }>(name, opts === undefined ? [dim] : [dim, opts], ['dim', 'dtype']);
  if (typeof o.dim !== 'number') throw new Error(`Tensor.${name}: give dim, a number (${name}(dim) or ${name}({ dim }); PyTorch's implicit dim is deprecated)`);
  if (o.dtype === undefined || o.dtype === null || o.dtype === x.dtype) return x[name](o.dim);
  const cast = x.to(o.dtype);
  try {
    return cast[name](o.dim);
  } finally {
    cast.dispose();
  }
}
type Keepdim = boolean | { keepdim?: boolean };
type DimKeywords<D> = { dim?: D | null; keepdim?: boolean };
/** A reduction's (dim, keepdim) when either came as Python's keywords. */
function dimKeywords<D>(name: string, dim: unknown, keepdim: unknown): DimKeywords<D> {
  return named<DimKeywords<D>>(name, [dim, keepdim], ['dim', 'keepdim']);
}
/** sum's, mean's, prod's and nansum's keywords: also dtype (the input cast to it first, as PyTorch's). */
type SumKeywords<D> = DimKeywords<D> & { dtype?: DType | null };
/** sum / mean / prod / nansum called with Python's keywords: the positional call, on the input cast to dtype first when one is given. */
function reduceByName(x: Tensor, name: 'sum' | 'mean' | 'prod' | 'nansum', dim: unknown, keepdim: unknown): Tensor {
  const o = named<SumKeywords<Dims>>(name, [dim, keepdim], ['dim', 'keepdim'], ['dtype']);
  const run = (t: Tensor) => (t[name] as (d: Dims | null, k: boolean) => Tensor)(o.dim ?? null, o.keepdim ?? false);
  return o.dtype != null && o.dtype !== x.dtype ? castThen(x, o.dtype, run) : run(x);
}
/** f on x cast to dtype (freed after). */
function castThen(x: Tensor, dtype: DType, f: (c: Tensor) => Tensor): Tensor {
  const c = x.to(dtype);
  try {
    return f(c);
  } finally {
    c.dispose();
  }
}

/** var / std (and their mean forms): PyTorch's (dim, unbiased, keepdim), (unbiased) alone, or (dim, { correction | unbiased, keepdim }). */
function varianceArgs(name: string, dim: Dims | boolean | null | undefined | VarianceOptions & { dim?: Dims | null }, args: unknown[]): { dims: number[] | null; correction: number; keepdim: boolean } {
  if (isKeywords(dim)) {
    // (x.std({ dim: 1, correction: 0 }): Python's keywords from dim on)
    if (args.some((a) => a !== undefined)) throw new Error(`${name}: an options object goes last, after the positional arguments`);
    const { dim: d, ...rest } = optionsOf<VarianceOptions & { dim?: Dims | null }>(name, [dim], ['dim', 'unbiased', 'keepdim'], { extra: ['correction'] });
    return varianceArgs(name, d ?? null, [rest]);
  }
  if (typeof dim === 'boolean') {
    if (args.some((a) => a !== undefined)) throw new Error(`${name}: with unbiased first (over every element) it takes nothing more; for dims: ${name}(dim, unbiased, keepdim)`);
    return { dims: null, correction: dim ? 1 : 0, keepdim: false };
  }
  const o = optionsOf<VarianceOptions>(name, args, ['unbiased', 'keepdim'], { extra: ['correction'] });
  if (o.correction != null && o.unbiased != null) throw new Error(`${name}: give correction or unbiased, not both`);
  return { dims: dim == null ? null : dimList(dim), correction: o.correction ?? (o.unbiased === false ? 0 : 1), keepdim: o.keepdim ?? false };
}

/** Runs a backward pass, then the queued callbacks (dropped if the pass fails). */
export function _afterBackward(run: () => void): void {
  try {
    run();
  } catch (e) {
    backwardCallbacks = [];
    throw e;
  }
  const fns = backwardCallbacks;
  backwardCallbacks = [];
  for (const fn of fns) fn();
}

export class Tensor {
  /** @internal handle into the native table; -1 once freed */
  declare _id: number;
  /** @internal owned elsewhere (parameter, optimizer state): no tidy() frees it */
  declare _kept: boolean;

  /** @internal use torch.tensor() and the factory functions */
  constructor(handle: number) {
    // Plain assignments (not class-field definitions) keep construction on V8's fast path.
    this._id = handle;
    this._kept = false;
    track(this);
  }

  // ---------- metadata ----------
  get shape(): Shape {
    return native.shape(id(this));
  }
  /** PyTorch's x.size(): the shape; x.size(dim): that dim's length (negative dims from the end). */
  size(): Shape;
  size(dim: number): number;
  size(dim?: number): number | Shape {
    const s = this.shape;
    if (dim === undefined) return s;
    const d = dim < 0 ? s.length + dim : dim;
    if (!Number.isInteger(dim) || d < 0 || d >= s.length) throw new Error(`Tensor.size: dimension out of range (expected to be in range of [${-s.length}, ${s.length - 1}], but got ${dim})`);
    return s[d];
  }
  get ndim(): number {
    return native.dim(id(this));
  }
  dim(): number {
    return native.dim(id(this));
  }
  get dtype(): DType {
    return dtypeName(native.dtype(id(this)));
  }
  get device(): Device {
    return deviceName(native.device(id(this)));
  }
  get isCuda(): boolean {
    return native.device(id(this)) >= 0;
  }
  /** On the meta device: a shape and a dtype, no memory (PyTorch's is_meta, which Hugging Face's loading checks). */
  get isMeta(): boolean { return native.device(id(this)) === -2; }
  // PyTorch's is_quantized, is_nested, is_mkldnn, is_mps: tensors of those kinds and devices are
  // not offered here, so false (code that checks them reads the right answer)
  get isQuantized(): boolean { return false; }
  get isNested(): boolean { return false; }
  get isMkldnn(): boolean { return false; }
  get isMps(): boolean { return false; }
  numel(): number {
    return native.numel(id(this));
  }
  /** Whether the elements lie densely in the order of memoryFormat ('contiguousFormat': row-major). */
  isContiguous(memoryFormat: MemoryFormat = 'contiguousFormat'): boolean {
    return native.isContiguous(id(this), memoryFormatCode(memoryFormat));
  }
  /** Steps in memory (in elements) from one index to the next, per dim (or of one dim). */
  stride(): number[];
  stride(dim: number): number;
  stride(dim?: number): number | number[] {
    const s: number[] = native.stride(id(this));
    if (dim === undefined) return s;
    return s[dim < 0 ? s.length + dim : dim];
  }
  /** Where this tensor starts in its storage, in elements. */
  storageOffset(): number {
    return native.storageOffset(id(this));
  }
  // ---------- sparse (COO) ----------
  /** 'strided' (dense), 'sparse_coo', 'sparse_csr', ... (PyTorch's torch.layout names). */
  get layout(): string {
    return native.layout(id(this));
  }
  get isSparse(): boolean {
    return this.layout === 'sparse_coo';
  }
  /** A sparse COO copy of this dense tensor (sparseDim: how many leading dims are sparse; all by default). */
  toSparse(sparseDim?: number): Tensor { return wrap(native.toSparse(id(this), sparseDim ?? null)); }
  /** The compressed-sparse-row form of a 2-D tensor (crowIndices, colIndices, values). */
  toSparseCsr(): Tensor { return wrap(native.toSparseCsr(id(this))); }
  /** A CSR tensor's row pointers (rows + 1: where each row's values start). */
  crowIndices(): Tensor { return wrap(native.crowIndices(id(this))); }
  /** A CSR tensor's column of each stored value. */
  colIndices(): Tensor { return wrap(native.colIndices(id(this))); }
  get isSparseCsr(): boolean {
    return this.layout === 'sparse_csr';
  }
  /** The compressed-sparse-column form of a 2-D tensor (ccolIndices, rowIndices, values). */
  toSparseCsc(): Tensor { return wrap(native.toSparseCsc(id(this))); }
  /** The block-sparse-row form: blocks of blocksize [rows, cols] (each dim divisible by it); crowIndices / colIndices index the blocks. */
  toSparseBsr(blocksize: [number, number]): Tensor { return wrap(native.toSparseBsr(id(this), blockSize('toSparseBsr', blocksize))); }
  /** The block-sparse-column form (ccolIndices / rowIndices index the blocks). */
  toSparseBsc(blocksize: [number, number]): Tensor { return wrap(native.toSparseBsc(id(this), blockSize('toSparseBsc', blocksize))); }
  /** A CSC (or BSC) tensor's column pointers (columns + 1: where each column's values start). */
  ccolIndices(): Tensor { return wrap(native.ccolIndices(id(this))); }
  /** A CSC (or BSC) tensor's row of each stored value (block). */
  rowIndices(): Tensor { return wrap(native.rowIndices(id(this))); }
  /** The dense tensor a sparse one stands for (a dense one: itself). */
  toDense(): Tensor { return wrap(native.toDense(id(this))); }
  /** Duplicate indices summed and sorted (what indices() / values() need). */
  coalesce(): Tensor { return wrap(native.coalesce(id(this))); }
  isCoalesced(): boolean { return native.isCoalesced(id(this)); }
  /** The (sparseDim, nnz) indices of a coalesced sparse tensor; raw: also of an uncoalesced one, as stored. */
  indices(opts: { raw?: boolean } = {}): Tensor { return wrap(native.sparseIndices(id(this), keywordOptions('Tensor.indices', opts, ['raw']).raw ?? false)); }
  /** The nnz values (x denseDim dims) of a coalesced sparse tensor; raw: as stored. */
  values(opts: { raw?: boolean } = {}): Tensor { return wrap(native.sparseValues(id(this), keywordOptions('Tensor.values', opts, ['raw']).raw ?? false)); }
  /** This dense tensor's values at the indices of a sparse `mask`, as a sparse tensor. */
  sparseMask(mask: Tensor): Tensor { return wrap(native.sparseMask(id(this), id(mask))); }
  /** The number of stored values (PyTorch's _nnz()). */
  nnz(): number { return native.nnz(id(this)); }
  sparseDim(): number { return native.sparseDim(id(this)); }
  denseDim(): number { return native.denseDim(id(this)); }

  isFloatingPoint(): boolean {
    return isFloatingDtype(this.dtype);
  }
  isComplex(): boolean {
    return isComplexDtype(this.dtype);
  }

  // ---------- complex numbers ----------
  /** The real part: a view for complex tensors (writes through), the tensor itself otherwise. */
  get real(): Tensor {
    return wrap(native.real(id(this)));
  }
  /** The imaginary part as a view; complex tensors only (as PyTorch). */
  get imag(): Tensor {
    return wrap(native.imag(id(this)));
  }
  /** The complex conjugate, lazily: a view with the conjugate bit set (resolveConj() materializes it). */
  conj(): Tensor { return wrap(native.conj(id(this))); }
  /** The conjugate computed into new memory. */
  conjPhysical(): Tensor { return wrap(native.conjPhysical(id(this))); }
  resolveConj(): Tensor { return wrap(native.resolveConj(id(this))); }
  resolveNeg(): Tensor { return wrap(native.resolveNeg(id(this))); }
  isConj(): boolean { return native.isConj(id(this)); }
  /** The argument (phase) of each element, in radians; 0 or pi for real tensors. */
  angle(): Tensor { return wrap(native.angle(id(this))); }
  get isDisposed(): boolean {
    return this._id < 0;
  }

  // ---------- memory ----------
  dispose(): void {
    disposeHandle(this);
  }
  [Symbol.dispose](): void {
    this.dispose();
  }
  /** Keeps this tensor alive past the enclosing tidy() scopes. */
  keep(): this {
    return keepHandle(this);
  }

  // ---------- data out ----------
  /**
   * Two things, as a call and as a tensor. `x.data()`: a typed-array copy (float16/bfloat16 as
   * Float32Array, bool as Uint8Array, int64 as BigInt64Array; complex64 / complex128 as Float32Array
   * / Float64Array of interleaved real and imaginary parts, twice numel() long, as
   * torch.viewAsReal lays them out). `x.data.fill_(0)`, `x.data.copy_(y)`, `p.data.clamp_(-c, c)`:
   * PyTorch's x.data, the same memory outside autograd. `p.data = y`: p takes y's data, dtype and
   * device, keeping its identity (optimizers and modules still hold it), as PyTorch's.
   */
  get data(): TensorDataAccess {
    const self = this;
    let alias: Tensor | null = null;
    const tensor = () => (alias ??= wrap(native.variableData(id(self))));
    // The alias is a handle of its own: one made for a property read or a method call
    // (p.data.fill_(0.01), outside any tidy()) is freed at once, or it would hold the storage
    // after p is disposed. (One made for passing p.data to an op lives in the scope.)
    const release = <T>(v: T): T => {
      alias?.dispose();
      alias = null;
      return v;
    };
    const read = () => native.data(id(self));
    // (console.log looks through a Proxy at its target: print the tensor, as print(p.data) does)
    Object.defineProperty(read, INSPECT, { value: () => release(tensor()[INSPECT]()) });
    const access: TensorDataAccess = new Proxy(read, {
      apply: () => native.data(id(self)),
      get: (target, key) => {
        if (key === 'call' || key === 'apply' || key === 'bind') return Reflect.get(target, key);
        if (key === '_id' || key === '_kept') return tensor()[key]; // (p.data given to an op)
        const t = tensor(), v = Reflect.get(t, key, t);
        if (typeof v !== 'function') return release(v);
        // an in-place method gives back p.data itself (to chain on), not the alias it ran on
        return (...args: unknown[]) => {
          const ran = tensor(), r = (v as (...a: unknown[]) => unknown).apply(ran, args);
          release(null);
          return r === ran ? access : r;
        };
      },
      set: (_, key, value) => release(Reflect.set(tensor(), key, value)),
      has: (_, key) => release(key in tensor()),
      getPrototypeOf: () => Tensor.prototype,
    }) as unknown as TensorDataAccess;
    return access;
  }
  set data(value: Tensor) {
    if (!(value instanceof Tensor)) throw new TypeError(`Tensor.data = ...: expected a Tensor, got ${describeValue(value)}`);
    native.setData(id(this), id(value));
  }
  /** Raw bytes in this tensor's dtype, row-major (what safetensors stores). */
  bytes(): Buffer {
    return native.bytes(id(this));
  }
  /**
   * The value of a one-element tensor: a number (a boolean for a bool tensor). Typed as a number,
   * the common case (loss.item()), wherever it goes (`t.sub(v.item())` too); for a bool tensor say
   * so: x.item<boolean>().
   */
  // (NoInfer: a type taken from where the value goes, such as number | boolean for an argument typed
  // Tensor | number | boolean, would make every such call need item<number>())
  item<T extends number | boolean = number>(): NoInfer<T> {
    return native.item(id(this));
  }
  /** Nested arrays of numbers (booleans for bool tensors, { re, im } for complex ones), as Python's tolist(). */
  tolist(): unknown {
    const flat = native.doubles(id(this)) as Float64Array;
    const isBool = this.dtype === 'bool';
    const isComplex = isComplexDtype(this.dtype);
    const shape = this.shape;
    let k = 0;
    const build = (d: number): unknown => {
      if (d === shape.length) {
        if (isComplex) return { re: flat[k++], im: flat[k++] };
        const v = flat[k++];
        return isBool ? v !== 0 : v;
      }
      const out: unknown[] = new Array(shape[d]);
      for (let i = 0; i < shape[d]; i++) out[i] = build(d + 1);
      return out;
    };
    return build(0);
  }
  /** PyTorch's repr: `tensor([[1., 2.]], requires_grad=True)` (large tensors summarized; torch.setPrintOptions). */
  toString(): string {
    return this._id < 0 ? 'tensor(<disposed>)' : formatTensor(this);
  }
  /** What console.log and util.inspect show. */
  [INSPECT](): string {
    return this.toString();
  }

  // ---------- conversion ----------
  /**
   * PyTorch's Tensor.to. nonBlocking (non_blocking=True): a copy from pinned host memory to a
   * GPU is queued without waiting for the device. From a GPU to the CPU it is queued into pinned
   * memory too, and, as in PyTorch, its values are there only after torch.cuda.synchronize().
   */
  to(...args: ToArgs): Tensor {
    const { dtype, device, memoryFormat, copy = false, nonBlocking = false } = conversionOf('Tensor.to', args);
    return wrap(native.to(id(this), dtype ? dtypeCode(dtype) : -1, device == null ? null : deviceCode(device), copy, nonBlocking, memoryFormatCode(memoryFormat)));
  }
  /** A copy in page-locked host memory (PyTorch's pin_memory): needs a CUDA build and device. */
  pinMemory(): Tensor {
    if (!this.device.startsWith('cpu')) throw new Error(`pinMemory: only CPU tensors can be pinned, this one is on ${this.device}`);
    if (!native.cudaIsAvailable()) throw new Error('pinMemory: page-locked memory needs CUDA, and this build or machine has none');
    return wrap(native.pinMemory(id(this)));
  }
  isPinned(): boolean {
    return native.isPinned(id(this));
  }
  cpu(): Tensor {
    return this.to({ device: 'cpu' });
  }
  cuda(index = 0): Tensor {
    return this.to({ device: `cuda:${index}` });
  }
  float(): Tensor {
    return this.to({ dtype: 'float32' });
  }
  double(): Tensor {
    return this.to({ dtype: 'float64' });
  }
  long(): Tensor {
    return this.to({ dtype: 'int64' });
  }
  half(): Tensor {
    return this.to({ dtype: 'float16' });
  }
  bfloat16(): Tensor {
    return this.to({ dtype: 'bfloat16' });
  }
  bool(): Tensor {
    return this.to({ dtype: 'bool' });
  }
  /** This tensor if its elements already lie as memoryFormat says (row-major by default), else a copy that does. */
  contiguous(memoryFormat: MemoryFormat = 'contiguousFormat'): Tensor {
    return wrap(native.contiguous(id(this), memoryFormatCode(memoryFormat)));
  }
  clone(): Tensor {
    return wrap(native.clone(id(this)));
  }

  // ---------- autograd ----------
  get requiresGrad(): boolean {
    return native.requiresGrad(id(this));
  }
  set requiresGrad(v: boolean) {
    native.setRequiresGrad(id(this), v);
  }
  requiresGrad_(v = true): this {
    native.setRequiresGrad(id(this), v);
    return this;
  }
  /** Made in inference mode (torch.inferenceMode): usable anywhere except saved for a backward. */
  isInference(): boolean {
    return native.isInference(id(this));
  }
  get isLeaf(): boolean {
    return native.isLeaf(id(this));
  }
  /** PyTorch's x._version: how many in-place writes this tensor's memory has seen (shared by its views). */
  get _version(): number {
    return native.version(id(this));
  }
  /** PyTorch's x._is_view(): whether this tensor was made as a view of another. */
  _isView(): boolean {
    return native.isView(id(this));
  }
  /** PyTorch's x._base: the tensor this one is a view of (the first non-view), or null. */
  get _base(): Tensor | null {
    const h = native.viewBase(id(this));
    return h === null ? null : wrap(h);
  }
  /** The accumulated gradient, or null. Each read returns a new handle to the same memory. */
  get grad(): Tensor | null {
    const h = native.grad(id(this));
    return h < 0 ? null : wrap(h);
  }
  set grad(g: Tensor | null) {
    if (g) {
      // As PyTorch: a gradient must match its tensor in dtype, shape and device.
      if (g.dtype !== this.dtype) throw new Error(`assigned grad has dtype ${g.dtype}, the tensor ${this.dtype}`);
      const a = g.shape, b = this.shape;
      if (a.length !== b.length || a.some((d, i) => d !== b[i])) throw new Error(`assigned grad has shape [${a}], the tensor [${b}]`);
      if (g.device !== this.device) throw new Error(`assigned grad is on ${g.device}, the tensor on ${this.device}`);
    }
    native.setGrad(id(this), g ? id(g) : -1);
  }
  retainGrad(): this {
    native.retainGrad(id(this));
    return this;
  }
  /**
   * Tensor.register_hook: hook(grad) runs when this tensor's gradient is computed, and may
   * return a replacement (same shape, dtype and device). Returns a handle whose remove() undoes it.
   * Hooks run on the JS thread during backward (CPU graphs; not on libtorch's CUDA threads).
   */
  registerHook(hook: (grad: Tensor) => Tensor | void | null | undefined): RemovableHandle {
    return registerTensorHook(this, hook);
  }
  backward(gradient?: Tensor | null | BackwardOptions, ...args: [opts?: BackwardOptions] | [retainGraph?: boolean | null, createGraph?: boolean, inputs?: null]): void {
    // (loss.backward({ retainGraph: true }): Python's keywords from the gradient on; loss.backward() reads nothing)
    const opts: BackwardOptions = args.length === 0 && (gradient == null || gradient instanceof Tensor) ? { gradient }
      : optionsOf<BackwardOptions>('backward', [gradient, ...args], ['gradient', 'retainGraph', 'createGraph', 'inputs'], { fixed: { inputs: null } });
    const create = opts.createGraph ?? false;
    const g = opts.gradient;
    _afterBackward(() => native.backward(id(this), g ? id(g) : -1, opts.retainGraph ?? create, create));
  }
  detach(): Tensor {
    return wrap(native.detach(id(this)));
  }

  // ---------- elementwise ----------
  /** this + alpha·other; alpha by position or by name (x.add(y, { alpha: 2 })). */
  add(other: TensorLike, alpha: number | { alpha?: number } = 1): Tensor {
    if (typeof alpha !== 'number') alpha = scaleOf('add', alpha, 'alpha');
    if (typeof other === 'number') return wrap(native.addScalar(id(this), other, alpha));
    return wrap(alpha === 1 ? native.add(id(this), id(other)) : native.add(id(this), id(other), alpha));
  }
  sub(other: TensorLike, alpha: number | { alpha?: number } = 1): Tensor {
    if (typeof alpha !== 'number') alpha = scaleOf('sub', alpha, 'alpha');
    return wrap(typeof other === 'number' ? native.subScalar(id(this), other, alpha) : native.sub(id(this), id(other), alpha));
  }
  /** other - this, for a scalar other (Python's `2 - x`). */
  rsub(other: number): Tensor {
    return wrap(native.rsubScalar(id(this), other));
  }
  mul(other: TensorLike): Tensor {
    return wrap(typeof other === 'number' ? native.mulScalar(id(this), other) : native.mul(id(this), id(other)));
  }
  /** Division; roundingMode 'floor' is Python's //, 'trunc' rounds toward zero (C's integer division). */
  div(other: TensorLike, opts?: { roundingMode?: 'floor' | 'trunc' | null }): Tensor {
    const mode = opts === undefined ? null : keywordOptions('div', opts, ['roundingMode']).roundingMode ?? null;
    if (mode !== null) {
      if (mode !== 'floor' && mode !== 'trunc') throw new Error(`div: roundingMode must be 'floor', 'trunc' or null, got '${mode}'`);
      return wrap(typeof other === 'number' ? native.divScalarMode(id(this), other, mode) : native.divMode(id(this), id(other), mode));
    }
    return wrap(typeof other === 'number' ? native.divScalar(id(this), other) : native.div(id(this), id(other)));
  }
  /** Python's a // b (torch.floor_divide). */
  floorDivide(other: TensorLike): Tensor { return this.div(other, { roundingMode: 'floor' }); }
  /** C's fmod: the remainder has the sign of the dividend (remainder() has the divisor's, as Python's %). */
  fmod(other: TensorLike): Tensor {
    return wrap(typeof other === 'number' ? native.fmodScalar(id(this), other) : native.fmod(id(this), id(other)));
  }
  atan2(other: Tensor): Tensor { return wrap(native.atan2(id(this), id(other))); }
  hypot(other: Tensor): Tensor { return wrap(native.hypot(id(this), id(other))); }
  /** this * log(other), 0 where this is 0. */
  xlogy(other: Tensor): Tensor { return wrap(native.xlogy(id(this), id(other))); }
  /** this + weight * (end - this) */
  lerp(end: Tensor, weight: TensorLike): Tensor {
    return wrap(typeof weight === 'number' ? native.lerp(id(this), id(end), weight) : native.lerpTensor(id(this), id(end), id(weight)));
  }
  pow(exponent: TensorLike): Tensor {
    return wrap(typeof exponent === 'number' ? native.powScalar(id(this), exponent) : native.pow(id(this), id(exponent)));
  }
  remainder(other: TensorLike): Tensor {
    return wrap(typeof other === 'number' ? native.remainderScalar(id(this), other) : native.remainder(id(this), id(other)));
  }
  maximum(other: Tensor): Tensor {
    return wrap(native.maximum(id(this), id(other)));
  }
  minimum(other: Tensor): Tensor {
    return wrap(native.minimum(id(this), id(other)));
  }
  neg(): Tensor { return wrap(native.neg(id(this))); }
  abs(): Tensor { return wrap(native.abs(id(this))); }
  exp(): Tensor { return wrap(native.exp(id(this))); }
  log(): Tensor { return wrap(native.log(id(this))); }
  log1p(): Tensor { return wrap(native.log1p(id(this))); }
  sqrt(): Tensor { return wrap(native.sqrt(id(this))); }
  rsqrt(): Tensor { return wrap(native.rsqrt(id(this))); }
  sin(): Tensor { return wrap(native.sin(id(this))); }
  cos(): Tensor { return wrap(native.cos(id(this))); }
  tanh(): Tensor { return wrap(native.tanh(id(this))); }
  sigmoid(): Tensor { return wrap(native.sigmoid(id(this))); }
  relu(): Tensor { return wrap(native.relu(id(this))); }
  erf(): Tensor { return wrap(native.erf(id(this))); }
  reciprocal(): Tensor { return wrap(native.reciprocal(id(this))); }
  square(): Tensor { return wrap(native.square(id(this))); }
  sign(): Tensor { return wrap(native.sign(id(this))); }
  floor(): Tensor { return wrap(native.floor(id(this))); }
  ceil(): Tensor { return wrap(native.ceil(id(this))); }
  round(): Tensor { return wrap(native.round(id(this))); }
  logicalNot(): Tensor { return wrap(native.logicalNot(id(this))); }
  isnan(): Tensor { return wrap(native.isnan(id(this))); }
  isfinite(): Tensor { return wrap(native.isfinite(id(this))); }
  isinf(): Tensor { return wrap(native.isinf(id(this))); }
  tan(): Tensor { return wrap(native.tan(id(this))); }
  asin(): Tensor { return wrap(native.asin(id(this))); }
  acos(): Tensor { return wrap(native.acos(id(this))); }
  atan(): Tensor { return wrap(native.atan(id(this))); }
  sinh(): Tensor { return wrap(native.sinh(id(this))); }
  cosh(): Tensor { return wrap(native.cosh(id(this))); }
  asinh(): Tensor { return wrap(native.asinh(id(this))); }
  acosh(): Tensor { return wrap(native.acosh(id(this))); }
  atanh(): Tensor { return wrap(native.atanh(id(this))); }
  expm1(): Tensor { return wrap(native.expm1(id(this))); }
  exp2(): Tensor { return wrap(native.exp2(id(this))); }
  log2(): Tensor { return wrap(native.log2(id(this))); }
  log10(): Tensor { return wrap(native.log10(id(this))); }
  trunc(): Tensor { return wrap(native.trunc(id(this))); }
  frac(): Tensor { return wrap(native.frac(id(this))); }
  erfc(): Tensor { return wrap(native.erfc(id(this))); }
  erfinv(): Tensor { return wrap(native.erfinv(id(this))); }
  lgamma(): Tensor { return wrap(native.lgamma(id(this))); }
  digamma(): Tensor { return wrap(native.digamma(id(this))); }
  /** log(p / (1 - p)); with eps, p is first clamped to [eps, 1 - eps]. */
  logit(eps?: number | null | { eps?: number | null }): Tensor { return wrap(native.logit(id(this), numberOr('logit', eps, 'eps') ?? null)); }
  /** NaN to nan (0), +inf to posinf and -inf to neginf (the dtype's largest / lowest by default). */
  nanToNum(...args: [opts?: { nan?: number; posinf?: number | null; neginf?: number | null }] | [nan?: number, posinf?: number | null, neginf?: number | null]): Tensor {
    const opts = optionsOf<{ nan?: number; posinf?: number | null; neginf?: number | null }>('nanToNum', args, ['nan', 'posinf', 'neginf']);
    return wrap(native.nanToNum(id(this), opts.nan ?? 0, opts.posinf ?? null, opts.neginf ?? null));
  }

  // ---------- comparisons ----------
  eq(o: TensorLike): Tensor { return wrap(typeof o === 'number' ? native.eqScalar(id(this), o) : native.eq(id(this), id(o))); }
  ne(o: TensorLike): Tensor { return wrap(typeof o === 'number' ? native.neScalar(id(this), o) : native.ne(id(this), id(o))); }
  lt(o: TensorLike): Tensor { return wrap(typeof o === 'number' ? native.ltScalar(id(this), o) : native.lt(id(this), id(o))); }
  le(o: TensorLike): Tensor { return wrap(typeof o === 'number' ? native.leScalar(id(this), o) : native.le(id(this), id(o))); }
  gt(o: TensorLike): Tensor { return wrap(typeof o === 'number' ? native.gtScalar(id(this), o) : native.gt(id(this), id(o))); }
  ge(o: TensorLike): Tensor { return wrap(typeof o === 'number' ? native.geScalar(id(this), o) : native.ge(id(this), id(o))); }
  logicalAnd(o: Tensor): Tensor { return wrap(native.logicalAnd(id(this), id(o))); }
  logicalOr(o: Tensor): Tensor { return wrap(native.logicalOr(id(this), id(o))); }
  logicalXor(o: Tensor): Tensor { return wrap(native.logicalXor(id(this), id(o))); }
  /** |this - other| <= atol + rtol * |other|, elementwise. */
  isclose(other: Tensor, ...args: CloseArgs): Tensor {
    const opts = optionsOf<CloseOptions>('isclose', args, CLOSE_KEYS);
    return wrap(native.isclose(id(this), id(other), opts.rtol ?? 1e-5, opts.atol ?? 1e-8, opts.equalNan ?? false));
  }
  /** True when both have the same shape and the same values (torch.equal). */
  equal(other: Tensor): boolean { return native.equal(id(this), id(other)); }

  // ---------- selection ----------
  /** where(cond, this, other): this where cond is true, other elsewhere. */
  where(condition: Tensor, other: TensorLike): Tensor {
    return wrap(typeof other === 'number' ? native.whereScalar(id(condition), id(this), other) : native.where(id(condition), id(this), id(other)));
  }
  /** value where mask is true: a number, or a 0-d tensor (its gradient kept). */
  maskedFill(mask: Tensor, value: number | Tensor): Tensor {
    return wrap(typeof value === 'number' ? native.maskedFill(id(this), id(mask), value) : native.maskedFillTensor(id(this), id(mask), id(value)));
  }
  /** Values cut to [min, max] (either may be left out): numbers, or tensors broadcast against this. */
  clamp(min?: TensorLike | null | { min?: TensorLike | null; max?: TensorLike | null }, max?: TensorLike | null | { max?: TensorLike | null }): Tensor {
    if (isKeywords(min) || isKeywords(max)) ({ min, max } = named<{ min?: TensorLike | null; max?: TensorLike | null }>('clamp', [min, max], ['min', 'max']));
    if (min instanceof Tensor || max instanceof Tensor) return this.clampBy(min ?? null, max ?? null);
    return wrap(native.clamp(id(this), min ?? null, max ?? null));
  }
  /** clamp with a tensor bound (a number bound becomes a 0-d tensor of this dtype). */
  private clampBy(min: TensorLike | null, max: TensorLike | null): Tensor {
    const temps: Tensor[] = [];
    const bound = (b: TensorLike | null): number => {
      if (b === null) return -1;
      if (b instanceof Tensor) return id(b);
      const t = wrap(native.full([], b, dtypeCode(this.dtype), deviceCode(this.device)));
      temps.push(t);
      return id(t);
    };
    try {
      return wrap(native.clampTensor(id(this), bound(min), bound(max)));
    } finally {
      for (const t of temps) t.dispose();
    }
  }

  // ---------- reductions ----------
  sum(dim?: Dims | null | SumKeywords<Dims>, keepdim?: boolean | { keepdim?: boolean; dtype?: DType | null }): Tensor {
    if (isKeywords(dim) || isKeywords(keepdim)) return reduceByName(this, 'sum', dim, keepdim);
    return wrap(native.sum(id(this), dim == null ? null : dimList(dim), keepdim ?? false));
  }
  mean(dim?: Dims | null | SumKeywords<Dims>, keepdim?: boolean | { keepdim?: boolean; dtype?: DType | null }): Tensor {
    if (isKeywords(dim) || isKeywords(keepdim)) return reduceByName(this, 'mean', dim, keepdim);
    return wrap(native.mean(id(this), dim == null ? null : dimList(dim), keepdim ?? false));
  }
  prod(dim?: number | null | SumKeywords<number>, keepdim?: boolean | { keepdim?: boolean; dtype?: DType | null }): Tensor {
    if (isKeywords(dim) || isKeywords(keepdim)) return reduceByName(this, 'prod', dim, keepdim);
    return wrap(native.prod(id(this), dim ?? null, keepdim ?? false));
  }
  /** max() over everything, or {values, indices} along dim. */
  max(): Tensor;
  /** the elementwise maximum with other (torch.max(a, b)) */
  max(other: Tensor): Tensor;
  max(dim: number | { dim: number; keepdim?: boolean }, keepdim?: Keepdim): ValuesIndices;
  max(dim?: number | null | DimKeywords<number> | Tensor, keepdim?: Keepdim): Tensor | ValuesIndices {
    if (dim instanceof Tensor) return this.maximum(dim);
    if (isKeywords(dim) || isKeywords(keepdim)) ({ dim, keepdim } = dimKeywords<number>('max', dim, keepdim));
    if (dim == null) return wrap(native.maxAll(id(this)));
    const [v, i] = native.maxDim(id(this), dim, keepdim ?? false);
    return namedTuple({ values: wrap(v), indices: wrap(i) });
  }
  min(): Tensor;
  /** the elementwise minimum with other (torch.min(a, b)) */
  min(other: Tensor): Tensor;
  min(dim: number | { dim: number; keepdim?: boolean }, keepdim?: Keepdim): ValuesIndices;
  min(dim?: number | null | DimKeywords<number> | Tensor, keepdim?: Keepdim): Tensor | ValuesIndices {
    if (dim instanceof Tensor) return this.minimum(dim);
    if (isKeywords(dim) || isKeywords(keepdim)) ({ dim, keepdim } = dimKeywords<number>('min', dim, keepdim));
    if (dim == null) return wrap(native.minAll(id(this)));
    const [v, i] = native.minDim(id(this), dim, keepdim ?? false);
    return namedTuple({ values: wrap(v), indices: wrap(i) });
  }
  argmax(dim?: number | null | DimKeywords<number>, keepdim?: Keepdim): Tensor {
    if (isKeywords(dim) || isKeywords(keepdim)) ({ dim, keepdim } = dimKeywords<number>('argmax', dim, keepdim));
    return wrap(native.argmax(id(this), dim ?? null, keepdim ?? false));
  }
  argmin(dim?: number | null | DimKeywords<number>, keepdim?: Keepdim): Tensor {
    if (isKeywords(dim) || isKeywords(keepdim)) ({ dim, keepdim } = dimKeywords<number>('argmin', dim, keepdim));
    return wrap(native.argmin(id(this), dim ?? null, keepdim ?? false));
  }
  /** Variance; correction 1 (unbiased) by default, as PyTorch. */
  // (also PyTorch's positional forms: x.var(1, false, true) is dim, unbiased, keepdim; x.var(false), unbiased over all)
  var(dim?: Dims | boolean | null | VarianceOptions & { dim?: Dims | null }, ...args: VarianceArgs): Tensor {
    const v = varianceArgs('var', dim, args);
    return wrap(native.var(id(this), v.dims, v.correction, v.keepdim));
  }
  std(dim?: Dims | boolean | null | VarianceOptions & { dim?: Dims | null }, ...args: VarianceArgs): Tensor {
    const v = varianceArgs('std', dim, args);
    return wrap(native.std(id(this), v.dims, v.correction, v.keepdim));
  }
  /** The p-norm (2 by default) over dim (all by default); 'fro' is the 2-norm, 'nuc' the nuclear norm of matrices (the last two dims by default). */
  norm(p?: number | 'fro' | 'nuc' | { p?: number | 'fro' | 'nuc'; dim?: Dims | null; keepdim?: boolean }, dim?: Dims | null | DimKeywords<Dims>, keepdim?: Keepdim): Tensor {
    if (isKeywords(p) || isKeywords(dim) || isKeywords(keepdim)) ({ p, dim, keepdim } = named<{ p?: number | 'fro' | 'nuc'; dim?: Dims; keepdim?: boolean }>('norm', [p, dim, keepdim], ['p', 'dim', 'keepdim']));
    const dims = dim == null ? null : dimList(dim as Dims);
    if (p === 'nuc') return wrap(native.linalgNorm(id(this), 'nuc', dims ?? [-2, -1], keepdim ?? false));
    if (p === 'fro') p = 2;
    if (p !== undefined && p !== null && typeof p !== 'number') throw new Error(`Tensor.norm: p must be a number, 'fro' or 'nuc', got ${JSON.stringify(p)}`);
    return wrap(native.norm(id(this), p ?? 2, dims, keepdim ?? false));
  }
  logsumexp(dim: Dims | { dim: Dims; keepdim?: boolean }, keepdim?: Keepdim): Tensor {
    if (isKeywords(dim) || isKeywords(keepdim)) ({ dim, keepdim } = named<{ dim: Dims; keepdim?: boolean }>('logsumexp', [dim, keepdim], ['dim', 'keepdim']));
    if (dim == null) throw new Error('Tensor.logsumexp: give dim');
    return wrap(native.logsumexp(id(this), dimList(dim), keepdim ?? false));
  }
  all(dim?: number | null | DimKeywords<number>, keepdim?: Keepdim): Tensor {
    if (isKeywords(dim) || isKeywords(keepdim)) ({ dim, keepdim } = dimKeywords<number>('all', dim, keepdim));
    return wrap(dim == null ? native.all(id(this)) : native.allDim(id(this), dim, keepdim ?? false));
  }
  any(dim?: number | null | DimKeywords<number>, keepdim?: Keepdim): Tensor {
    if (isKeywords(dim) || isKeywords(keepdim)) ({ dim, keepdim } = dimKeywords<number>('any', dim, keepdim));
    return wrap(dim == null ? native.any(id(this)) : native.anyDim(id(this), dim, keepdim ?? false));
  }
  /** Running sums along dim; with dtype the input is cast first (x.cumsum(1, { dtype: 'float64' })). */
  cumsum(dim: number | { dim: number; dtype?: DType | null }, opts?: { dtype?: DType | null }): Tensor { return this.cumulative('cumsum', dim, opts); }
  cumprod(dim: number | { dim: number; dtype?: DType | null }, opts?: { dtype?: DType | null }): Tensor { return this.cumulative('cumprod', dim, opts); }
  private cumulative(name: 'cumsum' | 'cumprod', dim: number | { dim: number; dtype?: DType | null }, opts?: { dtype?: DType | null }): Tensor {
    if (typeof dim === 'number' && opts === undefined) return wrap(native[name](id(this), dim));
    const o = named<{ dim?: number; dtype?: DType | null }>(name, [dim, opts], ['dim', 'dtype']);
    if (typeof o.dim !== 'number') throw new Error(`Tensor.${name}: give dim, a number (${name}(dim) or ${name}({ dim }))`);
    const d = o.dim;
    if (o.dtype != null && o.dtype !== this.dtype) return castThen(this, o.dtype, (c) => wrap(native[name](id(c), d)));
    return wrap(native[name](id(this), d));
  }
  logcumsumexp(dim: number | { dim: number }): Tensor { return wrap(native.logcumsumexp(id(this), dimOf('logcumsumexp', dim))); }
  cummax(dim: number | { dim: number }): ValuesIndices {
    const [v, i] = native.cummax(id(this), dimOf('cummax', dim));
    return namedTuple({ values: wrap(v), indices: wrap(i) });
  }
  cummin(dim: number | { dim: number }): ValuesIndices {
    const [v, i] = native.cummin(id(this), dimOf('cummin', dim));
    return namedTuple({ values: wrap(v), indices: wrap(i) });
  }
  /** Largest values over dims (all when omitted), without indices. */
  amax(dim?: Dims | null | DimKeywords<Dims>, keepdim?: Keepdim): Tensor {
    if (isKeywords(dim) || isKeywords(keepdim)) ({ dim, keepdim } = dimKeywords<Dims>('amax', dim, keepdim));
    return wrap(native.amax(id(this), dim == null ? [] : dimList(dim), keepdim ?? false));
  }
  amin(dim?: Dims | null | DimKeywords<Dims>, keepdim?: Keepdim): Tensor {
    if (isKeywords(dim) || isKeywords(keepdim)) ({ dim, keepdim } = dimKeywords<Dims>('amin', dim, keepdim));
    return wrap(native.amin(id(this), dim == null ? [] : dimList(dim), keepdim ?? false));
  }
  /** The median (the lower of the two middle values for an even count, as PyTorch), or {values, indices} along dim. */
  median(): Tensor;
  median(dim: number | { dim: number; keepdim?: boolean }, keepdim?: Keepdim): ValuesIndices;
  median(dim?: number | null | DimKeywords<number>, keepdim?: Keepdim): Tensor | ValuesIndices {
    if (isKeywords(dim) || isKeywords(keepdim)) ({ dim, keepdim } = dimKeywords<number>('median', dim, keepdim));
    if (dim == null) return wrap(native.medianAll(id(this)));
    const [v, i] = native.medianDim(id(this), dim, keepdim ?? false);
    return namedTuple({ values: wrap(v), indices: wrap(i) });
  }
  /** The k-th smallest value (k from 1) along dim. */
  kthvalue(k: number, dim?: number | null | DimKeywords<number>, keepdim?: Keepdim): ValuesIndices {
    if (isKeywords(dim) || isKeywords(keepdim)) ({ dim, keepdim } = dimKeywords<number>('kthvalue', dim, keepdim));
    const [v, i] = native.kthvalue(id(this), k, dim ?? -1, keepdim ?? false);
    return namedTuple({ values: wrap(v), indices: wrap(i) });
  }
  countNonzero(dim?: Dims | null | { dim?: Dims | null }): Tensor {
    if (isKeywords(dim)) ({ dim } = named<{ dim?: Dims }>('countNonzero', [dim], ['dim']));
    return wrap(native.countNonzero(id(this), dim == null ? [] : dimList(dim)));
  }
  /** Quantiles q (a number or a 1-D tensor, in [0, 1]) over dim (or all), interpolated as numpy. */
  quantile(q: TensorLike, dim?: number | null | QuantileOptions & { dim?: number | null }, ...args: QuantileArgs): Tensor {
    if (isKeywords(dim)) [dim, args] = dimOutOf(dim, args);
    const opts = optionsOf<QuantileOptions>('quantile', args, ['keepdim'], { extra: ['interpolation'] });
    const [keepdim, interpolation] = [opts.keepdim ?? false, opts.interpolation ?? 'linear'];
    if (typeof q === 'number') return wrap(native.quantileScalar(id(this), q, dim ?? null, keepdim, interpolation, false));
    return wrap(native.quantile(id(this), id(q), dim ?? null, keepdim, interpolation, false));
  }

  /** quantile with NaNs left out (a slice of only NaNs gives NaN). */
  nanquantile(q: TensorLike, dim?: number | null | QuantileOptions & { dim?: number | null }, ...args: QuantileArgs): Tensor {
    if (isKeywords(dim)) [dim, args] = dimOutOf(dim, args);
    const opts = optionsOf<QuantileOptions>('nanquantile', args, ['keepdim'], { extra: ['interpolation'] });
    const [keepdim, interpolation] = [opts.keepdim ?? false, opts.interpolation ?? 'linear'];
    if (typeof q === 'number') return wrap(native.quantileScalar(id(this), q, dim ?? null, keepdim, interpolation, true));
    return wrap(native.quantile(id(this), id(q), dim ?? null, keepdim, interpolation, true));
  }

  // ---------- matrix products ----------
  matmul(o: Tensor): Tensor { return wrap(native.matmul(id(this), id(o))); }
  mm(o: Tensor): Tensor { return wrap(native.mm(id(this), id(o))); }
  bmm(o: Tensor): Tensor { return wrap(native.bmm(id(this), id(o))); }
  dot(o: Tensor): Tensor { return wrap(native.dot(id(this), id(o))); }
  mv(v: Tensor): Tensor { return wrap(native.mv(id(this), id(v))); }
  /** Cross product of 3-vectors along dim. */
  cross(o: Tensor, dim = -1): Tensor { return wrap(native.cross(id(this), id(o), dim)); }
  /** beta * this + alpha * (m1 @ m2) */
  addmm(m1: Tensor, m2: Tensor, opts: { beta?: number; alpha?: number } = {}): Tensor {
    opts = keywordOptions('addmm', opts, ['beta', 'alpha']);
    return wrap(native.addmm(id(this), id(m1), id(m2), opts.beta ?? 1, opts.alpha ?? 1));
  }
  /** Transpose of a 2-D tensor. */
  /** the transpose of a 2-D tensor (0-D and 1-D come back as they are; more dims are refused, as PyTorch) */
  t(): Tensor { return wrap(native.t(id(this))); }
  /** all dims reversed (the transpose for 2-D) */
  get T(): Tensor { return this.dim() <= 2 ? this.t() : this.permute([...Array(this.dim()).keys()].reverse()); }

  // ---------- shape ----------
  // (a shape as an array, or PyTorch's sizes one by one: x.view(2, -1))
  /** A view with another shape, or (x.view('int32')) the same bytes read as another dtype of the same size. */
  view(shape: Shape | number | DType | { size: Shape }, ...sizes: number[]): Tensor {
    if (typeof shape === 'string' && isDtype(shape) && sizes.length === 0) return wrap(native.viewDtype(id(this), dtypeCode(shape)));
    return wrap(native.view(id(this), sizesOf('view', shape as Shape | number | { size: Shape }, sizes, 'size')));
  }
  reshape(shape: Shape | number | { shape: Shape }, ...sizes: number[]): Tensor { return wrap(native.reshape(id(this), sizesOf('reshape', shape, sizes, 'shape'))); }
  transpose(dim0: number | { dim0: number; dim1: number }, dim1?: number | { dim1: number }): Tensor {
    if (isKeywords(dim0) || isKeywords(dim1)) ({ dim0, dim1 } = named<{ dim0: number; dim1: number }>('transpose', [dim0, dim1], ['dim0', 'dim1']));
    return wrap(native.transpose(id(this), dim0, dim1));
  }
  permute(dims: number[] | number | { dims: number[] }, ...more: number[]): Tensor { return wrap(native.permute(id(this), sizesOf('permute', dims, more, 'dims'))); }
  unsqueeze(dim: number | { dim: number }): Tensor { return wrap(native.unsqueeze(id(this), dimOf('unsqueeze', dim))); }
  /** Size-1 dims removed: all, or dim (a number, or several as in PyTorch 2: squeeze([0, 2])). */
  squeeze(dim?: Dims | null | { dim?: Dims | null }): Tensor {
    if (isKeywords(dim)) ({ dim } = named<{ dim?: Dims }>('squeeze', [dim], ['dim']));
    if (Array.isArray(dim)) {
      // (each dim from the last, so the earlier ones keep their places)
      const n = this.ndim;
      const dims = [...new Set(dim.map((d) => (d < 0 ? d + n : d)))].sort((a, b) => b - a);
      let out: Tensor | null = null;
      for (const d of dims) {
        const next = wrap(native.squeeze(id(out ?? this), d));
        out?.dispose();
        out = next;
      }
      return out ?? this.view(this.shape);
    }
    return wrap(native.squeeze(id(this), dim ?? null));
  }
  expand(shape: Shape | number | { size: Shape }, ...sizes: number[]): Tensor { return wrap(native.expand(id(this), sizesOf('expand', shape, sizes, 'size'))); }
  flatten(startDim?: number | { startDim?: number; endDim?: number }, endDim?: number | { endDim?: number }): Tensor {
    if (isKeywords(startDim) || isKeywords(endDim)) ({ startDim, endDim } = named<{ startDim?: number; endDim?: number }>('flatten', [startDim, endDim], ['startDim', 'endDim']));
    return wrap(native.flatten(id(this), startDim ?? 0, endDim ?? -1));
  }
  repeat(sizes: number[] | number | { repeats: number[] }, ...more: number[]): Tensor { return wrap(native.repeat(id(this), sizesOf('repeat', sizes, more, 'repeats'))); }
  narrow(dim: number | { dim: number; start: number; length: number }, start?: number, length?: number): Tensor {
    if (isKeywords(dim)) ({ dim, start, length } = requiredNumbers('narrow', dim, ['dim', 'start', 'length']));
    return wrap(native.narrow(id(this), dim, start, length));
  }
  /** narrow, copied: a new contiguous tensor (torch.narrow_copy). */
  narrowCopy(dim: number, start: number, length: number): Tensor { return wrap(native.narrowCopy(id(this), dim, start, length)); }
  /** torch.as_strided: a view of this tensor's storage with the given sizes, strides and storage offset (in elements). */
  asStrided(size: Shape, stride: number[], storageOffset = 0): Tensor { return wrap(native.asStrided(id(this), size, stride, storageOffset)); }
  select(dim: number | { dim: number; index: number }, index?: number): Tensor {
    if (isKeywords(dim)) ({ dim, index } = requiredNumbers('select', dim, ['dim', 'index']));
    return wrap(native.select(id(this), dim, index));
  }
  /** Python's x[..., start:end:step] along one dim; end null/undefined means to the end. */
  slice(dim: number, start: number | null = 0, end: number | null = null, step = 1): Tensor {
    return wrap(native.slice(id(this), dim, start, end, step));
  }
  indexSelect(dim: number | { dim: number; index: Tensor }, index?: Tensor | { index: Tensor }): Tensor {
    if (typeof dim !== 'number' || !(index instanceof Tensor)) ({ dim, index } = dimAndIndex('indexSelect', dim, index));
    return wrap(native.indexSelect(id(this), dim, id(index)));
  }
  /** Values picked along dim at index's positions: x.gather(1, idx), or x.gather({ dim: 1, index: idx }). */
  gather(dim: number | { dim: number; index: Tensor }, index?: Tensor | { index: Tensor }): Tensor {
    if (typeof dim !== 'number' || !(index instanceof Tensor)) ({ dim, index } = dimAndIndex('gather', dim, index));
    return wrap(native.gather(id(this), dim, id(index)));
  }
  scatter(dim: number | { dim: number; index: Tensor; src?: Tensor; value?: number }, index?: Tensor, src?: TensorLike): Tensor {
    if (isKeywords(dim)) {
      const o = named<{ dim?: number; index?: Tensor; src?: Tensor; value?: number }>('scatter', [dim], ['dim', 'index', 'src', 'value']);
      if (typeof o.dim !== 'number' || !(o.index instanceof Tensor) || (o.src === undefined) === (o.value === undefined)) throw new Error('Tensor.scatter: give dim, index and one of src (a tensor) or value (a number): scatter({ dim: 1, index, value: 5 })');
      ({ dim, index } = o);
      src = o.src ?? o.value;
    }
    if (!(index instanceof Tensor) || src === undefined) throw new Error('Tensor.scatter: give dim, index and src (a tensor or a number): scatter(1, index, src)');
    return wrap(typeof src === 'number' ? native.scatterScalar(id(this), dim, id(index), src) : native.scatter(id(this), dim, id(index), id(src)));
  }
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor {
    return wrap(native.scatterAdd(id(this), dim, id(index), id(src)));
  }
  /** scatter with a reduction: 'sum', 'prod', 'mean', 'amax' or 'amin'; includeSelf (true) counts this tensor's values in. */
  scatterReduce(dim: number, index: Tensor, src: Tensor, reduce: 'sum' | 'prod' | 'mean' | 'amax' | 'amin', opts: { includeSelf?: boolean } = {}): Tensor {
    opts = keywordOptions('scatterReduce', opts, ['includeSelf']);
    return wrap(native.scatterReduce(id(this), dim, id(index), id(src), reduce, opts.includeSelf ?? true));
  }
  indexAdd(dim: number, index: Tensor, source: Tensor, opts: { alpha?: number } = {}): Tensor {
    opts = keywordOptions('indexAdd', opts, ['alpha']);
    return wrap(native.indexAdd(id(this), dim, id(index), id(source), opts.alpha ?? 1));
  }
  indexCopy(dim: number, index: Tensor, source: Tensor): Tensor { return wrap(native.indexCopy(id(this), dim, id(index), id(source))); }
  /** source's rows reduced into this tensor's rows at index along dim: 'prod', 'mean', 'amax' or 'amin' (includeSelf: this tensor's values count too). */
  indexReduce(dim: number, index: Tensor, source: Tensor, reduce: 'prod' | 'mean' | 'amax' | 'amin', opts: { includeSelf?: boolean } = {}): Tensor {
    opts = keywordOptions('indexReduce', opts, ['includeSelf']);
    return wrap(native.indexReduce(id(this), dim, id(index), id(source), reduce, opts.includeSelf ?? true));
  }
  /** A copy with src written on the diagonal (offset, dim1, dim2), as torch.diagonal_scatter. */
  diagonalScatter(src: Tensor, offset = 0, dim1 = 0, dim2 = 1): Tensor { return wrap(native.diagonalScatter(id(this), id(src), offset, dim1, dim2)); }
  /** A copy with src written at index along dim, as torch.select_scatter. */
  selectScatter(src: Tensor, dim: number, index: number): Tensor { return wrap(native.selectScatter(id(this), id(src), dim, index)); }
  /** A copy with src written into the slice start:end:step along dim, as torch.slice_scatter. */
  sliceScatter(src: Tensor, ...args: [opts?: { dim?: number; start?: number | null; end?: number | null; step?: number }] | [dim?: number, start?: number | null, end?: number | null, step?: number]): Tensor {
    const opts = optionsOf<{ dim?: number; start?: number | null; end?: number | null; step?: number }>('sliceScatter', args, ['dim', 'start', 'end', 'step']);
    return wrap(native.sliceScatter(id(this), id(src), opts.dim ?? 0, opts.start ?? null, opts.end ?? null, opts.step ?? 1));
  }
  indexFill(dim: number, index: Tensor, value: number): Tensor { return wrap(native.indexFill(id(this), dim, id(index), value)); }
  /** Elements at the given indices of the flattened tensor. */
  take(index: Tensor): Tensor { return wrap(native.take(id(this), id(index))); }
  /** The values at indices along dim; with no dim, of both flattened (PyTorch's dim=None). */
  takeAlongDim(indices: Tensor, dim?: number | null | { dim?: number | null }): Tensor {
    const d = numberOr('takeAlongDim', dim, 'dim');
    if (d !== undefined) return wrap(native.takeAlongDim(id(this), id(indices), d));
    const [flat, flatIndices] = [this.reshape(-1), _self('Tensor.takeAlongDim', indices).reshape(-1)];
    try {
      return wrap(native.takeAlongDim(id(flat), id(flatIndices), 0));
    } finally {
      flat.dispose();
      flatIndices.dispose();
    }
  }
  maskedSelect(mask: Tensor): Tensor { return wrap(native.maskedSelect(id(this), id(mask))); }
  /** Indices (N, ndim) of the nonzero elements. */
  /** The indices of the nonzero elements, (count, ndim); with asTuple, one 1-D tensor per dim (as torch.where(c) gives). */
  nonzero(opts?: { asTuple?: false }): Tensor;
  nonzero(opts: { asTuple: true }): Tensor[];
  nonzero(opts?: { asTuple?: boolean }): Tensor | Tensor[] {
    const { asTuple } = keywordOptions<{ asTuple?: boolean }>('nonzero', opts, ['asTuple']);
    if (!asTuple) return wrap(native.nonzero(id(this)));
    if (this.ndim === 0) throw new Error('Tensor.nonzero: asTuple needs a tensor of at least one dim');
    const all = wrap(native.nonzero(id(this)));
    try {
      return all.unbind(1);
    } finally {
      all.dispose();
    }
  }

  /**
   * Python's t[...]: t.index(0, ':', null, idx) is t[0, :, None, idx]. Basic indices give a
   * view (as in PyTorch), tensor indices a copy. See Index for what each position may be.
   */
  index(...indices: Index[]): Tensor {
    if (indices.some(Array.isArray)) return withListIndices(indices, (ixs) => this.index(...ixs));
    return wrap(native.index(id(this), encodeIndices(indices), indices.length));
  }
  /** Python's t[...] = value, in place (recorded by autograd, as PyTorch's). */
  indexPut_(indices: Index[], value: TensorLike): this {
    if (!Array.isArray(indices)) throw new TypeError(`Tensor.indexPut_: indices must be an array (one index per dim), got ${describeValue(indices)}`);
    if (indices.some(Array.isArray)) return withListIndices(indices, (ixs) => this.indexPut_(ixs, value));
    if (typeof value === 'number') native.indexPutScalar_(id(this), encodeIndices(indices), indices.length, value);
    else native.indexPut_(id(this), encodeIndices(indices), indices.length, id(value));
    return this;
  }
  /** torch.index_put: a copy with values written at the points the index tensors give; accumulate adds repeated points. */
  indexPutTensors(indices: Tensor[], values: Tensor, accumulate = false): Tensor {
    if (!Array.isArray(indices)) throw new TypeError(`Tensor.indexPut: indices must be an array of index tensors (one per dim), got ${describeValue(indices)}`);
    return wrap(native.indexPutTensors(id(this), indices.map(id), id(values), accumulate));
  }

  // (these take their optional argument by position or by name: x.tril({ diagonal: -1 }), x.split(2, { dim: 1 }))
  tril(diagonal: number | { diagonal?: number } = 0): Tensor { return wrap(native.tril(id(this), numberOr('tril', diagonal, 'diagonal') ?? 0)); }
  triu(diagonal: number | { diagonal?: number } = 0): Tensor { return wrap(native.triu(id(this), numberOr('triu', diagonal, 'diagonal') ?? 0)); }
  /** Splits into chunks of splitSize (or the given sizes) along dim. */
  split(splitSize: number | number[], dim: number | { dim?: number } = 0): Tensor[] { return wrapAll(native.split(id(this), splitSize, numberOr('split', dim, 'dim') ?? 0)); }
  chunk(chunks: number, dim: number | { dim?: number } = 0): Tensor[] { return wrapAll(native.chunk(id(this), chunks, numberOr('chunk', dim, 'dim') ?? 0)); }
  unbind(dim: number | { dim?: number } = 0): Tensor[] { return wrapAll(native.unbind(id(this), numberOr('unbind', dim, 'dim') ?? 0)); }
  flip(dims: Dims | { dims: Dims }, ...more: number[]): Tensor { return wrap(native.flip(id(this), sizesOf('flip', dims, more, 'dims'))); }
  /** Rolls elements by shifts along dims; with no dims, over the flattened tensor. */
  roll(shifts: number | number[] | { shifts: number | number[]; dims?: Dims | null }, dims?: Dims | null | { dims?: Dims | null }): Tensor {
    if (isKeywords(shifts) || isKeywords(dims)) ({ shifts, dims } = named<{ shifts: number | number[]; dims?: Dims | null }>('roll', [shifts, dims], ['shifts', 'dims']));
    return wrap(native.roll(id(this), dimList(shifts as number | number[]), dims == null ? [] : dimList(dims as Dims)));
  }
  /** A vector's diagonal matrix, or a matrix's diagonal (offset above the main one when positive). */
  diag(diagonal = 0): Tensor { return wrap(native.diag(id(this), diagonal)); }
  diagEmbed(offset = 0, dim1 = -2, dim2 = -1): Tensor { return wrap(native.diagEmbed(id(this), offset, dim1, dim2)); }
  diagonal(offset = 0, dim1 = 0, dim2 = 1): Tensor { return wrap(native.diagonal(id(this), offset, dim1, dim2)); }
  trace(): Tensor { return wrap(native.trace(id(this))); }
  movedim(source: Dims | { source: Dims; destination: Dims }, destination?: Dims | { destination: Dims }): Tensor {
    if (isKeywords(source) || isKeywords(destination)) ({ source, destination } = named<{ source: Dims; destination: Dims }>('movedim', [source, destination], ['source', 'destination']));
    if (destination === undefined) throw new Error('Tensor.movedim: give source and destination (movedim(0, 2))');
    return wrap(native.movedim(id(this), dimList(source as Dims), dimList(destination as Dims)));
  }
  tile(reps: number[] | number | { dims: number[] }, ...more: number[]): Tensor { return wrap(native.tile(id(this), sizesOf('tile', reps, more, 'dims'))); }
  broadcastTo(shape: Shape): Tensor { return wrap(native.broadcastTo(id(this), shape)); }
  expandAs(other: Tensor): Tensor { return this.expand(_self('Tensor.expandAs', other).shape); }
  viewAs(other: Tensor): Tensor { return this.view(_self('Tensor.viewAs', other).shape); }
  reshapeAs(other: Tensor): Tensor { return this.reshape(_self('Tensor.reshapeAs', other).shape); }
  /** Sliding windows of size along dim, every step: a view with a new last dimension. */
  unfold(dim: number, size: number, step: number): Tensor { return wrap(native.unfold(id(this), dim, size, step)); }
  /** Each element repeated (a number, or a tensor of counts per element), along dim or over the flattened tensor. */
  repeatInterleave(repeats: TensorLike, dim?: number | null | { dim?: number | null; outputSize?: number | null }): Tensor {
    if (isKeywords(dim)) dim = named<{ dim?: number | null; outputSize?: number | null }>('repeatInterleave', [dim], ['dim', 'outputSize']).dim;
    return wrap(typeof repeats === 'number'
      ? native.repeatInterleave(id(this), repeats, dim ?? null)
      : native.repeatInterleaveTensor(id(this), id(repeats), dim ?? null));
  }
  /**
   * torch.unique: sorted distinct values, with the inverse indices and the counts when asked; with
   * dim, distinct slices. As PyTorch's: a tensor when neither is asked for, else the tuple
   * (values, inverse?, counts?) of those asked for.
   */
  unique<A extends UniqueArgs>(...args: A): UniqueOf<A, 'unique'> {
    const opts = optionsOf<UniqueOptions>('unique', args, ['sorted', 'returnInverse', 'returnCounts', 'dim']);
    const [v, inv, cnt] = wrapAll(native.unique(id(this), opts.sorted ?? true, opts.returnInverse ?? false, opts.returnCounts ?? false, opts.dim ?? null));
    return uniqueResult(v, inv, cnt, opts) as UniqueOf<A, 'unique'>;
  }
  /** Drops consecutive repeats (as Unix uniq); a tensor, or a tuple with the inverse and counts asked for, as unique(). */
  uniqueConsecutive<A extends UniqueConsecutiveArgs>(...args: A): UniqueOf<A, 'consecutive'> {
    const opts = optionsOf<Omit<UniqueOptions, 'sorted'>>('uniqueConsecutive', args, ['returnInverse', 'returnCounts', 'dim']);
    const [v, inv, cnt] = wrapAll(native.uniqueConsecutive(id(this), opts.returnInverse ?? false, opts.returnCounts ?? false, opts.dim ?? null));
    return uniqueResult(v, inv, cnt, opts) as UniqueOf<A, 'consecutive'>;
  }
  /** Counts of each value of a 1-D non-negative int tensor (weighted sums with weights). */
  bincount(...args: [opts?: { weights?: Tensor | null; minlength?: number }] | [weights?: Tensor | null, minlength?: number]): Tensor {
    const opts = optionsOf<{ weights?: Tensor | null; minlength?: number }>('bincount', args, ['weights', 'minlength']);
    return wrap(native.bincount(id(this), opts.weights ? id(opts.weights) : -1, opts.minlength ?? 0));
  }
  /** Histogram of bins equal-width bins between min and max (the data's range when both are 0). */
  histc(...args: PositionalOr<[bins?: number, min?: number, max?: number], { bins?: number; min?: number; max?: number }>): Tensor {
    const o = optionsOf<{ bins?: number; min?: number; max?: number }>('Tensor.histc', args, ['bins', 'min', 'max']);
    return wrap(native.histc(id(this), o.bins ?? 100, o.min ?? 0, o.max ?? 0));
  }

  // ---------- sorting and sampling ----------
  topk(k: number | { k: number; dim?: number; largest?: boolean; sorted?: boolean }, ...args: PositionalOr<[dim?: number, largest?: boolean, sorted?: boolean], { dim?: number; largest?: boolean; sorted?: boolean }>): ValuesIndices {
    let [dim, largest, sorted] = args as [number?, boolean?, boolean?];
    if (isKeywords(k)) {
      const o = named<{ k?: number; dim?: number; largest?: boolean; sorted?: boolean }>('topk', [k, ...args], ['k', 'dim', 'largest', 'sorted']);
      if (typeof o.k !== 'number') throw new Error('Tensor.topk: give k, a number (topk(2) or topk({ k: 2 }))');
      ({ k, dim, largest, sorted } = o as { k: number; dim?: number; largest?: boolean; sorted?: boolean });
    } else if (args.some(isKeywords)) ({ dim, largest, sorted } = named<{ dim?: number; largest?: boolean; sorted?: boolean }>('topk', args, ['dim', 'largest', 'sorted']));
    const [v, i] = native.topk(id(this), k, dim ?? -1, largest ?? true, sorted ?? true);
    return namedTuple({ values: wrap(v), indices: wrap(i) });
  }
  /** Sorted along dim (the last by default); stable keeps equal values in their order (by name: sort({ stable: true })). */
  sort(dim?: number | { dim?: number; descending?: boolean; stable?: boolean }, descending?: boolean | { descending?: boolean; stable?: boolean }): ValuesIndices {
    let stable: boolean | undefined;
    if (isKeywords(dim) || isKeywords(descending)) ({ dim, descending, stable } = named<{ dim?: number; descending?: boolean; stable?: boolean }>('sort', [dim, descending], ['dim', 'descending'], ['stable']));
    const [v, i] = stable == null ? native.sort(id(this), dim ?? -1, descending ?? false) : native.sort(id(this), dim ?? -1, descending ?? false, stable);
    return namedTuple({ values: wrap(v), indices: wrap(i) });
  }
  argsort(dim?: number | { dim?: number; descending?: boolean }, descending?: boolean | { descending?: boolean }): Tensor {
    if (isKeywords(dim) || isKeywords(descending)) ({ dim, descending } = named<{ dim?: number; descending?: boolean }>('argsort', [dim, descending], ['dim', 'descending']));
    return wrap(native.argsort(id(this), dim ?? -1, descending ?? false));
  }
  /** numSamples indices drawn by the weights in each row (by position, or x.multinomial({ numSamples: 1 })). */
  multinomial(numSamples: number | (RandomDraw & { numSamples: number; replacement?: boolean }), ...args: PositionalOr<[replacement?: boolean], RandomDraw & { replacement?: boolean }>): Tensor {
    const o = drawArgs<{ replacement?: boolean; numSamples?: number }>('multinomial', [numSamples, ...args], ['numSamples', 'replacement']);
    if (typeof o.numSamples !== 'number') throw new Error('Tensor.multinomial: give numSamples, a number (multinomial(1) or multinomial({ numSamples: 1 }))');
    return wrap(native.multinomial(id(this), o.numSamples, o.replacement ?? false, o.handle));
  }

  // ---------- more of torch's API (one libtorch call each) ----------
  logaddexp(o: Tensor): Tensor { return wrap(native.logaddexp(id(this), id(o))); }
  logaddexp2(o: Tensor): Tensor { return wrap(native.logaddexp2(id(this), id(o))); }
  /** 0 where this < 0, values where this == 0, 1 where this > 0 */
  heaviside(values: Tensor): Tensor { return wrap(native.heaviside(id(this), id(values))); }
  gcd(o: Tensor): Tensor { return wrap(native.gcd(id(this), id(o))); }
  lcm(o: Tensor): Tensor { return wrap(native.lcm(id(this), id(o))); }
  bitwiseAnd(o: Tensor): Tensor { return wrap(native.bitwiseAnd(id(this), id(o))); }
  bitwiseOr(o: Tensor): Tensor { return wrap(native.bitwiseOr(id(this), id(o))); }
  bitwiseXor(o: Tensor): Tensor { return wrap(native.bitwiseXor(id(this), id(o))); }
  bitwiseNot(): Tensor { return wrap(native.bitwiseNot(id(this))); }
  bitwiseLeftShift(o: Tensor): Tensor { return wrap(native.bitwiseLeftShift(id(this), id(o))); }
  bitwiseRightShift(o: Tensor): Tensor { return wrap(native.bitwiseRightShift(id(this), id(o))); }
  /** sin(pi x) / (pi x), 1 at 0 */
  sinc(): Tensor { return wrap(native.sinc(id(this))); }
  /** The modified Bessel function of the first kind, order 0. */
  i0(): Tensor { return wrap(native.specialI0(id(this))); }
  /** The n-th derivative of digamma. */
  polygamma(n: number): Tensor { return wrap(native.specialPolygamma(id(this), n)); }
  /** The multivariate log-gamma function of dimension p. */
  mvlgamma(p: number): Tensor { return wrap(native.specialMultigammaln(id(this), p)); }
  /** The regularized lower / upper incomplete gamma functions of (this, other). */
  igamma(other: Tensor): Tensor { return wrap(native.specialGammainc(id(this), id(other))); }
  igammac(other: Tensor): Tensor { return wrap(native.specialGammaincc(id(this), id(other))); }
  sgn(): Tensor { return wrap(native.sgn(id(this))); }
  signbit(): Tensor { return wrap(native.signbit(id(this))); }
  copysign(o: Tensor): Tensor { return wrap(native.copysign(id(this), id(o))); }
  nextafter(o: Tensor): Tensor { return wrap(native.nextafter(id(this), id(o))); }
  /** pow in float64 (torch.float_power) */
  floatPower(exponent: TensorLike): Tensor {
    return wrap(typeof exponent === 'number' ? native.floatPowerScalar(id(this), exponent) : native.floatPower(id(this), id(exponent)));
  }
  /** maximum / minimum that ignore NaN */
  fmax(o: Tensor): Tensor { return wrap(native.fmax(id(this), id(o))); }
  fmin(o: Tensor): Tensor { return wrap(native.fmin(id(this), id(o))); }
  deg2rad(): Tensor { return wrap(native.deg2rad(id(this))); }
  rad2deg(): Tensor { return wrap(native.rad2deg(id(this))); }
  /** this * 2 ** o */
  ldexp(o: Tensor): Tensor { return wrap(native.ldexp(id(this), id(o))); }
  isneginf(): Tensor { return wrap(native.isneginf(id(this))); }
  isposinf(): Tensor { return wrap(native.isposinf(id(this))); }
  /** clamp, by its other name */
  clip(min?: number | null, max?: number | null): Tensor { return this.clamp(min, max); }
  /** this + value * t1 * t2 */
  addcmul(t1: Tensor, t2: Tensor, value: number | { value?: number } = 1): Tensor { return wrap(native.addcmul(id(this), id(t1), id(t2), typeof value === 'number' ? value : scaleOf('addcmul', value, 'value'))); }
  /** this + value * t1 / t2 */
  addcdiv(t1: Tensor, t2: Tensor, value: number | { value?: number } = 1): Tensor { return wrap(native.addcdiv(id(this), id(t1), id(t2), typeof value === 'number' ? value : scaleOf('addcdiv', value, 'value'))); }
  /** source's values, in order, where mask is true */
  maskedScatter(mask: Tensor, source: Tensor): Tensor { return wrap(native.maskedScatter(id(this), id(mask), id(source))); }
  /** sum / mean leaving NaNs out */
  nansum(dim?: Dims | null | SumKeywords<Dims>, keepdim?: boolean | { keepdim?: boolean; dtype?: DType | null }): Tensor {
    if (isKeywords(dim) || isKeywords(keepdim)) return reduceByName(this, 'nansum', dim, keepdim);
    return wrap(native.nansum(id(this), dim == null ? [] : dimList(dim), keepdim ?? false));
  }
  nanmean(dim?: Dims | null | DimKeywords<Dims>, keepdim?: Keepdim): Tensor {
    if (isKeywords(dim) || isKeywords(keepdim)) ({ dim, keepdim } = dimKeywords<Dims>('nanmean', dim, keepdim));
    return wrap(native.nanmean(id(this), dim == null ? [] : dimList(dim), keepdim ?? false));
  }
  nanmedian(): Tensor;
  nanmedian(dim: number | { dim: number; keepdim?: boolean }, keepdim?: Keepdim): ValuesIndices;
  nanmedian(dim?: number | null | DimKeywords<number>, keepdim?: Keepdim): Tensor | ValuesIndices {
    if (isKeywords(dim) || isKeywords(keepdim)) ({ dim, keepdim } = dimKeywords<number>('nanmedian', dim, keepdim));
    if (dim == null) return wrap(native.nanmedianAll(id(this)));
    const [v, i] = native.nanmedianDim(id(this), dim, keepdim ?? false);
    return namedTuple({ values: wrap(v), indices: wrap(i) });
  }
  /** The most frequent value along dim (the smallest of ties) and an index of it. */
  mode(dim?: number | null | DimKeywords<number>, keepdim?: Keepdim): ValuesIndices {
    if (isKeywords(dim) || isKeywords(keepdim)) ({ dim, keepdim } = dimKeywords<number>('mode', dim, keepdim));
    const [v, i] = native.mode(id(this), dim ?? -1, keepdim ?? false);
    return namedTuple({ values: wrap(v), indices: wrap(i) });
  }
  aminmax(opts: { dim?: number; keepdim?: boolean } = {}): NamedTuple<{ min: Tensor; max: Tensor }> {
    opts = keywordOptions('aminmax', opts, ['dim', 'keepdim']);
    const [min, max] = native.aminmax(id(this), opts.dim ?? null, opts.keepdim ?? false);
    return namedTuple({ min: wrap(min), max: wrap(max) });
  }
  /** [std, mean] in one pass (torch.std_mean); correction 1 by default */
  stdMean(dim?: Dims | boolean | null, ...args: VarianceArgs): [Tensor, Tensor] {
    const v = varianceArgs('stdMean', dim, args);
    const [a, b] = native.stdMean(id(this), v.dims, v.correction, v.keepdim);
    return [wrap(a), wrap(b)];
  }
  /** [var, mean] in one pass (torch.var_mean); correction 1 by default */
  varMean(dim?: Dims | boolean | null, ...args: VarianceArgs): [Tensor, Tensor] {
    const v = varianceArgs('varMean', dim, args);
    const [a, b] = native.varMean(id(this), v.dims, v.correction, v.keepdim);
    return [wrap(a), wrap(b)];
  }
  /** sorted along the first dim */
  msort(): Tensor { return wrap(native.msort(id(this))); }
  /** log det of square matrices (NaN for a negative determinant) */
  logdet(): Tensor { return wrap(native.logdet(id(this))); }
  /** each slice along dim rescaled to a p-norm of at most maxnorm */
  renorm(p: number, dim: number, maxnorm: number): Tensor { return wrap(native.renorm(id(this), p, dim, maxnorm)); }
  /** beta * this + alpha * (mat @ vec) */
  addmv(mat: Tensor, vec: Tensor, opts: { beta?: number; alpha?: number } = {}): Tensor {
    opts = keywordOptions('addmv', opts, ['beta', 'alpha']);
    return wrap(native.addmv(id(this), id(mat), id(vec), opts.beta ?? 1, opts.alpha ?? 1));
  }
  /** beta * this + alpha * (batch1 @ batch2), batched */
  baddbmm(batch1: Tensor, batch2: Tensor, opts: { beta?: number; alpha?: number } = {}): Tensor {
    opts = keywordOptions('baddbmm', opts, ['beta', 'alpha']);
    return wrap(native.baddbmm(id(this), id(batch1), id(batch2), opts.beta ?? 1, opts.alpha ?? 1));
  }
  inner(o: Tensor): Tensor { return wrap(native.inner(id(this), id(o))); }
  vdot(o: Tensor): Tensor { return wrap(native.vdot(id(this), id(o))); }
  /** n-th forward difference along dim, with optional values put before / after */
  diff(...args: [opts?: { n?: number; dim?: number; prepend?: Tensor | null; append?: Tensor | null }] | [n?: number, dim?: number, prepend?: Tensor | null, append?: Tensor | null]): Tensor {
    const opts = optionsOf<{ n?: number; dim?: number; prepend?: Tensor | null; append?: Tensor | null }>('diff', args, ['n', 'dim', 'prepend', 'append']);
    return wrap(native.diff(id(this), opts.n ?? 1, opts.dim ?? -1, opts.prepend ? id(opts.prepend) : -1, opts.append ? id(opts.append) : -1));
  }
  /** Counts in `bins` equal bins over range (default: the data's min and max), optionally weighted or as a density. */
  histogram(bins: number | { bins?: number; range?: [number, number]; weight?: Tensor | null; density?: boolean } = 100, opts: { range?: [number, number]; weight?: Tensor | null; density?: boolean } = {}): NamedTuple<{ hist: Tensor; binEdges: Tensor }> {
    // (bins too by name, as Python's torch.histogram(x, bins=4, range=(0, 1)); 100 when not given, as PyTorch's default)
    if (isKeywords(bins)) ({ bins = 100, ...opts } = named<{ bins?: number }>('histogram', [bins], ['bins'], ['range', 'weight', 'density']));
    opts = keywordOptions('histogram', opts, ['range', 'weight', 'density']);
    const [h, e] = native.histogram(id(this), bins, opts.range ?? null, opts.weight ? id(opts.weight) : -1, opts.density ?? false);
    return namedTuple({ hist: wrap(h), binEdges: wrap(e) });
  }
  /** Covariance of the rows (variables) over the columns (observations). */
  cov(opts: { correction?: number; fweights?: Tensor | null; aweights?: Tensor | null } = {}): Tensor {
    opts = keywordOptions('cov', opts, ['correction', 'fweights', 'aweights']);
    return wrap(native.cov(id(this), opts.correction ?? 1, opts.fweights ? id(opts.fweights) : -1, opts.aweights ? id(opts.aweights) : -1));
  }
  corrcoef(): Tensor { return wrap(native.corrcoef(id(this))); }
  /** Splits into `sections` near-equal parts, or at the given indices, along dim (torch.tensor_split). */
  tensorSplit(sectionsOrIndices: number | number[], dim: number | { dim?: number } = 0): Tensor[] {
    return wrapAll(native.tensorSplit(id(this), sectionsOrIndices, numberOr('tensorSplit', dim, 'dim') ?? 0));
  }
  /** tensorSplit along dim 1 (dim 0 for 1-D), equal parts only for a number, as torch.hsplit */
  hsplit(sectionsOrIndices: number | number[]): Tensor[] { return this.splitAlong('hsplit', this.ndim === 1 ? 0 : 1, sectionsOrIndices, 1); }
  vsplit(sectionsOrIndices: number | number[]): Tensor[] { return this.splitAlong('vsplit', 0, sectionsOrIndices, 2); }
  dsplit(sectionsOrIndices: number | number[]): Tensor[] { return this.splitAlong('dsplit', 2, sectionsOrIndices, 3); }
  private splitAlong(what: string, dim: number, s: number | number[], minDims: number): Tensor[] {
    if (this.ndim < minDims) throw new Error(`torch.${what} requires a tensor with at least ${minDims} dimension(s), but got a tensor with ${this.ndim} dimensions!`);
    const size = this.shape[dim];
    if (typeof s === 'number' && (s === 0 || size % s !== 0)) {
      throw new Error(`torch.${what} attempted to split along dimension ${dim}, but the size of the dimension ${size} is not divisible by the split_size ${s}!`);
    }
    return this.tensorSplit(s, dim);
  }
  /** Rotated by 90 degrees k times in the plane of dims (from the first towards the second). */
  rot90(k: number | { k?: number; dims?: [number, number] } = 1, dims: [number, number] = [0, 1]): Tensor {
    if (isKeywords(k)) ({ k = 1, dims = [0, 1] as [number, number] } = named<{ k?: number; dims?: [number, number] }>('rot90', [k], ['k', 'dims']));
    return wrap(native.rot90(id(this), k, dims));
  }

  // ---------- in place (return this) ----------

  // ---------- more in place (PyTorch's x.op_()) ----------
  acos_(): this { native.acos_(id(this)); return this; }
  acosh_(): this { native.acosh_(id(this)); return this; }
  asin_(): this { native.asin_(id(this)); return this; }
  asinh_(): this { native.asinh_(id(this)); return this; }
  atan_(): this { native.atan_(id(this)); return this; }
  atanh_(): this { native.atanh_(id(this)); return this; }
  ceil_(): this { native.ceil_(id(this)); return this; }
  cos_(): this { native.cos_(id(this)); return this; }
  cosh_(): this { native.cosh_(id(this)); return this; }
  digamma_(): this { native.digamma_(id(this)); return this; }
  erf_(): this { native.erf_(id(this)); return this; }
  erfc_(): this { native.erfc_(id(this)); return this; }
  exp2_(): this { native.exp2_(id(this)); return this; }
  expm1_(): this { native.expm1_(id(this)); return this; }
  floor_(): this { native.floor_(id(this)); return this; }
  frac_(): this { native.frac_(id(this)); return this; }
  lgamma_(): this { native.lgamma_(id(this)); return this; }
  log10_(): this { native.log10_(id(this)); return this; }
  log1p_(): this { native.log1p_(id(this)); return this; }
  log2_(): this { native.log2_(id(this)); return this; }
  reciprocal_(): this { native.reciprocal_(id(this)); return this; }
  round_(): this { native.round_(id(this)); return this; }
  rsqrt_(): this { native.rsqrt_(id(this)); return this; }
  sign_(): this { native.sign_(id(this)); return this; }
  sin_(): this { native.sin_(id(this)); return this; }
  sinh_(): this { native.sinh_(id(this)); return this; }
  square_(): this { native.square_(id(this)); return this; }
  tan_(): this { native.tan_(id(this)); return this; }
  trunc_(): this { native.trunc_(id(this)); return this; }
  fix_(): this { return this.trunc_(); }
  deg2rad_(): this { native.deg2rad_(id(this)); return this; }
  rad2deg_(): this { native.rad2deg_(id(this)); return this; }
  logit_(): this { native.logit_(id(this)); return this; }
  nanToNum_(): this { native.nanToNum_(id(this)); return this; }
  cumsum_(dim: number): this { native.cumsum_(id(this), dim); return this; }
  cumprod_(dim: number): this { native.cumprod_(id(this), dim); return this; }
  fmod_(other: TensorLike): this { native.fmod_(id(this), ...operand(other)); return this; }
  remainder_(other: TensorLike): this { native.remainder_(id(this), ...operand(other)); return this; }
  /** In place: 1 where equal, 0 elsewhere, in this tensor's dtype (eq_, ne_, lt_, le_, gt_, ge_). */
  eq_(other: TensorLike): this { native.eq_(id(this), ...operand(other)); return this; }
  ne_(other: TensorLike): this { native.ne_(id(this), ...operand(other)); return this; }
  lt_(other: TensorLike): this { native.lt_(id(this), ...operand(other)); return this; }
  le_(other: TensorLike): this { native.le_(id(this), ...operand(other)); return this; }
  gt_(other: TensorLike): this { native.gt_(id(this), ...operand(other)); return this; }
  ge_(other: TensorLike): this { native.ge_(id(this), ...operand(other)); return this; }
  floorDivide_(other: TensorLike): this { native.floorDivide_(id(this), ...operand(other)); return this; }
  xlogy_(other: TensorLike): this { native.xlogy_(id(this), ...operand(other)); return this; }
  copysign_(other: TensorLike): this { native.copysign_(id(this), ...operand(other)); return this; }
  atan2_(other: Tensor): this { native.atan2_(id(this), id(other)); return this; }
  hypot_(other: Tensor): this { native.hypot_(id(this), id(other)); return this; }
  logicalAnd_(other: Tensor): this { native.logicalAnd_(id(this), id(other)); return this; }
  logicalOr_(other: Tensor): this { native.logicalOr_(id(this), id(other)); return this; }
  logicalXor_(other: Tensor): this { native.logicalXor_(id(this), id(other)); return this; }
  logicalNot_(): this { native.logicalNot_(id(this)); return this; }
  clampMin_(min: number): this { return this.clamp_(min, null); }
  clampMax_(max: number): this { return this.clamp_(null, max); }
  clip_(min?: number | null, max?: number | null): this { return this.clamp_(min, max); }
  /** In-place views: this tensor's shape (and strides) change, its memory does not. */
  t_(): this { native.t_(id(this)); return this; }
  transpose_(dim0: number, dim1: number): this { native.transpose_(id(this), dim0, dim1); return this; }
  unsqueeze_(dim: number): this { native.unsqueeze_(id(this), dim); return this; }
  squeeze_(dim?: number): this { native.squeeze_(id(this), dim ?? null); return this; }
  /** Detaches this very tensor from the graph (PyTorch's detach_). */
  detach_(): this { native.detach_(id(this)); return this; }
  /** Writes source at the flat indices of this tensor (accumulate: adds). */
  put_(index: Tensor, source: Tensor, accumulate = false): this { native.put_(id(this), id(index), id(source), accumulate); return this; }
  /** Resizes in place (new elements uninitialized), as PyTorch's resize_. */
  resize_(shape: Shape): this { native.resize_(id(this), shape); return this; }

  // ---------- PyTorch's aliases and small conveniences ----------
  absolute(): Tensor { return this.abs(); }
  arccos(): Tensor { return this.acos(); }
  arccosh(): Tensor { return this.acosh(); }
  arcsin(): Tensor { return this.asin(); }
  arcsinh(): Tensor { return this.asinh(); }
  arctan(): Tensor { return this.atan(); }
  arctanh(): Tensor { return this.atanh(); }
  arctan2(other: Tensor): Tensor { return wrap(native.atan2(id(this), id(other))); }
  divide(other: TensorLike, opts?: { roundingMode?: 'trunc' | 'floor' }): Tensor { return this.div(other, opts); }
  trueDivide(other: TensorLike): Tensor { return this.div(other); }
  multiply(other: TensorLike): Tensor { return this.mul(other); }
  subtract(other: TensorLike, alpha = 1): Tensor { return this.sub(other, alpha); }
  negative(): Tensor { return this.neg(); }
  positive(): Tensor { return this; }
  greater(other: TensorLike): Tensor { return this.gt(other); }
  greaterEqual(other: TensorLike): Tensor { return this.ge(other); }
  less(other: TensorLike): Tensor { return this.lt(other); }
  lessEqual(other: TensorLike): Tensor { return this.le(other); }
  notEqual(other: TensorLike): Tensor { return this.ne(other); }
  fix(): Tensor { return this.trunc(); }
  clampMin(min: number): Tensor { return this.clamp(min, null); }
  clampMax(max: number): Tensor { return this.clamp(null, max); }
  moveaxis(source: number | number[], destination: number | number[]): Tensor { return this.movedim(source, destination); }
  swapaxes(axis0: number, axis1: number): Tensor { return this.transpose(axis0, axis1); }
  swapdims(dim0: number, dim1: number): Tensor { return this.transpose(dim0, dim1); }
  /** A flat view when possible, else a copy (torch.ravel). */
  ravel(): Tensor { return this.reshape([-1]); }
  fliplr(): Tensor { return this.flip(1); }
  flipud(): Tensor { return this.flip(0); }
  ndimension(): number { return this.dim(); }
  nelement(): number { return this.numel(); }
  /** The transpose of the last two dims (PyTorch's .mT), and the conjugate one (.mH, .H for matrices, adjoint()). */
  get mT(): Tensor { return this.transpose(-2, -1); }
  get mH(): Tensor { return conjOf(this.transpose(-2, -1)); }
  get H(): Tensor {
    if (this.ndim !== 2 && this.ndim !== 0) throw new Error(`tensor.H is only supported on matrices (2-D tensors). Got ${this.ndim}-D tensor.`);
    return this.ndim === 0 ? this.conj() : conjOf(this.t());
  }
  adjoint(): Tensor { return this.mH; }
  /** dim split into sizes (its product must be the dim's size; one -1 is inferred). */
  unflatten(dim: number | { dim: number; sizes: number[] }, sizes?: number[]): Tensor {
    if (isKeywords(dim)) ({ dim, sizes } = named<{ dim: number; sizes: number[] }>('unflatten', [dim], ['dim', 'sizes']));
    if (typeof dim !== 'number' || !Array.isArray(sizes)) throw new Error('Tensor.unflatten: give dim (a number) and sizes (an array): unflatten(1, [2, 3])');
    const s = this.shape;
    const d = dim < 0 ? dim + s.length : dim;
    return this.reshape([...s.slice(0, d), ...sizes, ...s.slice(d + 1)]);
  }
  /** New tensors with this one's dtype and device (PyTorch's new_zeros, new_ones, new_full, new_empty, new_tensor). */
  // (the shape as an array or size by size, x.new_zeros(2, 3), or by name: { size: [2, 3], dtype })
  newZeros(...args: NewShapeArgs): Tensor { return this.newFull(...newShape('newZeros', args, 0)); }
  newOnes(...args: NewShapeArgs): Tensor { return this.newFull(...newShape('newOnes', args, 1)); }
  newFull(shape: Shape, value: number, opts: NewTensorOptions = {}): Tensor {
    opts = keywordOptions('newFull', opts, NEW_TENSOR_KEYS);
    const t = wrap(native.full(shape, value, dtypeCode(opts.dtype ?? this.dtype), deviceCode(opts.device ?? this.device)));
    if (opts.requiresGrad) t.requiresGrad_(true);
    return t;
  }
  newEmpty(...args: NewShapeArgs): Tensor {
    const [shape, , opts] = newShape('newEmpty', args, 0);
    const t = wrap(native.empty(shape, dtypeCode(opts.dtype ?? this.dtype), deviceCode(opts.device ?? this.device)));
    if (opts.requiresGrad) t.requiresGrad_(true);
    return t;
  }
  /** This tensor converted to other's dtype (type_as). */
  typeAs(other: Tensor): Tensor { return this.to({ dtype: _self('Tensor.typeAs', other).dtype }); }
  int(): Tensor { return this.to({ dtype: 'int32' }); }
  short(): Tensor { return this.to({ dtype: 'int16' }); }
  char(): Tensor { return this.to({ dtype: 'int8' }); }
  byte(): Tensor { return this.to({ dtype: 'uint8' }); }
  cfloat(): Tensor { return this.to({ dtype: 'complex64' }); }
  cdouble(): Tensor { return this.to({ dtype: 'complex128' }); }
  /** softmax over dim; with dtype the input is cast to it first (PyTorch's dtype=, e.g. float32 logits of a bf16 model) */
  softmax(dim: number | { dim: number; dtype?: DType }, opts?: { dtype?: DType }): Tensor {
    if (typeof dim === 'number' && opts === undefined) return wrap(native.softmax(id(this), dim));
    return softmaxLike(this, 'softmax', dim, opts);
  }
  logSoftmax(dim: number | { dim: number; dtype?: DType }, opts?: { dtype?: DType }): Tensor {
    if (typeof dim === 'number' && opts === undefined) return wrap(native.logSoftmax(id(this), dim));
    return softmaxLike(this, 'logSoftmax', dim, opts);
  }
  outer(other: Tensor): Tensor { return wrap(native.outer(id(this), id(other))); }
  ger(other: Tensor): Tensor { return this.outer(other); }
  /** The indices of the nonzero elements, (n, ndim) (torch.argwhere). */
  argwhere(): Tensor { return this.nonzero(); }
  /** A 2-D tensor with this (flattened) tensor on its offset-th diagonal. */
  diagflat(offset = 0): Tensor { return wrap(native.diagflat(id(this), offset)); }
  /** The p-norm of this - other. */
  dist(other: Tensor, p = 2): Tensor { return wrap(native.dist(id(this), id(other), p)); }
  /** mantissa · 2^exponent = this, mantissa in (-1, -0.5] ∪ [0.5, 1). */
  frexp(): NamedTuple<{ mantissa: Tensor; exponent: Tensor }> {
    const [mantissa, exponent] = (native.frexp(id(this)) as number[]).map(wrap);
    return namedTuple({ mantissa, exponent });
  }
  /** Sums this tensor down to a shape it broadcasts from (sum_to_size). */
  sumToSize(shape: Shape): Tensor { return wrap(native.sumToSize(id(this), shape)); }
  /** A copy with source written at the flat indices (put). */
  put(index: Tensor, source: Tensor, accumulate = false): Tensor { return wrap(native.put(id(this), id(index), id(source), accumulate)); }
  isreal(): Tensor { return wrap(native.isreal(id(this))); }
  isSigned(): boolean { return native.isSigned(id(this)); }
  /** The truth of a one-element tensor (errors otherwise, as Python's bool(x)). */
  isNonzero(): boolean { return native.isNonzero(id(this)); }
  isNeg(): boolean { return native.isNeg(id(this)); }
  isSameSize(other: Tensor): boolean { return this.shape.join() === _self('Tensor.isSameSize', other).shape.join(); }
  /** Bytes per element. */
  elementSize(): number { return native.elementSize(id(this)); }
  /** bytes per element (PyTorch 2.1's itemsize) */
  get itemsize(): number { return native.elementSize(id(this)); }
  /** bytes of its elements, numel × itemsize (PyTorch 2.1's nbytes; a view counts its own elements) */
  get nbytes(): number { return this.numel() * native.elementSize(id(this)); }
  /** Whether retainGrad() was called on this non-leaf. */
  get retainsGrad(): boolean { return native.retainsGrad(id(this)); }
  /** -1 on the CPU, the GPU's index on CUDA (get_device). */
  getDevice(): number { return native.device(id(this)); }
  get isCpu(): boolean { return native.device(id(this)) === -1; }

  triu_(diagonal = 0): this { native.triu_(id(this), diagonal); return this; }
  tril_(diagonal = 0): this { native.tril_(id(this), diagonal); return this; }
  add_(other: TensorLike, alpha: number | { alpha?: number } = 1): this {
    if (typeof alpha !== 'number') alpha = scaleOf('add_', alpha, 'alpha');
    if (typeof other === 'number') native.addScalar_(id(this), other, alpha);
    else native.add_(id(this), id(other), alpha);
    return this;
  }
  sub_(other: TensorLike, alpha: number | { alpha?: number } = 1): this {
    if (typeof alpha !== 'number') alpha = scaleOf('sub_', alpha, 'alpha');
    if (typeof other === 'number') native.subScalar_(id(this), other, alpha);
    else native.sub_(id(this), id(other), alpha);
    return this;
  }
  mul_(other: TensorLike): this {
    if (typeof other === 'number') native.mulScalar_(id(this), other);
    else native.mul_(id(this), id(other));
    return this;
  }
  div_(other: TensorLike): this {
    if (typeof other === 'number') native.divScalar_(id(this), other);
    else native.div_(id(this), id(other));
    return this;
  }
  addcmul_(t1: Tensor, t2: Tensor, value: number | { value?: number } = 1): this { native.addcmul_(id(this), id(t1), id(t2), typeof value === 'number' ? value : scaleOf('addcmul_', value, 'value')); return this; }
  /** this = beta * this + alpha * (m1 @ m2), in place (autograd records it, as PyTorch's addmm_) */
  addmm_(m1: Tensor, m2: Tensor, opts: { beta?: number; alpha?: number } = {}): this {
    opts = keywordOptions('addmm_', opts, ['beta', 'alpha']);
    native.addmm_(id(this), id(m1), id(m2), opts.beta ?? 1, opts.alpha ?? 1);
    return this;
  }
  addcdiv_(t1: Tensor, t2: Tensor, value: number | { value?: number } = 1): this { native.addcdiv_(id(this), id(t1), id(t2), typeof value === 'number' ? value : scaleOf('addcdiv_', value, 'value')); return this; }
  lerp_(end: Tensor, weight: TensorLike): this {
    if (typeof weight === 'number') native.lerp_(id(this), id(end), weight);
    else native.lerpTensor_(id(this), id(end), id(weight));
    return this;
  }
  copy_(src: Tensor): this { native.copy_(id(this), id(src)); return this; }
  zero_(): this { native.zero_(id(this)); return this; }
  fill_(value: Scalar): this { native.fill_(id(this), value); return this; }
  /** Draws from N(mean, std²): normal_(mean, std) or normal_({ mean, std, generator }). */
  normal_(...args: PositionalOr<[mean?: number, std?: number], RandomDraw & { mean?: number; std?: number }>): this {
    const o = drawArgs<{ mean?: number; std?: number }>('normal_', args, ['mean', 'std']);
    native.normal_(id(this), o.mean ?? 0, o.std ?? 1, o.handle);
    return this;
  }
  /** Draws from U[from, to). */
  uniform_(...args: PositionalOr<[from?: number, to?: number], RandomDraw & { from?: number; to?: number }>): this {
    const o = drawArgs<{ from?: number; to?: number }>('uniform_', args, ['from', 'to']);
    native.uniform_(id(this), o.from ?? 0, o.to ?? 1, o.handle);
    return this;
  }
  sqrt_(): this { native.sqrt_(id(this)); return this; }
  maskedFill_(mask: Tensor, value: number | Tensor): this {
    if (typeof value === 'number') native.maskedFill_(id(this), id(mask), value);
    else native.maskedFillTensor_(id(this), id(mask), id(value));
    return this;
  }
  clamp_(min?: TensorLike | null | { min?: TensorLike | null; max?: TensorLike | null }, max?: TensorLike | null | { max?: TensorLike | null }): this {
    if (isKeywords(min) || isKeywords(max)) ({ min, max } = named<{ min?: TensorLike | null; max?: TensorLike | null }>('clamp_', [min, max], ['min', 'max']));
    if (min instanceof Tensor || max instanceof Tensor) {
      // (tensor bounds: clamped, then written back in place, as autograd records PyTorch's)
      const c = this.clampBy(min ?? null, max ?? null);
      this.copy_(c);
      c.dispose();
      return this;
    }
    native.clamp_(id(this), min ?? null, max ?? null);
    return this;
  }
  relu_(): this { native.relu_(id(this)); return this; }
  exp_(): this { native.exp_(id(this)); return this; }
  log_(): this { native.log_(id(this)); return this; }
  abs_(): this { native.abs_(id(this)); return this; }
  neg_(): this { native.neg_(id(this)); return this; }
  tanh_(): this { native.tanh_(id(this)); return this; }
  sigmoid_(): this { native.sigmoid_(id(this)); return this; }
  erfinv_(): this { native.erfinv_(id(this)); return this; }
  pow_(exponent: number): this { native.powScalar_(id(this), exponent); return this; }
  /** Fills the main diagonal (of a matrix, or of every dim at once); wrap continues it below for tall matrices. */
  fillDiagonal_(value: number, wrap = false): this { native.fillDiagonal_(id(this), value, wrap); return this; }
  /** Each element 1 with probability p, else 0 (the generator's draw). */
  bernoulli_(...args: PositionalOr<[p?: number], RandomDraw & { p?: number }>): this {
    const o = drawArgs<{ p?: number }>('bernoulli_', args, ['p']);
    native.bernoulli_(id(this), o.p ?? 0.5, o.handle);
    return this;
  }
  /** Draws from the exponential distribution of rate lambd. */
  exponential_(...args: PositionalOr<[lambd?: number], RandomDraw & { lambd?: number }>): this {
    const o = drawArgs<{ lambd?: number }>('exponential_', args, ['lambd']);
    native.exponential_(id(this), o.lambd ?? 1, o.handle);
    return this;
  }
  /** Draws from the Cauchy distribution (median, sigma). */
  cauchy_(...args: PositionalOr<[median?: number, sigma?: number], RandomDraw & { median?: number; sigma?: number }>): this {
    const o = drawArgs<{ median?: number; sigma?: number }>('cauchy_', args, ['median', 'sigma']);
    native.cauchy_(id(this), o.median ?? 0, o.sigma ?? 1, o.handle);
    return this;
  }
  /** Draws the number of Bernoulli(p) trials up to the first success (1, 2, ...). */
  geometric_(...args: PositionalOr<[p: number], RandomDraw & { p?: number }>): this {
    const o = drawArgs<{ p?: number }>('geometric_', args, ['p']);
    if (o.p === undefined) throw new Error('Tensor.geometric_: give p, the success probability (geometric_(p) or { p })');
    native.geometric_(id(this), o.p, o.handle);
    return this;
  }
  /** Draws exp(N(mean, std²)). */
  logNormal_(...args: PositionalOr<[mean?: number, std?: number], RandomDraw & { mean?: number; std?: number }>): this {
    const o = drawArgs<{ mean?: number; std?: number }>('logNormal_', args, ['mean', 'std']);
    native.logNormal_(id(this), o.mean ?? 1, o.std ?? 2, o.handle);
    return this;
  }
  /** random_(): [0, the dtype's max] (integers) / [0, 2^mantissa] (floats); random_(to): [0, to); random_(from, to): [from, to). */
  random_(...args: PositionalOr<[from?: number | null, to?: number | null], RandomDraw & { from?: number | null; to?: number | null }>): this {
    const { from, to, handle } = drawArgs<{ from?: number | null; to?: number | null }>('random_', args, ['from', 'to']);
    if (to !== undefined && to !== null) native.random_(id(this), from ?? 0, to, handle); // (random_({ to }) as Python's random_(to=n))
    else if (from !== undefined && from !== null) native.random_(id(this), 0, from, handle);
    else native.randomFull_(id(this), handle);
    return this;
  }
  scatter_(dim: number, index: Tensor, src: TensorLike): this {
    if (typeof src === 'number') native.scatterScalar_(id(this), dim, id(index), src);
    else native.scatter_(id(this), dim, id(index), id(src));
    return this;
  }
  scatterAdd_(dim: number, index: Tensor, src: Tensor): this { native.scatterAdd_(id(this), dim, id(index), id(src)); return this; }
  indexAdd_(dim: number, index: Tensor, source: Tensor, opts: { alpha?: number } = {}): this {
    opts = keywordOptions('indexAdd_', opts, ['alpha']);
    native.indexAdd_(id(this), dim, id(index), id(source), opts.alpha ?? 1);
    return this;
  }
  indexCopy_(dim: number, index: Tensor, source: Tensor): this { native.indexCopy_(id(this), dim, id(index), id(source)); return this; }
  indexFill_(dim: number, index: Tensor, value: number): this { native.indexFill_(id(this), dim, id(index), value); return this; }

  // ---------- more in-place forms ----------
  // The in-place forms libtorch binds here as "compute, then write back": the result is copied
  // into this tensor (autograd records the copy; the version counter moves), after PyTorch's
  // check that the result's dtype can be written into this one.
  private assign_(result: Tensor): this {
    if (result.dtype !== this.dtype && !native.canCast(dtypeCode(result.dtype), dtypeCode(this.dtype))) {
      const c10 = (d: DType) => ({ float32: 'Float', float64: 'Double', float16: 'Half', bfloat16: 'BFloat16', int64: 'Long', int32: 'Int', int16: 'Short', int8: 'Char', uint8: 'Byte', bool: 'Bool', complex64: 'ComplexFloat', complex128: 'ComplexDouble' } as Record<string, string>)[d] ?? d;
      const from = c10(result.dtype);
      result.dispose();
      throw new Error(`result type ${from} can't be cast to the desired output type ${c10(this.dtype)}`);
    }
    if (result.shape.join() !== this.shape.join()) {
      const shape = result.shape;
      result.dispose();
      throw new Error(`output with shape [${this.shape.join(', ')}] doesn't match the broadcast shape [${shape.join(', ')}]`);
    }
    try {
      native.copy_(id(this), id(result));
    } finally {
      result.dispose();
    }
    return this;
  }
  // f on this tensor's values, written back; with a gradient to track, f reads a copy (its
  // backward may need the values this write replaces, as libtorch's own in-place ops keep them)
  /** @internal (also the in-place activations of nn.functional) */
  _inplace_(f: (x: Tensor) => Tensor): this {
    return this.inplace_(f);
  }
  private inplace_(f: (x: Tensor) => Tensor): this {
    const src = this.requiresGrad && native.isGradEnabled() ? this.clone() : this;
    const result = f(src);
    if (src !== this) src.dispose();
    return this.assign_(result);
  }
  sgn_(): this { return this.inplace_((x) => x.sgn()); }
  sinc_(): this { return this.inplace_((x) => x.sinc()); }
  i0_(): this { return this.inplace_((x) => x.i0()); }
  conjPhysical_(): this { return this.inplace_((x) => x.conjPhysical()); }
  gcd_(o: Tensor): this { return this.inplace_((x) => x.gcd(o)); }
  lcm_(o: Tensor): this { return this.inplace_((x) => x.lcm(o)); }
  igamma_(o: Tensor): this { return this.inplace_((x) => x.igamma(o)); }
  igammac_(o: Tensor): this { return this.inplace_((x) => x.igammac(o)); }
  polygamma_(n: number): this { return this.inplace_((x) => x.polygamma(n)); }
  mvlgamma_(p: number): this { return this.inplace_((x) => x.mvlgamma(p)); }
  ldexp_(o: Tensor): this { return this.inplace_((x) => x.ldexp(o)); }
  nextafter_(o: Tensor): this { return this.inplace_((x) => x.nextafter(o)); }
  heaviside_(values: Tensor): this { return this.inplace_((x) => x.heaviside(values)); }
  floatPower_(exponent: TensorLike): this { return this.inplace_((x) => x.floatPower(exponent)); }
  bitwiseAnd_(o: Tensor): this { return this.inplace_((x) => x.bitwiseAnd(o)); }
  bitwiseOr_(o: Tensor): this { return this.inplace_((x) => x.bitwiseOr(o)); }
  bitwiseXor_(o: Tensor): this { return this.inplace_((x) => x.bitwiseXor(o)); }
  bitwiseNot_(): this { return this.inplace_((x) => x.bitwiseNot()); }
  bitwiseLeftShift_(o: Tensor): this { return this.inplace_((x) => x.bitwiseLeftShift(o)); }
  bitwiseRightShift_(o: Tensor): this { return this.inplace_((x) => x.bitwiseRightShift(o)); }
  renorm_(p: number, dim: number, maxnorm: number): this { return this.inplace_((x) => x.renorm(p, dim, maxnorm)); }
  maskedScatter_(mask: Tensor, source: Tensor): this { return this.inplace_((x) => x.maskedScatter(mask, source)); }
  scatterReduce_(dim: number, index: Tensor, src: Tensor, reduce: 'sum' | 'prod' | 'mean' | 'amax' | 'amin', opts: { includeSelf?: boolean } = {}): this {
    return this.inplace_((x) => x.scatterReduce(dim, index, src, reduce, opts));
  }
  indexReduce_(dim: number, index: Tensor, source: Tensor, reduce: 'prod' | 'mean' | 'amax' | 'amin', opts: { includeSelf?: boolean } = {}): this {
    return this.inplace_((x) => x.indexReduce(dim, index, source, reduce, opts));
  }
  addmv_(mat: Tensor, vec: Tensor, opts: { beta?: number; alpha?: number } = {}): this { return this.inplace_((x) => x.addmv(mat, vec, opts)); }
  baddbmm_(batch1: Tensor, batch2: Tensor, opts: { beta?: number; alpha?: number } = {}): this { return this.inplace_((x) => x.baddbmm(batch1, batch2, opts)); }
  /** beta * this + alpha * sum over b of batch1[b] @ batch2[b] */
  addbmm(batch1: Tensor, batch2: Tensor, opts: { beta?: number; alpha?: number } = {}): Tensor {
    opts = keywordOptions('addbmm', opts, ['beta', 'alpha']);
    return wrap(native.addbmm(id(this), id(batch1), id(batch2), opts.beta ?? 1, opts.alpha ?? 1));
  }
  addbmm_(batch1: Tensor, batch2: Tensor, opts: { beta?: number; alpha?: number } = {}): this { return this.inplace_((x) => x.addbmm(batch1, batch2, opts)); }
  /** beta * this + alpha * outer(vec1, vec2) */
  addr(vec1: Tensor, vec2: Tensor, opts: { beta?: number; alpha?: number } = {}): Tensor {
    opts = keywordOptions('addr', opts, ['beta', 'alpha']);
    return wrap(native.addr(id(this), id(vec1), id(vec2), opts.beta ?? 1, opts.alpha ?? 1));
  }
  addr_(vec1: Tensor, vec2: Tensor, opts: { beta?: number; alpha?: number } = {}): this { return this.inplace_((x) => x.addr(vec1, vec2, opts)); }
  // PyTorch's other names for in-place ops
  absolute_(): this { return this.abs_(); }
  negative_(): this { return this.neg_(); }
  arccos_(): this { return this.acos_(); }
  arccosh_(): this { return this.acosh_(); }
  arcsin_(): this { return this.asin_(); }
  arcsinh_(): this { return this.asinh_(); }
  arctan_(): this { return this.atan_(); }
  arctanh_(): this { return this.atanh_(); }
  arctan2_(other: Tensor): this { return this.atan2_(other); }
  divide_(other: TensorLike): this { return this.div_(other); }
  trueDivide_(other: TensorLike): this { return this.div_(other); }
  multiply_(other: TensorLike): this { return this.mul_(other); }
  subtract_(other: TensorLike, alpha = 1): this { return this.sub_(other, alpha); }
  greater_(other: TensorLike): this { return this.gt_(other); }
  greaterEqual_(other: TensorLike): this { return this.ge_(other); }
  less_(other: TensorLike): this { return this.lt_(other); }
  lessEqual_(other: TensorLike): this { return this.le_(other); }
  notEqual_(other: TensorLike): this { return this.ne_(other); }
  swapaxes_(a: number, b: number): this { return this.transpose_(a, b); }
  swapdims_(a: number, b: number): this { return this.transpose_(a, b); }

  // ---------- the linalg methods PyTorch has on tensors ----------
  det(): Tensor { return wrap(native.linalgDet(id(this))); }
  inverse(): Tensor { return wrap(native.linalgInv(id(this))); }
  matrixExp(): Tensor { return wrap(native.linalgMatrixExp(id(this))); }
  matrixPower(n: number): Tensor { return wrap(native.linalgMatrixPower(id(this), n)); }
  slogdet(): NamedTuple<{ sign: Tensor; logabsdet: Tensor }> {
    const [sign, logabsdet] = (native.linalgSlogdet(id(this)) as number[]).map(wrap);
    return namedTuple({ sign, logabsdet });
  }
  pinverse(rcond = 1e-15): Tensor { return wrap(native.linalgPinv(id(this), rcond, false)); }
  /** Tensor.svd (torch.svd): V itself, not Vᴴ; reduced factors unless some is false. */
  svd(some = true): NamedTuple<{ U: Tensor; S: Tensor; V: Tensor }> {
    const [U, S, Vh] = (native.linalgSvd(id(this), !some) as number[]).map(wrap);
    const V = Vh.mH;
    Vh.dispose();
    return namedTuple({ U, S, V });
  }
  /** Tensor.qr (torch.qr): reduced unless some is false. */
  qr(some = true): NamedTuple<{ Q: Tensor; R: Tensor }> {
    const [Q, R] = (native.linalgQr(id(this), some ? 'reduced' : 'complete') as number[]).map(wrap);
    return namedTuple({ Q, R });
  }
  /** Tensor.cholesky (torch.cholesky): the lower factor, or the upper one. */
  cholesky(upper = false): Tensor { return wrap(native.linalgCholesky(id(this), upper)); }
  kron(other: Tensor): Tensor { return wrap(native.kron(id(this), id(other))); }

  // ---------- method forms of torch functions: t.f(...) is torch.f(t, ...) ----------
  /** torch.cholesky_solve(this, L): X with (L Lᴴ) X = this, from A's Cholesky factor L (or upper U). */
  choleskySolve(L: Tensor, upper = false): Tensor { return wrap(native.choleskySolve(id(this), id(L), upper)); }
  /** torch.cholesky_inverse(this): A's inverse from its Cholesky factor (this is L, or U with upper). */
  choleskyInverse(upper = false): Tensor { return wrap(native.choleskyInverse(id(this), upper)); }
  /** torch.lu(this): the packed LU factorization and its pivots; getInfos adds info (> 0: singular) instead of failing. */
  lu(...args: [opts?: { pivot?: boolean; getInfos?: boolean }] | [pivot?: boolean, getInfos?: boolean]): NamedTuple<{ LU: Tensor; pivots: Tensor; infos?: Tensor }> {
    return luOf(this, optionsOf('lu', args, ['pivot', 'getInfos']));
  }
  /** torch.lu_solve(this, LU, pivots): X with A X = this, from A's lu(). */
  luSolve(LU: Tensor, pivots: Tensor): Tensor { return wrap(native.linalgLuSolve(id(LU), id(pivots), id(this), true, false)); }
  /**
   * torch.triangular_solve(this, A): X with A X = this for a triangular A (upper unless upper is
   * false; transpose: Aᵀ X = this); cloned_coefficient is a copy of A, as PyTorch returns.
   */
  triangularSolve(A: Tensor, upper = true, transpose = false, unitriangular = false): NamedTuple<{ solution: Tensor; clonedCoefficient: Tensor }> {
    const coefficient = transpose ? A.mT : A;
    const solution = wrap(native.linalgSolveTriangular(id(coefficient), id(this), upper !== transpose, true, unitriangular));
    if (transpose) coefficient.dispose();
    return namedTuple({ solution, clonedCoefficient: A.clone() });
  }
  /** torch.geqrf(this): QR in LAPACK's Householder form (see torch.geqrf). */
  geqrf(): NamedTuple<{ a: Tensor; tau: Tensor }> {
    const [a, tau] = wrapAll(native.geqrf(id(this)));
    return namedTuple({ a, tau });
  }
  /** torch.ormqr(this, tau, other): other multiplied by the Q of geqrf's (this, tau), without forming it. */
  ormqr(tau: Tensor, other: Tensor, left = true, transpose = false): Tensor { return wrap(native.ormqr(id(this), id(tau), id(other), left, transpose)); }
  /** torch.orgqr(this, tau): the Q of geqrf's (this, tau), formed. */
  orgqr(tau: Tensor): Tensor { return wrap(native.linalgHouseholderProduct(id(this), id(tau))); }
  /** torch.stft(this, nFft, ...): the short-time Fourier transform (see torch.stft). */
  stft(nFft: Parameters<typeof stftOf>[1], ...args: StftArgs): Tensor { return stftOf(this, nFft, ...args); }
  /** torch.istft(this, nFft, ...): the signal of an stft (see torch.istft). */
  istft(nFft: Parameters<typeof istftOf>[1], ...args: IstftArgs): Tensor { return istftOf(this, nFft, ...args); }
  /**
   * Tensor.bernoulli(): 1 where a draw falls below this tensor's probabilities, else 0 (torch.bernoulli);
   * bernoulli(p): a tensor of this one's shape and dtype, each element 1 with probability p.
   */
  bernoulli(p?: number | RandomDraw, opts: RandomDraw = {}): Tensor {
    if (typeof p !== 'number') return wrap(native.bernoulli(id(this), drawGenerator('Tensor.bernoulli', p ?? opts)));
    return this.newEmpty(this.shape).bernoulli_(p, opts);
  }
  /** F.hardshrink(this, lambd): x where |x| > lambd, else 0. */
  hardshrink(lambd = 0.5): Tensor { return wrap(native.hardshrink(id(this), lambd)); }
  /** F.prelu(this, weight): max(0, x) + weight · min(0, x), weight per channel (dim 1) or one. */
  prelu(weight: Tensor): Tensor { return wrap(native.prelu(id(this), id(weight))); }
  /** torch.split_with_sizes: pieces of the given sizes along dim (split(sizes, dim)). */
  splitWithSizes(sizes: number[], dim = 0): Tensor[] { return this.split(sizes, dim); }
  /** Tensor.index_put (out of place): a copy with values put (or, with accumulate, added) at the index tensors' positions. */
  indexPut(indices: Tensor[], values: Tensor, accumulate = false): Tensor { return this.indexPutTensors(indices, values, accumulate); }
  /** Tensor.resize_as_: resize_ to other's shape. */
  resizeAs_(other: Tensor): this { return this.resize_(_self('Tensor.resizeAs_', other).shape); }
  /** Tensor.to_sparse_coo(): the COO sparse form (toSparse()). */
  toSparseCoo(): Tensor { return this.toSparse(); }
  /** Tensor.new_empty_strided: an uninitialized tensor of this one's dtype and device with the given size and strides. */
  newEmptyStrided(size: Shape, stride: number[], opts: { dtype?: DType; device?: Device; requiresGrad?: boolean } = {}): Tensor {
    return emptyStridedOf(size, stride, { dtype: opts.dtype ?? this.dtype, device: opts.device ?? this.device, requiresGrad: opts.requiresGrad });
  }
  /**
   * Tensor.type(): with no argument, PyTorch's type name ('torch.FloatTensor'; 'torch.cuda.FloatTensor'
   * on a GPU); with a dtype, this tensor cast to it (itself when it already has it).
   */
  type(): string;
  type(dtype: DType): Tensor;
  type(dtype?: DType): string | Tensor {
    if (dtype !== undefined) return dtype === this.dtype ? this : this.to({ dtype });
    const names: Record<string, string> = { float32: 'Float', float64: 'Double', float16: 'Half', bfloat16: 'BFloat16', int64: 'Long', int32: 'Int', int16: 'Short', int8: 'Char', uint8: 'Byte', bool: 'Bool', complex64: 'ComplexFloat', complex128: 'ComplexDouble' };
    return `torch.${this.device.startsWith('cuda') ? 'cuda.' : ''}${names[this.dtype] ?? this.dtype}Tensor`;
  }
  /** apply_(fn): fn on every element, in place (CPU tensors only, as PyTorch's; slow: a JS call per element). */
  apply_(fn: (x: number) => number): this {
    return this.mapElements_(null, (x) => fn(x), 'apply_');
  }
  /** map_(other, fn): fn(this element, other's) on every element, in place (other broadcast; CPU only). */
  map_(other: Tensor, fn: (x: number, y: number) => number): this {
    return this.mapElements_(other, fn, 'map_');
  }
  private mapElements_(other: Tensor | null, fn: (x: number, y: number) => number, what: string): this {
    if (this.device !== 'cpu') throw new Error(`${what}() is only implemented on CPU tensors`);
    if (isComplexDtype(this.dtype)) throw new Error(`${what}() is not implemented for complex tensors`);
    if (typeof fn !== 'function') throw new TypeError(`${what}: give the function to apply, got ${describeValue(fn)}`);
    const n = this.numel();
    const src = native.doubles(id(this)) as Float64Array;
    let ys: Float64Array | null = null;
    if (other) {
      const expanded = _self(`Tensor.${what}`, other).expand(this.shape); // (a view, freed here)
      try {
        ys = native.doubles(id(expanded)) as Float64Array;
      } finally {
        expanded.dispose();
      }
    }
    const out = new Float64Array(n);
    for (let k = 0; k < n; k++) out[k] = fn(src[k], ys ? ys[k] : 0);
    const result = wrap(native.fromData(out, this.shape, dtypeCode('float64'), deviceCode('cpu')));
    try {
      noGradCopy(this, result);
    } finally {
      result.dispose();
    }
    return this;
  }
  /** Whether every element is close to other's (isclose, all of it), as a boolean. */
  allclose(other: Tensor, ...args: CloseArgs): boolean {
    const close = this.isclose(other, optionsOf<CloseOptions>('allclose', args, CLOSE_KEYS));
    const all = close.all();
    const r = all.item<boolean>();
    close.dispose();
    all.dispose();
    return r;
  }
  /** A new tensor of data with this one's dtype and device (Tensor.new_tensor). */
  newTensor(data: TensorData, opts: { dtype?: DType; device?: Device } = {}): Tensor {
    return tensorFromData(data, { dtype: opts.dtype ?? this.dtype, device: opts.device ?? this.device });
  }
  /** The address of the first element (Tensor.data_ptr): equal for a tensor and its views that start there. */
  dataPtr(): number { return native.dataPtr(id(this)); }
  /**
   * The autograd node that made this tensor (Tensor.grad_fn), null for a leaf: name()
   * ("MulBackward0"), nextFunctions (its inputs' nodes, as PyTorch's next_functions), and for
   * an AccumulateGrad node the leaf it accumulates into (variable).
   */
  get gradFn(): GraphNode | null {
    const n = native.gradFn(id(this));
    return n === null ? null : new GraphNode(n);
  }

}

// unique()'s optional results: the ones not asked for are freed, not returned; none asked for,
// the values alone (PyTorch's torch.unique(x) is a tensor).
function uniqueResult(values: Tensor, inverse: Tensor, counts: Tensor, opts: { returnInverse?: boolean; returnCounts?: boolean }): Tensor | UniqueTuple {
  const out: { values: Tensor; inverse?: Tensor; counts?: Tensor } = { values };
  if (opts.returnInverse) out.inverse = inverse;
  else inverse.dispose();
  if (opts.returnCounts) out.counts = counts;
  else counts.dispose();
  if (!opts.returnInverse && !opts.returnCounts) return values;
  // (as a tuple: PyTorch's (output, inverse_indices, counts), those asked for)
  return namedTuple(out);
}

/** A node of the autograd graph (what Tensor.gradFn gives): PyTorch's torch.autograd.graph.Node. */
export class GraphNode {
  /** @internal */
  constructor(private readonly handle: unknown) {}
  /** the node's class, as Python's grad_fn.name(): "MulBackward0", "AccumulateGrad" */
  name(): string { return native.nodeName(this.handle); }
  /** [node or null, inputNr] for each input of the op, as PyTorch's next_functions */
  get nextFunctions(): [GraphNode | null, number][] {
    return (native.nodeNext(this.handle) as [unknown, number][]).map(([n, k]) => [n === null ? null : new GraphNode(n), k]);
  }
  /** an AccumulateGrad node's leaf tensor (a new handle to it), else undefined */
  get variable(): Tensor | undefined {
    const h = native.nodeVariable(this.handle) as number;
    return h < 0 ? undefined : wrap(h);
  }
  /**
   * register_hook: hook(gradInputs, gradOutputs) after this node's backward, gradInputs being the
   * gradients it passes on (one per input, null for none); returning an array replaces them.
   */
  registerHook(hook: (gradInputs: (Tensor | null)[], gradOutputs: (Tensor | null)[]) => (Tensor | null)[] | void | null | undefined): RemovableHandle {
    return registerNodeHook(this.handle, hook);
  }
  /** register_prehook: hook(gradOutputs) before this node's backward; returning an array replaces them. */
  registerPrehook(hook: (gradOutputs: (Tensor | null)[]) => (Tensor | null)[] | void | null | undefined): RemovableHandle {
    return registerNodePrehook(this.handle, hook);
  }
  /** whether this is the same node as other (each read of gradFn gives a new GraphNode object) */
  is(other: GraphNode | null): boolean { return other !== null && native.nodeSame(this.handle, other.handle); }
  toString(): string { return `<${this.name()}>`; }
}

// apply_ / map_ write values, not a differentiable op: the copy is outside autograd, as PyTorch's.
function noGradCopy(dst: Tensor, src: Tensor): void {
  const prev = native.setGradEnabled(false);
  try {
    native.copy_(id(dst), id(src));
  } finally {
    native.setGradEnabled(prev);
  }
}

/** @internal */
export const _wrap = wrap;
/** @internal */
export const _id = id;
/** A torch.* function's tensor argument, checked: PyTorch's "argument 'input' must be Tensor", not "Cannot read properties of undefined". */
export function _self(fn: string, x: Tensor): Tensor {
  if (!(x instanceof Tensor)) throw new TypeError(`${fn}: the first argument must be a Tensor, got ${describeValue(x)}`);
  return x;
}

/** The conjugate of a view made for it, the view freed (mH's and H's transpose). */
function conjOf(view: Tensor): Tensor {
  try {
    return view.conj();
  } finally {
    view.dispose();
  }
}

/** A block size of two positive integers, checked here: libtorch 1.13 reads past a shorter list (a crash, in Python too). */
function blockSize(op: string, blocksize: unknown): [number, number] {
  if (!(Array.isArray(blocksize) && blocksize.length === 2 && blocksize.every((n) => Number.isSafeInteger(n) && n > 0))) {
    throw new Error(`${op}: blocksize must be two positive integers [rows, cols], got ${JSON.stringify(blocksize) ?? String(blocksize)}`);
  }
  return blocksize as [number, number];
}
