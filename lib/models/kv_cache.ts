// The key/value cache's storage: room to grow in place (GPT-2's attention appends through
// appendToCache) and beam search's reordering of rows within it (reorderCache).
import { Tensor } from '../tensor/tensor';
import { empty, tensor } from '../tensor/creation';
import { cat } from '../tensor/ops';
import { isGradEnabled } from '../tensor/runtime';
import { keep, tidy } from '../tensor/scope';
import type { DType, Device } from '../tensor/dtype';
import type { LayerPast } from './gpt2';

/**
 * Room for a key/value cache to grow. HF's DynamicCache appends a step's keys with torch.cat: a
 * copy of the whole cache every step, and on the CPU a fresh buffer page-faulted in (8 rows at 900
 * positions: 85% of a decode step's time). Here, without autograd, the cache a pass returns is a
 * view of a buffer with spare positions after it, and the next pass given that very tensor writes
 * its new positions there in place. Only one pass may grow a buffer from a given length: `written`
 * says how far it is filled, and a cache shorter than that (a second continuation of the same
 * cache, a cropped one) is copied, as is any tensor this did not make (stacked, reordered).
 * The batcher's stacks have rows spare too: `rowsWritten` says how many are in use, and only a
 * view of them all may take more (addRows) or have its rows moved (reorderCache).
 */
interface CacheRoom {
  /** positions written and positions there is room for; rows in use and rows there is room for (the batcher's joins) */
  buffer: { written: number; capacity: number; rowsWritten: number; rows: number };
  length: number;
}
const cacheRooms = new WeakMap<Tensor, CacheRoom>();

/** The rows a new cache's buffer holds where more than its own (withCacheRows). */
let rowsForNewCaches = 0;

/**
 * fn, with the caches its passes make (newCache) in buffers that hold `rows` rows: the batcher's
 * prompts' pass together, so that generations can join their shared steps later (addRows) without
 * stacking every cache anew.
 */
export function withCacheRows<T>(rows: number, fn: () => T): T {
  const before = rowsForNewCaches;
  rowsForNewCaches = rows;
  try {
    return fn();
  } finally {
    rowsForNewCaches = before;
  }
}

/** cat([past, x], -2) for a (B, n_head, positions, head_dim) cache, in place where past has room (see CacheRoom). */
export function appendToCache(past: Tensor, x: Tensor, maxPositions: number): Tensor {
  const [B, H, K, D] = past.shape;
  const T = x.shape[2];
  const alike = past.dtype === x.dtype && past.device === x.device && x.shape[0] === B && x.shape[1] === H && x.shape[3] === D;
  if (!alike || (isGradEnabled() && (past.requiresGrad || x.requiresGrad))) return cat([past, x], -2);
  const room = cacheRooms.get(past);
  if (room && room.length === K && room.buffer.written === K && room.buffer.capacity >= K + T) {
    const grown = past.asStrided([B, H, K + T, D], past.stride(), past.storageOffset());
    grown.narrow(2, K, T).copy_(x);
    room.buffer.written = K + T;
    cacheRooms.set(grown, { buffer: room.buffer, length: K + T });
    return grown;
  }
  // a new buffer (half as long again): amortized, a copy per growth, not per step
  const grown = cacheWithRoom([B, H, K + T, D], x.dtype, x.device, maxPositions, Math.max(B, room?.buffer.rows ?? B));
  grown.narrow(2, 0, K).copy_(past);
  grown.narrow(2, K, T).copy_(x);
  return grown;
}

/**
 * An uninitialised (B, n_head, positions, head_dim) cache in a buffer with room (see CacheRoom):
 * half as long again, up to the model's context, and `rows` rows (the batcher's room for
 * generations to join; B by default). For a caller to fill: a pass given it appends in place.
 */
export function cacheWithRoom(shape: number[], dtype: DType, device: Device, maxPositions: number, rows = shape[0]): Tensor {
  const [B, H, K, D] = shape;
  const capacity = Math.max(K, Math.min(maxPositions, Math.ceil(1.5 * K) + 8));
  const buffer = empty([Math.max(B, rows), H, capacity, D], { dtype, device });
  const view = buffer.narrow(0, 0, B).narrow(2, 0, K);
  buffer.dispose(); // (the view holds the memory)
  cacheRooms.set(view, { buffer: { written: K, capacity, rowsWritten: B, rows: Math.max(B, rows) }, length: K });
  return view;
}

/** How many rows this cache's buffer holds in place (addRows): 0 unless it is the newest view of all its rows in use. */
export function rowRoom(t: Tensor): number {
  const room = cacheRooms.get(t);
  return room && room.length === room.buffer.written && t.shape[0] === room.buffer.rowsWritten && !(isGradEnabled() && t.requiresGrad) ? room.buffer.rows : 0;
}

/**
 * The batcher's join: `t` (rows, n_head, K, head_dim) with the given caches' rows after its own,
 * each left-padded with zeros to K positions, written into t's buffer's spare rows (rowRoom
 * must cover them): t's own rows stay where they are, no copy. Returns the new (kept) view.
 */
export function addRows(t: Tensor, added: readonly Tensor[]): Tensor {
  const more = added.reduce((n, a) => n + a.shape[0], 0), [B, H, K, D] = t.shape;
  if (rowRoom(t) < B + more) throw new Error('addRows: internal error: no room for the rows in this cache');
  return tidy(() => {
    const grown = keep(t.asStrided([B + more, H, K, D], t.stride(), t.storageOffset()));
    let row = B;
    for (const a of added) {
      const n = a.shape[0], c = a.shape[2], mine = grown.narrow(0, row, n);
      if (c < K) mine.narrow(2, 0, K - c).zero_(); // (masked, but finite)
      mine.narrow(2, K - c, c).copy_(a);
      row += n;
    }
    const room = cacheRooms.get(t)!;
    room.buffer.rowsWritten = B + more;
    cacheRooms.set(grown, room);
    return grown;
  });
}

/**
 * A prompt's (B, n_head, T, head_dim) keys or values as a cache in a buffer with room (rows too
 * inside withCacheRows), where no autograd records them (else x itself: the cache is then cat'ed, as HF's).
 */
export function newCache(x: Tensor, maxPositions: number): Tensor {
  if (isGradEnabled() && x.requiresGrad) return x;
  return cacheWithRoom(x.shape, x.dtype, x.device, maxPositions, rowsForNewCaches).copy_(x);
}

/**
 * Each row of a (B, n_head, positions, head_dim) cache repeated `copies` times, adjacent (as
 * repeatInterleave: a prompt's beams or samples sharing its cache), written once into a buffer
 * with room, so the next pass appends in place. Where autograd records t: repeatInterleave itself.
 */
export function repeatCache(t: Tensor, copies: number, maxPositions: number): Tensor {
  if (isGradEnabled() && t.requiresGrad) return t.repeatInterleave(copies, 0);
  const [B, H, P, D] = t.shape;
  const repeated = cacheWithRoom([B * copies, H, P, D], t.dtype, t.device, maxPositions);
  tidy(() => { repeated.view([B, copies, H, P, D]).copy_(t.unsqueeze(1).expand([B, copies, H, P, D])); });
  return repeated;
}

/**
 * HF's _reorder_cache for beam search: row i of each returned tensor is row from[i] of the given
 * one (from may be shorter than the rows: the batcher cuts out the rows of generations that have
 * ended). Where a tensor is the newest view of a buffer the model made (see CacheRoom), the rows
 * that change move within that buffer, so the next pass still appends in place; HF's
 * index_select copies the whole cache every step, and the next pass's cat copies it again (4
 * beams after a 500-token prompt, 16 steps: 3.7 of 9.8 s in aten::copy_). Anything else is copied by
 * index_select, as HF's. Returns new tensors either way; the given ones stay the caller's to
 * dispose (and are reordered too where the rows moved in place).
 */
export function reorderCache(past: readonly LayerPast[], from: number[]): LayerPast[] {
  return tidy(() => {
    const device = past[0][0].device;
    const index = tensor(from, { dtype: 'int64', device });
    const moved = from.flatMap((j, i) => (j !== i ? [i] : []));
    const rows = tensor(moved, { dtype: 'int64', device }), sources = tensor(moved.map((i) => from[i]), { dtype: 'int64', device });
    const reorder = (t: Tensor): Tensor => {
      const room = cacheRooms.get(t);
      if (!room || room.length !== room.buffer.written || t.shape[0] !== room.buffer.rowsWritten || t.shape[0] < from.length || (isGradEnabled() && t.requiresGrad)) return keep(t.indexSelect(0, index));
      // (the moved rows' sources are read out first: a row may be both a source and moved)
      if (moved.length) t.indexCopy_(0, rows, t.indexSelect(0, sources));
      const view = keep(t.narrow(0, 0, from.length));
      room.buffer.rowsWritten = from.length;
      cacheRooms.set(view, room);
      return view;
    };
    return past.map(([k, v]) => [reorder(k), reorder(v)] as LayerPast);
  });
}
