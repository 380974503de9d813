// Factory functions: torch.tensor, zeros, ones, randn, ... Shapes are arrays.
import * as fs from 'fs';
import { native } from './native';
import { DType, Device, dtypeCode, dtypeBytes, deviceCode, isFloatingDtype, isComplexDtype, complexOf, defaults } from './dtype';
import { Shape, Tensor, _self as self, _wrap as wrap, _id as id } from './tensor';
import { Generator, generatorHandle } from './generator';
import { keywordOptions, isOptionsObject } from './options';
import { noGrad } from './runtime';

export interface TensorOptions {
  dtype?: DType;
  device?: Device;
  requiresGrad?: boolean;
}
/** Options of the random factories: a torch.Generator to draw from instead of the device's default one. */
export interface RandomOptions extends TensorOptions {
  generator?: Generator | null;
}

/** A complex number as tolist() gives it and torch.tensor() takes it. */
export interface Complex { re: number; im: number }
type NestedNumbers = number | boolean | Complex | NestedNumbers[];
const isComplexValue = (v: unknown): v is Complex => typeof v === 'object' && v !== null && !Array.isArray(v) && 're' in v && 'im' in v;
export type TensorData =
  | NestedNumbers
  | Float32Array | Float64Array | Int32Array | BigInt64Array | Int16Array | Int8Array | Uint8Array | Uint8ClampedArray | Uint16Array | Uint32Array;

// torch.set_default_device / torch.set_default_dtype: what factories use when opts say nothing
// (kept in dtype.ts's `defaults`, which printing reads too).
/** The device factories (tensor, zeros, randn, ...) use when none is given; 'cpu' at first. */
export function setDefaultDevice(device: Device | null): void {
  const code = deviceCode(device ?? 'cpu'); // validates the name
  if (code >= 0 && !native.cudaIsAvailable()) throw new Error(`setDefaultDevice('${device}'): CUDA is not available (this build or machine has none)`);
  defaults.device = device ?? 'cpu';
}
export const getDefaultDevice = (): Device => defaults.device;
/** fn() with another default device (PyTorch 2's `with torch.device(d):`), the previous one restored after. */
export function withDefaultDevice<T>(device: Device, fn: () => T): T {
  const before = defaults.device;
  setDefaultDevice(device);
  try {
    return fn();
  } finally {
    defaults.device = before;
  }
}
/** The floating dtype of factories and of torch.tensor() from non-integers: 'float32' at first. */
export function setDefaultDtype(dtype: DType): void {
  if (!isFloatingDtype(dtype)) throw new Error(`setDefaultDtype: only floating dtypes can be the default, got '${dtype}'`);
  defaults.floatDtype = dtype;
}
export const getDefaultDtype = (): DType => defaults.floatDtype;
const dev = (opts: TensorOptions) => deviceCode(opts.device ?? defaults.device);

// A factory's options, checked before anything is made: a key it does not know (PyTorch's
// requires_grad, a typo such as dtyp) is an error naming the right one, never quietly ignored.
const TENSOR_KEYS = ['dtype', 'device', 'requiresGrad'];
const RANDOM_KEYS = [...TENSOR_KEYS, 'generator'];
const TENSOR_DATA_KEYS = [...TENSOR_KEYS, 'shape'];
const checked = <O extends object>(name: string, opts: O | undefined, keys = TENSOR_KEYS): O => keywordOptions<O>(name, opts, keys);

function finish(t: Tensor, opts: TensorOptions): Tensor {
  if (opts.requiresGrad) t.requiresGrad_(true);
  return t;
}

function inferShape(data: NestedNumbers): number[] {
  const shape: number[] = [];
  let d: NestedNumbers = data;
  while (Array.isArray(d)) {
    shape.push(d.length);
    if (d.length === 0) break;
    d = d[0];
  }
  return shape;
}

function flatten(data: NestedNumbers, shape: number[], out: number[], depth: number, complex: boolean): void {
  if (depth === shape.length) {
    if (Array.isArray(data)) throw new Error('tstorch.tensor: ragged nested array (too deep at some position)');
    if (complex) {
      // Real numbers mix in as x + 0j (Python's [1+2j, 3] does the same).
      if (isComplexValue(data)) out.push(data.re, data.im);
      else if (typeof data === 'number') out.push(data, 0);
      else throw new Error(`tstorch.tensor: expected a number or { re, im }, got ${JSON.stringify(data)}`);
      return;
    }
    if (isComplexValue(data)) throw new Error('tstorch.tensor: complex values { re, im } must come first or not at all (the first element decides the kind); write the first one as { re: x, im: 0 }');
    if (typeof data === 'object') throw new Error(`tstorch.tensor: expected a number or boolean, got ${JSON.stringify(data)}`);
    out.push(typeof data === 'boolean' ? (data ? 1 : 0) : data);
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[depth]) {
    throw new Error(`tstorch.tensor: ragged nested array: expected length ${shape[depth]} at depth ${depth}`);
  }
  for (const x of data) flatten(x, shape, out, depth + 1, complex);
}

function defaultDtypeOf(data: TensorData, flat?: number[]): DType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Uint8Array || data instanceof Uint8ClampedArray) return 'uint8';
  // (libtorch 1.13 has no uint16 / uint32: the smallest signed dtype that holds every value)
  if (data instanceof Uint16Array) return 'int32';
  if (data instanceof Uint32Array) return 'int64';
  // Like Python: all-bool -> bool, all-integer -> int64, otherwise the default (float32).
  let probe: NestedNumbers = data as NestedNumbers;
  while (Array.isArray(probe) && probe.length) probe = probe[0];
  if (typeof probe === 'boolean') return 'bool';
  return flat && flat.every(Number.isInteger) ? 'int64' : defaults.floatDtype;
}

/** torch.tensor(data, {dtype, device, requiresGrad}) from nested arrays, numbers or typed arrays. */
export function tensor(data: TensorData, opts: TensorOptions & { shape?: Shape } = {}): Tensor {
  opts = checked('tensor', opts, TENSOR_DATA_KEYS);
  let typed: ArrayBufferView;
  let shape: number[];
  let dtype: DType;
  if (ArrayBuffer.isView(data)) {
    if (data instanceof DataView || data instanceof BigUint64Array) throw new Error(`tstorch.tensor: a ${data.constructor.name} is not taken; give a typed array of a dtype libtorch has (Float32Array, Int32Array, BigInt64Array, Uint8Array, ...)`);
    // (Uint16Array / Uint32Array values are carried exactly as float64, then converted)
    typed = data instanceof Uint16Array || data instanceof Uint32Array ? new Float64Array(data) : data;
    shape = opts.shape ?? [(data as Float32Array).length];
    dtype = opts.dtype ?? defaultDtypeOf(data);
  } else {
    shape = inferShape(data as NestedNumbers);
    let probe: NestedNumbers = data as NestedNumbers;
    while (Array.isArray(probe) && probe.length) probe = probe[0];
    if (isComplexValue(probe)) return complexTensor(data as NestedNumbers, shape, opts);
    const flat: number[] = [];
    flatten(data as NestedNumbers, shape, flat, 0, false);
    dtype = opts.dtype ?? defaultDtypeOf(data, flat);
    // (JS writes 1.0 as 1: whole numbers asked to require grad are the default float, not int64)
    if (opts.dtype == null && opts.requiresGrad && dtype === 'int64') dtype = defaults.floatDtype;
    // Float64 carries every JS number exactly; libtorch converts to the target dtype.
    typed = new Float64Array(flat);
    if (opts.shape) shape = opts.shape;
  }
  checkGradDtype(dtype, opts);
  const t = wrap(native.fromData(typed, shape, dtypeCode(dtype), dev(opts)));
  return finish(t, opts);
}

// The typed array that reads a buffer's bytes as each dtype (bool: one byte per value, 0 or 1).
const BUFFER_VIEWS: Partial<Record<DType, { new (b: ArrayBuffer, offset: number, length: number): ArrayBufferView; BYTES_PER_ELEMENT: number }>> = {
  float32: Float32Array, float64: Float64Array, int32: Int32Array, int64: BigInt64Array, int16: Int16Array, int8: Int8Array, uint8: Uint8Array, bool: Uint8Array,
  float16: Int16Array, bfloat16: Int16Array, // (JS has no such numbers: their bits, read as int16 and reinterpreted)
};
/**
 * torch.frombuffer(buffer, dtype=..., count=-1, offset=0): a buffer's bytes (from byte offset,
 * count elements or all that fit) read as dtype, in the machine's byte order. Unlike PyTorch's,
 * the tensor is a copy: it does not share the buffer's memory.
 */
export function frombuffer(buffer: ArrayBuffer | ArrayBufferView, opts: TensorOptions & { dtype: DType; count?: number; offset?: number }): Tensor {
  const { count = -1, offset = 0, ...rest } = keywordOptions<TensorOptions & { dtype: DType; count?: number; offset?: number }>('frombuffer', opts, [...TENSOR_KEYS, 'count', 'offset']);
  const View = Object.hasOwn(BUFFER_VIEWS, rest.dtype) ? BUFFER_VIEWS[rest.dtype] : undefined;
  if (!View) throw new Error(`frombuffer: give the dtype the bytes hold ({ dtype: 'int32' }): one of ${Object.keys(BUFFER_VIEWS).join(', ')}${rest.dtype === undefined ? '' : `, got '${rest.dtype}'`}`);
  const bytes = ArrayBuffer.isView(buffer) ? new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength) : new Uint8Array(buffer);
  const size = View.BYTES_PER_ELEMENT;
  if (!Number.isInteger(offset) || offset < 0 || offset > bytes.length) throw new Error(`frombuffer: offset must be a byte position from 0 to the buffer's length (${bytes.length}), got ${offset}`);
  const fits = Math.floor((bytes.length - offset) / size);
  if (!Number.isInteger(count) || count === 0 || count < -1 || count > fits) {
    throw new Error(`frombuffer: count must be -1 (all) or from 1 to ${fits} (the ${rest.dtype} values in the ${bytes.length - offset} bytes after offset ${offset}), got ${count}`);
  }
  if (count === -1 && (bytes.length - offset) % size) {
    throw new Error(`frombuffer: ${bytes.length - offset} bytes after offset ${offset} are not a whole number of ${rest.dtype} values (${size} bytes each); give count`);
  }
  const n = count === -1 ? fits : count;
  if (n === 0) throw new Error('frombuffer: the buffer holds no values after offset');
  // (a copy of just those bytes: a typed array needs its offset a multiple of its element size)
  const own = bytes.slice(offset, offset + n * size);
  if (rest.dtype !== 'float16' && rest.dtype !== 'bfloat16') return tensor(new View(own.buffer, 0, n) as TensorData, { ...rest, shape: [n] });
  const bits = tensor(new View(own.buffer, 0, n) as TensorData, { dtype: 'int16', device: rest.device, shape: [n] });
  const t = bits.view(rest.dtype);
  bits.dispose();
  return finish(t, rest);
}

function checkGradDtype(dtype: DType, opts: TensorOptions): void {
  if (opts.requiresGrad && !isFloatingDtype(dtype) && !isComplexDtype(dtype)) {
    throw new Error(`tstorch.tensor: only floating-point and complex tensors can require gradients (dtype is ${dtype})`);
  }
}

/** torch.tensor from { re, im } values: complex64 (complex128 when the default dtype is float64). */
function complexTensor(data: NestedNumbers, shape: number[], opts: TensorOptions & { shape?: Shape }): Tensor {
  const flat: number[] = [];
  flatten(data, shape, flat, 0, true);
  const dtype = opts.dtype ?? complexOf(defaults.floatDtype);
  if (!isComplexDtype(dtype)) throw new Error(`tstorch.tensor: complex values need a complex dtype (complex64 or complex128), got '${dtype}'`);
  checkGradDtype(dtype, opts);
  const pairs = wrap(native.fromData(new Float64Array(flat), [...(opts.shape ?? shape), 2], dtypeCode('float64'), dev(opts)));
  const asComplex = wrap(native.viewAsComplex(id(pairs)));
  const t = asComplex.to({ dtype }); // the float64 pairs' own memory when complex128
  pairs.dispose();
  asComplex.dispose();
  return finish(t, opts);
}

function make(fn: string, shape: Shape, opts: RandomOptions): Tensor {
  return finish(wrap(native[fn](shape, dtypeCode(opts.dtype ?? defaults.floatDtype), dev(opts), generatorHandle(opts))), opts);
}

// (the shape as an array, or PyTorch's sizes one by one: zeros(2, 3), zeros(2, 3, { dtype: 'float64' }))
// (or by name, as Python's torch.zeros(size=(2, 3)): zeros({ size: [2, 3], dtype: 'float64' }))
type ShapeArgs<O> = [shape: Shape, opts?: O] | [...sizes: number[]] | [...sizes: number[], opts: O] | [opts: O & { size: Shape }];
/** A factory's shape and options from either form; anything else says what it takes. */
function shapeAndOptions<O extends object>(name: string, args: unknown[], keys = TENSOR_KEYS): [Shape, O] {
  if (args.length === 1 && isOptionsObject(args[0]) && 'size' in args[0]) {
    const { size, ...opts } = args[0];
    if (!Array.isArray(size)) throw new Error(`${name}: size must be an array of sizes ({ size: [2, 3] }), got ${JSON.stringify(size)}`);
    return [size, checked(name, opts as O, keys)];
  }
  if (Array.isArray(args[0])) {
    if (args.length > 2 || (args[1] !== undefined && (typeof args[1] !== 'object' || args[1] === null))) throw new Error(`${name}: expected (shape, options), got ${args.length} arguments`);
    return [args[0] as Shape, checked(name, args[1] as O | undefined, keys)];
  }
  let k = 0;
  while (k < args.length && typeof args[k] === 'number') k++;
  const rest = args.slice(k);
  if (k === 0 || rest.length > 1 || (rest.length === 1 && rest[0] !== undefined && (typeof rest[0] !== 'object' || rest[0] === null))) {
    throw new Error(`${name}: expected the shape as an array ([2, 3]) or as numbers (2, 3), then an options object`);
  }
  return [args.slice(0, k) as number[], checked(name, rest[0] as O | undefined, keys)];
}
export const zeros = (...args: ShapeArgs<TensorOptions>) => make('zeros', ...shapeAndOptions<TensorOptions>('zeros', args));
export const ones = (...args: ShapeArgs<TensorOptions>) => make('ones', ...shapeAndOptions<TensorOptions>('ones', args));
export const empty = (...args: ShapeArgs<TensorOptions>) => make('empty', ...shapeAndOptions<TensorOptions>('empty', args));
export const randn = (...args: ShapeArgs<RandomOptions>) => make('randn', ...shapeAndOptions<RandomOptions>('randn', args, RANDOM_KEYS));
export const rand = (...args: ShapeArgs<RandomOptions>) => make('rand', ...shapeAndOptions<RandomOptions>('rand', args, RANDOM_KEYS));

export function full(shape: Shape, value: number | boolean, opts?: TensorOptions): Tensor;
/** every argument by name, as Python's torch.full(size=(2, 3), fill_value=7) */
export function full(opts: TensorOptions & { size: Shape; fillValue: number | boolean }): Tensor;
export function full(shape: Shape | (TensorOptions & { size: Shape; fillValue: number | boolean }), value?: number | boolean, opts: TensorOptions = {}): Tensor {
  if (!Array.isArray(shape) && isOptionsObject(shape)) {
    if (value !== undefined) throw new Error('full: an options object goes last, after the size and the value');
    ({ size: shape, fillValue: value, ...opts } = shape as TensorOptions & { size: Shape; fillValue: number | boolean });
  }
  if (!Array.isArray(shape) || (typeof value !== 'number' && typeof value !== 'boolean')) {
    throw new Error(`full: give the size (an array) and the value (a number or a boolean): full([2, 3], 7), or full({ size: [2, 3], fillValue: 7 })`);
  }
  opts = checked('full', opts);
  const dtype = opts.dtype ?? (typeof value === 'boolean' ? 'bool' : defaults.floatDtype);
  return finish(wrap(native.full(shape, value, dtypeCode(dtype), dev(opts))), opts);
}

/**
 * arange(end) or arange(start, end, step); int64 when all arguments are integers, as Python. The
 * options may follow the numbers given: arange(5, { dtype: 'float64' }), as PyTorch's keyword.
 */
export function arange(startOrEnd: number, end?: number | TensorOptions, step?: number | TensorOptions, opts?: TensorOptions): Tensor;
/** every argument by name, as Python's torch.arange(start=0, end=10, step=2) */
export function arange(opts: TensorOptions & { start?: number; end: number; step?: number }): Tensor;
export function arange(startOrEnd: number | (TensorOptions & { start?: number; end: number; step?: number }), end?: number | TensorOptions, step: number | TensorOptions = 1, opts: TensorOptions = {}): Tensor {
  if (typeof startOrEnd === 'object' && isOptionsObject(startOrEnd)) {
    if (end !== undefined) throw new Error('arange: an options object goes last, after the numbers');
    let start: number;
    ({ start = 0, end, step = 1, ...opts } = startOrEnd as TensorOptions & { start?: number; end: number; step?: number });
    if (end === undefined) throw new Error('arange: give end ({ start: 0, end: 10 }), or the numbers themselves: arange(10)');
    startOrEnd = start;
  } else if (typeof end === 'object' && end !== null) [end, step, opts] = [undefined, 1, end];
  else if (typeof step === 'object' && step !== null) [step, opts] = [1, step];
  opts = checked('arange', opts);
  const [s, e] = end === undefined || end === null ? [0, startOrEnd] : [startOrEnd, end];
  if (![s, e, step].every((v) => typeof v === 'number')) throw new Error(`arange: start, end and step must be numbers, got ${[s, e, step].map((v) => JSON.stringify(v)).join(', ')}`);
  const dtype = opts.dtype ?? ([s, e, step].every(Number.isInteger) ? 'int64' : defaults.floatDtype);
  return finish(wrap(native.arange(s, e, step, dtypeCode(dtype), dev(opts))), opts);
}

/** Integers drawn uniformly from [low, high): randint(low, high, size) or, as PyTorch's, randint(high, size) from 0. */
export function randint(high: number, shape: Shape, opts?: RandomOptions): Tensor;
export function randint(low: number, high: number, shape: Shape, opts?: RandomOptions): Tensor;
export function randint(low: number, high: number | Shape, shape?: Shape | RandomOptions, opts: RandomOptions = {}): Tensor {
  if (Array.isArray(high)) {
    if (Array.isArray(shape)) throw new Error('randint: give randint(high, size) or randint(low, high, size)');
    [low, high, shape, opts] = [0, low, high, shape ?? {}];
  }
  if (!Array.isArray(shape)) throw new Error(`randint: the size must be an array of sizes (randint(0, 10, [3])), got ${shape === undefined ? 'none' : typeof shape}`);
  opts = checked('randint', opts, RANDOM_KEYS);
  return finish(wrap(native.randint(low, high, shape, dtypeCode(opts.dtype ?? 'int64'), dev(opts), generatorHandle(opts))), opts);
}

export function randperm(n: number, opts: RandomOptions = {}): Tensor {
  opts = checked('randperm', opts, RANDOM_KEYS);
  return wrap(native.randperm(n, dtypeCode(opts.dtype ?? 'int64'), dev(opts), generatorHandle(opts)));
}

/** torch.eye(n, m=n): ones on the diagonal; the options may come second, as torch.eye(n, dtype=torch.bool) */
export function eye(n: number, m?: number | null | TensorOptions, opts: TensorOptions = {}): Tensor {
  if (m !== null && typeof m === 'object') [m, opts] = [undefined, m];
  opts = checked('eye', opts);
  return finish(wrap(native.eye(n, m ?? n, dtypeCode(opts.dtype ?? defaults.floatDtype), dev(opts))), opts);
}

/** Raw little-endian bytes of a dtype into a tensor (one copy). Used by the safetensors reader. */
export function fromBytes(bytes: Uint8Array, shape: Shape, dtype: DType, device?: Device): Tensor {
  return wrap(native.fromBytes(bytes, shape, dtypeCode(dtype), deviceCode(device)));
}

/**
 * torch.empty_strided: an uninitialized tensor with the given size and strides (in elements), over
 * a storage just large enough for them (as PyTorch's).
 */
export function emptyStrided(size: Shape, stride: number[], opts: TensorOptions = {}): Tensor {
  opts = checked('emptyStrided', opts);
  if (size.length !== stride.length) throw new Error(`emptyStrided: size has ${size.length} dimensions but stride ${stride.length}; give one stride per dimension`);
  if (stride.some((st) => !Number.isInteger(st) || st < 0)) throw new Error(`emptyStrided: strides must be non-negative integers, got [${stride}]`);
  const storage = size.some((n) => n === 0) ? 0 : 1 + size.reduce((sum, n, d) => sum + (n - 1) * stride[d], 0);
  const flat = empty([storage], { dtype: opts.dtype, device: opts.device });
  const view = flat.asStrided(size, stride);
  flat.dispose(); // (the view holds the storage)
  return finish(view, opts);
}

/**
 * torch.range (deprecated in PyTorch for arange): start, start + step, ... up to end inclusive,
 * floor((end - start) / step) + 1 values, floating (the default dtype) unless a dtype is given.
 */
export function range(start: number, end: number, step = 1, opts: TensorOptions = {}): Tensor {
  opts = checked('range', opts);
  if (step === 0 || !Number.isFinite(step)) throw new Error(`range: step must be a finite non-zero number, got ${step}`);
  if ((end - start) / step < 0) throw new Error(`range: upper bound and larger bound inconsistent with step sign (start ${start}, end ${end}, step ${step})`);
  const n = Math.floor((end - start) / step) + 1;
  // start + i·step in double precision, then cast: PyTorch's own arithmetic for it
  const i = arange(0, n, 1, { dtype: 'float64', device: opts.device });
  const values = i.mul(step).add_(start);
  i.dispose();
  const dtype = opts.dtype ?? defaults.floatDtype;
  const out = dtype === 'float64' ? values : values.to({ dtype });
  if (out !== values) values.dispose();
  return finish(out, opts);
}

/**
 * torch.from_file(filename, shared, size): the file's first `size` elements of dtype (its raw
 * little-endian bytes) as a 1-D tensor. shared false (the default) copies them, so changes to
 * the tensor do not reach the file; shared true maps the file (a CPU tensor): changes to the
 * tensor are written to the file and seen by every process mapping it, and a file that is
 * missing or smaller is made that size, as PyTorch's.
 */
export function fromFile(filename: string, shared: boolean | null = null, size = 0, opts: TensorOptions = {}): Tensor {
  opts = checked('fromFile', opts);
  const dtype = opts.dtype ?? defaults.floatDtype;
  if (!(Number.isSafeInteger(size) && size >= 0)) throw new Error(`fromFile: size must be a whole number of elements, got ${size}`);
  if (shared) {
    if (dev(opts) !== deviceCode('cpu')) throw new Error('fromFile: shared true maps the file into CPU memory; move the tensor afterwards (.to(device)) for a copy elsewhere');
    return finish(wrap(native.fromFileShared(filename, size, dtypeCode(dtype))), opts);
  }
  const need = size * dtypeBytes[dtype];
  const have = fs.statSync(filename).size;
  if (have < need) throw new Error(`fromFile: ${filename} has ${have} bytes, but ${size} elements of ${dtype} need ${need}; give a smaller size`);
  return finish(wrap(native.fromFile(filename, 0, [size], dtypeCode(dtype), dev(opts))), opts);
}

export const zerosLike = (t: Tensor, opts: TensorOptions = {}) => zeros(self('torch.zerosLike', t).shape, { dtype: t.dtype, device: t.device, ...opts });
export const onesLike = (t: Tensor, opts: TensorOptions = {}) => ones(self('torch.onesLike', t).shape, { dtype: t.dtype, device: t.device, ...opts });
export const randnLike = (t: Tensor, opts: RandomOptions = {}) => randn(self('torch.randnLike', t).shape, { dtype: t.dtype, device: t.device, ...opts });
export const fullLike = (t: Tensor, value: number, opts: TensorOptions = {}) =>
  full(self('torch.fullLike', t).shape, value, { dtype: t.dtype, device: t.device, ...opts });

/** steps evenly spaced values from start to end, both included. */
export function linspace(start: number, end: number, steps: number | (TensorOptions & { steps: number }), opts: TensorOptions = {}): Tensor {
  // (steps by name, as PyTorch code writes it: linspace(0, 1, steps=5))
  if (typeof steps === 'object' && steps !== null) ({ steps, ...opts } = steps);
  if (typeof steps !== 'number') throw new Error('linspace: give steps, the number of points (linspace(0, 1, 5) or linspace(0, 1, { steps: 5 }))');
  opts = checked('linspace', opts);
  return finish(wrap(native.linspace(start, end, steps, dtypeCode(opts.dtype ?? defaults.floatDtype), dev(opts))), opts);
}
/** base ** linspace(start, end, steps). */
export function logspace(start: number, end: number, steps: number | (TensorOptions & { steps: number; base?: number }), base: number | (TensorOptions & { base?: number }) = 10, opts: TensorOptions = {}): Tensor {
  if (typeof steps === 'object' && steps !== null) ({ steps, base = 10, ...opts } = steps);
  else if (typeof base === 'object' && base !== null) ({ base = 10, ...opts } = base);
  if (typeof steps !== 'number') throw new Error('logspace: give steps, the number of points (logspace(0, 2, 3) or logspace(0, 2, { steps: 3 }))');
  opts = checked('logspace', opts);
  return finish(wrap(native.logspace(start, end, steps, base, dtypeCode(opts.dtype ?? defaults.floatDtype), dev(opts))), opts);
}
export const randLike = (t: Tensor, opts: RandomOptions = {}) => rand(self('torch.randLike', t).shape, { dtype: t.dtype, device: t.device, ...opts });
export const emptyLike = (t: Tensor, opts: TensorOptions = {}) => empty(self('torch.emptyLike', t).shape, { dtype: t.dtype, device: t.device, ...opts });
/** Draws from N(mean, std²): torch.normal(mean, std, size). */
export function normal(mean: number, std: number, shape: Shape, opts?: RandomOptions): Tensor;
/** One draw per element, from N(mean[i], std[i]²) (mean, std or both tensors, broadcast): torch.normal(means, stds). */
export function normal(mean: Tensor | number, std: Tensor | number, opts?: { generator?: Generator }): Tensor;
/** every argument by name, as Python's torch.normal(mean=0.0, std=1.0, size=(2, 3)) */
export function normal(opts: RandomOptions & { mean: Tensor | number; std?: Tensor | number; size?: Shape }): Tensor;
export function normal(...args: unknown[]): Tensor {
  if (args.length === 1 && isOptionsObject(args[0])) {
    const { mean, std = 1, size, ...rest } = args[0] as unknown as RandomOptions & { mean: Tensor | number; std?: Tensor | number; size?: Shape };
    args = size === undefined ? [mean, std, rest] : [mean, std, size, rest];
  }
  const [mean, std] = args as [Tensor | number, Tensor | number];
  if (typeof mean === 'number' && typeof std === 'number') {
    const [shape, o = {}] = args.slice(2) as [Shape, RandomOptions?];
    if (!Array.isArray(shape)) throw new Error('normal: with a number mean and std, give the size: normal(0, 1, [2, 3])');
    const opts = checked('normal', o, RANDOM_KEYS);
    const t = make('empty', shape, opts);
    t.normal_(mean, std, { generator: opts.generator });
    return t;
  }
  if (!(mean instanceof Tensor || typeof mean === 'number') || !(std instanceof Tensor || typeof std === 'number')) {
    throw new Error('normal: mean and std are numbers (then the size) or tensors: normal(0, 1, [2, 3]), normal(means, stds), normal(means, 0.5)');
  }
  if (args.length > 3 || (args[2] !== undefined && !isOptionsObject(args[2]))) throw new Error('normal: with a tensor mean or std the size is theirs; give only { generator } after them');
  const { generator } = checked<{ generator?: Generator }>('normal', args[2] as { generator?: Generator } | undefined, ['generator']);
  // (as ATen: standard draws shaped as mean and std broadcast, scaled by std, then mean added; not differentiable)
  return noGrad(() => {
    const like = mean instanceof Tensor ? mean : std as Tensor;
    const shape = mean instanceof Tensor && std instanceof Tensor ? broadcastShapes(mean.shape, std.shape) : like.shape;
    const out = empty(shape, { dtype: like.dtype, device: like.device });
    if (typeof std === 'number') out.normal_(0, std, { generator });
    else out.normal_(0, 1, { generator }).mul_(std);
    return out.add_(mean);
  });
}
/** The shape two shapes broadcast to (numpy's rules), or an error naming both. */
function broadcastShapes(a: number[], b: number[]): number[] {
  const n = Math.max(a.length, b.length), out: number[] = [];
  for (let k = 1; k <= n; k++) {
    const x = a[a.length - k] ?? 1, y = b[b.length - k] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new Error(`normal: mean's shape [${a}] and std's [${b}] do not broadcast`);
    out.unshift(x === 1 ? y : x);
  }
  return out;
}
