// Shared helpers for the side-by-side benchmarks: subprocess runs, medians, table printing.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

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
