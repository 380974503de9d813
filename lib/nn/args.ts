// A layer's arguments after its required ones, taken as PyTorch's constructors take them:
// positionally in PyTorch's order (new nn.Conv2d(3, 16, 3, 2, 1)), then optionally one options
// object of the rest (new nn.Conv2d(3, 16, 3, { stride: 2, padding: 1 })). Anything else (an
// unknown key, a stray argument, an option given twice) is an error, never quietly the default.
import { optionsOf, OptionSpec } from '../tensor/options';
import type { DType, Device } from '../tensor/dtype';
export type { PositionalOr } from '../tensor/options';

// (device and dtype: by name only, as PyTorch code passes them; their positions differ by version)
const FACTORY_KEYS = ['device', 'dtype'];

/** nn.`name`'s options from the arguments after its required ones: PyTorch's positional `keys`, then an options object; device and dtype by name. */
export function layerOptions<O extends object>(name: string, args: unknown[], keys: string[], spec: OptionSpec & { factory?: boolean } = {}): O {
  const extra = spec.factory === false ? spec.extra : [...(spec.extra ?? []), ...FACTORY_KEYS];
  return optionsOf<O>(`nn.${name}`, args, keys, { ...spec, extra });
}

/** Only the dtype and device of a wider options object: what a layer made inside another is given. */
export function factoryOf(o: { dtype?: DType; device?: Device }): { dtype?: DType; device?: Device } {
  return { dtype: o.dtype, device: o.device };
}
