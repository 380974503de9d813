// A character-level LSTM language model on Brown Corpus news text, in the torch.nn style a
// PyTorch user writes: Embedding -> LSTM -> Linear, Adam with OneCycleLR, gradient clipping,
// a TensorDataset / DataLoader, held-out loss before and after, and a sample.
//   node dist/scripts/examples/char-lstm.js [--steps 300] [--hidden 256] [--seq 64]
import * as torch from '../../lib';

const nn = torch.nn;
const F = nn.functional;

export interface CharLSTMOptions {
  steps?: number;
  hidden?: number;
  layers?: number;
  seqLen?: number;
  batchSize?: number;
  maxLr?: number;
  /** characters of news text to use (train on 90%, hold out the rest) */
  chars?: number;
  seed?: number;
  sampleLength?: number;
  log?: (line: string) => void;
}

class CharModel extends nn.Module {
  declare embed: torch.nn.Embedding;
  declare lstm: torch.nn.LSTM;
  declare head: torch.nn.Linear;
  constructor(vocab: number, hidden: number, layers: number) {
    super();
    this.registerModule('embed', new nn.Embedding(vocab, 64));
    this.registerModule('lstm', new nn.LSTM(64, hidden, { numLayers: layers, batchFirst: true, dropout: layers > 1 ? 0.1 : 0 }));
    this.registerModule('head', new nn.Linear(hidden, vocab));
  }
  /** Logits (N, L, vocab) and the final LSTM state. */
  forward(ids: torch.Tensor, state: [torch.Tensor, torch.Tensor] | null = null): [torch.Tensor, [torch.Tensor, torch.Tensor]] {
    return torch.tidy(() => {
      const [h, s] = this.lstm(this.embed(ids), state);
      return [this.head(h), s] as [torch.Tensor, [torch.Tensor, torch.Tensor]];
    });
  }
}

export function trainCharLSTM(o: CharLSTMOptions = {}) {
  const log = o.log ?? console.log;
  const steps = o.steps ?? 300, seqLen = o.seqLen ?? 64, batchSize = o.batchSize ?? 32;
  torch.manualSeed(o.seed ?? 0);
  const text = torch.data.brownDocuments(torch.data.NEWS_CATEGORIES).map((d) => d.text).join('\n').slice(0, o.chars ?? 400_000);
  const alphabet = [...new Set(text)].sort();
  const index = new Map(alphabet.map((c, i) => [c, i]));
  const ids = Int32Array.from(text, (c) => index.get(c)!);
  // Non-overlapping windows of seqLen + 1 characters: inputs are the first seqLen, targets the last.
  const windows = Math.floor(ids.length / (seqLen + 1));
  const all = torch.tensor(ids.subarray(0, windows * (seqLen + 1)), { dtype: 'int64', shape: [windows, seqLen + 1] });
  const nTrain = Math.floor(windows * 0.9);
  const train = new torch.data.TensorDataset(all.narrow(0, 0, nTrain));
  const heldOut = torch.keep(all.narrow(0, nTrain, windows - nTrain));
  all.dispose();

  const model = new CharModel(alphabet.length, o.hidden ?? 256, o.layers ?? 1);
  const params = model.parameters();
  const opt = new torch.optim.Adam(params, { lr: 1e-3 });
  const sched = new torch.optim.lrScheduler.OneCycleLR(opt, { maxLr: o.maxLr ?? 1e-2, totalSteps: steps });
  const loader = new torch.data.DataLoader(train, { batchSize, shuffle: true, seed: o.seed ?? 0, dropLast: true });

  const lossOf = (batch: torch.Tensor) => {
    const [logits] = model(batch.narrow(1, 0, seqLen));
    return F.crossEntropy(logits.reshape([-1, alphabet.length]), batch.narrow(1, 1, seqLen).reshape([-1]));
  };
  const evaluate = () => torch.noGrad(() => torch.tidy(() => {
    model.eval();
    const l = lossOf(heldOut).item() as number;
    model.train();
    return l;
  }));

  const before = evaluate();
  log(`vocab ${alphabet.length} chars, ${nTrain} training windows of ${seqLen}, ${model.numParameters().toLocaleString('en-US')} parameters; held-out loss ${before.toFixed(3)}`);
  let step = 0;
  const t0 = Date.now();
  while (step < steps) {
    for (const [batch] of loader) {
      if (step === steps) { batch.dispose(); break; }
      const loss = torch.tidy(() => {
        opt.zeroGrad();
        const l = lossOf(batch);
        l.backward();
        nn.utils.clipGradNorm(params, 1);
        opt.step();
        return l.item() as number;
      });
      batch.dispose();
      sched.step();
      step++;
      if (step % 50 === 0 || step === steps) log(`step ${step}: loss ${loss.toFixed(3)}, lr ${sched.getLastLr()[0].toExponential(2)}`);
    }
  }
  const after = evaluate();
  const seconds = (Date.now() - t0) / 1000;
  log(`held-out loss ${before.toFixed(3)} -> ${after.toFixed(3)} in ${seconds.toFixed(1)} s`);

  // Sampling: feed the prompt, then one character at a time with the LSTM state carried along.
  const sample = torch.noGrad(() => {
    model.eval();
    let out = 'The jury';
    let state: [torch.Tensor, torch.Tensor] | null = null;
    let input = torch.tensor([[...out].map((c) => index.get(c) ?? 0)], { dtype: 'int64' });
    for (let k = 0; k < (o.sampleLength ?? 200); k++) {
      const [logits, next]: [torch.Tensor, [torch.Tensor, torch.Tensor]] = model(input, state);
      state?.forEach((s) => s.dispose());
      state = next;
      const probs = torch.tidy(() => F.softmax(logits.select(1, -1).div(0.8), -1));
      const c = torch.tidy(() => probs.multinomial(1).item() as number);
      for (const t of [logits, probs, input]) t.dispose();
      out += alphabet[c];
      input = torch.tensor([[c]], { dtype: 'int64' });
    }
    state?.forEach((s) => s.dispose());
    input.dispose();
    return out;
  });
  log(`sample: ${JSON.stringify(sample)}`);
  model.dispose();
  heldOut.dispose();
  for (const t of train.tensors) t.dispose();
  opt.dispose();
  return { before, after, steps: step, seconds, sample, vocab: alphabet.length };
}

if (require.main === module) {
  const arg = (name: string, d: number) => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? Number(process.argv[i + 1]) : d;
  };
  trainCharLSTM({ steps: arg('--steps', 300), hidden: arg('--hidden', 256), seqLen: arg('--seq', 64) });
}
