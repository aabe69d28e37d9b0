/**
 * Radix-2 complex FFTs on split real/imaginary Float64Arrays, and the 2-D transform FIt-SNE's
 * convolution needs. Plain loops: the grids are at most a few million cells, and a precomputed
 * twiddle table plus a bit-reversal table keep the inner loop to multiplies and adds.
 */
/** Grids are float32 (half the memory traffic; the FFT's rounding stays far below the interpolation error) or float64. */
export type Grid = Float32Array | Float64Array;

export class Fft {
  readonly size: number;
  readonly twiddleRe: Float64Array;
  readonly twiddleIm: Float64Array;
  readonly reversal: Int32Array;

  constructor(size: number) {
    if (size < 1 || (size & (size - 1)) !== 0)
      throw new RangeError(`FFT size must be a power of two, got ${size}`);
    this.size = size;
    this.twiddleRe = new Float64Array(size / 2);
    this.twiddleIm = new Float64Array(size / 2);
    for (let i = 0; i < size / 2; i++) {
      this.twiddleRe[i] = Math.cos((2 * Math.PI * i) / size);
      this.twiddleIm[i] = -Math.sin((2 * Math.PI * i) / size);
    }
    this.reversal = new Int32Array(size);
    const bits = Math.log2(size);
    for (let i = 0; i < size; i++) {
      let r = 0;
      for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
      this.reversal[i] = r;
    }
  }

  /** In place on `re[off .. off+size)`, `im[...]`; `inverse` conjugates the twiddles (no 1/size). */
  run(re: Grid, im: Grid, off: number, inverse: boolean): void {
    const n = this.size;
    const { reversal: rev, twiddleRe: cos, twiddleIm: sin } = this;
    for (let i = 0; i < n; i++) {
      const j = rev[i];
      if (j > i) {
        let t = re[off + i];
        re[off + i] = re[off + j];
        re[off + j] = t;
        t = im[off + i];
        im[off + i] = im[off + j];
        im[off + j] = t;
      }
    }
    const sign = inverse ? -1 : 1;
    for (let len = 2; len <= n; len <<= 1) {
      const half = len >> 1;
      const step = n / len;
      for (let s = 0; s < n; s += len) {
        for (let k = 0; k < half; k++) {
          const wr = cos[k * step];
          const wi = sign * sin[k * step];
          const a = off + s + k;
          const b = a + half;
          const xr = re[b] * wr - im[b] * wi;
          const xi = re[b] * wi + im[b] * wr;
          re[b] = re[a] - xr;
          im[b] = im[a] - xi;
          re[a] += xr;
          im[a] += xi;
        }
      }
    }
  }
}

/**
 * The 1-D transform of every column of an L x L row-major grid at once: butterflies combine
 * whole rows, so the inner loop runs over contiguous memory. Only columns [0, cols) are
 * transformed (the others are zero padding or not needed).
 */
export function columnPass(f: Fft, re: Grid, im: Grid, inverse: boolean, cols: number): void {
  const L = f.size;
  const rev = f.reversal;
  for (let i = 0; i < L; i++) {
    const j = rev[i];
    if (j <= i) continue;
    for (let c = 0; c < cols; c++) {
      let t = re[i * L + c];
      re[i * L + c] = re[j * L + c];
      re[j * L + c] = t;
      t = im[i * L + c];
      im[i * L + c] = im[j * L + c];
      im[j * L + c] = t;
    }
  }
  const sign = inverse ? -1 : 1;
  for (let len = 2; len <= L; len <<= 1) {
    const half = len >> 1;
    const step = L / len;
    for (let s = 0; s < L; s += len) {
      for (let k = 0; k < half; k++) {
        const wr = f.twiddleRe[k * step];
        const wi = sign * f.twiddleIm[k * step];
        const a = (s + k) * L;
        const b = (s + k + half) * L;
        if (k === 0) {
          for (let c = 0; c < cols; c++) {
            const xr = re[b + c];
            const xi = im[b + c];
            re[b + c] = re[a + c] - xr;
            im[b + c] = im[a + c] - xi;
            re[a + c] += xr;
            im[a + c] += xi;
          }
        } else {
          for (let c = 0; c < cols; c++) {
            const br = re[b + c];
            const bi = im[b + c];
            const xr = br * wr - bi * wi;
            const xi = br * wi + bi * wr;
            re[b + c] = re[a + c] - xr;
            im[b + c] = im[a + c] - xi;
            re[a + c] += xr;
            im[a + c] += xi;
          }
        }
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
  columnPass(f, re, im, inverse, inverse ? L : used);
  transpose(re, L);
  transpose(im, L);
  columnPass(f, re, im, inverse, inverse ? used : L);
}
