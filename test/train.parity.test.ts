// 10 training steps against the Python reference (scripts/reference/train_ref.py): the seed
// notebook's LoRA, PEFT-style LoRA and full fine-tuning, with AdamW, clip_grad_norm_ and the
// linear warmup schedule. Losses within 1e-5 relative, every trained tensor within 1e-4.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as torch from '../lib';
import { fixtures, readJson, relErr } from './helpers';

interface Ref { losses: number[]; grad_norms: number[]; lrs: number[]; trainable: string[]; decay: string[]; no_decay: string[]; steps: number; warmup: number; lr: number; weight_decay: number }

async function setup(mode: 'seed' | 'peft' | 'full', dropoutFree = false) {
  const dir = path.join(fixtures, 'gpt2', 'tiny');
  let model = await torch.GPT2LMHeadModel.fromPretrained(dir);
  if (dropoutFree) {
    const cfg = { ...model.config, attn_pdrop: 0, resid_pdrop: 0, embd_pdrop: 0 };
    const m2 = new torch.GPT2LMHeadModel(cfg);
    m2.loadStateDict(model.stateDict());
    model.dispose();
    model = m2;
  }
  if (mode === 'seed') torch.lora.applyLoRA(model, { mode: 'seed', r: 2 });
  if (mode === 'peft') torch.lora.applyLoRA(model, { r: 4, alpha: 8, dropout: 0 });
  const ref = readJson<Ref>(`train_${mode}.json`);
  const { tensors } = torch.io.safetensors.loadFile(path.join(fixtures, `train_${mode}.safetensors`));
  const params = new Map(model.namedParameters());
  torch.noGrad(() => {
    for (const [k, t] of tensors) if (k.startsWith('init.')) params.get(k.slice(5))!.copy_(t);
  });
  return { model, ref, tensors, params };
}

describe.each(['seed', 'peft', 'full'] as const)('10-step training parity: %s', (mode) => {
  test('trainable set and decay groups match the reference', async () => {
    const { model, ref, tensors } = await setup(mode);
    expect(model.namedParameters({ trainableOnly: true }).map(([n]) => n).sort()).toEqual(ref.trainable);
    const groups = torch.train.decayParameterGroups(model, 0.01);
    expect(groups.find((g) => g.weightDecay > 0)?.names ?? []).toEqual(ref.decay);
    expect(groups.find((g) => g.weightDecay === 0)?.names ?? []).toEqual(ref.no_decay);
    model.dispose();
    for (const t of tensors.values()) t.dispose();
  });

  test('losses, grad norms, lrs and final weights (manual loop)', async () => {
    const { model, ref, tensors, params } = await setup(mode);
    model.eval();
    const groups = torch.train.decayParameterGroups(model, ref.weight_decay);
    const opt = new torch.optim.AdamW(groups, { lr: ref.lr, betas: [0.9, 0.999], eps: 1e-8 });
    const sched = torch.optim.linearScheduleWithWarmup(opt, ref.warmup, ref.steps);
    const trainable = groups.flatMap((g) => g.params);
    const batches = tensors.get('batches')!;
    for (let step = 0; step < ref.steps; step++) {
      torch.tidy(() => {
        const ids = batches.select(0, step);
        const loss = model.forward(ids, { labels: ids }).loss!;
        loss.backward();
        const norm = torch.nn.utils.clipGradNorm(trainable, 1.0);
        opt.step();
        sched.step();
        opt.zeroGrad();
        expect(Math.abs((loss.item() as number) - ref.losses[step]) / ref.losses[step]).toBeLessThan(1e-5);
        expect(Math.abs(norm - ref.grad_norms[step]) / ref.grad_norms[step]).toBeLessThan(1e-4);
        expect(sched.getLastLr()[0]).toBeCloseTo(ref.lrs[step], 12);
      });
    }
    const finals = [...tensors].filter(([k]) => k.startsWith('final.'));
    expect(finals.length).toBe(ref.trainable.length); // every trained tensor
    for (const [k, t] of finals) expect(relErr(params.get(k.slice(6))!, t)).toBeLessThan(1e-4);
    opt.dispose();
    model.dispose();
    for (const t of tensors.values()) t.dispose();
  });

  test('the Trainer reproduces the same run', async () => {
    const { model, ref, tensors, params } = await setup(mode, true);
    const batches = tensors.get('batches')!;
    const flat = Array.from(batches.data() as BigInt64Array, Number);
    const T = batches.shape[2];
    const data = new torch.data.TextDataset(flat, T);
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-trainer-'));
    const trainer = new torch.Trainer(model, {
      outputDir: out, maxSteps: ref.steps, perDeviceTrainBatchSize: batches.shape[1], learningRate: ref.lr,
      weightDecay: ref.weight_decay, warmupSteps: ref.warmup, loggingSteps: 1, saveSteps: 0, shuffle: false, progress: false,
    }, data);
    const log = jest.spyOn(console, 'log').mockImplementation(() => {});
    const result = trainer.train();
    log.mockRestore();
    const losses = result.logHistory.filter((e) => e.loss !== undefined).map((e) => e.loss!);
    expect(losses.length).toBe(ref.steps);
    losses.forEach((l, i) => expect(Math.abs(l - ref.losses[i]) / ref.losses[i]).toBeLessThan(1e-5));
    let compared = 0;
    for (const [k, t] of tensors) if (k.startsWith('final.')) { expect(relErr(params.get(k.slice(6))!, t)).toBeLessThan(1e-4); compared++; }
    expect(compared).toBe(ref.trainable.length); // every trained tensor
    const lines = fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.length).toBe(ref.steps);
    expect(Object.keys(lines[0])).toEqual(expect.arrayContaining(['loss', 'grad_norm', 'learning_rate', 'epoch', 'tokens_per_second']));
    expect(fs.readFileSync(path.join(out, 'loss.svg'), 'utf8')).toContain('<polyline');
    trainer.optimizer.dispose();
    model.dispose();
    for (const t of tensors.values()) t.dispose();
    fs.rmSync(out, { recursive: true, force: true });
  });
});
