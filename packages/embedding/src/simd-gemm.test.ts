import { describe, expect, it } from 'vitest';
import {
  asA,
  asAt,
  asB,
  gemmModule,
  matrixSize,
  packA,
  packBt,
  packedASize,
  packedBSize,
  SimdGemm,
  type View,
} from './simd-gemm.js';
import { hasWasmSimd, wasmSleb as sleb, wasmUleb as uleb } from '@cnnviz/core';
import { normals } from './test-util.js';

/** Float64 reference of A (rows x k) times B (k x cols), both row-major. */
function reference(A: Float32Array, B: Float32Array, rows: number, k: number, cols: number): Float64Array {
  const C = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++)
    for (let t = 0; t < k; t++)
      for (let j = 0; j < cols; j++) C[i * cols + j] += A[i * k + t] * B[t * cols + j];
  return C;
}

/** Largest |got - want| relative to the largest |A| |B| sum of a dot product. */
function maxRelError(got: ArrayLike<number>, want: Float64Array, scale: number): number {
  let e = 0;
  for (let i = 0; i < want.length; i++) e = Math.max(e, Math.abs(got[i] - want[i]) / scale);
  return e;
}

describe('wasm assembler', () => {
  it('encodes LEB128 integers', () => {
    expect(uleb(0)).toEqual([0]);
    expect(uleb(127)).toEqual([127]);
    expect(uleb(128)).toEqual([0x80, 1]);
    expect(uleb(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(sleb(-1)).toEqual([0x7f]);
    expect(sleb(63)).toEqual([63]);
    expect(sleb(64)).toEqual([0xc0, 0]);
    expect(sleb(-123456)).toEqual([0xc0, 0xbb, 0x78]);
  });

  it('builds a kernel this engine accepts', () => {
    expect(hasWasmSimd()).toBe(true);
    expect(gemmModule(false)).not.toBeNull();
    expect(gemmModule(true)).not.toBeNull();
  });
});

describe('SIMD gemm', () => {
  it('matches a triple loop for ragged sizes, across the K and column blocking', () => {
    const g = normals(3);
    // 600 inner steps cross the 512-step blocks; 70 columns leave a partial panel and group.
    for (const [rows, k, cols] of [
      [1, 1, 1],
      [13, 37, 21],
      [130, 600, 70],
    ]) {
      const A = Float32Array.from({ length: rows * k }, g);
      const B = Float32Array.from({ length: k * cols }, g);
      const gm = new SimdGemm(gemmModule(false)!);
      const ap = gm.packedA(A, rows, k);
      const got = gm.mul(ap, rows, k, B, cols);
      const want = reference(A, B, rows, k, cols);
      expect(maxRelError(got, want, k)).toBeLessThan(1e-6);
      // The same product with A given transposed.
      const At = new Float32Array(k * rows);
      for (let i = 0; i < rows; i++) for (let t = 0; t < k; t++) At[t * rows + i] = A[i * k + t];
      const got2 = gm.mul(gm.packedAt(At, k, rows), rows, k, B, cols);
      expect(Array.from(got2)).toEqual(Array.from(got));
    }
  });

  it('packs B from rows (A times rows^T, as kNN does) and computes Gram matrices', () => {
    const g = normals(5);
    const [rows, k, cols] = [9, 20, 11];
    const A = Float32Array.from({ length: rows * k }, g);
    const R = Float32Array.from({ length: cols * k }, g);
    const gm = new SimdGemm(gemmModule(false)!);
    const ap = gm.alloc(packedASize(rows, k));
    const bp = gm.alloc(packedBSize(cols, k));
    const ldc = 16;
    const cp = gm.alloc(12 * ldc);
    packA(A, k, 0, rows, k, gm.f32(), ap >> 2);
    packBt(R, k, 0, cols, k, gm.f32(), bp >> 2);
    gm.gemm(ap, bp, cp, ldc, 3, 2, k);
    const C = gm.f32();
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        let s = 0;
        for (let t = 0; t < k; t++) s += A[i * k + t] * R[j * k + t];
        expect(C[(cp >> 2) + i * ldc + j]).toBeCloseTo(s, 4);
      }
    }
    const G = gm.gram(A, rows, k);
    for (let a = 0; a < k; a++) {
      for (let b = 0; b < k; b++) {
        let s = 0;
        for (let i = 0; i < rows; i++) s += A[i * k + a] * A[i * k + b];
        expect(G[a * k + b]).toBeCloseTo(s, 4);
        expect(G[a * k + b]).toBe(G[b * k + a]);
      }
    }
  });

  it('splits a large product over worker threads with bit-identical results', async () => {
    const g = normals(8);
    const [rows, k, cols] = [1024, 1100, 40];
    const A = Float32Array.from({ length: rows * k }, g);
    const B = Float32Array.from({ length: k * cols }, g);
    const one = (await SimdGemm.create(1))!;
    const two = (await SimdGemm.create(2))!;
    try {
      const a = one.mul(one.packedA(A, rows, k), rows, k, B, cols);
      const b = two.mul(two.packedA(A, rows, k), rows, k, B, cols);
      expect(b).toEqual(a);
      const spot = reference(A.subarray(0, 3 * k), B, 3, k, cols);
      expect(maxRelError(a.subarray(0, 3 * cols), spot, k)).toBeLessThan(1e-6);
    } finally {
      await one.close();
      await two.close();
    }
  });

  it('multiplies matrices where they lie (strided operands, padded rows, ragged sizes)', () => {
    const g = normals(9);
    // 5 x 13 = (5 x 70)(70 x 13) with A's rows at stride 77, B's at stride 19; 70 steps cross
    // 32-step slices. Also A^T B and A B^T forms: A^T read from a rows x k matrix as it lies.
    const [rows, k, cols] = [5, 70, 13];
    const A = Float32Array.from({ length: rows * k }, g);
    const B = Float32Array.from({ length: k * cols }, g);
    const gm = new SimdGemm(gemmModule(false)!);
    const a = gm.matrix(rows, k, A, 77);
    const b = gm.matrix(k, cols, B, 19);
    const want = reference(A, B, rows, k, cols);
    const c = gm.product(asA(a), rows, k, asB(b), cols, 32, 2);
    expect([c.rows, c.cols, c.ld]).toEqual([rows, cols, 16]);
    expect(maxRelError(gm.read(c), want, k)).toBeLessThan(1e-6);
    // (A^T)^T B with A^T stored: k x rows.
    const At = new Float32Array(k * rows);
    for (let i = 0; i < rows; i++) for (let t = 0; t < k; t++) At[t * rows + i] = A[i * k + t];
    const at = gm.matrix(k, rows, At, 7);
    const c2 = gm.product(asAt(at), rows, k, asB(b), cols);
    expect(Array.from(gm.read(c2))).toEqual(Array.from(gm.read(c)));
    // Packed B from a JS array gives the same sums in the same order.
    const c3 = gm.product(asA(a), rows, k, gm.packedB(B, k, cols), cols, 32, 2);
    expect(Array.from(gm.read(c3))).toEqual(Array.from(gm.read(c)));
    // Gram matrices of a matrix in memory: V^T V and V V^T.
    const G = gm.gramOf(a);
    const H = gm.gramRows(a);
    for (let p = 0; p < k; p += 7) {
      for (let q = 0; q < k; q += 5) {
        let s = 0;
        for (let i = 0; i < rows; i++) s += A[i * k + p] * A[i * k + q];
        expect(G[p * k + q]).toBeCloseTo(s, 4);
      }
    }
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < rows; j++) {
        let s = 0;
        for (let t = 0; t < k; t++) s += A[i * k + t] * A[j * k + t];
        expect(H[i * rows + j]).toBeCloseTo(s, 4);
      }
    }
  });

  it('sums and centres columns in float64 (any width, padded rows)', () => {
    const g = normals(4);
    const gm = new SimdGemm(gemmModule(false)!);
    for (const [n, d, ld] of [
      [7, 1, 1],
      [9, 6, 16],
      [33, 13, 13],
    ]) {
      const X = Float32Array.from({ length: n * d }, () => 100 + g());
      const v = gm.matrix(n, d, X, ld);
      const sums = gm.columnSums(v);
      const mean = new Float64Array(d);
      let ss = 0;
      for (let j = 0; j < d; j++) {
        let s = 0;
        for (let i = 0; i < n; i++) s += X[i * d + j];
        expect(sums[j]).toBe(s);
        mean[j] = s / n;
        for (let i = 0; i < n; i++) ss += (X[i * d + j] - mean[j]) ** 2;
      }
      expect(gm.centre(v, mean)).toBeCloseTo(ss, 8);
      const C = gm.read(v);
      for (let i = 0; i < n; i++)
        for (let j = 0; j < d; j++) expect(C[i * d + j]).toBe(Math.fround(X[i * d + j] - mean[j]));
      gm.reset();
    }
    // A NaN shows as a non-finite column sum.
    const bad = gm.matrix(3, 5, Float32Array.of(1, 2, 3, 4, 5, 6, NaN, 8, 9, 10, 11, 12, 13, 14, 15));
    expect(Array.from(gm.columnSums(bad), Number.isFinite)).toEqual([true, false, true, true, true]);
  });

  it('splits strided products by rows and by columns over threads, bit-identically', async () => {
    const g = normals(12);
    const [n, d, r] = [1003, 517, 21];
    const X = Float32Array.from({ length: n * d }, g);
    const Z = Float32Array.from({ length: d * r }, g);
    const run = async (threads: number): Promise<Float32Array[]> => {
      const gm = (await SimdGemm.create(threads))!;
      try {
        // Pages mapped by the workers first must still take the data written afterwards.
        gm.prefault(matrixSize(n, 528));
        const x: View = gm.matrix(n, d, X, 528);
        const y = gm.product(asA(x), n, d, gm.packedB(Z, d, r), r); // by rows
        const t = gm.product(asAt(y), r, n, asB(x), d, 32, 8); // Y^T X: few rows, by columns
        return [gm.read(x), gm.read(y), gm.read(t)];
      } finally {
        await gm.close();
      }
    };
    // Index of the first difference (-1: none); toEqual on half a million floats is slow.
    const firstDiff = (a: Float32Array, b: Float32Array): number => {
      if (a.length !== b.length) return -2;
      for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
      return -1;
    };
    const one = await run(1);
    const two = await run(2);
    expect(firstDiff(one[0], X)).toBe(-1);
    for (let i = 0; i < 3; i++) expect(firstDiff(two[i], one[i])).toBe(-1);
    const want = reference(X.subarray(0, 2 * d), Z, 2, d, r);
    expect(maxRelError(one[1].subarray(0, 2 * r), want, d)).toBeLessThan(1e-6);
    let s = 0;
    for (let i = 0; i < n; i++) s += one[1][i * r + 3] * X[i * d + 100];
    expect(one[2][3 * d + 100]).toBeCloseTo(s, 1);
  });
});
