// The layers GPT-2 is made of, with PyTorch's / Hugging Face's parameter names and shapes.
import { Tensor } from '../tensor/tensor';
import { empty, ones, zeros } from '../tensor/creation';
import { noGrad } from '../tensor/runtime';
import { DType, Device } from '../tensor/dtype';
import { Module } from './module';
import * as F from './functional';
import { kaimingUniform_ } from './init';
import { factoryOf, layerOptions, requiredByName, PositionalOr } from './args';

export interface FactoryOptions {
  dtype?: DType;
  device?: Device;
}

export interface LinearOptions extends FactoryOptions {
  bias?: boolean;
  /** adopt this existing (out, in) tensor instead of making one: how tied heads share */
  weight?: Tensor;
}
/** y = x Wᵀ + b with W (out, in), as nn.Linear; initialised as PyTorch does. */
export class Linear extends Module {
  declare weight: Tensor;
  declare bias: Tensor | null;
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** nn.Linear(inFeatures, outFeatures, bias=True, *, device, dtype), or every argument by name */
  constructor(inFeatures: number, outFeatures: number, ...args: PositionalOr<[bias?: boolean], LinearOptions>);
  constructor(opts: LinearOptions & { inFeatures: number; outFeatures: number });
  constructor(...all: unknown[]) {
    super();
    const [[inFeatures, outFeatures], args] = requiredByName('Linear', ['inFeatures', 'outFeatures'], all) as [[number, number], unknown[]];
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    const opts = layerOptions<LinearOptions>('Linear', args, ['bias'], { extra: ['weight'] });
    this.registerParameter('weight', opts.weight ?? empty([outFeatures, inFeatures], factoryOf(opts)));
    this.registerParameter('bias', opts.bias === false ? null : empty([outFeatures], factoryOf(opts)));
    noGrad(() => {
      if (!opts.weight) kaimingUniform_(this.weight, Math.sqrt(5));
      const bound = inFeatures > 0 ? 1 / Math.sqrt(inFeatures) : 0;
      this.bias?.uniform_(-bound, bound);
    });
  }
  forward(x: Tensor): Tensor {
    return F.linear(x, this.weight, this.bias);
  }
  protected override extraRepr(): string {
    return `inFeatures=${this.inFeatures}, outFeatures=${this.outFeatures}, bias=${this.bias !== null}`;
  }
}

/**
 * Hugging Face's Conv1D (GPT-2): a linear layer with the weight stored transposed, (in, out),
 * y = x·W + b, computed as addmm(b, x2d, W) exactly as transformers does.
 */
export class Conv1D extends Module {
  declare weight: Tensor;
  declare bias: Tensor;
  readonly nf: number;
  readonly nx: number;
  constructor(nf: number, nx: number, ...args: PositionalOr<[], FactoryOptions>);
  /** every argument by name, as Python's keywords */
  constructor(opts: FactoryOptions & { nf: number; nx: number });
  constructor(...all: unknown[]) {
    super();
    const [[nf, nx], args] = requiredByName('Conv1D', ['nf', 'nx'], all) as [[number, number], unknown[]];
    const opts = layerOptions<FactoryOptions>('Conv1D', args, []);
    this.nf = nf;
    this.nx = nx;
    this.registerParameter('weight', empty([nx, nf], factoryOf(opts)));
    this.registerParameter('bias', zeros([nf], factoryOf(opts)));
    noGrad(() => this.weight.normal_(0, 0.02));
  }
  forward(x: Tensor): Tensor {
    const shape = x.shape;
    const x2 = x.view([-1, shape[shape.length - 1]]);
    const y = this.bias.addmm(x2, this.weight);
    x2.dispose();
    const out = y.view([...shape.slice(0, -1), this.nf]);
    y.dispose();
    return out;
  }
  protected override extraRepr(): string {
    return `nf=${this.nf}, nx=${this.nx}`;
  }
}

export interface LayerNormOptions extends FactoryOptions {
  /** default 1e-5 */
  eps?: number;
  /** a learned weight (ones at first) and bias (zeros); default true */
  elementwiseAffine?: boolean;
  /** with elementwiseAffine: the bias too (PyTorch 2.1's bias); default true */
  bias?: boolean;
}
/** Normalization over the last dims (normalizedShape), with a learned weight and bias (nn.LayerNorm). */
export class LayerNorm extends Module {
  declare weight: Tensor | null;
  declare bias: Tensor | null;
  readonly normalizedShape: number[];
  readonly eps: number;
  /** nn.LayerNorm(normalizedShape, eps=1e-5, elementwiseAffine=True, bias=True, *, device, dtype) */
  constructor(normalizedShape: number | number[], ...args: PositionalOr<[eps?: number, elementwiseAffine?: boolean, bias?: boolean], LayerNormOptions>);
  constructor(opts: LayerNormOptions & { normalizedShape: number | number[] });
  constructor(...all: unknown[]) {
    super();
    const [[normalizedShape], args] = requiredByName('LayerNorm', ['normalizedShape'], all) as [[number | number[]], unknown[]];
    const opts = layerOptions<LayerNormOptions>('LayerNorm', args, ['eps', 'elementwiseAffine', 'bias']);
    this.normalizedShape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    this.eps = opts.eps ?? 1e-5;
    const affine = opts.elementwiseAffine ?? true;
    this.registerParameter('weight', affine ? ones(this.normalizedShape, factoryOf(opts)) : null);
    this.registerParameter('bias', affine && opts.bias !== false ? zeros(this.normalizedShape, factoryOf(opts)) : null);
  }
  forward(x: Tensor): Tensor {
    return F.layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }
  protected override extraRepr(): string {
    return `[${this.normalizedShape}], eps=${this.eps}, elementwiseAffine=${this.weight !== null}` + (this.weight && !this.bias ? ', bias=false' : '');
  }
}

export interface EmbeddingOptions extends FactoryOptions {
  /** this row starts at zero and gets no gradient */
  paddingIdx?: number | null;
  /** rows looked up are renormalized (in place) to at most this normType-norm */
  maxNorm?: number | null;
  normType?: number;
  scaleGradByFreq?: boolean;
  /** the weight's gradient is sparse (only the rows looked up) */
  sparse?: boolean;
  /** adopt this existing (numEmbeddings, embeddingDim) tensor (its storage, no draws), as PyTorch's _weight */
  weight?: Tensor;
  /** with weight: frozen (requiresGrad false), as PyTorch's _freeze */
  freeze?: boolean;
}
/** A lookup table, N(0, 1) at first; the paddingIdx row starts at zero and gets no gradient (nn.Embedding). */
export class Embedding extends Module {
  declare weight: Tensor;
  readonly paddingIdx: number | null;
  readonly maxNorm: number | null;
  readonly normType: number;
  /** the weight's gradient is sparse (only the rows looked up): train it with SGD or SparseAdam */
  readonly sparse: boolean;
  readonly scaleGradByFreq: boolean;
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  /** nn.Embedding(numEmbeddings, embeddingDim, paddingIdx, maxNorm, normType=2, scaleGradByFreq, sparse, _weight, _freeze, *, device, dtype) */
  constructor(numEmbeddings: number, embeddingDim: number,
    ...args: PositionalOr<[paddingIdx?: number | null, maxNorm?: number | null, normType?: number, scaleGradByFreq?: boolean, sparse?: boolean, weight?: Tensor, freeze?: boolean], EmbeddingOptions>);
  constructor(opts: EmbeddingOptions & { numEmbeddings: number; embeddingDim: number });
  constructor(...all: unknown[]) {
    super();
    const [[numEmbeddings, embeddingDim], args] = requiredByName('Embedding', ['numEmbeddings', 'embeddingDim'], all) as [[number, number], unknown[]];
    this.numEmbeddings = numEmbeddings;
    this.embeddingDim = embeddingDim;
    const opts = layerOptions<EmbeddingOptions>('Embedding', args, ['paddingIdx', 'maxNorm', 'normType', 'scaleGradByFreq', 'sparse', 'weight', 'freeze']);
    this.sparse = opts.sparse ?? false;
    this.scaleGradByFreq = opts.scaleGradByFreq ?? false;
    this.maxNorm = opts.maxNorm ?? null;
    this.normType = opts.normType ?? 2;
    const p = opts.paddingIdx ?? null;
    if (p !== null && !(Number.isInteger(p) && p >= -numEmbeddings && p < numEmbeddings)) throw new Error(`Embedding: paddingIdx ${p} is outside the ${numEmbeddings} embeddings`);
    this.paddingIdx = p === null ? null : p < 0 ? p + numEmbeddings : p;
    if (opts.weight) {
      if (opts.weight.shape.join() !== `${numEmbeddings},${embeddingDim}`) throw new Error(`Embedding: weight is [${opts.weight.shape}], expected [${numEmbeddings}, ${embeddingDim}]`);
      this.registerParameter('weight', opts.weight.detach());
      if (opts.freeze) this.weight.requiresGrad_(false);
      return;
    }
    this.registerParameter('weight', empty([numEmbeddings, embeddingDim], factoryOf(opts)));
    noGrad(() => {
      this.weight.normal_(0, 1);
      if (this.paddingIdx !== null) {
        const row = this.weight.select(0, this.paddingIdx);
        row.fill_(0);
        row.dispose();
      }
    });
  }
  /** nn.Embedding.from_pretrained: a table of these very rows (shared, nothing drawn), frozen unless freeze is false. */
  /** (PyTorch's from_pretrained(embeddings, freeze=True, padding_idx, max_norm, norm_type=2, scale_grad_by_freq, sparse), by position or as options) */
  static fromPretrained(embeddings: Tensor | ({ embeddings: Tensor } & Omit<EmbeddingOptions, 'weight' | 'dtype' | 'device'>),
    ...rest: PositionalOr<[freeze?: boolean, paddingIdx?: number | null, maxNorm?: number | null, normType?: number, scaleGradByFreq?: boolean, sparse?: boolean], Omit<EmbeddingOptions, 'weight' | 'dtype' | 'device'>>): Embedding {
    const [[weights], args] = requiredByName('Embedding.fromPretrained', ['embeddings'], [embeddings, ...rest]) as [[Tensor], unknown[]];
    if (!(weights instanceof Tensor)) throw new Error('nn.Embedding.fromPretrained: embeddings must be a 2-D tensor');
    embeddings = weights;
    const opts = layerOptions<Omit<EmbeddingOptions, 'weight'>>('Embedding.fromPretrained', args, ['freeze', 'paddingIdx', 'maxNorm', 'normType', 'scaleGradByFreq', 'sparse'], { factory: false });
    if (embeddings.ndim !== 2) throw new Error(`Embedding.fromPretrained: embeddings must be 2-D, got [${embeddings.shape}]`);
    const [n, d] = embeddings.shape;
    return new Embedding(n, d, { ...opts, weight: embeddings, freeze: opts.freeze ?? true });
  }
  forward(ids: Tensor): Tensor {
    return F.embedding(ids, this.weight, { paddingIdx: this.paddingIdx, maxNorm: this.maxNorm, normType: this.normType, sparse: this.sparse, scaleGradByFreq: this.scaleGradByFreq });
  }
  protected override extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}` + (this.paddingIdx !== null ? `, paddingIdx=${this.paddingIdx}` : '');
  }
}

export interface EmbeddingBagOptions extends FactoryOptions {
  /** how a bag's rows are reduced; default 'mean' */
  mode?: 'sum' | 'mean' | 'max';
  paddingIdx?: number | null;
  maxNorm?: number | null;
  normType?: number;
  /** offsets has one more entry than bags: the end of the last one */
  includeLastOffset?: boolean;
  /** adopt this existing (numEmbeddings, embeddingDim) tensor, as PyTorch's _weight */
  weight?: Tensor;
}
/** Bags of embeddings reduced by sum, mean or max (nn.EmbeddingBag); weight ~ N(0, 1), the padding row zero. */
export class EmbeddingBag extends Module {
  declare weight: Tensor;
  readonly opts: EmbeddingBagOptions;
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  /** nn.EmbeddingBag(numEmbeddings, embeddingDim, maxNorm, normType=2, scaleGradByFreq=False, mode='mean', sparse=False, _weight, includeLastOffset, paddingIdx, *, device, dtype) */
  constructor(numEmbeddings: number, embeddingDim: number, ...args: PositionalOr<[maxNorm?: number | null, normType?: number, scaleGradByFreq?: false, mode?: 'sum' | 'mean' | 'max', sparse?: false, weight?: Tensor, includeLastOffset?: boolean, paddingIdx?: number | null], EmbeddingBagOptions>);
  /** every argument by name, as Python's keywords */
  constructor(opts: { numEmbeddings: number; embeddingDim: number } & Record<string, unknown>);
  constructor(...all: unknown[]) {
    const [[numEmbeddings, embeddingDim], args] = requiredByName('EmbeddingBag', ['numEmbeddings', 'embeddingDim'], all) as [[number, number], PositionalOr<[maxNorm?: number | null, normType?: number, scaleGradByFreq?: false, mode?: 'sum' | 'mean' | 'max', sparse?: false, weight?: Tensor, includeLastOffset?: boolean, paddingIdx?: number | null], EmbeddingBagOptions>];
    super();
    this.numEmbeddings = numEmbeddings;
    this.embeddingDim = embeddingDim;
    const opts = this.opts = layerOptions<EmbeddingBagOptions>('EmbeddingBag', args,
      ['maxNorm', 'normType', 'scaleGradByFreq', 'mode', 'sparse', 'weight', 'includeLastOffset', 'paddingIdx'], { fixed: { scaleGradByFreq: false, sparse: false } });
    if (opts.weight) {
      if (opts.weight.shape.join() !== `${numEmbeddings},${embeddingDim}`) throw new Error(`EmbeddingBag: weight is [${opts.weight.shape}], expected [${numEmbeddings}, ${embeddingDim}]`);
      this.registerParameter('weight', opts.weight.detach());
      return;
    }
    this.registerParameter('weight', empty([numEmbeddings, embeddingDim], factoryOf(opts)));
    noGrad(() => {
      this.weight.normal_(0, 1);
      const p = opts.paddingIdx;
      if (p != null) {
        const row = this.weight.select(0, p < 0 ? p + numEmbeddings : p);
        row.fill_(0);
        row.dispose();
      }
    });
  }
  forward(input: Tensor, offsets: Tensor | null = null, perSampleWeights: Tensor | null = null): Tensor {
    const { mode, paddingIdx, maxNorm, normType, includeLastOffset } = this.opts; // (not the factory's dtype and device)
    return F.embeddingBag(input, this.weight, { mode, paddingIdx, maxNorm, normType, includeLastOffset, offsets, perSampleWeights });
  }
  protected override extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}, mode='${this.opts.mode ?? 'mean'}'`;
  }
}

type DropoutArgs = PositionalOr<[p?: number, inplace?: boolean], { p?: number; inplace?: boolean }>;
/**
 * p and inplace of a dropout layer: nn.Dropout(p=0.5, inplace=False), and the other dropouts
 * likewise. With inplace, forward writes into its input and returns it, as PyTorch's.
 */
function dropoutSettings(name: string, args: unknown[]): { p: number; inplace: boolean } {
  const { p = 0.5, inplace = false } = layerOptions<{ p?: number; inplace?: boolean }>(name, args, ['p', 'inplace'], { factory: false });
  if (!(typeof p === 'number' && p >= 0 && p <= 1)) throw new Error(`nn.${name}: dropout probability has to be between 0 and 1, but got ${p}`);
  return { p, inplace: inplace === true };
}
const dropoutRepr = (d: { p: number; inplace: boolean }) => `p=${d.p}${d.inplace ? ', inplace=true' : ''}`;

/** Whole channels dropped (nn.Dropout2d: (N, C, H, W); nn.Dropout1d: (N, C, L)). */
export class Dropout2d extends Module {
  readonly p: number;
  readonly inplace: boolean;
  constructor(...args: DropoutArgs) {
    super();
    ({ p: this.p, inplace: this.inplace } = dropoutSettings('Dropout2d', args));
  }
  forward(x: Tensor): Tensor { return F.dropout2d(x, this.p, this.training && this.p > 0, this.inplace); }
  protected override extraRepr(): string { return dropoutRepr(this); }
}
export class Dropout1d extends Module {
  readonly p: number;
  readonly inplace: boolean;
  constructor(...args: DropoutArgs) {
    super();
    ({ p: this.p, inplace: this.inplace } = dropoutSettings('Dropout1d', args));
  }
  forward(x: Tensor): Tensor { return F.dropout1d(x, this.p, this.training && this.p > 0, this.inplace); }
  protected override extraRepr(): string { return dropoutRepr(this); }
}
export class Dropout3d extends Module {
  readonly p: number;
  readonly inplace: boolean;
  constructor(...args: DropoutArgs) {
    super();
    ({ p: this.p, inplace: this.inplace } = dropoutSettings('Dropout3d', args));
  }
  forward(x: Tensor): Tensor { return F.dropout3d(x, this.p, this.training && this.p > 0, this.inplace); }
  protected override extraRepr(): string { return dropoutRepr(this); }
}
/** Alpha dropout of whole channels (nn.FeatureAlphaDropout). */
export class FeatureAlphaDropout extends Module {
  readonly p: number;
  readonly inplace: boolean;
  constructor(...args: DropoutArgs) {
    super();
    ({ p: this.p, inplace: this.inplace } = dropoutSettings('FeatureAlphaDropout', args));
  }
  forward(x: Tensor): Tensor { return F.featureAlphaDropout(x, this.p, this.training, this.inplace); }
  protected override extraRepr(): string { return dropoutRepr(this); }
}
/** Dropout for SELU networks (nn.AlphaDropout). */
export class AlphaDropout extends Module {
  readonly p: number;
  readonly inplace: boolean;
  constructor(...args: DropoutArgs) {
    super();
    ({ p: this.p, inplace: this.inplace } = dropoutSettings('AlphaDropout', args));
  }
  forward(x: Tensor): Tensor { return F.alphaDropout(x, this.p, this.training, this.inplace); }
  protected override extraRepr(): string { return dropoutRepr(this); }
}
/** y = x1ᵀ A x2 + b with A (out, in1, in2) (nn.Bilinear; uniform(±1/√in1) initialisation). */
export class Bilinear extends Module {
  declare weight: Tensor;
  declare bias: Tensor | null;
  readonly in1Features: number;
  readonly in2Features: number;
  readonly outFeatures: number;
  /** nn.Bilinear(in1Features, in2Features, outFeatures, bias=True, *, device, dtype) */
  constructor(in1Features: number, in2Features: number, outFeatures: number, ...args: PositionalOr<[bias?: boolean], FactoryOptions & { bias?: boolean }>);
  /** every argument by name, as Python's keywords */
  constructor(opts: { in1Features: number; in2Features: number; outFeatures: number } & Record<string, unknown>);
  constructor(...all: unknown[]) {
    const [[in1Features, in2Features, outFeatures], args] = requiredByName('Bilinear', ['in1Features', 'in2Features', 'outFeatures'], all) as [[number, number, number], PositionalOr<[bias?: boolean], FactoryOptions & { bias?: boolean }>];
    super();
    this.in1Features = in1Features;
    this.in2Features = in2Features;
    this.outFeatures = outFeatures;
    const opts = layerOptions<FactoryOptions & { bias?: boolean }>('Bilinear', args, ['bias']);
    this.registerParameter('weight', empty([outFeatures, in1Features, in2Features], factoryOf(opts)));
    this.registerParameter('bias', opts.bias === false ? null : empty([outFeatures], factoryOf(opts)));
    const bound = 1 / Math.sqrt(in1Features);
    noGrad(() => {
      this.weight.uniform_(-bound, bound);
      this.bias?.uniform_(-bound, bound);
    });
  }
  forward(x1: Tensor, x2: Tensor): Tensor { return F.bilinear(x1, x2, this.weight, this.bias); }
  protected override extraRepr(): string { return `in1Features=${this.in1Features}, in2Features=${this.in2Features}, outFeatures=${this.outFeatures}`; }
}

export class Dropout extends Module {
  readonly p: number;
  readonly inplace: boolean;
  /** nn.Dropout(p=0.5, inplace=False) */
  constructor(...args: DropoutArgs) {
    super();
    ({ p: this.p, inplace: this.inplace } = dropoutSettings('Dropout', args));
  }
  forward(x: Tensor): Tensor {
    // When off this is a new handle to the same tensor (without inplace), so callers may always dispose the result.
    return F.dropout(x, this.p, this.training && this.p > 0, this.inplace);
  }
  protected override extraRepr(): string {
    return dropoutRepr(this);
  }
}
