// PyTorch's examples/mnist_forward_forward ported as written (scripts/examples/forward-forward.ts)
// against the Python original on the same digits (scripts/reference/forward_forward_ref.py): the
// layers as built (bit for bit), the shuffled full batch and its positive / negative overlays (the
// global generator's draws: DataLoader, then randperm), every layer's loss through its epochs, the
// trained weights, and the train and test error of the goodness-based prediction.
import * as torch from '../lib';
import { main, flatDigits, Net } from '../scripts/examples/forward-forward';
import { runExampleReference, stateDictDiff } from './helpers';

const stateOf = (net: Net) => new Map(net.layers.flatMap((layer, i) => [...layer.stateDict()].map(([k, t]) => [`layers.${i}.${k}`, t] as [string, torch.Tensor])));

test('forward-forward training as PyTorch\'s: layers bit for bit, the same shuffled batch and overlays, every layer\'s losses (1e-5), weights, train and test error; nothing left in memory', () => {
  const args = { dims: [784, 100, 100], epochs: 150, lr: 0.03, threshold: 2.0, trainBatchSize: 120, testBatchSize: 60, seed: 1234 };
  const [trainImages, trainLabels] = flatDigits(150, 0), [testImages, testLabels] = flatDigits(60, 1);
  const ref = runExampleReference<{ losses: number[][]; train_error: number; test_error: number }>('forward_forward_ref.py',
    { dims: args.dims, epochs: args.epochs, lr: args.lr, threshold: args.threshold, train_batch_size: args.trainBatchSize, test_batch_size: args.testBatchSize, seed: args.seed },
    { train_images: trainImages, train_labels: trainLabels, test_images: testImages, test_labels: testLabels });
  const before = torch.memory().liveTensors;

  torch.manualSeed(args.seed);
  const built = new Net(args.dims, args);
  expect(stateDictDiff(stateOf(built), ref.files.init)).toBe(0);
  for (const layer of built.layers) layer.dispose();

  const { net, batch, trainError, testError } = main({ trainImages, trainLabels, testImages, testLabels }, args);
  // the first 120 of 150 digits in the DataLoader's shuffled order; the negatives' labels by randperm
  for (const [k, t] of [['x', batch.x], ['y', batch.y], ['x_pos', batch.xPos], ['x_neg', batch.xNeg]] as const) {
    expect([k, torch.equal(t, ref.files.batch.get(k)!)]).toEqual([k, true]);
  }
  expect(net.layers.map((l) => l.losses.length)).toEqual([args.epochs, args.epochs]);
  net.layers.forEach((layer, i) => {
    const err = Math.max(...layer.losses.map((l, j) => Math.abs(l - ref.out.losses[i][j])));
    expect(err).toBeLessThan(1e-5);
  });
  expect(stateDictDiff(stateOf(net), ref.files.final)).toBeLessThan(1e-5);
  expect([trainError, testError]).toEqual([ref.out.train_error, ref.out.test_error]);
  // the network learned something: better than chance on both
  expect(Math.max(trainError, testError)).toBeLessThan(0.9);

  for (const layer of net.layers) layer.dispose();
  for (const t of Object.values(batch)) t.dispose();
  expect(torch.memory().liveTensors).toBe(before);
  for (const t of [trainImages, trainLabels, testImages, testLabels]) t.dispose();
  ref.dispose();
}, 300_000);
