// torch.save / torch.load for tensors by name (state dicts): PyTorch's zip format by default,
// safetensors for a .safetensors file; load tells the formats apart by their first bytes.
import * as fs from 'fs';
import { Tensor } from '../tensor/tensor';
import { loadFile, saveFile } from './safetensors';
import { loadTorchFile } from './torchfile';
import { saveTorchFile } from './torchsave';

/**
 * Saves tensors by name (a Map, a plain object, or a module's stateDict()): as safetensors when
 * the file ends in .safetensors (or format says so), otherwise in torch.save's format, which
 * Python's torch.load reads. Written whole or not at all.
 */
export function save(tensors: Map<string, Tensor> | Record<string, Tensor>, file: string, opts: { format?: 'torch' | 'safetensors' } = {}): void {
  const format = opts.format ?? (file.endsWith('.safetensors') ? 'safetensors' : 'torch');
  if (format === 'safetensors') saveFile(file, tensors);
  else if (format === 'torch') saveTorchFile(file, tensors);
  else throw new Error(`torch.save: unknown format '${format}' (use 'torch' or 'safetensors')`);
}

/** Loads tensors by name from a torch.save file (zip or legacy; weights only) or a safetensors file. */
export function load(file: string, opts: { device?: string } = {}): Map<string, Tensor> {
  let head: Buffer;
  try {
    const fd = fs.openSync(file, 'r');
    head = Buffer.alloc(16);
    fs.readSync(fd, head, 0, 16, 0);
    fs.closeSync(fd);
  } catch (e) {
    throw new Error(`torch.load: cannot read ${file}: ${(e as Error).message}`);
  }
  // zip: 'PK\x03\x04'; legacy torch.save: a pickle (PROTO 0x80); safetensors: an 8-byte header length, then '{'.
  if (head.readUInt32LE(0) === 0x04034b50 || head[0] === 0x80) return loadTorchFile(file, opts).tensors;
  if (head[8] === 0x7b) return loadFile(file, opts).tensors;
  throw new Error(`torch.load: ${file} is neither a torch.save file nor safetensors`);
}
