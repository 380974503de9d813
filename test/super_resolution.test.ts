// PyTorch's examples/super_resolution ported as written (scripts/examples/super-resolution.ts)
// against the Python original on the same image pairs (scripts/reference/super_resolution_ref.py):
// the model as built and initialised by init.orthogonal_ with calculate_gain('relu') (bit for
// bit), each epoch's average loss and test PSNR, and the final weights.
import * as torch from '../lib';
import { Net, main, images } from '../scripts/examples/super-resolution';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';

test('Net (orthogonal init), train and test as PyTorch\'s: init bit for bit, each epoch\'s loss and PSNR (1e-5 relative), final weights (1e-4); nothing left in memory', () => {
  const opt = { upscaleFactor: 3, batchSize: 8, testBatchSize: 5, nEpochs: 2, lr: 0.01, seed: 123 };
  const train = images(24, 21, 3, 0), test = images(10, 21, 3, 1);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-sr-'));
  let ref: { init: Map<string, torch.Tensor>; final: Map<string, torch.Tensor>; out: { epoch_losses: number[]; psnrs: number[] } };
  try {
    const runFile = path.join(dir, 'run.json'), dataFile = path.join(dir, 'data.safetensors');
    fs.writeFileSync(runFile, JSON.stringify({ upscale_factor: opt.upscaleFactor, batch_size: opt.batchSize, test_batch_size: opt.testBatchSize, n_epochs: opt.nEpochs, lr: opt.lr, seed: opt.seed }));
    torch.io.safetensors.saveFile(dataFile, { train_input: train.input, train_target: train.target, test_input: test.input, test_target: test.target });
    const script = path.join(__dirname, '..', 'scripts', 'reference', 'super_resolution_ref.py');
    const r = spawnSync('/usr/bin/python3', ['-W', 'ignore', script, runFile, dataFile, dir], { encoding: 'utf8', env: { ...process.env, PYTHONPATH: path.dirname(script) } });
    if (r.status !== 0) throw new Error(`super_resolution_ref.py failed:\n${r.stderr}`);
    ref = {
      init: torch.io.safetensors.loadFile(path.join(dir, 'init.safetensors')).tensors,
      final: torch.io.safetensors.loadFile(path.join(dir, 'final.safetensors')).tensors,
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
  torch.manualSeed(opt.seed);
  const built = new Net(opt.upscaleFactor);
  expect(maxDiff(built.stateDict(), ref.init)).toBe(0);
  built.dispose();

  const { model, epochLosses, psnrs } = main({ trainInput: train.input, trainTarget: train.target, testInput: test.input, testTarget: test.target }, opt);
  const close = (a: number, b: number) => Math.abs(a - b) <= 1e-5 * Math.abs(b);
  expect(epochLosses.map((l, i) => close(l, ref.out.epoch_losses[i]))).toEqual(ref.out.epoch_losses.map(() => true));
  expect(psnrs.map((p, i) => close(p, ref.out.psnrs[i]))).toEqual(ref.out.psnrs.map(() => true));
  expect(maxDiff(model.stateDict(), ref.final)).toBeLessThan(1e-4);
  model.dispose();
  expect(torch.memory().liveTensors).toBe(before);
  for (const t of [train.input, train.target, test.input, test.target, ...ref.init.values(), ...ref.final.values()]) t.dispose();
}, 300_000);
