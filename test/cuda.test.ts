// CUDA: only where a GPU is present (scripts/gpu-check.sh sets TSTORCH_TEST_CUDA=1; the
// default jest run leaves this file out, see jest.config.js). Checks CUDA tensors and autograd,
// the GPT-2 on CUDA against the CPU, and parity with the real transformers / peft.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as torch from '../lib';
import { fixtures, relErr, learnBpe, writeBpeFiles, settledLiveTensors, lessFlatGpt2 } from './helpers';
import { cases as opCases, flatten, maxErr, T } from './ops.cases';
import { _devicePieces } from '../lib/io/tensor_bytes';
import * as http from 'http';
import { requestHandler } from '../lib/cli/commands/serve';

const PY = process.env.TSTORCH_REF_PYTHON ?? 'python3';

test('CUDA is there and tensors round-trip', () => {
  expect(torch.cuda.isAvailable()).toBe(true);
  expect(torch.buildInfo().builtWithCuda).toBe(true);
  const a = torch.randn([64, 64]);
  const g = a.cuda();
  expect(g.device).toBe('cuda:0');
  expect(relErr(g.matmul(g).cpu(), a.matmul(a))).toBeLessThan(1e-5);
  const w = torch.randn([8, 8], { device: 'cuda', requiresGrad: true });
  w.matmul(w).tanh().sum().backward();
  expect(w.grad!.device).toBe('cuda:0');
  torch.cuda.synchronize();
  expect(torch.memory().bytesByDevice.cuda).toBeGreaterThan(0);
});

test('pinned memory and non-blocking copies', () => {
  const a = torch.randn([256, 64]);
  const p = a.pinMemory();
  expect(p.isPinned()).toBe(true);
  expect(a.isPinned()).toBe(false);
  const g = p.to({ device: 'cuda', nonBlocking: true });
  p.dispose(); // the host allocator keeps the block until the copy is done
  const back = g.mul(2).to({ device: 'cpu' });
  expect(relErr(back, a.mul(2))).toBeLessThan(1e-6);
  expect(() => g.pinMemory()).toThrow(/only CPU tensors/);
  // The dataset's CUDA batches take that path.
  const ds = new torch.data.TextDataset(Array.from({ length: 64 }, (_, i) => i), 8);
  const b = ds.batch([3, 0], 'cuda');
  expect(b.device).toBe('cuda:0');
  expect(b.cpu().tolist()).toEqual([[24, 25, 26, 27, 28, 29, 30, 31], [0, 1, 2, 3, 4, 5, 6, 7]]);
});

test('the Trainer on CUDA: same losses and adapter as on the CPU (LoRA, fp32)', async () => {
  // The tiny checkpoint with its dropouts off: CPU and CUDA draw different random masks.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-cuda-trainer-'));
  const dir = path.join(tmp, 'base');
  fs.mkdirSync(dir);
  const src = path.join(fixtures, 'gpt2', 'tiny');
  fs.copyFileSync(path.join(src, 'model.safetensors'), path.join(dir, 'model.safetensors'));
  const config = JSON.parse(fs.readFileSync(path.join(src, 'config.json'), 'utf8'));
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...config, attn_pdrop: 0, embd_pdrop: 0, resid_pdrop: 0 }));
  const tokens = Array.from({ length: 40 * 12 }, (_, i) => (i * 37 + 11) % 101);
  const runOn = async (device: string) => {
    // One initial adapter for both (made on the CPU, with B nonzero so that every weight moves).
    const model = await torch.GPT2LMHeadModel.fromPretrained(dir, { device, attnImplementation: 'eager' });
    await torch.lora.loadAdapter(model, path.join(tmp, 'init'));
    const trainer = new torch.Trainer(model, { outputDir: path.join(tmp, device), maxSteps: 6, perDeviceTrainBatchSize: 4,
      learningRate: 1e-3, loggingSteps: 1, saveSteps: 0, progress: false, device }, new torch.data.TextDataset(tokens, 12));
    const log = jest.spyOn(console, 'log').mockImplementation(() => {});
    try {
      const r = trainer.train();
      const lora = new Map([...model.namedParameters()].filter(([n]) => n.includes('lora_')).map(([n, p]) => [n, p.cpu()]));
      return { losses: r.logHistory.filter((e) => e.loss !== undefined).map((e) => e.loss as number), lora };
    } finally {
      log.mockRestore();
    }
  };
  const init = await torch.GPT2LMHeadModel.fromPretrained(dir);
  torch.manualSeed(0);
  torch.lora.applyLoRA(init, { r: 4, alpha: 8, dropout: 0 });
  torch.noGrad(() => { for (const [n, p] of init.namedParameters()) if (n.includes('lora_B')) p.normal_(0, 0.05); });
  await torch.lora.saveAdapter(init, path.join(tmp, 'init'));
  const cpu = await runOn('cpu');
  const gpu = await runOn('cuda');
  expect(gpu.losses.length).toBe(6);
  gpu.losses.forEach((l, i) => expect(Math.abs(l - cpu.losses[i]) / cpu.losses[i]).toBeLessThan(1e-4));
  expect(gpu.lora.size).toBe(2 * 2 * 4); // A and B of 4 adapted layers in each of 2 blocks
  for (const [n, p] of gpu.lora) expect(relErr(p, cpu.lora.get(n)!)).toBeLessThan(1e-3);
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('GPT-2 on CUDA matches the CPU, and transformers/peft on CUDA: logits, loss, grads, 10 LoRA steps', async () => {
  const dir = path.join(fixtures, 'gpt2', 'tiny');
  const cpu = await torch.GPT2LMHeadModel.fromPretrained(dir);
  const gpu = await torch.GPT2LMHeadModel.fromPretrained(dir, { device: 'cuda', attnImplementation: 'eager' });
  const ids = torch.tensor([[5, 17, 42, 8, 9, 10, 11, 3], [1, 2, 3, 4, 5, 6, 7, 8]], { dtype: 'int64' });
  const a = cpu.forward(ids, { labels: ids });
  const b = gpu.forward(ids.cuda(), { labels: ids.cuda() });
  expect(relErr(b.logits.cpu(), a.logits)).toBeLessThan(1e-4);
  b.loss!.backward();
  torch.lora.applyLoRA(cpu, { r: 4, alpha: 8 });
  torch.noGrad(() => { for (const [n, p] of cpu.namedParameters()) if (n.includes('lora_B')) p.normal_(0, 0.05); });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-cuda-'));
  await torch.lora.saveAdapter(cpu, tmp);
  const loraLogits = cpu.forward(ids).logits;
  fs.writeFileSync(path.join(tmp, 'ids.json'), JSON.stringify(ids.tolist()));
  const STEPS = 10;
  const r = spawnSync(PY, [path.join(__dirname, '..', 'scripts', 'gpu', 'parity_transformers.py'), dir, tmp, path.join(tmp, 'ids.json'), path.join(tmp, 'hf.safetensors'), String(STEPS)], { encoding: 'utf8' });
  if (r.status !== 0) console.error(r.stderr);
  expect(r.stdout.trim()).toBe('ok');
  const hf = torch.io.safetensors.loadFile(path.join(tmp, 'hf.safetensors')).tensors;
  expect(relErr(b.logits.cpu(), hf.get('base.logits')!)).toBeLessThan(1e-4);
  expect(Math.abs((b.loss!.item() as number) - (hf.get('base.loss')!.item() as number))).toBeLessThan(1e-4);
  for (const [n, p] of gpu.namedParameters()) {
    const ref = hf.get(`base.grad.${n}`);
    if (ref) expect(relErr(p.grad!.cpu(), ref)).toBeLessThan(1e-3);
  }
  expect(relErr(loraLogits, hf.get('lora.logits')!)).toBeLessThan(1e-4);

  // 10 LoRA training steps on CUDA from the same adapter, as peft + torch.optim.AdamW did them.
  const trainee = await torch.GPT2LMHeadModel.fromPretrained(dir, { device: 'cuda', attnImplementation: 'eager' });
  await torch.lora.loadAdapter(trainee, tmp);
  trainee.eval(); // dropout off, as the reference
  const params = trainee.parameters({ trainableOnly: true });
  const opt = new torch.optim.AdamW(params, { lr: 1e-3, weightDecay: 0.01 });
  const idsCuda = torch.keep(ids.cuda());
  const losses: number[] = [];
  for (let i = 0; i < STEPS; i++) {
    torch.tidy(() => {
      const loss = trainee.forward(idsCuda, { labels: idsCuda }).loss!;
      loss.backward();
      torch.nn.utils.clipGradNorm(params, 1.0);
      opt.step();
      opt.zeroGrad();
      losses.push(loss.item() as number);
    });
  }
  const refLosses = hf.get('train.losses')!.tolist() as number[];
  expect(refLosses.length).toBe(STEPS);
  losses.forEach((l, i) => expect(Math.abs(l - refLosses[i]) / Math.abs(refLosses[i])).toBeLessThan(1e-4));
  expect(losses[STEPS - 1]).toBeLessThan(losses[0]);
  let compared = 0;
  for (const [n, p] of trainee.namedParameters()) {
    if (!n.includes('lora_')) continue;
    expect(relErr(p.cpu(), hf.get(`train.${n}`)!)).toBeLessThan(1e-3);
    compared++;
  }
  expect(compared).toBe(2 * trainee.config.n_layer * 4); // A and B of c_attn, attn.c_proj, c_fc, mlp.c_proj
});

test('sdpa attention on CUDA (fused kernels) matches eager: fp32 logits and grads, bf16 loss', async () => {
  const dir = path.join(fixtures, 'gpt2', 'tiny');
  const eager = await torch.GPT2LMHeadModel.fromPretrained(dir, { device: 'cuda', attnImplementation: 'eager' });
  const sdpa = await torch.GPT2LMHeadModel.fromPretrained(dir, { device: 'cuda', attnImplementation: 'sdpa' });
  expect(torch.nn.functional.hasFusedAttention).toBe(true);
  const ids = torch.randint(0, eager.config.vocab_size, [4, eager.config.n_positions], { device: 'cuda' });
  const a = eager.forward(ids, { labels: ids });
  const b = sdpa.forward(ids, { labels: ids });
  expect(relErr(b.logits.cpu(), a.logits.cpu())).toBeLessThan(1e-4);
  a.loss!.backward();
  b.loss!.backward();
  const ga = new Map(eager.namedParameters());
  for (const [n, p] of sdpa.namedParameters()) expect(relErr(p.grad!.cpu(), ga.get(n)!.grad!.cpu())).toBeLessThan(1e-3);
  const bf16 = torch.autocast(() => sdpa.forward(ids, { labels: ids }).loss!, { deviceType: 'cuda', dtype: 'bfloat16' });
  expect(Math.abs((bf16.item() as number) - (a.loss!.item() as number)) / (a.loss!.item() as number)).toBeLessThan(2e-2);
  // Left padding under bf16 autocast: the float32 mask keeps padded rows finite, as eager's.
  const mask = torch.ones([4, ids.shape[1]], { dtype: 'int64', device: 'cuda' });
  torch.noGrad(() => mask.narrow(1, 0, 5).zero_());
  const padded = torch.noGrad(() => torch.autocast(() => sdpa.forward(ids, { attentionMask: mask }).logits, { deviceType: 'cuda', dtype: 'bfloat16' }));
  expect(padded.isfinite().all().item()).toBe(true);
  const ref = torch.noGrad(() => eager.forward(ids, { attentionMask: mask }).logits);
  expect(relErr(padded.narrow(1, 5, ids.shape[1] - 5).cpu(), ref.narrow(1, 5, ids.shape[1] - 5).cpu())).toBeLessThan(5e-2);
});

test('NCCL process group, world size 1: collectives and overlapped gradient sync on CUDA', () => {
  expect(torch.distributed.backends()).toContain('nccl');
  torch.distributed.initProcessGroup({ backend: 'nccl', rank: 0, worldSize: 1, masterAddr: '127.0.0.1', masterPort: 29561, timeoutMs: 60000 });
  try {
    expect(torch.distributed.getBackend()).toBe('nccl');
    torch.tidy(() => {
      const a = torch.arange(0, 6, 1, { dtype: 'float32', device: 'cuda' });
      torch.distributed.allReduce([a], { op: 'sum' });
      expect(a.cpu().tolist()).toEqual([0, 1, 2, 3, 4, 5]);
      torch.distributed.broadcast([a], 0);
      torch.distributed.barrier();
      // The Trainer's data-parallel path: hooks fill CUDA buckets during backward.
      const w = torch.keep(torch.randn([16, 16], { device: 'cuda', requiresGrad: true }));
      const b = torch.keep(torch.randn([16], { device: 'cuda', requiresGrad: true }));
      torch.distributed.registerGradSync([w, b], 256);
      torch.distributed.prepareGradSync();
      w.matmul(w).add(b).tanh().sum().backward();
      torch.distributed.finishGradSync();
      const gw = w.grad!.cpu(), gb = b.grad!.cpu();
      // Reference: the same gradients without any sync (world size 1: the mean is the value).
      const w2 = w.detach().clone().requiresGrad_(), b2 = b.detach().clone().requiresGrad_();
      w2.matmul(w2).add(b2).tanh().sum().backward();
      expect(relErr(gw, w2.grad!.cpu())).toBeLessThan(1e-6);
      expect(relErr(gb, b2.grad!.cpu())).toBeLessThan(1e-6);
      // Gradient accumulation: a backward without prepareGradSync adds locally; the prepared one
      // sends the whole .grad (the two backwards' sum here).
      w.grad = null;
      b.grad = null;
      w.matmul(w).add(b).tanh().sum().backward();
      torch.distributed.prepareGradSync();
      w.matmul(w).add(b).tanh().sum().backward();
      torch.distributed.finishGradSync();
      expect(relErr(w.grad!.cpu(), w2.grad!.cpu().mul(2))).toBeLessThan(1e-6);
      expect(relErr(b.grad!.cpu(), b2.grad!.cpu().mul(2))).toBeLessThan(1e-6);
      w.dispose();
      b.dispose();
      // torch.distributed's other collectives through NCCL (world size 1: each is the identity)
      // (float32 throughout: NCCL gathers and scatters between tensors of one dtype)
      const c = torch.tensor([1, -2, 3], { device: 'cuda', dtype: 'float32' });
      for (const op of ['max', 'min', 'product', 'avg'] as const) torch.distributed.allReduce(c, { op });
      const ints = torch.tensor([7, -7], { device: 'cuda', dtype: 'int64' });
      torch.distributed.allReduce(ints, { op: 'avg' }); // integers stay integers, as NCCL's ncclAvg
      expect([ints.dtype, ints.cpu().tolist()]).toEqual(['int64', [7, -7]]);
      const parts = [torch.zeros([3], { device: 'cuda' })];
      torch.distributed.allGather(parts, c);
      const rs = torch.zeros([3], { device: 'cuda' });
      torch.distributed.reduceScatter(rs, [c]);
      expect([c.cpu().tolist(), parts[0].cpu().tolist(), rs.cpu().tolist()]).toEqual([[1, -2, 3], [1, -2, 3], [1, -2, 3]]);
      expect(torch.distributed.allGatherObject({ ok: true })).toEqual([{ ok: true }]);
    });
    // DistributedDataParallel on CUDA: the gradients when backward returns are the plain ones
    torch.tidy(() => {
      torch.manualSeed(3);
      const net = new torch.nn.Sequential(new torch.nn.Linear(8, 16), new torch.nn.Tanh(), new torch.nn.Linear(16, 1)).to({ device: 'cuda' });
      const ref = net.deepCopy();
      const ddp = new torch.nn.parallel.DistributedDataParallel(net);
      const x = torch.randn([4, 8], { device: 'cuda' });
      (ddp.forward(x) as torch.Tensor).sum().backward();
      (ref.forward(x) as torch.Tensor).sum().backward();
      net.parameters().forEach((p, i) => expect(relErr(p.grad!.cpu(), ref.parameters()[i].grad!.cpu())).toBeLessThan(1e-6));
    });
  } finally {
    torch.distributed.destroyProcessGroup();
  }
});

test('CUDA allocator statistics in torch.memory() and torch.cuda', () => {
  torch.cuda.synchronize();
  torch.cuda.resetPeakMemoryStats();
  const before = torch.cuda.memoryStats()!;
  expect(before).not.toBeNull();
  const t = torch.zeros([1024, 1024], { device: 'cuda' }); // 4 MiB
  const during = torch.memory().cudaAllocator!;
  expect(during.allocated - before.allocated).toBeGreaterThanOrEqual(4 << 20);
  expect(during.peakAllocated).toBeGreaterThanOrEqual(during.allocated);
  expect(during.reserved).toBeGreaterThanOrEqual(during.allocated);
  t.dispose();
  const after = torch.cuda.memoryStats()!;
  expect(after.allocated).toBe(before.allocated);
  expect(after.peakAllocated).toBeGreaterThanOrEqual(before.allocated + (4 << 20));
  torch.cuda.emptyCache();
  expect(torch.cuda.memoryStats()!.reserved).toBeLessThanOrEqual(after.reserved);
});

test('transformers reads the tokenizer files tstorch writes: GPT2Tokenizer and the fast tokenizer encode as tstorch does', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-hf-tok-'));
  torch.tokenizer.savePretrained(dir, { modelMaxLength: 1024 });
  // (Not the Brown Corpus: the GPU check's packed node_modules leave it out.)
  const text = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8') + fs.readFileSync(path.join(__dirname, '..', 'DESIGN.md'), 'utf8') +
    '\nFrançois Gö naïve café 😀 ½ — “quotes” it\'s we\'ll  two   spaces\tand\ttabs <|endoftext|> end  ';
  fs.writeFileSync(path.join(dir, 'text.txt'), text);
  const py = `
import json, sys
from transformers import AutoTokenizer
d = sys.argv[1]
text = open(d + "/text.txt", encoding="utf-8").read()
out = {"fast": AutoTokenizer.from_pretrained(d)(text)["input_ids"]}
try:  # the Python BPE class, where this transformers still has it
    from transformers import GPT2Tokenizer
    out["slow"] = GPT2Tokenizer.from_pretrained(d)(text)["input_ids"]
except Exception as e:
    out["slow_error"] = repr(e)
print(json.dumps(out))`;
  const r = spawnSync(PY, ['-c', py, dir], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) console.error(r.stderr);
  const got = JSON.parse(r.stdout.trim().split('\n').pop()!);
  const ids = torch.tokenizer.encode(text);
  expect(ids.length).toBeGreaterThan(5000);
  expect(got.fast).toEqual(ids);
  if (got.slow_error) console.warn(`GPT2Tokenizer not checked: ${got.slow_error}`);
  else expect(got.slow).toEqual(ids);
});

test('gradient checkpointing on CUDA: the CUDA generator is replayed, gradients as the plain step', async () => {
  const step = async (checkpointing: boolean) => {
    const m = await torch.GPT2LMHeadModel.fromPretrained(path.join(fixtures, 'gpt2', 'tiny'), { device: 'cuda' });
    torch.manualSeed(1);
    torch.lora.applyLoRA(m, { r: 4, alpha: 8, dropout: 0.1 });
    torch.noGrad(() => { for (const [n, p] of m.namedParameters()) if (n.includes('lora_B')) p.normal_(0, 0.05); });
    m.train();
    if (checkpointing) m.gradientCheckpointingEnable();
    torch.manualSeed(7); // seeds the CUDA generators too
    const ids = torch.randint(0, 101, [3, 16]).cuda();
    const loss = m.forwardBackward(ids).item() as number;
    const next = torch.rand([3], { device: 'cuda' }).cpu().tolist();
    return { loss, next, grads: new Map(m.namedParameters({ trainableOnly: true }).map(([n, p]) => [n, p.grad!.cpu()])) };
  };
  const plain = await step(false), ckpt = await step(true);
  expect(ckpt.loss).toBeCloseTo(plain.loss, 6);
  expect(ckpt.next).toEqual(plain.next);
  expect(plain.grads.size).toBe(16);
  for (const [n, g] of plain.grads) expect(relErr(ckpt.grads.get(n)!, g)).toBeLessThan(1e-5);
});

test('the Trainer on CUDA resumes exactly with dropout on (the checkpoint holds the CUDA generator too)', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-cuda-resume-'));
  const tokens = Array.from({ length: 40 * 12 }, (_, i) => (i * 37 + 11) % 101);
  const train = async (out: string, resume: boolean) => {
    const model = await torch.GPT2LMHeadModel.fromPretrained(path.join(fixtures, 'gpt2', 'tiny'), { device: 'cuda' });
    torch.manualSeed(1);
    torch.lora.applyLoRA(model, { r: 4, alpha: 8, dropout: 0.1 });
    const trainer = new torch.Trainer(model, { outputDir: out, maxSteps: 8, perDeviceTrainBatchSize: 4, learningRate: 1e-3, loggingSteps: 1,
      saveSteps: 4, progress: false, device: 'cuda', resumeFromCheckpoint: resume || undefined }, new torch.data.TextDataset(tokens, 12));
    const log = jest.spyOn(console, 'log').mockImplementation(() => {});
    try {
      return trainer.train().logHistory.filter((e) => e.loss !== undefined).map((e) => e.loss);
    } finally {
      log.mockRestore();
    }
  };
  const full = await train(path.join(tmp, 'full'), false);
  expect(fs.existsSync(path.join(tmp, 'full', 'checkpoint-4', 'rng_state_cuda.bin'))).toBe(true);
  fs.mkdirSync(path.join(tmp, 'resumed'));
  fs.cpSync(path.join(tmp, 'full', 'checkpoint-4'), path.join(tmp, 'resumed', 'checkpoint-4'), { recursive: true });
  expect(await train(path.join(tmp, 'resumed'), true)).toEqual(full);
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('padded prompt-completion examples on CUDA: loss and gradients as transformers\' GPT2LMHeadModel with the same batch (eager and sdpa)', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-cuda-sft-'));
  torch.manualSeed(0);
  const dir = path.join(tmp, 'model');
  const init = new torch.GPT2LMHeadModel({ vocab_size: 50257, n_positions: 64, n_embd: 32, n_layer: 2, n_head: 4 });
  await init.savePretrained(dir);
  init.dispose();
  const ds = torch.data.ExampleDataset.fromPromptCompletions([
    { prompt: 'Question: who presided?\nAnswer:', completion: ' Judge Durwood Pye.' },
    { prompt: 'Q: 2+2?\nA:', completion: ' 4' },
    { prompt: 'Translate: the house\n', completion: 'la maison, where the family lives' },
  ], { maxLength: 48 });
  const cpuBatch = ds.collate([0, 1, 2]);
  fs.writeFileSync(path.join(tmp, 'batch.json'), JSON.stringify({
    input_ids: cpuBatch.inputIds.tolist(), labels: cpuBatch.labels.tolist(), attention_mask: cpuBatch.attentionMask!.tolist(),
  }));
  const py = `
import json, sys, torch
from safetensors.torch import save_file
from transformers import GPT2LMHeadModel
d, attn = sys.argv[1], sys.argv[2]
b = {k: torch.tensor(v, device="cuda") for k, v in json.load(open(d + "/batch.json")).items()}
m = GPT2LMHeadModel.from_pretrained(d + "/model", attn_implementation=attn).cuda().eval()
out = m(**b)
out.loss.backward()
res = {"loss": out.loss.detach().reshape(1).cpu()}
for n, p in m.named_parameters():
    res["grad." + n] = p.grad.detach().float().cpu()
save_file(res, d + "/hf-" + attn + ".safetensors")`;
  for (const attn of ['eager', 'sdpa'] as const) {
    const r = spawnSync(PY, ['-c', py, tmp, attn], { encoding: 'utf8' });
    if (r.status !== 0) console.error(r.stderr);
    expect(r.status).toBe(0);
    const ref = torch.io.safetensors.loadFile(path.join(tmp, `hf-${attn}.safetensors`)).tensors;
    const model = await torch.GPT2LMHeadModel.fromPretrained(dir, { device: 'cuda', attnImplementation: attn });
    const batch = ds.collate([0, 1, 2], 'cuda'); // (through pinned memory)
    expect(batch.attentionMask!.device).toBe('cuda:0');
    const loss = model.forwardBackward(batch.inputIds, { labels: batch.labels, attentionMask: batch.attentionMask }).item() as number;
    expect(Math.abs(loss - (ref.get('loss')!.item() as number))).toBeLessThan(1e-5);
    let n = 0;
    for (const [name, p] of model.namedParameters()) {
      expect(relErr(p.grad!.cpu(), ref.get(`grad.${name}`)!)).toBeLessThan(1e-4);
      n++;
    }
    expect(n).toBe(2 * 12 + 4);
    model.dispose();
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('pytorch_model.bin written by this machine\'s transformers (torch 2.x\'s zip format) loads as its safetensors does', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-cuda-bin-'));
  const py = `
import os, sys, torch
from transformers import GPT2LMHeadModel
m = GPT2LMHeadModel.from_pretrained(sys.argv[1])
m.save_pretrained(sys.argv[2], safe_serialization=False)
# (transformers 5 writes safetensors only: the .bin is then torch.save's own, the same zip format,
# with lm_head.weight sharing wte's storage)
if not os.path.exists(os.path.join(sys.argv[2], "pytorch_model.bin")):
    torch.save(m.state_dict(), os.path.join(sys.argv[2], "pytorch_model.bin"))
    for f in os.listdir(sys.argv[2]):
        if f.endswith(".safetensors") or f.endswith(".safetensors.index.json"):
            os.remove(os.path.join(sys.argv[2], f))`;
  const r = spawnSync(PY, ['-c', py, path.join(fixtures, 'gpt2', 'tiny'), path.join(tmp, 'bin')], { encoding: 'utf8' });
  if (r.status !== 0) console.error(r.stderr);
  expect(fs.existsSync(path.join(tmp, 'bin', 'pytorch_model.bin'))).toBe(true);
  const ids = torch.tensor([[5, 17, 3, 99, 42, 8]], { dtype: 'int64' });
  const a = (await torch.GPT2LMHeadModel.fromPretrained(path.join(tmp, 'bin'))).forward(ids).logits;
  const b = (await torch.GPT2LMHeadModel.fromPretrained(path.join(fixtures, 'gpt2', 'tiny'))).forward(ids).logits;
  expect(a.sub(b).abs().max().item()).toBe(0);
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('a DoRA adapter written by tstorch loads in the real PEFT (use_dora) and gives the same logits on CUDA', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-cuda-dora-'));
  const base = path.join(fixtures, 'gpt2', 'tiny');
  const m = await torch.GPT2LMHeadModel.fromPretrained(base);
  torch.manualSeed(4);
  torch.lora.applyLoRA(m, { r: 4, alpha: 8, useDora: true });
  torch.noGrad(() => {
    for (const [n, p] of m.namedParameters()) if (n.includes('lora_B')) p.normal_(0, 0.05);
    for (const [, l] of torch.lora.loraLayers(m)) l.lora_magnitude_vector.mul_(1.2);
  });
  await torch.lora.saveAdapter(m, path.join(tmp, 'adapter'));
  const ids = [[5, 17, 42, 8, 9, 10, 11, 3]];
  fs.writeFileSync(path.join(tmp, 'ids.json'), JSON.stringify(ids));
  const py = `
import json, sys, torch
from safetensors.torch import save_file
from transformers import GPT2LMHeadModel
from peft import PeftModel
d, base = sys.argv[1], sys.argv[2]
model = PeftModel.from_pretrained(GPT2LMHeadModel.from_pretrained(base, attn_implementation="eager"), d + "/adapter").cuda().eval()
ids = torch.tensor(json.load(open(d + "/ids.json")), device="cuda")
save_file({"logits": model(input_ids=ids).logits.detach().float().cpu()}, d + "/peft.safetensors")`;
  const r = spawnSync(PY, ['-c', py, tmp, base], { encoding: 'utf8' });
  if (r.status !== 0) console.error(r.stderr);
  expect(r.status).toBe(0);
  const want = torch.io.safetensors.loadFile(path.join(tmp, 'peft.safetensors')).tensors.get('logits')!;
  m.to({ device: 'cuda' }).eval();
  const got = m.forward(torch.tensor(ids, { dtype: 'int64', device: 'cuda' })).logits.cpu();
  expect(relErr(got, want)).toBeLessThan(1e-4);
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Runs a test's Python (transformers) with its folder as the argument; what it wrote to want.json. */
function pythonWant(py: string, dir: string) {
  const r = spawnSync(PY, ['-c', py, dir], { encoding: 'utf8' });
  if (r.status !== 0) console.error(r.stderr);
  expect(r.status).toBe(0);
  return JSON.parse(fs.readFileSync(path.join(dir, 'want.json'), 'utf8'));
}

/** The Python side of the generate tests: transformers' GPT-2, the spec a test wrote, its prompts' longest length L. */
const PY_GENERATE_HEAD = `
import json, sys, torch
from transformers import GPT2LMHeadModel
d = sys.argv[1]
spec = json.load(open(d + "/spec.json"))
prompts = spec["prompts"]
L = max(len(p) for p in prompts)`;

test('beam search and the logits processors as transformers\' generate (num_beams, no_repeat_ngram_size, ...) on CPU and CUDA', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-cuda-beams-'));
  const m = lessFlatGpt2();
  await m.savePretrained(tmp);
  const prompts = [[5, 17, 42, 8, 9, 3], [1], [7, 60, 7, 33]];
  const cases = [
    { num_beams: 4, num_return_sequences: 2, length_penalty: 1.0, early_stopping: false },
    { num_beams: 3, num_return_sequences: 3, length_penalty: 0.5, early_stopping: true, no_repeat_ngram_size: 2, repetition_penalty: 1.3, min_new_tokens: 4 },
    { num_beams: 3, num_return_sequences: 1, length_penalty: 2.0, early_stopping: 'never' },
    { num_beams: 1, num_return_sequences: 1, no_repeat_ngram_size: 3, min_new_tokens: 5 },
  ];
  fs.writeFileSync(path.join(tmp, 'spec.json'), JSON.stringify({ prompts, cases }));
  const py = `${PY_GENERATE_HEAD}
out = {}
for device in ["cpu", "cuda"]:
    model = GPT2LMHeadModel.from_pretrained(d, attn_implementation="eager").to(device).eval()
    ids = torch.tensor([[17] * (L - len(p)) + p for p in prompts], device=device)
    mask = torch.tensor([[0] * (L - len(p)) + [1] * len(p) for p in prompts], device=device)
    res = []
    for c in spec["cases"]:
        g = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=12, do_sample=False, eos_token_id=17, pad_token_id=17,
                           output_scores=True, return_dict_in_generate=True, **c)
        seqs = g.sequences.tolist()
        n = c["num_return_sequences"]
        res.append({"sequences": [s[L - len(prompts[i // n]):] for i, s in enumerate(seqs)],
                    "scores": g.sequences_scores.tolist() if c["num_beams"] > 1 else []})
    out[device] = res
json.dump(out, open(d + "/want.json", "w"))`;
  const want = pythonWant(py, tmp);
  for (const device of ['cpu', 'cuda'] as const) {
    m.to({ device }).eval();
    cases.forEach((c, i) => {
      const opts: torch.GenerateOptions = {
        maxNewTokens: 12, eosTokenId: 17, numBeams: c.num_beams, numReturnSequences: c.num_return_sequences, lengthPenalty: c.length_penalty,
        earlyStopping: c.early_stopping as boolean | 'never' | undefined, noRepeatNgramSize: c.no_repeat_ngram_size, repetitionPenalty: c.repetition_penalty, minNewTokens: c.min_new_tokens,
      };
      const got = c.num_beams > 1 ? m.beamSearch(prompts, opts) : { sequences: m.generate(prompts, opts), scores: [] };
      expect({ device, case: i, sequences: got.sequences }).toEqual({ device, case: i, sequences: want[device][i].sequences });
      got.scores.forEach((s, k) => expect(Math.abs(s - want[device][i].scores[k])).toBeLessThan(1e-4));
    });
  }
  m.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('a pad token of its own (pad_token_id) and assisted decoding (assistant_model) as transformers\' generate, on CPU and CUDA', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-cuda-pad-'));
  // (and a one-layer assistant of its vocabulary, sharing some of its embedding)
  const m = lessFlatGpt2();
  const a = new torch.GPT2LMHeadModel({ vocab_size: 64, n_positions: 40, n_embd: 16, n_layer: 1, n_head: 2, eos_token_id: 63, bos_token_id: 63 });
  torch.tidy(() => torch.noGrad(() => { a.transformer.wte.weight.copy_(m.transformer.wte.weight.narrow(1, 0, 16)); }));
  await m.savePretrained(path.join(tmp, 'model'));
  await a.savePretrained(path.join(tmp, 'assistant'));
  const prompts = [[5, 17, 42, 8, 9, 3], [1], [7, 60, 7, 33]];
  const cases = [
    { num_beams: 1, repetition_penalty: 1.3 },
    { num_beams: 4, num_return_sequences: 3 },
  ];
  fs.writeFileSync(path.join(tmp, 'spec.json'), JSON.stringify({ prompts, cases }));
  const py = `${PY_GENERATE_HEAD}
out = {}
for device in ["cpu", "cuda"]:
    model = GPT2LMHeadModel.from_pretrained(d + "/model", attn_implementation="eager").to(device).eval()
    assistant = GPT2LMHeadModel.from_pretrained(d + "/assistant", attn_implementation="eager").to(device).eval()
    ids = torch.tensor([[5] * (L - len(p)) + p for p in prompts], device=device)
    mask = torch.tensor([[0] * (L - len(p)) + [1] * len(p) for p in prompts], device=device)
    padded = []
    for c in spec["cases"]:
        g = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=12, do_sample=False, eos_token_id=17, pad_token_id=5, **c)
        n = c.get("num_return_sequences", 1)
        padded.append([s[L - len(prompts[i // n]):] for i, s in enumerate(g.tolist())])
    assisted = []
    for p in prompts:
        x = torch.tensor([p], device=device)
        g = model.generate(input_ids=x, attention_mask=torch.ones_like(x), assistant_model=assistant, max_new_tokens=20, do_sample=False, eos_token_id=17, pad_token_id=17)
        assisted.append(g[0].tolist())
    out[device] = {"padded": padded, "assisted": assisted}
json.dump(out, open(d + "/want.json", "w"))`;
  const want = pythonWant(py, tmp);
  for (const device of ['cpu', 'cuda'] as const) {
    m.to({ device }).eval();
    a.to({ device });
    cases.forEach((c, i) => {
      const opts: torch.GenerateOptions = { maxNewTokens: 12, eosTokenId: 17, padTokenId: 5, numBeams: c.num_beams, numReturnSequences: c.num_return_sequences, repetitionPenalty: c.repetition_penalty };
      expect({ device, case: i, sequences: m.generate(prompts, opts) }).toEqual({ device, case: i, sequences: want[device].padded[i] });
    });
    prompts.forEach((p, i) => {
      const got = m.generate([p], { maxNewTokens: 20, eosTokenId: 17, assistantModel: a })[0];
      expect({ device, prompt: i, got }).toEqual({ device, prompt: i, got: want[device].assisted[i] });
    });
  }
  // (the pad shows: some sequence ended before the others and was continued with 5, not 17)
  expect(want.cpu.padded.flat().some((s: number[]) => s.some((t, j) => t === 17 && s[j + 1] === 5))).toBe(true);
  m.dispose();
  a.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('contrastive search, frequency/presence penalties, prompt lookup, onLogits, generateAsync and continuous batching on CUDA give the CPU\'s tokens; speculative sampling runs there; serve\'s logprobs as the CPU\'s (1e-4)', async () => {
  const m = lessFlatGpt2();
  const a = new torch.GPT2LMHeadModel({ vocab_size: 64, n_positions: 40, n_embd: 16, n_layer: 1, n_head: 2, eos_token_id: 63, bos_token_id: 63 }).eval();
  const prompts = [[5, 17, 42, 8, 9, 3], [1], [7, 60, 7, 33]];
  const cases: torch.GenerateOptions[] = [
    { penaltyAlpha: 0.6, topK: 4 },
    { frequencyPenalty: 1.5, presencePenalty: 0.5, repetitionPenalty: 1.2 },
    { penaltyAlpha: 0.4, topK: 5, frequencyPenalty: 1, noRepeatNgramSize: 3 },
  ];
  // the serve's answer with logprobs (echo too), for the model where it is now
  const served = async (): Promise<any> => {
    const server = http.createServer(requestHandler({ model: m, tokenizer: torch.tokenizer, name: 'm' }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const r = await fetch(`http://127.0.0.1:${(server.address() as { port: number }).port}/v1/completions`, {
        method: 'POST', body: JSON.stringify({ prompt: prompts[0], max_tokens: 8, temperature: 0, logprobs: 3, echo: true, frequency_penalty: 0.5 }),
      });
      expect(r.status).toBe(200);
      return ((await r.json()) as any).choices[0].logprobs;
    } finally {
      await new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); });
    }
  };
  const results: Record<string, any> = {};
  for (const device of ['cpu', 'cuda'] as const) {
    m.to({ device });
    a.to({ device });
    const before = await settledLiveTensors(); // (garbage finalized during the awaits does not count)
    const batched = cases.map((c) => m.generate(prompts, { ...c, maxNewTokens: 12, eosTokenId: 17 }));
    const lookup = m.generate([[7, 60, 7, 33, 7, 60, 7]], { promptLookupNumTokens: 2, maxNewTokens: 12, eosTokenId: null });
    // onLogits: the raw logits on the model's device, as outputLogits records them
    const seen: number[][][] = [];
    const out = m.generate(prompts, { maxNewTokens: 4, eosTokenId: null, returnDictInGenerate: true, outputLogits: true, onLogits: (l) => { expect(l.device.startsWith(device)).toBe(true); seen.push(l.tolist() as number[][]); } });
    expect(seen).toEqual(out.logits!.map((t) => t.tolist()));
    for (const t of out.logits!) t.dispose();
    // generateAsync: the same tokens; aborted after two steps, every tensor freed
    expect(await m.generateAsync(prompts, { ...cases[0], maxNewTokens: 12, eosTokenId: 17 })).toEqual(batched[0]);
    const controller = new AbortController();
    let steps = 0;
    await expect(m.generateAsync(prompts, { maxNewTokens: 12, signal: controller.signal, onToken: () => { if (++steps === 2) controller.abort(); } })).rejects.toThrow(/abort/i);
    // continuous batching: concurrent generations sharing passes, each generate()'s tokens alone
    const batcher = new torch.GenerationBatcher(m);
    const shared = await Promise.all(prompts.map((p, i) => batcher.generate([p], { ...cases[1], maxNewTokens: 12 + i, eosTokenId: 17 })));
    expect(shared).toEqual(prompts.map((p, i) => m.generate([p], { ...cases[1], maxNewTokens: 12 + i, eosTokenId: 17 })));
    expect(batcher.stats.batchedPasses).toBeGreaterThan(5);
    // speculative sampling: tokens of the vocabulary, the same from the same seed
    const sampled = () => m.generate([prompts[0]], { assistantModel: a, doSample: true, seed: 3, topK: 8, maxNewTokens: 12, eosTokenId: null })[0];
    const s1 = sampled();
    expect(s1).toHaveLength(prompts[0].length + 12);
    expect(s1.every((t) => Number.isInteger(t) && t >= 0 && t < 64)).toBe(true);
    expect(sampled()).toEqual(s1);
    results[device] = { batched, lookup, logprobs: await served() };
    expect(await settledLiveTensors()).toBe(before);
  }
  expect(results.cuda.batched).toEqual(results.cpu.batched);
  expect(results.cuda.lookup).toEqual(results.cpu.lookup);
  const [cpu, cuda] = [results.cpu.logprobs, results.cuda.logprobs];
  expect(cuda.tokens).toEqual(cpu.tokens);
  expect(cuda.tokens).toHaveLength(prompts[0].length + 8);
  cuda.token_logprobs.forEach((v: number | null, j: number) => (j === 0 ? expect(v).toBeNull() : expect(Math.abs(v! - cpu.token_logprobs[j])).toBeLessThan(1e-4)));
  m.dispose();
  a.dispose();
});

// The op cases checked against PyTorch on the CPU (test/ops.parity.test.ts), run again with CUDA
// inputs and CUDA as the default device (so tensors a case makes are on CUDA too): outputs and
// gradients must be the CPU's (float64, 1e-8; integers exactly).
test('the tensor API beyond GPT-2 on CUDA: indexing, linalg, losses, conv, pooling, norms, autograd.grad as on the CPU', () => {
  const run = (c: (typeof opCases)[number], xs: T[]) => {
    const args = xs.map((x, i) => (x.dtype.startsWith('float') && !c.constants?.includes(i) ? x.detach().clone().requiresGrad_() : x));
    const outs = flatten(c.ts(...args));
    const needGrad = outs.filter((o): o is T => o instanceof torch.Tensor && o.requiresGrad);
    if (needGrad.length) needGrad.map((o) => o.sum()).reduce((a, b) => a.add(b)).backward();
    return {
      outs: outs.map((o) => (o instanceof torch.Tensor ? o.cpu() : o)),
      grads: args.map((x) => (x.requiresGrad && x.grad ? x.grad.cpu() : null)),
    };
  };
  for (const c of opCases) {
    torch.tidy(() => {
      torch.manualSeed(7);
      const xs = c.inputs();
      const cpu = run(c, xs);
      torch.setDefaultDevice('cuda');
      let gpu: ReturnType<typeof run>;
      try {
        gpu = run(c, xs.map((x) => x.cuda()));
      } finally {
        torch.setDefaultDevice('cpu');
      }
      expect([c.name, gpu.outs.length]).toEqual([c.name, cpu.outs.length]);
      cpu.outs.forEach((want, k) => {
        const got = gpu.outs[k];
        const where = `${c.name} output ${k}`;
        if (c.cudaNondeterministic?.includes(k)) return;
        if (!(want instanceof torch.Tensor)) return expect([where, got]).toEqual([where, want]);
        const g = got as T;
        expect([where, g.shape]).toEqual([where, want.shape]);
        if (want.dtype.startsWith('float')) expect([where, maxErr(g, want) < 1e-8]).toEqual([where, true]);
        else expect([where, g.tolist()]).toEqual([where, want.tolist()]);
      });
      cpu.grads.forEach((want, i) => {
        if (!want) return expect(gpu.grads[i]).toBeNull();
        expect([`${c.name} grad ${i}`, maxErr(gpu.grads[i]!, want) < 1e-8]).toEqual([`${c.name} grad ${i}`, true]);
      });
    });
  }
});

// The torch.nn layers beyond GPT-2 (checked against PyTorch on the CPU in nn.modules, rnn and
// transformer tests) on CUDA: a module moved there gives the CPU's outputs, gradients and, after
// 3 SGD steps under OneCycleLR, weights and running statistics (float64, so no TF32 path).
test('torch.nn layers on CUDA (CNN with BatchNorm, LSTM, TransformerEncoder) train as on the CPU', () => {
  const nn = torch.nn;
  const makers: [string, () => torch.nn.Module, number[], (m: never, x: T) => T][] = [
    ['cnn', () => new nn.Sequential(new nn.Conv2d(3, 8, 3, { padding: 1 }), new nn.BatchNorm2d(8), new nn.ReLU(), new nn.MaxPool2d(2), new nn.Flatten(), new nn.Linear(8 * 4 * 4, 5)),
      [4, 3, 8, 8], (m: torch.nn.Sequential, x) => m.forward(x)],
    ['lstm', () => new nn.LSTM(6, 5, { numLayers: 2, bidirectional: true, batchFirst: true }), [3, 7, 6], (m: torch.nn.LSTM, x) => m.forward(x)[0]],
    ['transformer', () => new nn.TransformerEncoder(new nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 16, dropout: 0 }), 2), [5, 3, 8], (m: torch.nn.TransformerEncoder, x) => m.forward(x)],
  ];
  for (const [name, make, shape, run] of makers) {
    const results: Record<string, Map<string, T>> = {};
    for (const device of ['cpu', 'cuda'] as const) {
      torch.setDefaultDtype('float64');
      torch.manualSeed(5);
      const m = make();
      const x = torch.randn(shape);
      torch.setDefaultDtype('float32');
      m.to({ device });
      const xd = x.to({ device });
      const opt = new torch.optim.SGD(m.parameters(), { lr: 0.05, momentum: 0.9 });
      const sched = new torch.optim.lrScheduler.OneCycleLR(opt, { maxLr: 0.1, totalSteps: 3 });
      const out = new Map<string, T>();
      for (let step = 0; step < 3; step++) {
        torch.tidy(() => {
          opt.zeroGrad();
          const y = (run as (m: torch.nn.Module, x: T) => T)(m, xd);
          if (step === 0) out.set('output', torch.keep(y.detach().cpu()));
          y.pow(2).mean().backward();
          opt.step();
          sched.step();
        });
      }
      for (const [k, t] of m.stateDict()) out.set(k, torch.keep(t.detach().cpu()));
      results[device] = out;
      m.dispose();
    }
    for (const [k, want] of results.cpu) {
      const got = results.cuda.get(k)!;
      if (want.dtype.startsWith('float')) expect([name, k, maxErr(got, want) < 1e-9]).toEqual([name, k, true]);
      else expect([name, k, got.tolist()]).toEqual([name, k, want.tolist()]);
    }
  }
});

test('torch.jit.load onto CUDA: a module scripted by this machine\'s PyTorch runs there as on the CPU', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-cuda-jit-'));
  const r = spawnSync(PY, [path.join(__dirname, '..', 'scripts', 'reference', 'jit_ref.py'), dir], { encoding: 'utf8', env: { ...process.env, PYTHONPATH: path.join(__dirname, '..', 'scripts', 'reference') } });
  if (r.status !== 0) console.error(r.stderr);
  expect(r.status).toBe(0);
  const x = torch.io.safetensors.loadFile(path.join(dir, 'out.safetensors')).tensors.get('x')!;
  for (const file of ['scripted.pt', 'traced.pt']) {
    const cpu = torch.jit.load(path.join(dir, file)).eval(), gpu = torch.jit.load(path.join(dir, file), { device: 'cuda' }).eval();
    expect(gpu.parameters()[0].device).toBe('cuda:0');
    torch.tidy(() => {
      const a = cpu.forward(x), b = gpu.forward(x.cuda());
      const first = (v: unknown) => (Array.isArray(v) ? v[0] : v) as T;
      expect(first(b).device).toBe('cuda:0');
      expect(maxErr(first(b).cpu(), first(a)) < 1e-5).toBe(true);
    });
    cpu.dispose();
    gpu.dispose();
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

test('custom autograd Functions and hooks on CUDA: libtorch\'s device threads hand the JS callbacks to the JS thread', () => {
  const savedOn: string[] = []; // the device of the tensor each backward got back from its ctx
  class Cube extends torch.autograd.Function {
    static forward(ctx: torch.autograd.FunctionCtx, x: T) {
      ctx.saveForBackward(x);
      return x.pow(3);
    }
    static backward(ctx: torch.autograd.FunctionCtx, g: T) {
      const x = ctx.savedTensors[0]!;
      savedOn.push(x.device);
      return g.mul(3).mul(x).mul(x);
    }
  }
  class Fails extends torch.autograd.Function {
    static forward(_ctx: torch.autograd.FunctionCtx, x: T) {
      return x.mul(2);
    }
    static backward(): T {
      throw new RangeError('backward failed on purpose');
    }
  }
  torch.tidy(() => {
    const run = (device: 'cpu' | 'cuda') => {
      torch.manualSeed(0);
      const lin = new torch.nn.Linear(5, 3).to({ device });
      const x = torch.randn([4, 5]).to({ device }).requiresGrad_(true);
      const seen: number[] = [];
      x.registerHook((g) => g.mul(2));
      lin.registerFullBackwardHook((_m, gi, go) => {
        seen.push(go[0]!.abs().sum().item() as number, gi[0]!.abs().sum().item() as number);
      });
      Cube.apply(lin.forward(x)).sum().backward();
      const out = { gx: x.grad!.cpu(), gw: lin.weight.grad!.cpu(), seen };
      lin.dispose();
      return out;
    };
    const cpu = run('cpu'), gpu = run('cuda');
    expect(savedOn).toEqual(['cpu', 'cuda:0']);
    expect(maxErr(gpu.gx, cpu.gx) < 1e-4).toBe(true);
    expect(maxErr(gpu.gw, cpu.gw) < 1e-4).toBe(true);
    expect(gpu.seen.length).toBe(2);
    gpu.seen.forEach((v, k) => expect(Math.abs(v - cpu.seen[k]) / cpu.seen[k]).toBeLessThan(1e-4));
    const y = torch.randn([3], { device: 'cuda', requiresGrad: true });
    expect(() => Fails.apply(y).sum().backward()).toThrow(RangeError);
    // The machinery is still sound after a failed backward.
    const [g] = torch.autograd.grad(Cube.apply(y).sum(), y) as T[];
    expect(maxErr(g.cpu(), y.detach().cpu().pow(2).mul(3)) < 1e-5).toBe(true);
  });
});

test('float16 autocast training with torch.amp.GradScaler on CUDA: finite, and close to the float32 run', () => {
  const run = (fp16: boolean) => {
    torch.manualSeed(0);
    const net = new torch.nn.Sequential(new torch.nn.Linear(16, 64), new torch.nn.GELU(), new torch.nn.Linear(64, 1)).to({ device: 'cuda' });
    const opt = new torch.optim.Adam(net.parameters(), { lr: 1e-2 });
    const scaler = new torch.amp.GradScaler({ enabled: fp16 });
    const x = torch.randn([256, 16]).cuda(), y = x.sum(1, true).sin().cuda();
    let last = 0;
    for (let step = 0; step < 50; step++) {
      torch.tidy(() => {
        opt.zeroGrad();
        const loss = torch.autocast(() => (net.forward(x) as T).float().sub(y).pow(2).mean(), { enabled: fp16, deviceType: 'cuda', dtype: 'float16' });
        scaler.scale(loss).backward();
        scaler.step(opt);
        scaler.update();
        last = loss.item() as number;
      });
    }
    net.dispose();
    opt.dispose();
    return { last, scale: scaler.getScale() };
  };
  const fp32 = run(false), fp16 = run(true);
  expect(Number.isFinite(fp16.last)).toBe(true);
  expect(fp16.scale).toBeGreaterThan(1);
  expect(Math.abs(fp16.last - fp32.last)).toBeLessThan(0.05 + 0.2 * fp32.last);
});

test('torch.Generator on CUDA: the draws of this machine\'s PyTorch from the same seed, the global CUDA generator untouched', () => {
  const py = `
import json, torch
g = torch.Generator("cuda").manual_seed(42)
a = torch.randn(5, device="cuda", generator=g).tolist()
b = torch.empty(4, device="cuda").uniform_(0, 1, generator=g).tolist()
print(json.dumps({"a": a, "b": b, "perm": torch.randperm(6, device="cuda", generator=g).tolist()}))
`;
  const r = spawnSync(PY, ['-c', py], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  const want = JSON.parse(r.stdout);
  torch.tidy(() => {
    torch.manualSeed(3);
    const before = torch.randn([3], { device: 'cuda' }).tolist();
    torch.manualSeed(3);
    const g = new torch.Generator('cuda').manualSeed(42);
    expect(g.device).toBe('cuda:0');
    const a = torch.randn([5], { device: 'cuda', generator: g }).tolist();
    const b = torch.empty([4], { device: 'cuda' }).uniform_(0, 1, { generator: g }).tolist();
    const perm = torch.randperm(6, { device: 'cuda', generator: g }).tolist();
    expect({ a, b, perm }).toEqual(want);
    expect(torch.randn([3], { device: 'cuda' }).tolist()).toEqual(before);
    expect(() => torch.randn([2], { generator: g })).toThrow(/generator/i);
  });
});

test('torch.func, vmap, forward-mode AD and the profiler on CUDA: the CPU\'s results', () => {
  torch.tidy(() => {
    torch.manualSeed(3);
    const xc = torch.randn([4, 5], { dtype: 'float64' }), wc = torch.randn([5, 3], { dtype: 'float64' }), vc = torch.randn([4, 5], { dtype: 'float64' });
    const run = (device: 'cpu' | 'cuda') => {
      const [x, w, v] = [xc, wc, vc].map((t) => t.to({ device }));
      const f = (a: T) => a.matmul(w).tanh().sum();
      const g = (a: T) => a.matmul(w).sin();
      return [
        torch.func.grad(f)(x) as T,
        torch.func.jacrev(g)(x.select(0, 0)) as T,
        torch.func.jacfwd(g)(x.select(0, 0)) as T,
        torch.func.hessian((a: T) => a.pow(3).sum())(x.select(0, 1)) as T,
        torch.vmap((r: T) => r.matmul(w).softmax(0))(x),
        torch.func.jvp(g, [x], [v])[1],
      ].map((t) => t.cpu());
    };
    const cpu = run('cpu'), gpu = run('cuda');
    cpu.forEach((c, k) => expect(relErr(gpu[k], c)).toBeLessThan(1e-10));
    const x = xc.cuda();
    const prof = torch.profiler.profile(() => torch.tidy(() => { x.matmul(x.t()).relu(); torch.cuda.synchronize(); }), { activities: ['cpu', 'cuda'], recordShapes: true });
    const names = prof.events().map((e) => e.name);
    expect(names).toContain('aten::mm');
    expect(prof.keyAverages().table({ rowLimit: 5 })).toMatch(/Self CPU time total/);
  });
});

test('the real PEFT loads adapters with rank_pattern / alpha_pattern / layers_to_transform / exclude_modules, and PiSSA ones (as saved, and converted to LoRA): the same logits on CUDA', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-cuda-peft-fields-'));
  const base = path.join(fixtures, 'gpt2', 'tiny');
  const ids = [[5, 17, 42, 8, 9, 10, 11, 3]];
  fs.writeFileSync(path.join(tmp, 'ids.json'), JSON.stringify(ids));
  const configs: [string, torch.lora.LoRAOptions, { convertToLora?: boolean }][] = [
    ['patterns', { r: 4, alpha: 8, targetModules: ['c_attn', 'c_proj', 'c_fc'], rankPattern: { 'h.0.attn.c_attn': 2, c_fc: 6 }, alphaPattern: { c_proj: 3 }, excludeModules: ['h.1.mlp.c_proj'] }, {}],
    ['layers', { r: 4, alpha: 8, targetModules: ['c_attn', 'c_fc'], layersToTransform: [1], layersPattern: 'h' }, {}],
    ['pissa', { r: 4, alpha: 8, initLoraWeights: 'pissa' }, {}],
    ['pissa-converted', { r: 4, alpha: 8, initLoraWeights: 'pissa' }, { convertToLora: true }],
  ];
  const models: torch.GPT2LMHeadModel[] = [];
  for (const [name, options, save] of configs) {
    const m = await torch.GPT2LMHeadModel.fromPretrained(base);
    torch.lora.applyLoRA(m, { dropout: 0, ...options });
    torch.manualSeed(4);
    torch.noGrad(() => { for (const [n, p] of m.namedParameters()) if (/lora_[AB]/.test(n)) p.add_(torch.randnLike(p).mul(0.05)); });
    await torch.lora.saveAdapter(m, path.join(tmp, name), save);
    models.push(m);
  }
  const py = `
import json, sys, torch
from safetensors.torch import save_file
from transformers import GPT2LMHeadModel
from peft import PeftModel
d, base = sys.argv[1], sys.argv[2]
ids = torch.tensor(json.load(open(d + "/ids.json")), device="cuda")
out = {}
for name in sys.argv[3:]:
    model = PeftModel.from_pretrained(GPT2LMHeadModel.from_pretrained(base, attn_implementation="eager"), d + "/" + name).cuda().eval()
    out[name] = model(input_ids=ids).logits.detach().float().cpu()
save_file(out, d + "/peft.safetensors")`;
  const r = spawnSync(PY, ['-c', py, tmp, base, ...configs.map(([n]) => n)], { encoding: 'utf8' });
  if (r.status !== 0) console.error(r.stderr);
  expect(r.status).toBe(0);
  const want = torch.io.safetensors.loadFile(path.join(tmp, 'peft.safetensors')).tensors;
  configs.forEach(([name], i) => {
    const m = models[i].to({ device: 'cuda' }).eval();
    const got = m.forward(torch.tensor(ids, { dtype: 'int64', device: 'cuda' })).logits.cpu();
    expect([name, relErr(got, want.get(name)!) < 1e-4]).toEqual([name, true]);
    m.dispose();
  });
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('transformers\' Adafactor, its Trainer optimizers, and its logits processors / warpers / transition scores, against tstorch\'s', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-cuda-hf-extras-'));
  // Adafactor: 5 steps on a matrix and a vector, each setting
  torch.manualSeed(2);
  const W0 = torch.randn([6, 5]), b0 = torch.randn([5]), X = torch.randn([7, 6]);
  const settings = [{}, { lr: 0.05, relative_step: false, scale_parameter: false, beta1: 0.9, weight_decay: 0.01 }, { warmup_init: true }];
  torch.io.safetensors.saveFile(path.join(tmp, 'start.safetensors'), new Map([['W', W0], ['b', b0], ['X', X]]));
  fs.writeFileSync(path.join(tmp, 'settings.json'), JSON.stringify(settings));
  const py = `
import json, sys, torch
from safetensors.torch import load_file, save_file
from transformers.optimization import Adafactor
d = sys.argv[1]
t = load_file(d + "/start.safetensors")
out = {}
for i, kw in enumerate(json.load(open(d + "/settings.json"))):
    W, b = t["W"].clone().requires_grad_(), t["b"].clone().requires_grad_()
    opt = Adafactor([W, b], **kw)
    for _ in range(5):
        opt.zero_grad()
        torch.tanh(t["X"] @ W + b).pow(2).mean().backward()
        opt.step()
    out[f"{i}.W"], out[f"{i}.b"] = W.detach(), b.detach()
save_file(out, d + "/adafactor.safetensors")`;
  const r = spawnSync(PY, ['-c', py, tmp], { encoding: 'utf8' });
  if (r.status !== 0) console.error(r.stderr);
  expect(r.status).toBe(0);
  const want = torch.io.safetensors.loadFile(path.join(tmp, 'adafactor.safetensors')).tensors;
  const names: Record<string, string> = { relative_step: 'relativeStep', scale_parameter: 'scaleParameter', weight_decay: 'weightDecay', warmup_init: 'warmupInit' };
  settings.forEach((kw, i) => {
    const W = W0.clone().requiresGrad_(), b = b0.clone().requiresGrad_();
    const opt = new torch.optim.Adafactor([W, b], Object.fromEntries(Object.entries(kw).map(([k, v]) => [names[k] ?? k, v])));
    for (let s = 0; s < 5; s++) torch.tidy(() => { opt.zeroGrad(); X.matmul(W).add(b).tanh().pow(2).mean().backward(); opt.step(); });
    expect([i, relErr(W, want.get(`${i}.W`)!) < 1e-5, relErr(b, want.get(`${i}.b`)!) < 1e-5]).toEqual([i, true, true]);
    opt.dispose();
  });
  // generate with the processors and warpers of this session, and compute_transition_scores
  torch.manualSeed(1);
  const m = new torch.GPT2LMHeadModel({ vocab_size: 64, n_positions: 40, n_embd: 32, n_layer: 2, n_head: 2, eos_token_id: 63, bos_token_id: 63 });
  torch.noGrad(() => { m.transformer.wte.weight.mul_(6); m.transformer.wpe.weight.mul_(20); });
  await m.savePretrained(tmp);
  const prompts = [[5, 17, 42, 8, 9, 3], [1], [7, 60, 7, 33]];
  const cases = [
    { num_beams: 1, sequence_bias: [[[40], 3.0], [[40, 40], -6.0]], bad_words_ids: [[8, 9, 10]], suppress_tokens: [50], begin_suppress_tokens: [33], forced_eos_token_id: 21 },
    { num_beams: 3, num_return_sequences: 2, bad_words_ids: [[3], [60, 7]], exponential_decay_length_penalty: [3, 1.5], renormalize_logits: true },
  ];
  fs.writeFileSync(path.join(tmp, 'spec.json'), JSON.stringify({ prompts, cases }));
  const gen = `${PY_GENERATE_HEAD}
model = GPT2LMHeadModel.from_pretrained(d, attn_implementation="eager").cuda().eval()
ids = torch.tensor([[17] * (L - len(p)) + p for p in prompts], device="cuda")
mask = torch.tensor([[0] * (L - len(p)) + [1] * len(p) for p in prompts], device="cuda")
res = []
for c in spec["cases"]:
    c = dict(c)
    if "sequence_bias" in c: c["sequence_bias"] = [[ids_, float(b)] for ids_, b in c["sequence_bias"]]
    g = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=10, do_sample=False, eos_token_id=17, pad_token_id=17,
                       output_scores=True, return_dict_in_generate=True, **c)
    t = model.compute_transition_scores(g.sequences, g.scores, getattr(g, "beam_indices", None), normalize_logits=True)
    n = c.get("num_return_sequences", 1)
    res.append({"sequences": [s[L - len(prompts[i // n]):] for i, s in enumerate(g.sequences.tolist())],
                "transition": torch.nan_to_num(t, neginf=-1e30).tolist()})
json.dump(res, open(d + "/want.json", "w"))`;
  const g = spawnSync(PY, ['-c', gen, tmp], { encoding: 'utf8' });
  if (g.status !== 0) console.error(g.stderr);
  expect(g.status).toBe(0);
  const wantGen = JSON.parse(fs.readFileSync(path.join(tmp, 'want.json'), 'utf8'));
  m.to({ device: 'cuda' }).eval();
  cases.forEach((c, i) => {
    const out = m.generate(prompts, {
      maxNewTokens: 10, eosTokenId: 17, numBeams: c.num_beams, numReturnSequences: c.num_return_sequences, sequenceBias: c.sequence_bias as [number[], number][] | undefined,
      badWordsIds: c.bad_words_ids, suppressTokens: c.suppress_tokens, beginSuppressTokens: c.begin_suppress_tokens, forcedEosTokenId: c.forced_eos_token_id,
      exponentialDecayLengthPenalty: c.exponential_decay_length_penalty as [number, number] | undefined, renormalizeLogits: c.renormalize_logits,
      returnDictInGenerate: true, outputScores: true,
    });
    expect({ i, sequences: out.sequences }).toEqual({ i, sequences: wantGen[i].sequences });
    const ts = m.computeTransitionScores(out.sequences, out.scores!, out.beamIndices ?? null, true);
    // (-inf comes as -1e30 from Python, in float32: -1.0000000150e30)
    ts.forEach((row, a) => row.forEach((v, k) => {
      const want = wantGen[i].transition[a][k];
      if (want < -1e29) expect([a, k, v]).toEqual([a, k, -Infinity]);
      else expect(Math.abs(v - want)).toBeLessThan(1e-3);
    }));
    for (const s of out.scores!) s.dispose();
  });
  m.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('the real PEFT\'s several adapters: load_adapter / set_adapter logits and add_weighted_adapter (cat, linear, svd) as tstorch\'s', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-cuda-multi-'));
  const base = path.join(fixtures, 'gpt2', 'tiny');
  const m = await torch.GPT2LMHeadModel.fromPretrained(base);
  torch.lora.applyLoRA(m, { r: 4, alpha: 8, dropout: 0, targetModules: ['c_attn', 'c_proj'] });
  torch.lora.addAdapter(m, 'b', { r: 4, alpha: 16, dropout: 0, targetModules: ['c_attn', 'c_fc'] });
  for (const a of ['default', 'b']) {
    torch.lora.setAdapter(m, a);
    torch.manualSeed(a.length);
    torch.noGrad(() => { for (const [n, p] of m.namedParameters()) if (/lora_[AB]/.test(n)) p.normal_(0, 0.1); });
    await torch.lora.saveAdapter(m, path.join(tmp, a));
  }
  const kinds = ['cat', 'linear', 'svd'] as const;
  for (const k of kinds) {
    torch.lora.addWeightedAdapter(m, ['default', 'b'], [1, -0.5], `mix_${k}`, { combinationType: k });
    await torch.lora.saveAdapter(m, path.join(tmp, `mix_${k}`), { adapterName: `mix_${k}` });
  }
  const ids = [[5, 17, 42, 8, 9, 10, 11, 3]];
  fs.writeFileSync(path.join(tmp, 'ids.json'), JSON.stringify(ids));
  const py = `
import json, sys, torch
from safetensors.torch import save_file
from transformers import GPT2LMHeadModel
from peft import PeftModel
d, base = sys.argv[1], sys.argv[2]
model = PeftModel.from_pretrained(GPT2LMHeadModel.from_pretrained(base, attn_implementation="eager"), d + "/default", adapter_name="default")
model.load_adapter(d + "/b", adapter_name="b")
out = {}
ids = torch.tensor(json.load(open(d + "/ids.json")))
model.eval()
for name in ["default", "b"]:
    model.set_adapter(name)
    out["logits." + name] = model(input_ids=ids).logits.detach()
for k in ["cat", "linear", "svd"]:
    model.add_weighted_adapter(["default", "b"], [1.0, -0.5], "mix_" + k, combination_type=k)
    for n, p in model.named_parameters():
        if ".mix_" + k + "." in n and "lora_" in n:
            out[k + "." + n.replace(".mix_" + k, "")] = p.detach().contiguous().clone()  # (svd's are transposed views)
save_file(out, d + "/peft.safetensors")`;
  const r = spawnSync(PY, ['-c', py, tmp, base], { encoding: 'utf8' });
  if (r.status !== 0) console.error(r.stderr);
  expect(r.status).toBe(0);
  const want = torch.io.safetensors.loadFile(path.join(tmp, 'peft.safetensors')).tensors;
  for (const a of ['default', 'b']) {
    torch.lora.setAdapter(m, a);
    expect([a, relErr(torch.noGrad(() => m.eval().forward(torch.tensor(ids, { dtype: 'int64' })).logits), want.get(`logits.${a}`)!) < 1e-5]).toEqual([a, true]);
  }
  for (const k of kinds) {
    const ours = torch.io.safetensors.loadFile(path.join(tmp, `mix_${k}`, 'adapter_model.safetensors')).tensors;
    for (const [key, A] of ours) {
      if (!key.endsWith('lora_A.weight')) continue;
      const B = ours.get(key.replace('lora_A', 'lora_B'))!;
      const name = key.slice('base_model.model.'.length);
      const pa = want.get(`${k}.base_model.model.${name}`)!, pb = want.get(`${k}.base_model.model.${name.replace('lora_A', 'lora_B')}`)!;
      expect([k, name, relErr(B.matmul(A), pb.matmul(pa)) < 1e-4]).toEqual([k, name, true]);
    }
  }
  m.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('transformers reads a model folder\'s own byte-level BPE as tstorch does; PEFT\'s create_loraplus_optimizer groups as tstorch\'s LoRA+', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-cuda-own-tok-'));
  // (Not the Brown Corpus: the GPU check's packed node_modules leave it out.)
  const text = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8') + '\nFrançois Gö naïve café 😀 ½ — “quotes” it\'s  two   spaces<|endoftext|> end  ';
  const dir = writeBpeFiles(path.join(tmp, 'tok'), learnBpe(fs.readFileSync(path.join(__dirname, '..', 'DESIGN.md'), 'utf8'), 300));
  fs.writeFileSync(path.join(tmp, 'text.txt'), text);
  // AutoTokenizer reads the folder as tstorch saves it (transformers 5 wants its tokenizer_config.json;
  // the bare vocab.json + merges.txt go to GPT2Tokenizer by name)
  torch.GPT2Tokenizer.fromFiles(dir).savePretrained(path.join(tmp, 'saved'));
  const base = path.join(fixtures, 'gpt2', 'tiny');
  const py = `
import json, sys, torch
from transformers import AutoTokenizer, GPT2LMHeadModel
from peft import LoraConfig, get_peft_model
from peft.optimizers import create_loraplus_optimizer
d, base = sys.argv[1], sys.argv[2]
text = open(d + "/text.txt", encoding="utf-8").read()
out = {"fast": AutoTokenizer.from_pretrained(d + "/saved")(text)["input_ids"]}
try:
    from transformers import GPT2Tokenizer
    out["slow"] = GPT2Tokenizer.from_pretrained(d + "/tok")(text)["input_ids"]
except Exception as e:
    out["slow_error"] = repr(e)
model = get_peft_model(GPT2LMHeadModel.from_pretrained(base), LoraConfig(r=4, lora_alpha=8, target_modules=["c_attn", "c_proj", "c_fc"], bias="all", fan_in_fan_out=True))
opt = create_loraplus_optimizer(model, torch.optim.AdamW, lr=1e-3, loraplus_lr_ratio=16, loraplus_weight_decay=0.01)
names = {id(p): n for n, p in model.named_parameters()}
out["groups"] = [{"lr": g["lr"], "weight_decay": g["weight_decay"], "names": sorted(names[id(p)].replace("base_model.model.", "").replace(".default", "") for p in g["params"])} for g in opt.param_groups]
print(json.dumps(out))`;
  const r = spawnSync(PY, ['-c', py, tmp, base], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) console.error(r.stderr);
  expect(r.status).toBe(0);
  const got = JSON.parse(r.stdout.trim().split('\n').pop()!);
  const tok = torch.GPT2Tokenizer.fromFiles(dir);
  const ids = tok.encode(text);
  expect(got.fast).toEqual(ids);
  if (got.slow_error) console.warn(`GPT2Tokenizer not checked: ${got.slow_error}`);
  else expect(got.slow).toEqual(ids);
  const m = await torch.GPT2LMHeadModel.fromPretrained(base);
  torch.lora.applyLoRA(m, { r: 4, alpha: 8, bias: 'all' });
  const ours = torch.lora.loraplusParameterGroups(m, { lr: 1e-3, loraplusLrRatio: 16, loraplusWeightDecay: 0.01 });
  expect(ours.map((g) => ({ lr: g.lr, weight_decay: g.weightDecay, names: [...g.names].sort() }))).toEqual(got.groups);
  m.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('DPOTrainer on CUDA: the CPU\'s losses and TRL metrics (LoRA; the reference with the adapters disabled, or another adapter: refAdapterName; MPO\'s weighted losses with bco_pair\'s running mean, and WPO; LD-DPO with RPO)', async () => {
  const base = path.join(fixtures, 'gpt2', 'tiny');
  torch.manualSeed(3);
  const ids = (n: number) => Array.from(torch.randint(0, 100, [n]).data() as BigInt64Array, Number);
  const pairs = Array.from({ length: 8 }, () => ({ prompt: ids(5), chosen: ids(4), rejected: ids(6) }));
  const run = async (device: string, refAdapterName: string | null, extra: Partial<torch.DPOArguments>) => {
    const model = await torch.GPT2LMHeadModel.fromPretrained(base);
    torch.manualSeed(5);
    torch.lora.applyLoRA(model, { r: 4, alpha: 8 });
    torch.noGrad(() => { for (const [n, p] of model.namedParameters({ trainableOnly: true })) if (n.includes('lora_B')) p.normal_(0, 0.05); });
    if (refAdapterName) {
      // a second adapter of other weights as the reference: parked on the device, switched to mid-step
      torch.lora.addAdapter(model, refAdapterName, { r: 2, alpha: 4, targetModules: ['c_attn'] });
      torch.lora.withAdapter(model, refAdapterName, () => torch.noGrad(() => { for (const [n, p] of model.namedParameters({ trainableOnly: true })) if (n.includes('lora_B')) p.normal_(0, 0.05); }));
    }
    model.to({ device });
    const t = new torch.DPOTrainer(model, {
      outputDir: fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-cuda-dpo-')), maxSteps: 3, perDeviceTrainBatchSize: 4, learningRate: 5e-3, loggingSteps: 1,
      saveSteps: 0, shuffle: false, progress: false, device, refAdapterName, ...extra,
    }, new torch.data.PreferenceDataset(pairs, { eosTokenId: 100 }));
    const log = jest.spyOn(console, 'log').mockImplementation(() => {});
    try {
      return t.train().logHistory;
    } finally {
      log.mockRestore();
      t.optimizer.dispose();
      model.dispose();
    }
  };
  const mpo: Partial<torch.DPOArguments> = { lossType: ['sigmoid', 'bco_pair', 'sft'], lossWeights: [0.8, 0.2, 1], useWeighting: true };
  const ld: Partial<torch.DPOArguments> = { ldAlpha: 0.5, rpoAlpha: 0.5 };
  for (const [ref, extra] of [[null, {}], ['reference', {}], [null, mpo], [null, ld]] as const) {
    const cpu = await run('cpu', ref, extra), gpu = await run('cuda', ref, extra);
    cpu.forEach((e, i) => {
      expect([ref, i, Math.abs(gpu[i].loss! - e.loss!) / e.loss! < 1e-4]).toEqual([ref, i, true]);
      expect([ref, i, Math.abs(gpu[i]['rewards/margins']! - e['rewards/margins']!) < 1e-4]).toEqual([ref, i, true]);
    });
  }
});

test('GPT2ForSequenceClassification as transformers\' (a classifier folder) and a SEQ_CLS adapter as the real PEFT loads it: logits and loss on CUDA', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-cuda-seqcls-'));
  const base = path.join(fixtures, 'gpt2', 'tiny');
  const warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
  const m = await torch.GPT2ForSequenceClassification.fromPretrained(base, { numLabels: 3, id2label: { 0: 'a', 1: 'b', 2: 'c' }, padTokenId: 100 });
  warn.mockRestore();
  torch.manualSeed(8);
  torch.noGrad(() => m.score.weight.normal_(0, 0.3));
  torch.lora.applyLoRA(m, { r: 4, alpha: 8 });
  torch.noGrad(() => { for (const [n, p] of m.namedParameters()) if (n.includes('lora_B')) p.normal_(0, 0.05); });
  await torch.lora.saveAdapter(m, path.join(tmp, 'adapter'));
  const ids = [[5, 17, 42, 8, 100, 100], [61, 3, 99, 12, 7, 30], [9, 100, 14, 100, 100, 100]];
  const mask = [[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0]];
  const labels = [0, 2, 1];
  fs.writeFileSync(path.join(tmp, 'batch.json'), JSON.stringify({ ids, mask, labels }));
  m.to({ device: 'cuda' }).eval();
  const cuda = (x: number[][] | number[]) => torch.tensor(x, { dtype: 'int64', device: 'cuda' });
  const out = m.forward(cuda(ids), { attentionMask: cuda(mask), labels: cuda(labels) });
  const mergedDir = path.join(tmp, 'merged');
  torch.lora.mergeAndUnload(m);
  await m.to({ device: 'cpu' }).savePretrained(mergedDir);
  const py = `
import json, sys, torch
from safetensors.torch import save_file
from transformers import AutoModelForSequenceClassification, GPT2ForSequenceClassification
from peft import PeftModel
d, base = sys.argv[1], sys.argv[2]
b = json.load(open(d + "/batch.json"))
ids, mask, labels = (torch.tensor(b[k], device="cuda") for k in ("ids", "mask", "labels"))
merged = AutoModelForSequenceClassification.from_pretrained(d + "/merged", attn_implementation="eager").cuda().eval()
o = merged(input_ids=ids, attention_mask=mask, labels=labels)
clf = GPT2ForSequenceClassification.from_pretrained(base, num_labels=3, pad_token_id=100, attn_implementation="eager")
peft = PeftModel.from_pretrained(clf, d + "/adapter").cuda().eval()
p = peft(input_ids=ids, attention_mask=mask)
save_file({"merged": o.logits.detach().float().cpu(), "loss": o.loss.detach().float().reshape(1).cpu(), "peft": p.logits.detach().float().cpu(),
           "id2label": torch.tensor([int(merged.config.label2id[n]) for n in ("a", "b", "c")])}, d + "/hf.safetensors")`;
  const r = spawnSync(PY, ['-c', py, tmp, base], { encoding: 'utf8' });
  if (r.status !== 0) console.error(r.stderr);
  expect(r.status).toBe(0);
  const hf = torch.io.safetensors.loadFile(path.join(tmp, 'hf.safetensors')).tensors;
  expect(relErr(out.logits.cpu(), hf.get('merged')!)).toBeLessThan(1e-4);
  expect(relErr(out.logits.cpu(), hf.get('peft')!)).toBeLessThan(1e-4);
  expect(relErr(out.loss!.reshape([1]).cpu(), hf.get('loss')!)).toBeLessThan(1e-4);
  expect(hf.get('id2label')!.tolist()).toEqual([0, 1, 2]);
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('GPT2ForTokenClassification as transformers\' (a merged folder) and a TOKEN_CLS adapter as the real PEFT loads it: logits and loss on CUDA', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-cuda-tokcls-'));
  const base = path.join(fixtures, 'gpt2', 'tiny');
  const warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
  const m = await torch.GPT2ForTokenClassification.fromPretrained(base, { id2label: { 0: 'AT', 1: 'NN', 2: 'VB', 3: 'X' } });
  warn.mockRestore();
  torch.manualSeed(9);
  torch.noGrad(() => { m.classifier.weight.normal_(0, 0.3); m.classifier.bias!.normal_(0, 0.1); });
  torch.lora.applyLoRA(m, { r: 4, alpha: 8 });
  torch.noGrad(() => { for (const [n, p] of m.namedParameters()) if (n.includes('lora_B')) p.normal_(0, 0.05); });
  await torch.lora.saveAdapter(m, path.join(tmp, 'adapter'));
  const ids = [[5, 17, 42, 8, 100, 100], [61, 3, 99, 12, 7, 30]];
  const mask = [[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]];
  const labels = [[0, 1, -100, 2, -100, -100], [3, -100, 1, 1, 0, 2]];
  fs.writeFileSync(path.join(tmp, 'batch.json'), JSON.stringify({ ids, mask, labels }));
  m.to({ device: 'cuda' }).eval();
  const cuda = (x: number[][]) => torch.tensor(x, { dtype: 'int64', device: 'cuda' });
  const out = m.forward(cuda(ids), { attentionMask: cuda(mask), labels: cuda(labels) });
  torch.lora.mergeAndUnload(m);
  await m.to({ device: 'cpu' }).savePretrained(path.join(tmp, 'merged'));
  const py = `
import json, sys, torch
from safetensors.torch import save_file
from transformers import AutoModelForTokenClassification, GPT2ForTokenClassification
from peft import PeftModel
d, base = sys.argv[1], sys.argv[2]
b = json.load(open(d + "/batch.json"))
ids, mask, labels = (torch.tensor(b[k], device="cuda") for k in ("ids", "mask", "labels"))
merged = AutoModelForTokenClassification.from_pretrained(d + "/merged", attn_implementation="eager").cuda().eval()
o = merged(input_ids=ids, attention_mask=mask, labels=labels)
peft = PeftModel.from_pretrained(GPT2ForTokenClassification.from_pretrained(base, num_labels=4, attn_implementation="eager"), d + "/adapter").cuda().eval()
p = peft(input_ids=ids, attention_mask=mask)
save_file({"merged": o.logits.detach().float().cpu(), "loss": o.loss.detach().float().reshape(1).cpu(), "peft": p.logits.detach().float().cpu()}, d + "/hf.safetensors")`;
  const r = spawnSync(PY, ['-c', py, tmp, base], { encoding: 'utf8' });
  if (r.status !== 0) console.error(r.stderr);
  expect(r.status).toBe(0);
  const hf = torch.io.safetensors.loadFile(path.join(tmp, 'hf.safetensors')).tensors;
  expect(relErr(out.logits.cpu(), hf.get('merged')!)).toBeLessThan(1e-4);
  expect(relErr(out.logits.cpu(), hf.get('peft')!)).toBeLessThan(1e-4);
  expect(relErr(out.loss!.reshape([1]).cpu(), hf.get('loss')!)).toBeLessThan(1e-4);
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('GPU tensors saved a piece at a time (torch.save, safetensors): the files load back bit for bit, in Python too', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-cuda-save-'));
  const cpu = { w: torch.randn([300, 70]), t: torch.randn([64, 32]).t(), h: torch.randn([1000]).to({ dtype: 'bfloat16' }), b: torch.tensor([true, false, true]) };
  const gpu = Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, v.cuda()]));
  // the pieces themselves: a GPU tensor's bytes, sliced on the GPU, each copied alone
  for (const [k, v] of Object.entries(gpu)) expect(Buffer.concat([..._devicePieces(v, 1000)]).equals(torch.tidy(() => cpu[k as keyof typeof cpu].contiguous().bytes()))).toBe(true);
  torch.io.saveTorchFile(path.join(tmp, 'sd.bin'), gpu);
  torch.io.safetensors.saveFile(path.join(tmp, 'sd.safetensors'), gpu);
  for (const file of ['sd.bin', 'sd.safetensors']) {
    const back = torch.load(path.join(tmp, file));
    for (const [k, v] of Object.entries(cpu)) expect(back.get(k)!.cpu().bytes().equals(torch.tidy(() => v.contiguous().bytes()))).toBe(true);
  }
  const r = spawnSync(PY, ['-c', `
import sys, torch
sd = torch.load(sys.argv[1], map_location="cpu")
print({k: v.dtype for k, v in sd.items()} == {"w": torch.float32, "t": torch.float32, "h": torch.bfloat16, "b": torch.bool}, float(sd["w"].double().sum()))`, path.join(tmp, 'sd.bin')], { encoding: 'utf8' });
  expect(r.status).toBe(0);
  const [same, sum] = r.stdout.trim().split(' ');
  expect(same).toBe('True');
  expect(Number(sum)).toBeCloseTo(cpu.w.to({ dtype: 'float64' }).sum().item() as number, 6);
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('transformers\' Trainer resumes a tstorch checkpoint (PEFT LoRA: optimizer.pt, scheduler.pt, trainer_state.json), and tstorch resumes the checkpoint it writes', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-cuda-hf-resume-'));
  const tokens = Array.from({ length: 40 * 12 }, (_, i) => (i * 37 + 11) % 101);
  const data = new torch.data.TextDataset(tokens, 12);
  const blocks = Array.from({ length: data.length }, (_, i) => tokens.slice(i * 12, (i + 1) * 12));
  fs.writeFileSync(path.join(tmp, 'blocks.json'), JSON.stringify(blocks));
  const base = path.join(fixtures, 'gpt2', 'tiny');
  const train = async (out: string, resumeFromCheckpoint?: string) => {
    const model = await torch.GPT2LMHeadModel.fromPretrained(base);
    torch.manualSeed(1);
    torch.lora.applyLoRA(model, { r: 4, alpha: 8, dropout: 0.1 });
    const trainer = new torch.Trainer(model, { outputDir: out, maxSteps: 12, perDeviceTrainBatchSize: 4, learningRate: 1e-3, warmupSteps: 3, loggingSteps: 1,
      saveSteps: 5, progress: false, resumeFromCheckpoint }, data);
    const log = jest.spyOn(console, 'log').mockImplementation(() => {});
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      const r = trainer.train();
      trainer.optimizer.dispose();
      model.dispose();
      return { steps: r.logHistory.filter((e) => e.loss !== undefined).map((e) => e.step), warned: warn.mock.calls.map((c) => String(c[0])) };
    } finally {
      log.mockRestore();
      warn.mockRestore();
    }
  };
  await train(path.join(tmp, 'ts'));
  // HF's Trainer over the same blocks and LoRA (PEFT), resumed from tstorch's checkpoint-5 to step 12
  const hfOut = path.join(tmp, 'hf');
  const r = spawnSync(PY, ['-W', 'ignore', '-c', `
import json, sys, torch
from transformers import GPT2LMHeadModel, Trainer, TrainingArguments
from peft import LoraConfig, get_peft_model
base, ckpt, out, blocks = sys.argv[1], sys.argv[2], sys.argv[3], json.load(open(sys.argv[4]))
class Blocks(torch.utils.data.Dataset):
    def __len__(self): return len(blocks)
    def __getitem__(self, i): return {"input_ids": torch.tensor(blocks[i]), "labels": torch.tensor(blocks[i])}
model = get_peft_model(GPT2LMHeadModel.from_pretrained(base), LoraConfig(r=4, lora_alpha=8, lora_dropout=0.1, fan_in_fan_out=True,
    target_modules=["c_attn", "c_proj", "c_fc"], task_type="CAUSAL_LM"))
args = TrainingArguments(output_dir=out, max_steps=12, per_device_train_batch_size=4, learning_rate=1e-3, warmup_steps=3,
    logging_steps=1, save_steps=5, report_to=[], disable_tqdm=True)
trainer = Trainer(model=model, args=args, train_dataset=Blocks())
trainer.train(resume_from_checkpoint=ckpt)
steps = [float(s["step"]) for s in trainer.optimizer.state.values()]
print(json.dumps({"global_step": trainer.state.global_step, "logged": [e["step"] for e in trainer.state.log_history if "loss" in e], "opt_steps": steps}))
`, base, path.join(tmp, 'ts', 'checkpoint-5'), hfOut, path.join(tmp, 'blocks.json')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr.slice(-3000));
  const hf = JSON.parse(r.stdout.trim().split('\n').pop()!);
  expect(hf.global_step).toBe(12);
  expect(hf.logged).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]); // tstorch's five, then HF's seven
  expect(hf.opt_steps).toEqual(Array(16).fill(12)); // the loaded AdamW state went on from step 5
  // and tstorch takes over HF's checkpoint-10 (PEFT's adapter file, PyTorch's optimizer.pt / scheduler.pt, torch's CPU generator from rng_state.pth)
  const back = path.join(tmp, 'back');
  fs.mkdirSync(back);
  fs.cpSync(path.join(hfOut, 'checkpoint-10'), path.join(back, 'checkpoint-10'), { recursive: true });
  const again = await train(back, path.join(back, 'checkpoint-10'));
  expect(again.steps.slice(-2)).toEqual([11, 12]);
  expect(again.warned).toEqual([]);
  fs.rmSync(tmp, { recursive: true, force: true });
});
