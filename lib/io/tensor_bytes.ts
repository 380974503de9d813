// A tensor's bytes for file writers, a piece at a time: a writer then holds one piece (not the
// whole tensor, nor the whole model) beside the tensors themselves, and a tensor past the 4 GiB
// a Buffer can hold is written all the same.
import { native } from '../tensor/native';
import { tidy } from '../tensor/scope';
import { Tensor, _id as id } from '../tensor/tensor';

/** How many bytes writers take at once. */
const WRITE_PIECE_BYTES = 64 * 2 ** 20;

/**
 * t's row-major bytes (as t.bytes()) in pieces of at most pieceBytes. shared: each piece is a
 * view of the tensor's own memory (no copy: what a writer that writes each piece at once wants;
 * a piece kept sees later in-place changes), else a copy.
 */
export function* tensorBytePieces(t: Tensor, opts: { pieceBytes?: number; shared?: boolean } = {}): Generator<Buffer> {
  const pieceBytes = opts.pieceBytes ?? WRITE_PIECE_BYTES;
  if (!(pieceBytes >= 1)) throw new RangeError(`tensorBytePieces: pieces of ${pieceBytes} bytes`);
  if (t.device !== 'cpu' && t.device !== 'meta') {
    yield* _devicePieces(t, pieceBytes);
    return;
  }
  // A CPU tensor that is dense already is read in place; anything else is made so once (each
  // piece of a strided tensor would otherwise copy all of it again).
  const inPlace = t.isContiguous() && !t.isConj() && !t.isNeg();
  const src = inPlace ? t : tidy(() => t.detach().resolveConj().resolveNeg().contiguous());
  try {
    const total = src.nbytes;
    if (!opts.shared && total <= pieceBytes) {
      yield native.bytes(id(src)) as Buffer;
      return;
    }
    for (let from = 0; from === 0 || from < total; from += pieceBytes) {
      const n = Math.min(pieceBytes, total - from);
      yield (opts.shared ? native.bytesView(id(src), from, n) : native.bytes(id(src), from, n)) as Buffer;
    }
  } finally {
    if (src !== t) src.dispose(); // (a shared piece keeps its memory alive on its own)
  }
}

/**
 * A GPU tensor's bytes, a piece copied to the host at a time: the host holds one piece, never the
 * whole tensor (PyTorch's torch.save copies each storage whole). Made dense once on its device.
 */
export function* _devicePieces(t: Tensor, pieceBytes: number): Generator<Buffer> {
  const flat = tidy(() => t.detach().resolveConj().resolveNeg().contiguous().flatten());
  try {
    const numel = flat.numel();
    // (whole elements per piece: a piece of bytes would cut one in two)
    const perPiece = Math.max(1, Math.floor(pieceBytes / flat.itemsize));
    for (let from = 0; from === 0 || from < numel; from += perPiece) {
      const piece = tidy(() => flat.narrow(0, from, Math.min(perPiece, numel - from)).cpu());
      try {
        // (the piece is a fresh host copy: viewed, not copied again; the view keeps it alive)
        yield native.bytesView(id(piece), 0, piece.nbytes) as Buffer;
      } finally {
        piece.dispose();
      }
    }
  } finally {
    flat.dispose();
  }
}
