// Hub ids from the Hugging Face cache: a cache laid out as huggingface_hub lays it out
// (models--org--name/refs/<branch>, snapshots/<commit>/<file> linked into blobs/), which its
// try_to_load_from_cache resolves to the same snapshot files (checked by hand with
// huggingface_hub 1.x; it is not on Debian 12, so not here).
import { spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as torch from '../lib';
import { saveTinyGpt2, brownTextFiles, learnBpe, relErr, writeBpeFiles } from './helpers';

let tmp: string, cache: string, plain: string, other: string;
const COMMIT = 'a'.repeat(8) + crypto.createHash('sha1').update('main').digest('hex').slice(8);
const COMMIT_V1 = crypto.createHash('sha1').update('v1').digest('hex');

/** Puts a folder's files into the cache as huggingface_hub does: blobs by hash, snapshot links, a ref. */
function cacheRepo(repoId: string, src: string, commit: string, ref?: string, type: 'models' | 'datasets' = 'models'): string {
  const repo = path.join(cache, `${type}--${repoId.split('/').join('--')}`);
  const snapshot = path.join(repo, 'snapshots', commit);
  fs.mkdirSync(path.join(repo, 'blobs'), { recursive: true });
  fs.mkdirSync(snapshot, { recursive: true });
  const files = (dir: string): string[] => fs.readdirSync(path.join(src, dir), { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : [path.join(dir, e.name)]));
  for (const name of files('')) {
    const bytes = fs.readFileSync(path.join(src, name));
    const blob = crypto.createHash('sha256').update(bytes).digest('hex');
    fs.writeFileSync(path.join(repo, 'blobs', blob), bytes);
    const link = path.join(snapshot, name);
    fs.mkdirSync(path.dirname(link), { recursive: true });
    fs.symlinkSync(path.relative(path.dirname(link), path.join(repo, 'blobs', blob)), link);
  }
  if (ref) {
    fs.mkdirSync(path.join(repo, 'refs'), { recursive: true });
    fs.writeFileSync(path.join(repo, 'refs', ref), commit); // (no newline, as huggingface_hub writes it)
  }
  return snapshot;
}

const weightsOf = (m: torch.nn.Module) => [...m.stateDict()].map(([k, t]) => [k, t.tolist()]);

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-hub-'));
  cache = path.join(tmp, 'hub');
  plain = await saveTinyGpt2(path.join(tmp, 'plain'));
  other = await saveTinyGpt2(path.join(tmp, 'other'), { n_embd: 8 });
  cacheRepo('openai-community/gpt2', plain, COMMIT, 'main');
  cacheRepo('openai-community/gpt2', other, COMMIT_V1, 'v1');
  process.env.HF_HUB_CACHE = cache;
});
afterAll(() => {
  delete process.env.HF_HUB_CACHE;
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('the cache folder from the environment, as huggingface_hub.constants: HF_HUB_CACHE, HUGGINGFACE_HUB_CACHE, HF_HOME/hub, XDG_CACHE_HOME/huggingface/hub, ~/.cache/huggingface/hub', () => {
  expect(torch.io.hubCacheDir({ HF_HUB_CACHE: '/a', HUGGINGFACE_HUB_CACHE: '/b', HF_HOME: '/c' })).toBe('/a');
  expect(torch.io.hubCacheDir({ HUGGINGFACE_HUB_CACHE: '/b', HF_HOME: '/c' })).toBe('/b');
  expect(torch.io.hubCacheDir({ HF_HOME: '/c', XDG_CACHE_HOME: '/x' })).toBe('/c/hub');
  expect(torch.io.hubCacheDir({ XDG_CACHE_HOME: '/x' })).toBe('/x/huggingface/hub');
  expect(torch.io.hubCacheDir({})).toBe(path.join(os.homedir(), '.cache', 'huggingface', 'hub'));
});

test('fromPretrained(hub id) loads the cached snapshot of main, another branch, or a commit; name_or_path is the id', async () => {
  const snapshot = path.join(cache, 'models--openai-community--gpt2', 'snapshots', COMMIT);
  expect(torch.io.resolvePretrained('openai-community/gpt2')).toBe(snapshot);
  expect(torch.io.repoIdOf(snapshot)).toBe('openai-community/gpt2');
  expect(torch.io.repoIdOf(plain)).toBeUndefined();
  const fromHub = await torch.GPT2LMHeadModel.fromPretrained('openai-community/gpt2');
  const fromFolder = await torch.GPT2LMHeadModel.fromPretrained(plain);
  expect(weightsOf(fromHub)).toEqual(weightsOf(fromFolder));
  expect([fromHub.nameOrPath, fromFolder.nameOrPath]).toEqual(['openai-community/gpt2', plain]);
  const v1 = await torch.GPT2LMHeadModel.fromPretrained('openai-community/gpt2', { revision: 'v1' });
  expect(v1.config.n_embd).toBe(8);
  const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  const byCommit = await torch.GPT2ForSequenceClassification.fromPretrained('openai-community/gpt2', { revision: COMMIT_V1, numLabels: 2 });
  expect(warn.mock.calls[0][0]).toMatch(new RegExp(`models--openai-community--gpt2.snapshots.${COMMIT_V1} has no score\\.weight: the classification head \\(2 labels\\) is newly initialized`));
  warn.mockRestore();
  expect(byCommit.config.n_embd).toBe(8);
  expect(byCommit.nameOrPath).toBe('openai-community/gpt2');
  await expect(torch.GPT2LMHeadModel.fromPretrained('openai-community/gpt2', { revision: 'v2' })).rejects.toThrow(/openai-community\/gpt2: revision 'v2' is not in the Hugging Face cache \(.*models--openai-community--gpt2: it has main, v1\)/);
  await expect(torch.GPT2LMHeadModel.fromPretrained(plain, { revision: 'v1' })).rejects.toThrow(/a local folder has no revisions/);
  await expect(torch.GPT2LMHeadModel.fromPretrained('nobody/nothing')).rejects.toThrow(/nobody\/nothing: no such folder \(nor a hub id in the Hugging Face cache: no .*models--nobody--nothing.refs.main; download it there with huggingface-cli download nobody\/nothing, or set HF_HOME \/ HF_HUB_CACHE\)/);
  for (const m of [fromHub, fromFolder, v1, byCommit]) m.dispose();
  // what is not a hub id is never looked up
  for (const name of ['./gpt2', '/abs/gpt2', 'a/b/c', 'a--b', '..', 'gpt2.']) expect(torch.io.isRepoId(name)).toBe(false);
  for (const name of ['gpt2', 'openai-community/gpt2', 'user/my_lora.v2']) expect(torch.io.isRepoId(name)).toBe(true);
});

test('adapters: base_model_name_or_path is the base\'s name_or_path (as PEFT writes it), and an adapter loads by hub id', async () => {
  const model = await torch.GPT2LMHeadModel.fromPretrained('openai-community/gpt2');
  torch.manualSeed(1);
  torch.lora.applyLoRA(model, { r: 2, targetModules: ['c_attn'], initLoraWeights: 'gaussian' });
  const out = path.join(tmp, 'adapter');
  await torch.lora.saveAdapter(model, out);
  expect(JSON.parse(fs.readFileSync(path.join(out, 'adapter_config.json'), 'utf8')).base_model_name_or_path).toBe('openai-community/gpt2');
  cacheRepo('someone/tiny-lora', out, COMMIT, 'main');
  const again = await torch.GPT2LMHeadModel.fromPretrained('openai-community/gpt2');
  await torch.lora.loadAdapter(again, 'someone/tiny-lora');
  expect(weightsOf(again)).toEqual(weightsOf(model));
  // a model made in code has no name: null, as PEFT's for a model without name_or_path
  const fresh = new torch.GPT2LMHeadModel({ vocab_size: 50, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2 });
  torch.lora.applyLoRA(fresh, { r: 2 });
  expect(torch.lora.adapterConfigJson(fresh).base_model_name_or_path).toBeNull();
  expect(torch.lora.adapterConfigJson(fresh, 'given').base_model_name_or_path).toBe('given');
  for (const m of [model, again, fresh]) m.dispose();
});

test('the CLI takes hub ids for --model (and --revision), --adapter; the card and adapter name the id', () => {
  const bin = path.join(__dirname, '..', 'dist', 'lib', 'cli', 'main.js');
  const cli = (...args: string[]) => {
    const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 300000, env: { ...process.env, HF_HUB_CACHE: cache } });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };
  const { trainFile, evalFile } = brownTextFiles(tmp);
  const byId = cli('eval', '--model', 'openai-community/gpt2', '--data', evalFile, '--block-size', '16', '--json');
  expect(byId.err).toBe('');
  expect(byId.out).toBe(cli('eval', '--model', plain, '--data', evalFile, '--block-size', '16', '--json').out);
  expect(cli('eval', '--model', 'openai-community/gpt2', '--revision', 'v1', '--data', evalFile, '--block-size', '16', '--json').out)
    .toBe(cli('eval', '--model', other, '--data', evalFile, '--block-size', '16', '--json').out);
  const out = path.join(tmp, 'run');
  const t = cli('train', '--model', 'openai-community/gpt2', '--data', trainFile, '--out', out, '--block-size', '16', '--max-steps', '1', '--batch-size', '2');
  expect(t.err).toBe('');
  expect(JSON.parse(fs.readFileSync(path.join(out, 'adapter_config.json'), 'utf8')).base_model_name_or_path).toBe('openai-community/gpt2');
  expect(fs.readFileSync(path.join(out, 'README.md'), 'utf8')).toMatch(/^base_model: "openai-community\/gpt2"$/m);
  cacheRepo('someone/run-lora', out, COMMIT_V1, 'main');
  expect(cli('eval', '--model', 'openai-community/gpt2', '--adapter', 'someone/run-lora', '--data', evalFile, '--block-size', '16', '--json').out)
    .toBe(cli('eval', '--model', plain, '--adapter', out, '--data', evalFile, '--block-size', '16', '--json').out);
  const info = JSON.parse(cli('info', '--json').out);
  expect([info.hubCache, info.hubModels]).toEqual([cache, ['openai-community/gpt2', 'someone/run-lora', 'someone/tiny-lora']]);
  const missing = cli('eval', '--model', 'nobody/nothing', '--data', evalFile);
  expect(missing.code).toBe(1);
  expect(missing.err).toMatch(/--model nobody\/nothing: no such folder \(nor a hub id in the Hugging Face cache: no .*models--nobody--nothing.refs.main; download it there with huggingface-cli download nobody\/nothing/);
});

test('an adapter folder (or its hub id) as the model: its base (base_model_name_or_path) with the adapter on it, as transformers with PEFT loads one; tokenizer from the base; the CLI takes one as --model', async () => {
  // A base with a tokenizer of its own (not GPT-2's), and a LoRA adapter trained-looking (gaussian B) on it.
  const { trainFile, evalFile } = brownTextFiles(fs.mkdtempSync(path.join(tmp, 'text-')));
  const bpe = learnBpe(fs.readFileSync(trainFile, 'utf8'), 60);
  const baseDir = await saveTinyGpt2(path.join(tmp, 'bpe-base'), { vocab_size: Object.keys(bpe.vocab).length });
  writeBpeFiles(baseDir, bpe);
  const base = await torch.GPT2LMHeadModel.fromPretrained(baseDir);
  torch.manualSeed(2);
  torch.lora.applyLoRA(base, { r: 2, initLoraWeights: 'gaussian' });
  for (const [n, p] of base.namedParameters()) if (n.includes('lora_B')) torch.noGrad(() => p.normal_(0, 0.5));
  const adapterDir = path.join(tmp, 'bpe-adapter');
  // (relative to the working directory, as a run started there names its base)
  await torch.lora.saveAdapter(base, adapterDir, { baseModelNameOrPath: path.relative(process.cwd(), baseDir) });
  base.dispose();
  const ids = torch.tensor([[1, 5, 9, 2, 7]], { dtype: 'int64' });
  const plainBase = await torch.GPT2LMHeadModel.fromPretrained(baseDir);
  const reference = await torch.lora.loadAdapter(await torch.GPT2LMHeadModel.fromPretrained(baseDir), adapterDir);
  const asModel = await torch.GPT2LMHeadModel.fromPretrained(adapterDir);
  const logits = (m: torch.GPT2LMHeadModel) => torch.noGrad(() => m.forward(ids).logits);
  expect(asModel.training).toBe(false);
  expect(logits(asModel).equal(logits(reference))).toBe(true);
  expect(relErr(logits(asModel), logits(plainBase))).toBeGreaterThan(1e-3); // (the adapter does something)
  // its hub id too (the adapter in the cache, its base a hub id there)
  const onHubBase = await torch.GPT2LMHeadModel.fromPretrained('openai-community/gpt2');
  torch.lora.applyLoRA(onHubBase, { r: 2, targetModules: ['c_attn'], initLoraWeights: 'gaussian' });
  const hubAdapter = path.join(tmp, 'hub-adapter');
  await torch.lora.saveAdapter(onHubBase, hubAdapter);
  onHubBase.dispose();
  cacheRepo('someone/tiny-lora-model', hubAdapter, COMMIT, 'main');
  const byId = await torch.GPT2LMHeadModel.fromPretrained('someone/tiny-lora-model');
  const byIdRef = await torch.lora.loadAdapter(await torch.GPT2LMHeadModel.fromPretrained('openai-community/gpt2'), hubAdapter);
  expect(weightsOf(byId)).toEqual(weightsOf(byIdRef));
  // the tokenizer of an adapter folder without its own files: the base's
  const text = fs.readFileSync(evalFile, 'utf8').slice(0, 300);
  expect(torch.tokenizerFor(adapterDir).encode(text)).toEqual(torch.tokenizerFor(baseDir).encode(text));
  expect(torch.tokenizerFor(adapterDir).encode(text)).not.toEqual(torch.tokenizer.encode(text));
  for (const m of [plainBase, reference, asModel, byId, byIdRef]) m.dispose();
  // Adapters that cannot load say why.
  const noBase = path.join(tmp, 'adapter-no-base'), lostBase = path.join(tmp, 'adapter-lost-base');
  for (const [dir, b] of [[noBase, null], [lostBase, path.join(tmp, 'gone')]] as const) {
    fs.cpSync(adapterDir, dir, { recursive: true });
    const config = JSON.parse(fs.readFileSync(path.join(adapterDir, 'adapter_config.json'), 'utf8'));
    fs.writeFileSync(path.join(dir, 'adapter_config.json'), JSON.stringify({ ...config, base_model_name_or_path: b }));
  }
  await expect(torch.GPT2LMHeadModel.fromPretrained(noBase)).rejects.toThrow(`${noBase} is a PEFT adapter (adapter_config.json) that does not name its base model (base_model_name_or_path): load the base model, then torch.lora.loadAdapter(model, '${noBase}')`);
  await expect(torch.GPT2LMHeadModel.fromPretrained(lostBase)).rejects.toThrow(`GPT-2: ${lostBase} is a PEFT adapter on '${path.join(tmp, 'gone')}' (its base_model_name_or_path), which does not load: GPT-2: ${path.join(tmp, 'gone')}: no such folder`);

  // The CLI: --model an adapter folder is its base with --adapter it; merge takes one alone.
  const bin = path.join(__dirname, '..', 'dist', 'lib', 'cli', 'main.js');
  const cli = (...args: string[]) => {
    const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 300000, env: { ...process.env, HF_HUB_CACHE: cache } });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };
  const evalArgs = ['--data', evalFile, '--block-size', '16', '--json'];
  const viaAdapter = cli('eval', '--model', baseDir, '--adapter', adapterDir, ...evalArgs);
  expect(viaAdapter.err).toBe('');
  expect(cli('eval', '--model', adapterDir, ...evalArgs).out).toBe(viaAdapter.out);
  expect(cli('eval', '--model', baseDir, ...evalArgs).out).not.toBe(viaAdapter.out);
  const merged = [path.join(tmp, 'merged-a'), path.join(tmp, 'merged-b')];
  expect(cli('merge', '--model', adapterDir, '--out', merged[0]).code).toBe(0);
  expect(cli('merge', '--model', baseDir, '--adapter', adapterDir, '--out', merged[1]).code).toBe(0);
  for (const f of ['model.safetensors', 'vocab.json', 'merges.txt']) expect([f, fs.readFileSync(path.join(merged[0], f)).equals(fs.readFileSync(path.join(merged[1], f)))]).toEqual([f, true]);
  const twice = cli('eval', '--model', adapterDir, '--adapter', adapterDir, ...evalArgs);
  expect([twice.code, twice.err.trim()]).toEqual([1, `tstorch eval: --model ${adapterDir} is a PEFT adapter (on ${path.relative(process.cwd(), baseDir)}), and --adapter ${adapterDir} another: give its base as --model (--model ${path.relative(process.cwd(), baseDir)} --adapter ...)`]);
  const train = cli('train', '--model', adapterDir, '--data', trainFile, '--out', path.join(tmp, 'no-run'), '--block-size', '16', '--max-steps', '1');
  expect([train.code, train.err.trim()]).toEqual([1, `tstorch train: --model ${adapterDir} is a PEFT adapter (on ${path.relative(process.cwd(), baseDir)}), not a model to train: give its base (--model ${path.relative(process.cwd(), baseDir)}), with --adapter ${adapterDir} to train this adapter further; a run's checkpoint goes on with --resume-from-checkpoint`]);
  expect(fs.existsSync(path.join(tmp, 'no-run'))).toBe(false);
});

test('a dataset repository\'s splits as datasets\' load_dataset_builder resolves them (README configs, shard names, split keywords)', () => {
  const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'dataset_splits.json'), 'utf8')) as {
    layouts: { name: string; files: string[]; readme: string | null; config: string | null; expect: Record<string, string[]> | { error: string } }[];
  };
  expect(fixture.layouts.length).toBe(16);
  for (const [i, l] of fixture.layouts.entries()) {
    const root = path.join(tmp, 'layouts', String(i));
    for (const f of l.files) {
      fs.mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
      fs.writeFileSync(path.join(root, f), '{}');
    }
    if (l.readme !== null) fs.writeFileSync(path.join(root, 'README.md'), l.readme);
    const run = () => Object.fromEntries(Object.entries(torch.data.datasetSplits(root, l.config === null ? {} : { config: l.config }))
      .map(([split, files]) => [split, files.map((f) => path.relative(root, f).split(path.sep).join('/'))]));
    if ('error' in l.expect) expect(run).toThrow(/config/);
    else expect({ layout: l.name, config: l.config, splits: run() }).toEqual({ layout: l.name, config: l.config, splits: l.expect });
  }
});

test('the CLI takes a cached dataset id for --data / --eval-data (ID:SPLIT, --dataset-config-name): train reads train, eval validation', () => {
  const bin = path.join(__dirname, '..', 'dist', 'lib', 'cli', 'main.js');
  const cli = (...args: string[]) => {
    const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 300000, env: { ...process.env, HF_HUB_CACHE: cache } });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };
  // push_to_hub's layout: two train shards and a validation shard (sst2-like parquet)
  const fx = path.join(__dirname, 'fixtures', 'parquet'), src = path.join(tmp, 'reviews');
  fs.mkdirSync(path.join(src, 'data'), { recursive: true });
  fs.copyFileSync(path.join(fx, 'classification.parquet'), path.join(src, 'data', 'train-00000-of-00002.parquet'));
  fs.copyFileSync(path.join(fx, 'codec_zstd.parquet'), path.join(src, 'data', 'train-00001-of-00002.parquet'));
  fs.copyFileSync(path.join(fx, 'codec_gzip.parquet'), path.join(src, 'data', 'validation-00000-of-00001.parquet'));
  fs.writeFileSync(path.join(src, 'README.md'), '# reviews\n');
  cacheRepo('someone/reviews', src, COMMIT, 'main', 'datasets');
  const out = path.join(tmp, 'reviews-run');
  const t = cli('train', '--model', plain, '--task', 'text-classification', '--data', 'someone/reviews', '--eval-data', 'someone/reviews',
    '--out', out, '--block-size', '32', '--batch-size', '4', '--max-steps', '1');
  expect(t.err).toBe('');
  expect(t.out).toMatch(/training: 46 labelled texts \(single label classification, 2 classes: negative, positive\)/);
  expect(fs.readFileSync(path.join(out, 'README.md'), 'utf8')).toMatch(/on someone\/reviews \(train\)/);
  const byId = cli('eval', '--model', plain, '--adapter', out, '--data', 'someone/reviews', '--block-size', '32', '--json');
  expect(byId.err).toBe('');
  expect(byId.out).toBe(cli('eval', '--model', plain, '--adapter', out, '--data', path.join(src, 'data', 'validation-00000-of-00001.parquet'), '--block-size', '32', '--json').out);
  expect(JSON.parse(cli('eval', '--model', plain, '--adapter', out, '--data', 'someone/reviews:train', '--block-size', '32', '--json').out).examples).toBe(46);
  expect(cli('eval', '--model', plain, '--adapter', out, '--data', 'someone/reviews:test').err).toMatch(/--data someone\/reviews:test: the dataset has no 'test' split \(it has train, validation\)/);
  expect(cli('eval', '--model', plain, '--data', 'nobody/nothing:train').err).toMatch(/no dataset nobody\/nothing in the Hugging Face cache .*huggingface-cli download --repo-type dataset nobody\/nothing/);
  expect(cli('eval', '--model', plain, '--data', path.join(src, 'README.md'), '--dataset-config-name', 'x').err).toMatch(/--dataset-config-name chooses a config of a dataset id/);
  // TRL's ScriptArguments: dataset_name, dataset_train_split (what trains), dataset_test_split (what evaluates)
  const nValidation = JSON.parse(byId.out).examples as number;
  const trl = path.join(tmp, 'reviews-trl');
  const t2 = cli('train', '--model', plain, '--task', 'text-classification', '--dataset_name', 'someone/reviews', '--dataset_train_split', 'validation',
    '--dataset_test_split', 'train', '--out', trl, '--block-size', '32', '--batch-size', '4', '--max-steps', '1');
  expect(t2.err).toBe('');
  expect(t2.out).toMatch(new RegExp(`training: ${nValidation} labelled texts`));
  expect(fs.readFileSync(path.join(trl, 'README.md'), 'utf8')).toMatch(/on someone\/reviews \(validation\)/);
  const evals = fs.readFileSync(path.join(trl, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.eval_loss !== undefined);
  expect(evals.length).toBe(1);
  const onTrain = JSON.parse(cli('eval', '--model', plain, '--adapter', trl, '--data', 'someone/reviews:train', '--block-size', '32', '--json').out);
  expect(evals[0].eval_loss).toBeCloseTo(onTrain.loss, 5);
  expect(cli('train', '--model', plain, '--data', path.join(src, 'README.md'), '--dataset-test-split', 'test', '--out', trl).err).toMatch(/--dataset-test-split names a split of --data given as a dataset id/);
});

// datasets' split slicing, against test/fixtures/split_slices/expected.json: the rows datasets 5's
// load_dataset(..., split=SPEC) gave (scripts/reference/make_split_slice_fixtures.py)
const SLICES = path.join(__dirname, 'fixtures', 'split_slices');
const sliceFixture = JSON.parse(fs.readFileSync(path.join(SLICES, 'expected.json'), 'utf8')) as Record<'records' | 'text' | 'csv', Record<string, { rows?: Record<string, unknown>[]; error?: string }>>;

test('split slicing as load_dataset(split=...): percents (closest, pct1_dropremainder), negative and clamped bounds, sums of splits; Parquet shards, JSON Lines, text lines, CSV rows', () => {
  const layouts = {
    records: { train: ['data/train-00000-of-00002.parquet', 'data/train-00001-of-00002.parquet'], validation: ['data/validation.jsonl'] },
    text: { train: ['train.txt'] },
    csv: { train: ['train.csv'] },
  };
  let compared = 0, refused = 0;
  for (const [layout, splitFiles] of Object.entries(layouts) as [keyof typeof layouts, Record<string, string[]>][]) {
    const splits = Object.fromEntries(Object.entries(splitFiles).map(([s, fs_]) => [s, fs_.map((f) => path.join(SLICES, layout, f))]));
    for (const [spec, want] of Object.entries(sliceFixture[layout])) {
      const out = fs.mkdtempSync(path.join(tmp, 'slice-'));
      const run = () => torch.data.sliceSplits(splits, spec, out);
      if (want.error !== undefined || want.rows!.length === 0) {
        // (datasets' refusals; and its empty results for a slice that ends before it starts, refused here too)
        expect(run).toThrow(/split '.*'/);
        refused++;
        continue;
      }
      const files = run();
      let rows: unknown[];
      if (layout === 'text') rows = files.flatMap((f) => fs.readFileSync(f, 'utf8').split('\n').slice(0, -1).map((text) => ({ text })));
      else if (layout === 'csv') rows = files.flatMap((f) => torch.data.readCsvRecords(f));
      else rows = files.flatMap((f) => torch.data.readRecords(f, { raw: true }).map(([, r]) => r));
      expect({ layout, spec, rows }).toEqual({ layout, spec, rows: want.rows });
      compared++;
    }
  }
  expect([compared, refused]).toEqual([21, 9]);
  expect(torch.data.parseSplitSpec('train[10%:-5](pct1_dropremainder) + test')).toEqual([
    { split: 'train', from: 10, to: -5, unit: '%', rounding: 'pct1_dropremainder' }, { split: 'test', from: null, to: null, unit: 'abs', rounding: null }]);
  expect(torch.data.splitSliceBounds({ split: 'train', from: null, to: 50, unit: '%', rounding: 'closest' }, 45)).toEqual([0, 22]); // (22.5: halves to even)
});

test('the CLI slices a cached dataset\'s splits (--data ID:train[:33%], sums): the rows datasets takes, ClassLabel names kept', () => {
  const bin = path.join(__dirname, '..', 'dist', 'lib', 'cli', 'main.js');
  const cli = (...args: string[]) => {
    const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 300000, env: { ...process.env, HF_HUB_CACHE: cache } });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };
  const src = path.join(tmp, 'sliced-src');
  fs.mkdirSync(path.join(src, 'data'), { recursive: true });
  for (const f of ['train-00000-of-00002.parquet', 'train-00001-of-00002.parquet']) fs.copyFileSync(path.join(SLICES, 'records', 'data', f), path.join(src, 'data', f));
  cacheRepo('someone/sliced', src, COMMIT, 'main', 'datasets');
  // evaluating the slice = evaluating the rows datasets gave for it, written as a .jsonl
  const rows = sliceFixture.records['train[:33%](closest)'].rows!;
  const jsonl = path.join(tmp, 'sliced.jsonl');
  fs.writeFileSync(jsonl, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const bySpec = cli('eval', '--model', plain, '--data', 'someone/sliced:train[:33%](closest)', '--block-size', '16', '--no-packing', '--json');
  expect(bySpec.err).toBe('');
  expect(JSON.parse(bySpec.out).blocks).toBe(rows.length);
  expect(bySpec.out).toBe(cli('eval', '--model', plain, '--data', jsonl, '--block-size', '16', '--no-packing', '--json').out);
  // a sum across the two shards, as a classifier's data: the Parquet files' ClassLabel names come along
  const out = path.join(tmp, 'sliced-run');
  const t = cli('train', '--model', plain, '--task', 'text-classification', '--data', 'someone/sliced:train[-5:] + train[:2]', '--out', out, '--block-size', '16', '--batch-size', '4', '--max-steps', '1');
  expect(t.err).toBe('');
  expect(t.out).toMatch(/training: 7 labelled texts \(single label classification, 2 classes: neg, pos\)/);
  expect(fs.readFileSync(path.join(out, 'README.md'), 'utf8')).toMatch(/on someone\/sliced \(train\[-5:\] \+ train\[:2\]\)/);
  expect(cli('eval', '--model', plain, '--data', 'someone/sliced:train[:0]').err).toMatch(/--data someone\/sliced:train\[:0\]: split 'train\[:0\]' takes no rows/);
  expect(cli('eval', '--model', plain, '--data', 'someone/sliced:train[::2]').err).toMatch(/'train\[::2\]' is not a split spec/);
  expect(cli('eval', '--model', plain, '--data', 'someone/sliced:test[:5]').err).toMatch(/no 'test' split \(there are train\)/);
});
