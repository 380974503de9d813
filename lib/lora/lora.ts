// LoRA for GPT-2's Conv1D layers (and, as PEFT, for nn.Linear ones: W (out, in) instead of
// Conv1D's (in, out), the same A, B and formulas), in two modes of one wrapper:
//
//   peft (default): y = base(x) + dropout(x)·Aᵀ·Bᵀ·s, A (r, in) kaiming_uniform(a=√5), B (out, r)
//                   zeros, s = alpha/r (rsLoRA: alpha/√r). W + BA is never materialised while
//                   training; merge() folds it into the base weight for inference.
//   DoRA (useDora, peft mode; PEFT's use_dora): the update's direction and magnitude apart.
//                   m (out) starts as the column norms of W; with n = ||W + s·(BA)ᵀ|| per output,
//                   detached (DoRA §4.3), y = base(x) + (m/n - 1)·x̃W + (m/n)·x̃·Aᵀ·Bᵀ·s, x̃ the
//                   dropped-out x (x itself, so x̃W = base(x) - b, when dropout is off), as PEFT.
//   seed:           the notebook's LoRAConv1DWrapper exactly: y = x·(W + W_B·W_A) + b, unscaled,
//                   W_A (r, out) kaiming_uniform(a=√5), W_B (in, r) zeros (the notebook names
//                   them from Conv1D's (in, out) weight as if it were (out, in)); lora_alpha and
//                   dropout are ignored, as in the notebook.
import { isOptionsObject, keywordOptions, shownValue as shown } from '../tensor/options';
import { Tensor } from '../tensor/tensor';
import { empty, zeros, randn } from '../tensor/creation';
import { noGrad } from '../tensor/runtime';
import { tidy } from '../tensor/scope';
import { Module } from '../nn/module';
import { Conv1D, Dropout, Embedding, Linear } from '../nn/layers';
import * as F from '../nn/functional';
import { kaimingUniform_ } from '../nn/init';
import { svd } from '../tensor/linalg';
import { svdLowrank } from '../tensor/lowrank';

export type LoRAMode = 'peft' | 'seed';
export type BiasMode = 'none' | 'all' | 'lora_only';

export interface LoRAOptions {
  r?: number;
  alpha?: number;
  dropout?: number;
  /**
   * Module names or dotted suffixes ('c_attn', 'c_proj', 'c_fc', 'attn.c_proj', 'mlp.c_proj'; in
   * other models any Conv1D or nn.Linear: 'linear1', 'out_proj'); or, as PEFT, one string:
   * 'all-linear' (every Conv1D and Linear but the output layer, lm_head) or a regular expression
   * the whole module name must match ('.*\\.h\\.(10|11)\\.attn\\.c_attn').
   */
  targetModules?: string[] | string;
  mode?: LoRAMode;
  bias?: BiasMode;
  /** modules trained fully and saved with the adapter (e.g. 'ln_f', 'wte') */
  modulesToSave?: string[] | null;
  useRslora?: boolean;
  /** DoRA (weight-decomposed LoRA; PEFT's use_dora): a trained magnitude per output besides A and B */
  useDora?: boolean;
  /**
   * PEFT's rank_pattern: ranks other than r for the layers whose names end in a key (after a dot),
   * the key a name part or a regular expression: { 'h.0.attn.c_attn': 16, 'mlp\\.c_fc': 2 }
   */
  rankPattern?: Record<string, number>;
  /** PEFT's alpha_pattern: alphas other than alpha, matched as rankPattern */
  alphaPattern?: Record<string, number>;
  /** PEFT's layers_to_transform: only the blocks with these indices (with a list of targetModules) */
  layersToTransform?: number | number[] | null;
  /** PEFT's layers_pattern: the name before the block index ('h' in GPT-2); by default any */
  layersPattern?: string | string[] | null;
  /** PEFT's exclude_modules: names or suffixes (or a regular expression) never wrapped */
  excludeModules?: string[] | string | null;
  /**
   * PEFT's init_lora_weights: true (A kaiming-uniform, B zeros: the model starts as its base),
   * 'gaussian' (A normal with std 1/r), false (B random too: the model starts changed), or
   * 'pissa' (PiSSA: A and B from the base weight's top r singular values and vectors, the base
   * keeping the residual W - s·BA; 'pissa_niter_K' takes them from a K-iteration randomized SVD)
   */
  initLoraWeights?: LoraInit;
  /**
   * PEFT's task_type: 'CAUSAL_LM', or 'SEQ_CLS' / 'TOKEN_CLS' (a classifier: its head, `score`
   * or `classifier`, also trains in full and is saved with the adapter, as PEFT's
   * modules_to_save). Default: by the model (SEQ_CLS for a GPT2ForSequenceClassification,
   * TOKEN_CLS for a GPT2ForTokenClassification).
   */
  taskType?: TaskType | null;
}

export type TaskType = 'CAUSAL_LM' | 'SEQ_CLS' | 'TOKEN_CLS';
export const TASK_TYPES: TaskType[] = ['CAUSAL_LM', 'SEQ_CLS', 'TOKEN_CLS'];
/** the head names PEFT adds to modules_to_save for SEQ_CLS and TOKEN_CLS */
export const CLASSIFIER_MODULE_NAMES = ['classifier', 'score'];

export type LoraInit = boolean | 'gaussian' | 'pissa' | `pissa_niter_${number}`;

export interface ResolvedLoRAOptions {
  r: number;
  alpha: number;
  dropout: number;
  /** names or suffixes, or a regular expression (PEFT's string form); 'all-linear' is resolved to names by applyLoRA */
  targetModules: string[] | string;
  mode: LoRAMode;
  bias: BiasMode;
  modulesToSave: string[] | null;
  useRslora: boolean;
  useDora: boolean;
  rankPattern: Record<string, number>;
  alphaPattern: Record<string, number>;
  layersToTransform: number | number[] | null;
  layersPattern: string | string[] | null;
  excludeModules: string[] | string | null;
  initLoraWeights: LoraInit;
  /** null until applyLoRA decides it from the model */
  taskType: TaskType | null;
}

const LORA_OPTIONS = ['r', 'alpha', 'dropout', 'targetModules', 'mode', 'bias', 'modulesToSave', 'useRslora', 'useDora', 'rankPattern', 'alphaPattern',
  'layersToTransform', 'layersPattern', 'excludeModules', 'initLoraWeights', 'taskType', 'adapterName'];
// (PEFT's LoraConfig names whose spelling here is not just camelCase)
const PEFT_NAMES: Record<string, string> = { lora_alpha: 'alpha', loraAlpha: 'alpha', lora_dropout: 'dropout', loraDropout: 'dropout' };

export function resolveLoRAOptions(o: LoRAOptions = {}): ResolvedLoRAOptions {
  // (unchecked, PEFT's target_modules or lora_alpha were quietly the defaults: LoRA on other layers, another scale)
  for (const k of Object.keys(o ?? {})) if (Object.hasOwn(PEFT_NAMES, k)) throw new Error(`LoRA: unknown option '${k}' (PEFT's ${k} is ${PEFT_NAMES[k]} here)`);
  keywordOptions('LoRA', o, LORA_OPTIONS);
  const r = o.r ?? 8;
  if (!Number.isInteger(r) || r < 0) throw new Error(`LoRA: rank r must be a non-negative integer, got ${shown(r)}`);
  const dropout = o.dropout ?? 0.05;
  if (!(typeof dropout === 'number' && dropout >= 0 && dropout < 1)) throw new Error(`LoRA: dropout must be in [0, 1), got ${shown(dropout)}`);
  // (a string or a number here would be taken as true, and written so into adapter_config.json)
  for (const k of ['useRslora', 'useDora'] as const) if (o[k] !== undefined && typeof o[k] !== 'boolean') throw new Error(`LoRA: ${k} must be true or false, got ${shown(o[k])}`);
  const names = (k: 'modulesToSave' | 'targetModules', v: unknown, regexOk: boolean) => {
    if (v === undefined || v === null || (regexOk && typeof v === 'string') || (Array.isArray(v) && v.every((x) => typeof x === 'string'))) return;
    throw new Error(`LoRA: ${k} must be a list of module names${regexOk ? ' (or one regular expression)' : ''}, got ${shown(v)}`);
  };
  names('modulesToSave', o.modulesToSave, false);
  names('targetModules', o.targetModules, true);
  for (const k of ['rankPattern', 'alphaPattern'] as const) if (o[k] !== undefined && o[k] !== null && !isOptionsObject(o[k])) throw new Error(`LoRA: ${k} must be an object of ${k === 'rankPattern' ? 'ranks' : 'alphas'} by layer-name pattern, e.g. { c_fc: 16 }; got ${shown(o[k])}`);
  const mode = o.mode ?? 'peft';
  if (mode !== 'peft' && mode !== 'seed') throw new Error(`LoRA: mode must be 'peft' or 'seed', got '${mode}'`);
  const bias = o.bias ?? 'none';
  if (!['none', 'all', 'lora_only'].includes(bias)) throw new Error(`LoRA: bias must be none, all or lora_only, got '${bias}'`);
  const targetModules = o.targetModules ?? ['c_attn', 'c_proj', 'c_fc'];
  if (!targetModules.length) throw new Error('LoRA: targetModules is empty');
  if (typeof targetModules === 'string' && targetModules !== 'all-linear') checkRegExp('targetModules', targetModules);
  if (typeof o.excludeModules === 'string') checkRegExp('excludeModules', o.excludeModules);
  const rankPattern = { ...(o.rankPattern ?? {}) }, alphaPattern = { ...(o.alphaPattern ?? {}) };
  for (const [k, v] of Object.entries(rankPattern)) {
    checkRegExp('rankPattern key', k);
    if (!Number.isInteger(v) || v < 1) throw new Error(`LoRA: rankPattern '${k}' must be a positive integer rank, got ${shown(v)}`);
  }
  for (const [k, v] of Object.entries(alphaPattern)) {
    checkRegExp('alphaPattern key', k);
    if (!(typeof v === 'number' && v > 0)) throw new Error(`LoRA: alphaPattern '${k}' must be a positive number, got ${shown(v)}`);
  }
  const initLoraWeights = o.initLoraWeights ?? true;
  if (!(typeof initLoraWeights === 'boolean' || initLoraWeights === 'gaussian' || initLoraWeights === 'pissa' || /^pissa_niter_\d+$/.test(initLoraWeights))) {
    throw new Error(`LoRA: initLoraWeights must be true, false, 'gaussian', 'pissa' or 'pissa_niter_K', got ${JSON.stringify(initLoraWeights)}`);
  }
  if (mode === 'seed' && initLoraWeights !== true) throw new Error('LoRA: initLoraWeights is a peft-mode option; the notebook\'s seed wrapper has its own init');
  const layersToTransform = o.layersToTransform ?? null;
  for (const i of layersToTransform === null ? [] : [layersToTransform].flat()) {
    if (!Number.isInteger(i) || i < 0) throw new Error(`LoRA: layersToTransform must hold block indices (integers >= 0), got ${shown(i)}`);
  }
  const alpha = o.alpha ?? 16;
  if (!(typeof alpha === 'number' && alpha > 0)) throw new Error(`LoRA: alpha must be a positive number, got ${shown(alpha)}`);
  const useDora = o.useDora ?? false;
  if (useDora && mode === 'seed') throw new Error('LoRA: DoRA (useDora) is a peft-mode option; the notebook\'s seed wrapper has no magnitude');
  const taskType = o.taskType ?? null;
  if (taskType !== null && !TASK_TYPES.includes(taskType)) throw new Error(`LoRA: taskType must be ${TASK_TYPES.join(' or ')}, got '${taskType}'`);
  return {
    r, alpha, dropout, targetModules, mode, bias, modulesToSave: o.modulesToSave ?? null, useRslora: o.useRslora ?? false, useDora,
    rankPattern, alphaPattern, layersToTransform, layersPattern: o.layersPattern ?? null, excludeModules: o.excludeModules ?? null, initLoraWeights,
    taskType,
  };
}

function checkRegExp(what: string, pattern: string): void {
  try {
    new RegExp(pattern);
  } catch (e) {
    throw new Error(`LoRA: ${what} '${pattern}' is not a valid regular expression (${(e as Error).message})`);
  }
}

/** PEFT's get_pattern_key: the first key that the name ends in (after a dot, or the whole name), as a regular expression. */
export function patternKey(keys: string[], name: string): string | undefined {
  return keys.find((k) => new RegExp(`^(?:.*\\.)?(?:${k})$`).test(name));
}

/** A layer's own options: its rank and alpha from rankPattern / alphaPattern, else r and alpha (PEFT's _create_and_replace). */
export function layerOptions(name: string, o: ResolvedLoRAOptions): ResolvedLoRAOptions {
  const rk = patternKey(Object.keys(o.rankPattern), name), ak = patternKey(Object.keys(o.alphaPattern), name);
  return { ...o, r: rk === undefined ? o.r : o.rankPattern[rk], alpha: ak === undefined ? o.alpha : o.alphaPattern[ak] };
}

/**
 * PEFT's check_target_module_exists: not excluded (excludeModules, modulesToSave), then a full
 * match of the targetModules expression, or a name / suffix in the list, kept to the blocks of
 * layersToTransform (the index after layersPattern, or after any name part) when it is given.
 */
export function isTargeted(name: string, o: ResolvedLoRAOptions): boolean {
  if (o.excludeModules !== null && matchesTarget(name, o.excludeModules)) return false;
  if ((o.modulesToSave ?? []).some((m) => new RegExp(`(^|.*\\.)${m}($|\\..*)`).test(name))) return false;
  if (typeof o.targetModules === 'string') return matchesTarget(name, o.targetModules);
  if (o.targetModules.includes(name)) return true;
  if (!matchesTarget(name, o.targetModules)) return false;
  const layers = o.layersToTransform;
  if (layers === null || (Array.isArray(layers) && !layers.length)) return true;
  const patterns = o.layersPattern === null || !o.layersPattern.length ? ['[^.]*'] : [o.layersPattern].flat();
  for (const p of patterns) {
    const m = new RegExp(`^.*\\.${p}\\.(\\d+)\\.`).exec(name);
    if (m) return Array.isArray(layers) ? layers.includes(Number(m[1])) : layers === Number(m[1]);
  }
  return false;
}

/** The layers LoRA wraps: GPT-2's Conv1D (weight (in, out)) and nn.Linear (weight (out, in)). */
export type LoRABase = Conv1D | Linear;

/** LoRA around one Conv1D (in = nx, out = nf) or Linear (PEFT's LoraLayer, fan_in_fan_out as the layer needs). */
export class LoRALayer extends Module {
  declare base_layer: LoRABase; // peft mode's name (PEFT: base_layer)
  declare base_module: Conv1D; // seed mode's name (the notebook: base_module)
  declare lora_A: LoRAFactor; // peft: A (r, in)
  declare lora_B: LoRAFactor; // peft: B (out, r)
  declare W_A: Tensor; // seed: (r, out)
  declare W_B: Tensor; // seed: (in, r)
  declare lora_dropout: Dropout;
  declare lora_magnitude_vector: Tensor; // DoRA: m (out)
  declare pissa_initial_A?: Tensor; // PiSSA: A and B as they started (non-persistent buffers)
  declare pissa_initial_B?: Tensor;
  readonly mode: LoRAMode;
  // the active adapter's rank, scaling and DoRA (another adapter, set active, brings its own)
  r: number;
  scaling: number;
  useDora: boolean;
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** the base weight is Conv1D's (in, out) (PEFT's fan_in_fan_out), not Linear's (out, in) */
  readonly fanInFanOut: boolean;
  merged = false;
  private doraFactor: Tensor | null = null; // DoRA: m / n at merge time (to unmerge exactly)
  /** true: forward is the base layer's alone (PEFT's disable_adapter) */
  disabled = false;
  /**
   * PEFT's several adapters: those not active here are parked, their tensors non-persistent
   * buffers 'parked__<adapter>__<name>' (they move with .to() and go with dispose(), out of
   * stateDict and of the parameters, so they neither train nor save), their settings here.
   */
  private readonly parked = new Map<string, { r: number; scaling: number; useDora: boolean; dropout: number }>();
  /** false: the active adapter does not wrap this layer (another one does): it computes as its base */
  hasActive = true;

  constructor(base: LoRABase, opts: ResolvedLoRAOptions) {
    super();
    this.mode = opts.mode;
    this.r = opts.r;
    this.useDora = opts.useDora && opts.mode === 'peft' && opts.r > 0;
    this.fanInFanOut = base instanceof Conv1D;
    if (!this.fanInFanOut && this.mode === 'seed') throw new Error('LoRA: seed mode (the notebook\'s wrapper) wraps Conv1D layers only; use peft mode for nn.Linear');
    const [inF, outF] = base instanceof Conv1D ? [base.nx, base.nf] : [base.inFeatures, base.outFeatures];
    this.inFeatures = inF;
    this.outFeatures = outF;
    const fopts = { dtype: base.weight.dtype, device: base.weight.device };
    if (this.mode === 'seed') {
      this.scaling = 1;
      this.registerModule('base_module', base);
      this.registerParameter('W_A', zeros([this.r, outF], fopts));
      this.registerParameter('W_B', zeros([inF, this.r], fopts));
      kaimingUniform_(this.W_A, Math.sqrt(5));
    } else {
      this.scaling = opts.useRslora ? opts.alpha / Math.sqrt(this.r) : opts.alpha / this.r;
      this.registerModule('base_layer', base);
      this.registerModule('lora_dropout', new Dropout(opts.dropout));
      this.registerModule('lora_A', new LoRAFactor(empty([this.r, inF], fopts)));
      this.registerModule('lora_B', new LoRAFactor(zeros([outF, this.r], fopts)));
      this.initFactors(opts.initLoraWeights);
      // DoRA's magnitude starts as ||W + ΔW|| per output (W's own norms when B starts at zero).
      if (this.useDora) this.registerParameter('lora_magnitude_vector', this.weightNorm());
    }
  }

  /** PEFT's reset_lora_parameters / pissa_init for init_lora_weights. */
  private initFactors(init: LoraInit): void {
    const A = this.lora_A.weight, B = this.lora_B.weight;
    if (init === true || init === false) {
      kaimingUniform_(A, Math.sqrt(5));
      if (init === false) kaimingUniform_(B, Math.sqrt(5)); // (nn.Linear's own init, left as it is)
    } else if (init === 'gaussian') {
      noGrad(() => A.normal_(0, 1 / this.r));
    } else {
      this.pissaInit(init);
    }
  }

  /**
   * PiSSA (PEFT's pissa_init): with W (out, in) = U·diag(S)·Vh, A = diag(sqrt(S_r / s))·Vh_r and
   * B = U_r·diag(sqrt(S_r / s)), so that s·BA is W's best rank-r part; the base keeps the rest,
   * W - s·BA, and the model starts as its base. In float32, whatever the weight's dtype.
   */
  private pissaInit(init: 'pissa' | `pissa_niter_${number}`): void {
    const base = this.base;
    noGrad(() => tidy(() => {
      const w32 = base.weight.to({ dtype: 'float32' });
      const W = this.fanInFanOut ? w32.t() : w32;
      let Ur: Tensor, Sr: Tensor, Vhr: Tensor;
      if (init === 'pissa') {
        const { U, S, Vh } = svd(W, { fullMatrices: false });
        [Ur, Sr, Vhr] = [U.narrow(1, 0, this.r), S.narrow(0, 0, this.r), Vh.narrow(0, 0, this.r)];
      } else {
        const { U, S, V } = svdLowrank(W, { q: this.r, niter: Number(init.slice('pissa_niter_'.length)) });
        [Ur, Sr, Vhr] = [U, S, V.t()];
      }
      const root = Sr.div(this.scaling).sqrt();
      const A = root.unsqueeze(1).mul(Vhr), B = Ur.mul(root.unsqueeze(0));
      this.lora_A.weight.copy_(A);
      this.lora_B.weight.copy_(B);
      // The starting factors, for saving the trained adapter as plain LoRA over the original base (saveAdapter's convertToLora)
      this.registerBuffer('pissa_initial_A', this.lora_A.weight.clone(), false);
      this.registerBuffer('pissa_initial_B', this.lora_B.weight.clone(), false);
      const residual = W.sub(B.matmul(A).mul(this.scaling));
      base.weight.copy_(this.fanInFanOut ? residual.t() : residual);
    }));
  }

  get base(): LoRABase {
    return this.mode === 'seed' ? this.base_module : this.base_layer;
  }

  /** The adapters this layer holds: the active one (when it has it) and the parked ones. */
  adapterNames(active: string): string[] {
    return [...(this.hasActive ? [active] : []), ...this.parked.keys()];
  }

  /** How many numbers the parked adapters hold (frozen; PEFT counts them among all params). */
  parkedNumel(): number {
    let n = 0;
    for (const name of this.parked.keys()) {
      for (const part of ['lora_A', 'lora_B', 'magnitude']) n += (this as unknown as Record<string, Tensor | undefined>)[`parked__${name}__${part}`]?.numel() ?? 0;
    }
    return n;
  }

  /** Parks the active adapter under name: the layer computes as its base until one is unparked. */
  park(name: string): void {
    if (this.mode === 'seed') throw new Error('LoRA: the notebook\'s seed wrapper holds one adapter');
    if (!this.hasActive) return;
    if (this.merged) throw new Error('LoRA: unmerge before switching adapters (the base weight holds the active one)');
    const tensors: [string, Tensor][] = [['lora_A', this.lora_A.weight], ['lora_B', this.lora_B.weight]];
    if (this.useDora) tensors.push(['magnitude', this.lora_magnitude_vector]);
    // The tensors themselves, not copies: parked and unparked again, an adapter's tensors are the
    // ones an optimizer, a gradient hook or .grad held (withAdapter switches mid-step). Parked,
    // they do not train (PEFT's set_adapter freezes the adapters it leaves).
    for (const [n, t] of tensors) this.registerBuffer(`parked__${name}__${n}`, t.requiresGrad_(false), false);
    this.parked.set(name, { r: this.r, scaling: this.scaling, useDora: this.useDora, dropout: this.lora_dropout.p });
    this.unregisterModule('lora_A');
    this.unregisterModule('lora_B');
    this.unregisterModule('lora_dropout');
    if (this.useDora) this.unregisterParameter('lora_magnitude_vector');
    this.hasActive = false;
  }

  /** Makes the parked adapter name this layer's active one (a layer without it computes as its base). */
  unpark(name: string): void {
    const meta = this.parked.get(name);
    if (!meta) return;
    if (this.hasActive) throw new Error('LoRA: internal error: park the active adapter first');
    const take = (n: string) => {
      const key = `parked__${name}__${n}`, t = (this as unknown as Record<string, Tensor>)[key];
      this.unregisterBuffer(key);
      return t;
    };
    this.registerModule('lora_dropout', new Dropout(meta.dropout).train(this.training));
    this.registerModule('lora_A', new LoRAFactor(take('lora_A')));
    this.registerModule('lora_B', new LoRAFactor(take('lora_B')));
    if (meta.useDora) this.registerParameter('lora_magnitude_vector', take('magnitude'));
    Object.assign(this, { r: meta.r, scaling: meta.scaling, useDora: meta.useDora });
    this.parked.delete(name);
    this.hasActive = true;
  }

  /** Takes over another layer's parked adapter (a wrapper made only to initialise it, around the same base). */
  adoptParked(name: string, from: LoRALayer): void {
    const meta = from.parked.get(name);
    if (!meta) throw new Error(`LoRA: internal error: no parked adapter '${name}' to adopt`);
    for (const n of ['lora_A', 'lora_B', 'magnitude']) {
      const key = `parked__${name}__${n}`, t = (from as unknown as Record<string, Tensor | undefined>)[key];
      if (!t) continue;
      this.registerBuffer(key, t, false);
      from.unregisterBuffer(key);
    }
    this.parked.set(name, meta);
  }

  /** An adapter's A, B and scaling here (the active one's or a parked one's); null where the adapter does not wrap this layer. */
  adapterFactors(name: string, active: string): { A: Tensor; B: Tensor; scaling: number; r: number; useDora: boolean } | null {
    if (name === active) return this.hasActive ? { A: this.lora_A.weight, B: this.lora_B.weight, scaling: this.scaling, r: this.r, useDora: this.useDora } : null;
    const meta = this.parked.get(name);
    if (!meta) return null;
    const get = (n: string) => (this as unknown as Record<string, Tensor>)[`parked__${name}__${n}`];
    return { A: get('lora_A'), B: get('lora_B'), scaling: meta.scaling, r: meta.r, useDora: meta.useDora };
  }

  /** Frees a parked adapter. */
  dropParked(name: string): void {
    if (!this.parked.delete(name)) return;
    for (const n of ['lora_A', 'lora_B', 'magnitude']) {
      const key = `parked__${name}__${n}`, t = (this as unknown as Record<string, Tensor | undefined>)[key];
      if (!t) continue;
      this.unregisterBuffer(key);
      t.dispose();
    }
  }
  /** The dim of the base weight that runs over the inputs: the norms per output reduce it. */
  private get outDim(): number {
    return this.fanInFanOut ? 0 : 1;
  }

  /** The low-rank update in the base weight's layout ((in, out) for Conv1D, (out, in) for Linear), scaled. */
  deltaWeight(): Tensor {
    return tidy(() => {
      if (this.mode === 'seed') return this.W_B.matmul(this.W_A);
      const ba = this.lora_B.weight.matmul(this.lora_A.weight);
      return (this.fanInFanOut ? ba.t() : ba).mul(this.scaling);
    });
  }

  /** DoRA's n: ||W + ΔW|| per output, without gradient (DoRA §4.3). */
  private weightNorm(): Tensor {
    return tidy(() => noGrad(() => this.base.weight.add(this.deltaWeight().to({ dtype: this.base.weight.dtype })).norm(2, this.outDim)));
  }

  /** The base layer on (N, in) rows: Conv1D's addmm(b, x, W), or Linear's x·Wᵀ + b. */
  private baseRows(x2: Tensor): Tensor {
    const b = this.base_layer;
    return b instanceof Conv1D ? b.bias.addmm(x2, b.weight) : F.linear(x2, b.weight, b.bias);
  }
  /** The base layer's product without its bias: x·W (Conv1D) or x·Wᵀ (Linear). */
  private baseProduct(x2: Tensor): Tensor {
    const w = this.base_layer.weight;
    return this.fanInFanOut ? x2.matmul(w) : F.linear(x2, w);
  }
  /** A per-output factor shaped to scale the base weight's outputs. */
  private perOutput(v: Tensor): Tensor {
    return this.fanInFanOut ? v : v.unsqueeze(1);
  }

  forward(x: Tensor): Tensor {
    return tidy(() => {
      if (this.merged || this.disabled || !this.hasActive || this.r === 0) return this.base.forward(x);
      if (this.useDora) return this.doraForward(x);
      if (this.mode === 'seed') {
        // The notebook: F.linear(x, (W + W_B @ W_A).T, b), i.e. x·(W + W_B·W_A) + b.
        const adapted = this.base.weight.add(this.W_B.matmul(this.W_A));
        return F.linear(x, adapted.t(), this.base.bias);
      }
      // PEFT's base(x) + lora_B(lora_A(dropout(x))) * scaling, fused: one in-place GEMM adds the
      // scaled low-rank update into the base output. No (N, out) temporary and no separate add;
      // in backward the scaling multiplies the rank-r products, not an (N, out) gradient.
      // Same values (bit-identical in float32 here), ~6% less time per adapted layer on the CPU.
      const shape = x.shape;
      const x2 = x.reshape([-1, this.inFeatures]);
      const y = this.baseRows(x2);
      const xa = F.linear(this.lora_dropout.forward(x2), this.lora_A.weight);
      // Under autocast y and xa are bfloat16 and an in-place op is not cast for us.
      y.addmm_(xa, this.lora_B.weight.t().to({ dtype: y.dtype }), { alpha: this.scaling });
      return y.view([...shape.slice(0, -1), this.outFeatures]);
    });
  }

  /** PEFT's DoRA forward: base(x) + (m/n - 1)·x̃W + (m/n)·lora(x̃)·s, x̃ = dropout(x). */
  private doraForward(x: Tensor): Tensor {
    const bias = this.base_layer.bias;
    const shape = x.shape;
    const x2 = x.reshape([-1, this.inFeatures]);
    const y = this.baseRows(x2);
    const dropping = this.lora_dropout.training && this.lora_dropout.p > 0;
    const xd = dropping ? this.lora_dropout.forward(x2) : x2;
    const lora = F.linear(F.linear(xd, this.lora_A.weight), this.lora_B.weight);
    const scale = this.lora_magnitude_vector.div(this.weightNorm()); // (out): m's gradient flows, n's not
    // x̃W: the base output without its bias, or (dropout on) the dropped-out input's own product.
    const baseNoBias = dropping ? this.baseProduct(xd) : bias ? y.sub(bias) : y;
    const out = y.add(baseNoBias.mul(scale.sub(1))).add(lora.mul(scale.mul(this.scaling)));
    return out.view([...shape.slice(0, -1), this.outFeatures]);
  }

  /** Folds the update into the base weight (inference); DoRA: W ← (m/n)·(W + ΔW). */
  merge(): void {
    if (this.merged || !this.hasActive) return; // (a layer the active adapter does not wrap stays its base)
    noGrad(() => tidy(() => {
      if (!this.useDora) {
        this.base.weight.add_(this.deltaWeight());
        return;
      }
      const factor = this.perOutput(this.lora_magnitude_vector.div(this.weightNorm()));
      this.base.weight.add_(this.deltaWeight()).mul_(factor);
      this.doraFactor = factor.keep();
    }));
    this.merged = true;
  }
  unmerge(): void {
    if (!this.merged) return;
    noGrad(() => tidy(() => {
      if (this.doraFactor) {
        this.base.weight.div_(this.doraFactor);
        this.doraFactor.dispose();
        this.doraFactor = null;
      }
      this.base.weight.sub_(this.deltaWeight());
    }));
    this.merged = false;
  }

  /** Merges, frees the adapter's own tensors, and returns the base layer, which now holds the merged weight. */
  unload(): LoRABase {
    this.merge();
    const kept = new Set([...this.base.parameters(), ...this.base.namedBuffers().map(([, b]) => b)]);
    // A, B (and DoRA's magnitude), parked adapters, PiSSA's starting factors
    for (const t of [...this.parameters(), ...this.namedBuffers().map(([, b]) => b)]) if (!kept.has(t)) t.dispose();
    for (const name of [...this.parked.keys()]) this.parked.delete(name);
    this.doraFactor?.dispose();
    this.doraFactor = null;
    return this.base;
  }

  protected override extraRepr(): string {
    return `mode=${this.mode}, r=${this.r}, scaling=${this.scaling}${this.useDora ? ', dora' : ''}`;
  }
}
/**
 * LoRA around an nn.Embedding (PEFT's lora.Embedding, e.g. GPT-2's wte): y = base(x) +
 * embedding(x, Aᵀ)·Bᵀ·s with A (r, num) zeros and B (dim, r) normal, as PEFT initialises them
 * (after the same two randn draws PEFT makes first). No dropout on this path, as PEFT. GPT-2's
 * lm_head stays tied to the base weight: the update changes the input embeddings only (until
 * merged, which writes into the shared tensor, as PEFT's merge does).
 */
export class LoRAEmbedding extends Module {
  declare base_layer: Embedding;
  declare lora_embedding_A: Tensor; // (r, numEmbeddings)
  declare lora_embedding_B: Tensor; // (embeddingDim, r)
  readonly mode: LoRAMode = 'peft';
  readonly r: number;
  readonly scaling: number;
  readonly useDora = false;
  readonly fanInFanOut = false;
  merged = false;
  disabled = false;

  constructor(base: Embedding, opts: ResolvedLoRAOptions) {
    super();
    if (opts.mode === 'seed') throw new Error('LoRA: seed mode (the notebook\'s wrapper) wraps Conv1D layers only; use peft mode for embeddings');
    if (opts.useDora) throw new Error('LoRA: DoRA (useDora) on an embedding is not supported; leave the embedding out of targetModules');
    this.r = opts.r;
    this.scaling = opts.useRslora ? opts.alpha / Math.sqrt(this.r) : opts.alpha / this.r;
    this.registerModule('base_layer', base);
    const fopts = { dtype: base.weight.dtype, device: base.weight.device };
    const init = opts.initLoraWeights;
    if (typeof init === 'string' && init.startsWith('pissa')) throw new Error('LoRA: PiSSA (initLoraWeights \'pissa\') initialises Conv1D and Linear layers, not embeddings; leave the embedding out of targetModules');
    const A = randn([this.r, base.numEmbeddings], fopts), B = randn([base.embeddingDim, this.r], fopts);
    // PEFT: A zeros and B normal (init true); otherwise both normal
    noGrad(() => { if (init === true) A.zero_(); else A.normal_(0, 1); B.normal_(0, 1); });
    this.registerParameter('lora_embedding_A', A);
    this.registerParameter('lora_embedding_B', B);
  }

  get base(): Embedding {
    return this.base_layer;
  }
  /** The base table (GPT-2 reads wte.weight for its device and to tie lm_head). */
  get weight(): Tensor {
    return this.base_layer.weight;
  }

  /** The update of the (num, dim) table, scaled: (B·A)ᵀ·s. */
  deltaWeight(): Tensor {
    return tidy(() => this.lora_embedding_B.matmul(this.lora_embedding_A).t().mul(this.scaling));
  }

  forward(x: Tensor): Tensor {
    return tidy(() => {
      const b = this.base_layer;
      if (this.merged || this.disabled || this.r === 0) return b.forward(x);
      const afterA = F.embedding(x, this.lora_embedding_A.t(), { paddingIdx: b.paddingIdx, maxNorm: b.maxNorm, normType: b.normType, scaleGradByFreq: b.scaleGradByFreq, sparse: b.sparse });
      const y = b.forward(x);
      return y.add(afterA.matmul(this.lora_embedding_B.t()).mul(this.scaling).to({ dtype: y.dtype }));
    });
  }

  merge(): void {
    if (this.merged) return;
    noGrad(() => tidy(() => { this.base_layer.weight.add_(this.deltaWeight()); }));
    this.merged = true;
  }
  unmerge(): void {
    if (!this.merged) return;
    noGrad(() => tidy(() => { this.base_layer.weight.sub_(this.deltaWeight()); }));
    this.merged = false;
  }
  /** Merges, frees A and B, and returns the base embedding, which now holds the merged table. */
  unload(): Embedding {
    this.merge();
    this.lora_embedding_A.dispose();
    this.lora_embedding_B.dispose();
    return this.base_layer;
  }
  protected override extraRepr(): string {
    return `r=${this.r}, scaling=${this.scaling}`;
  }
}

/** The wrapper's first name, from when it wrapped Conv1D only. */
export const LoRAConv1D = LoRALayer;
export type LoRAConv1D = LoRALayer;

/** A bias-free linear factor holding one weight (PEFT's lora_A / lora_B are nn.Linear). */
export class LoRAFactor extends Module {
  declare weight: Tensor;
  constructor(weight: Tensor) {
    super();
    this.registerParameter('weight', weight);
  }
  forward(x: Tensor): Tensor {
    return F.linear(x, this.weight);
  }
  protected override extraRepr(): string {
    const [o, i] = this.weight.shape;
    return `in=${i}, out=${o}`;
  }
}

/** PEFT's check: a name or dotted suffix in the list, or a full match of the regular expression. */
export function matchesTarget(moduleName: string, targets: string[] | string): boolean {
  if (typeof targets === 'string') return new RegExp(`^(?:${targets})$`).test(moduleName);
  return targets.some((t) => moduleName === t || moduleName.endsWith(`.${t}`));
}
