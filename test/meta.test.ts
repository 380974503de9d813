// The meta device (shapes and dtypes without memory), loadStateDict's assign, skipInit, and
// fromPretrained built on them (a model built on meta takes the checkpoint's tensors as they are:
// nothing drawn, nothing copied), checked against PyTorch where it has the same thing.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as torch from '../lib';
import { pythonJson, saveTinyGpt2 } from './helpers';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-meta-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const onMeta = <T>(fn: () => T): T => torch.withDefaultDevice('meta', fn);

test("meta tensors: shapes, dtypes and repr as PyTorch's, and a clear error where values are read", () => {
  const want = pythonJson<{ reprs: string[]; shapes: number[][]; lin: number[][]; device: string }>(`
import json, torch
x = torch.empty(3, 4, device='meta')
i = torch.empty(2, dtype=torch.int64, device='meta')
y = x @ torch.empty(4, 5, device='meta')
z = torch.cat([x, x]).softmax(-1).sum(0)
lin = torch.nn.Linear(3, 2, device='meta')
print(json.dumps({'reprs': [repr(x), repr(i), repr(torch.empty(0, device='meta'))], 'shapes': [list(y.shape), list(z.shape)],
  'lin': [list(p.shape) for p in lin.parameters()], 'device': str(lin.weight.device)}))`);
  torch.tidy(() => {
    const x = torch.empty([3, 4], { device: 'meta' });
    const i = torch.empty([2], { dtype: 'int64', device: torch.device('meta') });
    const y = x.matmul(torch.empty([4, 5], { device: 'meta' }));
    const z = torch.cat([x, x]).softmax(-1).sum(0);
    expect([x, i, torch.empty([0], { device: 'meta' })].map((t) => t.toString())).toEqual(want.reprs);
    expect([y.shape, z.shape]).toEqual(want.shapes);
    expect([y.device, y.dtype, y.numel(), y.isMeta, y.isCpu, torch.ones([1]).isMeta]).toEqual(['meta', 'float32', 15, true, false, false]);
    const lin = onMeta(() => new torch.nn.Linear(3, 2));
    expect(lin.parameters().map((p) => p.shape)).toEqual(want.lin);
    expect(lin.weight.device).toBe(want.device);
    expect(lin.numParameters()).toBe(8);
    expect(torch.getDefaultDevice()).toBe('cpu'); // (withDefaultDevice restored it)
    for (const read of [() => x.tolist(), () => x.sum().item(), () => x.data()]) expect(read).toThrow(/on the meta device: it has a shape and a dtype but no memory/);
    lin.dispose();
  });
  expect(() => torch.device('meta', 0)).toThrow("'meta' takes no index");
});

test('skipInit: nothing drawn, uninitialised memory of the right shapes, on the device asked (PyTorch\'s skip_init)', () => {
  const want = pythonJson<{ after: number[]; shapes: number[][]; dtype: string }>(`
import json, torch
from torch.nn.utils import skip_init
torch.manual_seed(3)
m = skip_init(torch.nn.Linear, 5, 3, dtype=torch.float64)
print(json.dumps({'after': torch.randn(4).tolist(), 'shapes': [list(p.shape) for p in m.parameters()], 'dtype': str(m.weight.dtype)}))`);
  torch.manualSeed(3);
  const m = torch.nn.utils.skipInit(torch.nn.Linear, 5, 3, { dtype: 'float64' });
  const after = torch.randn([4]);
  expect(after.tolist() as number[]).toEqual(want.after.map((v) => Math.fround(v)));
  expect(m.parameters().map((p) => p.shape)).toEqual(want.shapes);
  expect(`torch.${m.weight.dtype}`).toBe(want.dtype);
  expect([m.weight.device, m.weight.requiresGrad, m.weight instanceof torch.nn.Parameter]).toEqual(['cpu', true, true]);
  // the weights are memory to fill: an init or a load makes the layer usable
  torch.nn.init.ones_(m.weight);
  torch.nn.init.zeros_(m.bias!);
  expect(m.forward(torch.ones([1, 5], { dtype: 'float64' })).tolist()).toEqual([[5, 5, 5]]);
  expect(() => torch.nn.utils.skipInit((() => 1) as never)).toThrow('give a Module class');
  after.dispose();
  m.dispose();
});

test('skipInit on GPT-2, then a plain loadStateDict: the same logits as the model it loaded from (the causal mask, derived, is built again)', () => {
  const config = { vocab_size: 50, n_positions: 16, n_embd: 8, n_layer: 2, n_head: 2 };
  torch.manualSeed(2);
  const real = new torch.GPT2LMHeadModel(config).eval();
  const empty = torch.nn.utils.skipInit(torch.GPT2LMHeadModel, config).eval();
  expect(empty.lm_head.weight).toBe(empty.transformer.wte.weight);
  empty.loadStateDict(real.stateDict());
  torch.tidy(() => {
    const ids = torch.tensor([[3, 14, 15, 9, 26, 5]]);
    const want = real.forward(ids).logits, got = empty.forward(ids).logits;
    expect(got.sub(want).abs().max().item()).toBe(0);
    expect(empty.transformer.causalMask.equal(real.transformer.causalMask)).toBe(true);
  });
  [real, empty].forEach((m) => m.dispose());
});

test('Module.to / toEmpty to and from the meta device: new tensors in the old ones\' places, ties kept', () => {
  const before = torch.memory().liveTensors;
  const model = new torch.GPT2LMHeadModel({ vocab_size: 40, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2 });
  model.transformer.h.items[0].ln_1.weight.requiresGrad_(false);
  const n = model.stateDict().size;
  model.to({ device: 'meta' });
  expect(new Set(model.parameters().map((p) => p.device))).toEqual(new Set(['meta']));
  expect(model.lm_head.weight).toBe(model.transformer.wte.weight);
  expect(model.transformer.h.items[0].ln_1.weight.requiresGrad).toBe(false);
  model.toEmpty({ device: 'cpu' });
  expect(new Set([...model.stateDict().values()].map((p) => p.device))).toEqual(new Set(['cpu']));
  expect([model.lm_head.weight === model.transformer.wte.weight, model.stateDict().size, model.transformer.h.items[0].ln_1.weight.requiresGrad]).toEqual([true, n, false]);
  model.dispose();
  expect(torch.memory().liveTensors).toBe(before); // the replaced tensors were freed
});

test('loadStateDict with assign: the module takes the tensors themselves (memory, dtype), parameters keep requiresGrad, ties stay, the old ones are freed', () => {
  const before = torch.memory().liveTensors;
  torch.tidy(() => assignChecks());
  expect(torch.memory().liveTensors).toBe(before);
});

function assignChecks(): void {
  torch.manualSeed(1);
  const real = new torch.nn.Sequential(new torch.nn.Linear(4, 3), new torch.nn.ReLU(), new torch.nn.Linear(3, 2));
  const state = new Map([...real.stateDict()].map(([k, v]) => [k, v.detach().to({ dtype: 'float64' })]));
  const x = torch.randn([5, 4], { dtype: 'float64' });
  const want = torch.noGrad(() => real.to({ dtype: 'float64' }).forward(x));

  const model = onMeta(() => new torch.nn.Sequential(new torch.nn.Linear(4, 3), new torch.nn.ReLU(), new torch.nn.Linear(3, 2)));
  (model.get(2) as torch.nn.Linear).bias!.requiresGrad_(false);
  // a wrong shape or a missing name changes nothing (checked before any tensor is taken)
  const bad = new Map(state);
  bad.set('2.weight', torch.zeros([3, 3], { dtype: 'float64' }));
  expect(() => model.loadStateDict(bad, { assign: true })).toThrow("'2.weight' has shape [3,3] in the checkpoint, [2,3] in the model");
  expect(new Set(model.parameters().map((p) => p.device))).toEqual(new Set(['meta']));
  const missing = new Map(state);
  missing.delete('0.bias');
  expect(() => model.loadStateDict(missing, { assign: true })).toThrow('missing keys: 0.bias');
  bad.get('2.weight')!.dispose();

  model.loadStateDict(state, { assign: true });
  for (const [k, p] of model.stateDict()) {
    expect([k, p.dtype, p.device, p.dataPtr()]).toEqual([k, 'float64', 'cpu', state.get(k)!.dataPtr()]);
    expect(p instanceof torch.nn.Parameter).toBe(true);
  }
  expect(model.parameters().map((p) => p.requiresGrad)).toEqual([true, true, true, false]);
  for (const t of state.values()) t.dispose(); // the caller's handles: the module keeps its own
  expect(torch.noGrad(() => model.forward(x)).sub(want).abs().max().item()).toBe(0);
  // positionally too (PyTorch's load_state_dict(sd, strict, assign)); a tie given one tensor stays one
  const tied = new torch.GPT2LMHeadModel({ vocab_size: 40, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2 });
  const sd = new Map([...tied.stateDict()].map(([k, v]) => [k, v.detach().clone()]));
  sd.set('lm_head.weight', sd.get('transformer.wte.weight')!);
  const meta = onMeta(() => new torch.GPT2LMHeadModel({ vocab_size: 40, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2 }));
  meta.loadStateDict(sd, true, true);
  expect(meta.lm_head.weight).toBe(meta.transformer.wte.weight);
  expect(meta.transformer.wte.weight.dataPtr()).toBe(sd.get('transformer.wte.weight')!.dataPtr());
  // a tie given two different tensors: still one tensor, holding the later one's values (as a copy would)
  const other = torch.randn([40, 8]);
  sd.set('lm_head.weight', other);
  meta.loadStateDict(sd, { assign: true });
  expect(meta.lm_head.weight).toBe(meta.transformer.wte.weight);
  expect(meta.lm_head.weight.sub(other).abs().max().item()).toBe(0);
  for (const t of new Set(sd.values())) t.dispose();
  for (const t of [x, want]) t.dispose();
  [real, model, tied, meta].forEach((m) => m.dispose());
}

describe('fromPretrained on the meta device', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await saveTinyGpt2(path.join(tmp, 'tiny'), { n_layer: 2 });
  });

  test('the weights are the file\'s, nothing is drawn from the RNG (as HF\'s from_pretrained), nothing leaks', async () => {
    const want = pythonJson<number[]>(`
import json, torch
torch.manual_seed(5)
print(json.dumps(torch.randn(6).tolist()))`);
    const file = torch.io.safetensors.loadFile(path.join(dir, 'model.safetensors')).tensors;
    const before = torch.memory().liveTensors;
    torch.manualSeed(5);
    const model = await torch.GPT2LMHeadModel.fromPretrained(dir);
    expect(torch.tidy(() => torch.randn([6]).tolist())).toEqual(want.map((v) => Math.fround(v)));
    for (const [k, t] of file) {
      const name = k.startsWith('transformer.') ? k : `transformer.${k}`;
      expect([k, torch.tidy(() => model.getParameter(name).sub(t).abs().max().item())]).toEqual([k, 0]);
    }
    expect(model.lm_head.weight).toBe(model.transformer.wte.weight);
    expect(model.transformer.causalMask.device).toBe('cpu');
    expect(torch.tidy(() => model.transformer.causalMask.sum().item())).toBe((64 * 65) / 2);
    model.dispose();
    expect(torch.memory().liveTensors).toBe(before);
    for (const t of file.values()) t.dispose();
  });

  test('a bfloat16 folder loads as float32 unless a dtype is asked (HF\'s torch_dtype)', async () => {
    const m = await torch.GPT2LMHeadModel.fromPretrained(dir);
    m.to({ dtype: 'bfloat16' });
    const bf = path.join(tmp, 'bf16');
    await m.savePretrained(bf);
    const f32 = await torch.GPT2LMHeadModel.fromPretrained(bf);
    const kept = await torch.GPT2LMHeadModel.fromPretrained(bf, { dtype: 'bfloat16' });
    for (const [k, t] of m.stateDict()) {
      expect([k, f32.getParameter(k).dtype, kept.getParameter(k).dtype]).toEqual([k, 'float32', 'bfloat16']);
      expect(torch.tidy(() => f32.getParameter(k).sub(t.float()).abs().max().item())).toBe(0);
    }
    [m, f32, kept].forEach((x) => x.dispose());
  });

  test('the weight loaders cast floating tensors as they read them (dtype), integer ones left as they are; fromPretrained reads so', async () => {
    const m = await torch.GPT2LMHeadModel.fromPretrained(dir);
    const pt = path.join(tmp, 'weights.pt'), st = path.join(tmp, 'weights.safetensors');
    const state = new Map([...m.stateDict()].filter(([k]) => k !== 'lm_head.weight'));
    state.set('step', torch.tensor([7], { dtype: 'int64' }));
    torch.save(state, pt);
    torch.save(state, st);
    for (const read of [() => torch.io.loadTorchFile(pt, { dtype: 'float64' }).tensors, () => torch.io.safetensors.loadFile(st, { dtype: 'float64' }).tensors]) {
      const got = read();
      expect(got.get('step')!.dtype).toBe('int64');
      for (const [k, t] of state) {
        if (k === 'step') continue;
        expect([k, got.get(k)!.dtype, torch.tidy(() => got.get(k)!.sub(t.double()).abs().max().item())]).toEqual([k, 'float64', 0]);
      }
      for (const t of got.values()) t.dispose();
    }
    state.get('step')!.dispose();
    const bf = await torch.GPT2LMHeadModel.fromPretrained(dir, { dtype: 'bfloat16' });
    for (const [k, t] of m.stateDict()) expect([k, torch.tidy(() => bf.getParameter(k).float().sub(t.bfloat16().float()).abs().max().item())]).toEqual([k, 0]);
    [m, bf].forEach((x) => x.dispose());
  });

  test('a classifier from a language model\'s folder: only the new head is drawn, N(0, 0.02) from the current seed (as HF\'s fast init)', async () => {
    const want = pythonJson<number[][]>(`
import json, torch
torch.manual_seed(7)
print(json.dumps(torch.empty(3, 16).normal_(0, 0.02).tolist()))`);
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
    torch.manualSeed(7);
    const clf = await torch.GPT2ForSequenceClassification.fromPretrained(dir, { numLabels: 3 });
    expect(warn.mock.calls.join()).toMatch('has no score.weight');
    warn.mockRestore();
    const got = clf.score.weight.tolist() as number[][];
    got.forEach((row, i) => row.forEach((v, j) => expect(Math.abs(v - want[i][j])).toBeLessThan(1e-8)));
    expect([clf.score.weight.device, clf.score.weight.requiresGrad, clf.transformer.causalMask.device]).toEqual(['cpu', true, 'cpu']);
    clf.dispose();
  });
});
