import { describe, expect, it } from 'vitest';
import { gemmAB, gemmABt, gemmAtB, gramAtA, orthonormalizer, symmetricEigen } from './linalg.js';
import { normals } from './test-util.js';

function randomSymmetric(n: number, seed: number): Float64Array {
  const g = normals(seed);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      const v = g();
      a[i * n + j] = v;
      a[j * n + i] = v;
    }
  }
  return a;
}

describe('symmetricEigen', () => {
  it('matches the closed form of a 2x2 matrix', () => {
    // [[a, b], [b, c]]: lambda = (a + c)/2 +- sqrt(((a - c)/2)^2 + b^2)
    const [a, b, c] = [4, 1.5, -2];
    const { values, vectors } = symmetricEigen([a, b, b, c], 2);
    const m = (a + c) / 2;
    const r = Math.sqrt(((a - c) / 2) ** 2 + b * b);
    expect(values[0]).toBeCloseTo(m + r, 12);
    expect(values[1]).toBeCloseTo(m - r, 12);
    // Eigenvector of lambda1 is proportional to (b, lambda1 - a).
    const v = [b, m + r - a];
    const norm = Math.hypot(v[0], v[1]);
    expect(Math.abs(vectors[0] * v[0] + vectors[1] * v[1]) / norm).toBeCloseTo(1, 12);
  });

  it('finds the eigenvalues 1, 2, 4 of a hand-built 3x3 matrix', () => {
    // A = Q diag(4, 2, 1) Q^T with Q a rotation about z by 30 degrees.
    const t = Math.PI / 6;
    const Q = [Math.cos(t), -Math.sin(t), 0, Math.sin(t), Math.cos(t), 0, 0, 0, 1];
    const L = [4, 2, 1];
    const A = new Float64Array(9);
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 3; j++)
        for (let k = 0; k < 3; k++) A[i * 3 + j] += Q[i * 3 + k] * L[k] * Q[j * 3 + k];
    const { values, vectors } = symmetricEigen(A, 3);
    expect(Array.from(values)).toEqual([expect.closeTo(4, 12), expect.closeTo(2, 12), expect.closeTo(1, 12)]);
    // First eigenvector is Q's first column up to sign.
    expect(Math.abs(vectors[0] * Q[0] + vectors[1] * Q[3] + vectors[2] * Q[6])).toBeCloseTo(1, 12);
  });

  it('reconstructs random symmetric matrices with orthonormal vectors', () => {
    for (const n of [1, 5, 17, 40]) {
      const A = randomSymmetric(n, n);
      const { values, vectors } = symmetricEigen(A, n);
      for (let r = 1; r < n; r++) expect(values[r]).toBeLessThanOrEqual(values[r - 1]);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          let rec = 0;
          let orth = 0;
          for (let k = 0; k < n; k++) {
            rec += vectors[k * n + i] * values[k] * vectors[k * n + j];
            orth += vectors[i * n + k] * vectors[j * n + k];
          }
          expect(rec).toBeCloseTo(A[i * n + j], 10);
          expect(orth).toBeCloseTo(i === j ? 1 : 0, 10);
        }
      }
    }
  });
});

describe('products', () => {
  it('gemm kernels match a triple loop', () => {
    const g = normals(9);
    const [n, m, d] = [7, 5, 6];
    const A = Float64Array.from({ length: n * d }, g);
    const B = Float64Array.from({ length: m * d }, g);
    const C = new Float64Array(n * m);
    gemmABt(A, B, n, m, d, C);
    const W = Float64Array.from({ length: d * m }, g);
    const AB = gemmAB(A, W, n, d, m);
    const Q = Float64Array.from({ length: n * m }, g);
    const AtQ = gemmAtB(A, Q, n, d, m);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < m; j++) {
        let s = 0;
        let s2 = 0;
        for (let t = 0; t < d; t++) {
          s += A[i * d + t] * B[j * d + t];
          s2 += A[i * d + t] * W[t * m + j];
        }
        expect(C[i * m + j]).toBeCloseTo(s, 12);
        expect(AB[i * m + j]).toBeCloseTo(s2, 12);
      }
    }
    for (let t = 0; t < d; t++) {
      for (let j = 0; j < m; j++) {
        let s = 0;
        for (let i = 0; i < n; i++) s += A[i * d + t] * Q[i * m + j];
        expect(AtQ[t * m + j]).toBeCloseTo(s, 12);
      }
    }
  });

  it('orthonormalizer makes Y M orthonormal and drops null directions', () => {
    const g = normals(4);
    const [n, l] = [50, 6];
    const Y = Float64Array.from({ length: n * l }, g);
    // Column 5 = column 0 + column 1: rank 5.
    for (let i = 0; i < n; i++) Y[i * l + 5] = Y[i * l] + Y[i * l + 1];
    const { M, r } = orthonormalizer(gramAtA(Y, n, l), l, 1e-12);
    expect(r).toBe(5);
    const Q = gemmAB(Y, M, n, l, r);
    const G = gramAtA(Q, n, r);
    for (let a = 0; a < r; a++)
      for (let b = 0; b < r; b++) expect(G[a * r + b]).toBeCloseTo(a === b ? 1 : 0, 10);
  });
});
