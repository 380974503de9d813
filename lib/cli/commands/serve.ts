// tstorch serve: the model behind an OpenAI-compatible HTTP API, as `transformers serve` puts
// one: POST /v1/completions and /v1/chat/completions (stream: true sends server-sent events), GET
// /v1/models, /health, /metrics (Prometheus'). The requests' generations run in a
// GenerationBatcher: their steps share forward passes (continuous batching, as vLLM's), prompts
// arriving together go through in one pass, requests join and leave between steps, and a client
// that goes away stops its own generation. Tools go to the chat template, and with
// --enable-auto-tool-choice the reply's tool calls are read out as vLLM's parsers read them;
// tool_choice "required" or a named function, response_format json_object / json_schema /
// structural_tag and vLLM's structured outputs (json, regex, choice, grammar, structural_tag) hold
// the reply token by token (models/token_constraint.ts);
// --reasoning-parser splits a reply's <think> reasoning from its answer.
import * as http from 'http';
import { createHash, randomUUID, timingSafeEqual } from 'crypto';
import { Spec } from '../args';
import { loadModelFromFlags, sharedFlags, tokenizerFromFlags } from './common';
import { eosList } from '../../models/logits_process';
import { newTokens, plain, precisionAutocast, replyText, spec as generateSpec, textStream } from './generate';
import type { GPT2LMHeadModel } from '../../models/gpt2';
import { GenerationBatcher } from '../../models/batching';
import { PrefixCache } from '../../models/prefix_cache';
import { ServeMetrics } from '../serve_metrics';
import { Tensor } from '../../tensor/tensor';
import { tensor } from '../../tensor/creation';
import { keep, tidy } from '../../tensor/scope';
import { autocast, noGrad } from '../../tensor/runtime';
import * as F from '../../nn/functional';
import { isContrastive, withDefaults } from '../../models/generation';
import type { GenerateOptions } from '../../models/generation';
import { GPT2Tokenizer } from '../../models/tokenizer';
import type { ChatMessage } from '../../models/chat_template';
import { isJsonObject } from '../../io/json';
import { SUMMARIES } from '../summaries';
import { extractToolCalls, pythonJsonLoads, requiredToolCalls, textBeforeToolCalls, TOOL_CALL_PARSERS, ToolCallParser } from '../tool_parsers';
import { JsonGrammar } from '../../models/json_constraint';
import { RegexGrammar } from '../../models/regex_constraint';
import { EbnfGrammar } from '../../models/grammar_constraint';
import { StructuralTag } from '../../models/structural_tag';
import { tokenConstraint } from '../../models/token_constraint';
import { extractReasoning, REASONING_PARSERS, ReasoningParser, ReasoningReader, reasoningReader, streamedReasoning } from '../reasoning_parsers';

export const summary = SUMMARIES.serve;
export const spec: Spec = {
  model: sharedFlags.model,
  revision: sharedFlags.revision,
  tokenizer: sharedFlags.tokenizer,
  adapter: sharedFlags.adapter,
  'chat-template': sharedFlags['chat-template'],
  host: { type: 'string', default: '127.0.0.1', help: 'the address to listen on (0.0.0.0: every interface)' },
  port: { type: 'int', default: 8000, help: 'the port to listen on (0: a free one; the address is printed)' },
  'api-key': { type: 'string', help: 'requests to /v1 must carry "Authorization: Bearer KEY" (as vLLM\'s --api-key; or the environment\'s TSTORCH_API_KEY, kept out of the process list)' },
  'served-model-name': { type: 'string', help: 'the model\'s name in answers and /v1/models (default: --model as given)' },
  'prefix-cache-tokens': { type: 'int', default: 2048, help: 'prompts\' key/value caches kept for later prompts that start the same (a system prompt; a chat\'s earlier turns), up to this many tokens in all (vLLM\'s prefix caching; 0: off)' },
  'max-num-seqs': { type: 'int', default: 256, help: 'the most sequences the requests\' generations put in one batched step (vLLM\'s --max-num-seqs; 1: no batching)' },
  'prefill-chunk-size': { type: 'int', default: 256, help: 'a prompt longer than this goes through the model this many positions a pass, the other requests\' steps between them (vLLM\'s chunked prefill: a long prompt does not hold up the others\' tokens; 0: each prompt in one pass)' },
  'max-num-batched-tokens': { type: 'int', default: 8192, help: 'the most prompt positions (padding included) requests waiting together put through in one pass (vLLM\'s --max-num-batched-tokens)' },
  'disable-log-requests': { type: 'boolean', help: 'no line on stderr for each request answered (as vLLM\'s)' },
  'enable-auto-tool-choice': { type: 'boolean', help: 'chat requests with tools (tool_choice auto) get the reply\'s tool calls as OpenAI\'s tool_calls, read by --tool-call-parser (as vLLM\'s)' },
  'tool-call-parser': { type: 'string', help: `how the reply's tool calls are written: ${TOOL_CALL_PARSERS.join(' or ')} (vLLM's parsers: hermes <tool_call>{...}</tool_call> for Hermes/Qwen-style templates, llama3_json for Llama 3.1's JSON calls)` },
  'reasoning-parser': { type: 'string', help: `chat replies' reasoning (<think> ... </think> before the answer) goes to the message's reasoning (and reasoning_content), the answer to its content: ${REASONING_PARSERS.join(' or ')} (vLLM's parsers; qwen3 reads chat_template_kwargs' enable_thinking)` },
  'enable-cors': { type: 'boolean', help: 'answer web pages of any origin (CORS headers, and the preflight OPTIONS requests), as transformers serve --enable-cors' },
  device: sharedFlags.device,
  attn: sharedFlags.attn,
  mmap: sharedFlags.mmap,
  precision: generateSpec.precision,
  bf16: generateSpec.bf16,
};

/** What the requests are answered with. */
export interface ServeContext {
  model: GPT2LMHeadModel;
  tokenizer: GPT2Tokenizer;
  /** the model's name in the responses (and /v1/models) */
  name: string;
  /** each generation's forward passes under this autocast (--precision bf16) */
  autocast?: GenerateOptions['autocast'];
  /** CORS: any origin may call (--enable-cors) */
  cors?: boolean;
  /** /v1 requests must carry "Authorization: Bearer apiKey" (--api-key) */
  apiKey?: string;
  /** the requests' generations, batched (made by requestHandler when not given: all rows of a step in one pass) */
  batcher?: GenerationBatcher;
  /** the prompts' caches kept for later prompts that start the same (made by requestHandler when not given: 2048 tokens) */
  prefixCache?: PrefixCache;
  /** a prompt with more positions than this to feed goes through the model in passes of this many (--prefill-chunk-size) */
  prefillChunkSize?: number;
  /** what /metrics reports (made by requestHandler when not given) */
  metrics?: ServeMetrics;
  /** a line for each request answered (tstorch serve: stderr, unless --disable-log-requests) */
  log?: (line: string) => void;
  /** how replies write tool calls (--tool-call-parser) */
  toolCallParser?: ToolCallParser;
  /** tool_choice auto is served: the reply's tool calls read out with toolCallParser (--enable-auto-tool-choice) */
  autoToolChoice?: boolean;
  /** chat replies' reasoning read out with this (--reasoning-parser) */
  reasoningParser?: ReasoningParser;
}

export async function run(f: Record<string, unknown>): Promise<number> {
  if (f.bf16) f.precision = 'bf16';
  if (!['fp32', 'bf16'].includes(f.precision as string)) throw new Error(`--precision must be fp32 or bf16, got '${f.precision}'`);
  const port = f.port as number;
  if (!(Number.isInteger(port) && port >= 0 && port < 65536)) throw new Error(`--port must be a port number (0 .. 65535), got ${port}`);
  const parser = f['tool-call-parser'] as string | undefined;
  if (parser !== undefined && !(TOOL_CALL_PARSERS as readonly string[]).includes(parser)) throw new Error(`--tool-call-parser must be ${TOOL_CALL_PARSERS.join(' or ')}, got '${parser}'`);
  if (f['enable-auto-tool-choice'] && parser === undefined) throw new Error(`--enable-auto-tool-choice needs --tool-call-parser (${TOOL_CALL_PARSERS.join(' or ')}): how the model writes its tool calls`);
  const reasoning = f['reasoning-parser'] as string | undefined;
  if (reasoning !== undefined && !(REASONING_PARSERS as readonly string[]).includes(reasoning)) throw new Error(`--reasoning-parser must be ${REASONING_PARSERS.join(' or ')}, got '${reasoning}'`);
  const tokenizer = tokenizerFromFlags(f);
  const model = await loadModelFromFlags(f);
  const apiKey = (f['api-key'] as string | undefined) ?? process.env.TSTORCH_API_KEY;
  if (apiKey === '') throw new Error('--api-key is empty (TSTORCH_API_KEY too?): give the key requests must carry');
  const name = (f['served-model-name'] as string | undefined) ?? model.nameOrPath ?? String(f.model);
  const maxRows = f['max-num-seqs'] as number;
  if (!(maxRows >= 1)) throw new Error(`--max-num-seqs must be >= 1, got ${maxRows}`);
  const maxTokens = f['max-num-batched-tokens'] as number;
  if (!(maxTokens >= 1)) throw new Error(`--max-num-batched-tokens must be >= 1, got ${maxTokens}`);
  const chunk = f['prefill-chunk-size'] as number;
  if (!(chunk >= 0)) throw new Error(`--prefill-chunk-size must be >= 0 (0: off), got ${chunk}`);
  const cacheTokens = f['prefix-cache-tokens'] as number;
  if (!(cacheTokens >= 0)) throw new Error(`--prefix-cache-tokens must be >= 0 (0: off), got ${cacheTokens}`);
  const autocastOptions = precisionAutocast(f);
  const ctx: ServeContext = {
    model, tokenizer, name, autocast: autocastOptions, cors: Boolean(f['enable-cors']), apiKey,
    batcher: new GenerationBatcher(model, { maxBatchRows: maxRows, maxBatchTokens: maxTokens, autocast: autocastOptions }),
    prefixCache: new PrefixCache(cacheTokens), prefillChunkSize: chunk || undefined,
    log: f['disable-log-requests'] ? undefined : (line) => console.error(line),
    toolCallParser: parser as ToolCallParser | undefined, autoToolChoice: Boolean(f['enable-auto-tool-choice']),
    reasoningParser: reasoning as ReasoningParser | undefined,
  };
  const server = http.createServer(requestHandler(ctx));
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) => reject(new Error(e.code === 'EADDRINUSE' ? `--port ${port}: already in use (another server?); give another, or 0 for any free one` : e.message)));
      server.listen(port, f.host as string, resolve);
    });
    const { address, port: bound } = server.address() as { address: string; port: number };
    console.error(`tstorch serve: ${ctx.name} at http://${address.includes(':') ? `[${address}]` : address}:${bound}/v1${apiKey ? ' (an API key asked for)' : ''} (Ctrl-C stops)`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  } finally {
    ctx.prefixCache!.clear();
    model.dispose();
  }
  return 0;
}

/** An answer of 4xx: the request's fault, said in OpenAI's error shape. */
class RequestError extends Error {
  constructor(message: string, readonly status = 400) { super(message); }
}

/** The server's request listener: the routes, and errors answered as OpenAI's ({ error: { message, type } }). */
export function requestHandler(ctx: ServeContext): http.RequestListener {
  ctx.batcher ??= new GenerationBatcher(ctx.model, { autocast: ctx.autocast });
  ctx.prefixCache ??= new PrefixCache(2048);
  ctx.metrics ??= new ServeMetrics(ctx.model.config.n_positions);
  return (req, res) => {
    const arrived = performance.now(), client = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
    if (ctx.log) res.once('close', () => ctx.log!(accessLine(client, req, res, arrived)));
    if (ctx.cors) {
      res.setHeader('Access-Control-Allow-Origin', '*');
      if (req.method === 'OPTIONS') { // (a browser's preflight)
        res.writeHead(204, { 'Access-Control-Allow-Methods': 'GET, POST, OPTIONS', 'Access-Control-Allow-Headers': 'Content-Type, Authorization', 'Access-Control-Max-Age': '86400' });
        res.end();
        return;
      }
    }
    route(ctx, req, res, arrived).catch((e: Error) => {
      if (res.headersSent) { // (a stream already begun: it ends with the error as its last event)
        if (!res.writableEnded) res.end(`data: ${JSON.stringify({ error: { message: e.message, type: 'server_error' } })}\n\ndata: [DONE]\n\n`);
        return;
      }
      const status = e instanceof RequestError ? e.status : 500;
      sendJson(res, status, { error: { message: e.message, type: status < 500 ? 'invalid_request_error' : 'server_error', param: null, code: status === 401 ? 'invalid_api_key' : null } });
    });
  };
}

/** Each request answered, as uvicorn's access log has it, with the tokens of a completion. */
function accessLine(client: string, req: http.IncomingMessage, res: http.ServerResponse, arrived: number): string {
  const usage = usageOf.get(res);
  const tokens = usage ? `, ${usage.prompt_tokens} prompt + ${usage.completion_tokens} generated tokens` : '';
  const seconds = ((performance.now() - arrived) / 1000).toFixed(3);
  return `tstorch serve: ${client} "${req.method} ${req.url}" ${res.writableFinished ? res.statusCode : 'closed by the client'} (${seconds} s${tokens})`;
}
const usageOf = new WeakMap<http.ServerResponse, { prompt_tokens: number; completion_tokens: number }>();

async function route(ctx: ServeContext, req: http.IncomingMessage, res: http.ServerResponse, arrived: number): Promise<void> {
  const { pathname } = new URL(req.url ?? '/', 'http://localhost');
  if (req.method === 'GET' && pathname === '/health') { // (a load balancer's probe, as vLLM's: no key needed)
    res.writeHead(200).end();
    return;
  }
  if (req.method === 'GET' && pathname === '/metrics') { // (Prometheus' scrape, as vLLM's: no key needed)
    const text = ctx.metrics!.text(ctx.name, ctx.batcher?.stats);
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8', 'Content-Length': Buffer.byteLength(text) }).end(text);
    return;
  }
  if (ctx.apiKey !== undefined && pathname.startsWith('/v1') && !keyMatches(req.headers.authorization, ctx.apiKey)) {
    throw new RequestError('a missing or wrong API key: send the header "Authorization: Bearer KEY" with the key tstorch serve was given', 401);
  }
  const card = { id: ctx.name, object: 'model', created: 0, owned_by: 'tstorch' };
  if (req.method === 'GET' && pathname === '/v1/models') {
    sendJson(res, 200, { object: 'list', data: [card] });
    return;
  }
  if (req.method === 'GET' && pathname.startsWith('/v1/models/')) {
    const asked = decodeURIComponent(pathname.slice('/v1/models/'.length));
    if (asked !== ctx.name) throw new RequestError(`the model '${asked}' is not served here: '${ctx.name}' is`, 404);
    sendJson(res, 200, card);
    return;
  }
  if (req.method === 'POST' && (pathname === '/tokenize' || pathname === '/detokenize')) {
    sendJson(res, 200, pathname === '/tokenize' ? tokenize(ctx, await readJson(req)) : detokenize(ctx, await readJson(req)));
    return;
  }
  if (req.method !== 'POST' || (pathname !== '/v1/completions' && pathname !== '/v1/chat/completions')) {
    throw new RequestError(`no ${req.method} ${pathname} here: POST /v1/completions or /v1/chat/completions (or /tokenize, /detokenize), GET /v1/models (or /health, /metrics)`, 404);
  }
  const body = await readJson(req);
  await complete(ctx, body, pathname === '/v1/chat/completions', res, arrived);
}

// vLLM's structured outputs, as {"structured_outputs": {KIND: ...}} (vLLM 0.10 on) or "guided_KIND": ... (before)
const GUIDED_KEYS = ['guided_json', 'guided_regex', 'guided_choice', 'guided_grammar', 'guided_decoding_backend', 'guided_whitespace_pattern'];
const COMMON_KEYS = ['model', 'max_tokens', 'temperature', 'top_p', 'n', 'stop', 'seed', 'stream', 'presence_penalty', 'frequency_penalty', 'user', 'logprobs',
  'top_k', 'min_p', 'repetition_penalty', 'stream_options', 'logit_bias', 'min_tokens', 'stop_token_ids', 'ignore_eos', 'response_format',
  // (vLLM's structured outputs: the current field, and the guided_* fields older vLLM read)
  'structured_outputs', ...GUIDED_KEYS];
const COMPLETION_KEYS = [...COMMON_KEYS, 'prompt', 'echo', 'suffix', 'best_of'];
// (chat_template_kwargs, add_generation_prompt, continue_final_message: vLLM's extra parameters)
const CHAT_TEMPLATE_KEYS = ['tools', 'chat_template_kwargs', 'add_generation_prompt', 'continue_final_message'];
const CHAT_KEYS = [...COMMON_KEYS, 'messages', 'max_completion_tokens', 'top_logprobs', 'tool_choice', 'parallel_tool_calls', 'include_reasoning', ...CHAT_TEMPLATE_KEYS];

// OpenAI's fields this server does not serve, and what to do instead
const FUNCTIONS = 'the legacy functions and function_call are not served (as vLLM\'s): give tools and tool_choice';
const NOT_SERVED: Record<string, string> = {
  functions: FUNCTIONS, function_call: FUNCTIONS,
};

/** A completion or a chat completion: the request read, generated, answered (or streamed). */
async function complete(ctx: ServeContext, body: Record<string, unknown>, chat: boolean, res: http.ServerResponse, arrived: number): Promise<void> {
  const unknown = Object.keys(body).filter((k) => !(chat ? CHAT_KEYS : COMPLETION_KEYS).includes(k));
  const unserved = unknown.filter((k) => Object.hasOwn(NOT_SERVED, k));
  if (unserved.length) throw new RequestError(`${unserved.join(', ')}: ${NOT_SERVED[unserved[0]]}`);
  if (unknown.length) throw new RequestError(`unknown request fields: ${unknown.join(', ')}`);
  const { model, tokenizer } = ctx;
  const options = generationOptions(body, chat, model);
  const top = logprobsAsked(body, chat); // (undefined: no log-probabilities asked for)
  const n = options.numReturnSequences ?? 1;
  const stream = body.stream === true;
  let prompts: number[][];
  let toolParser: ToolCallParser | undefined; // (tool_choice auto: the replies' tool calls read out with it)
  let forced: ForcedCalls | undefined; // (tool_choice required or a named function: the replies held to calls)
  let reasoning: ReasoningReader | undefined; // (--reasoning-parser: the replies' reasoning read out with it)
  if (chat) {
    if (!tokenizer.chatTemplate) throw new RequestError('this model\'s tokenizer has no chat template: start tstorch serve with --chat-template FILE (or chatml), or use /v1/completions');
    ({ parser: toolParser, forced } = toolChoiceOf(ctx, body));
    if (body.include_reasoning !== undefined && typeof body.include_reasoning !== 'boolean') throw new RequestError('include_reasoning must be true or false');
    if (ctx.reasoningParser) reasoning = reasoningReader(ctx.reasoningParser, isJsonObject(body.chat_template_kwargs) ? body.chat_template_kwargs : undefined, body.include_reasoning !== false);
    prompts = [tokenizer.encode(chatPrompt(ctx, body))];
    // (a GPT-2 trained on ChatML writes <|im_end|> as text, not as its eos: the reply ends there; Llama 3's <|eot_id|> ... alike)
    const turnEnd = tokenizer.assistantTurnEnd();
    if (turnEnd !== undefined && !options.stopStrings?.includes(turnEnd)) options.stopStrings = [...options.stopStrings ?? [], turnEnd];
  } else {
    prompts = completionPrompts(body.prompt, tokenizer);
  }
  for (const p of prompts) {
    if (!p.length) throw new RequestError('a prompt has no tokens');
    if (p.some((t) => t >= model.config.vocab_size)) throw new RequestError(`a prompt has tokens beyond the model's vocabulary (${model.config.vocab_size})`);
    if (p.length >= model.config.n_positions) throw new RequestError(`a prompt of ${p.length} tokens leaves no room in the model's context (${model.config.n_positions} tokens)`);
  }
  // (as vLLM's hermes parser asks: the reply's special tokens kept, a <tool_call> token among them; the
  // think tags kept too where the tokenizer marks them special)
  const decodeAs = toolParser === 'hermes' || (reasoning && thinkTagsAreSpecial(tokenizer)) ? { skipSpecialTokens: false } : plain;
  const echo = !chat && body.echo === true;
  const stops = options.stopStrings;
  const eos = options.eosTokenId;
  const ends = eosList(eos);
  const asked = heldAsked(body);
  if (asked && forced) throw new RequestError(`${asked.what} and tool_choice "required" (or a named function) do not go together: the reply is held to the calls`);
  const held = asked ?? (forced && { grammar: forced.grammar, what: 'tool_choice' });
  // (with a reasoning parser and thinking on, as vLLM's: the answer after </think> is held, the reasoning is free)
  if (held) holdReplies(options, tokenizer, model.config.vocab_size, ends, held, reasoning?.thinking ? '</think>' : undefined);
  const id = `${chat ? 'chatcmpl' : 'cmpl'}-${randomUUID()}`, created = Math.floor(Date.now() / 1000);
  const head = { id, object: chat ? (stream ? 'chat.completion.chunk' : 'chat.completion') : 'text_completion', created, model: ctx.name };
  // A client gone before the end stops its generation (an AbortError, answered to no one).
  const controller = new AbortController();
  res.on('close', () => { if (!res.writableFinished) controller.abort(); });
  const echoed = prompts.map((p) => (echo ? tokenizer.decode(p, plain) : ''));
  // (echo with logprobs: the prompt's tokens too, each but the first scored by one pass over the prompt)
  const promptScores = echo && top !== undefined ? prompts.map((p) => promptLogprobs(model, p, top, tokenizer, ctx.autocast)) : undefined;
  const scored = top === undefined ? undefined : new StepLogprobs(top, tokenizer, decodeAs);
  // streamed: each choice's text as it settles, in its own chunks (by index), with its tokens' logprobs
  let streams: ChoiceStream[] | undefined;
  if (stream) {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
    const event = (index: number, choice: Record<string, unknown>) => res.write(`data: ${toJson({ ...head, choices: [{ index, logprobs: null, finish_reason: null, ...choice }] })}\n\n`);
    streams = Array.from({ length: prompts.length * n }, (_, i) => {
      const p = Math.floor(i / n);
      if (chat) event(i, { delta: { role: 'assistant', content: '' } });
      if (echo) event(i, { text: echoed[p], ...(promptScores ? { logprobs: logprobsJson(promptScores[p], false, 0, tokenizer) } : {}) });
      return new ChoiceStream((choice) => event(i, choice), chat, stops, tokenizer, scored && (() => scored.rows[i] ?? []), echoed[p].length, decodeAs, { toolParser, forced, oneCall: body.parallel_tool_calls === false, reasoning });
    });
  }
  let finished: boolean[] = []; // (the rows finished before this step: what they get now is padding)
  let firstToken: number | undefined, lastToken: number | undefined;
  const tokenGaps: number[] = [];
  const onToken = (tokens: number[], done: boolean[]) => {
    const now = performance.now();
    firstToken ??= now;
    if (lastToken !== undefined) tokenGaps.push((now - lastToken) / 1000);
    lastToken = now;
    scored?.onToken(tokens);
    // (an end token's text is not the reply's: stop_token_ids may name ordinary tokens)
    tokens.forEach((t, i) => { if (!finished[i] && !ends.includes(t)) streams?.[i].add(t); });
    finished = done;
  };
  let sequences: number[][];
  // one prompt: its start may be cached from an earlier prompt (only the rest goes through the model), and its cache kept for later
  // ones (not with contrastive search, which a generation config may ask for: it feeds the whole prompt)
  const cacheable = prompts.length === 1 && !isContrastive(withDefaults(model.generationConfig, options));
  const cache = cacheable ? ctx.prefixCache!.lookup(prompts[0]) : undefined;
  const cachedLength = cache ? cache[0][0].shape[2] : 0;
  if (cacheable) ctx.metrics!.prefixLookup(prompts[0].length, cachedLength);
  // (a long prompt in chunks, the other requests stepping between them; a short one in one pass, which may be shared)
  const chunked = ctx.prefillChunkSize !== undefined && Math.max(...prompts.map((p) => p.length)) - cachedLength > ctx.prefillChunkSize;
  ctx.metrics!.running++;
  try {
    sequences = await ctx.batcher!.generate(prompts, {
      ...options, signal: controller.signal, tokenizer, pastKeyValues: cache,
      ...(chunked ? { prefillChunkSize: ctx.prefillChunkSize } : {}),
      onLogits: scored?.onLogits,
      onToken,
    }, { prefilled: cacheable ? (past) => ctx.prefixCache!.store(prompts[0], past) : undefined });
  } catch (e) {
    if (controller.signal.aborted) { // (no one to answer)
      ctx.metrics!.abort(prompts.length * n);
      return;
    }
    const message = (e as Error).message;
    // (generate's own checks are the request's fault; anything else, the server's)
    throw message.startsWith('generate: ') ? new RequestError(message.slice('generate: '.length)) : e;
  } finally {
    ctx.metrics!.running--;
    scored?.dispose();
    for (const t of cache?.flat() ?? []) t.dispose();
  }
  const choices = sequences.map((tokens, i) => {
    const prompt = prompts[Math.floor(i / n)];
    const added = newTokens(tokens, prompt.length, eos, stops, tokenizer);
    // ('stop': it met an end token (its text left out) or a stop string; 'length': max_tokens, or the context, ran out)
    const ended = added.length > 0 && ends.includes(added[added.length - 1]);
    const full = tokenizer.decode(ended ? added.slice(0, -1) : added, decodeAs), text = replyText(full, stops);
    const stopped = ended || text.length < full.length;
    // (the log-probabilities of the tokens that make the text: not an end token, nor those of a stop string)
    const logprobs = scored && (scored.rows[i] ?? []).slice(0, added.length).filter((t) => t.start < text.length);
    return { index: i, text, added, finish: stopped ? 'stop' : 'length', echoed: echoed[Math.floor(i / n)], logprobs, promptScores: promptScores?.[Math.floor(i / n)] };
  });
  const usage = { prompt_tokens: prompts.reduce((s, p) => s + p.length, 0), completion_tokens: choices.reduce((s, c) => s + c.added.length, 0), total_tokens: 0 };
  usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
  usageOf.set(res, usage);
  ctx.metrics!.finish({
    promptTokens: usage.prompt_tokens, generationTokens: usage.completion_tokens, finishReasons: choices.map((c) => c.finish),
    seconds: (performance.now() - arrived) / 1000, firstTokenSeconds: firstToken === undefined ? undefined : (firstToken - arrived) / 1000, tokenGaps,
  });
  if (streams) {
    choices.forEach((c, i) => streams![i].end(c.text, c.finish));
    if ((body.stream_options as { include_usage?: boolean } | undefined)?.include_usage) res.write(`data: ${JSON.stringify({ ...head, choices: [], usage })}\n\n`);
    res.end('data: [DONE]\n\n');
    return;
  }
  sendJson(res, 200, {
    ...head,
    choices: choices.map((c) => (chat
      ? { index: c.index, ...chatReply(c.text, c.finish, { toolParser, forced, oneCall: body.parallel_tool_calls === false, reasoning }), logprobs: c.logprobs ? logprobsJson(c.logprobs, true, 0, tokenizer) : null }
      : { index: c.index, text: c.echoed + c.text, logprobs: c.logprobs ? logprobsJson([...c.promptScores ?? [], ...c.logprobs.map((t) => ({ ...t, start: t.start + c.echoed.length }))], false, 0, tokenizer) : null, finish_reason: c.finish })),
    usage,
  });
}

/** Whether the tokenizer has <think> or </think> as a special token (a plain decode would leave it out of the reply); read once per tokenizer. */
function thinkTagsAreSpecial(tokenizer: GPT2Tokenizer): boolean {
  let special = specialThinkTags.get(tokenizer);
  if (special === undefined) {
    special = ['<think>', '</think>'].some((tag) => {
      const ids = tokenizer.encode(tag);
      return ids.length === 1 && tokenizer.specialIds.has(ids[0]);
    });
    specialThinkTags.set(tokenizer, special);
  }
  return special;
}
const specialThinkTags = new WeakMap<GPT2Tokenizer, boolean>();

/**
 * How a chat reply is read: its tool calls (tool_choice auto, by the parser; the first only:
 * parallel_tool_calls false), the calls it was held to (required, a named function), its reasoning.
 */
export interface ReplyReading {
  toolParser?: ToolCallParser;
  forced?: ForcedCalls;
  oneCall?: boolean;
  reasoning?: ReasoningReader;
}

/** tool_choice "required" or a named function: the reply held to the calls (vLLM's schemas for them), then read out as them. */
export interface ForcedCalls {
  grammar: JsonGrammar;
  /** the named function (the reply is its arguments); none: "required" (the reply is a list of calls) */
  name?: string;
}

/**
 * One choice streamed: its text as it settles (held back where a stop string may be beginning,
 * and, when tool calls are read, where a call may be beginning), each piece with the
 * log-probabilities of the tokens that begin in it; with a reasoning parser, the reasoning in
 * reasoning deltas first; at the end, the rest of them, the calls, and the finish reason.
 */
class ChoiceStream {
  private readonly shown: ReturnType<typeof textStream>;
  private settled = ''; // (the reply's text that no stop string will take back)
  private reasoningSent = 0; // (characters of its reasoning sent)
  private contentSent = 0; // (characters of its answer sent)
  private sent = 0; // (its tokens whose log-probabilities went with them)

  constructor(private readonly send: (choice: Record<string, unknown>) => void, private readonly chat: boolean, stops: string[] | undefined,
    private readonly tokenizer: GPT2Tokenizer, private readonly scores: (() => TokenLogprob[]) | undefined, private readonly offset: number,
    decodeAs: { skipSpecialTokens?: boolean }, private readonly reading: ReplyReading = {}) {
    this.shown = textStream((t) => tokenizer.decode(t, decodeAs), stops, (piece) => {
      this.settled += piece;
      this.sendSettled();
    }, false);
  }

  add(token: number): void {
    this.shown.add(token);
  }

  end(text: string, finish: string): void {
    this.shown.end(text);
    const { message, finish_reason } = chatReply(text, finish, this.reading);
    if (message.reasoning) this.sendReasoning(message.reasoning, message.reasoning.length);
    this.sendContent(message.content ?? '', (message.content ?? '').length, text.length);
    // (each call whole in one delta: a client joins the deltas of a call by its index)
    message.tool_calls?.forEach((call, index) => this.send({ delta: { tool_calls: [{ index, ...call }] } }));
    this.send({ ...(this.chat ? { delta: {} } : { text: '' }), ...this.logprobs(text.length), finish_reason });
  }

  /** Sends what of the settled text is sure: the reasoning, then the answer (up to where a tool call may begin). */
  private sendSettled(): void {
    let answerFrom = 0;
    const { reasoning } = this.reading;
    if (reasoning) {
      const split = streamedReasoning(reasoning, this.settled);
      if (reasoning.included) this.sendReasoning(this.settled.slice(split.reasoningFrom, split.reasoningTo), split.reasoningTo - split.reasoningFrom, split.reasoningTo);
      if (split.answerFrom === undefined) return;
      answerFrom = split.answerFrom;
    }
    if (this.reading.forced) return; // (the answer is the calls' JSON: they go out whole at the end)
    const answer = this.settled.slice(answerFrom);
    const upTo = this.reading.toolParser ? textBeforeToolCalls(this.reading.toolParser, answer) : answer.length;
    this.sendContent(answer, upTo, answerFrom + upTo);
  }

  /** Sends the reasoning up to `upTo` characters, what is not sent yet, with the logprobs of the tokens before `at` characters of the reply. */
  private sendReasoning(reasoning: string, upTo: number, at?: number): void {
    if (upTo <= this.reasoningSent) return;
    const piece = reasoning.slice(this.reasoningSent, upTo);
    this.reasoningSent = upTo;
    // (vLLM's field, and the name DeepSeek's API and older vLLM give it)
    this.send({ delta: { reasoning: piece, reasoning_content: piece }, ...(at === undefined ? {} : this.logprobs(at)) });
  }

  /** Sends the answer up to `upTo` characters, what is not sent yet, with the logprobs of the tokens before `at` characters of the reply. */
  private sendContent(answer: string, upTo: number, at: number): void {
    if (upTo <= this.contentSent) return;
    const piece = answer.slice(this.contentSent, upTo);
    this.contentSent = upTo;
    this.send({ ...(this.chat ? { delta: { content: piece } } : { text: piece }), ...this.logprobs(at) });
  }

  /** { logprobs } of the tokens not yet sent that begin before `chars` characters of the reply (none: {}) */
  private logprobs(chars: number): { logprobs?: Record<string, unknown> } {
    const row = this.scores?.() ?? [], from = this.sent;
    while (this.sent < row.length && row[this.sent].start < chars) this.sent++;
    return this.sent > from ? { logprobs: logprobsJson(row.slice(from, this.sent), this.chat, this.offset, this.tokenizer) } : {};
  }
}

type ToolCallJson = { id: string; type: 'function'; function: { name: string; arguments: string } };
const toolCallJson = (c: { name: string; arguments: string }): ToolCallJson => ({ id: `chatcmpl-tool-${randomUUID().replace(/-/g, '')}`, type: 'function', function: c });

/**
 * A reply held to calls, as vLLM answers it: a named function's arguments (the reply) in one call,
 * finish_reason as it came; "required"'s list of calls, each with its parameters as arguments,
 * finish_reason 'tool_calls'; the content empty. A reply cut short (max_tokens) is text.
 */
function forcedReply(text: string, finish: string, forced: ForcedCalls, fields: Record<string, unknown>): ReturnType<typeof chatReply> {
  const calls = forced.name !== undefined ? (finish === 'stop' ? [{ name: forced.name, arguments: text }] : null) : requiredToolCalls(text);
  if (!calls) return { message: { role: 'assistant', content: text, ...fields }, finish_reason: finish };
  return { message: { role: 'assistant', content: '', ...fields, tool_calls: calls.map(toolCallJson) }, finish_reason: forced.name !== undefined ? finish : 'tool_calls' };
}

/**
 * A chat reply as OpenAI's message: its text, or, where the reply's tool calls are read
 * (tool_choice auto) and it has some, the text before them (null if none) and the calls, ended
 * 'tool_calls' (vLLM's). parallel_tool_calls false keeps the first call. With a reasoning parser,
 * the reasoning goes to `reasoning` (and `reasoning_content`) and the calls are read in the answer
 * after it, as vLLM's serving does.
 */
export function chatReply(text: string, finish: string, reading: ReplyReading): {
  message: { role: 'assistant'; content: string | null; reasoning?: string | null; reasoning_content?: string | null; tool_calls?: ToolCallJson[] }; finish_reason: string;
} {
  const split = reading.reasoning ? extractReasoning(reading.reasoning, text) : { reasoning: null, content: text };
  const reasoning = split.reasoning !== null && reading.reasoning?.included ? split.reasoning : null;
  const fields = reading.reasoning ? { reasoning, reasoning_content: reasoning } : {};
  if (reading.forced) return forcedReply(split.content ?? '', finish, reading.forced, fields);
  const read = reading.toolParser ? extractToolCalls(reading.toolParser, split.content ?? '') : undefined;
  // (not calls: the answer, as the tool parser gave it back where it gave some)
  if (!read?.toolsCalled) return { message: { role: 'assistant', content: read?.content || split.content, ...fields }, finish_reason: finish };
  const calls = reading.oneCall ? read.calls.slice(0, 1) : read.calls;
  return {
    message: { role: 'assistant', content: read.content, ...fields, tool_calls: calls.map(toolCallJson) },
    finish_reason: 'tool_calls',
  };
}

/**
 * OpenAI's sampling fields as GenerateOptions over the model's generation config: temperature 0
 * is greedy and > 0 samples (left out: the model's generation config decides, greedy for GPT-2);
 * max_tokens (default 16 for completions, as OpenAI's; 256 for chat); stop (up to 4 strings);
 * seed; n; top_p; frequency_penalty and presence_penalty (-2 .. 2; the new tokens counted, as
 * vLLM's); logit_bias; and, as vLLM and transformers serve take them, top_k, min_p,
 * repetition_penalty, min_tokens, stop_token_ids, ignore_eos.
 */
function generationOptions(body: Record<string, unknown>, chat: boolean, model: GPT2LMHeadModel): GenerateOptions {
  const num = (key: string, ok: (v: number) => boolean, what: string): number | undefined => {
    const v = body[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !ok(v)) throw new RequestError(`${key} must be ${what}, got ${JSON.stringify(v)}`);
    return v;
  };
  const int = (v: number) => Number.isInteger(v);
  const maxTokens = num(chat && body.max_completion_tokens !== undefined ? 'max_completion_tokens' : 'max_tokens', (v) => int(v) && v >= 1, 'an integer >= 1');
  const temperature = num('temperature', (v) => v >= 0 && v <= 2, 'a number in [0, 2]');
  const n = num('n', (v) => int(v) && v >= 1 && v <= 128, 'an integer in [1, 128]');
  if (body.best_of !== undefined && body.best_of !== null && body.best_of !== 1) throw new RequestError('best_of is not supported (only 1)');
  if (body.suffix !== undefined && body.suffix !== null) throw new RequestError('suffix is not supported: GPT-2 continues text, it does not fill it in');
  for (const k of ['stream', 'echo']) if (body[k] !== undefined && typeof body[k] !== 'boolean') throw new RequestError(`${k} must be true or false`);
  const stop = body.stop === undefined || body.stop === null ? undefined : typeof body.stop === 'string' ? [body.stop] : body.stop;
  if (stop !== undefined && !(Array.isArray(stop) && stop.length <= 4 && stop.every((s) => typeof s === 'string' && s.length > 0))) throw new RequestError('stop must be a non-empty string or a list of up to 4 of them');
  const V = model.config.vocab_size;
  const isToken = (t: unknown) => Number.isInteger(t) && (t as number) >= 0 && (t as number) < V;
  // logit_bias (OpenAI's): { "token id": bias in [-100, 100] }, added to the token's logit each step (HF's one-token sequence_bias)
  let logitBias: [number[], number][] | undefined;
  if (body.logit_bias !== undefined && body.logit_bias !== null) {
    if (typeof body.logit_bias !== 'object' || Array.isArray(body.logit_bias)) throw new RequestError('logit_bias must be an object of token ids and biases, as {"50256": -100}');
    logitBias = Object.entries(body.logit_bias as Record<string, unknown>).map(([k, b]) => {
      if (!/^\d+$/.test(k) || !isToken(Number(k))) throw new RequestError(`logit_bias: ${JSON.stringify(k)} is not a token id of this model (0 .. ${V - 1})`);
      if (typeof b !== 'number' || !(b >= -100 && b <= 100)) throw new RequestError(`logit_bias: the bias of token ${k} must be a number in [-100, 100], got ${JSON.stringify(b)}`);
      return [[Number(k)], b];
    });
  }
  // vLLM's stop_token_ids (more end tokens) and ignore_eos (not the model's own)
  const stopIds = body.stop_token_ids ?? [];
  if (!(Array.isArray(stopIds) && stopIds.every(isToken))) throw new RequestError(`stop_token_ids must be a list of token ids of this model (0 .. ${V - 1})`);
  if (body.ignore_eos !== undefined && body.ignore_eos !== null && typeof body.ignore_eos !== 'boolean') throw new RequestError('ignore_eos must be true or false');
  const own = model.generationConfig.eosTokenId === undefined ? model.config.eos_token_id : model.generationConfig.eosTokenId;
  const ends = [...new Set([...(body.ignore_eos === true ? [] : eosList(own)), ...(stopIds as number[])])];
  const sampling = temperature === undefined ? undefined : temperature > 0;
  if ((n ?? 1) > 1 && !(sampling ?? model.generationConfig.doSample)) {
    throw new RequestError(`n > 1 needs sampling: a temperature > 0${sampling === undefined ? ' (left out, this model\'s generation config decodes greedily)' : ''}`);
  }
  // (what is left out here, generate takes from the model's generation config)
  return {
    maxNewTokens: maxTokens ?? (chat ? 256 : 16),
    ...(sampling === undefined ? {} : sampling ? { doSample: true, temperature } : { doSample: false }),
    topP: num('top_p', (v) => v > 0 && v <= 1, 'a number in (0, 1]'),
    topK: num('top_k', (v) => int(v) && v >= 0, 'an integer >= 0'),
    minP: num('min_p', (v) => v >= 0 && v <= 1, 'a number in [0, 1]'),
    repetitionPenalty: num('repetition_penalty', (v) => v > 0, 'a number > 0'),
    frequencyPenalty: num('frequency_penalty', (v) => v >= -2 && v <= 2, 'a number in [-2, 2]'),
    presencePenalty: num('presence_penalty', (v) => v >= -2 && v <= 2, 'a number in [-2, 2]'),
    seed: num('seed', Number.isSafeInteger, 'an integer within ±(2**53 - 1)'), // (negative ones wrap, as torch.manual_seed's)
    minNewTokens: num('min_tokens', (v) => int(v) && v >= 0, 'an integer >= 0'),
    sequenceBias: logitBias && [...model.generationConfig.sequenceBias ?? [], ...logitBias],
    eosTokenId: ends.length ? ends : null,
    numReturnSequences: n,
    stopStrings: (stop as string[] | undefined) ?? model.generationConfig.stopStrings,
    numBeams: 1, // (sampling or greedy, as OpenAI's)
  };
}

/** What a reply is held to: JSON a schema accepts, what a pattern (or a list of choices) matches, what a grammar derives, or what a structural tag accepts; `what` names the request's field. */
type Grammar = JsonGrammar | RegexGrammar | EbnfGrammar | StructuralTag;
interface Held { grammar: Grammar; what: string }

/**
 * What a response_format asks for: {"type": "json_object"} any object; {"type": "json_schema",
 * "json_schema": {"name": ..., "schema": {...}}} an object the schema accepts; {"type":
 * "structural_tag", "format": {...}} (or the older "structures" and "triggers") what the structural
 * tag accepts; {"type": "text"} (or none) the plain reply: undefined.
 */
function formatAsked(body: Record<string, unknown>): JsonGrammar | StructuralTag | undefined {
  const format = body.response_format;
  if (format === undefined || format === null) return undefined;
  const type = isJsonObject(format) ? format.type : undefined;
  if (type === 'text') return undefined;
  if (type === 'json_object') return JsonGrammar.object();
  if (type === 'structural_tag') return structuralTag(format, 'response_format structural_tag');
  if (type !== 'json_schema') throw new RequestError(`response_format must be {"type": "json_object"}, {"type": "json_schema", "json_schema": {"name": ..., "schema": {...}}}, {"type": "structural_tag", "format": {...}} or {"type": "text"}, got ${JSON.stringify(format)}`);
  const spec = (format as Record<string, unknown>).json_schema;
  const schema = isJsonObject(spec) ? spec.schema : undefined;
  if (!isJsonObject(schema)) throw new RequestError('response_format json_schema needs "json_schema": {"name": ..., "schema": {...}} (the schema, a JSON Schema object)');
  return schemaGrammar(schema, 'response_format json_schema');
}

const STRUCTURED_KINDS = ['json', 'regex', 'choice', 'json_object', 'grammar', 'structural_tag'];
const STRUCTURED_OPTIONS = ['disable_any_whitespace', 'disable_additional_properties', 'whitespace_pattern', 'disable_fallback'];

/**
 * What the request holds its replies to: response_format's JSON, or vLLM's structured outputs: json
 * (a JSON Schema, or its text; any JSON value at the root), regex (the whole reply
 * matches, as Python's re.fullmatch), choice (exactly one of the strings), grammar (what its root
 * rule derives: EBNF as xgrammar reads it), structural_tag (xgrammar's: a JSON object or its text),
 * json_object. Options that would change the language held to are refused.
 */
function heldAsked(body: Record<string, unknown>): Held | undefined {
  const fromFormat = formatAsked(body);
  const guided = GUIDED_KEYS.filter((k) => body[k] !== undefined && body[k] !== null);
  const structured = body.structured_outputs;
  if (structured !== undefined && structured !== null && !isJsonObject(structured)) throw new RequestError('structured_outputs must be an object with one of json, regex, choice, grammar, structural_tag or json_object');
  let spec: Record<string, unknown> = {};
  let field: string;
  if (structured !== undefined && structured !== null) {
    if (guided.length) throw new RequestError(`structured_outputs and ${guided.join(', ')} do not go together: give the constraint in structured_outputs`);
    const unknown = Object.keys(structured as object).filter((k) => !STRUCTURED_KINDS.includes(k) && !STRUCTURED_OPTIONS.includes(k));
    if (unknown.length) throw new RequestError(`unknown structured_outputs fields: ${unknown.join(', ')} (json, regex, choice, grammar, structural_tag or json_object are served)`);
    spec = structured as Record<string, unknown>;
    field = 'structured_outputs';
  } else {
    // (guided_decoding_backend picks vLLM's engine: here there is one, read past)
    for (const k of guided) if (k !== 'guided_decoding_backend') spec[k === 'guided_whitespace_pattern' ? 'whitespace_pattern' : k.slice('guided_'.length)] = body[k];
    if (body.guided_decoding_backend !== undefined && body.guided_decoding_backend !== null && typeof body.guided_decoding_backend !== 'string') throw new RequestError('guided_decoding_backend must be a string');
    field = 'guided';
  }
  const kinds = STRUCTURED_KINDS.filter((k) => spec[k] !== undefined && spec[k] !== null && !(k === 'json_object' && spec[k] === false));
  const name = (kind: string) => (field === 'guided' ? `guided_${kind}` : `structured_outputs ${kind}`);
  if (!kinds.length) {
    if (field === 'structured_outputs' || Object.keys(spec).length) throw new RequestError(`${field === 'guided' ? Object.keys(spec).map((k) => `guided_${k}`).join(', ') + ' alone holds' : 'structured_outputs holds'} no reply to anything: give one of json, regex, choice, grammar, structural_tag or json_object`);
    return fromFormat && { grammar: fromFormat, what: 'response_format' };
  }
  if (kinds.length > 1) throw new RequestError(`only one kind of structured output at a time, got ${kinds.map(name).join(' and ')}`);
  if (fromFormat) throw new RequestError(`response_format and ${name(kinds[0])} do not go together: give one of them`);
  // (options that change the language: refused, never read past; their defaults are what is served)
  if (spec.whitespace_pattern !== undefined && spec.whitespace_pattern !== null) throw new RequestError(`${field === 'guided' ? 'guided_whitespace_pattern' : 'structured_outputs whitespace_pattern'} is not served: whitespace between JSON's parts is held to a run of up to 64 bytes with one line break`);
  for (const option of ['disable_any_whitespace', 'disable_additional_properties', 'disable_fallback']) {
    if (spec[option] !== undefined && spec[option] !== null && typeof spec[option] !== 'boolean') throw new RequestError(`structured_outputs ${option} must be true or false`);
  }
  // (JSON written without whitespace between its parts; objects without keys they do not list: vLLM's options for json)
  const compact = spec.disable_any_whitespace === true, noAdditional = spec.disable_additional_properties === true;
  const kind = kinds[0], value = spec[kind];
  switch (kind) {
    case 'json': {
      const schema = jsonOrText(value, name('json'), 'a JSON Schema\'s JSON text');
      if (!isJsonObject(schema) && schema !== true) throw new RequestError(`${name('json')} must be a JSON Schema (an object, or its JSON text)`);
      return { grammar: schemaGrammar(schema, name('json'), { anyRoot: true, compact, noAdditional }), what: name('json') };
    }
    case 'json_object':
      if (value !== true) throw new RequestError(`${name('json_object')} must be true`);
      return { grammar: JsonGrammar.object({ compact }), what: name('json_object') };
    case 'regex':
      if (typeof value !== 'string') throw new RequestError(`${name('regex')} must be a string (a regular expression)`);
      return { grammar: compiled(`r${value}`, () => RegexGrammar.fromPattern(value), name('regex')), what: name('regex') };
    case 'choice':
      if (!Array.isArray(value) || !value.length || value.some((c) => typeof c !== 'string')) throw new RequestError(`${name('choice')} must be a non-empty list of strings`);
      return { grammar: compiled(`c${JSON.stringify(value)}`, () => RegexGrammar.choice(value as string[]), name('choice')), what: name('choice') };
    case 'grammar':
      if (typeof value !== 'string') throw new RequestError(`${name('grammar')} must be a string (a grammar in EBNF: root ::= ..., as xgrammar takes it)`);
      return { grammar: compiled(`g${value}`, () => EbnfGrammar.fromText(value), name('grammar')), what: name('grammar') };
    case 'structural_tag': {
      // (vLLM takes it as JSON text; an object is read the same)
      const spec = jsonOrText(value, name('structural_tag'), 'a structural tag\'s JSON text ({"type": "structural_tag", "format": {...}})');
      return { grammar: structuralTag(spec, name('structural_tag')), what: name('structural_tag') };
    }
    default:
      throw new RequestError(`${name(kind)} is not served (a reply can be held to json, regex, choice, grammar, structural_tag or json_object here)`);
  }
}

/** A value given as itself or as its JSON text (vLLM takes both); text that is not JSON is the request's error. */
function jsonOrText(value: unknown, what: string, text: string): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    throw new RequestError(`${what}: a string must be ${text}`);
  }
}

/** A structural tag compiled (or the same one compiled for an earlier request). */
function structuralTag(spec: unknown, what: string): StructuralTag {
  if (!isJsonObject(spec)) throw new RequestError(`${what} must be a structural tag: {"type": "structural_tag", "format": {...}}`);
  return compiled(`t${JSON.stringify(spec)}`, () => StructuralTag.fromSpec(spec), what);
}

/** Grammars compiled for earlier requests (a client sends the same schema or pattern again and again), by kind and text, the newest last. */
const compiledGrammars = new Map<string, Grammar>();

/** The grammar compiled for `key` (or the one compiled for an earlier request); what it cannot hold a reply to is the request's error, said as `what`'s. */
function compiled<G extends Grammar>(key: string, compile: () => G, what: string): G {
  let grammar = compiledGrammars.get(key) as G | undefined;
  if (!grammar) {
    try {
      grammar = compile();
    } catch (e) {
      throw new RequestError(`${what}: ${(e as Error).message}`);
    }
  }
  compiledGrammars.delete(key);
  compiledGrammars.set(key, grammar);
  if (compiledGrammars.size > 64) compiledGrammars.delete(compiledGrammars.keys().next().value!);
  return grammar;
}

/** A schema compiled (or the same one compiled for an earlier request). */
function schemaGrammar(schema: unknown, what: string, opts: { anyRoot?: boolean; compact?: boolean; noAdditional?: boolean } = {}): JsonGrammar {
  const flags = [opts.anyRoot, opts.compact, opts.noAdditional].map((f) => (f ? 1 : 0)).join('');
  return compiled(`s${flags}${JSON.stringify(schema)}`, () => JsonGrammar.fromSchema(schema, opts), what);
}

/**
 * Holds each reply to what `held` accepts: at each step only the tokens that keep it the start of
 * such a reply, and an end token where it may end (vLLM's structured outputs, by a constraint on the
 * next token, HF's prefix_allowed_tokens_fn); `after`: from where the reply has written it.
 */
function holdReplies(options: GenerateOptions, tokenizer: GPT2Tokenizer, vocabSize: number, ends: readonly number[], held: Held, after?: string): void {
  if (!ends.length) throw new RequestError(`${held.what} needs an end token to stop at once the reply is whole: leave out ignore_eos (or give stop_token_ids)`);
  if (options.minNewTokens) throw new RequestError(`${held.what} and min_tokens do not go together: a whole reply may come before min_tokens, and then only its end may follow`);
  const allowedNext = tokenConstraint(tokenizer, vocabSize, [...ends], held.grammar.machine(), { after, what: `a reply ${held.what} accepts` });
  let promptLength: number | undefined; // (the rows' length at the first step: the reply follows it)
  options.prefixAllowedTokensFn = (_batchId, ids) => {
    try {
      return allowedNext(ids.slice(promptLength ??= ids.length));
    } catch (e) {
      // (what the language cannot hold once it is under way, a grammar too ambiguous: the request's, not the server's)
      throw new RequestError(`${held.what}: ${(e as Error).message}`);
    }
  };
}

/**
 * The log-probabilities asked for: how many of the likeliest tokens to list at each position (0:
 * the chosen token's alone), or undefined. Completions: logprobs N (OpenAI's legacy field); chat:
 * logprobs true with top_logprobs N.
 */
function logprobsAsked(body: Record<string, unknown>, chat: boolean): number | undefined {
  const count = (key: string): number | undefined => {
    const v = body[key];
    if (v === undefined || v === null) return undefined;
    if (!(Number.isInteger(v) && (v as number) >= 0 && (v as number) <= MAX_LOGPROBS)) throw new RequestError(`${key} must be an integer in [0, ${MAX_LOGPROBS}] (the likeliest tokens listed at each position), got ${JSON.stringify(v)}`);
    return v as number;
  };
  if (!chat) return count('logprobs');
  if (body.logprobs !== undefined && body.logprobs !== null && typeof body.logprobs !== 'boolean') throw new RequestError('logprobs must be true or false (top_logprobs N lists the likeliest tokens)');
  const n = count('top_logprobs');
  if (body.logprobs !== true) {
    if (n !== undefined) throw new RequestError('top_logprobs needs logprobs: true');
    return undefined;
  }
  return n ?? 0;
}

const MAX_LOGPROBS = 20; // (vLLM's default max_logprobs; OpenAI's chat takes 20)

/** A token's log-probability where it stands, the likeliest tokens there (top), and where its text starts in the reply. */
interface TokenLogprob {
  token: number;
  logprob: number | null; // (null: a prompt's first token, which nothing predicts)
  top: [number, number][] | null;
  start: number;
}

/**
 * The generated tokens' log-probabilities as generation goes, by row: the model's own (the raw
 * logits, before temperature, penalties or top-k/top-p, as vLLM reports them), the likeliest
 * `top` tokens with each. onLogits keeps the step's log-softmax until onToken reads the chosen
 * tokens' from it.
 */
class StepLogprobs {
  readonly rows: TokenLogprob[][] = [];
  private step?: Tensor;
  private tops?: [number, number][][];
  private texts: number[][] = [];

  constructor(private readonly top: number, private readonly tokenizer: GPT2Tokenizer, private readonly decodeAs: { skipSpecialTokens?: boolean } = plain) {}

  onLogits = (logits: Tensor): void => {
    this.dispose();
    const lp = F.logSoftmax(logits.float(), -1);
    this.step = keep(lp);
    if (this.top > 0) this.tops = topList(lp, this.top);
  };

  onToken(tokens: number[]): void {
    const chosen = tidy(() => this.step!.gather(1, tensor(tokens, { dtype: 'int64', device: this.step!.device }).unsqueeze(1)).squeeze(1).tolist() as number[]);
    tokens.forEach((token, r) => {
      const row = (this.rows[r] ??= []), text = (this.texts[r] ??= []);
      row.push({ token, logprob: chosen[r], top: this.top > 0 ? this.tops![r] : [], start: this.tokenizer.decode(text, this.decodeAs).length });
      text.push(token);
    });
    this.dispose();
  }

  dispose(): void {
    this.step?.dispose();
    this.step = undefined;
  }
}

/** Each row's likeliest k tokens and their log-probabilities, likeliest first. */
function topList(logprobs: Tensor, k: number): [number, number][][] {
  const { values, indices } = logprobs.topk(Math.min(k, logprobs.shape[1]), 1);
  const v = values.tolist() as number[][], ids = indices.tolist() as number[][];
  return ids.map((row, r) => row.map((t, j) => [t, v[r][j]]));
}

/** echo's log-probabilities: each prompt token's after those before it (one forward pass), the first's null. */
function promptLogprobs(model: GPT2LMHeadModel, prompt: number[], top: number, tokenizer: GPT2Tokenizer, precision: ServeContext['autocast']): TokenLogprob[] {
  const scores = tidy(() => noGrad(() => {
    const ids = tensor([prompt], { dtype: 'int64', device: model.transformer.wte.weight.device });
    const forward = () => model.forward(ids).logits;
    const lp = F.logSoftmax((precision ? autocast(forward, precision) : forward()).squeeze(0).narrow(0, 0, prompt.length - 1).float(), -1);
    const next = tensor(prompt.slice(1), { dtype: 'int64', device: lp.device }).unsqueeze(1);
    return { chosen: lp.gather(1, next).squeeze(1).tolist() as number[], tops: top > 0 ? topList(lp, top) : null };
  }));
  return prompt.map((token, j) => ({
    token, logprob: j ? scores.chosen[j - 1] : null, top: j ? scores.tops?.[j - 1] ?? [] : null, start: tokenizer.decode(prompt.slice(0, j), plain).length,
  }));
}

/** A token as OpenAI's logprobs spell it: its text, or 'bytes:\\xNN...' when its bytes are not whole UTF-8 characters. */
function tokenText(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return `bytes:${Array.from(bytes, (b) => `\\x${b.toString(16).padStart(2, '0')}`).join('')}`;
  }
}

/**
 * Log-probabilities in OpenAI's shape: chat's { content: [{ token, logprob, bytes, top_logprobs }] },
 * or the completions' { tokens, token_logprobs, top_logprobs (likeliest first, the chosen token
 * with them), text_offset } (offsets counted after `offset` characters of echoed prompt).
 */
function logprobsJson(list: TokenLogprob[], chat: boolean, offset: number, tokenizer: GPT2Tokenizer): Record<string, unknown> {
  const entry = (id: number, logprob: number) => {
    const bytes = tokenizer.tokenBytes(id);
    return { token: tokenText(bytes), logprob, bytes: Array.from(bytes) };
  };
  if (chat) {
    return { content: list.map((t) => ({ ...entry(t.token, t.logprob!), top_logprobs: (t.top ?? []).map(([id, lp]) => entry(id, lp)) })) };
  }
  const text = (id: number) => tokenText(tokenizer.tokenBytes(id));
  return {
    tokens: list.map((t) => text(t.token)),
    token_logprobs: list.map((t) => t.logprob),
    top_logprobs: list.map((t) => (t.top === null ? null : new OrderedObject([...t.top, ...(t.top.some(([id]) => id === t.token) ? [] : [[t.token, t.logprob!]])].map(([id, lp]) => [text(id), lp])))),
    text_offset: list.map((t) => t.start + offset),
  };
}

/**
 * vLLM's POST /tokenize: { prompt } or { messages } (through the chat template as a chat
 * completion's: chatPrompt) as { tokens, count, max_model_len }.
 */
function tokenize(ctx: ServeContext, body: Record<string, unknown>): Record<string, unknown> {
  const unknown = Object.keys(body).filter((k) => !['model', 'prompt', 'messages', 'add_special_tokens', ...CHAT_TEMPLATE_KEYS].includes(k));
  if (unknown.length) throw new RequestError(`unknown request fields: ${unknown.join(', ')}`);
  const { tokenizer } = ctx;
  let tokens: number[];
  if (body.messages !== undefined) {
    if (!tokenizer.chatTemplate) throw new RequestError('this model\'s tokenizer has no chat template: start tstorch serve with --chat-template FILE (or chatml), or tokenize a prompt');
    tokens = tokenizer.encode(chatPrompt(ctx, body));
  } else if (typeof body.prompt === 'string') {
    tokens = tokenizer.encode(body.prompt); // (GPT-2 adds no special tokens)
  } else {
    throw new RequestError('/tokenize takes { prompt: string } or { messages: [...] }');
  }
  return { tokens, count: tokens.length, max_model_len: ctx.model.config.n_positions };
}

/** vLLM's POST /detokenize: { tokens } as { prompt }, the text they stand for. */
function detokenize(ctx: ServeContext, body: Record<string, unknown>): Record<string, unknown> {
  const unknown = Object.keys(body).filter((k) => !['model', 'tokens'].includes(k));
  if (unknown.length) throw new RequestError(`unknown request fields: ${unknown.join(', ')}`);
  const tokens = body.tokens;
  if (!(Array.isArray(tokens) && tokens.every((t) => Number.isInteger(t) && t >= 0 && t < ctx.model.config.vocab_size))) {
    throw new RequestError(`tokens must be a list of token ids of this model (0 .. ${ctx.model.config.vocab_size - 1})`);
  }
  return { prompt: ctx.tokenizer.decode(tokens as number[]) };
}

/** A completion's prompt: a string, a list of strings, a list of token ids, or a list of such lists. */
function completionPrompts(prompt: unknown, tokenizer: GPT2Tokenizer): number[][] {
  const isIds = (v: unknown): v is number[] => Array.isArray(v) && v.length > 0 && v.every((t) => Number.isInteger(t) && t >= 0);
  if (typeof prompt === 'string') return [tokenizer.encode(prompt)];
  if (isIds(prompt)) return [prompt];
  if (Array.isArray(prompt) && prompt.length > 0 && prompt.every((p) => typeof p === 'string' || isIds(p))) {
    return prompt.map((p) => (typeof p === 'string' ? tokenizer.encode(p) : p));
  }
  throw new RequestError('prompt must be a string, a list of strings, or token ids');
}

/**
 * How a chat request's reply is read for tool calls, as vLLM's: tool_choice is 'auto' where tools
 * are given (a non-empty list) and 'none' where not; 'auto' reads the calls the model writes with
 * --tool-call-parser (it needs --enable-auto-tool-choice); 'none' puts the tools in the prompt and
 * leaves the reply text; 'required' and a named function hold the reply to calls (vLLM's schemas:
 * a list of {"name", "parameters"}, or the function's parameters).
 */
function toolChoiceOf(ctx: ServeContext, body: Record<string, unknown>): { parser?: ToolCallParser; forced?: ForcedCalls } {
  const tools = body.tools === null ? undefined : body.tools;
  const given = body.tool_choice === null ? undefined : body.tool_choice;
  if (given !== undefined && given !== 'none' && tools === undefined) throw new RequestError('When using `tool_choice`, `tools` must be set.');
  if (body.parallel_tool_calls !== undefined && body.parallel_tool_calls !== null && typeof body.parallel_tool_calls !== 'boolean') throw new RequestError('parallel_tool_calls must be true or false');
  const someTools = Array.isArray(tools) && tools.length > 0;
  const choice = given ?? (someTools ? 'auto' : 'none');
  if (choice === 'none') return {};
  if (choice === 'auto') {
    if (!ctx.autoToolChoice || !ctx.toolCallParser) {
      throw new RequestError('"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set (tstorch serve --enable-auto-tool-choice --tool-call-parser hermes); or send tool_choice "none": the tools go into the prompt and the reply stays text');
    }
    return someTools ? { parser: ctx.toolCallParser } : {}; // (no tools, nothing to call: the reply is text, as vLLM's)
  }
  const functions = (requestTools(tools) ?? []).map((t) => t.function as { name: string; parameters?: Record<string, unknown> });
  if (choice === 'required') {
    if (!functions.length) throw new RequestError('tool_choice "required" needs tools to call');
    // (vLLM's schema: a list of calls, each a tool's name and its parameters; the tools' $defs shared)
    const defs: Record<string, unknown> = {};
    const calls = functions.map((f) => {
      const { $defs, ...parameters } = f.parameters ?? { type: 'object', properties: {} };
      for (const [name, def] of Object.entries(isJsonObject($defs) ? $defs : {})) {
        if (Object.hasOwn(defs, name) && JSON.stringify(defs[name]) !== JSON.stringify(def)) throw new RequestError(`Tool definition '${name}' has multiple schemas, which is not supported.`);
        defs[name] = def;
      }
      return { type: 'object', properties: { name: { type: 'string', enum: [f.name] }, parameters }, required: ['name', 'parameters'] };
    });
    const schema = { type: 'array', minItems: 1, ...(body.parallel_tool_calls === false ? { maxItems: 1 } : {}), items: { anyOf: calls }, ...(Object.keys(defs).length ? { $defs: defs } : {}) };
    return { forced: { grammar: schemaGrammar(schema, 'tool_choice "required": the tools\' parameters', { anyRoot: true }) } };
  }
  if (isJsonObject(choice) && choice.type === 'function') {
    const name = isJsonObject(choice.function) ? choice.function.name : undefined;
    if (typeof name !== 'string') throw new RequestError('a named tool_choice is {"type": "function", "function": {"name": ...}}');
    const f = functions.find((t) => t.name === name);
    if (!f) throw new RequestError(`Tool '${name}' has not been passed in \`tools\`.`);
    return { forced: { name, grammar: schemaGrammar(f.parameters ?? { type: 'object', properties: {} }, `the parameters of tool '${name}'`) } };
  }
  throw new RequestError(`tool_choice must be "none", "auto", "required" or {"type": "function", "function": {"name": ...}}, got ${JSON.stringify(choice)}`);
}

/** A request's tools as OpenAI's: [{ type: 'function', function: { name, description?, parameters? } }], given to the template as they are. */
function requestTools(tools: unknown): Record<string, unknown>[] | undefined {
  if (tools === undefined || tools === null) return undefined;
  if (!Array.isArray(tools)) throw new RequestError('tools must be a list of {"type": "function", "function": {"name": ..., "description": ..., "parameters": {...}}}');
  tools.forEach((t, i) => {
    const fn = isJsonObject(t) ? t.function : undefined;
    if (!isJsonObject(t) || t.type !== 'function' || !isJsonObject(fn) || typeof fn.name !== 'string' || !fn.name) {
      throw new RequestError(`tools[${i}] must be {"type": "function", "function": {"name": ..., "description": ..., "parameters": {...}}}`);
    }
    if (fn.parameters !== undefined && fn.parameters !== null && !isJsonObject(fn.parameters)) throw new RequestError(`tools[${i}].function.parameters must be a JSON Schema object`);
  });
  return tools;
}

/**
 * A chat request's prompt: its messages through the chat template, with vLLM's
 * add_generation_prompt (default true; false where continue_final_message), continue_final_message
 * and chat_template_kwargs. What the template refuses (roles that do not alternate ...) is the request's error (400).
 */
function chatPrompt(ctx: ServeContext, body: Record<string, unknown>): string {
  const kwargs = body.chat_template_kwargs;
  if (kwargs !== undefined && (kwargs === null || typeof kwargs !== 'object' || Array.isArray(kwargs))) throw new RequestError('chat_template_kwargs must be an object of template variables (e.g. {"enable_thinking": false})');
  for (const k of ['add_generation_prompt', 'continue_final_message']) if (body[k] !== undefined && typeof body[k] !== 'boolean') throw new RequestError(`${k} must be true or false`);
  const continueFinalMessage = body.continue_final_message === true;
  const addGenerationPrompt = body.add_generation_prompt === undefined ? !continueFinalMessage : body.add_generation_prompt === true;
  if (continueFinalMessage && addGenerationPrompt) throw new RequestError('continue_final_message and add_generation_prompt do not go together: continue the last message, or start the assistant\'s');
  const messages = chatMessages(body.messages);
  const tools = requestTools(body.tools);
  try {
    return ctx.tokenizer.applyChatTemplate(messages, { addGenerationPrompt, continueFinalMessage, tools, kwargs: kwargs as Record<string, unknown> | undefined });
  } catch (e) {
    throw new RequestError((e as Error).message);
  }
}

/**
 * OpenAI's messages: { role, content, ... } with content a string or a list of text parts (null
 * beside tool_calls); their other fields go to the template as they are, but for an assistant's
 * tool calls' arguments, a JSON string in OpenAI's API, which templates take as an object (vLLM
 * parses them so too).
 */
function chatMessages(messages: unknown): ChatMessage[] {
  if (!Array.isArray(messages) || !messages.length) throw new RequestError('messages must be a non-empty list of { role, content }');
  return messages.map((given, i) => {
    if (given === null || typeof given !== 'object' || Array.isArray(given)) throw new RequestError(`messages[${i}] must be an object { role, content }`);
    const m = withReasoningContent(withParsedArguments(given as Record<string, unknown>, i));
    const { role, content } = m as { role?: unknown; content?: unknown };
    if (typeof role !== 'string') throw new RequestError(`messages[${i}] needs a role`);
    if (typeof content === 'string') return { ...m, role, content };
    if (Array.isArray(content) && content.every((p) => p && p.type === 'text' && typeof p.text === 'string')) return { ...m, role, content: content.map((p) => p.text).join('') };
    // (no content beside calls, or a reply cut short while thinking sent back with its reasoning)
    if ((content === null || content === undefined) && ['tool_calls', 'reasoning', 'reasoning_content'].some((k) => k in given)) return { ...m, role, content: null };
    throw new RequestError(`messages[${i}].content must be a string or a list of { type: 'text', text } parts`);
  });
}

/**
 * An assistant message's `reasoning` (the field replies carry) given to the template as
 * `reasoning_content` too, the name templates read (Qwen3's), as vLLM does.
 */
function withReasoningContent(m: Record<string, unknown>): Record<string, unknown> {
  return m.role === 'assistant' && typeof m.reasoning === 'string' ? { ...m, reasoning_content: m.reasoning } : m;
}

/** An assistant message whose tool calls' arguments are JSON strings, with them parsed (an empty or missing one: {}); an empty list of calls left out (vLLM's). */
function withParsedArguments(m: Record<string, unknown>, i: number): Record<string, unknown> {
  if (m.role !== 'assistant' || !Array.isArray(m.tool_calls)) return m;
  if (!m.tool_calls.length) {
    const { tool_calls: _none, ...rest } = m;
    return rest;
  }
  const toolCalls = m.tool_calls.map((call, j) => {
    if (!isJsonObject(call) || !isJsonObject(call.function)) throw new RequestError(`messages[${i}].tool_calls[${j}] must be {"id": ..., "type": "function", "function": {"name": ..., "arguments": "..."}}`);
    const args = call.function.arguments;
    if (typeof args === 'object' && args !== null) return call;
    let parsed: unknown = {};
    if (args !== undefined && args !== null && args !== '') {
      try {
        parsed = pythonJsonLoads(String(args)); // (as vLLM's json.loads: 2.0 stays a float for the template)
      } catch (e) {
        throw new RequestError(`messages[${i}].tool_calls[${j}].function.arguments is not JSON (${(e as Error).message}): send the arguments as the reply gave them, a JSON string`);
      }
    }
    return { ...call, function: { ...call.function, arguments: parsed } };
  });
  return { ...m, tool_calls: toolCalls };
}

/** Whether an Authorization header carries the key (compared in constant time). */
function keyMatches(header: string | undefined, key: string): boolean {
  const given = /^Bearer (.+)$/i.exec(header ?? '')?.[1] ?? '';
  const digest = (v: string) => createHash('sha256').update(v).digest();
  return timingSafeEqual(digest(given), digest(key));
}

const MAX_BODY = 16 << 20;

async function readJson(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new RequestError(`the request body is over ${MAX_BODY >> 20} MB`, 413);
    chunks.push(chunk as Buffer);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (e) {
    throw new RequestError(`the request body is not JSON: ${(e as Error).message}`);
  }
  if (!isJsonObject(body)) throw new RequestError('the request body must be a JSON object');
  return body as Record<string, unknown>;
}

/**
 * A JSON object whose keys keep their order (a JS object puts keys that look like integers first:
 * completions' top_logprobs must list the likeliest token first whatever its text, as vLLM's).
 */
class OrderedObject {
  constructor(readonly entries: [string, unknown][]) {}
}

/** JSON.stringify's text, but for OrderedObjects' keys in their order. */
function toJson(value: unknown): string {
  if (value instanceof OrderedObject) return `{${value.entries.map(([k, v]) => `${JSON.stringify(k)}:${toJson(v)}`).join(',')}}`;
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : toJson(v))).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => `${JSON.stringify(k)}:${toJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function sendJson(res: http.ServerResponse, status: number, value: unknown): void {
  const text = toJson(value);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}
