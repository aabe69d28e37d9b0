import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mapTableName, readMap, writeMap } from './map-table.js';

const dir = mkdtempSync(join(tmpdir(), 'cnnviz-map-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('map tables', () => {
  it('writes and reads x, y by id with the metadata, and a rewrite replaces the map', async () => {
    const n = 70_001;
    const coords = new Float32Array(2 * n);
    for (let i = 0; i < n; i++) {
      coords[2 * i] = Math.sin(i) * 100;
      coords[2 * i + 1] = i / 7;
    }
    const ref = { store: dir, table: 'feat', name: 'fitsne' };
    await writeMap(ref, coords, { method: 'fitsne', seed: 3, params: { perplexity: 30 } });
    const got = (await readMap(ref))!;
    expect(got.meta).toEqual({ method: 'fitsne', seed: 3, params: { perplexity: 30 }, n });
    expect(got.x[12345]).toBe(Math.fround(Math.sin(12345) * 100));
    expect(got.y[n - 1]).toBe(Math.fround((n - 1) / 7));

    await writeMap(ref, Float32Array.of(1, 2, 3, 4), { method: 'umap' });
    const again = (await readMap(ref))!;
    expect(again.meta.n).toBe(2);
    expect(Array.from(again.x)).toEqual([1, 3]);
    expect(Array.from(again.y)).toEqual([2, 4]);
  });

  it('an unknown map is undefined; bad names and odd coordinates are typed errors', async () => {
    expect(await readMap({ store: dir, table: 'feat', name: 'none' })).toBeUndefined();
    expect(() => mapTableName({ table: 't', name: '../x' })).toThrow(/map name/);
    await expect(
      writeMap({ store: dir, table: 't', name: 'a' }, new Float32Array(3), { method: 'x' }),
    ).rejects.toMatchObject({
      code: 'BAD_INPUT',
    });
  });
});
