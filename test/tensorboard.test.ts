// torch.utils.tensorboard.SummaryWriter against an independent reader and PyTorch's own summary
// code (scripts/reference/tensorboard_ref.py): the event files' TFRecord framing and CRC-32C
// checksums, the Event/Summary protobufs, scalars and steps, histograms equal to PyTorch's
// make_histogram on the same values (default, equal and given bins, maxBins), images equal to
// PyTorch's conversion (CHW/HWC/HW, a batch tiled by make_grid) after a PNG round trip, text; the
// files' names and folders, queueing and flushing, and the refusals.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import * as torch from '../lib';

const { SummaryWriter } = torch.utils.tensorboard;
const REF = path.join(__dirname, '..', 'scripts', 'reference');

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-tb-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Runs Python with the reference module importable as `ref` and `data` read from stdin; the code prints JSON. */
function python<T = any>(code: string, data: unknown = null): T {
  const r = spawnSync('/usr/bin/python3', ['-W', 'ignore', '-c', `import sys, json\nimport numpy as np\nimport tensorboard_ref as ref\ndata = json.load(sys.stdin)\n${code}`],
    { input: JSON.stringify(data), encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, PYTHONPATH: REF } });
  if (r.status !== 0) throw new Error(`python failed:\n${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

function readEvents(file: string): any[] {
  return python('print(json.dumps(ref.read_events(data)))', file);
}

function eventFiles(d: string): string[] {
  return fs.readdirSync(d).filter((f) => f.startsWith('events.out.tfevents.')).map((f) => path.join(d, f));
}

test('scalars: tags, values, steps and wall times, after the file-version event; the file is named as PyTorch names it', () => {
  const w = new SummaryWriter(dir);
  expect(w.getLogdir()).toBe(dir);
  const values = [2.5, 1 / 3, -7, 1e-20];
  values.forEach((v, i) => w.addScalar('train/loss', v, i * 10));
  w.addScalar('train/lr', torch.tensor(0.125), 40, 1700000000.5);
  w.addScalar('big step', 1, 2 ** 40);
  w.close();
  expect(path.basename(w.file)).toMatch(new RegExp(`^events\\.out\\.tfevents\\.\\d{10}\\.${os.hostname().replace(/[.]/g, '\\.')}\\.${process.pid}\\.\\d+$`));
  const ev = readEvents(w.file);
  expect(ev[0].file_version).toBe('brain.Event:2');
  expect(ev.slice(1).map((e) => [e.step, e.values[0].tag, e.values[0].simple_value])).toEqual([
    ...values.map((v, i) => [i * 10, 'train/loss', Math.fround(v)]),
    [40, 'train/lr', 0.125],
    [2 ** 40, 'big step', 1],
  ]);
  expect(ev[5].wall_time).toBe(1700000000.5);
  const now = Date.now() / 1000;
  expect(Math.abs(ev[1].wall_time - now)).toBeLessThan(60);
});

test('histograms equal PyTorch make_histogram on the same values: default bins, equal bins, given edges, maxBins', () => {
  torch.manualSeed(0);
  const normal = torch.randn([2000]).mul(3);
  const withZeros = torch.cat([torch.zeros([50]), torch.rand([300]).mul(1e-3), torch.tensor([-5, 1e6])]);
  const constant = torch.full([7], 0.25);
  const cases: [string, torch.Tensor, 'tensorflow' | number | number[], number | undefined][] = [
    ['normal', normal, 'tensorflow', undefined],
    ['zeros and tiny', withZeros, 'tensorflow', undefined],
    ['constant', constant, 'tensorflow', undefined],
    ['equal bins', normal, 30, undefined],
    ['constant, equal bins', constant, 4, undefined],
    ['edges', normal, [-4, -1, 0, 0.5, 2, 9], undefined],
    ['maxBins', normal, 'tensorflow', 64],
    ['maxBins of equal bins', normal, 100, 7],
  ];
  const w = new SummaryWriter(dir);
  cases.forEach(([tag, t, bins, maxBins], i) => w.addHistogram(tag, t, i, bins, undefined, maxBins));
  w.addHistogram('from a list', [1, 2, 2, 3.5], 99);
  w.close();
  const got = readEvents(w.file).slice(1);
  const want = python(`
ns = ref.pytorch()
cases = data
out = []
for values, bins, max_bins in cases:
    h = ns['make_histogram'](np.array(values, dtype=np.float32), ns['default_bins'] if bins == 'tensorflow' else bins, max_bins)
    out.append({k: (v.tolist() if hasattr(v, 'tolist') else v) for k, v in h.items()})
print(json.dumps(out))`, cases.map(([, t, bins, maxBins]) => [t.tolist(), bins, maxBins ?? null]));
  cases.forEach(([tag], i) => {
    const g = got[i].values[0], h = want[i];
    expect([g.tag, got[i].step]).toEqual([tag, i]);
    expect([tag, g.histo.bucket]).toEqual([tag, h.bucket]);
    expect([tag, g.histo.bucket_limit.length]).toEqual([tag, h.bucket_limit.length]);
    // numpy builds equal-bin edges in float32 for float32 values, we in float64
    g.histo.bucket_limit.forEach((l: number, k: number) => expect(Math.abs(l - h.bucket_limit[k])).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(l))));
    for (const k of ['min', 'max', 'num']) expect([tag, k, g.histo[k]]).toEqual([tag, k, h[k]]);
    for (const k of ['sum', 'sum_squares']) expect(Math.abs(g.histo[k] - h[k])).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(h[k])));
  });
  expect(got[cases.length].values[0].histo).toMatchObject({ min: 1, max: 3.5, num: 4, sum: 8.5, sum_squares: 21.25 });
});

test('images equal PyTorch conversion (scaled, clipped, grey to RGB, a batch tiled 8 to a row) through the PNG', () => {
  torch.manualSeed(1);
  const chw = torch.rand([3, 5, 7]);
  const hwc = torch.randint(0, 256, [4, 6, 4], { dtype: 'uint8' });
  const hw = torch.rand([3, 2], { dtype: 'float64' });
  const grey = torch.rand([1, 4, 4]).mul(1.4).sub(0.2); // outside [0, 1]: clipped
  const batch = torch.rand([11, 1, 3, 2]);
  const nhwc = torch.rand([3, 2, 5, 3]);
  const cases: [string, torch.Tensor, string][] = [['chw', chw, 'CHW'], ['hwc rgba uint8', hwc, 'HWC'], ['hw', hw, 'HW'], ['grey', grey, 'CHW'], ['batch', batch, 'NCHW'], ['nhwc', nhwc, 'NHWC']];
  const w = new SummaryWriter(dir);
  for (const [tag, t, fmt] of cases) {
    if (fmt.length === 4) w.addImages(tag, t, 3, undefined, fmt as 'NCHW' | 'NHWC');
    else w.addImage(tag, t, 3, undefined, fmt as 'CHW');
  }
  w.close();
  const got = readEvents(w.file).slice(1);
  // PyTorch's image(): convert_to_HWC, then float32 times 255 (uint8: 1), clipped (PyTorch 2's
  // rule; 1.13's writer wraps around outside [0, 255]), to uint8.
  const want = python(`
ns = ref.pytorch()
out = []
for values, dtype, fmt in data:
    a = np.array(values, dtype=np.uint8 if dtype == 'uint8' else np.float64 if dtype == 'float64' else np.float32)
    t = ns['convert_to_HWC'](a, fmt)
    scale = 1 if t.dtype == np.uint8 else 255
    out.append((t.astype(np.float32) * scale).clip(0, 255).astype(np.uint8).tolist())
print(json.dumps(out))`, cases.map(([, t, fmt]) => [t.tolist(), t.dtype, fmt]));
  cases.forEach(([tag], i) => {
    const v = got[i].values[0];
    expect(v.tag).toBe(tag);
    const px = want[i] as number[][][];
    expect([tag, v.image.height, v.image.width, v.image.colorspace]).toEqual([tag, px.length, px[0].length, px[0][0].length]);
    expect([tag, v.image.png.pixels]).toEqual([tag, px]);
  });
});

test('text: a string tensor under <tag>/text_summary with the text plugin', () => {
  const w = new SummaryWriter(dir);
  w.addText('args', '{"lr": 0.001, "note": "héllo **markdown**"}', 5);
  w.close();
  const [, e] = readEvents(w.file);
  expect(e.step).toBe(5);
  expect(e.values[0]).toEqual({
    tag: 'args/text_summary', plugin_name: 'text', plugin_content: '',
    tensor: { dtype: 7, dim: [1], string_val: ['{"lr": 0.001, "note": "héllo **markdown**"}'] },
  });
});

test('addScalars: one run folder per key, each value under the main tag', () => {
  const w = new SummaryWriter(dir);
  w.addScalars('loss/all', { train: 1.5, eval: torch.tensor(2) }, 1);
  w.addScalars('loss/all', { train: 1.25, eval: 1.75 }, 2);
  w.close();
  expect(fs.readdirSync(dir).sort()).toEqual(expect.arrayContaining(['loss_all_eval', 'loss_all_train']));
  const series = (key: string) => readEvents(eventFiles(path.join(dir, `loss_all_${key}`))[0]).slice(1).map((e) => [e.step, e.values[0].tag, e.values[0].simple_value]);
  expect(series('train')).toEqual([[1, 'loss/all', 1.5], [2, 'loss/all', 1.25]]);
  expect(series('eval')).toEqual([[1, 'loss/all', 2], [2, 'loss/all', 1.75]]);
});

test('events queue until maxQueue, flush() or close(); a process that exits without close() still writes them; the default folder is runs/<time>_<host><comment>', () => {
  const w = new SummaryWriter(dir, { maxQueue: 3 });
  const count = () => readEvents(w.file).length;
  expect(count()).toBe(1); // the file-version event, at once
  w.addScalar('a', 1, 1);
  w.addScalar('a', 2, 2);
  expect(count()).toBe(1);
  w.addScalar('a', 3, 3); // the third fills the queue
  expect(count()).toBe(4);
  w.addScalar('a', 4, 4);
  w.flush();
  expect(count()).toBe(5);
  w.close();
  w.close(); // (twice is fine)

  const script = `const torch = require(${JSON.stringify(path.join(__dirname, '..'))});
process.chdir(${JSON.stringify(dir)});
const w = new torch.utils.tensorboard.SummaryWriter(undefined, { comment: '-exp1' });
w.addScalar('x', 42, 7);
console.log(w.getLogdir());`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  const logdir = r.stdout.trim();
  expect(logdir).toMatch(new RegExp(`^runs[/\\\\][A-Z][a-z]{2}\\d{2}_\\d{2}-\\d{2}-\\d{2}_${os.hostname().replace(/[.]/g, '\\.')}-exp1$`));
  const ev = readEvents(eventFiles(path.join(dir, logdir))[0]);
  expect(ev[1].values[0]).toEqual({ tag: 'x', simple_value: 42 });
});

test('refusals: a closed writer, bad images, histograms without finite values, non-scalars, bad options', () => {
  const w = new SummaryWriter(dir);
  expect(() => w.addScalar('x', torch.ones([2]))).toThrow(/one-element tensor, got shape \[2\]/);
  expect(() => w.addScalar('x', 1, 1.5)).toThrow(/globalStep must be an integer/);
  expect(() => w.addImage('i', torch.rand([3, 4]))).toThrow(/'CHW' needs a 3-D tensor, got shape \[3,4\]/);
  expect(() => w.addImage('i', torch.rand([2, 4, 4]))).toThrow(/1, 3 or 4 channels, got 2/);
  expect(() => w.addImage('i', torch.rand([3, 4, 4]), 0, undefined, 'XYZ' as 'CHW')).toThrow(/dataformats must be/);
  expect(() => w.addImages('i', torch.rand([2, 4, 4, 4]))).toThrow(/1 or 3 channels, got 4/);
  expect(() => w.addHistogram('h', torch.tensor([1, NaN]))).toThrow(/NaN or infinity/);
  expect(() => w.addHistogram('h', torch.tensor([]))).toThrow(/empty/);
  expect(() => w.addHistogram('h', torch.tensor([1, 2]), 0, 0)).toThrow(/positive integer/);
  expect(() => w.addHistogram('h', torch.tensor([1, 2]), 0, [3, 1])).toThrow(/increasing/);
  expect(() => w.addHistogram('h', torch.tensor([1, 2]), 0, [5, 6])).toThrow(/no value lies within the bin edges/);
  w.close();
  expect(() => w.addScalar('x', 1)).toThrow(/writer is closed/);
  expect(readEvents(w.file).length).toBe(1); // nothing half-written by the refusals
  expect(() => new SummaryWriter(dir, { maxQueue: 0 })).toThrow(/maxQueue/);
  const file = path.join(dir, 'a-file');
  fs.writeFileSync(file, '');
  expect(() => new SummaryWriter(path.join(file, 'sub'))).toThrow(/cannot write an event file in/);
});
