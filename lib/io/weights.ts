// The weight files of a Hugging Face folder, found as from_pretrained finds them: safetensors
// first (one file, or shards with an index), else PyTorch's pickled checkpoints
// (pytorch_model.bin, or its shards), read without Python (see torchfile.ts).
import * as fs from 'fs';
import * as path from 'path';
import { Tensor } from '../tensor/tensor';
import { LoadOptions, loadFile, loadSharded } from './safetensors';
import { loadTorchFile } from './torchfile';

type Loader = (file: string, opts: LoadOptions) => { tensors: Map<string, Tensor> };

const loadTorchSharded: Loader = (file, opts) => loadSharded(file, { ...opts, loadShard: loadTorchFile });

/** File names by kind, in the order Hugging Face prefers them. */
const CANDIDATES: Record<'model' | 'adapter', [string, Loader][]> = {
  model: [['model.safetensors', loadFile], ['model.safetensors.index.json', loadSharded], ['pytorch_model.bin', loadTorchFile], ['pytorch_model.bin.index.json', loadTorchSharded]],
  adapter: [['adapter_model.safetensors', loadFile], ['adapter_model.bin', loadTorchFile]],
};

/**
 * Loads a folder's model (or adapter) weights from the first of its weight files there is; the
 * file it read comes back with them (for messages). No file at all is an error naming what was looked for.
 */
export function loadWeights(dir: string, kind: 'model' | 'adapter', opts: LoadOptions = {}): { tensors: Map<string, Tensor>; file: string } {
  for (const [name, load] of CANDIDATES[kind]) {
    const file = path.join(dir, name);
    if (fs.existsSync(file)) return { tensors: load(file, opts).tensors, file };
  }
  throw new Error(`${kind === 'model' ? 'GPT-2' : 'adapter'}: ${path.join(dir, CANDIDATES[kind][0][0])} not found (nor ${CANDIDATES[kind].slice(1).map(([n]) => n).join(', ')})`);
}
