import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { fitAB, fuzzySet, umap } from './umap.js';
import { tsne } from './tsne.js';
import { knnGraph } from './knn-graph.js';
import { trustworthiness } from './trustworthiness.js';
import { clusteredData, expectCode } from './test-util.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('UMAP', () => {
  it("fits umap-learn's a, b for min_dist 0.1, spread 1 (1.577, 0.895)", () => {
    const { a, b } = fitAB(1, 0.1);
    expect(a).toBeCloseTo(1.5769, 3);
    expect(b).toBeCloseTo(0.8951, 3);
  });

  it('fuzzy set: each row sums to log2 k, rho gives weight 1, the union is w + w^T - w w^T', () => {
    // 4 points, 2 neighbours each (k = 3 with the point itself).
    const graph = {
      n: 4,
      k: 2,
      indices: Int32Array.of(1, 2, 0, 2, 1, 3, 2, 1),
      dist2: Float64Array.of(1, 4, 1, 2.25, 2.25, 9, 9, 16),
    };
    const e = fuzzySet(graph, 2, 3);
    const w = new Map<string, number>();
    e.head.forEach((h, t) => w.set(`${h},${e.tail[t]}`, e.weight[t]));
    // Row 0: rho = 1, weights 1 and exp(-(2 - 1) / sigma) with 1 + exp(-1/sigma) = log2 3.
    const w02 = Math.log2(3) - 1;
    // Row 2: rho = 1.5 (to 1), weight to 3 is log2 3 - 1 as well.
    expect(w.get('0,1')).toBeCloseTo(1, 12);
    expect(w.get('0,2')).toBeCloseTo(w02, 4);
    // Row 3 lists 2 first (weight 1), so the union 2-3 is w + 1 - w = 1.
    expect(w.get('2,3')).toBeCloseTo(1, 6);
    expect(w.get('3,2')).toBeCloseTo(1, 6);
    for (const [key, v] of w) {
      const [i, j] = key.split(',');
      expect(w.get(`${j},${i}`)).toBeCloseTo(v, 12);
    }
  });

  it('keeps neighbourhoods close to Barnes-Hut t-SNE and is deterministic for a seed', async () => {
    const { rows } = clusteredData(2000, 30, 10, 5, 4);
    const y = await umap(rows, { seed: 3 });
    const again = await umap(rows, { seed: 3 });
    expect(Buffer.from(new Float32Array(y.flatMap((r) => [...r])).buffer)).toEqual(
      Buffer.from(new Float32Array(again.flatMap((r) => [...r])).buffer),
    );
    const tu = await trustworthiness(rows, y, 10);
    const tb = await trustworthiness(rows, await tsne(rows, { seed: 3, iterations: 500 }), 10);
    expect(tu).toBeGreaterThan(tb - 0.03);
  }, 300_000);

  it('takes a tensor without leaking one, and stops on abort', async () => {
    const { rows } = clusteredData(300, 8, 3, 2);
    const x = tf.tensor2d(rows.map((r) => [...r]));
    const before = tf.memory().numTensors;
    const a = await umap(x, { epochs: 20, seed: 1 });
    expect(tf.memory().numTensors).toBe(before);
    expect(a).toEqual(await umap(rows, { epochs: 20, seed: 1 }));
    x.dispose();
    const ctl = new AbortController();
    const run = umap(rows, {
      epochs: 500,
      reportEvery: 1,
      signal: ctl.signal,
      onProgress: (p) => p.epoch >= 2 && ctl.abort(),
    });
    await expectCode(() => run, 'ABORTED');
    await expectCode(
      () => knnGraph(rows, { k: 5, method: 'ivf', cells: 4, signal: AbortSignal.abort() }),
      'ABORTED',
    );
  });

  it('refuses bad options', async () => {
    const { rows } = clusteredData(50, 4, 2, 1);
    await expectCode(() => umap(rows, { minDist: 2 }), 'BAD_OPTION', /minDist/);
    await expectCode(() => umap(rows, { neighbors: 1 }), 'BAD_OPTION', /neighbors/);
  });
});
