// PyTorch's examples/word_language_model ported as written (scripts/examples/word-language-model.ts)
// against the Python original on the same news text (scripts/reference/word_language_model_ref.py),
// for each of its models: the same state dict from the same seed (bit for bit), the same loss at
// every training batch (dropout's draws included) and the same validation losses, through
// truncated BPTT, clipping, the written-out SGD step and lr annealing; nothing left in memory.
import * as torch from '../lib';
import { run, buildModel, corpus, ModelType } from '../scripts/examples/word-language-model';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';

const docs = torch.data.brownDocuments(['a']).map((d) => d.text.split('\n').slice(0, 12).join('\n'));
const { words, ids } = corpus([docs.slice(0, 30).join('\n'), docs.slice(30, 36).join('\n')]);
const common = { train: ids[0], valid: ids[1], ntokens: words.length, emsize: 16, nhid: 16, nlayers: 2, nhead: 2, lr: 20, clip: 0.25, epochs: 3, batchSize: 8, bptt: 10, dropout: 0.2, seed: 1111 };

function pythonRun(model: ModelType, tied: boolean) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-wlm-'));
  try {
    const runFile = path.join(dir, 'run.json');
    fs.writeFileSync(runFile, JSON.stringify({ ...common, model, tied, batch_size: common.batchSize }));
    const script = path.join(__dirname, '..', 'scripts', 'reference', 'word_language_model_ref.py');
    const r = spawnSync('/usr/bin/python3', ['-W', 'ignore', script, runFile, dir], { encoding: 'utf8', env: { ...process.env, PYTHONPATH: path.dirname(script) } });
    if (r.status !== 0) throw new Error(`word_language_model_ref.py failed:\n${r.stderr}`);
    return {
      init: torch.io.safetensors.loadFile(path.join(dir, 'init.safetensors')).tensors,
      final: torch.io.safetensors.loadFile(path.join(dir, 'final.safetensors')).tensors,
      out: JSON.parse(fs.readFileSync(path.join(dir, 'out.json'), 'utf8')) as { train_losses: number[]; val_losses: number[] },
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** max |a - b| over a state dict, by name; the names must be the same. */
function maxDiff(ours: Map<string, torch.Tensor>, theirs: Map<string, torch.Tensor>): number {
  expect([...ours.keys()].sort()).toEqual([...theirs.keys()].sort());
  return Math.max(...[...ours].map(([n, t]) => torch.tidy(() => t.sub(theirs.get(n)!).abs().max().item())));
}

test.each([
  ['LSTM', false], ['LSTM', true], ['GRU', false], ['RNN_TANH', false], ['RNN_RELU', true], ['Transformer', false],
] as [ModelType, boolean][])('%s (tied %s): the state dict as built bit for bit, every batch\'s loss and each epoch\'s validation loss within 1e-5, as PyTorch\'s', (model, tied) => {
  const ref = pythonRun(model, tied);
  const before = torch.memory().liveTensors;
  // the model as built from the same seed (main.py seeds, then batchifies, which draws nothing, then builds)
  torch.manualSeed(common.seed);
  const built = buildModel({ ...common, model, tied });
  expect(maxDiff(built.stateDict(), ref.init)).toBe(0);
  built.dispose();
  const { model: m, trainLosses, valLosses } = run({ ...common, model, tied });
  expect(maxDiff(m.stateDict(), ref.final)).toBeLessThan(1e-4);
  expect(trainLosses.length).toBe(ref.out.train_losses.length);
  trainLosses.forEach((l, i) => expect([i, l, Math.abs(l - ref.out.train_losses[i]) < 1e-5]).toEqual([i, l, true]));
  valLosses.forEach((l, i) => expect([i, Math.abs(l - ref.out.val_losses[i]) < 1e-5]).toEqual([i, true]));
  // it learned: the training loss fell (on this little text the validation loss barely moves, in PyTorch as here)
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  expect(mean(trainLosses.slice(-10))).toBeLessThan(mean(trainLosses.slice(0, 10)) - 0.5);
  m.dispose();
  expect(torch.memory().liveTensors).toBe(before);
  for (const t of [...ref.init.values(), ...ref.final.values()]) t.dispose();
}, 120_000);
