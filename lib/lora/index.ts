// torch.lora: LoRA for GPT-2's Conv1D layers, PEFT-compatible adapters.
export { LoRALayer, LoRAEmbedding, LoRAConv1D, LoRAFactor, resolveLoRAOptions, matchesTarget, isTargeted, layerOptions, patternKey } from './lora';
export type { LoRAOptions, LoRAMode, BiasMode, ResolvedLoRAOptions, LoraInit } from './lora';
export {
  applyLoRA, loraConfig, loraLayers, loraModules, trainableParametersLine, printTrainableParameters, merge, unmerge, disableAdapter,
  mergeAndUnload, adapterStateDict, adapterConfigJson, saveAdapter, writeAdapter, loadAdapter, readAdapterConfig,
  addAdapter, setAdapter, withAdapter, secondAdapterRefusal, deleteAdapter, activeAdapter, adapterNames, addWeightedAdapter,
} from './inject';
export type { SaveAdapterOptions, WeightedAdapterOptions } from './inject';
export { loraplusParameterGroups, createLoraplusOptimizer } from './loraplus';
export type { LoraplusOptions, LoraplusGroup, LoraplusGroupName, OptimizerClass } from './loraplus';
