// torch.utils.tensorboard: SummaryWriter writes TensorBoard's event files, as PyTorch's does.
//
// An event file is a TFRecord stream of `Event` protocol buffers: each record is its length
// (uint64), a masked CRC-32C of that length, the bytes, and a masked CRC-32C of the bytes. The
// first event names the format ("brain.Event:2"); each later one holds a step, a wall time and
// a `Summary` of tagged values (a scalar, a histogram, a PNG image or a text tensor). The few
// messages needed are encoded here by hand (field numbers from TensorBoard's .proto files).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { Tensor } from '../tensor/tensor';
import { tidy } from '../tensor/scope';
import { tensor } from '../tensor/creation';
import { cat, searchsorted } from '../tensor/ops';
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

  int(field: number, v: number): this {
    if (v !== 0) { this.key(field, 0); this.varint(v); } // (proto3: defaults are not written)
    return this;
  }

  double(field: number, v: number): this {
    if (v !== 0 || Object.is(v, -0)) {
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
const SummaryValue = { tag: 1, simpleValue: 2, image: 4, histo: 5, tensor: 8, metadata: 9 };
const Histogram = { min: 1, max: 2, num: 3, sum: 4, sumSquares: 5, bucketLimit: 6, bucket: 7 };
const Image = { height: 1, width: 2, colorspace: 3, encoded: 4 };
const DT_STRING = 7;

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
  private readonly onExit = () => this.flush();

  constructor(dir: string, private readonly maxQueue: number, private readonly flushSecs: number, suffix: string) {
    fs.mkdirSync(dir, { recursive: true });
    const name = `events.out.tfevents.${String(Math.floor(Date.now() / 1000)).padStart(10, '0')}.${os.hostname()}.${process.pid}.${fileCounter++}${suffix}`;
    this.file = path.join(dir, name);
    this.fd = fs.openSync(this.file, 'a');
    this.add(new Proto().double(Event.wallTime, Date.now() / 1000).bytes(Event.fileVersion, 'brain.Event:2'));
    this.flush();
    process.on('exit', this.onExit);
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
    process.off('exit', this.onExit);
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
    if (maxBins !== undefined && counts.length > maxBins) {
      // PyTorch: every `sub` neighbouring bins merged (the last group padded with empty bins)
      if (!(Number.isInteger(maxBins) && maxBins >= 1)) throw new Error(`addHistogram: maxBins must be a positive integer, got ${maxBins}`);
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
  private closed = false;

  constructor(logDir?: string, opts: SummaryWriterOptions = {}) {
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
   * range, or the edges themselves. maxBins merges neighbouring bins down to at most that many.
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
    const metadata = new Proto().bytes(1, new Proto().bytes(1, 'text').bytes(2, Buffer.alloc(0))); // plugin_data {plugin_name, content}
    const strings = new Proto().int(1, DT_STRING).bytes(2, new Proto().bytes(2, new Proto().int(1, 1))).bytes(8, textString); // dtype, shape [1], string_val
    const value = new Proto().bytes(SummaryValue.tag, `${tag}/text_summary`).bytes(SummaryValue.metadata, metadata).bytes(SummaryValue.tensor, strings);
    this.fileWriter().add(SummaryWriter.event(value, globalStep, walltime));
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
