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
import { addRows, cacheWithRoom, reorderCache, rowRoom, withCacheRows } from './kv_cache';

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
  /** shared passes whose caches had to be stacked anew (a generation joined, or one stepped alone) */
  restacks: number;
  /** shared passes that went on in the last one's cache with the rows of generations that ended cut out in place */
  compactions: number;
  /** shared passes that went on in the last one's cache with generations that joined in its spare rows */
  joins: number;
  /** forward passes that put two prompts or more through together (not counted in batchedPasses) */
  batchedPrefills: number;
  /** the prompts (generations) those passes took, together */
  prefilledTogether: number;
}

/**
 * A pass of the last turn (a shared step, or prompts' pass together): its generations in row order,
 * the whole cache it made (kept), and the views of it each got. The next shared step of the same
 * generations goes on in it, no copy.
 */
interface Stack {
  states: DecodingState[];
  past: LayerPast[];
  views: LayerPast[][];
}

/** The rows (sequences) of these generations together. */
const rowsOf = (states: DecodingState[]): number => states.reduce((n, s) => n + s.seqs.length, 0);

/**
 * The states' caches stacked by rows, each left-padded with zeros to `length` positions (a state
 * without one: all zeros); undefined when none has a cache. Written once into a buffer with room
 * (cacheWithRoom) for the positions to come and `spareRows` rows more, so the pass they go to
 * appends its positions in place and generations can join in place (addRows).
 */
function stackCaches(states: DecodingState[], length: number, maxPositions: number, spareRows = 0): LayerPast[] | undefined {
  const like = states.find((s) => s.cache)?.cache;
  const rows = rowsOf(states);
  return like?.map((layer, l) => layer.map((t0, kv) => {
    const stacked = cacheWithRoom([rows, t0.shape[1], length, t0.shape[3]], t0.dtype, t0.device, maxPositions, rows + spareRows);
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

/**
 * Where the rows of the generations going on go when those of the others are cut out of a stack:
 * those already within the rows that remain stay, and those beyond fill the holes the others
 * leave (the fewest rows moved); where a generation's rows find no hole of their size, all close
 * up in order. Returns the generations going on in their new row order, each with its first row
 * in the stack.
 */
function fillHoles(stacked: DecodingState[], going: Set<DecodingState>): [DecodingState, number][] {
  const firstRow = new Map<DecodingState, number>();
  stacked.reduce((row, s) => (firstRow.set(s, row), row + s.seqs.length), 0);
  const kept = stacked.filter((s) => going.has(s)), total = rowsOf(kept);
  const withFirstRow = (list: DecodingState[]): [DecodingState, number][] => list.map((s) => [s, firstRow.get(s)!]);
  const at = new Map<DecodingState, number>(); // (each generation's first row after)
  for (const s of kept) if (firstRow.get(s)! + s.seqs.length <= total) at.set(s, firstRow.get(s)!);
  const holes: [number, number][] = []; // ([start, end) of the rows no one stays in, below total)
  let row = 0;
  for (const s of stacked) {
    const start = firstRow.get(s)!;
    if (at.has(s)) {
      if (start > row) holes.push([row, start]);
      row = start + s.seqs.length;
    }
  }
  if (row < total) holes.push([row, total]);
  for (const s of kept) {
    if (at.has(s)) continue;
    const hole = holes.find(([a, b]) => b - a >= s.seqs.length);
    if (!hole) return withFirstRow(kept);
    at.set(s, hole[0]);
    hole[0] += s.seqs.length;
  }
  return withFirstRow([...kept].sort((a, b) => at.get(a)! - at.get(b)!));
}

export class GenerationBatcher {
  private readonly jobs: Job[] = [];
  private running = false;
  readonly stats: BatcherStats = { turns: 0, batchedPasses: 0, batchedRows: 0, widestBatch: 0, restacks: 0, compactions: 0, joins: 0, batchedPrefills: 0, prefilledTogether: 0 };
  /** the last turn's passes (their caches, for this turn's shared step to go on in), and this turn's */
  private lastStacks: Stack[] = [];
  private stacks: Stack[] = [];
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
        try {
          this.turn();
        } catch (e) {
          // (a fault of the batcher's own, not of one generation's: every generation in flight gets
          // the error, none waits for ever, and the process goes on; the batcher takes new ones)
          for (const job of [...this.jobs]) {
            try {
              this.end(job, () => job.reject(e), true);
            } catch {
              // (its clean-up failed too: it is rejected all the same)
            }
          }
        }
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } finally {
      this.running = false;
      this.dropStacks(this.lastStacks);
      this.dropStacks(this.stacks);
      this.lastStacks = this.stacks = [];
    }
  }

  private dropStacks(stacks: Stack[]): void {
    for (const stack of stacks) for (const [k, v] of stack.past) { k.dispose(); v.dispose(); }
  }

  /**
   * One step of every generation: first the prompts waiting together go through in one pass, and
   * those ready for a plain step share another.
   */
  private turn(): void {
    this.stats.turns++;
    this.lastStacks = this.stacks;
    this.stacks = [];
    const ready: Job[] = [], prompts: Job[] = [], live = new Set<DecodingState>();
    let rows = 0;
    for (const job of this.jobs) {
      const state = job.state(); // (undefined until its first step has set it up: a plain one then waits for its prompt's pass)
      if (state) live.add(state);
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
        this.shareForward(ready.map((j) => j.state()!), live);
        this.stats.batchedPasses++;
        this.stats.batchedRows += rows;
        this.stats.widestBatch = Math.max(this.stats.widestBatch, ready.length);
      } catch (e) {
        for (const job of ready) this.end(job, () => job.reject(e), true);
      }
    }
    for (const job of [...this.jobs]) this.advance(job);
    this.dropStacks(this.lastStacks); // (the generations have taken this turn's caches: none views the last turn's now)
    this.lastStacks = [];
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
    try {
      if (cleanUp) noGrad(() => job.steps.return(undefined as unknown as BeamSearchOutput));
    } finally {
      settle();
    }
  }

  /**
   * The prompts waiting for their first pass (each what its cache, if seeded, does not cover), in
   * groups that each go through in one forward pass: the longest first, then as many of the others
   * as fit without padding the pass beyond half as many positions again as they fill, or beyond
   * maxBatchRows and maxBatchTokens. A prompt with no other to go with makes its own pass.
   */
  private prefillTogether(jobs: Job[]): void {
    let waiting = jobs.map((job) => ({ job, state: job.state()! })).sort((a, b) => b.state.toFeed - a.state.toFeed);
    const context = this.model.config.n_positions;
    while (waiting.length > 1) {
      const [first, ...others] = waiting, longest = first.state.toFeed;
      const group = [first];
      let rows = first.state.seqs.length, filled = rows * longest, cached = first.state.cachedLength;
      for (const w of others) {
        const n = w.state.seqs.length, padded = (rows + n) * longest;
        // (the pass is the longest cache seeded, then the longest prompt: within the context too)
        const longestCache = Math.max(cached, w.state.cachedLength);
        if (rows + n > this.maxRows || padded > this.maxTokens || padded > 1.5 * (filled + n * w.state.toFeed) || longestCache + longest > context) continue;
        group.push(w);
        rows += n;
        filled += n * w.state.toFeed;
        cached = longestCache;
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
      // (without seeded caches the pass's cache is the stack of their first shared step: rows spare in it for others to join)
      const out = withCacheRows(cached === 0 ? this.rowsWithSpare(rowsOf(states)) : 0, () => (this.options.autocast ? autocast(forward, this.options.autocast) : forward()));
      let row = 0;
      const views = states.map((s) => {
        const n = s.seqs.length, c = s.cachedLength, f = s.toFeed;
        const mine = (t: Tensor) => {
          const rows = t.narrow(0, row, n), tokens = rows.narrow(2, cached + fed - f, f);
          return keep(c ? cat([rows.narrow(2, cached - c, c), tokens], 2) : tokens);
        };
        const cache = out.pastKeyValues!.map(([k, v]) => [mine(k), mine(v)] as LayerPast);
        s.prepare({ logits: keep(out.logits.narrow(0, row, n)), pastKeyValues: cache });
        row += n;
        return cache;
      });
      // (without seeded caches each generation's cache is a view of the pass's: their first shared step goes on in it)
      if (cached === 0) this.stacks.push({ states, past: out.pastKeyValues!.map(([k, v]) => [keep(k), keep(v)] as LayerPast), views });
    }));
  }

  /**
   * The cache a shared step of these states goes on in, where it can be the last turn's: a pass
   * (a shared step or prompts' pass together) whose views the caches of those of them it took all
   * still are. The same generations: that cache as it is, no copy. Some ended since: their rows
   * cut out within its buffer (reorderCache, fillHoles). Some joined: their caches written into
   * its spare rows (addRows). Null (stack anew) where one joining has more positions than it, it
   * has no rows spare for them, a generation still going views the rows to cut out, or the
   * longest left has more than a quarter of the positions padding (a restack trims it).
   * Returns the states in the cache's row order, the cache (new tensors where rows were cut or
   * added), and which of those it did.
   */
  private goOnFrom(states: DecodingState[], live: Set<DecodingState>): { states: DecodingState[]; past: LayerPast[]; cut: boolean; joined: boolean } | null {
    const viewsOf = (stack: Stack, s: DecodingState) => {
      const j = stack.states.indexOf(s);
      return s.cache!.every(([k, v], l) => k === stack.views[j][l][0] && v === stack.views[j][l][1]);
    };
    const rowsIn = (st: Stack) => rowsOf(states.filter((s) => st.states.includes(s)));
    const stack = this.lastStacks.reduce<Stack | null>((best, st) => (rowsIn(st) > (best ? rowsIn(best) : 0) ? st : best), null); // (the one that has most of their rows)
    if (!stack) return null;
    const going = new Set(states.filter((s) => stack.states.includes(s))), joining = states.filter((s) => !going.has(s));
    if (![...going].every((s) => viewsOf(stack, s))) return null;
    // (the step adds a position to every row: a stack at the context, its longest generation gone, is trimmed by a restack)
    const positions = stack.past[0][0].shape[2];
    if (positions >= this.model.config.n_positions) return null;
    const ended = stack.states.filter((s) => !going.has(s));
    const cut = ended.length > 0, joined = joining.length > 0;
    if (!cut && !joined) return { states: stack.states, past: stack.past, cut, joined };
    const longest = Math.max(...states.map((s) => s.cachedLength));
    if (longest > positions || 4 * (positions - longest) > positions || ended.some((s) => live.has(s))) return null;
    // (checked before any row moves: the going generations' caches are views of these rows until the pass)
    const rows = rowsOf(states);
    if (joined && stack.past.some((layer) => layer.some((t) => rowRoom(t) < rows))) return null;
    let order = stack.states, past = stack.past;
    if (cut) {
      const moved = fillHoles(stack.states, going);
      order = moved.map(([s]) => s);
      past = reorderCache(stack.past, moved.flatMap(([s, from]) => s.seqs.map((_, r) => from + r)));
    }
    if (joined) {
      const before = past;
      past = past.map((layer, l) => layer.map((t, kv) => addRows(t, joining.map((s) => s.cache![l][kv]))) as LayerPast);
      if (cut) for (const [k, v] of before) { k.dispose(); v.dispose(); } // (reorderCache's)
      order = [...order, ...joining];
    }
    return { states: order, past, cut, joined };
  }

  /** The states' caches stacked anew, with rows spare for others to join (rowsWithSpare). */
  private newStack(states: DecodingState[]): LayerPast[] {
    const rows = rowsOf(states);
    return stackCaches(states, Math.max(...states.map((s) => s.cachedLength)), this.model.config.n_positions, this.rowsWithSpare(rows) - rows)!;
  }

  /** The rows a stack of `rows` rows is made with: half as many again and 2, up to maxBatchRows. */
  private rowsWithSpare(rows: number): number {
    return Math.max(rows, Math.min(this.maxRows, Math.ceil(1.5 * rows) + 2));
  }

  /**
   * One forward pass for these states' next tokens: their caches left-padded (zeros, masked out)
   * to the longest and stacked, each row's position its own; each state then gets its rows of the
   * logits and of the new cache (its padding cut off again). Where the caches of most are still
   * views of one pass of the last turn, that is the stack (goOnFrom), no copy of theirs.
   */
  private shareForward(given: DecodingState[], live: Set<DecodingState>): void {
    const goOn = this.goOnFrom(given, live);
    const states = goOn?.states ?? given;
    tidy(() => noGrad(() => {
      const device = states[0].device;
      if (!goOn) this.stats.restacks++;
      if (goOn?.cut) this.stats.compactions++;
      if (goOn?.joined) this.stats.joins++;
      const made = goOn !== null && (goOn.cut || goOn.joined);
      const past = goOn?.past ?? this.newStack(states);
      const longest = past[0][0].shape[2]; // (a compacted cache may keep padding of a generation gone)
      // each row: the batch's padding and its own (HF's left padding of its prompt) masked, then its tokens
      const mask = states.flatMap((s) => s.seqs.map((q, r) => [...Array<number>(longest - s.cachedLength + s.padding[r]).fill(0), ...Array<number>(q.length).fill(1)]));
      const forward = () => this.model.forward(tensor(states.flatMap((s) => s.seqs.map((q) => [q[q.length - 1]])), { dtype: 'int64', device }), {
        pastKeyValues: past, useCache: true, logitsToKeep: 1,
        attentionMask: tensor(mask, { dtype: 'int64', device }),
        positionIds: tensor(states.flatMap((s) => s.seqs.map((q) => [q.length - 1])), { dtype: 'int64', device }), // (the tokens before it)
      });
      let out;
      try {
        out = this.options.autocast ? autocast(forward, this.options.autocast) : forward();
      } finally {
        if (made) for (const [k, v] of past) { k.dispose(); v.dispose(); } // (goOnFrom's, kept)
      }
      let row = 0;
      const views = states.map((s) => {
        const n = s.seqs.length, extra = longest - s.cachedLength, length = s.cachedLength + 1;
        const mine = out.pastKeyValues!.map(([k, v]) => [keep(k.narrow(0, row, n).narrow(2, extra, length)), keep(v.narrow(0, row, n).narrow(2, extra, length))] as LayerPast);
        s.prepare({ logits: keep(out.logits.narrow(0, row, n)), pastKeyValues: mine });
        row += n;
        return mine;
      });
      this.stacks.push({ states, past: out.pastKeyValues!.map(([k, v]) => [keep(k), keep(v)] as LayerPast), views });
    }));
  }
}
