// Loading GPT-2 124M from a Hugging Face folder (model.safetensors), ours against the Python
// reference (load_ref.py: transformers 4.x's default from_pretrained, in plain PyTorch), each in
// a fresh process, alternating; time and peak memory growth. Part of `npm run bench` ('load').
//   node dist/scripts/bench/load.js DIR [--mmap]   (one load; prints one JSON line; --save DIR writes the folder)
// Also torch.save of the same model's state dict against Python's ('save'):
//   node dist/scripts/bench/load.js --torch-save FILE   (one save; one JSON line)
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as torch from '../../lib';
import { GPT2_124M, PYTHON, median, printTable, repoRoot, runJson } from './common';

async function loadOnce(dir: string, mmap: boolean): Promise<void> {
  torch.setNumThreads(1);
  const rss0 = process.resourceUsage().maxRSS;
  const t0 = process.hrtime.bigint();
  const model = await torch.GPT2LMHeadModel.fromPretrained(dir, { mmap });
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
    const py: Record<string, number>[] = [], ts: Record<string, number>[] = [], mapped: Record<string, number>[] = [];
    for (let r = 0; r < rounds; r++) {
      py.push(runJson(PYTHON, [path.join(repoRoot, 'scripts/bench/load_ref.py'), dir], { OMP_NUM_THREADS: '1' }));
      ts.push(runJson(process.execPath, [path.join(repoRoot, 'dist/scripts/bench/load.js'), dir], { OMP_NUM_THREADS: '1' }));
      mapped.push(runJson(process.execPath, [path.join(repoRoot, 'dist/scripts/bench/load.js'), dir, '--mmap'], { OMP_NUM_THREADS: '1' }));
    }
    if (py[0].params !== ts[0].params || py[0].params !== mapped[0].params) throw new Error(`load bench: the sides loaded ${py[0].params}, ${ts[0].params} and ${mapped[0].params} parameters`);
    const med = (xs: Record<string, number>[], k: string) => median(xs.map((x) => x[k]));
    const row = (name: string, xs: Record<string, number>[]) => [name, med(py, 'ms'), med(xs, 'ms'), med(xs, 'ms') / med(py, 'ms'), med(py, 'peak_delta_mib'), med(xs, 'peak_delta_mib'), med(xs, 'peak_delta_mib') / med(py, 'peak_delta_mib')];
    printTable(`Loading GPT-2 124M from a Hugging Face folder (model.safetensors, ${(fs.statSync(path.join(dir, 'model.safetensors')).size / 2 ** 20).toFixed(0)} MiB; medians of ${rounds} alternating fresh processes; memory = peak RSS growth during the load; mmap: the weights mapped, read from the page cache when first used)`,
      ['tstorch', 'Python ms', 'tstorch ms', 'time ratio', 'Python MiB', 'tstorch MiB', 'memory ratio'],
      [row('fromPretrained(dir)', ts), row('fromPretrained(dir, { mmap: true })', mapped)]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** RSS now, in KiB (what maxRSS is counted in). */
const rssKiB = () => process.memoryUsage().rss / 1024;

// One torch.save of GPT-2 124M's state dict (148 names, 147 storages: lm_head.weight is wte's);
// memory = peak RSS during the save over RSS just before it.
function saveOnce(file: string): void {
  torch.setNumThreads(1);
  torch.manualSeed(0);
  const model = new torch.GPT2LMHeadModel(GPT2_124M);
  const sd = model.stateDict();
  const rss0 = rssKiB();
  const t0 = process.hrtime.bigint();
  torch.save(sd, file, { format: 'torch' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const peak = process.resourceUsage().maxRSS;
  console.log(JSON.stringify({ ms, peak_delta_mib: (peak - rss0) / 1024, bytes: fs.statSync(file).size }));
  model.dispose();
}

export function saveBench(rounds: number): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-bench-save-'));
  try {
    const py: Record<string, number>[] = [], ts: Record<string, number>[] = [];
    // Each side starts with no file of that name and no dirty pages of the other's (sync): Python
    // truncating its last file in place, tstorch's atomic rename freeing it only after the write,
    // or one side's write-back running during the other's write, would each favour one side.
    const fresh = (file: string) => {
      fs.rmSync(file, { force: true });
      spawnSync('sync');
      return file;
    };
    for (let r = 0; r < rounds; r++) {
      py.push(runJson(PYTHON, [path.join(repoRoot, 'scripts/bench/load_ref.py'), '--torch-save', fresh(path.join(dir, 'py.pt'))], { OMP_NUM_THREADS: '1' }));
      ts.push(runJson(process.execPath, [path.join(repoRoot, 'dist/scripts/bench/load.js'), '--torch-save', fresh(path.join(dir, 'ts.pt'))], { OMP_NUM_THREADS: '1' }));
    }
    if (py[0].bytes !== ts[0].bytes) console.error(`  (the two files differ in size: Python ${py[0].bytes}, tstorch ${ts[0].bytes} bytes)`);
    const med = (xs: Record<string, number>[], k: string) => median(xs.map((x) => x[k]));
    printTable(`torch.save of GPT-2 124M's state dict (${(ts[0].bytes / 2 ** 20).toFixed(0)} MiB; medians of ${rounds} alternating fresh processes; tstorch's save ends with the file on disk (fsync), so Python's is timed with an fsync after it too; memory = peak RSS growth during the save)`,
      ['Python ms (no fsync)', 'Python ms', 'tstorch ms', 'time ratio', 'Python MiB', 'tstorch MiB', 'memory ratio'],
      [[med(py, 'ms'), med(py, 'ms_synced'), med(ts, 'ms'), med(ts, 'ms') / med(py, 'ms_synced'), med(py, 'peak_delta_mib'), med(ts, 'peak_delta_mib'), med(ts, 'peak_delta_mib') / Math.max(med(py, 'peak_delta_mib'), 1)]]);
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

if (require.main === module) {
  const [mode, arg] = process.argv.slice(2);
  if (mode === '--save') void save(arg);
  else if (mode === '--torch-save') saveOnce(arg);
  else void loadOnce(mode, arg === '--mmap');
}
