// LoRA on nn.Linear layers (PEFT's LoraLayer for Linear; GPT-2's Conv1D is tested in lora.test.ts):
// a TransformerEncoderLayer with linear1, linear2 and the attention's out_proj adapted, against
// scripts/reference/lora_linear_ref.py, which computes the same math by another route (merged
// weights W + s·B·A through functional_call): outputs and the gradients of A, B (and DoRA's m)
// within 1e-10 (float64). Then merge, unload, adapters saved and loaded back.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as torch from '../lib';
import { referenceTensors } from './helpers';

const nn = torch.nn;
type T = torch.Tensor;
const err = (a: T, b: T) => torch.tidy(() => (a.sub(b).abs().max().item() as number) / Math.max(b.abs().max().item() as number, 1e-12));

function makeLayer(): torch.nn.TransformerEncoderLayer {
  torch.setDefaultDtype('float64');
  torch.manualSeed(4);
  const layer = new nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 16, dropout: 0 });
  torch.setDefaultDtype('float32');
  return layer;
}

describe.each([false, true])('LoRA on nn.Linear (useDora %s)', (useDora) => {
  const targets = ['linear1', 'linear2', 'self_attn.out_proj'];
  test('forward and gradients as the merged-weight form in PyTorch; merge, unload, save and load', async () => {
    const layer = makeLayer();
    const base = new Map([...layer.stateDict()].map(([k, v]) => [k, v.clone()]));
    torch.lora.applyLoRA(layer, { r: 3, alpha: 6, dropout: 0, targetModules: ['linear1', 'linear2', 'out_proj'], useDora });
    const lora = torch.lora.loraLayers(layer);
    expect(lora.map(([n]) => n)).toEqual(['self_attn.out_proj', 'linear1', 'linear2']);
    expect(lora.every(([, l]) => !l.fanInFanOut)).toBe(true);
    // B starts at zero; make it (and DoRA's m) something, so the update shows.
    torch.noGrad(() => lora.forEach(([, l]) => {
      l.lora_B.weight.normal_(0, 0.3);
      if (useDora) l.lora_magnitude_vector.mul_(torch.tidy(() => torch.rand(l.lora_magnitude_vector.shape, { dtype: 'float64' }).add(0.5)));
    }));
    // Only the adapter trains.
    expect(layer.namedParameters({ trainableOnly: true }).map(([n]) => n).every((n) => /lora_[AB]\.weight$|lora_magnitude_vector$/.test(n))).toBe(true);
    torch.manualSeed(9);
    const x = torch.randn([5, 3, 8], { dtype: 'float64' });
    const tensors = new Map<string, T>([...base, ['x', x]]);
    for (const [n, l] of lora) {
      tensors.set(`lora.${n}.lora_A`, l.lora_A.weight);
      tensors.set(`lora.${n}.lora_B`, l.lora_B.weight);
      if (useDora) tensors.set(`lora.${n}.m`, l.lora_magnitude_vector);
    }
    const want = referenceTensors('lora_linear_ref.py', { targets, scaling: 2, dora: useDora }, tensors);

    const out = layer.forward(x);
    expect(err(out, want.get('out')!)).toBeLessThan(1e-10);
    torch.tidy(() => out.mul(want.get('w')!).sum().backward());
    for (const [n, l] of lora) {
      expect([n, 'A', err(l.lora_A.weight.grad!, want.get(`grad.${n}.lora_A`)!) < 1e-10]).toEqual([n, 'A', true]);
      expect([n, 'B', err(l.lora_B.weight.grad!, want.get(`grad.${n}.lora_B`)!) < 1e-10]).toEqual([n, 'B', true]);
      if (useDora) expect([n, 'm', err(l.lora_magnitude_vector.grad!, want.get(`grad.${n}.m`)!) < 1e-10]).toEqual([n, 'm', true]);
    }
    // The base weights are frozen and untouched by the adapter.
    for (const [n, l] of lora) expect([n, l.base.weight.requiresGrad]).toEqual([n, false]);

    // Save, then load into a fresh layer: the same output.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-lora-linear-'));
    await torch.lora.saveAdapter(layer, dir);
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'adapter_config.json'), 'utf8'));
    expect(config.fan_in_fan_out).toBe(false);
    expect(config.use_dora).toBe(useDora);
    const fresh = makeLayer();
    await torch.lora.loadAdapter(fresh, dir);
    const again = torch.noGrad(() => fresh.forward(x));
    expect(err(again, out.detach())).toBeLessThan(1e-12);
    // Merge folds the update into the Linear weights (row-wise magnitude for DoRA); unload gives plain Linears.
    torch.lora.merge(fresh);
    const merged = torch.noGrad(() => fresh.forward(x));
    expect(err(merged, out.detach())).toBeLessThan(1e-10);
    torch.lora.unmerge(fresh);
    expect(err(torch.noGrad(() => fresh.forward(x)), out.detach())).toBeLessThan(1e-10);
    torch.lora.mergeAndUnload(fresh);
    expect(fresh.linear1).toBeInstanceOf(nn.Linear);
    expect(fresh.self_attn.out_proj).toBeInstanceOf(nn.Linear);
    expect(err(torch.noGrad(() => fresh.forward(x)), out.detach())).toBeLessThan(1e-10);
    fs.rmSync(dir, { recursive: true, force: true });
    layer.dispose();
    fresh.dispose();
  });
});

test("'all-linear' on a model of nn.Linear layers takes every Linear but lm_head; seed mode refuses Linear", () => {
  const layer = makeLayer();
  torch.lora.applyLoRA(layer, { targetModules: 'all-linear' });
  expect(torch.lora.loraLayers(layer).map(([n]) => n)).toEqual(['self_attn.out_proj', 'linear1', 'linear2']);
  expect(torch.lora.loraConfig(layer)!.targetModules).toEqual(['out_proj', 'linear1', 'linear2']);
  // GPT-2: 'all-linear' is its Conv1D layers; lm_head (a Linear tied to the embeddings) stays out.
  torch.manualSeed(0);
  const gpt = new torch.GPT2LMHeadModel({ vocab_size: 50, n_positions: 16, n_embd: 8, n_layer: 1, n_head: 2 });
  torch.lora.applyLoRA(gpt, { targetModules: 'all-linear' });
  expect(torch.lora.loraLayers(gpt).map(([n]) => n.split('.').pop())).toEqual(['c_attn', 'c_proj', 'c_fc', 'c_proj']);
  expect(() => torch.lora.applyLoRA(makeLayer(), { mode: 'seed', targetModules: ['linear1'] })).toThrow(/seed mode .* wraps Conv1D layers only/);
  layer.dispose();
  gpt.dispose();
});
