// PyTorch's examples/vae ported as written (scripts/examples/vae.ts) against the Python original
// on the same synthetic digits (scripts/reference/vae_ref.py): the model as built (bit for bit),
// each epoch's average train and test loss (the reparameterization's torch.randnLike draws, the
// shuffled batches), the final weights and the decoded samples.
import * as torch from '../lib';
import { VAE, main, digits } from '../scripts/examples/vae';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';

test('VAE, loss_function, train and test as PyTorch\'s: init bit for bit, each epoch\'s losses (1e-5 relative), final weights and samples (1e-4); nothing left in memory', () => {
  const opt = { batchSize: 32, epochs: 2, seed: 1 };
  const train = digits(160, 0), test = digits(64, 1);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-vae-'));
  let ref: { init: Map<string, torch.Tensor>; final: Map<string, torch.Tensor>; samples: torch.Tensor; out: { train_losses: number[]; test_losses: number[] } };
  try {
    const runFile = path.join(dir, 'run.json'), dataFile = path.join(dir, 'data.safetensors');
    fs.writeFileSync(runFile, JSON.stringify({ batch_size: opt.batchSize, epochs: opt.epochs, seed: opt.seed }));
    torch.io.safetensors.saveFile(dataFile, { train, test });
    const script = path.join(__dirname, '..', 'scripts', 'reference', 'vae_ref.py');
    const r = spawnSync('/usr/bin/python3', ['-W', 'ignore', script, runFile, dataFile, dir], { encoding: 'utf8', env: { ...process.env, PYTHONPATH: path.dirname(script) } });
    if (r.status !== 0) throw new Error(`vae_ref.py failed:\n${r.stderr}`);
    ref = {
      init: torch.io.safetensors.loadFile(path.join(dir, 'init.safetensors')).tensors,
      final: torch.io.safetensors.loadFile(path.join(dir, 'final.safetensors')).tensors,
      samples: torch.io.safetensors.loadFile(path.join(dir, 'samples.safetensors')).tensors.get('samples')!,
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
  const built = new VAE();
  expect(maxDiff(built.stateDict(), ref.init)).toBe(0);
  built.dispose();

  const { model, trainLosses, testLosses, samples } = main(train, test, opt);
  const close = (a: number, b: number) => Math.abs(a - b) <= 1e-5 * Math.abs(b);
  expect(trainLosses.map((l, i) => close(l, ref.out.train_losses[i]))).toEqual(ref.out.train_losses.map(() => true));
  expect(testLosses.map((l, i) => close(l, ref.out.test_losses[i]))).toEqual(ref.out.test_losses.map(() => true));
  expect(testLosses[1]).toBeLessThan(testLosses[0]);
  expect(maxDiff(model.stateDict(), ref.final)).toBeLessThan(1e-4);
  expect(torch.tidy(() => samples.sub(ref.samples).abs().max().item())).toBeLessThan(1e-4);
  samples.dispose();
  model.dispose();
  expect(torch.memory().liveTensors).toBe(before);
  for (const t of [train, test, ...ref.init.values(), ...ref.final.values(), ref.samples]) t.dispose();
}, 300_000);
