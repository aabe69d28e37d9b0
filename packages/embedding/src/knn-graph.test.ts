import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { graphRecall, knnGraph } from './knn-graph.js';
import { knn } from './knn.js';
import { clusteredData, expectCode } from './test-util.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('knnGraph', () => {
  const { rows } = clusteredData(4000, 24, 12, 9, 3);

  it('exact: every row its k nearest other rows, as knn with excludeSelf', async () => {
    const sub = rows.slice(0, 500);
    const g = await knnGraph(sub, { k: 7, method: 'exact' });
    const ref = await knn(sub, sub, { k: 7, excludeSelf: true });
    for (let i = 0; i < 500; i++) {
      expect(Array.from(g.indices.subarray(i * 7, i * 7 + 7))).toEqual(Array.from(ref.indices[i]));
      for (let t = 0; t < 7; t++) expect(Math.sqrt(g.dist2[i * 7 + t])).toBeCloseTo(ref.distances[i][t], 4);
    }
  });

  it('ivf: recall@30 >= 0.95 against exact, exact float64 distances ascending, same bytes twice', async () => {
    const k = 30;
    const g = await knnGraph(rows, { k, method: 'ivf', cells: 40, probes: 6, seed: 1 });
    const ids = Int32Array.from({ length: 400 }, (_, i) => i * 10);
    const ex = await knn(
      rows,
      ids.reduce<Float32Array[]>((a, i) => (a.push(rows[i]), a), []),
      { k: k + 1 },
    );
    const exact = new Int32Array(ids.length * k);
    ids.forEach((q, r) => {
      const others = Array.from(ex.indices[r]).filter((j) => j !== q);
      exact.set(others.slice(0, k), r * k);
    });
    const recall = graphRecall(g, exact, ids);
    expect(recall).toBeGreaterThanOrEqual(0.95);
    for (const q of [0, 1234, 3999]) {
      for (let t = 0; t < k; t++) {
        const j = g.indices[q * k + t];
        expect(j).not.toBe(q);
        let s = 0;
        for (let u = 0; u < 24; u++) s += (rows[q][u] - rows[j][u]) ** 2;
        expect(g.dist2[q * k + t]).toBe(s);
        if (t > 0) expect(g.dist2[q * k + t]).toBeGreaterThanOrEqual(g.dist2[q * k + t - 1]);
      }
    }
    const again = await knnGraph(rows, { k, method: 'ivf', cells: 40, probes: 6, seed: 1 });
    expect(again.indices).toEqual(g.indices);
  }, 120_000);

  it('refuses k beyond N - 1 and an unknown method', async () => {
    await expectCode(() => knnGraph(rows.slice(0, 10), { k: 10 }), 'BAD_OPTION', /k/);
    await expectCode(() => knnGraph(rows, { k: 3, method: 'hnsw' as never }), 'BAD_OPTION', /method/);
  });
});
