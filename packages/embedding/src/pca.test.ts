import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { pca, pcaFlat } from './pca.js';
import { flattenRows } from './matrix.js';
import { expectCode, normals } from './test-util.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** A fixed 60 x 6 matrix with correlated columns and distinct variances. */
function fixedMatrix(): Float32Array[] {
  const g = normals(42);
  const rows: Float32Array[] = [];
  for (let i = 0; i < 60; i++) {
    const z = [3 * g(), 2 * g(), 1.2 * g(), 0.7 * g(), 0.3 * g(), 0.1 * g()];
    rows.push(
      Float32Array.of(
        z[0] + z[1],
        z[0] - z[2],
        z[1] + z[3] + 5,
        z[2] - z[4],
        z[3] + z[5] - 1,
        z[4] + z[0] * 0.5,
      ),
    );
  }
  return rows;
}

/** Reference: covariance by a plain loop, eigenvalues by power iteration with deflation. */
function powerIterationEigenvalues(rows: Float32Array[], count: number): number[] {
  const n = rows.length;
  const d = rows[0].length;
  const mean = new Array(d).fill(0);
  for (const r of rows) r.forEach((v, j) => (mean[j] += v / n));
  const C: number[][] = Array.from({ length: d }, () => new Array(d).fill(0));
  for (const r of rows)
    for (let a = 0; a < d; a++)
      for (let b = 0; b < d; b++) C[a][b] += ((r[a] - mean[a]) * (r[b] - mean[b])) / (n - 1);
  const values: number[] = [];
  for (let k = 0; k < count; k++) {
    let v = Array.from({ length: d }, (_, j) => 1 + j * 0.1);
    let lambda = 0;
    for (let it = 0; it < 5000; it++) {
      const w = C.map((row) => row.reduce((s, c, j) => s + c * v[j], 0));
      const norm = Math.hypot(...w);
      v = w.map((x) => x / norm);
      lambda = norm;
    }
    values.push(lambda);
    for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) C[a][b] -= lambda * v[a] * v[b];
  }
  return values;
}

function totalVariance(rows: Float32Array[]): number {
  const n = rows.length;
  const d = rows[0].length;
  let t = 0;
  for (let j = 0; j < d; j++) {
    const m = rows.reduce((s, r) => s + r[j], 0) / n;
    t += rows.reduce((s, r) => s + (r[j] - m) ** 2, 0) / (n - 1);
  }
  return t;
}

describe('pca', () => {
  it('exact ratios match power iteration with deflation on a fixed matrix (1e-4)', async () => {
    const rows = fixedMatrix();
    const ref = powerIterationEigenvalues(rows, 4);
    const total = totalVariance(rows);
    const res = await pca(rows, { components: 4, method: 'exact' });
    expect(res.method).toBe('exact');
    for (let c = 0; c < 4; c++) {
      expect(Math.abs(res.explainedVarianceRatio[c] - ref[c] / total)).toBeLessThan(1e-4);
      expect(res.explainedVariance[c]).toBeCloseTo(ref[c], 3);
    }
  });

  it('matches the closed form of a 2-D covariance', async () => {
    // Points (t, 2t + e) for t, e in {-1, 0, 1}: covariance [[a, b], [b, c]] known exactly.
    const rows: Float32Array[] = [];
    for (const t of [-1, 0, 1]) for (const e of [-1, 0, 1]) rows.push(Float32Array.of(t, 2 * t + e));
    const n = rows.length;
    const a = 6 / (n - 1);
    const b = 12 / (n - 1);
    const c = 30 / (n - 1);
    const r = Math.sqrt(((a - c) / 2) ** 2 + b * b);
    const l1 = (a + c) / 2 + r;
    const l2 = (a + c) / 2 - r;
    const res = await pca(rows, { components: 2 });
    expect(res.explainedVariance[0]).toBeCloseTo(l1, 5);
    expect(res.explainedVariance[1]).toBeCloseTo(l2, 5);
    expect(res.explainedVarianceRatio[0]).toBeCloseTo(l1 / (l1 + l2), 6);
    // Axis of l1 is proportional to (b, l1 - a), sign fixed so its largest entry is positive.
    const v = [b, l1 - a];
    const norm = Math.hypot(v[0], v[1]);
    expect(res.components[0][0]).toBeCloseTo(v[0] / norm, 5);
    expect(res.components[0][1]).toBeCloseTo(v[1] / norm, 5);
    // Projections are the centred data times the axes.
    expect(res.projected[0][0]).toBeCloseTo(
      (-1 - 0) * res.components[0][0] + (-3 - 0) * res.components[0][1],
      5,
    );
  });

  it('randomized equals exact on low-rank data (every compute engine)', async () => {
    const g = normals(7);
    const [n, d, rank] = [300, 80, 5];
    const basis = Array.from({ length: rank }, () => Float32Array.from({ length: d }, g));
    const rows: Float32Array[] = [];
    for (let i = 0; i < n; i++) {
      const r = new Float32Array(d);
      for (let k = 0; k < rank; k++) {
        const z = g() * (rank - k) * 2;
        for (let t = 0; t < d; t++) r[t] += z * basis[k][t];
      }
      for (let t = 0; t < d; t++) r[t] += 1e-3 * g();
      rows.push(r);
    }
    const exact = await pca(rows, { components: rank, method: 'exact' });
    const m = flattenRows(rows, 'x');
    for (const engine of ['js', 'tf', 'simd'] as const) {
      const rand = await pcaFlat(m, { components: rank, method: 'randomized', seed: 3 }, engine);
      expect(rand.method).toBe('randomized');
      for (let c = 0; c < rank; c++) {
        expect(Math.abs(rand.explainedVarianceRatio[c] - exact.explainedVarianceRatio[c])).toBeLessThan(1e-4);
        let cos = 0;
        for (let t = 0; t < d; t++) cos += rand.components[c][t] * exact.components[c][t];
        expect(cos).toBeGreaterThan(0.9999); // same sign convention too
        expect(rand.projected[10][c]).toBeCloseTo(exact.projected[10][c], 1);
      }
    }
  });

  it('randomized SIMD path: ragged shapes, a large offset, NaN found in its first pass', async () => {
    // 203 rows (not a multiple of 4) and 45 columns (rows padded to 48 floats in the kernel).
    const g = normals(17);
    const [n, d, rank] = [203, 45, 4];
    const basis = Array.from({ length: rank }, () => Float32Array.from({ length: d }, g));
    const data = new Float32Array(n * d);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < rank; k++) {
        const z = g() * (rank - k) * 3;
        for (let t = 0; t < d; t++) data[i * d + t] += z * basis[k][t];
      }
      for (let t = 0; t < d; t++) data[i * d + t] += 1000 + 1e-3 * g();
    }
    const m = { data, n, d };
    const exact = await pcaFlat(m, { components: rank, method: 'exact' }, 'js');
    const rand = await pcaFlat(m, { components: rank, method: 'randomized', seed: 2 }, 'simd');
    for (let c = 0; c < rank; c++) {
      expect(Math.abs(rand.explainedVarianceRatio[c] - exact.explainedVarianceRatio[c])).toBeLessThan(1e-4);
      let cos = 0;
      for (let t = 0; t < d; t++) cos += rand.components[c][t] * exact.components[c][t];
      expect(cos).toBeGreaterThan(0.9999);
      expect(rand.projected[n - 1][c]).toBeCloseTo(exact.projected[n - 1][c], 1);
    }
    for (let t = 0; t < d; t++) expect(rand.mean[t]).toBeCloseTo(exact.mean[t], 3);
    const bad = Float32Array.from(data);
    bad[57 * d + 44] = Infinity;
    await expectCode(
      () => pcaFlat({ data: bad, n, d }, { components: 2, method: 'randomized' }, 'simd', { checked: false }),
      'BAD_INPUT',
      /x\[57\]\[44\] is Infinity/,
    );
  });

  it('gives the same result on worker threads (SIMD products split by rows)', async () => {
    const g = normals(13);
    const [n, d, rank] = [1500, 300, 8];
    const basis = Array.from({ length: rank }, () => Float32Array.from({ length: d }, g));
    const data = new Float32Array(n * d);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < rank; k++) {
        const z = g() * (rank - k);
        for (let t = 0; t < d; t++) data[i * d + t] += z * basis[k][t];
      }
      for (let t = 0; t < d; t++) data[i * d + t] += 0.01 * g();
    }
    const m = { data, n, d };
    const opts = { components: 6, method: 'randomized' as const, seed: 1 };
    const one = await pcaFlat(m, { ...opts, threads: 1 }, 'simd');
    const two = await pcaFlat(m, { ...opts, threads: 2 }, 'simd');
    expect(two.explainedVarianceRatio).toEqual(one.explainedVarianceRatio);
    expect(two.projected).toEqual(one.projected);
    const exact = await pcaFlat(m, { components: 6, method: 'exact' }, 'js');
    for (let c = 0; c < 6; c++) {
      expect(Math.abs(two.explainedVarianceRatio[c] - exact.explainedVarianceRatio[c])).toBeLessThan(1e-4);
    }
    await expectCode(() => pcaFlat(m, { ...opts, threads: 0 }, 'simd'), 'BAD_OPTION', /threads/);
  });

  it('completes the basis with zero-variance axes when components exceed the rank', async () => {
    const rows: Float32Array[] = [];
    for (let i = 0; i < 40; i++) rows.push(Float32Array.of(i, 2 * i, 0, 0, 1));
    for (const method of ['exact', 'randomized'] as const) {
      const res = await pca(rows, { components: 3, method });
      expect(res.explainedVarianceRatio[0]).toBeCloseTo(1, 5);
      expect(res.explainedVariance[1]).toBeCloseTo(0, 4);
      for (let a = 0; a < 3; a++) {
        for (let b = 0; b < 3; b++) {
          let s = 0;
          for (let t = 0; t < 5; t++) s += res.components[a][t] * res.components[b][t];
          expect(s).toBeCloseTo(a === b ? 1 : 0, 5);
        }
      }
    }
  });

  it('handles wide data (N < D) through the Gram matrix', async () => {
    const g = normals(11);
    const rows = Array.from({ length: 12 }, () => Float32Array.from({ length: 40 }, g));
    const res = await pca(rows, { components: 4, method: 'exact' });
    const ref = powerIterationEigenvalues(rows, 4);
    for (let c = 0; c < 4; c++) expect(res.explainedVariance[c]).toBeCloseTo(ref[c], 3);
    // Projection = centred row . axis.
    const mean = Array.from({ length: 40 }, (_, t) => rows.reduce((s, r) => s + r[t], 0) / 12);
    let p = 0;
    for (let t = 0; t < 40; t++) p += (rows[3][t] - mean[t]) * res.components[1][t];
    expect(res.projected[3][1]).toBeCloseTo(p, 4);
  });

  it('whitens, accepts a tensor, leaks nothing and is deterministic', async () => {
    const rows = fixedMatrix();
    const x = tf.tensor2d(
      rows.flatMap((r) => Array.from(r)),
      [rows.length, 6],
    );
    const before = tf.memory().numTensors;
    const res = await pca(x, { components: 3, whiten: true, method: 'randomized', seed: 5 });
    expect(tf.memory().numTensors).toBe(before);
    for (let c = 0; c < 3; c++) {
      const v = res.projected.reduce((s, r) => s + r[c] * r[c], 0) / (rows.length - 1);
      expect(v).toBeCloseTo(1, 4);
    }
    const again = await pca(x, { components: 3, whiten: true, method: 'randomized', seed: 5 });
    expect(again.projected).toEqual(res.projected);
    x.dispose();
  });

  it('keeps a tensor on a fast backend (wasm) and agrees with the exact path', async () => {
    const g = normals(21);
    const [n, d] = [400, 160];
    const basis = Array.from({ length: 6 }, () => Float32Array.from({ length: d }, g));
    const flat = new Float32Array(n * d);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < 6; k++) {
        const z = g() * (6 - k);
        for (let t = 0; t < d; t++) flat[i * d + t] += z * basis[k][t];
      }
      for (let t = 0; t < d; t++) flat[i * d + t] += 0.01 * g() + 3;
    }
    const rows = Array.from({ length: n }, (_, i) => flat.subarray(i * d, (i + 1) * d));
    const exact = await pca(rows, { components: 4, method: 'exact' });
    await tf.setBackend('wasm');
    try {
      const x = tf.tensor2d(flat, [n, d]);
      const before = tf.memory().numTensors;
      const res = await pca(x, { components: 4 });
      expect(tf.memory().numTensors).toBe(before);
      expect(res.method).toBe('randomized');
      for (let c = 0; c < 4; c++) {
        expect(Math.abs(res.explainedVarianceRatio[c] - exact.explainedVarianceRatio[c])).toBeLessThan(1e-4);
        expect(res.projected[7][c]).toBeCloseTo(exact.projected[7][c], 1);
      }
      expect(res.mean[0]).toBeCloseTo(exact.mean[0], 4);
      const bad = tf.tensor2d([
        [1, 2],
        [NaN, 3],
        [4, 5],
      ]);
      await expectCode(() => pca(bad, { components: 1, method: 'randomized' }), 'BAD_INPUT', /NaN/);
      x.dispose();
      bad.dispose();
    } finally {
      await tf.setBackend('cpu');
    }
  });

  it('rejects bad input', async () => {
    await expectCode(
      () => pca([Float32Array.of(1, 2), Float32Array.of(1)], { components: 1 }),
      'BAD_INPUT',
      /ragged/,
    );
    await expectCode(
      () =>
        pca(
          [
            [1, 2],
            [3, NaN],
          ],
          { components: 1 },
        ),
      'BAD_INPUT',
      /NaN/,
    );
    await expectCode(
      () =>
        pca(
          [
            [1, 2],
            [1, 2],
            [1, 2],
          ],
          { components: 1 },
        ),
      'BAD_INPUT',
      /zero variance/,
    );
    await expectCode(
      () =>
        pca(
          [
            [1, 2],
            [3, 4],
          ],
          { components: 3 },
        ),
      'BAD_OPTION',
      /components/,
    );
    await expectCode(
      () =>
        pca(
          [
            [1, 2],
            [3, 4],
          ],
          { components: 1, method: 'svd' as 'exact' },
        ),
      'BAD_OPTION',
      /method/,
    );
    await expectCode(() => pca([[1, 2]], { components: 1 }), 'BAD_INPUT', /at least 2/);
    await expectCode(() => pca('x' as unknown as number[][], { components: 1 }), 'BAD_INPUT');
  });
});
