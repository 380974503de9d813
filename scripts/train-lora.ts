// The seed notebook's train(), on tstorch's library API (not the CLI): load the tokenizer and
// the dataset (TextDataset semantics, labels = input ids, as DataCollatorForLanguageModeling
// with mlm=False), load GPT-2, wrap its Conv1D layers with LoRA (update_model_layers) and freeze
// the base, set the training arguments, train, save. With full: true, the notebook's "comment
// this to skip LoRA" run. Also measures held-out perplexity and sample text before and after.
//
//   node dist/scripts/train-lora.js --model DIR --train FILE --eval FILE --out DIR [--full] [--steps N] ...
import * as fs from 'fs';
import * as path from 'path';
import * as torch from '../lib';
import { parseFlags, Spec } from '../lib/cli/args';

export interface TrainLoRAOptions {
  modelDir: string;
  trainFile: string;
  evalFile: string;
  outDir: string;
  full?: boolean;
  r?: number;
  alpha?: number;
  dropout?: number;
  mode?: 'peft' | 'seed';
  bias?: 'none' | 'all' | 'lora_only';
  /** modules trained fully beside LoRA (PEFT's modules_to_save), e.g. ['ln_f'] */
  modulesToSave?: string[];
  lr?: number;
  maxSteps?: number;
  epochs?: number;
  batchSize?: number;
  blockSize?: number;
  loggingSteps?: number;
  evalSteps?: number;
  saveSteps?: number;
  seed?: number;
  prompts?: string[];
  threads?: number;
  /** 'bf16': forward passes under bfloat16 autocast (weights and optimizer stay float32) */
  precision?: 'fp32' | 'bf16';
}

export interface TrainLoRAResult {
  mode: 'lora' | 'full';
  precision: 'fp32' | 'bf16';
  trainableParams: number;
  allParams: number;
  steps: number;
  seconds: number;
  tokensPerSecond: number;
  peakRssMiB: number;
  evalBefore: { loss: number; perplexity: number };
  evalAfter: { loss: number; perplexity: number };
  samplesBefore: string[];
  samplesAfter: string[];
  logHistory: torch.train.LogEntry[];
}

function samples(model: torch.GPT2LMHeadModel, prompts: string[]): string[] {
  return prompts.map((p) => {
    const ids = torch.tokenizer.encode(p);
    const out = model.generate([ids], { maxNewTokens: 30, temperature: 0.8, topK: 40, seed: 1234 })[0];
    return torch.tokenizer.decode(out);
  });
}

export async function trainLoRA(o: TrainLoRAOptions): Promise<TrainLoRAResult> {
  if (o.threads) torch.setNumThreads(o.threads);
  torch.keepFreedCpuMemory(); // reuse each step's large buffers instead of page-faulting them in again
  const blockSize = o.blockSize ?? 128;
  const prompts = o.prompts ?? [];
  // tokenizer + load_dataset(train_file_path, tokenizer, block_size)
  const train = torch.data.TextDataset.fromText(fs.readFileSync(o.trainFile, 'utf8'), blockSize);
  const held = torch.data.TextDataset.fromText(fs.readFileSync(o.evalFile, 'utf8'), blockSize);
  // model = GPT2LMHeadModel.from_pretrained(model_name)
  const model = await torch.GPT2LMHeadModel.fromPretrained(o.modelDir);
  const evalBefore = torch.train.evaluate(model, held, { batchSize: o.batchSize ?? 8 });
  const samplesBefore = samples(model, prompts);
  // model = update_model_layers(model): LoRA on every attention and MLP Conv1D, base frozen
  if (!o.full) {
    torch.lora.applyLoRA(model, { r: o.r ?? 8, alpha: o.alpha ?? 16, dropout: o.dropout ?? 0.05, mode: o.mode ?? 'peft', bias: o.bias ?? 'none', modulesToSave: o.modulesToSave, targetModules: ['c_attn', 'c_proj', 'c_fc'] });
  }
  console.log(torch.lora.trainableParametersLine(model));
  // TrainingArguments + Trainer + trainer.train()
  const trainer = new torch.Trainer(model, {
    outputDir: o.outDir, numTrainEpochs: o.epochs ?? 1, maxSteps: o.maxSteps ?? -1, perDeviceTrainBatchSize: o.batchSize ?? 8,
    learningRate: o.lr ?? (o.full ? 5e-5 : 2e-4), warmupSteps: 10, loggingSteps: o.loggingSteps ?? 10,
    evalSteps: o.evalSteps ?? 50, saveSteps: o.saveSteps ?? 50, saveTotalLimit: 1, seed: o.seed ?? 42, precision: o.precision ?? 'fp32',
    resumeFromCheckpoint: torch.train.listCheckpoints(o.outDir).length ? true : undefined,
  }, train, held);
  const r = trainer.train();
  // trainer.save_model()
  await trainer.saveModel(o.outDir);
  const evalAfter = torch.train.evaluate(model, held, { batchSize: o.batchSize ?? 8 });
  const samplesAfter = samples(model, prompts);
  return {
    mode: o.full ? 'full' : 'lora',
    precision: o.precision ?? 'fp32',
    trainableParams: model.numParameters({ trainableOnly: true }),
    allParams: model.numParameters(),
    steps: r.globalStep,
    seconds: r.seconds,
    tokensPerSecond: r.tokensPerSecond,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    evalBefore: { loss: evalBefore.loss, perplexity: evalBefore.perplexity },
    evalAfter: { loss: evalAfter.loss, perplexity: evalAfter.perplexity },
    samplesBefore,
    samplesAfter,
    logHistory: r.logHistory,
  };
}

const spec: Spec = {
  model: { type: 'string', required: true, help: 'base model folder' },
  train: { type: 'string', required: true, help: 'training text file' },
  eval: { type: 'string', required: true, help: 'held-out text file' },
  out: { type: 'string', required: true, help: 'output folder' },
  full: { type: 'boolean', help: 'full fine-tuning instead of LoRA' },
  steps: { type: 'int', help: 'max steps' },
  'batch-size': { type: 'int', default: 8, help: 'batch size' },
  'block-size': { type: 'int', default: 64, help: 'block size' },
  lr: { type: 'number', help: 'learning rate' },
  r: { type: 'int', default: 8, help: 'LoRA rank' },
  alpha: { type: 'number', default: 16, help: 'LoRA alpha' },
  prompts: { type: 'string', default: '[]', help: 'JSON list of prompts for samples' },
  result: { type: 'string', help: 'write the result JSON here' },
  threads: { type: 'int', help: 'libtorch threads' },
  precision: { type: 'string', default: 'fp32', help: 'fp32 or bf16 (bfloat16 autocast)' },
};

if (require.main === module) {
  (async () => {
    const f = parseFlags('train-lora', process.argv.slice(2), spec);
    const result = await trainLoRA({
      modelDir: f.model as string, trainFile: f.train as string, evalFile: f.eval as string, outDir: f.out as string,
      full: Boolean(f.full), maxSteps: f.steps as number | undefined, batchSize: f['batch-size'] as number,
      blockSize: f['block-size'] as number, lr: f.lr as number | undefined, prompts: JSON.parse(f.prompts as string),
      r: f.r as number, alpha: f.alpha as number,
      threads: f.threads as number | undefined, precision: f.precision as 'fp32' | 'bf16',
    });
    const json = JSON.stringify(result);
    if (f.result) torch.io.writeFileAtomic(path.resolve(f.result as string), json);
    else console.log(json);
  })().catch((e) => {
    console.error(`train-lora: ${(e as Error).message}`);
    process.exit(1);
  });
}
