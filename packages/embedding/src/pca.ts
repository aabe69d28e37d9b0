import * as tf from '@tensorflow/tfjs-core';
import { check, checkNumber, createRng, type Rng } from '@cnnviz/core';
import { gemmAB, gemmAtB, gramAtA, orthonormalizer, symmetricEigen } from './linalg.js';
import {
  autoThreads,
  checkFiniteFlat,
  chooseEngine,
  readMatrix,
  type Engine,
  type FlatMatrix,
  type Matrix,
} from './matrix.js';
import {
  asA,
  asAt,
  asB,
  matrixSize,
  packBt,
  packedBSize,
  packedOperandA,
  packedOperandB,
  productSize,
  SimdGemm,
  simdGemm,
  type View,
} from './simd-gemm.js';

export interface PcaOptions {
  /** Number of principal components to keep, 1..min(N, D). */
  components: number;
  /**
   * `exact`: eigendecomposition of the D x D covariance (or the N x N Gram matrix when N < D).
   * `randomized`: randomized SVD (Halko, Martinsson & Tropp 2011, Alg. 4.4). `auto` (default)
   * picks exact when min(N, D) <= max(100, 2 * (components + oversamples)), else randomized.
   */
  method?: 'auto' | 'exact' | 'randomized';
  /** Scale each projected coordinate to unit variance. Default false. */
  whiten?: boolean;
  /** Seed of the random test matrix (randomized method). Default 0. */
  seed?: number;
  /** Extra random directions beyond `components` (randomized). Default 10. */
  oversamples?: number;
  /** Subspace iterations (randomized); more sharpen a slowly decaying spectrum. Default 4. */
  powerIterations?: number;
  /**
   * Threads for the products on the CPU backends (Node worker_threads; ignored elsewhere).
   * Default: every core (at most 8) for large inputs, else 1. The result does not depend on it.
   */
  threads?: number;
}

export interface PcaResult {
  /** The data in component coordinates: N rows of `components` values. */
  projected: Float32Array[];
  /** Unit principal axes, strongest first: `components` rows of D values. Sign: largest |entry| positive. */
  components: Float32Array[];
  /** Variance along each axis (denominator N - 1). */
  explainedVariance: Float32Array;
  /** `explainedVariance` over the total variance of the data. */
  explainedVarianceRatio: Float32Array;
  /** Column means subtracted before projecting. */
  mean: Float32Array;
  /** The method that ran (resolves `auto`). */
  method: 'exact' | 'randomized';
}

/**
 * Principal component analysis of the rows of `x`. Exact for small dimensions, randomized SVD
 * for large ones; big products run on the active TF.js backend when it is a GPU one, else on
 * this package's WebAssembly SIMD kernel (see `chooseEngine`). Deterministic for a given seed
 * and engine.
 */
export async function pca(x: Matrix, options: PcaOptions): Promise<PcaResult> {
  const engine = chooseEngine();
  let early: SimdGemm | null | undefined;
  if (x instanceof tf.Tensor && x.rank === 2 && !x.isDisposed) {
    const [n, d] = x.shape as [number, number];
    const o = resolvePcaOptions(options, n, d);
    // A tensor bound for the randomized path never leaves the backend: no 50 MB read and re-upload.
    if (engine === 'tf' && o.method === 'randomized') return pcaTensor(x as tf.Tensor2D, o);
    // The worker threads start, and map the memory the data will take, while it is read.
    if (engine === 'simd' && o.method === 'randomized') early = await startKernel(options, n, d, o);
  }
  try {
    // A tensor's values are checked for NaN and infinities in PCA's first pass over them.
    const m = await readMatrix(x, 'x', 2, false);
    return await pcaFlat(m, options, engine, { checked: !(x instanceof tf.Tensor), gemm: early });
  } finally {
    await early?.close();
  }
}

interface Basis {
  /** Axes, row per component (length `k * d`), float64. */
  axes: Float64Array;
  /** Projections, row per data point (length `n * k`), float64. */
  proj: Float64Array;
  /** Variance per axis. */
  variance: Float64Array;
}

interface ResolvedPca {
  k: number;
  method: 'exact' | 'randomized';
  whiten: boolean;
  seed: number;
  l: number;
  q: number;
}

function resolvePcaOptions(options: PcaOptions, n: number, d: number): ResolvedPca {
  check(
    typeof options === 'object' && options !== null,
    'BAD_OPTION',
    'pca options must be an object with `components`',
  );
  check(n >= 2, 'BAD_INPUT', `x must have at least 2 row(s), got ${n}`);
  const { components: k, whiten = false, seed = 0, oversamples = 10, powerIterations = 4 } = options;
  const method = options.method ?? 'auto';
  checkNumber(k, 'components', { integer: true, min: 1, max: Math.min(n, d) });
  check(
    method === 'auto' || method === 'exact' || method === 'randomized',
    'BAD_OPTION',
    `method must be 'auto', 'exact' or 'randomized', got ${String(method)}`,
  );
  checkNumber(seed, 'seed');
  checkNumber(oversamples, 'oversamples', { integer: true, min: 0 });
  checkNumber(powerIterations, 'powerIterations', { integer: true, min: 0, max: 100 });
  if (options.threads !== undefined)
    checkNumber(options.threads, 'threads', { integer: true, min: 1, max: 64 });
  check(typeof whiten === 'boolean', 'BAD_OPTION', `whiten must be a boolean, got ${String(whiten)}`);
  const small = Math.min(n, d);
  const resolved: 'exact' | 'randomized' =
    method !== 'auto' ? method : small <= Math.max(100, 2 * (k + oversamples)) ? 'exact' : 'randomized';
  return { k, method: resolved, whiten, seed, l: Math.min(k + oversamples, small), q: powerIterations };
}

/**
 * PCA on a flat matrix; `engine` runs the large products (see `chooseEngine`). `pre.checked`
 * false: the values have not been checked for NaN and infinities yet; `pre.gemm`: a kernel
 * (started early) for the SIMD path, which then closes it.
 */
export async function pcaFlat(
  m: FlatMatrix,
  options: PcaOptions,
  engine: Engine = 'js',
  pre: { checked?: boolean; gemm?: SimdGemm | null } = {},
): Promise<PcaResult> {
  const { n, d } = m;
  const o = resolvePcaOptions(options, n, d);
  if (engine === 'simd' && o.method === 'randomized') {
    const g = pre.gemm !== undefined ? pre.gemm : await startKernel(options, n, d, o);
    if (g !== null) {
      try {
        const { basis, mean, totalVariance } = randomizedSimd(g, m, o);
        return assemble(basis, mean, totalVariance, n, d, o);
      } catch (e) {
        // The data lives in one wasm memory (4 GiB at most): beyond, typed-array loops.
        if (!(e instanceof RangeError)) throw e;
      } finally {
        await g.close();
      }
    }
  }
  if (pre.checked === false) checkFiniteFlat(m.data, d, 'x');
  const { mean, centred, totalVariance } = centre(m);
  checkVariance(totalVariance);
  let basis: Basis;
  if (o.method === 'exact') {
    basis = await exactPca(centred, n, d, o.k, engine);
  } else if (engine === 'tf') {
    const Xc = tf.tensor2d(centred, [n, d]);
    try {
      basis = await randomizedTf(Xc, n, d, o.k, o.l, o.q, createRng(o.seed));
    } finally {
      Xc.dispose();
    }
  } else {
    basis = randomizedJs(centred, n, d, o.k, o.l, o.q, createRng(o.seed));
  }
  return assemble(basis, mean, totalVariance, n, d, o);
}

function checkVariance(totalVariance: number): void {
  check(
    totalVariance > 0,
    'BAD_INPUT',
    'x has zero variance (every row is the same); PCA needs data that varies',
  );
}

/**
 * The SIMD kernel for a randomized PCA, its workers starting (they join the products as they
 * come up) and mapping the memory the data will take.
 */
async function startKernel(
  options: PcaOptions,
  n: number,
  d: number,
  o: ResolvedPca,
): Promise<SimdGemm | null> {
  const g = await SimdGemm.create(await pcaThreads(options, n, d, o), false);
  g?.prefault(matrixSize(n, rowStride(d)));
  return g;
}

/** Threads for the randomized products: all cores once they pass ~0.1 s of single-core work. */
function pcaThreads(options: PcaOptions, n: number, d: number, o: ResolvedPca): Promise<number> {
  return autoThreads(options.threads, n * d * o.l * (2 * o.q + 3) > 2e9);
}

/** Randomized PCA of a tensor entirely on the backend (centring and variance included). */
async function pcaTensor(x: tf.Tensor2D, o: ResolvedPca): Promise<PcaResult> {
  const [n, d] = x.shape;
  const bad = tf.tidy(() => tf.sum(tf.cast(tf.logicalNot(tf.isFinite(x)), 'int32')));
  const badCount = (await bad.data())[0];
  bad.dispose();
  check(
    badCount === 0,
    'BAD_INPUT',
    `x contains ${badCount} NaN or infinite value(s); every value must be a finite number`,
  );
  const meanT = tf.mean(x, 0);
  const Xc = tf.sub(x, meanT) as tf.Tensor2D;
  try {
    // Per-column sums of squares (each over N values) added in float64 for the total variance.
    const colSs = tf.tidy(() => tf.sum(tf.square(Xc), 0));
    const ss = await colSs.data();
    colSs.dispose();
    let total = 0;
    for (let j = 0; j < d; j++) total += ss[j];
    total /= n - 1;
    checkVariance(total);
    const mean = Float64Array.from(await meanT.data());
    const basis = await randomizedTf(Xc, n, d, o.k, o.l, o.q, createRng(o.seed));
    return assemble(basis, mean, total, n, d, o);
  } finally {
    meanT.dispose();
    Xc.dispose();
  }
}

function assemble(
  basis: Basis,
  mean: Float64Array,
  totalVariance: number,
  n: number,
  d: number,
  o: ResolvedPca,
): PcaResult {
  const { k } = o;
  fixSigns(basis, n, d, k);
  const explainedVariance = Float32Array.from(basis.variance);
  const explainedVarianceRatio = Float32Array.from(basis.variance, (v) => v / totalVariance);
  const projected: Float32Array[] = new Array(n);
  const scale = new Float64Array(k).fill(1);
  if (o.whiten)
    for (let c = 0; c < k; c++) scale[c] = basis.variance[c] > 0 ? 1 / Math.sqrt(basis.variance[c]) : 0;
  for (let i = 0; i < n; i++) {
    const row = new Float32Array(k);
    for (let c = 0; c < k; c++) row[c] = basis.proj[i * k + c] * scale[c];
    projected[i] = row;
  }
  const comps: Float32Array[] = [];
  for (let c = 0; c < k; c++) comps.push(Float32Array.from(basis.axes.subarray(c * d, (c + 1) * d)));
  return {
    projected,
    components: comps,
    explainedVariance,
    explainedVarianceRatio,
    mean: Float32Array.from(mean),
    method: o.method,
  };
}

/** Column means, total variance and the centred data as float32. */
function centre(m: FlatMatrix): { mean: Float64Array; centred: Float32Array; totalVariance: number } {
  const { data, n, d } = m;
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += data[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  const centred = new Float32Array(n * d);
  let ss = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const v = data[i * d + j] - mean[j];
      centred[i * d + j] = v;
      ss += v * v;
    }
  }
  // Float32 storage of constant columns is exact, so identical rows give exactly zero here.
  return { mean, centred, totalVariance: ss / (n - 1) };
}

async function exactPca(X: Float32Array, n: number, d: number, k: number, engine: Engine): Promise<Basis> {
  const wide = n < d;
  const s = wide ? n : d;
  let G: Float64Array;
  const big = n * d * s > 2e8;
  const g = big && engine === 'simd' ? simdGemm() : null;
  if (engine === 'tf' && big) {
    G = await tfGram(X, n, d, wide);
  } else if (g !== null) {
    if (wide) {
      const Xt = new Float32Array(n * d);
      for (let i = 0; i < n; i++) for (let t = 0; t < d; t++) Xt[t * n + i] = X[i * d + t];
      G = g.gram(Xt, d, n);
    } else {
      G = g.gram(X, n, d);
    }
  } else if (wide) {
    G = new Float64Array(n * n);
    for (let a = 0; a < n; a++) {
      for (let b = a; b < n; b++) {
        let acc = 0;
        for (let t = 0; t < d; t++) acc += X[a * d + t] * X[b * d + t];
        G[a * n + b] = acc;
        G[b * n + a] = acc;
      }
    }
  } else {
    G = gramAtA(X, n, d);
  }
  const { values, vectors } = symmetricEigen(G, s);
  const variance = new Float64Array(k);
  const axes = new Float64Array(k * d);
  const proj = new Float64Array(n * k);
  for (let c = 0; c < k; c++) {
    const lambda = Math.max(values[c], 0);
    variance[c] = lambda / (n - 1);
    if (!wide) axes.set(vectors.subarray(c * d, (c + 1) * d), c * d);
  }
  if (wide) {
    // v = X^T u / |X^T u|; for null directions any unit vector orthogonal to the rest will do.
    for (let c = 0; c < k; c++) {
      const u = vectors.subarray(c * n, (c + 1) * n);
      for (let i = 0; i < n; i++) {
        const w = u[i];
        for (let t = 0; t < d; t++) axes[c * d + t] += w * X[i * d + t];
      }
    }
    completeBasis(axes, k, d);
  }
  projectInto(X, n, d, axes, k, proj);
  return { axes, proj, variance };
}

async function tfGram(X: Float32Array, n: number, d: number, wide: boolean): Promise<Float64Array> {
  const t = tf.tensor2d(X, [n, d]);
  // Transposes are explicit: wasm's matMul with a transposed operand is ~10x slower.
  const g = tf.tidy(() => (wide ? tf.matMul(t, tf.transpose(t)) : tf.matMul(tf.transpose(t), t)));
  try {
    return Float64Array.from(await g.data());
  } finally {
    t.dispose();
    g.dispose();
  }
}

function projectInto(
  X: Float32Array,
  n: number,
  d: number,
  axes: Float64Array,
  k: number,
  out: Float64Array,
): void {
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < k; c++) {
      let acc = 0;
      for (let t = 0; t < d; t++) acc += X[i * d + t] * axes[c * d + t];
      out[i * k + c] = acc;
    }
  }
}

/**
 * Normalises the first rows of `axes` and replaces rows that are (numerically) zero or
 * dependent by unit vectors orthogonal to the others: those carry no variance, but a result
 * must still have `k` orthonormal axes.
 */
function completeBasis(axes: Float64Array, k: number, d: number, filled = 0): void {
  let probe = 0;
  for (let c = filled; c < k; c++) {
    const row = axes.subarray(c * d, (c + 1) * d);
    for (let attempt = 0; ; attempt++) {
      const before = Math.sqrt(row.reduce((s, v) => s + v * v, 0));
      for (let p = 0; p < c; p++) {
        const other = axes.subarray(p * d, (p + 1) * d);
        let proj = 0;
        for (let t = 0; t < d; t++) proj += row[t] * other[t];
        for (let t = 0; t < d; t++) row[t] -= proj * other[t];
      }
      const norm = Math.sqrt(row.reduce((s, v) => s + v * v, 0));
      if (norm > 1e-6 * Math.max(before, 1e-300) && norm > 0 && attempt < d + 2) {
        for (let t = 0; t < d; t++) row[t] /= norm;
        break;
      }
      row.fill(0);
      row[probe++ % d] = 1;
    }
  }
}

function randomizedJs(
  X: Float32Array,
  n: number,
  d: number,
  k: number,
  l: number,
  q: number,
  rng: Rng,
): Basis {
  const omega = gaussian(d * l, rng);
  const tol = 1e-12;
  let r = l;
  let Y = gemmAB(X, omega, n, d, r);
  ({ Q: Y, r } = orthJs(Y, n, r, tol));
  for (let it = 0; it < q; it++) {
    let Z = gemmAtB(X, Y, n, d, r);
    ({ Q: Z, r } = orthJs(Z, d, r, tol));
    Y = gemmAB(X, Z, n, d, r);
    ({ Q: Y, r } = orthJs(Y, n, r, tol));
  }
  ({ Q: Y, r } = orthJs(Y, n, r, tol));
  const T = gemmAtB(X, Y, n, d, r);
  const { axes, variance, coef, kept } = finishRandomized(transposed(T, d, r), n, d, k, r);
  const proj = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < kept; c++) {
      let acc = 0;
      for (let j = 0; j < r; j++) acc += Y[i * r + j] * coef[j * kept + c];
      proj[i * k + c] = acc;
    }
  }
  return { axes, proj, variance };
}

async function randomizedTf(
  Xc: tf.Tensor2D,
  n: number,
  d: number,
  k: number,
  l: number,
  q: number,
  rng: Rng,
): Promise<Basis> {
  const omega = tf.tensor2d(Float32Array.from(gaussian(d * l, rng)), [d, l]);
  // X^T is kept too: wasm's matMul with a transposed operand is ~10x slower than on a plain one.
  const XcT = tf.transpose(Xc);
  // float32 Gram matrices resolve singular values down to ~1e-3 of the largest; directions
  // below that carry < 1e-6 of the variance and are dropped rather than amplified as noise.
  const tol = 1e-6;
  let Y = tf.matMul(Xc, omega) as tf.Tensor2D;
  omega.dispose();
  try {
    Y = await orthTf(Y);
    for (let it = 0; it < q; it++) {
      const Z = await orthTf(tf.matMul(XcT, Y) as tf.Tensor2D);
      Y.dispose();
      const Y1 = tf.matMul(Xc, Z) as tf.Tensor2D;
      Z.dispose();
      Y = await orthTf(Y1);
    }
    Y = await orthTf(Y);
    const T = tf.matMul(XcT, Y);
    const Tv = Float64Array.from(await T.data());
    T.dispose();
    const r = Y.shape[1];
    const { axes, variance, coef, kept } = finishRandomized(transposed(Tv, d, r), n, d, k, r);
    // Projections X V = Q U S on the backend: an [n, r] x [r, k] product.
    const proj = new Float64Array(n * k);
    if (kept > 0) {
      const c = tf.tensor2d(Float32Array.from(coef), [r, kept]);
      const p = tf.matMul(Y, c);
      c.dispose();
      const pv = await p.data();
      p.dispose();
      for (let i = 0; i < n; i++) for (let j = 0; j < kept; j++) proj[i * k + j] = pv[i * kept + j];
    }
    return { axes, proj, variance };
  } finally {
    Y.dispose();
    XcT.dispose();
  }

  async function orthTf(A: tf.Tensor2D): Promise<tf.Tensor2D> {
    const cols = A.shape[1];
    const g = tf.tidy(() => tf.matMul(tf.transpose(A), A));
    const G = Float64Array.from(await g.data());
    g.dispose();
    const { M, r } = orthonormalizer(G, cols, tol);
    const mt = tf.tensor2d(Float32Array.from(M), [cols, r]);
    const out = tf.matMul(A, mt) as tf.Tensor2D;
    mt.dispose();
    A.dispose();
    return out;
  }
}

/**
 * Row stride of the data in kernel memory: whole 64-byte lines, an odd number of them, so that
 * a walk down a column (X as B) visits every cache set; 1,280 floats (20 lines) would keep
 * hitting 4 of L1's 64 sets.
 */
const rowStride = (d: number): number => {
  const lines = Math.ceil(d / 16);
  return (lines % 2 === 0 ? lines + 1 : lines) * 16;
};

/**
 * `randomizedTf` on the WebAssembly SIMD kernel. The data is copied once into the kernel's
 * memory and centred there in place (float64 means; a NaN or infinity shows as a non-finite
 * column sum); every product then reads it where it lies, X B with X as A and Q^T X with X as
 * B, so it is never packed or transposed. Products are float32, as on a TF.js backend.
 */
function randomizedSimd(
  g: SimdGemm,
  m: FlatMatrix,
  o: ResolvedPca,
): { basis: Basis; mean: Float64Array; totalVariance: number } {
  const { data, n, d } = m;
  const { k, l, q } = o;
  const x = g.matrix(n, d, data, rowStride(d));
  const sums = g.columnSums(x);
  if (!sums.every((v) => Number.isFinite(v))) checkFiniteFlat(data, d, 'x');
  const mean = sums.map((v) => v / n);
  const totalVariance = g.centre(x, mean) / (n - 1);
  checkVariance(totalVariance);
  // See randomizedTf for the tolerance.
  const tol = 1e-6;
  // Two n x l slots that the range finder's iterates alternate between.
  const slots = [g.alloc(productSize(n, l)), g.alloc(productSize(n, l))];
  const scratch = g.mark();
  /** Orthonormal columns spanning Y (n x c, kernel memory): Y M, into `slot`. */
  const orthRows = (y: View, slot: number): View => {
    const { M, r } = orthonormalizer(g.gramOf(y), y.cols, tol);
    const Q = g.product(asA(y), n, y.cols, g.packedB(M, y.cols, r), r, 512, 8, slot);
    g.reset(scratch);
    return Q;
  };
  /**
   * Q^T X (r x d): X as B, with Q^T (Q as it lies) as A. Slices of 32 rows of X by 4 panels
   * keep both in L1 (measured ~20% faster than 512 x 8); the few rows split by columns.
   */
  const xtq = (Q: View): View => g.product(asAt(Q), Q.cols, n, asB(x), d, 32, 4);
  /** X Z for Z^T (r x d) in kernel memory, after orthonormalising the columns of Z: into `slot`. */
  const xz = (zt: View, slot: number): View => {
    const { M, r } = orthonormalizer(g.gramRows(zt), zt.rows, tol);
    // (Z M)^T = M^T Z^T.
    const Mt = new Float64Array(r * zt.rows);
    for (let c = 0; c < r; c++) for (let j = 0; j < zt.rows; j++) Mt[c * zt.rows + j] = M[j * r + c];
    const z2 = g.read(g.product(packedOperandA(g.packedA(Mt, r, zt.rows), zt.rows), r, zt.rows, asB(zt), d));
    g.reset(scratch);
    const bp = g.alloc(packedBSize(r, d));
    packBt(z2, d, 0, r, d, g.f32(), bp >> 2);
    const y = g.product(asA(x), n, d, packedOperandB(bp, d), r, 512, 8, slot);
    g.reset(scratch);
    return y;
  };
  const rng = createRng(o.seed);
  let Y = g.product(asA(x), n, d, g.packedB(gaussian(d * l, rng), d, l), l, 512, 8, slots[1]);
  g.reset(scratch);
  let Q = orthRows(Y, slots[0]);
  for (let it = 0; it < q; it++) {
    Y = xz(xtq(Q), slots[1]);
    Q = orthRows(Y, slots[0]);
  }
  Q = orthRows(Q, slots[1]);
  const r = Q.cols;
  const B = Float64Array.from(g.read(xtq(Q)));
  g.reset(scratch);
  const { axes, variance, coef, kept } = finishRandomized(B, n, d, k, r);
  const proj = new Float64Array(n * k);
  if (kept > 0) {
    const pv = g.read(g.product(asA(Q), n, r, g.packedB(coef, r, kept), kept));
    for (let i = 0; i < n; i++) for (let j = 0; j < kept; j++) proj[i * k + j] = pv[i * kept + j];
  }
  g.reset();
  return { basis: { axes, proj, variance }, mean, totalVariance };
}

/** Orthonormal columns spanning `Y (rows x l)`: two passes through the Gram matrix. */
function orthJs(Y: Float64Array, rows: number, l: number, tol: number): { Q: Float64Array; r: number } {
  let Q = Y;
  let r = l;
  for (let pass = 0; pass < 2; pass++) {
    const { M, r: r2 } = orthonormalizer(gramAtA(Q, rows, r), r, tol);
    Q = gemmAB(Q, M, rows, r, r2);
    r = r2;
  }
  return { Q, r };
}

/**
 * With Q orthonormal (n x r) and B = Q^T X (r x d, row-major in `B`): the SVD of B comes from
 * the small eigenproblem B B^T = U S^2 U^T; axes V = B^T U / S, projections X V = Q U S.
 * Returns the axes, variances and `coef` = U S (r x kept) for the caller to form Q U S.
 */
function finishRandomized(
  B: Float64Array,
  n: number,
  d: number,
  k: number,
  r: number,
): { axes: Float64Array; variance: Float64Array; coef: Float64Array; kept: number } {
  // Short loops in small functions: V8 optimises them after a few calls (one long loop nest
  // would run unoptimised for most of this one call).
  const S = new Float64Array(r * r);
  for (let a = 0; a < r; a++) {
    for (let b = a; b < r; b++) {
      const v = dot(B, a * d, b * d, d);
      S[a * r + b] = v;
      S[b * r + a] = v;
    }
  }
  const { values, vectors } = symmetricEigen(S, r);
  let kept = 0;
  while (kept < Math.min(k, r) && values[kept] > values[0] * 1e-12) kept++;
  const axes = new Float64Array(k * d);
  const variance = new Float64Array(k);
  const coef = new Float64Array(r * kept);
  for (let c = 0; c < kept; c++) {
    const s = Math.sqrt(values[c]);
    variance[c] = values[c] / (n - 1);
    const u = vectors.subarray(c * r, (c + 1) * r);
    const axis = axes.subarray(c * d, (c + 1) * d);
    let j = 0;
    for (; j + 3 < r; j += 4) axpy4(u[j] / s, u[j + 1] / s, u[j + 2] / s, u[j + 3] / s, B, j * d, d, axis);
    for (; j < r; j++) axpy4(u[j] / s, 0, 0, 0, B, j * d, 0, axis);
    for (let i = 0; i < r; i++) coef[i * kept + c] = u[i] * s;
  }
  // Rank-deficient data: the remaining axes carry no variance; complete the basis.
  if (kept < k) completeBasis(axes, k, d, kept);
  return { axes, variance, coef, kept };
}

function dot(x: Float64Array, i: number, j: number, len: number): number {
  let s0 = 0;
  let s1 = 0;
  let t = 0;
  for (; t + 1 < len; t += 2) {
    s0 += x[i + t] * x[j + t];
    s1 += x[i + t + 1] * x[j + t + 1];
  }
  if (t < len) s0 += x[i + t] * x[j + t];
  return s0 + s1;
}

/** y += a x[at + t] + b x[at + ld + t] + c x[at + 2 ld + t] + e x[at + 3 ld + t], t < y.length. */
function axpy4(
  a: number,
  b: number,
  c: number,
  e: number,
  x: Float64Array,
  at: number,
  ld: number,
  y: Float64Array,
): void {
  const len = y.length;
  const i1 = at + ld;
  const i2 = i1 + ld;
  const i3 = i2 + ld;
  for (let t = 0; t < len; t++) y[t] += a * x[at + t] + b * x[i1 + t] + c * x[i2 + t] + e * x[i3 + t];
}

/** The transpose of a row-major `rows x cols` matrix, as float64. */
function transposed(a: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = a[i * cols + j];
  return out;
}

function fixSigns(basis: Basis, n: number, d: number, k: number): void {
  for (let c = 0; c < k; c++) {
    let best = 0;
    for (let t = 1; t < d; t++)
      if (Math.abs(basis.axes[c * d + t]) > Math.abs(basis.axes[c * d + best])) best = t;
    if (basis.axes[c * d + best] < 0) {
      for (let t = 0; t < d; t++) basis.axes[c * d + t] = -basis.axes[c * d + t];
      for (let i = 0; i < n; i++) basis.proj[i * k + c] = -basis.proj[i * k + c];
    }
  }
}

function gaussian(count: number, rng: Rng): Float64Array {
  const out = new Float64Array(count);
  for (let i = 0; i < count; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - rng()));
    const th = 2 * Math.PI * rng();
    out[i] = r * Math.cos(th);
    if (i + 1 < count) out[i + 1] = r * Math.sin(th);
  }
  return out;
}
