// A layer's arguments after its required ones, taken as PyTorch's constructors take them:
// positionally in PyTorch's order (new nn.Conv2d(3, 16, 3, 2, 1)), then optionally one options
// object of the rest (new nn.Conv2d(3, 16, 3, { stride: 2, padding: 1 })). Anything else (an
// unknown key, a stray argument, an option given twice) is an error, never quietly the default.
import { optionsOf, OptionSpec, isOptionsObject, shownValue } from '../tensor/options';
import type { DType, Device } from '../tensor/dtype';
export type { PositionalOr } from '../tensor/options';

// (device and dtype: by name only, as PyTorch code passes them; their positions differ by version)
const FACTORY_KEYS = ['device', 'dtype'];

/** nn.`name`'s options from the arguments after its required ones: PyTorch's positional `keys`, then an options object; device and dtype by name. */
export function layerOptions<O extends object>(name: string, args: unknown[], keys: string[], spec: OptionSpec & { factory?: boolean } = {}): O {
  const extra = spec.factory === false ? spec.extra : [...(spec.extra ?? []), ...FACTORY_KEYS];
  const o = optionsOf<O>(`nn.${name}`, args, keys, { ...spec, extra });
  checkLayerOptionTypes(name, o as Record<string, unknown>);
  return o;
}

// Layers' options that are true or false, and numbers (momentum may be null: BatchNorm's cumulative average)
const BOOLEAN_LAYER_OPTIONS = ['bias', 'inplace', 'elementwiseAffine', 'affine', 'trackRunningStats', 'batchFirst', 'bidirectional', 'addBiasKv', 'addZeroAttn',
  'ceilMode', 'countIncludePad', 'returnIndices', 'sparse', 'scaleGradByFreq', 'alignCorners', 'normFirst', 'enableNestedTensor'];
const NUMBER_LAYER_OPTIONS = ['eps', 'p', 'dropout', 'negativeSlope', 'momentum'];

/** new nn.Linear(3, 4, 'no') took 'no' as true (a bias), nn.LayerNorm(4, '1e-5') a string eps: said at construction. */
function checkLayerOptionTypes(name: string, o: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined) continue;
    if (BOOLEAN_LAYER_OPTIONS.includes(k) && typeof v !== 'boolean') throw new Error(`nn.${name}: ${k} must be true or false, got ${shownValue(v)}`);
    if (NUMBER_LAYER_OPTIONS.includes(k) && typeof v !== 'number' && !(k === 'momentum' && v === null)) throw new Error(`nn.${name}: ${k} must be a number, got ${shownValue(v)}`);
  }
}

/**
 * A layer's required arguments (keys), by position or by name as Python's
 * nn.LSTM(input_size=4, hidden_size=8) gives them: those in an options object in their place are
 * taken out of it, and the rest of the object is left as the layer's options. Returns the
 * required values and the arguments after them.
 */
export function requiredByName(name: string, keys: string[], all: unknown[]): [unknown[], unknown[]] {
  const at = all.findIndex((a, i) => i < keys.length && isOptionsObject(a));
  if (at < 0) {
    // (all by position: PyTorch's "missing required positional argument", not a failure further on)
    const missing = keys.filter((_, i) => all[i] === undefined);
    if (missing.length) throw new Error(`nn.${name}: give ${missing.join(' and ')} (by position, or by name: new nn.${name}({ ${keys.join(', ')} }))`);
    return [all.slice(0, keys.length), all.slice(keys.length)];
  }
  if (all.slice(at + 1).some((a) => a !== undefined)) throw new Error(`nn.${name}: an options object goes last, after the positional arguments`);
  const rest = { ...(all[at] as Record<string, unknown>) };
  const missing = keys.slice(at).filter((k) => rest[k] === undefined || rest[k] === null);
  if (missing.length) {
    const snake = missing.map((k) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)).find((k) => k in rest);
    throw new Error(`nn.${name}: give ${missing.join(' and ')} (by position, or by name: new nn.${name}({ ${keys.join(', ')} }))${snake ? `; '${snake}' is PyTorch's spelling` : ''}`);
  }
  const values = [...all.slice(0, at), ...keys.slice(at).map((k) => rest[k])];
  for (const k of keys) delete rest[k];
  return [values, Object.keys(rest).length ? [rest] : []];
}

/** Only the dtype and device of a wider options object: what a layer made inside another is given. */
export function factoryOf(o: { dtype?: DType; device?: Device }): { dtype?: DType; device?: Device } {
  return { dtype: o.dtype, device: o.device };
}
