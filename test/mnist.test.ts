// PyTorch's examples/mnist and examples/mnist_rnn ported as written (scripts/examples/mnist.ts,
// mnist-rnn.ts) against the Python originals on the same synthetic digits (scripts/reference/mnist_ref.py): the same state dict
// from the same seed (bit for bit), the same shuffled batches (DataLoader's RandomSampler draws),
// the same loss at every batch with dropout, Adadelta and StepLR, the same test loss and accuracy.
import * as torch from '../lib';
import { Net, main, syntheticDigits } from '../scripts/examples/mnist';
import * as rnn from '../scripts/examples/mnist-rnn';
import { runExampleReference, stateDictDiff } from './helpers';

/** An example's main beside mnist_ref.py's on the same digits: init, every batch's loss, the test results, the final state; memory flat. */
function checkAgainstPython(arch: 'cnn' | 'rnn', run: { batchSize: number; testBatchSize: number; epochs: number; lr: number; gamma: number; seed: number }, nTrain: number, nTest: number, minCorrect: number): void {
  const [trainImages, trainLabels] = syntheticDigits(nTrain, 0);
  const [testImages, testLabels] = syntheticDigits(nTest, 1);
  const ref = runExampleReference<{ train_losses: number[]; tests: { testLoss: number; correct: number }[] }>('mnist_ref.py',
    { arch, batch_size: run.batchSize, test_batch_size: run.testBatchSize, epochs: run.epochs, lr: run.lr, gamma: run.gamma, seed: run.seed },
    { train_images: trainImages, train_labels: trainLabels, test_images: testImages, test_labels: testLabels });
  const before = torch.memory().liveTensors;
  torch.manualSeed(run.seed);
  const built = arch === 'cnn' ? new Net() : new rnn.Net();
  expect(stateDictDiff(built.stateDict(), ref.files.init)).toBe(0);
  built.dispose();

  const { model, trainLosses, tests } = (arch === 'cnn' ? main : rnn.main)({ trainImages, trainLabels, testImages, testLabels, ...run });
  expect(trainLosses.length).toBe(ref.out.train_losses.length);
  trainLosses.forEach((l, i) => expect([i, Math.abs(l - ref.out.train_losses[i]) < 1e-5]).toEqual([i, true]));
  tests.forEach((t, e) => {
    expect([e, Math.abs(t.testLoss - ref.out.tests[e].testLoss) < 1e-5]).toEqual([e, true]);
    expect(t.correct).toBe(ref.out.tests[e].correct);
  });
  expect(stateDictDiff(model.stateDict(), ref.files.final)).toBeLessThan(1e-5);
  // it learned the digits
  expect(tests[tests.length - 1].correct).toBeGreaterThan(minCorrect);
  model.dispose();
  expect(torch.memory().liveTensors).toBe(before);
  for (const t of [trainImages, trainLabels, testImages, testLabels]) t.dispose();
  ref.dispose();
}

test('Net, train, test and main as PyTorch\'s: init bit for bit, every batch\'s loss (1e-5), test loss and accuracy per epoch, final weights (1e-5); nothing left in memory', () => {
  checkAgainstPython('cnn', { batchSize: 64, testBatchSize: 100, epochs: 2, lr: 1.0, gamma: 0.7, seed: 1 }, 320, 200, 180);
}, 300_000);

test('mnist_rnn\'s Net (LSTM over rows, BatchNorm1d, Dropout2d on a 2-D input) with mnist\'s loop, as PyTorch\'s: init bit for bit, every batch\'s loss (1e-5), test results; nothing left in memory', () => {
  checkAgainstPython('rnn', { batchSize: 32, testBatchSize: 100, epochs: 2, lr: 0.1, gamma: 0.7, seed: 1 }, 160, 100, 10);
}, 300_000);
