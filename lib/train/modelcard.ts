// README.md model cards for training outputs, as Hugging Face's Trainer (create_model_card) and
// PEFT's save_pretrained write them: YAML front matter the Hub reads (base_model, library_name,
// tags), then the training hyperparameters, the evaluation results table and framework versions.
import * as fs from 'fs';
import * as path from 'path';
import { buildInfo } from '../tensor/runtime';
import { writeFileAtomic } from '../io/atomic';
import { root } from '../loader';
import type { LogEntry } from './trainer';

export interface ModelCardInfo {
  /** the card's title (default: the folder's name) */
  name?: string;
  /** the base model as given (a Hub name or a folder); null where it is not known */
  baseModel: string | null;
  /** the training data's name (a file's base name) */
  dataset?: string;
  /** an adapter (library_name peft) or a whole model (transformers) */
  adapter: boolean;
  /** the adapter the run started from and trained further, if any */
  startAdapter?: string;
  /** LoRA's settings, for an adapter */
  lora?: { r: number; alpha: number; dropout: number; targetModules: string[] | string; useDora?: boolean };
  /** hyperparameters, by HF's names (learning_rate, train_batch_size, ...), in order */
  hyperparameters: [string, string | number][];
  logHistory: LogEntry[];
}

const yamlString = (s: string) => JSON.stringify(s); // (a JSON string is a YAML string)

/** The last line of the card saveAdapter writes: tstorch train puts the run's card in its place; a card without it is the user's, left alone. */
const ADAPTER_CARD_MARK = '<!-- tstorch: the adapter\'s own card (saveAdapter); a training run\'s card replaces it -->';

/** The Hub's tags for an adapter: PEFT's base_model:adapter:<base>, which links the adapter to its base's page. */
const adapterTags = (base: string | null) => [...(base ? [`base_model:adapter:${base}`] : []), 'lora', 'peft', 'tstorch'];

/**
 * The short card PEFT's save_pretrained writes into every adapter folder (checkpoints too): front
 * matter for the Hub (base_model, library_name peft, tags), the LoRA settings, how to load it.
 */
export function adapterCard(config: Record<string, unknown>): string {
  const base = typeof config.base_model_name_or_path === 'string' && config.base_model_name_or_path ? config.base_model_name_or_path : null;
  const targets = Array.isArray(config.target_modules) ? config.target_modules.join(', ') : String(config.target_modules);
  const b = buildInfo();
  return [
    '---',
    ...(base ? [`base_model: ${yamlString(base)}`] : []),
    'library_name: peft',
    'tags:', ...adapterTags(base).map((t) => `- ${yamlString(t)}`),
    '---', '',
    `# ${config.use_dora ? 'DoRA' : 'LoRA'} adapter${base ? ` for ${base}` : ''}`, '',
    `A ${config.use_dora ? 'DoRA' : 'LoRA'} adapter${base ? ` for ${base}` : ''} in PEFT's format (task ${config.task_type}), saved by tstorch.`, '',
    `- r: ${config.r}`, `- lora_alpha: ${config.lora_alpha}`, `- target_modules: ${targets}`,
    ...(Array.isArray(config.modules_to_save) && config.modules_to_save.length ? [`- modules_to_save: ${config.modules_to_save.join(', ')}`] : []),
    '', '## Loading it', '',
    '(ADAPTER: this folder, or its id on the Hub)', '',
    `- PEFT: \`PeftModel.from_pretrained(base_model, ADAPTER)\`${base ? `, the base being ${base}` : ''}`,
    `- tstorch: \`await torch.lora.loadAdapter(baseModel, ADAPTER)\`${base ? ', or the model class\'s `fromPretrained(ADAPTER)`, which loads the base too' : ''}`,
    '', '### Framework versions', '', `- tstorch ${packageVersion()}`, `- libtorch ${b.torchVersion}${b.builtWithCuda ? ' (CUDA)' : ' (CPU)'}`, '',
    ADAPTER_CARD_MARK, '',
  ].join('\n');
}

/** Writes dir/README.md, the adapter's card, unless the folder has a card of another's making (the user's, a run's). */
export function writeAdapterCard(dir: string, config: Record<string, unknown>): void {
  const file = path.join(dir, 'README.md');
  if (fs.existsSync(file) && !fs.readFileSync(file, 'utf8').includes(ADAPTER_CARD_MARK)) return;
  writeFileAtomic(file, adapterCard(config)); // (no folder name in it: a checkpoint is written under a temporary one)
}

/** The card's text. */
export function modelCard(name: string, info: ModelCardInfo): string {
  const tags = ['generated_from_trainer', ...(info.adapter ? adapterTags(info.baseModel) : ['tstorch'])];
  const evals = info.logHistory.filter((e) => e.eval_loss !== undefined);
  const last = evals[evals.length - 1];
  const lines = [
    '---',
    ...(info.baseModel ? [`base_model: ${yamlString(info.baseModel)}`] : []),
    `library_name: ${info.adapter ? 'peft' : 'transformers'}`,
    'tags:', ...tags.map((t) => `- ${yamlString(t)}`),
    'model-index:', `- name: ${yamlString(name)}`, '  results: []',
    '---', '',
    `# ${name}`, '',
    `This ${info.adapter ? 'LoRA adapter' : 'model'} is a fine-tuned version of ${info.baseModel ?? 'a model'}${info.dataset ? ` on ${info.dataset}` : ''}, trained with tstorch${info.startAdapter ? ` from the adapter ${info.startAdapter}` : ''}.`,
  ];
  if (last) {
    lines.push('It achieves the following results on the evaluation set:', `- Loss: ${last.eval_loss!.toFixed(4)}`);
    // (a DPO run's evaluations have no perplexity; their accuracy is the reward accuracy)
    if (last.eval_perplexity !== undefined) lines.push(`- Perplexity: ${last.eval_perplexity.toFixed(4)}`);
    if (last['eval_rewards/accuracies'] !== undefined) lines.push(`- Rewards/accuracies: ${last['eval_rewards/accuracies'].toFixed(4)}`, `- Rewards/margins: ${last['eval_rewards/margins']!.toFixed(4)}`);
    else if (last['eval_rewards/margins'] !== undefined) lines.push(`- Rewards/margins: ${last['eval_rewards/margins'].toFixed(4)}`, `- KL: ${last.eval_kl!.toFixed(4)}`); // (KTO: no accuracy)
    else if (last.eval_accuracy !== undefined) {
      // (a tagger with entity tags: run_ner's card lists the entity scores first)
      if (last.eval_f1 !== undefined) lines.push(`- Precision: ${last.eval_precision!.toFixed(4)}`, `- Recall: ${last.eval_recall!.toFixed(4)}`, `- F1: ${last.eval_f1.toFixed(4)}`);
      lines.push(`- Accuracy: ${last.eval_accuracy.toFixed(4)}`);
    }
  }
  lines.push('', '## Training procedure', '', '### Training hyperparameters', '', 'The following hyperparameters were used during training:');
  for (const [k, v] of info.hyperparameters) lines.push(`- ${k}: ${v}`);
  if (info.lora) {
    const l = info.lora;
    lines.push('', '### LoRA', '', `- r: ${l.r}`, `- lora_alpha: ${l.alpha}`, `- lora_dropout: ${l.dropout}`,
      `- target_modules: ${Array.isArray(l.targetModules) ? l.targetModules.join(', ') : l.targetModules}`);
    if (l.useDora) lines.push('- use_dora: true');
  }
  if (evals.length) {
    // HF's table: at each evaluation, the latest training loss before it
    const [key, title] = evals[0].eval_perplexity !== undefined ? ['eval_perplexity', 'Perplexity']
      : evals[0]['eval_rewards/accuracies'] !== undefined ? ['eval_rewards/accuracies', 'Rewards/accuracies']
        : evals[0]['eval_rewards/margins'] !== undefined ? ['eval_rewards/margins', 'Rewards/margins']
          : evals[0].eval_f1 !== undefined ? ['eval_f1', 'F1'] : ['eval_accuracy', 'Accuracy'];
    lines.push('', '### Training results', '', `| Training Loss | Epoch | Step | Validation Loss | ${title} |`, '|:---:|:---:|:---:|:---:|:---:|');
    for (const e of evals) {
      const train = [...info.logHistory].reverse().find((t) => t.loss !== undefined && t.step <= e.step);
      lines.push(`| ${train ? train.loss!.toFixed(4) : 'No log'} | ${e.epoch.toFixed(4)} | ${e.step} | ${e.eval_loss!.toFixed(4)} | ${e[key]?.toFixed(4) ?? '-'} |`);
    }
  }
  const b = buildInfo();
  lines.push('', '### Framework versions', '', `- tstorch ${packageVersion()}`, `- libtorch ${b.torchVersion}${b.builtWithCuda ? ' (CUDA)' : ' (CPU)'}`, `- Node.js ${process.versions.node}`, '');
  return lines.join('\n');
}

function packageVersion(): string {
  try {
    return JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

/**
 * Writes dir/README.md (whole or not at all) unless the folder already has one of another's making
 * (a card the user wrote is theirs); the adapter's own short card (saveAdapter's) it replaces.
 */
export function writeModelCard(dir: string, info: ModelCardInfo): boolean {
  const file = path.join(dir, 'README.md');
  if (fs.existsSync(file) && !fs.readFileSync(file, 'utf8').includes(ADAPTER_CARD_MARK)) return false;
  writeFileAtomic(file, modelCard(info.name ?? path.basename(path.resolve(dir)), info));
  return true;
}
