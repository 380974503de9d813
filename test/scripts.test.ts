// The training scripts users copy from: scripts/train-lora.ts (the notebook's train()) and
// scripts/compare-lora-full.ts (its LoRA-vs-full comparison), each run on a tiny model.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { brownTextFiles, saveTinyGpt2 } from './helpers';
import { trainLoRA } from '../scripts/train-lora';
import { compare, comparisonTable } from '../scripts/compare-lora-full';
import { trainCharLSTM } from '../scripts/examples/char-lstm';
import * as torch from '../lib';

let tmp: string, modelDir: string, trainFile: string, evalFile: string;
beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-scripts-'));
  modelDir = await saveTinyGpt2(path.join(tmp, 'base'), { n_positions: 32 });
  ({ trainFile, evalFile } = brownTextFiles(tmp, 2, 3000));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('train-lora: the notebook\'s train() lowers held-out loss and writes a PEFT adapter', async () => {
  const log = jest.spyOn(console, 'log').mockImplementation(() => {});
  const r = await trainLoRA({ modelDir, trainFile, evalFile, outDir: path.join(tmp, 'lora'), maxSteps: 12, blockSize: 32, batchSize: 4, lr: 3e-2, prompts: ['The jury'] });
  log.mockRestore();
  expect(r.mode).toBe('lora');
  expect(r.steps).toBe(12);
  expect(r.trainableParams).toBeLessThan(r.allParams / 10);
  expect(r.evalAfter.loss).toBeLessThan(r.evalBefore.loss);
  expect(r.samplesAfter[0].startsWith('The jury')).toBe(true);
  expect(fs.existsSync(path.join(tmp, 'lora', 'adapter_model.safetensors'))).toBe(true);
});

test('compare-lora-full: both runs in their own processes, one table, one plot', () => {
  const out = path.join(tmp, 'cmp');
  const log = jest.spyOn(console, 'log').mockImplementation(() => {});
  const r = compare({ modelDir, trainFile, evalFile, outDir: out, steps: 6, blockSize: 32, batchSize: 4, loraLr: 3e-2, fullLr: 3e-3 });
  log.mockRestore();
  expect(r.full.trainableParams).toBe(r.full.allParams);
  expect(r.lora.trainableParams).toBeLessThan(r.full.trainableParams);
  expect(r.full.evalAfter.loss).toBeLessThan(r.full.evalBefore.loss);
  const rows = comparisonTable(r.lora, r.full);
  expect(rows.map((x) => x[0])).toEqual(['run', 'LoRA', 'full fine-tuning']);
  const svg = fs.readFileSync(path.join(out, 'loss.svg'), 'utf8');
  expect(svg).toContain('LoRA train');
  expect(svg).toContain('full train');
  // A second call reuses the finished runs instead of training again.
  const t0 = Date.now();
  compare({ modelDir, trainFile, evalFile, outDir: out, steps: 6, blockSize: 32, batchSize: 4 });
  expect(Date.now() - t0).toBeLessThan(3000);
});

test('bench:gpu dry run (what scripts/gpu-check.sh runs on the GPU): both sides measured, a case without time left skipped', () => {
  // The compiled script, as gpu-check.sh starts it: each side in its own process.
  const bench = path.join(__dirname, '..', 'dist', 'scripts', 'bench', 'gpu.js');
  const r = spawnSync(process.execPath, [bench, '--dry-run', '--time-budget', '0.001'], { encoding: 'utf8' });
  expect(r.status).toBe(0);
  const rows = r.stdout.split('\n').filter((l) => l.startsWith('| GPT-2 tiny'))
    .map((l) => l.split('|').slice(1, -1).map((c) => c.trim()));
  expect(rows.map((x) => x[0])).toEqual(['GPT-2 tiny LoRA step, fp32, 2x16', 'GPT-2 tiny LoRA step, bf16, 2x16', 'GPT-2 tiny LoRA step, fp32, 2x64']);
  const [py, ts, speed] = rows[0].slice(1, 4).map(Number);
  expect(py).toBeGreaterThan(0);
  expect(ts).toBeGreaterThan(0);
  expect(Math.abs(speed - ts / py)).toBeLessThan(0.01); // the ratio of the two measured sides
  // The first case used up the budget: the others are reported as skipped, not left out.
  expect(rows[1][1]).toBe('skipped (time)');
  expect(rows[2][1]).toBe('skipped (time)');
});

test('examples/char-lstm: a character LSTM (Embedding, LSTM, Linear, Adam, OneCycleLR, DataLoader) learns news text and leaves no tensor behind', () => {
  const lines: string[] = [];
  const live = torch.memory().liveTensors;
  const r = trainCharLSTM({ steps: 40, hidden: 64, chars: 60_000, sampleLength: 40, log: (l) => lines.push(l) });
  expect(r.steps).toBe(40);
  // From about ln(vocab) at the start to well under it.
  expect(r.before).toBeGreaterThan(Math.log(r.vocab) - 0.3);
  expect(r.after).toBeLessThan(r.before - 1);
  expect(r.sample.startsWith('The jury')).toBe(true);
  expect(r.sample.length).toBe('The jury'.length + 40);
  expect(lines.some((l) => l.startsWith('held-out loss'))).toBe(true);
  expect(torch.memory().liveTensors).toBe(live);
});
