// Basic indexing (integers, slices, None, '...') against Python's x[...]: the result's shape,
// strides, storage offset, values, view-ness, errors, and the version counter it shares with its
// base. A view that records no gradient is made as one as_strided view (native/shape.cc), one
// that does by libtorch's chain of select/slice/unsqueeze: both are checked here, and against
// each other.
import * as torch from '../lib';
import { pythonJson } from './helpers';

// Bases as Python writes them: contiguous, transposed, a strided view, broadcast (stride 0),
// size-0 and size-1 dims, a 0-dim tensor, a view with a storage offset.
const BASES = [
  'torch.arange(120.).reshape(4, 5, 6)',
  'torch.arange(120.).reshape(4, 5, 6).transpose(0, 2)',
  'torch.arange(240.).reshape(8, 5, 6)[1::3, :, 1:]',
  'torch.arange(4.).reshape(4, 1).expand(4, 5)',
  'torch.zeros(3, 0, 4)',
  'torch.arange(6.).reshape(1, 6, 1)',
  'torch.tensor(3.)',
  'torch.arange(10.)[3:]',
];
function base(k: number): torch.Tensor {
  const a = (n: number) => torch.arange(n, { dtype: 'float32' });
  return [
    () => a(120).reshape([4, 5, 6]),
    () => a(120).reshape([4, 5, 6]).transpose(0, 2),
    () => a(240).reshape([8, 5, 6]).index('1::3', ':', '1:'),
    () => a(4).reshape([4, 1]).expand([4, 5]),
    () => torch.zeros([3, 0, 4]),
    () => a(6).reshape([1, 6, 1]),
    () => torch.tensor(3, { dtype: 'float32' }),
    () => a(10).index('3:'),
  ][k]();
}

// An index as JSON (for Python) and as tstorch takes it.
type Ix = { k: 'int'; v: number } | { k: 'none' } | { k: 'ellipsis' } | { k: 'slice'; a: number | null; b: number | null; c: number | null };
const toTs = (ix: Ix): torch.Index =>
  ix.k === 'int' ? ix.v : ix.k === 'none' ? null : ix.k === 'ellipsis' ? '...' : torch.Slice(ix.a, ix.b, ix.c);

// Seeded cases: up to 4 indices each, bounds in and past range, negative ones, steps 1-3.
function cases(): { base: number; ixs: Ix[] }[] {
  let s = 12345;
  const rnd = (n: number) => ((s = (s * 1103515245 + 12345) % 2147483648), s % n);
  const bound = (): number | null => (rnd(4) === 0 ? null : rnd(17) - 8);
  const out: { base: number; ixs: Ix[] }[] = [];
  for (let b = 0; b < BASES.length; b++) {
    for (let n = 0; n < 40; n++) {
      const ixs: Ix[] = [];
      let ellipsis = false;
      for (let k = rnd(5); k > 0; k--) {
        const kind = rnd(10);
        if (kind < 3) ixs.push({ k: 'int', v: rnd(9) - 4 });
        else if (kind < 5) ixs.push({ k: 'none' });
        else if (kind < 6 && !ellipsis) { ixs.push({ k: 'ellipsis' }); ellipsis = true; }
        else ixs.push({ k: 'slice', a: bound(), b: bound(), c: rnd(3) === 0 ? null : 1 + rnd(3) });
      }
      out.push({ base: b, ixs });
    }
  }
  return out;
}

type Result = { shape: number[]; stride: number[]; offset: number; values: number[]; view: boolean } | { error: string };

function ours(t: torch.Tensor, ixs: Ix[]): Result {
  try {
    const v = t.index(...ixs.map(toTs));
    return { shape: v.shape, stride: v.stride(), offset: v.storageOffset(), values: Array.from(v.flatten().data() as Float32Array), view: v._isView() };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

describe('basic indexing matches Python x[...]', () => {
  const all = cases();
  let want: Result[];
  beforeAll(() => {
    want = pythonJson<Result[]>(`
import json, sys, torch
bases = [${BASES.join(', ')}]
def ix(i):
    if i['k'] == 'int': return i['v']
    if i['k'] == 'none': return None
    if i['k'] == 'ellipsis': return Ellipsis
    return slice(i['a'], i['b'], i['c'])
out = []
for c in json.loads(sys.argv[1]):
    try:
        v = bases[c['base']][tuple(ix(i) for i in c['ixs'])]
        out.append({'shape': list(v.shape), 'stride': list(v.stride()), 'offset': v.storage_offset(), 'values': v.flatten().tolist(), 'view': v._is_view()})
    except Exception as e:
        out.append({'error': str(e)})
print(json.dumps(out))`, JSON.stringify(all));
  });

  test('320 seeded cases on 8 bases: shape, strides, offset, values and errors, without and with grad', () => {
    const errors = want.filter((w) => 'error' in w).length;
    expect(errors).toBeGreaterThan(20); // out-of-range integers and too many indices are among the cases
    expect(want.length - errors).toBeGreaterThan(200);
    all.forEach((c, n) => {
      torch.tidy(() => {
        const what = `${BASES[c.base]}[${JSON.stringify(c.ixs)}]`;
        const w = want[n];
        const plain = ours(base(c.base), c.ixs); // one as_strided view
        const withGrad = ours(base(c.base).requiresGrad_(), c.ixs); // libtorch's chain (recorded)
        for (const got of [plain, withGrad]) {
          if ('error' in w) {
            expect({ what, error: 'error' in got }).toEqual({ what, error: true });
            // Python's message, up to its own wording of the dim count (IndexError text is libtorch's)
            expect({ what, msg: (got as { error: string }).error.split('\n')[0].slice(0, 20) }).toEqual({ what, msg: w.error.split('\n')[0].slice(0, 20) });
          } else {
            expect({ what, ...got }).toEqual({ what, ...w });
          }
        }
      });
    });
  });
});

describe('a view made by index', () => {
  test('shares memory and version counter with its base; writes through it reach the base', () => {
    const want = pythonJson(`
import json, torch
m = torch.arange(24.).reshape(4, 6).clone()
v = m[1:3, None, ::2]
r = [m._version, v._version, v._base is m]
v.mul_(10)
r += [m._version, v._version, m.tolist()]
print(json.dumps(r))`);
    const m = torch.arange(24, { dtype: 'float32' }).reshape([4, 6]).contiguous().clone();
    const v = m.index('1:3', null, '::2');
    const base = v._base!;
    const r: unknown[] = [m._version, v._version, base.dataPtr() === m.dataPtr() && base.shape.join() === m.shape.join()];
    v.mul_(10);
    r.push(m._version, v._version, m.tolist());
    expect(r).toEqual(want);
    expect(m._base).toBeNull();
    expect(m._isView()).toBe(false);
  });

  test('of a tensor that needs a gradient: recorded as PyTorch records it (SliceBackward0), gradients flow', () => {
    const x = torch.arange(12, { dtype: 'float32' }).reshape([3, 4]).clone().requiresGrad_(); // (a leaf, not a view)
    const y = x.index('1:', null, '::2');
    expect(y.gradFn!.name()).toBe('SliceBackward0');
    y.mul(torch.tensor([[[1, 2]], [[3, 4]]], { dtype: 'float32' })).sum().backward();
    expect(x.grad!.tolist()).toEqual([[0, 0, 0, 0], [1, 0, 2, 0], [3, 0, 4, 0]]);
    // under noGrad the view records nothing but still needs a gradient (its base does), as in Python
    const z = torch.noGrad(() => x.index('1:3', 0));
    expect(z.gradFn).toBeNull();
    expect(z.requiresGrad).toBe(true);
    expect(() => z.mul_(2)).toThrow(/A view was created in no_grad mode and is being modified inplace with grad mode enabled/);
  });

  test('an in-place write of a gradient-needing value into a view of a plain tensor records CopySlices on its base', () => {
    const m = torch.zeros([3, 4]);
    const g = torch.ones([2, 2]).requiresGrad_();
    const v = m.index('1:', '::2');
    v.copy_(g.mul(3));
    expect(v.gradFn!.name()).toBe('AsStridedBackward0');
    expect(m.gradFn!.name()).toBe('torch::autograd::CopySlices'); // (Python's name for it too)
    m.sum().backward();
    expect(g.grad!.tolist()).toEqual([[3, 3], [3, 3]]);
    expect(m.tolist()).toEqual([[0, 0, 0, 0], [3, 0, 3, 0], [3, 0, 3, 0]]);
  });
});
