// DPOTrainer against scripts/reference/dpo_ref.py (TRL's DPOTrainer with a PEFT model, in plain
// PyTorch): the same tiny GPT-2, LoRA start and preference pairs; losses within 1e-5 relative,
// TRL's metrics within 1e-5, every LoRA tensor 1e-4, the eval loss and reward accuracy; and
// ORPOTrainer against scripts/reference/orpo_ref.py (TRL's ORPOTrainer) and KTOTrainer against
// scripts/reference/kto_ref.py (TRL's KTOTrainer) the same way.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as torch from '../lib';
import { fixtures, referenceTensors, relErr } from './helpers';
import { EncodePool } from '../lib/models/encode_pool';

let tmp: string;
beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-dpo-')); });
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const base = path.join(fixtures, 'gpt2', 'tiny');
const EOS = 100, B = 3, STEPS = 4;
const limits = { maxPromptLength: 6, maxCompletionLength: 7, maxLength: 12 };

/** Random pairs of token ids: prompts and completions of assorted lengths, some past the limits. */
function pairs(n: number, seed: number): { prompt: number[]; chosen: number[]; rejected: number[] }[] {
  torch.manualSeed(seed);
  const ids = (len: number) => Array.from(torch.randint(0, 100, [len]).data() as BigInt64Array, Number);
  const len = (lo: number, hi: number) => lo + (torch.randint(0, hi - lo + 1, [1]).item() as number);
  return Array.from({ length: n }, () => ({ prompt: ids(len(1, 9)), chosen: ids(len(1, 8)), rejected: ids(len(1, 8)) }));
}

async function loraModel(): Promise<torch.GPT2LMHeadModel> {
  const model = await torch.GPT2LMHeadModel.fromPretrained(base);
  torch.manualSeed(5);
  torch.lora.applyLoRA(model, { r: 4, alpha: 8, dropout: 0.1 });
  // B starts at zero in LoRA: random here, so that policy and reference differ from the first step
  torch.noGrad(() => { for (const [n, p] of model.namedParameters({ trainableOnly: true })) if (n.includes('lora_B')) p.normal_(0, 0.05); });
  return model;
}

function quietly<T>(fn: () => T): T {
  const log = jest.spyOn(console, 'log').mockImplementation(() => {});
  try {
    return fn();
  } finally {
    log.mockRestore();
  }
}

const METRICS = ['rewards/chosen', 'rewards/rejected', 'rewards/accuracies', 'rewards/margins', 'logps/chosen', 'logps/rejected'];
const DPO_METRICS = [...METRICS, 'logits/chosen', 'logits/rejected'];

/**
 * Trains and checks the run against the reference's case name: each of the STEPS steps' loss
 * (1e-5) and metrics (names, 1e-5), every trained tensor (own, 1e-4), the eval loss and reward accuracy.
 */
function trainAsReference(name: string, trainer: torch.Trainer, own: Map<string, torch.Tensor>, want: Map<string, torch.Tensor>, names: string[]): void {
  const logs = quietly(() => trainer.train()).logHistory.filter((e) => e.loss !== undefined);
  const wantLosses = want.get(`${name}.losses`)!.tolist() as number[];
  const wantMetrics = want.get(`${name}.metrics`)!.tolist() as number[][];
  expect(logs.length).toBe(STEPS);
  logs.forEach((e, i) => {
    expect([name, i, Math.abs(e.loss! - wantLosses[i]) / Math.abs(wantLosses[i]) < 1e-5]).toEqual([name, i, true]);
    names.forEach((m, k) => expect([name, i, m, Math.abs(e[m]! - wantMetrics[i][k]) < 1e-5 * Math.max(1, Math.abs(wantMetrics[i][k]))]).toEqual([name, i, m, true]));
  });
  for (const [n, p] of own) expect([name, n, relErr(p, want.get(`${name}.final.${n}`)!) < 1e-4]).toEqual([name, n, true]);
  const ev = trainer.evaluate();
  const [evalLoss, evalAcc] = want.get(`${name}.eval`)!.tolist() as number[];
  expect(Math.abs(ev.eval_loss - evalLoss) / Math.abs(evalLoss)).toBeLessThan(1e-5);
  expect(ev.eval_accuracy).toBeCloseTo(evalAcc, 6);
  trainer.optimizer.dispose();
}

test('PreferenceDataset tokenizes as TRL does: eos after each completion; TRL 1.x\'s keep_start (a pair whose prompt fills maxLength left out) or TRL 0.x\'s tokenize_row (the prompt\'s end, keep_end); labels on completions only', () => {
  const ds = new torch.data.PreferenceDataset([{ prompt: [1, 2, 3, 4, 5, 6, 7, 8], chosen: [10, 11, 12, 13, 14, 15, 16, 17, 18], rejected: [20] }], { ...limits, eosTokenId: EOS, truncationMode: 'keep_end' });
  // prompt: its last 6 (3..8); chosen: 7 of [10..18, eos] (10..16); prompt + chosen = 13 > 12: the first token goes
  expect(Array.from(ds.chosen[0].ids)).toEqual([4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16]);
  expect(ds.chosen[0].promptLength).toBe(5);
  expect(Array.from(ds.rejected[0].ids)).toEqual([3, 4, 5, 6, 7, 8, 20, EOS]);
  const batch = ds.collate([0]);
  expect(batch.inputIds.shape).toEqual([2, 12]);
  expect(batch.labels.tolist()).toEqual([
    [-100, -100, -100, -100, -100, 10, 11, 12, 13, 14, 15, 16],
    [-100, -100, -100, -100, -100, -100, 20, EOS, -100, -100, -100, -100],
  ]);
  expect((batch.attentionMask!.tolist() as number[][])[1]).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0]);
  expect(ds.lossTokens([0])).toBe(7 + 2);
  // keep_start (TRL 1.x's default): the row's first 12 tokens; the prompt kept whole
  const start = new torch.data.PreferenceDataset([{ prompt: [1, 2, 3, 4, 5, 6, 7, 8], chosen: [10, 11, 12, 13, 14, 15, 16, 17, 18], rejected: [20] }], { maxLength: 12, eosTokenId: EOS });
  expect([Array.from(start.chosen[0].ids), start.chosen[0].promptLength, Array.from(start.rejected[0].ids)]).toEqual([[1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13], 8, [1, 2, 3, 4, 5, 6, 7, 8, 20, EOS]]);
  // a prompt of maxLength tokens or more would leave nothing to learn: the pair is left out (TRL 1.x's filter)
  const some = new torch.data.PreferenceDataset([{ prompt: [1, 2, 3, 4], chosen: [5], rejected: [6] }, { prompt: [1, 2, 3, 4, 5], chosen: [5], rejected: [6] }, { prompt: [1], chosen: [5], rejected: [6] }], { maxLength: 5, eosTokenId: EOS });
  expect([some.length, some.dropped, Array.from(some.chosen[1].ids)]).toEqual([2, 1, [1, 5, EOS]]);
  expect(() => new torch.data.PreferenceDataset([{ prompt: [1, 2, 3], chosen: [5], rejected: [6] }], { maxLength: 3 })).toThrow(/every pair's prompt fills maxLength 3 tokens .*raise maxLength/);
  expect(() => new torch.data.PreferenceDataset([{ prompt: [1], chosen: [5], rejected: [6] }], { truncationMode: 'keep_middle' as never })).toThrow(/truncationMode must be keep_start or keep_end/);
  expect(() => new torch.data.PreferenceDataset([{ prompt: [1], chosen: [5], rejected: [6] }], { max_length: 8 } as never)).toThrow("PreferenceDataset: unknown option 'max_length' (did you mean maxLength?)");
  expect(() => new torch.data.KTODataset([{ prompt: [1], completion: [5], label: true }], { max_prompt_length: 8 } as never)).toThrow("KTODataset: unknown option 'max_prompt_length' (did you mean maxPromptLength?)");
  // text: the prompt alone and prompt + completion as one (TRL 1.x): the completion is what follows the prompt's tokens
  const joint = new torch.data.PreferenceDataset([{ prompt: 'Say it: ', chosen: 'yes', rejected: 'no<|endoftext|>' }]);
  const promptIds = torch.tokenizer.encode('Say it: ');
  expect(Array.from(joint.chosen[0].ids)).toEqual([...promptIds, ...torch.tokenizer.encode('Say it: yes').slice(promptIds.length), 50256]);
  expect(Array.from(joint.rejected[0].ids)).toEqual([...promptIds, ...torch.tokenizer.encode('Say it: no').slice(promptIds.length), 50256]); // (an eos already there: not doubled)
  expect(torch.tokenizer.encode('Say it: yes').slice(0, promptIds.length)).not.toEqual(promptIds); // ("Say it: " ends in a space the joint text merges into " yes")
  expect(joint.mismatched).toBe(1); // (counted, as TRL warns of it)
  // TRL's own tokenize_row docstring example (GPT-2's tokenizer, max_prompt_length 3, max_completion_length 3):
  // prompt [464, 6766, 318], chosen [4171, 50256], rejected [4077, 50256]
  const sky = new torch.data.PreferenceDataset([{ prompt: 'The sky is', chosen: ' blue', rejected: ' green' }], { maxPromptLength: 3, maxCompletionLength: 3 });
  expect([Array.from(sky.chosen[0].ids), Array.from(sky.rejected[0].ids), sky.chosen[0].promptLength]).toEqual([[464, 6766, 318, 4171, 50256], [464, 6766, 318, 4077, 50256], 3]);
  // text pairs go through the tokenizer (GPT-2's by default), eos its <|endoftext|>
  const text = new torch.data.PreferenceDataset([{ prompt: 'Q: 2+2?', chosen: ' 4', rejected: ' 5' }]);
  expect(Array.from(text.chosen[0].ids)).toEqual([...torch.tokenizer.encode('Q: 2+2?'), ...torch.tokenizer.encode(' 4'), 50256]);
  expect([text.mismatched, sky.mismatched]).toEqual([0, 0]);
  // KTO's examples the same way: the prompt's trailing space merges into the completion's first word
  const kto = new torch.data.KTODataset([{ prompt: 'Say it: ', completion: 'yes', label: true }, { prompt: 'Say it:', completion: ' no', label: false }, { prompt: 'Say it: ', completion: '\nyes', label: true }]);
  expect(kto.mismatched).toBe(1);
  expect(() => new torch.data.PreferenceDataset([{ prompt: 'x', chosen: 'y' } as never])).toThrow("PreferenceDataset: pair 1 has no 'rejected' (each pair needs prompt, chosen and rejected: strings, or arrays of token ids)");
  expect(() => new torch.data.PreferenceDataset([])).toThrow('PreferenceDataset: no pairs');
});

test('PreferenceDataset and KTODataset on worker threads (threads, HF\'s num_proc): the very sequences, counts and order of one thread', () => {
  const words = torch.data.brownDocuments(['a']).map((d) => d.text).join(' ').split(/\s+/);
  const text = (at: number, n: number) => words.slice(at % (words.length - n), at % (words.length - n) + n).join(' ');
  // 3,000 pairs (several of encodeEach's batches): prompts ending in a space now and then (mismatched), ids among the texts, long ones left out
  const pairs: torch.data.PreferencePair[] = Array.from({ length: 3000 }, (_, i) => ({
    prompt: i % 97 === 0 ? [464, 6766, 318] : text(i * 7919, 5 + (i % 40)) + (i % 6 ? '' : ' '),
    chosen: i % 89 === 0 ? [4171] : (i % 6 ? ' ' : '') + text(i * 104729, 1 + (i % 30)),
    rejected: (i % 6 ? ' ' : '') + text(i * 1299709, 1 + (i % 25)) + (i % 11 ? '' : '<|endoftext|>'),
  }));
  for (const opts of [{ maxLength: 48 }, { maxLength: 64, maxPromptLength: 20, maxCompletionLength: 10, truncationMode: 'keep_end' as const }, { maxLength: 40, bosTokenId: 50256 }]) {
    const started = EncodePool.started;
    const one = new torch.data.PreferenceDataset(pairs, opts), two = new torch.data.PreferenceDataset(pairs, { ...opts, threads: 2 });
    expect(EncodePool.started).toBe(started + 1); // (the threads did the encoding)
    expect([one.mismatched > 0, one.dropped > 0]).toEqual([true, !('truncationMode' in opts)]); // (keep_end leaves nothing out)
    expect([two.length, two.dropped, two.mismatched]).toEqual([one.length, one.dropped, one.mismatched]);
    const seqs = (d: torch.data.PreferenceDataset) => [...d.chosen, ...d.rejected].map((q) => [q.promptLength, ...Array.from(q.ids)]);
    expect(seqs(two)).toEqual(seqs(one));
    const examples = torch.data.unpairPreferences(pairs);
    const k1 = new torch.data.KTODataset(examples, opts), k2 = new torch.data.KTODataset(examples, { ...opts, threads: 3 });
    expect([k2.length, k2.dropped, k2.mismatched, k2.labels]).toEqual([k1.length, k1.dropped, k1.mismatched, k1.labels]);
    expect([k2.prompts, k2.completions, k2.examples.map((q) => [q.promptLength, ...Array.from(q.ids)])]).toEqual([k1.prompts, k1.completions, k1.examples.map((q) => [q.promptLength, ...Array.from(q.ids)])]);
  }
});

test('DPOTrainer trains as TRL\'s DPOTrainer with a PEFT model (sigmoid with label smoothing, robust, exo_pair, hinge, ipo, nca_pair, sppo_hard, aot, aot_pair, apo_zero, apo_down, discopop, bco_pair, sft; MPO\'s weighted lists; RPO; f-DPO\'s js and alpha divergences; use_logits_to_keep; WPO\'s use_weighting): losses, metrics (logits/chosen and logits/rejected too), adapter, eval', async () => {
  const train = pairs(B * STEPS, 31), evalPairs = pairs(5, 32);
  train[0].chosen[0] = 0; // (a completion token of id 0, which TRL's RPO nll_loss leaves out)
  const start = await loraModel();
  const init = new Map(start.namedParameters({ trainableOnly: true }).map(([n, p]) => [`init.${n}`, torch.keep(p.clone())]));
  start.dispose();
  const cases = [
    { name: 'sigmoid', beta: 0.1, loss_type: 'sigmoid' as const, label_smoothing: 0, lr: 5e-3 },
    { name: 'cdpo', beta: 0.5, loss_type: 'sigmoid' as const, label_smoothing: 0.2, lr: 5e-3 },
    { name: 'robust', beta: 0.4, loss_type: 'robust' as const, label_smoothing: 0.1, lr: 5e-3 },
    { name: 'exo', beta: 0.3, loss_type: 'exo_pair' as const, label_smoothing: 0, lr: 5e-3 },
    { name: 'hinge', beta: 0.3, loss_type: 'hinge' as const, label_smoothing: 0, lr: 5e-3 },
    { name: 'ipo', beta: 0.2, loss_type: 'ipo' as const, label_smoothing: 0, lr: 2e-3 },
    { name: 'nca', beta: 0.3, loss_type: 'nca_pair' as const, label_smoothing: 0, lr: 5e-3 },
    { name: 'sppo', beta: 0.5, loss_type: 'sppo_hard' as const, label_smoothing: 0, lr: 2e-3 },
    { name: 'aot', beta: 0.3, loss_type: 'aot' as const, label_smoothing: 0.1, lr: 5e-3 },
    { name: 'aot_pair', beta: 0.3, loss_type: 'aot_pair' as const, label_smoothing: 0, lr: 5e-3 },
    { name: 'apo_zero', beta: 0.3, loss_type: 'apo_zero' as const, label_smoothing: 0, lr: 5e-3 },
    { name: 'apo_down', beta: 0.3, loss_type: 'apo_down' as const, label_smoothing: 0, lr: 5e-3 },
    { name: 'discopop', beta: 0.3, loss_type: 'discopop' as const, label_smoothing: 0, discopop_tau: 0.2, lr: 5e-3 },
    { name: 'rpo', beta: 0.2, loss_type: 'sigmoid' as const, label_smoothing: 0, rpo_alpha: 0.5, lr: 5e-3 },
    { name: 'rpo_ipo', beta: 0.2, loss_type: 'ipo' as const, label_smoothing: 0, rpo_alpha: 1, lr: 2e-3 },
    { name: 'keep', beta: 0.1, loss_type: 'sigmoid' as const, label_smoothing: 0, use_logits_to_keep: true, lr: 5e-3 },
    { name: 'keep_rpo_ipo', beta: 0.2, loss_type: 'ipo' as const, label_smoothing: 0, rpo_alpha: 1, use_logits_to_keep: true, lr: 2e-3 },
    { name: 'js', beta: 0.3, loss_type: 'sigmoid' as const, label_smoothing: 0, f_divergence_type: 'js_divergence' as const, lr: 5e-3 },
    { name: 'alpha', beta: 0.3, loss_type: 'hinge' as const, label_smoothing: 0, f_divergence_type: 'alpha_divergence' as const, f_alpha_divergence_coef: 0.5, lr: 5e-3 },
    { name: 'wpo', beta: 0.1, loss_type: 'sigmoid' as const, label_smoothing: 0, use_weighting: true, lr: 5e-3 },
    { name: 'wpo_rpo_keep', beta: 0.2, loss_type: 'sigmoid' as const, label_smoothing: 0, rpo_alpha: 0.5, use_weighting: true, use_logits_to_keep: true, lr: 5e-3 },
    // LD-DPO (pairs of unequal lengths: the longer completion's excess counts ld_alpha times), also with RPO and use_logits_to_keep
    { name: 'ld', beta: 0.2, loss_type: 'sigmoid' as const, label_smoothing: 0, ld_alpha: 0.3, lr: 5e-3 },
    { name: 'ld_rpo_keep', beta: 0.2, loss_type: 'hinge' as const, label_smoothing: 0, ld_alpha: 0.5, rpo_alpha: 0.5, use_logits_to_keep: true, lr: 5e-3 },
    { name: 'bco', beta: 0.3, loss_type: 'bco_pair' as const, label_smoothing: 0, lr: 5e-3 },
    { name: 'sft', beta: 0.1, loss_type: 'sft' as const, label_smoothing: 0, lr: 5e-3 },
    // TRL's MPO recipe (several losses added, each weighted), and a list with ipo (every log-probability a token mean)
    { name: 'mpo', beta: 0.1, loss_type: ['sigmoid', 'bco_pair', 'sft'] as torch.train.DPOLossType[], loss_weights: [0.8, 0.2, 1], label_smoothing: 0, lr: 5e-3 },
    { name: 'ipo_hinge', beta: 0.2, loss_type: ['ipo', 'hinge'] as torch.train.DPOLossType[], loss_weights: [1, 0.5], label_smoothing: 0, lr: 2e-3 },
  ];
  const types = (c: { loss_type: torch.train.DPOLossType | torch.train.DPOLossType[] }) => [c.loss_type].flat();
  const withNll = (c: (typeof cases)[number]) => 'rpo_alpha' in c || types(c).includes('sft');
  const want = referenceTensors('dpo_ref.py', {
    fixtures, pairs: train, eval_pairs: evalPairs, eos: EOS, max_prompt_length: limits.maxPromptLength, max_completion_length: limits.maxCompletionLength,
    max_length: limits.maxLength, batch: B, steps: STEPS, warmup: 1, cases: cases.map((c) => ({ ...c, weight_decay: 0.01 })),
  }, init);
  for (const c of cases) {
    const model = await loraModel();
    const own = new Map(model.namedParameters({ trainableOnly: true }));
    torch.noGrad(() => { for (const [k, t] of init) own.get(k.slice(5))!.copy_(t); });
    const trainer = new torch.DPOTrainer(model, {
      outputDir: path.join(tmp, c.name), maxSteps: STEPS, perDeviceTrainBatchSize: B, learningRate: c.lr, weightDecay: 0.01, warmupSteps: 1,
      // (aot sorts over each batch, RPO's and sft's NLL is a token mean over each: the reference scores the 5 eval pairs as one batch)
      perDeviceEvalBatchSize: types(c).some((t) => t.startsWith('aot')) || withNll(c) ? 8 : 2,
      loggingSteps: 1, saveSteps: 0, shuffle: false, progress: false, beta: c.beta, lossType: c.loss_type, dpoLabelSmoothing: c.label_smoothing,
      ...('loss_weights' in c ? { lossWeights: c.loss_weights } : {}),
      ...('discopop_tau' in c ? { discopopTau: c.discopop_tau } : {}),
      ...('rpo_alpha' in c ? { rpoAlpha: c.rpo_alpha } : {}),
      ...('f_divergence_type' in c ? { fDivergenceType: c.f_divergence_type } : {}),
      ...('f_alpha_divergence_coef' in c ? { fAlphaDivergenceCoef: c.f_alpha_divergence_coef } : {}),
      ...('use_logits_to_keep' in c ? { useLogitsToKeep: c.use_logits_to_keep } : {}),
      ...('use_weighting' in c ? { useWeighting: c.use_weighting } : {}),
      ...('ld_alpha' in c ? { ldAlpha: c.ld_alpha } : {}),
    }, new torch.data.PreferenceDataset(train, { ...limits, eosTokenId: EOS }), new torch.data.PreferenceDataset(evalPairs, { ...limits, eosTokenId: EOS }));
    // use_logits_to_keep: the passes (the policy's and the disabled adapters' reference) compute the positions from the batch's first completion token on
    const kept: number[] = [], original = model.forward.bind(model);
    const forward = jest.spyOn(model, 'forward').mockImplementation(((ids: torch.Tensor, o?: { logitsToKeep?: number }) => {
      kept.push((o?.logitsToKeep ?? 0) / ids.shape[1]);
      return original(ids, o as never);
    }) as never);
    const r = quietly(() => trainer.train());
    // (a batch with a one-token prompt keeps every position but the first's)
    const trimmed = 'use_logits_to_keep' in c ? kept.every((k) => k > 0 && k <= 1) && kept.some((k) => k < 0.9) : kept.every((k) => k === 0);
    expect([c.name, trimmed]).toEqual([c.name, true]);
    forward.mockRestore();
    const logs = r.logHistory.filter((e) => e.loss !== undefined);
    const wantLosses = want.get(`${c.name}.losses`)!.tolist() as number[];
    const wantMetrics = want.get(`${c.name}.metrics`)!.tolist() as number[][];
    expect(logs.length).toBe(STEPS);
    logs.forEach((e, i) => {
      expect([c.name, i, Math.abs(e.loss! - wantLosses[i]) / Math.abs(wantLosses[i]) < 1e-5]).toEqual([c.name, i, true]);
      const names = withNll(c) ? [...DPO_METRICS, 'nll_loss'] : DPO_METRICS;
      expect(wantMetrics[i].length).toBe(names.length);
      names.forEach((m, k) => expect([c.name, i, m, Math.abs(e[m]! - wantMetrics[i][k]) < 1e-5 * Math.max(1, Math.abs(wantMetrics[i][k]))]).toEqual([c.name, i, m, true]));
    });
    for (const [n, p] of own) expect([c.name, n, relErr(p, want.get(`${c.name}.final.${n}`)!) < 1e-4]).toEqual([c.name, n, true]);
    const ev = trainer.evaluate();
    if (withNll(c)) expect(ev.eval_nll_loss).toBeGreaterThan(0);
    const [evalLoss, evalAcc] = want.get(`${c.name}.eval`)!.tolist() as number[];
    expect(Math.abs(ev.eval_loss - evalLoss) / Math.abs(evalLoss)).toBeLessThan(1e-5);
    expect(ev.eval_accuracy).toBeCloseTo(evalAcc, 6);
    expect(ev['eval_rewards/accuracies']).toBe(ev.eval_accuracy);
    trainer.optimizer.dispose();
    model.dispose();
  }
  // the runs trained (the adapters moved), each loss its own way
  for (const c of cases) expect(Math.max(...[...init].map(([k, t]) => relErr(want.get(`${c.name}.final.${k.slice(5)}`)!, t)))).toBeGreaterThan(1e-3);
  expect(relErr(want.get('hinge.final.transformer.h.0.attn.c_attn.lora_A.weight')!, want.get('sigmoid.final.transformer.h.0.attn.c_attn.lora_A.weight')!)).toBeGreaterThan(1e-4);
  // WPO's weights are below 1: its first loss is the same run's unweighted one (the sigmoid case) made smaller
  const [wpo0, plain0] = [(want.get('wpo.losses')!.tolist() as number[])[0], (want.get('sigmoid.losses')!.tolist() as number[])[0]];
  expect(wpo0 / plain0).toBeLessThan(1 - 1e-3);
  // LD-DPO's policy log-probabilities at the first step (the same model): above the plain sums (the longer side's excess tokens, log p < 0, count 0.3 times)
  const logps = (name: string) => { const m = (want.get(`${name}.metrics`)!.tolist() as number[][])[0]; return m[4] + m[5]; };
  expect(logps('ld')).toBeGreaterThan(logps('sigmoid') + 1e-3);
  // sft's rewards are 0 (it has none), MPO's the sigmoid's and bco_pair's, weighted (0.8 + 0.2)
  expect((want.get('sft.metrics')!.tolist() as number[][]).every((m) => m[0] === 0 && m[1] === 0 && m[2] === 0)).toBe(true);
  expect((want.get('sft.losses')!.tolist() as number[])[0]).toBeCloseTo((want.get('sft.metrics')!.tolist() as number[][])[0][8], 6);
  for (const t of [...init.values(), ...want.values()]) t.dispose();
}, 120_000);

test('DPO and KTO with TRL 1.x\'s truncation (keep_start; pairs and examples whose prompt fills max_length left out) and TRL 0.x\'s (keep_end), no prompt or completion caps: as the reference', async () => {
  const train = pairs(B * STEPS + 4, 51), evalPairs = pairs(5, 52); // (prompts of 1 to 9 tokens: some fill max_length 8)
  const start = await loraModel();
  const init = new Map(start.namedParameters({ trainableOnly: true }).map(([n, p]) => [`init.${n}`, torch.keep(p.clone())]));
  start.dispose();
  for (const mode of ['keep_start', 'keep_end'] as const) {
    const opts = { maxPromptLength: null, maxCompletionLength: null, maxLength: 8, truncationMode: mode, eosTokenId: EOS };
    const spec = { fixtures, eos: EOS, max_prompt_length: null, max_completion_length: null, max_length: 8, truncation_mode: mode, batch: B, steps: STEPS, warmup: 1 };
    const data = new torch.data.PreferenceDataset(train, opts);
    if (mode === 'keep_start') expect([data.dropped, data.length]).toEqual([train.filter((p) => p.prompt.length >= 8).length, train.filter((p) => p.prompt.length < 8).length]);
    expect(data.length).toBeGreaterThanOrEqual(B * STEPS);
    const dpoWant = referenceTensors('dpo_ref.py', { ...spec, pairs: train, eval_pairs: evalPairs, cases: [{ name: 'sigmoid', beta: 0.1, loss_type: 'sigmoid', label_smoothing: 0, lr: 5e-3, weight_decay: 0.01 }] }, init);
    const examples = torch.data.unpairPreferences(train), evalExamples = torch.data.unpairPreferences(evalPairs);
    const ktoWant = referenceTensors('kto_ref.py', { ...spec, examples, eval_examples: evalExamples, eval_batch: 2, cases: [{ name: 'kto', beta: 0.1, desirable_weight: 1, undesirable_weight: 1, lr: 5e-3, weight_decay: 0.01 }] }, init);
    for (const [kind, want] of [['dpo', dpoWant], ['kto', ktoWant]] as const) {
      const model = await loraModel();
      const own = new Map(model.namedParameters({ trainableOnly: true }));
      torch.noGrad(() => { for (const [k, t] of init) own.get(k.slice(5))!.copy_(t); });
      const args = { outputDir: path.join(tmp, `trunc-${kind}-${mode}`), maxSteps: STEPS, perDeviceTrainBatchSize: B, perDeviceEvalBatchSize: 2, learningRate: 5e-3, weightDecay: 0.01, warmupSteps: 1, loggingSteps: 1, saveSteps: 0, shuffle: false, progress: false, beta: 0.1 };
      const warn = jest.spyOn(console, 'warn').mockImplementation(() => {}); // (KTO: the unpaired data's first steps are all desirable)
      const trainer = kind === 'dpo'
        ? new torch.DPOTrainer(model, args, data, new torch.data.PreferenceDataset(evalPairs, opts))
        : new torch.KTOTrainer(model, args, new torch.data.KTODataset(examples, opts), new torch.data.KTODataset(evalExamples, opts));
      warn.mockRestore();
      const name = kind === 'dpo' ? 'sigmoid' : 'kto';
      const logs = quietly(() => trainer.train()).logHistory.filter((e) => e.loss !== undefined);
      const wantLosses = want.get(`${name}.losses`)!.tolist() as number[];
      logs.forEach((e, i) => expect([kind, mode, i, Math.abs(e.loss! - wantLosses[i]) / Math.abs(wantLosses[i]) < 1e-5]).toEqual([kind, mode, i, true]));
      for (const [n, p] of own) expect([kind, mode, n, relErr(p, want.get(`${name}.final.${n}`)!) < 1e-4]).toEqual([kind, mode, n, true]);
      const evalLoss = (want.get(`${name}.eval`)!.tolist() as number[])[0];
      expect(Math.abs(trainer.evaluate().eval_loss - evalLoss) / Math.abs(evalLoss)).toBeLessThan(1e-5);
      trainer.optimizer.dispose();
      model.dispose();
    }
    for (const t of [...dpoWant.values(), ...ktoWant.values()]) t.dispose();
  }
  for (const t of init.values()) t.dispose();
}, 180_000);

test('DPOTrainer: gradient accumulation of 2 x 2 pairs is a step of 4; precomputeRefLogProbs; full fine-tuning against a frozen refModel; resume is exact', async () => {
  const train = pairs(8, 41);
  const ds = () => new torch.data.PreferenceDataset(train, { ...limits, eosTokenId: EOS });
  const run = async (name: string, extra: Partial<torch.DPOArguments>) => {
    const model = await loraModel();
    const trainer = new torch.DPOTrainer(model, { outputDir: path.join(tmp, name), maxSteps: 2, perDeviceTrainBatchSize: 4, learningRate: 5e-3, loggingSteps: 1, saveSteps: 0, shuffle: false, progress: false, ...extra }, ds());
    const r = quietly(() => trainer.train());
    const weights = new Map(model.namedParameters({ trainableOnly: true }).map(([n, p]) => [n, torch.keep(p.clone())]));
    trainer.optimizer.dispose();
    model.dispose();
    return { losses: r.logHistory.map((e) => e.loss!), weights, live: r.logHistory.map((e) => e.live_tensors) };
  };
  const whole = await run('ga-whole', {});
  const accumulated = await run('ga-acc', { perDeviceTrainBatchSize: 2, gradientAccumulationSteps: 2 });
  whole.losses.forEach((l, i) => expect(Math.abs(l - accumulated.losses[i]) / Math.abs(l)).toBeLessThan(1e-5));
  expect(new Set(accumulated.live).size).toBe(1); // flat memory from step to step
  for (const [n, p] of whole.weights) expect(relErr(accumulated.weights.get(n)!, p)).toBeLessThan(1e-4);
  // precomputeRefLogProbs (TRL's precompute_ref_log_probs): the same run, with one reference pass over
  // the pairs first instead of a reference forward each step (counted: the model's forward calls)
  const counted = async (name: string, extra: Partial<torch.DPOArguments>) => {
    const model = await loraModel();
    const forward = jest.spyOn(model, 'forward');
    const trainer = new torch.DPOTrainer(model, { outputDir: path.join(tmp, name), maxSteps: 4, perDeviceTrainBatchSize: 4, learningRate: 5e-3, loggingSteps: 1, saveSteps: 0, shuffle: false, progress: false, ...extra }, ds());
    const r = quietly(() => trainer.train());
    const calls = forward.mock.calls.length;
    trainer.optimizer.dispose();
    model.dispose();
    return { losses: r.logHistory.map((e) => e.loss!), calls };
  };
  const perStep = await counted('ref-each', {}), pre = await counted('ref-pre', { precomputeRefLogProbs: true });
  expect(perStep.calls).toBe(8); // 4 steps x (reference + policy)
  expect(pre.calls).toBe(4 + 2); // 4 policy passes, and the 8 pairs' reference in 2 batches of 4, once
  perStep.losses.forEach((l, i) => expect(Math.abs(pre.losses[i] - l) / l).toBeLessThan(1e-6));
  // resume: 1 step, checkpoint, 1 more = 2 straight
  const cut = path.join(tmp, 'dpo-cut');
  await run('dpo-cut', { saveSteps: 1, maxSteps: 1 });
  const model = await loraModel();
  const resumed = new torch.DPOTrainer(model, { outputDir: cut, maxSteps: 2, perDeviceTrainBatchSize: 4, learningRate: 5e-3, loggingSteps: 1, saveSteps: 0, shuffle: false, progress: false, resumeFromCheckpoint: path.join(cut, 'checkpoint-1') }, ds());
  const r = quietly(() => resumed.train());
  expect(r.logHistory.map((e) => e.loss)).toEqual(whole.losses);
  for (const [n, p] of model.namedParameters({ trainableOnly: true })) expect(relErr(p, whole.weights.get(n)!)).toBe(0);
  resumed.optimizer.dispose();
  model.dispose();
  // bco_pair: a checkpoint keeps the running mean of the batches' mean rewards, so that the resumed
  // run centres its rewards as the straight one (3 steps = 2, checkpoint, 1 more; a constant rate, the same for both)
  const bco: Partial<torch.DPOArguments> = { lossType: 'bco_pair', lrSchedulerType: 'constant' };
  const bcoWhole = await run('bco-whole', { ...bco, maxSteps: 3 });
  const bcoCut = path.join(tmp, 'bco-cut');
  await run('bco-cut', { ...bco, saveSteps: 2, maxSteps: 2 });
  expect(JSON.parse(fs.readFileSync(path.join(bcoCut, 'checkpoint-2', 'tstorch_state.json'), 'utf8')).method_state.bco_reward_count).toBeCloseTo(2, 9);
  const bcoModel = await loraModel();
  const bcoResumed = new torch.DPOTrainer(bcoModel, { outputDir: bcoCut, ...bco, maxSteps: 3, perDeviceTrainBatchSize: 4, learningRate: 5e-3, loggingSteps: 1, saveSteps: 0, shuffle: false, progress: false, resumeFromCheckpoint: path.join(bcoCut, 'checkpoint-2') }, ds());
  expect(quietly(() => bcoResumed.train()).logHistory.map((e) => e.loss)).toEqual(bcoWhole.losses);
  bcoResumed.optimizer.dispose();
  bcoModel.dispose();
  for (const t of bcoWhole.weights.values()) t.dispose();
  // full fine-tuning: the policy starts as the reference, so the first step's loss is log 2 (sigmoid of 0)
  const policy = await torch.GPT2LMHeadModel.fromPretrained(base), ref = await torch.GPT2LMHeadModel.fromPretrained(base);
  const full = new torch.DPOTrainer(policy, { outputDir: path.join(tmp, 'dpo-full'), maxSteps: 2, perDeviceTrainBatchSize: 4, learningRate: 1e-3, loggingSteps: 1, saveSteps: 0, shuffle: false, progress: false }, ds(), undefined, [], ref);
  const fr = quietly(() => full.train());
  expect(fr.logHistory[0].loss).toBeCloseTo(Math.log(2), 6);
  expect(fr.logHistory[0]['rewards/margins']).toBeCloseTo(0, 6);
  expect(Math.abs(fr.logHistory[1].loss! - Math.log(2))).toBeGreaterThan(1e-4); // the first step moved the policy off the reference
  expect(ref.parameters().every((p) => p.grad === null && !p.requiresGrad)).toBe(true);
  full.optimizer.dispose();
  for (const t of [...whole.weights.values(), ...accumulated.weights.values()]) t.dispose();
  // clear errors
  expect(() => new torch.DPOTrainer(policy, { outputDir: tmp }, ds())).toThrow(/full fine-tuning needs a frozen reference model \(refModel\)/);
  const lm = await loraModel();
  expect(() => new torch.DPOTrainer(lm, { outputDir: tmp, beta: 0 }, ds())).toThrow('DPOTrainer: beta must be > 0, got 0');
  expect(() => new torch.DPOTrainer(lm, { outputDir: tmp, lossType: 'kto' as never }, ds())).toThrow("DPOTrainer: lossType must be sigmoid, robust, exo_pair, hinge, ipo, nca_pair, sppo_hard, aot, aot_pair, apo_zero, apo_down, discopop, bco_pair, sft (or a list of them); got 'kto'");
  expect(() => new torch.DPOTrainer(lm, { outputDir: tmp, lossType: [] }, ds())).toThrow('DPOTrainer: lossType is an empty list; give one loss type or several');
  expect(() => new torch.DPOTrainer(lm, { outputDir: tmp, lossType: ['sigmoid', 'sft'], lossWeights: [1] }, ds())).toThrow('DPOTrainer: lossWeights must be 2 numbers, one per loss type (sigmoid, sft); got [1]');
  expect(() => new torch.DPOTrainer(lm, { outputDir: tmp, lossType: ['bco_pair', 'sft'], dpoLabelSmoothing: 0.1 }, ds())).toThrow('DPOTrainer: dpoLabelSmoothing is for the sigmoid, robust, exo_pair, aot, aot_pair losses');
  expect(() => new torch.DPOTrainer(lm, { outputDir: tmp, lossType: 'apo_zero', dpoLabelSmoothing: 0.1 }, ds())).toThrow('DPOTrainer: dpoLabelSmoothing is for the sigmoid, robust, exo_pair, aot, aot_pair losses');
  expect(() => new torch.DPOTrainer(lm, { outputDir: tmp, lossType: 'discopop', discopopTau: 0 }, ds())).toThrow('DPOTrainer: discopopTau must be > 0, got 0');
  expect(() => new torch.DPOTrainer(lm, { outputDir: tmp, lossType: 'nca_pair', fDivergenceType: 'js_divergence' }, ds())).toThrow('DPOTrainer: fDivergenceType is for the sigmoid, robust, exo_pair, hinge, ipo losses');
  expect(() => new torch.DPOTrainer(lm, { outputDir: tmp, fDivergenceType: 'kl' as never }, ds())).toThrow("DPOTrainer: fDivergenceType must be reverse_kl, js_divergence, alpha_divergence; got 'kl'");
  expect(() => new torch.DPOTrainer(lm, { outputDir: tmp, fAlphaDivergenceCoef: 0.5 }, ds())).toThrow("DPOTrainer: fAlphaDivergenceCoef is alpha_divergence's; fDivergenceType is reverse_kl");
  expect(() => new torch.DPOTrainer(lm, { outputDir: tmp, neftuneNoiseAlpha: 5 }, ds())).toThrow(/neftuneNoiseAlpha is for language-model training/);
  expect(() => new torch.DPOTrainer(lm, { outputDir: tmp }, new torch.data.TextDataset([1, 2, 3, 4], 2) as never)).toThrow(/must be a PreferenceDataset/);
  for (const m of [policy, ref, lm]) m.dispose();
}, 120_000);

test('DPOTrainer with syncRefModel (TRL\'s TR-DPO): every k steps ref <- (1 - a) ref + a policy, the loss reads the moved reference, checkpoints keep it and resume is exact; clear errors', async () => {
  const train = pairs(8, 43);
  const ds = (p = train) => new torch.data.PreferenceDataset(p, { ...limits, eosTokenId: EOS });
  const ALPHA = 0.3;
  const args = (name: string, extra: Partial<torch.DPOArguments> = {}): torch.DPOArguments => ({
    outputDir: path.join(tmp, name), maxSteps: 3, perDeviceTrainBatchSize: 4, learningRate: 1e-2, lrSchedulerType: 'constant', loggingSteps: 1, saveSteps: 0,
    shuffle: false, progress: false, syncRefModel: true, refModelMixupAlpha: ALPHA, refModelSyncSteps: 1, ...extra,
  });
  const load = () => torch.GPT2LMHeadModel.fromPretrained(base);
  const snapshot = (m: torch.GPT2LMHeadModel) => new Map(m.namedParameters().map(([n, p]) => [n, torch.keep(p.clone())]));
  // the policy after each step, recorded by a callback of ours (the trainer's sync runs after it)
  const policy = await load(), ref = await load(), start = snapshot(ref);
  const seen: Map<string, torch.Tensor>[] = [];
  const trainer = new torch.DPOTrainer(policy, args('trdpo'), ds(), undefined, [{ onStepEnd: () => { seen.push(snapshot(policy)); } }], ref);
  const losses = quietly(() => trainer.train()).logHistory.filter((e) => e.loss !== undefined).map((e) => e.loss!);
  expect(losses[0]).toBeCloseTo(Math.log(2), 6); // (the policy starts as its reference)
  // the reference is the definition's mixture, step after step from the base
  const expected = new Map([...start].map(([n, t]) => [n, torch.keep(t.clone())]));
  torch.noGrad(() => { for (const step of seen) for (const [n, t] of expected) t.mul_(1 - ALPHA).add_(step.get(n)!, ALPHA); });
  for (const [n, p] of ref.namedParameters()) expect([n, relErr(p, expected.get(n)!) < 1e-6]).toEqual([n, true]);
  expect(Math.max(...ref.namedParameters().map(([n, p]) => relErr(p, start.get(n)!)))).toBeGreaterThan(1e-4); // (it moved)
  // the second step's loss is the policy after step 1 against the reference moved once: scored by evaluatePreferences
  const [p1, r1] = [await load(), await load()];
  const once = new Map([...start].map(([n, t]) => [n, t.mul(1 - ALPHA).add(seen[0].get(n)!, ALPHA)]));
  torch.noGrad(() => {
    for (const [n, p] of p1.namedParameters()) p.copy_(seen[0].get(n)!);
    for (const [n, p] of r1.namedParameters()) p.copy_(once.get(n)!);
  });
  const second = torch.train.evaluatePreferences(p1, ds(train.slice(4, 8)), { refModel: r1, batchSize: 4 });
  expect(Math.abs(second.eval_loss - losses[1]) / losses[1]).toBeLessThan(1e-5);
  const baseRef = await load();
  const unsynced = torch.train.evaluatePreferences(p1, ds(train.slice(4, 8)), { refModel: baseRef, batchSize: 4 });
  baseRef.dispose();
  expect(Math.abs(unsynced.eval_loss - losses[1])).toBeGreaterThan(1e-5); // (against the base it would be another loss)
  trainer.optimizer.dispose();
  // resume: 2 steps, checkpoint (with the moved reference), 1 more = 3 straight
  const [cp, cr] = [await load(), await load()];
  const cut = new torch.DPOTrainer(cp, args('trdpo-cut', { maxSteps: 2, saveSteps: 2 }), ds(), undefined, [], cr);
  quietly(() => cut.train());
  cut.optimizer.dispose();
  expect(fs.existsSync(path.join(tmp, 'trdpo-cut', 'checkpoint-2', 'ref_model.safetensors'))).toBe(true);
  const [rp, rr] = [await load(), await load()];
  const resumed = new torch.DPOTrainer(rp, args('trdpo-cut', { resumeFromCheckpoint: path.join(tmp, 'trdpo-cut', 'checkpoint-2') }), ds(), undefined, [], rr);
  expect(quietly(() => resumed.train()).logHistory.filter((e) => e.loss !== undefined).map((e) => e.loss)).toEqual(losses); // (the first two from the checkpoint's log)
  for (const [n, p] of rr.namedParameters()) expect([n, relErr(p, ref.namedParameters().find(([k]) => k === n)![1])]).toEqual([n, 0]);
  resumed.optimizer.dispose();
  // clear errors
  const lm = await loraModel(), other = await load(), frozen = await load();
  expect(() => new torch.DPOTrainer(lm, { outputDir: tmp, syncRefModel: true }, ds())).toThrow('DPOTrainer: syncRefModel (TR-DPO) moves a separate reference model toward the policy, weight by weight: full fine-tuning with a refModel (with LoRA the reference is the base itself)');
  expect(() => new torch.DPOTrainer(other, { outputDir: tmp, syncRefModel: true, precomputeRefLogProbs: true }, ds(), undefined, [], frozen)).toThrow(/syncRefModel moves the reference during training, precomputeRefLogProbs scores it once: not both/);
  expect(() => new torch.DPOTrainer(other, { outputDir: tmp, syncRefModel: true, refModelMixupAlpha: 2 }, ds(), undefined, [], frozen)).toThrow('DPOTrainer: refModelMixupAlpha must be in [0, 1], got 2');
  expect(() => new torch.DPOTrainer(other, { outputDir: tmp, refModelSyncSteps: 8 }, ds(), undefined, [], frozen)).toThrow('DPOTrainer: refModelSyncSteps is TR-DPO\'s; set syncRefModel too');
  for (const t of [...start.values(), ...expected.values(), ...once.values(), ...seen.flatMap((m) => [...m.values()])]) t.dispose();
  for (const m of [policy, ref, p1, r1, cp, cr, rp, rr, lm, other, frozen]) m.dispose();
}, 120_000);

test('ORPOTrainer trains as TRL\'s ORPOTrainer with a PEFT model (no reference: the chosen NLL minus beta x log-sigmoid of the log odds ratio): losses, TRL\'s metrics, adapter, eval', async () => {
  // pairs within the limits (no truncation: TRL's ORPO and DPO tokenizers agree there)
  const big = { maxPromptLength: 16, maxCompletionLength: 16, maxLength: 32 };
  const train = pairs(B * STEPS, 61), evalPairs = pairs(5, 62);
  const start = await loraModel();
  const init = new Map(start.namedParameters({ trainableOnly: true }).map(([n, p]) => [`init.${n}`, torch.keep(p.clone())]));
  start.dispose();
  const cases = [{ name: 'orpo', beta: 0.1, lr: 5e-3 }, { name: 'orpo_strong', beta: 1.0, lr: 2e-3 }];
  const want = referenceTensors('orpo_ref.py', {
    fixtures, pairs: train, eval_pairs: evalPairs, eos: EOS, bos: EOS, max_prompt_length: big.maxPromptLength, max_completion_length: big.maxCompletionLength,
    max_length: big.maxLength, batch: B, steps: STEPS, warmup: 1, cases: cases.map((c) => ({ ...c, weight_decay: 0.01 })),
  }, init);
  const NAMES = [...METRICS, 'nll_loss', 'log_odds_ratio', 'log_odds_chosen', 'logits/chosen', 'logits/rejected'];
  // (TRL's ORPO puts the tokenizer's bos before each prompt: GPT-2's is its eos)
  const orpoData = (p: typeof train) => new torch.data.PreferenceDataset(p, { ...big, eosTokenId: EOS, bosTokenId: EOS });
  expect(Array.from(orpoData([{ prompt: [7, 8], chosen: [9], rejected: [10] }, { prompt: [EOS, 8], chosen: [9], rejected: [10] }]).chosen.map((s) => Array.from(s.ids))))
    .toEqual([[EOS, 7, 8, 9, EOS], [EOS, 8, 9, EOS]]);
  expect(torch.tokenizer.bosTokenId).toBe(50256);
  for (const c of cases) {
    const model = await loraModel();
    const own = new Map(model.namedParameters({ trainableOnly: true }));
    torch.noGrad(() => { for (const [k, t] of init) own.get(k.slice(5))!.copy_(t); });
    const trainer = new torch.ORPOTrainer(model, {
      outputDir: path.join(tmp, c.name), maxSteps: STEPS, perDeviceTrainBatchSize: B, perDeviceEvalBatchSize: 8, learningRate: c.lr, weightDecay: 0.01, warmupSteps: 1,
      loggingSteps: 1, saveSteps: 0, shuffle: false, progress: false, beta: c.beta,
    }, orpoData(train), orpoData(evalPairs));
    trainAsReference(c.name, trainer, own, want, NAMES);
    model.dispose();
  }
  expect(relErr(want.get('orpo.final.transformer.h.0.attn.c_attn.lora_A.weight')!, want.get('orpo_strong.final.transformer.h.0.attn.c_attn.lora_A.weight')!)).toBeGreaterThan(1e-4);
  const m2 = await loraModel();
  expect(() => new torch.ORPOTrainer(m2, { outputDir: tmp, beta: 0 }, new torch.data.PreferenceDataset(train, { ...big, eosTokenId: EOS }))).toThrow('ORPOTrainer: beta must be > 0, got 0');
  m2.dispose();
  for (const t of [...init.values(), ...want.values()]) t.dispose();
}, 120_000);

test('CPOTrainer trains as TRL\'s CPOTrainer with a PEFT model (no reference: sigmoid with label smoothing and the chosen NLL, hinge, ipo, SimPO): losses, TRL\'s metrics, adapter, eval', async () => {
  const big = { maxPromptLength: 16, maxCompletionLength: 16, maxLength: 32 };
  const train = pairs(B * STEPS, 63), evalPairs = pairs(5, 64);
  const start = await loraModel();
  const init = new Map(start.namedParameters({ trainableOnly: true }).map(([n, p]) => [`init.${n}`, torch.keep(p.clone())]));
  start.dispose();
  const cases = [
    { name: 'cpo', beta: 0.1, loss_type: 'sigmoid' as const, cpo_alpha: 1, simpo_gamma: 0.5, label_smoothing: 0, lr: 5e-3 },
    { name: 'cpo_smooth', beta: 0.3, loss_type: 'sigmoid' as const, cpo_alpha: 0.5, simpo_gamma: 0.5, label_smoothing: 0.2, lr: 5e-3 },
    { name: 'cpo_hinge', beta: 0.2, loss_type: 'hinge' as const, cpo_alpha: 1, simpo_gamma: 0.5, label_smoothing: 0, lr: 5e-3 },
    { name: 'cpo_ipo', beta: 0.5, loss_type: 'ipo' as const, cpo_alpha: 1, simpo_gamma: 0.5, label_smoothing: 0, lr: 2e-3 },
    { name: 'simpo', beta: 2, loss_type: 'simpo' as const, cpo_alpha: 0, simpo_gamma: 1.2, label_smoothing: 0, lr: 5e-3 },
  ];
  const want = referenceTensors('cpo_ref.py', {
    fixtures, pairs: train, eval_pairs: evalPairs, eos: EOS, bos: EOS, max_prompt_length: big.maxPromptLength, max_completion_length: big.maxCompletionLength,
    max_length: big.maxLength, batch: B, steps: STEPS, warmup: 1, cases: cases.map((c) => ({ ...c, weight_decay: 0.01 })),
  }, init);
  const NAMES = [...METRICS, 'nll_loss', 'logits/chosen', 'logits/rejected'];
  // (TRL's CPO tokenizes as its ORPO: the tokenizer's bos before each prompt)
  const data = (p: typeof train) => new torch.data.PreferenceDataset(p, { ...big, eosTokenId: EOS, bosTokenId: EOS });
  for (const c of cases) {
    const model = await loraModel();
    const own = new Map(model.namedParameters({ trainableOnly: true }));
    torch.noGrad(() => { for (const [k, t] of init) own.get(k.slice(5))!.copy_(t); });
    const trainer = new torch.CPOTrainer(model, {
      outputDir: path.join(tmp, c.name), maxSteps: STEPS, perDeviceTrainBatchSize: B, perDeviceEvalBatchSize: 8, learningRate: c.lr, weightDecay: 0.01, warmupSteps: 1,
      loggingSteps: 1, saveSteps: 0, shuffle: false, progress: false, beta: c.beta, lossType: c.loss_type, cpoAlpha: c.cpo_alpha, cpoLabelSmoothing: c.label_smoothing,
      ...(c.loss_type === 'simpo' ? { simpoGamma: c.simpo_gamma } : {}),
    }, data(train), data(evalPairs));
    trainAsReference(c.name, trainer, own, want, NAMES);
    model.dispose();
  }
  // the runs trained, each its own way; SimPO logs no NLL (cpo_alpha 0), CPO's is the chosen completions'
  for (const c of cases) expect(Math.max(...[...init].map(([k, t]) => relErr(want.get(`${c.name}.final.${k.slice(5)}`)!, t)))).toBeGreaterThan(1e-3);
  expect((want.get('simpo.metrics')!.tolist() as number[][]).every((row) => row[6] === 0)).toBe(true);
  expect((want.get('cpo.metrics')!.tolist() as number[][])[0][6]).toBeGreaterThan(1);
  const m2 = await loraModel(), ds = data(train);
  expect(() => new torch.CPOTrainer(m2, { outputDir: tmp, lossType: 'exo_pair' as never }, ds)).toThrow("CPOTrainer: lossType must be sigmoid, hinge, ipo, simpo; got 'exo_pair'");
  expect(() => new torch.CPOTrainer(m2, { outputDir: tmp, simpoGamma: 1 }, ds)).toThrow('CPOTrainer: simpoGamma is the simpo loss\'s; lossType is sigmoid');
  expect(() => new torch.CPOTrainer(m2, { outputDir: tmp, lossType: 'hinge', cpoLabelSmoothing: 0.1 }, ds)).toThrow('CPOTrainer: cpoLabelSmoothing is for the sigmoid and simpo losses');
  expect(() => new torch.CPOTrainer(m2, { outputDir: tmp, cpoAlpha: -1 }, ds)).toThrow('CPOTrainer: cpoAlpha must be a number >= 0, got -1');
  expect(() => new torch.CPOTrainer(m2, { outputDir: tmp, label_smoothing: 0.1 } as never, ds)).toThrow(/label_smoothing/);
  m2.dispose();
  for (const t of [...init.values(), ...want.values()]) t.dispose();
}, 120_000);

test('KTOTrainer trains as TRL\'s KTOTrainer with a PEFT model (unpaired examples, the KL reference point from mismatched rows, desirable / undesirable weights; apo_zero_unpaired): losses, metrics, adapter, eval', async () => {
  const KB = 4, KSTEPS = 4;
  // unpaired examples, each desirable or not at random; step 3 (examples 8-11) all desirable: no rejected metrics there
  const unpaired = (n: number, seed: number, allChosen: (i: number) => boolean) => {
    const ps = pairs(n, seed);
    torch.manualSeed(seed + 100);
    return ps.map((p, i) => ({ prompt: p.prompt, completion: p.chosen, label: allChosen(i) || (torch.randint(0, 2, [1]).item() as number) === 1 }));
  };
  const train = unpaired(KB * KSTEPS, 71, (i) => i >= 8 && i < 12), evalExamples = unpaired(7, 72, () => false);
  const ds = (e: typeof train) => new torch.data.KTODataset(e, { ...limits, eosTokenId: EOS });
  // the KL rows: each prompt with the completion before it in its chunk of the batch size (the first with the last)
  expect([0, 1, 3, 4, 5, 6].map((i) => ds(evalExamples).klPartner(i, 4))).toEqual([3, 0, 2, 6, 4, 5]); // (7 examples: chunks 0-3 and 4-6)
  const start = await loraModel();
  const init = new Map(start.namedParameters({ trainableOnly: true }).map(([n, p]) => [`init.${n}`, torch.keep(p.clone())]));
  start.dispose();
  const cases = [
    { name: 'kto', beta: 0.1, desirable_weight: 1, undesirable_weight: 1, lr: 5e-3 },
    { name: 'kto_weighted', beta: 0.5, desirable_weight: 1.3, undesirable_weight: 0.8, lr: 2e-3 },
    { name: 'apo_unpaired', beta: 0.3, desirable_weight: 1, undesirable_weight: 1.2, lr: 5e-3, loss_type: 'apo_zero_unpaired' as const },
  ];
  const want = referenceTensors('kto_ref.py', {
    fixtures, examples: train, eval_examples: evalExamples, eos: EOS, max_prompt_length: limits.maxPromptLength, max_completion_length: limits.maxCompletionLength,
    max_length: limits.maxLength, batch: KB, eval_batch: 3, steps: KSTEPS, warmup: 1, cases: cases.map((c) => ({ ...c, weight_decay: 0.01 })),
  }, init);
  const NAMES = ['rewards/chosen', 'rewards/rejected', 'rewards/margins', 'logps/chosen', 'logps/rejected', 'kl'];
  const close = (a: number | undefined, b: number) => (Number.isNaN(b) ? a === undefined : a !== undefined && Math.abs(a - b) < 1e-5 * Math.max(1, Math.abs(b)));
  for (const c of cases) {
    const model = await loraModel();
    const own = new Map(model.namedParameters({ trainableOnly: true }));
    torch.noGrad(() => { for (const [k, t] of init) own.get(k.slice(5))!.copy_(t); });
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
    const trainer = new torch.KTOTrainer(model, {
      outputDir: path.join(tmp, c.name), maxSteps: KSTEPS, perDeviceTrainBatchSize: KB, perDeviceEvalBatchSize: 3, learningRate: c.lr, weightDecay: 0.01, warmupSteps: 1,
      loggingSteps: 1, saveSteps: 0, shuffle: false, progress: false, beta: c.beta, desirableWeight: c.desirable_weight, undesirableWeight: c.undesirable_weight,
      ...('loss_type' in c ? { lossType: c.loss_type } : {}),
    }, ds(train), ds(evalExamples));
    warn.mockRestore();
    const r = quietly(() => trainer.train());
    const logs = r.logHistory.filter((e) => e.loss !== undefined);
    const wantLosses = want.get(`${c.name}.losses`)!.tolist() as number[];
    const wantMetrics = want.get(`${c.name}.metrics`)!.tolist() as number[][];
    expect(logs.length).toBe(KSTEPS);
    logs.forEach((e, i) => {
      expect([c.name, i, Math.abs(e.loss! - wantLosses[i]) / Math.abs(wantLosses[i]) < 1e-5]).toEqual([c.name, i, true]);
      NAMES.forEach((m, k) => expect([c.name, i, m, close(e[m], wantMetrics[i][k])]).toEqual([c.name, i, m, true]));
    });
    expect(logs[2]['rewards/rejected']).toBeUndefined(); // (an all-desirable step)
    for (const [n, p] of own) expect([c.name, n, relErr(p, want.get(`${c.name}.final.${n}`)!) < 1e-4]).toEqual([c.name, n, true]);
    const ev = trainer.evaluate();
    const wantEval = want.get(`${c.name}.eval`)!.tolist() as number[];
    expect(Math.abs(ev.eval_loss - wantEval[0]) / Math.abs(wantEval[0])).toBeLessThan(1e-5);
    NAMES.forEach((m, k) => expect([c.name, m, close(ev[`eval_${m}`], wantEval[1 + k])]).toEqual([c.name, m, true]));
    trainer.optimizer.dispose();
    model.dispose();
  }
  for (const c of cases) expect(Math.max(...[...init].map(([k, t]) => relErr(want.get(`${c.name}.final.${k.slice(5)}`)!, t)))).toBeGreaterThan(1e-3);
  expect((want.get('kto.metrics')!.tolist() as number[][]).some((row) => row[5] > 0)).toBe(true); // (the KL term was in play)
  // precomputeRefLogProbs: the reference's log-probabilities of every example and KL row taken once, the same run
  {
    const c = cases[0], model = await loraModel();
    const own = new Map(model.namedParameters({ trainableOnly: true }));
    torch.noGrad(() => { for (const [k, t] of init) own.get(k.slice(5))!.copy_(t); });
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
    const trainer = new torch.KTOTrainer(model, {
      outputDir: path.join(tmp, 'kto-pre'), maxSteps: KSTEPS, perDeviceTrainBatchSize: KB, learningRate: c.lr, weightDecay: 0.01, warmupSteps: 1,
      loggingSteps: 1, saveSteps: 0, shuffle: false, progress: false, beta: c.beta, precomputeRefLogProbs: true,
    }, ds(train));
    warn.mockRestore();
    const losses = quietly(() => trainer.train()).logHistory.filter((e) => e.loss !== undefined).map((e) => e.loss!);
    const wantLosses = want.get('kto.losses')!.tolist() as number[];
    losses.forEach((l, i) => expect([i, Math.abs(l - wantLosses[i]) / wantLosses[i] < 1e-5]).toEqual([i, true]));
    for (const [n, p] of own) expect([n, relErr(p, want.get(`kto.final.${n}`)!) < 1e-4]).toEqual([n, true]);
    trainer.optimizer.dispose();
    model.dispose();
  }
  // full fine-tuning against a frozen copy: at the first step policy = reference, so r = 0, z = 0 and
  // each example's loss is its weight x (1 - sigmoid(0)); the copy stays as it was
  const full = await torch.GPT2LMHeadModel.fromPretrained(base), frozen = await torch.GPT2LMHeadModel.fromPretrained(base);
  const fullRun = new torch.KTOTrainer(full, { outputDir: path.join(tmp, 'kto-full'), maxSteps: 2, perDeviceTrainBatchSize: KB, learningRate: 1e-3, loggingSteps: 1, saveSteps: 0, shuffle: false, progress: false, desirableWeight: 1.3 },
    ds(train), undefined, [], frozen);
  const fr = quietly(() => fullRun.train()).logHistory.filter((e) => e.loss !== undefined);
  const first = train.slice(0, KB).reduce((t, e) => t + (e.label ? 1.3 : 1) * 0.5, 0) / KB;
  expect([Math.abs(fr[0].loss! - first) < 1e-6, fr[0].kl, Math.abs(fr[1].loss! - first) > 1e-6]).toEqual([true, 0, true]);
  expect(frozen.parameters().every((p) => !p.requiresGrad)).toBe(true);
  const weight = (m: torch.GPT2LMHeadModel) => m.namedParameters().find(([n]) => n === 'transformer.h.0.attn.c_attn.weight')![1];
  const orig = await torch.GPT2LMHeadModel.fromPretrained(base);
  expect([relErr(weight(frozen), weight(full)) > 1e-6, relErr(weight(frozen), weight(orig))]).toEqual([true, 0]); // (the policy moved, the copy did not)
  orig.dispose();
  fullRun.optimizer.dispose();
  full.dispose();
  frozen.dispose();
  // TRL's rules: a batch of one has no other completions for its KL rows; both kinds of example needed
  const m2 = await loraModel();
  expect(() => new torch.KTOTrainer(m2, { outputDir: tmp, perDeviceTrainBatchSize: 1 }, ds(train))).toThrow('perDeviceTrainBatchSize must be > 1');
  expect(() => new torch.KTOTrainer(m2, { outputDir: tmp }, ds(evalExamples.map((e) => ({ ...e, label: false }))))).toThrow('the training set has 0 desirable and 7 undesirable examples; KTO needs both');
  expect(() => new torch.data.KTODataset([{ prompt: [1], completion: [2], label: 'yes' as unknown as boolean }])).toThrow("example 1's label must be true (a desirable completion) or false");
  // paired data unpaired as TRL's unpair_preference_dataset: the chosen (desirable), then the rejected
  const up = torch.data.KTODataset.fromPairs(pairs(3, 9), { ...limits, eosTokenId: EOS });
  expect([up.length, up.labels]).toEqual([6, [true, true, true, false, false, false]]);
  m2.dispose();
  for (const t of [...init.values(), ...want.values()]) t.dispose();
}, 120_000);

test('DPO and KTO against another adapter of the model (TRL\'s ref_adapter_name, DPO after SFT without a second base): the losses, metrics and adapter of the run against that adapter merged into a frozen copy', async () => {
  // the SFT adapter: the starting point of both runs, and their reference
  const sft = await loraModel();
  const sftDir = path.join(tmp, 'ref-adapter-sft');
  await torch.lora.saveAdapter(sft, sftDir);
  sft.dispose();
  const twice = async () => { // the adapter to train, and the same adapter again as the reference
    const m = await torch.GPT2LMHeadModel.fromPretrained(base);
    await torch.lora.loadAdapter(m, sftDir);
    await torch.lora.loadAdapter(m, sftDir, { adapterName: 'reference' });
    return m;
  };
  const copies = async () => { // TRL's "load the model twice": the adapter, and a frozen merged copy
    const m = await torch.lora.loadAdapter(await torch.GPT2LMHeadModel.fromPretrained(base), sftDir);
    const ref = torch.lora.mergeAndUnload(await torch.lora.loadAdapter(await torch.GPT2LMHeadModel.fromPretrained(base), sftDir));
    return [m, ref];
  };
  const weightsOf = (m: torch.GPT2LMHeadModel) => new Map(m.namedParameters({ trainableOnly: true }).map(([n, p]) => [n, torch.keep(p.clone())]));
  const args = (name: string, extra: object) => ({ outputDir: path.join(tmp, name), maxSteps: 3, perDeviceTrainBatchSize: 4, perDeviceEvalBatchSize: 3, learningRate: 5e-3, loggingSteps: 1, saveSteps: 0, shuffle: false, progress: false, ...extra });
  const compare = (a: torch.TrainResult, b: torch.TrainResult, names: string[], wa: Map<string, torch.Tensor>, wb: Map<string, torch.Tensor>) => {
    const la = a.logHistory.filter((e) => e.loss !== undefined), lb = b.logHistory.filter((e) => e.loss !== undefined);
    expect(la.length).toBe(3);
    la.forEach((e, i) => {
      expect([i, Math.abs(e.loss! - lb[i].loss!) / lb[i].loss! < 1e-5]).toEqual([i, true]);
      for (const m of names) expect([i, m, Math.abs(e[m]! - lb[i][m]!) < 1e-5 * Math.max(1, Math.abs(lb[i][m]!))]).toEqual([i, m, true]);
    });
    expect([...wa.keys()]).toEqual([...wb.keys()]);
    for (const [n, p] of wa) expect([n, relErr(p, wb.get(n)!) < 1e-5]).toEqual([n, true]);
  };
  // DPO
  const data = new torch.data.PreferenceDataset(pairs(12, 43), { ...limits, eosTokenId: EOS });
  const evalData = new torch.data.PreferenceDataset(pairs(5, 44), { ...limits, eosTokenId: EOS });
  const m = await twice();
  const startRef = new Map(torch.lora.withAdapter(m, 'reference', () => weightsOf(m)));
  const dpo = new torch.DPOTrainer(m, args('ref-adapter-dpo', { refAdapterName: 'reference' }), data, evalData);
  const held = m.namedParameters({ trainableOnly: true }).map(([, p]) => p);
  const got = quietly(() => dpo.train());
  const [m2, ref2] = await copies();
  const want = quietly(() => new torch.DPOTrainer(m2, args('ref-adapter-dpo-copy', {}), data, evalData, [], ref2).train());
  expect(got.logHistory[0].loss).toBeCloseTo(Math.log(2), 6); // policy = reference at the start
  expect(Math.abs(got.logHistory[2].loss! - Math.log(2))).toBeGreaterThan(1e-4);
  compare(got, want, METRICS, weightsOf(m), weightsOf(m2));
  // the trained adapter is the tensors the optimizer held, still active; the reference is as it was loaded
  expect([torch.lora.activeAdapter(m), m.namedParameters({ trainableOnly: true }).every(([, p], i) => p === held[i])]).toEqual(['default', true]);
  torch.lora.withAdapter(m, 'reference', () => { for (const [n, p] of m.namedParameters({ trainableOnly: true })) expect([n, relErr(p, startRef.get(n)!)]).toEqual([n, 0]); });
  expect(relErr(held[1], startRef.get(m.namedParameters({ trainableOnly: true })[1][0])!)).toBeGreaterThan(1e-4); // (the trained one moved)
  const ev = torch.train.evaluatePreferences(m, evalData, { refAdapterName: 'reference', batchSize: 3 }), evWant = torch.train.evaluatePreferences(m2, evalData, { refModel: ref2, batchSize: 3 });
  expect([Math.abs(ev.eval_loss - evWant.eval_loss) < 1e-5 * evWant.eval_loss, ev.eval_accuracy]).toEqual([true, evWant.eval_accuracy]);
  // the adapter saved is the trained one only, as the run saved it
  await torch.lora.saveAdapter(m, path.join(tmp, 'ref-adapter-out'));
  const saved = torch.io.safetensors.loadFile(path.join(tmp, 'ref-adapter-out', 'adapter_model.safetensors')).tensors;
  expect(saved.size).toBe(held.length);
  for (const t of [dpo, new torch.DPOTrainer(m2, args('x', {}), data, undefined, [], ref2)]) t.optimizer.dispose();
  // KTO
  const unpaired = pairs(12, 45).map((p, i) => ({ prompt: p.prompt, completion: i % 3 ? p.chosen : p.rejected, label: i % 3 !== 0 }));
  const kdata = new torch.data.KTODataset(unpaired, { ...limits, eosTokenId: EOS });
  const warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
  const k = await twice();
  const kto = new torch.KTOTrainer(k, args('ref-adapter-kto', { refAdapterName: 'reference', maxSteps: 3 }), kdata);
  const kgot = quietly(() => kto.train());
  const [k2, kref2] = await copies();
  const kto2 = new torch.KTOTrainer(k2, args('ref-adapter-kto-copy', { maxSteps: 3 }), kdata, undefined, [], kref2);
  const kwant = quietly(() => kto2.train());
  warn.mockRestore();
  compare(kgot, kwant, ['rewards/chosen', 'logps/chosen', 'kl'], weightsOf(k), weightsOf(k2));
  expect(kgot.logHistory[0]['rewards/chosen']).toBeCloseTo(0, 6); // r = 0 at the first step
  for (const t of [kto, kto2]) t.optimizer.dispose();
  // errors that say what to do
  expect(() => new torch.DPOTrainer(m2, args('e', { refAdapterName: 'reference' }), data)).toThrow(/refAdapterName 'reference': the model has no such adapter \(it has default\); loadAdapter\(model, dir, \{ adapterName: 'reference' \}\) adds one/);
  expect(() => new torch.DPOTrainer(m, args('e', { refAdapterName: 'default' }), data)).toThrow(/refAdapterName 'default' is the adapter that trains; the reference must be another/);
  expect(() => new torch.DPOTrainer(m, args('e', { refAdapterName: 'reference' }), data, undefined, [], ref2)).toThrow(/one reference: refModel \(a separate model\) or refAdapterName \(an adapter of this one\), not both/);
  expect(() => new torch.KTOTrainer(k, args('e', { modelAdapterName: 'sft' }), kdata)).toThrow(/modelAdapterName 'sft': the model has no such adapter/);
  expect(() => torch.train.evaluatePreferences(ref2, evalData, { refAdapterName: 'reference' })).toThrow(/refAdapterName and modelAdapterName name adapters of the model, which has no LoRA/);
  expect(() => torch.train.evaluatePreferences(m, evalData, { refAdapterName: 'nope' })).toThrow(/evaluatePreferences: refAdapterName 'nope': the model has no such adapter/);
  // modelAdapterName: the adapter that trains is made active (TRL's model_adapter_name), the reference being the other
  const swapped = new torch.DPOTrainer(m, args('ref-adapter-swap', { modelAdapterName: 'reference', refAdapterName: 'default' }), data);
  expect(torch.lora.activeAdapter(m)).toBe('reference');
  swapped.optimizer.dispose();
  for (const x of [m, m2, ref2, k, k2, kref2]) x.dispose();
}, 120_000);

test('gradientCheckpointing in DPO, ORPO and KTO: the policy\'s blocks recomputed in backward, the same losses and adapter as without', async () => {
  const checkpointing = await import('../lib/tensor/checkpoint');
  const train = pairs(8, 81);
  const unpairedData = new torch.data.KTODataset(train.map((p, i) => ({ prompt: p.prompt, completion: p.chosen, label: i % 2 === 0 })), { ...limits, eosTokenId: EOS });
  const runs: [string, (m: torch.GPT2LMHeadModel, gc: boolean) => torch.Trainer][] = [
    ['dpo', (m, gc) => new torch.DPOTrainer(m, { ...common(gc), beta: 0.3 }, new torch.data.PreferenceDataset(train, { ...limits, eosTokenId: EOS }))],
    ['orpo', (m, gc) => new torch.ORPOTrainer(m, { ...common(gc), beta: 0.3 }, new torch.data.PreferenceDataset(train, { ...limits, eosTokenId: EOS }))],
    ['kto', (m, gc) => new torch.KTOTrainer(m, { ...common(gc), beta: 0.3 }, unpairedData)],
  ];
  function common(gc: boolean): torch.TrainingArguments {
    return { outputDir: path.join(tmp, `gc-${gc}`), maxSteps: 2, perDeviceTrainBatchSize: 4, learningRate: 5e-3, loggingSteps: 1, saveSteps: 0, shuffle: false, progress: false, gradientCheckpointing: gc };
  }
  for (const [name, make] of runs) {
    const results: { losses: number[]; params: torch.Tensor[]; calls: number }[] = [];
    for (const gc of [false, true]) {
      const model = await loraModel();
      const spy = jest.spyOn(checkpointing, 'checkpointWithParameters');
      const trainer = make(model, gc);
      const warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
      const r = quietly(() => trainer.train());
      warn.mockRestore();
      results.push({ losses: r.logHistory.filter((e) => e.loss !== undefined).map((e) => e.loss!), params: model.parameters({ trainableOnly: true }).map((p) => torch.keep(p.clone())), calls: spy.mock.calls.length });
      spy.mockRestore();
      trainer.optimizer.dispose();
      model.dispose();
    }
    const [plain, ckpt] = results;
    // (each step's policy pass with grad: one checkpoint per block; none without the flag)
    expect([name, plain.calls, ckpt.calls]).toEqual([name, 0, 2 * 2]);
    expect([name, plain.losses.map((l, i) => Math.abs(l - ckpt.losses[i]) < 1e-6)]).toEqual([name, [true, true]]);
    plain.params.forEach((p, i) => expect([name, i, relErr(ckpt.params[i], p) < 1e-6]).toEqual([name, i, true]));
    for (const t of [...plain.params, ...ckpt.params]) t.dispose();
  }
}, 120_000);
