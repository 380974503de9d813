// Bad input never crashes: random tensors (0-3 dims of 0-3 elements, six dtypes) and random
// arguments thrown at the ops added beyond GPT-2 (indexing, scatter, unique, linalg, conv,
// pooling, norms, losses, recurrent and attention layers, in-place and random ops, printing,
// torch.save). Each call either works or throws a JS Error with libtorch's message; a crash
// would take the test process down. (42,000 such calls were run while writing this.)
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as torch from '../lib';

type T = torch.Tensor;
const F = torch.nn.functional;
const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-fuzz-')), 'x.pt');

let seed = 1;
const rnd = (): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
const pick = <X>(a: X[]): X => a[Math.floor(rnd() * a.length)];
const dtypes: torch.DType[] = ['float32', 'float64', 'int64', 'bool', 'int32', 'uint8'];
function t(): T {
  const nd = Math.floor(rnd() * 4);
  const shape = Array.from({ length: nd }, () => Math.floor(rnd() * 4));
  const dt = pick(dtypes);
  if (dt === 'bool') return torch.rand(shape).gt(0.5);
  if (dt.startsWith('float')) return torch.randn(shape, { dtype: dt });
  return torch.randint(-3, 5, shape, { dtype: dt });
}
const i = () => Math.floor(rnd() * 9) - 4;
/** A method called with arguments its types do not allow (what JavaScript callers can pass). */
type Loose = (...args: unknown[]) => unknown;
const ops: Record<string, (x: T) => unknown> = {
  index: (x) => x.index(pick([i(), null, '...', ':', '1:', '::2', t(), true, torch.Slice(i(), i(), 1 + Math.floor(rnd() * 2))]), pick([i(), ':', t()])),
  indexPut: (x) => x.indexPut_([pick([i(), t(), ':'])], pick([t(), 1.5])),
  scatter_: (x) => x.scatter_(i(), t(), t()),
  scatterAdd: (x) => x.scatterAdd(i(), t(), t()),
  scatterReduce: (x) => x.scatterReduce(i(), t(), t(), pick(['sum', 'prod', 'mean', 'amax', 'amin'])),
  indexAdd: (x) => x.indexAdd(i(), t(), t()),
  indexCopy: (x) => x.indexCopy_(i(), t(), t()),
  indexFill: (x) => x.indexFill_(i(), t(), 2),
  take: (x) => x.take(t()),
  takeAlongDim: (x) => x.takeAlongDim(t(), i()),
  gather: (x) => x.gather(i(), t()),
  unique: (x) => x.unique({ dim: pick([undefined, i()]), returnInverse: true, returnCounts: true }),
  uniqueConsecutive: (x) => x.uniqueConsecutive({ dim: pick([undefined, i()]), returnCounts: true }),
  bincount: (x) => x.bincount({ weights: pick([null, t()]), minlength: i() }),
  histc: (x) => x.histc(i(), i(), i()),
  searchsorted: (x) => torch.searchsorted(x, t()),
  bucketize: (x) => torch.bucketize(x, t()),
  unfold: (x) => x.unfold(i(), i(), i()),
  diag: (x) => x.diag(i()),
  diagEmbed: (x) => x.diagEmbed(i(), i(), i()),
  diagonal: (x) => x.diagonal(i(), i(), i()),
  fillDiagonal: (x) => x.fillDiagonal_(1, rnd() > 0.5),
  roll: (x) => x.roll([i(), i()], [i(), i()]),
  flip: (x) => x.flip([i()]),
  movedim: (x) => x.movedim(i(), i()),
  tile: (x) => x.tile([i(), i()]),
  repeatInterleave: (x) => x.repeatInterleave(pick([i(), t()]), pick([undefined, i()])),
  einsum: (x) => torch.einsum(pick(['ij,jk->ik', 'i,i', 'bij->b', '...i->...', 'ii->i']), x, t()),
  tensordot: (x) => torch.tensordot(x, t(), Math.floor(rnd() * 3)),
  cdist: (x) => torch.cdist(x, t(), rnd() * 3),
  kron: (x) => torch.kron(x, t()),
  cross: (x) => x.cross(t(), i()),
  quantile: (x) => x.quantile(rnd(), pick([null, i()])),
  median: (x) => (rnd() > 0.5 ? x.median() : x.median(i())),
  kthvalue: (x) => x.kthvalue(i(), i()),
  cummax: (x) => x.cummax(i()),
  amax: (x) => x.amax([i(), i()]),
  countNonzero: (x) => x.countNonzero(i()),
  linalg: (x) => pick([torch.linalg.inv, torch.linalg.det, torch.linalg.cholesky, torch.linalg.svdvals, torch.linalg.matrixExp, (a: T) => torch.linalg.qr(a), (a: T) => torch.linalg.eigh(a), (a: T) => torch.linalg.svd(a), torch.linalg.pinv, (a: T) => torch.linalg.matrixPower(a, i()), (a: T) => torch.linalg.solve(a, t()), (a: T) => torch.linalg.lstsq(a, t()).solution, (a: T) => torch.linalg.matrixNorm(a, pick(['fro', 'nuc', 1, -1, 2, Infinity]))])(x),
  conv: (x) => pick([F.conv1d, F.conv2d, F.conv3d])(x, t(), pick([null, t()]), { stride: 1 + Math.floor(rnd() * 2), padding: pick([0, 1, 'same', 'valid']), groups: 1 + Math.floor(rnd() * 2) }),
  convT: (x) => pick([F.convTranspose1d, F.convTranspose2d])(x, t(), pick([null, t()]), { stride: 1 + Math.floor(rnd() * 2), outputPadding: Math.floor(rnd() * 2) }),
  more: (x) => pick([
    (a: T) => a.nansum(i(), rnd() > 0.5), (a: T) => a.mode(i()), (a: T) => a.tensorSplit(pick([i(), [i(), i()]]), i()), (a: T) => a.rot90(i(), [i(), i()]),
    (a: T) => a.diff({ n: i(), dim: i() }), (a: T) => a.histogram(i()), (a: T) => a.cov(), (a: T) => a.hsplit(i()), (a: T) => a.logaddexp(t()),
    (a: T) => a.gcd(t()), (a: T) => a.bitwiseXor(t()), (a: T) => a.aminmax({ dim: i() }), (a: T) => a.stdMean(i()), (a: T) => a.renorm(2, i(), 1),
    (a: T) => torch.combinations(a, i()), (a: T) => torch.blockDiag(a, t()), (a: T) => torch.trapezoid(a, { dim: i() }), (a: T) => a.maskedScatter(t(), t()),
  ])(x),
  nnMore: (x) => pick([
    (a: T) => F.pixelShuffle(a, i()), (a: T) => F.pixelUnshuffle(a, i()), (a: T) => F.instanceNorm(a, { weight: pick([null, t()]), runningMean: pick([null, t()]), runningVar: pick([null, t()]), useInputStats: rnd() > 0.3 }),
    (a: T) => F.ctcLoss(a, t(), t(), t(), { blank: i(), reduction: pick(['none', 'mean', 'sum'] as const) }), (a: T) => F.ctcLoss(a, t(), [i(), i()], [i()]),
    (a: T) => F.tripletMarginLoss(a, t(), t()), (a: T) => F.bilinear(a, t(), t(), pick([null, t()])), (a: T) => F.multiMarginLoss(a, t(), { p: pick([1, 2] as const) }),
    (a: T) => F.gaussianNllLoss(a, t(), t()), (a: T) => F.embeddingBag(t(), a, { offsets: pick([null, t()]), mode: pick(['sum', 'mean', 'max'] as const), paddingIdx: pick([null, i()]), maxNorm: pick([null, 1]) }),
    (a: T) => F.gridSample(a, t(), { mode: pick(['bilinear', 'nearest', 'bicubic'] as const) }), (a: T) => F.unfold(a, Math.abs(i()) + 1), (a: T) => F.fold(a, [i(), i()], 2), (a: T) => F.cosineEmbeddingLoss(a, t(), t()), (a: T) => F.dropout2d(a, rnd()), (a: T) => F.dropout1d(a, rnd() * 2 - 0.5),
    (a: T) => { const m = new torch.nn.ConvTranspose2d(2, 2, 2); try { return m.forward(a); } finally { m.dispose(); } },
    (a: T) => { const m = new torch.nn.InstanceNorm1d(3, { trackRunningStats: true }); try { return m.forward(a); } finally { m.dispose(); } },
  ])(x),
  distribution: (x) => {
    const D = torch.distributions;
    const d = pick([() => new D.Normal(x, t()), () => new D.Categorical({ logits: x }), () => new D.Bernoulli({ probs: x }), () => new D.Gamma(x, t()),
      () => new D.Dirichlet(x), () => new D.MultivariateNormal(x, { covarianceMatrix: t() }), () => new D.Poisson(x), () => new D.Uniform(x, t())])();
    return pick([() => d.sample([Math.abs(i())]), () => d.logProb(t()), () => d.entropy(), () => D.klDivergence(d, d), () => d.rsample()])();
  },
  newer: (x) => pick([
    (a: T) => torch.isin(a, t()), (a: T) => torch.gradient(a, { spacing: pick([undefined, rnd(), [rnd(), rnd()]]), dim: pick([undefined, i()]), edgeOrder: pick([1, 2] as const) }),
    (a: T) => torch.cumulativeTrapezoid(a, { dim: i() }), (a: T) => torch.histogramdd(a, pick([i(), [i(), i()]])), (a: T) => a.nanquantile(rnd(), pick([null, i()])),
    (a: T) => a.indexReduce(i(), t(), t(), pick(['prod', 'mean', 'amax', 'amin'] as const)), (a: T) => torch.pdist(a, rnd() * 3), (a: T) => a.diagonalScatter(t(), i()),
    (a: T) => a.selectScatter(t(), i(), i()), (a: T) => a.sliceScatter(t(), { dim: i(), start: pick([null, i()]), end: pick([null, i()]), step: 1 + Math.floor(rnd() * 2) }),
    (a: T) => torch.fakeQuantizePerTensorAffine(a, rnd(), i(), i(), i()), (a: T) => torch.fakeQuantizePerChannelAffine(a, t(), t(), i(), i(), i()),
    (a: T) => F.elu_(a.clone(), rnd()), (a: T) => F.hardtanh_(a.clone(), -rnd(), rnd()), (a: T) => a.clone().gcd_(t()), (a: T) => a.clone().scatterReduce_(i(), t(), t(), 'amax'),
    (a: T) => torch.linalg.ldlFactor(a), (a: T) => torch.linalg.solveEx(a, t()), (a: T) => torch.linalg.vecdot(a, t(), { dim: i() }), (a: T) => torch.choleskySolve(a, t()),
    (a: T) => torch.vmap((r: T) => r.sin().sum())(a), (a: T) => torch.func.jacrev((r: T) => r.exp())(a), (a: T) => a.t(), (a: T) => a.addr(t(), t()), (a: T) => a.addbmm(t(), t()),
  ])(x),
  methodForms: (x) => pick([
    (a: T) => a.triangularSolve(t(), rnd() > 0.5, rnd() > 0.5), (a: T) => a.lu({ getInfos: rnd() > 0.5 }), (a: T) => a.luSolve(t(), t()), (a: T) => a.choleskyInverse(),
    (a: T) => a.ormqr(t(), t()), (a: T) => a.bernoulli(rnd() * 1.5 - 0.25), (a: T) => a.bernoulli(), (a: T) => a.clone().resizeAs_(t()), (a: T) => a.splitWithSizes([i(), i()], i()),
    (a: T) => a.newEmptyStrided([i(), i()], [i(), i()]), (a: T) => torch.emptyStrided([i()], [i(), i()]), (a: T) => torch.range(i(), i(), pick([0, 0.5, -1, NaN])),
    (a: T) => a.indexPut([t()], t(), rnd() > 0.5), (a: T) => a.stft(1 + Math.floor(rnd() * 4)),
  ])(x),
  torchLevel: (x) => pick([
    (a: T) => torch.conv2d(a, t(), pick([null, t()]), i(), i(), i(), i()), (a: T) => torch.conv1d(a, t(), null, { stride: i(), padding: pick(['same', 'valid', i()]) }),
    (a: T) => torch.convTranspose2d(a, t(), null, i(), i(), i(), i(), i()), (a: T) => torch.maxPool2d(a, i(), pick([null, i()]), i(), i(), rnd() > 0.5), (a: T) => torch.avgPool1d(a, i(), i(), i()),
    (a: T) => torch.embedding(t(), a, i()), (a: T) => torch.batchNorm(a, pick([null, t()]), pick([null, t()]), pick([null, t()]), pick([null, t()]), rnd() > 0.5, rnd(), rnd()),
    (a: T) => torch.instanceNorm(a, null, null, pick([null, t()]), pick([null, t()]), rnd() > 0.5, rnd(), rnd()), (a: T) => torch.dropout(a, rnd() * 1.5 - 0.25, rnd() > 0.5),
    (a: T) => torch.rrelu(a, rnd(), rnd(), rnd() > 0.5), (a: T) => torch.constantPadNd(a, [i(), i()], rnd()), (a: T) => torch.pixelShuffle(a, i()), (a: T) => torch.channelShuffle(a, i()),
    (a: T) => torch.threshold(a, rnd(), rnd()), (a: T) => torch.bilinear(a, t(), t()), (a: T) => torch.layerNorm(a, [i()]),
  ])(x),
  // (PyTorch's positional forms, with random values in every slot)
  positional: (x) => pick([
    (a: T) => (a.var as unknown as Loose).call(a, pick([i(), [i(), i()], null, rnd() > 0.5]), pick([rnd() > 0.5, { correction: i() }, i()]), pick([undefined, rnd() > 0.5, 'x'])),
    (a: T) => (a.std as unknown as Loose).call(a, i(), rnd() > 0.5, pick([rnd() > 0.5, t()])), (a: T) => a.isclose(t(), rnd(), pick([rnd(), -1, NaN]), rnd() > 0.5),
    (a: T) => a.unique(rnd() > 0.5, rnd() > 0.5, rnd() > 0.5, pick([null, i()])), (a: T) => a.diff(i(), i(), pick([null, t()]), pick([null, t()])),
    (a: T) => a.quantile(rnd(), pick([null, i()]), rnd() > 0.5), (a: T) => a.bincount(pick([null, t()]), i()), (a: T) => a.nanToNum(rnd(), pick([null, rnd()]), i()),
    (a: T) => a.view(i(), i()), (a: T) => a.reshape(i(), pick([i(), -1])), (a: T) => a.permute(i(), i()), (a: T) => a.expand(i(), i()), (a: T) => a.repeat(i(), i()), (a: T) => a.flip(i(), i()),
    () => torch.zeros(i(), i()), () => torch.randn(i(), i(), { dtype: pick(['float64', 'int64', 'nope'] as torch.DType[]) }), () => torch.hannWindow(i(), rnd() > 0.5),
    () => torch.hammingWindow(i(), rnd() > 0.5, rnd(), rnd()), (a: T) => torch.trapezoid(a, pick([t(), null]), { dim: i() }), (a: T) => torch.linalg.svd(a, rnd() > 0.5),
    (a: T) => (F.pad as unknown as Loose)(a, [i(), i()], pick(['constant', 'reflect', 'replicate', 'circular']), rnd()), (a: T) => (F.crossEntropy as unknown as Loose)(a, t(), pick([null, t()]), null, i(), null, pick(['mean', 'sum', 'none']), rnd()),
    (a: T) => (F.interpolate as unknown as Loose)(a, pick([null, i()]), pick([null, 2, 0.5]), pick(['nearest', 'bilinear', 'linear']), rnd() > 0.5),
  ] as ((a: T) => unknown)[])(x),
  interpolate: (x) => F.interpolate(x, {
    ...(rnd() > 0.5 ? { size: pick([1, 3, 0, [2, 3], -1]) } : { scaleFactor: pick([2, 0.5, 1.3, [2, 1]]) }),
    mode: pick(['nearest', 'nearest-exact', 'linear', 'bilinear', 'bicubic', 'trilinear', 'area'] as const),
    ...(rnd() > 0.7 ? { alignCorners: rnd() > 0.5 } : {}),
  }),
  pool: (x) => pick([(a: T) => F.maxPool1d(a, 1 + Math.floor(rnd() * 3), { padding: Math.floor(rnd() * 2), ceilMode: rnd() > 0.5 }), (a: T) => F.maxPool2d(a, 1 + Math.floor(rnd() * 3)), (a: T) => F.avgPool2d(a, 2), (a: T) => F.adaptiveAvgPool2d(a, [1 + Math.floor(rnd() * 3), 1]), (a: T) => F.adaptiveAvgPool1d(a, Math.floor(rnd() * 3))])(x),
  norms: (x) => pick([(a: T) => F.batchNorm(a, pick([null, t()]), pick([null, t()]), { training: rnd() > 0.5 }), (a: T) => F.groupNorm(a, 1 + Math.floor(rnd() * 3), pick([null, t()])), (a: T) => F.layerNorm(a, [Math.floor(rnd() * 4)])])(x),
  losses: (x) => pick([F.mseLoss, F.l1Loss, F.nllLoss, F.binaryCrossEntropy, F.binaryCrossEntropyWithLogits, F.klDiv, F.huberLoss, F.crossEntropy, F.cosineSimilarity])(x, t()),
  pad: (x) => F.pad(x, [i(), i()], { mode: pick(['constant', 'reflect', 'replicate', 'circular']) }),
  embedding: (x) => F.embedding(t(), x, { paddingIdx: pick([undefined, i()]) }),
  rnn: (x) => { const m = new torch.nn.LSTM(3, 2); try { return m.forward(x, pick([null, [t(), t()]])); } finally { m.dispose(); } },
  glu: (x) => F.glu(x, i()),
  prelu: (x) => F.prelu(x, t()),
  inplace: (x) => pick([(a: T) => a.clamp_(i(), i()), (a: T) => a.relu_(), (a: T) => a.erfinv_(), (a: T) => a.pow_(i()), (a: T) => a.bernoulli_(rnd() * 1.5 - 0.25), (a: T) => a.random_(i(), i()), (a: T) => a.exponential_(rnd() * 2 - 0.5)])(x),
  mha: (x) => { const m = new torch.nn.MultiheadAttention(4, 2); try { return m.forward(x, t(), t(), { attnMask: pick([null, t()]), keyPaddingMask: pick([null, t()]) }); } finally { m.dispose(); } },
  autograd: (x) => torch.autograd.grad(x.sum(), [x, t()], { allowUnused: rnd() > 0.5 }),
  print: (x) => String(x),
  save: (x) => { torch.save({ x }, file); return torch.load(file); },
};

test('2,000 random calls with random tensors and arguments: results or JS Errors, never a crash', () => {
  torch.manualSeed(0);
  let worked = 0, failed = 0;
  for (let n = 0; n < 2000; n++) {
    const name = pick(Object.keys(ops));
    try {
      torch.tidy(() => { ops[name](t()); });
      worked++;
    } catch (e) {
      // (libtorch's errors come from the addon's realm, not jest's sandbox: check the kind, not the class)
      expect(Object.prototype.toString.call(e)).toBe('[object Error]');
      expect((e as Error).message.length).toBeGreaterThan(0);
      failed++;
    }
  }
  // Both kinds happen (random input mostly fails, as it should); the process is still here.
  expect(worked).toBeGreaterThan(200);
  expect(failed).toBeGreaterThan(200);
  expect(torch.tidy(() => torch.ones([2]).add(1).sum().item())).toBe(4);
  fs.rmSync(path.dirname(file), { recursive: true, force: true });
});
