// TensorDataset / DataLoader: every example once per epoch, rows kept together, seeded shuffles.
import * as torch from '../lib';

const { TensorDataset, DataLoader } = torch.data;

describe('DataLoader over a TensorDataset', () => {
  const x = torch.keep(torch.arange(0, 10, 1, { dtype: 'float32' }).view([10, 1]).mul(10));
  const y = torch.keep(torch.arange(0, 10));
  const ds = new TensorDataset(x, y);

  const epoch = (dl: InstanceType<typeof DataLoader>) => {
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
