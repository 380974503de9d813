// A torchrun-style launcher: starts nproc worker processes of the same command with the
// environment torchrun sets (RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR,
// MASTER_PORT) and stops all of them when one fails.
import { ChildProcess, spawn } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export interface LaunchOptions {
  nprocPerNode: number;
  nnodes: number;
  nodeRank: number;
  masterAddr: string;
  masterPort: number;
  /**
   * After a worker fails, how long the others get to stop on their own before SIGTERM (then
   * SIGKILL 30 s later). They normally do within moments: their next collective fails on the
   * dead peer. The wait lets one that is writing a checkpoint finish it instead of being cut off.
   * The same wait before passing on a signal a worker stopped for on its own (exit 130 or 143).
   */
  stopGraceMs?: number;
}

/** Flags the launcher consumes; the workers get the rest. */
export const LAUNCH_FLAGS = ['nproc-per-node', 'nnodes', 'node-rank', 'master-addr', 'master-port'];

export function stripLaunchFlags(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].startsWith('--') ? argv[i].slice(2).split('=')[0].replace(/_/g, '-') : '';
    if (LAUNCH_FLAGS.includes(name)) {
      if (!argv[i].includes('=')) i++;
      continue;
    }
    out.push(argv[i]);
  }
  return out;
}

export interface LaunchResult {
  /** 0 when every worker exited with 0, else the first failure's exit code */
  code: number;
  /** the signal the launcher was stopped by (and passed on to the workers), if any */
  interrupted: NodeJS.Signals | null;
}

export function launch(script: string, args: string[], o: LaunchOptions): Promise<LaunchResult> {
  const world = o.nprocPerNode * o.nnodes;
  const children: ChildProcess[] = [];
  let failed: { rank: number; code: number | null; signal: NodeJS.Signals | null } | null = null;
  let interrupted: NodeJS.Signals | null = null;
  const timers: NodeJS.Timeout[] = [];
  const alive = () => children.filter((c) => c.exitCode === null && c.signalCode === null);
  const saidDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-launch-')); // (saidOnce's marks)
  // Ctrl-C or SIGTERM: passed on to the workers, which stop as they do on their own (a training
  // run after its step, with a checkpoint); each one again is passed on too.
  const passOn = (signal: NodeJS.Signals) => {
    interrupted ??= signal;
    for (const c of alive()) c.kill(signal);
  };
  process.on('SIGINT', passOn);
  process.on('SIGTERM', passOn);
  return new Promise((resolve) => {
    let running = o.nprocPerNode;
    for (let local = 0; local < o.nprocPerNode; local++) {
      const rank = o.nodeRank * o.nprocPerNode + local;
      const child = spawn(process.execPath, [script, ...args], {
        stdio: 'inherit',
        env: {
          // As torchrun: one OpenMP/BLAS thread per worker unless the user says otherwise.
          OMP_NUM_THREADS: '1',
          ...process.env, RANK: String(rank), LOCAL_RANK: String(local), WORLD_SIZE: String(world),
          LOCAL_WORLD_SIZE: String(o.nprocPerNode), MASTER_ADDR: o.masterAddr, MASTER_PORT: String(o.masterPort),
          TSTORCH_LAUNCHED: '1', // (what the launcher said about the flags, the workers do not say again)
          TSTORCH_LAUNCH_SAID: saidDir,
        },
      });
      children.push(child);
      child.on('exit', (code, signal) => {
        running--;
        // A worker that stopped on a signal of its own (exit 128 + SIGINT or SIGTERM: one process
        // preempted) is an interrupt too. The others get the signal only after the grace period:
        // training ranks stop by themselves after the same step (they agree through a collective),
        // and one told while it writes its last words would be cut off.
        if (!interrupted && !failed && (code === 130 || code === 143)) {
          const signal = code === 130 ? 'SIGINT' : 'SIGTERM';
          interrupted = signal;
          timers.push(setTimeout(() => passOn(signal), o.stopGraceMs ?? 5000));
        }
        if ((code !== 0 || signal) && !failed) {
          failed = { rank, code, signal };
          if (interrupted) return finish(); // (the others were told, and are stopping as this one did)
          console.error(`tstorch launch: worker rank ${rank} ${signal ? `was killed by ${signal}` : `exited with ${code}`}; stopping the others`);
          timers.push(setTimeout(() => {
            for (const c of alive()) c.kill('SIGTERM');
            timers.push(setTimeout(() => { for (const c of alive()) c.kill('SIGKILL'); }, 30000));
          }, o.stopGraceMs ?? 5000));
        }
        finish();
      });
    }
    function finish(): void {
      if (running > 0) return;
      for (const t of timers) clearTimeout(t);
      fs.rmSync(saidDir, { recursive: true, force: true });
      process.off('SIGINT', passOn);
      process.off('SIGTERM', passOn);
      resolve({ code: failed ? (failed.code || (failed.signal === 'SIGINT' ? 130 : failed.signal === 'SIGTERM' ? 143 : 1)) : 0, interrupted });
    }
  });
}

/**
 * Whether this worker is the first of the launch to say `message` (always true outside a launch):
 * an error every rank meets (a flag that does not fit the data) is printed once, not once per
 * worker, while one rank's own error is still printed by it. The first to mark it says it.
 */
export function saidOnce(message: string): boolean {
  const dir = process.env.TSTORCH_LAUNCH_SAID;
  if (!dir) return true;
  try {
    fs.writeFileSync(path.join(dir, createHash('sha1').update(message).digest('hex')), '', { flag: 'wx' });
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'EEXIST'; // (no mark possible: say it)
  }
}
