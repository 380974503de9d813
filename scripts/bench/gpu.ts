// GPT-2 124M LoRA training on the GPU, tstorch against PyTorch eager (transformers + peft where
// installed: scripts/bench/gpu_ref.py), side by side: fp32 and bf16 autocast, batch 8x128 and
// 16x1024, each case in fresh processes, alternating, medians of timed steps after 3 warm-up
// steps, every step synchronized. Prints tokens/s, the speed ratio and peak CUDA memory
// (allocated, since the warm-up) last. Same LoRA on both sides: r 8, alpha 16, dropout 0.05 on
// c_attn, c_proj, c_fc; AdamW lr 1e-4 on the adapters; gradients clipped to norm 1 without a sync.
//   node dist/scripts/bench/gpu.js [--rounds N] [--steps N] [--tf32] [--time-budget SECONDS]
// (--time-budget: a case that would not finish in time, judged by the longest case so far, is
// skipped and reported as such, so that a rationed GPU session still gets the table.)
//   node dist/scripts/bench/gpu.js --dry-run     (CPU, tiny model: checks the plumbing anywhere)
import * as path from 'path';
import * as torch from '../../lib';
import { GPT2_124M, PYTHON, TINY, median, printTable, repoRoot, runJson, trainStep } from './common';

type Side = { ms: number; tokens_per_s: number; peak_mib: number };

function tsSide(device: string, precision: string, B: number, T: number, steps: number, size: string, tf32: boolean): Side {
  const cuda = device.startsWith('cuda');
  if (cuda) torch.cuda.setAllowTF32(tf32);
  else torch.setNumThreads(1); // the CPU dry run: one thread on both sides, as npm run bench
  torch.manualSeed(0);
  const model = new torch.GPT2LMHeadModel(size === '124m' ? GPT2_124M : TINY, { device: device as torch.Device });
  torch.lora.applyLoRA(model, { r: 8, alpha: 16, dropout: 0.05, targetModules: ['c_attn', 'c_proj', 'c_fc'] });
  const params = model.parameters({ trainableOnly: true });
  const opt = new torch.optim.AdamW(params, { lr: 1e-4 });
  const ids = torch.keep(torch.randint(0, model.config.vocab_size, [B, T], { device: device as torch.Device }));
  const sync = () => { if (cuda) torch.cuda.synchronize(); };
  const step = () => trainStep(model, ids, params, opt, { bf16: precision === 'bf16', deviceType: cuda ? 'cuda' : 'cpu' });
  for (let i = 0; i < 3; i++) step();
  sync();
  if (cuda) torch.cuda.resetPeakMemoryStats();
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = process.hrtime.bigint();
    step();
    sync();
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  const med = median(times);
  const peak = cuda ? torch.cuda.memoryStats()!.peakAllocated / 2 ** 20 : process.resourceUsage().maxRSS / 1024;
  return { ms: med * 1e3, tokens_per_s: (B * T) / med, peak_mib: peak };
}

function main(args: string[]): void {
  const opt = (name: string, d: number) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : d);
  const dry = args.includes('--dry-run');
  const tf32 = args.includes('--tf32');
  const device = dry ? 'cpu' : 'cuda';
  const size = dry ? 'tiny' : '124m';
  const rounds = opt('--rounds', 1);
  const steps = opt('--steps', dry ? 2 : 10);
  if (!dry && !torch.cuda.isAvailable()) throw new Error('bench gpu: no CUDA device (use --dry-run to check the plumbing on a CPU)');
  const cases: [string, number, number][] = dry
    ? [['fp32', 2, 16], ['bf16', 2, 16], ['fp32', 2, 64]]
    : [['fp32', 8, 128], ['bf16', 8, 128], ['fp32', 16, 1024], ['bf16', 16, 1024]];
  const budgetS = opt('--time-budget', Infinity);
  const started = Date.now();
  let longestCaseS = 0;
  const rows: (string | number)[][] = [];
  let reference = '';
  for (const [precision, B, T] of cases) {
    const py: Side[] = [], ts: Side[] = [];
    const caseArgs = [device, precision, String(B), String(T), String(steps), size];
    const env = dry ? { OMP_NUM_THREADS: '1' } : {};
    const label = `GPT-2 ${size} LoRA step, ${precision}${tf32 && precision === 'fp32' ? ' (TF32)' : ''}, ${B}x${T}`;
    const caseStart = Date.now();
    if ((caseStart - started) / 1e3 + 1.2 * longestCaseS > budgetS) {
      console.error(`  ${label}: skipped, no time left in --time-budget ${budgetS} s`);
      rows.push([label, 'skipped (time)', '', '', '', '', '']);
      continue;
    }
    try {
      for (let r = 0; r < rounds; r++) {
        const p = runJson(PYTHON, [path.join(repoRoot, 'scripts/bench/gpu_ref.py'), ...caseArgs], env) as unknown as Side & { reference: string; tf32: boolean };
        reference = p.reference;
        if (!dry && p.tf32 !== tf32) throw new Error(`Python ran with TF32 ${p.tf32}, tstorch with ${tf32}`);
        py.push(p);
        ts.push(runJson(process.execPath, [__filename, '--side', ...caseArgs, tf32 ? '1' : '0'], env) as unknown as Side);
      }
    } catch (e) {
      // One failed case (say, out of memory) must not cost the others on a rationed GPU.
      console.error(`  ${label}: FAILED: ${(e as Error).message.slice(0, 2000)}`);
      rows.push([label, 'failed', '', '', '', '', '']);
      continue;
    } finally {
      longestCaseS = Math.max(longestCaseS, (Date.now() - caseStart) / 1e3);
    }
    const m = (xs: Side[], k: keyof Side) => median(xs.map((x) => x[k]));
    rows.push([label, m(py, 'tokens_per_s'), m(ts, 'tokens_per_s'), m(ts, 'tokens_per_s') / m(py, 'tokens_per_s'),
      m(py, 'peak_mib'), m(ts, 'peak_mib'), m(ts, 'peak_mib') / m(py, 'peak_mib')]);
    console.error(`  ${label}: python ${m(py, 'ms').toFixed(1)} ms, tstorch ${m(ts, 'ms').toFixed(1)} ms`);
  }
  printTable(`${dry ? 'DRY RUN on the CPU (plumbing only, not a GPU figure). ' : ''}LoRA training on ${device}, tstorch vs ${reference}; ` +
    `medians of ${steps} steps x ${rounds} round(s); speed = tokens/s ratio (> 1: tstorch faster); peak ${dry ? 'RSS' : 'CUDA memory allocated'}`,
    ['case', 'Python tok/s', 'tstorch tok/s', 'speed', `Python peak MiB`, `tstorch peak MiB`, 'memory ratio'], rows);
}

if (require.main === module) {
  const a = process.argv.slice(2);
  if (a[0] === '--side') {
    const [device, precision, B, T, steps, size, tf32] = a.slice(1);
    console.log(JSON.stringify(tsSide(device, precision, Number(B), Number(T), Number(steps), size, tf32 === '1')));
  } else {
    main(a);
  }
}
