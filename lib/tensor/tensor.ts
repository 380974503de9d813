// The Tensor class: a JS object holding one handle into the native tensor table.
// Methods are PyTorch's, in camelCase; each is one crossing into libtorch.
import { native } from './native';
import { DType, Device, dtypeCode, dtypeName, deviceCode, deviceName } from './dtype';
import { track, disposeHandle, keep as keepHandle } from './scope';

export type Shape = number[];
export type Scalar = number | boolean;
export type TensorLike = Tensor | number;
export type Dims = number | number[];

function id(t: Tensor): number {
  const h = t._id;
  if (h < 0) {
    throw new Error('tstorch: this tensor was disposed (by dispose() or by the tidy() scope that made it); keep() it or return it from tidy() to use it later');
  }
  return h;
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

export interface ValuesIndices {
  values: Tensor;
  indices: Tensor;
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
  size(dim?: number): number | Shape {
    const s = this.shape;
    if (dim === undefined) return s;
    return s[dim < 0 ? s.length + dim : dim];
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
  numel(): number {
    return native.numel(id(this));
  }
  isContiguous(): boolean {
    return native.isContiguous(id(this));
  }
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
  /** A typed-array copy (float16/bfloat16 as Float32Array, bool as Uint8Array, int64 as BigInt64Array). */
  data(): Float32Array | Float64Array | Int32Array | BigInt64Array | Int16Array | Int8Array | Uint8Array {
    return native.data(id(this));
  }
  /** Raw bytes in this tensor's dtype, row-major (what safetensors stores). */
  bytes(): Buffer {
    return native.bytes(id(this));
  }
  item(): number | boolean {
    return native.item(id(this));
  }
  /** Nested arrays of numbers (booleans for bool tensors), as Python's tolist(). */
  tolist(): unknown {
    const flat = native.doubles(id(this)) as Float64Array;
    const isBool = this.dtype === 'bool';
    const shape = this.shape;
    let k = 0;
    const build = (d: number): unknown => {
      if (d === shape.length) {
        const v = flat[k++];
        return isBool ? v !== 0 : v;
      }
      const out: unknown[] = new Array(shape[d]);
      for (let i = 0; i < shape[d]; i++) out[i] = build(d + 1);
      return out;
    };
    return build(0);
  }
  toString(): string {
    return `Tensor(shape=[${this.shape}], dtype=${this.dtype}, device=${this.device}${this.requiresGrad ? ', requiresGrad' : ''})`;
  }

  // ---------- conversion ----------
  /**
   * PyTorch's Tensor.to. nonBlocking (non_blocking=True): a copy from pinned host memory to a
   * GPU is queued without waiting for the device. From a GPU to the CPU it is queued into pinned
   * memory too, and, as in PyTorch, its values are there only after torch.cuda.synchronize().
   */
  to(target: Device | DType | { dtype?: DType; device?: Device; copy?: boolean; nonBlocking?: boolean }): Tensor {
    let dtype: DType | undefined;
    let device: Device | undefined;
    let copy = false, nonBlocking = false;
    if (typeof target === 'string') {
      if (target === 'cpu' || target.startsWith('cuda')) device = target;
      else dtype = target as DType;
    } else {
      ({ dtype, device } = target);
      copy = target.copy ?? false;
      nonBlocking = target.nonBlocking ?? false;
    }
    return wrap(native.to(id(this), dtype ? dtypeCode(dtype) : -1, device === undefined ? null : deviceCode(device), copy, nonBlocking));
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
  contiguous(): Tensor {
    return wrap(native.contiguous(id(this)));
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
  get isLeaf(): boolean {
    return native.isLeaf(id(this));
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
  backward(gradient?: Tensor, opts: { retainGraph?: boolean; createGraph?: boolean } = {}): void {
    const create = opts.createGraph ?? false;
    native.backward(id(this), gradient ? id(gradient) : -1, opts.retainGraph ?? create, create);
  }
  detach(): Tensor {
    return wrap(native.detach(id(this)));
  }

  // ---------- elementwise ----------
  add(other: TensorLike, alpha: number = 1): Tensor {
    if (typeof other === 'number') return wrap(native.addScalar(id(this), other, alpha));
    return wrap(alpha === 1 ? native.add(id(this), id(other)) : native.add(id(this), id(other), alpha));
  }
  sub(other: TensorLike, alpha: number = 1): Tensor {
    return wrap(typeof other === 'number' ? native.subScalar(id(this), other, alpha) : native.sub(id(this), id(other), alpha));
  }
  /** other - this, for a scalar other (Python's `2 - x`). */
  rsub(other: number): Tensor {
    return wrap(native.rsubScalar(id(this), other));
  }
  mul(other: TensorLike): Tensor {
    return wrap(typeof other === 'number' ? native.mulScalar(id(this), other) : native.mul(id(this), id(other)));
  }
  div(other: TensorLike): Tensor {
    return wrap(typeof other === 'number' ? native.divScalar(id(this), other) : native.div(id(this), id(other)));
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

  // ---------- comparisons ----------
  eq(o: TensorLike): Tensor { return wrap(typeof o === 'number' ? native.eqScalar(id(this), o) : native.eq(id(this), id(o))); }
  ne(o: TensorLike): Tensor { return wrap(typeof o === 'number' ? native.neScalar(id(this), o) : native.ne(id(this), id(o))); }
  lt(o: TensorLike): Tensor { return wrap(typeof o === 'number' ? native.ltScalar(id(this), o) : native.lt(id(this), id(o))); }
  le(o: TensorLike): Tensor { return wrap(typeof o === 'number' ? native.leScalar(id(this), o) : native.le(id(this), id(o))); }
  gt(o: TensorLike): Tensor { return wrap(typeof o === 'number' ? native.gtScalar(id(this), o) : native.gt(id(this), id(o))); }
  ge(o: TensorLike): Tensor { return wrap(typeof o === 'number' ? native.geScalar(id(this), o) : native.ge(id(this), id(o))); }
  logicalAnd(o: Tensor): Tensor { return wrap(native.logicalAnd(id(this), id(o))); }
  logicalOr(o: Tensor): Tensor { return wrap(native.logicalOr(id(this), id(o))); }

  // ---------- selection ----------
  /** where(cond, this, other): this where cond is true, other elsewhere. */
  where(condition: Tensor, other: TensorLike): Tensor {
    return wrap(typeof other === 'number' ? native.whereScalar(id(condition), id(this), other) : native.where(id(condition), id(this), id(other)));
  }
  maskedFill(mask: Tensor, value: number): Tensor {
    return wrap(native.maskedFill(id(this), id(mask), value));
  }
  clamp(min?: number | null, max?: number | null): Tensor {
    return wrap(native.clamp(id(this), min ?? null, max ?? null));
  }

  // ---------- reductions ----------
  sum(dim?: Dims, keepdim = false): Tensor {
    return wrap(native.sum(id(this), dim === undefined ? null : dimList(dim), keepdim));
  }
  mean(dim?: Dims, keepdim = false): Tensor {
    return wrap(native.mean(id(this), dim === undefined ? null : dimList(dim), keepdim));
  }
  prod(dim?: number, keepdim = false): Tensor {
    return wrap(native.prod(id(this), dim === undefined ? null : dim, keepdim));
  }
  /** max() over everything, or {values, indices} along dim. */
  max(): Tensor;
  max(dim: number, keepdim?: boolean): ValuesIndices;
  max(dim?: number, keepdim = false): Tensor | ValuesIndices {
    if (dim === undefined) return wrap(native.maxAll(id(this)));
    const [v, i] = native.maxDim(id(this), dim, keepdim);
    return { values: wrap(v), indices: wrap(i) };
  }
  min(): Tensor;
  min(dim: number, keepdim?: boolean): ValuesIndices;
  min(dim?: number, keepdim = false): Tensor | ValuesIndices {
    if (dim === undefined) return wrap(native.minAll(id(this)));
    const [v, i] = native.minDim(id(this), dim, keepdim);
    return { values: wrap(v), indices: wrap(i) };
  }
  argmax(dim?: number, keepdim = false): Tensor {
    return wrap(native.argmax(id(this), dim ?? null, keepdim));
  }
  argmin(dim?: number, keepdim = false): Tensor {
    return wrap(native.argmin(id(this), dim ?? null, keepdim));
  }
  /** Variance; correction 1 (unbiased) by default, as PyTorch. */
  var(dim?: Dims, opts: { correction?: number; unbiased?: boolean; keepdim?: boolean } = {}): Tensor {
    const correction = opts.correction ?? (opts.unbiased === false ? 0 : 1);
    return wrap(native.var(id(this), dim === undefined ? null : dimList(dim), correction, opts.keepdim ?? false));
  }
  std(dim?: Dims, opts: { correction?: number; unbiased?: boolean; keepdim?: boolean } = {}): Tensor {
    const correction = opts.correction ?? (opts.unbiased === false ? 0 : 1);
    return wrap(native.std(id(this), dim === undefined ? null : dimList(dim), correction, opts.keepdim ?? false));
  }
  norm(p: number = 2, dim?: Dims, keepdim = false): Tensor {
    return wrap(native.norm(id(this), p, dim === undefined ? null : dimList(dim), keepdim));
  }
  logsumexp(dim: Dims, keepdim = false): Tensor {
    return wrap(native.logsumexp(id(this), dimList(dim), keepdim));
  }
  all(): Tensor { return wrap(native.all(id(this))); }
  any(): Tensor { return wrap(native.any(id(this))); }
  cumsum(dim: number): Tensor { return wrap(native.cumsum(id(this), dim)); }

  // ---------- matrix products ----------
  matmul(o: Tensor): Tensor { return wrap(native.matmul(id(this), id(o))); }
  mm(o: Tensor): Tensor { return wrap(native.mm(id(this), id(o))); }
  bmm(o: Tensor): Tensor { return wrap(native.bmm(id(this), id(o))); }
  /** beta * this + alpha * (m1 @ m2) */
  addmm(m1: Tensor, m2: Tensor, opts: { beta?: number; alpha?: number } = {}): Tensor {
    return wrap(native.addmm(id(this), id(m1), id(m2), opts.beta ?? 1, opts.alpha ?? 1));
  }
  /** Transpose of a 2-D tensor. */
  t(): Tensor { return this.transpose(0, 1); }
  get T(): Tensor { return this.t(); }

  // ---------- shape ----------
  view(shape: Shape): Tensor { return wrap(native.view(id(this), shape)); }
  reshape(shape: Shape): Tensor { return wrap(native.reshape(id(this), shape)); }
  transpose(d0: number, d1: number): Tensor { return wrap(native.transpose(id(this), d0, d1)); }
  permute(dims: number[]): Tensor { return wrap(native.permute(id(this), dims)); }
  unsqueeze(dim: number): Tensor { return wrap(native.unsqueeze(id(this), dim)); }
  squeeze(dim?: number): Tensor { return wrap(native.squeeze(id(this), dim ?? null)); }
  expand(shape: Shape): Tensor { return wrap(native.expand(id(this), shape)); }
  flatten(startDim = 0, endDim = -1): Tensor { return wrap(native.flatten(id(this), startDim, endDim)); }
  repeat(sizes: number[]): Tensor { return wrap(native.repeat(id(this), sizes)); }
  narrow(dim: number, start: number, length: number): Tensor { return wrap(native.narrow(id(this), dim, start, length)); }
  /** torch.as_strided: a view of this tensor's storage with the given sizes, strides and storage offset (in elements). */
  asStrided(size: Shape, stride: number[], storageOffset = 0): Tensor { return wrap(native.asStrided(id(this), size, stride, storageOffset)); }
  select(dim: number, index: number): Tensor { return wrap(native.select(id(this), dim, index)); }
  /** Python's x[..., start:end:step] along one dim; end null/undefined means to the end. */
  slice(dim: number, start: number | null = 0, end: number | null = null, step = 1): Tensor {
    return wrap(native.slice(id(this), dim, start, end, step));
  }
  indexSelect(dim: number, index: Tensor): Tensor { return wrap(native.indexSelect(id(this), dim, id(index))); }
  gather(dim: number, index: Tensor): Tensor { return wrap(native.gather(id(this), dim, id(index))); }
  scatter(dim: number, index: Tensor, src: TensorLike): Tensor {
    return wrap(typeof src === 'number' ? native.scatterScalar(id(this), dim, id(index), src) : native.scatter(id(this), dim, id(index), id(src)));
  }
  tril(diagonal = 0): Tensor { return wrap(native.tril(id(this), diagonal)); }
  triu(diagonal = 0): Tensor { return wrap(native.triu(id(this), diagonal)); }
  /** Splits into chunks of splitSize (or the given sizes) along dim. */
  split(splitSize: number | number[], dim = 0): Tensor[] { return wrapAll(native.split(id(this), splitSize, dim)); }
  chunk(chunks: number, dim = 0): Tensor[] { return wrapAll(native.chunk(id(this), chunks, dim)); }

  // ---------- sorting and sampling ----------
  topk(k: number, dim = -1, largest = true, sorted = true): ValuesIndices {
    const [v, i] = native.topk(id(this), k, dim, largest, sorted);
    return { values: wrap(v), indices: wrap(i) };
  }
  sort(dim = -1, descending = false): ValuesIndices {
    const [v, i] = native.sort(id(this), dim, descending);
    return { values: wrap(v), indices: wrap(i) };
  }
  argsort(dim = -1, descending = false): Tensor { return wrap(native.argsort(id(this), dim, descending)); }
  multinomial(numSamples: number, replacement = false): Tensor {
    return wrap(native.multinomial(id(this), numSamples, replacement));
  }

  // ---------- in place (return this) ----------
  add_(other: TensorLike, alpha: number = 1): this {
    if (typeof other === 'number') native.addScalar_(id(this), other, alpha);
    else native.add_(id(this), id(other), alpha);
    return this;
  }
  sub_(other: Tensor, alpha: number = 1): this { native.sub_(id(this), id(other), alpha); return this; }
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
  addcmul_(t1: Tensor, t2: Tensor, value: number = 1): this { native.addcmul_(id(this), id(t1), id(t2), value); return this; }
  /** this = beta * this + alpha * (m1 @ m2), in place (autograd records it, as PyTorch's addmm_) */
  addmm_(m1: Tensor, m2: Tensor, opts: { beta?: number; alpha?: number } = {}): this {
    native.addmm_(id(this), id(m1), id(m2), opts.beta ?? 1, opts.alpha ?? 1);
    return this;
  }
  addcdiv_(t1: Tensor, t2: Tensor, value: number = 1): this { native.addcdiv_(id(this), id(t1), id(t2), value); return this; }
  lerp_(end: Tensor, weight: TensorLike): this {
    if (typeof weight === 'number') native.lerp_(id(this), id(end), weight);
    else native.lerpTensor_(id(this), id(end), id(weight));
    return this;
  }
  copy_(src: Tensor): this { native.copy_(id(this), id(src)); return this; }
  zero_(): this { native.zero_(id(this)); return this; }
  fill_(value: Scalar): this { native.fill_(id(this), value); return this; }
  normal_(mean = 0, std = 1): this { native.normal_(id(this), mean, std); return this; }
  uniform_(from = 0, to = 1): this { native.uniform_(id(this), from, to); return this; }
  sqrt_(): this { native.sqrt_(id(this)); return this; }
  maskedFill_(mask: Tensor, value: number): this { native.maskedFill_(id(this), id(mask), value); return this; }
}

/** @internal */
export const _wrap = wrap;
/** @internal */
export const _id = id;
