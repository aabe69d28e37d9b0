import { Fft, fft2d, nextFftSize } from './fft.js';
import { memory } from './memory.js';

/** Grid settings of the FFT repulsion (FIt-SNE's names and defaults). */
export interface FftGridOptions {
  /** Lagrange nodes per interval. Default 3. */
  interpolationPoints?: number;
  /** At least this many intervals per axis. Default 50. */
  minIntervals?: number;
  /**
   * At least this many intervals per unit of embedding length. Default 1 (FIt-SNE's): with 3
   * nodes, intervals wider than ~1 make the forces wrong (measured on 20,000 points: 54% error
   * at width 1.8, 1.4% at 0.7; on 300 points: 3.7% at width 1.0, 1.0% at 0.64). Raise it for
   * more accurate forces at (intervals per unit)^2 the grid work.
   */
  intervalsPerUnit?: number;
  /** At most this many intervals per axis (bounds the FFT at 2048^2). Default 341. */
  maxIntervals?: number;
}

/**
 * t-SNE's repulsive forces in 2-D by FFT-accelerated interpolation (Linderman et al. 2019,
 * "Fast interpolation-based t-SNE", as FIt-SNE's nbodyfft and openTSNE): the sums
 * phi_c(i) = sum_j K(y_i, y_j) q_c(j) with K = (1 + |y_i - y_j|^2)^-2 and charges
 * q = [1, y_1, y_2, |y|^2] are computed by spreading the charges onto an equispaced grid with
 * Lagrange polynomials (p nodes per interval), convolving the grid with K by FFT (a circulant
 * embedding of size L >= 2m - 1), and interpolating the potentials back. Then
 * rep_i = sum_j w_ij^2 (y_i - y_j) = y_i phi_1 - (phi_2, phi_3) and
 * Z = sum_{i != j} w_ij = sum_i [(1 + |y_i|^2) phi_1 - 2 y_i.(phi_2, phi_3) + phi_4] - N.
 *
 * The FFT size is the next with only the factors 2, 3 and 5 (as FFTW's); the intervals are then
 * as many as fit it (never fewer than asked), so the rounding buys accuracy rather than work.
 */
export class FftRepulsion {
  private readonly p: number;
  private readonly minIntervals: number;
  private readonly perUnit: number;
  private readonly maxIntervals: number;
  private readonly shared: boolean;
  private kernelFor = { L: 0, box: 0 };
  private readonly n: number;
  /** Per point: its cell's first grid index and its p Lagrange weights per axis; its potentials. */
  readonly points: GridPoints;
  private readonly nodes: Float64Array;
  private L = 0;
  private fft?: Fft;
  private grids?: { a: GridShare; b: GridShare; kRe: Float32Array; kIm: Float32Array };
  private pool?: FftPool;
  /** The last grid (intervals per axis), for tests and reports. */
  intervals = 0;

  /** `shared`: the per-point arrays and grids live in SharedArrayBuffers (for a `FftPool`). */
  constructor(n: number, o: FftGridOptions = {}, shared = false) {
    this.n = n;
    this.p = o.interpolationPoints ?? 3;
    this.minIntervals = o.minIntervals ?? 50;
    this.perUnit = o.intervalsPerUnit ?? 1;
    this.maxIntervals = Math.max(this.minIntervals, o.maxIntervals ?? 341);
    this.shared = shared;
    const { f64, i32 } = memory(shared);
    this.points = {
      n,
      p: this.p,
      ix: i32(n),
      iy: i32(n),
      wx: f64(n * this.p),
      wy: f64(n * this.p),
      potA: [f64(n), f64(n)],
      potB: [f64(n), f64(n)],
    };
    this.nodes = new Float64Array(this.p);
    for (let j = 0; j < this.p; j++) this.nodes[j] = (j + 0.5) / this.p;
  }

  /**
   * Hands grid b (and whatever else the pool does) to another thread each round; the results
   * are the same as without it, since the same functions run on the same data.
   */
  setPool(pool: FftPool): void {
    this.pool = pool;
  }

  /**
   * Writes rep_i (2 per point) into `rep` and returns Z. `alongside` runs on this thread while a
   * pool's worker does its share (after this thread's grid).
   */
  forces(y: Float64Array, rep: Float64Array, alongside?: () => void): number {
    const { n, p } = this;
    let lo = Infinity;
    let hi = -Infinity;
    for (let t = 0; t < 2 * n; t++) {
      const v = y[t];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    const span = Math.max(hi - lo, 1e-12);
    const want = Math.min(this.maxIntervals, Math.max(this.minIntervals, Math.ceil(span * this.perUnit)));
    const L = nextFftSize(2 * p * want - 1);
    const nb = Math.floor((L + 1) / (2 * p));
    const m = nb * p;
    this.intervals = nb;
    // The interval width rounded up to a power of 2^(1/16): the grid then covers a little more
    // than the points, and the kernel's transform is reused until the width changes level.
    const box = 2 ** (Math.ceil(16 * Math.log2(span / nb)) / 16);
    const h = box / p;
    const resized = this.ensure(L);
    const pts = this.points;
    const { a, b, kRe } = this.grids!;
    const round = { L, m };
    // The worker starts on its share of the attraction, which needs no weights.
    this.pool?.start(round, resized ? { b, kRe } : undefined);

    // Lagrange weights of each point in its interval, per axis.
    this.weights(y, 0, lo, box, nb, pts.ix, pts.wx);
    this.weights(y, 1, lo, box, nb, pts.iy, pts.wy);

    // The kernel on grid offsets, wrapped (circulant embedding); its transform is real.
    if (this.kernelFor.L !== L || this.kernelFor.box !== box) {
      this.kernel(L, m, h);
      this.kernelFor = { L, box };
    }
    if (this.pool) {
      this.pool.ready();
      convolveShare(0, round, y, pts, a, kRe, this.fft!);
      alongside?.();
      this.pool.finish();
    } else {
      convolveShare(0, round, y, pts, a, kRe, this.fft!);
      convolveShare(1, round, y, pts, b, kRe, this.fft!);
      alongside?.();
    }

    // Potentials at the points: phi = (grid a: 1, y1; grid b: y2, |y|^2).
    const [a1, a2] = pts.potA;
    const [b1, b2] = pts.potB;
    let Z = 0;
    for (let i = 0; i < n; i++) {
      const p1 = a1[i];
      const p2 = a2[i];
      const p3 = b1[i];
      const y1 = y[2 * i];
      const y2 = y[2 * i + 1];
      Z += (1 + y1 * y1 + y2 * y2) * p1 - 2 * (y1 * p2 + y2 * p3) + b2[i];
      rep[2 * i] = y1 * p1 - p2;
      rep[2 * i + 1] = y2 * p1 - p3;
    }
    return Z - n;
  }

  /** The kernel's transform for grid spacing h (L x L, wrapped offsets up to m - 1). */
  private kernel(L: number, m: number, h: number): void {
    const { kRe, kIm } = this.grids!;
    kRe.fill(0);
    kIm.fill(0);
    for (let dy = -(m - 1); dy <= m - 1; dy++) {
      const r = ((dy % L) + L) % L;
      const ey = dy * h;
      for (let dx = -(m - 1); dx <= m - 1; dx++) {
        const c = ((dx % L) + L) % L;
        const ex = dx * h;
        const q = 1 / (1 + ex * ex + ey * ey);
        kRe[r * L + c] = q * q;
      }
    }
    fft2d(this.fft!, kRe, kIm, false, L);
  }

  private weights(
    y: Float64Array,
    axis: number,
    lo: number,
    box: number,
    nb: number,
    cell: Int32Array,
    w: Float64Array,
  ): void {
    const { n, p, nodes } = this;
    for (let i = 0; i < n; i++) {
      const u = (y[2 * i + axis] - lo) / box;
      let b = Math.floor(u);
      if (b >= nb) b = nb - 1;
      if (b < 0) b = 0;
      const t = u - b;
      cell[i] = b * p;
      for (let j = 0; j < p; j++) {
        let num = 1;
        let den = 1;
        for (let l = 0; l < p; l++) {
          if (l === j) continue;
          num *= t - nodes[l];
          den *= nodes[j] - nodes[l];
        }
        w[i * p + j] = num / den;
      }
    }
  }

  /** Grids for transform size L; true when they were (re)made. */
  private ensure(L: number): boolean {
    if (L === this.L) return false;
    this.L = L;
    this.fft = new Fft(L);
    const mem = memory(this.shared);
    const g = (): Float32Array => mem.f32(L * L);
    this.grids = {
      a: { re: g(), im: g() },
      b: { re: g(), im: g() },
      kRe: g(),
      kIm: new Float32Array(L * L),
    };
    return true;
  }
}

/** The interpolation state of a round that every thread reads: cells, weights, potentials out. */
export interface GridPoints {
  n: number;
  p: number;
  ix: Int32Array;
  iy: Int32Array;
  wx: Float64Array;
  wy: Float64Array;
  /** Potentials of grid a (charges 1, y1) and grid b (y2, |y|^2) at the points. */
  potA: [Float64Array, Float64Array];
  potB: [Float64Array, Float64Array];
}

/** One complex grid (two real charge grids packed as real and imaginary parts). */
export interface GridShare {
  re: Float32Array;
  im: Float32Array;
}

/**
 * What another thread does each round: whatever needs no grid (`start`), then grid b once the
 * weights and kernel are written (`ready`); `finish` waits for it.
 */
export interface FftPool {
  /** `grids`: new grid b and kernel buffers, when the transform size changed. */
  start(round: { L: number; m: number }, grids?: { b: GridShare; kRe: Float32Array }): void;
  ready(): void;
  finish(): void;
}

/**
 * Spreads one pair of charges onto its grid (`which` 0: 1 and y1; 1: y2 and |y|^2), convolves it
 * with the kernel (transform `kRe`) and interpolates the two potentials back at the points.
 * A free function of its arguments so a worker thread can run it on shared memory.
 */
export function convolveShare(
  which: 0 | 1,
  round: { L: number; m: number },
  y: Float64Array,
  pts: GridPoints,
  g: GridShare,
  kRe: Float32Array,
  fft: Fft,
): void {
  const { L, m } = round;
  const { n, p, ix, iy, wx, wy } = pts;
  const { re, im } = g;
  re.fill(0);
  im.fill(0);
  for (let i = 0; i < n; i++) {
    const y1 = y[2 * i];
    const y2 = y[2 * i + 1];
    const cr = which === 0 ? 1 : y2;
    const ci = which === 0 ? y1 : y1 * y1 + y2 * y2;
    const gx = ix[i];
    const gy = iy[i];
    for (let a = 0; a < p; a++) {
      const row = (gy + a) * L + gx;
      const wa = wy[i * p + a];
      for (let b = 0; b < p; b++) {
        const w = wa * wx[i * p + b];
        re[row + b] += w * cr;
        im[row + b] += w * ci;
      }
    }
  }
  fft2d(fft, re, im, false, m);
  const scale = 1 / (L * L);
  for (let t = 0; t < L * L; t++) {
    const k = kRe[t] * scale;
    re[t] *= k;
    im[t] *= k;
  }
  fft2d(fft, re, im, true, m);
  const [o1, o2] = which === 0 ? pts.potA : pts.potB;
  for (let i = 0; i < n; i++) {
    const gx = ix[i];
    const gy = iy[i];
    let s1 = 0;
    let s2 = 0;
    for (let a = 0; a < p; a++) {
      const row = (gy + a) * L + gx;
      const wa = wy[i * p + a];
      for (let b = 0; b < p; b++) {
        const w = wa * wx[i * p + b];
        s1 += w * re[row + b];
        s2 += w * im[row + b];
      }
    }
    o1[i] = s1;
    o2[i] = s2;
  }
}
