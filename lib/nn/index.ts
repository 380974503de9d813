// torch.nn: functional ops, modules, initialisers and utilities.
import * as functional from './functional';
import * as init from './init';
import * as utils from './utils';
export { functional, init, utils };
export { Module, ModuleList } from './module';
export { Linear, Conv1D, LayerNorm, Embedding, Dropout } from './layers';
export type { FactoryOptions } from './layers';
