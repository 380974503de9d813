// Finds the addon binary: a local build first, then TSTORCH_ADDON, then a matching prebuild.
// When libtorch itself cannot be loaded, says what to install instead of a dlopen trace.
import * as fs from 'fs';
import * as path from 'path';

// The package root: the nearest folder above this file with our package.json (this file runs
// from lib/ under ts-jest and from dist/lib/ when compiled).
function packageRoot(): string {
  let dir = __dirname;
  for (;;) {
    const pj = path.join(dir, 'package.json');
    if (fs.existsSync(pj) && JSON.parse(fs.readFileSync(pj, 'utf8')).name === 'tstorch') return dir;
    const up = path.dirname(dir);
    if (up === dir) return path.resolve(__dirname, '..', '..');
    dir = up;
  }
}
export const root = packageRoot();

export interface AddonCandidate {
  file: string;
  kind: 'build' | 'env' | 'prebuild';
}

function prebuildCandidates(): AddonCandidate[] {
  const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.node'))
    .sort()
    .map((f) => ({ file: path.join(dir, f), kind: 'prebuild' as const }));
}

export function addonCandidates(): AddonCandidate[] {
  const out: AddonCandidate[] = [];
  const local = path.join(root, 'build', 'Release', 'tstorch.node');
  if (fs.existsSync(local)) out.push({ file: local, kind: 'build' });
  if (process.env.TSTORCH_ADDON) out.push({ file: path.resolve(process.env.TSTORCH_ADDON), kind: 'env' });
  return out.concat(prebuildCandidates());
}

export const MISSING_LIBTORCH_HELP =
  'tstorch needs libtorch at run time, and it could not be loaded.\n' +
  '  Debian/Ubuntu:  sudo apt-get install libtorch-dev libopenblas0-pthread\n' +
  '  An unpacked libtorch: add its lib/ folder to LD_LIBRARY_PATH (and LIBTORCH=... to build from source)\n' +
  '  A PyTorch install: TSTORCH_PYTHON=/path/to/python npm rebuild tstorch';

/** Which binary was loaded, for torch.buildInfo(). */
export let loadedAddon: AddonCandidate | null = null;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function loadAddon(): Record<string, (...args: any[]) => any> {
  const candidates = addonCandidates();
  if (candidates.length === 0) {
    throw new Error(
      'tstorch: no native addon found (no build/Release/tstorch.node, no TSTORCH_ADDON, no matching ' +
        `prebuilds/${process.platform}-${process.arch}). Build it with "npm run build:native".\n` +
        MISSING_LIBTORCH_HELP,
    );
  }
  const errors: string[] = [];
  for (const c of candidates) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const addon = require(c.file);
      loadedAddon = c;
      return addon;
    } catch (e) {
      errors.push(`${c.file}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  const libMissing = errors.some((m) => /lib(torch|c10)[^ ]*\.so/.test(m));
  throw new Error(
    (libMissing ? 'tstorch: libtorch shared libraries were not found.\n' : 'tstorch: the native addon failed to load.\n') +
      MISSING_LIBTORCH_HELP +
      '\nTried:\n  ' +
      errors.join('\n  '),
  );
}
