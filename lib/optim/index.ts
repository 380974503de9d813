// torch.optim: AdamW and learning-rate schedules.
export { AdamW } from './adamw';
export type { AdamWOptions, ParamGroup, ParamsOrGroups } from './adamw';
export { LRScheduler, lrFactor, linearScheduleWithWarmup, cosineScheduleWithWarmup, SCHEDULE_KINDS } from './schedule';
export type { ScheduleKind } from './schedule';
