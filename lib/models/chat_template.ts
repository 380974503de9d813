// Chat templates as Hugging Face's apply_chat_template renders them: the model folder's Jinja
// template (tokenizer_config.json's chat_template, or chat_template.jinja) run by
// @huggingface/jinja (transformers.js's engine: trim_blocks and lstrip_blocks as transformers
// sets them, raise_exception, tojson, strftime_now), with the tokenizer's special tokens as
// variables. Tested against transformers' rendering (scripts/reference/chat_ref.py).
import { Template } from '@huggingface/jinja';

/** One turn of a conversation: a role (system, user, assistant, tool) and its content. */
export interface ChatMessage {
  role: string;
  content?: string | { type: string; text?: string; [k: string]: unknown }[] | null;
  [k: string]: unknown;
}

export interface ChatTemplateOptions {
  /** End with the header that starts the assistant's reply (HF's add_generation_prompt). */
  addGenerationPrompt?: boolean;
  /** Leave the last message open, to be continued (HF's continue_final_message): a prefill. */
  continueFinalMessage?: boolean;
  /** Tool schemas for templates that describe tools (HF's tools). */
  tools?: Record<string, unknown>[];
  /** Documents for retrieval templates (HF's documents). */
  documents?: Record<string, unknown>[];
  /** Further template variables (HF's **kwargs; e.g. enable_thinking). */
  kwargs?: Record<string, unknown>;
}

const compiled = new Map<string, Template>(); // (as transformers' lru_cache: one parse per template)

// (transformers marks the final message's end with this, then cuts the rendering there)
const CONTINUE_TAG = 'CONTINUE_FINAL_MESSAGE_TAG ';

/**
 * A conversation rendered by `template` as transformers' apply_chat_template(conversation,
 * tokenize=False, ...): `special` are the tokenizer's special tokens by name (bos_token,
 * eos_token, ...), passed as variables with the options' kwargs over them.
 */
export function renderChatTemplate(template: string, messages: ChatMessage[], special: Record<string, string> = {}, opts: ChatTemplateOptions = {}): string {
  if (!Array.isArray(messages) || !messages.length) throw new Error('chat template: cannot apply a chat template to an empty conversation; give at least one message');
  for (const [i, m] of messages.entries()) {
    if (m === null || typeof m !== 'object' || typeof m.role !== 'string') throw new Error(`chat template: message ${i} is not a {role, content} object: ${JSON.stringify(m)}`);
  }
  if (opts.continueFinalMessage && opts.addGenerationPrompt) {
    throw new Error('chat template: continueFinalMessage and addGenerationPrompt do not go together: continue the final message, or start a new assistant one');
  }
  let chat = messages;
  let finalText = '';
  if (opts.continueFinalMessage) {
    chat = structuredClone(messages);
    const last = chat[chat.length - 1];
    if (last.content === undefined || last.content === null) throw new Error('chat template: continueFinalMessage, but the final message has no content to continue');
    if (!template.includes('content')) throw new Error('chat template: continueFinalMessage, but the template does not use the messages\' content');
    if (Array.isArray(last.content)) {
      const block = [...last.content].reverse().find((b) => typeof b.text === 'string');
      if (!block) throw new Error('chat template: continueFinalMessage, but the final message has no text to continue');
      finalText = block.text!;
      block.text = finalText + CONTINUE_TAG;
    } else {
      finalText = String(last.content);
      last.content = finalText + CONTINUE_TAG;
    }
  }
  let t = compiled.get(template);
  if (!t) {
    try {
      t = new Template(template);
    } catch (e) {
      throw new Error(`chat template: not a template this engine can read (${(e as Error).message})`);
    }
    compiled.set(template, t);
  }
  let rendered: string;
  try {
    rendered = t.render({
      ...special, ...opts.kwargs,
      messages: chat, tools: opts.tools ?? null, documents: opts.documents ?? null, add_generation_prompt: Boolean(opts.addGenerationPrompt),
    });
  } catch (e) {
    throw new Error(`chat template: ${(e as Error).message}`);
  }
  if (opts.continueFinalMessage) {
    const tag = CONTINUE_TAG.trim();
    if (!rendered.includes(finalText.trim()) || !rendered.includes(tag)) {
      throw new Error('chat template: continueFinalMessage, but the final message does not appear in the rendering (the template changes it)');
    }
    const at = rendered.lastIndexOf(tag);
    rendered = rendered.slice(at, at + CONTINUE_TAG.length) === CONTINUE_TAG ? rendered.slice(0, at) : rendered.slice(0, at).trimEnd();
  }
  return rendered;
}
