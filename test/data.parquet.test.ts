// Parquet as Hugging Face `datasets` and pyarrow write it: every file of test/fixtures/parquet
// (scripts/reference/make_parquet_fixtures.py) must read to the rows its writer put beside it in
// a .jsonl, and the data readers must give from a .parquet what they give from that .jsonl.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as torch from '../lib';

const D = torch.data;
const FIX = path.join(__dirname, 'fixtures', 'parquet');
const pq = (name: string) => path.join(FIX, `${name}.parquet`);
const jsonl = (name: string) => path.join(FIX, `${name}.jsonl`);
const jsonRows = (name: string) => fs.readFileSync(jsonl(name), 'utf8').trim().split('\n').map((l) => JSON.parse(l));

let tmp: string;
beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-parquet-')); });
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('datasets\' Dataset.to_parquet files read to the rows it wrote (strings, ClassLabel ids, lists, booleans, floats; several row groups)', () => {
  for (const name of ['text', 'classification', 'ner', 'prompt_completion', 'preferences', 'kto', 'rewards']) {
    const data = D.readParquet(pq(name));
    expect(data.rows).toEqual(jsonRows(name));
    expect(data.columns).toEqual(Object.keys(jsonRows(name)[0]));
  }
  // its features: ClassLabel names for a label and for a list of labels (conll2003's ner_tags)
  expect(D.readParquet(pq('classification')).classLabels).toEqual({ label: ['negative', 'positive'] });
  expect(D.readParquetSchema(pq('ner')).classLabels).toEqual({ ner_tags: ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC'] });
  expect((D.readParquetSchema(pq('ner')).features as Record<string, { _type: string }>).tokens._type).toBe('List');
  expect(D.readParquet(pq('text')).classLabels).toEqual({});
  // the same path holding another file (a rewrite) reads as the new file
  const same = path.join(tmp, 'rewritten.parquet');
  fs.copyFileSync(pq('text'), same);
  expect(D.readParquet(same).rows).toEqual(jsonRows('text'));
  fs.copyFileSync(pq('kto'), same);
  expect(D.readParquet(same).rows).toEqual(jsonRows('kto'));
  // a choice of columns
  expect(D.readParquet(pq('classification'), { columns: ['label'] }).rows).toEqual(jsonRows('classification').map((r) => ({ label: r.label })));
});

test('pyarrow\'s codecs (none, snappy, gzip, zstd, brotli, lz4), data page v2 without a dictionary: the same rows', () => {
  const want = jsonRows('classification');
  for (const name of ['codec_none', 'codec_snappy', 'codec_gzip', 'codec_zstd', 'codec_brotli', 'codec_lz4', 'page_v2']) {
    expect(D.readParquet(pq(name)).rows).toEqual(want);
  }
});

test('nulls, structs in lists (chat messages) and int64 values past 2^53 (exact: as decimal strings)', () => {
  const want = JSON.parse(fs.readFileSync(path.join(FIX, 'nested.json'), 'utf8')) as Record<string, unknown>[];
  const rows = D.readParquet(pq('nested')).rows;
  expect(rows.map((r) => ({ ...r, big: String(r.big) }))).toEqual(want);
  expect(rows.map((r) => typeof r.big)).toEqual(['number', 'string', 'string', 'number']);
  expect(rows[1].big).toBe('9007199254740993');
  // a null where a reader needs a string: which row, and the columns
  expect(() => D.readJsonlColumn(pq('nested'), 'note')).toThrow(/nested\.parquet row 2: no string field 'note' \(fields: messages, score, big, note\)/);
});

test('the data readers give from a .parquet what they give from the same rows in a .jsonl', () => {
  expect(D.readTrainingText(pq('text'))).toBe(D.readTrainingText(jsonl('text')));
  expect(D.readTrainingDocuments(pq('text'))).toEqual(D.readTrainingDocuments(jsonl('text')));
  expect(D.readTrainingDocuments(pq('prompt_completion'))).toEqual(D.readTrainingDocuments(jsonl('prompt_completion')));
  expect('pairs' in D.readTrainingDocuments(pq('prompt_completion'))).toBe(true);
  expect(D.readPreferencePairs(pq('preferences'))).toEqual(D.readPreferencePairs(jsonl('preferences')));
  expect(D.readKTOExamples(pq('kto'))).toEqual(D.readKTOExamples(jsonl('kto')));
  expect(D.readKTOExamples(pq('kto'))!.filter((e) => e.label).length).toBe(jsonRows('kto').filter((r) => r.label).length);
  expect(D.readRewardPairs(pq('rewards'))).toEqual(D.readRewardPairs(jsonl('rewards')));
  expect(D.readLabelledTexts(pq('classification'), { textColumn: 'sentence' })).toEqual(D.readLabelledTexts(jsonl('classification'), { textColumn: 'sentence' }));
  expect(D.readTaggedExamples(pq('ner'))).toEqual(D.readTaggedExamples(jsonl('ner')));
  // each reader says no to other kinds of data, as for a .jsonl
  expect(D.readPreferencePairs(pq('text'))).toBeNull();
  expect(D.readKTOExamples(pq('preferences'))).toBeNull();
  // a .jsonl is told apart by its first record alone (a large corpus of texts is not parsed whole
  // to learn it holds no pairs): a broken later line is not reached here, only where the rows are read
  const texts = path.join(tmp, 'texts-then-broken.jsonl');
  fs.writeFileSync(texts, '{"text": "a"}\n{"text": "b"}\n{"text": broken\n');
  expect([D.readPreferencePairs(texts), D.readKTOExamples(texts)]).toEqual([null, null]);
  const pairs = path.join(tmp, 'pairs-then-broken.jsonl');
  fs.writeFileSync(pairs, '{"prompt": "a", "chosen": "b", "rejected": "c"}\n{"prompt": broken\n');
  expect(() => D.readPreferencePairs(pairs)).toThrow(/pairs-then-broken\.jsonl:2/);
});

test('ClassLabel names: a dataset built with them is the one built from the names themselves', () => {
  const tags = D.classLabelNames(pq('ner'), ['tags', 'ner_tags', 'pos_tags'])!;
  expect(tags).toEqual(['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC']);
  const byIds = new D.TokenClassificationDataset(D.readTaggedExamples(pq('ner')), { tagNames: tags, maxLength: 64 });
  const named = D.readTaggedExamples(jsonl('ner')).map((r) => ({ tokens: r.tokens, tags: r.tags.map((t) => tags[t as number]) }));
  const byNames = new D.TokenClassificationDataset(named, { labels: tags, maxLength: 64 });
  expect(byIds.labelNames).toEqual(tags);
  expect(byIds.examples.map((e) => Array.from(e))).toEqual(byNames.examples.map((e) => Array.from(e)));
  expect(byIds.labels.map((l) => Array.from(l))).toEqual(byNames.labels.map((l) => Array.from(l)));
  expect(D.classLabelNames(pq('classification'), ['label'])).toEqual(['negative', 'positive']);
  expect(D.classLabelNames(pq('classification'), ['idx'])).toBeUndefined();
  expect(D.classLabelNames(jsonl('classification'), ['label'])).toBeUndefined();
});

test('folders: .parquet shards (the hub\'s train-0000N-of-0000M.parquet) read in name order with .jsonl files; ClassLabel names must agree', () => {
  const dir = path.join(tmp, 'shards');
  fs.mkdirSync(dir);
  fs.copyFileSync(pq('text'), path.join(dir, 'train-00000-of-00002.parquet'));
  fs.copyFileSync(jsonl('prompt_completion').replace('prompt_completion', 'text'), path.join(dir, 'train-00001-of-00002.jsonl'));
  expect(D.dataFilesIn(dir).map((f) => path.basename(f))).toEqual(['train-00000-of-00002.parquet', 'train-00001-of-00002.jsonl']);
  expect(D.readTrainingText(dir)).toBe(D.readTrainingText(pq('text')).repeat(2));
  const labelled = path.join(tmp, 'labelled');
  fs.mkdirSync(labelled);
  fs.copyFileSync(pq('classification'), path.join(labelled, 'a.parquet'));
  fs.copyFileSync(pq('codec_zstd'), path.join(labelled, 'b.parquet'));
  expect(D.classLabelNames(labelled, ['label'])).toEqual(['negative', 'positive']);
  fs.copyFileSync(pq('classification_other_names'), path.join(labelled, 'c.parquet'));
  expect(() => D.classLabelNames(labelled, ['label'])).toThrow(/a\.parquet and .*c\.parquet name their ClassLabel ids differently \(negative,positive \/ bad,good\)/);
});

test('a missing, truncated or non-Parquet file: an error naming it', () => {
  expect(() => D.readParquet(path.join(tmp, 'none.parquet'))).toThrow(/none\.parquet: no such file/);
  const bytes = fs.readFileSync(pq('classification'));
  const cut = path.join(tmp, 'cut.parquet');
  fs.writeFileSync(cut, bytes.subarray(0, bytes.length - 40));
  expect(() => D.readParquet(cut)).toThrow(/cut\.parquet: not a readable Parquet file \(/);
  expect(() => D.readLabelledTexts(cut)).toThrow(/cut\.parquet: not a readable Parquet file/);
  // a footer that is whole but pages that are not
  const holed = path.join(tmp, 'holed.parquet');
  const damaged = Buffer.from(bytes);
  damaged.fill(0xff, 4, 400);
  fs.writeFileSync(holed, damaged);
  expect(() => D.readParquet(holed)).toThrow(/holed\.parquet: not a readable Parquet file/);
  const fake = path.join(tmp, 'fake.parquet');
  fs.writeFileSync(fake, '{"text": "a JSON line"}\n');
  expect(() => D.readTrainingText(fake)).toThrow(/fake\.parquet: not a readable Parquet file/);
});

test('.json data as Hugging Face\'s json loader reads it: JSON Lines (Dataset.to_json) or an array of objects', () => {
  expect(D.readTaggedExamples(path.join(FIX, 'ner_lines.json'))).toEqual(D.readTaggedExamples(jsonl('ner')));
  expect(D.readPreferencePairs(path.join(FIX, 'preferences_array.json'))).toEqual(D.readPreferencePairs(jsonl('preferences')));
  const bad = path.join(tmp, 'bad.json');
  fs.writeFileSync(bad, JSON.stringify([{ text: 'a', label: 'x' }, { text: 2, label: 'y' }]));
  expect(() => D.readLabelledTexts(bad)).toThrow(/bad\.json item 2: no string field 'text'/);
  // records that are no objects: said so, wherever they are read (not "fields: " of nothing)
  fs.writeFileSync(bad, JSON.stringify([{ text: 'a', label: 'x' }, null]));
  expect(() => D.readLabelledTexts(bad)).toThrow(/bad\.json item 2: a record must be a JSON object of fields, got null/);
  fs.writeFileSync(bad, JSON.stringify(['a', 'b']));
  expect(() => D.readTrainingText(bad)).toThrow(/bad\.json item 1: a record must be a JSON object of fields, got "a"/);
  expect(() => D.readPreferencePairs(bad)).toThrow(/bad\.json item 1: a record must be a JSON object of fields, got "a"/);
  fs.writeFileSync(bad, '[{"text": "a"},');
  expect(() => D.readTrainingText(bad)).toThrow(/bad\.json: not JSON \(.*\); give an array of objects or one object a line/);
  fs.writeFileSync(bad, '[]');
  expect(() => D.readTrainingText(bad)).toThrow(/bad\.json: no records/);
  fs.writeFileSync(bad, JSON.stringify({ version: 1, data: [{ text: 'a' }] }, null, 2));
  expect(() => D.readTrainingText(bad)).toThrow(/bad\.json: one JSON object \(fields: version, data\), not records: give an array of objects or one object a line/);
  fs.writeFileSync(bad, '{"text": "one record"}\n');
  expect(D.readTrainingText(bad)).toBe('one record');
  // a save_to_disk-like folder: datasets' metadata files are not data
  const dir = path.join(tmp, 'with-metadata');
  fs.mkdirSync(dir);
  fs.copyFileSync(path.join(FIX, 'ner_lines.json'), path.join(dir, 'train.json'));
  fs.writeFileSync(path.join(dir, 'dataset_info.json'), '{"features": {}}');
  fs.writeFileSync(path.join(dir, 'state.json'), '{"_split": "train"}');
  expect(D.dataFilesIn(dir).map((f) => path.basename(f))).toEqual(['train.json']);
});

test('text classification\'s text columns as run_classification: text, else sentence; several joined by a delimiter (GLUE\'s sentence pairs)', () => {
  // sst2's files have `sentence`, not `text`: the default finds it, in records and in CSV
  const rows = jsonRows('classification') as { sentence: string; label: number }[];
  expect(D.readLabelledTexts(pq('classification'))).toEqual(rows.map((r) => ({ text: r.sentence, label: r.label })));
  const csv = path.join(tmp, 'sst2.csv');
  fs.writeFileSync(csv, 'label,sentence\n' + rows.map((r) => `${r.label},"${r.sentence.replace(/"/g, '""')}"`).join('\n') + '\n');
  expect(D.readLabelledTexts(csv)).toEqual(rows.map((r) => ({ text: r.sentence, label: r.label })));
  // mrpc-style pairs
  const pairs = path.join(tmp, 'mrpc.jsonl');
  const pairRows = rows.slice(0, 5).map((r, i) => ({ sentence1: r.sentence, sentence2: rows[i + 5].sentence, label: r.label }));
  fs.writeFileSync(pairs, pairRows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  expect(D.readLabelledTexts(pairs, { textColumn: ['sentence1', 'sentence2'] })).toEqual(pairRows.map((r) => ({ text: `${r.sentence1} ${r.sentence2}`, label: r.label })));
  expect(D.readLabelledTexts(pairs, { textColumn: ['sentence1', 'sentence2'], textColumnDelimiter: ' | ' }).map((r) => r.text)).toEqual(pairRows.map((r) => `${r.sentence1} | ${r.sentence2}`));
  expect(D.readTextColumns(pairs, ['sentence2', 'sentence1'], '\n')).toEqual(pairRows.map((r) => `${r.sentence2}\n${r.sentence1}`));
  expect(() => D.readLabelledTexts(pairs)).toThrow(/mrpc\.jsonl:1: no string field 'text' \(fields: sentence1, sentence2, label\)/);
  expect(() => D.readLabelledTexts(pairs, { textColumn: ['sentence1', 'sentence3'] })).toThrow(/mrpc\.jsonl:1: no string field 'sentence3'/);
});

test('CSV data of TRL\'s kinds (as Python\'s csv module writes it): prompt-completion, preference pairs, KTO labels (True/False), reward margins', () => {
  // Python writes each CSV and prints the rows it wrote
  const py = spawnSync('/usr/bin/python3', ['-c', `
import csv, json, sys
out = sys.argv[1]
texts = ['plain', 'with, comma', 'with "quotes"', 'two\\nlines', 'café 東京 😀', ' lead space']
kinds = {
  'pc': (['prompt', 'completion'], [[texts[i], texts[(i + 1) % 6]] for i in range(6)]),
  'prefs': (['prompt', 'chosen', 'rejected'], [[texts[i], texts[(i + 2) % 6], texts[(i + 3) % 6]] for i in range(6)]),
  'kto': (['prompt', 'completion', 'label'], [[texts[i], texts[(i + 4) % 6], i % 2 == 0] for i in range(6)]),
  'rewards': (['chosen', 'rejected', 'margin'], [[texts[i], texts[(i + 5) % 6], i * 0.25 + 0.5] for i in range(6)]),
}
rows = {}
for name, (header, body) in kinds.items():
  with open(f'{out}/{name}.csv', 'w', newline='', encoding='utf-8') as f:
    w = csv.writer(f); w.writerow(header); w.writerows(body)
  rows[name] = [dict(zip(header, r)) for r in body]
print(json.dumps(rows))
`, tmp], { encoding: 'utf8' });
  expect(py.stderr).toBe('');
  const rows = JSON.parse(py.stdout) as Record<string, Record<string, unknown>[]>;
  const csv = (name: string) => path.join(tmp, `${name}.csv`);
  expect(D.readTrainingDocuments(csv('pc'))).toEqual({ pairs: rows.pc });
  expect(D.readPreferencePairs(csv('prefs'))).toEqual(rows.prefs);
  expect(D.readKTOExamples(csv('kto'))).toEqual(rows.kto);
  expect(D.readRewardPairs(csv('rewards'))).toEqual(rows.rewards);
  expect(D.readCsvRecords(csv('kto')).map((r) => typeof r.label)).toEqual(Array(6).fill('boolean'));
  // a CSV of other columns is still the notebook's kind of text (its Article column), not such data
  expect(D.readPreferencePairs(csv('pc'))).toBeNull();
  expect(() => D.readTrainingDocuments(csv('prefs'))).toThrow(/no column 'Article'/);
});
