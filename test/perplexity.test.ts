// Sliding-window perplexity (ExampleDataset.slidingWindows + evaluate, `tstorch eval --stride`)
// against scripts/reference/perplexity_ref.py: Hugging Face's guide "Perplexity of fixed-length
// models" run window by window in PyTorch. Loss within 1e-5 relative, token counts exact.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as torch from '../lib';
import { brownTextFiles, saveTinyGpt2 } from './helpers';

const bin = path.join(__dirname, '..', 'dist', 'lib', 'cli', 'main.js');
let tmp: string, modelDir: string, evalFile: string, ids: number[];
const maxLength = 32, strides = [7, 16, 32];
let ref: { stride: number; loss: number; predicted: number; windows: number; hf_guide_loss: number; correct: number }[];

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-ppl-'));
  modelDir = await saveTinyGpt2(path.join(tmp, 'model'), { n_layer: 2 });
  ({ evalFile } = brownTextFiles(tmp, 1, 2000));
  ids = torch.tokenizer.encode(fs.readFileSync(evalFile, 'utf8'));
  fs.writeFileSync(path.join(tmp, 'spec.json'), JSON.stringify({ ids, max_length: maxLength, strides }));
  const r = spawnSync('/usr/bin/python3', [path.join(__dirname, '..', 'scripts', 'reference', 'perplexity_ref.py'), modelDir, path.join(tmp, 'spec.json'), path.join(tmp, 'ref.json')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`perplexity_ref.py failed: ${r.stderr}`);
  ref = JSON.parse(fs.readFileSync(path.join(tmp, 'ref.json'), 'utf8'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('every stride: the loss over every predicted token, as the guide\'s loop gives it (batched, padded last window)', async () => {
  const model = await torch.GPT2LMHeadModel.fromPretrained(modelDir);
  expect(ids.length % maxLength).not.toBe(0); // a short last window, padded in its batch
  for (const r of ref) {
    const windows = torch.data.ExampleDataset.slidingWindows(ids, { maxLength, stride: r.stride });
    expect(windows.length).toBe(r.windows);
    const got = torch.train.evaluate(model, windows, { batchSize: 3 });
    expect(got.predictedTokens).toBe(r.predicted);
    // With overlap every token but the first is predicted once; without, each window's first is not.
    expect(r.predicted).toBe(r.stride < maxLength ? ids.length - 1 : ids.length - r.windows);
    expect(Math.abs(got.loss - r.loss) / r.loss).toBeLessThan(1e-5);
    // next-token accuracy (run_clm's eval_accuracy): the same right guesses (one allowed to flip on a near tie)
    expect(Math.abs(got.accuracy * got.predictedTokens - r.correct)).toBeLessThanOrEqual(1);
    // The guide's own weighting is one token short per later window: a different figure when windows overlap.
    if (r.stride < maxLength) expect(Math.abs(r.hf_guide_loss - r.loss) / r.loss).toBeGreaterThan(1e-6);
  }
  // More context, other losses: the strides do not all give the same figure.
  expect(new Set(ref.map((r) => r.loss.toFixed(6))).size).toBe(strides.length);
  // stride = maxLength on a whole number of blocks is the plain block evaluation.
  const whole = ids.slice(0, ids.length - (ids.length % maxLength));
  const blocks = torch.train.evaluate(model, new torch.data.TextDataset(whole, maxLength));
  const sliding = torch.train.evaluate(model, torch.data.ExampleDataset.slidingWindows(whole, { maxLength, stride: maxLength }));
  expect(Math.abs(blocks.loss - sliding.loss) / blocks.loss).toBeLessThan(1e-6);
  expect(sliding.predictedTokens).toBe(blocks.predictedTokens);
  expect(() => torch.data.ExampleDataset.slidingWindows(ids, { maxLength, stride: 33 })).toThrow(/stride must be an integer in 1..maxLength \(32\), got 33/);
  expect(() => torch.data.ExampleDataset.slidingWindows([5], { maxLength, stride: 4 })).toThrow(/nothing to predict/);
  model.dispose();
});

test('next-token accuracy on the model\'s own greedy text: right where the context is the one it was generated with, less after a window\'s cut; as the reference counts it', async () => {
  const model = await torch.GPT2LMHeadModel.fromPretrained(modelDir);
  const text = model.generate([ids.slice(0, 8)], { maxNewTokens: 150, eosTokenId: null })[0];
  const spec = path.join(tmp, 'acc-spec.json'), out = path.join(tmp, 'acc-ref.json');
  fs.writeFileSync(spec, JSON.stringify({ ids: text, max_length: maxLength, strides: [8, 32] }));
  const r = spawnSync('/usr/bin/python3', [path.join(__dirname, '..', 'scripts', 'reference', 'perplexity_ref.py'), modelDir, spec, out], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`perplexity_ref.py failed: ${r.stderr}`);
  const want: { stride: number; predicted: number; correct: number }[] = JSON.parse(fs.readFileSync(out, 'utf8'));
  const acc: number[] = [];
  for (const w of want) {
    const got = torch.train.evaluate(model, torch.data.ExampleDataset.slidingWindows(text, { maxLength, stride: w.stride }), { batchSize: 4 });
    expect(got.predictedTokens).toBe(w.predicted);
    expect(Math.abs(got.accuracy * got.predictedTokens - w.correct)).toBeLessThanOrEqual(1);
    acc.push(got.accuracy);
  }
  // a window's first tokens lack the context they were generated with: more overlap, more right
  expect(acc[0]).toBeGreaterThan(acc[1]);
  expect(acc[1]).toBeGreaterThan(0.1);
  expect(acc[0]).toBeLessThan(1);
  model.dispose();
});

test('tstorch eval --stride gives the reference\'s figure; clear errors', () => {
  const run = (...args: string[]) => spawnSync(process.execPath, [bin, 'eval', '--model', modelDir, '--data', evalFile, ...args], { encoding: 'utf8' });
  const r = run('--block-size', String(maxLength), '--stride', '16', '--json');
  expect(r.stderr).toBe('');
  const j = JSON.parse(r.stdout);
  const want = ref.find((x) => x.stride === 16)!;
  expect(Math.abs(j.loss - want.loss) / want.loss).toBeLessThan(1e-5);
  expect(j.predictedTokens).toBe(want.predicted);
  expect(j.perplexity).toBeCloseTo(Math.exp(j.loss), 6);
  expect(run('--block-size', '32', '--stride', '0').stderr).toMatch(/--stride must be between 1 and --block-size \(32\), got 0/);
  expect(run('--block-size', '32', '--stride', '16', '--no-packing').stderr).toMatch(/--stride scores one running text \(packed\)/);
});
