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
  out: { type: 'string', required: true, help: 'folder for the merged model (replaced whole)' },
};

export async function run(f: Record<string, unknown>): Promise<void> {
  const out = f.out as string;
  if (fs.existsSync(out) && fs.readdirSync(out).some((n) => !['config.json', 'model.safetensors', ...TOKENIZER_FILES].includes(n))) {
    throw new Error(`--out ${out} exists and holds other files; give an empty or new folder`);
  }
  const model = await loadModelFromFlags(f);
  torch.lora.mergeAndUnload(model);
  // The folder appears whole: written aside, then renamed into place.
  writeDirAtomic(out, (tmp) => {
    model.writePretrained(tmp);
    saveTokenizerFiles(f.model as string, tmp, { modelMaxLength: model.config.n_positions });
  });
  console.log(`merged model written to ${out}`);
  model.dispose();
}
