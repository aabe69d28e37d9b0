import { check, checkAborted, checkNumber, createRng } from '@cnnviz/core';
import { denseJointP, sparseJointP, type SparseP } from './affinities.js';
import { knnFlat } from './knn.js';
import { copyRows, preferTfMatMul, readMatrix, type FlatMatrix, type Matrix } from './matrix.js';
import { pcaFlat } from './pca.js';
import { BarnesHut, exactGradient, sparseKl } from './tsne-gradient.js';
import { createForcePool, type ClosablePool } from './tsne-threads.js';
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
  /** `barnes-hut` (default), or `exact` O(N^2) t-SNE for N <= 2000 (the reference). */
  method?: 'barnes-hut' | 'exact';
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
   * shared memory, taking chunks of points from an atomic counter). The result does not depend
   * on the count. Default 1.
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
  let last: TsneStep | undefined;
  for await (const step of tsneSteps(x, options)) {
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
  yield* tsneFlat(m, options, preferTfMatMul());
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
  method: 'barnes-hut' | 'exact';
  neighbors: 'vptree' | 'knn';
  reportEvery: number;
  threads: number;
}

export const EXACT_TSNE_MAX_N = 2000;

function resolveOptions(o: TsneOptions, n: number, d: number): Resolved {
  const dims = o.dims ?? 2;
  const method = o.method ?? 'barnes-hut';
  check(
    method === 'barnes-hut' || method === 'exact',
    'BAD_OPTION',
    `method must be 'barnes-hut' or 'exact', got ${String(method)}`,
  );
  checkNumber(dims, 'dims', { integer: true, min: 1, max: method === 'barnes-hut' ? 3 : 64 });
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
  const threads = o.threads ?? 1;
  checkNumber(threads, 'threads', { integer: true, min: 1, max: 64 });
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

/** The t-SNE driver on a validated flat matrix (also what the worker runs). */
export async function* tsneFlat(
  m: FlatMatrix,
  options: TsneOptions,
  useTf: boolean,
): AsyncGenerator<TsneStep, void, undefined> {
  const { n, d, data } = m;
  const o = resolveOptions(options, n, d);
  checkVariance(m);
  const pause = pauser(options.signal);
  const rng = createRng(o.seed);
  const { dims } = o;

  let P: SparseP | undefined;
  let dense: Float64Array | undefined;
  if (o.method === 'exact') {
    dense = denseJointP(data, n, d, o.perplexity);
  } else {
    const k = Math.min(n - 1, Math.floor(3 * o.perplexity + 1));
    let indices: Int32Array;
    let dist2: Float64Array;
    if (o.neighbors === 'knn') {
      const r = await knnFlat(m, 'self', { k, excludeSelf: true, signal: options.signal }, useTf);
      indices = r.indices;
      dist2 = r.dist;
    } else {
      // Its own random stream, so the neighbour method does not shift the random init.
      ({ indices, dist2 } = await vpTreeKnn(data, n, d, k, createRng(o.seed + 0x9e3779b9), pause));
    }
    await pause();
    P = sparseJointP(indices, dist2, n, k, o.perplexity);
  }
  await pause();

  const y = await initialEmbedding(m, o, rng, useTf);
  const N = n * dims;
  const update = new Float64Array(N);
  const gains = new Float64Array(N).fill(1);
  const grad = new Float64Array(N);
  const threaded = P !== undefined && o.threads > 1;
  const bh = P ? new BarnesHut(n, dims, threaded) : undefined;
  const qbuf = dense ? new Float64Array(n * n) : undefined;
  let pool: ClosablePool | undefined;
  if (threaded) {
    pool = await createForcePool(o.threads - 1, n, dims, bh!);
    bh!.setPool(pool);
  }
  try {
    yield* iterate();
  } finally {
    await pool?.close();
  }

  async function* iterate(): AsyncGenerator<TsneStep, void, undefined> {
    for (let it = 0; it < o.iterations; it++) {
      const exploring = it < o.exaggerationIterations;
      const exaggeration = exploring ? o.earlyExaggeration : 1;
      const momentum = exploring ? 0.5 : 0.8;
      const report = (it + 1) % o.reportEvery === 0 || it + 1 === o.iterations;
      let kl: number | undefined;
      if (bh && P) {
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
        yield { iteration: it + 1, iterations: o.iterations, kl, embedding: copyRows(y, n, dims) };
      }
      await pause();
    }
  }
}

async function initialEmbedding(
  m: FlatMatrix,
  o: Resolved,
  rng: () => number,
  useTf: boolean,
): Promise<Float64Array> {
  const { n } = m;
  const { dims } = o;
  const y = new Float64Array(n * dims);
  if (o.init === 'pca') {
    const p = await pcaFlat(m, { components: dims, seed: o.seed }, useTf);
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
