import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { knn } from '@cnnviz/embedding';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendRows, openOrCreate, type TableMeta } from './store.js';
import { buildVectorIndex, storeKnn } from './store-knn.js';

let dir: string;
const N = 3000;
const D = 32;
let vectors: Float32Array[];

/** Clustered data: 30 centres, points scattered around them (a seeded LCG, reproducible). */
function clustered(n: number, d: number, seed = 1): Float32Array[] {
  let s = seed;
  const rnd = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  const centres = Array.from({ length: 30 }, () => Float32Array.from({ length: d }, () => rnd() * 4));
  return Array.from({ length: n }, (_, i) => Float32Array.from(centres[i % 30], (c) => c + rnd()));
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = mkdtempSync(join(tmpdir(), 'cnnviz-knn-'));
  vectors = clustered(N, D);
  const meta: TableMeta = { model: 'synthetic', layer: 'none', dims: D };
  const table = await openOrCreate({ store: dir, table: 'v' }, meta);
  const rows = vectors.map((vector, id) => ({
    id,
    path: `p${id}`,
    label: null,
    model: 'synthetic',
    layer: 'none',
    time: 0,
    prediction: 0,
    probability: 1,
    vector,
  }));
  for (let i = 0; i < N; i += 1000) await appendRows(table, rows.slice(i, i + 1000), meta);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const recall = (got: Int32Array[], want: Int32Array[]) =>
  got.reduce((s, g, q) => s + g.filter((i) => want[q].includes(i)).length, 0) /
  (want.length * want[0].length);

describe('storeKnn', () => {
  it('exact search equals @cnnviz/embedding knn, by id, with paths', async () => {
    const queries = clustered(20, D, 7);
    const ref = await knn(vectors, queries, { k: 10 });
    const got = await storeKnn(queries, { store: dir, table: 'v', k: 10 });
    expect(got.search).toBe('exact');
    expect(got.indices).toEqual(ref.indices);
    got.distances.forEach((d, q) => expect(Array.from(d)).toEqual(Array.from(ref.distances[q])));
    expect(got.paths[3]).toEqual(Array.from(ref.indices[3], (i) => `p${i}`));
  });

  it('neighbours of stored images leave the image itself out', async () => {
    const got = await storeKnn({ paths: ['p5', 'p77'] }, { store: dir, table: 'v', k: 4, metric: 'cosine' });
    const ref = await knn(vectors, [vectors[5], vectors[77]], { k: 5, metric: 'cosine' });
    expect(Array.from(got.indices[0])).toEqual(
      Array.from(ref.indices[0])
        .filter((i) => i !== 5)
        .slice(0, 4),
    );
    expect(Array.from(got.indices[1])).toEqual(
      Array.from(ref.indices[1])
        .filter((i) => i !== 77)
        .slice(0, 4),
    );
  });

  it('the vector index (IVF-PQ) finds >= 95 % of the exact 10 nearest, with exact distances', async () => {
    const secs = await buildVectorIndex({ store: dir, table: 'v', partitions: 16 });
    expect(secs).toBeGreaterThan(0);
    const queries = clustered(50, D, 11);
    const ref = await knn(vectors, queries, { k: 10 });
    const got = await storeKnn(queries, { store: dir, table: 'v', k: 10, search: 'index' });
    expect(got.search).toBe('index');
    const r = recall(got.indices, ref.indices);
    console.log(`storeKnn index recall@10 on ${N} x ${D}: ${r.toFixed(3)}`);
    expect(r).toBeGreaterThanOrEqual(0.95);
    // Refined candidates carry their exact distance (not squared).
    const q0 = got.indices[0][0];
    const exact = Math.hypot(...vectors[q0].map((v, j) => v - queries[0][j]));
    expect(got.distances[0][0]).toBeCloseTo(exact, 3);
  });

  it('rejects a missing table and a bad k', async () => {
    await expect(storeKnn('all', { store: dir, table: 'nope', k: 3 })).rejects.toMatchObject({
      code: 'BAD_INPUT',
    });
    await expect(storeKnn('all', { store: dir, table: 'v', k: 0 })).rejects.toMatchObject({
      code: 'BAD_OPTION',
    });
  });
});
