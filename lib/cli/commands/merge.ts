// tstorch merge: fold a LoRA adapter into the base weights; writes a plain HF GPT-2 folder.
import * as fs from 'fs';
import * as torch from '../../index';
import { writeDirAtomic } from '../../io/atomic';
import { isModelWeightFile, parseFileSize } from '../../io/weights';
import { hasTokenizerFiles, saveTokenizerFiles, tokenizerFor, TOKENIZER_FILES } from '../../models/tokenizer';
import { Spec } from '../args';
import { isClassifierSetup, isTokenClassifierSetup, loadClassifier, loadModelFromFlags, loadTokenClassifier, sharedFlags } from './common';
import { notInCacheHint } from '../../io/hub';
import { SUMMARIES } from '../summaries';

export const summary = SUMMARIES.merge;
export const spec: Spec = {
  model: sharedFlags.model,
  revision: sharedFlags.revision,
  adapter: { ...sharedFlags.adapter, help: 'PEFT LoRA adapter folder (or --adapters for several)' },
  adapters: { type: 'string', help: 'several adapter folders, comma-separated, merged as one weighted adapter (PEFT\'s add_weighted_adapter)' },
  weights: { type: 'string', help: 'with --adapters: a weight each, comma-separated (default all 1; negative subtracts)' },
  'combination-type': { type: 'string', default: 'cat', help: 'with --adapters: cat (exactly the weighted sum), linear (equal ranks) or svd (cut to --svd-rank)' },
  'svd-rank': { type: 'int', help: 'with --combination-type svd: the merged adapter\'s rank (default the largest)' },
  out: { type: 'string', required: true, help: 'folder for the merged model (replaced whole)', aliases: ['output-dir'] },
  dtype: { type: 'string', default: 'float32', help: 'float32, float16 or bfloat16: the merged weights\' type (half the size in 16 bits; config.json says which, as HF\'s torch_dtype)' },
  'max-shard-size': { type: 'string', default: '5GB', help: 'weights past this size are split into shards with an index, as HF\'s save_pretrained (max_shard_size): bytes, or e.g. 2GB, 500MB, 1GiB' },
  'safe-serialization': { type: 'boolean', default: true, help: 'model.safetensors (default); --no-safe-serialization writes pytorch_model.bin (torch.save format) for tools that read only that' },
};

export async function run(f: Record<string, unknown>): Promise<void> {
  const out = f.out as string;
  if (fs.existsSync(out) && fs.readdirSync(out).some((n) => !['config.json', 'generation_config.json', ...TOKENIZER_FILES].includes(n) && !isModelWeightFile(n))) {
    throw new Error(`--out ${out} exists and holds other files; give an empty or new folder`);
  }
  const saveOpts = { maxShardSize: f['max-shard-size'] as string, safeSerialization: f['safe-serialization'] as boolean };
  parseFileSize(saveOpts.maxShardSize, '--max-shard-size'); // (a bad size is refused before the merge's work)
  const dtype = f.dtype as torch.DType;
  if (!['float32', 'float16', 'bfloat16'].includes(dtype)) throw new Error(`--dtype must be float32, float16 or bfloat16, got '${dtype}'`);
  const model = f.adapters === undefined ? await loadWithAdapter(f) : await loadWeighted(f);
  torch.lora.mergeAndUnload(model); // (merged in float32, then cast: no rounding of the update before the add)
  if (dtype !== 'float32') model.to({ dtype });
  // The folder appears whole: written aside, then renamed into place.
  writeDirAtomic(out, (tmp) => {
    model.writePretrained(tmp, saveOpts);
    // (a run's chat template, saved beside its adapter, goes with the merged model)
    const adapterDir = f.adapter as string | undefined;
    const chatTemplate = adapterDir && hasTokenizerFiles(adapterDir) ? tokenizerFor(adapterDir).chatTemplate ?? undefined : undefined;
    saveTokenizerFiles(f.model as string, tmp, { modelMaxLength: model.config.n_positions, chatTemplate });
  });
  console.log(`merged model written to ${out}`);
  model.dispose();
}

async function loadWithAdapter(f: Record<string, unknown>): Promise<torch.GPT2LMHeadModel | torch.GPT2ForSequenceClassification | torch.GPT2ForTokenClassification> {
  if (f.adapter === undefined) throw new Error('missing --adapter (or --adapters A,B for several, or an adapter folder as --model); see: tstorch merge --help');
  // a SEQ_CLS adapter: merged into a classifier (its trained head included), written as GPT2ForSequenceClassification
  if (isClassifierSetup(f.model as string, f.adapter as string)) return loadClassifier(f.model as string, { adapter: f.adapter as string, padTokenId: tokenizerFor(f.model as string).eosTokenId });
  if (isTokenClassifierSetup(f.model as string, f.adapter as string)) return loadTokenClassifier(f.model as string, { adapter: f.adapter as string });
  return loadModelFromFlags(f);
}

/** --adapters: each loaded under a name of its own, then their weighted combination made the active adapter. */
async function loadWeighted(f: Record<string, unknown>): Promise<torch.GPT2LMHeadModel> {
  if (f.adapter !== undefined) throw new Error('--adapter and --adapters: give one');
  const dirs = (f.adapters as string).split(',').map((d) => d.trim()).filter(Boolean);
  if (!dirs.length) throw new Error('--adapters is empty');
  for (const d of dirs) if (!fs.existsSync(d)) throw new Error(`--adapters: ${d}: no such folder${notInCacheHint(d)}`);
  const weights = f.weights === undefined ? dirs.map(() => 1) : (f.weights as string).split(',').map((w) => Number(w.trim()));
  if (weights.length !== dirs.length || weights.some((w) => !Number.isFinite(w))) throw new Error(`--weights must be ${dirs.length} numbers, one per adapter; got '${f.weights}'`);
  const kind = f['combination-type'] as 'cat' | 'linear' | 'svd';
  if (!['cat', 'linear', 'svd'].includes(kind)) throw new Error(`--combination-type must be cat, linear or svd; got '${kind}'`);
  const model = await loadModelFromFlags({ ...f, adapter: undefined });
  const names = dirs.map((_, i) => `adapter${i}`);
  for (const [i, d] of dirs.entries()) await torch.lora.loadAdapter(model, d, { adapterName: names[i] });
  torch.lora.addWeightedAdapter(model, names, weights, 'merged', { combinationType: kind, svdRank: f['svd-rank'] as number | undefined });
  torch.lora.setAdapter(model, 'merged');
  return model;
}
