// Files: safetensors, atomic writes.
export * as safetensors from './safetensors';
export { writeFileAtomic, writeDirAtomic, recoverInterruptedWrites } from './atomic';
