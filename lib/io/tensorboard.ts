// torch.utils.tensorboard: SummaryWriter writes TensorBoard's event files, as PyTorch's does.
//
// An event file is a TFRecord stream of `Event` protocol buffers: each record is its length
// (uint64), a masked CRC-32C of that length, the bytes, and a masked CRC-32C of the bytes. The
// first event names the format ("brain.Event:2"); each later one holds a step, a wall time and
// a `Summary` of tagged values (a scalar, a histogram, a PNG image or a text tensor). The few
// messages needed are encoded here by hand (field numbers from TensorBoard's .proto files).
import { keywordOptions } from '../tensor/options';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { Tensor } from '../tensor/tensor';
import { tidy } from '../tensor/scope';
import { tensor } from '../tensor/creation';
import { cat, stack, searchsorted } from '../tensor/ops';
import { isFloatingDtype } from '../tensor/dtype';
import { writeFileAtomic } from './atomic';
import { crc32Parts, crc32c } from './checksum';

// ---------- protocol buffers: just the wire types used ----------

/** A protobuf message being encoded: fields appended in order. */
class Proto {
  private parts: Buffer[] = [];

  private key(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  private varint(v: number | bigint): void {
    let n = BigInt.asUintN(64, BigInt(v));
    const bytes: number[] = [];
    do {
      let b = Number(n & 0x7fn);
      n >>= 7n;
      if (n) b |= 0x80;
      bytes.push(b);
    } while (n);
    this.parts.push(Buffer.from(bytes));
  }

  /** (proto3 leaves out a default value, except as a member of a oneof: `always`) */
  int(field: number, v: number, always = false): this {
    if (v !== 0 || always) { this.key(field, 0); this.varint(v); }
    return this;
  }

  double(field: number, v: number, always = false): this {
    if (v !== 0 || Object.is(v, -0) || always) {
      const b = Buffer.alloc(8);
      b.writeDoubleLE(v);
      this.key(field, 1); this.parts.push(b);
    }
    return this;
  }

  float(field: number, v: number): this {
    const b = Buffer.alloc(4);
    b.writeFloatLE(v);
    this.key(field, 5); this.parts.push(b);
    return this;
  }

  bytes(field: number, v: Buffer | string | Proto): this {
    const b = v instanceof Proto ? v.toBuffer() : Buffer.from(v);
    this.key(field, 2); this.varint(b.length); this.parts.push(b);
    return this;
  }

  /** a packed repeated float field */
  floats(field: number, vs: ArrayLike<number>): this {
    const b = Buffer.alloc(4 * vs.length);
    for (let i = 0; i < vs.length; i++) b.writeFloatLE(vs[i], 4 * i);
    return this.bytes(field, b);
  }

  /** a packed repeated double field */
  doubles(field: number, vs: ArrayLike<number>): this {
    const b = Buffer.alloc(8 * vs.length);
    for (let i = 0; i < vs.length; i++) b.writeDoubleLE(vs[i], 8 * i);
    return this.bytes(field, b);
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.parts);
  }
}

// Field numbers (tensorboard/compat/proto: event.proto, summary.proto, tensor.proto, ...).
const Event = { wallTime: 1, step: 2, fileVersion: 3, summary: 5 };
const SummaryValue = { tag: 1, simpleValue: 2, image: 4, histo: 5, audio: 6, tensor: 8, metadata: 9 };
const Histogram = { min: 1, max: 2, num: 3, sum: 4, sumSquares: 5, bucketLimit: 6, bucket: 7 };
const Image = { height: 1, width: 2, colorspace: 3, encoded: 4 };
const Audio = { sampleRate: 1, numChannels: 2, lengthFrames: 3, encoded: 4, contentType: 5 };
const Tensor_ = { dtype: 1, shape: 2, floatVal: 5, stringVal: 8 };
const DT_FLOAT = 1, DT_STRING = 7;

/** A TensorShapeProto of these sizes. */
function shapeProto(sizes: number[]): Proto {
  const p = new Proto();
  for (const n of sizes) p.bytes(2, new Proto().int(1, n)); // dim { size }
  return p;
}

/** SummaryMetadata naming the plugin that reads the value, with its plugin data. */
function pluginMetadata(name: string, content: Buffer | Proto = Buffer.alloc(0)): Proto {
  return new Proto().bytes(1, new Proto().bytes(1, name).bytes(2, content)); // plugin_data {plugin_name, content}
}

// ---------- the event file ----------

/** TFRecord's masked CRC-32C. */
function maskedCrc(bytes: Buffer): number {
  const c = crc32c(bytes);
  return (((c >>> 15) | (c << 17)) + 0xa282ead8) >>> 0;
}

function tfRecord(data: Buffer): Buffer {
  const header = Buffer.alloc(12);
  header.writeBigUInt64LE(BigInt(data.length), 0);
  header.writeUInt32LE(maskedCrc(header.subarray(0, 8)), 8);
  const footer = Buffer.alloc(4);
  footer.writeUInt32LE(maskedCrc(data), 0);
  return Buffer.concat([header, data, footer]);
}

let fileCounter = 0; // (PyTorch's global uid: two writers in one second get distinct files)

// The files still open, flushed when the process exits (one listener for them all).
const openFiles = new Set<EventFileWriter>();
let exitHook = false;
function flushAtExit(w: EventFileWriter): void {
  openFiles.add(w);
  if (exitHook) return;
  exitHook = true;
  process.on('exit', () => { for (const f of openFiles) f.flush(); });
}

/**
 * One events.out.tfevents.* file, appended to. Events queue in memory and are written when the
 * queue is full, when flushSecs have passed since the last write, on flush() and close(), and
 * when the process exits.
 */
class EventFileWriter {
  readonly file: string;
  private fd: number | null;
  private queue: Buffer[] = [];
  private lastFlush = Date.now();

  constructor(dir: string, private readonly maxQueue: number, private readonly flushSecs: number, suffix: string) {
    fs.mkdirSync(dir, { recursive: true });
    const name = `events.out.tfevents.${String(Math.floor(Date.now() / 1000)).padStart(10, '0')}.${os.hostname()}.${process.pid}.${fileCounter++}${suffix}`;
    this.file = path.join(dir, name);
    this.fd = fs.openSync(this.file, 'a');
    this.add(new Proto().double(Event.wallTime, Date.now() / 1000).bytes(Event.fileVersion, 'brain.Event:2'));
    this.flush();
    flushAtExit(this);
  }

  add(event: Proto): void {
    if (this.fd === null) throw new Error(`SummaryWriter: ${this.file} is closed`);
    this.queue.push(tfRecord(event.toBuffer()));
    if (this.queue.length >= this.maxQueue || Date.now() - this.lastFlush >= this.flushSecs * 1000) this.flush();
  }

  flush(): void {
    if (this.fd === null || !this.queue.length) return;
    fs.writeSync(this.fd, Buffer.concat(this.queue));
    this.queue = [];
    this.lastFlush = Date.now();
  }

  close(): void {
    if (this.fd === null) return;
    this.flush();
    fs.closeSync(this.fd);
    this.fd = null;
    openFiles.delete(this);
  }
}

// ---------- summaries ----------

/** TensorFlow's default histogram edges (PyTorch's default_bins): 0 and +-1e-12 * 1.1^k up to 1e20. */
const TENSORFLOW_BINS: number[] = (() => {
  const pos: number[] = [];
  for (let v = 1e-12; v < 1e20; v *= 1.1) pos.push(v);
  return [...pos.map((v) => -v).reverse(), 0, ...pos];
})();

export type HistogramBins = 'tensorflow' | number | number[];

/**
 * PyTorch's make_histogram: counts of the values between the edges (numpy.histogram's rule:
 * [a, b) but the last bin closed), trimmed to the bins that hold values plus an empty one in front;
 * each bucket is given by its upper edge, as TensorBoard expects.
 */
function histogramProto(values: Tensor, bins: HistogramBins, maxBins?: number): Proto {
  return tidy(() => {
    const v = values.detach().cpu().to('float64').flatten();
    const n = v.numel();
    if (n === 0) throw new Error('addHistogram: the values are empty');
    const sorted = v.sort().values;
    const min = sorted.index(0).item() as number, max = sorted.index(n - 1).item() as number;
    if (!Number.isFinite(min) || !Number.isFinite(max)) throw new Error('addHistogram: the values hold NaN or infinity (a histogram needs finite values)');
    let edges: number[];
    if (bins === 'tensorflow') edges = TENSORFLOW_BINS;
    else if (typeof bins === 'number') {
      if (!(Number.isInteger(bins) && bins >= 1)) throw new Error(`addHistogram: bins must be a positive integer, 'tensorflow' or a list of edges, got ${bins}`);
      // numpy: equal bins over [min, max] (widened by 0.5 each way when they are equal)
      const [lo, hi] = min === max ? [min - 0.5, max + 0.5] : [min, max];
      edges = Array.from({ length: bins + 1 }, (_, i) => (i === bins ? hi : lo + ((hi - lo) * i) / bins));
    } else if (Array.isArray(bins)) {
      if (bins.length < 2 || bins.some((b, i) => i > 0 && !(b >= bins[i - 1]))) throw new Error('addHistogram: bin edges must be at least two, increasing');
      edges = bins;
    } else throw new Error(`addHistogram: bins must be 'tensorflow', a positive integer or a list of edges, got ${String(bins)}`);
    // How many values lie below each edge (the last edge inclusive): the counts are their differences.
    const e = tensor(edges, { dtype: 'float64' });
    const below = cat([searchsorted(sorted, e.index(':-1')), searchsorted(sorted, e.index('-1:'), { right: true })]);
    const cum = Array.from(below.data() as BigInt64Array, Number);
    let counts = cum.slice(1).map((c, i) => c - cum[i]);
    if (maxBins !== undefined && !(Number.isInteger(maxBins) && maxBins >= 1)) throw new Error(`addHistogram: maxBins must be a positive integer, got ${maxBins}`);
    if (maxBins !== undefined && counts.length > maxBins) {
      // PyTorch: every `sub` neighbouring bins merged (the last group padded with empty bins)
      const sub = Math.floor(counts.length / maxBins);
      const merged: number[] = [];
      for (let i = 0; i < counts.length; i += sub) merged.push(counts.slice(i, i + sub).reduce((a, b) => a + b, 0));
      edges = [...edges.slice(0, -1).filter((_, i) => i % sub === 0), edges[edges.length - 1]];
      counts = merged;
    }
    const first = counts.findIndex((c) => c > 0), last = counts.length - 1 - [...counts].reverse().findIndex((c) => c > 0);
    if (first < 0) throw new Error('addHistogram: no value lies within the bin edges');
    // The bins from the first to the last non-empty one, after an empty bin ending where they begin.
    const bucket = first > 0 ? counts.slice(first - 1, last + 1) : [0, ...counts.slice(0, last + 1)];
    const limits = edges.slice(first, last + 2);
    const sum = v.sum().item() as number, sumSquares = v.dot(v).item() as number;
    return new Proto().double(Histogram.min, min).double(Histogram.max, max).double(Histogram.num, n)
      .double(Histogram.sum, sum).double(Histogram.sumSquares, sumSquares)
      .doubles(Histogram.bucketLimit, limits).doubles(Histogram.bucket, bucket);
  });
}

export type ImageFormat = 'CHW' | 'HWC' | 'HW' | 'NCHW' | 'NHWC';

/**
 * An image tensor as PyTorch's writer takes it, to 8-bit HWC pixels: uint8 values as they are,
 * other dtypes times 255, clipped to [0, 255]; grey becomes RGB; a batch is tiled 8 to a row.
 */
function imagePixels(img: Tensor, dataformats: ImageFormat): { height: number; width: number; channels: number; pixels: Uint8Array } {
  return tidy(() => {
    const fmt = dataformats.toUpperCase();
    if (!['CHW', 'HWC', 'HW', 'NCHW', 'NHWC'].includes(fmt)) throw new Error(`addImage: dataformats must be CHW, HWC, HW, NCHW or NHWC, got '${dataformats}'`);
    if (img.dim() !== fmt.length) throw new Error(`addImage: dataformats '${fmt}' needs a ${fmt.length}-D tensor, got shape [${img.shape}]`);
    let t = img.detach().cpu();
    const order = (want: string) => [...want].map((c) => fmt.indexOf(c));
    if (fmt.length === 4) {
      t = t.permute(order('NCHW'));
      const [n, c, h, w] = t.shape;
      if (c === 1) t = t.expand([n, 3, h, w]);
      else if (c !== 3) throw new Error(`addImages: images need 1 or 3 channels, got ${c}`);
      const cols = Math.min(n, 8), rows = Math.ceil(n / cols);
      if (rows * cols > n) t = cat([t, t.newZeros([rows * cols - n, 3, h, w])]);
      // [rows, cols, C, H, W] -> [rows, H, cols, W, C] -> HWC
      t = t.reshape([rows, cols, 3, h, w]).permute([0, 3, 1, 4, 2]).reshape([rows * h, cols * w, 3]);
    } else if (fmt.length === 3) {
      t = t.permute(order('HWC'));
      const [h, w, c] = t.shape;
      if (c === 1) t = t.expand([h, w, 3]);
      else if (c !== 3 && c !== 4) throw new Error(`addImage: an image needs 1, 3 or 4 channels, got ${c}`);
    } else {
      t = t.permute(order('HW'));
      t = t.unsqueeze(2).expand([...t.shape, 3]);
    }
    const scale = img.dtype === 'uint8' ? 1 : 255;
    const bytes = t.to('float32').mul(scale).clamp(0, 255).to('uint8').contiguous();
    const [height, width, channels] = bytes.shape;
    return { height, width, channels, pixels: bytes.data() as Uint8Array };
  });
}

/** An 8-bit PNG (grey, RGB or RGBA), rows unfiltered, zlib-deflated. */
export function encodePng(width: number, height: number, channels: number, pixels: Uint8Array): Buffer {
  const colorType = ({ 1: 0, 2: 4, 3: 2, 4: 6 } as Record<number, number>)[channels];
  if (colorType === undefined) throw new Error(`encodePng: 1 to 4 channels, got ${channels}`);
  const stride = width * channels;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) Buffer.from(pixels.buffer, pixels.byteOffset + y * stride, stride).copy(raw, y * (stride + 1) + 1);
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4), crc = Buffer.alloc(4), t = Buffer.from(type, 'latin1');
    len.writeUInt32BE(data.length);
    crc.writeUInt32BE(crc32Parts([t, data]));
    return Buffer.concat([len, t, data, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, colorType, 0, 0, 0], 8);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}


/** PyTorch's compute_curve: [tp, fp, tn, fn, precision, recall] at each of T thresholds, flattened. */
function prCurve(labels: Tensor, predictions: Tensor, T: number, weights: Tensor | null): Float64Array {
  const p = predictions.detach().cpu();
  if (!isFloatingDtype(p.dtype)) throw new Error(`addPrCurve: predictions must be floating point (probabilities), got ${p.dtype}`);
  const l = labels.detach().cpu().to('float64');
  if (l.shape.join() !== p.shape.join()) throw new Error(`addPrCurve: labels [${l.shape}] and predictions [${p.shape}] must have one shape`);
  const w = weights ? weights.detach().cpu().to('float64').expand(p.shape) : null;
  // Each prediction's bucket floor(p (T - 1)), computed in the predictions' dtype as numpy does;
  // those outside [0, T - 1] count nowhere (numpy.histogram's range).
  const bucket = p.flatten().mul(T - 1).floor();
  const inRange = bucket.ge(0).logicalAnd(bucket.le(T - 1));
  const idx = bucket.index(inRange).to('int64');
  const pos = (w ? l.mul(w) : l).flatten().index(inRange), neg = (w ? l.neg().add(1).mul(w) : l.neg().add(1)).flatten().index(inRange);
  const reverseCumsum = (t: Tensor) => t.flip([0]).cumsum(0).flip([0]);
  const tp = reverseCumsum(idx.bincount({ weights: pos, minlength: T }).to('float64'));
  const fp = reverseCumsum(idx.bincount({ weights: neg, minlength: T }).to('float64'));
  const tn = fp.index(0).sub(fp), fn = tp.index(0).sub(tp);
  const precision = tp.div(tp.add(fp).clamp(1e-7)), recall = tp.div(tp.add(fn).clamp(1e-7));
  return stack([tp, fp, tn, fn, precision, recall]).contiguous().data() as Float64Array;
}

/** A mono 16-bit PCM WAV file (the 44-byte header Python's wave module writes). */
function encodeWav(samples: Int16Array, sampleRate: number): Buffer {
  const data = Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'latin1'); h.writeUInt32LE(36 + data.length, 4); h.write('WAVE', 8, 'latin1');
  h.write('fmt ', 12, 'latin1'); h.writeUInt32LE(16, 16); h.writeUInt16LE(1, 20); h.writeUInt16LE(1, 22);
  h.writeUInt32LE(sampleRate, 24); h.writeUInt32LE(sampleRate * 2, 28); h.writeUInt16LE(2, 32); h.writeUInt16LE(16, 34);
  h.write('data', 36, 'latin1'); h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}

/** Python's repr of a float (the shortest round trip, exponent form below 1e-4 and from 1e16). */
export function pyFloat(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  if (v === 0) return Object.is(v, -0) ? '-0.0' : '0.0';
  const a = Math.abs(v);
  if (a >= 1e16 || a < 1e-4) {
    const [mant, exp] = v.toExponential().split('e');
    const e = Number(exp);
    return `${mant}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  }
  const s = String(v);
  return s.includes('.') || s.includes('e') ? s : `${s}.0`;
}
const pyRepr = (v: string | number) => (typeof v === 'string' ? `'${v}'` : String(v));
const pyStr = (v: string | number) => (typeof v === 'string' ? v : String(v));

interface EmbeddingInfo {
  tensorName: string;
  tensorPath: string;
  metadataPath?: string;
  spritePath?: string;
  spriteDim?: number[];
}

/** A string in protobuf text format (C escapes; bytes beyond ASCII as octal, as Python's text_format). */
function pbString(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    if (b === 0x22) out += '\\"';
    else if (b === 0x5c) out += '\\\\';
    else if (b === 0x27) out += "\\'";
    else if (b === 0x0a) out += '\\n';
    else if (b === 0x0d) out += '\\r';
    else if (b === 0x09) out += '\\t';
    else if (b < 0x20 || b >= 0x7f) out += `\\${b.toString(8).padStart(3, '0')}`;
    else out += String.fromCharCode(b);
  }
  return `"${out}"`;
}

/** projector_config.pbtxt: a ProjectorConfig's embeddings in text format (fields in number order). */
function projectorConfig(embeddings: EmbeddingInfo[]): string {
  return embeddings.map((e) => {
    const lines = [`  tensor_name: ${pbString(e.tensorName)}`];
    if (e.metadataPath) lines.push(`  metadata_path: ${pbString(e.metadataPath)}`);
    if (e.spritePath) lines.push('  sprite {', `    image_path: ${pbString(e.spritePath)}`, ...e.spriteDim!.map((d) => `    single_image_dim: ${d}`), '  }');
    lines.push(`  tensor_path: ${pbString(e.tensorPath)}`);
    return `embeddings {\n${lines.join('\n')}\n}\n`;
  }).join('');
}

/**
 * PyTorch's make_sprite: the label images tiled ceil(sqrt(N)) to a row (grey as RGB) on a square
 * canvas as wide as the tiling, times 255, clipped, to 8 bits.
 */
function spritePixels(labelImg: Tensor): { size: number; pixels: Uint8Array } {
  return tidy(() => {
    let t = labelImg.detach().cpu().to('float64');
    const [n, c, h, w] = t.shape;
    if (c === 1) t = t.expand([n, 3, h, w]);
    else if (c !== 3) throw new Error(`addEmbedding: label images need 1 or 3 channels, got ${c}`);
    const cols = Math.min(n, Math.ceil(Math.sqrt(n))), rows = Math.ceil(n / cols);
    if (rows * cols > n) t = cat([t, t.newZeros([rows * cols - n, 3, h, w])]);
    const grid = t.reshape([rows, cols, 3, h, w]).permute([0, 3, 1, 4, 2]).reshape([rows * h, cols * w, 3]);
    const size = cols * w;
    if (rows * h > size) throw new Error(`addEmbedding: ${n} label images of ${h} x ${w} do not fit PyTorch's square sprite (${rows} rows of ${h} in ${size}): use images at least as wide as tall`);
    const square = cat([grid, grid.newZeros([size - rows * h, size, 3])]);
    const pixels = square.mul(255).clamp(0, 255).to('uint8').contiguous().data() as Uint8Array;
    return { size, pixels };
  });
}

// ---------- SummaryWriter ----------

export interface SummaryWriterOptions {
  /** appended to the default log folder's name (runs/<time>_<host><comment>) */
  comment?: string;
  /** events kept in memory before they are written (default 10) */
  maxQueue?: number;
  /** at most this many seconds between writes while events come in (default 120) */
  flushSecs?: number;
  /** appended to the event files' names */
  filenameSuffix?: string;
}

/** PyTorch's default: runs/<Mon><DD>_<HH>-<MM>-<SS>_<hostname><comment>. */
export function defaultLogDir(comment: string): string {
  const d = new Date(), p = (n: number) => String(n).padStart(2, '0');
  const month = d.toLocaleString('en-US', { month: 'short' });
  return path.join('runs', `${month}${p(d.getDate())}_${p(d.getHours())}-${p(d.getMinutes())}-${p(d.getSeconds())}_${os.hostname()}${comment}`);
}

function scalarValue(v: number | Tensor, what: string): number {
  if (typeof v === 'number') return v;
  if (v instanceof Tensor && v.numel() === 1) return Number(v.item());
  throw new Error(`${what}: a scalar is a number or a one-element tensor, got ${v instanceof Tensor ? `shape [${v.shape}]` : typeof v}`);
}

/**
 * torch.utils.tensorboard.SummaryWriter: logs scalars, histograms, images and text for
 * TensorBoard (`tensorboard --logdir runs`). The event files are PyTorch's: the same names,
 * records and summaries, so TensorBoard shows them as it shows PyTorch's.
 */
export class SummaryWriter {
  readonly logDir: string;
  /** the event file this writer appends to */
  readonly file: string;
  private readonly opts: Required<SummaryWriterOptions>;
  private writer: EventFileWriter | null;
  private readonly scalarWriters = new Map<string, EventFileWriter>();
  private readonly embeddings: EmbeddingInfo[] = [];
  private closed = false;

  constructor(logDir?: string, opts: SummaryWriterOptions = {}) {
    keywordOptions('SummaryWriter', opts, ['comment', 'maxQueue', 'flushSecs', 'filenameSuffix']);
    this.opts = { comment: '', maxQueue: 10, flushSecs: 120, filenameSuffix: '', ...opts };
    if (!(Number.isInteger(this.opts.maxQueue) && this.opts.maxQueue >= 1)) throw new Error(`SummaryWriter: maxQueue must be a positive integer, got ${this.opts.maxQueue}`);
    if (!(this.opts.flushSecs >= 0)) throw new Error(`SummaryWriter: flushSecs must be >= 0, got ${this.opts.flushSecs}`);
    this.logDir = logDir ?? defaultLogDir(this.opts.comment);
    this.writer = this.open(this.logDir);
    this.file = this.writer.file;
  }

  private open(dir: string): EventFileWriter {
    try {
      return new EventFileWriter(dir, this.opts.maxQueue, this.opts.flushSecs, this.opts.filenameSuffix);
    } catch (e) {
      throw new Error(`SummaryWriter: cannot write an event file in ${dir}: ${(e as Error).message}`);
    }
  }

  getLogdir(): string {
    return this.logDir;
  }


  private fileWriter(): EventFileWriter {
    if (this.closed || !this.writer) throw new Error('SummaryWriter: the writer is closed');
    return this.writer;
  }

  private static event(value: Proto, step?: number, walltime?: number): Proto {
    if (step !== undefined && !Number.isInteger(step)) throw new Error(`SummaryWriter: globalStep must be an integer, got ${step}`);
    return new Proto().double(Event.wallTime, walltime ?? Date.now() / 1000).int(Event.step, step ?? 0)
      .bytes(Event.summary, new Proto().bytes(1, value));
  }

  /** A scalar: TensorBoard's Scalars tab (a curve per tag over the steps). */
  addScalar(tag: string, scalarValueOrTensor: number | Tensor, globalStep?: number, walltime?: number): void {
    const v = scalarValue(scalarValueOrTensor, 'addScalar');
    this.fileWriter().add(SummaryWriter.event(new Proto().bytes(SummaryValue.tag, tag).float(SummaryValue.simpleValue, v), globalStep, walltime));
  }

  /**
   * Several scalars on one chart: each goes to its own run, a subfolder <logDir>/<mainTag>_<key>,
   * under the tag mainTag (PyTorch's layout).
   */
  addScalars(mainTag: string, tagScalarDict: Record<string, number | Tensor>, globalStep?: number, walltime?: number): void {
    this.fileWriter();
    for (const [key, value] of Object.entries(tagScalarDict)) {
      const dir = path.join(this.logDir, `${mainTag.replace(/\//g, '_')}_${key}`);
      let w = this.scalarWriters.get(dir);
      if (!w) this.scalarWriters.set(dir, (w = this.open(dir)));
      const v = scalarValue(value, 'addScalars');
      w.add(SummaryWriter.event(new Proto().bytes(SummaryValue.tag, mainTag).float(SummaryValue.simpleValue, v), globalStep, walltime));
    }
  }

  /**
   * A histogram of the values: TensorBoard's Histograms and Distributions tabs. bins:
   * 'tensorflow' (PyTorch's default: exponential edges), a number of equal bins over the values'
   * range, or the edges themselves. maxBins merges every floor(bins / maxBins) neighbouring bins
   * (PyTorch's rule: about maxBins remain).
   */
  addHistogram(tag: string, values: Tensor | number[], globalStep?: number, bins: HistogramBins = 'tensorflow', walltime?: number, maxBins?: number): void {
    const w = this.fileWriter();
    const t = values instanceof Tensor ? values : tensor(values, { dtype: 'float64' });
    try {
      w.add(SummaryWriter.event(new Proto().bytes(SummaryValue.tag, tag).bytes(SummaryValue.histo, histogramProto(t, bins, maxBins)), globalStep, walltime));
    } finally {
      if (t !== values) t.dispose();
    }
  }

  /** One image (CHW by default; HWC or HW), as a PNG: float values in [0, 1], uint8 in [0, 255]. */
  addImage(tag: string, imgTensor: Tensor, globalStep?: number, walltime?: number, dataformats: ImageFormat = 'CHW'): void {
    const w = this.fileWriter();
    const { height, width, channels, pixels } = imagePixels(imgTensor, dataformats);
    const image = new Proto().int(Image.height, height).int(Image.width, width).int(Image.colorspace, channels)
      .bytes(Image.encoded, encodePng(width, height, channels, pixels));
    w.add(SummaryWriter.event(new Proto().bytes(SummaryValue.tag, tag).bytes(SummaryValue.image, image), globalStep, walltime));
  }

  /** A batch of images (NCHW by default, or NHWC), tiled into one, 8 to a row. */
  addImages(tag: string, imgTensor: Tensor, globalStep?: number, walltime?: number, dataformats: 'NCHW' | 'NHWC' = 'NCHW'): void {
    if (!['NCHW', 'NHWC'].includes(dataformats.toUpperCase())) throw new Error(`addImages: dataformats must be NCHW or NHWC, got '${dataformats}'`);
    this.addImage(tag, imgTensor, globalStep, walltime, dataformats);
  }

  /** Text (markdown): TensorBoard's Text tab, under <tag>/text_summary. */
  addText(tag: string, textString: string, globalStep?: number, walltime?: number): void {
    const strings = new Proto().int(Tensor_.dtype, DT_STRING).bytes(Tensor_.shape, shapeProto([1])).bytes(Tensor_.stringVal, textString);
    const value = new Proto().bytes(SummaryValue.tag, `${tag}/text_summary`).bytes(SummaryValue.metadata, pluginMetadata('text')).bytes(SummaryValue.tensor, strings);
    this.fileWriter().add(SummaryWriter.event(value, globalStep, walltime));
  }

  /**
   * A precision-recall curve (TensorBoard's PR Curves tab): labels (0/1, or weights of being
   * positive) against predicted probabilities in [0, 1], at numThresholds (at most 127)
   * thresholds; each prediction counts with its weight (default 1). PyTorch's compute_curve.
   */
  addPrCurve(tag: string, labels: Tensor, predictions: Tensor, globalStep?: number, numThresholds = 127, weights?: Tensor | null, walltime?: number): void {
    const w = this.fileWriter();
    if (!(Number.isInteger(numThresholds) && numThresholds >= 2)) throw new Error(`addPrCurve: numThresholds must be an integer >= 2, got ${numThresholds}`);
    const T = Math.min(numThresholds, 127); // (PyTorch: more breaks TensorBoard's reader)
    const data = tidy(() => prCurve(labels, predictions, T, weights ?? null));
    const tensorProto = new Proto().int(Tensor_.dtype, DT_FLOAT).bytes(Tensor_.shape, shapeProto([6, T])).floats(Tensor_.floatVal, data);
    const metadata = pluginMetadata('pr_curves', new Proto().int(2, T)); // PrCurvePluginData {version 0, num_thresholds}
    w.add(SummaryWriter.event(new Proto().bytes(SummaryValue.tag, tag).bytes(SummaryValue.metadata, metadata).bytes(SummaryValue.tensor, tensorProto), globalStep, walltime));
  }

  /** A sound clip (TensorBoard's Audio tab): one channel of samples in [-1, 1] (clipped), as a 16-bit WAV. */
  addAudio(tag: string, sndTensor: Tensor, globalStep?: number, sampleRate = 44100, walltime?: number): void {
    const w = this.fileWriter();
    if (!(Number.isInteger(sampleRate) && sampleRate > 0)) throw new Error(`addAudio: sampleRate must be a positive integer, got ${sampleRate}`);
    const samples = tidy(() => {
      let a = sndTensor.detach().cpu().squeeze();
      if (a.dim() !== 1) throw new Error(`addAudio: one channel of samples (a 1-D tensor after squeezing), got shape [${sndTensor.shape}]`);
      if (!isFloatingDtype(a.dtype)) a = a.to('float64');
      if ((a.abs().max().item() as number) > 1) {
        console.warn(`addAudio: '${tag}': amplitude out of [-1, 1], clipped`);
        a = a.clamp(-1, 1);
      }
      return a.mul(32767).to('int16').contiguous().data() as Int16Array;
    });
    const audio = new Proto().float(Audio.sampleRate, sampleRate).int(Audio.numChannels, 1).int(Audio.lengthFrames, samples.length)
      .bytes(Audio.encoded, encodeWav(samples, sampleRate)).bytes(Audio.contentType, 'audio/wav');
    w.add(SummaryWriter.event(new Proto().bytes(SummaryValue.tag, tag).bytes(SummaryValue.audio, audio), globalStep, walltime));
  }

  /**
   * Points for TensorBoard's Projector (PyTorch's add_embedding): mat's rows (N x D) as
   * <logDir>/<step, 5 digits>/<tag>/tensors.tsv, with metadata.tsv (a label per row, or rows of
   * columns under metadataHeader) and sprite.png (labelImg, N x C x H x W in [0, 1]) when given,
   * all listed in <logDir>/projector_config.pbtxt (rewritten whole each time).
   */
  addEmbedding(mat: Tensor, opts: { metadata?: (string | number)[] | (string | number)[][] | null; labelImg?: Tensor | null; globalStep?: number; tag?: string; metadataHeader?: string[] | null } = {}): void {
    this.fileWriter();
    const step = opts.globalStep ?? 0, tag = opts.tag ?? 'default';
    if (!Number.isInteger(step) || step < 0) throw new Error(`addEmbedding: globalStep must be a non-negative integer, got ${step}`);
    if (mat.dim() !== 2) throw new Error(`addEmbedding: mat must be 2-D (a row per point), got shape [${mat.shape}]`);
    const n = mat.shape[0];
    const { metadata, labelImg } = opts;
    if (metadata && metadata.length !== n) throw new Error(`addEmbedding: ${metadata.length} metadata rows for ${n} points`);
    if (labelImg && (labelImg.dim() !== 4 || labelImg.shape[0] !== n)) throw new Error(`addEmbedding: labelImg must be N x C x H x W with N = ${n} points, got shape [${labelImg.shape}]`);
    const subdir = `${String(step).padStart(5, '0')}/${tag.replace(/%/g, '%25').replace(/\//g, '%2f').replace(/\\/g, '%5c')}`;
    const dir = path.join(this.logDir, subdir);
    if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory()) throw new Error(`addEmbedding: ${dir} exists and is a file`);
    fs.mkdirSync(dir, { recursive: true });
    const info: EmbeddingInfo = { tensorName: `${tag}:${String(step).padStart(5, '0')}`, tensorPath: `${subdir}/tensors.tsv` };
    if (metadata) {
      let lines: string[];
      if (opts.metadataHeader) {
        const header = opts.metadataHeader;
        if (metadata.some((row) => !Array.isArray(row) || row.length !== header.length)) throw new Error(`addEmbedding: each metadata row needs ${header.length} columns (metadataHeader's)`);
        lines = [header, ...(metadata as (string | number)[][])].map((row) => row.map(pyStr).join('\t'));
      } else lines = (metadata as (string | number)[]).map((m) => (Array.isArray(m) ? `[${m.map(pyRepr).join(', ')}]` : pyStr(m)));
      writeFileAtomic(path.join(dir, 'metadata.tsv'), lines.join('\n') + '\n');
      info.metadataPath = `${subdir}/metadata.tsv`;
    }
    if (labelImg) {
      const { size, pixels } = spritePixels(labelImg);
      writeFileAtomic(path.join(dir, 'sprite.png'), encodePng(size, size, 3, pixels));
      info.spritePath = `${subdir}/sprite.png`;
      info.spriteDim = [labelImg.shape[3], labelImg.shape[2]];
    }
    const isInt = !isFloatingDtype(mat.dtype);
    const rows = tidy(() => mat.detach().cpu().to(isInt ? 'int64' : 'float64').tolist() as number[][]);
    writeFileAtomic(path.join(dir, 'tensors.tsv'), rows.map((r) => r.map((v) => (isInt ? String(v) : pyFloat(v))).join('\t') + '\n').join(''));
    this.embeddings.push(info);
    writeFileAtomic(path.join(this.logDir, 'projector_config.pbtxt'), projectorConfig(this.embeddings));
  }

  /**
   * Hyperparameters and their results for TensorBoard's HParams tab (PyTorch's add_hparams): a
   * run <logDir>/<runName> (default: the time in seconds) holding the experiment, session start
   * (the values) and session end records, and each metric as a scalar. Values: numbers, strings,
   * booleans (PyTorch records a Python bool as a number: bool is an int there) or one-element
   * tensors; null/undefined values are left out. hparamDomainDiscrete lists a value's possible values.
   */
  addHparams(hparamDict: Record<string, number | string | boolean | Tensor | null | undefined>, metricDict: Record<string, number | Tensor>,
    hparamDomainDiscrete: Record<string, (number | string | boolean)[]> = {}, runName?: string): void {
    this.fileWriter();
    for (const [k, v] of Object.entries(hparamDomainDiscrete)) {
      const h = hparamDict[k];
      if (!(k in hparamDict) || !Array.isArray(v) || h instanceof Tensor || h === null || h === undefined || !v.every((d) => typeof d === typeof h)) {
        throw new Error(`addHparams: hparamDomainDiscrete[${k}] should be a list of the same type as hparamDict[${k}]`);
      }
    }
    // google.protobuf.Value {number_value 2 | string_value 3 | bool_value 4}: a oneof, so 0 and false are written too
    const protoValue = (v: number | string | boolean) => typeof v === 'number' ? new Proto().double(2, v, true) : typeof v === 'string' ? new Proto().bytes(3, v) : new Proto().int(4, v ? 1 : 0, true);
    const startInfo = new Proto(), experiment = new Proto();
    for (const [k, raw] of Object.entries(hparamDict)) {
      if (raw === null || raw === undefined) continue;
      const v = raw instanceof Tensor ? scalarValue(raw, 'addHparams') : raw;
      if (!['number', 'string', 'boolean'].includes(typeof v)) throw new Error(`addHparams: ${k}: a value is a number, string, boolean or one-element tensor, got ${typeof v}`);
      startInfo.bytes(1, new Proto().bytes(1, k).bytes(2, protoValue(v))); // hparams map entry {key, value}
      const info = new Proto().bytes(1, k).int(4, typeof v === 'number' ? 3 : typeof v === 'string' ? 1 : 2); // HParamInfo {name, type}
      const domain = hparamDomainDiscrete[k];
      if (domain && !(raw instanceof Tensor)) {
        const list = new Proto();
        for (const d of domain) list.bytes(1, protoValue(d));
        info.bytes(5, list); // domain_discrete
      }
      experiment.bytes(4, info); // hparam_infos
    }
    for (const k of Object.keys(metricDict)) experiment.bytes(5, new Proto().bytes(1, new Proto().bytes(2, k))); // metric_infos {name {tag}}
    const record = (tag: string, data: Proto) => new Proto().bytes(SummaryValue.tag, tag).bytes(SummaryValue.metadata, pluginMetadata('hparams', data));
    const dir = path.join(this.logDir, runName ?? String(Date.now() / 1000));
    const w = this.open(dir);
    try {
      // HParamsPluginData {version 0, experiment | session_start_info | session_end_info {status SUCCESS}}
      w.add(SummaryWriter.event(record('_hparams_/experiment', new Proto().bytes(2, experiment))));
      w.add(SummaryWriter.event(record('_hparams_/session_start_info', new Proto().bytes(3, startInfo))));
      w.add(SummaryWriter.event(record('_hparams_/session_end_info', new Proto().bytes(4, new Proto().int(1, 1)))));
      for (const [k, v] of Object.entries(metricDict)) {
        w.add(SummaryWriter.event(new Proto().bytes(SummaryValue.tag, k).float(SummaryValue.simpleValue, scalarValue(v, 'addHparams'))));
      }
    } finally {
      w.close();
    }
  }

  /** Writes what is queued. */
  flush(): void {
    if (this.closed) return;
    this.writer?.flush();
    for (const w of this.scalarWriters.values()) w.flush();
  }

  /** Writes what is queued and closes the files; the writer cannot be used after. */
  close(): void {
    if (this.closed) return;
    this.writer?.close();
    for (const w of this.scalarWriters.values()) w.close();
    this.scalarWriters.clear();
    this.closed = true;
  }
}
