// tstorch serve: the model behind an OpenAI-compatible HTTP API, as `transformers serve` puts
// one: POST /v1/completions and /v1/chat/completions (stream: true sends server-sent events), GET
// /v1/models. Each request runs as generateAsync, so requests are served together, a step of
// each in turn, and a client that goes away stops its own generation.
import * as http from 'http';
import { randomUUID } from 'crypto';
import { Spec } from '../args';
import { loadModelFromFlags, sharedFlags, tokenizerFromFlags } from './common';
import { newTokens, plain, precisionAutocast, replyText, spec as generateSpec, textStream } from './generate';
import type { GPT2LMHeadModel } from '../../models/gpt2';
import type { GenerateOptions } from '../../models/generation';
import { CHATML_TEMPLATE, GPT2Tokenizer } from '../../models/tokenizer';
import type { ChatMessage } from '../../models/chat_template';

export const summary = 'serve the model over an OpenAI-compatible HTTP API (/v1/completions, /v1/chat/completions; streaming; requests served together)';
export const spec: Spec = {
  model: sharedFlags.model,
  revision: sharedFlags.revision,
  tokenizer: sharedFlags.tokenizer,
  adapter: sharedFlags.adapter,
  'chat-template': sharedFlags['chat-template'],
  host: { type: 'string', default: '127.0.0.1', help: 'the address to listen on (0.0.0.0: every interface)' },
  port: { type: 'int', default: 8000, help: 'the port to listen on (0: a free one; the address is printed)' },
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
}

export async function run(f: Record<string, unknown>): Promise<number> {
  if (f.bf16) f.precision = 'bf16';
  if (!['fp32', 'bf16'].includes(f.precision as string)) throw new Error(`--precision must be fp32 or bf16, got '${f.precision}'`);
  const port = f.port as number;
  if (!(Number.isInteger(port) && port >= 0 && port < 65536)) throw new Error(`--port must be a port number (0 .. 65535), got ${port}`);
  const tokenizer = tokenizerFromFlags(f);
  const model = await loadModelFromFlags(f);
  const ctx: ServeContext = { model, tokenizer, name: model.nameOrPath ?? String(f.model), autocast: precisionAutocast(f), cors: Boolean(f['enable-cors']) };
  const server = http.createServer(requestHandler(ctx));
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) => reject(new Error(e.code === 'EADDRINUSE' ? `--port ${port}: already in use (another server?); give another, or 0 for any free one` : e.message)));
      server.listen(port, f.host as string, resolve);
    });
    const { address, port: bound } = server.address() as { address: string; port: number };
    console.error(`tstorch serve: ${ctx.name} at http://${address.includes(':') ? `[${address}]` : address}:${bound}/v1 (Ctrl-C stops)`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  } finally {
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
  return (req, res) => {
    if (ctx.cors) {
      res.setHeader('Access-Control-Allow-Origin', '*');
      if (req.method === 'OPTIONS') { // (a browser's preflight)
        res.writeHead(204, { 'Access-Control-Allow-Methods': 'GET, POST, OPTIONS', 'Access-Control-Allow-Headers': 'Content-Type, Authorization', 'Access-Control-Max-Age': '86400' });
        res.end();
        return;
      }
    }
    route(ctx, req, res).catch((e: Error) => {
      if (res.headersSent) { // (a stream already begun: it ends with the error as its last event)
        if (!res.writableEnded) res.end(`data: ${JSON.stringify({ error: { message: e.message, type: 'server_error' } })}\n\ndata: [DONE]\n\n`);
        return;
      }
      const status = e instanceof RequestError ? e.status : 500;
      sendJson(res, status, { error: { message: e.message, type: status < 500 ? 'invalid_request_error' : 'server_error', param: null, code: null } });
    });
  };
}

async function route(ctx: ServeContext, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const { pathname } = new URL(req.url ?? '/', 'http://localhost');
  if (req.method === 'GET' && pathname === '/v1/models') {
    sendJson(res, 200, { object: 'list', data: [{ id: ctx.name, object: 'model', created: 0, owned_by: 'tstorch' }] });
    return;
  }
  if (req.method !== 'POST' || (pathname !== '/v1/completions' && pathname !== '/v1/chat/completions')) {
    throw new RequestError(`no ${req.method} ${pathname} here: POST /v1/completions or /v1/chat/completions, GET /v1/models`, 404);
  }
  const body = await readJson(req);
  await complete(ctx, body, pathname === '/v1/chat/completions', res);
}

const COMMON_KEYS = ['model', 'max_tokens', 'temperature', 'top_p', 'n', 'stop', 'seed', 'stream', 'presence_penalty', 'frequency_penalty', 'user', 'logprobs',
  'top_k', 'min_p', 'repetition_penalty', 'stream_options'];
const COMPLETION_KEYS = [...COMMON_KEYS, 'prompt', 'echo', 'suffix', 'best_of'];
const CHAT_KEYS = [...COMMON_KEYS, 'messages', 'max_completion_tokens', 'top_logprobs'];

/** A completion or a chat completion: the request read, generated, answered (or streamed). */
async function complete(ctx: ServeContext, body: Record<string, unknown>, chat: boolean, res: http.ServerResponse): Promise<void> {
  const unknown = Object.keys(body).filter((k) => !(chat ? CHAT_KEYS : COMPLETION_KEYS).includes(k));
  if (unknown.length) throw new RequestError(`unknown request fields: ${unknown.join(', ')}`);
  const { model, tokenizer } = ctx;
  const options = generationOptions(body, chat, model);
  const n = options.numReturnSequences ?? 1;
  const stream = body.stream === true;
  let prompts: number[][];
  if (chat) {
    if (!tokenizer.chatTemplate) throw new RequestError('this model\'s tokenizer has no chat template: start tstorch serve with --chat-template FILE (or chatml), or use /v1/completions');
    prompts = [tokenizer.encode(tokenizer.applyChatTemplate(chatMessages(body.messages), { addGenerationPrompt: true }))];
    // (a GPT-2 trained on ChatML writes <|im_end|> as text, not as its eos: the reply ends there)
    if (tokenizer.chatTemplate === CHATML_TEMPLATE && !options.stopStrings?.includes('<|im_end|>')) options.stopStrings = [...options.stopStrings ?? [], '<|im_end|>'];
  } else {
    prompts = completionPrompts(body.prompt, tokenizer);
  }
  for (const p of prompts) {
    if (!p.length) throw new RequestError('a prompt has no tokens');
    if (p.some((t) => t >= model.config.vocab_size)) throw new RequestError(`a prompt has tokens beyond the model's vocabulary (${model.config.vocab_size})`);
    if (p.length >= model.config.n_positions) throw new RequestError(`a prompt of ${p.length} tokens leaves no room in the model's context (${model.config.n_positions} tokens)`);
  }
  if (stream && (prompts.length > 1 || n > 1)) throw new RequestError('stream takes one prompt and n 1');
  const echo = !chat && body.echo === true;
  const stops = options.stopStrings;
  const eos = model.generationConfig.eosTokenId === undefined ? model.config.eos_token_id : model.generationConfig.eosTokenId;
  const id = `${chat ? 'chatcmpl' : 'cmpl'}-${randomUUID()}`, created = Math.floor(Date.now() / 1000);
  const head = { id, object: chat ? (stream ? 'chat.completion.chunk' : 'chat.completion') : 'text_completion', created, model: ctx.name };
  // A client gone before the end stops its generation (an AbortError, answered to no one).
  const controller = new AbortController();
  res.on('close', () => { if (!res.writableFinished) controller.abort(); });
  let write: ((piece: string) => void) | undefined;
  let shown: ReturnType<typeof textStream> | undefined;
  if (stream) {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
    const event = (choice: Record<string, unknown>) => res.write(`data: ${JSON.stringify({ ...head, choices: [{ index: 0, logprobs: null, finish_reason: null, ...choice }] })}\n\n`);
    write = (piece) => { if (piece) event(chat ? { delta: { content: piece } } : { text: piece }); };
    if (chat) event({ delta: { role: 'assistant', content: '' } });
    if (echo) write(tokenizer.decode(prompts[0], plain));
    shown = textStream((t) => tokenizer.decode(t, plain), stops, write, false);
  }
  let sequences: number[][];
  try {
    sequences = await model.generateAsync(prompts, { ...options, autocast: ctx.autocast, signal: controller.signal, tokenizer, onToken: shown ? ([t]) => shown!.add(t) : undefined });
  } catch (e) {
    if (controller.signal.aborted) return; // (no one to answer)
    const message = (e as Error).message;
    // (generate's own checks are the request's fault; anything else, the server's)
    throw message.startsWith('generate: ') ? new RequestError(message.slice('generate: '.length)) : e;
  }
  const ends = eos === null || eos === undefined ? [] : Array.isArray(eos) ? eos : [eos];
  const choices = sequences.map((tokens, i) => {
    const prompt = prompts[Math.floor(i / n)];
    const added = newTokens(tokens, prompt.length, eos, stops, tokenizer);
    const full = tokenizer.decode(added, plain), text = replyText(full, stops);
    // ('stop': it met an end token or a stop string; 'length': max_tokens, or the context, ran out)
    const stopped = (added.length > 0 && ends.includes(added[added.length - 1])) || text.length < full.length;
    return { index: i, text, added, finish: stopped ? 'stop' : 'length', echoed: echo ? tokenizer.decode(prompt, plain) : '' };
  });
  const usage = { prompt_tokens: prompts.reduce((s, p) => s + p.length, 0), completion_tokens: choices.reduce((s, c) => s + c.added.length, 0), total_tokens: 0 };
  usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
  if (stream) {
    const [c] = choices;
    shown!.end(c.text);
    res.write(`data: ${JSON.stringify({ ...head, choices: [{ index: 0, logprobs: null, finish_reason: c.finish, ...(chat ? { delta: {} } : { text: '' }) }] })}\n\n`);
    if ((body.stream_options as { include_usage?: boolean } | undefined)?.include_usage) res.write(`data: ${JSON.stringify({ ...head, choices: [], usage })}\n\n`);
    res.end('data: [DONE]\n\n');
    return;
  }
  sendJson(res, 200, {
    ...head,
    choices: choices.map((c) => (chat
      ? { index: c.index, message: { role: 'assistant', content: c.text }, logprobs: null, finish_reason: c.finish }
      : { index: c.index, text: c.echoed + c.text, logprobs: null, finish_reason: c.finish })),
    usage,
  });
}

/**
 * OpenAI's sampling fields as GenerateOptions over the model's generation config: temperature 0
 * is greedy and > 0 samples (left out: the model's generation config decides, greedy for GPT-2);
 * max_tokens (default 16 for completions, as OpenAI's; 256 for chat); stop (up to 4 strings);
 * seed; n; top_p; and, as vLLM and transformers serve take them, top_k, min_p, repetition_penalty.
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
  for (const k of ['presence_penalty', 'frequency_penalty']) if (num(k, (v) => v >= -2 && v <= 2, 'a number in [-2, 2]')) throw new RequestError(`${k} is not supported (only 0); repetition_penalty (HF's) is`);
  if (body.logprobs !== undefined && body.logprobs !== null && body.logprobs !== false) throw new RequestError('logprobs is not supported');
  if (body.top_logprobs !== undefined && body.top_logprobs !== null && body.top_logprobs !== 0) throw new RequestError('top_logprobs is not supported');
  if (body.best_of !== undefined && body.best_of !== null && body.best_of !== 1) throw new RequestError('best_of is not supported (only 1)');
  if (body.suffix !== undefined && body.suffix !== null) throw new RequestError('suffix is not supported: GPT-2 continues text, it does not fill it in');
  for (const k of ['stream', 'echo']) if (body[k] !== undefined && typeof body[k] !== 'boolean') throw new RequestError(`${k} must be true or false`);
  const stop = body.stop === undefined || body.stop === null ? undefined : typeof body.stop === 'string' ? [body.stop] : body.stop;
  if (stop !== undefined && !(Array.isArray(stop) && stop.length <= 4 && stop.every((s) => typeof s === 'string' && s.length > 0))) throw new RequestError('stop must be a non-empty string or a list of up to 4 of them');
  const sampling = temperature === undefined ? undefined : temperature > 0;
  if ((n ?? 1) > 1 && !(sampling ?? model.generationConfig.doSample)) throw new RequestError('n > 1 needs sampling: a temperature > 0');
  // (what is left out here, generate takes from the model's generation config)
  return {
    maxNewTokens: maxTokens ?? (chat ? 256 : 16),
    ...(sampling === undefined ? {} : sampling ? { doSample: true, temperature } : { doSample: false }),
    topP: num('top_p', (v) => v > 0 && v <= 1, 'a number in (0, 1]'),
    topK: num('top_k', (v) => int(v) && v >= 0, 'an integer >= 0'),
    minP: num('min_p', (v) => v >= 0 && v <= 1, 'a number in [0, 1]'),
    repetitionPenalty: num('repetition_penalty', (v) => v > 0, 'a number > 0'),
    seed: num('seed', int, 'an integer'),
    numReturnSequences: n,
    stopStrings: (stop as string[] | undefined) ?? model.generationConfig.stopStrings,
    numBeams: 1, // (sampling or greedy, as OpenAI's)
  };
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

/** OpenAI's messages: { role, content } with content a string or a list of text parts. */
function chatMessages(messages: unknown): ChatMessage[] {
  if (!Array.isArray(messages) || !messages.length) throw new RequestError('messages must be a non-empty list of { role, content }');
  return messages.map((m, i) => {
    const { role, content } = (m ?? {}) as { role?: unknown; content?: unknown };
    if (typeof role !== 'string') throw new RequestError(`messages[${i}] needs a role`);
    if (typeof content === 'string') return { role, content };
    if (Array.isArray(content) && content.every((p) => p && p.type === 'text' && typeof p.text === 'string')) return { role, content: content.map((p) => p.text).join('') };
    throw new RequestError(`messages[${i}].content must be a string or a list of { type: 'text', text } parts`);
  });
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
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new RequestError('the request body must be a JSON object');
  return body as Record<string, unknown>;
}

function sendJson(res: http.ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}
