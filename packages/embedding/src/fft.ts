/**
 * Mixed-radix (2, 3, 4, 5) complex FFTs on split real/imaginary grids, and the 2-D transform
 * FIt-SNE's convolution needs. Sizes with only the factors 2, 3 and 5 (as FFTW's fast sizes):
 * the circulant embedding then needs a grid only a little larger than 2m instead of the next
 * power of two (600^2 instead of 1024^2 for 100 intervals: a third of the work).
 *
 * Stockham autosort (no bit reversal): each stage reads one buffer and writes the other, and
 * every "element" is a whole row of the grid, so the inner loop runs over contiguous columns.
 */
/** Grids are float32 (half the memory traffic; the FFT's rounding stays far below the interpolation error) or float64. */
export type Grid = Float32Array | Float64Array;

/** True when n > 0 has no prime factor other than 2, 3 and 5. */
export function isFftSize(n: number): boolean {
  if (!Number.isInteger(n) || n < 1) return false;
  for (const f of [2, 3, 5]) while (n % f === 0) n /= f;
  return n === 1;
}

/** The smallest size >= n with only the factors 2, 3 and 5. */
export function nextFftSize(n: number): number {
  let s = Math.max(1, Math.ceil(n));
  while (!isFftSize(s)) s++;
  return s;
}

export class Fft {
  readonly size: number;
  /** Radix of each stage (4s first, then a 2, 3s and 5s). */
  readonly radices: number[];
  /** Per stage: w^(p u) for p < m and u = 1..r-1 (w = e^(-2 pi i / current length)), at p * (r - 1) + u - 1. */
  private readonly twRe: Float64Array[] = [];
  private readonly twIm: Float64Array[] = [];
  private scratch?: { re: Grid; im: Grid };

  constructor(size: number) {
    if (!isFftSize(size)) throw new RangeError(`FFT size must have only the factors 2, 3 and 5, got ${size}`);
    this.size = size;
    const radices: number[] = [];
    let n = size;
    for (const r of [4, 2, 3, 5]) {
      while (n % r === 0) {
        radices.push(r);
        n /= r;
        if (r === 2) break;
      }
    }
    this.radices = radices;
    let len = size;
    for (const r of radices) {
      const m = len / r;
      const re = new Float64Array(m * (r - 1));
      const im = new Float64Array(m * (r - 1));
      for (let p = 0; p < m; p++)
        for (let u = 1; u < r; u++) {
          const a = (-2 * Math.PI * p * u) / len;
          re[p * (r - 1) + u - 1] = Math.cos(a);
          im[p * (r - 1) + u - 1] = Math.sin(a);
        }
      this.twRe.push(re);
      this.twIm.push(im);
      len = m;
    }
  }

  /** Scratch grids of the grid's type, made once per transform size. */
  private buffers(like: Grid): { re: Grid; im: Grid } {
    const L2 = this.size * this.size;
    if (!this.scratch || this.scratch.re.constructor !== like.constructor) {
      const make = (): Grid => (like instanceof Float32Array ? new Float32Array(L2) : new Float64Array(L2));
      this.scratch = { re: make(), im: make() };
    }
    return this.scratch;
  }

  /**
   * The 1-D transform of columns [0, cols) of an L x L row-major grid, in place (the scratch
   * grid takes every other stage; the result is copied back when the stage count is odd).
   * `inverse` conjugates the twiddles (no 1/L).
   */
  columns(re: Grid, im: Grid, inverse: boolean, cols: number): void {
    const L = this.size;
    const t = this.buffers(re);
    let xr = re;
    let xi = im;
    let yr = t.re;
    let yi = t.im;
    let len = L;
    let s = 1;
    const sg = inverse ? -1 : 1;
    for (let st = 0; st < this.radices.length; st++) {
      const r = this.radices[st];
      const m = len / r;
      const wr = this.twRe[st];
      const wi = this.twIm[st];
      if (r === 4) stage4(xr, xi, yr, yi, wr, wi, L, m, s, cols, sg);
      else if (r === 2) stage2(xr, xi, yr, yi, wr, wi, L, m, s, cols, sg);
      else if (r === 3) stage3(xr, xi, yr, yi, wr, wi, L, m, s, cols, sg);
      else stage5(xr, xi, yr, yi, wr, wi, L, m, s, cols, sg);
      [xr, yr] = [yr, xr];
      [xi, yi] = [yi, xi];
      len = m;
      s *= r;
    }
    if (xr !== re) {
      for (let row = 0; row < L; row++) {
        const o = row * L;
        re.set(xr.subarray(o, o + cols), o);
        im.set(xi.subarray(o, o + cols), o);
      }
    }
  }
}

// Stage of radix r on rows: inputs x[q + s (p + t m)], outputs y[q + s (r p + u)] = w^(p u) * sum_t x_t e^(-+2 pi i t u / r).

function stage2(
  xr: Grid,
  xi: Grid,
  yr: Grid,
  yi: Grid,
  twr: Float64Array,
  twi: Float64Array,
  L: number,
  m: number,
  s: number,
  cols: number,
  sg: number,
): void {
  for (let p = 0; p < m; p++) {
    const w1r = twr[p];
    const w1i = sg * twi[p];
    for (let q = 0; q < s; q++) {
      const i0 = (q + s * p) * L;
      const i1 = i0 + s * m * L;
      const o0 = (q + s * 2 * p) * L;
      const o1 = o0 + s * L;
      for (let c = 0; c < cols; c++) {
        const ar = xr[i0 + c];
        const ai = xi[i0 + c];
        const br = xr[i1 + c];
        const bi = xi[i1 + c];
        yr[o0 + c] = ar + br;
        yi[o0 + c] = ai + bi;
        const dr = ar - br;
        const di = ai - bi;
        yr[o1 + c] = dr * w1r - di * w1i;
        yi[o1 + c] = dr * w1i + di * w1r;
      }
    }
  }
}

function stage4(
  xr: Grid,
  xi: Grid,
  yr: Grid,
  yi: Grid,
  twr: Float64Array,
  twi: Float64Array,
  L: number,
  m: number,
  s: number,
  cols: number,
  sg: number,
): void {
  const sm = s * m * L;
  for (let p = 0; p < m; p++) {
    const w1r = twr[3 * p];
    const w1i = sg * twi[3 * p];
    const w2r = twr[3 * p + 1];
    const w2i = sg * twi[3 * p + 1];
    const w3r = twr[3 * p + 2];
    const w3i = sg * twi[3 * p + 2];
    for (let q = 0; q < s; q++) {
      const i0 = (q + s * p) * L;
      const i1 = i0 + sm;
      const i2 = i1 + sm;
      const i3 = i2 + sm;
      const o0 = (q + s * 4 * p) * L;
      const o1 = o0 + s * L;
      const o2 = o1 + s * L;
      const o3 = o2 + s * L;
      for (let c = 0; c < cols; c++) {
        const a0r = xr[i0 + c];
        const a0i = xi[i0 + c];
        const a1r = xr[i1 + c];
        const a1i = xi[i1 + c];
        const a2r = xr[i2 + c];
        const a2i = xi[i2 + c];
        const a3r = xr[i3 + c];
        const a3i = xi[i3 + c];
        const t0r = a0r + a2r;
        const t0i = a0i + a2i;
        const t1r = a0r - a2r;
        const t1i = a0i - a2i;
        const t2r = a1r + a3r;
        const t2i = a1i + a3i;
        // -i sg (a1 - a3): the forward transform's e^(-i pi / 2).
        const t3r = sg * (a1i - a3i);
        const t3i = -sg * (a1r - a3r);
        yr[o0 + c] = t0r + t2r;
        yi[o0 + c] = t0i + t2i;
        const x1r = t1r + t3r;
        const x1i = t1i + t3i;
        const x2r = t0r - t2r;
        const x2i = t0i - t2i;
        const x3r = t1r - t3r;
        const x3i = t1i - t3i;
        yr[o1 + c] = x1r * w1r - x1i * w1i;
        yi[o1 + c] = x1r * w1i + x1i * w1r;
        yr[o2 + c] = x2r * w2r - x2i * w2i;
        yi[o2 + c] = x2r * w2i + x2i * w2r;
        yr[o3 + c] = x3r * w3r - x3i * w3i;
        yi[o3 + c] = x3r * w3i + x3i * w3r;
      }
    }
  }
}

const S3 = Math.sqrt(3) / 2;

function stage3(
  xr: Grid,
  xi: Grid,
  yr: Grid,
  yi: Grid,
  twr: Float64Array,
  twi: Float64Array,
  L: number,
  m: number,
  s: number,
  cols: number,
  sg: number,
): void {
  const sm = s * m * L;
  const k = sg * S3;
  for (let p = 0; p < m; p++) {
    const w1r = twr[2 * p];
    const w1i = sg * twi[2 * p];
    const w2r = twr[2 * p + 1];
    const w2i = sg * twi[2 * p + 1];
    for (let q = 0; q < s; q++) {
      const i0 = (q + s * p) * L;
      const i1 = i0 + sm;
      const i2 = i1 + sm;
      const o0 = (q + s * 3 * p) * L;
      const o1 = o0 + s * L;
      const o2 = o1 + s * L;
      for (let c = 0; c < cols; c++) {
        const a0r = xr[i0 + c];
        const a0i = xi[i0 + c];
        const tr = xr[i1 + c] + xr[i2 + c];
        const ti = xi[i1 + c] + xi[i2 + c];
        const dr = xr[i1 + c] - xr[i2 + c];
        const di = xi[i1 + c] - xi[i2 + c];
        yr[o0 + c] = a0r + tr;
        yi[o0 + c] = a0i + ti;
        const hr = a0r - 0.5 * tr;
        const hi = a0i - 0.5 * ti;
        // X1 = h - i sg (sqrt3/2) d, X2 = h + i sg (sqrt3/2) d.
        const x1r = hr + k * di;
        const x1i = hi - k * dr;
        const x2r = hr - k * di;
        const x2i = hi + k * dr;
        yr[o1 + c] = x1r * w1r - x1i * w1i;
        yi[o1 + c] = x1r * w1i + x1i * w1r;
        yr[o2 + c] = x2r * w2r - x2i * w2i;
        yi[o2 + c] = x2r * w2i + x2i * w2r;
      }
    }
  }
}

const C1 = Math.cos((2 * Math.PI) / 5);
const C2 = Math.cos((4 * Math.PI) / 5);
const S1 = Math.sin((2 * Math.PI) / 5);
const S2 = Math.sin((4 * Math.PI) / 5);

function stage5(
  xr: Grid,
  xi: Grid,
  yr: Grid,
  yi: Grid,
  twr: Float64Array,
  twi: Float64Array,
  L: number,
  m: number,
  s: number,
  cols: number,
  sg: number,
): void {
  const sm = s * m * L;
  for (let p = 0; p < m; p++) {
    const o = 4 * p;
    const w1r = twr[o];
    const w1i = sg * twi[o];
    const w2r = twr[o + 1];
    const w2i = sg * twi[o + 1];
    const w3r = twr[o + 2];
    const w3i = sg * twi[o + 2];
    const w4r = twr[o + 3];
    const w4i = sg * twi[o + 3];
    for (let q = 0; q < s; q++) {
      const i0 = (q + s * p) * L;
      const i1 = i0 + sm;
      const i2 = i1 + sm;
      const i3 = i2 + sm;
      const i4 = i3 + sm;
      const o0 = (q + s * 5 * p) * L;
      const o1 = o0 + s * L;
      const o2 = o1 + s * L;
      const o3 = o2 + s * L;
      const o4 = o3 + s * L;
      for (let c = 0; c < cols; c++) {
        const a0r = xr[i0 + c];
        const a0i = xi[i0 + c];
        const b1r = xr[i1 + c] + xr[i4 + c];
        const b1i = xi[i1 + c] + xi[i4 + c];
        const d1r = xr[i1 + c] - xr[i4 + c];
        const d1i = xi[i1 + c] - xi[i4 + c];
        const b2r = xr[i2 + c] + xr[i3 + c];
        const b2i = xi[i2 + c] + xi[i3 + c];
        const d2r = xr[i2 + c] - xr[i3 + c];
        const d2i = xi[i2 + c] - xi[i3 + c];
        yr[o0 + c] = a0r + b1r + b2r;
        yi[o0 + c] = a0i + b1i + b2i;
        const A1r = a0r + C1 * b1r + C2 * b2r;
        const A1i = a0i + C1 * b1i + C2 * b2i;
        const A2r = a0r + C2 * b1r + C1 * b2r;
        const A2i = a0i + C2 * b1i + C1 * b2i;
        // X1,4 = A1 -+ i sg B1 and X2,3 = A2 -+ i sg B2.
        const B1r = sg * (S1 * d1r + S2 * d2r);
        const B1i = sg * (S1 * d1i + S2 * d2i);
        const B2r = sg * (S2 * d1r - S1 * d2r);
        const B2i = sg * (S2 * d1i - S1 * d2i);
        const x1r = A1r + B1i;
        const x1i = A1i - B1r;
        const x4r = A1r - B1i;
        const x4i = A1i + B1r;
        const x2r = A2r + B2i;
        const x2i = A2i - B2r;
        const x3r = A2r - B2i;
        const x3i = A2i + B2r;
        yr[o1 + c] = x1r * w1r - x1i * w1i;
        yi[o1 + c] = x1r * w1i + x1i * w1r;
        yr[o2 + c] = x2r * w2r - x2i * w2i;
        yi[o2 + c] = x2r * w2i + x2i * w2r;
        yr[o3 + c] = x3r * w3r - x3i * w3i;
        yi[o3 + c] = x3r * w3i + x3i * w3r;
        yr[o4 + c] = x4r * w4r - x4i * w4i;
        yi[o4 + c] = x4r * w4i + x4i * w4r;
      }
    }
  }
}

/** Transposes an L x L grid in place (blocks of 32 for the cache). */
export function transpose(x: Grid, L: number): void {
  const B = 32;
  for (let bi = 0; bi < L; bi += B) {
    for (let bj = bi; bj < L; bj += B) {
      const ie = Math.min(bi + B, L);
      const je = Math.min(bj + B, L);
      for (let i = bi; i < ie; i++) {
        for (let j = bj === bi ? i + 1 : bj; j < je; j++) {
          const t = x[i * L + j];
          x[i * L + j] = x[j * L + i];
          x[j * L + i] = t;
        }
      }
    }
  }
}

/**
 * 2-D FFT of an L x L grid in place, leaving the spectrum TRANSPOSED (forward) or taking a
 * transposed spectrum back to the grid (inverse), which saves two transposes per convolution.
 * `used`: only columns [0, used) are non-zero on input (forward) or needed on output (inverse).
 */
export function fft2d(f: Fft, re: Grid, im: Grid, inverse: boolean, used: number): void {
  const L = f.size;
  f.columns(re, im, inverse, inverse ? L : used);
  transpose(re, L);
  transpose(im, L);
  f.columns(re, im, inverse, inverse ? used : L);
}
