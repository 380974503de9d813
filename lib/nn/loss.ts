// Loss layers: each one is its nn.functional loss with the options fixed at construction.
import { Tensor } from '../tensor/tensor';
import { Module } from './module';
import * as F from './functional';

type Reduction = 'none' | 'mean' | 'sum';

export class CrossEntropyLoss extends Module {
  constructor(readonly opts: { weight?: Tensor | null; ignoreIndex?: number; reduction?: Reduction; labelSmoothing?: number } = {}) { super(); }
  forward(input: Tensor, target: Tensor): Tensor { return F.crossEntropy(input, target, this.opts); }
}
export class NLLLoss extends Module {
  constructor(readonly opts: { weight?: Tensor | null; ignoreIndex?: number; reduction?: Reduction } = {}) { super(); }
  forward(input: Tensor, target: Tensor): Tensor { return F.nllLoss(input, target, this.opts); }
}
export class MSELoss extends Module {
  constructor(readonly opts: { reduction?: Reduction } = {}) { super(); }
  forward(input: Tensor, target: Tensor): Tensor { return F.mseLoss(input, target, this.opts); }
}
export class L1Loss extends Module {
  constructor(readonly opts: { reduction?: Reduction } = {}) { super(); }
  forward(input: Tensor, target: Tensor): Tensor { return F.l1Loss(input, target, this.opts); }
}
export class SmoothL1Loss extends Module {
  constructor(readonly opts: { reduction?: Reduction; beta?: number } = {}) { super(); }
  forward(input: Tensor, target: Tensor): Tensor { return F.smoothL1Loss(input, target, this.opts); }
}
export class HuberLoss extends Module {
  constructor(readonly opts: { reduction?: Reduction; delta?: number } = {}) { super(); }
  forward(input: Tensor, target: Tensor): Tensor { return F.huberLoss(input, target, this.opts); }
}
export class BCELoss extends Module {
  constructor(readonly opts: { weight?: Tensor | null; reduction?: Reduction } = {}) { super(); }
  forward(input: Tensor, target: Tensor): Tensor { return F.binaryCrossEntropy(input, target, this.opts); }
}
export class BCEWithLogitsLoss extends Module {
  constructor(readonly opts: { weight?: Tensor | null; posWeight?: Tensor | null; reduction?: Reduction } = {}) { super(); }
  forward(input: Tensor, target: Tensor): Tensor { return F.binaryCrossEntropyWithLogits(input, target, this.opts); }
}
export class KLDivLoss extends Module {
  constructor(readonly opts: { reduction?: Reduction | 'batchmean'; logTarget?: boolean } = {}) { super(); }
  forward(input: Tensor, target: Tensor): Tensor { return F.klDiv(input, target, this.opts); }
}
export class MarginRankingLoss extends Module {
  constructor(readonly opts: { margin?: number; reduction?: Reduction } = {}) { super(); }
  forward(x1: Tensor, x2: Tensor, target: Tensor): Tensor { return F.marginRankingLoss(x1, x2, target, this.opts); }
}
export class CosineEmbeddingLoss extends Module {
  constructor(readonly opts: { margin?: number; reduction?: Reduction } = {}) { super(); }
  forward(x1: Tensor, x2: Tensor, target: Tensor): Tensor { return F.cosineEmbeddingLoss(x1, x2, target, this.opts); }
}
export class HingeEmbeddingLoss extends Module {
  constructor(readonly opts: { margin?: number; reduction?: Reduction } = {}) { super(); }
  forward(input: Tensor, target: Tensor): Tensor { return F.hingeEmbeddingLoss(input, target, this.opts); }
}
export class SoftMarginLoss extends Module {
  constructor(readonly opts: { reduction?: Reduction } = {}) { super(); }
  forward(input: Tensor, target: Tensor): Tensor { return F.softMarginLoss(input, target, this.opts); }
}
export class TripletMarginLoss extends Module {
  constructor(readonly opts: { margin?: number; p?: number; eps?: number; swap?: boolean; reduction?: Reduction } = {}) { super(); }
  forward(anchor: Tensor, positive: Tensor, negative: Tensor): Tensor { return F.tripletMarginLoss(anchor, positive, negative, this.opts); }
}
export class PoissonNLLLoss extends Module {
  constructor(readonly opts: { logInput?: boolean; full?: boolean; eps?: number; reduction?: Reduction } = {}) { super(); }
  forward(input: Tensor, target: Tensor): Tensor { return F.poissonNllLoss(input, target, this.opts); }
}
export class GaussianNLLLoss extends Module {
  constructor(readonly opts: { full?: boolean; eps?: number; reduction?: Reduction } = {}) { super(); }
  forward(input: Tensor, target: Tensor, variance: Tensor): Tensor { return F.gaussianNllLoss(input, target, variance, this.opts); }
}
export class MultiMarginLoss extends Module {
  constructor(readonly opts: { p?: 1 | 2; margin?: number; weight?: Tensor | null; reduction?: Reduction } = {}) { super(); }
  forward(input: Tensor, target: Tensor): Tensor { return F.multiMarginLoss(input, target, this.opts); }
}
export class MultiLabelSoftMarginLoss extends Module {
  constructor(readonly opts: { weight?: Tensor | null; reduction?: Reduction } = {}) { super(); }
  forward(input: Tensor, target: Tensor): Tensor { return F.multilabelSoftMarginLoss(input, target, this.opts); }
}
export class CTCLoss extends Module {
  constructor(readonly opts: { blank?: number; reduction?: Reduction; zeroInfinity?: boolean } = {}) { super(); }
  forward(logProbs: Tensor, targets: Tensor, inputLengths: Tensor | number[], targetLengths: Tensor | number[]): Tensor {
    return F.ctcLoss(logProbs, targets, inputLengths, targetLengths, this.opts);
  }
}
/** cosine similarity along dim (nn.CosineSimilarity) */
export class CosineSimilarity extends Module {
  constructor(readonly dim = 1, readonly eps = 1e-8) { super(); }
  forward(x1: Tensor, x2: Tensor): Tensor { return F.cosineSimilarity(x1, x2, this.dim, this.eps); }
}
/** p-norm of x1 - x2 + eps along the last dim (nn.PairwiseDistance) */
export class PairwiseDistance extends Module {
  constructor(readonly p = 2, readonly eps = 1e-6, readonly keepdim = false) { super(); }
  forward(x1: Tensor, x2: Tensor): Tensor { return F.pairwiseDistance(x1, x2, this.p, this.eps, this.keepdim); }
}
export class MultiLabelMarginLoss extends Module {
  constructor(readonly opts: { reduction?: Reduction } = {}) { super(); }
  forward(input: Tensor, target: Tensor): Tensor { return F.multilabelMarginLoss(input, target, this.opts); }
}
export class TripletMarginWithDistanceLoss extends Module {
  constructor(readonly opts: { distanceFunction?: (x: Tensor, y: Tensor) => Tensor; margin?: number; swap?: boolean; reduction?: Reduction } = {}) { super(); }
  forward(anchor: Tensor, positive: Tensor, negative: Tensor): Tensor { return F.tripletMarginWithDistanceLoss(anchor, positive, negative, this.opts); }
}
