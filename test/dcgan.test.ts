// PyTorch's examples/dcgan ported as written (scripts/examples/dcgan.ts) against the Python
// original on the same synthetic images (scripts/reference/dcgan_ref.py): both nets as built and
// initialised by weights_init (bit for bit), every iteration's D and G losses and D's outputs
// through BatchNorm in training, LeakyReLU in place, BCELoss and the two Adams, the BatchNorm
// running statistics and weights after training, and netG(fixed_noise) at the end.
import * as torch from '../lib';
import { Generator, Discriminator, weightsInit, run, syntheticImages } from '../scripts/examples/dcgan';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';

test('Generator, Discriminator and the training loop as PyTorch\'s: init bit for bit, every iteration\'s losses (1e-5), final weights and running stats (1e-4), generated images; nothing left in memory', () => {
  const opt = { nz: 16, ngf: 8, ndf: 8, nc: 3, batchSize: 16, niter: 2, lr: 0.0002, beta1: 0.5, manualSeed: 999 };
  const images = syntheticImages(48, 0);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-dcgan-'));
  let ref: { init: Map<string, torch.Tensor>; final: Map<string, torch.Tensor>; fake: torch.Tensor; steps: Record<string, number>[] };
  try {
    const runFile = path.join(dir, 'run.json'), imagesFile = path.join(dir, 'images.safetensors');
    fs.writeFileSync(runFile, JSON.stringify({ nz: opt.nz, ngf: opt.ngf, ndf: opt.ndf, nc: opt.nc, batch_size: opt.batchSize, niter: opt.niter, lr: opt.lr, beta1: opt.beta1, manual_seed: opt.manualSeed }));
    torch.io.safetensors.saveFile(imagesFile, { images });
    const script = path.join(__dirname, '..', 'scripts', 'reference', 'dcgan_ref.py');
    const r = spawnSync('/usr/bin/python3', ['-W', 'ignore', script, runFile, imagesFile, dir], { encoding: 'utf8', env: { ...process.env, PYTHONPATH: path.dirname(script) } });
    if (r.status !== 0) throw new Error(`dcgan_ref.py failed:\n${r.stderr}`);
    ref = {
      init: torch.io.safetensors.loadFile(path.join(dir, 'init.safetensors')).tensors,
      final: torch.io.safetensors.loadFile(path.join(dir, 'final.safetensors')).tensors,
      fake: torch.io.safetensors.loadFile(path.join(dir, 'fake.safetensors')).tensors.get('fake')!,
      steps: JSON.parse(fs.readFileSync(path.join(dir, 'out.json'), 'utf8')).steps,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const both = (g: torch.nn.Module, d: torch.nn.Module) => new Map([...[...g.stateDict()].map(([k, v]) => [`G.${k}`, v] as const), ...[...d.stateDict()].map(([k, v]) => [`D.${k}`, v] as const)]);
  const maxDiff = (ours: Map<string, torch.Tensor>, theirs: Map<string, torch.Tensor>) => {
    expect([...ours.keys()].sort()).toEqual([...theirs.keys()].sort());
    return Math.max(...[...ours].map(([n, t]) => torch.tidy(() => t.to('float64').sub(theirs.get(n)!.to('float64')).abs().max().item())));
  };
  const before = torch.memory().liveTensors;
  // as built and initialised: main.py seeds, builds netG and applies weights_init, then netD
  torch.manualSeed(opt.manualSeed);
  const g = new Generator(opt.nz, opt.ngf, opt.nc).apply(weightsInit), d = new Discriminator(opt.ndf, opt.nc).apply(weightsInit);
  expect(maxDiff(both(g, d), ref.init)).toBe(0);
  g.dispose();
  d.dispose();

  const { netG, netD, steps, fake } = run(images, opt);
  expect(maxDiff(both(netG, netD), ref.init)).toBeGreaterThan(0); // (trained: not the init)
  expect(steps.length).toBe(ref.steps.length);
  steps.forEach((s, i) => {
    for (const k of ['errD', 'errG', 'D_x', 'D_G_z1', 'D_G_z2'] as const) expect([i, k, Math.abs(s[k] - ref.steps[i][k]) < 1e-5]).toEqual([i, k, true]);
  });
  expect(maxDiff(both(netG, netD), ref.final)).toBeLessThan(1e-4);
  expect(torch.tidy(() => fake.sub(ref.fake).abs().max().item())).toBeLessThan(1e-4);
  for (const t of [fake]) t.dispose();
  netG.dispose();
  netD.dispose();
  expect(torch.memory().liveTensors).toBe(before);
  for (const t of [images, ...ref.init.values(), ...ref.final.values(), ref.fake]) t.dispose();
}, 300_000);
