// LoRA: shapes and init per mode, freezing, adapters (ours and Python's), merge, errors.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as torch from '../lib';
import { fixtures, referenceTensors, relErr } from './helpers';

const base = path.join(fixtures, 'gpt2', 'tiny');
let tmp: string;
beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-lora-')); });
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const ids = () => torch.tensor([[5, 17, 42, 8, 9, 10, 11, 3], [1, 2, 3, 4, 5, 6, 7, 8]], { dtype: 'int64' });

/** The model's logits, loss (labels = ids) and every saved adapter tensor's gradient against the reference's (peft_interop.py's output). */
function expectLikeReference(m: torch.GPT2LMHeadModel, py: Map<string, torch.Tensor>, saved: Iterable<string>) {
  const res = m.forward(ids(), { labels: ids() });
  expect(relErr(res.logits, py.get('logits')!)).toBeLessThan(1e-5);
  expect(Math.abs((res.loss!.item() as number) - (py.get('loss')!.item() as number))).toBeLessThan(1e-5);
  res.loss!.backward();
  const own = new Map(m.namedParameters());
  for (const key of saved) expect(relErr(own.get(key.slice('base_model.model.'.length))!.grad!, py.get(`grad.${key}`)!)).toBeLessThan(1e-4);
  return res;
}

function randomizeLora(model: torch.GPT2LMHeadModel, seed = 1) {
  torch.manualSeed(seed);
  torch.noGrad(() => { for (const [n, p] of model.namedParameters()) if (/lora_B|W_B/.test(n)) p.normal_(0, 0.05); });
}

test('peft mode: shapes, init, scaling, only LoRA trainable, PEFT counts line', async () => {
  const m = await torch.GPT2LMHeadModel.fromPretrained(base);
  const before = torch.tidy(() => torch.noGrad(() => m.forward(ids()).logits));
  torch.lora.applyLoRA(m, { r: 4, alpha: 8, targetModules: ['c_attn', 'mlp.c_proj'] });
  const layers = torch.lora.loraLayers(m);
  expect(layers.map(([n]) => n)).toEqual(['transformer.h.0.attn.c_attn', 'transformer.h.0.mlp.c_proj', 'transformer.h.1.attn.c_attn', 'transformer.h.1.mlp.c_proj']);
  const l = layers[0][1];
  expect(l.lora_A.weight.shape).toEqual([4, 32]);
  expect(l.lora_B.weight.shape).toEqual([96, 4]);
  expect(l.scaling).toBe(2);
  expect(l.lora_B.weight.abs().sum().item()).toBe(0);
  const bound = 1 / Math.sqrt(32); // kaiming_uniform(a=sqrt(5)) on fan_in 32
  expect(l.lora_A.weight.abs().max().item()).toBeLessThanOrEqual(bound);
  expect(m.namedParameters({ trainableOnly: true }).every(([n]) => /lora_[AB]/.test(n))).toBe(true);
  // B = 0: the wrapped model computes what the base did.
  const after = torch.tidy(() => torch.noGrad(() => m.forward(ids()).logits));
  expect(relErr(after, before)).toBe(0);
  const trainable = 2 * (4 * 32 + 96 * 4 + 4 * 128 + 32 * 4);
  expect(torch.lora.trainableParametersLine(m)).toBe(
    `trainable params: ${trainable.toLocaleString('en-US')} || all params: ${m.numParameters().toLocaleString('en-US')} || trainable%: ${((100 * trainable) / m.numParameters()).toFixed(4)}`);
  expect(torch.lora.applyLoRA.bind(null, m)).toThrow(/already has LoRA/);
  m.dispose();
});

test('peft forward is base(x) + lora_B(lora_A(x)) * scaling, in fp32 and under bf16 autocast, with gradients', async () => {
  const m = await torch.GPT2LMHeadModel.fromPretrained(base);
  torch.lora.applyLoRA(m, { r: 4, alpha: 8, dropout: 0 });
  randomizeLora(m);
  const [, layer] = torch.lora.loraLayers(m)[0];
  torch.tidy(() => {
    const x = torch.randn([2, 3, layer.inFeatures], { requiresGrad: true });
    // The unfused formula, op by op, as PEFT writes it.
    const ref = layer.base_layer.forward(x).add(
      torch.nn.functional.linear(torch.nn.functional.linear(x, layer.lora_A.weight), layer.lora_B.weight).mul(layer.scaling));
    const y = layer.forward(x);
    expect(y.shape).toEqual([2, 3, layer.outFeatures]);
    expect(relErr(y, ref)).toBeLessThan(1e-6);
    y.sum().backward();
    const [gx, gA, gB] = [x.grad!.clone(), layer.lora_A.weight.grad!.clone(), layer.lora_B.weight.grad!.clone()];
    x.grad = null; m.zeroGrad();
    ref.sum().backward();
    expect(relErr(gx, x.grad!)).toBeLessThan(1e-6);
    expect(relErr(gA, layer.lora_A.weight.grad!)).toBeLessThan(1e-6);
    expect(relErr(gB, layer.lora_B.weight.grad!)).toBeLessThan(1e-6);
    m.zeroGrad();
    const low = torch.autocast(() => layer.forward(x), { deviceType: 'cpu', dtype: 'bfloat16' });
    expect(low.dtype).toBe('bfloat16');
    expect(relErr(low, ref)).toBeLessThan(2e-2);
    low.float().sum().backward();
    expect(relErr(layer.lora_B.weight.grad!, gB)).toBeLessThan(5e-2);
  });
  m.dispose();
});

test('seed mode: the notebook shapes, and its trainable set (embeddings, LayerNorms, biases stay trainable)', async () => {
  const m = await torch.GPT2LMHeadModel.fromPretrained(base);
  torch.lora.applyLoRA(m, { mode: 'seed', r: 2 });
  const l = torch.lora.loraLayers(m)[0][1];
  expect(l.W_A.shape).toEqual([2, 96]); // (r, Conv1D nf): the notebook reads (nx, nf) as (out, in)
  expect(l.W_B.shape).toEqual([32, 2]);
  const trainable = m.namedParameters({ trainableOnly: true }).map(([n]) => n);
  expect(trainable).toContain('transformer.wte.weight');
  expect(trainable).toContain('transformer.h.0.ln_1.weight');
  expect(trainable).not.toContain('transformer.h.0.attn.c_attn.base_module.weight');
  expect(trainable).not.toContain('transformer.h.0.attn.c_attn.base_module.bias');
  m.dispose();
});

test('bias modes and modulesToSave', async () => {
  const m = await torch.GPT2LMHeadModel.fromPretrained(base);
  torch.lora.applyLoRA(m, { r: 2, bias: 'lora_only', modulesToSave: ['ln_f'] });
  const t = m.namedParameters({ trainableOnly: true }).map(([n]) => n);
  expect(t).toContain('transformer.h.0.attn.c_attn.base_layer.bias');
  expect(t).not.toContain('transformer.h.0.ln_1.bias');
  expect(t).toContain('transformer.ln_f.weight');
  expect(t).toContain('transformer.ln_f.bias');
  // the whole module to save goes into the file, its bias too (PEFT's modules_to_save), and comes back
  torch.noGrad(() => { m.transformer.ln_f.bias.add_(0.5); m.transformer.ln_f.weight.mul_(1.5); });
  const saved = torch.lora.adapterStateDict(m);
  expect([...saved.keys()].filter((k) => k.includes('ln_f'))).toEqual(['base_model.model.transformer.ln_f.weight', 'base_model.model.transformer.ln_f.bias']);
  const dir = path.join(tmp, 'modules-to-save');
  await torch.lora.saveAdapter(m, dir);
  const back = await torch.lora.loadAdapter(await torch.GPT2LMHeadModel.fromPretrained(base), dir);
  expect(relErr(back.transformer.ln_f.bias, m.transformer.ln_f.bias)).toBe(0);
  // an adapter from before the bias was saved: loads, the base's bias kept, with a warning
  const file = torch.io.safetensors.loadFile(path.join(dir, 'adapter_model.safetensors')).tensors;
  file.delete('base_model.model.transformer.ln_f.bias');
  torch.io.safetensors.saveFile(path.join(dir, 'adapter_model.safetensors'), file);
  const warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
  const old = await torch.lora.loadAdapter(await torch.GPT2LMHeadModel.fromPretrained(base), dir);
  expect(warn.mock.calls[0][0]).toMatch(/has no base_model.model.transformer.ln_f.bias .*the base's are kept/);
  warn.mockRestore();
  expect(relErr(old.transformer.ln_f.weight, m.transformer.ln_f.weight)).toBe(0);
  m.dispose(); back.dispose(); old.dispose();
  // GPT-2's lm_head is wte's weight: PEFT trains an untied copy of a module to save, which this model cannot hold
  for (const t of ['lm_head', 'wte']) {
    const tied = await torch.GPT2LMHeadModel.fromPretrained(base);
    expect(() => torch.lora.applyLoRA(tied, { r: 2, modulesToSave: [t] })).toThrow(/transformer\.wte\.weight and lm_head\.weight are one tensor \(tied\)/);
    expect(tied.namedParameters({ trainableOnly: true })).toHaveLength(tied.namedParameters().length); // (untouched: nothing frozen)
    tied.dispose();
  }
  const a = await torch.GPT2LMHeadModel.fromPretrained(base);
  torch.lora.applyLoRA(a, { r: 2, bias: 'all' });
  expect(a.namedParameters({ trainableOnly: true }).map(([n]) => n)).toContain('transformer.h.0.ln_1.bias');
  a.dispose();
});

test('targetModules as PEFT takes them: \'all-linear\' (every Conv1D, saved as the names) and a regular expression on the whole name (saved as is, loaded back)', async () => {
  const all = await torch.GPT2LMHeadModel.fromPretrained(base);
  torch.lora.applyLoRA(all, { r: 2, targetModules: 'all-linear' });
  expect(torch.lora.loraLayers(all).length).toBe(2 * 4); // c_attn, attn.c_proj, c_fc, mlp.c_proj in each block
  expect(torch.lora.adapterConfigJson(all).target_modules).toEqual(['c_attn', 'c_proj', 'c_fc']);
  const re = await torch.GPT2LMHeadModel.fromPretrained(base);
  const pattern = '.*\\.h\\.1\\.(attn\\.c_attn|mlp\\.c_fc)';
  torch.lora.applyLoRA(re, { r: 2, targetModules: pattern });
  randomizeLora(re);
  expect(torch.lora.loraLayers(re).map(([n]) => n)).toEqual(['transformer.h.1.attn.c_attn', 'transformer.h.1.mlp.c_fc']);
  // A full match, as PEFT's re.fullmatch: a pattern that matches only part of a name selects nothing.
  expect(() => torch.lora.applyLoRA(new torch.GPT2LMHeadModel({ n_layer: 1, n_embd: 8, n_head: 2, vocab_size: 10, n_positions: 8 }), { targetModules: 'c_attn' + '|h\\.0' }))
    .toThrow(/no Conv1D matches targetModules 'c_attn\|h\\\.0'/);
  expect(() => torch.lora.applyLoRA(new torch.GPT2LMHeadModel({ n_layer: 1, n_embd: 8, n_head: 2, vocab_size: 10, n_positions: 8 }), { targetModules: '(' }))
    .toThrow(/not a valid regular expression/);
  const dir = path.join(tmp, 'regex-adapter');
  await torch.lora.saveAdapter(re, dir);
  expect(JSON.parse(fs.readFileSync(path.join(dir, 'adapter_config.json'), 'utf8')).target_modules).toBe(pattern);
  const loaded = await torch.lora.loadAdapter(await torch.GPT2LMHeadModel.fromPretrained(base), dir);
  expect(torch.lora.loraLayers(loaded).map(([n]) => n)).toEqual(['transformer.h.1.attn.c_attn', 'transformer.h.1.mlp.c_fc']);
  torch.tidy(() => expect(relErr(loaded.forward(ids()).logits, re.eval().forward(ids()).logits)).toBe(0));
});

test('LoRA layers take the mode of the layers they replace: an adapter loaded for inference runs without dropout', async () => {
  const m = await torch.GPT2LMHeadModel.fromPretrained(base); // eval mode, as HF's from_pretrained
  torch.lora.applyLoRA(m, { r: 4, alpha: 8, dropout: 0.5 });
  randomizeLora(m);
  const dir = path.join(tmp, 'inference-adapter');
  await torch.lora.saveAdapter(m, dir);
  const loaded = await torch.lora.loadAdapter(await torch.GPT2LMHeadModel.fromPretrained(base), dir);
  expect(torch.lora.loraLayers(loaded).every(([, l]) => !l.training && !l.lora_dropout.training)).toBe(true);
  torch.tidy(() => {
    const a = loaded.forward(ids()).logits, b = loaded.forward(ids()).logits;
    expect(a.sub(b).abs().max().item()).toBe(0); // (with dropout 0.5 on, two calls differ)
    torch.lora.merge(loaded);
    expect(relErr(loaded.forward(ids()).logits, a)).toBeLessThan(1e-5);
  });
  // On a model in training mode the LoRA layers train (dropout on) too.
  const t = (await torch.GPT2LMHeadModel.fromPretrained(base)).train();
  torch.lora.applyLoRA(t, { r: 4, dropout: 0.5 });
  expect(torch.lora.loraLayers(t).every(([, l]) => l.lora_dropout.training)).toBe(true);
});

test('bad options are clear errors', async () => {
  const m = await torch.GPT2LMHeadModel.fromPretrained(base);
  expect(() => torch.lora.applyLoRA(m, { r: -1 })).toThrow(/non-negative integer/);
  expect(() => torch.lora.applyLoRA(m, { targetModules: ['q_proj'] })).toThrow(/no Conv1D matches/);
  expect(() => torch.lora.applyLoRA(m, { dropout: 1.5 })).toThrow(/dropout/);
  expect(() => torch.lora.applyLoRA(m, { mode: 'x' as 'seed' })).toThrow(/mode/);
  m.dispose();
});

describe.each(['peft', 'seed'] as const)('%s adapters', (mode) => {
  test('save -> load gives identical logits; merge gives the same logits as base + adapter', async () => {
    const m = await torch.GPT2LMHeadModel.fromPretrained(base);
    // rsLoRA is ignored by seed mode (unscaled); its exported adapter must say so.
    torch.lora.applyLoRA(m, mode === 'seed' ? { mode, r: 2, useRslora: true } : { r: 4, alpha: 16, useRslora: false });
    randomizeLora(m);
    m.eval();
    const want = torch.tidy(() => torch.noGrad(() => m.forward(ids()).logits.keep()));
    const dir = path.join(tmp, `adapter-${mode}`);
    await torch.lora.saveAdapter(m, dir);
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'adapter_config.json'), 'utf8'));
    expect(cfg).toMatchObject({ peft_type: 'LORA', fan_in_fan_out: true, bias: 'none', target_modules: ['c_attn', 'c_proj', 'c_fc'] });
    const keys = [...torch.io.safetensors.readHeader(path.join(dir, 'adapter_model.safetensors')).tensors.keys()];
    expect(keys).toContain('base_model.model.transformer.h.0.attn.c_attn.lora_A.weight');
    expect(keys).toContain('base_model.model.transformer.h.1.mlp.c_proj.lora_B.weight');

    const fresh = await torch.GPT2LMHeadModel.fromPretrained(base);
    await torch.lora.loadAdapter(fresh, dir);
    fresh.eval();
    const got = torch.tidy(() => torch.noGrad(() => fresh.forward(ids()).logits.keep()));
    expect(relErr(got, want)).toBeLessThan(mode === 'seed' ? 1e-5 : 1e-7);

    torch.lora.merge(fresh);
    const merged = torch.tidy(() => torch.noGrad(() => fresh.forward(ids()).logits.keep()));
    expect(relErr(merged, want)).toBeLessThan(1e-5);
    torch.lora.unmerge(fresh);
    torch.lora.mergeAndUnload(fresh);
    expect(fresh.namedParameters().some(([n]) => n.includes('lora'))).toBe(false);
    await fresh.savePretrained(path.join(tmp, `merged-${mode}`));
    const plain = await torch.GPT2LMHeadModel.fromPretrained(path.join(tmp, `merged-${mode}`));
    const plainLogits = torch.tidy(() => torch.noGrad(() => plain.eval().forward(ids()).logits.keep()));
    expect(relErr(plainLogits, want)).toBeLessThan(1e-5);
    for (const x of [want, got, merged, plainLogits]) x.dispose();
    for (const x of [m, fresh, plain]) x.dispose();
  });
});

test('loadAdapter\'s isTrainable (PEFT\'s is_trainable): true (our default) trains the adapter alone; false is PEFT\'s inference mode, nothing trains and dropout is off', async () => {
  const m = await torch.GPT2LMHeadModel.fromPretrained(base);
  torch.lora.applyLoRA(m, { r: 4, alpha: 8, dropout: 0.5, modulesToSave: ['ln_f'] });
  randomizeLora(m);
  const dir = path.join(tmp, 'trainable-or-not');
  await torch.lora.saveAdapter(m, dir);
  const trainable = (x: torch.GPT2LMHeadModel) => x.namedParameters({ trainableOnly: true }).map(([n]) => n).sort();
  const want = trainable(m);
  expect(want.length).toBe(2 * 2 * 4 + 2); // (A and B of c_attn, both c_proj and c_fc in 2 blocks; ln_f's weight and bias)
  const [a, b, c] = await Promise.all([1, 2, 3].map(() => torch.GPT2LMHeadModel.fromPretrained(base)));
  await torch.lora.loadAdapter(a, dir);
  await torch.lora.loadAdapter(b, dir, { isTrainable: true });
  await torch.lora.loadAdapter(c.train(), dir, { isTrainable: false });
  expect(trainable(a)).toEqual(want);
  expect(trainable(b)).toEqual(want);
  expect(trainable(c)).toEqual([]);
  expect(c.training).toBe(false);
  // (the same weights: logits as the saved model's, dropout off)
  const [x, y] = [m.eval(), c].map((k) => torch.tidy(() => torch.noGrad(() => k.forward(ids()).logits.keep())));
  expect(relErr(y, x)).toBeLessThan(1e-7);
  await expect(torch.lora.loadAdapter(a, dir, { is_trainable: true } as never)).rejects.toThrow(/is_trainable/);
  for (const t of [x, y, m, a, b, c]) t.dispose();
});

test('saveAdapter writes the README.md card PEFT\'s save_pretrained writes (Hub front matter: base_model, library_name peft, base_model:adapter tag); a card of the user\'s is left alone', async () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const yaml = require('yaml') as typeof import('yaml');
  const m = await torch.GPT2LMHeadModel.fromPretrained(base);
  torch.lora.applyLoRA(m, { r: 4, alpha: 8, targetModules: ['c_attn'], modulesToSave: ['ln_f'] });
  const dir = path.join(tmp, 'carded');
  const frontMatter = () => yaml.parse(/^---\n([\s\S]*?)\n---\n/.exec(fs.readFileSync(path.join(dir, 'README.md'), 'utf8'))![1]);
  await torch.lora.saveAdapter(m, dir, { baseModelNameOrPath: 'openai-community/gpt2' });
  expect(frontMatter()).toEqual({ base_model: 'openai-community/gpt2', library_name: 'peft', tags: ['base_model:adapter:openai-community/gpt2', 'lora', 'peft', 'tstorch'] });
  const card = fs.readFileSync(path.join(dir, 'README.md'), 'utf8');
  expect(card).toContain('- r: 4\n- lora_alpha: 8\n- target_modules: c_attn\n- modules_to_save: ln_f\n');
  expect(card).toContain('# LoRA adapter for openai-community/gpt2\n');
  expect(card).toContain('- PEFT: `PeftModel.from_pretrained(base_model, ADAPTER)`, the base being openai-community/gpt2\n');
  // its own card follows the adapter; the user's stays as it is
  await torch.lora.saveAdapter(m, dir, { baseModelNameOrPath: 'someone/gpt2-news' });
  expect(frontMatter().base_model).toBe('someone/gpt2-news');
  fs.writeFileSync(path.join(dir, 'README.md'), '# mine\n');
  await torch.lora.saveAdapter(m, dir);
  expect(fs.readFileSync(path.join(dir, 'README.md'), 'utf8')).toBe('# mine\n');
  m.dispose();
});

describe.each(['peft', 'seed'] as const)('%s disableAdapter', (mode) => {
  test('inside it the model computes as its base (also when merged); outside, as adapted', async () => {
    const plain = await torch.GPT2LMHeadModel.fromPretrained(base);
    const baseLogits = torch.tidy(() => torch.noGrad(() => plain.forward(ids()).logits.keep()));
    const m = await torch.GPT2LMHeadModel.fromPretrained(base);
    torch.lora.applyLoRA(m, mode === 'seed' ? { mode, r: 2 } : { r: 4, alpha: 16 });
    randomizeLora(m);
    m.eval();
    const logits = () => torch.tidy(() => torch.noGrad(() => m.forward(ids()).logits.keep()));
    const adapted = logits();
    expect(relErr(adapted, baseLogits)).toBeGreaterThan(1e-3); // the adapter changes the output
    const off = torch.lora.disableAdapter(m, logits);
    expect(relErr(off, baseLogits)).toBeLessThan(1e-6);
    const back = logits();
    expect(relErr(back, adapted)).toBe(0);
    // Merged: unmerged for the call, merged again after; an exception inside restores too.
    torch.lora.merge(m);
    expect(relErr(torch.lora.disableAdapter(m, logits), baseLogits)).toBeLessThan(1e-5);
    expect(() => torch.lora.disableAdapter(m, () => { throw new Error('inside'); })).toThrow('inside');
    expect(torch.lora.loraLayers(m).every(([, l]) => l.merged && !l.disabled)).toBe(true);
    expect(relErr(logits(), adapted)).toBeLessThan(1e-5);
    expect(() => torch.lora.disableAdapter(plain, logits)).toThrow(/no LoRA layers/);
    m.dispose();
    plain.dispose();
  });
});

test('adapters move between tstorch and the Python PEFT-layout reference, both ways', async () => {
  const m = await torch.GPT2LMHeadModel.fromPretrained(base);
  torch.lora.applyLoRA(m, { r: 4, alpha: 8, targetModules: ['c_attn', 'c_proj'] });
  randomizeLora(m, 5);
  m.eval();
  const dir = path.join(tmp, 'interop');
  await torch.lora.saveAdapter(m, dir);
  const idsFile = path.join(tmp, 'ids.json');
  fs.writeFileSync(idsFile, JSON.stringify(ids().tolist()));
  const pyDir = path.join(tmp, 'from-python');
  const r = spawnSync('/usr/bin/python3', [path.join(__dirname, '..', 'scripts', 'reference', 'peft_interop.py'), base, dir, idsFile, path.join(tmp, 'py_logits.safetensors'), pyDir], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  const pyLogits = torch.io.safetensors.loadFile(path.join(tmp, 'py_logits.safetensors')).tensors.get('logits')!;
  const ours = torch.tidy(() => torch.noGrad(() => m.forward(ids()).logits.keep()));
  expect(relErr(ours, pyLogits)).toBeLessThan(1e-5);
  // And Python's adapter (alpha doubled, new weights) in ours:
  const other = await torch.GPT2LMHeadModel.fromPretrained(base);
  await torch.lora.loadAdapter(other, pyDir);
  const expected = torch.io.safetensors.loadFile(path.join(pyDir, 'expected_logits.safetensors')).tensors.get('logits')!;
  const theirs = torch.tidy(() => torch.noGrad(() => other.eval().forward(ids()).logits.keep()));
  expect(relErr(theirs, expected)).toBeLessThan(1e-5);
  for (const x of [pyLogits, ours, expected, theirs]) x.dispose();
  m.dispose();
  other.dispose();
});

describe('PEFT\'s layer selection and per-layer ranks: rank_pattern, alpha_pattern, exclude_modules, layers_to_transform / layers_pattern', () => {
  // Each config applied here and by the Python reference's transcription of PEFT's
  // check_target_module_exists / get_pattern_key (scripts/reference/peft_interop.py): the same
  // layers wrapped with the same ranks and alphas give the same logits, both ways.
  const configs: [string, torch.lora.LoRAOptions, Record<string, [number, number]>][] = [
    ['patterns', {
      r: 4, alpha: 8, targetModules: ['c_attn', 'c_proj', 'c_fc', 'wte'], excludeModules: ['h.1.mlp.c_proj'],
      rankPattern: { 'h.0.attn.c_attn': 2, 'mlp\\.c_fc': 6, wte: 3 }, alphaPattern: { c_proj: 3, 'h\\.1\\..*': 20 },
    }, {
      'transformer.wte': [3, 8], 'transformer.h.0.attn.c_attn': [2, 8], 'transformer.h.0.attn.c_proj': [4, 3], 'transformer.h.0.mlp.c_fc': [6, 8],
      'transformer.h.0.mlp.c_proj': [4, 3], 'transformer.h.1.attn.c_attn': [4, 20], 'transformer.h.1.attn.c_proj': [4, 3], 'transformer.h.1.mlp.c_fc': [6, 20],
    }],
    ['layers', { r: 4, alpha: 8, targetModules: ['c_attn', 'c_fc'], layersToTransform: [1], layersPattern: 'h' }, {
      'transformer.h.1.attn.c_attn': [4, 8], 'transformer.h.1.mlp.c_fc': [4, 8],
    }],
    ['one layer, any pattern', { r: 2, alpha: 4, targetModules: ['c_proj'], layersToTransform: 0 }, {
      'transformer.h.0.attn.c_proj': [2, 4], 'transformer.h.0.mlp.c_proj': [2, 4],
    }],
  ];
  test.each(configs)('%s', async (name, options, want) => {
    const m = await torch.GPT2LMHeadModel.fromPretrained(base);
    torch.lora.applyLoRA(m, options);
    const got = Object.fromEntries(torch.lora.loraModules(m).map(([n, l]) => [n, [l.r, +(l.scaling * l.r).toFixed(9)]]));
    expect(got).toEqual(want);
    for (const [n, l] of torch.lora.loraLayers(m)) expect(l.lora_A.weight.shape[0]).toBe(want[n][0]);
    randomizeLora(m, 7);
    torch.noGrad(() => { for (const [n, p] of m.namedParameters()) if (n.endsWith('lora_embedding_A')) p.normal_(0, 0.1); });
    m.eval();
    const dir = path.join(tmp, `patterns-${name.replace(/\W+/g, '-')}`);
    await torch.lora.saveAdapter(m, dir);
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'adapter_config.json'), 'utf8'));
    expect([config.rank_pattern, config.alpha_pattern, config.layers_to_transform, config.layers_pattern]).toEqual([
      options.rankPattern ?? {}, options.alphaPattern ?? {}, options.layersToTransform ?? null, options.layersPattern ?? null]);
    const idsFile = path.join(dir, 'ids.json'), pyDir = `${dir}-from-python`, out = `${dir}.py.safetensors`;
    fs.writeFileSync(idsFile, JSON.stringify(ids().tolist()));
    const r = spawnSync('/usr/bin/python3', [path.join(__dirname, '..', 'scripts', 'reference', 'peft_interop.py'), base, dir, idsFile, out, pyDir], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const py = torch.io.safetensors.loadFile(out).tensors;
    // Python's adapter has a tensor for each of ours (the same layers chosen, the same shapes)
    const saved = torch.io.safetensors.loadFile(path.join(dir, 'adapter_model.safetensors')).tensors;
    expect([...py.keys()].filter((k) => k.startsWith('grad.')).map((k) => k.slice(5)).sort()).toEqual([...saved.keys()].sort());
    const ours = torch.noGrad(() => m.forward(ids()).logits);
    const plain = await torch.GPT2LMHeadModel.fromPretrained(base);
    expect(relErr(ours, py.get('logits')!)).toBeLessThan(1e-5);
    expect(relErr(ours, torch.noGrad(() => plain.eval().forward(ids()).logits))).toBeGreaterThan(1e-3); // the adapter counts
    // Python's adapter (alphas doubled) loads here with its patterns
    const other = await torch.GPT2LMHeadModel.fromPretrained(base);
    await torch.lora.loadAdapter(other, pyDir);
    const expected = torch.io.safetensors.loadFile(path.join(pyDir, 'expected_logits.safetensors')).tensors.get('logits')!;
    expect(relErr(torch.noGrad(() => other.eval().forward(ids()).logits), expected)).toBeLessThan(1e-5);
    // ...but not over LoRA that scales otherwise: the weights alone do not say alpha
    await expect(torch.lora.loadAdapter(m, pyDir)).rejects.toThrow(/loadAdapter: the model's LoRA at transformer\.\S+ scales by [\d.]+, the adapter's by [\d.]+ \(another lora_alpha, alpha_pattern or use_rslora\)/);
    for (const x of [m, plain, other]) x.dispose();
  });

  test('bad patterns are clear errors; a key matching no layer is warned about', async () => {
    const m = await torch.GPT2LMHeadModel.fromPretrained(base);
    expect(() => torch.lora.applyLoRA(m, { rankPattern: { c_attn: 0 } })).toThrow("LoRA: rankPattern 'c_attn' must be a positive integer rank, got 0");
    expect(() => torch.lora.applyLoRA(m, { alphaPattern: { 'c_(attn': 2 } })).toThrow(/LoRA: alphaPattern key 'c_\(attn' is not a valid regular expression/);
    expect(() => torch.lora.applyLoRA(m, { layersToTransform: [-1] })).toThrow('LoRA: layersToTransform must hold block indices (integers >= 0), got -1');
    expect(() => torch.lora.applyLoRA(m, { targetModules: ['c_attn'], layersToTransform: [5] })).toThrow(/no Conv1D matches targetModules \[c_attn\] within layersToTransform \/ excludeModules/);
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
    torch.lora.applyLoRA(m, { targetModules: ['c_attn'], rankPattern: { c_fc: 2 } });
    expect(warn.mock.calls.map((c) => c[0])).toEqual(["LoRA: rankPattern key 'c_fc' matches no wrapped layer (their names are like transformer.h.0.attn.c_attn)"]);
    warn.mockRestore();
    m.dispose();
  });
});

describe('initLoraWeights (PEFT\'s init_lora_weights)', () => {
  test('pissa: A, B and the base\'s residual as PEFT\'s pissa_init (Python transcription); the model starts as its base; saved as is it loads by PiSSA again, converted (rank 2r) over the original base, here and in the reference', async () => {
    const plain = await torch.GPT2LMHeadModel.fromPretrained(base);
    const want0 = torch.noGrad(() => plain.eval().forward(ids()).logits);
    const m = await torch.GPT2LMHeadModel.fromPretrained(base);
    torch.lora.applyLoRA(m, { r: 4, alpha: 8, dropout: 0, initLoraWeights: 'pissa', targetModules: ['c_attn', 'c_proj', 'c_fc'] });
    m.eval();
    const layer = torch.lora.loraLayers(m)[0][1];
    // s·BA is the weight's best rank-4 part: the residual's largest singular value is the original's 5th
    const original = (plain.transformer.h.items[0].attn.c_attn as torch.nn.Conv1D).weight;
    torch.tidy(() => {
      const sv = torch.linalg.svdvals(original.t());
      expect(Math.abs((torch.linalg.svdvals(layer.base.weight.t()).max().item() as number) - (sv.select(0, 4).item() as number))).toBeLessThan(1e-5);
    });
    expect(relErr(torch.noGrad(() => m.forward(ids()).logits), want0)).toBeLessThan(1e-5); // PiSSA keeps the function
    const dir = path.join(tmp, 'pissa-start');
    await torch.lora.saveAdapter(m, dir);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'adapter_config.json'), 'utf8')).init_lora_weights).toBe('pissa');
    const idsFile = path.join(tmp, 'pissa-ids.json');
    fs.writeFileSync(idsFile, JSON.stringify(ids().tolist()));
    const run = (adapter: string, out: string) => {
      const r = spawnSync('/usr/bin/python3', [path.join(__dirname, '..', 'scripts', 'reference', 'peft_interop.py'), base, adapter, idsFile, out], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      return torch.io.safetensors.loadFile(out).tensors;
    };
    const py = run(dir, path.join(tmp, 'pissa-start.py.safetensors'));
    let compared = 0;
    for (const [n, p] of m.namedParameters()) {
      const w = py.get(`init.${n}`);
      if (!w) continue;
      expect([n, relErr(p, w) < 1e-5]).toEqual([n, true]); // A, B and W - s·BA, layer by layer
      compared++;
    }
    expect(compared).toBe(8 * 3); // 8 layers (2 blocks x 4): lora_A, lora_B and base_layer.weight each
    // Trained (A and B moved): converted, it is plain LoRA of rank 8 over the original base.
    torch.manualSeed(4);
    torch.noGrad(() => { for (const [n, p] of m.namedParameters()) if (/lora_[AB]/.test(n)) p.add_(torch.randnLike(p).mul(0.05)); });
    const trained = torch.noGrad(() => m.forward(ids()).logits);
    expect(relErr(trained, want0)).toBeGreaterThan(1e-3);
    const converted = path.join(tmp, 'pissa-converted');
    await torch.lora.saveAdapter(m, converted, { convertToLora: true });
    const config = JSON.parse(fs.readFileSync(path.join(converted, 'adapter_config.json'), 'utf8'));
    expect([config.r, config.lora_alpha, config.init_lora_weights]).toEqual([8, 16, true]);
    expect(relErr(run(converted, path.join(tmp, 'pissa-converted.py.safetensors')).get('logits')!, trained)).toBeLessThan(1e-4);
    // ... and unconverted, loaded onto a fresh base: PiSSA runs again, the trained factors come in
    const asIs = path.join(tmp, 'pissa-trained');
    await torch.lora.saveAdapter(m, asIs);
    for (const d of [asIs, converted]) {
      const fresh = await torch.GPT2LMHeadModel.fromPretrained(base);
      await torch.lora.loadAdapter(fresh, d);
      expect([d, relErr(torch.noGrad(() => fresh.eval().forward(ids()).logits), trained) < 1e-4]).toEqual([d, true]);
      // merged, the base weights hold the trained model
      torch.lora.mergeAndUnload(fresh);
      expect([d, relErr(torch.noGrad(() => fresh.forward(ids()).logits), trained) < 1e-4]).toEqual([d, true]);
      fresh.dispose();
    }
    const loaded = await torch.GPT2LMHeadModel.fromPretrained(base);
    await torch.lora.loadAdapter(loaded, asIs);
    await expect(torch.lora.saveAdapter(loaded, path.join(tmp, 'x'), { convertToLora: true })).resolves.toBeUndefined(); // (PiSSA ran at loading: its start is known)
    // a further adapter on other layers does not stop the PiSSA one from converting
    torch.lora.addAdapter(loaded, 'extra', { r: 2, targetModules: ['lm_head'] }); // (a layer the PiSSA adapter does not wrap)
    await torch.lora.saveAdapter(loaded, path.join(tmp, 'x2'), { convertToLora: true });
    expect(torch.io.safetensors.loadFile(path.join(tmp, 'x2', 'adapter_model.safetensors')).tensors.size).toBe(16);
    for (const x of [plain, m, loaded]) x.dispose();
  });

  test('gaussian, false, pissa_niter_K; bad values and where they do not apply', async () => {
    const m = await torch.GPT2LMHeadModel.fromPretrained(base);
    torch.manualSeed(1);
    torch.lora.applyLoRA(m, { r: 8, initLoraWeights: 'gaussian', targetModules: ['c_fc'] });
    const [, l] = torch.lora.loraLayers(m)[0];
    torch.tidy(() => {
      expect(Math.abs((l.lora_A.weight.std().item() as number) - 1 / 8)).toBeLessThan(0.01); // N(0, 1/r)
      expect(l.lora_B.weight.abs().max().item()).toBe(0);
    });
    const f = await torch.GPT2LMHeadModel.fromPretrained(base);
    torch.lora.applyLoRA(f, { r: 4, initLoraWeights: false, targetModules: ['c_fc'] });
    const bound = 1 / Math.sqrt(4); // kaiming_uniform(a=√5) on (out, 4): U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    torch.tidy(() => {
      const B = torch.lora.loraLayers(f)[0][1].lora_B.weight;
      expect(B.abs().max().item() as number).toBeLessThanOrEqual(bound);
      expect(B.abs().max().item() as number).toBeGreaterThan(bound / 2);
    });
    const plain = await torch.GPT2LMHeadModel.fromPretrained(base);
    expect(relErr(torch.noGrad(() => f.eval().forward(ids()).logits), torch.noGrad(() => plain.eval().forward(ids()).logits))).toBeGreaterThan(1e-4); // B ≠ 0: the model starts changed
    const fast = await torch.GPT2LMHeadModel.fromPretrained(base);
    torch.lora.applyLoRA(fast, { r: 2, alpha: 4, dropout: 0, initLoraWeights: 'pissa_niter_4', targetModules: ['c_attn'] });
    expect(relErr(torch.noGrad(() => fast.eval().forward(ids()).logits), torch.noGrad(() => plain.forward(ids()).logits))).toBeLessThan(1e-5);
    expect(() => torch.lora.applyLoRA(plain, { initLoraWeights: 'olora' as never })).toThrow(/initLoraWeights must be true, false, 'gaussian', 'pissa' or 'pissa_niter_K', got "olora"/);
    // options of the wrong type (a config read as text) are refused, not taken as truthy or coerced into adapter_config.json
    for (const [o, message] of [
      [{ r: '8' }, 'LoRA: rank r must be a non-negative integer, got "8"'],
      [{ alpha: '16' }, 'LoRA: alpha must be a positive number, got "16"'],
      [{ dropout: '0.1' }, 'LoRA: dropout must be in [0, 1), got "0.1"'],
      [{ useRslora: 'yes' }, 'LoRA: useRslora must be true or false, got "yes"'],
      [{ useDora: 1 }, 'LoRA: useDora must be true or false, got 1'],
      [{ modulesToSave: 'wte' }, 'LoRA: modulesToSave must be a list of module names, got "wte"'],
      [{ targetModules: [5] }, 'LoRA: targetModules must be a list of module names (or one regular expression), got [5]'],
      [{ rankPattern: [1] }, 'LoRA: rankPattern must be an object of ranks by layer-name pattern, e.g. { c_fc: 16 }; got [1]'],
      [{ alphaPattern: { c_attn: 'x' } }, 'LoRA: alphaPattern \'c_attn\' must be a positive number, got "x"'],
    ] as [object, string][]) expect(() => torch.lora.applyLoRA(plain, o as never)).toThrow(message);
    expect(() => torch.lora.applyLoRA(plain, { mode: 'seed', initLoraWeights: 'pissa' })).toThrow(/initLoraWeights is a peft-mode option/);
    expect(() => torch.lora.applyLoRA(plain, { targetModules: ['wte'], initLoraWeights: 'pissa' })).toThrow(/PiSSA .* not embeddings/);
    await expect(torch.lora.saveAdapter(f, path.join(tmp, 'y'), { convertToLora: true })).rejects.toThrow(/convertToLora is for PiSSA adapters/);
    // an adapter whose init changed the base in a way tstorch does not redo is refused
    const dir = path.join(tmp, 'olora');
    await torch.lora.saveAdapter(m, dir);
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'adapter_config.json'), 'utf8'));
    fs.writeFileSync(path.join(dir, 'adapter_config.json'), JSON.stringify({ ...cfg, init_lora_weights: 'olora' }));
    await expect(torch.lora.loadAdapter(await torch.GPT2LMHeadModel.fromPretrained(base), dir)).rejects.toThrow(/init_lora_weights "olora", which changes the base weights; convert it to plain LoRA first/);
    for (const x of [m, f, plain, fast]) x.dispose();
  });
});

test('several adapters (PEFT\'s load_adapter / add_adapter / set_adapter / delete_adapter): each computes as it would alone, only the active one trains and saves; Python\'s adapter loads under a name', async () => {
  const logits = (m: torch.GPT2LMHeadModel) => torch.noGrad(() => m.eval().forward(ids()).logits);
  const m = await torch.GPT2LMHeadModel.fromPretrained(base);
  torch.lora.applyLoRA(m, { r: 4, alpha: 8, dropout: 0, targetModules: ['c_attn', 'c_proj'] });
  randomizeLora(m, 5);
  const first = logits(m);
  const dir = path.join(tmp, 'multi-default');
  await torch.lora.saveAdapter(m, dir);
  // Python's adapter in the same layout (alpha doubled, its own weights) and its logits
  const idsFile = path.join(tmp, 'multi-ids.json'), pyDir = path.join(tmp, 'multi-from-python');
  fs.writeFileSync(idsFile, JSON.stringify(ids().tolist()));
  const r = spawnSync('/usr/bin/python3', [path.join(__dirname, '..', 'scripts', 'reference', 'peft_interop.py'), base, dir, idsFile, path.join(tmp, 'multi.py.safetensors'), pyDir], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  const pyLogits = torch.io.safetensors.loadFile(path.join(pyDir, 'expected_logits.safetensors')).tensors.get('logits')!;
  await torch.lora.loadAdapter(m, pyDir, { adapterName: 'python' });
  expect(torch.lora.adapterNames(m)).toEqual(['default', 'python']);
  expect(relErr(logits(m), first)).toBe(0); // loading does not activate it
  torch.lora.setAdapter(m, 'python');
  expect(relErr(logits(m), pyLogits)).toBeLessThan(1e-5);
  // a third adapter on other layers, with another rank: the layers it does not wrap compute as their base
  torch.lora.addAdapter(m, 'mlp', { r: 2, alpha: 2, dropout: 0, targetModules: ['c_fc'] });
  torch.lora.setAdapter(m, 'mlp');
  expect(torch.lora.activeAdapter(m)).toBe('mlp');
  randomizeLora(m, 9);
  const trainable = m.namedParameters({ trainableOnly: true }).map(([n]) => n);
  expect(trainable).toEqual(['transformer.h.0.mlp.c_fc.lora_A.weight', 'transformer.h.0.mlp.c_fc.lora_B.weight', 'transformer.h.1.mlp.c_fc.lora_A.weight', 'transformer.h.1.mlp.c_fc.lora_B.weight']);
  const alone = await torch.GPT2LMHeadModel.fromPretrained(base);
  torch.lora.applyLoRA(alone, { r: 2, alpha: 2, dropout: 0, targetModules: ['c_fc'] });
  const mine = new Map(m.namedParameters({ trainableOnly: true }));
  torch.noGrad(() => { for (const [n, p] of alone.namedParameters({ trainableOnly: true })) p.copy_(mine.get(n)!); });
  expect(relErr(logits(m), logits(alone))).toBe(0);
  const mlpDir = path.join(tmp, 'multi-mlp');
  await torch.lora.saveAdapter(m, mlpDir);
  // PEFT's print_trainable_parameters: the active adapter trains, and all params has the inactive ones too (PEFT keeps them as frozen parameters)
  const bare = await torch.GPT2LMHeadModel.fromPretrained(base);
  const numel = (d: string) => {
    const ts = torch.io.safetensors.loadFile(path.join(d, 'adapter_model.safetensors')).tensors;
    const n = [...ts.values()].reduce((k, t) => k + t.numel(), 0);
    for (const t of ts.values()) t.dispose();
    return n;
  };
  const adapters = numel(dir) + numel(pyDir) + numel(mlpDir), mlpCount = numel(mlpDir);
  expect(torch.lora.trainableParametersLine(m)).toBe(`trainable params: ${mlpCount.toLocaleString('en-US')} || all params: ${(bare.numParameters() + adapters).toLocaleString('en-US')} || ` +
    `trainable%: ${((100 * mlpCount) / (bare.numParameters() + adapters)).toFixed(4)}`);
  bare.dispose();
  expect(JSON.parse(fs.readFileSync(path.join(mlpDir, 'adapter_config.json'), 'utf8'))).toMatchObject({ r: 2, lora_alpha: 2, target_modules: ['c_fc'] });
  expect([...torch.io.safetensors.loadFile(path.join(mlpDir, 'adapter_model.safetensors')).tensors.keys()].length).toBe(4);
  // a step of training moves the active adapter alone
  m.train();
  m.forward(ids(), { labels: ids() }).loss!.backward();
  const opt = new torch.optim.AdamW(m.parameters().filter((p) => p.requiresGrad), { lr: 0.1 });
  opt.step();
  opt.dispose();
  torch.lora.setAdapter(m, 'default');
  expect(relErr(logits(m), first)).toBe(0); // untouched
  // saving a named adapter leaves the active one active; the saved one is what was loaded
  const again = path.join(tmp, 'multi-python-again');
  await torch.lora.saveAdapter(m, again, { adapterName: 'python' });
  expect(torch.lora.activeAdapter(m)).toBe('default');
  const a = torch.io.safetensors.loadFile(path.join(pyDir, 'adapter_model.safetensors')).tensors, b = torch.io.safetensors.loadFile(path.join(again, 'adapter_model.safetensors')).tensors;
  expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
  for (const [k, t] of a) expect([k, relErr(b.get(k)!, t)]).toEqual([k, 0]);
  // merging the active adapter, switching while merged, deleting
  expect(() => torch.lora.deleteAdapter(m, 'default')).toThrow(/'default' is the active adapter; setAdapter to another first/);
  torch.lora.merge(m);
  expect(() => torch.lora.setAdapter(m, 'python')).toThrow(/unmerge first/);
  torch.lora.unmerge(m);
  const before = torch.memory().liveTensors;
  torch.lora.deleteAdapter(m, 'python');
  expect(torch.lora.adapterNames(m)).toEqual(['default', 'mlp']);
  expect(torch.memory().liveTensors).toBe(before - 12); // its A and B in 6 layers (c_attn, attn.c_proj, mlp.c_proj; 2 blocks)
  expect(() => torch.lora.setAdapter(m, 'python')).toThrow(/no adapter 'python' \(the model has default, mlp\)/);
  expect(() => torch.lora.addAdapter(m, 'mlp', {})).toThrow(/has an adapter 'mlp' already/);
  expect(() => torch.lora.addAdapter(m, 'bad name', {})).toThrow(/an adapter name is letters, digits/);
  expect(() => torch.lora.addAdapter(m, 'emb', { targetModules: ['wte'] })).toThrow(/several adapters on an embedding are not supported/);
  // unloading keeps the active adapter merged and frees the others
  torch.lora.mergeAndUnload(m);
  expect(relErr(logits(m), first)).toBeLessThan(1e-5);
  for (const x of [m, alone]) x.dispose();
});

test('withAdapter (TRL\'s ref_adapter_name): fn computes with the other adapter; after it the same tensors train, with their .grad and flags, and an optimizer step on them is the step without the switch', async () => {
  const logits = (m: torch.GPT2LMHeadModel) => torch.noGrad(() => m.forward(ids()).logits);
  const m = await torch.GPT2LMHeadModel.fromPretrained(base);
  torch.lora.applyLoRA(m, { r: 4, alpha: 8, dropout: 0, targetModules: ['c_attn', 'c_fc'], useDora: true });
  randomizeLora(m, 3);
  torch.lora.addAdapter(m, 'ref', { r: 2, alpha: 2, dropout: 0, targetModules: ['c_attn'] });
  torch.lora.setAdapter(m, 'ref');
  randomizeLora(m, 4);
  const refLogits = logits(m.eval());
  torch.lora.setAdapter(m, 'default');
  const own = logits(m);
  expect(relErr(own, refLogits)).toBeGreaterThan(1e-3); // two different adapters
  const twin = await torch.GPT2LMHeadModel.fromPretrained(base); // the same adapter, never switched
  torch.lora.applyLoRA(twin, { r: 4, alpha: 8, dropout: 0, targetModules: ['c_attn', 'c_fc'], useDora: true });
  const mine = new Map(m.namedParameters());
  torch.noGrad(() => { for (const [n, p] of twin.namedParameters({ trainableOnly: true })) p.copy_(mine.get(n)!); });
  // a gradient, then the other adapter mid-step (as DPO's reference pass), then the optimizer step
  const trained = m.namedParameters({ trainableOnly: true });
  expect(trained.length).toBe(12); // A, B and DoRA's magnitude in c_attn and c_fc, 2 blocks
  const flags = m.namedParameters().map(([, p]) => p.requiresGrad);
  const step = (model: torch.GPT2LMHeadModel, between: () => void) => {
    const opt = new torch.optim.AdamW(model.parameters().filter((p) => p.requiresGrad), { lr: 0.05 });
    torch.tidy(() => model.forward(ids(), { labels: ids() }).loss!.backward());
    between();
    opt.step();
    opt.dispose();
  };
  let inside: torch.Tensor | null = null;
  step(m, () => { inside = torch.keep(torch.lora.withAdapter(m, 'ref', () => logits(m))); });
  step(twin, () => {});
  expect(relErr(inside!, refLogits)).toBe(0);
  expect(torch.lora.activeAdapter(m)).toBe('default');
  const after = m.namedParameters({ trainableOnly: true });
  expect(after.map(([n]) => n)).toEqual(trained.map(([n]) => n));
  after.forEach(([n, p], i) => expect([n, p === trained[i][1], p.grad !== null]).toEqual([n, true, true])); // the very tensors, .grad kept
  expect(m.namedParameters().map(([, p]) => p.requiresGrad)).toEqual(flags);
  expect(relErr(logits(m), logits(twin))).toBe(0); // the step moved them as it moved the twin's
  expect(relErr(logits(m), own)).toBeGreaterThan(1e-4);
  // the parked adapter is frozen, as PEFT's set_adapter leaves it, and untouched
  torch.lora.setAdapter(m, 'ref');
  expect(relErr(logits(m), refLogits)).toBe(0);
  torch.lora.setAdapter(m, 'default');
  // an error inside gives the adapter back; a bad name is named
  expect(() => torch.lora.withAdapter(m, 'ref', () => { throw new Error('inside'); })).toThrow('inside');
  expect(torch.lora.activeAdapter(m)).toBe('default');
  expect(() => torch.lora.withAdapter(m, 'nope', () => 0)).toThrow(/withAdapter: no adapter 'nope' \(the model has default, ref\)/);
  expect(torch.lora.withAdapter(m, 'default', () => 7)).toBe(7);
  // what refuses a second adapter, said before trying (the CLI's DPO reference picks its plan by it)
  expect(torch.lora.secondAdapterRefusal(m, { r: 2 })).toBeNull();
  expect(torch.lora.secondAdapterRefusal(m, { r: 2, bias: 'all' })).toMatch(/bias and modulesToSave train base tensors/);
  expect(torch.lora.secondAdapterRefusal(m, { r: 2, initLoraWeights: 'pissa' })).toMatch(/PiSSA changes the base weights/);
  const emb = await torch.GPT2LMHeadModel.fromPretrained(base);
  torch.lora.applyLoRA(emb, { r: 2, targetModules: ['wte', 'c_attn'] });
  expect(torch.lora.secondAdapterRefusal(emb, {})).toMatch(/several adapters with LoRA on an embedding are not supported/);
  const plain = await torch.GPT2LMHeadModel.fromPretrained(base);
  expect(torch.lora.secondAdapterRefusal(plain, {})).toBe('the model has no LoRA');
  inside!.dispose();
  for (const x of [m, twin, emb, plain]) x.dispose();
});

test('addWeightedAdapter (PEFT\'s add_weighted_adapter): cat, linear and svd give the A and B of PEFT\'s formulas (Python transcription) from the saved adapters', async () => {
  const m = await torch.GPT2LMHeadModel.fromPretrained(base);
  torch.lora.applyLoRA(m, { r: 4, alpha: 8, dropout: 0, targetModules: ['c_attn', 'c_proj'], rankPattern: { 'h.1.attn.c_attn': 2 } });
  torch.lora.addAdapter(m, 'b', { r: 2, alpha: 6, dropout: 0, targetModules: ['c_attn', 'c_fc'], useRslora: true });
  torch.lora.addAdapter(m, 'c', { r: 4, alpha: 16, dropout: 0, targetModules: ['c_attn', 'c_proj'] });
  torch.lora.addAdapter(m, 'd', { r: 4, alpha: 4, dropout: 0, targetModules: ['c_attn', 'mlp.c_proj'] });
  for (const a of ['default', 'b', 'c', 'd']) {
    torch.lora.setAdapter(m, a);
    torch.manualSeed(a.length + a.charCodeAt(0));
    torch.noGrad(() => { for (const [n, p] of m.namedParameters()) if (/lora_[AB]/.test(n)) p.normal_(0, 0.1); });
    await torch.lora.saveAdapter(m, path.join(tmp, `weighted-src-${a}`));
  }
  torch.lora.setAdapter(m, 'default');
  const cases: [string, string[], number[], torch.lora.WeightedAdapterOptions][] = [
    ['cat', ['default', 'b'], [1, -0.5], { combinationType: 'cat' }],
    ['linear', ['c', 'd'], [0.7, -0.4], { combinationType: 'linear' }],
    ['svd', ['default', 'b', 'c'], [0.5, 1, 0.25], { combinationType: 'svd', svdRank: 3 }],
    ['svdclamp', ['b', 'c'], [1, 1], { svdClamp: 0.9 }],
  ];
  for (const [name, adapters, weights, opts] of cases) {
    torch.lora.addWeightedAdapter(m, adapters, weights, name, opts);
    const dir = path.join(tmp, `weighted-${name}`);
    await torch.lora.saveAdapter(m, dir, { adapterName: name });
    const spec = { adapters: adapters.map((a) => path.join(tmp, `weighted-src-${a}`)), weights, combination_type: opts.combinationType ?? 'svd', svd_rank: opts.svdRank ?? null, svd_clamp: opts.svdClamp ?? null };
    const want = referenceTensors('weighted_adapter_ref.py', spec);
    const got = torch.io.safetensors.loadFile(path.join(dir, 'adapter_model.safetensors')).tensors;
    expect([name, [...got.keys()].sort()]).toEqual([name, [...want.keys()].sort()]);
    const layers = [...got.keys()].filter((k) => k.endsWith('lora_A.weight')).map((k) => k.slice(0, -'lora_A.weight'.length));
    for (const k of layers) {
      // the update B·A (SVD's factors are fixed up to signs); cat and linear: the factors themselves
      const ba = (t: Map<string, torch.Tensor>) => t.get(`${k}lora_B.weight`)!.matmul(t.get(`${k}lora_A.weight`)!);
      expect([name, k, relErr(ba(got), ba(want)) < 1e-5]).toEqual([name, k, true]);
      if (name === 'cat' || name === 'linear') for (const f of ['lora_A', 'lora_B']) expect([name, k, f, relErr(got.get(`${k}${f}.weight`)!, want.get(`${k}${f}.weight`)!) < 1e-6]).toEqual([name, k, f, true]);
    }
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'adapter_config.json'), 'utf8'));
    const rank = name === 'cat' ? 6 : name === 'linear' ? 4 : name === 'svd' ? 3 : 4;
    expect([name, cfg.r, cfg.lora_alpha]).toEqual([name, rank, rank]);
    for (const t of want.values()) t.dispose();
  }
  // cat is exactly the weighted sum: merged, its update is 1·(default's) - 0.5·(b's), layer by layer
  const mergedWith = (a: string) => {
    torch.lora.setAdapter(m, a);
    torch.lora.merge(m);
    const w = torch.lora.loraLayers(m).map(([, l]) => torch.keep(l.base.weight.clone()));
    torch.lora.unmerge(m);
    return w;
  };
  const W0 = torch.lora.loraLayers(m).map(([, l]) => torch.keep(l.base.weight.clone()));
  const [Wd, Wb, Wcat] = ['default', 'b', 'cat'].map(mergedWith);
  const merged = [...W0, ...Wd, ...Wb, ...Wcat];
  W0.forEach((w0, i) => torch.tidy(() => {
    const want = Wd[i].sub(w0).sub(Wb[i].sub(w0).mul(0.5));
    expect(relErr(Wcat[i].sub(w0), want)).toBeLessThan(1e-5);
  }));
  expect(W0.some((w0, i) => relErr(Wcat[i], w0) > 1e-4)).toBe(true);
  torch.lora.setAdapter(m, 'default');
  expect(() => torch.lora.addWeightedAdapter(m, ['default', 'b'], [1, 1], 'x', { combinationType: 'linear' })).toThrow(/'linear' needs adapters of one rank; got 4, 2/);
  expect(() => torch.lora.addWeightedAdapter(m, ['default', 'c'], [1, 1], 'y', { combinationType: 'linear' })).toThrow(/'linear' needs one rank in every layer; transformer.h.1.attn.c_attn has 2 and 4/);
  expect(torch.lora.adapterNames(m)).not.toContain('y'); // (whole or not at all)
  expect(() => torch.lora.addWeightedAdapter(m, ['default', 'zz'], [1, 1], 'x')).toThrow(/no adapter 'zz'/);
  expect(() => torch.lora.addWeightedAdapter(m, ['default'], [1, 1], 'x')).toThrow(/one weight per adapter/);
  for (const t of merged) t.dispose();
  m.dispose();
});

test('DoRA (useDora, PEFT\'s use_dora): logits, loss and every adapter gradient as PEFT\'s DoRA formula in Python; saved in PEFT\'s layout; merge folds it', async () => {
  const m = await torch.GPT2LMHeadModel.fromPretrained(base);
  torch.manualSeed(2);
  torch.lora.applyLoRA(m, { r: 4, alpha: 8, dropout: 0, useDora: true, targetModules: ['c_attn', 'c_proj', 'c_fc'] });
  const layer = torch.lora.loraLayers(m)[0][1];
  // The magnitude starts as W's column norms: at init the model computes as its base.
  torch.tidy(() => expect(relErr(layer.lora_magnitude_vector, layer.base.weight.norm(2, 0))).toBeLessThan(1e-6));
  const plain = await torch.GPT2LMHeadModel.fromPretrained(base);
  torch.tidy(() => expect(relErr(m.forward(ids()).logits, plain.forward(ids()).logits)).toBeLessThan(1e-5));
  // Away from init: B random, magnitudes moved, so every term of the formula counts.
  randomizeLora(m, 5);
  torch.noGrad(() => { for (const [, l] of torch.lora.loraLayers(m)) l.lora_magnitude_vector.mul_(torch.rand(l.lora_magnitude_vector.shape).add(0.5)); });
  expect(m.namedParameters({ trainableOnly: true }).filter(([n]) => n.endsWith('lora_magnitude_vector')).length).toBe(8);
  const dir = path.join(tmp, 'dora-adapter');
  await torch.lora.saveAdapter(m, dir);
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'adapter_config.json'), 'utf8'));
  expect(config.use_dora).toBe(true);
  const saved = torch.io.safetensors.loadFile(path.join(dir, 'adapter_model.safetensors')).tensors;
  expect(saved.has('base_model.model.transformer.h.0.attn.c_attn.lora_magnitude_vector')).toBe(true);
  expect(saved.size).toBe(8 * 3);
  const idsFile = path.join(tmp, 'dora-ids.json');
  fs.writeFileSync(idsFile, JSON.stringify(ids().tolist()));
  const out = path.join(tmp, 'dora-py.safetensors');
  const r = spawnSync('/usr/bin/python3', [path.join(__dirname, '..', 'scripts', 'reference', 'peft_interop.py'), base, dir, idsFile, out], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  const py = torch.io.safetensors.loadFile(out).tensors;
  m.eval();
  const res = expectLikeReference(m, py, saved.keys());
  // Loaded back: the same model. Merged (W <- m/n (W + dW) per output): the same logits, and unmerged back exactly.
  const loaded = await torch.lora.loadAdapter(await torch.GPT2LMHeadModel.fromPretrained(base), dir);
  torch.tidy(() => expect(relErr(loaded.forward(ids()).logits, res.logits)).toBeLessThan(1e-6));
  const w0 = torch.keep(layer.base.weight.clone());
  torch.lora.merge(m);
  torch.tidy(() => expect(relErr(m.forward(ids()).logits, res.logits)).toBeLessThan(1e-5));
  torch.lora.unmerge(m);
  torch.tidy(() => expect(relErr(layer.base.weight, w0)).toBeLessThan(1e-6));
  // mergeAndUnload frees A, B, the magnitudes and the merge factors: 8 layers x 4 tensors.
  torch.lora.merge(m);
  res.logits.dispose();
  res.loss!.dispose();
  const live = torch.memory().liveTensors;
  torch.lora.mergeAndUnload(m);
  expect(live - torch.memory().liveTensors).toBe(8 * 4);
  // A DoRA adapter into a model with plain LoRA (or the other way) is refused.
  const lora = await torch.GPT2LMHeadModel.fromPretrained(base);
  torch.lora.applyLoRA(lora, { r: 4 });
  await expect(torch.lora.loadAdapter(lora, dir)).rejects.toThrow(/does not use DoRA, the adapter does/);
  expect(() => torch.lora.applyLoRA(plain, { mode: 'seed', useDora: true })).toThrow(/DoRA \(useDora\) is a peft-mode option/);
});

test('LoRA on the token embedding (PEFT\'s lora.Embedding, target wte): PEFT\'s init draws; logits, loss and gradients as the Python reference; adapters both ways; merge; gradient checkpointing', async () => {
  const cfg = JSON.parse(fs.readFileSync(path.join(base, 'config.json'), 'utf8'));
  // Init: A zeros, B normal after PEFT's two randn draws: the model starts as its base.
  const m = await torch.GPT2LMHeadModel.fromPretrained(base);
  const plainLogits = torch.tidy(() => torch.noGrad(() => torch.keep(m.forward(ids()).logits)));
  torch.manualSeed(11);
  torch.lora.applyLoRA(m, { r: 4, alpha: 8, targetModules: ['wte'] });
  const mods = torch.lora.loraModules(m);
  expect(mods.map(([n]) => n)).toEqual(['transformer.wte']);
  const emb = mods[0][1] as torch.lora.LoRAEmbedding;
  expect(emb).toBeInstanceOf(torch.lora.LoRAEmbedding);
  expect(m.namedParameters({ trainableOnly: true }).map(([n]) => n)).toEqual(['transformer.wte.lora_embedding_A', 'transformer.wte.lora_embedding_B']);
  expect(emb.lora_embedding_A.abs().max().item()).toBe(0);
  const initB = spawnSync('/usr/bin/python3', ['-c', `
import sys, json, torch, torch.nn as nn
sys.path.insert(0, ${JSON.stringify(path.join(__dirname, '..', 'scripts', 'reference'))})
import lora_ref
torch.manual_seed(11)
e = lora_ref.PeftLoraEmbedding(nn.Embedding(${cfg.vocab_size}, ${cfg.n_embd}, _weight=torch.zeros(${cfg.vocab_size}, ${cfg.n_embd})), 4, 8)
print(json.dumps(e.lora_embedding_B.tolist()))`], { encoding: 'utf8' });
  expect(initB.stderr).toBe('');
  expect(relErr(emb.lora_embedding_B, torch.tensor(JSON.parse(initB.stdout)))).toBeLessThan(1e-7);
  torch.tidy(() => expect(relErr(m.forward(ids()).logits, plainLogits)).toBeLessThan(1e-6));
  m.dispose();

  // With c_attn too, away from init, against the Python reference (PEFT's formulas and key names)
  const mixed = await torch.GPT2LMHeadModel.fromPretrained(base);
  torch.lora.applyLoRA(mixed, { r: 4, alpha: 8, targetModules: ['c_attn', 'wte'] });
  torch.manualSeed(12);
  torch.noGrad(() => { for (const [n, p] of mixed.namedParameters()) if (/lora_(B|embedding_[AB])/.test(n)) p.normal_(0, 0.05); });
  mixed.eval();
  const dir = path.join(tmp, 'wte-adapter');
  await torch.lora.saveAdapter(mixed, dir);
  const saved = torch.io.safetensors.loadFile(path.join(dir, 'adapter_model.safetensors')).tensors;
  expect([...saved.keys()].filter((k) => k.includes('wte')).sort()).toEqual(['base_model.model.transformer.wte.lora_embedding_A', 'base_model.model.transformer.wte.lora_embedding_B']);
  expect(saved.get('base_model.model.transformer.wte.lora_embedding_A')!.shape).toEqual([4, cfg.vocab_size]);
  const idsFile = path.join(tmp, 'wte-ids.json');
  fs.writeFileSync(idsFile, JSON.stringify(ids().tolist()));
  const out = path.join(tmp, 'wte-py.safetensors'), pyDir = path.join(tmp, 'wte-from-python');
  const r = spawnSync('/usr/bin/python3', [path.join(__dirname, '..', 'scripts', 'reference', 'peft_interop.py'), base, dir, idsFile, out, pyDir], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  const py = torch.io.safetensors.loadFile(out).tensors;
  expectLikeReference(mixed, py, saved.keys());
  // Python's adapter in ours
  const other = await torch.lora.loadAdapter(await torch.GPT2LMHeadModel.fromPretrained(base), pyDir);
  const expected = torch.io.safetensors.loadFile(path.join(pyDir, 'expected_logits.safetensors')).tensors.get('logits')!;
  torch.tidy(() => expect(relErr(other.eval().forward(ids()).logits, expected)).toBeLessThan(1e-5));
  // Gradient checkpointing reaches the embedding's LoRA too: the same gradients
  const grads = new Map(mixed.namedParameters({ trainableOnly: true }).map(([n, p]) => [n, torch.keep(p.grad!.clone())]));
  mixed.zeroGrad();
  mixed.gradientCheckpointingEnable();
  mixed.forwardBackward(ids(), { labels: ids() });
  for (const [n, p] of mixed.namedParameters({ trainableOnly: true })) expect([n, relErr(p.grad!, grads.get(n)!) < 1e-5]).toEqual([n, true]);
  // merge: the same logits (the tied lm_head takes the update too, as PEFT's merge); unmerge exactly; unload gives the plain Embedding back
  const w0 = torch.keep(mixed.transformer.wte.weight.clone());
  const before = torch.tidy(() => torch.noGrad(() => torch.keep(mixed.transformer.forward(ids()).hidden)));
  const warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
  torch.lora.merge(mixed);
  expect(warn.mock.calls.map((c) => c[0])).toEqual([expect.stringMatching(/merging into transformer.wte, whose table lm_head.weight shares \(tied weights\)/)]);
  torch.tidy(() => expect(relErr(torch.noGrad(() => mixed.transformer.forward(ids()).hidden), before)).toBeLessThan(1e-5));
  torch.lora.unmerge(mixed);
  torch.tidy(() => expect(relErr(mixed.transformer.wte.weight, w0)).toBeLessThan(1e-6));
  torch.lora.mergeAndUnload(mixed);
  warn.mockRestore();
  expect(mixed.transformer.wte).toBeInstanceOf(torch.nn.Embedding);
  expect(mixed.lm_head.weight).toBe(mixed.transformer.wte.weight);
  expect(() => torch.lora.applyLoRA(other, { targetModules: ['wte'] })).toThrow(/already has LoRA layers/);
  const seedModel = await torch.GPT2LMHeadModel.fromPretrained(base);
  expect(() => torch.lora.applyLoRA(seedModel, { mode: 'seed', targetModules: ['wte'] })).toThrow(/seed mode .* wraps Conv1D layers only/);
  const doraModel = await torch.GPT2LMHeadModel.fromPretrained(base);
  expect(() => torch.lora.applyLoRA(doraModel, { useDora: true, targetModules: ['wte', 'c_attn'] })).toThrow(/DoRA \(useDora\) on an embedding is not supported/);
  for (const t of [plainLogits, expected, w0, before, ...grads.values()]) t.dispose();
});

test('DoRA with dropout on: the dropped-out input drives both the magnitude term and the update, as PEFT', async () => {
  const m = await torch.GPT2LMHeadModel.fromPretrained(base);
  torch.lora.applyLoRA(m, { r: 4, alpha: 8, dropout: 0.5, useDora: true, targetModules: ['c_attn'] });
  randomizeLora(m, 6);
  const l = torch.lora.loraLayers(m)[0][1];
  torch.noGrad(() => l.lora_magnitude_vector.mul_(1.3));
  l.train();
  const x = torch.randn([2, 5, 32]);
  torch.manualSeed(11);
  const got = l.forward(x);
  // The same dropout mask, drawn again from the same generator state; PEFT's formula by hand.
  torch.manualSeed(11);
  const want = torch.tidy(() => {
    const xd = torch.nn.functional.dropout(x, 0.5, true);
    const W = l.base.weight, b = l.base.bias!;
    const n = W.add(l.lora_B.weight.matmul(l.lora_A.weight).t().mul(l.scaling)).norm(2, 0);
    const scale = l.lora_magnitude_vector.div(n);
    const loraOut = xd.matmul(l.lora_A.weight.t()).matmul(l.lora_B.weight.t());
    return x.matmul(W).add(b).add(xd.matmul(W).mul(scale.sub(1))).add(loraOut.mul(scale.mul(l.scaling))).keep();
  });
  expect(relErr(got, want)).toBeLessThan(1e-5);
});

test('loadAdapter errors: missing folder, wrong type, missing tensors', async () => {
  const m = await torch.GPT2LMHeadModel.fromPretrained(base);
  await expect(torch.lora.loadAdapter(m, path.join(tmp, 'nope'))).rejects.toThrow(/adapter_config\.json/);
  const bad = path.join(tmp, 'bad');
  fs.mkdirSync(bad, { recursive: true });
  fs.writeFileSync(path.join(bad, 'adapter_config.json'), JSON.stringify({ peft_type: 'IA3' }));
  await expect(torch.lora.loadAdapter(m, bad)).rejects.toThrow(/IA3/);
  // read directly (as eval and generate do): a missing or non-object config says what it needs
  expect(() => torch.lora.readAdapterConfig(base)).toThrow(/^adapter: cannot read .*adapter_config\.json \(no such file\); a PEFT adapter folder needs a readable adapter_config\.json$/);
  fs.writeFileSync(path.join(bad, 'adapter_config.json'), 'null');
  expect(() => torch.lora.readAdapterConfig(bad)).toThrow(/^adapter: .*adapter_config\.json must hold a JSON object/);
  fs.writeFileSync(path.join(bad, 'adapter_config.json'), JSON.stringify({ peft_type: 'LORA', r: 2, lora_alpha: 4, target_modules: ['c_attn'], fan_in_fan_out: true }));
  torch.io.safetensors.saveFile(path.join(bad, 'adapter_model.safetensors'), { x: torch.zeros([1]) });
  await expect(torch.lora.loadAdapter(m, bad)).rejects.toThrow(/lacks/);
  m.dispose();
});

test('options by PEFT\'s and HF\'s names are errors naming ours (target_modules, lora_alpha, attn_implementation, adapter_name), never quietly the defaults', async () => {
  const quiet = jest.spyOn(console, 'warn').mockImplementation(() => {});
  const model = await torch.GPT2LMHeadModel.fromPretrained(base);
  expect(() => torch.lora.applyLoRA(model, { r: 2, target_modules: ['c_fc'] } as never)).toThrow("LoRA: unknown option 'target_modules' (did you mean targetModules?)");
  expect(() => torch.lora.applyLoRA(model, { r: 2, lora_alpha: 32 } as never)).toThrow("LoRA: unknown option 'lora_alpha' (PEFT's lora_alpha is alpha here)");
  expect(() => torch.lora.applyLoRA(model, { r: 2, lora_dropout: 0.1 } as never)).toThrow("LoRA: unknown option 'lora_dropout' (PEFT's lora_dropout is dropout here)");
  // nothing was wrapped by the refused calls
  expect(torch.lora.loraConfig(model)).toBeNull();
  torch.lora.applyLoRA(model, { r: 2, alpha: 4, targetModules: ['c_fc'] });
  expect([...model.namedParameters({ trainableOnly: true })].map(([n]) => n).every((n) => n.includes('mlp.c_fc.lora_'))).toBe(true);
  expect(() => torch.lora.addAdapter(model, 'b', { rank: 4 } as never)).toThrow(/LoRA: unknown option 'rank'/);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-lora-opts-'));
  await expect(torch.lora.saveAdapter(model, dir, { adapter_name: 'default' } as never)).rejects.toThrow("saveAdapter: unknown option 'adapter_name' (did you mean adapterName?)");
  await expect(torch.GPT2LMHeadModel.fromPretrained(base, { attn_implementation: 'eager' } as never)).rejects.toThrow("GPT2LMHeadModel.fromPretrained: unknown option 'attn_implementation' (did you mean attnImplementation?)");
  await expect(torch.GPT2LMHeadModel.fromPretrained(base, { torch_dtype: 'float64' } as never)).rejects.toThrow("GPT2LMHeadModel.fromPretrained: unknown option 'torch_dtype' (it takes dtype, device, attnImplementation, revision, mmap)");
  await expect(torch.GPT2ForSequenceClassification.fromPretrained(base, { num_labels: 3 } as never)).rejects.toThrow("GPT2ForSequenceClassification.fromPretrained: unknown option 'num_labels' (did you mean numLabels?)");
  fs.rmSync(dir, { recursive: true, force: true });
  model.dispose();
  quiet.mockRestore();
});
