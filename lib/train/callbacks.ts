// Trainer callbacks, as Hugging Face's TrainerCallback: hooks into the training loop that can
// read its state and ask it to stop or to save (the control object), without subclassing.
import type { LogEntry } from './trainer';
import { SummaryWriter, defaultLogDir } from '../io/tensorboard';

/** What the loop has done so far (HF's TrainerState, the parts callbacks use). */
export interface TrainerState {
  globalStep: number;
  /** the steps this run will take at most */
  maxSteps: number;
  /** fractional epochs done */
  epoch: number;
  logHistory: LogEntry[];
  /** this process's data-parallel rank: callbacks run on every rank, logs are written by rank 0 */
  rank: number;
  /** HF's metric_for_best_model, as the eval log names it (eval_loss, eval_perplexity, eval_accuracy; eval_f1, eval_precision, eval_recall for a tagger with entity tags) */
  metricForBestModel: EvalMetric;
  /** HF's greater_is_better for that metric */
  greaterIsBetter: boolean;
}

export type EvalMetric = 'eval_loss' | 'eval_perplexity' | 'eval_accuracy' | 'eval_precision' | 'eval_recall' | 'eval_f1';
/** What an evaluation returns: the loss always, the other metrics where the model has them (no perplexity for a classifier, entity scores only for a tagger with entity tags). */
export type EvalMetrics = { eval_loss: number } & { [K in Exclude<EvalMetric, 'eval_loss'>]?: number };
/** the metrics metricForBestModel can name (the entity scores only for a token classifier with entity tags) */
export const EVAL_METRICS: EvalMetric[] = ['eval_loss', 'eval_perplexity', 'eval_accuracy', 'eval_precision', 'eval_recall', 'eval_f1'];

/** Set a flag to ask the loop for it: it is acted on after the current step, then reset. */
export interface TrainerControl {
  /** stop after this step (the final log line, plot and result as for a normal end) */
  shouldTrainingStop: boolean;
  /** write a checkpoint after this step */
  shouldSave: boolean;
}

export interface TrainerCallback {
  onTrainBegin?(state: TrainerState, control: TrainerControl): void;
  /** after each optimizer step (before its logging, evaluation and saving) */
  onStepEnd?(state: TrainerState, control: TrainerControl): void;
  /** each log line (training or evaluation), on every rank */
  onLog?(state: TrainerState, control: TrainerControl, logs: LogEntry): void;
  onEvaluate?(state: TrainerState, control: TrainerControl, metrics: EvalMetrics): void;
  /** after a checkpoint folder was written */
  onSave?(state: TrainerState, control: TrainerControl, checkpointDir: string): void;
  onTrainEnd?(state: TrainerState, control: TrainerControl): void;
  /**
   * HF's ExportableState: what a checkpoint keeps of this callback, in trainer_state.json's
   * stateful_callbacks (the arguments that built it, the attributes it has changed since), and
   * loadState gives the attributes back when a run resumes, so that it goes on where it was.
   */
  exportState?(): CallbackState;
  loadState?(attributes: Record<string, unknown>): void;
}

/** A callback's entry in trainer_state.json's stateful_callbacks (HF's layout). */
export interface CallbackState {
  args: Record<string, unknown>;
  attributes: Record<string, unknown>;
}

/**
 * HF's EarlyStoppingCallback: stops training once `patience` evaluations in a row failed to
 * better the best value of the metric for the best model (metricForBestModel, default the eval
 * loss; greaterIsBetter says which way) by more than `threshold`. Needs an eval dataset.
 */
export class EarlyStoppingCallback implements TrainerCallback {
  private best: number | null = null;
  /** evaluations in a row without improvement */
  patienceCounter = 0;

  constructor(readonly patience = 1, readonly threshold = 0) {
    if (!(Number.isInteger(patience) && patience >= 1)) throw new Error(`EarlyStoppingCallback: patience must be an integer >= 1, got ${patience}`);
    if (!(threshold >= 0)) throw new Error(`EarlyStoppingCallback: threshold must be >= 0, got ${threshold}`);
  }

  onEvaluate(state: TrainerState, control: TrainerControl, metrics: EvalMetrics): void {
    const key = state.metricForBestModel ?? 'eval_loss', v = metrics[key];
    if (v === undefined) throw new Error(`EarlyStoppingCallback: the evaluation has no ${key} (it has ${Object.keys(metrics).join(', ')}); set metricForBestModel to one of those`);
    const better = this.best === null || ((state.greaterIsBetter ? v > this.best : v < this.best) && Math.abs(v - this.best) > this.threshold);
    if (better) {
      this.best = v;
      this.patienceCounter = 0;
    } else {
      this.patienceCounter++;
    }
    if (this.patienceCounter >= this.patience) control.shouldTrainingStop = true;
  }

  /** HF's names (early_stopping_patience_counter...); the best value so far too, which HF reads from its state's best_metric instead */
  exportState(): CallbackState {
    return {
      args: { early_stopping_patience: this.patience, early_stopping_threshold: this.threshold },
      attributes: { early_stopping_patience_counter: this.patienceCounter, best_metric: this.best },
    };
  }
  loadState(attributes: Record<string, unknown>): void {
    const counter = attributes.early_stopping_patience_counter ?? 0, best = attributes.best_metric ?? null;
    if (!Number.isInteger(counter) || (counter as number) < 0) throw new Error(`EarlyStoppingCallback.loadState: early_stopping_patience_counter must be a count, got ${JSON.stringify(counter)}`);
    if (best !== null && typeof best !== 'number') throw new Error(`EarlyStoppingCallback.loadState: best_metric must be a number or null, got ${JSON.stringify(best)}`);
    this.patienceCounter = counter as number;
    this.best = best;
  }
}

/**
 * HF's TensorBoardCallback: the log lines as TensorBoard scalars (HF's names: train/loss,
 * train/learning_rate, train/grad_norm, eval/loss, ... at the global step), and the training
 * arguments and model config as text when training begins. Rank 0 alone writes. The Trainer adds
 * one for reportTo 'tensorboard' (in loggingDir); give a folder or a SummaryWriter to add your own.
 */
export class TensorBoardCallback implements TrainerCallback {
  /** where the event files go */
  readonly logDir: string;
  private writer: SummaryWriter | null;
  private readonly ownWriter: boolean;

  constructor(writerOrLogDir?: SummaryWriter | string, private readonly texts: { args?: object; modelConfig?: object } = {}) {
    this.writer = writerOrLogDir instanceof SummaryWriter ? writerOrLogDir : null;
    this.ownWriter = !this.writer;
    this.logDir = typeof writerOrLogDir === 'string' ? writerOrLogDir : this.writer?.logDir ?? defaultLogDir('');
  }

  onTrainBegin(state: TrainerState): void {
    if (state.rank !== 0) return;
    if (!this.writer) this.writer = new SummaryWriter(this.logDir);
    if (this.texts.args) this.writer.addText('args', JSON.stringify(this.texts.args, null, 2));
    if (this.texts.modelConfig) this.writer.addText('model_config', JSON.stringify(this.texts.modelConfig, null, 2));
  }

  onLog(state: TrainerState, _control: TrainerControl, logs: LogEntry): void {
    if (state.rank !== 0 || !this.writer) return;
    for (const [k, v] of Object.entries(logs)) {
      if (k === 'step' || typeof v !== 'number') continue;
      // HF's rewrite_logs: eval_x -> eval/x, everything else train/x
      this.writer.addScalar(k.startsWith('eval_') ? `eval/${k.slice(5)}` : `train/${k}`, v, logs.step);
    }
    this.writer.flush();
  }

  onTrainEnd(state: TrainerState): void {
    if (state.rank !== 0 || !this.writer) return;
    if (this.ownWriter) {
      this.writer.close();
      this.writer = null;
    } else this.writer.flush();
  }
}
