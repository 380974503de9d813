// Shared helpers for the side-by-side benchmarks: subprocess runs, medians, table printing.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as torch from '../../lib';

// The model shapes both bench sides use (bench_ref.py and gpu_ref.py spell the same).
export const GPT2_124M = { vocab_size: 50257, n_positions: 1024, n_embd: 768, n_layer: 12, n_head: 12 };
export const TINY = { vocab_size: 256, n_positions: 64, n_embd: 32, n_layer: 2, n_head: 2 };

/**
 * One training step as the Python side runs it: the forward pass (under bf16 autocast if asked;
 * with `padded`, a right-padded batch's labels and attention mask),
 * logits dropped once the loss exists, backward; then, with an optimizer, clipping to norm 1
 * (without reading it: no device sync), the update and zeroed gradients; else zeroed gradients.
 */
export function trainStep(model: torch.GPT2LMHeadModel, ids: torch.Tensor, params: torch.Tensor[], opt: torch.optim.AdamW | null,
  autocast: { bf16: boolean; deviceType: 'cpu' | 'cuda' }, padded?: { labels: torch.Tensor; attentionMask: torch.Tensor }): void {
  torch.tidy(() => {
    model.train();
    const forwardOpts = padded ?? { labels: ids };
    const out = torch.autocast(() => model.forward(ids, forwardOpts), { enabled: autocast.bf16, deviceType: autocast.deviceType, dtype: 'bfloat16' });
    out.logits.dispose();
    out.loss!.backward();
    if (opt) {
      torch.nn.utils.clipGradNormTensor(params, 1.0);
      opt.step();
      opt.zeroGrad();
    } else {
      model.zeroGrad();
    }
  });
}

export const repoRoot = (() => {
  let d = __dirname;
  while (!fs.existsSync(path.join(d, 'package.json'))) d = path.dirname(d);
  return d;
})();

export const PYTHON = process.env.TSTORCH_REF_PYTHON ?? '/usr/bin/python3';

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Runs a command that prints one JSON line last; returns it parsed. */
export function runJson(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Record<string, number> {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

export function usPerIter(n: number, f: () => void): number {
  for (let i = 0; i < n / 10; i++) f();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) f();
  return Number(process.hrtime.bigint() - t0) / 1e3 / n;
}

export function printTable(title: string, header: string[], rows: (string | number)[][]): void {
  const fmt = (v: string | number) => (typeof v === 'number' ? (Math.abs(v) >= 100 ? v.toFixed(1) : v.toPrecision(3)) : v);
  const cells = [header, ...rows.map((r) => r.map(fmt))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => String(r[i]).length)));
  console.log(`\n${title}`);
  cells.forEach((r, k) => {
    console.log('| ' + r.map((c, i) => String(c).padEnd(widths[i])).join(' | ') + ' |');
    if (k === 0) console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  });
}
