// torch.Generator: a random number generator of one's own, for draws that must not disturb (or
// depend on) the global one, as `torch.randn(shape, { generator })` or a DataLoader's shuffle.
// The state lives in libtorch (native/generator.cc); this object holds its handle.
import { keywordOptions } from './options';
import { native } from './native';
import { Device, deviceCode, deviceName } from './dtype';

/**
 * A seed as the unsigned 64-bit number libtorch takes (a decimal string: JS numbers stop at 2**53):
 * as Python's torch.manual_seed, -2**63 .. 2**64 - 1, negative ones wrapping (-1 is 2**64 - 1).
 */
export function seed64(where: string, seed: number | bigint): string {
  if (typeof seed === 'number' && !Number.isSafeInteger(seed)) throw new Error(`${where}: the seed must be an integer${Number.isInteger(seed) ? ' within ±(2**53 - 1) (a bigint for larger)' : ''}, got ${seed}`);
  if (typeof seed !== 'number' && typeof seed !== 'bigint') throw new Error(`${where}: the seed must be an integer (or a bigint), got ${typeof seed}`);
  const big = BigInt(seed);
  if (big < -(1n << 63n) || big >= 1n << 64n) throw new Error(`${where}: the seed must be in -2**63 .. 2**64 - 1 (as PyTorch's), got ${seed}`);
  return BigInt.asUintN(64, big).toString();
}

const registry = new FinalizationRegistry<number>((h) => native.generatorFree(h));

export class Generator {
  private handle: number;
  /** A fresh generator for a device ('cpu', 'cuda' or 'cuda:N'), seeded as PyTorch's torch.Generator() is. */
  constructor(device: Device | { device?: Device } = 'cpu') {
    // (or by name, as Python's torch.Generator(device='cuda'))
    if (typeof device === 'object' && device !== null) device = keywordOptions<{ device?: Device }>('Generator', device, ['device']).device ?? 'cpu';
    this.handle = native.generatorNew(deviceCode(device));
    registry.register(this, this.handle, this);
  }
  /** @internal a Generator object on a handle the native side made (the default generator's: never freed by dispose) */
  static _adopt(handle: number): Generator {
    const g = Object.create(Generator.prototype) as Generator;
    g.handle = handle;
    g.borrowed = true;
    return g;
  }
  private borrowed = false;
  /** @internal the handle the native ops take (-1: none) */
  static _handle(g: Generator | null | undefined): number {
    if (!g) return -1;
    if (g.handle < 0) throw new Error('tstorch: this Generator was disposed');
    return g.handle;
  }
  get device(): Device {
    return deviceName(native.generatorDevice(Generator._handle(this)));
  }
  /** Seeds it (a 64-bit seed; negative numbers wrap as Python's do); returns it for chaining. */
  manualSeed(seed: number | bigint): this {
    native.generatorManualSeed(Generator._handle(this), seed64('Generator.manualSeed', seed));
    return this;
  }
  /** Seeds it from a non-deterministic source; returns that seed. */
  seed(): bigint {
    return BigInt(native.generatorSeed(Generator._handle(this)));
  }
  /** The seed it was last seeded with. */
  initialSeed(): bigint {
    return BigInt(native.generatorInitialSeed(Generator._handle(this)));
  }
  /** Its whole state as bytes (setState puts it back: the same draws follow). */
  getState(): Buffer {
    return native.generatorGetState(Generator._handle(this));
  }
  setState(state: Uint8Array): this {
    native.generatorSetState(Generator._handle(this), Buffer.from(state.buffer, state.byteOffset, state.byteLength));
    return this;
  }
  /** Frees it now (otherwise the garbage collector does). */
  dispose(): void {
    if (this.handle < 0 || this.borrowed) return; // (torch.defaultGenerator stays)
    native.generatorFree(this.handle);
    registry.unregister(this);
    this.handle = -1;
  }
}

/** The handle of an options object's generator, for the native random ops. */
export const generatorHandle = (opts?: { generator?: Generator | null }) => Generator._handle(opts?.generator);

/**
 * The generator of a random op's keyword options ({ generator }), checked: a misspelt key, or a
 * Generator given in the place of the options, would draw from the default generator unseen.
 */
export function drawGenerator(name: string, opts?: { generator?: Generator | null } | null): number {
  if (opts === undefined || opts === null) return -1;
  if (opts instanceof Generator) throw new Error(`${name}: give the generator by name, { generator } (PyTorch's keyword-only argument)`);
  for (const k in opts) if (k !== 'generator') throw new Error(`${name}: unknown option '${k}' (it takes generator)`);
  return Generator._handle(opts.generator);
}

/**
 * torch.default_generator: the CPU's default generator itself, what ops given no generator draw
 * from (manualSeed seeds it; its getState is getRngState()'s).
 */
export const defaultGenerator: Generator = Generator._adopt(native.generatorDefault(deviceCode('cpu')));
