// tstorch serve: OpenAI's completion and chat-completion API over HTTP. The answers must be
// generate()'s for the same settings (greedy, and sampled from a seed), streamed or whole;
// requests are served together, a client that goes away stops its generation, and bad requests
// get OpenAI's error shape with a status of 4xx.
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import * as torch from '../lib';
import { requestHandler, ServeContext } from '../lib/cli/commands/serve';
import { saveTinyGpt2, settledLiveTensors } from './helpers';

const CLI = path.join(__dirname, '..', 'dist', 'lib', 'cli', 'main.js');
let tmp: string, dir: string, model: torch.GPT2LMHeadModel, server: http.Server, base: string, ctx: ServeContext;
const tok = torch.tokenizer;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-serve-'));
  dir = await saveTinyGpt2(path.join(tmp, 'model'), { n_positions: 128 });
  model = await torch.GPT2LMHeadModel.fromPretrained(dir);
  ctx = { model, tokenizer: tok.withChatTemplate(torch.CHATML_TEMPLATE), name: 'tiny-gpt2' };
  server = http.createServer(requestHandler(ctx));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => { server?.close(() => resolve()); server?.closeAllConnections(); });
  model?.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A request; the answer's status and body (JSON, or the server-sent events' data lines). */
function request(method: string, url: string, body?: unknown, opts: { raw?: string; abortAfterEvents?: number; headers?: Record<string, string> } = {}): Promise<{ status: number; json?: any; events?: any[]; text?: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: { 'Content-Type': 'application/json', ...opts.headers } }, (res) => {
      let text = '', events = 0;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        events = (text.match(/\n\n/g) ?? []).length;
        if (opts.abortAfterEvents !== undefined && events >= opts.abortAfterEvents) {
          req.destroy();
          resolve({ status: res.statusCode!, events: parseEvents(text) });
        }
      });
      res.on('end', () => {
        if (res.headers['content-type']?.startsWith('text/event-stream')) resolve({ status: res.statusCode!, events: parseEvents(text) });
        else resolve({ status: res.statusCode!, json: text ? JSON.parse(text) : undefined, text });
      });
    });
    req.on('error', (e) => { if (opts.abortAfterEvents === undefined) reject(e); });
    if (opts.raw !== undefined) req.end(opts.raw);
    else req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}
const parseEvents = (text: string) => text.split('\n\n').filter((e) => e.startsWith('data: ')).map((e) => e.slice(6)).map((d) => (d === '[DONE]' ? d : JSON.parse(d)));

/** generate()'s reply text for a prompt: the new tokens decoded, cut at a stop string. */
function apiText(prompt: number[], opts: torch.GenerateOptions, stops: string[] = []): string {
  const seq = model.generate([prompt], { ...opts, stopStrings: stops.length ? stops : undefined, tokenizer: tok })[0];
  let text = tok.decode(seq.slice(prompt.length), { skipSpecialTokens: true });
  for (const s of stops) if (text.includes(s)) text = text.slice(0, text.indexOf(s));
  return text;
}

test('/v1/completions: generate()\'s text, greedy and sampled from a seed; several prompts and n; stop; echo; usage; finish_reason', async () => {
  const ids = tok.encode('The jury said');
  const a = await request('POST', `${base}/v1/completions`, { model: 'tiny-gpt2', prompt: 'The jury said', max_tokens: 8, temperature: 0 });
  expect(a.status).toBe(200);
  expect(a.json).toMatchObject({ object: 'text_completion', model: 'tiny-gpt2', choices: [{ index: 0, finish_reason: 'length', logprobs: null }] });
  expect(a.json.id).toMatch(/^cmpl-/);
  expect(a.json.choices[0].text).toBe(apiText(ids, { maxNewTokens: 8 }));
  expect(a.json.usage).toEqual({ prompt_tokens: ids.length, completion_tokens: 8, total_tokens: ids.length + 8 });
  const sampled = await request('POST', `${base}/v1/completions`, { prompt: 'The jury said', max_tokens: 8, temperature: 0.9, top_p: 0.95, seed: 7 });
  expect(sampled.json.choices[0].text).toBe(apiText(ids, { maxNewTokens: 8, doSample: true, temperature: 0.9, topP: 0.95, seed: 7 }));
  expect(sampled.json.choices[0].text).not.toBe(a.json.choices[0].text);
  // a negative seed (vLLM takes any 64-bit one) wraps as torch.manual_seed's: generate()'s from the same seed
  const negative = await request('POST', `${base}/v1/completions`, { prompt: 'The jury said', max_tokens: 8, temperature: 0.9, seed: -7 });
  expect(negative.status).toBe(200);
  expect(negative.json.choices[0].text).toBe(apiText(ids, { maxNewTokens: 8, doSample: true, temperature: 0.9, seed: -7 }));
  // OpenAI's default length is 16 tokens; two prompts with n 2: prompt by prompt, each as it is alone
  const many = await request('POST', `${base}/v1/completions`, { prompt: ['The jury said', 'Atlanta'], temperature: 1, n: 2, seed: 3 });
  expect(many.json.choices.map((c: { index: number }) => c.index)).toEqual([0, 1, 2, 3]);
  const together = model.generate([ids, tok.encode('Atlanta')], { maxNewTokens: 16, doSample: true, temperature: 1, numReturnSequences: 2, seed: 3 });
  many.json.choices.forEach((c: { text: string }, i: number) => expect(c.text).toBe(tok.decode(together[i].slice(i < 2 ? ids.length : 1).filter((t) => t !== 50256), { skipSpecialTokens: true })));
  // a stop string ends the text before it: finish_reason stop
  const free = a.json.choices[0].text as string;
  const stop = free.slice(3, 6);
  const stopped = await request('POST', `${base}/v1/completions`, { prompt: 'The jury said', max_tokens: 8, temperature: 0, stop: [stop] });
  expect(stopped.json.choices[0]).toMatchObject({ text: free.slice(0, free.indexOf(stop)), finish_reason: 'stop' });
  // echo: the prompt, then the text; token ids as the prompt
  const echoed = await request('POST', `${base}/v1/completions`, { prompt: ids, max_tokens: 8, temperature: 0, echo: true });
  expect(echoed.json.choices[0].text).toBe(`The jury said${free}`);
});

test('/v1/chat/completions: the chat template\'s prompt, the reply ending at <|im_end|> (ChatML); streamed, the same text in deltas', async () => {
  const messages = [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: [{ type: 'text', text: 'Who won?' }] }];
  const prompt = tok.encode(tok.withChatTemplate(torch.CHATML_TEMPLATE).applyChatTemplate([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Who won?' }], { addGenerationPrompt: true }));
  const whole = await request('POST', `${base}/v1/chat/completions`, { messages, max_tokens: 10, temperature: 0.8, seed: 5 });
  expect(whole.status).toBe(200);
  expect(whole.json).toMatchObject({ object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant' } }] });
  expect(whole.json.choices[0].message.content).toBe(apiText(prompt, { maxNewTokens: 10, doSample: true, temperature: 0.8, seed: 5 }, ['<|im_end|>']));
  const streamed = await request('POST', `${base}/v1/chat/completions`, { messages, max_tokens: 10, temperature: 0.8, seed: 5, stream: true, stream_options: { include_usage: true } });
  expect(streamed.events!.at(-1)).toBe('[DONE]');
  const chunks = streamed.events!.slice(0, -1);
  expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: '' });
  expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.id === chunks[0].id)).toBe(true);
  const deltas = chunks.flatMap((c) => c.choices.map((ch: { delta: { content?: string } }) => ch.delta.content ?? '')).join('');
  expect(deltas).toBe(whole.json.choices[0].message.content);
  expect(chunks.at(-2).choices[0].finish_reason).toBe(whole.json.choices[0].finish_reason);
  expect(chunks.at(-1).usage).toEqual(whole.json.usage);
  // several prompts and n 2 streamed: each choice's chunks (by index) join into its text, each ends with its finish_reason
  const manyBody = { prompt: ['The jury said', 'Atlanta'], max_tokens: 10, temperature: 1, n: 2, seed: 3, stop: ' the', logprobs: 1 };
  const manyWhole = await request('POST', `${base}/v1/completions`, manyBody);
  const manyStreamed = await request('POST', `${base}/v1/completions`, { ...manyBody, stream: true });
  const manyChunks = manyStreamed.events!.slice(0, -1);
  expect(manyChunks.every((c) => c.choices.length === 1)).toBe(true);
  manyWhole.json.choices.forEach((c: { text: string; finish_reason: string; logprobs: { tokens: string[] } }, i: number) => {
    const mine = manyChunks.map((ch) => ch.choices[0]).filter((ch) => ch.index === i);
    expect(mine.map((ch) => ch.text).join('')).toBe(c.text);
    expect(mine.flatMap((ch) => ch.logprobs?.tokens ?? [])).toEqual(c.logprobs.tokens);
    expect(mine.at(-1).finish_reason).toBe(c.finish_reason);
    expect(mine.slice(0, -1).every((ch) => ch.finish_reason === null)).toBe(true);
  });
  expect(new Set(manyWhole.json.choices.map((c: { text: string }) => c.text)).size).toBe(4);
  // a completion streamed: its texts join into the whole one
  const text = await request('POST', `${base}/v1/completions`, { prompt: 'The jury said', max_tokens: 12, temperature: 0, stream: true });
  const joined = text.events!.slice(0, -1).map((c) => c.choices[0].text).join('');
  expect(joined).toBe(apiText(tok.encode('The jury said'), { maxNewTokens: 12 }));
});

/**
 * The reference's log-probabilities (gpt2_ref.py, one pass over each whole sequence, no cache):
 * for each position after the first, its token's, and the likeliest k tokens there.
 */
function referenceLogprobs(sequences: number[][], k: number): { chosen: number[]; top: [number, number][][] }[] {
  const r = spawnSync('/usr/bin/python3', ['-c', `
import json, sys, torch
sys.path.insert(0, ${JSON.stringify(path.join(__dirname, '..', 'scripts', 'reference'))})
import gpt2_ref
m = gpt2_ref.from_pretrained(${JSON.stringify(dir)})
out = []
with torch.no_grad():
    for seq in ${JSON.stringify(sequences)}:
        ids = torch.tensor([seq])
        lp = torch.log_softmax(m(ids)[0][0].float(), -1)[:-1]
        v, i = lp.topk(${k}, -1)
        out.append({"chosen": lp.gather(1, ids[0, 1:, None])[:, 0].tolist(), "top": [list(zip(a, b)) for a, b in zip(i.tolist(), v.tolist())]})
print(json.dumps(out))
`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

test('logprobs: the model\'s own log-probabilities of the text\'s tokens and the likeliest at each position, as the reference\'s (1e-5); completions (echo too), chat, streamed as whole; not the stop string\'s', async () => {
  ctx.prefixCache!.clear();
  const before = await settledLiveTensors();
  const ids = tok.encode('The jury said');
  const text = (t: number) => new TextDecoder().decode(tok.tokenBytes(t));
  const close = (got: number, want: number) => expect(Math.abs(got - want)).toBeLessThan(1e-5);
  // sampled, with penalties: the logprobs are the model's raw ones (vLLM's), not the sampling's
  const body = { prompt: 'The jury said', max_tokens: 6, temperature: 0.9, seed: 11, frequency_penalty: 1, logprobs: 3, echo: true };
  const a = await request('POST', `${base}/v1/completions`, body);
  expect(a.status).toBe(200);
  const seq = model.generate([ids], { maxNewTokens: 6, doSample: true, temperature: 0.9, seed: 11, frequencyPenalty: 1 })[0];
  expect(a.json.choices[0].text).toBe(tok.decode(seq));
  const [ref] = referenceLogprobs([seq], 3);
  const lp = a.json.choices[0].logprobs;
  expect(lp.tokens).toEqual(seq.map(text));
  expect(lp.token_logprobs[0]).toBeNull(); // (the prompt's first token: nothing predicts it)
  expect(lp.top_logprobs[0]).toBeNull();
  expect(lp.text_offset).toEqual(seq.map((_, j) => tok.decode(seq.slice(0, j)).length));
  seq.slice(1).forEach((t, j) => {
    close(lp.token_logprobs[j + 1], ref.chosen[j]);
    // the top 3 and the chosen token with them (a dict: JSON puts number-like keys first)
    const want: [number, number][] = [...ref.top[j], ...(ref.top[j].some(([id]) => id === t) ? [] : [[t, ref.chosen[j]] as [number, number]])];
    expect(Object.keys(lp.top_logprobs[j + 1]).sort()).toEqual(want.map(([id]) => text(id)).sort());
    want.forEach(([id, v]) => close(lp.top_logprobs[j + 1][text(id)], v));
  });
  // chat: { content: [{ token, logprob, bytes, top_logprobs }] }; streamed, the same entries in the chunks
  const messages = [{ role: 'user', content: 'Who won?' }];
  const chatBody = { messages, max_tokens: 5, temperature: 0, logprobs: true, top_logprobs: 2 };
  const chat = await request('POST', `${base}/v1/chat/completions`, chatBody);
  const prompt = tok.encode(tok.withChatTemplate(torch.CHATML_TEMPLATE).applyChatTemplate(messages, { addGenerationPrompt: true }));
  const reply = model.generate([prompt], { maxNewTokens: 5 })[0];
  const [chatRef] = referenceLogprobs([reply], 2);
  const content = chat.json.choices[0].logprobs.content;
  expect(content.map((e: { bytes: number[] }) => e.bytes)).toEqual(reply.slice(prompt.length).map((t) => Array.from(tok.tokenBytes(t))));
  content.forEach((e: { logprob: number; top_logprobs: { token: string; logprob: number }[] }, j: number) => {
    close(e.logprob, chatRef.chosen[prompt.length - 1 + j]);
    expect(e.top_logprobs.map((x) => x.token)).toEqual(chatRef.top[prompt.length - 1 + j].map(([id]) => text(id)));
  });
  const streamed = await request('POST', `${base}/v1/chat/completions`, { ...chatBody, stream: true });
  // (the same request again starts from the first's cached prompt: equal up to float rounding)
  const again = streamed.events!.slice(0, -1).flatMap((c) => c.choices[0].logprobs?.content ?? []);
  expect(again.map((e: { bytes: number[] }) => e.bytes)).toEqual(content.map((e: { bytes: number[] }) => e.bytes));
  again.forEach((e: { logprob: number }, j: number) => close(e.logprob, content[j].logprob));
  const streamedText = await request('POST', `${base}/v1/completions`, { ...body, stream: true });
  const chunks = streamedText.events!.slice(0, -1).map((c) => c.choices[0].logprobs).filter(Boolean);
  expect(chunks.flatMap((c) => c.tokens)).toEqual(lp.tokens);
  chunks.flatMap((c) => c.token_logprobs).forEach((v: number | null, j: number) => (j === 0 ? expect(v).toBeNull() : close(v!, lp.token_logprobs[j])));
  expect(chunks.flatMap((c) => c.text_offset)).toEqual(lp.text_offset);
  // a stop string: the logprobs are the tokens of the text, not those of the stop string after it
  const free = tok.decode(seq.slice(ids.length));
  const stop = free.slice(free.indexOf(' ', 2));
  const cut = await request('POST', `${base}/v1/completions`, { ...body, echo: false, stop });
  const got = cut.json.choices[0];
  expect(got.text).toBe(free.slice(0, free.indexOf(stop)));
  expect(got.logprobs.tokens.join('').startsWith(got.text)).toBe(true);
  expect(got.logprobs.tokens.length).toBeLessThan(6);
  expect(got.logprobs.text_offset.every((o: number) => o < got.text.length)).toBe(true);
  ctx.prefixCache!.clear(); // (the prompts' caches kept for later requests)
  expect(await settledLiveTensors()).toBe(before);
});

test('completions\' top_logprobs list the likeliest token first, whatever its text (a JS object would put number-like keys first)', async () => {
  const a = await request('POST', `${base}/v1/completions`, { prompt: 'The jury said', max_tokens: 8, temperature: 0, logprobs: 20 });
  expect(a.status).toBe(200);
  // each position's object as the text has it: its keys and values in order
  const section = a.text!.slice(a.text!.indexOf('"top_logprobs":'), a.text!.indexOf('"text_offset":'));
  const objects = [...section.matchAll(/\{("(?:[^"\\]|\\.)*":-?[\d.e+-]+,?)+\}/g)].map((m) => [...m[0].matchAll(/"((?:[^"\\]|\\.)*)":(-?[\d.e+-]+)/g)].map((e) => [JSON.parse(`"${e[1]}"`) as string, Number(e[2])] as const));
  const tops = a.json.choices[0].logprobs.top_logprobs as Record<string, number>[];
  expect(objects).toHaveLength(tops.length);
  let numberLike = 0;
  objects.forEach((entries, i) => {
    expect(Object.fromEntries(entries)).toEqual(tops[i]);
    const values = entries.map(([, v]) => v), listed = values.slice(0, 20);
    expect(listed).toEqual([...listed].sort((x, y) => y - x)); // (likeliest first; a 21st: the chosen token, when not among them)
    numberLike += entries.slice(1, 20).filter(([k]) => /^(0|[1-9]\d*)$/.test(k)).length;
  });
  expect(numberLike).toBeGreaterThan(0); // (so the order above was at stake)
});

test('logit_bias, min_tokens, stop_token_ids, ignore_eos: generate()\'s sequenceBias, minNewTokens and end tokens; an end token\'s text is not the reply\'s', async () => {
  const ids = tok.encode('The jury said');
  const post = (extra: Record<string, unknown>) => request('POST', `${base}/v1/completions`, { prompt: 'The jury said', max_tokens: 6, temperature: 0, ...extra });
  const free = model.generate([ids], { maxNewTokens: 6 })[0].slice(ids.length);
  // stop_token_ids: the reply ends at the first of them (left out of the text), finish_reason stop; streamed the same
  const stopAt = free[2];
  const stopped = await post({ stop_token_ids: [stopAt] });
  expect(stopped.json.choices[0]).toMatchObject({ text: tok.decode(free.slice(0, free.indexOf(stopAt))), finish_reason: 'stop' });
  expect(stopped.json.usage.completion_tokens).toBe(free.indexOf(stopAt) + 1);
  const streamed = await post({ stop_token_ids: [stopAt], stream: true });
  expect(streamed.events!.slice(0, -1).map((c) => c.choices[0].text).join('')).toBe(stopped.json.choices[0].text);
  // logit_bias: -100 bans a token, +100 makes it certain
  const banned = await post({ logit_bias: { [String(free[0])]: -100 } });
  const biased = model.generate([ids], { maxNewTokens: 6, sequenceBias: [[[free[0]], -100]] })[0].slice(ids.length);
  expect(biased[0]).not.toBe(free[0]);
  expect(banned.json.choices[0].text).toBe(tok.decode(biased));
  expect((await post({ logit_bias: { 318: 100 } })).json.choices[0].text).toBe(tok.decode([318, 318, 318, 318, 318, 318]));
  // min_tokens: eos made certain, yet not before 3 tokens; ignore_eos: it does not end the reply
  const early = await post({ logit_bias: { 50256: 100 }, min_tokens: 3 });
  expect(early.json.choices[0].finish_reason).toBe('stop');
  expect(early.json.usage.completion_tokens).toBe(4);
  expect(early.json.choices[0].text).toBe(tok.decode(model.generate([ids], { maxNewTokens: 6, sequenceBias: [[[50256], 100]], minNewTokens: 3 })[0].slice(ids.length, -1)));
  const ignored = await post({ logit_bias: { 50256: 100 }, ignore_eos: true });
  expect(ignored.json.choices[0]).toMatchObject({ text: '', finish_reason: 'length' });
  expect(ignored.json.usage.completion_tokens).toBe(6);
  for (const [extra, message] of [
    [{ logit_bias: { x: 1 } }, /logit_bias: "x" is not a token id of this model \(0 \.\. 50256\)/],
    [{ logit_bias: { 5: 200 } }, /logit_bias: the bias of token 5 must be a number in \[-100, 100\], got 200/],
    [{ logit_bias: [1] }, /logit_bias must be an object/],
    [{ stop_token_ids: [70000] }, /stop_token_ids must be a list of token ids of this model/],
    [{ min_tokens: -1 }, /min_tokens must be an integer >= 0/],
  ] as [Record<string, unknown>, RegExp][]) {
    const r = await post(extra);
    expect(r.status).toBe(400);
    expect(r.json.error.message).toMatch(message);
  }
});

test('prefix caching: a chat\'s next turn feeds only what its last prompt did not have; the same replies; the least recently used prompts go past the budget', async () => {
  ctx.prefixCache!.clear();
  const before = await settledLiveTensors();
  const chatml = tok.withChatTemplate(torch.CHATML_TEMPLATE);
  const first = [{ role: 'user', content: 'Who won the election?' }];
  const a = await request('POST', `${base}/v1/chat/completions`, { messages: first, max_tokens: 6, temperature: 0 });
  const second = [...first, { role: 'assistant', content: a.json.choices[0].message.content }, { role: 'user', content: 'And then?' }];
  const prompt1 = tok.encode(chatml.applyChatTemplate(first, { addGenerationPrompt: true }) as string);
  const prompt2 = tok.encode(chatml.applyChatTemplate(second, { addGenerationPrompt: true }) as string);
  let shared = 0;
  while (prompt1[shared] === prompt2[shared]) shared++;
  expect(shared).toBeGreaterThan(10);
  // the second turn's first pass: only the tokens after the cached start
  const fed: number[] = [], forward = model.forward.bind(model);
  const spy = jest.spyOn(model, 'forward').mockImplementation(((ids: torch.Tensor, o?: torch.ForwardOptions) => { fed.push(ids.shape[1]); return forward(ids, o); }) as typeof model.forward);
  let b;
  try {
    b = await request('POST', `${base}/v1/chat/completions`, { messages: second, max_tokens: 6, temperature: 0 });
  } finally {
    spy.mockRestore();
  }
  expect(fed[0]).toBe(prompt2.length - shared);
  expect(b.json.choices[0].message.content).toBe(apiText(prompt2, { maxNewTokens: 6 }, ['<|im_end|>']));
  expect(ctx.prefixCache!.size).toEqual({ prompts: 2, tokens: prompt1.length + prompt2.length });
  // a generation config asking for contrastive search (which feeds the whole prompt): no cache taken, none kept
  const config = model.generationConfig;
  model.generationConfig = { ...config, penaltyAlpha: 0.6, topK: 4 };
  try {
    const kept = ctx.prefixCache!.size.prompts;
    const contrastive = await request('POST', `${base}/v1/chat/completions`, { messages: second, max_tokens: 4, temperature: 0 });
    expect(contrastive.status).toBe(200);
    expect(contrastive.json.choices[0].message.content).toBe(apiText(prompt2, { maxNewTokens: 4, penaltyAlpha: 0.6, topK: 4 }, ['<|im_end|>']));
    expect(ctx.prefixCache!.size.prompts).toBe(kept);
  } finally {
    model.generationConfig = config;
  }
  // the budget: the least recently used prompt goes first
  const small = new torch.PrefixCache(10);
  const cacheOf = (ids: number[]) => torch.tidy(() => model.forward(torch.tensor([ids], { dtype: 'int64' }), { useCache: true }).pastKeyValues!.map(([k, v]) => [torch.keep(k), torch.keep(v)] as torch.LayerPast));
  for (const ids of [[1, 2, 3, 4, 5, 6], [1, 2, 3, 9], [7, 8, 9]]) {
    const past = cacheOf(ids);
    small.store(ids, past);
    for (const t of past.flat()) t.dispose();
  }
  expect(small.size).toEqual({ prompts: 2, tokens: 7 }); // ([1 .. 6] went)
  const hit = small.lookup([1, 2, 3, 9, 10])!;
  expect(hit[0][0].shape[2]).toBe(4);
  for (const t of hit.flat()) t.dispose();
  const start = small.lookup([1, 2, 3])!;
  expect(start[0][0].shape[2]).toBe(2); // (all but the prompt's last token)
  for (const t of start.flat()) t.dispose();
  expect(small.lookup([5, 6])).toBeUndefined();
  small.clear();
  ctx.prefixCache!.clear();
  expect(await settledLiveTensors()).toBe(before);
});

test('requests are served together; a client that goes away stops its generation, every tensor freed', async () => {
  ctx.prefixCache!.clear(); // (the prompts' caches kept for later requests: not counted)
  const before = await settledLiveTensors(); // (earlier garbage may be finalized at any await here)
  const prompts = ['The jury said', 'Atlanta', 'In the city'];
  // (continuous batching: their steps share forward passes, each request the text it gets alone)
  const shared = ctx.batcher!.stats.batchedPasses;
  const answers = await Promise.all(prompts.map((p, i) => request('POST', `${base}/v1/completions`, { prompt: p, max_tokens: 20, temperature: 0, ...(i === 1 ? { frequency_penalty: 1, logprobs: 2 } : {}) })));
  answers.forEach((a, i) => expect(a.json.choices[0].text).toBe(apiText(tok.encode(prompts[i]), { maxNewTokens: 20, frequencyPenalty: i === 1 ? 1 : undefined })));
  expect(ctx.batcher!.stats.batchedPasses - shared).toBeGreaterThanOrEqual(15);
  expect(ctx.batcher!.stats.widestBatch).toBe(3);
  // a stream left after 3 events: its generation stops (the model is free: the next request is answered at once)
  const left = await request('POST', `${base}/v1/completions`, { prompt: 'The jury said', max_tokens: 100, temperature: 0, stream: true }, { abortAfterEvents: 3 });
  expect(left.events!.length).toBeGreaterThanOrEqual(3);
  await new Promise((r) => setTimeout(r, 50));
  ctx.prefixCache!.clear();
  expect(await settledLiveTensors()).toBe(before);
  expect((await request('GET', `${base}/v1/models`)).json).toEqual({ object: 'list', data: [{ id: 'tiny-gpt2', object: 'model', created: 0, owned_by: 'tstorch' }] });
  const headers = await new Promise<http.IncomingHttpHeaders>((resolve) => http.get(`${base}/v1/models`, (res) => { res.resume(); resolve(res.headers); }));
  expect(headers['access-control-allow-origin']).toBeUndefined(); // (no CORS unless asked)
});

test('--prefill-chunk-size: a prompt longer than that through the model in passes of that many positions, the other requests stepping between them; the same text', async () => {
  ctx.prefixCache!.clear();
  const before = await settledLiveTensors();
  ctx.prefillChunkSize = 2;
  const fed: number[][] = [], forward = model.forward.bind(model);
  const spy = jest.spyOn(model, 'forward').mockImplementation(((ids: torch.Tensor, o?: torch.ForwardOptions) => { fed.push(ids.shape); return forward(ids, o); }) as typeof model.forward);
  const prompts = ['The jury said the election was over', 'Atlanta'];
  let answers: Awaited<ReturnType<typeof request>>[];
  try {
    answers = await Promise.all(prompts.map((p) => request('POST', `${base}/v1/completions`, { prompt: p, max_tokens: 6, temperature: 0 })));
  } finally {
    spy.mockRestore();
    ctx.prefillChunkSize = undefined;
  }
  const longest = tok.encode(prompts[0]).length;
  expect(fed.filter((s) => s[0] === 1 && s[1] === 2)).toHaveLength(Math.floor((longest - 1) / 2)); // (its chunks)
  expect(Math.max(...fed.map((s) => s[1]))).toBe(2); // (no pass fed more)
  expect(fed.some((s) => s[0] === 2)).toBe(true); // (then the two requests' steps shared passes)
  answers.forEach((a, i) => expect(a.json.choices[0].text).toBe(apiText(tok.encode(prompts[i]), { maxNewTokens: 6 })));
  ctx.prefixCache!.clear();
  expect(await settledLiveTensors()).toBe(before);
});

test('/metrics (vLLM\'s, in Prometheus\' text): requests running and waiting, tokens in and out, finish reasons (aborts too), latencies between tokens too, token counts, prefix-cache hits; a log line a request', async () => {
  /** the samples of /metrics, by name with labels */
  const scrape = async () => {
    const r = await new Promise<{ status: number; type?: string; text: string }>((resolve, reject) => http.get(`${base}/metrics`, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => { text += c; }).on('end', () => resolve({ status: res.statusCode!, type: res.headers['content-type'], text }));
    }).on('error', reject));
    expect(r.status).toBe(200);
    expect(r.type).toMatch(/^text\/plain; version=0.0.4/);
    const samples = new Map<string, number>();
    for (const line of r.text.trim().split('\n')) {
      if (line.startsWith('#')) {
        expect(line).toMatch(/^# (HELP|TYPE) tstorch:[a-z0-9_]+ /);
        continue;
      }
      const m = /^(tstorch:[a-z0-9_]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
      expect(m).not.toBeNull();
      samples.set(m![1], Number(m![2]));
    }
    return samples;
  };
  const lines: string[] = [];
  ctx.log = (line) => lines.push(line);
  ctx.prefixCache!.clear();
  try {
    const before = await scrape();
    const label = 'model_name="tiny-gpt2"';
    const get = (m: Map<string, number>, name: string, extra = '') => m.get(`tstorch:${name}{${label}${extra}}`) ?? 0;
    const answers = [
      await request('POST', `${base}/v1/completions`, { prompt: 'The jury said', max_tokens: 5, temperature: 0 }),
      await request('POST', `${base}/v1/completions`, { prompt: 'The jury said it', max_tokens: 3, temperature: 1, n: 2, seed: 1 }), // (its start cached)
      await request('POST', `${base}/v1/completions`, { prompt: 'x', max_tokens: 0 }), // (refused)
    ];
    expect(answers.map((a) => a.status)).toEqual([200, 200, 400]);
    const after = await scrape();
    const usage = answers.slice(0, 2).map((a) => a.json.usage);
    expect(get(after, 'prompt_tokens_total') - get(before, 'prompt_tokens_total')).toBe(usage[0].prompt_tokens + usage[1].prompt_tokens);
    expect(get(after, 'generation_tokens_total') - get(before, 'generation_tokens_total')).toBe(usage[0].completion_tokens + usage[1].completion_tokens);
    const reasons = answers.slice(0, 2).flatMap((a) => a.json.choices.map((c: { finish_reason: string }) => c.finish_reason));
    for (const reason of ['stop', 'length']) {
      expect(get(after, 'request_success_total', `,finished_reason="${reason}"`) - get(before, 'request_success_total', `,finished_reason="${reason}"`)).toBe(reasons.filter((r) => r === reason).length);
    }
    expect(get(after, 'num_requests_running')).toBe(0);
    for (const h of ['e2e_request_latency_seconds', 'time_to_first_token_seconds']) {
      expect(get(after, `${h}_count`) - get(before, `${h}_count`)).toBe(2);
      expect(get(after, `${h}_bucket`, ',le="+Inf"')).toBe(get(after, `${h}_count`));
      expect(get(after, `${h}_sum`)).toBeGreaterThan(get(before, `${h}_sum`));
    }
    // the second prompt's first 3 tokens were the first's: held by the prefix cache (all but a prompt's last token at most)
    expect(get(after, 'prefix_cache_queries_total') - get(before, 'prefix_cache_queries_total')).toBe(usage[0].prompt_tokens + usage[1].prompt_tokens);
    expect(get(after, 'prefix_cache_hits_total') - get(before, 'prefix_cache_hits_total')).toBe(tok.encode('The jury said').length);
    // a line each: the client, the request, the status, the time, a completion's tokens
    const completions = lines.filter((l) => l.includes('"POST /v1/completions"'));
    expect(completions).toHaveLength(3);
    expect(completions[0]).toMatch(new RegExp(`^tstorch serve: [^ ]+:\\d+ "POST /v1/completions" 200 \\(\\d+\\.\\d{3} s, ${usage[0].prompt_tokens} prompt \\+ ${usage[0].completion_tokens} generated tokens\\)$`));
    expect(completions[2]).toMatch(/" 400 \(\d+\.\d{3} s\)$/);
    expect(lines.filter((l) => l.includes('"GET /metrics" 200')).length).toBeGreaterThanOrEqual(1);
    expect(get(after, 'num_requests_waiting')).toBe(0);
    // the gaps between a request's tokens (a step of all its choices each), and each request's token counts
    const more = [
      await request('POST', `${base}/v1/completions`, { prompt: 'Atlanta', max_tokens: 4, temperature: 0, ignore_eos: true }),
      await request('POST', `${base}/v1/completions`, { prompt: 'The jury', max_tokens: 3, temperature: 1, n: 2, seed: 2, ignore_eos: true }),
    ].map((a) => a.json.usage);
    expect(more.map((u) => u.completion_tokens)).toEqual([4, 6]);
    const third = await scrape();
    const delta = (name: string, extra = '') => get(third, name, extra) - get(after, name, extra);
    expect(delta('inter_token_latency_seconds_count')).toBe(3 + 2);
    expect(get(third, 'inter_token_latency_seconds_bucket', ',le="+Inf"')).toBe(get(third, 'inter_token_latency_seconds_count'));
    expect(delta('request_prompt_tokens_count')).toBe(2);
    expect(delta('request_prompt_tokens_sum')).toBe(more[0].prompt_tokens + more[1].prompt_tokens);
    expect(delta('request_generation_tokens_sum')).toBe(10);
    expect([delta('request_generation_tokens_bucket', ',le="2"'), delta('request_generation_tokens_bucket', ',le="5"'), delta('request_generation_tokens_bucket', ',le="10"')]).toEqual([0, 1, 2]);
    expect(third.has('tstorch:request_generation_tokens_bucket{model_name="tiny-gpt2",le="100"}')).toBe(true); // (vLLM's 1-2-5 bounds up to the context, 128)
    expect(third.has('tstorch:request_generation_tokens_bucket{model_name="tiny-gpt2",le="200"}')).toBe(false);
    // a client that leaves mid-stream: its choice finished as 'abort'
    await request('POST', `${base}/v1/completions`, { prompt: 'The jury said', max_tokens: 100, temperature: 0, stream: true, ignore_eos: true }, { abortAfterEvents: 2 });
    let aborted = 0;
    for (let tries = 0; tries < 100 && aborted === 0; tries++) {
      await new Promise((r) => setTimeout(r, 20));
      aborted = get(await scrape(), 'request_success_total', ',finished_reason="abort"') - get(third, 'request_success_total', ',finished_reason="abort"');
    }
    expect(aborted).toBe(1);
  } finally {
    ctx.log = undefined;
  }
  ctx.prefixCache!.clear();
});

test('/tokenize and /detokenize (vLLM\'s): a prompt\'s or a conversation\'s tokens, and tokens\' text', async () => {
  const t = await request('POST', `${base}/tokenize`, { prompt: 'The jury said' });
  expect(t.json).toEqual({ tokens: tok.encode('The jury said'), count: 3, max_model_len: 128 });
  const messages = [{ role: 'user', content: 'Who won?' }];
  const chatml = tok.withChatTemplate(torch.CHATML_TEMPLATE);
  expect((await request('POST', `${base}/tokenize`, { messages })).json.tokens).toEqual(tok.encode(chatml.applyChatTemplate(messages, { addGenerationPrompt: true }) as string));
  expect((await request('POST', `${base}/tokenize`, { messages, add_generation_prompt: false })).json.tokens).toEqual(tok.encode(chatml.applyChatTemplate(messages) as string));
  // vLLM's continue_final_message (a prefilled reply, left open; the generation prompt then off by default) and chat_template_kwargs
  const prefilled = [...messages, { role: 'assistant', content: 'The jury' }];
  const open = tok.encode(chatml.applyChatTemplate(prefilled, { continueFinalMessage: true }) as string);
  expect(tok.decode(open).endsWith('<|im_start|>assistant\nThe jury')).toBe(true);
  expect((await request('POST', `${base}/tokenize`, { messages: prefilled, continue_final_message: true, chat_template_kwargs: { enable_thinking: false } })).json.tokens).toEqual(open);
  expect((await request('POST', `${base}/detokenize`, { tokens: [464, 9002, 531, 50256] })).json).toEqual({ prompt: 'The jury said<|endoftext|>' });
  for (const [route, body, message] of [
    ['/tokenize', { text: 'x' }, /unknown request fields: text/],
    ['/tokenize', { prompt: 5 }, /\/tokenize takes \{ prompt: string \} or \{ messages/],
    ['/detokenize', { tokens: [70000] }, /tokens must be a list of token ids of this model \(0 \.\. 50256\)/],
  ] as [string, unknown, RegExp][]) {
    const r = await request('POST', `${base}${route}`, body);
    expect(r.status).toBe(400);
    expect(r.json.error.message).toMatch(message);
  }
});

test('bad requests: OpenAI\'s error shape, 4xx, saying what is wrong', async () => {
  const cases: [string, unknown, number, RegExp][] = [
    ['/v1/completions', { prompt: 'x', max_tokens: 0 }, 400, /max_tokens must be an integer >= 1, got 0/],
    ['/v1/completions', { prompt: 'x', temperature: 3 }, 400, /temperature must be a number in \[0, 2\]/],
    ['/v1/completions', { prompt: 'x', seed: 1e300 }, 400, /^seed must be an integer within ±\(2\*\*53 - 1\), got 1e\+300$/], // (was a 500 from manualSeed)
    ['/v1/completions', { prompt: 'x', n: 2, temperature: 0 }, 400, /n > 1 needs sampling: a temperature > 0$/],
    ['/v1/completions', { prompt: 'x', n: 2 }, 400, /n > 1 needs sampling: a temperature > 0 \(left out, this model's generation config decodes greedily\)/],
    ['/v1/completions', { prompt: 'x', frequency_penalty: 3 }, 400, /frequency_penalty must be a number in \[-2, 2\], got 3/],
    ['/v1/completions', { prompt: 'x', logprobs: 21 }, 400, /logprobs must be an integer in \[0, 20\]/],
    ['/v1/completions', { prompt: 'x', logprobs: true }, 400, /logprobs must be an integer in \[0, 20\]/],
    ['/v1/chat/completions', { messages: [{ role: 'user', content: 'hi' }], logprobs: 2 }, 400, /logprobs must be true or false \(top_logprobs N/],
    ['/v1/chat/completions', { messages: [{ role: 'user', content: 'hi' }], top_logprobs: 2 }, 400, /top_logprobs needs logprobs: true/],
    ['/v1/completions', { prompt: 'x', max_token: 5 }, 400, /unknown request fields: max_token/],
    ['/v1/chat/completions', { messages: [{ role: 'user', content: 'hi' }], tools: [], tool_choice: 'auto' }, 400, /^"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set/],
    ['/v1/chat/completions', { messages: [{ role: 'user', content: 'hi' }], functions: [] }, 400, /^functions: the legacy functions and function_call are not served .* give tools and tool_choice$/],
    ['/v1/completions', { prompt: 5 }, 400, /prompt must be a string, a list of strings, or token ids/],
    ['/v1/completions', { prompt: [70000] }, 400, /tokens beyond the model's vocabulary \(50257\)/],
    ['/v1/completions', { prompt: 'x '.repeat(200) }, 400, /leaves no room in the model's context \(128 tokens\)/],
    ['/v1/completions', { prompt: 'x', stop: ['a', 'b', 'c', 'd', 'e'] }, 400, /stop must be a non-empty string or a list of up to 4/],
    ['/v1/chat/completions', { messages: [] }, 400, /messages must be a non-empty list/],
    ['/v1/chat/completions', { messages: [{ content: 'hi' }] }, 400, /messages\[0\] needs a role/],
    ['/v1/chat/completions', { messages: [{ role: 'user', content: 'hi' }], chat_template_kwargs: [1] }, 400, /chat_template_kwargs must be an object of template variables/],
    ['/v1/chat/completions', { messages: [{ role: 'user', content: 'hi' }], continue_final_message: true, add_generation_prompt: true }, 400, /continue_final_message and add_generation_prompt do not go together/],
    // (what the template refuses is the request's error: ChatML's '...' + None, an assistant's tool call without content)
    ['/v1/chat/completions', { messages: [{ role: 'assistant', content: null, tool_calls: [] }] }, 400, /chat template: can only concatenate str \(not "NoneType"\) to str/],
    ['/v1/embeddings', { input: 'x' }, 404, /no POST \/v1\/embeddings here/],
  ];
  for (const [route, body, status, message] of cases) {
    const r = await request('POST', `${base}${route}`, body);
    expect({ route, body, status: r.status }).toEqual({ route, body, status });
    expect(r.json.error.message).toMatch(message);
    expect(r.json.error.type).toBe('invalid_request_error');
  }
  const notJson = await request('POST', `${base}/v1/completions`, undefined, { raw: '{"prompt": ' });
  expect(notJson.status).toBe(400);
  expect(notJson.json.error.message).toMatch(/the request body is not JSON/);
});

test('tstorch serve: listens, says where, answers, and stops on SIGTERM; a chat without a template is refused; --enable-cors; an API key (TSTORCH_API_KEY); --served-model-name; /health', async () => {
  const child = spawn(process.execPath, [CLI, 'serve', '--model', dir, '--port', '0', '--enable-cors', '--served-model-name', 'tiny'], {
    stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, TSTORCH_API_KEY: 'sk-local' },
  });
  let err = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /at (http:\/\/\S+)\/v1 /.exec(err);
      if (m) resolve(m[1]);
    });
    child.on('exit', () => reject(new Error(`serve exited: ${err}`)));
  });
  // the key: without it (or with another) 401 in OpenAI's shape; /health needs none
  const key = { headers: { Authorization: 'Bearer sk-local' } };
  for (const headers of [{}, { Authorization: 'Bearer sk-other' }, { Authorization: 'sk-local' }] as Record<string, string>[]) {
    const denied = await request('POST', `${url}/v1/completions`, { prompt: 'x' }, { headers });
    expect(denied.status).toBe(401);
    expect(denied.json.error).toMatchObject({ code: 'invalid_api_key', message: expect.stringMatching(/Authorization: Bearer KEY/) });
  }
  expect((await request('GET', `${url}/health`)).status).toBe(200);
  expect((await request('GET', `${url}/v1/models`, undefined, key)).json.data[0].id).toBe('tiny');
  expect((await request('GET', `${url}/v1/models/tiny`, undefined, key)).json).toEqual({ id: 'tiny', object: 'model', created: 0, owned_by: 'tstorch' });
  expect((await request('GET', `${url}/v1/models/gpt-4`, undefined, key)).status).toBe(404);
  const a = await request('POST', `${url}/v1/completions`, { prompt: 'The jury said', max_tokens: 5, temperature: 0 }, key);
  expect(a.json.choices[0].text).toBe(apiText(tok.encode('The jury said'), { maxNewTokens: 5 }));
  expect(a.json.model).toBe('tiny');
  const chat = await request('POST', `${url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'hi' }] }, key);
  expect(chat.status).toBe(400);
  expect(chat.json.error.message).toMatch(/no chat template: start tstorch serve with --chat-template FILE \(or chatml\)/);
  // CORS: the header on answers, and a browser's preflight answered
  const preflight = await new Promise<{ status?: number; headers: http.IncomingHttpHeaders }>((resolve, reject) => {
    http.request(`${url}/v1/models`, { method: 'OPTIONS' }, (res) => { res.resume(); resolve({ status: res.statusCode, headers: res.headers }); }).on('error', reject).end();
  });
  expect(preflight).toMatchObject({ status: 204, headers: { 'access-control-allow-origin': '*', 'access-control-allow-methods': 'GET, POST, OPTIONS' } });
  const got = await new Promise<http.IncomingHttpHeaders>((resolve, reject) => {
    http.get(`${url}/v1/models`, key, (res) => { res.resume(); resolve(res.headers); }).on('error', reject);
  });
  expect(got['access-control-allow-origin']).toBe('*');
  const scraped = await new Promise<number | undefined>((resolve, reject) => http.get(`${url}/metrics`, (res) => { res.resume(); resolve(res.statusCode); }).on('error', reject));
  expect(scraped).toBe(200); // (Prometheus' scrape: no key needed, as vLLM's)
  const code = await new Promise<number | null>((resolve) => { child.on('exit', resolve); child.kill('SIGTERM'); });
  expect(code).toBe(0);
  // a line on stderr for each request answered
  expect(err).toMatch(/tstorch serve: 127\.0\.0\.1:\d+ "POST \/v1\/completions" 200 \(\d+\.\d{3} s, 3 prompt \+ 5 generated tokens\)\n/);
  expect(err).toMatch(/"POST \/v1\/completions" 401 \(/);
  expect(err).toMatch(/"GET \/metrics" 200 \(/);
}, 60000);
