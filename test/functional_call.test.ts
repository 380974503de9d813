// torch.func.functionalCall against PyTorch's torch.nn.utils.stateless.functional_call: the same
// module run with a dictionary of other tensors gives the same outputs, gradients reach those
// tensors (not the module's), BatchNorm's running statistics are updated in the given buffers,
// and the module is left exactly as it was. Also: tied weights, and clear errors.
import * as torch from '../lib';
import { pythonJson } from './helpers';

const nn = torch.nn;
/** Deterministic values of a shape, the same on both sides: linspace(-1, 1) * scale. */
const det = (shape: number[], scale = 1) => torch.linspace(-1, 1, shape.reduce((a, b) => a * b, 1), { dtype: 'float64' }).mul(scale).reshape(shape);

test('outputs, gradients and BatchNorm statistics as PyTorch\'s functional_call', () => {
  const want = pythonJson(`
import json, torch
from torch.nn.utils.stateless import functional_call
torch.set_default_dtype(torch.float64)
det = lambda shape, scale=1: (torch.linspace(-1, 1, torch.Size(shape).numel()) * scale).reshape(shape)
m = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.BatchNorm1d(5), torch.nn.Tanh(), torch.nn.Linear(5, 3))
m.load_state_dict({k: det(v.shape, 0.5) + 0.1 for k, v in m.state_dict().items() if v.dtype == torch.float64}, strict=False)
x = det([6, 4], 2)
params = {"0.weight": det([5, 4], 0.7).requires_grad_(), "3.weight": det([3, 5], -0.4).requires_grad_(), "3.bias": det([3], 0.2).requires_grad_()}
bufs = {"1.running_mean": torch.zeros(5), "1.running_var": torch.ones(5)}
out = functional_call(m, {**params, **bufs}, (x,))
out.pow(2).sum().backward()
partial = functional_call(m, {"3.bias": det([3], 3.0)}, x)
m.eval()
evald = functional_call(m, bufs, (x,))
print(json.dumps({"out": out.tolist(), "grads": {k: v.grad.tolist() for k, v in params.items()}, "bufs": {k: v.tolist() for k, v in bufs.items()},
                  "own_mean": m[1].running_mean.tolist(), "partial": partial.tolist(), "eval": evald.tolist(),
                  "own_grad": m[0].weight.grad is None}))
`);
  torch.tidy(() => {
    const m = new nn.Sequential(new nn.Linear(4, 5, { dtype: 'float64' }), new nn.BatchNorm1d(5, { dtype: 'float64' }), new nn.Tanh(), new nn.Linear(5, 3, { dtype: 'float64' }));
    const sd = m.stateDict();
    m.loadStateDict(new Map([...sd].filter(([, v]) => v.dtype === 'float64').map(([k, v]) => [k, det(v.shape, 0.5).add(0.1)])), { strict: false });
    const before = new Map([...m.stateDict()].map(([k, v]) => [k, v.clone()]));
    const x = det([6, 4], 2);
    const params = { '0.weight': det([5, 4], 0.7).requiresGrad_(), '3.weight': det([3, 5], -0.4).requiresGrad_(), '3.bias': det([3], 0.2).requiresGrad_() };
    const bufs = { '1.running_mean': torch.zeros([5], { dtype: 'float64' }), '1.running_var': torch.ones([5], { dtype: 'float64' }) };
    const out = torch.func.functionalCall<torch.Tensor>(m, [params, bufs], [x]);
    out.pow(2).sum().backward();
    const partial = torch.func.functionalCall<torch.Tensor>(m, { '3.bias': det([3], 3) }, x);
    m.eval();
    const evald = torch.func.functionalCall<torch.Tensor>(m, bufs, [x]);
    const got = {
      out: out.tolist(), grads: Object.fromEntries(Object.entries(params).map(([k, v]) => [k, v.grad!.tolist()])),
      bufs: Object.fromEntries(Object.entries(bufs).map(([k, v]) => [k, v.tolist()])),
      own_mean: (m.getBuffer('1.running_mean') as torch.Tensor).tolist(), partial: partial.tolist(), eval: evald.tolist(),
      own_grad: m.getParameter('0.weight').grad === null,
    };
    torch.testing.assertClose(got as never, want, { rtol: 1e-12, atol: 1e-12 });
    // the module's own parameters are back, unchanged (its running statistics moved in the call
    // without given buffers only, as own_mean above shows for PyTorch too)
    for (const [k, v] of m.namedParameters()) expect([k, torch.equal(v, before.get(k)!)]).toEqual([k, true]);
  });
});

test('tied weights follow a replacement under either name; errors are clear; the module is restored after a throw', () => {
  torch.tidy(() => {
    const m = new torch.GPT2LMHeadModel({ vocab_size: 40, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2 });
    m.eval();
    const ids = torch.tensor([[1, 2, 3]]);
    const wte = m.getParameter('transformer.wte.weight');
    const other = torch.randn(wte.shape);
    // With tieWeights (default), lm_head uses the new embedding too: the same as a model whose wte is `other`.
    const tied = torch.func.functionalCall<{ logits: torch.Tensor }>(m, { 'transformer.wte.weight': other }, [ids]).logits;
    const copy = m.deepCopy();
    torch.noGrad(() => copy.getParameter('transformer.wte.weight').copy_(other));
    torch.testing.assertClose(tied, copy.forward(ids).logits);
    const untied = torch.func.functionalCall<{ logits: torch.Tensor }>(m, { 'transformer.wte.weight': other }, [ids], { tieWeights: false }).logits;
    expect(torch.equal(untied, tied)).toBe(false);
    expect(m.getParameter('transformer.wte.weight')).toBe(wte);
    expect(() => torch.func.functionalCall(m, { 'transformer.wte.weight': other, 'lm_head.weight': torch.randn(wte.shape) }, [ids]))
      .toThrow("functionalCall: 'transformer.wte.weight' and 'lm_head.weight' are tied, but were given different tensors");
    expect(() => torch.func.functionalCall(m, { 'transformer.nope': other }, [ids])).toThrow("functionalCall: GPT2LMHeadModel has no parameter or buffer 'transformer.nope' (names are stateDict's)");
    expect(() => torch.func.functionalCall(m, { 'lm_head.weight': other }, [ids], { strict: true })).toThrow(/functionalCall \(strict\): missing .*'transformer.wpe.weight'/);
    const lin = new nn.Linear(3, 2);
    const w = lin.weight;
    expect(() => torch.func.functionalCall(lin, { weight: torch.randn([5, 5]) }, [torch.randn([1, 3])])).toThrow();
    expect(lin.weight).toBe(w);
    m.dispose();
    copy.dispose();
  });
});
