// nn.RNN, nn.LSTM and nn.GRU: libtorch's fused recurrent ops (at::lstm, at::gru, at::rnn_*),
// with PyTorch's parameter names (weight_ih_l0, weight_hh_l0_reverse, ...), layout, defaults and
// initialisation (every weight uniform(±1/√hidden), in registration order).
import { native } from '../tensor/native';
import { Tensor, _wrap as wrap, _id as id } from '../tensor/tensor';
import { empty, zeros } from '../tensor/creation';
import { tidy } from '../tensor/scope';
import { Module } from './module';
import { uniform_ } from './init';
import type { FactoryOptions } from './layers';
import { PackedSequence, isPackedSequence } from './packed';
import { factoryOf, layerOptions, requiredByName, PositionalOr } from './args';

export interface RNNOptions extends FactoryOptions {
  numLayers?: number;
  bias?: boolean;
  /** (N, L, H) instead of (L, N, H) */
  batchFirst?: boolean;
  /** dropout between layers, in training */
  dropout?: number;
  bidirectional?: boolean;
}

type RNNArgs = PositionalOr<[numLayers?: number, bias?: boolean, batchFirst?: boolean, dropout?: number, bidirectional?: boolean], RNNOptions>;
const RNN_KEYS = ['numLayers', 'bias', 'batchFirst', 'dropout', 'bidirectional'];

abstract class RNNBase extends Module {
  readonly numLayers: number;
  readonly bias: boolean;
  readonly batchFirst: boolean;
  readonly dropout: number;
  readonly bidirectional: boolean;
  private readonly weightNames: string[] = [];

  constructor(private readonly mode: 'lstm' | 'gru' | 'rnn_tanh' | 'rnn_relu', readonly inputSize: number, readonly hiddenSize: number, opts: RNNOptions) {
    super();
    this.numLayers = opts.numLayers ?? 1;
    this.bias = opts.bias ?? true;
    this.batchFirst = opts.batchFirst ?? false;
    this.dropout = opts.dropout ?? 0;
    this.bidirectional = opts.bidirectional ?? false;
    if (!(Number.isInteger(this.numLayers) && this.numLayers >= 1)) throw new Error(`${this.constructor.name}: numLayers must be a positive integer, got ${this.numLayers}`);
    if (!(this.dropout >= 0 && this.dropout <= 1)) throw new Error(`${this.constructor.name}: dropout must be in [0, 1], got ${this.dropout}`);
    const gates = mode === 'lstm' ? 4 : mode === 'gru' ? 3 : 1;
    const dirs = this.bidirectional ? 2 : 1;
    for (let layer = 0; layer < this.numLayers; layer++) {
      for (let d = 0; d < dirs; d++) {
        const suffix = `_l${layer}${d ? '_reverse' : ''}`;
        const inSize = layer === 0 ? inputSize : hiddenSize * dirs;
        const shapes: [string, number[]][] = [[`weight_ih${suffix}`, [gates * hiddenSize, inSize]], [`weight_hh${suffix}`, [gates * hiddenSize, hiddenSize]]];
        if (this.bias) shapes.push([`bias_ih${suffix}`, [gates * hiddenSize]], [`bias_hh${suffix}`, [gates * hiddenSize]]);
        for (const [name, shape] of shapes) {
          this.registerParameter(name, empty(shape, factoryOf(opts)));
          this.weightNames.push(name);
        }
      }
    }
    const stdv = hiddenSize > 0 ? 1 / Math.sqrt(hiddenSize) : 0;
    for (const p of this.flatWeights()) uniform_(p, -stdv, stdv);
  }

  private flatWeights(): Tensor[] {
    return this.weightNames.map((n) => (this as unknown as Record<string, Tensor>)[n]);
  }

  /**
   * Runs the recurrence; hx is [h0] (or [h0, c0] for LSTM), zeros when absent. A PackedSequence
   * comes back packed (same batch sizes and order), the states in the batch's original order.
   */
  protected run(input: Tensor | PackedSequence, hx: Tensor[] | null): [Tensor | PackedSequence, ...Tensor[]] {
    if (isPackedSequence(input)) return this.runPacked(input, hx);
    const name = this.constructor.name;
    const batched = input.ndim === 3;
    if (!batched && input.ndim !== 2) throw new Error(`${name}: input must be (L, N, ${this.inputSize}), (N, L, ${this.inputSize}) with batchFirst, or unbatched (L, ${this.inputSize}); got [${input.shape}]`);
    if (input.shape[input.ndim - 1] !== this.inputSize) throw new Error(`${name}: input's last dim is ${input.shape[input.ndim - 1]}, inputSize is ${this.inputSize}`);
    return tidy(() => {
      const x = batched ? input : input.unsqueeze(this.batchFirst ? 0 : 1);
      const batch = x.shape[this.batchFirst ? 0 : 1];
      const stateShape = [this.numLayers * (this.bidirectional ? 2 : 1), batch, this.hiddenSize];
      const states = hx
        ? hx.map((h) => {
          const s = batched ? h : h.unsqueeze(1);
          if (s.shape.join() !== stateShape.join()) throw new Error(`${name}: hidden state must be [${batched ? stateShape : [stateShape[0], stateShape[2]]}], got [${h.shape}]`);
          return s;
        })
        : new Array(this.mode === 'lstm' ? 2 : 1).fill(0).map(() => zeros(stateShape, { dtype: input.dtype, device: input.device }));
      const outs = (native.rnn(this.mode, id(x), states.map(id), this.flatWeights().map(id), this.bias, this.numLayers, this.dropout,
        this.training, this.bidirectional, this.batchFirst) as number[]).map(wrap);
      if (batched) return outs as [Tensor, ...Tensor[]];
      return [outs[0].squeeze(this.batchFirst ? 0 : 1), ...outs.slice(1).map((h) => h.squeeze(1))] as [Tensor, ...Tensor[]];
    });
  }

  private runPacked(seq: PackedSequence, hx: Tensor[] | null): [PackedSequence, ...Tensor[]] {
    const name = this.constructor.name;
    if (seq.data.shape[seq.data.ndim - 1] !== this.inputSize) throw new Error(`${name}: the packed input's last dim is ${seq.data.shape[seq.data.ndim - 1]}, inputSize is ${this.inputSize}`);
    return tidy(() => {
      const maxBatch = Number((seq.batchSizes.data() as BigInt64Array)[0]);
      const stateShape = [this.numLayers * (this.bidirectional ? 2 : 1), maxBatch, this.hiddenSize];
      const states = hx
        ? hx.map((h) => {
          if (h.shape.join() !== stateShape.join()) throw new Error(`${name}: hidden state must be [${stateShape}], got [${h.shape}]`);
          return seq.sortedIndices ? h.indexSelect(1, seq.sortedIndices) : h; // into the packed (sorted) order
        })
        : new Array(this.mode === 'lstm' ? 2 : 1).fill(0).map(() => zeros(stateShape, { dtype: seq.data.dtype, device: seq.data.device }));
      const outs = (native.rnnPacked(this.mode, id(seq.data), id(seq.batchSizes), states.map(id), this.flatWeights().map(id), this.bias, this.numLayers,
        this.dropout, this.training, this.bidirectional) as number[]).map(wrap);
      // The output's bookkeeping tensors are handles of its own (the input's may be freed first).
      const alias = (t: Tensor | null) => (t ? wrap(native.alias(id(t))) : null);
      const packed: PackedSequence = { data: outs[0], batchSizes: alias(seq.batchSizes)!, sortedIndices: alias(seq.sortedIndices), unsortedIndices: alias(seq.unsortedIndices) };
      const states2 = outs.slice(1).map((h) => (seq.unsortedIndices ? h.indexSelect(1, seq.unsortedIndices) : h));
      return [packed, ...states2] as [PackedSequence, ...Tensor[]];
    });
  }
  protected override extraRepr(): string {
    return `${this.inputSize}, ${this.hiddenSize}` + (this.numLayers !== 1 ? `, numLayers=${this.numLayers}` : '') +
      (this.batchFirst ? ', batchFirst=true' : '') + (this.dropout ? `, dropout=${this.dropout}` : '') + (this.bidirectional ? ', bidirectional=true' : '') + (this.bias ? '' : ', bias=false');
  }
}

// (a call takes forward's forms, a tensor or a packed sequence: TS's Parameters<> would see only the last)
export interface RNN {
  (input: Tensor, h0?: Tensor | null): [Tensor, Tensor];
  (input: PackedSequence, h0?: Tensor | null): [PackedSequence, Tensor];
}
/** Elman RNN, h' = act(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh). forward returns [output, h_n]. */
export class RNN extends RNNBase {
  /** nn.RNN(inputSize, hiddenSize, numLayers=1, nonlinearity='tanh', bias=True, batchFirst=False, dropout=0, bidirectional=False, *, device, dtype) */
  constructor(inputSize: number, hiddenSize: number,
    ...args: PositionalOr<[numLayers?: number, nonlinearity?: 'tanh' | 'relu', bias?: boolean, batchFirst?: boolean, dropout?: number, bidirectional?: boolean], RNNOptions & { nonlinearity?: 'tanh' | 'relu' }>);
  constructor(opts: RNNOptions & { inputSize: number; hiddenSize: number; nonlinearity?: 'tanh' | 'relu' });
  constructor(...all: unknown[]) {
    const [[inputSize, hiddenSize], args] = requiredByName('RNN', ['inputSize', 'hiddenSize'], all) as [[number, number], unknown[]];
    const opts = layerOptions<RNNOptions & { nonlinearity?: 'tanh' | 'relu' }>('RNN', args, ['numLayers', 'nonlinearity', 'bias', 'batchFirst', 'dropout', 'bidirectional']);
    const nl = opts.nonlinearity ?? 'tanh';
    if (nl !== 'tanh' && nl !== 'relu') throw new Error(`RNN: nonlinearity must be 'tanh' or 'relu', got '${nl}'`);
    super(nl === 'tanh' ? 'rnn_tanh' : 'rnn_relu', inputSize, hiddenSize, opts);
  }
  forward(input: Tensor, h0?: Tensor | null): [Tensor, Tensor];
  forward(input: PackedSequence, h0?: Tensor | null): [PackedSequence, Tensor];
  forward(input: Tensor | PackedSequence, h0: Tensor | null = null): [Tensor | PackedSequence, Tensor] {
    const [out, h] = this.run(input, h0 ? [h0] : null);
    return [out, h];
  }
}

export interface LSTM {
  (input: Tensor, hx?: [Tensor, Tensor] | null): [Tensor, [Tensor, Tensor]];
  (input: PackedSequence, hx?: [Tensor, Tensor] | null): [PackedSequence, [Tensor, Tensor]];
}
/** LSTM (gates i, f, g, o in PyTorch's order). forward returns [output, [h_n, c_n]]. */
export class LSTM extends RNNBase {
  /** nn.LSTM(inputSize, hiddenSize, numLayers=1, bias=True, batchFirst=False, dropout=0, bidirectional=False, projSize=0 (only), *, device, dtype) */
  constructor(inputSize: number, hiddenSize: number, ...args: PositionalOr<[numLayers?: number, bias?: boolean, batchFirst?: boolean, dropout?: number, bidirectional?: boolean, projSize?: 0], RNNOptions & { projSize?: 0 }>);
  constructor(opts: RNNOptions & { inputSize: number; hiddenSize: number; projSize?: 0 });
  constructor(...all: unknown[]) {
    const [[inputSize, hiddenSize], args] = requiredByName('LSTM', ['inputSize', 'hiddenSize'], all) as [[number, number], unknown[]];
    super('lstm', inputSize, hiddenSize, layerOptions<RNNOptions>('LSTM', args, [...RNN_KEYS, 'projSize'], { fixed: { projSize: 0 } }));
  }
  forward(input: Tensor, hx?: [Tensor, Tensor] | null): [Tensor, [Tensor, Tensor]];
  forward(input: PackedSequence, hx?: [Tensor, Tensor] | null): [PackedSequence, [Tensor, Tensor]];
  forward(input: Tensor | PackedSequence, hx: [Tensor, Tensor] | null = null): [Tensor | PackedSequence, [Tensor, Tensor]] {
    const [out, h, c] = this.run(input, hx);
    return [out, [h, c]];
  }
}

export interface GRU {
  (input: Tensor, h0?: Tensor | null): [Tensor, Tensor];
  (input: PackedSequence, h0?: Tensor | null): [PackedSequence, Tensor];
}
/** GRU (gates r, z, n in PyTorch's order). forward returns [output, h_n]. */
export class GRU extends RNNBase {
  /** nn.GRU(inputSize, hiddenSize, numLayers=1, bias=True, batchFirst=False, dropout=0, bidirectional=False, *, device, dtype) */
  constructor(inputSize: number, hiddenSize: number, ...args: RNNArgs);
  constructor(opts: RNNOptions & { inputSize: number; hiddenSize: number });
  constructor(...all: unknown[]) {
    const [[inputSize, hiddenSize], args] = requiredByName('GRU', ['inputSize', 'hiddenSize'], all) as [[number, number], unknown[]];
    super('gru', inputSize, hiddenSize, layerOptions<RNNOptions>('GRU', args, RNN_KEYS));
  }
  forward(input: Tensor, h0?: Tensor | null): [Tensor, Tensor];
  forward(input: PackedSequence, h0?: Tensor | null): [PackedSequence, Tensor];
  forward(input: Tensor | PackedSequence, h0: Tensor | null = null): [Tensor | PackedSequence, Tensor] {
    const [out, h] = this.run(input, h0 ? [h0] : null);
    return [out, h];
  }
}

type CellArgs = PositionalOr<[bias?: boolean], FactoryOptions & { bias?: boolean }>;
// ---------- cells: one time step (nn.RNNCell, nn.LSTMCell, nn.GRUCell) ----------
abstract class CellBase extends Module {
  declare weight_ih: Tensor;
  declare weight_hh: Tensor;
  declare bias_ih: Tensor | null;
  declare bias_hh: Tensor | null;
  constructor(private readonly mode: 'lstm' | 'gru' | 'rnn_tanh' | 'rnn_relu', readonly inputSize: number, readonly hiddenSize: number, opts: FactoryOptions & { bias?: boolean }) {
    super();
    const gates = mode === 'lstm' ? 4 : mode === 'gru' ? 3 : 1;
    this.registerParameter('weight_ih', empty([gates * hiddenSize, inputSize], factoryOf(opts)));
    this.registerParameter('weight_hh', empty([gates * hiddenSize, hiddenSize], factoryOf(opts)));
    this.registerParameter('bias_ih', opts.bias === false ? null : empty([gates * hiddenSize], factoryOf(opts)));
    this.registerParameter('bias_hh', opts.bias === false ? null : empty([gates * hiddenSize], factoryOf(opts)));
    const stdv = hiddenSize > 0 ? 1 / Math.sqrt(hiddenSize) : 0;
    for (const p of this.parameters()) uniform_(p, -stdv, stdv);
  }
  /** One step from x (N, inputSize) or unbatched (inputSize); states zeros when absent. */
  protected step(x: Tensor, hx: Tensor[] | null): Tensor[] {
    const name = this.constructor.name;
    const batched = x.ndim === 2;
    if (!batched && x.ndim !== 1) throw new Error(`${name}: input must be (N, ${this.inputSize}) or (${this.inputSize}), got [${x.shape}]`);
    if (x.shape[x.ndim - 1] !== this.inputSize) throw new Error(`${name}: input's last dim is ${x.shape[x.ndim - 1]}, inputSize is ${this.inputSize}`);
    return tidy(() => {
      const input = batched ? x : x.unsqueeze(0);
      const shape = [input.shape[0], this.hiddenSize];
      const states = hx
        ? hx.map((h) => {
          const s = batched ? h : h.unsqueeze(0);
          if (s.shape.join() !== shape.join()) throw new Error(`${name}: hidden state must be [${batched ? shape : [this.hiddenSize]}], got [${h.shape}]`);
          return s;
        })
        : new Array(this.mode === 'lstm' ? 2 : 1).fill(0).map(() => zeros(shape, { dtype: x.dtype, device: x.device }));
      const outs = (native.rnnCell(this.mode, id(input), states.map(id), id(this.weight_ih), id(this.weight_hh),
        this.bias_ih ? id(this.bias_ih) : -1, this.bias_hh ? id(this.bias_hh) : -1) as number[]).map(wrap);
      return batched ? outs : outs.map((h) => h.squeeze(0));
    });
  }
  protected override extraRepr(): string {
    return `${this.inputSize}, ${this.hiddenSize}` + (this.bias_ih ? '' : ', bias=false');
  }
}
/** h' = tanh (or relu) of x W_ihᵀ + b_ih + h W_hhᵀ + b_hh. */
export class RNNCell extends CellBase {
  /** nn.RNNCell(inputSize, hiddenSize, bias=True, nonlinearity='tanh', *, device, dtype) */
  constructor(inputSize: number, hiddenSize: number, ...args: PositionalOr<[bias?: boolean, nonlinearity?: 'tanh' | 'relu'], FactoryOptions & { bias?: boolean; nonlinearity?: 'tanh' | 'relu' }>);
  /** every argument by name, as Python's keywords */
  constructor(opts: { inputSize: number; hiddenSize: number } & Record<string, unknown>);
  constructor(...all: unknown[]) {
    const [[inputSize, hiddenSize], args] = requiredByName('RNNCell', ['inputSize', 'hiddenSize'], all) as [[number, number], PositionalOr<[bias?: boolean, nonlinearity?: 'tanh' | 'relu'], FactoryOptions & { bias?: boolean; nonlinearity?: 'tanh' | 'relu' }>];
    const opts = layerOptions<FactoryOptions & { bias?: boolean; nonlinearity?: 'tanh' | 'relu' }>('RNNCell', args, ['bias', 'nonlinearity']);
    const nl = opts.nonlinearity ?? 'tanh';
    if (nl !== 'tanh' && nl !== 'relu') throw new Error(`RNNCell: nonlinearity must be 'tanh' or 'relu', got '${nl}'`);
    super(nl === 'tanh' ? 'rnn_tanh' : 'rnn_relu', inputSize, hiddenSize, opts);
  }
  forward(x: Tensor, h: Tensor | null = null): Tensor {
    return this.step(x, h ? [h] : null)[0];
  }
}
/** One LSTM step: returns [h', c']. */
export class LSTMCell extends CellBase {
  /** nn.LSTMCell(inputSize, hiddenSize, bias=True, *, device, dtype) */
  constructor(inputSize: number, hiddenSize: number, ...args: CellArgs);
  /** every argument by name, as Python's keywords */
  constructor(opts: { inputSize: number; hiddenSize: number } & Record<string, unknown>);
  constructor(...all: unknown[]) {
    const [[inputSize, hiddenSize], args] = requiredByName('LSTMCell', ['inputSize', 'hiddenSize'], all) as [[number, number], CellArgs];
    super('lstm', inputSize, hiddenSize, layerOptions('LSTMCell', args, ['bias']));
  }
  forward(x: Tensor, hx: [Tensor, Tensor] | null = null): [Tensor, Tensor] {
    const [h, c] = this.step(x, hx);
    return [h, c];
  }
}
/** One GRU step. */
export class GRUCell extends CellBase {
  /** nn.GRUCell(inputSize, hiddenSize, bias=True, *, device, dtype) */
  constructor(inputSize: number, hiddenSize: number, ...args: CellArgs);
  /** every argument by name, as Python's keywords */
  constructor(opts: { inputSize: number; hiddenSize: number } & Record<string, unknown>);
  constructor(...all: unknown[]) {
    const [[inputSize, hiddenSize], args] = requiredByName('GRUCell', ['inputSize', 'hiddenSize'], all) as [[number, number], CellArgs];
    super('gru', inputSize, hiddenSize, layerOptions('GRUCell', args, ['bias']));
  }
  forward(x: Tensor, h: Tensor | null = null): Tensor {
    return this.step(x, h ? [h] : null)[0];
  }
}
