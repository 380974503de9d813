// TensorDataset / DataLoader: every example once per epoch, rows kept together, seeded shuffles.
import { spawnSync } from 'child_process';
import * as torch from '../lib';
import { pythonJson } from './helpers';

const { TensorDataset, DataLoader } = torch.data;

describe('DataLoader over a TensorDataset', () => {
  const x = torch.keep(torch.arange(0, 10, 1, { dtype: 'float32' }).view([10, 1]).mul(10));
  const y = torch.keep(torch.arange(0, 10));
  const ds = new TensorDataset(x, y);

  const epoch = (dl: torch.data.DataLoader) => {
    const seen: number[][] = [];
    for (const [bx, by] of dl) {
      const ids = by.tolist() as number[];
      // Rows of the two tensors stay together: x = 10 * y.
      expect(torch.tidy(() => bx.view([-1]).tolist() as number[])).toEqual(ids.map((i) => 10 * i));
      seen.push(ids);
      bx.dispose();
      by.dispose();
    }
    return seen;
  };

  test('in order, the last partial batch kept or dropped', () => {
    expect(epoch(new DataLoader(ds, { batchSize: 4 }))).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
    const dropping = new DataLoader(ds, { batchSize: 4, dropLast: true });
    expect(dropping.length).toBe(2);
    expect(epoch(dropping)).toEqual([[0, 1, 2, 3], [4, 5, 6, 7]]);
  });

  test('shuffled: a permutation per epoch, new each epoch, the same for the same seed; no tensor left behind', () => {
    const live = torch.memory().liveTensors;
    const a = new DataLoader(ds, { batchSize: 3, shuffle: true, seed: 1 });
    const b = new DataLoader(ds, { batchSize: 3, shuffle: true, seed: 1 });
    const a1 = epoch(a), a2 = epoch(a), b1 = epoch(b);
    for (const e of [a1, a2]) expect(e.flat().sort((p, q) => p - q)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(a1).toEqual(b1);
    expect(a2).not.toEqual(a1);
    expect(a1.flat()).not.toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(a1.map((r) => r.length)).toEqual([3, 3, 3, 1]);
    expect(torch.memory().liveTensors).toBe(live);
  });

  test('bad input', () => {
    expect(() => new TensorDataset()).toThrow(/at least one tensor/);
    expect(() => new TensorDataset(x, torch.zeros([9]))).toThrow(/tensor 1 has 9 rows, tensor 0 has 10/);
    expect(() => new DataLoader(ds, { batchSize: 0 })).toThrow(/batchSize must be a positive integer/);
  });
});

describe('map-style datasets of your own, default collation, Subset, ConcatDataset, randomSplit', () => {
  // A dataset as a PyTorch user writes one: length and get(i), examples as plain objects.
  class Squares implements torch.data.Dataset<{ x: torch.Tensor; y: number; tag: string; ok: boolean }> {
    constructor(readonly length: number) {}
    get(i: number) {
      return { x: torch.full([2], i), y: i * i, tag: `n${i}`, ok: i % 2 === 0 };
    }
  }

  test('batches collated as default_collate: tensors stacked, ints to int64, floats to float64, strings kept; nothing left behind', () => {
    const dl = new torch.data.DataLoader<{ x: torch.Tensor; y: torch.Tensor; tag: string[]; ok: torch.Tensor }>(new Squares(5), { batchSize: 2 });
    const live = torch.memory().liveTensors;
    const batches = [...dl];
    expect(batches.length).toBe(3);
    const [b0] = batches;
    expect(b0.x.tolist()).toEqual([[0, 0], [1, 1]]);
    expect([b0.y.dtype, b0.y.tolist()]).toEqual(['int64', [0, 1]]);
    expect(b0.tag).toEqual(['n0', 'n1']);
    expect([b0.ok.dtype, b0.ok.tolist()]).toEqual(['bool', [true, false]]);
    expect(batches[2].x.shape).toEqual([1, 2]);
    expect(torch.memory().liveTensors).toBe(live + 3 * 3); // the batches' tensors only
    for (const b of batches) for (const t of [b.x, b.y, b.ok]) t.dispose();
    expect(torch.data.defaultCollate([0.5, 1]) as torch.Tensor).toBeInstanceOf(torch.Tensor);
    expect((torch.data.defaultCollate([0.5, 1]) as torch.Tensor).dtype).toBe('float64');
    expect(() => torch.data.defaultCollate([null])).toThrow(/found null/);
    // A collateFn of one's own, e.g. padding to the longest.
    const padded = new torch.data.DataLoader<number[]>(new Squares(3), { batchSize: 3, collateFn: (items: { y: number }[]) => items.map((it) => it.y + 1) });
    expect([...padded]).toEqual([[1, 2, 5]]);
  });

  test('Subset, ConcatDataset, and randomSplit giving PyTorch\'s random_split after the same seed', () => {
    const sq = new Squares(10);
    const sub = new torch.data.Subset(sq, [3, 1]);
    expect([sub.length, sub.get(1).y]).toEqual([2, 1]);
    const cat = new torch.data.ConcatDataset([sq, new Squares(3)]);
    expect([cat.length, cat.get(10).y, cat.get(9).y]).toEqual([13, 0, 81]);
    expect(() => cat.get(13)).toThrow('index 13 is out of range for a dataset of 13 examples');
    const r = spawnSync('/usr/bin/python3', ['-c', `
import json, torch
from torch.utils.data import random_split
torch.manual_seed(0)
a = [list(s.indices) for s in random_split(range(10), [7, 3])]
b = [list(s.indices) for s in random_split(range(10), [0.5, 0.3, 0.2])]
print(json.dumps([a, b]))`], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const [wantA, wantB] = JSON.parse(r.stdout);
    torch.manualSeed(0);
    const a = torch.data.randomSplit(sq, [7, 3]).map((s) => s.indices);
    const b = torch.data.randomSplit(sq, [0.5, 0.3, 0.2]).map((s) => s.indices);
    expect([a, b]).toEqual([wantA, wantB]);
    expect(() => torch.data.randomSplit(sq, [5, 4])).toThrow('Sum of input lengths does not equal the length of the input dataset!');
    // A TensorDataset's examples are its rows; a loader over a Subset of it stacks them.
    const td = new TensorDataset(torch.arange(6).reshape([3, 2]), torch.tensor([7, 8, 9]));
    expect(td.get(1).map((t) => t.tolist())).toEqual([[2, 3], 8]);
    const [[rows, labels]] = [...new torch.data.DataLoader<torch.Tensor[]>(new torch.data.Subset(td, [2, 0]), { batchSize: 2 })];
    expect([rows.tolist(), labels.tolist()]).toEqual([[[4, 5], [0, 1]], [9, 7]]);
  });
});

test('DistributedSampler as PyTorch\'s: each rank\'s share, padding or dropping the tail, the shared shuffle of each epoch', () => {
  const want = pythonJson(`
import json, torch
from torch.utils.data import DistributedSampler
out = []
for n, reps, shuffle, drop, seed, epoch in ((10, 3, False, False, 0, 0), (10, 3, True, False, 5, 0), (10, 3, True, False, 5, 2), (10, 4, True, True, 1, 1), (2, 5, False, False, 0, 0)):
    per = []
    for rank in range(reps):
        s = DistributedSampler(range(n), num_replicas=reps, rank=rank, shuffle=shuffle, seed=seed, drop_last=drop)
        s.set_epoch(epoch)
        per.append([len(s), list(s)])
    out.append(per)
print(json.dumps(out))`);
  const configs: [number, number, boolean, boolean, number, number][] = [[10, 3, false, false, 0, 0], [10, 3, true, false, 5, 0], [10, 3, true, false, 5, 2], [10, 4, true, true, 1, 1], [2, 5, false, false, 0, 0]];
  const got = configs.map(([n, reps, shuffle, dropLast, seed, epoch]) =>
    Array.from({ length: reps }, (_, rank) => {
      const s = new torch.data.DistributedSampler({ length: n }, { numReplicas: reps, rank, shuffle, seed, dropLast });
      s.setEpoch(epoch);
      return [s.length, [...s]];
    }),
  );
  expect(got).toEqual(want);
  // without a process group: one replica, this rank 0, every index
  expect([...new torch.data.DistributedSampler({ length: 4 }, { shuffle: false })]).toEqual([0, 1, 2, 3]);
  expect(() => new torch.data.DistributedSampler({ length: 4 }, { numReplicas: 2, rank: 2 })).toThrow('Invalid rank 2, rank should be in the interval [0, 1]');
  // a DataLoader takes it as its sampler
  const ds = new torch.data.TensorDataset(torch.arange(10));
  const loader = new torch.data.DataLoader(ds, { batchSize: 2, sampler: new torch.data.DistributedSampler(ds, { numReplicas: 2, rank: 1, shuffle: false }) });
  const seen: number[] = [];
  for (const [x] of loader) seen.push(...(x.tolist() as number[]));
  expect(seen).toEqual([1, 3, 5, 7, 9]);
});

test('ChainDataset chains iterable datasets', () => {
  const a = [1, 2], b = new Set([3, 4, 5]);
  const chain = new torch.data.ChainDataset<number>([a, b]);
  expect([...chain]).toEqual([1, 2, 3, 4, 5]);
  expect(new torch.data.ChainDataset<number>([a, [7]]).length).toBe(3);
  expect(() => new torch.data.ChainDataset([42 as never])).toThrow('ChainDataset only supports IterableDataset');
  expect(torch.data.getWorkerInfo()).toBeNull();
});

test('a Dataset subclass as PyTorch writes one (length and get, or __len__ and __getitem__) loads shuffled batches as PyTorch\'s DataLoader does from the same seed', () => {
  const want = pythonJson<number[][]>(`import json, torch
from torch.utils.data import Dataset, DataLoader
class Squares(Dataset):
    def __len__(self): return 7
    def __getitem__(self, i): return i * i
g = torch.Generator(); g.manual_seed(5)
print(json.dumps([b.tolist() for b in DataLoader(Squares(), batch_size=3, shuffle=True, generator=g)]))`);
  class Squares extends torch.data.Dataset<number> {
    get length() { return 7; }
    get(i: number) { return i * i; }
  }
  // the names ported from Python, and a length set in the constructor
  class PySquares extends torch.data.Dataset<number> {
    __len__() { return 7; }
    __getitem__(i: number) { return i * i; }
  }
  class FieldSquares extends torch.data.Dataset<number> {
    constructor() { super(); this.length = 7; }
    get(i: number) { return i * i; }
  }
  for (const ds of [new Squares(), new PySquares(), new FieldSquares()]) {
    const loader = new torch.data.DataLoader<torch.Tensor>(ds, { batchSize: 3, shuffle: true, generator: new torch.Generator().manualSeed(5) });
    expect([ds.constructor.name, [...loader].map((b) => b.tolist())]).toEqual([ds.constructor.name, want]);
  }
  class Empty extends torch.data.Dataset {}
  expect(() => new Empty().length).toThrow('Empty: a Dataset defines length (or __len__()): how many examples it has');
  expect(() => new Empty().get(0)).toThrow('Empty: a Dataset defines get(index) (or __getitem__(index)): example index');
});

test('a plain array is a map-style dataset, as a Python list is: DataLoader(pairs, shuffle=True, collate_fn), len, Subset and random_split give PyTorch\'s examples', () => {
  const pairs: [string, string][] = Array.from({ length: 11 }, (_, i) => [`ein satz ${i}`, `a sentence ${i}`]);
  const want = pythonJson<{ epochs: string[][][][]; split: string[][][]; len: number; plain: number[][][] }>(`
import json, torch
from torch.utils.data import DataLoader, random_split
pairs = [[f"ein satz {i}", f"a sentence {i}"] for i in range(11)]
torch.manual_seed(3)
loader = DataLoader(pairs, batch_size=4, shuffle=True, collate_fn=lambda b: b)
epochs = [[list(map(list, b)) for b in loader] for _ in range(2)]
split = [[pairs[i] for i in s.indices] for s in random_split(pairs, [7, 4], generator=torch.Generator().manual_seed(5))]
plain = [[t.tolist() for t in b] for b in DataLoader([[i, i * i] for i in range(5)], batch_size=2)]
print(json.dumps({"epochs": epochs, "split": split, "len": len(loader), "plain": plain}))`);
  torch.manualSeed(3);
  const loader = new torch.data.DataLoader(pairs, { batchSize: 4, shuffle: true, collateFn: (b: [string, string][]) => b });
  const epochs = [0, 1].map(() => [...loader]);
  const split = torch.data.randomSplit(pairs, [7, 4], new torch.Generator().manualSeed(5)).map((s) => s.indices.map((i) => pairs[i]));
  // (default collation of an array of [i, i*i]: [tensor of firsts, tensor of seconds], as PyTorch's)
  const plain = [...new torch.data.DataLoader(Array.from({ length: 5 }, (_, i) => [i, i * i]), { batchSize: 2 })] as unknown as torch.Tensor[][];
  expect({ epochs, split, len: loader.length, plain: plain.map((b) => b.map((t) => t.tolist())) }).toEqual(want);
  for (const b of plain) for (const t of b) t.dispose();
});
