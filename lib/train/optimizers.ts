// The Trainer's optimizer by Hugging Face's `optim` names (TrainingArguments.optim), built as
// HF's Trainer.create_optimizer builds it: over the decay / no-decay parameter groups, with the
// learning rate, and for the AdamW family the adam betas and epsilon; Adafactor with HF's
// scale_parameter=False, relative_step=False (an external lr, which the schedule drives).
// `optimArgs` (HF's optim_args, "key=value,key=value") sets the chosen optimizer's other options
// by PyTorch's keyword names; HF forwards them to a few optimizers only, tstorch to these four.
import { Tensor } from '../tensor/tensor';
import { AdamW } from '../optim/adamw';
import { SGD } from '../optim/sgd';
import { Adagrad, RMSprop } from '../optim/adaptive';
import { Adafactor } from '../optim/adafactor';
import type { TorchOptimizerStateDict } from '../optim/state_dict';

export const OPTIMIZERS = ['adamw_torch', 'adamw_torch_fused', 'adafactor', 'sgd', 'adagrad', 'rmsprop'] as const;
export type OptimizerName = (typeof OPTIMIZERS)[number];
export type OptimArgs = Record<string, number | boolean>;

/** What the Trainer needs of an optimizer: groups with an lr for the schedule, a step, a state to checkpoint. */
export interface TrainerOptimizer {
  readonly paramGroups: { lr: number | null; params: Tensor[] }[];
  step(): void;
  zeroGrad(): void;
  /** PyTorch's layout (what a checkpoint's optimizer.pt holds, as HF's), and back from it */
  stateDict(): TorchOptimizerStateDict;
  loadStateDict(sd: TorchOptimizerStateDict): void;
  /** the flat layout, which checkpoints of earlier versions hold (optimizer.safetensors + optimizer.json) */
  loadFlatStateDict(sd: { tensors: Map<string, Tensor>; steps: Record<string, number>; groups?: object[] }): void;
  dispose(): void;
}

/** The optim_args each optimizer takes: PyTorch's keyword name to ours. */
const OPTIM_ARG_NAMES: Record<OptimizerName, Record<string, string>> = {
  adamw_torch: {},
  adamw_torch_fused: {},
  sgd: { momentum: 'momentum', dampening: 'dampening', nesterov: 'nesterov' },
  adagrad: { lr_decay: 'lrDecay', initial_accumulator_value: 'initialAccumulatorValue', eps: 'eps' },
  rmsprop: { alpha: 'alpha', eps: 'eps', momentum: 'momentum', centered: 'centered' },
  adafactor: { beta1: 'beta1', clip_threshold: 'clipThreshold', decay_rate: 'decayRate', scale_parameter: 'scaleParameter' },
};

/**
 * HF's optim_args: "key=value,key=value" (or an object, or its JSON from a --config file), values numbers or
 * true/false; keys checked against what the optimizer takes.
 */
export function parseOptimArgs(optim: OptimizerName, raw: string | Record<string, unknown> | undefined): OptimArgs {
  if (typeof raw === 'string' && raw.trim().startsWith('{')) { // (an object in a --config file arrives as JSON)
    try {
      raw = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      throw new Error(`optimArgs: ${raw} is neither key=value,key=value nor a JSON object`);
    }
  }
  const pairs: [string, unknown][] = typeof raw === 'string'
    ? raw.split(',').map((s) => s.trim()).filter(Boolean).map((kv) => {
      const eq = kv.indexOf('=');
      if (eq < 1) throw new Error(`optimArgs: '${kv}' is not key=value (HF's optim_args, e.g. "momentum=0.9,nesterov=true")`);
      return [kv.slice(0, eq).trim(), kv.slice(eq + 1).trim()];
    })
    : Object.entries(raw ?? {});
  if (!OPTIMIZERS.includes(optim)) throw new Error(`optim must be ${OPTIMIZERS.join(', ')}; got '${optim}'`);
  const known = OPTIM_ARG_NAMES[optim];
  const out: OptimArgs = {};
  for (const [key, value] of pairs) {
    if (!Object.hasOwn(known, key)) { // (own keys: 'constructor=1' is no argument)
      const takes = Object.keys(known);
      throw new Error(`optimArgs: ${optim} takes ${takes.length ? takes.join(', ') : 'no optim_args'}; got '${key}'`);
    }
    let v: number | boolean;
    if (typeof value === 'number' || typeof value === 'boolean') v = value;
    else if (value === 'true' || value === 'True') v = true;
    else if (value === 'false' || value === 'False') v = false;
    else if (typeof value === 'string' && value !== '' && Number.isFinite(Number(value))) v = Number(value);
    else throw new Error(`optimArgs: ${key} must be a number or true/false, got '${String(value)}'`);
    out[known[key]] = v;
  }
  return out;
}

export interface OptimizerSettings {
  learningRate: number;
  adamBeta1: number;
  adamBeta2: number;
  adamEpsilon: number;
}

/** HF's create_optimizer for `optim` over the (decay, no-decay) groups. */
export function createOptimizer(optim: OptimizerName, groups: { params: Tensor[]; names?: string[]; weightDecay: number; lr?: number }[],
  a: OptimizerSettings, optimArgs: OptimArgs = {}): TrainerOptimizer {
  const lr = a.learningRate;
  // (AdamW alone keys its state by name; a group's own lr, as LoRA+'s, overrides the default)
  const unnamed = groups.map(({ params, weightDecay, lr: own }) => ({ params, weightDecay, ...(own !== undefined ? { lr: own } : {}) }));
  const named = groups.map((g, i) => ({ ...unnamed[i], names: g.names }));
  switch (optim) {
    case 'adamw_torch':
    case 'adamw_torch_fused': // libtorch 1.13 has no fused CPU AdamW: the multi-tensor (foreach) path stands in
      return new AdamW(named, { lr, betas: [a.adamBeta1, a.adamBeta2], eps: a.adamEpsilon });
    case 'sgd':
      return new SGD(unnamed, { lr, ...optimArgs });
    case 'adagrad':
      return new Adagrad(unnamed, { lr, ...optimArgs });
    case 'rmsprop':
      return new RMSprop(unnamed, { lr, ...optimArgs });
    case 'adafactor':
      return new Adafactor(unnamed, { lr, scaleParameter: false, relativeStep: false, ...optimArgs });
    default:
      throw new Error(`Trainer: optim must be ${OPTIMIZERS.join(', ')}; got '${optim as string}'`);
  }
}

/** A line for the model card: the optimizer and its settings, as HF's cards name them. */
export function describeOptimizer(optim: OptimizerName, a: OptimizerSettings & { weightDecay: number }, optimArgs: OptimArgs): string {
  const extra = Object.entries(optimArgs).map(([k, v]) => `${k}=${v}`).join(', ');
  const base = optim.startsWith('adamw')
    ? `Use ${optim} (AdamW) with betas=(${a.adamBeta1},${a.adamBeta2}) and epsilon=${a.adamEpsilon}`
    : `Use ${optim}${extra ? ` with optimizer_args=${extra}` : ''}`;
  return `${base}; weight_decay ${a.weightDecay}`;
}
