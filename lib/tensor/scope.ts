// Memory scopes. GPU memory cannot wait for the garbage collector, so every tensor is either
// disposed by hand, or owned by a tidy() scope that frees it when the scope ends, or kept
// (parameters, optimizer state) and disposed by its owner. A FinalizationRegistry is only a
// safety net, and only for tensors made outside any scope: the hot path inside tidy() skips it.
import { isRecord } from './named_tuple';
import { native } from './native';

export interface Handle {
  _id: number;
  _kept: boolean;
}

// Open scopes, innermost last. Each nesting depth keeps its array between tidy() calls and
// counts its entries: growing a fresh array in every tidy() showed up in profiles of small steps.
const scopeArrays: (Handle | null)[][] = [];
const enclosingCounts: number[] = [];
let depth = 0;
let current: (Handle | null)[] | null = null;
let currentCount = 0;

function pushScope(): (Handle | null)[] {
  if (depth > 0) enclosingCounts[depth - 1] = currentCount;
  if (scopeArrays.length === depth) scopeArrays.push([]);
  current = scopeArrays[depth++];
  currentCount = 0;
  return current;
}

/** Closes the innermost scope; returns how many tensors it holds. */
function popScope(): number {
  const n = currentCount;
  depth--;
  current = depth > 0 ? scopeArrays[depth - 1] : null;
  currentCount = depth > 0 ? enclosingCounts[depth - 1] : 0;
  return n;
}

// The safety net registers without an unregister token (a token costs ~0.3 us per tensor).
// Instead dispose() counts the slot's generation, and the registry holds the slot and the
// generation the tensor had: a finalizer call for a tensor disposed long ago, whose slot now
// holds another tensor, sees another generation and frees nothing. (The counts are doubles,
// exact to 2^53 reuses of a slot. They were 10 bits, packed with the slot into one small
// integer: after 1024 reuses of a slot, a late finalizer call freed the live tensor then in it.)
let generations = new Float64Array(1024);

function generationOf(slot: number): number {
  if (slot >= generations.length) {
    const g = new Float64Array(Math.max(slot + 1, generations.length * 2));
    g.set(generations);
    generations = g;
  }
  return generations[slot];
}

interface SafetyNetEntry {
  slot: number;
  generation: number;
}

const finalizer = new FinalizationRegistry<SafetyNetEntry>(({ slot, generation }) => {
  if (generationOf(slot) === generation) {
    generations[slot]++;
    native.dispose(slot);
  }
});

function register(t: Handle): void {
  finalizer.register(t, { slot: t._id, generation: generationOf(t._id) });
}

// Tensor.dispose() queues the handle here instead of crossing into C++; the next native call
// (any binding) frees the queued tensors first, so memory() and every op see them gone.
// [0] is the count. A full queue is flushed at once.
const releaseQueue: Int32Array = native.releaseQueue();
const RELEASE_CAPACITY = releaseQueue.length - 1;

/** Frees a handle (Tensor.dispose). */
export function disposeHandle(t: Handle): void {
  const slot = t._id;
  if (slot < 0) return;
  t._id = -1;
  if (slot < generations.length) generations[slot]++;
  const n = releaseQueue[0] + 1;
  releaseQueue[n] = slot;
  releaseQueue[0] = n;
  if (n === RELEASE_CAPACITY) native.flushReleased();
}

// Tensors made outside any scope wait here before the safety net registers them, so one that
// is disposed soon after it is made (the `using` / dispose() pattern) never pays for it. A fixed
// array with a count: truncating and regrowing a JS array costs more than the op itself.
const PENDING_MAX = 256;
const pending: (Handle | null)[] = new Array<Handle | null>(PENDING_MAX).fill(null);
let pendingCount = 0;

function flushPending(): void {
  for (let i = 0; i < pendingCount; i++) {
    const t = pending[i] as Handle;
    if (t._id >= 0) register(t);
    pending[i] = null;
  }
  pendingCount = 0;
}

/** @internal Hands the tensors waiting here to the safety net now (tests settle the live count with it). */
export function registerPending(): void {
  flushPending();
}

/** Called for every new tensor. */
export function track(t: Handle): void {
  if (current !== null) current[currentCount++] = t;
  else {
    pending[pendingCount++] = t;
    if (pendingCount === PENDING_MAX) flushPending();
  }
}

/**
 * @internal If t was made in the innermost open scope (and not kept), takes its handle away from
 * JS for C++ to take over, saving an alias: the wrapper then reads as disposed, and the scope
 * skips it. Returns the handle, or -1 when t is not the scope's to give.
 */
export function handOver(t: Handle): number {
  if (current === null || t._kept || t._id < 0) return -1;
  for (let i = currentCount - 1; i >= 0; i--) {
    if (current[i] === t) {
      const slot = t._id;
      t._id = -1;
      return slot;
    }
  }
  return -1;
}

/** Marks a tensor as owned elsewhere: no enclosing tidy() frees it. Returns it. */
export function keep<T extends Handle>(t: T): T {
  if (!t._kept) {
    t._kept = true;
    if (current !== null) register(t);
  }
  return t;
}

function isHandle(x: unknown): x is Handle {
  return x !== null && typeof x === 'object' && '_id' in x && '_kept' in x;
}

function collect(result: unknown, out: Set<Handle>, level = 0): void {
  if (result === null || typeof result !== 'object' || level > 4) return;
  if (isHandle(result)) {
    out.add(result);
    return;
  }
  if (Array.isArray(result)) {
    for (const r of result) collect(r, out, level + 1);
  } else if (isRecord(result)) {
    for (const r of Object.values(result as object)) collect(r, out, level + 1);
  }
}

/**
 * Runs fn and frees every tensor made inside it, except those it returns (directly, or in an
 * array or plain object) and those keep()-ed. Synchronous only: a Promise result is refused.
 */
export function tidy<T>(fn: () => T): T {
  const scope = pushScope();
  let result: T;
  try {
    result = fn();
  } catch (e) {
    release(scope, popScope(), null);
    throw e;
  }
  const count = popScope();
  if (result instanceof Promise) {
    release(scope, count, null);
    throw new Error('tstorch.tidy: fn must be synchronous (it returned a Promise)');
  }
  // What is returned and was made in this scope now belongs to the enclosing scope (or to the
  // safety net at top level). A tensor from outside that fn hands back stays its owner's: were it
  // adopted, the enclosing scope would free its caller's tensor (tidy(() => x) inside a step).
  if (isHandle(result)) {
    // one tensor (the common case): no set to build
    if (release(scope, count, null, result) && !result._kept && result._id >= 0) track(result);
    return result;
  }
  if (result === null || typeof result !== 'object') {
    release(scope, count, null);
    return result;
  }
  const survivors = new Set<Handle>();
  collect(result, survivors);
  const made: Handle[] = [];
  release(scope, count, survivors, null, made);
  for (const t of made) if (!t._kept && t._id >= 0) track(t);
  return result;
}

// Reused between scopes: making a typed array costs ~0.8 us, more than a small op.
let releaseBuffer = new Int32Array(4096);

// Frees the scope's tensors but the survivors (a set of them, or just one). Says whether the
// scope held the one survivor; puts those of the set it held in `made`.
function release(scope: (Handle | null)[], count: number, survivors: Set<Handle> | null, survivor: Handle | null = null, made: Handle[] | null = null): boolean {
  // One crossing for the whole scope; an Int32Array is read by C++ without per-element calls.
  if (count > releaseBuffer.length) releaseBuffer = new Int32Array(count * 2);
  const ids = releaseBuffer;
  let n = 0, held = false;
  for (let i = 0; i < count; i++) {
    const t = scope[i] as Handle;
    scope[i] = null; // the array is reused by the next scope at this depth
    const slot = t._id;
    if (t === survivor) held = true;
    else if (survivors !== null && survivors.has(t)) made!.push(t);
    else if (!t._kept && slot >= 0) {
      ids[n++] = slot;
      t._id = -1;
    }
  }
  if (n) native.disposeMany(ids, n);
  // Do not keep a huge array alive for the next, probably small, scope at this depth.
  if (count > 65536) scopeArrays[depth] = [];
  return held;
}

export function scopeDepth(): number {
  return depth;
}
