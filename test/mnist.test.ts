// PyTorch's examples/mnist and examples/mnist_rnn ported as written (scripts/examples/mnist.ts,
// mnist-rnn.ts) against the Python originals on the same synthetic digits (scripts/reference/mnist_ref.py): the same state dict
// from the same seed (bit for bit), the same shuffled batches (DataLoader's RandomSampler draws),
// the same loss at every batch with dropout, Adadelta and StepLR, the same test loss and accuracy.
import * as torch from '../lib';
import { Net, main, syntheticDigits } from '../scripts/examples/mnist';
import * as rnn from '../scripts/examples/mnist-rnn';
import { runExampleReference, stateDictDiff } from './helpers';

test('Net, train, test and main as PyTorch\'s: init bit for bit, every batch\'s loss (1e-5), test loss and accuracy per epoch, final weights (1e-5); nothing left in memory', () => {
  const run = { batchSize: 64, testBatchSize: 100, epochs: 2, lr: 1.0, gamma: 0.7, seed: 1 };
  const [trainImages, trainLabels] = syntheticDigits(320, 0);
  const [testImages, testLabels] = syntheticDigits(200, 1);
  const ref = runExampleReference<{ train_losses: number[]; tests: { testLoss: number; correct: number }[] }>('mnist_ref.py',
    { batch_size: run.batchSize, test_batch_size: run.testBatchSize, epochs: run.epochs, lr: run.lr, gamma: run.gamma, seed: run.seed },
    { train_images: trainImages, train_labels: trainLabels, test_images: testImages, test_labels: testLabels });
  const before = torch.memory().liveTensors;
  torch.manualSeed(run.seed);
  const built = new Net();
  expect(stateDictDiff(built.stateDict(), ref.files.init)).toBe(0);
  built.dispose();

  const { model, trainLosses, tests } = main({ trainImages, trainLabels, testImages, testLabels, ...run });
  expect(trainLosses.length).toBe(ref.out.train_losses.length);
  trainLosses.forEach((l, i) => expect([i, Math.abs(l - ref.out.train_losses[i]) < 1e-5]).toEqual([i, true]));
  tests.forEach((t, e) => {
    expect([e, Math.abs(t.testLoss - ref.out.tests[e].testLoss) < 1e-5]).toEqual([e, true]);
    expect(t.correct).toBe(ref.out.tests[e].correct);
  });
  expect(stateDictDiff(model.stateDict(), ref.files.final)).toBeLessThan(1e-5);
  // it learned the digits
  expect(tests[tests.length - 1].correct).toBeGreaterThan(180);
  model.dispose();
  expect(torch.memory().liveTensors).toBe(before);
  for (const t of [trainImages, trainLabels, testImages, testLabels]) t.dispose();
  ref.dispose();
}, 300_000);

test('mnist_rnn\'s Net (LSTM over rows, BatchNorm1d, Dropout2d on a 2-D input) with mnist\'s loop, as PyTorch\'s: init bit for bit, every batch\'s loss (1e-5), test results; nothing left in memory', () => {
  const run = { batchSize: 32, testBatchSize: 100, epochs: 2, lr: 0.1, gamma: 0.7, seed: 1 };
  const [trainImages, trainLabels] = syntheticDigits(160, 0);
  const [testImages, testLabels] = syntheticDigits(100, 1);
  const ref = runExampleReference<{ train_losses: number[]; tests: { testLoss: number; correct: number }[] }>('mnist_ref.py',
    { arch: 'rnn', batch_size: run.batchSize, test_batch_size: run.testBatchSize, epochs: run.epochs, lr: run.lr, gamma: run.gamma, seed: run.seed },
    { train_images: trainImages, train_labels: trainLabels, test_images: testImages, test_labels: testLabels });
  const before = torch.memory().liveTensors;
  torch.manualSeed(run.seed);
  const built = new rnn.Net();
  expect(stateDictDiff(built.stateDict(), ref.files.init)).toBe(0);
  built.dispose();

  const { model, trainLosses, tests } = rnn.main({ trainImages, trainLabels, testImages, testLabels, ...run });
  expect(trainLosses.length).toBe(ref.out.train_losses.length);
  trainLosses.forEach((l, i) => expect([i, Math.abs(l - ref.out.train_losses[i]) < 1e-5]).toEqual([i, true]));
  tests.forEach((t, e) => {
    expect([e, Math.abs(t.testLoss - ref.out.tests[e].testLoss) < 1e-5]).toEqual([e, true]);
    expect(t.correct).toBe(ref.out.tests[e].correct);
  });
  expect(stateDictDiff(model.stateDict(), ref.files.final)).toBeLessThan(1e-5);
  model.dispose();
  expect(torch.memory().liveTensors).toBe(before);
  for (const t of [trainImages, trainLabels, testImages, testLabels]) t.dispose();
  ref.dispose();
}, 300_000);
