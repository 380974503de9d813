// The notebook's comparison: the same base model fine-tuned on the same data with LoRA and
// fully, each in its own process (so peak memory is each run's own), then one table and one
// plot with both loss curves. A finished run is not redone (its result.json is the cache).
//
//   node dist/scripts/compare-lora-full.js --model DIR --train FILE --eval FILE --out DIR [--steps N]
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as torch from '../lib';
import { parseFlags, Spec } from '../lib/cli/args';
import type { TrainLoRAResult } from './train-lora';

export interface CompareOptions {
  modelDir: string;
  trainFile: string;
  evalFile: string;
  outDir: string;
  steps: number;
  batchSize?: number;
  blockSize?: number;
  prompts?: string[];
  /** learning rates of the two runs, and the LoRA rank/alpha */
  loraLr?: number;
  fullLr?: number;
  r?: number;
  alpha?: number;
  precision?: 'fp32' | 'bf16';
  threads?: number;
}

export function runOne(o: CompareOptions, full: boolean): TrainLoRAResult {
  const dir = path.join(o.outDir, full ? 'full' : 'lora');
  const resultFile = path.join(dir, 'result.json');
  if (fs.existsSync(resultFile)) {
    const done: TrainLoRAResult = JSON.parse(fs.readFileSync(resultFile, 'utf8'));
    if (done.steps === o.steps && (done.precision ?? 'fp32') === (o.precision ?? 'fp32')) {
      console.log(`${full ? 'full fine-tuning' : 'LoRA'}: done before, reusing ${resultFile}`);
      return done;
    }
    // Other settings: train again from scratch (its checkpoints would not match either).
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.log(`\n== ${full ? 'full fine-tuning' : 'LoRA fine-tuning'} (${o.steps} steps) ==`);
  // The compiled script (this file may run from its TypeScript source under ts-jest).
  const script = __filename.endsWith('.ts') ? path.join(__dirname, '..', 'dist', 'scripts', 'train-lora.js') : path.join(__dirname, 'train-lora.js');
  const args = [script, '--model', o.modelDir, '--train', o.trainFile, '--eval', o.evalFile,
    '--out', dir, '--steps', String(o.steps), '--batch-size', String(o.batchSize ?? 8), '--block-size', String(o.blockSize ?? 64),
    '--prompts', JSON.stringify(o.prompts ?? []), '--result', resultFile, '--r', String(o.r ?? 8), '--alpha', String(o.alpha ?? 16)];
  const lr = full ? o.fullLr : o.loraLr;
  if (lr !== undefined) args.push('--lr', String(lr));
  if (full) args.push('--full');
  if (o.precision) args.push('--precision', o.precision);
  if (o.threads) args.push('--threads', String(o.threads));
  const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`${full ? 'full' : 'LoRA'} fine-tuning failed (exit ${r.status ?? r.signal}); rerun to resume from its last checkpoint`);
  return JSON.parse(fs.readFileSync(resultFile, 'utf8'));
}

export function comparisonTable(lora: TrainLoRAResult, full: TrainLoRAResult): string[][] {
  const row = (name: string, r: TrainLoRAResult) => [
    name,
    `${r.trainableParams.toLocaleString('en-US')} (${((100 * r.trainableParams) / r.allParams).toFixed(2)}%)`,
    `${r.seconds.toFixed(1)} s`,
    r.tokensPerSecond.toFixed(0),
    `${r.peakRssMiB.toFixed(0)} MiB`,
    r.evalBefore.perplexity.toFixed(1),
    r.evalAfter.perplexity.toFixed(1),
  ];
  return [
    ['run', 'trainable params', 'time', 'tokens/s', 'peak memory (RSS)', 'held-out ppl before', 'held-out ppl after'],
    row('LoRA', lora),
    row('full fine-tuning', full),
  ];
}

export function lossPlot(lora: TrainLoRAResult, full: TrainLoRAResult): string {
  const pts = (r: TrainLoRAResult, key: 'loss' | 'eval_loss') => {
    const p = r.logHistory.filter((e) => e[key] !== undefined).map((e) => [e.step, e[key]!] as [number, number]);
    // The eval curve starts at the base model's held-out loss (step 0).
    return key === 'eval_loss' ? [[0, r.evalBefore.loss] as [number, number], ...p] : p;
  };
  return torch.train.lossCurveSvg([
    { name: 'LoRA train', points: pts(lora, 'loss'), color: '#1f77b4' },
    { name: 'LoRA eval', points: pts(lora, 'eval_loss'), color: '#1f77b4', dashed: true },
    { name: 'full train', points: pts(full, 'loss'), color: '#d62728' },
    { name: 'full eval', points: pts(full, 'eval_loss'), color: '#d62728', dashed: true },
  ], 'LoRA vs full fine-tuning: loss');
}

export function markdownTable(rows: string[][]): string {
  return [rows[0], rows[0].map(() => '---'), ...rows.slice(1)].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

export function compare(o: CompareOptions): { lora: TrainLoRAResult; full: TrainLoRAResult } {
  fs.mkdirSync(o.outDir, { recursive: true });
  const lora = runOne(o, false);
  const full = runOne(o, true);
  torch.io.writeFileAtomic(path.join(o.outDir, 'loss.svg'), lossPlot(lora, full));
  return { lora, full };
}

const spec: Spec = {
  model: { type: 'string', required: true, help: 'base model folder' },
  train: { type: 'string', required: true, help: 'training text' },
  eval: { type: 'string', required: true, help: 'held-out text' },
  out: { type: 'string', required: true, help: 'output folder' },
  steps: { type: 'int', default: 100, help: 'steps per run' },
  'block-size': { type: 'int', default: 64, help: 'block size' },
};

if (require.main === module) {
  try {
    const f = parseFlags('compare-lora-full', process.argv.slice(2), spec);
    const { lora, full } = compare({ modelDir: f.model as string, trainFile: f.train as string, evalFile: f.eval as string, outDir: f.out as string, steps: f.steps as number, blockSize: f['block-size'] as number });
    console.log(markdownTable(comparisonTable(lora, full)));
  } catch (e) {
    console.error(`compare-lora-full: ${(e as Error).message}`);
    process.exit(1);
  }
}
