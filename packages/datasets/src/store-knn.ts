import * as lancedb from '@lancedb/lancedb';
import { check, checkAborted, checkNumber, CnnvizError } from '@cnnviz/core';
import { knn, type KnnMetric, type KnnResult, type Matrix } from '@cnnviz/embedding';
import { openTable, type StoreRef } from './store.js';

/** Default size from which `storeKnn` uses the vector index (see README: measured crossover). */
export const EXACT_BELOW = 50_000;

export interface StoreKnnOptions extends StoreRef {
  /** Neighbours per query. */
  k: number;
  /** `euclidean` (default; |q - f|, not squared) or `cosine` (1 - cos), as `knn`. */
  metric?: KnnMetric;
  /**
   * `exact`: every vector is read and searched by @cnnviz/embedding's exact `knn`; `index`: LanceDB's
   * vector index (built on first use); `auto` (default): exact below `exactBelow` rows.
   */
  search?: 'auto' | 'exact' | 'index';
  exactBelow?: number;
  /**
   * Index search: IVF partitions probed (default 32) and the refine factor (default 50: k x 50 PQ
   * candidates re-ranked with exact distances). Measured: recall@10 0.996 at 14 ms p50 on 1M x 128.
   */
  nprobes?: number;
  refineFactor?: number;
  signal?: AbortSignal;
  onProgress?: (p: { done: number; total: number }) => void;
}

/** `knn`'s result (indices are the rows' `id`s, 0..N-1) and the neighbours' image paths. */
export interface StoreKnnResult extends KnnResult {
  paths: string[][];
  /** Which search answered. */
  search: 'exact' | 'index';
}

export interface VectorIndexOptions extends StoreRef {
  metric?: KnnMetric;
  /** `ivf-pq` (default: IVF partitions, product-quantised codes, exact re-ranking) or `hnsw-sq`. */
  type?: 'ivf-pq' | 'hnsw-sq';
  /** IVF partitions; default about sqrt(N). */
  partitions?: number;
  /**
   * PQ sub-vectors; default 4 dimensions per code up to d = 256, 8 above (when d divides; measured:
   * 8 dimensions per code on 128-D clusters left recall@10 at 0.65, 4 gave 1.0).
   */
  subVectors?: number;
}

const distanceType = (m: KnnMetric) => (m === 'cosine' ? 'cosine' : 'l2');

function defaultSubVectors(d: number): number {
  for (const per of d > 256 ? [8, 4, 2] : [4, 2]) if (d % per === 0) return d / per;
  return 1;
}

async function mustOpen(ref: StoreRef): Promise<lancedb.Table> {
  const t = await openTable(ref);
  if (!t) throw new CnnvizError('BAD_INPUT', `no table "${ref.table}" in ${ref.store ?? './cnnviz-store'}`);
  return t;
}

export async function hasVectorIndex(table: lancedb.Table): Promise<boolean> {
  return (await table.listIndices()).some((i) => i.columns.includes('vector'));
}

/**
 * Builds (or rebuilds) the table's vector index once it is large: IVF-PQ by default. Returns the
 * build time in seconds. `storeKnn` builds one with the defaults when it needs one.
 */
export async function buildVectorIndex(options: VectorIndexOptions): Promise<number> {
  const table = await mustOpen(options);
  const n = await table.countRows();
  check(
    n >= 256,
    'BAD_INPUT',
    `a vector index needs at least 256 rows, the table has ${n}; search it exactly`,
  );
  const d = (await table.schema()).fields.find((f) => f.name === 'vector')?.type?.listSize as number;
  const metric = options.metric ?? 'euclidean';
  const partitions = options.partitions ?? Math.max(1, Math.round(Math.sqrt(n)));
  const start = performance.now();
  const config =
    options.type === 'hnsw-sq'
      ? lancedb.Index.hnswSq({
          distanceType: distanceType(metric),
          numPartitions: Math.max(1, Math.round(n / 1e6)),
        })
      : lancedb.Index.ivfPq({
          distanceType: distanceType(metric),
          numPartitions: partitions,
          numSubVectors: options.subVectors ?? defaultSubVectors(d),
        });
  await table.createIndex('vector', { config, replace: true });
  return (performance.now() - start) / 1000;
}

/** Every row's vector in id order (ids are dense 0..N-1) and its path. */
async function readAll(table: lancedb.Table, signal?: AbortSignal) {
  const n = await table.countRows();
  let d = 0;
  let data = new Float32Array(0);
  const paths: string[] = new Array(n);
  for await (const batch of table.query().select(['id', 'path', 'vector'])) {
    checkAborted(signal, 'storeKnn');
    const ids = batch.getChild('id')!;
    const vec = batch.getChild('vector')!;
    const path = batch.getChild('path')!;
    for (let i = 0; i < batch.numRows; i++) {
      const v = (vec.get(i) as { toArray(): Float32Array }).toArray();
      if (d === 0) {
        d = v.length;
        data = new Float32Array(n * d);
      }
      const id = Number(ids.get(i));
      check(
        id >= 0 && id < n,
        'BAD_INPUT',
        `row ids of ${table.name} are not 0..${n - 1}; was it written by cnnviz?`,
      );
      data.set(v, id * d);
      paths[id] = path.get(i) as string;
    }
  }
  return { n, d, data, paths };
}

/**
 * The k nearest stored images of each query, `knn`'s result shape: `queries` are vectors, or
 * `{ paths }` of stored images, or `'all'` (every stored image; each query's own row is left out
 * for those two). Below `exactBelow` rows the search is exact (@cnnviz/embedding's `knn`);
 * above it, LanceDB's vector index answers (built on first use; recall@10 measured in README).
 */
export async function storeKnn(
  queries: Matrix | { paths: string[] } | 'all',
  options: StoreKnnOptions,
): Promise<StoreKnnResult> {
  const { k, metric = 'euclidean', signal, onProgress } = options;
  checkNumber(k, 'k', { integer: true, min: 1 });
  check(
    metric === 'euclidean' || metric === 'cosine',
    'BAD_OPTION',
    `metric must be 'euclidean' or 'cosine', got ${String(metric)}`,
  );
  const table = await mustOpen(options);
  const n = options.search === 'index' ? -1 : await table.countRows();
  const search =
    options.search === 'exact' || options.search === 'index'
      ? options.search
      : n < (options.exactBelow ?? EXACT_BELOW)
        ? 'exact'
        : 'index';
  const own =
    queries === 'all' || (typeof queries === 'object' && !Array.isArray(queries) && 'paths' in queries);

  if (search === 'exact') {
    const all = await readAll(table, signal);
    const rows = Array.from({ length: n }, (_, i) => all.data.subarray(i * all.d, (i + 1) * all.d));
    let q: Matrix = rows;
    let selfRows: number[] | undefined;
    if (queries === 'all') selfRows = [...rows.keys()];
    else if (own) {
      const at = new Map(all.paths.map((p, i) => [p, i]));
      selfRows = (queries as { paths: string[] }).paths.map((p) => {
        const i = at.get(p);
        if (i === undefined) throw new CnnvizError('BAD_INPUT', `"${p}" is not stored in ${options.table}`);
        return i;
      });
      q = selfRows.map((i) => rows[i]);
    } else q = queries as Matrix;
    const kk = Math.min(k + (selfRows ? 1 : 0), n);
    const r =
      queries === 'all'
        ? await knn(rows, rows, { k: Math.min(k, n - 1), metric, excludeSelf: true, signal, onProgress })
        : await knn(rows, q, { k: kk, metric, signal, onProgress });
    if (selfRows && queries !== 'all') dropSelf(r, selfRows, k);
    return { ...r, paths: r.indices.map((ix) => Array.from(ix, (i) => all.paths[i])), search };
  }

  if (!(await hasVectorIndex(table))) await buildVectorIndex({ ...options, metric });
  let vectors: ArrayLike<number>[];
  let selfIds: number[] | undefined;
  if (own) {
    const where =
      queries === 'all'
        ? undefined
        : `path IN (${(queries as { paths: string[] }).paths.map((p) => `'${p.replace(/'/g, "''")}'`).join(', ')})`;
    const q = table.query().select(['id', 'path', 'vector']);
    const got = (await (where ? q.where(where) : q).toArray()) as {
      id: bigint | number;
      path: string;
      vector: { toArray(): Float32Array };
    }[];
    const byPath = new Map(got.map((g) => [g.path, g]));
    const order =
      queries === 'all'
        ? got.sort((a, b) => Number(a.id) - Number(b.id))
        : (queries as { paths: string[] }).paths.map((p) => {
            const g = byPath.get(p);
            if (!g) throw new CnnvizError('BAD_INPUT', `"${p}" is not stored in ${options.table}`);
            return g;
          });
    vectors = order.map((g) => g.vector.toArray());
    selfIds = order.map((g) => Number(g.id));
  } else if (Array.isArray(queries)) vectors = queries;
  else {
    const t = queries as import('@tensorflow/tfjs-core').Tensor2D;
    const flat = (await t.data()) as Float32Array;
    const d = t.shape[1];
    vectors = Array.from({ length: t.shape[0] }, (_, i) => flat.subarray(i * d, (i + 1) * d));
  }
  const indices: Int32Array[] = [];
  const distances: Float32Array[] = [];
  const paths: string[][] = [];
  for (let qi = 0; qi < vectors.length; qi++) {
    checkAborted(signal, 'storeKnn');
    const hits = (await table
      .vectorSearch(Array.from(vectors[qi]))
      .distanceType(distanceType(metric))
      .nprobes(options.nprobes ?? 32)
      .refineFactor(options.refineFactor ?? 50)
      .limit(k + (selfIds ? 1 : 0))
      .select(['id', 'path', '_distance'])
      .toArray()) as { id: bigint | number; path: string; _distance: number }[];
    const keep = hits.filter((h) => !selfIds || Number(h.id) !== selfIds[qi]).slice(0, k);
    indices.push(Int32Array.from(keep, (h) => Number(h.id)));
    // LanceDB's l2 is squared; knn's euclidean is not.
    distances.push(
      Float32Array.from(keep, (h) =>
        metric === 'euclidean' ? Math.sqrt(Math.max(0, h._distance)) : h._distance,
      ),
    );
    paths.push(keep.map((h) => h.path));
    onProgress?.({ done: qi + 1, total: vectors.length });
  }
  return { indices, distances, paths, search };
}

/** Removes each query's own row from a k+1 result, leaving k. */
function dropSelf(r: KnnResult, self: number[], k: number): void {
  for (let q = 0; q < self.length; q++) {
    const keep: number[] = [];
    for (let j = 0; j < r.indices[q].length && keep.length < k; j++)
      if (r.indices[q][j] !== self[q]) keep.push(j);
    r.distances[q] = Float32Array.from(keep, (j) => r.distances[q][j]);
    r.indices[q] = Int32Array.from(keep, (j) => r.indices[q][j]);
  }
}
