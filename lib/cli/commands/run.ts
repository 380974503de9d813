// tstorch run: torchrun for your own scripts. Starts a JS script on N worker processes with the
// environment torchrun sets (RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR,
// MASTER_PORT), so torch.distributed.initProcessGroup() in it joins them; stops them all if one fails.
import * as fs from 'fs';
import * as path from 'path';
import { helpText, parseFlags, Spec, UsageError } from '../args';
import { launch } from '../launch';
import { SUMMARIES } from '../summaries';

export const summary = SUMMARIES.run;
export const spec: Spec = {
  'nproc-per-node': { type: 'int', default: 1, help: 'worker processes on this machine' },
  nnodes: { type: 'int', default: 1, help: 'machines taking part' },
  'node-rank': { type: 'int', default: 0, help: 'this machine\'s index among them' },
  'master-addr': { type: 'string', default: '127.0.0.1', help: 'address of the rank-0 machine' },
  'master-port': { type: 'int', default: 29500, help: 'rendezvous port on it' },
};

export async function run(_flags: Record<string, unknown>, argv: string[] = []): Promise<number | void> {
  // The launcher's flags come first; the first other argument is the script, the rest are its own.
  let i = 0;
  while (i < argv.length && argv[i].startsWith('--')) {
    if (argv[i] === '--help' || argv[i] === '-h') {
      console.log(`${helpText('run', summary, spec)}\n\nThe script is a JavaScript file (compile TypeScript first); its arguments follow it.`);
      return;
    }
    i += argv[i].includes('=') ? 1 : 2;
  }
  const [script, ...args] = argv.slice(i);
  if (!script) throw new UsageError('tstorch run needs a script: tstorch run --nproc-per-node 2 script.js [args]');
  const f = parseFlags('run', argv.slice(0, i), spec);
  const file = path.resolve(script);
  if (!fs.existsSync(file)) throw new Error(`${script}: no such file`);
  for (const k of ['nproc-per-node', 'nnodes'] as const) if ((f[k] as number) < 1) throw new UsageError(`--${k} must be >= 1, got ${f[k]}`);
  const nodeRank = f['node-rank'] as number, nnodes = f.nnodes as number;
  if (nodeRank < 0 || nodeRank >= nnodes) throw new UsageError(`--node-rank must be in [0, ${nnodes - 1}], got ${nodeRank}`);
  const { code, interrupted } = await launch(file, args, {
    nprocPerNode: f['nproc-per-node'] as number, nnodes, nodeRank, masterAddr: f['master-addr'] as string, masterPort: f['master-port'] as number,
  });
  if (interrupted) return code; // (stopped as the user asked: the workers' own exit code, no failure)
  if (code !== 0) throw new Error(`a worker failed (exit ${code}); all workers were stopped`);
}
