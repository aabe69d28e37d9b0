import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { knn, knnFlat } from './knn.js';
import { InMemoryVectorStore, KnnIndex } from './knn-index.js';
import { flattenRows } from './matrix.js';
import { expectCode, normals } from './test-util.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function randomRows(n: number, d: number, seed: number): Float32Array[] {
  const g = normals(seed);
  return Array.from({ length: n }, () => Float32Array.from({ length: d }, g));
}

/** Float64 brute force: every distance, sorted by (distance, index). */
function bruteForce(
  F: Float32Array[],
  Q: Float32Array[],
  k: number,
  metric: 'euclidean' | 'cosine',
  skipSelf = false,
) {
  return Q.map((q, qi) => {
    const all = F.map((f, j) => {
      let s = 0;
      if (metric === 'euclidean') {
        for (let t = 0; t < q.length; t++) s += (q[t] - f[t]) ** 2;
        return { j, key: s, dist: Math.sqrt(s) };
      }
      let nq = 0;
      let nf = 0;
      for (let t = 0; t < q.length; t++) {
        s += q[t] * f[t];
        nq += q[t] * q[t];
        nf += f[t] * f[t];
      }
      const dist = Math.max(0, 1 - s / (Math.sqrt(nq) * Math.sqrt(nf)));
      return { j, key: dist, dist };
    }).filter((e) => !(skipSelf && e.j === qi));
    all.sort((a, b) => a.key - b.key || a.j - b.j);
    return all.slice(0, k);
  });
}

describe('knn', () => {
  for (const metric of ['euclidean', 'cosine'] as const) {
    it(`equals brute force exactly (${metric}), on every compute engine, any tiling`, async () => {
      const F = randomRows(230, 24, 1);
      const Q = randomRows(41, 24, 2);
      const k = 7;
      const ref = bruteForce(F, Q, k, metric);
      const before = tf.memory().numTensors;
      const res = await knn(F, Q, { k, metric, blockSize: 37 });
      expect(tf.memory().numTensors).toBe(before);
      for (const engine of ['js', 'tf', 'simd'] as const) {
        const flat = await knnFlat(
          flattenRows(F, 'f'),
          flattenRows(Q, 'q'),
          { k, metric, blockSize: 50 },
          engine,
        );
        expect(Array.from(flat.indices)).toEqual(ref.flatMap((r) => r.map((e) => e.j)));
      }
      expect(tf.memory().numTensors).toBe(before);
      res.indices.forEach((row, q) => {
        expect(Array.from(row)).toEqual(ref[q].map((e) => e.j));
        ref[q].forEach((e, t) => expect(res.distances[q][t]).toBeCloseTo(e.dist, 5));
      });
    });
  }

  it('self queries use the symmetric tiles and match brute force, with and without self', async () => {
    const F = randomRows(150, 8, 3);
    for (const excludeSelf of [false, true]) {
      const ref = bruteForce(F, F, 5, 'euclidean', excludeSelf);
      const res = await knn(F, F, { k: 5, blockSize: 32, excludeSelf });
      res.indices.forEach((row, q) => expect(Array.from(row)).toEqual(ref[q].map((e) => e.j)));
      if (!excludeSelf) res.indices.forEach((row, q) => expect(row[0]).toBe(q));
    }
  });

  it('breaks ties by the lower index and accepts tensors', async () => {
    // Rows 1, 3 and 4 are identical: equidistant from any query.
    const F = tf.tensor2d([
      [0, 0],
      [1, 1],
      [5, 5],
      [1, 1],
      [1, 1],
    ]);
    const Q = tf.tensor2d([
      [1, 1],
      [0.9, 1.1],
    ]);
    const res = await knn(F, Q, { k: 3 });
    expect(Array.from(res.indices[0])).toEqual([1, 3, 4]);
    expect(Array.from(res.indices[1])).toEqual([1, 3, 4]);
    expect(Array.from(res.distances[0])).toEqual([0, 0, 0]);
    F.dispose();
    Q.dispose();
  });

  it('stays exact when float32 scores cannot separate the candidates', async () => {
    // A +-1000 column keeps centred norms large, so float32 scores cannot resolve the 0.01-scale
    // differences of 150 points per side: the float64 re-check must send these queries on to the
    // second round and then to the brute force.
    const g = normals(5);
    const F = Array.from({ length: 300 }, (_, i) =>
      Float32Array.from({ length: 6 }, (_, t) => (t === 0 ? (i % 2 ? 1000 : -1000) : 0.01 * g())),
    );
    const Q = F.slice(0, 10).map((r) => Float32Array.from(r, (v, t) => (t === 0 ? v : v + 0.001)));
    for (const metric of ['euclidean', 'cosine'] as const) {
      const ref = bruteForce(F, Q, 10, metric);
      const res = await knn(F, Q, { k: 10, metric });
      res.indices.forEach((row, q) => expect(Array.from(row)).toEqual(ref[q].map((e) => e.j)));
    }
  });

  it('splits the SIMD tiles over worker threads: same neighbours, progress and abort', async () => {
    const F = randomRows(700, 40, 11);
    const Q = randomRows(90, 40, 12);
    const flat = flattenRows(F, 'f');
    for (const [queries, excludeSelf] of [
      ['self', true],
      [flattenRows(Q, 'q'), false],
    ] as const) {
      const opts = { k: 12, blockSize: 64, excludeSelf, metric: 'euclidean' as const };
      const one = await knnFlat(flat, queries, { ...opts, threads: 1 }, 'simd');
      const seen: number[] = [];
      const two = await knnFlat(
        flat,
        queries,
        { ...opts, threads: 2, onProgress: (p) => seen.push(p.done / p.total) },
        'simd',
      );
      expect(Array.from(two.indices)).toEqual(Array.from(one.indices));
      expect(Array.from(two.dist)).toEqual(Array.from(one.dist));
      expect(seen.at(-1)).toBe(1);
      const ref = bruteForce(F, queries === 'self' ? F : Q, 12, 'euclidean', excludeSelf);
      expect(Array.from(two.indices)).toEqual(ref.flatMap((r) => r.map((e) => e.j)));
    }
    const ctrl = new AbortController();
    await expectCode(
      () =>
        knnFlat(
          flat,
          'self',
          { k: 5, blockSize: 32, threads: 2, signal: ctrl.signal, onProgress: () => ctrl.abort() },
          'simd',
        ),
      'ABORTED',
    );
  });

  it('rejects bad input', async () => {
    const F = randomRows(10, 3, 1);
    await expectCode(() => knn(F, F, { k: 11 }), 'BAD_OPTION', /at most/);
    await expectCode(() => knn(F, F, { k: 10, excludeSelf: true }), 'BAD_OPTION', /minus one/);
    await expectCode(() => knn(F, randomRows(2, 4, 1), { k: 1 }), 'BAD_INPUT', /same dimension/);
    await expectCode(() => knn(F, [[1, 2, NaN]], { k: 1 }), 'BAD_INPUT', /NaN/);
    await expectCode(() => knn([[1, 2], [3]], [[1, 2]], { k: 1 }), 'BAD_INPUT', /ragged/);
    await expectCode(() => knn(F, [[0, 0, 0]], { k: 1, metric: 'cosine' }), 'BAD_INPUT', /zeros/);
    await expectCode(() => knn(F, F, { k: 1, metric: 'l1' as 'cosine' }), 'BAD_OPTION', /metric/);
    await expectCode(() => knn(F, F, { k: 0 }), 'BAD_OPTION', /k must/);
    await expectCode(() => knn(F, F, { k: 1, threads: 0 }), 'BAD_OPTION', /threads/);
    await expectCode(
      () => knn(F, randomRows(3, 3, 2), { k: 1, excludeSelf: true }),
      'BAD_OPTION',
      /same object/,
    );
  });
});

describe('KnnIndex', () => {
  it('queries like knn, round-trips through save/load, and grows', async () => {
    const F = randomRows(60, 5, 8);
    const Q = randomRows(4, 5, 9);
    const index = await KnnIndex.build(F, { metric: 'cosine' });
    const direct = await knn(F, Q, { k: 4, metric: 'cosine' });
    const viaIndex = await index.query(Q, { k: 4 });
    expect(viaIndex).toEqual(direct);
    const bytes = index.save();
    const loaded = KnnIndex.load(bytes);
    expect(loaded.size).toBe(60);
    expect(loaded.metric).toBe('cosine');
    expect(await loaded.query(Q, { k: 4 })).toEqual(direct);
    expect(loaded.vector(7)).toEqual(F[7]);
    const ids = loaded.add([Q[0]]);
    expect(ids).toEqual([60]);
    const self = await loaded.query([Q[0]], { k: 1 });
    expect(self.indices[0][0]).toBe(60);
  });

  it('rejects damaged or foreign bytes', async () => {
    await expectCode(() => KnnIndex.load(new Uint8Array([1, 2, 3])), 'BAD_INPUT', /KnnIndex/);
    const bytes = (
      await KnnIndex.build([
        [1, 2],
        [3, 4],
      ])
    ).save();
    await expectCode(() => KnnIndex.load(bytes.slice(0, bytes.length - 4)), 'BAD_INPUT', /expected/);
    const wrong = bytes.slice();
    wrong[0] = 88;
    await expectCode(() => KnnIndex.load(wrong), 'BAD_INPUT', /header/);
  });
});

describe('InMemoryVectorStore', () => {
  it('upserts by id and answers nearest first', async () => {
    const store = new InMemoryVectorStore(2);
    await store.upsert(
      ['a', 'b', 'c'],
      [
        [0, 0],
        [10, 0],
        [0, 5],
      ],
    );
    expect(await store.query([1, 0], 2)).toEqual([
      { id: 'a', distance: 1 },
      { id: 'c', distance: expect.closeTo(Math.hypot(1, 5), 5) },
    ]);
    await store.upsert(
      ['a', 'd'],
      [
        [100, 100],
        [1, 1],
      ],
    ); // replaces a, adds d
    expect(store.size).toBe(4);
    const res = await store.query([1, 0], 2);
    expect(res.map((r) => r.id)).toEqual(['d', 'c']);
    await expectCode(() => store.upsert(['x'], [[1, 2, 3]]), 'BAD_INPUT', /2-dimensional/);
    await expectCode(
      () =>
        store.upsert(
          ['x', 'x'],
          [
            [1, 2],
            [3, 4],
          ],
        ),
      'BAD_INPUT',
      /unique/,
    );
  });
});
