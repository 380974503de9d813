// Corpora larger than a JavaScript string (about 512 M characters): a .txt is read in slices and
// JSON Lines a line at a time, each piece tokenized on its own (Tokenizer.encodeChunks), and the
// ids are those of the whole text. Slices are made small here so that the cuts happen; files too
// large to read whole in any other format are clear errors (a gzip of 512 MB of spaces).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { constants } from 'buffer';
import * as torch from '../lib';

const D = torch.data;
let tmp: string;
beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-large-')); });
afterAll(() => {
  D._setTextSliceBytes(16 << 20);
  fs.rmSync(tmp, { recursive: true, force: true });
});

// Brown reportage, and characters of 2, 3 and 4 UTF-8 bytes for the slices to cut through
const text = D.brownDocuments(['a']).slice(0, 4).map((d) => d.text).join('\n\n') + '\nCafé 東京 😀😀 naïve\r\nend  \n\n';

test('dataLines: a file\'s lines decoded one at a time from its bytes are text.split(\'\\n\')', () => {
  for (const content of ['', '\n', 'one', 'one\n', 'a\r\nb\n\nc 😀\n', text]) {
    const f = path.join(tmp, 'lines.txt');
    fs.writeFileSync(f, content);
    expect(Array.from(D.dataLines(f))).toEqual(content.split('\n'));
  }
});

test('a .txt read in slices of a few bytes gives the whole text, and its ids are encode(whole text)\'s', () => {
  const f = path.join(tmp, 'corpus.txt');
  fs.writeFileSync(f, text);
  D._setTextSliceBytes(7); // (a slice ends inside é, 東 and 😀 somewhere)
  try {
    const pieces = Array.from(D.readTrainingTextPieces(f));
    expect(pieces.length).toBeGreaterThan(1000);
    expect(pieces.join('')).toBe(text);
    expect(D.readTrainingText(f)).toBe(text);
    const ids = torch.tokenizer.encodeChunks(D.readTrainingTextPieces(f), { chunkChars: 64 });
    expect(Array.from(ids)).toEqual(torch.tokenizer.encode(text));
    // a folder of such files, and a cleaned file (cleaned whole, as before)
    fs.mkdirSync(path.join(tmp, 'folder'));
    fs.writeFileSync(path.join(tmp, 'folder', 'a.txt'), text);
    fs.writeFileSync(path.join(tmp, 'folder', 'b.jsonl'), ['x', 'y 😀'].map((t) => JSON.stringify({ text: t })).join('\n'));
    expect(Array.from(torch.tokenizer.encodeChunks(D.readTrainingTextPieces(path.join(tmp, 'folder')), { chunkChars: 10 }))).toEqual(torch.tokenizer.encode(text + 'xy 😀'));
    expect(Array.from(D.readTrainingTextPieces(f, { cleaning: 'basic' }))).toEqual([D.basicCleaning(text)]);
    // the ids cut into blocks without a copy: views of the one array, as new TextDataset(ids) cuts them
    const viewed = D.TextDataset.fromIds(ids, 32), copied = new D.TextDataset(Array.from(ids), 32);
    expect(viewed.blocks.map((b) => Array.from(b))).toEqual(copied.blocks.map((b) => Array.from(b)));
    expect(viewed.length).toBe(Math.floor(ids.length / 32));
    expect(viewed.blocks[1].buffer).toBe(ids.buffer);
  } finally {
    D._setTextSliceBytes(16 << 20);
  }
});

test('files too large for one string in a format read whole (a JSON array, CSV, a .txt to clean) are errors that say what to do', () => {
  // 512 MB of spaces, gzipped (half a megabyte on disk), behind a '['
  const big = Buffer.alloc(constants.MAX_STRING_LENGTH + 1, 0x20);
  big[0] = 0x5b;
  const gz = zlib.gzipSync(big, { level: 1 });
  for (const name of ['big.json.gz', 'big.csv.gz', 'big.txt.gz']) fs.writeFileSync(path.join(tmp, name), gz);
  expect(() => D.readRecords(path.join(tmp, 'big.json.gz'))).toThrow(/big\.json\.gz: 512 MB, a JSON array too large for one JavaScript string .*write it as JSON Lines/);
  expect(() => D.readTrainingText(path.join(tmp, 'big.csv.gz'))).toThrow(/big\.csv\.gz: 512 MB decompressed, more than one JavaScript string holds .*give it as \.txt or JSON Lines/);
  expect(() => Array.from(D.readTrainingTextPieces(path.join(tmp, 'big.txt.gz'), { cleaning: 'basic' }))).toThrow(/too large to clean as one text \(--cleaning basic\); train on it uncleaned \(--cleaning none\)/);
  expect(() => D.readTrainingText(path.join(tmp, 'big.txt.gz'))).toThrow(/more text than one JavaScript string holds .*encodeChunks/);
});

test('JSON Lines of plain texts read a line at a time (never all held): the texts readTrainingDocuments gives, lines cut across slices; other records refused where met', () => {
  const rows = [{ text: 'First, é.' }, { text: 'Second 東京\nline 😀', meta: 1 }, { text: '' }, { text: text }];
  const f = path.join(tmp, 'texts.jsonl');
  fs.writeFileSync(f, rows.map((r) => JSON.stringify(r)).join('\r\n') + '\n\n  \n' + JSON.stringify({ text: 'last, no newline' }));
  const expected = (D.readTrainingDocuments(f) as { texts: string[] }).texts;
  expect(expected).toHaveLength(5);
  D._setTextSliceBytes(7); // (lines, and é, 東 and 😀, cut across slices)
  try {
    expect(D.isPlainTextJsonl(f)).toBe(true);
    expect(Array.from(D.readTrainingTextPieces(f))).toEqual(expected);
    expect(Array.from(D.readTrainingTextPieces(f, { cleaning: 'basic' }))).toEqual(expected.map((t) => D.basicCleaning(t)));
    // gzipped: the same (decompressed, then a line at a time)
    fs.writeFileSync(f + '.gz', zlib.gzipSync(fs.readFileSync(f)));
    expect(Array.from(D.readTrainingTextPieces(f + '.gz'))).toEqual(expected);
    // another column named
    const g = path.join(tmp, 'articles.jsonl');
    fs.writeFileSync(g, [{ body: 'One.', text: 3 }, { body: 'Two.' }].map((r) => JSON.stringify(r)).join('\n'));
    expect([D.isPlainTextJsonl(g), D.isPlainTextJsonl(g, 'body')]).toEqual([false, true]);
    expect(Array.from(D.readTrainingTextPieces(g, { column: 'body' }))).toEqual(['One.', 'Two.']);
    // records of other kinds are not plain texts: read whole as before
    const kinds = { pairs: { prompt: 'Q', completion: 'A' }, tokenized: { input_ids: [1, 2], text: 'x' }, chat: { messages: [{ role: 'user', content: 'hi' }], text: 'x' } };
    for (const [name, row] of Object.entries(kinds)) {
      fs.writeFileSync(path.join(tmp, `${name}.jsonl`), JSON.stringify(row) + '\n');
      expect([name, D.isPlainTextJsonl(path.join(tmp, `${name}.jsonl`))]).toEqual([name, false]);
    }
    // a later line of another kind, not JSON, or without the field: an error naming the line
    const bad = (lines: string[]) => {
      fs.writeFileSync(path.join(tmp, 'bad.jsonl'), lines.join('\n'));
      return () => Array.from(D.readTrainingTextPieces(path.join(tmp, 'bad.jsonl')));
    };
    expect(bad(['{"text": "a"}', '{"messages": [{"role": "user", "content": "hi"}], "text": "b"}'])).toThrow(/bad\.jsonl:2: a conversation, prompt-completion pair or pre-tokenized row \(fields: messages, text\) after plain texts: give one kind of record a file/);
    expect(bad(['{"text": "a"}', '', '{"text": 5}'])).toThrow(/bad\.jsonl:3: no string field 'text' \(fields: text\); choose one with --text-column/);
    expect(bad(['{"text": "a"}', '{"text": "b"'])).toThrow(/bad\.jsonl:2: not a JSON line/);
    expect(bad(['{"text": "a"}', 'null'])).toThrow(/bad\.jsonl:2: a record must be a JSON object of fields, got null$/);
    expect(bad(['{"text": "a"}', '[1, 2]'])).toThrow(/bad\.jsonl:2: a record must be a JSON object of fields, got \[1,2\]$/);
    // a folder: plain-text JSON Lines all, or read as before
    const folder = path.join(tmp, 'jsonl-folder');
    fs.mkdirSync(folder);
    fs.copyFileSync(f, path.join(folder, 'a.jsonl'));
    fs.copyFileSync(g, path.join(folder, 'b.jsonl'));
    expect(D.isPlainTextJsonl(folder)).toBe(false);
    fs.copyFileSync(f, path.join(folder, 'b.jsonl'));
    expect(D.isPlainTextJsonl(folder)).toBe(true);
    expect(Array.from(D.readTrainingTextPieces(folder))).toEqual([...expected, ...expected]);
  } finally {
    D._setTextSliceBytes(16 << 20);
  }
});
