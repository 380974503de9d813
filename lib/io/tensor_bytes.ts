// A tensor's bytes for file writers, a piece at a time: a writer then holds one piece (not the
// whole tensor, nor the whole model) beside the tensors themselves, and a tensor past the 4 GiB
// a Buffer can hold is written all the same.
import { native } from '../tensor/native';
import { tidy } from '../tensor/scope';
import { Tensor, _id as id } from '../tensor/tensor';

/** How many bytes writers copy out at once. */
export const WRITE_PIECE_BYTES = 64 * 2 ** 20;

/** t's row-major bytes (as t.bytes()) in pieces of at most pieceBytes. */
export function* tensorBytePieces(t: Tensor, pieceBytes = WRITE_PIECE_BYTES): Generator<Buffer> {
  // A CPU tensor that is dense already is read in place; anything else is made so once (each
  // piece of a CUDA or strided tensor would otherwise copy all of it again).
  const src = !t.isCuda && t.isContiguous() ? t : tidy(() => t.detach().cpu().contiguous());
  try {
    const total = src.nbytes;
    if (total <= pieceBytes) {
      yield native.bytes(id(src)) as Buffer;
      return;
    }
    for (let from = 0; from < total; from += pieceBytes) yield native.bytes(id(src), from, Math.min(pieceBytes, total - from)) as Buffer;
  } finally {
    if (src !== t) src.dispose();
  }
}
