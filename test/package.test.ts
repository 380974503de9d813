// The npm package as users get it: npm pack, install the tarball into a fresh folder with every
// compiler on PATH replaced by a tripwire, and use it from CommonJS, ESM and TypeScript. Also:
// with libtorch hidden, the error says what to install.
import { spawnSync, SpawnSyncOptions } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const repo = path.join(__dirname, '..');
let tmp: string, app: string, tripwire: string;
const sh = (cmd: string, args: string[], opts: SpawnSyncOptions = {}) =>
  spawnSync(cmd, args, { encoding: 'utf8', timeout: 600000, ...opts }) as { status: number; stdout: string; stderr: string };

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-pkg-'));
  app = path.join(tmp, 'app');
  fs.mkdirSync(app);
  // Tripwires: any compiler or build tool the install might call records itself and fails.
  const fake = path.join(tmp, 'fakebin');
  fs.mkdirSync(fake);
  tripwire = path.join(tmp, 'compiler-was-called');
  for (const tool of ['cmake', 'c++', 'g++', 'gcc', 'cc', 'make', 'ninja', 'node-gyp']) {
    fs.writeFileSync(path.join(fake, tool), `#!/bin/sh\necho "${tool} $*" >> ${tripwire}\nexit 1\n`, { mode: 0o755 });
  }
  process.env.TSTORCH_TEST_FAKEBIN = fake;
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('npm pack holds what users need and nothing else', () => {
  const r = sh('npm', ['pack', '--pack-destination', tmp, '--json'], { cwd: repo });
  expect(r.status).toBe(0);
  const info = JSON.parse(r.stdout.slice(r.stdout.indexOf('[')))[0];
  const files: string[] = info.files.map((f: { path: string }) => f.path);
  expect(files).toContain('dist/lib/index.js');
  expect(files).toContain('dist/lib/index.d.ts');
  expect(files).toContain('dist/esm/index.mjs');
  expect(files.some((f) => /^prebuilds\/linux-x64\/tstorch\.torch-.*\.node$/.test(f))).toBe(true);
  expect(files).toContain('native/core.cc');
  expect(files.some((f) => f.startsWith('test/') || f.startsWith('build/') || f.includes('fixtures') || f.startsWith('node_modules/'))).toBe(false);
  fs.renameSync(path.join(tmp, info.filename), path.join(tmp, 'tstorch.tgz'));
});

test('installs with the prebuilt binary (no compiler step) and works from CJS, ESM and TypeScript', () => {
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
  const env = { ...process.env, PATH: `${process.env.TSTORCH_TEST_FAKEBIN}:${process.env.PATH}` };
  const r = sh('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--foreground-scripts', path.join(tmp, 'tstorch.tgz')], { cwd: app, env });
  expect(r.stderr + r.stdout).toMatch(/using the prebuilt binary prebuilds\/linux-x64\/tstorch\.torch-/);
  expect(r.status).toBe(0);
  expect(fs.existsSync(tripwire)).toBe(false);

  fs.writeFileSync(path.join(app, 'cjs.js'), `
    const torch = require('tstorch');
    const x = torch.tensor([[1, 2], [3, 4]], { dtype: 'float64', requiresGrad: true });
    x.matmul(x).sum().backward();
    const m = new torch.GPT2LMHeadModel({ vocab_size: 50, n_positions: 16, n_embd: 8, n_layer: 1, n_head: 2 });
    const out = m.forward(torch.tensor([[1, 2, 3]], { dtype: 'int64' }));
    const labels = torch.data.readParquet(${JSON.stringify(path.join(repo, 'test', 'fixtures', 'parquet', 'classification.parquet'))}).classLabels;
    console.log(JSON.stringify({ grad: x.grad.tolist(), logits: out.logits.shape, addon: torch.buildInfo().addon.kind, labels }));`);
  const c = sh(process.execPath, ['cjs.js'], { cwd: app, env });
  expect(c.stderr).toBe('');
  // (the Parquet reader's ES-module dependency resolved from the installed package)
  expect(JSON.parse(c.stdout)).toEqual({ grad: [[7, 11], [9, 13]], logits: [1, 3, 50], addon: 'prebuild', labels: { label: ['negative', 'positive'] } });

  fs.writeFileSync(path.join(app, 'esm.mjs'), `
    import * as torch from 'tstorch';
    import { tensor } from 'tstorch';
    console.log(tensor([1, 2]).add(torch.ones([2])).tolist().join(','));`);
  const e = sh(process.execPath, ['esm.mjs'], { cwd: app, env });
  expect(e.stdout.trim()).toBe('2,3');

  fs.writeFileSync(path.join(app, 'consumer.ts'), `
    import * as torch from 'tstorch';
    const t: torch.Tensor = torch.zeros([2, 3], { dtype: 'float32' });
    const s: number[] = t.shape;
    const m: torch.GPT2LMHeadModel = new torch.GPT2LMHeadModel({ vocab_size: 10, n_positions: 8, n_embd: 4, n_layer: 1, n_head: 1 });
    torch.lora.applyLoRA(m, { r: 2 });
    export const n: number = s.length + m.numParameters();`);
  const tsc = path.join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
  const t = sh(process.execPath, [tsc, '--noEmit', '--strict', '--module', 'node16', '--moduleResolution', 'node16', '--types', 'node', '--typeRoots', path.join(repo, 'node_modules', '@types'), 'consumer.ts'], { cwd: app, env });
  expect(t.stdout + t.stderr).toBe('');
  expect(t.status).toBe(0);
});

test('with libtorch hidden, the error says exactly what to install', () => {
  const lib = '/usr/lib/x86_64-linux-gnu/libtorch_cpu.so.1.13';
  const canHide = process.getuid?.() === 0 && fs.existsSync(lib) && sh('unshare', ['-m', 'true']).status === 0;
  if (!canHide) {
    // Without root there is no way to hide a system library; the message itself is still checked.
    const { MISSING_LIBTORCH_HELP } = require('../lib/loader');
    expect(MISSING_LIBTORCH_HELP).toMatch(/apt-get install libtorch-dev/);
    return;
  }
  const script = `mount --bind /dev/null ${lib} && cd ${app} && node -e "require('tstorch')"`;
  const r = sh('unshare', ['-m', 'sh', '-c', script]);
  expect(r.status).not.toBe(0);
  expect(r.stderr).toMatch(/tstorch: libtorch shared libraries were not found/);
  expect(r.stderr).toMatch(/sudo apt-get install libtorch-dev libopenblas0-pthread/);
  expect(r.stderr).toMatch(/LIBTORCH=/);
  expect(r.stderr).not.toMatch(/Segmentation|Aborted/);
});
