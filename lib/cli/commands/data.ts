// tstorch data: what a data file becomes as training data, before any training: its kind, how
// many items and tokens, how many tokens the loss learns, and the first items with the learned
// tokens marked [[like this]] — to see what completion-only or assistant-only loss, a chat
// template or packing will do. Preference pairs (DPO, ORPO) and KTO examples show each side as
// TRL 1.x tokenizes it, the completion (what the loss scores) marked.
import * as torch from '../../index';
import { Spec } from '../args';
import { chatTemplateOf, dataFlags, ktoDataset, loadDataset, preferenceDataset, sharedFlags, tokenizerFromFlags } from './common';
import { SUMMARIES } from '../summaries';

export const summary = SUMMARIES.data;
export const spec: Spec = {
  data: { type: 'string', required: true, help: 'the data, as train and eval take it (a file, a folder, a dataset id)', aliases: ['train-file', 'dataset-name'] },
  model: { ...sharedFlags.model, required: false, help: 'the model folder whose tokenizer (and chat template) reads the data (default: GPT-2\'s tokenizer)' },
  tokenizer: sharedFlags.tokenizer,
  revision: sharedFlags.revision,
  'chat-template': sharedFlags['chat-template'],
  'dataset-config-name': sharedFlags['dataset-config-name'],
  'block-size': { type: 'int', default: 128, help: 'tokens per block (without packing: an example\'s maximum length)', aliases: ['max-seq-length', 'max-length'] },
  cleaning: sharedFlags.cleaning,
  'dataset-num-proc': sharedFlags['dataset-num-proc'],
  'dataset-cache': sharedFlags['dataset-cache'],
  'overwrite-cache': sharedFlags['overwrite-cache'],
  'text-column': sharedFlags['text-column'],
  packing: sharedFlags.packing,
  'packing-strategy': sharedFlags['packing-strategy'],
  'completion-only-loss': sharedFlags['completion-only-loss'],
  'assistant-only-loss': sharedFlags['assistant-only-loss'],
  'eos-token': sharedFlags['eos-token'],
  show: { type: 'int', default: 3, help: 'how many items to print (blocks, examples or rows)' },
  json: { type: 'boolean', help: 'one JSON object: the counts, and per item shown its token ids, labels (-100: not learned) and text' },
};

export async function run(f: Record<string, unknown>): Promise<void> {
  const show = f.show as number;
  if (!(Number.isInteger(show) && show >= 0)) throw new Error(`--show must be an integer >= 0, got ${show}`);
  // (a tokenizer from --model or --tokenizer; without either, GPT-2's, with --chat-template's template)
  const own = f.model !== undefined || f.tokenizer !== undefined;
  const template = own ? undefined : chatTemplateOf(f);
  const tok = own ? tokenizerFromFlags(f) : template === undefined ? torch.tokenizer : torch.tokenizer.withChatTemplate(template);
  // (preference pairs and KTO examples, as train takes them: TRL 1.x's tokenization, --block-size its max_length)
  const pairs = torch.data.readPreferencePairs(f.data as string, { chat: tok });
  if (pairs) return showSequences(f, tok, 'pairs', preferenceDataset(f.data as string, pairs, f, undefined, {}, tok));
  const unpaired = torch.data.readKTOExamples(f.data as string, { chat: tok });
  if (unpaired) return showSequences(f, tok, 'kto', ktoDataset(f.data as string, unpaired, f, undefined, {}, tok));
  const ds = loadDataset(f.data as string, f['block-size'] as number, undefined, dataFlags(f, tok));
  const all = [...Array(ds.length).keys()];
  const kind = ds instanceof torch.data.TextDataset ? 'blocks' : ds instanceof torch.data.PackedExampleDataset ? 'rows' : 'examples';
  const tokens = ds.tokens(all), learned = ds.lossTokens(all);
  const items = all.slice(0, show).map((i) => {
    const batch = ds.collate([i]);
    const ids = (batch.inputIds.tolist() as number[][])[0], labels = (batch.labels.tolist() as number[][])[0];
    batch.inputIds.dispose(); batch.labels.dispose(); batch.attentionMask?.dispose(); batch.positionIds?.dispose();
    labels[0] = -100; // (a row's first token is never predicted: nothing comes before it)
    return { index: i, ids, labels, text: marked(tok, ids, labels) };
  });
  if (f.json) {
    console.log(JSON.stringify({ kind, items: ds.length, tokens, learnedTokens: learned, shown: items }));
    return;
  }
  const what = ds instanceof torch.data.TextDataset ? `blocks of ${ds.blockSize} tokens (texts joined and cut: the loss on every token but each block's first)`
    : ds instanceof torch.data.PackedExampleDataset ? `rows of up to ${ds.examples.maxLength} tokens packed from ${ds.examples.length} sequences (each attending to itself)`
      : `examples of up to ${ds.maxLength} tokens (padded per batch)`;
  console.log(`${f.data}: ${ds.length.toLocaleString('en-US')} ${what}; ${tokens.toLocaleString('en-US')} tokens, ${learned.toLocaleString('en-US')} learned (${(100 * learned / Math.max(tokens, 1)).toFixed(1)}%)`);
  for (const it of items) console.log(`\n${kind.slice(0, -1)} ${it.index + 1} (${it.ids.length} tokens, ${it.labels.filter((l) => l !== -100).length} learned; learned tokens [[marked]]):\n${it.text}`);
}

/**
 * Preference pairs (DPO, ORPO) or KTO examples: how many, their tokens and completion tokens (what
 * the loss scores), and the first ones with the completion [[marked]] (a pair's chosen and rejected side).
 */
function showSequences(f: Record<string, unknown>, tok: torch.GPT2Tokenizer, kind: 'pairs' | 'kto', ds: torch.data.PreferenceDataset | torch.data.KTODataset): void {
  const all = [...Array(ds.length).keys()];
  const tokens = ds.tokens(all), learned = ds.lossTokens(all);
  const side = (q: { ids: Int32Array; promptLength: number }) => {
    const ids = Array.from(q.ids), labels = ids.map((id, k) => (k >= Math.max(q.promptLength, 1) ? id : -100));
    return { ids, labels, text: marked(tok, ids, labels) };
  };
  const shownIdx = all.slice(0, f.show as number);
  const items = ds instanceof torch.data.PreferenceDataset
    ? shownIdx.map((i) => ({ index: i, chosen: side(ds.chosen[i]), rejected: side(ds.rejected[i]) }))
    : shownIdx.map((i) => ({ index: i, label: ds.labels[i], ...side(ds.examples[i]) }));
  if (f.json) {
    console.log(JSON.stringify({ kind, items: ds.length, tokens, learnedTokens: learned, shown: items }));
    return;
  }
  const what = ds instanceof torch.data.PreferenceDataset ? `preference pairs (DPO, ORPO; --method kto unpairs them), each side up to ${f['block-size']} tokens`
    : `KTO examples (${ds.labels.filter(Boolean).length.toLocaleString('en-US')} desirable), each up to ${f['block-size']} tokens`;
  console.log(`${f.data}: ${ds.length.toLocaleString('en-US')} ${what}; ${tokens.toLocaleString('en-US')} tokens, ${learned.toLocaleString('en-US')} completion tokens scored (${(100 * learned / Math.max(tokens, 1)).toFixed(1)}%)`);
  const shown = (s: { ids: number[]; labels: number[]; text: string }) => `(${s.ids.length} tokens, ${s.labels.filter((l) => l !== -100).length} scored; the completion [[marked]]):\n${s.text}`;
  for (const it of items) {
    if ('chosen' in it) console.log(`\npair ${it.index + 1}, chosen ${shown(it.chosen)}\npair ${it.index + 1}, rejected ${shown(it.rejected)}`);
    else console.log(`\nexample ${it.index + 1}, ${it.label ? 'desirable' : 'undesirable'} ${shown(it)}`);
  }
}

/** The tokens as text, each run of learned tokens (label not -100) in [[ ]]. */
function marked(tok: torch.GPT2Tokenizer, ids: number[], labels: number[]): string {
  let out = '';
  for (let k = 0; k < ids.length;) {
    const learned = labels[k] !== -100;
    let end = k;
    while (end < ids.length && (labels[end] !== -100) === learned) end++;
    const text = tok.decode(ids.slice(k, end));
    out += learned ? `[[${text}]]` : text;
    k = end;
  }
  return out;
}
