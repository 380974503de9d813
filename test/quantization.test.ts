// Dynamic quantization against PyTorch's torch.ao.quantization.quantize_dynamic: the same int8
// weights (per-tensor symmetric scale), the same outputs on the same quantized engine; GPT-2 with
// its Conv1D layers quantized stays close to the float model.
import * as torch from '../lib';
import { pythonJson } from './helpers';

const Q = torch.nn.quantization;

test('quantizeDynamic(Linear) gives PyTorch\'s quantize_dynamic outputs, scales and int8 weights', () => {
  torch.manualSeed(1);
  const net = new torch.nn.Sequential(new torch.nn.Linear(16, 8), new torch.nn.ReLU(), new torch.nn.Linear(8, 4, { bias: false }));
  const x = torch.randn([5, 16]).mul(2);
  const state = Object.fromEntries([...net.stateDict()].map(([k, v]) => [k, v.tolist()]));
  const want = pythonJson(`
import json, sys, torch
import torch.nn as nn
a = json.loads(sys.argv[1])
net = nn.Sequential(nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 4, bias=False))
net.load_state_dict({k: torch.tensor(v) for k, v in a['state'].items()})
q = torch.ao.quantization.quantize_dynamic(net, {nn.Linear}, dtype=torch.qint8)
x = torch.tensor(a['x'])
w0 = q[0].weight()
print(json.dumps({"engine": torch.backends.quantized.engine, "y": q(x).tolist(), "scales": [q[0].weight().q_scale(), q[2].weight().q_scale()], "w0": w0.dequantize().tolist()}))`,
  JSON.stringify({ state, x: x.tolist() }));
  const q = Q.quantizeDynamic(net);
  expect(Q.quantizedEngine()).toBe(want.engine);
  const layers = [q.items[0], q.items[2]] as torch.nn.quantization.DynamicQuantizedLinear[];
  expect(layers.map((l) => l instanceof Q.DynamicQuantizedLinear)).toEqual([true, true]);
  torch.testing.assertClose(layers.map((l) => l.scale), want.scales, { rtol: 1e-7, atol: 0 });
  torch.tidy(() => {
    torch.testing.assertClose(layers[0].weightAndBias().weight.tolist() as never, want.w0, { rtol: 0, atol: 1e-7 });
    torch.testing.assertClose(q.forward(x).tolist() as never, want.y, { rtol: 1e-5, atol: 1e-6 });
    // close to the float network (int8 weights, uint8 activations)
    const err = q.forward(x).sub(net.forward(x)).abs().max().item() as number;
    expect(err).toBeLessThan(0.05);
    expect(() => q.forward(torch.randn([2, 3]))).toThrow(/the input's last dim is 3/);
    expect(() => q.forward(x.double())).toThrow(/takes float32 input/);
  });
  expect(net.items[0]).toBeInstanceOf(torch.nn.Linear); // (a copy was quantized)
  [net, q, x].forEach((t) => t.dispose());
});

test('GPT-2 with its Conv1D and lm_head layers dynamically quantized keeps its loss within 2%', () => {
  torch.manualSeed(3);
  const model = new torch.GPT2LMHeadModel({ vocab_size: 96, n_positions: 32, n_embd: 32, n_layer: 2, n_head: 2 });
  model.eval();
  const ids = torch.randint(0, 96, [2, 16]);
  const q = Q.quantizeDynamic(model, { types: ['Linear', 'Conv1D'] });
  const quantized = [...q.namedModules()].filter(([, m]) => m instanceof Q.DynamicQuantizedLinear).length;
  expect(quantized).toBe(2 * 4 + 1); // c_attn, c_proj, c_fc, mlp c_proj per block, and lm_head
  torch.tidy(() => {
    const lf = model.forward(ids, { labels: ids }).loss!.item() as number;
    const lq = q.forward(ids, { labels: ids }).loss!.item() as number;
    expect(Math.abs(lq - lf) / lf).toBeLessThan(0.02);
  });
  [model, q, ids].forEach((t) => t.dispose());
});
