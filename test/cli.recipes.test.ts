// TRL and Hugging Face recipes run as they are written: `tstorch train --config recipe.yaml`
// with TrainingArguments / SFTConfig / ScriptArguments / ModelConfig names (as `trl sft --config`
// takes them). Fields about the hub, workers and logging are taken with a note; switches whose
// default is the only behaviour here are taken at it and refused otherwise; TRL's SFT data knobs
// (pad_to_multiple_of, eval_packing) work. Each run is checked against the same run by our flags.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as torch from '../lib';
import { brownTextFiles, saveTinyGpt2 } from './helpers';
import { resolveFlag } from '../lib/cli/args';
import { spec as trainSpec } from '../lib/cli/commands/train';
import { FOREIGN_FIELDS } from '../lib/cli/hf_fields';

const bin = path.join(__dirname, '..', 'dist', 'lib', 'cli', 'main.js');
let tmp: string, modelDir: string, textFile: string, evalFile: string, pairsFile: string;

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 300000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
const losses = (out: string) => fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.loss !== undefined).map((e) => e.loss as number);
const evalLosses = (out: string) => fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.eval_loss !== undefined).map((e) => e.eval_loss as number);

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-recipes-'));
  modelDir = await saveTinyGpt2(path.join(tmp, 'model'));
  ({ trainFile: textFile, evalFile } = brownTextFiles(tmp));
  pairsFile = path.join(tmp, 'pairs.jsonl');
  fs.writeFileSync(pairsFile, Array.from({ length: 12 }, (_, i) => JSON.stringify({ prompt: `Question ${i}: what is ${i} and ${i}?`, completion: ` It is ${2 * i}${' indeed'.repeat(i % 4)}.` })).join('\n') + '\n');
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('a TRL recipe in YAML trains exactly as the same run by our flags; its hub, worker and logging fields are named as taken without effect', () => {
  const recipe = path.join(tmp, 'recipe.yaml');
  fs.writeFileSync(recipe, `# Model arguments (TRL's ModelConfig)
model_name_or_path: ${modelDir}
torch_dtype: auto
attn_implementation: eager
use_peft: true
lora_r: 4
lora_alpha: 8
lora_dropout: 0.0
use_rslora: true
lora_task_type: CAUSAL_LM
# Data (ScriptArguments)
dataset_name: ${textFile}
# SFTConfig / TrainingArguments
max_length: 32
bf16: false
fp16: false
learning_rate: 1.0e-03
lr_scheduler_type: cosine
warmup_ratio: 0.1
gradient_checkpointing: true
gradient_checkpointing_kwargs:
  use_reentrant: false
per_device_train_batch_size: 2
max_steps: 3
logging_steps: 1
save_strategy: "no"
seed: 7
report_to:
- none
output_dir: ${path.join(tmp, 'by-recipe')}
overwrite_output_dir: true
push_to_hub: true
hub_model_id: someone/tiny-sft
dataloader_num_workers: 4
log_level: info
disable_tqdm: true
save_safetensors: true
padding_free: false
`);
  const a = cli('train', '--config', recipe);
  expect(a.code).toBe(0);
  expect(a.err).toBe('tstorch train: taken, with no effect here: gradient_checkpointing_kwargs (checkpointing here recomputes as use_reentrant=False does); '
    + 'overwrite_output_dir (a run writes its files into --out as it finds it; it resumes a checkpoint there only with --resume-from-checkpoint); '
    + 'push_to_hub (nothing is uploaded from here: upload --out with huggingface-cli upload); hub_model_id; dataloader_num_workers; log_level\n');
  const b = cli('train', '--model', modelDir, '--data', textFile, '--attn', 'eager', '--lora-r', '4', '--lora-alpha', '8', '--lora-dropout', '0', '--rslora',
    '--block-size', '32', '--lr', '1e-3', '--lr-scheduler', 'cosine', '--warmup-ratio', '0.1', '--gradient-checkpointing', '--batch-size', '2', '--max-steps', '3',
    '--logging-steps', '1', '--save-strategy', 'no', '--seed', '7', '--out', path.join(tmp, 'by-flags'));
  expect([b.code, b.err]).toEqual([0, '']);
  expect(losses(path.join(tmp, 'by-recipe')).length).toBe(3);
  expect(losses(path.join(tmp, 'by-recipe'))).toEqual(losses(path.join(tmp, 'by-flags')));
  const adapter = (d: string) => fs.readFileSync(path.join(tmp, d, 'adapter_model.safetensors'));
  expect(adapter('by-recipe').equals(adapter('by-flags'))).toBe(true);
  expect(JSON.parse(fs.readFileSync(path.join(tmp, 'by-recipe', 'adapter_config.json'), 'utf8')).use_rslora).toBe(true);
  // TRL trains LoRA only with use_peft; use_peft: false is full fine-tuning (here LoRA is the default)
  const full = path.join(tmp, 'full.json');
  fs.writeFileSync(full, JSON.stringify({ use_peft: false, max_steps: 1, max_seq_length: 32 }));
  expect(cli('train', '--config', full, '--model', modelDir, '--data', textFile, '--out', path.join(tmp, 'full')).code).toBe(0);
  expect(fs.existsSync(path.join(tmp, 'full', 'model.safetensors'))).toBe(true);
  expect(fs.existsSync(path.join(tmp, 'full', 'adapter_config.json'))).toBe(false);
});

test('recipe switches this build has only one way of are taken at that value and refused at another, saying what to do; unknown fields stay errors', () => {
  const refused = (field: string, value: unknown) => {
    const f = path.join(tmp, `${field}.json`);
    fs.writeFileSync(f, JSON.stringify({ [field]: value }));
    const r = cli('train', '--config', f, '--model', modelDir, '--data', textFile, '--out', path.join(tmp, 'x'), '--block-size', '32', '--max-steps', '1');
    expect(r.code).not.toBe(0);
    return r.err;
  };
  expect(refused('fp16', true)).toMatch(/--fp16 true: only false here; float16 training is not here: --bf16 \(bfloat16 autocast/);
  expect(refused('torch_dtype', 'bfloat16')).toMatch(/--torch_dtype bfloat16: only float32 here; weights train in float32 here .*--bf16 computes in bfloat16/);
  expect(refused('lora_task_type', 'SEQ_CLS')).toMatch(/only CAUSAL_LM here; the task follows --task/);
  expect(refused('padding_free', true)).toMatch(/--packing-strategy bfd trains without padding/);
  expect(refused('load_in_4bit', true)).toMatch(/quantized base weights \(bitsandbytes\) are not here/);
  expect(refused('eos_token', '<|im_end|>')).toMatch(/the eos token "<\|im_end\|>" is not one of the tokenizer's added tokens \(<\|endoftext\|>\): add it to the tokenizer/);
  expect(refused('pad_token', '<pad>')).toMatch(/--pad_token <pad>: batches are padded with the eos token <\|endoftext\|> here/); // (named as the recipe names it)
  expect(refused('no_such_field', 1)).toMatch(/unknown flag --no_such_field for 'train' .*\(in --config /);
  // at the value that is what happens here: taken
  const ok = path.join(tmp, 'ok.yaml');
  fs.writeFileSync(ok, 'fp16: false\ntorch_dtype: float32\neos_token: "<|endoftext|>"\npad_token: "<|endoftext|>"\naverage_tokens_across_devices: true\n');
  const r = cli('train', '--config', ok, '--model', modelDir, '--data', textFile, '--out', path.join(tmp, 'ok'), '--block-size', '32', '--max-steps', '1');
  expect([r.code, r.err]).toEqual([0, '']);
  // a broken YAML file names itself
  fs.writeFileSync(path.join(tmp, 'bad.yaml'), 'learning_rate: [1\n');
  expect(cli('train', '--config', path.join(tmp, 'bad.yaml'), '--model', modelDir, '--data', textFile, '--out', path.join(tmp, 'x')).err).toMatch(/--config .*bad\.yaml: /);
});

test('pad_to_multiple_of pads batches of separate examples to a multiple (the same losses); eval_packing false evaluates separate examples as eval --no-packing does', async () => {
  const ds = torch.data.ExampleDataset.fromTexts(['one two three', 'four five six seven eight nine ten eleven'], { maxLength: 64 });
  const plain = ds.collate([0, 1]);
  ds.padToMultipleOf = 8;
  const padded = ds.collate([0, 1]);
  const T = plain.inputIds.shape[1];
  expect(padded.inputIds.shape).toEqual([2, Math.ceil(T / 8) * 8]);
  expect(padded.inputIds.shape[1]).toBeGreaterThan(T);
  expect(padded.attentionMask!.sum().item()).toBe(plain.attentionMask!.sum().item());
  expect(padded.labels.narrow(1, 0, T).tolist()).toEqual(plain.labels.tolist());
  expect((padded.labels.narrow(1, T, padded.labels.shape[1] - T).tolist() as number[][]).flat().every((v) => v === -100)).toBe(true);
  expect(ds.subset(0, 1).padToMultipleOf).toBe(8);

  // (the model's dropout off: its masks are drawn over the padded shape, so they would differ)
  const still = await saveTinyGpt2(path.join(tmp, 'model-no-dropout'), { attn_pdrop: 0, embd_pdrop: 0, resid_pdrop: 0 });
  const run = (out: string, ...extra: string[]) => {
    const r = cli('train', '--model', still, '--data', pairsFile, '--out', path.join(tmp, out), '--block-size', '48', '--batch-size', '4', '--max-steps', '3', '--logging-steps', '1', '--lora-dropout', '0', ...extra);
    expect([r.code, r.err]).toEqual([0, '']);
    return losses(path.join(tmp, out));
  };
  const a = run('pairs-plain'), b = run('pairs-padded', '--pad-to-multiple-of', '16');
  expect(a.length).toBe(3);
  b.forEach((l, i) => expect(Math.abs(l - a[i])).toBeLessThan(1e-5)); // (padding is masked: only the shapes differ)
  expect(cli('train', '--model', modelDir, '--data', pairsFile, '--out', path.join(tmp, 'x'), '--block-size', '48', '--pad-to-multiple-of', '40').err)
    .toMatch(/--pad-to-multiple-of 40: a batch of --block-size 48 would be padded to 80 tokens, past the model's n_positions \(64\)/);

  // eval_packing: the eval set read as training reads data (packed blocks), or as separate examples
  const evalOf = (...extra: string[]) => {
    const out = path.join(tmp, `ev${extra.length}`);
    const r = cli('train', '--model', modelDir, '--data', textFile, '--eval-data', evalFile, '--eval-on-start', '--out', out, '--block-size', '32', '--max-steps', '1', ...extra);
    // (read as separate examples, the eval set's longer ones are cut at --block-size: said, as scored)
    const cutNote = /^\S+eval\.txt: \d+ of its \d+ examples are longer than --block-size 32 tokens, cut to the first 32 \(\d+ tokens not scored\); raise --block-size \(TRL's max_length\)\n$/;
    expect([r.code, extra.length ? r.err.replace(cutNote, '') : r.err]).toEqual([0, '']);
    if (extra.length) expect(r.err).toMatch(cutNote);
    return evalLosses(out)[0]; // (at the start: LoRA's B is zero, the base model)
  };
  const evalJson = (...extra: string[]) => JSON.parse(cli('eval', '--model', modelDir, '--data', evalFile, '--block-size', '32', '--json', ...extra).out).loss as number;
  expect(evalOf()).toBeCloseTo(evalJson(), 5);
  expect(evalOf('--no-eval-packing')).toBeCloseTo(evalJson('--no-packing'), 5);
  expect(evalJson('--no-packing')).not.toBeCloseTo(evalJson(), 5); // (the two readings differ: the checks above can fail)
  expect(cli('train', '--model', modelDir, '--data', textFile, '--no-eval-packing', '--out', path.join(tmp, 'x')).err).toMatch(/--eval-packing says how --eval-data is read: give --eval-data/);
});

// test/fixtures/hf_fields: the fields of transformers 5.17's TrainingArguments and TRL 1.13's configs
// (scripts/reference/make_hf_fields_fixture.py), and TrainingArguments' own JSON dump
const HF_FIELDS = path.join(__dirname, 'fixtures', 'hf_fields');

test('every field of TrainingArguments, SFTConfig, DPOConfig, ModelConfig and ScriptArguments is a flag or a known field; a TrainingArguments dump trains as it is', () => {
  const fields = JSON.parse(fs.readFileSync(path.join(HF_FIELDS, 'fields.json'), 'utf8')) as Record<string, string[]>;
  let n = 0;
  for (const [source, names] of Object.entries(fields)) {
    const unknown = names.filter((f) => !resolveFlag(trainSpec, f) && !FOREIGN_FIELDS[f.replace(/_/g, '-')]);
    expect([source, unknown]).toEqual([source, []]);
    n += names.length;
  }
  expect(n).toBeGreaterThan(180);
  // to_json_string(): all 112 fields at their defaults (fsdp_config, accelerator_config null, report_to [], include_num_input_tokens_seen "no", ...)
  const dump = JSON.parse(fs.readFileSync(path.join(HF_FIELDS, 'training_args.json'), 'utf8'));
  dump.output_dir = path.join(tmp, 'from-dump');
  dump.disable_tqdm = true;
  const cfg = path.join(tmp, 'training_args.json');
  fs.writeFileSync(cfg, JSON.stringify(dump));
  const r = cli('train', '--config', cfg, '--model', modelDir, '--data', textFile, '--block-size', '32', '--max-steps', '2', '--logging-steps', '1');
  expect([r.code, r.err]).toEqual([0, '']); // (every field at HF's default: nothing to note)
  expect(losses(path.join(tmp, 'from-dump')).length).toBe(2);
});

test('eos_token: another added token (ChatML\'s <|im_end|>) ends the examples, pads them, and is the eos of the tokenizer written with the adapter', async () => {
  // GPT-2's tables with <|im_end|> added (id 50257), and a model with room for it
  const dir = await saveTinyGpt2(path.join(tmp, 'model-im-end'), { vocab_size: 50258, attn_pdrop: 0, embd_pdrop: 0, resid_pdrop: 0 });
  torch.tokenizer.savePretrained(dir);
  fs.writeFileSync(path.join(dir, 'added_tokens.json'), JSON.stringify({ '<|im_end|>': 50257 }));
  const shown = cli('data', '--model', dir, '--data', pairsFile, '--block-size', '48', '--eos-token', '<|im_end|>', '--json', '--show', '12');
  expect(shown.err).toBe('');
  const items = JSON.parse(shown.out).shown as { ids: number[] }[];
  expect(items.length).toBe(12);
  for (const it of items) {
    expect(it.ids[it.ids.length - 1]).toBe(50257); // (TRL's add_eos: completion + eos_token)
    expect(it.ids).not.toContain(50256);
  }
  const plain = JSON.parse(cli('data', '--model', dir, '--data', pairsFile, '--block-size', '48', '--json', '--show', '1').out).shown[0].ids as number[];
  expect(plain[plain.length - 1]).toBe(50256);
  expect(items[0].ids.slice(0, -1)).toEqual(plain.slice(0, -1));
  const out = path.join(tmp, 'im-end-run');
  const r = cli('train', '--model', dir, '--data', pairsFile, '--out', out, '--block-size', '48', '--batch-size', '4', '--max-steps', '1', '--eos-token', '<|im_end|>', '--pad-token', '<|im_end|>');
  expect([r.code, r.err]).toEqual([0, '']);
  expect(JSON.parse(fs.readFileSync(path.join(out, 'tokenizer_config.json'), 'utf8'))).toMatchObject({ eos_token: '<|im_end|>', pad_token: '<|im_end|>' });
  const saved = torch.GPT2Tokenizer.fromFiles(out);
  expect([saved.eosToken, saved.eosTokenId]).toEqual(['<|im_end|>', 50257]);
  expect(torch.GPT2Tokenizer.fromFiles(dir).eosToken).toBe('<|endoftext|>'); // (the base's files untouched)
  expect(cli('train', '--model', dir, '--data', pairsFile, '--out', path.join(tmp, 'x'), '--eos-token', '<|im_end|>', '--pad-token', '<|endoftext|>').err)
    .toMatch(/--pad-token <\|endoftext\|>: batches are padded with the eos token <\|im_end\|> here/);
});

test('as TRL\'s trainers, a run that pads saves its pad token (the eos): the tokenizer\'s pad_token, a full model\'s pad_token_id; packed text (run_clm) none', () => {
  const read = (dir: string, f: string) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
  const full = path.join(tmp, 'pad-full');
  expect(cli('train', '--model', modelDir, '--data', pairsFile, '--out', full, '--block-size', '48', '--batch-size', '4', '--max-steps', '1', '--full').code).toBe(0);
  expect([read(full, 'tokenizer_config.json').pad_token, read(full, 'special_tokens_map.json').pad_token]).toEqual(['<|endoftext|>', '<|endoftext|>']);
  expect([read(full, 'config.json').pad_token_id, read(full, 'generation_config.json').pad_token_id]).toEqual([50256, 50256]);
  const packed = path.join(tmp, 'pad-packed');
  expect(cli('train', '--model', modelDir, '--data', textFile, '--out', packed, '--block-size', '16', '--max-steps', '1', '--full').code).toBe(0);
  expect(read(packed, 'tokenizer_config.json').pad_token).toBeNull();
  expect(read(packed, 'special_tokens_map.json').pad_token).toBeUndefined();
  expect(read(packed, 'config.json').pad_token_id).toBeUndefined();
  expect(read(packed, 'generation_config.json').pad_token_id).toBeUndefined();
});
