import { check, checkAborted, checkNumber, createRng } from '@cnnviz/core';
import { knnGraphFlat, type KnnGraph } from './knn-graph.js';
import { chooseEngine, copyRows, readMatrix, type Engine, type FlatMatrix, type Matrix } from './matrix.js';
import { pcaFlat } from './pca.js';

export interface UmapOptions {
  /** Neighbours per point (umap-learn's n_neighbors, the point itself counted). Default 15. */
  neighbors?: number;
  /** Closest distance of points in the map. Default 0.1. */
  minDist?: number;
  /** Scale of the map. Default 1. */
  spread?: number;
  /** SGD epochs. Default as umap-learn: 500 up to 10,000 points, else 200. */
  epochs?: number;
  /** Initial SGD step. Default 1. */
  learningRate?: number;
  /** Negative samples per positive one. Default 5. */
  negativeSampleRate?: number;
  /** Weight of the negative samples (gamma). Default 1. */
  repulsionStrength?: number;
  /** Seeds the neighbour graph, PCA and the negative samples. Default 0. */
  seed?: number;
  /**
   * `pca` (default): the first two principal components (umap-learn's `init='pca'`; its default
   * spectral init is not implemented); `random`: uniform in [-10, 10]. Either is then scaled to
   * [0, 10] per axis as umap-learn does.
   */
  init?: 'pca' | 'random';
  /** A precomputed neighbour graph of x's rows (`knnGraph`) with at least neighbors - 1 per row. */
  graph?: KnnGraph;
  /** Report every this many epochs. Default 10. */
  reportEvery?: number;
  onProgress?: (p: UmapStep) => void;
  signal?: AbortSignal;
}

export interface UmapStep {
  epoch: number;
  epochs: number;
  /** On the last step: the embedding and seconds spent per phase. */
  embedding?: Float32Array[];
  timings?: { neighbours: number; affinities: number; optimisation: number };
}

/**
 * UMAP (McInnes, Healy & Melville 2018), as umap-learn computes it: the fuzzy simplicial set of
 * the k-nearest-neighbour graph (smooth kNN distances: rho_i = nearest distance, sigma_i so that
 * sum_j exp(-(d_ij - rho_i) / sigma_i) = log2 k; fuzzy union w + w^T - w w^T), then SGD of the
 * cross-entropy with edges sampled in proportion to their weight, negative sampling and a curve
 * 1 / (1 + a d^2b) fitted to `minDist`/`spread`. Single-threaded, so a seed gives the same bytes.
 */
export async function umap(x: Matrix, options: UmapOptions = {}): Promise<Float32Array[]> {
  check(typeof options === 'object' && options !== null, 'BAD_OPTION', 'UMAP options must be an object');
  const m = await readMatrix(x, 'x', 2);
  const r = await umapFlat(m, options, chooseEngine());
  return copyRows(r.embedding, m.n, 2);
}

/** UMAP on a validated flat matrix; the embedding as x, y interleaved. */
export async function umapFlat(
  m: FlatMatrix,
  o: UmapOptions,
  engine: Engine,
): Promise<{
  embedding: Float32Array;
  timings: { neighbours: number; affinities: number; optimisation: number };
}> {
  const { n } = m;
  const k = o.neighbors ?? 15;
  checkNumber(k, 'neighbors', { integer: true, min: 2, max: n });
  const minDist = o.minDist ?? 0.1;
  checkNumber(minDist, 'minDist', { min: 0 });
  const spread = o.spread ?? 1;
  checkNumber(spread, 'spread', { min: 0, exclusiveMin: true });
  check(minDist <= spread, 'BAD_OPTION', `minDist (${minDist}) must not exceed spread (${spread})`);
  const epochs = o.epochs ?? (n <= 10_000 ? 500 : 200);
  checkNumber(epochs, 'epochs', { integer: true, min: 1 });
  const lr = o.learningRate ?? 1;
  checkNumber(lr, 'learningRate', { min: 0, exclusiveMin: true });
  const negRate = o.negativeSampleRate ?? 5;
  checkNumber(negRate, 'negativeSampleRate', { min: 0 });
  const gamma = o.repulsionStrength ?? 1;
  checkNumber(gamma, 'repulsionStrength', { min: 0 });
  const seed = o.seed ?? 0;
  checkNumber(seed, 'seed');
  const init = o.init ?? 'pca';
  check(
    init === 'pca' || init === 'random',
    'BAD_OPTION',
    `init must be 'pca' or 'random', got ${String(init)}`,
  );
  const reportEvery = o.reportEvery ?? 10;
  checkNumber(reportEvery, 'reportEvery', { integer: true, min: 1 });
  if (o.graph !== undefined)
    check(
      typeof o.graph === 'object' && o.graph !== null && o.graph.n === n && o.graph.k >= k - 1,
      'BAD_OPTION',
      `graph must be a knnGraph of x's ${n} rows with at least neighbors - 1 = ${k - 1} per row`,
    );

  const t0 = performance.now();
  const kk = k - 1;
  let graph = o.graph;
  if (!graph) graph = await knnGraphFlat(m, { k: kk, seed, signal: o.signal }, engine);
  checkAborted(o.signal, 'UMAP');
  const tNeighbours = (performance.now() - t0) / 1000;
  const edges = fuzzySet(graph, kk, k);
  const { a, b } = fitAB(spread, minDist);
  const tAffinities = (performance.now() - t0) / 1000 - tNeighbours;
  const t1 = performance.now();

  const rng = createRng(seed);
  const y = new Float32Array(2 * n);
  if (init === 'pca') {
    const p = await pcaFlat(m, { components: 2, seed }, engine);
    for (let i = 0; i < n; i++) {
      y[2 * i] = p.projected[i][0];
      y[2 * i + 1] = p.projected[i][1];
    }
    // umap-learn's noisy_scale_coords: largest |coordinate| 10, plus N(0, 1e-4^2) noise.
    let max = 0;
    for (let t = 0; t < 2 * n; t++) max = Math.max(max, Math.abs(y[t]));
    const s = max > 0 ? 10 / max : 1;
    for (let t = 0; t < 2 * n; t++) y[t] = y[t] * s + 1e-4 * gauss(rng);
  } else {
    for (let t = 0; t < 2 * n; t++) y[t] = 20 * rng() - 10;
  }
  for (let c = 0; c < 2; c++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < n; i++) {
      lo = Math.min(lo, y[2 * i + c]);
      hi = Math.max(hi, y[2 * i + c]);
    }
    const s = hi > lo ? 10 / (hi - lo) : 1;
    for (let i = 0; i < n; i++) y[2 * i + c] = (y[2 * i + c] - lo) * s;
  }

  await optimise(y, edges, n, epochs, a, b, gamma, lr, negRate, rng, o, reportEvery);
  const timings = {
    neighbours: tNeighbours,
    affinities: tAffinities,
    optimisation: (performance.now() - t1) / 1000,
  };
  o.onProgress?.({ epoch: epochs, epochs, embedding: copyRows(y, n, 2), timings });
  return { embedding: y, timings };
}

function gauss(rng: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
}

/** The symmetric fuzzy graph as directed edges (both directions), grouped by head. */
export interface FuzzyEdges {
  head: Int32Array;
  tail: Int32Array;
  weight: Float64Array;
}

/**
 * umap-learn's smooth_knn_dist and fuzzy_simplicial_set on `kk` neighbours per row (self
 * excluded; `k` = kk + 1 counts the point itself as umap-learn's graph does).
 */
export function fuzzySet(graph: KnnGraph, kk: number, k: number): FuzzyEdges {
  const { n } = graph;
  const target = Math.log2(k);
  const dist = new Float64Array(n * kk);
  let meanAll = 0;
  for (let i = 0; i < n; i++)
    for (let t = 0; t < kk; t++) {
      const v = Math.sqrt(Math.max(0, graph.dist2[i * graph.k + t]));
      dist[i * kk + t] = v;
      meanAll += v;
    }
  meanAll /= n * kk;
  const w = new Float64Array(n * kk);
  for (let i = 0; i < n; i++) {
    const o = i * kk;
    let rho = 0;
    let mean = 0;
    for (let t = 0; t < kk; t++) mean += dist[o + t];
    mean /= kk;
    for (let t = 0; t < kk; t++)
      if (dist[o + t] > 0) {
        rho = dist[o + t];
        break;
      }
    let lo = 0;
    let hi = Infinity;
    let mid = 1;
    for (let it = 0; it < 64; it++) {
      let psum = 0;
      for (let t = 0; t < kk; t++) {
        const d = dist[o + t] - rho;
        psum += d > 0 ? Math.exp(-d / mid) : 1;
      }
      if (Math.abs(psum - target) < 1e-5) break;
      if (psum > target) {
        hi = mid;
        mid = (lo + hi) / 2;
      } else {
        lo = mid;
        mid = hi === Infinity ? mid * 2 : (lo + hi) / 2;
      }
    }
    // umap-learn's MIN_K_DIST_SCALE floor on sigma.
    const floor = 1e-3 * (rho > 0 ? mean : meanAll);
    const sigma = Math.max(mid, floor);
    for (let t = 0; t < kk; t++) {
      const d = dist[o + t] - rho;
      w[o + t] = d <= 0 ? 1 : Math.exp(-d / sigma);
    }
  }
  // Fuzzy union: w_ij + w_ji - w_ij w_ji over the pairs listed from either side.
  const deg = new Int32Array(n + 1);
  for (let i = 0; i < n; i++)
    for (let t = 0; t < kk; t++) {
      deg[i + 1]++;
      deg[graph.indices[i * graph.k + t] + 1]++;
    }
  for (let i = 0; i < n; i++) deg[i + 1] += deg[i];
  const fill = deg.slice(0, n);
  const cols = new Int32Array(deg[n]);
  const vals = new Float64Array(deg[n]);
  const own = new Uint8Array(deg[n]);
  for (let i = 0; i < n; i++)
    for (let t = 0; t < kk; t++) {
      const j = graph.indices[i * graph.k + t];
      const v = w[i * kk + t];
      cols[fill[i]] = j;
      vals[fill[i]] = v;
      own[fill[i]++] = 1;
      cols[fill[j]] = i;
      vals[fill[j]] = v;
      own[fill[j]++] = 0;
    }
  const head: number[] = [];
  const tail: number[] = [];
  const weight: number[] = [];
  const order: number[] = [];
  for (let i = 0; i < n; i++) {
    order.length = 0;
    for (let t = deg[i]; t < deg[i + 1]; t++) order.push(t);
    order.sort((x, y) => cols[x] - cols[y] || own[y] - own[x]);
    for (let u = 0; u < order.length;) {
      const j = cols[order[u]];
      let wij = 0;
      let wji = 0;
      while (u < order.length && cols[order[u]] === j) {
        if (own[order[u]]) wij = vals[order[u]];
        else wji = vals[order[u]];
        u++;
      }
      const v = wij + wji - wij * wji;
      if (j !== i && v > 0) {
        head.push(i);
        tail.push(j);
        weight.push(v);
      }
    }
  }
  return { head: Int32Array.from(head), tail: Int32Array.from(tail), weight: Float64Array.from(weight) };
}

/**
 * a, b of 1 / (1 + a d^2b) fitted by least squares (Gauss–Newton) to 1 for d < minDist and
 * exp(-(d - minDist) / spread) beyond, on 300 points of [0, 3 spread] (umap-learn's find_ab_params).
 */
export function fitAB(spread: number, minDist: number): { a: number; b: number } {
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i < 300; i++) {
    const x = (3 * spread * i) / 299;
    xs.push(x);
    ys.push(x < minDist ? 1 : Math.exp(-(x - minDist) / spread));
  }
  let a = 1;
  let b = 1;
  const f = (x: number, A: number, B: number): number => (x > 0 ? 1 / (1 + A * x ** (2 * B)) : 1);
  const cost = (A: number, B: number): number => xs.reduce((s, x, i) => s + (f(x, A, B) - ys[i]) ** 2, 0);
  let lambda = 1e-3;
  let c = cost(a, b);
  for (let it = 0; it < 200; it++) {
    // Levenberg–Marquardt on the 2 x 2 normal equations.
    let jaa = 0;
    let jab = 0;
    let jbb = 0;
    let ga = 0;
    let gb = 0;
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i];
      if (x <= 0) continue;
      const p = x ** (2 * b);
      const den = 1 + a * p;
      const r = 1 / den - ys[i];
      const da = -p / (den * den);
      const db = (-a * p * 2 * Math.log(x)) / (den * den);
      jaa += da * da;
      jab += da * db;
      jbb += db * db;
      ga += da * r;
      gb += db * r;
    }
    const A11 = jaa * (1 + lambda);
    const A22 = jbb * (1 + lambda);
    const det = A11 * A22 - jab * jab;
    const sa = -(A22 * ga - jab * gb) / det;
    const sb = -(A11 * gb - jab * ga) / det;
    const c2 = cost(a + sa, b + sb);
    if (c2 < c) {
      a += sa;
      b += sb;
      lambda /= 10;
      if (c - c2 < 1e-14) break;
      c = c2;
    } else {
      lambda *= 10;
    }
  }
  return { a, b };
}

async function optimise(
  y: Float32Array,
  e: FuzzyEdges,
  n: number,
  epochs: number,
  a: number,
  b: number,
  gamma: number,
  alpha0: number,
  negRate: number,
  rng: () => number,
  o: UmapOptions,
  reportEvery: number,
): Promise<void> {
  let wmax = 0;
  for (let t = 0; t < e.weight.length; t++) wmax = Math.max(wmax, e.weight[t]);
  // Edges too weak to be sampled once in `epochs` are dropped; the rest get a period.
  const keep: number[] = [];
  for (let t = 0; t < e.weight.length; t++) if (e.weight[t] >= wmax / epochs) keep.push(t);
  const E = keep.length;
  const head = Int32Array.from(keep, (t) => e.head[t]);
  const tail = Int32Array.from(keep, (t) => e.tail[t]);
  const eps = Float64Array.from(keep, (t) => wmax / e.weight[t]);
  const epsNeg = Float64Array.from(eps, (v) => (negRate > 0 ? v / negRate : Infinity));
  const nextPos = Float64Array.from(eps);
  const nextNeg = Float64Array.from(epsNeg);
  const clip = (v: number): number => (v > 4 ? 4 : v < -4 ? -4 : v);
  let last = performance.now();
  for (let ep = 0; ep < epochs; ep++) {
    checkAborted(o.signal, 'UMAP');
    const alpha = alpha0 * (1 - ep / epochs);
    for (let t = 0; t < E; t++) {
      if (nextPos[t] > ep) continue;
      const j = head[t];
      const k = tail[t];
      let dx = y[2 * j] - y[2 * k];
      let dy = y[2 * j + 1] - y[2 * k + 1];
      let d2 = dx * dx + dy * dy;
      if (d2 > 0) {
        // exp(b log d2) rather than Math.pow: the same value to a few ulps in ~60 % of the time, and this
        // line runs ~10^9 times for a million points.
        const pb = Math.exp(b * Math.log(d2));
        const g = (-2 * a * b * (pb / d2)) / (a * pb + 1);
        const gx = clip(g * dx) * alpha;
        const gy = clip(g * dy) * alpha;
        y[2 * j] += gx;
        y[2 * j + 1] += gy;
        y[2 * k] -= gx;
        y[2 * k + 1] -= gy;
      }
      nextPos[t] += eps[t];
      const negs = Math.floor((ep - nextNeg[t]) / epsNeg[t]);
      for (let s = 0; s < negs; s++) {
        const r = Math.floor(rng() * n);
        if (r === j) continue;
        dx = y[2 * j] - y[2 * r];
        dy = y[2 * j + 1] - y[2 * r + 1];
        d2 = dx * dx + dy * dy;
        if (d2 > 0) {
          const g = (2 * gamma * b) / ((0.001 + d2) * (a * Math.exp(b * Math.log(d2)) + 1));
          y[2 * j] += clip(g * dx) * alpha;
          y[2 * j + 1] += clip(g * dy) * alpha;
        }
      }
      if (negs > 0) nextNeg[t] += negs * epsNeg[t];
      if ((t & 0xffff) === 0xffff && performance.now() - last > 40) {
        await new Promise<void>((res) => setTimeout(res, 0));
        last = performance.now();
        checkAborted(o.signal, 'UMAP');
      }
    }
    if ((ep + 1) % reportEvery === 0 && ep + 1 < epochs) o.onProgress?.({ epoch: ep + 1, epochs });
  }
}
