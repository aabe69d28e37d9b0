import * as tf from '@tensorflow/tfjs-core';
import { checkAborted, checkNumber, type VisionModel } from '@cnnviz/core';
import { checkRowSpec, computeRows, loadBatch, type RowSpec } from './rows.js';
import { listImages, type ImageEntry } from './sources.js';
import {
  appendRows,
  checkTableFor,
  DEFAULT_STORE,
  openOrCreate,
  openTable,
  storedPaths,
  type FeatureRow,
  type StoreRef,
  type TableMeta,
} from './store.js';

/** Progress of a run: images stored by this run of those it had to do, and the rate. */
export interface RunProgress {
  /** Images computed by this run (stored once their commit lands: see `stored`). */
  done: number;
  total: number;
  /** Images of this run committed to the table. */
  stored: number;
  /** Images found already stored and skipped. */
  skipped: number;
  /** Images per second so far. */
  rate: number;
}

export interface ExtractToStoreOptions extends StoreRef, Omit<RowSpec, 'model' | 'modelName'> {
  /** Recorded with every row; default 'model'. */
  modelName?: string;
  /** Images per forward pass. Default 32. */
  batchSize?: number;
  /**
   * Rows per LanceDB commit (whole batches; default 4096), or fewer once `commitSeconds` (default
   * 30) have passed since the last one. Each commit writes a fragment, so small ones cost time
   * (measured: 1024-row commits 20 % slower than 4096 on 10k small images) and make the table slow
   * to read; a kill loses at most the uncommitted work, which the rerun recomputes.
   */
  commitRows?: number;
  /** Seconds after which a commit is made even with fewer than `commitRows` rows (default 30). */
  commitSeconds?: number;
  signal?: AbortSignal;
  onProgress?: (p: RunProgress) => void;
}

export interface RunSummary {
  store: string;
  table: string;
  /** Images in the data set. */
  images: number;
  /** Already in the table before this run (resumed). */
  skipped: number;
  /** Stored by this run. */
  added: number;
  /** Rows in the table afterwards. */
  rows: number;
  seconds: number;
}

/**
 * Streams a data set (folder, glob, manifest or entries; see `listImages`) through `model` into a
 * LanceDB table: per image its features, prediction and metadata (path, label, model, layer,
 * time), and optionally an attribution map. The pipeline is bounded (one batch decoding ahead,
 * one batch computing, at most `commitRows` rows waiting and one commit in flight), so memory
 * does not grow with the data set.
 *
 * Resumable and crash-safe: each commit is one LanceDB transaction (all of its rows or none), and a run
 * first skips every path already in the table, so a rerun after a crash or SIGKILL stores each
 * image exactly once. One writer per table: for many processes use the queue (`runQueued`).
 */
export async function extractToStore(
  model: VisionModel,
  images: string | string[] | ImageEntry[],
  options: ExtractToStoreOptions,
): Promise<RunSummary> {
  const { batchSize = 32, commitRows = 4096, commitSeconds = 30, signal, onProgress } = options;
  checkNumber(batchSize, 'batchSize', { integer: true, min: 1 });
  checkNumber(commitRows, 'commitRows', { integer: true, min: 1 });
  const spec: RowSpec = { ...options, model, modelName: options.modelName ?? 'model' };
  checkRowSpec(spec);
  const start = performance.now();
  const all = await listImages(images);
  let table = await openTable(options);
  if (table) await checkTableFor(table, options, spec);
  const stored = await storedPaths(table);
  const todo = all.filter((e) => !stored.has(e.path));
  const skipped = all.length - todo.length;
  let rows = table ? await table.countRows() : 0;
  stored.clear();

  let added = 0;
  let done = 0;
  let pendingWrite: Promise<void> = Promise.resolve();
  let buffer: FeatureRow[] = [];
  let meta: TableMeta | undefined;
  const progress = () =>
    onProgress?.({
      done,
      total: todo.length,
      stored: added,
      skipped,
      rate: done / ((performance.now() - start) / 1000),
    });
  // One commit in flight at a time, overlapping the next batches' decoding and forward passes.
  let lastCommit = performance.now();
  const commit = async () => {
    await pendingWrite;
    lastCommit = performance.now();
    if (buffer.length === 0) return;
    const t = table!;
    const rows = buffer;
    buffer = [];
    pendingWrite = appendRows(t, rows, meta!).then(() => {
      added += rows.length;
    });
    pendingWrite.catch(() => {});
  };
  const decode = (from: number) => {
    const p = loadBatch(spec, todo.slice(from, from + batchSize));
    p.catch(() => {}); // awaited below; a prefetch must not be an unhandled rejection meanwhile
    return p;
  };
  let next: Promise<tf.Tensor4D> | undefined = todo.length ? decode(0) : undefined;
  try {
    for (let from = 0; from < todo.length; from += batchSize) {
      checkAborted(signal, 'extractToStore');
      const images = await next!;
      next = undefined;
      let computed;
      try {
        // Decode the next batch while this one runs through the model.
        if (from + batchSize < todo.length) next = decode(from + batchSize);
        computed = await computeRows(spec, todo.slice(from, from + batchSize), images);
      } finally {
        images.dispose();
      }
      // The first batch knows the feature width: create the table, or check it holds this kind of row.
      if (from === 0) {
        meta = computed.meta;
        table = await openOrCreate(options, meta);
      }
      for (const r of computed.rows) buffer.push({ ...r, id: rows++ });
      done += computed.rows.length;
      if (buffer.length >= commitRows || performance.now() - lastCommit >= commitSeconds * 1000)
        await commit();
      progress();
    }
    await commit();
    await pendingWrite;
    progress();
  } finally {
    // On an error or abort: let the commit in flight finish (it is whole either way) and free the prefetch.
    await pendingWrite.catch(() => {});
    if (next) await next.then((t) => t.dispose()).catch(() => {});
  }
  if (table === undefined && todo.length === 0 && all.length > 0) table = await openTable(options);
  return {
    store: options.store ?? DEFAULT_STORE,
    table: options.table,
    images: all.length,
    skipped,
    added,
    rows: table ? await table.countRows() : 0,
    seconds: (performance.now() - start) / 1000,
  };
}
