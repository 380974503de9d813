// Memory scopes. GPU memory cannot wait for the garbage collector, so every tensor is either
// disposed by hand, or owned by a tidy() scope that frees it when the scope ends, or kept
// (parameters, optimizer state) and disposed by its owner. A FinalizationRegistry is only a
// safety net, and only for tensors made outside any scope (registering costs ~0.5 us, so the
// hot path inside tidy() skips it).
import { native } from './native';

export interface Handle {
  _id: number;
  _kept: boolean;
}

const scopes: Handle[][] = [];

const finalizer = new FinalizationRegistry<number>((id) => native.dispose(id));

/** Called for every new tensor. */
export function track(t: Handle): void {
  const top = scopes.length ? scopes[scopes.length - 1] : undefined;
  if (top) top.push(t);
  else finalizer.register(t, t._id, t);
}

export function untrackFinalizer(t: Handle): void {
  finalizer.unregister(t);
}

/** Marks a tensor as owned elsewhere: no enclosing tidy() frees it. Returns it. */
export function keep<T extends Handle>(t: T): T {
  if (!t._kept) {
    t._kept = true;
    if (scopes.length) finalizer.register(t, t._id, t);
  }
  return t;
}

function collect(result: unknown, out: Set<Handle>, depth = 0): void {
  if (result === null || typeof result !== 'object' || depth > 4) return;
  if ('_id' in (result as object) && '_kept' in (result as object)) {
    out.add(result as Handle);
    return;
  }
  if (Array.isArray(result)) {
    for (const r of result) collect(r, out, depth + 1);
  } else if (Object.getPrototypeOf(result) === Object.prototype) {
    for (const r of Object.values(result as object)) collect(r, out, depth + 1);
  }
}

/**
 * Runs fn and frees every tensor made inside it, except those it returns (directly, or in an
 * array or plain object) and those keep()-ed. Synchronous only: a Promise result is refused.
 */
export function tidy<T>(fn: () => T): T {
  const scope: Handle[] = [];
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    release(scope, new Set());
    throw e;
  }
  scopes.pop();
  if (result instanceof Promise) {
    release(scope, new Set());
    throw new Error('tstorch.tidy: fn must be synchronous (it returned a Promise)');
  }
  const survivors = new Set<Handle>();
  collect(result, survivors);
  release(scope, survivors);
  // What is returned now belongs to the enclosing scope (or to the finalizer at top level).
  for (const t of survivors) if (!t._kept && t._id >= 0) track(t);
  return result;
}

function release(scope: Handle[], survivors: Set<Handle>): void {
  const ids: number[] = [];
  for (const t of scope) {
    if (t._kept || t._id < 0 || survivors.has(t)) continue;
    ids.push(t._id);
    t._id = -1;
  }
  if (ids.length) native.disposeMany(ids);
}

export function scopeDepth(): number {
  return scopes.length;
}
