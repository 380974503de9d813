// torch.lora: LoRA for GPT-2's Conv1D layers, PEFT-compatible adapters.
export { LoRALayer, LoRAConv1D, LoRAFactor, resolveLoRAOptions, matchesTarget } from './lora';
export type { LoRAOptions, LoRAMode, BiasMode, ResolvedLoRAOptions } from './lora';
export {
  applyLoRA, loraConfig, loraLayers, trainableParametersLine, printTrainableParameters, merge, unmerge, disableAdapter,
  mergeAndUnload, adapterStateDict, adapterConfigJson, saveAdapter, writeAdapter, loadAdapter, readAdapterConfig,
} from './inject';
