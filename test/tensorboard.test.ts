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
    tag: 'args/text_summary', plugin_name: 'text', plugin_content: [],
    tensor: { dtype: 7, dim: [1], string_val: ['{"lr": 0.001, "note": "héllo **markdown**"}'] },
  });
});

test('PR curves equal PyTorch compute_curve (thresholds, weights, out-of-range predictions); audio is PyTorch\'s WAV, byte for byte', () => {
  torch.manualSeed(4);
  const labels = torch.randint(0, 2, [300]);
  const preds = torch.rand([300]); // float32, as PyTorch's writer gets from a model
  const odd = torch.cat([preds.index(':20'), torch.tensor([1, 0, -0.5, 1.5])]); // 1 and 0 exactly; two outside [0, 1]
  const oddLabels = torch.cat([labels.index(':20'), torch.tensor([1, 0, 1, 1], { dtype: 'int64' })]);
  const weights = torch.rand([24], { dtype: 'float64' });
  const wave = torch.linspace(0, 40, 500).sin().mul(0.8); // float32 samples
  const loud = torch.tensor([[0.5, -1.5, 2, -0.25, 1]]); // clipped, squeezed
  const w = new SummaryWriter(dir);
  w.addPrCurve('pr', labels, preds, 1);
  w.addPrCurve('pr/few', labels, preds, 2, 10);
  w.addPrCurve('pr/many', labels, preds, 3, 500); // capped at 127
  w.addPrCurve('pr/weighted', oddLabels, odd, 4, 16, weights);
  const warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
  w.addAudio('wave', wave, 5, 8000);
  w.addAudio('loud', loud, 6);
  expect(warn).toHaveBeenCalledTimes(1);
  warn.mockRestore();
  w.close();
  const got = readEvents(w.file).slice(1);
  const want = python(`
ns = ref.pytorch()
labels, preds, odd, odd_labels, weights, wave, loud = data
curves = [ns['compute_curve'](np.array(l), np.array(p, dtype=np.float32), num_thresholds=t, weights=None if wt is None else np.array(wt))
          for l, p, t, wt in [(labels, preds, 127, None), (labels, preds, 10, None), (labels, preds, 127, None), (odd_labels, odd, 16, weights)]]
import contextlib, io
with contextlib.redirect_stdout(io.StringIO()):
    audios = [ns['audio']('x', np.array(a, dtype=np.float32), sample_rate=r)['value'][0]['audio'] for a, r in [(wave, 8000), (loud, 44100)]]
for a in audios: a['encoded_audio_string'] = list(a['encoded_audio_string'])
print(json.dumps({'curves': [c.astype(np.float32).tolist() for c in curves], 'audios': audios}))`, [labels, preds, odd, oddLabels, weights, wave, loud].map((t) => t.tolist()));
  const curves = got.slice(0, 4).map((e) => e.values[0]);
  expect(curves.map((v) => [v.tag, v.plugin_name, v.tensor.dtype, v.tensor.dim])).toEqual([
    ['pr', 'pr_curves', 1, [6, 127]], ['pr/few', 'pr_curves', 1, [6, 10]], ['pr/many', 'pr_curves', 1, [6, 127]], ['pr/weighted', 'pr_curves', 1, [6, 16]],
  ]);
  expect(curves.map((v) => v.plugin_content)).toEqual([[16, 127], [16, 10], [16, 127], [16, 16]]); // PrCurvePluginData {num_thresholds}
  curves.forEach((v, i) => expect([i, v.tensor.float_val]).toEqual([i, want.curves[i].flat()]));
  const audios = got.slice(4).map((e) => e.values[0].audio);
  audios.forEach((a, i) => {
    const r = want.audios[i];
    expect(a).toEqual({ sample_rate: r.sample_rate, num_channels: 1, length_frames: r.length_frames, wav: r.encoded_audio_string, content_type: 'audio/wav' });
  });
  expect(() => new SummaryWriter(dir).addAudio('a', torch.rand([2, 10]))).toThrow(/one channel of samples/);
});

test('embeddings: tensors.tsv, metadata.tsv and the sprite as PyTorch writes them, listed in projector_config.pbtxt', () => {
  torch.manualSeed(5);
  const mat = torch.randn([10, 4]).mul(torch.tensor([1, 1e-6, 1e17, 3]));
  const imgs = torch.rand([10, 1, 3, 4]);
  const labels = Array.from({ length: 10 }, (_, i) => (i % 3 === 0 ? `word ${i}` : i));
  const table = labels.map((l, i) => [String(l), i * 2]);
  const w = new SummaryWriter(dir);
  w.addEmbedding(mat, { metadata: labels, labelImg: imgs, globalStep: 7, tag: 'tokens/first' });
  w.addEmbedding(torch.randint(0, 9, [3, 2]), { metadata: [['a', 1], ['b', 2], ['c', 3]], metadataHeader: ['name', 'n'] });
  w.close();
  const sub = path.join(dir, '00007', 'tokens%2ffirst');
  const ref = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-tb-ref-'));
  try {
    const want = python(`
ns = ref.pytorch()
mat, imgs, labels, table, out = data
mat = np.array(mat, dtype=np.float32)
ns['make_mat'](mat, out)
ns['make_tsv'](labels, out)
import os
os.rename(os.path.join(out, 'metadata.tsv'), os.path.join(out, 'labels.tsv'))
ns['make_tsv'](table, out, metadata_header=['label', 'twice'])
ns['make_sprite'](torch_imgs := __import__('torch').tensor(imgs, dtype=__import__('torch').float32), out)
info = ns['get_embedding_info'](labels, torch_imgs, ns['tf'].io.gfile.get_filesystem(out), '00007/tokens%2ffirst', 7, 'tokens/first')
print(json.dumps({'sprite': json.load(open(os.path.join(out, 'sprite.png'))), 'info': [info.tensor_name, info.tensor_path, info.metadata_path, info.sprite.image_path, list(info.sprite.single_image_dim)]}))`,
    [mat.tolist(), imgs.tolist(), labels, table, ref]);
    expect(fs.readFileSync(path.join(sub, 'tensors.tsv'), 'utf8')).toBe(fs.readFileSync(path.join(ref, 'tensors.tsv'), 'utf8'));
    expect(fs.readFileSync(path.join(sub, 'metadata.tsv'), 'utf8')).toBe(fs.readFileSync(path.join(ref, 'labels.tsv'), 'utf8'));
    const sprite = python('print(json.dumps(ref.png_pixels(open(data, "rb").read())))', path.join(sub, 'sprite.png'));
    expect(sprite.pixels).toEqual(want.sprite);
    const [name, tensorPath, metadataPath, imagePath, dims] = want.info;
    expect(fs.readFileSync(path.join(dir, 'projector_config.pbtxt'), 'utf8')).toBe(`embeddings {
  tensor_name: "${name}"
  metadata_path: "${metadataPath}"
  sprite {
    image_path: "${imagePath}"
    single_image_dim: ${dims[0]}
    single_image_dim: ${dims[1]}
  }
  tensor_path: "${tensorPath}"
}
embeddings {
  tensor_name: "default:00000"
  metadata_path: "00000/default/metadata.tsv"
  tensor_path: "00000/default/tensors.tsv"
}
`);
    // a header and columns (checked against make_tsv's own output with our table)
    const w2 = new SummaryWriter(path.join(dir, 'second'));
    w2.addEmbedding(torch.zeros([10, 2]), { metadata: table, metadataHeader: ['label', 'twice'] });
    w2.close();
    expect(fs.readFileSync(path.join(dir, 'second', '00000', 'default', 'metadata.tsv'), 'utf8')).toBe(fs.readFileSync(path.join(ref, 'metadata.tsv'), 'utf8'));
  } finally {
    fs.rmSync(ref, { recursive: true, force: true });
  }
  const w3 = new SummaryWriter(path.join(dir, 'third'));
  expect(() => w3.addEmbedding(torch.zeros([3]))).toThrow(/mat must be 2-D/);
  expect(() => w3.addEmbedding(torch.zeros([3, 2]), { metadata: ['a'] })).toThrow(/1 metadata rows for 3 points/);
  expect(() => w3.addEmbedding(torch.zeros([3, 2]), { labelImg: torch.zeros([3, 1, 8, 2]) })).toThrow(/do not fit PyTorch's square sprite/);
});

test('addHparams: the experiment, session start and end records PyTorch builds, in a run of their own, and the metrics as scalars', () => {
  const w = new SummaryWriter(dir);
  w.addHparams({ lr: 0.001, opt: 'adamw', layers: 0, skipped: null, t: torch.tensor([2.5]) }, { 'hparam/loss': 1.5, 'hparam/acc': torch.tensor(0.75) },
    { opt: ['adamw', 'sgd'], layers: [0, 2] }, 'trial-1');
  w.addHparams({ dora: false, r: 8 }, { 'hparam/loss': 2 });
  w.close();
  const runs = fs.readdirSync(dir).filter((f) => !f.startsWith('events.')).sort();
  expect(runs[1]).toBe('trial-1');
  expect(Number(runs[0])).toBeCloseTo(Date.now() / 1000, -2); // (PyTorch's default run name: the time)
  const events = readEvents(eventFiles(path.join(dir, 'trial-1'))[0]).slice(1);
  const want = python(`
ns = ref.pytorch()
import torch
records = ns['hparams']({'lr': 0.001, 'opt': 'adamw', 'layers': 0, 'skipped': None, 't': torch.tensor([2.5])}, {'hparam/loss': 1.5, 'hparam/acc': 0.75},
                        {'opt': ['adamw', 'sgd'], 'layers': [0, 2]})
out = []
for r in records:
    v = r['value'][0]
    out.append({'tag': v['tag'], 'plugin_name': v['metadata']['plugin_data']['plugin_name'], 'plugin_content': v['metadata']['plugin_data']['content']})
print(json.dumps(out, default=float))`);
  expect(events.slice(0, 3).map((e) => e.values[0])).toEqual(want);
  expect(events.slice(3).map((e) => [e.step, e.values[0]])).toEqual([[0, { tag: 'hparam/loss', simple_value: 1.5 }], [0, { tag: 'hparam/acc', simple_value: 0.75 }]]);
  // a boolean is a bool_value (PyTorch's Python bool, an int, becomes a number); false and 0 are written
  const second = readEvents(eventFiles(path.join(dir, runs[0]))[0]);
  expect(second[2].values[0].plugin_content.session_start_info.hparams).toEqual({ dora: { bool_value: false }, r: { number_value: 8 } });
  expect(second[1].values[0].plugin_content.experiment.hparam_infos).toEqual([{ name: 'dora', type: 2 }, { name: 'r', type: 3 }]);
  expect(() => w.addHparams({ a: 1 }, {})).toThrow(/writer is closed/);
  const w2 = new SummaryWriter(path.join(dir, 'x'));
  expect(() => w2.addHparams({ a: 1 }, {}, { a: ['x'] })).toThrow(/hparamDomainDiscrete\[a\] should be a list of the same type as hparamDict\[a\]/);
  expect(() => w2.addHparams({ a: [1] as never }, {})).toThrow(/a value is a number, string, boolean or one-element tensor/);
  w2.close();
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
