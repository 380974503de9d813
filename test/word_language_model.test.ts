// PyTorch's examples/word_language_model ported as written (scripts/examples/word-language-model.ts)
// against the Python original on the same news text (scripts/reference/word_language_model_ref.py),
// for each of its models: the same state dict from the same seed (bit for bit), the same loss at
// every training batch (dropout's draws included) and the same validation losses, through
// truncated BPTT, clipping, the written-out SGD step and lr annealing; nothing left in memory.
import * as torch from '../lib';
import { run, buildModel, corpus, ModelType } from '../scripts/examples/word-language-model';
import { runExampleReference, stateDictDiff } from './helpers';

const docs = torch.data.brownDocuments(['a']).map((d) => d.text.split('\n').slice(0, 12).join('\n'));
const { words, ids } = corpus([docs.slice(0, 30).join('\n'), docs.slice(30, 36).join('\n')]);
const common = { train: ids[0], valid: ids[1], ntokens: words.length, emsize: 16, nhid: 16, nlayers: 2, nhead: 2, lr: 20, clip: 0.25, epochs: 3, batchSize: 8, bptt: 10, dropout: 0.2, seed: 1111 };

test.each([
  ['LSTM', false], ['LSTM', true], ['GRU', false], ['RNN_TANH', false], ['RNN_RELU', true], ['Transformer', false],
] as [ModelType, boolean][])('%s (tied %s): the state dict as built bit for bit, every batch\'s loss and each epoch\'s validation loss within 1e-5, as PyTorch\'s', (model, tied) => {
  const ref = runExampleReference<{ train_losses: number[]; val_losses: number[] }>('word_language_model_ref.py', { ...common, model, tied, batch_size: common.batchSize });
  const before = torch.memory().liveTensors;
  // the model as built from the same seed (main.py seeds, then batchifies, which draws nothing, then builds)
  torch.manualSeed(common.seed);
  const built = buildModel({ ...common, model, tied });
  expect(stateDictDiff(built.stateDict(), ref.files.init)).toBe(0);
  built.dispose();
  const { model: m, trainLosses, valLosses } = run({ ...common, model, tied });
  expect(stateDictDiff(m.stateDict(), ref.files.final)).toBeLessThan(1e-4);
  expect(trainLosses.length).toBe(ref.out.train_losses.length);
  trainLosses.forEach((l, i) => expect([i, l, Math.abs(l - ref.out.train_losses[i]) < 1e-5]).toEqual([i, l, true]));
  valLosses.forEach((l, i) => expect([i, Math.abs(l - ref.out.val_losses[i]) < 1e-5]).toEqual([i, true]));
  // it learned: the training loss fell (on this little text the validation loss barely moves, in PyTorch as here)
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  expect(mean(trainLosses.slice(-10))).toBeLessThan(mean(trainLosses.slice(0, 10)) - 0.5);
  m.dispose();
  expect(torch.memory().liveTensors).toBe(before);
  ref.dispose();
}, 120_000);
