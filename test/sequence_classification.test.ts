// GPT2ForSequenceClassification against scripts/reference/seqcls_ref.py (transformers'
// GPT2ForSequenceClassification in plain PyTorch): logits, losses of the three problem types and
// every gradient, with right and left padding and a pad token inside a text; LoRA training as
// PEFT's SEQ_CLS task with HF's Trainer (losses 1e-5 relative, every trained tensor 1e-4, eval
// loss and accuracy); HF folder and PEFT adapter round trips; ClassificationDataset's labels;
// RewardTrainer as TRL's (margins, center_rewards_coefficient) against the same reference.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as torch from '../lib';
import { fixtures, referenceJson, referenceTensors, relErr } from './helpers';

let tmp: string, base: string;
const PAD = 100;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-seqcls-'));
  // the tiny fixture without dropout, so that training steps compare exactly
  base = path.join(tmp, 'base');
  fs.mkdirSync(base);
  const config = JSON.parse(fs.readFileSync(path.join(fixtures, 'gpt2', 'tiny', 'config.json'), 'utf8'));
  fs.writeFileSync(path.join(base, 'config.json'), JSON.stringify({ ...config, resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0, classifier_dropout: 0 }));
  fs.copyFileSync(path.join(fixtures, 'gpt2', 'tiny', 'model.safetensors'), path.join(base, 'model.safetensors'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function quietly<T>(fn: () => T): T {
  const warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
  const log = jest.spyOn(console, 'log').mockImplementation(() => {});
  try {
    return fn();
  } finally {
    warn.mockRestore();
    log.mockRestore();
  }
}

/** The base as a classifier with a seeded head (the same head goes to the reference). */
async function classifier(numLabels: number, head: torch.Tensor, opts: torch.ClassificationOptions = {}): Promise<torch.GPT2ForSequenceClassification> {
  const warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
  const model = await torch.GPT2ForSequenceClassification.fromPretrained(base, { numLabels, padTokenId: PAD, ...opts });
  warn.mockRestore();
  torch.noGrad(() => model.score.weight.copy_(head));
  return model;
}

function heads(): Map<string, torch.Tensor> {
  torch.manualSeed(11);
  return new Map([1, 3].map((L) => [`score${L}`, torch.keep(torch.randn([L, 32]).mul(0.3))]));
}

test('GPT2ForSequenceClassification: logits, the loss of each problem type and every gradient as transformers\' (right and left padding, a pad token inside a text)', async () => {
  const P = PAD;
  const rightPadded = [[5, 17, 42, 8, P, P], [61, 3, 99, 12, 7, 30], [9, P, 14, P, P, P]]; // (row 3: the pad id inside its text: read at 14)
  const leftPadded = [[P, P, 5, 17, 42, 8], [61, 3, 99, 12, 7, 30], [P, P, P, 9, 2, 14]];
  const maskOf = (ids: number[][], left: boolean) => ids.map((r) => r.map((t, k) => (t === P && (left ? k < r.indexOf(r.find((x) => x !== P)!) : r.slice(k).every((x) => x === P)) ? 0 : 1)));
  const cases = [
    { name: 'single', num_labels: 3, ids: rightPadded, mask: maskOf(rightPadded, false), labels: [0, 2, 1], problem_type: null },
    { name: 'single_left', num_labels: 3, ids: leftPadded, mask: maskOf(leftPadded, true), labels: [2, 2, 0], problem_type: null },
    { name: 'regression', num_labels: 1, ids: rightPadded, mask: maskOf(rightPadded, false), labels: [0.5, -1.25, 2], problem_type: null },
    { name: 'multi', num_labels: 3, ids: rightPadded, mask: maskOf(rightPadded, false), labels: [[1, 0, 1], [0, 0, 0], [1, 1, 0]], problem_type: null },
    { name: 'regression3', num_labels: 3, ids: rightPadded, mask: null, labels: [[0.5, 1, -1], [0, 2, 0.25], [1, 1, 1]], problem_type: 'regression' },
  ];
  const inputs = heads();
  const ref = referenceTensors('seqcls_ref.py', { model_dir: base, pad: PAD, forward: cases.map((c) => ({ ...c, float_labels: !c.name.startsWith('single') })), train: null }, inputs);
  for (const c of cases) {
    const model = await classifier(c.num_labels, inputs.get(`score${c.num_labels}`)!, { problemType: c.problem_type as torch.ProblemType | null });
    const labels = c.name.startsWith('single') ? torch.tensor(c.labels as number[], { dtype: 'int64' }) : torch.tensor(c.labels as number[], { dtype: 'float32' });
    const out = model.forward(torch.tensor(c.ids, { dtype: 'int64' }), { labels, attentionMask: c.mask ? torch.tensor(c.mask, { dtype: 'int64' }) : undefined });
    out.loss!.backward();
    expect([c.name, out.logits.shape]).toEqual([c.name, [3, c.num_labels]]);
    expect(relErr(out.logits, ref.get(`${c.name}.logits`)!)).toBeLessThan(1e-5);
    expect(relErr(out.loss!.reshape([1]), ref.get(`${c.name}.loss`)!)).toBeLessThan(1e-5);
    const expected = c.name === 'regression3' ? 'regression' : c.name.startsWith('single') ? 'single_label_classification' : c.name === 'multi' ? 'multi_label_classification' : 'regression';
    expect([c.name, model.config.problem_type]).toEqual([c.name, expected]); // (inferred, and kept, as HF)
    for (const [n, p] of model.namedParameters()) {
      const err = relErr(p.grad!, ref.get(`${c.name}.grad.${n}`)!);
      if (!(err < 1e-4)) throw new Error(`${c.name}: grad of ${n} off by ${err}`);
    }
    model.dispose();
  }
  // the left-padded rows read their last token, the right-padded ones theirs: the same rows, other positions
  const m = await classifier(3, inputs.get('score3')!, { problemType: 'single_label_classification' });
  expect(m.lastTokenIndices(torch.tensor(rightPadded, { dtype: 'int64' })).tolist()).toEqual([3, 5, 2]);
  expect(m.lastTokenIndices(torch.tensor(leftPadded, { dtype: 'int64' })).tolist()).toEqual([5, 5, 5]);
  // a batch without a pad token cannot be read; one sequence can
  const noPad = await classifier(3, inputs.get('score3')!, { padTokenId: null });
  expect(() => noPad.forward(torch.tensor(rightPadded, { dtype: 'int64' }))).toThrow('a batch of more than one sequence needs a pad token');
  expect(noPad.forward(torch.tensor([[5, 17, 42]], { dtype: 'int64' })).logits.shape).toEqual([1, 3]);
  expect(() => m.forward(torch.tensor(rightPadded, { dtype: 'int64' }), { labels: torch.tensor([0.5, 1, 2]) })).toThrow('single-label classification takes (3) integer class ids');
  for (const t of inputs.values()) t.dispose();
  m.dispose(); noPad.dispose();
});

test('ClassificationDataset maps labels as run_classification (sorted classes, regression, multi-label) and pads batches on the right', () => {
  const text = (k: number) => Array.from({ length: k }, (_, i) => 10 + i);
  const ds = new torch.data.ClassificationDataset([{ text: text(3), label: 'pos' }, { text: text(5), label: 'neg' }, { text: text(2), label: 'neutral' }], { padTokenId: PAD, maxLength: 4 });
  expect([ds.problemType, ds.labelNames, ds.truncated]).toEqual(['single_label_classification', ['neg', 'neutral', 'pos'], 1]);
  // integer labels named by classNames (a ClassLabel's): their order, each label its id; in multi-label lists too
  const named = new torch.data.ClassificationDataset([{ text: text(2), label: 2 }, { text: text(2), label: 0 }], { classNames: ['pos', 'neg', 'neutral'] });
  expect([named.labelNames, named.targets]).toEqual([['pos', 'neg', 'neutral'], [2, 0]]);
  const namedMulti = new torch.data.ClassificationDataset([{ text: text(2), label: [0, 2] }, { text: text(2), label: [1] }], { classNames: ['a', 'b', 'c'] });
  expect([namedMulti.problemType, namedMulti.targets.map((t) => [...(t as Float32Array)])]).toEqual(['multi_label_classification', [[1, 0, 1], [0, 1, 0]]]);
  expect(() => new torch.data.ClassificationDataset([{ text: text(2), label: 3 }], { classNames: ['a', 'b'] })).toThrow('example 1 has label 3, not an id into the 2 class names');
  const b = ds.collate([0, 1, 2]);
  expect(b.inputIds.tolist()).toEqual([[10, 11, 12, PAD], [10, 11, 12, 13], [10, 11, PAD, PAD]]);
  expect(b.attentionMask!.tolist()).toEqual([[1, 1, 1, 0], [1, 1, 1, 1], [1, 1, 0, 0]]);
  expect([b.labels.dtype, b.labels.tolist()]).toEqual(['int64', [2, 0, 1]]);
  expect([ds.lossTokens([0, 1]), ds.tokens([0, 1, 2])]).toEqual([2, 9]);
  const ints = new torch.data.ClassificationDataset([{ text: 'a', label: 10 }, { text: 'b', label: 2 }]);
  expect(ints.labelNames).toEqual(['2', '10']); // (numbers sorted by value)
  const reg = new torch.data.ClassificationDataset([{ text: 'a', label: 0.5 }, { text: 'b', label: 3 }]);
  expect([reg.problemType, reg.numLabels, reg.collate([0, 1]).labels.tolist()]).toEqual(['regression', 1, [0.5, 3]]);
  const multi = new torch.data.ClassificationDataset([{ text: 'a', label: ['sports', 'news'] }, { text: 'b', label: [] }, { text: 'c', label: ['arts'] }]);
  expect([multi.problemType, multi.labelNames, multi.collate([0, 1, 2]).labels.tolist()]).toEqual(['multi_label_classification', ['arts', 'news', 'sports'], [[0, 1, 1], [0, 0, 0], [1, 0, 0]]]);
  // a model's names fix the ids; a class it lacks is an error, as is text with no tokens
  const fixed = new torch.data.ClassificationDataset([{ text: 'a', label: 'pos' }], { labels: ['pos', 'neg'] });
  expect(fixed.collate([0]).labels.tolist()).toEqual([0]);
  expect(() => new torch.data.ClassificationDataset([{ text: 'a', label: 'maybe' }], { labels: ['pos', 'neg'] })).toThrow("label 'maybe' not among the model's (pos, neg)");
  expect(() => new torch.data.ClassificationDataset([{ text: '', label: 'a' }, { text: 'b', label: 'c' }])).toThrow('example 1 has no tokens');
  expect(() => new torch.data.ClassificationDataset([{ text: 'a', label: 'x' }, { text: 'b', label: 'x' }])).toThrow('needs at least 2 classes');
});

test('LoRA on a classifier trains as PEFT\'s SEQ_CLS with HF\'s Trainer (score as a module to save): losses, tensors, eval; the adapter and the merged model load back', async () => {
  torch.manualSeed(21);
  const ids = (n: number) => Array.from(torch.randint(0, 100, [n]).data() as BigInt64Array, Number);
  const len = () => 2 + (torch.randint(0, 8, [1]).item() as number);
  const examples = Array.from({ length: 12 }, (_, i) => ({ ids: ids(len()), label: i % 3 }));
  const evalExamples = Array.from({ length: 7 }, (_, i) => ({ ids: ids(len()), label: (i * 2) % 3 }));
  const names = ['0', '1', '2'];
  const data = (ex: typeof examples) => new torch.data.ClassificationDataset(ex.map((e) => ({ text: e.ids, label: e.label })), { padTokenId: PAD, labels: names });
  const inputs = heads();
  const model = await classifier(3, inputs.get('score3')!, { id2label: { 0: '0', 1: '1', 2: '2' } });
  torch.manualSeed(5);
  torch.lora.applyLoRA(model, { r: 4, alpha: 8, dropout: 0 });
  torch.noGrad(() => { for (const [n, p] of model.namedParameters({ trainableOnly: true })) if (n.includes('lora_B')) p.normal_(0, 0.05); });
  const trainable = model.namedParameters({ trainableOnly: true });
  expect(trainable.map(([n]) => n)).toContain('score.weight');
  for (const [n, p] of trainable) inputs.set(`init.${n}`, torch.keep(p.clone()));
  const out = path.join(tmp, 'run');
  const trainer = new torch.Trainer(model, {
    outputDir: out, learningRate: 5e-3, weightDecay: 0.01, warmupSteps: 1, perDeviceTrainBatchSize: 3, numTrainEpochs: 1,
    loggingSteps: 1, saveStrategy: 'no', progress: false,
  }, data(examples), data(evalExamples));
  const batches = trainer.stepsFor(0).map((step) => step[0]);
  const ref = referenceTensors('seqcls_ref.py', {
    model_dir: base, pad: PAD, forward: [],
    train: { num_labels: 3, examples, eval_examples: evalExamples, batches, lr: 5e-3, weight_decay: 0.01, warmup: 1 },
  }, inputs);
  const result = quietly(() => trainer.train());
  const losses = result.logHistory.filter((e) => e.loss !== undefined).map((e) => e.loss!);
  expect(losses.length).toBe(4);
  const want = ref.get('train.losses')!.tolist() as number[];
  losses.forEach((l, k) => expect(Math.abs(l - want[k]) / Math.abs(want[k])).toBeLessThan(1e-5));
  for (const [n, p] of model.namedParameters({ trainableOnly: true })) {
    const err = relErr(p, ref.get(`train.final.${n}`)!);
    if (!(err < 1e-4)) throw new Error(`${n} off by ${err}`);
  }
  const ev = trainer.evaluate();
  const [evalLoss, evalAccuracy] = ref.get('train.eval')!.tolist() as number[];
  expect(Math.abs(ev.eval_loss - evalLoss) / evalLoss).toBeLessThan(1e-5);
  expect(Math.abs(ev.eval_accuracy! - evalAccuracy)).toBeLessThan(1e-6);
  expect(ev.eval_perplexity).toBeUndefined();

  // The adapter, as PEFT saves a SEQ_CLS one: the head under its own name, task_type SEQ_CLS
  await trainer.saveModel();
  const config = JSON.parse(fs.readFileSync(path.join(out, 'adapter_config.json'), 'utf8'));
  expect([config.task_type, config.modules_to_save]).toEqual(['SEQ_CLS', ['classifier', 'score']]);
  const saved = torch.io.safetensors.loadFile(path.join(out, 'adapter_model.safetensors')).tensors;
  expect(saved.has('base_model.model.score.weight')).toBe(true);
  const probe = data(evalExamples).collate([0, 1, 2, 3, 4, 5, 6]);
  const trained = torch.noGrad(() => model.forward(probe.inputIds, { attentionMask: probe.attentionMask }).logits);
  const fresh = await classifier(3, inputs.get('score1')!.expand([3, 32]).contiguous(), { id2label: { 0: '0', 1: '1', 2: '2' } });
  await torch.lora.loadAdapter(fresh, out);
  const loaded = torch.noGrad(() => fresh.forward(probe.inputIds, { attentionMask: probe.attentionMask }).logits);
  expect(relErr(loaded, trained)).toBeLessThan(1e-6);
  // the adapter folder alone, as transformers with PEFT loads one: its base, a head of the adapter's 3 outputs with its labels, the adapter on it
  const warned = jest.spyOn(console, 'warn').mockImplementation(() => {});
  const asModel = await torch.GPT2ForSequenceClassification.fromPretrained(out);
  expect(warned).not.toHaveBeenCalled(); // (the adapter brings the head: no "newly initialized")
  warned.mockRestore();
  expect([asModel.training, asModel.numLabels, asModel.config.id2label, asModel.config.pad_token_id, asModel.config.problem_type]).toEqual([false, 3, { 0: '0', 1: '1', 2: '2' }, PAD, 'single_label_classification']);
  expect(torch.noGrad(() => asModel.forward(probe.inputIds, { attentionMask: probe.attentionMask }).logits).equal(loaded)).toBe(true);
  asModel.dispose();
  for (const cls of [torch.GPT2LMHeadModel, torch.GPT2ForTokenClassification]) {
    await expect(cls.fromPretrained(out)).rejects.toThrow(`${cls.name}: ${out} is a SEQ_CLS adapter, with a head for GPT2ForSequenceClassification: load it with GPT2ForSequenceClassification.fromPretrained`);
  }
  await expect(torch.GPT2ForSequenceClassification.fromPretrained(out, { numLabels: 2 })).rejects.toThrow(`GPT2ForSequenceClassification: the adapter ${out} has a score head of 3 outputs, not numLabels 2`);
  // merged into a plain classifier: HF's folder (config with id2label, pad_token_id, problem_type), loaded back
  torch.lora.mergeAndUnload(fresh);
  const merged = path.join(tmp, 'merged');
  await fresh.savePretrained(merged);
  const mc = JSON.parse(fs.readFileSync(path.join(merged, 'config.json'), 'utf8'));
  expect([mc.architectures, mc.id2label, mc.label2id, mc.pad_token_id, mc.problem_type]).toEqual([['GPT2ForSequenceClassification'], { 0: '0', 1: '1', 2: '2' }, { 0: 0, 1: 1, 2: 2 }, PAD, null]); // (as HF: fresh never saw labels)
  expect(model.config.problem_type).toBe('single_label_classification');
  expect(torch.isSequenceClassifierFolder(merged)).toBe(true);
  const back = await torch.GPT2ForSequenceClassification.fromPretrained(merged);
  expect(back.numLabels).toBe(3);
  expect(relErr(torch.noGrad(() => back.forward(probe.inputIds, { attentionMask: probe.attentionMask }).logits), trained)).toBeLessThan(1e-5);
  await expect(torch.GPT2ForSequenceClassification.fromPretrained(merged, { numLabels: 5 })).rejects.toThrow('its classification head has 3 outputs, not 5');
  // a mismatch between data and model is caught before training
  expect(() => new torch.Trainer(back, { outputDir: path.join(tmp, 'x') }, new torch.data.ClassificationDataset([{ text: 'a', label: 'x' }, { text: 'b', label: 'y' }], { padTokenId: PAD }))).toThrow("the training set's labels (x, y) are not the model's id2label (0, 1, 2)");
  expect(() => new torch.Trainer(back, { outputDir: path.join(tmp, 'x') }, new torch.data.ClassificationDataset(examples.map((e) => ({ text: e.ids, label: String(e.label) })), { labels: names }))).toThrow(`the training set pads with token 50256 but the model's pad_token_id is ${PAD}`);
  for (const m of [model, fresh, back]) m.dispose();
  for (const t of inputs.values()) t.dispose();
});

test('RewardTrainer trains as TRL\'s RewardTrainer with a PEFT SEQ_CLS model (margins, center_rewards_coefficient): losses, tensors, eval loss and accuracy', async () => {
  torch.manualSeed(41);
  const ids = (n: number) => Array.from(torch.randint(0, 100, [n]).data() as BigInt64Array, Number);
  const len = () => 2 + (torch.randint(0, 7, [1]).item() as number);
  const pairs = Array.from({ length: 12 }, (_, i) => ({ chosen: ids(len()), rejected: ids(len()), margin: (i % 4) * 0.25 }));
  const evalPairs = Array.from({ length: 6 }, () => ({ chosen: ids(len()), rejected: ids(len()) }));
  const inputs = heads();
  const model = await classifier(1, inputs.get('score1')!, { problemType: 'regression' });
  torch.manualSeed(6);
  torch.lora.applyLoRA(model, { r: 4, alpha: 8, dropout: 0 });
  torch.noGrad(() => { for (const [n, p] of model.namedParameters({ trainableOnly: true })) if (n.includes('lora_B')) p.normal_(0, 0.05); });
  for (const [n, p] of model.namedParameters({ trainableOnly: true })) inputs.set(`init.${n}`, torch.keep(p.clone()));
  const trainer = new torch.RewardTrainer(model, {
    outputDir: path.join(tmp, 'rm'), learningRate: 5e-3, weightDecay: 0.01, warmupSteps: 1, perDeviceTrainBatchSize: 3, numTrainEpochs: 1,
    loggingSteps: 1, saveStrategy: 'no', progress: false, centerRewardsCoefficient: 0.01,
  }, new torch.data.RewardDataset(pairs, { padTokenId: PAD }), new torch.data.RewardDataset(evalPairs, { padTokenId: PAD }));
  const batches = trainer.stepsFor(0).map((step) => step[0]);
  const ref = referenceTensors('seqcls_ref.py', {
    model_dir: base, pad: PAD, forward: [], train: null,
    reward: { pairs, eval_pairs: evalPairs, batches, lr: 5e-3, weight_decay: 0.01, warmup: 1, center: 0.01 },
  }, inputs);
  const result = quietly(() => trainer.train());
  const losses = result.logHistory.filter((e) => e.loss !== undefined).map((e) => e.loss!);
  const want = ref.get('reward.losses')!.tolist() as number[];
  expect(losses.length).toBe(want.length);
  losses.forEach((l, k) => expect(Math.abs(l - want[k]) / Math.abs(want[k])).toBeLessThan(1e-5));
  for (const [n, p] of model.namedParameters({ trainableOnly: true })) {
    const err = relErr(p, ref.get(`reward.final.${n}`)!);
    if (!(err < 1e-4)) throw new Error(`${n} off by ${err}`);
  }
  const ev = trainer.evaluate();
  const [evalLoss, accuracy] = ref.get('reward.eval')!.tolist() as number[];
  expect(Math.abs(ev.eval_loss - evalLoss) / evalLoss).toBeLessThan(1e-5);
  expect(Math.abs(ev.eval_accuracy! - accuracy)).toBeLessThan(1e-6);
  // a reward model has one output; pairs pad as the model reads them
  const two = await classifier(3, inputs.get('score3')!);
  expect(() => new torch.RewardTrainer(two, { outputDir: tmp }, new torch.data.RewardDataset(pairs, { padTokenId: PAD }))).toThrow('one output (numLabels: 1)');
  expect(() => new torch.RewardTrainer(model, { outputDir: tmp }, new torch.data.RewardDataset(pairs))).toThrow("pads with token 50256 but the model's pad_token_id is 100");
  expect(() => new torch.data.RewardDataset([{ chosen: 'a' } as never])).toThrow("pair 1 has no 'rejected'");
  const long = new torch.data.RewardDataset([...pairs, { chosen: ids(40), rejected: [1] }], { maxLength: 20 });
  expect([long.length, long.dropped]).toEqual([12, 1]);
  for (const m of [model, two]) m.dispose();
  for (const t of inputs.values()) t.dispose();
});

test('GPT2ForTokenClassification as transformers\' (logits, loss, every gradient) and trained as PEFT\'s TOKEN_CLS with HF\'s Trainer; TokenClassificationDataset labels each word\'s first token', async () => {
  torch.manualSeed(51);
  const ids = (n: number) => Array.from(torch.randint(0, 100, [n]).data() as BigInt64Array, Number);
  const tagNames = ['B-LOC', 'B-PER', 'I-PER', 'O']; // (entity tags: the eval also has run_ner's entity scores)
  // sentences of words, each word 1-3 tokens, a tag each
  const sentence = (words: number) => Array.from({ length: words }, () => ({ pieces: ids(1 + (torch.randint(0, 3, [1]).item() as number)), tag: tagNames[torch.randint(0, 4, [1]).item() as number] }));
  const toExample = (s: { pieces: number[]; tag: string }[]) => ({ tokens: s.map((w) => w.pieces), tags: s.map((w) => w.tag) });
  // what the reference gets: the flat ids, each word's tag id on its first token, -100 on the rest
  const flat = (s: { pieces: number[]; tag: string }[]) => ({
    ids: s.flatMap((w) => w.pieces),
    labels: s.flatMap((w) => w.pieces.map((_, j) => (j === 0 ? tagNames.indexOf(w.tag) : -100))),
  });
  const train = Array.from({ length: 9 }, () => sentence(2 + (torch.randint(0, 4, [1]).item() as number)));
  const evalSet = Array.from({ length: 4 }, () => sentence(3));
  const data = (ss: typeof train) => new torch.data.TokenClassificationDataset(ss.map(toExample), { padTokenId: PAD });
  const ds = data(train);
  expect(ds.labelNames).toEqual(tagNames.filter((t) => train.some((s) => s.some((w) => w.tag === t))));
  expect(ds.labelNames).toEqual(tagNames); // (all four drawn: the ids below are the reference's)
  const b = ds.collate([0, 1]);
  const f0 = flat(train[0]), f1 = flat(train[1]), T = Math.max(f0.ids.length, f1.ids.length);
  expect(b.labels.tolist()).toEqual([f0, f1].map((f) => [...f.labels, ...Array(T - f.labels.length).fill(-100)]));
  expect(ds.lossTokens([0, 1])).toBe(train[0].length + train[1].length);
  torch.manualSeed(12);
  const inputs = new Map([['tok.classifier.weight', torch.keep(torch.randn([4, 32]).mul(0.3))], ['tok.classifier.bias', torch.keep(torch.randn([4]).mul(0.1))]]);
  const warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
  const model = await torch.GPT2ForTokenClassification.fromPretrained(base, { id2label: ds.id2label });
  warn.mockRestore();
  torch.noGrad(() => { model.classifier.weight.copy_(inputs.get('tok.classifier.weight')!); model.classifier.bias!.copy_(inputs.get('tok.classifier.bias')!); });
  // one forward and backward on a padded batch
  const fwd = [flat(train[2]), flat(train[3]), flat(train[4])];
  const Tf = Math.max(...fwd.map((f) => f.ids.length));
  const spec = {
    ids: fwd.map((f) => [...f.ids, ...Array(Tf - f.ids.length).fill(PAD)]), mask: fwd.map((f) => [...f.ids.map(() => 1), ...Array(Tf - f.ids.length).fill(0)]),
    labels: fwd.map((f) => [...f.labels, ...Array(Tf - f.labels.length).fill(-100)]),
  };
  const out = model.forward(torch.tensor(spec.ids, { dtype: 'int64' }), { attentionMask: torch.tensor(spec.mask, { dtype: 'int64' }), labels: torch.tensor(spec.labels, { dtype: 'int64' }) });
  out.loss!.backward();
  // then LoRA (TOKEN_CLS: the classifier trains in full) for 3 steps of HF's Trainer
  model.zeroGrad();
  torch.manualSeed(7);
  torch.lora.applyLoRA(model, { r: 4, alpha: 8, dropout: 0 });
  torch.noGrad(() => { for (const [n, p] of model.namedParameters({ trainableOnly: true })) if (n.includes('lora_B')) p.normal_(0, 0.05); });
  const trainable = model.namedParameters({ trainableOnly: true }).map(([n]) => n);
  expect(trainable).toEqual(expect.arrayContaining(['classifier.weight', 'classifier.bias']));
  for (const [n, p] of model.namedParameters({ trainableOnly: true })) inputs.set(`init.${n}`, torch.keep(p.clone()));
  const grads = new Map(model.namedParameters().filter(([, p]) => p.grad).map(([n, p]) => [n.replace('.base_layer', ''), torch.keep(p.grad!.clone())]));
  const trainer = new torch.Trainer(model, {
    outputDir: path.join(tmp, 'tok'), learningRate: 5e-3, weightDecay: 0.01, warmupSteps: 1, perDeviceTrainBatchSize: 3, numTrainEpochs: 1,
    loggingSteps: 1, saveStrategy: 'no', progress: false,
  }, ds, data(evalSet));
  const batches = trainer.stepsFor(0).map((step) => step[0]);
  const ref = referenceTensors('seqcls_ref.py', {
    model_dir: base, pad: PAD, forward: [], train: null, reward: null,
    token: { num_labels: 4, forward: spec, examples: train.map(flat), eval_examples: evalSet.map(flat), batches, lr: 5e-3, weight_decay: 0.01, warmup: 1, tag_names: tagNames },
  }, inputs);
  expect(relErr(out.logits, ref.get('token.logits')!)).toBeLessThan(1e-5);
  expect(relErr(out.loss!.reshape([1]), ref.get('token.loss')!)).toBeLessThan(1e-5);
  for (const [n, g] of grads) {
    const err = relErr(g, ref.get(`token.grad.${n}`)!);
    if (!(err < 1e-4)) throw new Error(`grad of ${n} off by ${err}`);
  }
  const result = quietly(() => trainer.train());
  const losses = result.logHistory.filter((e) => e.loss !== undefined).map((e) => e.loss!);
  const want = ref.get('token.losses')!.tolist() as number[];
  expect(losses.length).toBe(want.length);
  losses.forEach((l, k) => expect(Math.abs(l - want[k]) / Math.abs(want[k])).toBeLessThan(1e-5));
  for (const [n, p] of model.namedParameters({ trainableOnly: true })) {
    const err = relErr(p, ref.get(`token.final.${n}`)!);
    if (!(err < 1e-4)) throw new Error(`${n} off by ${err}`);
  }
  const ev = trainer.evaluate();
  const [evalLoss, accuracy] = ref.get('token.eval')!.tolist() as number[];
  expect(Math.abs(ev.eval_loss - evalLoss) / evalLoss).toBeLessThan(1e-5);
  expect(Math.abs(ev.eval_accuracy! - accuracy)).toBeLessThan(1e-6);
  const [precision, recall, f1Score, accuracy2, predicted, gold] = ref.get('token.entities')!.tolist() as number[];
  expect([ev.eval_precision, ev.eval_recall, ev.eval_f1, ev.eval_accuracy].map((v) => v!.toFixed(6))).toEqual([precision, recall, f1Score, accuracy2].map((v) => v.toFixed(6)));
  const r = torch.train.evaluateTokenClassifier(model, data(evalSet));
  expect([r.entities!.overall.number, Object.values(r.entities!.types).reduce((n, t) => n + t.number, 0)]).toEqual([gold, gold]);
  expect(predicted + gold).toBeGreaterThan(0);
  // the adapter: PEFT's TOKEN_CLS, the head under its own names
  await trainer.saveModel();
  const config = JSON.parse(fs.readFileSync(path.join(tmp, 'tok', 'adapter_config.json'), 'utf8'));
  expect([config.task_type, config.modules_to_save, config.tstorch_id2label]).toEqual(['TOKEN_CLS', ['classifier', 'score'], ds.id2label]);
  const saved = torch.io.safetensors.loadFile(path.join(tmp, 'tok', 'adapter_model.safetensors')).tensors;
  expect(['base_model.model.classifier.weight', 'base_model.model.classifier.bias'].every((k) => saved.has(k))).toBe(true);
  // its folder alone as a token classifier (transformers + PEFT): the base, the adapter's tags, the adapter on it
  const asModel = await torch.GPT2ForTokenClassification.fromPretrained(path.join(tmp, 'tok'));
  expect([asModel.training, asModel.config.id2label]).toEqual([false, ds.id2label]);
  const probeIds = torch.tensor([[5, 17, 42, 8], [61, 3, 99, 12]], { dtype: 'int64' });
  model.eval();
  expect(torch.noGrad(() => asModel.forward(probeIds).logits).equal(torch.noGrad(() => model.forward(probeIds).logits))).toBe(true);
  asModel.dispose();
  expect(() => new torch.data.TokenClassificationDataset([{ tokens: ['a', 'b'], tags: ['X'] }])).toThrow('example 1 has 2 words but 1 tags');
  expect(() => new torch.data.TokenClassificationDataset([{ tokens: ['a'], tags: ['Y'] }], { labels: ['X'] })).toThrow("tag 'Y' not among the model's (X)");
  // integer tags with their names (a ClassLabel's): the names' order, each tag its id
  const byId = new torch.data.TokenClassificationDataset([{ tokens: ['a', 'b', 'c'], tags: [2, 0, 1] }], { tagNames: ['O', 'B-X', 'I-X'] });
  expect([byId.labelNames, [...byId.labels[0]].filter((l) => l !== -100)]).toEqual([['O', 'B-X', 'I-X'], [2, 0, 1]]);
  expect(() => new torch.data.TokenClassificationDataset([{ tokens: ['a'], tags: [3] }], { tagNames: ['O', 'B-X', 'I-X'] })).toThrow('example 1 has tag 3, not an id into the 3 tag names');
  model.dispose();
  for (const t of [...inputs.values(), ...grads.values()]) t.dispose();
});

test('gradientCheckpointing trains the classifiers as without it, on padded batches (the attention mask saved for the recompute)', async () => {
  torch.manualSeed(91);
  const ids = (n: number) => Array.from(torch.randint(0, 100, [n]).data() as BigInt64Array, Number);
  const texts = Array.from({ length: 8 }, (_, i) => ({ text: ids(3 + (i % 5)), label: String(i % 3) }));
  const tagged = Array.from({ length: 8 }, (_, i) => ({ tokens: Array.from({ length: 2 + (i % 4) }, () => ids(1 + (i % 2))), tags: Array.from({ length: 2 + (i % 4) }, (_, k) => ['B-X', 'I-X', 'O'][(i + k) % 3]) }));
  const run = async (kind: 'seq' | 'token', gc: boolean) => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
    const model = kind === 'seq'
      ? await torch.GPT2ForSequenceClassification.fromPretrained(base, { numLabels: 3, padTokenId: PAD, id2label: { 0: '0', 1: '1', 2: '2' } })
      : await torch.GPT2ForTokenClassification.fromPretrained(base, { id2label: { 0: 'B-X', 1: 'I-X', 2: 'O' } });
    warn.mockRestore();
    torch.manualSeed(3);
    torch.noGrad(() => { for (const p of model.parameters()) if (p.shape.length === 2 && p.shape[0] === 3) p.normal_(0, 0.3); });
    torch.lora.applyLoRA(model, { r: 4, alpha: 8, dropout: 0 });
    const data = kind === 'seq' ? new torch.data.ClassificationDataset(texts, { padTokenId: PAD }) : new torch.data.TokenClassificationDataset(tagged, { padTokenId: PAD });
    const trainer = new torch.Trainer(model, { outputDir: path.join(tmp, `gc-${kind}-${gc}`), maxSteps: 2, perDeviceTrainBatchSize: 4, learningRate: 5e-3, loggingSteps: 1, saveSteps: 0, shuffle: false, progress: false, gradientCheckpointing: gc }, data);
    const losses = quietly(() => trainer.train()).logHistory.filter((e) => e.loss !== undefined).map((e) => e.loss!);
    const params = model.parameters({ trainableOnly: true }).map((p) => torch.keep(p.clone()));
    trainer.optimizer.dispose();
    model.dispose();
    return { losses, params };
  };
  for (const kind of ['seq', 'token'] as const) {
    const [plain, ckpt] = [await run(kind, false), await run(kind, true)];
    expect([kind, plain.losses.map((l, i) => Math.abs(l - ckpt.losses[i]) < 1e-6)]).toEqual([kind, [true, true]]);
    plain.params.forEach((p, i) => expect([kind, i, relErr(ckpt.params[i], p) < 1e-6]).toEqual([kind, i, true]));
    expect(Math.abs(plain.losses[1] - plain.losses[0])).toBeGreaterThan(1e-6); // (trained)
    for (const t of [...plain.params, ...ckpt.params]) t.dispose();
  }
});

test('entity scores as seqeval\'s (run_ner\'s precision, recall, F1): chunks of IOB2, IOBES and bare tags, per type and overall', () => {
  torch.manualSeed(33);
  const pick = (n: number) => torch.randint(0, n, [1]).item() as number;
  const tagSets = [
    ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC', 'B-MISC-X', 'I-MISC-X'],
    ['O', 'B-ORG', 'I-ORG', 'E-ORG', 'S-ORG', 'B-LOC', 'E-LOC', 'S-LOC', 'I-LOC'],
    ['O', 'B', 'I', 'E', 'S', 'B-X', 'I-X'],
  ];
  // gold tags drawn freely (ill-formed runs too: an I- after O, a type change inside a chunk), predictions a third redrawn
  const cases = tagSets.map((tags) => {
    const gold = Array.from({ length: 150 }, () => Array.from({ length: 1 + pick(10) }, () => tags[pick(tags.length)]));
    const pred = gold.map((s) => s.map((t) => (pick(3) === 0 ? tags[pick(tags.length)] : t)));
    return { tags, gold, pred };
  });
  type Scores = { precision: number; recall: number; f1: number };
  const ref = referenceJson<{ entities: [string, number, number, number][]; overall: Scores & { accuracy: number; correct: number; predicted: number; gold: number }; types: Record<string, Scores & { number: number }> }[]>(
    'seqeval_ref.py', { cases: cases.map((c) => ({ true: c.gold, pred: c.pred })) });
  cases.forEach((c, k) => {
    const want = ref[k];
    expect(c.gold.flatMap((s, i) => torch.train.getEntities(s).map((e) => [e.type, i, e.start, e.end]))).toEqual(want.entities);
    expect(torch.train.isEntityTagSet(c.tags)).toBe(true);
    const types = torch.train.entityTypes(c.tags);
    const counts = new Array<number>(3 * types.length).fill(0);
    c.gold.forEach((g, i) => torch.train.entityCounts(g, c.pred[i], types).forEach((n, j) => { counts[j] += n; }));
    const got = torch.train.entityReport(counts, types);
    const sum = (j: number) => types.reduce((n, _, t) => n + counts[3 * t + j], 0);
    expect([sum(0), sum(1), sum(2)]).toEqual([want.overall.correct, want.overall.predicted, want.overall.gold]);
    for (const key of ['precision', 'recall', 'f1'] as const) expect(got.overall[key]).toBeCloseTo(want.overall[key], 12);
    expect(Object.keys(got.types)).toEqual(Object.keys(want.types));
    for (const [t, w] of Object.entries(want.types)) {
      expect(got.types[t].number).toBe(w.number);
      for (const key of ['precision', 'recall', 'f1'] as const) expect(got.types[t][key]).toBeCloseTo(w[key], 12);
    }
  });
  expect(ref.every((r) => r.overall.correct > 0 && r.overall.correct < r.overall.gold)).toBe(true); // (neither trivial case)
  // conlleval's reading, by hand: an I- after O starts an entity; a type change ends one
  expect(torch.train.getEntities(['B-PER', 'I-PER', 'O', 'I-LOC', 'I-ORG'])).toEqual([{ type: 'PER', start: 0, end: 1 }, { type: 'LOC', start: 3, end: 3 }, { type: 'ORG', start: 4, end: 4 }]);
  expect(torch.train.entityScores(0, 0, 3)).toEqual({ precision: 0, recall: 0, f1: 0, number: 3 });
  // part-of-speech tags are no entities (no entity scores for them); nor is a set of O alone
  expect([['NN', 'VB', 'AT'], ['O'], ['O', 'B-PER', 'NN']].map(torch.train.isEntityTagSet)).toEqual([false, false, false]);
});

test('brownTaggedSentences: the Brown Corpus\'s tagged sentences as NLTK reads them', () => {
  const news = torch.data.brownTaggedSentences(['a']);
  expect(news.length).toBe(4623); // (NLTK: len(brown.tagged_sents(categories='news')))
  expect(news[0].tokens.slice(0, 4)).toEqual(['The', 'Fulton', 'County', 'Grand']);
  expect(news[0].tags.slice(0, 4)).toEqual(['AT', 'NP-TL', 'NN-TL', 'JJ-TL']);
  expect(torch.data.brownTaggedSentences(['a'], { simplify: true })[0].tags.slice(0, 4)).toEqual(['AT', 'NP', 'NN', 'JJ']);
  expect(news.every((s) => s.tokens.length === s.tags.length && s.tags.every((t) => t.length > 0))).toBe(true);
});

test('forward as HF\'s model(**batch): one object { inputIds, attentionMask, labels } gives what (inputIds, options) gives; Python\'s attention_mask is an error, not a mask ignored', async () => {
  const lm = await torch.GPT2LMHeadModel.fromPretrained(base);
  const cls = await quietly(() => torch.GPT2ForSequenceClassification.fromPretrained(base, { numLabels: 2, padTokenId: PAD }));
  const tag = await quietly(() => torch.GPT2ForTokenClassification.fromPretrained(base, { id2label: { 0: 'a', 1: 'b' } }));
  torch.tidy(() => {
    const inputIds = torch.tensor([[5, 6, 7, PAD], [8, 9, 10, 11]]), attentionMask = torch.tensor([[1, 1, 1, 0], [1, 1, 1, 1]]);
    const a = lm.forward({ inputIds, attentionMask, labels: inputIds }), b = lm.forward(inputIds, { attentionMask, labels: inputIds });
    expect([a.logits.equal(b.logits), a.loss!.item()]).toEqual([true, b.loss!.item()]);
    // (the mask matters here: without it the padded row's logits differ)
    expect(lm.forward(inputIds).logits.equal(b.logits)).toBe(false);
    const labels = torch.tensor([0, 1]);
    expect(cls.forward({ inputIds, attentionMask, labels }).loss!.item()).toBe(cls.forward(inputIds, { attentionMask, labels }).loss!.item());
    expect(tag.forward({ inputIds, attentionMask }).logits.equal(tag.forward(inputIds, { attentionMask }).logits)).toBe(true);
    expect(() => lm.forward(inputIds, { attention_mask: attentionMask } as never)).toThrow("GPT2LMHeadModel.forward: unknown option 'attention_mask' (did you mean attentionMask?)");
    expect(() => cls.forward({ input_ids: inputIds } as never)).toThrow("GPT2ForSequenceClassification.forward: the object has no inputIds tensor (HF's input_ids): give { inputIds, ...options }");
    expect(() => tag.forward(inputIds, { label: labels } as never)).toThrow("GPT2ForTokenClassification.forward: unknown option 'label' (did you mean labels?)");
  });
  for (const m of [lm, cls, tag]) m.dispose();
});
