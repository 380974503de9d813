// GPT-2, numerically Hugging Face's GPT2LMHeadModel (its eager or sdpa attention), in the style of
// nanoGPT's model.py: every line is the math. Parameter names are Hugging Face's, so
// checkpoints load and save in their layout: config.json + model.safetensors.
import * as fs from 'fs';
import * as path from 'path';
import { Tensor, ToArgs } from '../tensor/tensor';
import { arange, empty, full, ones, zeros, getDefaultDtype, withDefaultDevice } from '../tensor/creation';
import { cat } from '../tensor/ops';
import { tidy } from '../tensor/scope';
import { noGrad, manualSeed, getRngState, setRngState, isGradEnabled, autocast } from '../tensor/runtime';
import { checkpointWithParameters } from '../tensor/checkpoint';
import { DType, Device, finfo, isFloatingDtype } from '../tensor/dtype';
import { Module, ModuleList } from '../nn/module';
import { Conv1D, Dropout, Embedding, LayerNorm, Linear } from '../nn/layers';
import { factoryOf } from '../nn/args';
import { isOptionsObject, keywordOptions } from '../tensor/options';
import type { TensorModule } from '../nn/containers';
import * as F from '../nn/functional';
import { appendToCache, newCache } from './kv_cache';
import { AssistantSettings, BeamSearchOutput, DecodeRecord, DecodingState, GenerateOptions, GenerateOutput, StepsOf, assistedSteps, beamSearchSteps, computeTransitionScores, contrastiveSteps, greedySteps, prefillChunkSteps, promptLookupSteps, isContrastive, checkGenerateOptions, checkGenerateKeys, newTokenBounds, eosList, generationConfigJson, readGenerationConfig, withDefaults } from './generation';
import { SaveWeightsOptions, loadWeights, saveWeights } from '../io/weights';
import { writeFileAtomic } from '../io/atomic';
import { adapterBaseModel, notInCacheHint, readAdapterConfigFile, repoIdOf, resolvePretrained } from '../io/hub';
import { isJsonObject } from '../io/json';

/** GPT-2's LayerNorms always have their weight and bias. */
type AffineLayerNorm = LayerNorm & { weight: Tensor; bias: Tensor };

/** Hugging Face's GPT2Config keys (config.json). */
export interface GPT2Config {
  vocab_size: number;
  n_positions: number;
  n_embd: number;
  n_layer: number;
  n_head: number;
  n_inner?: number | null;
  activation_function?: string;
  resid_pdrop?: number;
  embd_pdrop?: number;
  attn_pdrop?: number;
  layer_norm_epsilon?: number;
  initializer_range?: number;
  bos_token_id?: number;
  /** one end token, or several (HF allows a list: any ends a generated sequence) */
  eos_token_id?: number | number[];
  tie_word_embeddings?: boolean;
  scale_attn_weights?: boolean;
  /** HF's: attention scores also divided by the block's index + 1 (Mistral / Megatron-style GPT-2s) */
  scale_attn_by_inverse_layer_idx?: boolean;
  /** HF's: eager attention scales q before q·kᵀ and takes scores and softmax in float32, whatever the autocast */
  reorder_and_upcast_attn?: boolean;
  model_type?: string;
}

/** A config with every default filled in. Extra keys of a config.json are carried along. */
export type ResolvedGPT2Config = Required<Omit<GPT2Config, 'n_inner' | 'model_type'>> & { n_inner: number | null };

const DEFAULTS: Omit<ResolvedGPT2Config, never> = {
  vocab_size: 50257, n_positions: 1024, n_embd: 768, n_layer: 12, n_head: 12, n_inner: null,
  activation_function: 'gelu_new', resid_pdrop: 0.1, embd_pdrop: 0.1, attn_pdrop: 0.1,
  layer_norm_epsilon: 1e-5, initializer_range: 0.02, bos_token_id: 50256, eos_token_id: 50256,
  tie_word_embeddings: true, scale_attn_weights: true, scale_attn_by_inverse_layer_idx: false, reorder_and_upcast_attn: false,
};

export function resolveConfig(partial: Partial<GPT2Config>): ResolvedGPT2Config {
  const c = { ...DEFAULTS, ...partial } as ResolvedGPT2Config;
  for (const k of ['vocab_size', 'n_positions', 'n_embd', 'n_layer', 'n_head'] as const) {
    if (!Number.isInteger(c[k]) || (c[k] as number) <= 0) throw new Error(`GPT2Config: ${k} must be a positive integer, got ${JSON.stringify(c[k])}`);
  }
  if (c.n_embd % c.n_head !== 0) throw new Error(`GPT2Config: n_embd (${c.n_embd}) must be divisible by n_head (${c.n_head})`);
  if (!Object.prototype.hasOwnProperty.call(ACTIVATIONS, c.activation_function)) {
    throw new Error(`GPT2Config: activation_function '${c.activation_function}' is not supported (${Object.keys(ACTIVATIONS).join(', ')})`);
  }
  return c;
}

const ACTIVATIONS: Record<string, (x: Tensor) => Tensor> = {
  gelu_new: (x) => F.gelu(x, 'tanh'),
  gelu_pytorch_tanh: (x) => F.gelu(x, 'tanh'),
  gelu: (x) => F.gelu(x),
  relu: (x) => x.relu(),
};

/** The most negative finite value of a dtype (torch.finfo(dtype).min): HF's mask value. */
export function finfoMin(dtype: DType): number {
  return finfo(isFloatingDtype(dtype) ? dtype : 'float32').min;
}

/**
 * How attention is computed (Hugging Face's `attn_implementation`): 'eager' is the math op by op
 * (HF's eager GPT2Attention; on the CPU a block of queries at a time where its weights are not
 * needed whole, see GPT2Attention.eagerInBlocks); 'sdpa' is F.scaledDotProductAttention, libtorch's fused kernels
 * (flash / memory-efficient on CUDA), which never materializes the (T, T) scores. Default:
 * 'sdpa' where libtorch has it (2.x), as HF; 'eager' on 1.13, where it would only be composed.
 */
export type AttnImplementation = 'eager' | 'sdpa';

export interface GPT2ModelOptions {
  dtype?: DType;
  device?: Device;
  attnImplementation?: AttnImplementation;
  /** fromPretrained of a hub id found in the Hugging Face cache: its branch, tag or commit (default main). */
  revision?: string;
  /**
   * fromPretrained on the CPU: the weights stay mapped from their file (torch.load's mmap) instead
   * of read into memory: loaded at once, read from disk as first used, and shared with the page
   * cache and with every other process mapping that file (data-parallel workers on one machine,
   * several servers). Weights cast by dtype, and those a training step changes (each page as it
   * is first written), get memory of their own. Keep the file unchanged while the model lives.
   */
  mmap?: boolean;
}

/** The model class each PEFT task type's adapter goes on (fromPretrained of an adapter folder). */
const CLASS_OF_TASK: Record<string, string> = { CAUSAL_LM: 'GPT2LMHeadModel', SEQ_CLS: 'GPT2ForSequenceClassification', TOKEN_CLS: 'GPT2ForTokenClassification' };

/**
 * Refuses an adapter folder whose PEFT task_type is another class's (a SEQ_CLS adapter given to
 * GPT2LMHeadModel.fromPretrained): the head it carries would not fit. An adapter without a head
 * (CAUSAL_LM, or none named) goes on a classifier as transformers puts one: with a new head.
 */
export function checkAdapterTask(cls: string, dir: string, adapterConfig: Record<string, unknown>): void {
  const task = adapterConfig.task_type;
  const owner = typeof task === 'string' && Object.hasOwn(CLASS_OF_TASK, task) ? CLASS_OF_TASK[task] : undefined;
  if (owner === undefined || owner === cls || task === 'CAUSAL_LM') return;
  throw new Error(`${cls}: ${dir} is a ${task} adapter, with a head for ${owner}: load it with ${owner}.fromPretrained`);
}

/**
 * An adapter folder `dir` loaded as a model: its base (loadBase; a base that does not load is
 * said as the adapter's), then the adapter on it, unmerged, in eval mode.
 */
export async function withAdapterFolder<M extends Module>(what: string, dir: string, base: string, loadBase: () => M | Promise<M>): Promise<M> {
  let model: M;
  try {
    model = await loadBase();
  } catch (e) {
    throw new Error(`${what}: ${dir} is a PEFT adapter on '${base}' (its base_model_name_or_path), which does not load: ${(e as Error).message}`);
  }
  const { loadAdapter } = await import('../lora/inject'); // (imported here: the LoRA code imports the models)
  try {
    await loadAdapter(model, dir);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model.eval();
}

/** GPT2ModelOptions' names, checked where a user gives them (fromPretrained). */
export const MODEL_OPTIONS = ['dtype', 'device', 'attnImplementation', 'revision', 'mmap'];

function resolveAttnImplementation(a: AttnImplementation | undefined): AttnImplementation {
  if (a === undefined) return F.hasFusedAttention ? 'sdpa' : 'eager';
  if (a !== 'eager' && a !== 'sdpa') throw new Error(`GPT-2: attnImplementation must be 'eager' or 'sdpa', got '${a}'`);
  return a;
}

/** A layer mapping one tensor to one tensor (Conv1D, or LoRA's wrapper around it). */
export type { TensorModule };

/** A layer's cached keys and values, (B, n_head, T, head_dim) each. */
export type LayerPast = [Tensor, Tensor];

export interface GPT2Output {
  logits: Tensor;
  loss?: Tensor;
  /** with useCache: the keys/values to pass back as pastKeyValues */
  pastKeyValues?: LayerPast[];
  /**
   * with outputHiddenStates: HF's hidden_states, n_layer + 1 of them, (B, T, n_embd): the
   * embeddings, each block's input after them, and last the final block's output after ln_f
   */
  hiddenStates?: Tensor[];
  /**
   * with outputAttentions: HF's attentions, one per layer, (B, n_head, T, T_past + T): each
   * query's attention weights over the keys (after dropout, as HF returns them)
   */
  attentions?: Tensor[];
}

export interface ForwardOptions {
  labels?: Tensor;
  /**
   * (B, T_past + T), 1 for tokens to attend to, 0 for padding; or (B, 1, T, T_past + T): for each
   * query position the keys it may attend (packed sequences: each attends to its own only). The
   * causal mask applies on top either way.
   */
  attentionMask?: Tensor;
  /** (B, T) or (1, T) positions of the input tokens (HF's position_ids); default T_past .. T_past + T - 1 */
  positionIds?: Tensor;
  pastKeyValues?: LayerPast[];
  useCache?: boolean;
  /**
   * HF's logits_to_keep: 0 (default) computes logits at every position; k > 0 only at the last
   * k. generate() asks for 1: a long prompt then never makes its (B, T, vocab) logits.
   */
  logitsToKeep?: number;
  /**
   * With labels: the loss with label smoothing ε (HF's label_smoothing_factor, the Trainer's
   * LabelSmoother): (1 - ε)·NLL + ε·mean over the vocabulary of -log p, over the labelled tokens.
   */
  labelSmoothing?: number;
  /**
   * With labels: 'nll' (default) the cross-entropy; 'dft' TRL's Dynamic Fine-Tuning loss, each
   * token's -log p weighted by its p, detached (TRL's SFTConfig loss_type='dft').
   */
  lossType?: LmLossType;
  /** HF's output_hidden_states: the output's hiddenStates, every layer's (see GPT2Output) */
  outputHiddenStates?: boolean;
  /**
   * HF's output_attentions: the output's attentions, every layer's weights (see GPT2Output). They
   * are computed by the eager attention, whatever attnImplementation says (HF falls back so too).
   */
  outputAttentions?: boolean;
}

const FORWARD_KEYS = ['labels', 'attentionMask', 'positionIds', 'pastKeyValues', 'useCache', 'logitsToKeep', 'labelSmoothing', 'lossType', 'outputHiddenStates', 'outputAttentions'];

/**
 * A head's forward arguments: (inputIds, options), or HF's model(**batch), one object with
 * inputIds among the options (a batch { inputIds, attentionMask, labels }); the options checked
 * by name, so that Python's attention_mask is an error naming attentionMask, not a mask ignored.
 */
export function forwardArguments<O extends object>(name: string, inputIds: Tensor | (O & { inputIds: Tensor }), opts: O | undefined, keys: string[]): [Tensor, O] {
  if (!(inputIds instanceof Tensor)) {
    if (!isOptionsObject(inputIds)) throw new Error(`${name}.forward: expected inputIds, a (batch, sequence) tensor of token ids, or one object { inputIds, ...options }`);
    if (opts !== undefined) throw new Error(`${name}.forward: give inputIds and the options, or one object with inputIds among them, not both`);
    const { inputIds: ids, ...rest } = inputIds as O & { inputIds: Tensor };
    if (!(ids instanceof Tensor)) throw new Error(`${name}.forward: the object has no inputIds tensor (HF's input_ids): give { inputIds, ...options }`);
    return [ids, keywordOptions(`${name}.forward`, rest as unknown as O, keys)];
  }
  return [inputIds, keywordOptions(`${name}.forward`, opts, keys)];
}

/** The causal-LM loss: cross-entropy ('nll'), or Dynamic Fine-Tuning's probability-weighted one ('dft'). */
export type LmLossType = 'nll' | 'dft';

export class GPT2Attention extends Module {
  declare c_attn: TensorModule;
  declare c_proj: TensorModule;
  declare attn_dropout: Dropout;
  declare resid_dropout: Dropout;
  readonly nHead: number;
  readonly headDim: number;
  attnImplementation: AttnImplementation;
  /**
   * How many attention scores the eager attention computes at once on the CPU, where its weights
   * are needed only for the output (see eagerInBlocks): 2^20, 4 MiB of float32.
   */
  static scoreBlockElements = 2 ** 20;
  constructor(readonly config: ResolvedGPT2Config, readonly layerIdx: number, opts: GPT2ModelOptions = {}) {
    super();
    this.nHead = config.n_head;
    this.headDim = config.n_embd / config.n_head;
    this.attnImplementation = resolveAttnImplementation(opts.attnImplementation);
    this.registerModule('c_attn', new Conv1D(3 * config.n_embd, config.n_embd, factoryOf(opts)));
    this.registerModule('c_proj', new Conv1D(config.n_embd, config.n_embd, factoryOf(opts)));
    this.registerModule('attn_dropout', new Dropout(config.attn_pdrop));
    this.registerModule('resid_dropout', new Dropout(config.resid_pdrop));
  }

  /** (B, T, C) -> (B, nHead, T, headDim) */
  private splitHeads(x: Tensor): Tensor {
    const [B, T] = x.shape;
    return x.view([B, T, this.nHead, this.headDim]).permute([0, 2, 1, 3]);
  }

  /** The output, the keys and values to cache (with useCache), and (with weights) the attention weights. */
  forward(x: Tensor, causalMask: Tensor, attentionMask: Tensor | null, past: LayerPast | null, useCache: boolean, weights = false): [Tensor, LayerPast | null, Tensor | null] {
    return tidy(() => {
      const [B, T, C] = x.shape;
      const [q, k0, v0] = this.c_attn.forward(x).split(C, 2);
      const query = this.splitHeads(q);
      let key = this.splitHeads(k0);
      let value = this.splitHeads(v0);
      if (past) {
        key = appendToCache(past[0], key, this.config.n_positions);
        value = appendToCache(past[1], value, this.config.n_positions);
      } else if (useCache) {
        // (a prompt's cache straight into a buffer with room: the next pass appends there, and the
        // attention reads keys laid out by head, not strided views of the qkv projection)
        key = newCache(key, this.config.n_positions);
        value = newCache(value, this.config.n_positions);
      }
      const present: LayerPast | null = useCache ? [key, value] : null;
      const K = key.shape[2];
      const causal = causalMask.narrow(0, K - T, T).narrow(1, 0, K);
      const [attended, probs] = this.attnImplementation === 'sdpa' && !weights
        ? [this.sdpa(query, key, value, causal, attentionMask, past !== null, x.dtype), null]
        : !weights && this.probsUnobserved()
          ? [this.eagerInBlocks(query, key, value, causal, attentionMask), null]
          : this.eager(query, key, value, causal, attentionMask);
      const y = attended.permute([0, 2, 1, 3]).contiguous().view([B, T, C]);
      const out = this.resid_dropout.forward(this.c_proj.forward(y));
      return [out, present, weights ? probs : null] as [Tensor, LayerPast | null, Tensor | null];
    });
  }

  /** HF's eager attention, all queries at once: the output and the attention weights. */
  private eager(query: Tensor, key: Tensor, value: Tensor, causal: Tensor, attentionMask: Tensor | null): [Tensor, Tensor] {
    return this.attendBlock(query, key, value, causal.logicalNot(), attentionMask, true);
  }

  /**
   * Whether the attention weights are needed only for the output: no dropout on them, and no hook
   * on attn_dropout to see them. Then eagerInBlocks computes them a block at a time.
   */
  private probsUnobserved(): boolean {
    const d = this.attn_dropout;
    return !(d.training && d.p > 0) && !d._hasHooks();
  }

  /**
   * eager()'s math a block of queries at a time. On the CPU each op of eager() makes a (B, n_head,
   * T, K) tensor, 48 MiB for one 1000-token prompt; glibc maps so large a buffer anew and
   * page-faults it in, op after op, which took most of a long prompt's pass. Blocks of about
   * scoreBlockElements scores stay in reused memory (and in cache). Without a padding mask, a
   * block's keys also end where its last query's causal window does: the keys cut would carry
   * finfo.min, exp() of which is 0. With one, all keys are kept: a padded query row (nothing it may
   * see unmasked) spreads its weights over every finfo.min key, future ones included, as HF's.
   * The same numbers as eager() up to the rounding of the matmuls and softmax.
   */
  private eagerInBlocks(query: Tensor, key: Tensor, value: Tensor, causal: Tensor, attentionMask: Tensor | null): Tensor {
    const [B, , T] = query.shape;
    const K = key.shape[2];
    const rows = query.device === 'cpu' ? Math.max(1, Math.floor(GPT2Attention.scoreBlockElements / (B * this.nHead * K))) : T;
    const hidden = causal.logicalNot();
    if (rows >= T) return this.attendBlock(query, key, value, hidden, attentionMask, false)[0];
    [key, value] = [F.foldedKeys(key), F.foldedKeys(value)];
    return F.inQueryBlocks(T, rows, (i, n) => {
      const keys = attentionMask ? K : K - T + i + n;
      const mask = attentionMask && (attentionMask.shape[2] === 1 ? attentionMask : attentionMask.narrow(2, i, n)).narrow(3, 0, keys);
      return this.attendBlock(query.narrow(2, i, n), key.narrow(2, 0, keys), value.narrow(2, 0, keys), hidden.narrow(0, i, n).narrow(1, 0, keys), mask, false)[0];
    });
  }

  /**
   * HF's eager attention for some queries over some keys: scores = q kᵀ / sqrt(head_dim) (/ (layer
   * + 1) with scale_attn_by_inverse_layer_idx), finfo.min where `hidden` (the causal mask's
   * future), then the padding mask; the softmax, attn_dropout (where `dropout`), times v. The
   * scores are changed in place: each op on them would otherwise make another tensor of their size.
   * reorder_and_upcast_attn (HF's _upcast_and_reordered_attn): the scale goes into a float32
   * q·kᵀ (autocast off), softmax in float32, the probabilities cast back to v's dtype.
   */
  private attendBlock(query: Tensor, key: Tensor, value: Tensor, hidden: Tensor, attentionMask: Tensor | null, dropout: boolean): [Tensor, Tensor] {
    const c = this.config;
    let scores: Tensor;
    if (c.reorder_and_upcast_attn) {
      const scale = (c.scale_attn_weights ? 1 / Math.sqrt(this.headDim) : 1) / (c.scale_attn_by_inverse_layer_idx ? this.layerIdx + 1 : 1);
      const device = query.device.startsWith('cuda') ? 'cuda' : 'cpu';
      scores = autocast(() => query.float().matmul(key.float().transpose(-1, -2)).mul_(scale), { deviceType: device, enabled: false });
    } else {
      scores = query.matmul(key.transpose(-1, -2));
      if (c.scale_attn_weights) scores.div_(Math.sqrt(this.headDim));
      if (c.scale_attn_by_inverse_layer_idx) scores.div_(this.layerIdx + 1);
    }
    scores.maskedFill_(hidden, finfoMin(scores.dtype));
    // (a float32 mask on bfloat16 scores under autocast: the sum is float32, as HF's)
    if (attentionMask) scores = attentionMask.dtype === scores.dtype ? scores.add_(attentionMask) : scores.add(attentionMask);
    let probs = F.softmax(scores, -1);
    if (c.reorder_and_upcast_attn) probs = probs.to({ dtype: value.dtype });
    if (dropout) probs = this.attn_dropout.forward(probs);
    return [probs.matmul(value), probs];
  }

  /**
   * HF's sdpa attention: the causal flag alone when nothing else is masked (so the flash kernel
   * can run), else one additive mask: finfo.min on future positions, plus the padding mask. As
   * HF, the mask has the hidden states' dtype (float32 under autocast, where q is bfloat16):
   * bfloat16 cannot hold float32's finfo.min, and a padded row must keep one finite entry.
   */
  private sdpa(query: Tensor, key: Tensor, value: Tensor, causal: Tensor, attentionMask: Tensor | null, hasPast: boolean, maskDtype: DType): Tensor {
    // sdpa divides by sqrt(d) itself: q scaled so that the scores are eager's (HF's sdpa path does the same since 2026)
    const factor = (this.config.scale_attn_weights ? 1 : Math.sqrt(this.headDim)) / (this.config.scale_attn_by_inverse_layer_idx ? this.layerIdx + 1 : 1);
    if (factor !== 1) query = query.mul(factor);
    const dropoutP = this.training ? this.attn_dropout.p : 0;
    const T = query.shape[2];
    if (!attentionMask && (!hasPast || T === 1)) {
      // No past: the plain causal mask. One new token with a past: it sees every key.
      return F.scaledDotProductAttention(query, key, value, { dropoutP, isCausal: !hasPast && T > 1 });
    }
    let mask = zeros([], { dtype: maskDtype, device: query.device }).where(causal, finfoMin(maskDtype));
    if (attentionMask) mask = mask.add(attentionMask);
    return F.scaledDotProductAttention(query, key, value, { attnMask: mask, dropoutP });
  }
}

export class GPT2MLP extends Module {
  declare c_fc: TensorModule;
  declare c_proj: TensorModule;
  declare dropout: Dropout;
  private readonly act: (x: Tensor) => Tensor;
  constructor(config: ResolvedGPT2Config, opts: { dtype?: DType; device?: Device } = {}) {
    super();
    const inner = config.n_inner ?? 4 * config.n_embd;
    this.registerModule('c_fc', new Conv1D(inner, config.n_embd, factoryOf(opts)));
    this.registerModule('c_proj', new Conv1D(config.n_embd, inner, factoryOf(opts)));
    this.registerModule('dropout', new Dropout(config.resid_pdrop));
    this.act = ACTIVATIONS[config.activation_function];
  }
  forward(x: Tensor): Tensor {
    return tidy(() => this.dropout.forward(this.c_proj.forward(this.act(this.c_fc.forward(x)))));
  }
}

export class GPT2Block extends Module {
  declare ln_1: AffineLayerNorm;
  declare attn: GPT2Attention;
  declare ln_2: AffineLayerNorm;
  declare mlp: GPT2MLP;
  constructor(config: ResolvedGPT2Config, layerIdx: number, opts: GPT2ModelOptions = {}) {
    super();
    this.registerModule('ln_1', new LayerNorm(config.n_embd, config.layer_norm_epsilon, factoryOf(opts)));
    this.registerModule('attn', new GPT2Attention(config, layerIdx, opts));
    this.registerModule('ln_2', new LayerNorm(config.n_embd, config.layer_norm_epsilon, factoryOf(opts)));
    this.registerModule('mlp', new GPT2MLP(config, opts));
  }
  forward(x: Tensor, causalMask: Tensor, attentionMask: Tensor | null, past: LayerPast | null, useCache: boolean, weights = false): [Tensor, LayerPast | null, Tensor | null] {
    return tidy(() => {
      const [a, present, probs] = this.attn.forward(this.ln_1.forward(x), causalMask, attentionMask, past, useCache, weights);
      const h = x.add(a);
      const out = h.add(this.mlp.forward(this.ln_2.forward(h)));
      return [out, present, probs] as [Tensor, LayerPast | null, Tensor | null];
    });
  }
}

const causalMaskOf = (n: number, device?: Device): Tensor => tidy(() => ones([n, n], { dtype: 'bool', device }).tril());

export class GPT2Model extends Module {
  declare wte: Embedding;
  declare wpe: Embedding;
  declare drop: Dropout;
  declare h: ModuleList<GPT2Block>;
  declare ln_f: AffineLayerNorm;
  declare causalMask: Tensor;
  constructor(readonly config: ResolvedGPT2Config, opts: GPT2ModelOptions = {}) {
    super();
    this.registerModule('wte', new Embedding(config.vocab_size, config.n_embd, factoryOf(opts)));
    this.registerModule('wpe', new Embedding(config.n_positions, config.n_embd, factoryOf(opts)));
    this.registerModule('drop', new Dropout(config.embd_pdrop));
    const blocks: GPT2Block[] = [];
    for (let i = 0; i < config.n_layer; i++) blocks.push(new GPT2Block(config, i, opts));
    this.registerModule('h', new ModuleList(blocks));
    this.registerModule('ln_f', new LayerNorm(config.n_embd, config.layer_norm_epsilon, factoryOf(opts)));
    // HF keeps a (1, 1, n_positions, n_positions) bool `attn.bias` per layer; one shared
    // (n_positions, n_positions) lower-triangular mask, outside the state dict, is the same math.
    this.registerBuffer('causalMask', causalMaskOf(config.n_positions, opts.device), false);
  }

  /**
   * Builds the causal mask anew, where the weights are: it is derived, not learned, so no
   * checkpoint holds it, and after toEmpty (or a build on the meta device) it has no values.
   */
  resetBuffers(): void {
    const old = this.causalMask;
    this.registerBuffer('causalMask', causalMaskOf(this.config.n_positions, this.wte.weight.device), false);
    old.dispose();
  }

  /** Set by GPT2LMHeadModel.gradientCheckpointingEnable(): forward recomputes each block in backward. */
  gradientCheckpointing = false;

  forward(inputIds: Tensor, opts: ForwardOptions = {}): { hidden: Tensor; presents: LayerPast[] | null; hiddenStates?: Tensor[]; attentions?: Tensor[] } {
    return tidy(() => {
      const [B, T] = inputIds.shape;
      const pastLen = opts.pastKeyValues ? opts.pastKeyValues[0][0].shape[2] : 0;
      if (pastLen + T > this.config.n_positions) {
        throw new Error(`GPT-2: sequence length ${pastLen + T} exceeds n_positions ${this.config.n_positions}`);
      }
      if (opts.positionIds && (opts.positionIds.shape.length !== 2 || opts.positionIds.shape[1] !== T || ![1, B].includes(opts.positionIds.shape[0]))) {
        throw new Error(`GPT-2: positionIds must be [${B}, ${T}] (or [1, ${T}]), got [${opts.positionIds.shape}]`);
      }
      let x = this.embed(inputIds, opts.positionIds ?? arange(pastLen, pastLen + T, 1, { device: this.wte.weight.device }).unsqueeze(0));
      const mask = opts.attentionMask ? additiveMask(opts.attentionMask, x.dtype) : null;
      const presents: LayerPast[] = [];
      // Checkpointing applies with autograd on and no cache; unlike HF, in eval mode too: the
      // preference trainers turn dropout off that way (TRL's disable_dropout) and still train.
      // The gradients are the same either way; only memory and time differ.
      const checkpointed = this.gradientCheckpointing && isGradEnabled() && !opts.useCache && !opts.outputAttentions;
      const hiddenStates: Tensor[] = []; // (HF's: each block's input, then the output after ln_f)
      const attentions: Tensor[] = [];
      this.h.items.forEach((block, i) => {
        if (opts.outputHiddenStates) hiddenStates.push(x);
        if (checkpointed) {
          const trainable = block.parameters().filter((p) => p.requiresGrad);
          // (the mask goes in as an argument: saved for backward's recompute, past this tidy)
          x = checkpointWithParameters((h, m) => block.forward(h as Tensor, this.causalMask, m as Tensor | null, null, false)[0], [x, mask], trainable);
          return;
        }
        const [y, present, probs] = block.forward(x, this.causalMask, mask, opts.pastKeyValues?.[i] ?? null, opts.useCache ?? false, opts.outputAttentions);
        x = y;
        if (present) presents.push(present);
        if (probs) attentions.push(probs);
      });
      const hidden = this.ln_f.forward(x);
      return {
        hidden, presents: opts.useCache ? presents : null,
        ...(opts.outputHiddenStates ? { hiddenStates: [...hiddenStates, hidden] } : {}), ...(opts.outputAttentions ? { attentions } : {}),
      };
    });
  }

  /**
   * NEFTune (HF's neftune_noise_alpha): while training, uniform noise in ±alpha/sqrt(T·n_embd)
   * is added to the token embeddings, as HF's hook on the input embeddings does. 0 is off.
   */
  neftuneNoiseAlpha = 0;

  /** Token plus position embeddings, then dropout. */
  embed(inputIds: Tensor, positionIds: Tensor): Tensor {
    return tidy(() => {
      let tokens = this.wte.forward(inputIds);
      if (this.neftuneNoiseAlpha > 0 && this.training) {
        const [, T, C] = tokens.shape;
        const magnitude = this.neftuneNoiseAlpha / Math.sqrt(T * C);
        tokens = tokens.add(zeros(tokens.shape, { dtype: tokens.dtype, device: tokens.device }).uniform_(-magnitude, magnitude));
      }
      return this.drop.forward(tokens.add(this.wpe.forward(positionIds)));
    });
  }
}

/**
 * What GPT-2 with any head shares (HF's GPT2PreTrainedModel): the weights' init, and the
 * attention implementation and gradient checkpointing of its transformer.
 */
export abstract class GPT2PreTrainedModel extends Module {
  declare transformer: GPT2Model;
  abstract readonly config: ResolvedGPT2Config;
  /** What fromPretrained was given (HF's name_or_path): a folder, or a hub id; PEFT writes it as an adapter's base_model_name_or_path. */
  nameOrPath: string | null = null;

  /** HF's init: N(0, 0.02) weights, zero biases, LayerNorm 1/0, c_proj N(0, 0.02/sqrt(2 n_layer)); only: the parameters to init, by name (default all). */
  initWeights(only?: (name: string) => boolean): void {
    const std = this.config.initializer_range;
    noGrad(() => {
      for (const [name, p] of this.namedParameters()) {
        if (only && !only(name)) continue;
        if (name.endsWith('ln_1.weight') || name.endsWith('ln_2.weight') || name.endsWith('ln_f.weight')) p.fill_(1);
        else if (name.endsWith('.bias')) p.zero_();
        else if (name.endsWith('c_proj.weight')) p.normal_(0, std / Math.sqrt(2 * this.config.n_layer));
        else p.normal_(0, std);
      }
    });
  }

  /** How every layer computes attention (see AttnImplementation). */
  get attnImplementation(): AttnImplementation {
    return this.transformer.h.items[0].attn.attnImplementation;
  }
  /** Switches every layer's attention, weights untouched (HF: set_attn_implementation). */
  setAttnImplementation(a: AttnImplementation): this {
    const resolved = resolveAttnImplementation(a);
    for (const block of this.transformer.h.items) block.attn.attnImplementation = resolved;
    return this;
  }

  /**
   * HF's gradient checkpointing (gradient_checkpointing_enable): while training, forward keeps
   * only each block's input (torch.utils.checkpoint per block, the block's trainable parameters
   * as its inputs) and backward recomputes the block; GPT2LMHeadModel.forwardBackward (and so
   * the Trainer) does the same block by block without a graph node per block.
   */
  get gradientCheckpointing(): boolean {
    return this.transformer.gradientCheckpointing;
  }
  set gradientCheckpointing(on: boolean) {
    this.transformer.gradientCheckpointing = on;
  }
  gradientCheckpointingEnable(): this {
    this.gradientCheckpointing = true;
    return this;
  }
  gradientCheckpointingDisable(): this {
    this.gradientCheckpointing = false;
    return this;
  }
}

/** model(inputIds, opts) or model(batch), as forward's two forms (a call takes forward's overloads). */
export interface GPT2LMHeadModel {
  (inputIds: Tensor, opts?: ForwardOptions): GPT2Output;
  (batch: ForwardOptions & { inputIds: Tensor }): GPT2Output;
}
/** What generate() keeps of its steps for HF's GenerateOutput: the scores and logits asked for. */
function newRecord(o: GenerateOptions): DecodeRecord {
  return { scores: o.returnDictInGenerate && o.outputScores ? [] : undefined, logits: o.returnDictInGenerate && o.outputLogits ? [] : undefined };
}

function disposeRecord(record: DecodeRecord): void {
  for (const t of [...record.scores ?? [], ...record.logits ?? []]) t.dispose();
}

/** generate()'s result: the sequences, or HF's GenerateOutput (its tensors the caller's to dispose). */
function generateOutput(o: GenerateOptions, out: BeamSearchOutput, record: DecodeRecord): number[][] | GenerateOutput {
  if (!o.returnDictInGenerate) return out.sequences;
  return {
    sequences: out.sequences, ...(record.scores ? { scores: record.scores } : {}), ...(record.logits ? { logits: record.logits } : {}),
    ...((o.numBeams ?? 1) > 1 ? { beamIndices: out.beamIndices, sequencesScores: out.scores } : {}),
  };
}

/** Greedy decoding or sampling with the cache: each pass feeds what the cache does not cover (a batch can share it; prefill chunking applies). */
function isPlainDecoding(o: GenerateOptions): boolean {
  return (o.numBeams ?? 1) <= 1 && !o.assistantModel && !o.promptLookupNumTokens && !isContrastive(o) && o.useCache !== false;
}

export class GPT2LMHeadModel extends GPT2PreTrainedModel {
  declare transformer: GPT2Model;
  declare lm_head: Linear;
  readonly config: ResolvedGPT2Config;
  /** generate()'s defaults, as HF's GenerationConfig: fromPretrained reads generation_config.json; savePretrained writes it */
  generationConfig: GenerateOptions = {};

  constructor(config: Partial<GPT2Config>, opts: GPT2ModelOptions = {}) {
    super();
    this.config = resolveConfig(config);
    this.registerModule('transformer', new GPT2Model(this.config, opts));
    // lm_head shares wte's weight (tied), as HF: the same tensor under two names; with
    // tie_word_embeddings false it has its own (saved as lm_head.weight).
    const tied = this.config.tie_word_embeddings ? { weight: this.transformer.wte.weight } : {};
    this.registerModule('lm_head', new Linear(this.config.n_embd, this.config.vocab_size, { bias: false, ...tied }));
    this.initWeights();
  }

  /**
   * A training step's forward with labels and its backward: .grad gets what
   * `forward(ids, { labels }).loss.mul(lossScale).backward()` gives; returns the loss, detached.
   * `wrap` runs each piece of forward work (the Trainer passes bf16 autocast).
   *
   * With gradientCheckpointing (torch.utils.checkpoint per block, preserve_rng_state): the blocks
   * run without autograd, keeping only each block's input; backward then goes block by block, last
   * first, recomputing the block from its input with autograd, its dropout replayed from the
   * generator state it first ran with. Same gradients, and the generator ends where the plain
   * step leaves it; activation memory is the inputs plus one block's, for one more forward of the blocks.
   */
  forwardBackward(ids: Tensor, opts: { labels?: Tensor; attentionMask?: Tensor; positionIds?: Tensor; lossScale?: number; labelSmoothing?: number; lossType?: LmLossType; wrap?: <T>(fn: () => T) => T } = {}): Tensor {
    const labels = opts.labels ?? ids, scale = opts.lossScale ?? 1;
    const run = opts.wrap ?? (<T>(fn: () => T): T => fn());
    if (!this.gradientCheckpointing) {
      return tidy(() => {
        const out = run(() => this.forward(ids, { labels, attentionMask: opts.attentionMask, positionIds: opts.positionIds, labelSmoothing: opts.labelSmoothing, lossType: opts.lossType }));
        out.logits.dispose(); // backward does not need them: free (B, T, vocab) floats early
        (scale === 1 ? out.loss! : out.loss!.mul(scale)).backward();
        return out.loss!.detach();
      });
    }
    return tidy(() => {
      const t = this.transformer, blocks = t.h.items, device = t.wte.weight.device;
      const T = ids.shape[1];
      if (T > this.config.n_positions) throw new Error(`GPT-2: sequence length ${T} exceeds n_positions ${this.config.n_positions}`);
      const positions = opts.positionIds ?? arange(0, T, 1, { device }).unsqueeze(0);
      let mask: Tensor | null = null;
      const blockForward = (i: number, x: Tensor) => run(() => blocks[i].forward(x, t.causalMask, mask, null, false)[0]);
      // Forward without autograd: each segment's input and its generator state (the embedding's first).
      const rngStates = [getRngState(device)];
      const inputs: Tensor[] = [noGrad(() => run(() => t.embed(ids, positions)))];
      if (opts.attentionMask) mask = additiveMask(opts.attentionMask, inputs[0].dtype); // (the hidden states' dtype, as forward)
      for (let i = 0; i < blocks.length; i++) {
        rngStates.push(getRngState(device));
        const x = inputs[i];
        inputs.push(noGrad(() => blockForward(i, x)));
      }
      const rngAfter = getRngState(device);
      // The head (ln_f, lm_head, the loss) with autograd, from the last block's output.
      const last = inputs[blocks.length].requiresGrad_();
      const loss = run(() => causalLmLoss(this.lm_head.forward(t.ln_f.forward(last)), labels, opts.labelSmoothing ?? 0, opts.lossType));
      (scale === 1 ? loss : loss.mul(scale)).backward();
      let grad = last.grad!;
      for (let i = blocks.length - 1; i >= 0; i--) {
        const x = inputs[i].requiresGrad_();
        setRngState(rngStates[i + 1], device);
        const y = blockForward(i, x);
        y.backward(grad);
        y.dispose();
        grad.dispose();
        grad = x.grad!;
      }
      // (frozen under LoRA, unless an embedding has LoRA of its own: nothing to do)
      if ([...t.wte.parameters(), ...t.wpe.parameters()].some((p) => p.requiresGrad)) {
        setRngState(rngStates[0], device);
        run(() => t.embed(ids, positions)).backward(grad);
      }
      setRngState(rngAfter, device);
      return loss.detach();
    });
  }

  /** Ties lm_head to wte again (after wte's tensor was replaced, e.g. by to()), where they are tied. */
  private retie(): void {
    if (this.config.tie_word_embeddings) this.lm_head.registerParameter('weight', this.transformer.wte.weight);
  }
  override to(...args: ToArgs): this {
    super.to(...args);
    this.retie();
    return this;
  }

  forward(inputIds: Tensor, opts?: ForwardOptions): GPT2Output;
  /** HF's model(**batch): one object with inputIds among the options */
  forward(batch: ForwardOptions & { inputIds: Tensor }): GPT2Output;
  forward(ids: Tensor | (ForwardOptions & { inputIds: Tensor }), options?: ForwardOptions): GPT2Output {
    const [inputIds, opts] = forwardArguments('GPT2LMHeadModel', ids, options, FORWARD_KEYS);
    return tidy(() => {
      const { hidden, presents, hiddenStates, attentions } = this.transformer.forward(inputIds, opts);
      const keep = opts.logitsToKeep ?? 0;
      if (!Number.isInteger(keep) || keep < 0) throw new Error(`GPT-2: logitsToKeep must be an integer >= 0, got ${keep}`);
      if (keep && opts.labels) throw new Error('GPT-2: logitsToKeep and labels together: the loss needs the logits at every position');
      const T = hidden.shape[1];
      const logits = this.lm_head.forward(keep && keep < T ? hidden.narrow(1, T - keep, keep) : hidden);
      const out: GPT2Output = { logits };
      if (presents) out.pastKeyValues = presents;
      if (hiddenStates) out.hiddenStates = hiddenStates;
      if (attentions) out.attentions = attentions;
      if (opts.labels) out.loss = causalLmLoss(logits, opts.labels, opts.labelSmoothing ?? 0, opts.lossType);
      return out;
    });
  }

  /**
   * Autoregressive generation with a key/value cache. Returns each sequence's tokens, prompt
   * included. Greedy unless doSample (or temperature > 0); top-k and top-p as HF's warpers;
   * numBeams > 1 is beam search (see beamSearch). Prompts of different lengths run as one batch
   * as in HF: left-padded, with an attention mask and positions counted from each prompt's first
   * token, so each gets what it would alone. With numReturnSequences n, each prompt's n sequences
   * are adjacent. Options not given come from generationConfig (a folder's generation_config.json).
   */
  generate(prompt: Tensor | number[] | number[][], opts: GenerateOptions & { returnDictInGenerate: true }): GenerateOutput;
  generate(prompt: Tensor | number[] | number[][], opts?: GenerateOptions): number[][];
  generate(prompt: Tensor | number[] | number[][], opts: GenerateOptions = {}): number[][] | GenerateOutput {
    const o = withDefaults(this.generationConfig, checkGenerateKeys(opts));
    const record = newRecord(o);
    const steps = this.decodeSteps(prompt, o, (o.numBeams ?? 1) > 1, record);
    try {
      for (;;) {
        const r = this.advance(steps, o);
        if (r.done) return generateOutput(o, r.value, record);
      }
    } catch (e) {
      disposeRecord(record);
      throw e;
    }
  }

  /**
   * generate() that gives the event loop a turn after each step (a token; a round of assisted
   * decoding), so a server stays responsive while it runs; the same result as generate(). With
   * opts.signal (an AbortSignal) it stops at the next step once aborted, rejecting with the
   * signal's reason (an AbortError), every tensor freed. Calls may overlap, on one model or
   * several (the model stays in eval mode until the last ends); overlapping sampled calls share
   * the random generator, so a seed repeats its text only for a call that runs alone.
   */
  generateAsync(prompt: Tensor | number[] | number[][], opts: GenerateOptions & { returnDictInGenerate: true }): Promise<GenerateOutput>;
  generateAsync(prompt: Tensor | number[] | number[][], opts?: GenerateOptions): Promise<number[][]>;
  async generateAsync(prompt: Tensor | number[] | number[][], opts: GenerateOptions = {}): Promise<number[][] | GenerateOutput> {
    const o = withDefaults(this.generationConfig, checkGenerateKeys(opts));
    const record = newRecord(o);
    const steps = this.decodeSteps(prompt, o, (o.numBeams ?? 1) > 1, record);
    try {
      for (;;) {
        const r = this.advance(steps, o);
        if (r.done) return generateOutput(o, r.value, record);
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } catch (e) {
      disposeRecord(record);
      throw e;
    }
  }

  /**
   * One step of a generation: without autograd, under opts.autocast; an aborted opts.signal
   * ends the steps (their clean-up runs) and throws its reason.
   */
  private advance<T>(steps: StepsOf<T>, o: GenerateOptions): IteratorResult<void, T> {
    if (o.signal?.aborted) {
      noGrad(() => steps.return(undefined as unknown as T));
      o.signal.throwIfAborted();
    }
    const next = () => noGrad(() => steps.next());
    return o.autocast ? autocast(next, o.autocast) : next();
  }

  /**
   * @internal generate() a step at a time, for GenerationBatcher: the steps (advanced without
   * autograd), the decoding state once the first step has made it, and whether every pass is a
   * plain one (greedy or sampling: what the cache does not cover through the model) that a batch
   * can share. A plain generation's first step makes the state and yields before any pass (but
   * the shared pass of a prompt its numReturnSequences rows repeat: then its rows' last tokens
   * are left, a step other generations can share).
   */
  generationSteps(prompt: Tensor | number[] | number[][], opts: GenerateOptions = {}): { steps: StepsOf<BeamSearchOutput>; state: () => DecodingState | undefined; plain: boolean } {
    const o = withDefaults(this.generationConfig, checkGenerateKeys(opts));
    const beams = (o.numBeams ?? 1) > 1;
    let state: DecodingState | undefined;
    const plain = isPlainDecoding(o);
    // (a plain generation's first step only sets it up, so that its prompt's pass can be shared too; see sharePromptPass)
    const steps = this.decodeSteps(prompt, o, beams, {}, (s) => { state = s; }, plain);
    return { steps, state: () => state, plain };
  }

  /** HF's compute_transition_scores on generate()'s output (see generation.ts). */
  computeTransitionScores(sequences: number[][], scores: Tensor[], beamIndices: number[][] | null = null, normalizeLogits = false): number[][] {
    return computeTransitionScores(sequences, scores, beamIndices, normalizeLogits);
  }

  /**
   * Beam search (HF's generate with num_beams): the sequences and their scores (HF's
   * sequences_scores: summed log-probabilities of the new tokens / their number ** lengthPenalty).
   */
  beamSearch(prompt: Tensor | number[] | number[][], opts: GenerateOptions = {}): BeamSearchOutput {
    const o = withDefaults(this.generationConfig, checkGenerateKeys(opts));
    const beamOptions = { ...o, numBeams: o.numBeams ?? 4 };
    const steps = this.decodeSteps(prompt, beamOptions, true);
    for (;;) {
      const r = this.advance(steps, beamOptions);
      if (r.done) return r.value;
    }
  }

  /** A generation's steps (see StepsOf): the checks and set-up at the first, the clean-up after the last. */
  private *decodeSteps(prompt: Tensor | number[] | number[][], opts: GenerateOptions, beams: boolean, record: DecodeRecord = {}, onState?: (state: DecodingState) => void,
    pauseBeforePrompt = false): StepsOf<BeamSearchOutput> {
    const eos = opts.eosTokenId === undefined ? this.config.eos_token_id : opts.eosTokenId;
    const prompts: number[][] = prompt instanceof Tensor
      ? (prompt.tolist() as number[][])
      : Array.isArray(prompt[0]) ? (prompt as number[][]) : [prompt as number[]];
    if (!prompts.length || prompts.some((r) => !r.length)) throw new Error('generate: every prompt needs at least one token');
    checkGenerateOptions(opts);
    if (opts.seed !== undefined) manualSeed(opts.seed); // (after the checks: options refused leave the global generator as it was)
    const longest = Math.max(...prompts.map((x) => x.length));
    const { maxNew, minNew } = newTokenBounds(opts, longest);
    opts = { ...opts, maxNewTokens: maxNew, minNewTokens: minNew };
    if (longest > this.config.n_positions) {
      throw new Error(`generate: a prompt of ${longest} tokens is longer than this model's context (n_positions ${this.config.n_positions}); shorten it`);
    }
    if (opts.promptLookupNumTokens && prompts.length > 1) throw new Error('generate: promptLookupNumTokens takes one prompt at a time (as HF\'s assisted decoding)');
    if (opts.padTokenId !== undefined && opts.padTokenId >= this.config.vocab_size) throw new Error(`generate: padTokenId ${opts.padTokenId} is beyond this model's vocabulary (${this.config.vocab_size})`);
    const assistant = opts.assistantModel;
    if (assistant !== undefined && !(assistant instanceof GPT2LMHeadModel)) throw new Error('generate: assistantModel must be a GPT2LMHeadModel (e.g. GPT2LMHeadModel.fromPretrained(\'distilgpt2\'))');
    let assisting: AssistantSettings | undefined;
    if (assistant) {
      if (prompts.length > 1) throw new Error('generate: assistantModel takes one prompt at a time (as HF\'s assisted decoding)');
      if (assistant.config.vocab_size !== this.config.vocab_size) {
        throw new Error(`generate: the assistant's vocabulary (${assistant.config.vocab_size} tokens) is not this model's (${this.config.vocab_size}): an assistant drafts in the model's own tokens (distilgpt2 for GPT-2)`);
      }
      // (its settings: this call's (or this model's generation config), else the assistant's generation config, else HF's defaults)
      assisting = {
        numAssistantTokens: opts.numAssistantTokens ?? assistant.generationConfig.numAssistantTokens ?? 20,
        numAssistantTokensSchedule: opts.numAssistantTokensSchedule ?? assistant.generationConfig.numAssistantTokensSchedule ?? 'constant',
        assistantConfidenceThreshold: opts.assistantConfidenceThreshold ?? assistant.generationConfig.assistantConfidenceThreshold ?? 0.4,
      };
      checkGenerateOptions(assisting); // (the assistant's own generation config may set them)
    }
    // Each prompt's beams (or samples) are rows of their own, adjacent, left-padded to the longest.
    const copies = beams ? opts.numBeams! : opts.numReturnSequences ?? 1;
    const rows = prompts.flatMap((p) => Array.from({ length: copies }, () => [...p]));
    const padding = rows.map((r) => longest - r.length);
    // The model sees positions 0 .. n_positions - 1: a full context still predicts one more token.
    const maxLength = Math.min(longest + maxNew, this.config.n_positions + 1);
    if (opts.pastKeyValues) this.checkPromptCache(opts, prompts);
    const releaseModel = this.holdEval();
    const pad = opts.padTokenId ?? eosList(eos)[0] ?? 0; // (HF: pad_token_id, else the first end token)
    const state = new DecodingState((ids, o) => this.forward(ids, o), rows, padding, pad, this.transformer.wte.weight.device, opts.useCache ?? true, this.config.n_positions);
    if (opts.pastKeyValues) state.seedCache(opts.pastKeyValues, prompts.length);
    onState?.(state);
    const releaseAssistant = assistant?.holdEval();
    const draft = assistant && new DecodingState((ids, o) => assistant.forward(ids, o), [[...rows[0]]], [0], pad, assistant.transformer.wte.weight.device, true, assistant.config.n_positions);
    try {
      if (opts.prefillChunkSize !== undefined && isPlainDecoding(opts) && state.length < maxLength) {
        const started = Date.now();
        yield* prefillChunkSteps(state, opts.prefillChunkSize);
        // (maxTime counts from the call, the prompt's passes included, as HF's MaxTimeCriteria: what is left of it, or at least a step)
        if (opts.maxTime !== undefined) opts = { ...opts, maxTime: Math.max(opts.maxTime - (Date.now() - started) / 1000, 1e-9) };
      } else if (state.length < maxLength) {
        if (copies > 1 && (beams || isPlainDecoding(opts)) && (opts.useCache ?? true) && !opts.pastKeyValues && longest > 1) this.sharePromptPass(state, prompts, longest, pad);
        if (pauseBeforePrompt) yield; // (a pass to make when resumed: the prompt's, or its last token's after a shared pass)
      }
      if (beams) return yield* beamSearchSteps(state, opts, eos, maxLength, record);
      if (draft && assisting) {
        const { sequences, numAssistantTokens } = yield* assistedSteps(state, draft, assisting, opts, eos, maxLength, record);
        // (HF's 'heuristic' schedule carries the draft length reached over to the assistant's next call)
        if (assisting.numAssistantTokensSchedule === 'heuristic') assistant!.generationConfig = { ...assistant!.generationConfig, numAssistantTokens };
        return { sequences, scores: [] };
      }
      if (opts.promptLookupNumTokens) return { sequences: yield* promptLookupSteps(state, opts, eos, maxLength, record, this.config.vocab_size), scores: [] };
      if (isContrastive(opts)) return { sequences: yield* contrastiveSteps(state, opts, eos, maxLength, record), scores: [] };
      return { sequences: yield* greedySteps(state, opts, eos, maxLength, record), scores: [] };
    } finally {
      state.dispose();
      draft?.dispose();
      releaseAssistant?.();
      releaseModel();
    }
  }

  /**
   * Rows that repeat a prompt (its beams, or its numReturnSequences samples) share its pass: the
   * prompt but its last token goes through the model once per prompt, its cache is repeated to
   * the rows, and the first step feeds each row only the last token. HF puts every row through
   * the whole prompt: numBeams times the prompt's pass (and its activations' memory).
   */
  private sharePromptPass(state: DecodingState, prompts: number[][], longest: number, pad: number): void {
    const once = new DecodingState((ids, o) => this.forward(ids, o), prompts.map((p) => [...p]), prompts.map((p) => longest - p.length), pad, state.device, true);
    try {
      once.feedAhead(longest - 1);
      state.seedCache(once.cache!, prompts.length);
    } finally {
      once.dispose();
    }
  }

  /** generate's pastKeyValues (HF's past_key_values): this model's cache of the prompts' first tokens, leaving some to feed. */
  private checkPromptCache(opts: GenerateOptions, prompts: number[][]): void {
    const past = opts.pastKeyValues!, c = this.config;
    const bad = (why: string) => { throw new Error(`generate: pastKeyValues ${why}`); };
    if (!Array.isArray(past) || past.length !== c.n_layer || !past.every((l) => Array.isArray(l) && l.length === 2 && l.every((t) => t instanceof Tensor))) {
      bad(`must be a forward pass's cache: ${c.n_layer} layers of [keys, values] (model.forward(ids, { useCache: true }).pastKeyValues)`);
    }
    if (isContrastive(opts)) bad('is not taken by contrastive search (its first pass needs the whole prompt\'s hidden states)');
    if (opts.useCache === false) bad('needs the cache (useCache)');
    if (new Set(prompts.map((p) => p.length)).size > 1) bad('goes with prompts of one length (a cache of a common prefix has no padding)');
    const [B, H, P, D] = past[0][0].shape, device = String(this.transformer.wte.weight.device);
    const want = `(1 or ${prompts.length}, ${c.n_head}, P, ${c.n_embd / c.n_head})`;
    for (const t of past.flat()) {
      if (t.dim() !== 4 || t.shape[0] !== B || t.shape[2] !== P || (B !== 1 && B !== prompts.length) || t.shape[1] !== H || H !== c.n_head || t.shape[3] !== D || D !== c.n_embd / c.n_head) {
        bad(`tensors must be ${want} keys and values, got (${t.shape.join(', ')})`);
      }
      if (String(t.device) !== device) bad(`is on ${t.device}, the model on ${device}`);
    }
    if (P >= prompts[0].length) bad(`covers ${P} positions, the prompt has ${prompts[0].length} tokens: it must leave at least the prompt's last token to feed (cache one token less)`);
  }

  /**
   * Eval mode while a generation runs; the mode from before the first of them comes back after
   * the last (generateAsync calls may overlap). Returns the release.
   */
  private holdEval(): () => void {
    if (this.generations++ === 0) this.trainingBeforeGenerate = this.training;
    this.eval();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.generations === 0) this.train(this.trainingBeforeGenerate);
    };
  }
  private generations = 0;
  private trainingBeforeGenerate = false;

  // ---------- Hugging Face folders ----------

  /**
   * Loads config.json + model.safetensors from a Hugging Face GPT-2 folder, in eval mode. A PEFT
   * adapter folder (adapter_config.json, no config.json) loads as transformers loads one with PEFT
   * installed: its base model (base_model_name_or_path), then the adapter on it (unmerged).
   */
  static async fromPretrained(nameOrPath: string, opts: GPT2ModelOptions = {}): Promise<GPT2LMHeadModel> {
    keywordOptions('GPT2LMHeadModel.fromPretrained', opts, MODEL_OPTIONS);
    const dir = resolvePretrained(nameOrPath, { revision: opts.revision });
    const base = adapterBaseModel(dir);
    if (base !== undefined) {
      checkAdapterTask('GPT2LMHeadModel', dir, readAdapterConfigFile(dir));
      return withAdapterFolder('GPT-2', dir, base, () => GPT2LMHeadModel.fromPretrained(base, { ...opts, revision: undefined })); // (the revision was the adapter's)
    }
    const config = readConfig(dir);
    const generationConfig = readGenerationConfig(dir);
    // (without a generation_config.json HF's from_model_config takes config.json's pad token)
    const configPad = (config as { pad_token_id?: unknown }).pad_token_id;
    if (!fs.existsSync(path.join(dir, 'generation_config.json')) && Number.isInteger(configPad) && (configPad as number) >= 0) generationConfig.padTokenId = configPad as number;
    const tied = config.tie_word_embeddings !== false;
    const model = loadPretrained(dir, opts, () => new GPT2LMHeadModel(config, { attnImplementation: opts.attnImplementation }), {
      keep: tied ? undefined : 'lm_head', // (an untied head is read as it is)
      prepare: (_m, state) => {
        // the tied lm_head follows wte
        const wte = state.get('transformer.wte.weight');
        if (tied && wte) state.set('lm_head.weight', wte);
        if (!tied && !state.has('lm_head.weight')) {
          throw new Error('config.json has tie_word_embeddings false, so the weights need an lm_head.weight of their own, and they have none; with the head tied to wte, set tie_word_embeddings true');
        }
        return [];
      },
      describe: (_m, file, message) => `GPT-2: ${file}: ${message} (does config.json match the weights?)`,
    });
    model.generationConfig = generationConfig;
    model.nameOrPath = repoIdOf(dir) ?? nameOrPath;
    return model.eval(); // as Hugging Face's from_pretrained: dropout off until train()
  }

  /**
   * Writes config.json, generation_config.json and model.safetensors (HF's names, lm_head omitted
   * where tied), each atomically; past opts.maxShardSize (default '5GB') the weights go in shards with
   * an index, and safeSerialization: false writes pytorch_model.bin, as HF's save_pretrained.
   */
  async savePretrained(dir: string, opts: SaveWeightsOptions = {}): Promise<void> {
    this.writePretrained(dir, opts);
  }

  /** savePretrained, synchronously (e.g. inside writeDirAtomic). */
  writePretrained(dir: string, opts: SaveWeightsOptions = {}): void {
    saveWeights(dir, this.hfStateDict(), opts);
    const config = {
      ...this.config,
      architectures: ['GPT2LMHeadModel'],
      model_type: 'gpt2',
      torch_dtype: this.transformer.wte.weight.dtype,
    };
    writeFileAtomic(path.join(dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
    const generation = generationConfigJson(this.generationConfig, this.config.bos_token_id, this.config.eos_token_id);
    // (a pad token in the config, e.g. set by a TRL-style run, goes to the generation config too, as HF's from_model_config)
    const pad = (this.config as { pad_token_id?: number | null }).pad_token_id;
    if (pad !== undefined && pad !== null) generation.pad_token_id ??= pad;
    writeFileAtomic(path.join(dir, 'generation_config.json'), JSON.stringify(generation, null, 2) + '\n');
  }

  /** The tensors Hugging Face's save_pretrained writes: the state dict without the tied lm_head (an untied one stays). */
  hfStateDict(): Map<string, Tensor> {
    return new Map([...this.stateDict()].filter(([k]) => k !== 'lm_head.weight' || !this.config.tie_word_embeddings));
  }
}

/**
 * HF's from_pretrained without the double work (its low_cpu_mem_usage), for GPT-2 with any head.
 * The folder's weights (model.safetensors, its shards, or pytorch_model.bin; the attn.bias /
 * masked_bias buffers and a tied lm_head stored anyway are not read) are read straight to opts.device and
 * cast one tensor at a time to opts.dtype (float32, or the default dtype, unless asked, as HF's
 * torch_dtype), never whole in another dtype or place. make() builds the model on the meta device
 * (no memory, nothing drawn), and loadStateDict with assign adopts the tensors as they are: one
 * read of the weights, not a full init and a copy besides. prepare() completes the state and
 * names the modules the checkpoint lacks (a new classification head), which alone get memory and
 * HF's init; the causal mask, which no checkpoint holds, is built. Strict: every other name must
 * match. An error of make() itself comes as it is; one of the weights as describe() says it.
 */
export function loadPretrained<M extends GPT2PreTrainedModel>(dir: string, opts: GPT2ModelOptions, make: () => M, how: {
  keep?: string; // (names under this head stay as they are; the rest are the transformer's)
  prepare: (model: M, state: Map<string, Tensor>) => string[];
  describe: (model: M, file: string, message: string) => string;
}): M {
  const ignored = (name: string) => /\.attn\.(bias|masked_bias)$/.test(name) || (name === 'lm_head.weight' && how.keep !== 'lm_head');
  const dtype = opts.dtype ?? getDefaultDtype();
  const { tensors, file } = loadWeights(dir, 'model', { filter: (name) => !ignored(name), dtype, device: opts.device, mmap: opts.mmap });
  try {
    const state = new Map<string, Tensor>();
    for (const [name, t] of tensors) state.set(name.startsWith('transformer.') || (how.keep && name.startsWith(`${how.keep}.`)) ? name : `transformer.${name}`, t);
    const model = withDefaultDevice('meta', make);
    try {
      for (const name of how.prepare(model, state)) {
        model.getSubmodule(name).toEmpty({ device: 'cpu' });
        model.initWeights((p) => p.startsWith(`${name}.`));
        for (const [n, t] of model.namedParameters()) if (n.startsWith(`${name}.`)) state.set(n, t);
      }
      model.loadStateDict(state, { assign: true });
      model.transformer.resetBuffers();
    } catch (e) {
      model.dispose();
      throw new Error(how.describe(model, file, (e as Error).message));
    }
    // (the weights are so already: this converts and moves what was initialised here)
    return model.to({ dtype, device: opts.device });
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
}

/**
 * An attention mask of 1/0 as HF adds it to the scores: (B, K) becomes (B, 1, 1, K), a
 * (B, 1, T, K) one stays so; 0 where attended, finfo.min where not.
 */
export function additiveMask(attentionMask: Tensor, dtype: DType): Tensor {
  const dims = attentionMask.shape.length;
  if (dims !== 2 && !(dims === 4 && attentionMask.shape[1] === 1)) throw new Error(`GPT-2: attentionMask must be (B, K) or (B, 1, T, K), got [${attentionMask.shape}]`);
  return tidy(() => (dims === 2 ? attentionMask.view([attentionMask.shape[0], 1, 1, -1]) : attentionMask).to({ dtype }).rsub(1).mul(finfoMin(dtype)));
}

/**
 * HF's causal-LM loss (transformers' ForCausalLMLoss): the mean cross-entropy of the logits at
 * each position against the next position's label, ignoring -100. As HF, the labels are shifted
 * (padded with -100 at the end), not the logits: those are (B, T, vocab), the step's largest
 * tensor, and a shifted copy of them (and its gradient) would cost as much again. lossType 'dft'
 * is TRL's dft_loss: the mean over the labelled tokens of -p·log p, p the token's probability
 * detached (Dynamic Fine-Tuning: each token's gradient scaled by how likely the model finds it).
 */
export function causalLmLoss(logits: Tensor, labels: Tensor, labelSmoothing = 0, lossType: LmLossType = 'nll'): Tensor {
  if (!(labelSmoothing >= 0 && labelSmoothing < 1)) throw new Error(`GPT-2 loss: label smoothing must be in [0, 1), got ${labelSmoothing}`);
  if (lossType !== 'nll' && lossType !== 'dft') throw new Error(`GPT-2 loss: lossType must be nll or dft, got '${lossType}'`);
  if (lossType === 'dft' && labelSmoothing) throw new Error('GPT-2 loss: the dft loss takes no label smoothing');
  return tidy(() => {
    const [B, T, V] = logits.shape;
    if (labels.shape.length !== 2 || labels.shape[0] !== B || labels.shape[1] !== T) {
      throw new Error(`GPT-2 loss: labels must be [${B}, ${T}] like input_ids, got [${labels.shape}]`);
    }
    const ignored = full([B, 1], -100, { dtype: labels.dtype, device: labels.device });
    const shiftLabels = cat([labels.narrow(1, 1, T - 1), ignored], 1).view([-1]);
    if (lossType === 'dft') {
      const predicted = shiftLabels.ne(-100);
      const logp = logits.to({ dtype: 'float32' }).reshape([-1, V]).logSoftmax(-1).gather(1, shiftLabels.clampMin(0).unsqueeze(1)).squeeze(1);
      const perToken = logp.exp().detach().mul(logp).neg().mul(predicted);
      return perToken.sum().div(predicted.sum());
    }
    return F.crossEntropy(logits.to({ dtype: 'float32' }).reshape([-1, V]), shiftLabels, { ignoreIndex: -100, labelSmoothing });
  });
}

export function readConfig(dir: string): GPT2Config {
  const file = path.join(dir, 'config.json');
  let raw: string;
  try {
    raw = fs.readFileSync(file, 'utf8');
  } catch {
    throw new Error(fs.existsSync(dir) ? `GPT-2: ${file} not found (a model folder needs config.json and model.safetensors)` : `GPT-2: ${dir}: no such folder${notInCacheHint(dir)}`);
  }
  let config: GPT2Config;
  try {
    config = JSON.parse(raw);
  } catch (e) {
    throw new Error(`GPT-2: ${file} is not valid JSON (${(e as Error).message})`);
  }
  if (!isJsonObject(config)) throw new Error(`GPT-2: ${file} must hold a JSON object (a model's config)`);
  if (config.model_type !== undefined && config.model_type !== 'gpt2') throw new Error(`GPT-2: ${file} is a '${config.model_type}' model, not gpt2`);
  resolveConfig(config);
  return config;
}
