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
  /** the one value that is what happens here, and what to do for another */
  only?: { value: string; otherwise: string };
  /** a boolean field that is one of our flags turned around (disable_tqdm: --progress off) */
  sets?: (on: boolean) => Record<string, boolean>;
}

const logistics: ForeignField = { noEffect: '' };
const logisticsFlag: ForeignField = { boolean: true, noEffect: '' };
const off = (otherwise: string): ForeignField => ({ boolean: true, only: { value: 'false', otherwise } });
const on = (otherwise: string): ForeignField => ({ boolean: true, only: { value: 'true', otherwise } });

/** By name with hyphens (HfArgumentParser's underscores are read as hyphens). */
export const FOREIGN_FIELDS: Record<string, ForeignField> = {
  'push-to-hub': { boolean: true, noEffect: 'nothing is uploaded from here: upload --out with huggingface-cli upload' },
  'hub-model-id': logistics, 'hub-strategy': logistics, 'hub-token': logistics, 'hub-private-repo': logisticsFlag,
  'hub-always-push': logisticsFlag, 'hub-revision': logistics,
  'log-level': logistics, 'log-level-replica': logistics, 'log-on-each-node': logisticsFlag, 'run-name': logistics,
  'overwrite-output-dir': { boolean: true, noEffect: 'a run writes its files into --out as it finds it; it resumes a checkpoint there only with --resume-from-checkpoint' },
  'remove-unused-columns': logisticsFlag, 'length-column-name': logistics, 'prediction-loss-only': logisticsFlag,
  'dataset-num-proc': logistics, 'preprocessing-num-workers': logistics, 'dataloader-num-workers': logistics,
  'dataloader-pin-memory': logisticsFlag, 'dataloader-persistent-workers': logisticsFlag, 'dataloader-prefetch-factor': logistics,
  'ddp-find-unused-parameters': logisticsFlag, 'save-on-each-node': logisticsFlag, 'trust-remote-code': logisticsFlag,
  'do-train': { boolean: true, noEffect: 'train trains' }, 'do-eval': { boolean: true, noEffect: 'evaluation follows --eval-strategy with --eval-data' },
  'do-predict': logisticsFlag,
  'gradient-checkpointing-kwargs': { noEffect: 'checkpointing here recomputes as use_reentrant=False does' },
  'model-init-kwargs': logistics, 'dataset-kwargs': logistics,
  fp16: off('float16 training is not here: --bf16 (bfloat16 autocast, no loss scaling needed)'),
  'bf16-full-eval': off('evaluation runs as training does: --bf16 applies to both'),
  'torch-compile': off('there is no torch.compile in libtorch: leave it out'),
  'use-liger-kernel': off('Liger kernels are Triton code for Python: leave it out'),
  'load-in-4bit': off('quantized base weights (bitsandbytes) are not here: train LoRA on the fp32 base'),
  'load-in-8bit': off('quantized base weights (bitsandbytes) are not here: train LoRA on the fp32 base'),
  'use-bnb-nested-quant': off('quantized base weights (bitsandbytes) are not here'),
  'activation-offloading': off('activations stay on the device; --gradient-checkpointing saves their memory'),
  'auto-find-batch-size': off('give --batch-size (and --gradient-accumulation-steps) yourself'),
  'full-determinism': off('CPU runs repeat bit for bit already; on CUDA call torch.useDeterministicAlgorithms(true) from code'),
  'ignore-data-skip': off('a resumed run always continues the data where the checkpoint left it'),
  'padding-free': off('--packing-strategy bfd trains without padding (each example attending to itself)'),
  'dataset-streaming': off('the data is read from local files (a corpus of any size: .txt or JSON Lines)'),
  'disable-tqdm': { boolean: true, sets: (v) => ({ progress: !v }) },
  'use-peft': { boolean: true, sets: (v) => ({ full: !v }) }, // (TRL: LoRA only with use_peft; here LoRA is the default)
  'use-cpu': { boolean: true, noEffect: 'the device is --device (cpu by default)' },
  'save-safetensors': on('checkpoints and outputs are safetensors (what from_pretrained reads first)'),
  'average-tokens-across-devices': on('a step\'s loss is the mean over all its tokens across ranks (num_items_in_batch)'),
  'torch-dtype': { only: { value: 'float32', otherwise: 'weights train in float32 here (GPT-2\'s checkpoints are float32); --bf16 computes in bfloat16' } },
  dtype: { only: { value: 'float32', otherwise: 'weights train in float32 here (GPT-2\'s checkpoints are float32); --bf16 computes in bfloat16' } },
  'lora-task-type': { only: { value: 'CAUSAL_LM', otherwise: 'the task follows --task (text-classification: SEQ_CLS, token-classification: TOKEN_CLS)' } },
};

/** torch_dtype 'auto' loads the checkpoint's own dtype: float32 for GPT-2. */
export function foreignValueMatches(field: ForeignField, value: string): boolean {
  if (!field.only) return true;
  if (field.only.value === 'float32') return ['float32', 'auto', 'fp32', 'torch.float32'].includes(value);
  return value === field.only.value;
}
