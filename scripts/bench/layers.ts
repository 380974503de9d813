// torch.nn layers beyond GPT-2, side by side with PyTorch (scripts/bench/layers_ref.py spells
// the same models): a training step of a small CNN (Conv2d, BatchNorm2d, pooling; SGD), a
// character LSTM (Embedding, LSTM, Linear; Adam, clipping) and a TransformerEncoder (AdamW),
// each side in its own process, alternating rounds, medians, one thread.
//   node dist/scripts/bench/layers.js [--rounds 3] [--keep-freed-memory] [case ...]   (or: npm run bench -- layers)
import * as path from 'path';
import * as torch from '../../lib';
import { PYTHON, median, printTable, repoRoot, runJson } from './common';

const nn = torch.nn;
const F = nn.functional;
export const LAYER_CASES: [string, string, number][] = [
  ['cnn_step', 'CNN step: 2 conv+BN+ReLU blocks, pooling, linear; SGD (32x3x32x32)', 20],
  ['lstm_step', 'char LSTM step: Embedding, LSTM(64->256), Linear; Adam, clip (32x64)', 10],
  ['transformer_step', 'TransformerEncoder step: 2 layers, d 128, 4 heads, ff 512; AdamW (16x64)', 10],
];

function side(kase: string, iters: number): { ms: number; peak_delta_mib: number } {
  torch.setNumThreads(1);
  torch.manualSeed(0);
  let model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, opt: { step(): void; zeroGrad(): void };
  let loss: () => torch.Tensor;
  if (kase === 'cnn_step') {
    const net = new nn.Sequential(new nn.Conv2d(3, 16, 3, { padding: 1 }), new nn.BatchNorm2d(16), new nn.ReLU(), new nn.MaxPool2d(2),
      new nn.Conv2d(16, 32, 3, { padding: 1 }), new nn.BatchNorm2d(32), new nn.ReLU(), new nn.AdaptiveAvgPool2d(1), new nn.Flatten(), new nn.Linear(32, 10));
    model = net;
    x = torch.randn([32, 3, 32, 32]);
    y = torch.randint(0, 10, [32]);
    opt = new torch.optim.SGD(net.parameters(), { lr: 0.01, momentum: 0.9 });
    loss = () => F.crossEntropy(net.forward(x), y);
  } else if (kase === 'lstm_step') {
    const embed = new nn.Embedding(80, 64), lstm = new nn.LSTM(64, 256, { batchFirst: true }), head = new nn.Linear(256, 80);
    model = new nn.ModuleList<torch.nn.Module>([embed, lstm, head]); // (as the Python side's ModuleList)
    const params = model.parameters();
    x = torch.randint(0, 80, [32, 64]);
    y = torch.randint(0, 80, [32 * 64]);
    const adam = new torch.optim.Adam(params, { lr: 1e-3 });
    opt = { step: () => { nn.utils.clipGradNormTensor(params, 1); adam.step(); }, zeroGrad: () => adam.zeroGrad() };
    loss = () => F.crossEntropy(head.forward(lstm.forward(embed.forward(x))[0]).reshape([-1, 80]), y);
  } else {
    const enc = new nn.TransformerEncoder(new nn.TransformerEncoderLayer(128, 4, { dimFeedforward: 512, batchFirst: true }), 2);
    model = enc;
    x = torch.randn([16, 64, 128]);
    y = torch.randn([16, 64, 128]);
    opt = new torch.optim.AdamW(enc.parameters(), { lr: 1e-3 });
    loss = () => F.mseLoss(enc.forward(x), y);
  }
  model.train();
  const rss0 = process.resourceUsage().maxRSS;
  const step = () => torch.tidy(() => { opt.zeroGrad(); loss().backward(); opt.step(); });
  step();
  const times: number[] = [];
  for (let i = 0; i < iters; i++) {
    const t0 = process.hrtime.bigint();
    step();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return { ms: median(times), peak_delta_mib: (process.resourceUsage().maxRSS - rss0) / 1024 };
}

export function layersBench(rounds = 3, only: string[] = [], mallocEnv: Record<string, string> = {}): (string | number)[][] {
  const rows: (string | number)[][] = [];
  for (const [kase, title, iters] of LAYER_CASES) {
    if (only.length && !only.includes(kase)) continue;
    const py: { ms: number; peak_delta_mib: number }[] = [], ts: typeof py = [];
    for (let r = 0; r < rounds; r++) {
      py.push(runJson(PYTHON, [path.join(repoRoot, 'scripts/bench/layers_ref.py'), kase, String(iters)], { OMP_NUM_THREADS: '1', ...mallocEnv }) as { ms: number; peak_delta_mib: number });
      ts.push(runJson(process.execPath, [__filename, '--side', kase, String(iters)], { OMP_NUM_THREADS: '1', ...mallocEnv }) as { ms: number; peak_delta_mib: number });
    }
    const m = (xs: typeof py, k: 'ms' | 'peak_delta_mib') => median(xs.map((x) => x[k]));
    const ratio = median(ts.map((t, r) => t.ms / py[r].ms));
    const pyMib = m(py, 'peak_delta_mib'), tsMib = m(ts, 'peak_delta_mib');
    rows.push([title, m(py, 'ms'), m(ts, 'ms'), ratio, pyMib, tsMib, pyMib >= 1 ? tsMib / pyMib : '—']);
  }
  printTable(`torch.nn layers, training steps (1 thread${mallocEnv.MALLOC_MMAP_MAX_ ? ', freed memory kept' : ''}, medians over ${rounds} alternating rounds; time ratio: median of per-round ratios; memory = peak RSS growth after the model is built)`,
    ['case', 'Python ms', 'tstorch ms', 'time ratio', 'Python MiB', 'tstorch MiB', 'memory ratio'], rows);
  return rows;
}

if (require.main === module) {
  const args = process.argv.slice(2);
  if (args[0] === '--side') console.log(JSON.stringify(side(args[1], Number(args[2]))));
  else {
    const i = args.indexOf('--rounds');
    const keep: Record<string, string> = args.includes('--keep-freed-memory') ? { MALLOC_MMAP_MAX_: '0', MALLOC_TRIM_THRESHOLD_: '2147483647' } : {};
    layersBench(i >= 0 ? Number(args[i + 1]) : 3, args.filter((a) => LAYER_CASES.some(([c]) => c === a)), keep);
  }
}
