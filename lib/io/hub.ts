// The Hugging Face cache: what `huggingface-cli download gpt2`, from_pretrained('gpt2') or
// @huggingface/hub's snapshotDownload left on this machine, found by name as
// from_pretrained('gpt2') finds it offline (HF_HUB_OFFLINE=1). Nothing is downloaded here.
//
// Layout (huggingface_hub's file_download): <cache>/models--<org>--<name>/refs/<branch> holds a
// commit hash, snapshots/<commit>/ holds the files (links into blobs/). The cache is
// $HF_HUB_CACHE, else $HUGGINGFACE_HUB_CACHE, else $HF_HOME/hub, else
// $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readJsonObject } from './json';

export type RepoType = 'model' | 'dataset';

/** The folder huggingface_hub caches repositories in, from the same environment variables. */
export function hubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  if (env.HUGGINGFACE_HUB_CACHE) return env.HUGGINGFACE_HUB_CACHE;
  const home = env.HF_HOME ?? path.join(env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'huggingface');
  return path.join(home, 'hub');
}

/** Whether a name can be a hub repository id: `name` or `org/name`, letters, digits, - _ . (no .., no --, as huggingface_hub's check). */
export function isRepoId(name: string): boolean {
  return /^(?:[\w][\w.-]*\/)?[\w][\w.-]*$/.test(name) && !name.includes('..') && !name.includes('--') && !name.endsWith('.');
}

/** A repository's folder in the cache: models--org--name (datasets--org--name). */
export function repoFolder(repoId: string, repoType: RepoType = 'model', cache = hubCacheDir()): string {
  return path.join(cache, `${repoType}s--${repoId.split('/').join('--')}`);
}

/**
 * The snapshot folder of `repoId` at `revision` (a branch or tag in refs/, default main, or a
 * commit hash) in the cache; undefined when it is not there.
 */
export function cachedSnapshot(repoId: string, opts: { revision?: string; repoType?: RepoType; cache?: string } = {}): string | undefined {
  if (!isRepoId(repoId)) return undefined;
  const repo = repoFolder(repoId, opts.repoType ?? 'model', opts.cache ?? hubCacheDir());
  const revision = opts.revision ?? 'main';
  let commit = revision;
  const ref = path.join(repo, 'refs', revision);
  if (!/^[0-9a-f]{40}$/.test(revision)) {
    if (!fs.existsSync(ref)) return undefined;
    commit = fs.readFileSync(ref, 'utf8').trim();
  }
  const snapshot = path.join(repo, 'snapshots', commit);
  return fs.existsSync(snapshot) && fs.statSync(snapshot).isDirectory() ? snapshot : undefined;
}

/**
 * A model (or adapter, tokenizer) folder from what from_pretrained accepts: a local folder as it
 * is, else a hub id (`gpt2`, `openai-community/gpt2`) found in the Hugging Face cache. Anything
 * else is returned unchanged, for the caller's own "no such folder" error.
 */
export function resolvePretrained(nameOrPath: string, opts: { revision?: string; repoType?: RepoType } = {}): string {
  if (fs.existsSync(nameOrPath)) {
    if (opts.revision !== undefined) throw new Error(`${nameOrPath}: a local folder has no revisions (revision '${opts.revision}' is for a hub id in the Hugging Face cache)`);
    return nameOrPath;
  }
  const snapshot = cachedSnapshot(nameOrPath, opts);
  if (snapshot) return snapshot;
  if (opts.revision !== undefined && isRepoId(nameOrPath)) {
    const repo = repoFolder(nameOrPath, opts.repoType ?? 'model');
    const refs = fs.existsSync(path.join(repo, 'refs')) ? fs.readdirSync(path.join(repo, 'refs')) : [];
    throw new Error(`${nameOrPath}: revision '${opts.revision}' is not in the Hugging Face cache (${repo}${refs.length ? `: it has ${refs.join(', ')}` : ': not there'})`);
  }
  return nameOrPath;
}

/** Where a missing model folder could have come from, for error messages: the cache folder looked in. */
export function notInCacheHint(nameOrPath: string, repoType: RepoType = 'model'): string {
  if (!isRepoId(nameOrPath)) return '';
  return ` (nor a hub id in the Hugging Face cache: no ${path.join(repoFolder(nameOrPath, repoType), 'refs', 'main')}; download it there with huggingface-cli download${repoType === 'dataset' ? ' --repo-type dataset' : ''} ${nameOrPath}, or set HF_HOME / HF_HUB_CACHE)`;
}

/**
 * The hub id of a folder inside the cache (…/models--org--name/snapshots/<commit>[/sub]):
 * `org/name`; undefined for any other folder. What from_pretrained's name_or_path would be.
 */
export function repoIdOf(dir: string): string | undefined {
  const parts = path.resolve(dir).split(path.sep);
  const i = parts.lastIndexOf('snapshots');
  if (i < 1 || i + 1 >= parts.length) return undefined;
  const m = /^(?:models|datasets)--(.+)$/.exec(parts[i - 1]);
  return m ? m[1].split('--').join('/') : undefined;
}

/** A PEFT adapter folder's adapter_config.json, as it is (an error that says so where it is not a JSON object). */
export function readAdapterConfigFile(dir: string): Record<string, unknown> {
  return readJsonObject(path.join(dir, 'adapter_config.json'), 'adapter', 'a PEFT adapter folder needs a readable adapter_config.json');
}

/**
 * The base model of a PEFT adapter folder (adapter_config.json and no config.json): its
 * base_model_name_or_path, a folder or a hub id, relative paths as from the working directory
 * (as transformers, with PEFT installed, loads such a folder); undefined for any other folder.
 */
export function adapterBaseModel(dir: string): string | undefined {
  if (fs.existsSync(path.join(dir, 'config.json')) || !fs.existsSync(path.join(dir, 'adapter_config.json'))) return undefined;
  const base = readAdapterConfigFile(dir).base_model_name_or_path;
  if (typeof base !== 'string' || base === '') {
    throw new Error(`${dir} is a PEFT adapter (adapter_config.json) that does not name its base model (base_model_name_or_path): load the base model, then torch.lora.loadAdapter(model, '${dir}')`);
  }
  return base;
}
