// A gzip file decompressed a slice at a time behind a synchronous call: Node's zlib (native,
// multi-member, a cut-short file an error) runs on a worker thread, which hands each slice over
// while this thread blocks on a shared counter (Atomics.wait + receiveMessageOnPort, as
// parquet.ts and encode_pool.ts do), so a .gz corpus of any size is read without holding it.
import { MessageChannel, Worker, receiveMessageOnPort } from 'worker_threads';
import { WORKER_TID_SOURCE, threadEnded } from '../io/atomic';

// The worker: streams the file through zlib's gunzip, posting each slice (then an end, or an
// error) and counting it in signal[0]; it pauses while AHEAD slices wait untaken (signal[1]). Told
// to stop (signal[3]), it closes the file itself and ends: a worker terminated from outside would
// leave its file open (its descriptors are the process's, and nothing closes them).
const WORKER_SOURCE = `
const { workerData } = require('worker_threads');
const fs = require('fs'), zlib = require('zlib');
const { file, port, signal, ahead } = workerData;
Atomics.store(signal, 2, ${WORKER_TID_SOURCE}); // (its OS thread, for threadEnded)
const post = (message, transfer = []) => {
  port.postMessage(message, transfer);
  Atomics.add(signal, 0, 1);
  Atomics.notify(signal, 0);
};
const input = fs.createReadStream(file, { highWaterMark: 1 << 20 });
const gunzip = zlib.createGunzip({ chunkSize: 1 << 20 });
const stopped = () => {
  if (Atomics.load(signal, 3) === 0) return false;
  input.destroy();
  gunzip.destroy();
  return true;
};
const resumeWhenTaken = () => {
  if (stopped()) return;
  if (Atomics.load(signal, 0) - Atomics.load(signal, 1) < ahead) gunzip.resume();
  else setTimeout(resumeWhenTaken, 2);
};
gunzip.on('data', (chunk) => {
  if (stopped()) return;
  const slice = new Uint8Array(chunk); // (a copy of its own, to transfer)
  post({ slice }, [slice.buffer]);
  if (Atomics.load(signal, 0) - Atomics.load(signal, 1) >= ahead) {
    gunzip.pause();
    setTimeout(resumeWhenTaken, 2);
  }
});
const fail = (e) => post({ error: String(e && e.message || e) });
input.on('error', fail);
gunzip.on('error', fail);
gunzip.on('end', () => post({ end: true }));
input.pipe(gunzip);
`;

/** How long a slice may take before the reader gives up on its worker (a dead worker never answers). */
const ANSWER_TIMEOUT_MS = 10 * 60 * 1000;

/**
 * A gzip file's decompressed bytes, a slice (up to 1 MB) at a time; an error (a damaged or
 * cut-short file) is thrown as zlib words it. Stopping early stops the worker, its file closed.
 */
export function* gunzipSlices(file: string): Generator<Uint8Array> {
  const signal = new Int32Array(new SharedArrayBuffer(16)); // slices posted, slices taken, the worker's OS thread id, stop
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file, port: port2, signal, ahead: 4 }, transferList: [port2] });
  worker.unref(); // (never what keeps the process alive)
  let taken = 0;
  try {
    for (;;) {
      const since = Date.now();
      let looked = since;
      let got: { message: unknown } | undefined;
      // (the counter moves after the slice is posted: once it has, the slice is there to take)
      while (!(Atomics.load(signal, 0) > taken && (got = receiveMessageOnPort(port1)))) {
        if (Date.now() - looked > 1000) {
          looked = Date.now();
          // (a worker that posted its last slice and ended meanwhile has counted it first)
          if (threadEnded(Atomics.load(signal, 2)) && Atomics.load(signal, 0) <= taken) throw new Error('the gzip reading thread stopped without answering (out of memory?)');
        }
        if (Date.now() - since > ANSWER_TIMEOUT_MS) throw new Error(`the gzip reading thread gave no answer in ${ANSWER_TIMEOUT_MS / 60000} minutes (out of memory?)`);
        Atomics.wait(signal, 0, taken, 50);
      }
      Atomics.store(signal, 1, ++taken);
      const m = got.message as { slice?: Uint8Array; error?: string; end?: boolean };
      if (m.error !== undefined) throw new Error(m.error);
      if (m.end) return;
      yield m.slice!;
    }
  } finally {
    // (the worker closes its file and ends by itself: within a slice, or 2 ms where it waits; unref'd, it never holds the process)
    Atomics.store(signal, 3, 1);
    port1.close();
  }
}
