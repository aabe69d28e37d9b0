import { describe, expect, it } from 'vitest';
import { gemmModule, packA, packBt, packedASize, packedBSize, SimdGemm } from './simd-gemm.js';
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
});
