// Per-op overhead: tstorch vs raw C++ (at::add) vs Python eager, same libtorch, one thread,
// alternating rounds, medians. Loops: a 16-element add freed at once, a tensor times a number, the same add freed
// in batches of 100 (tstorch: by tidy; C++: a vector cleared; Python: a list dropped), and a
// tiny matmul/tanh/sum forward+backward (also with tanh as a custom autograd Function), and
// Python-style indexing. Each side measures each round in a fresh process of its own (as C++ and
// Python must), so no side inherits another loop's heap. Run: npm run bench:overhead
import * as fs from 'fs';
import * as path from 'path';
import * as torch from '../../lib';
import { PYTHON, median, printTable, repoRoot, runJson, usPerIter } from './common';

// tanh with a hand-written backward (torch.autograd.Function), as the Python and C++ sides write one.
class TanhFn extends torch.autograd.Function {
  static forward(ctx: torch.autograd.FunctionCtx, x: torch.Tensor) {
    const y = x.tanh();
    ctx.saveForBackward(y);
    return y;
  }
  static backward(ctx: torch.autograd.FunctionCtx, g: torch.Tensor) {
    const y = ctx.savedTensors[0]!;
    return g.mul(y.mul(y).rsub(1)); // (g * (1 - y * y): the same three ops as Python's and C++'s)
  }
}

function tsSide(n: number): { add_us: number; add_tidy_us: number; step_us: number; fn_step_us: number; index_us: number; mul_number_us: number } {
  torch.setNumThreads(1);
  torch.manualSeed(0);
  const a = torch.keep(torch.randn([16])), b = torch.keep(torch.randn([16]));
  // A single op whose result is disposed at once (what C++'s destructor and Python's refcount do).
  const add = usPerIter(n, () => a.add(b).dispose());
  // A tensor times a number.
  const mulNumber = usPerIter(n, () => a.mul(2.5).dispose());
  // The same op with results freed by tidy in batches of 100, as a training step's temporaries are.
  const batch = 100;
  const addTidy = usPerIter(n / batch, () => torch.tidy(() => { for (let i = 0; i < batch; i++) a.add(b); })) / batch;
  const x = torch.keep(torch.randn([4, 4]).requiresGrad_()), w = torch.keep(torch.randn([4, 4]));
  const step = usPerIter(n / 10, () =>
    torch.tidy(() => {
      x.matmul(w).tanh().sum().backward();
      x.grad;
    }),
  );
  const fnStep = usPerIter(n / 10, () =>
    torch.tidy(() => {
      TanhFn.apply(x.matmul(w)).sum().backward();
      x.grad;
    }),
  );
  // x[1:3, None, ::2] as a user writes it: the slices as strings, parsed on every call.
  const m = torch.keep(torch.randn([8, 16]));
  const index = usPerIter(n, () => m.index('1:3', null, '::2').dispose());
  for (const t of [a, b, x, w, m]) t.dispose();
  return { add_us: add, add_tidy_us: addTidy, step_us: step, fn_step_us: fnStep, index_us: index, mul_number_us: mulNumber };
}

export function overheadBench(rounds = 7, n = 200000) {
  const cpp = ['build/tstorch_bench_overhead', 'build/Release/tstorch_bench_overhead']
    .map((p) => path.join(repoRoot, p))
    .find((p) => fs.existsSync(p));
  type Loops = { add: number[]; mul_number: number[]; add_tidy: number[]; step: number[]; fn_step: number[]; index: number[] };
  const fresh = (): Loops => ({ add: [], mul_number: [], add_tidy: [], step: [], fn_step: [], index: [] });
  const res: Record<string, Loops> = { cpp: fresh(), python: fresh(), tstorch: fresh() };
  const env = { OMP_NUM_THREADS: '1' };
  for (let r = 0; r < rounds; r++) {
    if (cpp) {
      const c = runJson(cpp, [String(n)], env);
      res.cpp.add.push(c.add_us);
      res.cpp.add_tidy.push(c.add_batch_us);
      res.cpp.step.push(c.step_us);
      res.cpp.fn_step.push(c.fn_step_us);
      res.cpp.index.push(c.index_us);
      res.cpp.mul_number.push(c.mul_number_us);
    }
    const p = runJson(PYTHON, [path.join(repoRoot, 'scripts/bench/overhead.py'), String(n)], env);
    res.python.add.push(p.add_us);
    res.python.add_tidy.push(p.add_batch_us);
    res.python.step.push(p.step_us);
    res.python.fn_step.push(p.fn_step_us);
    res.python.index.push(p.index_us);
    res.python.mul_number.push(p.mul_number_us);
    const t = runJson(process.execPath, [__filename, '--side', String(n)], env);
    res.tstorch.add.push(t.add_us);
    res.tstorch.add_tidy.push(t.add_tidy_us);
    res.tstorch.step.push(t.step_us);
    res.tstorch.fn_step.push(t.fn_step_us);
    res.tstorch.index.push(t.index_us);
    res.tstorch.mul_number.push(t.mul_number_us);
  }
  const m = (k: string, f: keyof Loops) => median(res[k][f]);
  // Ratios are taken within each round (its three processes run back to back) and then their
  // median: the VM's speed drifts by 10% and more over a minute, and pairing cancels that drift.
  const ratio = (k: string, base: string, f: keyof Loops) => median(res[k][f].map((v, r) => v / res[base][f][r]));
  const names = { add: '16-elem add, disposed at once', mul_number: '16-elem tensor times a number (x * 2.5)', add_tidy: '16-elem add, freed in batches of 100 (tidy)', step: '4x4 matmul/tanh/sum fwd+bwd in tidy', fn_step: 'the same with tanh a custom autograd Function', index: 'x[1:3, None, ::2] (a view), disposed at once' };
  const rows = (['add', 'mul_number', 'add_tidy', 'step', 'fn_step', 'index'] as const).map((f) => [
    names[f],
    cpp ? m('cpp', f) : NaN,
    m('python', f),
    m('tstorch', f),
    cpp ? ratio('tstorch', 'cpp', f) : NaN,
    ratio('tstorch', 'python', f),
  ]);
  printTable(`Per-op overhead (us per iteration, medians of ${rounds} alternating rounds, 1 thread; ratios: median of the per-round ratios)`,
    ['loop', 'C++', 'Python', 'tstorch', 'tstorch/C++', 'tstorch/Python'], rows);
  return rows;
}

if (require.main === module) {
  if (process.argv[2] === '--side') console.log(JSON.stringify(tsSide(Number(process.argv[3]))));
  else overheadBench(Number(process.argv[2] ?? 7), Number(process.argv[3] ?? 200000));
}
