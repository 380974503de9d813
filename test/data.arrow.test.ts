// Datasets saved by save_to_disk (Arrow stream files, state.json, dataset_info.json; a
// DatasetDict's folder of splits), against test/fixtures/arrow/expected.json: the rows datasets'
// own load_from_disk gave back (scripts/reference/make_arrow_fixtures.py, datasets 5).
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as torch from '../lib';
import { saveTinyGpt2 } from './helpers';

const D = torch.data;
const FX = path.join(__dirname, 'fixtures', 'arrow');
const expected = JSON.parse(fs.readFileSync(path.join(FX, 'expected.json'), 'utf8')) as {
  single: Record<string, unknown>[]; dict: Record<string, Record<string, unknown>[]>; class_labels: Record<string, string[]>;
};
const rowsOf = (dir: string) => D.dataFilesIn(dir).flatMap((f) => D.readRecords(f, { raw: true }).map(([, r]) => r));
let tmp: string;
beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-arrow-')); });
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('a saved Dataset reads to the rows load_from_disk gives (shards in state.json\'s order; int64, float32, bool, null, lists, structs, ClassLabel ids)', () => {
  expect(D.dataFilesIn(path.join(FX, 'single')).map((f) => path.basename(f))).toEqual(['data-00000-of-00002.arrow', 'data-00001-of-00002.arrow']);
  expect(rowsOf(path.join(FX, 'single'))).toEqual(expected.single);
  for (const split of ['train', 'validation']) expect(rowsOf(path.join(FX, 'dict', split))).toEqual(expected.dict[split]);
  expect(D.classLabelNames(path.join(FX, 'single'), ['label'])).toEqual(expected.class_labels.label);
  expect(D.classLabelNames(path.join(FX, 'dict', 'train'), ['ner_tags', 'tags'])).toEqual(expected.class_labels.tags);
  expect(D.classLabelNames(path.join(FX, 'single'), ['text', 'label'])).toBeUndefined(); // (the first column the data has: text, not a ClassLabel)
  expect(D.readLabelledTexts(path.join(FX, 'single'))).toHaveLength(7);
  expect(() => D.dataFilesIn(path.join(FX, 'dict'))).toThrow(/a DatasetDict saved by save_to_disk \(splits train, validation\): give one split's folder/);
  const broken = path.join(tmp, 'broken.arrow');
  fs.writeFileSync(broken, fs.readFileSync(path.join(FX, 'single', 'data-00000-of-00002.arrow')).subarray(0, 100));
  expect(() => D.readRecords(broken)).toThrow(/broken\.arrow: not a readable Arrow file/);
});

test('the CLI: --data DIR reads a saved DatasetDict\'s train split, --eval-data its validation split, DIR:SPLIT any; ClassLabel names from dataset_info.json', async () => {
  const bin = path.join(__dirname, '..', 'dist', 'lib', 'cli', 'main.js');
  const cli = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
  const modelDir = await saveTinyGpt2(path.join(tmp, 'model'));
  const out = path.join(tmp, 'run');
  const dict = path.join(FX, 'dict');
  const t = cli('train', '--model', modelDir, '--task', 'text-classification', '--data', dict, '--eval-data', dict, '--out', out, '--block-size', '16', '--batch-size', '4', '--max-steps', '1');
  expect(t.stderr).toBe('');
  expect(t.stdout).toMatch(/training: 7 labelled texts \(single label classification, 2 classes: neg, pos\)/);
  // the validation split = the same rows written as a .jsonl by hand, with the names given
  const jsonl = path.join(tmp, 'validation.jsonl');
  fs.writeFileSync(jsonl, expected.dict.validation.map((r) => JSON.stringify({ text: r.text, label: r.label })).join('\n') + '\n');
  const a = cli('eval', '--model', modelDir, '--adapter', out, '--data', `${dict}:validation`, '--block-size', '16', '--json');
  expect(a.stderr).toBe('');
  expect(a.stdout).toBe(cli('eval', '--model', modelDir, '--adapter', out, '--data', jsonl, '--label-names', 'neg,pos', '--block-size', '16', '--json').stdout);
  expect(JSON.parse(a.stdout).examples).toBe(3);
  expect(cli('eval', '--model', modelDir, '--adapter', out, '--data', dict, '--block-size', '16', '--json').stdout).toBe(a.stdout); // (eval reads validation)
  expect(cli('eval', '--model', modelDir, '--data', `${dict}:test`).stderr).toMatch(/the saved DatasetDict has no 'test' split \(it has train, validation\)/);
  // an LM on the texts of a saved Dataset (not a dict) reads its shards in order
  const lm = cli('eval', '--model', modelDir, '--data', path.join(FX, 'single'), '--block-size', '16', '--no-packing', '--json');
  expect(lm.stderr).toBe('');
  expect(JSON.parse(lm.stdout).blocks).toBe(7);
});
