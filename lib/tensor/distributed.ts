// torch.distributed, the parts data-parallel training needs, on libtorch's own c10d: a TCPStore
// rendezvous and a process group: Gloo (CPU tensors) or NCCL (CUDA tensors, CUDA builds). Ranks and addresses come from the environment
// torchrun sets (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT) unless given.
import { native } from './native';
import { Tensor, _id as id } from './tensor';
import { emptyLike, fromBytes } from './creation';
import { noGrad } from './runtime';

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

/** torch.distributed.ReduceOp: how a collective combines the ranks' values. */
export const ReduceOp = { SUM: 'sum', AVG: 'avg', PRODUCT: 'product', MIN: 'min', MAX: 'max' } as const;
export type ReduceOpName = (typeof ReduceOp)[keyof typeof ReduceOp];

function checkOp(op: string): ReduceOpName {
  if (!(Object.values(ReduceOp) as string[]).includes(op)) throw new Error(`distributed: unknown op '${op}' (ReduceOp: sum, avg, product, min, max)`);
  return op as ReduceOpName;
}
const list = (t: Tensor | Tensor[]) => (Array.isArray(t) ? t : [t]);
function checkRank(r: number, what: string): number {
  if (!(Number.isInteger(r) && r >= 0 && r < getWorldSize())) throw new Error(`distributed: ${what} must be a rank in [0, ${getWorldSize() - 1}], got ${r}`);
  return r;
}

/**
 * torch.distributed.all_reduce: every rank's tensor (or tensors, in buckets) becomes the
 * reduction (op: sum by default, avg, product, min, max) over ranks, in place.
 */
export function allReduce(tensors: Tensor | Tensor[], opts: { op?: ReduceOpName; bucketBytes?: number } = {}): void {
  native.distAllReduce(list(tensors).map(id), checkOp(opts.op ?? 'sum'), opts.bucketBytes ?? 25 << 20);
}
/** torch.distributed.reduce: rank dst's tensor becomes the reduction over ranks (in place; the others' are left as they were). */
export function reduce(tensor: Tensor, dst: number, opts: { op?: ReduceOpName } = {}): void {
  native.distReduce(id(tensor), checkRank(dst, 'dst'), checkOp(opts.op ?? 'sum'));
}
/** torch.distributed.all_gather: tensorList[k] receives rank k's tensor (all of one shape and dtype), on every rank. */
export function allGather(tensorList: Tensor[], tensor: Tensor): void {
  if (tensorList.length !== getWorldSize()) throw new Error(`distributed allGather: tensorList needs ${getWorldSize()} tensors (one a rank), got ${tensorList.length}`);
  native.distAllGather(tensorList.map(id), id(tensor));
}
/** torch.distributed.gather: on dst, gatherList[k] receives rank k's tensor; other ranks pass null. */
export function gather(tensor: Tensor, gatherList: Tensor[] | null, dst = 0): void {
  checkRank(dst, 'dst');
  if (getRank() === dst && (!gatherList || gatherList.length !== getWorldSize())) throw new Error(`distributed gather: rank ${dst} (dst) needs a gatherList of ${getWorldSize()} tensors`);
  if (getRank() !== dst && gatherList) throw new Error('distributed gather: only dst passes a gatherList (the others pass null)');
  native.distGather((gatherList ?? []).map(id), id(tensor), dst);
}
/** torch.distributed.scatter: each rank's tensor receives scatterList[rank] from src; other ranks pass null. */
export function scatter(tensor: Tensor, scatterList: Tensor[] | null, src = 0): void {
  checkRank(src, 'src');
  if (getRank() === src && (!scatterList || scatterList.length !== getWorldSize())) throw new Error(`distributed scatter: rank ${src} (src) needs a scatterList of ${getWorldSize()} tensors`);
  if (getRank() !== src && scatterList) throw new Error('distributed scatter: only src passes a scatterList (the others pass null)');
  native.distScatter(id(tensor), (scatterList ?? []).map(id), src);
}
/** torch.distributed.reduce_scatter: output receives the reduction over ranks of their inputList[rank] (NCCL; Gloo has none). */
export function reduceScatter(output: Tensor, inputList: Tensor[], opts: { op?: ReduceOpName } = {}): void {
  if (inputList.length !== getWorldSize()) throw new Error(`distributed reduceScatter: inputList needs ${getWorldSize()} tensors (one a rank), got ${inputList.length}`);
  native.distReduceScatter(id(output), inputList.map(id), checkOp(opts.op ?? 'sum'));
}
/** torch.distributed.all_to_all_single (equal splits): input's k-th part along dim 0 goes to rank k; output's k-th part comes from rank k. */
export function allToAllSingle(output: Tensor, input: Tensor): void {
  native.distAllToAllSingle(id(output), id(input));
}
/** torch.distributed.send: the tensor to rank dst (which calls recv). */
export function send(tensor: Tensor, dst: number, tag = 0): void {
  if (checkRank(dst, 'dst') === getRank()) throw new Error('distributed send: dst is this rank');
  native.distSend(id(tensor), dst, tag);
}
/** torch.distributed.recv: fills tensor (contiguous) from rank src (any rank when omitted); returns the sender's rank. */
export function recv(tensor: Tensor, src?: number | null, tag = 0): number {
  if (src !== undefined && src !== null && checkRank(src, 'src') === getRank()) throw new Error('distributed recv: src is this rank');
  return native.distRecv(id(tensor), src ?? -1, tag);
}

// Object collectives: JSON bytes in uint8 tensors, on the device the backend takes (NCCL: this
// worker's GPU, cuda:LOCAL_RANK as the launcher assigns them; Gloo: the CPU).
function objectDevice(): string {
  return getBackend() === 'nccl' ? `cuda:${process.env.LOCAL_RANK ?? 0}` : 'cpu';
}
/** A JSON value's UTF-8 bytes. */
function objectBytes(obj: unknown, what: string): Buffer {
  const json = JSON.stringify(obj);
  if (json === undefined) throw new Error(`distributed ${what}: the object must be JSON-serialisable`);
  return Buffer.from(json, 'utf8');
}
/** Bytes in a uint8 tensor of `size` (zero-padded) on the collective's device. */
function bytesTensor(b: Uint8Array, size: number): Tensor {
  const padded = Buffer.alloc(size);
  padded.set(b.subarray(0, size));
  return fromBytes(padded, [size], 'uint8', objectDevice());
}
const int64Tensor = (n: number) => fromBytes(new Uint8Array(new BigInt64Array([BigInt(n)]).buffer), [1], 'int64', objectDevice());
const readJson = (t: Tensor, length: number) => {
  const host = t.cpu();
  try {
    return JSON.parse(Buffer.from((host.data() as Uint8Array).subarray(0, length)).toString('utf8'));
  } finally {
    if (host !== t) host.dispose();
  }
};
/**
 * torch.distributed.all_gather_object: every rank's object (JSON-serialisable here, not pickled),
 * as a list in rank order, on every rank.
 */
export function allGatherObject(obj: unknown): unknown[] {
  const mine = objectBytes(obj, 'allGatherObject'), world = getWorldSize();
  const size = int64Tensor(mine.length);
  const sizes = Array.from({ length: world }, () => int64Tensor(0));
  const tensors: Tensor[] = [size, ...sizes];
  try {
    allGather(sizes, size);
    const lengths = sizes.map((t) => Number(t.item()));
    const max = Math.max(...lengths);
    const out = Array.from({ length: world }, () => bytesTensor(new Uint8Array(0), max));
    const input = bytesTensor(mine, max);
    tensors.push(...out, input);
    allGather(out, input);
    return out.map((t, k) => readJson(t, lengths[k]));
  } finally {
    for (const t of tensors) t.dispose();
  }
}
/** torch.distributed.broadcast_object_list: objects[k] on every rank becomes src's (JSON-serialisable here), in place. */
export function broadcastObjectList(objects: unknown[], src = 0): void {
  checkRank(src, 'src');
  const mine = getRank() === src ? objectBytes(objects, 'broadcastObjectList') : Buffer.alloc(0);
  const size = int64Tensor(mine.length);
  let payload: Tensor | null = null;
  try {
    broadcast([size], src);
    const length = Number(size.item());
    payload = bytesTensor(mine, length);
    broadcast([payload], src);
    const got = readJson(payload, length) as unknown[];
    if (got.length !== objects.length) throw new Error(`distributed broadcastObjectList: src has ${got.length} objects, this rank's list ${objects.length}`);
    got.forEach((o, k) => { objects[k] = o; });
  } finally {
    size.dispose();
    payload?.dispose();
  }
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
/**
 * broadcast() for tensors the ranks most likely hold alike already (a frozen base each loaded
 * from the same file): each is received beside its own and written only where they differ, so
 * memory that agrees is never written. A weight mapped from its file (fromPretrained's mmap)
 * then stays the page cache's, one copy for all the ranks of a machine, instead of becoming
 * each rank's own. One tensor (and one scratch copy of it) at a time.
 */
export function broadcastIfDifferent(tensors: Tensor[], src = 0): void {
  checkRank(src, 'src');
  for (const t of tensors) {
    if (getRank() === src) {
      broadcast([t], src);
      continue;
    }
    const got = emptyLike(t);
    try {
      broadcast([got], src);
      if (!got.equal(t)) noGrad(() => t.copy_(got));
    } finally {
      got.dispose();
    }
  }
}
export function barrier(): void {
  native.distBarrier();
}
export function destroyProcessGroup(): void {
  native.distDestroy();
  info = null;
}
