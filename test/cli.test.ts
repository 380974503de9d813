// The tstorch command, run as a user would (compiled dist/, a fresh process each time).
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as torch from '../lib';
import { brownTextFiles, saveTinyGpt2, relErr, learnBpe, writeBpeFiles } from './helpers';
import { parseFlags } from '../lib/cli/args';
import { spec as trainSpec } from '../lib/cli/commands/train';

const bin = path.join(__dirname, '..', 'dist', 'lib', 'cli', 'main.js');
let tmp: string, modelDir: string, textFile: string, evalFile: string;

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 300000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-cli-'));
  modelDir = await saveTinyGpt2(path.join(tmp, 'model'));
  ({ trainFile: textFile, evalFile } = brownTextFiles(tmp));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('info and help', () => {
  const info = cli('info', '--json');
  expect(info.code).toBe(0);
  expect(JSON.parse(info.out).libtorch).toMatch(/^\d/);
  // every command is listed with its summary, the one its own --help shows (the list loads no command)
  const listed = cli('--help').out.split('\n').filter((l) => l.startsWith('  ')).map((l) => l.trim().split(/\s+/)[0]);
  expect(listed).toEqual(['info', 'eval', 'generate', 'chat', 'serve', 'classify', 'train', 'data', 'merge', 'run', 'demo', 'cache']);
  for (const name of ['train', 'serve', 'cache']) {
    const summary = (require(`../dist/lib/cli/commands/${name}`) as { summary: string }).summary;
    expect(cli('--help').out).toContain(`  ${name.padEnd(10)} ${summary}`);
    expect(cli(name, '--help').out).toContain(summary);
  }
  expect(cli('train', '--help').out).toMatch(/--lora-r/);
});

test('eval --json prints loss, perplexity and tokens', () => {
  const r = cli('eval', '--model', modelDir, '--data', evalFile, '--block-size', '32', '--json');
  expect(r.err).toBe('');
  const j = JSON.parse(r.out.trim());
  expect(j.perplexity).toBeCloseTo(Math.exp(j.loss), 6);
  expect(j.tokens % 32).toBe(0);
  expect(j.loss).toBeGreaterThan(Math.log(50257) - 1); // an untrained model is near uniform
});

test('generate is repeatable with a seed; --bad-words, --typical-p, --epsilon-cutoff, --eta-cutoff, --logprobs', async () => {
  const a = cli('generate', '--model', modelDir, '--prompt', 'The jury', '--max-new-tokens', '5', '--temperature', '0.8', '--seed', '3', '--json');
  const b = cli('generate', '--model', modelDir, '--prompt', 'The jury', '--max-new-tokens', '5', '--temperature', '0.8', '--seed', '3', '--json');
  expect(a.code).toBe(0);
  expect(JSON.parse(a.out).tokens).toEqual(JSON.parse(b.out).tokens);
  expect(JSON.parse(a.out).newTokens).toBe(5);
  // the text leaves special tokens out (HF's text-generation pipeline); the tokens keep them
  const special = JSON.parse(cli('generate', '--model', modelDir, '--prompt', 'Hi<|endoftext|>there', '--max-new-tokens', '1', '--json').out);
  expect(special.tokens.slice(0, 3)).toEqual(torch.tokenizer.encode('Hi<|endoftext|>there'));
  expect(special.text).toBe(torch.tokenizer.decode(special.tokens.filter((t: number) => t !== 50256)));
  expect(special.text.startsWith('Hithere')).toBe(true);
  // --prompts: a file of prompts of different lengths, generated 2 at a time (left-padded): each
  // line's tokens are what the prompt gives alone (greedy).
  const promptsFile = path.join(tmp, 'prompts.txt');
  const prompts = ['The jury', 'A long-awaited report on the city said', 'Yes'];
  fs.writeFileSync(promptsFile, prompts.join('\n') + '\n\n');
  const many = cli('generate', '--model', modelDir, '--prompts', promptsFile, '--batch-size', '2', '--max-new-tokens', '6');
  expect(many.err).toBe('');
  const lines = many.out.trim().split('\n').map((l) => JSON.parse(l));
  expect(lines.map((l) => l.prompt)).toEqual(prompts);
  for (const l of lines) {
    const alone = JSON.parse(cli('generate', '--model', modelDir, '--prompt', l.prompt, '--max-new-tokens', '6', '--json').out);
    expect(l.tokens).toEqual(alone.tokens);
    expect(l.prompt + l.completion).toBe(alone.text);
  }
  // --continuous-batching: each prompt as alone, their steps shared; the lines in the file's order
  const flowing = cli('generate', '--model', modelDir, '--prompts', promptsFile, '--batch-size', '2', '--max-new-tokens', '6', '--continuous-batching');
  expect(flowing.err).toBe('');
  expect(flowing.out).toBe(many.out);
  const sampledFlow = cli('generate', '--model', modelDir, '--prompts', promptsFile, '--batch-size', '1', '--max-new-tokens', '6', '--continuous-batching', '--temperature', '0.9', '--seed', '5', '--num-return-sequences', '2').out.trim().split('\n').map((l) => JSON.parse(l));
  expect(sampledFlow.map((l) => [l.prompt, l.sequence])).toEqual(prompts.flatMap((p) => [[p, 0], [p, 1]]));
  expect(cli('generate', '--model', modelDir, '--prompts', promptsFile, '--continuous-batching', '--logprobs').err).toMatch(/--logprobs goes with padded batches/);
  expect(cli('generate', '--model', modelDir, '--prompt', 'x', '--prompts', promptsFile).err).toMatch(/--prompt and --prompts: give one/);
  expect(cli('generate', '--model', modelDir).err).toMatch(/missing --prompt \(or --prompts FILE\)/);
  // Streamed (without --json): the same text, written as it comes, ending in one newline.
  const c = cli('generate', '--model', modelDir, '--prompt', 'The jury', '--max-new-tokens', '5', '--temperature', '0.8', '--seed', '3');
  expect(c.out).toBe(JSON.parse(a.out).text + '\n');
  // --bad-words: the greedy text's first new token, as a word, is never generated again (neither form); --typical-p etc. reach the API
  const greedy = JSON.parse(cli('generate', '--model', modelDir, '--prompt', 'The jury', '--max-new-tokens', '6', '--json').out);
  const word = torch.tokenizer.decode([greedy.tokens[torch.tokenizer.encode('The jury').length]]).trim();
  const banned = JSON.parse(cli('generate', '--model', modelDir, '--prompt', 'The jury', '--max-new-tokens', '6', '--bad-words', word, '--json').out);
  const forms = [torch.tokenizer.encode(word), torch.tokenizer.encode(` ${word}`)].filter((f) => f.length === 1).map((f) => f[0]);
  expect(forms.length).toBeGreaterThan(0);
  for (const t of forms) expect(banned.tokens.slice(2)).not.toContain(t);
  expect(banned.tokens).not.toEqual(greedy.tokens);
  const typical = cli('generate', '--model', modelDir, '--prompt', 'The jury', '--max-new-tokens', '5', '--temperature', '1', '--typical-p', '0.05', '--epsilon-cutoff', '1e-4', '--eta-cutoff', '1e-3', '--seed', '3', '--json');
  expect(typical.err).toBe('');
  const m = await torch.GPT2LMHeadModel.fromPretrained(modelDir);
  const ids = torch.tokenizer.encode('The jury');
  const opts = { maxNewTokens: 5, temperature: 1, seed: 3 };
  expect(JSON.parse(typical.out).tokens).toEqual(m.generate([ids], { ...opts, typicalP: 0.05, epsilonCutoff: 1e-4, etaCutoff: 1e-3 })[0]);
  expect(JSON.parse(typical.out).tokens).not.toEqual(m.generate([ids], opts)[0]);
  const m2 = m.eval();
  // --prompt-lookup-num-tokens: greedy decoding's text
  expect(JSON.parse(cli('generate', '--model', modelDir, '--prompt', 'The jury', '--max-new-tokens', '6', '--prompt-lookup-num-tokens', '4', '--json').out).tokens).toEqual(greedy.tokens);
  // --assistant-model (HF's assisted decoding): greedy decoding's text, the assistant another model
  // of the same vocabulary; --prompts then one at a time
  const assistantDir = await saveTinyGpt2(path.join(tmp, 'assistant'), { n_embd: 8, n_head: 1 });
  const assisted = cli('generate', '--model', modelDir, '--prompt', 'The jury', '--max-new-tokens', '6', '--assistant-model', assistantDir, '--num-assistant-tokens', '3', '--json');
  expect(assisted.err).toBe('');
  expect(JSON.parse(assisted.out).tokens).toEqual(greedy.tokens);
  const stop = torch.tokenizer.decode(greedy.tokens.slice(4, 6));
  const stopped = cli('generate', '--model', modelDir, '--prompt', 'The jury', '--max-new-tokens', '6', '--stop', stop, '--json').out;
  expect(JSON.parse(stopped).tokens.length).toBeLessThan(greedy.tokens.length);
  expect(cli('generate', '--model', modelDir, '--prompt', 'The jury', '--max-new-tokens', '6', '--stop', stop, '--assistant-model', assistantDir, '--json').out).toBe(stopped);
  const assistedMany = cli('generate', '--model', modelDir, '--prompts', promptsFile, '--max-new-tokens', '6', '--assistant-model', assistantDir).out.trim().split('\n').map((l) => JSON.parse(l));
  expect(assistedMany.map((l) => l.tokens)).toEqual(lines.map((l) => l.tokens));
  // with sampling: speculative sampling (and prompt lookup sampling), the API's draws from the seed
  const helper = await torch.GPT2LMHeadModel.fromPretrained(assistantDir);
  const sampled = { maxNewTokens: 6, doSample: true, topK: 8, seed: 3 };
  const speculative = cli('generate', '--model', modelDir, '--prompt', 'The jury', '--max-new-tokens', '6', '--do-sample', '--top-k', '8', '--seed', '3', '--assistant-model', assistantDir, '--json');
  expect(speculative.err).toBe('');
  expect(JSON.parse(speculative.out).tokens).toEqual(m.generate([ids], { ...sampled, assistantModel: helper })[0]);
  const lookupSampled = cli('generate', '--model', modelDir, '--prompt', 'The jury', '--max-new-tokens', '6', '--do-sample', '--top-k', '8', '--seed', '3', '--prompt-lookup-num-tokens', '4', '--json');
  expect(JSON.parse(lookupSampled.out).tokens).toEqual(m.generate([ids], { ...sampled, promptLookupNumTokens: 4 })[0]);
  helper.dispose();
  // --penalty-alpha: contrastive search, the API's; --prompts batches it (left padding)
  const contrastive = cli('generate', '--model', modelDir, '--prompt', 'The jury', '--max-new-tokens', '6', '--penalty-alpha', '0.6', '--top-k', '4', '--json');
  expect(contrastive.err).toBe('');
  expect(JSON.parse(contrastive.out).tokens).toEqual(m.generate([ids], { maxNewTokens: 6, penaltyAlpha: 0.6, topK: 4 })[0]);
  const contrastiveMany = cli('generate', '--model', modelDir, '--prompts', promptsFile, '--max-new-tokens', '6', '--penalty-alpha', '0.6', '--top-k', '4').out.trim().split('\n').map((l) => JSON.parse(l));
  for (const l of contrastiveMany) expect(l.tokens).toEqual(m.generate([torch.tokenizer.encode(l.prompt)], { maxNewTokens: 6, penaltyAlpha: 0.6, topK: 4 })[0]);
  expect(cli('generate', '--model', modelDir, '--prompt', 'x', '--penalty-alpha', '2').err).toMatch(/--penalty-alpha must be in \[0, 1\]/);
  // a sampling setting given to greedy decoding changes nothing: said (as HF's generation config warns), the text greedy's
  const greedyWith = (...extra: string[]) => cli('generate', '--model', modelDir, '--prompt', 'The jury', '--max-new-tokens', '4', '--json', ...extra);
  const withTopK = greedyWith('--top-k', '5', '--top-p', '0.9');
  expect(withTopK.err).toBe('note: --top-k, --top-p are for sampling (--do-sample, or --temperature > 0); greedy and beam search ignore them\n');
  expect(JSON.parse(withTopK.out).tokens).toEqual(JSON.parse(greedyWith().out).tokens);
  const withBeamSettings = greedyWith('--length-penalty', '2', '--early-stopping');
  expect(withBeamSettings.err).toBe('note: --length-penalty, --early-stopping are for beam search (--num-beams > 1); greedy decoding ignores them\n');
  expect(JSON.parse(withBeamSettings.out).tokens).toEqual(JSON.parse(greedyWith().out).tokens);
  // --prefill-chunk-size: HF's prefill_chunk_size, the same text
  const chunked = cli('generate', '--model', modelDir, '--prompt', 'The jury said the election was over', '--max-new-tokens', '5', '--prefill-chunk-size', '2', '--json');
  expect(chunked.err).toBe('');
  expect(JSON.parse(chunked.out).tokens).toEqual(m.generate([torch.tokenizer.encode('The jury said the election was over')], { maxNewTokens: 5 })[0]);
  expect(cli('generate', '--model', modelDir, '--prompt', 'x', '--prefill-chunk-size', '0').err).toMatch(/--prefill-chunk-size must be >= 1/);
  // --frequency-penalty / --presence-penalty: OpenAI's, the API's
  const penalized = cli('generate', '--model', modelDir, '--prompt', 'The jury', '--max-new-tokens', '8', '--frequency-penalty', '1.5', '--presence-penalty', '0.5', '--json');
  expect(penalized.err).toBe('');
  expect(JSON.parse(penalized.out).tokens).toEqual(m.generate([ids], { maxNewTokens: 8, frequencyPenalty: 1.5, presencePenalty: 0.5 })[0]);
  expect(JSON.parse(penalized.out).tokens).not.toEqual(m.generate([ids], { maxNewTokens: 8 })[0]);
  const timed = JSON.parse(cli('generate', '--model', modelDir, '--prompt', 'The jury', '--max-new-tokens', '30', '--max-time', '0.000001', '--json').out);
  expect(timed.tokens.length).toBe(ids.length + 1); // (one step, then past the time)
  for (const [flags, error] of [
    [['--assistant-model', path.join(tmp, 'nowhere')], /--assistant-model .*nowhere: no such folder/],
    [['--assistant-model', path.join(__dirname, 'fixtures', 'gpt2', 'tiny')], /--assistant-model .*tiny has a vocabulary of 101 tokens, the model 50257/],
    [['--assistant-model', assistantDir, '--num-beams', '2'], /--assistant-model is for greedy decoding/],
    [['--num-assistant-tokens', '3'], /--num-assistant-tokens goes with --assistant-model/],
    [['--assistant-model', assistantDir, '--num-assistant-tokens', '0'], /^tstorch generate: --num-assistant-tokens must be >= 1, got 0\n$/],
  ] as [string[], RegExp][]) expect(cli('generate', '--model', modelDir, '--prompt', 'x', ...flags).err).toMatch(error);
  // --logprobs: each new token's log-probability, as a forward pass over the whole text gives it
  const lp = JSON.parse(cli('generate', '--model', modelDir, '--prompt', 'The jury', '--max-new-tokens', '4', '--json', '--logprobs').out);
  expect(lp.logprobs).toHaveLength(4);
  const all = torch.noGrad(() => torch.nn.functional.logSoftmax(m2.forward(torch.tensor([lp.tokens], { dtype: 'int64' })).logits, -1));
  lp.logprobs.forEach((v: number, k: number) => {
    const at = ids.length + k;
    expect(Math.abs(v - (all.index(0).index(at - 1).index(lp.tokens[at]).item() as number))).toBeLessThan(1e-4);
  });
  expect(cli('generate', '--model', modelDir, '--prompt', 'x', '--logprobs').err).toMatch(/--logprobs goes into JSON lines: add --json/);
  expect(cli('generate', '--model', modelDir, '--prompt', 'x', '--typical-p', '0').err).toMatch(/--typical-p must be in \(0, 1\]/);
  expect(cli('generate', '--model', modelDir, '--prompt', 'x', '--eta-cutoff', '1').err).toMatch(/--eta-cutoff must be in \[0, 1\)/);
  m.dispose();
});

test('generate --num-beams: the API\'s beam search, each sequence a line with its score; samples with --num-return-sequences; beam sampling', async () => {
  const model = await torch.GPT2LMHeadModel.fromPretrained(modelDir);
  const prompts = ['The jury said', 'A report'];
  const flags = ['--max-new-tokens', '6', '--num-beams', '3', '--num-return-sequences', '2', '--no-repeat-ngram-size', '2', '--length-penalty', '0.5'];
  const opts = { maxNewTokens: 6, numBeams: 3, numReturnSequences: 2, noRepeatNgramSize: 2, lengthPenalty: 0.5, earlyStopping: false };
  const want = model.beamSearch(prompts.map((p) => torch.tokenizer.encode(p)), opts);
  model.dispose();
  const one = cli('generate', '--model', modelDir, '--prompt', prompts[0], ...flags, '--json');
  expect(one.err).toBe('');
  const lines = one.out.trim().split('\n').map((l) => JSON.parse(l));
  expect(lines.map((l) => l.tokens)).toEqual(want.sequences.slice(0, 2));
  lines.forEach((l, k) => expect(l.score).toBeCloseTo(want.scores[k], 6));
  const text = cli('generate', '--model', modelDir, '--prompt', prompts[0], ...flags);
  expect(text.out).toBe(lines.map((l, k) => `=== ${k + 1} ===\n${l.text}\n`).join(''));
  // --prompts: two lines a prompt, in order, from one batch.
  const file = path.join(tmp, 'beam-prompts.txt');
  fs.writeFileSync(file, prompts.join('\n'));
  const many = cli('generate', '--model', modelDir, '--prompts', file, ...flags).out.trim().split('\n').map((l) => JSON.parse(l));
  expect(many.map((l) => [l.prompt, l.sequence])).toEqual([[prompts[0], 0], [prompts[0], 1], [prompts[1], 0], [prompts[1], 1]]);
  expect(many.map((l) => l.tokens)).toEqual(want.sequences);
  // Sampling: --num-return-sequences texts from one seed, repeatable.
  const s = ['generate', '--model', modelDir, '--prompt', 'The jury', '--max-new-tokens', '4', '--temperature', '1', '--seed', '5', '--num-return-sequences', '3', '--json'];
  const a = cli(...s).out.trim().split('\n').map((l) => JSON.parse(l).tokens);
  expect(a).toHaveLength(3);
  expect(cli(...s).out.trim().split('\n').map((l) => JSON.parse(l).tokens)).toEqual(a);
  // Beam sampling (--num-beams with --temperature > 0): the API's, repeatable from its seed
  const bs = ['generate', '--model', modelDir, '--prompt', 'The jury', '--max-new-tokens', '4', '--num-beams', '3', '--temperature', '1.2', '--top-k', '20', '--seed', '5', '--num-return-sequences', '2', '--json'];
  const sampled = cli(...bs).out.trim().split('\n').map((l) => JSON.parse(l).tokens as number[]);
  expect(sampled).toHaveLength(2);
  expect(cli(...bs).out.trim().split('\n').map((l) => JSON.parse(l).tokens)).toEqual(sampled);
  const m = await torch.GPT2LMHeadModel.fromPretrained(modelDir);
  const api = m.generate([torch.tokenizer.encode('The jury')], { maxNewTokens: 4, numBeams: 3, temperature: 1.2, topK: 20, seed: 5, numReturnSequences: 2 });
  m.dispose();
  sampled.forEach((t, k) => expect(api[k].slice(0, t.length)).toEqual(t));
  expect(cli('generate', '--model', modelDir, '--prompt', 'x', '--num-return-sequences', '2').err).toMatch(/--num-return-sequences 2 needs --num-beams >= 2/);
  expect(cli('generate', '--model', modelDir, '--prompt', 'x', '--no-repeat-ngram-size', '-1').err).toMatch(/--no-repeat-ngram-size must be >= 0/);
});

test('generate takes its defaults from the model\'s generation_config.json; flags win', async () => {
  const dir = path.join(tmp, 'model-gen-config');
  fs.cpSync(modelDir, dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'generation_config.json'), JSON.stringify({ bos_token_id: 50256, eos_token_id: 50256, num_beams: 3, num_return_sequences: 2, max_new_tokens: 5, no_repeat_ngram_size: 2 }));
  const model = await torch.GPT2LMHeadModel.fromPretrained(modelDir);
  const ids = torch.tokenizer.encode('The jury');
  const want = model.beamSearch([ids], { numBeams: 3, numReturnSequences: 2, maxNewTokens: 5, noRepeatNgramSize: 2 });
  const greedy = model.generate([ids], { maxNewTokens: 5, noRepeatNgramSize: 2 })[0];
  model.dispose();
  const beams = cli('generate', '--model', dir, '--prompt', 'The jury', '--json');
  expect(beams.err).toBe('');
  expect(beams.out.trim().split('\n').map((l) => JSON.parse(l).tokens)).toEqual(want.sequences);
  const flags = cli('generate', '--model', dir, '--prompt', 'The jury', '--num-beams', '1', '--num-return-sequences', '1', '--json');
  expect(JSON.parse(flags.out).tokens).toEqual(greedy);
  expect(cli('generate', '--model', dir, '--prompt', 'x', '--temperature', '1', '--top-k', '1').err).toMatch(/beam sampling draws 2 x numBeams \(6\) candidates a step, but the warpers left only 2 tokens to draw from: raise topK \/ topP, or lower numBeams/);
});

test('generate --precision bf16 runs the forward passes under bfloat16 autocast (beam scores as the API\'s under autocast, not fp32\'s)', async () => {
  const model = await torch.GPT2LMHeadModel.fromPretrained(modelDir);
  const ids = torch.tokenizer.encode('The jury said');
  const opts = { numBeams: 2, numReturnSequences: 2, maxNewTokens: 4 };
  const bf16 = torch.autocast(() => model.beamSearch([ids], opts), { deviceType: 'cpu', dtype: 'bfloat16' });
  const fp32 = model.beamSearch([ids], opts);
  model.dispose();
  const run = (...extra: string[]) => cli('generate', '--model', modelDir, '--prompt', 'The jury said', '--num-beams', '2', '--num-return-sequences', '2', '--max-new-tokens', '4', '--json', ...extra)
    .out.trim().split('\n').map((l) => JSON.parse(l));
  const got = run('--precision', 'bf16');
  expect(got.map((l) => l.tokens)).toEqual(bf16.sequences);
  got.forEach((l, k) => expect(l.score).toBeCloseTo(bf16.scores[k], 6));
  expect(Math.abs(bf16.scores[0] - fp32.scores[0])).toBeGreaterThan(1e-5); // bf16 rounding shows
  expect(run('--bf16').map((l) => l.score)).toEqual(got.map((l) => l.score));
});

test('generate --stop: the text ends at the token completing the string, as the API\'s stopStrings; with --prompts too', async () => {
  const flags = ['--max-new-tokens', '12', '--temperature', '1', '--top-k', '0', '--seed', '9'];
  const free = JSON.parse(cli('generate', '--model', modelDir, '--prompt', 'The jury', ...flags, '--json').out);
  const p = torch.tokenizer.encode('The jury').length;
  const piece = free.tokens.slice(p).map((t: number) => torch.tokenizer.decode([t])).find((x: string, k: number) => k >= 3 && x.length >= 3 && !x.includes('\uFFFD'));
  const stop = piece.slice(1, 3);
  const model = await torch.GPT2LMHeadModel.fromPretrained(modelDir);
  const ids = torch.tokenizer.encode('The jury');
  const opts = { maxNewTokens: 12, temperature: 1, topK: 0, seed: 9, stopStrings: [stop] };
  const want = model.generate([ids], opts)[0];
  const batch = model.generate([ids, ids], opts); // (two rows draw differently from one)
  model.dispose();
  expect(want.length).toBeLessThan(free.tokens.length);
  const r = cli('generate', '--model', modelDir, '--prompt', 'The jury', ...flags, '--stop', stop, '--json');
  expect(r.err).toBe(''); // no "stopped by the context" note
  expect(JSON.parse(r.out).tokens).toEqual(want);
  expect(JSON.parse(r.out).text).toContain(stop);
  // In a batch, a stopped prompt's line ends at the stop (not at the eos padding after it).
  const file = path.join(tmp, 'stop-prompts.txt');
  fs.writeFileSync(file, 'The jury\nThe jury');
  const lines = cli('generate', '--model', modelDir, '--prompts', file, ...flags, '--stop', stop).out.trim().split('\n').map((l) => JSON.parse(l));
  lines.forEach((l, k) => {
    let end = p + 1;
    while (end <= batch[k].length && !torch.tokenizer.decode(batch[k].slice(0, end)).includes(stop)) end++;
    expect(l.tokens).toEqual(batch[k].slice(0, end));
  });
  expect(lines.some((l, k) => l.tokens.length < batch[k].length)).toBe(true);
  expect(cli('generate', '--model', modelDir, '--prompt', 'x', '--stop', 'a', '--num-beams', '2').err).toMatch(/--stop is for greedy decoding and sampling/);
});

test('Hugging Face\'s flag names (underscores, TrainingArguments / run_clm / TRL names, --bf16) mean ours, also in a --config JSON; a misspelt flag gets a suggestion', () => {
  const [a, b, c] = ['flags-ours', 'flags-hf', 'flags-fp32'].map((d) => path.join(tmp, d));
  const common = ['--max-steps', '2', '--logging-steps', '1', '--save-steps', '0'];
  const ours = cli('train', '--model', modelDir, '--data', textFile, '--out', a, '--block-size', '16', '--batch-size', '2', '--lr', '1e-3', '--epochs', '1', '--precision', 'bf16', ...common);
  const hf = cli('train', '--model_name_or_path', modelDir, '--train_file', textFile, '--output_dir', b, '--max_seq_length', '16',
    '--per_device_train_batch_size', '2', '--learning_rate', '1e-3', '--num_train_epochs', '1', '--bf16', '--max_steps', '2', '--logging_steps', '1', '--save_steps', '0');
  expect(hf.err).toBe('');
  expect(hf.code).toBe(0);
  expect(ours.out.replace(new RegExp(a, 'g'), b).replace(/tokens_per_second=[\d.]+|[\d.]+ tokens\/s/g, '')).toBe(hf.out.replace(/tokens_per_second=[\d.]+|[\d.]+ tokens\/s/g, ''));
  const adapter = (d: string) => fs.readFileSync(path.join(d, 'adapter_model.safetensors'));
  expect(adapter(b).equals(adapter(a))).toBe(true);
  // --bf16 took effect: the same run in float32 ends elsewhere.
  expect(cli('train', '--model', modelDir, '--data', textFile, '--out', c, '--block-size', '16', '--batch-size', '2', '--lr', '1e-3', ...common).code).toBe(0);
  expect(adapter(c).equals(adapter(a))).toBe(false);
  expect(parseFlags('train', ['--model', 'm', '--data', 'd', '--out', 'o', '--no_packing', '--lr_scheduler_type', 'cosine', '--dataset_text_field', 'body'], trainSpec)).toMatchObject({ packing: false, 'lr-scheduler': 'cosine', 'text-column': 'body' });
  expect(parseFlags('train', ['--model', 'm', '--data', 'd', '--out', 'o'], trainSpec)).toMatchObject({ 'logging-nan-inf-filter': true });
  expect(parseFlags('train', ['--model', 'm', '--data', 'd', '--out', 'o', '--logging_nan_inf_filter=false'], trainSpec)).toMatchObject({ 'logging-nan-inf-filter': false });
  expect(cli('train', '--model', modelDir, '--learnin_rate', '1').err).toMatch(/unknown flag --learnin_rate for 'train'; did you mean --lr\?/);
  expect(cli('train', '--model', modelDir, '--max-step', '1').err).toMatch(/did you mean --max-steps\?/);
  expect(cli('train', '--model', modelDir, '--frobnicate', '1').err).toMatch(/unknown flag --frobnicate for 'train' \(see: tstorch train --help\)/);
  expect(cli('train', '--help').out).toMatch(/--lr <number> .*\[also --learning_rate\]/);
  // --config: a JSON file of flags (HF's names here), overridden by the command line.
  const cfg = path.join(tmp, 'train-config.json'), d = path.join(tmp, 'flags-config');
  fs.writeFileSync(cfg, JSON.stringify({
    model_name_or_path: modelDir, train_file: textFile, output_dir: d, max_seq_length: 16, per_device_train_batch_size: 2, learning_rate: 5,
    num_train_epochs: 1, bf16: true, max_steps: 2, logging_steps: 1, save_steps: 0, save_total_limit: null,
    report_to: ['tensorboard'], logging_dir: path.join(tmp, 'flags-config-tb'),
  }));
  expect(cli('train', '--config', cfg, '--learning_rate', '1e-3').code).toBe(0);
  expect(adapter(d).equals(adapter(a))).toBe(true);
  expect(fs.readdirSync(path.join(tmp, 'flags-config-tb')).filter((f) => f.startsWith('events.out.tfevents.')).length).toBe(1); // (its content: trainer.test.ts)
  expect(cli('train', '--model', modelDir, '--data', textFile, '--out', d, '--report-to', 'tensorboard,wandb').err).toMatch(/--report-to wandb: tstorch reports to tensorboard, all or none/);
  // --lr-scheduler-kwargs (HF's lr_scheduler_kwargs; an object in a --config file too)
  const sk = path.join(tmp, 'flags-sched');
  fs.writeFileSync(cfg, JSON.stringify({ lr_scheduler_type: 'cosine_with_min_lr', lr_scheduler_kwargs: { min_lr: 1e-4 } }));
  expect(cli('train', '--config', cfg, '--model', modelDir, '--data', textFile, '--out', sk, '--block-size', '16', '--batch-size', '2', '--lr', '1e-3', '--max-steps', '4', '--logging-steps', '1', '--save-steps', '0').code).toBe(0);
  const lrs = fs.readFileSync(path.join(sk, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).learning_rate);
  expect(lrs.map((v: number) => +v.toPrecision(12))).toEqual([1, 2, 3, 4].map((s) => +torch.optim.lrFactor('cosine_with_min_lr', s, 0, 4, { min_lr: 1e-4 }, 1e-3).toPrecision(12)).map((f) => +(f * 1e-3).toPrecision(12)));
  expect(lrs[3]).toBeCloseTo(1e-4, 12); // the floor at the end
  expect(cli('train', '--model', modelDir, '--data', textFile, '--out', sk, '--lr-scheduler', 'cosine', '--lr-scheduler-kwargs', '{num_cycles: 2}').err).toMatch(/--lr-scheduler-kwargs must be a JSON object/);
  expect(cli('train', '--model', modelDir, '--data', textFile, '--out', sk, '--lr-scheduler', 'polynomial', '--lr-scheduler-kwargs', '{"num_cycles": 2}').err).toMatch(/'polynomial' takes no option 'num_cycles' \(it takes lr_end, power\)/);
  // --optim / --optim-args (HF's optim, optim_args; an object in a --config file too): the model card names what ran
  const so = path.join(tmp, 'flags-optim');
  fs.writeFileSync(cfg, JSON.stringify({ optim: 'sgd', optim_args: { momentum: 0.9, nesterov: true } }));
  expect(cli('train', '--config', cfg, '--model', modelDir, '--data', textFile, '--out', so, '--block-size', '16', '--batch-size', '2', '--max-steps', '2', '--save-steps', '0').code).toBe(0);
  expect(fs.readFileSync(path.join(so, 'README.md'), 'utf8')).toContain('- optimizer: Use sgd with optimizer_args=momentum=0.9, nesterov=true; weight_decay 0\n');
  expect(cli('train', '--model', modelDir, '--data', textFile, '--out', so, '--optim', 'lion').err).toMatch(/--optim must be adamw_torch, adamw_torch_fused, adafactor, sgd, adagrad, rmsprop; got 'lion'/);
  expect(cli('train', '--model', modelDir, '--data', textFile, '--out', so, '--optim', 'adagrad', '--optim-args', 'momentum=0.9').err).toMatch(/--optim-args: adagrad takes lr_decay, initial_accumulator_value, eps; got 'momentum'/);
  // --loraplus-lr-ratio (LoRA+; its groups and training: trainer.test.ts): recorded in the card and the checkpoints
  const lp = path.join(tmp, 'flags-loraplus');
  expect(cli('train', '--model', modelDir, '--data', textFile, '--out', lp, '--block-size', '16', '--batch-size', '2', '--max-steps', '2', '--save-steps', '2',
    '--loraplus-lr-ratio', '16', '--loraplus-lr-embedding', '1e-5').code).toBe(0);
  expect(fs.readFileSync(path.join(lp, 'README.md'), 'utf8')).toContain('- loraplus_lr_ratio: 16\n- loraplus_lr_embedding: 0.00001\n');
  const lpOptimizer = torch.loadObject(path.join(lp, 'checkpoint-2', 'optimizer.pt')) as { state: Map<number, Record<string, torch.Tensor>>; param_groups: { lr: number }[] };
  expect(lpOptimizer.param_groups.map((g) => g.lr)).toEqual([0, 0, 0, 0]);
  for (const st of lpOptimizer.state.values()) for (const t of Object.values(st)) if (t instanceof torch.Tensor) t.dispose();
  expect(cli('train', '--model', modelDir, '--data', textFile, '--out', lp, '--full', '--loraplus-lr-ratio', '16').err).toMatch(/--loraplus-lr-ratio sets the lr of LoRA's B factors: it needs LoRA, not --full/);
  expect(cli('train', '--model', modelDir, '--data', textFile, '--out', lp, '--loraplus-lr-embedding', '1e-5').err).toMatch(/--loraplus-lr-embedding is a LoRA\+ setting: give --loraplus-lr-ratio too/);
  fs.writeFileSync(cfg, JSON.stringify({ model: modelDir, learning_rat: 1 }));
  expect(cli('train', '--config', cfg).err).toMatch(/unknown flag --learning_rat for 'train'; did you mean --lr\? .*\(in --config .*train-config.json\)/);
  fs.writeFileSync(cfg, '[1, 2]');
  expect(cli('train', '--config', cfg).err).toMatch(/must hold a JSON object of flags/);
  expect(cli('train', '--config', path.join(tmp, 'none.json')).err).toMatch(/--config .*none.json: no such file/);
});

test('a model folder with its own tokenizer (not GPT-2\'s): train, eval and generate tokenize with it; the output folder carries it', async () => {
  // A GPT-2 of 700 ids whose folder holds a byte-level BPE of its own (~660 tokens): GPT-2's ids would not fit it.
  const dir = await saveTinyGpt2(path.join(tmp, 'own-tok-model'), { vocab_size: 700 });
  const bare = await saveTinyGpt2(path.join(tmp, 'own-tok-bare'), { vocab_size: 700 });
  writeBpeFiles(dir, learnBpe(torch.data.brownDocuments(['a']).slice(0, 10).map((d) => d.text).join('\n'), 400));
  const tok = torch.GPT2Tokenizer.fromFiles(dir);
  expect(tok.isGpt2).toBe(false);
  const g = cli('generate', '--model', dir, '--prompt', 'The jury said', '--max-new-tokens', '4', '--json');
  expect(g.err).toBe('');
  const out = JSON.parse(g.out);
  expect(out.tokens.slice(0, tok.encode('The jury said').length)).toEqual(tok.encode('The jury said'));
  expect(out.text).toBe(tok.decode(out.tokens, { skipSpecialTokens: true }));
  const o = path.join(tmp, 'own-tok-out');
  const t = cli('train', '--model', dir, '--data', textFile, '--out', o, '--block-size', '16', '--batch-size', '2', '--max-steps', '2', '--save-steps', '1');
  expect(t.err).toBe('');
  // (each checkpoint carries it too, as HF's Trainer saves its processing_class there)
  for (const saved of [o, path.join(o, 'checkpoint-1'), path.join(o, 'checkpoint-2')]) {
    expect(fs.readFileSync(path.join(saved, 'vocab.json'), 'utf8')).toBe(fs.readFileSync(path.join(dir, 'vocab.json'), 'utf8'));
    expect(fs.readFileSync(path.join(saved, 'merges.txt'), 'utf8')).toBe(fs.readFileSync(path.join(dir, 'merges.txt'), 'utf8'));
  }
  const e = JSON.parse(cli('eval', '--model', dir, '--data', evalFile, '--block-size', '16', '--json').out);
  const blocks = Math.floor(tok.encode(fs.readFileSync(evalFile, 'utf8')).length / 16);
  expect(e.blocks).toBe(blocks);
  // the same weights without tokenizer files read the text with GPT-2's tokenizer, whose ids do not fit: said so
  expect(cli('train', '--model', bare, '--data', textFile, '--out', path.join(tmp, 'own-tok-bare-out'), '--block-size', '16').err)
    .toMatch(/token ids up to \d+ by GPT-2's tokenizer \(the model folder has no tokenizer files of its own\), but the model's vocab_size is 700: the tokenizer and the model do not belong together/);
  // --tokenizer (HF's --tokenizer_name): the files from another folder, for training and in the output
  const o2 = path.join(tmp, 'own-tok-flag-out');
  expect(cli('train', '--model', bare, '--tokenizer', dir, '--data', textFile, '--out', o2, '--block-size', '16', '--batch-size', '2', '--max-steps', '1', '--save-steps', '0').err).toBe('');
  expect(fs.readFileSync(path.join(o2, 'vocab.json'), 'utf8')).toBe(fs.readFileSync(path.join(dir, 'vocab.json'), 'utf8'));
  const g2 = JSON.parse(cli('generate', '--model', bare, '--tokenizer_name', dir, '--prompt', 'The jury said', '--max-new-tokens', '2', '--json').out);
  expect(g2.tokens.slice(0, tok.encode('The jury said').length)).toEqual(tok.encode('The jury said'));
  expect(cli('eval', '--model', bare, '--tokenizer', path.join(tmp, 'nowhere'), '--data', evalFile).err).toMatch(/--tokenizer .*nowhere: no such folder/);
  expect(cli('eval', '--model', bare, '--tokenizer', bare, '--data', evalFile).err).toMatch(/--tokenizer .*own-tok-bare has no tokenizer files \(vocab.json and merges.txt, or tokenizer.json\)/);
});

test('train on preference data (prompt, chosen, rejected) runs DPO: TRL\'s metrics in metrics.jsonl, the adapter, the card; clear errors', async () => {
  const prefs = path.join(tmp, 'prefs.jsonl'), evalPrefs = path.join(tmp, 'prefs-eval.jsonl');
  const line = (i: number) => JSON.stringify({ prompt: `Question ${i}: is the sky blue?\nAnswer:`, chosen: ' Yes, on a clear day.', rejected: ` No, it is green ${i}.` });
  fs.writeFileSync(prefs, Array.from({ length: 6 }, (_, i) => line(i)).join('\n') + '\n');
  fs.writeFileSync(evalPrefs, Array.from({ length: 3 }, (_, i) => line(10 + i)).join('\n') + '\n');
  const out = path.join(tmp, 'dpo');
  const r = cli('train', '--model', modelDir, '--data', prefs, '--eval-data', evalPrefs, '--out', out, '--block-size', '32', '--batch-size', '2',
    '--max-steps', '3', '--logging-steps', '1', '--save-steps', '0', '--lr', '1e-2', '--lora-r', '4', '--beta', '0.2');
  expect(r.err).toBe('');
  expect(r.out).toMatch(/training: 6 preference pairs \(DPO, sigmoid loss, beta 0.2; the reference: the model with its adapters disabled\); 2 per batch = 2 pairs per step/);
  const logs = fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const steps = logs.filter((e) => e.loss !== undefined);
  // LoRA's B starts at zero: the policy is the reference at the first step, so its loss is log 2 and its rewards 0
  expect(steps[0].loss).toBeCloseTo(Math.log(2), 6);
  expect(steps[0]['rewards/chosen']).toBeCloseTo(0, 6);
  for (const k of ['rewards/chosen', 'rewards/rejected', 'rewards/accuracies', 'rewards/margins', 'logps/chosen', 'logps/rejected', 'logits/chosen', 'logits/rejected']) expect(typeof steps[2][k]).toBe('number');
  expect(steps[2].loss).not.toBeCloseTo(Math.log(2), 4);
  expect(logs.some((e) => e.eval_loss !== undefined && e['eval_rewards/accuracies'] !== undefined)).toBe(true);
  expect(fs.existsSync(path.join(out, 'adapter_model.safetensors'))).toBe(true);
  const card = fs.readFileSync(path.join(out, 'README.md'), 'utf8');
  expect(card).toContain('- training_method: DPO\n- beta: 0.2\n- loss_type: sigmoid\n');
  expect(card).toMatch(/- Rewards\/accuracies: \d\.\d{4}\n- Rewards\/margins: -?\d\.\d{4}\n/);
  expect(card).toContain('| Training Loss | Epoch | Step | Validation Loss | Rewards/accuracies |');
  expect(card).not.toContain('Perplexity');
  // tstorch eval on the pairs: the trained adapter against its base, as the run's last evaluation
  const lastEval = logs.filter((e) => e.eval_loss !== undefined).pop();
  const ev = cli('eval', '--model', modelDir, '--adapter', out, '--data', evalPrefs, '--block-size', '32', '--beta', '0.2', '--json');
  expect(ev.err).toBe('');
  const em = JSON.parse(ev.out);
  expect(em.pairs).toBe(3);
  expect(Math.abs(em.loss - lastEval.eval_loss) / lastEval.eval_loss).toBeLessThan(1e-5);
  expect(em['rewards/accuracies']).toBe(lastEval['eval_rewards/accuracies']);
  // --ref-model: a full model against another (here the base against itself: loss log 2, no reward)
  const self = JSON.parse(cli('eval', '--model', modelDir, '--ref-model', modelDir, '--data', evalPrefs, '--block-size', '32', '--json').out);
  expect(self.loss).toBeCloseTo(Math.log(2), 6);
  expect(self['rewards/margins']).toBe(0);
  expect(cli('eval', '--model', modelDir, '--data', evalPrefs).err).toMatch(/holds preference pairs: their DPO rewards need a reference: give --adapter .* or --ref-model DIR/);
  // --precompute-ref-log-probs: the same losses
  const pre = path.join(tmp, 'dpo-pre');
  expect(cli('train', '--model', modelDir, '--data', prefs, '--out', pre, '--block-size', '32', '--batch-size', '2', '--max-steps', '3', '--logging-steps', '1',
    '--save-steps', '0', '--lr', '1e-2', '--lora-r', '4', '--beta', '0.2', '--precompute-ref-log-probs').err).toBe('');
  const preLosses = fs.readFileSync(path.join(pre, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).loss);
  steps.forEach((e, i) => expect(Math.abs(preLosses[i] - e.loss) / e.loss).toBeLessThan(1e-5));
  // --use-logits-to-keep (TRL's use_logits_to_keep): the LM head from the first completion token on, the same losses
  const keep = path.join(tmp, 'dpo-keep');
  expect(cli('train', '--model', modelDir, '--data', prefs, '--out', keep, '--block-size', '32', '--batch-size', '2', '--max-steps', '3', '--logging-steps', '1',
    '--save-steps', '0', '--lr', '1e-2', '--lora-r', '4', '--beta', '0.2', '--use-logits-to-keep').err).toBe('');
  const keepLosses = fs.readFileSync(path.join(keep, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).loss);
  steps.forEach((e, i) => expect(Math.abs(keepLosses[i] - e.loss) / e.loss).toBeLessThan(1e-5));
  expect(cli('train', '--model', modelDir, '--data', evalFile, '--out', keep, '--block-size', '32', '--use-logits-to-keep').err).toMatch(/--use-logits-to-keep is for preference pairs \(prompt, chosen, rejected\); .* holds none/);
  expect(cli('train', '--model', modelDir, '--data', prefs, '--out', keep, '--block-size', '32', '--method', 'orpo', '--use-logits-to-keep').err).toMatch(/--use-logits-to-keep is DPO's; ORPO does not take it/);
  // the preference settings with defaults are refused too where given on other data (a language model's text, a classifier's labels)
  for (const [flag, value] of [['--beta', '0.5'], ['--method', 'orpo'], ['--dpo-label-smoothing', '0.1']]) {
    expect(cli('train', '--model', modelDir, '--data', evalFile, '--out', keep, '--block-size', '32', flag, value).err).toMatch(new RegExp(`^tstorch train: ${flag} is for preference pairs \\(prompt, chosen, rejected\\).*; .*eval.* holds none\n$`));
  }
  expect(cli('train', '--model', modelDir, '--task', 'reward-modeling', '--data', prefs, '--out', keep, '--block-size', '32', '--beta', '0.5').err).toMatch(/^tstorch train: --beta is for preference pairs .*; this run is reward-modeling\n$/);
  expect(cli('train', '--model', modelDir, '--data', evalFile, '--out', keep, '--block-size', '32', '--center-rewards-coefficient', '0.01').err).toMatch(/^tstorch train: --center-rewards-coefficient is for a reward model .*; this run is causal-lm\n$/);
  // SFT's reading of the data (packing, cleaning, completion-only loss) is refused on pairs, which are read as they are; the reward loss takes no --loss-type
  for (const [flag, ...value] of [['--packing-strategy', 'bfd'], ['--no-packing'], ['--cleaning', 'basic'], ['--no-completion-only-loss']]) {
    expect(cli('train', '--model', modelDir, '--data', prefs, '--out', keep, '--block-size', '32', flag, ...value).err).toMatch(new RegExp(`^tstorch train: --${flag.replace(/^--(no-)?/, '')} is for a language model's texts.*; not preference pairs\\n$`));
  }
  expect(cli('train', '--model', modelDir, '--task', 'reward-modeling', '--data', prefs, '--out', keep, '--block-size', '32', '--loss-type', 'dft').err).toMatch(/^tstorch train: --loss-type is for preference pairs \(DPO\) or a language model's SFT \(nll, dft\); not for --task reward-modeling\n$/);
  const pcFile = path.join(tmp, 'pc-clean.jsonl');
  fs.writeFileSync(pcFile, '{"prompt": "Q:  why?", "completion": " because"}\n');
  expect(cli('train', '--model', modelDir, '--data', pcFile, '--out', keep, '--block-size', '32', '--cleaning', 'basic').err).toMatch(/^tstorch train: .*pc-clean\.jsonl: --cleaning basic cleans texts; prompt-completion pairs are learned as they are \(leave --cleaning out\)\n$/);
  expect(cli('train', '--model', modelDir, '--data', evalFile, '--out', keep, '--block-size', '32', '--problem-type', 'regression').err).toMatch(/^tstorch train: --problem-type is text classification's .* \(this run is causal-lm\)\n$/);
  expect(cli('train', '--model', modelDir, '--data', prefs, '--eval-data', evalFile, '--out', out).err).toMatch(/holds preference pairs \(DPO\) but --eval-data .* does not/);
  expect(cli('train', '--model', modelDir, '--data', prefs, '--out', out, '--loss-type', 'kto').err).toMatch(/--loss-type must be sigmoid, robust, exo_pair, hinge, ipo, nca_pair, sppo_hard, aot, aot_pair, apo_zero, apo_down, discopop, bco_pair, sft for preference pairs \(or several, comma-separated, their losses added: TRL's MPO\); got 'kto'/);
  expect(cli('train', '--model', modelDir, '--data', prefs, '--out', out, '--loss-type', 'sigmoid,kto').err).toMatch(/--loss-type must be .* got 'kto'/);
  expect(cli('train', '--model', modelDir, '--data', prefs, '--out', out, '--loss-type', 'sigmoid', '--loss-weights', '1,2').err).toMatch(/--loss-weights must be 1 comma-separated number, one per --loss-type \(sigmoid\); got '1,2'/);
  expect(cli('train', '--model', modelDir, '--data', prefs, '--out', out, '--block-size', '32', '--method', 'orpo', '--loss-weights', '1').err).toMatch(/--loss-weights is DPO's; ORPO does not take it/);
  // a run with one of TRL's DPO settings: trained, carded, and scored again by tstorch eval as the run's
  // last evaluation with the setting (and otherwise without it: the setting matters)
  const withSetting = (name: string, flags: string[], setting: string[], card: string, model = modelDir, [data, evalData] = [prefs, evalPrefs]) => {
    const dir = path.join(tmp, name);
    expect(cli('train', '--model', model, '--data', data, '--eval-data', evalData, '--out', dir, '--block-size', '32', '--batch-size', '2', '--max-steps', '2',
      '--logging-steps', '1', '--save-steps', '0', '--lr', '1e-2', '--lora-r', '4', '--beta', '0.2', ...flags, ...setting).err).toBe('');
    expect(fs.readFileSync(path.join(dir, 'README.md'), 'utf8')).toContain(card);
    const last = fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.eval_loss !== undefined).pop();
    const scored = (...more: string[]) => JSON.parse(cli('eval', '--model', model, '--adapter', dir, '--data', evalData, '--block-size', '32', '--beta', '0.2', '--json', ...flags, ...more).out).loss;
    expect([name, Math.abs(scored(...setting) - last.eval_loss) / last.eval_loss < 1e-5, Math.abs(scored() - last.eval_loss) > 1e-4]).toEqual([name, true, true]);
    return dir;
  };
  const disco = withSetting('dpo-discopop', ['--loss-type', 'discopop'], ['--discopop-tau', '0.3'], '- loss_type: discopop\n- discopop_tau: 0.3\n');
  expect(cli('train', '--model', modelDir, '--data', prefs, '--out', out, '--block-size', '32', '--discopop-tau', '0.3').err).toMatch(/discopopTau is the discopop loss's; lossType is sigmoid/);
  // RPO (--rpo-alpha): the chosen completions' NLL added, logged as nll_loss; tstorch eval scores it the same
  const rpo = path.join(tmp, 'dpo-rpo');
  expect(cli('train', '--model', modelDir, '--data', prefs, '--eval-data', evalPrefs, '--out', rpo, '--block-size', '32', '--batch-size', '2', '--max-steps', '2',
    '--logging-steps', '1', '--save-steps', '0', '--lr', '1e-2', '--lora-r', '4', '--beta', '0.2', '--rpo-alpha', '1').err).toBe('');
  const rpoLogs = fs.readFileSync(path.join(rpo, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const rpoFirst = rpoLogs.find((e) => e.loss !== undefined);
  expect(rpoFirst.nll_loss).toBeGreaterThan(1); // (a near-uniform tiny model: about log of its vocabulary)
  expect(rpoFirst.loss).toBeCloseTo(Math.log(2) + rpoFirst.nll_loss, 5); // (the first step: the DPO term is log 2)
  expect(fs.readFileSync(path.join(rpo, 'README.md'), 'utf8')).toContain('- loss_type: sigmoid\n- rpo_alpha: 1\n');
  const rpoEval = rpoLogs.filter((e) => e.eval_loss !== undefined).pop();
  const rpoAgain = JSON.parse(cli('eval', '--model', modelDir, '--adapter', rpo, '--data', evalPrefs, '--block-size', '32', '--batch-size', '8', '--beta', '0.2', '--rpo-alpha', '1', '--json').out);
  expect([Math.abs(rpoAgain.loss - rpoEval.eval_loss) / rpoEval.eval_loss < 1e-5, Math.abs(rpoAgain.nll_loss - rpoEval.eval_nll_loss) < 1e-5]).toEqual([true, true]);
  expect(cli('train', '--model', modelDir, '--data', prefs, '--out', out, '--block-size', '32', '--method', 'orpo', '--rpo-alpha', '1').err).toMatch(/--rpo-alpha is DPO's \(RPO\); ORPO does not take it \(ORPO has its chosen NLL already\)/);
  expect(cli('train', '--model', modelDir, '--data', prefs, '--out', out, '--block-size', '32', '--rpo-alpha', '-1').err).toMatch(/rpoAlpha must be a number >= 0/);
  expect(cli('train', '--model', modelDir, '--data', prefs, '--out', out, '--block-size', '32', '--method', 'orpo', '--discopop-tau', '0.3').err).toMatch(/--discopop-tau is DPO's; ORPO does not take it/);
  // cDPO (--dpo-label-smoothing): in the card, and tstorch eval scores it the same; refused where it changes nothing
  withSetting('dpo-smooth', [], ['--dpo-label-smoothing', '0.2'], '- loss_type: sigmoid\n- label_smoothing: 0.2\n');
  expect(cli('eval', '--model', modelDir, '--data', evalFile, '--block-size', '32', '--dpo-label-smoothing', '0.2').err).toMatch(/^tstorch eval: --dpo-label-smoothing is DPO's and CPO's, on preference pairs\n$/);
  // f-DPO (--f-divergence-type alpha_divergence and its α)
  withSetting('dpo-alpha-div', ['--f-divergence-type', 'alpha_divergence'], ['--f-alpha-divergence-coef', '0.5'], '- f_divergence_type: alpha_divergence\n- f_alpha_divergence_coef: 0.5\n');
  // several loss types (TRL's MPO form), each weighted: scored again by tstorch eval with the weights (and otherwise without them)
  withSetting('dpo-mix', ['--loss-type', 'sigmoid,sft', '--batch-size', '8'], ['--loss-weights', '1,0.5'], '- loss_type: sigmoid, sft\n- loss_weights: 1, 0.5\n');
  // bco_pair: the rewards centred on the running mean of the batches' mean rewards
  const bco = path.join(tmp, 'dpo-bco');
  expect(cli('train', '--model', modelDir, '--data', prefs, '--out', bco, '--block-size', '32', '--batch-size', '2', '--max-steps', '2', '--logging-steps', '1',
    '--save-steps', '0', '--lr', '1e-2', '--lora-r', '4', '--beta', '0.2', '--loss-type', 'bco_pair').err).toBe('');
  expect(fs.readFileSync(path.join(bco, 'README.md'), 'utf8')).toContain('- loss_type: bco_pair\n');
  // TR-DPO (--sync-ref-model, --full): the reference moves toward the policy; carded; the checkpoint holds the moved reference
  const tr = path.join(tmp, 'dpo-trdpo');
  expect(cli('train', '--model', modelDir, '--data', prefs, '--out', tr, '--block-size', '32', '--batch-size', '2', '--max-steps', '2', '--logging-steps', '1',
    '--save-steps', '2', '--lr', '1e-3', '--beta', '0.2', '--full', '--sync-ref-model', '--ref-model-sync-steps', '1', '--ref-model-mixup-alpha', '0.5').err).toBe('');
  expect(fs.readFileSync(path.join(tr, 'README.md'), 'utf8')).toContain('- sync_ref_model: true\n- ref_model_mixup_alpha: 0.5\n- ref_model_sync_steps: 1\n');
  expect(fs.existsSync(path.join(tr, 'checkpoint-2', 'ref_model.safetensors'))).toBe(true);
  expect(cli('train', '--model', modelDir, '--data', prefs, '--out', out, '--block-size', '32', '--sync-ref-model').err).toMatch(/--sync-ref-model \(TR-DPO\) moves the reference model toward the one training: it is for --full fine-tuning/);
  expect(cli('train', '--model', modelDir, '--data', prefs, '--out', out, '--block-size', '32', '--full', '--ref-model-sync-steps', '4').err).toMatch(/refModelSyncSteps is TR-DPO's; set syncRefModel too/);
  // WPO (--use-weighting): each pair's loss weighted. (On a model with larger weights: the tiny
  // model is so near uniform that it finds these completions likelier than its expected token, and
  // every weight caps at 1.)
  const sharp = await saveTinyGpt2(path.join(tmp, 'model-sharp'), { initializer_range: 0.5 });
  withSetting('dpo-wpo', [], ['--use-weighting'], '- loss_type: sigmoid\n- use_weighting: true\n', sharp);
  expect(cli('train', '--model', modelDir, '--data', prefs, '--out', out, '--block-size', '32', '--method', 'cpo', '--use-weighting').err).toMatch(/--use-weighting is DPO's; CPO does not take it/);
  expect(cli('eval', '--model', modelDir, '--adapter', disco, '--data', evalPrefs, '--block-size', '32', '--method', 'orpo', '--use-weighting').err).toMatch(/--use-weighting is DPO's, on preference pairs/);
  expect(cli('eval', '--model', modelDir, '--adapter', disco, '--data', evalFile, '--block-size', '32', '--discopop-tau', '0.3').err).toMatch(/--discopop-tau is DPO's, on preference pairs/);
  // LD-DPO (--ld-alpha): the longer completion's tokens past the shorter's length count α times (pairs of unequal lengths)
  const uneven = (i: number) => JSON.stringify({ prompt: `Question ${i}: is the sky blue?\nAnswer:`, chosen: ' Yes.', rejected: ` No, it is green ${i} and red on most days.` });
  const [ldData, ldEval] = ['prefs-uneven.jsonl', 'prefs-uneven-eval.jsonl'].map((n) => path.join(tmp, n));
  fs.writeFileSync(ldData, Array.from({ length: 6 }, (_, i) => uneven(i)).join('\n') + '\n');
  fs.writeFileSync(ldEval, Array.from({ length: 3 }, (_, i) => uneven(10 + i)).join('\n') + '\n');
  withSetting('dpo-ld', [], ['--ld-alpha', '0.3'], '- loss_type: sigmoid\n- ld_alpha: 0.3\n', modelDir, [ldData, ldEval]);
  expect(cli('train', '--model', modelDir, '--data', prefs, '--out', out, '--block-size', '32', '--method', 'orpo', '--ld-alpha', '0.5').err).toMatch(/--ld-alpha is DPO's; ORPO does not take it/);
  expect(cli('train', '--model', modelDir, '--data', prefs, '--out', out, '--block-size', '32', '--loss-type', 'ipo', '--ld-alpha', '0.5').err).toMatch(/ldAlpha weights summed log-probabilities; ipo's are token means: leave out one of them/);
  expect(cli('train', '--model', modelDir, '--data', prefs, '--out', out, '--block-size', '32', '--ld-alpha', '-0.5').err).toMatch(/ldAlpha must be a number >= 0/);
  const broken = path.join(tmp, 'prefs-broken.jsonl');
  fs.writeFileSync(broken, line(0) + '\n' + JSON.stringify({ prompt: 'p', chosen: 'c' }) + '\n');
  expect(cli('train', '--model', modelDir, '--data', broken, '--out', out).err).toMatch(/prefs-broken.jsonl:2.*rejected/);
  // TRL 1.x's truncation: a pair whose prompt fills --block-size is left out, said so; TRL 0.x's keep_end as a flag, and eval reads the pairs the run's way
  const promptTokens = torch.tokenizer.encode('Question 0: is the sky blue?\nAnswer:').length;
  const short = cli('train', '--model', modelDir, '--data', prefs, '--out', path.join(tmp, 'dpo-short'), '--block-size', String(promptTokens), '--batch-size', '2', '--max-steps', '1', '--save-steps', '0');
  expect(short.err).toMatch(/every pair's prompt fills maxLength \d+ tokens \(nothing left to learn\): raise maxLength \(the CLI's --block-size\)/);
  const end = path.join(tmp, 'dpo-keep-end');
  expect(cli('train', '--model', modelDir, '--data', prefs, '--eval-data', evalPrefs, '--out', end, '--block-size', '16', '--batch-size', '2', '--max-steps', '2',
    '--logging-steps', '1', '--save-steps', '0', '--lr', '1e-2', '--lora-r', '4', '--truncation-mode', 'keep_end').err).toBe('');
  const endEval = fs.readFileSync(path.join(end, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.eval_loss !== undefined).pop();
  const evalEnd = (...flags: string[]) => JSON.parse(cli('eval', '--model', modelDir, '--adapter', end, '--data', evalPrefs, '--block-size', '16', '--json', ...flags).out).loss;
  expect(Math.abs(evalEnd('--truncation-mode', 'keep_end') - endEval.eval_loss) / endEval.eval_loss).toBeLessThan(1e-5);
  expect(Math.abs(evalEnd() - endEval.eval_loss) / endEval.eval_loss).toBeGreaterThan(1e-4); // (keep_start reads other tokens)
  expect(cli('train', '--model', modelDir, '--data', prefs, '--out', out, '--truncation-mode', 'keep_middle').err).toMatch(/--truncation-mode must be keep_start or keep_end, got 'keep_middle'/);
  expect(cli('train', '--model', modelDir, '--data', textFile, '--out', out, '--truncation-mode', 'keep_end').err).toMatch(/--truncation-mode keep_end is for DPO and KTO data/);
  expect(cli('train', '--model', modelDir, '--data', textFile, '--out', out, '--max-prompt-length', '8').err).toMatch(/--max-prompt-length is for DPO and KTO data/);
});

test('train --method cpo and simpo (TRL\'s CPOTrainer, no reference): the loss, the chosen NLL, the card; tstorch eval scores the adapter as the run\'s last evaluation; clear errors', () => {
  const prefs = path.join(tmp, 'cpo-prefs.jsonl'), evalPrefs = path.join(tmp, 'cpo-prefs-eval.jsonl');
  const line = (i: number) => JSON.stringify({ prompt: `Question ${i}: is the sky blue?\nAnswer:`, chosen: ' Yes, on a clear day.', rejected: ` No, it is green ${i}.` });
  fs.writeFileSync(prefs, Array.from({ length: 6 }, (_, i) => line(i)).join('\n') + '\n');
  fs.writeFileSync(evalPrefs, Array.from({ length: 3 }, (_, i) => line(10 + i)).join('\n') + '\n');
  const run = (name: string, ...flags: string[]) => {
    const out = path.join(tmp, name);
    const r = cli('train', '--model', modelDir, '--data', prefs, '--eval-data', evalPrefs, '--out', out, '--block-size', '32', '--batch-size', '2', '--max-steps', '2',
      '--logging-steps', '1', '--save-steps', '0', '--lr', '1e-2', '--lora-r', '4', ...flags);
    expect([name, r.err]).toEqual([name, '']);
    const logs = fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    return { out, stdout: r.out, steps: logs.filter((e) => e.loss !== undefined), lastEval: logs.filter((e) => e.eval_loss !== undefined).pop(), card: fs.readFileSync(path.join(out, 'README.md'), 'utf8') };
  };
  const cpo = run('cpo', '--method', 'cpo', '--beta', '0.2');
  expect(cpo.stdout).toContain('6 preference pairs (CPO, sigmoid loss, beta 0.2, cpo_alpha 1; no reference model)');
  // the first step's loss: the sigmoid loss of the margin plus the chosen NLL (the tiny model's margins are near 0, where
  // -logσ is linear: the mean over the pairs is that of the mean margin)
  const s0 = cpo.steps[0];
  expect(s0.nll_loss).toBeGreaterThan(1);
  expect(s0.loss).toBeCloseTo(-Math.log(1 / (1 + Math.exp(-s0['rewards/margins']))) + s0.nll_loss, 5);
  expect(cpo.card).toContain('- training_method: CPO\n- beta: 0.2\n- loss_type: sigmoid\n- cpo_alpha: 1\n');
  const simpo = run('simpo', '--method', 'simpo', '--beta', '2', '--simpo-gamma', '0.8');
  expect(simpo.stdout).toContain('(SimPO, simpo loss, beta 2, cpo_alpha 0, simpo_gamma 0.8; no reference model)');
  expect(simpo.steps.every((e) => e.nll_loss === 0)).toBe(true);
  expect(simpo.card).toContain('- training_method: SimPO\n- beta: 2\n- loss_type: simpo\n- cpo_alpha: 0\n- simpo_gamma: 0.8\n');
  // tstorch eval: the same loss and metrics as each run's last evaluation
  const evalOf = (dir: string, ...flags: string[]) => {
    const r = cli('eval', '--model', modelDir, '--adapter', dir, '--data', evalPrefs, '--block-size', '32', '--batch-size', '8', '--json', ...flags);
    expect(r.err).toBe('');
    return JSON.parse(r.out);
  };
  for (const [run1, flags] of [[cpo, ['--method', 'cpo', '--beta', '0.2']], [simpo, ['--method', 'simpo', '--beta', '2', '--simpo-gamma', '0.8']]] as const) {
    const e = evalOf(run1.out, ...flags);
    expect([Math.abs(e.loss - run1.lastEval.eval_loss) / Math.abs(run1.lastEval.eval_loss) < 1e-5, Math.abs(e['rewards/margins'] - run1.lastEval['eval_rewards/margins']) < 1e-5]).toEqual([true, true]);
  }
  expect(Math.abs(evalOf(simpo.out, '--method', 'simpo', '--beta', '2').loss - simpo.lastEval.eval_loss)).toBeGreaterThan(1e-4); // (γ matters)
  // refused, each saying why
  const refused = (...flags: string[]) => cli('train', '--model', modelDir, '--data', prefs, '--out', path.join(tmp, 'cpo-no'), '--block-size', '32', ...flags).err.trim().split('\n')[0];
  expect(refused('--method', 'simpo', '--loss-type', 'hinge')).toMatch(/--loss-type is DPO's, CPO's, KTO's \(or SFT's\); SimPO has its own loss/);
  expect(refused('--method', 'cpo', '--loss-type', 'robust')).toMatch(/--loss-type must be sigmoid, hinge, ipo, simpo for --method cpo; got 'robust'/);
  expect(refused('--method', 'cpo', '--rpo-alpha', '1')).toMatch(/--rpo-alpha is DPO's \(RPO\); CPO does not take it \(CPO has its chosen NLL: --cpo-alpha\)/);
  expect(refused('--method', 'cpo', '--precompute-ref-log-probs')).toMatch(/--precompute-ref-log-probs is for a reference model; CPO has none/);
  expect(refused('--cpo-alpha', '0.5')).toMatch(/--cpo-alpha is CPO's and SimPO's \(--method cpo or simpo, on preference pairs\)/);
  expect(refused('--method', 'cpo', '--simpo-gamma', '1')).toMatch(/simpoGamma is the simpo loss's; lossType is sigmoid/);
  expect(cli('eval', '--model', modelDir, '--adapter', cpo.out, '--data', evalPrefs, '--block-size', '32', '--method', 'cpo', '--ref-model', modelDir).err).toMatch(/--ref-model is the reference of DPO and KTO metrics, on preference pairs or KTO examples; CPO has none/);
});

test('train (LoRA) writes a PEFT adapter; eval --adapter and merge agree', () => {
  const out = path.join(tmp, 'lora');
  const r = cli('train', '--model', modelDir, '--data', textFile, '--out', out, '--block-size', '32', '--batch-size', '4',
    '--max-steps', '6', '--lr', '1e-2', '--logging-steps', '2', '--save-steps', '3', '--eval-data', evalFile, '--lora-r', '4');
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  expect(r.out).toMatch(/trainable params: [\d,]+ \|\| all params/);
  for (const f of ['adapter_config.json', 'adapter_model.safetensors', 'metrics.jsonl', 'loss.svg', 'checkpoint-3', 'checkpoint-6']) {
    expect(fs.existsSync(path.join(out, f))).toBe(true);
  }
  // README.md: HF's model card (front matter for the Hub, hyperparameters, the evaluations as in metrics.jsonl),
  // in place of the adapter's short card (PEFT's save_pretrained's, as each checkpoint keeps)
  expect(fs.readFileSync(path.join(out, 'checkpoint-3', 'README.md'), 'utf8')).toContain(`A LoRA adapter for ${modelDir} in PEFT's format (task CAUSAL_LM), saved by tstorch.`);
  const card = fs.readFileSync(path.join(out, 'README.md'), 'utf8');
  expect(card).not.toContain('saved by tstorch');
  expect(card.startsWith(`---\nbase_model: ${JSON.stringify(modelDir)}\nlibrary_name: peft\n`)).toBe(true);
  expect(card).toMatch(/- learning_rate: 0.01\n- train_batch_size: 4\n/);
  expect(card).toMatch(/- r: 4\n- lora_alpha: 16\n/);
  const evalRows = fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.eval_loss !== undefined);
  expect(evalRows.length).toBeGreaterThan(0);
  for (const e of evalRows) expect(card).toContain(`| ${e.step} | ${e.eval_loss.toFixed(4)} | ${e.eval_perplexity.toFixed(4)} |`);
  // a card already there is the user's: a second run into the folder leaves it
  fs.writeFileSync(path.join(out, 'README.md'), 'mine\n');
  expect(cli('train', '--model', modelDir, '--data', textFile, '--out', out, '--block-size', '32', '--batch-size', '4', '--max-steps', '7', '--lr', '1e-2',
    '--logging-steps', '2', '--save-steps', '3', '--eval-data', evalFile, '--lora-r', '4', '--resume-from-checkpoint', 'latest').code).toBe(0);
  expect(fs.readFileSync(path.join(out, 'README.md'), 'utf8')).toBe('mine\n');
  const withAdapter = JSON.parse(cli('eval', '--model', modelDir, '--adapter', out, '--data', evalFile, '--block-size', '32', '--json').out);
  const merged = path.join(tmp, 'merged');
  expect(cli('merge', '--model', modelDir, '--adapter', out, '--out', merged).code).toBe(0);
  // Both folders carry the tokenizer (the base had none: GPT-2's, written by tstorch).
  const tokenizerFiles = ['vocab.json', 'merges.txt', 'tokenizer_config.json', 'special_tokens_map.json'];
  for (const dir of [out, merged]) for (const f of tokenizerFiles) expect(fs.existsSync(path.join(dir, f))).toBe(true);
  expect(JSON.parse(fs.readFileSync(path.join(merged, 'tokenizer_config.json'), 'utf8')).model_max_length).toBe(64);
  const mergedEval = JSON.parse(cli('eval', '--model', merged, '--data', evalFile, '--block-size', '32', '--json').out);
  expect(Math.abs(mergedEval.loss - withAdapter.loss) / withAdapter.loss).toBeLessThan(1e-5);
  const base = JSON.parse(cli('eval', '--model', modelDir, '--data', evalFile, '--block-size', '32', '--json').out);
  expect(withAdapter.loss).toBeLessThan(base.loss);
  // --dtype float16: half the file, config.json says so, and the same loss to fp16's precision.
  const half = path.join(tmp, 'merged-f16');
  expect(cli('merge', '--model', modelDir, '--adapter', out, '--out', half, '--dtype', 'float16').code).toBe(0);
  expect(JSON.parse(fs.readFileSync(path.join(half, 'config.json'), 'utf8')).torch_dtype).toBe('float16');
  const sizes = [merged, half].map((d) => fs.statSync(path.join(d, 'model.safetensors')).size);
  expect(sizes[1] / sizes[0]).toBeCloseTo(0.5, 2);
  const halfEval = JSON.parse(cli('eval', '--model', half, '--data', evalFile, '--block-size', '32', '--json').out);
  expect(Math.abs(halfEval.loss - mergedEval.loss) / mergedEval.loss).toBeLessThan(1e-3);
  expect(cli('merge', '--model', modelDir, '--adapter', out, '--out', path.join(tmp, 'merged-bad'), '--dtype', 'int8').err).toMatch(/--dtype must be float32, float16 or bfloat16/);
  // --max-shard-size: shards and an index (HF's max_shard_size), --no-safe-serialization: pytorch_model.bin; the same model either way
  const sharded = path.join(tmp, 'merged-sharded');
  expect(cli('merge', '--model', modelDir, '--adapter', out, '--out', sharded, '--max-shard-size', '20kB', '--no-safe-serialization').code).toBe(0);
  const shardFiles = fs.readdirSync(sharded).filter((n) => n.startsWith('pytorch_model'));
  expect(shardFiles.filter((n) => /^pytorch_model-\d{5}-of-\d{5}\.bin$/.test(n)).length).toBeGreaterThan(1);
  expect(shardFiles).toContain('pytorch_model.bin.index.json');
  expect(fs.readdirSync(sharded).some((n) => n.includes('safetensors'))).toBe(false);
  const shardedEval = JSON.parse(cli('eval', '--model', sharded, '--data', evalFile, '--block-size', '32', '--json').out);
  expect(shardedEval.loss).toBe(mergedEval.loss);
  expect(cli('merge', '--model', modelDir, '--adapter', out, '--out', path.join(tmp, 'merged-bad'), '--max-shard-size', '5 gigs').err).toMatch(/--max-shard-size: '5 gigs' is not a size/);
  expect(fs.existsSync(path.join(tmp, 'merged-bad'))).toBe(false);

  // A base folder with tokenizer files of its own: those are what the merged folder gets.
  const ownTok = path.join(tmp, 'model-own-tokenizer');
  fs.cpSync(modelDir, ownTok, { recursive: true });
  torch.tokenizer.savePretrained(ownTok);
  fs.writeFileSync(path.join(ownTok, 'tokenizer.json'), '{"marker": "the base folder\'s own"}');
  const merged2 = path.join(tmp, 'merged-own');
  expect(cli('merge', '--model', ownTok, '--adapter', out, '--out', merged2).code).toBe(0);
  for (const f of [...tokenizerFiles, 'tokenizer.json']) expect(fs.readFileSync(path.join(merged2, f))).toEqual(fs.readFileSync(path.join(ownTok, f)));

  // --no-save-safetensors (HF's save_safetensors false): adapter_model.bin, in checkpoints and at the end; the same run, the same adapter
  const bin = path.join(tmp, 'lora-bin');
  expect(cli('train', '--model', modelDir, '--data', textFile, '--out', bin, '--block-size', '32', '--batch-size', '4',
    '--max-steps', '6', '--lr', '1e-2', '--logging-steps', '2', '--save-steps', '3', '--eval-data', evalFile, '--lora-r', '4', '--no-save-safetensors').err).toBe('');
  for (const dir of [bin, path.join(bin, 'checkpoint-3')]) {
    expect(fs.existsSync(path.join(dir, 'adapter_model.bin'))).toBe(true);
    expect(fs.existsSync(path.join(dir, 'adapter_model.safetensors'))).toBe(false);
  }
  const evalLoss = (adapter: string) => JSON.parse(cli('eval', '--model', modelDir, '--adapter', adapter, '--data', evalFile, '--block-size', '32', '--json').out).loss;
  expect(evalLoss(bin)).toBe(evalLoss(path.join(out, 'checkpoint-6'))); // (out itself went on to step 7 above)
});

test('train --layers-to-transform, --exclude-modules, --rank-pattern, --alpha-pattern: PEFT\'s fields in adapter_config.json, the layers and ranks they choose; eval and merge read them back', () => {
  const out = path.join(tmp, 'lora-patterns');
  const r = cli('train', '--model', modelDir, '--data', textFile, '--out', out, '--block-size', '16', '--batch-size', '2', '--max-steps', '2', '--save-steps', '0', '--lr', '1e-2',
    '--lora-r', '4', '--lora-targets', 'c_attn,c_fc,c_proj', '--layers-to-transform', '0', '--exclude-modules', 'attn.c_proj', '--rank-pattern', '{"c_fc": 2}', '--alpha-pattern', '{"c_attn": 4}');
  expect(r.err).toBe('');
  const config = JSON.parse(fs.readFileSync(path.join(out, 'adapter_config.json'), 'utf8'));
  expect([config.layers_to_transform, config.exclude_modules, config.rank_pattern, config.alpha_pattern]).toEqual([[0], ['attn.c_proj'], { c_fc: 2 }, { c_attn: 4 }]);
  const shapes = Object.fromEntries([...torch.io.safetensors.loadFile(path.join(out, 'adapter_model.safetensors')).tensors].map(([k, t]) => [k.replace('base_model.model.transformer.', ''), t.shape]));
  expect(shapes).toEqual({
    'h.0.attn.c_attn.lora_A.weight': [4, 16], 'h.0.attn.c_attn.lora_B.weight': [48, 4],
    'h.0.mlp.c_fc.lora_A.weight': [2, 16], 'h.0.mlp.c_fc.lora_B.weight': [64, 2],
    'h.0.mlp.c_proj.lora_A.weight': [4, 64], 'h.0.mlp.c_proj.lora_B.weight': [16, 4],
  });
  const withAdapter = JSON.parse(cli('eval', '--model', modelDir, '--adapter', out, '--data', evalFile, '--block-size', '16', '--json').out);
  const merged = path.join(tmp, 'lora-patterns-merged');
  expect(cli('merge', '--model', modelDir, '--adapter', out, '--out', merged).code).toBe(0);
  const mergedEval = JSON.parse(cli('eval', '--model', merged, '--data', evalFile, '--block-size', '16', '--json').out);
  expect(Math.abs(mergedEval.loss - withAdapter.loss) / withAdapter.loss).toBeLessThan(1e-5);
  expect(cli('train', '--model', modelDir, '--data', textFile, '--out', out, '--rank-pattern', '[2]').err).toMatch(/--rank-pattern must be a JSON object of numbers by layer-name pattern/);
  expect(cli('train', '--model', modelDir, '--data', textFile, '--out', out, '--layers-to-transform', 'last').err).toMatch(/--layers-to-transform must be block indices, e.g. 10,11; got 'last'/);
  expect(cli('train', '--model', modelDir, '--data', textFile, '--out', path.join(tmp, 'lora-none'), '--block-size', '16', '--layers-to-transform', '3').err).toMatch(/no Conv1D matches targetModules \[c_attn, c_proj, c_fc\] within layersToTransform/);
});

test('train --lora-modules-to-save: the modules train whole and go into the adapter (PEFT\'s modules_to_save); eval --adapter and merge agree; --dataloader-drop-last trains whole batches only', () => {
  const out = path.join(tmp, 'lora-modules-to-save');
  const r = cli('train', '--model', modelDir, '--data', textFile, '--out', out, '--block-size', '16', '--batch-size', '3', '--max-train-samples', '10', '--epochs', '2',
    '--save-steps', '0', '--lr', '1e-2', '--lora-modules-to-save', 'ln_f', '--dataloader-drop-last');
  expect(r.err).toBe('');
  // 10 blocks in batches of 3: 3 whole batches an epoch (4 with the last short one)
  expect(r.out).toMatch(/training: 10 blocks of 16 tokens; 3 per batch = 3 blocks per step; 3 steps per epoch, 6 steps/);
  const config = JSON.parse(fs.readFileSync(path.join(out, 'adapter_config.json'), 'utf8'));
  expect(config.modules_to_save).toEqual(['ln_f']);
  const saved = torch.io.safetensors.loadFile(path.join(out, 'adapter_model.safetensors')).tensors;
  const base = torch.io.safetensors.loadFile(path.join(modelDir, 'model.safetensors')).tensors;
  for (const k of ['weight', 'bias']) {
    const trained = saved.get(`base_model.model.transformer.ln_f.${k}`)!;
    expect(trained.shape).toEqual([16]);
    expect(relErr(trained, base.get(`transformer.ln_f.${k}`) ?? base.get(`ln_f.${k}`)!)).toBeGreaterThan(1e-3); // it trained
  }
  const withAdapter = JSON.parse(cli('eval', '--model', modelDir, '--adapter', out, '--data', evalFile, '--block-size', '16', '--json').out);
  const merged = path.join(tmp, 'lora-modules-to-save-merged');
  expect(cli('merge', '--model', modelDir, '--adapter', out, '--out', merged).code).toBe(0);
  const mergedEval = JSON.parse(cli('eval', '--model', merged, '--data', evalFile, '--block-size', '16', '--json').out);
  expect(Math.abs(mergedEval.loss - withAdapter.loss) / withAdapter.loss).toBeLessThan(1e-5);
  const plain = cli('eval', '--model', modelDir, '--data', evalFile, '--block-size', '16', '--json');
  expect(Math.abs(JSON.parse(plain.out).loss - withAdapter.loss)).toBeGreaterThan(1e-4);
  // GPT-2's wte and lm_head are one tensor: PEFT would train an untied copy; refused, not trained both ways
  for (const m of ['wte', 'lm_head']) {
    expect(cli('train', '--model', modelDir, '--data', textFile, '--out', path.join(tmp, 'mts-tied'), '--block-size', '16', '--lora-modules-to-save', m).err)
      .toMatch(/transformer\.wte\.weight and lm_head\.weight are one tensor \(tied\); PEFT would train an untied copy.*--lora-targets wte/);
  }
  expect(cli('train', '--model', modelDir, '--data', textFile, '--out', path.join(tmp, 'mts-full'), '--full', '--lora-modules-to-save', 'ln_f').err).toMatch(/with --full every module trains already/);
  expect(cli('train', '--model', modelDir, '--data', textFile, '--out', path.join(tmp, 'mts-none'), '--block-size', '16', '--lora-modules-to-save', 'ln_g').err).toMatch(/modulesToSave 'ln_g' matches no module/);
  expect(cli('train', '--model', modelDir, '--data', textFile, '--out', path.join(tmp, 'dl-none'), '--block-size', '16', '--max-train-samples', '2', '--batch-size', '3', '--dataloader-drop-last').err)
    .toMatch(/dataloaderDropLast leaves no batch: the 2 items, fewer than perDeviceTrainBatchSize 3/);
  expect(fs.existsSync(path.join(tmp, 'mts-tied', 'adapter_model.safetensors'))).toBe(false);
});

test('train --init-lora-weights pissa: PEFT\'s config field; eval --adapter and merge redo PiSSA on the base and agree', () => {
  const out = path.join(tmp, 'lora-pissa');
  const r = cli('train', '--model', modelDir, '--data', textFile, '--out', out, '--block-size', '16', '--batch-size', '2', '--max-steps', '3', '--save-steps', '0', '--lr', '1e-2',
    '--lora-r', '2', '--init-lora-weights', 'pissa');
  expect(r.err).toBe('');
  expect(JSON.parse(fs.readFileSync(path.join(out, 'adapter_config.json'), 'utf8')).init_lora_weights).toBe('pissa');
  const withAdapter = JSON.parse(cli('eval', '--model', modelDir, '--adapter', out, '--data', evalFile, '--block-size', '16', '--json').out);
  const base = JSON.parse(cli('eval', '--model', modelDir, '--data', evalFile, '--block-size', '16', '--json').out);
  expect(Math.abs(withAdapter.loss - base.loss)).toBeGreaterThan(1e-4); // trained
  const merged = path.join(tmp, 'lora-pissa-merged');
  expect(cli('merge', '--model', modelDir, '--adapter', out, '--out', merged).code).toBe(0);
  const mergedEval = JSON.parse(cli('eval', '--model', merged, '--data', evalFile, '--block-size', '16', '--json').out);
  expect(Math.abs(mergedEval.loss - withAdapter.loss) / withAdapter.loss).toBeLessThan(1e-5);
  expect(cli('train', '--model', modelDir, '--data', textFile, '--out', out, '--init-lora-weights', 'olora').err).toMatch(/--init-lora-weights must be true, false, gaussian, pissa or pissa_niter_K; got 'olora'/);
});

test('merge --adapters A,B --weights --combination-type: the weighted adapter (the API\'s addWeightedAdapter) folded in', async () => {
  const dirs: string[] = [];
  for (const [i, targets] of [['c_attn', 'c_proj'], ['c_attn', 'c_fc']].entries()) {
    const m = await torch.GPT2LMHeadModel.fromPretrained(modelDir);
    torch.lora.applyLoRA(m, { r: 2 + i, alpha: 4, targetModules: targets });
    torch.manualSeed(20 + i);
    torch.noGrad(() => { for (const [n, p] of m.namedParameters()) if (/lora_B/.test(n)) p.normal_(0, 0.1); });
    dirs.push(path.join(tmp, `to-merge-${i}`));
    await torch.lora.saveAdapter(m, dirs[i]);
    m.dispose();
  }
  const out = path.join(tmp, 'merged-weighted');
  const r = cli('merge', '--model', modelDir, '--adapters', dirs.join(','), '--weights', '1,-0.5', '--combination-type', 'cat', '--out', out);
  expect(r.err).toBe('');
  const want = await torch.GPT2LMHeadModel.fromPretrained(modelDir);
  await torch.lora.loadAdapter(want, dirs[0], { adapterName: 'a' });
  await torch.lora.loadAdapter(want, dirs[1], { adapterName: 'b' });
  torch.lora.addWeightedAdapter(want, ['a', 'b'], [1, -0.5], 'mix', { combinationType: 'cat' });
  torch.lora.setAdapter(want, 'mix');
  torch.lora.mergeAndUnload(want);
  const got = torch.io.safetensors.loadFile(path.join(out, 'model.safetensors')).tensors;
  const plain = torch.io.safetensors.loadFile(path.join(modelDir, 'model.safetensors')).tensors;
  let changed = 0;
  for (const [n, p] of want.stateDict()) {
    const g = got.get(n) ?? got.get(n.replace(/^transformer\./, ''));
    if (!g) continue;
    expect([n, relErr(g, p) < 1e-6]).toEqual([n, true]);
    const before = plain.get(n) ?? plain.get(n.replace(/^transformer\./, ''));
    if (before && relErr(g, before) > 1e-6) changed++;
  }
  expect(changed).toBe(4); // the one block's c_attn, attn.c_proj, mlp.c_proj and c_fc weights
  expect(cli('merge', '--model', modelDir, '--adapters', dirs.join(','), '--weights', '1', '--out', out).err).toMatch(/--weights must be 2 numbers, one per adapter/);
  expect(cli('merge', '--model', modelDir, '--adapters', dirs.join(','), '--combination-type', 'ties', '--out', out).err).toMatch(/--combination-type must be cat, linear or svd/);
  expect(cli('merge', '--model', modelDir, '--out', out).err).toMatch(/missing --adapter \(or --adapters A,B for several, or an adapter folder as --model\)/);
  want.dispose();
});

test('bad input: one-line cause, non-zero exit, nothing half-written', () => {
  const cases: [string[], RegExp][] = [
    [['train', '--model', modelDir, '--data', textFile, '--out', path.join(tmp, 'neg'), '--lora-r', '-1'], /--lora-r must be >= 0/],
    [['train', '--model', modelDir, '--data', path.join(tmp, 'missing.txt'), '--out', path.join(tmp, 'miss')], /no such file/],
    [['train', '--model', modelDir, '--data', textFile, '--out', path.join(tmp, 'x'), '--epochs'], /--epochs needs a value/],
    [['train', '--model', modelDir, '--data', textFile, '--out', path.join(tmp, 'x'), '--batch-size', 'two'], /must be an integer/],
    [['generate', '--model', modelDir, '--prompt', 'x', '--max-new-tokens', '1e300'], /^tstorch generate: --max-new-tokens must be an integer within ±\(2\*\*53 - 1\), got '1e300'$/], // (not a 'non-negative integer' error from deep inside)
    [['train', '--model', modelDir, '--data', textFile, '--out', path.join(tmp, 'x'), '--learning_rate', 'abc'], /^tstorch train: --learning_rate must be a number, got 'abc'/], // (as typed, HF's name)
    [['train', '--model', modelDir, '--data', textFile, '--out', path.join(tmp, 'x'), '--lr_scheduler_type', 'bogus'], /^tstorch train: --lr_scheduler_type must be linear, cosine, .*; got 'bogus'/], // (checked after parsing, named as typed too)
    [['train', '--model', modelDir, '--data', textFile, '--out', path.join(tmp, 'x'), '--lr-scheduler', 'bogus'], /^tstorch train: --lr-scheduler must be linear, /],
    [['eval', '--model', path.join(tmp, 'nope'), '--data', textFile], /no such folder/],
    [['eval', '--data', textFile], /missing --model/],
    [['generate', '--model', modelDir, '--prompt', 'x', '--device', 'cuda'], /CUDA is not available|cuda/i],
    [['train', '--model', modelDir, '--data', textFile, '--out', path.join(tmp, 'ga0'), '--gradient-accumulation-steps', '0'], /--gradient-accumulation-steps must be >= 1/],
    [['generate', '--model', modelDir, '--prompt', 'x', '--repetition-penalty', '0'], /--repetition-penalty must be > 0/],
    [['train', '--model', modelDir, '--data', textFile, '--out', path.join(tmp, 'es'), '--early-stopping-patience', '2'], /needs --eval-data/],
    [['eval', '--model', modelDir, '--data', textFile, '--precision', 'fp16'], /--precision must be fp32 or bf16/],
    [['train', '--model', modelDir, '--data', textFile, '--out', textFile], /--out .* is a file; give a folder/],
    [['train', '--model', modelDir, '--data', textFile, '--out', path.join(tmp, 'neg'), '--lora-r', '-1', '--nproc-per-node', '2'], /^tstorch train: --lora-r must be >= 0/],
    [['serve', '--model', modelDir, '--max-num-batched-tokens', '0'], /--max-num-batched-tokens must be >= 1/],
    [['serve', '--model', modelDir, '--prefill-chunk-size', '-1'], /--prefill-chunk-size must be >= 0 \(0: off\)/],
    // (flags named as the user gave them, with the value refused)
    [['train', '--model', modelDir, '--data', textFile, '--out', path.join(tmp, 'x'), '--precision', 'fp16'], /^tstorch train: --precision must be fp32 or bf16, got 'fp16'$/],
    [['train', '--model', modelDir, '--data', textFile, '--out', path.join(tmp, 'x'), '--lr', '-1'], /^tstorch train: --lr must be >= 0, got -1$/],
    [['generate', '--model', modelDir, '--prompt', 'x', '--top-p', '2'], /^tstorch generate: --top-p must be in \(0, 1\], got 2$/],
    [['generate', '--model', modelDir, '--prompt', 'x', '--prompt-lookup-num-tokens', '0'], /^tstorch generate: --prompt-lookup-num-tokens must be >= 1, got 0$/],
    [['merge', '--model', modelDir, '--adapter', path.join(tmp, 'x'), '--out', path.join(tmp, 'x'), '--max-shard-size', '5 parsecs'], /^tstorch merge: --max-shard-size: '5 parsecs' is not a size/],
    [['classify', '--model', modelDir, '--texts', path.join(tmp, 'missing.txt')], /^tstorch classify: --texts .*missing\.txt: no such file/],
    [['eval', '--model', modelDir, '--data', textFile, '--method', 'dpo2'], /^tstorch eval: --method must be dpo, orpo, cpo, simpo or kto, got 'dpo2'$/],
    [['eval', '--model', modelDir, '--data', textFile, '--beta', '0.2'], /^tstorch eval: --beta is for preference pairs \(prompt, chosen, rejected\) or KTO examples \(prompt, completion, label\); .* holds neither$/], // (a default it has, given: it would change nothing)
    [['eval', '--model', modelDir, '--data', textFile, '--loss-type', 'hinge'], /^tstorch eval: --loss-type is for preference pairs/],
    [['frobnicate'], /unknown command/],
    // (names every JS object has are no commands or flags either)
    [['constructor'], /unknown command 'constructor'/],
    [['train', '--model', modelDir, '--constructor', 'x'], /unknown flag --constructor for 'train'/],
    [['generate', '--model', modelDir, '--to_string', 'x'], /unknown flag --to_string for 'generate'/],
    [['train', '--model', modelDir, '--no-has-own-property'], /unknown flag --no-has-own-property/],
  ];
  for (const [args, re] of cases) {
    const r = cli(...args);
    expect(r.code).not.toBe(0);
    expect(r.err.trim().split('\n')[0]).toMatch(re);
  }
  // A path that is not there is said once, by the launcher, before any worker starts (not once per rank).
  for (const [flag, value, re] of [
    ['--data', path.join(tmp, 'missing.txt'), /^tstorch train: --data .*missing\.txt: no such file$/],
    ['--adapter', path.join(tmp, 'no-adapter'), /^tstorch train: --adapter .*no-adapter: no such folder$/],
    ['--resume-from-checkpoint', path.join(tmp, 'checkpoint-9'), /^tstorch train: --resume-from-checkpoint .*checkpoint-9: no such folder; give a checkpoint-<step> folder of an earlier run, or latest/],
  ] as const) {
    const r = cli('train', '--model', modelDir, '--data', textFile, '--out', path.join(tmp, 'miss'), flag, value, '--nproc-per-node', '2', '--master-port', '29671');
    expect(r.code).toBe(1);
    expect(r.err.trim()).toMatch(re);
  }
  expect(fs.existsSync(path.join(tmp, 'neg'))).toBe(false);
  expect(fs.existsSync(path.join(tmp, 'ga0'))).toBe(false);
  expect(fs.existsSync(path.join(tmp, 'miss'))).toBe(false);
  const bad = path.join(tmp, 'bad.csv');
  fs.writeFileSync(bad, 'Article,Date\n"never closed,1\n');
  const r = cli('train', '--model', modelDir, '--data', bad, '--out', path.join(tmp, 'badcsv'), '--block-size', '32');
  expect(r.err).toMatch(/unterminated quoted field/);
  expect(fs.existsSync(path.join(tmp, 'badcsv'))).toBe(false);
  // A corrupt checkpoint file: one line naming the file.
  const broken = path.join(tmp, 'broken');
  fs.cpSync(modelDir, broken, { recursive: true });
  const st = path.join(broken, 'model.safetensors');
  fs.truncateSync(st, fs.statSync(st).size - 100);
  const e = cli('eval', '--model', broken, '--data', textFile);
  expect(e.code).toBe(1);
  expect(e.err).toMatch(/model\.safetensors.*truncated/);
});

test('--attn picks the attention implementation: eager and sdpa give the same loss; others are refused', () => {
  const run = (attn: string) => cli('eval', '--model', modelDir, '--data', evalFile, '--block-size', '32', '--json', '--attn', attn);
  const eager = JSON.parse(run('eager').out.trim()), sdpa = JSON.parse(run('sdpa').out.trim());
  expect(Math.abs(eager.loss - sdpa.loss)).toBeLessThan(1e-5);
  const bad = run('flash');
  expect(bad.code).toBe(1);
  expect(bad.err).toMatch(/--attn must be sdpa or eager, got 'flash'/);
});

test('train --tf32 on the CPU is refused with what to do', () => {
  const r = cli('train', '--model', modelDir, '--data', textFile, '--out', path.join(tmp, 'tf32'), '--tf32');
  expect(r.code).toBe(1);
  expect(r.err).toMatch(/--tf32 applies to CUDA matmuls: use it with --device cuda/);
});

test('demo refuses a bad --precision before doing any work', () => {
  const out = path.join(tmp, 'demo-bad');
  const r = cli('demo', '--precision', 'fp16', '--out', out);
  expect(r.code).not.toBe(0);
  expect(r.err).toMatch(/--precision must be auto, fp32 or bf16, got 'fp16'/);
  expect(fs.existsSync(out)).toBe(false);
});

test('train --task text-classification: a SEQ_CLS adapter (labels in metrics.jsonl, the card); eval, classify and merge read it back and agree with the API', async () => {
  const words = ['good', 'fine', 'great', 'bad', 'poor', 'awful'];
  const rows = (n: number, off: number) => Array.from({ length: n }, (_, i) => {
    const k = (i * 7 + off) % 6;
    return { text: `the film was ${words[k]} ${'and long '.repeat(i % 3)}`.trim(), label: k < 3 ? 'pos' : 'neg' };
  });
  const trainFile = path.join(tmp, 'labelled.jsonl'), evalFile2 = path.join(tmp, 'labelled-eval.jsonl'), out = path.join(tmp, 'cls');
  fs.writeFileSync(trainFile, rows(24, 0).map((r) => JSON.stringify(r)).join('\n') + '\n');
  fs.writeFileSync(evalFile2, rows(8, 1).map((r) => JSON.stringify(r)).join('\n') + '\n');
  const t = cli('train', '--model', modelDir, '--task', 'text-classification', '--data', trainFile, '--eval-data', evalFile2, '--out', out,
    '--block-size', '32', '--batch-size', '4', '--max-steps', '4', '--lr', '1e-3', '--logging-steps', '2');
  expect(t.err).toBe('');
  expect(t.out).toMatch(/24 labelled texts \(single label classification, 2 classes: neg, pos\)/);
  // integer labels (a ClassLabel's ids) with --label-names: the names, in their order
  const intLabelled = path.join(tmp, 'labelled-int.jsonl');
  fs.writeFileSync(intLabelled, rows(8, 0).map((r) => JSON.stringify({ text: r.text, label: r.label === 'pos' ? 1 : 0 })).join('\n') + '\n');
  const ti = cli('train', '--model', modelDir, '--task', 'text-classification', '--data', intLabelled, '--out', path.join(tmp, 'cls-int'), '--label-names', 'neg,pos',
    '--block-size', '32', '--batch-size', '4', '--max-steps', '1');
  expect(ti.out).toMatch(/8 labelled texts \(single label classification, 2 classes: neg, pos\)/);
  expect(cli('eval', '--model', modelDir, '--adapter', out, '--data', intLabelled, '--block-size', '32').err).toMatch(/labels '0', '1' not among the model's \(neg, pos\); integer labels are ids: give their names/);
  // the labels in another field, named by --label-column: the same run, and the same evaluation, as with 'label'
  const renamed = path.join(tmp, 'labelled-renamed.jsonl'), asLabel = path.join(tmp, 'labelled-8.jsonl');
  fs.writeFileSync(renamed, rows(8, 0).map((r) => JSON.stringify({ text: r.text, sentiment: r.label })).join('\n') + '\n');
  fs.writeFileSync(asLabel, rows(8, 0).map((r) => JSON.stringify(r)).join('\n') + '\n');
  const oneStep = (data: string, dir: string, ...extra: string[]) => cli('train', '--model', modelDir, '--task', 'text-classification', '--data', data, '--out', path.join(tmp, dir), '--block-size', '32', '--batch-size', '4', '--max-steps', '1', ...extra);
  expect(oneStep(renamed, 'cls-renamed', '--label-column', 'sentiment').code).toBe(0);
  expect(oneStep(asLabel, 'cls-label').code).toBe(0);
  const adapterBytes = (dir: string) => fs.readFileSync(path.join(tmp, dir, 'adapter_model.safetensors'));
  expect(adapterBytes('cls-renamed').equals(adapterBytes('cls-label'))).toBe(true);
  const evalOn = (data: string, ...extra: string[]) => cli('eval', '--model', modelDir, '--adapter', path.join(tmp, 'cls-label'), '--data', data, '--block-size', '32', '--json', ...extra).out;
  expect(JSON.parse(evalOn(renamed, '--label-column', 'sentiment'))).toEqual(JSON.parse(evalOn(asLabel)));
  // (refused where nothing reads it: a language model's run, or eval of one)
  expect(cli('train', '--model', modelDir, '--data', renamed, '--out', path.join(tmp, 'x'), '--label-column', 'sentiment').err).toMatch(/^tstorch train: --label-column names the labels' field: it is for --task text-classification or token-classification \(this run is causal-lm\)\n$/);
  expect(cli('eval', '--model', modelDir, '--data', renamed, '--label-column', 'sentiment').err).toMatch(/^tstorch eval: --label-column names the labels' field: it is for a classifier or a token classifier/);
  const config = JSON.parse(fs.readFileSync(path.join(out, 'adapter_config.json'), 'utf8'));
  expect([config.task_type, config.modules_to_save, config.tstorch_id2label, config.tstorch_pad_token_id]).toEqual(['SEQ_CLS', ['classifier', 'score'], { 0: 'neg', 1: 'pos' }, 50256]);
  const evals = fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.eval_loss !== undefined);
  expect(evals.length).toBe(2);
  const byNames = JSON.parse(cli('eval', '--model', modelDir, '--adapter', out, '--data', path.join(tmp, 'labelled.jsonl'), '--block-size', '32', '--json').out);
  fs.writeFileSync(path.join(tmp, 'labelled-ids.jsonl'), rows(24, 0).map((r) => JSON.stringify({ text: r.text, label: r.label === 'pos' ? 1 : 0 })).join('\n') + '\n');
  expect(JSON.parse(cli('eval', '--model', modelDir, '--adapter', out, '--data', path.join(tmp, 'labelled-ids.jsonl'), '--block-size', '32', '--label-names', 'neg,pos', '--json').out)).toEqual(byNames);
  expect(evals[1].eval_perplexity).toBeUndefined();
  expect(fs.readFileSync(path.join(out, 'README.md'), 'utf8')).toMatch(/\| Validation Loss \| Accuracy \|/);
  // eval: the run's last evaluation again
  const e = JSON.parse(cli('eval', '--model', modelDir, '--adapter', out, '--data', evalFile2, '--block-size', '32', '--json').out);
  expect(Math.abs(e.loss - evals[1].eval_loss)).toBeLessThan(1e-5);
  expect(e.accuracy).toBeCloseTo(evals[1].eval_accuracy, 10);
  // classify: the pipeline's softmax scores, as the API's classifier gives them
  const c = cli('classify', '--model', modelDir, '--adapter', out, '--texts', evalFile2, '--top-k', '0', '--json');
  expect(c.err).toBe('');
  expect(cli('classify', '--model', out, '--texts', evalFile2, '--top-k', '0', '--json').out).toBe(c.out); // (the adapter folder alone: its base with it)
  const scores = c.out.trim().split('\n').map((l) => JSON.parse(l) as { label: string; score: number }[]);
  const warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
  const api = await torch.GPT2ForSequenceClassification.fromPretrained(modelDir, { numLabels: 2, id2label: { 0: 'neg', 1: 'pos' }, padTokenId: 50256 });
  warn.mockRestore();
  await torch.lora.loadAdapter(api, out);
  rows(8, 1).forEach((r, i) => {
    const p = torch.tidy(() => api.forward(torch.tensor([torch.tokenizer.encode(r.text)], { dtype: 'int64' })).logits.softmax(-1).tolist() as number[][])[0];
    const got = Object.fromEntries(scores[i].map((s) => [s.label, s.score]));
    expect(Math.abs(got.neg - p[0]) + Math.abs(got.pos - p[1])).toBeLessThan(1e-5);
    expect(scores[i][0].score).toBeGreaterThanOrEqual(scores[i][1].score);
  });
  api.dispose();
  // merge: a GPT2ForSequenceClassification folder that evaluates the same
  const merged = path.join(tmp, 'cls-merged');
  expect(cli('merge', '--model', modelDir, '--adapter', out, '--out', merged).code).toBe(0);
  expect(JSON.parse(fs.readFileSync(path.join(merged, 'config.json'), 'utf8')).architectures).toEqual(['GPT2ForSequenceClassification']);
  const m = JSON.parse(cli('eval', '--model', merged, '--data', evalFile2, '--block-size', '32', '--json').out);
  expect(Math.abs(m.loss - e.loss)).toBeLessThan(1e-5);
  // bad input: one line each
  const unknown = path.join(tmp, 'unknown-label.jsonl');
  fs.writeFileSync(unknown, '{"text": "so-so", "label": "meh"}\n');
  expect(cli('eval', '--model', merged, '--data', unknown, '--block-size', '32').err).toBe(`tstorch eval: ${unknown}: label 'meh' not among the model's (neg, pos)\n`);
  expect(cli('classify', '--model', modelDir, '--text', 'x').err).toMatch(/is a language model, not a text classifier/);
  expect(cli('generate', '--model', out, '--prompt', 'the', '--max-new-tokens', '1').err).toBe(`tstorch generate: ${out} is a SEQ_CLS adapter, a text classifier's, not a language model's: tstorch classify labels texts with it, and tstorch eval scores it on labelled data\n`);
  const pairsFile = path.join(tmp, 'cls-pairs.jsonl');
  fs.writeFileSync(pairsFile, '{"chosen": "good", "rejected": "bad"}\n');
  expect(cli('eval', '--model', merged, '--data', pairsFile, '--block-size', '32').err).toMatch(/for a reward model \(one output\); this classifier has 2/);
  expect(cli('train', '--model', modelDir, '--task', 'regression', '--data', trainFile, '--out', path.join(tmp, 'x')).err).toMatch(/--task must be causal-lm, text-classification, reward-modeling or token-classification/);
});

test('train --task reward-modeling: TRL\'s RewardTrainer on chosen / rejected pairs; eval prints the run\'s eval loss and accuracy, classify the reward; a merged reward model picks the task itself', () => {
  const good = ['a clear answer', 'the right sum', 'a kind reply'], bad = ['no answer', 'a wrong sum', 'a rude reply'];
  const pairs = (n: number, off: number) => Array.from({ length: n }, (_, i) => ({ prompt: 'Q: help? A:', chosen: ` ${good[(i + off) % 3]} ${i}`, rejected: ` ${bad[(i + off + 1) % 3]}`, ...(i % 2 ? { margin: 0.5 } : {}) }));
  const trainFile = path.join(tmp, 'rm.jsonl'), evalFile2 = path.join(tmp, 'rm-eval.jsonl'), out = path.join(tmp, 'rm');
  fs.writeFileSync(trainFile, pairs(12, 0).map((r) => JSON.stringify(r)).join('\n') + '\n');
  fs.writeFileSync(evalFile2, pairs(5, 1).map((r) => JSON.stringify(r)).join('\n') + '\n');
  const t = cli('train', '--model', modelDir, '--task', 'reward-modeling', '--data', trainFile, '--eval-data', evalFile2, '--out', out,
    '--block-size', '32', '--batch-size', '4', '--max-steps', '3', '--lr', '1e-3', '--logging-steps', '3', '--center-rewards-coefficient', '0.5');
  expect(t.err).toBe('');
  expect(t.out).toMatch(/12 preference pairs \(reward modeling: -logsigmoid\(r\(chosen\) - r\(rejected\) - margin\)\)/);
  const config = JSON.parse(fs.readFileSync(path.join(out, 'adapter_config.json'), 'utf8'));
  expect([config.task_type, config.tstorch_id2label, config.tstorch_problem_type]).toEqual(['SEQ_CLS', { 0: 'LABEL_0' }, 'regression']);
  const last = fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.eval_loss !== undefined).pop();
  const e = JSON.parse(cli('eval', '--model', modelDir, '--adapter', out, '--data', evalFile2, '--block-size', '32', '--center-rewards-coefficient', '0.5', '--json').out);
  expect([e.pairs, Math.abs(e.loss - last.eval_loss) < 1e-5, e.accuracy]).toEqual([5, true, last.eval_accuracy]);
  // without the run's centering term the loss is the bare reward loss: lower by 0.5 x mean((r_c + r_r)^2)
  const bare = JSON.parse(cli('eval', '--model', modelDir, '--adapter', out, '--data', evalFile2, '--block-size', '32', '--json').out);
  expect([bare.loss < e.loss - 1e-7, bare.accuracy]).toEqual([true, e.accuracy]);
  expect(cli('eval', '--model', modelDir, '--data', evalFile2, '--block-size', '32', '--center-rewards-coefficient', '0.5').err).toMatch(/--center-rewards-coefficient is for a reward model on chosen \/ rejected pairs/);
  // the reward of a text, as is (regression: no softmax)
  const c = JSON.parse(cli('classify', '--model', modelDir, '--adapter', out, '--text', 'Q: help? A: a clear answer', '--json').out);
  expect(c.length).toBe(1);
  expect(c[0].label).toBe('LABEL_0');
  const merged = path.join(tmp, 'rm-merged');
  expect(cli('merge', '--model', modelDir, '--adapter', out, '--out', merged).code).toBe(0);
  const again = JSON.parse(cli('classify', '--model', merged, '--text', 'Q: help? A: a clear answer', '--json').out);
  expect(Math.abs(again[0].score - c[0].score)).toBeLessThan(1e-5);
  const more = cli('train', '--model', merged, '--data', trainFile, '--out', path.join(tmp, 'rm2'), '--block-size', '32', '--max-steps', '1');
  expect(more.out).toMatch(/12 preference pairs \(reward modeling/);
  // pairs without prompts on a language model: not DPO data; the error says what would train on them
  const noPrompt = path.join(tmp, 'no-prompt.jsonl');
  fs.writeFileSync(noPrompt, '{"chosen": "good", "rejected": "bad"}\n');
  expect(cli('train', '--model', modelDir, '--data', noPrompt, '--out', path.join(tmp, 'x')).err).toMatch(/without a prompt: DPO needs a prompt in each; to train a reward model on them give --task reward-modeling/);
});

test('train --task token-classification on the Brown Corpus\'s tags: a TOKEN_CLS adapter; eval prints the run\'s eval loss and accuracy, classify tags words as the API does, merge writes a token classifier', async () => {
  const sentences = torch.data.brownTaggedSentences(['a'], { simplify: true });
  const trainFile = path.join(tmp, 'pos.jsonl'), evalFile2 = path.join(tmp, 'pos-eval.jsonl'), out = path.join(tmp, 'pos');
  fs.writeFileSync(trainFile, sentences.slice(0, 24).map((s) => JSON.stringify({ tokens: s.tokens, tags: s.tags })).join('\n') + '\n');
  // (pos_tags: run_ner's other name; a tag the training lines lack is still known to the head)
  fs.writeFileSync(evalFile2, sentences.slice(24, 30).map((s) => JSON.stringify({ tokens: s.tokens, pos_tags: s.tags })).join('\n') + '\n');
  const t = cli('train', '--model', modelDir, '--task', 'token-classification', '--data', trainFile, '--eval-data', evalFile2, '--out', out,
    '--block-size', '64', '--batch-size', '4', '--max-steps', '3', '--lr', '1e-3', '--logging-steps', '3');
  expect(t.code).toBe(0);
  const tags = torch.data.TokenClassificationDataset.tagNames([...sentences.slice(0, 30)]);
  // (without --task, a language model's folder reads text: the error says what the tagged words need)
  expect(cli('train', '--model', modelDir, '--data', trainFile, '--out', path.join(tmp, 'pos-lm'), '--block-size', '64').err).toMatch(/pos\.jsonl:1: no string field 'text' \(fields: tokens, tags\); choose one with --text-column; words with tags train a token classifier: --task token-classification\n$/);
  expect(t.out).toContain(`24 tagged texts (token classification, ${tags.length} tags`);
  const config = JSON.parse(fs.readFileSync(path.join(out, 'adapter_config.json'), 'utf8'));
  expect([config.task_type, Object.values(config.tstorch_id2label)]).toEqual(['TOKEN_CLS', tags]);
  const last = fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.eval_loss !== undefined).pop();
  const e = JSON.parse(cli('eval', '--model', modelDir, '--adapter', out, '--data', evalFile2, '--block-size', '64', '--json').out);
  expect([Math.abs(e.loss - last.eval_loss) < 1e-5, e.accuracy, e.words]).toEqual([true, last.eval_accuracy, sentences.slice(24, 30).reduce((n, s) => n + s.tokens.length, 0)]);
  // classify: each word's tag by its first token, as the API's model gives it
  const text = 'The jury said it was a good election .';
  const c = JSON.parse(cli('classify', '--model', modelDir, '--adapter', out, '--text', text, '--json').out) as { word: string; entity: string; score: number }[];
  const warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
  const api = await torch.GPT2ForTokenClassification.fromPretrained(modelDir, { id2label: config.tstorch_id2label });
  warn.mockRestore();
  await torch.lora.loadAdapter(api, out);
  const words = text.split(' '), pieces = words.map((w) => torch.tokenizer.encode(' ' + w));
  const firsts = pieces.map((_, k) => pieces.slice(0, k).reduce((n, p) => n + p.length, 0));
  const p = torch.tidy(() => api.forward(torch.tensor([pieces.flat()], { dtype: 'int64' })).logits.softmax(-1).squeeze(0).tolist() as number[][]);
  expect(c.map((x) => x.word)).toEqual(words);
  c.forEach((x, k) => {
    const best = p[firsts[k]].indexOf(Math.max(...p[firsts[k]]));
    expect([x.entity, Math.abs(x.score - p[firsts[k]][best]) < 1e-5]).toEqual([tags[best], true]);
  });
  api.dispose();
  const merged = path.join(tmp, 'pos-merged');
  expect(cli('merge', '--model', modelDir, '--adapter', out, '--out', merged).code).toBe(0);
  expect(JSON.parse(fs.readFileSync(path.join(merged, 'config.json'), 'utf8')).architectures).toEqual(['GPT2ForTokenClassification']);
  const plain = cli('classify', '--model', merged, '--text', text).out.trim();
  expect(plain).toBe(c.map((x) => `${x.word}/${x.entity}`).join(' '));
  const bad = path.join(tmp, 'pos-bad.jsonl');
  fs.writeFileSync(bad, '{"tokens": ["a", "b"], "tags": ["AT"]}\n');
  expect(cli('eval', '--model', merged, '--data', bad, '--block-size', '64').err).toBe(`tstorch eval: ${bad}:1: 2 words but 1 tags (one tag per word)\n`);
});

test('train --task token-classification with entity tags (IOB2): run_ner\'s entity precision, recall and F1 in the log, the best model by F1, and eval\'s per-type report', () => {
  // entities from the Brown Corpus's tags: a run of proper nouns (NP) is a name, a run of numbers (CD) a number
  const iob = (tags: string[]) => tags.map((t, k) => {
    const type = t === 'NP' ? 'NAME' : t === 'CD' ? 'NUM' : null;
    return type === null ? 'O' : `${k > 0 && tags[k - 1] === t ? 'I' : 'B'}-${type}`;
  });
  const sentences = torch.data.brownTaggedSentences(['a'], { simplify: true }).map((s) => ({ tokens: s.tokens, tags: iob(s.tags) }));
  const trainFile = path.join(tmp, 'ner.jsonl'), evalFile2 = path.join(tmp, 'ner-eval.jsonl'), out = path.join(tmp, 'ner');
  fs.writeFileSync(trainFile, sentences.slice(0, 24).map((s) => JSON.stringify({ tokens: s.tokens, ner_tags: s.tags })).join('\n') + '\n');
  fs.writeFileSync(evalFile2, sentences.slice(24, 32).map((s) => JSON.stringify(s)).join('\n') + '\n');
  const t = cli('train', '--model', modelDir, '--task', 'token-classification', '--data', trainFile, '--eval-data', evalFile2, '--out', out,
    '--block-size', '64', '--batch-size', '4', '--max-steps', '4', '--lr', '1e-3', '--logging-steps', '2', '--save-steps', '2',
    '--metric-for-best-model', 'f1', '--load-best-model-at-end');
  expect(t.err).toBe('');
  const evals = fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.eval_loss !== undefined);
  expect(evals.length).toBe(2);
  for (const e of evals) {
    expect(e.eval_f1).toBeCloseTo(e.eval_precision + e.eval_recall ? (2 * e.eval_precision * e.eval_recall) / (e.eval_precision + e.eval_recall) : 0, 12);
  }
  // the adapter saved is the evaluation with the best F1 (the first on a tie)
  const best = evals.reduce((b, e) => (e.eval_f1 > b.eval_f1 ? e : b));
  const e = JSON.parse(cli('eval', '--model', modelDir, '--adapter', out, '--data', evalFile2, '--block-size', '64', '--json').out);
  expect([e.overall_f1, e.overall_precision, e.overall_recall, e.accuracy].map((v: number) => v.toFixed(6))).toEqual([best.eval_f1, best.eval_precision, best.eval_recall, best.eval_accuracy].map((v: number) => v.toFixed(6)));
  // the gold entities, counted by hand: each B- starts one
  const gold = sentences.slice(24, 32).flatMap((s) => s.tags).filter((tag) => tag.startsWith('B-'));
  expect(e.entities).toBe(gold.length);
  expect(Object.keys(e.types).every((k) => ['NAME', 'NUM'].includes(k))).toBe(true);
  const types = e.types as Record<string, { number: number }>;
  expect(Object.values(types).reduce((n, v) => n + v.number, 0)).toBe(gold.length);
  expect(cli('eval', '--model', modelDir, '--adapter', out, '--data', evalFile2, '--block-size', '64').out).toMatch(/^loss \d+\.\d{4}  precision \d\.\d{4}  recall \d\.\d{4}  f1 \d\.\d{4}  accuracy \d\.\d{4}  \(8 examples, \d+ words, \d+ entities\)\n  NAME /);
  // integer tags (a dataset's ClassLabel ids) with their names: the head's labels in the names' order, the same scores
  const NAMES = ['O', 'B-NAME', 'I-NAME', 'B-NUM', 'I-NUM'];
  const intFile = path.join(tmp, 'ner-int.jsonl'), intEval = path.join(tmp, 'ner-int-eval.jsonl'), intOut = path.join(tmp, 'ner-int');
  const asIds = (ss: { tokens: string[]; tags: string[] }[]) => ss.map((x) => JSON.stringify({ tokens: x.tokens, ner_tags: x.tags.map((tag) => NAMES.indexOf(tag)) })).join('\n') + '\n';
  fs.writeFileSync(intFile, asIds(sentences.slice(0, 24)));
  fs.writeFileSync(intEval, asIds(sentences.slice(24, 32)));
  const ti = cli('train', '--model', modelDir, '--task', 'token-classification', '--data', intFile, '--out', intOut, '--label-names', NAMES.join(','),
    '--block-size', '64', '--batch-size', '4', '--max-steps', '1', '--lr', '1e-3');
  expect(ti.err).toBe('');
  expect(Object.values(JSON.parse(fs.readFileSync(path.join(intOut, 'adapter_config.json'), 'utf8')).tstorch_id2label)).toEqual(NAMES);
  const byIds = JSON.parse(cli('eval', '--model', modelDir, '--adapter', intOut, '--data', intEval, '--block-size', '64', '--label-names', NAMES.join(','), '--json').out);
  const byNames = JSON.parse(cli('eval', '--model', modelDir, '--adapter', intOut, '--data', evalFile2, '--block-size', '64', '--json').out);
  expect(byIds).toEqual(byNames);
  expect(cli('eval', '--model', modelDir, '--adapter', intOut, '--data', intEval, '--block-size', '64').err).toMatch(/not among the model's \(O, B-NAME, I-NAME, B-NUM, I-NUM\); integer tags are ids: give their names \(tagNames, --label-names/);
  expect(cli('eval', '--model', modelDir, '--adapter', intOut, '--data', intEval, '--block-size', '64', '--label-names', 'O,B-NAME').err).toMatch(/has tag [2-4], not an id into the 2 tag names/);
  expect(cli('train', '--model', modelDir, '--data', trainFile, '--out', path.join(tmp, 'x'), '--label-names', 'a,b').err).toMatch(/--label-names names integer labels: it is for --task text-classification or token-classification/);
  // F1 is an entity score: part-of-speech tags have none
  const pos = path.join(tmp, 'ner-pos.jsonl');
  fs.writeFileSync(pos, '{"tokens": ["The", "jury"], "tags": ["AT", "NN"]}\n{"tokens": ["It", "said"], "tags": ["PPS", "VBD"]}\n');
  expect(cli('train', '--model', modelDir, '--task', 'token-classification', '--data', pos, '--out', path.join(tmp, 'x'), '--block-size', '64', '--metric-for-best-model', 'f1').err)
    .toMatch(/metricForBestModel f1 is an entity score, for a token classifier whose tags name entities/);
});

test('train --method orpo on preference pairs: TRL\'s ORPO (no reference) with its metrics; eval --method orpo prints the run\'s eval loss', () => {
  const prefs = path.join(tmp, 'orpo.jsonl'), evalPrefs = path.join(tmp, 'orpo-eval.jsonl'), out = path.join(tmp, 'orpo');
  const rows = (n: number, off: number) => Array.from({ length: n }, (_, i) => JSON.stringify({ prompt: `Q${i + off}: is it so?`, chosen: ' yes'.repeat(1 + (i % 3)), rejected: ' no'.repeat(1 + ((i * 5) % 4)) }));
  fs.writeFileSync(prefs, rows(8, 0).join('\n') + '\n');
  fs.writeFileSync(evalPrefs, rows(4, 8).join('\n') + '\n');
  const t = cli('train', '--model', modelDir, '--data', prefs, '--eval-data', evalPrefs, '--method', 'orpo', '--out', out, '--block-size', '32', '--batch-size', '4',
    '--max-steps', '2', '--lr', '1e-3', '--logging-steps', '2', '--beta', '0.2');
  expect(t.err).toBe('');
  expect(t.out).toMatch(/8 preference pairs \(ORPO, beta 0.2; no reference model\)/);
  const log = fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const train = log.find((e) => e.loss !== undefined), last = log.filter((e) => e.eval_loss !== undefined).pop();
  // the loss is the NLL minus beta x the mean log-sigmoid of the log odds
  expect(Math.abs(train.loss - (train.nll_loss - 0.2 * train.log_odds_ratio))).toBeLessThan(1e-5);
  expect(fs.readFileSync(path.join(out, 'README.md'), 'utf8')).toMatch(/- training_method: ORPO/);
  const e = JSON.parse(cli('eval', '--model', modelDir, '--adapter', out, '--data', evalPrefs, '--method', 'orpo', '--beta', '0.2', '--block-size', '32', '--json').out);
  expect([e.pairs, Math.abs(e.loss - last.eval_loss) < 1e-5, Math.abs(e.nll_loss - last.eval_nll_loss) < 1e-5]).toEqual([4, true, true]);
  expect(cli('train', '--model', modelDir, '--data', prefs, '--method', 'ppo', '--out', path.join(tmp, 'x')).err).toMatch(/--method must be dpo, orpo, cpo, simpo or kto \(for preference data\), got 'ppo'/);
});

test('train on unpaired examples (prompt, completion, label): TRL\'s KTO with its metrics; eval reproduces the run\'s eval loss; pairs train with --method kto', () => {
  const kto = path.join(tmp, 'kto.jsonl'), ktoEval = path.join(tmp, 'kto-eval.jsonl'), out = path.join(tmp, 'kto');
  const rows = (n: number, off: number) => Array.from({ length: n }, (_, i) => JSON.stringify({ prompt: `Q${i + off}: is it so?`, completion: (i + off) % 2 ? ' yes'.repeat(1 + (i % 3)) : ' no'.repeat(1 + (i % 4)), label: (i + off) % 2 === 1 }));
  fs.writeFileSync(kto, rows(12, 0).join('\n') + '\n');
  fs.writeFileSync(ktoEval, rows(6, 12).join('\n') + '\n');
  const t = cli('train', '--model', modelDir, '--data', kto, '--eval-data', ktoEval, '--out', out, '--block-size', '32', '--batch-size', '4', '--eval-batch-size', '4',
    '--max-steps', '3', '--lr', '1e-2', '--logging-steps', '3', '--beta', '0.2', '--desirable-weight', '1.2');
  expect(t.err).toBe('');
  expect(t.out).toMatch(/12 unpaired examples \(KTO, beta 0.2: 6 desirable, 6 undesirable; the reference: the model with its adapters disabled\)/);
  const log = fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const train = log.find((e) => e.loss !== undefined), last = log.filter((e) => e.eval_loss !== undefined).pop();
  expect(['rewards/chosen', 'rewards/rejected', 'rewards/margins', 'logps/chosen', 'logps/rejected', 'kl'].every((k) => Number.isFinite(train[k]))).toBe(true);
  expect(Math.abs(train['rewards/margins'] - (train['rewards/chosen'] - train['rewards/rejected']))).toBeLessThan(1e-6);
  expect(fs.readFileSync(path.join(out, 'README.md'), 'utf8')).toMatch(/- training_method: KTO\n- beta: 0.2\n- desirable_weight: 1.2/);
  // eval with the run's batch size (its KL rows' chunks): the run's last eval_loss and metrics
  const e = JSON.parse(cli('eval', '--model', modelDir, '--adapter', out, '--data', ktoEval, '--block-size', '32', '--batch-size', '4', '--beta', '0.2', '--desirable-weight', '1.2', '--json').out);
  expect([e.examples, e.desirable, Math.abs(e.loss - last.eval_loss) < 1e-5, Math.abs(e.kl - last.eval_kl) < 1e-5, Math.abs(e['rewards/margins'] - last['eval_rewards/margins']) < 1e-5]).toEqual([6, 3, true, true, true]);
  expect(cli('eval', '--model', modelDir, '--data', ktoEval, '--block-size', '32').err).toMatch(/KTO's rewards need a reference: give --adapter/);
  // --loss-type apo_zero_unpaired (TRL's KTOConfig loss_type): no KL rows, kl logged as 0, batches of one allowed; eval the same
  const apo = path.join(tmp, 'kto-apo');
  const ta = cli('train', '--model', modelDir, '--data', kto, '--eval-data', ktoEval, '--out', apo, '--block-size', '32', '--batch-size', '1', '--eval-batch-size', '4',
    '--max-steps', '3', '--lr', '1e-2', '--logging-steps', '1', '--beta', '0.2', '--loss-type', 'apo_zero_unpaired');
  expect(ta.err).toBe('');
  expect(ta.out).toMatch(/12 unpaired examples \(KTO, the apo_zero_unpaired loss, beta 0.2:/);
  const apoLog = fs.readFileSync(path.join(apo, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  expect(apoLog.filter((l) => l.loss !== undefined).map((l) => l.kl)).toEqual([0, 0, 0]);
  expect(fs.readFileSync(path.join(apo, 'README.md'), 'utf8')).toMatch(/- training_method: KTO\n- loss_type: apo_zero_unpaired\n- beta: 0.2\n/);
  const apoLast = apoLog.filter((l) => l.eval_loss !== undefined).pop();
  const ea = JSON.parse(cli('eval', '--model', modelDir, '--adapter', apo, '--data', ktoEval, '--block-size', '32', '--batch-size', '4', '--beta', '0.2', '--loss-type', 'apo_zero_unpaired', '--json').out);
  expect([Math.abs(ea.loss - apoLast.eval_loss) < 1e-5, ea.kl]).toEqual([true, 0]);
  // preference pairs, unpaired: each pair a desirable and an undesirable example
  const prefs = path.join(tmp, 'kto-pairs.jsonl');
  fs.writeFileSync(prefs, Array.from({ length: 5 }, (_, i) => JSON.stringify({ prompt: `Q${i}:`, chosen: ' yes', rejected: ' no' })).join('\n') + '\n');
  const p = cli('train', '--model', modelDir, '--data', prefs, '--method', 'kto', '--out', path.join(tmp, 'kto-pairs'), '--block-size', '32', '--batch-size', '2', '--max-steps', '1');
  expect(p.err).toBe('');
  expect(p.out).toMatch(/10 unpaired examples \(KTO, beta 0.1: 5 desirable, 5 undesirable/);
  const pa = cli('train', '--model', modelDir, '--data', prefs, '--method', 'kto', '--loss-type', 'apo_zero_unpaired', '--out', path.join(tmp, 'kto-pairs-apo'), '--block-size', '32', '--batch-size', '2', '--max-steps', '1');
  expect([pa.err, /10 unpaired examples \(KTO, the apo_zero_unpaired loss/.test(pa.out)]).toEqual(['', true]);
  expect(cli('train', '--model', modelDir, '--data', kto, '--method', 'orpo', '--out', path.join(tmp, 'x'), '--block-size', '32').err).toMatch(/holds unpaired examples \(prompt, completion, label\): they train with KTO/);
  expect(cli('train', '--model', modelDir, '--data', kto, '--out', path.join(tmp, 'x'), '--block-size', '32', '--batch-size', '1').err).toMatch(/perDeviceTrainBatchSize must be > 1/);
  // DPO's settings are refused, not ignored, and KTO's weights need KTO
  expect(cli('train', '--model', modelDir, '--data', kto, '--out', path.join(tmp, 'x'), '--block-size', '32', '--loss-type', 'ipo').err).toMatch(/--loss-type for KTO is kto or apo_zero_unpaired \(TRL's KTOConfig loss_type\); got 'ipo'/);
  expect(cli('train', '--model', modelDir, '--data', prefs, '--out', path.join(tmp, 'x'), '--block-size', '32', '--desirable-weight', '2').err).toMatch(/--desirable-weight and --undesirable-weight are KTO's/);
  // a line whose label is not a boolean: its line, and what KTO data needs
  const badKto = path.join(tmp, 'kto-bad.jsonl');
  fs.writeFileSync(badKto, `${rows(1, 0)[0]}\n{"prompt": "Q", "completion": " A", "label": "yes"}\n`);
  expect(cli('train', '--model', modelDir, '--data', badKto, '--out', path.join(tmp, 'x'), '--block-size', '32').err)
    .toBe(`tstorch train: ${badKto}:2: 'label' must be true or false, got "yes"; the first line makes this KTO data: every line needs string prompt and completion fields and a boolean label (true: desirable)\n`);
});

test('a Hugging Face dataset\'s .parquet files train and evaluate as their .jsonl rows do; ClassLabel ids are named by the file\'s features', () => {
  const FIX = path.join(__dirname, 'fixtures', 'parquet');
  const evalJson = (...args: string[]) => {
    const r = cli('eval', '--model', modelDir, ...args, '--json');
    expect(r.err).toBe('');
    return JSON.parse(r.out);
  };
  // run_clm's text column, and TRL's prompt-completion pairs
  expect(evalJson('--data', path.join(FIX, 'text.parquet'), '--block-size', '16')).toEqual(evalJson('--data', path.join(FIX, 'text.jsonl'), '--block-size', '16'));
  expect(evalJson('--data', path.join(FIX, 'prompt_completion.parquet'), '--block-size', '32')).toEqual(evalJson('--data', path.join(FIX, 'prompt_completion.jsonl'), '--block-size', '32'));
  // conll2003-style ner_tags: ClassLabel ids, the head's labels in the ClassLabel's order without --label-names
  const TAGS = ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC'];
  const out = path.join(tmp, 'ner-parquet');
  const t = cli('train', '--model', modelDir, '--task', 'token-classification', '--data', path.join(FIX, 'ner.parquet'), '--out', out,
    '--block-size', '64', '--batch-size', '4', '--max-steps', '2', '--lr', '1e-3');
  expect(t.err).toBe('');
  expect(t.out).toMatch(/23 tagged texts \(token classification, 5 tags: O, B-PER, I-PER, B-LOC, I-LOC;/);
  expect(Object.values(JSON.parse(fs.readFileSync(path.join(out, 'adapter_config.json'), 'utf8')).tstorch_id2label)).toEqual(TAGS);
  const fromParquet = evalJson('--adapter', out, '--data', path.join(FIX, 'ner.parquet'), '--block-size', '64');
  expect(fromParquet).toEqual(evalJson('--adapter', out, '--data', path.join(FIX, 'ner.jsonl'), '--block-size', '64', '--label-names', TAGS.join(',')));
  expect(fromParquet.overall_f1).toBeGreaterThanOrEqual(0);
  expect(cli('eval', '--model', modelDir, '--adapter', out, '--data', path.join(FIX, 'ner.parquet'), '--block-size', '64', '--label-names', 'O,B-X,I-X,B-Y,I-Y').err)
    .toMatch(/--label-names O,B-X,I-X,B-Y,I-Y is not how .*ner\.parquet names its ClassLabel ids \(O,B-PER,I-PER,B-LOC,I-LOC\): leave the flag out/);
  // sst2-style sentence / label (run_classification's default text column: sentence)
  const clsOut = path.join(tmp, 'cls-parquet');
  const c = cli('train', '--model', modelDir, '--task', 'text-classification', '--data', path.join(FIX, 'classification.parquet'),
    '--out', clsOut, '--block-size', '32', '--batch-size', '4', '--max-steps', '1');
  expect(c.err).toBe('');
  expect(c.out).toMatch(/23 labelled texts \(single label classification, 2 classes: negative, positive\)/);
  // mrpc-style sentence pairs: --text-column-names sentence1,sentence2 joined by --text-column-delimiter, as the same texts joined beforehand
  const rows = fs.readFileSync(path.join(FIX, 'classification.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const pairs = path.join(tmp, 'mrpc.jsonl'), joined = path.join(tmp, 'mrpc-joined.jsonl');
  const pairRows = rows.slice(0, 8).map((r, i) => ({ sentence1: r.sentence, sentence2: rows[22 - i].sentence, label: ['negative', 'positive'][r.label] }));
  fs.writeFileSync(pairs, pairRows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  fs.writeFileSync(joined, pairRows.map((r) => JSON.stringify({ text: `${r.sentence1} || ${r.sentence2}`, label: r.label })).join('\n') + '\n');
  const pairFlags = ['--text-column-names', 'sentence1,sentence2', '--text-column-delimiter', ' || '];
  expect(evalJson('--adapter', clsOut, '--data', pairs, '--block-size', '32', ...pairFlags)).toEqual(evalJson('--adapter', clsOut, '--data', joined, '--block-size', '32'));
  const classify = (...args: string[]) => cli('classify', '--model', modelDir, '--adapter', clsOut, '--top-k', '0', '--json', ...args);
  expect(classify('--texts', pairs, ...pairFlags).out).toBe(classify('--texts', joined).out);
  expect(cli('train', '--model', modelDir, '--data', path.join(FIX, 'text.parquet'), '--out', path.join(tmp, 'x'), '--text-column-delimiter', ' ').err)
    .toMatch(/--text-column-delimiter joins several text columns for --task text-classification/);
  // a corrupt file: the error, no output folder
  const cut = path.join(tmp, 'cut.parquet');
  const bytes = fs.readFileSync(path.join(FIX, 'text.parquet'));
  fs.writeFileSync(cut, bytes.subarray(0, bytes.length >> 1));
  const r = cli('train', '--model', modelDir, '--data', cut, '--out', path.join(tmp, 'cut-out'));
  expect(r.code).toBe(1);
  expect(r.err).toMatch(/cut\.parquet: not a readable Parquet file/);
  expect(fs.existsSync(path.join(tmp, 'cut-out'))).toBe(false);
});

test('--max-train-samples / --max-eval-samples: the first N examples (of a packed text, blocks), as HF\'s max_train_samples', async () => {
  const out = path.join(tmp, 'max-samples');
  const t = cli('train', '--model', modelDir, '--data', textFile, '--eval-data', evalFile, '--out', out, '--block-size', '16', '--batch-size', '2',
    '--epochs', '1', '--max-train-samples', '5', '--max-eval-samples', '3', '--eval-strategy', 'epoch');
  expect(t.err).toBe('');
  expect(t.out).toMatch(/training: 5 blocks of 16 tokens; 2 per batch = 2 blocks per step; 3 steps per epoch, 3 steps/);
  // the logged eval loss is the first 3 eval blocks' (the same blocks evaluated from code)
  const evals = fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.eval_loss !== undefined);
  const model = await torch.GPT2LMHeadModel.fromPretrained(modelDir);
  await torch.lora.loadAdapter(model, out);
  const blocks = torch.data.TextDataset.fromText(torch.data.readTrainingText(evalFile), 16);
  expect(blocks.length).toBeGreaterThan(3);
  const r = torch.train.evaluate(model, blocks.subset(0, 3), { batchSize: 8 });
  expect(Math.abs(r.loss - evals[evals.length - 1].eval_loss)).toBeLessThan(1e-5);
  model.dispose();
  // preference pairs: the first N pairs
  const prefs = path.join(tmp, 'max-prefs.jsonl');
  fs.writeFileSync(prefs, Array.from({ length: 9 }, (_, i) => JSON.stringify({ prompt: `Q${i}?`, chosen: ` yes ${i}`, rejected: ` no ${i}` })).join('\n') + '\n');
  expect(cli('train', '--model', modelDir, '--data', prefs, '--out', path.join(tmp, 'max-dpo'), '--block-size', '32', '--batch-size', '2', '--max-steps', '1', '--max-train-samples', '4').out)
    .toMatch(/training: 4 preference pairs \(DPO/);
  expect(cli('train', '--model', modelDir, '--data', textFile, '--out', path.join(tmp, 'x'), '--block-size', '16', '--max-eval-samples', '3').err).toMatch(/--max-eval-samples cuts the evaluation data: give --eval-data/);
  expect(cli('train', '--model', modelDir, '--data', textFile, '--out', path.join(tmp, 'x'), '--block-size', '16', '--max-train-samples', '0').err).toMatch(/--max-train-samples must be an integer >= 1, got 0/);
});

test('a CSV of prompt and completion columns trains and evaluates as TRL\'s prompt-completion data, as the same rows in a .jsonl', () => {
  const rows = Array.from({ length: 6 }, (_, i) => ({ prompt: `Question ${i}, "quoted"?`, completion: ` Answer ${i}\nsecond line` }));
  const jsonl = path.join(tmp, 'pc.jsonl'), csv = path.join(tmp, 'pc.csv');
  fs.writeFileSync(jsonl, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const py = spawnSync('/usr/bin/python3', ['-c', 'import csv, json, sys\nrows = [json.loads(l) for l in open(sys.argv[1])]\nw = csv.DictWriter(open(sys.argv[2], "w", newline=""), ["prompt", "completion"])\nw.writeheader(); w.writerows(rows)', jsonl, csv], { encoding: 'utf8' });
  expect(py.stderr).toBe('');
  const ev = (file: string) => JSON.parse(cli('eval', '--model', modelDir, '--data', file, '--block-size', '32', '--json').out);
  const a = ev(csv), b = ev(jsonl);
  expect(a).toEqual(b);
  expect(a.tokens).toBeGreaterThan(0);
  expect(cli('train', '--model', modelDir, '--data', csv, '--out', path.join(tmp, 'pc-run'), '--block-size', '32', '--batch-size', '2', '--max-steps', '1').out)
    .toMatch(/training: 6 examples of up to 32 tokens \(padded per batch; the loss on \d+ tokens\)/);
});

test('train --mmap (the base weights mapped from their file): the same run, the base folder untouched', () => {
  const [a, b] = ['mmap-off', 'mmap-on'].map((d) => path.join(tmp, d));
  const base = fs.readFileSync(path.join(modelDir, 'model.safetensors'));
  const run = (out: string, ...extra: string[]) => cli('train', '--model', modelDir, '--data', textFile, '--out', out, '--block-size', '16', '--batch-size', '2', '--lr', '1e-3',
    '--max-steps', '2', '--save-steps', '0', '--full', ...extra);
  const off = run(a), on = run(b, '--mmap');
  expect(on.err).toBe('');
  expect([off.code, on.code]).toEqual([0, 0]);
  const weights = (d: string) => fs.readFileSync(path.join(d, 'model.safetensors'));
  expect(weights(b).equals(weights(a))).toBe(true);
  expect(weights(b).equals(base)).toBe(false); // (it trained)
  expect(fs.readFileSync(path.join(modelDir, 'model.safetensors')).equals(base)).toBe(true);
});

test('generate --do-sample (HF\'s do_sample): samples at temperature 1; --no-do-sample decodes greedily whatever the temperature; --mmap changes nothing of the output', () => {
  const gen = (...extra: string[]) => {
    const r = cli('generate', '--model', modelDir, '--prompt', 'The jury', '--max-new-tokens', '6', ...extra);
    expect(r.err).toBe('');
    return r.out;
  };
  const greedy = gen();
  expect(gen('--do-sample', '--seed', '3')).toBe(gen('--temperature', '1', '--seed', '3'));
  expect(gen('--do-sample', '--seed', '3')).not.toBe(greedy);
  expect(gen('--no-do-sample', '--temperature', '0.7', '--seed', '3')).toBe(greedy);
  expect(gen('--mmap')).toBe(greedy);
  expect(cli('generate', '--model', modelDir, '--prompt', 'x', '--do-sample', '--temperature', '0').err).toMatch(/--do-sample with --temperature 0: sampling needs a temperature > 0/);
});

test('train --adapter trains a saved adapter further (PEFT\'s is_trainable=True): its settings, weights, head and labels to start; DPO measures against the model it starts as; clear refusals', () => {
  const weights = (dir: string) => new Map([...torch.io.safetensors.loadFile(path.join(dir, 'adapter_model.safetensors')).tensors].map(([k, t]) => [k, t.tolist()]));
  const evalLoss = (...flags: string[]) => JSON.parse(cli('eval', '--model', modelDir, ...flags, '--data', evalFile, '--block-size', '32', '--json').out).loss as number;
  // a first adapter, of settings unlike the flags' defaults, trained hard enough to differ from the base
  const first = path.join(tmp, 'further-first');
  expect(cli('train', '--model', modelDir, '--data', textFile, '--out', first, '--block-size', '32', '--batch-size', '4', '--max-steps', '4', '--lr', '1e-1',
    '--lr-scheduler', 'constant', '--save-steps', '0', '--lora-r', '4', '--lora-alpha', '8', '--lora-targets', 'c_attn,c_fc', '--lora-dropout', '0').err).toBe('');
  const firstLoss = evalLoss('--adapter', first);
  expect(Math.abs(firstLoss - evalLoss()) / firstLoss).toBeGreaterThan(1e-4); // (20x the tolerance below: a near-uniform tiny model moves little)
  // At lr 0 the run keeps the adapter as it came: its settings, its weights bit for bit, its eval loss
  const still = path.join(tmp, 'further-still');
  const r = cli('train', '--model', modelDir, '--adapter', first, '--data', textFile, '--eval-data', evalFile, '--out', still, '--block-size', '32', '--batch-size', '4',
    '--max-steps', '1', '--lr', '0', '--save-steps', '0', '--logging-steps', '1');
  expect(r.err).toBe('');
  const [a, b] = [first, still].map((d) => JSON.parse(fs.readFileSync(path.join(d, 'adapter_config.json'), 'utf8')));
  expect([b.r, b.lora_alpha, b.target_modules, b.lora_dropout]).toEqual([4, 8, a.target_modules, 0]);
  expect(weights(still)).toEqual(weights(first));
  const logged = fs.readFileSync(path.join(still, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).find((e) => e.eval_loss !== undefined);
  expect(Math.abs(logged.eval_loss - firstLoss) / firstLoss).toBeLessThan(1e-5);
  expect(fs.readFileSync(path.join(still, 'README.md'), 'utf8')).toContain(`trained with tstorch from the adapter ${first}.`);
  // Trained on, it moves from there
  const further = path.join(tmp, 'further-more');
  expect(cli('train', '--model', modelDir, '--adapter', first, '--data', textFile, '--out', further, '--block-size', '32', '--batch-size', '4',
    '--max-steps', '2', '--lr', '1e-2', '--save-steps', '0').err).toBe('');
  expect(weights(further)).not.toEqual(weights(first));
  // DPO on top of it (after SFT): the reference is the model the adapter starts as, so the first step's loss is log 2, its rewards 0
  const prefs = path.join(tmp, 'further-prefs.jsonl');
  fs.writeFileSync(prefs, Array.from({ length: 4 }, (_, i) => JSON.stringify({ prompt: `Question ${i}: is the sky blue?\nAnswer:`, chosen: ' Yes.', rejected: ` No, it is green ${i}.` })).join('\n') + '\n');
  const dpo = path.join(tmp, 'further-dpo');
  const d = cli('train', '--model', modelDir, '--adapter', first, '--data', prefs, '--eval-data', prefs, '--out', dpo, '--block-size', '32', '--batch-size', '2', '--max-steps', '2',
    '--lr', '1e-2', '--save-steps', '0', '--logging-steps', '1');
  expect(d.err).toBe('');
  expect(d.out).toContain(`the reference: the model --adapter starts as (${first} loaded a second time, frozen, as the adapter 'reference')`);
  const stepsOf = (dir: string) => fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.loss !== undefined);
  const steps = stepsOf(dpo);
  expect(steps[0].loss).toBeCloseTo(Math.log(2), 6);
  expect(steps[0]['rewards/chosen']).toBeCloseTo(0, 6);
  expect(steps[1].loss).not.toBeCloseTo(Math.log(2), 4);
  expect([...weights(dpo).keys()]).toEqual([...weights(first).keys()]); // (the trained adapter alone is saved, not the reference)
  // tstorch eval --ref-adapter: the run's last evaluation again, against the adapter it started from (not the base)
  const evals = fs.readFileSync(path.join(dpo, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.eval_loss !== undefined);
  const lastEval = evals[evals.length - 1];
  expect(lastEval.step).toBe(2);
  const ev = cli('eval', '--model', modelDir, '--adapter', dpo, '--ref-adapter', first, '--data', prefs, '--block-size', '32', '--batch-size', '2', '--json');
  expect(ev.err).toBe('');
  const again = JSON.parse(ev.out);
  expect(Math.abs(again.loss - lastEval.eval_loss) / lastEval.eval_loss).toBeLessThan(1e-5);
  expect(Math.abs(again['rewards/margins'] - lastEval['eval_rewards/margins'])).toBeLessThan(1e-5);
  const vsBase = JSON.parse(cli('eval', '--model', modelDir, '--adapter', dpo, '--data', prefs, '--block-size', '32', '--batch-size', '2', '--json').out);
  expect(Math.abs(vsBase.loss - again.loss)).toBeGreaterThan(1e-3);
  expect(cli('eval', '--model', modelDir, '--adapter', dpo, '--ref-adapter', first, '--data', prefs, '--block-size', '32', '--batch-size', '2').out).toContain(`against ${modelDir} with the adapter ${first})`);
  const evalRefused = (...flags: string[]) => cli('eval', '--model', modelDir, '--adapter', dpo, '--block-size', '32', ...flags).err.trim().split('\n')[0];
  expect(evalRefused('--ref-adapter', first, '--ref-model', modelDir, '--data', prefs)).toMatch(/--ref-model and --ref-adapter: one reference/);
  expect(evalRefused('--ref-adapter', first, '--data', evalFile)).toMatch(/--ref-adapter is the reference of DPO and KTO metrics, on preference pairs or KTO examples/);
  expect(evalRefused('--ref-adapter', first, '--data', prefs, '--method', 'orpo')).toMatch(/--ref-adapter is the reference of DPO and KTO metrics.*; ORPO has none/);
  expect(evalRefused('--ref-adapter', path.join(tmp, 'nowhere'), '--data', prefs)).toMatch(/--ref-adapter .*nowhere: no such folder/);
  // an adapter the model cannot hold twice (LoRA on the embedding): the reference is it loaded into a frozen copy of the base
  const withWte = path.join(tmp, 'further-wte'), dpoWte = path.join(tmp, 'further-dpo-wte');
  expect(cli('train', '--model', modelDir, '--data', textFile, '--out', withWte, '--block-size', '32', '--batch-size', '4', '--max-steps', '1', '--lr', '1e-1', '--save-steps', '0',
    '--lora-targets', 'c_attn,wte').err).toBe('');
  const w = cli('train', '--model', modelDir, '--adapter', withWte, '--data', prefs, '--out', dpoWte, '--block-size', '32', '--batch-size', '2', '--max-steps', '1', '--save-steps', '0', '--logging-steps', '1');
  expect(w.err).toBe('');
  expect(w.out).toContain(`the reference: the model --adapter starts as (${withWte} loaded into a frozen copy of the base: several adapters with LoRA on an embedding are not supported)`);
  expect(stepsOf(dpoWte)[0].loss).toBeCloseTo(Math.log(2), 6);
  // A classifier's adapter: the task, the head and the labels come with it
  const labelled = path.join(tmp, 'further-labelled.jsonl'), cls = path.join(tmp, 'further-cls'), cls2 = path.join(tmp, 'further-cls2');
  fs.writeFileSync(labelled, ['good', 'bad', 'fine', 'awful', 'great', 'poor'].map((w, i) => JSON.stringify({ text: `the film was ${w}`, label: ['pos', 'neg', 'meh'][i % 3] })).join('\n') + '\n');
  expect(cli('train', '--model', modelDir, '--task', 'text-classification', '--data', labelled, '--out', cls, '--block-size', '16', '--batch-size', '3', '--max-steps', '2', '--lr', '1e-2', '--save-steps', '0').err).toBe('');
  const c = cli('train', '--model', modelDir, '--adapter', cls, '--data', labelled, '--out', cls2, '--block-size', '16', '--batch-size', '3', '--max-steps', '1', '--lr', '0', '--save-steps', '0');
  expect(c.err).toBe('');
  expect(c.out).toMatch(/6 labelled texts \(single label classification, 3 classes: meh, neg, pos\)/);
  expect(weights(cls2)).toEqual(weights(cls));
  expect(JSON.parse(fs.readFileSync(path.join(cls2, 'adapter_config.json'), 'utf8')).tstorch_id2label).toEqual({ 0: 'meh', 1: 'neg', 2: 'pos' });
  const two = path.join(tmp, 'further-two.jsonl');
  fs.writeFileSync(two, ['good', 'bad'].map((w, i) => JSON.stringify({ text: `the film was ${w}`, label: ['pos', 'neg'][i] })).join('\n') + '\n');
  // Refused, each before any training: what to do instead
  const refused = (...flags: string[]) => cli('train', '--model', modelDir, '--data', textFile, '--out', path.join(tmp, 'further-no'), '--max-steps', '1', ...flags).err.trim().split('\n')[0];
  expect(refused('--adapter', first, '--lora-r', '8', '--lora_alpha', '32')).toMatch(/^tstorch train: --lora-r, --lora_alpha: with --adapter the LoRA settings are the adapter's own \(r 4, lora_alpha 8, target_modules c_attn,c_fc, in .*adapter_config\.json\); leave them out/);
  expect(refused('--adapter', first, '--lora-r', '4', '--lora_alpha', '32', '--lora-targets', 'c_fc,c_attn')).toMatch(/^tstorch train: --lora_alpha: with --adapter the LoRA settings are the adapter's own \(r 4, lora_alpha 8, .*\); leave it out/);
  expect(refused('--adapter', first, '--lora-targets', 'c_attn')).toMatch(/^tstorch train: --lora-targets: with --adapter the LoRA settings are the adapter's own/);
  // the flags that say what the adapter has are taken (a recipe's config shared by its runs): at lr 0 the adapter as it was
  const same = path.join(tmp, 'further-same');
  expect(cli('train', '--model', modelDir, '--adapter', first, '--data', textFile, '--out', same, '--block-size', '32', '--max-steps', '1', '--lr', '0', '--save-steps', '0',
    '--lora-r', '4', '--lora-alpha', '8', '--lora-targets', 'c_fc,c_attn', '--lora-bias', 'none').err).toBe('');
  expect(weights(same)).toEqual(weights(first));
  expect(refused('--adapter', first, '--full')).toMatch(/merge it first \(tstorch merge --model .* --adapter .*further-first --out DIR\) and train DIR with --full/);
  expect(refused('--adapter', first, '--task', 'text-classification', '--data', labelled)).toMatch(/is a CAUSAL_LM adapter .* not one for --task text-classification/);
  expect(refused('--adapter', cls, '--task', 'causal-lm')).toMatch(/is a SEQ_CLS adapter .* not one for --task causal-lm/);
  expect(cli('train', '--model', modelDir, '--adapter', cls, '--data', two, '--out', path.join(tmp, 'further-some'), '--block-size', '16', '--max-steps', '1', '--save-steps', '0').err).toBe(''); // (its labels fix the ids: data of some of them trains on)
  fs.writeFileSync(two, ['good', 'wow'].map((w, i) => JSON.stringify({ text: `the film was ${w}`, label: ['pos', 'wow'][i] })).join('\n') + '\n');
  expect(refused('--adapter', cls, '--data', two, '--block-size', '16')).toMatch(/labels? 'wow' not among the model's \(meh, neg, pos\)/);
  // an adapter without tstorch's label names (PEFT's from Python): the data's labels must fill its head
  const python = path.join(tmp, 'further-cls-python');
  fs.cpSync(cls, python, { recursive: true });
  const { tstorch_id2label: _, ...plain } = JSON.parse(fs.readFileSync(path.join(cls, 'adapter_config.json'), 'utf8'));
  fs.writeFileSync(path.join(python, 'adapter_config.json'), JSON.stringify(plain));
  expect(refused('--adapter', python, '--data', two, '--block-size', '16')).toMatch(/its score head has 3 outputs, but the data has 2 labels: pos, wow; continue it on data of its labels/);
  expect(refused('--adapter', path.join(tmp, 'nowhere'))).toMatch(/--adapter .*nowhere: no such folder/);
  expect(refused('--model', first)).toMatch(/is a PEFT adapter .* with --adapter .*further-first to train this adapter further/);
  expect(fs.existsSync(path.join(tmp, 'further-no'))).toBe(false);
});
