// PyTorch's examples/siamese_network ported as written (scripts/examples/siamese-network.ts)
// against the Python original on the same uint8 digits (scripts/reference/siamese_network_ref.py):
// the network as built (torchvision's resnet18 with its first convolution replaced and its fc cut
// off by children()[:-1], the MLP's xavier_uniform through apply; bit for bit), the pairs drawn by
// Python's random module (the first batch, exactly), every batch's BCE loss through Adadelta and
// StepLR, each epoch's test loss and correct count, and the weights and BatchNorm statistics after.
import * as torch from '../lib';
import { main, SiameseNetwork, uint8Digits } from '../scripts/examples/siamese-network';
import { runExampleReference, stateDictDiff } from './helpers';

test('siamese network training as PyTorch\'s: init bit for bit, the same pairs, every batch\'s loss (1e-5), test loss and correct count, final state (1e-4); nothing left in memory', () => {
  const args = { batchSize: 8, testBatchSize: 10, epochs: 2, lr: 1.0, gamma: 0.7, seed: 1, logInterval: 10, dryRun: false };
  const [trainImages, trainTargets] = uint8Digits(40, 0), [testImages, testTargets] = uint8Digits(20, 1);
  const ref = runExampleReference<{ losses: number[]; tests: [number, number][] }>('siamese_network_ref.py',
    { batch_size: args.batchSize, test_batch_size: args.testBatchSize, epochs: args.epochs, lr: args.lr, gamma: args.gamma, seed: args.seed, log_interval: args.logInterval, dry_run: args.dryRun },
    { train_images: trainImages, train_targets: trainTargets, test_images: testImages, test_targets: testTargets });
  const before = torch.memory().liveTensors;
  torch.manualSeed(args.seed);
  const built = new SiameseNetwork();
  expect(stateDictDiff(built.stateDict(), ref.files.init)).toBe(0);
  built.dispose();

  const { model, losses, tests, firstBatch } = main({ trainImages, trainTargets, testImages, testTargets }, args);
  ['images_1', 'images_2', 'targets'].forEach((k, i) => expect([k, torch.equal(firstBatch[i], ref.files.pairs.get(k)!)]).toEqual([k, true]));
  // (the pairs: even rows the same class, odd rows two classes)
  expect(firstBatch[2].tolist()).toEqual([1, 0, 1, 0, 1, 0, 1, 0]);
  expect(losses.length).toBe(ref.out.losses.length);
  expect(Math.max(...losses.map((l, i) => Math.abs(l - ref.out.losses[i])))).toBeLessThan(1e-5);
  expect(tests.map(([, c]) => c)).toEqual(ref.out.tests.map(([, c]) => c));
  expect(Math.max(...tests.map(([l], i) => Math.abs(l - ref.out.tests[i][0])))).toBeLessThan(1e-5);
  expect(stateDictDiff(model.stateDict(), ref.files.final)).toBeLessThan(1e-4);
  model.dispose();
  for (const t of firstBatch) t.dispose();
  expect(torch.memory().liveTensors).toBe(before);
  for (const t of [trainImages, trainTargets, testImages, testTargets]) t.dispose();
  ref.dispose();
}, 300_000);

test('nn.init\'s deprecated names (kaiming_normal, constant, ...) initialise as the underscored ones do, with PyTorch\'s warning once each', () => {
  const emit = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
  try {
    const a = torch.empty([3, 4]), b = torch.empty([3, 4]);
    torch.manualSeed(5);
    torch.nn.init.kaimingNormal(a);
    torch.nn.init.kaimingNormal(a, { mode: 'fan_out' });
    torch.manualSeed(5);
    torch.nn.init.kaimingNormal_(b);
    torch.nn.init.kaimingNormal_(b, { mode: 'fan_out' });
    expect(torch.equal(a, b)).toBe(true);
    torch.nn.init.constant(a, 0.5);
    expect(a.unique().tolist()).toEqual([0.5]);
    expect(emit.mock.calls).toEqual([
      ['nn.init.kaimingNormal is now deprecated in favor of nn.init.kaimingNormal_.', 'UserWarning'],
      ['nn.init.constant is now deprecated in favor of nn.init.constant_.', 'UserWarning'],
    ]);
    for (const t of [a, b]) t.dispose();
  } finally {
    emit.mockRestore();
  }
});

test('p.data.fill_(v) outside tidy() leaves no handle behind (the storage goes with p), and chains as PyTorch\'s p.data.mul_(2).add_(1)', () => {
  const before = torch.memory().liveTensors;
  const p = torch.nn.Parameter(torch.zeros([3]));
  p.data.fill_(0.01);
  expect(torch.memory().liveTensors).toBe(before + 1);
  const chained = p.data.mul_(2).add_(1);
  expect(p.tolist()).toEqual([1.02, 1.02, 1.02].map((v) => Math.fround(v)));
  expect([chained.requiresGrad, p.data.shape, p.data.requiresGrad, p.requiresGrad]).toEqual([false, [3], false, true]);
  const copy = p.data.clone(); // (a new tensor: the caller's)
  expect(torch.memory().liveTensors).toBe(before + 2);
  copy.dispose();
  p.dispose();
  expect(torch.memory().liveTensors).toBe(before);
});
