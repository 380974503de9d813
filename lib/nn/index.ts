// torch.nn: functional ops, modules, initialisers and utilities.
import * as functional from './functional';
import * as init from './init';
export { functional, init };
export { Module, ModuleList } from './module';
export { Linear, Conv1D, LayerNorm, Embedding, Dropout } from './layers';
export type { FactoryOptions } from './layers';
