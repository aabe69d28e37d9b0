import '@tensorflow/tfjs-backend-cpu';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import type { VisionModel } from '@cnnviz/core';
import { gradCam } from '@cnnviz/attribution';
import { extractFeatures } from '@cnnviz/embedding';
import { zoo } from '@cnnviz/models';
import { readImage } from '@cnnviz/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractToStore } from './extract-to-store.js';
import { listImages } from './sources.js';
import { openTable } from './store.js';
import { writeSyntheticImages } from './test-util.js';

const here = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(here, '../../..');
let dir: string;
let paths: string[];
let model: VisionModel;

beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = mkdtempSync(join(tmpdir(), 'cnnviz-ds-'));
  paths = writeSyntheticImages(join(dir, 'images'), 60);
  model = await zoo.fashionCnn();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function readRows(store: string, table: string) {
  const t = await openTable({ store, table });
  const rows = (await t!
    .query()
    .select(['id', 'path', 'label', 'prediction', 'probability', 'vector'])
    .toArray()) as {
    id: bigint | number;
    path: string;
    label: string | null;
    prediction: number;
    probability: number;
    vector: { toArray(): Float32Array } | number[];
  }[];
  return rows
    .map((r) => ({
      ...r,
      id: Number(r.id),
      vector: Float32Array.from(Array.isArray(r.vector) ? r.vector : r.vector.toArray()),
    }))
    .sort((a, b) => a.id - b.id);
}

describe('extractToStore', () => {
  it('stores the same features and predictions as in-memory extraction, with labels and metadata', async () => {
    const store = join(dir, 'db1');
    const before = tf.memory().numTensors;
    const sub = paths.slice(0, 20);
    const s = await extractToStore(
      model,
      sub.map((path) => ({ path, label: 'x' })),
      {
        store,
        table: 'run',
        layer: 'dense1',
        modelName: 'fashion-cnn',
        batchSize: 8,
      },
    );
    expect(tf.memory().numTensors).toBe(before);
    expect(s).toMatchObject({ images: 20, skipped: 0, added: 20, rows: 20 });
    const rows = await readRows(store, 'run');
    expect(rows.map((r) => r.path)).toEqual(sub);
    expect(rows.map((r) => r.id)).toEqual([...Array(20).keys()]);

    // Reference: the in-memory path on the same decoded images.
    const imgs = await Promise.all(sub.map((p) => readImage(p, { channels: 1 })));
    const ref = await extractFeatures(model, imgs, { layer: 'dense1' });
    const logits = tf.tidy(() =>
      tf.softmax(model.forward(model.preprocess(tf.stack(imgs) as tf.Tensor4D)).logits!),
    );
    const [f, p] = [await ref.array(), await logits.array()];
    tf.dispose([ref, logits, ...imgs]);
    rows.forEach((r, i) => {
      expect(Array.from(r.vector)).toEqual(f[i].map((v) => Math.fround(v)));
      const best = p[i].indexOf(Math.max(...p[i]));
      expect(r.prediction).toBe(best);
      expect(r.probability).toBeCloseTo(p[i][best], 6);
      expect(r.label).toBe('x');
    });
  });

  it('resumes: a rerun skips stored images and adds only the new ones', async () => {
    const store = join(dir, 'db2');
    const opts = { store, table: 'run', layer: 'dense1', batchSize: 7 };
    const manifest = join(dir, 'half.csv');
    writeFileSync(
      manifest,
      `path,label\n${paths
        .slice(0, 25)
        .map((p) => `"${p}",first`)
        .join('\n')}\n`,
    );
    expect(await extractToStore(model, manifest, opts)).toMatchObject({ added: 25, skipped: 0, rows: 25 });
    const s = await extractToStore(model, join(dir, 'images'), opts);
    expect(s).toMatchObject({ images: 60, skipped: 25, added: 35, rows: 60 });
    const rows = await readRows(store, 'run');
    expect(new Set(rows.map((r) => r.path)).size).toBe(60);
    expect(rows.map((r) => r.id)).toEqual([...Array(60).keys()]);
    // Labels: the manifest's for the first run, the folder names for the rest.
    expect(rows.filter((r) => r.label === 'first').length).toBe(25);
    expect(rows[59].label).toBe(`class${59 % 3}`);
    expect(await extractToStore(model, join(dir, 'images'), opts)).toMatchObject({
      skipped: 60,
      added: 0,
      rows: 60,
    });
  });

  it('refuses a table made for another layer', async () => {
    const store = join(dir, 'db3');
    await extractToStore(model, paths.slice(0, 2), { store, table: 't', layer: 'dense1' });
    await expect(
      extractToStore(model, paths.slice(2, 4), { store, table: 't', layer: 'logits' }),
    ).rejects.toMatchObject({
      code: 'BAD_OPTION',
    });
  });

  it('stops on an aborted signal with whole batches stored', async () => {
    const store = join(dir, 'db4');
    const ac = new AbortController();
    const before = tf.memory().numTensors;
    await expect(
      extractToStore(model, paths, {
        store,
        table: 't',
        batchSize: 5,
        commitRows: 5,
        signal: ac.signal,
        onProgress: (p) => p.stored >= 10 && ac.abort(),
      }),
    ).rejects.toMatchObject({ code: 'ABORTED' });
    expect(tf.memory().numTensors).toBe(before);
    const n = (await readRows(store, 't')).length;
    expect(n % 5).toBe(0);
    expect(n).toBeGreaterThanOrEqual(10);
  });

  it('loses and duplicates nothing when SIGKILLed at random points and rerun', async () => {
    const store = join(dir, 'db5');
    const child = join(here, 'extract-child.ts');
    const run = (killAfter?: number) =>
      new Promise<string>((done, fail) => {
        const p = spawn(process.execPath, ['--import', 'tsx', child, join(dir, 'images'), store, 'k', '4'], {
          cwd: ROOT,
          env: { ...process.env, TSX_TSCONFIG_PATH: join(ROOT, 'tsconfig.json') },
        });
        let out = '';
        let batches = 0;
        p.stdout.on('data', (d: Buffer) => {
          out += d;
          batches = (out.match(/^batch /gm) ?? []).length;
          // Kill during a later batch's compute or commit: a random delay after the chosen one.
          if (killAfter !== undefined && batches >= killAfter)
            setTimeout(() => p.kill('SIGKILL'), Math.random() * 40);
        });
        p.stderr.on('data', () => {});
        p.on('error', fail);
        p.on('exit', (code, signal) =>
          code === 0 || signal === 'SIGKILL' ? done(out) : fail(new Error(`exit ${code}: ${out}`)),
        );
      });
    let kills = 0;
    for (const at of [1, 3, 2]) {
      await run(at);
      kills++;
    }
    const last = await run();
    const summary = JSON.parse(last.trim().split('\n').pop()!);
    expect(kills).toBe(3);
    // The kills left partial work: the last run resumed it.
    expect(summary.skipped).toBeGreaterThan(0);
    expect(summary.added).toBeGreaterThan(0);
    expect(summary.rows).toBe(60);
    expect(summary.skipped + summary.added).toBe(60);
    const rows = await readRows(store, 'k');
    expect(rows.length).toBe(60);
    expect(new Set(rows.map((r) => r.path))).toEqual(new Set(paths));
    expect(rows.map((r) => r.id)).toEqual([...Array(60).keys()]);
  });
});

describe('extractToStore with an attribution', () => {
  it('stores per image the Grad-CAM map of its predicted class, as gradCam computes it alone', async () => {
    const store = join(dir, 'db6');
    const sub = paths.slice(0, 6);
    const before = tf.memory().numTensors;
    await extractToStore(model, sub, {
      store,
      table: 'audit',
      batchSize: 4,
      attribution: { method: 'gradcam', layer: 'conv3' },
    });
    expect(tf.memory().numTensors).toBe(before);
    const t = (await openTable({ store, table: 'audit' }))!;
    const meta = JSON.parse((await t.schema()).metadata.get('cnnviz')!);
    expect(meta.attribution).toEqual({ method: 'gradcam', layer: 'conv3', shape: [7, 7] });
    const rows = (await t.query().select(['path', 'prediction', 'attribution']).toArray()) as {
      path: string;
      prediction: number;
      attribution: { toArray(): Float32Array };
    }[];
    expect(rows.length).toBe(6);
    for (const r of rows) {
      const img = await readImage(r.path, { channels: 1 });
      const cam = await gradCam(model, img, { target: r.prediction, layer: 'conv3' });
      const want = await cam.map.data();
      cam.dispose();
      img.dispose();
      const got = r.attribution.toArray();
      expect(got.length).toBe(49);
      const scale = Math.max(...want, 1e-6);
      got.forEach((v, i) => expect(Math.abs(v - want[i]) / scale).toBeLessThan(1e-4));
      expect(Math.max(...got)).toBeGreaterThan(0);
    }
  });
});

describe('listImages', () => {
  it('reads CSV and JSONL manifests, relative to the manifest, and globs', async () => {
    const m = join(dir, 'images', 'list.jsonl');
    writeFileSync(m, `{"path":"class0/img-000000.png","label":7}\n{"path":"class1/img-000001.png"}\n`);
    expect(await listImages(m)).toEqual([
      { path: paths[0], label: '7' },
      { path: paths.find((p) => p.endsWith('img-000001.png')) },
    ]);
    const csv = join(dir, 'images', 'plain.csv');
    writeFileSync(csv, 'class2/img-000002.png,shoe\n');
    expect(await listImages(csv)).toEqual([
      { path: join(dir, 'images', 'class2/img-000002.png'), label: 'shoe' },
    ]);
    expect((await listImages(join(dir, 'images/class1/*.png'))).length).toBe(20);
    await expect(listImages(join(dir, 'nothing'))).rejects.toMatchObject({ code: 'IO' });
  });
});
