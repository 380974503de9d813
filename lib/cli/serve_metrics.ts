// tstorch serve's /metrics: what vLLM's Prometheus endpoint says of a server (requests running,
// tokens in and out, latencies, prefix-cache hits), in Prometheus' text format, under vLLM's
// names with tstorch's prefix (vllm:prompt_tokens_total is tstorch:prompt_tokens_total here).
import type { BatcherStats } from '../models/batching';

/** A Prometheus histogram: counts by upper bound (cumulative when written), their sum and number. */
class Histogram {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = bounds.map(() => 0);
  }

  observe(value: number): void {
    this.bounds.forEach((b, i) => { if (value <= b) this.counts[i]++; });
    this.sum += value;
    this.count++;
  }

  lines(name: string, labels: string): string[] {
    return [
      ...this.bounds.map((b, i) => `${name}_bucket{${labels},le="${b}"} ${this.counts[i]}`),
      `${name}_bucket{${labels},le="+Inf"} ${this.count}`,
      `${name}_sum{${labels}} ${this.sum}`,
      `${name}_count{${labels}} ${this.count}`,
    ];
  }
}

/** One finished request, as the metrics count it. */
export interface RequestRecord {
  promptTokens: number;
  generationTokens: number;
  /** each choice's finish reason */
  finishReasons: string[];
  /** from the request's arrival to its answer, and to its first new token (undefined: none came) */
  seconds: number;
  firstTokenSeconds?: number;
  /** the seconds between each two new tokens (a step of all the request's choices each) */
  tokenGaps: number[];
}

// (vLLM's buckets)
const LATENCY_BOUNDS = [0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680];
const FIRST_TOKEN_BOUNDS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640, 2560];
const INTER_TOKEN_BOUNDS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80];
/** vLLM's build_1_2_5_buckets: 1, 2, 5, 10, 20, 50, ... up to the model's context */
function oneTwoFive(max: number): number[] {
  const out: number[] = [];
  for (let e = 1; ; e *= 10) {
    for (const m of [1, 2, 5]) {
      if (m * e > max) return out;
      out.push(m * e);
    }
  }
}

export class ServeMetrics {
  /** completions being generated now */
  running = 0;
  private promptTokens = 0;
  private generationTokens = 0;
  private readonly finished = new Map<string, number>();
  private cacheQueries = 0;
  private cacheHits = 0;
  private readonly latency = new Histogram(LATENCY_BOUNDS);
  private readonly firstToken = new Histogram(FIRST_TOKEN_BOUNDS);
  private readonly interToken = new Histogram(INTER_TOKEN_BOUNDS);
  private readonly requestPromptTokens: Histogram;
  private readonly requestGenerationTokens: Histogram;

  /** maxModelLen: the model's context, the last bound of the token-count histograms (vLLM's max_model_len) */
  constructor(maxModelLen = 1024) {
    this.requestPromptTokens = new Histogram(oneTwoFive(maxModelLen));
    this.requestGenerationTokens = new Histogram(oneTwoFive(maxModelLen));
  }

  finish(r: RequestRecord): void {
    this.promptTokens += r.promptTokens;
    this.generationTokens += r.generationTokens;
    this.count(r.finishReasons);
    this.latency.observe(r.seconds);
    if (r.firstTokenSeconds !== undefined) this.firstToken.observe(r.firstTokenSeconds);
    for (const gap of r.tokenGaps) this.interToken.observe(gap);
    this.requestPromptTokens.observe(r.promptTokens);
    this.requestGenerationTokens.observe(r.generationTokens);
  }

  /** A request whose client left before its answer: its choices, finished as 'abort' (vLLM's finished_reason). */
  abort(choices: number): void {
    this.count(Array<string>(choices).fill('abort'));
  }

  private count(reasons: string[]): void {
    for (const reason of reasons) this.finished.set(reason, (this.finished.get(reason) ?? 0) + 1);
  }

  /** A prompt looked up in the prefix cache: its tokens, and how many of them the cache held. */
  prefixLookup(tokens: number, hit: number): void {
    this.cacheQueries += tokens;
    this.cacheHits += hit;
  }

  /** The text /metrics answers: each metric's HELP and TYPE, then its samples, labelled with the model's name. */
  text(model: string, batcher: BatcherStats | undefined): string {
    const labels = `model_name=${JSON.stringify(model)}`;
    const out: string[] = [];
    // each metric: its HELP and TYPE, then its samples (one value, or sample lines made from its full name)
    const metric = (name: string, type: string, help: string, samples: number | ((full: string) => string[])) => {
      const full = `tstorch:${name}`;
      out.push(`# HELP ${full} ${help}`, `# TYPE ${full} ${type}`, ...(typeof samples === 'number' ? [`${full}{${labels}} ${samples}`] : samples(full)));
    };
    metric('num_requests_running', 'gauge', 'Completions being generated now.', this.running);
    metric('num_requests_waiting', 'gauge', 'Completions waiting to start: none, every request joins the batch as it comes.', 0);
    metric('prompt_tokens_total', 'counter', 'Prompt tokens of the finished requests.', this.promptTokens);
    metric('generation_tokens_total', 'counter', 'Tokens generated for the finished requests.', this.generationTokens);
    metric('request_success_total', 'counter', 'Choices finished, by finish reason (abort: the client left first).',
      (full) => [...this.finished].sort(([a], [b]) => a.localeCompare(b)).map(([reason, n]) => `${full}{${labels},finished_reason=${JSON.stringify(reason)}} ${n}`));
    metric('e2e_request_latency_seconds', 'histogram', 'From a request\'s arrival to its answer.', (full) => this.latency.lines(full, labels));
    metric('time_to_first_token_seconds', 'histogram', 'From a request\'s arrival to its first new token.', (full) => this.firstToken.lines(full, labels));
    metric('inter_token_latency_seconds', 'histogram', 'Between two new tokens of a request.', (full) => this.interToken.lines(full, labels));
    metric('request_prompt_tokens', 'histogram', 'Prompt tokens of each finished request.', (full) => this.requestPromptTokens.lines(full, labels));
    metric('request_generation_tokens', 'histogram', 'Tokens generated for each finished request.', (full) => this.requestGenerationTokens.lines(full, labels));
    metric('prefix_cache_queries_total', 'counter', 'Prompt tokens looked up in the prefix cache.', this.cacheQueries);
    metric('prefix_cache_hits_total', 'counter', 'Prompt tokens the prefix cache held (not fed through the model again).', this.cacheHits);
    if (batcher) {
      metric('batched_steps_total', 'counter', 'Forward passes that stepped several generations at once.', batcher.batchedPasses);
      metric('batched_prefills_total', 'counter', 'Forward passes that put several prompts through at once.', batcher.batchedPrefills);
    }
    return `${out.join('\n')}\n`;
  }
}
