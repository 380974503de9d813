// Chat templates as Hugging Face's apply_chat_template renders them: the model folder's Jinja
// template (tokenizer_config.json's chat_template, or chat_template.jinja) run by
// @huggingface/jinja (transformers.js's engine), made to render as Jinja2 by jinja_python.ts and
// jinja_filters.ts (trim_blocks and lstrip_blocks as transformers sets them, raise_exception,
// tojson, strftime_now), with the tokenizer's special tokens as variables. Tested against
// transformers' rendering (scripts/reference/chat_ref.py).
import { Template } from '@huggingface/jinja';
import { compileJinja } from './jinja_python'; // (the engine's operators and printing made Python's, as transformers' Jinja2 has them)
import './jinja_filters'; // (and Jinja2's filters and tests, Python's string methods)

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

const compiled = new Map<string, Template>(); // (as transformers' lru_cache: one parse per template, the 128 used last)

/** A rendering and where its {% generation %} blocks are (transformers' generation_indices), as [start, end) string indices. */
export interface RenderedChat {
  text: string;
  generationSpans: [number, number][];
}

// transformers renders `{% generation %} ... {% endgeneration %}` (the assistant's part, for
// return_assistant_tokens_mask) by an extension that records where each block's output starts and
// ends. Here the tags become a call block (what the extension parses them into), same whitespace
// controls, whose macro puts two noncharacters around the block's output; they are taken out after.
const GENERATION_TAG = /\{%([-+]?)\s*generation\s*([-+]?)%\}/g, END_GENERATION_TAG = /\{%([-+]?)\s*endgeneration\s*([-+]?)%\}/g;
const OPEN_MARK = '\uFDD0', CLOSE_MARK = '\uFDD1';
// (the definition ends with a block tag and a newline, which trim_blocks eats: the template's first line stays a line start)
const GENERATION_MACRO = `{% macro __tstorch_generation() %}${OPEN_MARK}{{ caller() }}${CLOSE_MARK}{% endmacro %}\n`;

/** Whether a template marks the assistant's output with {% generation %} blocks (TRL's has_generation_markers). */
export function hasGenerationMarkers(template: string): boolean {
  return /\{%[-+]?\s*generation\s*[-+]?%\}/.test(template);
}

function compile(template: string): Template {
  let t = compiled.get(template);
  if (t) {
    compiled.delete(template);
    compiled.set(template, t);
    return t;
  }
  let source = template;
  if (hasGenerationMarkers(template)) {
    source = GENERATION_MACRO + template.replace(GENERATION_TAG, '{%$1 call __tstorch_generation() $2%}').replace(END_GENERATION_TAG, '{%$1 endcall $2%}');
  }
  try {
    t = compileJinja(source);
  } catch (e) {
    throw new Error(`chat template: not a template this engine can read (${(e as Error).message})`);
  }
  if (compiled.size >= 128) compiled.delete(compiled.keys().next().value!); // (the one used longest ago: a hit moves its entry last)
  compiled.set(template, t);
  return t;
}

/** The rendering without the generation marks, and the [start, end) of each marked block in it (nested blocks inside out, as recorded). */
function takeOutMarks(marked: string): RenderedChat {
  const spans: [number, number][] = [], open: number[] = [];
  let text = '';
  let from = 0;
  for (let i = 0; i < marked.length; i++) {
    const c = marked[i];
    if (c !== OPEN_MARK && c !== CLOSE_MARK) continue;
    text += marked.slice(from, i);
    from = i + 1;
    if (c === OPEN_MARK) open.push(text.length);
    else spans.push([open.pop()!, text.length]);
  }
  return { text: text + marked.slice(from), generationSpans: spans };
}

// (transformers marks the final message's end with this, then cuts the rendering there)
const CONTINUE_TAG = 'CONTINUE_FINAL_MESSAGE_TAG ';

/**
 * A conversation rendered by `template` as transformers' apply_chat_template(conversation,
 * tokenize=False, ...): `special` are the tokenizer's special tokens by name (bos_token,
 * eos_token, ...), passed as variables with the options' kwargs over them.
 */
export function renderChatTemplate(template: string, messages: ChatMessage[], special: Record<string, string> = {}, opts: ChatTemplateOptions = {}): string {
  return renderChatTemplateSpans(template, messages, special, opts).text;
}

/**
 * renderChatTemplate, and where the template's {% generation %} blocks put their output: the
 * spans transformers' apply_chat_template(..., return_assistant_tokens_mask=True) turns into the
 * assistant mask. As there, they are positions in the whole rendering, before a continued final
 * message is cut off (a span may reach past the text's end).
 */
export function renderChatTemplateSpans(template: string, messages: ChatMessage[], special: Record<string, string> = {}, opts: ChatTemplateOptions = {}): RenderedChat {
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
  const t = compile(template);
  // (only a template with generation blocks has marks to take out; its inputs must not hold them)
  const marked = hasGenerationMarkers(template);
  if (marked) {
    const inputs = JSON.stringify([messages, special, opts.kwargs, opts.tools, opts.documents]) ?? '';
    if (inputs.includes(OPEN_MARK) || inputs.includes(CLOSE_MARK)) throw new Error('chat template: the conversation holds the noncharacters U+FDD0 / U+FDD1, which mark generation blocks here; take them out');
  }
  let rendered: string, generationSpans: [number, number][];
  try {
    const out = t.render({
      ...special, ...opts.kwargs,
      messages: chat, tools: opts.tools ?? null, documents: opts.documents ?? null, add_generation_prompt: Boolean(opts.addGenerationPrompt),
    });
    ({ text: rendered, generationSpans } = marked ? takeOutMarks(out) : { text: out, generationSpans: [] });
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
  return { text: rendered, generationSpans };
}
