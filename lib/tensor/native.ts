// Loads the compiled addon. Everything that talks to C++ goes through `native`.
// The loader (which binary, and the error when libtorch is missing) lives in lib/loader.ts.
import { loadAddon } from '../loader';

// The addon's functions take and return integer tensor handles; see native/common.h.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type NativeAddon = Record<string, (...args: any[]) => any>;

export const native: NativeAddon = loadAddon();
