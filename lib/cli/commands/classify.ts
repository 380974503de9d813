// tstorch classify: a text classifier's labels for texts, as HF's text-classification pipeline.
import * as fs from 'fs';
import * as torch from '../../index';
import { Spec } from '../args';
import { attnFlag, isTokenClassifierSetup, loadClassifier, loadTokenClassifier, sharedFlags, textColumnsFlag, tokenizerFromFlags } from './common';
import { SUMMARIES } from '../summaries';

export const summary = SUMMARIES.classify;
export const spec: Spec = {
  model: sharedFlags.model,
  revision: sharedFlags.revision,
  adapter: { ...sharedFlags.adapter, help: 'PEFT LoRA adapter folder of task_type SEQ_CLS or TOKEN_CLS (tstorch train --task text-classification / token-classification writes one)' },
  tokenizer: sharedFlags.tokenizer,
  text: { type: 'string', help: 'the text to classify' },
  texts: { type: 'string', help: 'a file of texts: a .txt (one a line) or a .jsonl / .parquet (a text field each, or --text-column)' },
  'text-column': sharedFlags['text-column'],
  'text-column-delimiter': sharedFlags['text-column-delimiter'],
  'top-k': { type: 'int', default: 1, help: 'the labels shown per text, most likely first (0: all)' },
  'function-to-apply': { type: 'string', help: 'softmax, sigmoid or none (HF\'s pipeline: none for regression, sigmoid for multi-label or one label, softmax otherwise)' },
  'batch-size': { type: 'int', default: 8, help: 'texts per forward pass' },
  device: sharedFlags.device,
  attn: sharedFlags.attn,
  mmap: sharedFlags.mmap,
  json: { type: 'boolean', help: 'a JSON line per text: [{"label", "score"}, ...] as the pipeline returns (a token classifier: [{"word", "entity", "score"}, ...])' },
};

export async function run(f: Record<string, unknown>): Promise<void> {
  if ((f.text === undefined) === (f.texts === undefined)) throw new Error('give --text TEXT or --texts FILE (one of them)');
  const topK = f['top-k'] as number, bs = f['batch-size'] as number;
  if (!(topK >= 0)) throw new Error(`--top-k must be >= 0, got ${topK}`);
  if (!(bs >= 1)) throw new Error(`--batch-size must be >= 1, got ${bs}`);
  const apply = f['function-to-apply'] as string | undefined;
  if (apply !== undefined && !['softmax', 'sigmoid', 'none'].includes(apply)) throw new Error(`--function-to-apply must be softmax, sigmoid or none, got '${apply}'`);
  if (f.texts !== undefined && !fs.existsSync(f.texts as string)) throw new Error(`--texts ${f.texts}: no such file (a .txt of texts, one a line, or a .jsonl / .parquet)`);
  let texts: string[];
  if (f.text !== undefined) texts = [f.text as string];
  else if (f['text-column-delimiter'] !== undefined || (f['text-column'] as string | undefined)?.includes(',')) {
    // a classifier trained on several text columns (GLUE's sentence1,sentence2) reads them joined the same way
    const { textColumn, textColumnDelimiter } = textColumnsFlag(f);
    texts = torch.data.readTextColumns(f.texts as string, textColumn!, textColumnDelimiter);
  } else {
    const docs = torch.data.readTrainingDocuments(f.texts as string, { column: f['text-column'] as string | undefined, cleaning: 'none' });
    if (!('texts' in docs)) throw new Error(`--texts ${f.texts}: ${'pairs' in docs ? 'prompt-completion pairs' : 'pre-tokenized examples'}, not texts to classify`);
    texts = docs.texts;
  }
  const tok = tokenizerFromFlags(f);
  if (isTokenClassifierSetup(f.model as string, f.adapter as string | undefined)) return tagWords(f, texts, tok);
  const model = await loadClassifier(f.model as string, { adapter: f.adapter as string | undefined, device: f.device as string, attn: attnFlag(f), mmap: Boolean(f.mmap), padTokenId: tok.eosTokenId });
  const c = model.config, names = Object.values(c.id2label);
  // HF's pipeline default: regression as is, multi-label (or a single output) by sigmoid, else softmax
  const fn = apply ?? (c.problem_type === 'regression' ? 'none' : c.problem_type === 'multi_label_classification' || names.length === 1 ? 'sigmoid' : 'softmax');
  const pad = c.pad_token_id ?? tok.eosTokenId;
  if (c.pad_token_id === null) c.pad_token_id = pad;
  for (let i = 0; i < texts.length; i += bs) {
    const part = texts.slice(i, i + bs);
    const ids = part.map((t, k) => {
      const all = tok.encode(t);
      if (!all.length) throw new Error(`text ${i + k + 1} has no tokens (empty?)`);
      return all.slice(0, c.n_positions); // (as the pipeline's truncation to the model's length)
    });
    const T = Math.max(...ids.map((r) => r.length));
    const scores = torch.tidy(() => {
      const input = torch.tensor(ids.map((r) => [...r, ...Array(T - r.length).fill(pad)]), { dtype: 'int64', device: f.device as torch.Device });
      const mask = torch.tensor(ids.map((r) => [...Array(r.length).fill(1), ...Array(T - r.length).fill(0)]), { dtype: 'int64', device: f.device as torch.Device });
      const logits = torch.noGrad(() => model.forward(input, { attentionMask: mask }).logits.float());
      return (fn === 'softmax' ? logits.softmax(-1) : fn === 'sigmoid' ? logits.sigmoid() : logits).tolist() as number[][];
    });
    scores.forEach((row, k) => {
      const ranked = row.map((score, j) => ({ label: names[j], score })).sort((a, b) => b.score - a.score);
      const shown = topK === 0 ? ranked : ranked.slice(0, topK);
      if (f.json) console.log(JSON.stringify(shown));
      else console.log(`${shown.map((s) => `${s.label} ${s.score.toFixed(4)}`).join('  ')}\t${part[k].length > 60 ? part[k].slice(0, 57) + '...' : part[k]}`);
    });
  }
  model.dispose();
}

/**
 * A token classifier: each text's words (split at white space) tagged, each word by its first
 * token's most likely tag, printed word/TAG as the Brown Corpus writes them (--json: a list of
 * {word, entity, score} per text, as HF's token-classification pipeline without aggregation).
 */
async function tagWords(f: Record<string, unknown>, texts: string[], tok: torch.GPT2Tokenizer): Promise<void> {
  const model = await loadTokenClassifier(f.model as string, { adapter: f.adapter as string | undefined, device: f.device as string, attn: attnFlag(f), mmap: Boolean(f.mmap) });
  const names = Object.values(model.config.id2label);
  for (const text of texts) {
    const words = text.split(/\s+/).filter(Boolean);
    if (!words.length) throw new Error('a text with no words');
    const firsts: number[] = [], ids: number[] = [];
    for (const w of words) {
      firsts.push(ids.length);
      ids.push(...tok.encode(' ' + w)); // (each word as TokenClassificationDataset reads it)
    }
    if (ids.length > model.config.n_positions) throw new Error(`a text of ${ids.length} tokens: more than the model's n_positions (${model.config.n_positions})`);
    const probs = torch.tidy(() => torch.noGrad(() => model.forward(torch.tensor([ids], { dtype: 'int64', device: f.device as torch.Device })).logits.float().softmax(-1).squeeze(0).tolist() as number[][]));
    const tagged = words.map((word, k) => {
      const p = probs[firsts[k]], best = p.indexOf(Math.max(...p));
      return { word, entity: names[best], score: p[best] };
    });
    if (f.json) console.log(JSON.stringify(tagged));
    else console.log(tagged.map((t) => `${t.word}/${t.entity}`).join(' '));
  }
  model.dispose();
}
