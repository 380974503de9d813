// torchvision's ResNet and PyTorch's examples/imagenet loop ported as written
// (scripts/examples/resnet.ts) against the Python originals on the same synthetic images
// (scripts/reference/resnet_ref.py): resnet18 and resnet50 as built and initialised (kaiming_normal_
// fan_out, constant_; bit for bit), every training step's loss and top-1 / top-5 accuracy through
// BatchNorm, in-place ReLU and residual adds, SGD with momentum and weight decay, the validation
// averages, and the weights and running statistics after training.
import * as torch from '../lib';
import { resnet18, resnet50, main, accuracy, syntheticImages } from '../scripts/examples/resnet';
import { runExampleReference, stateDictDiff, pythonJson } from './helpers';

test.each(['resnet18', 'resnet50'] as const)('%s and imagenet\'s train / validate as PyTorch\'s: init bit for bit, every step\'s loss (1e-4) and accuracies, validation, final state (1e-3); nothing left in memory', (arch) => {
  const opt = { arch, numClasses: 10, epochs: 1, batchSize: 8, lr: 0.02, momentum: 0.9, weightDecay: 1e-4, seed: 0 };
  const [trainImages, trainLabels] = syntheticImages(24, 10, 0), [valImages, valLabels] = syntheticImages(16, 10, 1);
  const ref = runExampleReference<{ train_steps: { loss: number; acc1: number; acc5: number }[]; validations: { loss: number; acc1: number; acc5: number }[] }>('resnet_ref.py',
    { arch, num_classes: opt.numClasses, epochs: opt.epochs, batch_size: opt.batchSize, lr: opt.lr, momentum: opt.momentum, weight_decay: opt.weightDecay, seed: opt.seed },
    { train_images: trainImages, train_labels: trainLabels, val_images: valImages, val_labels: valLabels });
  const before = torch.memory().liveTensors;
  torch.manualSeed(opt.seed);
  const built = (arch === 'resnet18' ? resnet18 : resnet50)({ numClasses: opt.numClasses });
  expect(stateDictDiff(built.stateDict(), ref.files.init)).toBe(0);
  built.dispose();

  const { model, trainSteps, validations } = main({ trainImages, trainLabels, valImages, valLabels }, opt);
  expect(trainSteps.length).toBe(ref.out.train_steps.length);
  trainSteps.forEach((s, i) => {
    const w = ref.out.train_steps[i];
    expect([i, Math.abs(s.loss - w.loss) < 1e-4, s.acc1, s.acc5]).toEqual([i, true, w.acc1, w.acc5]);
  });
  validations.forEach((v, e) => {
    const w = ref.out.validations[e];
    expect([e, Math.abs(v.loss - w.loss) < 1e-4, v.acc1, v.acc5]).toEqual([e, true, w.acc1, w.acc5]);
  });
  expect(stateDictDiff(model.stateDict(), ref.files.final)).toBeLessThan(1e-3);
  model.dispose();
  expect(torch.memory().liveTensors).toBe(before);
  for (const t of [trainImages, trainLabels, valImages, valLabels]) t.dispose();
  ref.dispose();
}, 300_000);

test('accuracy(output, target, topk=(1, 5)) as imagenet main.py\'s, on ties and misses', () => {
  const output = torch.tensor([[0.1, 0.9, 0.0, 0.3, 0.2, 0.5, 0.4], [0.7, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6], [0.3, 0.3, 0.3, 0.1, 0.1, 0.1, 0.2]]);
  const target = torch.tensor([1, 1, 2]);
  const want = pythonJson<number[]>(`import torch, json, sys
sys.path.insert(0, 'scripts/reference')
from resnet_ref import accuracy
out = torch.tensor(${JSON.stringify(output.tolist())}); t = torch.tensor([1, 1, 2])
print(json.dumps([a.item() for a in accuracy(out, t, topk=(1, 2, 5))]))`);
  expect(accuracy(output, target, [1, 2, 5])).toEqual(want);
  for (const t of [output, target]) t.dispose();
});
