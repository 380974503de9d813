// torch.save / torch.load for tensors by name (state dicts): PyTorch's zip format by default,
// safetensors for a .safetensors file; load tells the formats apart by their first bytes.
import * as fs from 'fs';
import { Tensor } from '../tensor/tensor';
import { loadFile, saveFile } from './safetensors';
import { loadTorchFile, loadTorchObject, Unpickled } from './torchfile';
import { saveTorchFile, isStateDict, Picklable } from './torchsave';
import { keywordOptions } from '../tensor/options';

/**
 * Saves tensors by name (a Map, a plain object, or a module's stateDict()): as safetensors when
 * the file ends in .safetensors (or format says so), otherwise in torch.save's format, which
 * Python's torch.load reads. In torch.save's format anything Picklable goes too: a checkpoint
 * such as { epoch, model: model.stateDict(), optimizer: ..., losses: [...] } (read it back with
 * torch.loadObject). Written whole or not at all.
 */
export function save(obj: Picklable, file: string, opts: { format?: 'torch' | 'safetensors' } = {}): void {
  const format = opts.format ?? (file.endsWith('.safetensors') ? 'safetensors' : 'torch');
  if (format === 'safetensors') {
    if (!isStateDict(obj)) throw new Error(`torch.save: ${file}: safetensors holds only tensors by name; save this object in torch.save's format (a file name not ending in .safetensors)`);
    saveFile(file, obj);
  } else if (format === 'torch') saveTorchFile(file, obj);
  else throw new Error(`torch.save: unknown format '${format}' (use 'torch' or 'safetensors')`);
}

/**
 * torch.load of a whole torch.save file: dicts, lists, numbers, strings and tensors as Python
 * saved them (see torch.io.loadTorchObject), e.g. a training checkpoint with a model's and an
 * optimizer's state. torch.load gives the state dict alone.
 */
export function loadObject(file: string, opts: LoadOptions | string = {}): Unpickled {
  return loadTorchObject(file, loadOptions('torch.loadObject', opts));
}

/**
 * torch.load's options: device (or PyTorch's mapLocation, a device string; also given alone as
 * the second argument, as Python's torch.load(f, 'cpu')), weightsOnly, which is how every
 * file is read here anyway (an unpickler that runs nothing), and mmap (PyTorch 2.1's): CPU
 * tensors over a private mapping of the file, read when used (see safetensors' LoadOptions.mmap).
 */
export interface LoadOptions {
  device?: string;
  mapLocation?: string;
  weightsOnly?: boolean;
  mmap?: boolean;
}
function loadOptions(name: string, opts: LoadOptions | string | undefined): { device?: string; mmap?: boolean } {
  if (typeof opts === 'string') return { device: opts };
  const o = keywordOptions<LoadOptions>(name, opts, ['device', 'mapLocation', 'weightsOnly', 'mmap']);
  if (o.mapLocation !== undefined && o.mapLocation !== null && typeof o.mapLocation !== 'string') {
    throw new Error(`${name}: mapLocation must be a device string such as 'cpu' or 'cuda:0' (a dict or a function of Python's is not taken)`);
  }
  if (o.device && o.mapLocation && o.device !== o.mapLocation) throw new Error(`${name}: give device or mapLocation, not both`);
  if (o.mmap !== undefined && typeof o.mmap !== 'boolean') throw new Error(`${name}: mmap must be true or false`);
  return { device: o.device ?? o.mapLocation ?? undefined, mmap: o.mmap };
}

/** Loads tensors by name from a torch.save file (zip or legacy; weights only) or a safetensors file. */
export function load(file: string, opts0: LoadOptions | string = {}): Map<string, Tensor> {
  const opts = loadOptions('torch.load', opts0);
  let head: Buffer, size: number;
  try {
    const fd = fs.openSync(file, 'r');
    head = Buffer.alloc(16);
    fs.readSync(fd, head, 0, 16, 0);
    size = fs.fstatSync(fd).size;
    fs.closeSync(fd);
  } catch (e) {
    throw new Error(`torch.load: cannot read ${file}: ${(e as Error).message}`);
  }
  // zip: 'PK\x03\x04'; safetensors: an 8-byte header length that fits the file, then '{'; legacy
  // torch.save: a pickle (PROTO 0x80). (Safetensors first: a header length can start with 0x80 too.)
  if (head.readUInt32LE(0) === 0x04034b50) return loadTorchFile(file, opts).tensors;
  if (head[8] === 0x7b && size >= 16 && Number(head.readBigUInt64LE(0)) + 8 <= size) return loadFile(file, opts).tensors;
  if (head[0] === 0x80) return loadTorchFile(file, opts).tensors;
  throw new Error(`torch.load: ${file} is neither a torch.save file nor safetensors`);
}
