// Shared pieces of the CLI commands: loading a model (and adapter), reading a data file.
import * as fs from 'fs';
import * as torch from '../../index';
import { FlagSpec } from '../args';

/** Flags several commands share, spelled once. */
export const sharedFlags: Record<'model' | 'adapter' | 'device' | 'cleaning' | 'attn' | 'text-column', FlagSpec> = {
  model: { type: 'string', required: true, help: 'Hugging Face GPT-2 folder (config.json + model.safetensors)' },
  adapter: { type: 'string', help: 'PEFT LoRA adapter folder' },
  device: { type: 'string', default: 'cpu', help: 'cpu or cuda' },
  cleaning: { type: 'string', help: 'basic | notebook | none (default: notebook for .csv, none for text)' },
  'text-column': { type: 'string', help: 'the documents\' column of a .csv (default Article) or field of a .jsonl (default text)' },
  attn: { type: 'string', help: `attention: sdpa (fused kernels) or eager (default: ${torch.nn.functional.hasFusedAttention ? 'sdpa' : 'eager'} with this libtorch)` },
};

/** --attn as the model option (undefined: the library's default). */
export function attnFlag(f: Record<string, unknown>): torch.AttnImplementation | undefined {
  const a = f.attn as string | undefined;
  if (a !== undefined && a !== 'sdpa' && a !== 'eager') throw new Error(`--attn must be sdpa or eager, got '${a}'`);
  return a;
}

/** The model (and adapter) named by --model / --adapter / --device. */
export function loadModelFromFlags(f: Record<string, unknown>): Promise<torch.GPT2LMHeadModel> {
  return loadModel(f.model as string, { adapter: f.adapter as string | undefined, device: f.device as string | undefined, attn: attnFlag(f) });
}

export async function loadModel(dir: string, opts: { adapter?: string; device?: string; attn?: torch.AttnImplementation } = {}): Promise<torch.GPT2LMHeadModel> {
  if (!fs.existsSync(dir)) throw new Error(`--model ${dir}: no such folder`);
  checkDevice(opts.device);
  const model = await torch.GPT2LMHeadModel.fromPretrained(dir, { attnImplementation: opts.attn });
  if (opts.adapter) {
    if (!fs.existsSync(opts.adapter)) throw new Error(`--adapter ${opts.adapter}: no such folder`);
    await torch.lora.loadAdapter(model, opts.adapter);
  }
  if (opts.device && opts.device !== 'cpu') model.to({ device: opts.device });
  return model.eval();
}

export function checkDevice(device?: string): void {
  if (device === undefined || device === 'cpu') return;
  if (!/^cuda(:\d+)?$/.test(device)) throw new Error(`--device must be cpu or cuda[:N], got '${device}'`);
  if (!torch.cuda.isAvailable()) throw new Error(`--device ${device}: CUDA is not available in this build (${torch.buildInfo().torchSource} libtorch ${torch.buildInfo().torchVersion}, CPU only)`);
}

export function loadDataset(file: string, blockSize: number, model?: torch.GPT2LMHeadModel, cleaning?: string, column?: string): torch.data.TextDataset {
  if (!fs.existsSync(file)) throw new Error(`${file}: no such file`);
  if (!Number.isInteger(blockSize) || blockSize < 2) throw new Error(`--block-size must be an integer >= 2, got ${blockSize}`);
  if (model && blockSize > model.config.n_positions) {
    throw new Error(`--block-size ${blockSize} exceeds the model's n_positions (${model.config.n_positions})`);
  }
  if (cleaning !== undefined && !['basic', 'notebook', 'none'].includes(cleaning)) throw new Error(`--cleaning must be basic, notebook or none, got '${cleaning}'`);
  const text = torch.data.readTrainingText(file, { cleaning: cleaning as torch.data.CleaningMode | undefined, column });
  const ds = torch.data.TextDataset.fromText(text, blockSize);
  if (ds.length === 0) throw new Error(`${file}: ${torch.tokenizer.encode(text).length} tokens, fewer than one block of ${blockSize}`);
  if (model && model.config.vocab_size < torch.tokenizer.vocabSize) {
    const max = ds.blocks.reduce((m, b) => Math.max(m, ...b), 0);
    if (max >= model.config.vocab_size) {
      throw new Error(`${file}: GPT-2 token ids up to ${max}, but the model's vocab_size is ${model.config.vocab_size} (not a GPT-2-vocabulary model)`);
    }
  }
  return ds;
}
