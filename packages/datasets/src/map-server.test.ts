import { mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { FASHION_LABELS } from '@cnnviz/models';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeMap } from './map-table.js';
import { serveMap, type MapServer } from './map-server.js';
import { appendRows, openOrCreate, type FeatureRow, type TableMeta } from './store.js';
import { writeSyntheticImages } from './test-util.js';

// The map server against a real LanceDB store in a temporary folder and real PNG files. The built
// page is not needed here (a stand-in folder); the browser test serves the real one.

const dir = mkdtempSync(join(tmpdir(), 'cnnviz-map-serve-'));
const store = join(dir, 'store');
const viewerDir = join(dir, 'viewer');
const N = 7;
let paths: string[];
let server: MapServer;
const coords = Float32Array.of(0, 0, 10, 0, 0, 5, -10, -5, 4, 4, 2, -1, 6, 3);
// Vectors on a line: the neighbours of row i are known by hand.
const position = [0, 1, 3, 7, 12, 20, 40];
const meta: TableMeta = { model: 'fashion-cnn', layer: 'dense1', dims: 2 };

const get = (path: string, init?: RequestInit) => fetch(new URL(path, server.url), init);

function rawStatus(path: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) =>
    httpGet(new URL(server.url), { path, headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', reject),
  );
}

function bigPng(path: string): void {
  // 300 x 200: left half red, right half blue.
  const png = new PNG({ width: 300, height: 200 });
  for (let y = 0; y < 200; y++)
    for (let x = 0; x < 300; x++) {
      const o = (y * 300 + x) * 4;
      png.data[o] = x < 150 ? 255 : 0;
      png.data[o + 1] = 0;
      png.data[o + 2] = x < 150 ? 0 : 255;
      png.data[o + 3] = 255;
    }
  writeFileSync(path, PNG.sync.write(png));
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  paths = writeSyntheticImages(join(dir, 'img'), N - 1, 3);
  paths.push(join(dir, 'big.png'));
  bigPng(paths[N - 1]);
  const table = await openOrCreate({ store, table: 'feat' }, meta);
  const rows: FeatureRow[] = paths.map((path, id) => ({
    id,
    path,
    // The big image has no label.
    label: id < N - 1 ? path.split('/').at(-2)! : null,
    model: meta.model,
    layer: meta.layer,
    time: 0,
    prediction: (id * 3) % 10,
    probability: 0.5 + id / 100,
    vector: Float32Array.of(position[id], 0),
  }));
  await appendRows(table, rows, meta);
  await writeMap({ store, table: 'feat', name: 'fitsne' }, coords, { method: 'fitsne', seed: 1 });
  rmSync(viewerDir, { recursive: true, force: true });
  mkdirSync(join(viewerDir, 'assets'), { recursive: true });
  writeFileSync(join(viewerDir, 'index.html'), '<!doctype html><title>cnnviz map</title>');
  writeFileSync(join(viewerDir, 'assets', 'main.js'), 'console.log(1)');
  server = await serveMap({ store, table: 'feat', name: 'fitsne', viewerDir });
});

afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('serveMap', () => {
  it('listens on 127.0.0.1 and describes the map', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const info = await (await get('api/map')).json();
    expect(info).toMatchObject({
      table: 'feat',
      name: 'fitsne',
      n: N,
      model: 'fashion-cnn',
      layer: 'dense1',
    });
    expect(info.map).toEqual({ method: 'fitsne', seed: 1, n: N });
    expect(info.labels).toEqual(['class0', 'class1', 'class2']);
    // Predictions 0, 3, 6, 9, 2, 5, 8: classes 0..9, named by the zoo model's labels.
    expect(info.classes).toEqual(FASHION_LABELS);
  });

  it('sends the points as x, y in -1..1 (aspect kept), then label and prediction indices', async () => {
    const r = await get('api/points');
    expect(r.headers.get('content-type')).toBe('application/octet-stream');
    const buf = await r.arrayBuffer();
    expect(buf.byteLength).toBe(12 * N);
    const x = new Float32Array(buf, 0, N);
    const y = new Float32Array(buf, 4 * N, N);
    // x spans -10..10, y -5..5: centre (0, 0), scale 1/10.
    for (let i = 0; i < N; i++) {
      expect(x[i]).toBeCloseTo(coords[2 * i] / 10, 6);
      expect(y[i]).toBeCloseTo(coords[2 * i + 1] / 10, 6);
    }
    const label = Array.from(new Uint16Array(buf, 8 * N, N));
    // Paths sorted: class0, class0, class1, class1, class2, class2, then the unlabelled big image.
    expect(label).toEqual([0, 0, 1, 1, 2, 2, 0xffff]);
    expect(Array.from(new Uint16Array(buf, 10 * N, N))).toEqual([0, 3, 6, 9, 2, 5, 8]);
  });

  it('gives a row by id, and nothing for ids out of range or that are not ids', async () => {
    const row = await (await get('api/rows/4')).json();
    expect(row).toMatchObject({
      id: 4,
      path: paths[4],
      label: 'class2',
      prediction: 2,
      predictionName: FASHION_LABELS[2],
      x: 4,
      y: 4,
    });
    expect(row.probability).toBeCloseTo(0.54, 6);
    for (const bad of ['api/rows/7', 'api/rows/-1', 'api/rows/1e2', 'api/rows/..%2F..%2Fetc%2Fpasswd']) {
      const r = await get(bad);
      expect(r.status).toBe(404);
      expect((await r.json()).error.code).toBe('NOT_FOUND');
    }
  });

  it('sends a stored image as its thumbnail: small images as they are, large ones shrunk to 128 px', async () => {
    const before = tf.memory().numTensors;
    const r = await get('api/thumbs/2.png');
    expect(r.headers.get('content-type')).toBe('image/png');
    const got = PNG.sync.read(Buffer.from(await r.arrayBuffer()));
    const want = PNG.sync.read(readFileSync(paths[2]));
    expect([got.width, got.height]).toEqual([28, 28]);
    for (let i = 0; i < 28 * 28; i++) expect(got.data[4 * i]).toBe(want.data[4 * i]);

    const big = PNG.sync.read(Buffer.from(await (await get(`api/thumbs/${N - 1}.png`)).arrayBuffer()));
    // 300 x 200 scaled by 128 / 300: 128 x 85.
    expect([big.width, big.height]).toEqual([128, 85]);
    const px = (x: number, y: number) =>
      Array.from(big.data.subarray(4 * (y * 128 + x), 4 * (y * 128 + x) + 3));
    expect(px(10, 40)).toEqual([255, 0, 0]);
    expect(px(120, 40)).toEqual([0, 0, 255]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('finds feature-space neighbours of a row (storeKnn) by id', async () => {
    const r = await (await get('api/neighbours/3?k=3')).json();
    // |7 - 3| = 4, |7 - 12| = 5, |7 - 1| = 6.
    expect(r.neighbours.map((m: { id: number }) => m.id)).toEqual([2, 4, 1]);
    expect(r.neighbours.map((m: { distance: number }) => m.distance)).toEqual([4, 5, 6]);
    expect(r.neighbours[0]).toMatchObject({ path: paths[2], label: 'class1' });
    expect((await get('api/neighbours/3?k=0')).status).toBe(400);
    expect((await get('api/neighbours/3?k=51')).status).toBe(400);
  });

  it('exports a selection of ids as CSV or JSON', async () => {
    const body = Uint32Array.of(4, 0);
    const csv = await get('api/export?format=csv', { method: 'POST', body });
    expect(csv.headers.get('content-disposition')).toBe('attachment; filename="feat-fitsne-selection.csv"');
    expect(await csv.text()).toBe(
      `id,path,label,prediction\n4,${paths[4]},class2,${FASHION_LABELS[2]}\n0,${paths[0]},class0,${FASHION_LABELS[0]}\n`,
    );
    const json = await (await get('api/export?format=json', { method: 'POST', body })).json();
    expect(json).toEqual([
      { id: 4, path: paths[4], label: 'class2', prediction: FASHION_LABELS[2] },
      { id: 0, path: paths[0], label: 'class0', prediction: FASHION_LABELS[0] },
    ]);
    expect((await get('api/export', { method: 'POST', body: Uint32Array.of(7) })).status).toBe(400);
    expect((await get('api/export', { method: 'POST', body: new Uint8Array(3) })).status).toBe(400);
  });

  it('serves only the built page and the endpoints; an unreadable image is a typed error', async () => {
    expect(await (await get('')).text()).toContain('cnnviz map');
    expect(await (await get('assets/main.js')).text()).toBe('console.log(1)');
    for (const bad of ['package.json', '../../package.json', '%2e%2e/%2e%2e/package.json', 'api/nothing'])
      expect((await get(bad)).status).toBe(404);
    // Sent as is (fetch would normalise the dots away).
    expect(await rawStatus('/assets/../../../../../../etc/passwd')).toBe(404);
    // A page of another host name resolved to 127.0.0.1 (DNS rebinding) is refused; localhost is fine.
    const port = new URL(server.url).port;
    expect(await rawStatus('/api/rows/0', { host: `evil.example:${port}` })).toBe(403);
    expect(await rawStatus('/api/rows/0', { host: `localhost:${port}` })).toBe(200);
    expect((await get('api/points', { method: 'POST' })).status).toBe(405);
    unlinkSync(paths[5]);
    const r = await get('api/thumbs/5.png');
    expect(r.status).toBe(422);
    expect((await r.json()).error).toMatchObject({ code: 'IO' });
  });

  it('an image over maxPixels gets no thumbnail (IMAGE_TOO_LARGE), the others do', async () => {
    const small = await serveMap({ store, table: 'feat', name: 'fitsne', viewerDir, maxPixels: 28 * 28 });
    try {
      const r = await fetch(new URL(`api/thumbs/${N - 1}.png`, small.url));
      expect(r.status).toBe(422);
      expect((await r.json()).error.code).toBe('IMAGE_TOO_LARGE');
      expect((await fetch(new URL('api/thumbs/0.png', small.url))).status).toBe(200);
    } finally {
      await small.close();
    }
  });

  it('a missing table or map is BAD_INPUT naming the command that makes it', async () => {
    await expect(serveMap({ store, table: 'none', name: 'fitsne', viewerDir })).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: expect.stringContaining('cnnviz extract <images> --table none'),
    });
    await expect(serveMap({ store, table: 'feat', name: 'umap', viewerDir })).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: expect.stringContaining(`cnnviz map make --table feat --store ${store} --name umap`),
    });
    await expect(
      serveMap({ store, table: 'feat', name: 'fitsne', viewerDir: dir + '/nope' }),
    ).rejects.toMatchObject({
      code: 'BAD_OPTION',
    });
  });
});
