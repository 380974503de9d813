// PyTorch's examples/super_resolution ported as written (scripts/examples/super-resolution.ts)
// against the Python original on the same image pairs (scripts/reference/super_resolution_ref.py):
// the model as built and initialised by init.orthogonal_ with calculate_gain('relu') (bit for
// bit), each epoch's average loss and test PSNR, and the final weights.
import * as torch from '../lib';
import { Net, main, images } from '../scripts/examples/super-resolution';
import { runExampleReference, stateDictDiff } from './helpers';

test('Net (orthogonal init), train and test as PyTorch\'s: init bit for bit, each epoch\'s loss and PSNR (1e-5 relative), final weights (1e-4); nothing left in memory', () => {
  const opt = { upscaleFactor: 3, batchSize: 8, testBatchSize: 5, nEpochs: 2, lr: 0.01, seed: 123 };
  const train = images(24, 21, 3, 0), test = images(10, 21, 3, 1);
  const ref = runExampleReference<{ epoch_losses: number[]; psnrs: number[] }>('super_resolution_ref.py',
    { upscale_factor: opt.upscaleFactor, batch_size: opt.batchSize, test_batch_size: opt.testBatchSize, n_epochs: opt.nEpochs, lr: opt.lr, seed: opt.seed },
    { train_input: train.input, train_target: train.target, test_input: test.input, test_target: test.target });
  const before = torch.memory().liveTensors;
  torch.manualSeed(opt.seed);
  const built = new Net(opt.upscaleFactor);
  expect(stateDictDiff(built.stateDict(), ref.files.init)).toBe(0);
  built.dispose();

  const { model, epochLosses, psnrs } = main({ trainInput: train.input, trainTarget: train.target, testInput: test.input, testTarget: test.target }, opt);
  const close = (a: number, b: number) => Math.abs(a - b) <= 1e-5 * Math.abs(b);
  expect(epochLosses.map((l, i) => close(l, ref.out.epoch_losses[i]))).toEqual(ref.out.epoch_losses.map(() => true));
  expect(psnrs.map((p, i) => close(p, ref.out.psnrs[i]))).toEqual(ref.out.psnrs.map(() => true));
  expect(stateDictDiff(model.stateDict(), ref.files.final)).toBeLessThan(1e-4);
  model.dispose();
  expect(torch.memory().liveTensors).toBe(before);
  for (const t of [train.input, train.target, test.input, test.target]) t.dispose();
  ref.dispose();
}, 300_000);
