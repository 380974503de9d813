// tstorch chat: a conversation with a model in the terminal (HF's `transformers chat`): each line
// read is a user's message, the whole conversation is rendered by the chat template with the
// generation prompt, and the reply is streamed out as it comes and kept (Ctrl-C ends it there). !clear starts over,
// !save FILE writes the conversation (messages as JSON), !set changes the decoding settings, !status
// shows them, !help lists these, !exit (or the end of input) ends.
import * as readline from 'readline';
import { writeFileAtomic } from '../../io/atomic';
import { parseFlags, resolveFlag, Spec } from '../args';
import { loadModelFromFlags, sharedFlags } from './common';
import { checkedGenerateOptions, checkVocabulary, generateFlags, generateOptions, newTokens, plain, precisionAutocast, replyText, spec as generateSpec, textStream, withAssistant } from './generate';
import { GenerationBatcher } from '../../models/batching';
import { PrefixCache } from '../../models/prefix_cache';
import type { GenerateOptions } from '../../models/generation';
import type { ChatMessage } from '../../models/chat_template';
import { SUMMARIES } from '../summaries';

export const summary = SUMMARIES.chat;
const fromGenerate = ['max-new-tokens', 'temperature', 'do-sample', 'top-k', 'top-p', 'min-p', 'typical-p', 'repetition-penalty', 'frequency-penalty', 'presence-penalty', 'no-repeat-ngram-size', 'stop', 'seed',
  'assistant-model', 'num-assistant-tokens', 'prompt-lookup-num-tokens', 'penalty-alpha', 'max-time', 'prefill-chunk-size', 'precision', 'bf16'];
export const spec: Spec = {
  model: sharedFlags.model,
  revision: sharedFlags.revision,
  tokenizer: sharedFlags.tokenizer,
  adapter: sharedFlags.adapter,
  'chat-template': sharedFlags['chat-template'],
  system: { type: 'string', help: 'a system message that opens the conversation' },
  ...Object.fromEntries(fromGenerate.map((k) => [k, generateSpec[k]])),
  device: sharedFlags.device,
  attn: sharedFlags.attn,
  mmap: sharedFlags.mmap,
};

export async function run(f: Record<string, unknown>): Promise<void> {
  const flags = generateFlags(f, true);
  const tokenizer = flags.tokenizer!;
  if (f['num-assistant-tokens'] !== undefined && f['assistant-model'] === undefined) throw new Error('--num-assistant-tokens goes with --assistant-model');
  const model = await loadModelFromFlags(f);
  let options = await withAssistant(f, model, generateOptions(model, flags));
  const eos = options.eosTokenId === undefined ? model.config.eos_token_id : options.eosTokenId;
  const opening: ChatMessage[] = f.system !== undefined ? [{ role: 'system', content: f.system as string }] : [];
  let messages = [...opening];
  const interactive = process.stdin.isTTY === true;
  if (interactive) console.error('(a message, then Enter; !help lists the commands, !exit or Ctrl-D ends)');
  // Each turn's prompt starts with the last one's (and its reply): its cache is kept, so a turn
  // feeds only what is new (the reply, the next message) through the model.
  const session: ChatSession = { batcher: new GenerationBatcher(model, { autocast: precisionAutocast(f) }), cache: new PrefixCache(model.config.n_positions) };
  const lines = readline.createInterface({ input: process.stdin, terminal: false });
  const ask = () => { if (interactive) process.stderr.write('> '); };
  ask();
  try {
    for await (const line of lines) {
      const text = line.trim();
      if (text === '!exit') break;
      if (text === '!clear') { messages = [...opening]; ask(); continue; }
      if (text === '!help') { console.error(CHAT_HELP); ask(); continue; }
      if (text === '!save' || text.startsWith('!save ')) { saveConversation(text.slice('!save'.length).trim(), messages); ask(); continue; }
      if (text === '!set' || text.startsWith('!set ')) {
        try {
          const next = withSettings(f, text.slice('!set'.length));
          options = { ...checkedGenerateOptions(model, generateFlags(next, true)), assistantModel: options.assistantModel };
          f = next;
          console.error(`chat: ${decodingLine(options)}`);
        } catch (e) {
          const named = (e as Error).message.replace(/--([a-z][a-z-]*)/g, (flag, name: string) => (SETTABLE.includes(name) ? snake(name) : flag)); // (as !set names them)
          console.error(`chat: ${named}; the settings are as they were`);
        }
        ask();
        continue;
      }
      if (text === '!status') {
        const tokens = messages.length ? tokenizer.encode(tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true })).length : 0;
        console.error(`model: ${f.model}${f.adapter !== undefined ? ` with adapter ${f.adapter}` : ''} on ${f.device}, ${f.precision}${f['assistant-model'] !== undefined ? `; assistant ${f['assistant-model']}` : ''}`);
        console.error(`conversation: ${messages.length} messages, ${tokens} tokens of the model's ${model.config.n_positions}`);
        console.error(decodingLine(options));
        ask();
        continue;
      }
      if (!text) { ask(); continue; }
      messages.push({ role: 'user', content: line });
      const ids = tokenizer.encode(tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true }));
      checkVocabulary(model, ids, 'the conversation');
      if (ids.length >= model.config.n_positions) {
        messages.pop();
        console.error(`chat: the conversation is ${ids.length} tokens, the model's context ${model.config.n_positions}: !clear to start over`);
        ask();
        continue;
      }
      const stream = textStream((t) => tokenizer.decode(t, plain), options.stopStrings);
      const tokens = await generateReply(session, ids, options, (t) => stream.add(t));
      const reply = replyText(tokenizer.decode(newTokens(tokens, ids.length, eos, options.stopStrings, tokenizer), plain), options.stopStrings);
      stream.end(reply);
      messages.push({ role: 'assistant', content: reply });
      ask();
    }
  } finally {
    lines.close();
    session.cache.clear();
    model.dispose();
    options.assistantModel?.dispose();
  }
}

/** What !set may change: the decoding settings (named as HF's generation config, or as the flags). */
const SETTABLE = ['max-new-tokens', 'temperature', 'do-sample', 'top-k', 'top-p', 'min-p', 'typical-p', 'repetition-penalty', 'frequency-penalty', 'presence-penalty', 'no-repeat-ngram-size', 'seed', 'max-time', 'stop'];
const snake = (flag: string) => flag.replace(/-/g, '_');

const CHAT_HELP = `commands (HF's transformers chat's):
  !clear       start the conversation over (the system message kept)
  !save FILE   write the conversation so far to FILE: its messages as JSON ({"messages": [{role, content}, ...]})
  !set NAME=VALUE;...
               change decoding settings for the next replies, e.g. !set temperature=0.7;max_new_tokens=100
               (${SETTABLE.map(snake).join(', ')})
  !status      the model, the conversation's length and the decoding settings
  !help        this list
  !exit        end the chat (as Ctrl-D does)`;

/**
 * The flags with !set's settings (HF's: NAME=VALUE, several separated by ;), each value read as the
 * command line reads its flag. Throws saying what is wrong; the flags given are not changed.
 */
function withSettings(f: Record<string, unknown>, text: string): Record<string, unknown> {
  const settings = text.split(';').map((x) => x.trim()).filter(Boolean);
  if (!settings.length) throw new Error('!set needs NAME=VALUE, e.g. !set temperature=0.7;max_new_tokens=100');
  const settable: Spec = Object.fromEntries(SETTABLE.map((k) => [k, { ...generateSpec[k], default: undefined, required: false }]));
  const next = { ...f };
  for (const setting of settings) {
    const eq = setting.indexOf('=');
    if (eq < 1) throw new Error(`!set ${setting}: give NAME=VALUE, e.g. !set temperature=0.7`);
    const name = setting.slice(0, eq).trim(), value = setting.slice(eq + 1).trim();
    const flag = resolveFlag(settable, name);
    if (flag === undefined) throw new Error(`!set: '${name}' is not a setting chat can change; it can: ${SETTABLE.map(snake).join(', ')}`);
    if (settable[flag].type === 'boolean' && !['true', 'false'].includes(value)) throw new Error(`!set: ${name} is true or false, got '${value}'`);
    try {
      Object.assign(next, parseFlags('chat', [`--${flag}=${value}`], settable));
    } catch (e) {
      throw new Error(`!set: ${(e as Error).message.replace(/^--[\w-]+/, name).replace(/ \(see: .*\)$/, '')}`);
    }
  }
  return next;
}

/** The decoding settings in effect, as !set names them. */
function decodingLine(o: GenerateOptions): string {
  const sampling = o.doSample ?? (o.temperature ?? 0) > 0;
  const shown: [string, unknown][] = [['max_new_tokens', o.maxNewTokens], ['do_sample', sampling], ['temperature', o.temperature], ['top_k', o.topK], ['top_p', o.topP], ['min_p', o.minP],
    ['typical_p', o.typicalP], ['repetition_penalty', o.repetitionPenalty], ['frequency_penalty', o.frequencyPenalty], ['presence_penalty', o.presencePenalty],
    ['no_repeat_ngram_size', o.noRepeatNgramSize], ['seed', o.seed], ['max_time', o.maxTime], ['stop', o.stopStrings?.[0]]];
  return `decoding: ${shown.filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${typeof v === 'string' ? JSON.stringify(v) : v}`).join(' ')}`;
}

/** !save FILE: the conversation as TRL's messages (a row a training .jsonl takes), written whole or not at all. */
function saveConversation(file: string, messages: ChatMessage[]): void {
  if (!file) { console.error('chat: !save needs a file name: !save chat.json'); return; }
  try {
    writeFileAtomic(file, JSON.stringify({ messages }, null, 2) + '\n');
    console.error(`chat: ${messages.length} messages saved to ${file}`);
  } catch (e) {
    console.error(`chat: cannot save to ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); the chat goes on`);
  }
}

/** What the turns of a chat share: the generations' batcher (a step at a time) and the prompts' caches. */
interface ChatSession {
  batcher: GenerationBatcher;
  cache: PrefixCache;
}

/**
 * The reply's tokens (the conversation's first): generated a step at a time, so that Ctrl-C while
 * it is written ends the reply where it is (kept in the conversation, as shown), not the chat;
 * from the cache of the conversation's start where an earlier turn left it.
 */
async function generateReply(session: ChatSession, ids: number[], options: GenerateOptions, shown: (token: number) => void): Promise<number[]> {
  const stop = new AbortController();
  const interrupt = () => stop.abort();
  process.once('SIGINT', interrupt);
  const written: number[] = [];
  const past = session.cache.lookup(ids);
  try {
    const [tokens] = await session.batcher.generate([ids], {
      ...options, signal: stop.signal, pastKeyValues: past,
      onToken: ([t]) => { written.push(t); shown(t); },
    }, { prefilled: (cache) => session.cache.store(ids, cache) });
    return tokens;
  } catch (e) {
    if (!stop.signal.aborted) throw e;
    return [...ids, ...written];
  } finally {
    process.removeListener('SIGINT', interrupt);
    for (const t of past?.flat() ?? []) t.dispose();
  }
}
