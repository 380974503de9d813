// Data: text and CSV loading, the notebook's cleaning, the Brown Corpus, TextDataset and batching,
// and TensorDataset / DataLoader for tensors in memory.
export * from './text';
export * from './brown';
export * from './dataset';
export * from './loader';
export * from './sampler';
export * from './preference';
export * from './classification';
