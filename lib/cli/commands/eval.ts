// tstorch eval: held-out loss and perplexity of a model (and adapter) on a text or CSV file.
import * as torch from '../../index';
import { Spec } from '../args';
import { dataFlags, loadDataset, loadModelFromFlags, sharedFlags } from './common';
import { evaluate } from '../../train/evaluate';

export const summary = 'loss and perplexity of a model (optionally with a LoRA adapter) on a data file';
export const spec: Spec = {
  model: sharedFlags.model,
  tokenizer: sharedFlags.tokenizer,
  adapter: sharedFlags.adapter,
  data: { type: 'string', required: true, help: '.txt file, a .csv with an Article column, or a .jsonl with a text field (or prompt and completion fields)', aliases: ['validation-file'] },
  'block-size': { type: 'int', default: 128, help: 'tokens per block (without packing: an example\'s maximum length)' },
  'batch-size': { type: 'int', default: 8, help: 'blocks (or examples) per batch', aliases: ['per-device-eval-batch-size'] },
  stride: { type: 'int', help: 'sliding windows of --block-size tokens every N tokens, each scoring only the tokens past the previous one (HF\'s perplexity of fixed-length models; the whole text, context for every token)' },
  cleaning: sharedFlags.cleaning,
  'text-column': sharedFlags['text-column'],
  packing: sharedFlags.packing,
  'completion-only-loss': sharedFlags['completion-only-loss'],
  device: sharedFlags.device,
  attn: sharedFlags.attn,
  precision: { type: 'string', default: 'fp32', help: 'fp32 | bf16 (bfloat16 autocast, as HF evaluates with bf16=True)' },
  bf16: { type: 'boolean', help: 'HF\'s --bf16: the same as --precision bf16' },
  json: { type: 'boolean', help: 'one JSON line: loss, perplexity, tokens' },
};

export async function run(f: Record<string, unknown>): Promise<void> {
  if (f.bf16) f.precision = 'bf16';
  if (!['fp32', 'bf16'].includes(f.precision as string)) throw new Error(`--precision must be fp32 or bf16, got '${f.precision}'`);
  const stride = f.stride as number | undefined;
  if (stride !== undefined && !(stride >= 1 && stride <= (f['block-size'] as number))) throw new Error(`--stride must be between 1 and --block-size (${f['block-size']}), got ${stride}`);
  const model = await loadModelFromFlags(f);
  const data = loadDataset(f.data as string, f['block-size'] as number, model, { ...dataFlags(f), stride });
  const bs = f['batch-size'] as number;
  if (!(bs >= 1)) throw new Error('--batch-size must be >= 1');
  const r = evaluate(model, data, { batchSize: bs, device: f.device as string, precision: f.precision as 'fp32' | 'bf16' });
  if (f.json) console.log(JSON.stringify({ loss: r.loss, perplexity: r.perplexity, accuracy: r.accuracy, tokens: r.tokens, blocks: r.blocks, predictedTokens: r.predictedTokens }));
  else {
    const items = stride !== undefined ? 'windows' : data instanceof torch.data.TextDataset ? 'blocks' : 'examples';
    console.log(`loss ${r.loss.toFixed(4)}  perplexity ${r.perplexity.toFixed(2)}  accuracy ${r.accuracy.toFixed(4)}  (${r.blocks} ${items}, ${r.tokens} tokens, ${r.predictedTokens} predicted)`);
  }
  model.dispose();
}
