// Data-parallel training on libtorch's c10d (Gloo on loopback): 2 processes with per-rank batch
// B train exactly like 1 process with batch 2B; a dead worker stops the others cleanly.
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as torch from '../lib';
import { relErr, waitForLines } from './helpers';

const bin = path.join(__dirname, '..', 'dist', 'lib', 'cli', 'main.js');
let tmp: string, modelDir: string, textFile: string, evalFile: string;
const available = torch.distributed.isAvailable();

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-dist-'));
  torch.manualSeed(0);
  // No dropout anywhere: the comparison is of the math, not of each rank's RNG stream.
  const m = new torch.GPT2LMHeadModel({ vocab_size: 50257, n_positions: 32, n_embd: 16, n_layer: 1, n_head: 2, attn_pdrop: 0, resid_pdrop: 0, embd_pdrop: 0 });
  modelDir = path.join(tmp, 'model');
  await m.savePretrained(modelDir);
  m.dispose();
  // Exactly 32 blocks of 16 tokens, so both runs see whole batches.
  const tokens = torch.tokenizer.encode(torch.data.brownDocuments(['a']).slice(0, 2).map((d) => d.text).join('\n'));
  textFile = path.join(tmp, 'train.txt');
  fs.writeFileSync(textFile, torch.tokenizer.decode(tokens.slice(0, 32 * 16 + 5)));
  // 5 blocks of held-out text: the ranks evaluate 3 and 2 of them.
  evalFile = path.join(tmp, 'eval.txt');
  fs.writeFileSync(evalFile, torch.tokenizer.decode(tokens.slice(32 * 16 + 5, 32 * 16 + 5 + 5 * 16 + 3)));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const common = (out: string) => ['train', '--model', modelDir, '--data', textFile, '--out', out, '--block-size', '16', '--max-steps', '10',
  '--lr', '1e-2', '--lora-r', '4', '--lora-dropout', '0', '--logging-steps', '1', '--save-steps', '5', '--master-port', '29641'];

(available ? test : test.skip)('2-way data parallel with batch B (or 2 accumulated micro-batches of B/2) == 1 process with batch 2B (losses, adapter 1e-5)', () => {
  const one = path.join(tmp, 'one'), two = path.join(tmp, 'two');
  const withEval = ['--eval-data', evalFile, '--eval-steps', '5'];
  const r1 = spawnSync(process.execPath, [bin, ...common(one), '--batch-size', '4', ...withEval], { encoding: 'utf8' });
  expect(r1.stderr).toBe('');
  const r2 = spawnSync(process.execPath, [bin, ...common(two), '--batch-size', '2', '--nproc-per-node', '2', ...withEval], { encoding: 'utf8' });
  expect(r2.stderr).toBe('');
  expect(r2.status).toBe(0);
  const losses = (dir: string) => fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.loss !== undefined).map((e) => e.loss);
  const a = losses(one), b = losses(two);
  expect(a.length).toBe(10);
  expect(b.length).toBe(10);
  a.forEach((l: number, i: number) => expect(Math.abs(l - b[i]) / l).toBeLessThan(1e-5));
  // The eval loss, each rank evaluating its share of the blocks, is the one process's.
  const evals = (dir: string) => fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.eval_loss !== undefined);
  const ea = evals(one), eb = evals(two);
  expect(ea.map((e) => e.step)).toEqual([5, 10]);
  expect(eb.map((e) => e.step)).toEqual([5, 10]);
  ea.forEach((e, i) => expect(Math.abs(e.eval_loss - eb[i].eval_loss) / e.eval_loss).toBeLessThan(1e-5));
  const wa = torch.io.safetensors.loadFile(path.join(one, 'adapter_model.safetensors')).tensors;
  const wb = torch.io.safetensors.loadFile(path.join(two, 'adapter_model.safetensors')).tensors;
  expect([...wb.keys()].sort()).toEqual([...wa.keys()].sort());
  expect(wa.size).toBeGreaterThan(0);
  for (const [k, t] of wa) expect(relErr(wb.get(k)!, t)).toBeLessThan(1e-5);
  // With gradient accumulation: 2 processes x 2 micro-batches of 1 per step, the earlier
  // micro-batch's backward only accumulating, the last one's all-reducing the whole gradient.
  const acc = path.join(tmp, 'two-acc');
  const r4 = spawnSync(process.execPath, [bin, ...common(acc), '--batch-size', '1', '--gradient-accumulation-steps', '2', '--nproc-per-node', '2'], { encoding: 'utf8' });
  expect(r4.stderr).toBe('');
  expect(r4.status).toBe(0);
  const d = losses(acc);
  expect(d.length).toBe(10);
  a.forEach((l: number, i: number) => expect(Math.abs(l - d[i]) / l).toBeLessThan(1e-5));
  const wd = torch.io.safetensors.loadFile(path.join(acc, 'adapter_model.safetensors')).tensors;
  for (const [k, t] of wa) expect(relErr(wd.get(k)!, t)).toBeLessThan(1e-5);
  // With gradient checkpointing (several backward calls a step: the gradients are all-reduced after them), the base mapped from its file (--mmap).
  const ckpt = path.join(tmp, 'two-ckpt');
  const r5 = spawnSync(process.execPath, [bin, ...common(ckpt), '--batch-size', '2', '--gradient-checkpointing', '--mmap', '--nproc-per-node', '2'], { encoding: 'utf8' });
  expect(r5.stderr).toBe('');
  const e = losses(ckpt);
  expect(e.length).toBe(10);
  a.forEach((l: number, i: number) => expect(Math.abs(l - e[i]) / l).toBeLessThan(1e-5));
  const we = torch.io.safetensors.loadFile(path.join(ckpt, 'adapter_model.safetensors')).tensors;
  for (const [k, t] of wa) expect(relErr(we.get(k)!, t)).toBeLessThan(1e-5);
  // Only rank 0 wrote: one metrics file, checkpoints with each rank's RNG state.
  expect(fs.existsSync(path.join(two, 'checkpoint-5', 'rng_state_rank1.bin'))).toBe(true);
  // Resume with the same world size continues the same run.
  const resumed = path.join(tmp, 'resumed');
  fs.mkdirSync(resumed);
  fs.cpSync(path.join(two, 'checkpoint-5'), path.join(resumed, 'checkpoint-5'), { recursive: true });
  const r3 = spawnSync(process.execPath, [bin, ...common(resumed), '--batch-size', '2', '--nproc-per-node', '2', '--resume-from-checkpoint', 'latest'], { encoding: 'utf8' });
  expect(r3.status).toBe(0);
  const c = losses(resumed);
  expect(c.length).toBe(10); // the checkpoint's history, then steps 6-10 again
  c.forEach((l: number, i: number) => expect(l).toBe(b[i]));
});

(available ? test : test.skip)('padded examples of different lengths, grouped by length: 2-way data parallel with batch B == 1 process with batch 2B (each step the mean over all ranks\' predicted tokens)', () => {
  // 16 prompt-completion examples whose completions differ in length: each rank's share of a
  // step's tokens differs, so averaging the ranks' own mean losses would be wrong.
  const qa = path.join(tmp, 'qa.jsonl');
  fs.writeFileSync(qa, Array.from({ length: 16 }, (_, i) => JSON.stringify({ prompt: `Q${i}: say it`, completion: ' yes'.repeat(1 + (i * 7) % 5) })).join('\n'));
  const args = (out: string) => ['train', '--model', modelDir, '--data', qa, '--eval-data', qa, '--eval-steps', '2', '--out', out, '--block-size', '24', '--max-steps', '4',
    '--lr', '1e-2', '--lora-r', '4', '--lora-dropout', '0', '--logging-steps', '1', '--save-steps', '0', '--master-port', '29645', '--group-by-length'];
  const one = path.join(tmp, 'qa-one'), two = path.join(tmp, 'qa-two');
  const r1 = spawnSync(process.execPath, [bin, ...args(one), '--batch-size', '4'], { encoding: 'utf8' });
  expect(r1.stderr).toBe('');
  const r2 = spawnSync(process.execPath, [bin, ...args(two), '--batch-size', '2', '--nproc-per-node', '2'], { encoding: 'utf8' });
  expect(r2.stderr).toBe('');
  expect(r2.status).toBe(0);
  const log = (dir: string) => fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const a = log(one), b = log(two);
  expect(a.filter((e) => e.loss !== undefined).length).toBe(4);
  expect(a.filter((e) => e.eval_loss !== undefined).length).toBe(2);
  expect(b.length).toBe(a.length);
  a.forEach((e, i) => {
    const key = e.loss !== undefined ? 'loss' : 'eval_loss';
    expect(Math.abs(e[key] - b[i][key]) / e[key]).toBeLessThan(1e-5);
  });
  const wa = torch.io.safetensors.loadFile(path.join(one, 'adapter_model.safetensors')).tensors;
  const wb = torch.io.safetensors.loadFile(path.join(two, 'adapter_model.safetensors')).tensors;
  for (const [k, t] of wa) expect(relErr(wb.get(k)!, t)).toBeLessThan(1e-5);
});

(available ? test : test.skip)('killing one worker stops the others with a clear error, and leaves no half checkpoint', async () => {
  const out = path.join(tmp, 'killed');
  const args = [bin, 'train', '--model', modelDir, '--data', textFile, '--out', out, '--block-size', '16', '--max-steps', '100000',
    '--batch-size', '2', '--lora-r', '4', '--logging-steps', '1', '--save-steps', '3', '--nproc-per-node', '2', '--master-port', '29643', '--dist-timeout', '10'];
  const launcher = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  launcher.stderr.on('data', (d) => { stderr += d; });
  launcher.stdout.on('data', () => {});
  // Wait for training to be under way, then kill rank 1.
  const t0 = Date.now();
  while (!fs.existsSync(path.join(out, 'checkpoint-3')) && Date.now() - t0 < 60000) await new Promise((r) => setTimeout(r, 200));
  const kids = spawnSync('ps', ['-o', 'pid=,args=', '--ppid', String(launcher.pid)], { encoding: 'utf8' }).stdout.trim().split('\n');
  expect(kids.length).toBe(2);
  const pids = kids.map((l) => Number(l.trim().split(/\s+/)[0]));
  const rank1 = pids.find((p) => fs.readFileSync(`/proc/${p}/environ`, 'utf8').split('\0').includes('RANK=1'))!;
  const killedAt = Date.now();
  process.kill(rank1, 'SIGKILL');
  const code = await new Promise<number | null>((resolve) => launcher.on('exit', (c) => resolve(c)));
  expect(code).not.toBe(0);
  expect(Date.now() - killedAt).toBeLessThan(30000);
  expect(stderr).toMatch(/worker rank 1 was killed by SIGKILL; stopping the others/);
  // Rank 0 stops by itself (its next collective fails on the dead peer), before the launcher's
  // SIGTERM would have to cut it off, possibly mid-checkpoint.
  expect(stderr).toMatch(/failed on rank 0 \(a peer may have died or timed out\)/);
  expect(fs.readdirSync(out).filter((n) => n.includes('.tmp-'))).toEqual([]);
  expect(torch.train.listCheckpoints(out).length).toBeGreaterThan(0);
  for (const c of torch.train.listCheckpoints(out)) expect(fs.existsSync(path.join(c, 'trainer_state.json'))).toBe(true);
});

(available ? test : test.skip)('Ctrl-C at the terminal (SIGINT to the launcher and its workers): every rank stops after the same step, rank 0 says where the checkpoint is (exit 130); resumed on 2 ranks it is the uninterrupted run; SIGTERM to rank 1 alone stops both after one step (exit 143)', async () => {
  // (a constant schedule: the interrupted run's step count then does not change its steps)
  const args = (out: string, steps: number) => [bin, 'train', '--model', modelDir, '--data', textFile, '--out', out, '--block-size', '16', '--max-steps', String(steps),
    '--batch-size', '2', '--lora-r', '4', '--lr', '1e-3', '--lr-scheduler', 'constant', '--logging-steps', '1', '--save-steps', '0', '--nproc-per-node', '2', '--master-port', '29689'];
  const out = path.join(tmp, 'ctrl-c');
  // A process group of its own, as a terminal gives a command: the launcher leads it.
  const launcher = spawn(process.execPath, args(out, 100000), { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let stderr = '';
  launcher.stderr.on('data', (d) => { stderr += d; });
  launcher.stdout.on('data', () => {});
  const metrics = path.join(out, 'metrics.jsonl');
  await waitForLines(metrics, 3);
  process.kill(-launcher.pid!, 'SIGINT'); // (the launcher also passes it on: the same interrupt, counted once)
  const code = await new Promise<number | null>((resolve) => launcher.on('exit', (c) => resolve(c)));
  expect(code).toBe(130);
  const said = stderr.match(/interrupted by SIGINT after step (\d+) of 100000: checkpoint in (\S+);/g) ?? [];
  expect(said.length).toBe(1); // (rank 0 alone)
  expect(stderr).not.toMatch(/stopping the others|a worker failed/);
  const step = Number(/after step (\d+)/.exec(said[0] ?? '')?.[1]);
  const checkpoint = path.join(out, `checkpoint-${step}`);
  expect(torch.train.listCheckpoints(out)).toEqual([checkpoint]);
  expect(fs.existsSync(path.join(checkpoint, 'rng_state_rank1.bin'))).toBe(true); // (rank 1 stopped there too, and wrote its part)
  // Resumed to step + 2 on 2 ranks, against one 2-rank run of step + 2 steps.
  const resumed = spawnSync(process.execPath, [...args(out, step + 2), '--resume-from-checkpoint', 'latest'], { encoding: 'utf8' });
  expect(resumed.status).toBe(0);
  const whole = path.join(tmp, 'ctrl-c-whole');
  expect(spawnSync(process.execPath, args(whole, step + 2), { encoding: 'utf8' }).status).toBe(0);
  const losses = (dir: string) => fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.loss !== undefined).map((l) => [l.step, l.loss]);
  expect(losses(out)).toEqual(losses(whole));
  expect(fs.readFileSync(path.join(out, 'adapter_model.safetensors')).equals(fs.readFileSync(path.join(whole, 'adapter_model.safetensors')))).toBe(true);

  // SIGTERM to rank 1 alone (a scheduler preempting one process): rank 0 learns of it through
  // the step's collective and stops after the same step, with the checkpoint.
  const one = path.join(tmp, 'sigterm-rank1');
  const launcher2 = spawn(process.execPath, args(one, 100000), { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr2 = '';
  launcher2.stderr.on('data', (d) => { stderr2 += d; });
  launcher2.stdout.on('data', () => {});
  await waitForLines(path.join(one, 'metrics.jsonl'), 3);
  const kids = spawnSync('ps', ['-o', 'pid=', '--ppid', String(launcher2.pid)], { encoding: 'utf8' }).stdout.trim().split('\n').map(Number);
  const rank1 = kids.find((p) => fs.readFileSync(`/proc/${p}/environ`, 'utf8').split('\0').includes('RANK=1'))!;
  process.kill(rank1, 'SIGTERM');
  expect(await new Promise<number | null>((resolve) => launcher2.on('exit', (c) => resolve(c)))).toBe(143);
  const step2 = Number(/interrupted by SIGTERM after step (\d+) of 100000: checkpoint in/.exec(stderr2)?.[1]);
  expect(step2).toBeGreaterThan(0);
  expect(torch.train.listCheckpoints(one)).toEqual([path.join(one, `checkpoint-${step2}`)]);
  expect(fs.existsSync(path.join(one, `checkpoint-${step2}`, 'rng_state_rank1.bin'))).toBe(true);
}, 300000);

(available ? test : test.skip)('overlapped gradient sync with accumulation (Gloo, world size 1): a backward without prepareGradSync only accumulates; the prepared one sends the whole .grad', () => {
  torch.distributed.initProcessGroup({ backend: 'gloo', rank: 0, worldSize: 1, masterAddr: '127.0.0.1', masterPort: 29647, timeoutMs: 30000 });
  try {
    torch.tidy(() => {
      torch.manualSeed(4);
      const w = torch.randn([16, 16], { requiresGrad: true }), b = torch.randn([16], { requiresGrad: true });
      const x1 = torch.randn([3, 16]), x2 = torch.randn([5, 16]);
      const loss = (x: torch.Tensor, ww: torch.Tensor, bb: torch.Tensor) => x.matmul(ww).add(bb).tanh().sum();
      // Small buckets: w and b in separate ones, launched from the hooks.
      torch.distributed.registerGradSync([w, b], 256);
      loss(x1, w, b).backward(); // micro-batch 1: local only
      torch.distributed.prepareGradSync();
      loss(x2, w, b).backward(); // micro-batch 2: all-reduced with what 1 left in .grad
      torch.distributed.finishGradSync();
      // Reference: both micro-batches' gradients, summed, without any sync.
      const w2 = w.detach().clone().requiresGrad_(), b2 = b.detach().clone().requiresGrad_();
      loss(x1, w2, b2).add(loss(x2, w2, b2)).backward();
      expect(relErr(w.grad!, w2.grad!)).toBeLessThan(1e-6);
      expect(relErr(b.grad!, b2.grad!)).toBeLessThan(1e-6);
      // Not the last micro-batch's alone:
      const w3 = w.detach().clone().requiresGrad_(), b3 = b.detach().clone().requiresGrad_();
      loss(x2, w3, b3).backward();
      expect(relErr(w.grad!, w3.grad!)).toBeGreaterThan(1e-2);
      expect(() => torch.distributed.finishGradSync()).toThrow(/finishGradSync without prepareGradSync/);
    });
  } finally {
    torch.distributed.destroyProcessGroup();
  }
});

/** Runs `body` (JS, with `torch`, `rank`, `out(obj)`) in 2 processes joined by Gloo on loopback; resolves to each rank's out(). */
async function twoRanks(name: string, port: number, body: string): Promise<unknown[]> {
  const script = path.join(tmp, `${name}.js`);
  fs.writeFileSync(script, `const torch = require(${JSON.stringify(path.join(__dirname, '..'))});
const fs = require('fs');
const rank = Number(process.env.RANK);
const out = (o) => fs.writeFileSync(${JSON.stringify(path.join(tmp, name))} + '-' + rank + '.json', JSON.stringify(o));
torch.distributed.initProcessGroup({ backend: 'gloo', timeoutMs: 30000 });
${body}
torch.distributed.destroyProcessGroup();`);
  const env = (r: number) => ({ ...process.env, RANK: String(r), WORLD_SIZE: '2', LOCAL_RANK: String(r), MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port) });
  const codes = await Promise.all([0, 1].map((r) => new Promise<[number | null, string]>((resolve) => {
    const p = spawn(process.execPath, [script], { env: env(r), stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => { err += d; });
    p.on('exit', (code) => resolve([code, err]));
  })));
  codes.forEach(([code, err], r) => { if (code !== 0) throw new Error(`rank ${r} exited with ${code}:\n${err}`); });
  return [0, 1].map((r) => JSON.parse(fs.readFileSync(path.join(tmp, `${name}-${r}.json`), 'utf8')));
}

(available ? test : test.skip)('collectives on 2 ranks: all-reduce (sum, avg, product, min, max), reduce, all-gather, gather, scatter, all-to-all, send/recv, objects', async () => {
  const [r0, r1] = await twoRanks('collectives', 29651, `
const D = torch.distributed, t = (v) => torch.tensor(v, { dtype: 'float32' });
const res = {};
for (const op of ['sum', 'avg', 'product', 'min', 'max']) { const x = t([rank + 1, 2 * (rank + 1)]); D.allReduce(x, { op }); res[op] = x.tolist(); }
const ints = torch.tensor([3 + rank * 3, -3 - rank * 3], { dtype: 'int64' }); D.allReduce(ints, { op: 'avg' }); res.intAvg = [ints.dtype, ints.tolist()];
const red = t([rank + 1, 10]); D.reduce(red, 1, { op: 'max' }); res.reduce = red.tolist();
const all = [torch.zeros([2]), torch.zeros([2])]; D.allGather(all, torch.full([2], rank + 0.5)); res.allGather = all.map((x) => x.tolist());
const g = rank === 0 ? [torch.zeros([1]), torch.zeros([1])] : null; D.gather(t([rank * 3]), g, 0); res.gather = g && g.map((x) => x.tolist());
const sc = torch.zeros([2]); D.scatter(sc, rank === 1 ? [t([7, 8]), t([9, 10])] : null, 1); res.scatter = sc.tolist();
const a2a = torch.zeros([2]); D.allToAllSingle(a2a, t([rank * 10, rank * 10 + 1])); res.allToAll = a2a.tolist();
if (rank === 0) D.send(t([42, 43]), 1, 7);
else { const buf = torch.zeros([2]); res.from = D.recv(buf, null, 7); res.recv = buf.tolist(); }
res.objects = D.allGatherObject({ rank, name: 'r' + rank, list: [rank, 'é'] });
const objs = rank === 1 ? ['from', { one: 1 }] : [null, null]; D.broadcastObjectList(objs, 1); res.bcast = objs;
try { D.reduceScatter(torch.zeros([1]), [t([1]), t([2])]); res.reduceScatter = 'ran'; } catch (e) { res.reduceScatter = e.message; }
try { D.gather(t([1]), null, 5); } catch (e) { res.badRank = e.message; }
out(res);`) as Record<string, unknown>[];
  for (const r of [r0, r1]) {
    // integers average as NCCL's ncclAvg does, in their dtype, truncated: 9 / 2 and -9 / 2
    expect(r).toMatchObject({ sum: [3, 6], avg: [1.5, 3], intAvg: ['int64', [4, -4]], product: [2, 8], min: [1, 2], max: [2, 4], allGather: [[0.5, 0.5], [1.5, 1.5]],
      objects: [{ rank: 0, name: 'r0', list: [0, 'é'] }, { rank: 1, name: 'r1', list: [1, 'é'] }], bcast: ['from', { one: 1 }] });
    expect(r.reduceScatter).toMatch(/does not support reduce_scatter|reduce_scatter/i); // (Gloo has none; NCCL does)
    expect(r.badRank).toMatch(/dst must be a rank in \[0, 1\], got 5/);
  }
  expect([r0.reduce, r1.reduce]).toEqual([[1, 10], [2, 10]]); // only dst's changes
  expect([r0.gather, r1.gather]).toEqual([[[0], [3]], null]);
  expect([r0.scatter, r1.scatter]).toEqual([[7, 8], [9, 10]]);
  expect([r0.allToAll, r1.allToAll]).toEqual([[0, 10], [1, 11]]);
  expect([r1.from, r1.recv]).toEqual([0, [42, 43]]);
});

(available ? test : test.skip)('DistributedDataParallel on 2 ranks trains as 1 process on both ranks\' data (rank 0\'s start, averaged gradients, noSync accumulation), 1e-6', async () => {
  // Each rank starts from its own seed: DDP copies rank 0's weights. Rank r's data are rows 4r..4r+3.
  const body = `
torch.manualSeed(rank === 0 ? 0 : 99);
const nn = torch.nn;
const net = new nn.Sequential(new nn.Linear(4, 8), new nn.Tanh(), new nn.Linear(8, 1));
const ddp = new nn.parallel.DistributedDataParallel(net, { bucketCapMb: 0.0001 });
torch.manualSeed(5);
const X = torch.randn([8, 4]), Y = torch.randn([8, 1]);
const x = X.index(rank * 4 + ':' + (rank * 4 + 4)), y = Y.index(rank * 4 + ':' + (rank * 4 + 4));
const opt = new torch.optim.SGD(ddp.parameters(), { lr: 0.1 });
const losses = [];
for (let step = 0; step < 3; step++) {
  opt.zeroGrad();
  const loss = torch.nn.functional.mseLoss(ddp.forward(x), y);
  loss.backward();
  opt.step();
  losses.push(loss.item());
}
// gradient accumulation: two micro-batches of 2 rows, the first without communication
opt.zeroGrad();
ddp.noSync(() => torch.nn.functional.mseLoss(ddp.forward(x.index(':2')), y.index(':2')).mul(0.5).backward());
torch.nn.functional.mseLoss(ddp.forward(x.index('2:')), y.index('2:')).mul(0.5).backward();
opt.step();
out({ losses, keys: [...ddp.stateDict().keys()], params: ddp.parameters().map((p) => p.tolist()) });`;
  const [r0, r1] = await twoRanks('ddp', 29653, body) as { losses: number[]; keys: string[]; params: number[][] }[];
  expect(r0.keys).toEqual(['module.0.weight', 'module.0.bias', 'module.2.weight', 'module.2.bias']);
  expect(r1.params).toEqual(r0.params); // the ranks agree exactly
  // one process, rank 0's start, all 8 rows
  torch.tidy(() => {
    torch.manualSeed(0);
    const nn = torch.nn;
    const net = new nn.Sequential(new nn.Linear(4, 8), new nn.Tanh(), new nn.Linear(8, 1));
    torch.manualSeed(5);
    const X = torch.randn([8, 4]), Y = torch.randn([8, 1]);
    const opt = new torch.optim.SGD(net.parameters(), { lr: 0.1 });
    const losses: number[] = [];
    for (let step = 0; step < 3; step++) {
      opt.zeroGrad();
      const loss = nn.functional.mseLoss(net.forward(X) as torch.Tensor, Y);
      loss.backward();
      opt.step();
      losses.push(loss.item() as number);
    }
    opt.zeroGrad();
    nn.functional.mseLoss(net.forward(X) as torch.Tensor, Y).backward();
    opt.step();
    // each rank's loss is its half's; their mean is the whole batch's
    losses.forEach((l, i) => expect(Math.abs((r0.losses[i] + r1.losses[i]) / 2 - l)).toBeLessThan(1e-6));
    net.parameters().forEach((p, i) => {
      const want = (p.flatten().tolist() as number[]), got = (r0.params[i] as unknown as number[] | number[][]).flat() as number[];
      want.forEach((v, k) => expect(Math.abs(got[k] - v)).toBeLessThan(1e-6));
    });
  });
});

(available ? test : test.skip)('DDP leaves frozen weights that already agree unwritten (a base mapped from its file stays shared between the ranks); one that differs becomes rank 0\'s, bool and bfloat16 buffers too', async () => {
  const file = path.join(tmp, 'frozen.safetensors');
  torch.manualSeed(3);
  torch.io.safetensors.saveFile(file, { weight: torch.randn([256, 256]), bias: torch.randn([256]) });
  // then: a plain broadcast of the mapped weight, what DDP did before (the check that the measure can tell)
  const body = (thenPlain: boolean) => `
const nn = torch.nn;
// (the pages of the file's mappings this process has written: its own copies of them, in kB)
const dirty = () => { torch.memory(); let kb = 0, ours = false;
  for (const line of fs.readFileSync('/proc/self/smaps', 'utf8').split('\\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) ours = line.endsWith(' ' + ${JSON.stringify(fs.realpathSync(file))});
    else if (ours && line.startsWith('Private_Dirty:')) kb += Number(line.split(/\\s+/)[1]);
  }
  return kb; };
const base = new nn.Linear(256, 256), other = new nn.Linear(256, 256), head = new nn.Linear(256, 1);
base.loadStateDict(torch.io.safetensors.loadFile(${JSON.stringify(file)}, { mmap: true }).tensors, { assign: true });
torch.manualSeed(rank === 0 ? 0 : 99); // (other: each rank's own draw)
other.loadStateDict({ weight: torch.randn([256, 256]), bias: torch.randn([256]) });
base.requiresGrad_(false); other.requiresGrad_(false);
// buffers of the dtypes Gloo lacks (GPT-2's causal masks are bool): rank 0's too
head.registerBuffer('mask', torch.tensor(rank === 0 ? [true, false, true] : [false, false, false]));
head.registerBuffer('half', torch.tensor([rank + 0.5, -1 - rank], { dtype: 'bfloat16' }));
const before = dirty();
new nn.parallel.DistributedDataParallel(new nn.Sequential(base, other, head));
const after = dirty();
${thenPlain ? 'torch.distributed.broadcast([base.weight], 0);' : ''}
out({ before, after, plain: dirty(), other: other.weight.sum().item(), base: base.weight.sum().item(), mask: head.mask.tolist(), half: head.half.tolist() });`;
  const [r0, r1] = await twoRanks('frozen', 29677, body(false)) as { before: number; after: number; other: number; base: number; mask: boolean[]; half: number[] }[];
  expect([r0.before, r1.before, r0.after, r1.after]).toEqual([0, 0, 0, 0]); // (nothing of the mapped base written on either rank)
  expect(r1.other).toBe(r0.other); // (differing: rank 0's)
  expect(r1.base).toBe(r0.base);
  for (const r of [r0, r1]) expect([r.mask, r.half]).toEqual([[true, false, true], [0.5, -1]]);
  const [p0, p1] = await twoRanks('frozen-plain', 29679, body(true)) as { plain: number }[];
  expect(p0.plain).toBe(0); // (the source's memory is only read)
  expect(p1.plain).toBeGreaterThanOrEqual(256); // (a receiver's plain broadcast writes all 256 KiB of the weight: its own copy)
});

(available ? test : test.skip)('SyncBatchNorm on 2 ranks normalizes with the whole batch\'s statistics: outputs, input and parameter gradients, running statistics as BatchNorm on one process (1e-5)', async () => {
  const body = `
const nn = torch.nn;
torch.manualSeed(8);
const X = torch.randn([8, 3, 5]).mul(2).add(1), W = torch.randn([8, 3, 5]);
const model = nn.SyncBatchNorm.convertSyncBatchnorm(new nn.Sequential(new nn.Conv1d(3, 3, 1), new nn.BatchNorm1d(3, { momentum: 0.3 })));
torch.noGrad(() => { model.get(0).weight.copy_(torch.eye(3).unsqueeze(2)); model.get(0).bias.zero_(); model.get(1).weight.fill_(1.5); model.get(1).bias.fill_(-0.5); });
const x = X.index(rank * 4 + ':' + (rank * 4 + 4)).clone().requiresGrad_();
const y = model.forward(x);
y.mul(W.index(rank * 4 + ':' + (rank * 4 + 4))).sum().backward();
const bn = model.get(1);
out({ kind: bn.constructor.name, y: y.tolist(), gx: x.grad.tolist(), gw: bn.weight.grad.tolist(), gb: bn.bias.grad.tolist(), rm: bn.running_mean.tolist(), rv: bn.running_var.tolist(), n: bn.num_batches_tracked.item() });`;
  const [r0, r1] = await twoRanks('syncbn', 29657, body) as Record<string, unknown>[];
  expect(r0.kind).toBe('SyncBatchNorm');
  torch.tidy(() => {
    torch.manualSeed(8);
    const X = torch.randn([8, 3, 5]).mul(2).add(1), W = torch.randn([8, 3, 5]);
    const bn = new torch.nn.BatchNorm1d(3, { momentum: 0.3 });
    torch.noGrad(() => { bn.weight!.fill_(1.5); bn.bias!.fill_(-0.5); });
    const x = X.clone().requiresGrad_();
    const y = bn.forward(x);
    y.mul(W).sum().backward();
    const close = (got: unknown, want: torch.Tensor, what: string) => {
      const g = torch.tensor(got as number[]), err = g.sub(want).abs().max().item() as number;
      if (!(err < 1e-5)) throw new Error(`${what}: off by ${err}`);
    };
    close([...(r0.y as number[]), ...(r1.y as number[])], y, 'outputs');
    close([...(r0.gx as number[]), ...(r1.gx as number[])], x.grad!, 'input gradients');
    // each rank's parameter gradient is its rows' share (DDP adds them up, averaged)
    close((r0.gw as number[]).map((v, i) => v + (r1.gw as number[])[i]), bn.weight!.grad!, 'weight gradient');
    close((r0.gb as number[]).map((v, i) => v + (r1.gb as number[])[i]), bn.bias!.grad!, 'bias gradient');
    for (const r of [r0, r1]) {
      close(r.rm, bn.running_mean!, 'running mean');
      close(r.rv, bn.running_var!, 'running variance');
      expect(r.n).toBe(1);
    }
  });
  // one process: SyncBatchNorm is BatchNorm (and eval uses the running statistics)
  torch.tidy(() => {
    torch.manualSeed(2);
    const x = torch.randn([6, 4, 3, 3]);
    const a = new torch.nn.BatchNorm2d(4), b = torch.nn.SyncBatchNorm.convertSyncBatchnorm(new torch.nn.BatchNorm2d(4)) as torch.nn.SyncBatchNorm;
    expect(relErr(b.forward(x), a.forward(x))).toBeLessThan(1e-6);
    a.eval(); b.eval();
    expect(relErr(b.forward(x), a.forward(x))).toBeLessThan(1e-6);
    expect(() => b.forward(torch.randn([2, 3]))).toThrow(/expected input of 2 or more dims with 4 channels in dim 1, got \[2,3\]/);
  });
});

(available ? test : test.skip)('tstorch run: a script on 2 workers with torchrun\'s environment (its own arguments passed on); a failing worker fails the run', () => {
  const script = path.join(tmp, 'run-worker.js');
  fs.writeFileSync(script, `const torch = require(${JSON.stringify(path.join(__dirname, '..'))});
torch.distributed.initProcessGroup({ timeoutMs: 20000 });
const rank = torch.distributed.getRank();
if (process.argv.includes('--fail') && rank === 1) process.exit(7);
const t = torch.tensor([rank + 1], { dtype: 'float32' });
torch.distributed.allReduce(t);
console.log(JSON.stringify({ rank, sum: t.item(), args: process.argv.slice(2), env: [process.env.WORLD_SIZE, process.env.LOCAL_RANK, process.env.LOCAL_WORLD_SIZE, process.env.MASTER_PORT] }));
torch.distributed.destroyProcessGroup();`);
  const r = spawnSync(process.execPath, [bin, 'run', '--nproc-per-node', '2', '--master-port=29663', script, '--help', 'x'], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l)).sort((a, b) => a.rank - b.rank);
  expect(lines).toEqual([0, 1].map((rank) => ({ rank, sum: 3, args: ['--help', 'x'], env: ['2', String(rank), '2', '29663'] })));
  const bad = spawnSync(process.execPath, [bin, 'run', '--nproc-per-node', '2', '--master-port', '29665', script, '--fail'], { encoding: 'utf8' });
  expect(bad.status).toBe(1);
  expect(bad.stderr).toMatch(/worker rank 1 exited with 7; stopping the others/);
  expect(bad.stderr).toMatch(/tstorch run: a worker failed/);
  expect(spawnSync(process.execPath, [bin, 'run', '--nproc-per-node', '2'], { encoding: 'utf8' }).stderr).toMatch(/tstorch run needs a script/);
  expect(spawnSync(process.execPath, [bin, 'run', path.join(tmp, 'nope.js')], { encoding: 'utf8' }).stderr).toMatch(/nope.js: no such file/);
});

(available ? test : test.skip)('DistributedDataParallel needs a process group', () => {
  expect(() => new torch.nn.parallel.DistributedDataParallel(new torch.nn.Linear(2, 2))).toThrow(/no process group \(call torch.distributed.initProcessGroup first\)/);
});

(available ? test : test.skip)('DPO on preference pairs: 2-way data parallel with batch B == 1 process with batch 2B (losses, adapter 1e-5; TRL\'s metrics over all ranks; evaluation shared between the ranks)', () => {
  const prefs = path.join(tmp, 'prefs.jsonl'), prefsEval = path.join(tmp, 'prefs-eval.jsonl');
  const pair = (i: number) => JSON.stringify({ prompt: `Q${i}: is it so?`, chosen: ' yes'.repeat(1 + i % 3), rejected: ' no'.repeat(1 + (i * 5) % 4) });
  fs.writeFileSync(prefs, Array.from({ length: 12 }, (_, i) => pair(i)).join('\n'));
  fs.writeFileSync(prefsEval, Array.from({ length: 5 }, (_, i) => pair(20 + i)).join('\n')); // (the ranks evaluate 3 and 2 of them)
  const args = (out: string) => ['train', '--model', modelDir, '--data', prefs, '--eval-data', prefsEval, '--eval-steps', '3', '--out', out, '--block-size', '24', '--max-steps', '3',
    '--lr', '1e-2', '--lora-r', '4', '--lora-dropout', '0', '--logging-steps', '1', '--save-steps', '0', '--master-port', '29667', '--beta', '0.3'];
  const one = path.join(tmp, 'dpo-one'), two = path.join(tmp, 'dpo-two');
  const r1 = spawnSync(process.execPath, [bin, ...args(one), '--batch-size', '4'], { encoding: 'utf8' });
  expect(r1.stderr).toBe('');
  const r2 = spawnSync(process.execPath, [bin, ...args(two), '--batch-size', '2', '--nproc-per-node', '2'], { encoding: 'utf8' });
  expect(r2.stderr).toBe('');
  expect(r2.status).toBe(0);
  const losses = (dir: string) => fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.loss !== undefined).map((e) => e.loss as number);
  const a = losses(one), b = losses(two);
  expect(a.length).toBe(3);
  expect(b.length).toBe(3);
  a.forEach((l, i) => expect(Math.abs(l - b[i]) / l).toBeLessThan(1e-5));
  expect(Math.abs(a[2] - Math.log(2))).toBeGreaterThan(1e-4); // (trained: off the reference)
  // TRL's metrics over every rank's pairs, as the one process's over its whole batch
  const margins = (dir: string) => fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.loss !== undefined).map((e) => [e['rewards/margins'], e['rewards/accuracies']] as number[]);
  const ma = margins(one), mb = margins(two);
  ma.forEach(([m, acc], i) => { expect(Math.abs(m - mb[i][0])).toBeLessThan(1e-6); expect(mb[i][1]).toBe(acc); });
  expect(ma.some(([m]) => Math.abs(m) > 1e-4)).toBe(true);
  // the eval metrics over all 5 pairs, each rank scoring its share, as the one process's
  const evalOf = (dir: string) => fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).find((e) => e.eval_loss !== undefined);
  const ea = evalOf(one), eb = evalOf(two);
  for (const k of ['eval_loss', 'eval_rewards/margins', 'eval_logps/chosen']) expect([k, Math.abs(ea[k] - eb[k]) / Math.abs(ea[k]) < 1e-5]).toEqual([k, true]);
  expect(eb['eval_rewards/accuracies']).toBe(ea['eval_rewards/accuracies']);
  const wa = torch.io.safetensors.loadFile(path.join(one, 'adapter_model.safetensors')).tensors;
  const wb = torch.io.safetensors.loadFile(path.join(two, 'adapter_model.safetensors')).tensors;
  for (const [k, t] of wa) expect(relErr(wb.get(k)!, t)).toBeLessThan(1e-5);
  // DPO going on from that adapter (--adapter): each rank's reference is the adapter loaded a second
  // time (TRL's ref_adapter_name), switched to in the middle of each step; still the one process's run
  const more = (out: string) => ['train', '--model', modelDir, '--adapter', one, '--data', prefs, '--out', out, '--block-size', '24', '--max-steps', '2',
    '--lr', '1e-2', '--logging-steps', '1', '--save-steps', '0', '--master-port', '29681', '--beta', '0.3'];
  const moreOne = path.join(tmp, 'dpo-more-one'), moreTwo = path.join(tmp, 'dpo-more-two');
  const m1 = spawnSync(process.execPath, [bin, ...more(moreOne), '--batch-size', '4'], { encoding: 'utf8' });
  expect(m1.stderr).toBe('');
  expect(m1.stdout).toContain('loaded a second time, frozen, as the adapter \'reference\'');
  const m2 = spawnSync(process.execPath, [bin, ...more(moreTwo), '--batch-size', '2', '--nproc-per-node', '2'], { encoding: 'utf8' });
  expect([m2.stderr, m2.status]).toEqual(['', 0]);
  const c = losses(moreOne), d = losses(moreTwo);
  expect([c.length, d.length]).toEqual([2, 2]);
  expect(c[0]).toBeCloseTo(Math.log(2), 6); // (the policy starts as its reference)
  c.forEach((l, i) => expect(Math.abs(l - d[i]) / l).toBeLessThan(1e-5));
  const wc = torch.io.safetensors.loadFile(path.join(moreOne, 'adapter_model.safetensors')).tensors;
  const wd = torch.io.safetensors.loadFile(path.join(moreTwo, 'adapter_model.safetensors')).tensors;
  expect([...wd.keys()]).toEqual([...wc.keys()]);
  for (const [k, t] of wc) expect([k, relErr(wd.get(k)!, t) < 1e-5]).toEqual([k, true]);
  const someB = [...wc.keys()].find((k) => k.endsWith('lora_B.weight'))!;
  expect(relErr(wc.get(someB)!, wa.get(someB)!)).toBeGreaterThan(1e-4); // (trained on from there)
});

(available ? test : test.skip)('DPO with bco_pair: 2-way data parallel == 1 process (its running mean of the batches\' mean rewards taken over both ranks; losses 1e-5, adapter 1e-4)', () => {
  const prefs = path.join(tmp, 'bco-prefs.jsonl');
  const pair = (i: number) => JSON.stringify({ prompt: `Q${i}: is it so?`, chosen: ' yes'.repeat(1 + i % 3), rejected: ' no'.repeat(1 + (i * 5) % 4) });
  fs.writeFileSync(prefs, Array.from({ length: 12 }, (_, i) => pair(i)).join('\n'));
  const args = (out: string) => ['train', '--model', modelDir, '--data', prefs, '--out', out, '--block-size', '24', '--max-steps', '4', '--lr', '2e-2', '--lora-r', '4',
    '--lora-dropout', '0', '--logging-steps', '1', '--save-steps', '0', '--master-port', '29687', '--beta', '2', '--loss-type', 'bco_pair'];
  const one = path.join(tmp, 'bco-one'), two = path.join(tmp, 'bco-two');
  const r1 = spawnSync(process.execPath, [bin, ...args(one), '--batch-size', '4'], { encoding: 'utf8' });
  expect(r1.stderr).toBe('');
  const r2 = spawnSync(process.execPath, [bin, ...args(two), '--batch-size', '2', '--nproc-per-node', '2'], { encoding: 'utf8' });
  expect([r2.stderr, r2.status]).toEqual(['', 0]);
  const losses = (dir: string) => fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.loss !== undefined).map((e) => e.loss as number);
  const a = losses(one), b = losses(two);
  expect([a.length, b.length]).toEqual([4, 4]);
  a.forEach((l, i) => expect(Math.abs(l - b[i]) / l).toBeLessThan(1e-5));
  const wa = torch.io.safetensors.loadFile(path.join(one, 'adapter_model.safetensors')).tensors;
  const wb = torch.io.safetensors.loadFile(path.join(two, 'adapter_model.safetensors')).tensors;
  // (1e-4: four steps at this rate carry the ranks' other summation order to ~1e-5 in lora_B; a centre of
  // the ranks' summed means instead of their mean is off by 4e-4 in the losses already)
  for (const [k, t] of wa) expect([k, relErr(wb.get(k)!, t) < 1e-4]).toEqual([k, true]);
});

(available ? test : test.skip)('CPO and SimPO (no reference): 2-way data parallel with batch B == 1 process with batch 2B (losses, nll_loss, eval, adapter 1e-5)', () => {
  const prefs = path.join(tmp, 'cpo-prefs.jsonl'), prefsEval = path.join(tmp, 'cpo-prefs-eval.jsonl');
  // (chosen completions of one length: CPO's NLL is a token mean over each rank's (TRL's too), and
  // so the mean of the ranks' is the whole batch's only where their chosen token counts agree)
  const pair = (i: number) => JSON.stringify({ prompt: `Q${i}: is it so?`, chosen: [' yes indeed', ' sure thing', ' of course'][i % 3], rejected: ' no'.repeat(1 + (i * 5) % 4) });
  fs.writeFileSync(prefs, Array.from({ length: 8 }, (_, i) => pair(i)).join('\n'));
  fs.writeFileSync(prefsEval, Array.from({ length: 5 }, (_, i) => pair(30 + i)).join('\n'));
  for (const [method, port] of [['cpo', 29683], ['simpo', 29685]] as const) {
    const args = (out: string) => ['train', '--model', modelDir, '--data', prefs, '--eval-data', prefsEval, '--eval-steps', '2', '--out', out, '--block-size', '24', '--max-steps', '2',
      '--lr', '1e-2', '--lora-r', '4', '--lora-dropout', '0', '--logging-steps', '1', '--save-steps', '0', '--master-port', String(port), '--method', method, '--beta', method === 'simpo' ? '2' : '0.2'];
    const one = path.join(tmp, `${method}-one`), two = path.join(tmp, `${method}-two`);
    const r1 = spawnSync(process.execPath, [bin, ...args(one), '--batch-size', '4'], { encoding: 'utf8' });
    expect([method, r1.stderr]).toEqual([method, '']);
    const r2 = spawnSync(process.execPath, [bin, ...args(two), '--batch-size', '2', '--nproc-per-node', '2'], { encoding: 'utf8' });
    expect([method, r2.stderr, r2.status]).toEqual([method, '', 0]);
    const log = (dir: string) => fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const [a, b] = [log(one), log(two)].map((l) => l.filter((e) => e.loss !== undefined));
    expect([method, a.length, b.length]).toEqual([method, 2, 2]);
    a.forEach((e, i) => {
      expect([method, i, Math.abs(e.loss - b[i].loss) / e.loss < 1e-5]).toEqual([method, i, true]);
      if (method === 'cpo') expect([method, i, Math.abs(e.nll_loss - b[i].nll_loss) < 1e-5 * e.nll_loss]).toEqual([method, i, true]);
    });
    const [ea, eb] = [log(one), log(two)].map((l) => l.find((e) => e.eval_loss !== undefined));
    expect([method, Math.abs(ea.eval_loss - eb.eval_loss) / Math.abs(ea.eval_loss) < 1e-5]).toEqual([method, true]);
    const wa = torch.io.safetensors.loadFile(path.join(one, 'adapter_model.safetensors')).tensors;
    const wb = torch.io.safetensors.loadFile(path.join(two, 'adapter_model.safetensors')).tensors;
    for (const [k, t] of wa) expect([method, k, relErr(wb.get(k)!, t) < 1e-5]).toEqual([method, k, true]);
  }
});

(available ? test : test.skip)('text classification and reward modeling: 2-way data parallel with batch B == 1 process with batch 2B (losses, adapter and head 1e-5, key rows of c_attn 1e-4; evaluation shared between the ranks)', () => {
  const words = ['good', 'fine', 'bad', 'poor', 'odd'];
  const labelled = path.join(tmp, 'labelled.jsonl'), labelledEval = path.join(tmp, 'labelled-eval.jsonl');
  const rows = (n: number, off: number) => Array.from({ length: n }, (_, i) => JSON.stringify({ text: `it was ${words[(i + off) % 5]}${' indeed'.repeat(i % 3)}`, label: ['pos', 'neg', 'mixed'][(i + off) % 3] }));
  fs.writeFileSync(labelled, rows(16, 0).join('\n'));
  fs.writeFileSync(labelledEval, rows(5, 2).join('\n')); // (the ranks evaluate 3 and 2 of them)
  const pairs = path.join(tmp, 'rm.jsonl');
  fs.writeFileSync(pairs, Array.from({ length: 16 }, (_, i) => JSON.stringify({ chosen: `yes ${words[i % 5]}`, rejected: `no${' no'.repeat(i % 4)}`, margin: (i % 3) * 0.2 })).join('\n'));
  for (const [task, data, port] of [['text-classification', labelled, 29669], ['reward-modeling', pairs, 29671]] as const) {
    const args = (out: string) => ['train', '--model', modelDir, '--task', task, '--data', data, '--out', out, '--block-size', '16', '--max-steps', '3',
      '--lr', '1e-2', '--lora-r', '4', '--lora-dropout', '0', '--logging-steps', '1', '--save-steps', '0', '--master-port', String(port),
      ...(task === 'text-classification' ? ['--eval-data', labelledEval, '--eval-steps', '3'] : [])];
    const one = path.join(tmp, `${task}-one`), two = path.join(tmp, `${task}-two`);
    const r1 = spawnSync(process.execPath, [bin, ...args(one), '--batch-size', '4'], { encoding: 'utf8' });
    expect([task, r1.stderr]).toEqual([task, '']);
    const r2 = spawnSync(process.execPath, [bin, ...args(two), '--batch-size', '2', '--nproc-per-node', '2'], { encoding: 'utf8' });
    expect([task, r2.stderr, r2.status]).toEqual([task, '', 0]);
    const log = (dir: string) => fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const a = log(one).filter((e) => e.loss !== undefined).map((e) => e.loss as number), b = log(two).filter((e) => e.loss !== undefined).map((e) => e.loss as number);
    expect([task, a.length, b.length]).toEqual([task, 3, 3]);
    a.forEach((l, i) => expect([task, i, Math.abs(l - b[i]) / l < 1e-5, l, b[i]]).toEqual([task, i, true, l, b[i]]));
    if (task === 'text-classification') {
      const [ea, eb] = [log(one), log(two)].map((l) => l.find((e) => e.eval_loss !== undefined));
      expect(Math.abs(ea.eval_loss - eb.eval_loss) / ea.eval_loss).toBeLessThan(1e-5);
      expect(eb.eval_accuracy).toBe(ea.eval_accuracy);
    }
    const wa = torch.io.safetensors.loadFile(path.join(one, 'adapter_model.safetensors')).tensors;
    const wb = torch.io.safetensors.loadFile(path.join(two, 'adapter_model.safetensors')).tensors;
    expect(wa.has('base_model.model.score.weight')).toBe(true);
    for (const [k, t] of wa) {
      if (!k.endsWith('c_attn.lora_B.weight')) {
        expect([task, k, relErr(wb.get(k)!, t) < 1e-5]).toEqual([task, k, true]);
        continue;
      }
      // c_attn's lora_B rows of the keys (C..2C of [q; k; v]): softmax ignores a shift of every
      // key alike, so those rows' gradient cancels along that direction and some entries are
      // rounding left over; Adam divides each by its own sqrt(v), raising that rounding to ~1e-5
      // of the largest weight. Queries and values within 1e-5, keys within 1e-4 (of the largest).
      const C = t.shape[0] / 3, scale = t.abs().max().item() as number;
      const diff = torch.tidy(() => wb.get(k)!.sub(t).abs());
      for (const [from, tol] of [[0, 1e-5], [C, 1e-4], [2 * C, 1e-5]]) {
        expect([task, k, from, torch.tidy(() => diff.narrow(0, from, C).max().item() as number) / scale < tol]).toEqual([task, k, from, true]);
      }
      diff.dispose();
    }
  }
});

test('backends: the build says which it has; asking for a missing or unknown one is a clear error', () => {
  const b = torch.distributed.backends();
  expect(b.includes('gloo')).toBe(available);
  if (!torch.buildInfo().builtWithCuda) {
    expect(b).not.toContain('nccl');
    expect(() => torch.distributed.initProcessGroup({ backend: 'nccl', rank: 0, worldSize: 1 })).toThrow(/no nccl.*CUDA libtorch/);
  }
  expect(() => torch.distributed.initProcessGroup({ backend: 'mpi' as 'gloo', rank: 0, worldSize: 1 })).toThrow(/unknown backend 'mpi'/);
  expect(torch.distributed.isInitialized()).toBe(false);
  const r = spawnSync(process.execPath, [bin, ...common(path.join(tmp, 'bad')), '--dist-backend', 'mpi'], { encoding: 'utf8' });
  expect(r.status).not.toBe(0);
  expect(r.stderr).toMatch(/--dist-backend must be auto, gloo or nccl/);
});

(available ? test : test.skip)('an error every worker meets (a flag that does not fit the data) is said once, not once per rank; one rank\'s own error is still said', async () => {
  const r = spawnSync(process.execPath, [bin, ...common(path.join(tmp, 'said-once')), '--nproc-per-node', '2', '--master-port', '29643', '--beta', '0.3'], { encoding: 'utf8', timeout: 120000 });
  expect(r.status).toBe(1);
  expect(r.stderr.split('\n').filter((l) => l.includes('--beta is for preference pairs')).length).toBe(1);
  expect(r.stderr).toMatch(/a worker failed \(exit 1\); all workers were stopped/);
  // (outside a launch, and for a message no other worker said, saidOnce says yes)
  const { saidOnce } = await import('../lib/cli/launch');
  expect(saidOnce('x')).toBe(true);
  const dir = fs.mkdtempSync(path.join(tmp, 'said-'));
  process.env.TSTORCH_LAUNCH_SAID = dir;
  try {
    expect([saidOnce('rank 1 only'), saidOnce('rank 1 only'), saidOnce('another')]).toEqual([true, false, true]);
  } finally {
    delete process.env.TSTORCH_LAUNCH_SAID;
  }
});

test('the launcher stops a worker that does not stop by itself: SIGTERM after the grace period', async () => {
  const { launch } = await import('../lib/cli/launch');
  // Rank 1 fails at once; rank 0 would run forever (as one stuck outside any collective).
  const script = path.join(tmp, 'worker.js');
  fs.writeFileSync(script, "if (process.env.RANK === '1') process.exit(3); else setInterval(() => {}, 1000);");
  const err = jest.spyOn(console, 'error').mockImplementation(() => {});
  const t0 = Date.now();
  const { code, interrupted } = await launch(script, [], { nprocPerNode: 2, nnodes: 1, nodeRank: 0, masterAddr: '127.0.0.1', masterPort: 29645, stopGraceMs: 500 });
  const ms = Date.now() - t0;
  const lines = err.mock.calls.map((c) => String(c[0]));
  err.mockRestore();
  expect(code).toBe(3);
  expect(interrupted).toBe(null);
  expect(lines.some((l) => /worker rank 1 exited with 3; stopping the others/.test(l))).toBe(true);
  expect(ms).toBeGreaterThanOrEqual(500); // rank 0 was given the grace period ...
  expect(ms).toBeLessThan(20000); // ... then stopped, long before the SIGKILL fallback
});

test('the launcher: a worker that stops on a signal of its own (exit 143, preempted) is an interrupt: no failure; the others get the signal only after the grace period', async () => {
  const { launch } = await import('../lib/cli/launch');
  // Rank 1 is preempted at once. Rank 0 either finishes within the grace period (as training
  // ranks do, told through their collective), or runs on and is then sent the signal.
  const script = path.join(tmp, 'preempted.js');
  fs.writeFileSync(script, `const fs = require('fs'), [mode, out] = process.argv.slice(2);
if (process.env.RANK === '1') process.exit(143);
else if (mode === 'finishes') setTimeout(() => fs.writeFileSync(out, 'finished'), 300);
else { process.on('SIGTERM', () => { fs.writeFileSync(out, 'told'); process.exit(143); }); setInterval(() => {}, 1000); }`);
  const err = jest.spyOn(console, 'error').mockImplementation(() => {});
  try {
    for (const mode of ['finishes', 'runs on']) {
      const out = path.join(tmp, `preempted-${mode.replace(' ', '-')}`);
      const t0 = Date.now();
      const r = await launch(script, [mode, out], { nprocPerNode: 2, nnodes: 1, nodeRank: 0, masterAddr: '127.0.0.1', masterPort: 29691, stopGraceMs: 1000 });
      expect(r).toEqual({ code: 143, interrupted: 'SIGTERM' });
      expect(fs.readFileSync(out, 'utf8')).toBe(mode === 'finishes' ? 'finished' : 'told');
      if (mode === 'runs on') expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
    }
    expect(err.mock.calls.map((c) => String(c[0])).filter((l) => /stopping the others/.test(l))).toEqual([]);
  } finally {
    err.mockRestore();
  }
});

(available ? test : test.skip)('KTO on 2 ranks: the KL reference point is averaged over the ranks before the loss (TRL\'s gather), and a 2-process KTO run trains', async () => {
  // each rank its own log-probabilities: its KL estimate differs; the loss must use the mean of both
  const [r0, r1] = await twoRanks('kto-gather', 29673, `
torch.manualSeed(10 + rank);
const [p, r, pk, rk] = [0, 1, 2, 3].map(() => torch.randn([4]).mul(3));
const desirable = [true, false, rank === 0, true];
const { loss, sums } = torch.train.ktoLoss(p, r, pk, rk.sub(rank + 1), desirable, { beta: 0.3, desirableWeight: 1.5, undesirableWeight: 0.7 }, true);
out({ loss: loss.item(), sums: sums.tolist(), p: p.tolist(), r: r.tolist(), pk: pk.tolist(), rk: rk.sub(rank + 1).tolist(), desirable });`) as { loss: number; sums: number[]; p: number[]; r: number[]; pk: number[]; rk: number[]; desirable: boolean[] }[];
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const localKL = [r0, r1].map((o) => Math.max(0, mean(o.pk.map((v, i) => v - o.rk[i]))));
  expect(Math.abs(localKL[0] - localKL[1])).toBeGreaterThan(0.1);
  const z = Math.max(0, mean(localKL));
  const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
  for (const o of [r0, r1]) {
    const losses = o.p.map((v, i) => {
      const lr = v - o.r[i];
      return o.desirable[i] ? 1.5 * (1 - sigmoid(0.3 * (lr - z))) : 0.7 * (1 - sigmoid(0.3 * (z - lr)));
    });
    expect(Math.abs(o.loss - mean(losses))).toBeLessThan(1e-6);
    expect(Math.abs(o.sums[6] - z)).toBeLessThan(1e-6); // (the kl logged: the shared one)
  }
  // the CLI with 2 processes: each rank its share of the examples, the log's metrics over both
  const kto = path.join(tmp, 'kto.jsonl');
  fs.writeFileSync(kto, Array.from({ length: 16 }, (_, i) => JSON.stringify({ prompt: `Q${i}: is it so?`, completion: i % 2 ? ' yes'.repeat(1 + (i % 3)) : ' no', label: i % 2 === 1 })).join('\n'));
  const out = path.join(tmp, 'kto-two');
  const r = spawnSync(process.execPath, [bin, 'train', '--model', modelDir, '--data', kto, '--out', out, '--block-size', '24', '--max-steps', '2', '--batch-size', '2',
    '--lr', '1e-2', '--lora-r', '4', '--logging-steps', '1', '--save-steps', '0', '--nproc-per-node', '2', '--master-port', '29675'], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const log = fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.loss !== undefined);
  expect(log.length).toBe(2);
  for (const e of log) expect(['loss', 'kl', 'rewards/chosen', 'rewards/rejected'].every((k) => Number.isFinite(e[k]))).toBe(true);
  expect(fs.existsSync(path.join(out, 'adapter_model.safetensors'))).toBe(true);
});
