// tstorch merge: fold a LoRA adapter into the base weights; writes a plain HF GPT-2 folder.
import * as fs from 'fs';
import * as torch from '../../index';
import { writeDirAtomic } from '../../io/atomic';
import { saveTokenizerFiles, TOKENIZER_FILES } from '../../models/tokenizer';
import { Spec } from '../args';
import { loadModelFromFlags, sharedFlags } from './common';

export const summary = 'merge a LoRA adapter into its base model (a plain Hugging Face GPT-2 folder)';
export const spec: Spec = {
  model: sharedFlags.model,
  adapter: { ...sharedFlags.adapter, required: true },
  out: { type: 'string', required: true, help: 'folder for the merged model (replaced whole)', aliases: ['output-dir'] },
  dtype: { type: 'string', default: 'float32', help: 'float32, float16 or bfloat16: the merged weights\' type (half the size in 16 bits; config.json says which, as HF\'s torch_dtype)' },
};

export async function run(f: Record<string, unknown>): Promise<void> {
  const out = f.out as string;
  if (fs.existsSync(out) && fs.readdirSync(out).some((n) => !['config.json', 'generation_config.json', 'model.safetensors', ...TOKENIZER_FILES].includes(n))) {
    throw new Error(`--out ${out} exists and holds other files; give an empty or new folder`);
  }
  const dtype = f.dtype as torch.DType;
  if (!['float32', 'float16', 'bfloat16'].includes(dtype)) throw new Error(`--dtype must be float32, float16 or bfloat16, got '${dtype}'`);
  const model = await loadModelFromFlags(f);
  torch.lora.mergeAndUnload(model); // (merged in float32, then cast: no rounding of the update before the add)
  if (dtype !== 'float32') model.to({ dtype });
  // The folder appears whole: written aside, then renamed into place.
  writeDirAtomic(out, (tmp) => {
    model.writePretrained(tmp);
    saveTokenizerFiles(f.model as string, tmp, { modelMaxLength: model.config.n_positions });
  });
  console.log(`merged model written to ${out}`);
  model.dispose();
}
