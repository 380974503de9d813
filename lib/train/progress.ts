// A progress bar on a terminal (stderr), plain log lines otherwise.
import type { LogEntry } from './trainer';

export class Progress {
  private readonly tty: boolean;
  private readonly t0 = Date.now();
  private lastDraw = 0;
  constructor(readonly total: number, mode: boolean | 'auto', private readonly start = 0, private readonly label = 'train') {
    this.tty = mode === 'auto' ? Boolean(process.stderr.isTTY) : mode;
  }
  /** loss: the last logged loss (NaN before the first log line: reading every step's would sync CUDA) */
  tick(step: number, loss: number): void {
    if (!this.tty) return;
    const now = Date.now();
    if (now - this.lastDraw < 100 && step < this.total) return;
    this.lastDraw = now;
    const frac = step / this.total;
    const width = 30;
    const done = Math.round(frac * width);
    const rate = (step - this.start) / Math.max(1e-3, (now - this.t0) / 1000);
    const eta = rate > 0 ? (this.total - step) / rate : 0;
    process.stderr.write(`\r${this.label} [${'#'.repeat(done)}${'.'.repeat(width - done)}] ${step}/${this.total} loss ${Number.isNaN(loss) ? '-' : loss.toFixed(4)} ${rate.toFixed(2)} it/s eta ${fmt(eta)}  `);
  }
  log(e: LogEntry): void {
    const parts = Object.entries(e).map(([k, v]) => `${k}=${typeof v === 'number' && !Number.isInteger(v) ? v.toPrecision(5) : v}`);
    if (this.tty) process.stderr.write('\r\x1b[K');
    console.log(`${this.label}: ${parts.join(' ')}`);
  }
  done(): void {
    if (this.tty) process.stderr.write('\n');
  }
}

function fmt(s: number): string {
  const m = Math.floor(s / 60);
  return m ? `${m}m${Math.round(s % 60)}s` : `${Math.round(s)}s`;
}
