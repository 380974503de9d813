// Data: CSV as pandas reads it, the notebook's cleaning() against Python's re, Brown Corpus,
// TextDataset blocks, seeded shuffles.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as torch from '../lib';

const D = torch.data;
let tmp: string;
beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-data-')); });
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

test("cleaning() gives the same output as Python's re on the same input", () => {
  const samples = [
    'The company co-founder said: "Shares rose 12% (to $4.50)!" Visit https://example.com today, ok?',
    'Tabs\tand\nnewlines , with ,spaces  and __under_scores__ #hash @at $dollar',
    'Café naïve résumé — “quotes” … ½ 2nd 3rd\u00a0nbsp\u0085nel\u001cfs [\\w* literal',
    'coco cocoa second-co co. ,co ,, ,. a ,\nb',
    'KARACHI: The Pakistan stock exchange (PSX) closed at 33,000 points, up 1.2 percent.\r\n',
  ];
  const py = spawnSync('/usr/bin/python3', ['-c', `
import json, re, sys
def cleaning(s):
    s = str(s)
    s = re.sub('\\\\s\\\\W',' ',s)
    s = re.sub('\\\\W,\\\\s',' ',s)
    s = re.sub("\\\\d+", "", s)
    s = re.sub('\\\\s+',' ',s)
    s = re.sub('[!@#$_]', '', s)
    s = s.replace("co","")
    s = s.replace("https","")
    s = s.replace("[\\\\w*"," ")
    return s
print(json.dumps([cleaning(s) for s in json.load(sys.stdin)]))
`], { input: JSON.stringify(samples), encoding: 'utf8' });
  expect(py.stderr).toBe('');
  const expected = JSON.parse(py.stdout);
  samples.forEach((s, i) => expect(D.notebookCleaning(s)).toBe(expected[i]));
  expect(D.notebookCleaning('the company')).toBe('the mpany'); // the seed's documented quirk
});

test('Articles.csv: ISO-8859-1, quoted multi-line fields, dropna, column Article', () => {
  const csv = 'Article,Date,Heading,NewsType\r\n' +
    '"KARACHI: Stocks rose, and ""bulls"" cheered.\nSecond line caf\xe9.",1/1/2015,Stocks,business\r\n' +
    '"Missing date",,Nope,sports\r\n' +
    'Plain article,2/1/2015,Other,sports\r\n';
  const file = path.join(tmp, 'Articles.csv');
  fs.writeFileSync(file, Buffer.from(csv, 'latin1'));
  const col = D.readCsvColumn(file, 'Article');
  expect(col).toEqual(['KARACHI: Stocks rose, and "bulls" cheered.\nSecond line café.', 'Plain article']);
  expect(() => D.readCsvColumn(file, 'Body')).toThrow(/no column 'Body'.*Article, Date/);
  fs.writeFileSync(path.join(tmp, 'bad.csv'), 'Article,Date\n"unterminated,1\n');
  expect(() => D.readCsvColumn(path.join(tmp, 'bad.csv'), 'Article')).toThrow(/unterminated quoted field starting on line 2/);
  fs.writeFileSync(path.join(tmp, 'ragged.csv'), 'Article,Date\na,1,2\n');
  expect(() => D.readCsvColumn(path.join(tmp, 'ragged.csv'), 'Article')).toThrow(/row 2 has 3 fields/);
  const text = D.readTrainingText(file);
  expect(text).toBe(D.notebookCleaning(col[0]) + D.notebookCleaning(col[1]));
  expect(() => D.readTrainingText(path.join(tmp, 'missing.txt'))).toThrow(/no such file/);
});

test('Brown Corpus: tags stripped, categories selectable', () => {
  expect(D.brownFileIds(['a']).length).toBe(44);
  expect(D.brownFileIds(['a', 'b', 'c']).length).toBe(88);
  const doc = D.brownDocument('ca01');
  expect(doc.startsWith('The Fulton County Grand Jury said Friday an investigation of')).toBe(true);
  expect(doc).not.toMatch(/\/(at|nn|vbd)\b/);
});

test('TextDataset: whole-text BPE, non-overlapping blocks, remainder dropped', () => {
  const tokens = Array.from({ length: 23 }, (_, i) => i);
  const ds = new D.TextDataset(tokens, 5);
  expect(ds.length).toBe(4);
  expect(Array.from(ds.blocks[1])).toEqual([5, 6, 7, 8, 9]);
  expect(ds.batch([3, 0]).tolist()).toEqual([[15, 16, 17, 18, 19], [0, 1, 2, 3, 4]]);
  const [train, held] = ds.split(0.25);
  expect([train.length, held.length]).toEqual([3, 1]);
  const fromText = D.TextDataset.fromText('Hello world, the jury said.', 2);
  expect(Array.from(fromText.blocks[0])).toEqual(torch.tokenizer.encode('Hello world, the jury said.').slice(0, 2));
  expect(() => new D.TextDataset(tokens, 1)).toThrow(/block size/);
});

test('seeded per-epoch shuffles: repeatable, different per epoch, last partial batch kept', () => {
  const a = D.epochBatches(10, 4, { shuffle: true, seed: 42, epoch: 0 });
  expect(a.map((b) => b.length)).toEqual([4, 4, 2]);
  expect(D.epochBatches(10, 4, { shuffle: true, seed: 42, epoch: 0 })).toEqual(a);
  expect(D.epochBatches(10, 4, { shuffle: true, seed: 42, epoch: 1 })).not.toEqual(a);
  expect(a.flat().sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

test('a .jsonl is one document a line (its text field, or the one named): read by Python\'s json, concatenated', () => {
  const docs = ['First "document",\nwith a newline.', 'Second: ünïcödé and \\ backslash ', '{not: an object} but a string'];
  const file = path.join(tmp, 'docs.jsonl');
  // Written by Python's json.dumps (its escapes, ensure_ascii), with a blank line and other fields.
  const py = spawnSync('/usr/bin/python3', ['-c', `
import json, sys
docs = json.load(sys.stdin)
with open(sys.argv[1], "w") as f:
    for i, d in enumerate(docs):
        f.write(json.dumps({"id": i, "text": d, "body": d.upper()}) + "\\n" + ("\\n" if i == 0 else ""))
`, file], { input: JSON.stringify(docs), encoding: 'utf8' });
  expect(py.stderr).toBe('');
  expect(D.readTrainingText(file)).toBe(docs.join(''));
  expect(D.readTrainingText(file, { column: 'body' })).toBe(docs.map((d) => d.toUpperCase()).join(''));
  expect(() => D.readTrainingText(file, { column: 'title' })).toThrow(/docs\.jsonl:1: no string field 'title' \(fields: id, text, body\); choose one with --text-column/);
  fs.writeFileSync(file, '{"text": "ok"}\n{"text": "broken\n');
  expect(() => D.readTrainingText(file)).toThrow(/docs\.jsonl:2: not a JSON line/);
  fs.writeFileSync(file, '\n\n');
  expect(() => D.readTrainingText(file)).toThrow(/no JSON lines/);
});

test('a folder of data files reads as its .txt / .csv / .jsonl files in name order, one after the other', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-data-folder-'));
  fs.writeFileSync(path.join(dir, 'b.txt'), 'second file.\n');
  fs.writeFileSync(path.join(dir, 'a.txt'), 'The first file,\n');
  fs.writeFileSync(path.join(dir, 'c.jsonl'), JSON.stringify({ text: ' and a third.' }) + '\n');
  fs.writeFileSync(path.join(dir, 'notes.md'), 'left out');
  fs.mkdirSync(path.join(dir, 'sub'));
  fs.writeFileSync(path.join(dir, 'sub', 'd.txt'), 'left out too');
  expect(torch.data.readTrainingText(dir)).toBe('The first file,\nsecond file.\n and a third.');
  expect(torch.data.readTrainingDocuments(dir)).toEqual({ texts: ['The first file,', 'second file.', ' and a third.'] });
  fs.writeFileSync(path.join(dir, 'd.jsonl'), JSON.stringify({ prompt: 'Q', completion: 'A' }) + '\n');
  expect(() => torch.data.readTrainingDocuments(dir)).toThrow(/d.jsonl holds prompt-completion pairs but .*a.txt texts; give a folder of one kind/);
  const pairs = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-data-pairs-'));
  fs.writeFileSync(path.join(pairs, 'x.jsonl'), JSON.stringify({ prompt: 'Q1', completion: 'A1' }) + '\n');
  fs.writeFileSync(path.join(pairs, 'y.jsonl'), JSON.stringify({ prompt: 'Q2', completion: 'A2' }) + '\n');
  expect(torch.data.readTrainingDocuments(pairs)).toEqual({ pairs: [{ prompt: 'Q1', completion: 'A1' }, { prompt: 'Q2', completion: 'A2' }] });
  // folders of preference pairs, KTO examples, reward pairs: all of one kind, or an error naming a file of each
  const kinds = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-data-kinds-'));
  fs.writeFileSync(path.join(kinds, 'a.jsonl'), JSON.stringify({ prompt: 'Q', completion: 'A', label: true }) + '\n');
  fs.writeFileSync(path.join(kinds, 'b.jsonl'), JSON.stringify({ prompt: 'Q', completion: 'B', label: false }) + '\n');
  expect(torch.data.readKTOExamples(kinds)!.map((e) => e.label)).toEqual([true, false]);
  expect([torch.data.readPreferencePairs(kinds), torch.data.readRewardPairs(kinds)]).toEqual([null, null]);
  fs.writeFileSync(path.join(kinds, 'c.jsonl'), JSON.stringify({ prompt: 'Q', chosen: 'A', rejected: 'B' }) + '\n');
  expect(() => torch.data.readKTOExamples(kinds)).toThrow(/a.jsonl holds KTO examples \(prompt, completion, label\) but .*c.jsonl does not; give a folder of one kind/);
  expect(() => torch.data.readPreferencePairs(kinds)).toThrow(/c.jsonl holds preference pairs but .*a.jsonl does not/);
  expect(() => torch.data.readRewardPairs(kinds)).toThrow(/c.jsonl holds chosen \/ rejected pairs but .*a.jsonl does not/);
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-data-empty-'));
  expect(() => torch.data.readTrainingText(empty)).toThrow(/a folder without .txt, .csv, .jsonl, .json or .parquet files/);
  for (const d of [dir, pairs, empty]) fs.rmSync(d, { recursive: true, force: true });
});
