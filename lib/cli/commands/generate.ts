// tstorch generate: text from a prompt (or a file of prompts, in batches), with the key/value cache.
import * as fs from 'fs';
import { Spec } from '../args';
import { attnFlag, loadModel, loadModelFromFlags, sharedFlags, tokenizerFromFlags } from './common';
import { notInCacheHint } from '../../io/hub';
import type { GPT2Tokenizer } from '../../models/tokenizer';
import type { ChatMessage, ChatTemplateOptions } from '../../models/chat_template';
import { isRecordFile, readDataText, readJsonlFields, readRecords } from '../../data/text';
import { withPrecision } from '../../train/evaluate';
import type { GPT2LMHeadModel } from '../../models/gpt2';
import { GenerationBatcher } from '../../models/batching';
import { checkGenerateOptions, completesStopString, eosList, withDefaults } from '../../models/generation';
import type { BeamSearchOutput, EosTokenIds, GenerateOptions } from '../../models/generation';
import { SUMMARIES } from '../summaries';
import { heldEnding } from '../streaming';
import { JsonGrammar } from '../../models/json_constraint';
import { RegexGrammar } from '../../models/regex_constraint';
import { EbnfGrammar } from '../../models/grammar_constraint';
import { StructuralTag } from '../../models/structural_tag';
import { tokenConstraint } from '../../models/token_constraint';

export const summary = SUMMARIES.generate;
export const spec: Spec = {
  model: sharedFlags.model,
  revision: sharedFlags.revision,
  tokenizer: sharedFlags.tokenizer,
  adapter: sharedFlags.adapter,
  prompt: { type: 'string', help: 'the text to continue' },
  prompts: { type: 'string', help: 'instead of --prompt, a file of them: one a line (.txt) or a prompt field an object (.jsonl) or row (.parquet); prints a JSON line each (prompt, completion, tokens)' },
  'batch-size': { type: 'int', default: 8, help: 'with --prompts: prompts generated together (left-padded, each as it would be alone: in fp32; under bf16 the batch\'s shapes change the rounding, so a near tie may go another way, as in HF; one at a time with --assistant-model or --prompt-lookup-num-tokens)' },
  'continuous-batching': { type: 'boolean', help: 'with --prompts: --batch-size prompts in flight, each generated as alone, their steps sharing forward passes; a finished one makes room for the next (vLLM\'s offline batching: no step spent on finished rows)' },
  'max-new-tokens': { type: 'int', help: 'tokens to add (default 50)' },
  temperature: { type: 'number', help: '0 is greedy; > 0 samples (default 0)' },
  'do-sample': { type: 'boolean', help: 'HF\'s do_sample: sample (at --temperature, default 1) instead of decoding greedily; --no-do-sample: greedy whatever --temperature says (default: sampling when --temperature > 0, or as the model\'s generation_config.json says)' },
  'top-k': { type: 'int', help: 'sample from the k most likely tokens (0: all; default 50, as HF\'s generate)' },
  'top-p': { type: 'number', help: 'nucleus sampling mass (default 1: all)' },
  'min-p': { type: 'number', help: 'sample only tokens at least this fraction as likely as the most likely one (HF\'s min_p; default 0: off)' },
  'typical-p': { type: 'number', help: 'typical sampling: the tokens nearest the entropy, up to this mass (HF\'s typical_p; default 1: off)' },
  'epsilon-cutoff': { type: 'number', help: 'sample only tokens of probability >= this (HF\'s epsilon_cutoff, e.g. 3e-4; default 0: off)' },
  'eta-cutoff': { type: 'number', help: 'eta sampling: an entropy-dependent cutoff (HF\'s eta_cutoff, e.g. 2e-3; default 0: off)' },
  'prompt-lookup-num-tokens': { type: 'int', help: 'propose this many tokens from earlier in the text and check them in one pass (HF\'s prompt lookup decoding: greedy\'s text, or sampling\'s, faster where it repeats the prompt)' },
  'assistant-model': { type: 'string', help: 'a smaller GPT-2 of the same vocabulary (a folder, or distilgpt2 from the HF cache) drafts tokens that the model checks several per pass (HF\'s assisted decoding: greedy\'s text, or with sampling speculative sampling, distributed as sampling\'s; faster)' },
  'num-assistant-tokens': { type: 'int', help: 'with --assistant-model: the most tokens drafted a round (HF\'s num_assistant_tokens; default 20)' },
  'prefill-chunk-size': { type: 'int', help: 'the prompt through the model this many positions a pass (HF\'s prefill_chunk_size; greedy and sampling): a long prompt at less memory, the same text' },
  'max-time': { type: 'number', help: 'stop a text after the step that ends past this many seconds (HF\'s max_time; the text so far is printed)' },
  'penalty-alpha': { type: 'number', help: 'contrastive search (HF\'s penalty_alpha, with --top-k > 1, greedy): of the top-k tokens, the likely one least like the text so far; less repetitive (0.6 with --top-k 4 is usual; default 0: off)' },
  'bad-words': { type: 'string', help: 'comma-separated words never generated, each as written and with a leading space (HF\'s bad_words_ids)' },
  'repetition-penalty': { type: 'number', help: 'HF\'s repetition_penalty: > 1 makes tokens already there less likely (default 1: off)' },
  'frequency-penalty': { type: 'number', help: 'OpenAI\'s frequency_penalty: a new token\'s score less this x the times it was generated so far (> 0: fewer repeats; default 0: off)' },
  'presence-penalty': { type: 'number', help: 'OpenAI\'s presence_penalty: a token generated already has its score lowered by this, once (default 0: off)' },
  'no-repeat-ngram-size': { type: 'int', help: 'no n-gram of this size occurs twice (prompt included; default 0: off)' },
  'min-new-tokens': { type: 'int', help: 'the end of text is not chosen before this many new tokens (default 0)' },
  'num-beams': { type: 'int', help: 'beam search with this many beams (default 1: greedy or sampling); with --temperature > 0, beam sampling (HF\'s)' },
  'length-penalty': { type: 'number', help: 'beam search: score = log-probability / new tokens ** this (> 0 favours longer texts; default 1)' },
  'early-stopping': { type: 'boolean', help: 'beam search: stop a prompt once --num-beams texts are finished (default: once none could score better)' },
  'num-return-sequences': { type: 'int', help: 'texts per prompt: the best beams (<= --num-beams), or independent samples (default 1)' },
  stop: { type: 'string', help: 'stop a text once it holds this string (HF\'s stop_strings; kept in the output), e.g. $\'\\n\'' },
  chat: { type: 'boolean', help: 'the prompt is a user\'s message: rendered by the chat template with the generation prompt (HF\'s chat pipeline); prints the reply (with --prompts: string prompts are user messages, conversational ones TRL\'s prompt-only rows)' },
  system: { type: 'string', help: 'with --chat: a system message before the user\'s' },
  'chat-template': sharedFlags['chat-template'],
  seed: { type: 'int', help: 'random seed for sampling' },
  device: sharedFlags.device,
  attn: sharedFlags.attn,
  mmap: sharedFlags.mmap,
  precision: { type: 'string', default: 'fp32', help: 'fp32 | bf16 (the forward passes under bfloat16 autocast: faster where the CPU or GPU multiplies bf16)' },
  bf16: { type: 'boolean', help: 'HF\'s --bf16: the same as --precision bf16' },
  json: { type: 'boolean', help: 'one JSON line: text, tokens' },
  'json-schema': { type: 'string', help: 'hold each reply to JSON this JSON Schema file accepts, token by token (serve\'s structured outputs json: only tokens that keep it the start of such JSON, the end once it is whole)' },
  'json-object': { type: 'boolean', help: 'hold each reply to a JSON object (serve\'s response_format json_object)' },
  regex: { type: 'string', help: 'hold each reply to a match of this regular expression, as Python\'s re.fullmatch reads it (serve\'s structured outputs regex), e.g. \'\\d{3}-\\d{4}\'' },
  choice: { type: 'string', help: 'hold each reply to exactly one of these strings: a JSON list, or comma-separated (serve\'s structured outputs choice), e.g. yes,no' },
  grammar: { type: 'string', help: 'hold each reply to a text this grammar file derives from its rule root (EBNF as xgrammar and llama.cpp\'s GBNF write it: root ::= ...; serve\'s structured outputs grammar)' },
  'structural-tag': { type: 'string', help: 'hold each reply to what this structural tag file accepts (xgrammar\'s, as vLLM takes it: {"type": "structural_tag", "format": {...}}: free text, tags, tool calls dispatched from triggers; serve\'s response_format structural_tag)' },
  logprobs: { type: 'boolean', help: 'with --json or --prompts: each new token\'s log-probability where it was chosen (HF\'s compute_transition_scores, normalized)' },
};

export async function run(f: Record<string, unknown>): Promise<void> {
  const prompt = f.prompt as string | undefined;
  if (prompt === undefined && f.prompts === undefined) throw new Error('missing --prompt (or --prompts FILE); see: tstorch generate --help');
  if (prompt !== undefined && f.prompts !== undefined) throw new Error('--prompt and --prompts: give one');
  if (prompt === '') throw new Error('--prompt is empty');
  if (f.logprobs && !f.json && f.prompts === undefined) throw new Error('--logprobs goes into JSON lines: add --json (or use --prompts)');
  const holds = HOLDS.filter((k) => f[k] !== undefined && f[k] !== false);
  if (holds.length > 1) throw new Error(`--${holds.join(' and --')}: give one (each holds the whole reply)`);
  if (f.system !== undefined && !f.chat) throw new Error('--system is a chat\'s system message: add --chat');
  if (f['num-assistant-tokens'] !== undefined && f['assistant-model'] === undefined) throw new Error('--num-assistant-tokens goes with --assistant-model');
  const flags = generateFlags(f);
  const tokenizer = flags.tokenizer!;
  if (prompt === undefined) return generateFromFile(f, flags);
  const model = await loadModelFromFlags(f);
  const plainOptions = await withAssistant(f, model, generateOptions(model, flags));
  const eos = plainOptions.eosTokenId === undefined ? model.config.eos_token_id : plainOptions.eosTokenId;
  const ids = tokenizer.encode(f.chat ? chatPrompt(tokenizer, prompt, f.system as string | undefined) : prompt);
  checkVocabulary(model, ids, 'the prompt');
  const options = withHold(plainOptions, heldReply(f, tokenizer, model, plainOptions, eos), ids.length);
  if (f.chat) {
    // the assistant's reply alone, as the chat pipeline's new message (printed when done: its end may be a stop string)
    const { sequences } = runGenerate(model, [ids], options, f);
    sequences.forEach((tokens, k) => {
      const added = newTokens(tokens, ids.length, eos, options.stopStrings, tokenizer);
      const reply = replyText(tokenizer.decode(added, plain), options.stopStrings);
      if (f.json) console.log(JSON.stringify({ reply, prompt: tokenizer.decode(ids), tokens: [...ids, ...added], newTokens: added.length }));
      else console.log(`${sequences.length > 1 ? `=== ${k + 1} ===\n` : ''}${reply}`);
    });
    model.dispose();
    options.assistantModel?.dispose();
    return;
  }
  if ((options.numBeams ?? 1) > 1 || (options.numReturnSequences ?? 1) > 1 || f.logprobs) {
    // Several texts, or beams (whose best is known only at the end), or log-probabilities: printed when done.
    const { sequences, scores, logprobs } = runGenerate(model, [ids], options, f);
    sequences.forEach((tokens, k) => {
      const added = newTokens(tokens, ids.length, eos, options.stopStrings, tokenizer);
      const text = tokenizer.decode([...ids, ...added], plain);
      const extra = { ...(scores.length ? { score: scores[k] } : {}), ...(logprobs ? { logprobs: logprobs[k].slice(0, added.length) } : {}) };
      if (f.json) console.log(JSON.stringify({ text, tokens: [...ids, ...added], newTokens: added.length, ...extra }));
      else console.log(`${sequences.length > 1 ? `=== ${k + 1} ===\n` : ''}${text}`);
    });
    model.dispose();
    options.assistantModel?.dispose();
    return;
  }
  // The text streams out as it is generated, the prompt first.
  const stream = f.json ? null : textStream((added) => tokenizer.decode([...ids, ...added], plain));
  stream?.add();
  const out = inPrecision(f, () => model.generate([ids], { ...options, onToken: stream ? ([t]) => stream.add(t) : undefined }))[0];
  const text = tokenizer.decode(out, plain);
  stream?.end(text);
  const added = out.length - ids.length, maxNew = options.maxNewTokens!;
  const stopped = options.stopStrings && completesStopString(out, options.stopStrings, tokenizer);
  if (added < maxNew && !eosList(eos).includes(out[out.length - 1]) && !stopped) {
    console.error(`generate: stopped after ${added} new tokens: the model's context is ${model.config.n_positions} tokens`);
  }
  if (f.json) console.log(JSON.stringify({ text, tokens: out, newTokens: out.length - ids.length }));
  model.dispose();
  options.assistantModel?.dispose();
}

/** A user's message (after --system's) rendered by the chat template with the generation prompt. */
function chatPrompt(tokenizer: GPT2Tokenizer, text: string, system?: string): string {
  const messages = [...(system !== undefined ? [{ role: 'system', content: system }] : []), { role: 'user', content: text }];
  return tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true });
}

/** A chat reply: the generated text without the stop string that ended it (the turn's end marker). */
export function replyText(text: string, stops: string[] | undefined): string {
  for (const s of stops ?? []) {
    const at = text.indexOf(s);
    if (at >= 0) return text.slice(0, at);
  }
  return text;
}

/** Texts are printed without special tokens (eos), as HF's text-generation pipeline; --json's tokens keep them. */
export const plain = { skipSpecialTokens: true };

/** --bad-words: each word's tokens as written and after a space (GPT-2 spells a word mid-sentence with its space). */
function badWords(list: string | undefined, tokenizer: GPT2Tokenizer): number[][] | undefined {
  if (list === undefined) return undefined;
  const words = list.split(',').map((w) => w.trim()).filter(Boolean);
  if (!words.length) throw new Error('--bad-words is empty');
  return words.flatMap((w) => [tokenizer.encode(w), tokenizer.encode(` ${w}`)]);
}

/**
 * The generation flags (shared by generate and chat) as GenerateOptions, checked; flags not given
 * fall back to the model's generation_config.json, then to the defaults. chat: the tokenizer must
 * have a chat template, and a reply ends at the tag the template ends a reply with (ChatML's <|im_end|>).
 */
export function generateFlags(f: Record<string, unknown>, chat = Boolean(f.chat)): GenerateOptions {
  const num = (k: string) => f[k] as number | undefined;
  const temperature = num('temperature'), topP = num('top-p'), topK = num('top-k'), minP = num('min-p');
  const numBeams = num('num-beams'), numReturnSequences = num('num-return-sequences'), repetitionPenalty = num('repetition-penalty');
  // (each bad value is said with what it must be and what it was)
  const check = (k: string, ok: (v: number) => boolean, what: string) => {
    const v = num(k);
    if (v !== undefined && !ok(v)) throw new Error(`--${k} must be ${what}, got ${v}`);
  };
  check('temperature', (v) => v >= 0, '>= 0');
  const doSample = f['do-sample'] as boolean | undefined;
  if (doSample === true && temperature === 0) throw new Error('--do-sample with --temperature 0: sampling needs a temperature > 0 (leave --do-sample out to decode greedily)');
  check('top-p', (v) => v > 0 && v <= 1, 'in (0, 1]');
  check('top-k', (v) => v >= 0, '>= 0 (0: all)');
  check('min-p', (v) => v >= 0 && v <= 1, 'in [0, 1]');
  check('max-time', (v) => v > 0, 'a number of seconds > 0');
  check('penalty-alpha', (v) => v >= 0 && v <= 1, 'in [0, 1] (0: off)');
  check('max-new-tokens', (v) => v >= 0, '>= 0');
  check('repetition-penalty', (v) => v > 0, '> 0 (1 is off)');
  for (const k of ['frequency-penalty', 'presence-penalty']) check(k, Number.isFinite, 'a number (0: off)');
  for (const k of ['num-beams', 'num-return-sequences', 'prefill-chunk-size', 'prompt-lookup-num-tokens', 'num-assistant-tokens']) check(k, (v) => v >= 1, '>= 1');
  for (const k of ['no-repeat-ngram-size', 'min-new-tokens']) check(k, (v) => v >= 0, '>= 0');
  check('typical-p', (v) => v > 0 && v <= 1, 'in (0, 1]');
  for (const k of ['epsilon-cutoff', 'eta-cutoff']) check(k, (v) => v >= 0 && v < 1, 'in [0, 1)');
  if (f.stop === '') throw new Error('--stop is empty');
  if (f.bf16) f.precision = 'bf16';
  if (!['fp32', 'bf16'].includes(f.precision as string)) throw new Error(`--precision must be fp32 or bf16, got '${f.precision}'`);
  const tokenizer = tokenizerFromFlags(f); // (the model folder's own, or GPT-2's)
  if (chat) {
    tokenizer.getChatTemplate(); // (no template: the error that says how to give one, before any work)
    // a GPT-2 trained on ChatML writes <|im_end|> as text, not as its eos: the reply ends there (Llama 3's <|eot_id|> ... alike)
    if (f.stop === undefined) f.stop = tokenizer.assistantTurnEnd();
  }
  return {
    maxNewTokens: num('max-new-tokens'), temperature, topK, topP, minP,
    doSample: doSample ?? (temperature === undefined ? undefined : temperature > 0), seed: num('seed'), repetitionPenalty,
    frequencyPenalty: num('frequency-penalty'), presencePenalty: num('presence-penalty'),
    noRepeatNgramSize: num('no-repeat-ngram-size'), minNewTokens: num('min-new-tokens'),
    numBeams, lengthPenalty: num('length-penalty'), earlyStopping: f['early-stopping'] as boolean | undefined,
    numReturnSequences, stopStrings: f.stop === undefined ? undefined : [f.stop as string],
    promptLookupNumTokens: num('prompt-lookup-num-tokens'), numAssistantTokens: num('num-assistant-tokens'), penaltyAlpha: num('penalty-alpha'), maxTime: num('max-time'),
    prefillChunkSize: num('prefill-chunk-size'),
    typicalP: num('typical-p'), epsilonCutoff: num('epsilon-cutoff'), etaCutoff: num('eta-cutoff'), badWordsIds: badWords(f['bad-words'] as string | undefined, tokenizer),
    tokenizer,
  };
}

/** --prompts: every prompt of the file, --batch-size at a time; a JSON line per prompt, in order. */
async function generateFromFile(f: Record<string, unknown>, flags: GenerateOptions): Promise<void> {
  const file = f.prompts as string;
  if (!fs.existsSync(file) || fs.statSync(file).isDirectory()) throw new Error(`--prompts ${file}: no such file`);
  if (!((f['batch-size'] as number) >= 1)) throw new Error(`--batch-size must be >= 1, got ${f['batch-size']}`);
  const tokenizer = flags.tokenizer!;
  // With --chat a record's prompt may be a conversation (TRL's prompt-only row): rendered as it is
  // read, with the generation prompt; a string prompt is a user's message, rendered below.
  const rendered = new Set<string>();
  const chat = { applyChatTemplate: (m: ChatMessage[], o?: ChatTemplateOptions) => { const t = tokenizer.applyChatTemplate(m, o); rendered.add(t); return t; } };
  const prompts = isRecordFile(file)
    ? readJsonlFields(file, ['prompt'], readRecords(file, f.chat ? { chat } : {}), 'each line needs a string prompt field (or, with --chat, a list of messages)').map(([p]) => p)
    : readDataText(file).split(/\r?\n/).filter((l) => l.trim());
  if (!prompts.length) throw new Error(`--prompts ${file}: no prompts in it`);
  const model: GPT2LMHeadModel = await loadModelFromFlags(f);
  const options = await withAssistant(f, model, generateOptions(model, flags));
  // (prompt lookup and an assistant take one prompt at a time, as HF's assisted decoding)
  const batchSize = options.promptLookupNumTokens !== undefined || options.assistantModel ? 1 : f['batch-size'] as number;
  const eos = options.eosTokenId === undefined ? model.config.eos_token_id : options.eosTokenId;
  const hold = heldReply(f, tokenizer, model, options, eos);
  const n = options.numReturnSequences ?? 1;
  const encode = (i: number) => {
    const ids = tokenizer.encode(f.chat && !rendered.has(prompts[i]) ? chatPrompt(tokenizer, prompts[i], f.system as string | undefined) : prompts[i]);
    checkVocabulary(model, ids, `--prompts ${file}: prompt ${i + 1}`);
    return ids;
  };
  // prompt i's JSON lines from its sequences (a prompt's n sequences adjacent)
  const print = (i: number, ids: number[], sequences: number[][], scores: number[], logprobs?: number[][]) => sequences.forEach((out, j) => {
    const added = newTokens(out, ids.length, eos, options.stopStrings, tokenizer);
    const extra = { ...(n > 1 ? { sequence: j } : {}), ...(scores.length ? { score: scores[j] } : {}), ...(logprobs ? { logprobs: logprobs[j].slice(0, added.length) } : {}) };
    const completion = tokenizer.decode(added, plain);
    console.log(JSON.stringify({ prompt: prompts[i], completion: f.chat ? replyText(completion, options.stopStrings) : completion, tokens: [...ids, ...added], newTokens: added.length, ...extra }));
  });
  try {
    if (f['continuous-batching']) {
      await continuousBatches(model, options, f, prompts.length, batchSize, encode, print, hold);
      return;
    }
    for (let i = 0; i < prompts.length; i += batchSize) {
      const batch = prompts.slice(i, i + batchSize).map((_, k) => encode(i + k));
      // (left-padded: every row's reply begins after the longest prompt)
      const { sequences, scores, logprobs } = runGenerate(model, batch, withHold(options, hold, Math.max(...batch.map((p) => p.length))), f);
      batch.forEach((ids, k) => print(i + k, ids, sequences.slice(k * n, (k + 1) * n), scores.slice(k * n, (k + 1) * n), logprobs?.slice(k * n, (k + 1) * n)));
    }
  } finally {
    model.dispose();
    options.assistantModel?.dispose();
  }
}

/**
 * --continuous-batching: up to `inFlight` prompts generating at once in a GenerationBatcher, each
 * as it is alone, a finished one making room for the next; the lines printed in the file's order.
 */
async function continuousBatches(model: GPT2LMHeadModel, options: GenerateOptions, f: Record<string, unknown>, count: number, inFlight: number,
  encode: (i: number) => number[], print: (i: number, ids: number[], sequences: number[][], scores: number[]) => void, hold?: Hold): Promise<void> {
  if (f.logprobs) throw new Error('--logprobs goes with padded batches (HF\'s scores): leave out --continuous-batching');
  if ((options.numBeams ?? 1) > 1) throw new Error('--continuous-batching shares greedy and sampling steps: not with --num-beams');
  const all = Array.from({ length: count }, (_, i) => encode(i)); // (every prompt checked before any work)
  const batcher = new GenerationBatcher(model, { autocast: precisionAutocast(f) });
  const done = new Map<number, number[][]>();
  let next = 0, printed = 0, failed = false;
  // one of `inFlight` lanes: a prompt at a time until none is left (or one failed)
  const lane = async (): Promise<void> => {
    while (next < count && !failed) {
      const i = next++;
      try {
        done.set(i, await batcher.generate([all[i]], withHold(options, hold, all[i].length)));
      } catch (e) {
        failed = true;
        throw e;
      }
      for (; done.has(printed); printed++) {
        print(printed, all[printed], done.get(printed)!, []);
        done.delete(printed);
      }
    }
  };
  const lanes = await Promise.allSettled(Array.from({ length: Math.min(inFlight, count) }, lane));
  const failure = lanes.find((l) => l.status === 'rejected') as PromiseRejectedResult | undefined;
  if (failure) throw failure.reason; // (after every lane has stopped: the model is freed after)
}

/** The flags that hold a reply to a language (one at a time). */
const HOLDS = ['json-schema', 'json-object', 'regex', 'choice', 'grammar', 'structural-tag'];

/** A reply held to a language: generate's prefixAllowedTokensFn for prompts of a given length (the reply is what follows them). */
type Hold = (promptLength: number) => NonNullable<GenerateOptions['prefixAllowedTokensFn']>;

/**
 * --json-schema, --json-object, --regex, --choice, --grammar, --structural-tag: each reply held token by token to what
 * it asks for, as serve's structured outputs hold it (only tokens that keep the reply the start of
 * one, the end once it is whole); undefined where none is given.
 */
function heldReply(f: Record<string, unknown>, tokenizer: GPT2Tokenizer, model: GPT2LMHeadModel, options: GenerateOptions, eos: EosTokenIds | undefined): Hold | undefined {
  const flag = HOLDS.find((k) => f[k] !== undefined && f[k] !== false);
  if (!flag) return undefined;
  const fail = (message: string): never => {
    model.dispose();
    options.assistantModel?.dispose();
    throw new Error(message);
  };
  const ends = [...eosList(eos)];
  if (!ends.length) fail(`--${flag} needs an end token to stop at once the reply is whole: the model has no eos_token_id (set it in its config.json or generation_config.json)`);
  if (options.minNewTokens) fail(`--${flag} and --min-new-tokens do not go together: a whole reply may come before them, and then only its end may follow`);
  if (options.assistantModel || options.promptLookupNumTokens !== undefined || options.penaltyAlpha) fail(`--${flag} holds the reply token by token: not with --assistant-model, --prompt-lookup-num-tokens or --penalty-alpha`);
  let allowedNext: (reply: number[]) => number[];
  try {
    const compile: Record<string, () => JsonGrammar | RegexGrammar | EbnfGrammar | StructuralTag> = {
      'json-object': () => JsonGrammar.object(),
      'json-schema': () => JsonGrammar.fromSchema(readSchema(f['json-schema'] as string), { anyRoot: true }),
      regex: () => RegexGrammar.fromPattern(f.regex as string),
      choice: () => RegexGrammar.choice(choices(f.choice as string)),
      grammar: () => EbnfGrammar.fromText(readText(f.grammar as string, 'a grammar in EBNF, e.g. root ::= "yes" | "no"')),
      'structural-tag': () => StructuralTag.fromSpec(readJson(f['structural-tag'] as string, 'a structural tag, e.g. {"type": "structural_tag", "format": {"type": "triggered_tags", ...}}')),
    };
    const grammar = compile[flag]();
    allowedNext = tokenConstraint(tokenizer, model.config.vocab_size, ends, grammar.machine(), { what: `a reply --${flag} accepts` });
  } catch (e) {
    return fail(`--${flag}: ${(e as Error).message}`);
  }
  return (promptLength) => (_batchId, ids) => allowedNext(ids.slice(promptLength));
}

function withHold(options: GenerateOptions, hold: Hold | undefined, promptLength: number): GenerateOptions {
  return hold ? { ...options, prefixAllowedTokensFn: hold(promptLength) } : options;
}

/** A file's text; `what` says what it should hold where there is none. */
function readText(file: string, what: string): string {
  if (!fs.existsSync(file) || fs.statSync(file).isDirectory()) throw new Error(`${file}: no such file (${what})`);
  return fs.readFileSync(file, 'utf8');
}

function readSchema(file: string): unknown {
  return readJson(file, 'a JSON Schema, e.g. {"type": "object", "properties": {...}}');
}

/** A JSON file's value; `what`: what it should hold, for the error where it is missing. */
function readJson(file: string, what: string): unknown {
  const text = readText(file, what);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${file} is not JSON: ${(e as Error).message}`);
  }
}

/** --choice: a JSON list of strings, or the strings comma-separated. */
function choices(text: string): string[] {
  if (!text.trimStart().startsWith('[')) return text.split(',');
  const list = JSON.parse(text);
  if (!Array.isArray(list)) throw new Error('a JSON list of strings, or the strings comma-separated');
  return list;
}

/** The flags given, over the model's generation_config.json, over the command's defaults; checked. */
export function generateOptions(model: GPT2LMHeadModel, flags: GenerateOptions): GenerateOptions {
  try {
    return checkedGenerateOptions(model, flags);
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/** The settings only sampling reads, with their flags. */
const SAMPLING_FLAGS: [keyof GenerateOptions, string][] = [['topK', '--top-k'], ['topP', '--top-p'], ['minP', '--min-p'], ['typicalP', '--typical-p'], ['epsilonCutoff', '--epsilon-cutoff'], ['etaCutoff', '--eta-cutoff']];

/** The settings only beam search reads, with their flags. */
const BEAM_FLAGS: [keyof GenerateOptions, string][] = [['lengthPenalty', '--length-penalty'], ['earlyStopping', '--early-stopping']];

/** generateOptions without disposing the model on an error (chat's !set: the chat goes on). */
export function checkedGenerateOptions(model: GPT2LMHeadModel, flags: GenerateOptions): GenerateOptions {
  const options = withDefaults(withDefaults({ maxNewTokens: 50 }, model.generationConfig), flags);
  const beams = options.numBeams ?? 1, n = options.numReturnSequences ?? 1;
  const sampling = options.doSample ?? (options.temperature ?? 0) > 0;
  try {
    if (n > Math.max(beams, sampling ? Infinity : 1)) throw new Error(`--num-return-sequences ${n} needs --num-beams >= ${n} (or sampling: --temperature > 0 or --do-sample)`);
    if (options.stopStrings && beams > 1) throw new Error('--stop is for greedy decoding and sampling, not --num-beams');
    checkGenerateOptions(options);
  } catch (e) {
    const fromFile = Object.keys(model.generationConfig).length ? ' (with the model\'s generation_config.json)' : '';
    throw new Error(`${(e as Error).message}${fromFile}`);
  }
  // (as HF's generation config warns: a sampling setting given to greedy or beam decoding changes nothing)
  const contrastive = (options.penaltyAlpha ?? 0) > 0; // (contrastive search reads top-k, its candidates)
  const samplingOnly = SAMPLING_FLAGS.filter(([k]) => flags[k] !== undefined && !(k === 'topK' && contrastive)).map(([, flag]) => flag);
  if (!sampling && samplingOnly.length) console.error(`note: ${samplingOnly.join(', ')} ${samplingOnly.length > 1 ? 'are' : 'is'} for sampling (--do-sample, or --temperature > 0); greedy and beam search ignore ${samplingOnly.length > 1 ? 'them' : 'it'}`);
  const beamOnly = BEAM_FLAGS.filter(([k]) => flags[k] !== undefined).map(([, flag]) => flag);
  if (beams === 1 && beamOnly.length) console.error(`note: ${beamOnly.join(', ')} ${beamOnly.length > 1 ? 'are' : 'is'} for beam search (--num-beams > 1); ${sampling ? 'sampling' : 'greedy decoding'} ignores ${beamOnly.length > 1 ? 'them' : 'it'}`);
  return options;
}

/**
 * --assistant-model: that model (on --device), as the options' assistantModel, checked against the
 * model and the options before any text is made.
 */
export async function withAssistant(f: Record<string, unknown>, model: GPT2LMHeadModel, options: GenerateOptions): Promise<GenerateOptions> {
  const dir = f['assistant-model'] as string | undefined;
  if (dir === undefined) return options;
  try {
    if (!fs.existsSync(dir)) throw new Error(`--assistant-model ${dir}: no such folder${notInCacheHint(dir)}`);
    if ((options.numBeams ?? 1) > 1 || (options.numReturnSequences ?? 1) > 1) {
      throw new Error('--assistant-model is for greedy decoding and sampling of one sequence: not with --num-beams or --num-return-sequences');
    }
    if (options.promptLookupNumTokens !== undefined) throw new Error('--assistant-model and --prompt-lookup-num-tokens are two ways of proposing tokens: give one');
  } catch (e) {
    model.dispose();
    throw e;
  }
  const assistant = await loadModel(dir, { device: f.device as string | undefined, attn: attnFlag(f), mmap: Boolean(f.mmap) }).catch((e: Error) => {
    model.dispose();
    throw new Error(`--assistant-model ${dir}: ${e.message}`);
  });
  if (assistant.config.vocab_size !== model.config.vocab_size) {
    model.dispose();
    assistant.dispose();
    throw new Error(`--assistant-model ${dir} has a vocabulary of ${assistant.config.vocab_size} tokens, the model ${model.config.vocab_size}: an assistant drafts in the model's own tokens (distilgpt2 for GPT-2)`);
  }
  return { ...options, assistantModel: assistant };
}

/**
 * Text written out as it is generated (generate's, and chat's replies as HF's transformers chat
 * streams them): decode(tokens so far), less what may still change (a character whose bytes are
 * not all there, an ending that may be the start of a stop string); a stop string itself is never
 * shown. add() with no token writes what there is already; end() writes the rest of the final
 * text and (unless newline is false) the newline.
 */
export function textStream(decode: (tokens: number[]) => string, stops: string[] = [], write: (s: string) => void = (s) => process.stdout.write(s), newline = true): { add(...tokens: number[]): void; end(text: string): void } {
  const tokens: number[] = [];
  let shown = '';
  const settled = (text: string): string => {
    const cut = replyText(text, stops);
    if (cut.length < text.length) return cut; // (a stop string reached: what comes before it is final)
    const t = cut.endsWith('\uFFFD') ? cut.slice(0, -1) : cut;
    return t.slice(0, t.length - heldEnding(t, stops));
  };
  return {
    add(...added) {
      tokens.push(...added);
      const text = settled(decode(tokens));
      if (text.length > shown.length && text.startsWith(shown)) { write(text.slice(shown.length)); shown = text; }
    },
    end(text) {
      // (what was shown is always the text's start: decoding appends bytes, it never rewrites them)
      write(`${text.startsWith(shown) ? text.slice(shown.length) : `\n${text}`}${newline ? '\n' : ''}`);
    },
  };
}

/** Beam search (with its scores) or greedy/sampled sequences, in --precision. */
export function runGenerate(model: GPT2LMHeadModel, prompts: number[][], options: GenerateOptions, f: Record<string, unknown>): BeamSearchOutput & { logprobs?: number[][] } {
  const beams = (options.numBeams ?? 1) > 1;
  if (!f.logprobs) return inPrecision(f, () => (beams ? model.beamSearch(prompts, options) : { sequences: model.generate(prompts, options), scores: [] }));
  // --logprobs: each new token's log-probability at the step that chose it (HF's compute_transition_scores, normalize_logits)
  const out = inPrecision(f, () => model.generate(prompts, { ...options, returnDictInGenerate: true, outputScores: true }));
  try {
    const logprobs = model.computeTransitionScores(out.sequences, out.scores!, out.beamIndices ?? null, true);
    return { sequences: out.sequences, scores: out.sequencesScores ?? [], logprobs };
  } finally {
    for (const t of out.scores!) t.dispose();
  }
}

/** generate's autocast option for --precision bf16 (on --device), for generateAsync; undefined for fp32. */
export function precisionAutocast(f: Record<string, unknown>): GenerateOptions['autocast'] {
  return f.precision === 'bf16' ? { deviceType: String(f.device ?? 'cpu').startsWith('cuda') ? 'cuda' : 'cpu', dtype: 'bfloat16' } : undefined;
}

/** fn under bfloat16 autocast with --precision bf16. */
function inPrecision<T>(f: Record<string, unknown>, fn: () => T): T {
  return withPrecision(f.precision as 'fp32' | 'bf16', f.device as string, fn);
}

/**
 * A sequence's new tokens up to the first end token (kept) or the token completing a stop string:
 * a sequence that finished so is padded with the (first) end token while the others go on.
 */
export function newTokens(tokens: number[], promptLength: number, eos: EosTokenIds | undefined, stops: string[] | undefined, tokenizer: GPT2Tokenizer): number[] {
  const ends = eosList(eos);
  for (let end = promptLength + 1; end <= tokens.length; end++) {
    if (ends.includes(tokens[end - 1]) || (stops && completesStopString(tokens.slice(0, end), stops, tokenizer))) return tokens.slice(promptLength, end);
  }
  return tokens.slice(promptLength);
}

/** A prompt's ids must exist in the model's vocabulary (a smaller, non-GPT-2 one would index past it). */
export function checkVocabulary(model: GPT2LMHeadModel, ids: number[], what: string): void {
  if (ids.some((t) => t >= model.config.vocab_size)) throw new Error(`${what} has tokens beyond this model's vocabulary (${model.config.vocab_size})`);
}
