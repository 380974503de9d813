// torch.jit.load: TorchScript modules saved by Python (scripts/reference/jit_ref.py: a scripted
// module with a loop, a dict output, a BatchNorm and an extra exported method; a traced one) run
// from TypeScript: outputs equal PyTorch's, parameters and buffers are the module's own (names
// as its state_dict), gradients flow to them, and train() / eval() reach the scripted code.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as torch from '../lib';

let dir: string;
let want: Map<string, torch.Tensor>;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-jit-'));
  const r = spawnSync('/usr/bin/python3', [path.join(__dirname, '..', 'scripts', 'reference', 'jit_ref.py'), dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`jit_ref.py failed:\n${r.stderr}`);
  want = torch.io.safetensors.loadFile(path.join(dir, 'out.safetensors')).tensors;
  for (const t of want.values()) torch.keep(t);
}, 60_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const close = (a: torch.Tensor, b: torch.Tensor) => torch.tidy(() => a.sub(b).abs().max().item() as number) < 1e-6;

test('a scripted module: outputs (tuple with a dict), methods, parameters, buffers and gradients as in PyTorch', () => {
  const m = torch.jit.load(path.join(dir, 'scripted.pt'));
  expect(m.methods).toEqual(expect.arrayContaining(['forward', 'describe']));
  expect([...m.stateDict().keys()].sort()).toEqual(['fc.bias', 'fc.weight', 'norm.bias', 'norm.num_batches_tracked', 'norm.running_mean', 'norm.running_var', 'norm.weight', 'scale']);
  for (const [k, t] of m.namedBuffers()) expect([k, close(t.to({ dtype: 'float64' }), want.get(`buffer.${k}`)!.to({ dtype: 'float64' }))]).toEqual([k, true]);
  const x = want.get('x')!;
  m.eval();
  torch.tidy(() => {
    const [h, d] = m.forward(x, 3) as [torch.Tensor, Record<string, torch.Tensor>];
    expect(close(h, want.get('eval_h')!)).toBe(true);
    expect(close(d.sum, want.get('eval_sum')!)).toBe(true);
    expect(close(d.max, want.get('eval_max')!)).toBe(true);
    expect(m.runMethod('describe', x)).toEqual([5, 4]);
    // Gradients reach the scripted module's parameters, which are the very tensors we hold.
    const [, d1] = m.forward(x, 1) as [torch.Tensor, Record<string, torch.Tensor>];
    d1.sum.backward();
    for (const [k, p] of m.namedParameters()) expect([k, close(p.grad!, want.get(`grad.${k}`)!)]).toEqual([k, true]);
  });
  // An optimizer step changes what the scripted code computes.
  const before = torch.tidy(() => (m.forward(x, 1) as [torch.Tensor])[0].sum().item() as number);
  const opt = new torch.optim.SGD(m.parameters(), { lr: 0.1 });
  opt.step();
  const after = torch.tidy(() => (m.forward(x, 1) as [torch.Tensor])[0].sum().item() as number);
  expect(after).not.toBe(before);
  // train() reaches the scripted module: dropout is on (half the outputs zeroed, the rest doubled).
  m.train();
  const h = torch.tidy(() => torch.noGrad(() => (m.forward(x) as [torch.Tensor])[0].eq(0).sum().item() as number));
  expect(h).toBeGreaterThan(0);
  expect(() => m.to({ device: 'cpu' })).toThrow(/load it where it should run: torch.jit.load\(file, \{ device \}\)/);
  m.dispose();
  expect(() => m.forward(x)).toThrow(/disposed/);
});

test('a scripted module inside a TS model: the model\'s eval() and train() reach the scripted code (as PyTorch calls each child\'s train)', () => {
  class Wrapper extends torch.nn.Module {
    inner = torch.jit.load(path.join(dir, 'scripted.pt'));
    forward(x: torch.Tensor, n = 3) { return (this.inner.forward(x, n) as [torch.Tensor])[0]; }
  }
  const net = new Wrapper();
  const x = want.get('x')!;
  const zeros = () => torch.tidy(() => torch.noGrad(() => net.forward(x).eq(0).sum().item() as number));
  net.eval();
  expect(net.inner.training).toBe(false);
  torch.tidy(() => expect(close(net.forward(x), want.get('eval_h')!)).toBe(true)); // dropout off, BatchNorm on running stats
  net.train();
  expect(net.inner.training).toBe(true);
  expect(zeros()).toBeGreaterThan(0); // dropout on in the scripted code
  net.eval();
  expect(zeros()).toBe(0);
  expect(() => net.train('no' as unknown as boolean)).toThrow('train: the mode must be a boolean, got string');
  net.inner.dispose();
});

test('a traced module gives PyTorch\'s output; bad files and arguments are clear errors', () => {
  const m = torch.jit.load(path.join(dir, 'traced.pt'));
  torch.tidy(() => {
    expect(close(m.forward(want.get('x')!) as torch.Tensor, want.get('traced_out')!)).toBe(true);
    expect(() => m.forward(torch.randn([5, 7]))).toThrow(/mat1 and mat2 shapes cannot be multiplied|size/);
    expect(() => m.runMethod('nope')).toThrow(/has no method 'nope'/);
  });
  m.dispose();
  expect(() => torch.jit.load(path.join(dir, 'missing.pt'))).toThrow(/no file .*missing\.pt/);
  fs.writeFileSync(path.join(dir, 'junk.pt'), 'not a model');
  expect(() => torch.jit.load(path.join(dir, 'junk.pt'))).toThrow(/is not a TorchScript module libtorch can read/);
  if (!torch.cuda.isAvailable()) expect(() => torch.jit.load(path.join(dir, 'traced.pt'), { device: 'cuda' })).toThrow(/device 'cuda' is not available .* load it on 'cpu'/);
});

test('torch.jit.save: a module trained here, saved, is what Python\'s torch.jit.load reads (its weights and outputs)', () => {
  const m = torch.jit.load(path.join(dir, 'traced.pt'));
  const x = want.get('x')!;
  const opt = new torch.optim.SGD(m.parameters(), { lr: 0.2 });
  torch.tidy(() => (m.forward(x) as torch.Tensor).pow(2).sum().backward());
  opt.step();
  const file = path.join(dir, 'trained.pt');
  torch.jit.save(m, file);
  const ours = torch.tidy(() => (m.forward(x) as torch.Tensor).tolist());
  const r = spawnSync('/usr/bin/python3', ['-W', 'ignore', '-c', `
import json, sys, torch
m = torch.jit.load(sys.argv[1])
x = torch.tensor(json.loads(sys.argv[2]))
print(json.dumps({"out": m(x).tolist(), "keys": sorted(m.state_dict().keys())}))`, file, JSON.stringify(x.tolist())], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  const py = JSON.parse(r.stdout);
  torch.testing.assertClose(py.out, ours as never, { rtol: 1e-6, atol: 1e-6 });
  expect(py.keys).toEqual([...m.stateDict().keys()].sort());
  expect(fs.readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  expect(() => torch.jit.save(new torch.nn.Linear(2, 2) as never, file)).toThrow(/only a ScriptModule/);
  expect(() => m.save(path.join(dir, 'no', 'such', 'dir', 'm.pt'))).toThrow(/torch.jit.save: could not write/);
  m.dispose();
  opt.dispose();
});
