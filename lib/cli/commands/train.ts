// tstorch train: LoRA (default) or full fine-tuning of GPT-2 on a text or CSV file (language
// modeling, DPO on preference pairs, or text classification on labelled texts).
import * as fs from 'fs';
import * as path from 'path';
import * as torch from '../../index';
import { flagGiven, Parsed, Spec } from '../args';
import { attnFlag, chatOf, chatTemplateOf, checkDevice, classificationDataset, CPO_FLAGS, cpoArguments, DPO_LOSS_FLAGS, datasetSources, dataFlags, dpoLoss, ktoDataset, labelNames, loadDataset, preferenceDataset, preferenceLossFlags, quietHead, sharedFlags, tagColumns, tokenClassificationDataset, tokenizerDir, tokenizerFromFlags, truncationFlags, truncationOptions } from './common';
import { launch, stripLaunchFlags } from '../launch';
import { saveTokenizerFiles } from '../../models/tokenizer';
import { notInCacheHint, readAdapterConfigFile, repoIdOf } from '../../io/hub';
import { adapterHeadSize } from '../../models/sequence_classification';
import { isJsonObject } from '../../io/json';
import { SUMMARIES } from '../summaries';

export const summary = SUMMARIES.train;
export const spec: Spec = {
  model: { type: 'string', required: true, help: 'base Hugging Face GPT-2 folder, or a hub id (gpt2) already in the Hugging Face cache', aliases: ['model-name-or-path'] },
  revision: sharedFlags.revision,
  'chat-template': sharedFlags['chat-template'],
  'dataset-config-name': sharedFlags['dataset-config-name'],
  tokenizer: sharedFlags.tokenizer,
  data: { type: 'string', required: true, help: 'training .txt, a .csv with an Article column (the notebook\'s Articles.csv), or a .jsonl or .parquet (a Hugging Face dataset\'s files) with a text field (or prompt and completion fields; or the task\'s fields); or a folder of them; or a dataset id in the Hugging Face cache (ID, ID:SPLIT)', aliases: ['train-file', 'dataset-name'] },
  out: { type: 'string', required: true, help: 'output folder: adapter or model files, checkpoints, metrics.jsonl, loss.svg', aliases: ['output-dir'] },
  adapter: { type: 'string', help: 'continue training this PEFT adapter (a folder or a hub id in the Hugging Face cache; PEFT\'s PeftModel.from_pretrained(base, adapter, is_trainable=True)): its LoRA settings, weights and (a classifier\'s) head and labels; the LoRA flags are its own; DPO and KTO measure against the model it starts as' },
  'lora-r': { type: 'int', default: 8, help: 'LoRA rank' },
  'lora-alpha': { type: 'number', default: 16, help: 'LoRA alpha (scaling alpha/r)' },
  'lora-dropout': { type: 'number', default: 0.05, help: 'dropout on the LoRA branch' },
  'lora-targets': { type: 'string', default: 'c_attn,c_proj,c_fc', help: 'comma-separated module names (attn.c_proj, mlp.c_proj qualify; wte: the token embedding), or all-linear', aliases: ['lora-target-modules', 'target-modules'] },
  'lora-mode': { type: 'string', default: 'peft', help: 'peft | seed (the notebook\'s exact wrapper)' },
  'lora-bias': { type: 'string', default: 'none', help: 'none | all | lora_only' },
  'layers-to-transform': { type: 'string', help: 'LoRA in these blocks only, e.g. 10,11 (PEFT\'s layers_to_transform)' },
  'exclude-modules': { type: 'string', help: 'comma-separated module names or suffixes never wrapped, e.g. h.0.attn.c_attn (PEFT\'s exclude_modules)' },
  'rank-pattern': { type: 'string', help: 'per-layer ranks as a JSON object, PEFT\'s rank_pattern: \'{"c_fc": 16, "h\\\\.11\\\\..*": 4}\'' },
  'alpha-pattern': { type: 'string', help: 'per-layer alphas as a JSON object, PEFT\'s alpha_pattern' },
  'init-lora-weights': { type: 'string', default: 'true', help: 'PEFT\'s init_lora_weights: true (B zeros), gaussian, false (B random too), pissa (A, B from the weights\' top singular vectors; the base keeps the rest), pissa_niter_K' },
  rslora: { type: 'boolean', help: 'scale by alpha/sqrt(r)', aliases: ['use-rslora'] },
  'use-dora': { type: 'boolean', help: 'DoRA (PEFT\'s use_dora): a trained magnitude per output besides A and B' },
  'lora-modules-to-save': { type: 'string', help: 'comma-separated modules trained whole beside LoRA and saved into the adapter, e.g. ln_f (PEFT\'s modules_to_save; not the tied wte / lm_head)', aliases: ['modules-to-save'] },
  full: { type: 'boolean', help: 'full fine-tuning instead of LoRA' },
  epochs: { type: 'number', default: 3, help: 'training epochs', aliases: ['num-train-epochs'] },
  'max-steps': { type: 'int', default: -1, help: 'stop after this many steps (overrides --epochs)' },
  'batch-size': { type: 'int', default: 8, help: 'blocks (or examples) per micro-batch (per process)', aliases: ['per-device-train-batch-size'] },
  'gradient-checkpointing': { type: 'boolean', help: 'recompute each block in backward instead of keeping its activations (less memory, ~1 more forward)' },
  'gradient-accumulation-steps': { type: 'int', default: 1, help: 'micro-batches per optimizer step (a step sees batch-size x this many blocks per process)' },
  'block-size': { type: 'int', default: 128, help: 'tokens per block (without packing: an example\'s maximum length)', aliases: ['max-seq-length', 'max-length'] },
  lr: { type: 'number', default: 5e-5, help: 'peak learning rate', aliases: ['learning-rate'] },
  'weight-decay': { type: 'number', default: 0, help: 'weight decay (not on biases/LayerNorm): decoupled for AdamW, an L2 term for the others' },
  optim: { type: 'string', default: 'adamw_torch', help: 'optimizer, by HF\'s names: adamw_torch | adamw_torch_fused | adafactor | sgd | adagrad | rmsprop' },
  'optim-args': { type: 'string', help: 'the optimizer\'s other options, HF\'s optim_args: "momentum=0.9,nesterov=true" (sgd), lr_decay (adagrad), alpha, momentum, centered (rmsprop), beta1, clip_threshold (adafactor)' },
  'loraplus-lr-ratio': { type: 'number', help: 'LoRA+: LoRA\'s B factors learn at --lr x this, its A factors at --lr (PEFT\'s create_loraplus_optimizer; the paper suggests 16)' },
  'loraplus-lr-embedding': { type: 'number', help: 'with --loraplus-lr-ratio: the lr of LoRA on embeddings (default 1e-6)' },
  'adam-beta1': { type: 'number', default: 0.9, help: 'AdamW beta1' },
  'adam-beta2': { type: 'number', default: 0.999, help: 'AdamW beta2' },
  'adam-epsilon': { type: 'number', default: 1e-8, help: 'AdamW epsilon' },
  'warmup-steps': { type: 'int', default: 0, help: 'linear warmup steps' },
  'warmup-ratio': { type: 'number', default: 0, help: 'warmup over this fraction of the steps (when --warmup-steps is 0)' },
  'lr-scheduler': { type: 'string', default: 'linear', help: 'linear | cosine | cosine_with_restarts | polynomial | constant | constant_with_warmup | inverse_sqrt | cosine_with_min_lr | cosine_warmup_with_min_lr | warmup_stable_decay | reduce_lr_on_plateau (on the eval loss; needs --eval-data) (HF\'s names)', aliases: ['lr-scheduler-type'] },
  'lr-scheduler-kwargs': { type: 'string', help: 'the schedule\'s options as a JSON object (HF\'s lr_scheduler_kwargs), e.g. \'{"num_cycles": 2}\': num_cycles, lr_end, power, timescale, min_lr, min_lr_rate, warmup_lr_rate; num_decay_steps, num_stable_steps, warmup_type, decay_type, min_lr_ratio (warmup_stable_decay); mode, factor, patience, threshold, threshold_mode, cooldown, min_lr, eps (reduce_lr_on_plateau)' },
  'label-smoothing-factor': { type: 'number', default: 0, help: 'label smoothing of the training loss (HF\'s label_smoothing_factor; eval loss stays plain cross-entropy)' },
  'max-grad-norm': { type: 'number', default: 1, help: 'gradient clipping (0: off)' },
  seed: { type: 'int', default: 42, help: 'random seed' },
  'data-seed': { type: 'int', help: 'seed of the data order alone (HF\'s data_seed; default --seed)' },
  'include-num-input-tokens-seen': { type: 'boolean', values: ['all', 'non_padding', 'no'], help: 'log num_input_tokens_seen, the input tokens trained on so far (HF\'s include_num_input_tokens_seen): the bare flag (=all) counts the batches\' padding too, as HF\'s true; =non_padding the real tokens only' },
  'save-only-model': { type: 'boolean', help: 'checkpoints with the weights alone: smaller, but they cannot resume a run (HF\'s save_only_model)' },
  'save-on-interrupt': { type: 'boolean', default: true, help: 'Ctrl-C or SIGTERM while training: the step in progress finishes and its checkpoint is written, then the run stops (exit 130 or 143; resume with --resume-from-checkpoint latest); again after a second: stop at once. --no-save-on-interrupt: stop at once' },
  'save-safetensors': { type: 'boolean', default: true, help: 'the adapter or model as safetensors (default); --no-save-safetensors (HF\'s save_safetensors false) writes adapter_model.bin / pytorch_model.bin for tools that read only those' },
  'logging-steps': { type: 'number', default: 50, help: 'log every N steps (below 1: that fraction of the run\'s steps, as HF)' },
  'logging-strategy': { type: 'string', default: 'steps', help: 'steps (every --logging-steps), epoch (each epoch\'s end) or no; the last step is always logged' },
  'logging-first-step': { type: 'boolean', help: 'log the first step too (HF\'s logging_first_step)' },
  'logging-nan-inf-filter': { type: 'boolean', default: true, help: 'a step with a NaN or infinite loss counts in the logged loss as the mean of its window so far (HF\'s logging_nan_inf_filter; --no-logging-nan-inf-filter logs it as it came)' },
  'report-to': { type: 'string', default: 'none', help: 'where the log lines go besides metrics.jsonl: tensorboard (event files in --logging-dir; view with tensorboard --logdir), all, or none' },
  'logging-dir': { type: 'string', help: 'TensorBoard folder (default <out>/runs/<time>_<host>, as HF\'s)' },
  'save-steps': { type: 'number', default: 500, help: 'checkpoint every N steps (0: never; below 1: that fraction of the run\'s steps)' },
  'save-total-limit': { type: 'int', help: 'keep only the newest N checkpoints' },
  'save-strategy': { type: 'string', default: 'steps', help: 'steps (every --save-steps), epoch (each epoch\'s end) or no' },
  'eval-strategy': { type: 'string', default: 'steps', help: 'with --eval-data: steps (every --eval-steps), epoch or no', aliases: ['evaluation-strategy'] },
  'eval-data': { type: 'string', help: 'held-out .txt/.csv/.jsonl/.parquet for eval loss and perplexity (read as --data is)', aliases: ['validation-file'] },
  'max-train-samples': { type: 'int', help: 'train on the first N examples only (HF\'s max_train_samples: of a packed text, its first N blocks), for a quick run' },
  'max-eval-samples': { type: 'int', help: 'evaluate on the first N examples (or blocks) of the evaluation data only (HF\'s max_eval_samples)' },
  'validation-split-percentage': { type: 'number', help: 'without --eval-data: hold out the first N% of --data\'s blocks (or examples) for evaluation (HF run_clm\'s)' },
  'eval-on-start': { type: 'boolean', help: 'with --eval-data: evaluate before the first step too (HF\'s eval_on_start): the base model\'s loss and perplexity in metrics.jsonl' },
  'eval-steps': { type: 'number', help: 'evaluate every N steps (default: logging steps; below 1: that fraction of the run\'s steps)' },
  'eval-batch-size': { type: 'int', default: 8, help: 'blocks (or examples) per evaluation batch', aliases: ['per-device-eval-batch-size'] },
  'load-best-model-at-end': { type: 'boolean', help: 'end with the weights of the lowest eval loss (kept past --save-total-limit); needs --eval-data, checkpoints at evaluations' },
  'metric-for-best-model': { type: 'string', default: 'loss', help: 'what --load-best-model-at-end, early stopping and reduce_lr_on_plateau judge by: loss, perplexity or accuracy; for a tagger with entity tags also f1, precision or recall (HF\'s metric_for_best_model)' },
  'greater-is-better': { type: 'boolean', help: 'the metric is better higher (default, as HF: unless its name ends in loss; give --no-greater-is-better for perplexity)' },
  'early-stopping-patience': { type: 'int', help: 'stop after this many evaluations in a row without a lower eval loss (needs --eval-data)' },
  'early-stopping-threshold': { type: 'number', default: 0, help: 'how much lower the eval loss must be to count as better' },
  task: { type: 'string', default: 'auto', help: 'causal-lm (language modeling: the default for a language model\'s folder), text-classification (GPT2ForSequenceClassification on labelled texts, HF\'s run_classification; the default for a classifier\'s folder) reward-modeling (a one-output classifier on chosen / rejected pairs, TRL\'s RewardTrainer; the default for a classifier\'s folder and such pairs) or token-classification (GPT2ForTokenClassification on {tokens, tags} lines, HF\'s run_ner; the default for a token classifier\'s folder)' },
  'label-names': { type: 'string', help: 'integer labels or tags (a Hugging Face dataset\'s ClassLabel ids, as sst2\'s label or conll2003\'s ner_tags): their names in id order, comma-separated (negative,positive or O,B-PER,I-PER,...)' },
  'label-column': { type: 'string', help: 'text-classification: the labels\' field of a .jsonl (or column of a .csv; default label): a class, a number (regression) or a list of classes (multi-label); token-classification: the tags\' field (default tags, ner_tags or pos_tags)', aliases: ['label-column-name'] },
  'center-rewards-coefficient': { type: 'number', help: 'reward modeling: weight of mean((r(chosen) + r(rejected))^2) in the loss, keeping rewards near 0 (TRL\'s center_rewards_coefficient; default none)' },
  'problem-type': { type: 'string', help: 'text-classification: regression, single_label_classification or multi_label_classification (HF\'s problem_type; default from the labels)' },
  cleaning: sharedFlags.cleaning,
  'dataset-num-proc': sharedFlags['dataset-num-proc'],
  'dataset-cache': sharedFlags['dataset-cache'],
  'overwrite-cache': sharedFlags['overwrite-cache'],
  'text-column': sharedFlags['text-column'],
  'text-column-delimiter': sharedFlags['text-column-delimiter'],
  packing: sharedFlags.packing,
  'packing-strategy': sharedFlags['packing-strategy'],
  'completion-only-loss': sharedFlags['completion-only-loss'],
  'assistant-only-loss': sharedFlags['assistant-only-loss'],
  'eval-packing': { type: 'boolean', help: 'TRL\'s eval_packing: --no-eval-packing reads --eval-data as separate examples (padded) while training packs (default: as --packing)' },
  'pad-to-multiple-of': { type: 'int', help: 'separate examples: pad each batch to a multiple of this many tokens (TRL\'s and HF\'s pad_to_multiple_of: GPU-friendly shapes; the loss is the same)' },
  'eos-token': sharedFlags['eos-token'],
  'pad-token': { type: 'string', help: 'TRL\'s pad_token: GPT-2 has none and pads with its eos (--eos-token\'s), the one value taken (padding is never learned)' },
  'dataset-train-split': { type: 'string', help: '--data given as a dataset id: the split to train on (TRL\'s dataset_train_split; default train)' },
  'dataset-test-split': { type: 'string', help: '--data given as a dataset id, no --eval-data: evaluate on this split of it (TRL\'s dataset_test_split)' },
  method: { type: 'string', default: 'dpo', help: 'preference data (a .jsonl of prompt, chosen, rejected): dpo (TRL\'s DPOTrainer, against a reference), orpo (TRL\'s ORPOTrainer: the chosen completions\' NLL and an odds-ratio penalty, no reference), cpo (TRL\'s CPOTrainer: a DPO-like loss without a reference, and the chosen NLL), simpo (CPO\'s simpo loss, no NLL: SimPO) or kto (TRL\'s KTOTrainer on the pairs unpaired); unpaired data (prompt, completion, label) trains with kto' },
  beta: { type: 'number', default: 0.1, help: 'DPO (preference data: a .jsonl of prompt, chosen, rejected): how far the policy may move from the reference (TRL\'s beta; KTO\'s too); ORPO: the odds-ratio term\'s weight' },
  'loss-type': { type: 'string', help: 'TRL\'s loss_type: for preference pairs the DPO loss, sigmoid (default) | robust | exo_pair | hinge | ipo | nca_pair | sppo_hard | aot | aot_pair | apo_zero | apo_down | discopop | bco_pair | sft, or several comma-separated, their losses added (TRL\'s MPO: sigmoid,bco_pair,sft); for SFT data nll (default) | dft (Dynamic Fine-Tuning: each token\'s loss weighted by its probability)' },
  'dpo-label-smoothing': { type: 'number', default: 0, help: 'DPO sigmoid loss: the chance a pair\'s preference is flipped (TRL\'s label_smoothing, cDPO)', aliases: ['label-smoothing'] },
  'use-logits-to-keep': { type: 'boolean', help: 'DPO: the LM head only from the batch\'s first completion token on (TRL\'s use_logits_to_keep): the same losses, less time and memory with long prompts' },
  'sync-ref-model': { type: 'boolean', help: 'DPO with --full: TR-DPO (TRL\'s sync_ref_model), the reference moved toward the policy every --ref-model-sync-steps steps, ref = (1 - a) ref + a policy' },
  'ref-model-mixup-alpha': { type: 'number', help: 'TR-DPO\'s a (TRL\'s ref_model_mixup_alpha, default 0.6)' },
  'ref-model-sync-steps': { type: 'int', help: 'TR-DPO: the steps between syncs (TRL\'s ref_model_sync_steps, default 512)' },
  ...preferenceLossFlags,
  ...truncationFlags,
  'precompute-ref-log-probs': { type: 'boolean', help: 'DPO and KTO: the reference\'s log-probabilities of every pair (example) computed once, before training, instead of reference passes each step (TRL\'s precompute_ref_log_probs)' },
  'neftune-noise-alpha': { type: 'number', default: 0, help: 'NEFTune: uniform noise of this scale on the token embeddings while training (HF\'s neftune_noise_alpha; 5 is usual; 0: off)' },
  'dataloader-drop-last': { type: 'boolean', help: 'train on whole batches only: each epoch\'s last short batch is left out (HF\'s dataloader_drop_last; evaluation still reads everything)' },
  'group-by-length': { type: 'boolean', help: 'without packing: batch examples of similar lengths together (HF\'s group_by_length; less padding)' },
  device: sharedFlags.device,
  attn: sharedFlags.attn,
  precision: { type: 'string', default: 'fp32', help: 'fp32 | bf16 (bfloat16 autocast for the forward pass)' },
  bf16: { type: 'boolean', help: 'HF\'s --bf16: the same as --precision bf16' },
  tf32: { type: 'boolean', help: 'CUDA: TF32 tensor cores for float32 matmuls (HF\'s --tf32; faster, ~10-bit mantissa products)' },
  'resume-from-checkpoint': { type: 'string', help: 'a checkpoint-<step> folder (tstorch\'s, or a Hugging Face Trainer\'s with the same LoRA settings), or "latest" in --out' },
  progress: { type: 'boolean', help: 'force the progress bar on (default: on a terminal)' },
  'nproc-per-node': { type: 'int', default: 1, help: 'data-parallel worker processes on this machine (see --dist-backend)' },
  mmap: { ...sharedFlags.mmap, help: 'the --model weights mapped from their file (torch.load\'s mmap=True), not read into each process: on the CPU, the workers of --nproc-per-node share one copy of the frozen base (with LoRA), and loading is instant; the file must not be rewritten in place while training' },
  nnodes: { type: 'int', default: 1, help: 'machines taking part' },
  'node-rank': { type: 'int', default: 0, help: 'this machine\'s index among them' },
  'master-addr': { type: 'string', default: '127.0.0.1', help: 'address of the rank-0 machine' },
  'master-port': { type: 'int', default: 29500, help: 'rendezvous port on it' },
  'dist-timeout': { type: 'int', default: 60, help: 'seconds a worker waits for a peer before failing', aliases: ['ddp-timeout'] },
  'dist-backend': { type: 'string', default: 'auto', help: 'gloo, nccl, or auto: nccl when training on CUDA in a build that has it, else gloo', aliases: ['ddp-backend'] },
};

export async function run(f: Record<string, unknown>, argv: string[] = []): Promise<number | void> {
  const nproc = f['nproc-per-node'] as number, nnodes = f.nnodes as number;
  if (nproc < 1 || nnodes < 1) throw new Error('--nproc-per-node and --nnodes must be >= 1');
  checkFlags(f);
  checkPaths(f);
  if ((nproc > 1 || nnodes > 1) && process.env.RANK === undefined) {
    // The launcher: start the workers (this same command, as ranks) and wait for them.
    const { code, interrupted } = await launch(path.join(__dirname, '..', 'main.js'), ['train', ...stripLaunchFlags(argv)], {
      nprocPerNode: nproc, nnodes, nodeRank: f['node-rank'] as number, masterAddr: f['master-addr'] as string, masterPort: f['master-port'] as number,
    });
    if (interrupted) return code; // (rank 0 said where its checkpoint is)
    if (code !== 0) throw new Error(`a worker failed (exit ${code}); all workers were stopped`);
    return;
  }
  // Each local worker on CUDA takes its own GPU (cuda:LOCAL_RANK), as under torchrun.
  if (torch.distributed.launchedDistributed() && f.device === 'cuda' && process.env.LOCAL_RANK) f.device = `cuda:${process.env.LOCAL_RANK}`;
  const onCuda = (f.device as string).startsWith('cuda');
  const backendFlag = f['dist-backend'] as string;
  if (torch.distributed.launchedDistributed()) {
    const backend = backendFlag === 'auto' ? (onCuda && torch.distributed.isNcclAvailable() ? 'nccl' : 'gloo') : (backendFlag as 'gloo' | 'nccl');
    torch.distributed.initProcessGroup({ backend, timeoutMs: (f['dist-timeout'] as number) * 1000 });
  }
  const main = torch.distributed.getRank() === 0;
  const r = f['lora-r'] as number, patience = f['early-stopping-patience'] as number | undefined;
  checkDevice(f.device as string);
  if (f.tf32) {
    if (!onCuda) throw new Error('--tf32 applies to CUDA matmuls: use it with --device cuda');
    torch.cuda.setAllowTF32(true);
  }
  torch.keepFreedCpuMemory(); // CPU training reuses its large buffers (RSS stays at its peak)
  const modelDir = f.model as string;
  const adapterBase = torch.io.adapterBaseModel(modelDir);
  if (adapterBase !== undefined) {
    throw new Error(`--model ${modelDir} is a PEFT adapter (on ${adapterBase}), not a model to train: give its base (--model ${adapterBase}), with --adapter ${modelDir} to train this adapter further; a run's checkpoint goes on with --resume-from-checkpoint`);
  }
  const adapter = f.adapter as string | undefined;
  const adapterConfig = adapter === undefined ? undefined : startingAdapter(f, adapter);
  const task = taskOf(f, modelDir, adapterConfig), classify = task === 'text-classification', rewardModeling = task === 'reward-modeling', tagging = task === 'token-classification';
  if (f['label-names'] !== undefined && !tagging && !classify) throw new Error('--label-names names integer labels: it is for --task text-classification or token-classification');
  if (f['text-column-delimiter'] !== undefined && !classify) throw new Error('--text-column-delimiter joins several text columns for --task text-classification');
  if (f['problem-type'] !== undefined && !classify) throw new Error(`--problem-type is text classification's (regression, single- or multi-label): it is for --task text-classification (this run is ${task})`);
  if (f['center-rewards-coefficient'] !== undefined && !rewardModeling) throw new Error(`--center-rewards-coefficient is for a reward model (--task reward-modeling, on chosen / rejected pairs); this run is ${task}`);
  if (f['label-column'] !== undefined && !tagging && !classify) throw new Error(`--label-column names the labels' field: it is for --task text-classification or token-classification (this run is ${task})`);
  let model: torch.GPT2LMHeadModel | torch.GPT2ForSequenceClassification | torch.GPT2ForTokenClassification;
  let data: torch.data.TextDataset | torch.data.ExampleDataset | torch.data.PackedExampleDataset | torch.data.PreferenceDataset | torch.data.KTODataset | torch.data.ClassificationDataset | torch.data.RewardDataset | torch.data.TokenClassificationDataset;
  let evalData: typeof data | undefined;
  // Preference data (prompt, chosen, rejected) trains with DPO; labelled texts a classifier; anything else a language model.
  const lm = task === 'causal-lm';
  const prefs = lm ? preferenceData(f) : null;
  const kto = lm ? ktoData(f, prefs) : null;
  if (lm && !prefs && torch.data.readRewardPairs(f.data as string, chatOf(f))) {
    throw new Error(`${f.data} holds chosen / rejected pairs without a prompt: DPO needs a prompt in each; to train a reward model on them give --task reward-modeling`);
  }
  if (!prefs && !kto) {
    // (refused, not ignored: they would change nothing here)
    if (f['truncation-mode'] !== 'keep_start') throw new Error(`--truncation-mode ${f['truncation-mode']} is for DPO and KTO data (TRL 0.x's keep_end); other data keeps each example's start, as TRL's SFT`);
    for (const k of ['max-prompt-length', 'max-completion-length']) if (f[k] !== undefined) throw new Error(`--${k} is for DPO and KTO data (prompt, chosen, rejected; or prompt, completion, label); ${f.data} holds neither`);
    const notHere = lm ? `${f.data} holds none` : `this run is ${task}`;
    for (const k of PAIR_FLAGS) if (f[k] !== undefined && f[k] !== false) throw new Error(`--${k} is for preference pairs (prompt, chosen, rejected); ${notHere}`);
    // (these have defaults: refused when given)
    if (flagGiven(f as Parsed, 'dpo-label-smoothing')) throw new Error(`--dpo-label-smoothing is for preference pairs (prompt, chosen, rejected); ${notHere}`);
    for (const k of ['method', 'beta']) if (flagGiven(f as Parsed, k)) throw new Error(`--${k} is for preference pairs (prompt, chosen, rejected) or KTO's examples (prompt, completion, label); ${notHere}`);
  }
  if (f['assistant-only-loss'] && (!lm || prefs || kto)) {
    throw new Error(`--assistant-only-loss is SFT's (TRL's assistant_only_loss): conversations as messages, or prompt and completion; not ${!lm ? `--task ${task}` : 'preference or KTO data'}`);
  }
  if (!lm || prefs || kto) {
    // how SFT reads its texts and examples; the other kinds are read as they are
    const kind = !lm ? `--task ${task}` : prefs ? 'preference pairs' : 'KTO examples';
    if (f.cleaning !== undefined) throw new Error(`--cleaning is for a language model's texts; not ${kind}`);
    if (f['packing-strategy'] !== undefined) throw new Error(`--packing-strategy is for a language model's texts and examples (SFT); not ${kind}`);
    for (const k of ['packing', 'eval-packing', 'completion-only-loss']) if (flagGiven(f as Parsed, k)) throw new Error(`--${k} is for a language model's texts and examples (SFT); not ${kind}`);
  }
  // TRL's pad_token: GPT-2 has none, and pads with the eos token (--eos-token's, where given), the one value taken
  const padToken = f['pad-token'] as string | undefined, eos = padToken === undefined ? undefined : tokenizerFromFlags(f).eosToken;
  if (padToken !== undefined && padToken !== eos) {
    throw new Error(`--pad-token ${padToken}: batches are padded with the eos token ${eos} here (GPT-2 has no pad token; padding is never learned); --eos-token sets another eos, and with it the padding`);
  }
  if (classify) {
    [model, data, evalData] = await classifierAndData(f, modelDir, adapterConfig);
  } else if (rewardModeling) {
    [model, data, evalData] = await rewardModelAndData(f, modelDir);
  } else if (tagging) {
    [model, data, evalData] = await tokenClassifierAndData(f, modelDir, adapterConfig);
  } else if (kto) {
    model = await torch.GPT2LMHeadModel.fromPretrained(modelDir, { attnImplementation: attnFlag(f), mmap: Boolean(f.mmap) });
    data = ktoDataset(f.data as string, kto[0], f, model, kto[2]);
    evalData = kto[1] ? ktoDataset(f['eval-data'] as string, kto[1], f, model, kto[2]) : undefined;
  } else if (prefs) {
    model = await torch.GPT2LMHeadModel.fromPretrained(modelDir, { attnImplementation: attnFlag(f), mmap: Boolean(f.mmap) });
    data = preferenceDataset(f.data as string, prefs[0], f, model, prefs[2]);
    evalData = prefs[1] ? preferenceDataset(f['eval-data'] as string, prefs[1], f, model, prefs[2]) : undefined;
  } else {
    model = await torch.GPT2LMHeadModel.fromPretrained(modelDir, { attnImplementation: attnFlag(f), mmap: Boolean(f.mmap) });
    data = loadDataset(f.data as string, f['block-size'] as number, model, dataFlags(f));
    // (TRL's eval_packing false: the eval set as separate, padded examples; true or unset: as training reads data)
    const evalFlags = { ...(f['eval-packing'] === false ? { ...dataFlags(f), packing: false, packingStrategy: undefined } : dataFlags(f)), scored: true };
    evalData = f['eval-data'] ? loadDataset(f['eval-data'] as string, f['block-size'] as number, model, evalFlags) : undefined;
    const split = f['validation-split-percentage'] as number | undefined;
    if (split !== undefined) [data, evalData] = torch.data.holdOutFirst(data, split);
  }
  // HF's max_train_samples / max_eval_samples: the first N examples (a packed text's first N blocks, as run_clm)
  data = firstSamples(data, f['max-train-samples'] as number | undefined, '--max-train-samples');
  if (evalData) evalData = firstSamples(evalData, f['max-eval-samples'] as number | undefined, '--max-eval-samples');
  else if (f['max-eval-samples'] !== undefined) throw new Error('--max-eval-samples cuts the evaluation data: give --eval-data (or --validation-split-percentage)');
  const multiple = f['pad-to-multiple-of'] as number | undefined;
  if (multiple !== undefined) {
    const blockSize = f['block-size'] as number, padded = Math.ceil(blockSize / multiple) * multiple;
    if (padded > model.config.n_positions) throw new Error(`--pad-to-multiple-of ${multiple}: a batch of --block-size ${blockSize} would be padded to ${padded} tokens, past the model's n_positions (${model.config.n_positions})`);
    for (const d of [data, evalData]) if (d instanceof torch.data.ExampleDataset) d.padToMultipleOf = multiple;
  }
  // TRL's trainers (SFT on separate examples, DPO, ORPO, KTO, reward modeling) pad with the eos and
  // say so: the saved tokenizer's pad_token, and a causal LM's pad_token_id (config.json and
  // generation_config.json of a full fine-tune). Packed text (run_clm, the notebook) has no padding.
  const pads = data instanceof torch.data.ExampleDataset || data instanceof torch.data.PackedExampleDataset || data instanceof torch.data.PreferenceDataset || data instanceof torch.data.KTODataset || data instanceof torch.data.RewardDataset;
  const eosTok = tokenizerFromFlags(f);
  if (pads && model instanceof torch.GPT2LMHeadModel) (model.config as { pad_token_id?: number }).pad_token_id = eosTok.eosTokenId;
  // Seeded before LoRA's init too (as HF's set_seed before get_peft_model): runs repeat exactly.
  torch.manualSeed(f.seed as number);
  const orpo = data instanceof torch.data.PreferenceDataset && f.method === 'orpo';
  const cpo = data instanceof torch.data.PreferenceDataset && (f.method === 'cpo' || f.method === 'simpo');
  const againstReference = (data instanceof torch.data.PreferenceDataset || data instanceof torch.data.KTODataset) && !orpo && !cpo;
  // DPO / KTO continuing an adapter measure against the model it starts as: that adapter again,
  // frozen beside the one that trains (TRL's ref_adapter_name), where the model can hold two
  let refAdapterName: string | null = null, refAdapterRefusal: string | null = null;
  if (adapter !== undefined) {
    // its settings and weights, trainable (a classifier's head too: its modules_to_save)
    checkAdapterHead(model, adapter);
    await torch.lora.loadAdapter(model, adapter);
    if (againstReference) {
      refAdapterRefusal = torch.lora.secondAdapterRefusal(model, torch.lora.loraConfig(model)!); // (the adapter just loaded: its settings, not read again)
      if (refAdapterRefusal === null) {
        refAdapterName = 'reference';
        await torch.lora.loadAdapter(model, adapter, { adapterName: refAdapterName });
      }
    }
  } else if (!f.full) {
    torch.lora.applyLoRA(model, {
      r, alpha: f['lora-alpha'] as number, dropout: f['lora-dropout'] as number, mode: f['lora-mode'] as 'peft' | 'seed',
      targetModules: f['lora-targets'] === 'all-linear' ? 'all-linear' : (f['lora-targets'] as string).split(',').map((s) => s.trim()).filter(Boolean),
      bias: f['lora-bias'] as 'none', useRslora: Boolean(f.rslora), useDora: Boolean(f['use-dora']),
      initLoraWeights: f['init-lora-weights'] as torch.lora.LoraInit,
      layersToTransform: f['layers-to-transform'] as number[] | undefined, excludeModules: f['exclude-modules'] as string[] | undefined,
      rankPattern: f['rank-pattern'] as Record<string, number> | undefined, alphaPattern: f['alpha-pattern'] as Record<string, number> | undefined,
      modulesToSave: f['lora-modules-to-save'] as string[] | undefined,
    });
  }
  if (f.device !== 'cpu') model.to({ device: f.device as string });
  if (main) console.log(torch.lora.trainableParametersLine(model));
  const out = f.out as string;
  const resume = f['resume-from-checkpoint'] as string | undefined;
  const args: torch.DPOArguments = {
    outputDir: out, numTrainEpochs: f.epochs as number, maxSteps: f['max-steps'] as number, perDeviceTrainBatchSize: f['batch-size'] as number,
    gradientAccumulationSteps: f['gradient-accumulation-steps'] as number, gradientCheckpointing: Boolean(f['gradient-checkpointing']),
    learningRate: f.lr as number, weightDecay: f['weight-decay'] as number,
    optim: f.optim as torch.train.OptimizerName, optimArgs: f['optim-args'] as string | undefined,
    loraplusLrRatio: f['loraplus-lr-ratio'] as number | undefined, loraplusLrEmbedding: f['loraplus-lr-embedding'] as number | undefined,
    dataSeed: f['data-seed'] as number | undefined, saveOnlyModel: Boolean(f['save-only-model']), saveOnInterrupt: f['save-on-interrupt'] as boolean, saveSafetensors: f['save-safetensors'] as boolean, includeNumInputTokensSeen: tokensSeenFlag(f['include-num-input-tokens-seen'] as boolean | string | undefined),
    metricForBestModel: f['metric-for-best-model'] as string, greaterIsBetter: f['greater-is-better'] as boolean | undefined,
    adamBeta1: f['adam-beta1'] as number, adamBeta2: f['adam-beta2'] as number, adamEpsilon: f['adam-epsilon'] as number, warmupSteps: f['warmup-steps'] as number, warmupRatio: f['warmup-ratio'] as number,
    lrSchedulerType: f['lr-scheduler'] as 'linear', lrSchedulerKwargs: f['lr-scheduler-kwargs'] as torch.optim.ScheduleKwargs | undefined, labelSmoothingFactor: f['label-smoothing-factor'] as number, maxGradNorm: f['max-grad-norm'] as number, seed: f.seed as number,
    loggingSteps: f['logging-steps'] as number, loggingStrategy: f['logging-strategy'] as 'steps', loggingFirstStep: Boolean(f['logging-first-step']), loggingNanInfFilter: f['logging-nan-inf-filter'] as boolean, evalOnStart: Boolean(f['eval-on-start']), saveSteps: f['save-steps'] as number, saveTotalLimit: (f['save-total-limit'] as number) ?? null,
    evalSteps: f['eval-steps'] as number | undefined, saveStrategy: f['save-strategy'] as 'steps', evalStrategy: f['eval-strategy'] as 'steps',
    loadBestModelAtEnd: Boolean(f['load-best-model-at-end']), perDeviceEvalBatchSize: f['eval-batch-size'] as number, device: f.device as string, precision: f.precision as 'fp32' | 'bf16', progress: f.progress ? true : 'auto',
    reportTo: (f['report-to'] as string).split(',').map((s) => s.trim()).filter(Boolean), loggingDir: f['logging-dir'] as string | undefined,
    resumeFromCheckpoint: resume === undefined ? undefined : resume === 'latest' ? true : resume, groupByLength: Boolean(f['group-by-length']), dataloaderDropLast: Boolean(f['dataloader-drop-last']), neftuneNoiseAlpha: f['neftune-noise-alpha'] as number,
  };
  const callbacks = patience === undefined ? [] : [new torch.EarlyStoppingCallback(patience, f['early-stopping-threshold'] as number)];
  let refModel: torch.GPT2LMHeadModel | null = null;
  if (orpo || cpo || data instanceof torch.data.KTODataset) {
    // DPO's own settings mean nothing to ORPO, CPO and KTO: refused, not ignored
    const method = orpo ? 'ORPO' : cpo ? (f.method === 'simpo' ? 'SimPO' : 'CPO') : 'KTO';
    if ((orpo || cpo) && f['precompute-ref-log-probs']) throw new Error(`--precompute-ref-log-probs is for a reference model; ${method} has none`);
    const kto = data instanceof torch.data.KTODataset;
    if (kto && f['loss-type'] !== undefined && !torch.train.KTO_LOSS_TYPES.includes(f['loss-type'] as torch.train.KTOLossType)) {
      throw new Error(`--loss-type for KTO is ${torch.train.KTO_LOSS_TYPES.join(' or ')} (TRL's KTOConfig loss_type); got '${f['loss-type']}'`);
    }
    if (f['loss-type'] !== undefined && !kto && !(cpo && f.method === 'cpo')) throw new Error(`--loss-type is DPO's, CPO's, KTO's (or SFT's); ${method} has its own loss`);
    if (f['dpo-label-smoothing'] && !cpo) throw new Error(`--dpo-label-smoothing is DPO's and CPO's; ${method} does not take it`);
    if (f['rpo-alpha'] !== undefined) throw new Error(`--rpo-alpha is DPO's (RPO); ${method} does not take it${orpo || cpo ? ` (${method} has its chosen NLL${cpo ? ': --cpo-alpha' : ' already'})` : ''}`);
    for (const k of DPO_TRAIN_FLAGS) if (f[k] !== undefined && f[k] !== false) throw new Error(`--${k} is DPO's; ${method} does not take it`);
  }
  if (!cpo) for (const k of CPO_FLAGS) if (f[k] !== undefined) throw new Error(`--${k} is CPO's and SimPO's (--method cpo or simpo, on preference pairs)`);
  if (!(data instanceof torch.data.KTODataset) && (f['desirable-weight'] !== 1 || f['undesirable-weight'] !== 1)) throw new Error('--desirable-weight and --undesirable-weight are KTO\'s (unpaired examples, or --method kto)');
  if (f['sync-ref-model'] && !f.full) throw new Error('--sync-ref-model (TR-DPO) moves the reference model toward the one training: it is for --full fine-tuning (with LoRA the reference is the base itself)');
  if (againstReference && (f.full || (adapter !== undefined && refAdapterName === null))) {
    // Full fine-tuning's DPO / KTO reference: a frozen copy of the base (with LoRA, the adapters
    // disabled). Continuing an adapter the model cannot hold twice: the model it starts as, the
    // adapter loaded into a frozen copy (TRL's "load the model twice"); not merged, since merging
    // LoRA on GPT-2's tied embedding would change its lm_head too.
    refModel = await torch.GPT2LMHeadModel.fromPretrained(modelDir, { attnImplementation: attnFlag(f), mmap: Boolean(f.mmap) });
    if (adapter !== undefined) await torch.lora.loadAdapter(refModel, adapter, { isTrainable: false });
    if (f.device !== 'cpu') refModel.to({ device: f.device as string });
  }
  if (data instanceof torch.data.RewardDataset) sftLossType(f, data, task); // (refuses a --loss-type: the reward loss has none)
  const trainer = data instanceof torch.data.KTODataset
    ? new torch.KTOTrainer(model as torch.GPT2LMHeadModel, { ...(args as torch.TrainingArguments), lossType: f['loss-type'] as torch.train.KTOLossType | undefined, beta: f.beta as number, desirableWeight: f['desirable-weight'] as number, undesirableWeight: f['undesirable-weight'] as number, precomputeRefLogProbs: Boolean(f['precompute-ref-log-probs']), refAdapterName },
      data, evalData as torch.data.KTODataset | undefined, callbacks, refModel)
    : orpo
    ? new torch.ORPOTrainer(model as torch.GPT2LMHeadModel, { ...args, beta: f.beta as number }, data as torch.data.PreferenceDataset, evalData as torch.data.PreferenceDataset | undefined, callbacks)
    : cpo
    ? new torch.CPOTrainer(model as torch.GPT2LMHeadModel, { ...(args as torch.TrainingArguments), ...cpoArguments(f) }, data as torch.data.PreferenceDataset, evalData as torch.data.PreferenceDataset | undefined, callbacks)
    : data instanceof torch.data.PreferenceDataset
    ? new torch.DPOTrainer(model as torch.GPT2LMHeadModel, { ...args, beta: f.beta as number, ...dpoLoss(f), dpoLabelSmoothing: f['dpo-label-smoothing'] as number, discopopTau: f['discopop-tau'] as number | undefined, rpoAlpha: f['rpo-alpha'] as number | undefined,
      fDivergenceType: f['f-divergence-type'] as torch.train.FDivergenceType | undefined, fAlphaDivergenceCoef: f['f-alpha-divergence-coef'] as number | undefined,
      useLogitsToKeep: Boolean(f['use-logits-to-keep']), useWeighting: Boolean(f['use-weighting']), ldAlpha: f['ld-alpha'] as number | undefined,
      syncRefModel: Boolean(f['sync-ref-model']), refModelMixupAlpha: f['ref-model-mixup-alpha'] as number | undefined, refModelSyncSteps: f['ref-model-sync-steps'] as number | undefined, precomputeRefLogProbs: Boolean(f['precompute-ref-log-probs']), refAdapterName },
      data, evalData as torch.data.PreferenceDataset | undefined, callbacks, refModel)
    : data instanceof torch.data.RewardDataset
      ? new torch.RewardTrainer(model as torch.GPT2ForSequenceClassification, { ...args, centerRewardsCoefficient: (f['center-rewards-coefficient'] as number | undefined) ?? null }, data, evalData as torch.data.RewardDataset | undefined, callbacks)
      : new torch.Trainer(model, { ...args, sftLossType: sftLossType(f, data, task) }, data, evalData, callbacks);
  if (main) {
    // HF's "***** Running training *****" summary, on one line.
    const a = trainer.args, perStep = a.perDeviceTrainBatchSize * a.gradientAccumulationSteps * trainer.worldSize;
    const reference = refAdapterName !== null ? `the model --adapter starts as (${adapter} loaded a second time, frozen, as the adapter '${refAdapterName}')`
      : !refModel ? 'the model with its adapters disabled'
        : adapter !== undefined ? `the model --adapter starts as (${adapter} loaded into a frozen copy of the base: ${refAdapterRefusal})` : 'a frozen copy of the base';
    const items = data instanceof torch.data.TextDataset ? 'blocks' : data instanceof torch.data.PackedExampleDataset ? 'rows' : data instanceof torch.data.PreferenceDataset || data instanceof torch.data.RewardDataset ? 'pairs' : 'examples';
    const what = data instanceof torch.data.TextDataset ? `blocks of ${data.blockSize} tokens`
      : data instanceof torch.data.KTODataset ? `unpaired examples (KTO${f['loss-type'] === 'apo_zero_unpaired' ? ', the apo_zero_unpaired loss' : ''}, beta ${f.beta}: ${data.counts.desirable} desirable, ${data.counts.undesirable} undesirable; the reference: ${reference})`
      : data instanceof torch.data.PreferenceDataset ? (orpo ? `preference pairs (ORPO, beta ${f.beta}; no reference model)`
        : trainer instanceof torch.CPOTrainer ? `preference pairs (${f.method === 'simpo' ? 'SimPO' : 'CPO'}, ${trainer.settings.lossType} loss, beta ${f.beta}, cpo_alpha ${trainer.settings.cpoAlpha}${trainer.settings.lossType === 'simpo' ? `, simpo_gamma ${trainer.settings.simpoGamma}` : ''}; no reference model)`
          : `preference pairs (DPO, ${f['loss-type'] ?? 'sigmoid'} loss, beta ${f.beta}; the reference: ${reference})`)
        : data instanceof torch.data.RewardDataset ? `preference pairs (reward modeling: -logsigmoid(r(chosen) - r(rejected)${data.hasMargin ? ' - margin' : ''})${data.dropped ? `; ${data.dropped} pair(s) over --block-size left out` : ''})`
        : data instanceof torch.data.TokenClassificationDataset ? `tagged texts (token classification, ${data.numLabels} tags: ${data.labelNames.slice(0, 8).join(', ')}${data.numLabels > 8 ? ', ...' : ''}; the loss on ${data.lossTokens([...data.examples.keys()]).toLocaleString('en-US')} words)`
        : data instanceof torch.data.ClassificationDataset ? `labelled texts (${data.problemType.replace(/_/g, ' ')}${data.problemType === 'regression' ? '' : `, ${data.numLabels} classes: ${data.labelNames.slice(0, 8).join(', ')}${data.numLabels > 8 ? ', ...' : ''}`})`
          : data instanceof torch.data.PackedExampleDataset ? `rows of up to ${data.examples.maxLength} tokens packed from ${data.examples.length.toLocaleString('en-US')} sequences (best-fit decreasing, each attending to itself; the loss on ${data.lossTokens([...data.rows.keys()]).toLocaleString('en-US')} tokens)`
          : `examples of up to ${data.maxLength} tokens (padded per batch; the loss on ${data.lossTokens([...data.examples.keys()]).toLocaleString('en-US')} tokens)`;
    const dft = a.sftLossType === 'dft' ? ' (the DFT loss)' : '';
    console.log(`training: ${data.length.toLocaleString('en-US')} ${what}${dft}; ${a.perDeviceTrainBatchSize} per batch` +
      `${a.gradientAccumulationSteps > 1 ? ` x ${a.gradientAccumulationSteps} accumulated` : ''}${trainer.worldSize > 1 ? ` x ${trainer.worldSize} processes` : ''}` +
      ` = ${perStep} ${items} per step; ${trainer.stepsPerEpoch} steps per epoch, ${trainer.totalSteps} steps`);
  }
  // The tokenizer beside the weights, in the output and in each checkpoint (the notebook's
  // tokenizer.save_pretrained(output_dir), HF Trainer's processing_class): each folder loads with
  // AutoTokenizer / pipeline() as it is.
  trainer.processingClass = {
    savePretrained: (dir) => saveTokenizerFiles(tokenizerDir(f), dir, { modelMaxLength: model.config.n_positions, chatTemplate: chatTemplateOf(f), eosToken: f['eos-token'] as string | undefined, padToken: pads ? eosTok.eosToken : undefined }),
  };
  let result: torch.TrainResult;
  try {
    result = trainer.train();
  } catch (e) {
    // (libtorch's words for an update too large for float32 weights: an absurd --lr)
    if (/cannot be converted to type \w+ without overflow/.test((e as Error).message)) {
      throw new Error(`an update overflows the weights' float32 (${(e as Error).message}): --lr ${(f.lr as number).toExponential()} is far too large; lower it`);
    }
    if (!(e instanceof torch.train.TrainingInterrupted)) throw e;
    if (main) console.error(`tstorch train: interrupted by ${e.signal} after step ${e.step} of ${trainer.totalSteps}: ${e.resumable
      ? `checkpoint in ${e.checkpoint}; to go on, run the same command with --resume-from-checkpoint latest`
      : `its weights in ${e.checkpoint} (--save-only-model: they cannot resume the run)`}`);
    return e.exitCode;
  }
  await trainer.saveModel(out);
  if (torch.distributed.isInitialized()) {
    torch.distributed.barrier();
    torch.distributed.destroyProcessGroup();
  }
  if (!main) return;
  fs.writeFileSync(path.join(out, 'train_results.json'), JSON.stringify({
    global_step: result.globalStep, train_loss: result.trainLoss, train_runtime: result.seconds, tokens_per_second: result.tokensPerSecond,
  }, null, 2) + '\n');
  // README.md, as HF's Trainer / PEFT write one (left alone when the folder already has one of the user's)
  trainer.createModelCard({
    finetunedFrom: repoIdOf(modelDir) ?? modelDir, dataset: datasetSources.get(f.data as string) ?? path.basename(f.data as string),
    startAdapter: adapter === undefined ? undefined : repoIdOf(adapter) ?? adapter,
  });
  if (result.globalStep < trainer.totalSteps) console.log(`early stopping: the eval loss did not improve for ${patience} evaluation(s) in a row; stopped at step ${result.globalStep} of ${trainer.totalSteps}`);
  console.log(`done: ${result.globalStep} steps, mean loss ${result.trainLoss.toFixed(4)}, ${result.tokensPerSecond.toFixed(0)} tokens/s; ${f.full ? 'model' : 'adapter'} in ${out}`);
  if (result.nonFiniteLossSteps > 0) {
    // (HF's Trainer goes on and saves them too, its logged loss filtered: said here, as it is no answer)
    const broken = model.parameters().some((p) => p.requiresGrad && torch.tidy(() => !p.isfinite().all().item<boolean>()));
    console.error(`tstorch train: the loss was NaN or infinite at ${result.nonFiniteLossSteps} step(s) (left out of the logged loss, as HF's logging_nan_inf_filter does): training diverged` +
      `${broken ? `, and the weights in ${out} hold NaN or infinite values` : ''}; train again with a lower --lr (it was ${(f.lr as number).toExponential()})${f['max-grad-norm'] ? '' : ', or clip the gradients (--max-grad-norm 1)'}`);
  }
}

/** --include-num-input-tokens-seen: bare (or true) is HF's true, 'all'; false is 'no'. */
function tokensSeenFlag(v: boolean | string | undefined): 'all' | 'non_padding' | 'no' {
  return v === true || v === 'all' ? 'all' : v === 'non_padding' ? 'non_padding' : 'no';
}

/**
 * The folders and files the flags name exist, checked before anything loads, and by the launcher
 * before its workers start (a mistyped path is said once, not by every rank).
 */
function checkPaths(f: Record<string, unknown>): void {
  for (const k of ['model', 'adapter'] as const) {
    const dir = f[k] as string | undefined;
    if (dir !== undefined && !fs.existsSync(dir)) throw new Error(`--${k} ${dir}: no such folder${notInCacheHint(dir)}`);
  }
  for (const k of ['data', 'eval-data'] as const) {
    const file = f[k] as string | undefined;
    if (file !== undefined && !fs.existsSync(file)) throw new Error(`--${k} ${file}: no such file${notInCacheHint(file, 'dataset')}`);
  }
  const resume = f['resume-from-checkpoint'] as string | undefined;
  if (resume !== undefined && resume !== 'latest' && !fs.existsSync(resume)) {
    throw new Error(`--resume-from-checkpoint ${resume}: no such folder; give a checkpoint-<step> folder of an earlier run, or latest (the last one in --out)`);
  }
}

/** The flags' values, checked before anything starts (the launcher checks them too, before its workers). */
function checkFlags(f: Record<string, unknown>): void {
  if (f.bf16) f.precision = 'bf16';
  if (!['fp32', 'bf16'].includes(f.precision as string)) throw new Error(`--precision must be fp32 or bf16, got '${f.precision}'`);
  if (!((f.lr as number) >= 0)) throw new Error(`--lr must be >= 0, got ${f.lr}`);
  const multiple = f['pad-to-multiple-of'] as number | undefined;
  if (multiple !== undefined && multiple < 1) throw new Error(`--pad-to-multiple-of must be >= 1, got ${multiple}`);
  if (f['eval-packing'] !== undefined && f['eval-data'] === undefined && f['dataset-test-split'] === undefined) throw new Error('--eval-packing says how --eval-data is read: give --eval-data');
  const reportTo = (f['report-to'] as string).split(',').map((s) => s.trim()).filter((s) => s && !torch.train.REPORT_TO.includes(s)); // (HF's report_to [] is none)
  if (reportTo.length) throw new Error(`--report-to ${reportTo.join(',')}: tstorch reports to tensorboard, all or none`);
  if (!['keep_start', 'keep_end'].includes(f['truncation-mode'] as string)) throw new Error(`--truncation-mode must be keep_start or keep_end, got '${f['truncation-mode']}'`);
  if (!['dpo', 'orpo', 'cpo', 'simpo', 'kto'].includes(f.method as string)) throw new Error(`--method must be dpo, orpo, cpo, simpo or kto (for preference data), got '${f.method}'`);
  if (!['auto', 'gloo', 'nccl'].includes(f['dist-backend'] as string)) throw new Error(`--dist-backend must be auto, gloo or nccl, got '${f['dist-backend']}'`);
  const r = f['lora-r'] as number;
  if (r < 0) throw new Error(`--lora-r must be >= 0, got ${r}`);
  if (!f.full && r === 0) throw new Error('--lora-r 0 leaves nothing to train; use --full for full fine-tuning');
  if (!['peft', 'seed'].includes(f['lora-mode'] as string)) throw new Error(`--lora-mode must be peft or seed, got '${f['lora-mode']}'`);
  if (!torch.train.OPTIMIZERS.includes(f.optim as torch.train.OptimizerName)) throw new Error(`--optim must be ${torch.train.OPTIMIZERS.join(', ')}; got '${f.optim}'`);
  try {
    torch.train.parseOptimArgs(f.optim as torch.train.OptimizerName, f['optim-args'] as string | undefined);
  } catch (e) {
    throw new Error(`--optim-args: ${(e as Error).message.replace(/^optimArgs: /, '')}`);
  }
  const ratio = f['loraplus-lr-ratio'] as number | undefined;
  if (ratio !== undefined && f.full) throw new Error('--loraplus-lr-ratio sets the lr of LoRA\'s B factors: it needs LoRA, not --full');
  if (ratio !== undefined && !(ratio > 0)) throw new Error(`--loraplus-lr-ratio must be > 0 (the paper suggests 16), got ${ratio}`);
  if (f['loraplus-lr-embedding'] !== undefined && ratio === undefined) throw new Error('--loraplus-lr-embedding is a LoRA+ setting: give --loraplus-lr-ratio too');
  if (!torch.optim.SCHEDULE_KINDS.includes(f['lr-scheduler'] as torch.optim.ScheduleKind)) {
    throw new Error(`--lr-scheduler must be ${torch.optim.SCHEDULE_KINDS.join(', ')}; got '${f['lr-scheduler']}'`);
  }
  const init = f['init-lora-weights'] as string;
  f['init-lora-weights'] = init === 'true' ? true : init === 'false' ? false : init;
  if (!(typeof f['init-lora-weights'] === 'boolean' || init === 'gaussian' || init === 'pissa' || /^pissa_niter_\d+$/.test(init))) {
    throw new Error(`--init-lora-weights must be true, false, gaussian, pissa or pissa_niter_K; got '${init}'`);
  }
  for (const k of ['rank-pattern', 'alpha-pattern'] as const) {
    if (f[k] === undefined) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(f[k] as string);
    } catch {
      parsed = null;
    }
    if (!isJsonObject(parsed) || !Object.values(parsed).every((v) => typeof v === 'number')) {
      throw new Error(`--${k} must be a JSON object of numbers by layer-name pattern, e.g. '{"c_fc": 16}'; got ${f[k]}`);
    }
    f[k] = parsed;
  }
  if (f['layers-to-transform'] !== undefined) {
    const layers = (f['layers-to-transform'] as string).split(',').map((x) => x.trim()).filter(Boolean);
    if (!layers.length || !layers.every((x) => /^\d+$/.test(x))) throw new Error(`--layers-to-transform must be block indices, e.g. 10,11; got '${f['layers-to-transform']}'`);
    f['layers-to-transform'] = layers.map(Number);
  }
  if (f['lora-modules-to-save'] !== undefined) {
    const modules = (f['lora-modules-to-save'] as string).split(',').map((x) => x.trim()).filter(Boolean);
    if (f.full && modules.length) throw new Error('--lora-modules-to-save trains modules whole beside LoRA; with --full every module trains already');
    f['lora-modules-to-save'] = modules;
  }
  if (f['exclude-modules'] !== undefined) f['exclude-modules'] = (f['exclude-modules'] as string).split(',').map((x) => x.trim()).filter(Boolean);
  const kw = f['lr-scheduler-kwargs'];
  if (typeof kw === 'string') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(kw);
    } catch {
      throw new Error(`--lr-scheduler-kwargs must be a JSON object, e.g. '{"num_cycles": 2}'; got ${kw}`);
    }
    if (!isJsonObject(parsed)) throw new Error(`--lr-scheduler-kwargs must be a JSON object, e.g. '{"num_cycles": 2}'; got ${kw}`);
    f['lr-scheduler-kwargs'] = parsed;
  }
  // (lr_end against the initial lr too, before anything loads)
  torch.optim.checkScheduleKwargs(f['lr-scheduler'] as torch.optim.ScheduleKind, (f['lr-scheduler-kwargs'] ?? {}) as torch.optim.ScheduleKwargs, f.lr as number);
  for (const k of ['batch-size', 'gradient-accumulation-steps', 'block-size', 'eval-batch-size'] as const) {
    if ((f[k] as number) < 1) throw new Error(`--${k} must be >= 1, got ${f[k]}`);
  }
  for (const k of ['logging-steps', 'eval-steps', 'save-steps'] as const) {
    const v = f[k] as number | undefined;
    if (v === undefined || (k === 'save-steps' && v === 0)) continue;
    if (!((Number.isInteger(v) && v >= 1) || (v > 0 && v < 1))) throw new Error(`--${k} must be a whole number of steps, or a fraction in (0, 1) of the run's steps; got ${v}`);
  }
  const patience = f['early-stopping-patience'] as number | undefined, split = f['validation-split-percentage'] as number | undefined;
  if (split !== undefined && f['eval-data']) throw new Error('--validation-split-percentage and --eval-data: give one (the split holds out part of --data)');
  if (split !== undefined && !(split > 0 && split < 100)) throw new Error(`--validation-split-percentage must be in (0, 100), got ${split}`);
  const evaluates = Boolean(f['eval-data']) || split !== undefined;
  if (patience !== undefined && !evaluates) throw new Error('--early-stopping-patience needs --eval-data or --validation-split-percentage (it watches the eval loss)');
  if (f['eval-on-start'] && !evaluates) throw new Error('--eval-on-start needs --eval-data or --validation-split-percentage');
  if (f['load-best-model-at-end'] && !evaluates) throw new Error('--load-best-model-at-end needs --eval-data or --validation-split-percentage (it picks by the eval loss)');
  if (patience !== undefined && f['eval-strategy'] === 'no') throw new Error('--early-stopping-patience needs evaluations: not with --eval-strategy no');
  if (patience !== undefined && patience < 1) throw new Error(`--early-stopping-patience must be >= 1, got ${patience}`);
  if ((f['early-stopping-threshold'] as number) < 0) throw new Error(`--early-stopping-threshold must be >= 0, got ${f['early-stopping-threshold']}`);
  for (const k of ['save-strategy', 'eval-strategy', 'logging-strategy']) {
    if (!['steps', 'epoch', 'no'].includes(f[k] as string)) throw new Error(`--${k} must be steps, epoch or no, got '${f[k]}'`);
  }
  if (fs.existsSync(f.out as string) && !fs.statSync(f.out as string).isDirectory()) throw new Error(`--out ${f.out} is a file; give a folder (new or existing)`);
  const ls = f['label-smoothing-factor'] as number;
  if (!(ls >= 0 && ls < 1)) throw new Error(`--label-smoothing-factor must be in [0, 1), got ${ls}`);
  if (!((f['neftune-noise-alpha'] as number) >= 0)) throw new Error(`--neftune-noise-alpha must be >= 0, got ${f['neftune-noise-alpha']}`);
  const warmupRatio = f['warmup-ratio'] as number;
  if (!(warmupRatio >= 0 && warmupRatio <= 1)) throw new Error(`--warmup-ratio must be in [0, 1], got ${warmupRatio}`);
  if ((f['warmup-steps'] as number) < 0) throw new Error(`--warmup-steps must be >= 0, got ${f['warmup-steps']}`);
}

/** --task: causal-lm, text-classification, reward-modeling or token-classification (auto: by the --model folder's architecture, and for a classifier by the data). */
/** The first n examples of a dataset (all of them when it has fewer, or without n). */
function firstSamples<D extends { length: number; subset(start: number, end: number): unknown }>(ds: D, n: number | undefined, flag: string): D {
  if (n === undefined) return ds;
  if (!(Number.isInteger(n) && n >= 1)) throw new Error(`${flag} must be an integer >= 1, got ${n}`);
  return n >= ds.length ? ds : (ds.subset(0, n) as D);
}

type Task = 'causal-lm' | 'text-classification' | 'reward-modeling' | 'token-classification';

/** The task: --task, or (auto) what --model's folder is, or what --adapter was trained for, and the data. */
function taskOf(f: Record<string, unknown>, modelDir: string, adapterConfig?: Record<string, unknown>): Task {
  const task = taskFlag(f, modelDir, adapterConfig?.task_type);
  if (adapterConfig) {
    // The adapter's own task: a classifier's brings its head; a language model's brings none to train
    const adapterTask = typeof adapterConfig.task_type === 'string' ? adapterConfig.task_type : 'CAUSAL_LM';
    const fits = adapterTask === 'SEQ_CLS' ? task === 'text-classification' || task === 'reward-modeling' : adapterTask === 'TOKEN_CLS' ? task === 'token-classification' : task === 'causal-lm';
    if (!fits) throw new Error(`--adapter ${f.adapter} is a ${adapterTask} adapter (task_type in its adapter_config.json), not one for --task ${task}: train a new adapter for that task (leave --adapter out)`);
  }
  return task;
}

function taskFlag(f: Record<string, unknown>, modelDir: string, adapterTask: unknown): Task {
  const t = (f.task as string).toLowerCase().replace(/_/g, '-');
  if (t === 'auto') {
    if (adapterTask === 'TOKEN_CLS' || torch.isTokenClassifierFolder(modelDir)) return 'token-classification';
    if (adapterTask !== 'SEQ_CLS' && !torch.isSequenceClassifierFolder(modelDir)) return 'causal-lm';
    return torch.data.readRewardPairs(f.data as string, chatOf(f)) ? 'reward-modeling' : 'text-classification';
  }
  if (['text-classification', 'sequence-classification', 'seq-cls'].includes(t)) return 'text-classification';
  if (['reward-modeling', 'reward', 'reward-model'].includes(t)) return 'reward-modeling';
  if (['token-classification', 'token-cls', 'ner', 'pos'].includes(t)) return 'token-classification';
  if (['causal-lm', 'text-generation'].includes(t)) {
    if (torch.isSequenceClassifierFolder(modelDir) || torch.isTokenClassifierFolder(modelDir)) throw new Error(`--task causal-lm: --model ${modelDir} is a classifier, not a language model`);
    return 'causal-lm';
  }
  throw new Error(`--task must be causal-lm, text-classification, reward-modeling or token-classification (or auto), got '${f.task}'`);
}

/** DPO's own settings in training: refused for ORPO, CPO and KTO. */
const DPO_TRAIN_FLAGS = [...DPO_LOSS_FLAGS, 'use-logits-to-keep', 'sync-ref-model', 'ref-model-mixup-alpha', 'ref-model-sync-steps'];
/** The preference methods' own settings (DPO's, CPO's): refused on other data, where they would change nothing. */
const PAIR_FLAGS = [...DPO_TRAIN_FLAGS, ...CPO_FLAGS];

/** The LoRA flags: with --adapter, the adapter's own settings stand for them. */
const LORA_FLAGS = ['lora-r', 'lora-alpha', 'lora-dropout', 'lora-targets', 'lora-mode', 'lora-bias', 'layers-to-transform', 'exclude-modules',
  'rank-pattern', 'alpha-pattern', 'init-lora-weights', 'rslora', 'use-dora', 'lora-modules-to-save'];

/** For the LoRA flags that name one adapter_config.json field: whether the flag's value is the adapter's own. */
const ADAPTER_HAS: Record<string, (value: unknown, config: Record<string, unknown>) => boolean> = {
  'lora-r': (v, c) => v === c.r,
  'lora-alpha': (v, c) => v === c.lora_alpha,
  'lora-dropout': (v, c) => v === c.lora_dropout,
  'lora-bias': (v, c) => v === (c.bias ?? 'none'),
  rslora: (v, c) => Boolean(v) === Boolean(c.use_rslora),
  'use-dora': (v, c) => Boolean(v) === Boolean(c.use_dora),
  'lora-targets': (v, c) => {
    const mine = String(v).split(',').map((t) => t.trim()).sort(), theirs = c.target_modules;
    return Array.isArray(theirs) ? JSON.stringify([...theirs].map(String).sort()) === JSON.stringify(mine) : mine.length === 1 && mine[0] === theirs;
  },
};

/**
 * --adapter, checked before anything loads: a PEFT adapter folder, not with --full, and no LoRA
 * flag beside it that says otherwise than its adapter_config.json (its settings are there, as
 * PEFT's from_pretrained reads them). Its config.
 */
function startingAdapter(f: Record<string, unknown>, adapter: string): Record<string, unknown> {
  if (f.full) throw new Error(`--adapter trains an adapter further, --full the whole model: to fine-tune all of the adapter's model, merge it first (tstorch merge --model ${f.model} --adapter ${adapter} --out DIR) and train DIR with --full`);
  const config = readAdapterConfigFile(adapter);
  if (config.peft_type !== undefined && config.peft_type !== 'LORA') throw new Error(`--adapter ${adapter}: a ${config.peft_type} adapter; tstorch trains LoRA adapters`);
  // (a flag that says what the adapter already has is fine: a recipe's config shared by its runs)
  const given = LORA_FLAGS.filter((k) => flagGiven(f as Parsed, k) && !(ADAPTER_HAS[k]?.(f[k], config) ?? false));
  if (given.length) {
    const targets = Array.isArray(config.target_modules) ? config.target_modules.join(',') : config.target_modules;
    throw new Error(`${given.map((k) => `--${k}`).join(', ')}: with --adapter the LoRA settings are the adapter's own (r ${config.r}, lora_alpha ${config.lora_alpha}, target_modules ${targets}, ` +
      `in ${path.join(adapter, 'adapter_config.json')}); leave ${given.length > 1 ? 'them' : 'it'} out, or train a new adapter without --adapter`);
  }
  return config;
}

/** A classifier's --adapter brings its head: as many outputs as the model has labels, or a clear error. */
function checkAdapterHead(model: torch.GPT2LMHeadModel | torch.GPT2ForSequenceClassification | torch.GPT2ForTokenClassification, adapter: string): void {
  if (model instanceof torch.GPT2LMHeadModel) return;
  const head = model instanceof torch.GPT2ForTokenClassification ? 'classifier' : 'score';
  const rows = adapterHeadSize(adapter, head);
  if (rows === undefined) throw new Error(`--adapter ${adapter}: a classifier's adapter without its head (base_model.model.${head}.weight in modules_to_save)`);
  if (rows !== model.numLabels) {
    const names = model.config.id2label ? `: ${Object.values(model.config.id2label).slice(0, 8).join(', ')}` : '';
    throw new Error(`--adapter ${adapter}: its ${head} head has ${rows} outputs, but the data has ${model.numLabels} ${head === 'score' && model.numLabels === 1 ? 'output (reward modeling)' : 'labels'}${names}; continue it on data of its labels (ids in sorted order, as HF's run_classification gives them)`);
  }
}

/** An id2label's names in id order (a classifier's config.json, or tstorch_id2label of an adapter's config), if any. */
function labelsInIdOrder(id2label: Record<string, string> | undefined): string[] | undefined {
  return id2label ? Object.keys(id2label).sort((a, b) => Number(a) - Number(b)).map((k) => id2label[k]) : undefined;
}

/**
 * A classifier from --model for training: seeded first, so a new head's init repeats (HF's
 * set_seed before from_pretrained), and without the "newly initialized" warning (the new head is
 * what training is for).
 */
function newHead<M>(f: Record<string, unknown>, load: () => Promise<M>): Promise<M> {
  torch.manualSeed(f.seed as number);
  return quietHead(true, load);
}

/**
 * Text classification: the labelled texts (their classes make the head: numLabels, id2label,
 * problem type; a classifier folder's own names fix the ids), then the classifier: a classifier's
 * folder, or a language model's with a new head (HF's AutoModelForSequenceClassification), the
 * pad token the model's (else the tokenizer's eos, GPT-2's usual).
 */
async function classifierAndData(f: Record<string, unknown>, modelDir: string, adapterConfig?: Record<string, unknown>): Promise<[torch.GPT2ForSequenceClassification, torch.data.ClassificationDataset, torch.data.ClassificationDataset | undefined]> {
  for (const k of ['stride', 'precompute-ref-log-probs']) if (f[k]) throw new Error(`--${k} is not for text classification`);
  // (--adapter: the labels, problem type and pad token it was trained with)
  const problemType = (f['problem-type'] ?? adapterConfig?.tstorch_problem_type ?? undefined) as torch.ProblemType | undefined;
  if (problemType !== undefined && !torch.PROBLEM_TYPES.includes(problemType)) throw new Error(`--problem-type must be ${torch.PROBLEM_TYPES.join(', ')}; got '${problemType}'`);
  const config = torch.readConfig(modelDir) as torch.GPT2Config & { pad_token_id?: number | null; id2label?: Record<string, string> };
  const resolved = torch.resolveConfig(config);
  const pad = (adapterConfig?.tstorch_pad_token_id as number | undefined) ?? config.pad_token_id ?? tokenizerFromFlags(f).eosTokenId;
  const own = labelsInIdOrder(adapterConfig?.tstorch_id2label as Record<string, string> | undefined) ?? (torch.isSequenceClassifierFolder(modelDir) ? labelsInIdOrder(config.id2label) : undefined);
  const data = classificationDataset(f.data as string, f, { config: resolved }, { labels: own, problemType, padTokenId: pad });
  let evalData: torch.data.ClassificationDataset | undefined;
  const same = { labels: data.labelNames, problemType: data.problemType, padTokenId: pad };
  if (f['eval-data']) evalData = classificationDataset(f['eval-data'] as string, f, { config: resolved }, same);
  const split = f['validation-split-percentage'] as number | undefined;
  let train = data;
  if (split !== undefined) [train, evalData] = torch.data.holdOutFirst(data, split);
  const model = await newHead(f, () => torch.GPT2ForSequenceClassification.fromPretrained(modelDir, {
    attnImplementation: attnFlag(f), mmap: Boolean(f.mmap), numLabels: data.numLabels, id2label: data.id2label, problemType: data.problemType, padTokenId: pad,
  }));
  return [model, train, evalData];
}

/**
 * Token classification (HF's run_ner): tagged words (their tags make the head; a token
 * classifier's folder fixes the ids by its own names), then GPT2ForTokenClassification from the
 * folder (a language model's gets a new head).
 */
async function tokenClassifierAndData(f: Record<string, unknown>, modelDir: string, adapterConfig?: Record<string, unknown>): Promise<[torch.GPT2ForTokenClassification, torch.data.TokenClassificationDataset, torch.data.TokenClassificationDataset | undefined]> {
  for (const k of ['stride', 'precompute-ref-log-probs', 'problem-type']) if (f[k]) throw new Error(`--${k} is not for token classification`);
  const config = torch.readConfig(modelDir) as torch.GPT2Config & { id2label?: Record<string, string> };
  const resolved = torch.resolveConfig(config);
  const own = labelsInIdOrder(adapterConfig?.tstorch_id2label as Record<string, string> | undefined) ?? (torch.isTokenClassifierFolder(modelDir) ? labelsInIdOrder(config.id2label) : undefined);
  // a new head knows every tag of the training and the eval data (a rare tag may be in one only)
  const read = (file: string) => torch.data.readTaggedExamples(file, { tokensColumn: f['text-column'] as string | undefined, tagsColumn: f['label-column'] as string | undefined });
  const tags = own ?? labelNames(f, f.data as string, tagColumns(f)) ?? torch.data.TokenClassificationDataset.tagNames([...read(f.data as string), ...(f['eval-data'] ? read(f['eval-data'] as string) : [])]);
  const data = tokenClassificationDataset(f.data as string, f, { config: resolved }, { labels: tags });
  let evalData = f['eval-data'] ? tokenClassificationDataset(f['eval-data'] as string, f, { config: resolved }, { labels: data.labelNames }) : undefined;
  let train = data;
  const split = f['validation-split-percentage'] as number | undefined;
  if (split !== undefined) [train, evalData] = torch.data.holdOutFirst(data, split);
  const model = await newHead(f, () => torch.GPT2ForTokenClassification.fromPretrained(modelDir, { attnImplementation: attnFlag(f), mmap: Boolean(f.mmap), id2label: data.id2label, numLabels: data.numLabels, padTokenId: data.padTokenId }));
  return [model, train, evalData];
}

/**
 * Reward modeling (TRL's RewardTrainer): chosen / rejected pairs (an optional prompt before both,
 * an optional margin) and a one-output classifier (a language model's folder gets a new head),
 * padded with the model's pad token (else the tokenizer's eos); --block-size is TRL's max_length.
 */
async function rewardModelAndData(f: Record<string, unknown>, modelDir: string): Promise<[torch.GPT2ForSequenceClassification, torch.data.RewardDataset, torch.data.RewardDataset | undefined]> {
  for (const k of ['stride', 'precompute-ref-log-probs']) if (f[k]) throw new Error(`--${k} is not for reward modeling`);
  const config = torch.readConfig(modelDir) as torch.GPT2Config & { pad_token_id?: number | null };
  const resolved = torch.resolveConfig(config);
  const tok = tokenizerFromFlags(f), pad = config.pad_token_id ?? tok.eosTokenId, blockSize = f['block-size'] as number;
  if (blockSize > resolved.n_positions) throw new Error(`--block-size ${blockSize} exceeds the model's n_positions (${resolved.n_positions})`);
  const read = (file: string) => {
    const pairs = torch.data.readRewardPairs(file, chatOf(f));
    if (!pairs) throw new Error(`${file}: reward modeling reads a .jsonl of {"chosen", "rejected"} objects (a "prompt" and a "margin" optional)`);
    let ds: torch.data.RewardDataset;
    try {
      ds = new torch.data.RewardDataset(pairs, { tokenizer: tok, maxLength: blockSize, padTokenId: pad });
    } catch (e) {
      throw new Error(`${file}: ${(e as Error).message.replace(/^RewardDataset: /, '')}`);
    }
    if (ds.dropped) console.error(`${file}: ${ds.dropped} pair(s) with a side longer than --block-size ${blockSize} tokens left out (TRL's max_length filter)`);
    const max = Math.max(...[...ds.chosen, ...ds.rejected].map((r) => Math.max(...r)));
    if (max >= resolved.vocab_size) throw new Error(`${file}: token ids up to ${max}, but the model's vocab_size is ${resolved.vocab_size}: the tokenizer and the model do not belong together`);
    return ds;
  };
  let data = read(f.data as string), evalData = f['eval-data'] ? read(f['eval-data'] as string) : undefined;
  const split = f['validation-split-percentage'] as number | undefined;
  if (split !== undefined) [data, evalData] = torch.data.holdOutFirst(data, split);
  const model = await newHead(f, () => torch.GPT2ForSequenceClassification.fromPretrained(modelDir, { attnImplementation: attnFlag(f), mmap: Boolean(f.mmap), numLabels: 1, problemType: 'regression', padTokenId: pad }));
  return [model, data, evalData];
}

/** --loss-type for the Trainer: SFT's nll (default) or dft, a language model's only. */
function sftLossType(f: Record<string, unknown>, data: unknown, task: string): torch.train.LmLossType | 'chunked_nll' {
  const t = f['loss-type'] as string | undefined;
  if (t === undefined) return 'nll';
  const lm = data instanceof torch.data.TextDataset || data instanceof torch.data.ExampleDataset || data instanceof torch.data.PackedExampleDataset;
  if (!lm) throw new Error(`--loss-type is for preference pairs (DPO) or a language model's SFT (nll, dft); not for --task ${task}`);
  if (t !== 'nll' && t !== 'chunked_nll' && t !== 'dft') {
    const dpo = t.split(',').every((x) => (torch.train.DPO_LOSS_TYPES as string[]).includes(x.trim()));
    throw new Error(`--loss-type for a language model is nll or dft (TRL's SFT loss_type); got '${t}'${dpo ? ', a DPO loss, for preference pairs' : ''}`);
  }
  return t;
}

/**
 * [train examples, eval examples, tokenization options] for KTO: unpaired data (prompt,
 * completion, label), or preference pairs with --method kto (unpaired as TRL does); null otherwise.
 */
function ktoData(f: Record<string, unknown>, prefs: ReturnType<typeof preferenceData>): [torch.data.KTOExample[], torch.data.KTOExample[] | null, torch.data.PreferenceOptions] | null {
  const unpaired = torch.data.readKTOExamples(f.data as string, chatOf(f));
  const evalUnpaired = f['eval-data'] ? torch.data.readKTOExamples(f['eval-data'] as string, chatOf(f)) : null;
  const opts = truncationOptions(f);
  if (unpaired) {
    if (['orpo', 'cpo', 'simpo'].includes(f.method as string)) throw new Error(`${f.data} holds unpaired examples (prompt, completion, label): they train with KTO (--method kto); ${(f.method as string).toUpperCase()} needs pairs`);
    if (f['eval-data'] && !evalUnpaired && !prefs?.[1]) throw new Error(`--data ${f.data} holds KTO examples but --eval-data ${f['eval-data']} does not: give examples (or pairs) there too`);
    if (f['validation-split-percentage'] !== undefined) throw new Error('--validation-split-percentage is for language-model data; with KTO examples give --eval-data');
    const evalPairs = f['eval-data'] && !evalUnpaired ? torch.data.readPreferencePairs(f['eval-data'] as string, chatOf(f)) : null;
    return [unpaired, evalUnpaired ?? (evalPairs ? torch.data.unpairPreferences(evalPairs) : null), opts];
  }
  if (f.method !== 'kto') return null;
  if (!prefs) throw new Error(`--method kto trains on unpaired examples (a .jsonl of prompt, completion, label) or preference pairs (prompt, chosen, rejected); ${f.data} holds neither`);
  return [torch.data.unpairPreferences(prefs[0]), prefs[1] ? torch.data.unpairPreferences(prefs[1]) : evalUnpaired, opts];
}

/**
 * [train pairs, eval pairs, tokenization options] when --data is preference data (TRL's DPO
 * format); null otherwise. --block-size is TRL's max_length; the tokenizer is --model's (or --tokenizer's).
 */
function preferenceData(f: Record<string, unknown>): [torch.data.PreferencePair[], torch.data.PreferencePair[] | null, torch.data.PreferenceOptions] | null {
  const pairs = torch.data.readPreferencePairs(f.data as string, chatOf(f));
  const evalPairs = f['eval-data'] ? torch.data.readPreferencePairs(f['eval-data'] as string, chatOf(f)) : null;
  if (!pairs) {
    if (evalPairs) throw new Error(`--eval-data ${f['eval-data']} holds preference pairs but --data ${f.data} does not: give DPO data for both, or neither`);
    return null;
  }
  if (f['eval-data'] && !evalPairs) throw new Error(`--data ${f.data} holds preference pairs (DPO) but --eval-data ${f['eval-data']} does not: give pairs there too`);
  if (f['validation-split-percentage'] !== undefined) throw new Error('--validation-split-percentage is for language-model data; with preference pairs give --eval-data');
  const lossType = (f['loss-type'] ?? 'sigmoid') as string;
  if (f.method === 'cpo') {
    if (!torch.train.CPO_LOSS_TYPES.includes(lossType as torch.train.CPOLossType)) throw new Error(`--loss-type must be ${torch.train.CPO_LOSS_TYPES.join(', ')} for --method cpo; got '${lossType}'`);
  } else if (f.method === 'dpo') {
    dpoLoss(f); // (checked now, before the model loads; KTO's loss types, and ORPO's and SimPO's lack of one, with their trainers')
  }
  // (TRL's ORPO and CPO tokenizers put the tokenizer's bos before each prompt: GPT-2's <|endoftext|>)
  return [pairs, evalPairs, { ...truncationOptions(f), bosTokenId: ['orpo', 'cpo', 'simpo'].includes(f.method as string) ? tokenizerFromFlags(f).bosTokenId : null }];
}

