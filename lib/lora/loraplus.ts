// LoRA+ (Hayou, Ghosh and Yu 2024; PEFT's create_loraplus_optimizer): LoRA's B factors learn
// loraplusLrRatio times faster than its A factors. The trainable parameters fall in PEFT's four
// groups, in its order:
//   groupA           everything else (lora_A, 2-D modules-to-save weights)     lr
//   embedding        LoRA on an embedding (lora_embedding_A / _B)              loraplusLrEmbedding
//   groupB           lora_B and other 1-D tensors that take weight decay      lr x ratio
//                    (DoRA's magnitude)
//   groupB_no_decay  1-D tensors that do not: biases, LayerNorm weights      lr x ratio, no decay
// (Decay as HF's get_parameter_names: not under a LayerNorm, no 'bias' in the name.)
// One departure from PEFT's code, for its documented intent: PEFT tests the parameter itself for
// being a LoRA Embedding, which never holds, so there LoRA'd embeddings train at lr in groupA; here
// they get loraplusLrEmbedding, as its docstring and the LoRA+ authors' code say.
import { Tensor } from '../tensor/tensor';
import { Module } from '../nn/module';
import { LayerNorm } from '../nn/layers';
import { LoRAEmbedding } from './lora';
import { loraConfig } from './inject';

export interface LoraplusOptions {
  /** the learning rate of groupA (LoRA's A factors) */
  lr: number;
  /** ηB / ηA: the B factors' lr is lr x this (the paper suggests 2^4; PEFT says >= 1) */
  loraplusLrRatio: number;
  /** the lr of LoRA on embeddings (default 1e-6, as PEFT) */
  loraplusLrEmbedding?: number;
  /** the weight decay of groupA, embedding and groupB (default 0, as PEFT; groupB_no_decay has none) */
  loraplusWeightDecay?: number;
}

export type LoraplusGroupName = 'groupA' | 'embedding' | 'groupB' | 'groupB_no_decay';
export interface LoraplusGroup {
  group: LoraplusGroupName;
  params: Tensor[];
  names: string[];
  lr: number;
  weightDecay: number;
}

/** The model's trainable parameters in LoRA+'s four groups (all four, in PEFT's order, empty or not). */
export function loraplusParameterGroups(model: Module, o: LoraplusOptions): LoraplusGroup[] {
  if (!loraConfig(model)) throw new Error('LoRA+: the model has no LoRA layers (torch.lora.applyLoRA first): LoRA+ sets the lr of LoRA\'s A and B factors');
  if (!(Number.isFinite(o.lr) && o.lr >= 0)) throw new Error(`LoRA+: lr must be a number >= 0, got ${o.lr}`);
  if (!(Number.isFinite(o.loraplusLrRatio) && o.loraplusLrRatio > 0)) throw new Error(`LoRA+: loraplusLrRatio must be a number > 0 (the B factors' lr over the A factors'; the paper suggests 16), got ${o.loraplusLrRatio}`);
  const embeddingLr = o.loraplusLrEmbedding ?? 1e-6;
  if (!(Number.isFinite(embeddingLr) && embeddingLr >= 0)) throw new Error(`LoRA+: loraplusLrEmbedding must be a number >= 0, got ${embeddingLr}`);
  const weightDecay = o.loraplusWeightDecay ?? 0;
  if (!(Number.isFinite(weightDecay) && weightDecay >= 0)) throw new Error(`LoRA+: loraplusWeightDecay must be a number >= 0, got ${weightDecay}`);

  const underLayerNorm = new Set<Tensor>(), ofLoraEmbedding = new Set<Tensor>();
  for (const [, m] of model.namedModules()) {
    if (m instanceof LayerNorm) m.parameters().forEach((p) => underLayerNorm.add(p));
    if (m instanceof LoRAEmbedding) m.namedParameters({ recurse: false }).forEach(([, p]) => ofLoraEmbedding.add(p));
  }
  const groups: Record<LoraplusGroupName, [string, Tensor][]> = { groupA: [], embedding: [], groupB: [], groupB_no_decay: [] };
  for (const [name, p] of model.namedParameters({ trainableOnly: true })) {
    const decays = !underLayerNorm.has(p) && !name.includes('bias');
    if (ofLoraEmbedding.has(p)) groups.embedding.push([name, p]);
    else if (name.includes('lora_B') || p.dim() === 1) groups[decays ? 'groupB' : 'groupB_no_decay'].push([name, p]);
    else groups.groupA.push([name, p]);
  }
  const settings: Record<LoraplusGroupName, [number, number]> = {
    groupA: [o.lr, weightDecay],
    embedding: [embeddingLr, weightDecay],
    groupB: [o.lr * o.loraplusLrRatio, weightDecay],
    groupB_no_decay: [o.lr * o.loraplusLrRatio, 0],
  };
  return (Object.keys(groups) as LoraplusGroupName[]).map((group) => ({
    group, params: groups[group].map(([, p]) => p), names: groups[group].map(([n]) => n), lr: settings[group][0], weightDecay: settings[group][1],
  }));
}

/** An optimizer class as torch.optim's: param groups (each with its lr and weight decay) and defaults. */
export type OptimizerClass<O> = new (groups: { params: Tensor[]; names?: string[]; lr: number; weightDecay: number }[], defaults: never) => O;

/**
 * PEFT's create_loraplus_optimizer(model, optimizer_cls, lr=..., loraplus_lr_ratio=..., **kwargs):
 * the optimizer over LoRA+'s groups; `rest` are the optimizer's other options (betas, eps, ...).
 *   createLoraplusOptimizer(model, torch.optim.AdamW, { lr: 2e-4, loraplusLrRatio: 16, betas: [0.9, 0.999] })
 */
export function createLoraplusOptimizer<O>(model: Module, optimizerCls: OptimizerClass<O>, options: LoraplusOptions & Record<string, unknown>): O {
  const { lr, loraplusLrRatio, loraplusLrEmbedding, loraplusWeightDecay, ...rest } = options;
  const groups = loraplusParameterGroups(model, { lr, loraplusLrRatio, loraplusLrEmbedding, loraplusWeightDecay });
  return new optimizerCls(groups.map(({ params, names, lr: groupLr, weightDecay }) => ({ params, names, lr: groupLr, weightDecay })), { ...rest, lr } as never);
}
