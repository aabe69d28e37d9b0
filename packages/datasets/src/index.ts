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
export { runWorker, type RunWorkerOptions, type WorkerSummary, type JobEvent } from './worker.js';
export { runQueued, type RunQueuedOptions, type QueuedSummary } from './run-queued.js';
export { mergeWorkerTables, type MergeSummary } from './merge.js';
export { storeMap, type StoreMapOptions, type StoreMapProgress, type StoreMapSummary } from './store-map.js';
export { writeMap, readMap, mapTableName, type MapRef, type MapMeta, type StoredMap } from './map-table.js';
export { jobId, DEFAULT_QUEUE, type QueueRef, type JobData } from './queue-names.js';
export { loadModelRef, type ModelLoader } from './model-ref.js';
export {
  storeKnn,
  buildVectorIndex,
  EXACT_BELOW,
  type StoreKnnOptions,
  type StoreKnnResult,
  type VectorIndexOptions,
} from './store-knn.js';
export type { LoadMapDataOptions } from './map-data.js';
export { serveMap, type ServeMapOptions, type MapServer } from './map-server.js';
