// Printing: String(t) and console.log(t) give PyTorch's repr, character for character, checked
// against repr() in PyTorch (scripts/reference/print_ref.py) on the same tensors: notation
// (fixed, integer-valued, scientific), widths, line wrapping, summarizing, dtype / grad suffixes,
// ties rounded to even as Python does, and torch.setPrintOptions.
import { inspect } from 'util';
import * as torch from '../lib';
import { referenceJson } from './helpers';


interface PyPrintOptions { precision?: number; threshold?: number; edgeitems?: number; linewidth?: number; sci_mode?: boolean }
interface Case { name: string; make: () => torch.Tensor; requires_grad?: boolean; op?: 'add' | 'sum' | 'clone' | 'complex' | 'complex_conj' | 'to_sparse' | 'to_sparse_hybrid'; printopts?: PyPrintOptions }

const f64 = (v: number[]) => torch.tensor(v, { dtype: 'float64' });
const f32 = (v: number[]) => torch.tensor(v, { dtype: 'float32' });
const cases: Case[] = [
  { name: 'randn_2x3', make: () => torch.randn([2, 3]) },
  { name: 'randn_f64', make: () => torch.randn([4], { dtype: 'float64' }) },
  { name: 'ints', make: () => torch.arange(-3, 12) },
  { name: 'int_big', make: () => torch.tensor(new BigInt64Array([2n ** 62n + 1n, -7n])) },
  { name: 'int32', make: () => torch.tensor([1, -20, 300], { dtype: 'int32' }) },
  { name: 'uint8', make: () => torch.tensor([[1, 2], [255, 0]], { dtype: 'uint8' }) },
  { name: 'bools', make: () => torch.tensor([[true, false], [false, true]]) },
  { name: 'scalar', make: () => torch.tensor(3.25) },
  { name: 'scalar_int', make: () => torch.tensor(-4) },
  { name: 'empty_2d', make: () => torch.zeros([0, 3]) },
  { name: 'empty_f64', make: () => torch.zeros([0], { dtype: 'float64' }) },
  { name: 'empty_long', make: () => torch.zeros([2, 0], { dtype: 'int64' }) },
  { name: 'half', make: () => f32([0.1, -2.5, 1000.25]).to({ dtype: 'float16' }) },
  { name: 'bf16', make: () => f32([0.1, -2.5, 3.75]).to({ dtype: 'bfloat16' }) },
  { name: 'small_sci', make: () => f32([1e-5, 1, -3.5]) },
  { name: 'large_sci', make: () => f64([1.5e9, 2.25, -1]) },
  { name: 'int_valued', make: () => f32([1, 2, -3, 40]) },
  { name: 'int_valued_sci', make: () => f32([1, 20000, -3]) },
  { name: 'nonfinite', make: () => f32([NaN, Infinity, -Infinity, 1.5]) },
  { name: 'nonfinite_int', make: () => f32([NaN, 2, -Infinity]) },
  { name: 'zeros', make: () => torch.zeros([2, 2]) },
  { name: 'neg_zero', make: () => f64([-0, 0.5]) },
  { name: 'ties', make: () => f64([0.03125, 1.03125, -2.71875, 0.5]) },
  { name: 'ties_sci', make: () => f64([1.03125, -2.71875, 2 ** -20]) },
  { name: 'long_row', make: () => torch.randn([30]) },
  { name: 'cube', make: () => torch.randn([2, 3, 4]) },
  { name: 'summarized_vector', make: () => torch.arange(0, 2000, 1, { dtype: 'float32' }).div(7) },
  { name: 'summarized_matrix', make: () => torch.randn([40, 50]) },
  { name: 'summarized_cube', make: () => torch.randn([10, 4, 300]) },
  { name: 'leaf_grad', make: () => torch.randn([3]), requires_grad: true },
  { name: 'grad_fn_add', make: () => torch.randn([2, 2], { dtype: 'float64' }), requires_grad: true, op: 'add' },
  { name: 'grad_fn_sum', make: () => torch.randn([5]), requires_grad: true, op: 'sum' },
  { name: 'grad_fn_wrap', make: () => torch.randn([9, 7], { dtype: 'float64' }), requires_grad: true, op: 'clone' },
  { name: 'opt_precision', make: () => torch.randn([3, 2]), printopts: { precision: 2 } },
  { name: 'opt_sci', make: () => torch.randn([4]), printopts: { sci_mode: true } },
  { name: 'opt_fixed', make: () => f32([1e-6, 3]), printopts: { sci_mode: false, precision: 7 } },
  { name: 'opt_threshold', make: () => torch.arange(0, 20), printopts: { threshold: 10, edgeitems: 2 } },
  { name: 'opt_linewidth', make: () => torch.randn([4, 12]), printopts: { linewidth: 40 } },
  // Complex tensors cross as their (real, imaginary) pairs; 'complex' views them as complex first.
  { name: 'complex', make: () => torch.randn([3, 2]), op: 'complex' },
  { name: 'complex_f64_matrix', make: () => torch.randn([2, 3, 2], { dtype: 'float64' }), op: 'complex' },
  { name: 'complex_int_valued', make: () => f32([1, 2, 3.5, -1, 4, 0, -0, -2]).reshape([4, 2]), op: 'complex' },
  { name: 'complex_sci', make: () => f32([1e-5, 1, 300, -2e6]).reshape([2, 2]), op: 'complex' },
  { name: 'complex_scalar', make: () => f32([0.5, -0.25]), op: 'complex' },
  { name: 'complex_conj', make: () => torch.randn([4, 2], { dtype: 'float64' }), op: 'complex_conj' },
  { name: 'complex_summarized', make: () => torch.randn([1200, 2]), op: 'complex' },
  { name: 'complex_long_row', make: () => torch.randn([12, 2]), op: 'complex', printopts: { linewidth: 60 } },
  { name: 'complex_grad', make: () => torch.randn([2, 2]), op: 'complex', requires_grad: true },
  // Sparse COO tensors print their indices and values ('to_sparse': x.to_sparse(), 'to_sparse_hybrid': x.to_sparse(1)).
  { name: 'sparse', make: () => f32([0, 1.5, 0, 0, -2, 0, 0, 0, 3.25, 0, 0, 7]).reshape([3, 4]), op: 'to_sparse' },
  { name: 'sparse_f64', make: () => f64([0, 0.1, 0, 2e-5, 0, 0]).reshape([2, 3]), op: 'to_sparse' },
  { name: 'sparse_int', make: () => torch.tensor([[0, 5], [7, 0]]), op: 'to_sparse' },
  { name: 'sparse_empty', make: () => torch.zeros([2, 3]), op: 'to_sparse' },
  { name: 'sparse_hybrid', make: () => f32([0, 0, 1, 2, 0, 0, 3, 0]).reshape([4, 2]), op: 'to_sparse_hybrid' },
  { name: 'sparse_1d', make: () => f32([0, 0, 4, 0, 0]), op: 'to_sparse' },
  { name: 'sparse_grad', make: () => f32([0, 1, 0, 2]).reshape([2, 2]), op: 'to_sparse', requires_grad: true },
];

const ours = (o: PyPrintOptions = {}): Partial<torch.PrintOptions> => ({
  precision: o.precision ?? 4, threshold: o.threshold ?? 1000, edgeitems: o.edgeitems ?? 3, linewidth: o.linewidth ?? 80, sciMode: o.sci_mode ?? null,
});

let want: Record<string, string>;
const tensors = new Map<string, torch.Tensor>();

beforeAll(() => {
  torch.manualSeed(4);
  for (const c of cases) tensors.set(c.name, torch.keep(c.make()));
  want = referenceJson<Record<string, string>>('print_ref.py', cases.map(({ make: _m, ...c }) => c), Object.fromEntries(tensors));
}, 60_000);

afterEach(() => torch.setPrintOptions(ours()));

describe("tensors print as PyTorch's repr", () => {
  for (const c of cases) {
    test(c.name, () => {
      torch.tidy(() => {
        torch.setPrintOptions(ours(c.printopts));
        let t = tensors.get(c.name)!.clone();
        if (c.requires_grad) t.requiresGrad_();
        if (c.op === 'add') t = t.add(t);
        else if (c.op === 'sum') t = t.sum();
        else if (c.op === 'clone') t = t.clone();
        else if (c.op === 'complex') t = torch.viewAsComplex(t);
        else if (c.op === 'complex_conj') t = torch.viewAsComplex(t).conj();
        else if (c.op === 'to_sparse') t = t.toSparse();
        else if (c.op === 'to_sparse_hybrid') t = t.toSparse(1);
        expect(String(t)).toBe(want[c.name]);
        expect(inspect(t)).toBe(want[c.name]);
      });
    });
  }
  test('a disposed tensor prints as such instead of throwing', () => {
    const t = torch.zeros([2]);
    t.dispose();
    expect(String(t)).toBe('tensor(<disposed>)');
  });
});
