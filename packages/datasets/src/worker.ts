import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { Worker, type Job } from 'bullmq';
import type { VisionModel } from '@cnnviz/core';
import { loadModelRef, type ModelLoader } from './model-ref.js';
import { DEFAULT_QUEUE, redisConnection, workerTable, type JobData, type QueueRef } from './queue-names.js';
import { computeRows, loadBatch, type RowSpec } from './rows.js';
import { appendRows, openOrCreate } from './store.js';

/** One job's life, for logs (and for tests that time a kill). */
export interface JobEvent {
  phase: 'start' | 'done';
  job: string;
  images: number;
  worker: string;
}

export interface RunWorkerOptions extends QueueRef {
  /** Names this worker's table in the store; default `<host>-<pid>-<random>`. */
  worker?: string;
  /** How a job's `model` is loaded; default zoo names and model.json paths (`loadModelRef`). */
  loadModel?: ModelLoader;
  /**
   * Milliseconds a job stays locked without a heartbeat; a worker killed mid-job loses its lock
   * after this long and another worker takes the job. Default 30 000 (BullMQ's).
   */
  lockDuration?: number;
  /** How often this worker looks for jobs whose worker died. Default 30 000 (BullMQ's). */
  stalledInterval?: number;
  /** Called when a job starts and ends; awaited. */
  onJob?: (e: JobEvent) => void | Promise<void>;
  /** Aborting finishes the current job, then closes the worker. */
  signal?: AbortSignal;
}

export interface WorkerSummary {
  worker: string;
  jobs: number;
  images: number;
}

/**
 * Serves a queue's extraction jobs until `signal` aborts: each job is a batch of images, computed
 * as `extractToStore` would and appended in one commit to this worker's own table in the store
 * (`<table>--w-<worker>`), which only this worker writes. Retries, stalled-job recovery and
 * progress are BullMQ's. Start the TF.js backend first (`initBackend` from @cnnviz/node).
 */
export async function runWorker(options: RunWorkerOptions): Promise<WorkerSummary> {
  const id =
    options.worker ??
    `${hostname().replace(/[^A-Za-z0-9_.-]/g, '_')}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const load = options.loadModel ?? loadModelRef;
  const models = new Map<string, Promise<VisionModel>>();
  const summary: WorkerSummary = { worker: id, jobs: 0, images: 0 };

  const handle = async (job: Job<JobData>) => {
    const d = job.data;
    await options.onJob?.({ phase: 'start', job: job.id!, images: d.entries.length, worker: id });
    const key = `${d.model}@${d.size ?? ''}`;
    let model = models.get(key);
    if (!model) {
      model = load(d.model, d.size);
      models.set(key, model);
      model.catch(() => models.delete(key));
    }
    const spec: RowSpec = {
      model: await model,
      modelName: d.model,
      layer: d.layer,
      pooling: d.pooling,
      size: d.size,
      attribution: d.attribution,
    };
    const images = await loadBatch(spec, d.entries);
    let computed;
    try {
      computed = await computeRows(spec, d.entries, images);
    } finally {
      images.dispose();
    }
    const ref = { store: d.store, storageOptions: d.storageOptions, table: workerTable(d.table, id) };
    const table = await openOrCreate(ref, computed.meta);
    // Ids are numbered by the coordinator when it merges; here they only keep the column whole.
    await appendRows(
      table,
      computed.rows.map((r) => ({ ...r, id: -1 })),
      computed.meta,
    );
    summary.jobs++;
    summary.images += d.entries.length;
    await options.onJob?.({ phase: 'done', job: job.id!, images: d.entries.length, worker: id });
    return { worker: id, images: d.entries.length };
  };

  const connection = redisConnection(options.redis);
  const worker = new Worker<JobData>(options.queue ?? DEFAULT_QUEUE, handle, {
    connection,
    concurrency: 1,
    lockDuration: options.lockDuration ?? 30_000,
    stalledInterval: options.stalledInterval ?? 30_000,
    // A job whose worker died more than this often is failed rather than retried forever.
    maxStalledCount: 3,
  });
  worker.on('error', () => {}); // connection blips: BullMQ reconnects by itself
  await new Promise<void>((done) => {
    if (options.signal?.aborted) done();
    options.signal?.addEventListener('abort', () => done(), { once: true });
  });
  await worker.close();
  connection.disconnect();
  return summary;
}
