// The tensor API's breadth against PyTorch: every case is written twice, once with tstorch and
// once in plain PyTorch (scripts/reference/ops_ref.py runs the Python side on the same inputs,
// in float64). Outputs must agree within 1e-10 of the reference's largest element (integers and
// booleans exactly), and so must the gradient of every floating input, taken through a weighted
// sum of the outputs with weights the reference chooses.
import * as torch from '../lib';
import { cases, flatten, maxErr, T } from './ops.cases';
import { referenceTensors } from './helpers';

const F = torch.nn.functional;
const { linalg, autograd } = torch;

let want: Map<string, T>;
const inputs = new Map<string, T>();
const checked = { outputs: 0, gradients: 0 };

beforeAll(() => {
  torch.manualSeed(7);
  const spec = cases.map((c) => {
    const xs = c.inputs();
    const names = xs.map((x, i) => `${c.name}.in${i}`);
    xs.forEach((x, i) => inputs.set(names[i], torch.keep(x)));
    return { name: c.name, py: c.py, inputs: names, constants: c.constants ?? [] };
  });
  want = referenceTensors('ops_ref.py', spec, inputs);
}, 120_000);

describe('tensor ops against PyTorch (float64, 1e-10; integers and booleans exact)', () => {
  for (const c of cases) {
    test(c.name, () => {
      torch.tidy(() => {
        const args: T[] = [];
        for (let i = 0; inputs.has(`${c.name}.in${i}`); i++) {
          const x = inputs.get(`${c.name}.in${i}`)!.clone();
          args.push(x.dtype.startsWith('float') && !c.constants?.includes(i) ? x.requiresGrad_() : x);
        }
        const got = flatten(c.ts(...args));
        let k = 0;
        for (; want.has(`${c.name}.out${k}`); k++) {
          const w = want.get(`${c.name}.out${k}`)!;
          const g = got[k];
          expect(g).toBeDefined();
          checked.outputs++;
          if (g instanceof torch.Tensor) {
            const where = `${c.name} output ${k}`;
            expect([where, g.shape]).toEqual([where, w.shape]);
            if (w.dtype.startsWith('float')) {
              const err = maxErr(g, w);
              if (!(err < 1e-10)) throw new Error(`${where}: off by ${err} of the reference's scale`);
            } else {
              expect([where, g.dtype === 'bool' ? 'bool' : 'int', g.to({ dtype: 'int64' }).tolist()]).toEqual([where, w.dtype === 'bool' ? 'bool' : 'int', w.to({ dtype: 'int64' }).tolist()]);
            }
          } else {
            const v = w.item();
            expect(typeof v === 'boolean' ? g : Number(g)).toBe(v);
          }
        }
        expect(got.length).toBe(k);
        // Gradients: the same weighted sum of the float outputs, backward, input by input.
        let loss: T | null = null;
        got.forEach((g, j) => {
          const w = want.get(`${c.name}.w${j}`);
          // An output needs a gradient exactly where PyTorch's does.
          if (g instanceof torch.Tensor) expect([`${c.name} output ${j} requiresGrad`, g.requiresGrad]).toEqual([`${c.name} output ${j} requiresGrad`, w !== undefined]);
          if (!w) return;
          const term = (g as T).mul(w).sum();
          loss = loss ? loss.add(term) : term;
        });
        if (loss === null) return;
        (loss as T).backward();
        args.forEach((x, i) => {
          const wg = want.get(`${c.name}.grad${i}`);
          if (!wg) return;
          expect(x.grad).not.toBeNull();
          const err = maxErr(x.grad!, wg);
          checked.gradients++;
          if (!(err < 1e-10)) throw new Error(`${c.name} gradient of input ${i}: off by ${err} of the reference's scale`);
        });
      });
    });
  }

  // The counts make sure the comparisons above ran (a case whose reference wrote nothing would pass silently).
  test('every case was compared, outputs and gradients', () => {
    expect(checked.outputs).toBeGreaterThanOrEqual(1021);
    expect(checked.gradients).toBeGreaterThanOrEqual(207);
  });
});

describe('bad input to the new ops is a clear error, never a crash', () => {
  test('interpolate', () => {
    torch.tidy(() => {
      const img = torch.randn([1, 2, 4, 5]), F = torch.nn.functional;
      expect(() => F.interpolate(img, { size: 3, scaleFactor: 2 })).toThrow('interpolate: give either size or scaleFactor (one of them)');
      expect(() => F.interpolate(img, {})).toThrow(/give either size or scaleFactor/);
      expect(() => F.interpolate(img, { size: 3, mode: 'linear' })).toThrow('interpolate: got 4-D input, but linear mode needs 3-D input');
      expect(() => F.interpolate(img, { size: 3, alignCorners: true })).toThrow(/alignCorners can only be set with the interpolating modes/);
      expect(() => F.interpolate(img, { size: 3, mode: 'cubic' as never })).toThrow(/unknown mode 'cubic'/);
      expect(() => F.interpolate(img, { scaleFactor: [2, 2, 2] })).toThrow('interpolate: scaleFactor has 3 entries for 2 spatial dims');
      expect(() => F.interpolate(img, { scaleFactor: 0 })).toThrow(/scaleFactor must be > 0/);
      expect(() => F.interpolate(torch.randn([4, 5]), { size: 3 })).toThrow(/got 2-D/);
      expect(() => new torch.nn.Upsample({})).toThrow(/give either size or scaleFactor/);
    });
  });
  test('sparse tensors', () => {
    torch.tidy(() => {
      const s = torch.sparseCooTensor(torch.tensor([[0, 1, 1], [2, 0, 0]]), torch.tensor([1, 2, 3], { dtype: 'float32' }), [2, 3]);
      expect(() => s.data()).toThrow('tstorch: data() reads dense memory, and this tensor is Sparse: use x.toDense() (or x.indices() / x.values())');
      expect(() => s.tolist()).toThrow(/tolist\(\) reads dense memory/);
      expect(s.sum().item()).toBe(6); // (PyTorch 1.13's Tensor.sum has no sparse kernel; ours sums as torch.sparse.sum)
      expect(s.sum(1).toDense().tolist()).toEqual([1, 5]);
      expect(() => s.indices()).toThrow(/Cannot get indices on an uncoalesced tensor, please call .coalesce\(\) first/);
      expect(s.indices({ raw: true }).tolist()).toEqual([[0, 1, 1], [2, 0, 0]]);
      expect(s.coalesce().values().tolist()).toEqual([1, 5]);
      expect(() => torch.sparseCooTensor(torch.tensor([[0, 5]]), torch.ones([2]), [3])).toThrow(/size is inconsistent with indices|index 5 is out of bounds|sizes/);
      expect(() => torch.sparseCooTensor(torch.tensor([[0, 1]]), torch.ones([3]), [3])).toThrow(/indices and values must have same nnz/);
      // as PyTorch: matmul has no gradient for a sparse input (torch.sparse.mm has)
      const g = torch.sparseCooTensor(torch.tensor([[0, 1], [1, 0]]), torch.ones([2], { requiresGrad: true }), [2, 2]);
      expect(() => g.matmul(torch.ones([2, 2]))).toThrow(/requires the 'self' tensor to be strided/);
      torch.sparse.mm(g, torch.ones([2, 2])).sum().backward();
      expect(s.layout).toBe('sparse_coo');
      expect(torch.ones([2]).layout).toBe('strided');
    });
  });
  test('indexing', () => {
    torch.tidy(() => {
      const x = torch.randn([3, 4]);
      expect(() => x.index('1-2')).toThrow(/a string index is '\.\.\.' or a slice such as ':'/);
      expect(() => x.index(1.5)).toThrow(/integer indices must be whole numbers/);
      expect(() => x.index(torch.Slice(0, 2, 0))).toThrow(/step 0/);
      expect(() => x.index(5)).toThrow(/index 5 is out of bounds for dimension 0 with size 3/);
      expect(() => x.index(0, 0, 0)).toThrow(/too many indices/);
      expect(() => x.index(torch.tensor([0.5]))).toThrow(/tensors used as indices must be long, int, byte or bool tensors|indices/);
      expect(() => x.index({} as never)).toThrow(/is not an index/);
      expect(() => x.indexPut_([0], torch.randn([5]))).toThrow(/shape mismatch|size|expand/);
      // Negative steps are not PyTorch's either (use flip()).
      expect(() => x.index('::-1')).toThrow(/step must be greater than zero/);
    });
  });
  test('autograd.grad', () => {
    torch.tidy(() => {
      const a = torch.randn([3], { requiresGrad: true }), b = torch.randn([3], { requiresGrad: true });
      const y = a.mul(2).sum();
      expect(() => autograd.grad(y, [a, b], { retainGraph: true })).toThrow(/appears to not have been used in the graph/);
      expect(autograd.grad(y, [a, b], { allowUnused: true, retainGraph: true })[1]).toBeNull();
      expect(() => autograd.grad(a.mul(2), a)).toThrow(/grad can be implicitly created only for scalar outputs/);
      expect(() => autograd.grad([y], [a], { gradOutputs: [null, null] })).toThrow(/2 gradOutputs for 1 outputs/);
      expect(() => autograd.grad(torch.randn([1]).sum(), a)).toThrow(/does not require grad/);
    });
  });
  test('functional and linalg', () => {
    torch.tidy(() => {
      expect(() => F.mseLoss(torch.randn([3]), torch.randn([3]), { reduction: 'avg' as never })).toThrow(/mseLoss: unknown reduction 'avg'/);
      expect(() => F.conv2d(torch.randn([1, 3, 8, 8]), torch.randn([4, 3, 3]), null)).toThrow(/weight|dimension|4-dimensional/);
      expect(() => F.conv1d(torch.randn([1, 3, 8]), torch.randn([4, 3, 3]), null, { stride: [1, 2] })).toThrow(/conv1d stride: expected 1 integer\(s\)/);
      expect(() => F.maxPool2d(torch.randn([1, 1, 4, 4]), 1.5)).toThrow(/maxPool2d kernelSize: expected 2 integer/);
      expect(() => linalg.cholesky(torch.tensor([[1, 2], [2, 1]], { dtype: 'float64' }))).toThrow(/not positive-definite/);
      expect(() => linalg.inv(torch.zeros([2, 3]))).toThrow(/square/);
      expect(() => torch.einsum('ij,jk->ik', torch.randn([2, 3]), torch.randn([4, 2]))).toThrow(/einsum|size|operand/);
      expect(() => torch.randn([3]).div(2, { roundingMode: 'round' as never })).toThrow(/roundingMode must be 'floor', 'trunc' or null/);
    });
  });
});
