"""Reference values for the native core's autograd tests (float64, plain PyTorch).

Each case names a composite function that test/core.grad.test.ts implements again with tstorch;
inputs are seeded here and stored with the expected output and the gradient of every input,
so the TypeScript test never computes its own expectations.
"""
import json
import math
import sys

import torch
import torch.nn.functional as F

torch.manual_seed(1234)


def rnd(*shape):
    return torch.randn(*shape, dtype=torch.float64)


def case_mlp(x, w, b):
    return torch.tanh(x @ w + b).sum()


def case_softmax_stats(x):
    s = torch.softmax(x, dim=-1)
    return (s * torch.log_softmax(x, dim=1)).sum() + torch.logsumexp(x, dim=[1]).mean() + x.var(dim=0).sum() + x.norm()


def case_layernorm_gelu(x, w, b):
    y = F.layer_norm(x, [x.shape[-1]], w, b, 1e-5)
    return F.gelu(y, approximate="tanh").pow(2).mean()


def case_cross_entropy(logits, target):
    return F.cross_entropy(logits, target, ignore_index=-100)


def case_shapes(x, y):
    a = torch.cat([x, y], dim=0)                 # (6, 4)
    p, q = a.split(3, dim=0)
    c1, c2 = a.chunk(2, dim=1)
    t = p.transpose(0, 1).permute(1, 0).contiguous().view(-1).reshape(3, 4)
    g = torch.gather(a, 1, torch.tensor([[0, 1], [2, 3], [1, 1], [0, 0], [3, 2], [1, 0]]))
    s = a.index_select(0, torch.tensor([5, 0, 2]))
    e = x[:, :1].expand(3, 4)
    m = torch.where(x > 0, x, y * 2).masked_fill(y < -1, 0.5)
    n = a.narrow(0, 1, 2).unsqueeze(0).squeeze(0)
    tr = torch.tril(x @ y.T) + torch.triu(x @ y.T, 1) * 3
    st = torch.stack([x, y], dim=1).sum(dim=1)
    return ((t * q).sum() + (c1 * c2).sum() + g.exp().sum() + (s ** 2).sum() + (e * m).sum()
            + n.clamp(-0.5, 0.7).sum() + tr.sum() + (st.abs() + 1).sqrt().log().sum())


def case_attention(q, k, v):
    L = q.shape[-2]
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    mask = torch.ones(L, L, dtype=torch.bool).tril()
    scores = scores.masked_fill(~mask, float("-inf"))
    return (torch.softmax(scores, -1) @ v).sin().sum()


def case_embedding_linear(idx, emb, w, b):
    h = F.embedding(idx, emb)
    y = F.linear(h, w, b)
    return -F.log_softmax(y, -1).gather(-1, idx.unsqueeze(-1) % y.shape[-1]).mean() + torch.addmm(b.unsqueeze(0), h[0], w.T).max()


def case_frozen_inputs(x, c, w):
    # c and w need no gradient: every op on them alone runs without autograd (in tstorch, the
    # autograd layer is skipped there), and its results then meet x, which does need one.
    k = c.exp().add(1).log() * torch.sigmoid(c) - c.abs().sqrt() + c.pow(2) / 3
    k = F.gelu(F.layer_norm(k, [k.shape[-1]], None, None, 1e-5), approximate="tanh")
    k = torch.softmax(k @ c.T, -1).clamp(0.01, 0.9) + torch.tanh(F.linear(c, w, None))
    k = k * torch.where(c > 0, c, c.mul(0.5)) - k.max() + k.mean(0) + F.log_softmax(c, 1)
    return (x * k).sum() + F.linear(x, w, None).mul(k.sum(1, keepdim=True)).pow(2).mean()


CASES = {
    "mlp": (case_mlp, lambda: [rnd(3, 5), rnd(5, 4), rnd(4)]),
    "softmax_stats": (case_softmax_stats, lambda: [rnd(4, 6)]),
    "layernorm_gelu": (case_layernorm_gelu, lambda: [rnd(3, 7), rnd(7), rnd(7)]),
    "cross_entropy": (case_cross_entropy, lambda: [rnd(5, 7), torch.tensor([1, -100, 6, 0, 3])]),
    "shapes": (case_shapes, lambda: [rnd(3, 4), rnd(3, 4)]),
    "attention": (case_attention, lambda: [rnd(2, 3, 5, 4), rnd(2, 3, 5, 4), rnd(2, 3, 5, 4)]),
    "embedding_linear": (case_embedding_linear, lambda: [torch.tensor([[1, 3, 0], [2, 2, 4]]), rnd(5, 6), rnd(4, 6), rnd(4)]),
    "frozen_inputs": (case_frozen_inputs, lambda: [rnd(4, 4), rnd(4, 4), rnd(4, 4)]),
}
# Inputs that do not require a gradient (by position), per case.
FROZEN = {"frozen_inputs": [1, 2]}


def enc(t):
    return {"shape": list(t.shape), "dtype": str(t.dtype).replace("torch.", ""), "data": t.reshape(-1).tolist()}


def main(out_path):
    out = {}
    for name, (fn, make) in CASES.items():
        inputs = make()
        frozen = FROZEN.get(name, [])
        for i, t in enumerate(inputs):
            if t.is_floating_point() and i not in frozen:
                t.requires_grad_(True)
        y = fn(*inputs)
        y.backward()
        out[name] = {
            "inputs": [enc(t.detach()) for t in inputs],
            "output": y.item(),
            "grads": [enc(t.grad) if t.grad is not None else None for t in inputs],
            "frozen": frozen,
        }
    with open(out_path, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main(sys.argv[1])
