// A number schema's minimum, maximum, exclusiveMinimum and exclusiveMaximum as the machine of
// the JSON numbers in the range: texts `-?(0|[1-9]\d*)(\.\d+)?` of at most 32 characters whose
// value, read as a double (as Pydantic, JavaScript and Python's float read it: the nearest, ties
// to even), is within the bounds. So a text is compared with the midpoints between a bound and the
// double beside it, written out exactly: 0.10000000000000001 is 0.1 to every reader. No exponent
// and at most 32 characters: a number held to a range is written out in full (a model writes
// 0.0001 for 1e-4), and ends (a small model otherwise writes digits until max_tokens). Without
// bounds a number keeps JSON's exponents and any length.
// The texts are a regular expression built digit by digit, as one compares two decimals: by the
// integer part first, then the fraction from its first digit on (trailing zeros change nothing).
import { RegexGrammar } from './regex_constraint';

/** The most characters a bounded number's text has. */
const NUMBER_TEXT_LIMIT = 32;

/** A bound: its value, and whether the value itself is out (exclusiveMinimum, exclusiveMaximum). */
export interface NumberBound { value: number; exclusive: boolean }

/** A decimal >= 0: its integer part and its fraction's digits, without trailing zeros. */
interface Decimal { int: bigint; frac: string }
/** Where the texts of a side of a range stop: a decimal, and whether it is itself out. */
interface Threshold { at: Decimal; open: boolean }

/** The JSON number texts in [lo, hi] (null: unbounded on that side), as a machine. */
export function numberRange(lo: NumberBound | null, hi: NumberBound | null): RegexGrammar {
  return RegexGrammar.fromPattern(numberRangePattern(lo, hi)).withLength(1, NUMBER_TEXT_LIMIT);
}

/** The pattern (Python re syntax) of the JSON number texts in [lo, hi], any length. */
function numberRangePattern(lo: NumberBound | null, hi: NumberBound | null): string {
  for (const b of [lo, hi]) if (b && !Number.isFinite(b.value)) throw new Error(`a bound must be a finite number, got ${b.value}`);
  const empty = () => new Error(`no number is in ${lo ? `${lo.exclusive ? '(' : '['}${lo.value}` : '(-inf'}, ${hi ? `${hi.value}${hi.exclusive ? ')' : ']'}` : 'inf)'}`);
  // (the doubles in the range: none where its ends cross)
  if (lo && hi && (lo.value > hi.value || (lo.value === hi.value && (lo.exclusive || hi.exclusive)))) throw empty();
  const negated = (b: NumberBound | null) => b && { value: -b.value, exclusive: b.exclusive };
  // (without a minus: values from 0 up; with one, -t is in the range where t is in [-hi, -lo])
  const plus = magnitudes(lo, hi), minus = magnitudes(negated(hi), negated(lo));
  const options = [plus, minus === null ? null : `-${group(minus)}`].filter((p): p is string => p !== null);
  if (!options.length) throw new Error(`${empty().message} written in at most ${NUMBER_TEXT_LIMIT} characters (a number held to a range is written without an exponent)`);
  return options.length === 1 ? options[0] : options.map(group).join('|');
}

/** The texts without a minus whose double is in [lo, hi]; null where none is. */
function magnitudes(lo: NumberBound | null, hi: NumberBound | null): string | null {
  if (lo) lo = { ...lo, value: lo.value + 0 }; // (-0 as 0: its bits are a negative number's; -0 + 0 is 0)
  if (hi) hi = { ...hi, value: hi.value + 0 };
  if (hi && (hi.value < 0 || (hi.value === 0 && hi.exclusive))) return null;
  // (the least double allowed, and the texts that round to it or above; the greatest, and those that round to it or below)
  const from: Threshold = !lo || lo.value < 0 || (lo.value === 0 && !lo.exclusive)
    ? { at: { int: 0n, frac: '' }, open: false }
    : roundingTo(lo.exclusive ? nextDouble(lo.value, 1) : lo.value, -1);
  const to = hi && roundingTo(hi.exclusive ? nextDouble(hi.value, -1) : hi.value, 1);
  const a = inward(from, 1), b = to ? inward(to, -1)! : null;
  return a && unsigned(a[0], a[1], b && b[0], b ? b[1] : false);
}

/**
 * A threshold moved inwards (up for a lower one, down for an upper one) to at most PLACES digits
 * after the point, and past LARGEST to it: the machine stays small (the exact midpoint beside 0
 * has 1074 digits), and no text of NUMBER_TEXT_LIMIT characters is between the two; null where
 * a lower one is past LARGEST (no such text is in the range).
 */
function inward(t: Threshold, direction: 1 | -1): [Decimal, boolean] | null {
  const { int, frac } = t.at;
  if (int >= LARGEST) return direction === -1 ? [{ int: LARGEST, frac: '' }, false] : null;
  if (frac.length <= PLACES) return [t.at, t.open];
  const scaled = int * 10n ** BigInt(PLACES) + BigInt(frac.slice(0, PLACES)) + (direction === 1 ? 1n : 0n);
  const digits = String(scaled).padStart(PLACES + 1, '0');
  return [{ int: BigInt(digits.slice(0, -PLACES)), frac: digits.slice(-PLACES).replace(/0+$/, '') }, false];
}
const PLACES = NUMBER_TEXT_LIMIT - 2, LARGEST = 10n ** BigInt(NUMBER_TEXT_LIMIT);

/** A double > 0 one step up or down (by its bits: their order is the doubles' for positive ones). */
function nextDouble(x: number, by: 1 | -1): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  view.setBigUint64(0, view.getBigUint64(0) + BigInt(by));
  return view.getFloat64(0);
}

/** The bits of a double >= 0 as n * 2^e (the double past the largest: 2^1024, as the bits go on). */
function exactly(x: number): { n: bigint; e: number; even: boolean } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0), exponent = Number(bits >> 52n), fraction = bits & ((1n << 52n) - 1n);
  return exponent === 0 ? { n: fraction, e: -1074, even: !(fraction & 1n) } : { n: fraction | (1n << 52n), e: exponent - 1075, even: !(fraction & 1n) };
}

/**
 * Where the texts that read as the double x (> 0) or beyond it stop, towards 0 (side -1: the
 * midpoint with the double below) or away from it (side 1: with the double above); a text at the
 * midpoint reads as the one of the two whose last bit is 0.
 */
function roundingTo(x: number, side: 1 | -1): Threshold {
  const a = exactly(x), b = exactly(side === 1 ? nextDouble(x, 1) : nextDouble(x, -1));
  const e = Math.min(a.e, b.e);
  const sum = (a.n << BigInt(a.e - e)) + (b.n << BigInt(b.e - e));
  return { at: decimalOf(sum, e - 1), open: !a.even };
}

/** n * 2^e as a decimal (exact: 2^-k is 5^k / 10^k). */
function decimalOf(n: bigint, e: number): Decimal {
  if (e >= 0) return { int: n << BigInt(e), frac: '' };
  const k = -e, digits = String(n * 5n ** BigInt(k)).padStart(k + 1, '0');
  return { int: BigInt(digits.slice(0, -k)), frac: digits.slice(-k).replace(/0+$/, '') };
}

const group = (p: string) => `(?:${p})`;
const either = (parts: (string | null)[]): string | null => {
  const some = parts.filter((p): p is string => p !== null);
  return some.length ? (some.length === 1 ? some[0] : group(some.map(group).join('|'))) : null;
};
const then = (a: string, b: string | null): string | null => (b === null ? null : a + b);
const digitRange = (x: number, y: number) => (x === y ? String(x) : `[${x}-${y}]`);
const ANY_FRACTION = '(?:\\.\\d+)?';

/** Texts without a minus whose value is in [a, b] (b null: no end); null where none is. */
function unsigned(a: Decimal, aOpen: boolean, b: Decimal | null, bOpen: boolean): string | null {
  const order = !b ? -1 : a.int !== b.int ? (a.int < b.int ? -1 : 1) : compareFractions(a.frac, b.frac);
  if (order > 0 || (order === 0 && (aOpen || bOpen))) return null;
  if (b && b.int === a.int) return then(String(a.int), fraction(a.frac, aOpen, b.frac, bOpen));
  return either([
    then(String(a.int), fraction(a.frac, aOpen, null, false)),
    b ? (b.int - a.int > 1n ? naturals(a.int + 1n, b.int - 1n) + ANY_FRACTION : null) : naturals(a.int + 1n, null) + ANY_FRACTION,
    b ? then(String(b.int), fraction('', false, b.frac, bOpen)) : null,
  ]);
}

/** Fractions' digits compared as decimals (0.5 < 0.51 < 0.6). */
function compareFractions(x: string, y: string): number {
  const n = Math.max(x.length, y.length);
  const a = x.padEnd(n, '0'), b = y.padEnd(n, '0');
  return a < b ? -1 : a > b ? 1 : 0;
}

/** What may follow an integer part: nothing (a fraction of 0) or '.' and digits, the fraction in [lo, hi] (hi null: below 1). */
function fraction(lo: string, loOpen: boolean, hi: string | null, hiOpen: boolean): string | null {
  const zeroIn = lo === '' && !loOpen && !(hi === '' && hiOpen);
  const dotted = digits(lo, loOpen, hi, hiOpen, true);
  if (dotted === null) return zeroIn ? '' : null;
  return zeroIn ? `(?:\\.${dotted})?` : `\\.${dotted}`;
}

/**
 * Digit strings d (some, where nonEmpty) whose fraction 0.d is in [0.lo, 0.hi] (open ends where
 * asked; hi null: below 1), lo and hi without trailing zeros; null where none is.
 */
function digits(lo: string, loOpen: boolean, hi: string | null, hiOpen: boolean, nonEmpty: boolean): string | null {
  if (hi === '') return lo === '' && !loOpen && !hiOpen ? (nonEmpty ? '0+' : '0*') : null; // (up to 0 itself: zeros)
  if (lo === '' && hi === null) return loOpen ? '0*[1-9]\\d*' : nonEmpty ? '\\d+' : '\\d*';
  // (the first digit, then the rest against what is left of the bounds)
  const l = lo === '' ? 0 : Number(lo[0]), h = hi === null ? 10 : Number(hi[0]);
  if (l > h) return null;
  const empty = !nonEmpty && lo === '' && !loOpen ? [''] : [];
  if (l === h) return either([...empty, then(String(l), digits(lo.slice(1), loOpen, hi!.slice(1), hiOpen, false))]);
  return either([
    ...empty,
    then(String(l), digits(lo.slice(1), loOpen, null, false, false)),
    l + 1 <= Math.min(h - 1, 9) ? `${digitRange(l + 1, Math.min(h - 1, 9))}\\d*` : null,
    hi === null ? null : then(String(h), digits('', false, hi.slice(1), hiOpen, false)),
  ]);
}

/** The integers in [a, b] (b null: no end) without leading zeros. */
function naturals(a: bigint, b: bigint | null): string {
  const from = String(a), to = b === null ? null : String(b);
  if (to !== null && to.length === from.length) return sameLength(from, to);
  // (a's length from a up; every integer of the lengths between; b's length up to b)
  const more = from.length + 1, fewer = to === null ? null : to.length - 1;
  return either([
    sameLength(from, '9'.repeat(from.length)),
    fewer === null || more <= fewer ? `[1-9]\\d{${more - 1},${fewer === null ? '' : fewer - 1}}` : null,
    to === null ? null : sameLength(`1${'0'.repeat(to.length - 1)}`, to),
  ])!;
}

/** The digit strings of one length from `from` to `to`. */
function sameLength(from: string, to: string): string {
  const f = Number(from[0]), t = Number(to[0]), rest = from.length - 1;
  // (x0..0 to y9..9: any digits after the first)
  if (/^0*$/.test(from.slice(1)) && /^9*$/.test(to.slice(1))) return digitRange(f, t) + (rest ? `\\d{${rest}}` : '');
  if (f === t) return from[0] + sameLength(from.slice(1), to.slice(1));
  return either([
    from[0] + sameLength(from.slice(1), '9'.repeat(rest)),
    t - f > 1 ? `${digitRange(f + 1, t - 1)}\\d{${rest}}` : null,
    to[0] + sameLength('0'.repeat(rest), to.slice(1)),
  ])!;
}
