// Prompts' key/value caches kept for later prompts that start the same (vLLM's prefix caching,
// by whole prompts): what a generation's prompt pass put through the model (GenerationBatcher's
// prefilled hook), handed to a later generate() as its pastKeyValues.
import { keep, tidy } from '../tensor/scope';
import type { LayerPast } from './gpt2';

/**
 * Prompts' key/value caches for later prompts that start the same (vLLM's prefix caching, by
 * whole prompts): a chat's next turn starts with its last prompt and reply, many requests with
 * one system prompt. A prompt takes the cache of the longest start it shares with a kept one (at
 * most all but its last token); the least recently used go first past `maxTokens` positions.
 */
export class PrefixCache {
  private entries: { tokens: number[]; past: LayerPast[] }[] = []; // (least recently used first)
  private held = 0;

  constructor(readonly maxTokens: number) {}

  /** Views of the cache for the longest start of `prompt` kept (the caller's to dispose), or undefined. */
  lookup(prompt: number[]): LayerPast[] | undefined {
    let best = -1, length = 0;
    this.entries.forEach((e, i) => {
      let common = 0;
      while (common < e.tokens.length && common < prompt.length - 1 && e.tokens[common] === prompt[common]) common++;
      if (common > length) [best, length] = [i, common];
    });
    if (best < 0) return undefined;
    const [entry] = this.entries.splice(best, 1);
    this.entries.push(entry);
    return tidy(() => entry.past.map(([k, v]) => [keep(k.narrow(2, 0, length)), keep(v.narrow(2, 0, length))] as LayerPast));
  }

  /** Keeps a copy of the cache of `prompt`: the first row's first prompt.length positions of `past`. */
  store(prompt: number[], past: readonly LayerPast[]): void {
    if (prompt.length > this.maxTokens || this.entries.some((e) => e.tokens.length === prompt.length && e.tokens.every((t, i) => t === prompt[i]))) return;
    // (a copy: views would hold the whole pass's cache, every row of it, as long as they are kept)
    const kept = tidy(() => past.map(([k, v]) => [keep(k.narrow(0, 0, 1).narrow(2, 0, prompt.length).clone()), keep(v.narrow(0, 0, 1).narrow(2, 0, prompt.length).clone())] as LayerPast));
    this.entries.push({ tokens: [...prompt], past: kept });
    this.held += prompt.length;
    while (this.held > this.maxTokens) this.drop(this.entries[0]);
  }

  /** How many prompts, and positions in all, are kept. */
  get size(): { prompts: number; tokens: number } {
    return { prompts: this.entries.length, tokens: this.held };
  }

  clear(): void {
    while (this.entries.length) this.drop(this.entries[0]);
  }

  private drop(entry: { tokens: number[]; past: LayerPast[] }): void {
    this.entries.splice(this.entries.indexOf(entry), 1);
    this.held -= entry.tokens.length;
    for (const t of entry.past.flat()) t.dispose();
  }
}
