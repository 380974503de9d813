// The weight files of a Hugging Face folder, found as from_pretrained finds them: safetensors
// first (one file, or shards with an index), else PyTorch's pickled checkpoints
// (pytorch_model.bin, or its shards), read without Python (see torchfile.ts); and written as
// save_pretrained writes them (sharded past a size, safetensors or .bin).
import * as fs from 'fs';
import * as path from 'path';
import { Tensor } from '../tensor/tensor';
import { LoadOptions, loadFile, loadSharded, saveFile } from './safetensors';
import { loadTorchFile } from './torchfile';
import { saveTorchFile } from './torchsave';
import { writeFileAtomic } from './atomic';
import { keywordOptions } from '../tensor/options';

type Loader = (file: string, opts: LoadOptions) => { tensors: Map<string, Tensor> };

const loadTorchSharded: Loader = (file, opts) => loadSharded(file, { ...opts, loadShard: loadTorchFile });

/** File names by kind, in the order Hugging Face prefers them. */
const CANDIDATES: Record<'model' | 'adapter', [string, Loader][]> = {
  model: [['model.safetensors', loadFile], ['model.safetensors.index.json', loadSharded], ['pytorch_model.bin', loadTorchFile], ['pytorch_model.bin.index.json', loadTorchSharded]],
  adapter: [['adapter_model.safetensors', loadFile], ['adapter_model.bin', loadTorchFile]],
};

/** Whether a folder has a weight file of that kind (an adapter's: what PEFT's from_pretrained reads). */
export function hasWeights(dir: string, kind: 'model' | 'adapter'): boolean {
  return CANDIDATES[kind].some(([name]) => fs.existsSync(path.join(dir, name)));
}

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

/** How savePretrained writes a model's weights (Hugging Face's save_pretrained arguments). */
export interface SaveWeightsOptions {
  /**
   * The largest a weights file may be before the weights are split into shards with an index
   * (HF's max_shard_size): bytes, or a string such as '5GB' (10^9), '2GiB' (2^30), '500MB'.
   * Default '5GB', as transformers. A tensor bigger than that gets a shard of its own.
   */
  maxShardSize?: number | string;
  /** safetensors (default, HF's safe_serialization=True), or false: PyTorch's pytorch_model.bin (torch.save's zip format), for tools that read only that */
  safeSerialization?: boolean;
}

const SIZE_UNITS: Record<string, number> = { KIB: 2 ** 10, MIB: 2 ** 20, GIB: 2 ** 30, TIB: 2 ** 40, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, B: 1 };

/** HF's convert_file_size_to_int: 5e9 for '5GB', 2^31 for '2GiB', a number as it is; a lowercase final 'b' is bits ('5Gb': 5e9 / 8). */
export function parseFileSize(size: number | string, what = 'maxShardSize'): number {
  if (typeof size === 'number') {
    if (!(Number.isSafeInteger(size) && size > 0)) throw new Error(`${what}: ${size} is not a positive whole number of bytes`);
    return size;
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]I?B|B)?\s*$/i.exec(size);
  if (!m) throw new Error(`${what}: '${size}' is not a size; give bytes or a number with a unit (e.g. '5GB', '500MB', '2GiB')`);
  const unit = (m[2] ?? 'B').toUpperCase();
  const bytes = Math.floor(Number(m[1]) * SIZE_UNITS[unit] / (m[2]?.endsWith('b') && unit !== 'B' ? 8 : 1));
  if (!(bytes > 0)) throw new Error(`${what}: '${size}' is no bytes`);
  return bytes;
}

// The weight files a folder can hold (those loadWeights looks for, and their shards).
const MODEL_WEIGHT_FILE = /^(model(-\d{5}-of-\d{5})?\.safetensors|model\.safetensors\.index\.json|pytorch_model(-\d{5}-of-\d{5})?\.bin|pytorch_model\.bin\.index\.json)$/;

/** Whether a file name is one of a model's weight files (model.safetensors, a shard, an index, pytorch_model.bin, ...). */
export function isModelWeightFile(name: string): boolean {
  return MODEL_WEIGHT_FILE.test(name);
}

/**
 * Splits tensors into shards as huggingface_hub's split_torch_state_dict_into_shards: in order,
 * a new shard when the next tensor would take this one past maxBytes, a tensor bigger than
 * maxBytes in a shard of its own; a tensor under several names counted once and kept with its
 * first name's shard. One shard: no index.
 */
export function shardWeights(tensors: Map<string, Tensor>, maxBytes: number): { shards: Map<string, Tensor>[]; totalSize: number } {
  const shards: Map<string, Tensor>[] = [];
  const sharedWith = new Map<Tensor, string[]>();
  let current = new Map<string, Tensor>(), currentSize = 0, totalSize = 0;
  for (const [name, t] of tensors) {
    const names = sharedWith.get(t);
    if (names) {
      names.push(name);
      continue;
    }
    sharedWith.set(t, [name]);
    const size = t.nbytes;
    totalSize += size;
    if (size > maxBytes) {
      shards.push(new Map([[name, t]]));
      continue;
    }
    if (currentSize + size > maxBytes) {
      shards.push(current);
      current = new Map();
      currentSize = 0;
    }
    current.set(name, t);
    currentSize += size;
  }
  if (current.size) shards.push(current);
  for (const [t, [first, ...rest]] of sharedWith) {
    if (!rest.length) continue;
    const home = shards.find((s) => s.has(first))!;
    for (const name of rest) home.set(name, t);
  }
  return { shards, totalSize };
}

/**
 * Writes a model's weights into dir as Hugging Face's save_pretrained does: model.safetensors,
 * or past maxShardSize model-00001-of-0000N.safetensors ... with model.safetensors.index.json
 * (pytorch_model*.bin and its index with safeSerialization false). The files are written aside
 * and renamed into place together; then weight files of an earlier save that this one does not
 * replace are removed (HF leaves some, and a stale model.safetensors would be read instead of new
 * shards). Returns the names written.
 */
export function saveWeights(dir: string, tensors: Map<string, Tensor>, opts: SaveWeightsOptions = {}): string[] {
  keywordOptions('savePretrained', opts, ['maxShardSize', 'safeSerialization']);
  if (opts.safeSerialization !== undefined && typeof opts.safeSerialization !== 'boolean') throw new Error(`savePretrained: safeSerialization is true or false, got ${JSON.stringify(opts.safeSerialization)}`);
  const safe = opts.safeSerialization ?? true;
  const { shards, totalSize } = shardWeights(tensors, parseFileSize(opts.maxShardSize ?? '5GB'));
  if (!shards.length) shards.push(new Map());
  const [stem, ext] = safe ? ['model', '.safetensors'] : ['pytorch_model', '.bin'];
  const nameOf = (i: number) => (shards.length === 1 ? `${stem}${ext}` : `${stem}-${String(i + 1).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}${ext}`);
  fs.mkdirSync(dir, { recursive: true });
  const staged: [string, string][] = []; // [temporary, final]
  const stage = (name: string, write: (file: string) => void) => {
    const tmp = path.join(dir, `.${name}.tmp-${process.pid}-${Date.now()}`);
    staged.push([tmp, path.join(dir, name)]);
    write(tmp);
  };
  try {
    shards.forEach((shard, i) => stage(nameOf(i), (file) => (safe ? saveFile(file, shard, { format: 'pt' }) : saveTorchFile(file, shard))));
    if (shards.length > 1) {
      const weightMap: Record<string, string> = {};
      shards.forEach((shard, i) => { for (const name of shard.keys()) weightMap[name] = nameOf(i); });
      const index = { metadata: { total_size: totalSize }, weight_map: Object.fromEntries(Object.entries(weightMap).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) };
      stage(`${stem}${ext}.index.json`, (file) => writeFileAtomic(file, JSON.stringify(index, null, 2) + '\n'));
    }
  } catch (e) {
    for (const [tmp] of staged) fs.rmSync(tmp, { force: true });
    throw e;
  }
  for (const [tmp, file] of staged) fs.renameSync(tmp, file);
  const written = staged.map(([, file]) => path.basename(file));
  for (const name of fs.readdirSync(dir)) {
    if (isModelWeightFile(name) && !written.includes(name)) fs.rmSync(path.join(dir, name), { force: true });
  }
  return written;
}
