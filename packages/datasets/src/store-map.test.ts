import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng, CnnvizError } from '@cnnviz/core';
import { trustworthiness } from '@cnnviz/embedding';
import { readMap } from './map-table.js';
import { appendRows, openOrCreate, type FeatureRow } from './store.js';
import { storeMap, type StoreMapProgress } from './store-map.js';

const dir = mkdtempSync(join(tmpdir(), 'cnnviz-storemap-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const n = 600;
const d = 16;
const vectors: Float32Array[] = [];

beforeAll(async () => {
  // 6 well separated clusters, written in shuffled id order over 3 appends.
  const rng = createRng(4);
  const g = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  const centres = Array.from({ length: 6 }, () => Float32Array.from({ length: d }, () => 8 * g()));
  for (let i = 0; i < n; i++) vectors.push(Float32Array.from(centres[i % 6], (v) => v + g()));
  const meta = { model: 'test', layer: 'l', dims: d };
  const table = await openOrCreate({ store: dir, table: 'feat' }, meta);
  const rows: FeatureRow[] = vectors.map((vector, id) => ({
    id,
    path: `/img/${id}.png`,
    label: String(id % 6),
    model: 'test',
    layer: 'l',
    time: 0,
    prediction: id % 6,
    probability: 1,
    vector,
  }));
  const order = rows.map((_, i) => (i * 7) % n);
  for (let p = 0; p < 3; p++)
    await appendRows(
      table,
      order.slice(p * 200, p * 200 + 200).map((i) => rows[i]),
      meta,
    );
});

describe('storeMap', () => {
  it('fitsne and umap maps of a table land in <table>__map_<name>, by id, keeping neighbourhoods', async () => {
    for (const method of ['fitsne', 'umap'] as const) {
      const phases = new Set<StoreMapProgress['phase']>();
      const s = await storeMap({
        store: dir,
        table: 'feat',
        method,
        seed: 1,
        perplexity: 15,
        iterations: 200,
        onProgress: (p) => phases.add(p.phase),
      });
      expect(s).toMatchObject({ rows: n, dims: d, name: method, method });
      expect([...phases]).toEqual(['read', 'graph', 'optimise', 'write']);
      const map = (await readMap({ store: dir, table: 'feat', name: method }))!;
      expect(map.meta).toMatchObject({ method, n, seed: 1 });
      const y = Array.from({ length: n }, (_, i) => [map.x[i], map.y[i]]);
      // Ids are read back in id order even though rows were appended shuffled.
      expect(await trustworthiness(vectors, y, 10)).toBeGreaterThan(0.9);
    }
  }, 180_000);

  it('is deterministic: the same seed writes the same coordinates', async () => {
    const ref = { store: dir, table: 'feat' };
    await storeMap({ ...ref, method: 'umap', seed: 5, name: 'a', epochs: 50 });
    await storeMap({ ...ref, method: 'umap', seed: 5, name: 'b', epochs: 50 });
    const a = (await readMap({ ...ref, name: 'a' }))!;
    const b = (await readMap({ ...ref, name: 'b' }))!;
    expect(a.x).toEqual(b.x);
    expect(a.y).toEqual(b.y);
  }, 60_000);

  it('says what is wrong: a missing table, an unknown method', async () => {
    await expect(storeMap({ store: dir, table: 'nope' })).rejects.toThrow(/no table "nope"/);
    const e = await storeMap({ store: dir, table: 'feat', method: 'pca' as never }).catch((x) => x);
    expect(CnnvizError.isInstance(e) && e.code).toBe('BAD_OPTION');
  });
});
