// Two data-parallel LoRA workers on one machine (Gloo, `tstorch run --nproc-per-node 2`), each
// loading GPT-2 124M from the same folder: read into each process's memory, or mapped
// (fromPretrained's mmap), where the frozen base is one copy in the page cache for both.
// Memory = the two workers' PSS summed (shared pages counted once between them), taken after two
// DDP train steps (batch 2x128 each, r=8), while both are alive. tstorch against itself: Python
// 1.13 has no mmap loading (PyTorch 2.1's torch.load(mmap=True) is the like of it). Part 'share'.
//   node dist/scripts/bench/share.js --worker DIR [--mmap]   (one worker, under tstorch run)
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as torch from '../../lib';
import { median, printTable, repoRoot, runJson } from './common';

/** This process's proportional set size in MiB: its private pages, and its share of those it shares. */
const pssMiB = () => Number(/^Pss:\s+(\d+)/m.exec(fs.readFileSync('/proc/self/smaps_rollup', 'utf8'))![1]) / 1024;

async function worker(dir: string, mmap: boolean): Promise<void> {
  torch.distributed.initProcessGroup({ backend: 'gloo', timeoutMs: 600000 });
  torch.setNumThreads(1);
  const t0 = process.hrtime.bigint();
  const model = await torch.GPT2LMHeadModel.fromPretrained(dir, { mmap });
  const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
  torch.lora.applyLoRA(model, { r: 8, alpha: 16, dropout: 0, targetModules: ['c_attn', 'c_proj', 'c_fc'] });
  model.train();
  const ddp = new torch.nn.parallel.DistributedDataParallel(model);
  const opt = new torch.optim.AdamW(model.parameters({ trainableOnly: true }), { lr: 1e-4 });
  torch.manualSeed(torch.distributed.getRank());
  const ids = torch.keep(torch.randint(0, 50257, [2, 128]));
  const times: number[] = [];
  for (let step = 0; step < 2; step++) {
    const s0 = process.hrtime.bigint();
    torch.tidy(() => {
      const out = ddp.forward(ids, { labels: ids }) as { loss: torch.Tensor };
      out.loss.backward();
      opt.step();
      opt.zeroGrad();
    });
    times.push(Number(process.hrtime.bigint() - s0) / 1e6);
  }
  torch.distributed.barrier(); // (both alive, both done: their PSS split what they share)
  const all = torch.distributed.allGatherObject(pssMiB()) as number[];
  if (torch.distributed.getRank() === 0) console.log(JSON.stringify({ pss_mib: all[0] + all[1], load_ms: loadMs, step_ms: times[1] }));
  torch.distributed.barrier();
  torch.distributed.destroyProcessGroup();
}

export function shareBench(rounds: number): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-bench-share-'));
  try {
    runJson(process.execPath, [path.join(repoRoot, 'dist/scripts/bench/load.js'), '--save', dir]);
    const run = (mmap: boolean, port: number) => {
      const args = [path.join(repoRoot, 'dist/lib/cli/main.js'), 'run', '--nproc-per-node', '2', '--master-port', String(port), __filename, '--worker', dir, ...(mmap ? ['--mmap'] : [])];
      const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
      if (r.status !== 0) throw new Error(`share bench: ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
      return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number>;
    };
    const read: Record<string, number>[] = [], mapped: Record<string, number>[] = [];
    for (let r = 0; r < rounds; r++) {
      read.push(run(false, 29751 + 2 * r));
      mapped.push(run(true, 29752 + 2 * r));
    }
    const med = (xs: Record<string, number>[], k: string) => median(xs.map((x) => x[k]));
    printTable(`Two data-parallel LoRA workers of GPT-2 124M on one machine (tstorch run --nproc-per-node 2, Gloo; batch 2x128 each; medians of ${rounds} alternating runs; memory = the workers' PSS summed after two steps)`,
      ['weights', 'load ms', 'step ms', 'memory MiB', 'memory ratio'],
      [['read (default)', med(read, 'load_ms'), med(read, 'step_ms'), med(read, 'pss_mib'), 1],
        ['mapped (mmap: true)', med(mapped, 'load_ms'), med(mapped, 'step_ms'), med(mapped, 'pss_mib'), med(mapped, 'pss_mib') / med(read, 'pss_mib')]]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const [mode, dir, flag] = process.argv.slice(2);
  if (mode === '--worker') void worker(dir, flag === '--mmap');
}
