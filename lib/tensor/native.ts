// Loads the compiled addon. Everything that talks to C++ goes through `native`.
// The loader (which binary, and the error when libtorch is missing) lives in lib/loader.ts.
import { loadAddon } from '../loader';

// The addon's functions take and return integer tensor handles; see native/common.h.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type NativeAddon = Record<string, (...args: any[]) => any>;

// Copied into a plain object: the addon's exports object has ~200 properties, which puts V8 in
// dictionary mode (a slow hash lookup on every call); a spread copy gets fast, inlinable properties.
export const native: NativeAddon = { ...loadAddon() };
