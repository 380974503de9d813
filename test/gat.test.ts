// PyTorch's examples/gat ported as written (scripts/examples/gat.ts) against the Python original
// on the same synthetic graph (scripts/reference/gat_ref.py): the node split (torch.randperm),
// the layers as built (xavier_normal_, bit for bit), every epoch's training and validation loss
// and accuracy through attention dropout and masking, the test result and the final weights.
import * as torch from '../lib';
import { GAT, main, blockGraph } from '../scripts/examples/gat';
import { runExampleReference, stateDictDiff } from './helpers';

test.each([false, true])('GAT (concatenated heads: %s), train_iter and test as PyTorch\'s: every epoch\'s losses (1e-5) and accuracies, the test result, final weights (1e-4); nothing left in memory', (concatHeads) => {
  const opt = { epochs: 12, lr: 0.005, l2: 5e-4, hiddenDim: 16, numHeads: 4, concatHeads, dropoutP: 0.6, seed: 13, nTest: 30, nVal: 20 };
  const { features, labels, adjMat } = blockGraph(90, 3, 12, 0);
  const ref = runExampleReference<{ history: { lossTrain: number; accTrain: number; lossVal: number; accVal: number }[]; loss_test: number; acc_test: number }>('gat_ref.py',
    { epochs: opt.epochs, lr: opt.lr, l2: opt.l2, hidden_dim: opt.hiddenDim, num_heads: opt.numHeads, concat_heads: concatHeads, dropout_p: opt.dropoutP, seed: opt.seed, n_test: opt.nTest, n_val: opt.nVal },
    { features, labels, adj_mat: adjMat });
  const before = torch.memory().liveTensors;
  // as built: main.py seeds, draws the node split, then builds the model
  torch.manualSeed(opt.seed);
  torch.randperm(labels.size(0)).dispose();
  const built = new GAT({ inFeatures: 12, nHidden: opt.hiddenDim, nHeads: opt.numHeads, numClasses: 3, concat: concatHeads, dropout: opt.dropoutP });
  expect(stateDictDiff(built.stateDict(), ref.files.init)).toBe(0);
  built.dispose();
  const { model, history, lossTest, accTest } = main(features, labels, adjMat, opt);
  expect(history.length).toBe(opt.epochs);
  history.forEach((h, i) => {
    const w = ref.out.history[i];
    expect([i, Math.abs(h.lossTrain - w.lossTrain) < 1e-5, Math.abs(h.lossVal - w.lossVal) < 1e-5, h.accTrain, h.accVal]).toEqual([i, true, true, w.accTrain, w.accVal]);
  });
  expect([Math.abs(lossTest - ref.out.loss_test) < 1e-5, accTest]).toEqual([true, ref.out.acc_test]);
  expect(stateDictDiff(model.stateDict(), ref.files.final)).toBeLessThan(1e-4);
  expect(history[history.length - 1].lossTrain).toBeLessThan(history[0].lossTrain);
  model.dispose();
  expect(torch.memory().liveTensors).toBe(before);
  for (const t of [features, labels, adjMat]) t.dispose();
  ref.dispose();
}, 300_000);
