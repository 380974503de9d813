// torch.nn.functional: tensor first, PyTorch's argument names in camelCase.
import { warnOnce } from '../tensor/warn';
import { NamedTuple, namedTuple } from '../tensor/named_tuple';
import { native } from '../tensor/native';
import { Tensor, _wrap as wrap, _id as id } from '../tensor/tensor';
import { ones, tensor, emptyLike, zerosLike, arange, rand } from '../tensor/creation';
import { tidy } from '../tensor/scope';
import { cat } from '../tensor/ops';
import { noGrad } from '../tensor/runtime';
import { Generator } from '../tensor/generator';
import type { DType } from '../tensor/dtype';
import { optionsOf, takesOptions, keywordOptions, isOptionsObject, requiredByName } from '../tensor/options';

const optId = (t?: Tensor | null) => (t ? id(t) : -1);

/** y = x Wᵀ + b, W of shape (out, in); bias by position or as { bias }. */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null | { bias?: Tensor | null }): Tensor {
  if (bias != null && !(bias instanceof Tensor)) bias = optionsOf<{ bias?: Tensor | null }>('linear', [bias], ['bias']).bias;
  return wrap(native.linear(id(x), id(weight), optId(bias)));
}
/** F.softmax(x, dim) or (x, { dim, dtype }): with dtype the input is cast first, as PyTorch's. */
export function softmax(x: Tensor, dim: number | { dim: number; dtype?: DType }, opts?: { dtype?: DType }): Tensor {
  if (typeof dim === 'number' && opts === undefined) return wrap(native.softmax(id(x), dim));
  return x.softmax(dim, opts);
}
export function logSoftmax(x: Tensor, dim: number | { dim: number; dtype?: DType }, opts?: { dtype?: DType }): Tensor {
  if (typeof dim === 'number' && opts === undefined) return wrap(native.logSoftmax(id(x), dim));
  return x.logSoftmax(dim, opts);
}
export const layerNorm = requiredByName('F.layerNorm', 1, ['normalizedShape'], takesOptions('layerNorm', 2, ['weight', 'bias', 'eps'], (x: Tensor, normalizedShape: number | number[], opts: { weight?: Tensor | null; bias?: Tensor | null; eps?: number } = {}) =>
  // (one size as a number too, as nn.LayerNorm(8) takes it)
  wrap(native.layerNorm(id(x), typeof normalizedShape === 'number' ? [normalizedShape] : normalizedShape, optId(opts.weight), optId(opts.bias), opts.eps ?? 1e-5))));
/** Rows of weight picked by integer indices; the paddingIdx row gets no gradient. */
/**
 * F.embedding: rows of weight by index. sparse: weight's gradient is a sparse tensor of just the
 * rows looked up (for SGD or SparseAdam); scaleGradByFreq: each row's gradient divided by how
 * often it appears in the batch.
 */
/** F.one_hot: int64 indices to one-hot vectors of numClasses (default: the largest index + 1) in a new last dim. */
export const oneHot = takesOptions('oneHot', 1, ['numClasses'], (input: Tensor, opts: { numClasses?: number } = {}) =>
  wrap(native.oneHot(id(input), opts.numClasses ?? -1)));
/** Embedding's maxNorm: the rows looked up rescaled in place to that norm at most (the contiguous copy of the ids freed after). */
function renormRows(weight: Tensor, ids: Tensor, maxNorm: number, normType: number): void {
  const flat = ids.contiguous();
  try {
    native.embeddingRenorm_(id(weight), id(flat), maxNorm, normType);
  } finally {
    flat.dispose();
  }
}
export const embedding = takesOptions('embedding', 2, ['paddingIdx', 'maxNorm', 'normType', 'scaleGradByFreq', 'sparse'], function embedding(input: Tensor, weight: Tensor, opts: { paddingIdx?: number | null; maxNorm?: number | null; normType?: number; scaleGradByFreq?: boolean; sparse?: boolean } = {}): Tensor {
  // maxNorm: the rows looked up are first rescaled in place (in weight itself) to that norm at most, as PyTorch's
  if (opts.maxNorm != null) renormRows(weight, input, opts.maxNorm, opts.normType ?? 2);
  let p = -1;
  if (opts.paddingIdx !== undefined && opts.paddingIdx !== null) {
    const n = weight.shape[0];
    p = opts.paddingIdx;
    if (!(Number.isInteger(p) && p >= -n && p < n)) throw new Error(`embedding: paddingIdx ${p} is outside the ${n} embeddings`);
    if (p < 0) p += n;
  }
  if (opts.sparse || opts.scaleGradByFreq) return wrap(native.embedding(id(weight), id(input), p, opts.scaleGradByFreq ?? false, opts.sparse ?? false));
  return wrap(p < 0 ? native.embedding(id(weight), id(input)) : native.embedding(id(weight), id(input), p));
});
/**
 * F.embedding_bag: each bag's rows of weight reduced ('sum', 'mean' or 'max'). input (B, N) is B
 * bags of N ids; a 1-D input needs offsets (where each bag starts). perSampleWeights scale rows
 * ('sum' only); paddingIdx rows are left out.
 */
export const embeddingBag = takesOptions('embeddingBag', 2, ['offsets', 'maxNorm', 'normType', 'scaleGradByFreq', 'mode', 'sparse', 'perSampleWeights', 'includeLastOffset', 'paddingIdx'], function embeddingBag(input: Tensor, weight: Tensor, opts: { offsets?: Tensor | null; mode?: 'sum' | 'mean' | 'max'; perSampleWeights?: Tensor | null; includeLastOffset?: boolean; paddingIdx?: number | null; maxNorm?: number | null; normType?: number } = {}): Tensor {
  const modes = { sum: 0, mean: 1, max: 2 };
  const mode = modes[opts.mode ?? 'mean'];
  if (mode === undefined) throw new Error(`embeddingBag: mode must be 'sum', 'mean' or 'max', got '${opts.mode}'`);
  if (opts.perSampleWeights && opts.mode !== 'sum') throw new Error(`embeddingBag: perSampleWeights was not None. perSampleWeights is only supported for mode='sum' (got mode='${opts.mode ?? 'mean'}'). Please open a feature request on GitHub.`);
  return tidy(() => {
    let ids = input, offsets = opts.offsets ?? null, psw = opts.perSampleWeights ?? null;
    if (input.ndim === 2) {
      if (offsets) throw new Error('embeddingBag: if input is 2-D, then offsets has to be null, as input is treated as a mini-batch of fixed-length sequences');
      const [B, N] = input.shape;
      offsets = arange(0, B * N, N, { dtype: 'int64', device: input.device });
      ids = input.reshape([-1]);
      if (psw) psw = psw.reshape([-1]);
    } else if (input.ndim === 1) {
      if (!offsets) throw new Error('embeddingBag: offsets has to be a 1-D tensor but got null');
    } else {
      throw new Error(`embeddingBag: input has to be 1-D or 2-D, but got a ${input.ndim}-D tensor`);
    }
    if (opts.maxNorm != null) renormRows(weight, ids, opts.maxNorm, opts.normType ?? 2);
    const n = weight.shape[0];
    let p = opts.paddingIdx ?? -1;
    if (opts.paddingIdx != null) {
      if (!(Number.isInteger(p) && p >= -n && p < n)) throw new Error(`embeddingBag: paddingIdx ${p} is outside the ${n} embeddings`);
      if (p < 0) p += n;
    }
    return wrap(native.embeddingBag(id(weight), id(ids), id(offsets), mode, psw ? id(psw) : -1, opts.includeLastOffset ?? false, p));
  });
}, { fixed: { scaleGradByFreq: false, sparse: false } });
/** F.dropout's (and its kin's) arguments after the input: p, training, inplace. */
interface DropoutOptions { p?: number; training?: boolean; inplace?: boolean }
const DROPOUT_KEYS = ['p', 'training', 'inplace'] as const;
/** The dropout f with p checked; inplace writes the result into x itself and returns x, as PyTorch's. */
function dropoutOf(name: string, x: Tensor, o: DropoutOptions, trainingByDefault: boolean, f: (x: Tensor, p: number, training: boolean) => Tensor): Tensor {
  const p = o.p ?? 0.5, training = o.training ?? trainingByDefault;
  if (!(p >= 0 && p <= 1)) throw new Error(`${name}: p must be in [0, 1], got ${p}`);
  if (o.inplace && !training) return x; // (as PyTorch's: the input itself, untouched)
  return o.inplace ? x._inplace_((t) => f(t, p, training)) : f(x, p, training);
}
/** Elements zeroed with probability p, the rest scaled by 1/(1-p), when training (PyTorch's default: true). */
export const dropout = takesOptions('dropout', 1, DROPOUT_KEYS, (x: Tensor, opts: DropoutOptions = {}) =>
  dropoutOf('dropout', x, opts, true, (t, p, training) => wrap(native.dropout(id(t), p, training))));
/** GELU; approximate 'tanh' is GPT-2's gelu_new. */
export function gelu(x: Tensor, opts: { approximate?: 'none' | 'tanh' } | 'none' | 'tanh' = {}): Tensor {
  const approximate = typeof opts === 'string' ? opts : keywordOptions<{ approximate?: 'none' | 'tanh' }>('gelu', opts, ['approximate']).approximate ?? 'none';
  if (approximate !== 'none' && approximate !== 'tanh') throw new Error(`gelu: approximate must be 'none' or 'tanh', got '${approximate}'`);
  return wrap(native.gelu(id(x), approximate));
}
type InplaceArg = [inplace?: boolean] | [opts?: { inplace?: boolean }];
/** An activation's inplace flag, by position or in an options object (F.relu(x, inplace=True)). */
function inplaceOf(name: string, args: unknown[]): boolean {
  if (args.length === 0 || args[0] === undefined) return false;
  return optionsOf<{ inplace?: boolean }>(name, args, ['inplace']).inplace ?? false;
}
/** F.relu(x, inplace=False); with inplace, x itself is overwritten and returned. */
export const relu = (x: Tensor, ...args: InplaceArg) => (inplaceOf('relu', args) ? x.relu_() : x.relu());
export const sigmoid = (x: Tensor) => x.sigmoid();
export const tanh = (x: Tensor) => x.tanh();

type Reduction = 'none' | 'mean' | 'sum';
/** A reduction's name as libtorch's code (at::Reduction). */
function reductionCode(r: Reduction | undefined, op: string): number {
  const codes = { none: 0, mean: 1, sum: 2 }, name = r ?? 'mean';
  const c = Object.hasOwn(codes, name) ? codes[name] : undefined;
  if (c === undefined) throw new Error(`${op}: unknown reduction '${r}' (use 'none', 'mean' or 'sum')`);
  return c;
}

/**
 * Cross-entropy of logits (N, C[, ...]) against class indices (N[, ...]) or class probabilities
 * (same shape as the logits); targets equal to ignoreIndex (-100) are skipped; weight (C) rescales
 * each class (the mean is then over the weights, as PyTorch's).
 */
export const crossEntropy = takesOptions('crossEntropy', 2, ['weight', 'sizeAverage', 'ignoreIndex', 'reduce', 'reduction', 'labelSmoothing'], function crossEntropy(
  input: Tensor,
  target: Tensor,
  opts: { ignoreIndex?: number; reduction?: Reduction; labelSmoothing?: number; weight?: Tensor | null } = {},
): Tensor {
  return wrap(native.crossEntropy(id(input), id(target), optId(opts.weight), reductionCode(opts.reduction, 'crossEntropy'), opts.ignoreIndex ?? -100, opts.labelSmoothing ?? 0));
});
/** Negative log-likelihood of log-probabilities (N, C[, ...]) at class indices (N[, ...]). */
export const nllLoss = takesOptions('nllLoss', 2, ['weight', 'sizeAverage', 'ignoreIndex', 'reduce', 'reduction'], function nllLoss(input: Tensor, target: Tensor, opts: { weight?: Tensor | null; ignoreIndex?: number; reduction?: Reduction } = {}): Tensor {
  return wrap(native.nllLoss(id(input), id(target), optId(opts.weight), reductionCode(opts.reduction, 'nllLoss'), opts.ignoreIndex ?? -100));
});
export const mseLoss = takesOptions('mseLoss', 2, ['sizeAverage', 'reduce', 'reduction'], (input: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}) =>
  wrap(native.mseLoss(id(input), id(target), reductionCode(opts.reduction, 'mseLoss'))));
export const l1Loss = takesOptions('l1Loss', 2, ['sizeAverage', 'reduce', 'reduction'], (input: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}) =>
  wrap(native.l1Loss(id(input), id(target), reductionCode(opts.reduction, 'l1Loss'))));
/** Quadratic below beta, linear above (divided by beta, unlike huberLoss). */
export const smoothL1Loss = takesOptions('smoothL1Loss', 2, ['sizeAverage', 'reduce', 'reduction', 'beta'], (input: Tensor, target: Tensor, opts: { reduction?: Reduction; beta?: number } = {}) =>
  wrap(native.smoothL1Loss(id(input), id(target), reductionCode(opts.reduction, 'smoothL1Loss'), opts.beta ?? 1)));
export const huberLoss = takesOptions('huberLoss', 2, ['reduction', 'delta'], (input: Tensor, target: Tensor, opts: { reduction?: Reduction; delta?: number } = {}) =>
  wrap(native.huberLoss(id(input), id(target), reductionCode(opts.reduction, 'huberLoss'), opts.delta ?? 1)));
/**
 * KL divergence of target from input, input as log-probabilities (target too when logTarget).
 * reduction 'batchmean' (sum / batch size) is the mathematically right one, as PyTorch says;
 * 'mean' (PyTorch's default) averages over every element.
 */
export const klDiv = takesOptions('klDiv', 2, ['sizeAverage', 'reduce', 'reduction', 'logTarget'], function klDiv(input: Tensor, target: Tensor, opts: { reduction?: Reduction | 'batchmean'; logTarget?: boolean } = {}): Tensor {
  const logTarget = opts.logTarget ?? false;
  if (opts.reduction === 'batchmean') {
    const sum = wrap(native.klDiv(id(input), id(target), 2, logTarget));
    const out = input.ndim === 0 ? sum : sum.div(input.shape[0]);
    if (out !== sum) sum.dispose();
    return out;
  }
  return wrap(native.klDiv(id(input), id(target), reductionCode(opts.reduction, 'klDiv'), logTarget));
});
/** Binary cross-entropy of probabilities in [0, 1]. */
export const binaryCrossEntropy = takesOptions('binaryCrossEntropy', 2, ['weight', 'sizeAverage', 'reduce', 'reduction'], (input: Tensor, target: Tensor, opts: { weight?: Tensor | null; reduction?: Reduction } = {}) =>
  wrap(native.binaryCrossEntropy(id(input), id(target), optId(opts.weight), reductionCode(opts.reduction, 'binaryCrossEntropy'))));
/** Binary cross-entropy of logits (sigmoid inside, numerically stable); posWeight weighs the positives per class. */
export const binaryCrossEntropyWithLogits = takesOptions('binaryCrossEntropyWithLogits', 2, ['weight', 'sizeAverage', 'reduce', 'reduction', 'posWeight'], (input: Tensor, target: Tensor, opts: { weight?: Tensor | null; posWeight?: Tensor | null; reduction?: Reduction } = {}) =>
  wrap(native.binaryCrossEntropyWithLogits(id(input), id(target), optId(opts.weight), optId(opts.posWeight), reductionCode(opts.reduction, 'binaryCrossEntropyWithLogits'))));
export const cosineSimilarity = takesOptions('cosineSimilarity', 2, ['dim', 'eps'], (x1: Tensor, x2: Tensor, opts: { dim?: number; eps?: number } = {}) =>
  wrap(native.cosineSimilarity(id(x1), id(x2), opts.dim ?? 1, opts.eps ?? 1e-8)));
/** The multi-class multi-label hinge loss: target holds class indices, -1 ends the list (F.multilabel_margin_loss). */
export const multilabelMarginLoss = takesOptions('multilabelMarginLoss', 2, ['sizeAverage', 'reduce', 'reduction'], (input: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}) =>
  wrap(native.multilabelMarginLoss(id(input), id(target), reductionCode(opts.reduction, 'multilabelMarginLoss'))));
/** max(d(a, p) - d(a, n) + margin, 0) with a distance of your own (pairwiseDistance by default). */
export function tripletMarginWithDistanceLoss(anchor: Tensor, positive: Tensor, negative: Tensor,
  options: { distanceFunction?: ((x: Tensor, y: Tensor) => Tensor) | null; margin?: number; swap?: boolean; reduction?: Reduction } = {}): Tensor {
  // (keyword-only in PyTorch, as here)
  const opts = keywordOptions<typeof options>('tripletMarginWithDistanceLoss', options, ['distanceFunction', 'margin', 'swap', 'reduction']);
  const margin = opts.margin ?? 1;
  if (!(margin > 0)) throw new Error(`tripletMarginWithDistanceLoss: expected margin to be greater than 0, got ${margin} instead`);
  const dims = [anchor.ndim, positive.ndim, negative.ndim];
  if (!(dims.every((d) => d === dims[0]) && (dims[0] === 1 || dims[0] === 2))) {
    throw new Error(`tripletMarginWithDistanceLoss: all inputs should have the same number of dimensions (1 or 2), got ${dims.join(', ')}`);
  }
  const dist = opts.distanceFunction ?? ((a: Tensor, b: Tensor) => pairwiseDistance(a, b));
  const r = opts.reduction ?? 'mean';
  reductionCode(r, 'tripletMarginWithDistanceLoss');
  return tidy(() => {
    const pos = dist(anchor, positive);
    let neg = dist(anchor, negative);
    if (opts.swap) neg = neg.minimum(dist(positive, negative));
    const loss = pos.add(margin).sub(neg).clamp(0);
    return r === 'mean' ? loss.mean() : r === 'sum' ? loss.sum() : loss;
  });
}
export const pairwiseDistance = takesOptions('pairwiseDistance', 2, ['p', 'eps', 'keepdim'], (x1: Tensor, x2: Tensor, opts: { p?: number; eps?: number; keepdim?: boolean } = {}) =>
  wrap(native.pairwiseDistance(id(x1), id(x2), opts.p ?? 2, opts.eps ?? 1e-6, opts.keepdim ?? false)));
/** x / max(‖x‖_p over dim, eps), as F.normalize. */
export const normalize = takesOptions('normalize', 1, ['p', 'dim', 'eps'], function normalize(x: Tensor, opts: { p?: number; dim?: number; eps?: number } = {}): Tensor {
  const n = x.norm(opts.p ?? 2, opts.dim ?? 1, true);
  const d = n.clamp(opts.eps ?? 1e-12);
  const out = x.div(d);
  n.dispose();
  d.dispose();
  return out;
});

// ---------- activations ----------
/** x · sigmoid(x) (inplace: written into x) */
export const silu = (x: Tensor, ...args: InplaceArg) => (inplaceOf('silu', args) ? x._inplace_(silu) : wrap(native.silu(id(x))));
export const mish = (x: Tensor, ...args: InplaceArg) => (inplaceOf('mish', args) ? x._inplace_(mish) : wrap(native.mish(id(x))));
export const logSigmoid = (x: Tensor) => wrap(native.logSigmoid(id(x)));
/** F.logsigmoid, PyTorch's spelling of logSigmoid. */
export const logsigmoid = logSigmoid;
export const selu = (x: Tensor, ...args: InplaceArg) => (inplaceOf('selu', args) ? selu_(x) : wrap(native.selu(id(x))));
export const hardswish = (x: Tensor, ...args: InplaceArg) => (inplaceOf('hardswish', args) ? x._inplace_(hardswish) : wrap(native.hardswish(id(x))));
export const hardsigmoid = (x: Tensor, ...args: InplaceArg) => (inplaceOf('hardsigmoid', args) ? x._inplace_(hardsigmoid) : wrap(native.hardsigmoid(id(x))));
/** log(1 + exp(beta x)) / beta, linear above threshold. */
export const softplus = takesOptions('softplus', 1, ['beta', 'threshold'], (x: Tensor, opts: { beta?: number; threshold?: number } = {}) =>
  wrap(native.softplus(id(x), opts.beta ?? 1, opts.threshold ?? 20)));
export const elu = takesOptions('elu', 1, ['alpha', 'inplace'], (x: Tensor, opts: { alpha?: number; inplace?: boolean } = {}) =>
  (opts.inplace ? elu_(x, opts.alpha ?? 1) : wrap(native.elu(id(x), opts.alpha ?? 1))));
export const celu = takesOptions('celu', 1, ['alpha', 'inplace'], (x: Tensor, opts: { alpha?: number; inplace?: boolean } = {}) =>
  (opts.inplace ? celu_(x, opts.alpha ?? 1) : wrap(native.celu(id(x), opts.alpha ?? 1))));
export const leakyRelu = takesOptions('leakyRelu', 1, ['negativeSlope', 'inplace'], (x: Tensor, opts: { negativeSlope?: number; inplace?: boolean } = {}) =>
  (opts.inplace ? leakyRelu_(x, opts.negativeSlope ?? 0.01) : wrap(native.leakyRelu(id(x), opts.negativeSlope ?? 0.01))));
export const hardtanh = takesOptions('hardtanh', 1, ['minVal', 'maxVal', 'inplace'], (x: Tensor, opts: { minVal?: number; maxVal?: number; inplace?: boolean } = {}) =>
  (opts.inplace ? hardtanh_(x, opts.minVal ?? -1, opts.maxVal ?? 1) : wrap(native.hardtanh(id(x), opts.minVal ?? -1, opts.maxVal ?? 1))));
export const relu6 = (x: Tensor, ...args: InplaceArg) => hardtanh(x, 0, 6, inplaceOf('relu6', args));
/** The first half of dim times the sigmoid of the second half. */
export const glu = takesOptions('glu', 1, ['dim'], (x: Tensor, opts: { dim?: number } = {}) => wrap(native.glu(id(x), opts.dim ?? -1)));
export const prelu = (x: Tensor, weight: Tensor) => wrap(native.prelu(id(x), id(weight)));
export function softsign(x: Tensor): Tensor {
  return tidy(() => x.div(x.abs().add(1)));
}

/**
 * Pads the last dims: pad lists (left, right) of the last dim, then of the one before, as F.pad.
 * mode 'constant' (with value), 'reflect', 'replicate' or 'circular'.
 */
export const pad = requiredByName('F.pad', 1, ['pad'], takesOptions('pad', 2, ['mode', 'value'], function pad(x: Tensor, padding: number[], opts: { mode?: 'constant' | 'reflect' | 'replicate' | 'circular'; value?: number } = {}): Tensor {
  const mode = opts.mode ?? 'constant';
  if (mode === 'circular' && x.dim() === padding.length / 2 + 1) {
    // an input without a batch dim (libtorch 1.13 wants one for 'circular'; PyTorch 2 takes either)
    return tidy(() => wrap(native.pad(id(x.unsqueeze(0)), padding, mode, null)).squeeze(0));
  }
  return wrap(native.pad(id(x), padding, mode, mode === 'constant' ? opts.value ?? 0 : null));
}));

// ---------- convolution and pooling (batch first: (N, C, L), (N, C, H, W), (N, C, D, H, W)) ----------
type Size = number | number[];
const sizes = (v: Size, nd: number, what: string): number[] => {
  if (typeof v !== 'number' && !Array.isArray(v)) throw new Error(`${what}: expected ${nd === 1 ? 'an integer' : `an integer or ${nd} of them`}, got ${v === undefined ? 'nothing (it is required)' : JSON.stringify(v) ?? String(v)}`);
  const a = typeof v === 'number' ? new Array(nd).fill(v) : v;
  if (a.length !== nd || a.some((k) => !Number.isInteger(k))) throw new Error(`${what}: expected ${nd} integer(s), got [${a}]`);
  return a;
};
export interface ConvOptions {
  stride?: Size;
  /** sizes, or 'same' (output as long as the input; stride 1) or 'valid' (none) */
  padding?: Size | 'same' | 'valid';
  dilation?: Size;
  groups?: number;
}
const CONV_KEYS: (keyof ConvOptions)[] = ['stride', 'padding', 'dilation', 'groups'];
type ConvArgs = [opts?: ConvOptions] | [stride?: Size, padding?: Size | 'same' | 'valid', dilation?: Size, groups?: number];
/** F.conv2d(x, w, { padding: 1 }) or (x, w, { bias, stride }), as Python's keywords after weight: the bias out of the options. */
function biasAndOptions(bias: unknown, args: unknown[]): [Tensor | null | undefined, unknown[]] {
  if (!isOptionsObject(bias)) return [bias as Tensor | null | undefined, args];
  const { bias: b, ...opts } = bias as { bias?: Tensor | null };
  return [b, [opts, ...args]];
}
function conv(nd: number, x: Tensor, weight: Tensor, bias0: Tensor | null | undefined | ConvOptions, args0: unknown[]): Tensor {
  const name = `conv${nd}d`;
  const [bias, args] = biasAndOptions(bias0, args0);
  const o = optionsOf<ConvOptions>(name, args, CONV_KEYS);
  const padding = typeof o.padding === 'string' ? o.padding : sizes(o.padding ?? 0, nd, `${name} padding`);
  return wrap(native.conv(id(x), id(weight), optId(bias), sizes(o.stride ?? 1, nd, `${name} stride`), padding,
    sizes(o.dilation ?? 1, nd, `${name} dilation`), o.groups ?? 1, nd));
}
// (each takes { stride, padding, dilation, groups }, or PyTorch's positional stride, padding, dilation, groups)
/** weight (out, in / groups, k) */
export const conv1d = (x: Tensor, weight: Tensor, bias?: Tensor | null | (ConvOptions & { bias?: Tensor | null }), ...opts: ConvArgs) => conv(1, x, weight, bias, opts);
/** weight (out, in / groups, kH, kW) */
export const conv2d = (x: Tensor, weight: Tensor, bias?: Tensor | null | (ConvOptions & { bias?: Tensor | null }), ...opts: ConvArgs) => conv(2, x, weight, bias, opts);
export const conv3d = (x: Tensor, weight: Tensor, bias?: Tensor | null | (ConvOptions & { bias?: Tensor | null }), ...opts: ConvArgs) => conv(3, x, weight, bias, opts);
export interface ConvTransposeOptions {
  stride?: Size;
  padding?: Size;
  outputPadding?: Size;
  groups?: number;
  dilation?: Size;
}
// (PyTorch's positional order: stride, padding, output_padding, groups, dilation)
type ConvTransposeArgs = [opts?: ConvTransposeOptions] | [stride?: Size, padding?: Size, outputPadding?: Size, groups?: number, dilation?: Size];
function convTranspose(nd: number, x: Tensor, weight: Tensor, bias0: Tensor | null | undefined | ConvTransposeOptions, args0: unknown[]): Tensor {
  const name = `convTranspose${nd}d`;
  const [bias, args] = biasAndOptions(bias0, args0);
  const o = optionsOf<ConvTransposeOptions>(name, args, ['stride', 'padding', 'outputPadding', 'groups', 'dilation']);
  return wrap(native.convTranspose(id(x), id(weight), optId(bias), sizes(o.stride ?? 1, nd, `${name} stride`), sizes(o.padding ?? 0, nd, `${name} padding`),
    sizes(o.outputPadding ?? 0, nd, `${name} outputPadding`), o.groups ?? 1, sizes(o.dilation ?? 1, nd, `${name} dilation`), nd));
}
/** weight (in, out / groups, k) */
export const convTranspose1d = (x: Tensor, weight: Tensor, bias?: Tensor | null | (ConvTransposeOptions & { bias?: Tensor | null }), ...opts: ConvTransposeArgs) => convTranspose(1, x, weight, bias, opts);
export const convTranspose2d = (x: Tensor, weight: Tensor, bias?: Tensor | null | (ConvTransposeOptions & { bias?: Tensor | null }), ...opts: ConvTransposeArgs) => convTranspose(2, x, weight, bias, opts);
export const convTranspose3d = (x: Tensor, weight: Tensor, bias?: Tensor | null | (ConvTransposeOptions & { bias?: Tensor | null }), ...opts: ConvTransposeArgs) => convTranspose(3, x, weight, bias, opts);
export interface PoolOptions {
  /** the kernel size by default */
  stride?: Size | null;
  padding?: Size;
  ceilMode?: boolean;
}
type MaxPoolOptions = PoolOptions & { dilation?: Size };
// (PyTorch's positional order: stride, padding, dilation, ceil_mode, return_indices; avg: stride, padding, ceil_mode, count_include_pad, divisor_override)
type MaxPoolArgs = [opts?: MaxPoolOptions & { returnIndices?: boolean }] | [stride?: Size | null, padding?: Size, dilation?: Size, ceilMode?: boolean, returnIndices?: boolean];
type PoolWithIndices = NamedTuple<{ values: Tensor; indices: Tensor }>;
/**
 * What a max pool gives, from its arguments' types: with returnIndices true, PyTorch's pair
 * (values, indices); without it, the values; a boolean decided at run time, either.
 */
type MaxPoolOf<K, A> =
  [K, A] extends [{ returnIndices: true }, unknown] | [unknown, [{ returnIndices: true }]] | [unknown, [unknown, unknown, unknown, unknown, true]] ? PoolWithIndices
  : [K, A] extends [{ returnIndices: boolean }, unknown] | [unknown, [{ returnIndices: boolean }]] | [unknown, [unknown, unknown, unknown, unknown, boolean]] ? Tensor | PoolWithIndices
  : Tensor;
type AvgPoolOptions = PoolOptions & { countIncludePad?: boolean };
type AvgPoolArgs = [opts?: AvgPoolOptions] | [stride?: Size | null, padding?: Size, ceilMode?: boolean, countIncludePad?: boolean, divisorOverride?: null];
/** A pool's kernel size, or every argument by name with it (F.max_pool2d(x, kernel_size=2, stride=1)). */
type KernelOr<O> = Size | (O & { kernelSize: Size });
/** kernelSize given in the options object: taken out of it, the rest left as the options. */
function kernelFirst(name: string, kernelSize: unknown, args: unknown[]): [Size, unknown[]] {
  if (!isOptionsObject(kernelSize)) return [kernelSize as Size, args];
  if (args.some((a) => a !== undefined)) throw new Error(`${name}: an options object goes last, after the positional arguments`);
  const { kernelSize: k, ...rest } = kernelSize as { kernelSize?: Size };
  if (k === undefined) throw new Error(`${name}: give kernelSize (${name}(x, 2) or ${name}(x, { kernelSize: 2 }))`);
  return [k, [rest]];
}
function maxPoolOptions(name: string, args: unknown[]): MaxPoolOptions & { returnIndices?: boolean } {
  return optionsOf<MaxPoolOptions & { returnIndices?: boolean }>(name, args, ['stride', 'padding', 'dilation', 'ceilMode', 'returnIndices']);
}
function avgPoolOptions(name: string, args: unknown[]): AvgPoolOptions {
  const o = optionsOf<AvgPoolOptions & { divisorOverride?: number | null }>(name, args, ['stride', 'padding', 'ceilMode', 'countIncludePad', 'divisorOverride']);
  if (o.divisorOverride != null) throw new Error(`${name}: divisorOverride is not offered: divide the sum pool (countIncludePad true, times the kernel's size) yourself`);
  return o;
}
function maxPool(nd: number, x: Tensor, kernelSize: KernelOr<MaxPoolOptions>, args: unknown[]): Tensor | PoolWithIndices {
  [kernelSize, args] = kernelFirst(`maxPool${nd}d`, kernelSize, args);
  const { returnIndices, ...o } = maxPoolOptions(`maxPool${nd}d`, args);
  if (returnIndices) return maxPoolWithIndices(nd, x, kernelSize, [o]);
  const k = sizes(kernelSize, nd, `maxPool${nd}d kernelSize`);
  return wrap(native.maxPool(id(x), k, o.stride == null ? k : sizes(o.stride, nd, `maxPool${nd}d stride`), sizes(o.padding ?? 0, nd, `maxPool${nd}d padding`),
    sizes(o.dilation ?? 1, nd, `maxPool${nd}d dilation`), o.ceilMode ?? false, nd));
}
function avgPool(nd: number, x: Tensor, kernelSize: KernelOr<AvgPoolOptions>, args: unknown[]): Tensor {
  [kernelSize, args] = kernelFirst(`avgPool${nd}d`, kernelSize, args);
  const o = avgPoolOptions(`avgPool${nd}d`, args);
  const k = sizes(kernelSize, nd, `avgPool${nd}d kernelSize`);
  return wrap(native.avgPool(id(x), k, o.stride == null ? k : sizes(o.stride, nd, `avgPool${nd}d stride`), sizes(o.padding ?? 0, nd, `avgPool${nd}d padding`),
    o.ceilMode ?? false, o.countIncludePad ?? true, nd));
}
/** F.max_pool1d: the values; with returnIndices (PyTorch's return_indices=True), the pair (values, indices) maxUnpool1d takes. */
export const maxPool1d = <K extends KernelOr<MaxPoolOptions & { returnIndices?: boolean }>, A extends MaxPoolArgs>(x: Tensor, kernelSize: K, ...opts: A): MaxPoolOf<K, A> => maxPool(1, x, kernelSize, opts) as MaxPoolOf<K, A>;
/** F.max_pool2d: the values; with returnIndices (PyTorch's return_indices=True), the pair (values, indices) maxUnpool2d takes. */
export const maxPool2d = <K extends KernelOr<MaxPoolOptions & { returnIndices?: boolean }>, A extends MaxPoolArgs>(x: Tensor, kernelSize: K, ...opts: A): MaxPoolOf<K, A> => maxPool(2, x, kernelSize, opts) as MaxPoolOf<K, A>;
export const avgPool1d = (x: Tensor, kernelSize: KernelOr<AvgPoolOptions>, ...opts: AvgPoolArgs) => avgPool(1, x, kernelSize, opts);
export const avgPool2d = (x: Tensor, kernelSize: KernelOr<AvgPoolOptions>, ...opts: AvgPoolArgs) => avgPool(2, x, kernelSize, opts);
/** F.max_pool3d: the values; with returnIndices (PyTorch's return_indices=True), the pair (values, indices) maxUnpool3d takes. */
export const maxPool3d = <K extends KernelOr<MaxPoolOptions & { returnIndices?: boolean }>, A extends MaxPoolArgs>(x: Tensor, kernelSize: K, ...opts: A): MaxPoolOf<K, A> => maxPool(3, x, kernelSize, opts) as MaxPoolOf<K, A>;
export const avgPool3d = (x: Tensor, kernelSize: KernelOr<AvgPoolOptions>, ...opts: AvgPoolArgs) => avgPool(3, x, kernelSize, opts);
/** maxPoolNd with returnIndices: { values, indices } (the flat positions maxUnpool takes back). */
function maxPoolWithIndices(nd: number, x: Tensor, kernelSize: KernelOr<MaxPoolOptions>, args: unknown[]): NamedTuple<{ values: Tensor; indices: Tensor }> {
  [kernelSize, args] = kernelFirst(`maxPool${nd}dWithIndices`, kernelSize, args);
  const o = optionsOf<MaxPoolOptions>(`maxPool${nd}dWithIndices`, args, ['stride', 'padding', 'dilation', 'ceilMode']);
  const k = sizes(kernelSize, nd, `maxPool${nd}d kernelSize`);
  const [values, indices] = (native.maxPoolWithIndices(id(x), k, o.stride == null ? k : sizes(o.stride, nd, `maxPool${nd}d stride`),
    sizes(o.padding ?? 0, nd, `maxPool${nd}d padding`), sizes(o.dilation ?? 1, nd, `maxPool${nd}d dilation`), o.ceilMode ?? false, nd) as number[]).map(wrap);
  return namedTuple({ values, indices });
}
type MaxPoolWithIndicesArgs = [opts?: MaxPoolOptions] | [stride?: Size | null, padding?: Size, dilation?: Size, ceilMode?: boolean];
export const maxPool1dWithIndices = (x: Tensor, kernelSize: KernelOr<MaxPoolOptions>, ...opts: MaxPoolWithIndicesArgs) => maxPoolWithIndices(1, x, kernelSize, opts);
export const maxPool2dWithIndices = (x: Tensor, kernelSize: KernelOr<MaxPoolOptions>, ...opts: MaxPoolWithIndicesArgs) => maxPoolWithIndices(2, x, kernelSize, opts);
export const maxPool3dWithIndices = (x: Tensor, kernelSize: KernelOr<MaxPoolOptions>, ...opts: MaxPoolWithIndicesArgs) => maxPoolWithIndices(3, x, kernelSize, opts);
/** Adaptive max pooling to outputSize: { values, indices }. */
function adaptiveMaxPoolWithIndices(nd: number, x: Tensor, outputSize: Size): NamedTuple<{ values: Tensor; indices: Tensor }> {
  const [values, indices] = (native.adaptiveMaxPool(id(x), sizes(outputSize, nd, `adaptiveMaxPool${nd}d outputSize`), nd) as number[]).map(wrap);
  return namedTuple({ values, indices });
}
/** Adaptive max pooling to outputSize: the values, as F.adaptive_max_pool*d; with returnIndices, the pair (values, indices). */
function adaptiveMaxPool(nd: number, x: Tensor, outputSize: Size, args: unknown[]): Tensor | PoolWithIndices {
  const name = `adaptiveMaxPool${nd}d`;
  const r = adaptiveMaxPoolWithIndices(nd, x, outputSize);
  if (optionsOf<{ returnIndices?: boolean }>(name, args, ['returnIndices']).returnIndices) return r;
  r.indices.dispose();
  return r.values;
}
type AdaptiveMaxPoolArgs = [returnIndices?: boolean] | [opts?: { returnIndices?: boolean }];
/** F.adaptive_max_pool*d's forms: with returnIndices true, the pair (values, indices); without, the values; a boolean decided at run time, either. */
interface AdaptiveMaxPool {
  (x: Tensor, outputSize: Size, returnIndices: true | { returnIndices: true }): PoolWithIndices;
  (x: Tensor, opts: { outputSize: Size; returnIndices: true }): PoolWithIndices;
  (x: Tensor, outputSize: Size, returnIndices?: false | { returnIndices?: false }): Tensor;
  (x: Tensor, opts: { outputSize: Size; returnIndices?: false }): Tensor;
  (x: Tensor, outputSize: Size | { outputSize: Size; returnIndices?: boolean }, returnIndices?: boolean | { returnIndices?: boolean }): Tensor | PoolWithIndices;
}
export const adaptiveMaxPool1d = requiredByName('F.adaptiveMaxPool1d', 1, ['outputSize'], (x: Tensor, outputSize: Size, ...args: AdaptiveMaxPoolArgs) => adaptiveMaxPool(1, x, outputSize, args)) as AdaptiveMaxPool;
export const adaptiveMaxPool2d = requiredByName('F.adaptiveMaxPool2d', 1, ['outputSize'], (x: Tensor, outputSize: Size, ...args: AdaptiveMaxPoolArgs) => adaptiveMaxPool(2, x, outputSize, args)) as AdaptiveMaxPool;
export const adaptiveMaxPool3d = requiredByName('F.adaptiveMaxPool3d', 1, ['outputSize'], (x: Tensor, outputSize: Size, ...args: AdaptiveMaxPoolArgs) => adaptiveMaxPool(3, x, outputSize, args)) as AdaptiveMaxPool;
export const adaptiveMaxPool1dWithIndices = requiredByName('F.adaptiveMaxPool1dWithIndices', 1, ['outputSize'], (x: Tensor, outputSize: Size) => adaptiveMaxPoolWithIndices(1, x, outputSize));
export const adaptiveMaxPool2dWithIndices = requiredByName('F.adaptiveMaxPool2dWithIndices', 1, ['outputSize'], (x: Tensor, outputSize: Size) => adaptiveMaxPoolWithIndices(2, x, outputSize));
export const adaptiveMaxPool3dWithIndices = requiredByName('F.adaptiveMaxPool3dWithIndices', 1, ['outputSize'], (x: Tensor, outputSize: Size) => adaptiveMaxPoolWithIndices(3, x, outputSize));
export interface FractionalMaxPoolOptions {
  /** the output's spatial size, or */
  outputSize?: Size | null;
  /** its ratio to the input's (in (0, 1)) */
  outputRatio?: number | number[] | null;
  /** the uniform draws that place the pooling regions ([N, C, nd]); drawn with torch.rand when absent, as PyTorch's */
  randomSamples?: Tensor | null;
}
// F.fractional_max_pool2d / 3d: max pooling over pseudo-random regions reaching an output size between integer strides.
function fractionalMaxPool(nd: 2 | 3, x: Tensor, kernelSize: Size, opts: FractionalMaxPoolOptions): NamedTuple<{ values: Tensor; indices: Tensor }> {
  const name = `fractional_max_pool${nd}d`;
  if (opts.outputSize == null && opts.outputRatio == null) throw new Error(`${name} requires specifying either an output_size or an output_ratio`);
  const spatial = x.shape.slice(x.ndim - nd);
  const size = opts.outputSize != null
    ? sizes(opts.outputSize, nd, `${name} outputSize`)
    : (Array.isArray(opts.outputRatio) ? opts.outputRatio : new Array(nd).fill(opts.outputRatio)).map((r: number, k: number) => Math.trunc(spatial[k] * r));
  const samples = opts.randomSamples ?? rand([x.ndim === nd + 1 ? 1 : x.shape[0], x.shape[x.ndim - nd - 1], nd], { dtype: x.dtype, device: x.device });
  const [values, indices] = (native.fractionalMaxPool(id(x), sizes(kernelSize, nd, `${name} kernelSize`), size, id(samples), nd) as number[]).map(wrap);
  if (!opts.randomSamples) samples.dispose();
  return namedTuple({ values, indices });
}
/** F.fractional_max_pool2d with return_indices: { values, indices }. */
export const fractionalMaxPool2dWithIndices = takesOptions('fractionalMaxPool2dWithIndices', 2, ['outputSize', 'outputRatio'], (x: Tensor, kernelSize: Size, opts: FractionalMaxPoolOptions) => fractionalMaxPool(2, x, kernelSize, opts), { extra: ['randomSamples'] });
export const fractionalMaxPool3dWithIndices = takesOptions('fractionalMaxPool3dWithIndices', 2, ['outputSize', 'outputRatio'], (x: Tensor, kernelSize: Size, opts: FractionalMaxPoolOptions) => fractionalMaxPool(3, x, kernelSize, opts), { extra: ['randomSamples'] });
/** F.fractional_max_pool2d / 3d's forms: the pooled values; with returnIndices true, the pair (values, indices). */
interface FractionalMaxPool {
  (x: Tensor, kernelSize: Size, opts: FractionalMaxPoolOptions & { returnIndices: true }): PoolWithIndices;
  (x: Tensor, kernelSize: Size, outputSize: Size | null | undefined, outputRatio: number | number[] | null | undefined, returnIndices: true, randomSamples?: Tensor | null): PoolWithIndices;
  (x: Tensor, kernelSize: Size, opts?: FractionalMaxPoolOptions & { returnIndices?: false }): Tensor;
  (x: Tensor, kernelSize: Size, outputSize?: Size | null, outputRatio?: number | number[] | null, returnIndices?: false, randomSamples?: Tensor | null): Tensor;
}
const fractionalMaxPoolValues = (nd: 2 | 3) => takesOptions(`fractionalMaxPool${nd}d`, 2, ['outputSize', 'outputRatio', 'returnIndices', 'randomSamples'],
  (x: Tensor, kernelSize: Size, { returnIndices, ...opts }: FractionalMaxPoolOptions & { returnIndices?: boolean }): Tensor | PoolWithIndices => {
    const r = fractionalMaxPool(nd, x, kernelSize, opts);
    if (returnIndices) return r;
    r.indices.dispose();
    return r.values;
  }) as unknown as FractionalMaxPool;
/** F.fractional_max_pool2d: the pooled values (with returnIndices, the pair). */
export const fractionalMaxPool2d = fractionalMaxPoolValues(2);
/** F.fractional_max_pool3d: the pooled values (with returnIndices, the pair). */
export const fractionalMaxPool3d = fractionalMaxPoolValues(3);
export interface UnpoolOptions {
  /** the kernel size by default */
  stride?: Size | null;
  padding?: Size;
  /** the output's spatial size (or its full size) when the pooling's input size is ambiguous */
  outputSize?: number[] | null;
}
/**
 * The inverse of max pooling: each value put back at its index, zeros elsewhere (F.max_unpool1d/2d/3d).
 * The output size is (in - 1) · stride + kernel - 2 · padding unless outputSize says otherwise.
 */
function maxUnpool(nd: number, x: Tensor, indices: Tensor, kernelSize: Size, o: UnpoolOptions): Tensor {
  const name = `maxUnpool${nd}d`;
  const k = sizes(kernelSize, nd, `${name} kernelSize`), st = o.stride == null ? k : sizes(o.stride, nd, `${name} stride`), pad = sizes(o.padding ?? 0, nd, `${name} padding`);
  const spatial = x.shape.slice(x.ndim - nd);
  const defaults = spatial.map((n, d) => (n - 1) * st[d] + k[d] - 2 * pad[d]);
  let size = defaults;
  if (o.outputSize) {
    size = o.outputSize.length === nd + 2 ? o.outputSize.slice(2) : o.outputSize;
    if (size.length !== nd) throw new Error(`${name}: outputSize must have ${nd} or ${nd + 2} elements (got ${o.outputSize.length})`);
    size.forEach((n, d) => {
      const lo = defaults[d] - st[d], hi = defaults[d] + st[d];
      if (!(n > lo && n < hi)) throw new Error(`${name}: invalid outputSize [${size}] (dim ${d} must be between ${lo + 1} and ${hi - 1})`);
    });
  }
  if (nd === 1) {
    return tidy(() => wrap(native.maxUnpool(id(x.unsqueeze(-1)), id(indices.unsqueeze(-1)), [size[0], 1], [], [], 2)).squeeze(-1));
  }
  return wrap(native.maxUnpool(id(x), id(indices), size, st, pad, nd));
}
export const maxUnpool1d = requiredByName('F.maxUnpool1d', 2, ['kernelSize'], takesOptions('maxUnpool1d', 3, ['stride', 'padding', 'outputSize'], (x: Tensor, indices: Tensor, kernelSize: Size, opts: UnpoolOptions = {}) => maxUnpool(1, x, indices, kernelSize, opts)));
export const maxUnpool2d = requiredByName('F.maxUnpool2d', 2, ['kernelSize'], takesOptions('maxUnpool2d', 3, ['stride', 'padding', 'outputSize'], (x: Tensor, indices: Tensor, kernelSize: Size, opts: UnpoolOptions = {}) => maxUnpool(2, x, indices, kernelSize, opts)));
export const maxUnpool3d = requiredByName('F.maxUnpool3d', 2, ['kernelSize'], takesOptions('maxUnpool3d', 3, ['stride', 'padding', 'outputSize'], (x: Tensor, indices: Tensor, kernelSize: Size, opts: UnpoolOptions = {}) => maxUnpool(3, x, indices, kernelSize, opts)));
/** The p-norm over each window: (sum x^p)^(1/p) (F.lp_pool1d / 2d). */
export const lpPool1d = requiredByName('F.lpPool1d', 1, ['normType', 'kernelSize'], takesOptions('lpPool1d', 3, ['stride', 'ceilMode'], function lpPool1d(x: Tensor, normType: number, kernelSize: number, opts: { stride?: number | null; ceilMode?: boolean } = {}): Tensor {
  return tidy(() => {
    const out = avgPool1d(x.pow(normType), kernelSize, { stride: opts.stride ?? null, padding: 0, ceilMode: opts.ceilMode ?? false });
    return out.sign().mul(relu(out.abs())).mul(kernelSize).pow(1 / normType);
  });
}));
export const lpPool2d = requiredByName('F.lpPool2d', 1, ['normType', 'kernelSize'], takesOptions('lpPool2d', 3, ['stride', 'ceilMode'], function lpPool2d(x: Tensor, normType: number, kernelSize: Size, opts: { stride?: Size | null; ceilMode?: boolean } = {}): Tensor {
  const [kw, kh] = sizes(kernelSize, 2, 'lpPool2d kernelSize');
  return tidy(() => {
    const out = avgPool2d(x.pow(normType), kernelSize, { stride: opts.stride ?? null, padding: 0, ceilMode: opts.ceilMode ?? false });
    return out.sign().mul(relu(out.abs())).mul(kw * kh).pow(1 / normType);
  });
}));
/** Each value divided by (k + alpha · the mean square over `size` neighbouring channels)^beta (F.local_response_norm). */
export const localResponseNorm = requiredByName('F.localResponseNorm', 1, ['size'], takesOptions('localResponseNorm', 2, ['alpha', 'beta', 'k'], function localResponseNorm(x: Tensor, size: number, opts: { alpha?: number; beta?: number; k?: number } = {}): Tensor {
  const dim = x.ndim;
  if (dim < 3) throw new Error(`localResponseNorm: expected 3D or higher dimensionality input (got ${dim} dimensions)`);
  if (x.numel() === 0) return x;
  return tidy(() => {
    let div = x.mul(x).unsqueeze(1);
    if (dim === 3) {
      div = avgPool2d(pad(div, [0, 0, Math.floor(size / 2), Math.floor((size - 1) / 2)]), [size, 1], { stride: 1 }).squeeze(1);
    } else {
      const s = x.shape;
      div = div.view([s[0], 1, s[1], s[2], -1]);
      div = avgPool3d(pad(div, [0, 0, 0, 0, Math.floor(size / 2), Math.floor((size - 1) / 2)]), [size, 1, 1], { stride: 1 }).squeeze(1);
      div = div.view(s);
    }
    return x.div(div.mul(opts.alpha ?? 1e-4).add(opts.k ?? 1).pow(opts.beta ?? 0.75));
  });
}));
/**
 * (N, g·c, ...) -> channels regrouped as (N, c·g, ...) (ShuffleNet). A view, transpose and
 * reshape, so it has a gradient (libtorch 1.13's channel_shuffle kernel has none).
 */
export function channelShuffle(x: Tensor, groups: number): Tensor {
  const [n, c, ...rest] = x.shape;
  if (x.ndim < 3) throw new Error(`channelShuffle: expected input of 3 or more dims, got [${x.shape}]`);
  if (!(groups > 0) || c % groups) throw new Error(`channelShuffle: the number of channels (${c}) must be divisible by groups (${groups})`);
  return tidy(() => x.reshape([n, groups, c / groups, ...rest]).transpose(1, 2).reshape(x.shape));
}
/** Leaky ReLU whose negative slopes are drawn from U(lower, upper) in training, their mean otherwise (F.rrelu). */
export const rrelu = takesOptions('rrelu', 1, ['lower', 'upper', 'training', 'inplace'], (x: Tensor, { inplace, ...opts }: { lower?: number; upper?: number; training?: boolean; inplace?: boolean; generator?: Generator } = {}): Tensor =>
  inplace ? rrelu_(x, opts)
    : wrap(native.rrelu(id(x), opts.lower ?? 1 / 8, opts.upper ?? 1 / 3, opts.training ?? false, opts.generator ? Generator._handle(opts.generator) : -1)), { extra: ['generator'] });
/** Whole channels of (N, C, D, H, W) (or (C, D, H, W)) dropped with probability p (F.dropout3d). */
export const dropout3d = takesOptions('dropout3d', 1, DROPOUT_KEYS, (x: Tensor, opts: DropoutOptions = {}) => {
  // (as PyTorch's: other ranks are deprecated, not refused; a 4-D input is one unbatched sample)
  if (x.ndim !== 4 && x.ndim !== 5) {
    warnOnce(`dropout3d: Received a ${x.ndim}-D input to dropout3d, which is deprecated and will result in an error in a future release. To retain the behavior and silence this warning, please use dropout instead. Note that dropout3d exists to provide channel-wise dropout on inputs with 3 spatial dimensions, a channel dimension, and an optional batch dimension (i.e. 4D or 5D inputs).`);
  }
  return dropoutOf('dropout3d', x, opts, true, (t, p, training) => channelDropout(t, p, training, 5));
});
/** Whole channels dropped, for inputs batched (ndim `batchedDims`) or not. */
function channelDropout(x: Tensor, p: number, training: boolean, batchedDims: number): Tensor {
  const batched = x.ndim === batchedDims;
  if (batched) return wrap(native.featureDropout(id(x), p, training));
  const one = x.unsqueeze(0);
  const y = wrap(native.featureDropout(id(one), p, training));
  one.dispose();
  const out = y.squeeze(0);
  y.dispose();
  return out;
}
/** Alpha dropout of whole channels (F.feature_alpha_dropout; PyTorch's default training: false). */
export const featureAlphaDropout = takesOptions('featureAlphaDropout', 1, DROPOUT_KEYS, (x: Tensor, opts: DropoutOptions = {}) =>
  dropoutOf('featureAlphaDropout', x, opts, false, (t, p, training) => wrap(native.featureAlphaDropout(id(t), p, training))));
export const adaptiveAvgPool1d = requiredByName('F.adaptiveAvgPool1d', 1, ['outputSize'], (x: Tensor, outputSize: Size) => wrap(native.adaptiveAvgPool(id(x), sizes(outputSize, 1, 'adaptiveAvgPool1d outputSize'), 1)));
export const adaptiveAvgPool2d = requiredByName('F.adaptiveAvgPool2d', 1, ['outputSize'], (x: Tensor, outputSize: Size) => wrap(native.adaptiveAvgPool(id(x), sizes(outputSize, 2, 'adaptiveAvgPool2d outputSize'), 2)));
export const adaptiveAvgPool3d = requiredByName('F.adaptiveAvgPool3d', 1, ['outputSize'], (x: Tensor, outputSize: Size) => wrap(native.adaptiveAvgPool(id(x), sizes(outputSize, 3, 'adaptiveAvgPool3d outputSize'), 3)));

// ---------- pixel shuffling, shrinkage, channel dropout, bilinear ----------
/** (N, C·r², H, W) -> (N, C, H·r, W·r) */
export const pixelShuffle = requiredByName('F.pixelShuffle', 1, ['upscaleFactor'], (x: Tensor, upscaleFactor: number) => wrap(native.pixelShuffle(id(x), upscaleFactor)));
/** (N, C, H·r, W·r) -> (N, C·r², H, W) */
export const pixelUnshuffle = requiredByName('F.pixelUnshuffle', 1, ['downscaleFactor'], (x: Tensor, downscaleFactor: number) => wrap(native.pixelUnshuffle(id(x), downscaleFactor)));
export const hardshrink = takesOptions('hardshrink', 1, ['lambd'], (x: Tensor, opts: { lambd?: number } = {}) => wrap(native.hardshrink(id(x), opts.lambd ?? 0.5)));
export const softshrink = takesOptions('softshrink', 1, ['lambd'], (x: Tensor, opts: { lambd?: number } = {}) => wrap(native.softshrink(id(x), opts.lambd ?? 0.5)));
export const tanhshrink = (x: Tensor) => tidy(() => x.sub(x.tanh()));
/** value where x <= threshold, x elsewhere */
export const threshold = takesOptions('threshold', 1, ['threshold', 'value', 'inplace'], (x: Tensor, opts: { threshold: number; value: number; inplace?: boolean }) => {
  if (typeof opts.threshold !== 'number' || typeof opts.value !== 'number') throw new Error('threshold: takes threshold and value (numbers)');
  return opts.inplace ? threshold_(x, opts.threshold, opts.value) : wrap(native.threshold(id(x), opts.threshold, opts.value));
});
/** softmax(-x) over dim (which, as in softmax, must be given); with dtype the input is cast first. */
export const softmin = takesOptions('softmin', 1, ['dim', '_stacklevel', 'dtype'], (x: Tensor, opts: { dim?: number; _stacklevel?: number; dtype?: DType }) => {
  if (typeof opts.dim !== 'number') throw new Error('softmin: give the dim to take it over (F.softmin(x, -1))');
  const neg = x.neg();
  const out = neg.softmax(opts.dim, { dtype: opts.dtype });
  neg.dispose();
  return out;
});
/** Whole channels zeroed with probability p (and the rest scaled by 1/(1-p)): inputs (N, C, H, W) or (C, H, W). */
export const dropout2d = takesOptions('dropout2d', 1, DROPOUT_KEYS, (x: Tensor, opts: DropoutOptions = {}) => {
  // (as PyTorch's: other ranks are deprecated, not refused, and dropped as PyTorch drops them: a
  // 2-D (N, C) input element by element, as PyTorch's examples/mnist_rnn does; a 3-D one as (N, C, L))
  if (x.ndim !== 3 && x.ndim !== 4) {
    warnOnce(`dropout2d: Received a ${x.ndim}-D input to dropout2d, which is deprecated and will result in an error in a future release. To retain the behavior and silence this warning, please use dropout instead. Note that dropout2d exists to provide channel-wise dropout on inputs with 2 spatial dimensions, a channel dimension, and an optional batch dimension (i.e. 3D or 4D inputs).`);
  } else if (x.ndim === 3) {
    warnOnce('dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout behavior is desired - input is interpreted as shape (N, C, L), where C is the channel dim. This behavior will change in a future release to interpret the input as one without a batch dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise dropout behavior, please switch to using dropout1d instead.');
  }
  return dropoutOf('dropout2d', x, opts, true, (t, p, training) => wrap(native.featureDropout(id(t), p, training)));
});
/** dropout2d's 1-D form: (N, C, L) or (C, L). */
export const dropout1d = takesOptions('dropout1d', 1, DROPOUT_KEYS, (x: Tensor, opts: DropoutOptions = {}) => {
  if (x.ndim !== 2 && x.ndim !== 3) throw new Error(`dropout1d: expected a 2-D or 3-D input, got [${x.shape}]`);
  return dropoutOf('dropout1d', x, opts, true, (t, p, training) => channelDropout(t, p, training, 3));
});
/** Dropout keeping the self-normalizing mean and variance of SELU networks (PyTorch's default training: false). */
export const alphaDropout = takesOptions('alphaDropout', 1, DROPOUT_KEYS, (x: Tensor, opts: DropoutOptions = {}) =>
  dropoutOf('alphaDropout', x, opts, false, (t, p, training) => wrap(native.alphaDropout(id(t), p, training))));
/** x1ᵀ W x2 + b for weight (out, in1, in2). */
export const bilinear = takesOptions('bilinear', 3, ['bias'], (x1: Tensor, x2: Tensor, weight: Tensor, opts: { bias?: Tensor | null } = {}) =>
  wrap(native.bilinear(id(x1), id(x2), id(weight), optId(opts.bias))));

/** Samples input (N, C, H, W) at grid (N, H', W', 2) locations in [-1, 1] (spatial transformers). */
export const gridSample = takesOptions('gridSample', 2, ['mode', 'paddingMode', 'alignCorners'], function gridSample(input: Tensor, grid: Tensor, opts: { mode?: 'bilinear' | 'nearest' | 'bicubic'; paddingMode?: 'zeros' | 'border' | 'reflection'; alignCorners?: boolean } = {}): Tensor {
  const modes = ['bilinear', 'nearest', 'bicubic'], paddings = ['zeros', 'border', 'reflection'];
  const mode = modes.indexOf(opts.mode ?? 'bilinear'), padding = paddings.indexOf(opts.paddingMode ?? 'zeros');
  if (mode < 0) throw new Error(`gridSample: mode must be 'bilinear', 'nearest' or 'bicubic', got '${opts.mode}'`);
  if (padding < 0) throw new Error(`gridSample: paddingMode must be 'zeros', 'border' or 'reflection', got '${opts.paddingMode}'`);
  return wrap(native.gridSample(id(input), id(grid), mode, padding, opts.alignCorners ?? false));
});
/** The sampling grid of affine transforms theta (N, 2, 3) for an output of size [N, C, H, W] (or (N, 3, 4) for 5-D). */
export const affineGrid = requiredByName('F.affineGrid', 1, ['size'], takesOptions('affineGrid', 2, ['alignCorners'], (theta: Tensor, size: number[], opts: { alignCorners?: boolean | null } = {}) =>
  wrap(native.affineGrid(id(theta), size, opts.alignCorners ?? false))));
/** Sliding blocks of (N, C, H, W) as columns (N, C·kh·kw, L) (F.unfold, im2col). */
export const unfold = requiredByName('F.unfold', 1, ['kernelSize'], takesOptions('unfold', 2, ['dilation', 'padding', 'stride'], function unfold(input: Tensor, kernelSize: Size, opts: { dilation?: Size; padding?: Size; stride?: Size } = {}): Tensor {
  return wrap(native.im2col(id(input), sizes(kernelSize, 2, 'unfold kernelSize'), sizes(opts.dilation ?? 1, 2, 'unfold dilation'), sizes(opts.padding ?? 0, 2, 'unfold padding'), sizes(opts.stride ?? 1, 2, 'unfold stride')));
}));
/** The inverse: columns (N, C·kh·kw, L) summed back into (N, C, H, W) of outputSize (F.fold, col2im). */
export const fold = requiredByName('F.fold', 1, ['outputSize', 'kernelSize'], takesOptions('fold', 3, ['dilation', 'padding', 'stride'], function fold(input: Tensor, outputSize: Size, kernelSize: Size, opts: { dilation?: Size; padding?: Size; stride?: Size } = {}): Tensor {
  return wrap(native.col2im(id(input), sizes(outputSize, 2, 'fold outputSize'), sizes(kernelSize, 2, 'fold kernelSize'), sizes(opts.dilation ?? 1, 2, 'fold dilation'),
    sizes(opts.padding ?? 0, 2, 'fold padding'), sizes(opts.stride ?? 1, 2, 'fold stride')));
}));
/** Samples from the Gumbel-softmax distribution (F.gumbel_softmax); hard: one-hot forward, soft gradients. */
export const gumbelSoftmax = takesOptions('gumbelSoftmax', 1, ['tau', 'hard', 'eps', 'dim'], function gumbelSoftmax(logits: Tensor, opts: { tau?: number; hard?: boolean; dim?: number } = {}): Tensor {
  const tau = opts.tau ?? 1, dim = opts.dim ?? -1;
  return tidy(() => {
    const gumbels = noGrad(() => emptyLike(logits).exponential_().log().neg());
    const ySoft = softmax(logits.add(gumbels).div(tau), dim);
    if (!opts.hard) return ySoft;
    const index = ySoft.max(dim, true).indices;
    const yHard = zerosLike(logits).scatter_(dim, index, 1);
    return yHard.sub(ySoft.detach()).add(ySoft);
  });
});

// ---------- more losses (libtorch's) ----------
export const marginRankingLoss = takesOptions('marginRankingLoss', 3, ['margin', 'sizeAverage', 'reduce', 'reduction'], (x1: Tensor, x2: Tensor, target: Tensor, opts: { margin?: number; reduction?: Reduction } = {}) =>
  wrap(native.marginRankingLoss(id(x1), id(x2), id(target), opts.margin ?? 0, reductionCode(opts.reduction, 'marginRankingLoss'))));
export const cosineEmbeddingLoss = takesOptions('cosineEmbeddingLoss', 3, ['margin', 'sizeAverage', 'reduce', 'reduction'], (x1: Tensor, x2: Tensor, target: Tensor, opts: { margin?: number; reduction?: Reduction } = {}) =>
  wrap(native.cosineEmbeddingLoss(id(x1), id(x2), id(target), opts.margin ?? 0, reductionCode(opts.reduction, 'cosineEmbeddingLoss'))));
export const hingeEmbeddingLoss = takesOptions('hingeEmbeddingLoss', 2, ['margin', 'sizeAverage', 'reduce', 'reduction'], (input: Tensor, target: Tensor, opts: { margin?: number; reduction?: Reduction } = {}) =>
  wrap(native.hingeEmbeddingLoss(id(input), id(target), opts.margin ?? 1, reductionCode(opts.reduction, 'hingeEmbeddingLoss'))));
export const softMarginLoss = takesOptions('softMarginLoss', 2, ['sizeAverage', 'reduce', 'reduction'], (input: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}) =>
  wrap(native.softMarginLoss(id(input), id(target), reductionCode(opts.reduction, 'softMarginLoss'))));
export const tripletMarginLoss = takesOptions('tripletMarginLoss', 3, ['margin', 'p', 'eps', 'swap', 'sizeAverage', 'reduce', 'reduction'], (anchor: Tensor, positive: Tensor, negative: Tensor, opts: { margin?: number; p?: number; eps?: number; swap?: boolean; reduction?: Reduction } = {}) =>
  wrap(native.tripletMarginLoss(id(anchor), id(positive), id(negative), opts.margin ?? 1, opts.p ?? 2, opts.eps ?? 1e-6, opts.swap ?? false, reductionCode(opts.reduction, 'tripletMarginLoss'))));
export const poissonNllLoss = takesOptions('poissonNllLoss', 2, ['logInput', 'full', 'sizeAverage', 'eps', 'reduce', 'reduction'], (input: Tensor, target: Tensor, opts: { logInput?: boolean; full?: boolean; eps?: number; reduction?: Reduction } = {}) =>
  wrap(native.poissonNllLoss(id(input), id(target), opts.logInput ?? true, opts.full ?? false, opts.eps ?? 1e-8, reductionCode(opts.reduction, 'poissonNllLoss'))));
export const multiMarginLoss = takesOptions('multiMarginLoss', 2, ['p', 'margin', 'weight', 'sizeAverage', 'reduce', 'reduction'], (input: Tensor, target: Tensor, opts: { p?: 1 | 2; margin?: number; weight?: Tensor | null; reduction?: Reduction } = {}) =>
  wrap(native.multiMarginLoss(id(input), id(target), opts.p ?? 1, opts.margin ?? 1, optId(opts.weight), reductionCode(opts.reduction, 'multiMarginLoss'))));
/** -(y log σ(x) + (1 - y) log σ(-x)), averaged over classes, then reduced (F.multilabel_soft_margin_loss). */
export const multilabelSoftMarginLoss = takesOptions('multilabelSoftMarginLoss', 2, ['weight', 'sizeAverage', 'reduce', 'reduction'], function multilabelSoftMarginLoss(input: Tensor, target: Tensor, opts: { weight?: Tensor | null; reduction?: Reduction } = {}): Tensor {
  return tidy(() => {
    let loss = target.mul(logSigmoid(input)).add(target.neg().add(1).mul(logSigmoid(input.neg()))).neg();
    if (opts.weight) loss = loss.mul(opts.weight);
    const perSample = loss.sum(input.ndim - 1).div(input.shape[input.ndim - 1]);
    const r = opts.reduction ?? 'mean';
    return r === 'none' ? perSample : r === 'sum' ? perSample.sum() : perSample.mean();
  });
});
/** Gaussian negative log-likelihood of target under N(input, var) (F.gaussian_nll_loss; var clamped to eps). */
export const gaussianNllLoss = takesOptions('gaussianNllLoss', 3, ['full', 'eps', 'reduction'], function gaussianNllLoss(input: Tensor, target: Tensor, variance: Tensor, opts: { full?: boolean; eps?: number; reduction?: Reduction } = {}): Tensor {
  const si = input.shape, sv = variance.shape;
  const perSample = si.join() !== sv.join() && sv.join() === si.slice(0, -1).join();
  if (si.join() !== sv.join() && !perSample && !(sv.slice(0, -1).join() === si.slice(0, -1).join() && sv[sv.length - 1] === 1)) throw new Error('gaussianNllLoss: var is of incorrect size');
  return tidy(() => {
    // one variance per sample (the last dim dropped, or 1): broadcast over it, as PyTorch
    const variance1 = perSample ? variance.unsqueeze(-1) : variance;
    if (variance1.lt(0).any().item<boolean>()) throw new Error('gaussianNllLoss: var has negative entry/entries');
    const v = noGradClamp(variance1, opts.eps ?? 1e-6);
    let loss = v.log().add(input.sub(target).pow(2).div(v)).mul(0.5);
    if (opts.full) loss = loss.add(0.5 * Math.log(2 * Math.PI));
    const r = opts.reduction ?? 'mean';
    return r === 'none' ? loss : r === 'sum' ? loss.sum() : loss.mean();
  });
});
// PyTorch clamps the variance without letting the clamp's gradient through: var.clone() then
// clamp_ under no_grad, so where it clamps the gradient is as for the unclamped value.
function noGradClamp(v: Tensor, eps: number): Tensor {
  const c = v.clone();
  noGrad(() => c.clamp_(eps));
  return c;
}
/**
 * Connectionist temporal classification loss: logProbs (T, N, C) (log_softmax over C), targets
 * (N, S) padded or concatenated 1-D, and each sample's input and target lengths.
 */
export const ctcLoss = takesOptions('ctcLoss', 4, ['blank', 'reduction', 'zeroInfinity'], function ctcLoss(logProbs: Tensor, targets: Tensor, inputLengths: Tensor | number[], targetLengths: Tensor | number[], opts: { blank?: number; reduction?: Reduction; zeroInfinity?: boolean } = {}): Tensor {
  return tidy(() => {
    const lengths = (l: Tensor | number[]) => (l instanceof Tensor ? l.to({ dtype: 'int64' }) : tensor(l, { dtype: 'int64' }));
    return wrap(native.ctcLoss(id(logProbs), id(targets), id(lengths(inputLengths)), id(lengths(targetLengths)), opts.blank ?? 0, reductionCode(opts.reduction, 'ctcLoss'), opts.zeroInfinity ?? false));
  });
});

// ---------- resampling ----------
export type InterpolateMode = 'nearest' | 'nearest-exact' | 'linear' | 'bilinear' | 'bicubic' | 'trilinear' | 'area';
export interface InterpolateOptions {
  /** the output's spatial size (one number for every dim, or one each) */
  size?: Size | null;
  /** or: each spatial size is multiplied by this (and floored) */
  scaleFactor?: number | number[] | null;
  /** default 'nearest' */
  mode?: InterpolateMode;
  /** linear modes only: corner pixels' centres aligned (false by default, as PyTorch) */
  alignCorners?: boolean | null;
  /** with scaleFactor: compute the output size and resample by it, not by the scale given */
  recomputeScaleFactor?: boolean | null;
}
// The kernel family of each mode (native/nn.cc upsample) and, for linear modes, the spatial dims it needs.
const INTERPOLATE_KERNEL: Record<string, number> = { nearest: 0, 'nearest-exact': 1, linear: 2, bilinear: 2, trilinear: 2, bicubic: 3 };
const LINEAR_DIMS: Record<string, number> = { linear: 1, bilinear: 2, bicubic: 2, trilinear: 3 };

/**
 * F.interpolate: resizes (N, C, L), (N, C, H, W) or (N, C, D, H, W) to size, or by scaleFactor,
 * with PyTorch's kernels and coordinate rules ('area' is adaptive average pooling).
 */
export const interpolate = takesOptions('interpolate', 1, ['size', 'scaleFactor', 'mode', 'alignCorners', 'recomputeScaleFactor', 'antialias'], function interpolate(x: Tensor, opts: InterpolateOptions = {}): Tensor {
  const mode = opts.mode ?? 'nearest';
  const nd = x.ndim - 2;
  if (!Object.hasOwn(INTERPOLATE_KERNEL, mode) && mode !== 'area') {
    throw new Error(`interpolate: unknown mode '${mode}'; use nearest, nearest-exact, linear, bilinear, bicubic, trilinear or area`);
  }
  if (nd < 1 || nd > 3) throw new Error(`interpolate: input must be (N, C, L), (N, C, H, W) or (N, C, D, H, W); got ${x.ndim}-D`);
  const linearDims = LINEAR_DIMS[mode];
  if (opts.alignCorners != null && linearDims === undefined) {
    throw new Error('interpolate: alignCorners can only be set with the interpolating modes: linear | bilinear | bicubic | trilinear');
  }
  if (linearDims !== undefined && linearDims !== nd) throw new Error(`interpolate: got ${x.ndim}-D input, but ${mode} mode needs ${linearDims + 2}-D input`);
  if ((opts.size == null) === (opts.scaleFactor == null)) throw new Error('interpolate: give either size or scaleFactor (one of them)');
  let size = opts.size != null ? sizes(opts.size, nd, 'interpolate size') : null;
  let scales: number[] | null = null;
  if (opts.scaleFactor != null) {
    const sf = opts.scaleFactor;
    scales = typeof sf === 'number' ? new Array(nd).fill(sf) : sf;
    if (scales.length !== nd) throw new Error(`interpolate: scaleFactor has ${scales.length} entries for ${nd} spatial dims`);
    if (scales.some((v) => !(v > 0))) throw new Error(`interpolate: scaleFactor must be > 0, got [${scales}]`);
    if (opts.recomputeScaleFactor || mode === 'area') {
      const shape = x.shape;
      size = scales.map((v, k) => Math.floor(shape[k + 2] * v));
      scales = null;
    }
  }
  if (mode === 'area') return wrap(native.adaptiveAvgPool(id(x), size, nd));
  return wrap(native.upsample(id(x), INTERPOLATE_KERNEL[mode], size, scales, opts.alignCorners ?? false));
}, { fixed: { antialias: false } });

// ---------- normalization ----------
/**
 * Batch normalization over (N, C, ...). In training, normalizes by the batch's statistics and
 * updates runningMean / runningVar in place (momentum 0.1, unbiased variance), as F.batch_norm;
 * otherwise uses the running ones.
 */
export const batchNorm = takesOptions('batchNorm', 3, ['weight', 'bias', 'training', 'momentum', 'eps'], function batchNorm(
  x: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  opts: { weight?: Tensor | null; bias?: Tensor | null; training?: boolean; momentum?: number; eps?: number } = {},
): Tensor {
  return wrap(native.batchNorm(id(x), optId(runningMean), optId(runningVar), optId(opts.weight), optId(opts.bias),
    opts.training ?? false, opts.momentum ?? 0.1, opts.eps ?? 1e-5));
});
/**
 * Instance normalization over each sample's channel (N, C, ...): its own statistics (useInputStats,
 * and then the running ones updated in place when given), or the running ones (eval with tracking).
 */
export const instanceNorm = takesOptions('instanceNorm', 1, ['runningMean', 'runningVar', 'weight', 'bias', 'useInputStats', 'momentum', 'eps'], function instanceNorm(
  x: Tensor,
  opts: { runningMean?: Tensor | null; runningVar?: Tensor | null; weight?: Tensor | null; bias?: Tensor | null; useInputStats?: boolean; momentum?: number; eps?: number } = {},
): Tensor {
  if (x.ndim < 3) throw new Error(`instanceNorm: input must be (N, C, ...) with at least one spatial dim, got [${x.shape}]`);
  return wrap(native.instanceNorm(id(x), optId(opts.weight), optId(opts.bias), optId(opts.runningMean), optId(opts.runningVar),
    opts.useInputStats ?? true, opts.momentum ?? 0.1, opts.eps ?? 1e-5));
});
export const groupNorm = requiredByName('F.groupNorm', 1, ['numGroups'], takesOptions('groupNorm', 2, ['weight', 'bias', 'eps'], (x: Tensor, numGroups: number, opts: { weight?: Tensor | null; bias?: Tensor | null; eps?: number } = {}) =>
  wrap(native.groupNorm(id(x), numGroups, optId(opts.weight), optId(opts.bias), opts.eps ?? 1e-5))));

const FLOAT_EPS: Record<string, number> = { float32: 2 ** -23, float64: 2 ** -52, float16: 2 ** -10, bfloat16: 2 ** -7 };
/**
 * RMS normalization over the last normalizedShape.length dims (F.rms_norm, Llama's RMSNorm):
 * x / sqrt(mean(x²) + eps) · weight; eps defaults to the dtype's machine epsilon, as PyTorch's.
 */
export const rmsNorm = takesOptions('rmsNorm', 2, ['weight', 'eps'], function rmsNorm(x: Tensor, normalizedShape: number[], opts: { weight?: Tensor | null; eps?: number | null } = {}): Tensor {
  const { weight, eps } = opts;
  const n = normalizedShape.length, shape = x.shape;
  if (!n || normalizedShape.some((d, k) => d !== shape[shape.length - n + k])) {
    throw new Error(`rmsNorm: normalizedShape [${normalizedShape}] must be the input's last dims, got input [${shape}]`);
  }
  const dims = normalizedShape.map((_, k) => -n + k);
  return tidy(() => {
    const rms = x.square().mean(dims, true).add(eps ?? FLOAT_EPS[x.dtype] ?? 2 ** -23).rsqrt();
    return weight ? x.mul(rms).mul(weight) : x.mul(rms);
  });
});

export const hasFusedAttention: boolean = native.hasSdpa();

/**
 * softmax(q kᵀ / sqrt(d) + mask) v. On libtorch 2.x this is at::scaled_dot_product_attention
 * (flash / memory-efficient kernels on CUDA); on 1.13 the same math composed from ops.
 * attnMask: bool (true = attend) or float (added to the scores).
 */
export const scaledDotProductAttention = takesOptions('scaledDotProductAttention', 3, ['attnMask', 'dropoutP', 'isCausal', 'scale'], function scaledDotProductAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  opts: { attnMask?: Tensor | null; dropoutP?: number; isCausal?: boolean; scale?: number | null } = {},
): Tensor {
  const dropoutP = opts.dropoutP ?? 0;
  const isCausal = opts.isCausal ?? false;
  if (opts.scale != null) {
    // scale instead of 1/sqrt(d): q rescaled so that the default 1/sqrt(d) gives it (the same scores)
    const d = q.size(-1) as number;
    const qs = q.mul(opts.scale * Math.sqrt(d));
    try {
      return scaledDotProductAttention(qs, k, v, { attnMask: opts.attnMask, dropoutP, isCausal });
    } finally {
      qs.dispose();
    }
  }
  if (hasFusedAttention) {
    return wrap(native.scaledDotProductAttention(id(q), id(k), id(v), optId(opts.attnMask), dropoutP, isCausal));
  }
  return composedAttention(q, k, v, opts.attnMask ?? null, dropoutP, isCausal);
});

/**
 * Scores per block of composedAttention on the CPU: 4 MiB of float32. Each op over whole
 * (…, L, S) scores makes a tensor that size, which glibc maps anew and page-faults in once past
 * a few MiB; blocks of queries stay in reused memory (see GPT2Attention.eagerInBlocks).
 */
export const ATTENTION_BLOCK_ELEMENTS = 2 ** 20;

/**
 * The reference math of scaled dot-product attention, op by op. On the CPU without dropout, a
 * block of queries at a time (the same numbers up to the matmuls' and softmax's rounding); with
 * isCausal and no mask, each block's keys end at its last query's causal window (the keys cut
 * would be -inf). With dropout, all at once: its draws cover the whole weights.
 */
export function composedAttention(q: Tensor, k: Tensor, v: Tensor, attnMask: Tensor | null, dropoutP: number, isCausal: boolean): Tensor {
  const [L, S] = [q.size(-2) as number, k.size(-2) as number];
  const batch = q.shape.slice(0, -2).reduce((n, d) => n * d, 1);
  const rows = dropoutP > 0 || q.device !== 'cpu' ? L : Math.max(1, Math.floor(ATTENTION_BLOCK_ELEMENTS / Math.max(1, batch * S)));
  return tidy(() => {
    const hidden = isCausal ? ones([L, S], { dtype: 'bool', device: q.device }).tril(0).logicalNot() : null;
    if (rows >= L) return attentionRows(q, k, v, attnMask, hidden, dropoutP);
    [k, v] = [foldedKeys(k), foldedKeys(v)];
    const maskRows = attnMask !== null && attnMask.dim() >= 2 && attnMask.size(-2) === L;
    return inQueryBlocks(L, rows, (i, n) => {
      const keys = isCausal && !attnMask ? Math.min(S, i + n) : S;
      return attentionRows(q.narrow(-2, i, n), k.narrow(-2, 0, keys), v.narrow(-2, 0, keys),
        maskRows ? attnMask!.narrow(-2, i, n) : attnMask, hidden && hidden.narrow(0, i, n).narrow(1, 0, keys), 0);
    });
  });
}

/**
 * Keys (or values) for attention in blocks of queries: as they are where their leading dims fold
 * into one, else a contiguous copy. matmul folds them to (batch, S, D) for bmm, and keys split
 * from a fused qkv projection (heads a permuted view) do not fold: each block would copy them all.
 */
export function foldedKeys(t: Tensor): Tensor {
  const shape = t.shape, stride = t.stride();
  for (let i = 0; i < shape.length - 3; i++) {
    if (shape[i] !== 1 && shape[i + 1] !== 1 && stride[i] !== shape[i + 1] * stride[i + 1]) return t.contiguous();
  }
  return t;
}

/** Attention's output over L queries a block of `rows` at a time: block(i, n) for queries [i, i + n), each in its own tidy, joined along dim -2. */
export function inQueryBlocks(L: number, rows: number, block: (i: number, n: number) => Tensor): Tensor {
  const outputs: Tensor[] = [];
  for (let i = 0; i < L; i += rows) outputs.push(tidy(() => block(i, Math.min(rows, L - i))));
  return cat(outputs, -2);
}

/** softmax(q kᵀ / sqrt(d), masked) v: the scores masked in place where the mask fits them. */
function attentionRows(q: Tensor, k: Tensor, v: Tensor, attnMask: Tensor | null, hidden: Tensor | null, dropoutP: number): Tensor {
  return tidy(() => {
    let scores = q.matmul(k.transpose(-2, -1)).mul_(1 / Math.sqrt(q.size(-1) as number));
    if (hidden) scores.maskedFill_(hidden, -Infinity);
    if (attnMask) {
      // in place where the mask broadcasts to the scores' own shape (and, a float mask, has their dtype)
      const fits = attnMask.dim() <= scores.dim() && attnMask.shape.every((d, j) => d === 1 || d === scores.shape[scores.dim() - attnMask.dim() + j]);
      if (attnMask.dtype === 'bool') scores = fits ? scores.maskedFill_(attnMask.logicalNot(), -Infinity) : scores.maskedFill(attnMask.logicalNot(), -Infinity);
      else scores = fits && attnMask.dtype === scores.dtype ? scores.add_(attnMask) : scores.add(attnMask);
    }
    let probs = softmax(scores, -1);
    if (dropoutP > 0) probs = dropout(probs, dropoutP, true);
    return probs.matmul(v);
  });
}

// The in-place activations (F.relu_, F.elu_, ...): the activation written into x itself.
export const relu_ = (x: Tensor) => x.relu_();
export const elu_ = takesOptions('elu_', 1, ['alpha'], (x: Tensor, opts: { alpha?: number } = {}) => (native.elu_(id(x), opts.alpha ?? 1), x));
export const celu_ = takesOptions('celu_', 1, ['alpha'], (x: Tensor, opts: { alpha?: number } = {}) => (native.celu_(id(x), opts.alpha ?? 1), x));
export const selu_ = (x: Tensor) => (native.selu_(id(x)), x);
export const leakyRelu_ = takesOptions('leakyRelu_', 1, ['negativeSlope'], (x: Tensor, opts: { negativeSlope?: number } = {}) => (native.leakyRelu_(id(x), opts.negativeSlope ?? 0.01), x));
export const hardtanh_ = takesOptions('hardtanh_', 1, ['minVal', 'maxVal'], (x: Tensor, opts: { minVal?: number; maxVal?: number } = {}) => (native.hardtanh_(id(x), opts.minVal ?? -1, opts.maxVal ?? 1), x));
export const threshold_ = (x: Tensor, thresholdValue: number, value: number) => (native.threshold_(id(x), thresholdValue, value), x);
export const rrelu_ = takesOptions('rrelu_', 1, ['lower', 'upper', 'training'], (x: Tensor, opts: { lower?: number; upper?: number; training?: boolean; generator?: Generator } = {}) => x._inplace_((t) => rrelu(t, opts)), { extra: ['generator'] });
/** F.pdist: torch.pdist. */
export const pdist = takesOptions('pdist', 1, ['p'], (x: Tensor, opts: { p?: number } = {}) => wrap(native.pdist(id(x), opts.p ?? 2)));
/** F.upsample: interpolate's older name. */
export const upsample = takesOptions('upsample', 1, ['size', 'scaleFactor', 'mode', 'alignCorners'], (x: Tensor, opts: InterpolateOptions = {}) => interpolate(x, opts));
/** F.upsample_nearest: interpolate with mode 'nearest'. */
export const upsampleNearest = takesOptions('upsampleNearest', 1, ['size', 'scaleFactor'], (x: Tensor, opts: { size?: Size; scaleFactor?: number | number[] } = {}) => interpolate(x, { ...opts, mode: 'nearest' }));
/** F.upsample_bilinear: interpolate with mode 'bilinear' and alignCorners, as PyTorch's. */
export const upsampleBilinear = takesOptions('upsampleBilinear', 1, ['size', 'scaleFactor'], (x: Tensor, opts: { size?: Size; scaleFactor?: number | number[] } = {}) => interpolate(x, { ...opts, mode: 'bilinear', alignCorners: true }));
/** F.conv_tbc: a 1-D convolution over (time, batch, channels) input with a (kernel, in, out) weight, padded by pad on both sides. */
export const convTbc = (x: Tensor, weight: Tensor, bias: Tensor, pad = 0) => wrap(native.convTbc(id(x), id(weight), id(bias), pad));
