// Containers and shape-only layers: nn.Sequential, nn.Identity, nn.Flatten.
import { native } from '../tensor/native';
import { Tensor, _wrap as wrap, _id as id } from '../tensor/tensor';
import { Module, ModuleList } from './module';

/** A new handle to the same tensor (same autograd identity): a result the caller may dispose. */
export const sameTensor = (x: Tensor): Tensor => wrap(native.alias(id(x)));

/** A layer mapping one tensor to one tensor. */
export type TensorModule = { forward(x: Tensor): Tensor } & Module;

/**
 * Layers applied in order, named '0', '1', ... as PyTorch's nn.Sequential (so state dicts match).
 * Intermediate results are disposed as it goes (autograd keeps what backward needs).
 */
export class Sequential extends ModuleList<TensorModule> {
  constructor(...layers: TensorModule[]) {
    super(layers);
  }
  override forward(x: Tensor): Tensor {
    let h = x;
    for (const m of this.items) {
      const next = m.forward(h);
      if (h !== x && next !== h) h.dispose();
      h = next;
    }
    return h === x ? sameTensor(x) : h;
  }
}

export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return sameTensor(x);
  }
}

/** Flattens dims startDim..endDim (1..-1: everything but the batch), as nn.Flatten. */
export class Flatten extends Module {
  constructor(readonly startDim = 1, readonly endDim = -1) {
    super();
  }
  forward(x: Tensor): Tensor {
    return x.flatten(this.startDim, this.endDim);
  }
  protected override extraRepr(): string {
    return `startDim=${this.startDim}, endDim=${this.endDim}`;
  }
}
