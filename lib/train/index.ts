// Training: the Trainer, evaluation, loss plots.
export { Trainer, TRAINING_DEFAULTS, REPORT_TO, decayParameterGroups, listCheckpoints, latestCheckpoint } from './trainer';
export type { TrainingArguments, LogEntry, TrainResult, Strategy, TrainableModel } from './trainer';
export { OPTIMIZERS, createOptimizer, parseOptimArgs, describeOptimizer } from './optimizers';
export type { OptimizerName, OptimArgs, TrainerOptimizer } from './optimizers';
export { DPOTrainer, DPO_LOSS_TYPES, evaluatePreferences } from './dpo';
export type { DPOArguments, DPOLossType } from './dpo';
export { RewardTrainer, evaluateRewards, rewardLoss } from './reward';
export type { RewardArguments } from './reward';
export { evaluate, evaluateClassifier } from './evaluate';
export type { EvalResult, ClassifierEvalResult } from './evaluate';
export { lossCurveSvg } from './plot';
export type { Series } from './plot';
export { Progress } from './progress';
export { EarlyStoppingCallback, TensorBoardCallback } from './callbacks';
export type { TrainerCallback, TrainerControl, TrainerState } from './callbacks';
export { modelCard, writeModelCard } from './modelcard';
export type { ModelCardInfo } from './modelcard';
