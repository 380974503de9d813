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
  /** the base model as given (a Hub name or a folder) */
  baseModel: string;
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

/** The card's text. */
export function modelCard(name: string, info: ModelCardInfo): string {
  const tags = ['generated_from_trainer', 'tstorch', ...(info.adapter ? ['lora', 'peft'] : [])];
  const evals = info.logHistory.filter((e) => e.eval_loss !== undefined);
  const last = evals[evals.length - 1];
  const lines = [
    '---',
    `base_model: ${yamlString(info.baseModel)}`,
    `library_name: ${info.adapter ? 'peft' : 'transformers'}`,
    'tags:', ...tags.map((t) => `- ${t}`),
    'model-index:', `- name: ${yamlString(name)}`, '  results: []',
    '---', '',
    `# ${name}`, '',
    `This ${info.adapter ? 'LoRA adapter' : 'model'} is a fine-tuned version of ${info.baseModel}${info.dataset ? ` on ${info.dataset}` : ''}, trained with tstorch${info.startAdapter ? ` from the adapter ${info.startAdapter}` : ''}.`,
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

/** Writes dir/README.md (whole or not at all) unless the folder already has one: a card the user wrote is theirs. */
export function writeModelCard(dir: string, info: ModelCardInfo): boolean {
  const file = path.join(dir, 'README.md');
  if (fs.existsSync(file)) return false;
  writeFileAtomic(file, modelCard(path.basename(path.resolve(dir)), info));
  return true;
}
