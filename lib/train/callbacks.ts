// Trainer callbacks, as Hugging Face's TrainerCallback: hooks into the training loop that can
// read its state and ask it to stop or to save (the control object), without subclassing.
import type { LogEntry } from './trainer';

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
}

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
  onEvaluate?(state: TrainerState, control: TrainerControl, metrics: { eval_loss: number; eval_perplexity: number }): void;
  /** after a checkpoint folder was written */
  onSave?(state: TrainerState, control: TrainerControl, checkpointDir: string): void;
  onTrainEnd?(state: TrainerState, control: TrainerControl): void;
}

/**
 * HF's EarlyStoppingCallback on the eval loss: stops training once `patience` evaluations in a
 * row failed to lower the best eval loss by more than `threshold`. Needs an eval dataset.
 */
export class EarlyStoppingCallback implements TrainerCallback {
  private best = Infinity;
  /** evaluations in a row without improvement */
  patienceCounter = 0;

  constructor(readonly patience = 1, readonly threshold = 0) {
    if (!(Number.isInteger(patience) && patience >= 1)) throw new Error(`EarlyStoppingCallback: patience must be an integer >= 1, got ${patience}`);
    if (!(threshold >= 0)) throw new Error(`EarlyStoppingCallback: threshold must be >= 0, got ${threshold}`);
  }

  onEvaluate(_state: TrainerState, control: TrainerControl, metrics: { eval_loss: number }): void {
    if (metrics.eval_loss < this.best && this.best - metrics.eval_loss > this.threshold) {
      this.best = metrics.eval_loss;
      this.patienceCounter = 0;
    } else {
      this.patienceCounter++;
    }
    if (this.patienceCounter >= this.patience) control.shouldTrainingStop = true;
  }
}
