import { check, checkAborted, checkNumber, CnnvizError, createRng } from '@cnnviz/core';
import { knnFlat } from './knn.js';
import { SimdGemm } from './simd-gemm.js';
import {
  autoThreads,
  chooseEngine,
  readMatrix,
  type Engine,
  type FlatMatrix,
  type Matrix,
} from './matrix.js';

/** Every row's k nearest other rows (self excluded), nearest first. */
export interface KnnGraph {
  n: number;
  k: number;
  /** Row-major n x k neighbour ids. */
  indices: Int32Array;
  /** Row-major n x k squared euclidean distances, ascending per row. */
  dist2: Float64Array;
}

export interface KnnGraphOptions {
  /** Neighbours per row, 1..N - 1. */
  k: number;
  /**
   * `exact`: the blocked exact `knn` of every row against every row (O(N^2 d)). `ivf`: an
   * inverted-file self-join: k-means cells, each row compared with the rows of its `probes`
   * nearest cells only (O(N probes N / cells d)), approximate. `auto` (default): exact up to
   * 50,000 rows.
   */
  method?: 'auto' | 'exact' | 'ivf';
  /** IVF: k-means cells. Default N / 400 (the cost then grows linearly with N). */
  cells?: number;
  /** IVF: cells searched per row (its own first). Default 8. */
  probes?: number;
  /** Seeds the k-means sample and start. Default 0. */
  seed?: number;
  /** Threads for the products (Node). Default: every core (at most 8). */
  threads?: number;
  signal?: AbortSignal;
  /** `done` of `total` units of work (cells for IVF, tiles for exact). */
  onProgress?: (p: { phase: 'kmeans' | 'assign' | 'join'; done: number; total: number }) => void;
}

export const EXACT_GRAPH_MAX_N = 50_000;

/**
 * The k-nearest-neighbour graph of a data set's own rows: what t-SNE's affinities and UMAP's
 * fuzzy set are built from. Exact for small N; for large N an IVF self-join that batches every
 * query of a cell into one blocked product (the SIMD GEMM of `knn`), so 10^6 rows take minutes
 * rather than the hours of 10^6 single searches.
 */
export async function knnGraph(x: Matrix, options: KnnGraphOptions): Promise<KnnGraph> {
  return knnGraphFlat(await readMatrix(x, 'x', 2), options, chooseEngine());
}

export async function knnGraphFlat(m: FlatMatrix, o: KnnGraphOptions, engine: Engine): Promise<KnnGraph> {
  check(typeof o === 'object' && o !== null, 'BAD_OPTION', 'knnGraph options must be an object');
  const { n } = m;
  checkNumber(o.k, 'k', { integer: true, min: 1, max: n - 1 });
  const method = o.method ?? 'auto';
  check(
    method === 'auto' || method === 'exact' || method === 'ivf',
    'BAD_OPTION',
    `method must be 'auto', 'exact' or 'ivf', got ${String(method)}`,
  );
  const seed = o.seed ?? 0;
  checkNumber(seed, 'seed');
  const useIvf = method === 'ivf' || (method === 'auto' && n > EXACT_GRAPH_MAX_N);
  if (!useIvf) {
    const r = await knnFlat(
      m,
      'self',
      {
        k: o.k,
        excludeSelf: true,
        signal: o.signal,
        onProgress: o.onProgress && ((p) => o.onProgress!({ phase: 'join', ...p })),
      },
      engine,
    );
    return { n, k: o.k, indices: r.indices, dist2: r.dist };
  }
  const cells = o.cells ?? Math.max(1, Math.round(n / 400));
  checkNumber(cells, 'cells', { integer: true, min: 1, max: n });
  const probes = Math.min(cells, o.probes ?? 8);
  checkNumber(probes, 'probes', { integer: true, min: 1 });
  return ivfGraph(m, o.k, cells, probes, seed, o);
}

/** Rows `ids` of m as a new flat matrix. */
function gather(m: FlatMatrix, ids: Int32Array, from = 0, to = ids.length): FlatMatrix {
  const { d, data } = m;
  const out = new Float32Array((to - from) * d);
  for (let r = from; r < to; r++) out.set(data.subarray(ids[r] * d, ids[r] * d + d), (r - from) * d);
  return { n: to - from, d, data: out };
}

/**
 * Running top-k lists (`bestI`/`bestD`, k per row, each a max-heap until `sorted`) fed from blocked float32 products:
 * scores of queries against a set of rows come from the SIMD GEMM, and a candidate enters a
 * query's list only when it beats the list's last entry (after the first cell, most do not;
 * the SIMD filter finds the few that do without a JavaScript pass over every score).
 */
class TopK {
  readonly bestI: Int32Array;
  readonly bestD: Float64Array;
  constructor(
    readonly k: number,
    rows: number,
    private readonly g: SimdGemm,
  ) {
    this.bestI = new Int32Array(rows * k).fill(-1);
    this.bestD = new Float64Array(rows * k).fill(Infinity);
  }

  /**
   * Offers rows `fIds` of `x` (their squared norms in `norms`) to the lists of rows `qIds` (list
   * `slot[r]` for query r, or the query id itself); `self`: skip a row offered to its own list.
   */
  offer(
    x: FlatMatrix,
    norms: Float64Array,
    qIds: Int32Array,
    fIds: Int32Array,
    self: boolean,
    slot?: Int32Array,
  ): void {
    const { d } = x;
    const nf = fIds.length;
    const { k, bestI, bestD, g } = this;
    const Bt = new Float32Array(d * nf);
    for (let j = 0; j < nf; j++) {
      const o = fIds[j] * d;
      for (let t = 0; t < d; t++) Bt[t * nf + j] = x.data[o + t];
    }
    const fn = Float64Array.from(fIds, (j) => norms[j]);
    const CH = 2048;
    const qn = new Float64Array(CH);
    const thr = new Float64Array(CH);
    for (let q0 = 0; q0 < qIds.length; q0 += CH) {
      const q1 = Math.min(qIds.length, q0 + CH);
      for (let r = q0; r < q1; r++) {
        qn[r - q0] = norms[qIds[r]];
        thr[r - q0] = bestD[(slot ? slot[r] : qIds[r]) * k];
      }
      const A = gather(x, qIds, q0, q1);
      const mark = g.mark();
      const ap = g.packedA(A.data, q1 - q0, d);
      // The SIMD filter finds the scores that beat a snapshot of each list's worst (lists only
      // improve, so nothing the exact check below would take is missed): dd = qn + fn - 2 S.
      const { scores: S, ldc, hits, count } = g.mulFilter(ap, q1 - q0, d, Bt, nf, qn, fn, thr, -2);
      for (let e = 0; e < count; e++) {
        const at = hits[e];
        const rr = (at / ldc) | 0;
        const c0 = at - rr * ldc;
        const q = qIds[q0 + rr];
        const base = (slot ? slot[q0 + rr] : q) * k;
        const cEnd = Math.min(c0 + 2, nf);
        for (let j = c0; j < cEnd; j++) {
          const dd = norms[q] + fn[j] - 2 * S[rr * ldc + j];
          if (dd >= bestD[base]) continue;
          const id = fIds[j];
          if (self && id === q) continue;
          siftDown(bestD, bestI, base, k, dd, id);
        }
      }
      g.reset(mark);
    }
  }
}

/** Replaces the root of the max-heap at `base` (its first k entries) by (dd, id) and sifts it down. */
function siftDown(
  bestD: Float64Array,
  bestI: Int32Array,
  base: number,
  k: number,
  dd: number,
  id: number,
): void {
  let pos = 0;
  for (;;) {
    const l = 2 * pos + 1;
    if (l >= k) break;
    const r = l + 1;
    const ch = r < k && bestD[base + r] > bestD[base + l] ? r : l;
    if (bestD[base + ch] <= dd) break;
    bestD[base + pos] = bestD[base + ch];
    bestI[base + pos] = bestI[base + ch];
    pos = ch;
  }
  bestD[base + pos] = dd;
  bestI[base + pos] = id;
}

/** Turns each row's heap into an ascending list (rows never filled keep -1 / Infinity). */
function heapsToLists(bestI: Int32Array, bestD: Float64Array, k: number): void {
  const rows = bestI.length / k;
  for (let q = 0; q < rows; q++) {
    const base = q * k;
    for (let end = k - 1; end > 0; end--) {
      // Move the max to the end, sift the old last entry down from the root in [0, end).
      const td = bestD[base + end];
      const ti = bestI[base + end];
      bestD[base + end] = bestD[base];
      bestI[base + end] = bestI[base];
      siftDown(bestD, bestI, base, end, td, ti);
    }
  }
}

function squaredNorms(x: FlatMatrix): Float64Array {
  const { n, d, data } = x;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let t = 0; t < d; t++) s += data[i * d + t] * data[i * d + t];
    out[i] = s;
  }
  return out;
}

const range = (n: number): Int32Array => Int32Array.from({ length: n }, (_, i) => i);

/** Each row of `q`'s `k` nearest rows of `c` (ids into c, nearest first). */
function nearestRows(g: SimdGemm, q: FlatMatrix, c: FlatMatrix, k: number): Int32Array {
  // Both in one matrix so one TopK pass serves (rows of q, then rows of c).
  const both: FlatMatrix = { n: q.n + c.n, d: q.d, data: new Float32Array((q.n + c.n) * q.d) };
  both.data.set(q.data);
  both.data.set(c.data, q.n * q.d);
  const norms = squaredNorms(both);
  const top = new TopK(k, q.n, g);
  const cIds = Int32Array.from({ length: c.n }, (_, j) => q.n + j);
  top.offer(both, norms, range(q.n), cIds, false);
  heapsToLists(top.bestI, top.bestD, k);
  for (let t = 0; t < top.bestI.length; t++) top.bestI[t] -= q.n;
  return top.bestI;
}

/** Lloyd's k-means on a seeded sample (64 rows per cell), 8 rounds. */
async function kmeans(
  m: FlatMatrix,
  cells: number,
  rng: () => number,
  g: SimdGemm,
  o: KnnGraphOptions,
): Promise<FlatMatrix> {
  const { n, d } = m;
  const s = Math.min(n, 64 * cells);
  // A seeded partial Fisher–Yates shuffle: the sample, then its first `cells` rows as centres.
  const perm = range(n);
  for (let i = 0; i < s; i++) {
    const j = i + Math.floor(rng() * (n - i));
    const t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  const sample = gather(m, perm, 0, s);
  const centres: FlatMatrix = { n: cells, d, data: sample.data.slice(0, cells * d) };
  const rounds = 8;
  for (let round = 0; round < rounds; round++) {
    checkAborted(o.signal, 'knnGraph');
    o.onProgress?.({ phase: 'kmeans', done: round, total: rounds });
    const near = nearestRows(g, sample, centres, 1);
    const sum = new Float64Array(cells * d);
    const count = new Int32Array(cells);
    for (let i = 0; i < s; i++) {
      const c = near[i];
      count[c]++;
      for (let t = 0; t < d; t++) sum[c * d + t] += sample.data[i * d + t];
    }
    for (let c = 0; c < cells; c++) {
      if (count[c] === 0) {
        // An empty cell restarts at a random sample row.
        const i = Math.floor(rng() * s);
        centres.data.set(sample.data.subarray(i * d, i * d + d), c * d);
      } else {
        for (let t = 0; t < d; t++) centres.data[c * d + t] = sum[c * d + t] / count[c];
      }
    }
    await new Promise<void>((res) => setTimeout(res, 0));
  }
  return centres;
}

async function ivfGraph(
  input: FlatMatrix,
  k: number,
  cells: number,
  probes: number,
  seed: number,
  o: KnnGraphOptions,
): Promise<KnnGraph> {
  const { n, d } = input;
  // Centred (distances unchanged, float32 products more accurate).
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let t = 0; t < d; t++) mean[t] += input.data[i * d + t];
  for (let t = 0; t < d; t++) mean[t] /= n;
  const m: FlatMatrix = { n, d, data: new Float32Array(n * d) };
  for (let i = 0; i < n; i++) for (let t = 0; t < d; t++) m.data[i * d + t] = input.data[i * d + t] - mean[t];
  const g = await SimdGemm.create(await autoThreads(o.threads, n * d > 1e6));
  if (g === null) throw new CnnvizError('BACKEND', 'knnGraph method ivf needs WebAssembly SIMD');
  try {
    const rng = createRng(seed);
    const centres = await kmeans(m, cells, rng, g, o);
    o.onProgress?.({ phase: 'assign', done: 0, total: 1 });
    // Each row's `probes` nearest centres; the first is its own cell.
    const near = nearestRows(g, m, centres, probes);
    o.onProgress?.({ phase: 'assign', done: 1, total: 1 });
    const members = buckets(cells, n, 1, probes, near);
    const probers = buckets(cells, n, probes, probes, near);
    const norms = squaredNorms(m);
    const top = new TopK(k, n, g);
    for (let c = 0; c < cells; c++) {
      checkAborted(o.signal, 'knnGraph');
      const mem = members.list.subarray(members.start[c], members.start[c + 1]);
      const qs = probers.list.subarray(probers.start[c], probers.start[c + 1]);
      if (mem.length > 0 && qs.length > 0) top.offer(m, norms, qs, mem, true);
      o.onProgress?.({ phase: 'join', done: c + 1, total: cells });
      if ((c & 15) === 15) await new Promise<void>((res) => setTimeout(res, 0));
    }
    const { bestI, bestD } = top;
    heapsToLists(bestI, bestD, k);
    // A row whose probed cells held fewer than k others (tiny data, many cells): all rows offered.
    const short: number[] = [];
    for (let q = 0; q < n; q++) if (bestI[q * k + k - 1] < 0) short.push(q);
    if (short.length > 0) {
      const ids = Int32Array.from(short);
      const sub = new TopK(k, ids.length, g);
      sub.offer(m, norms, ids, range(n), true, range(ids.length));
      heapsToLists(sub.bestI, sub.bestD, k);
      ids.forEach((q, r) => {
        bestI.set(sub.bestI.subarray(r * k, r * k + k), q * k);
        bestD.set(sub.bestD.subarray(r * k, r * k + k), q * k);
      });
    }
    exactRerank(input, bestI, bestD, k);
    return { n, k, indices: bestI, dist2: bestD };
  } finally {
    await g.close();
  }
}

/**
 * Float64 distances of the chosen neighbours from the input rows, re-sorted (ties by id); the
 * lists come nearly sorted from the float32 scores, so an insertion sort is linear.
 */
function exactRerank(x: FlatMatrix, bestI: Int32Array, bestD: Float64Array, k: number): void {
  const { n, d, data } = x;
  for (let q = 0; q < n; q++) {
    const b = q * k;
    for (let t = 0; t < k; t++) {
      const j = bestI[b + t];
      let s = 0;
      for (let u = 0; u < d; u++) {
        const v = data[q * d + u] - data[j * d + u];
        s += v * v;
      }
      let w = t;
      while (w > 0 && (bestD[b + w - 1] > s || (bestD[b + w - 1] === s && bestI[b + w - 1] > j))) {
        bestD[b + w] = bestD[b + w - 1];
        bestI[b + w] = bestI[b + w - 1];
        w--;
      }
      bestD[b + w] = s;
      bestI[b + w] = j;
    }
  }
}

/** Rows grouped by cell: for each row its first `take` of `stride` cell ids. */
function buckets(
  cells: number,
  n: number,
  take: number,
  stride: number,
  cellOf: Int32Array,
): { start: Int32Array; list: Int32Array } {
  const start = new Int32Array(cells + 1);
  for (let i = 0; i < n; i++) for (let t = 0; t < take; t++) start[cellOf[i * stride + t] + 1]++;
  for (let c = 0; c < cells; c++) start[c + 1] += start[c];
  const fill = start.slice(0, cells);
  const list = new Int32Array(start[cells]);
  for (let i = 0; i < n; i++) for (let t = 0; t < take; t++) list[fill[cellOf[i * stride + t]]++] = i;
  return { start, list };
}

/**
 * Recall@k of an approximate graph against exact neighbours of some of its rows: the share of
 * each row's true k neighbours that the graph found. `exact` rows are nearest first, `rows[r]`
 * is the graph row of `exact` row r.
 */
export function graphRecall(graph: KnnGraph, exact: Int32Array, rows: Int32Array, k = graph.k): number {
  let hit = 0;
  const kk = exact.length / rows.length;
  for (let r = 0; r < rows.length; r++) {
    const found = new Set<number>();
    for (let t = 0; t < k; t++) found.add(graph.indices[rows[r] * graph.k + t]);
    for (let t = 0; t < k; t++) if (found.has(exact[r * kk + t])) hit++;
  }
  return hit / (rows.length * k);
}
