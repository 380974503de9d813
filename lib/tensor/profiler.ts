// torch.profiler: where the time (and memory) of a run goes, op by op. libtorch's profiler records
// every op's start and duration (with input shapes, flops and allocations when asked); here the
// events become PyTorch's: a tree by time (self time = total minus children), key averages, the
// table key_averages().table() prints, and a Chrome trace (chrome://tracing, Perfetto).
import { native } from './native';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { writeFileAtomic } from '../io/atomic';

export type ProfilerActivity = 'cpu' | 'cuda';
export const ProfilerActivity = { CPU: 'cpu', CUDA: 'cuda' } as const;

export interface ProfilerOptions {
  /** what to record (default ['cpu']; 'cuda' adds the GPU's activity where libtorch has it) */
  activities?: ProfilerActivity[];
  /** each op's input shapes (and dtypes): groupByInputShape and the Input Shapes column */
  recordShapes?: boolean;
  /** the bytes each op allocates (minus frees): the CPU Mem / Self CPU Mem columns */
  profileMemory?: boolean;
  /** libtorch's flop estimates for matmuls and convolutions: the Total FLOPs column */
  withFlops?: boolean;
  /** which steps (counted by step()) to record: torch.profiler.schedule({ wait, warmup, active, repeat }); default: all */
  schedule?: (step: number) => ProfilerActionName;
  /** called with the run each time a recorded span ends (tensorboardTraceHandler(dir) writes it) */
  onTraceReady?: (prof: Profile) => void;
}

/** What a schedule asks of a step (PyTorch's ProfilerAction). */
export type ProfilerActionName = 'NONE' | 'WARMUP' | 'RECORD' | 'RECORD_AND_SAVE';
export const ProfilerAction = { NONE: 'NONE', WARMUP: 'WARMUP', RECORD: 'RECORD', RECORD_AND_SAVE: 'RECORD_AND_SAVE' } as const;

/**
 * torch.profiler.schedule: skip skipFirst steps, then cycles of wait (not recorded), warmup (not
 * recorded: the first steps are slow) and active (recorded; the span's trace is ready after its
 * last step), repeat times (0: forever).
 */
export function schedule(opts: { wait: number; warmup: number; active: number; repeat?: number; skipFirst?: number }): (step: number) => ProfilerActionName {
  const { wait, warmup, active } = opts;
  const repeat = opts.repeat ?? 0, skipFirst = opts.skipFirst ?? 0;
  if (!(wait >= 0 && warmup >= 0 && active > 0 && repeat >= 0 && skipFirst >= 0)) throw new Error('Invalid profiler schedule arguments');
  const cycle = wait + warmup + active;
  return (step: number) => {
    if (step < skipFirst) return 'NONE';
    const s = step - skipFirst;
    if (repeat > 0 && s / cycle >= repeat) return 'NONE';
    const m = s % cycle;
    if (m < wait) return 'NONE';
    if (m < wait + warmup) return 'WARMUP';
    return m < cycle - 1 ? 'RECORD' : 'RECORD_AND_SAVE';
  };
}

/**
 * torch.profiler.tensorboard_trace_handler: an onTraceReady that writes each trace into dir as
 * <worker>.<ms>.pt.trace.json (TensorBoard's profiler plugin and Perfetto read it).
 */
export function tensorboardTraceHandler(dir: string, workerName?: string): (prof: Profile) => void {
  return (prof) => {
    fs.mkdirSync(dir, { recursive: true });
    const worker = workerName ?? `${os.hostname()}_${process.pid}`;
    prof.exportChromeTrace(path.join(dir, `${worker}.${Date.now()}.pt.trace.json`));
  };
}

export interface RawEvent {
  name: string;
  startUs: number;
  durationUs: number;
  threadId: number;
  shapes: number[][];
  dtypes: string[];
  flops: number;
  nBytes: number;
  deviceType: number;
  deviceIndex: number;
  sequenceNr: number;
}

// c10::DeviceType codes
const CPU_DEVICE = 0, CUDA_DEVICE = 1;
// Events that are the profiler's own bookkeeping, not ops (PyTorch filters the same).
const MEMORY_EVENT = '[memory]';
const FILTERED = new Set([MEMORY_EVENT, '[OutOfMemory]', 'aten::is_leaf', 'aten::output_nr', 'aten::_version']);

/** One op (or recordFunction range) call, as PyTorch's FunctionEvent. Times in microseconds. */
export class FunctionEvent {
  parent: FunctionEvent | null = null;
  readonly children: FunctionEvent[] = [];
  /** bytes allocated minus freed on the CPU while it ran (children included) */
  cpuMemoryUsage = 0;
  cudaMemoryUsage = 0;
  constructor(
    readonly id: number,
    readonly name: string,
    /** from the profiler's start */
    readonly startUs: number,
    readonly durationUs: number,
    readonly threadId: number,
    readonly inputShapes: number[][],
    readonly dtypes: string[],
    readonly flops: number,
    readonly device: ProfilerActivity,
    readonly sequenceNr: number,
    /** the name in traces ("ProfilerStep#3" where name is PyTorch's "ProfilerStep*") */
    readonly traceName: string = name,
  ) {}
  get endUs(): number {
    return this.startUs + this.durationUs;
  }
  get key(): string {
    return this.name;
  }
  get count(): number {
    return 1;
  }
  get cpuTimeTotal(): number {
    return this.device === 'cpu' ? this.durationUs : 0;
  }
  /** its own time: the total less its children's */
  get selfCpuTimeTotal(): number {
    return this.cpuTimeTotal - this.children.reduce((s, c) => s + c.cpuTimeTotal, 0);
  }
  get cudaTimeTotal(): number {
    return this.device === 'cuda' ? this.durationUs : 0;
  }
  get selfCpuMemoryUsage(): number {
    return this.cpuMemoryUsage - this.children.reduce((s, c) => s + c.cpuMemoryUsage, 0);
  }
  get selfCudaMemoryUsage(): number {
    return this.cudaMemoryUsage - this.children.reduce((s, c) => s + c.cudaMemoryUsage, 0);
  }
}

/** The events of one key (name, or name and input shapes) together, as PyTorch's FunctionEventAvg. */
export class FunctionEventAvg {
  count = 0;
  cpuTimeTotal = 0;
  selfCpuTimeTotal = 0;
  cudaTimeTotal = 0;
  cpuMemoryUsage = 0;
  selfCpuMemoryUsage = 0;
  cudaMemoryUsage = 0;
  selfCudaMemoryUsage = 0;
  flops = 0;
  constructor(
    readonly key: string,
    readonly inputShapes: number[][] | null,
  ) {}
  add(e: FunctionEvent): void {
    this.count += 1;
    this.cpuTimeTotal += e.cpuTimeTotal;
    this.selfCpuTimeTotal += e.selfCpuTimeTotal;
    this.cudaTimeTotal += e.cudaTimeTotal;
    this.cpuMemoryUsage += e.cpuMemoryUsage;
    this.selfCpuMemoryUsage += e.selfCpuMemoryUsage;
    this.cudaMemoryUsage += e.cudaMemoryUsage;
    this.selfCudaMemoryUsage += e.selfCudaMemoryUsage;
    this.flops += e.flops;
  }
  /** the mean time per call */
  get cpuTimeAvg(): number {
    return this.count ? this.cpuTimeTotal / this.count : 0;
  }
}

export interface TableOptions {
  /** a field to sort by, descending: 'cpuTimeTotal', 'selfCpuTimeTotal', 'count', 'cpuMemoryUsage', ... (PyTorch's snake_case names work too) */
  sortBy?: string;
  /** at most this many rows (default 100) */
  rowLimit?: number;
  /** only ops not called by other ops */
  topLevelEventsOnly?: boolean;
  header?: string;
}

// PyTorch's _format_time, _format_memory and _format_time_share.
function formatTime(us: number): string {
  if (us >= 1e6) return `${(us / 1e6).toFixed(3)}s`;
  if (us >= 1e3) return `${(us / 1e3).toFixed(3)}ms`;
  return `${us.toFixed(3)}us`;
}
function formatMemory(bytes: number): string {
  const KB = 1024, MB = KB * 1024, GB = MB * 1024;
  if (Math.abs(bytes) >= GB) return `${(bytes / GB).toFixed(2)} Gb`;
  if (Math.abs(bytes) >= MB) return `${(bytes / MB).toFixed(2)} Mb`;
  if (Math.abs(bytes) >= KB) return `${(bytes / KB).toFixed(2)} Kb`;
  return `${bytes} b`;
}
function formatShare(us: number, total: number): string {
  return total === 0 ? 'NaN' : `${((us * 100) / total).toFixed(2)}%`;
}
const shapesString = (s: number[][] | null) => (s ? `[${s.map((d) => `[${d.join(', ')}]`).join(', ')}]` : '[]');
const camel = (k: string) => k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
// (no Math.max(...xs): a long run has more events than a call has room for arguments)
const maxOf = (xs: number[]) => xs.reduce((a, b) => (b > a ? b : a), -Infinity);
const minOf = (xs: number[]) => xs.reduce((a, b) => (b < a ? b : a), Infinity);

/** PyTorch's EventList.table(): one row per key (or event), PyTorch's columns and number formats. */
function buildTable(rows: (FunctionEvent | FunctionEventAvg)[], opts: TableOptions & { profileMemory: boolean; withFlops: boolean }): string {
  if (rows.length === 0) return '';
  let events = rows;
  if (opts.sortBy) {
    const field = camel(opts.sortBy);
    if (!(field in events[0]) && !(field in Object.getPrototypeOf(events[0]))) throw new Error(`table: unknown sortBy '${opts.sortBy}'; use cpuTimeTotal, selfCpuTimeTotal, cpuTimeAvg, count, cpuMemoryUsage, selfCpuMemoryUsage or flops`);
    events = [...events].sort((a, b) => Number((b as unknown as Record<string, number>)[field]) - Number((a as unknown as Record<string, number>)[field]));
  }
  const isAvg = (e: FunctionEvent | FunctionEventAvg): e is FunctionEventAvg => e instanceof FunctionEventAvg;
  const hasShapes = events.some((e) => (e.inputShapes?.length ?? 0) > 0);
  const nameWidth = Math.min(maxOf(events.map((e) => e.key.length)) + 4, 55);
  const shapesWidth = Math.min(maxOf(events.map((e) => shapesString(e.inputShapes).length)) + 4, 80);
  const headers = ['Name', 'Self CPU %', 'Self CPU', 'CPU total %', 'CPU total', 'CPU time avg'];
  if (opts.profileMemory) headers.push('CPU Mem', 'Self CPU Mem');
  headers.push('# of Calls');
  const widths = [nameWidth, ...headers.slice(1).map(() => 12)];
  if (hasShapes) {
    headers.push('Input Shapes');
    widths.push(shapesWidth);
  }
  const flopsList = events.map((e) => e.flops).filter((f) => f > 0);
  let flopsScale = 1;
  if (opts.withFlops && flopsList.length) {
    const names = ['FLOPs', 'KFLOPs', 'MFLOPs', 'GFLOPs', 'TFLOPs', 'PFLOPs'];
    const level = Math.floor(Math.max(0, Math.min(Math.log10(minOf(flopsList)) / 3, names.length - 1)));
    flopsScale = 10 ** (-3 * level);
    headers.push(`Total ${names[level]}`);
    widths.push(12);
  }
  const withFlops = opts.withFlops && flopsList.length > 0;
  const line = (cells: (string | number)[]) => cells.map((c, k) => String(c).padStart(widths[k])).join('  ') + '  ';
  const sep = widths.map((w) => '-'.repeat(w)).join('  ') + '  ';
  const lineLength = widths.reduce((a, b) => a + b + 2, -2);
  const total = events.reduce((s, e) => s + e.selfCpuTimeTotal, 0);
  const out: string[] = [];
  if (opts.header !== undefined) out.push('='.repeat(lineLength), opts.header);
  if (opts.topLevelEventsOnly) out.push('='.repeat(lineLength), 'This report only display top-level ops statistics');
  out.push(sep, line(headers), sep);
  let shown = 0;
  for (const e of events) {
    if (shown === (opts.rowLimit ?? 100)) break;
    if (opts.topLevelEventsOnly && !isAvg(e) && e.parent) continue;
    shown += 1;
    const name = e.key.length >= 52 ? `${e.key.slice(0, 52)}...` : e.key;
    const avg = isAvg(e) ? e.cpuTimeAvg : e.cpuTimeTotal;
    const cells: (string | number)[] = [name, formatShare(e.selfCpuTimeTotal, total), formatTime(e.selfCpuTimeTotal), formatShare(e.cpuTimeTotal, total), formatTime(e.cpuTimeTotal), formatTime(avg)];
    if (opts.profileMemory) cells.push(formatMemory(e.cpuMemoryUsage), formatMemory(e.selfCpuMemoryUsage));
    cells.push(e.count);
    if (hasShapes) cells.push(shapesString(e.inputShapes).slice(0, shapesWidth));
    if (withFlops) cells.push(e.flops <= 0 ? '--' : (e.flops * flopsScale).toFixed(3).padStart(8));
    out.push(line(cells));
  }
  out.push(sep, `Self CPU time total: ${formatTime(total)}`);
  return out.join('\n') + '\n';
}

/** key_averages(): the events by key, in order of first call; table() prints them. */
export class KeyAverages extends Array<FunctionEventAvg> {
  static get [Symbol.species]() {
    return Array;
  }
  profileMemory = false;
  withFlops = false;
  table(opts: TableOptions = {}): string {
    return buildTable([...this], { ...opts, profileMemory: this.profileMemory, withFlops: this.withFlops });
  }
}

/**
 * A profiling run: start() ... stop() (or torch.profiler.profile(fn)), then events(),
 * keyAverages().table(...), exportChromeTrace(file).
 */
export class Profile {
  private raw: RawEvent[] | null = null;
  private running = false;
  private cache: FunctionEvent[] | null = null;
  constructor(readonly options: ProfilerOptions = {}) {
    for (const a of options.activities ?? ['cpu']) {
      if (a !== 'cpu' && a !== 'cuda') throw new Error(`profiler: unknown activity '${String(a)}'; use 'cpu' or 'cuda' (torch.profiler.ProfilerActivity.CPU / CUDA)`);
    }
  }
  /** A run from recorded events (libtorch's, as profilerStop gives them): for tools and tests. */
  static _fromEvents(events: RawEvent[], options: ProfilerOptions = {}): Profile {
    const p = new Profile(options);
    p.raw = events;
    return p;
  }
  private recording = false;
  private stepRange: number | null = null;
  /** the steps counted by step() since start() */
  stepNum = 0;

  start(): this {
    if (this.running) throw new Error('profiler: already started');
    this.running = true;
    this.stepNum = 0;
    if (this.action() !== 'NONE' && this.action() !== 'WARMUP') this.record();
    return this;
  }
  /** Marks the end of a step (a training iteration): with a schedule, recording starts and stops here. */
  step(): this {
    if (!this.running) throw new Error('profiler: step() outside start() ... stop()');
    const before = this.action();
    this.stepNum += 1;
    const after = this.action();
    const recordingNext = after === 'RECORD' || after === 'RECORD_AND_SAVE';
    if (this.recording && (before === 'RECORD_AND_SAVE' || !recordingNext)) this.save();
    if (recordingNext && !this.recording) this.record();
    else if (this.recording) this.openStep();
    return this;
  }
  stop(): this {
    if (!this.running) throw new Error('profiler: stop() without start()');
    this.running = false;
    if (this.recording) this.save();
    return this;
  }

  private action(): ProfilerActionName {
    return this.options.schedule ? this.options.schedule(this.stepNum) : 'RECORD';
  }
  private record(): void {
    const o = this.options;
    native.profilerStart(o.recordShapes ?? false, o.profileMemory ?? false, o.withFlops ?? false, (o.activities ?? ['cpu']).includes('cuda'));
    this.recording = true;
    this.openStep();
  }
  // Each recorded step is a range of its own, as PyTorch's ProfilerStep#<n> (with a schedule).
  private openStep(): void {
    this.closeStep();
    if (this.options.schedule) this.stepRange = native.recordFunctionEnter(`ProfilerStep#${this.stepNum}`) as number;
  }
  private closeStep(): void {
    if (this.stepRange !== null) native.recordFunctionExit(this.stepRange);
    this.stepRange = null;
  }
  private save(): void {
    this.closeStep();
    this.recording = false;
    this.raw = native.profilerStop() as RawEvent[];
    this.cache = null;
    this.options.onTraceReady?.(this);
  }

  private finished(): RawEvent[] {
    if (this.recording && !this.raw) throw new Error('profiler: the run is still going; stop() it first');
    if (!this.raw) throw new Error('profiler: nothing recorded yet; start() and stop() it (or use torch.profiler.profile(fn))');
    return this.raw;
  }

  /** Every op call, as a tree (parent / children by time on each thread), in start order. */
  events(): FunctionEvent[] {
    if (this.cache) return this.cache;
    const raw = this.finished();
    const t0 = minOf(raw.map((e) => e.startUs));
    const memory = raw.filter((e) => e.name === MEMORY_EVENT);
    const events = raw
      .filter((e) => !FILTERED.has(e.name))
      .map((e, k) => new FunctionEvent(k, e.name.startsWith('ProfilerStep#') ? 'ProfilerStep*' : e.name, e.startUs - t0, e.durationUs, e.threadId, e.shapes, e.dtypes, e.flops, e.deviceType === CUDA_DEVICE ? 'cuda' : 'cpu', e.sequenceNr, e.name));
    // allocations during an op count for it (PyTorch: by time, any thread): prefix sums over the
    // allocations in time order, two binary searches per op
    const allocs = memory.map((m) => ({ at: m.startUs - t0, cpu: m.deviceType === CPU_DEVICE ? m.nBytes : 0, cuda: m.deviceType === CUDA_DEVICE ? m.nBytes : 0 })).sort((a, b) => a.at - b.at);
    const cpuSum = [0], cudaSum = [0];
    for (const a of allocs) {
      cpuSum.push(cpuSum[cpuSum.length - 1] + a.cpu);
      cudaSum.push(cudaSum[cudaSum.length - 1] + a.cuda);
    }
    const firstAtOrAfter = (t: number) => {
      let lo = 0, hi = allocs.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (allocs[mid].at < t) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    };
    const firstAfter = (t: number) => {
      let lo = 0, hi = allocs.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (allocs[mid].at <= t) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    };
    if (allocs.length) {
      for (const e of events) {
        if (e.device !== 'cpu') continue;
        const lo = firstAtOrAfter(e.startUs), hi = firstAfter(e.endUs);
        e.cpuMemoryUsage += cpuSum[hi] - cpuSum[lo];
        e.cudaMemoryUsage += cudaSum[hi] - cudaSum[lo];
      }
    }
    // the tree: per thread, by start (longest first), an event's parent is the innermost open one
    const byThread = new Map<number, FunctionEvent[]>();
    for (const e of events) {
      if (e.device !== 'cpu') continue;
      const list = byThread.get(e.threadId);
      if (list) list.push(e);
      else byThread.set(e.threadId, [e]);
    }
    for (const list of byThread.values()) {
      list.sort((a, b) => a.startUs - b.startUs || b.endUs - a.endUs);
      const open: FunctionEvent[] = [];
      for (const e of list) {
        while (open.length && (e.startUs >= open[open.length - 1].endUs || e.endUs > open[open.length - 1].endUs)) open.pop();
        if (open.length) {
          e.parent = open[open.length - 1];
          e.parent.children.push(e);
        }
        open.push(e);
      }
    }
    events.sort((a, b) => a.startUs - b.startUs || b.endUs - a.endUs);
    // an op that only calls another overload of itself is one call (PyTorch's _remove_dup_nodes):
    // mean() -> mean.dim, mul(Scalar) -> mul(Tensor); the outer one, with its shapes, stays
    const dropped = new Set<FunctionEvent>();
    for (let changed = true; changed; ) {
      changed = false;
      for (const e of events) {
        const p = e.parent;
        if (dropped.has(e) || !p || p.name !== e.name || p.children.length !== 1) continue;
        p.children.length = 0;
        for (const c of e.children) {
          p.children.push(c);
          c.parent = p;
        }
        dropped.add(e);
        changed = true;
      }
    }
    this.cache = events.filter((e) => !dropped.has(e));
    return this.cache;
  }

  /** PyTorch's key_averages(): the events grouped by name (and input shapes with groupByInputShape). */
  keyAverages(opts: { groupByInputShape?: boolean } = {}): KeyAverages {
    if (opts.groupByInputShape && !this.options.recordShapes) throw new Error('keyAverages: groupByInputShape needs the run made with recordShapes: true');
    const groups = new Map<string, FunctionEventAvg>();
    for (const e of this.events()) {
      const key = opts.groupByInputShape ? `${e.key}|${shapesString(e.inputShapes)}` : e.key;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = new FunctionEventAvg(e.key, opts.groupByInputShape ? e.inputShapes : null)));
      g.add(e);
    }
    const out = new KeyAverages();
    for (const g of groups.values()) out.push(g);
    out.profileMemory = this.options.profileMemory ?? false;
    out.withFlops = this.options.withFlops ?? false;
    return out;
  }

  /** All events summed into one (PyTorch's total_average()). */
  totalAverage(): FunctionEventAvg {
    const t = new FunctionEventAvg('Total', null);
    for (const e of this.events()) t.add(e);
    return t;
  }

  /** A table of every event (not averaged), as PyTorch's prof.events().table(). */
  table(opts: TableOptions = {}): string {
    return buildTable(this.events(), { ...opts, profileMemory: this.options.profileMemory ?? false, withFlops: this.options.withFlops ?? false });
  }

  /** The run as a Chrome trace (JSON; open in chrome://tracing or ui.perfetto.dev), written whole or not at all. */
  exportChromeTrace(file: string): void {
    const traceEvents = this.events().map((e) => ({
      name: e.traceName,
      ph: 'X',
      cat: e.device === 'cpu' ? 'cpu_op' : 'kernel',
      ts: e.startUs,
      dur: e.durationUs,
      pid: 'CPU functions',
      tid: e.threadId,
      args: { ...(e.inputShapes.length ? { 'Input Dims': e.inputShapes, 'Input type': e.dtypes } : {}), ...(e.flops ? { flops: e.flops } : {}) },
    }));
    writeFileAtomic(file, JSON.stringify({ traceEvents, displayTimeUnit: 'ms' }));
  }
}

/**
 * torch.profiler.profile: runs fn with the profiler on and returns the run (a Promise of it when
 * fn is async: the profiler stays on until fn's promise settles).
 *
 *   const prof = torch.profiler.profile(() => model.forward(x), { recordShapes: true });
 *   console.log(prof.keyAverages().table({ sortBy: 'cpuTimeTotal', rowLimit: 10 }));
 */
export function profile(fn: () => Promise<unknown>, opts?: ProfilerOptions): Promise<Profile>;
export function profile(fn: () => unknown, opts?: ProfilerOptions): Profile;
export function profile(fn: () => unknown, opts: ProfilerOptions = {}): Profile | Promise<Profile> {
  const p = new Profile(opts).start();
  let result: unknown;
  try {
    result = fn();
  } catch (e) {
    p.stop();
    throw e;
  }
  if (result instanceof Promise) {
    return result.then(
      () => p.stop(),
      (e) => {
        p.stop();
        throw e;
      },
    );
  }
  return p.stop();
}

/**
 * torch.profiler.record_function: fn's ops appear under a range of this name (its own row and a
 * parent of theirs). Costs nothing when no profiler is running. Synchronous.
 */
export function recordFunction<T>(name: string, fn: () => T): T {
  const h = native.recordFunctionEnter(String(name)) as number;
  try {
    return fn();
  } finally {
    native.recordFunctionExit(h);
  }
}

/** Whether a profiler is recording now. */
export function isEnabled(): boolean {
  return native.profilerEnabled() as boolean;
}
