// Training on separate, padded examples (TRL's SFT without packing): prompt-completion pairs
// tokenized as TRL does, and a padded step that gives what each example run alone gives
// (checked against Python running every example unpadded).
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as torch from '../lib';
import { relErr, saveTinyGpt2 } from './helpers';

const bin = path.join(__dirname, '..', 'dist', 'lib', 'cli', 'main.js');
let tmp: string, modelDir: string;
beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-examples-'));
  // Two layers, no dropout: the comparison is of the math.
  modelDir = await saveTinyGpt2(path.join(tmp, 'model'), { n_layer: 2, attn_pdrop: 0, resid_pdrop: 0, embd_pdrop: 0 });
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const PAIRS: torch.data.PromptCompletion[] = [
  { prompt: 'Question: who presided over the jury?\nAnswer:', completion: ' Judge Durwood Pye.' },
  { prompt: 'Q: 2+2?\nA:', completion: ' 4' },
  { prompt: 'Translate to French: the house\n', completion: 'la maison, which is where the family lives and has lived for many years' },
  { prompt: 'Summarize: The Fulton County Grand Jury said Friday an investigation of Atlanta\'s recent primary election produced no evidence.\nSummary:', completion: ' No evidence of irregularities.' },
  { prompt: 'Say hi:', completion: ' hi<|endoftext|>' },
];

test('prompt-completion examples are tokenized as TRL does: one text, the prompt\'s own tokens unlearned, <|endoftext|> once, cut at maxLength', () => {
  const enc = (s: string) => torch.tokenizer.encode(s);
  const ds = torch.data.ExampleDataset.fromPromptCompletions(PAIRS, { maxLength: 24 });
  expect(ds.length).toBe(4); // the summary's prompt alone is longer than 24 tokens: nothing to learn, left out
  expect(ds.dropped).toBe(1);
  const kept = [0, 1, 2, 4];
  kept.forEach((p, i) => {
    const { prompt, completion } = PAIRS[p];
    const whole = enc(prompt + completion.replace('<|endoftext|>', '')).concat(torch.tokenizer.eosTokenId).slice(0, 24);
    expect(Array.from(ds.examples[i])).toEqual(whole);
    expect(ds.promptLengths[i]).toBe(enc(prompt).length);
  });
  expect(ds.examples[2].length).toBe(24); // cut
  expect(ds.examples[2][23]).not.toBe(torch.tokenizer.eosTokenId);
  // the examples cut, and the tokens cut off them (the dropped one counted too: it was longer than 24 tokens as well)
  const lengths = PAIRS.map(({ prompt, completion }) => enc(prompt + completion.replace('<|endoftext|>', '')).length + 1);
  expect([ds.truncated, ds.truncatedTokens]).toEqual([lengths.filter((n) => n > 24).length, lengths.reduce((sum, n) => sum + Math.max(0, n - 24), 0)]);
  expect(ds.truncated).toBeGreaterThanOrEqual(2);
  const back = torch.data.ExampleDataset.fromPacked(ds.toPacked([0]).subarray(1), 24); // (the token cache keeps the counts)
  expect([back.truncated, back.truncatedTokens]).toEqual([ds.truncated, ds.truncatedTokens]);
  expect([torch.data.ExampleDataset.fromTexts(['a b c d e f g h'], { maxLength: 4 }).truncatedTokens, new torch.data.ExampleDataset([{ ids: [1, 2, 3, 4, 5] }], 3).truncated]).toEqual([enc('a b c d e f g h').length + 1 - 4, 1]);
  // The batch: right-padded, labels -100 on the prompt and the padding, a mask on the padding only.
  const b = ds.collate([1, 0]);
  const [l1, l0] = [ds.examples[1].length, ds.examples[0].length];
  expect(b.inputIds.shape).toEqual([2, l0]);
  const labels = b.labels.tolist() as number[][], mask = b.attentionMask!.tolist() as number[][];
  expect(labels[0]).toEqual(Array.from(ds.examples[1]).map((id, k) => (k < ds.promptLengths[1] ? -100 : id)).concat(Array(l0 - l1).fill(-100)));
  expect(mask[0]).toEqual(Array(l1).fill(1).concat(Array(l0 - l1).fill(0)));
  expect(mask[1]).toEqual(Array(l0).fill(1));
  expect(ds.lossTokens([1, 0])).toBe(labels.flat().filter((v, k) => k % l0 > 0 && v !== -100).length);
  expect(ds.collate([0]).attentionMask).toBeUndefined(); // nothing padded: no mask (the plain causal path)
  // Language-modeling texts: the loss on everything but the first token; completionOnlyLoss false the same for pairs.
  const texts = torch.data.ExampleDataset.fromTexts(['The jury said.', 'Ends already<|endoftext|>'], { maxLength: 64 });
  expect(Array.from(texts.examples[0])).toEqual(enc('The jury said.').concat(torch.tokenizer.eosTokenId));
  expect(Array.from(texts.examples[1])).toEqual(enc('Ends already<|endoftext|>'));
  expect(texts.promptLengths).toEqual([0, 0]);
  expect(torch.data.ExampleDataset.fromPromptCompletions(PAIRS, { maxLength: 64, completionOnlyLoss: false }).promptLengths).toEqual([0, 0, 0, 0, 0]);
  expect(() => new torch.data.ExampleDataset([], 1)).toThrow(/maxLength must be an integer >= 2/);
  // Any vocabulary: the pad id is an option (GPT-2's eos by default).
  expect(new torch.data.ExampleDataset([{ ids: [1, 2, 3] }, { ids: [4, 5] }], 8, { padTokenId: 0 }).collate([0, 1]).inputIds.tolist()).toEqual([[1, 2, 3], [4, 5, 0]]);
  // holdOutFirst: run_clm's train[:P%], rounded as Python's round (halves to even).
  const ten = new torch.data.ExampleDataset(Array.from({ length: 10 }, (_, i) => ({ ids: [i, i + 1, i + 2] })), 8);
  for (const [pct, k] of [[25, 2], [35, 4], [15, 2], [10, 1]] as const) { // 2.5 -> 2, 3.5 -> 4, 1.5 -> 2
    const [tr, va] = torch.data.holdOutFirst(ten, pct);
    expect([va.length, tr.length]).toEqual([k, 10 - k]);
    expect(va.examples[0][0]).toBe(0); // the first ones held out
  }
  expect(() => torch.data.holdOutFirst(ten, 5)).toThrow(/5% of 10 examples is 0; both parts need at least one/); // 0.5 -> 0
  // split() keeps each example's prompt length with it.
  const [train, held] = ds.split(0.25);
  expect([train.length, held.length]).toEqual([3, 1]);
  expect(Array.from(held.examples[0])).toEqual(Array.from(ds.examples[3]));
  expect(held.promptLengths).toEqual([ds.promptLengths[3]]);
});

describe('a step over padded examples equals each example run alone (Python reference, no padding anywhere)', () => {
  let ref: Map<string, torch.Tensor>;
  let ds: torch.data.ExampleDataset;
  // Two micro-batches of very different token counts: equal weights per micro-batch would be wrong.
  const micros = [[0, 2, 4], [1]];
  beforeAll(() => {
    ds = torch.data.ExampleDataset.fromPromptCompletions([...PAIRS, { prompt: 'A:', completion: ' yes' }], { maxLength: 40 });
    expect(ds.length).toBe(6);
    const spec = path.join(tmp, 'spec.json'), out = path.join(tmp, 'ref.safetensors');
    fs.writeFileSync(spec, JSON.stringify({ examples: ds.examples.map((e) => Array.from(e)), prompt_lengths: ds.promptLengths, step: micros }));
    const r = spawnSync('/usr/bin/python3', [path.join(__dirname, '..', 'scripts', 'reference', 'sft_ref.py'), modelDir, spec, out], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    ref = torch.io.safetensors.loadFile(out).tensors;
  });

  test.each([
    ['eager', false], ['sdpa', false], ['eager', true], ['sdpa', true],
  ] as const)('attention %s, gradient checkpointing %s: loss and every gradient 1e-5; evaluate() gives the token mean', async (attn, checkpointing) => {
    const model = await torch.GPT2LMHeadModel.fromPretrained(modelDir, { attnImplementation: attn });
    const trainer = new torch.Trainer(model, {
      outputDir: path.join(tmp, `out-${attn}-${checkpointing}`), perDeviceTrainBatchSize: 3, gradientAccumulationSteps: 2, gradientCheckpointing: checkpointing, progress: false,
    }, ds);
    model.train();
    const loss = trainer.trainingStep(micros);
    expect(Math.abs((loss.item() as number) - (ref.get('step_loss')!.item() as number))).toBeLessThan(1e-5);
    let compared = 0;
    for (const [name, p] of model.namedParameters()) {
      expect(relErr(p.grad!, ref.get(`grad.${name}`)!)).toBeLessThan(1e-5);
      compared++;
    }
    expect(compared).toBe(2 * 12 + 4); // every parameter: 12 a block, wte, wpe, ln_f's two
    // Held-out: the mean over every predicted token, whatever the batch size.
    for (const batchSize of [1, 4]) {
      const r = torch.train.evaluate(model, ds, { batchSize });
      expect(Math.abs(r.loss - (ref.get('eval_loss')!.item() as number))).toBeLessThan(1e-5);
      expect(r.tokens).toBe(ds.examples.reduce((n, e) => n + e.length, 0));
    }
    model.dispose();
  });
});

describe('assistant-only masks and the DFT loss (TRL\'s loss_type=\'dft\'): a padded step equals each conversation run alone (Python reference)', () => {
  const CHATS: torch.ChatMessage[][] = [
    [{ role: 'user', content: 'Who presided?' }, { role: 'assistant', content: 'Judge Durwood Pye.' }],
    [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: '2+2?' }, { role: 'assistant', content: '4' }, { role: 'user', content: 'And 3+3?' }, { role: 'assistant', content: '6, of course.' }],
    [{ role: 'user', content: 'Say hi' }, { role: 'assistant', content: 'hi' }],
  ];
  const micros = [[0, 2], [1]];
  let ds: torch.data.ExampleDataset;
  const reference = (lossType: 'nll' | 'dft') => {
    const spec = path.join(tmp, `spec-${lossType}.json`), out = path.join(tmp, `ref-${lossType}.safetensors`);
    fs.writeFileSync(spec, JSON.stringify({ examples: ds.examples.map((e) => Array.from(e)), prompt_lengths: ds.promptLengths, loss_masks: ds.lossMasks.map((m) => Array.from(m!)), loss_type: lossType, step: micros }));
    const r = spawnSync('/usr/bin/python3', [path.join(__dirname, '..', 'scripts', 'reference', 'sft_ref.py'), modelDir, spec, out], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    return torch.io.safetensors.loadFile(out).tensors;
  };
  beforeAll(() => {
    const tok = torch.tokenizer.withChatTemplate(torch.CHATML_TRAINING_TEMPLATE);
    const rendered = CHATS.map((m) => tok.renderChat(m));
    ds = torch.data.ExampleDataset.fromTexts(rendered.map((r) => r.text), { maxLength: 64, tokenizer: tok, addEos: false, assistantSpans: rendered.map((r) => r.generationSpans) });
    expect(ds.length).toBe(3);
  });

  test.each(['nll', 'dft'] as const)('loss type %s: the step\'s loss and every gradient 1e-5 (eager and sdpa, with gradient checkpointing); evaluation reports the cross-entropy', async (lossType) => {
    const ref = reference(lossType);
    for (const [attn, checkpointing] of [['eager', false], ['sdpa', true]] as const) {
      const model = await torch.GPT2LMHeadModel.fromPretrained(modelDir, { attnImplementation: attn });
      const trainer = new torch.Trainer(model, {
        outputDir: path.join(tmp, `out-${lossType}-${attn}`), perDeviceTrainBatchSize: 2, gradientAccumulationSteps: 2, gradientCheckpointing: checkpointing, sftLossType: lossType, progress: false,
      }, ds);
      model.train();
      const loss = trainer.trainingStep(micros);
      expect(Math.abs((loss.item() as number) - (ref.get('step_loss')!.item() as number))).toBeLessThan(1e-5);
      for (const [name, p] of model.namedParameters()) expect([name, relErr(p.grad!, ref.get(`grad.${name}`)!) < 1e-5]).toEqual([name, true]);
      expect(Math.abs(torch.train.evaluate(model, ds, { batchSize: 2 }).loss - (ref.get('eval_loss')!.item() as number))).toBeLessThan(1e-5);
      model.dispose();
    }
  });

  test('the DFT loss is not the cross-entropy (p < 1 scales it down), and sftLossType is refused where it means nothing', async () => {
    const [nll, dft] = [reference('nll'), reference('dft')];
    expect(dft.get('step_loss')!.item() as number).toBeLessThan(nll.get('step_loss')!.item() as number);
    const model = await torch.GPT2LMHeadModel.fromPretrained(modelDir);
    expect(() => new torch.Trainer(model, { outputDir: path.join(tmp, 'x'), sftLossType: 'sigmoid' as never }, ds)).toThrow(/sftLossType must be nll, chunked_nll or dft/);
    expect(() => new torch.Trainer(model, { outputDir: path.join(tmp, 'x'), sftLossType: 'dft', labelSmoothingFactor: 0.1 }, ds)).toThrow(/takes no label smoothing/);
    const pairs = new torch.data.PreferenceDataset([{ prompt: 'a', chosen: ' b', rejected: ' c' }], { maxLength: 16 });
    expect(() => new torch.ORPOTrainer(model, { outputDir: path.join(tmp, 'x'), sftLossType: 'dft' }, pairs)).toThrow(/sftLossType 'dft' is SFT's .* not ORPOTrainer/);
    model.dispose();
  });
});

test('tstorch train --loss-type dft (TRL\'s SFT loss_type): the Trainer\'s DFT loss on SFT data; DPO\'s losses and other tasks refused', () => {
  const jsonl = path.join(tmp, 'dft.jsonl');
  fs.writeFileSync(jsonl, Array.from({ length: 6 }, (_, i) => JSON.stringify({ prompt: `Q: ${i} plus ${i}?\nA:`, completion: ` ${2 * i}.` })).join('\n') + '\n');
  const cli = (...args: string[]) => spawnSync(process.execPath, [bin, 'train', '--model', modelDir, '--data', jsonl, '--max-steps', '1', '--batch-size', '3', '--block-size', '32', ...args], { encoding: 'utf8' });
  const r = cli('--out', path.join(tmp, 'cli-dft'), '--loss-type', 'dft', '--logging-steps', '1');
  expect(r.stderr).toBe('');
  expect(r.stdout).toMatch(/training: 6 examples of up to 32 tokens \(padded per batch; the loss on \d+ tokens\) \(the DFT loss\);/);
  expect(cli('--out', path.join(tmp, 'no1'), '--loss-type', 'ipo').stderr).toMatch(/--loss-type for a language model is nll or dft \(TRL's SFT loss_type\); got 'ipo', a DPO loss, for preference pairs/);
  expect(cli('--out', path.join(tmp, 'no1'), '--loss-type', 'mse').stderr).toMatch(/--loss-type for a language model is nll or dft \(TRL's SFT loss_type\); got 'mse'\n/); // (no DPO loss either)
  const kto = path.join(tmp, 'kto.jsonl');
  fs.writeFileSync(kto, '{"prompt": "a", "completion": " b", "label": true}\n{"prompt": "c", "completion": " d", "label": false}\n');
  expect(spawnSync(process.execPath, [bin, 'train', '--model', modelDir, '--data', kto, '--out', path.join(tmp, 'no2'), '--block-size', '32', '--loss-type', 'dft'], { encoding: 'utf8' }).stderr).toMatch(/--loss-type for KTO is kto or apo_zero_unpaired \(TRL's KTOConfig loss_type\); got 'dft'/);
  expect(fs.existsSync(path.join(tmp, 'no1')) || fs.existsSync(path.join(tmp, 'no2'))).toBe(false);
});

test('pre-tokenized data (TRL\'s processed rows: input_ids, completion_mask, assistant_masks, labels) trains and evaluates as the same examples from text; errors', () => {
  const enc = (t: string) => torch.tokenizer.encode(t);
  const pairs = PAIRS.slice(0, 4);
  const rows = pairs.map(({ prompt, completion }, i) => {
    const ids = enc(prompt + completion.replace('<|endoftext|>', '') + '<|endoftext|>'), p = enc(prompt).length;
    const row: Record<string, unknown> = { input_ids: ids, attention_mask: ids.map(() => 1) };
    if (i === 1) row.labels = ids.map((id, k) => (k < p ? -100 : id)); // (labels instead of a completion mask)
    else row.completion_mask = ids.map((_, k) => (k < p ? 0 : 1));
    return row;
  });
  const tokenized = path.join(tmp, 'tokenized.jsonl'), text = path.join(tmp, 'pc.jsonl');
  fs.writeFileSync(tokenized, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  fs.writeFileSync(text, pairs.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const docs = torch.data.readTrainingDocuments(tokenized) as { tokenized: torch.data.TokenizedExample[] };
  expect(docs.tokenized.map((r) => r.inputIds)).toEqual(rows.map((r) => r.input_ids));
  const ds = torch.data.ExampleDataset.fromTokenized(docs.tokenized, { maxLength: 64 });
  const ref = torch.data.ExampleDataset.fromPromptCompletions(pairs, { maxLength: 64 });
  expect((ds.collate([0, 1, 2, 3]).labels.tolist())).toEqual(ref.collate([0, 1, 2, 3]).labels.tolist());
  const cli = (...args: string[]) => spawnSync(process.execPath, [bin, 'eval', '--model', modelDir, '--block-size', '48', '--json', ...args], { encoding: 'utf8' });
  const [a, b] = [cli('--data', tokenized), cli('--data', text)];
  expect(a.stderr).toBe('');
  expect(a.stdout).toBe(b.stdout);
  // --no-completion-only-loss: the completion masks do not apply (the labels still do)
  const all = JSON.parse(cli('--data', tokenized, '--no-completion-only-loss').stdout);
  const wantPredicted = rows.reduce((n, r, i) => n + (i === 1 ? (r.labels as number[]).filter((l, k) => k > 0 && l !== -100).length : (r.input_ids as number[]).length - 1), 0);
  expect(all.predictedTokens).toBe(wantPredicted);
  // assistant masks always apply; with --packing-strategy bfd, the same loss packed
  const am = path.join(tmp, 'assistant.jsonl');
  fs.writeFileSync(am, rows.map((r) => JSON.stringify({ input_ids: r.input_ids, assistant_masks: (r.input_ids as number[]).map((_, k) => (k % 2)) })).join('\n') + '\n');
  const [plain, packed] = [JSON.parse(cli('--data', am).stdout), JSON.parse(cli('--data', am, '--packing-strategy', 'bfd').stdout)];
  expect(plain.predictedTokens).toBe(rows.reduce((n, r) => n + Math.floor((r.input_ids as number[]).length / 2), 0));
  expect(Math.abs(plain.loss - packed.loss)).toBeLessThan(1e-5);
  // errors, with the row
  const bad = (row: unknown) => {
    fs.writeFileSync(path.join(tmp, 'bad.jsonl'), JSON.stringify(rows[0]) + '\n' + JSON.stringify(row) + '\n');
    return cli('--data', path.join(tmp, 'bad.jsonl')).stderr;
  };
  expect(bad({ input_ids: [1, 2, 3], labels: [-100, 5, 3] })).toMatch(/bad\.jsonl:2: labels differ from input_ids where they are not -100/);
  expect(bad({ input_ids: [1, 2, 3], completion_mask: [0, 1] })).toMatch(/bad\.jsonl:2: completion_mask has 2 entries for 3 input_ids/);
  expect(bad({ input_ids: [1, -2, 3] })).toMatch(/bad\.jsonl:2: input_ids must be a list of token ids \(integers >= 0\)/);
  expect(bad({ input_ids: [1, 2], completion_mask: [0, 2] })).toMatch(/completion_mask must be a list of 0 and 1/);
  expect(bad({ input_ids: [1, 2, 60000] })).toMatch(/bad\.jsonl: token ids up to 60000, but the model's vocab_size is 50257: the data was tokenized for another model/);
});

test('tstorch train / eval: prompt-completion .jsonl trains on padded examples; --no-packing takes a .txt line by line; clear errors', () => {
  const jsonl = path.join(tmp, 'qa.jsonl');
  fs.writeFileSync(jsonl, Array.from({ length: 12 }, (_, i) => JSON.stringify({ prompt: `Q: ${i} plus ${i}?\nA:`, completion: ` ${2 * i}.` })).join('\n') + '\n');
  const out = path.join(tmp, 'cli-qa');
  const r = spawnSync(process.execPath, [bin, 'train', '--model', modelDir, '--data', jsonl, '--eval-data', jsonl, '--out', out, '--max-steps', '3',
    '--batch-size', '4', '--block-size', '32', '--lr', '1e-3', '--logging-steps', '1', '--lora-targets', 'all-linear'], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/training: 12 examples of up to 32 tokens \(padded per batch; the loss on 36 tokens\); 4 per batch = 4 examples per step; 3 steps per epoch, 3 steps/);
  expect(fs.existsSync(path.join(out, 'adapter_model.safetensors'))).toBe(true);
  expect(JSON.parse(fs.readFileSync(path.join(out, 'adapter_config.json'), 'utf8')).target_modules).toEqual(['c_attn', 'c_proj', 'c_fc']);
  // eval on the same file: the same loss the Trainer logged at its end (the adapter loaded back).
  const e = spawnSync(process.execPath, [bin, 'eval', '--model', modelDir, '--adapter', out, '--data', jsonl, '--block-size', '32', '--json'], { encoding: 'utf8' });
  expect(e.stderr).toBe('');
  const logged = fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((x) => x.eval_loss !== undefined);
  expect(Math.abs(JSON.parse(e.stdout).loss - logged[logged.length - 1].eval_loss)).toBeLessThan(1e-5);
  // A .txt without packing: one example per non-blank line.
  const txt = path.join(tmp, 'lines.txt');
  fs.writeFileSync(txt, 'The jury said Friday.\n\nIt praised the city.\nA third line here.\n');
  const t = spawnSync(process.execPath, [bin, 'train', '--model', modelDir, '--data', txt, '--out', path.join(tmp, 'cli-txt'), '--max-steps', '1', '--no-packing', '--block-size', '16'], { encoding: 'utf8' });
  expect(t.stderr).toBe('');
  expect(t.stdout).toMatch(/training: 3 examples of up to 16 tokens/);
  const f = spawnSync(process.execPath, [bin, 'train', '--model', modelDir, '--data', txt, '--out', path.join(tmp, 'cli-txt2'), '--max-steps', '1', '--packing=false', '--block-size', '16', '--no-completion-only-loss'], { encoding: 'utf8' });
  expect(f.stdout).toMatch(/training: 3 examples of up to 16 tokens/);
  // --no-<flag> exists only for booleans
  const nf = spawnSync(process.execPath, [bin, 'train', '--model', modelDir, '--data', txt, '--out', path.join(tmp, 'cli-nf'), '--no-lr'], { encoding: 'utf8' });
  expect(nf.stderr).toMatch(/unknown flag --no-lr/);
  // --validation-split-percentage: the first 25% (3 of 12) evaluated, the other 9 trained on.
  const sp = path.join(tmp, 'cli-split');
  const v = spawnSync(process.execPath, [bin, 'train', '--model', modelDir, '--data', jsonl, '--out', sp, '--max-steps', '2', '--block-size', '32',
    '--validation-split-percentage', '25', '--logging-steps', '1', '--batch-size', '3'], { encoding: 'utf8' });
  expect(v.stderr).toBe('');
  expect(v.stdout).toMatch(/training: 9 examples/);
  const firstThree = path.join(tmp, 'first3.jsonl');
  fs.writeFileSync(firstThree, fs.readFileSync(jsonl, 'utf8').split('\n').slice(0, 3).join('\n'));
  const e3 = spawnSync(process.execPath, [bin, 'eval', '--model', modelDir, '--adapter', sp, '--data', firstThree, '--block-size', '32', '--json'], { encoding: 'utf8' });
  const splitEvals = fs.readFileSync(path.join(sp, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((x) => x.eval_loss !== undefined);
  expect(Math.abs(JSON.parse(e3.stdout).loss - splitEvals[splitEvals.length - 1].eval_loss)).toBeLessThan(1e-5);
  // A line without its completion is named.
  const broken = path.join(tmp, 'broken.jsonl');
  fs.writeFileSync(broken, '{"prompt": "a", "completion": "b"}\n{"prompt": "c"}\n');
  const br = spawnSync(process.execPath, [bin, 'train', '--model', modelDir, '--data', broken, '--out', path.join(tmp, 'cli-broken'), '--block-size', '16'], { encoding: 'utf8' });
  expect(br.stderr).toMatch(/broken\.jsonl:2: no string field 'completion' \(fields: prompt\); the first line makes this prompt-completion data/);
  // Examples longer than the block size are cut to their start (TRL's truncation): said, with what is lost.
  const mixed = path.join(tmp, 'mixed.jsonl');
  const rows = [{ prompt: 'Q: a?\nA:', completion: ' b.' }, { prompt: 'Q: the long one?\nA:', completion: ' it goes on and on, and on again, past the block.' }, { prompt: 'Q: c?\nA:', completion: ' d.' }];
  fs.writeFileSync(mixed, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const cut = spawnSync(process.execPath, [bin, 'train', '--model', modelDir, '--data', mixed, '--out', path.join(tmp, 'cli-cut'), '--max-steps', '1', '--block-size', '12'], { encoding: 'utf8' });
  expect(cut.status).toBe(0);
  const lengths = rows.map((r) => torch.tokenizer.encode(r.prompt + r.completion).length + 1);
  expect(lengths.map((n) => n > 12)).toEqual([false, true, false]);
  expect(cut.stderr).toContain(`mixed.jsonl: 1 of its 3 examples is longer than --block-size 12 tokens, cut to the first 12 (${lengths[1] - 12} tokens not learned); raise --block-size (TRL's max_length), or --packing-strategy bfd_split learns every token`);
  // A run that diverges (a NaN loss, NaN weights) says so at its end; HF's Trainer goes on silently, its logged loss filtered.
  const diverged = path.join(tmp, 'cli-nan');
  const nan = spawnSync(process.execPath, [bin, 'train', '--model', modelDir, '--data', mixed, '--out', diverged, '--max-steps', '3', '--block-size', '12', '--lr', '1e20'], { encoding: 'utf8' });
  expect(nan.status).toBe(0);
  const saved = [...torch.io.safetensors.loadFile(path.join(diverged, 'adapter_model.safetensors')).tensors.values()];
  expect(saved.some((t) => !(t.isfinite().all().item<boolean>()))).toBe(true);
  expect(nan.stderr).toMatch(/tstorch train: the loss was NaN or infinite at [12] step\(s\) \(left out of the logged loss, as HF's logging_nan_inf_filter does\): training diverged, and the weights in \S+cli-nan hold NaN or infinite values; train again with a lower --lr \(it was 1e\+20\)/);
  // an --lr past float32 overflows the update itself: said so
  const over = spawnSync(process.execPath, [bin, 'train', '--model', modelDir, '--data', mixed, '--out', path.join(tmp, 'cli-over'), '--max-steps', '3', '--block-size', '12', '--lr', '1e308'], { encoding: 'utf8' });
  expect(over.status).toBe(1);
  expect(over.stderr).toMatch(/\ntstorch train: an update overflows the weights' float32 \(.*\): --lr 1e\+308 is far too large; lower it\n$/);
  expect(cut.stderr).not.toMatch(/diverged/);
  // Prompts that fill the block size leave nothing to learn: said, not a NaN loss.
  const bad = spawnSync(process.execPath, [bin, 'train', '--model', modelDir, '--data', jsonl, '--out', path.join(tmp, 'cli-bad'), '--block-size', '4'], { encoding: 'utf8' });
  expect(bad.status).not.toBe(0);
  expect(bad.stderr).toMatch(/no example leaves anything to learn \(12 whose prompt fills --block-size 4/);
});

test('groupByLength: HF\'s get_length_grouped_indices on the epoch\'s order (checked against its Python, run on the same order); less padding, every example once', () => {
  // 230 examples of random lengths; HF's function with randperm replaced by the given order.
  torch.manualSeed(5);
  const lengths = Array.from(torch.randint(2, 60, [230]).data() as BigInt64Array, Number);
  const order = torch.data.epochPermutation(lengths.length, 42, 0);
  const batchSizes = [4, 1, 16];
  const r = spawnSync('/usr/bin/python3', ['-c', `
import json, sys, torch
lengths, order = json.loads(sys.argv[1]), json.loads(sys.argv[2])
def get_length_grouped_indices(lengths, batch_size):
    # transformers.trainer_pt_utils.get_length_grouped_indices, with torch.randperm's draw given
    mega_batch_mult = min(len(lengths) // (batch_size * 4), 50)
    if mega_batch_mult == 0:
        mega_batch_mult = 1
    indices = torch.tensor(order)
    megabatch_size = mega_batch_mult * batch_size
    megabatches = [indices[i : i + megabatch_size].tolist() for i in range(0, len(lengths), megabatch_size)]
    megabatches = [sorted(megabatch, key=lambda i: lengths[i], reverse=True) for megabatch in megabatches]
    megabatch_maximums = [lengths[megabatch[0]] for megabatch in megabatches]
    max_idx = torch.argmax(torch.tensor(megabatch_maximums)).item()
    megabatches[0][0], megabatches[max_idx][0] = megabatches[max_idx][0], megabatches[0][0]
    return [i for megabatch in megabatches for i in megabatch]
print(json.dumps([get_length_grouped_indices(lengths, int(b)) for b in sys.argv[3:]]))
`, JSON.stringify(lengths), JSON.stringify(order), ...batchSizes.map(String)], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  const hf = JSON.parse(r.stdout) as number[][];
  batchSizes.forEach((b, k) => expect(torch.data.lengthGroupedOrder(order, (i) => lengths[i], b)).toEqual(hf[k]));
  // In the Trainer: each epoch still sees every example once, with far less padding.
  const ds = new torch.data.ExampleDataset(lengths.map((n) => ({ ids: Array.from({ length: n }, (_, k) => k % 50) })), 64);
  const padding = (steps: number[][][]) => steps.flat().reduce((p, b) => p + b.length * Math.max(...b.map((i) => lengths[i])) - ds.tokens(b), 0);
  const trainer = (groupByLength: boolean) => new torch.Trainer(new torch.GPT2LMHeadModel({ vocab_size: 64, n_positions: 64, n_embd: 8, n_layer: 1, n_head: 2 }),
    { outputDir: path.join(tmp, 'gbl'), perDeviceTrainBatchSize: 8, groupByLength, progress: false }, ds);
  const plain = trainer(false).stepsFor(1), grouped = trainer(true).stepsFor(1);
  expect(grouped.flat(2).sort((x, y) => x - y)).toEqual(plain.flat(2).sort((x, y) => x - y));
  expect(Math.max(...grouped[0][0].map((i) => lengths[i]))).toBe(Math.max(...lengths)); // the longest first
  expect(padding(grouped)).toBeLessThan(padding(plain) / 4);
});

test('NEFTune (neftuneNoiseAlpha): uniform noise of ±alpha/sqrt(T·C) on the token embeddings in training only, the draws PyTorch makes for HF\'s hook', async () => {
  const model = new torch.GPT2LMHeadModel({ vocab_size: 50257, n_positions: 32, n_embd: 16, n_layer: 1, n_head: 2, embd_pdrop: 0 });
  const t = model.transformer;
  const ids = torch.tensor([[5, 17, 3, 99, 42, 8, 1, 2, 3, 4], [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]], { dtype: 'int64' });
  const pos = torch.arange(0, 10, 1).unsqueeze(0);
  const clean = torch.tidy(() => torch.noGrad(() => t.wte.forward(ids).add(t.wpe.forward(pos))));
  t.neftuneNoiseAlpha = 5;
  model.train();
  torch.manualSeed(7);
  const noise = torch.noGrad(() => t.embed(ids, pos)).sub(clean);
  // HF: output + zeros_like(output).uniform_(-mag, mag), mag = alpha / sqrt(T * C), from the same generator state.
  const r = spawnSync('/usr/bin/python3', ['-c', `
import json, math, torch
torch.manual_seed(7)
mag = 5 / math.sqrt(10 * 16)
print(json.dumps(torch.zeros(2, 10, 16).uniform_(-mag, mag).tolist()))`], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(relErr(noise, torch.tensor(JSON.parse(r.stdout)))).toBeLessThan(1e-5);
  expect(noise.abs().max().item() as number).toBeLessThanOrEqual(5 / Math.sqrt(160));
  model.eval();
  expect(torch.noGrad(() => t.embed(ids, pos)).sub(clean).abs().max().item()).toBe(0); // not in eval mode
  // The Trainer turns it on for its run only; the training losses change, the model is left without it.
  const ds = torch.data.ExampleDataset.fromTexts(['The jury said Friday.', 'It praised the city.', 'A third line here.', 'And a fourth.'], { maxLength: 16 });
  const losses = (alpha: number) => {
    torch.manualSeed(0); // the same initial weights in both runs
    const m = new torch.GPT2LMHeadModel({ vocab_size: 50257, n_positions: 32, n_embd: 16, n_layer: 1, n_head: 2 });
    const tr = new torch.Trainer(m, { outputDir: path.join(tmp, `neft-${alpha}`), maxSteps: 2, perDeviceTrainBatchSize: 2, loggingSteps: 1, saveSteps: 0, progress: false, neftuneNoiseAlpha: alpha }, ds);
    const log = jest.spyOn(console, 'log').mockImplementation(() => {});
    try {
      const h = tr.train().logHistory.filter((e) => e.loss !== undefined).map((e) => e.loss!);
      expect(m.transformer.neftuneNoiseAlpha).toBe(0);
      return h;
    } finally {
      log.mockRestore();
    }
  };
  const off = losses(0), on = losses(5);
  expect(losses(0)).toEqual(off); // (so the difference below is the noise's)
  expect(on[0]).not.toBe(off[0]);
  expect(Math.abs(on[0] - off[0])).toBeLessThan(0.5);
});
