// Continuous batching (vLLM's scheduling, in the small): concurrent generations of one model take
// their plain steps (greedy or sampling: the last token through the model over the cache) in one
// forward pass. Each generation keeps its own options, processors, random draws, cache and end;
// it joins the batch after its first step (the prompt's own pass) and leaves when it ends, so a
// server's requests come and go between steps. A generation alone in the batch gets exactly
// generate()'s tokens; batched, its caches are left-padded to a common length and masked, which
// changes the logits only by float rounding (HF's padded batches do the same).
import { Tensor } from '../tensor/tensor';
import { tensor } from '../tensor/creation';
import { cat } from '../tensor/ops';
import { keep, tidy } from '../tensor/scope';
import { autocast, noGrad } from '../tensor/runtime';
import type { AutocastOptions } from '../tensor/runtime';
import * as F from '../nn/functional';
import type { BeamSearchOutput, DecodingState, GenerateOptions, StepsOf } from './generation';
import type { GPT2LMHeadModel, LayerPast } from './gpt2';

interface Job {
  steps: StepsOf<BeamSearchOutput>;
  state: () => DecodingState | undefined;
  /** every step is a plain one, that a batch can share */
  plain: boolean;
  signal?: AbortSignal;
  /** told of the cache once the first step has put the prompt through (then cleared) */
  prefilled?: (cache: readonly LayerPast[]) => void;
  resolve: (sequences: number[][]) => void;
  reject: (e: unknown) => void;
}

/** What a generation in a batcher tells its caller besides its sequences. */
export interface GenerationHooks {
  /**
   * After a plain generation's first step: its cache, which then covers the (left-padded)
   * prompts, each layer's keys and values (rows, heads, positions, headDim). The generation's own
   * tensors, good during the call: copy what is to be kept (a later call's pastKeyValues). Not
   * called for beam search, assisted decoding, prompt lookup or contrastive search.
   */
  prefilled?: (cache: readonly LayerPast[]) => void;
}

export interface BatcherOptions {
  /** the most rows (sequences) one batched step takes (vLLM's max_num_seqs; default 256) */
  maxBatchRows?: number;
  /** every forward pass under this autocast (tstorch serve --precision bf16) */
  autocast?: AutocastOptions;
}

/** What the batcher has done: steps taken, and how many of them were shared. */
export interface BatcherStats {
  /** loop turns (each advances every generation by a step) */
  turns: number;
  /** forward passes shared by two generations or more */
  batchedPasses: number;
  /** the rows those passes took, together */
  batchedRows: number;
  /** the most generations in one pass */
  widestBatch: number;
  /** shared passes whose caches had to be stacked anew (the generations in the batch changed) */
  restacks: number;
}

/** The last shared pass: its generations, the whole cache it made (kept), and the views each got. */
interface Stack {
  states: DecodingState[];
  past: LayerPast[];
  views: LayerPast[][];
}

export class GenerationBatcher {
  private readonly jobs: Job[] = [];
  private running = false;
  readonly stats: BatcherStats = { turns: 0, batchedPasses: 0, batchedRows: 0, widestBatch: 0, restacks: 0 };
  private stack: Stack | null = null;
  private readonly maxRows: number;

  constructor(readonly model: GPT2LMHeadModel, readonly options: BatcherOptions = {}) {
    this.maxRows = options.maxBatchRows ?? 256;
    if (!(Number.isInteger(this.maxRows) && this.maxRows >= 1)) throw new Error(`GenerationBatcher: maxBatchRows must be an integer >= 1, got ${options.maxBatchRows}`);
  }

  /**
   * generate()'s sequences for these prompts and options, the generation stepped along with the
   * others in flight (opts.signal aborts it between steps, as generateAsync's). Beam search,
   * assisted decoding, prompt lookup and contrastive search run too, a step each turn, unbatched.
   */
  generate(prompt: Tensor | number[] | number[][], opts: GenerateOptions = {}, hooks: GenerationHooks = {}): Promise<number[][]> {
    if (opts.returnDictInGenerate) return Promise.reject(new Error('generate: GenerationBatcher returns the sequences: returnDictInGenerate is for model.generate()'));
    if (opts.autocast) return Promise.reject(new Error('generate: GenerationBatcher runs every pass under its own autocast (new GenerationBatcher(model, { autocast }))'));
    return new Promise((resolve, reject) => {
      try {
        this.jobs.push({ ...this.model.generationSteps(prompt, opts), signal: opts.signal, prefilled: hooks.prefilled, resolve, reject });
      } catch (e) {
        reject(e);
        return;
      }
      // (the loop starts on the next turn of the event loop: calls made together start together)
      if (!this.running) {
        this.running = true;
        setImmediate(() => void this.run());
      }
    });
  }

  /** generations in flight */
  get size(): number {
    return this.jobs.length;
  }

  private async run(): Promise<void> {
    try {
      while (this.jobs.length) {
        this.turn();
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } finally {
      this.running = false;
      this.dropStack();
    }
  }

  private dropStack(): void {
    for (const [k, v] of this.stack?.past ?? []) { k.dispose(); v.dispose(); }
    this.stack = null;
  }

  /** One step of every generation: those ready for a plain step share one forward pass first. */
  private turn(): void {
    this.stats.turns++;
    const ready: Job[] = [];
    let rows = 0;
    for (const job of this.jobs) {
      const state = job.state();
      if (!job.plain || !state?.feedsLastToken || job.signal?.aborted || rows + state.seqs.length > this.maxRows) continue;
      ready.push(job);
      rows += state.seqs.length;
    }
    if (ready.length > 1) {
      try {
        this.shareForward(ready.map((j) => j.state()!));
        this.stats.batchedPasses++;
        this.stats.batchedRows += rows;
        this.stats.widestBatch = Math.max(this.stats.widestBatch, ready.length);
      } catch (e) {
        for (const job of ready) this.end(job, () => job.reject(e), true);
      }
    } else {
      this.dropStack(); // (nothing shared this turn: the last pass's whole cache goes)
    }
    for (const job of [...this.jobs]) this.advance(job);
  }

  /** A generation's next step (its prepared pass, if the batch made one); its end resolves or rejects it. */
  private advance(job: Job): void {
    if (job.signal?.aborted) {
      this.end(job, () => job.reject(job.signal!.reason), true);
      return;
    }
    let r: IteratorResult<void, BeamSearchOutput>;
    try {
      const next = () => noGrad(() => job.steps.next());
      r = this.options.autocast ? autocast(next, this.options.autocast) : next();
    } catch (e) {
      this.end(job, () => job.reject(e), false); // (the steps' clean-up ran as the error left them)
      return;
    }
    if (r.done) {
      this.end(job, () => job.resolve(r.value.sequences), false);
      return;
    }
    const cache = job.plain && job.prefilled && job.state()?.cache;
    if (!cache) return;
    try {
      job.prefilled!(cache);
      job.prefilled = undefined;
    } catch (e) {
      this.end(job, () => job.reject(e), true); // (the hook's error: the generation, suspended, is cleaned up)
    }
  }

  private end(job: Job, settle: () => void, cleanUp: boolean): void {
    const at = this.jobs.indexOf(job);
    if (at >= 0) this.jobs.splice(at, 1);
    if (cleanUp) noGrad(() => job.steps.return(undefined as unknown as BeamSearchOutput));
    settle();
  }

  /**
   * One forward pass for these states' next tokens: their caches left-padded (zeros, masked out)
   * to the longest and stacked, each row's position its own; each state then gets its rows of the
   * logits and of the new cache (its padding cut off again). When the same generations shared the
   * last pass, their caches are still views of the one it made: that is the stack, no copy.
   */
  private shareForward(states: DecodingState[]): void {
    const last = this.stack;
    const same = last !== null && last.states.length === states.length && states.every((s, j) => s === last.states[j] && s.cache!.every(([k, v], l) => k === last.views[j][l][0] && v === last.views[j][l][1]));
    tidy(() => noGrad(() => {
      const device = states[0].device;
      const longest = Math.max(...states.map((s) => s.cachedLength));
      const layers = states[0].cache!.length;
      const padded = (t: Tensor, extra: number) => (extra ? F.pad(t, [0, 0, extra, 0]) : t);
      if (!same) this.stats.restacks++;
      const past = same ? last!.past : Array.from({ length: layers }, (_, l) => [0, 1].map((kv) => cat(states.map((s) => padded(s.cache![l][kv], longest - s.cachedLength)), 0)) as LayerPast);
      // each row: the batch's padding and its own (HF's left padding of its prompt) masked, then its tokens
      const mask = states.flatMap((s) => s.seqs.map((q, r) => [...Array<number>(longest - s.cachedLength + s.padding[r]).fill(0), ...Array<number>(q.length).fill(1)]));
      const forward = () => this.model.forward(tensor(states.flatMap((s) => s.seqs.map((q) => [q[q.length - 1]])), { dtype: 'int64', device }), {
        pastKeyValues: past, useCache: true, logitsToKeep: 1,
        attentionMask: tensor(mask, { dtype: 'int64', device }),
        positionIds: tensor(states.flatMap((s) => s.seqs.map((q) => [q.length - 1])), { dtype: 'int64', device }), // (the tokens before it)
      });
      const out = this.options.autocast ? autocast(forward, this.options.autocast) : forward();
      let row = 0;
      const views = states.map((s) => {
        const n = s.seqs.length, extra = longest - s.cachedLength, length = s.cachedLength + 1;
        const mine = out.pastKeyValues!.map(([k, v]) => [keep(k.narrow(0, row, n).narrow(2, extra, length)), keep(v.narrow(0, row, n).narrow(2, extra, length))] as LayerPast);
        s.prepare({ logits: keep(out.logits.narrow(0, row, n)), pastKeyValues: mine });
        row += n;
        return mine;
      });
      this.dropStack();
      this.stack = { states, past: out.pastKeyValues!.map(([k, v]) => [keep(k), keep(v)] as LayerPast), views };
    }));
  }
}
