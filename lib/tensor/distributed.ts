// torch.distributed, the parts data-parallel training needs, on libtorch's own c10d: a TCPStore
// rendezvous and a process group: Gloo (CPU tensors) or NCCL (CUDA tensors, CUDA builds). Ranks and addresses come from the environment
// torchrun sets (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT) unless given.
import { native } from './native';
import { Tensor, _id as id } from './tensor';

export interface InitOptions {
  /** 'gloo' (CPU tensors) or 'nccl' (CUDA tensors); default gloo */
  backend?: 'gloo' | 'nccl';
  masterAddr?: string;
  masterPort?: number;
  rank?: number;
  worldSize?: number;
  /** how long a collective or the rendezvous may wait for a peer (default 60 s) */
  timeoutMs?: number;
}

let info: { rank: number; worldSize: number; backend: 'gloo' | 'nccl' } | null = null;

export function isAvailable(): boolean {
  return backends().length > 0;
}
/** The backends this build has: 'gloo' where Gloo's headers were found, 'nccl' in CUDA builds with NCCL. */
export function backends(): ('gloo' | 'nccl')[] {
  return native.distBackends();
}
export function isNcclAvailable(): boolean {
  return backends().includes('nccl');
}
export function isInitialized(): boolean {
  return info !== null;
}

function envInt(name: string, fallback?: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') {
    if (fallback === undefined) throw new Error(`distributed: ${name} is not set (start the workers with tstorch train --nproc-per-node N, or set it)`);
    return fallback;
  }
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`distributed: ${name}='${v}' is not a non-negative integer`);
  return n;
}

/** True when this process was started as one of several workers (WORLD_SIZE > 1). */
export function launchedDistributed(): boolean {
  return Number(process.env.WORLD_SIZE ?? '1') > 1;
}

export function initProcessGroup(o: InitOptions = {}): void {
  if (info) throw new Error('distributed: the process group is already initialised');
  const backend = o.backend ?? 'gloo';
  if (backend !== 'gloo' && backend !== 'nccl') throw new Error(`distributed: unknown backend '${backend}' (gloo or nccl)`);
  if (!backends().includes(backend)) {
    throw new Error(`distributed: this build has no ${backend} (it has: ${backends().join(', ') || 'none'}); ` +
      (backend === 'nccl' ? 'build against a CUDA libtorch with NCCL' : 'install libgloo-dev and rebuild: npm run build:native'));
  }
  const rank = o.rank ?? envInt('RANK');
  const worldSize = o.worldSize ?? envInt('WORLD_SIZE');
  native.distInit(o.masterAddr ?? process.env.MASTER_ADDR ?? '127.0.0.1', o.masterPort ?? envInt('MASTER_PORT', 29500), rank, worldSize, o.timeoutMs ?? 60000, backend);
  info = { rank, worldSize, backend };
}

export function getRank(): number {
  return info?.rank ?? 0;
}
export function getBackend(): 'gloo' | 'nccl' | null {
  return info?.backend ?? null;
}
export function getWorldSize(): number {
  return info?.worldSize ?? 1;
}

/** Sums (op 'sum') or averages (op 'avg') the tensors across ranks, in place, in buckets. */
export function allReduce(tensors: Tensor[], opts: { op?: 'sum' | 'avg'; bucketBytes?: number } = {}): void {
  native.distAllReduce(tensors.map(id), (opts.op ?? 'sum') === 'avg', opts.bucketBytes ?? 25 << 20);
}
/** Averages the gradients of the given parameters across ranks (bucketed all-reduce). */
export function allReduceGrads(params: Tensor[], bucketBytes = 25 << 20): void {
  native.distAllReduceGrads(params.map(id), bucketBytes);
}
/**
 * Gradient averaging overlapped with backward: buckets (in backward's order) whose all-reduce
 * starts from autograd hooks as soon as their last gradient exists. Register once; then per
 * step prepareGradSync() before backward and finishGradSync() after it. Backwards run without
 * prepareGradSync() only accumulate into .grad (gradient accumulation, like DDP's no_sync());
 * the prepared one averages the whole accumulated gradient.
 */
export function registerGradSync(params: Tensor[], bucketBytes = 25 << 20): void {
  native.distRegisterGradSync(params.map(id), bucketBytes);
}
export function prepareGradSync(): void {
  native.distPrepareGradSync();
}
/** Waits for the buckets' all-reduces; each parameter's .grad becomes the mean over ranks. */
export function finishGradSync(): void {
  native.distFinishGradSync();
}

/** Every rank receives src's values, in place. */
export function broadcast(tensors: Tensor[], src = 0): void {
  native.distBroadcast(tensors.map(id), src);
}
export function barrier(): void {
  native.distBarrier();
}
export function destroyProcessGroup(): void {
  native.distDestroy();
  info = null;
}
