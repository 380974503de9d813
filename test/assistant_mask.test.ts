// Assistant-only loss (TRL's assistant_only_loss): {% generation %} blocks in chat templates, the
// assistant mask transformers makes of them, and SFT learning only those tokens. The reference is
// test/fixtures/assistant_masks.json, written by transformers 5.17 itself
// (scripts/reference/make_assistant_mask_fixtures.py; transformers is not on Debian 12, so CI reads
// the file and does not remake it). The templates in test/fixtures/chat_templates are TRL 1.13's
// training templates (Apache-2.0), as TRL ships them.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as torch from '../lib';
import { saveTinyGpt2 } from './helpers';

interface Case { template: string; chat: string; options: string; tokenizer: string; text?: string; generation_indices?: [number, number][]; input_ids?: number[]; assistant_masks?: number[]; error?: string }
const FX = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'assistant_masks.json'), 'utf8')) as {
  special: Record<string, string>; chats: Record<string, torch.ChatMessage[]>; options: Record<string, { add_generation_prompt?: boolean; continue_final_message?: boolean }>;
  templates: Record<string, string>; cases: Case[]; offsets: { tokenizer: string; text: string; input_ids: number[]; offset_mapping: [number, number][] }[];
};
const TEMPLATES: Record<string, string> = { ...FX.templates };
const templateDir = path.join(__dirname, 'fixtures', 'chat_templates');
for (const f of fs.readdirSync(templateDir)) if (f.endsWith('.jinja')) TEMPLATES[f.slice(0, -'.jinja'.length)] = fs.readFileSync(path.join(templateDir, f), 'utf8');

let tmp: string;
let tokenizers: Record<string, torch.GPT2Tokenizer>;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-assistant-'));
  // GPT-2's tokenizer with <|im_start|> and <|im_end|> added as special tokens (50257, 50258), as the fixture's script makes it
  const dir = path.join(tmp, 'chatml-tokens');
  torch.tokenizer.savePretrained(dir);
  const configFile = path.join(dir, 'tokenizer_config.json');
  const config = JSON.parse(fs.readFileSync(configFile, 'utf8'));
  config.added_tokens_decoder = { ...config.added_tokens_decoder, 50257: { content: '<|im_start|>', special: true }, 50258: { content: '<|im_end|>', special: true } };
  fs.writeFileSync(configFile, JSON.stringify(config));
  tokenizers = { gpt2: torch.tokenizer, 'gpt2+chatml_tokens': torch.GPT2Tokenizer.fromFiles(dir) };
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** UTF-16 index -> code point index (Python's string indices) in `text`. */
const codePoints = (text: string, i: number) => Array.from(text.slice(0, i)).length;

test('offsets as transformers\' offset_mapping (GPT-2\'s byte-level BPE, added tokens, split characters)', () => {
  expect(FX.offsets.length).toBe(8);
  for (const o of FX.offsets) {
    const { ids, offsets } = tokenizers[o.tokenizer].encodeWithOffsets(o.text);
    expect(ids).toEqual(o.input_ids);
    expect(offsets.map(([s, e]) => [codePoints(o.text, s), codePoints(o.text, e)])).toEqual(o.offset_mapping);
  }
});

test('apply_chat_template(tokenize=True, return_assistant_tokens_mask=True) as transformers: 154 cases over 9 templates, 5 conversations, 3 option sets, 2 tokenizers', () => {
  expect(FX.cases.length).toBe(154);
  let compared = 0, refused = 0;
  for (const c of FX.cases) {
    const tok = tokenizers[c.tokenizer].withChatTemplate(TEMPLATES[c.template]);
    const o = FX.options[c.options];
    const opts = { addGenerationPrompt: o.add_generation_prompt, continueFinalMessage: o.continue_final_message };
    const run = () => tok.applyChatTemplate(FX.chats[c.chat], { ...opts, tokenize: true, returnAssistantTokensMask: true });
    const where = `${c.template} / ${c.chat} / ${c.options} / ${c.tokenizer}`;
    if (c.error !== undefined) {
      // (continue_final_message with the mask, and the templates' raise_exception)
      expect(run).toThrow(c.error.includes('continue_final_message') ? /continueFinalMessage does not go with returnAssistantTokensMask/ : /System role not supported/);
      refused++;
      continue;
    }
    const got = run();
    const rendered = tok.renderChat(FX.chats[c.chat], opts);
    expect([where, rendered.text]).toEqual([where, c.text]);
    expect([where, rendered.generationSpans.map(([s, e]) => [codePoints(rendered.text, s), codePoints(rendered.text, e)])]).toEqual([where, c.generation_indices]);
    expect([where, got.inputIds]).toEqual([where, c.input_ids]);
    expect([where, got.assistantMasks]).toEqual([where, c.assistant_masks]);
    expect(got.attentionMask.every((m) => m === 1)).toBe(true);
    compared++;
  }
  expect([compared, refused]).toEqual([108, 46]);
  // the masks do mark something: every reference case with an assistant reply has 1s
  expect(FX.cases.filter((c) => c.assistant_masks?.includes(1)).length).toBeGreaterThan(80);
});

test('CHATML_TRAINING_TEMPLATE: the fixture\'s, rendering as CHATML_TEMPLATE does; a template without blocks gives an all-0 mask; tags with whitespace controls', () => {
  expect(torch.CHATML_TRAINING_TEMPLATE).toBe(FX.templates.chatml_training);
  for (const chat of Object.values(FX.chats)) {
    for (const addGenerationPrompt of [false, true]) {
      expect(torch.renderChatTemplate(torch.CHATML_TRAINING_TEMPLATE, chat, FX.special, { addGenerationPrompt })).toBe(torch.renderChatTemplate(torch.CHATML_TEMPLATE, chat, FX.special, { addGenerationPrompt }));
    }
  }
  expect(torch.hasGenerationMarkers(torch.CHATML_TEMPLATE)).toBe(false);
  expect(['{%- generation %}', '{% generation -%}', '{%-generation-%}'].every((t) => torch.hasGenerationMarkers(`a${t}b{% endgeneration %}`))).toBe(true);
  const plain = torch.tokenizer.withChatTemplate(torch.CHATML_TEMPLATE).applyChatTemplate(FX.chats.two_turns, { tokenize: true, returnAssistantTokensMask: true });
  expect(plain.assistantMasks!.every((m) => m === 0)).toBe(true);
  expect(() => torch.tokenizer.withChatTemplate(torch.CHATML_TEMPLATE).applyChatTemplate(FX.chats.two_turns, { returnAssistantTokensMask: true } as never)).toThrow(/needs tokenize: true/);
  // the generation marks are the engine's own business: text holding them is refused, not misread
  expect(() => torch.renderChatTemplate(torch.CHATML_TRAINING_TEMPLATE, [{ role: 'user', content: 'a\uFDD0b' }])).toThrow(/noncharacters U\+FDD0/);
});

test('ExampleDataset on assistant spans: labels only on the mask (and past the prompt), truncation, an example with no assistant token refused', () => {
  const tok = torch.tokenizer.withChatTemplate(torch.CHATML_TRAINING_TEMPLATE);
  const chats = [FX.chats.two_turns, FX.chats.system];
  const rendered = chats.map((m) => tok.renderChat(m));
  const ds = torch.data.ExampleDataset.fromTexts(rendered.map((r) => r.text), { maxLength: 512, tokenizer: tok, addEos: false, assistantSpans: rendered.map((r) => r.generationSpans) });
  const masks = chats.map((m) => tok.applyChatTemplate(m, { tokenize: true, returnAssistantTokensMask: true }).assistantMasks!);
  const batch = ds.collate([0, 1]);
  const labels = batch.labels.tolist() as number[][];
  ds.examples.forEach((ids, r) => {
    expect(labels[r].slice(0, ids.length)).toEqual(Array.from(ids).map((id, k) => (masks[r][k] && k > 0 ? id : -100)));
    expect(labels[r].slice(ids.length).every((l) => l === -100)).toBe(true);
  });
  expect(ds.lossTokens([0, 1])).toBe(labels.flat().filter((l) => l !== -100).length);
  // the replies' tokens decode to the replies and their <|im_end|>\n
  const learned = (r: number) => torch.tokenizer.decode(Array.from(ds.examples[r]).filter((_, k) => masks[r][k]));
  expect(learned(1)).toBe(' Blue <|im_end|>\n');
  expect(learned(0)).toBe('Très bien 😀 merci.<|im_end|>\nVery well,\nthank you! 🎉<|im_end|>\n');
  // truncation keeps the start, its mask with it; a conversation cut before any reply is left out
  // (the first reply starts at token 36 of the first conversation, 49 of the second)
  const cut = torch.data.ExampleDataset.fromTexts(rendered.map((r) => r.text), { maxLength: 45, tokenizer: tok, addEos: false, assistantSpans: rendered.map((r) => r.generationSpans) });
  expect([cut.length, cut.dropped]).toEqual([1, 1]);
  expect(Array.from(cut.lossMasks[0]!)).toEqual(masks[0].slice(0, 45));
  expect(cut.lossTokens([0])).toBe(9);
  const sub = ds.subset(1, 2);
  expect(Array.from(sub.lossMasks[0]!)).toEqual(masks[1]);
  // prompt-completion with completion-only loss: both masks apply (TRL's build_labels)
  const whole = tok.renderChat(FX.chats.two_turns);
  const prompt = tok.applyChatTemplate(FX.chats.two_turns.slice(0, 3), { addGenerationPrompt: true });
  const pc = torch.data.ExampleDataset.fromPromptCompletions([{ prompt, completion: whole.text.slice(prompt.length), assistantSpans: whole.generationSpans }], { maxLength: 512, tokenizer: tok, addEos: false });
  const pcLabels = (pc.collate([0]).labels.tolist() as number[][])[0];
  const promptTokens = torch.tokenizer.encode(prompt).length;
  expect(pcLabels).toEqual(Array.from(pc.examples[0]).map((id, k) => (k >= promptTokens && masks[0][k] ? id : -100)));
  expect(torch.tokenizer.decode(pcLabels.filter((l) => l >= 0))).toBe('Very well,\nthank you! 🎉<|im_end|>\n');
  // no assistant token: TRL's refusal
  const userOnly = tok.renderChat([{ role: 'user', content: 'hello' }]);
  expect(() => torch.data.ExampleDataset.fromTexts([userOnly.text], { maxLength: 64, tokenizer: tok, addEos: false, assistantSpans: [userOnly.generationSpans] })).toThrow(/example 1 has no assistant tokens/);
});

test('the CLI: train and eval --assistant-only-loss learn and score the replies only (= the loss over the replies\' tokens, counted from the conversations\' structure); errors', async () => {
  const bin = path.join(__dirname, '..', 'dist', 'lib', 'cli', 'main.js');
  const cli = (...args: string[]) => {
    const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 300000 });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };
  const modelDir = await saveTinyGpt2(path.join(tmp, 'model'), { n_positions: 128 });
  const convs = Array.from({ length: 10 }, (_, i) => [
    { role: 'user', content: `What is ${i} plus ${i + 1}?` }, { role: 'assistant', content: `It is ${2 * i + 1}.` },
    { role: 'user', content: 'And doubled?' }, { role: 'assistant', content: `${4 * i + 2}.` },
  ]);
  const chats = path.join(tmp, 'chats.jsonl');
  fs.writeFileSync(chats, convs.map((m) => JSON.stringify({ messages: m })).join('\n') + '\n');
  const out = path.join(tmp, 'run');
  const t = cli('train', '--model', modelDir, '--data', chats, '--eval-data', chats, '--chat-template', 'chatml', '--assistant-only-loss', '--out', out, '--block-size', '96', '--batch-size', '4', '--max-steps', '2', '--lr', '1e-3');
  expect(t.err).toBe('');
  expect(fs.readFileSync(path.join(out, 'chat_template.jinja'), 'utf8')).toBe(torch.CHATML_TEMPLATE); // (the training variant only reads the data)
  const evals = fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.eval_loss !== undefined);
  const e = JSON.parse(cli('eval', '--model', modelDir, '--adapter', out, '--data', chats, '--block-size', '96', '--assistant-only-loss', '--json').out);
  expect(Math.abs(e.loss - evals[evals.length - 1].eval_loss)).toBeLessThan(1e-5);
  // the reference: each conversation's ids, 1 on the tokens of each reply and its "<|im_end|>\n", found by
  // tokenizing the rendering up to the reply and up to its end (ChatML's newlines split tokens cleanly)
  const examples = convs.map((m) => {
    const head = (upTo: number, tail: string) => torch.renderChatTemplate(torch.CHATML_TEMPLATE, m.slice(0, upTo), {}) + tail;
    const ids = torch.tokenizer.encode(torch.renderChatTemplate(torch.CHATML_TEMPLATE, m, {}));
    const lossMask = ids.map(() => 0);
    for (const a of [1, 3]) {
      const from = torch.tokenizer.encode(head(a, '<|im_start|>assistant\n')).length, to = torch.tokenizer.encode(head(a + 1, '')).length;
      for (let k = from; k < to; k++) lossMask[k] = 1;
    }
    return { ids, lossMask };
  });
  const model = await torch.GPT2LMHeadModel.fromPretrained(modelDir);
  await torch.lora.loadAdapter(model, out);
  const ref = torch.train.evaluate(model, new torch.data.ExampleDataset(examples, 96), { batchSize: 8 });
  expect(Math.abs(ref.loss - e.loss)).toBeLessThan(1e-5);
  expect(e.predictedTokens).toBe(examples.reduce((n, x) => n + x.lossMask.reduce((a, b) => a + b, 0), 0));
  const all = JSON.parse(cli('eval', '--model', modelDir, '--adapter', out, '--data', chats, '--block-size', '96', '--json').out);
  expect(all.predictedTokens).toBeGreaterThan(2 * e.predictedTokens); // (without the flag the questions count too)
  model.dispose();
  // errors
  const text = path.join(tmp, 'text.jsonl');
  fs.writeFileSync(text, '{"text": "plain words"}\n');
  expect(cli('eval', '--model', modelDir, '--data', text, '--chat-template', 'chatml', '--assistant-only-loss').err).toMatch(/text\.jsonl: assistant-only loss needs conversations .* not conversational/);
  const zephyr = path.join(tmp, 'zephyr.jinja');
  fs.writeFileSync(zephyr, "{% for m in messages %}<|{{ m.role }}|>\n{{ m.content }}</s>\n{% endfor %}");
  expect(cli('eval', '--model', modelDir, '--data', chats, '--chat-template', zephyr, '--assistant-only-loss').err).toMatch(/does not mark the assistant's replies with \{% generation %\}/);
  const prefs = path.join(tmp, 'prefs.jsonl');
  fs.writeFileSync(prefs, '{"prompt": "a", "chosen": "b", "rejected": "c"}\n');
  expect(cli('train', '--model', modelDir, '--data', prefs, '--assistant-only-loss', '--out', path.join(tmp, 'no')).err).toMatch(/--assistant-only-loss is SFT's .* not preference or KTO data/);
  const questions = path.join(tmp, 'questions.jsonl');
  fs.writeFileSync(questions, '{"messages": [{"role": "user", "content": "hi"}]}\n');
  expect(cli('eval', '--model', modelDir, '--data', questions, '--chat-template', 'chatml', '--assistant-only-loss').err).toMatch(/example 1 has no assistant tokens/);
  expect(fs.existsSync(path.join(tmp, 'no'))).toBe(false);
});
