// PyTorch's examples/time_sequence_prediction ported as written
// (scripts/examples/time-sequence-prediction.ts) against the Python original on the same sine
// waves (scripts/reference/time_sequence_ref.py): the model as built (bit for bit, then in
// float64), every loss LBFGS's closure computes through its line searches, each step's test
// loss, the final weights and the prediction into the future.
import * as torch from '../lib';
import { Sequence, sineWaves, trainSequence } from '../scripts/examples/time-sequence-prediction';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';

test('Sequence and train.py as PyTorch\'s: init bit for bit, every closure\'s loss and each test loss (1e-9, float64), final weights and the prediction; nothing left in memory', () => {
  const opt = { steps: 2, future: 40 };
  const data = sineWaves(12, 60, 20, 2);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-tsp-'));
  let ref: { init: Map<string, torch.Tensor>; final: Map<string, torch.Tensor>; pred: torch.Tensor; out: { losses: number[]; test_losses: number[] } };
  try {
    const runFile = path.join(dir, 'run.json'), dataFile = path.join(dir, 'data.safetensors');
    fs.writeFileSync(runFile, JSON.stringify(opt));
    torch.io.safetensors.saveFile(dataFile, { data });
    const script = path.join(__dirname, '..', 'scripts', 'reference', 'time_sequence_ref.py');
    const r = spawnSync('/usr/bin/python3', ['-W', 'ignore', script, runFile, dataFile, dir], { encoding: 'utf8', env: { ...process.env, PYTHONPATH: path.dirname(script) } });
    if (r.status !== 0) throw new Error(`time_sequence_ref.py failed:\n${r.stderr}`);
    ref = {
      init: torch.io.safetensors.loadFile(path.join(dir, 'init.safetensors')).tensors,
      final: torch.io.safetensors.loadFile(path.join(dir, 'final.safetensors')).tensors,
      pred: torch.io.safetensors.loadFile(path.join(dir, 'pred.safetensors')).tensors.get('pred')!,
      out: JSON.parse(fs.readFileSync(path.join(dir, 'out.json'), 'utf8')),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const maxDiff = (ours: Map<string, torch.Tensor>, theirs: Map<string, torch.Tensor>) => {
    expect([...ours.keys()].sort()).toEqual([...theirs.keys()].sort());
    return Math.max(...[...ours].map(([n, t]) => torch.tidy(() => t.sub(theirs.get(n)!).abs().max().item())));
  };
  const before = torch.memory().liveTensors;
  torch.manualSeed(0);
  const built = new Sequence();
  built.double();
  expect(maxDiff(built.stateDict(), ref.init)).toBe(0);
  built.dispose();

  const { seq, losses, testLosses, pred } = trainSequence(data, opt);
  expect(losses.length).toBe(ref.out.losses.length);
  expect(losses.length).toBeGreaterThan(2 * opt.steps); // (LBFGS evaluates the closure many times a step)
  losses.forEach((l, i) => expect([i, Math.abs(l - ref.out.losses[i]) <= 1e-9 * Math.max(1, Math.abs(l))]).toEqual([i, true]));
  testLosses.forEach((l, i) => expect([i, Math.abs(l - ref.out.test_losses[i]) <= 1e-9]).toEqual([i, true]));
  expect(losses[losses.length - 1]).toBeLessThan(losses[0] / 2); // LBFGS fitted the waves
  expect(maxDiff(seq.stateDict(), ref.final)).toBeLessThan(1e-9);
  expect(pred.shape).toEqual([3, 59 + opt.future]);
  expect(torch.tidy(() => pred.sub(ref.pred).abs().max().item())).toBeLessThan(1e-9);
  pred.dispose();
  seq.dispose();
  expect(torch.memory().liveTensors).toBe(before);
  for (const t of [data, ...ref.init.values(), ...ref.final.values(), ref.pred]) t.dispose();
}, 300_000);
