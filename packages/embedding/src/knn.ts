import * as tf from '@tensorflow/tfjs-core';
import { check, checkAborted, checkNumber, CnnvizError } from '@cnnviz/core';
import { scanTiles, tileList, toShared, type TileJob } from './knn-tiles.js';
import { gemmABt } from './linalg.js';
import {
  autoThreads,
  chooseEngine,
  readMatrix,
  type Engine,
  type FlatMatrix,
  type Matrix,
} from './matrix.js';

export type KnnMetric = 'euclidean' | 'cosine';

export interface KnnOptions {
  /** Neighbours per query, 1..N (N - 1 with `excludeSelf`). */
  k: number;
  /** `euclidean` (default): distance |q - f|, not squared. `cosine`: 1 - cos(q, f). */
  metric?: KnnMetric;
  /** Rows per tile of the blocked product; a tile holds blockSize^2 scores. Default 1024. */
  blockSize?: number;
  /**
   * Worker threads for the products on the CPU backends (Node `worker_threads`; ignored
   * elsewhere). Default: every core (at most 8) when the products are large, else 1. The
   * result does not depend on it.
   */
  threads?: number;
  /** Skip each query's own row; only when `queries` is the same object as `features`. */
  excludeSelf?: boolean;
  signal?: AbortSignal;
  /** Called after each tile with the tiles done so far. */
  onProgress?: (p: { done: number; total: number }) => void;
}

export interface KnnResult {
  /** Per query, the indices of its k nearest rows of `features`, nearest first. */
  indices: Int32Array[];
  /** Per query, the matching distances (euclidean: not squared; cosine: 1 - cos). */
  distances: Float32Array[];
}

/**
 * Exact k-nearest neighbours of each query row among the feature rows.
 *
 * Tiles of `queries x features^T` run on the active TF.js backend when it is a GPU one, else on
 * this package's WebAssembly SIMD kernel on worker threads (see `chooseEngine`), and feed a running top-k per query,
 * so memory stays O(blockSize^2 + N k), never N x N. Float32 tile scores only choose candidates:
 * a few more than k per query are re-ranked in float64, and a query whose float32 margin cannot
 * rule out a missed neighbour is recomputed exactly. Ties go to the lower index, so the result
 * equals a float64 brute force. When `queries === features`, only tiles on and above the
 * diagonal are computed (each serves both directions).
 */
export async function knn(features: Matrix, queries: Matrix, options: KnnOptions): Promise<KnnResult> {
  checkKnnOptions(options);
  const F = await readMatrix(features, 'features');
  const self = queries === features;
  const Q = self ? F : await readMatrix(queries, 'queries');
  const out = await knnFlat(F, self ? 'self' : Q, options, chooseEngine());
  return unflatten(out, out.metric);
}

/** Flat k-NN result: row q's neighbours at `[q * k, (q + 1) * k)`; `dist2` is squared euclidean or 1 - cos. */
export interface FlatKnn {
  k: number;
  indices: Int32Array;
  dist: Float64Array;
}

export function checkKnnOptions(options: unknown): asserts options is KnnOptions {
  check(
    typeof options === 'object' && options !== null,
    'BAD_OPTION',
    'knn options must be an object with `k`',
  );
  const o = options as KnnOptions;
  checkNumber(o.k, 'k', { integer: true, min: 1 });
  const metric = o.metric ?? 'euclidean';
  check(
    metric === 'euclidean' || metric === 'cosine',
    'BAD_OPTION',
    `metric must be 'euclidean' or 'cosine', got ${String(metric)}`,
  );
  if (o.blockSize !== undefined) checkNumber(o.blockSize, 'blockSize', { integer: true, min: 1 });
  if (o.threads !== undefined) checkNumber(o.threads, 'threads', { integer: true, min: 1, max: 64 });
  if (o.excludeSelf !== undefined) {
    check(
      typeof o.excludeSelf === 'boolean',
      'BAD_OPTION',
      `excludeSelf must be a boolean, got ${String(o.excludeSelf)}`,
    );
  }
  if (o.onProgress !== undefined) {
    check(typeof o.onProgress === 'function', 'BAD_OPTION', 'onProgress must be a function');
  }
}

export function unflatten(r: FlatKnn, metric: KnnMetric = 'euclidean', squared = true): KnnResult {
  const nq = r.indices.length / r.k;
  const indices: Int32Array[] = new Array(nq);
  const distances: Float32Array[] = new Array(nq);
  for (let q = 0; q < nq; q++) {
    indices[q] = r.indices.slice(q * r.k, (q + 1) * r.k);
    const d = new Float32Array(r.k);
    for (let j = 0; j < r.k; j++) {
      const v = r.dist[q * r.k + j];
      d[j] = metric === 'euclidean' && squared ? Math.sqrt(v) : v;
    }
    distances[q] = d;
  }
  return { indices, distances };
}

/** Candidates of a blocked scan: per query a max-heap of `kc` (score, index), root = worst kept. */
interface Candidates {
  kc: number;
  heapV: Float64Array;
  heapI: Int32Array;
  count: Int32Array;
}

/** What a scan needs: the scored rows and the constants of score(i, j) = a[i] + b[j] + alpha * dot(i, j). */
interface ScanInput {
  Fs: Float32Array;
  n: number;
  d: number;
  b: Float64Array;
  alpha: number;
  block: number;
  engine: Engine;
  threads?: number;
  signal?: AbortSignal;
  onProgress?: (p: { done: number; total: number }) => void;
}

/**
 * The blocked product with a running top-kc per query. `Qs` holds the query rows; `selfIds[q]`,
 * when given, is the feature row that query q is (excluded from its own list). `symmetric`
 * (queries are all features in order) computes only tiles on and above the diagonal and offers
 * each score to both its row and its column.
 */
async function scan(
  inp: ScanInput,
  Qs: Float32Array,
  nq: number,
  a: Float64Array,
  kc: number,
  selfIds: Int32Array | undefined,
  symmetric: boolean,
): Promise<Candidates> {
  if (inp.engine === 'simd') return scanSimd(inp, Qs, nq, a, kc, selfIds, symmetric);
  const { Fs, n, d, b, alpha, block } = inp;
  const useTf = inp.engine === 'tf';
  const heapV = new Float64Array(nq * kc);
  const heapI = new Int32Array(nq * kc);
  const count = new Int32Array(nq);
  const thrV = new Float64Array(nq).fill(Infinity);
  const thrI = new Int32Array(nq).fill(0x7fffffff);

  const offer = (q: number, v: number, j: number): void => {
    const base = q * kc;
    let c = count[q];
    if (c < kc) {
      // Sift up into a max-heap ordered by (value, index).
      let pos = c++;
      count[q] = c;
      while (pos > 0) {
        const parent = (pos - 1) >> 1;
        const pv = heapV[base + parent];
        const pi = heapI[base + parent];
        if (pv > v || (pv === v && pi > j)) break;
        heapV[base + pos] = pv;
        heapI[base + pos] = pi;
        pos = parent;
      }
      heapV[base + pos] = v;
      heapI[base + pos] = j;
      if (c === kc) {
        thrV[q] = heapV[base];
        thrI[q] = heapI[base];
      }
      return;
    }
    let pos = 0;
    for (;;) {
      const l = 2 * pos + 1;
      if (l >= kc) break;
      let ch = l;
      const r = l + 1;
      if (
        r < kc &&
        (heapV[base + r] > heapV[base + l] ||
          (heapV[base + r] === heapV[base + l] && heapI[base + r] > heapI[base + l]))
      )
        ch = r;
      const cv = heapV[base + ch];
      const ci = heapI[base + ch];
      if (cv < v || (cv === v && ci < j)) break;
      heapV[base + pos] = cv;
      heapI[base + pos] = ci;
      pos = ch;
    }
    heapV[base + pos] = v;
    heapI[base + pos] = j;
    thrV[q] = heapV[base];
    thrI[q] = heapI[base];
  };

  const qBlocks = Math.ceil(nq / block);
  const fBlocks = Math.ceil(n / block);
  const total = symmetric ? (qBlocks * (qBlocks + 1)) / 2 : qBlocks * fBlocks;
  let done = 0;
  // Feature blocks go to the backend once, pre-transposed to [d, cols]: wasm's matMul with a
  // transposed operand is ~10x slower than on a plain one (measured 1.8 s vs 0.16 s per tile).
  const fBlocksT: tf.Tensor2D[] = [];
  const qT = useTf ? tf.tensor2d(Qs, [nq, d]) : undefined;
  const scratch = useTf ? undefined : new Float64Array(Math.min(block, nq) * Math.min(block, n));
  try {
    if (useTf) {
      for (let fb = 0; fb < fBlocks; fb++) {
        const f0 = fb * block;
        const cols = Math.min(block, n - f0);
        fBlocksT.push(
          tf.tidy(() => tf.transpose(tf.tensor2d(Fs.subarray(f0 * d, (f0 + cols) * d), [cols, d]))),
        );
      }
    }
    for (let qb = 0; qb < qBlocks; qb++) {
      const q0 = qb * block;
      const rows = Math.min(block, nq - q0);
      const qBlock = qT ? tf.slice(qT, [q0, 0], [rows, d]) : undefined;
      try {
        for (let fb = symmetric ? qb : 0; fb < fBlocks; fb++) {
          checkAborted(inp.signal, 'knn');
          const f0 = fb * block;
          const cols = Math.min(block, n - f0);
          let S: Float32Array | Float64Array;
          if (qBlock) {
            const s = tf.matMul(qBlock, fBlocksT[fb]);
            S = (await s.data()) as Float32Array;
            s.dispose();
          } else {
            S = scratch!;
            gemmABt(
              Qs.subarray(q0 * d, (q0 + rows) * d),
              Fs.subarray(f0 * d, (f0 + cols) * d),
              rows,
              cols,
              d,
              S,
            );
          }
          const both = symmetric && fb !== qb;
          for (let r = 0; r < rows; r++) {
            const qi = q0 + r;
            const skip = selfIds ? selfIds[qi] : -1;
            const ai = a[qi];
            let tv = thrV[qi];
            let ti = thrI[qi];
            const so = r * cols;
            for (let c = 0; c < cols; c++) {
              const j = f0 + c;
              const v = ai + b[j] + alpha * S[so + c];
              if ((v < tv || (v === tv && j < ti)) && j !== skip) {
                offer(qi, v, j);
                tv = thrV[qi];
                ti = thrI[qi];
              }
              if (both && (v < thrV[j] || (v === thrV[j] && qi < thrI[j]))) offer(j, v, qi);
            }
          }
          done++;
          inp.onProgress?.({ done, total });
          // Let timers, progress and abort handlers run between tiles.
          if (useTf || done % 4 === 0) await new Promise<void>((res) => setTimeout(res, 0));
        }
      } finally {
        qBlock?.dispose();
      }
    }
  } finally {
    fBlocksT.forEach((t) => t.dispose());
    qT?.dispose();
  }
  return { kc, heapV, heapI, count };
}

/** `scan` on the WebAssembly SIMD kernel, on worker threads when the products are large. */
async function scanSimd(
  inp: ScanInput,
  Qs: Float32Array,
  nq: number,
  a: Float64Array,
  kc: number,
  selfIds: Int32Array | undefined,
  symmetric: boolean,
): Promise<Candidates> {
  const { n, d, block } = inp;
  const work = (symmetric ? 0.5 : 1) * n * nq * d;
  // Below ~0.1 s of single-core work one thread is as fast.
  const threads = await autoThreads(inp.threads, work > 1e9);
  const share = threads > 1 ? toShared : <T>(x: T): T => x;
  const Fs = share(inp.Fs);
  const job: TileJob = {
    Fs,
    Qs: Qs === inp.Fs ? Fs : share(Qs),
    n,
    nq,
    d,
    block,
    a: share(a),
    b: share(inp.b),
    alpha: inp.alpha,
    selfIds: selfIds ? share(selfIds) : null,
    symmetric,
    kc,
    tiles: tileList(Math.ceil(nq / block), Math.ceil(n / block), symmetric),
    ctrl: threads > 1 ? new Int32Array(new SharedArrayBuffer(12)) : new Int32Array(3),
  };
  const h = await scanTiles(job, { threads, signal: inp.signal, onProgress: inp.onProgress });
  return { kc, heapV: h.bufV, heapI: h.bufI, count: h.count };
}

/**
 * k-NN on validated flat matrices. Distances come back squared for euclidean (t-SNE needs those)
 * and as 1 - cos for cosine; `knn` converts.
 */
export async function knnFlat(
  F: FlatMatrix,
  Qin: FlatMatrix | 'self',
  options: KnnOptions,
  engine: Engine,
): Promise<FlatKnn & { metric: KnnMetric }> {
  const metric: KnnMetric = options.metric ?? 'euclidean';
  const self = Qin === 'self';
  const Q = self ? F : Qin;
  const excludeSelf = options.excludeSelf ?? false;
  check(!excludeSelf || self, 'BAD_OPTION', 'excludeSelf needs queries to be the same object as features');
  const { n, d } = F;
  const nq = Q.n;
  check(
    Q.d === d,
    'BAD_INPUT',
    `queries have ${Q.d} columns but features have ${d}; both need the same dimension`,
  );
  const avail = excludeSelf ? n - 1 : n;
  const k = options.k;
  check(
    k <= avail,
    'BAD_OPTION',
    `k must be at most the number of feature rows${excludeSelf ? ' minus one (self excluded)' : ''} (${avail}), got ${k}`,
  );
  const cosine = metric === 'cosine';
  const fNorm = rowNorms(F.data, n, d);
  const qNorm = self ? fNorm : rowNorms(Q.data, nq, d);
  if (cosine) {
    checkNonZero(fNorm, 'features');
    if (!self) checkNonZero(qNorm, 'queries');
  }
  // Scores: cosine on unit rows; euclidean on rows centred by the feature mean, which leaves
  // distances alone but shrinks the norms that bound float32 error (CNN features are far from 0).
  let Fs: Float32Array;
  let Qs: Float32Array;
  if (cosine) {
    Fs = normalised(F.data, n, d, fNorm);
    Qs = self ? Fs : normalised(Q.data, nq, d, qNorm);
  } else {
    const mean = new Float64Array(d);
    for (let i = 0; i < n; i++) for (let t = 0; t < d; t++) mean[t] += F.data[i * d + t];
    for (let t = 0; t < d; t++) mean[t] /= n;
    Fs = centred(F.data, n, d, mean);
    Qs = self ? Fs : centred(Q.data, nq, d, mean);
  }
  const sNormF = cosine ? undefined : rowNorms(Fs, n, d);
  const sNormQ = cosine ? undefined : self ? sNormF : rowNorms(Qs, nq, d);
  const a = new Float64Array(nq);
  const b = new Float64Array(n);
  for (let i = 0; i < nq; i++) a[i] = cosine ? 1 : sNormQ![i] ** 2;
  if (!cosine) for (let j = 0; j < n; j++) b[j] = sNormF![j] ** 2;
  let maxS = 0;
  if (sNormF) for (let j = 0; j < n; j++) maxS = Math.max(maxS, sNormF[j]);

  const inp: ScanInput = {
    Fs,
    n,
    d,
    b,
    alpha: cosine ? -1 : -2,
    block: options.blockSize ?? 1024,
    engine,
    threads: options.threads,
    signal: options.signal,
    onProgress: options.onProgress,
  };
  const selfIds = excludeSelf ? Int32Array.from({ length: nq }, (_, i) => i) : undefined;
  const indices = new Int32Array(nq * k);
  const dist = new Float64Array(nq * k);
  const u = 2 ** -24;
  // Float32 scores are dot products with error <= gamma_D |q||f| (Higham); x2 for euclidean, x2 to spare.
  const scoreError = (q: number): number =>
    cosine ? 4 * (d + 4) * u : 4 * (d + 4) * u * sNormQ![q] * maxS + 1e-12 * (a[q] + maxS * maxS);

  const exact = (q: number, j: number): number =>
    exactDistance(Q.data, q, F.data, j, d, cosine, qNorm[q], fNorm[j]);

  /**
   * Re-ranks candidates exactly; returns the queries left in doubt. `bound(q, root)` is a proven
   * lower bound on the exact distance of every row that did not make the candidate list.
   */
  const settle = (
    cands: Candidates,
    ids: Int32Array,
    bound: (q: number, root: number) => number,
  ): number[] => {
    const { kc, heapV, heapI, count } = cands;
    const candD = new Float64Array(kc);
    const candI = new Int32Array(kc);
    const doubtful: number[] = [];
    for (let r = 0; r < ids.length; r++) {
      const q = ids[r];
      const base = r * kc;
      const c = count[r];
      const order: number[] = [];
      for (let t = 0; t < c; t++) {
        candI[t] = heapI[base + t];
        order.push(t);
      }
      // Exact distances only where float32 scores leave the top k in doubt: a candidate scored
      // above (k-th score + 2 err) is certainly farther than the exact k-th and is left out.
      order.sort((x, y) => heapV[base + x] - heapV[base + y] || candI[x] - candI[y]);
      const cut = heapV[base + order[Math.min(k, c) - 1]] + 2 * scoreError(q);
      for (let t = 0; t < c; t++) candD[t] = heapV[base + t] <= cut ? exact(q, candI[t]) : Infinity;
      order.sort((x, y) => candD[x] - candD[y] || candI[x] - candI[y]);
      const complete = c >= avail;
      if (complete || bound(q, heapV[base]) > candD[order[k - 1]]) {
        for (let t = 0; t < k; t++) {
          indices[q * k + t] = candI[order[t]];
          dist[q * k + t] = candD[order[t]];
        }
      } else {
        doubtful.push(q);
      }
    }
    return doubtful;
  };
  // A non-candidate scored >= the heap root, so its true score is >= root - float32 error.
  const bound = (q: number, root: number): number => root - scoreError(q);

  // Round 1: a few candidates beyond k for every query.
  const kc1 = Math.min(avail, k + Math.max(8, Math.ceil(k / 8)));
  const all = Int32Array.from({ length: nq }, (_, i) => i);
  let doubtful = settle(await scan(inp, Qs, nq, a, kc1, selfIds, self), all, bound);
  // Round 2: many more candidates for the few queries whose neighbours were too close to call.
  if (doubtful.length > 0 && kc1 < avail) {
    const ids = Int32Array.from(doubtful);
    const sub = new Float32Array(ids.length * d);
    ids.forEach((q, r) => sub.set(Qs.subarray(q * d, (q + 1) * d), r * d));
    const subA = Float64Array.from(ids, (q) => a[q]);
    const kc2 = Math.min(avail, 4 * kc1 + 32);
    const cands = await scan(
      { ...inp, onProgress: undefined },
      sub,
      ids.length,
      subA,
      kc2,
      excludeSelf ? ids : undefined,
      false,
    );
    doubtful = settle(cands, ids, bound);
  }
  // Whatever is still in doubt: a float64 brute force of those queries.
  for (const q of doubtful) bruteForce(q);
  return { k, indices, dist, metric };

  function bruteForce(q: number): void {
    const all2 = new Float64Array(n);
    for (let j = 0; j < n; j++) all2[j] = exact(q, j);
    const ids: number[] = [];
    for (let j = 0; j < n; j++) if (!(excludeSelf && j === q)) ids.push(j);
    ids.sort((x, y) => all2[x] - all2[y] || x - y);
    for (let t = 0; t < k; t++) {
      indices[q * k + t] = ids[t];
      dist[q * k + t] = all2[ids[t]];
    }
  }
}

/** Squared euclidean distance or 1 - cos, in float64 from the float32 rows. */
export function exactDistance(
  A: Float32Array,
  i: number,
  B: Float32Array,
  j: number,
  d: number,
  cosine: boolean,
  normA: number,
  normB: number,
): number {
  if (cosine) {
    const ao = i * d;
    const bo = j * d;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let t = 0;
    for (; t + 4 <= d; t += 4) {
      s0 += A[ao + t] * B[bo + t];
      s1 += A[ao + t + 1] * B[bo + t + 1];
      s2 += A[ao + t + 2] * B[bo + t + 2];
      s3 += A[ao + t + 3] * B[bo + t + 3];
    }
    for (; t < d; t++) s0 += A[ao + t] * B[bo + t];
    return Math.max(0, 1 - (s0 + s1 + (s2 + s3)) / (normA * normB));
  }
  return squaredDistance(A, i * d, B, j * d, d);
}

/**
 * |a - b|^2 in float64 over `d` entries from offsets `ao`, `bo`, in four running sums (one sum
 * waits on the add latency: ~3x slower). The vantage-point tree uses this very function, so both
 * neighbour searches give bit-identical distances (and t-SNE the same embedding).
 */
export function squaredDistance(A: Float32Array, ao: number, B: Float32Array, bo: number, d: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let t = 0;
  for (; t + 4 <= d; t += 4) {
    const e0 = A[ao + t] - B[bo + t];
    const e1 = A[ao + t + 1] - B[bo + t + 1];
    const e2 = A[ao + t + 2] - B[bo + t + 2];
    const e3 = A[ao + t + 3] - B[bo + t + 3];
    s0 += e0 * e0;
    s1 += e1 * e1;
    s2 += e2 * e2;
    s3 += e3 * e3;
  }
  for (; t < d; t++) {
    const e = A[ao + t] - B[bo + t];
    s0 += e * e;
  }
  return s0 + s1 + (s2 + s3);
}

function rowNorms(data: Float32Array, n: number, d: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let t = 0; t < d; t++) {
      const v = data[i * d + t];
      s += v * v;
    }
    out[i] = Math.sqrt(s);
  }
  return out;
}

function normalised(data: Float32Array, n: number, d: number, norms: Float64Array): Float32Array {
  const out = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const s = 1 / norms[i];
    for (let t = 0; t < d; t++) out[i * d + t] = data[i * d + t] * s;
  }
  return out;
}

function centred(data: Float32Array, n: number, d: number, mean: Float64Array): Float32Array {
  const out = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let t = 0; t < d; t++) out[i * d + t] = data[i * d + t] - mean[t];
  return out;
}

function checkNonZero(norms: Float64Array, name: string): void {
  const i = norms.findIndex((v) => v === 0);
  if (i >= 0) {
    throw new CnnvizError('BAD_INPUT', `${name}[${i}] is all zeros; cosine distance needs non-zero vectors`);
  }
}
