// Compressed data files (.jsonl.gz, .json.gz, .csv.gz, .txt.gz, and the same .zst: what many
// Hugging Face datasets ship, c4's json.gz shards and the Pile's jsonl.zst among them; datasets
// reads them by the extension before the compression's). Written here by Python's gzip module and
// the zstd command, they read exactly as the same files uncompressed.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as torch from '../lib';
import { saveTinyGpt2 } from './helpers';

const D = torch.data;
let tmp: string;
const files: Record<string, string> = {};
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-gzip-'));
  const write = (name: string, content: string | Buffer) => {
    files[name] = path.join(tmp, name);
    fs.writeFileSync(files[name], content);
  };
  write('pairs.jsonl', Array.from({ length: 6 }, (_, i) => JSON.stringify({ prompt: `Q: ${i} and ${i}?\nA:`, completion: ` ${2 * i}, é ${'😀'.repeat(i % 2)}` })).join('\n') + '\n');
  write('texts.json', JSON.stringify(['one text', 'two texts', 'three — texts'].map((text) => ({ text }))));
  write('pairs.csv', 'prompt,completion\n"Say, hi:", hello\nAsk:," ""why?"""\n');
  write('lines.txt', 'first line\n\nsecond line\nthird, last\n');
  write('Articles.csv', Buffer.from('Article,Heading\n"Caf\xe9 opens, at last",News\nSecond story,Other\n', 'latin1'));
  // gzip by Python (an independent writer), two of them written as several gzip members, as some tools do
  const r = spawnSync('/usr/bin/python3', ['-c', `
import gzip, sys
for f in sys.argv[1:]:
    data = open(f, "rb").read()
    with open(f + ".gz", "wb") as out:
        if f.endswith(".txt") or f.endswith(".json"):
            half = len(data) // 2
            out.write(gzip.compress(data[:half]) + gzip.compress(data[half:]))
        else:
            out.write(gzip.compress(data))
`, ...Object.values(files)], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  // zstd: a frame that knows its size (from a file), one that does not (from a pipe), and two frames in a row
  for (const f of Object.values(files)) {
    const z = spawnSync('bash', ['-c', `set -e; if [[ "$1" == *.txt || "$1" == *.json ]]; then head -c 20 "$1" | zstd -q -c > "$1.zst"; tail -c +21 "$1" | zstd -q -c >> "$1.zst"; elif [[ "$1" == *.csv ]]; then zstd -q -c < "$1" > "$1.zst"; else zstd -q -f "$1" -o "$1.zst"; fi`, '-', f], { encoding: 'utf8' });
    expect(z.stderr).toBe('');
  }
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

test.each(['gz', 'zst'])('every reader gives from name.%s what it gives from name: records, CSV (UTF-8 and the notebook\'s ISO-8859-1), text lines; folders list them', async (ext) => {
  const gz = (f: string) => `${f}.${ext}`;
  for (const name of ['pairs.jsonl', 'texts.json', 'pairs.csv', 'lines.txt']) {
    expect([name, D.readTrainingDocuments(gz(files[name]))]).toEqual([name, D.readTrainingDocuments(files[name])]);
  }
  expect(D.readRecords(gz(files['pairs.jsonl']), { raw: true }).map(([, r]) => r)).toEqual(D.readRecords(files['pairs.jsonl'], { raw: true }).map(([, r]) => r));
  expect(D.readRecords(gz(files['pairs.jsonl']), { raw: true })[2][0]).toBe(`${gz(files['pairs.jsonl'])}:3`);
  expect(D.readCsvRecords(gz(files['pairs.csv']))).toEqual(D.readCsvRecords(files['pairs.csv']));
  expect(D.readTrainingText(gz(files['Articles.csv']))).toBe(D.readTrainingText(files['Articles.csv']));
  expect(D.readTrainingText(gz(files['Articles.csv']))).toContain('Café');
  expect(D.readTrainingText(gz(files['lines.txt']))).toBe(fs.readFileSync(files['lines.txt'], 'utf8'));
  expect(D.isPromptCompletionCsv(gz(files['pairs.csv']))).toBe(true);
  // (a header or a first record read, the file is closed: no descriptor or reading thread left open)
  const openFiles = () => fs.readdirSync('/proc/self/fd').length;
  const before = openFiles();
  for (let k = 0; k < 20; k++) expect([D.isPromptCompletionCsv(gz(files['pairs.csv'])), D.isPlainTextJsonl(gz(files['pairs.jsonl']), 'prompt')]).toEqual([true, true]);
  // (a stopped worker's own files close once this thread's event loop sees it end: given up to 2 s of it; one left per call would be 20 or 40 more)
  for (let waited = 0; waited < 2000 && openFiles() >= before + 5; waited += 50) await new Promise((r) => setTimeout(r, 50));
  expect(openFiles()).toBeLessThan(before + 5);
  const folder = path.join(tmp, `folder-${ext}`);
  fs.mkdirSync(folder);
  for (const n of [`a.jsonl.${ext}`, 'b.jsonl', `c.parquet.${ext}`, 'notes.md']) fs.copyFileSync(n.startsWith('a') ? gz(files['pairs.jsonl']) : files['pairs.jsonl'], path.join(folder, n));
  expect(D.dataFilesIn(folder).map((f) => path.basename(f))).toEqual([`a.jsonl.${ext}`, 'b.jsonl']);
  // a split's slice of gzipped shards is written out plain
  const out = fs.mkdtempSync(path.join(tmp, `slice-${ext}-`));
  const sliced = D.sliceSplits({ train: [gz(files['pairs.jsonl'])] }, 'train[-2:]', out);
  expect(sliced.map((f) => path.basename(f))).toEqual(['00000-pairs.jsonl']);
  expect(D.readRecords(sliced[0], { raw: true }).map(([, r]) => r)).toEqual(D.readRecords(files['pairs.jsonl'], { raw: true }).slice(-2).map(([, r]) => r));
  // a damaged file says so
  const bad = path.join(tmp, `bad.jsonl.${ext}`);
  fs.writeFileSync(bad, fs.readFileSync(gz(files['pairs.jsonl'])).subarray(0, 30));
  expect(() => D.readTrainingDocuments(bad)).toThrow(new RegExp(`bad\\.jsonl\\.${ext}: not a readable ${ext === 'gz' ? 'gzip' : 'zstd'} file .*; a whole \\.${ext}, or the file without the \\.${ext} ending`));
  // read a slice at a time (a corpus of any size): the same text; cut short, the same error
  expect(Array.from(D.dataChunks(gz(files['lines.txt'])), (c) => Buffer.from(c).toString('latin1')).join('')).toBe(fs.readFileSync(files['lines.txt'], 'latin1'));
  expect(Array.from(D.readTrainingTextPieces(gz(files['pairs.jsonl']), { column: 'prompt' }))).toEqual(D.readJsonlColumn(files['pairs.jsonl'], 'prompt'));
  const cut = path.join(tmp, `cut.txt.${ext}`);
  fs.writeFileSync(cut, fs.readFileSync(gz(files['lines.txt'])).subarray(0, 30));
  expect(() => Array.from(D.readTrainingTextPieces(cut))).toThrow(new RegExp(`cut\\.txt\\.${ext}: not a readable ${ext === 'gz' ? 'gzip' : 'zstd'} file .*; a whole \\.${ext}`));
});

test('dataBytesHint: a gzip file\'s size decompressed from its trailer (its last member\'s, for several), a .zst\'s about 4 to 1, a plain file\'s size', () => {
  const size = (f: string) => fs.statSync(f).size;
  expect(D.dataBytesHint(`${files['pairs.jsonl']}.gz`)).toBe(size(files['pairs.jsonl']));
  expect(D.dataBytesHint(`${files['lines.txt']}.gz`)).toBe(size(files['lines.txt']) - Math.floor(size(files['lines.txt']) / 2)); // (two members: the last's half)
  expect(D.dataBytesHint(`${files['pairs.jsonl']}.zst`)).toBe(4 * size(`${files['pairs.jsonl']}.zst`));
  expect(D.dataBytesHint(files['pairs.csv'])).toBe(size(files['pairs.csv']));
});

test('the CLI: eval on a .jsonl.gz, .txt.gz and .jsonl.zst prints what it prints for the plain files; generate --prompts reads a .txt.gz', async () => {
  const bin = path.join(__dirname, '..', 'dist', 'lib', 'cli', 'main.js');
  const modelDir = await saveTinyGpt2(path.join(tmp, 'model'));
  const evalOf = (file: string, ...extra: string[]) => spawnSync(process.execPath, [bin, 'eval', '--model', modelDir, '--data', file, '--block-size', '16', '--json', ...extra], { encoding: 'utf8' });
  for (const [name, extra, ext] of [['pairs.jsonl', [], 'gz'], ['lines.txt', ['--no-packing'], 'gz'], ['pairs.jsonl', [], 'zst']] as const) {
    const [a, b] = [evalOf(`${files[name]}.${ext}`, ...extra), evalOf(files[name], ...extra)];
    expect(a.stderr).toBe('');
    expect(a.stdout).toBe(b.stdout);
  }
  const gen = (file: string) => spawnSync(process.execPath, [bin, 'generate', '--model', modelDir, '--prompts', file, '--max-new-tokens', '3'], { encoding: 'utf8' }).stdout;
  expect(gen(`${files['lines.txt']}.gz`)).toBe(gen(files['lines.txt']));
});
