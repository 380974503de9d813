// PyTorch's examples/language_translation ported as written (scripts/examples/language-translation.ts)
// against the Python original on the same sentence pairs (scripts/reference/language_translation_ref.py):
// data.py's vocabularies and the first shuffled, padded batch; the Translator as built (bit for bit);
// every training batch's loss through nn.Transformer with its four masks given by position, dropout
// in the encoder, decoder and positional encoding, Adam with the paper's betas and eps; each epoch's
// train and validation loss (main.py's len(list(loader)) extra passes included, which draw shuffles);
// the epochs that saved best.pt and its weights as torch.load reads them; greedy translations.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as torch from '../lib';
import { main, syntheticPairs, translate, Translator, Vocabulary, buildVocabFromData } from '../scripts/examples/language-translation';
import { runExampleReference, stateDictDiff } from './helpers';

interface RefOut { vocab: [string[], string[]]; first_batch: [number[][], number[][]]; train_batches: number[]; epochs: [number, number][]; saved: number[]; translations: string[] }

test('translator training as PyTorch\'s: vocabularies, the first padded batch, init bit for bit, every batch\'s loss (1e-5), epochs, saved epochs, best and final weights (1e-5), greedy translations; nothing left in memory', () => {
  const trainPairs = syntheticPairs(40, 0), validPairs = syntheticPairs(12, 1);
  const sentences = syntheticPairs(3, 2).map(([s]) => s).concat(['der blaue hund sieht der ball']); // ('blaue' is not in the vocabulary: <unk>)
  const opts = { trainPairs, validPairs, epochs: 3, lr: 1e-3, batch: 8, attnHeads: 2, encLayers: 2, decLayers: 2, embedSize: 16, dimFeedforward: 32, dropout: 0.1 };
  const ref = runExampleReference<RefOut>('language_translation_ref.py', {
    train_pairs: trainPairs, valid_pairs: validPairs, epochs: opts.epochs, lr: opts.lr, batch: opts.batch, attn_heads: opts.attnHeads, enc_layers: opts.encLayers,
    dec_layers: opts.decLayers, embed_size: opts.embedSize, dim_feedforward: opts.dimFeedforward, dropout: opts.dropout, seed: 11, translate: sentences,
  });
  const loggingDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-translation-'));
  try {
    const before = torch.memory().liveTensors;
    torch.manualSeed(11);
    const built = new Translator({ numEncoderLayers: 2, numDecoderLayers: 2, embedSize: 16, numHeads: 2, srcVocabSize: ref.out.vocab[0].length, tgtVocabSize: ref.out.vocab[1].length, dimFeedforward: 32, dropout: 0.1 });
    expect(stateDictDiff(built.stateDict(), ref.files.init)).toBe(0);
    built.dispose();

    torch.manualSeed(11);
    const run = main({ ...opts, loggingDir });
    expect([run.srcVocab.itos, run.tgtVocab.itos]).toEqual(ref.out.vocab);
    expect(run.firstBatch.map((t) => t.tolist())).toEqual(ref.out.first_batch);
    expect(run.trainBatches.length).toBe(ref.out.train_batches.length);
    const maxDiff = (a: number[], b: number[]) => Math.max(...a.map((x, i) => Math.abs(x - b[i])));
    expect(maxDiff(run.trainBatches, ref.out.train_batches)).toBeLessThan(1e-5);
    expect(maxDiff(run.epochs.flat(), ref.out.epochs.flat())).toBeLessThan(1e-5);
    expect(run.saved).toEqual(ref.out.saved);
    // The attention's key bias (in_proj_bias[E:2E]) has a gradient of exactly 0 in exact arithmetic
    // (q·(k + b) shifts every score of a query alike; softmax ignores it), so what it gets is
    // rounding noise, and Adam with eps 1e-9 turns noise of any sign into steps of about lr: in
    // PyTorch as here. It is compared apart, within lr per step; everything else within 1e-5.
    const E = opts.embedSize, steps = run.trainBatches.length;
    const split = (sd: Map<string, torch.Tensor>) => {
      const rest = new Map<string, torch.Tensor>(), keyBias = new Map<string, torch.Tensor>();
      for (const [k, t] of sd) {
        if (!k.endsWith('in_proj_bias')) rest.set(k, t);
        else torch.tidy(() => {
          rest.set(k, torch.keep(torch.cat([t.narrow(0, 0, E), t.narrow(0, 2 * E, E)])));
          keyBias.set(k, torch.keep(t.narrow(0, E, E).clone()));
        });
      }
      return [rest, keyBias];
    };
    const best = torch.load(path.join(loggingDir, 'best.pt')), last = torch.load(path.join(loggingDir, 'last.pt'));
    for (const [ours, theirs] of [[run.model.stateDict(), ref.files.final], [best, ref.files.best], [last, ref.files.final]]) {
      const [oursRest, oursKeyBias] = split(ours), [theirsRest, theirsKeyBias] = split(theirs);
      expect(stateDictDiff(oursRest, theirsRest)).toBeLessThan(1e-5);
      expect(stateDictDiff(oursKeyBias, theirsKeyBias)).toBeLessThanOrEqual(opts.lr * steps);
      for (const m of [oursRest, oursKeyBias, theirsRest, theirsKeyBias]) for (const [k, t] of m) if (k.endsWith('in_proj_bias')) t.dispose();
    }
    run.model.eval();
    expect(sentences.map((s) => translate(run.model, s, run.srcLangTransform, run.tgtVocab))).toEqual(ref.out.translations);

    for (const t of [...best.values(), ...last.values(), ...run.firstBatch]) t.dispose();
    run.model.dispose();
    expect(torch.memory().liveTensors).toBe(before);
  } finally {
    fs.rmSync(loggingDir, { recursive: true, force: true });
    ref.dispose();
  }
}, 300_000);

test('data.py\'s Vocabulary: specials first, tokens in order of first appearance, min_freq, <unk> for the unknown', () => {
  const vocab = buildVocabFromData(['b a b', 'c a d', 'b'], (t) => t.split(' '), 2);
  expect(vocab.itos).toEqual(['<unk>', '<pad>', '<bos>', '<eos>', 'b', 'a']);
  expect([vocab.call(['a', 'zz', 'b']), vocab.call('b'), vocab.length]).toEqual([[5, 0, 4], 4, 6]);
  expect(vocab.lookupTokens([4, 5, 99])).toEqual(['b', 'a', '<unk>']);
  const own = new Vocabulary(['x'], ['<pad>']);
  expect([own.itos, own.call('y')]).toEqual([['<pad>', 'x'], 0]);
});
