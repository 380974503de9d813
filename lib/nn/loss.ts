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
