// TRL's conversational data (trl/data_utils.py): rows whose prompt / completion / chosen /
// rejected / messages are lists of {role, content} messages, made into the text rows every
// trainer here reads by the tokenizer's chat template, as TRL's trainers do it: the implicit
// prompt of chosen / rejected conversations split off (maybe_extract_prompt), then the template
// applied (maybe_apply_chat_template). Tested against scripts/reference/chat_ref.py.
import type { ChatMessage, ChatTemplateOptions, RenderedChat } from '../models/chat_template';
import { sortedKeys } from '../io/json';

/** What renders a conversation: a tokenizer with a chat template (GPT2Tokenizer.applyChatTemplate; renderChat for assistant-only loss). */
export interface ChatRenderer {
  applyChatTemplate(messages: ChatMessage[], opts?: ChatTemplateOptions): string;
  renderChat?(messages: ChatMessage[], opts?: ChatTemplateOptions): RenderedChat;
}

/** How rows become text: assistantSpans also gives each rendering's {% generation %} spans (field assistant_spans), for assistant-only loss. */
export interface ConversationOptions {
  assistantSpans?: boolean;
}

const CONVERSATION_KEYS = ['prompt', 'chosen', 'rejected', 'completion', 'messages'];
const isMessages = (v: unknown): v is ChatMessage[] => Array.isArray(v) && v.length > 0 && v[0] !== null && typeof v[0] === 'object' && 'role' in v[0];

/** TRL's is_conversational: the row's first conversation field holds a list of {role, ...} messages. */
export function isConversational(row: Record<string, unknown>): boolean {
  const key = Object.keys(row).find((k) => CONVERSATION_KEYS.includes(k));
  return key !== undefined && isMessages(row[key]);
}

/** TRL's extract_prompt: the longest common prefix of chosen and rejected (messages or text) becomes the prompt. */
export function extractPrompt<T extends string | unknown[]>(row: { chosen: T; rejected: T }): { prompt: T; chosen: T; rejected: T } {
  const { chosen, rejected } = row;
  const n = Math.min(chosen.length, rejected.length);
  if (n === 0) throw new Error('a preference row\'s chosen and rejected must not be empty');
  // as TRL's loop: idx stays at the last index when one side starts with the other
  let idx = n - 1;
  for (let i = 0; i < n; i++) {
    if (!sameItem(chosen[i], rejected[i])) {
      idx = chosen.at(i - 1) === ' ' ? i - 1 : i; // (Python's chosen[-1] at i = 0)
      break;
    }
  }
  return { prompt: chosen.slice(0, idx) as T, chosen: chosen.slice(idx) as T, rejected: rejected.slice(idx) as T };
}

/** Python's == on JSON values (messages are dicts). */
function sameItem(a: unknown, b: unknown): boolean {
  return JSON.stringify(sortedKeys(a)) === JSON.stringify(sortedKeys(b));
}

/** TRL's maybe_extract_prompt: preference rows whose prompt is inside chosen and rejected get it split off. */
export function maybeExtractPrompt(row: Record<string, unknown>): Record<string, unknown> {
  if (!('chosen' in row) || !('rejected' in row)) return row;
  if ('prompt' in row) {
    const chosenConv = isConversational({ chosen: row.chosen }), promptConv = isConversational({ prompt: row.prompt });
    if (chosenConv === promptConv) return row;
  }
  // (as datasets' map: the row's other fields, chat_template_kwargs and tools, stay)
  return { ...row, ...extractPrompt(row as { chosen: string | unknown[]; rejected: string | unknown[] }) };
}

const commonPrefix = (a: string, b: string): string => {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return a.slice(0, i);
};

/**
 * TRL's apply_chat_template on one row: messages -> text; a prompt rendered with the generation
 * prompt (or, ending with the assistant, continued); each completion the rest of the whole
 * conversation's rendering after the prompt (the common prefix of the two).
 */
export function applyChatTemplateToRow(row: Record<string, unknown>, chat: ChatRenderer, opts: ConversationOptions = {}): Record<string, unknown> {
  const keys = Object.keys(row).filter((k) => [...CONVERSATION_KEYS, 'label'].includes(k)).sort().join(',');
  const allowed = ['messages', 'prompt', 'completion,prompt', 'chosen,prompt,rejected', 'chosen,rejected', 'completion,label,prompt'];
  if (!allowed.includes(keys)) throw new Error(`conversational row with fields ${keys}: TRL's formats are messages; prompt; prompt, completion; prompt, chosen, rejected; chosen, rejected; prompt, completion, label`);
  const kwargs = (row.chat_template_kwargs ?? {}) as Record<string, unknown>;
  // A tools column (TRL's tool-calling format: the JSON schemas of the functions the conversation may call) goes to the
  // template, as TRL's SFTTrainer passes tools=example.get("tools"); left out, a template's tool prompt was silently missing.
  const tools = row.tools ?? undefined;
  if (tools !== undefined && !(Array.isArray(tools) && tools.every((t) => t !== null && typeof t === 'object' && !Array.isArray(t)))) {
    throw new Error(`a row's tools must be a list of tool schemas (objects such as {"type": "function", "function": {...}}), got ${JSON.stringify(tools)?.slice(0, 80)}${typeof tools === 'string' ? ' (a JSON string: store the list itself)' : ''}`);
  }
  const templateOptions = { kwargs, tools: tools as Record<string, unknown>[] | undefined };
  const render = (messages: unknown, opts: ChatTemplateOptions = {}) => {
    if (!isMessages(messages)) throw new Error(`a conversational row's fields must all be lists of {role, content} messages, got ${JSON.stringify(messages)?.slice(0, 80)}`);
    return chat.applyChatTemplate(messages, { ...opts, ...templateOptions });
  };
  const out: Record<string, unknown> = {};
  if (opts.assistantSpans) {
    // (SFT's rows only: messages, or prompt and completion, whose whole rendering is prompt + completion)
    if (!('messages' in row) && !(keys === 'completion,prompt')) throw new Error(`assistant-only loss is for SFT's conversations (messages, or prompt and completion); this row has ${keys}`);
    if (!chat.renderChat) throw new Error('assistant-only loss: the chat renderer has no renderChat (give a GPT2Tokenizer)');
    const whole = 'messages' in row ? row.messages : [...(row.prompt as ChatMessage[]), ...(isMessages(row.completion) ? row.completion : [])];
    if (!isMessages(whole)) throw new Error(`a conversational row's fields must all be lists of {role, content} messages, got ${JSON.stringify(whole)?.slice(0, 80)}`);
    out.assistant_spans = chat.renderChat(whole, templateOptions).generationSpans;
  }
  if ('messages' in row) out.text = render(row.messages);
  if ('prompt' in row) {
    const prompt = row.prompt as ChatMessage[];
    const last = isMessages(prompt) ? prompt[prompt.length - 1].role : undefined;
    if (last !== 'user' && last !== 'tool' && last !== 'assistant') throw new Error(`a conversational prompt must end with a user, tool or assistant message, got ${JSON.stringify(last)}`);
    let p = render(prompt, last === 'assistant' ? { continueFinalMessage: true } : { addGenerationPrompt: true });
    const whole: Record<string, string> = {};
    for (const k of ['chosen', 'rejected', 'completion']) {
      if (!(k in row)) continue;
      if (!isMessages(row[k])) throw new Error(`a conversational row's ${k} must be a list of {role, content} messages`);
      whole[k] = render([...prompt, ...(row[k] as ChatMessage[])]);
      p = commonPrefix(p, whole[k]);
    }
    out.prompt = p;
    for (const [k, w] of Object.entries(whole)) out[k] = w.slice(p.length);
  } else {
    for (const k of ['chosen', 'rejected']) if (k in row) out[k] = render(row[k]);
  }
  // (TRL's output order: text, prompt, chosen, rejected, completion, label)
  const ordered: Record<string, unknown> = {};
  for (const k of ['text', 'prompt', 'chosen', 'rejected', 'completion']) if (k in out) ordered[k] = out[k];
  if ('label' in row) ordered.label = row.label;
  if ('assistant_spans' in out) ordered.assistant_spans = out.assistant_spans;
  return ordered;
}

/**
 * A row as TRL's trainers see it when any of its fields is a conversation: the implicit prompt
 * split off, then the chat template applied (chat: the tokenizer; without one, an error that
 * says what to do). Rows of text are returned as they are.
 */
export function conversationToText(row: Record<string, unknown>, chat?: ChatRenderer | null, opts: ConversationOptions = {}): Record<string, unknown> {
  if (!CONVERSATION_KEYS.some((k) => isMessages(row[k]))) return row;
  if (!chat) throw new Error('conversational data (lists of {role, content} messages) is made text by a chat template: give one (the model folder\'s tokenizer_config.json / chat_template.jinja, or --chat-template FILE, or chatml)');
  const r = maybeExtractPrompt(row);
  if (!isConversational(r)) throw new Error(`mixes conversations with text: ${Object.keys(r).filter((k) => CONVERSATION_KEYS.includes(k)).map((k) => `${k} ${isMessages(r[k]) ? 'messages' : typeof r[k]}`).join(', ')}; give all as messages`);
  return applyChatTemplateToRow(r, chat, opts);
}
