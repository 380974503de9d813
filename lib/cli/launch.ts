// A torchrun-style launcher: starts nproc worker processes of the same command with the
// environment torchrun sets (RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR,
// MASTER_PORT) and stops all of them when one fails.
import { ChildProcess, spawn } from 'child_process';

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

export function launch(script: string, args: string[], o: LaunchOptions): Promise<number> {
  const world = o.nprocPerNode * o.nnodes;
  const children: ChildProcess[] = [];
  let failed: { rank: number; code: number | null; signal: NodeJS.Signals | null } | null = null;
  const timers: NodeJS.Timeout[] = [];
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
        },
      });
      children.push(child);
      child.on('exit', (code, signal) => {
        running--;
        if ((code !== 0 || signal) && !failed) {
          failed = { rank, code, signal };
          console.error(`tstorch launch: worker rank ${rank} ${signal ? `was killed by ${signal}` : `exited with ${code}`}; stopping the others`);
          const alive = () => children.filter((c) => c.exitCode === null && c.signalCode === null);
          timers.push(setTimeout(() => {
            for (const c of alive()) c.kill('SIGTERM');
            timers.push(setTimeout(() => { for (const c of alive()) c.kill('SIGKILL'); }, 30000));
          }, o.stopGraceMs ?? 5000));
        }
        if (running === 0) {
          for (const t of timers) clearTimeout(t);
          resolve(failed ? (failed.code || 1) : 0);
        }
      });
    }
    const stop = () => { for (const c of children) if (c.exitCode === null) c.kill('SIGTERM'); };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
