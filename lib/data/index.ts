// Data: text, CSV, JSON Lines, Parquet and save_to_disk (Arrow) loading, the notebook's cleaning, the Brown Corpus, TextDataset and batching,
// and TensorDataset / DataLoader for tensors in memory.
export * from './text';
export * from './parquet';
export * from './arrow';
export * from './chat';
export { datasetSplits, parseSplitSpec, splitSliceBounds, sliceSplits } from './splits';
export type { SplitInstruction } from './splits';
export * from './brown';
export { cachedTokenIds, readCachedTokenIds, clearTokenCache, fileStamps, tokenCacheDir, tokenCacheEntries } from './token_cache';
export type { CachedIds, CachedIdsOptions, TokenCacheEntry } from './token_cache';
export * from './dataset';
export * from './loader';
export * from './sampler';
export * from './preference';
export * from './classification';
