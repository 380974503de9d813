// A Trainer with Hugging Face Trainer semantics and defaults: AdamW (lr 5e-5, no decay on
// biases and LayerNorm weights; or HF's other `optim` choices), linear schedule with optional
// warmup, max_grad_norm 1.0, seed 42, per-epoch reshuffle, last partial batch kept, gradient
// accumulation, logging/save steps, checkpoint-<step>/ folders written whole, save_total_limit,
// and exact resume.
import { keywordOptions, shownValue } from '../tensor/options';
import * as fs from 'fs';
import * as path from 'path';
import { Tensor } from '../tensor/tensor';
import { tidy, keep } from '../tensor/scope';
import { tensor } from '../tensor/creation';
import { stack } from '../tensor/ops';
import { noGrad, manualSeed, getRngState, setRngState, memory, cpuMemoryKept, trimCpuMemory, cuda } from '../tensor/runtime';
import { hfRngState } from './hf_rng';
import { Module } from '../nn/module';
import { Embedding, LayerNorm } from '../nn/layers';
import { clipGradNormTensor } from '../nn/utils';
import { TorchOptimizerStateDict, alignSavedGroups } from '../optim/state_dict';
import { AdamW } from '../optim/adamw';
import { OptimizerName, TrainerOptimizer, createOptimizer, parseOptimArgs, OPTIMIZERS } from './optimizers';
import { LRScheduler, ScheduleKind, ScheduleKwargs } from '../optim/schedule';
import { GPT2LMHeadModel, LmLossType } from '../models/gpt2';
import { GPT2ForSequenceClassification } from '../models/sequence_classification';
import { ClassificationDataset, TokenClassificationDataset } from '../data/classification';
import { GPT2ForTokenClassification } from '../models/token_classification';
import { RewardDataset } from '../data/preference';
import { LMDataset, TextDataset, epochPermutation, lengthGroupedOrder } from '../data/dataset';
import * as distributed from '../tensor/distributed';
import { loadFile, saveFile } from '../io/safetensors';
import { saveTorchFile } from '../io/torchsave';
import { loadTorchObject } from '../io/torchfile';
import { hasWeights, isModelWeightFile, loadWeights } from '../io/weights';
import { recoverInterruptedWrites, writeDirAtomic, writeFileAtomic } from '../io/atomic';
import { readJsonObject, sortedKeys } from '../io/json';
import { adapterConfigJson, adapterStateDict, loraConfig, writeAdapter } from '../lora/inject';
import { loraplusParameterGroups } from '../lora/loraplus';
import { evaluate, evaluateClassifier, evaluateTokenClassifier, readAndDispose, withPrecision } from './evaluate';
import { lossCurveSvg } from './plot';
import { Progress } from './progress';
import { EVAL_METRICS, TensorBoardCallback } from './callbacks';
import { isEntityTagSet } from './seqeval';
import type { CallbackState, EvalMetric, EvalMetrics, TrainerCallback, TrainerControl, TrainerState } from './callbacks';
import { defaultLogDir } from '../io/tensorboard';
import { writeModelCard } from './modelcard';
import { describeOptimizer } from './optimizers';
import { TrainingInterrupted, noteInterrupts, pendingInterrupt, signalName } from './interrupts';

export interface TrainingArguments {
  outputDir: string;
  numTrainEpochs?: number;
  /** > 0 overrides numTrainEpochs */
  maxSteps?: number;
  perDeviceTrainBatchSize?: number;
  perDeviceEvalBatchSize?: number;
  /**
   * Micro-batches of perDeviceTrainBatchSize per optimizer step (HF's gradient_accumulation_steps):
   * a step's gradient and logged loss are those of one batch of all its blocks (the mean over
   * all their tokens, as HF's num_items_in_batch), at one micro-batch's activation memory.
   * Steps, schedules and checkpoints count optimizer steps.
   */
  gradientAccumulationSteps?: number;
  learningRate?: number;
  weightDecay?: number;
  adamBeta1?: number;
  adamBeta2?: number;
  adamEpsilon?: number;
  /**
   * HF's metric_for_best_model: what loadBestModelAtEnd, EarlyStoppingCallback and
   * reduce_lr_on_plateau judge by: 'loss' (default), 'perplexity' or 'accuracy' (eval_ prefix optional)
   */
  metricForBestModel?: string;
  /** HF's greater_is_better (default, as HF: true unless the metric's name ends in 'loss') */
  greaterIsBetter?: boolean;
  /** HF's data_seed: the seed of the data order alone (default: seed, which also seeds dropout and LoRA's init) */
  dataSeed?: number;
  /**
   * HF's include_num_input_tokens_seen: each training log line gets num_input_tokens_seen, the
   * input tokens so far over all processes: 'all' (or true, as HF maps it) counts the batches'
   * padding too (their input ids' numel), 'non_padding' the real tokens only; 'no' (or false): none.
   */
  includeNumInputTokensSeen?: boolean | 'all' | 'non_padding' | 'no';
  /**
   * Ctrl-C (SIGINT) or SIGTERM while training: the step in progress finishes, its checkpoint is
   * written, and train() throws TrainingInterrupted (its exitCode 130 or 143), instead of the
   * process ending mid-step (default false: the signals act as usual). A second signal more than
   * a second later ends the process at once. Data parallel: every rank stops after the same step.
   */
  saveOnInterrupt?: boolean;
  /** HF's save_only_model: checkpoints hold the weights alone (no optimizer, schedule or RNG state): smaller, but no resuming from them */
  saveOnlyModel?: boolean;
  /**
   * HF's save_safetensors: the adapter or model, in checkpoints and at the end, as safetensors
   * (default) or, false, as PyTorch's .bin files (adapter_model.bin, pytorch_model.bin) for tools
   * that read only those; a run resumes from either.
   */
  saveSafetensors?: boolean;
  /** HF's optim: adamw_torch (default), adamw_torch_fused (the same here), adafactor, sgd, adagrad or rmsprop */
  optim?: OptimizerName;
  /** HF's optim_args: the optimizer's other options by PyTorch's names, "momentum=0.9,nesterov=true" or an object */
  optimArgs?: string | Record<string, number | boolean>;
  /**
   * LoRA+ (PEFT's create_loraplus_optimizer): LoRA's B factors (and trained 1-D tensors) learn at
   * learningRate x this, its A factors at learningRate; weightDecay as usual (none on biases and
   * LayerNorm weights). Any optim. Off (undefined) by default; the paper suggests 16.
   */
  loraplusLrRatio?: number;
  /** with loraplusLrRatio: the lr of LoRA on embeddings (default 1e-6, as PEFT) */
  loraplusLrEmbedding?: number;
  maxGradNorm?: number;
  lrSchedulerType?: ScheduleKind;
  /** HF's lr_scheduler_kwargs: the schedule's options by HF's names (num_cycles, lr_end, power, timescale, min_lr, min_lr_rate) */
  lrSchedulerKwargs?: ScheduleKwargs;
  warmupSteps?: number;
  /** HF's warmup_ratio: warmup over ceil(ratio x total steps) when warmupSteps is 0 */
  warmupRatio?: number;
  loggingSteps?: number;
  /** HF's logging_strategy: a training log line every loggingSteps ('steps'), at each epoch's end ('epoch') or none ('no'); the last step always gets one */
  loggingStrategy?: Strategy;
  /** HF's eval_on_start: evaluate (with an eval dataset) before the first step too, logged at the current step */
  evalOnStart?: boolean;
  /** HF's logging_first_step: a log line after the first step too */
  loggingFirstStep?: boolean;
  /**
   * HF's logging_nan_inf_filter (default true): a step whose loss is NaN or infinite adds, in the
   * logged loss (and trainLoss), the sum of its log window so far over (1 + the window's steps
   * before it) instead, as HF's does; false logs NaN / Infinity as they came. Training is unchanged.
   */
  loggingNanInfFilter?: boolean;
  /** 0 disables step checkpoints */
  saveSteps?: number;
  /** HF's save_strategy: 'steps' (every saveSteps), 'epoch' (at each epoch's end and the last step) or 'no' */
  saveStrategy?: Strategy;
  /** HF's eval_strategy (with an eval dataset): 'steps' (every evalSteps, and the last step), 'epoch' or 'no' */
  evalStrategy?: Strategy;
  /**
   * HF's load_best_model_at_end on the eval loss: the checkpoint of the lowest eval loss is kept
   * (also past saveTotalLimit) and its weights are loaded when training ends, so saveModel()
   * writes the best. Needs an eval dataset and checkpoints at evaluations: the same strategy,
   * and for 'steps' saveSteps a multiple of evalSteps.
   */
  loadBestModelAtEnd?: boolean;
  saveTotalLimit?: number | null;
  /** evaluate every N steps (default: loggingSteps) when an eval dataset is given */
  evalSteps?: number;
  seed?: number;
  device?: string;
  shuffle?: boolean;
  /** 'auto': a progress bar on a terminal, plain lines otherwise */
  progress?: boolean | 'auto';
  /** a checkpoint folder, or true for the latest in outputDir */
  resumeFromCheckpoint?: string | boolean;
  /**
   * HF's gradient_checkpointing: keep only each block's input through a step's forward and
   * recompute the block in backward (same gradients; less activation memory, one more forward)
   */
  gradientCheckpointing?: boolean;
  /**
   * HF's group_by_length: each epoch's shuffled order is regrouped so that a batch holds examples
   * of similar lengths (less padding; see lengthGroupedOrder). Blocks are all one length: no effect.
   */
  groupByLength?: boolean;
  /**
   * HF's dataloader_drop_last: each epoch (each rank's shard, in data parallel) trains on whole
   * batches only; its last short batch is left out (a different one each epoch when shuffled).
   * Evaluation still reads every item (HF's eval dataloader would drop its last batch too).
   */
  dataloaderDropLast?: boolean;
  /** HF's neftune_noise_alpha: NEFTune's embedding noise while training (see GPT2Model.neftuneNoiseAlpha); 0 is off */
  neftuneNoiseAlpha?: number;
  /**
   * HF's label_smoothing_factor: the training loss is (1 - ε)·NLL + ε·(mean -log p over the
   * vocabulary), as HF's LabelSmoother. Evaluation keeps the plain cross-entropy (so eval loss and
   * perplexity compare across runs; HF's eval_loss would include the smoothing). 0: off.
   */
  labelSmoothingFactor?: number;
  /**
   * TRL's SFTConfig loss_type for a causal LM: 'nll' (the default; 'chunked_nll' is the same
   * loss) or 'dft', Dynamic Fine-Tuning (each token's -log p weighted by its detached p; see
   * causalLmLoss). Training only: evaluation reports the cross-entropy, as with label smoothing.
   */
  sftLossType?: LmLossType | 'chunked_nll';
  /** 'bf16': forward passes (training and periodic evaluation) under bfloat16 autocast; weights, grads and optimizer stay float32 */
  precision?: 'fp32' | 'bf16';
  /**
   * HF's report_to: where the log lines go besides metrics.jsonl. 'tensorboard' (or 'all'):
   * TensorBoard event files in loggingDir (a TensorBoardCallback); 'none' (the default): nowhere.
   */
  reportTo?: 'none' | 'tensorboard' | 'all' | string[];
  /** HF's logging_dir: the TensorBoard folder (default <outputDir>/runs/<Mon><DD>_<HH>-<MM>-<SS>_<host>) */
  loggingDir?: string;
}

export type Strategy = 'steps' | 'epoch' | 'no';
/** What reportTo takes: HF's report_to names that tstorch has. */
export const REPORT_TO = ['none', 'tensorboard', 'all'];

export const TRAINING_DEFAULTS = {
  numTrainEpochs: 3, maxSteps: -1, perDeviceTrainBatchSize: 8, perDeviceEvalBatchSize: 8, gradientAccumulationSteps: 1, learningRate: 5e-5,
  weightDecay: 0, adamBeta1: 0.9, adamBeta2: 0.999, adamEpsilon: 1e-8, optim: 'adamw_torch' as OptimizerName, maxGradNorm: 1.0,
  lrSchedulerType: 'linear' as ScheduleKind, warmupSteps: 0, warmupRatio: 0, loggingSteps: 500, loggingStrategy: 'steps' as Strategy, loggingFirstStep: false, loggingNanInfFilter: true, evalOnStart: false, saveSteps: 500,
  saveStrategy: 'steps' as Strategy, evalStrategy: 'steps' as Strategy, loadBestModelAtEnd: false,
  saveTotalLimit: null as number | null, seed: 42, device: 'cpu', shuffle: true, progress: 'auto' as boolean | 'auto',
  precision: 'fp32' as 'fp32' | 'bf16', gradientCheckpointing: false, groupByLength: false, dataloaderDropLast: false, neftuneNoiseAlpha: 0, labelSmoothingFactor: 0,
  sftLossType: 'nll' as LmLossType | 'chunked_nll',
};

/**
 * The arguments whose defaults are numbers or booleans are numbers or booleans (a learningRate of
 * '1e-4' from a config read as text would otherwise fail deep in the optimizer, or train wrong).
 */
function checkArgumentTypes(name: string, args: object): void {
  for (const [k, v] of Object.entries(args)) {
    if (v === undefined || !Object.hasOwn(TRAINING_DEFAULTS, k)) continue;
    const kind = typeof TRAINING_DEFAULTS[k as keyof typeof TRAINING_DEFAULTS];
    if (kind === 'number' && !(typeof v === 'number' && !Number.isNaN(v))) throw new Error(`${name}: ${k} must be a number, got ${shownValue(v)}`);
    if (kind === 'boolean' && typeof v !== 'boolean') throw new Error(`${name}: ${k} must be true or false, got ${shownValue(v)}`);
  }
}

export interface LogEntry {
  step: number;
  epoch: number;
  loss?: number;
  grad_norm?: number;
  learning_rate?: number;
  tokens_per_second?: number;
  eval_loss?: number;
  eval_perplexity?: number;
  /** next-token accuracy on the eval set (HF run_clm's eval_accuracy) */
  eval_accuracy?: number;
  /** a token classifier with entity tags: run_ner's entity scores on the eval set (seqeval, micro-averaged) */
  eval_precision?: number;
  eval_recall?: number;
  eval_f1?: number;
  /** with includeNumInputTokensSeen: the input tokens trained on so far */
  num_input_tokens_seen?: number;
  live_tensors?: number;
  /** what a Trainer subclass adds (DPOTrainer: rewards/chosen, rewards/accuracies, ...) */
  [metric: string]: number | undefined;
}

export interface TrainResult {
  globalStep: number;
  trainLoss: number;
  logHistory: LogEntry[];
  seconds: number;
  tokensPerSecond: number;
  /** steps whose loss was NaN or infinite: training diverged (HF's logging_nan_inf_filter keeps them out of trainLoss) */
  nonFiniteLossSteps: number;
}

/**
 * HF's grouping: weight decay for everything but biases and LayerNorm weights. Both groups are
 * kept even when one is empty (LoRA's no-decay group), as HF's Trainer keeps them: its
 * optimizer.pt then has the same groups as tstorch's.
 */
export function decayParameterGroups(model: Module, weightDecay: number): { params: Tensor[]; names: string[]; weightDecay: number }[] {
  const lnParams = new Set<Tensor>();
  for (const [, m] of model.namedModules()) if (m instanceof LayerNorm) m.parameters().forEach((p) => lnParams.add(p));
  const decay: [string, Tensor][] = [], noDecay: [string, Tensor][] = [];
  for (const [n, p] of model.namedParameters({ trainableOnly: true })) {
    (n.endsWith('bias') || lnParams.has(p) ? noDecay : decay).push([n, p]);
  }
  return [
    { params: decay.map(([, p]) => p), names: decay.map(([n]) => n), weightDecay },
    { params: noDecay.map(([, p]) => p), names: noDecay.map(([n]) => n), weightDecay: 0 },
  ];
}

/** Every TrainingArguments name: the Trainer refuses another (HF's learning_rate names learningRate) rather than train on a default. */
export const TRAINING_ARGUMENTS = [
  'adamBeta1', 'adamBeta2', 'adamEpsilon', 'dataSeed', 'dataloaderDropLast', 'device', 'evalOnStart', 'evalSteps',
  'evalStrategy', 'gradientAccumulationSteps', 'gradientCheckpointing', 'greaterIsBetter', 'groupByLength', 'includeNumInputTokensSeen', 'labelSmoothingFactor', 'learningRate',
  'loadBestModelAtEnd', 'loggingDir', 'loggingFirstStep', 'loggingNanInfFilter', 'loggingSteps', 'loggingStrategy', 'loraplusLrEmbedding', 'loraplusLrRatio',
  'lrSchedulerKwargs', 'lrSchedulerType', 'maxGradNorm', 'maxSteps', 'metricForBestModel', 'neftuneNoiseAlpha', 'numTrainEpochs', 'optim',
  'optimArgs', 'outputDir', 'perDeviceEvalBatchSize', 'perDeviceTrainBatchSize', 'precision', 'progress', 'reportTo', 'resumeFromCheckpoint',
  'saveOnInterrupt', 'saveOnlyModel', 'saveSafetensors', 'saveSteps', 'saveStrategy', 'saveTotalLimit', 'seed', 'sftLossType', 'shuffle', 'warmupRatio',
  'warmupSteps', 'weightDecay',
] as const satisfies readonly (keyof TrainingArguments)[];
// (compile-time: an argument added to TrainingArguments but not to the list fails here)
const everyArgumentListed: Exclude<keyof TrainingArguments, (typeof TRAINING_ARGUMENTS)[number]> extends never ? true : never = true;
void everyArgumentListed;

/** createModelCard's options, HF's create_model_card's by their names in camelCase. */
export interface ModelCardOptions {
  /** the card's title and model-index name (default: outputDir's folder name) */
  modelName?: string;
  /** the base model: a Hub id or a folder (default: the name the model was loaded by, HF's _name_or_path) */
  finetunedFrom?: string;
  /** the training data's name */
  dataset?: string;
  /** the adapter the run started from and trained further, if any */
  startAdapter?: string;
}

export class Trainer {
  /** the arguments this trainer takes (a subclass adds its own) */
  static readonly argumentNames: readonly string[] = TRAINING_ARGUMENTS;
  readonly args: typeof TRAINING_DEFAULTS & TrainingArguments;
  readonly optimizer: TrainerOptimizer;
  readonly scheduler: LRScheduler;
  readonly stepsPerEpoch: number;
  readonly totalSteps: number;
  globalStep = 0;
  logHistory: LogEntry[] = [];
  private lossSinceLog = 0;
  private stepsSinceLog = 0;
  private tokensSinceLog = 0;
  // Each step's loss and the last grad norm stay tensors until a log line or a checkpoint needs
  // them: on CUDA, reading a value waits for the device (HF's Trainer keeps tr_loss as a tensor
  // too), so the next steps' kernels queue up meanwhile. readLosses() reads them in one go.
  private unreadLosses: Tensor[] = [];
  private lastGradNorm: Tensor | null = null;
  private interruptFlag: Tensor | null = null; // data parallel with saveOnInterrupt: the signals noted, all-reduced (see agreedInterrupt)
  private runLossSum = 0; // the losses of this train() call, for its trainLoss
  private nonFiniteLosses = 0; // (its steps whose loss was NaN or infinite)
  /** input tokens trained on so far, padding aside, all processes (HF's num_input_tokens_seen) */
  numInputTokensSeen = 0;
  /** HF's total_flos: its estimate, 6 x input tokens (padding included) x parameters outside embeddings, all processes */
  totalFlos = 0;
  private nonEmbeddingParameters = -1;
  /** includeNumInputTokensSeen's choice: whether to count, and padding with it ('all', HF's meaning of true) */
  private get countsTokensSeen(): boolean {
    const c = this.args.includeNumInputTokensSeen;
    return c === true || c === 'all' || c === 'non_padding';
  }
  private get countPadding(): boolean {
    return this.args.includeNumInputTokensSeen === true || this.args.includeNumInputTokensSeen === 'all';
  }
  protected overlapSync = false; // data parallel: gradients all-reduced by hooks during backward
  private lastLogTime = 0;
  private rssBaseline = 0; // the process's RSS once training is under way (see guardCpuMemory)
  /** the lowest eval loss so far and its checkpoint (with loadBestModelAtEnd) */
  bestMetric: number | null = null;
  bestModelCheckpoint: string | null = null;
  private lastLoggedLoss = NaN; // what the progress bar shows: reading each step's loss would sync
  /** the eval log's key for metricForBestModel, and which way is better */
  readonly bestMetricKey: EvalMetric;
  readonly greaterIsBetter: boolean;
  /** data-parallel: this process's rank and the number of ranks (1 when not distributed) */
  readonly rank: number;
  readonly worldSize: number;

  /** HF's callbacks (TrainerCallback): called in order at each event of the loop */
  readonly callbacks: TrainerCallback[];
  /**
   * HF's processing_class: what is saved beside the weights in every checkpoint and by saveModel
   * (a GPT2Tokenizer, or anything with savePretrained(dir)), so that each folder loads with
   * AutoTokenizer as it is. Set it after construction: trainer.processingClass = tokenizer.
   */
  processingClass: { savePretrained(dir: string): void } | null = null;
  private control: TrainerControl = { shouldTrainingStop: false, shouldSave: false };

  constructor(readonly model: TrainableModel, args: TrainingArguments, readonly trainDataset: LMDataset, readonly evalDataset?: LMDataset,
    callbacks: TrainerCallback[] = []) {
    this.callbacks = [...callbacks];
    keywordOptions(new.target.name, args, (new.target as typeof Trainer).argumentNames);
    checkArgumentTypes(new.target.name, args);
    this.args = { ...TRAINING_DEFAULTS, ...args };
    const a = this.args;
    if (trainDataset instanceof RewardDataset && new.target === Trainer) throw new Error('Trainer: reward-model pairs (a RewardDataset) train with the RewardTrainer');
    // (a RewardTrainer checks its own pairs)
    if (model instanceof GPT2ForSequenceClassification && !(trainDataset instanceof RewardDataset)) checkClassifierData(model, trainDataset, evalDataset, a);
    else if (model instanceof GPT2ForTokenClassification) checkTokenClassifierData(model, trainDataset, evalDataset, a);
    else if ([trainDataset, evalDataset].some((d) => d instanceof ClassificationDataset || d instanceof TokenClassificationDataset)) {
      throw new Error('Trainer: a ClassificationDataset trains a GPT2ForSequenceClassification, a TokenClassificationDataset a GPT2ForTokenClassification; not a language model');
    }
    for (const k of ['perDeviceTrainBatchSize', 'gradientAccumulationSteps'] as const) {
      if (!Number.isInteger(a[k]) || a[k] < 1) throw new Error(`Trainer: ${k} must be a positive integer, got ${a[k]}`);
    }
    for (const k of ['loggingSteps', 'evalSteps', 'saveSteps'] as const) {
      const v = a[k];
      if (v === undefined || (k === 'saveSteps' && v === 0)) continue;
      if (!((Number.isInteger(v) && v >= 1) || (v > 0 && v < 1))) throw new Error(`Trainer: ${k} must be a positive integer, or a fraction in (0, 1) of the run's steps, got ${v}`);
    }
    if (trainDataset.length === 0) throw new Error('Trainer: the training set is empty (no complete block: text shorter than the block size? or no example)');
    this.rank = distributed.getRank();
    this.worldSize = distributed.getWorldSize();
    // Each rank trains on its shard (DistributedSampler: ceil(n / world) blocks, padded by wrapping);
    // a step takes up to gradientAccumulationSteps of its micro-batches (the last one of an epoch may take fewer).
    const shard = Math.ceil(trainDataset.length / this.worldSize);
    const microBatches = a.dataloaderDropLast ? Math.floor(shard / a.perDeviceTrainBatchSize) : Math.ceil(shard / a.perDeviceTrainBatchSize);
    if (microBatches === 0) {
      throw new Error(`Trainer: dataloaderDropLast leaves no batch: ${this.worldSize > 1 ? `each of the ${this.worldSize} processes gets ${shard} of the ${trainDataset.length} items` : `the ${trainDataset.length} items`}, fewer than perDeviceTrainBatchSize ${a.perDeviceTrainBatchSize}; lower the batch size or drop dataloaderDropLast`);
    }
    this.stepsPerEpoch = Math.ceil(microBatches / a.gradientAccumulationSteps);
    this.totalSteps = a.maxSteps > 0 ? a.maxSteps : Math.ceil(this.stepsPerEpoch * a.numTrainEpochs);
    // As HF: logging, eval and save steps below 1 are that fraction of the run's steps, rounded up.
    for (const k of ['loggingSteps', 'evalSteps', 'saveSteps'] as const) {
      const v = a[k];
      if (v !== undefined && v > 0 && v < 1) a[k] = Math.ceil(v * this.totalSteps);
    }
    if (![undefined, true, false, 'all', 'non_padding', 'no'].includes(a.includeNumInputTokensSeen)) throw new Error(`Trainer: includeNumInputTokensSeen must be true, false, 'all', 'non_padding' or 'no', got ${JSON.stringify(a.includeNumInputTokensSeen)}`);
    if (!['fp32', 'bf16'].includes(a.precision)) throw new Error(`Trainer: precision must be fp32 or bf16, got '${a.precision}'`);
    for (const k of ['saveStrategy', 'evalStrategy', 'loggingStrategy'] as const) {
      if (!['steps', 'epoch', 'no'].includes(a[k])) throw new Error(`Trainer: ${k} must be steps, epoch or no, got '${a[k]}'`);
    }
    if (a.evalOnStart && !evalDataset) throw new Error('Trainer: evalOnStart needs an eval dataset');
    const metric = `eval_${(a.metricForBestModel ?? 'loss').replace(/^eval_/, '')}`;
    if (!EVAL_METRICS.includes(metric as EvalMetric)) throw new Error(`Trainer: metricForBestModel must be loss, perplexity, accuracy (or, for a token classifier with entity tags, f1, precision or recall), got '${a.metricForBestModel}'`);
    const entityMetric = /^eval_(f1|precision|recall)$/.test(metric);
    if (entityMetric && !(model instanceof GPT2ForTokenClassification && isEntityTagSet(Object.values(model.config.id2label)))) {
      throw new Error(`Trainer: metricForBestModel ${metric.slice(5)} is an entity score, for a token classifier whose tags name entities (O, B-PER, I-PER, ...)`);
    }
    this.bestMetricKey = metric as EvalMetric;
    this.greaterIsBetter = a.greaterIsBetter ?? !metric.endsWith('loss'); // (HF's rule: perplexity wants greaterIsBetter false given)
    if (a.lrSchedulerType === 'reduce_lr_on_plateau' && (!evalDataset || a.evalStrategy === 'no')) {
      throw new Error('Trainer: lrSchedulerType reduce_lr_on_plateau steps on an eval metric (metricForBestModel, default the loss): it needs an eval dataset and an evalStrategy (steps or epoch)');
    }
    if (a.loadBestModelAtEnd) {
      const evalEvery = a.evalSteps ?? a.loggingSteps;
      if (!evalDataset) throw new Error('Trainer: loadBestModelAtEnd needs an eval dataset');
      if (a.saveStrategy !== a.evalStrategy || a.evalStrategy === 'no') {
        throw new Error(`Trainer: loadBestModelAtEnd needs a checkpoint at each evaluation: saveStrategy and evalStrategy the same (not 'no'), got ${a.saveStrategy} and ${a.evalStrategy}`);
      }
      if (a.saveStrategy === 'steps' && !(a.saveSteps > 0 && a.saveSteps % evalEvery === 0)) {
        throw new Error(`Trainer: loadBestModelAtEnd needs saveSteps (${a.saveSteps}) to be a multiple of evalSteps (${evalEvery})`);
      }
    }
    if (!(this.totalSteps > 0)) throw new Error('Trainer: nothing to do (numTrainEpochs and maxSteps give 0 steps)');
    const reportTo = typeof a.reportTo === 'string' ? [a.reportTo] : a.reportTo ?? ['none'];
    const unknown = reportTo.filter((r) => !REPORT_TO.includes(r));
    if (unknown.length) throw new Error(`Trainer: reportTo ${unknown.join(', ')}: tstorch reports to tensorboard (or none)`);
    if (reportTo.includes('tensorboard') || reportTo.includes('all')) {
      this.callbacks.push(new TensorBoardCallback(a.loggingDir ?? path.join(a.outputDir, defaultLogDir('')), { args: a, modelConfig: model.config }));
    }
    if (a.gradientCheckpointing) model.gradientCheckpointingEnable();
    manualSeed(a.seed);
    if (!OPTIMIZERS.includes(a.optim)) throw new Error(`Trainer: optim must be ${OPTIMIZERS.join(', ')}; got '${a.optim}'`);
    if (a.loraplusLrEmbedding !== undefined && a.loraplusLrRatio === undefined) throw new Error('Trainer: loraplusLrEmbedding is a LoRA+ setting: it needs loraplusLrRatio');
    const groups = a.loraplusLrRatio === undefined ? decayParameterGroups(model, a.weightDecay)
      : loraplusParameterGroups(model, { lr: a.learningRate, loraplusLrRatio: a.loraplusLrRatio, loraplusLrEmbedding: a.loraplusLrEmbedding, loraplusWeightDecay: a.weightDecay });
    this.optimizer = createOptimizer(a.optim, groups, a, parseOptimArgs(a.optim, a.optimArgs));
    if (!(a.labelSmoothingFactor >= 0 && a.labelSmoothingFactor < 1)) throw new Error(`Trainer: labelSmoothingFactor must be in [0, 1), got ${a.labelSmoothingFactor}`);
    if (!['nll', 'chunked_nll', 'dft'].includes(a.sftLossType)) throw new Error(`Trainer: sftLossType must be nll, chunked_nll or dft, got '${a.sftLossType}'`);
    if (a.sftLossType === 'dft') {
      // (the subclasses have losses of their own; classifiers, theirs)
      if (new.target !== Trainer || !(model instanceof GPT2LMHeadModel)) throw new Error(`Trainer: sftLossType 'dft' is SFT's (TRL's SFTConfig loss_type): a causal LM trained by Trainer, not ${new.target !== Trainer ? new.target.name : model.constructor.name}`);
      if (a.labelSmoothingFactor) throw new Error('Trainer: sftLossType \'dft\' takes no label smoothing');
    }
    if (!(a.neftuneNoiseAlpha >= 0)) throw new Error(`Trainer: neftuneNoiseAlpha must be >= 0, got ${a.neftuneNoiseAlpha}`);
    if (!(a.warmupRatio >= 0 && a.warmupRatio <= 1)) throw new Error(`Trainer: warmupRatio must be in [0, 1], got ${a.warmupRatio}`);
    if (!(Number.isInteger(a.warmupSteps) && a.warmupSteps >= 0)) throw new Error(`Trainer: warmupSteps must be an integer >= 0, got ${a.warmupSteps}`);
    const warmup = a.warmupSteps > 0 ? a.warmupSteps : Math.ceil(this.totalSteps * a.warmupRatio); // HF's get_warmup_steps
    this.scheduler = new LRScheduler(this.optimizer, a.lrSchedulerType, warmup, this.totalSteps, a.lrSchedulerKwargs ?? {});
    // Every rank starts from rank 0's weights (frozen ones written only where they differ: a base mapped from its file stays shared).
    if (this.worldSize > 1) {
      distributed.broadcast([...model.parameters({ trainableOnly: true }), ...model.namedBuffers({ persistentOnly: true }).map(([, t]) => t)], 0);
      distributed.broadcastIfDifferent(model.parameters().filter((p) => !p.requiresGrad), 0);
    }
  }

  /** Only rank 0 writes logs, checkpoints and models. */
  get isMain(): boolean {
    return this.rank === 0;
  }

  addCallback(callback: TrainerCallback): void {
    this.callbacks.push(callback);
  }

  /** What callbacks see (HF's TrainerState). */
  get state(): TrainerState {
    return {
      globalStep: this.globalStep, maxSteps: this.totalSteps, epoch: this.globalStep / this.stepsPerEpoch, logHistory: this.logHistory, rank: this.rank,
      metricForBestModel: this.bestMetricKey, greaterIsBetter: this.greaterIsBetter,
    };
  }

  private emit<K extends keyof TrainerCallback>(event: K, ...rest: unknown[]): void {
    if (!this.callbacks.length) return; // (no state object built every step for nobody)
    for (const cb of this.callbacks) {
      const fn = cb[event] as ((...a: unknown[]) => void) | undefined;
      fn?.call(cb, this.state, this.control, ...rest);
    }
  }

  /** This rank's optimizer steps for an epoch: each a list of micro-batches of block indices. */
  stepsFor(epoch: number): number[][][] {
    const micro = this.batchesFor(epoch), k = this.args.gradientAccumulationSteps;
    const steps: number[][][] = [];
    for (let i = 0; i < micro.length; i += k) steps.push(micro.slice(i, i + k));
    return steps;
  }

  /**
   * This rank's (micro-)batches of item indices for an epoch: the epoch's seeded order (grouped
   * by length if asked), in data parallel padded by wrapping to a multiple of the world size and
   * dealt out (DistributedSampler), cut into batches; the last one may be short (HF's default) or left out (dataloaderDropLast).
   */
  private batchesFor(epoch: number): number[][] {
    const a = this.args, data = this.trainDataset, n = data.length, world = this.worldSize;
    let order = a.shuffle ? epochPermutation(n, a.dataSeed ?? a.seed, epoch) : Array.from({ length: n }, (_, i) => i);
    // Grouped over all ranks' batches of a step: each rank's batch comes from the same stretch of lengths.
    if (a.groupByLength) {
      const lengths = Array.from({ length: n }, (_, i) => data.tokens([i])); // (read once: the sort asks often)
      order = lengthGroupedOrder(order, (i) => lengths[i], a.perDeviceTrainBatchSize * world);
    }
    if (world > 1) {
      const total = Math.ceil(n / world) * world;
      for (let i = n; i < total; i++) order.push(order[i - n]);
      order = order.filter((_, i) => i % world === this.rank);
    }
    const out: number[][] = [];
    for (let i = 0; i < order.length; i += a.perDeviceTrainBatchSize) out.push(order.slice(i, i + a.perDeviceTrainBatchSize));
    if (a.dataloaderDropLast && out.at(-1)!.length < a.perDeviceTrainBatchSize) out.pop();
    return out;
  }

  private get metricsFile(): string {
    return path.join(this.args.outputDir, 'metrics.jsonl');
  }

  private log(entry: LogEntry, progress: Progress): void {
    this.logHistory.push(entry);
    this.emit('onLog', entry);
    if (!this.isMain) return;
    fs.appendFileSync(this.metricsFile, JSON.stringify(entry) + '\n');
    progress.log(entry);
  }

  /**
   * Runs the training loop; returns the mean training loss and the log history. With
   * saveOnInterrupt, a SIGINT or SIGTERM ends it after the step in progress, with a checkpoint of
   * that step: train() then throws TrainingInterrupted.
   */
  train(): TrainResult {
    return this.args.saveOnInterrupt ? noteInterrupts(() => this.trainLoop()) : this.trainLoop();
  }

  private trainLoop(): TrainResult {
    const a = this.args;
    fs.mkdirSync(a.outputDir, { recursive: true });
    // A run killed while writing a checkpoint leaves a temporary folder (never read): tidy it
    // before anything lists the checkpoints; the other ranks wait for that.
    if (this.isMain) for (const note of recoverInterruptedWrites(a.outputDir)) console.error(`train: ${a.outputDir}: ${note}`);
    if (this.worldSize > 1) distributed.barrier();
    if (a.resumeFromCheckpoint) this.resume(a.resumeFromCheckpoint === true ? latestCheckpoint(a.outputDir) : a.resumeFromCheckpoint);
    else if (this.isMain) fs.writeFileSync(this.metricsFile, '');
    const trainable = this.model.parameters({ trainableOnly: true });
    // Overlapped gradient sync (hooks) where it applies (float32, one device); plain bucketed all-reduce otherwise.
    this.overlapSync = false;
    // (Not with gradient checkpointing: its several backward calls would run a tied weight's hook twice.)
    if (this.worldSize > 1 && !this.model.gradientCheckpointing) {
      try {
        distributed.registerGradSync(trainable);
        this.overlapSync = true;
      } catch {
        this.overlapSync = false;
      }
    }
    const progress = new Progress(this.totalSteps, this.isMain ? a.progress : false, this.globalStep);
    const t0 = Date.now();
    let steps = 0, tokens = 0;
    this.runLossSum = 0;
    this.nonFiniteLosses = 0;
    this.lastLogTime = Date.now();
    this.lastLoggedLoss = NaN;
    this.rssBaseline = 0;
    this.model.train();
    // NEFTune for this run only (HF activates it in train() and takes it off after); it acts in training mode alone.
    this.model.transformer.neftuneNoiseAlpha = a.neftuneNoiseAlpha;
    this.control = { shouldTrainingStop: false, shouldSave: false };
    this.emit('onTrainBegin');
    if (a.evalOnStart && this.evalDataset) {
      // HF's eval_on_start: the model as training starts, logged at the current step
      const r = this.evaluate();
      this.model.train();
      this.log({ step: this.globalStep, epoch: this.globalStep / this.stepsPerEpoch, ...r }, progress);
      this.emit('onEvaluate', r);
    }
    const epochs = Math.ceil(this.totalSteps / this.stepsPerEpoch);
    outer: for (let epoch = Math.floor(this.globalStep / this.stepsPerEpoch); epoch < epochs; epoch++) {
      const epochSteps = this.stepsFor(epoch);
      for (let b = this.globalStep - epoch * this.stepsPerEpoch; b < epochSteps.length; b++) {
        if (this.globalStep >= this.totalSteps) break outer;
        tidy(() => {
          const loss = this.trainingStep(epochSteps[b]);
          if (this.worldSize > 1) {
            if (this.overlapSync) distributed.finishGradSync();
            else distributed.allReduceGrads(trainable);
            distributed.allReduce([loss], { op: 'avg' });
          }
          if (a.maxGradNorm > 0) {
            this.lastGradNorm?.dispose(); // only the last step's is logged (and not read here: no sync)
            this.lastGradNorm = keep(clipGradNormTensor(trainable, a.maxGradNorm));
          }
          this.optimizer.step();
          this.scheduler.step();
          this.optimizer.zeroGrad();
          this.unreadLosses.push(keep(loss));
        });
        this.globalStep++;
        // (without a log line for a long while, e.g. loggingStrategy 'no': read them in batches, at flat memory)
        if (this.unreadLosses.length >= 256) this.readLosses();
        this.guardCpuMemory(steps);
        const ntok = this.trainDataset.tokens(epochSteps[b].flat()) * this.worldSize; // (other ranks': about as many)
        const padded = epochSteps[b].reduce((n, micro) => n + (this.trainDataset.paddedTokens?.(micro) ?? this.trainDataset.tokens(micro)), 0) * this.worldSize;
        steps++; tokens += ntok;
        this.numInputTokensSeen += this.countPadding ? padded : ntok;
        this.totalFlos += 6 * padded * this.countNonEmbeddingParameters();
        this.stepsSinceLog++; this.tokensSinceLog += ntok;
        progress.tick(this.globalStep, this.lastLoggedLoss);
        const epochF = this.globalStep / this.stepsPerEpoch;
        this.emit('onStepEnd');
        // An epoch ends at its last step, and at the run's last step (HF's on_epoch_end after the loop).
        const epochEnd = this.globalStep % this.stepsPerEpoch === 0 || this.globalStep === this.totalSteps;
        const logNow = a.loggingStrategy === 'epoch' ? epochEnd : a.loggingStrategy === 'steps' && this.globalStep % a.loggingSteps === 0;
        if (logNow || (a.loggingFirstStep && this.globalStep === 1) || this.globalStep === this.totalSteps) this.logTrainingSteps(progress);
        const evalEvery = a.evalSteps ?? a.loggingSteps;
        const evalNow = a.evalStrategy === 'epoch' ? epochEnd
          : a.evalStrategy === 'steps' && (this.globalStep % evalEvery === 0 || this.globalStep === this.totalSteps);
        if (this.evalDataset && evalNow) {
          const r = this.evaluate();
          this.model.train();
          this.log({ step: this.globalStep, epoch: epochF, ...r }, progress);
          const value = r[this.bestMetricKey];
          if (value === undefined) throw new Error(`Trainer: the evaluation has no ${this.bestMetricKey} (it has ${Object.keys(r).join(', ')}); set metricForBestModel to one of those`);
          this.scheduler.stepMetric(value); // (reduce_lr_on_plateau: HF steps it here, after the log line)
          if (a.loadBestModelAtEnd && (this.bestMetric === null || (this.greaterIsBetter ? value > this.bestMetric : value < this.bestMetric))) {
            this.bestMetric = value; // this step's checkpoint, written below, is the best so far
            this.bestModelCheckpoint = path.join(a.outputDir, `checkpoint-${this.globalStep}`);
            this.control.shouldSave = true; // (also at the run's last step, evaluated though not a save step)
          }
          this.emit('onEvaluate', r);
        }
        const saveNow = a.saveStrategy === 'epoch' ? epochEnd : a.saveStrategy === 'steps' && a.saveSteps > 0 && this.globalStep % a.saveSteps === 0;
        // Interrupted (not at the run's last step): this step's log line and checkpoint, then out.
        const signal = a.saveOnInterrupt ? this.agreedInterrupt() : 0;
        const interrupted = signal !== 0 && this.globalStep < this.totalSteps;
        if (interrupted && this.stepsSinceLog > 0) this.logTrainingSteps(progress);
        let saved = '';
        if (saveNow || this.control.shouldSave || interrupted) {
          saved = this.saveCheckpoint();
          this.emit('onSave', saved);
        }
        this.control.shouldSave = false;
        if (interrupted) {
          this.endLoop();
          progress.done();
          throw new TrainingInterrupted(signalName(signal), this.globalStep, saved, !a.saveOnlyModel);
        }
        if (this.control.shouldTrainingStop) {
          // A callback stopped the run: the steps since the last log line get theirs.
          if (this.stepsSinceLog > 0) this.logTrainingSteps(progress);
          break outer;
        }
      }
    }
    this.endLoop();
    if (a.loadBestModelAtEnd && this.bestModelCheckpoint && this.isMain) {
      // Rank 0 only: it alone writes the model, and other hosts may not see its output folder.
      console.log(`loading the best model: ${this.bestModelCheckpoint} (${this.bestMetricKey} ${this.bestMetric})`);
      this.loadTrainableWeights(this.bestModelCheckpoint);
    }
    this.emit('onTrainEnd');
    progress.done();
    const seconds = (Date.now() - t0) / 1000;
    if (this.isMain) this.writePlot();
    return {
      globalStep: this.globalStep, trainLoss: steps ? this.runLossSum / steps : NaN, logHistory: this.logHistory, seconds, tokensPerSecond: tokens / Math.max(seconds, 1e-9),
      nonFiniteLossSteps: this.nonFiniteLosses,
    };
  }

  /** What the loop leaves behind, read or freed: the steps' losses since the last log line, NEFTune, the last grad norm. */
  private endLoop(): void {
    this.readLosses();
    this.model.transformer.neftuneNoiseAlpha = 0;
    this.lastGradNorm?.dispose();
    this.lastGradNorm = null;
    this.interruptFlag?.dispose();
    this.interruptFlag = null;
  }

  /**
   * The signal that stops the run after this step, the same on every rank (0: none). One process:
   * the one noted. Data parallel: the largest noted on any rank up to the step before, all-reduced
   * then and read now, when it is done: reading this step's would make CUDA wait for the step.
   */
  private agreedInterrupt(): number {
    if (this.worldSize === 1) return pendingInterrupt();
    this.interruptFlag ??= keep(tensor([0], { dtype: 'int32', device: this.args.device }));
    const agreed = this.interruptFlag.item() as number;
    this.interruptFlag.fill_(pendingInterrupt());
    distributed.allReduce(this.interruptFlag, { op: 'max' });
    return agreed;
  }

  /**
   * One optimizer step's forward and backward (HF's training_step), over its micro-batches of
   * item indices: .grad accumulates the gradient of the mean loss over all their predicted tokens
   * (each micro-batch's mean loss weighted by its share of them, HF's num_items_in_batch), as one
   * batch of them all would give. In data parallel the share is of every rank's tokens (times the
   * world size, as the gradients are then averaged). Returns that loss, detached, shape (1).
   */
  trainingStep(micros: number[][]): Tensor {
    const a = this.args, overlap = this.overlapSync;
    const counts = micros.map((micro) => this.trainDataset.lossTokens(micro));
    const total = this.stepLossTokens(counts.reduce((x, y) => x + y, 0)) / this.worldSize;
    let stepLoss: Tensor | null = null;
    const wrap = <T>(fn: () => T): T => withPrecision(a.precision, a.device, fn);
    micros.forEach((micro, i) => {
      const batch = this.trainDataset.collate(micro, a.device);
      const weight = counts[i] / total;
      // In data parallel, the last micro-batch's backward all-reduces the gradient buckets as it
      // goes; the ones before it only accumulate (DDP's no_sync).
      if (overlap && i === micros.length - 1) distributed.prepareGradSync();
      const loss = this.model.forwardBackward(batch.inputIds, { labels: batch.labels, attentionMask: batch.attentionMask, positionIds: batch.positionIds, lossScale: weight, labelSmoothing: a.labelSmoothingFactor, ...(a.sftLossType === 'dft' ? { lossType: 'dft' as const } : {}), wrap });
      const detached = (weight === 1 ? loss : loss.mul(weight)).reshape([1]);
      stepLoss = stepLoss ? stepLoss.add(detached) : detached;
    });
    return stepLoss!;
  }

  /**
   * A step over micro-batches whose losses are means over their items (pairs, examples): each
   * micro-batch's loss, weighted by its share of the step's items, backpropagated on its own (the
   * last one syncing gradients in data parallel), so .grad is that of the mean over all of them.
   * lossOf gives a micro-batch's loss and its metric sums (or null). Returns the step's loss (1),
   * detached, and the sums.
   */
  protected weightedStep(micros: number[][], lossOf: (micro: number[]) => { loss: Tensor; sums: Tensor | null }): { loss: Tensor; sums: Tensor[] } {
    const items = micros.reduce((n, m) => n + m.length, 0);
    const parts = micros.map((micro, i) => tidy(() => {
      if (this.overlapSync && i === micros.length - 1) distributed.prepareGradSync();
      const { loss, sums } = lossOf(micro);
      const weight = micro.length / items;
      loss.mul(weight).backward();
      return { loss: loss.detach().mul(weight).reshape([1]), sums };
    }));
    const loss = parts.length === 1 ? parts[0].loss : tidy(() => stack(parts.map((p) => p.loss)).sum(0));
    return { loss, sums: parts.flatMap((p) => (p.sums ? [p.sums] : [])) };
  }

  /**
   * The predicted tokens in this step over all ranks. Blocks of a TextDataset all predict the
   * same number, and every rank has as many blocks in a step (the sampler pads by wrapping), so
   * that is this rank's count times the world size; examples of different lengths need an all-reduce.
   */
  private stepLossTokens(mine: number): number {
    if (this.worldSize === 1 || this.trainDataset instanceof TextDataset) return mine * this.worldSize;
    return tidy(() => {
      const n = tensor([mine], { dtype: 'float64', device: this.args.device }); // (NCCL takes device tensors only)
      distributed.allReduce([n], { op: 'sum' });
      return n.item() as number;
    });
  }

  /**
   * With keepFreedCpuMemory (no mmap, no trim), glibc's heap can fragment and grow step after
   * step instead of reusing what it freed: seen intermittently with bf16 autocast on the CPU, RSS
   * 0.9 -> 11.8 GB in 120 steps of the demo's LoRA run. Once RSS passes twice (and 512 MiB above)
   * what it was after the first steps, the free pages go back to the OS (malloc_trim): bounded
   * memory, and nothing done while it stays flat. `stepsThisRun` counts this train() call's steps.
   */
  private guardCpuMemory(stepsThisRun: number): void {
    if (!cpuMemoryKept()) return;
    const rss = process.memoryUsage.rss();
    if (stepsThisRun < 3) this.rssBaseline = Math.max(this.rssBaseline, rss); // the steady state after warm-up
    else if (rss > Math.max(2 * this.rssBaseline, this.rssBaseline + (512 << 20))) trimCpuMemory();
  }

  /** The training log line for the steps since the last one (their mean loss; one device read). */
  private logTrainingSteps(progress: Progress): void {
    this.readLosses();
    const gradNorm = this.takeGradNorm();
    const secs = Math.max(1e-9, (Date.now() - this.lastLogTime) / 1000);
    this.lastLoggedLoss = this.lossSinceLog / this.stepsSinceLog;
    this.log({
      step: this.globalStep, epoch: this.globalStep / this.stepsPerEpoch, loss: this.lastLoggedLoss, grad_norm: gradNorm,
      learning_rate: this.scheduler.getLastLr()[0], tokens_per_second: this.tokensSinceLog / secs,
      live_tensors: memory().liveTensors, ...(this.countsTokensSeen ? { num_input_tokens_seen: this.numInputTokensSeen } : {}),
      ...this.trainingLogExtras(),
    }, progress);
    this.lossSinceLog = 0; this.stepsSinceLog = 0; this.tokensSinceLog = 0; this.lastLogTime = Date.now();
  }

  /** A subclass's own metrics for the training log line, over the steps since the last one (none here). */
  /** A method's own state that a checkpoint keeps (JSON, in tstorch_state.json) and resume gives back; none here. */
  protected methodState(): Record<string, unknown> | null {
    return null;
  }
  protected restoreMethodState(_state: Record<string, unknown>): void {}
  /** A method's own files in a checkpoint (written into its folder before it is put in place) and read back on resume; none here. */
  protected writeMethodFiles(_dir: string): void {}
  protected readMethodFiles(_dir: string): void {}

  protected trainingLogExtras(): Record<string, number> {
    return {};
  }

  /** HF's trainer.evaluate(): eval loss, perplexity and next-token accuracy of the model now, on the eval dataset (or the one given). */
  evaluate(dataset: LMDataset | undefined = this.evalDataset): EvalMetrics {
    if (!dataset) throw new Error('Trainer.evaluate: no eval dataset (pass one to the Trainer or to evaluate())');
    const a = this.args, opts = { batchSize: a.perDeviceEvalBatchSize, device: a.device, precision: a.precision, distributed: true };
    if (this.model instanceof GPT2ForSequenceClassification) {
      // (checked in the constructor for the eval set; evaluate(dataset) may be given another)
      if (!(dataset instanceof ClassificationDataset)) throw new Error('Trainer.evaluate: a classifier is evaluated on a ClassificationDataset');
      const r = evaluateClassifier(this.model, dataset, opts);
      // (no perplexity for a classifier; no accuracy for regression)
      return (Number.isNaN(r.accuracy) ? { eval_loss: r.loss } : { eval_loss: r.loss, eval_accuracy: r.accuracy }) as EvalMetrics;
    }
    if (this.model instanceof GPT2ForTokenClassification) {
      if (!(dataset instanceof TokenClassificationDataset)) throw new Error('Trainer.evaluate: a token classifier is evaluated on a TokenClassificationDataset');
      const r = evaluateTokenClassifier(this.model, dataset, opts);
      // (run_ner's metrics: entity precision, recall and F1 where the tags name entities)
      const e = r.entities?.overall;
      return { eval_loss: r.loss, ...(e ? { eval_precision: e.precision, eval_recall: e.recall, eval_f1: e.f1 } : {}), eval_accuracy: r.accuracy } as EvalMetrics;
    }
    const r = evaluate(this.model, dataset, opts);
    return { eval_loss: r.loss, eval_perplexity: r.perplexity, eval_accuracy: r.accuracy } as EvalMetrics;
  }

  /** The last step's grad norm (NaN without clipping), read and released. */
  private takeGradNorm(): number {
    const t = this.lastGradNorm;
    this.lastGradNorm = null;
    if (!t) return NaN;
    const v = t.item() as number;
    t.dispose();
    return v;
  }

  /** Adds the unread step losses, in step order, to lossSinceLog and this run's sum (one device read). */
  private readLosses(): void {
    const losses = readAndDispose(this.unreadLosses.splice(0));
    // (the window's steps before each: they are all counted in stepsSinceLog already)
    let before = this.stepsSinceLog - losses.length;
    for (const loss of losses) {
      if (!Number.isFinite(loss)) this.nonFiniteLosses++;
      // HF's logging_nan_inf_filter: tr_loss += tr_loss / (1 + global_step - _globalstep_last_logged)
      const v = this.args.loggingNanInfFilter && !Number.isFinite(loss) ? this.lossSinceLog / (1 + before) : loss;
      this.lossSinceLog += v;
      this.runLossSum += v;
      before++;
    }
  }

  /**
   * README.md in outputDir (HF's Trainer.create_model_card): front matter for the Hub (base_model,
   * library_name, tags), the results of the last evaluation, the hyperparameters, LoRA's settings,
   * the evaluations table and the framework versions. A card of the user's is left alone (false);
   * an adapter's own short card (saveModel's) is replaced. The main process writes it.
   */
  createModelCard(opts: ModelCardOptions = {}): boolean {
    keywordOptions('createModelCard', opts, ['modelName', 'finetunedFrom', 'dataset', 'startAdapter']);
    if (!this.isMain) return false;
    // (LoRA's settings as the adapter's config has them: a seed-mode adapter's alpha is its r, its dropout 0)
    const lora = loraConfig(this.model) ? adapterConfigJson(this.model) : null;
    const base = opts.finetunedFrom ?? (this.model as { nameOrPath?: string | null }).nameOrPath ?? null;
    return writeModelCard(this.args.outputDir, {
      name: opts.modelName, baseModel: base, dataset: opts.dataset, adapter: lora !== null, startAdapter: opts.startAdapter,
      lora: lora ? { r: lora.r as number, alpha: lora.lora_alpha as number, dropout: lora.lora_dropout as number, targetModules: lora.target_modules as string[] | string, useDora: lora.use_dora as boolean } : undefined,
      hyperparameters: this.cardHyperparameters(),
      logHistory: this.logHistory,
    });
  }

  /** The card's hyperparameters, by HF's names, in HF's order (a preference trainer adds its method's: methodHyperparameters). */
  protected cardHyperparameters(): [string, string | number][] {
    const a = this.args, world = this.worldSize;
    const h: [string, string | number][] = [['learning_rate', a.learningRate], ['train_batch_size', a.perDeviceTrainBatchSize], ['eval_batch_size', a.perDeviceEvalBatchSize], ['seed', a.seed]];
    if (world > 1) h.push(['distributed_type', 'multi-process'], ['num_devices', world]);
    if (a.gradientAccumulationSteps > 1) h.push(['gradient_accumulation_steps', a.gradientAccumulationSteps]);
    h.push(['total_train_batch_size', a.perDeviceTrainBatchSize * a.gradientAccumulationSteps * world], ['optimizer', describeOptimizer(a.optim, a, parseOptimArgs(a.optim, a.optimArgs))]);
    if (a.loraplusLrRatio !== undefined) h.push(['loraplus_lr_ratio', a.loraplusLrRatio], ['loraplus_lr_embedding', a.loraplusLrEmbedding ?? 1e-6]);
    h.push(['lr_scheduler_type', a.lrSchedulerType]);
    if (this.scheduler.warmupSteps) h.push(['lr_scheduler_warmup_steps', this.scheduler.warmupSteps]);
    if (a.labelSmoothingFactor) h.push(['label_smoothing_factor', a.labelSmoothingFactor]);
    h.push(...this.methodHyperparameters(), ['training_steps', this.globalStep], ['mixed_precision_training', a.precision === 'bf16' ? 'bf16 autocast' : 'no (fp32)']);
    return h;
  }

  /** A preference trainer's own lines of the card (training_method, beta, ...); none for the plain Trainer. */
  protected methodHyperparameters(): [string, string | number][] {
    return [];
  }

  /** The adapter (LoRA) or the whole model, in Hugging Face's layout, into dir (default outputDir). */
  async saveModel(dir = this.args.outputDir): Promise<void> {
    if (!this.isMain) return;
    const safeSerialization = this.args.saveSafetensors ?? true;
    if (loraConfig(this.model)) writeAdapter(this.model, dir, { safeSerialization });
    else await this.model.savePretrained(dir, { safeSerialization });
    this.processingClass?.savePretrained(dir);
  }

  private writePlot(): void {
    const train = this.logHistory.filter((e) => e.loss !== undefined).map((e) => [e.step, e.loss!] as [number, number]);
    const evals = this.logHistory.filter((e) => e.eval_loss !== undefined).map((e) => [e.step, e.eval_loss!] as [number, number]);
    const svg = lossCurveSvg([{ name: 'train loss', points: train }, { name: 'eval loss', points: evals, dashed: true }], 'Loss');
    writeFileAtomic(path.join(this.args.outputDir, 'loss.svg'), svg);
  }

  /** checkpoint-<step>/: weights, optimizer, scheduler, RNG and trainer state, written whole. */
  saveCheckpoint(): string {
    this.readLosses(); // loss_since_log in trainer_state.json counts every step so far
    const dir = path.join(this.args.outputDir, `checkpoint-${this.globalStep}`);
    if (this.worldSize > 1) {
      // Rank 0 writes the folder; then each other rank adds its own RNG state (its dropout stream).
      if (this.isMain) this.writeCheckpointDir(dir);
      distributed.barrier();
      if (!this.isMain && !this.args.saveOnlyModel) {
        for (const [file, state] of this.rngStates()) writeFileAtomic(path.join(dir, file), state);
        this.writeHfRngState(dir);
      }
      distributed.barrier();
      return dir;
    }
    this.writeCheckpointDir(dir);
    return dir;
  }

  /** What optimizer.json records of LoRA+ (nothing without it). */
  private loraplusRecord(): { loraplus_lr_ratio?: number; loraplus_lr_embedding?: number } {
    const a = this.args;
    return a.loraplusLrRatio === undefined ? {} : { loraplus_lr_ratio: a.loraplusLrRatio, loraplus_lr_embedding: a.loraplusLrEmbedding ?? 1e-6 };
  }

  private writeCheckpointDir(dir: string): void {
    const methodState = this.methodState();
    writeDirAtomic(dir, (tmp) => {
      const safeSerialization = this.args.saveSafetensors ?? true;
      if (loraConfig(this.model)) {
        writeAdapter(this.model, tmp, { safeSerialization });
        // Every trainable tensor by name: what resume restores (seed mode also trains wte, LayerNorms...).
        saveFile(path.join(tmp, LORA_TRAINABLE), new Map(this.model.namedParameters({ trainableOnly: true })));
      } else {
        // Full fine-tuning: the model's weight files (one, shards, or .bin) already hold every trainable tensor under its name.
        this.model.writePretrained(tmp, { safeSerialization });
      }
      this.processingClass?.savePretrained(tmp);
      if (!this.args.saveOnlyModel) {
        // HF's files: PyTorch's state dicts, which HF's Trainer (and torch.optim) load as they are
        saveTorchFile(path.join(tmp, 'optimizer.pt'), this.optimizer.stateDict());
        saveTorchFile(path.join(tmp, 'scheduler.pt'), this.scheduler.torchStateDict());
        for (const [file, state] of this.rngStates()) fs.writeFileSync(path.join(tmp, file), state);
        this.writeHfRngState(tmp);
      }
      this.writeMethodFiles(tmp);
      fs.writeFileSync(path.join(tmp, 'trainer_state.json'), JSON.stringify(sortedKeys(this.hfTrainerState()), null, 2) + '\n');
      // What resuming here checks and carries on beyond HF's state (its TrainerState takes no other keys; the batch size is there).
      fs.writeFileSync(path.join(tmp, TSTORCH_STATE), JSON.stringify({
        optim: this.args.optim, ...this.loraplusRecord(),
        gradient_accumulation_steps: this.args.gradientAccumulationSteps, seed: this.args.seed, train_items: this.trainDataset.length,
        world_size: this.worldSize, loss_since_log: this.lossSinceLog, steps_since_log: this.stepsSinceLog, tokens_since_log: this.tokensSinceLog,
        ...(this.args.saveOnlyModel ? { save_only_model: true } : {}),
        ...(methodState ? { method_state: methodState } : {}),
      }, null, 2));
    });
    this.pruneCheckpoints();
  }

  /**
   * trainer_state.json as HF's TrainerState writes it (its fields alone: HF's load_from_json
   * refuses others), so that HF's Trainer resumes the checkpoint and its tools read the logs.
   */
  private hfTrainerState(): Record<string, unknown> {
    const a = this.args;
    const best = this.bestModelCheckpoint && /checkpoint-(\d+)$/.exec(this.bestModelCheckpoint);
    return {
      epoch: this.globalStep / this.stepsPerEpoch, global_step: this.globalStep, max_steps: this.totalSteps,
      logging_steps: a.loggingSteps, eval_steps: a.evalSteps ?? a.loggingSteps, save_steps: a.saveSteps,
      train_batch_size: a.perDeviceTrainBatchSize, num_train_epochs: Math.ceil(this.totalSteps / this.stepsPerEpoch),
      num_input_tokens_seen: this.numInputTokensSeen, total_flos: this.totalFlos, log_history: this.logHistory,
      best_metric: this.bestMetric, best_global_step: best ? Number(best[1]) : null, best_model_checkpoint: this.bestModelCheckpoint,
      is_local_process_zero: true, is_world_process_zero: true, is_hyper_param_search: false, trial_name: null, trial_params: null,
      stateful_callbacks: {
        TrainerControl: {
          args: { should_training_stop: this.globalStep >= this.totalSteps, should_epoch_stop: false, should_save: true, should_evaluate: false, should_log: false },
          attributes: {},
        },
        ...this.callbackStates(),
      },
    };
  }

  /** The callbacks' states by class name (HF's stateful_callbacks: a list where a class has several). */
  private callbackStates(): Record<string, CallbackState | CallbackState[]> {
    const out: Record<string, CallbackState[]> = {};
    for (const cb of this.callbacks) if (cb.exportState) (out[cb.constructor.name] ??= []).push(cb.exportState());
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.length === 1 ? v[0] : v]));
  }

  /** A resumed run's callbacks take their states back (each class's in order); one the checkpoint has none for starts afresh. */
  private loadCallbackStates(saved: unknown): void {
    if (!saved || typeof saved !== 'object') return;
    const seen = new Map<string, number>();
    for (const cb of this.callbacks) {
      if (!cb.loadState) continue;
      const name = cb.constructor.name, k = seen.get(name) ?? 0;
      seen.set(name, k + 1);
      const entry = (saved as Record<string, unknown>)[name];
      const mine = Array.isArray(entry) ? entry[k] : k === 0 ? entry : undefined;
      if (mine && typeof mine === 'object' && 'attributes' in mine) cb.loadState((mine as CallbackState).attributes);
    }
  }

  /** HF's num_parameters(exclude_embeddings=True), for total_flos: every parameter but the Embedding layers' weights. */
  private countNonEmbeddingParameters(): number {
    if (this.nonEmbeddingParameters >= 0) return this.nonEmbeddingParameters;
    const embeddings = new Set([...this.model.namedModules()].filter(([, m]) => m instanceof Embedding).map(([n]) => (n ? `${n}.weight` : 'weight')));
    this.nonEmbeddingParameters = this.model.namedParameters().filter(([n]) => !embeddings.has(n)).reduce((k, [, p]) => k + p.numel(), 0);
    return this.nonEmbeddingParameters;
  }

  private pruneCheckpoints(): void {
    const limit = this.args.saveTotalLimit;
    if (!limit || limit < 1) return;
    const all = listCheckpoints(this.args.outputDir);
    // The newest `limit`, and the best one besides (HF keeps it in the rotation too).
    const best = this.bestModelCheckpoint && path.resolve(this.bestModelCheckpoint);
    for (const c of all.slice(0, Math.max(0, all.length - limit))) if (path.resolve(c) !== best) fs.rmSync(c, { recursive: true, force: true });
  }

  /**
   * This rank's generator states as checkpoint files: the CPU's (rng_state.bin, or
   * rng_state_rank<r>.bin), and when training on a GPU that GPU's (its dropout draws from it).
   */
  private rngStates(): [string, Buffer][] {
    const [cpuFile, gpuFile] = this.rngFiles();
    return gpuFile ? [[cpuFile, getRngState()], [gpuFile, getRngState(this.args.device)]] : [[cpuFile, getRngState()]];
  }
  /**
   * HF's rng_state.pth (rng_state_<rank>.pth when distributed), so that HF's Trainer resuming
   * here restores the generators (without it, it goes on with a note in its log). Left out for a
   * seed NumPy would refuse (outside [0, 2^32 - 1]), with which HF's set_seed fails, and for a
   * distributed run on CPUs: HF's distributed resume on GPUs would set_rng_state_all from a
   * 'cuda' entry such a run cannot have, with no fallback (a single process's resume has one).
   */
  private writeHfRngState(dir: string): void {
    const seed = this.args.seed;
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) return;
    if (this.worldSize > 1 && this.args.device === 'cpu') return;
    const device = this.args.device;
    const gpuState = device === 'cpu' ? undefined
      : this.worldSize > 1 ? Array.from({ length: cuda.deviceCount() }, (_, i) => getRngState(`cuda:${i}`)) : getRngState(device);
    const { state, tensors } = hfRngState(seed, getRngState(), gpuState);
    try {
      saveTorchFile(path.join(dir, this.worldSize > 1 ? `rng_state_${this.rank}.pth` : 'rng_state.pth'), state);
    } finally {
      for (const t of tensors) t.dispose();
    }
  }
  /** Their file names: the CPU's, and the GPU's when training on one. */
  private rngFiles(): [string, string | null] {
    const prefix = this.rank === 0 ? 'rng_state' : `rng_state_rank${this.rank}`;
    return [`${prefix}.bin`, this.args.device !== 'cpu' ? `${prefix}_cuda.bin` : null];
  }

  /**
   * An HF Trainer checkpoint's generators (its rng_state.pth, rng_state_<rank>.pth when
   * distributed), as its _load_rng_state: torch's CPU generator and, training on a GPU, that GPU's
   * (set_rng_state, or set_rng_state_all's entry for this device), so that dropout goes on as in
   * the run HF would have resumed. Python's and NumPy's are read but unused: tstorch draws from neither.
   */
  private loadHfRngState(dir: string): void {
    const file = this.worldSize > 1 ? `rng_state_${this.rank}.pth` : 'rng_state.pth';
    if (!fs.existsSync(path.join(dir, file))) {
      console.warn(`resume: ${dir} has no ${file} (the generators' state); dropout will draw other numbers than the uninterrupted run`);
      return;
    }
    const saved = loadTorchState(dir, file) as HfRngState;
    try {
      const bytes = (t: unknown, what: string): Buffer => {
        if (!(t instanceof Tensor) || t.dtype !== 'uint8') throw new Error(`resume: ${dir}/${file} holds no ${what} generator state (a uint8 tensor under '${what}'): not HF Trainer's rng_state.pth?`);
        return Buffer.from(t.data() as Uint8Array);
      };
      setRngState(bytes(saved?.cpu, 'cpu'));
      if (this.args.device !== 'cpu' && saved?.cuda !== undefined) {
        // set_rng_state_all's list: one state per visible GPU, this device's by its index
        const index = Number(/:(\d+)$/.exec(this.args.device)?.[1] ?? 0);
        setRngState(bytes(Array.isArray(saved.cuda) ? saved.cuda[index] : saved.cuda, 'cuda'), this.args.device);
      }
    } catch (e) {
      const msg = (e as Error).message;
      throw msg.startsWith('resume:') ? e : new Error(`resume: ${dir}/${file}: ${msg.split('\n')[0]}`);
    } finally {
      disposeTensorsIn(saved);
    }
  }

  /** The trainable tensors of a checkpoint into the model. */
  private loadTrainableWeights(dir: string): void {
    if (!hasTrainableWeights(dir, Boolean(loraConfig(this.model)))) throw new Error(`Trainer: ${dir} is not a complete checkpoint (no ${this.trainableWeightsName()})`);
    const own = new Map(this.model.namedParameters({ trainableOnly: true }));
    const filter = (n: string) => own.has(n);
    const { tensors } = loraConfig(this.model) ? loadFile(path.join(dir, LORA_TRAINABLE), { filter }) : loadWeights(dir, 'model', { filter });
    try {
      for (const name of own.keys()) if (!tensors.has(name)) throw new Error(`Trainer: checkpoint ${dir} lacks trainable tensor '${name}' (another LoRA setup?)`);
      noGrad(() => { for (const [n, t] of tensors) own.get(n)?.copy_(t); });
    } finally {
      for (const t of tensors.values()) t.dispose();
    }
  }

  /** An HF Trainer's LoRA checkpoint (no trainable.safetensors): the trainable tensors from PEFT's adapter file. */
  private loadAdapterWeights(dir: string): void {
    const live = adapterStateDict(this.model); // PEFT's saved names -> the model's own tensors
    const covered = new Set(live.values());
    const missing = this.model.namedParameters({ trainableOnly: true }).filter(([, p]) => !covered.has(p)).map(([n]) => n);
    if (missing.length) throw new Error(`resume: ${dir} has no ${LORA_TRAINABLE}, and its adapter file does not hold every trainable tensor (not ${missing[0]}): resume a checkpoint tstorch wrote`);
    const { tensors, file } = loadWeights(dir, 'adapter');
    try {
      for (const name of live.keys()) if (!tensors.has(name)) throw new Error(`resume: ${file} lacks '${name}' (another LoRA setup?)`);
      for (const name of tensors.keys()) if (!live.has(name)) throw new Error(`resume: ${file} holds '${name}', which this model's LoRA has not (another LoRA setup?)`);
      noGrad(() => { for (const [n, t] of tensors) live.get(n)!.copy_(t); });
    } finally {
      for (const t of tensors.values()) t.dispose();
    }
  }

  /** A LoRA checkpoint's adapter_config.json against this model's LoRA: the settings that decide its tensors and their meaning must agree. */
  private checkLoraSetup(dir: string, readState: (f: string) => Record<string, unknown>): void {
    if (!fs.existsSync(path.join(dir, 'adapter_config.json'))) return;
    const saved = readState('adapter_config.json'), now = adapterConfigJson(this.model);
    saved.tstorch_lora_mode ??= 'peft'; // (PEFT's own file)
    const same = (v: unknown) => JSON.stringify(Array.isArray(v) ? [...v].sort() : v ?? null);
    const differ = LORA_SETUP_KEYS.filter((k) => same(saved[k]) !== same(now[k]));
    if (differ.length) {
      throw new Error(`resume: ${dir} was trained with another LoRA setup: ${differ.map((k) => `${k} ${same(saved[k])} (this run: ${same(now[k])})`).join(', ')}; `
        + 'resume with the checkpoint\'s LoRA settings (its adapter_config.json)');
    }
  }

  /** What a checkpoint's trainable weights are called, for messages. */
  private trainableWeightsName(): string {
    return loraConfig(this.model) ? LORA_TRAINABLE : 'model.safetensors (or its shards, or pytorch_model.bin)';
  }

  private resume(dir: string): void {
    // (a hand-edited or damaged state file: say which, not a bare SyntaxError)
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const readState = (f: string): any => readJsonObject(path.join(dir, f), 'resume', `the checkpoint ${dir} is damaged: resume from an earlier one`);
    const has = (f: string) => fs.existsSync(path.join(dir, f));
    if (!has('trainer_state.json')) throw new Error(`resume: ${dir} is not a complete checkpoint (no trainer_state.json)`);
    const state = readState('trainer_state.json');
    // Three layouts: this one (HF's files and tstorch_state.json), tstorch's before it (optimizer.safetensors,
    // everything in trainer_state.json), and HF's Trainer's own (HF's files alone).
    const legacy = !has(TSTORCH_STATE) && has('optimizer.safetensors');
    const fromHf = !has(TSTORCH_STATE) && !legacy;
    const own = has(TSTORCH_STATE) ? readState(TSTORCH_STATE) : legacy ? state : {};
    if (own.save_only_model) {
      throw new Error(`resume: ${dir} was saved with saveOnlyModel (the weights alone, no optimizer or schedule state): it cannot resume training; start a new run from its weights instead`);
    }
    const lora = Boolean(loraConfig(this.model));
    if (!hasTrainableWeights(dir, lora) && !(fromHf && lora && hasWeights(dir, 'adapter'))) throw new Error(`resume: ${dir} is not a complete checkpoint (no ${this.trainableWeightsName()})`);
    const need = legacy ? ['optimizer.safetensors', 'optimizer.json', 'scheduler.json', 'rng_state.bin'] : ['optimizer.pt', 'scheduler.pt', ...(fromHf ? [] : ['rng_state.bin'])];
    for (const f of need) if (!has(f)) throw new Error(`resume: ${dir} is not a complete checkpoint (no ${f})`);
    if ((own.world_size ?? 1) !== this.worldSize && !fromHf) {
      throw new Error(`resume: the checkpoint was made with ${own.world_size ?? 1} processes, this run has ${this.worldSize}`);
    }
    const batch = state.train_batch_size; // (HF's field; the earlier layout had it too)
    if (batch !== undefined && batch !== null && batch !== this.args.perDeviceTrainBatchSize) {
      throw new Error(`resume: the checkpoint was trained with batch size ${batch}, not ${this.args.perDeviceTrainBatchSize}`);
    }
    // Other data would silently change the order, the steps per epoch and the schedule's length.
    if (own.train_items !== undefined && own.train_items !== this.trainDataset.length) {
      throw new Error(`resume: the checkpoint was trained on ${own.train_items} blocks (or examples), this run has ${this.trainDataset.length}: other --data, --block-size or packing?`);
    }
    if (!fromHf && (own.gradient_accumulation_steps ?? 1) !== this.args.gradientAccumulationSteps) {
      throw new Error(`resume: the checkpoint was trained with ${own.gradient_accumulation_steps ?? 1} gradient accumulation steps, not ${this.args.gradientAccumulationSteps}`);
    }
    const optJson = legacy ? readState('optimizer.json') : own;
    const savedOptim = optJson.optim ?? (fromHf ? this.args.optim : 'adamw_torch'); // (checkpoints from before optim choices)
    const family = (o: string) => (o.startsWith('adamw_torch') ? 'adamw_torch' : o);
    if (family(savedOptim) !== family(this.args.optim)) {
      throw new Error(`resume: the checkpoint was trained with optim ${savedOptim}, this run asks for ${this.args.optim}: pass the same optim (--optim ${savedOptim}) to resume`);
    }
    const savedPlus = JSON.stringify({ loraplus_lr_ratio: optJson.loraplus_lr_ratio, loraplus_lr_embedding: optJson.loraplus_lr_embedding });
    if (!fromHf && savedPlus !== JSON.stringify(this.loraplusRecord())) {
      const says = (r: { loraplus_lr_ratio?: number; loraplus_lr_embedding?: number }) => r.loraplus_lr_ratio === undefined ? 'without LoRA+'
        : `with LoRA+ (loraplusLrRatio ${r.loraplus_lr_ratio}, loraplusLrEmbedding ${r.loraplus_lr_embedding})`;
      throw new Error(`resume: the checkpoint was trained ${says(optJson)}, this run asks ${says(this.loraplusRecord())}: resume with the same LoRA+ settings`);
    }
    if (lora) this.checkLoraSetup(dir, readState);
    if (hasTrainableWeights(dir, lora)) this.loadTrainableWeights(dir);
    else this.loadAdapterWeights(dir);
    if (legacy) {
      const opt = loadFile(path.join(dir, 'optimizer.safetensors'));
      try {
        // (AdamW keys its state by parameter name here; the others by '<group>.<index>')
        const flat = alignSavedGroups('resume', { tensors: opt.tensors, steps: optJson.steps ?? {}, groups: optJson.groups }, this.optimizer.paramGroups, !(this.optimizer instanceof AdamW));
        this.optimizer.loadFlatStateDict({ tensors: flat.tensors, steps: flat.steps ?? {}, groups: flat.groups });
      } finally {
        for (const t of opt.tensors.values()) t.dispose();
      }
      this.scheduler.loadStateDict(readState('scheduler.json'));
    } else {
      const loaded = [loadTorchState(dir, 'optimizer.pt'), loadTorchState(dir, 'scheduler.pt')];
      try {
        this.optimizer.loadStateDict(loaded[0] as TorchOptimizerStateDict);
        if (!loaded[1] || typeof loaded[1] !== 'object' || loaded[1] instanceof Map || Array.isArray(loaded[1])) throw new Error(`resume: ${dir}/scheduler.pt holds no scheduler state dict`);
        this.scheduler.loadStateDict(loaded[1] as Record<string, unknown>);
      } finally {
        disposeTensorsIn(loaded);
      }
    }
    const [cpuFile, gpuFile] = this.rngFiles();
    if (has(cpuFile)) {
      setRngState(fs.readFileSync(path.join(dir, cpuFile)));
      // A GPU's generator (its dropout), where the checkpoint was made on one.
      if (gpuFile && has(gpuFile)) setRngState(fs.readFileSync(path.join(dir, gpuFile)), this.args.device);
    } else if (fromHf) this.loadHfRngState(dir);
    else throw new Error(`resume: ${dir} has no RNG state for rank ${this.rank}`);
    this.globalStep = state.global_step;
    this.logHistory = state.log_history ?? [];
    if (own.method_state) this.restoreMethodState(own.method_state);
    this.readMethodFiles(dir);
    this.lossSinceLog = own.loss_since_log ?? 0; // (an HF checkpoint: HF starts its loss average anew on resume too)
    this.stepsSinceLog = own.steps_since_log ?? 0;
    this.tokensSinceLog = own.tokens_since_log ?? 0;
    this.numInputTokensSeen = state.num_input_tokens_seen ?? 0;
    this.totalFlos = state.total_flos ?? 0;
    this.bestMetric = state.best_metric ?? null;
    this.bestModelCheckpoint = state.best_model_checkpoint ?? null;
    this.loadCallbackStates(state.stateful_callbacks);
    // The metrics file continues from the checkpoint: later lines of an interrupted run go.
    if (this.isMain) writeFileAtomic(this.metricsFile, this.logHistory.map((e) => JSON.stringify(e) + '\n').join(''));
  }
}

/** The Trainer's models: a causal LM, a sequence or a token classifier (HF's one Trainer for all). */
export type TrainableModel = GPT2LMHeadModel | GPT2ForSequenceClassification | GPT2ForTokenClassification;

/** A token classifier's data must match it: its tags, its pad token. */
function checkTokenClassifierData(model: GPT2ForTokenClassification, train: LMDataset, evalData: LMDataset | undefined, a: TrainingArguments): void {
  for (const [what, d] of [['training', train], ['eval', evalData]] as const) {
    if (d === undefined) continue;
    if (!(d instanceof TokenClassificationDataset)) throw new Error(`Trainer: a GPT2ForTokenClassification trains on a TokenClassificationDataset (words with tags); the ${what} set is not one`);
    const names = Object.values(model.config.id2label);
    if (d.numLabels !== model.numLabels || d.labelNames.some((n, i) => n !== names[i])) {
      throw new Error(`Trainer: the ${what} set's tags (${d.labelNames.slice(0, 10).join(', ')}${d.numLabels > 10 ? ', ...' : ''}) are not the model's id2label (${names.slice(0, 10).join(', ')}${names.length > 10 ? ', ...' : ''}); make the model with id2label from the data (dataset.id2label)`);
    }
  }
  if (a.metricForBestModel && /perplexity/.test(a.metricForBestModel)) throw new Error('Trainer: a token classifier has no perplexity; metricForBestModel is loss, accuracy or (with entity tags) f1, precision or recall');
}

/** A classifier's data must match it: its labels, its problem, its pad token. */
function checkClassifierData(model: GPT2ForSequenceClassification, train: LMDataset, evalData: LMDataset | undefined, a: Required<Pick<TrainingArguments, 'perDeviceTrainBatchSize' | 'labelSmoothingFactor'>> & TrainingArguments): void {
  for (const [what, d] of [['training', train], ['eval', evalData]] as const) {
    if (d === undefined) continue;
    if (!(d instanceof ClassificationDataset)) throw new Error(`Trainer: a GPT2ForSequenceClassification trains on a ClassificationDataset (texts with labels); the ${what} set is not one`);
    const names = Object.values(model.config.id2label);
    const otherNames = d.problemType !== 'regression' && d.labelNames.some((n, i) => n !== names[i]); // (regression's one name is LABEL_0 or anything)
    if (d.numLabels !== model.numLabels || otherNames) {
      throw new Error(`Trainer: the ${what} set's labels (${d.labelNames.join(', ')}) are not the model's id2label (${names.join(', ')}); make the model with id2label from the data (dataset.id2label), or the data with labels: the model's names`);
    }
    if (model.config.problem_type !== null && model.config.problem_type !== d.problemType) throw new Error(`Trainer: the model's problem_type is ${model.config.problem_type}, the ${what} set's ${d.problemType}`);
    if (model.config.pad_token_id === null && a.perDeviceTrainBatchSize > 1) throw new Error('Trainer: the classifier has no pad_token_id, so it cannot read padded batches; set padTokenId (the dataset pads with its padTokenId, GPT-2\'s eos by default)');
    if (model.config.pad_token_id !== null && model.config.pad_token_id !== d.padTokenId) throw new Error(`Trainer: the ${what} set pads with token ${d.padTokenId} but the model's pad_token_id is ${model.config.pad_token_id}: it would read each row at the wrong token`);
  }
  const problem = (train as ClassificationDataset).problemType;
  if (a.labelSmoothingFactor && problem !== 'single_label_classification') throw new Error(`Trainer: labelSmoothingFactor is for single-label classification, not ${problem}`);
  if (a.metricForBestModel && /perplexity/.test(a.metricForBestModel)) throw new Error('Trainer: a classifier has no perplexity; metricForBestModel is loss or accuracy');
  if (problem === 'regression' && a.metricForBestModel && /accuracy/.test(a.metricForBestModel)) throw new Error('Trainer: regression has no accuracy; metricForBestModel is loss');
}

// Where a checkpoint keeps the trainable weights that resume (and loading the best model)
// restores: a LoRA run's every trainable tensor by name in this file (the adapter file beside it
// is PEFT's, for users); a full fine-tune's are its model weight files.
const LORA_TRAINABLE = 'trainable.safetensors';

// The adapter_config.json keys that decide which tensors a LoRA has and what they compute
// (dropout aside): a resume under other values would load wrong or half.
const LORA_SETUP_KEYS = ['r', 'lora_alpha', 'target_modules', 'use_rslora', 'use_dora', 'rank_pattern', 'alpha_pattern', 'layers_to_transform',
  'layers_pattern', 'modules_to_save', 'bias', 'exclude_modules', 'tstorch_lora_mode'];

// What a checkpoint keeps of tstorch's own beyond HF's files: the settings resuming checks and
// the log's running sums (HF's TrainerState, in trainer_state.json, takes no keys but its own).
const TSTORCH_STATE = 'tstorch_state.json';

/** A checkpoint's PyTorch state dict file (optimizer.pt, scheduler.pt), read with torch.load's rules. */
function loadTorchState(dir: string, file: string): unknown {
  try {
    return loadTorchObject(path.join(dir, file), { mmap: true }); // (copied into the optimizer's state, then freed)
  } catch (e) {
    throw new Error(`resume: the checkpoint ${dir} is damaged (${file}: ${(e as Error).message}): resume from an earlier one`);
  }
}

/** What HF's Trainer saves of its generators (_save_rng_state): Python's and NumPy's (tstorch draws from neither), torch's. */
interface HfRngState { cpu?: unknown; cuda?: unknown }

/** Frees the tensors of an object read with torch.loadObject. */
function disposeTensorsIn(v: unknown): void {
  if (v instanceof Tensor) v.dispose();
  else if (Array.isArray(v) || v instanceof Set) for (const x of v) disposeTensorsIn(x);
  else if (v instanceof Map) for (const x of v.values()) disposeTensorsIn(x);
  else if (v && typeof v === 'object' && !Buffer.isBuffer(v)) for (const x of Object.values(v)) disposeTensorsIn(x);
}

/** Whether a checkpoint folder holds its trainable weights. */
function hasTrainableWeights(dir: string, lora: boolean): boolean {
  return lora ? fs.existsSync(path.join(dir, LORA_TRAINABLE)) : fs.existsSync(dir) && fs.readdirSync(dir).some(isModelWeightFile);
}

export function listCheckpoints(outputDir: string): string[] {
  if (!fs.existsSync(outputDir)) return [];
  return fs.readdirSync(outputDir)
    .map((n) => /^checkpoint-(\d+)$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .sort((x, y) => Number(x[1]) - Number(y[1]))
    .map((m) => path.join(outputDir, m[0]));
}

export function latestCheckpoint(outputDir: string): string {
  const all = listCheckpoints(outputDir);
  if (!all.length) throw new Error(`resume: no checkpoint-<step> folder in ${outputDir}`);
  return all[all.length - 1];
}
