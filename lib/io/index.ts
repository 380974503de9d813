// Files: safetensors, PyTorch checkpoints (torch.save's format, read and written), a folder's
// weight files, atomic writes.
export * as safetensors from './safetensors';
export { loadTorchFile, loadTorchObject } from './torchfile';
export type { Unpickled } from './torchfile';
export { saveTorchFile, PyTuple } from './torchsave';
export type { Picklable } from './torchsave';
export { save, load } from './saveload';
export { loadWeights, saveWeights, shardWeights, parseFileSize } from './weights';
export type { SaveWeightsOptions } from './weights';
export { writeFileAtomic, writeDirAtomic, recoverInterruptedWrites } from './atomic';
export * as tensorboard from './tensorboard';
export { hubCacheDir, cachedSnapshot, isRepoId, resolvePretrained, repoIdOf, adapterBaseModel } from './hub';
