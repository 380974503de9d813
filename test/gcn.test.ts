// PyTorch's examples/gcn ported as written (scripts/examples/gcn.ts) against the Python original
// on the same graph (scripts/reference/gcn_ref.py): the sparse renormalised graph (from an int32
// edge list), the GCN as built (xavier_normal_ on torch.Tensor(in, out), bit for bit), every
// epoch's train loss and train / validation (loss, accuracy) with dropout, Adam with weight
// decay, and the test result.
import * as torch from '../lib';
import { GCN, main, syntheticGraph } from '../scripts/examples/gcn';
import { runExampleReference, stateDictDiff } from './helpers';

test('GCN over a sparse graph as PyTorch\'s: the normalised graph, init bit for bit, every epoch\'s losses (1e-5) and accuracies, the test result; nothing left in memory', () => {
  for (const includeBias of [false, true]) {
    const args = { hiddenDim: 16, epochs: 25, lr: 0.01, l2: 5e-4, dropoutP: 0.5, includeBias, seed: 42, nTest: 40, nVal: 30 };
    const data = syntheticGraph(150, 4, 60, 400, 3);
    const ref = runExampleReference<{ log: { loss: number; train: [number, number]; val: [number, number] }[]; test: [number, number] }>('gcn_ref.py',
      { hidden_dim: args.hiddenDim, epochs: args.epochs, lr: args.lr, l2: args.l2, dropout_p: args.dropoutP, include_bias: includeBias, seed: args.seed, n_test: args.nTest, n_val: args.nVal },
      { features: data.features, labels: data.labels, edges: data.edges });
    const before = torch.memory().liveTensors;

    torch.manualSeed(args.seed);
    torch.randperm(150).dispose(); // (main's draws before the model: the split)
    const built = new GCN(60, args.hiddenDim, 4, includeBias, args.dropoutP);
    expect(stateDictDiff(built.stateDict(), ref.files.init)).toBe(0);
    built.dispose();

    const { gcn, graph, log, test } = main(data, args);
    const [features, , adj] = graph;
    expect([features.layout, adj.layout]).toEqual(['sparse_coo', 'sparse_coo']);
    for (const [name, t] of [['features', features], ['adj', adj]] as const) {
      const err = torch.tidy(() => t.toDense().sub(ref.files.graph.get(name)!).abs().max().item());
      expect([name, err < 1e-7]).toEqual([name, true]);
    }
    expect(log.length).toBe(args.epochs);
    const worst = Math.max(...log.flatMap((e, i) => [e.loss - ref.out.log[i].loss, e.train[0] - ref.out.log[i].train[0], e.val[0] - ref.out.log[i].val[0]].map(Math.abs)));
    expect(worst).toBeLessThan(1e-5);
    expect(log.map((e) => [e.train[1], e.val[1]])).toEqual(ref.out.log.map((e) => [e.train[1], e.val[1]]));
    expect(Math.abs(test[0] - ref.out.test[0])).toBeLessThan(1e-5);
    expect(test[1]).toBe(ref.out.test[1]);
    expect(stateDictDiff(gcn.stateDict(), ref.files.final)).toBeLessThan(1e-5);
    // it learned: the last epoch's training loss below the first's
    expect(log[log.length - 1].train[0]).toBeLessThan(log[0].train[0]);

    gcn.dispose();
    for (const t of graph) t.dispose();
    expect(torch.memory().liveTensors).toBe(before);
    for (const t of Object.values(data)) t.dispose();
    ref.dispose();
  }
}, 300_000);
