import { check, checkAborted, checkNumber, CnnvizError } from '@cnnviz/core';
import { knnGraph, tsne, umap, type KnnGraph } from '@cnnviz/embedding';
import { writeMap } from './map-table.js';
import { openTable, type StoreRef } from './store.js';

export interface StoreMapOptions extends StoreRef {
  /** `fitsne` (default: t-SNE with FFT-accelerated repulsion) or `umap`. */
  method?: 'fitsne' | 'umap';
  /** The map's name (default: the method), see `writeMap`. */
  name?: string;
  /** Default 0; the same seed and table give the same map, byte for byte. */
  seed?: number;
  /** FIt-SNE: perplexity (default 30; 3 x perplexity neighbours). */
  perplexity?: number;
  /** FIt-SNE: iterations (default 750, as openTSNE: 250 exaggerated + 500). */
  iterations?: number;
  /** UMAP: neighbours, the point itself counted (default 15). */
  neighbors?: number;
  /** UMAP: epochs (default 500 up to 10,000 rows, else 200). */
  epochs?: number;
  /** UMAP: min_dist (default 0.1). */
  minDist?: number;
  /** The neighbour graph: `exact`, `ivf` or `auto` (exact up to 50,000 rows), see `knnGraph`. */
  graph?: 'auto' | 'exact' | 'ivf';
  signal?: AbortSignal;
  onProgress?: (p: StoreMapProgress) => void;
}

export interface StoreMapProgress {
  phase: 'read' | 'graph' | 'optimise' | 'write';
  done: number;
  total: number;
}

export interface StoreMapSummary {
  store: string;
  table: string;
  name: string;
  method: 'fitsne' | 'umap';
  rows: number;
  dims: number;
  /** Wall seconds per phase. */
  seconds: {
    read: number;
    graph: number;
    affinities: number;
    optimisation: number;
    write: number;
    total: number;
  };
}

/**
 * A 2-D map of a feature table: streams the `vector` column in batches (no other column is
 * read), builds the k-nearest-neighbour graph (an IVF self-join above 50,000 rows), runs
 * FIt-SNE or UMAP on it, and writes the coordinates with `writeMap` to `<table>__map_<name>`.
 */
export async function storeMap(options: StoreMapOptions): Promise<StoreMapSummary> {
  check(typeof options === 'object' && options !== null, 'BAD_OPTION', 'storeMap options must be an object');
  const method = options.method ?? 'fitsne';
  check(
    method === 'fitsne' || method === 'umap',
    'BAD_OPTION',
    `method must be 'fitsne' or 'umap', got ${String(method)}`,
  );
  const name = options.name ?? method;
  const seed = options.seed ?? 0;
  checkNumber(seed, 'seed', { integer: true, min: 0 });
  const perplexity = options.perplexity ?? 30;
  checkNumber(perplexity, 'perplexity', { min: 1 });
  const neighbors = options.neighbors ?? 15;
  checkNumber(neighbors, 'neighbors', { integer: true, min: 2 });
  const { signal, onProgress } = options;
  const t0 = performance.now();
  const lap = (() => {
    let last = t0;
    return () => {
      const now = performance.now();
      const s = (now - last) / 1000;
      last = now;
      return s;
    };
  })();

  const { rows, n, d } = await readVectors(options, signal, onProgress);
  const read = lap();
  const k =
    method === 'fitsne' ? Math.min(n - 1, Math.floor(3 * perplexity)) : Math.min(n - 1, neighbors - 1);
  check(
    n >= 4 && k >= 1 && (method !== 'fitsne' || 3 * perplexity < n - 1),
    'BAD_INPUT',
    `table "${options.table}" has ${n} rows: too few for a map with ${method === 'fitsne' ? `perplexity ${perplexity}` : `${neighbors} neighbours`}`,
  );
  const graph: KnnGraph = await knnGraph(rows, {
    k,
    method: options.graph,
    seed,
    signal,
    onProgress: (p) => onProgress?.({ phase: 'graph', done: p.done, total: p.total }),
  });
  const graphSeconds = lap();
  let coords: Float32Array;
  let timings: { affinities: number; optimisation: number } = { affinities: 0, optimisation: 0 };
  let params: Record<string, number | string>;
  if (method === 'fitsne') {
    const iterations = options.iterations ?? 750;
    const y = await tsne(rows, {
      method: 'fft',
      graph,
      perplexity,
      iterations,
      seed,
      signal,
      // Each report computes KL over P and copies the embedding on the calling thread (~0.5 s at
      // 10^6 points): every 50 iterations keeps that to ~2 % of the optimisation.
      reportEvery: 50,
      onProgress: (s) => {
        onProgress?.({ phase: 'optimise', done: s.iteration, total: s.iterations });
        if (s.timings) timings = s.timings;
      },
    });
    coords = interleave(y);
    params = { perplexity, iterations, neighbours: k };
  } else {
    const y = await umap(rows, {
      graph,
      neighbors,
      seed,
      signal,
      ...(options.epochs !== undefined && { epochs: options.epochs }),
      ...(options.minDist !== undefined && { minDist: options.minDist }),
      onProgress: (s) => {
        onProgress?.({ phase: 'optimise', done: s.epoch, total: s.epochs });
        if (s.timings) timings = s.timings;
      },
    });
    coords = interleave(y);
    params = {
      neighbors,
      minDist: options.minDist ?? 0.1,
      epochs: options.epochs ?? (n <= 10_000 ? 500 : 200),
    };
  }
  const optimiseSeconds = lap();
  checkAborted(signal, 'storeMap');
  onProgress?.({ phase: 'write', done: 0, total: 1 });
  await writeMap({ ...options, name }, coords, {
    method,
    seed,
    params: { ...params, graph: options.graph ?? 'auto' },
  });
  onProgress?.({ phase: 'write', done: 1, total: 1 });
  const write = lap();
  return {
    store: options.store ?? './cnnviz-store',
    table: options.table,
    name,
    method,
    rows: n,
    dims: d,
    seconds: {
      read,
      graph: graphSeconds,
      // The methods' own split of their time (the rest, PCA and copies, counts as optimisation).
      affinities: timings.affinities,
      optimisation: optimiseSeconds - timings.affinities,
      write,
      total: (performance.now() - t0) / 1000,
    },
  };
}

function interleave(y: Float32Array[]): Float32Array {
  const out = new Float32Array(2 * y.length);
  for (let i = 0; i < y.length; i++) {
    out[2 * i] = y[i][0];
    out[2 * i + 1] = y[i][1];
  }
  return out;
}

/** The `vector` column in id order, batch by batch, into one buffer (rows are views of it). */
async function readVectors(
  ref: StoreRef,
  signal: AbortSignal | undefined,
  onProgress: StoreMapOptions['onProgress'],
): Promise<{ rows: Float32Array[]; n: number; d: number }> {
  const table = await openTable(ref);
  if (!table)
    throw new CnnvizError('BAD_INPUT', `no table "${ref.table}" in ${ref.store ?? './cnnviz-store'}`);
  const field = (await table.schema()).fields.find((f) => f.name === 'vector');
  const d = (field?.type as { listSize?: number } | undefined)?.listSize;
  if (!d) throw new CnnvizError('BAD_INPUT', `table "${ref.table}" has no fixed-size "vector" column`);
  const n = await table.countRows();
  const data = new Float32Array(n * d);
  const seen = new Uint8Array(n);
  let done = 0;
  for await (const batch of table.query().select(['id', 'vector'])) {
    checkAborted(signal, 'storeMap');
    const ids = batch.getChild('id')!;
    const vec = batch.getChild('vector')!;
    for (let r = 0; r < batch.numRows; r++) {
      const id = Number(ids.get(r));
      if (!(id >= 0 && id < n) || seen[id])
        throw new CnnvizError(
          'BAD_INPUT',
          `table "${ref.table}": ids must be 0..${n - 1}, each once (found ${id})`,
        );
      seen[id] = 1;
      data.set((vec.get(r) as { toArray(): Float32Array }).toArray(), id * d);
    }
    done += batch.numRows;
    onProgress?.({ phase: 'read', done, total: n });
  }
  if (done !== n) throw new CnnvizError('BAD_INPUT', `table "${ref.table}": read ${done} rows of ${n}`);
  const rows = Array.from({ length: n }, (_, i) => data.subarray(i * d, (i + 1) * d));
  return { rows, n, d };
}
