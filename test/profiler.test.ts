// torch.profiler against PyTorch's: the event tree, self times, key averages and the printed table
// against PyTorch's EventList on the same recorded events (exact, text included); a real run's
// ops (names, input shapes, counts) against PyTorch's profile of the same program; allocations,
// recordFunction ranges, Chrome traces and the refusals.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as torch from '../lib';
import { pythonJson } from './helpers';
import type { RawEvent } from '../lib/tensor/profiler';

const P = torch.profiler;
const F = torch.nn.functional;

// [name, thread, start, end, shapes, flops]
type Ev = [string, number, number, number, number[][], number];
const synthetic: Ev[] = [
  ['step', 1, 0, 1000, [], 0],
  ['aten::linear', 1, 10, 400, [[4, 8], [16, 8], [16]], 0],
  ['aten::t', 1, 20, 50, [[16, 8]], 0],
  ['aten::addmm', 1, 60, 390, [[16], [4, 8], [8, 16], [], []], 1024],
  ['aten::mean', 1, 410, 700, [[4, 16], []], 0],
  ['aten::mean', 1, 411, 690, [[4, 16], [], [], []], 0], // mean -> mean.dim: one call for PyTorch
  ['aten::sum', 1, 420, 600, [[4, 16], [], [], [], []], 0],
  ['aten::mul', 1, 710, 800, [[4, 16], []], 0],
  ['aten::add', 1, 950, 1003, [[4, 16], []], 0], // ends after step: not its child
  ['aten::mul', 2, 100, 300, [[3], []], 0],
  ['aten::empty', 2, 110, 130, [[]], 0],
  ['aten::mul', 2, 300, 352, [[3], []], 0],
  ['aten::addmm', 2, 400, 3400, [[16], [4, 8], [8, 16], [], []], 2048],
];
const raw: RawEvent[] = synthetic.map(([name, threadId, s, e, shapes, flops]) => ({
  name, threadId, startUs: s + 5_000_000, durationUs: e - s, shapes, dtypes: [], flops, nBytes: 0, deviceType: 0, deviceIndex: 0, sequenceNr: -1,
}));

test('tree, self times, key averages and table as PyTorch\'s EventList on the same events (exact text)', () => {
  const want = pythonJson<{ parents: (string | null)[]; avgs: [string, number, number, number, number][]; shapes: [string, string, number][]; table: string; tableShapes: string }>(`
import json, sys
from torch.autograd.profiler_util import EventList, FunctionEvent
evs = json.loads(sys.argv[1])
fe = [FunctionEvent(id=k, name=n, thread=t, start_us=s, end_us=e, input_shapes=sh, flops=fl, stack=[]) for k, (n, t, s, e, sh, fl) in enumerate(evs)]
fe.sort(key=lambda ev: [ev.time_range.start, -ev.time_range.end])
el = EventList(fe, with_flops=True)
el._build_tree()
ka = el.key_averages()
out = {
  'parents': [e.cpu_parent.name if e.cpu_parent else None for e in el],
  'avgs': [[a.key, a.count, a.cpu_time_total, a.self_cpu_time_total, a.flops] for a in ka],
  'shapes': [[a.key, str(a.input_shapes), a.count] for a in el.key_averages(group_by_input_shapes=True)],
  'table': ka.table(sort_by='self_cpu_time_total', row_limit=6),
  'tableShapes': el.key_averages(group_by_input_shapes=True).table(sort_by='cpu_time_total', header='by shape'),
}
print(json.dumps(out))`, JSON.stringify(synthetic));
  const prof = P.Profile._fromEvents(raw, { recordShapes: true, withFlops: true });
  expect(prof.events().map((e) => e.parent?.name ?? null)).toEqual(want.parents);
  expect(prof.keyAverages().map((a) => [a.key, a.count, a.cpuTimeTotal, a.selfCpuTimeTotal, a.flops])).toEqual(want.avgs);
  const byShape = prof.keyAverages({ groupByInputShape: true });
  expect(byShape.map((a) => [a.key, `[${a.inputShapes!.map((d) => `[${d.join(', ')}]`).join(', ')}]`, a.count])).toEqual(want.shapes);
  expect(prof.keyAverages().table({ sortBy: 'self_cpu_time_total', rowLimit: 6 })).toBe(want.table);
  expect(byShape.table({ sortBy: 'cpuTimeTotal', header: 'by shape' })).toBe(want.tableShapes);
});

test('a real run records the ops PyTorch\'s profiler records for the same program (names, shapes, counts)', () => {
  // ops that never call themselves: their count does not hang on the tree's timing
  const stable = ['aten::linear', 'aten::t', 'aten::addmm', 'aten::tanh', 'aten::softmax', 'aten::_softmax', 'aten::exp', 'aten::matmul', 'aten::mm', 'aten::relu', 'aten::clamp_min', 'aten::cat', 'aten::layer_norm', 'aten::native_layer_norm'];
  const want = pythonJson<[string, string, number][]>(`
import json, torch, torch.nn.functional as F
from torch.profiler import profile
x, w, b = torch.randn(4, 8), torch.randn(16, 8), torch.randn(16)
with profile(record_shapes=True) as p:
    for _ in range(2):
        y = F.linear(x, w, b).tanh().softmax(-1).exp()
    z = torch.cat([x.matmul(w.t()).relu(), y], 1)
    F.layer_norm(z, [32])
stable = ${JSON.stringify(stable)}
print(json.dumps(sorted([[a.key, str(a.input_shapes), a.count] for a in p.key_averages(group_by_input_shape=True) if a.key in stable])))`);
  const x = torch.randn([4, 8]), w = torch.randn([16, 8]), b = torch.randn([16]);
  const prof = P.profile(
    () =>
      torch.tidy(() => {
        let y = x;
        for (let k = 0; k < 2; k++) y = F.linear(x, w, b).tanh().softmax(-1).exp();
        const z = torch.cat([x.matmul(w.t()).relu(), y], 1);
        F.layerNorm(z, [32]);
      }),
    { recordShapes: true },
  );
  const got = prof
    .keyAverages({ groupByInputShape: true })
    .filter((a) => stable.includes(a.key))
    .map((a) => [a.key, `[${a.inputShapes!.map((d) => `[${d.join(', ')}]`).join(', ')}]`, a.count])
    .sort((p, q) => (String(p) < String(q) ? -1 : 1));
  expect(got).toEqual(want);
  [x, w, b].forEach((t) => t.dispose());
});

test('allocations count for the op that made them; recordFunction ranges own their ops; async runs', async () => {
  const x = torch.randn([64, 64]);
  const prof = P.profile(() => P.recordFunction('block', () => torch.tidy(() => [0, 1, 2].forEach(() => x.tanh()))), { profileMemory: true });
  const tanh = prof.keyAverages().find((a) => a.key === 'aten::tanh')!;
  expect([tanh.count, tanh.cpuMemoryUsage]).toEqual([3, 3 * 64 * 64 * 4]);
  const block = prof.events().find((e) => e.name === 'block')!;
  expect(block.children.map((c) => c.name)).toEqual(['aten::tanh', 'aten::tanh', 'aten::tanh']);
  expect(block.selfCpuTimeTotal).toBe(block.cpuTimeTotal - block.children.reduce((s, c) => s + c.cpuTimeTotal, 0));
  expect(prof.keyAverages().table({ sortBy: 'cpu_memory_usage' })).toMatch(/CPU Mem\s+Self CPU Mem\s+# of Calls/);
  // async: the profiler stays on until the promise settles
  const later = await P.profile(async () => {
    await new Promise((r) => setTimeout(r, 1));
    torch.tidy(() => x.exp());
  });
  expect(later.events().map((e) => e.name)).toContain('aten::exp');
  expect(P.isEnabled()).toBe(false);
  // a Chrome trace, written whole
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'prof-')), 'trace.json');
  prof.exportChromeTrace(file);
  const trace = JSON.parse(fs.readFileSync(file, 'utf8'));
  expect(trace.traceEvents.filter((e: { name: string; ph: string }) => e.name === 'aten::tanh' && e.ph === 'X')).toHaveLength(3);
  fs.rmSync(path.dirname(file), { recursive: true });
  x.dispose();
});

test('refusals: unknown activity, stop before start, events of a running or empty run, two at once', () => {
  expect(() => new P.Profile({ activities: ['tpu' as 'cpu'] })).toThrow(/unknown activity 'tpu'/);
  expect(() => new P.Profile().stop()).toThrow(/stop\(\) without start\(\)/);
  expect(() => new P.Profile().events()).toThrow(/nothing recorded yet/);
  const p = new P.Profile().start();
  try {
    expect(() => p.events()).toThrow(/still going/);
    expect(() => new P.Profile().start()).toThrow(/already enabled/i);
  } finally {
    p.stop();
  }
  expect(() => p.keyAverages({ groupByInputShape: true })).toThrow(/needs the run made with recordShapes/);
  expect(() => P.Profile._fromEvents(raw).keyAverages().table({ sortBy: 'speed' })).toThrow(/unknown sortBy 'speed'/);
  expect(() => P.profile(() => { throw new Error('boom'); })).toThrow('boom');
  expect(P.isEnabled()).toBe(false);
});

test('schedule and step(): PyTorch\'s wait / warmup / active cycles, a trace per active span, ProfilerStep ranges, TensorBoard files', () => {
  const want = pythonJson<string[]>(`
import json
from torch.profiler import schedule
s = schedule(wait=1, warmup=1, active=2, repeat=2, skip_first=1)
print(json.dumps([s(k).name for k in range(12)]))`);
  const sched = P.schedule({ wait: 1, warmup: 1, active: 2, repeat: 2, skipFirst: 1 });
  expect(Array.from({ length: 12 }, (_, k) => sched(k))).toEqual(want);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'prof-tb-'));
  const traces: { steps: number; mm: number }[] = [];
  const handler = P.tensorboardTraceHandler(dir, 'worker0');
  const x = torch.randn([8, 8]);
  const prof = new P.Profile({
    schedule: sched,
    onTraceReady: (p) => {
      const avg = p.keyAverages();
      traces.push({ steps: avg.find((a) => a.key === 'ProfilerStep*')?.count ?? 0, mm: avg.find((a) => a.key === 'aten::mm')?.count ?? 0 });
      handler(p);
    },
  }).start();
  for (let step = 0; step < 12; step++) {
    torch.tidy(() => x.matmul(x).relu());
    prof.step();
  }
  prof.stop();
  // two spans of two active steps each: one matmul per step
  expect(traces).toEqual([{ steps: 2, mm: 2 }, { steps: 2, mm: 2 }]);
  const files = fs.readdirSync(dir);
  expect(files.filter((f) => /^worker0\.\d+\.pt\.trace\.json$/.test(f))).toHaveLength(files.length);
  expect(files.length).toBeGreaterThanOrEqual(1); // (two traces may land in the same millisecond)
  const trace = JSON.parse(fs.readFileSync(path.join(dir, files[0]), 'utf8'));
  expect(trace.traceEvents.some((e: { name: string }) => /^ProfilerStep#\d+$/.test(e.name))).toBe(true);
  fs.rmSync(dir, { recursive: true });
  x.dispose();
  expect(P.isEnabled()).toBe(false);
});

test('a long run (150,000 events) builds its tree, averages and table', () => {
  const many: RawEvent[] = Array.from({ length: 150_000 }, (_, k) => ({
    name: k % 2 ? 'aten::add' : 'aten::mul', threadId: 1, startUs: 1_000_000 + k * 3, durationUs: 2, shapes: [], dtypes: [], flops: 0, nBytes: 0, deviceType: 0, deviceIndex: 0, sequenceNr: -1,
  }));
  const prof = P.Profile._fromEvents(many);
  expect(prof.events()).toHaveLength(150_000);
  expect(prof.keyAverages().map((a) => [a.key, a.count])).toEqual([['aten::mul', 75_000], ['aten::add', 75_000]]);
  expect(prof.table({ rowLimit: 2 })).toMatch(/Self CPU time total: 300.000ms/);
});
