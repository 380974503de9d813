// Sparse gradients against PyTorch: nn.Embedding with sparse: true gives the weight a sparse
// gradient of the rows looked up, and SparseAdam and SGD (with momentum) train on it as
// PyTorch's do, step by step (float64, 1e-12); scaleGradByFreq as PyTorch's.
import * as torch from '../lib';
import { pythonJson } from './helpers';

const nn = torch.nn;

test('sparse embedding gradients, SparseAdam and SGD with momentum as PyTorch\'s', () => {
  const want = pythonJson(`
import json, torch
torch.set_default_dtype(torch.float64)
ids = [torch.tensor([[1, 2, 2], [7, 1, 0]]), torch.tensor([[3, 3, 9], [2, 5, 5]]), torch.tensor([[1, 8, 8], [8, 8, 4]])]
w = torch.linspace(-1, 1, 24).reshape(2, 3, 4)
out = {}
for name, make in [("adam", lambda p: torch.optim.SparseAdam(p, lr=0.1, betas=(0.8, 0.9))), ("sgd", lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9))]:
    torch.manual_seed(2)
    e = torch.nn.Embedding(10, 4, sparse=True)
    opt = make(e.parameters())
    steps = []
    for k in range(3):
        opt.zero_grad()
        (e(ids[k]) * w).pow(2).sum().backward()
        if k == 0:
            g = e.weight.grad
            out[name + "_grad"] = [g.is_sparse, g.coalesce().indices().tolist(), g.to_dense().tolist()]
        opt.step()
        steps.append(e.weight.tolist())
    out[name] = steps
torch.manual_seed(2)
e = torch.nn.Embedding(10, 4, scale_grad_by_freq=True, padding_idx=8)
(e(ids[2]) * w).sum().backward()
out["freq"] = e.weight.grad.tolist()
print(json.dumps(out))
`);
  torch.setDefaultDtype('float64');
  try {
    torch.tidy(() => {
      const ids = [torch.tensor([[1, 2, 2], [7, 1, 0]]), torch.tensor([[3, 3, 9], [2, 5, 5]]), torch.tensor([[1, 8, 8], [8, 8, 4]])];
      const w = torch.linspace(-1, 1, 24).reshape([2, 3, 4]);
      const got: Record<string, unknown> = {};
      const makers: [string, (p: torch.Tensor[]) => { zeroGrad(): void; step(): void }][] = [
        ['adam', (p) => new torch.optim.SparseAdam(p, { lr: 0.1, betas: [0.8, 0.9] })],
        ['sgd', (p) => new torch.optim.SGD(p, { lr: 0.1, momentum: 0.9 })],
      ];
      for (const [name, make] of makers) {
        torch.manualSeed(2);
        const e = new nn.Embedding(10, 4, { sparse: true });
        const opt = make(e.parameters());
        const steps: unknown[] = [];
        for (let k = 0; k < 3; k++) {
          opt.zeroGrad();
          e.forward(ids[k]).mul(w).pow(2).sum().backward();
          if (k === 0) {
            const g = e.weight.grad!;
            got[`${name}_grad`] = [g.isSparse, g.coalesce().indices().tolist(), g.toDense().tolist()];
          }
          opt.step();
          steps.push(e.weight.tolist());
        }
        got[name] = steps;
      }
      torch.manualSeed(2);
      const e = new nn.Embedding(10, 4, { scaleGradByFreq: true, paddingIdx: 8 });
      e.forward(ids[2]).mul(w).sum().backward();
      got.freq = e.weight.grad!.tolist();
      torch.testing.assertClose(got as never, want, { rtol: 1e-12, atol: 1e-12 });
      // SparseAdam takes sparse gradients only, as PyTorch's
      const dense = new nn.Embedding(4, 2);
      const bad = new torch.optim.SparseAdam(dense.parameters());
      dense.forward(torch.tensor([1])).sum().backward();
      expect(() => bad.step()).toThrow('SparseAdam does not support dense gradients, please consider Adam instead');
      expect(() => new torch.optim.SparseAdam(dense.parameters(), { lr: 0 })).toThrow('SparseAdam: invalid learning rate: 0');
    });
  } finally {
    torch.setDefaultDtype('float32');
  }
});

test('sparse CSR tensors as PyTorch\'s: toSparseCsr parts, sparseCsrTensor, matmul (and its gradient), toDense, printing', () => {
  const want = pythonJson(`
import json, torch
a = torch.tensor([[0, 1.5, 0, 0], [2, 0, 0, 3], [0, 0, 0, 0]], dtype=torch.float64)
c = a.to_sparse_csr()
b = torch.tensor([[1.0, -1], [2, 0.5], [0, 3], [4, 1]], dtype=torch.float64, requires_grad=True)
y = c @ b
y.pow(2).sum().backward()
s = torch.sparse_csr_tensor(torch.tensor([0, 1, 3]), torch.tensor([1, 0, 2]), torch.tensor([1.0, 2, 3]), (2, 3))
print(json.dumps({"crow": c.crow_indices().tolist(), "col": c.col_indices().tolist(), "values": c.values().tolist(), "y": y.tolist(), "gb": b.grad.tolist(),
  "dense": s.to_dense().tolist(), "repr": str(torch.tensor([[0, 1.5, 0, 0], [2, 0, 0, 3], [0, 0, 0, 0]]).to_sparse_csr()), "nnz": c._nnz()}))`);
  torch.tidy(() => {
    const a = torch.tensor([[0, 1.5, 0, 0], [2, 0, 0, 3], [0, 0, 0, 0]], { dtype: 'float64' });
    const c = a.toSparseCsr();
    expect([c.layout, c.isSparseCsr, c.isSparse, c.nnz()]).toEqual(['sparse_csr', true, false, want.nnz]);
    expect([c.crowIndices().tolist(), c.colIndices().tolist(), c.values().tolist()]).toEqual([want.crow, want.col, want.values]);
    const b = torch.tensor([[1, -1], [2, 0.5], [0, 3], [4, 1]], { dtype: 'float64', requiresGrad: true });
    const y = c.matmul(b);
    y.pow(2).sum().backward();
    expect([y.tolist(), b.grad!.tolist()]).toEqual([want.y, want.gb]);
    const s = torch.sparseCsrTensor(torch.tensor([0, 1, 3]), torch.tensor([1, 0, 2]), torch.tensor([1.0, 2, 3]), [2, 3]);
    expect(s.toDense().tolist()).toEqual(want.dense);
    expect(String(torch.tensor([[0, 1.5, 0, 0], [2, 0, 0, 3], [0, 0, 0, 0]]).toSparseCsr())).toBe(want.repr);
    expect(() => c.tolist()).toThrow(/reads dense memory, and this tensor is SparseCsr: use x.toDense\(\)/);
  });
});

test('sparse CSC, BSR and BSC tensors as PyTorch\'s: toSparseCsc / Bsr / Bsc parts, the constructors, toDense, printing', () => {
  const want = pythonJson(`
import json, torch
a = torch.tensor([[0, 1.5, 0, 0], [2, 0, 0, 3], [0, 0, 0, 0], [0, 4, 5, 0]], dtype=torch.float64)
csc, bsr, bsc = a.to_sparse_csc(), a.to_sparse_bsr((2, 2)), a.to_sparse_bsc((2, 2))
f = lambda t: t.tolist()
b = torch.tensor([[1.0, -1], [2, 0.5], [0, 3], [4, 1]], dtype=torch.float64)
try:
    mm = f(bsr.matmul(b))
except RuntimeError as e:
    mm = {"error": str(e).splitlines()[0]}
s = torch.sparse_csc_tensor(torch.tensor([0, 1, 3]), torch.tensor([1, 0, 1]), torch.tensor([1.0, 2, 3]), (2, 2))
r = torch.sparse_bsr_tensor(torch.tensor([0, 1, 1]), torch.tensor([1]), torch.arange(4.).view(1, 2, 2), (4, 4))
c = torch.sparse_bsc_tensor(torch.tensor([0, 0, 1]), torch.tensor([0]), torch.arange(4.).view(1, 2, 2), (4, 4))
x = torch.tensor([[0, 1.5], [2, 0]])
print(json.dumps({"layouts": [str(t.layout).replace('torch.', '') for t in (csc, bsr, bsc)], "nnz": [t._nnz() for t in (csc, bsr, bsc)],
  "csc": [f(csc.ccol_indices()), f(csc.row_indices()), f(csc.values())], "bsr": [f(bsr.crow_indices()), f(bsr.col_indices()), f(bsr.values())],
  "bsc": [f(bsc.ccol_indices()), f(bsc.row_indices()), f(bsc.values())], "dense": [f(t.to_dense()) for t in (csc, bsr, bsc, s, r, c)],
 "mm": mm, "repr": [str(x.to_sparse_csc()), str(x.to_sparse_bsr((1, 1))), str(x.to_sparse_bsc((2, 2)))]}))`);
  torch.tidy(() => {
    const a = torch.tensor([[0, 1.5, 0, 0], [2, 0, 0, 3], [0, 0, 0, 0], [0, 4, 5, 0]], { dtype: 'float64' });
    const [csc, bsr, bsc] = [a.toSparseCsc(), a.toSparseBsr([2, 2]), a.toSparseBsc([2, 2])];
    expect([[csc, bsr, bsc].map((t) => t.layout), [csc, bsr, bsc].map((t) => t.nnz())]).toEqual([want.layouts, want.nnz]);
    expect([csc.ccolIndices().tolist(), csc.rowIndices().tolist(), csc.values().tolist()]).toEqual(want.csc);
    expect([bsr.crowIndices().tolist(), bsr.colIndices().tolist(), bsr.values().tolist()]).toEqual(want.bsr);
    expect([bsc.ccolIndices().tolist(), bsc.rowIndices().tolist(), bsc.values().tolist()]).toEqual(want.bsc);
    const s = torch.sparseCscTensor(torch.tensor([0, 1, 3]), torch.tensor([1, 0, 1]), torch.tensor([1.0, 2, 3]), [2, 2]);
    const r = torch.sparseBsrTensor(torch.tensor([0, 1, 1]), torch.tensor([1]), torch.arange(0, 4, 1, { dtype: 'float32' }).view([1, 2, 2]), [4, 4]);
    const c = torch.sparseBscTensor(torch.tensor([0, 0, 1]), torch.tensor([0]), torch.arange(0, 4, 1, { dtype: 'float32' }).view([1, 2, 2]), [4, 4]);
    expect([csc, bsr, bsc, s, r, c].map((t) => t.toDense().tolist())).toEqual(want.dense);
    const b = torch.tensor([[1, -1], [2, 0.5], [0, 3], [4, 1]], { dtype: 'float64' });
    // (a libtorch without MKL, as Debian's, has no BSR x dense product on the CPU: PyTorch's fails alike)
    if (Array.isArray(want.mm)) expect(bsr.matmul(b).tolist()).toEqual(want.mm);
    else expect(() => bsr.matmul(b)).toThrow(want.mm.error);
    const x = torch.tensor([[0, 1.5], [2, 0]]);
    expect([String(x.toSparseCsc()), String(x.toSparseBsr([1, 1])), String(x.toSparseBsc([2, 2]))]).toEqual(want.repr);
    expect(() => a.toSparseBsr([3, 3])).toThrow(/divisible|blocksize/i);
    // a block size that is not two positive integers: an error (libtorch 1.13 reads past [] and crashes, Python's process too)
    for (const bs of [[], [2], [2, 0], [2, 2, 2], [1.5, 2]]) {
      expect(() => a.toSparseBsc(bs as [number, number])).toThrow(`toSparseBsc: blocksize must be two positive integers [rows, cols], got ${JSON.stringify(bs)}`);
      expect(() => a.toSparseBsr(bs as [number, number])).toThrow(/^toSparseBsr: blocksize must be two positive integers/);
    }
    expect(() => csc.tolist()).toThrow(/reads dense memory, and this tensor is SparseCsc: use x.toDense\(\)/);
  });
});

test('sparseCooTensor takes what PyTorch\'s takes: indices of any integer dtype (int32 edge lists), nested arrays, a dtype the values are converted to; torch.spmm', () => {
  const want = pythonJson<{ a: number[][]; aDtype: string; b: number[][]; bDtype: string; c: number[][]; cDtype: string; spmm: number[][] }>(`
import json, torch
a = torch.sparse_coo_tensor(torch.tensor([[0, 1, 1], [2, 0, 2]], dtype=torch.int32), torch.ones(3), (2, 3), dtype=torch.int64)
b = torch.sparse_coo_tensor([[0, 1], [1, 0]], [3, 4], (2, 2))
c = torch.sparse_coo_tensor([[0, 0], [1, 1]], [1.5, 2.5], (2, 2), dtype=torch.float64)
d = torch.spmm(a.to(torch.float32), torch.arange(6.).view(3, 2))
print(json.dumps({"a": a.to_dense().tolist(), "aDtype": str(a.dtype)[6:], "b": b.to_dense().tolist(), "bDtype": str(b.dtype)[6:], "c": c.to_dense().tolist(), "cDtype": str(c.dtype)[6:], "spmm": d.tolist()}))
`);
  torch.tidy(() => {
    const a = torch.sparseCooTensor(torch.tensor([[0, 1, 1], [2, 0, 2]], { dtype: 'int32' }), torch.ones([3]), [2, 3], { dtype: 'int64' });
    const b = torch.sparseCooTensor([[0, 1], [1, 0]], [3, 4], [2, 2]);
    const c = torch.sparseCooTensor([[0, 0], [1, 1]], [1.5, 2.5], [2, 2], { dtype: 'float64' });
    const d = torch.spmm(a.to('float32'), torch.arange(6, { dtype: 'float32' }).view(3, 2));
    expect({ a: a.toDense().tolist(), aDtype: a.dtype, b: b.toDense().tolist(), bDtype: b.dtype, c: c.toDense().tolist(), cDtype: c.dtype, spmm: d.tolist() }).toEqual(want);
    expect(a.layout).toBe('sparse_coo');
  });
});

test('the kind flags as PyTorch\'s for dense, sparse COO and CSR tensors (isSparse, isSparseCsr, isCuda, isCpu, isMeta, isQuantized, isNested, isMkldnn, isMps)', () => {
  const want = pythonJson<boolean[][]>(`
import json, torch
ts = [torch.randn(2, 3), torch.randn(2, 3).to_sparse(), torch.randn(2, 3).to_sparse_csr(), torch.tensor([1, 2])]
print(json.dumps([[t.is_sparse, t.is_sparse_csr, t.is_cuda, t.is_cpu, t.is_meta, t.is_quantized, t.is_nested, t.is_mkldnn, t.is_mps] for t in ts]))
`);
  torch.tidy(() => {
    const ts = [torch.randn([2, 3]), torch.randn([2, 3]).toSparse(), torch.randn([2, 3]).toSparseCsr(), torch.tensor([1, 2])];
    expect(ts.map((t) => [t.isSparse, t.isSparseCsr, t.isCuda, t.isCpu, t.isMeta, t.isQuantized, t.isNested, t.isMkldnn, t.isMps])).toEqual(want);
  });
});
