// Hugging Face and TRL argument names that have no flag of their own here, so that a
// TrainingArguments file or a TRL recipe (trl sft --config recipe.yaml) runs as it is written.
// Two kinds: logistics that do not change what is trained (the hub, data-loading workers, log
// levels) are taken and named in one note; switches whose default is the only behaviour here are
// taken at that value and refused at any other, saying what to do instead.

export interface ForeignField {
  /** a boolean field (--push_to_hub, --push_to_hub=false); else it takes a value */
  boolean?: boolean;
  /** taken, with no effect here: why, for the note (empty: plain logistics) */
  noEffect?: string;
  /** Hugging Face's default value(s): given so (a TrainingArguments file lists every field), not noted */
  hfDefault?: string[];
  /** the value that is what happens here (first: its name; others: spellings of it), and what to do for another */
  only?: { value: string | string[]; otherwise: string };
  /** a boolean field that sets our flags (disable_tqdm: --progress off; use_cpu: --device cpu); its keys on true must be flags of the command */
  sets?: (on: boolean) => Record<string, boolean | string>;
}

const logistics: ForeignField = { noEffect: '' };
const logisticsFlag: ForeignField = { boolean: true, noEffect: '', hfDefault: ['false'] };
const loggedAt = (...hfDefault: string[]): ForeignField => ({ noEffect: '', hfDefault });
const flagOnByDefault: ForeignField = { boolean: true, noEffect: '', hfDefault: ['true'] };
const off = (otherwise: string): ForeignField => ({ boolean: true, only: { value: 'false', otherwise } });
const on = (otherwise: string): ForeignField => ({ boolean: true, only: { value: 'true', otherwise } });
const quantized = off('quantized base weights (bitsandbytes) are not here: train LoRA on the fp32 base');
const localFiles = off('the data is read from local files (a corpus of any size: .txt or JSON Lines)');
// ('auto' loads the checkpoint's own dtype: float32 for GPT-2)
const float32 = { only: { value: ['float32', 'auto', 'fp32', 'torch.float32'], otherwise: 'weights train in float32 here (GPT-2\'s checkpoints are float32); --bf16 computes in bfloat16' } };

/** By name with hyphens (HfArgumentParser's underscores are read as hyphens). */
export const FOREIGN_FIELDS: Record<string, ForeignField> = {
  'push-to-hub': { boolean: true, noEffect: 'nothing is uploaded from here: upload --out with huggingface-cli upload' },
  'hub-model-id': logistics, 'hub-strategy': loggedAt('every_save'), 'hub-token': loggedAt('<HUB_TOKEN>'), // (to_json_string writes the token masked)
  'hub-private-repo': logisticsFlag,
  'hub-always-push': logisticsFlag, 'hub-revision': logistics,
  'log-level': loggedAt('passive'), 'log-level-replica': loggedAt('warning'), 'log-on-each-node': flagOnByDefault, 'run-name': logistics,
  'overwrite-output-dir': { boolean: true, noEffect: 'a run writes its files into --out as it finds it; it resumes a checkpoint there only with --resume-from-checkpoint' },
  'remove-unused-columns': flagOnByDefault, 'length-column-name': loggedAt('length'), 'prediction-loss-only': logisticsFlag,
  'dataloader-num-workers': loggedAt('0'),
  'dataloader-pin-memory': flagOnByDefault, 'dataloader-persistent-workers': logisticsFlag, 'dataloader-prefetch-factor': logistics,
  'ddp-find-unused-parameters': logisticsFlag, 'save-on-each-node': logisticsFlag, 'trust-remote-code': logisticsFlag,
  'do-train': { boolean: true, noEffect: 'train trains' }, 'do-eval': { boolean: true, noEffect: 'evaluation follows --eval-strategy with --eval-data' },
  'do-predict': logisticsFlag,
  'gradient-checkpointing-kwargs': { noEffect: 'checkpointing here recomputes as use_reentrant=False does' },
  'model-init-kwargs': { only: { value: ['{}', ''], otherwise: 'the model loads as --model is (float32 weights; --attn for the attention)' } },
  'dataset-kwargs': { only: { value: ['{}', ''], otherwise: 'the data is prepared as the flags say (e.g. pre-tokenized rows with input_ids are taken as they are)' } },
  fp16: off('float16 training is not here: --bf16 (bfloat16 autocast, no loss scaling needed)'),
  'bf16-full-eval': off('evaluation runs as training does: --bf16 applies to both'),
  'torch-compile': off('there is no torch.compile in libtorch: leave it out'),
  'use-liger-kernel': off('Liger kernels are Triton code for Python: leave it out'),
  'load-in-4bit': quantized, 'load-in-8bit': quantized, 'use-bnb-nested-quant': quantized,
  'activation-offloading': off('activations stay on the device; --gradient-checkpointing saves their memory'),
  'auto-find-batch-size': off('give --batch-size (and --gradient-accumulation-steps) yourself'),
  'full-determinism': off('CPU runs repeat bit for bit already; on CUDA call torch.useDeterministicAlgorithms(true) from code'),
  'ignore-data-skip': off('a resumed run always continues the data where the checkpoint left it'),
  'padding-free': off('--packing-strategy bfd trains without padding (each example attending to itself)'),
  'dataset-streaming': localFiles,
  'disable-tqdm': { boolean: true, sets: (v) => ({ progress: !v }) },
  'use-peft': { boolean: true, sets: (v) => ({ full: !v }) }, // (TRL: LoRA only with use_peft; here LoRA is the default)
  // evaluation and tracking details that change no loss, weight or metric here
  'eval-do-concat-batches': flagOnByDefault, 'eval-use-gather-object': logisticsFlag, 'eval-accumulation-steps': logistics,
  'include-for-metrics': loggedAt(''), 'batch-eval-metrics': logisticsFlag, 'skip-memory-metrics': flagOnByDefault,
  'torch-empty-cache-steps': logistics, 'torch-compile-backend': logistics, 'torch-compile-mode': logistics, 'liger-kernel-config': logistics,
  project: loggedAt('huggingface'), 'trackio-space-id': logistics, 'trackio-bucket-id': logistics, 'trackio-static-space-id': logistics,
  'dataloader-multiprocessing-context': logistics, 'dataloader-in-order': flagOnByDefault, 'local-rank': { noEffect: 'each worker reads LOCAL_RANK as torchrun sets it', hfDefault: ['-1'] },
  'ddp-bucket-cap-mb': logistics, 'ddp-broadcast-buffers': logisticsFlag, 'ddp-static-graph': logisticsFlag, 'use-cache': logisticsFlag,
  'optim-target-modules': { noEffect: 'for GaLore-style optimizers, which are not here' },
  'fp16-full-eval': off('evaluation runs as training does: --bf16 applies to both'),
  'enable-jit-checkpoint': off('checkpoints are written at --save-steps (each whole or not at all)'),
  'restore-callback-states-from-checkpoint': off('a resumed run starts its callbacks afresh'),
  'eval-delay': { only: { value: ['0', '0.0'], otherwise: 'evaluation starts with the first --eval-steps' } },
  'train-sampling-strategy': { only: { value: 'random', otherwise: 'group_by_length: --group-by-length; an unshuffled order: the Trainer\'s shuffle: false, from code' } },
  debug: { only: { value: '', otherwise: 'HF\'s debug modes (underflow_overflow, tpu_metrics_debug) are not here' } },
  fsdp: { only: { value: '', otherwise: 'data parallel training is --nproc-per-node (DDP); FSDP shards models larger than a GPU, which GPT-2 is not' } },
  'fsdp-config': { noEffect: 'without fsdp' },
  deepspeed: { only: { value: '', otherwise: 'data parallel training is --nproc-per-node (DDP); DeepSpeed is not here' } },
  'accelerator-config': { only: { value: ['{}', ''], otherwise: 'batches are dealt out as the Trainer\'s defaults (even_batches, no split_batches)' } },
  'parallelism-config': { only: { value: ['{}', ''], otherwise: 'data parallel training is --nproc-per-node (DDP)' } },
  // TRL's ScriptArguments, ModelConfig and trainer configs
  'router-aux-loss-coef': { noEffect: 'GPT-2 is not a mixture of experts' },
  'ignore-bias-buffers': logisticsFlag, 'bnb-4bit-quant-type': logistics, 'bnb-4bit-quant-storage': logistics,
  'shuffle-dataset': off('the data is shuffled each epoch by the sampler (seeded), not once before'),
  'disable-dropout': on('the preference trainers (DPO, ORPO, KTO) run without dropout, as TRL\'s default; SFT keeps the model\'s'),
  datasets: { only: { value: '', otherwise: 'one dataset: --data (a file, a folder of files, or a cached dataset id); mix them into one folder or file first' } },
  'test-split-size': { only: { value: '', otherwise: 'evaluate on --eval-data, --dataset-test-split, or --validation-split-percentage (the first N% held out)' } },
  'lora-target-parameters': { only: { value: '', otherwise: 'LoRA on parameters (MoE experts) is not here: --lora-targets names modules' } },
  streaming: localFiles,
  // DPOConfig's without a flag here (its loss settings are flags of train and eval)
  'precompute-ref-batch-size': logistics,
  'use-cpu': { boolean: true, sets: (v): Record<string, string> => (v ? { device: 'cpu' } : {}) },
  'average-tokens-across-devices': on('a step\'s loss is the mean over all its tokens across ranks (num_items_in_batch)'),
  'torch-dtype': float32, dtype: float32,
  'lora-task-type': { only: { value: 'CAUSAL_LM', otherwise: 'the task follows --task (text-classification: SEQ_CLS, token-classification: TOKEN_CLS)' } },
};

/** Whether a value is the one a field takes here. */
export function foreignValueMatches(field: ForeignField, value: string): boolean {
  return !field.only || ([] as string[]).concat(field.only.value).includes(value);
}

/** The name of the value a field takes here (for messages). */
export const foreignValueName = (field: ForeignField): string => ([] as string[]).concat(field.only?.value ?? '')[0] || '(empty)';
