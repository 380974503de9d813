// The main job: the seed notebook's experiment, offline, on this CPU, in about ten minutes.
//  1. a base GPT-2: --model DIR (real weights) or, since none can be downloaded here, a small
//     GPT-2 (GPT-2 tokenizer) pretrained once on the non-news Brown Corpus and cached;
//  2. news articles: Brown press reportage, editorials and reviews (ca*, cb*, cc*), every 8th
//     article held out;
//  3. LoRA and full fine-tuning of the base on them (scripts/compare-lora-full.ts);
//  4. runs/demo/report.html (and report.md): the table, both loss curves in one plot, and
//     sample text from the same prompts before and after.
// Interrupt it at any point and run it again: finished stages are not redone and training
// resumes from its last checkpoint.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as torch from '../lib';
import { helpText, parseFlags, Spec } from '../lib/cli/args';
import { compare, comparisonTable, markdownTable } from './compare-lora-full';

const PROMPTS = ['The jury said', 'The city council voted', 'In his first season the team'];

const spec: Spec = {
  model: { type: 'string', help: 'a Hugging Face GPT-2 folder to start from (default: pretrain a small one on the Brown Corpus)' },
  out: { type: 'string', default: 'runs/demo', help: 'where everything goes' },
  precision: { type: 'string', default: 'auto', help: 'fp32, bf16 (bfloat16 autocast), or auto: bf16 where the CPU has bfloat16 matrix units (AMX / AVX512-BF16), else fp32' },
  'pretrain-steps': { type: 'int', help: 'steps of the small model\'s pretraining (default 1000 in bf16, 500 in fp32)' },
  'finetune-steps': { type: 'int', help: 'steps of each fine-tuning run (default 300 in bf16, 150 in fp32)' },
  'block-size': { type: 'int', default: 64, help: 'tokens per block' },
  fresh: { type: 'boolean', help: 'ignore cached results (the pretrained base model is kept)' },
};

// Where the CPU multiplies bfloat16 in hardware (oneDNN uses AMX or AVX512-BF16 kernels), bf16
// autocast about doubles training speed here; elsewhere it would emulate, so fp32 is faster.
function cpuHasBf16Units(): boolean {
  try {
    return /\b(amx_bf16|avx512_bf16)\b/.test(fs.readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    return false;
  }
}

/** Pretrains and caches the small base model; true if it was (re)made now. */
function pretrainBase(dir: string, steps: number, blockSize: number, precision: 'fp32' | 'bf16'): boolean {
  torch.keepFreedCpuMemory(); // reuse each step's large buffers instead of page-faulting them in again
  // The cached base, and an interrupted pretraining's checkpoints, count only for the same settings.
  const settings = { steps, blockSize, precision };
  const sameSettings = (file: string) => {
    if (!fs.existsSync(file)) return false;
    const o = JSON.parse(fs.readFileSync(file, 'utf8'));
    return o.steps === steps && o.blockSize === blockSize && o.precision === precision;
  };
  const doneFile = path.join(dir, 'pretrain_done.json');
  if (sameSettings(doneFile)) {
    console.log(`base model: cached in ${dir}`);
    return false;
  }
  if (fs.existsSync(doneFile)) {
    console.log('base model: the cached one was pretrained with other settings; pretraining again');
    fs.rmSync(doneFile);
  }
  console.log(`\n== pretraining a small GPT-2 on the non-news Brown Corpus (${steps} steps, once) ==`);
  const nonNews = torch.data.ALL_CATEGORIES.filter((c) => !torch.data.NEWS_CATEGORIES.includes(c));
  const text = torch.data.brownDocuments(nonNews).map((d) => d.text).join('\n\n');
  const data = torch.data.TextDataset.fromText(text, blockSize);
  torch.manualSeed(42);
  const model = new torch.GPT2LMHeadModel({ vocab_size: 50257, n_positions: 128, n_embd: 128, n_layer: 4, n_head: 4 });
  const work = path.join(dir, 'work');
  const settingsFile = path.join(work, 'settings.json');
  if (fs.existsSync(work) && !sameSettings(settingsFile)) fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  torch.io.writeFileAtomic(settingsFile, JSON.stringify(settings));
  const trainer = new torch.Trainer(model, {
    outputDir: work, maxSteps: steps, perDeviceTrainBatchSize: 8, learningRate: 2e-3, warmupSteps: 20,
    lrSchedulerType: 'cosine', loggingSteps: 25, saveSteps: 100, saveTotalLimit: 1, weightDecay: 0.01, precision,
    resumeFromCheckpoint: torch.train.listCheckpoints(work).length ? true : undefined,
  }, data);
  const r = trainer.train();
  torch.io.writeDirAtomic(path.join(dir, 'model'), (tmp) => {
    model.writePretrained(tmp);
    torch.tokenizer.savePretrained(tmp, { modelMaxLength: model.config.n_positions });
  });
  torch.io.writeFileAtomic(doneFile, JSON.stringify({ ...settings, seconds: r.seconds, trainLoss: r.trainLoss, blocks: data.length }));
  fs.rmSync(work, { recursive: true, force: true });
  trainer.optimizer.dispose();
  model.dispose();
  return true;
}

function newsFiles(dir: string): { train: string; eval: string } {
  const train = path.join(dir, 'news-train.txt'), held = path.join(dir, 'news-heldout.txt');
  if (!fs.existsSync(held)) {
    const docs = torch.data.brownDocuments(torch.data.NEWS_CATEGORIES);
    torch.io.writeFileAtomic(train, docs.filter((_, i) => i % 8 !== 7).map((d) => d.text).join('\n\n'));
    torch.io.writeFileAtomic(held, docs.filter((_, i) => i % 8 === 7).map((d) => d.text).join('\n\n'));
  }
  return { train, eval: held };
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function writeReport(out: string, rows: string[][], r: ReturnType<typeof compare>, baseNote: string): void {
  const svg = fs.readFileSync(path.join(out, 'runs', 'loss.svg'), 'utf8');
  const samples = PROMPTS.map((p, i) => ({
    prompt: p, before: r.lora.samplesBefore[i], lora: r.lora.samplesAfter[i], full: r.full.samplesAfter[i],
  }));
  const md = [
    '# tstorch demo: LoRA vs full fine-tuning of GPT-2 on news articles', '', baseNote, '',
    markdownTable(rows), '', '![loss curves](runs/loss.svg)', '', '## Samples (temperature 0.8, top-k 40, seed 1234)', '',
    ...samples.flatMap((s) => [`**${s.prompt}**`, '', `- before: ${s.before}`, `- LoRA: ${s.lora}`, `- full: ${s.full}`, '']),
  ].join('\n');
  torch.io.writeFileAtomic(path.join(out, 'report.md'), md);
  const table = `<table><tr>${rows[0].map((h) => `<th>${esc(h)}</th>`).join('')}</tr>${rows.slice(1).map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('')}</table>`;
  const html = `<!doctype html><meta charset="utf-8"><title>tstorch demo</title>
<style>body{font-family:sans-serif;max-width:900px;margin:2em auto}td,th{border:1px solid #ccc;padding:4px 8px}table{border-collapse:collapse}.s{color:#555}</style>
<h1>LoRA vs full fine-tuning of GPT-2 on news articles</h1><p>${esc(baseNote)}</p>${table}<h2>Loss curves</h2>${svg}
<h2>Samples</h2><p class="s">temperature 0.8, top-k 40, seed 1234</p>${samples.map((s) => `<h3>${esc(s.prompt)}</h3><ul><li><b>before:</b> ${esc(s.before)}</li><li><b>LoRA:</b> ${esc(s.lora)}</li><li><b>full:</b> ${esc(s.full)}</li></ul>`).join('')}`;
  torch.io.writeFileAtomic(path.join(out, 'report.html'), html);
}

export async function demo(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(helpText('demo', 'LoRA vs full fine-tuning of GPT-2 on news articles, offline; report in runs/demo/', spec));
    return;
  }
  const f = parseFlags('demo', argv, spec);
  const out = path.resolve(f.out as string);
  const blockSize = f['block-size'] as number;
  if (!['auto', 'fp32', 'bf16'].includes(f.precision as string)) throw new Error(`--precision must be auto, fp32 or bf16, got '${f.precision}'`);
  const precision = f.precision === 'auto' ? (cpuHasBf16Units() ? 'bf16' : 'fp32') : (f.precision as 'fp32' | 'bf16');
  // bf16 matmuls run in oneDNN on libtorch's own threads: use every core. fp32 matmuls run in
  // OpenBLAS, which has its own threads; libtorch's would only compete with them.
  const threads = precision === 'bf16' ? os.cpus().length : undefined;
  if (threads) torch.setNumThreads(threads);
  const pretrainSteps = (f['pretrain-steps'] as number | undefined) ?? (precision === 'bf16' ? 1000 : 500);
  const finetuneSteps = (f['finetune-steps'] as number | undefined) ?? (precision === 'bf16' ? 300 : 150);
  console.log(`precision ${precision}${threads ? `, ${threads} threads` : ''}`);
  fs.mkdirSync(out, { recursive: true });
  const t0 = Date.now();
  let modelDir = f.model as string | undefined;
  let baseNote: string;
  if (modelDir) {
    if (!fs.existsSync(path.join(modelDir, 'config.json'))) throw new Error(`--model ${modelDir}: no config.json there`);
    baseNote = `Base model: ${modelDir}.`;
  } else {
    // Fine-tuning results of an older base model are stale.
    if (pretrainBase(path.join(out, 'base'), pretrainSteps, blockSize, precision)) fs.rmSync(path.join(out, 'runs'), { recursive: true, force: true });
    modelDir = path.join(out, 'base', 'model');
    const p = JSON.parse(fs.readFileSync(path.join(out, 'base', 'pretrain_done.json'), 'utf8'));
    baseNote = `Base model: a small GPT-2 (4 layers, 128 wide, GPT-2 tokenizer) pretrained for ${p.steps} steps (${p.precision ?? 'fp32'}) on the non-news Brown Corpus (no pretrained weights can be downloaded here). Fine-tuning data: Brown press articles (ca*, cb*, cc*), every 8th held out. A base model this small and briefly trained lacks above all well-trained token embeddings: full fine-tuning moves them, LoRA keeps them frozen (as PEFT does), so LoRA gains less than full fine-tuning here; start from real GPT-2 weights (--model) for the notebook's setting.`;
  }
  const news = newsFiles(out);
  // Learning rates: the small from-scratch model takes large steps; real GPT-2 the usual ones.
  const lrs = f.model ? { loraLr: 2e-4, fullLr: 5e-5 } : { loraLr: 1e-2, fullLr: 1e-3 };
  const runsDir = path.join(out, 'runs');
  if (f.fresh) fs.rmSync(runsDir, { recursive: true, force: true });
  const r = compare({ modelDir, trainFile: news.train, evalFile: news.eval, outDir: runsDir, steps: finetuneSteps, blockSize, prompts: PROMPTS, r: 16, alpha: 32, precision, threads, ...lrs });
  const rows = comparisonTable(r.lora, r.full);
  writeReport(out, rows, r, baseNote);
  console.log(`\n${markdownTable(rows)}\n\nreport: ${path.join(out, 'report.html')} (and report.md); total ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

if (require.main === module) {
  demo(process.argv.slice(2)).catch((e) => {
    console.error(`demo: ${(e as Error).message}`);
    process.exit(1);
  });
}
