import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { FftRepulsion } from './tsne-fft.js';
import { tsne } from './tsne.js';
import { knnGraph } from './knn-graph.js';
import { liveFftWorkers } from './tsne-fft-pool.js';
import { trustworthiness } from './trustworthiness.js';
import { clusteredData, expectCode, normals } from './test-util.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('FFT-interpolated repulsion', () => {
  it('matches the exact O(N^2) sums: Z and sum_j w_ij^2 (y_i - y_j) on 300 points', () => {
    const n = 300;
    // Spans ~6 and ~62: 50 and 62 intervals (widths 0.12 and 1.0, FIt-SNE's default limit), and
    // 96 intervals (width 0.64) at 1.5 per unit; measured relative errors (Z / forces) 3e-7 / 3e-5,
    // 1.4e-2 / 3.7e-2 and 3.1e-3 / 1.0e-2.
    for (const [scale, perUnit, tolZ, tolF] of [
      [1, 1, 1e-6, 1e-4],
      [10, 1, 2e-2, 5e-2],
      [10, 1.5, 5e-3, 1.5e-2],
    ]) {
      const g = normals(scale);
      const y = Float64Array.from({ length: 2 * n }, () => scale * g());
      const rep = new Float64Array(2 * n);
      const Z = new FftRepulsion(n, { intervalsPerUnit: perUnit }).forces(y, rep);
      let Ze = 0;
      const ex = new Float64Array(2 * n);
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) {
          if (i === j) continue;
          const dx = y[2 * i] - y[2 * j];
          const dy = y[2 * i + 1] - y[2 * j + 1];
          const w = 1 / (1 + dx * dx + dy * dy);
          Ze += w;
          ex[2 * i] += w * w * dx;
          ex[2 * i + 1] += w * w * dy;
        }
      let num = 0;
      let den = 0;
      for (let t = 0; t < 2 * n; t++) {
        num += (rep[t] - ex[t]) ** 2;
        den += ex[t] ** 2;
      }
      expect(Math.abs(Z - Ze) / Ze, `Z at scale ${scale}, ${perUnit} per unit`).toBeLessThan(tolZ);
      expect(Math.sqrt(num / den), `forces at scale ${scale}, ${perUnit} per unit`).toBeLessThan(tolF);
    }
  });
});

describe("tsne method 'fft' (FIt-SNE)", () => {
  const { rows } = clusteredData(2000, 30, 10, 5, 4);
  // A coarser grid than the default keeps the test short; the bench uses the defaults.
  const grid = { minIntervals: 20 };

  it('keeps neighbourhoods as well as Barnes-Hut: trustworthiness(10) within 0.01', async () => {
    const yf = await tsne(rows, { method: 'fft', seed: 2, iterations: 500, grid });
    const yb = await tsne(rows, { seed: 2, iterations: 500 });
    const tf10 = await trustworthiness(rows, yf, 10);
    const tb10 = await trustworthiness(rows, yb, 10);
    expect(tf10).toBeGreaterThan(0.9);
    expect(Math.abs(tf10 - tb10)).toBeLessThan(0.01);
  }, 300_000);

  it('is deterministic for a seed and takes a precomputed graph (same result as its own)', async () => {
    const graph = await knnGraph(rows, { k: 91 });
    const o = { method: 'fft' as const, seed: 7, iterations: 60, grid };
    const a = await tsne(rows, o);
    const b = await tsne(rows, { ...o, graph });
    const c = await tsne(rows, o);
    expect(c).toEqual(a);
    expect(Buffer.from(new Float32Array(a.flatMap((r) => [...r])).buffer)).toEqual(
      Buffer.from(new Float32Array(b.flatMap((r) => [...r])).buffer),
    );
  }, 120_000);

  it('gives the same embedding on 1 and 2 threads (the worker: attraction and half the grids)', async () => {
    const o = { method: 'fft' as const, seed: 3, iterations: 80, grid };
    const one = await tsne(rows, { ...o, threads: 1 });
    const two = await tsne(rows, { ...o, threads: 2 });
    expect(Buffer.from(new Float32Array(two.flatMap((r) => [...r])).buffer)).toEqual(
      Buffer.from(new Float32Array(one.flatMap((r) => [...r])).buffer),
    );
  }, 120_000);

  it('aborting on 2 threads rejects ABORTED and ends the worker thread', async () => {
    const ac = new AbortController();
    const run = tsne(rows, {
      method: 'fft',
      threads: 2,
      iterations: 500,
      grid,
      reportEvery: 1,
      signal: ac.signal,
      onProgress: (s) => s.iteration === 3 && ac.abort(),
    });
    await expectCode(() => run, 'ABORTED', /abort/);
    expect(liveFftWorkers()).toBe(0);
  }, 120_000);

  it('refuses dims other than 2 and a graph with too few neighbours', async () => {
    await expectCode(() => tsne(rows, { method: 'fft', dims: 3 }), 'BAD_OPTION', /dims/);
    const small = await knnGraph(rows.slice(0, 200), { k: 10 });
    await expectCode(
      () => tsne(rows.slice(0, 200), { method: 'fft', graph: small }),
      'BAD_OPTION',
      /perplexity 30 needs 90/,
    );
  });
});
