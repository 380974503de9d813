// tstorch generate: text from a prompt, with the key/value cache.
import { Spec } from '../args';
import { loadModelFromFlags, sharedFlags } from './common';
import { tokenizer } from '../../models/tokenizer';

export const summary = 'generate text from a prompt';
export const spec: Spec = {
  model: sharedFlags.model,
  adapter: sharedFlags.adapter,
  prompt: { type: 'string', required: true, help: 'the text to continue' },
  'max-new-tokens': { type: 'int', default: 50, help: 'tokens to add' },
  temperature: { type: 'number', default: 0, help: '0 is greedy; > 0 samples' },
  'top-k': { type: 'int', default: 0, help: 'sample from the k most likely tokens (0: all)' },
  'top-p': { type: 'number', default: 1, help: 'nucleus sampling mass' },
  'repetition-penalty': { type: 'number', default: 1, help: 'HF\'s repetition_penalty: > 1 makes tokens already there less likely (1: off)' },
  seed: { type: 'int', help: 'random seed for sampling' },
  device: sharedFlags.device,
  attn: sharedFlags.attn,
  json: { type: 'boolean', help: 'one JSON line: text, tokens' },
};

export async function run(f: Record<string, unknown>): Promise<void> {
  const prompt = f.prompt as string;
  if (!prompt) throw new Error('--prompt is empty');
  const temperature = f.temperature as number, topP = f['top-p'] as number, topK = f['top-k'] as number;
  if (temperature < 0) throw new Error('--temperature must be >= 0');
  if (!(topP > 0 && topP <= 1)) throw new Error('--top-p must be in (0, 1]');
  if (topK < 0) throw new Error('--top-k must be >= 0');
  if ((f['max-new-tokens'] as number) < 0) throw new Error('--max-new-tokens must be >= 0');
  const repetitionPenalty = f['repetition-penalty'] as number;
  if (!(repetitionPenalty > 0)) throw new Error('--repetition-penalty must be > 0 (1 is off)');
  const model = await loadModelFromFlags(f);
  const ids = tokenizer.encode(prompt);
  if (ids.some((t) => t >= model.config.vocab_size)) throw new Error(`the prompt has tokens beyond this model's vocabulary (${model.config.vocab_size})`);
  // The text streams out as it is generated (held back while a character's bytes are incomplete).
  const stream = !f.json;
  let shown = '';
  const show = (ids: number[], final: boolean) => {
    const text = tokenizer.decode(ids);
    if (!final && text.endsWith('\uFFFD')) return;
    process.stdout.write(text.slice(shown.length) + (final ? '\n' : ''));
    shown = text;
  };
  const sofar = [...ids];
  if (stream) show(sofar, false);
  const out = model.generate([ids], {
    maxNewTokens: f['max-new-tokens'] as number, temperature, topK, topP: topP < 1 ? topP : undefined,
    doSample: temperature > 0, seed: f.seed as number | undefined, repetitionPenalty,
    onToken: stream ? ([t]) => { sofar.push(t); show(sofar, false); } : undefined,
  })[0];
  const text = tokenizer.decode(out);
  if (stream) show(out, true);
  const added = out.length - ids.length, maxNew = f['max-new-tokens'] as number;
  if (added < maxNew && out[out.length - 1] !== model.config.eos_token_id) {
    console.error(`generate: stopped after ${added} new tokens: the model's context is ${model.config.n_positions} tokens`);
  }
  if (f.json) console.log(JSON.stringify({ text, tokens: out, newTokens: out.length - ids.length }));
  model.dispose();
}
