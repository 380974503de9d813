// Decoding for generate(): greedy, sampling, beam search, prompt lookup and assisted decoding
// over a key/value cache, with Hugging Face's logits processors and warpers (logits_process.ts).
// The semantics are transformers' GenerationMixin (scripts/reference/generate_ref.py transcribes
// it in plain PyTorch); the model itself is reached only through DecodingState.forward.
import { keywordOptions } from '../tensor/options';
import * as fs from 'fs';
import * as path from 'path';
import { Tensor } from '../tensor/tensor';
import { ones, rand, tensor } from '../tensor/creation';
import { cat } from '../tensor/ops';
import { keep, tidy } from '../tensor/scope';
import { Device } from '../tensor/dtype';
import type { AutocastOptions } from '../tensor/runtime';
import * as F from '../nn/functional';
import { tokenizer, GPT2Tokenizer } from './tokenizer';
import type { ForwardOptions, GPT2LMHeadModel, GPT2Output, LayerPast } from './gpt2';
import { reorderCache, repeatCache } from './kv_cache';
import { DecodeStep, EosTokenIds, eosList, processLogits, warpScores } from './logits_process';
import { isJsonObject } from '../io/json';
export { processLogits, warpScores, addSequenceBias, repetitionPenalty, noRepeatNgramBans, eosList } from './logits_process';
export type { DecodeStep, EosTokenIds } from './logits_process';

export interface GenerateOptions {
  maxNewTokens?: number;
  /** HF's max_length: the prompt and the new tokens together (maxNewTokens, when given, wins) */
  maxLength?: number;
  /** HF's min_length: no end token before the prompt and the new tokens reach this (minNewTokens, when given, wins) */
  minLength?: number;
  /** 0 (or doSample false) is greedy */
  temperature?: number;
  /** sampling: only the k most likely tokens (default 50, as HF's GenerationConfig; 0: all) */
  topK?: number;
  /** sampling: only the most likely tokens whose probabilities reach this mass (nucleus; default 1: all) */
  topP?: number;
  /** sampling: only tokens at least this fraction as likely as the most likely one (HF's min_p; 0: off) */
  minP?: number;
  /**
   * HF's repetition_penalty (> 0; 1 is off): before temperature and sampling, the scores of tokens
   * already in the sequence (prompt included) are divided by it where positive, multiplied where negative.
   */
  repetitionPenalty?: number;
  /**
   * OpenAI's frequency_penalty (as vLLM's; not an HF option; 0 is off): each token's score less
   * this x how many times it was generated so far (the prompt does not count). Positive values
   * discourage repeats, negative encourage them; OpenAI takes -2 .. 2.
   */
  frequencyPenalty?: number;
  /** OpenAI's presence_penalty (as vLLM's; 0 is off): each token already generated (not the prompt) has its score lowered by this, once */
  presencePenalty?: number;
  /** HF's no_repeat_ngram_size: no n-gram of this size occurs twice in a sequence (prompt included; 0: off) */
  noRepeatNgramSize?: number;
  /** HF's min_new_tokens: eos is not chosen before this many new tokens */
  minNewTokens?: number;
  /** HF's bad_words_ids: token sequences never generated (a sequence's last token is banned where the rest precedes it) */
  badWordsIds?: number[][];
  /** HF's sequence_bias: [tokens, bias] pairs; the bias goes to a sequence's last token where the rest precedes it (always, for one token) */
  sequenceBias?: [number[], number][];
  /** HF's suppress_tokens: never generated */
  suppressTokens?: number[];
  /** HF's begin_suppress_tokens: not generated as the first new token */
  beginSuppressTokens?: number[];
  /** HF's forced_eos_token_id: the token forced as the last one, when maxNewTokens is reached */
  forcedEosTokenId?: number;
  /** HF's exponential_decay_length_penalty [start, factor]: after start new tokens, eos's score grows by factor per token */
  exponentialDecayLengthPenalty?: [number, number];
  /** HF's renormalize_logits: the processed scores log-softmaxed again (beam search's scores then stay log-probabilities) */
  renormalizeLogits?: boolean;
  /** sampling, HF's typical_p: the tokens closest to the distribution's entropy, up to this mass (1: off) */
  typicalP?: number;
  /** sampling, HF's epsilon_cutoff: only tokens of probability >= this (0: off) */
  epsilonCutoff?: number;
  /** sampling, HF's eta_cutoff: only tokens of probability >= min(eta, sqrt(eta)·e^-entropy) (0: off) */
  etaCutoff?: number;
  doSample?: boolean;
  seed?: number;
  /**
   * stop a sequence at this token, or at any of these (HF's list: the first also pads finished
   * sequences); default config.eos_token_id; null never stops
   */
  eosTokenId?: EosTokenIds;
  /**
   * HF's pad_token_id: what a finished sequence is continued with while others go on (after the
   * first end token, in beam search), and what shorter prompts are left-padded with (masked out);
   * default the first end token (HF's fallback, GPT-2's case), or 0 without one
   */
  padTokenId?: number;
  /**
   * HF's stop_strings: a sequence stops once its text holds one of these, ending in its last
   * token (kept whole, as HF); `tokenizer` decodes. Greedy and sampling only.
   */
  stopStrings?: string[];
  /** HF's generate(tokenizer=...): what decodes the text stopStrings look in (default GPT-2's; a folder's: GPT2Tokenizer.fromPretrained) */
  tokenizer?: GPT2Tokenizer;
  useCache?: boolean;
  /**
   * HF's num_beams: > 1 is beam search, which keeps the numBeams most likely continuations of each
   * prompt and returns the best finished ones (deterministic; not with sampling or onToken).
   */
  numBeams?: number;
  /** beam search: a finished sequence's score is its log-probability / (new tokens ** lengthPenalty); > 0 favours longer ones (default 1) */
  lengthPenalty?: number;
  /**
   * beam search, HF's early_stopping: true stops a prompt once numBeams sequences are finished;
   * false (default) once no unfinished beam could score better; 'never' only when none can (the length limit's bound)
   */
  earlyStopping?: boolean | 'never';
  /** sequences returned per prompt (HF's num_return_sequences): beam search's best ones (<= numBeams), or independent samples */
  numReturnSequences?: number;
  /**
   * Called after each generated token with every sequence's new token (a finished sequence gets
   * eos again) and which sequences are finished: for streaming text out (HF's streamer).
   */
  onToken?: (tokens: number[], done: boolean[]) => void;
  /**
   * HF's past_key_values for generate: the key/value cache of the prompt's first tokens (a forward
   * pass's pastKeyValues, with useCache), so only the rest of the prompt goes through the model
   * (a system prompt or a document reused across calls). One prompt, or prompts of one length;
   * the cache's rows one (shared) or one per prompt; it must leave at least one prompt token to
   * feed. The tensors stay the caller's (generate reads them, never frees or changes them).
   */
  pastKeyValues?: LayerPast[];
  /**
   * HF's prefill_chunk_size: the prompt goes through the model in passes of this many positions
   * (all but its last token; the first step feeds that one), each pass a step of its own (so
   * generateAsync and a GenerationBatcher let other work run between them): the attention of a
   * long prompt in pieces, at less memory. The same logits as one pass, but for float rounding.
   * Greedy decoding and sampling only (as HF's), with the cache; other decodings ignore it.
   */
  prefillChunkSize?: number;
  /**
   * Called with the model's raw logits (rows, vocab; before any processor) for each step's tokens,
   * just before onToken hears of them: for streaming log-probabilities (tstorch serve's logprobs).
   * It runs in a scope: the tensor, and those the call makes, are freed after it unless kept
   * (torch.keep). Not with beam search, as onToken.
   */
  onLogits?: (logits: Tensor) => void;
  /**
   * HF's prompt_lookup_num_tokens: prompt lookup decoding, one prompt: the tokens that followed
   * the last n-gram's earlier occurrence are proposed and checked in one forward pass, the longest
   * agreeing run kept. Greedy, the same tokens as plain greedy decoding; sampling, each position is
   * sampled and the run that equals the samples kept, so distributed as plain sampling; in fewer
   * passes when the text repeats its prompt (summaries, edits, extraction).
   */
  promptLookupNumTokens?: number;
  /** HF's max_matching_ngram_size: the longest n-gram looked up (default 2) */
  maxMatchingNgramSize?: number;
  /**
   * HF's assistant_model: assisted decoding, one prompt. A smaller model of the same vocabulary
   * (distilgpt2 for gpt2-large) drafts tokens; the model checks them in one forward pass and keeps
   * a run of them, plus its own next token. Greedy, the run it agrees with: the same tokens as
   * plain greedy decoding. Sampling (doSample), HF's speculative sampling: the assistant samples
   * its draft, each token kept with probability min(1, p/q): the text is distributed as the model's
   * own sampling. Either way in fewer passes of the large model where the small one guesses well.
   */
  assistantModel?: GPT2LMHeadModel;
  /** HF's num_assistant_tokens: the most tokens drafted a round (default the assistant's generation config's, else 20) */
  numAssistantTokens?: number;
  /**
   * HF's num_assistant_tokens_schedule: 'constant' (default), or 'heuristic': 2 more after a round
   * all accepted, 1 fewer (at least 1) otherwise, the count reached kept in the assistant's
   * generationConfig for its next call, as HF's; 'heuristic_transient': the same, starting afresh each call
   */
  numAssistantTokensSchedule?: 'constant' | 'heuristic' | 'heuristic_transient';
  /** HF's assistant_confidence_threshold: a draft ends after a token the assistant gives less than this probability (default 0.4; 0: off) */
  assistantConfidenceThreshold?: number;
  /**
   * HF's prefix_allowed_tokens_fn: constrained decoding. Called for each row at each step with the
   * row's batch id (its prompt) and its tokens so far (prompt included, with its left padding),
   * it returns the token ids allowed next; the others get -inf (after min new tokens, before the
   * forced eos, as HF orders them). For a format, a grammar, a fixed set of answers.
   */
  prefixAllowedTokensFn?: (batchId: number, inputIds: number[]) => number[];
  /** HF's max_time: stop after the step that ends past this many seconds from the start (the text so far is the result) */
  maxTime?: number;
  /**
   * HF's penalty_alpha: > 0 (with topK > 1, greedy) is contrastive search (Su et al., 2022): of the
   * topK likeliest tokens, the one with the highest (1 - alpha) x its probability - alpha x its
   * hidden state's greatest cosine similarity with the text's: likely, and unlike what came
   * before, so less repetitive than greedy decoding (0.6 with topK 4 is the usual setting).
   */
  penaltyAlpha?: number;
  /**
   * Stops the generation at its next step once aborted (Node's AbortController): generate() and
   * generateAsync() throw the signal's reason, every tensor freed. With generate() it can only be
   * aborted from within the generation (onToken); generateAsync() lets other code run between steps.
   */
  signal?: AbortSignal;
  /**
   * Each step's forward passes under this autocast (torch.autocast's options), e.g. { deviceType:
   * 'cpu', dtype: 'bfloat16' }: what wrapping generate() in autocast() does, and generateAsync()
   * needs, as it returns before its steps run.
   */
  autocast?: AutocastOptions;
  /** HF's return_dict_in_generate: generate() returns a GenerateOutput (sequences, and scores / logits as asked) */
  returnDictInGenerate?: boolean;
  /** HF's output_scores: each step's processed scores (after the processors and, sampling, the warpers; beam search: log-probabilities) */
  outputScores?: boolean;
  /** HF's output_logits: each step's raw logits */
  outputLogits?: boolean;
}

/**
 * generate()'s result with returnDictInGenerate (HF's GenerateDecoderOnlyOutput /
 * GenerateBeamDecoderOnlyOutput). The tensors are the caller's to dispose.
 */
export interface GenerateOutput {
  sequences: number[][];
  /**
   * outputScores: one (rows, vocab) float32 tensor per step; rows are prompts x beams (or x
   * samples). Beam search: a finished prompt's rows go on as padding (HF continues them from the
   * batch's first row, tstorch from their own); no returned sequence reads them.
   */
  scores?: Tensor[];
  /** outputLogits: one (rows, vocab) float32 tensor per step */
  logits?: Tensor[];
  /** beam search: the rows each returned sequence's tokens were chosen in, step by step (HF's beam_indices, without the -1 padding) */
  beamIndices?: number[][];
  /** beam search: each sequence's score (HF's sequences_scores) */
  sequencesScores?: number[];
}

/** What a decoding loop records with outputScores / outputLogits: tensors kept past its scopes. */
export interface DecodeRecord {
  scores?: Tensor[];
  logits?: Tensor[];
}

/** Every option of generate(): one it does not know (a typo, Python's max_new_tokens) is an error, not a default. */
export const GENERATE_OPTIONS = [
  'maxNewTokens', 'maxLength', 'minLength', 'temperature', 'topK', 'topP', 'minP', 'repetitionPenalty', 'frequencyPenalty', 'presencePenalty', 'noRepeatNgramSize',
  'minNewTokens', 'badWordsIds', 'sequenceBias', 'suppressTokens', 'beginSuppressTokens', 'forcedEosTokenId', 'exponentialDecayLengthPenalty',
  'renormalizeLogits', 'typicalP', 'epsilonCutoff', 'etaCutoff', 'doSample', 'seed', 'eosTokenId', 'padTokenId', 'stopStrings', 'tokenizer', 'useCache',
  'numBeams', 'lengthPenalty', 'earlyStopping', 'numReturnSequences', 'onToken', 'onLogits', 'promptLookupNumTokens', 'maxMatchingNgramSize',
  'assistantModel', 'numAssistantTokens', 'numAssistantTokensSchedule', 'assistantConfidenceThreshold', 'penaltyAlpha', 'signal', 'autocast', 'prefixAllowedTokensFn', 'maxTime',
  'returnDictInGenerate', 'outputScores', 'outputLogits', 'pastKeyValues', 'prefillChunkSize',
] as const satisfies readonly (keyof GenerateOptions)[];
// (compile-time: an option added to GenerateOptions but not to the list fails here)
const everyOptionListed: Exclude<keyof GenerateOptions, (typeof GENERATE_OPTIONS)[number]> extends never ? true : never = true;
void everyOptionListed;

/** generate()'s options checked by name (as Python's keywords: max_new_tokens names maxNewTokens). */
export function checkGenerateKeys(opts: GenerateOptions): GenerateOptions {
  return keywordOptions('generate', opts, GENERATE_OPTIONS);
}

/**
 * The new-token bounds of one call: maxNewTokens (or HF's maxLength less the prompt, when only
 * that was given), minNewTokens likewise from minLength.
 */
export function newTokenBounds(o: GenerateOptions, promptLength: number): { maxNew: number; minNew: number | undefined } {
  let maxNew = o.maxNewTokens ?? DEFAULT_MAX_NEW_TOKENS;
  if (o.maxNewTokens === undefined && o.maxLength !== undefined) {
    if (!Number.isInteger(o.maxLength) || o.maxLength <= promptLength) {
      throw new Error(`generate: maxLength ${o.maxLength} counts the prompt too (HF's max_length), and the prompt is already ${promptLength} tokens: give a larger maxLength, or maxNewTokens`);
    }
    maxNew = o.maxLength - promptLength;
  }
  let minNew = o.minNewTokens;
  if (minNew === undefined && o.minLength !== undefined) {
    if (!Number.isInteger(o.minLength) || o.minLength < 0) throw new Error(`generate: minLength must be an integer >= 0, got ${o.minLength}`);
    minNew = Math.max(0, o.minLength - promptLength);
  }
  return { maxNew, minNew };
}

/** generation_config.json's fields (HF's GenerationConfig) that tstorch reads, and their options. */
type FieldKind = 'int' | 'token' | 'schedule' | 'eos' | 'number' | 'boolean' | 'stopping' | 'strings' | 'ints' | 'intLists' | 'bias' | 'decay';
const GENERATION_FIELDS: Record<string, [keyof GenerateOptions, FieldKind]> = {
  max_new_tokens: ['maxNewTokens', 'int'], min_new_tokens: ['minNewTokens', 'int'], do_sample: ['doSample', 'boolean'],
  max_length: ['maxLength', 'int'], min_length: ['minLength', 'int'],
  temperature: ['temperature', 'number'], top_k: ['topK', 'int'], top_p: ['topP', 'number'], min_p: ['minP', 'number'],
  repetition_penalty: ['repetitionPenalty', 'number'], no_repeat_ngram_size: ['noRepeatNgramSize', 'int'],
  num_beams: ['numBeams', 'int'], length_penalty: ['lengthPenalty', 'number'], early_stopping: ['earlyStopping', 'stopping'],
  num_return_sequences: ['numReturnSequences', 'int'], eos_token_id: ['eosTokenId', 'eos'], pad_token_id: ['padTokenId', 'token'], stop_strings: ['stopStrings', 'strings'],
  typical_p: ['typicalP', 'number'], epsilon_cutoff: ['epsilonCutoff', 'number'], eta_cutoff: ['etaCutoff', 'number'],
  bad_words_ids: ['badWordsIds', 'intLists'], sequence_bias: ['sequenceBias', 'bias'], suppress_tokens: ['suppressTokens', 'ints'],
  begin_suppress_tokens: ['beginSuppressTokens', 'ints'], forced_eos_token_id: ['forcedEosTokenId', 'int'],
  exponential_decay_length_penalty: ['exponentialDecayLengthPenalty', 'decay'], renormalize_logits: ['renormalizeLogits', 'boolean'],
  prompt_lookup_num_tokens: ['promptLookupNumTokens', 'int'], max_matching_ngram_size: ['maxMatchingNgramSize', 'int'],
  num_assistant_tokens: ['numAssistantTokens', 'int'], num_assistant_tokens_schedule: ['numAssistantTokensSchedule', 'schedule'],
  assistant_confidence_threshold: ['assistantConfidenceThreshold', 'number'], penalty_alpha: ['penaltyAlpha', 'number'], max_time: ['maxTime', 'number'],
  prefill_chunk_size: ['prefillChunkSize', 'int'],
};

const isInts = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => Number.isInteger(x) && x >= 0);
/** Whether a generation_config.json value has the type its field needs. */
function fieldOk(kind: FieldKind, v: unknown): boolean {
  switch (kind) {
    case 'int': return Number.isInteger(v);
    case 'token': return Number.isInteger(v) && (v as number) >= 0;
    case 'schedule': return v === 'constant' || v === 'heuristic' || v === 'heuristic_transient';
    case 'eos': return (Number.isInteger(v) && (v as number) >= 0) || (isInts(v) && v.length > 0);
    case 'number': return typeof v === 'number' && Number.isFinite(v);
    case 'boolean': return typeof v === 'boolean';
    case 'stopping': return typeof v === 'boolean' || v === 'never';
    case 'strings': return Array.isArray(v) && v.every((x) => typeof x === 'string');
    case 'ints': return isInts(v);
    case 'intLists': return Array.isArray(v) && v.every((x) => isInts(x) && x.length > 0);
    case 'bias': return Array.isArray(v) && v.every((x) => Array.isArray(x) && x.length === 2 && isInts(x[0]) && x[0].length > 0 && typeof x[1] === 'number');
    case 'decay': return Array.isArray(v) && v.length === 2 && Number.isInteger(v[0]) && typeof v[1] === 'number';
  }
}

/**
 * A model folder's generation_config.json as generate() defaults (HF's from_pretrained loads it
 * so); {} without one. Fields tstorch does not use (bos_token_id, transformers_version, ...) are ignored.
 */
export function readGenerationConfig(dir: string): GenerateOptions {
  const file = path.join(dir, 'generation_config.json');
  if (!fs.existsSync(file)) return {};
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`GPT-2: ${file} is not valid JSON (${(e as Error).message})`);
  }
  if (!isJsonObject(raw)) throw new Error(`GPT-2: ${file} must hold a JSON object`);
  const out: Record<string, unknown> = {};
  for (const [field, [option, kind]] of Object.entries(GENERATION_FIELDS)) {
    let v = raw[field];
    if (v === undefined || v === null) continue;
    if (field === 'eos_token_id' && Array.isArray(v) && v.length === 1) v = v[0]; // (one end token, as a list)
    if (field === 'stop_strings' && typeof v === 'string') v = [v];
    if (!fieldOk(kind, v)) throw new Error(`GPT-2: ${file}: ${field} ${field === 'eos_token_id' ? 'must be a token id or a non-empty list of them' : 'has the wrong type'}: ${JSON.stringify(v)}`);
    out[option] = v;
  }
  return out as GenerateOptions;
}

/** generation_config.json as HF's save_pretrained writes it: the end tokens, and any defaults set. */
export function generationConfigJson(options: GenerateOptions, bosTokenId: number | undefined, eosTokenId: EosTokenIds | undefined): Record<string, unknown> {
  const json: Record<string, unknown> = { bos_token_id: bosTokenId, eos_token_id: eosTokenId };
  for (const [field, [option]] of Object.entries(GENERATION_FIELDS)) if (options[option] !== undefined) json[field] = options[option];
  return json;
}

/** opts over defaults, options left undefined in opts keeping the default. */
export function withDefaults(defaults: GenerateOptions, opts: GenerateOptions): GenerateOptions {
  const out: Record<string, unknown> = { ...defaults };
  // (a length asked for in this call wins over the other kind of bound among the defaults, as in HF)
  if (opts.maxLength !== undefined && opts.maxNewTokens === undefined) delete out.maxNewTokens;
  if (opts.maxNewTokens !== undefined && opts.maxLength === undefined) delete out.maxLength;
  if (opts.minLength !== undefined && opts.minNewTokens === undefined) delete out.minNewTokens;
  for (const [k, v] of Object.entries(opts)) if (v !== undefined) out[k] = v;
  return out as GenerateOptions;
}

/** Beam search's result: the sequences (prompt included) and each one's score (HF's sequences_scores). */
export interface BeamSearchOutput {
  sequences: number[][];
  scores: number[];
  /** each sequence's rows, step by step (HF's beam_indices) */
  beamIndices?: number[][];
}

/** generate()'s options that are numbers, and those that are true or false: checked for their type first (a '0.9' compares as a number in JS). */
const NUMBER_OPTIONS = ['maxNewTokens', 'maxLength', 'minLength', 'temperature', 'topK', 'topP', 'minP', 'repetitionPenalty', 'frequencyPenalty', 'presencePenalty',
  'noRepeatNgramSize', 'minNewTokens', 'forcedEosTokenId', 'typicalP', 'epsilonCutoff', 'etaCutoff', 'padTokenId', 'numBeams', 'lengthPenalty', 'numReturnSequences',
  'prefillChunkSize', 'promptLookupNumTokens', 'maxMatchingNgramSize', 'numAssistantTokens', 'assistantConfidenceThreshold', 'maxTime', 'penaltyAlpha'] as const satisfies readonly (keyof GenerateOptions)[];
const BOOLEAN_OPTIONS = ['renormalizeLogits', 'doSample', 'useCache', 'returnDictInGenerate', 'outputScores', 'outputLogits'] as const satisfies readonly (keyof GenerateOptions)[];

export function checkGenerateOptions(o: GenerateOptions): void {
  const bad = (what: string, v: unknown) => { throw new Error(`generate: ${what}, got ${v}`); };
  for (const k of NUMBER_OPTIONS) if (o[k] !== undefined && typeof o[k] !== 'number') bad(`${k} must be a number`, JSON.stringify(o[k]) ?? String(o[k]));
  for (const k of BOOLEAN_OPTIONS) if (o[k] !== undefined && typeof o[k] !== 'boolean') bad(`${k} must be true or false`, JSON.stringify(o[k]) ?? String(o[k]));
  if (o.seed !== undefined && typeof o.seed !== 'number' && typeof o.seed !== 'bigint') bad('seed must be an integer (or a bigint)', JSON.stringify(o.seed) ?? String(o.seed));
  const isInt = (v: number | undefined, min: number) => v === undefined || (Number.isInteger(v) && v >= min);
  if (!isInt(o.maxNewTokens, 0)) bad('maxNewTokens must be an integer >= 0', o.maxNewTokens);
  if (o.temperature !== undefined && !(o.temperature >= 0)) bad('temperature must be >= 0', o.temperature);
  // (HF's TemperatureLogitsWarper refuses it: a temperature of 0 with sampling would divide by zero)
  if (o.doSample === true && o.temperature === 0) throw new Error('generate: doSample with temperature 0: sampling needs a temperature > 0 (doSample false, or leaving both out, is greedy decoding)');
  if (!isInt(o.topK, 0)) bad('topK must be an integer >= 0', o.topK);
  if (o.topP !== undefined && !(o.topP > 0 && o.topP <= 1)) bad('topP must be in (0, 1]', o.topP);
  if (o.minP !== undefined && !(o.minP >= 0 && o.minP <= 1)) bad('minP must be in [0, 1]', o.minP);
  if (o.repetitionPenalty !== undefined && !(o.repetitionPenalty > 0 && Number.isFinite(o.repetitionPenalty))) bad('repetitionPenalty must be a number > 0 (1 is off)', o.repetitionPenalty);
  for (const k of ['frequencyPenalty', 'presencePenalty'] as const) if (o[k] !== undefined && !(typeof o[k] === 'number' && Number.isFinite(o[k]))) bad(`${k} must be a finite number (0 is off)`, o[k]);
  if (!isInt(o.noRepeatNgramSize, 0)) bad('noRepeatNgramSize must be an integer >= 0 (0 is off)', o.noRepeatNgramSize);
  if (!isInt(o.minNewTokens, 0)) bad('minNewTokens must be an integer >= 0', o.minNewTokens);
  if (!isInt(o.numBeams, 1)) bad('numBeams must be an integer >= 1', o.numBeams);
  if (!isInt(o.numReturnSequences, 1)) bad('numReturnSequences must be an integer >= 1', o.numReturnSequences);
  if (o.lengthPenalty !== undefined && !Number.isFinite(o.lengthPenalty)) bad('lengthPenalty must be a finite number', o.lengthPenalty);
  if (o.earlyStopping !== undefined && o.earlyStopping !== true && o.earlyStopping !== false && o.earlyStopping !== 'never') bad('earlyStopping must be true, false or \'never\'', o.earlyStopping);
  if (o.typicalP !== undefined && !(o.typicalP > 0 && o.typicalP <= 1)) bad('typicalP must be in (0, 1]', o.typicalP);
  if (o.epsilonCutoff !== undefined && !(o.epsilonCutoff >= 0 && o.epsilonCutoff < 1)) bad('epsilonCutoff must be in [0, 1)', o.epsilonCutoff);
  if (o.etaCutoff !== undefined && !(o.etaCutoff >= 0 && o.etaCutoff < 1)) bad('etaCutoff must be in [0, 1)', o.etaCutoff);
  if (o.badWordsIds !== undefined && !fieldOk('intLists', o.badWordsIds)) bad('badWordsIds must be a list of non-empty token-id lists', JSON.stringify(o.badWordsIds));
  if (o.sequenceBias !== undefined && !fieldOk('bias', o.sequenceBias)) bad('sequenceBias must be a list of [token ids, bias] pairs', JSON.stringify(o.sequenceBias));
  for (const k of ['suppressTokens', 'beginSuppressTokens'] as const) if (o[k] !== undefined && !isInts(o[k])) bad(`${k} must be a list of token ids`, JSON.stringify(o[k]));
  if (o.forcedEosTokenId !== undefined && !isInt(o.forcedEosTokenId, 0)) bad('forcedEosTokenId must be a token id', o.forcedEosTokenId);
  if (!isInt(o.padTokenId, 0)) bad('padTokenId must be a token id (an integer >= 0)', o.padTokenId);
  if (o.prefixAllowedTokensFn !== undefined && typeof o.prefixAllowedTokensFn !== 'function') bad('prefixAllowedTokensFn must be a function (batchId, inputIds) => allowed token ids', typeof o.prefixAllowedTokensFn);
  if (o.maxTime !== undefined && !(o.maxTime > 0)) bad('maxTime must be a number of seconds > 0', o.maxTime);
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) bad('signal must be an AbortSignal (new AbortController().signal)', String(o.signal));
  if (o.eosTokenId !== undefined && o.eosTokenId !== null && !fieldOk('eos', o.eosTokenId)) bad('eosTokenId must be a token id, a non-empty list of them, or null', JSON.stringify(o.eosTokenId));
  if (o.exponentialDecayLengthPenalty !== undefined && !(fieldOk('decay', o.exponentialDecayLengthPenalty) && o.exponentialDecayLengthPenalty[0] >= 0)) {
    bad('exponentialDecayLengthPenalty must be [start (new tokens), factor]', JSON.stringify(o.exponentialDecayLengthPenalty));
  }
  if (o.stopStrings !== undefined && !(Array.isArray(o.stopStrings) && o.stopStrings.every((x) => typeof x === 'string' && x.length > 0))) bad('stopStrings must be a list of non-empty strings', JSON.stringify(o.stopStrings));
  if (!isInt(o.promptLookupNumTokens, 1)) bad('promptLookupNumTokens must be an integer >= 1', o.promptLookupNumTokens);
  if (!isInt(o.maxMatchingNgramSize, 1)) bad('maxMatchingNgramSize must be an integer >= 1', o.maxMatchingNgramSize);
  if (!isInt(o.prefillChunkSize, 1)) bad('prefillChunkSize must be an integer >= 1', o.prefillChunkSize);
  if (o.prefillChunkSize !== undefined && o.useCache === false) throw new Error('generate: prefillChunkSize needs the key/value cache (useCache), as HF\'s prefill chunking');
  const beams = o.numBeams ?? 1, n = o.numReturnSequences ?? 1;
  const sampling = isSampling(o);
  if (!isInt(o.numAssistantTokens, 1)) bad('numAssistantTokens must be an integer >= 1', o.numAssistantTokens);
  if (o.numAssistantTokensSchedule !== undefined && !fieldOk('schedule', o.numAssistantTokensSchedule)) bad('numAssistantTokensSchedule must be \'constant\', \'heuristic\' or \'heuristic_transient\'', JSON.stringify(o.numAssistantTokensSchedule));
  if (o.assistantConfidenceThreshold !== undefined && !(o.assistantConfidenceThreshold >= 0 && o.assistantConfidenceThreshold < 1)) bad('assistantConfidenceThreshold must be in [0, 1)', o.assistantConfidenceThreshold);
  if (o.penaltyAlpha !== undefined && !(o.penaltyAlpha >= 0 && o.penaltyAlpha <= 1)) bad('penaltyAlpha must be in [0, 1] (0: off)', o.penaltyAlpha);
  if (isContrastive(o)) {
    if (o.promptLookupNumTokens !== undefined || o.assistantModel !== undefined) throw new Error('generate: penaltyAlpha (contrastive search) is a decoding of its own: not with promptLookupNumTokens or assistantModel');
    if (n > 1) throw new Error('generate: contrastive search (penaltyAlpha) gives one sequence per prompt, as HF\'s: numReturnSequences must be 1');
    if (o.useCache === false) throw new Error('generate: contrastive search (penaltyAlpha) needs the key/value cache (useCache), as HF\'s');
  }
  if (o.promptLookupNumTokens !== undefined && o.assistantModel !== undefined) throw new Error('generate: promptLookupNumTokens and assistantModel are two ways of proposing tokens: give one');
  for (const [option, given] of [['promptLookupNumTokens', o.promptLookupNumTokens !== undefined], ['assistantModel', o.assistantModel !== undefined]] as const) {
    if (!given) continue;
    if (beams > 1 || n > 1) throw new Error(`generate: ${option} is for greedy decoding and sampling with one sequence (no beams, numReturnSequences 1), as HF's assisted decoding`);
    if (o.useCache === false) throw new Error(`generate: ${option} needs the key/value cache (useCache)`);
  }
  if (beams > 1) {
    if (o.stopStrings?.length) throw new Error('generate: stopStrings is for greedy decoding and sampling, not beam search');
    for (const k of ['onToken', 'onLogits'] as const) if (o[k]) throw new Error(`generate: ${k} cannot stream beam search (the best sequence is known only at the end), as HF's streamers`);
    if (n > beams) throw new Error(`generate: numReturnSequences (${n}) must be <= numBeams (${beams})`);
  } else if (n > 1 && !sampling) {
    throw new Error(`generate: greedy decoding gives one sequence per prompt; numReturnSequences ${n} needs sampling (temperature > 0) or numBeams >= ${n}`);
  }
}

/**
 * A decoding a step at a time: a generator that yields after each step (a token for every row; a
 * round of assisted decoding) and returns the result. generate() runs the steps back to back;
 * generateAsync() gives the event loop a turn between them, and either stops at an AbortSignal.
 */
export type StepsOf<T> = Generator<void, T, void>;

/** Runs a decoding's steps to the end. */
export function drain<T>(steps: StepsOf<T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/**
 * One generation's running state: each row's tokens (without its left padding) and the key/value
 * cache. Rows of one prompt (its beams or samples) are adjacent and share its padding.
 */
export class DecodingState {
  private past: LayerPast[] | null = null;
  /** contrastive search: the candidates' cache, until keepCandidates */
  private pending: LayerPast[] | null = null;
  /** the next step's forward pass, computed in a batch with other generations' (see prepare) */
  private prepared: GPT2Output | null = null;

  constructor(
    private readonly forward: (ids: Tensor, opts: ForwardOptions) => GPT2Output,
    public seqs: number[][],
    readonly padding: number[],
    /** what left padding and finished rows hold: HF's pad_token_id (for GPT-2 its eos) */
    readonly padToken: number,
    readonly device: Device,
    readonly useCache: boolean,
    /** the most positions the model sees (its n_positions) */
    readonly contextLength = Number.POSITIVE_INFINITY,
  ) {
    this.promptLength = this.length;
  }

  /** The rows' length with padding before any token was generated. */
  readonly promptLength: number;
  /** Whether the prompt goes through in chunks, a step each (prefillChunkSize): then no batch puts it through whole. */
  prefillInChunks = false;

  /** The rows' length with padding (all equal). */
  get length(): number { return this.seqs[0].length + this.padding[0]; }

  paddedSeqs(): number[][] {
    return this.seqs.map((s, i) => [...Array(this.padding[i]).fill(this.padToken), ...s]);
  }

  /** How many (padded) positions the key/value cache covers; 0 without one. */
  get cachedLength(): number { return this.past ? this.past[0][0].shape[2] : 0; }

  /**
   * The next token's logits, (rows, vocab) in float32, in the caller's scope; the cache moves on.
   * The tokens the cache does not cover go through the model (the last one, but for a first pass
   * or an assistant catching up).
   */
  nextLogits(): Tensor {
    if (this.prepared) return this.takePrepared();
    const out = this.feed(this.length);
    return out.logits.select(1, out.logits.shape[1] - 1).to({ dtype: 'float32' });
  }

  /** Prefill chunking: the cache moves on to cover the first `upTo` (padded) positions, nothing else. */
  feedAhead(upTo: number): void {
    tidy(() => { this.feed(upTo); });
  }

  /** The (padded) positions from what the cache covers (all, without one) up to `upTo` through the model; the cache then covers them. */
  private feed(upTo: number): GPT2Output {
    const cached = this.useCache && this.past !== null;
    const from = cached ? this.cachedLength : 0;
    const rows = this.paddedSeqs();
    const ids = tensor(rows.map((r) => r.slice(from, upTo)), { dtype: 'int64', device: this.device });
    const extra: ForwardOptions = {};
    if (this.padding.some((n) => n > 0)) {
      // HF's prepare_inputs_for_generation: positions are attention_mask.cumsum(-1) - 1 (1 on padding).
      extra.attentionMask = tensor(rows.map((r, i) => r.slice(0, upTo).map((_, j) => (j < this.padding[i] ? 0 : 1))), { dtype: 'int64', device: this.device });
      extra.positionIds = tensor(rows.map((r, i) => r.slice(from, upTo).map((_, j) => (from + j < this.padding[i] ? 1 : from + j - this.padding[i]))), { dtype: 'int64', device: this.device });
    }
    const out = this.forward(ids, { pastKeyValues: cached ? this.past! : undefined, useCache: this.useCache, logitsToKeep: 1, ...extra });
    this.disposePast();
    this.past = out.pastKeyValues ? out.pastKeyValues.map(([k, v]) => [keep(k), keep(v)] as LayerPast) : null;
    return out;
  }

  append(tokens: number[]): void {
    tokens.forEach((t, i) => this.seqs[i].push(t));
  }

  /**
   * Starts from a cache of the rows' first positions (HF's past_key_values given to generate):
   * views of the caller's tensors (theirs to keep), or, where a prompt's rows (its beams or
   * samples) share its cache, a copy repeated to them, written once into a buffer with room (so
   * the first step appends in place).
   */
  seedCache(past: readonly LayerPast[], prompts: number): void {
    const rows = this.seqs.length, copies = rows / prompts;
    this.disposePast();
    this.past = tidy(() => past.map(([k, v]) => [k, v].map((t) => {
      const perPrompt = t.shape[0] === 1 ? t.expand([prompts, ...t.shape.slice(1)]) : t;
      return keep(copies > 1 ? repeatCache(perPrompt, copies, this.contextLength) : perPrompt.narrow(0, 0, rows));
    }) as LayerPast));
  }

  /** Whether the next nextLogits feeds only the last token over the cache: a step several generations can take in one batch. */
  get feedsLastToken(): boolean {
    return this.useCache && this.past !== null && !this.prepared && this.cachedLength === this.length - 1;
  }

  /** How many (padded) positions the next nextLogits feeds: what the cache does not cover (a first pass: the whole prompt, or what a seeded cache leaves). */
  get toFeed(): number {
    return this.length - this.cachedLength;
  }

  /** The key/value cache (each layer's (rows, heads, cachedLength, headDim) keys and values), for a batch to read. */
  get cache(): readonly LayerPast[] | null {
    return this.past;
  }

  /**
   * Hands in the next step's forward pass, computed elsewhere (GenerationBatcher: this state's
   * rows of a batch, after its last token or its whole prompt): logits (rows, 1, vocab) and the
   * cache after it, covering all `length` positions, kept tensors this state then owns. The next
   * nextLogits takes them instead of running the model.
   */
  prepare(out: GPT2Output): void {
    if (!this.useCache || this.prepared) throw new Error('generate: internal error: a prepared step for a state without a cache, or prepared already');
    this.prepared = out;
  }

  private takePrepared(): Tensor {
    const out = this.prepared!;
    this.prepared = null;
    this.disposePast();
    this.past = out.pastKeyValues!;
    const logits = out.logits.select(1, out.logits.shape[1] - 1).to({ dtype: 'float32' });
    out.logits.dispose(); // (kept by the batch; the step's scope has the row it took)
    return logits;
  }

  /**
   * One prompt, unpadded: the logits (T + 1, vocab) after its last token and after each of
   * `tokens`, in one pass that feeds what the cache does not cover (all of it, the first time);
   * the cache then covers them all.
   */
  logitsThrough(tokens: number[]): Tensor {
    if (this.seqs.length !== 1 || this.padding[0] !== 0 || !this.useCache) throw new Error('generate: internal error: logitsThrough is for one unpadded sequence, with the cache');
    const seq = this.seqs[0];
    const ids = tensor([[...seq.slice(this.cachedLength), ...tokens]], { dtype: 'int64', device: this.device });
    const out = this.forward(ids, { pastKeyValues: this.past ?? undefined, useCache: true, logitsToKeep: tokens.length + 1 });
    this.disposePast();
    this.past = out.pastKeyValues!.map(([k, v]) => [keep(k), keep(v)] as LayerPast);
    return out.logits.select(0, 0).to({ dtype: 'float32' });
  }

  /**
   * One unpadded row made `tokens`: the cache keeps what it covers of their common start (at
   * least the last token is left to feed), so nextLogits goes on from there.
   */
  syncTo(tokens: number[]): void {
    if (this.seqs.length !== 1 || this.padding[0] !== 0) throw new Error('generate: internal error: syncTo is for one unpadded sequence');
    const old = this.seqs[0];
    let common = 0;
    while (common < old.length && common < tokens.length && old[common] === tokens[common]) common++;
    const keepLength = Math.min(this.cachedLength, common, tokens.length - 1);
    if (keepLength === 0) this.disposePast();
    else if (keepLength < this.cachedLength) this.cropCache(keepLength);
    this.seqs = [[...tokens]];
  }

  /**
   * Contrastive search's first pass: the whole (padded) prompt into the cache; the logits after it
   * (rows, vocab) and the last layer's hidden states at every position (rows, T, n_embd), float32.
   */
  prefill(): { logits: Tensor; hidden: Tensor } {
    const extra: ForwardOptions = {};
    if (this.padding.some((n) => n > 0)) {
      extra.attentionMask = tensor(this.seqs.map((s, i) => [...Array(this.padding[i]).fill(0), ...Array(s.length).fill(1)]), { dtype: 'int64', device: this.device });
      extra.positionIds = tensor(this.seqs.map((s, i) => [...Array(this.padding[i]).fill(1), ...s.map((_, j) => j)]), { dtype: 'int64', device: this.device });
    }
    const out = this.forward(tensor(this.paddedSeqs(), { dtype: 'int64', device: this.device }), { useCache: true, outputHiddenStates: true, logitsToKeep: 1, ...extra });
    this.disposePast();
    this.past = out.pastKeyValues!.map(([k, v]) => [keep(k), keep(v)] as LayerPast);
    return { logits: out.logits.select(1, 0).to({ dtype: 'float32' }), hidden: lastHidden(out).to({ dtype: 'float32' }) };
  }

  /**
   * Contrastive search's candidates: row r · k + j continues row r with candidates[r][j], all in one
   * pass over the cache repeated k times; the logits after each (rows · k, vocab) and its last
   * hidden state (rows · k, n_embd), float32. keepCandidates then says which go on.
   */
  tryCandidates(candidates: number[][]): { logits: Tensor; hidden: Tensor } {
    const k = candidates[0].length;
    const from = this.seqs.flatMap((_, r) => Array<number>(k).fill(r));
    const index = tensor(from, { dtype: 'int64', device: this.device });
    const past = this.past!.map(([key, value]) => [key.indexSelect(0, index), value.indexSelect(0, index)] as LayerPast);
    const extra: ForwardOptions = {};
    if (this.padding.some((n) => n > 0)) {
      extra.attentionMask = tensor(from.map((r) => [...Array(this.padding[r]).fill(0), ...Array(this.seqs[r].length + 1).fill(1)]), { dtype: 'int64', device: this.device });
      extra.positionIds = tensor(from.map((r) => [this.seqs[r].length]), { dtype: 'int64', device: this.device });
    }
    const out = this.forward(tensor(candidates.flat().map((t) => [t]), { dtype: 'int64', device: this.device }), { pastKeyValues: past, useCache: true, outputHiddenStates: true, logitsToKeep: 1, ...extra });
    this.disposePending();
    this.pending = out.pastKeyValues!.map(([key, value]) => [keep(key), keep(value)] as LayerPast);
    return { logits: out.logits.select(1, 0).to({ dtype: 'float32' }), hidden: lastHidden(out).select(1, 0).to({ dtype: 'float32' }) };
  }

  /** After tryCandidates: row i's cache becomes that of candidate row rows[i]. */
  keepCandidates(rows: number[]): void {
    const pending = this.pending!;
    this.disposePast();
    this.past = tidy(() => {
      const index = tensor(rows, { dtype: 'int64', device: this.device });
      return pending.map(([k, v]) => [keep(k.indexSelect(0, index)), keep(v.indexSelect(0, index))] as LayerPast);
    });
    this.disposePending();
  }

  /** Keeps the cache's first `length` positions (tokens proposed but not accepted go). */
  cropCache(length: number): void {
    if (!this.past || length >= this.cachedLength) return;
    const old = this.past;
    this.past = tidy(() => old.map(([k, v]) => [keep(k.narrow(2, 0, length).contiguous()), keep(v.narrow(2, 0, length).contiguous())] as LayerPast));
    for (const [k, v] of old) { k.dispose(); v.dispose(); }
  }

  /** Beam search: row i continues row from[i] (its tokens and its cache). */
  reorder(from: number[]): void {
    if (from.some((j, i) => this.padding[j] !== this.padding[i])) throw new Error('generate: internal error: a beam moved to another prompt');
    this.seqs = from.map((j) => [...this.seqs[j]]);
    if (this.past && from.some((j, i) => j !== i)) {
      const old = this.past;
      this.past = reorderCache(old, from); // (in place where the model's buffer allows)
      for (const [k, v] of old) { k.dispose(); v.dispose(); }
    }
  }

  dispose(): void {
    this.disposePast();
    this.disposePending();
    if (this.prepared) {
      this.prepared.logits.dispose();
      for (const [k, v] of this.prepared.pastKeyValues ?? []) { k.dispose(); v.dispose(); }
      this.prepared = null;
    }
  }

  private disposePending(): void {
    if (this.pending) for (const [k, v] of this.pending) { k.dispose(); v.dispose(); }
    this.pending = null;
  }

  private disposePast(): void {
    if (this.past) for (const [k, v] of this.past) { k.dispose(); v.dispose(); }
    this.past = null;
  }
}

/** The last layer's hidden states of a forward pass asked for them (outputHiddenStates). */
function lastHidden(out: GPT2Output): Tensor {
  if (!out.hiddenStates) throw new Error('generate: contrastive search needs the model\'s hidden states (forward with outputHiddenStates)');
  return out.hiddenStates[out.hiddenStates.length - 1];
}

/** The step a decoding state is at (HF's max_length: the padded prompt and maxNewTokens, before any context limit). */
function stepAt(state: DecodingState, promptLength: number, o: GenerateOptions): DecodeStep {
  return { newTokens: state.length - promptLength, promptLength, maxLength: promptLength + (o.maxNewTokens ?? DEFAULT_MAX_NEW_TOKENS) };
}
/** generate()'s default length: 20 new tokens (HF's max_length 20 counts the prompt too) */
export const DEFAULT_MAX_NEW_TOKENS = 20;

/**
 * Greedy decoding or sampling, up to maxLength (padded) tokens: a row that met an end token (or
 * completed a stop string) is continued with the pad token (HF's pad_token_id, which is eos for
 * GPT-2). Returns the rows, prompt included.
 */
export function decodeGreedy(state: DecodingState, o: GenerateOptions, eos: EosTokenIds, maxLength: number, record: DecodeRecord = {}): number[][] {
  return drain(greedySteps(state, o, eos, maxLength, record));
}

/**
 * HF's _prefill_chunking: all of the prompt but its last position through the model in passes of
 * `size` positions, a step each; the first decoding step then feeds the last.
 */
export function* prefillChunkSteps(state: DecodingState, size: number): StepsOf<void> {
  state.prefillInChunks = true;
  try {
    while (state.cachedLength < state.length - 1) {
      state.feedAhead(Math.min(state.cachedLength + size, state.length - 1));
      yield;
    }
  } finally {
    state.prefillInChunks = false;
  }
}

/** decodeGreedy a step at a time (see StepsOf). */
export function* greedySteps(state: DecodingState, o: GenerateOptions, eos: EosTokenIds, maxLength: number, record: DecodeRecord = {}): StepsOf<number[][]> {
  const timeUp = deadline(o);
  const ends = eosList(eos);
  const doSample = isSampling(o);
  const done = state.seqs.map(() => false);
  const promptLength = state.length;
  const stops = o.stopStrings ?? [];
  while (state.length < maxLength) {
    const next = tidy(() => {
      const logits = state.nextLogits();
      record.logits?.push(keep(logits.clone()));
      o.onLogits?.(logits);
      let scores = processLogits(logits, () => state.paddedSeqs(), o, stepAt(state, promptLength, o), eos);
      if (doSample) scores = warpScores(scores, o);
      record.scores?.push(keep(scores === logits ? scores.clone() : scores));
      return (doSample ? F.softmax(scores, -1).multinomial(1).squeeze(1) : scores.argmax(-1)).tolist() as number[];
    });
    // (the last token ends the steps at once: a step suspended here always has a pass to make, which a batch may share)
    if (appendStep(state, next, done, ends, stops, o) || timeUp() || state.length >= maxLength) break;
    yield;
  }
  return state.seqs;
}

/**
 * A step's tokens appended to the rows (a finished row gets the pad token instead), the rows they
 * end marked done (an end token, or a completed stop string), onToken told; whether all are done.
 */
function appendStep(state: DecodingState, next: number[], done: boolean[], ends: readonly number[], stops: string[], o: GenerateOptions): boolean {
  const added = next.map((t, i) => (done[i] ? state.padToken : t));
  state.append(added);
  added.forEach((t, i) => {
    if (done[i]) return;
    if (ends.includes(t) || (stops.length && completesStopString(state.seqs[i], stops, o.tokenizer))) done[i] = true;
  });
  o.onToken?.(added, [...done]);
  return done.every(Boolean);
}

/**
 * Contrastive search (HF's _contrastive_search; Su et al., 2022), greedy: each step the topK
 * likeliest tokens after the processors each go through the model (one pass, the cache repeated),
 * and each row keeps the candidate with the highest (1 - penaltyAlpha) x its probability -
 * penaltyAlpha x the greatest cosine similarity of its last hidden state with those of the text
 * so far (its padding left out). Finished rows continue with the pad token, as in decodeGreedy.
 */
export function decodeContrastive(state: DecodingState, o: GenerateOptions, eos: EosTokenIds, maxLength: number, record: DecodeRecord = {}): number[][] {
  return drain(contrastiveSteps(state, o, eos, maxLength, record));
}

/** decodeContrastive a step at a time (see StepsOf). */
export function* contrastiveSteps(state: DecodingState, o: GenerateOptions, eos: EosTokenIds, maxLength: number, record: DecodeRecord = {}): StepsOf<number[][]> {
  const timeUp = deadline(o);
  const ends = eosList(eos), alpha = o.penaltyAlpha!, stops = o.stopStrings ?? [];
  const done = state.seqs.map(() => false);
  const promptLength = state.length, B = state.seqs.length;
  // the text's last hidden states (rows, T, n_embd) and the logits for the next token
  let [context, logits] = tidy(() => {
    const first = state.prefill();
    return [keep(first.hidden), keep(first.logits)];
  });
  try {
    while (state.length < maxLength) {
      const next = tidy(() => {
        record.logits?.push(keep(logits.clone()));
        o.onLogits?.(logits);
        const scores = processLogits(logits, () => state.paddedSeqs(), o, stepAt(state, promptLength, o), eos);
        record.scores?.push(keep(scores === logits ? scores.clone() : scores));
        const k = Math.min(o.topK ?? 50, scores.shape[1]);
        const top = F.softmax(scores, -1).topk(k);
        const candidates = top.indices.tolist() as number[][];
        const tried = state.tryCandidates(candidates);
        // the degeneration penalty: a candidate's greatest cosine similarity with the text (HF's _ranking_fast)
        const unit = (t: Tensor) => t.div(t.norm(2, -1, true));
        const rows = Array.from({ length: B * k }, (_, i) => Math.floor(i / k));
        let cosine = unit(context.indexSelect(0, tensor(rows, { dtype: 'int64', device: logits.device }))).matmul(unit(tried.hidden).unsqueeze(2)).squeeze(2);
        if (state.padding.some((n) => n > 0)) { // (the padding never counts: HF adds float32's lowest there)
          cosine = cosine.add(tensor(rows.map((r) => [...Array(state.length).keys()].map((j) => (j < state.padding[r] ? FLOAT32_LOWEST : 0))), { device: logits.device }));
        }
        const penalty = cosine.max(-1).values;
        const chosen = top.values.reshape([-1]).mul(1 - alpha).sub(penalty.mul(alpha)).reshape([B, k]).argmax(-1).tolist() as number[];
        const picked = chosen.map((j, r) => r * k + j);
        state.keepCandidates(picked);
        const index = tensor(picked, { dtype: 'int64', device: logits.device });
        const old = [context, logits];
        context = keep(cat([context, tried.hidden.indexSelect(0, index).unsqueeze(1)], 1));
        logits = keep(tried.logits.indexSelect(0, index));
        for (const t of old) t.dispose();
        return chosen.map((j, r) => candidates[r][j]);
      });
      if (appendStep(state, next, done, ends, stops, o) || timeUp()) break;
      yield;
    }
  } finally {
    context.dispose();
    logits.dispose();
  }
  return state.seqs;
}

/**
 * HF's PromptLookupCandidateGenerator: the tokens that followed the first earlier occurrence of the
 * sequence's last n tokens (n from maxNgram down to 1), up to k of them, cut before the first one
 * `banned` says the processors forbid there (a proposal forbidden from its first token gives way
 * to the next occurrence, as HF's), before an eos and before the length limit; none when nothing
 * matches.
 */
export function promptLookupCandidates(tokens: number[], k: number, maxNgram: number, eos: EosTokenIds, maxLength: number,
  banned?: (seq: number[], token: number) => boolean): number[] {
  const ends = eosList(eos);
  const len = tokens.length;
  if (maxLength <= len + 1) return [];
  for (let n = Math.min(maxNgram, len - 1); n > 0; n--) {
    const tail = tokens.slice(len - n);
    for (let start = 0; start + n <= len; start++) {
      let match = true;
      for (let j = 0; j < n && match; j++) match = tokens[start + j] === tail[j];
      if (!match) continue;
      // (no more than the tokens left before the length limit, the last of which the model picks itself)
      const from = start + n, to = Math.min(from + k, len, from + maxLength - len - 1);
      if (from >= to) continue;
      let chosen = tokens.slice(from, to);
      if (banned) {
        const cut = chosen.findIndex((t, j) => banned([...tokens, ...chosen.slice(0, j)], t));
        if (cut >= 0) chosen = chosen.slice(0, cut);
        if (!chosen.length) continue;
      }
      const e = chosen.findIndex((t) => ends.includes(t));
      if (e >= 0) chosen = chosen.slice(0, e);
      return chosen;
    }
  }
  return [];
}

/** torch.finfo(torch.float32).min */
const FLOAT32_LOWEST = -3.4028234663852886e38;

/** HF's MaxTimeCriteria: whether maxTime seconds have passed since this was called (never, without one). */
function deadline(o: GenerateOptions): () => boolean {
  if (o.maxTime === undefined) return () => false;
  const end = Date.now() + o.maxTime * 1000;
  return () => Date.now() > end;
}

/** Sampling rather than greedy: doSample, or (not given) a temperature > 0. */
function isSampling(o: GenerateOptions): boolean {
  return o.doSample ?? (o.temperature !== undefined && o.temperature > 0);
}

/** HF's choice of contrastive search: penaltyAlpha > 0 and topK (default 50) > 1, one beam, no sampling. */
export function isContrastive(o: GenerateOptions): boolean {
  return (o.penaltyAlpha ?? 0) > 0 && (o.topK ?? 50) > 1 && (o.numBeams ?? 1) === 1 && !isSampling(o);
}

/**
 * Prompt lookup decoding (HF's _assisted_decoding with the prompt lookup generator), one prompt:
 * tokens from earlier in the text are checked in one pass each round (see candidateSteps), so
 * the text is greedy decoding's (or, sampling, distributed as plain sampling's). With `vocabSize`,
 * a proposal stops before a token the processors forbid there, as HF's (it could not be kept).
 */
export function decodePromptLookup(state: DecodingState, o: GenerateOptions, eos: EosTokenIds, maxLength: number, record: DecodeRecord = {}, vocabSize?: number): number[][] {
  return drain(promptLookupSteps(state, o, eos, maxLength, record, vocabSize));
}

/** decodePromptLookup a round at a time (see StepsOf). */
export function* promptLookupSteps(state: DecodingState, o: GenerateOptions, eos: EosTokenIds, maxLength: number, record: DecodeRecord = {}, vocabSize?: number): StepsOf<number[][]> {
  const k = o.promptLookupNumTokens!, maxNgram = o.maxMatchingNgramSize ?? 2, promptLength = state.length;
  const limit = promptLength + (o.maxNewTokens ?? DEFAULT_MAX_NEW_TOKENS);
  // (HF's test: the processors on scores of ones; forbidden is -inf, or float32's lowest)
  const banned = vocabSize === undefined ? undefined : (seq: number[], token: number) => tidy(() => {
    const flat = ones([1, vocabSize], { device: state.device });
    const scores = processLogits(flat, () => [seq], o, { newTokens: seq.length - promptLength, promptLength, maxLength: limit }, eos);
    if (scores === flat) return false;
    const v = scores.select(1, token).item() as number;
    return v === -Infinity || v <= FLOAT32_LOWEST;
  });
  return yield* candidateSteps(state, o, eos, maxLength, record, (seq) => ({ tokens: promptLookupCandidates(seq, k, maxNgram, eos, maxLength, banned) }));
}

/** How an assistant drafts (HF's AssistedCandidateGenerator settings), resolved. */
export type AssistantSettings = Required<Pick<GenerateOptions, 'numAssistantTokens' | 'numAssistantTokensSchedule' | 'assistantConfidenceThreshold'>>;

/**
 * Assisted decoding (HF's _assisted_decoding with an assistant model), one prompt: each round the
 * assistant (`draft`, its own cache) drafts up to numAssistantTokens tokens as HF's nested generate
 * call does (greedy or sampling, the same processors and warpers, its prompt the text so far),
 * ending early at an end token or after a token it gives less than assistantConfidenceThreshold of
 * probability; the model checks them in one pass (see candidateSteps). Greedy, the text is
 * greedy decoding's; sampling, it is speculative sampling, distributed as plain sampling's.
 * Returns the rows and the draft length reached (the 'heuristic' schedule keeps it, as HF's).
 */
export function decodeAssisted(state: DecodingState, draft: DecodingState, settings: AssistantSettings, o: GenerateOptions, eos: EosTokenIds, maxLength: number,
  record: DecodeRecord = {}): { sequences: number[][]; numAssistantTokens: number } {
  return drain(assistedSteps(state, draft, settings, o, eos, maxLength, record));
}

/** decodeAssisted a round at a time (see StepsOf). */
export function* assistedSteps(state: DecodingState, draft: DecodingState, settings: AssistantSettings, o: GenerateOptions, eos: EosTokenIds, maxLength: number,
  record: DecodeRecord = {}): StepsOf<{ sequences: number[][]; numAssistantTokens: number }> {
  const ends = eosList(eos), promptLength = state.length;
  const sampling = isSampling(o);
  const threshold = settings.assistantConfidenceThreshold;
  const minLength = promptLength + (o.minNewTokens ?? 0); // (HF's min_length of the model's call)
  let numTokens = settings.numAssistantTokens;
  const propose = (seq: number[]): Proposal => {
    // (HF: no more than leaves room for the model's own token after them; the assistant's context may be shorter)
    const n = Math.min(numTokens, maxLength - seq.length - 1, draft.contextLength + 1 - seq.length);
    if (n <= 0) return { tokens: [] };
    draft.syncTo(seq);
    // HF's nested call (transformers 4.4x: the assistant's own processors, from the same settings):
    // max_new_tokens n, min_new_tokens what is left of the model's minimum, and the steps
    // (begin-suppressed tokens, the forced and the decayed end) counted from the text so far.
    // (From 4.50 the assistant is handed the model's processors, counted from the prompt, and
    // applies the sampling warpers twice: other drafts, the same distribution of the text.)
    const start = seq.length;
    const draftOptions = { ...o, maxNewTokens: n, minNewTokens: Math.max(Math.min(n, minLength - start), 0) };
    const tokens: number[] = [], rows: Tensor[] = [];
    for (let i = 0; i < n; i++) {
      const { token, p, scores } = tidy(() => {
        let scores = processLogits(draft.nextLogits(), () => draft.paddedSeqs(), draftOptions, { newTokens: i, promptLength: start, maxLength: start + n }, eos);
        if (sampling) scores = warpScores(scores, o);
        const token = (sampling ? F.softmax(scores, -1).multinomial(1) : scores.argmax(-1)).item() as number;
        return { token, scores, p: threshold > 0 ? F.softmax(scores, -1).select(1, token).item() as number : 1 };
      });
      rows.push(scores);
      draft.append([token]);
      tokens.push(token);
      if (ends.includes(token) || p < threshold) break; // (HF's ConfidenceCriteria: the unsure token is kept)
    }
    return { tokens, scores: sampling ? cat(rows, 0) : undefined };
  };
  // (HF counts a round whose last, ending candidate was kept as one short of all kept)
  const adapt = (matches: number, proposed: number) => {
    if (settings.numAssistantTokensSchedule !== 'constant') numTokens = matches === proposed ? numTokens + 2 : Math.max(1, numTokens - 1);
  };
  const sequences = yield* candidateSteps(state, o, eos, maxLength, record, propose, adapt);
  return { sequences, numAssistantTokens: numTokens };
}

/** A round's proposal: the tokens, and (an assistant sampling) its scores for each, (tokens, vocab). */
interface Proposal { tokens: number[]; scores?: Tensor }

/**
 * HF's _assisted_decoding, one prompt: each round `propose` offers tokens to follow the text; the
 * model scores them all in one pass and keeps a run of them, plus one token of its own after it.
 * Greedy, they are kept while they are its argmax, so the text is greedy decoding's. Sampling with
 * the assistant's scores, by speculative sampling; without (prompt lookup), each position is
 * sampled and they are kept while they equal the samples: either way the text is distributed as
 * plain sampling's. `accepted` hears how many of the proposed tokens were kept.
 */
function* candidateSteps(state: DecodingState, o: GenerateOptions, eos: EosTokenIds, maxLength: number, record: DecodeRecord,
  propose: (seq: number[]) => Proposal, accepted?: (matches: number, proposed: number) => void): StepsOf<number[][]> {
  const timeUp = deadline(o);
  const ends = eosList(eos), stops = o.stopStrings ?? [];
  const sampling = isSampling(o);
  const promptLength = state.length, limit = promptLength + (o.maxNewTokens ?? DEFAULT_MAX_NEW_TOKENS);
  const seq = state.seqs[0];
  let done = false;
  // Appends the kept tokens up to an end token or the completion of a stop string, as plain
  // decoding stops (either may come inside a kept run); returns how many it appended.
  const emit = (tokens: number[], logits: Tensor[]): number => {
    let n = 0;
    for (const t of tokens) {
      state.append([t]);
      if (ends.includes(t) || (stops.length && completesStopString(seq, stops, o.tokenizer))) done = true;
      if (o.onLogits) tidy(() => o.onLogits!(logits[n]));
      n++;
      o.onToken?.([t], [done]);
      if (done) break;
    }
    return n;
  };
  while (state.length < maxLength && !done) {
    const { picked, matches, proposed, pickedLogits } = tidy(() => {
      const { tokens: cands, scores: draftScores } = propose(seq);
      const L = cands.length;
      // (HF's stopping criteria on the proposal: its last token ends the text)
      const doneCandidate = L > 0 && (ends.includes(cands[L - 1]) || (stops.length > 0 && completesStopString([...seq, ...cands], stops, o.tokenizer)));
      const logits = state.logitsThrough(cands); // (L + 1, vocab): after the text, and after each candidate
      const scores = cat(Array.from({ length: L + 1 }, (_, j) => {
        const step = { newTokens: state.length - promptLength + j, promptLength, maxLength: limit };
        const s = processLogits(logits.narrow(0, j, 1), () => [[...seq, ...cands.slice(0, j)]], o, step, eos);
        return sampling ? warpScores(s, o) : s;
      }), 0);
      let n: number, picked: number[];
      if (sampling && draftScores) {
        ({ n, picked } = speculativeSampling(cands, draftScores, scores, doneCandidate));
      } else {
        const chosen = (sampling ? F.softmax(scores, -1).multinomial(1).squeeze(1) : scores.argmax(-1)).tolist() as number[];
        n = 0;
        while (n < L && chosen[n] === cands[n]) n++;
        if (doneCandidate && n === L) n--; // (the text ends with them: no token after)
        picked = chosen.slice(0, n + 1);
      }
      for (let j = 0; j < picked.length; j++) {
        record.logits?.push(keep(logits.narrow(0, j, 1).clone()));
        record.scores?.push(keep(scores.narrow(0, j, 1).clone()));
      }
      // (onLogits hears of a kept token's logits as it is appended)
      const pickedLogits = o.onLogits ? picked.map((_, j) => keep(logits.narrow(0, j, 1).clone())) : [];
      return { picked, matches: n, proposed: L, pickedLogits };
    });
    accepted?.(matches, proposed);
    // keep no more than the length limit allows; the cache then covers all but the last kept token
    const kept = picked.slice(0, maxLength - state.length);
    state.cropCache(state.length + kept.length - 1);
    let appended: number;
    try {
      appended = emit(kept, pickedLogits);
    } finally {
      for (const t of pickedLogits) t.dispose();
    }
    // (scores recorded for positions past the limit or the end go too)
    const extra = picked.length - appended;
    if (record.scores && extra) for (const t of record.scores.splice(record.scores.length - extra)) t.dispose();
    if (record.logits && extra) for (const t of record.logits.splice(record.logits.length - extra)) t.dispose();
    if (timeUp()) break;
    if (state.length < maxLength && !done) yield;
  }
  return state.seqs;
}

/**
 * HF's _speculative_sampling (algorithm 1 of Leviathan et al., 2023) on one round: candidate i is
 * kept with probability min(1, p_i / q_i), p the model's and q the assistant's probabilities after
 * the same processors and warpers, up to the first rejection; the token after them is drawn from
 * max(p - q, 0) renormalised at a rejection, else from p. The text is then distributed as the
 * model's own sampling. The draws are HF's: torch.rand for every candidate, then one multinomial.
 */
function speculativeSampling(cands: number[], draftScores: Tensor, scores: Tensor, doneCandidate: boolean): { n: number; picked: number[] } {
  const L = cands.length;
  // (L, vocab) and (L + 1, vocab); the assistant's on the model's device, as HF moves them
  const q = F.softmax(draftScores.to({ device: scores.device }), -1), p = F.softmax(scores, -1);
  const index = tensor(cands.map((t) => [t]), { dtype: 'int64', device: p.device });
  const ratio = p.narrow(0, 0, L).gather(1, index).div(q.gather(1, index)).squeeze(1);
  const kept = rand([L], { device: p.device }).le(ratio).tolist() as boolean[];
  let n = 0;
  while (n < L && kept[n]) n++;
  if (doneCandidate && n === L) return { n: L - 1, picked: [...cands] }; // (the text ends with them)
  let next = p.narrow(0, n, 1);
  if (n < L) {
    const residual = next.sub(q.narrow(0, n, 1)).clamp({ min: 0 });
    const total = residual.sum();
    // (all zero only where rounding rejected a token both give the same probability: then p)
    if ((total.item() as number) > 0) next = residual.div(total);
  }
  return { n, picked: [...cands.slice(0, n), next.multinomial(1).item() as number] };
}

/**
 * Whether the last token completes one of the stop strings (HF's StopStringCriteria): the text
 * holds the string, ending inside the last token's text (which may run past it, as the string may
 * begin inside earlier tokens, the prompt's included).
 */
export function completesStopString(tokens: number[], stops: string[], tok: GPT2Tokenizer = tokenizer): boolean {
  // A stop string of n UTF-8 bytes lies within the last n + 1 tokens (each token is >= 1 byte).
  const longest = Math.max(...stops.map((s) => Buffer.byteLength(s)));
  const tail = tokens.slice(-(longest + 1));
  const text = tok.decode(tail), before = tok.decode(tail.slice(0, -1)).replace(/\uFFFD$/, '');
  return stops.some((s) => {
    const at = text.indexOf(s, Math.max(0, before.length - s.length + 1));
    return at >= 0 && at + s.length > before.length;
  });
}

/** A prompt's finished beams (HF's BeamHypotheses): the numBeams best by length-penalised score. */
class BeamHypotheses {
  readonly beams: { score: number; tokens: number[]; rows: number[] }[] = [];
  private worstScore = 1e9;
  constructor(readonly numBeams: number, readonly lengthPenalty: number, readonly earlyStopping: boolean | 'never', readonly maxLength: number) {}

  add(tokens: number[], sumLogprobs: number, generatedLength: number, rows: number[]): void {
    const score = sumLogprobs / generatedLength ** this.lengthPenalty;
    if (this.beams.length < this.numBeams || score > this.worstScore) {
      this.beams.push({ score, tokens, rows });
      if (this.beams.length > this.numBeams) {
        // Drop the worst (the first of the lowest, as Python's sort of (score, index) pairs).
        const order = this.beams.map((b, i) => [b.score, i]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
        this.beams.splice(order[0][1], 1);
        this.worstScore = order[1][0];
      } else {
        this.worstScore = Math.min(score, this.worstScore);
      }
    }
  }

  /** Whether no unfinished beam can enter the list any more (HF's is_done). */
  isDone(bestSumLogprobs: number, curLength: number, promptLength: number): boolean {
    if (this.beams.length < this.numBeams) return false;
    if (this.earlyStopping === true) return true;
    const length = this.earlyStopping === 'never' && this.lengthPenalty > 0 ? this.maxLength : curLength;
    return this.worstScore >= bestSumLogprobs / (length - promptLength) ** this.lengthPenalty;
  }
}

/**
 * Beam search as HF's _beam_search with BeamSearchScorer: numBeams rows per prompt, each step the
 * 2 x numBeams best (beam, token) pairs by summed log-probability ((1 + end tokens) x numBeams
 * with several end tokens); a pair ending in an end token among the first numBeams finishes a
 * hypothesis, the others continue (numBeams of them). state holds each
 * prompt's numBeams rows, adjacent. Returns numReturnSequences rows per prompt, best first.
 * With sampling (doSample, or a temperature > 0) it is HF's beam sampling (_beam_sample): the
 * warpers on each beam's log-probabilities (at least 2 tokens kept), then the 2 x numBeams pairs
 * drawn without replacement by their probability instead of taken best first, then sorted (as
 * transformers 4.4x; its later unified _beam_search leaves them in draw order, so there an eos
 * drawn among the first numBeams finishes a hypothesis rather than one scoring among them).
 */
export function beamSearch(state: DecodingState, o: GenerateOptions, eos: EosTokenIds, maxLength: number, record: DecodeRecord = {}): BeamSearchOutput {
  return drain(beamSearchSteps(state, o, eos, maxLength, record));
}

/** beamSearch a step at a time (see StepsOf). */
export function* beamSearchSteps(state: DecodingState, o: GenerateOptions, eos: EosTokenIds, maxLength: number, record: DecodeRecord = {}): StepsOf<BeamSearchOutput> {
  const timeUp = deadline(o);
  const K = o.numBeams ?? 1, keepPerPrompt = o.numReturnSequences ?? 1;
  const ends = eosList(eos), pairs = Math.max(2, 1 + ends.length) * K; // (HF's n_tokens_to_keep: enough to go on should every end token be among them)
  const sampling = isSampling(o);
  const B = state.seqs.length / K;
  const promptLength = state.length;
  const hyps = Array.from({ length: B }, () => new BeamHypotheses(K, o.lengthPenalty ?? 1, o.earlyStopping ?? false, maxLength));
  const done = Array<boolean>(B).fill(false);
  // Only the first beam of each prompt starts live, so the first step does not pick one token K times.
  let beamScores: number[] = state.seqs.map((_, i) => (i % K === 0 ? 0 : -1e9));
  const pad = state.padToken;
  if (state.length >= maxLength) {
    // Nothing to add (maxNewTokens 0): each prompt as it is.
    const rows = state.seqs.filter((_, i) => i % K === 0).flatMap((s) => Array.from({ length: keepPerPrompt }, () => [...s]));
    return { sequences: rows, scores: rows.map(() => 0), beamIndices: rows.map(() => []) };
  }
  // Each row's path: the row it continued at each step (HF's beam_indices)
  let paths: number[][] = state.seqs.map(() => []);
  while (state.length < maxLength) {
    const ids = state.paddedSeqs(); // (the finished hypotheses are these rows)
    const [topScores, topIds, V] = tidy(() => {
      const logits = state.nextLogits();
      record.logits?.push(keep(logits.clone()));
      let logprobs = processLogits(F.logSoftmax(logits, -1), () => ids, o, stepAt(state, promptLength, o), eos);
      if (sampling) logprobs = warpScores(logprobs, o, 2); // (HF: at least 2 tokens a beam, so that each can go on)
      record.scores?.push(keep(logprobs.clone()));
      const V = logprobs.shape[1];
      const total = logprobs.add(tensor(beamScores, { dtype: 'float32', device: logprobs.device }).unsqueeze(1)).view([B, K * V]);
      if (!sampling) {
        const { values, indices } = total.topk(pairs, 1);
        return [values.tolist() as number[][], indices.tolist() as number[][], V] as const;
      }
      // HF's beam sampling: that many (beam, token) candidates drawn without replacement by their probability, best first.
      const probs = F.softmax(total, -1);
      const choices = probs.gt(0).sum(1).min().item() as number;
      if (choices < pairs) {
        throw new Error(`generate: beam sampling draws ${pairs / K} x numBeams (${pairs}) candidates a step, but the warpers left only ${choices} tokens to draw from: raise topK / topP, or lower numBeams`);
      }
      const drawn = probs.multinomial(pairs);
      const { values, indices: order } = total.gather(1, drawn).sort(1, true);
      return [values.tolist() as number[][], drawn.gather(1, order).tolist() as number[][], V] as const;
    });
    const curLength = state.length + 1;
    const nextScores: number[] = [], nextTokens: number[] = [], from: number[] = [];
    for (let b = 0; b < B; b++) {
      if (done[b]) {
        for (let k = 0; k < K; k++) { nextScores.push(0); nextTokens.push(pad); from.push(b * K + k); }
        continue;
      }
      // (a candidate at -inf is a token a mask took away, prefixAllowedTokensFn's, bad words': where
      // there are finite ones, none at -inf goes on or finishes; fewer than numBeams, and the rest of
      // the beams copy the best at -inf, so they never win and their text stays one the masks took.
      // With none finite, as HF: the best at -inf go on.)
      const finite = Number.isFinite(topScores[b][0]);
      let live = 0;
      const first = nextTokens.length;
      for (let rank = 0; rank < topIds[b].length && live < K; rank++) {
        if (finite && topScores[b][rank] === -Infinity) break; // (sorted: the rest are -inf too)
        const token = topIds[b][rank] % V, row = b * K + Math.floor(topIds[b][rank] / V);
        if (ends.includes(token)) {
          if (rank >= K) continue; // an end token outside the first numBeams does not finish a hypothesis
          hyps[b].add(ids[row], topScores[b][rank], curLength - promptLength, [...paths[row], row]);
        } else {
          nextScores.push(topScores[b][rank]); nextTokens.push(token); from.push(row);
          live++;
        }
      }
      if (live === 0 && finite) {
        // (every finite candidate ended a hypothesis: the beams go on from the best row at -inf)
        for (; live < K; live++) { nextScores.push(-Infinity); nextTokens.push(pad); from.push(b * K); }
      }
      for (; live < K; live++) { nextScores.push(-Infinity); nextTokens.push(nextTokens[first]); from.push(from[first]); }
      done[b] = hyps[b].isDone(topScores[b][0], curLength, promptLength); // (topk sorts: [0] is the best)
    }
    state.reorder(from);
    paths = from.map((j) => [...paths[j], j]);
    state.append(nextTokens);
    beamScores = nextScores;
    if (done.every(Boolean) || timeUp()) break;
    yield;
  }
  // Beams still running join their prompt's hypotheses (HF's finalize).
  const ids = state.paddedSeqs();
  hyps.forEach((h, b) => {
    if (done[b]) return;
    for (let k = 0; k < K; k++) h.add(ids[b * K + k], beamScores[b * K + k], ids[b * K + k].length - promptLength, paths[b * K + k]);
  });
  // Best first; of equal scores the later added first (HF pops from a stably sorted list).
  const best = hyps.flatMap((h) => [...h.beams].sort((x, y) => x.score - y.score).reverse().slice(0, keepPerPrompt));
  // As HF: a hypothesis shorter than the longest (and the length limit) gets the (first) end
  // token, then the pad token (for GPT-2 the same). Without an end token all have the same length.
  const width = Math.min(Math.max(...best.map((h) => h.tokens.length)) + 1, maxLength);
  const sequences = best.map(({ tokens }, i) => {
    const row = [...tokens];
    if (row.length < width) row.push(ends[0]);
    while (row.length < width) row.push(pad);
    return row.slice(state.padding[Math.floor(i / keepPerPrompt) * K]);
  });
  return { sequences, scores: best.map((h) => h.score), beamIndices: best.map((h) => h.rows) };
}

/**
 * HF's compute_transition_scores: each new token's score at the step that chose it (its row's
 * scores, the row its beam had then), as (sequences, steps) numbers, 0 past a sequence's end.
 * normalizeLogits log-softmaxes each step's scores first. sequences as generate() returns them
 * (their last tokens are the new ones); beamIndices from beam search, else each row is its own.
 */
export function computeTransitionScores(sequences: number[][], scores: Tensor[], beamIndices: number[][] | null = null, normalizeLogits = false): number[][] {
  if (!scores.length) return sequences.map(() => []);
  const [R, V] = scores[0].shape;
  const paths = beamIndices ?? sequences.map((_, i) => scores.map(() => i));
  if (paths.length !== sequences.length) throw new Error(`computeTransitionScores: ${sequences.length} sequences but ${paths.length} rows of beam indices`);
  const L = Math.max(...paths.map((p) => p.length));
  return tidy(() => {
    let all = cat(scores.map((t) => t.unsqueeze(0)), 0); // (steps, rows, vocab)
    if (normalizeLogits) all = F.logSoftmax(all, -1);
    const at: number[] = [];
    sequences.forEach((seq, i) => {
      const tokens = seq.slice(seq.length - L);
      for (let j = 0; j < L; j++) at.push(j < paths[i].length ? j * R * V + paths[i][j] * V + tokens[j] : 0);
    });
    const got = all.contiguous().view([-1]).indexSelect(0, tensor(at, { dtype: 'int64', device: all.device })).tolist() as number[];
    return sequences.map((_, i) => got.slice(i * L, (i + 1) * L).map((v, j) => (j < paths[i].length ? v : 0)));
  });
}
