import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { CnnvizError } from '@cnnviz/core';
import type { AttributionSpec } from './rows.js';
import type { ImageEntry } from './sources.js';

/** Where the jobs live: a Redis URL (`redis://host:6379/0`) and a BullMQ queue name. */
export interface QueueRef {
  redis: string;
  /** Default `cnnviz`. Workers serve one queue; runs on one queue share its workers. */
  queue?: string;
}

export const DEFAULT_QUEUE = 'cnnviz';

/** What a job carries: everything a worker on another machine needs, nothing held in memory. */
export interface JobData {
  store?: string;
  storageOptions?: Record<string, string>;
  table: string;
  model: string;
  layer?: string;
  pooling?: 'avg' | 'max';
  size?: number;
  attribution?: AttributionSpec;
  entries: ImageEntry[];
}

/** A job id that depends only on the batch: re-queueing the same data set adds no job twice. */
export function jobId(data: JobData): string {
  const { entries, storageOptions: _credentials, ...run } = data;
  const h = createHash('sha256')
    .update(JSON.stringify([run, entries]))
    .digest('hex');
  return `b-${h.slice(0, 40)}`;
}

/** Worker tables are `<table>--w-<worker>`: one writer each, merged into `<table>` by the coordinator. */
export const workerTable = (table: string, worker: string) => `${table}--w-${worker}`;
export const isWorkerTableOf = (name: string, table: string) => name.startsWith(`${table}--w-`);

/** An ioredis connection as BullMQ wants it (blocking commands never time out). */
export function redisConnection(url: string): Redis {
  if (!/^rediss?:\/\//.test(url))
    throw new CnnvizError('BAD_OPTION', `--redis must be a redis:// or rediss:// URL, got "${url}"`);
  return new Redis(url, { maxRetriesPerRequest: null, lazyConnect: false });
}
