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
