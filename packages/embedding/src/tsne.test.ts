import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { tsne, tsneSteps, type TsneStep } from './tsne.js';
import { attraction, BarnesHut, exactGradient, fullRows, walkRange } from './tsne-gradient.js';
import { localityOrder, relabel } from './tsne.js';
import type { SparseP } from './affinities.js';
import { trustworthiness } from './trustworthiness.js';
import { clusteredData, expectCode, normals } from './test-util.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Fraction of each point's 5 nearest embedding neighbours that share its label. */
function knnAgreement(y: Float32Array[], labels: Int32Array, k = 5): number {
  let agree = 0;
  y.forEach((p, i) => {
    const order = y
      .map((q, j) => ({ j, d: (p[0] - q[0]) ** 2 + (p[1] - q[1]) ** 2 }))
      .filter((e) => e.j !== i)
      .sort((a, b) => a.d - b.d)
      .slice(0, k);
    agree += order.filter((e) => labels[e.j] === labels[i]).length;
  });
  return agree / (y.length * k);
}

describe('Barnes-Hut gradient', () => {
  it('equals the exact gradient at theta = 0 and stays close at theta = 0.5 (1-D, 2-D, 3-D, duplicates)', () => {
    for (const dims of [1, 2, 3]) {
      const n = 120;
      const g = normals(dims);
      const y = Float64Array.from({ length: n * dims }, () => 5 * g());
      for (let c = 0; c < dims; c++) y[5 * dims + c] = y[9 * dims + c] = y[7 * dims + c];
      const dense = new Float64Array(n * n);
      const rowPtr = new Int32Array(n + 1);
      const cols: number[] = [];
      const vals: number[] = [];
      let total = 0;
      for (let i = 0; i < n; i++) {
        rowPtr[i] = cols.length;
        for (let j = i + 1; j < n; j += 5) {
          const v = (i * 7 + j) % 11;
          cols.push(j);
          vals.push(v);
          total += 2 * v;
        }
      }
      rowPtr[n] = cols.length;
      cols.forEach((j, t) => {
        const i = rowPtr.findIndex((p, r) => t >= p && t < rowPtr[r + 1]);
        dense[i * n + j] = dense[j * n + i] = vals[t] / total;
      });
      const P = { n, rowPtr, cols: Int32Array.from(cols), vals: Float64Array.from(vals, (v) => v / total) };
      const ref = new Float64Array(n * dims);
      exactGradient(y, dense, n, dims, 3, ref, new Float64Array(n * n));
      const bh = new BarnesHut(n, dims);
      const got = new Float64Array(n * dims);
      const scale = Math.max(...ref.map(Math.abs));
      bh.gradient(y, P, 3, 0, got);
      got.forEach((v, t) => expect(Math.abs(v - ref[t])).toBeLessThan(1e-12 * scale + 1e-18));
      bh.gradient(y, P, 3, 0.5, got);
      got.forEach((v, t) => expect(Math.abs(v - ref[t])).toBeLessThan(0.05 * scale));
    }
  });
});

describe('Barnes-Hut SIMD kernels', () => {
  it('walk bit for bit like the JS walk; attract like the JS loop; relabelling keeps P', () => {
    const n = 500;
    const g = normals(21);
    const y = Float64Array.from({ length: 2 * n }, () => 8 * g());
    y[14] = y[20];
    y[15] = y[21];
    // A sparse symmetric P: each point to 6 pseudo-random partners.
    const rowPtr = new Int32Array(n + 1);
    const cols: number[] = [];
    const vals: number[] = [];
    for (let i = 0; i < n; i++) {
      rowPtr[i] = cols.length;
      const js = new Set<number>();
      for (let t = 1; t <= 6; t++) {
        const j = (i * 37 + t * 101) % n;
        if (j > i) js.add(j);
      }
      for (const j of [...js].sort((a, b) => a - b)) {
        cols.push(j);
        vals.push(1 + ((i + j) % 5));
      }
    }
    rowPtr[n] = cols.length;
    const total = 2 * vals.reduce((a, b) => a + b, 0);
    const P = { n, rowPtr, cols: Int32Array.from(cols), vals: Float64Array.from(vals, (v) => v / total) };
    const bh = new BarnesHut(n, 2);
    expect(bh.usesSimd).toBe(true);
    const grad = new Float64Array(2 * n);
    bh.gradient(y, P, 1, 0.5, grad);
    const tree = (
      bh as unknown as { sharedArrays(): Record<string, Float64Array & Int32Array> }
    ).sharedArrays();
    const inner = bh as unknown as {
      size: number;
      idx: Int32Array;
      neg: Float64Array;
      sumQ: Float64Array;
      pos: Float64Array;
    };
    const neg = new Float64Array(2 * n);
    const sumQ = new Float64Array(n);
    walkRange(tree.node, tree.next, inner.size, tree.sy, inner.idx, neg, sumQ, 0, n, 0.25, 2);
    expect(Array.from(inner.neg)).toEqual(Array.from(neg));
    expect(Array.from(inner.sumQ)).toEqual(Array.from(sumQ));
    const pos = new Float64Array(2 * n);
    attraction(y, P, 2, pos);
    const scale = Math.max(...pos.map(Math.abs));
    inner.pos.forEach((v, t) => expect(Math.abs(v - pos[t])).toBeLessThan(1e-14 * scale));
    // Full rows list every pair from both ends, partners ascending.
    const full = fullRows(P);
    expect(full.cols.length).toBe(2 * cols.length);
    for (let i = 0; i < n; i++)
      for (let t = full.rowPtr[i] + 1; t < full.rowPtr[i + 1]; t++)
        expect(full.cols[t]).toBeGreaterThan(full.cols[t - 1]);
    // Relabelled P: the same pairs under the new names.
    const order = localityOrder(P);
    expect([...order].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
    const R = relabel(P, order);
    const pairs = (Q: SparseP, name: (i: number) => number) => {
      const out: string[] = [];
      for (let i = 0; i < n; i++)
        for (let t = Q.rowPtr[i]; t < Q.rowPtr[i + 1]; t++) {
          const [a, b] = [name(i), name(Q.cols[t])].sort((u, v) => u - v);
          out.push(`${a}-${b}:${Q.vals[t]}`);
        }
      return out.sort();
    };
    expect(pairs(R, (i) => order[i])).toEqual(pairs(P, (i) => i));
  });
});

describe('tsne', () => {
  const { rows, labels } = clusteredData(240, 10, 5, 1);

  it('keeps well-separated clusters apart, as trustworthy as exact t-SNE', async () => {
    const bh = await tsne(rows, { seed: 1 });
    const exact = await tsne(rows, { seed: 1, method: 'exact' });
    expect(knnAgreement(bh, labels)).toBeGreaterThanOrEqual(0.95);
    const tBh = await trustworthiness(rows, bh, 5);
    const tExact = await trustworthiness(rows, exact, 5);
    expect(tExact).toBeGreaterThan(0.9);
    expect(Math.abs(tBh - tExact)).toBeLessThanOrEqual(0.01);
  });

  it('is deterministic for a seed; vptree and knn neighbours agree; random init differs by seed', async () => {
    const opts = { iterations: 150, seed: 4, init: 'random' as const };
    const a = await tsne(rows, opts);
    const b = await tsne(rows, opts);
    expect(b).toEqual(a);
    const c = await tsne(rows, { ...opts, neighbors: 'knn' });
    expect(c).toEqual(a);
    const d = await tsne(rows, { ...opts, seed: 5 });
    expect(d).not.toEqual(a);
  });

  it('reports progress with a falling KL, and aborts', async () => {
    const steps: TsneStep[] = [];
    for await (const s of tsneSteps(rows, { iterations: 300, reportEvery: 100, seed: 2 })) steps.push(s);
    expect(steps.map((s) => s.iteration)).toEqual([100, 200, 300]);
    expect(steps[2].kl!).toBeLessThan(steps[0].kl!);
    expect(steps[2].embedding).toHaveLength(240);
    const ctrl = new AbortController();
    let seen = 0;
    await expectCode(
      () =>
        tsne(rows, {
          iterations: 500,
          reportEvery: 10,
          signal: ctrl.signal,
          onProgress: () => {
            if (++seen === 2) ctrl.abort();
          },
        }),
      'ABORTED',
    );
    expect(seen).toBe(2);
  });

  it('gives the same embedding with worker threads sharing the gradient', async () => {
    const opts = { iterations: 120, seed: 6 };
    const one = await tsne(rows, opts);
    const two = await tsne(rows, { ...opts, threads: 2 });
    expect(two).toEqual(one);
  });

  it('runs in a worker thread with the same result', async () => {
    const opts = { iterations: 60, seed: 3 };
    const progress: number[] = [];
    const inWorker = await tsne(rows.slice(0, 120), {
      ...opts,
      worker: true,
      reportEvery: 30,
      onProgress: (s) => progress.push(s.iteration),
    });
    const here = await tsne(rows.slice(0, 120), opts);
    expect(inWorker).toEqual(here);
    expect(progress).toEqual([30, 60]);
  });

  it('rejects bad input', async () => {
    const small = rows.slice(0, 30);
    await expectCode(() => tsne(small, { perplexity: 10 }), 'BAD_OPTION', /perplexity must be below/);
    await expectCode(
      () =>
        tsne(
          Array.from({ length: 40 }, () => [1, 2, 3]),
          { perplexity: 5 },
        ),
      'BAD_INPUT',
      /zero variance/,
    );
    await expectCode(
      () => tsne([...small.slice(1), Float32Array.of(NaN, ...small[0].slice(1))], { perplexity: 5 }),
      'BAD_INPUT',
      /NaN/,
    );
    await expectCode(
      () => tsne([...small.slice(1), small[0].slice(1)], { perplexity: 5 }),
      'BAD_INPUT',
      /ragged/,
    );
    await expectCode(() => tsne(small, { perplexity: 5, dims: 4 }), 'BAD_OPTION', /dims/);
    await expectCode(() => tsne(small, { perplexity: 5, theta: -1 }), 'BAD_OPTION', /theta/);
    await expectCode(() => tsne(small, { perplexity: 5, learningRate: 0 }), 'BAD_OPTION', /learningRate/);
    await expectCode(() => tsne(small, { perplexity: 5, init: 'spectral' as 'pca' }), 'BAD_OPTION', /init/);
    await expectCode(
      () => tsne(small, { perplexity: 5, neighbors: 'annoy' as 'knn' }),
      'BAD_OPTION',
      /neighbors/,
    );
    await expectCode(() => tsne(small, { perplexity: 5, iterations: 0 }), 'BAD_OPTION', /iterations/);
    await expectCode(() => tsne(small, { perplexity: 5, threads: 0 }), 'BAD_OPTION', /threads/);
    const big = Array.from({ length: 2001 }, (_, i) => [i, i % 7]);
    await expectCode(() => tsne(big, { method: 'exact' }), 'BAD_OPTION', /2000/);
  });
});

describe('trustworthiness', () => {
  it('matches a hand-computed example', async () => {
    // On a line, point 5 is moved next to point 0 in the embedding: three 1-NN pairs with rank 5 (penalty 4 each).
    const high = [0, 1, 2, 3, 4, 5].map((v) => [v]);
    const low = [0, 10, 20, 30, 40, 1].map((v) => [v]);
    expect(await trustworthiness(high, low, 1)).toBeCloseTo(1 - (2 / (6 * 1 * (12 - 3 - 1))) * 12, 12);
    expect(await trustworthiness(high, high, 2)).toBe(1);
  });
});
