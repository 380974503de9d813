// tstorch side of scripts/bench: one case per process (as the Python side), one JSON line.
//   node dist/scripts/bench/model.js CASE ITERS THREADS
import * as os from 'os';
import * as torch from '../../lib';
import { GPT2_124M, TINY, trainStep } from './common';

const [kase, itersS, threadsS, warmupS] = process.argv.slice(2);
const iters = Number(itersS);
torch.setNumThreads(Number(threadsS));
torch.manualSeed(0);

const cases: Record<string, [object, number, number]> = {
  tiny_step: [TINY, 2, 32], fwdbwd_124m: [GPT2_124M, 2, 128], lora_step_124m: [GPT2_124M, 8, 128],
  full_step_124m: [GPT2_124M, 8, 128], generate_124m: [GPT2_124M, 1, 16], contrastive_124m: [GPT2_124M, 1, 16],
  lora_step_124m_bf16: [GPT2_124M, 8, 128], sft_step_124m: [GPT2_124M, 8, 128], dpo_step_124m: [GPT2_124M, 4, 128],
  seqcls_step_124m: [GPT2_124M, 8, 128], kto_step_124m: [GPT2_124M, 8, 128], serve_batch_124m: [GPT2_124M, 8, 44], serve_arrivals_124m: [GPT2_124M, 8, 500],
  prompt_1000_124m: [GPT2_124M, 1, 1000], generate_8x500_124m: [GPT2_124M, 8, 500],
  beam_4x500_124m: [GPT2_124M, 1, 500],
};
// *_bf16: the forward pass under bfloat16 autocast (CPU), weights and optimizer in float32.
const bf16 = kase.endsWith('_bf16');
const [cfg, B, T] = cases[kase];
// (the classifier case makes its own model below)
const model = new torch.GPT2LMHeadModel(kase === 'seqcls_step_124m' ? TINY : cfg);
if (kase.startsWith('lora_step_124m') || ['sft_step_124m', 'dpo_step_124m', 'kto_step_124m'].includes(kase)) torch.lora.applyLoRA(model, { r: 8, alpha: 16, dropout: 0.05 });
let ids = torch.keep(torch.randint(0, (cfg as { vocab_size: number }).vocab_size, [B, T]));
// seqcls_step_124m: a GPT2ForSequenceClassification (2 labels) with LoRA (SEQ_CLS: the head
// trained too), 8 texts of 128, 112, ..., 16 tokens right-padded by ClassificationDataset, the
// Trainer's step (forwardBackward), then clipping and AdamW.
let classifier: { model: torch.GPT2ForSequenceClassification; batch: torch.data.LMBatch; params: torch.Tensor[]; opt: torch.optim.AdamW } | undefined;
if (kase === 'seqcls_step_124m') {
  const clf = new torch.GPT2ForSequenceClassification(cfg, { numLabels: 2, padTokenId: 50256 });
  torch.lora.applyLoRA(clf, { r: 8, alpha: 16, dropout: 0.05 });
  const rows = (ids.tolist() as number[][]).map((r) => r.map((t) => (t === 50256 ? 0 : t)));
  const ds = new torch.data.ClassificationDataset(rows.map((r, i) => ({ text: r.slice(0, T - 16 * i), label: i % 2 })), { padTokenId: 50256 });
  const batch = ds.collate(rows.map((_, i) => i));
  for (const t of [batch.inputIds, batch.labels, batch.attentionMask!]) torch.keep(t);
  const params = clf.parameters({ trainableOnly: true });
  classifier = { model: clf, batch, params, opt: new torch.optim.AdamW(params, { lr: 1e-4 }) };
}
// sft_step_124m: 8 examples of 128, 112, ..., 16 tokens, a 32-token prompt (8 for the shortest)
// without loss, right-padded to 128 by ExampleDataset (TRL's SFT without packing).
let padded: { labels: torch.Tensor; attentionMask: torch.Tensor } | undefined;
if (kase === 'sft_step_124m') {
  const rows = ids.tolist() as number[][];
  const ds = new torch.data.ExampleDataset(rows.map((r, i) => ({ ids: r.slice(0, T - 16 * i), promptLength: Math.min(32, (T - 16 * i) / 2) })), T);
  const batch = ds.collate(rows.map((_, i) => i));
  ids.dispose();
  ids = torch.keep(batch.inputIds);
  padded = { labels: torch.keep(batch.labels), attentionMask: torch.keep(batch.attentionMask!) };
}
// dpo_step_124m: B pairs of a 64-token prompt and two 63-token completions (+ eos), through
// DPOTrainer's own step (the reference: the adapters disabled), then clipping and AdamW as its loop.
let dpo: torch.DPOTrainer | undefined;
if (kase === 'dpo_step_124m') {
  const rows = ids.tolist() as number[][];
  const pairs = rows.map((r) => ({ prompt: r.slice(0, 64), chosen: r.slice(64, 127), rejected: [...r.slice(65, 127), r[0]] }));
  dpo = new torch.DPOTrainer(model, { outputDir: os.tmpdir(), maxSteps: 1, perDeviceTrainBatchSize: B, progress: false, learningRate: 1e-4 },
    new torch.data.PreferenceDataset(pairs));
}
// kto_step_124m: B unpaired examples of a 64-token prompt and a 63-token completion (+ eos), half
// desirable, through KTOTrainer's own step: the policy's and the reference's log-probabilities of
// the completions and of the B mismatched (KL) rows, then clipping and AdamW as its loop.
let kto: torch.KTOTrainer | undefined;
if (kase === 'kto_step_124m') {
  const rows = ids.tolist() as number[][];
  const examples = rows.map((r, i) => ({ prompt: r.slice(0, 64), completion: r.slice(64, 127), label: i % 2 === 0 }));
  kto = new torch.KTOTrainer(model, { outputDir: os.tmpdir(), maxSteps: 1, perDeviceTrainBatchSize: B, progress: false, learningRate: 1e-4 }, new torch.data.KTODataset(examples));
}
const rss0 = process.resourceUsage().maxRSS;
const params = model.parameters({ trainableOnly: true });
const opt = ['tiny_step', 'lora_step_124m', 'full_step_124m', 'lora_step_124m_bf16', 'sft_step_124m'].includes(kase) ? new torch.optim.AdamW(params, { lr: 1e-4 }) : null;

function step(): number {
  return torch.tidy(() => {
    if (kase === 'generate_124m' || kase === 'generate_8x500_124m') {
      model.eval();
      const n = 32;
      const prompt = (ids.tolist() as number[][]);
      model.generate(prompt, { maxNewTokens: n, eosTokenId: null });
      return n;
    }
    if (kase === 'beam_4x500_124m') {
      model.eval();
      const n = 32;
      model.generate(ids.tolist() as number[][], { maxNewTokens: n, eosTokenId: null, numBeams: 4 });
      return n;
    }
    if (kase === 'prompt_1000_124m') {
      // a 1000-token prompt's pass, as generate's first: no grad, the last position's logits
      model.eval();
      noGradForward();
      return T;
    }
    if (kase === 'contrastive_124m') {
      model.eval();
      const n = 32;
      model.generate(ids.tolist() as number[][], { maxNewTokens: n, eosTokenId: null, penaltyAlpha: 0.6, topK: 4 });
      return n;
    }
    if (classifier) {
      const c = classifier;
      c.model.train();
      c.model.forwardBackward(c.batch.inputIds, { labels: c.batch.labels, attentionMask: c.batch.attentionMask });
      torch.nn.utils.clipGradNormTensor(c.params, 1.0);
      c.opt.step();
      c.opt.zeroGrad();
      return c.batch.attentionMask!.sum().item() as number;
    }
    if (kto) {
      kto.trainingStep([Array.from({ length: B }, (_, i) => i)]);
      torch.nn.utils.clipGradNormTensor(params, 1.0);
      kto.optimizer.step();
      kto.optimizer.zeroGrad();
      return 2 * B * T;
    }
    if (dpo) {
      dpo.trainingStep([Array.from({ length: B }, (_, i) => i)]);
      torch.nn.utils.clipGradNormTensor(params, 1.0);
      dpo.optimizer.step();
      dpo.optimizer.zeroGrad();
      return 2 * B * T;
    }
    trainStep(model, ids, params, opt, { bf16, deviceType: 'cpu' }, padded);
    return padded ? padded.attentionMask.sum().item() as number : B * T;
  });
}

/**
 * serve_batch_124m: 8 concurrent requests (prompts of 16, 20, ..., 44 tokens, 32 new tokens each,
 * greedy) through a GenerationBatcher, as tstorch serve runs them: their steps share passes.
 */
async function servedStep(): Promise<number> {
  model.eval();
  const n = 32, rows = ids.tolist() as number[][];
  const batcher = new torch.GenerationBatcher(model);
  await Promise.all(rows.map((r, i) => batcher.generate([r.slice(0, 16 + 4 * i)], { maxNewTokens: n, eosTokenId: null })));
  return B * n;
}
/**
 * serve_arrivals_124m: 8 requests through a GenerationBatcher, one arriving every 3 of its turns
 * (prompts of 500, 460, ..., 220 tokens; 80, 72, ..., 24 new tokens, greedy): each prompt's pass
 * alone, then it joins the shared steps of those going on, which leave as they end.
 */
async function arrivingStep(): Promise<number> {
  model.eval();
  const rows = ids.tolist() as number[][];
  const batcher = new torch.GenerationBatcher(model);
  const pending: Promise<number[][]>[] = [];
  for (let i = 0; i < B; i++) {
    pending.push(batcher.generate([rows[i].slice(0, 500 - 40 * i)], { maxNewTokens: 80 - 8 * i, eosTokenId: null }));
    for (let turn = 0; turn < 3; turn++) await new Promise((r) => setImmediate(r));
  }
  await Promise.all(pending);
  return rows.reduce((n, _, i) => n + 80 - 8 * i, 0);
}
const noGradForward = () => torch.noGrad(() => { model.forward(ids, { logitsToKeep: 1 }); });
const timedStep = async (): Promise<number> => (kase === 'serve_batch_124m' ? servedStep() : kase === 'serve_arrivals_124m' ? arrivingStep() : step());

// warm-up: allocates the optimizer state; oneDNN builds its bf16 kernels for the backward's shapes;
// and, asked for a number of steps (the tiny case), V8 has optimised the step's JS (its first few
// hundred calls run slower), so that the steady state is timed, as on the Python side
void (async () => {
  for (let i = 0, n = Math.max(Number(warmupS ?? 1), bf16 ? 2 : 1); i < n; i++) await timedStep();
  const times: number[] = [];
  let work = 0;
  for (let i = 0; i < iters; i++) {
    const t0 = process.hrtime.bigint();
    work = await timedStep();
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  times.sort((a, b) => a - b);
  const med = times[times.length >> 1];
  const peak = process.resourceUsage().maxRSS;
  console.log(JSON.stringify({ ms: med * 1e3, per_second: work / med, peak_rss_mib: peak / 1024, peak_delta_mib: (peak - rss0) / 1024 }));
})();
