// How a tensor prints: PyTorch's repr, character for character (torch/_tensor_str.py), so
// console.log(t) shows `tensor([[0.1234, 1.5000]], requires_grad=True)` as Python would.
// Large tensors are summarized (their first and last `edgeitems` along each dim).
import { native } from './native';
import { defaults, isFloatingDtype, isComplexDtype, complexOf } from './dtype';
import type { Tensor } from './tensor';

export interface PrintOptions {
  /** digits after the decimal point (4) */
  precision: number;
  /** more elements than this are summarized (1000) */
  threshold: number;
  /** elements kept at each end of a summarized dim (3) */
  edgeitems: number;
  /** characters per line (80) */
  linewidth: number;
  /** true / false forces scientific notation on / off; null lets the values decide */
  sciMode: boolean | null;
}
const opts: PrintOptions = { precision: 4, threshold: 1000, edgeitems: 3, linewidth: 80, sciMode: null };

/** torch.set_printoptions. */
export function setPrintOptions(o: Partial<PrintOptions>): void {
  Object.assign(opts, o);
}
export const getPrintOptions = (): PrintOptions => ({ ...opts });

type Value = number | bigint | boolean;
interface Complex { re: number; im: number }
const ELLIPSIS = Symbol('...');
type Nested = Value | Complex | typeof ELLIPSIS | Nested[];

/** The values to print as nested arrays, with ELLIPSIS where a summarized dim skips (get_summarized_data). */
function values(t: Tensor, summarize: boolean): Nested {
  const shape = t.shape;
  const e = opts.edgeitems;
  if (summarize && shape.length && shape[0] > 2 * e) {
    const part = (start: number) => {
      const s = t.narrow(0, start, e);
      const v = values(s, summarize) as Nested[];
      s.dispose();
      return v;
    };
    return [...part(0), ELLIPSIS, ...part(shape[0] - e)];
  }
  if (summarize && shape.length > 1) {
    return Array.from({ length: shape[0] }, (_, i) => {
      const row = t.select(0, i);
      const v = values(row, summarize);
      row.dispose();
      return v;
    });
  }
  return plain(t);
}
function plain(t: Tensor): Nested {
  // int64 beyond 2^53 would lose digits as doubles: read those as bigints.
  if (t.dtype !== 'int64') return t.tolist() as Nested;
  const flat = Array.from(t.data() as BigInt64Array);
  const shape = t.shape;
  let k = 0;
  const build = (d: number): Nested => (d === shape.length ? flat[k++] : Array.from({ length: shape[d] }, () => build(d + 1)));
  return build(0);
}

// Python's '{:.<p>f}' and '{:.<p>e}'. JS's toFixed / toExponential round the exact value too, but
// send ties up where Python sends them to the even digit: 30 more digits show a tie (a double's
// exact expansion has a nonzero digit within ~17 places of any non-tie).
const TIE = /^50*$/;
function nonFinite(v: number): string | null {
  return Number.isNaN(v) ? 'nan' : v === Infinity ? 'inf' : v === -Infinity ? '-inf' : null;
}
export function fixed(v: number, p: number): string {
  const nf = nonFinite(v);
  if (nf) return nf;
  const sign = v < 0 || Object.is(v, -0) ? '-' : '';
  const a = Math.abs(v);
  const long = a.toFixed(p + 30);
  const kept = long.slice(0, long.length - 30).replace(/\.$/, '');
  const tieToEven = TIE.test(long.slice(long.length - 30)) && Number(kept[kept.length - 1]) % 2 === 0;
  return sign + (tieToEven ? kept : a.toFixed(p));
}
function scientific(v: number, p: number): string {
  const nf = nonFinite(v);
  if (nf) return nf;
  const sign = v < 0 || Object.is(v, -0) ? '-' : '';
  const a = Math.abs(v);
  const [longMant, longExp] = a.toExponential(p + 30).split('e');
  const kept = longMant.slice(0, p ? p + 2 : 1);
  const tieToEven = TIE.test(longMant.slice(p + 2)) && Number(kept[kept.length - 1]) % 2 === 0;
  const [m, e] = tieToEven ? [kept, longExp] : a.toExponential(p).split('e');
  const n = Number(e);
  return `${sign}${m}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
}

/** PyTorch's _Formatter: one width and one notation for all the values printed. */
class Formatter {
  intMode = true;
  sciMode = false;
  maxWidth = 1;
  constructor(readonly floating: boolean, vals: Value[]) {
    if (!floating) {
      for (const v of vals) this.maxWidth = Math.max(this.maxWidth, str(v).length);
      return;
    }
    const finite = (vals as number[]).filter((v) => Number.isFinite(v) && v !== 0);
    if (!finite.length) return;
    const abs = finite.map(Math.abs);
    const min = Math.min(...abs), max = Math.max(...abs);
    this.intMode = finite.every((v) => v === Math.ceil(v));
    if (this.intMode) {
      if (max / min > 1000 || max > 1e8) {
        this.sciMode = true;
        for (const v of finite) this.maxWidth = Math.max(this.maxWidth, scientific(v, opts.precision).length);
      } else {
        for (const v of finite) this.maxWidth = Math.max(this.maxWidth, fixed(v, 0).length + 1);
      }
    } else if (max / min > 1000 || max > 1e8 || min < 1e-4) {
      this.sciMode = true;
      for (const v of finite) this.maxWidth = Math.max(this.maxWidth, scientific(v, opts.precision).length);
    } else {
      for (const v of finite) this.maxWidth = Math.max(this.maxWidth, fixed(v, opts.precision).length);
    }
    if (opts.sciMode !== null) this.sciMode = opts.sciMode;
  }
  format(v: Value): string {
    let s: string;
    if (!this.floating) s = str(v);
    else if (this.sciMode) s = scientific(v as number, opts.precision);
    else if (this.intMode) s = fixed(v as number, 0) + (Number.isFinite(v) ? '.' : '');
    else s = fixed(v as number, opts.precision);
    return s.padStart(this.maxWidth);
  }
}
const str = (v: Value) => (typeof v === 'boolean' ? (v ? 'True' : 'False') : String(v));

function flatValues(n: Nested, out: (Value | Complex)[] = []): (Value | Complex)[] {
  if (Array.isArray(n)) n.forEach((x) => flatValues(x, out));
  else if (n !== ELLIPSIS) out.push(n);
  return out;
}

/** How elements print: one Formatter, or for complex values one for the real and one for the imaginary parts. */
class ElementFormat {
  constructor(readonly f: Formatter, readonly imag?: Formatter) {}
  get width(): number {
    return this.imag ? this.f.maxWidth + this.imag.maxWidth + 1 : this.f.maxWidth;
  }
  format(v: Nested): string {
    if (!this.imag) return this.f.format(v as Value);
    const c = v as Complex;
    const re = this.f.format(c.re);
    const im = `${this.imag.format(c.im)}j`.trimStart();
    return im[0] === '+' || im[0] === '-' ? re + im : `${re}+${im}`;
  }
}

function vectorStr(v: Nested[], indent: number, f: ElementFormat): string {
  const elementLength = f.width + 2;
  const perLine = Math.max(1, Math.floor((opts.linewidth - indent) / elementLength));
  const data = v.map((x) => (x === ELLIPSIS ? ' ...' : f.format(x)));
  const lines: string[] = [];
  for (let i = 0; i < data.length; i += perLine) lines.push(data.slice(i, i + perLine).join(', '));
  return `[${lines.join(`,\n${' '.repeat(indent + 1)}`)}]`;
}
function tensorStr(v: Nested, dim: number, indent: number, f: ElementFormat): string {
  if (dim === 0) return f.format(v);
  if (dim === 1) return vectorStr(v as Nested[], indent, f);
  const slices = (v as Nested[]).map((x) => (x === ELLIPSIS ? '...' : tensorStr(x, dim - 1, indent + 1, f)));
  return `[${slices.join(`,${'\n'.repeat(dim - 1)}${' '.repeat(indent + 1)}`)}]`;
}

function addSuffixes(body: string, suffixes: string[], indent: number, forceNewline = false): string {
  const parts = [body];
  let lastLineLen = body.length - body.lastIndexOf('\n') + 1;
  for (const s of suffixes) {
    if (forceNewline || lastLineLen + s.length + 2 > opts.linewidth) {
      forceNewline = false;
      parts.push(`,\n${' '.repeat(indent)}${s}`);
      lastLineLen = indent + s.length;
    } else {
      parts.push(`, ${s}`);
      lastLineLen += s.length + 2;
    }
  }
  return `${parts.join('')})`;
}

/** The values part of a repr (PyTorch's _tensor_str): `[]` when empty. */
function body(t: Tensor, indent: number): string {
  const shape = t.shape;
  const numel = shape.reduce((a, b) => a * b, 1);
  if (numel === 0) return '[]';
  const summarize = numel > opts.threshold;
  const v = values(t, summarize);
  const flat = flatValues(v);
  const f = isComplexDtype(t.dtype)
    ? new ElementFormat(new Formatter(true, (flat as Complex[]).map((c) => c.re)), new Formatter(true, (flat as Complex[]).map((c) => c.im)))
    : new ElementFormat(new Formatter(isFloatingDtype(t.dtype), flat as Value[]));
  return tensorStr(v, shape.length, indent, f);
}
const pyTuple = (shape: number[]) => `(${shape.join(', ')}${shape.length === 1 ? ',' : ''})`;

/** repr(t) as PyTorch writes it. */
export function formatTensor(t: Tensor): string {
  const prefix = 'tensor(';
  const indent = prefix.length;
  const suffixes: string[] = [];
  const device = t.device;
  if (device !== (defaults.device === 'cuda' ? 'cuda:0' : defaults.device)) suffixes.push(`device='${device}'`);
  const dtype = t.dtype;
  const shape = t.shape;
  const numel = shape.reduce((a, b) => a * b, 1);
  const hasDefaultDtype = [defaults.floatDtype, complexOf(defaults.floatDtype), 'int64', 'bool'].includes(dtype);
  const layout = t.layout, sparse = layout !== 'strided', compressed = sparse && layout !== 'sparse_coo';
  let text: string;
  if (sparse) {
    // COO: tensor(indices=tensor([...]),\n       values=tensor([...]),\n       size=(...), nnz=..., layout=torch.sparse_coo)
    // CSR (BSR): tensor(crow_indices=..., col_indices=..., values=tensor([...]), size=(...), nnz=..., layout=torch.sparse_csr)
    // CSC (BSC): tensor(ccol_indices=..., row_indices=..., values=..., ...)
    suffixes.push(`size=${pyTuple(shape)}`, `nnz=${t.nnz()}`);
    if (!hasDefaultDtype) suffixes.push(`dtype=torch.${dtype}`);
    const part = (name: string, x: Tensor) => {
      const p = `${name}=tensor(`;
      const s = body(x, indent + p.length) + (x.numel() === 0 ? `, size=${pyTuple(x.shape)}` : '');
      x.dispose();
      return `${p}${s})`;
    };
    const byColumn = layout === 'sparse_csc' || layout === 'sparse_bsc';
    const parts = !compressed ? [part('indices', t.indices({ raw: true }).detach()), part('values', t.values({ raw: true }).detach())]
      : byColumn ? [part('ccol_indices', t.ccolIndices()), part('row_indices', t.rowIndices()), part('values', t.values().detach())]
        : [part('crow_indices', t.crowIndices()), part('col_indices', t.colIndices()), part('values', t.values().detach())];
    text = parts.join(`,\n${' '.repeat(indent)}`);
  } else if (device === 'meta') {
    // (no values to show: PyTorch's `tensor(..., device='meta', size=(3, 4))`)
    suffixes.push(`size=${pyTuple(shape)}`);
    if (dtype !== defaults.floatDtype) suffixes.push(`dtype=torch.${dtype}`);
    text = '...';
  } else if (numel === 0) {
    if (shape.length !== 1) suffixes.push(`size=${pyTuple(shape)}`);
    if (dtype !== defaults.floatDtype) suffixes.push(`dtype=torch.${dtype}`);
    text = '[]';
  } else {
    if (!hasDefaultDtype) suffixes.push(`dtype=torch.${dtype}`);
    text = body(t, indent);
  }
  if (sparse) suffixes.push(`layout=torch.${layout}`);
  const gradFn = native.gradFnName(t._id) as string | null;
  if (gradFn) suffixes.push(`grad_fn=<${gradFn}>`);
  else if (t.requiresGrad) suffixes.push('requires_grad=True');
  return addSuffixes(prefix + text, suffixes, indent, sparse && !compressed);
}
