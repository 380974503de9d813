// Continuous batching (vLLM's scheduling, in the small): concurrent generations of one model take
// their plain steps (greedy or sampling: the last token through the model over the cache) in one
// forward pass, and prompts that wait together go through the model in one pass too (the prefill).
// Each generation keeps its own options, processors, random draws, cache and end; it joins the
// batch when its prompt has gone through and leaves when it ends, so a server's requests come and
// go between steps. A generation alone in the batcher gets exactly generate()'s tokens; batched,
// its prompt and caches are left-padded to a common length and masked, which changes the logits
// only by float rounding (HF's padded batches do the same).
import { Tensor } from '../tensor/tensor';
import { tensor } from '../tensor/creation';
import { cat } from '../tensor/ops';
import { keep, tidy } from '../tensor/scope';
import { autocast, noGrad } from '../tensor/runtime';
import type { AutocastOptions } from '../tensor/runtime';
import type { BeamSearchOutput, DecodingState, GenerateOptions, StepsOf } from './generation';
import type { GPT2LMHeadModel, LayerPast } from './gpt2';
import { cacheWithRoom } from './kv_cache';

interface Job {
  steps: StepsOf<BeamSearchOutput>;
  state: () => DecodingState | undefined;
  /** every step is a plain one, that a batch can share */
  plain: boolean;
  signal?: AbortSignal;
  /** told of the cache once the prompt's pass has put it through (then cleared) */
  prefilled?: (cache: readonly LayerPast[]) => void;
  resolve: (sequences: number[][]) => void;
  reject: (e: unknown) => void;
}

/** What a generation in a batcher tells its caller besides its sequences. */
export interface GenerationHooks {
  /**
   * After a plain generation's prompt has gone through (its first token chosen): its cache, which
   * then covers the (left-padded) prompts, each layer's keys and values (rows, heads, positions,
   * headDim). The generation's own tensors, good during the call: copy what is to be kept (a later
   * call's pastKeyValues). Not called for beam search, assisted decoding, prompt lookup or
   * contrastive search.
   */
  prefilled?: (cache: readonly LayerPast[]) => void;
}

export interface BatcherOptions {
  /** the most rows (sequences) one batched pass takes (vLLM's max_num_seqs; default 256) */
  maxBatchRows?: number;
  /**
   * the most positions, padding included, one pass of several prompts feeds (vLLM's
   * max_num_batched_tokens; default 8192): the rest go in passes of their own. A longer prompt
   * still goes, alone.
   */
  maxBatchTokens?: number;
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
  /** forward passes that put two prompts or more through together (not counted in batchedPasses) */
  batchedPrefills: number;
  /** the prompts (generations) those passes took, together */
  prefilledTogether: number;
}

/** The last shared pass: its generations, the whole cache it made (kept), and the views each got. */
interface Stack {
  states: DecodingState[];
  past: LayerPast[];
  views: LayerPast[][];
}

/**
 * The states' caches stacked by rows, each left-padded with zeros to `length` positions (a state
 * without one: all zeros); undefined when none has a cache. Written once into a buffer with room
 * (cacheWithRoom), so the pass they go to appends its positions in place.
 */
function stackCaches(states: DecodingState[], length: number, maxPositions: number): LayerPast[] | undefined {
  const like = states.find((s) => s.cache)?.cache;
  const rows = states.reduce((n, s) => n + s.seqs.length, 0);
  return like?.map((layer, l) => layer.map((t0, kv) => {
    const stacked = cacheWithRoom([rows, t0.shape[1], length, t0.shape[3]], t0.dtype, t0.device, maxPositions);
    let row = 0;
    for (const s of states) {
      const n = s.seqs.length, c = s.cachedLength, mine = stacked.narrow(0, row, n);
      if (c < length) mine.narrow(2, 0, length - c).zero_(); // (masked, but finite)
      if (c) mine.narrow(2, length - c, c).copy_(s.cache![l][kv]);
      row += n;
    }
    return stacked;
  }) as LayerPast);
}

export class GenerationBatcher {
  private readonly jobs: Job[] = [];
  private running = false;
  readonly stats: BatcherStats = { turns: 0, batchedPasses: 0, batchedRows: 0, widestBatch: 0, restacks: 0, batchedPrefills: 0, prefilledTogether: 0 };
  private stack: Stack | null = null;
  private readonly maxRows: number;
  private readonly maxTokens: number;

  constructor(readonly model: GPT2LMHeadModel, readonly options: BatcherOptions = {}) {
    this.maxRows = options.maxBatchRows ?? 256;
    if (!(Number.isInteger(this.maxRows) && this.maxRows >= 1)) throw new Error(`GenerationBatcher: maxBatchRows must be an integer >= 1, got ${options.maxBatchRows}`);
    this.maxTokens = options.maxBatchTokens ?? 8192;
    if (!(Number.isInteger(this.maxTokens) && this.maxTokens >= 1)) throw new Error(`GenerationBatcher: maxBatchTokens must be an integer >= 1, got ${options.maxBatchTokens}`);
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

  /**
   * One step of every generation: first the prompts waiting together go through in one pass, and
   * those ready for a plain step share another.
   */
  private turn(): void {
    this.stats.turns++;
    const ready: Job[] = [], prompts: Job[] = [];
    let rows = 0;
    for (const job of this.jobs) {
      const state = job.state(); // (undefined until its first step has set it up: a plain one then waits for its prompt's pass)
      if (!job.plain || !state || job.signal?.aborted) continue;
      if (!state.feedsLastToken) { // (its prompt's pass: at least its last token to feed; or its next chunk, a pass of its own)
        if (!state.prefillInChunks) prompts.push(job);
        continue;
      }
      if (rows + state.seqs.length > this.maxRows) continue;
      ready.push(job);
      rows += state.seqs.length;
    }
    this.prefillTogether(prompts);
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
    const state = job.state();
    if (!(job.plain && job.prefilled && state?.cache && state.length > state.promptLength)) return; // (the prefilled hook: once a token follows the prompt)
    const cache = state.cache;
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
   * The prompts waiting for their first pass (each what its cache, if seeded, does not cover), in
   * groups that each go through in one forward pass: the longest first, then as many of the others
   * as fit without padding the pass beyond half as many positions again as they fill, or beyond
   * maxBatchRows and maxBatchTokens. A prompt with no other to go with makes its own pass.
   */
  private prefillTogether(jobs: Job[]): void {
    let waiting = jobs.map((job) => ({ job, state: job.state()! })).sort((a, b) => b.state.toFeed - a.state.toFeed);
    while (waiting.length > 1) {
      const [first, ...others] = waiting, longest = first.state.toFeed;
      const group = [first];
      let rows = first.state.seqs.length, filled = rows * longest;
      for (const w of others) {
        const n = w.state.seqs.length, padded = (rows + n) * longest;
        if (rows + n > this.maxRows || padded > this.maxTokens || padded > 1.5 * (filled + n * w.state.toFeed)) continue;
        group.push(w);
        rows += n;
        filled += n * w.state.toFeed;
      }
      waiting = waiting.filter((w) => !group.includes(w));
      if (group.length < 2) continue;
      try {
        this.prefillForward(group.map((w) => w.state));
        this.stats.batchedPrefills++;
        this.stats.prefilledTogether += group.length;
      } catch (e) {
        for (const { job } of group) this.end(job, () => job.reject(e), true);
      }
    }
  }

  /**
   * One forward pass for these states' prompts (the longest first): each prompt's tokens
   * left-padded to the longest, each seeded cache to the longest, all masked, each row's positions
   * its own. Each state then gets its rows of the logits and its own cache (the batch's padding
   * cut out).
   */
  private prefillForward(states: DecodingState[]): void {
    tidy(() => noGrad(() => {
      const device = states[0].device;
      const cached = Math.max(...states.map((s) => s.cachedLength)), fed = states[0].toFeed; // (the longest first)
      const zerosOf = (n: number) => Array<number>(n).fill(0);
      const ids: number[][] = [], mask: number[][] = [], positions: number[][] = [];
      for (const s of states) {
        const c = s.cachedLength, f = s.toFeed;
        s.paddedSeqs().forEach((row, r) => {
          // each row: the batch's padding, its cache's positions, the batch's padding, its tokens (its own left padding masked too)
          const own = row.map((_, i) => (i < s.padding[r] ? 0 : 1));
          ids.push([...Array<number>(fed - f).fill(s.padToken), ...row.slice(c)]);
          mask.push([...zerosOf(cached - c), ...own.slice(0, c), ...zerosOf(fed - f), ...own.slice(c)]);
          positions.push([...Array<number>(fed - f).fill(1), ...row.slice(c).map((_, j) => (c + j < s.padding[r] ? 1 : c + j - s.padding[r]))]); // (HF's: 1 on padding)
        });
      }
      const past = stackCaches(states, cached, this.model.config.n_positions);
      const forward = () => this.model.forward(tensor(ids, { dtype: 'int64', device }), {
        pastKeyValues: past, useCache: true, logitsToKeep: 1,
        attentionMask: tensor(mask, { dtype: 'int64', device }),
        positionIds: tensor(positions, { dtype: 'int64', device }),
      });
      const out = this.options.autocast ? autocast(forward, this.options.autocast) : forward();
      let row = 0;
      for (const s of states) {
        const n = s.seqs.length, c = s.cachedLength, f = s.toFeed;
        const mine = (t: Tensor) => {
          const rows = t.narrow(0, row, n), tokens = rows.narrow(2, cached + fed - f, f);
          return keep(c ? cat([rows.narrow(2, cached - c, c), tokens], 2) : tokens);
        };
        s.prepare({ logits: keep(out.logits.narrow(0, row, n)), pastKeyValues: out.pastKeyValues!.map(([k, v]) => [mine(k), mine(v)] as LayerPast) });
        row += n;
      }
    }));
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
      if (!same) this.stats.restacks++;
      const past = same ? last!.past : stackCaches(states, longest, this.model.config.n_positions)!;
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
