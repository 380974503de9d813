// torch.Generator against PyTorch: the same seeded generator gives the same draws in every
// random op (one generator, drawn in sequence, so its state is followed too), leaves the global
// generator alone, restores by state, and shuffles a DataLoader / randomSplit exactly as
// PyTorch's DataLoader(..., generator=g) and random_split(..., generator=g) do.
import * as torch from '../lib';
import { pythonJson } from './helpers';


test('every random op draws what PyTorch draws from the same seeded generator', () => {
  const want = pythonJson(`
import json, torch
g = torch.Generator().manual_seed(42)
f = lambda t: t.tolist()
out = [f(torch.randn(3, 4, generator=g)), f(torch.rand(5, generator=g)), f(torch.randint(0, 10, (6,), generator=g)),
       f(torch.randperm(8, generator=g)), f(torch.normal(2.0, 3.0, (4,), generator=g)),
       f(torch.bernoulli(torch.linspace(0, 1, 7), generator=g)), f(torch.multinomial(torch.tensor([0.1, 0.2, 0.7]), 5, True, generator=g)),
       f(torch.empty(4, dtype=torch.float64).normal_(1, 2, generator=g)), f(torch.empty(4).uniform_(-1, 1, generator=g)),
       f(torch.empty(3).exponential_(2, generator=g)), f(torch.empty(5, dtype=torch.int64).random_(0, 100, generator=g)),
       f(torch.empty(6).bernoulli_(0.3, generator=g)), f(torch.poisson(torch.tensor([1.0, 5.0, 20.0]), generator=g)),
       f(torch.randn(2, generator=g, dtype=torch.float64))]
print(json.dumps({"draws": out, "seed": str(g.initial_seed())}))
`);
  torch.tidy(() => {
    const g = new torch.Generator().manualSeed(42);
    const draws = [torch.randn([3, 4], { generator: g }), torch.rand([5], { generator: g }), torch.randint(0, 10, [6], { generator: g }),
      torch.randperm(8, { generator: g }), torch.normal(2, 3, [4], { generator: g }),
      torch.bernoulli(torch.linspace(0, 1, 7), { generator: g }), torch.multinomial(torch.tensor([0.1, 0.2, 0.7]), 5, true, { generator: g }),
      torch.empty([4], { dtype: 'float64' }).normal_(1, 2, { generator: g }), torch.empty([4]).uniform_(-1, 1, { generator: g }),
      torch.empty([3]).exponential_(2, { generator: g }), torch.empty([5], { dtype: 'int64' }).random_(0, 100, { generator: g }),
      torch.empty([6]).bernoulli_(0.3, { generator: g }), torch.poisson(torch.tensor([1, 5, 20], { dtype: 'float32' }), { generator: g }),
      torch.randn([2], { generator: g, dtype: 'float64' })].map((t) => t.tolist());
    expect(draws).toEqual(want.draws);
    expect(g.initialSeed()).toBe(BigInt(want.seed as string));
    expect(g.device).toBe('cpu');
  });
});

test('in-place draws by name (normal_(generator=g), random_(to=9), ...) draw what PyTorch draws; a misspelt option is an error', () => {
  const want = pythonJson(`
import json, torch
g = torch.Generator().manual_seed(7)
f = lambda t: t.tolist()
out = [f(torch.empty(3, dtype=torch.float64).normal_(generator=g)), f(torch.empty(3, dtype=torch.float64).normal_(std=3, generator=g)),
       f(torch.empty(3, dtype=torch.float64).uniform_(to=5, generator=g)), f(torch.empty(4, dtype=torch.int64).random_(to=9, generator=g)),
       f(torch.empty(4, dtype=torch.int64).random_(generator=g)), f(torch.empty(3, dtype=torch.float64).cauchy_(sigma=2, generator=g)),
       f(torch.empty(3, dtype=torch.float64).log_normal_(std=0.5, generator=g)), f(torch.empty(3, dtype=torch.float64).geometric_(p=0.3, generator=g)),
       f(torch.empty(5).bernoulli_(p=0.7, generator=g)), f(torch.empty(3, dtype=torch.float64).exponential_(lambd=4, generator=g)),
       f(torch.tensor([0.2, 0.3, 0.5]).multinomial(6, replacement=True, generator=g))]
print(json.dumps(out))
`) as unknown[];
  torch.tidy(() => {
    const g = new torch.Generator().manualSeed(7);
    const f64 = { dtype: 'float64' as const };
    const got = [torch.empty([3], f64).normal_({ generator: g }), torch.empty([3], f64).normal_({ std: 3, generator: g }),
      torch.empty([3], f64).uniform_({ to: 5, generator: g }), torch.empty([4], { dtype: 'int64' }).random_({ to: 9, generator: g }),
      torch.empty([4], { dtype: 'int64' }).random_({ generator: g }), torch.empty([3], f64).cauchy_({ sigma: 2, generator: g }),
      torch.empty([3], f64).logNormal_({ std: 0.5, generator: g }), torch.empty([3], f64).geometric_({ p: 0.3, generator: g }),
      torch.empty([5]).bernoulli_({ p: 0.7, generator: g }), torch.empty([3], f64).exponential_({ lambd: 4, generator: g }),
      torch.tensor([0.2, 0.3, 0.5]).multinomial(6, { replacement: true, generator: g })].map((t) => t.tolist());
    expect(got).toEqual(want);
    // (each of these drew from the default generator, unseen, or took the object as a number)
    const x = torch.empty([3]);
    const loose = x as unknown as Record<string, (...a: unknown[]) => unknown>;
    expect(() => x.normal_(0, 1, { generater: g } as object)).toThrow("Tensor.normal_: unknown option 'generater' (did you mean generator?)");
    expect(() => loose.uniform_.call(x, 0, 1, g)).toThrow(/Tensor.uniform_: 3 arguments after its required ones, but it takes at most 2 \(from, to\)/);
    expect(() => x.bernoulli_(0.5, { generator: 3 } as object)).toThrow('Tensor.bernoulli_: generator must be a torch.Generator, got number');
    expect(() => loose.geometric_.call(x)).toThrow('Tensor.geometric_: give p, the success probability (geometric_(p) or { p })');
    expect(() => x.bernoulli({ gen: g } as object)).toThrow("Tensor.bernoulli: unknown option 'gen' (it takes generator)");
    expect(() => loose.bernoulli.call(x, g)).toThrow('Tensor.bernoulli: give the generator by name, { generator }');
    expect(() => torch.poisson(x.abs(), { seed: 1 } as object)).toThrow("poisson: unknown option 'seed' (it takes generator)");
  });
});

test('a generator leaves the global one alone; state, seeds and errors', () => {
  const want = pythonJson(`
import json, torch
print(json.dumps({"neg": str(torch.Generator().manual_seed(-1).initial_seed()), "big": str(torch.Generator().manual_seed(2**63 + 5).initial_seed()),
                  "fresh": torch.rand(3, generator=torch.Generator()).tolist()}))
`);
  torch.tidy(() => {
    torch.manualSeed(1);
    const a = torch.randn([4]).tolist();
    const b = torch.randn([4]).tolist();
    torch.manualSeed(1);
    const g = new torch.Generator().manualSeed(5);
    const a2 = torch.randn([4]).tolist();
    torch.randn([100], { generator: g });
    expect([a2, torch.randn([4]).tolist()]).toEqual([a, b]);
    // state round trip: the same draws follow
    const state = g.getState();
    const x = torch.rand([6], { generator: g }).tolist();
    torch.rand([3], { generator: g });
    expect(torch.rand([6], { generator: g.setState(state) }).tolist()).toEqual(x);
    // seeds: 64-bit, negative ones wrap as Python's; a fresh generator has PyTorch's default seed
    expect(new torch.Generator().manualSeed(-1).initialSeed().toString()).toBe(want.neg);
    expect(new torch.Generator().manualSeed(2n ** 63n + 5n).initialSeed().toString()).toBe(want.big);
    expect(torch.rand([3], { generator: new torch.Generator() }).tolist()).toEqual(want.fresh);
    const s = g.seed();
    expect(g.initialSeed()).toBe(s);
    expect(() => g.manualSeed(1.5)).toThrow('Generator.manualSeed: the seed must be an integer, got 1.5');
    g.dispose();
    expect(() => torch.rand([2], { generator: g })).toThrow('tstorch: this Generator was disposed');
    expect(() => new torch.Generator('gpu' as never)).toThrow(/unknown device 'gpu'/);
  });
});

test("DataLoader and randomSplit with a generator: PyTorch's very orders", () => {
  const want = pythonJson(`
import json, torch
from torch.utils.data import DataLoader, TensorDataset, random_split
ds = TensorDataset(torch.arange(10))
g = torch.Generator().manual_seed(7)
dl = DataLoader(ds, batch_size=4, shuffle=True, generator=g)
epochs = [[b[0].tolist() for b in dl] for _ in range(3)]
gd = torch.Generator().manual_seed(11)
dropped = [[b[0].tolist() for b in DataLoader(ds, batch_size=3, shuffle=True, drop_last=True, generator=gd)] for _ in range(3)]
g2 = torch.Generator().manual_seed(7)
plain = [[b[0].tolist() for b in DataLoader(ds, batch_size=3, generator=g2)] for _ in range(2)]
after = torch.rand(2, generator=g2).tolist()
split = [s.indices for s in random_split(range(10), [6, 4], generator=torch.Generator().manual_seed(3))]
print(json.dumps({"epochs": epochs, "dropped": dropped, "plain": plain, "after": after, "split": split}))
`);
  torch.tidy(() => {
    const ds = new torch.data.TensorDataset(torch.arange(10));
    const dl = new torch.data.DataLoader(ds, { batchSize: 4, shuffle: true, generator: new torch.Generator().manualSeed(7) });
    const epochs = [0, 1, 2].map(() => [...dl].map((b) => b[0].tolist()));
    expect(epochs).toEqual(want.epochs);
    const gd = new torch.Generator().manualSeed(11);
    const dropped = [0, 1, 2].map(() => [...new torch.data.DataLoader(ds, { batchSize: 3, shuffle: true, dropLast: true, generator: gd })].map((b) => b[0].tolist()));
    expect(dropped).toEqual(want.dropped);
    // without shuffling the order is plain, but the generator is drawn from as PyTorch's is
    const g2 = new torch.Generator().manualSeed(7);
    const plain = [0, 1].map(() => [...new torch.data.DataLoader(ds, { batchSize: 3, generator: g2 })].map((b) => b[0].tolist()));
    expect(plain).toEqual(want.plain);
    expect(torch.rand([2], { generator: g2 }).tolist()).toEqual(want.after);
    const items = { length: 10, get: (i: number) => i };
    const split = torch.data.randomSplit(items, [6, 4], new torch.Generator().manualSeed(3)).map((s) => s.indices);
    expect(split).toEqual(want.split);
    expect(torch.data.randomSplit(items, [6, 4], { generator: new torch.Generator().manualSeed(3) }).map((s) => s.indices)).toEqual(want.split);
    expect(() => new torch.data.DataLoader(ds, { seed: 1, generator: new torch.Generator() })).toThrow('DataLoader: seed is for its own shuffle; give seed, or generator / sampler / batchSampler, not both');
  });
});

test("samplers draw PyTorch's very indices, and a DataLoader with a sampler draws PyTorch's global numbers too", () => {
  const want = pythonJson(`
import json, torch
from torch.utils.data import DataLoader, TensorDataset, RandomSampler, SubsetRandomSampler, WeightedRandomSampler, BatchSampler, SequentialSampler
G = lambda s: torch.Generator().manual_seed(s)
torch.manual_seed(5)
out = {}
rs = RandomSampler(range(10))
out["random"] = [list(rs), list(rs)]
out["random_repl"] = list(RandomSampler(range(7), replacement=True, num_samples=40, generator=G(1)))
out["random_num"] = list(RandomSampler(range(5), num_samples=13, generator=G(2)))
out["subset"] = list(SubsetRandomSampler([3, 8, 1, 9, 4], generator=G(3)))
w = [0.1, 0.9, 0.4, 0.0, 2.0]
out["weighted"] = list(WeightedRandomSampler(w, 12, generator=G(4)))
out["weighted_norepl"] = list(WeightedRandomSampler(w, 4, replacement=False))
out["batch"] = [list(BatchSampler(SequentialSampler(range(7)), 3, False)), list(BatchSampler(SequentialSampler(range(7)), 3, True))]
ds = TensorDataset(torch.arange(10))
torch.manual_seed(3)
dl = DataLoader(ds, batch_size=4, sampler=WeightedRandomSampler(w * 2, 9))
out["loader_sampler"] = [[b[0].tolist() for b in dl] for _ in range(2)]
out["after"] = torch.rand(2).tolist()
dl = DataLoader(ds, batch_sampler=BatchSampler(RandomSampler(ds, generator=G(9)), 3, True))
out["loader_batch_sampler"] = [b[0].tolist() for b in dl]
out["lens"] = [len(dl), len(DataLoader(ds, batch_size=4, sampler=RandomSampler(ds, num_samples=13)))]
print(json.dumps(out))
`);
  torch.tidy(() => {
    const D = torch.data;
    const G = (s: number) => new torch.Generator().manualSeed(s);
    const range = (n: number) => ({ length: n });
    torch.manualSeed(5);
    const rs = new D.RandomSampler(range(10));
    const w = [0.1, 0.9, 0.4, 0.0, 2.0];
    const got: Record<string, unknown> = {
      random: [[...rs], [...rs]],
      random_repl: [...new D.RandomSampler(range(7), { replacement: true, numSamples: 40, generator: G(1) })],
      random_num: [...new D.RandomSampler(range(5), { numSamples: 13, generator: G(2) })],
      subset: [...new D.SubsetRandomSampler([3, 8, 1, 9, 4], { generator: G(3) })],
      weighted: [...new D.WeightedRandomSampler(w, 12, { generator: G(4) })],
      weighted_norepl: [...new D.WeightedRandomSampler(w, 4, { replacement: false })],
      batch: [[...new D.BatchSampler(new D.SequentialSampler(range(7)), 3, false)], [...new D.BatchSampler(new D.SequentialSampler(range(7)), 3, true)]],
    };
    const ds = new D.TensorDataset(torch.arange(10));
    torch.manualSeed(3);
    const dl = new D.DataLoader(ds, { batchSize: 4, sampler: new D.WeightedRandomSampler([...w, ...w], 9) });
    got.loader_sampler = [0, 1].map(() => [...dl].map((b) => b[0].tolist()));
    got.after = torch.rand([2]).tolist();
    const dl2 = new D.DataLoader(ds, { batchSampler: new D.BatchSampler(new D.RandomSampler(ds, { generator: G(9) }), 3, true) });
    got.loader_batch_sampler = [...dl2].map((b) => b[0].tolist());
    got.lens = [dl2.length, new D.DataLoader(ds, { batchSize: 4, sampler: new D.RandomSampler(ds, { numSamples: 13 }) }).length];
    expect(got).toEqual(want);
    expect(() => new D.DataLoader(ds, { sampler: rs, shuffle: true })).toThrow('DataLoader: sampler option is mutually exclusive with shuffle');
    expect(() => new D.DataLoader(ds, { batchSampler: [[0, 1]], batchSize: 2 })).toThrow('DataLoader: batchSampler option is mutually exclusive with batchSize, shuffle, sampler, and dropLast');
    expect(() => new D.WeightedRandomSampler([[1, 2]] as never, 3)).toThrow('WeightedRandomSampler: weights should be a 1d sequence but given weights have shape [1,2]');
    expect(() => new D.RandomSampler(ds, { numSamples: 0 })).toThrow('RandomSampler: numSamples should be a positive integer value, but got numSamples=0');
  });
});

test('iterable datasets (sync and async streams): batches in stream order, collated, dropLast; PyTorch\'s draws and refusals', async () => {
  const want = pythonJson(`
import json, torch
from torch.utils.data import DataLoader, IterableDataset
class Stream(IterableDataset):
    def __iter__(self):
        for i in range(7):
            yield {"x": torch.full((2,), float(i)), "y": i}
torch.manual_seed(4)
dl = DataLoader(Stream(), batch_size=3)
batches = [[b["x"].tolist(), b["y"].tolist()] for b in dl]
dropped = [[b["x"].tolist(), b["y"].tolist()] for b in DataLoader(Stream(), batch_size=3, drop_last=True)]
print(json.dumps({"batches": batches, "dropped": dropped, "after": torch.rand(2).tolist()}))
`);
  function* stream() {
    for (let i = 0; i < 7; i++) yield { x: torch.full([2], i), y: i };
  }
  async function* slowStream() {
    for (let i = 0; i < 7; i++) {
      await new Promise((r) => setImmediate(r));
      yield { x: torch.full([2], i), y: i };
    }
  }
  const D = torch.data;
  const rows = (b: { x: torch.Tensor; y: torch.Tensor }) => [b.x.tolist(), b.y.tolist()];
  torch.manualSeed(4);
  const batches = torch.tidy(() => [...new D.DataLoader<{ x: torch.Tensor; y: torch.Tensor }>({ [Symbol.iterator]: stream }, { batchSize: 3 })].map(rows));
  const dropped = torch.tidy(() => [...new D.DataLoader<{ x: torch.Tensor; y: torch.Tensor }>({ [Symbol.iterator]: stream }, { batchSize: 3, dropLast: true })].map(rows));
  expect({ batches, dropped, after: torch.rand([2]).tolist() }).toEqual(want);
  // an async stream: for await
  const asyncBatches: unknown[] = [];
  for await (const b of new D.DataLoader<{ x: torch.Tensor; y: torch.Tensor }>({ [Symbol.asyncIterator]: slowStream }, { batchSize: 3 })) asyncBatches.push(rows(b));
  expect(asyncBatches).toEqual(want.batches);
  expect(() => [...new D.DataLoader({ [Symbol.asyncIterator]: slowStream }, { batchSize: 3 })]).toThrow('DataLoader: this dataset is async: iterate with for await (const batch of loader)');
  expect(() => new D.DataLoader({ [Symbol.iterator]: stream }, { shuffle: true })).toThrow('DataLoader with IterableDataset: expected unspecified shuffle option, but got shuffle=true');
  expect(() => new D.DataLoader({ [Symbol.iterator]: stream }).length).toThrow('DataLoader: this iterable dataset has no length');
  expect(() => new D.DataLoader(42 as never)).toThrow(/the dataset must be map-style \(length and get\(i\)\) or iterable/);
  class Counted extends D.IterableDataset<number> {
    readonly length = 5;
    *[Symbol.iterator]() { for (let i = 0; i < 5; i++) yield i; }
  }
  const counted = new D.DataLoader<torch.Tensor>(new Counted(), { batchSize: 2 });
  expect(counted.length).toBe(3);
  expect(torch.tidy(() => [...counted].map((b) => b.tolist()))).toEqual([[0, 1], [2, 3], [4]]);
});

test('torch.defaultGenerator, seed(), initialSeed(), manualSeed(bigint), Tensor.bernoulli: as PyTorch\'s', () => {
  const want = pythonJson(`
import json, torch
torch.manual_seed(2**63 + 11)
init = str(torch.initial_seed())
a = torch.rand(3).tolist()
torch.manual_seed(123)
state_draw = torch.default_generator.get_state()
g = torch.Generator().manual_seed(9)
p = torch.tensor([0.0, 0.25, 0.5, 0.75, 1.0])
print(json.dumps({"init": init, "a": a, "dflt": str(torch.default_generator.initial_seed()),
  "bern": p.bernoulli(generator=g).tolist(), "bernP": torch.zeros(2, 5, dtype=torch.float64).bernoulli(0.3, generator=g).tolist(),
  "bernGlobal": torch.ones(8).bernoulli(0.5).tolist(), "neg": str(torch.manual_seed(-1).initial_seed())}))
`);
  torch.tidy(() => {
    torch.manualSeed(2n ** 63n + 11n);
    expect(torch.initialSeed().toString()).toBe(want.init);
    expect(torch.rand([3]).tolist()).toEqual(want.a);
    torch.manualSeed(123);
    expect(torch.defaultGenerator.initialSeed().toString()).toBe(want.dflt);
    expect(torch.defaultGenerator.device).toBe('cpu');
    const g = new torch.Generator().manualSeed(9);
    expect(torch.tensor([0, 0.25, 0.5, 0.75, 1]).bernoulli({ generator: g }).tolist()).toEqual(want.bern);
    const bp = torch.zeros([2, 5], { dtype: 'float64' }).bernoulli(0.3, { generator: g });
    expect([bp.dtype, bp.tolist()]).toEqual(['float64', want.bernP]);
    expect(torch.ones([8]).bernoulli(0.5).tolist()).toEqual(want.bernGlobal); // (the default generator, seeded 123 above)

    // the default generator is the one the ops draw from: its state is getRngState()'s, and setting it replays
    const state = torch.defaultGenerator.getState();
    expect(Buffer.compare(state, torch.getRngState())).toBe(0);
    const x = torch.randn([4]).tolist();
    torch.defaultGenerator.setState(state);
    expect(torch.randn([4]).tolist()).toEqual(x);
    torch.defaultGenerator.dispose(); // (a no-op: it stays usable)
    expect(typeof torch.defaultGenerator.initialSeed()).toBe('bigint');

    // seed(): a fresh 64-bit seed each call, which becomes the initial seed and replays under manualSeed
    const s1 = torch.seed();
    expect(torch.initialSeed()).toBe(s1);
    const y = torch.rand([5]).tolist();
    torch.manualSeed(s1);
    expect(torch.rand([5]).tolist()).toEqual(y);
    expect(torch.seed()).not.toBe(s1);
    torch.manualSeed(-1n); // (wraps as Python's manual_seed(-1))
    expect(torch.initialSeed().toString()).toBe(want.neg);
    const wrapped = torch.rand([3]).tolist();
    torch.manualSeed(-1); // (a number too, as Python's int)
    expect(torch.initialSeed().toString()).toBe(want.neg);
    expect(torch.rand([3]).tolist()).toEqual(wrapped);
    // past 64 bits is refused, as Python's "Overflow when unpacking long"; so are numbers past 2**53 (not exact)
    expect(() => torch.manualSeed(2n ** 64n)).toThrow('tstorch.manualSeed: the seed must be in -2**63 .. 2**64 - 1 (as PyTorch\'s), got 18446744073709551616');
    expect(() => torch.manualSeed(-(2n ** 63n) - 1n)).toThrow(/must be in -2\*\*63 \.\. 2\*\*64 - 1/);
    expect(() => new torch.Generator().manualSeed(2n ** 64n)).toThrow(/^Generator\.manualSeed: the seed must be in -2\*\*63/);
    expect(() => torch.manualSeed(1e300)).toThrow('tstorch.manualSeed: the seed must be an integer within ±(2**53 - 1) (a bigint for larger), got 1e+300');
    expect(() => torch.manualSeed('5' as unknown as number)).toThrow('tstorch.manualSeed: the seed must be an integer (or a bigint), got string');
    expect(torch.initialSeed().toString()).toBe(want.neg); // (unchanged by the refusals)
  });
});
