// Shared pieces of the CLI commands: loading a model (and adapter), reading a data file.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as torch from '../../index';
import { FlagSpec } from '../args';
import { notInCacheHint } from '../../io/hub';
import { adapterHeadSize } from '../../models/sequence_classification';

/** Flags several commands share, spelled once. */
export const sharedFlags: Record<'model' | 'adapter' | 'tokenizer' | 'chat-template' | 'dataset-config-name' | 'revision' | 'device' | 'cleaning' | 'attn' | 'mmap' | 'text-column' | 'text-column-delimiter' | 'packing' | 'packing-strategy' | 'completion-only-loss' | 'assistant-only-loss' | 'eos-token' | 'dataset-num-proc' | 'dataset-cache' | 'overwrite-cache', FlagSpec> = {
  model: { type: 'string', required: true, help: 'Hugging Face GPT-2 folder (config.json + model.safetensors or pytorch_model.bin), or a hub id (gpt2, openai-community/gpt2) already in the Hugging Face cache', aliases: ['model-name-or-path'] },
  adapter: { type: 'string', help: 'PEFT LoRA adapter folder (or a hub id in the Hugging Face cache)' },
  'chat-template': { type: 'string', help: 'conversational data (TRL\'s messages, or prompt / completion / chosen / rejected as lists of {role, content}) is made text by the tokenizer\'s chat template: this one instead (a Jinja file, a folder with one, or chatml); a run saves it with its tokenizer files', aliases: ['chat-template-path'] },
  'dataset-config-name': { type: 'string', help: '--data / --eval-data given as a dataset id in the Hugging Face cache: which of its README\'s configs (HF\'s dataset_config_name; default: the one marked default)', aliases: ['dataset-config'] },
  revision: { type: 'string', help: '--model (and --tokenizer) given as a hub id: the branch, tag or commit in the Hugging Face cache (default main)', aliases: ['model-revision'] },
  tokenizer: { type: 'string', help: 'folder of the tokenizer files (vocab.json + merges.txt, or tokenizer.json) when not the --model folder\'s (HF\'s tokenizer_name); default: --model\'s own, else GPT-2\'s', aliases: ['tokenizer-name'] },
  device: { type: 'string', default: 'cpu', help: 'cpu or cuda' },
  cleaning: { type: 'string', help: 'basic | notebook | none (default: notebook for .csv, none for text)' },
  'text-column-delimiter': { type: 'string', help: 'text classification with several --text-column names (sentence1,sentence2): what joins them (run_classification\'s text_column_delimiter; default a space)' },
  'text-column': { type: 'string', help: 'the documents\' column of a .csv (default Article) or field of a .jsonl / column of a .parquet (default text); text classification: one or several, comma-separated (default text, else sentence, as run_classification)', aliases: ['dataset-text-field', 'text-column-names'] },
  packing: { type: 'boolean', default: true, help: 'texts concatenated and cut into --block-size blocks (run_clm); --no-packing: an example per line/row/object, ended by <|endoftext|>, padded per batch (TRL\'s SFT; prompt/completion .jsonl always)' },
  'packing-strategy': { type: 'string', help: 'bfd: separate examples (prompt-completion, conversations, or texts) packed as TRL\'s SFT packs them (packing_strategy=bfd): whole examples placed into --block-size rows by best-fit decreasing, each attending only to itself with positions from 0, so little is padding and each example learns what it would alone; bfd_split: longer examples cut into --block-size pieces first (no token lost)' },
  'completion-only-loss': { type: 'boolean', default: true, help: 'prompt/completion data: learn the completions only (--no-completion-only-loss: the prompts too)' },
  'assistant-only-loss': { type: 'boolean', default: false, help: 'conversations: learn the assistant\'s replies only (TRL\'s assistant_only_loss): the tokens of the chat template\'s {% generation %} blocks (chatml marks its replies by itself)' },
  'eos-token': { type: 'string', help: 'TRL\'s eos_token: another of the tokenizer\'s added tokens (e.g. <|im_end|>) as its eos: it ends each example that is not a conversation, pads the batches, and is the eos_token of the tokenizer files a run writes to --out' },
  'dataset-num-proc': { type: 'int', help: 'threads tokenizing the data (a running text, packed or --stride, or separate texts and prompt-completion examples), at most the cores (HF\'s dataset_num_proc / preprocessing_num_workers; the same ids with any number; default: every core for 8 MB of text or more, shared among a machine\'s data-parallel workers)', aliases: ['preprocessing-num-workers', 'num-proc'] },
  'dataset-cache': { type: 'boolean', default: true, help: 'data of 8 MB or more (a running text, or separate examples without assistant-only loss) has its tokens cached on disk (in $TSTORCH_CACHE, default ~/.cache/tstorch) and read back by later runs on the same files with the same tokenizer and settings, as HF\'s datasets caches; --no-dataset-cache: neither read nor written' },
  'overwrite-cache': { type: 'boolean', help: 'tokenize again and replace the cached tokens (run_clm\'s overwrite_cache)' },
  attn: { type: 'string', help: `attention: sdpa (fused kernels) or eager (default: ${torch.nn.functional.hasFusedAttention ? 'sdpa' : 'eager'} with this libtorch)`, aliases: ['attn-implementation'] },
  mmap: { type: 'boolean', default: false, help: 'the --model weights mapped from their file (torch.load\'s mmap=True), not read: loaded at once, read from the page cache as used, one copy shared by every process mapping the file; keep the file unchanged meanwhile' },
};

/** DPO's and KTO's truncation flags (train and eval read pairs alike). */
export const truncationFlags: Record<'max-prompt-length' | 'truncation-mode' | 'max-completion-length', FlagSpec> = {
  'max-prompt-length': { type: 'int', help: 'DPO and KTO: a prompt\'s last tokens kept (TRL 0.x\'s max_prompt_length; default: no limit, as TRL 1.x); --block-size caps prompt + completion (max_length)' },
  'truncation-mode': { type: 'string', default: 'keep_start', help: 'DPO and KTO: which end of a prompt + completion longer than --block-size stays: keep_start (TRL 1.x; a pair whose prompt fills --block-size is left out) or keep_end (TRL 0.x\'s default); separate examples (SFT) always keep their start' },
  'max-completion-length': { type: 'int', help: 'DPO and KTO: a completion\'s first tokens kept, its eos included (TRL 0.x\'s max_completion_length; default: no limit)' },
};

/**
 * The preference methods' loss settings, flags of train and of eval (which scores a run with the
 * settings it trained with). DPO_LOSS_FLAGS are DPO's own, CPO_FLAGS CPO's and SimPO's: both
 * commands refuse them for the other methods and other data, where they would change nothing.
 */
export const preferenceLossFlags: Record<'rpo-alpha' | 'loss-weights' | 'use-weighting' | 'ld-alpha' | 'f-divergence-type' | 'f-alpha-divergence-coef' | 'discopop-tau' | 'cpo-alpha' | 'simpo-gamma' | 'desirable-weight' | 'undesirable-weight', FlagSpec> = {
  'rpo-alpha': { type: 'number', help: 'DPO: RPO, the loss plus this times the chosen completions\' NLL, logged as nll_loss (TRL\'s rpo_alpha; the paper uses 1); default none' },
  'loss-weights': { type: 'string', help: 'DPO with several --loss-type: each one\'s weight, comma-separated (TRL\'s loss_weights; MPO\'s 0.8,0.2,1)' },
  'use-weighting': { type: 'boolean', help: 'DPO: WPO\'s weighting (TRL\'s use_weighting): each pair\'s loss times how likely the policy finds its completions, exp(mean log p - log Σp²) of both, capped at 1' },
  'ld-alpha': { type: 'number', help: 'DPO: LD-DPO (TRL\'s ld_alpha): in the policy\'s log-probability of each completion, the tokens past the shorter completion\'s length count this much (the paper takes 0 to 1); default none' },
  'f-divergence-type': { type: 'string', help: 'DPO: TRL\'s f_divergence_type (f-DPO), reverse_kl (default) | js_divergence | alpha_divergence' },
  'f-alpha-divergence-coef': { type: 'number', help: 'DPO with --f-divergence-type alpha_divergence: α (TRL\'s f_alpha_divergence_coef, default 1)' },
  'discopop-tau': { type: 'number', help: 'DPO\'s discopop loss: τ, the temperature of its mix of the logistic and exponential losses (TRL\'s discopop_tau, default 0.05)' },
  'cpo-alpha': { type: 'number', help: 'CPO: the weight of the chosen completions\' NLL in the loss (TRL\'s cpo_alpha; default 1, with --method simpo 0)' },
  'simpo-gamma': { type: 'number', help: 'SimPO (--method simpo, or cpo with --loss-type simpo): γ, the target reward margin (TRL\'s simpo_gamma, default 0.5)' },
  'desirable-weight': { type: 'number', default: 1, help: 'KTO: the desirable examples\' loss weight (TRL\'s desirable_weight)' },
  'undesirable-weight': { type: 'number', default: 1, help: 'KTO: the undesirable examples\' loss weight (TRL\'s undesirable_weight)' },
};
export const DPO_LOSS_FLAGS = ['rpo-alpha', 'loss-weights', 'use-weighting', 'ld-alpha', 'f-divergence-type', 'f-alpha-divergence-coef', 'discopop-tau'] as const;
export const CPO_FLAGS = ['cpo-alpha', 'simpo-gamma'] as const;

/** Flags as eval takes them: a run's training settings, to score it as it trained. */
export function asTrainedWith<K extends string>(flags: Record<K, FlagSpec>): Record<K, FlagSpec> {
  return Object.fromEntries(Object.entries<FlagSpec>(flags).map(([k, spec]) => [k, { ...spec, help: `${spec.help}; give it as the run trained with it` }])) as Record<K, FlagSpec>;
}

/** --max-prompt-length, --max-completion-length and --truncation-mode as the datasets' options. */
export function truncationOptions(f: Record<string, unknown>): torch.data.PreferenceOptions {
  return { maxPromptLength: (f['max-prompt-length'] as number | undefined) ?? null, maxCompletionLength: (f['max-completion-length'] as number | undefined) ?? null, truncationMode: f['truncation-mode'] as torch.data.TruncationMode };
}

/** --attn as the model option (undefined: the library's default). */
export function attnFlag(f: Record<string, unknown>): torch.AttnImplementation | undefined {
  const a = f.attn as string | undefined;
  if (a !== undefined && a !== 'sdpa' && a !== 'eager') throw new Error(`--attn must be sdpa or eager, got '${a}'`);
  return a;
}

/** The data flags of a parsed command line (tokenizer: default the --tokenizer or --model folder's). */
export function dataFlags(f: Record<string, unknown>, tokenizer?: torch.GPT2Tokenizer): DataFlags {
  return {
    cleaning: f.cleaning as string | undefined, column: f['text-column'] as string | undefined, packing: f.packing as boolean, packingStrategy: f['packing-strategy'] as string | undefined, completionOnlyLoss: f['completion-only-loss'] as boolean,
    assistantOnlyLoss: f['assistant-only-loss'] as boolean | undefined, tokenizer: tokenizer ?? tokenizerFromFlags(f), threads: tokenizeThreads(f['dataset-num-proc'] as number | undefined),
    cache: f['dataset-cache'] as boolean | undefined, overwriteCache: f['overwrite-cache'] as boolean | undefined,
  };
}

/** --dataset-num-proc as the tokenizer's threads (encodeChunks', encodeEach's): at most the cores; undefined: chosen by the text's size. */
function tokenizeThreads(n: number | undefined): number | undefined {
  if (n === undefined) return undefined;
  if (!(n >= 1)) throw new Error(`--dataset-num-proc must be >= 1 (threads tokenizing the text), got ${n}`);
  return Math.min(n, os.availableParallelism());
}

/**
 * Tokenizing threads for `bytes` of text when not given: every core from 8 MB (shared among this
 * machine's data-parallel workers, unless this one tokenizes `alone`), else one; at most a thread
 * per MB (each loads the tokenizer's tables: a many-core machine starts no more than it can use).
 */
function autoThreads(bytes: number, alone = false): number {
  const local = alone ? 1 : Number(process.env.LOCAL_WORLD_SIZE ?? 1) || 1;
  return bytes >= 8 << 20 ? Math.max(1, Math.min(Math.floor(os.availableParallelism() / local), Math.ceil(bytes / (1 << 20)))) : 1;
}

/** The commands that take --adapter. */
const ADAPTER_COMMANDS = ['eval', 'generate', 'chat', 'classify', 'merge'];

/**
 * --model and --tokenizer (at --revision), --ref-model, --adapter, --ref-adapter and --adapters given as hub ids
 * (gpt2, org/name): their snapshot folders in the Hugging Face cache, as from_pretrained finds
 * them offline. A local folder of that name wins; a name found nowhere is left for the command's
 * "no such folder" error.
 */
export function resolveHubFlags(f: Record<string, unknown>, command = ''): void {
  const revision = f.revision as string | undefined;
  for (const k of ['model', 'tokenizer']) if (typeof f[k] === 'string') f[k] = torch.io.resolvePretrained(f[k] as string, { revision });
  for (const k of ['adapter', 'ref-model', 'ref-adapter', 'assistant-model']) if (typeof f[k] === 'string') f[k] = torch.io.resolvePretrained(f[k] as string);
  if (typeof f.adapters === 'string') f.adapters = f.adapters.split(',').map((d) => torch.io.resolvePretrained(d.trim())).join(',');
  // An adapter folder alone as --model (transformers with PEFT loads one so; PEFT's AutoPeftModel):
  // its base (base_model_name_or_path) as --model, itself as --adapter.
  const base = typeof f.model === 'string' && f.adapter === undefined && f.adapters === undefined && ADAPTER_COMMANDS.includes(command) ? torch.io.adapterBaseModel(f.model) : undefined;
  if (base !== undefined) [f.model, f.adapter] = [torch.io.resolvePretrained(base), f.model];
  // TRL's dataset_test_split: the eval set is that split of --data's dataset id (where no --eval-data is given)
  const testSplit = f['dataset-test-split'] as string | undefined;
  if (testSplit !== undefined && f['eval-data'] === undefined) {
    const id = /^([^:]+)(?::.+)?$/.exec(String(f.data))?.[1];
    if (id === undefined || fs.existsSync(String(f.data)) || !torch.io.isRepoId(id)) throw new Error(`--dataset-test-split names a split of --data given as a dataset id (--data ID); for a local file give --eval-data`);
    f['eval-data'] = `${id}:${testSplit}`;
  }
  // (training reads the train split, evaluation the validation split, as HF's run_* scripts; TRL's dataset_train_split another)
  const trainSplit = command === 'eval' ? 'validation' : (f['dataset-train-split'] as string | undefined) ?? 'train';
  for (const [k, split] of [['data', trainSplit], ['eval-data', 'validation']] as const) {
    if (typeof f[k] === 'string') f[k] = resolveDatasetFlag(`--${k}`, f[k] as string, split, f['dataset-config-name'] as string | undefined);
  }
  if (f['dataset-config-name'] !== undefined && !datasetSources.has(f.data as string) && !datasetSources.has(f['eval-data'] as string)) {
    throw new Error('--dataset-config-name chooses a config of a dataset id in the Hugging Face cache: give --data ID (not a local file)');
  }
}

/** What --data / --eval-data named, where it was a dataset id: the resolved path -> "org/name (split)", for the model card. */
export const datasetSources = new Map<string, string>();

/**
 * --data ID[:SPLIT] for a dataset repository in the Hugging Face cache (huggingface-cli download
 * --repo-type dataset ID, or load_dataset's download): the split's files, as load_dataset picks
 * them (datasetSplits: the README's configs, else datasets' patterns); a local path wins.
 * Several files are given to the readers as a folder of links to them, in order. SPLIT may be
 * sliced and summed as load_dataset's split= (train[:10%], train[-100:]+validation): those rows
 * are written to a temporary folder.
 */
function resolveDatasetFlag(flag: string, value: string, defaultSplit: string, config: string | undefined): string {
  // a DatasetDict saved by save_to_disk: the split the command reads (DIR, or DIR:SPLIT)
  const local = fs.existsSync(value) ? [value, undefined] : /^(.+):([\w.]+)$/.exec(value)?.slice(1) ?? [];
  const dictSplits = local[0] !== undefined && fs.existsSync(local[0]) && fs.statSync(local[0]).isDirectory() ? torch.data.savedDatasetSplits(local[0]) : null;
  if (dictSplits) {
    const want = local[1] ?? defaultSplit;
    if (!dictSplits[want]) throw new Error(`${flag} ${value}: the saved DatasetDict has no '${want}' split (it has ${Object.keys(dictSplits).join(', ')})${local[1] === undefined ? `; give ${flag} ${value}:SPLIT` : ''}`);
    return dictSplits[want];
  }
  if (fs.existsSync(value)) return value;
  const m = /^([^:]+)(?::(.+))?$/.exec(value);
  if (!m || !torch.io.isRepoId(m[1])) return value;
  const [, id, split] = m;
  const snapshot = torch.io.cachedSnapshot(id, { repoType: 'dataset' });
  if (!snapshot) {
    if (split === undefined) return value; // (a missing local file: the command says so)
    throw new Error(`${flag} ${value}: no dataset ${id} in the Hugging Face cache (no ${path.join(torch.io.hubCacheDir(), `datasets--${id.split('/').join('--')}`, 'refs', 'main')}): download it there with huggingface-cli download --repo-type dataset ${id}`);
  }
  const splits = torch.data.datasetSplits(snapshot, { config });
  const want = split ?? defaultSplit;
  let files = splits[want];
  if (!/^[\w.]+$/.test(want)) {
    // a slice or a sum of splits (datasets' split="train[:10%]+validation"): the rows it names, written apart
    const dir = tempDir('tstorch-split-');
    try {
      files = torch.data.sliceSplits(splits, want, dir);
    } catch (e) {
      throw new Error(`${flag} ${value}: ${(e as Error).message}`);
    }
    // (the ClassLabel names of the Parquet files the rows came from, which .jsonl cannot carry)
    const names: Record<string, string[]> = {};
    for (const part of torch.data.parseSplitSpec(want)) for (const f of splits[part.split].filter((x) => /\.parquet$/i.test(x))) Object.assign(names, torch.data.readParquetSchema(f).classLabels);
    const resolved = files.length > 1 ? dir : files[0];
    if (Object.keys(names).length) slicedClassLabels.set(resolved, names);
    datasetSources.set(resolved, `${id} (${want})`);
    return resolved;
  }
  if (!files) {
    const hint = flag === '--eval-data' && split === undefined ? `; give ${flag} ${id}:SPLIT, or --validation-split-percentage` : '';
    throw new Error(`${flag} ${value}: the dataset has no '${want}' split (it has ${Object.keys(splits).join(', ')})${hint}`);
  }
  let resolved = files[0];
  if (files.length > 1) {
    resolved = tempDir('tstorch-split-');
    files.forEach((file, i) => fs.symlinkSync(file, path.join(resolved, `${String(i).padStart(5, '0')}-${path.basename(file)}`)));
  }
  datasetSources.set(resolved, `${id} (${want})`);
  return resolved;
}

/** A temporary folder, removed when the process exits. */
function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** ClassLabel names of sliced dataset splits (their rows are written as .jsonl): the resolved path -> column -> names. */
const slicedClassLabels = new Map<string, Record<string, string[]>>();

/** The --tokenizer folder's tokenizer, or the --model folder's (its vocab.json + merges.txt or tokenizer.json), GPT-2's where it has none. */
export function tokenizerFromFlags(f: Record<string, unknown>): torch.GPT2Tokenizer {
  const dir = tokenizerDir(f);
  if (f.tokenizer !== undefined) {
    if (!fs.existsSync(dir)) throw new Error(`--tokenizer ${dir}: no such folder${notInCacheHint(dir)}`);
    if (!torch.hasTokenizerFiles(dir)) throw new Error(`--tokenizer ${dir} has no tokenizer files (vocab.json and merges.txt, or tokenizer.json)`);
  } else if (!fs.existsSync(dir)) {
    throw new Error(`--model ${dir}: no such folder${notInCacheHint(dir)}`);
  }
  const key = `${dir}\0${f['chat-template'] ?? ''}\0${f.adapter ?? ''}\0${f['eos-token'] ?? ''}`;
  let tok = tokenizers.get(key);
  if (!tok) {
    tok = torch.tokenizerFor(dir);
    const template = chatTemplateOf(f);
    if (template !== undefined) tok = tok.withChatTemplate(template);
    // (TRL's eos_token: another of the tokenizer's added tokens ends the examples and pads them)
    if (f['eos-token'] !== undefined) tok = tok.withEosToken(f['eos-token'] as string);
    tokenizers.set(key, tok);
  }
  return tok;
}

/**
 * The chat template a command uses, when not the tokenizer folder's own: --chat-template (a
 * Jinja file, a folder whose tokenizer has one, or chatml), else the --adapter folder's (a run
 * saves the template it trained with beside its adapter, as TRL saves the tokenizer).
 */
export function chatTemplateOf(f: Record<string, unknown>): torch.ChatTemplates | undefined {
  const given = f['chat-template'] as string | undefined;
  if (given === 'chatml') return torch.CHATML_TEMPLATE;
  if (given !== undefined) {
    if (!fs.existsSync(given)) throw new Error(`--chat-template ${given}: no such file (a Jinja template, a tokenizer folder with one, or chatml)`);
    if (fs.statSync(given).isDirectory()) {
      const t = torch.hasTokenizerFiles(given) ? torch.tokenizerFor(given).chatTemplate : null;
      if (t === null) throw new Error(`--chat-template ${given}: a folder without a chat template (tokenizer_config.json chat_template or chat_template.jinja)`);
      return t;
    }
    return fs.readFileSync(given, 'utf8');
  }
  const adapter = f.adapter as string | undefined;
  if (adapter !== undefined && fs.existsSync(adapter) && torch.hasTokenizerFiles(adapter)) return torch.tokenizerFor(adapter).chatTemplate ?? undefined;
  return undefined;
}

/** The readers' option for conversational data: the command's tokenizer renders it. */
export const chatOf = (f: Record<string, unknown>): { chat: torch.GPT2Tokenizer } => ({ chat: tokenizerFromFlags(f) });
const tokenizers = new Map<string, torch.GPT2Tokenizer>(); // (read once per command: --data and --eval-data share it)
/** Where the tokenizer files are: --tokenizer, else the --model folder. */
export function tokenizerDir(f: Record<string, unknown>): string {
  return (f.tokenizer ?? f.model) as string;
}

/** The model (and adapter) named by --model / --adapter / --device. */
export function loadModelFromFlags(f: Record<string, unknown>): Promise<torch.GPT2LMHeadModel> {
  return loadModel(f.model as string, { adapter: f.adapter as string | undefined, device: f.device as string | undefined, attn: attnFlag(f), mmap: Boolean(f.mmap) });
}

export async function loadModel(dir: string, opts: { adapter?: string; device?: string; attn?: torch.AttnImplementation; mmap?: boolean } = {}): Promise<torch.GPT2LMHeadModel> {
  if (!fs.existsSync(dir)) throw new Error(`--model ${dir}: no such folder${notInCacheHint(dir)}`);
  checkDevice(opts.device);
  // (--model may be an adapter folder alone, which loads with its base; not with another adapter on top)
  const base = torch.io.adapterBaseModel(dir);
  if (base !== undefined && opts.adapter) throw new Error(`--model ${dir} is a PEFT adapter (on ${base}), and --adapter ${opts.adapter} another: give its base as --model (--model ${base} --adapter ...)`);
  if (opts.adapter) {
    if (!fs.existsSync(opts.adapter)) throw new Error(`--adapter ${opts.adapter}: no such folder${notInCacheHint(opts.adapter)}`);
    const task = adapterConfigOf(opts.adapter)?.task_type;
    if (task === 'SEQ_CLS' || task === 'TOKEN_CLS') {
      throw new Error(`${opts.adapter} is a ${task} adapter, a ${task === 'SEQ_CLS' ? 'text' : 'token'} classifier's, not a language model's: tstorch classify labels texts with it, and tstorch eval scores it on labelled data`);
    }
  }
  const model = await torch.GPT2LMHeadModel.fromPretrained(dir, { attnImplementation: opts.attn, mmap: opts.mmap });
  if (opts.adapter) await torch.lora.loadAdapter(model, opts.adapter);
  if (opts.device && opts.device !== 'cpu') model.to({ device: opts.device });
  return model.eval();
}

export function checkDevice(device?: string): void {
  if (device === undefined || device === 'cpu') return;
  if (!/^cuda(:\d+)?$/.test(device)) throw new Error(`--device must be cpu or cuda[:N], got '${device}'`);
  if (!torch.cuda.isAvailable()) throw new Error(`--device ${device}: CUDA is not available in this build (${torch.buildInfo().torchSource} libtorch ${torch.buildInfo().torchVersion}, CPU only)`);
}

/** How a data file becomes a dataset (the train and eval commands' flags). */
export interface DataFlags {
  cleaning?: string;
  column?: string;
  /** true: the texts concatenated and cut into blocks (HF's run_clm); false: one padded example each (TRL's SFT) */
  packing?: boolean;
  /** 'bfd': separate examples packed into --block-size rows, each attending to itself (TRL's packing_strategy) */
  packingStrategy?: string;
  completionOnlyLoss?: boolean;
  /** conversations: the loss on the assistant's replies only (the template's {% generation %} blocks; TRL's assistant_only_loss) */
  assistantOnlyLoss?: boolean;
  /** sliding windows of blockSize tokens every `stride` tokens (eval's --stride), packed text only */
  stride?: number;
  /** the model folder's tokenizer (default GPT-2's) */
  tokenizer?: torch.GPT2Tokenizer;
  /** the data is scored (an eval set), not learned: what the run says of it says so */
  scored?: boolean;
  /** threads tokenizing a running text (default: by its size) */
  threads?: number;
  /** false: a large running text is neither read from nor written to the token cache (default true) */
  cache?: boolean;
  /** tokenize again, and replace the cache's entry (run_clm's overwrite_cache) */
  overwriteCache?: boolean;
}

/** A running text this large or larger has its tokens cached on disk (smaller ones take under a few seconds to tokenize). */
const CACHE_FROM_BYTES = 8 << 20;

/** The dataset --data (or --eval-data) names; blockSize is the block length, or each example's maximum length. */
export function loadDataset(file: string, blockSize: number, model?: torch.GPT2LMHeadModel, opts: DataFlags = {}): torch.data.TextDataset | torch.data.ExampleDataset | torch.data.PackedExampleDataset {
  if (!fs.existsSync(file)) throw new Error(`${file}: no such file`);
  if (!Number.isInteger(blockSize) || blockSize < 2) throw new Error(`--block-size must be an integer >= 2, got ${blockSize}`);
  if (model && blockSize > model.config.n_positions) {
    throw new Error(`--block-size ${blockSize} exceeds the model's n_positions (${model.config.n_positions})`);
  }
  const cleaning = opts.cleaning as torch.data.CleaningMode | undefined;
  if (cleaning !== undefined && !['basic', 'notebook', 'none'].includes(cleaning)) throw new Error(`--cleaning must be basic, notebook or none, got '${cleaning}'`);
  let ds: torch.data.TextDataset | torch.data.ExampleDataset | torch.data.PackedExampleDataset;
  let items: Int32Array[];
  const bfd = opts.packingStrategy !== undefined;
  if (bfd && opts.packingStrategy !== 'bfd' && opts.packingStrategy !== 'bfd_split') throw new Error(`--packing-strategy must be bfd or bfd_split (TRL's wrapped packing is --packing on texts), got '${opts.packingStrategy}'`);
  const split = opts.packingStrategy === 'bfd_split';
  if (bfd && opts.stride !== undefined) throw new Error('--stride scores one running text; --packing-strategy packs separate examples');
  const packedIfAsked = (ex: torch.data.ExampleDataset) => bfd ? new torch.data.PackedExampleDataset(ex, { seqLength: blockSize, strategy: split ? 'bfd_split' : 'bfd' }) : ex;
  const assistantOnly = opts.assistantOnlyLoss === true;
  const tok = assistantOnly ? withGenerationMarkers(opts.tokenizer ?? torch.tokenizer) : opts.tokenizer ?? torch.tokenizer;
  // Prompt-completion data is never concatenated (each completion is learned after its own prompt);
  // --packing-strategy bfd packs whole examples, each still on its own.
  // (a folder: its .txt / .csv / .jsonl / .parquet files in name order, read as one file of them would be)
  const records = (f: string) => torch.data.isRecordFile(f) || torch.data.isPromptCompletionCsv(f);
  const separate = fs.statSync(file).isDirectory() ? torch.data.dataFilesIn(file).some(records) : records(file);
  if (assistantOnly && !separate) throw new Error(`${file}: assistant-only loss needs conversations (TRL's messages, or prompt and completion as lists of {role, content}) in a .jsonl, .json or .parquet`);
  // (packed JSON Lines of plain texts: read a line at a time into the tokenizer, never all held, and not at all where the cache has their tokens)
  const streamed = opts.packing !== false && !bfd && !assistantOnly && torch.data.isPlainTextJsonl(file, opts.column);
  const readsDocuments = (opts.packing === false || separate || bfd) && !streamed;
  // Separate examples of 8 MB or more are cached as a running text's tokens are (not those with
  // loss masks): a run that finds them there reads neither the data nor the tokenizer's output.
  const examplesMaxLength = split ? Number.MAX_SAFE_INTEGER : blockSize;
  const files = dataFiles(file), bytes = files.reduce((n, f) => n + torch.data.dataBytesHint(f), 0);
  const examplesKey = readsDocuments && opts.cache !== false && !assistantOnly && opts.stride === undefined && bytes >= CACHE_FROM_BYTES
    ? { examples: EXAMPLES_CACHE_FORMAT, files: torch.data.fileStamps(files), column: opts.column ?? null, cleaning: cleaning ?? null, tokenizer: tok.fingerprint,
      maxLength: examplesMaxLength, completionOnlyLoss: opts.completionOnlyLoss ?? null, packing: opts.packing ?? null, packingStrategy: opts.packingStrategy ?? null }
    : null;
  const cachedExamples = examplesKey && !opts.overwriteCache ? torch.data.readCachedTokenIds(examplesKey) : null;
  if (cachedExamples) {
    const ex = torch.data.ExampleDataset.fromPacked(cachedExamples.ids.subarray(1), examplesMaxLength, { padTokenId: tok.eosTokenId });
    console.error(`${file}: the tokens of its ${ex.length} ${EXAMPLE_KINDS[cachedExamples.ids[0]] ?? 'examples'} read from the cache (${cachedExamples.file}; --overwrite-cache tokenizes again, --no-dataset-cache neither reads nor writes it)`);
    reportExamples(file, ex, blockSize, false, EXAMPLE_KINDS[cachedExamples.ids[0]] === 'conversations', opts.scored);
    return checkVocabulary(file, ex.examples, model, packedIfAsked(ex), tok);
  }
  const docs = readsDocuments ? torch.data.readTrainingDocuments(file, { cleaning, column: opts.column, chat: tok, assistantOnlyLoss: assistantOnly }) : null;
  // (conversations too, as TRL's SFT: each one an example, ended by the template, not by an added eos)
  if (docs && 'tokenized' in docs) {
    if (opts.stride !== undefined) throw new Error(`--stride scores one running text; ${file} holds pre-tokenized examples`);
    const ex = torch.data.ExampleDataset.fromTokenized(docs.tokenized, { maxLength: split ? Number.MAX_SAFE_INTEGER : blockSize, completionOnlyLoss: opts.completionOnlyLoss, padTokenId: tok.eosTokenId });
    if (ex.length === 0) throw new Error(`${file}: no example leaves anything to learn (all ${ex.dropped} masked within --block-size ${blockSize}, or of one token)`);
    if (ex.dropped) console.error(`${file}: ${ex.dropped} example(s) left out: nothing to learn within --block-size ${blockSize}`);
    reportTruncated(file, ex, blockSize, false, opts.scored);
    // (ids from outside: always checked against the model, not only where the tokenizer is larger)
    const max = ex.examples.reduce((m, e) => e.reduce((a, b) => Math.max(a, b), m), 0);
    if (model && max >= model.config.vocab_size) throw new Error(`${file}: token ids up to ${max}, but the model's vocab_size is ${model.config.vocab_size}: the data was tokenized for another model`);
    ds = packedIfAsked(ex);
    items = ex.examples;
  } else if (docs && ('pairs' in docs || opts.packing === false || docs.conversational || bfd)) {
    if (opts.stride !== undefined) throw new Error(`--stride scores one running text (packed); ${file} is read as separate ${'pairs' in docs ? 'prompt-completion examples' : docs.conversational ? 'conversations' : 'examples (--no-packing)'}`);
    // (bfd_split cuts long examples into pieces: nothing is cut off before)
    // (alone: the one process of this machine's workers tokenizing them, the others waiting for its cache entry)
    const tokenize = ({ exclusive = false } = {}) => {
      const exampleOpts = { maxLength: examplesMaxLength, completionOnlyLoss: opts.completionOnlyLoss, tokenizer: tok, addEos: !docs.conversational,
        threads: opts.threads ?? autoThreads(bytes, exclusive) };
      const made = 'pairs' in docs ? torch.data.ExampleDataset.fromPromptCompletions(docs.pairs, exampleOpts) : torch.data.ExampleDataset.fromTexts(docs.texts, { ...exampleOpts, assistantSpans: docs.assistantSpans });
      if (made.length === 0) throw new Error(`${file}: no example leaves anything to learn (${made.dropped} ${assistantOnly ? 'whose first reply starts past' : 'whose prompt fills'} --block-size ${blockSize}, or empty)`);
      return made;
    };
    const kind = 'pairs' in docs ? 'prompt-completion examples' : docs.conversational ? 'conversations' : 'texts';
    let ex: torch.data.ExampleDataset;
    if (examplesKey) {
      let made: torch.data.ExampleDataset | null = null;
      const cached = torch.data.cachedTokenIds(examplesKey, (o) => (made = tokenize(o)).toPacked([EXAMPLE_KINDS.indexOf(kind)]),
        { overwrite: opts.overwriteCache, onWait: waitingFor(file, 'its examples'), countTokens: (packed) => packed.length - 1 - torch.data.PACKED_HEAD - 2 * packed[1] });
      if (cached.damaged) console.error(`${file}: the cache's entry for its examples was damaged (${cached.file}); tokenized again and replaced`);
      if (cached.fromCache) console.error(`${file}: the tokens of its ${kind} read from the cache, made meanwhile by another process (${cached.file})`);
      ex = made ?? torch.data.ExampleDataset.fromPacked(cached.ids.subarray(1), examplesMaxLength, { padTokenId: tok.eosTokenId });
    } else {
      ex = tokenize();
    }
    reportExamples(file, ex, blockSize, assistantOnly, kind === 'conversations', opts.scored);
    ds = packedIfAsked(ex);
    items = ex.examples;
  } else {
    // (encoded a piece at a time, never joined: a corpus may be larger than a JavaScript string;
    // room made for about a token per 4 bytes of the files, a little over English's rate with GPT-2's BPE)
    // (alone: the one process of this machine's workers tokenizing it, the others waiting for its cache entry)
    const tokenize = ({ exclusive = false } = {}) => tok.encodeChunks(docs && 'texts' in docs ? docs.texts : torch.data.readTrainingTextPieces(file, { cleaning, column: opts.column, chat: tok }),
      { expectedIds: bytes / 4, threads: opts.threads ?? autoThreads(bytes, exclusive) });
    let ids: Int32Array;
    if (opts.cache !== false && bytes >= CACHE_FROM_BYTES) {
      // (as HF's datasets caches map(): a large text is tokenized once; the key is all that decides its ids)
      const key = { files: torch.data.fileStamps(files), column: opts.column ?? null, cleaning: cleaning ?? null, tokenizer: tok.fingerprint };
      const cached = torch.data.cachedTokenIds(key, tokenize, { overwrite: opts.overwriteCache, onWait: waitingFor(file, 'the same text') });
      if (cached.damaged) console.error(`${file}: the cache's entry for its tokens was damaged (${cached.file}); tokenized again and replaced`);
      if (cached.fromCache) console.error(`${file}: tokens read from the cache (${cached.file}; --overwrite-cache tokenizes again, --no-dataset-cache neither reads nor writes it)`);
      ids = cached.ids;
    } else {
      ids = tokenize();
    }
    if (opts.stride !== undefined) {
      const windows = torch.data.ExampleDataset.slidingWindows(ids, { maxLength: blockSize, stride: opts.stride });
      return checkVocabulary(file, windows.examples, model, windows, tok);
    }
    const blocks = torch.data.TextDataset.fromIds(ids, blockSize);
    if (blocks.length === 0) throw new Error(`${file}: ${ids.length} tokens, fewer than one block of ${blockSize} (or train on separate examples: --no-packing)`);
    ds = blocks;
    items = blocks.blocks;
  }
  return checkVocabulary(file, items, model, ds, tok);
}

/** What a run waiting on another process's cache entry says, with what to do where no such process is running. */
const waitingFor = (file: string, what: string) => (pid: number, lock: string) =>
  console.error(`${file}: waiting for ${pid ? `process ${pid}` : 'another process'}, tokenizing ${what} into the cache (if no such run is going on, remove ${lock})`);

// (bumped whenever what separate examples become changes; the token cache's own format covers tokenizing)
const EXAMPLES_CACHE_FORMAT = 2; // (2: the count of examples cut at --block-size kept with them)
/** What a cached entry of examples was made from (its first number), for what a run says of them. */
const EXAMPLE_KINDS = ['prompt-completion examples', 'conversations', 'texts'];

/** What a run says of its separate examples: those left out, those cut, and prompts whose tokens merge with their completion's. */
function reportExamples(file: string, ex: torch.data.ExampleDataset, blockSize: number, assistantOnly: boolean, conversational: boolean, scored = false): void {
  if (ex.dropped) console.error(`${file}: ${ex.dropped} example(s) left out ${assistantOnly ? 'whose first reply starts past' : 'whose prompt fills'} --block-size ${blockSize}: nothing left to learn`);
  reportTruncated(file, ex, blockSize, conversational, scored);
  warnMismatched(file, ex.mismatched, 'example(s)');
}

/**
 * Examples longer than --block-size are cut to their start, as TRL's SFT cuts them (silently
 * there): said here, with what was lost, since what is cut off a conversation is its last replies.
 */
function reportTruncated(file: string, ex: torch.data.ExampleDataset, blockSize: number, conversational: boolean, scored = false): void {
  if (!ex.truncated) return;
  const all = ex.length + ex.dropped;
  const n = (k: number) => k.toLocaleString('en-US');
  const which = all === 1 ? 'its one example is' : ex.truncated === all ? `all ${n(all)} of its examples are` : `${n(ex.truncated)} of its ${n(all)} examples ${ex.truncated === 1 ? 'is' : 'are'}`;
  console.error(`${file}: ${which} longer than --block-size ${blockSize} tokens, cut to the first ${blockSize} ` +
    `(${ex.truncatedTokens.toLocaleString('en-US')} tokens not ${scored ? 'scored' : 'learned'}${conversational ? ': a conversation\'s last replies are what is cut' : ''}); raise --block-size (TRL's max_length)${scored ? '' : ', or --packing-strategy bfd_split learns every token'}`);
}

/** A --data path's files: a folder's data files in name order, or the file itself. */
const dataFiles = (file: string) => (fs.statSync(file).isDirectory() ? torch.data.dataFilesIn(file) : [file]);

/**
 * The tokenizer whose chat template marks the assistant's replies with {% generation %} blocks,
 * for assistant-only loss: its own template when it does; ChatML made its training variant (as
 * TRL swaps in a training template for the models it knows); any other, an error saying what to do.
 */
function withGenerationMarkers(tok: torch.GPT2Tokenizer): torch.GPT2Tokenizer {
  if (tok.chatTemplate === null) return tok; // (conversations then say a template is needed; text, that it is not conversational)
  const template = tok.getChatTemplate();
  if (torch.hasGenerationMarkers(template)) return tok;
  if (template === torch.CHATML_TEMPLATE) return tok.withChatTemplate(torch.CHATML_TRAINING_TEMPLATE);
  throw new Error('--assistant-only-loss: the chat template does not mark the assistant\'s replies with {% generation %} ... {% endgeneration %}, so nothing says which tokens to learn: give a template that does (--chat-template FILE, as TRL\'s training templates do it), or --chat-template chatml');
}

/**
 * Preference pairs (TRL's DPO format) as a PreferenceDataset: the --model (or --tokenizer) folder's
 * tokenizer, --block-size as TRL's max_length; checked as loadDataset checks its data (the block
 * size against n_positions, the token ids against the model's vocabulary).
 */
export function preferenceDataset(file: string, pairs: torch.data.PreferencePair[], f: Record<string, unknown>, model: torch.GPT2LMHeadModel | undefined,
  opts: torch.data.PreferenceOptions = {}, tok: torch.GPT2Tokenizer = tokenizerFromFlags(f)): torch.data.PreferenceDataset {
  const blockSize = f['block-size'] as number;
  if (model && blockSize > model.config.n_positions) throw new Error(`--block-size ${blockSize} exceeds the model's n_positions (${model.config.n_positions})`);
  const threads = tokenizeThreads(f['dataset-num-proc'] as number | undefined) ?? autoThreads(textChars(pairs, ['prompt', 'chosen', 'rejected']));
  const ds = new torch.data.PreferenceDataset(pairs, { ...opts, tokenizer: tok, maxLength: blockSize, threads });
  if (ds.dropped) console.error(`${file}: ${ds.dropped} pair(s) left out: the prompt alone fills --block-size ${blockSize} (nothing left to learn; TRL leaves them out too)`);
  warnMismatched(file, ds.mismatched, 'pair(s)');
  return checkVocabulary(file, [...ds.chosen, ...ds.rejected].map((s) => s.ids), model, ds, tok);
}

/** KTO examples (unpaired), tokenized by --model's tokenizer, --block-size as TRL's max_length. */
export function ktoDataset(file: string, examples: torch.data.KTOExample[], f: Record<string, unknown>, model: torch.GPT2LMHeadModel | undefined,
  opts: torch.data.PreferenceOptions = {}, tok: torch.GPT2Tokenizer = tokenizerFromFlags(f)): torch.data.KTODataset {
  const blockSize = f['block-size'] as number;
  if (model && blockSize > model.config.n_positions) throw new Error(`--block-size ${blockSize} exceeds the model's n_positions (${model.config.n_positions})`);
  const threads = tokenizeThreads(f['dataset-num-proc'] as number | undefined) ?? autoThreads(textChars(examples, ['prompt', 'completion']));
  const ds = new torch.data.KTODataset(examples, { ...opts, tokenizer: tok, maxLength: blockSize, threads });
  if (ds.dropped) console.error(`${file}: ${ds.dropped} example(s) left out: the prompt alone fills --block-size ${blockSize} (nothing left to learn; TRL leaves them out too)`);
  warnMismatched(file, ds.mismatched, 'example(s)');
  return checkVocabulary(file, ds.examples.map((s) => s.ids), model, ds, tok);
}

/** How many characters of text the rows' fields hold (token ids given as arrays count nothing), for autoThreads. */
function textChars<R>(rows: R[], fields: (keyof R)[]): number {
  let n = 0;
  for (const r of rows) for (const k of fields) if (typeof r[k] === 'string') n += (r[k] as string).length;
  return n;
}

/** TRL's warning where a prompt's tokens are not the start of prompt + completion's (said once per file, with what to check). */
function warnMismatched(file: string, count: number, what: string): void {
  if (count) {
    console.error(`${file}: ${count} ${what} whose prompt's tokens are not the start of prompt + completion's (a token across the boundary, e.g. a prompt ending` +
      ` in a space): the completion is taken as the tokens past the prompt's, as TRL does (it warns too); check the texts' whitespace`);
  }
}

/** ds, once its token ids are known to fit the model's vocabulary. */
function checkVocabulary<D>(file: string, items: Int32Array[], model: { config: { vocab_size: number } } | undefined, ds: D, tok: torch.GPT2Tokenizer): D {
  if (model && model.config.vocab_size < tok.vocabSize) {
    const max = items.reduce((m, b) => Math.max(m, ...b), 0);
    if (max >= model.config.vocab_size) {
      const whose = tok.isGpt2 ? 'GPT-2\'s tokenizer (the model folder has no tokenizer files of its own)' : 'the model folder\'s tokenizer';
      throw new Error(`${file}: token ids up to ${max} by ${whose}, but the model's vocab_size is ${model.config.vocab_size}: the tokenizer and the model do not belong together`);
    }
  }
  return ds;
}

/** An adapter folder's adapter_config.json, or null where it has none readable. */
function adapterConfigOf(dir: string): Record<string, unknown> | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'adapter_config.json'), 'utf8'));
  } catch {
    return null;
  }
}

/** Whether --model (a GPT2ForTokenClassification folder) or --adapter (PEFT task_type TOKEN_CLS) make a token classifier. */
export function isTokenClassifierSetup(modelDir: string, adapterDir?: string): boolean {
  if (torch.isTokenClassifierFolder(modelDir)) return true;
  return adapterDir !== undefined && adapterConfigOf(adapterDir)?.task_type === 'TOKEN_CLS';
}

/**
 * A token classifier from --model (a token classifier's folder, or a language model's whose
 * head a TOKEN_CLS --adapter brings: its size from the adapter's classifier.weight, the tag names
 * from what tstorch wrote beside it, else LABEL_i) and --adapter.
 */
export function loadTokenClassifier(dir: string, opts: { adapter?: string; device?: string; attn?: torch.AttnImplementation; mmap?: boolean } = {}): Promise<torch.GPT2ForTokenClassification> {
  return loadWithAdapterHead(dir, opts, {
    task: 'TOKEN_CLS', head: 'classifier', isFolder: torch.isTokenClassifierFolder, what: 'a token classifier (GPT2ForTokenClassification)',
    load: (o) => torch.GPT2ForTokenClassification.fromPretrained(dir, o),
  });
}

/**
 * A classifier from --model and --adapter: the model folder's own, or (a language model's folder
 * with an adapter of the task) one whose head the adapter brings, its size from the adapter's
 * head tensor and its names from what tstorch wrote beside it (`extra` reads more of that).
 */
async function loadWithAdapterHead<M extends torch.GPT2Classifier>(dir: string, opts: { adapter?: string; device?: string; attn?: torch.AttnImplementation; mmap?: boolean },
  kind: { task: string; head: string; isFolder: (dir: string) => boolean; what: string; load: (o: torch.ClassificationOptions & torch.GPT2ModelOptions) => Promise<M>;
    extra?: (adapterConfig: Record<string, unknown>) => torch.ClassificationOptions }): Promise<M> {
  if (!fs.existsSync(dir)) throw new Error(`--model ${dir}: no such folder${notInCacheHint(dir)}`);
  checkDevice(opts.device);
  const options: torch.ClassificationOptions & torch.GPT2ModelOptions = { attnImplementation: opts.attn, mmap: opts.mmap };
  if (opts.adapter) {
    if (!fs.existsSync(opts.adapter)) throw new Error(`--adapter ${opts.adapter}: no such folder${notInCacheHint(opts.adapter)}`);
    const c = adapterConfigOf(opts.adapter);
    if (c?.task_type === kind.task && !kind.isFolder(dir)) {
      Object.assign(options, { numLabels: adapterHeadRows(opts.adapter, kind.head), id2label: c.tstorch_id2label as Record<string, string> | undefined, ...kind.extra?.(c) });
    }
  }
  if (!kind.isFolder(dir) && options.numLabels === undefined) {
    throw new Error(`--model ${dir} is a language model, not ${kind.what}, and no ${kind.task} --adapter gives it a ${kind.head} head`);
  }
  // (where the adapter brings the head, the base's lack of one is no news)
  const model = await quietHead(options.numLabels !== undefined, () => kind.load(options));
  if (opts.adapter) await torch.lora.loadAdapter(model, opts.adapter);
  if (opts.device && opts.device !== 'cpu') model.to({ device: opts.device });
  return model.eval();
}

/** The number of outputs of the classifier head an adapter folder carries. */
function adapterHeadRows(adapter: string, head: string): number {
  const rows = adapterHeadSize(adapter, head);
  if (rows === undefined) throw new Error(`--adapter ${adapter}: a classifier's adapter without base_model.model.${head}.weight (its head)`);
  return rows;
}

/** load(), without the base's "no head: newly initialized" warning when quiet (an adapter brings the head, or training makes it). */
export async function quietHead<T>(quiet: boolean, load: () => Promise<T>): Promise<T> {
  const warn = console.warn;
  if (quiet) console.warn = () => {};
  try {
    return await load();
  } finally {
    console.warn = warn;
  }
}

/**
 * Tagged words (--data / --eval-data: a .jsonl or .parquet of {tokens, tags}) as a TokenClassificationDataset:
 * the model's tag names (when it has them) fix the ids; cut at --block-size tokens.
 */
/** --text-column (comma-separated: several, joined by --text-column-delimiter) for text classification. */
export function textColumnsFlag(f: Record<string, unknown>): { textColumn?: string[]; textColumnDelimiter?: string } {
  const given = f['text-column'] as string | undefined, delimiter = f['text-column-delimiter'] as string | undefined;
  if (given === undefined && delimiter !== undefined) throw new Error('--text-column-delimiter joins several --text-column names (sentence1,sentence2): give them');
  const columns = given?.split(',').map((c) => c.trim());
  if (columns && columns.some((c) => !c)) throw new Error(`--text-column must be column names separated by commas, got '${given}'`);
  return { ...(columns ? { textColumn: columns } : {}), ...(delimiter !== undefined ? { textColumnDelimiter: delimiter } : {}) };
}

/** --label-names: the names of integer labels or tags, in id order; undefined without the flag. */
export function labelNamesFlag(f: Record<string, unknown>): string[] | undefined {
  if (f['label-names'] === undefined) return undefined;
  const names = (f['label-names'] as string).split(',').map((n) => n.trim());
  if (names.some((n) => !n) || new Set(names).size !== names.length) throw new Error(`--label-names must be distinct names separated by commas, got '${f['label-names']}'`);
  return names;
}

/**
 * The names of integer labels in `file`: --label-names, else those a Hugging Face .parquet gives
 * its ClassLabel column (the first of `columns` it has; sst2's label, conll2003's ner_tags).
 */
export function labelNames(f: Record<string, unknown>, file: string, columns: string[]): string[] | undefined {
  const sliced = slicedClassLabels.get(file), slicedColumn = columns.find((c) => sliced?.[c]);
  const flag = labelNamesFlag(f), own = torch.data.classLabelNames(file, columns) ?? (slicedColumn === undefined ? undefined : sliced![slicedColumn]);
  if (flag && own && flag.join('\n') !== own.join('\n')) {
    throw new Error(`--label-names ${flag.join(',')} is not how ${file} names its ClassLabel ids (${own.join(',')}): leave the flag out, the file's names are used`);
  }
  return flag ?? own;
}

/** The tags' column of token classification data: --label-column, else the first of tags, ner_tags, pos_tags a row has (run_ner's choice). */
export const tagColumns = (f: Record<string, unknown>): string[] => (f['label-column'] !== undefined ? [f['label-column'] as string] : torch.data.TAG_COLUMNS);

export function tokenClassificationDataset(file: string, f: Record<string, unknown>, model: { config: { vocab_size: number; n_positions: number } } | null,
  opts: { labels?: string[] } = {}): torch.data.TokenClassificationDataset {
  if (!fs.existsSync(file)) throw new Error(`${file}: no such file`);
  const blockSize = f['block-size'] as number;
  if (model && blockSize > model.config.n_positions) throw new Error(`--block-size ${blockSize} exceeds the model's n_positions (${model.config.n_positions})`);
  const rows = torch.data.readTaggedExamples(file, { tokensColumn: f['text-column'] as string | undefined, tagsColumn: f['label-column'] as string | undefined });
  const tok = tokenizerFromFlags(f);
  let ds: torch.data.TokenClassificationDataset;
  try {
    ds = new torch.data.TokenClassificationDataset(rows, { tokenizer: tok, maxLength: blockSize, tagNames: labelNames(f, file, tagColumns(f)), ...opts });
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message.replace(/^TokenClassificationDataset: /, '')}`);
  }
  if (ds.truncated) console.error(`${file}: ${ds.truncated} example(s) longer than --block-size ${blockSize} tokens: their last words are not read`);
  return checkVocabulary(file, ds.examples, model ?? undefined, ds, tok);
}

/** Whether --model (a GPT2ForSequenceClassification folder) or --adapter (PEFT task_type SEQ_CLS) make a text classifier. */
export function isClassifierSetup(modelDir: string, adapterDir?: string): boolean {
  if (torch.isSequenceClassifierFolder(modelDir)) return true;
  return adapterDir !== undefined && adapterConfigOf(adapterDir)?.task_type === 'SEQ_CLS';
}

/**
 * A text classifier from --model (a classifier's folder, or a language model's whose head a
 * SEQ_CLS --adapter brings) and --adapter: the head's size from the adapter's score.weight, the
 * label names, problem type and pad token from what tstorch wrote beside it (else LABEL_i, and
 * the tokenizer's eos as the pad token, GPT-2's usual).
 */
export async function loadClassifier(dir: string, opts: { adapter?: string; device?: string; attn?: torch.AttnImplementation; mmap?: boolean; padTokenId?: number } = {}): Promise<torch.GPT2ForSequenceClassification> {
  const model = await loadWithAdapterHead(dir, opts, {
    task: 'SEQ_CLS', head: 'score', isFolder: torch.isSequenceClassifierFolder, what: 'a text classifier (GPT2ForSequenceClassification)',
    load: (o) => torch.GPT2ForSequenceClassification.fromPretrained(dir, o),
    extra: (c) => ({ problemType: (c.tstorch_problem_type as torch.ProblemType | null | undefined) ?? null, padTokenId: (c.tstorch_pad_token_id as number | null | undefined) ?? opts.padTokenId }),
  });
  if (model.config.pad_token_id === null && opts.padTokenId !== undefined) model.config.pad_token_id = opts.padTokenId;
  return model;
}

/**
 * Labelled texts (--data / --eval-data: .jsonl, .parquet or .csv with --text-column and --label-column)
 * as a ClassificationDataset for this classifier: its label names fix the ids, its pad token pads.
 */
export function classificationDataset(file: string, f: Record<string, unknown>, model: { config: { vocab_size: number; n_positions: number } } | null,
  opts: { labels?: string[]; problemType?: torch.ProblemType; padTokenId?: number } = {}): torch.data.ClassificationDataset {
  if (!fs.existsSync(file)) throw new Error(`${file}: no such file`);
  const blockSize = f['block-size'] as number;
  if (model && blockSize > model.config.n_positions) throw new Error(`--block-size ${blockSize} exceeds the model's n_positions (${model.config.n_positions})`);
  const rows = torch.data.readLabelledTexts(file, { ...textColumnsFlag(f), labelColumn: (f['label-column'] as string | undefined) ?? 'label' });
  const tok = tokenizerFromFlags(f);
  let ds: torch.data.ClassificationDataset;
  try {
    ds = new torch.data.ClassificationDataset(rows, { tokenizer: tok, maxLength: blockSize, classNames: labelNames(f, file, [(f['label-column'] as string | undefined) ?? 'label']), ...opts });
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message.replace(/^ClassificationDataset: /, '')}`);
  }
  if (ds.truncated) console.error(`${file}: ${ds.truncated} text(s) longer than --block-size ${blockSize} tokens: their first ${blockSize} are read`);
  return checkVocabulary(file, ds.examples, model ?? undefined, ds, tok);
}

/**
 * --loss-type for DPO: one of TRL's loss types, or several comma-separated whose losses add up
 * (TRL's MPO: sigmoid,bco_pair,sft), and --loss-weights, one per listed type.
 */
export function dpoLoss(f: Record<string, unknown>): { lossType: torch.train.DPOLossType | torch.train.DPOLossType[]; lossWeights: number[] | null } {
  const types = String(f['loss-type'] ?? 'sigmoid').split(',').map((t) => t.trim());
  for (const t of types) {
    if (!torch.train.DPO_LOSS_TYPES.includes(t as torch.train.DPOLossType)) {
      throw new Error(`--loss-type must be ${torch.train.DPO_LOSS_TYPES.join(', ')} for preference pairs (or several, comma-separated, their losses added: TRL's MPO); got '${t}'`);
    }
  }
  let lossWeights: number[] | null = null;
  if (f['loss-weights'] !== undefined) {
    lossWeights = String(f['loss-weights']).split(',').map((w) => (w.trim() === '' ? NaN : Number(w)));
    if (lossWeights.length !== types.length || !lossWeights.every(Number.isFinite)) {
      throw new Error(`--loss-weights must be ${types.length} comma-separated number${types.length > 1 ? 's' : ''}, one per --loss-type (${types.join(', ')}); got '${f['loss-weights']}'`);
    }
  }
  return { lossType: types.length === 1 ? types[0] as torch.train.DPOLossType : types as torch.train.DPOLossType[], lossWeights };
}

/** --method cpo or simpo: the CPOTrainer's arguments (SimPO: TRL's recipe, the simpo loss and no NLL). */
export function cpoArguments(f: Record<string, unknown>): Pick<torch.CPOArguments, 'beta' | 'lossType' | 'cpoAlpha' | 'simpoGamma' | 'cpoLabelSmoothing'> {
  const simpo = f.method === 'simpo';
  const lossType = (simpo ? 'simpo' : f['loss-type'] ?? 'sigmoid') as torch.train.CPOLossType;
  return {
    beta: f.beta as number, lossType, cpoAlpha: (f['cpo-alpha'] as number | undefined) ?? (simpo ? 0 : 1),
    simpoGamma: f['simpo-gamma'] as number | undefined, cpoLabelSmoothing: f['dpo-label-smoothing'] as number,
  };
}
