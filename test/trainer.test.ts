// Trainer behaviour: exact resume, checkpoint folders, save_total_limit, flat memory.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as torch from '../lib';
import { fixtures } from './helpers';

const base = path.join(fixtures, 'gpt2', 'tiny');
let tmp: string;
beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-trainer-')); });
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function dataset(): torch.data.TextDataset {
  torch.manualSeed(9);
  const tokens = Array.from(torch.randint(0, 101, [40 * 12]).data() as BigInt64Array, Number);
  return new torch.data.TextDataset(tokens, 12);
}

async function run(mode: 'seed' | 'peft', out: string, extra: Partial<torch.TrainingArguments> = {}) {
  const model = await torch.GPT2LMHeadModel.fromPretrained(base);
  torch.lora.applyLoRA(model, mode === 'seed' ? { mode, r: 2 } : { r: 4, alpha: 8, dropout: 0.1 });
  const trainer = new torch.Trainer(model, {
    outputDir: out, maxSteps: 12, perDeviceTrainBatchSize: 4, learningRate: 1e-3, loggingSteps: 1, saveSteps: 5,
    progress: false, ...extra,
  }, dataset());
  const log = jest.spyOn(console, 'log').mockImplementation(() => {});
  try {
    const r = trainer.train();
    return { r, model, trainer };
  } finally {
    log.mockRestore();
  }
}

describe.each(['peft', 'seed'] as const)('%s LoRA training', (mode) => {
  test('interrupt and resume reproduces the uninterrupted run exactly (dropout on, epochs crossing)', async () => {
    const full = await run(mode, path.join(tmp, `full-${mode}`));
    const fullLosses = full.r.logHistory.filter((e) => e.loss !== undefined).map((e) => e.loss);
    expect(fullLosses.length).toBe(12);
    expect(fs.existsSync(path.join(tmp, `full-${mode}`, 'checkpoint-5', 'adapter_model.safetensors'))).toBe(true);
    expect(fs.existsSync(path.join(tmp, `full-${mode}`, 'checkpoint-10', 'optimizer.safetensors'))).toBe(true);

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

test('save_total_limit keeps the newest checkpoints; a checkpoint is whole or absent', async () => {
  const out = path.join(tmp, 'limit');
  const { model, trainer } = await run('peft', out, { saveSteps: 3, saveTotalLimit: 2 });
  expect(torch.train.listCheckpoints(out).map((p) => path.basename(p))).toEqual(['checkpoint-9', 'checkpoint-12']);
  expect(fs.readdirSync(out).filter((n) => n.includes('.tmp-'))).toEqual([]);
  const state = JSON.parse(fs.readFileSync(path.join(out, 'checkpoint-12', 'trainer_state.json'), 'utf8'));
  expect(state.global_step).toBe(12);
  expect(() => new torch.Trainer(model, { outputDir: path.join(tmp, 'x'), resumeFromCheckpoint: path.join(out, 'nope'), progress: false }, dataset()).train())
    .toThrow(/not a complete checkpoint/);
  trainer.optimizer.dispose();
  model.dispose();
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

test('full fine-tuning resumes exactly from a checkpoint holding the model file only', async () => {
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
});
