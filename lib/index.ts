// tstorch: libtorch tensors and autograd for TypeScript, and GPT-2 / LoRA / AdamW on top.
//   import * as torch from 'tstorch'
export * from './tensor';
import * as nn from './nn';
import * as io from './io';
import * as lora from './lora';
import * as data from './data';
import * as optim from './optim';
import * as train from './train';
import * as distributions from './distributions';
export { nn, io, lora, data, optim, train, distributions };
/** torch.conv2d, torch.layer_norm, torch.dropout, torch.embedding, ...: the torch namespace's forms of F's functions (lib/nn/functional_torch.ts). */
export * from './nn/functional_torch';
/** torch.amp: autocast and GradScaler (loss scaling for float16 training). */
export * as amp from './optim/amp';
/** torch.save / torch.load: tensors by name, in PyTorch's format or safetensors (lib/io/saveload.ts). */
export { save, load, loadObject } from './io/saveload';
/** torch.jit.load: TorchScript modules from Python, run as they are (lib/nn/jit.ts). */
export { jit } from './nn';
export { Trainer, DPOTrainer, ORPOTrainer, CPOTrainer, KTOTrainer, RewardTrainer, EarlyStoppingCallback, TensorBoardCallback } from './train';
import { functionalCall } from './nn/stateless';
import { grad, gradAndValue, vjp, jvp, jacrev, jacfwd, hessian } from './tensor/func';
import { vmap } from './tensor/vmap';
/**
 * torch.func: functionalCall (a module run with other parameters and buffers), vmap, and the
 * derivatives as functions: grad, gradAndValue, vjp, jvp, jacrev, jacfwd, hessian.
 */
export const func = { functionalCall, vmap, grad, gradAndValue, vjp, jvp, jacrev, jacfwd, hessian };
import * as tensorUtils from './tensor/utils';
import * as tensorboard from './io/tensorboard';
/** torch.utils: checkpoint, tensorboard (SummaryWriter, lib/io/tensorboard.ts), and data (torch.utils.data: DataLoader, TensorDataset, ...; also torch.data). */
export const utils = { ...tensorUtils, tensorboard, data };
export type { TrainingArguments, DPOArguments, ORPOArguments, CPOArguments, KTOArguments, RewardArguments, TrainResult, ModelCardOptions, LogEntry, TrainerCallback, TrainerControl, TrainerState, EvalMetric, EvalMetrics, CallbackState } from './train';
export * from './models';

export const float32 = 'float32', float64 = 'float64', float16 = 'float16', bfloat16 = 'bfloat16';
export const int64 = 'int64', int32 = 'int32', uint8 = 'uint8', bool = 'bool';
export const complex64 = 'complex64', complex128 = 'complex128';
export const contiguousFormat = 'contiguousFormat', channelsLast = 'channelsLast', channelsLast3d = 'channelsLast3d', preserveFormat = 'preserveFormat';
