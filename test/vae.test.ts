// PyTorch's examples/vae ported as written (scripts/examples/vae.ts) against the Python original
// on the same synthetic digits (scripts/reference/vae_ref.py): the model as built (bit for bit),
// each epoch's average train and test loss (the reparameterization's torch.randnLike draws, the
// shuffled batches), the final weights and the decoded samples.
import * as torch from '../lib';
import { VAE, main, digits } from '../scripts/examples/vae';
import { runExampleReference, stateDictDiff } from './helpers';

test('VAE, loss_function, train and test as PyTorch\'s: init bit for bit, each epoch\'s losses (1e-5 relative), final weights and samples (1e-4); nothing left in memory', () => {
  const opt = { batchSize: 32, epochs: 2, seed: 1 };
  const train = digits(160, 0), test = digits(64, 1);
  const ref = runExampleReference<{ train_losses: number[]; test_losses: number[] }>('vae_ref.py', { batch_size: opt.batchSize, epochs: opt.epochs, seed: opt.seed }, { train, test });
  const before = torch.memory().liveTensors;
  torch.manualSeed(opt.seed);
  const built = new VAE();
  expect(stateDictDiff(built.stateDict(), ref.files.init)).toBe(0);
  built.dispose();

  const { model, trainLosses, testLosses, samples } = main(train, test, opt);
  const close = (a: number, b: number) => Math.abs(a - b) <= 1e-5 * Math.abs(b);
  expect(trainLosses.map((l, i) => close(l, ref.out.train_losses[i]))).toEqual(ref.out.train_losses.map(() => true));
  expect(testLosses.map((l, i) => close(l, ref.out.test_losses[i]))).toEqual(ref.out.test_losses.map(() => true));
  expect(testLosses[1]).toBeLessThan(testLosses[0]);
  expect(stateDictDiff(model.stateDict(), ref.files.final)).toBeLessThan(1e-4);
  expect(stateDictDiff(new Map([['samples', samples]]), ref.files.samples)).toBeLessThan(1e-4);
  samples.dispose();
  model.dispose();
  expect(torch.memory().liveTensors).toBe(before);
  for (const t of [train, test]) t.dispose();
  ref.dispose();
}, 300_000);
