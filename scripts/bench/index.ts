// npm run bench: our code and the Python reference side by side, same libtorch, same threads,
// same shapes, alternating processes, medians; prints ratios (tstorch / Python: < 1 is faster
// or smaller). Usage: node dist/scripts/bench/index.js [--quick] [--threads N] [--rounds N]
import * as path from 'path';
import { PYTHON, median, printTable, repoRoot, runJson } from './common';
import { overheadBench } from './overhead';
import { layersBench } from './layers';
import { loadBench, saveBench } from './load';
import { shareBench } from './share';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const opt = (name: string, d: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : d;
};
const threads = opt('--threads', 1);
// --keep-freed-memory: both runtimes with glibc set to keep freed memory (no mmap, no trim),
// which removes most page faults from large per-step buffers (what torch.keepFreedCpuMemory() does).
const mallocEnv: Record<string, string> = args.includes('--keep-freed-memory')
  ? { MALLOC_MMAP_MAX_: '0', MALLOC_TRIM_THRESHOLD_: '2147483647' }
  : {};
const rounds = opt('--rounds', quick ? 1 : 3);

// [case, title, timed iterations, untimed warm-up steps (default 1)]. The tiny step is timed in its
// steady state: V8 optimises the step's JS over its first few hundred calls (200 steps from a
// cold start read about 25% slower), so both sides first run 300 untimed steps.
const CASES: [string, string, number, number?][] = [
  ['tiny_step', 'tiny GPT-2 train step (2x32, dispatch-bound)', quick ? 50 : 200, quick ? 100 : 300],
  ['fwdbwd_124m', 'GPT-2 124M forward+backward (2x128)', quick ? 1 : 3],
  ['lora_step_124m', 'GPT-2 124M LoRA train step (8x128, r=8)', quick ? 1 : 2],
  ['full_step_124m', 'GPT-2 124M full fine-tune step (8x128)', quick ? 1 : 2],
  ['generate_124m', 'GPT-2 124M greedy generation, 16-token prompt + 32 new tokens, KV cache', quick ? 1 : 3],
  ['contrastive_124m', 'GPT-2 124M contrastive search (penaltyAlpha 0.6, topK 4), 16-token prompt + 32 new tokens', quick ? 1 : 2],
  ['serve_batch_124m', 'GPT-2 124M, 8 requests (16-44-token prompts, 32 new tokens each): tstorch\'s GenerationBatcher (shared steps) vs PyTorch one request at a time', quick ? 1 : 2],
  ['serve_arrivals_124m', 'GPT-2 124M, 8 requests arriving a few steps apart (500-220-token prompts, 80-24 new tokens): tstorch\'s GenerationBatcher (generations join and leave its shared steps) vs PyTorch one request at a time', quick ? 1 : 2],
  ['prompt_1000_124m', 'GPT-2 124M, one 1000-token prompt\'s pass (no grad, last position\'s logits)', quick ? 1 : 3],
  ['generate_8x500_124m', 'GPT-2 124M greedy generation, 8 prompts of 500 tokens + 32 new tokens each, in one batch, KV cache', quick ? 1 : 2],
  ['beam_4x500_124m', 'GPT-2 124M beam search, 4 beams, one 500-token prompt + 32 new tokens, KV cache', quick ? 1 : 2],
  ['lora_step_124m_bf16', 'GPT-2 124M LoRA train step, bf16 autocast (8x128, r=8)', quick ? 1 : 4],
  ['sft_step_124m', 'GPT-2 124M LoRA step on padded examples (8 of 16-128 tokens, prompts masked)', quick ? 1 : 2],
  ['dpo_step_124m', 'GPT-2 124M LoRA DPO step (4 pairs of 128 tokens: reference forward + policy forward/backward)', quick ? 1 : 2],
  ['seqcls_step_124m', 'GPT-2 124M LoRA text-classification step (8 texts of 16-128 tokens, 2 labels, head trained)', quick ? 1 : 2],
  ['kto_step_124m', 'GPT-2 124M LoRA KTO step (8 examples of 128 tokens and their 8 KL rows: reference and policy passes)', quick ? 1 : 2],
];

async function main(): Promise<void> {
  // Named parts run alone: 'overhead', 'layers' (scripts/bench/layers.ts), 'load' and 'save' (scripts/bench/load.ts), 'share' (scripts/bench/share.ts) or model cases; none named, all.
  const named = args.filter((a) => ['overhead', 'layers', 'load', 'save', 'share'].includes(a) || CASES.some(([c]) => c === a));
  const wants = (part: string) => !named.length || named.includes(part);
  if (wants('overhead')) overheadBench(rounds, quick ? 50000 : 200000);
  if (wants('layers')) layersBench(rounds, [], mallocEnv);
  if (wants('load')) await loadBench(rounds);
  if (wants('save')) saveBench(rounds);
  if (wants('share')) shareBench(rounds);
  const rows: (string | number)[][] = [];
  for (const [kase, title, iters, warmup = 1] of CASES) {
    if (!wants(kase)) continue;
    const py: Record<string, number>[] = [], ts: Record<string, number>[] = [];
    for (let r = 0; r < rounds; r++) {
      py.push(runJson(PYTHON, [path.join(repoRoot, 'scripts/bench/bench_ref.py'), kase, String(iters), String(threads), String(warmup)], { OMP_NUM_THREADS: String(threads), ...mallocEnv }));
      ts.push(runJson(process.execPath, [path.join(repoRoot, 'dist/scripts/bench/model.js'), kase, String(iters), String(threads), String(warmup)], { OMP_NUM_THREADS: String(threads), ...mallocEnv }));
    }
    const m = (xs: Record<string, number>[], k: string) => median(xs.map((x) => x[k]));
    // A ratio to a growth of under 1 MiB (generation allocates next to nothing) means nothing.
    const pyMib = m(py, 'peak_delta_mib'), tsMib = m(ts, 'peak_delta_mib');
    rows.push([title, m(py, 'ms'), m(ts, 'ms'), m(ts, 'ms') / m(py, 'ms'), pyMib, tsMib, pyMib >= 1 ? tsMib / pyMib : '—']);
    console.error(`  ${kase}: python ${m(py, 'ms').toFixed(1)} ms, tstorch ${m(ts, 'ms').toFixed(1)} ms`);
  }
  if (rows.length) {
    printTable(`Model benchmarks (${threads} thread${threads > 1 ? 's' : ''}${mallocEnv.MALLOC_MMAP_MAX_ ? ', freed memory kept' : ''}, medians over ${rounds} alternating round(s); memory = peak RSS growth after model creation)`,
      ['case', 'Python ms', 'tstorch ms', 'time ratio', 'Python MiB', 'tstorch MiB', 'memory ratio'], rows);
  }
}

void main();
