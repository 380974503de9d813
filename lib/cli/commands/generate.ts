// tstorch generate: text from a prompt (or a file of prompts, in batches), with the key/value cache.
import * as fs from 'fs';
import { Spec } from '../args';
import { loadModelFromFlags, sharedFlags } from './common';
import { tokenizer } from '../../models/tokenizer';
import { readJsonlFields } from '../../data/text';
import type { GPT2LMHeadModel } from '../../models/gpt2';
import { completesStopString } from '../../models/generation';
import type { BeamSearchOutput, GenerateOptions } from '../../models/generation';

export const summary = 'generate text from a prompt';
export const spec: Spec = {
  model: sharedFlags.model,
  adapter: sharedFlags.adapter,
  prompt: { type: 'string', help: 'the text to continue' },
  prompts: { type: 'string', help: 'instead of --prompt, a file of them: one a line (.txt) or a prompt field an object (.jsonl); prints a JSON line each (prompt, completion, tokens)' },
  'batch-size': { type: 'int', default: 8, help: 'with --prompts: prompts generated together (left-padded, each as it would be alone)' },
  'max-new-tokens': { type: 'int', default: 50, help: 'tokens to add' },
  temperature: { type: 'number', default: 0, help: '0 is greedy; > 0 samples' },
  'top-k': { type: 'int', default: 50, help: 'sample from the k most likely tokens (0: all; 50 as HF\'s generate)' },
  'top-p': { type: 'number', default: 1, help: 'nucleus sampling mass' },
  'min-p': { type: 'number', default: 0, help: 'sample only tokens at least this fraction as likely as the most likely one (HF\'s min_p; 0: off)' },
  'repetition-penalty': { type: 'number', default: 1, help: 'HF\'s repetition_penalty: > 1 makes tokens already there less likely (1: off)' },
  'no-repeat-ngram-size': { type: 'int', default: 0, help: 'no n-gram of this size occurs twice (prompt included; 0: off)' },
  'min-new-tokens': { type: 'int', default: 0, help: 'the end of text is not chosen before this many new tokens' },
  'num-beams': { type: 'int', default: 1, help: 'beam search with this many beams (1: greedy or sampling)' },
  'length-penalty': { type: 'number', default: 1, help: 'beam search: score = log-probability / new tokens ** this (> 0 favours longer texts)' },
  'early-stopping': { type: 'boolean', help: 'beam search: stop a prompt once --num-beams texts are finished (default: once none could score better)' },
  'num-return-sequences': { type: 'int', default: 1, help: 'texts per prompt: the best beams (<= --num-beams), or independent samples' },
  stop: { type: 'string', help: 'stop a text once it holds this string (HF\'s stop_strings; kept in the output), e.g. $\'\\n\'' },
  seed: { type: 'int', help: 'random seed for sampling' },
  device: sharedFlags.device,
  attn: sharedFlags.attn,
  json: { type: 'boolean', help: 'one JSON line: text, tokens' },
};

export async function run(f: Record<string, unknown>): Promise<void> {
  const prompt = f.prompt as string | undefined;
  if (prompt === undefined && f.prompts === undefined) throw new Error('missing --prompt (or --prompts FILE); see: tstorch generate --help');
  if (prompt !== undefined && f.prompts !== undefined) throw new Error('--prompt and --prompts: give one');
  if (prompt === '') throw new Error('--prompt is empty');
  const temperature = f.temperature as number, topP = f['top-p'] as number, topK = f['top-k'] as number;
  if (temperature < 0) throw new Error('--temperature must be >= 0');
  if (!(topP > 0 && topP <= 1)) throw new Error('--top-p must be in (0, 1]');
  if (topK < 0) throw new Error('--top-k must be >= 0');
  const minP = f['min-p'] as number;
  if (!(minP >= 0 && minP <= 1)) throw new Error('--min-p must be in [0, 1]');
  if ((f['max-new-tokens'] as number) < 0) throw new Error('--max-new-tokens must be >= 0');
  const repetitionPenalty = f['repetition-penalty'] as number;
  if (!(repetitionPenalty > 0)) throw new Error('--repetition-penalty must be > 0 (1 is off)');
  const numBeams = f['num-beams'] as number, numReturnSequences = f['num-return-sequences'] as number;
  for (const k of ['num-beams', 'num-return-sequences']) if ((f[k] as number) < 1) throw new Error(`--${k} must be >= 1`);
  for (const k of ['no-repeat-ngram-size', 'min-new-tokens']) if ((f[k] as number) < 0) throw new Error(`--${k} must be >= 0`);
  if (numBeams > 1 && temperature > 0) throw new Error('--num-beams with --temperature > 0: beam search is deterministic here; give one of them');
  if (numReturnSequences > Math.max(numBeams, temperature > 0 ? Infinity : 1)) {
    throw new Error(`--num-return-sequences ${numReturnSequences} needs --num-beams >= ${numReturnSequences} (or sampling: --temperature > 0)`);
  }
  const options: GenerateOptions = {
    maxNewTokens: f['max-new-tokens'] as number, temperature, topK, topP: topP < 1 ? topP : undefined, minP: minP > 0 ? minP : undefined,
    doSample: temperature > 0, seed: f.seed as number | undefined, repetitionPenalty,
    noRepeatNgramSize: f['no-repeat-ngram-size'] as number, minNewTokens: f['min-new-tokens'] as number,
    numBeams, lengthPenalty: f['length-penalty'] as number, earlyStopping: (f['early-stopping'] as boolean | undefined) ?? false,
    numReturnSequences, stopStrings: f.stop === undefined ? undefined : [f.stop as string],
  };
  if (f.stop === '') throw new Error('--stop is empty');
  if (f.stop !== undefined && numBeams > 1) throw new Error('--stop is for greedy decoding and sampling, not --num-beams');
  if (prompt === undefined) return generateFromFile(f, options);
  const model = await loadModelFromFlags(f);
  const ids = tokenizer.encode(prompt);
  checkVocabulary(model, ids, 'the prompt');
  if (numBeams > 1 || numReturnSequences > 1) {
    // Several texts, or beams (whose best is known only at the end): printed when done.
    const { sequences, scores } = runGenerate(model, [ids], options);
    sequences.forEach((tokens, k) => {
      const added = newTokens(tokens, ids.length, model.config.eos_token_id, options.stopStrings);
      const text = tokenizer.decode([...ids, ...added]);
      if (f.json) console.log(JSON.stringify({ text, tokens: [...ids, ...added], newTokens: added.length, ...(scores.length ? { score: scores[k] } : {}) }));
      else console.log(`${sequences.length > 1 ? `=== ${k + 1} ===\n` : ''}${text}`);
    });
    model.dispose();
    return;
  }
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
  const out = model.generate([ids], { ...options, onToken: stream ? ([t]) => { sofar.push(t); show(sofar, false); } : undefined })[0];
  const text = tokenizer.decode(out);
  if (stream) show(out, true);
  const added = out.length - ids.length, maxNew = f['max-new-tokens'] as number;
  const stopped = options.stopStrings && completesStopString(out, options.stopStrings);
  if (added < maxNew && out[out.length - 1] !== model.config.eos_token_id && !stopped) {
    console.error(`generate: stopped after ${added} new tokens: the model's context is ${model.config.n_positions} tokens`);
  }
  if (f.json) console.log(JSON.stringify({ text, tokens: out, newTokens: out.length - ids.length }));
  model.dispose();
}

/** --prompts: every prompt of the file, --batch-size at a time; a JSON line per prompt, in order. */
async function generateFromFile(f: Record<string, unknown>, options: GenerateOptions): Promise<void> {
  const file = f.prompts as string, batchSize = f['batch-size'] as number;
  if (!fs.existsSync(file) || fs.statSync(file).isDirectory()) throw new Error(`--prompts ${file}: no such file`);
  if (!(batchSize >= 1)) throw new Error(`--batch-size must be >= 1, got ${batchSize}`);
  const prompts = file.toLowerCase().endsWith('.jsonl')
    ? readJsonlFields(file, ['prompt'], undefined, 'each line needs a string prompt field').map(([p]) => p)
    : fs.readFileSync(file, 'utf8').split(/\r?\n/).filter((l) => l.trim());
  if (!prompts.length) throw new Error(`--prompts ${file}: no prompts in it`);
  const model: GPT2LMHeadModel = await loadModelFromFlags(f);
  const eos = model.config.eos_token_id;
  for (let i = 0; i < prompts.length; i += batchSize) {
    const batch = prompts.slice(i, i + batchSize).map((p) => tokenizer.encode(p));
    batch.forEach((ids, k) => checkVocabulary(model, ids, `--prompts ${file}: prompt ${i + k + 1}`));
    const n = options.numReturnSequences ?? 1;
    const { sequences, scores } = runGenerate(model, batch, options);
    sequences.forEach((out, j) => {
      const k = Math.floor(j / n); // a prompt's sequences are adjacent
      const added = newTokens(out, batch[k].length, eos, options.stopStrings);
      const extra = { ...(n > 1 ? { sequence: j % n } : {}), ...(scores.length ? { score: scores[j] } : {}) };
      console.log(JSON.stringify({ prompt: prompts[i + k], completion: tokenizer.decode(added), tokens: [...batch[k], ...added], newTokens: added.length, ...extra }));
    });
  }
  model.dispose();
}

/** Beam search (with its scores) or greedy/sampled sequences. */
function runGenerate(model: GPT2LMHeadModel, prompts: number[][], options: GenerateOptions): BeamSearchOutput {
  return (options.numBeams ?? 1) > 1 ? model.beamSearch(prompts, options) : { sequences: model.generate(prompts, options), scores: [] };
}

/**
 * A sequence's new tokens up to the first eos (kept) or the token completing a stop string: a
 * sequence that finished so is padded with eos while the others go on.
 */
function newTokens(tokens: number[], promptLength: number, eos: number | null | undefined, stops?: string[]): number[] {
  for (let end = promptLength + 1; end <= tokens.length; end++) {
    if ((eos !== null && eos !== undefined && tokens[end - 1] === eos) || (stops && completesStopString(tokens.slice(0, end), stops))) return tokens.slice(promptLength, end);
  }
  return tokens.slice(promptLength);
}

/** A prompt's ids must exist in the model's vocabulary (a smaller, non-GPT-2 one would index past it). */
function checkVocabulary(model: GPT2LMHeadModel, ids: number[], what: string): void {
  if (ids.some((t) => t >= model.config.vocab_size)) throw new Error(`${what} has tokens beyond this model's vocabulary (${model.config.vocab_size})`);
}
