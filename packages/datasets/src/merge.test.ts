import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mergeWorkerTables } from './merge.js';
import { workerTable } from './queue-names.js';
import { appendRows, connect, openOrCreate, openTable, type TableMeta } from './store.js';

const dir = mkdtempSync(join(tmpdir(), 'cnnviz-merge-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const meta: TableMeta = { model: 'm', layer: 'l', dims: 2 };
const row = (path: string, v: number) => ({
  id: -1,
  path,
  label: null,
  model: 'm',
  layer: 'l',
  time: 0,
  prediction: 0,
  probability: 1,
  vector: Float32Array.of(v, -v),
});

describe('mergeWorkerTables', () => {
  it('keeps one row per path, numbers them, is idempotent, and drops the worker tables last', async () => {
    const ref = { store: dir, table: 'main' };
    const a = await openOrCreate({ store: dir, table: workerTable('main', 'a') }, meta);
    const b = await openOrCreate({ store: dir, table: workerTable('main', 'b') }, meta);
    await appendRows(a, [row('x', 1), row('y', 2)], meta);
    // Worker b retried a's job (a died after its commit) and did one of its own.
    await appendRows(b, [row('y', 2), row('x', 1)], meta);
    await appendRows(b, [row('z', 3)], meta);

    expect(await mergeWorkerTables(ref, { drop: false, chunk: 1 })).toEqual({
      tables: 2,
      added: 3,
      duplicates: 2,
    });
    // A coordinator killed before dropping reruns the merge: nothing is added twice.
    expect(await mergeWorkerTables(ref, { chunk: 1 })).toEqual({ tables: 2, added: 0, duplicates: 5 });
    const t = (await openTable(ref))!;
    const rows = (await t.query().select(['id', 'path', 'vector']).toArray()) as {
      id: bigint;
      path: string;
      vector: { toArray(): Float32Array };
    }[];
    const byPath = Object.fromEntries(rows.map((r) => [r.path, [Number(r.id), ...r.vector.toArray()]]));
    expect(byPath).toEqual({ x: [0, 1, -1], y: [1, 2, -2], z: [2, 3, -3] });
    expect(await (await connect({ store: dir })).tableNames()).toEqual(['main']);
  });
});
