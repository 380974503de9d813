// Memory is explicit: tidy() frees what it made, kept tensors survive, loops run flat.
import { spawnSync } from 'child_process';
import * as path from 'path';
import * as torch from '../lib';
import { settledLiveTensors } from './helpers';

test('tidy frees everything but the result and keep()-ed tensors', () => {
  const before = torch.memory().liveTensors;
  let kept!: torch.Tensor;
  const out = torch.tidy(() => {
    const a = torch.ones([100]);
    const b = a.mul(2).add(1);
    kept = torch.keep(a.sub(1));
    return { b, list: [b.sum()] };
  });
  expect(torch.memory().liveTensors).toBe(before + 3);
  torch.tidy(() => {
    expect(out.b.sum().item()).toBe(300);
    expect(kept.sum().item()).toBe(0);
  });
  out.b.dispose();
  out.list[0].dispose();
  kept.dispose();
  expect(torch.memory().liveTensors).toBe(before);
});

test('nested tidy hands results to the outer scope; a throw still frees', () => {
  const before = torch.memory().liveTensors;
  torch.tidy(() => {
    const inner = torch.tidy(() => torch.ones([4]).mul(3));
    expect(inner.sum().item()).toBe(12);
  });
  expect(torch.memory().liveTensors).toBe(before);
  expect(() => torch.tidy(() => { torch.ones([4]); throw new Error('boom'); })).toThrow('boom');
  expect(torch.memory().liveTensors).toBe(before);
});

test('a tensor from outside that a nested tidy hands back stays its owner\'s: the enclosing tidy frees only what was made inside it', () => {
  const before = torch.memory().liveTensors;
  const x = torch.ones([2]), y = torch.full([2], 3);
  // (as a helper that returns its input unchanged, called inside a training step's tidy)
  torch.tidy(() => {
    torch.tidy(() => x);
    torch.tidy(() => ({ same: y, made: y.mul(2) }));
    torch.tidy(() => [x, y]);
  });
  expect(x.tolist()).toEqual([1, 1]);
  expect(y.tolist()).toEqual([3, 3]);
  expect(torch.memory().liveTensors).toBe(before + 2); // (what was made inside is freed)
  // made in an enclosing scope and handed back through an inner one: the enclosing scope's still
  const [a, b] = torch.tidy(() => {
    const made = torch.ones([2]);
    return torch.tidy(() => [made, made.add(x)]);
  });
  expect([a.tolist(), b.tolist()]).toEqual([[1, 1], [2, 2]]);
  expect(torch.memory().liveTensors).toBe(before + 4);
  for (const t of [x, y, a, b]) t.dispose();
  expect(torch.memory().liveTensors).toBe(before);
});

test('a parameter made inside tidy and keep()-ed, with its grad, survives', () => {
  const w = torch.tidy(() => torch.keep(torch.randn([8, 8]).requiresGrad_()));
  for (let i = 0; i < 3; i++) {
    torch.tidy(() => {
      w.matmul(w).tanh().sum().backward();
      torch.noGrad(() => w.add_(w.grad!, -0.01));
    });
  }
  expect(w.grad!.shape).toEqual([8, 8]);
  expect(torch.memory().bytesByDevice.cpu).toBeGreaterThanOrEqual(2 * 64 * 4);
  w.dispose();
});

test('dispose() frees at once as memory() sees it, one tensor or thousands (queued release)', () => {
  const before = torch.memory();
  const big = torch.zeros([1000, 1000]);
  expect(torch.memory().bytes - before.bytes).toBe(4e6);
  big.dispose();
  expect(torch.memory().bytes).toBe(before.bytes);
  expect(torch.memory().liveTensors).toBe(before.liveTensors);
  // Past the queue's capacity (64): the queue flushes itself, nothing is lost or freed twice.
  const many = Array.from({ length: 1000 }, (_, i) => torch.full([3], i));
  for (const t of many) t.dispose();
  for (const t of many) t.dispose(); // a second dispose is a no-op
  expect(torch.memory().liveTensors).toBe(before.liveTensors);
  // Freed slots are reused by new tensors; the new ones hold their own values.
  const again = Array.from({ length: 100 }, (_, i) => torch.full([3], -i));
  expect(torch.tidy(() => again.map((t) => t.sum().item()))).toEqual(again.map((_, i) => -3 * i + 0));
  for (const t of again) t.dispose();
  expect(torch.memory().liveTensors).toBe(before.liveTensors);
});

test('memory() counts distinct storages once', () => {
  torch.tidy(() => {
    const base = torch.memory().bytes;
    const a = torch.zeros([1000], { dtype: 'float64' });
    a.view([10, 100]);
    a.narrow(0, 0, 10);
    expect(torch.memory().bytes - base).toBe(8000);
  });
});

test('100k iterations inside tidy keep liveTensors and RSS flat', () => {
  const w = torch.keep(torch.randn([16, 16]).requiresGrad_());
  const x = torch.keep(torch.randn([4, 16]));
  const step = () =>
    torch.tidy(() => {
      const loss = x.matmul(w).tanh().sum();
      loss.backward();
      torch.noGrad(() => w.add_(w.grad!, -1e-4));
    });
  for (let i = 0; i < 2000; i++) step(); // warm up allocators
  const live0 = torch.memory().liveTensors;
  const bytes0 = torch.memory().bytes;
  global.gc?.();
  const rss0 = process.memoryUsage().rss;
  for (let i = 0; i < 100_000; i++) step();
  global.gc?.();
  const rss1 = process.memoryUsage().rss;
  expect(torch.memory().liveTensors).toBe(live0);
  expect(torch.memory().bytes).toBe(bytes0);
  // A leak of one small tensor per step would be > 100k * ~1 KiB = 100 MiB.
  expect(rss1 - rss0).toBeLessThan(40 * 1024 * 1024);
  w.dispose();
  x.dispose();
});

test('the safety net never frees a live tensor: finalizers of tensors disposed long ago, their slot reused thousands of times since, free nothing', async () => {
  const slotOf = (t: torch.Tensor) => (t as unknown as { _id: number })._id;
  const before = await settledLiveTensors();
  // tensors kept inside tidy() are registered with the safety net; each one here is disposed by hand, and
  // the next takes the same slot: 3000 stale registrations of one slot (a per-slot generation count of up
  // to 11 bits has come round to every value among them)
  const first = torch.tidy(() => torch.keep(torch.zeros([2])));
  const slot = slotOf(first);
  first.dispose();
  let onSlot = 1;
  for (let i = 0; i < 3000; i++) {
    const t = torch.tidy(() => torch.keep(torch.zeros([2])));
    if (slotOf(t) === slot) onSlot++;
    t.dispose();
  }
  expect(onSlot).toBeGreaterThanOrEqual(2048);
  const live = torch.full([3], 7); // (the slot's tensor now)
  expect(slotOf(live)).toBe(slot);
  expect(await settledLiveTensors()).toBe(before + 1); // (every stale registration's finalizer has run)
  expect(live.tolist()).toEqual([7, 7, 7]);
  live.dispose();
  // the safety net still frees what it is for: tensors made outside any scope and dropped
  for (let i = 0; i < 300; i++) torch.ones([2]);
  expect(await settledLiveTensors()).toBe(before);
});

test('scripts exit 0 after CPU work and in worker threads (clean libtorch shutdown)', () => {
  // Runs the compiled package (dist/, made by npm run build) in a fresh process.
  const dist = path.join(__dirname, '..', 'dist', 'lib');
  const script = `
    const { Worker, isMainThread, parentPort } = require('worker_threads');
    const torch = require(${JSON.stringify(dist)});
    const work = () => { const a = torch.randn([64, 64]).requiresGrad_(); a.matmul(a).sum().backward(); return a.grad.sum().item(); };
    if (isMainThread) {
      work();
      let done = 0;
      for (let i = 0; i < 2; i++) {
        const w = new Worker(__filename);
        w.on('message', (m) => { if (typeof m === 'number' && ++done === 2) console.log('ok'); });
        w.on('error', (e) => { console.error(e); process.exit(3); });
      }
    } else {
      parentPort.postMessage(work());
    }`;
  const file = path.join(require('os').tmpdir(), `tstorch-exit-${process.pid}.js`);
  require('fs').writeFileSync(file, script);
  const r = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 60000 });
  expect(r.stderr).not.toMatch(/Segmentation|Aborted|terminate called/);
  expect(r.stdout.trim()).toBe('ok');
  expect(r.status).toBe(0);
});

test('library functions free their temporaries: embedding with maxNorm, maxUnpool1d, map_, isin of a number, mH / H / adjoint / svd, tanhshrink, softsign (each leaked handles per call outside tidy)', () => {
  const F = torch.nn.functional;
  const w = torch.randn([10, 4]), ids = torch.tensor([1, 2, 3]), x = torch.randn([1, 2, 8]), b = torch.ones([1, 2, 8]);
  const { values, indices } = F.maxPool1d(x, 2, { returnIndices: true });
  const live = torch.memory().liveTensors;
  for (let i = 0; i < 5; i++) {
    F.embedding(ids, w, { maxNorm: 1 }).dispose();
    F.maxUnpool1d(values, indices, 2).dispose();
    x.map_(b, (p, q) => p + 0 * q);
    torch.isin(3, ids).dispose();
    values.adjoint().dispose();
    values.mH.dispose();
    w.H.dispose();
    const { U, S, V } = w.svd();
    for (const t of [U, S, V]) t.dispose();
    F.tanhshrink(x).dispose();
    F.softsign(x).dispose();
  }
  expect(torch.memory().liveTensors).toBe(live);
  for (const t of [w, ids, x, b, values, indices]) t.dispose();
});

test('functional forms composed in TypeScript free their temporaries (lpPool, localResponseNorm, channelShuffle, rmsNorm, gaussianNllLoss, tripletMarginWithDistanceLoss, multilabelSoftMarginLoss, legacy svd)', () => {
  const F = torch.nn.functional;
  const x3 = torch.randn([2, 4, 8]), x4 = torch.randn([2, 4, 8, 8]), a = torch.randn([4, 3]), b = torch.rand([4, 3]), c = torch.rand([4, 3]).add(0.1), m = torch.randn([3, 3]);
  const perSample = c.sum(1);
  const live = torch.memory().liveTensors;
  const calls = [
    () => F.lpPool1d(x3, 2, 2), () => F.lpPool2d(x4, 2, 2), () => F.localResponseNorm(x3, 2), () => F.localResponseNorm(x4, 2), () => F.channelShuffle(x4, 2),
    () => F.rmsNorm(a, [3]), () => F.gaussianNllLoss(a, b, c), () => F.gaussianNllLoss(a, b, perSample), () => F.tripletMarginWithDistanceLoss(a, b, c, { swap: true }),
    () => F.multilabelSoftMarginLoss(a, b),
  ];
  for (const call of calls) call().dispose();
  const { U, S, V } = torch.svd(m);
  for (const t of [U, S, V]) t.dispose();
  expect(torch.memory().liveTensors).toBe(live);
  for (const t of [x3, x4, a, b, c, m, perSample]) t.dispose();
});

test('distributions free their intermediates: logProb, entropy, sample, rsample, cdf and the moments leave only their results (Beta\'s logProb left 12 handles per call)', () => {
  const D = torch.distributions;
  const one = torch.ones([3]), zero = torch.zeros([3]), logits = torch.randn([3]);
  const dists = [new D.Normal(zero, one), new D.Gamma(one, one), new D.Beta(one, one), new D.Categorical({ logits }), new D.Dirichlet(one), new D.Bernoulli(null, logits),
    new D.MultivariateNormal(zero, { covarianceMatrix: torch.eye(3) })];
  const samples = dists.map((d) => d.sample());
  const p = (dists[0] as torch.distributions.Normal).cdf(samples[0]);
  const live = torch.memory().liveTensors;
  dists.forEach((d, i) => {
    for (const r of [d.logProb(samples[i]), d.entropy(), d.sample([2])]) r.dispose();
    const own = Object.values(d).filter((v) => v instanceof torch.Tensor); // (Normal's mean is its loc, Bernoulli's its probs: not freed here)
    for (const k of ['mean', 'variance', 'stddev'] as const) {
      const r = d[k];
      if (![one, zero, logits, ...own].includes(r)) r.dispose();
    }
  });
  const n = dists[0] as torch.distributions.Normal;
  for (const r of [n.rsample(), n.cdf(samples[0]), n.icdf(p)]) r.dispose();
  expect(torch.memory().liveTensors).toBe(live);
  for (const t of [one, zero, logits, p, ...samples]) t.dispose();
});
