// Loss layers: each one is its nn.functional loss with the options fixed at construction.
import { Tensor } from '../tensor/tensor';
import { Module } from './module';
import * as F from './functional';
import { optionsOf, PositionalOr } from '../tensor/options';

type Reduction = 'none' | 'mean' | 'sum';
// A loss layer's options: PyTorch's constructor arguments (the same, in the same order, as its
// functional form's after the inputs: weight, size_average, ignore_index, reduce, reduction, ...),
// or an options object; size_average and reduce, deprecated for reduction, are refused.
const lossOptions = <O extends object>(name: string, args: unknown[], keys: string[], extra?: string[]): O => optionsOf<O>(`nn.${name}`, args, keys, { extra });
type Deprecated = null;

export class CrossEntropyLoss extends Module {
  readonly opts: { weight?: Tensor | null; ignoreIndex?: number; reduction?: Reduction; labelSmoothing?: number };
  constructor(...args: PositionalOr<[weight?: Tensor | null, sizeAverage?: Deprecated, ignoreIndex?: number, reduce?: Deprecated, reduction?: Reduction, labelSmoothing?: number], { weight?: Tensor | null; ignoreIndex?: number; reduction?: Reduction; labelSmoothing?: number }>) {
    super();
    this.opts = lossOptions('CrossEntropyLoss', args, ['weight', 'sizeAverage', 'ignoreIndex', 'reduce', 'reduction', 'labelSmoothing']);
  }
  forward(input: Tensor, target: Tensor): Tensor { return F.crossEntropy(input, target, this.opts); }
}
export class NLLLoss extends Module {
  readonly opts: { weight?: Tensor | null; ignoreIndex?: number; reduction?: Reduction };
  constructor(...args: PositionalOr<[weight?: Tensor | null, sizeAverage?: Deprecated, ignoreIndex?: number, reduce?: Deprecated, reduction?: Reduction], { weight?: Tensor | null; ignoreIndex?: number; reduction?: Reduction }>) {
    super();
    this.opts = lossOptions('NLLLoss', args, ['weight', 'sizeAverage', 'ignoreIndex', 'reduce', 'reduction']);
  }
  forward(input: Tensor, target: Tensor): Tensor { return F.nllLoss(input, target, this.opts); }
}
export class MSELoss extends Module {
  readonly opts: { reduction?: Reduction };
  constructor(...args: PositionalOr<[sizeAverage?: Deprecated, reduce?: Deprecated, reduction?: Reduction], { reduction?: Reduction }>) {
    super();
    this.opts = lossOptions('MSELoss', args, ['sizeAverage', 'reduce', 'reduction']);
  }
  forward(input: Tensor, target: Tensor): Tensor { return F.mseLoss(input, target, this.opts); }
}
export class L1Loss extends Module {
  readonly opts: { reduction?: Reduction };
  constructor(...args: PositionalOr<[sizeAverage?: Deprecated, reduce?: Deprecated, reduction?: Reduction], { reduction?: Reduction }>) {
    super();
    this.opts = lossOptions('L1Loss', args, ['sizeAverage', 'reduce', 'reduction']);
  }
  forward(input: Tensor, target: Tensor): Tensor { return F.l1Loss(input, target, this.opts); }
}
export class SmoothL1Loss extends Module {
  readonly opts: { reduction?: Reduction; beta?: number };
  constructor(...args: PositionalOr<[sizeAverage?: Deprecated, reduce?: Deprecated, reduction?: Reduction, beta?: number], { reduction?: Reduction; beta?: number }>) {
    super();
    this.opts = lossOptions('SmoothL1Loss', args, ['sizeAverage', 'reduce', 'reduction', 'beta']);
  }
  forward(input: Tensor, target: Tensor): Tensor { return F.smoothL1Loss(input, target, this.opts); }
}
export class HuberLoss extends Module {
  readonly opts: { reduction?: Reduction; delta?: number };
  constructor(...args: PositionalOr<[reduction?: Reduction, delta?: number], { reduction?: Reduction; delta?: number }>) {
    super();
    this.opts = lossOptions('HuberLoss', args, ['reduction', 'delta']);
  }
  forward(input: Tensor, target: Tensor): Tensor { return F.huberLoss(input, target, this.opts); }
}
export class BCELoss extends Module {
  readonly opts: { weight?: Tensor | null; reduction?: Reduction };
  constructor(...args: PositionalOr<[weight?: Tensor | null, sizeAverage?: Deprecated, reduce?: Deprecated, reduction?: Reduction], { weight?: Tensor | null; reduction?: Reduction }>) {
    super();
    this.opts = lossOptions('BCELoss', args, ['weight', 'sizeAverage', 'reduce', 'reduction']);
  }
  forward(input: Tensor, target: Tensor): Tensor { return F.binaryCrossEntropy(input, target, this.opts); }
}
export class BCEWithLogitsLoss extends Module {
  readonly opts: { weight?: Tensor | null; posWeight?: Tensor | null; reduction?: Reduction };
  constructor(...args: PositionalOr<[weight?: Tensor | null, sizeAverage?: Deprecated, reduce?: Deprecated, reduction?: Reduction, posWeight?: Tensor | null], { weight?: Tensor | null; posWeight?: Tensor | null; reduction?: Reduction }>) {
    super();
    this.opts = lossOptions('BCEWithLogitsLoss', args, ['weight', 'sizeAverage', 'reduce', 'reduction', 'posWeight']);
  }
  forward(input: Tensor, target: Tensor): Tensor { return F.binaryCrossEntropyWithLogits(input, target, this.opts); }
}
export class KLDivLoss extends Module {
  readonly opts: { reduction?: Reduction | 'batchmean'; logTarget?: boolean };
  constructor(...args: PositionalOr<[sizeAverage?: Deprecated, reduce?: Deprecated, reduction?: Reduction | 'batchmean', logTarget?: boolean], { reduction?: Reduction | 'batchmean'; logTarget?: boolean }>) {
    super();
    this.opts = lossOptions('KLDivLoss', args, ['sizeAverage', 'reduce', 'reduction', 'logTarget']);
  }
  forward(input: Tensor, target: Tensor): Tensor { return F.klDiv(input, target, this.opts); }
}
export class MarginRankingLoss extends Module {
  readonly opts: { margin?: number; reduction?: Reduction };
  constructor(...args: PositionalOr<[margin?: number, sizeAverage?: Deprecated, reduce?: Deprecated, reduction?: Reduction], { margin?: number; reduction?: Reduction }>) {
    super();
    this.opts = lossOptions('MarginRankingLoss', args, ['margin', 'sizeAverage', 'reduce', 'reduction']);
  }
  forward(x1: Tensor, x2: Tensor, target: Tensor): Tensor { return F.marginRankingLoss(x1, x2, target, this.opts); }
}
export class CosineEmbeddingLoss extends Module {
  readonly opts: { margin?: number; reduction?: Reduction };
  constructor(...args: PositionalOr<[margin?: number, sizeAverage?: Deprecated, reduce?: Deprecated, reduction?: Reduction], { margin?: number; reduction?: Reduction }>) {
    super();
    this.opts = lossOptions('CosineEmbeddingLoss', args, ['margin', 'sizeAverage', 'reduce', 'reduction']);
  }
  forward(x1: Tensor, x2: Tensor, target: Tensor): Tensor { return F.cosineEmbeddingLoss(x1, x2, target, this.opts); }
}
export class HingeEmbeddingLoss extends Module {
  readonly opts: { margin?: number; reduction?: Reduction };
  constructor(...args: PositionalOr<[margin?: number, sizeAverage?: Deprecated, reduce?: Deprecated, reduction?: Reduction], { margin?: number; reduction?: Reduction }>) {
    super();
    this.opts = lossOptions('HingeEmbeddingLoss', args, ['margin', 'sizeAverage', 'reduce', 'reduction']);
  }
  forward(input: Tensor, target: Tensor): Tensor { return F.hingeEmbeddingLoss(input, target, this.opts); }
}
export class SoftMarginLoss extends Module {
  readonly opts: { reduction?: Reduction };
  constructor(...args: PositionalOr<[sizeAverage?: Deprecated, reduce?: Deprecated, reduction?: Reduction], { reduction?: Reduction }>) {
    super();
    this.opts = lossOptions('SoftMarginLoss', args, ['sizeAverage', 'reduce', 'reduction']);
  }
  forward(input: Tensor, target: Tensor): Tensor { return F.softMarginLoss(input, target, this.opts); }
}
export class TripletMarginLoss extends Module {
  readonly opts: { margin?: number; p?: number; eps?: number; swap?: boolean; reduction?: Reduction };
  constructor(...args: PositionalOr<[margin?: number, p?: number, eps?: number, swap?: boolean, sizeAverage?: Deprecated, reduce?: Deprecated, reduction?: Reduction], { margin?: number; p?: number; eps?: number; swap?: boolean; reduction?: Reduction }>) {
    super();
    this.opts = lossOptions('TripletMarginLoss', args, ['margin', 'p', 'eps', 'swap', 'sizeAverage', 'reduce', 'reduction']);
  }
  forward(anchor: Tensor, positive: Tensor, negative: Tensor): Tensor { return F.tripletMarginLoss(anchor, positive, negative, this.opts); }
}
export class PoissonNLLLoss extends Module {
  readonly opts: { logInput?: boolean; full?: boolean; eps?: number; reduction?: Reduction };
  constructor(...args: PositionalOr<[logInput?: boolean, full?: boolean, sizeAverage?: Deprecated, eps?: number, reduce?: Deprecated, reduction?: Reduction], { logInput?: boolean; full?: boolean; eps?: number; reduction?: Reduction }>) {
    super();
    this.opts = lossOptions('PoissonNLLLoss', args, ['logInput', 'full', 'sizeAverage', 'eps', 'reduce', 'reduction']);
  }
  forward(input: Tensor, target: Tensor): Tensor { return F.poissonNllLoss(input, target, this.opts); }
}
export class GaussianNLLLoss extends Module {
  readonly opts: { full?: boolean; eps?: number; reduction?: Reduction };
  /** (PyTorch's options here are keyword-only) */
  constructor(opts: { full?: boolean; eps?: number; reduction?: Reduction } = {}) {
    super();
    this.opts = lossOptions('GaussianNLLLoss', [opts], [], ['full', 'eps', 'reduction']);
  }
  forward(input: Tensor, target: Tensor, variance: Tensor): Tensor { return F.gaussianNllLoss(input, target, variance, this.opts); }
}
export class MultiMarginLoss extends Module {
  readonly opts: { p?: 1 | 2; margin?: number; weight?: Tensor | null; reduction?: Reduction };
  constructor(...args: PositionalOr<[p?: 1 | 2, margin?: number, weight?: Tensor | null, sizeAverage?: Deprecated, reduce?: Deprecated, reduction?: Reduction], { p?: 1 | 2; margin?: number; weight?: Tensor | null; reduction?: Reduction }>) {
    super();
    this.opts = lossOptions('MultiMarginLoss', args, ['p', 'margin', 'weight', 'sizeAverage', 'reduce', 'reduction']);
  }
  forward(input: Tensor, target: Tensor): Tensor { return F.multiMarginLoss(input, target, this.opts); }
}
export class MultiLabelSoftMarginLoss extends Module {
  readonly opts: { weight?: Tensor | null; reduction?: Reduction };
  constructor(...args: PositionalOr<[weight?: Tensor | null, sizeAverage?: Deprecated, reduce?: Deprecated, reduction?: Reduction], { weight?: Tensor | null; reduction?: Reduction }>) {
    super();
    this.opts = lossOptions('MultiLabelSoftMarginLoss', args, ['weight', 'sizeAverage', 'reduce', 'reduction']);
  }
  forward(input: Tensor, target: Tensor): Tensor { return F.multilabelSoftMarginLoss(input, target, this.opts); }
}
export class CTCLoss extends Module {
  readonly opts: { blank?: number; reduction?: Reduction; zeroInfinity?: boolean };
  constructor(...args: PositionalOr<[blank?: number, reduction?: Reduction, zeroInfinity?: boolean], { blank?: number; reduction?: Reduction; zeroInfinity?: boolean }>) {
    super();
    this.opts = lossOptions('CTCLoss', args, ['blank', 'reduction', 'zeroInfinity']);
  }
  forward(logProbs: Tensor, targets: Tensor, inputLengths: Tensor | number[], targetLengths: Tensor | number[]): Tensor {
    return F.ctcLoss(logProbs, targets, inputLengths, targetLengths, this.opts);
  }
}
/** cosine similarity along dim (nn.CosineSimilarity) */
export class CosineSimilarity extends Module {
  readonly dim: number;
  readonly eps: number;
  /** nn.CosineSimilarity(dim=1, eps=1e-8), or an options object */
  constructor(...args: PositionalOr<[dim?: number, eps?: number], { dim?: number; eps?: number }>) {
    super();
    ({ dim: this.dim = 1, eps: this.eps = 1e-8 } = optionsOf<{ dim?: number; eps?: number }>('nn.CosineSimilarity', args, ['dim', 'eps']));
  }
  forward(x1: Tensor, x2: Tensor): Tensor { return F.cosineSimilarity(x1, x2, this.dim, this.eps); }
}
/** p-norm of x1 - x2 + eps along the last dim (nn.PairwiseDistance) */
export class PairwiseDistance extends Module {
  readonly p: number;
  readonly eps: number;
  readonly keepdim: boolean;
  /** nn.PairwiseDistance(p=2, eps=1e-6, keepdim=False), or an options object */
  constructor(...args: PositionalOr<[p?: number, eps?: number, keepdim?: boolean], { p?: number; eps?: number; keepdim?: boolean }>) {
    super();
    ({ p: this.p = 2, eps: this.eps = 1e-6, keepdim: this.keepdim = false } = optionsOf<{ p?: number; eps?: number; keepdim?: boolean }>('nn.PairwiseDistance', args, ['p', 'eps', 'keepdim']));
  }
  forward(x1: Tensor, x2: Tensor): Tensor { return F.pairwiseDistance(x1, x2, this.p, this.eps, this.keepdim); }
}
export class MultiLabelMarginLoss extends Module {
  readonly opts: { reduction?: Reduction };
  constructor(...args: PositionalOr<[sizeAverage?: Deprecated, reduce?: Deprecated, reduction?: Reduction], { reduction?: Reduction }>) {
    super();
    this.opts = lossOptions('MultiLabelMarginLoss', args, ['sizeAverage', 'reduce', 'reduction']);
  }
  forward(input: Tensor, target: Tensor): Tensor { return F.multilabelMarginLoss(input, target, this.opts); }
}
export class TripletMarginWithDistanceLoss extends Module {
  readonly opts: { distanceFunction?: (x: Tensor, y: Tensor) => Tensor; margin?: number; swap?: boolean; reduction?: Reduction };
  /** (PyTorch's options here are keyword-only) */
  constructor(opts: { distanceFunction?: (x: Tensor, y: Tensor) => Tensor; margin?: number; swap?: boolean; reduction?: Reduction } = {}) {
    super();
    this.opts = lossOptions('TripletMarginWithDistanceLoss', [opts], [], ['distanceFunction', 'margin', 'swap', 'reduction']);
  }
  forward(anchor: Tensor, positive: Tensor, negative: Tensor): Tensor { return F.tripletMarginWithDistanceLoss(anchor, positive, negative, this.opts); }
}
