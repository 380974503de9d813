// torch.testing.assert_close: are two tensors (or numbers, or arrays / objects / Maps of them)
// equal within tolerances? The defaults per dtype, the checks and the failure messages are
// PyTorch's (torch/testing/_comparison.py), so a failing test reads as it would in Python.
import { AssertionError } from 'assert';
import { DType, isComplexDtype, isFloatingDtype } from './dtype';
import { fixed } from './print';
import { tidy } from './scope';
import { Tensor } from './tensor';

/** Default (rtol, atol) by dtype; integers and booleans must match exactly. */
const PRECISIONS: Partial<Record<DType, [number, number]>> = {
  float16: [0.001, 1e-5], bfloat16: [0.016, 1e-5], float32: [1.3e-6, 1e-5], float64: [1e-7, 1e-7],
  complex64: [1.3e-6, 1e-5], complex128: [1e-7, 1e-7],
};

export interface AssertCloseOptions {
  rtol?: number;
  atol?: number;
  /** NaNs in the same places count as equal (false) */
  equalNan?: boolean;
  checkDevice?: boolean;
  checkDtype?: boolean;
  /** the strides must match too (false) */
  checkStride?: boolean;
  /** replaces the message, or makes it from the default one */
  msg?: string | ((defaultMessage: string) => string);
}

type Comparable = Tensor | number | boolean | null | undefined | Comparable[] | Map<unknown, Comparable> | { [key: string]: Comparable };

/** Python's repr of a float: shortest digits; exponent form below 1e-4 and from 1e16. */
export function pyFloat(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const [mantissa, e] = x.toExponential().split('e');
  const exp = Number(e);
  if (exp >= -4 && exp < 16) {
    const s = String(x);
    return /[.e]/.test(s) ? s : `${s}.0`;
  }
  return `${mantissa}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
}

const pyIndex = (idx: number[]) => `(${idx.join(', ')}${idx.length === 1 ? ',' : ''})`;
const pySize = (shape: number[]) => `torch.Size([${shape.join(', ')}])`;
const pyTuple = (xs: number[]) => `(${xs.join(', ')}${xs.length === 1 ? ',' : ''})`;

class Failure extends Error {
  constructor(message: string, readonly kind: 'assert' | 'type' | 'value' = 'assert') { super(message); }
}

function mismatchMessage(what: string, equality: boolean, extra: string | null,
  abs: [string, number[] | null], atol: number, rel: [string, number[] | null], rtol: number): string {
  const diff = (type: string, [d, idx]: [string, number[] | null], tol: number) =>
    `${idx ? `Greatest ${type} difference: ${d} at index ${pyIndex(idx)}` : `${type[0].toUpperCase()}${type.slice(1)} difference: ${d}`}` +
    `${equality ? '' : ` (up to ${Number.isInteger(tol) ? String(tol) : pyFloat(tol)} allowed)`}\n`; // a whole number was given as an int
  let msg = `${what} are not ${equality ? 'equal' : 'close'}!\n\n`;
  if (extra) msg += `${extra}\n`;
  msg += diff('absolute', abs, atol) + diff('relative', rel, rtol);
  return msg.trim();
}

function compareNumbers(a: number, b: number, rtol: number, atol: number, equalNan: boolean): void {
  const close = a === b || (equalNan && Number.isNaN(a) && Number.isNaN(b)) ||
    (Number.isFinite(a) && Number.isFinite(b) && Math.abs(a - b) <= atol + rtol * Math.abs(b));
  if (close) return;
  const absDiff = Math.abs(a - b);
  const relDiff = b === 0 ? Infinity : absDiff / Math.abs(b);
  throw new Failure(mismatchMessage('Scalars', rtol === 0 && atol === 0, null, [pyFloat(absDiff), null], atol, [pyFloat(relDiff), null], rtol));
}

function compareTensors(a: Tensor, b: Tensor, o: AssertCloseOptions): void {
  tidy(() => {
    if (a.shape.join() !== b.shape.join()) throw new Failure(`The values for attribute 'shape' do not match: ${pySize(a.shape)} != ${pySize(b.shape)}.`);
    if (o.checkStride && a.stride().join() !== b.stride().join()) {
      throw new Failure(`The values for attribute 'stride()' do not match: ${pyTuple(a.stride())} != ${pyTuple(b.stride())}.`);
    }
    if ((o.checkDevice ?? true) && a.device !== b.device) throw new Failure(`The values for attribute 'device' do not match: ${a.device} != ${b.device}.`);
    if ((o.checkDtype ?? true) && a.dtype !== b.dtype) throw new Failure(`The values for attribute 'dtype' do not match: torch.${a.dtype} != torch.${b.dtype}.`);
    const [rtol, atol] = tolerances(a.dtype, b.dtype, o);
    // Compared on the CPU in the widest dtype of their kind, as PyTorch's _promote_for_comparison.
    const kind = isComplexDtype(a.dtype) || isComplexDtype(b.dtype) ? 'complex128'
      : isFloatingDtype(a.dtype) || isFloatingDtype(b.dtype) ? 'float64' : 'int64';
    const x = a.to({ device: 'cpu', dtype: kind }), y = b.to({ device: 'cpu', dtype: kind });
    const matches = x.isclose(y, { rtol, atol, equalNan: o.equalNan ?? false });
    if (matches.all().item()) return;
    if (a.ndim === 0) {
      if (kind === 'complex128') {
        const d = x.sub(y).abs().item() as number, m = y.abs().item() as number;
        throw new Failure(mismatchMessage('Scalars', rtol === 0 && atol === 0, null, [pyFloat(d), null], atol, [pyFloat(m === 0 ? Infinity : d / m), null], rtol));
      }
      compareNumbers(x.item() as number, y.item() as number, rtol, atol, o.equalNan ?? false);
      return;
    }
    const mismatched = matches.logicalNot().flatten();
    const total = mismatched.numel(), count = mismatched.sum().item() as number;
    const absDiff = x.flatten().sub(y.flatten()).abs();
    const zeroMatches = (t: Tensor) => t.maskedFill(mismatched.logicalNot(), 0);
    const absMasked = zeroMatches(absDiff);
    const relMasked = zeroMatches(absDiff.div(y.flatten().abs()));
    const unravel = (flat: number) => {
      const idx: number[] = [];
      for (const size of [...a.shape].reverse()) {
        idx.push(flat % size);
        flat = Math.floor(flat / size);
      }
      return idx.reverse();
    };
    const greatest = (t: Tensor): [string, number[]] => {
      const { values, indices } = t.max(0);
      const v = values.item() as number;
      return [kind === 'int64' && t.dtype === 'int64' ? String(v) : pyFloat(v), unravel(indices.item() as number)];
    };
    const extra = `Mismatched elements: ${count} / ${total} (${fixed((count / total) * 100, 1)}%)`;
    throw new Failure(mismatchMessage('Tensor-likes', rtol === 0 && atol === 0, extra, greatest(absMasked), atol, greatest(relMasked), rtol));
  });
}

function tolerances(a: DType, b: DType, o: AssertCloseOptions): [number, number] {
  if ((o.rtol === undefined) !== (o.atol === undefined)) {
    throw new Failure(`Both 'rtol' and 'atol' must be either specified or omitted, but got no ${o.rtol === undefined ? 'rtol' : 'atol'}.`, 'value');
  }
  if (o.rtol !== undefined) return [o.rtol, o.atol!];
  const [ra, aa] = PRECISIONS[a] ?? [0, 0], [rb, ab] = PRECISIONS[b] ?? [0, 0];
  return [Math.max(ra, rb), Math.max(aa, ab)];
}

const typeName = (x: unknown) => (x instanceof Tensor ? 'Tensor' : x === null ? 'null' : Array.isArray(x) ? 'Array' : x instanceof Map ? 'Map' : typeof x);
const isPlainObject = (x: unknown): x is Record<string, Comparable> => typeof x === 'object' && x !== null && !Array.isArray(x) && !(x instanceof Map) && !(x instanceof Tensor);

/** Compares pairs recursively; returns the item path of a failure (Python's "[1]['w']"). */
function compare(a: Comparable, b: Comparable, o: AssertCloseOptions, path: string): void {
  const at = (e: unknown, key: string) => {
    if (e instanceof Failure && !('path' in e)) Object.assign(e, { path: key });
    throw e;
  };
  if (a instanceof Tensor && b instanceof Tensor) return compareTensors(a, b, o);
  if (typeof a === 'number' && typeof b === 'number') {
    const [rtol, atol] = o.rtol !== undefined || o.atol !== undefined ? tolerances('float64', 'float64', o) : PRECISIONS.float64!;
    return compareNumbers(a, b, rtol, atol, o.equalNan ?? false);
  }
  if (typeof a === 'boolean' && typeof b === 'boolean') {
    if (a !== b) throw new Failure(`Booleans mismatch: ${a ? 'True' : 'False'} is not ${b ? 'True' : 'False'}`);
    return;
  }
  if ((a === null || a === undefined) && (b === null || b === undefined)) return;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) throw new Failure(`The length of the sequences mismatch: ${a.length} != ${b.length}`);
    a.forEach((x, i) => { try { compare(x, b[i], o, `${path}[${i}]`); } catch (e) { at(e, `${path}[${i}]`); } });
    return;
  }
  const entries = (m: Map<unknown, Comparable> | Record<string, Comparable>) => (m instanceof Map ? [...m.entries()] : Object.entries(m));
  if ((a instanceof Map || isPlainObject(a)) && (b instanceof Map || isPlainObject(b))) {
    const ea = new Map(entries(a)), eb = new Map(entries(b));
    const missing = [...eb.keys()].filter((k) => !ea.has(k)), extra = [...ea.keys()].filter((k) => !eb.has(k));
    if (missing.length || extra.length) {
      const list = (ks: unknown[]) => `[${ks.map((k) => (typeof k === 'string' ? `'${k}'` : String(k))).join(', ')}]`;
      throw new Failure(`The keys of the mappings do not match:\n${missing.length ? `Missing keys in the actual mapping: ${list(missing)}\n` : ''}` +
        `${extra.length ? `Additional keys in the actual mapping: ${list(extra)}` : ''}`.trimEnd());
    }
    for (const [k, v] of ea) {
      const key = `${path}[${typeof k === 'string' ? `'${k}'` : String(k)}]`;
      try { compare(v, eb.get(k)!, o, key); } catch (e) { at(e, key); }
    }
    return;
  }
  throw new Failure(`No comparison pair was able to handle inputs of type ${typeName(a)} and ${typeName(b)}.`, 'type');
}

/**
 * torch.testing.assert_close: throws an AssertionError (TypeError / Error for unusable inputs)
 * when actual and expected differ beyond |a - b| <= atol + rtol |b|; tolerances default by
 * dtype (float32: rtol 1.3e-6, atol 1e-5; float64: 1e-7, 1e-7; integers: exact). JS numbers
 * compare as Python floats. Shapes, devices and dtypes must match (checkDtype / checkDevice:
 * false compares across them).
 */
export function assertClose(actual: Comparable, expected: Comparable, opts: AssertCloseOptions = {}): void {
  try {
    compare(actual, expected, opts, '');
  } catch (e) {
    if (!(e instanceof Failure)) throw e;
    const path = (e as Failure & { path?: string }).path;
    // As PyTorch's ErrorMeta.to_error: a string msg replaces everything; a function gets the full message.
    let message = path ? `${e.message}\n\nThe failure occurred for item ${path}` : e.message;
    if (opts.msg !== undefined) message = typeof opts.msg === 'string' ? opts.msg : opts.msg(message);
    if (e.kind === 'type') throw new TypeError(message);
    if (e.kind === 'value') throw new Error(message);
    throw new AssertionError({ message });
  }
}
