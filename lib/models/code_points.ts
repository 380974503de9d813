// Characters as code points: sets of them as sorted ranges, and strict UTF-8 read byte by byte (a
// character's first bytes held until it is whole), shared by the machines that hold a reply to a
// regular expression or a grammar.

/** Code points as sorted, disjoint inclusive ranges. */
export type Ranges = [number, number][];

export const MAX_CODE_POINT = 0x10ffff;

export function normalized(ranges: Ranges): Ranges {
  const sorted = ranges.filter(([a, b]) => a <= b).sort((x, y) => x[0] - y[0]);
  const out: Ranges = [];
  for (const [a, b] of sorted) {
    const last = out[out.length - 1];
    if (last && a <= last[1] + 1) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

export function complement(ranges: Ranges): Ranges {
  const out: Ranges = [];
  let from = 0;
  for (const [a, b] of normalized(ranges)) {
    if (a > from) out.push([from, a - 1]);
    from = b + 1;
  }
  if (from <= MAX_CODE_POINT) out.push([from, MAX_CODE_POINT]);
  return out;
}

export function inRanges(ranges: Ranges, c: number): boolean {
  let lo = 0, hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (c < ranges[mid][0]) hi = mid - 1;
    else if (c > ranges[mid][1]) lo = mid + 1;
    else return true;
  }
  return false;
}
export const overlaps = (ranges: Ranges, lo: number, hi: number) => ranges.some(([a, b]) => a <= hi && b >= lo);

/** How many bytes a UTF-8 character with this first byte has (0: no first byte). */
export function utf8Length(b: number): number {
  if (b < 0x80) return 1;
  if (b >= 0xc2 && b <= 0xdf) return 2;
  if (b >= 0xe0 && b <= 0xef) return 3;
  if (b >= 0xf0 && b <= 0xf4) return 4;
  return 0;
}

// (the code points each length holds: shorter forms are overlong; surrogates are no characters)
const LENGTH_SPANS: Record<number, Ranges> = { 2: [[0x80, 0x7ff]], 3: [[0x800, 0xd7ff], [0xe000, 0xffff]], 4: [[0x10000, MAX_CODE_POINT]] };

/** The code points whose UTF-8 begins with these bytes (a character not yet whole), as ranges; null where none does. */
export function utf8Span(bytes: number[]): Ranges | null {
  const length = utf8Length(bytes[0]);
  if (length < 2 || bytes.length >= length || bytes.slice(1).some((b) => b < 0x80 || b > 0xbf)) return null;
  const fill = (byte: number) => decodeBits([...bytes, ...Array(length - bytes.length).fill(byte)]);
  const lo = fill(0x80), hi = fill(0xbf);
  const span = LENGTH_SPANS[length].map(([a, b]): [number, number] => [Math.max(a, lo), Math.min(b, hi)]).filter(([a, b]) => a <= b);
  return span.length ? span : null;
}

function decodeBits(bytes: number[]): number {
  const length = bytes.length;
  let c = bytes[0] & (0xff >> (length + 1));
  for (const b of bytes.slice(1)) c = (c << 6) | (b & 0x3f);
  return c;
}

/** A whole character's code point, or null where its bytes are not strict UTF-8. */
export function decodeUtf8(bytes: number[]): number | null {
  if (bytes.slice(1).some((b) => b < 0x80 || b > 0xbf)) return null;
  const c = decodeBits(bytes);
  return LENGTH_SPANS[bytes.length].some(([a, b]) => c >= a && c <= b) ? c : null;
}
