// End-to-end: a store of 10^6 points served by `serveMap` with the built page (dist/viewer), driven
// in Debian's chromium (WebGL on SwiftShader) through playwright-core. The page must report every
// point within the time budget, and hovering one isolated point must show that row's image.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { FASHION_LABELS } from '@cnnviz/models';
import { PNG } from 'pngjs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CHROMIUM as CHROMIUM_NEED, describeNeeding } from '../../core/src/test-support/needs.js';
import { writeMap } from './map-table.js';
import { serveMap, type MapServer } from './map-server.js';
import { appendRows, openOrCreate, type FeatureRow, type TableMeta } from './store.js';
import { writeSyntheticImages } from './test-util.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = [
  '--no-sandbox',
  '--disable-dev-shm-usage',
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
];

/** Whether Debian's chromium starts here (one that exists but cannot start counts as missing). */
async function chromiumStarts(): Promise<{ ok: boolean; why: string }> {
  if (!existsSync(CHROMIUM)) return { ok: false, why: `no file ${CHROMIUM}` };
  try {
    await (await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS })).close();
    return { ok: true, why: CHROMIUM };
  } catch (e) {
    return { ok: false, why: `${CHROMIUM} did not start: ${(e as Error).message.split('\n')[0]}` };
  }
}

const N = 1_000_000;
/** The isolated point: alone in an empty disc of the map. */
const LONE = 654_321;
const LONE_XY = [80, 80];
const META: TableMeta = { model: 'fashion-cnn', layer: 'dense1', dims: 2 };

/** 10 Gaussian clusters in -100..100 (a seeded LCG), nothing within 20 of LONE_XY but LONE itself. */
function syntheticMap(): Float32Array {
  let s = 7;
  const rnd = () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
  const c = new Float32Array(2 * N);
  for (let i = 0; i < N; i++) {
    const k = i % 10;
    let x: number;
    let y: number;
    do {
      x = Math.max(-100, Math.min(100, 60 * Math.cos(k) + 12 * gauss()));
      y = Math.max(-100, Math.min(100, 60 * Math.sin(k) + 12 * gauss()));
    } while (Math.hypot(x - LONE_XY[0], y - LONE_XY[1]) < 20);
    c[2 * i] = x;
    c[2 * i + 1] = y;
  }
  c[2 * LONE] = LONE_XY[0];
  c[2 * LONE + 1] = LONE_XY[1];
  // The corners, so that the map spans -100..100 both ways.
  c.set([-100, -100, 100, 100], 0);
  return c;
}

const need = await chromiumStarts();

describeNeeding({ ...CHROMIUM_NEED, ...need }, 'map viewer in chromium (10^6 points)', () => {
  let dir: string;
  let server: MapServer;
  let browser: Browser;
  let images: string[];
  let storeSeconds = 0;

  beforeAll(async () => {
    await tf.setBackend('cpu');
    dir = mkdtempSync(join(tmpdir(), 'cnnviz-map-e2e-'));
    images = writeSyntheticImages(join(dir, 'img'), 4, 2);
    const start = performance.now();
    const ref = { store: join(dir, 'store'), table: 'million' };
    const table = await openOrCreate(ref, META);
    const batch = 250_000;
    for (let b = 0; b < N; b += batch) {
      const rows: FeatureRow[] = [];
      for (let id = b; id < b + batch; id++)
        rows.push({
          id,
          // Only LONE and a few others have real files: thumbnails are read only when asked for.
          path: id === LONE ? images[0] : id < 3 ? images[id + 1] : `/data/none/${id}.png`,
          label: `class${id % 10}`,
          model: META.model,
          layer: META.layer,
          time: 0,
          prediction: (id * 7) % 10,
          probability: 0.9,
          vector: Float32Array.of(id % 100, id % 7),
        });
      await appendRows(table, rows, META);
    }
    await writeMap({ ...ref, name: 'fitsne' }, syntheticMap(), { method: 'synthetic' });
    storeSeconds = (performance.now() - start) / 1000;
    // No neighbour search here: no vector index to build for it.
    server = await serveMap({ ...ref, name: 'fitsne', prepareIndex: false });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('loads every point, and hovering the lone point shows its image, path and label', async () => {
    const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const t0 = performance.now();
    await page.goto(server.url);
    await page.waitForFunction(() => ['ready', 'error'].includes(document.body.dataset.state ?? ''), null, {
      timeout: 60_000,
    });
    const seconds = (performance.now() - t0) / 1000;
    expect(await page.evaluate(() => document.body.dataset.state)).toBe('ready');
    expect(errors).toEqual([]);
    const count = await page.evaluate(() => Number(document.body.dataset.count));
    expect(count).toBe(N);
    expect(await page.textContent('#status')).toContain('1,000,000 points');
    process.stderr.write(
      `map viewer: store of ${N} rows written in ${storeSeconds.toFixed(1)} s, served after ${server.loadSeconds.toFixed(1)} s of reading; page ready in ${seconds.toFixed(1)} s (page's own figure ${await page.evaluate(() => document.body.dataset.loadMs)} ms)\n`,
    );
    // A few seconds on a desktop; generous here, where SwiftShader draws on 2 shared cores.
    expect(seconds).toBeLessThan(30);

    const [sx, sy] = await page.evaluate((id) => window.cnnvizMap!.screenPosition(id), LONE);
    // The lone point sits at (0.8, 0.8) of the -1..1 view: right of and above the centre.
    const box = (await page.locator('#canvas').boundingBox())!;
    expect(sx).toBeGreaterThan(box.x + box.width / 2);
    expect(sy).toBeLessThan(box.y + box.height / 2);
    await page.mouse.move(sx, sy);
    await page.waitForFunction((id) => document.getElementById('d-id')?.textContent === String(id), LONE, {
      timeout: 10_000,
    });
    expect(await page.textContent('#d-path')).toBe(images[0]);
    expect(await page.textContent('#d-label')).toBe(`class${LONE % 10}`);
    expect(await page.getAttribute('#thumb', 'src')).toBe(`api/thumbs/${LONE}.png`);
    // The thumbnail's pixels are the file's (28 x 28 grey, sent as it is).
    await page.waitForFunction(() => (document.getElementById('thumb') as HTMLImageElement).naturalWidth > 0);
    const shown = await page.evaluate(() => {
      const img = document.getElementById('thumb') as HTMLImageElement;
      const c = document.createElement('canvas');
      c.width = img.naturalWidth;
      c.height = img.naturalHeight;
      const g = c.getContext('2d')!;
      g.drawImage(img, 0, 0);
      return { w: c.width, h: c.height, data: Array.from(g.getImageData(0, 0, c.width, c.height).data) };
    });
    const file = PNG.sync.read(readFileSync(images[0]));
    expect([shown.w, shown.h]).toEqual([file.width, file.height]);
    let maxDiff = 0;
    for (let i = 0; i < file.data.length; i++)
      maxDiff = Math.max(maxDiff, Math.abs(shown.data[i] - file.data[i]));
    expect(maxDiff).toBe(0);

    // A shift-drag lasso (a hexagon: every move redraws 10^6 points on SwiftShader) around the lone
    // point selects it alone; the CSV download lists it.
    await page.keyboard.down('Shift');
    await page.mouse.move(sx + 40, sy);
    await page.mouse.down();
    for (let a = 1; a <= 6; a++)
      await page.mouse.move(sx + 40 * Math.cos((a * Math.PI) / 3), sy + 40 * Math.sin((a * Math.PI) / 3));
    await page.mouse.up();
    await page.keyboard.up('Shift');
    await page.waitForFunction(() => document.getElementById('sel-count')?.textContent === '1', null, {
      timeout: 10_000,
    });
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-csv')]);
    const csv = readFileSync(await download.path(), 'utf8');
    expect(csv).toBe(
      `id,path,label,prediction\n${LONE},${images[0]},class${LONE % 10},${FASHION_LABELS[(LONE * 7) % 10]}\n`,
    );

    // Colour by prediction: the legend lists the model's classes.
    await page.selectOption('#color-by', 'prediction');
    expect(await page.locator('#legend li').allTextContents()).toEqual(FASHION_LABELS);
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);
});
