// torch.amp: mixed precision, autocast (lib/tensor/runtime.ts) and GradScaler (./grad_scaler.ts).
export { autocast, autocastState } from '../tensor/runtime';
export { GradScaler } from './grad_scaler';
export type { GradScalerOptions } from './grad_scaler';
