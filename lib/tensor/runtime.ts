// Grad mode, RNG, threads, memory counters, CUDA queries and build information.
import { warnOnce } from './warn';
import { native } from './native';
import { loadedAddon } from '../loader';
import { DType, Device, deviceCode, dtypeCode, dtypeName } from './dtype';
import { keywordOptions } from './options';
import { defaultGenerator, seed64 } from './generator';

/** Runs fn with gradient recording off (torch.no_grad()). Synchronous. */
export function noGrad<T>(fn: () => T): T {
  if (typeof fn !== 'function') throw new TypeError(`torch.noGrad: give the function to run, torch.noGrad(() => ...), got ${typeof fn}`);
  const prev = native.setGradEnabled(false);
  try {
    return fn();
  } finally {
    native.setGradEnabled(prev);
  }
}

/** Runs fn with gradient recording on (torch.enable_grad()). */
export function enableGrad<T>(fn: () => T): T {
  if (typeof fn !== 'function') throw new TypeError(`torch.enableGrad: give the function to run, torch.enableGrad(() => ...), got ${typeof fn}`);
  const prev = native.setGradEnabled(true);
  try {
    return fn();
  } finally {
    native.setGradEnabled(prev);
  }
}

/**
 * torch.set_grad_enabled: setGradEnabled(mode) turns gradient recording on or off from here on
 * (PyTorch's function form); setGradEnabled(mode, fn) runs fn so and restores the mode after (its
 * context-manager form; synchronous, as noGrad). Like PyTorch's, the mode is this thread's.
 */
export function setGradEnabled(mode: boolean): void;
export function setGradEnabled<T>(mode: boolean, fn: () => T): T;
export function setGradEnabled<T>(mode: boolean, fn?: () => T): T | void {
  if (typeof mode !== 'boolean') throw new Error(`setGradEnabled: mode must be true or false, got ${String(mode)}`);
  if (fn === undefined) {
    native.setGradEnabled(mode);
    return;
  }
  return mode ? enableGrad(fn) : noGrad(fn);
}

/**
 * Runs fn in inference mode (torch.inference_mode()): no gradients and no autograd bookkeeping
 * (views and in-place ops skip version counters), faster than noGrad. Tensors made inside are
 * inference tensors: they cannot be saved for a backward later (clone() one outside to use it
 * in training). mode: false turns it off inside an inference region. Synchronous; nests.
 */
export function inferenceMode<T>(fn: () => T, opts: { mode?: boolean } = {}): T {
  if (typeof fn !== 'function') throw new TypeError(`torch.inferenceMode: give the function to run, torch.inferenceMode(() => ...), got ${typeof fn}`);
  native.inferenceModeEnter(opts.mode ?? true);
  try {
    return fn();
  } finally {
    native.inferenceModeExit();
  }
}
export function isInferenceModeEnabled(): boolean {
  return native.isInferenceModeEnabled();
}

/**
 * Runs fn with autocast on (torch.autocast): ops that gain from lower precision (matmuls,
 * linear layers) run in dtype (default bfloat16), the rest stay in float32. deviceType 'cuda'
 * or 'cpu'. Synchronous; nests. enabled: false turns it off inside an autocast region (a
 * full-precision part), as PyTorch's torch.autocast(..., enabled=False).
 */
/** torch.autocast's settings (cacheEnabled: taken, libtorch's default kept). */
export interface AutocastOptions { deviceType?: 'cpu' | 'cuda'; dtype?: DType; enabled?: boolean; cacheEnabled?: boolean }
export function autocast<T>(fn: () => T, opts?: AutocastOptions): T;
/** torch.autocast(device_type, dtype, enabled) as PyTorch orders them, the function last: autocast('cpu', fn) or autocast('cpu', { dtype }, fn). */
export function autocast<T>(deviceType: 'cpu' | 'cuda', ...rest: [fn: () => T] | [opts: Omit<AutocastOptions, 'deviceType'>, fn: () => T]): T;
/** every setting by name, as Python's torch.autocast(device_type='cpu', dtype=torch.bfloat16), then the function */
export function autocast<T>(opts: AutocastOptions, fn: () => T): T;
export function autocast<T>(first: (() => T) | 'cpu' | 'cuda' | AutocastOptions, ...rest: unknown[]): T {
  let fn: () => T, opts: AutocastOptions;
  if (typeof first === 'function') {
    [fn, opts] = [first, (rest[0] ?? {}) as AutocastOptions];
  } else if (typeof first === 'object' && first !== null) {
    if (typeof rest[0] !== 'function' || rest.length > 1) throw new Error("autocast: give the function to run after the settings: autocast({ deviceType: 'cpu', dtype: 'bfloat16' }, fn)");
    [fn, opts] = [rest[0] as () => T, first];
  } else {
    const last = rest[rest.length - 1];
    if (typeof last !== 'function' || rest.length > 2) throw new Error("autocast: give the function to run: autocast(fn, { deviceType, dtype }) or autocast('cpu', fn)");
    [fn, opts] = [last as () => T, { ...(rest.length === 2 ? rest[0] as object : {}), deviceType: first }];
  }
  opts = keywordOptions<AutocastOptions>('autocast', opts, ['deviceType', 'dtype', 'enabled', 'cacheEnabled']);
  if (opts.deviceType !== undefined && opts.deviceType !== 'cpu' && opts.deviceType !== 'cuda') throw new Error(`autocast: deviceType must be 'cpu' or 'cuda', got '${opts.deviceType}'`);
  const cuda = (opts.deviceType ?? 'cuda') === 'cuda';
  const enabled = opts.enabled ?? true;
  let dtype: number;
  if (enabled) dtype = dtypeCode(opts.dtype ?? 'bfloat16');
  else {
    const [on, current] = native.autocastState(cuda);
    if (!on) return fn(); // off already: nothing to do
    dtype = current;
  }
  const [prevEnabled, prevDtype] = native.autocastEnter(cuda, dtype, enabled);
  try {
    return fn();
  } finally {
    native.autocastExit(cuda, prevEnabled, prevDtype);
  }
}

/** torch.is_autocast_enabled(deviceType) and get_autocast_dtype: whether autocast is on here, and in which dtype. */
export function autocastState(deviceType: 'cpu' | 'cuda' = 'cuda'): { enabled: boolean; dtype: DType } {
  const [enabled, dtype] = native.autocastState(deviceType === 'cuda');
  return { enabled, dtype: dtypeName(dtype) };
}

export function isGradEnabled(): boolean {
  return native.isGradEnabled();
}

/**
 * Seeds libtorch's generators (CPU and CUDA), as torch.manual_seed: same seed, same numbers as
 * Python. A bigint takes any 64-bit seed (torch.seed()'s; negative ones wrap as Python's do).
 */
export function manualSeed(seed: number | bigint): void {
  native.manualSeed(seed64('tstorch.manualSeed', seed));
}

/** torch.seed(): seeds the generators (CPU and CUDA) from a non-deterministic source and returns that 64-bit seed. */
export function seed(): bigint {
  const s = defaultGenerator.seed();
  manualSeed(s); // (the CUDA generators too, as PyTorch's manual_seed_all; the CPU's again, to the same state)
  return s;
}
/** torch.initial_seed(): the seed the CPU's default generator was last seeded with. */
export const initialSeed = (): bigint => defaultGenerator.initialSeed();

/**
 * torch.set_flush_denormal: denormal floats read and written as zero on the CPU (faster where
 * values underflow; results differ there). Returns false where the CPU cannot (no SSE3).
 */
export const setFlushDenormal = (mode: boolean): boolean => native.setFlushDenormal(mode);

/** torch.is_anomaly_enabled / set_anomaly_enabled: autograd's anomaly detection (see torch.autograd.detectAnomaly). */
export const isAnomalyEnabled = (): boolean => native.isAnomalyEnabled();
export function setAnomalyEnabled(mode: boolean, checkNan = true): void {
  native.setDetectAnomaly(mode, checkNan);
}
/** torch.is_anomaly_check_nan_enabled: whether anomaly detection also fails a backward that makes NaN. */
export const isAnomalyCheckNanEnabled = (): boolean => native.isAnomalyCheckNanEnabled();

/**
 * torch.set_warn_always: libtorch's one-time warnings (TORCH_WARN_ONCE) then fire every time, and
 * every warning is emitted each time it is raised. libtorch's warnings are Node warnings here
 * (process.emitWarning: 'UserWarning', or 'DeprecationWarning' on libtorch 2.x; process.on('warning')
 * sees them, --no-warnings hides them), each distinct message emitted once per process otherwise,
 * as Python's default warnings filter shows a warning once.
 */
export function setWarnAlways(on: boolean): void {
  if (typeof on !== 'boolean') throw new Error(`setWarnAlways: expected true or false, got ${String(on)}`);
  native.setWarnAlways(on);
}
export const isWarnAlwaysEnabled = (): boolean => native.isWarnAlwaysEnabled();
/**
 * torch.compile(model), as PyTorch 2 code writes it (model = torch.compile(model)): libtorch has
 * no compiler (TorchDynamo and Inductor are Python), so the module or function comes back as it
 * is and runs eagerly, with the same results; a warning says so once. Its options are checked, not used.
 */
export function compile<T extends object>(model: T, opts: { fullgraph?: boolean; dynamic?: boolean | null; backend?: string; mode?: string | null; options?: object | null; disable?: boolean } = {}): T {
  keywordOptions('torch.compile', opts, ['fullgraph', 'dynamic', 'backend', 'mode', 'options', 'disable']);
  if (typeof model !== 'function' && !(typeof model === 'object' && model !== null && typeof (model as { forward?: unknown }).forward === 'function')) {
    throw new Error('torch.compile: give a module (with forward) or a function');
  }
  if (!opts.disable) warnOnce('torch.compile: libtorch has no compiler (TorchDynamo and Inductor are Python): the model runs eagerly, as it is');
  return model;
}
/** torch.is_autocast_enabled(deviceType): whether autocast is on for the device type ('cuda' by default, as PyTorch 1.x). */
export const isAutocastEnabled = (deviceType: 'cpu' | 'cuda' = 'cuda'): boolean => autocastState(deviceType).enabled;
/** torch.is_autocast_cpu_enabled(). */
export const isAutocastCpuEnabled = (): boolean => autocastState('cpu').enabled;
/** torch.get_autocast_cpu_dtype() / get_autocast_gpu_dtype(): the dtype autocast computes in there. */
export const getAutocastCpuDtype = (): DType => autocastState('cpu').dtype;
export const getAutocastGpuDtype = (): DType => autocastState('cuda').dtype;

/** A device's default generator state (the CPU's by default), to restore with setRngState (checkpoints). */
export function getRngState(device: Device = 'cpu'): Buffer {
  return native.getRngState(deviceCode(device));
}
export function setRngState(state: Uint8Array, device: Device = 'cpu'): void {
  native.setRngState(Buffer.from(state.buffer, state.byteOffset, state.byteLength), deviceCode(device));
}

/**
 * Makes the CPU allocator keep freed memory for reuse instead of returning large buffers to the
 * OS (glibc mallopt: no mmap, no trim). CPU training runs markedly faster (each step's large
 * buffers are not page-faulted in again); the process's RSS stays at its peak. Process-wide and
 * not undoable; returns false where the C library has no such switch.
 */
export function keepFreedCpuMemory(): boolean {
  freedMemoryKept = native.keepFreedCpuMemory() || freedMemoryKept;
  return freedMemoryKept;
}
let freedMemoryKept = false;
/** Whether keepFreedCpuMemory() is in effect in this process. */
export function cpuMemoryKept(): boolean {
  return freedMemoryKept;
}
/**
 * Hands the C library's free memory back to the OS now (glibc malloc_trim), the free pages
 * inside the heap too; returns whether any was released.
 */
export function trimCpuMemory(): boolean {
  return native.trimCpuMemory();
}

export function setNumThreads(n: number): void {
  native.setNumThreads(n);
}
export function getNumThreads(): number {
  return native.getNumThreads();
}
/** torch.set_num_interop_threads: threads for running independent ops in parallel (set once, before any work). */
export function setNumInteropThreads(n: number): void {
  native.setNumInteropThreads(n);
}
export function getNumInteropThreads(): number {
  return native.getNumInteropThreads();
}
/**
 * torch.use_deterministic_algorithms: ops without a deterministic implementation then refuse
 * (or only warn, with warnOnly), so that a run repeats bit for bit.
 */
export function useDeterministicAlgorithms(mode: boolean, opts: { warnOnly?: boolean } = {}): void {
  native.setDeterministic(mode, opts.warnOnly ?? false);
}
export function areDeterministicAlgorithmsEnabled(): boolean {
  return (native.deterministicState() as [boolean, boolean])[0];
}
export function isDeterministicAlgorithmsWarnOnlyEnabled(): boolean {
  return (native.deterministicState() as [boolean, boolean])[1];
}
/**
 * torch.set_deterministic_debug_mode: 'default' (0) lets nondeterministic ops run, 'warn' (1) warns
 * of them, 'error' (2) refuses them: useDeterministicAlgorithms(false), (true, warnOnly), (true).
 */
export function setDeterministicDebugMode(mode: 'default' | 'warn' | 'error' | 0 | 1 | 2): void {
  const level = typeof mode === 'number' ? mode : ['default', 'warn', 'error'].indexOf(mode);
  if (level !== 0 && level !== 1 && level !== 2) throw new Error(`setDeterministicDebugMode: expected 'default', 'warn', 'error' (or 0, 1, 2), got ${JSON.stringify(mode)}`);
  useDeterministicAlgorithms(level > 0, { warnOnly: level === 1 });
}
/** torch.get_deterministic_debug_mode: 0 (default), 1 (warn) or 2 (error). */
export function getDeterministicDebugMode(): 0 | 1 | 2 {
  return !areDeterministicAlgorithmsEnabled() ? 0 : isDeterministicAlgorithmsWarnOnlyEnabled() ? 1 : 2;
}
/** torch.set_float32_matmul_precision: 'highest' (full float32), 'high' (TF32 on GPUs that have it) or 'medium' (bfloat16 inside). */
export function setFloat32MatmulPrecision(precision: 'highest' | 'high' | 'medium'): void {
  if (!['highest', 'high', 'medium'].includes(precision)) throw new Error(`setFloat32MatmulPrecision: expected 'highest', 'high' or 'medium', got '${String(precision)}'`);
  native.setFloat32MatmulPrecision(precision);
}
export function getFloat32MatmulPrecision(): 'highest' | 'high' | 'medium' {
  return native.getFloat32MatmulPrecision();
}

export interface MemoryInfo {
  /** tensors handles alive in this JS environment */
  liveTensors: number;
  /** bytes of distinct storages they reference (and their grads), all devices together */
  bytes: number;
  /** the same by device */
  bytesByDevice: { cpu: number; cuda: number };
  /** CUDA's caching allocator on the current device (CUDA builds with a GPU): what it holds */
  cudaAllocator?: CudaMemoryStats;
}

/** torch.cuda.memory_allocated / max_memory_allocated / memory_reserved / max_memory_reserved, in bytes. */
export interface CudaMemoryStats {
  allocated: number;
  peakAllocated: number;
  reserved: number;
  peakReserved: number;
}

export function memory(): MemoryInfo {
  const b = native.memoryBytes();
  const info: MemoryInfo = { liveTensors: native.liveTensors(), bytes: b.cpu + b.cuda, bytesByDevice: b };
  const s = cuda.memoryStats();
  if (s) info.cudaAllocator = s;
  return info;
}

export const cuda = {
  /** TF32 for float32 matmuls/convolutions on CUDA (allow_tf32): faster, ~10-bit mantissa products. */
  setAllowTF32(on: boolean): void {
    native.setAllowTF32(on);
  },
  getAllowTF32(): boolean {
    return native.getAllowTF32();
  },
  isAvailable(): boolean {
    return native.cudaIsAvailable();
  },
  deviceCount(): number {
    return native.cudaDeviceCount();
  },
  synchronize(device?: number): void {
    native.cudaSynchronize(device ?? null);
  },
  /** The caching allocator's statistics for a device (null where this build has none). */
  memoryStats(device = 0): CudaMemoryStats | null {
    return native.cudaIsAvailable() ? native.cudaMemoryStats(device) : null;
  },
  /** Starts peakAllocated / peakReserved afresh (torch.cuda.reset_peak_memory_stats). */
  resetPeakMemoryStats(device = 0): void {
    if (native.cudaIsAvailable()) native.cudaResetPeakMemoryStats(device);
  },
  /** Bytes the caching allocator holds in tensors on a device now (torch.cuda.memory_allocated); 0 without CUDA statistics, as PyTorch's before CUDA starts. */
  memoryAllocated(device = 0): number {
    return cuda.memoryStats(device)?.allocated ?? 0;
  },
  /** The most memoryAllocated has been since the start or resetPeakMemoryStats (torch.cuda.max_memory_allocated). */
  maxMemoryAllocated(device = 0): number {
    return cuda.memoryStats(device)?.peakAllocated ?? 0;
  },
  /** Bytes the caching allocator has reserved from the driver (torch.cuda.memory_reserved). */
  memoryReserved(device = 0): number {
    return cuda.memoryStats(device)?.reserved ?? 0;
  },
  maxMemoryReserved(device = 0): number {
    return cuda.memoryStats(device)?.peakReserved ?? 0;
  },
  /** Seeds the CUDA generators only, the CPU's left as it was (torch.cuda.manual_seed_all; manual_seed, the same here). */
  manualSeedAll(seed: number | bigint): void {
    const cpu = defaultGenerator.getState();
    try {
      manualSeed(seed);
    } finally {
      defaultGenerator.setState(cpu);
    }
  },
  manualSeed(seed: number | bigint): void {
    cuda.manualSeedAll(seed);
  },
  /** Returns cached, unused blocks to the driver (torch.cuda.empty_cache). */
  emptyCache(): void {
    if (native.cudaIsAvailable()) native.cudaEmptyCache();
  },
};

/** A global switch of libtorch's as a property that reads and sets it. */
function backendFlag(name: string): PropertyDescriptor {
  return {
    enumerable: true,
    get: () => native.backendFlag(name) as boolean,
    set: (v: unknown) => {
      if (typeof v !== 'boolean') throw new Error(`torch.backends: ${name} takes true or false, got ${JSON.stringify(v)}`);
      native.backendFlag(name, v);
    },
  };
}
/**
 * torch.backends: libtorch's global switches as PyTorch's properties
 * (torch.backends.cuda.matmul.allowTf32 = true, torch.backends.cudnn.benchmark = true). They
 * change what CUDA kernels do; on the CPU they are kept and read back.
 */
export const backends = {
  cuda: {
    /** TF32 tensor cores for float32 matmuls (allow_tf32, off by default as PyTorch's) */
    matmul: Object.defineProperties({}, { allowTf32: backendFlag('allowTF32CuBLAS') }) as { allowTf32: boolean },
    /** whether this build of libtorch has CUDA */
    isBuilt: (): boolean => native.buildInfo().builtWithCuda as boolean,
  },
  /** cuDNN's switches: allowTf32 (on by default), benchmark (autotuned convolutions), deterministic, enabled */
  cudnn: Object.defineProperties({ isAvailable: (): boolean => native.backendFlag('cudnnAvailable') as boolean }, {
    allowTf32: backendFlag('allowTF32CuDNN'),
    benchmark: backendFlag('benchmarkCuDNN'),
    deterministic: backendFlag('deterministicCuDNN'),
    enabled: backendFlag('userEnabledCuDNN'),
  }) as { isAvailable(): boolean; allowTf32: boolean; benchmark: boolean; deterministic: boolean; enabled: boolean },
};

export interface BuildInfo {
  torchVersion: string;
  torchVersionMajor: number;
  torchVersionMinor: number;
  /** where the build found libtorch: LIBTORCH, Torch_DIR, python:<interpreter> or system */
  torchSource: string;
  builtWithCuda: boolean;
  cudaAvailable: boolean;
  cudaDeviceCount: number;
  cxx11Abi: boolean;
  /** which addon binary is loaded: a local build, TSTORCH_ADDON or a prebuild */
  addon: { file: string; kind: string } | null;
  parallel: string;
  config: string;
}

export function buildInfo(): BuildInfo {
  const b = native.buildInfo();
  return {
    ...b,
    cudaAvailable: native.cudaIsAvailable(),
    cudaDeviceCount: native.cudaDeviceCount(),
    addon: loadedAddon,
  };
}
