import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { knn } from '@cnnviz/embedding';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTable } from './store.js';
import { readMap } from './map-table.js';
import { storeMap } from './store-map.js';
import { haveRedis, startRedis } from './test-redis.js';
import { writeSyntheticImages } from './test-util.js';

// The dataset commands of the `cnnviz` CLI (@cnnviz/node), run as a user runs them.
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const MAIN = join(ROOT, 'packages/node-adapter/src/cli/main.ts');
// The test runs in a temporary folder, where a bare `tsx` does not resolve.
const TSX = pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;

function start(
  args: string[],
  cwd: string,
): { child: ChildProcess; done: Promise<{ code: number | null; stdout: string; stderr: string }> } {
  const child = spawn(process.execPath, ['--import', TSX, MAIN, ...args], {
    cwd,
    env: {
      ...process.env,
      TSX_TSCONFIG_PATH: join(ROOT, 'tsconfig.json'),
      CNNVIZ_BACKEND: 'cpu',
      NODE_PATH: join(ROOT, 'node_modules'),
    },
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d));
  child.stderr!.on('data', (d: Buffer) => (stderr += d));
  return { child, done: new Promise((ok) => child.on('close', (code) => ok({ code, stdout, stderr }))) };
}
const cnnviz = (args: string[], cwd: string) => start(args, cwd).done;
const json = (out: string) => JSON.parse(out.trim().split('\n').pop()!);

let dir: string;
const N = 30;
beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = mkdtempSync(join(tmpdir(), 'cnnviz-cli-ds-'));
  writeSyntheticImages(join(dir, 'images'), N);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('cnnviz extract / embed --table / audit', () => {
  it('extract stores the set, a rerun resumes, embed --table finds the exact neighbours', async () => {
    const first = await cnnviz(
      ['extract', 'images/', '--table', 'f', '--layer', 'dense1', '--batch', '8', '--json'],
      dir,
    );
    expect(first.code, first.stderr).toBe(0);
    expect(json(first.stdout)).toMatchObject({
      ok: true,
      images: N,
      added: N,
      skipped: 0,
      rows: N,
      layer: 'dense1',
    });
    const again = await cnnviz(['extract', 'images/', '--table', 'f', '--layer', 'dense1', '--json'], dir);
    expect(json(again.stdout)).toMatchObject({ added: 0, skipped: N, rows: N });

    const nb = await cnnviz(['embed', '--table', 'f', '--neighbours', '3', '--json'], dir);
    expect(nb.code, nb.stderr).toBe(0);
    const out = json(nb.stdout) as {
      search: string;
      neighbours: { image: string; neighbours: { image: string }[] }[];
    };
    expect(out.search).toBe('exact');
    const t = (await openTable({ store: join(dir, 'cnnviz-store'), table: 'f' }))!;
    const rows = (
      (await t.query().select(['id', 'path', 'vector']).toArray()) as {
        id: bigint;
        path: string;
        vector: { toArray(): Float32Array };
      }[]
    ).sort((a, b) => Number(a.id) - Number(b.id));
    const vectors = rows.map((r) => Float32Array.from(r.vector.toArray()));
    const ref = await knn(vectors, vectors, { k: 3, excludeSelf: true });
    expect(out.neighbours.length).toBe(N);
    out.neighbours.forEach((n, i) => {
      expect(n.image).toBe(rows[i].path);
      expect(n.neighbours.map((x) => x.image)).toEqual(Array.from(ref.indices[i], (j) => rows[j].path));
    });
  });

  it('map make writes the same map as storeMap, and says when the table is too small', async () => {
    const store = join(dir, 'cnnviz-store');
    const r = await cnnviz(
      [
        'map',
        'make',
        '--table',
        'f',
        '--method',
        'umap',
        '--neighbors',
        '5',
        '--epochs',
        '50',
        '--name',
        'cli',
        '--json',
      ],
      dir,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(json(r.stdout)).toMatchObject({ command: 'map make', rows: N, name: 'cli', method: 'umap' });
    await storeMap({ store, table: 'f', method: 'umap', neighbors: 5, epochs: 50, name: 'api' });
    const cli = (await readMap({ store, table: 'f', name: 'cli' }))!;
    const api = (await readMap({ store, table: 'f', name: 'api' }))!;
    expect(cli.x).toEqual(api.x);
    expect(cli.y).toEqual(api.y);
    const small = await cnnviz(['map', 'make', '--table', 'f'], dir);
    expect(small.code).toBe(2);
    expect(small.stderr).toMatch(/30 rows: too few for a map with perplexity 30/);
    const bad = await cnnviz(['map', 'draw', '--table', 'f'], dir);
    expect(bad.stderr).toMatch(/unknown map action "draw"; expected `cnnviz map make` or `cnnviz map serve`/);
  }, 120_000);

  it('audit stores a map per image and reports the accuracy against the labels', async () => {
    const manifest = join(dir, 'labelled.jsonl');
    writeFileSync(
      manifest,
      Array.from({ length: 12 }, (_, i) =>
        JSON.stringify({ path: `images/class${i % 3}/img-${String(i).padStart(6, '0')}.png`, label: i % 10 }),
      ).join('\n'),
    );
    const r = await cnnviz(['audit', manifest, '--table', 'audit', '--cam-layer', 'conv3', '--json'], dir);
    expect(r.code, r.stderr).toBe(0);
    const out = json(r.stdout);
    const t = (await openTable({ store: join(dir, 'cnnviz-store'), table: 'audit' }))!;
    const rows = (await t.query().select(['label', 'prediction', 'attribution']).toArray()) as {
      label: string;
      prediction: number;
      attribution: { length: number };
    }[];
    expect(rows.length).toBe(12);
    expect(rows.every((x) => x.attribution.length === 49)).toBe(true);
    expect(out.labelled).toBe(12);
    expect(out.accuracy).toBeCloseTo(rows.filter((x) => Number(x.label) === x.prediction).length / 12, 10);
    expect(out.leastConfident.length).toBe(5);
  });

  it('says what is missing', async () => {
    const r = await cnnviz(['extract', 'images/'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('needs --table');
    const q = await cnnviz(['queue', 'images/', '--table', 'x'], dir);
    expect(q.code).toBe(2);
    expect(q.stderr).toContain('--redis');
  });
});

const redisOk = haveRedis();
if (!redisOk)
  console.log('skipped: cnnviz queue/worker CLI test needs redis-server (apt-get install -y redis-server)');

describe.skipIf(!redisOk)('cnnviz queue and cnnviz worker', () => {
  let redis: { url: string; stop(): Promise<void> };
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => redis?.stop());

  it('two workers and the coordinator store every image once; SIGTERM stops a worker cleanly', async () => {
    const workers = [0, 1].map(() =>
      start(['worker', '--redis', redis.url, '--queue', 'cli', '--json'], dir),
    );
    const q = await cnnviz(
      [
        'queue',
        'images/',
        '--redis',
        redis.url,
        '--queue',
        'cli',
        '--table',
        'dist',
        '--layer',
        'dense1',
        '--batch',
        '4',
        '--json',
      ],
      dir,
    );
    expect(q.code, q.stderr).toBe(0);
    expect(json(q.stdout)).toMatchObject({ images: N, added: N, rows: N, jobs: Math.ceil(N / 4) });
    for (const w of workers) w.child.kill('SIGTERM');
    const ends = await Promise.all(workers.map((w) => w.done));
    for (const e of ends) expect(e.code, e.stderr).toBe(0);
    expect(ends.reduce((s, e) => s + (json(e.stdout).images as number), 0)).toBe(N);
    const t = (await openTable({ store: join(dir, 'cnnviz-store'), table: 'dist' }))!;
    const paths = ((await t.query().select(['path']).toArray()) as { path: string }[]).map((r) => r.path);
    expect(new Set(paths).size).toBe(N);
    expect(paths.length).toBe(N);
  });
});
