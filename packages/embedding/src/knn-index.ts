import { check, checkNumber, CnnvizError } from '@cnnviz/core';
import {
  checkKnnOptions,
  knnFlat,
  unflatten,
  type KnnMetric,
  type KnnOptions,
  type KnnResult,
} from './knn.js';
import { chooseEngine, flattenRows, readMatrix, type Matrix } from './matrix.js';

const MAGIC = 'CNNVKNN1';

/**
 * An exact k-NN index over a set of vectors: the vectors themselves, searched by the blocked
 * product of `knn`. Good to a few million vectors on one machine; beyond that hand the vectors
 * to a vector store through a `VectorStoreAdapter` (see README).
 */
export class KnnIndex {
  readonly metric: KnnMetric;
  readonly dims: number;
  private data: Float32Array;
  private rows: number;

  private constructor(metric: KnnMetric, dims: number, data: Float32Array, rows: number) {
    this.metric = metric;
    this.dims = dims;
    this.data = data;
    this.rows = rows;
  }

  /** Builds an index from rows (copied). */
  static async build(features: Matrix, options: { metric?: KnnMetric } = {}): Promise<KnnIndex> {
    const metric = options.metric ?? 'euclidean';
    checkMetric(metric);
    const m = await readMatrix(features, 'features');
    return new KnnIndex(metric, m.d, m.data, m.n);
  }

  /** An empty index of `dims`-dimensional vectors (fill it with `add`). */
  static empty(dims: number, options: { metric?: KnnMetric } = {}): KnnIndex {
    checkNumber(dims, 'dims', { integer: true, min: 1 });
    const metric = options.metric ?? 'euclidean';
    checkMetric(metric);
    return new KnnIndex(metric, dims, new Float32Array(0), 0);
  }

  /** Number of vectors. */
  get size(): number {
    return this.rows;
  }

  /** Appends vectors; returns their row indices. */
  add(vectors: ArrayLike<number>[]): number[] {
    const m = flattenRows(vectors, 'vectors');
    check(
      m.d === this.dims,
      'BAD_INPUT',
      `vectors have ${m.d} values but the index holds ${this.dims}-dimensional vectors`,
    );
    const need = (this.rows + m.n) * this.dims;
    if (need > this.data.length) {
      const grown = new Float32Array(Math.max(need, this.data.length * 2));
      grown.set(this.data.subarray(0, this.rows * this.dims));
      this.data = grown;
    }
    this.data.set(m.data, this.rows * this.dims);
    const ids = Array.from({ length: m.n }, (_, i) => this.rows + i);
    this.rows += m.n;
    return ids;
  }

  /** Replaces the vector at `index`. */
  set(index: number, vector: ArrayLike<number>): void {
    checkNumber(index, 'index', { integer: true, min: 0, max: this.rows - 1 });
    const m = flattenRows([vector], 'vector');
    check(
      m.d === this.dims,
      'BAD_INPUT',
      `vector has ${m.d} values but the index holds ${this.dims}-dimensional vectors`,
    );
    this.data.set(m.data, index * this.dims);
  }

  /** A copy of the vector at `index`. */
  vector(index: number): Float32Array {
    checkNumber(index, 'index', { integer: true, min: 0, max: this.rows - 1 });
    return this.data.slice(index * this.dims, (index + 1) * this.dims);
  }

  /** The k nearest indexed vectors of each query (same semantics as `knn`). */
  async query(queries: Matrix, options: Omit<KnnOptions, 'metric' | 'excludeSelf'>): Promise<KnnResult> {
    const opts: KnnOptions = { ...options, metric: this.metric };
    checkKnnOptions(opts);
    check(this.rows > 0, 'BAD_INPUT', 'the index is empty; add vectors before querying');
    const Q = await readMatrix(queries, 'queries');
    const F = { data: this.data.subarray(0, this.rows * this.dims), n: this.rows, d: this.dims };
    // One query against a small index is cheaper in plain loops than a round trip to the backend.
    const engine = chooseEngine();
    const out = await knnFlat(F, Q, opts, engine === 'tf' && Q.n * F.n * F.d <= 1e7 ? 'js' : engine);
    return unflatten(out, this.metric);
  }

  /** Serialises the index: an 8-byte magic, a JSON header, then the float32 vectors (little-endian). */
  save(): Uint8Array {
    const header = new TextEncoder().encode(
      JSON.stringify({ metric: this.metric, dims: this.dims, size: this.rows }),
    );
    const headerLen = Math.ceil((header.length + 12) / 4) * 4 - 12;
    const out = new Uint8Array(12 + headerLen + this.rows * this.dims * 4);
    out.set(new TextEncoder().encode(MAGIC), 0);
    const view = new DataView(out.buffer);
    view.setUint32(8, headerLen, true);
    out.fill(0x20, 12, 12 + headerLen);
    out.set(header, 12);
    const body = 12 + headerLen;
    for (let i = 0; i < this.rows * this.dims; i++) view.setFloat32(body + 4 * i, this.data[i], true);
    return out;
  }

  /** Reads an index written by `save`. */
  static load(bytes: Uint8Array): KnnIndex {
    const bad = (why: string): never => {
      throw new CnnvizError('BAD_INPUT', `not a saved KnnIndex: ${why}`);
    };
    if (!(bytes instanceof Uint8Array) || bytes.length < 12)
      bad('expected the Uint8Array written by KnnIndex.save()');
    if (new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) bad(`missing the "${MAGIC}" header`);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const headerLen = view.getUint32(8, true);
    if (12 + headerLen > bytes.length) bad('truncated header');
    let header: { metric?: unknown; dims?: unknown; size?: unknown };
    try {
      header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + headerLen)));
    } catch {
      return bad('unreadable header');
    }
    const { metric, dims, size } = header;
    if (metric !== 'euclidean' && metric !== 'cosine') bad(`unknown metric ${String(metric)}`);
    if (!Number.isInteger(dims) || (dims as number) < 1) bad(`bad dims ${String(dims)}`);
    if (!Number.isInteger(size) || (size as number) < 0) bad(`bad size ${String(size)}`);
    const count = (size as number) * (dims as number);
    const body = 12 + headerLen;
    if (bytes.length !== body + 4 * count) bad(`expected ${body + 4 * count} bytes, got ${bytes.length}`);
    const data = new Float32Array(count);
    for (let i = 0; i < count; i++) data[i] = view.getFloat32(body + 4 * i, true);
    return new KnnIndex(metric as KnnMetric, dims as number, data, size as number);
  }
}

/**
 * Where vectors go when one machine's memory or an exact scan is not enough (> ~1M vectors):
 * an existing vector store (LanceDB, pgvector, Qdrant, ...) behind two calls. cnnviz ships only
 * the in-memory implementation below; the README shows how a store maps onto this.
 */
export interface VectorStoreAdapter {
  /** Inserts or replaces vectors by id. */
  upsert(ids: string[], vectors: ArrayLike<number>[]): Promise<void>;
  /** The k stored vectors nearest to `vector`, nearest first. */
  query(vector: ArrayLike<number>, k: number): Promise<{ id: string; distance: number }[]>;
}

/** A `VectorStoreAdapter` kept in memory on a `KnnIndex`: for tests and small collections. */
export class InMemoryVectorStore implements VectorStoreAdapter {
  private index: KnnIndex;
  private readonly rowOf = new Map<string, number>();
  private readonly ids: string[] = [];

  constructor(dims: number, options: { metric?: KnnMetric } = {}) {
    this.index = KnnIndex.empty(dims, options);
  }

  get size(): number {
    return this.ids.length;
  }

  async upsert(ids: string[], vectors: ArrayLike<number>[]): Promise<void> {
    check(
      Array.isArray(ids) && Array.isArray(vectors) && ids.length === vectors.length,
      'BAD_INPUT',
      'upsert needs as many ids as vectors',
    );
    check(new Set(ids).size === ids.length, 'BAD_INPUT', 'upsert ids must be unique within one call');
    flattenRows(vectors, 'vectors'); // validate everything before changing anything
    const fresh: ArrayLike<number>[] = [];
    const freshIds: string[] = [];
    ids.forEach((id, i) => {
      check(typeof id === 'string', 'BAD_INPUT', `ids[${i}] must be a string`);
      const row = this.rowOf.get(id);
      if (row === undefined) {
        fresh.push(vectors[i]);
        freshIds.push(id);
      } else {
        this.index.set(row, vectors[i]);
      }
    });
    if (fresh.length > 0) {
      const rows = this.index.add(fresh);
      rows.forEach((row, i) => {
        this.rowOf.set(freshIds[i], row);
        this.ids[row] = freshIds[i];
      });
    }
  }

  async query(vector: ArrayLike<number>, k: number): Promise<{ id: string; distance: number }[]> {
    const res = await this.index.query([vector], { k: Math.min(k, this.index.size) });
    return Array.from(res.indices[0], (row, i) => ({ id: this.ids[row], distance: res.distances[0][i] }));
  }
}

function checkMetric(metric: unknown): void {
  check(
    metric === 'euclidean' || metric === 'cosine',
    'BAD_OPTION',
    `metric must be 'euclidean' or 'cosine', got ${String(metric)}`,
  );
}
