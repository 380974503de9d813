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
