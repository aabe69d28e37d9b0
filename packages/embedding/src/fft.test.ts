import { describe, expect, it } from 'vitest';
import { Fft, fft2d, isFftSize, nextFftSize } from './fft.js';
import { normals } from './test-util.js';

/** The 2-D DFT sum at (u, v), straight from the definition. */
function dft(
  re: Float64Array,
  im: Float64Array,
  L: number,
  u: number,
  v: number,
  sign: number,
): [number, number] {
  let sr = 0;
  let si = 0;
  for (let r = 0; r < L; r++)
    for (let c = 0; c < L; c++) {
      const a = (sign * 2 * Math.PI * (u * r + v * c)) / L;
      sr += re[r * L + c] * Math.cos(a) - im[r * L + c] * Math.sin(a);
      si += re[r * L + c] * Math.sin(a) + im[r * L + c] * Math.cos(a);
    }
  return [sr, si];
}

describe('FFT', () => {
  it('sizes: only the factors 2, 3 and 5', () => {
    expect([1, 2, 8, 12, 15, 600, 1024].every(isFftSize)).toBe(true);
    expect([0, 7, 14, 599, 1.5].some(isFftSize)).toBe(false);
    expect(nextFftSize(599)).toBe(600);
    expect(nextFftSize(1021)).toBe(1024);
    expect(nextFftSize(2047)).toBe(2048);
    expect(nextFftSize(121)).toBe(125);
  });

  // Radix 4 only, 2 only, and mixtures with 3 and 5 (odd and even stage counts).
  for (const L of [8, 16, 2, 6, 10, 12, 15, 30, 45, 60]) {
    it(`2-D transform of ${L} x ${L} equals the DFT sum (spectrum transposed), and the inverse returns the grid`, () => {
      const g = normals(L);
      const re = Float64Array.from({ length: L * L }, () => g());
      const im = Float64Array.from({ length: L * L }, () => g());
      const r0 = re.slice();
      const i0 = im.slice();
      const f = new Fft(L);
      fft2d(f, re, im, false, L);
      for (let u = 0; u < L; u++)
        for (let v = 0; v < L; v++) {
          const [sr, si] = dft(r0, i0, L, u, v, -1);
          // Forward leaves the spectrum transposed: X[u][v] at [v][u].
          expect(re[v * L + u]).toBeCloseTo(sr, 9);
          expect(im[v * L + u]).toBeCloseTo(si, 9);
        }
      fft2d(f, re, im, true, L);
      for (let t = 0; t < L * L; t++) {
        expect(re[t] / (L * L)).toBeCloseTo(r0[t], 10);
        expect(im[t] / (L * L)).toBeCloseTo(i0[t], 10);
      }
    });
  }

  it('used columns: a grid non-zero in its first m columns transforms as the full grid; the inverse fills the first m columns', () => {
    const L = 12;
    const m = 5;
    const g = normals(3);
    const re = new Float32Array(L * L);
    const im = new Float32Array(L * L);
    for (let r = 0; r < m; r++)
      for (let c = 0; c < m; c++) {
        re[r * L + c] = g();
        im[r * L + c] = g();
      }
    const full = [Float64Array.from(re), Float64Array.from(im)] as const;
    const f = new Fft(L);
    // Garbage in the scratch grid must not leak into the unused columns.
    const noise = [Float32Array.from(re, () => 1e6), Float32Array.from(im, () => 1e6)] as const;
    fft2d(f, noise[0], noise[1], false, L);
    fft2d(f, re, im, false, m);
    fft2d(new Fft(L), full[0], full[1], false, L);
    for (let t = 0; t < L * L; t++) {
      expect(re[t]).toBeCloseTo(full[0][t], 4);
      expect(im[t]).toBeCloseTo(full[1][t], 4);
    }
    fft2d(f, re, im, true, m);
    const [r0, i0] = [new Float64Array(L * L), new Float64Array(L * L)];
    fft2d(new Fft(L), full[0], full[1], true, L);
    for (let r = 0; r < L; r++)
      for (let c = 0; c < m; c++) {
        r0[r * L + c] = full[0][r * L + c];
        i0[r * L + c] = full[1][r * L + c];
        expect(re[r * L + c]).toBeCloseTo(r0[r * L + c], 2);
        expect(im[r * L + c]).toBeCloseTo(i0[r * L + c], 2);
      }
  });
});
