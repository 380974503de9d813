// PyTorch's examples/vision_transformer ported as written (scripts/examples/vision-transformer.ts)
// against the Python original on the same synthetic images (scripts/reference/vision_transformer_ref.py):
// the ViT as built (bit for bit), every training and validation batch's loss through unfold
// patches, a class token concatenated and a positional embedding added in place, nn.MultiheadAttention
// with attention dropout (sequence-first, as the original leaves it), GELU MLPs with dropout, Adam
// with weight decay; each epoch's mean losses, which epochs were saved, the final weights, and the
// best weights as torch.save wrote them (read back by torch.load, beside what PyTorch's torch.load
// read from its own file).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as torch from '../lib';
import { main, ViT, PatchExtractor } from '../scripts/examples/vision-transformer';
import { syntheticImages } from '../scripts/examples/resnet';
import { runExampleReference, stateDictDiff } from './helpers';

interface RefOut { train_batches: number[]; valid_batches: number[]; epochs: [number, number][]; saved: number[]; best: [number, number] }

test('vision transformer training as PyTorch\'s: init bit for bit, every batch\'s loss (1e-5), epochs, the saved epochs, final and best weights (1e-5); nothing left in memory', () => {
  const args = {
    patchSize: 8, latentSize: 32, nChannels: 3, numHeads: 4, numEncoders: 2, dropout: 0.1, numClasses: 10,
    epochs: 4, lr: 1e-3, weightDecay: 3e-2, batchSize: 4, dryRun: false, seed: 7,
  };
  const [trainImages, trainLabels] = syntheticImages(24, 10, 0), [validImages, validLabels] = syntheticImages(12, 10, 1);
  const ref = runExampleReference<RefOut>('vision_transformer_ref.py',
    { patch_size: args.patchSize, latent_size: args.latentSize, n_channels: args.nChannels, num_heads: args.numHeads, num_encoders: args.numEncoders,
      dropout: args.dropout, num_classes: args.numClasses, epochs: args.epochs, lr: args.lr, weight_decay: args.weightDecay,
      batch_size: args.batchSize, dry_run: args.dryRun, seed: args.seed },
    { train_images: trainImages, train_labels: trainLabels, valid_images: validImages, valid_labels: validLabels });
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-vit-'));
  try {
    const before = torch.memory().liveTensors;
    torch.manualSeed(args.seed);
    const built = new ViT(args);
    expect(stateDictDiff(built.stateDict(), ref.files.init)).toBe(0);
    built.dispose();

    const run = main({ trainImages, trainLabels, validImages, validLabels }, { ...args, outDir });
    expect([run.trainBatches.length, run.validBatches.length]).toEqual([ref.out.train_batches.length, ref.out.valid_batches.length]);
    const maxDiff = (a: number[], b: number[]) => Math.max(...a.map((x, i) => Math.abs(x - b[i])));
    expect(maxDiff(run.trainBatches, ref.out.train_batches)).toBeLessThan(1e-5);
    expect(maxDiff(run.validBatches, ref.out.valid_batches)).toBeLessThan(1e-5);
    expect(maxDiff(run.epochs.flat(), ref.out.epochs.flat())).toBeLessThan(1e-5);
    expect(run.saved).toEqual(ref.out.saved);
    expect(maxDiff(run.best, ref.out.best)).toBeLessThan(1e-5);
    expect(stateDictDiff(run.model.stateDict(), ref.files.final)).toBeLessThan(1e-5);
    const best = torch.load(path.join(outDir, 'best-weights.pt'));
    expect(stateDictDiff(best, ref.files.best)).toBeLessThan(1e-5);
    // (more than one epoch improved on the best, so the file holds a later epoch's weights than the first)
    expect(run.saved.length).toBeGreaterThan(1);
    for (const t of best.values()) t.dispose();
    run.model.dispose();
    expect(torch.memory().liveTensors).toBe(before);
  } finally {
    fs.rmSync(outDir, { recursive: true, force: true });
    for (const t of [trainImages, trainLabels, validImages, validLabels]) t.dispose();
    ref.dispose();
  }
}, 300_000);

test('PatchExtractor: patches in (row, column) order, each channel-major, as unfold / permute / view give them; a size not divisible by the patch is refused', () => {
  const x = torch.arange(2 * 3 * 4 * 6).view(2, 3, 4, 6);
  const patches = new PatchExtractor(2)(x);
  expect(patches.shape).toEqual([2, 6, 12]);
  // patch (row 1, column 2) of image 1: channel 0's 2x2 block at rows 2-3, columns 4-5, then channel 1's, then 2's
  const want = [0, 1, 2].flatMap((c) => [2, 3].flatMap((r) => [4, 5].map((col) => ((1 * 3 + c) * 4 + r) * 6 + col)));
  expect(patches.index(1, 1 * 3 + 2).tolist()).toEqual(want);
  expect(() => new PatchExtractor(4)(x)).toThrow('Input height (4) and width (6) must be divisible by patch size (4)');
  for (const t of [x, patches]) t.dispose();
});
