// PyTorch's examples/dcgan ported as written (scripts/examples/dcgan.ts) against the Python
// original on the same synthetic images (scripts/reference/dcgan_ref.py): both nets as built and
// initialised by weights_init (bit for bit), every iteration's D and G losses and D's outputs
// through BatchNorm in training, LeakyReLU in place, BCELoss and the two Adams, the BatchNorm
// running statistics and weights after training, and netG(fixed_noise) at the end.
import * as torch from '../lib';
import { Generator, Discriminator, weightsInit, run, syntheticImages } from '../scripts/examples/dcgan';
import { runExampleReference, stateDictDiff } from './helpers';

test('Generator, Discriminator and the training loop as PyTorch\'s: init bit for bit, every iteration\'s losses (1e-5), final weights and running stats (1e-4), generated images; nothing left in memory', () => {
  const opt = { nz: 16, ngf: 8, ndf: 8, nc: 3, batchSize: 16, niter: 2, lr: 0.0002, beta1: 0.5, manualSeed: 999 };
  const images = syntheticImages(48, 0);
  const ref = runExampleReference<{ steps: Record<string, number>[] }>('dcgan_ref.py',
    { nz: opt.nz, ngf: opt.ngf, ndf: opt.ndf, nc: opt.nc, batch_size: opt.batchSize, niter: opt.niter, lr: opt.lr, beta1: opt.beta1, manual_seed: opt.manualSeed }, { images });
  const both = (g: torch.nn.Module, d: torch.nn.Module) => new Map([...[...g.stateDict()].map(([k, v]) => [`G.${k}`, v] as const), ...[...d.stateDict()].map(([k, v]) => [`D.${k}`, v] as const)]);
  const before = torch.memory().liveTensors;
  // as built and initialised: main.py seeds, builds netG and applies weights_init, then netD
  torch.manualSeed(opt.manualSeed);
  const g = new Generator(opt.nz, opt.ngf, opt.nc).apply(weightsInit), d = new Discriminator(opt.ndf, opt.nc).apply(weightsInit);
  expect(stateDictDiff(both(g, d), ref.files.init)).toBe(0);
  g.dispose();
  d.dispose();

  const { netG, netD, steps, fake } = run(images, opt);
  expect(steps.length).toBe(ref.out.steps.length);
  steps.forEach((s, i) => {
    for (const k of ['errD', 'errG', 'D_x', 'D_G_z1', 'D_G_z2'] as const) expect([i, k, Math.abs(s[k] - ref.out.steps[i][k]) < 1e-5]).toEqual([i, k, true]);
  });
  expect(stateDictDiff(both(netG, netD), ref.files.final)).toBeLessThan(1e-4);
  expect(stateDictDiff(new Map([['fake', fake]]), ref.files.fake)).toBeLessThan(1e-4);
  fake.dispose();
  netG.dispose();
  netD.dispose();
  expect(torch.memory().liveTensors).toBe(before);
  images.dispose();
  ref.dispose();
}, 300_000);
