import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, startCli } from '../../node-adapter/src/cli/test-cli.js';
import { writeMap } from './map-table.js';
import { appendRows, openOrCreate, type TableMeta } from './store.js';

// `cnnviz map serve` as a user runs it: listens, answers, stops on SIGTERM; a missing map says how to make it.
const dir = mkdtempSync(join(tmpdir(), 'cnnviz-map-cli-'));
const store = join(dir, 'store');
const meta: TableMeta = { model: 'other', layer: 'l', dims: 1 };

beforeAll(async () => {
  const table = await openOrCreate({ store, table: 't' }, meta);
  await appendRows(
    table,
    [0, 1, 2].map((id) => ({
      id,
      path: join(dir, `${id}.png`),
      label: id === 1 ? 'b' : 'a',
      model: 'other',
      layer: 'l',
      time: 0,
      prediction: id,
      probability: 1,
      vector: Float32Array.of(id),
    })),
    meta,
  );
  await writeMap({ store, table: 't', name: 'm' }, Float32Array.of(0, 0, 1, 1, 2, 0), { method: 'test' });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('cnnviz map serve', () => {
  it('prints the URL, serves the map, and stops cleanly on SIGTERM', async () => {
    const run = startCli(['map', 'serve', '--table', 't', '--store', store, '--name', 'm', '--json']);
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      run.child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /"url":"([^"]+)"/.exec(out);
        if (m) resolve(m[1]);
      });
      void run.done.then((r) => reject(new Error(`exited ${r.code}: ${r.stderr}`)));
    });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const row = await (await fetch(new URL('api/rows/1', url))).json();
    // Not a zoo model: predictions are named by index.
    expect(row).toMatchObject({ id: 1, path: join(dir, '1.png'), label: 'b', predictionName: 'class 1' });
    run.child.kill('SIGTERM');
    const r = await run.done;
    expect(r.code, r.stderr).toBe(0);
    const last = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(last).toMatchObject({ ok: true, command: 'map', action: 'serve', table: 't', n: 3, url });
  });

  it('a missing map or action is an error that says what to run', async () => {
    const r = await cli(['map', 'serve', '--table', 't', '--store', store, '--name', 'umap']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`cnnviz map make --table t --store ${store} --name umap`);
    const bad = await cli(['map', 'show', '--table', 't']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('cnnviz map serve');
  });
});
