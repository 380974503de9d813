// Ctrl-C and SIGTERM during training: the step in progress finishes, a checkpoint is written,
// and train() throws TrainingInterrupted, so that the run can go on later from where it stopped
// (a preempted machine's SIGTERM, a user's Ctrl-C). The loop is synchronous, so Node's own
// signal events cannot reach it; native/interrupts.cc notes the signal and the loop asks.
import { constants } from 'os';
import { native } from '../tensor/native';

/** Thrown by Trainer.train() (with saveOnInterrupt) when a SIGINT or SIGTERM stopped the run after a step. */
export class TrainingInterrupted extends Error {
  /** what a process killed by the signal would exit with: 130 for SIGINT, 143 for SIGTERM */
  readonly exitCode: number;

  constructor(
    readonly signal: NodeJS.Signals,
    /** the last step trained */
    readonly step: number,
    /** the checkpoint written for that step (on every rank; rank 0 wrote it) */
    readonly checkpoint: string,
    /** whether the checkpoint can resume the run (not with saveOnlyModel: the weights alone) */
    readonly resumable: boolean,
  ) {
    super(`training interrupted by ${signal} after step ${step}: ${resumable
      ? `checkpoint in ${checkpoint}; resume from it (resumeFromCheckpoint, or the CLI's --resume-from-checkpoint latest)`
      : `its weights in ${checkpoint} (saved with saveOnlyModel: they cannot resume the run)`}`);
    this.name = 'TrainingInterrupted';
    this.exitCode = 128 + constants.signals[signal];
  }
}

/**
 * Runs fn with SIGINT and SIGTERM noted instead of ending the process (pendingInterrupt() says
 * which came); a second one more than a second after the first ends it as usual.
 */
export function noteInterrupts<T>(fn: () => T): T {
  native.watchInterrupts(true);
  try {
    return fn();
  } finally {
    native.watchInterrupts(false);
  }
}

/** The signal noted inside noteInterrupts, by number (2 SIGINT, 15 SIGTERM; 0: none), as a collective takes it. */
export function pendingInterrupt(): number {
  return native.pendingInterrupt() as number;
}

/** A noted signal's name (pendingInterrupt's number). */
export function signalName(signal: number): NodeJS.Signals {
  return signal === constants.signals.SIGINT ? 'SIGINT' : 'SIGTERM';
}
