// Loading GPT-2 124M from a Hugging Face folder (model.safetensors), ours against the Python
// reference (load_ref.py: transformers 4.x's default from_pretrained, in plain PyTorch), each in
// a fresh process, alternating; time and peak memory growth. Part of `npm run bench` ('load').
//   node dist/scripts/bench/load.js DIR   (one load; prints one JSON line; --save DIR writes the folder)
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as torch from '../../lib';
import { GPT2_124M, PYTHON, median, printTable, repoRoot, runJson } from './common';

async function loadOnce(dir: string): Promise<void> {
  torch.setNumThreads(1);
  const rss0 = process.resourceUsage().maxRSS;
  const t0 = process.hrtime.bigint();
  const model = await torch.GPT2LMHeadModel.fromPretrained(dir);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const peak = process.resourceUsage().maxRSS;
  console.log(JSON.stringify({ ms, peak_delta_mib: (peak - rss0) / 1024, params: model.numParameters() }));
  model.dispose();
}

export async function loadBench(rounds: number): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-bench-load-'));
  try {
    // (saved by a child: a process's peak RSS starts from its parent's at fork, so the parent stays small)
    runJson(process.execPath, [__filename, '--save', dir]);
    const py: Record<string, number>[] = [], ts: Record<string, number>[] = [];
    for (let r = 0; r < rounds; r++) {
      py.push(runJson(PYTHON, [path.join(repoRoot, 'scripts/bench/load_ref.py'), dir], { OMP_NUM_THREADS: '1' }));
      ts.push(runJson(process.execPath, [path.join(repoRoot, 'dist/scripts/bench/load.js'), dir], { OMP_NUM_THREADS: '1' }));
    }
    if (py[0].params !== ts[0].params) throw new Error(`load bench: the two sides loaded ${py[0].params} and ${ts[0].params} parameters`);
    const med = (xs: Record<string, number>[], k: string) => median(xs.map((x) => x[k]));
    printTable(`Loading GPT-2 124M from a Hugging Face folder (model.safetensors, ${(fs.statSync(path.join(dir, 'model.safetensors')).size / 2 ** 20).toFixed(0)} MiB; medians of ${rounds} alternating fresh processes; memory = peak RSS growth during the load)`,
      ['Python ms', 'tstorch ms', 'time ratio', 'Python MiB', 'tstorch MiB', 'memory ratio'],
      [[med(py, 'ms'), med(ts, 'ms'), med(ts, 'ms') / med(py, 'ms'), med(py, 'peak_delta_mib'), med(ts, 'peak_delta_mib'), med(ts, 'peak_delta_mib') / med(py, 'peak_delta_mib')]]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function save(dir: string): Promise<void> {
  torch.manualSeed(0);
  const m = new torch.GPT2LMHeadModel(GPT2_124M);
  await m.savePretrained(dir);
  m.dispose();
  console.log('{}');
}

if (require.main === module) void (process.argv[2] === '--save' ? save(process.argv[3]) : loadOnce(process.argv[2]));
