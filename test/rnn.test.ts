// nn.RNN, nn.LSTM and nn.GRU against PyTorch's (scripts/reference/rnn_ref.py), float64: the same
// seed gives the same initial weights and names (exactly); outputs, final states and the
// gradients of input, initial states and every weight agree within 1e-10.
import * as torch from '../lib';
import { referenceTensors, pythonJson } from './helpers';

const nn = torch.nn;
type T = torch.Tensor;
const SEED = 8;

type Rec = torch.nn.RNN | torch.nn.LSTM | torch.nn.GRU;
interface Case { make: () => Rec; x: number[]; h0?: number[]; c0?: number[] }
const cases: Record<string, Case> = {
  lstm_bidi: { make: () => new nn.LSTM(5, 4, { numLayers: 2, batchFirst: true, bidirectional: true }), x: [3, 6, 5], h0: [4, 3, 4], c0: [4, 3, 4] },
  lstm_plain: { make: () => new nn.LSTM(3, 6), x: [7, 2, 3] },
  gru: { make: () => new nn.GRU(5, 4, { numLayers: 2, bias: false }), x: [6, 3, 5], h0: [2, 3, 4] },
  rnn_relu_unbatched: { make: () => new nn.RNN(3, 5, { nonlinearity: 'relu' }), x: [8, 3], h0: [1, 5] },
  rnn_tanh_bidi: { make: () => new nn.RNN(4, 3, { numLayers: 3, bidirectional: true, batchFirst: true }), x: [2, 5, 4] },
};

// Packed batches (nn.utils.rnn), as rnn_ref.py's PACKED: padded input, lengths, batchFirst, enforceSorted.
interface PackedCase { make: () => Rec; x: number[]; lengths: number[]; batchFirst: boolean; enforceSorted: boolean; h0?: number[] }
const packedCases: Record<string, PackedCase> = {
  packed_lstm_unsorted: { make: () => new nn.LSTM(3, 4, { numLayers: 2, bidirectional: true }), x: [5, 3, 3], lengths: [3, 5, 2], batchFirst: false, enforceSorted: false },
  packed_gru_batch_first: { make: () => new nn.GRU(3, 5, { batchFirst: true }), x: [3, 4, 3], lengths: [4, 4, 1], batchFirst: true, enforceSorted: true },
  packed_rnn_unsorted_h0: { make: () => new nn.RNN(2, 3, { nonlinearity: 'relu', batchFirst: true }), x: [4, 3, 2], lengths: [1, 3, 2, 3], batchFirst: true, enforceSorted: false, h0: [1, 4, 3] },
};

// Cells stepped over time, as rnn_ref.py's CELLS.
type Cell = torch.nn.LSTMCell | torch.nn.GRUCell | torch.nn.RNNCell;
const cellCases: Record<string, { make: () => Cell; x: number[]; h0?: number[]; c0?: number[] }> = {
  cell_lstm: { make: () => new nn.LSTMCell(3, 4), x: [4, 2, 3], h0: [2, 4], c0: [2, 4] },
  cell_gru_nobias: { make: () => new nn.GRUCell(3, 5, { bias: false }), x: [3, 2, 3] },
  cell_rnn_relu: { make: () => new nn.RNNCell(2, 3, { nonlinearity: 'relu' }), x: [5, 1, 2], h0: [1, 3] },
};

let want: Map<string, T>;
const inputs = new Map<string, T>();
beforeAll(() => {
  torch.manualSeed(1);
  for (const [name, c] of Object.entries(cellCases)) {
    inputs.set(`${name}.x`, torch.keep(torch.randn(c.x, { dtype: 'float64' })));
    if (c.h0) inputs.set(`${name}.h0`, torch.keep(torch.randn(c.h0, { dtype: 'float64' })));
    if (c.c0) inputs.set(`${name}.c0`, torch.keep(torch.randn(c.c0, { dtype: 'float64' })));
  }
  for (const [name, c] of Object.entries(packedCases)) {
    inputs.set(`${name}.x`, torch.keep(torch.randn(c.x, { dtype: 'float64' })));
    inputs.set(`${name}.lengths`, torch.keep(torch.tensor(c.lengths, { dtype: 'int64' })));
    if (c.h0) inputs.set(`${name}.h0`, torch.keep(torch.randn(c.h0, { dtype: 'float64' })));
  }
  for (const [name, c] of Object.entries(cases)) {
    inputs.set(`${name}.x`, torch.keep(torch.randn(c.x, { dtype: 'float64' })));
    if (c.h0) inputs.set(`${name}.h0`, torch.keep(torch.randn(c.h0, { dtype: 'float64' })));
    if (c.c0) inputs.set(`${name}.c0`, torch.keep(torch.randn(c.c0, { dtype: 'float64' })));
  }
  want = referenceTensors('rnn_ref.py', inputs);
}, 60_000);

const err = (a: T, b: T) => torch.tidy(() => (a.sub(b).abs().max().item() as number) / Math.max(b.abs().max().item() as number, 1e-12));
function close(a: T, b: T, what: string): void {
  expect([what, a.shape]).toEqual([what, b.shape]);
  const e = err(a, b);
  if (!(e < 1e-10)) throw new Error(`${what}: off by ${e}`);
}

// The outputs against the reference's, then the weighted loss's gradients (rnn_ref.py's record_grads).
function checkOutputsAndGradients(name: string, outs: T[], m: torch.nn.Module, x: T, h0: T | null, c0: T | null): void {
  let loss = torch.zeros([], { dtype: 'float64' });
  outs.forEach((o, j) => {
    close(o, want.get(`${name}.out${j}`)!, `${name} output ${j}`);
    loss = loss.add(o.mul(want.get(`${name}.w${j}`)!).sum());
  });
  loss.backward();
  close(x.grad!, want.get(`${name}.gx`)!, `${name} input gradient`);
  if (h0) close(h0.grad!, want.get(`${name}.gh0`)!, `${name} h0 gradient`);
  if (c0) close(c0.grad!, want.get(`${name}.gc0`)!, `${name} c0 gradient`);
  for (const [k, p] of m.namedParameters()) close(p.grad!, want.get(`${name}.grad.${k}`)!, `${name} gradient of ${k}`);
}

describe.each(Object.keys(cases))('%s as PyTorch\'s', (name) => {
  test('same seed, same weights; outputs, states and gradients within 1e-10', () => {
    const c = cases[name];
    torch.setDefaultDtype('float64');
    torch.manualSeed(SEED);
    const m = c.make();
    torch.setDefaultDtype('float32');
    const theirs = [...want.keys()].filter((k) => k.startsWith(`${name}.init.`)).map((k) => k.slice(`${name}.init.`.length));
    expect([...m.stateDict().keys()].sort()).toEqual(theirs.sort());
    for (const [k, t] of m.stateDict()) expect([k, t.equal(want.get(`${name}.init.${k}`)!)]).toEqual([k, true]);
    torch.tidy(() => {
      const x = inputs.get(`${name}.x`)!.clone().requiresGrad_();
      const h0 = inputs.get(`${name}.h0`)?.clone().requiresGrad_() ?? null;
      const c0 = inputs.get(`${name}.c0`)?.clone().requiresGrad_() ?? null;
      let outs: T[];
      if (m instanceof nn.LSTM) {
        const [y, [h, cn]] = m.forward(x, h0 && c0 ? [h0, c0] : null);
        outs = [y, h, cn];
      } else {
        const [y, h] = (m as torch.nn.GRU).forward(x, h0);
        outs = [y, h];
      }
      expect(want.has(`${name}.out${outs.length}`)).toBe(false);
      checkOutputsAndGradients(name, outs, m, x, h0, c0);
    });
    m.dispose();
  });
});

describe.each(Object.keys(packedCases))('%s: a PackedSequence through the layer as PyTorch\'s', (name) => {
  test('packing (sorted or not), outputs unpacked in the batch\'s order, states, and gradients within 1e-10', () => {
    const c = packedCases[name];
    const U = nn.utils.rnn;
    torch.setDefaultDtype('float64');
    torch.manualSeed(SEED);
    const m = c.make();
    torch.setDefaultDtype('float32');
    torch.tidy(() => {
      const x = inputs.get(`${name}.x`)!.clone().requiresGrad_();
      const h0 = inputs.get(`${name}.h0`)?.clone().requiresGrad_() ?? null;
      const packed = U.packPaddedSequence(x, inputs.get(`${name}.lengths`)!, { batchFirst: c.batchFirst, enforceSorted: c.enforceSorted });
      expect(packed.batchSizes.equal(want.get(`${name}.batch_sizes`)!)).toBe(true);
      let y: torch.nn.utils.rnn.PackedSequence, states: T[];
      if (m instanceof nn.LSTM) {
        const [o, [h, cn]] = m.forward(packed);
        [y, states] = [o, [h, cn]];
      } else {
        const [o, h] = (m as torch.nn.GRU).forward(packed, h0);
        [y, states] = [o, [h]];
      }
      const [padded, lengths] = U.padPackedSequence(y, { batchFirst: c.batchFirst, paddingValue: -1 });
      expect(lengths.equal(want.get(`${name}.lengths_out`)!)).toBe(true);
      checkOutputsAndGradients(name, [padded, ...states], m, x, h0, null);
    });
    m.dispose();
  });
});

describe.each(Object.keys(cellCases))('%s: a cell stepped over time as PyTorch\'s', (name) => {
  test('same seed, same weights; every step\'s state and the gradients within 1e-10', () => {
    const c = cellCases[name];
    torch.setDefaultDtype('float64');
    torch.manualSeed(SEED);
    const m = c.make();
    torch.setDefaultDtype('float32');
    for (const [k, t] of m.stateDict()) expect([k, t.equal(want.get(`${name}.init.${k}`)!)]).toEqual([k, true]);
    torch.tidy(() => {
      const x = inputs.get(`${name}.x`)!.clone().requiresGrad_();
      const h0 = inputs.get(`${name}.h0`)?.clone().requiresGrad_() ?? null;
      const c0 = inputs.get(`${name}.c0`)?.clone().requiresGrad_() ?? null;
      let h = h0, cs = c0;
      const hs: T[] = [];
      for (let step = 0; step < c.x[0]; step++) {
        if (m instanceof nn.LSTMCell) [h, cs] = m.forward(x.select(0, step), h && cs ? [h, cs] : null);
        else h = (m as torch.nn.GRUCell).forward(x.select(0, step), h);
        hs.push(h!);
      }
      const outs = [torch.stack(hs), ...(cs ? [cs] : [])];
      checkOutputsAndGradients(name, outs, m, x, h0, c0);
    });
    expect(() => torch.tidy(() => m.forward(torch.randn([2, 7], { dtype: 'float64' })))).toThrow(/input's last dim is 7/);
    m.dispose();
  });
});

test('packSequence, padSequence and totalLength; bad lengths are libtorch\'s clear errors', () => {
  const U = nn.utils.rnn;
  torch.tidy(() => {
    const seqs = [torch.ones([2, 3]), torch.ones([4, 3]).mul(2), torch.ones([1, 3]).mul(3)];
    const packed = U.packSequence(seqs, { enforceSorted: false });
    expect(packed.batchSizes.tolist()).toEqual([3, 2, 1, 1]);
    const [padded, lengths] = U.padPackedSequence(packed, { batchFirst: true, totalLength: 6 });
    expect(padded.shape).toEqual([3, 6, 3]);
    expect(lengths.tolist()).toEqual([2, 4, 1]);
    expect(padded.select(2, 0).tolist()).toEqual([[1, 1, 0, 0, 0, 0], [2, 2, 2, 2, 0, 0], [3, 0, 0, 0, 0, 0]]);
    expect(() => U.padPackedSequence(packed, { totalLength: 2 })).toThrow(/expected totalLength to be at least the length of the longest sequence \(4\)/);
    expect(() => U.packPaddedSequence(torch.ones([3, 2, 1]), [2, 3])).toThrow(/sorted in decreasing order|enforce_sorted/);
    expect(() => U.packPaddedSequence(torch.ones([3, 2, 1]), [4, 3])).toThrow('packPaddedSequence: a length of 4 for an input of 3 steps; lengths count valid steps, at most the input\'s first dim');
    expect(() => U.packPaddedSequence(torch.ones([3, 2, 1]), [3])).toThrow(/Expected `len\(lengths\)` to be equal to batch_size, but got 1 \(batch_size=2\)/);
  });
});

describe('recurrent layers: errors and memory', () => {
  test('bad shapes and settings', () => {
    expect(() => new nn.RNN(3, 4, { nonlinearity: 'sigmoid' as never })).toThrow(/nonlinearity must be 'tanh' or 'relu'/);
    expect(() => new nn.LSTM(3, 4, { numLayers: 0 })).toThrow(/numLayers must be a positive integer/);
    const lstm = new nn.LSTM(3, 4, { numLayers: 2 });
    torch.tidy(() => {
      expect(() => lstm.forward(torch.randn([5, 2, 6]))).toThrow(/input's last dim is 6, inputSize is 3/);
      expect(() => lstm.forward(torch.randn([5, 2, 3]), [torch.zeros([1, 2, 4]), torch.zeros([2, 2, 4])])).toThrow(/hidden state must be \[2,2,4\], got \[1,2,4\]/);
      expect(() => lstm.forward(torch.randn([3]))).toThrow(/input must be \(L, N, 3\)/);
    });
    const input = torch.randn([5, 2, 3]);
    const live = torch.memory().liveTensors;
    const [y, [h, c]] = lstm.forward(input);
    expect(torch.memory().liveTensors).toBe(live + 3); // the three results, nothing else
    for (const t of [y, h, c, input]) t.dispose();
    expect(String(lstm)).toBe('LSTM(3, 4, numLayers=2)');
    lstm.dispose();
  });
});

test('unpadSequence and unpackSequence undo padSequence and packSequence, as PyTorch\'s', () => {
  const want = pythonJson(`
import json, torch
from torch.nn.utils.rnn import pad_sequence, pack_sequence, unpad_sequence, unpack_sequence
seqs = [torch.arange(3.), torch.arange(5.) + 10, torch.arange(2.) + 20]
padded = pad_sequence(seqs)
print(json.dumps({"unpad": [t.tolist() for t in unpad_sequence(padded, torch.tensor([3, 5, 2]))],
  "unpack": [t.tolist() for t in unpack_sequence(pack_sequence(seqs, enforce_sorted=False))],
  "bf": [t.tolist() for t in unpad_sequence(pad_sequence(seqs, batch_first=True), torch.tensor([3, 5, 2]), batch_first=True)]}))`);
  torch.tidy(() => {
    const R = torch.nn.utils.rnn;
    const seqs = [torch.arange(3).float(), torch.arange(5).float().add(10), torch.arange(2).float().add(20)];
    expect(R.unpadSequence(R.padSequence(seqs), torch.tensor([3, 5, 2])).map((t) => t.tolist())).toEqual(want.unpad);
    expect(R.unpackSequence(R.packSequence(seqs, { enforceSorted: false })).map((t) => t.tolist())).toEqual(want.unpack);
    expect(R.unpadSequence(R.padSequence(seqs, { batchFirst: true }), [3, 5, 2], { batchFirst: true }).map((t) => t.tolist())).toEqual(want.bf);
  });
});
