// Data: text and CSV loading, the notebook's cleaning, the Brown Corpus, TextDataset and batching.
export * from './text';
export * from './brown';
export * from './dataset';
