// Options objects, and PyTorch's positional arguments in their place. Functions here take their
// optional arguments as one object ({ keepdim: true }); code ported from Python passes them by
// position (x.var(1, false), F.pad(x, p, 'reflect')). Both are taken, and what fits neither (an
// unknown key such as Python's keep_dim, a stray argument) is an error, never quietly the defaults.

/** What a function's options may hold beyond PyTorch's positional arguments, and those whose only value here is PyTorch's default. */
export interface OptionSpec {
  /** keyword-only options (PyTorch's arguments after `*`), and ours */
  extra?: string[];
  /** options taken only at this value (PyTorch's default): any other is refused, saying so */
  fixed?: Record<string, unknown>;
}
// (PyTorch's losses still take these positionally; they are long deprecated for reduction)
const DEPRECATED_LOSS_ARGS = ['sizeAverage', 'reduce'];

/** A plain object ({ ... }), not an array, a tensor or another class's instance (from any realm). */
export function isOptionsObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === null || proto.constructor?.name === 'Object';
}

/** The one offered name within two edits of a misspelt one (maxNewToken: maxNewTokens), if exactly one is. */
function closest(bare: string, offered: string[]): string | undefined {
  const near = offered.filter((n) => editDistance(bare, n.toLowerCase()) <= Math.min(2, Math.floor(n.length / 3)));
  return near.length === 1 ? near[0] : undefined;
}
/** Edits (insert, delete, change, swap of neighbours: dtpye is one from dtype) from a to b. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * The options given after a function's required arguments (`args`): the arguments by position
 * as `keys` (PyTorch's order), then optionally one options object (Python's keywords), which
 * alone is taken as it is. One option given twice, a key the function does not
 * know (a Python spelling such as ignore_index names the camelCase one), a stray argument, a
 * deprecated size_average / reduce, or a value of an option not offered here is an error.
 */
export function optionsOf<O extends object>(name: string, args: unknown[], keys: string[], spec: OptionSpec = {}): O {
  while (args.length && args[args.length - 1] === undefined) args = args.slice(0, -1);
  if (args.length === 0) return {} as O;
  let o: Record<string, unknown>;
  // Python's f(a, b, c=1): positional arguments, then (optionally) an options object of keywords.
  const last = args[args.length - 1];
  const keywords = isOptionsObject(last) ? last : null;
  const positional = keywords ? args.length - 1 : args.length;
  if (positional === 0) {
    o = keywords!;
  } else {
    if (positional > keys.length) {
      throw new Error(keys.length
        ? `${name}: ${positional} arguments after its required ones, but it takes at most ${keys.length} (${keys.join(', ')}), then an options object`
        : `${name}: its options go in one object { ${(spec.extra ?? []).join(', ')} } (PyTorch's keyword-only arguments), not by position`);
    }
    o = {};
    for (let i = 0; i < positional; i++) {
      const v = args[i];
      if (isOptionsObject(v)) throw new Error(`${name}: an options object goes last, after the positional arguments (as Python's keywords), not in the place of ${keys[i]}`);
      if (v !== undefined) o[keys[i]] = v;
    }
    for (const k in keywords) {
      if (keywords[k] === undefined) continue; // (not given: a positional value stays)
      if (k in o) throw new Error(`${name}: ${k} is given twice, by position and in the options object`);
      o[k] = keywords[k];
    }
  }
  // (no allocation unless something is wrong: F.embedding and F.crossEntropy run in every step)
  for (const k in o) {
    const v = o[k];
    if (v === undefined) continue;
    if (!keys.includes(k) && !spec.extra?.includes(k)) {
      const offered = [...keys, ...(spec.extra ?? [])].filter((n) => !DEPRECATED_LOSS_ARGS.includes(n));
      // (Python's spelling: ignore_index is ignoreIndex, T_max is tMax, T_0 is t0)
      const bare = k.replace(/_/g, '').toLowerCase();
      const meant = offered.find((n) => n !== k && n.toLowerCase() === bare) ?? closest(bare, offered);
      throw new Error(`${name}: unknown option '${k}' (${meant ? `did you mean ${meant}?` : `it takes ${offered.join(', ')}`})`);
    }
    if (v === null) continue;
    if (DEPRECATED_LOSS_ARGS.includes(k)) throw new Error(`${name}: ${k} is deprecated in PyTorch and not offered here: give reduction ('mean', 'sum' or 'none')`);
    if (spec.fixed && k in spec.fixed && v !== spec.fixed[k]) {
      throw new Error(`${name}: ${k} ${typeof v === 'object' ? '(given)' : JSON.stringify(v)} is not offered here (only ${JSON.stringify(spec.fixed[k])}, PyTorch's default)`);
    }
  }
  return o as O;
}

/**
 * An options object of keyword-only options (`known`), checked as optionsOf checks one: the hot
 * path (none given) costs one comparison.
 */
/** A value as a message shows it: strings, arrays and plain objects as JSON ('8' is not 8), the rest as String() does. */
export const shownValue = (v: unknown): string => (typeof v === 'string' || Array.isArray(v) || isOptionsObject(v) ? JSON.stringify(v) : String(v));

export function keywordOptions<O extends object>(name: string, opts: O | undefined | null, known: readonly string[]): O {
  if (opts === undefined || opts === null) return {} as O;
  return optionsOf<O>(name, [opts], [], { extra: known as string[] });
}

/**
 * The arguments after a function's or a layer's required ones, typed: the first positional ones
 * P (PyTorch's order), in any number from none, then optionally the options object O.
 */
export type PositionalOr<P extends unknown[], O> = Prefixes<Required<P>, O>;
type Prefixes<P extends unknown[], O, Given extends unknown[] = []> =
  P extends [infer H, ...infer T] ? [...Given, O?] | Prefixes<T, O, [...Given, H]> : [...Given, O?];

/** The first N of a tuple's (required) elements. */
type Take<T extends unknown[], N extends number, Acc extends unknown[] = []> =
  Acc['length'] extends N ? Acc : T extends [infer H, ...infer R] ? Take<R, N, [...Acc, H]> : Acc;
/** The types of O's options named K, in K's order (a key O lacks, such as a deprecated one: unknown). */
type ValuesOf<O, K extends readonly string[]> = { -readonly [I in keyof K]: K[I] extends keyof O ? O[K[I]] : unknown };
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyFn = (...args: any[]) => any;
/** fn's form with its options object (argument N) also taken by position as keys K, then optionally the object. */
export type PositionalForm<Fn extends AnyFn, N extends number, K extends readonly string[]> =
  (...args: [...Take<Parameters<Fn>, N>, ...PositionalOr<ValuesOf<NonNullable<Parameters<Fn>[N]>, K>, NonNullable<Parameters<Fn>[N]>>]) => ReturnType<Fn>;

/** A tuple without its first N elements. */
type Drop<T extends unknown[], N extends number, Acc extends unknown[] = []> =
  Acc['length'] extends N ? T : T extends [infer H, ...infer R] ? Drop<R, N, [...Acc, H]> : [];
/** The argument lists that give required arguments K (of types P) by position up to some point, the rest by name in one object. */
type NamedFrom<P extends unknown[], K extends readonly string[], Given extends unknown[]> =
  K extends readonly [string, ...infer R extends readonly string[]]
    ? [...Given, { [k in K[number]]: unknown } & Record<string, unknown>] | (P extends [infer PH, ...infer PR] ? NamedFrom<PR, R, [...Given, PH]> : never)
    : never;
/** fn's form with its required arguments after the first `from` given by name in an options object (the object's other keys its options). */
export type RequiredByName<Fn extends AnyFn, From extends number, K extends readonly string[]> =
  (...args: Parameters<Fn> | NamedFrom<Drop<Parameters<Fn>, From>, K, Take<Parameters<Fn>, From>>) => ReturnType<Fn>;

/**
 * fn taking its required arguments after the first `from` (`keys`, PyTorch's order) by position
 * or by name, as Python's F.unfold(x, kernel_size=2): an options object in their place gives
 * them (F.unfold(x, { kernelSize: 2, stride: 2 })), its other keys staying fn's options.
 */
export function requiredByName<Fn extends AnyFn, const From extends number, const K extends readonly string[]>(name: string, from: From, keys: K, fn: Fn): RequiredByName<Fn, From, K> {
  return ((...args: unknown[]) => {
    const at = args.findIndex((a, i) => i >= from && i < from + keys.length && isOptionsObject(a));
    if (at < 0) return fn(...args);
    if (args.slice(at + 1).some((a) => a !== undefined)) throw new Error(`${name}: an options object goes last, after the positional arguments`);
    const rest = { ...(args[at] as Record<string, unknown>) };
    const wanted = keys.slice(at - from);
    const missing = wanted.filter((k) => rest[k] === undefined || rest[k] === null);
    if (missing.length) {
      const snake = missing.map((k) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)).find((k) => k in rest);
      throw new Error(`${name}: give ${missing.join(' and ')} (by position, or by name: ${name}(${args.slice(0, from).map(() => 'x').join(', ')}, { ${keys.join(', ')} }))${snake ? `; '${snake}' is PyTorch's spelling` : ''}`);
    }
    const values = wanted.map((k) => rest[k]);
    for (const k of wanted) delete rest[k];
    return fn(...args.slice(0, at), ...values, ...(Object.keys(rest).length ? [rest] : []));
  }) as RequiredByName<Fn, From, K>;
}

/**
 * fn, whose options object is its argument `at`, taking them as optionsOf does: PyTorch's
 * positional form too, checked, and typed (F.crossEntropy(x, y, weight, null, -100) compiles).
 */
export function takesOptions<Fn extends AnyFn, const N extends number, const K extends readonly string[]>(name: string, at: N, keys: K, fn: Fn, spec: OptionSpec = {}): PositionalForm<Fn, N, K> {
  return ((...args: unknown[]) => {
    const head = args.slice(0, at);
    // (the arguments before the options are all required: one left out, or options in its place, is said so)
    const early = head.findIndex(isOptionsObject);
    if (early >= 0 || args.length < at) {
      throw new TypeError(`${name}: takes ${at} argument${at > 1 ? 's' : ''} before its options, got ${early >= 0 ? `${early}, then an options object` : args.length}`);
    }
    return fn(...head, optionsOf(name, args.slice(at), keys as readonly string[] as string[], spec));
  }) as PositionalForm<Fn, N, K>;
}
