import { Queue } from 'bullmq';
import { CnnvizError, checkAborted, checkNumber } from '@cnnviz/core';
import { mergeWorkerTables, type MergeSummary } from './merge.js';
import { DEFAULT_QUEUE, jobId, redisConnection, type JobData, type QueueRef } from './queue-names.js';
import type { AttributionSpec } from './rows.js';
import type { RunProgress, RunSummary } from './extract-to-store.js';
import { listImages, type ImageEntry } from './sources.js';
import { checkTableFor, DEFAULT_STORE, openTable, storedPaths, type StoreRef } from './store.js';

export interface RunQueuedOptions extends StoreRef, QueueRef {
  /** A zoo name or a model.json path that every worker can load (a shared path for a file). */
  model: string;
  layer?: string;
  pooling?: 'avg' | 'max';
  size?: number;
  attribution?: AttributionSpec;
  /** Images per job (and per commit of a worker). Default 64. */
  batchSize?: number;
  /** Attempts per job before it fails (a worker's crash or error counts one). Default 5. */
  attempts?: number;
  /** Milliseconds between polls of the queue. Default 500. */
  pollInterval?: number;
  signal?: AbortSignal;
  onProgress?: (p: RunProgress & { jobs: number; jobsDone: number }) => void;
}

export interface QueuedSummary extends RunSummary {
  jobs: number;
  merge: MergeSummary;
}

/**
 * The coordinator of a run on many machines: splits the data set (sorted, so batches are the same
 * every time) into jobs whose ids hash their contents, adds those not already done to the BullMQ
 * queue, waits for the workers (`runWorker`, any number, anywhere) to finish them, then merges the
 * workers' tables into `table` (`mergeWorkerTables`). Killed and rerun at any point it adds no job
 * twice and stores every image once: a job done before is not queued again, and the merge keeps
 * one row per image.
 */
export async function runQueued(
  images: string | string[] | ImageEntry[],
  options: RunQueuedOptions,
): Promise<QueuedSummary> {
  const { batchSize = 64, attempts = 5, pollInterval = 500, signal } = options;
  checkNumber(batchSize, 'batchSize', { integer: true, min: 1 });
  checkNumber(attempts, 'attempts', { integer: true, min: 1 });
  const start = performance.now();
  const all = await listImages(images);
  const ref: StoreRef = options;
  const table = await openTable(ref);
  if (table) await checkTableFor(table, ref, { ...options, modelName: options.model });
  const stored = await storedPaths(table);
  const skipped = all.filter((e) => stored.has(e.path)).length;

  const jobs: { name: string; data: JobData; opts: { jobId: string } & Record<string, unknown> }[] = [];
  for (let i = 0; i < all.length; i += batchSize) {
    const entries = all.slice(i, i + batchSize);
    if (entries.every((e) => stored.has(e.path))) continue;
    const data: JobData = {
      ...(options.store !== undefined ? { store: options.store } : {}),
      ...(options.storageOptions ? { storageOptions: options.storageOptions } : {}),
      table: options.table,
      model: options.model,
      ...(options.layer !== undefined ? { layer: options.layer } : {}),
      ...(options.pooling ? { pooling: options.pooling } : {}),
      ...(options.size !== undefined ? { size: options.size } : {}),
      ...(options.attribution ? { attribution: options.attribution } : {}),
      entries,
    };
    jobs.push({
      name: 'extract',
      data,
      opts: {
        jobId: jobId(data),
        attempts,
        backoff: { type: 'fixed', delay: 1000 },
        // Kept a week: a rerun within that time sees them done and does not queue them again.
        removeOnComplete: { age: 7 * 24 * 3600 },
        removeOnFail: false,
      },
    });
  }
  stored.clear();

  const connection = redisConnection(options.redis);
  const queue = new Queue<JobData>(options.queue ?? DEFAULT_QUEUE, { connection });
  queue.on('error', () => {});
  const total = all.length - skipped;
  try {
    for (let i = 0; i < jobs.length; i += 500) await queue.addBulk(jobs.slice(i, i + 500));
    // Jobs that failed in an earlier run keep their id (so addBulk skipped them): retry them now.
    const before = await Promise.all(jobs.map((j) => queue.getJobState(j.opts.jobId)));
    for (let i = 0; i < jobs.length; i++)
      if (before[i] === 'failed') await (await queue.getJob(jobs[i].opts.jobId))?.retry('failed');
    const pending = new Map(jobs.map((j) => [j.opts.jobId, j.data.entries.length]));
    let done = 0;
    while (pending.size > 0) {
      checkAborted(signal, 'runQueued');
      const ids = [...pending.keys()];
      const states = await Promise.all(ids.map((id) => queue.getJobState(id)));
      for (let i = 0; i < ids.length; i++) {
        const state = states[i];
        if (state === 'completed') {
          done += pending.get(ids[i])!;
          pending.delete(ids[i]);
        } else if (state === 'failed') {
          // Final: attempts used up, or its workers died too often (BullMQ's maxStalledCount).
          const job = await queue.getJob(ids[i]);
          throw new CnnvizError(
            'IO',
            `job ${ids[i]} (${job?.data.entries[0]?.path} ...) failed after ${job?.attemptsMade ?? '?'} attempts: ${job?.failedReason ?? 'unknown reason'}; fix it and rerun (failed jobs are retried)`,
          );
        } else if (state === 'unknown') {
          // Removed (completed long ago, or by hand): queue it again; the merge keeps one row per image.
          const j = jobs.find((x) => x.opts.jobId === ids[i])!;
          await queue.add(j.name, j.data, j.opts);
        }
      }
      const seconds = (performance.now() - start) / 1000;
      options.onProgress?.({
        done,
        stored: done,
        total,
        skipped,
        rate: done / seconds,
        jobs: jobs.length,
        jobsDone: jobs.length - pending.size,
      });
      if (pending.size > 0) await new Promise((r) => setTimeout(r, pollInterval));
    }
  } finally {
    await queue.close();
    connection.disconnect();
  }
  const merge = await mergeWorkerTables(ref, { signal });
  const after = await openTable(ref);
  return {
    store: options.store ?? DEFAULT_STORE,
    table: options.table,
    images: all.length,
    skipped,
    added: merge.added,
    rows: after ? await after.countRows() : 0,
    seconds: (performance.now() - start) / 1000,
    jobs: jobs.length,
    merge,
  };
}
