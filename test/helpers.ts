// Test helpers: fixtures in, tensors compared.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as torch from '../lib';
import { registerPending } from '../lib/tensor/scope';
import type { ByteMachine } from '../lib/models/token_constraint';

export const fixtures = path.join(__dirname, 'fixtures');

export interface EncodedTensor {
  shape: number[];
  dtype: string;
  data: number[];
}

export function readJson<T = unknown>(name: string): T {
  return JSON.parse(fs.readFileSync(path.join(fixtures, name), 'utf8')) as T;
}

export function decode(e: EncodedTensor, opts: { requiresGrad?: boolean } = {}): torch.Tensor {
  const dtype = (e.dtype === 'float' ? 'float32' : e.dtype === 'long' ? 'int64' : e.dtype) as torch.DType;
  return torch.tensor(e.data, { dtype, shape: e.shape, requiresGrad: opts.requiresGrad && dtype.startsWith('float') });
}

/** max |a - b| / max(|b|_max, tiny): the error relative to the reference's largest element. */
export function relErr(a: torch.Tensor, b: torch.Tensor): number {
  expect(a.shape).toEqual(b.shape);
  return torch.tidy(() => {
    const da = a.to({ dtype: 'float64' }), db = b.to({ dtype: 'float64' });
    const diff = da.sub(db).abs().max().item() as number;
    const scale = Math.max(db.abs().max().item() as number, 1e-30);
    return diff / scale;
  });
}

/**
 * The small GPT-2 of the generation tests (vocabulary 64, eos 17 a token it often picks), made less
 * flat (scaled embeddings and attention outputs) so that beams differ from greedy and from each
 * other and its tokens are not near ties; in eval mode.
 */
export function lessFlatGpt2(): torch.GPT2LMHeadModel {
  torch.manualSeed(1);
  const m = new torch.GPT2LMHeadModel({ vocab_size: 64, n_positions: 40, n_embd: 32, n_layer: 2, n_head: 2, eos_token_id: 63, bos_token_id: 63 });
  torch.noGrad(() => {
    m.transformer.wte.weight.mul_(6);
    m.transformer.wpe.weight.mul_(20);
    for (const block of m.transformer.h.items) (block.attn.c_proj as torch.nn.Conv1D).weight.mul_(20);
  });
  return m.eval();
}

/** A tiny GPT-2 with the real GPT-2 vocabulary (so real text's BPE fits), saved in HF layout. */
export async function saveTinyGpt2(dir: string, config: Partial<torch.GPT2Config> = {}): Promise<string> {
  torch.manualSeed(0);
  const m = new torch.GPT2LMHeadModel({ vocab_size: 50257, n_positions: 64, n_embd: 16, n_layer: 1, n_head: 2, ...config });
  await m.savePretrained(dir);
  m.dispose();
  return dir;
}

// A byte-level BPE other than GPT-2's, for the tests of a model folder's own tokenizer.
const byteChars = (): string[] => {
  const printable = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  let next = 256;
  return Array.from({ length: 256 }, (_, b) => String.fromCodePoint(printable(b) ? b : next++));
};

/** A small byte-level BPE learned here (most frequent pair first), ids in an order unlike GPT-2's. */
export function learnBpe(text: string, nMerges: number): { vocab: Record<string, number>; merges: [string, string][] } {
  const chars = byteChars(), enc = new TextEncoder();
  const counts = new Map<string, number>();
  for (const [w] of text.matchAll(/'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu)) {
    const word = Array.from(enc.encode(w), (b) => chars[b]).join('\u0001');
    counts.set(word, (counts.get(word) ?? 0) + 1);
  }
  let words = [...counts].map(([w, n]) => [w.split('\u0001'), n] as [string[], number]);
  const merges: [string, string][] = [];
  for (let m = 0; m < nMerges; m++) {
    const pairs = new Map<string, number>();
    for (const [parts, n] of words) for (let i = 0; i + 1 < parts.length; i++) pairs.set(`${parts[i]} ${parts[i + 1]}`, (pairs.get(`${parts[i]} ${parts[i + 1]}`) ?? 0) + n);
    let best = '', bestN = 0;
    for (const [p, n] of pairs) if (n > bestN) { best = p; bestN = n; }
    if (!best) break;
    const [a, b] = best.split(' ');
    merges.push([a, b]);
    words = words.map(([parts, n]) => {
      const out: string[] = [];
      for (let i = 0; i < parts.length;) if (i + 1 < parts.length && parts[i] === a && parts[i + 1] === b) { out.push(a + b); i += 2; } else out.push(parts[i++]);
      return [out, n];
    });
  }
  const tokens = [...chars.slice().reverse(), ...merges.map(([a, b]) => a + b)];
  const vocab: Record<string, number> = {};
  tokens.forEach((t) => { if (!(t in vocab)) vocab[t] = Object.keys(vocab).length; });
  vocab['<|endoftext|>'] = Object.keys(vocab).length;
  return { vocab, merges };
}

/** vocab.json, merges.txt and special_tokens_map.json (eos <|endoftext|>) of a learnBpe tokenizer into dir. */
export function writeBpeFiles(dir: string, t: { vocab: Record<string, number>; merges: [string, string][] }): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'vocab.json'), JSON.stringify(t.vocab));
  fs.writeFileSync(path.join(dir, 'merges.txt'), ['#version: 0.2', ...t.merges.map((m) => m.join(' '))].join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'special_tokens_map.json'), JSON.stringify({ bos_token: '<|endoftext|>', eos_token: '<|endoftext|>', unk_token: '<|endoftext|>' }));
  return dir;
}

/** Brown press reportage as a training file (first `train` docs) and a held-out file (the next). */
export function brownTextFiles(dir: string, train = 2, heldOutChars = Infinity): { trainFile: string; evalFile: string } {
  const docs = torch.data.brownDocuments(['a']).slice(0, train + 1).map((d) => d.text);
  const trainFile = path.join(dir, 'train.txt'), evalFile = path.join(dir, 'eval.txt');
  fs.writeFileSync(trainFile, docs.slice(0, train).join('\n'));
  fs.writeFileSync(evalFile, docs[train].slice(0, heldOutChars));
  return { trainFile, evalFile };
}

// Tensors by name (written as safetensors), or anything else (written as JSON).
type ReferenceInput = Map<string, torch.Tensor> | Record<string, unknown> | unknown[];
/**
 * Runs a Python reference, scripts/reference/<script>, with /usr/bin/python3 (PyTorch): each
 * input is written to a temporary file (tensors as safetensors, anything else as JSON) and the
 * paths are passed in order, then the output's path; returns the output, read back.
 */
function runReference(script: string, inputs: ReferenceInput[], outName: string): string {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `tstorch-${path.basename(script, '.py')}-`));
  const args = inputs.map((x, k) => {
    const isTensors = x instanceof Map || (!Array.isArray(x) && Object.values(x).every((v) => v instanceof torch.Tensor));
    const file = path.join(tmp, `in${k}.${isTensors ? 'safetensors' : 'json'}`);
    if (isTensors) torch.io.safetensors.saveFile(file, x as Map<string, torch.Tensor>);
    else fs.writeFileSync(file, JSON.stringify(x));
    return file;
  });
  const out = path.join(tmp, outName);
  const run = spawnSync('/usr/bin/python3', [path.join(__dirname, '..', 'scripts', 'reference', script), ...args, out], { encoding: 'utf8' });
  if (run.status !== 0) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw new Error(`${script} failed:\n${run.stderr}`);
  }
  return out;
}
/** runReference with a safetensors output: its tensors, kept past every tidy(). */
export function referenceTensors(script: string, ...inputs: ReferenceInput[]): Map<string, torch.Tensor> {
  const out = runReference(script, inputs, 'out.safetensors');
  const tensors = torch.io.safetensors.loadFile(out).tensors;
  for (const t of tensors.values()) torch.keep(t);
  fs.rmSync(path.dirname(out), { recursive: true, force: true });
  return tensors;
}
/** runReference with a JSON output. */
export function referenceJson<T>(script: string, ...inputs: ReferenceInput[]): T {
  const out = runReference(script, inputs, 'out.json');
  const value = JSON.parse(fs.readFileSync(out, 'utf8')) as T;
  fs.rmSync(path.dirname(out), { recursive: true, force: true });
  return value;
}

/** Runs Python code (PyTorch's /usr/bin/python3, warnings off) that prints one JSON value; returns it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON from Python, shaped by each test
export function pythonJson<T = any>(code: string, ...args: string[]): T {
  const r = spawnSync('/usr/bin/python3', ['-W', 'ignore', '-c', code, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`python failed:\n${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/**
 * Each tensor (flattened) against the reference's flat lists of numbers from Python, within tol
 * (absolute); names the result and position that is off.
 */
export function expectFlatClose(name: string, got: torch.Tensor[], want: number[][], tol = 1e-12): void {
  expect([name, got.length]).toEqual([name, want.length]);
  got.forEach((t, k) => {
    const v = t.flatten().tolist() as number[];
    expect([name, k, v.length]).toEqual([name, k, want[k].length]);
    const err = Math.max(0, ...v.map((a, i) => Math.abs(a - want[k][i])));
    if (!(err < tol)) throw new Error(`${name}[${k}]: off by ${err}`);
  });
}

/**
 * A ported example's Python original, run: scripts/reference/<script> RUN.json [DATA.safetensors]
 * OUT_DIR, with `run` as RUN.json and `data` (when given) as DATA. Gives every .safetensors it
 * wrote, by file stem (init, final, ...), and its out.json; dispose() frees the tensors.
 */
export function runExampleReference<O>(script: string, run: object, data?: Record<string, torch.Tensor>): { files: Record<string, Map<string, torch.Tensor>>; out: O; dispose(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `tstorch-${path.basename(script, '.py')}-`));
  try {
    const runFile = path.join(dir, 'run.json'), dataFile = path.join(dir, 'data.safetensors');
    fs.writeFileSync(runFile, JSON.stringify(run));
    if (data) torch.io.safetensors.saveFile(dataFile, data);
    const ref = path.join(__dirname, '..', 'scripts', 'reference', script);
    const args = data ? [ref, runFile, dataFile, dir] : [ref, runFile, dir];
    const r = spawnSync('/usr/bin/python3', ['-W', 'ignore', ...args], { encoding: 'utf8', env: { ...process.env, PYTHONPATH: path.dirname(ref) } });
    if (r.status !== 0) throw new Error(`${script} failed:\n${r.stderr}`);
    const files: Record<string, Map<string, torch.Tensor>> = {};
    for (const f of fs.readdirSync(dir)) {
      if (f.endsWith('.safetensors') && f !== 'data.safetensors') files[f.replace(/\.safetensors$/, '')] = torch.io.safetensors.loadFile(path.join(dir, f)).tensors;
    }
    const out = JSON.parse(fs.readFileSync(path.join(dir, 'out.json'), 'utf8')) as O;
    return { files, out, dispose: () => { for (const m of Object.values(files)) for (const t of m.values()) t.dispose(); } };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The largest |a - b| between two state dicts, name by name (the names must be the same, in any order). */
export function stateDictDiff(ours: Map<string, torch.Tensor>, theirs: Map<string, torch.Tensor>): number {
  expect([...ours.keys()].sort()).toEqual([...theirs.keys()].sort());
  return Math.max(...[...ours].map(([n, t]) => torch.tidy(() => t.to('float64').sub(theirs.get(n)!.to('float64')).abs().max().item())));
}

/** Waits (up to two minutes) until a file has n lines: a running process's metrics.jsonl, say. */
export async function waitForLines(file: string, n: number): Promise<void> {
  const lines = () => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).length : 0);
  for (const t0 = Date.now(); lines() < n && Date.now() - t0 < 120000;) await new Promise((r) => setTimeout(r, 50));
}

/** How many mappings of file this process holds (/proc/self/maps), after the frees queued so far (any native call does them). */
export function fileMappings(file: string): number {
  torch.memory();
  return fs.readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => l.endsWith(' ' + fs.realpathSync(file))).length;
}

/**
 * torch.memory().liveTensors once garbage is gone: a full GC, then turns of the event loop until
 * the finalizers of unreachable tensors made outside any scope (tstorch's safety net) have run.
 * Async tests compare this before and after: finalizers of earlier tests' garbage may run at any
 * await in between, so a plain count can fall there and hide a leak, or fail a test that has none.
 */
export async function settledLiveTensors(): Promise<number> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require('v8').setFlagsFromString('--expose-gc');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const gc = require('vm').runInNewContext('gc') as () => void;
  let last = -1, same = 0;
  for (let i = 0; i < 50 && same < 3; i++) {
    registerPending(); // (up to 255 new tensors wait, held, before the safety net takes them)
    gc();
    await new Promise((r) => setTimeout(r, 5));
    const now = torch.memory().liveTensors;
    same = now === last ? same + 1 : 0;
    last = now;
  }
  return last;
}

/**
 * A small seeded generator (mulberry32) for tests of random programs, the same on every run:
 * random() in [0, 1), int(lo, hi) an integer in [lo, hi].
 */
export function seededRandom(seed: number): { random: () => number; int: (lo: number, hi: number) => number } {
  const random = () => {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = Math.imul(seed ^ (seed >>> 15), seed | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  return { random, int: (lo, hi) => lo + Math.floor(random() * (hi - lo + 1)) };
}

/** A JSON POST to a server under test: its status and JSON body, or (server-sent events) the events' data parsed. */
export async function postJson(base: string, route: string, body: unknown): Promise<{ status: number; json?: any; events?: any[] }> {
  const res = await fetch(`${base}${route}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  if (res.headers.get('content-type')?.startsWith('text/event-stream')) {
    return { status: res.status, events: text.split('\n\n').filter((e) => e.startsWith('data: ')).map((e) => e.slice(6)).map((d) => (d === '[DONE]' ? d : JSON.parse(d))) };
  }
  return { status: res.status, json: JSON.parse(text) };
}

/**
 * The shortest bytes (of `alphabet`) that finish what `bytes` began into a whole reply, by the
 * machine alone; null where none does; undefined where the search met more than `maxSets` sets of
 * states first (a machine that reads a text in many ways at once).
 */
export function shortestFinish(m: ByteMachine<unknown>, bytes: ArrayLike<number>, alphabet: number[], maxSets = Infinity): number[] | null | undefined {
  let states = m.start();
  for (const b of Array.from(bytes)) states = states.flatMap((s) => m.feed(s, b));
  let frontier = [{ states, tail: [] as number[] }];
  const seen = new Set<string>();
  for (let depth = 0; depth < 300 && frontier.length; depth++) {
    const next: typeof frontier = [];
    for (const { states: now, tail } of frontier) {
      if (now.some((s) => m.accepts(s))) return tail;
      for (const b of alphabet) {
        const after = now.flatMap((s) => m.feed(s, b));
        const key = after.map((s) => m.key(s)).sort().join('\n');
        if (!after.length || seen.has(key)) continue;
        seen.add(key);
        if (seen.size > maxSets) return undefined;
        next.push({ states: after, tail: [...tail, b] });
      }
    }
    frontier = next;
  }
  return null;
}
