import type { OptionSpec } from './args.js';
import { CliError } from './errors.js';

// @cnnviz/datasets is an optional peer (LanceDB's native binary, BullMQ): `npm i @cnnviz/node`
// stays light, and only the dataset commands load it. The CLI sees it through the few calls it
// makes, typed here, so that this package neither builds after it nor depends on it.

interface Progress {
  done: number;
  total: number;
  skipped: number;
  rate: number;
}
type Entries = string | string[];
interface Summary {
  store: string;
  table: string;
  images: number;
  skipped: number;
  added: number;
  rows: number;
  seconds: number;
}
type Model = import('@cnnviz/core').VisionModel;
interface Attribution {
  method: 'gradcam' | 'saliency';
  layer?: string;
}
export interface DatasetsModule {
  extractToStore(
    model: Model,
    images: Entries,
    options: {
      store?: string;
      table: string;
      modelName?: string;
      layer?: string;
      size?: number;
      batchSize?: number;
      attribution?: Attribution;
      signal?: AbortSignal;
      onProgress?: (p: Progress) => void;
    },
  ): Promise<Summary>;
  runQueued(
    images: Entries,
    options: {
      redis: string;
      queue?: string;
      store?: string;
      table: string;
      model: string;
      layer?: string;
      size?: number;
      batchSize?: number;
      attribution?: Attribution;
      signal?: AbortSignal;
      onProgress?: (p: Progress & { jobs: number; jobsDone: number }) => void;
    },
  ): Promise<Summary & { jobs: number; merge: { tables: number; added: number; duplicates: number } }>;
  runWorker(options: {
    redis: string;
    queue?: string;
    loadModel?: (ref: string, size?: number) => Promise<Model>;
    lockDuration?: number;
    stalledInterval?: number;
    signal?: AbortSignal;
    onJob?: (e: { phase: 'start' | 'done'; job: string; images: number; worker: string }) => void;
  }): Promise<{ worker: string; jobs: number; images: number }>;
  storeKnn(
    queries: { paths: string[] } | 'all',
    options: {
      store?: string;
      table: string;
      k: number;
      metric?: 'euclidean' | 'cosine';
      search?: 'auto' | 'exact' | 'index';
      signal?: AbortSignal;
      onProgress?: (p: { done: number; total: number }) => void;
    },
  ): Promise<{ indices: Int32Array[]; distances: Float32Array[]; paths: string[][]; search: string }>;
  serveMap(options: {
    store?: string;
    table: string;
    name: string;
    port?: number;
    host?: string;
    maxPixels?: number;
    signal?: AbortSignal;
  }): Promise<{ url: string; n: number; loadSeconds: number; close(): Promise<void> }>;
  storeMap(options: {
    store?: string;
    table: string;
    method?: 'fitsne' | 'umap';
    name?: string;
    seed?: number;
    perplexity?: number;
    iterations?: number;
    neighbors?: number;
    epochs?: number;
    graph?: 'auto' | 'exact' | 'ivf';
    signal?: AbortSignal;
    onProgress?: (p: { phase: 'read' | 'graph' | 'optimise' | 'write'; done: number; total: number }) => void;
  }): Promise<{
    store: string;
    table: string;
    name: string;
    method: string;
    rows: number;
    dims: number;
    seconds: Record<'read' | 'graph' | 'affinities' | 'optimisation' | 'write' | 'total', number>;
  }>;
  openTable(ref: { store?: string; table: string }): Promise<
    | {
        countRows(filter?: string): Promise<number>;
        query(): {
          select(cols: string[]): { toArray(): Promise<Record<string, unknown>[]> };
        };
      }
    | undefined
  >;
}

/** Loads @cnnviz/datasets, or says how to install it. */
export async function loadDatasets(command: string, specifier = '@cnnviz/datasets'): Promise<DatasetsModule> {
  try {
    return (await import(specifier)) as DatasetsModule;
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new CliError(
        'UNSUPPORTED_OP',
        `\`cnnviz ${command}\` needs the optional package @cnnviz/datasets (LanceDB, BullMQ): npm i @cnnviz/datasets`,
      );
    }
    throw e;
  }
}

// Options the dataset commands share.

export const storeOptions: Record<string, OptionSpec> = {
  store: {
    type: 'string',
    placeholder: '<dir|uri>',
    default: './cnnviz-store',
    description: 'LanceDB database: a folder, or a URI such as s3://bucket/prefix (shared by every machine)',
  },
  table: {
    type: 'string',
    placeholder: '<name>',
    description: 'table of this run (one model and layer); a rerun resumes it',
  },
};

export const redisOptions: Record<string, OptionSpec> = {
  redis: {
    type: 'string',
    placeholder: '<url>',
    description: 'Redis for the job queue, e.g. redis://host:6379 (env CNNVIZ_REDIS)',
  },
  queue: {
    type: 'string',
    placeholder: '<name>',
    default: 'cnnviz',
    description: 'BullMQ queue name (workers serve one queue)',
  },
};

export const extractOptions: Record<string, OptionSpec> = {
  layer: {
    type: 'string',
    short: 'l',
    placeholder: '<name>',
    description: "feature layer (default: the model's logits); spatial layers are average-pooled",
  },
  batch: {
    type: 'integer',
    min: 1,
    max: 4096,
    placeholder: '<n>',
    description: 'images per forward pass and per commit (extract: 32; queue: 64 per job)',
  },
};

/** `--redis` or CNNVIZ_REDIS, else BAD_OPTION. */
export function redisUrl(value: unknown, command: string): string {
  const url = typeof value === 'string' ? value : process.env.CNNVIZ_REDIS;
  if (!url)
    throw new CliError(
      'BAD_OPTION',
      `\`cnnviz ${command}\` needs --redis redis://host:port (or env CNNVIZ_REDIS)`,
    );
  return url;
}

/** `--table`, else BAD_OPTION. */
export function tableName(value: unknown, command: string): string {
  if (typeof value !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(value) || value.includes('--w-'))
    throw new CliError(
      'BAD_OPTION',
      `\`cnnviz ${command}\` needs --table <name> (letters, digits, _ . -), e.g. --table fashion-dense1`,
    );
  return value;
}

/** A progress bar note: rate and images skipped as already stored. */
export const rateNote = (p: { rate: number; skipped: number }) =>
  `${p.rate.toFixed(1)} img/s${p.skipped ? `, ${p.skipped} already stored` : ''}`;
