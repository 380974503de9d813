// PyTorch's examples/fast_neural_style ported as written (scripts/examples/fast-neural-style.ts)
// against the Python original on the same images and VGG-16 weights
// (scripts/reference/fast_neural_style_ref.py): TransformerNet as built (bit for bit), every
// batch's content and style loss through two epochs (the last batch short, so the style Grams are
// sliced), the trained weights, and stylize's output from the saved state dict.
import * as torch from '../lib';
import { TransformerNet, train, stylize, images, seededVggWeights } from '../scripts/examples/fast-neural-style';
import { runExampleReference, stateDictDiff } from './helpers';

test('TransformerNet + VGG-16 perceptual losses as PyTorch\'s: init bit for bit, every batch\'s content and style loss (1e-5 relative), trained weights and stylized image; batches normalised in place leave the dataset as it was; nothing left in memory', () => {
  const args = { batchSize: 3, epochs: 2, lr: 1e-3, contentWeight: 1e5, styleWeight: 1e10, seed: 42 };
  const trainImages = images(8, 32, 0), style = torch.keep(images(1, 32, 1).index(0)), content = torch.keep(images(1, 40, 2).index(0));
  const vggWeights = seededVggWeights(3);
  const ref = runExampleReference<{ content_losses: number[]; style_losses: number[] }>('fast_neural_style_ref.py',
    { batch_size: args.batchSize, epochs: args.epochs, lr: args.lr, content_weight: args.contentWeight, style_weight: args.styleWeight, seed: args.seed },
    { images: trainImages, style, content, ...Object.fromEntries(vggWeights) });
  const before = torch.memory().liveTensors;
  const imagesBefore = trainImages.clone();

  torch.manualSeed(args.seed);
  const built = new TransformerNet();
  expect(stateDictDiff(built.stateDict(), ref.files.init)).toBe(0);
  built.dispose();

  const { transformer, contentLosses, styleLosses } = train(args, trainImages, style, vggWeights);
  // 3 batches an epoch (3, 3, 2)
  expect([contentLosses.length, styleLosses.length]).toEqual([6, 6]);
  const relErr = (ours: number[], theirs: number[]) => Math.max(...ours.map((v, i) => Math.abs(v - theirs[i]) / Math.abs(theirs[i])));
  expect(relErr(contentLosses, ref.out.content_losses)).toBeLessThan(1e-5);
  expect(relErr(styleLosses, ref.out.style_losses)).toBeLessThan(1e-5);
  expect(stateDictDiff(transformer.stateDict(), ref.files.final)).toBeLessThan(1e-5);
  // normalize_batch divides each batch by 255 in place: the batch is the loader's own copy, as PyTorch's collate makes it
  expect(torch.equal(trainImages, imagesBefore)).toBe(true);

  const stylized = stylize(transformer.stateDict(), content);
  const want = ref.files.stylized.get('output')!;
  expect(stylized.shape).toEqual([3, 40, 40]);
  expect(torch.tidy(() => stylized.sub(want).abs().max().item())).toBeLessThan(1e-5 * torch.tidy(() => want.abs().max().item()));
  for (const t of [stylized, imagesBefore]) t.dispose();
  transformer.dispose();
  expect(torch.memory().liveTensors).toBe(before);
  for (const t of [trainImages, style, content, ...vggWeights.values()]) t.dispose();
  ref.dispose();
}, 300_000);
