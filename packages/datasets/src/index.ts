export { listImages, type ImageEntry, type ListImagesOptions } from './sources.js';
export {
  connect,
  openTable,
  storedPaths,
  DEFAULT_STORE,
  type StoreRef,
  type FeatureRow,
  type TableMeta,
} from './store.js';
export type { AttributionSpec, RowSpec } from './rows.js';
export {
  extractToStore,
  type ExtractToStoreOptions,
  type RunProgress,
  type RunSummary,
} from './extract-to-store.js';
