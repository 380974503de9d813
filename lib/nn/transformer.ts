// nn.MultiheadAttention, the Transformer encoder and decoder layers and stacks, and
// nn.Transformer, with PyTorch's math, parameter names, defaults and initialisation
// (F.multi_head_attention_forward). Inputs are (L, N, E), or (N, L, E) with batchFirst, or
// unbatched (L, E).
import { Tensor } from '../tensor/tensor';
import { empty, full, zerosLike } from '../tensor/creation';
import { tidy } from '../tensor/scope';
import { cuda, getRngState, setRngState } from '../tensor/runtime';
import type { Device } from '../tensor/dtype';
import { Module, ModuleList } from './module';
import { Dropout, LayerNorm, Linear, FactoryOptions } from './layers';
import * as F from './functional';
import { constant_, xavierUniform_ } from './init';
import { noGrad } from '../tensor/runtime';
import { factoryOf, layerOptions, requiredByName, PositionalOr } from './args';
import { optionsOf } from '../tensor/options';

export type AttentionOptions = AttentionMasks & { needWeights?: boolean; averageAttnWeights?: boolean };

export interface MultiheadAttentionOptions extends FactoryOptions {
  /** dropout on the attention weights (0) */
  dropout?: number;
  bias?: boolean;
  batchFirst?: boolean;
  /** the keys' and values' feature sizes when not embedDim (separate q / k / v projections, as PyTorch's) */
  kdim?: number | null;
  vdim?: number | null;
}
export interface AttentionMasks {
  /** (L, S) or (N·heads, L, S): bool (true = may NOT attend, as PyTorch's) or float (added to the scores) */
  attnMask?: Tensor | null;
  /** (N, S) or (S,): true marks padding keys to ignore */
  keyPaddingMask?: Tensor | null;
}

export class MultiheadAttention extends Module {
  declare in_proj_weight: Tensor | null;
  declare q_proj_weight: Tensor | null;
  declare k_proj_weight: Tensor | null;
  declare v_proj_weight: Tensor | null;
  declare in_proj_bias: Tensor | null;
  declare out_proj: Linear; // (or the LoRA layer wrapping it: forward() is all that is called)
  readonly headDim: number;
  readonly dropout: number;
  readonly batchFirst: boolean;
  readonly kdim: number;
  readonly vdim: number;

  readonly embedDim: number;
  readonly numHeads: number;
  /** nn.MultiheadAttention(embedDim, numHeads, dropout=0, bias=True, addBiasKv=False (only), addZeroAttn=False (only), kdim, vdim, batchFirst=False, *, device, dtype) */
  constructor(embedDim: number, numHeads: number, ...args: PositionalOr<[dropout?: number, bias?: boolean, addBiasKv?: false, addZeroAttn?: false, kdim?: number | null, vdim?: number | null, batchFirst?: boolean], MultiheadAttentionOptions>);
  /** every argument by name, as Python's keywords */
  constructor(opts: { embedDim: number; numHeads: number } & Record<string, unknown>);
  constructor(...all: unknown[]) {
    const [[embedDim, numHeads], args] = requiredByName('MultiheadAttention', ['embedDim', 'numHeads'], all) as [[number, number], PositionalOr<[dropout?: number, bias?: boolean, addBiasKv?: false, addZeroAttn?: false, kdim?: number | null, vdim?: number | null, batchFirst?: boolean], MultiheadAttentionOptions>];
    super();
    this.embedDim = embedDim;
    this.numHeads = numHeads;
    const opts = layerOptions<MultiheadAttentionOptions>('MultiheadAttention', args, ['dropout', 'bias', 'addBiasKv', 'addZeroAttn', 'kdim', 'vdim', 'batchFirst'],
      { fixed: { addBiasKv: false, addZeroAttn: false } });
    if (embedDim % numHeads) throw new Error(`MultiheadAttention: embedDim (${embedDim}) must be divisible by numHeads (${numHeads})`);
    this.headDim = embedDim / numHeads;
    this.dropout = opts.dropout ?? 0;
    this.batchFirst = opts.batchFirst ?? false;
    const bias = opts.bias ?? true;
    this.kdim = opts.kdim ?? embedDim;
    this.vdim = opts.vdim ?? embedDim;
    const packed = this.kdim === embedDim && this.vdim === embedDim;
    // PyTorch's order of draws: out_proj's Linear init, then xavier on the projection(s).
    this.registerParameter('in_proj_weight', packed ? empty([3 * embedDim, embedDim], factoryOf(opts)) : null);
    this.registerParameter('q_proj_weight', packed ? null : empty([embedDim, embedDim], factoryOf(opts)));
    this.registerParameter('k_proj_weight', packed ? null : empty([embedDim, this.kdim], factoryOf(opts)));
    this.registerParameter('v_proj_weight', packed ? null : empty([embedDim, this.vdim], factoryOf(opts)));
    this.registerParameter('in_proj_bias', bias ? empty([3 * embedDim], factoryOf(opts)) : null);
    this.registerModule('out_proj', new Linear(embedDim, embedDim, { ...factoryOf(opts), bias }));
    for (const w of [this.in_proj_weight, this.q_proj_weight, this.k_proj_weight, this.v_proj_weight]) if (w) xavierUniform_(w);
    if (this.in_proj_bias) constant_(this.in_proj_bias, 0);
    if (this.out_proj.bias) constant_(this.out_proj.bias, 0);
  }

  /**
   * Attention of query over key / value. Returns [output, weights]: weights (N, L, S), averaged
   * over heads (or (N, heads, L, S) with averageAttnWeights false), null with needWeights false.
   */
  forward(query: Tensor, key: Tensor, value: Tensor, ...args: PositionalOr<[keyPaddingMask?: Tensor | null, needWeights?: boolean, attnMask?: Tensor | null, averageAttnWeights?: boolean], AttentionOptions>): [Tensor, Tensor | null] {
    // (PyTorch's order: mha(q, k, v, key_padding_mask, need_weights, attn_mask), or by name)
    const opts = optionsOf<AttentionOptions>('MultiheadAttention.forward', args, ['keyPaddingMask', 'needWeights', 'attnMask', 'averageAttnWeights']);
    const batched = query.ndim === 3;
    if (!batched && query.ndim !== 2) throw new Error(`MultiheadAttention: query must be (L, E), (L, N, E) or with batchFirst (N, L, E); got [${query.shape}]`);
    if (query.shape[query.ndim - 1] !== this.embedDim) throw new Error(`MultiheadAttention: query's last dim is ${query.shape[query.ndim - 1]}, embedDim is ${this.embedDim}`);
    if (key.shape[key.ndim - 1] !== this.kdim || value.shape[value.ndim - 1] !== this.vdim) {
      throw new Error(`MultiheadAttention: key and value must end in kdim (${this.kdim}) and vdim (${this.vdim}), got [${key.shape}] and [${value.shape}]`);
    }
    const E = this.embedDim, H = this.numHeads, D = this.headDim;
    const needWeights = opts.needWeights ?? true;
    const [out, weights] = tidy(() => {
      // To (L, N, E).
      const seqFirst = (x: Tensor) => (!batched ? x.unsqueeze(1) : this.batchFirst ? x.transpose(0, 1) : x);
      const q0 = seqFirst(query), k0 = key === query ? q0 : seqFirst(key), v0 = value === key ? k0 : seqFirst(value);
      const [L, N] = q0.shape, S = k0.shape[0];
      let q: Tensor, k: Tensor, v: Tensor;
      if (this.in_proj_weight && query === key && key === value) {
        [q, k, v] = F.linear(q0, this.in_proj_weight, this.in_proj_bias).chunk(3, -1);
      } else {
        const [wq, wk, wv] = this.in_proj_weight ? this.in_proj_weight.chunk(3, 0) : [this.q_proj_weight!, this.k_proj_weight!, this.v_proj_weight!];
        const [bq, bk, bv] = this.in_proj_bias ? this.in_proj_bias.chunk(3, 0) : [null, null, null];
        [q, k, v] = [F.linear(q0, wq, bq), F.linear(k0, wk, bk), F.linear(v0, wv, bv)];
      }
      // (L, N, E) -> (N·H, L, D)
      const heads = (x: Tensor, len: number) => x.contiguous().view([len, N * H, D]).transpose(0, 1);
      q = heads(q, L);
      k = heads(k, S);
      v = heads(v, S);

      let mask: Tensor | null = opts.attnMask ?? null;
      if (mask && mask.ndim === 2) mask = mask.unsqueeze(0);
      const kpm = opts.keyPaddingMask;
      if (kpm) {
        const m = kpm.view([batched ? N : 1, 1, 1, S]).expand([N, H, 1, S]).reshape([N * H, 1, S]);
        mask = !mask ? m : mask.dtype === 'bool' ? mask.logicalOr(m) : mask.maskedFill(m, -Infinity);
      }
      if (mask && mask.dtype === 'bool') mask = zerosLike(mask, { dtype: q.dtype }).maskedFill(mask, -Infinity);

      const scores = q.div(Math.sqrt(D)).matmul(k.transpose(-2, -1));
      let attn = F.softmax(mask ? scores.add(mask) : scores, -1);
      if (this.training && this.dropout > 0) attn = F.dropout(attn, this.dropout, true);
      let out = attn.matmul(v).transpose(0, 1).contiguous().view([L * N, E]);
      // Through the module (not its weight), so that a LoRA-wrapped out_proj takes part.
      out = this.out_proj.forward(out).view([L, N, E]);
      out = !batched ? out.squeeze(1) : this.batchFirst ? out.transpose(0, 1) : out;
      if (!needWeights) return [out, null] as [Tensor, Tensor | null];
      let w = attn.view([N, H, L, S]);
      if (opts.averageAttnWeights ?? true) w = w.sum(1).div(H);
      if (!batched) w = w.squeeze(0);
      return [out, w] as [Tensor, Tensor | null];
    });
    return [out, weights];
  }
  protected override extraRepr(): string {
    return `embedDim=${this.embedDim}, numHeads=${this.numHeads}, dropout=${this.dropout}, batchFirst=${this.batchFirst}`;
  }
}

export interface TransformerEncoderLayerOptions extends FactoryOptions {
  dimFeedforward?: number;
  dropout?: number;
  activation?: 'relu' | 'gelu';
  layerNormEps?: number;
  batchFirst?: boolean;
  /** pre-LN (LayerNorm before attention and feed-forward) instead of PyTorch's default post-LN */
  normFirst?: boolean;
  /** biases in the linear and LayerNorm layers: only true (PyTorch's default) */
  bias?: true;
}

const TRANSFORMER_LAYER_KEYS = ['dimFeedforward', 'dropout', 'activation', 'layerNormEps', 'batchFirst', 'normFirst', 'bias'];
type TransformerLayerArgs = PositionalOr<[dimFeedforward?: number, dropout?: number, activation?: 'relu' | 'gelu', layerNormEps?: number, batchFirst?: boolean, normFirst?: boolean, bias?: true], TransformerEncoderLayerOptions>;

/** Self-attention and a feed-forward block, each with a residual and LayerNorm (nn.TransformerEncoderLayer). */
export class TransformerEncoderLayer extends Module {
  declare self_attn: MultiheadAttention;
  declare linear1: Linear;
  declare dropout: Dropout;
  declare linear2: Linear;
  declare norm1: LayerNorm;
  declare norm2: LayerNorm;
  declare dropout1: Dropout;
  declare dropout2: Dropout;
  readonly normFirst: boolean;
  readonly activation: 'relu' | 'gelu';

  readonly opts: TransformerEncoderLayerOptions;
  readonly dModel: number;
  readonly nhead: number;
  /** nn.TransformerEncoderLayer(dModel, nhead, dimFeedforward=2048, dropout=0.1, activation='relu', layerNormEps=1e-5, batchFirst=False, normFirst=False, bias=True (only), *, device, dtype) */
  constructor(dModel: number, nhead: number, ...args: TransformerLayerArgs);
  /** every argument by name, as Python's keywords */
  constructor(opts: { dModel: number; nhead: number } & Record<string, unknown>);
  constructor(...all: unknown[]) {
    const [[dModel, nhead], args] = requiredByName('TransformerEncoderLayer', ['dModel', 'nhead'], all) as [[number, number], TransformerLayerArgs];
    super();
    this.dModel = dModel;
    this.nhead = nhead;
    const opts = this.opts = layerOptions<TransformerEncoderLayerOptions>('TransformerEncoderLayer', args, TRANSFORMER_LAYER_KEYS, { fixed: { bias: true } });
    const { p, ff, eps, attn } = layerSettings('TransformerEncoderLayer', opts);
    [this.activation, this.normFirst] = [opts.activation ?? 'relu', opts.normFirst ?? false];
    this.registerModule('self_attn', new MultiheadAttention(dModel, nhead, attn));
    this.registerModule('linear1', new Linear(dModel, ff, factoryOf(opts)));
    this.registerModule('dropout', new Dropout(p));
    this.registerModule('linear2', new Linear(ff, dModel, factoryOf(opts)));
    this.registerModule('norm1', new LayerNorm(dModel, eps, factoryOf(opts)));
    this.registerModule('norm2', new LayerNorm(dModel, eps, factoryOf(opts)));
    this.registerModule('dropout1', new Dropout(p));
    this.registerModule('dropout2', new Dropout(p));
  }

  /** layer(src, srcMask, srcKeyPaddingMask), by position as PyTorch's or by name */
  forward(src: Tensor, ...args: PositionalOr<[srcMask?: Tensor | null, srcKeyPaddingMask?: Tensor | null], EncoderLayerMasks>): Tensor {
    const masks = optionsOf<EncoderLayerMasks>('TransformerEncoderLayer.forward', args, ['srcMask', 'srcKeyPaddingMask']);
    return tidy(() => {
      const sa = (x: Tensor) => this.dropout1.forward(this.self_attn.forward(x, x, x, { attnMask: masks.srcMask, keyPaddingMask: masks.srcKeyPaddingMask, needWeights: false })[0]);
      const ffn = (x: Tensor) => this.dropout2.forward(feedForward(this, x));
      if (this.normFirst) {
        const x = src.add(sa(this.norm1.forward(src)));
        return x.add(ffn(this.norm2.forward(x)));
      }
      const x = this.norm1.forward(src.add(sa(src)));
      return this.norm2.forward(x.add(ffn(x)));
    });
  }

  /** A copy with the same weights, drawing nothing from the generator (as PyTorch's deepcopy). */
  clone(): TransformerEncoderLayer {
    return cloneWithoutDraws(this, () => new TransformerEncoderLayer(this.dModel, this.nhead, this.opts));
  }
}

// What both layer kinds read from their options, with PyTorch's defaults.
function layerSettings(what: string, opts: TransformerEncoderLayerOptions) {
  const a = opts.activation ?? 'relu';
  if (a !== 'relu' && a !== 'gelu') throw new Error(`${what}: activation must be 'relu' or 'gelu', got '${a}'`);
  const p = opts.dropout ?? 0.1;
  return { p, ff: opts.dimFeedforward ?? 2048, eps: opts.layerNormEps ?? 1e-5, attn: { dropout: p, batchFirst: opts.batchFirst, dtype: opts.dtype, device: opts.device } };
}
// linear2(dropout(activation(linear1(x)))): the feed-forward block of both layer kinds.
function feedForward(l: { linear1: Linear; dropout: Dropout; linear2: Linear; activation: 'relu' | 'gelu' }, x: Tensor): Tensor {
  const h = l.linear1.forward(x);
  return l.linear2.forward(l.dropout.forward(l.activation === 'relu' ? h.relu() : F.gelu(h)));
}
// A layer's copy for a stack: made with the generator's state put back afterwards (on the CPU
// and CUDA generators), so the copy's initial draws are undone, then given the source's weights.
function cloneWithoutDraws<M extends Module>(source: M, make: () => M): M {
  const devices: Device[] = cuda.isAvailable() ? ['cpu', 'cuda'] : ['cpu'];
  const states = devices.map((d) => getRngState(d));
  const copy = make();
  devices.forEach((d, k) => setRngState(states[k], d));
  copy.loadStateDict(source.stateDict());
  copy.train(source.training);
  return copy;
}

export interface EncoderLayerMasks { srcMask?: Tensor | null; srcKeyPaddingMask?: Tensor | null }
export interface EncoderMasks { mask?: Tensor | null; srcKeyPaddingMask?: Tensor | null }
type DecoderMaskArgs = [tgtMask?: Tensor | null, memoryMask?: Tensor | null, tgtKeyPaddingMask?: Tensor | null, memoryKeyPaddingMask?: Tensor | null];
const DECODER_MASKS = ['tgtMask', 'memoryMask', 'tgtKeyPaddingMask', 'memoryKeyPaddingMask'];

export type TransformerMasks = DecoderMasks & EncoderLayerMasks;
export interface DecoderMasks {
  tgtMask?: Tensor | null;
  memoryMask?: Tensor | null;
  tgtKeyPaddingMask?: Tensor | null;
  memoryKeyPaddingMask?: Tensor | null;
}

/**
 * Self-attention over the target, attention over the encoder's output (memory), and a
 * feed-forward block, each with a residual and LayerNorm (nn.TransformerDecoderLayer).
 */
export class TransformerDecoderLayer extends Module {
  declare self_attn: MultiheadAttention;
  declare multihead_attn: MultiheadAttention;
  declare linear1: Linear;
  declare dropout: Dropout;
  declare linear2: Linear;
  declare norm1: LayerNorm;
  declare norm2: LayerNorm;
  declare norm3: LayerNorm;
  declare dropout1: Dropout;
  declare dropout2: Dropout;
  declare dropout3: Dropout;
  readonly normFirst: boolean;
  readonly activation: 'relu' | 'gelu';

  readonly opts: TransformerEncoderLayerOptions;
  readonly dModel: number;
  readonly nhead: number;
  /** nn.TransformerDecoderLayer(dModel, nhead, dimFeedforward=2048, dropout=0.1, activation='relu', layerNormEps=1e-5, batchFirst=False, normFirst=False, bias=True (only), *, device, dtype) */
  constructor(dModel: number, nhead: number, ...args: TransformerLayerArgs);
  /** every argument by name, as Python's keywords */
  constructor(opts: { dModel: number; nhead: number } & Record<string, unknown>);
  constructor(...all: unknown[]) {
    const [[dModel, nhead], args] = requiredByName('TransformerDecoderLayer', ['dModel', 'nhead'], all) as [[number, number], TransformerLayerArgs];
    super();
    this.dModel = dModel;
    this.nhead = nhead;
    const opts = this.opts = layerOptions<TransformerEncoderLayerOptions>('TransformerDecoderLayer', args, TRANSFORMER_LAYER_KEYS, { fixed: { bias: true } });
    const { p, ff, eps, attn } = layerSettings('TransformerDecoderLayer', opts);
    [this.activation, this.normFirst] = [opts.activation ?? 'relu', opts.normFirst ?? false];
    this.registerModule('self_attn', new MultiheadAttention(dModel, nhead, attn));
    this.registerModule('multihead_attn', new MultiheadAttention(dModel, nhead, attn));
    this.registerModule('linear1', new Linear(dModel, ff, factoryOf(opts)));
    this.registerModule('dropout', new Dropout(p));
    this.registerModule('linear2', new Linear(ff, dModel, factoryOf(opts)));
    for (const k of [1, 2, 3]) this.registerModule(`norm${k}`, new LayerNorm(dModel, eps, factoryOf(opts)));
    for (const k of [1, 2, 3]) this.registerModule(`dropout${k}`, new Dropout(p));
  }

  /** layer(tgt, memory, tgtMask, memoryMask, tgtKeyPaddingMask, memoryKeyPaddingMask), by position as PyTorch's or by name */
  forward(tgt: Tensor, memory: Tensor, ...args: PositionalOr<DecoderMaskArgs, DecoderMasks>): Tensor {
    const masks = optionsOf<DecoderMasks>('TransformerDecoderLayer.forward', args, DECODER_MASKS);
    return tidy(() => {
      const sa = (x: Tensor) => this.dropout1.forward(this.self_attn.forward(x, x, x, { attnMask: masks.tgtMask, keyPaddingMask: masks.tgtKeyPaddingMask, needWeights: false })[0]);
      const mha = (x: Tensor) => this.dropout2.forward(this.multihead_attn.forward(x, memory, memory, { attnMask: masks.memoryMask, keyPaddingMask: masks.memoryKeyPaddingMask, needWeights: false })[0]);
      const ffn = (x: Tensor) => this.dropout3.forward(feedForward(this, x));
      let x = tgt;
      if (this.normFirst) {
        x = x.add(sa(this.norm1.forward(x)));
        x = x.add(mha(this.norm2.forward(x)));
        return x.add(ffn(this.norm3.forward(x)));
      }
      x = this.norm1.forward(x.add(sa(x)));
      x = this.norm2.forward(x.add(mha(x)));
      return this.norm3.forward(x.add(ffn(x)));
    });
  }

  /** A copy with the same weights, drawing nothing from the generator (as PyTorch's deepcopy). */
  clone(): TransformerDecoderLayer {
    return cloneWithoutDraws(this, () => new TransformerDecoderLayer(this.dModel, this.nhead, this.opts));
  }
}

/** numLayers copies of a layer (the same initial weights in each, as PyTorch's), then an optional norm. */
export class TransformerEncoder extends Module {
  declare layers: ModuleList<TransformerEncoderLayer>;
  declare norm: LayerNorm | null;
  readonly numLayers: number;
  /** nn.TransformerEncoder(encoderLayer, numLayers, norm=None, enableNestedTensor, maskCheck (taken: PyTorch's fast-path switches)), or every argument by name */
  constructor(encoderLayer: TransformerEncoderLayer, numLayers: number, ...args: PositionalOr<[norm?: LayerNorm | null, enableNestedTensor?: boolean, maskCheck?: boolean], { norm?: LayerNorm | null; enableNestedTensor?: boolean; maskCheck?: boolean }>);
  constructor(opts: { encoderLayer: TransformerEncoderLayer; numLayers: number } & { norm?: LayerNorm | null; enableNestedTensor?: boolean; maskCheck?: boolean });
  constructor(...all: unknown[]) {
    const [[encoderLayer, numLayers], args] = requiredByName('TransformerEncoder', ['encoderLayer', 'numLayers'], all) as [[TransformerEncoderLayer, number], unknown[]];
    const { norm = null } = layerOptions<{ norm?: LayerNorm | null; enableNestedTensor?: boolean; maskCheck?: boolean }>('TransformerEncoder', args, ['norm', 'enableNestedTensor', 'maskCheck'], { factory: false });
    if (!(encoderLayer instanceof TransformerEncoderLayer)) throw new Error('nn.TransformerEncoder: encoderLayer must be an nn.TransformerEncoderLayer');
    if (!(Number.isInteger(numLayers) && numLayers >= 0)) throw new Error(`nn.TransformerEncoder: numLayers must be a whole number >= 0, got ${numLayers}`);
    super();
    this.numLayers = numLayers;
    this.registerModule('layers', new ModuleList(Array.from({ length: numLayers }, () => encoderLayer.clone())));
    this.registerModule('norm', norm);
  }
  /** encoder(src, mask, srcKeyPaddingMask), by position as PyTorch's or by name */
  forward(src: Tensor, ...args: PositionalOr<[mask?: Tensor | null, srcKeyPaddingMask?: Tensor | null], EncoderMasks>): Tensor {
    const masks = optionsOf<EncoderMasks>('TransformerEncoder.forward', args, ['mask', 'srcKeyPaddingMask']);
    return tidy(() => {
      let x = src;
      for (const layer of this.layers) x = layer.forward(x, { srcMask: masks.mask, srcKeyPaddingMask: masks.srcKeyPaddingMask });
      return this.norm ? this.norm.forward(x) : x;
    });
  }
}

/** numLayers copies of a decoder layer (the same initial weights in each), then an optional norm. */
export class TransformerDecoder extends Module {
  declare layers: ModuleList<TransformerDecoderLayer>;
  declare norm: LayerNorm | null;
  readonly numLayers: number;
  /** nn.TransformerDecoder(decoderLayer, numLayers, norm=None), or every argument by name */
  constructor(decoderLayer: TransformerDecoderLayer, numLayers: number, ...args: PositionalOr<[norm?: LayerNorm | null], { norm?: LayerNorm | null }>);
  constructor(opts: { decoderLayer: TransformerDecoderLayer; numLayers: number } & { norm?: LayerNorm | null });
  constructor(...all: unknown[]) {
    const [[decoderLayer, numLayers], args] = requiredByName('TransformerDecoder', ['decoderLayer', 'numLayers'], all) as [[TransformerDecoderLayer, number], unknown[]];
    const { norm = null } = layerOptions<{ norm?: LayerNorm | null }>('TransformerDecoder', args, ['norm'], { factory: false });
    if (!(decoderLayer instanceof TransformerDecoderLayer)) throw new Error('nn.TransformerDecoder: decoderLayer must be an nn.TransformerDecoderLayer');
    if (!(Number.isInteger(numLayers) && numLayers >= 0)) throw new Error(`nn.TransformerDecoder: numLayers must be a whole number >= 0, got ${numLayers}`);
    super();
    this.numLayers = numLayers;
    this.registerModule('layers', new ModuleList(Array.from({ length: numLayers }, () => decoderLayer.clone())));
    this.registerModule('norm', norm);
  }
  /** decoder(tgt, memory, tgtMask, memoryMask, tgtKeyPaddingMask, memoryKeyPaddingMask), by position as PyTorch's or by name */
  forward(tgt: Tensor, memory: Tensor, ...args: PositionalOr<DecoderMaskArgs, DecoderMasks>): Tensor {
    const masks = optionsOf<DecoderMasks>('TransformerDecoder.forward', args, DECODER_MASKS);
    return tidy(() => {
      let x = tgt;
      for (const layer of this.layers) x = layer.forward(x, memory, masks);
      return this.norm ? this.norm.forward(x) : x;
    });
  }
}

export interface TransformerOptions extends TransformerEncoderLayerOptions {
  numEncoderLayers?: number;
  numDecoderLayers?: number;
}

/**
 * nn.Transformer: an encoder over src and a decoder over tgt attending to it (Vaswani et al.),
 * each stack ending in a LayerNorm; every weight matrix xavier-initialised, as PyTorch's.
 * Defaults are PyTorch's: dModel 512, nhead 8, 6 + 6 layers, feed-forward 2048, dropout 0.1.
 */
export class Transformer extends Module {
  declare encoder: TransformerEncoder;
  declare decoder: TransformerDecoder;
  readonly batchFirst: boolean;
  readonly dModel: number;
  readonly nhead: number;
  /** nn.Transformer(dModel=512, nhead=8, numEncoderLayers=6, numDecoderLayers=6, dimFeedforward=2048, dropout=0.1, activation='relu', customEncoder, customDecoder (none only), layerNormEps=1e-5, batchFirst=False, normFirst=False, bias=True (only), *, device, dtype) */
  constructor(...args: PositionalOr<[dModel?: number, nhead?: number, numEncoderLayers?: number, numDecoderLayers?: number, dimFeedforward?: number, dropout?: number, activation?: 'relu' | 'gelu',
    customEncoder?: null, customDecoder?: null, layerNormEps?: number, batchFirst?: boolean, normFirst?: boolean, bias?: true], TransformerOptions & { dModel?: number; nhead?: number }>) {
    super();
    const opts = layerOptions<TransformerOptions & { dModel?: number; nhead?: number; customEncoder?: null; customDecoder?: null }>('Transformer', args,
      ['dModel', 'nhead', 'numEncoderLayers', 'numDecoderLayers', 'dimFeedforward', 'dropout', 'activation', 'customEncoder', 'customDecoder', 'layerNormEps', 'batchFirst', 'normFirst', 'bias'],
      { fixed: { customEncoder: null, customDecoder: null, bias: true } });
    const { dModel = 512, nhead = 8, numEncoderLayers = 6, numDecoderLayers = 6, customEncoder: _e, customDecoder: _d, ...layerOpts } = opts;
    this.dModel = dModel;
    this.nhead = nhead;
    const eps = opts.layerNormEps ?? 1e-5;
    this.batchFirst = opts.batchFirst ?? false;
    // (the stacks clone a layer, as PyTorch's: the two layers made here to be cloned are freed after)
    const encoderLayer = new TransformerEncoderLayer(dModel, nhead, layerOpts), decoderLayer = new TransformerDecoderLayer(dModel, nhead, layerOpts);
    this.registerModule('encoder', new TransformerEncoder(encoderLayer, numEncoderLayers, new LayerNorm(dModel, eps, factoryOf(opts))));
    this.registerModule('decoder', new TransformerDecoder(decoderLayer, numDecoderLayers, new LayerNorm(dModel, eps, factoryOf(opts))));
    encoderLayer.dispose();
    decoderLayer.dispose();
    noGrad(() => {
      for (const p of this.parameters()) if (p.ndim > 1) xavierUniform_(p);
    });
  }

  /**
   * transformer(src, tgt, srcMask, tgtMask, memoryMask, srcKeyPaddingMask, tgtKeyPaddingMask,
   * memoryKeyPaddingMask), by position as PyTorch's (null where Python passes None) or by name.
   */
  forward(src: Tensor, tgt: Tensor, ...args: PositionalOr<[srcMask?: Tensor | null, tgtMask?: Tensor | null, memoryMask?: Tensor | null, srcKeyPaddingMask?: Tensor | null, tgtKeyPaddingMask?: Tensor | null, memoryKeyPaddingMask?: Tensor | null], TransformerMasks>): Tensor {
    const masks = optionsOf<TransformerMasks>('Transformer.forward', args, ['srcMask', 'tgtMask', 'memoryMask', 'srcKeyPaddingMask', 'tgtKeyPaddingMask', 'memoryKeyPaddingMask']);
    const batched = src.ndim === 3;
    const batchDim = this.batchFirst ? 0 : 1;
    if (batched && src.shape[batchDim] !== tgt.shape[batchDim]) throw new Error('Transformer: the batch number of src and tgt must be equal');
    if (src.shape[src.ndim - 1] !== this.dModel || tgt.shape[tgt.ndim - 1] !== this.dModel) throw new Error('Transformer: the feature number of src and tgt must be equal to dModel');
    return tidy(() => {
      const memory = this.encoder.forward(src, { mask: masks.srcMask, srcKeyPaddingMask: masks.srcKeyPaddingMask });
      return this.decoder.forward(tgt, memory, { tgtMask: masks.tgtMask, memoryMask: masks.memoryMask, tgtKeyPaddingMask: masks.tgtKeyPaddingMask, memoryKeyPaddingMask: masks.memoryKeyPaddingMask });
    });
  }

  /** The causal mask for sz positions: -inf above the diagonal, 0 elsewhere (float). */
  static generateSquareSubsequentMask(sz: number, opts: { device?: Device; dtype?: 'float32' | 'float64' } = {}): Tensor {
    return tidy(() => full([sz, sz], -Infinity, opts).triu(1));
  }
}
