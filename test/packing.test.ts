// TRL's SFT packing (packing=True, packing_strategy='bfd', padding-free): whole examples placed
// into rows by best-fit decreasing (against scripts/reference/bfd_ref.py, TRL's binning code
// transcribed and checked against TRL's own), each attending only to itself: a packed step gives
// the loss and gradients of its examples run alone (scripts/reference/sft_ref.py).
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as torch from '../lib';
import { relErr, saveTinyGpt2 } from './helpers';

const bin = path.join(__dirname, '..', 'dist', 'lib', 'cli', 'main.js');
let tmp: string, modelDir: string;
beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-packing-'));
  modelDir = await saveTinyGpt2(path.join(tmp, 'model'), { n_layer: 2, attn_pdrop: 0, resid_pdrop: 0, embd_pdrop: 0 });
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function reference(script: string, job: unknown, args: string[] = []): string {
  const r = spawnSync('/usr/bin/python3', [path.join(__dirname, '..', 'scripts', 'reference', script), ...args], { input: JSON.stringify(job), encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout;
}

test('packBfd places sequences as TRL\'s _pack_bfd does (longest first, tightest fit, first come first; per thousand examples)', () => {
  let seed = 7;
  const rand = (n: number) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
  const cases: [number, number[]][] = [[4, [4, 2, 3, 1]], [8, [5, 3, 3, 3, 8, 1, 2, 2, 7]]];
  for (const seqLength of [16, 33, 64, 128]) cases.push([seqLength, Array.from({ length: 40 + rand(60) }, () => 1 + rand(seqLength))]);
  cases.push([32, Array.from({ length: 2500 }, () => 1 + rand(32))]); // (three thousands: bins never mix them)
  for (const [seqLength, lengths] of cases) {
    const [want] = JSON.parse(reference('bfd_ref.py', { lengths: [lengths], seq_length: seqLength })) as number[][][];
    const got = torch.data.packBfd(lengths, seqLength);
    expect({ seqLength, n: lengths.length, got }).toEqual({ seqLength, n: lengths.length, got: want });
    for (const row of got) expect(row.reduce((n, i) => n + lengths[i], 0)).toBeLessThanOrEqual(seqLength);
    expect(got.flat().sort((a, b) => a - b)).toEqual(lengths.map((_, i) => i));
  }
  expect(torch.data.packBfd([4, 2, 3, 1], 4)).toEqual([[0], [2, 3], [1]]); // TRL's docstring example
  // bfd_split: longer examples cut into pieces first (lengths with no 1-token last piece: TRL keeps such a piece, which has nothing to learn; it is left out here)
  for (const seqLength of [8, 16, 33]) {
    const lengths = Array.from({ length: 30 + rand(30) }, () => 2 + rand(3 * seqLength)).filter((n) => n % seqLength !== 1);
    const ex = new torch.data.ExampleDataset(lengths.map((n) => ({ ids: Array.from({ length: n }, (_, k) => k % 50) })), 10000);
    const packed = new torch.data.PackedExampleDataset(ex, { seqLength, strategy: 'bfd_split' });
    const [want] = JSON.parse(reference('bfd_ref.py', { lengths: [lengths], seq_length: seqLength, split: true })) as { rows: number[][]; pieces: number[] }[];
    expect({ seqLength, rows: packed.rows, pieces: packed.examples.examples.map((e) => e.length) }).toEqual({ seqLength, rows: want.rows, pieces: want.pieces });
  }
  expect(torch.data.packBfd([4, 2, 3, 1], 4)).toEqual([[0], [2, 3], [1]]);
  expect(() => torch.data.packBfd([5], 4)).toThrow(/length 5 of sequence 0 is not in 1\.\.4/);
});

describe('a packed step equals its examples run alone (Python reference, no padding, no packing)', () => {
  const PAIRS: torch.data.PromptCompletion[] = Array.from({ length: 9 }, (_, i) => ({
    prompt: `Question ${i}: ${'why '.repeat(i % 4)}what is ${i} times ${i + 2}?\nAnswer:`, completion: ` ${i * (i + 2)}${i % 3 ? ', of course' : ''}.`,
  }));
  let ex: torch.data.ExampleDataset, packed: torch.data.PackedExampleDataset, ref: Map<string, torch.Tensor>;
  const micros = [[0, 1], [2]];
  beforeAll(() => {
    ex = torch.data.ExampleDataset.fromPromptCompletions(PAIRS, { maxLength: 48 });
    packed = new torch.data.PackedExampleDataset(ex);
    expect(packed.length).toBeLessThan(ex.length); // (rows of several examples)
    const inStep = micros.flat().flatMap((r) => packed.rows[r]);
    const spec = path.join(tmp, 'spec.json'), out = path.join(tmp, 'ref.safetensors');
    fs.writeFileSync(spec, JSON.stringify({ examples: ex.examples.map((e) => Array.from(e)), prompt_lengths: ex.promptLengths, step: [inStep] }));
    reference('sft_ref.py', null, [modelDir, spec, out]);
    ref = torch.io.safetensors.loadFile(out).tensors;
  });

  test.each([['eager', false], ['sdpa', false], ['eager', true], ['sdpa', true]] as const)('attention %s, gradient checkpointing %s: loss and every gradient 1e-5; evaluation equals the unpacked one', async (attn, checkpointing) => {
    const model = await torch.GPT2LMHeadModel.fromPretrained(modelDir, { attnImplementation: attn });
    const trainer = new torch.Trainer(model, { outputDir: path.join(tmp, `out-${attn}-${checkpointing}`), perDeviceTrainBatchSize: 2, gradientAccumulationSteps: 2, gradientCheckpointing: checkpointing, progress: false }, packed);
    model.train();
    const loss = trainer.trainingStep(micros);
    expect(Math.abs((loss.item() as number) - (ref.get('step_loss')!.item() as number))).toBeLessThan(1e-5);
    for (const [name, p] of model.namedParameters()) expect([name, relErr(p.grad!, ref.get(`grad.${name}`)!) < 1e-5]).toEqual([name, true]);
    const [a, b] = [torch.train.evaluate(model, packed, { batchSize: 2 }), torch.train.evaluate(model, ex, { batchSize: 3 })];
    expect(Math.abs(a.loss - b.loss)).toBeLessThan(1e-5);
    expect(Math.abs(a.loss - (ref.get('eval_loss')!.item() as number))).toBeLessThan(1e-5);
    expect([a.predictedTokens, a.tokens]).toEqual([b.predictedTokens, b.tokens]);
    model.dispose();
  });

  test('rows: a batch\'s positions restart at each example, its mask keeps each to itself, its first token unlearned; subsets keep rows', () => {
    const batch = packed.collate([0]);
    const row = packed.rows[0];
    const pos = (batch.positionIds!.tolist() as number[][])[0], labels = (batch.labels.tolist() as number[][])[0];
    const mask = (batch.attentionMask!.tolist() as boolean[][][][])[0][0];
    let at = 0;
    for (const e of row) {
      const n = ex.examples[e].length;
      expect(pos.slice(at, at + n)).toEqual(Array.from({ length: n }, (_, k) => k));
      expect(labels.slice(at, at + n)).toEqual(Array.from(ex.examples[e]).map((id, k) => (k >= ex.promptLengths[e] && k > 0 ? id : -100)));
      for (let q = at; q < at + n; q++) expect(mask[q].map((m, k) => (m ? k : -1)).filter((k) => k >= 0)).toEqual(Array.from({ length: n }, (_, k) => at + k));
      at += n;
    }
    const sub = packed.subset(1, 3);
    expect(sub.length).toBe(2);
    expect(sub.rows.map((r) => r.map((e) => Array.from(sub.examples.examples[e])))).toEqual(packed.rows.slice(1, 3).map((r) => r.map((e) => Array.from(ex.examples[e]))));
    expect(sub.lossTokens([0, 1])).toBe(packed.lossTokens([1, 2]));
  });
});

test('tstorch train / eval --packing-strategy bfd: rows of packed examples; the same eval loss as unpacked; errors', () => {
  const jsonl = path.join(tmp, 'qa.jsonl');
  fs.writeFileSync(jsonl, Array.from({ length: 12 }, (_, i) => JSON.stringify({ prompt: `Q: ${i} plus ${i}?\nA:`, completion: ` ${2 * i}.` })).join('\n') + '\n');
  const cli = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
  const out = path.join(tmp, 'cli-packed');
  const t = cli('train', '--model', modelDir, '--data', jsonl, '--eval-data', jsonl, '--out', out, '--max-steps', '2', '--batch-size', '2', '--block-size', '32', '--packing-strategy', 'bfd');
  expect(t.stderr).toBe('');
  const docs = torch.data.readTrainingDocuments(jsonl) as { pairs: torch.data.PromptCompletion[] };
  const rows = torch.data.packBfd(torch.data.ExampleDataset.fromPromptCompletions(docs.pairs, { maxLength: 32 }).examples.map((e) => e.length), 32).length;
  expect(t.stdout).toMatch(new RegExp(`training: ${rows} rows of up to 32 tokens packed from 12 sequences \\(best-fit decreasing, each attending to itself; the loss on \\d+ tokens\\); 2 per batch = 2 rows per step`));
  const evalOf = (...extra: string[]) => JSON.parse(cli('eval', '--model', modelDir, '--adapter', out, '--data', jsonl, '--block-size', '32', '--json', ...extra).stdout);
  const [p, u] = [evalOf('--packing-strategy', 'bfd'), evalOf()];
  expect(Math.abs(p.loss - u.loss)).toBeLessThan(1e-5);
  expect([p.blocks, u.blocks, p.predictedTokens]).toEqual([rows, 12, u.predictedTokens]);
  expect(cli('eval', '--model', modelDir, '--data', jsonl, '--block-size', '32', '--packing-strategy', 'wrapped').stderr).toMatch(/--packing-strategy must be bfd or bfd_split \(TRL's wrapped packing is --packing on texts\)/);
  // bfd_split: a text longer than the block is cut into pieces, none of its tokens lost (bfd keeps its first block only)
  const long = path.join(tmp, 'long.jsonl');
  fs.writeFileSync(long, [JSON.stringify({ text: 'word '.repeat(70) }), JSON.stringify({ text: 'short one' })].join('\n') + '\n');
  const ev = (strategy: string) => JSON.parse(cli('eval', '--model', modelDir, '--data', long, '--block-size', '32', '--packing-strategy', strategy, '--json').stdout);
  const [whole, cut] = [ev('bfd_split'), ev('bfd')];
  const [longLength, shortLength] = [torch.tokenizer.encode('word '.repeat(70) + '<|endoftext|>').length, torch.tokenizer.encode('short one<|endoftext|>').length];
  expect(whole.tokens).toBe(longLength + shortLength);
  expect(cut.tokens).toBe(32 + shortLength);
  // (each piece's first token is not predicted: it starts a sequence of its own)
  expect(whole.predictedTokens).toBe(longLength - Math.ceil(longLength / 32) + shortLength - 1);
});
