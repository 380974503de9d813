// nanoGPT ported as written (scripts/examples/nanogpt.ts) against nanoGPT's Python run on the
// same news text (scripts/reference/nanogpt_ref.py): the same weights from the same seed (every
// parameter, bit for bit), the same batches, the same losses through warmup, cosine decay,
// clipping and AdamW's decay groups, the same estimate_loss, and the same sampled text.
import * as torch from '../lib';
import { GPT, GPTConfig, train, charVocab } from '../scripts/examples/nanogpt';
import { runExampleReference, stateDictDiff } from './helpers';

const text = torch.data.brownDocuments(['a']).map((d) => d.text).join('\n').slice(0, 20_000);
const vocab = charVocab(text);
const ids = vocab.encode(text);
const split = Math.floor(0.9 * ids.length);
const config: GPTConfig = { blockSize: 16, vocabSize: vocab.chars.length, nLayer: 2, nHead: 2, nEmbd: 32, dropout: 0.0, bias: true };
const run = {
  maxIters: 40, batchSize: 8, learningRate: 1e-3, weightDecay: 0.1, beta1: 0.9, beta2: 0.95, gradClip: 1.0,
  warmupIters: 4, lrDecayIters: 36, minLr: 1e-4, evalIters: 3, seed: 1337,
};
const gen = { prompt: vocab.encode('The '), maxNewTokens: 24, temperature: 0.8, topK: 5, seed: 7 };

let ref: ReturnType<typeof runExampleReference<{ losses: number[]; final: { train: number; val: number }; generated: number[] }>>;
beforeAll(() => {
  ref = runExampleReference('nanogpt_ref.py', {
    config: { block_size: config.blockSize, vocab_size: config.vocabSize, n_layer: config.nLayer, n_head: config.nHead, n_embd: config.nEmbd, dropout: config.dropout, bias: config.bias },
    train: ids.slice(0, split), val: ids.slice(split), max_iters: run.maxIters, batch_size: run.batchSize, learning_rate: run.learningRate,
    weight_decay: run.weightDecay, beta1: run.beta1, beta2: run.beta2, grad_clip: run.gradClip, warmup_iters: run.warmupIters,
    lr_decay_iters: run.lrDecayIters, min_lr: run.minLr, eval_iters: run.evalIters, seed: run.seed,
    prompt: gen.prompt, max_new_tokens: gen.maxNewTokens, temperature: gen.temperature, top_k: gen.topK, generate_seed: gen.seed,
  });
}, 120_000);
afterAll(() => ref.dispose());

/** max |a - b| over every parameter, by name. */
const maxDiff = (ours: [string, torch.Tensor][], theirs: Map<string, torch.Tensor>) => stateDictDiff(new Map(ours), theirs);

test('the model as built: nanoGPT\'s parameters, names and values, bit for bit from the same seed (init order, tied weights, scaled c_proj init)', () => {
  torch.manualSeed(run.seed);
  const model = new GPT(config);
  expect(maxDiff(model.namedParameters(), ref.files.init)).toBe(0);
  // the tied embedding is one tensor, counted once, as nanoGPT's get_num_params
  expect(model.transformer.wte.weight).toBe(model.lm_head.weight);
  const nParams = [...ref.files.init.values()].reduce((s, t) => s + t.numel(), 0);
  expect(model.getNumParams(false)).toBe(nParams);
  expect(model.getNumParams()).toBe(nParams - config.blockSize * config.nEmbd);
  model.dispose();
});

test('training as train.py: each iteration\'s loss (1e-5), estimate_loss, the trained parameters (1e-5), then generate with top-k: the same text', () => {
  const before = torch.memory().liveTensors;
  const trainData = torch.tensor(ids.slice(0, split)), valData = torch.tensor(ids.slice(split));
  const { model, losses, final } = train({ config, trainData, valData, ...run });
  expect(losses.length).toBe(ref.out.losses.length);
  losses.forEach((l, i) => expect([i, Math.abs(l - ref.out.losses[i]) < 1e-5]).toEqual([i, true]));
  // it learned something: the loss went down (nanoGPT's, and so ours)
  expect(losses[losses.length - 1]).toBeLessThan(losses[0] - 0.3);
  expect(Math.abs(final.train - ref.out.final.train)).toBeLessThan(1e-5);
  expect(Math.abs(final.val - ref.out.final.val)).toBeLessThan(1e-5);
  expect(maxDiff(model.namedParameters(), ref.files.final)).toBeLessThan(1e-5);

  model.eval();
  torch.manualSeed(gen.seed);
  const prompt = torch.tensor([gen.prompt]);
  const out = model.generate(prompt, gen.maxNewTokens, gen.temperature, gen.topK);
  const generated = torch.tidy(() => out.index(0).tolist() as number[]);
  expect(vocab.decode(generated)).toBe(vocab.decode(ref.out.generated));
  expect(generated.length).toBe(gen.prompt.length + gen.maxNewTokens);
  for (const t of [out, prompt]) t.dispose();
  model.dispose();
  trainData.dispose();
  valData.dispose();
  // nothing is left behind: every batch, activation, gradient and moment freed
  expect(torch.memory().liveTensors).toBe(before);
});
