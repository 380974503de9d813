// Text streamed as a model writes it is held back where its ending may begin a tag or a stop
// string: the next token may complete it.

/** How many characters at the end of `text` may begin one of `tags` (the longest such ending; 0: none). */
export function heldEnding(text: string, tags: readonly string[]): number {
  let held = 0;
  for (const tag of tags) {
    for (let k = Math.min(tag.length - 1, text.length); k > held; k--) {
      if (text.endsWith(tag.slice(0, k))) { held = k; break; }
    }
  }
  return held;
}
