// torch.nn.utils.prune against PyTorch's, step by step on the same weights: masks (L1 and random,
// unstructured and structured, iterative, global, custom), the pruned weights, the state dict's
// names and values, the forward output and the gradient that reaches weight_orig; then remove().
import * as torch from '../lib';
import { pythonJson } from './helpers';

type T = torch.Tensor;
const nn = torch.nn;
const prune = nn.utils.prune;

class Net extends nn.Module {
  lin1 = this.registerModule('lin1', new nn.Linear(6, 4));
  conv = this.registerModule('conv', new nn.Conv2d(2, 3, 2));
  lin2 = this.registerModule('lin2', new nn.Linear(4, 3));
  forward(x: T, img: T): T {
    const h = this.conv.forward(img).flatten(1).narrow(1, 0, 4);
    return this.lin2.forward(this.lin1.forward(x).relu().add(h));
  }
}

const PY = `
import json, sys, torch
import torch.nn as nn
import torch.nn.utils.prune as prune
a = json.loads(sys.argv[1])
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin1 = nn.Linear(6, 4); self.conv = nn.Conv2d(2, 3, 2); self.lin2 = nn.Linear(4, 3)
    def forward(self, x, img):
        h = self.conv(img).flatten(1)[:, :4]
        return self.lin2(self.lin1(x).relu() + h)
net = Net()
net.load_state_dict({k: torch.tensor(v) for k, v in a['state'].items()})
out = {}
def snap(tag):
    sd = net.state_dict()
    out[tag] = {'keys': list(sd.keys()), 'values': {k: v.flatten().tolist() for k, v in sd.items()}}
prune.l1_unstructured(net.lin1, 'weight', 0.3)
prune.l1_unstructured(net.lin1, 'weight', 2)
prune.ln_structured(net.conv, 'weight', 0.34, 2, 0)
prune.ln_structured(net.conv, 'weight', 1, float('inf'), 1)
torch.manual_seed(3)
prune.random_unstructured(net.lin2, 'weight', 0.5)
prune.random_structured(net.lin2, 'weight', 1, 0)
prune.global_unstructured([(net.lin1, 'bias'), (net.lin2, 'bias'), (net.conv, 'bias')], prune.L1Unstructured, amount=0.4)
snap('pruned')
x, img = torch.tensor(a['x']), torch.tensor(a['img'])
y = net(x, img)
y.pow(2).sum().backward()
out['y'] = y.flatten().tolist()
out['grad'] = net.lin1.weight_orig.grad.flatten().tolist()
out['weight'] = net.lin1.weight.flatten().tolist()
out['isPruned'] = prune.is_pruned(net)
prune.remove(net.lin1, 'weight')
prune.remove(net.conv, 'weight')
snap('removed')
print(json.dumps(out))`;

test('pruning steps, state dict, forward and gradient as PyTorch\'s; remove() keeps the zeros', () => {
  torch.manualSeed(9);
  const net = new Net();
  const x = torch.randn([5, 6]), img = torch.randn([5, 2, 3, 3]);
  const state = Object.fromEntries([...net.stateDict()].map(([k, v]) => [k, v.tolist()]));
  const want = pythonJson(PY, JSON.stringify({ state, x: x.tolist(), img: img.tolist() }));

  prune.l1Unstructured(net.lin1, 'weight', 0.3);
  prune.l1Unstructured(net.lin1, 'weight', 2);
  prune.lnStructured(net.conv, 'weight', 0.34, 2, 0);
  prune.lnStructured(net.conv, 'weight', 1, Infinity, 1);
  torch.manualSeed(3);
  prune.randomUnstructured(net.lin2, 'weight', 0.5);
  prune.randomStructured(net.lin2, 'weight', 1, 0);
  prune.globalUnstructured([[net.lin1, 'bias'], [net.lin2, 'bias'], [net.conv, 'bias']], 'l1Unstructured', { amount: 0.4 });
  expect(prune.methods(net.lin1, 'weight')).toEqual(['L1Unstructured', 'L1Unstructured']);

  const snapshot = () => {
    const sd = net.stateDict();
    return { keys: [...sd.keys()], values: Object.fromEntries([...sd].map(([k, v]) => [k, v.flatten().tolist()])) };
  };
  expect(snapshot()).toEqual(want.pruned);
  torch.tidy(() => {
    const y = net.forward(x, img);
    y.pow(2).sum().backward();
    expect(y.flatten().tolist()).toEqual(want.y);
    const g = (net.lin1 as unknown as { weight_orig: T }).weight_orig.grad!;
    expect(g.flatten().tolist()).toEqual(want.grad);
    expect(net.lin1.weight.flatten().tolist()).toEqual(want.weight);
  });
  expect(prune.isPruned(net)).toBe(want.isPruned);
  prune.remove(net.lin1, 'weight');
  prune.remove(net.conv, 'weight');
  expect(snapshot()).toEqual(want.removed);
  expect(net.lin1.hasOwnParameter('weight')).toBe(true);
  expect(net.lin1.weight.requiresGrad).toBe(true);
  net.dispose();
  [x, img].forEach((t) => t.dispose());
});

test('the optimizer\'s parameter stays the same tensor; copies keep the pruning; refusals as PyTorch\'s', () => {
  const lin = new nn.Linear(4, 3);
  const w = lin.weight;
  const opt = new torch.optim.SGD(lin.parameters(), { lr: 0.1 });
  prune.l1Unstructured(lin, 'weight', 0.5);
  expect((lin as unknown as { weight_orig: T }).weight_orig).toBe(w);
  torch.tidy(() => lin.forward(torch.randn([2, 4])).sum().backward());
  opt.step();
  // pruned entries stay zero in the effective weight whatever the optimizer does to weight_orig
  expect(torch.tidy(() => lin.weight.eq(0).sum().item())).toBe(6);
  const copy = lin.deepCopy();
  expect(prune.isPruned(copy)).toBe(true);
  torch.tidy(() => expect(copy.weight.eq(0).sum().item()).toBe(6));
  prune.remove(copy, 'weight');
  expect([prune.isPruned(copy), prune.isPruned(lin)]).toEqual([false, true]);
  copy.dispose();
  expect(() => prune.l1Unstructured(lin, 'weight', 1.5)).toThrow(/amount=1.5 should either be a float in the range \[0, 1\) or a non-negative integer/);
  expect(() => prune.l1Unstructured(lin, 'weight', 13)).toThrow(/amount=13 should be smaller than the number of parameters to prune=6/);
  expect(() => prune.lnStructured(lin, 'bias', 1, 2, 0)).toThrow(/Structured pruning can only be applied to multidimensional tensors/);
  expect(() => prune.remove(lin, 'bias')).toThrow(/has to be pruned before pruning can be removed/);
  expect(() => prune.l1Unstructured(lin, 'nope', 0.5)).toThrow(/'nope'/);
  expect(prune.isPruned(new nn.Linear(2, 2))).toBe(false);
  lin.dispose();
});
