// Gradients through composite functions against PyTorch (float64), from
// scripts/reference/core_grads.py: the expected values never come from our own code.
import * as torch from '../lib';
import { decode, readJson, relErr, EncodedTensor } from './helpers';

const F = torch.nn.functional;
type Case = { inputs: EncodedTensor[]; output: number; grads: (EncodedTensor | null)[] };
const ref = readJson<Record<string, Case>>('core_grads.json');

const long = (rows: number[][]) => torch.tensor(rows, { dtype: 'int64' });

const impls: Record<string, (...xs: torch.Tensor[]) => torch.Tensor> = {
  mlp: (x, w, b) => x.matmul(w).add(b).tanh().sum(),
  softmax_stats: (x) =>
    F.softmax(x, -1).mul(F.logSoftmax(x, 1)).sum()
      .add(x.logsumexp([1]).mean())
      .add(x.var(0).sum())
      .add(x.norm()),
  layernorm_gelu: (x, w, b) => F.gelu(F.layerNorm(x, [x.shape[1]], w, b, 1e-5), { approximate: 'tanh' }).pow(2).mean(),
  cross_entropy: (logits, target) => F.crossEntropy(logits, target, { ignoreIndex: -100 }),
  shapes: (x, y) => {
    const a = torch.cat([x, y], 0);
    const [p, q] = a.split(3, 0);
    const [c1, c2] = a.chunk(2, 1);
    const t = p.transpose(0, 1).permute([1, 0]).contiguous().view([-1]).reshape([3, 4]);
    const g = a.gather(1, long([[0, 1], [2, 3], [1, 1], [0, 0], [3, 2], [1, 0]]));
    const s = a.indexSelect(0, torch.tensor([5, 0, 2], { dtype: 'int64' }));
    const e = x.slice(1, 0, 1).expand([3, 4]);
    const m = torch.where(x.gt(0), x, y.mul(2)).maskedFill(y.lt(-1), 0.5);
    const n = a.narrow(0, 1, 2).unsqueeze(0).squeeze(0);
    const xy = x.matmul(y.t());
    const tr = torch.tril(xy).add(torch.triu(xy, 1).mul(3));
    const st = torch.stack([x, y], 1).sum(1);
    return t.mul(q).sum()
      .add(c1.mul(c2).sum())
      .add(g.exp().sum())
      .add(s.pow(2).sum())
      .add(e.mul(m).sum())
      .add(n.clamp(-0.5, 0.7).sum())
      .add(tr.sum())
      .add(st.abs().add(1).sqrt().log().sum());
  },
  attention: (q, k, v) => F.composedAttention(q, k, v, null, 0, true).sin().sum(),
  embedding_linear: (idx, emb, w, b) => {
    const h = F.embedding(idx, emb);
    const y = F.linear(h, w, b);
    const nll = F.logSoftmax(y, -1).gather(-1, idx.unsqueeze(-1).remainder(y.shape[2])).mean().neg();
    return nll.add(b.unsqueeze(0).addmm(h.select(0, 0), w.t()).max());
  },
};

describe('autograd through composite functions matches PyTorch (float64, 1e-10)', () => {
  for (const [name, c] of Object.entries(ref)) {
    test(name, () => {
      torch.tidy(() => {
        const inputs = c.inputs.map((e) => decode(e, { requiresGrad: true }));
        const y = impls[name](...inputs);
        expect(y.dtype).toBe('float64');
        expect(Math.abs((y.item() as number) - c.output) / Math.max(1, Math.abs(c.output))).toBeLessThan(1e-10);
        y.backward();
        c.grads.forEach((g, i) => {
          if (!g) return;
          const grad = inputs[i].grad;
          expect(grad).not.toBeNull();
          expect(relErr(grad!, decode(g))).toBeLessThan(1e-10);
        });
      });
    });
  }

  test('scaledDotProductAttention (fused where available) agrees with the composed math', () => {
    torch.tidy(() => {
      const [q, k, v] = ref.attention.inputs.map((e) => decode(e));
      const a = F.scaledDotProductAttention(q, k, v, { isCausal: true });
      const b = F.composedAttention(q, k, v, null, 0, true);
      expect(relErr(a, b)).toBeLessThan(1e-12);
    });
  });
});
