// Files: safetensors, PyTorch checkpoints (read only), a folder's weight files, atomic writes.
export * as safetensors from './safetensors';
export { loadTorchFile } from './torchfile';
export { loadWeights } from './weights';
export { writeFileAtomic, writeDirAtomic, recoverInterruptedWrites } from './atomic';
