// torch.nn.init and the random in-place ops against PyTorch (scripts/reference/init_ref.py):
// from the same seed, on a tensor of the same shape and dtype, every initialiser must give
// exactly PyTorch's values (the same draws in the same order through the same libtorch).
import * as torch from '../lib';
import { referenceTensors } from './helpers';

const init = torch.nn.init;

interface Case { name: string; shape: number[]; dtype: torch.DType; ts: (t: torch.Tensor) => unknown; py: string }
const cases: Case[] = [
  { name: 'uniform', shape: [4, 5], dtype: 'float32', ts: (t) => init.uniform_(t, -0.3, 0.7), py: 'lambda t: init.uniform_(t, -0.3, 0.7)' },
  { name: 'normal', shape: [6], dtype: 'float64', ts: (t) => init.normal_(t, 1, 0.5), py: 'lambda t: init.normal_(t, 1.0, 0.5)' },
  { name: 'constant', shape: [2, 3], dtype: 'float32', ts: (t) => init.constant_(t, 0.25), py: 'lambda t: init.constant_(t, 0.25)' },
  { name: 'eye', shape: [3, 5], dtype: 'float32', ts: (t) => init.eye_(t), py: 'lambda t: init.eye_(t)' },
  { name: 'xavier_uniform', shape: [8, 6, 3], dtype: 'float32', ts: (t) => init.xavierUniform_(t, init.calculateGain('relu')), py: 'lambda t: init.xavier_uniform_(t, init.calculate_gain("relu"))' },
  { name: 'xavier_normal', shape: [7, 9], dtype: 'float64', ts: (t) => init.xavierNormal_(t, 0.5), py: 'lambda t: init.xavier_normal_(t, 0.5)' },
  { name: 'kaiming_uniform', shape: [16, 4, 3, 3], dtype: 'float32', ts: (t) => init.kaimingUniform_(t, 0, 'fan_out', 'relu'), py: 'lambda t: init.kaiming_uniform_(t, mode="fan_out", nonlinearity="relu")' },
  { name: 'kaiming_uniform_a', shape: [10, 20], dtype: 'float32', ts: (t) => init.kaimingUniform_(t, Math.sqrt(5)), py: 'lambda t: init.kaiming_uniform_(t, a=math.sqrt(5))' },
  { name: 'kaiming_normal', shape: [12, 5], dtype: 'float64', ts: (t) => init.kaimingNormal_(t, 0.2, 'fan_in', 'leaky_relu'), py: 'lambda t: init.kaiming_normal_(t, a=0.2)' },
  { name: 'kaiming_normal_tanh', shape: [12, 5], dtype: 'float32', ts: (t) => init.kaimingNormal_(t, 0, 'fan_in', 'tanh'), py: 'lambda t: init.kaiming_normal_(t, nonlinearity="tanh")' },
  { name: 'trunc_normal', shape: [50, 40], dtype: 'float32', ts: (t) => init.truncNormal_(t, 0.1, 0.02, -0.03, 0.2), py: 'lambda t: init.trunc_normal_(t, 0.1, 0.02, -0.03, 0.2)' },
  { name: 'trunc_normal_default', shape: [1000], dtype: 'float64', ts: (t) => init.truncNormal_(t), py: 'lambda t: init.trunc_normal_(t)' },
  { name: 'orthogonal_tall', shape: [8, 3], dtype: 'float64', ts: (t) => init.orthogonal_(t, 2), py: 'lambda t: init.orthogonal_(t, 2)' },
  { name: 'orthogonal_wide', shape: [3, 2, 4], dtype: 'float32', ts: (t) => init.orthogonal_(t), py: 'lambda t: init.orthogonal_(t)' },
  { name: 'dirac', shape: [6, 4, 3, 3], dtype: 'float32', ts: (t) => init.dirac_(t, 2), py: 'lambda t: init.dirac_(t, 2)' },
  { name: 'dirac_1d', shape: [3, 5, 4], dtype: 'float64', ts: (t) => init.dirac_(t), py: 'lambda t: init.dirac_(t)' },
  { name: 'sparse', shape: [7, 5], dtype: 'float32', ts: (t) => init.sparse_(t, 0.4, 0.05), py: 'lambda t: init.sparse_(t, 0.4, 0.05)' },
  { name: 'bernoulli', shape: [5, 7], dtype: 'float32', ts: (t) => t.bernoulli_(0.3), py: 'lambda t: t.bernoulli_(0.3)' },
  { name: 'exponential', shape: [9], dtype: 'float64', ts: (t) => t.exponential_(2), py: 'lambda t: t.exponential_(2)' },
  { name: 'random', shape: [4, 4], dtype: 'int64', ts: (t) => t.random_(-5, 9), py: 'lambda t: t.random_(-5, 9)' },
  { name: 'bernoulli_tensor', shape: [3, 4], dtype: 'float64', ts: (t) => t.copy_(torch.bernoulli(torch.linspace(0, 1, 12, { dtype: 'float64' }).view([3, 4]))), py: 'lambda t: t.copy_(torch.bernoulli(torch.linspace(0, 1, 12, dtype=torch.float64).view(3, 4)))' },
  { name: 'torch_normal', shape: [5], dtype: 'float32', ts: (t) => t.copy_(torch.normal(2, 0.5, [5])), py: 'lambda t: t.copy_(torch.normal(2.0, 0.5, (5,)))' },
  { name: 'embedding_layer', shape: [6, 3], dtype: 'float32', ts: (t) => t.copy_(new torch.nn.Embedding(6, 3, { paddingIdx: 4 }).weight), py: 'lambda t: t.copy_(torch.nn.Embedding(6, 3, padding_idx=4).weight)' },
];

let want: Map<string, torch.Tensor>;
beforeAll(() => {
  want = referenceTensors('init_ref.py', cases.map((c, i) => ({ name: c.name, shape: c.shape, dtype: c.dtype, py: c.py, seed: 100 + i })));
}, 60_000);

describe('torch.nn.init gives PyTorch\'s very values from the same seed', () => {
  cases.forEach((c, i) => {
    test(c.name, () => {
      torch.tidy(() => {
        torch.manualSeed(100 + i);
        const t = torch.empty(c.shape, { dtype: c.dtype });
        c.ts(t);
        const w = want.get(c.name)!;
        expect(t.dtype).toBe(w.dtype);
        if (c.name.startsWith('orthogonal')) {
          // QR through LAPACK: the same library, yet allow its last bit.
          expect(t.sub(w).abs().max().item() as number).toBeLessThan(1e-6);
        } else {
          expect(t.equal(w)).toBe(true);
        }
      });
    });
  });

  test('what the initialisers promise: orthogonality, truncation, the gain table; errors', () => {
    torch.tidy(() => {
      const q = init.orthogonal_(torch.empty([6, 4], { dtype: 'float64' }));
      expect(q.t().matmul(q).sub(torch.eye(4, 4, { dtype: 'float64' })).abs().max().item() as number).toBeLessThan(1e-12);
      const tn = init.truncNormal_(torch.empty([10000]), 0, 1, -0.5, 0.25);
      expect([tn.min().item(), tn.max().item()].every((v) => (v as number) >= -0.5 && (v as number) <= 0.25)).toBe(true);
      expect(init.calculateGain('leaky_relu')).toBeCloseTo(Math.sqrt(2 / (1 + 0.0001)), 12);
      expect(init.calculateGain('selu')).toBe(0.75);
      expect(() => init.xavierUniform_(torch.empty([5]))).toThrow(/at least 2 dims, got \[5\]/);
      expect(() => init.kaimingNormal_(torch.empty([2, 2]), 0, 'fan_avg' as never)).toThrow(/mode must be 'fan_in' or 'fan_out'/);
      expect(() => init.calculateGain('swish' as never)).toThrow(/unsupported nonlinearity 'swish'/);
      expect(() => init.eye_(torch.empty([2, 2, 2]))).toThrow(/only 2-D tensors/);
    });
  });
});
