// torch.optim: AdamW (the Trainer's), SGD, Adam, RMSprop, Adagrad, Adamax, NAdam, RAdam and learning-rate schedules.
export { AdamW } from './adamw';
export { SGD } from './sgd';
export { Adam } from './adam';
export { RMSprop, Adagrad, Adamax, NAdam, RAdam } from './adaptive';
export type { RMSpropOptions, AdagradOptions, AdamaxOptions, NAdamOptions, RAdamOptions } from './adaptive';
export { Optimizer } from './optimizer';
export { GradScaler } from './grad_scaler';
export { LBFGS } from './lbfgs';
export type { LBFGSOptions } from './lbfgs';
export type { GradScalerOptions } from './grad_scaler';
export type { ParamState, OptimizerStateDict } from './optimizer';
export type { SGDOptions } from './sgd';
export type { AdamOptions } from './adam';
export type { AdamWOptions, ParamGroup, ParamsOrGroups } from './adamw';
export { LRScheduler, lrFactor, linearScheduleWithWarmup, cosineScheduleWithWarmup, SCHEDULE_KINDS } from './schedule';
export type { ScheduleKind } from './schedule';
export * as lrScheduler from './lr_scheduler';
export * as swaUtils from './swa_utils';
