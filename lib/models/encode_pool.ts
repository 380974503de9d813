// Tokenizing a corpus on several cores: worker threads encode its chunks (GPT2Tokenizer.encodeChunks
// cuts them where the ids cannot depend on what is on the other side) while this thread reads the
// text and puts the ids together in order. Synchronous, as encodeChunks is: this thread blocks
// on a shared counter (Atomics.wait) and takes each answer with receiveMessageOnPort, so no
// caller has to become async. The ids are the same as one thread's, whatever the thread count.
import * as fs from 'fs';
import * as path from 'path';
import { MessageChannel, MessagePort, Worker, receiveMessageOnPort } from 'worker_threads';
import { WORKER_TID_SOURCE, threadEnded } from '../io/atomic';

/** What a worker is given: the module that builds its encoder, and the tokenizer's tables (null: GPT-2's own). */
interface PoolData {
  module: string;
  tables: unknown;
  port: MessagePort;
  signal: Int32Array;
  slot: number;
  /** each worker's OS thread id, written by the worker at its start (threadEnded) */
  tids: Int32Array;
}


// The worker: builds the encoder once, then answers each chunk with its ids (or an error), in
// the order given, and counts the answer up in its slot of the shared counters. A batch of
// separate texts (texts) is answered with all their ids in one array and each one's count.
const WORKER_SOURCE = `
const { workerData } = require('worker_threads');
const { port, signal, slot, tids } = workerData;
Atomics.store(tids, slot, ${WORKER_TID_SOURCE});
let encode = null, failure = null;
try { encode = require(workerData.module).chunkEncoder(workerData.tables); } catch (e) { failure = String(e && e.message || e); }
const encodeBatch = (texts) => {
  const each = texts.map((t) => encode(t, false));
  const lengths = Int32Array.from(each, (ids) => ids.length);
  const ids = new Int32Array(lengths.reduce((a, b) => a + b, 0));
  let at = 0;
  for (const e of each) { ids.set(e, at); at += e.length; }
  return { ids, lengths };
};
port.on('message', ({ text, continued, texts }) => {
  let answer;
  if (failure) answer = { error: failure };
  else {
    try {
      answer = texts ? encodeBatch(texts) : { ids: Int32Array.from(encode(text, continued)) };
    } catch (e) { answer = { error: String(e && e.message || e) }; }
  }
  port.postMessage(answer, answer.ids ? [answer.ids.buffer, ...(answer.lengths ? [answer.lengths.buffer] : [])] : []);
  Atomics.add(signal, slot, 1);
  Atomics.notify(signal, slot);
});
`;

/** The compiled tokenizer module a worker loads (under ts-jest, the build's copy of it), or null when there is none. */
export function workerModule(): string | null {
  const here = path.join(__dirname, 'tokenizer');
  const file = fs.existsSync(here + '.js') ? here + '.js' : path.resolve(__dirname, '..', '..', 'dist', 'lib', 'models', 'tokenizer.js');
  return fs.existsSync(file) ? file : null;
}

/** How long a chunk may take before the pool gives up on its worker (a dead worker never answers). */
const ANSWER_TIMEOUT_MS = 10 * 60 * 1000;

/**
 * Chunks encoded by `threads` workers, their ids handed to `sink` in the order the chunks came.
 * At most two chunks per worker wait at once, so the text held stays small.
 */
export class EncodePool {
  private readonly workers: Worker[] = [];
  private readonly ports: MessagePort[] = [];
  private readonly signal: Int32Array;
  private readonly tids: Int32Array;
  private readonly answered: number[];
  private readonly inFlight: number[] = []; // the worker of each chunk not yet handed on, oldest first
  private next = 0;
  /** pools started in this process (a test's evidence that the threads ran) */
  static started = 0;

  /** sink: each answer's ids, in the order submitted (with each text's count, for a batch of texts) */
  constructor(module: string, tables: unknown, threads: number, private readonly sink: (ids: Int32Array, lengths?: Int32Array) => void) {
    this.signal = new Int32Array(new SharedArrayBuffer(4 * threads));
    this.tids = new Int32Array(new SharedArrayBuffer(4 * threads));
    this.answered = new Array<number>(threads).fill(0);
    EncodePool.started++;
    for (let slot = 0; slot < threads; slot++) {
      const { port1, port2 } = new MessageChannel();
      const data: PoolData = { module, tables, port: port2, signal: this.signal, slot, tids: this.tids };
      const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: data, transferList: [port2] });
      worker.unref(); // (never what keeps the process alive)
      this.workers.push(worker);
      this.ports.push(port1);
    }
  }

  /** Hands a chunk to the next worker (first taking in the oldest answer when enough are waiting). */
  submit(text: string, continued: boolean): void {
    this.post({ text, continued });
  }
  /** Hands a batch of separate texts to the next worker: each encoded alone (as encode(text)). */
  submitBatch(texts: string[]): void {
    this.post({ texts });
  }

  private post(message: { text: string; continued: boolean } | { texts: string[] }): void {
    if (this.inFlight.length >= 2 * this.workers.length) this.takeOldest();
    const k = this.next++ % this.workers.length;
    this.ports[k].postMessage(message);
    this.inFlight.push(k);
  }

  /** Waits for every chunk's ids. */
  finish(): void {
    while (this.inFlight.length) this.takeOldest();
  }

  close(): void {
    for (const p of this.ports) p.close();
    for (const w of this.workers) void w.terminate();
  }

  private takeOldest(): void {
    const k = this.inFlight.shift()!;
    const since = Date.now();
    let looked = since;
    for (;;) {
      // (the counter moves after the answer is posted: once it has, the answer is there to take)
      if (Atomics.load(this.signal, k) > this.answered[k]) {
        const got = receiveMessageOnPort(this.ports[k]);
        if (got) {
          this.answered[k]++;
          const answer = got.message as { ids?: Int32Array; lengths?: Int32Array; error?: string };
          if (answer.error !== undefined) throw new Error(`tokenizing: a tokenizer thread failed: ${answer.error}`);
          this.sink(answer.ids!, answer.lengths);
          return;
        }
      }
      // (a second apart: whether its thread is still there; the timeout where that cannot be seen)
      if (Date.now() - looked > 1000) {
        looked = Date.now();
        if (threadEnded(Atomics.load(this.tids, k)) && Atomics.load(this.signal, k) <= this.answered[k]) throw new Error('tokenizing: a tokenizer thread stopped without answering (out of memory?); run with threads: 1 (the CLI\'s --dataset-num-proc 1)');
      }
      if (Date.now() - since > ANSWER_TIMEOUT_MS) throw new Error(`tokenizing: a tokenizer thread gave no answer in ${ANSWER_TIMEOUT_MS / 60000} minutes (out of memory?); run with threads: 1`);
      Atomics.wait(this.signal, k, this.answered[k], 50);
    }
  }
}
