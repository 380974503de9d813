// nn.AdaptiveLogSoftmaxWithLoss (Grave et al., "Efficient softmax approximation for GPUs"): a
// large vocabulary split at cutoffs into a head (the frequent classes plus one entry per cluster)
// and tail clusters behind smaller projections, so the rare classes cost little. As PyTorch's:
// the same parameters and names (head, tail.<i>.0 / .1), the same draws, output and loss.
import { Tensor } from '../tensor/tensor';
import { Module, ModuleList } from './module';
import { Sequential } from './containers';
import { Linear, FactoryOptions } from './layers';
import { layerOptions, requiredByName, PositionalOr } from './args';
import * as F from './functional';
import { cat } from '../tensor/ops';
import { tidy } from '../tensor/scope';

export class AdaptiveLogSoftmaxWithLoss extends Module {
  readonly cutoffs: number[];
  readonly divValue: number;
  readonly headBias: boolean;
  readonly shortlistSize: number;
  readonly nClusters: number;
  readonly headSize: number;
  declare head: Linear;
  declare tail: ModuleList<Sequential>;

  readonly inFeatures: number;
  readonly nClasses: number;
  /** nn.AdaptiveLogSoftmaxWithLoss(inFeatures, nClasses, cutoffs, divValue=4, headBias=False, *, device, dtype) */
  constructor(inFeatures: number, nClasses: number, cutoffs: number[],
    ...args: PositionalOr<[divValue?: number, headBias?: boolean], FactoryOptions & { divValue?: number; headBias?: boolean }>);
  /** every argument by name, as Python's keywords */
  constructor(opts: FactoryOptions & { inFeatures: number; nClasses: number; cutoffs: number[]; divValue?: number; headBias?: boolean });
  constructor(...all: unknown[]) {
    super();
    const [[inFeatures, nClasses, cutoffs], args] = requiredByName('AdaptiveLogSoftmaxWithLoss', ['inFeatures', 'nClasses', 'cutoffs'], all) as [[number, number, number[]], unknown[]];
    this.inFeatures = inFeatures;
    this.nClasses = nClasses;
    const opts = layerOptions<FactoryOptions & { divValue?: number; headBias?: boolean }>('AdaptiveLogSoftmaxWithLoss', args, ['divValue', 'headBias']);
    const sorted = [...cutoffs].sort((a, b) => a - b);
    if (cutoffs.length === 0 || cutoffs.some((c, k) => c !== sorted[k]) || Math.min(...cutoffs) <= 0 || Math.max(...cutoffs) > nClasses - 1 || new Set(cutoffs).size !== cutoffs.length || cutoffs.some((c) => !Number.isInteger(c))) {
      throw new Error('cutoffs should be a sequence of unique, positive integers sorted in an increasing order, where each value is between 1 and n_classes-1');
    }
    this.cutoffs = [...cutoffs, nClasses];
    this.divValue = opts.divValue ?? 4;
    this.headBias = opts.headBias ?? false;
    this.shortlistSize = this.cutoffs[0];
    this.nClusters = this.cutoffs.length - 1;
    this.headSize = this.shortlistSize + this.nClusters;
    const factory = { dtype: opts.dtype, device: opts.device };
    this.registerModule('head', new Linear(inFeatures, this.headSize, { ...factory, bias: this.headBias }));
    const tail = new ModuleList<Sequential>();
    for (let i = 0; i < this.nClusters; i++) {
      const hsz = Math.floor(inFeatures / this.divValue ** (i + 1));
      const osz = this.cutoffs[i + 1] - this.cutoffs[i];
      tail.append(new Sequential(new Linear(inFeatures, hsz, { ...factory, bias: false }), new Linear(hsz, osz, { ...factory, bias: false })));
    }
    this.registerModule('tail', tail);
  }

  /**
   * The log-probability of each row's target, and the loss (their negated mean): PyTorch's
   * (output, loss). input [N, inFeatures] with target [N], or input [inFeatures] with a 0-d target.
   */
  forward(input: Tensor, target: Tensor): { output: Tensor; loss: Tensor } {
    if (target.dim() === 1) {
      if (input.shape[0] !== target.shape[0]) throw new Error('Input and target should have the same size in the batch dimension.');
      if (input.dim() !== 2) throw new Error(`1D target tensor expects 2D input tensors, but found inputs with size [${input.shape}]`);
    } else if (target.dim() === 0) {
      if (input.dim() !== 1) throw new Error(`0D target tensor expects 1D input tensors, but found inputs with size [${input.shape}]`);
    } else {
      throw new Error('0D or 1D target tensor expected, multi-target not supported');
    }
    // (its intermediates freed: only output and loss come out)
    return tidy(() => this.forwardLosses(input, target));
  }

  private forwardLosses(input: Tensor, target: Tensor): { output: Tensor; loss: Tensor } {
    const batched = target.dim() > 0;
    const x = batched ? input : input.unsqueeze(0);
    const t = batched ? target : target.unsqueeze(0);
    const batchSize = t.shape[0];
    let output = x.newZeros([batchSize]);
    const gatherInds = t.newZeros([batchSize]);
    const bounds = [0, ...this.cutoffs];
    let usedRows = 0;
    for (let i = 0; i < bounds.length - 1; i++) {
      const mask = t.ge(bounds[i]).logicalAnd(t.lt(bounds[i + 1]));
      const rows = mask.nonzero().view([-1]);
      if (rows.numel() === 0) continue;
      if (i === 0) {
        gatherInds.indexCopy_(0, rows, t.maskedSelect(mask));
      } else {
        const relative = t.maskedSelect(mask).sub(bounds[i]);
        const clusterOutput = this.tail.items[i - 1].forward(x.indexSelect(0, rows));
        gatherInds.indexFill_(0, rows, this.shortlistSize + i - 1);
        const local = F.logSoftmax(clusterOutput, 1).gather(1, relative.unsqueeze(1));
        output = output.indexCopy(0, rows, local.squeeze(1));
      }
      usedRows += rows.numel();
    }
    if (usedRows !== batchSize) {
      throw new Error(`Target values should be in [0, ${this.nClasses - 1}], but values in range [${t.min().item()}, ${t.max().item()}] were found. `);
    }
    const headLogprob = F.logSoftmax(this.head.forward(x), 1);
    output = output.add(headLogprob.gather(1, gatherInds.unsqueeze(1)).squeeze());
    const loss = output.neg().mean();
    return { output: batched ? output : output.squeeze(0), loss };
  }

  // The log-probabilities of every class: the head's for the shortlist, cluster's plus the head's cluster entry for the rest.
  private fullLogProb(input: Tensor, headOutput: Tensor): Tensor {
    const headLogprob = F.logSoftmax(headOutput, 1);
    const parts = [headLogprob.narrow(1, 0, this.shortlistSize)];
    for (let i = 0; i < this.nClusters; i++) {
      const clusterLogprob = F.logSoftmax(this.tail.items[i].forward(input), 1);
      parts.push(clusterLogprob.add(headLogprob.narrow(1, this.shortlistSize + i, 1)));
    }
    return cat(parts, 1);
  }

  /** log_prob: [N, nClasses] log-probabilities of every class. */
  logProb(input: Tensor): Tensor {
    return tidy(() => this.fullLogProb(input, this.head.forward(input)));
  }

  /** predict: the most likely class of each row (the full distribution computed only for rows whose head picks a cluster). */
  predict(input: Tensor): Tensor {
    return tidy(() => this.predicted(input));
  }
  private predicted(input: Tensor): Tensor {
    const headOutput = this.head.forward(input);
    const output = headOutput.argmax(1);
    const notInShortlist = output.ge(this.shortlistSize);
    if (!(notInShortlist.any().item<boolean>())) return output;
    if (notInShortlist.all().item<boolean>()) return this.fullLogProb(input, headOutput).argmax(1);
    const rows = notInShortlist.nonzero().view([-1]);
    const picked = this.fullLogProb(input.indexSelect(0, rows), headOutput.indexSelect(0, rows)).argmax(1);
    return output.indexCopy(0, rows, picked);
  }

  protected override extraRepr(): string {
    return `inFeatures=${this.inFeatures}, nClasses=${this.nClasses}, cutoffs=[${this.cutoffs.join(', ')}]`;
  }
}
