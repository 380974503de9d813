// torch.testing.assertClose against PyTorch's assert_close (scripts/reference/testing_ref.py):
// on the same inputs, both must pass or fail alike, with the same error type and the very same
// message (default tolerances per dtype, mismatch statistics, indices, item paths, Python's
// number formatting). Also: Tensor.stride / storageOffset and memory formats (channels last).
import * as torch from '../lib';
import { referenceJson, pythonJson } from './helpers';

type Spec = { t: string; op?: 't' | 'complex' } | { f: number | null } | { b: boolean } | Spec[] | { dict: Record<string, Spec> };
interface PyKwargs { rtol?: number; atol?: number; equal_nan?: boolean; check_dtype?: boolean; check_stride?: boolean; msg?: string }
/** ours: our message where it must differ (JS types are named, not Python's classes) */
interface Case { name: string; actual: Spec; expected: Spec; kwargs?: PyKwargs; ours?: string }

const inputs = new Map<string, torch.Tensor>();
/** A tensor input by name (made once, kept for both sides). */
function T(name: string, make: () => torch.Tensor, op?: 't' | 'complex'): Spec {
  if (!inputs.has(name)) inputs.set(name, torch.keep(make()));
  return op ? { t: name, op } : { t: name };
}
const f32 = (v: number[] | number[][]) => torch.tensor(v, { dtype: 'float32' });
const f64 = (v: number[] | number[][]) => torch.tensor(v, { dtype: 'float64' });

const cases: Case[] = [
  { name: 'one_mismatch', actual: T('a1', () => f32([1, 2, 3])), expected: T('b1', () => f32([1, 2.5, 3])) },
  { name: 'matrix_tiny', actual: T('a2', () => f32([[1, 2], [3, 4]])), expected: T('b2', () => f32([[1, 2], [3, 4.0001]])) },
  { name: 'within_default', actual: T('a3', () => f32([0, 1])), expected: T('b3', () => f32([1e-9, 1])) },
  { name: 'shape', actual: T('a4', () => f32([1, 2])), expected: T('b4', () => f32([1, 2, 3])) },
  { name: 'dtype', actual: T('a5', () => f32([1, 2])), expected: T('b5', () => f64([1, 2])) },
  { name: 'dtype_unchecked', actual: T('a5', () => f32([1, 2])), expected: T('b6', () => f64([1, 2.5])), kwargs: { check_dtype: false } },
  { name: 'ints', actual: T('a7', () => torch.tensor([1, 2])), expected: T('b7', () => torch.tensor([1, 3])) },
  { name: 'bools', actual: T('a8', () => torch.tensor([true, false])), expected: T('b8', () => torch.tensor([true, true])) },
  { name: 'nan', actual: T('a9', () => f32([NaN, 1])), expected: T('a9', () => f32([NaN, 1])) },
  { name: 'nan_equal', actual: T('a9', () => f32([NaN, 1])), expected: T('a9', () => f32([NaN, 1])), kwargs: { equal_nan: true } },
  { name: 'inf', actual: T('a10', () => f64([Infinity, 1])), expected: T('b10', () => f64([-Infinity, 1])) },
  { name: 'inf_same', actual: T('a10', () => f64([Infinity, 1])), expected: T('a10', () => f64([Infinity, 1])) },
  { name: 'scalar_tensors', actual: T('a11', () => torch.tensor(1.5)), expected: T('b11', () => torch.tensor(2.25)) },
  { name: 'custom_tol', actual: T('a12', () => f32([1, 2])), expected: T('b12', () => f32([1, 2.5])), kwargs: { rtol: 0, atol: 0.1 } },
  { name: 'custom_tol_pass', actual: T('a12', () => f32([1, 2])), expected: T('b13', () => f32([1, 2.0001])), kwargs: { rtol: 0, atol: 1e-3 } },
  { name: 'rtol_only', actual: T('a12', () => f32([1, 2])), expected: T('a12', () => f32([1, 2])), kwargs: { rtol: 1e-3 } },
  { name: 'exact', actual: T('a14', () => f32([0, 1e-30])), expected: T('b14', () => f32([0, 0])), kwargs: { rtol: 0, atol: 0 } },
  { name: 'big', actual: T('a15', () => f64([1e20, 3])), expected: T('b15', () => f64([2e20, 3])) },
  { name: 'half', actual: T('a16', () => f32([1, 2]).half()), expected: T('b16', () => f32([1.001, 2.01]).half()) },
  { name: 'cube_tie', actual: T('a17', () => torch.arange(0, 16, 1, { dtype: 'float64' }).reshape([2, 2, 4])), expected: T('b17', () => torch.arange(0, 16, 1, { dtype: 'float64' }).reshape([2, 2, 4]).indexPut_([1, 0, 3], 99)) },
  { name: 'random', actual: T('a18', () => torch.randn([5, 7])), expected: T('b18', () => torch.randn([5, 7])) },
  { name: 'stride', actual: T('a19', () => torch.zeros([2, 3])), expected: T('b19', () => torch.zeros([3, 2]), 't'), kwargs: { check_stride: true } },
  { name: 'stride_unchecked', actual: T('a19', () => torch.zeros([2, 3])), expected: T('b19', () => torch.zeros([3, 2]), 't') },
  { name: 'complex', actual: T('a20', () => f32([[1, 1], [2, 0]]), 'complex'), expected: T('b20', () => f32([[1, 1.1], [2, 0]]), 'complex') },
  { name: 'complex_scalar', actual: T('a21', () => f64([1, 2]), 'complex'), expected: T('b21', () => f64([1, 2.5]), 'complex') },
  { name: 'list_path', actual: [T('a22', () => f32([1])), [T('a23', () => f32([2])), { f: 3 }]], expected: [T('a22', () => f32([1])), [T('a23', () => f32([2])), { f: 3.5 }]] },
  { name: 'dict_path', actual: { dict: { w: T('a22', () => f32([1])), b: T('a11', () => torch.tensor(1.5)) } }, expected: { dict: { w: T('a22', () => f32([1])), b: T('b11', () => torch.tensor(2.25)) } } },
  { name: 'list_tensor_path', actual: [T('a1', () => f32([1, 2, 3])), T('a1', () => f32([1, 2, 3]))], expected: [T('a1', () => f32([1, 2, 3])), T('b1', () => f32([1, 2.5, 3]))] },
  { name: 'dict_keys', actual: { dict: { a: { f: 1 } } }, expected: { dict: { b: { f: 1 } } } },
  { name: 'list_length', actual: [{ f: 1 }, { f: 2 }], expected: [{ f: 1 }, { f: 2 }, { f: 3 }] },
  { name: 'numbers', actual: { f: 1 }, expected: { f: 1.5 } },
  { name: 'numbers_close', actual: { f: 1 }, expected: { f: 1 + 1e-8 } },
  { name: 'numbers_nan', actual: { f: null }, expected: { f: null } },
  { name: 'booleans', actual: { b: true }, expected: { b: false } },
  { name: 'tensor_vs_number', actual: T('a11', () => torch.tensor(1.5)), expected: { f: 1.5 }, ours: 'No comparison pair was able to handle inputs of type Tensor and number.' },
  { name: 'msg', actual: T('a12', () => f32([1, 2])), expected: T('b12', () => f32([1, 2.5])), kwargs: { msg: 'custom words' } },
  { name: 'msg_nested', actual: [T('a12', () => f32([1, 2]))], expected: [T('b12', () => f32([1, 2.5]))], kwargs: { msg: 'custom words' } },
];

function build(spec: Spec): unknown {
  if (Array.isArray(spec)) return spec.map(build);
  if ('t' in spec) {
    const x = inputs.get(spec.t)!;
    return spec.op === 't' ? x.t() : spec.op === 'complex' ? torch.viewAsComplex(x) : x;
  }
  if ('f' in spec) return spec.f === null ? NaN : spec.f;
  if ('b' in spec) return spec.b;
  return Object.fromEntries(Object.entries(spec.dict).map(([k, v]) => [k, build(v)]));
}
const camel = (k: PyKwargs): torch.testing.AssertCloseOptions => ({
  rtol: k.rtol, atol: k.atol, equalNan: k.equal_nan, checkDtype: k.check_dtype, checkStride: k.check_stride, msg: k.msg,
});
const pyType = (e: unknown) => (e instanceof TypeError ? 'TypeError' : (e as { code?: string }).code === 'ERR_ASSERTION' ? 'AssertionError' : 'ValueError');

let want: Record<string, { type: string; message: string } | null>;
beforeAll(() => {
  torch.manualSeed(3);
  const spec = cases.map((c) => ({ ...c, kwargs: c.kwargs ?? {} })); // makes the inputs
  want = referenceJson('testing_ref.py', spec, inputs);
}, 60_000);

describe("torch.testing.assertClose: PyTorch's verdicts and messages", () => {
  for (const c of cases) {
    test(c.name, () => {
      torch.tidy(() => {
        let got: { type: string; message: string } | null = null;
        try {
          torch.testing.assertClose(build(c.actual) as never, build(c.expected) as never, camel(c.kwargs ?? {}));
        } catch (e) {
          got = { type: pyType(e), message: (e as Error).message };
        }
        const w = want[c.name];
        expect(got).toEqual(w && c.ours ? { ...w, message: c.ours } : w);
      });
    });
  }
  test('every case made a verdict on both sides (failures among them)', () => {
    expect(Object.keys(want).length).toBe(cases.length);
    expect(Object.values(want).filter((w) => w !== null).length).toBeGreaterThanOrEqual(25);
  });
});

describe('strides and memory formats, as PyTorch lays tensors out', () => {
  test('stride, storageOffset, contiguous / to / isContiguous with channelsLast, Conv2d and Module.to keep it', () => {
    const want = pythonJson(`
import json, torch
torch.manual_seed(0)
x = torch.randn(2, 3, 4, 5)
cl = x.contiguous(memory_format=torch.channels_last)
v = torch.randn(2, 3, 4, 5, 6).to(memory_format=torch.channels_last_3d)
conv = torch.nn.Conv2d(3, 4, 3, padding=1).to(memory_format=torch.channels_last)
y = conv(cl)
lin = torch.nn.Linear(3, 2).to(memory_format=torch.channels_last)
out = {
  "x": [x.stride(), x.storage_offset()], "t": x.transpose(1, 3).stride(), "narrow": [x[:, 1:].stride(), x[:, 1:].storage_offset()],
  "cl": [cl.stride(), cl.is_contiguous(), cl.is_contiguous(memory_format=torch.channels_last)],
  "cl3d": [v.stride(), v.is_contiguous(memory_format=torch.channels_last_3d)],
  "back": cl.contiguous().stride(), "preserve": (cl * 2).stride(), "clone": cl.clone(memory_format=torch.preserve_format).stride(),
  "conv_w": [conv.weight.stride(), conv.weight.is_contiguous(memory_format=torch.channels_last)],
  "y": [y.stride(), y.is_contiguous(memory_format=torch.channels_last)], "lin": lin.weight.stride(),
}
print(json.dumps(out))
`);
    torch.tidy(() => {
      torch.manualSeed(0);
      const x = torch.randn([2, 3, 4, 5]);
      const cl = x.contiguous('channelsLast');
      const v = torch.randn([2, 3, 4, 5, 6]).to({ memoryFormat: 'channelsLast3d' });
      const conv = new torch.nn.Conv2d(3, 4, 3, { padding: 1 }).to({ memoryFormat: 'channelsLast' });
      const y = conv.forward(cl);
      const lin = new torch.nn.Linear(3, 2).to({ memoryFormat: torch.channelsLast });
      const narrow = x.index(':', '1:');
      const got = {
        x: [x.stride(), x.storageOffset()], t: x.transpose(1, 3).stride(), narrow: [narrow.stride(), narrow.storageOffset()],
        cl: [cl.stride(), cl.isContiguous(), cl.isContiguous('channelsLast')],
        cl3d: [v.stride(), v.isContiguous('channelsLast3d')],
        back: cl.contiguous().stride(), preserve: cl.mul(2).stride(), clone: cl.clone().stride(),
        conv_w: [conv.weight.stride(), conv.weight.isContiguous('channelsLast')],
        y: [y.stride(), y.isContiguous('channelsLast')], lin: lin.weight.stride(),
      };
      expect(got).toEqual(want);
      expect(x.stride(1)).toBe(20);
      expect(x.stride(-1)).toBe(1);
      // the layout changes nothing in the values
      const plain = new torch.nn.Conv2d(3, 4, 3, { padding: 1 });
      plain.loadStateDict(conv.stateDict());
      expect(plain.forward(x).sub(y).abs().max().item()).toBeLessThan(1e-5);
      expect(() => x.contiguous('channelsFirst' as never)).toThrow(/unknown memory format 'channelsFirst' \(expected one of contiguousFormat, preserveFormat, channelsLast, channelsLast3d\)/);
      expect(() => torch.randn([2, 3]).contiguous('channelsLast')).toThrow(/required rank 4 tensor to use channels_last format/);
      expect(() => lin.to({ dtype: 'int64' })).toThrow('Module.to only accepts floating point or complex dtypes, but got desired dtype=int64');
    });
  });
});
