// Lazy layers against PyTorch: a network of LazyConv2d / LazyBatchNorm2d / LazyConvTranspose2d /
// LazyLinear, with its optimizer made before the first forward, draws PyTorch's initial weights
// at that forward (same seed, same order), has PyTorch's state-dict names, and trains 3 AdamW
// steps as PyTorch's does; a lazy network also takes its sizes from a loaded state dict.
import * as torch from '../lib';
import { pythonJson } from './helpers';

const nn = torch.nn;
const F = nn.functional;

test('lazy layers materialize with PyTorch\'s weights at the first forward; an optimizer made before trains them', () => {
  const want = pythonJson(`
import json, torch, torch.nn as nn, torch.nn.functional as F
torch.manual_seed(3)
x = torch.randn(4, 3, 6, 6)
y = torch.randint(0, 5, (4,))
torch.manual_seed(5)
net = nn.Sequential(nn.LazyConv2d(6, 3, padding=1), nn.LazyBatchNorm2d(), nn.ReLU(), nn.LazyConvTranspose2d(4, 2, stride=2), nn.Flatten(), nn.LazyLinear(5))
opt = torch.optim.AdamW(net.parameters(), lr=1e-2)
keys_before = list(net.state_dict().keys())
losses = []
for step in range(3):
    opt.zero_grad()
    loss = F.cross_entropy(net(x), y)
    loss.backward()
    opt.step()
    losses.append(loss.item())
print(json.dumps({"keys": keys_before, "losses": losses, "final": {k: v.tolist() for k, v in net.state_dict().items()}, "in": [net[0].in_channels, net[5].in_features]}))
`);
  torch.tidy(() => {
    torch.manualSeed(3);
    const x = torch.randn([4, 3, 6, 6]);
    const y = torch.randint(0, 5, [4]);
    torch.manualSeed(5);
    const conv = new nn.LazyConv2d(6, 3, { padding: 1 }), lin = new nn.LazyLinear(5);
    const net = new nn.Sequential(conv, new nn.LazyBatchNorm2d(), new nn.ReLU(), new nn.LazyConvTranspose2d(4, 2, { stride: 2 }), new nn.Flatten(), lin);
    const opt = new torch.optim.AdamW(net.parameters(), { lr: 1e-2 });
    expect([...net.stateDict().keys()]).toEqual(want.keys);
    expect(conv.hasUninitializedParams()).toBe(true);
    const losses: number[] = [];
    for (let step = 0; step < 3; step++) {
      torch.tidy(() => {
        opt.zeroGrad();
        const loss = F.crossEntropy(net.forward(x), y);
        loss.backward();
        opt.step();
        losses.push(loss.item() as number);
      });
    }
    expect(conv.hasUninitializedParams()).toBe(false);
    expect([conv.initialized!.inChannels, lin.inFeatures]).toEqual(want.in);
    torch.testing.assertClose(losses, want.losses, { rtol: 1e-5, atol: 1e-6 });
    const final = Object.fromEntries([...net.stateDict()].map(([k, v]) => [k, v.tolist()]));
    torch.testing.assertClose(final as never, want.final, { rtol: 1e-4, atol: 1e-5 });
    // a fresh lazy network takes its sizes (and values) from the state dict
    const again = new nn.Sequential(new nn.LazyConv2d(6, 3, { padding: 1 }), new nn.LazyBatchNorm2d(), new nn.ReLU(), new nn.LazyConvTranspose2d(4, 2, { stride: 2 }), new nn.Flatten(), new nn.LazyLinear(5));
    again.loadStateDict(net.stateDict());
    net.eval();
    again.eval();
    torch.testing.assertClose(again.forward(x), net.forward(x));
    expect(() => new nn.LazyConv2d(4, 3).forward(torch.randn([2, 3]))).toThrow('Expected 3D (unbatched) or 4D (batched) input to LazyConv2d, but got input of size: [2,3]');
    expect(() => new nn.LazyConv2d(4, 3, { groups: 2 }).forward(torch.randn([1, 3, 5, 5]))).toThrow('LazyConv2d: inChannels (3) must be divisible by groups (2)');
    expect(String(new nn.LazyLinear(3))).toBe('LazyLinear(inFeatures=0, outFeatures=3, bias=true)');
  });
});

test('LazyInstanceNorm: sizes from the first (batched or unbatched) input, PyTorch\'s state-dict names and outputs (unbatched: as the batched one)', () => {
  const want = pythonJson(`
import json, torch, torch.nn as nn
torch.manual_seed(2)
x = torch.randn(2, 3, 5, 5)
u = torch.randn(4, 7)
a, b, c = nn.LazyInstanceNorm2d(affine=True, track_running_stats=True), nn.LazyInstanceNorm1d(), nn.LazyInstanceNorm2d()
ya, yb = a(x), b(u.unsqueeze(0)).squeeze(0)  # PyTorch 1.13's lazy instance norm reads an unbatched input's size from the wrong dim
print(json.dumps({"keys": [list(m.state_dict().keys()) for m in (a, b)], "ya": ya.tolist(), "yb": yb.tolist(), "n": [a.num_features, b.num_features], "rm": a.running_mean.tolist()}))
`);
  torch.tidy(() => {
    torch.manualSeed(2);
    const x = torch.randn([2, 3, 5, 5]), u = torch.randn([4, 7]);
    const a = new nn.LazyInstanceNorm2d({ affine: true, trackRunningStats: true }), b = new nn.LazyInstanceNorm1d();
    const ya = a.forward(x), yb = b.forward(u);
    expect([[...a.stateDict().keys()], [...b.stateDict().keys()]]).toEqual(want.keys);
    expect([a.initialized!.numFeatures, b.initialized!.numFeatures]).toEqual(want.n);
    torch.testing.assertClose(ya.tolist() as never, want.ya, { rtol: 1e-5, atol: 1e-6 });
    torch.testing.assertClose(yb.tolist() as never, want.yb, { rtol: 1e-5, atol: 1e-6 });
    torch.testing.assertClose((a.stateDict().get('running_mean')!.tolist()) as never, want.rm, { rtol: 1e-5, atol: 1e-7 });
  });
});
