// Ctrl-C and SIGTERM while training: noted by the addon, acted on between steps, a checkpoint
// written, the run resumable to exactly where it would have been. (Data parallel: distributed.test.)
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { brownTextFiles, saveTinyGpt2, waitForLines } from './helpers';

const bin = path.join(__dirname, '..', 'dist', 'lib', 'cli', 'main.js');
const addon = path.join(__dirname, '..', 'build', 'Release', 'tstorch.node');
let tmp: string;
beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-interrupts-')); });
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Runs a script in a node of its own (a signal there cannot reach jest). */
function node(script: string) {
  return spawnSync(process.execPath, ['-e', `const n = require(${JSON.stringify(addon)});\n` +
    'const busy = (ms) => { for (const t = Date.now(); Date.now() - t < ms;); };\n' + script], { encoding: 'utf8', timeout: 60000 });
}

test('watchInterrupts notes SIGINT and SIGTERM; the same within a second counts once, a later one ends the process; unwatched, they act as before', () => {
  // (busy waits, not timers: a training loop gives the event loop no turn either)
  const noted = node(`n.watchInterrupts(true);
console.log(n.pendingInterrupt());
process.kill(process.pid, 'SIGTERM'); busy(100);
process.kill(process.pid, 'SIGINT'); busy(100); // (within the second: the same interrupt, the first kept)
console.log(n.pendingInterrupt());
n.watchInterrupts(false);
n.watchInterrupts(true); // (a new watch starts clear)
console.log(n.pendingInterrupt());
process.kill(process.pid, 'SIGINT'); busy(100);
console.log(n.pendingInterrupt());
n.watchInterrupts(false);
process.kill(process.pid, 'SIGINT'); busy(2000);
console.log('not reached');`);
  expect(noted.stdout.trim().split('\n')).toEqual(['0', '15', '0', '2']);
  expect(noted.signal).toBe('SIGINT'); // unwatched: Node's own handling, the process ends by the signal

  const again = node(`n.watchInterrupts(true);
process.kill(process.pid, 'SIGINT'); busy(100);
console.log(n.pendingInterrupt());
busy(1100);
process.kill(process.pid, 'SIGINT'); busy(2000);
console.log('not reached');`);
  expect(again.stdout.trim()).toBe('2');
  expect(again.signal).toBe('SIGINT');
});

test('tstorch train: Ctrl-C ends the run after its step with a checkpoint (exit 130); --resume-from-checkpoint latest then gives the uninterrupted run, bit for bit', async () => {
  const modelDir = await saveTinyGpt2(path.join(tmp, 'model'));
  const { trainFile } = brownTextFiles(tmp);
  // (a constant schedule: the interrupted run's step count then does not change its steps)
  const args = (out: string, steps: number) => ['train', '--model', modelDir, '--data', trainFile, '--out', out, '--block-size', '32', '--batch-size', '4',
    '--lora-r', '4', '--lr', '1e-3', '--lr-scheduler', 'constant', '--logging-steps', '1', '--save-steps', '0', '--max-steps', String(steps)];
  const out = path.join(tmp, 'interrupted');
  const run = spawn(process.execPath, [bin, ...args(out, 100000)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  run.stderr.on('data', (d) => { stderr += d; });
  run.stdout.on('data', () => {});
  const metrics = path.join(out, 'metrics.jsonl');
  await waitForLines(metrics, 3);
  run.kill('SIGINT');
  const code = await new Promise<number | null>((resolve) => run.on('exit', (c) => resolve(c)));
  expect(code).toBe(130);
  const m = /tstorch train: interrupted by SIGINT after step (\d+) of 100000: checkpoint in (\S+); to go on, run the same command with --resume-from-checkpoint latest/.exec(stderr);
  expect(m).not.toBeNull();
  const step = Number(m![1]);
  expect(step).toBeGreaterThanOrEqual(3);
  expect(m![2]).toBe(path.join(out, `checkpoint-${step}`));
  expect(fs.readdirSync(out).filter((f) => f.startsWith('checkpoint-'))).toEqual([`checkpoint-${step}`]);
  expect(fs.existsSync(path.join(out, 'adapter_model.safetensors'))).toBe(false); // (no final output for a run not finished)
  expect(JSON.parse(fs.readFileSync(metrics, 'utf8').trim().split('\n').pop()!).step).toBe(step); // (its last step logged)

  // Resumed to step + 3, against one run of step + 3 steps.
  const resumed = spawnSync(process.execPath, [bin, ...args(out, step + 3), '--resume-from-checkpoint', 'latest'], { encoding: 'utf8' });
  expect(resumed.status).toBe(0);
  const whole = path.join(tmp, 'whole');
  expect(spawnSync(process.execPath, [bin, ...args(whole, step + 3)], { encoding: 'utf8' }).status).toBe(0);
  const losses = (dir: string) => fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.loss !== undefined).map((l) => [l.step, l.loss]);
  expect(losses(out)).toEqual(losses(whole));
  expect(losses(out).length).toBe(step + 3);
  expect(fs.readFileSync(path.join(out, 'adapter_model.safetensors')).equals(fs.readFileSync(path.join(whole, 'adapter_model.safetensors')))).toBe(true);

  // --no-save-on-interrupt: the signal ends the process at once, as without the flag's handling.
  const plain = path.join(tmp, 'plain');
  const run2 = spawn(process.execPath, [bin, ...args(plain, 100000), '--no-save-on-interrupt'], { stdio: 'ignore' });
  await waitForLines(path.join(plain, 'metrics.jsonl'), 1);
  run2.kill('SIGINT');
  const ended = await new Promise<NodeJS.Signals | null>((resolve) => run2.on('exit', (_c, s) => resolve(s)));
  expect(ended).toBe('SIGINT');
  expect(fs.readdirSync(plain).filter((f) => f.startsWith('checkpoint-'))).toEqual([]);
}, 300000);
