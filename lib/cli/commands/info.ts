// tstorch info: what this install runs on.
import * as fs from 'fs';
import * as path from 'path';
import * as torch from '../../index';
import { root } from '../../loader';
import { Spec } from '../args';
import { SUMMARIES } from '../summaries';

export const spec: Spec = {
  json: { type: 'boolean', help: 'print one JSON object' },
};
export const summary = SUMMARIES.info;

export function run(flags: Record<string, unknown>): void {
  const b = torch.buildInfo();
  const info = {
    tstorch: JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version as string,
    libtorch: b.torchVersion,
    libtorchSource: b.torchSource,
    builtWithCuda: b.builtWithCuda,
    cudaAvailable: b.cudaAvailable,
    cudaDevices: b.cudaDeviceCount,
    threads: torch.getNumThreads(),
    addon: b.addon ? `${b.addon.kind}: ${b.addon.file}` : null,
    node: process.version,
    // where hub ids (--model gpt2) are looked up, and the models there
    hubCache: torch.io.hubCacheDir(),
    hubModels: cachedModels(torch.io.hubCacheDir()),
    // where large texts' ids are cached (tstorch cache lists and clears it)
    tokenCache: torch.data.tokenCacheDir(),
  };
  if (flags.json) console.log(JSON.stringify(info));
  else for (const [k, v] of Object.entries(info)) console.log(`${k.padEnd(16)} ${v}`);
}

/** The model repositories in the Hugging Face cache (models--org--name) that have a snapshot of main. */
function cachedModels(cache: string): string[] {
  if (!fs.existsSync(cache)) return [];
  return fs.readdirSync(cache).filter((n) => n.startsWith('models--')).map((n) => n.slice('models--'.length).split('--').join('/'))
    .filter((id) => torch.io.cachedSnapshot(id, { cache }) !== undefined).sort();
}
