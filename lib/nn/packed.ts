// torch.nn.utils.rnn: PackedSequence and the functions that pack and unpack it, so that
// recurrent layers run over a batch of sequences of different lengths without computing on
// the padding (libtorch's _pack_padded_sequence / _pad_packed_sequence, and the packed
// overloads of at::lstm / gru / rnn_*).
import { native } from '../tensor/native';
import { Tensor, _wrap as wrap, _id as id } from '../tensor/tensor';
import { tensor, arange, empty } from '../tensor/creation';
import { tidy } from '../tensor/scope';
import { optionsOf, PositionalOr } from '../tensor/options';

/**
 * The time steps of a batch of sequences, packed: data holds step t of every sequence still
 * running at t (batchSizes[t] of them), longest first. A plain object, so tidy() keeps its tensors
 * when it is returned.
 */
export interface PackedSequence {
  data: Tensor;
  /** int64, on the CPU */
  batchSizes: Tensor;
  /** the order the sequences were sorted into (longest first), null when they came sorted */
  sortedIndices: Tensor | null;
  unsortedIndices: Tensor | null;
}

type PackOptions = { batchFirst?: boolean; enforceSorted?: boolean };
/** (paddingSide: PyTorch 2.5's; 'right' by default) */
type PadSequenceOptions = { batchFirst?: boolean; paddingValue?: number; paddingSide?: 'right' | 'left' };

export function isPackedSequence(x: unknown): x is PackedSequence {
  return typeof x === 'object' && x !== null && (x as PackedSequence).data instanceof Tensor && (x as PackedSequence).batchSizes instanceof Tensor;
}

function invertPermutation(p: Tensor): Tensor {
  return empty(p.shape, { dtype: 'int64', device: p.device }).scatter_(0, p, arange(0, p.numel(), 1, { dtype: 'int64', device: p.device }));
}

/**
 * pack_padded_sequence: input (L, B, *) (or (B, L, *) with batchFirst) whose sequence b has
 * lengths[b] valid steps. With enforceSorted (default) the lengths must be non-increasing;
 * otherwise the batch is sorted here and unsorted by padPackedSequence and the layers' states.
 */
export function packPaddedSequence(input: Tensor, lengths: Tensor | number[], ...args: PositionalOr<[batchFirst?: boolean, enforceSorted?: boolean], PackOptions>): PackedSequence {
  const opts = optionsOf<PackOptions>('packPaddedSequence', args, ['batchFirst', 'enforceSorted']);
  const batchFirst = opts.batchFirst ?? false;
  return tidy(() => {
    let lens = lengths instanceof Tensor ? lengths.to({ dtype: 'int64', device: 'cpu' }) : tensor(lengths, { dtype: 'int64' });
    // (libtorch 1.13 reads past the input for a length longer than it, without a word)
    const steps = input.shape[batchFirst ? 1 : 0];
    const longest = lens.numel() ? (lens.max().item() as number) : 0;
    if (longest > steps) throw new Error(`packPaddedSequence: a length of ${longest} for an input of ${steps} steps; lengths count valid steps, at most the input's ${batchFirst ? 'second' : 'first'} dim`);
    let x = input;
    let sortedIndices: Tensor | null = null;
    if (opts.enforceSorted === false) {
      const sorted = lens.sort(-1, true);
      lens = sorted.values;
      sortedIndices = sorted.indices.to({ device: input.device });
      x = input.indexSelect(batchFirst ? 0 : 1, sortedIndices);
    }
    const [data, batchSizes] = (native.packPaddedSequence(id(x), id(lens), batchFirst) as number[]).map(wrap);
    return { data, batchSizes, sortedIndices, unsortedIndices: sortedIndices ? invertPermutation(sortedIndices) : null };
  });
}

/**
 * pad_packed_sequence: back to a padded (L, B, *) tensor (or (B, L, *)) in the batch's original
 * order, and the lengths (int64, CPU). totalLength pads to at least that many steps.
 */
export function padPackedSequence(seq: PackedSequence,
  ...args: PositionalOr<[batchFirst?: boolean, paddingValue?: number, totalLength?: number | null], { batchFirst?: boolean; paddingValue?: number; totalLength?: number | null }>): [Tensor, Tensor] {
  const opts = optionsOf<{ batchFirst?: boolean; paddingValue?: number; totalLength?: number | null }>('padPackedSequence', args, ['batchFirst', 'paddingValue', 'totalLength']);
  const batchFirst = opts.batchFirst ?? false;
  const maxLength = seq.batchSizes.shape[0];
  if (opts.totalLength != null && opts.totalLength < maxLength) {
    throw new Error(`padPackedSequence: expected totalLength to be at least the length of the longest sequence (${maxLength}), but got totalLength=${opts.totalLength}`);
  }
  return tidy(() => {
    const [padded, lengths] = (native.padPackedSequence(id(seq.data), id(seq.batchSizes), batchFirst, opts.paddingValue ?? 0, opts.totalLength ?? maxLength) as number[]).map(wrap);
    if (!seq.unsortedIndices) return [padded, lengths] as [Tensor, Tensor];
    return [padded.indexSelect(batchFirst ? 0 : 1, seq.unsortedIndices), lengths.indexSelect(0, seq.unsortedIndices.to({ device: 'cpu' }))] as [Tensor, Tensor];
  });
}

/** pad_sequence: tensors of different first lengths to one (L_max, B, *) tensor, or (B, L_max, *) with batchFirst. */
export function padSequence(sequences: Tensor[], ...args: PositionalOr<[batchFirst?: boolean, paddingValue?: number, paddingSide?: 'right' | 'left'], PadSequenceOptions>): Tensor {
  const opts = optionsOf<PadSequenceOptions>('padSequence', args, ['batchFirst', 'paddingValue', 'paddingSide']);
  if (!sequences.length) throw new Error('padSequence: give at least one tensor');
  const side = opts.paddingSide ?? 'right';
  if (side !== 'right' && side !== 'left') throw new Error(`padSequence: paddingSide must be 'right' or 'left', got '${side}'`);
  if (side === 'right') return wrap(native.padSequence(sequences.map(id), opts.batchFirst ?? false, opts.paddingValue ?? 0));
  // left: the reversed sequences padded on the right, reversed back along the time dim (PyTorch 2.5's padding_side)
  return tidy(() => wrap(native.padSequence(sequences.map((t) => id(t.flip([0]))), opts.batchFirst ?? false, opts.paddingValue ?? 0)).flip([opts.batchFirst ? 1 : 0]));
}

/** unpad_sequence: padSequence undone: each sequence cut to its length. */
export function unpadSequence(padded: Tensor, lengths: number[] | Tensor, ...args: PositionalOr<[batchFirst?: boolean], { batchFirst?: boolean }>): Tensor[] {
  const opts = optionsOf<{ batchFirst?: boolean }>('unpadSequence', args, ['batchFirst']);
  const lens = lengths instanceof Tensor ? (lengths.tolist() as number[]) : lengths;
  const batchFirst = opts.batchFirst ?? false;
  return lens.map((n, k) => (batchFirst ? padded.select(0, k) : padded.select(1, k)).narrow(0, 0, n));
}
/** unpack_sequence: packSequence undone: the sequences, in their original order. */
export function unpackSequence(packed: PackedSequence): Tensor[] {
  const [output, lengths] = padPackedSequence(packed, { batchFirst: true });
  const out = unpadSequence(output, lengths, { batchFirst: true });
  lengths.dispose();
  return out;
}
/** pack_sequence: a list of (L_b, *) tensors straight to a PackedSequence. */
export function packSequence(sequences: Tensor[], ...args: PositionalOr<[enforceSorted?: boolean], { enforceSorted?: boolean }>): PackedSequence {
  const opts = optionsOf<{ enforceSorted?: boolean }>('packSequence', args, ['enforceSorted']);
  return tidy(() => packPaddedSequence(padSequence(sequences), sequences.map((s) => s.shape[0]), opts));
}
