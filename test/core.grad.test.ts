// Gradients through composite functions against PyTorch (float64), from
// scripts/reference/core_grads.py: the expected values never come from our own code.
import * as torch from '../lib';
import { decode, readJson, relErr, EncodedTensor, pythonJson, referenceTensors } from './helpers';

const F = torch.nn.functional;
type Case = { inputs: EncodedTensor[]; output: number; grads: (EncodedTensor | null)[]; frozen: number[] };
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
  frozen_inputs: (x, c, w) => {
    let k = c.exp().add(1).log().mul(c.sigmoid()).sub(c.abs().sqrt()).add(c.pow(2).div(3));
    k = F.gelu(F.layerNorm(k, [k.shape[1]], null, null, 1e-5), { approximate: 'tanh' });
    k = F.softmax(k.matmul(c.t()), -1).clamp(0.01, 0.9).add(F.linear(c, w).tanh());
    k = k.mul(torch.where(c.gt(0), c, c.mul(0.5))).sub(k.max()).add(k.mean(0)).add(F.logSoftmax(c, 1));
    return x.mul(k).sum().add(F.linear(x, w).mul(k.sum(1, true)).pow(2).mean());
  },
};

describe('autograd through composite functions matches PyTorch (float64, 1e-10)', () => {
  for (const [name, c] of Object.entries(ref)) {
    test(name, () => {
      torch.tidy(() => {
        const inputs = c.inputs.map((e, i) => decode(e, { requiresGrad: !c.frozen.includes(i) }));
        const y = impls[name](...inputs);
        expect(y.dtype).toBe('float64');
        expect(Math.abs((y.item() as number) - c.output) / Math.max(1, Math.abs(c.output))).toBeLessThan(1e-10);
        y.backward();
        c.grads.forEach((g, i) => {
          if (!g) {
            expect(inputs[i].grad).toBeNull();
            return;
          }
          const grad = inputs[i].grad;
          expect(grad).not.toBeNull();
          expect(relErr(grad!, decode(g))).toBeLessThan(1e-10);
        });
      });
    });
  }

  // Ops on inputs that need no gradient skip libtorch's autograd layer (native/common.h); that
  // layer must still do its work wherever PyTorch relies on it.
  test('results of ops on inputs without gradients are plain leaves, and in-place changes to them are caught', () => {
    torch.tidy(() => {
      const c = torch.randn([3, 3], { dtype: 'float64' });
      const x = torch.randn([3, 3], { dtype: 'float64', requiresGrad: true });
      const k = c.exp();
      expect(k.requiresGrad).toBe(false);
      expect(k.isLeaf).toBe(true);
      // As in PyTorch: x.mul(k) saves k for backward, so changing k in place must fail there.
      const y = x.mul(k).sum();
      k.mul_(2);
      expect(() => y.backward()).toThrow(/modified by an inplace operation/);
      // A view of such a result shares its version counter, as PyTorch's views do.
      const k2 = c.exp();
      const y2 = x.mul(k2).sum();
      k2.view([9]).add_(1);
      expect(() => y2.backward()).toThrow(/modified by an inplace operation/);
      // Under noGrad, ops on inputs that require grad make no graph either.
      const z = torch.noGrad(() => x.mul(2).add(x));
      expect(z.requiresGrad).toBe(false);
      // A float target (class probabilities) that needs a gradient gets it, logits or not:
      // d mean_n(-sum_c t log softmax(l)) / dt = -log softmax(l) / N.
      const logits = torch.randn([4, 5], { dtype: 'float64' });
      const probs = F.softmax(torch.randn([4, 5], { dtype: 'float64' }), -1).requiresGrad_();
      F.crossEntropy(logits, probs).backward();
      expect(relErr(probs.grad!, F.logSoftmax(logits, -1).neg().div(4))).toBeLessThan(1e-12);
      // And a result can start its own graph.
      const leaf = c.sin().requiresGrad_();
      leaf.mul(leaf).sum().backward();
      expect(relErr(leaf.grad!, c.sin().mul(2))).toBeLessThan(1e-15);
    });
  });

  test('scaledDotProductAttention (fused where available) agrees with the composed math', () => {
    torch.tidy(() => {
      const [q, k, v] = ref.attention.inputs.map((e) => decode(e));
      const a = F.scaledDotProductAttention(q, k, v, { isCausal: true });
      const b = F.composedAttention(q, k, v, null, 0, true);
      expect(relErr(a, b)).toBeLessThan(1e-12);
    });
  });
});

// composedAttention (F.scaledDotProductAttention's math where libtorch has no kernel) goes a block
// of queries at a time past ATTENTION_BLOCK_ELEMENTS scores on the CPU: here 2-5 blocks a case,
// against PyTorch's documented math (scripts/reference/attention_ref.py), outputs and gradients.
test('composed attention in blocks of queries: outputs and gradients as PyTorch\'s math, causal (keys cut), masks bool and float, broadcast and per query', () => {
  torch.manualSeed(7);
  const f64 = { dtype: 'float64' as const };
  const [B, H, D] = [2, 4, 8];
  // [case, L, S, mask, causal]: over 2^20 scores each, so more than one block
  const cases: [string, number, number, ((L: number, S: number) => torch.Tensor) | null, boolean][] = [
    ['causal', 700, 700, null, true],
    ['causal_wide', 600, 900, null, true], // (top-left: query i sees keys 0..i)
    ['bool_rows', 600, 500, (L, S) => torch.rand([B, 1, L, S]).gt(0.3), false],
    ['float_keys', 500, 600, (_L, S) => torch.randn([B, 1, 1, S], f64), false],
    ['float_2d', 600, 600, (L, S) => torch.randn([L, S], f64), true],
  ];
  const inputs = new Map<string, torch.Tensor>();
  for (const [name, L, S, mask, causal] of cases) {
    inputs.set(`${name}.q`, torch.randn([B, H, L, D], f64));
    inputs.set(`${name}.k`, torch.randn([B, H, S, D], f64));
    inputs.set(`${name}.v`, torch.randn([B, H, S, D], f64));
    inputs.set(`${name}.gy`, torch.randn([B, H, L, D], f64));
    if (mask) inputs.set(`${name}.mask`, mask(L, S));
    if (causal) inputs.set(`${name}.causal`, torch.tensor(1));
  }
  const want = referenceTensors('attention_ref.py', inputs);
  try {
    for (const [name, L, S, , causal] of cases) {
      torch.tidy(() => {
        const [q, k, v] = ['q', 'k', 'v'].map((n) => inputs.get(`${name}.${n}`)!.detach().requiresGrad_());
        const mask = inputs.get(`${name}.mask`) ?? null;
        const rows = Math.floor(F.ATTENTION_BLOCK_ELEMENTS / (B * H * S));
        expect(rows).toBeLessThan(L);
        const shapes = torch.profiler.profile(() => {
          const y = F.composedAttention(q, k, v, mask, 0, causal);
          expect(relErr(y, want.get(`${name}.out`)!)).toBeLessThan(1e-12);
          y.mul(inputs.get(`${name}.gy`)!).sum().backward();
        }, { recordShapes: true }).events().filter((e) => e.name === 'aten::softmax').map((e) => e.inputShapes[0]);
        const blocks = Array.from({ length: Math.ceil(L / rows) }, (_, b) => Math.min(rows, L - b * rows));
        expect(shapes).toEqual(blocks.map((n, b) => [B, H, n, causal && !mask ? Math.min(S, b * rows + n) : S]));
        for (const [n, x] of [['q', q], ['k', k], ['v', v]] as const) expect(relErr(x.grad!, want.get(`${name}.grad.${n}`)!)).toBeLessThan(1e-12);
      });
    }
    // with dropout all at once (its draws are over the whole weights), and as F.dropout of them
    torch.tidy(() => {
      const [q, k, v] = ['q', 'k', 'v'].map((n) => inputs.get(`causal.${n}`)!);
      torch.manualSeed(1);
      let y!: torch.Tensor;
      const shapes = torch.profiler.profile(() => { y = F.composedAttention(q, k, v, null, 0.25, true); }, { recordShapes: true })
        .events().filter((e) => e.name === 'aten::softmax').map((e) => e.inputShapes[0]);
      expect(shapes).toEqual([[B, H, 700, 700]]);
      torch.manualSeed(1);
      const scores = q.matmul(k.transpose(-2, -1)).div(Math.sqrt(D)).maskedFill(torch.ones([700, 700], { dtype: 'bool' }).tril().logicalNot(), -Infinity);
      expect(relErr(y, F.dropout(F.softmax(scores, -1), 0.25, true).matmul(v))).toBeLessThan(1e-12);
    });
  } finally {
    for (const t of [...inputs.values(), ...want.values()]) t.dispose();
  }
});

test('attention in blocks lays keys split from a fused qkv out by head once (F.foldedKeys), not a copy each block; the same output', () => {
  torch.tidy(() => {
    const [B, T, H, D] = [2, 600, 4, 8];
    const qkv = torch.randn([B, T, 3 * H * D], { dtype: 'float64' });
    const heads = (i: number) => qkv.narrow(2, i * H * D, H * D).view([B, T, H, D]).permute([0, 2, 1, 3]); // (GPT-2's split heads)
    const [q, k, v] = [0, 1, 2].map(heads);
    const folded = F.foldedKeys(k);
    expect(folded).not.toBe(k);
    expect(folded.equal(k)).toBe(true);
    expect(F.foldedKeys(folded)).toBe(folded); // (contiguous: as it is)
    const room = torch.zeros([B, H, T + 100, D]).narrow(2, 0, T);
    expect(F.foldedKeys(room)).toBe(room); // (a cache buffer's view folds: as it is)
    const whole = [[B, H, T, D], [B, H, D, T]].map((x) => JSON.stringify(x));
    let y!: torch.Tensor;
    const copies = torch.profiler.profile(() => { y = F.composedAttention(q, k, v, null, 0, true); }, { recordShapes: true })
      .events().filter((e) => e.name === 'aten::copy_' && whole.includes(JSON.stringify(e.inputShapes[0])));
    expect(copies).toHaveLength(2); // (keys and values once, for all the blocks)
    expect(relErr(y, F.composedAttention(q.contiguous(), k.contiguous(), v.contiguous(), null, 0, true))).toBe(0);
  });
});

test('gradFn walks the graph as PyTorch\'s grad_fn: node names, next_functions, AccumulateGrad\'s variable', () => {
  const want = pythonJson<unknown>(`
import json, torch
x = torch.tensor([1.5, 2.0, 3.0], requires_grad=True)
w = torch.tensor([0.5, -1.0, 2.0], requires_grad=True)
y = (x * x).sin().mul(w).sum() + x.exp().mean()
def walk(n):
    if n is None: return None
    return [n.name(), [[walk(m), k] for m, k in n.next_functions]]
print(json.dumps(walk(y.grad_fn)))`);
  torch.tidy(() => {
    const x = torch.tensor([1.5, 2.0, 3.0], { requiresGrad: true });
    const w = torch.tensor([0.5, -1.0, 2.0], { requiresGrad: true });
    const y = x.mul(x).sin().mul(w).sum().add(x.exp().mean());
    const walk = (n: torch.GraphNode | null): unknown => (n === null ? null : [n.name(), n.nextFunctions.map(([m, k]) => [walk(m), k])]);
    expect(walk(y.gradFn)).toEqual(want);
    expect(x.gradFn).toBeNull();
    // AccumulateGrad leads back to the leaf; the same node read twice is the same node
    const mulNode = y.gradFn!.nextFunctions[0][0]!.nextFunctions[0][0]!;
    const acc = mulNode.nextFunctions[1][0]!;
    expect(acc.variable!.tolist()).toEqual([0.5, -1, 2]);
    expect(y.gradFn!.is(y.gradFn)).toBe(true);
    expect(y.gradFn!.is(mulNode)).toBe(false);
  });
});

test('clipGradNorm with errorIfNonfinite refuses a non-finite norm, with PyTorch\'s message; without it, returns the infinite norm', () => {
  const p = torch.tensor([1, 2], { dtype: 'float64', requiresGrad: true });
  torch.tidy(() => p.mul(torch.tensor([Infinity, 1], { dtype: 'float64' })).sum().backward());
  expect(() => torch.nn.utils.clipGradNorm([p], 1, 2, { errorIfNonfinite: true })).toThrow(/The total norm of order 2 for gradients from `parameters` is non-finite, so it cannot be clipped/);
  expect(torch.nn.utils.clipGradNorm([p], 1)).toBe(Infinity);
  p.dispose();
});

test('graph node hooks (gradFn.registerHook / registerPrehook) see and replace gradients as PyTorch\'s', () => {
  const want = pythonJson(`
import json, torch
x = torch.tensor([1.5, 2.0, 3.0], requires_grad=True)
w = torch.tensor([0.5, -1.0, 2.0], requires_grad=True)
y = (x * w).sin().sum()
seen = []
sin = y.grad_fn.next_functions[0][0]
def post(gi, go):
    seen.append([[t.tolist() for t in gi], [t.tolist() for t in go]])
    return (gi[0] * 2,)
sin.register_hook(post)
mul = sin.next_functions[0][0]
mul.register_prehook(lambda go: (go[0] + 1,))
y.backward()
print(json.dumps({"x": x.grad.tolist(), "w": w.grad.tolist(), "seen": seen, "names": [sin.name(), mul.name()]}))`);
  torch.tidy(() => {
    const x = torch.tensor([1.5, 2.0, 3.0], { requiresGrad: true });
    const w = torch.tensor([0.5, -1.0, 2.0], { requiresGrad: true });
    const y = x.mul(w).sin().sum();
    const seen: number[][][][] = [];
    const sin = y.gradFn!.nextFunctions[0][0]!;
    const h = sin.registerHook((gi, go) => {
      seen.push([gi.map((t) => t!.tolist() as number[]), go.map((t) => t!.tolist() as number[])]);
      return [gi[0]!.mul(2)];
    });
    const mul = sin.nextFunctions[0][0]!;
    mul.registerPrehook((go) => [go[0]!.add(1)]);
    expect([sin.name(), mul.name()]).toEqual(want.names);
    y.backward(undefined, { retainGraph: true });
    torch.testing.assertClose(x.grad!.tolist() as never, want.x, { rtol: 1e-6, atol: 1e-6 });
    torch.testing.assertClose(w.grad!.tolist() as never, want.w, { rtol: 1e-6, atol: 1e-6 });
    torch.testing.assertClose(seen as never, want.seen, { rtol: 1e-6, atol: 1e-6 });
    // the post hook removed, the same graph again: no doubling; the pre-hook still adds 1
    h.remove();
    x.grad = null;
    y.backward();
    torch.testing.assertClose(x.grad!, w.mul(x.mul(w).cos().add(1)));
    expect(seen).toHaveLength(1);
  });
});
