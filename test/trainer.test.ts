// Trainer behaviour: exact resume, checkpoint folders, save_total_limit, flat memory.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as torch from '../lib';
import { fixtures, learnBpe, pythonJson, referenceTensors, relErr, writeBpeFiles } from './helpers';

const base = path.join(fixtures, 'gpt2', 'tiny');
let tmp: string;
beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-trainer-')); });
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function dataset(): torch.data.TextDataset {
  torch.manualSeed(9);
  const tokens = Array.from(torch.randint(0, 101, [40 * 12]).data() as BigInt64Array, Number);
  return new torch.data.TextDataset(tokens, 12);
}

/** The tiny checkpoint with its dropouts off, in a folder of tmp: runs compared for their math. */
function dropoutFreeCopy(name: string): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir);
  fs.copyFileSync(path.join(base, 'model.safetensors'), path.join(dir, 'model.safetensors'));
  const config = JSON.parse(fs.readFileSync(path.join(base, 'config.json'), 'utf8'));
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...config, attn_pdrop: 0, embd_pdrop: 0, resid_pdrop: 0 }));
  return dir;
}

/** trainer.train() without its log lines on the console. */
function trainQuietly(trainer: torch.Trainer): torch.TrainResult {
  const log = jest.spyOn(console, 'log').mockImplementation(() => {});
  try {
    return trainer.train();
  } finally {
    log.mockRestore();
  }
}

/** A LoRA run on the tiny checkpoint (withEval: the same data as eval set). */
async function run(mode: 'seed' | 'peft', out: string, extra: Partial<torch.TrainingArguments> = {}, withEval = false) {
  const model = await torch.GPT2LMHeadModel.fromPretrained(base);
  torch.manualSeed(1); // the same LoRA init in every run
  torch.lora.applyLoRA(model, mode === 'seed' ? { mode, r: 2 } : { r: 4, alpha: 8, dropout: 0.1 });
  const data = dataset();
  const trainer = new torch.Trainer(model, {
    outputDir: out, maxSteps: 12, perDeviceTrainBatchSize: 4, learningRate: 1e-3, loggingSteps: 1, saveSteps: 5,
    progress: false, ...extra,
  }, data, withEval ? data : undefined);
  return { r: trainQuietly(trainer), model, trainer };
}

describe.each(['peft', 'seed'] as const)('%s LoRA training', (mode) => {
  test('interrupt and resume reproduces the uninterrupted run exactly (dropout on, epochs crossing)', async () => {
    const full = await run(mode, path.join(tmp, `full-${mode}`));
    const fullLosses = full.r.logHistory.filter((e) => e.loss !== undefined).map((e) => e.loss);
    expect(fullLosses.length).toBe(12);
    expect(fs.existsSync(path.join(tmp, `full-${mode}`, 'checkpoint-5', 'adapter_model.safetensors'))).toBe(true);
    expect(fs.existsSync(path.join(tmp, `full-${mode}`, 'checkpoint-10', 'optimizer.pt'))).toBe(true);

    // "Interrupted" run: only checkpoint-5 survives; resume it to the end.
    const out2 = path.join(tmp, `resumed-${mode}`);
    fs.mkdirSync(out2);
    fs.cpSync(path.join(tmp, `full-${mode}`, 'checkpoint-5'), path.join(out2, 'checkpoint-5'), { recursive: true });
    const resumed = await run(mode, out2, { resumeFromCheckpoint: true });
    const resumedLosses = resumed.r.logHistory.filter((e) => e.loss !== undefined).map((e) => e.loss);
    expect(resumedLosses).toEqual(fullLosses); // bit for bit
    const a = full.model.namedParameters({ trainableOnly: true }), b = new Map(resumed.model.namedParameters({ trainableOnly: true }));
    expect(a.length).toBeGreaterThan(0);
    for (const [n, t] of a) expect(b.get(n)!.bytes().equals(t.bytes())).toBe(true);
    for (const x of [full, resumed]) { x.trainer.optimizer.dispose(); x.model.dispose(); }
  });
});

test('saveOnInterrupt: a SIGINT during a step ends the run after it, with its log line, its checkpoint and TrainingInterrupted; resuming gives the uninterrupted run', async () => {
  const { pendingInterrupt } = await import('../lib/train/interrupts');
  const full = await run('peft', path.join(tmp, 'sigint-full'), { saveSteps: 0 });
  const out = path.join(tmp, 'sigint');
  const model = await torch.GPT2LMHeadModel.fromPretrained(base);
  torch.manualSeed(1); // (run()'s LoRA init)
  torch.lora.applyLoRA(model, { r: 4, alpha: 8, dropout: 0.1 });
  // Ctrl-C in the middle of step 3 (its callbacks run before its log line and checkpoint).
  const ctrlC = { onStepEnd: (state: torch.TrainerState) => {
    if (state.globalStep !== 3) return;
    process.kill(process.pid, 'SIGINT');
    for (const t0 = Date.now(); pendingInterrupt() === 0 && Date.now() - t0 < 5000;); // (noted by now, on whichever thread took it)
  } };
  const args = { outputDir: out, maxSteps: 12, perDeviceTrainBatchSize: 4, learningRate: 1e-3, loggingSteps: 5, saveSteps: 0, progress: false as const };
  const trainer = new torch.Trainer(model, { ...args, saveOnInterrupt: true }, dataset(), undefined, [ctrlC]);
  let stopped: unknown = null;
  try {
    trainQuietly(trainer);
  } catch (e) {
    stopped = e;
  }
  expect(stopped).toBeInstanceOf(torch.train.TrainingInterrupted);
  const e = stopped as InstanceType<typeof torch.train.TrainingInterrupted>;
  expect([e.signal, e.step, e.exitCode, e.resumable, e.checkpoint]).toEqual(['SIGINT', 3, 130, true, path.join(out, 'checkpoint-3')]);
  expect(e.message).toMatch(/training interrupted by SIGINT after step 3: checkpoint in .*checkpoint-3; resume from it/);
  expect(trainer.globalStep).toBe(3);
  expect(fs.readdirSync(out).filter((f) => f.startsWith('checkpoint-'))).toEqual(['checkpoint-3']); // (no save steps: written for the interrupt)
  // The steps since the last log line (1 to 3) got theirs, as the uninterrupted run's first 3 losses.
  const logged = trainer.logHistory.filter((l) => l.loss !== undefined);
  expect(logged.map((l) => l.step)).toEqual([3]);
  const fullLosses = full.r.logHistory.filter((l) => l.loss !== undefined).map((l) => l.loss!);
  expect(logged[0].loss).toBeCloseTo((fullLosses[0] + fullLosses[1] + fullLosses[2]) / 3, 6);
  // Resumed from checkpoint-3 to the end: the uninterrupted run, bit for bit.
  const resumed = await run('peft', out, { saveSteps: 0, resumeFromCheckpoint: true });
  expect(resumed.r.logHistory.filter((l) => l.loss !== undefined).map((l) => l.loss)).toEqual([logged[0].loss, ...fullLosses.slice(3)]);
  const a = full.model.namedParameters({ trainableOnly: true }), b = new Map(resumed.model.namedParameters({ trainableOnly: true }));
  for (const [n, t] of a) expect(b.get(n)!.bytes().equals(t.bytes())).toBe(true);
  // With saveOnlyModel the checkpoint is the weights alone: the error says it cannot resume.
  const onlyModel = new torch.Trainer(resumed.model, { ...args, outputDir: path.join(tmp, 'sigint-only-model'), saveOnlyModel: true, saveOnInterrupt: true }, dataset(), undefined, [ctrlC]);
  expect(() => trainQuietly(onlyModel)).toThrow(/training interrupted by SIGINT after step 3: its weights in .*checkpoint-3 \(saved with saveOnlyModel: they cannot resume the run\)/);
  onlyModel.optimizer.dispose();
  for (const x of [full, resumed, { trainer, model }]) { x.trainer.optimizer.dispose(); x.model.dispose(); }
});

test('save_total_limit keeps the newest checkpoints; a checkpoint is whole or absent', async () => {
  const out = path.join(tmp, 'limit');
  const { model, trainer } = await run('peft', out, { saveSteps: 3, saveTotalLimit: 2 });
  expect(torch.train.listCheckpoints(out).map((p) => path.basename(p))).toEqual(['checkpoint-9', 'checkpoint-12']);
  expect(fs.readdirSync(out).filter((n) => n.includes('.tmp-'))).toEqual([]);
  const state = JSON.parse(fs.readFileSync(path.join(out, 'checkpoint-12', 'trainer_state.json'), 'utf8'));
  expect(state.global_step).toBe(12);
  expect(() => new torch.Trainer(model, { outputDir: path.join(tmp, 'x'), resumeFromCheckpoint: path.join(out, 'nope'), progress: false }, dataset()).train())
    .toThrow(/not a complete checkpoint/);
  // A damaged state file is named, with what to do (not a bare SyntaxError).
  const damaged = path.join(tmp, 'limit-damaged');
  fs.cpSync(path.join(out, 'checkpoint-12'), damaged, { recursive: true });
  fs.writeFileSync(path.join(damaged, 'tstorch_state.json'), '{"optim": "sgd", "wor');
  const resumeDamaged = () => new torch.Trainer(model, { outputDir: path.join(tmp, 'x'), resumeFromCheckpoint: damaged, perDeviceTrainBatchSize: 4, progress: false }, dataset()).train();
  expect(resumeDamaged).toThrow(/resume: .*tstorch_state\.json is not valid JSON .*damaged: resume from an earlier one/);
  fs.copyFileSync(path.join(out, 'checkpoint-12', 'tstorch_state.json'), path.join(damaged, 'tstorch_state.json'));
  const opt = path.join(damaged, 'optimizer.pt');
  fs.truncateSync(opt, fs.statSync(opt).size - 100);
  expect(resumeDamaged).toThrow(/resume: the checkpoint .*limit-damaged is damaged \(optimizer\.pt: .*\): resume from an earlier one/);
  // another batch size would change the data order and the schedule: refused (HF's train_batch_size field)
  expect(() => new torch.Trainer(model, { outputDir: path.join(tmp, 'x'), resumeFromCheckpoint: path.join(out, 'checkpoint-12'), perDeviceTrainBatchSize: 2, progress: false }, dataset()).train())
    .toThrow(/resume: the checkpoint was trained with batch size 4, not 2/);
  // a model with another LoRA is told what the checkpoint's is, before anything is loaded
  const r2 = await torch.GPT2LMHeadModel.fromPretrained(base);
  torch.lora.applyLoRA(r2, { r: 2, alpha: 8, dropout: 0.1 });
  expect(() => new torch.Trainer(r2, { outputDir: path.join(tmp, 'x'), resumeFromCheckpoint: path.join(out, 'checkpoint-12'), perDeviceTrainBatchSize: 4, progress: false }, dataset()).train())
    .toThrow(/resume: .*checkpoint-12 was trained with another LoRA setup: r 4 \(this run: 2\); resume with the checkpoint's LoRA settings \(its adapter_config\.json\)/);
  r2.dispose();
  // HF's spelling of an argument is an error naming ours, not a run at the default learning rate
  expect(() => new torch.Trainer(model, { outputDir: path.join(tmp, 'x'), learning_rate: 1e-3 } as never, dataset())).toThrow("Trainer: unknown option 'learning_rate' (did you mean learningRate?)");
  expect(() => new torch.Trainer(model, { outputDir: path.join(tmp, 'x'), beta: 0.1 } as never, dataset())).toThrow(/Trainer: unknown option 'beta' \(it takes adamBeta1, /);
  // numbers and flags of the wrong type (a config read as text): said before anything trains
  expect(() => new torch.Trainer(model, { outputDir: path.join(tmp, 'x'), learningRate: '1e-4' } as never, dataset())).toThrow('Trainer: learningRate must be a number, got "1e-4"');
  expect(() => new torch.Trainer(model, { outputDir: path.join(tmp, 'x'), maxSteps: NaN }, dataset())).toThrow('Trainer: maxSteps must be a number, got NaN');
  expect(() => new torch.Trainer(model, { outputDir: path.join(tmp, 'x'), gradientCheckpointing: 'yes' } as never, dataset())).toThrow('Trainer: gradientCheckpointing must be true or false, got "yes"');
  trainer.optimizer.dispose();
  model.dispose();
});

const hfCheckpointRef = path.join(__dirname, '..', 'scripts', 'reference', 'hf_checkpoint_ref.py');
/** scripts/reference/hf_checkpoint_ref.py (check or rewrite) on a checkpoint of a 12-step run with 3 warm-up steps. */
function hfCheckpoint(cmd: 'check' | 'rewrite', ckpt: string, ...rest: string[]): void {
  const r = spawnSync('/usr/bin/python3', ['-W', 'ignore', hfCheckpointRef, cmd, ckpt, '3', '12', ...rest], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`hf_checkpoint_ref.py ${cmd} failed:\n${r.stderr}`);
}
/** The gradient both sides give parameter i for one fixed step. */
const fixedGrad = (p: torch.Tensor, i: number) => torch.arange(p.numel(), { dtype: p.dtype }).reshape(p.shape).mul(0.37).add(i).sin().mul(0.01);
/**
 * A 12-step run (3 warm-up steps, a checkpoint every 5) on the tiny model in modelDir, LoRA (r 4) or full:
 * its losses, model and warnings.
 */
async function hfLayoutRun(modelDir: string, lora: boolean, out: string, extra: Partial<torch.TrainingArguments> = {}, loraDropout = 0) {
  const model = await torch.GPT2LMHeadModel.fromPretrained(modelDir);
  torch.manualSeed(1);
  if (lora) torch.lora.applyLoRA(model, { r: 4, alpha: 8, dropout: loraDropout });
  const trainer = new torch.Trainer(model, { outputDir: out, maxSteps: 12, perDeviceTrainBatchSize: 4, learningRate: 1e-3, loggingSteps: 1, saveSteps: 5,
    warmupSteps: 3, progress: false, ...extra }, dataset());
  const log = jest.spyOn(console, 'log').mockImplementation(() => {});
  const warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
  try {
    const losses = trainer.train().logHistory.filter((e) => e.loss !== undefined).map((e) => e.loss);
    trainer.optimizer.dispose();
    return { losses, model, warnings: warn.mock.calls.map((c) => String(c[0])) };
  } finally {
    log.mockRestore();
    warn.mockRestore();
  }
}

test('checkpoints are HF Trainer\'s: trainer_state.json is its TrainerState, optimizer.pt and scheduler.pt load into torch.optim.AdamW and LambdaLR and step on as here', async () => {
  const out = path.join(tmp, 'hf-layout');
  const { model, trainer } = await run('peft', out, { saveSteps: 10, warmupSteps: 3, weightDecay: 0.01 });
  // HF's total_flos estimate: 6 x input tokens (10 steps of 4 x 12) x the parameters outside wte and wpe (LoRA's too)
  const nonEmbedding = model.namedParameters().filter(([n]) => !/^transformer\.(wte|wpe)\./.test(n)).reduce((k, [, p]) => k + p.numel(), 0);
  expect(nonEmbedding).toBe(25472 + 4096); // (the base model's, and LoRA's on the 4 Conv1D layers of the 2 blocks)
  trainer.optimizer.dispose();
  model.dispose();
  const ckpt = path.join(out, 'checkpoint-10');
  expect(fs.readdirSync(ckpt).sort()).toEqual(['README.md', 'adapter_config.json', 'adapter_model.safetensors', 'optimizer.pt', 'rng_state.bin', 'rng_state.pth', 'scheduler.pt',
    'trainable.safetensors', 'trainer_state.json', 'tstorch_state.json']);
  // HF's own formatting (json.dumps(asdict(state), indent=2, sort_keys=True) + newline)
  const text = fs.readFileSync(path.join(ckpt, 'trainer_state.json'), 'utf8');
  expect(text.endsWith('}\n')).toBe(true);
  const state = JSON.parse(text);
  expect(Object.keys(state)).toEqual(Object.keys(state).sort());
  expect(state.stateful_callbacks.TrainerControl.args.should_save).toBe(true);
  expect(state.total_flos).toBe(6 * 10 * 4 * 12 * nonEmbedding);

  const outJson = path.join(tmp, 'hf-layout.json');
  hfCheckpoint('check', ckpt, outJson, '42');
  const py = JSON.parse(fs.readFileSync(outJson, 'utf8'));
  expect([py.global_step, py.max_steps, py.epoch, py.train_batch_size]).toEqual([10, 12, 1, 4]);
  // rng_state.pth as HF's _save_rng_state writes it: Python's and NumPy's generators as set_seed(42) leaves them,
  // torch's where the run left it (rng_state.bin's bytes): what _load_rng_state restores draws as this generator does
  expect([py.rng.python_is_seeded, py.rng.numpy_is_seeded, py.rng.cpu_is_tstorchs]).toEqual([true, true, true]);
  torch.setRngState(fs.readFileSync(path.join(ckpt, 'rng_state.bin')));
  const draws = torch.rand([4]);
  expect(draws.tolist()).toEqual(py.rng.draws.torch);
  draws.dispose();
  expect(py.logged_steps).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  expect(py.steps).toEqual(Array(py.names.length).fill(11)); // (after its one step)

  // The same files loaded here, the same step taken: the same parameters and learning rates.
  const weights = torch.io.safetensors.loadFile(path.join(ckpt, 'trainable.safetensors')).tensors;
  const sd = torch.loadObject(path.join(ckpt, 'optimizer.pt')) as unknown as torch.optim.TorchOptimizerStateDict;
  const names = sd.param_groups.flatMap((g) => g.param_names as string[]);
  expect(names).toEqual(py.names);
  expect(sd.param_groups.length).toBe(py.groups);
  const params = new Map([...weights].map(([n, t]) => [n, t.clone().requiresGrad_()]));
  const opt = new torch.optim.AdamW(sd.param_groups.map((g) => ({ params: (g.param_names as string[]).map((n) => params.get(n)!), weightDecay: g.weight_decay as number })), { lr: 1e-3 });
  opt.loadStateDict(sd);
  const sched = new torch.optim.LRScheduler(opt, 'linear', 3, 12);
  sched.loadStateDict(torch.loadObject(path.join(ckpt, 'scheduler.pt')) as Record<string, unknown>);
  expect(sched.getLastLr()).toEqual(py.lr_loaded);
  names.forEach((n, i) => { const p = params.get(n)!; p.grad = fixedGrad(p, i); });
  opt.step();
  sched.step();
  expect(sched.getLastLr()).toEqual(py.lr_next);
  for (const n of names) {
    const got = params.get(n)!.flatten().tolist() as number[];
    const err = Math.max(...got.map((v, k) => Math.abs(v - py.stepped[n][k])));
    expect([n, err < 1e-7]).toEqual([n, true]);
  }
  opt.dispose();
  for (const t of [...weights.values(), ...params.values()]) t.dispose();
  for (const st of sd.state.values()) for (const v of Object.values(st)) if (v instanceof torch.Tensor) v.dispose();
});

test('processingClass (HF\'s processing_class): the tokenizer is saved into every checkpoint and by saveModel, and loads back from each', async () => {
  const tokDir = writeBpeFiles(path.join(tmp, 'pc-tokenizer'), learnBpe('the quick brown fox jumps over the lazy dog; the dog sleeps. '.repeat(20), 40));
  const tok = torch.tokenizerFor(tokDir);
  const out = path.join(tmp, 'pc');
  const model = await torch.GPT2LMHeadModel.fromPretrained(base);
  torch.lora.applyLoRA(model, { r: 2 });
  const trainer = new torch.Trainer(model, { outputDir: out, maxSteps: 4, perDeviceTrainBatchSize: 4, saveSteps: 2, loggingSteps: 2, progress: false }, dataset());
  trainer.processingClass = tok;
  const log = jest.spyOn(console, 'log').mockImplementation(() => {});
  try { trainer.train(); } finally { log.mockRestore(); }
  await trainer.saveModel();
  const direct = path.join(tmp, 'pc-direct');
  tok.savePretrained(direct);
  const text = 'the lazy fox sleeps over the quick dog';
  expect(tok.encode(text).length).toBeLessThan(text.length); // (merges apply: the test tells a wrong merges.txt)
  for (const dir of [path.join(out, 'checkpoint-2'), path.join(out, 'checkpoint-4'), out]) {
    for (const f of ['vocab.json', 'merges.txt', 'tokenizer_config.json', 'special_tokens_map.json']) {
      expect([dir, f, fs.readFileSync(path.join(dir, f), 'utf8') === fs.readFileSync(path.join(direct, f), 'utf8')]).toEqual([dir, f, true]);
    }
    expect(torch.tokenizerFor(dir).encode(text)).toEqual(tok.encode(text));
  }
  trainer.optimizer.dispose();
  model.dispose();
});

test('a checkpoint in HF Trainer\'s own layout (PyTorch\'s optimizer.pt and scheduler.pt, PEFT\'s adapter file, rng_state.pth; no tstorch files) resumes here exactly, dropout included', async () => {
  // (dropout on, in the model and in LoRA: the resumed run draws on from torch's generator state in rng_state.pth)
  const go = (out: string, extra: Partial<torch.TrainingArguments> = {}) => hfLayoutRun(base, true, out, extra, 0.1);
  const full = await go(path.join(tmp, 'hf-full'));
  const out2 = path.join(tmp, 'hf-resumed');
  fs.mkdirSync(out2);
  fs.cpSync(path.join(tmp, 'hf-full', 'checkpoint-5'), path.join(out2, 'checkpoint-5'), { recursive: true });
  hfCheckpoint('rewrite', path.join(out2, 'checkpoint-5'));
  expect(fs.readdirSync(path.join(out2, 'checkpoint-5')).sort()).toEqual(['README.md', 'adapter_config.json', 'adapter_model.safetensors', 'optimizer.pt', 'rng_state.pth', 'scheduler.pt', 'trainer_state.json']); // (PEFT writes a README.md into HF's checkpoints too)
  const resumed = await go(out2, { resumeFromCheckpoint: true });
  expect(resumed.warnings).toEqual([]);
  expect(resumed.losses).toEqual(full.losses); // bit for bit
  const a = new Map(resumed.model.namedParameters({ trainableOnly: true }));
  for (const [n, p] of full.model.namedParameters({ trainableOnly: true })) expect([n, relErr(a.get(n)!, p)]).toEqual([n, 0]);
  // HF keeps LoRA's empty no-decay group (its optimizer.pt has 2 groups, scheduler.pt 2 base_lrs);
  // a checkpoint without it (tstorch's before 2026-12) still resumes exactly
  const out3 = path.join(tmp, 'hf-one-group');
  fs.mkdirSync(out3);
  fs.cpSync(path.join(tmp, 'hf-full', 'checkpoint-5'), path.join(out3, 'checkpoint-5'), { recursive: true });
  const drop = spawnSync('/usr/bin/python3', ['-c', `
import sys, torch
d = sys.argv[1]
o = torch.load(d + "/optimizer.pt")
assert [len(g["params"]) for g in o["param_groups"]] == [16, 0], o["param_groups"]
o["param_groups"] = o["param_groups"][:1]
torch.save(o, d + "/optimizer.pt")
s = torch.load(d + "/scheduler.pt")
assert len(s["base_lrs"]) == 2
s["base_lrs"], s["_last_lr"] = s["base_lrs"][:1], s["_last_lr"][:1]
torch.save(s, d + "/scheduler.pt")`, path.join(out3, 'checkpoint-5')], { encoding: 'utf8' });
  expect(drop.stderr).toBe('');
  const oneGroup = await go(out3, { resumeFromCheckpoint: true });
  expect(oneGroup.losses).toEqual(full.losses);
  oneGroup.model.dispose();
  // an rng_state.pth that is not HF's, or is damaged: said, naming the file
  const pth = path.join(out2, 'checkpoint-5', 'rng_state.pth');
  const resumeAgain = async () => {
    const m = await torch.GPT2LMHeadModel.fromPretrained(base);
    torch.lora.applyLoRA(m, { r: 4, alpha: 8, dropout: 0.1 });
    try {
      new torch.Trainer(m, { outputDir: out2, maxSteps: 12, perDeviceTrainBatchSize: 4, progress: false, resumeFromCheckpoint: path.join(out2, 'checkpoint-5') }, dataset()).train();
    } finally {
      m.dispose();
    }
  };
  const zeros = torch.zeros([3]);
  torch.save({ python: null, cpu: zeros }, pth);
  zeros.dispose();
  await expect(resumeAgain()).rejects.toThrow(/resume: .*checkpoint-5\/rng_state\.pth holds no cpu generator state \(a uint8 tensor under 'cpu'\)/);
  fs.writeFileSync(pth, fs.readFileSync(pth).subarray(0, 100));
  await expect(resumeAgain()).rejects.toThrow(/resume: the checkpoint .*checkpoint-5 is damaged \(rng_state\.pth: torch checkpoint: /);
  // a checkpoint HF wrote for another LoRA setup: its adapter file is named, not half-loaded
  const other = await torch.GPT2LMHeadModel.fromPretrained(base);
  torch.lora.applyLoRA(other, { r: 4, alpha: 8, dropout: 0, targetModules: ['c_attn'] });
  expect(() => new torch.Trainer(other, { outputDir: out2, maxSteps: 12, perDeviceTrainBatchSize: 4, progress: false, resumeFromCheckpoint: path.join(out2, 'checkpoint-5') }, dataset()).train())
    .toThrow(/resume: .*checkpoint-5 was trained with another LoRA setup: target_modules \["c_attn","c_fc","c_proj"\] \(this run: \["c_attn"\]\); resume with the checkpoint's LoRA settings/);
  for (const m of [other, resumed.model, full.model]) m.dispose();
});

test('a full fine-tune\'s checkpoint in HF Trainer\'s own layout (model.safetensors, PyTorch\'s optimizer.pt over HF\'s decay groups) resumes here exactly', async () => {
  const modelDir = dropoutFreeCopy('hf-full-model');
  const go = (out: string, extra: Partial<torch.TrainingArguments> = {}) => hfLayoutRun(modelDir, false, out, { weightDecay: 0.01, ...extra });
  const full = await go(path.join(tmp, 'hf-ft-full'));
  const out2 = path.join(tmp, 'hf-ft-resumed');
  fs.mkdirSync(out2);
  fs.cpSync(path.join(tmp, 'hf-ft-full', 'checkpoint-5'), path.join(out2, 'checkpoint-5'), { recursive: true });
  hfCheckpoint('rewrite', path.join(out2, 'checkpoint-5'));
  expect(fs.readdirSync(path.join(out2, 'checkpoint-5')).sort()).toEqual(['config.json', 'generation_config.json', 'model.safetensors', 'optimizer.pt', 'rng_state.pth', 'scheduler.pt', 'trainer_state.json']);
  // Without its generators' file (a checkpoint of a distributed run read by one process, say) it resumes with a warning.
  fs.rmSync(path.join(out2, 'checkpoint-5', 'rng_state.pth'));
  const resumed = await go(out2, { resumeFromCheckpoint: true });
  expect(resumed.warnings).toEqual([expect.stringMatching(/checkpoint-5 has no rng_state\.pth \(the generators' state\); dropout will draw other numbers/)]);
  expect(resumed.losses).toEqual(full.losses); // bit for bit
  const a = new Map(resumed.model.namedParameters());
  for (const [n, p] of full.model.namedParameters()) expect([n, relErr(a.get(n)!, p)]).toEqual([n, 0]);
  full.model.dispose();
  resumed.model.dispose();
});

test('a checkpoint tstorch wrote before HF\'s layout (optimizer.safetensors, optimizer.json, scheduler.json, its state in trainer_state.json) still resumes exactly', async () => {
  // (test/fixtures/trainer-checkpoint-v1: checkpoint-5 of this very run, written by tstorch before the change)
  const full = await run('peft', path.join(tmp, 'v1-full'), { warmupSteps: 3 });
  const out = path.join(tmp, 'v1-resumed');
  fs.mkdirSync(out);
  fs.cpSync(path.join(fixtures, 'trainer-checkpoint-v1'), path.join(out, 'checkpoint-5'), { recursive: true });
  const resumed = await run('peft', out, { warmupSteps: 3, resumeFromCheckpoint: true });
  const losses = (r: torch.TrainResult) => r.logHistory.filter((e) => e.loss !== undefined).map((e) => e.loss);
  // The fixture's weights and moments were computed on another machine, whose BLAS kernels round
  // otherwise (on an AMD EPYC, 4e-8 to 3e-6 relative in the weights after the 7 resumed steps, Adam
  // amplifying the near-zero B factors' differences): equal within 1e-4, far under what a misread
  // state would give (Adam's step count off by one moves its bias correction by 20%).
  expect(losses(resumed.r).map((l) => l!.toPrecision(5))).toEqual(losses(full.r).map((l) => l!.toPrecision(5)));
  const a = new Map(resumed.model.namedParameters({ trainableOnly: true }));
  for (const [n, p] of full.model.namedParameters({ trainableOnly: true })) expect([n, relErr(a.get(n)!, p) < 1e-4]).toEqual([n, true]);
  expect(fs.existsSync(path.join(out, 'checkpoint-10', 'tstorch_state.json'))).toBe(true); // what it writes next is the new layout
  // (its one saved group is the first of two here: the empty no-decay group keeps a real lr)
  expect(resumed.trainer.optimizer.paramGroups.map((g) => [g.params.length > 0, g.lr])).toEqual(full.trainer.optimizer.paramGroups.map((g) => [g.params.length > 0, g.lr]));
  for (const x of [full, resumed]) { x.trainer.optimizer.dispose(); x.model.dispose(); }
});

test('a checkpoint from before HF\'s layout whose optimizer kept only the no-decay group (BitFit, SGD with momentum) resumes exactly, momentum and schedule included', async () => {
  // tstorch left empty groups out before 2026-12; here the decay group is the empty one, so the
  // saved group 0 is the Trainer's group 1 now, its momentum keyed '0.<index>'.
  const modelDir = dropoutFreeCopy('bitfit-model');
  const go = async (out: string, extra: Partial<torch.TrainingArguments> = {}) => {
    const model = await torch.GPT2LMHeadModel.fromPretrained(modelDir);
    for (const [n, p] of model.namedParameters()) p.requiresGrad_(n.endsWith('.bias'));
    const trainer = new torch.Trainer(model, {
      outputDir: out, maxSteps: 10, perDeviceTrainBatchSize: 4, learningRate: 0.05, weightDecay: 0.01, warmupSteps: 2, loggingSteps: 1, saveSteps: 5,
      optim: 'sgd', optimArgs: 'momentum=0.9', progress: false, ...extra,
    }, dataset());
    return { r: trainQuietly(trainer), model, trainer };
  };
  const full = await go(path.join(tmp, 'bitfit-full'));
  const biases = full.model.namedParameters().filter(([n]) => n.endsWith('.bias')).length;
  expect(full.trainer.optimizer.paramGroups.map((g) => g.params.length)).toEqual([0, biases]);
  // checkpoint-5 rewritten as tstorch wrote it then: optimizer.safetensors and optimizer.json (the
  // flat layout, one group), scheduler.json (one base lr), its own state in trainer_state.json.
  const out2 = path.join(tmp, 'bitfit-resumed'), ck = path.join(out2, 'checkpoint-5');
  fs.mkdirSync(out2);
  fs.cpSync(path.join(tmp, 'bitfit-full', 'checkpoint-5'), ck, { recursive: true });
  const opt = torch.loadObject(path.join(ck, 'optimizer.pt')) as torch.optim.TorchOptimizerStateDict;
  const sched = torch.loadObject(path.join(ck, 'scheduler.pt')) as { base_lrs: number[]; last_epoch: number };
  const kept = opt.param_groups[1], ids = kept.params as number[];
  expect([opt.param_groups[0].params, ids.length]).toEqual([[], biases]);
  const state = (id: number) => (opt.state.get(id) ?? (opt.state as unknown as Map<bigint, Record<string, unknown>>).get(BigInt(id)))!;
  const momentum = new Map(ids.map((id, i) => [`0.${i}.momentum_buffer`, state(id).momentum_buffer as torch.Tensor]));
  torch.io.safetensors.saveFile(path.join(ck, 'optimizer.safetensors'), momentum);
  const camel = (k: string) => k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  const settings = Object.fromEntries(Object.entries(kept).filter(([k]) => k !== 'params' && k !== 'param_names').map(([k, v]) => [camel(k), v]));
  fs.writeFileSync(path.join(ck, 'optimizer.json'), JSON.stringify({ optim: 'sgd', steps: {}, groups: [settings] }));
  fs.writeFileSync(path.join(ck, 'scheduler.json'), JSON.stringify({ lastEpoch: sched.last_epoch, baseLrs: [sched.base_lrs[1]], kind: 'linear', warmupSteps: 2, totalSteps: 10, kwargs: {} }));
  const merged = { ...JSON.parse(fs.readFileSync(path.join(ck, 'trainer_state.json'), 'utf8')), ...JSON.parse(fs.readFileSync(path.join(ck, 'tstorch_state.json'), 'utf8')) };
  fs.writeFileSync(path.join(ck, 'trainer_state.json'), JSON.stringify(merged));
  for (const f of ['tstorch_state.json', 'optimizer.pt', 'scheduler.pt']) fs.rmSync(path.join(ck, f));
  for (const t of momentum.values()) t.dispose();
  const resumed = await go(out2, { resumeFromCheckpoint: true });
  const losses = (r: torch.TrainResult) => r.logHistory.filter((e) => e.loss !== undefined).map((e) => e.loss);
  expect(losses(resumed.r)).toEqual(losses(full.r)); // bit for bit: the momentum and the lr came back where they belong
  const a = new Map(resumed.model.namedParameters());
  for (const [n, p] of full.model.namedParameters()) expect([n, relErr(a.get(n)!, p)]).toEqual([n, 0]);
  for (const x of [full, resumed]) { x.trainer.optimizer.dispose(); x.model.dispose(); }
});

test('what a run killed mid-write leaves is tidied by the next run: dead temporaries removed, a moved-aside checkpoint restored', async () => {
  const out = path.join(tmp, 'interrupted');
  const first = await run('peft', out, { maxSteps: 6, saveSteps: 3 });
  first.trainer.optimizer.dispose();
  first.model.dispose();
  const dead = spawnSync(process.execPath, ['-e', '']).pid!; // a process that has exited
  // As a kill at each point of writeDirAtomic / writeFileAtomic leaves them:
  fs.mkdirSync(path.join(out, `checkpoint-9.tmp-${dead}-1`));                     // killed while filling
  fs.writeFileSync(path.join(out, `checkpoint-9.tmp-${dead}-1`, 'partial'), 'x');
  fs.renameSync(path.join(out, 'checkpoint-6'), path.join(out, `checkpoint-6.old-${dead}-2`)); // between the renames
  fs.writeFileSync(path.join(out, `.metrics.jsonl.tmp-${dead}-3`), 'x');           // a file write
  fs.mkdirSync(path.join(out, `checkpoint-12.tmp-${process.pid}-4`));             // a live writer's: kept
  expect(torch.train.listCheckpoints(out).map((p) => path.basename(p))).toEqual(['checkpoint-3']);
  const err = jest.spyOn(console, 'error').mockImplementation(() => {});
  const resumed = await run('peft', out, { maxSteps: 8, saveSteps: 0, resumeFromCheckpoint: true });
  const notes = err.mock.calls.map((c) => String(c[0]));
  err.mockRestore();
  expect(notes.some((n) => /restored checkpoint-6/.test(n))).toBe(true);
  expect(notes.filter((n) => /removed .*\.tmp-/.test(n)).length).toBe(2);
  // It resumed from the restored checkpoint-6 (the latest whole one), not from checkpoint-3:
  // this call trained steps 7 and 8 only (trainLoss is the mean of this call's losses).
  const logged = resumed.r.logHistory.filter((e) => e.loss !== undefined);
  expect(logged.map((e) => e.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  expect(resumed.r.trainLoss).toBeCloseTo((logged[6].loss! + logged[7].loss!) / 2, 10);
  expect(torch.train.listCheckpoints(out).map((p) => path.basename(p))).toEqual(['checkpoint-3', 'checkpoint-6']);
  expect(fs.readdirSync(out).filter((n) => /\.(tmp|old)-/.test(n))).toEqual([`checkpoint-12.tmp-${process.pid}-4`]);
  resumed.trainer.optimizer.dispose();
  resumed.model.dispose();
});

test('training runs at flat memory: live tensors and bytes do not grow with steps', async () => {
  const out = path.join(tmp, 'flat');
  const { r, model, trainer } = await run('peft', out, { maxSteps: 40, saveSteps: 0 });
  const live = r.logHistory.filter((e) => e.live_tensors !== undefined).map((e) => e.live_tensors!);
  // After the first step creates the optimizer state, the count never moves.
  expect(new Set(live.slice(1)).size).toBe(1);
  trainer.optimizer.dispose();
  model.dispose();
});

test('full fine-tuning through the same Trainer saves a Hugging Face folder', async () => {
  const model = await torch.GPT2LMHeadModel.fromPretrained(base);
  const out = path.join(tmp, 'fullft');
  const trainer = new torch.Trainer(model, { outputDir: out, maxSteps: 3, perDeviceTrainBatchSize: 4, saveSteps: 0, progress: false, loggingSteps: 1 }, dataset());
  const log = jest.spyOn(console, 'log').mockImplementation(() => {});
  trainer.train();
  log.mockRestore();
  await trainer.saveModel();
  const again = await torch.GPT2LMHeadModel.fromPretrained(out);
  expect(again.numParameters()).toBe(model.numParameters());
  trainer.optimizer.dispose();
  model.dispose();
  again.dispose();
});

test('full fine-tuning resumes exactly from a checkpoint holding the model file only (one file, shards, or pytorch_model.bin with saveSafetensors false)', async () => {
  const run = async (out: string, extra: Partial<torch.TrainingArguments> = {}) => {
    const model = await torch.GPT2LMHeadModel.fromPretrained(base);
    const trainer = new torch.Trainer(model, { outputDir: out, maxSteps: 8, perDeviceTrainBatchSize: 4, learningRate: 1e-3, loggingSteps: 1, saveSteps: 4, progress: false, ...extra }, dataset());
    const log = jest.spyOn(console, 'log').mockImplementation(() => {});
    const losses = trainer.train().logHistory.filter((e) => e.loss !== undefined).map((e) => e.loss);
    log.mockRestore();
    trainer.optimizer.dispose();
    model.dispose();
    return losses;
  };
  const a = path.join(tmp, 'full-a'), b = path.join(tmp, 'full-b');
  const uninterrupted = await run(a);
  expect(fs.existsSync(path.join(a, 'checkpoint-4', 'trainable.safetensors'))).toBe(false);
  fs.mkdirSync(b);
  fs.cpSync(path.join(a, 'checkpoint-4'), path.join(b, 'checkpoint-4'), { recursive: true });
  expect(await run(b, { resumeFromCheckpoint: true })).toEqual(uninterrupted);
  // A checkpoint whose model is in shards (as past 5GB: here re-saved with a small maxShardSize),
  // and one written with saveSafetensors false (HF's save_safetensors=False: pytorch_model.bin),
  // resume the same.
  const c = path.join(tmp, 'full-c');
  fs.cpSync(path.join(a, 'checkpoint-4'), path.join(c, 'checkpoint-4'), { recursive: true });
  const resaved = await torch.GPT2LMHeadModel.fromPretrained(path.join(c, 'checkpoint-4'));
  await resaved.savePretrained(path.join(c, 'checkpoint-4'), { maxShardSize: '20kB' });
  resaved.dispose();
  expect(fs.readdirSync(path.join(c, 'checkpoint-4')).filter((n) => n.startsWith('model'))).toContain('model.safetensors.index.json');
  expect(await run(c, { resumeFromCheckpoint: true })).toEqual(uninterrupted);
  const d = path.join(tmp, 'full-d');
  expect(await run(d, { saveSafetensors: false })).toEqual(uninterrupted);
  expect(fs.readdirSync(path.join(d, 'checkpoint-4')).filter((n) => n.includes('model'))).toEqual(['pytorch_model.bin']);
  expect(fs.readdirSync(d).filter((n) => n.includes('model'))).toEqual([]); // (run() saves no final model)
  for (const n of fs.readdirSync(d)) if (n !== 'checkpoint-4') fs.rmSync(path.join(d, n), { recursive: true });
  expect(await run(d, { resumeFromCheckpoint: true, saveSafetensors: false })).toEqual(uninterrupted);
  // a checkpoint without its weights says which files it lacks
  fs.rmSync(path.join(d, 'checkpoint-4', 'pytorch_model.bin'));
  await expect(run(d, { resumeFromCheckpoint: path.join(d, 'checkpoint-4') })).rejects.toThrow(/checkpoint-4 is not a complete checkpoint \(no model\.safetensors \(or its shards, or pytorch_model\.bin\)\)/);
});

describe('gradient accumulation', () => {
  // The tiny checkpoint with its dropouts off, and 19 blocks: the comparison is of the math, and
  // each epoch ends in a ragged step (micro-batches 2+2+2, 2+2+2, 2+2+2, 1 against batches 6, 6, 6, 1).
  let nodrop: string;
  const data = () => {
    torch.manualSeed(11);
    return new torch.data.TextDataset(Array.from(torch.randint(0, 101, [19 * 12]).data() as BigInt64Array, Number), 12);
  };
  beforeAll(() => { nodrop = dropoutFreeCopy('tiny-nodrop'); });
  const train = async (out: string, batch: number, accumulation: number, extra: Partial<torch.TrainingArguments> = {}) => {
    const model = await torch.GPT2LMHeadModel.fromPretrained(nodrop);
    torch.manualSeed(3);
    torch.lora.applyLoRA(model, { r: 4, alpha: 8, dropout: 0 });
    const trainer = new torch.Trainer(model, {
      outputDir: out, maxSteps: 10, perDeviceTrainBatchSize: batch, gradientAccumulationSteps: accumulation,
      learningRate: 1e-2, loggingSteps: 1, saveSteps: 5, progress: false, ...extra,
    }, data());
    return { r: trainQuietly(trainer), model, trainer };
  };
  const logged = (r: torch.TrainResult) => r.logHistory.filter((e) => e.loss !== undefined);

  test('3 micro-batches of 2 per step train as batches of 6: losses and grad norms within 1e-5, adapter 1e-4; resume exact', async () => {
    const one = await train(path.join(tmp, 'ga-one'), 6, 1);
    const acc = await train(path.join(tmp, 'ga-acc'), 2, 3);
    expect(acc.trainer.stepsPerEpoch).toBe(4);
    expect(one.trainer.stepsPerEpoch).toBe(4);
    const a = logged(one.r), b = logged(acc.r);
    expect(a.length).toBe(10);
    expect(b.map((e) => e.step)).toEqual(a.map((e) => e.step));
    a.forEach((e, i) => {
      expect(Math.abs(b[i].loss! - e.loss!) / e.loss!).toBeLessThan(1e-5);
      expect(Math.abs(b[i].grad_norm! - e.grad_norm!) / e.grad_norm!).toBeLessThan(1e-5);
    });
    expect(acc.r.tokensPerSecond).toBeGreaterThan(0);
    const wa = one.model.namedParameters({ trainableOnly: true }), wb = new Map(acc.model.namedParameters({ trainableOnly: true }));
    expect(wa.length).toBe(16); // A and B of 4 modules in each of 2 layers
    // 1e-4, not 1e-5: Adam divides each element's gradient by that element's own running RMS, so
    // elements whose true gradient is ~0 (query and key rows of the last layer's c_attn lora_B,
    // where this random tiny model's attention is nearly flat: 75 of 384 below 1e-6) move by
    // about lr on float rounding alone. Measured 6e-5 there, under 4e-6 elsewhere; the gradients
    // themselves agree to 1e-6 (next test).
    for (const [n, t] of wa) expect(relErr(wb.get(n)!, t)).toBeLessThan(1e-4);
    // The adapter moved: the comparison is not of two untouched initialisations.
    expect(torch.tidy(() => wa.find(([n]) => n.endsWith('lora_B.weight'))![1].abs().max().item() as number)).toBeGreaterThan(1e-3);

    // Resume with the same accumulation continues bit for bit; with another it is refused.
    const out2 = path.join(tmp, 'ga-resumed');
    fs.mkdirSync(out2);
    fs.cpSync(path.join(tmp, 'ga-acc', 'checkpoint-5'), path.join(out2, 'checkpoint-5'), { recursive: true });
    const resumed = await train(out2, 2, 3, { resumeFromCheckpoint: true });
    expect(logged(resumed.r).map((e) => e.loss)).toEqual(b.map((e) => e.loss));
    await expect(train(out2, 2, 1, { resumeFromCheckpoint: true })).rejects.toThrow(/trained with 3 gradient accumulation steps, not 1/);
    // Other data (one block fewer) is refused too: it would silently change the order and the schedule.
    const other = await torch.GPT2LMHeadModel.fromPretrained(nodrop);
    torch.lora.applyLoRA(other, { r: 4, alpha: 8, dropout: 0 });
    const fewer = new torch.Trainer(other, { outputDir: out2, maxSteps: 10, perDeviceTrainBatchSize: 2, gradientAccumulationSteps: 3, progress: false, resumeFromCheckpoint: true },
      new torch.data.TextDataset(data().blocks.slice(1), 12));
    expect(() => fewer.train()).toThrow(/trained on 19 blocks \(or examples\), this run has 18/);
    for (const x of [one, acc, resumed]) { x.trainer.optimizer.dispose(); x.model.dispose(); }
  });

  test('trainingStep: the gradient of 3 micro-batches is the gradient of their one batch (1e-6)', async () => {
    const grads: Map<string, torch.Tensor>[] = [];
    const losses: number[] = [];
    for (const [batch, accumulation] of [[6, 1], [2, 3]]) {
      const model = await torch.GPT2LMHeadModel.fromPretrained(nodrop);
      torch.manualSeed(3);
      torch.lora.applyLoRA(model, { r: 4, alpha: 8, dropout: 0 });
      // B nonzero, so that every A gets a gradient too
      torch.noGrad(() => { for (const [n, p] of model.namedParameters({ trainableOnly: true })) if (n.endsWith('lora_B.weight')) p.copy_(torch.tidy(() => torch.randn(p.shape).mul(0.1))); });
      const trainer = new torch.Trainer(model, { outputDir: path.join(tmp, 'ga-grad'), perDeviceTrainBatchSize: batch, gradientAccumulationSteps: accumulation, progress: false }, data());
      const steps = trainer.stepsFor(0);
      expect(steps.map((s) => s.map((m) => m.length))).toEqual(batch === 6 ? [[6], [6], [6], [1]] : [[2, 2, 2], [2, 2, 2], [2, 2, 2], [1]]);
      const loss = trainer.trainingStep(steps[0]);
      losses.push(loss.item() as number);
      loss.dispose();
      grads.push(new Map(model.namedParameters({ trainableOnly: true }).map(([n, p]) => [n, p.grad!])));
    }
    expect(Math.abs(losses[1] - losses[0]) / losses[0]).toBeLessThan(1e-6);
    expect(grads[0].size).toBe(16);
    for (const [n, g] of grads[0]) expect(relErr(grads[1].get(n)!, g)).toBeLessThan(1e-6);
  });

  test('dataloaderDropLast: each epoch trains on whole batches only (HF\'s dataloader_drop_last); the batches kept are the plain run\'s', async () => {
    const opts = { maxSteps: -1, numTrainEpochs: 2, lrSchedulerType: 'constant' as const };
    const plain = await train(path.join(tmp, 'dl-plain'), 6, 1, opts);
    const dropped = await train(path.join(tmp, 'dl-drop'), 6, 1, { ...opts, dataloaderDropLast: true });
    // 19 blocks: batches 6, 6, 6 and 1; the 1 is left out
    expect([plain.trainer.stepsPerEpoch, dropped.trainer.stepsPerEpoch]).toEqual([4, 3]);
    for (const e of [0, 1]) {
      expect(dropped.trainer.stepsFor(e)).toEqual(plain.trainer.stepsFor(e).slice(0, 3));
      expect(plain.trainer.stepsFor(e)[3][0]).toHaveLength(1);
    }
    expect([plain.r.globalStep, dropped.r.globalStep]).toEqual([8, 6]);
    const a = logged(plain.r), b = logged(dropped.r);
    // the first three steps are the same math (constant lr); the dropped run's epoch ends after them
    expect(b.slice(0, 3).map((e) => e.loss)).toEqual(a.slice(0, 3).map((e) => e.loss));
    expect(b.map((e) => e.epoch)).toEqual([1, 2, 3, 4, 5, 6].map((s) => s / 3));
    expect(Math.abs(b[3].loss! - a[3].loss!)).toBeGreaterThan(0); // (the plain run trained on the short batch first)
    // accumulated micro-batches: the short one is left out, so each step takes 3 whole ones
    const acc = await train(path.join(tmp, 'dl-acc'), 2, 3, { maxSteps: 1, dataloaderDropLast: true });
    expect(acc.trainer.stepsFor(0).map((s) => s.map((m) => m.length))).toEqual([[2, 2, 2], [2, 2, 2], [2, 2, 2]]);
    await expect(train(path.join(tmp, 'dl-none'), 20, 1, { dataloaderDropLast: true })).rejects.toThrow(/dataloaderDropLast leaves no batch: the 19 items, fewer than perDeviceTrainBatchSize 20; lower the batch size/);
    for (const x of [plain, dropped, acc]) { x.trainer.optimizer.dispose(); x.model.dispose(); }
  });

  test('bad values are refused', async () => {
    for (const bad of [0, -1, 1.5]) {
      await expect(train(path.join(tmp, 'ga-bad'), 2, bad)).rejects.toThrow(/gradientAccumulationSteps must be a positive integer/);
    }
  });
});

test('labelSmoothingFactor: the training loss is HF\'s LabelSmoother on shifted labels (Python reference, padding ignored), through gradient checkpointing too; eval stays plain', async () => {
  const model = await torch.GPT2LMHeadModel.fromPretrained(base);
  model.eval();
  torch.manualSeed(3);
  const ids = torch.randint(0, 101, [2, 9]);
  const labels = ids.clone();
  torch.noGrad(() => labels.index(1).narrow(0, 6, 3).fill_(-100)); // padding at the end of row 1
  const logits = torch.noGrad(() => model.forward(ids).logits);
  const ours = torch.causalLmLoss(logits, labels, 0.1).item() as number;
  const r = spawnSync('/usr/bin/python3', ['-c', `
import json, sys, torch
logits = torch.tensor(json.loads(sys.argv[1])); labels = torch.tensor(json.loads(sys.argv[2]))
# transformers.trainer_pt_utils.LabelSmoother(epsilon=0.1), shift_labels=True
logits = logits[..., :-1, :].contiguous(); labels = labels[..., 1:].contiguous()
log_probs = -torch.nn.functional.log_softmax(logits, dim=-1)
labels = labels.unsqueeze(-1)
padding_mask = labels.eq(-100)
labels = torch.clamp(labels, min=0)
nll_loss = log_probs.gather(dim=-1, index=labels)
smoothed_loss = log_probs.sum(dim=-1, keepdim=True, dtype=torch.float32)
nll_loss.masked_fill_(padding_mask, 0.0); smoothed_loss.masked_fill_(padding_mask, 0.0)
n = padding_mask.numel() - padding_mask.long().sum()
print(json.dumps(float(0.9 * nll_loss.sum() / n + 0.1 * smoothed_loss.sum() / (n * log_probs.shape[-1]))))`, JSON.stringify(logits.tolist()), JSON.stringify(labels.tolist())], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(Math.abs(ours - JSON.parse(r.stdout))).toBeLessThan(1e-5);
  const plain = torch.causalLmLoss(logits, labels).item() as number;
  expect(Math.abs(ours - plain)).toBeGreaterThan(1e-3);
  // the model's loss, and forwardBackward with and without gradient checkpointing
  expect(Math.abs((model.forward(ids, { labels, labelSmoothing: 0.1 }).loss!.item() as number) - ours)).toBeLessThan(1e-6);
  model.zeroGrad();
  const l1 = model.forwardBackward(ids, { labels, labelSmoothing: 0.1 }).item() as number;
  const g1 = torch.keep(model.transformer.wte.weight.grad!.clone());
  model.zeroGrad();
  model.gradientCheckpointingEnable();
  const l2 = model.forwardBackward(ids, { labels, labelSmoothing: 0.1 }).item() as number;
  expect(Math.abs(l1 - ours)).toBeLessThan(1e-6);
  expect(Math.abs(l2 - ours)).toBeLessThan(1e-6);
  expect(relErr(model.transformer.wte.weight.grad!, g1)).toBeLessThan(1e-5);
  // the Trainer: a step's loss is the smoothed one; evaluation is plain cross-entropy
  const lora = await torch.GPT2LMHeadModel.fromPretrained(base);
  torch.lora.applyLoRA(lora, { r: 2, dropout: 0 });
  const data = dataset();
  const trainer = new torch.Trainer(lora, { outputDir: path.join(tmp, 'smooth'), maxSteps: 1, perDeviceTrainBatchSize: 4, labelSmoothingFactor: 0.1, progress: false }, data, data);
  lora.eval();
  const batch = data.collate([0, 1, 2, 3], 'cpu');
  const want = torch.noGrad(() => lora.forward(batch.inputIds, { labels: batch.labels, labelSmoothing: 0.1 }).loss!.item()) as number;
  expect(Math.abs((trainer.trainingStep([[0, 1, 2, 3]]).item() as number) - want)).toBeLessThan(1e-6);
  const ev = trainer.evaluate();
  const plainEval = torch.train.evaluate(lora, data, { batchSize: 8 }).loss;
  expect(Math.abs(ev.eval_loss - plainEval)).toBeLessThan(1e-6);
  expect(() => new torch.Trainer(lora, { outputDir: tmp, labelSmoothingFactor: 1 }, data)).toThrow(/labelSmoothingFactor must be in \[0, 1\)/);
  g1.dispose();
});

test('reduce_lr_on_plateau: the lr is cut after evaluations without improvement, as torch\'s ReduceLROnPlateau fed the same eval losses (HF steps it after each evaluation); a checkpoint resumes it exactly', async () => {
  const kwargs = { factor: 0.5, patience: 1, threshold: 0.02, cooldown: 1 };
  const train = async (out: string, extra: Partial<torch.TrainingArguments> = {}) => {
    const { r, model } = await run('peft', out, { learningRate: 5e-3, evalSteps: 1, lrSchedulerType: 'reduce_lr_on_plateau', lrSchedulerKwargs: kwargs, ...extra }, true);
    model.dispose();
    return r;
  };
  const r = await train(path.join(tmp, 'plateau'));
  const evals = r.logHistory.filter((e) => e.eval_loss !== undefined).map((e) => e.eval_loss!);
  const lrs = r.logHistory.filter((e) => e.loss !== undefined).map((e) => e.learning_rate!);
  expect(evals.length).toBe(12);
  const want = pythonJson<number[]>(`
import json, sys, torch
p = torch.zeros(1, requires_grad=True)
opt = torch.optim.SGD([p], lr=5e-3)
sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", **json.loads(sys.argv[2]))
lrs = []
for loss in json.loads(sys.argv[1]):
    lrs.append(opt.param_groups[0]["lr"])  # the step's log line comes before its evaluation
    sched.step(loss)
print(json.dumps(lrs))`, JSON.stringify(evals), JSON.stringify(kwargs));
  expect(lrs).toEqual(want);
  expect(new Set(lrs).size).toBeGreaterThan(1); // it did cut
  // resumed from checkpoint-5, steps 6-12 are the straight run's
  const resumed = await train(path.join(tmp, 'plateau-resumed'), { resumeFromCheckpoint: path.join(tmp, 'plateau', 'checkpoint-5') });
  const tail = (x: torch.TrainResult) => x.logHistory.filter((e) => e.step > 5).map((e) => [e.loss, e.learning_rate, e.eval_loss]);
  expect(tail(resumed)).toEqual(tail(r));
  const model = await torch.GPT2LMHeadModel.fromPretrained(base);
  torch.lora.applyLoRA(model, { r: 2 });
  expect(() => new torch.Trainer(model, { outputDir: tmp, lrSchedulerType: 'reduce_lr_on_plateau' }, dataset())).toThrow(/reduce_lr_on_plateau steps on an eval metric .*: it needs an eval dataset and an evalStrategy/);
  expect(() => new torch.Trainer(model, { outputDir: tmp, lrSchedulerType: 'reduce_lr_on_plateau', lrSchedulerKwargs: { mode: 'up' as never } }, dataset(), dataset())).toThrow('LRScheduler: option mode must be min, max; got "up"');
  model.dispose();
});

test('saveOnlyModel (HF\'s save_only_model): checkpoints of the weights alone, refused for resuming, still the best model\'s source; dataSeed orders the data alone', async () => {
  const out = path.join(tmp, 'only-model');
  const { model, trainer } = await run('peft', out, { maxSteps: 6, learningRate: 1e-2, evalSteps: 3, saveSteps: 3, saveOnlyModel: true, loadBestModelAtEnd: true }, true);
  const data = dataset();
  for (const step of [3, 6]) {
    const files = fs.readdirSync(path.join(out, `checkpoint-${step}`)).sort();
    expect(files).toEqual(['README.md', 'adapter_config.json', 'adapter_model.safetensors', 'trainable.safetensors', 'trainer_state.json', 'tstorch_state.json'].sort());
  }
  // the best checkpoint's weights are the model's at the end
  const best = torch.io.safetensors.loadFile(path.join(trainer.bestModelCheckpoint!, 'trainable.safetensors')).tensors;
  for (const [n, p] of model.namedParameters({ trainableOnly: true })) expect(relErr(p, best.get(n)!)).toBe(0);
  const again = new torch.Trainer(model, { outputDir: out, maxSteps: 9, perDeviceTrainBatchSize: 4, progress: false, resumeFromCheckpoint: path.join(out, 'checkpoint-6') }, data);
  expect(() => again.train()).toThrow(/checkpoint-6 was saved with saveOnlyModel \(the weights alone, no optimizer or schedule state\): it cannot resume training/);
  model.dispose();
  // dataSeed: another order of the same data, the rest of the run (LoRA init, dropout) seeded as before
  const firstLosses = async (extra: Partial<torch.TrainingArguments>) => (await run('peft', path.join(tmp, `data-seed-${JSON.stringify(extra).replace(/\W/g, '')}`), { maxSteps: 2, saveSteps: 0, ...extra })).r.logHistory.map((e) => e.loss);
  const plain = await firstLosses({}), same = await firstLosses({ dataSeed: 42 }), other = await firstLosses({ dataSeed: 7 }), otherAgain = await firstLosses({ dataSeed: 7 });
  expect(same).toEqual(plain); // (seed 42 is the default)
  expect(other).not.toEqual(plain);
  expect(otherAgain).toEqual(other);
});

test('logging, eval and save steps below 1 are that fraction of the run\'s steps, rounded up (HF\'s ratios)', async () => {
  const model = await torch.GPT2LMHeadModel.fromPretrained(base);
  torch.lora.applyLoRA(model, { r: 2 });
  const data = dataset();
  const out = path.join(tmp, 'ratios');
  const trainer = new torch.Trainer(model, { outputDir: out, maxSteps: 10, perDeviceTrainBatchSize: 4, loggingSteps: 0.25, evalSteps: 0.5, saveSteps: 0.35, progress: false }, data, data);
  expect([trainer.args.loggingSteps, trainer.args.evalSteps, trainer.args.saveSteps]).toEqual([3, 5, 4]); // ceil(2.5), ceil(5), ceil(3.5)
  const r = trainQuietly(trainer);
  expect(r.logHistory.filter((e) => e.loss !== undefined).map((e) => e.step)).toEqual([3, 6, 9, 10]);
  expect(r.logHistory.filter((e) => e.eval_loss !== undefined).map((e) => e.step)).toEqual([5, 10]);
  expect(torch.train.listCheckpoints(out).map((d) => path.basename(d))).toEqual(['checkpoint-4', 'checkpoint-8']);
  expect(() => new torch.Trainer(model, { outputDir: out, loggingSteps: 1.5 }, data)).toThrow('Trainer: loggingSteps must be a positive integer, or a fraction in (0, 1) of the run\'s steps, got 1.5');
  model.dispose();
});

test('metricForBestModel / greaterIsBetter (HF\'s): the best checkpoint by eval accuracy (higher) or perplexity (lower, given)', async () => {
  const bestStep = async (extra: Partial<torch.TrainingArguments>) => {
    const model = await torch.GPT2LMHeadModel.fromPretrained(base);
    torch.manualSeed(1);
    torch.lora.applyLoRA(model, { r: 4, alpha: 8, dropout: 0 });
    const data = dataset();
    const out = path.join(tmp, `best-${JSON.stringify(extra).replace(/\W/g, '')}`);
    const trainer = new torch.Trainer(model, { outputDir: out, maxSteps: 10, perDeviceTrainBatchSize: 4, learningRate: 3e-2, loggingSteps: 2, saveSteps: 2, progress: false, loadBestModelAtEnd: true, ...extra }, data, data);
    const r = trainQuietly(trainer);
    model.dispose();
    return { best: Number(path.basename(trainer.bestModelCheckpoint!).split('-')[1]), evals: r.logHistory.filter((e) => e.eval_loss !== undefined) };
  };
  const byAcc = await bestStep({ metricForBestModel: 'accuracy' });
  const maxAcc = Math.max(...byAcc.evals.map((e) => e.eval_accuracy!));
  expect(byAcc.best).toBe(byAcc.evals.find((e) => e.eval_accuracy === maxAcc)!.step); // the first of the highest
  const byPpl = await bestStep({ metricForBestModel: 'eval_perplexity', greaterIsBetter: false });
  const minPpl = Math.min(...byPpl.evals.map((e) => e.eval_perplexity!));
  expect(byPpl.best).toBe(byPpl.evals.find((e) => e.eval_perplexity === minPpl)!.step);
  const model = await torch.GPT2LMHeadModel.fromPretrained(base);
  torch.lora.applyLoRA(model, { r: 2 });
  expect(() => new torch.Trainer(model, { outputDir: tmp, metricForBestModel: 'bleu' }, dataset())).toThrow("Trainer: metricForBestModel must be loss, perplexity, accuracy (or, for a token classifier with entity tags, f1, precision or recall), got 'bleu'");
  expect(() => new torch.Trainer(model, { outputDir: tmp, metricForBestModel: 'f1' }, dataset())).toThrow('metricForBestModel f1 is an entity score, for a token classifier whose tags name entities');
  model.dispose();
});

test('includeNumInputTokensSeen (HF\'s include_num_input_tokens_seen): the input tokens so far on each log line, continued across a resume', async () => {
  const a = await run('peft', path.join(tmp, 'tokens-seen'), { includeNumInputTokensSeen: true, maxSteps: 6, saveSteps: 3 });
  const seen = a.r.logHistory.map((e) => e.num_input_tokens_seen);
  expect(seen).toEqual([1, 2, 3, 4, 5, 6].map((s) => s * 4 * 12)); // 4 blocks of 12 tokens a step
  const cut = path.join(tmp, 'tokens-seen-resumed');
  fs.cpSync(path.join(tmp, 'tokens-seen', 'checkpoint-3'), path.join(cut, 'checkpoint-3'), { recursive: true });
  const b = await run('peft', cut, { includeNumInputTokensSeen: true, maxSteps: 6, saveSteps: 3, resumeFromCheckpoint: true });
  expect(b.r.logHistory.map((e) => e.num_input_tokens_seen)).toEqual(seen);
  expect((await run('peft', path.join(tmp, 'tokens-unseen'), { maxSteps: 1 })).r.logHistory[0].num_input_tokens_seen).toBeUndefined();
  for (const x of [a, b]) x.model.dispose();
  // Examples of 3, 5, 2 and 7 tokens in batches of two: 'all' (HF's true) counts the padded batches (2x5, then 2x7), 'non_padding' the tokens
  const seenWith = async (count: torch.TrainingArguments['includeNumInputTokensSeen']) => {
    const model = await torch.GPT2LMHeadModel.fromPretrained(base);
    torch.lora.applyLoRA(model, { r: 2 });
    const ex = new torch.data.ExampleDataset([3, 5, 2, 7].map((n) => ({ ids: Array.from({ length: n }, (_, k) => k + 1) })), 12, { padTokenId: 0 });
    const log = jest.spyOn(console, 'log').mockImplementation(() => {});
    try {
      const tr = new torch.Trainer(model, { outputDir: path.join(tmp, `seen-${count}`), maxSteps: 2, perDeviceTrainBatchSize: 2, shuffle: false, loggingSteps: 1, saveSteps: 0, progress: false, includeNumInputTokensSeen: count }, ex);
      return tr.train().logHistory.filter((e) => e.loss !== undefined).map((e) => e.num_input_tokens_seen);
    } finally {
      log.mockRestore();
      model.dispose();
    }
  };
  expect(await seenWith('all')).toEqual([10, 24]);
  expect(await seenWith(true)).toEqual([10, 24]);
  expect(await seenWith('non_padding')).toEqual([8, 17]);
  expect(await seenWith('no')).toEqual([undefined, undefined]);
  await expect(seenWith('some' as 'all')).rejects.toThrow(/includeNumInputTokensSeen must be true, false, 'all', 'non_padding' or 'no', got "some"/);
});

test('warmupRatio warms up over ceil(ratio x steps), as HF; warmupSteps wins when both are given', async () => {
  const lrs = async (name: string, extra: Partial<torch.TrainingArguments>) => {
    const { r, model, trainer } = await run('peft', path.join(tmp, name), { saveSteps: 0, ...extra });
    trainer.optimizer.dispose();
    model.dispose();
    return r.logHistory.filter((e) => e.learning_rate !== undefined).map((e) => e.learning_rate!);
  };
  const byRatio = await lrs('wr-ratio', { warmupRatio: 0.2 }); // 12 steps: ceil(2.4) = 3
  expect(byRatio.length).toBe(12);
  expect(byRatio).toEqual(await lrs('wr-steps', { warmupSteps: 3 }));
  expect(byRatio[0]).toBeCloseTo(1e-3 / 3, 12);
  expect(await lrs('wr-both', { warmupSteps: 5, warmupRatio: 0.2 })).toEqual(await lrs('wr-five', { warmupSteps: 5 }));
  await expect(lrs('wr-bad', { warmupRatio: 1.5 })).rejects.toThrow(/warmupRatio must be in \[0, 1\]/);
});

describe('optim: HF\'s optimizer choices', () => {
  // Against scripts/reference/trainer_optim_ref.py: what HF's create_optimizer builds for each
  // `optim`, in HF's loop (clipping, the linear schedule with warmup), from the same LoRA start
  // on the same batches (dropout off: the comparison is of the math).
  let nodrop: string;
  const B = 4, T = 12, STEPS = 6;
  beforeAll(() => { nodrop = dropoutFreeCopy('tiny-nodrop-optim'); });
  const loraModel = async (extra: torch.lora.LoRAOptions = {}) => {
    const model = await torch.GPT2LMHeadModel.fromPretrained(nodrop);
    torch.manualSeed(5);
    torch.lora.applyLoRA(model, { r: 4, alpha: 8, dropout: 0, ...extra });
    // B starts at zero in LoRA; start it random so that the first steps already move both factors
    torch.noGrad(() => { for (const [n, p] of model.namedParameters({ trainableOnly: true })) if (n.includes('lora_B')) p.normal_(0, 0.02); });
    return model;
  };
  const tokens = () => {
    torch.manualSeed(12);
    return Array.from(torch.randint(0, 101, [STEPS * B * T]).data() as BigInt64Array, Number);
  };
  const data = () => new torch.data.TextDataset(tokens(), T);
  const train = (model: torch.GPT2LMHeadModel, out: string, extra: Partial<torch.TrainingArguments>) => {
    const trainer = new torch.Trainer(model, {
      outputDir: out, maxSteps: STEPS, perDeviceTrainBatchSize: B, learningRate: 1e-2, weightDecay: 0.01, warmupSteps: 2,
      loggingSteps: 1, saveSteps: 0, shuffle: false, progress: false, ...extra,
    }, data());
    const log = jest.spyOn(console, 'log').mockImplementation(() => {});
    try {
      return { r: trainer.train(), trainer };
    } finally {
      log.mockRestore();
    }
  };
  const cases: { name: string; optim: torch.train.OptimizerName; optimArgs?: string; pyArgs?: Record<string, number | boolean>; lr?: number }[] = [
    { name: 'adamw', optim: 'adamw_torch' },
    { name: 'sgd', optim: 'sgd', optimArgs: 'momentum=0.9,nesterov=true', pyArgs: { momentum: 0.9, nesterov: true }, lr: 0.5 },
    { name: 'adagrad', optim: 'adagrad', optimArgs: 'lr_decay=0.01', pyArgs: { lr_decay: 0.01 }, lr: 0.05 },
    // (centered RMSprop is left to the float64 test of optim.sgd-adam: its first steps are
    // sign-like, g / sqrt(α(1-α)g²), so float32 rounding in near-zero gradients decides them)
    { name: 'rmsprop', optim: 'rmsprop', optimArgs: 'momentum=0.5,alpha=0.9', pyArgs: { momentum: 0.5, alpha: 0.9 } },
    { name: 'adafactor', optim: 'adafactor', optimArgs: 'beta1=0.9,clip_threshold=0.5', pyArgs: { beta1: 0.9, clip_threshold: 0.5 }, lr: 0.05 },
  ];

  test('adamw_torch, sgd, adagrad, rmsprop and adafactor train as HF\'s Trainer builds them: losses within 1e-5, every LoRA tensor 1e-4', async () => {
    const start = await loraModel();
    const init = new Map(start.namedParameters({ trainableOnly: true }).map(([n, p]) => [`init.${n}`, torch.keep(p.clone())]));
    start.dispose();
    const batches = torch.keep(torch.tensor(tokens(), { dtype: 'int64' }).reshape([STEPS, B, T]));
    const want = referenceTensors('trainer_optim_ref.py', {
      fixtures, // (the reference runs in eval mode: no dropout)
      cases: cases.map((c) => ({ name: c.name, optim: c.optim, optim_args: c.pyArgs ?? {}, lr: c.lr ?? 1e-2, weight_decay: 0.01, warmup: 2, max_grad_norm: 1 })),
    }, new Map([['batches', batches], ...init]));
    for (const c of cases) {
      const model = await loraModel();
      const own = new Map(model.namedParameters({ trainableOnly: true }));
      torch.noGrad(() => { for (const [k, t] of init) own.get(k.slice(5))!.copy_(t); });
      const { r, trainer } = train(model, path.join(tmp, `optim-${c.name}`), { optim: c.optim, optimArgs: c.optimArgs, learningRate: c.lr ?? 1e-2 });
      const losses = r.logHistory.filter((e) => e.loss !== undefined).map((e) => e.loss!);
      const wantLosses = want.get(`${c.name}.losses`)!.tolist() as number[];
      expect([c.name, losses.length]).toEqual([c.name, STEPS]);
      losses.forEach((l, i) => expect([c.name, i, Math.abs(l - wantLosses[i]) / wantLosses[i] < 1e-5]).toEqual([c.name, i, true]));
      let moved = 0;
      for (const [n, p] of own) {
        expect([c.name, n, relErr(p, want.get(`${c.name}.final.${n}`)!) < 1e-4]).toEqual([c.name, n, true]);
        moved = Math.max(moved, relErr(p, init.get(`init.${n}`)!));
      }
      expect(moved).toBeGreaterThan(1e-3); // training moved the adapter
      trainer.optimizer.dispose();
      model.dispose();
    }
    // the optimizers differ: their runs end apart
    expect(relErr(want.get('sgd.losses')!, want.get('adamw.losses')!)).toBeGreaterThan(1e-4);
    expect(relErr(want.get('adafactor.losses')!, want.get('adamw.losses')!)).toBeGreaterThan(1e-4);
    for (const t of [...init.values(), ...want.values(), batches]) t.dispose();
  }, 120_000);

  test('LoRA+ (loraplusLrRatio): PEFT\'s four groups and their lr; adamw and sgd train as the Python reference (losses 1e-5, every tensor 1e-4)', async () => {
    // bias 'all' and LoRA on wte too, so that every group has members
    const setup: torch.lora.LoRAOptions = { bias: 'all', targetModules: ['c_attn', 'c_proj', 'c_fc', 'wte'] };
    const probe = await loraModel(setup);
    const groups = torch.lora.loraplusParameterGroups(probe, { lr: 1e-2, loraplusLrRatio: 4, loraplusLrEmbedding: 3e-3, loraplusWeightDecay: 0.01 });
    expect(groups.map((g) => [g.group, g.lr, g.weightDecay])).toEqual([['groupA', 1e-2, 0.01], ['embedding', 3e-3, 0.01], ['groupB', 4e-2, 0.01], ['groupB_no_decay', 4e-2, 0]]);
    const [A, E, Bd, Bn] = groups.map((g) => g.names);
    expect(A.length).toBe(8); // lora_A of 4 layers in each of the 2 blocks
    expect(A.every((n) => n.includes('lora_A'))).toBe(true);
    expect(E).toEqual(['transformer.wte.lora_embedding_A', 'transformer.wte.lora_embedding_B']);
    expect(Bd.length).toBe(8);
    expect(Bd.every((n) => n.includes('lora_B'))).toBe(true);
    expect(Bn).toContain('transformer.h.0.ln_1.bias');
    expect(Bn).toContain('transformer.h.1.attn.c_attn.base_layer.bias');
    expect(Bn.every((n) => n.endsWith('bias'))).toBe(true);
    expect(groups.flatMap((g) => g.names).sort()).toEqual(probe.namedParameters({ trainableOnly: true }).map(([n]) => n).sort());
    const init = new Map(probe.namedParameters({ trainableOnly: true }).map(([n, p]) => [`init.${n}`, torch.keep(p.clone())]));
    probe.dispose();
    const batches = torch.keep(torch.tensor(tokens(), { dtype: 'int64' }).reshape([STEPS, B, T]));
    const plus = [
      { name: 'plus-adamw', optim: 'adamw_torch' as const, lr: 1e-2 },
      { name: 'plus-sgd', optim: 'sgd' as const, optimArgs: 'momentum=0.9', pyArgs: { momentum: 0.9 }, lr: 0.2 },
    ];
    const want = referenceTensors('trainer_optim_ref.py', {
      fixtures,
      cases: [...plus.map((c) => ({
        name: c.name, optim: c.optim, optim_args: c.pyArgs ?? {}, lr: c.lr, weight_decay: 0.01, warmup: 2, max_grad_norm: 1,
        bias: 'all', lora_wte: true, loraplus_lr_ratio: 4, loraplus_lr_embedding: 3e-3,
      })), { name: 'plain', optim: 'adamw_torch', optim_args: {}, lr: 1e-2, weight_decay: 0.01, warmup: 2, max_grad_norm: 1, bias: 'all', lora_wte: true }],
    }, new Map([['batches', batches], ...init]));
    for (const c of plus) {
      const model = await loraModel(setup);
      const own = new Map(model.namedParameters({ trainableOnly: true }));
      torch.noGrad(() => { for (const [k, t] of init) own.get(k.slice(5))!.copy_(t); });
      const { r, trainer } = train(model, path.join(tmp, `optim-${c.name}`), {
        optim: c.optim, optimArgs: c.optimArgs, learningRate: c.lr, loraplusLrRatio: 4, loraplusLrEmbedding: 3e-3, saveSteps: STEPS,
      });
      expect(trainer.optimizer.paramGroups.map((g) => g.lr)).toEqual([0, 0, 0, 0]); // (the linear schedule's end)
      const losses = r.logHistory.filter((e) => e.loss !== undefined).map((e) => e.loss!);
      const wantLosses = want.get(`${c.name}.losses`)!.tolist() as number[];
      losses.forEach((l, i) => expect([c.name, i, Math.abs(l - wantLosses[i]) / wantLosses[i] < 1e-5]).toEqual([c.name, i, true]));
      for (const [n, p] of own) expect([c.name, n, relErr(p, want.get(`${c.name}.final.${n}`)!) < 1e-4]).toEqual([c.name, n, true]);
      const json = JSON.parse(fs.readFileSync(path.join(tmp, `optim-${c.name}`, `checkpoint-${STEPS}`, 'tstorch_state.json'), 'utf8'));
      expect([json.loraplus_lr_ratio, json.loraplus_lr_embedding]).toEqual([4, 3e-3]);
      trainer.optimizer.dispose();
      model.dispose();
    }
    // LoRA+ is not plain LoRA: the B factors end elsewhere
    const someB = [...init.keys()].find((k) => k.includes('lora_B'))!.slice(5);
    expect(relErr(want.get(`plus-adamw.final.${someB}`)!, want.get(`plain.final.${someB}`)!)).toBeGreaterThan(1e-2);
    // resuming with other LoRA+ settings (or none) is refused
    const other = await loraModel(setup);
    const ckpt = path.join(tmp, 'optim-plus-adamw', `checkpoint-${STEPS}`);
    expect(() => train(other, path.join(tmp, 'optim-plus-adamw'), { loraplusLrRatio: 8, loraplusLrEmbedding: 3e-3, resumeFromCheckpoint: ckpt }))
      .toThrow('resume: the checkpoint was trained with LoRA+ (loraplusLrRatio 4, loraplusLrEmbedding 0.003), this run asks with LoRA+ (loraplusLrRatio 8, loraplusLrEmbedding 0.003): resume with the same LoRA+ settings');
    expect(() => train(other, path.join(tmp, 'optim-plus-adamw'), { resumeFromCheckpoint: ckpt })).toThrow(/this run asks without LoRA\+/);
    other.dispose();
    for (const t of [...init.values(), ...want.values(), batches]) t.dispose();
  }, 120_000);

  test('LoRA+: createLoraplusOptimizer as PEFT\'s; bad settings are clear errors', async () => {
    const model = await loraModel();
    const opt = torch.lora.createLoraplusOptimizer(model, torch.optim.AdamW, { lr: 1e-3, loraplusLrRatio: 16, betas: [0.8, 0.99] });
    expect(opt.paramGroups.map((g) => [g.lr, g.weightDecay, g.betas])).toEqual([[1e-3, 0, [0.8, 0.99]], [1e-6, 0, [0.8, 0.99]], [16e-3, 0, [0.8, 0.99]], [16e-3, 0, [0.8, 0.99]]]);
    expect(opt.paramGroups.map((g) => g.params.length)).toEqual([8, 0, 8, 0]);
    const sgd = torch.lora.createLoraplusOptimizer(model, torch.optim.SGD, { lr: 0.1, loraplusLrRatio: 2, loraplusWeightDecay: 0.1, momentum: 0.9 });
    expect(sgd.paramGroups.map((g) => [g.lr, g.weightDecay, g.momentum])).toEqual([[0.1, 0.1, 0.9], [1e-6, 0.1, 0.9], [0.2, 0.1, 0.9], [0.2, 0, 0.9]]);
    expect(() => torch.lora.loraplusParameterGroups(model, { lr: 1e-3, loraplusLrRatio: 0 })).toThrow('LoRA+: loraplusLrRatio must be a number > 0 (the B factors\' lr over the A factors\'; the paper suggests 16), got 0');
    const make = (extra: Partial<torch.TrainingArguments>) => new torch.Trainer(model, { outputDir: tmp, ...extra }, data());
    expect(() => make({ loraplusLrEmbedding: 1e-5 })).toThrow('Trainer: loraplusLrEmbedding is a LoRA+ setting: it needs loraplusLrRatio');
    expect(() => make({ loraplusLrRatio: -2 })).toThrow(/loraplusLrRatio must be a number > 0/);
    const full = await torch.GPT2LMHeadModel.fromPretrained(nodrop);
    expect(() => new torch.Trainer(full, { outputDir: tmp, loraplusLrRatio: 16 }, data())).toThrow(/LoRA\+: the model has no LoRA layers/);
    for (const m of [model, full]) m.dispose();
    opt.dispose();
  });

  test('a run with sgd (momentum) resumes exactly from a checkpoint; resuming under another optim is refused', async () => {
    const straight = await loraModel();
    const a = train(straight, path.join(tmp, 'optim-straight'), { optim: 'sgd', optimArgs: 'momentum=0.9', learningRate: 0.2, saveSteps: 3 });
    const cut = await loraModel();
    const outCut = path.join(tmp, 'optim-cut');
    train(cut, outCut, { optim: 'sgd', optimArgs: 'momentum=0.9', learningRate: 0.2, saveSteps: 3, maxSteps: 3 });
    const json = JSON.parse(fs.readFileSync(path.join(outCut, 'checkpoint-3', 'tstorch_state.json'), 'utf8'));
    expect(json.optim).toBe('sgd');
    const saved = torch.loadObject(path.join(outCut, 'checkpoint-3', 'optimizer.pt')) as { state: Map<number, { momentum_buffer: torch.Tensor }> };
    expect(saved.state.size).toBe(straight.namedParameters({ trainableOnly: true }).length); // a momentum buffer each
    for (const st of saved.state.values()) st.momentum_buffer.dispose();
    // (maxSteps 3 ends the schedule at step 3; the resumed run has the full 6 steps' schedule, as the straight one)
    const resumed = await loraModel();
    const b = train(resumed, outCut, { optim: 'sgd', optimArgs: 'momentum=0.9', learningRate: 0.2, saveSteps: 3, resumeFromCheckpoint: path.join(outCut, 'checkpoint-3') });
    const tail = (r: torch.TrainResult) => r.logHistory.filter((e) => e.loss !== undefined && e.step > 3).map((e) => e.loss);
    expect(tail(b.r)).toEqual(tail(a.r));
    const own = new Map(resumed.namedParameters({ trainableOnly: true }));
    for (const [n, p] of straight.namedParameters({ trainableOnly: true })) expect(relErr(own.get(n)!, p)).toBe(0);
    const other = await loraModel();
    expect(() => train(other, outCut, { optim: 'adamw_torch', resumeFromCheckpoint: path.join(outCut, 'checkpoint-3') }))
      .toThrow('resume: the checkpoint was trained with optim sgd, this run asks for adamw_torch: pass the same optim (--optim sgd) to resume');
    for (const m of [straight, cut, resumed, other]) m.dispose();
  }, 120_000);

  test('bad optim and optimArgs are clear errors', async () => {
    const model = await loraModel();
    const make = (extra: Partial<torch.TrainingArguments>) => new torch.Trainer(model, { outputDir: tmp, ...extra }, data());
    expect(() => make({ optim: 'lion' as never })).toThrow("Trainer: optim must be adamw_torch, adamw_torch_fused, adafactor, sgd, adagrad, rmsprop; got 'lion'");
    expect(() => make({ optim: 'sgd', optimArgs: 'betas=0.9' })).toThrow("optimArgs: sgd takes momentum, dampening, nesterov; got 'betas'");
    expect(() => make({ optim: 'adamw_torch', optimArgs: 'momentum=0.9' })).toThrow("optimArgs: adamw_torch takes no optim_args; got 'momentum'");
    expect(() => make({ optim: 'sgd', optimArgs: 'momentum' })).toThrow(/'momentum' is not key=value/);
    expect(() => make({ optim: 'sgd', optimArgs: 'momentum=fast' })).toThrow("optimArgs: momentum must be a number or true/false, got 'fast'");
    expect(() => make({ optim: 'sgd', optimArgs: 'momentum=-1' })).toThrow('SGD: invalid momentum -1');
    expect(make({ optim: 'rmsprop', optimArgs: '{"momentum": 0.5}' }).optimizer).toBeInstanceOf(torch.optim.RMSprop);
    model.dispose();
  });
});

describe('callbacks (HF TrainerCallback)', () => {
  const evalSet = () => {
    torch.manualSeed(21);
    return new torch.data.TextDataset(Array.from(torch.randint(0, 101, [6 * 12]).data() as BigInt64Array, Number), 12);
  };
  const withCallbacks = async (out: string, callbacks: torch.TrainerCallback[], extra: Partial<torch.TrainingArguments> = {}, withEval = false) => {
    const model = await torch.GPT2LMHeadModel.fromPretrained(base);
    torch.manualSeed(1);
    torch.lora.applyLoRA(model, { r: 4, alpha: 8, dropout: 0.1 });
    const trainer = new torch.Trainer(model, {
      outputDir: out, maxSteps: 12, perDeviceTrainBatchSize: 4, learningRate: 1e-3, loggingSteps: 4, saveSteps: 0, progress: false, ...extra,
    }, dataset(), withEval ? evalSet() : undefined, callbacks);
    const log = jest.spyOn(console, 'log').mockImplementation(() => {});
    try {
      return { r: trainer.train(), trainer, model };
    } finally {
      log.mockRestore();
      trainer.optimizer.dispose();
      model.dispose();
    }
  };

  test('every event reaches the callbacks in order; shouldSave and shouldTrainingStop act after the step', async () => {
    const events: string[] = [];
    const logs: torch.LogEntry[] = [];
    const cb: torch.TrainerCallback = {
      onTrainBegin: (s) => events.push(`begin ${s.globalStep}/${s.maxSteps}`),
      onStepEnd: (s, control) => {
        events.push(`step ${s.globalStep}`);
        if (s.globalStep === 3) control.shouldSave = true;
        if (s.globalStep === 6) control.shouldTrainingStop = true;
      },
      onLog: (_s, _c, entry) => { logs.push(entry); },
      onSave: (s, _c, dir) => events.push(`save ${path.basename(dir)} at ${s.globalStep}`),
      onTrainEnd: (s) => events.push(`end ${s.globalStep}`),
    };
    const out = path.join(tmp, 'cb-events');
    const { r } = await withCallbacks(out, [cb]);
    expect(events).toEqual(['begin 0/12', 'step 1', 'step 2', 'step 3', 'save checkpoint-3 at 3', 'step 4', 'step 5', 'step 6', 'end 6']);
    expect(r.globalStep).toBe(6);
    expect(logs).toEqual(r.logHistory);
    // The stop's steps (5, 6) get their log line; trainLoss is the mean over all 6 steps.
    expect(logs.map((e) => e.step)).toEqual([4, 6]);
    expect(torch.train.listCheckpoints(out).map((p) => path.basename(p))).toEqual(['checkpoint-3']);
    const full = await withCallbacks(path.join(tmp, 'cb-full'), [], { loggingSteps: 1 });
    const perStep = full.r.logHistory.map((e) => e.loss!);
    expect(r.trainLoss).toBeCloseTo(perStep.slice(0, 6).reduce((x, y) => x + y) / 6, 10);
    expect(logs[1].loss).toBeCloseTo((perStep[4] + perStep[5]) / 2, 10);
  });

  test('EarlyStoppingCallback stops after `patience` evaluations without an improvement above the threshold', async () => {
    // Its rule, on a sequence of eval losses (HF's: better means lower by more than the threshold).
    const control = { shouldTrainingStop: false, shouldSave: false };
    const es = new torch.EarlyStoppingCallback(2, 0.1);
    const state = { metricForBestModel: 'eval_loss', greaterIsBetter: false } as torch.TrainerState;
    const metrics = (v: number) => ({ eval_loss: v, eval_perplexity: Math.exp(v), eval_accuracy: 1 / v });
    const seen = [5, 4.5, 4.45, 4.3, 4.35, 4.4].map((l) => { es.onEvaluate(state, control, metrics(l)); return control.shouldTrainingStop; });
    expect(seen).toEqual([false, false, false, false, false, true]); // 4.45: within the threshold; 4.3: better by 0.2; 4.35, 4.4: two without
    // on accuracy (greater is better): 0.2 better; 0.24 and 0.25 within 0.05 of it: two without, stop
    const byAccuracy = new torch.EarlyStoppingCallback(2, 0.05), ctl = { shouldTrainingStop: false, shouldSave: false };
    const accState = { metricForBestModel: 'eval_accuracy', greaterIsBetter: true } as torch.TrainerState;
    const seenAcc = [0.1, 0.2, 0.24, 0.25].map((a) => { byAccuracy.onEvaluate(accState, ctl, { eval_loss: 1, eval_perplexity: 1, eval_accuracy: a }); return ctl.shouldTrainingStop; });
    expect(seenAcc).toEqual([false, false, false, true]);
    // In a run: evaluations at steps 2, 4, 6, ...; a threshold no real change reaches stops it at the third (patience 2).
    const { r } = await withCallbacks(path.join(tmp, 'cb-early'), [new torch.EarlyStoppingCallback(2, 10)], { evalSteps: 2 }, true);
    expect(r.globalStep).toBe(6);
    expect(r.logHistory.filter((e) => e.eval_loss !== undefined).map((e) => e.step)).toEqual([2, 4, 6]);
    expect(() => new torch.EarlyStoppingCallback(0)).toThrow(/patience must be an integer >= 1/);
    // Its state goes into checkpoints (HF's stateful_callbacks) and comes back on resume: stopped at
    // checkpoint-4 (one evaluation without improvement), the resumed run stops at step 6 too, not at 10.
    const cut = path.join(tmp, 'cb-early-cut');
    await withCallbacks(cut, [new torch.EarlyStoppingCallback(2, 10)], { evalSteps: 2, saveSteps: 4, maxSteps: 4 }, true);
    const saved = JSON.parse(fs.readFileSync(path.join(cut, 'checkpoint-4', 'trainer_state.json'), 'utf8')).stateful_callbacks.EarlyStoppingCallback;
    expect(saved).toEqual({ args: { early_stopping_patience: 2, early_stopping_threshold: 10 }, attributes: { early_stopping_patience_counter: 1, best_metric: expect.any(Number) } });
    const resumed = await withCallbacks(cut, [new torch.EarlyStoppingCallback(2, 10)], { evalSteps: 2, resumeFromCheckpoint: path.join(cut, 'checkpoint-4') }, true);
    expect(resumed.r.globalStep).toBe(6);
    expect(resumed.r.logHistory.filter((e) => e.eval_loss !== undefined).map((e) => e.step)).toEqual([2, 4, 6]);
    const fresh = new torch.EarlyStoppingCallback(2, 10);
    expect(() => fresh.loadState({ early_stopping_patience_counter: -1 })).toThrow(/early_stopping_patience_counter must be a count, got -1/);
  });
  test('loggingNanInfFilter (HF\'s logging_nan_inf_filter, on by default): a NaN step counts as its window\'s sum so far over 1 + its steps before', async () => {
    const run = async (name: string, extra: Partial<torch.TrainingArguments>, poison: boolean) => {
      const model = await torch.GPT2LMHeadModel.fromPretrained(base);
      torch.manualSeed(1);
      torch.lora.applyLoRA(model, { r: 4, alpha: 8, dropout: 0.1 });
      // after step 2 an adapter weight turns NaN: steps 3 and 4 have NaN losses
      const cb: torch.TrainerCallback = { onStepEnd: (st) => { if (poison && st.globalStep === 2) torch.noGrad(() => model.namedParameters({ trainableOnly: true })[0][1].fill_(NaN)); } };
      const trainer = new torch.Trainer(model, { outputDir: path.join(tmp, name), maxSteps: 4, perDeviceTrainBatchSize: 4, learningRate: 1e-3, loggingSteps: 4, saveSteps: 0, progress: false, ...extra }, dataset(), undefined, [cb]);
      const log = jest.spyOn(console, 'log').mockImplementation(() => {});
      try {
        return trainer.train();
      } finally {
        log.mockRestore();
        trainer.optimizer.dispose();
        model.dispose();
      }
    };
    const clean = (await run('nan-clean', { loggingSteps: 1 }, false)).logHistory.map((e) => e.loss!);
    const S = clean[0] + clean[1];
    const filtered = await run('nan-filtered', {}, true);
    // step 3: S + S/3; step 4: that + (S + S/3)/4 = 5S/3; the line is their mean over 4 steps
    expect(filtered.logHistory.map((e) => e.step)).toEqual([4]);
    expect(filtered.logHistory[0].loss).toBeCloseTo(5 * S / 12, 10);
    expect(filtered.trainLoss).toBeCloseTo(5 * S / 12, 10);
    const raw = await run('nan-raw', { loggingNanInfFilter: false }, true);
    expect(raw.logHistory[0].loss).toBeNaN();
    expect(raw.trainLoss).toBeNaN();
  });

  test('loggingStrategy (steps, epoch, no) and loggingFirstStep as HF\'s; each line the mean loss of its steps; the last step always logged', async () => {
    const every = (await withCallbacks(path.join(tmp, 'log-every'), [], { loggingSteps: 1 })).r.logHistory.map((e) => e.loss!);
    const mean = (a: number, b: number) => every.slice(a - 1, b).reduce((x, y) => x + y, 0) / (b - a + 1);
    const run = async (name: string, extra: Partial<torch.TrainingArguments>) => (await withCallbacks(path.join(tmp, name), [], extra)).r.logHistory.map((e) => [e.step, e.loss!]);
    // 40 blocks in batches of 4: epochs end at steps 10 and (the run's end) 12
    const epoch = await run('log-epoch', { loggingStrategy: 'epoch' });
    expect(epoch.map(([s]) => s)).toEqual([10, 12]);
    expect(epoch[0][1]).toBeCloseTo(mean(1, 10), 10);
    expect(epoch[1][1]).toBeCloseTo(mean(11, 12), 10);
    expect((await run('log-no', { loggingStrategy: 'no', loggingFirstStep: true })).map(([s]) => s)).toEqual([1, 12]);
    const steps = await run('log-steps', { loggingSteps: 5, loggingFirstStep: true });
    expect(steps.map(([s]) => s)).toEqual([1, 5, 10, 12]);
    expect(steps[1][1]).toBeCloseTo(mean(2, 5), 10);
    await expect(run('log-bad', { loggingStrategy: 'often' as 'steps' })).rejects.toThrow(/loggingStrategy must be steps, epoch or no/);
  });

  test('evalOnStart (HF\'s eval_on_start): the starting model evaluated and logged at step 0, training itself unchanged', async () => {
    const base0 = await torch.GPT2LMHeadModel.fromPretrained(base);
    const want = torch.train.evaluate(base0, evalSet(), { batchSize: 8 }).loss; // (LoRA starts as its base: B = 0)
    const withStart = (await withCallbacks(path.join(tmp, 'eval-start'), [], { evalOnStart: true, evalSteps: 6 }, true)).r.logHistory;
    const without = (await withCallbacks(path.join(tmp, 'eval-nostart'), [], { evalSteps: 6 }, true)).r.logHistory;
    expect(withStart[0]).toMatchObject({ step: 0, epoch: 0 });
    expect(withStart[0].eval_loss).toBeCloseTo(want, 6);
    const strip = (h: torch.LogEntry[]) => h.map(({ live_tensors: _l, tokens_per_second: _t, ...e }) => e); // (timing and tensor counts vary)
    expect(strip(withStart.slice(1))).toEqual(strip(without));
    await expect(withCallbacks(path.join(tmp, 'eval-start-bad'), [], { evalOnStart: true })).rejects.toThrow(/evalOnStart needs an eval dataset/);
    base0.dispose();
  });

  test('reportTo tensorboard: the log lines as HF\'s TensorBoard scalars at their steps, the arguments and config as text', async () => {
    const out = path.join(tmp, 'cb-tensorboard');
    const { r } = await withCallbacks(out, [], { reportTo: 'tensorboard', evalSteps: 6 }, true);
    const runs = fs.readdirSync(path.join(out, 'runs'));
    expect(runs).toEqual([expect.stringMatching(new RegExp(`^[A-Z][a-z]{2}\\d{2}_\\d{2}-\\d{2}-\\d{2}_${os.hostname().replace(/[.]/g, '\\.')}$`))]);
    const dir = path.join(out, 'runs', runs[0]);
    const files = fs.readdirSync(dir);
    expect(files.length).toBe(1);
    // Read back by the independent reader (scripts/reference/tensorboard_ref.py).
    const py = spawnSync('/usr/bin/python3', [path.join(__dirname, '..', 'scripts', 'reference', 'tensorboard_ref.py'), path.join(dir, files[0])], { encoding: 'utf8' });
    expect(py.stderr).toBe('');
    const events = JSON.parse(py.stdout) as { step: number; values?: { tag: string; simple_value?: number; tensor?: { string_val: string[] } }[] }[];
    const scalars = events.flatMap((e) => (e.values ?? []).filter((v) => v.simple_value !== undefined).map((v) => [e.step, v.tag, v.simple_value]));
    const want = r.logHistory.flatMap((e) => Object.entries(e).filter(([k]) => k !== 'step')
      .map(([k, v]) => [e.step, k.startsWith('eval_') ? `eval/${k.slice(5)}` : `train/${k}`, Math.fround(v as number)]));
    expect(scalars).toEqual(want);
    expect(scalars.map(([, tag]) => tag)).toEqual(expect.arrayContaining(['train/loss', 'train/learning_rate', 'train/grad_norm', 'eval/loss', 'eval/perplexity']));
    const texts = Object.fromEntries(events.flatMap((e) => (e.values ?? []).filter((v) => v.tensor).map((v) => [v.tag, JSON.parse(v.tensor!.string_val[0])])));
    expect(texts['args/text_summary']).toMatchObject({ outputDir: out, maxSteps: 12, learningRate: 1e-3, reportTo: 'tensorboard' });
    expect(texts['model_config/text_summary']).toMatchObject({ model_type: 'gpt2', n_layer: 2 });
    // loggingDir chooses the folder; other integrations are refused by name
    const elsewhere = path.join(tmp, 'cb-tb-dir');
    await withCallbacks(path.join(tmp, 'cb-tb-2'), [], { reportTo: ['tensorboard'], loggingDir: elsewhere, maxSteps: 2 });
    expect(fs.readdirSync(elsewhere).filter((f) => f.startsWith('events.out.tfevents.')).length).toBe(1);
    expect(fs.existsSync(path.join(tmp, 'cb-tb-2', 'runs'))).toBe(false);
    await expect(withCallbacks(path.join(tmp, 'cb-tb-3'), [], { reportTo: ['tensorboard', 'wandb'] })).rejects.toThrow(/reportTo wandb: tstorch reports to tensorboard \(or none\)/);
  });
});

test('save and eval strategies: epoch (each epoch\'s end and the last step) and no', async () => {
  const evalSet = () => {
    torch.manualSeed(21);
    return new torch.data.TextDataset(Array.from(torch.randint(0, 101, [4 * 12]).data() as BigInt64Array, Number), 12);
  };
  const strategies = async (name: string, extra: Partial<torch.TrainingArguments>) => {
    const out = path.join(tmp, name);
    const model = await torch.GPT2LMHeadModel.fromPretrained(base);
    torch.lora.applyLoRA(model, { r: 4, alpha: 8 });
    // 40 blocks in batches of 4: 10 steps an epoch; 12 steps end 2 steps into the second.
    const trainer = new torch.Trainer(model, { outputDir: out, maxSteps: 12, perDeviceTrainBatchSize: 4, loggingSteps: 3, saveSteps: 5, progress: false, ...extra }, dataset(), evalSet());
    const r = trainQuietly(trainer);
    trainer.optimizer.dispose();
    model.dispose();
    return {
      checkpoints: torch.train.listCheckpoints(out).map((p) => path.basename(p)),
      evals: r.logHistory.filter((e) => e.eval_loss !== undefined).map((e) => e.step),
    };
  };
  expect(await strategies('st-default', {})).toEqual({ checkpoints: ['checkpoint-5', 'checkpoint-10'], evals: [3, 6, 9, 12] });
  expect(await strategies('st-epoch', { saveStrategy: 'epoch', evalStrategy: 'epoch' })).toEqual({ checkpoints: ['checkpoint-10', 'checkpoint-12'], evals: [10, 12] });
  expect(await strategies('st-no', { saveStrategy: 'no', evalStrategy: 'no' })).toEqual({ checkpoints: [], evals: [] });
  await expect(strategies('st-bad', { saveStrategy: 'epochs' as torch.train.Strategy })).rejects.toThrow(/saveStrategy must be steps, epoch or no, got 'epochs'/);
});

test('loadBestModelAtEnd: the lowest eval loss\'s checkpoint is kept past saveTotalLimit and its weights end up in the model', async () => {
  torch.manualSeed(21);
  const evalSet = new torch.data.TextDataset(Array.from(torch.randint(0, 101, [4 * 12]).data() as BigInt64Array, Number), 12);
  const out = path.join(tmp, 'best');
  const model = await torch.GPT2LMHeadModel.fromPretrained(base);
  torch.manualSeed(2);
  torch.lora.applyLoRA(model, { r: 4, alpha: 8 });
  // A learning rate this high overshoots: the eval loss falls, then rises again.
  const trainer = new torch.Trainer(model, {
    outputDir: out, maxSteps: 12, perDeviceTrainBatchSize: 4, learningRate: 0.3, lrSchedulerType: 'constant', loggingSteps: 2, evalSteps: 2, saveSteps: 2,
    saveTotalLimit: 1, loadBestModelAtEnd: true, progress: false,
  }, dataset(), evalSet);
  const r = trainQuietly(trainer);
  const evals = r.logHistory.filter((e) => e.eval_loss !== undefined);
  expect(evals.map((e) => e.step)).toEqual([2, 4, 6, 8, 10, 12]);
  const best = evals.reduce((b, e) => (e.eval_loss! < b.eval_loss! ? e : b));
  expect(best.step).toBeLessThan(12); // the test is about an earlier checkpoint than the last
  expect(trainer.bestModelCheckpoint).toBe(path.join(out, `checkpoint-${best.step}`));
  expect(torch.train.listCheckpoints(out).map((p) => path.basename(p))).toEqual([`checkpoint-${best.step}`, 'checkpoint-12']);
  const saved = torch.io.safetensors.loadFile(path.join(out, `checkpoint-${best.step}`, 'trainable.safetensors')).tensors;
  const params = model.namedParameters({ trainableOnly: true });
  expect(params.length).toBe(16);
  for (const [n, p] of params) expect(p.bytes().equals(saved.get(n)!.bytes())).toBe(true);
  // And the model evaluates to that checkpoint's eval loss.
  const again = torch.train.evaluate(model, evalSet, { batchSize: 8 });
  expect(Math.abs(again.loss - best.eval_loss!)).toBeLessThan(1e-6);
  expect(trainer.evaluate()).toEqual({ eval_loss: again.loss, eval_perplexity: again.perplexity, eval_accuracy: again.accuracy }); // HF's trainer.evaluate()
  const state = JSON.parse(fs.readFileSync(path.join(out, 'checkpoint-12', 'trainer_state.json'), 'utf8'));
  expect(state.best_model_checkpoint).toBe(trainer.bestModelCheckpoint);
  trainer.optimizer.dispose();
  expect(() => new torch.Trainer(model, { outputDir: out, loadBestModelAtEnd: true, evalSteps: 2, saveSteps: 3 }, dataset(), evalSet))
    .toThrow(/saveSteps \(3\) to be a multiple of evalSteps \(2\)/);
  expect(() => new torch.Trainer(model, { outputDir: out, loadBestModelAtEnd: true }, dataset())).toThrow(/needs an eval dataset/);
  expect(() => new torch.Trainer(model, { outputDir: out }, dataset()).evaluate()).toThrow(/no eval dataset/);
  model.dispose();
});

describe('gradient checkpointing', () => {
  const step = async (mode: 'lora' | 'full', attn: torch.AttnImplementation, checkpointing: boolean, bf16 = false, via: 'forwardBackward' | 'forward' = 'forwardBackward') => {
    const m = await torch.GPT2LMHeadModel.fromPretrained(base, { attnImplementation: attn });
    if (mode === 'lora') {
      torch.manualSeed(1);
      torch.lora.applyLoRA(m, { r: 4, alpha: 8, dropout: 0.1 });
      torch.noGrad(() => { for (const [n, p] of m.namedParameters()) if (n.includes('lora_B')) p.normal_(0, 0.05); }); // every A gets a gradient too
    }
    m.train(); // every dropout on: the recomputation must replay them
    if (checkpointing) m.gradientCheckpointingEnable();
    torch.manualSeed(7);
    const ids = torch.randint(0, 101, [3, 16]);
    const wrap = <T>(fn: () => T): T => torch.autocast(fn, { enabled: bf16, deviceType: 'cpu', dtype: 'bfloat16' });
    const loss = via === 'forwardBackward'
      ? m.forwardBackward(ids, { lossScale: 0.5, wrap }).item() as number
      : torch.tidy(() => { // forward + backward as a PyTorch user writes them (torch.utils.checkpoint per block)
        const out = wrap(() => m.forward(ids, { labels: ids }));
        out.loss!.mul(0.5).backward();
        return out.loss!.item() as number;
      });
    const next = torch.rand([3]).tolist(); // where the generator was left
    const grads = new Map(m.namedParameters({ trainableOnly: true }).map(([n, p]) => [n, p.grad!]));
    return { loss, next, grads, m };
  };

  test.each([['lora', 'eager'], ['lora', 'sdpa'], ['full', 'eager'], ['full', 'sdpa']] as const)(
    '%s, %s attention: recomputing each block in backward gives the plain step\'s loss, gradients and generator state', async (mode, attn) => {
      for (const [bf16, via] of [[false, 'forwardBackward'], [true, 'forwardBackward'], [false, 'forward'], [true, 'forward']] as const) {
        const plain = await step(mode, attn, false, bf16, via), ckpt = await step(mode, attn, true, bf16, via);
        expect(ckpt.loss).toBe(plain.loss);
        expect(ckpt.next).toEqual(plain.next);
        expect(plain.grads.size).toBe(mode === 'lora' ? 16 : plain.m.parameters().length);
        for (const [n, g] of plain.grads) expect(relErr(ckpt.grads.get(n)!, g)).toBeLessThan(1e-6);
        // The tied embedding gets both its parts (lm_head's and the input embedding's).
        if (mode === 'full') expect(relErr(ckpt.grads.get('transformer.wte.weight')!, plain.grads.get('transformer.wte.weight')!)).toBeLessThan(1e-6);
        plain.m.dispose();
        ckpt.m.dispose();
      }
    });

  test('the Trainer with gradientCheckpointing trains as without it, bit for bit (6 LoRA steps with dropout)', async () => {
    const one = await run('peft', path.join(tmp, 'gc-plain'), { maxSteps: 6, saveSteps: 0 });
    const two = await run('peft', path.join(tmp, 'gc-ckpt'), { maxSteps: 6, saveSteps: 0, gradientCheckpointing: true });
    expect(two.model.gradientCheckpointing).toBe(true);
    const losses = (r: torch.TrainResult) => r.logHistory.filter((e) => e.loss !== undefined).map((e) => e.loss);
    expect(losses(one.r).length).toBe(6);
    expect(losses(two.r)).toEqual(losses(one.r)); // bit for bit: the same ops, dropout replayed
    const b = new Map(two.model.namedParameters({ trainableOnly: true }));
    for (const [n, t] of one.model.namedParameters({ trainableOnly: true })) expect(b.get(n)!.bytes().equals(t.bytes())).toBe(true);
    for (const x of [one, two]) { x.trainer.optimizer.dispose(); x.model.dispose(); }
  });
});

test('with keepFreedCpuMemory, free pages left inside the heap go back to the OS once RSS doubles (trimCpuMemory)', () => {
  // In a child process: keepFreedCpuMemory is process-wide and cannot be undone.
  const script = `
const torch = require(${JSON.stringify(path.join(__dirname, '..', 'dist', 'lib'))});
torch.keepFreedCpuMemory();
const rss = () => process.memoryUsage.rss() / 2 ** 20;
(async () => {
  const m = await torch.GPT2LMHeadModel.fromPretrained(${JSON.stringify(base)});
  torch.lora.applyLoRA(m, { r: 4, alpha: 8 });
  torch.manualSeed(9);
  const ds = new torch.data.TextDataset(Array.from(torch.randint(0, 101, [40 * 12]).data(), Number), 12);
  const seen = {};
  const cb = { onStepEnd: (s) => {
    if (s.globalStep === 4) {
      // What fragmentation leaves: a big buffer freed below a live one, kept by the C library. The
      // live one is 16 MiB so that it comes from the heap's top, above the big one (a small one can
      // fill an old hole below it, leaving the big one at the top: when sbrk had failed there and
      // glibc grew the heap by mmap, malloc_trim cannot give the top back, so RSS stayed up).
      const big = torch.ones([(1024 << 20) / 4]);
      torch.keep(torch.ones([(16 << 20) / 4]));
      big.dispose();
      torch.memory(); // (frees the queued handle)
      seen.afterHole = rss();
    }
    if (s.globalStep === 5) seen.afterGuard = rss();
  } };
  const tr = new torch.Trainer(m, { outputDir: ${JSON.stringify(path.join(tmp, 'guard'))}, maxSteps: 6, perDeviceTrainBatchSize: 4, loggingSteps: 100, saveSteps: 0, progress: false }, ds, undefined, [cb]);
  seen.before = rss();
  tr.train();
  seen.trimmedByHand = torch.trimCpuMemory();
  console.log(JSON.stringify(seen));
})();`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  const seen = JSON.parse(r.stdout.trim().split('\n').pop()!);
  expect(seen.afterHole - seen.before).toBeGreaterThan(900); // kept, not returned, when freed
  expect(seen.afterGuard).toBeLessThan(seen.before + 300); // handed back by the guard the next step
});

test('createModelCard (HF\'s Trainer.create_model_card): Hub front matter, the run\'s hyperparameters and evaluations as logged; replaces the adapter\'s short card, never a card of the user\'s', async () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const yaml = require('yaml') as typeof import('yaml');
  const out = path.join(tmp, 'carded');
  const { model, trainer } = await run('peft', out, { maxSteps: 4, evalSteps: 2, saveSteps: 0, gradientAccumulationSteps: 2, warmupSteps: 1 }, true);
  await trainer.saveModel();
  const file = path.join(out, 'README.md');
  expect(fs.readFileSync(file, 'utf8')).toContain('saved by tstorch'); // (the adapter's short card, as PEFT's save_pretrained writes)
  expect(trainer.createModelCard({ modelName: 'tiny-news', dataset: 'brown' })).toBe(true);
  const card = fs.readFileSync(file, 'utf8');
  const front = yaml.parse(/^---\n([\s\S]*?)\n---\n/.exec(card)![1]);
  expect(front).toEqual({ base_model: base, library_name: 'peft', tags: ['generated_from_trainer', `base_model:adapter:${base}`, 'lora', 'peft', 'tstorch'], 'model-index': [{ name: 'tiny-news', results: [] }] });
  expect(card).toContain(`# tiny-news\n\nThis LoRA adapter is a fine-tuned version of ${base} on brown, trained with tstorch.\n`);
  expect(card).toContain('- learning_rate: 0.001\n- train_batch_size: 4\n- eval_batch_size: 8\n- seed: 42\n- gradient_accumulation_steps: 2\n- total_train_batch_size: 8\n');
  expect(card).toContain('- lr_scheduler_type: linear\n- lr_scheduler_warmup_steps: 1\n- training_steps: 4\n- mixed_precision_training: no (fp32)\n');
  expect(card).toContain('- r: 4\n- lora_alpha: 8\n- lora_dropout: 0.1\n');
  // the evaluations table: each row the logged eval loss and perplexity, with the last training loss before it
  const evals = trainer.logHistory.filter((e) => e.eval_loss !== undefined);
  expect(evals.map((e) => e.step)).toEqual([2, 4]);
  for (const e of evals) {
    const train = trainer.logHistory.filter((t) => t.loss !== undefined && t.step <= e.step).pop()!;
    expect(card).toContain(`| ${train.loss!.toFixed(4)} | ${e.epoch.toFixed(4)} | ${e.step} | ${e.eval_loss!.toFixed(4)} | ${e.eval_perplexity!.toFixed(4)} |`);
  }
  expect(card).toContain(`- Loss: ${evals[1].eval_loss!.toFixed(4)}\n- Perplexity: ${evals[1].eval_perplexity!.toFixed(4)}\n`);
  // the user's card stays; bad options are named
  fs.writeFileSync(file, '# mine\n');
  expect(trainer.createModelCard()).toBe(false);
  await trainer.saveModel();
  expect(fs.readFileSync(file, 'utf8')).toBe('# mine\n');
  expect(() => trainer.createModelCard({ model_name: 'x' } as never)).toThrow(/model_name/);
  // a base of no known name: no base_model for the Hub to link to
  const nameless = torch.train.modelCard('x', { baseModel: null, adapter: false, hyperparameters: [], logHistory: [] });
  expect(yaml.parse(/^---\n([\s\S]*?)\n---\n/.exec(nameless)![1])).toEqual({ library_name: 'transformers', tags: ['generated_from_trainer', 'tstorch'], 'model-index': [{ name: 'x', results: [] }] });
  expect(nameless).toContain('This model is a fine-tuned version of a model, trained with tstorch.');
  trainer.optimizer.dispose();
  model.dispose();
});
