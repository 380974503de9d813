// Dynamic quantization (torch.ao.quantization.quantize_dynamic): Linear (and GPT-2's Conv1D)
// layers swapped for int8 ones whose weights are quantized once, per tensor and symmetric, as
// PyTorch's default dynamic qconfig does (MinMaxObserver, qint8), and whose inputs are quantized
// per call (reduce_range, as PyTorch's dynamic Linear). Inference only: no gradients.
import { Tensor, _wrap as wrap, _id as id } from '../tensor/tensor';
import { native } from '../tensor/native';
import { noGrad } from '../tensor/runtime';
import { tidy } from '../tensor/scope';
import { Module } from './module';
import { Linear, Conv1D } from './layers';

/** MinMaxObserver(qint8, per_tensor_symmetric).calculate_qparams: scale = max|w| / 127.5 (at least float32's eps), zero point 0. */
function symmetricInt8Scale(weight: Tensor): number {
  const maxAbs = tidy(() => noGrad(() => weight.abs().max().to({ dtype: 'float32' }).item() as number));
  return Math.max(Math.fround(maxAbs / 127.5), 1.1920928955078125e-7);
}

/** torch.ao.nn.quantized.dynamic.Linear: y = x Wᵀ + b with W in int8 (x float32, quantized per call). */
export class DynamicQuantizedLinear extends Module {
  private packed: unknown;
  readonly scale: number;
  readonly zeroPoint = 0;
  /** weight: [out, in] floats (quantized here); bias: [out] floats or null */
  constructor(readonly inFeatures: number, readonly outFeatures: number, weight: Tensor, bias: Tensor | null) {
    super();
    if (weight.shape.join() !== [outFeatures, inFeatures].join()) throw new Error(`DynamicQuantizedLinear: weight is [${weight.shape}], expected [${outFeatures}, ${inFeatures}]`);
    this.scale = symmetricInt8Scale(weight);
    this.packed = native.quantizedLinearPack(id(weight), this.scale, 0, bias ? id(bias) : -1);
  }
  /** From a float Linear (or a Conv1D, whose weight is [in, out]). */
  static fromFloat(m: Linear | Conv1D): DynamicQuantizedLinear {
    if (m instanceof Conv1D) return tidy(() => new DynamicQuantizedLinear(m.nx, m.nf, m.weight.t(), m.bias));
    return new DynamicQuantizedLinear(m.inFeatures, m.outFeatures, m.weight, m.bias);
  }
  forward(x: Tensor): Tensor {
    if (x.shape[x.ndim - 1] !== this.inFeatures) throw new Error(`DynamicQuantizedLinear(${this.inFeatures} -> ${this.outFeatures}): the input's last dim is ${x.shape[x.ndim - 1]}`);
    return wrap(native.quantizedLinearDynamic(id(x), this.packed, true));
  }
  /** The weight as the int8 grid gives it back (dequantized), and the bias. */
  weightAndBias(): { weight: Tensor; bias: Tensor | null } {
    const [w, b] = native.quantizedLinearUnpack(this.packed) as number[];
    return { weight: wrap(w), bias: b < 0 ? null : wrap(b) };
  }
  protected override extraRepr(): string {
    return `inFeatures=${this.inFeatures}, outFeatures=${this.outFeatures}, dtype=torch.qint8, qscheme=torch.per_tensor_affine`;
  }
  override dispose(): void {
    super.dispose();
    this.packed = null; // (the packed weight is freed with its JS object)
  }
}

/**
 * torch.ao.quantization.quantize_dynamic(model, { types }): a copy of model (or model itself with
 * inplace) with its Linear layers (and Conv1D ones, if asked) swapped for DynamicQuantizedLinear.
 * The quantized engine is libtorch's own (quantizedEngine()).
 */
export function quantizeDynamic<M extends Module>(model: M, opts: { types?: ('Linear' | 'Conv1D')[]; inplace?: boolean } = {}): M {
  const types = new Set(opts.types ?? ['Linear']);
  const target = opts.inplace ? model : model.deepCopy();
  const removed: Module[] = [];
  const swap = (parent: Module) => {
    for (const [name, child] of [...parent.namedChildren()]) {
      const quantize = (child instanceof Linear && types.has('Linear')) || (child instanceof Conv1D && types.has('Conv1D'));
      if (quantize) {
        parent.replaceModule(name, DynamicQuantizedLinear.fromFloat(child as Linear | Conv1D));
        removed.push(child);
      } else {
        swap(child);
      }
    }
  };
  swap(target);
  // the float weights go, unless the model still holds them elsewhere (GPT-2's lm_head is tied to wte)
  const kept = new Set(target._tensorSlots().map((s) => s.tensor));
  for (const m of removed) for (const t of [...m.parameters(), ...m.buffers()]) if (!kept.has(t) && !opts.inplace) t.dispose();
  return target;
}

/** The quantized engine libtorch runs int8 ops with (torch.backends.quantized.engine). */
export function quantizedEngine(): string {
  return native.quantizedEngine() as string;
}
