import { check, checkAborted, checkNumber, createRng } from '@cnnviz/core';
import { denseJointP, sparseJointP, type SparseP } from './affinities.js';
import { knnFlat } from './knn.js';
import {
  autoThreads,
  chooseEngine,
  copyRows,
  readMatrix,
  type Engine,
  type FlatMatrix,
  type Matrix,
} from './matrix.js';
import { memory } from './memory.js';
import { pcaFlat } from './pca.js';
import { attraction, BarnesHut, exactGradient, fullRows, sparseKl } from './tsne-gradient.js';
import { FftRepulsion, type FftGridOptions } from './tsne-fft.js';
import { knnGraphFlat, type KnnGraph } from './knn-graph.js';
import { createForcePool, type ClosablePool } from './tsne-threads.js';
import { createFftPool, type ClosableFftPool } from './tsne-fft-pool.js';
import { vpTreeKnn } from './vptree.js';

export interface TsneOptions {
  /** Output dimensions: 1..3 for Barnes–Hut, any for exact. Default 2. */
  dims?: number;
  /** Effective number of neighbours, >= 1 and < (N - 1) / 3. Default 30. */
  perplexity?: number;
  /** Gradient steps. Default 1000. */
  iterations?: number;
  /** Seeds the vantage-point tree, random init and PCA. Default 0. */
  seed?: number;
  /** Barnes–Hut accuracy: a cell is summarised when width < theta * distance. Default 0.5. */
  theta?: number;
  /** Step size, or `auto` = max(N / earlyExaggeration / 4, 50) (Belkina et al. 2019, as sklearn). Default `auto`. */
  learningRate?: number | 'auto';
  /** P multiplier for the first `exaggerationIterations` steps. Default 12. */
  earlyExaggeration?: number;
  /** Steps with exaggeration and momentum 0.5 (then 0.8). Default 250. */
  exaggerationIterations?: number;
  /** `pca` (default): the first principal components scaled to std 1e-4 (as sklearn). `random`: N(0, 1e-4^2). */
  init?: 'pca' | 'random';
  /**
   * `barnes-hut` (default); `fft`: FIt-SNE (Linderman et al. 2019), repulsion by interpolation
   * on a grid and FFT convolution in O(N + grid), 2-D only, for 10^5..10^6 points, on an
   * approximate neighbour graph above 50,000 points (see `knnGraph`); or `exact` O(N^2) t-SNE
   * for N <= 2000 (the reference).
   */
  method?: 'barnes-hut' | 'exact' | 'fft';
  /**
   * `fft` and `barnes-hut`: a precomputed neighbour graph of x's rows (`knnGraph`), of which the
   * first 3 * perplexity neighbours per row are used (it needs at least that many).
   */
  graph?: KnnGraph;
  /** `fft`: the interpolation grid (FIt-SNE's defaults: 3 nodes per interval, >= 50 intervals, >= 1 per unit). */
  grid?: FftGridOptions;
  /**
   * How Barnes–Hut finds each point's 3*perplexity + 1 neighbours (exact either way, so the
   * embedding does not depend on it): `vptree` (bhtsne's vantage-point tree, plain JS; fast in
   * low dimensions) or `knn` (the blocked products of `knn` on the active backend; faster from
   * a few tens of dimensions: 10,000 x 50 took 11 s with the tree and 5.7 s blocked in plain JS,
   * measured on the loaded 2-core machine). `auto` (default): `vptree` below 16 dimensions.
   */
  neighbors?: 'auto' | 'vptree' | 'knn';
  /** Report (progress callback / yielded step) every this many iterations. Default 50. */
  reportEvery?: number;
  onProgress?: (step: TsneStep) => void;
  signal?: AbortSignal;
  /**
   * Threads for the Barnes–Hut gradient (Node: this one plus threads - 1 worker_threads over
   * shared memory, taking chunks of points from an atomic counter). `fft` uses at most 2: one
   * worker computes the attraction and half the grid convolutions while this thread does the
   * other half. The result does not depend on the count. Default: every core (at most 8) from
   * 4,000 points, else 1.
   */
  threads?: number;
  /**
   * Node only: run the whole computation in a worker thread so the caller's event loop stays
   * free. Needs the built package (dist/tsne-worker.js) or tsx when running from sources. The
   * worker has no TF.js backend: neighbours and PCA run in plain loops there (same result).
   */
  worker?: boolean;
}

export interface TsneStep {
  /** Iterations done. */
  iteration: number;
  iterations: number;
  /** KL(P || Q) of the current embedding (Barnes–Hut: over P's pairs, with the tree's Z). */
  kl?: number;
  /** A copy of the current embedding, N rows of `dims`. */
  embedding?: Float32Array[];
  /** On the last step: seconds spent on neighbours, affinities (P) and the optimisation. */
  timings?: { neighbours: number; affinities: number; optimisation: number };
}

/**
 * t-SNE (van der Maaten & Hinton 2008) with Barnes–Hut gradients (van der Maaten 2014): rows of
 * `x` to `dims`-D points that keep close neighbours close. Seeded and deterministic; progress
 * every `reportEvery` iterations; abort with `signal`.
 */
export async function tsne(x: Matrix, options: TsneOptions = {}): Promise<Float32Array[]> {
  if (options.worker) {
    const { tsneInWorker } = await import('./tsne-worker-host.js');
    return tsneInWorker(x, options);
  }
  check(typeof options === 'object' && options !== null, 'BAD_OPTION', 't-SNE options must be an object');
  const m = await readMatrix(x, 'x', 2);
  let last: TsneStep | undefined;
  // Without a listener only the last step is needed: no KL or embedding copies on the way.
  for await (const step of tsneFlat(m, options, chooseEngine(), options.onProgress === undefined)) {
    options.onProgress?.(step);
    last = step;
  }
  return last!.embedding!;
}

/** t-SNE as an async iterator of progress steps; the last step holds the final embedding. */
export async function* tsneSteps(
  x: Matrix,
  options: TsneOptions = {},
): AsyncGenerator<TsneStep, void, undefined> {
  check(typeof options === 'object' && options !== null, 'BAD_OPTION', 't-SNE options must be an object');
  const m = await readMatrix(x, 'x', 2);
  yield* tsneFlat(m, options, chooseEngine());
}

interface Resolved {
  dims: number;
  perplexity: number;
  iterations: number;
  seed: number;
  theta: number;
  learningRate: number;
  earlyExaggeration: number;
  exaggerationIterations: number;
  init: 'pca' | 'random';
  method: 'barnes-hut' | 'exact' | 'fft';
  neighbors: 'vptree' | 'knn';
  reportEvery: number;
  threads: number | undefined;
}

export const EXACT_TSNE_MAX_N = 2000;

function resolveOptions(o: TsneOptions, n: number, d: number): Resolved {
  const dims = o.dims ?? 2;
  const method = o.method ?? 'barnes-hut';
  check(
    method === 'barnes-hut' || method === 'exact' || method === 'fft',
    'BAD_OPTION',
    `method must be 'barnes-hut', 'exact' or 'fft', got ${String(method)}`,
  );
  checkNumber(dims, 'dims', {
    integer: true,
    min: method === 'fft' ? 2 : 1,
    max: method === 'barnes-hut' ? 3 : method === 'fft' ? 2 : 64,
  });
  const perplexity = o.perplexity ?? 30;
  checkNumber(perplexity, 'perplexity', { min: 1 });
  check(
    3 * perplexity < n - 1,
    'BAD_OPTION',
    `perplexity must be below (N - 1) / 3 = ${((n - 1) / 3).toFixed(2)} for N = ${n} points (each point needs 3 * perplexity neighbours), got ${perplexity}`,
  );
  const iterations = o.iterations ?? 1000;
  checkNumber(iterations, 'iterations', { integer: true, min: 1 });
  const seed = o.seed ?? 0;
  checkNumber(seed, 'seed');
  const theta = o.theta ?? 0.5;
  checkNumber(theta, 'theta', { min: 0, max: 10 });
  const earlyExaggeration = o.earlyExaggeration ?? 12;
  checkNumber(earlyExaggeration, 'earlyExaggeration', { min: 1 });
  const exaggerationIterations = o.exaggerationIterations ?? 250;
  checkNumber(exaggerationIterations, 'exaggerationIterations', { integer: true, min: 0 });
  const lr = o.learningRate ?? 'auto';
  if (lr !== 'auto') checkNumber(lr, 'learningRate', { min: 0, exclusiveMin: true });
  const learningRate = lr === 'auto' ? Math.max(n / earlyExaggeration / 4, 50) : lr;
  const init = o.init ?? 'pca';
  check(
    init === 'pca' || init === 'random',
    'BAD_OPTION',
    `init must be 'pca' or 'random', got ${String(init)}`,
  );
  check(
    init !== 'pca' || d >= dims,
    'BAD_OPTION',
    `init 'pca' needs at least dims = ${dims} input columns, got ${d}; use init: 'random'`,
  );
  const choice = o.neighbors ?? 'auto';
  check(
    choice === 'auto' || choice === 'vptree' || choice === 'knn',
    'BAD_OPTION',
    `neighbors must be 'auto', 'vptree' or 'knn', got ${String(choice)}`,
  );
  const neighbors = choice === 'auto' ? (d < 16 ? 'vptree' : 'knn') : choice;
  check(
    method !== 'exact' || n <= EXACT_TSNE_MAX_N,
    'BAD_OPTION',
    `method 'exact' is O(N^2) and limited to N <= ${EXACT_TSNE_MAX_N}, got N = ${n}; use 'barnes-hut'`,
  );
  if (o.graph !== undefined) {
    const g = o.graph;
    check(
      typeof g === 'object' && g !== null && g.indices instanceof Int32Array && g.n === n,
      'BAD_OPTION',
      `graph must be a knnGraph of x's ${n} rows`,
    );
    check(
      g.k >= Math.min(n - 1, Math.floor(3 * perplexity)),
      'BAD_OPTION',
      `graph has ${g.k} neighbours per row; perplexity ${perplexity} needs ${Math.floor(3 * perplexity)}`,
    );
    check(method !== 'exact', 'BAD_OPTION', "method 'exact' uses every pair; it takes no graph");
  }
  const threads = o.threads;
  if (threads !== undefined) checkNumber(threads, 'threads', { integer: true, min: 1, max: 64 });
  const reportEvery = o.reportEvery ?? 50;
  checkNumber(reportEvery, 'reportEvery', { integer: true, min: 1 });
  if (o.onProgress !== undefined)
    check(typeof o.onProgress === 'function', 'BAD_OPTION', 'onProgress must be a function');
  return {
    dims,
    perplexity,
    iterations,
    seed,
    theta,
    learningRate,
    earlyExaggeration,
    exaggerationIterations,
    init,
    method,
    neighbors,
    reportEvery,
    threads,
  };
}

/** Yields to the event loop when the last pause is older than ~40 ms, and honours abort. */
function pauser(signal: AbortSignal | undefined): () => Promise<void> {
  let last = performance.now();
  return async () => {
    checkAborted(signal, 't-SNE');
    if (performance.now() - last > 40) {
      await new Promise<void>((res) => setTimeout(res, 0));
      last = performance.now();
      checkAborted(signal, 't-SNE');
    }
  };
}

/**
 * The t-SNE driver on a validated flat matrix (also what the worker runs). `finalOnly`: yield
 * only the last step.
 */
export async function* tsneFlat(
  m: FlatMatrix,
  options: TsneOptions,
  engine: Engine,
  finalOnly = false,
): AsyncGenerator<TsneStep, void, undefined> {
  const { n, d, data } = m;
  const o = resolveOptions(options, n, d);
  checkVariance(m);
  const pause = pauser(options.signal);
  const rng = createRng(o.seed);
  const { dims } = o;

  const t0 = performance.now();
  let tNeighbours = 0;
  let P: SparseP | undefined;
  let dense: Float64Array | undefined;
  if (o.method === 'exact') {
    dense = denseJointP(data, n, d, o.perplexity);
  } else {
    let k = Math.min(n - 1, Math.floor(3 * o.perplexity + 1));
    let indices: Int32Array;
    let dist2: Float64Array;
    if (options.graph) {
      // The graph's first k neighbours (FIt-SNE and openTSNE calibrate on 3 * perplexity).
      const g = options.graph;
      k = Math.min(k, g.k);
      if (k === g.k) {
        // Used as it is: at 10^6 rows a copy would be another gigabyte.
        indices = g.indices;
        dist2 = g.dist2;
      } else {
        indices = new Int32Array(n * k);
        dist2 = new Float64Array(n * k);
        for (let i = 0; i < n; i++) {
          indices.set(g.indices.subarray(i * g.k, i * g.k + k), i * k);
          dist2.set(g.dist2.subarray(i * g.k, i * g.k + k), i * k);
        }
      }
    } else if (o.method === 'fft') {
      ({ indices, dist2 } = await knnGraphFlat(m, { k, seed: o.seed, signal: options.signal }, engine));
    } else if (o.neighbors === 'knn') {
      const r = await knnFlat(m, 'self', { k, excludeSelf: true, signal: options.signal }, engine);
      indices = r.indices;
      dist2 = r.dist;
    } else {
      // Its own random stream, so the neighbour method does not shift the random init.
      ({ indices, dist2 } = await vpTreeKnn(data, n, d, k, createRng(o.seed + 0x9e3779b9), pause));
    }
    await pause();
    tNeighbours = (performance.now() - t0) / 1000;
    P = sparseJointP(indices, dist2, n, k, o.perplexity);
  }
  await pause();
  const tAffinities = (performance.now() - t0) / 1000 - tNeighbours;
  const t1 = performance.now();

  const y0 = await initialEmbedding(m, o, rng, engine);
  // Barnes–Hut runs on points relabelled so that P's neighbours sit close in memory (the
  // attraction then reads nearby rows of y); results are put back in input order.
  // Worker threads repay their start-up from a few thousand points.
  const threads = P ? await autoThreads(o.threads, n >= 4000) : 1;
  const threaded = P !== undefined && threads > 1;
  // FIt-SNE's worker reads y and P and writes the attraction in shared memory.
  const fftShared = o.method === 'fft' && threaded;
  const perm = P ? localityOrder(P) : undefined;
  if (P && perm) P = relabel(P, perm, fftShared);
  const N = n * dims;
  const { f64 } = memory(fftShared);
  const y = perm ? permuteRows(y0, perm, dims, f64(N)) : y0;
  const update = new Float64Array(N);
  const gains = new Float64Array(N).fill(1);
  const grad = new Float64Array(N);
  const fft = o.method === 'fft' ? new FftRepulsion(n, options.grid, fftShared) : undefined;
  const bh = P && !fft ? new BarnesHut(n, dims, threaded) : undefined;
  // The attraction in two fixed shares of P's rows (this thread's, the worker's), summed in the
  // gradient the same way on any thread count.
  const attr = fft ? new Float64Array(N) : undefined;
  const attrW = fft ? f64(N) : undefined;
  const split = fft && P ? splitRows(P, FFT_MAIN_SHARE) : 0;
  const rep = fft ? new Float64Array(N) : undefined;
  if (bh && P) bh.setP(P);
  const qbuf = dense ? new Float64Array(n * n) : undefined;
  let pool: ClosablePool | undefined;
  let fftPool: ClosableFftPool | undefined;
  try {
    if (threaded && bh) {
      pool = await createForcePool(threads - 1, n, dims, bh);
      bh.setPool(pool);
    } else if (fftShared) {
      fftPool = await createFftPool(y, P!, attrW!, split, fft!);
      fft!.setPool(fftPool);
    }
    yield* iterate();
  } finally {
    await pool?.close();
    await fftPool?.close();
  }

  async function* iterate(): AsyncGenerator<TsneStep, void, undefined> {
    for (let it = 0; it < o.iterations; it++) {
      const exploring = it < o.exaggerationIterations;
      const exaggeration = exploring ? o.earlyExaggeration : 1;
      const momentum = exploring ? 0.5 : 0.8;
      const report = finalOnly
        ? it + 1 === o.iterations
        : (it + 1) % o.reportEvery === 0 || it + 1 === o.iterations;
      let kl: number | undefined;
      if (fft && P) {
        const pp = P;
        const Z = fft.forces(y, rep!, () => attraction(y, pp, 2, attr!, 0, split));
        // With a pool, its worker took this share during `forces`.
        if (!fftPool) attraction(y, P, 2, attrW!, split, n);
        const a = attr!;
        const w = attrW!;
        const r = rep!;
        for (let t = 0; t < N; t++) grad[t] = 4 * (exaggeration * (a[t] + w[t]) - r[t] / Z);
        if (report) kl = sparseKl(y, P, dims, Z);
      } else if (bh && P) {
        const Z = bh.gradient(y, P, exaggeration, o.theta, grad);
        if (report) kl = sparseKl(y, P, dims, Z);
      } else {
        const value = exactGradient(y, dense!, n, dims, exaggeration, grad, qbuf!, report);
        if (report) kl = value;
      }
      const lr = o.learningRate;
      for (let t = 0; t < N; t++) {
        const g = grad[t];
        const u = update[t];
        let gain = gains[t];
        gain = u * g < 0 ? gain + 0.2 : gain * 0.8;
        if (gain < 0.01) gain = 0.01;
        gains[t] = gain;
        const nu = momentum * u - lr * gain * g;
        update[t] = nu;
        y[t] += nu;
      }
      recentre(y, n, dims);
      if (report) {
        const embedding = perm ? copyRows(unpermuteRows(y, perm, dims), n, dims) : copyRows(y, n, dims);
        const last = it + 1 === o.iterations;
        const timings = last
          ? {
              neighbours: tNeighbours,
              affinities: tAffinities,
              optimisation: (performance.now() - t1) / 1000,
            }
          : undefined;
        yield { iteration: it + 1, iterations: o.iterations, kl, embedding, ...(timings && { timings }) };
      }
      await pause();
    }
  }
}

/**
 * This thread's share of FIt-SNE's attraction (of P's pairs): it also computes the weights, the
 * sums and the update, so the worker takes more. Measured at 100k (load ~5, early iterations):
 * with 0.5 this thread waited 3 ms per iteration and the worker idled ~60; with 0.25 this thread
 * waited 20 ms.
 */
const FFT_MAIN_SHARE = 0.35;

/** The first row after which `share` of P's stored pairs come. */
function splitRows(P: SparseP, share: number): number {
  const target = share * P.rowPtr[P.n];
  let i = 0;
  while (i < P.n && P.rowPtr[i] < target) i++;
  return i;
}

async function initialEmbedding(
  m: FlatMatrix,
  o: Resolved,
  rng: () => number,
  engine: Engine,
): Promise<Float64Array> {
  const { n } = m;
  const { dims } = o;
  const y = new Float64Array(n * dims);
  if (o.init === 'pca') {
    const p = await pcaFlat(m, { components: dims, seed: o.seed }, engine);
    let mean = 0;
    for (let i = 0; i < n; i++) mean += p.projected[i][0];
    mean /= n;
    let v = 0;
    for (let i = 0; i < n; i++) v += (p.projected[i][0] - mean) ** 2;
    const std = Math.sqrt(v / n);
    if (std > 0) {
      for (let i = 0; i < n; i++)
        for (let c = 0; c < dims; c++) y[i * dims + c] = (p.projected[i][c] / std) * 1e-4;
      return y;
    }
  }
  for (let t = 0; t < y.length; t += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - rng()));
    const th = 2 * Math.PI * rng();
    y[t] = 1e-4 * r * Math.cos(th);
    if (t + 1 < y.length) y[t + 1] = 1e-4 * r * Math.sin(th);
  }
  return y;
}

/**
 * A breadth-first (Cuthill–McKee style) order of P's graph: neighbours get nearby labels.
 * `order[newLabel] = oldLabel`.
 */
export function localityOrder(P: SparseP): Int32Array {
  const { n } = P;
  const { rowPtr, cols } = fullRows(P, false);
  const order = new Int32Array(n);
  const seen = new Uint8Array(n);
  let head = 0;
  let tail = 0;
  for (let start = 0; start < n; start++) {
    if (seen[start]) continue;
    seen[start] = 1;
    order[tail++] = start;
    while (head < tail) {
      const i = order[head++];
      for (let t = rowPtr[i]; t < rowPtr[i + 1]; t++) {
        const j = cols[t];
        if (!seen[j]) {
          seen[j] = 1;
          order[tail++] = j;
        }
      }
    }
  }
  return order;
}

/**
 * P with point order[i] renamed i (pairs stored once, partner > row, ascending); `shared`: in
 * SharedArrayBuffers.
 */
export function relabel(P: SparseP, order: Int32Array, shared = false): SparseP {
  const { n, rowPtr, cols, vals } = P;
  const inv = new Int32Array(n);
  for (let i = 0; i < n; i++) inv[order[i]] = i;
  const { f64, i32 } = memory(shared);
  const start = i32(n + 1);
  for (let a = 0; a < n; a++) {
    for (let t = rowPtr[a]; t < rowPtr[a + 1]; t++) start[Math.min(inv[a], inv[cols[t]]) + 1]++;
  }
  for (let i = 0; i < n; i++) start[i + 1] += start[i];
  const fill = start.slice(0, n);
  const outC = i32(cols.length);
  const outV = f64(cols.length);
  for (let a = 0; a < n; a++) {
    for (let t = rowPtr[a]; t < rowPtr[a + 1]; t++) {
      const x = inv[a];
      const z = inv[cols[t]];
      const pos = fill[Math.min(x, z)]++;
      outC[pos] = Math.max(x, z);
      outV[pos] = vals[t];
    }
  }
  // Each row ascending by partner (insertion sort: rows are short).
  for (let i = 0; i < n; i++) {
    for (let t = start[i] + 1; t < start[i + 1]; t++) {
      const c = outC[t];
      const v = outV[t];
      let u = t - 1;
      while (u >= start[i] && outC[u] > c) {
        outC[u + 1] = outC[u];
        outV[u + 1] = outV[u];
        u--;
      }
      outC[u + 1] = c;
      outV[u + 1] = v;
    }
  }
  return { n, rowPtr: start, cols: outC, vals: outV };
}

function permuteRows(
  y: Float64Array,
  order: Int32Array,
  dims: number,
  out: Float64Array<ArrayBufferLike> = new Float64Array(y.length),
): Float64Array<ArrayBufferLike> {
  for (let i = 0; i < order.length; i++)
    for (let c = 0; c < dims; c++) out[i * dims + c] = y[order[i] * dims + c];
  return out;
}

function unpermuteRows(y: Float64Array, order: Int32Array, dims: number): Float64Array {
  const out = new Float64Array(y.length);
  for (let i = 0; i < order.length; i++)
    for (let c = 0; c < dims; c++) out[order[i] * dims + c] = y[i * dims + c];
  return out;
}

function recentre(y: Float64Array, n: number, dims: number): void {
  for (let c = 0; c < dims; c++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += y[i * dims + c];
    s /= n;
    for (let i = 0; i < n; i++) y[i * dims + c] -= s;
  }
}

function checkVariance(m: FlatMatrix): void {
  const { data, n, d } = m;
  for (let j = 0; j < d; j++) {
    const v0 = data[j];
    for (let i = 1; i < n; i++) if (data[i * d + j] !== v0) return;
  }
  check(false, 'BAD_INPUT', 'x has zero variance (every row is the same); t-SNE needs points that differ');
}
