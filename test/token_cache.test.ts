// Tokenized text cached on disk (as HF's datasets caches map()): an entry is read back only for
// the same key, whole and with its checksum right; anything else is tokenized again.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as torch from '../lib';

const D = torch.data;
let tmp: string;
beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-token-cache-')); });
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('cachedTokenIds: made once, then read back equal; another key, overwrite, a damaged entry or an unwritable folder make them again', () => {
  const dir = path.join(tmp, 'cache');
  const text = D.brownDocuments(['a']).slice(0, 5).map((d) => d.text).join('\n\n');
  const expected = torch.tokenizer.encode(text);
  let made = 0;
  const make = () => { made++; return torch.tokenizer.encodeChunks([text], { chunkChars: 1000 }); };
  const key = { files: [['corpus.txt', 1, 2]], tokenizer: torch.tokenizer.fingerprint };
  const first = D.cachedTokenIds(key, make, { dir });
  expect([first.fromCache, first.damaged, made]).toEqual([false, false, 1]);
  expect(fs.statSync(first.file).size).toBe(24 + 4 * expected.length);
  const again = D.cachedTokenIds(key, make, { dir });
  expect([again.fromCache, made, again.file]).toEqual([true, 1, first.file]);
  expect(Array.from(again.ids)).toEqual(expected);
  // another key (a file changed: its stamp), or overwrite: made again
  expect(D.cachedTokenIds({ ...key, files: [['corpus.txt', 1, 3]] }, make, { dir }).fromCache).toBe(false);
  expect(D.cachedTokenIds(key, make, { dir, overwrite: true }).fromCache).toBe(false);
  expect(made).toBe(3);
  // a flipped id (the length right): the checksum catches it; made again and replaced
  const bytes = fs.readFileSync(first.file);
  bytes[24 + 4 * 10] ^= 1;
  fs.writeFileSync(first.file, bytes);
  const mended = D.cachedTokenIds(key, make, { dir });
  expect([mended.fromCache, mended.damaged, made]).toEqual([false, true, 4]);
  expect(Array.from(D.cachedTokenIds(key, make, { dir }).ids)).toEqual(expected);
  // cut short, or not an entry at all
  for (const bad of [bytes.subarray(0, bytes.length - 4), Buffer.from('not an entry')]) {
    fs.writeFileSync(first.file, bad);
    expect(D.cachedTokenIds(key, make, { dir }).damaged).toBe(true);
  }
  expect(made).toBe(6);
  // a temporary left by a killed writer is tidied when an entry is written
  const stale = path.join(dir, `.x.ids.tmp-999999999-1`);
  fs.writeFileSync(stale, 'half');
  D.cachedTokenIds({ other: 1 }, make, { dir });
  expect(fs.existsSync(stale)).toBe(false);
  // a folder that cannot be written: the ids all the same
  const file = path.join(tmp, 'a-file');
  fs.writeFileSync(file, '');
  const unwritable = D.cachedTokenIds(key, make, { dir: path.join(file, 'cache') });
  expect([unwritable.fromCache, Array.from(unwritable.ids)]).toEqual([false, expected]);
});

test('a tokenizer\'s fingerprint follows what decides its ids: tables, eos, chat template', () => {
  const gpt2 = torch.tokenizer.fingerprint;
  expect(torch.tokenizer.fingerprint).toBe(gpt2);
  expect(torch.tokenizer.withChatTemplate('{{ messages }}').fingerprint).not.toBe(gpt2);
  const dir = path.join(tmp, 'tok');
  torch.tokenizer.savePretrained(dir);
  expect(torch.GPT2Tokenizer.fromFiles(dir, { gpt2Fast: false }).fingerprint).toBe(gpt2); // (GPT-2's tables run by the other code path: the same ids)
  fs.writeFileSync(path.join(dir, 'added_tokens.json'), JSON.stringify({ '<|im_end|>': 50257 }));
  const added = torch.GPT2Tokenizer.fromFiles(dir);
  expect(added.fingerprint).not.toBe(gpt2);
  expect(added.withEosToken('<|im_end|>').fingerprint).not.toBe(added.fingerprint);
});
