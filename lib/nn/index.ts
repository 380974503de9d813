// torch.nn: functional ops, modules, initialisers and utilities.
import * as functional from './functional';
import * as init from './init';
import * as utils from './utils';
export { functional, init, utils };
export { Module, ModuleList } from './module';
export { Linear, Conv1D, LayerNorm, Embedding, Dropout } from './layers';
export { Sequential, Identity, Flatten } from './containers';
export type { TensorModule } from './containers';
export { ReLU, GELU, SiLU, Mish, Tanh, Sigmoid, LeakyReLU, ELU, Softplus, Softmax, LogSoftmax } from './activation';
export { Conv1d, Conv2d, MaxPool1d, MaxPool2d, AvgPool1d, AvgPool2d, AdaptiveAvgPool1d, AdaptiveAvgPool2d } from './conv';
export type { ConvLayerOptions } from './conv';
export { BatchNorm1d, BatchNorm2d, GroupNorm } from './norm';
export type { BatchNormOptions } from './norm';
export { MultiheadAttention, TransformerEncoderLayer, TransformerEncoder } from './transformer';
export type { MultiheadAttentionOptions, TransformerEncoderLayerOptions, AttentionMasks } from './transformer';
export { CrossEntropyLoss, NLLLoss, MSELoss, L1Loss, SmoothL1Loss, HuberLoss, BCELoss, BCEWithLogitsLoss, KLDivLoss } from './loss';
export type { FactoryOptions } from './layers';
