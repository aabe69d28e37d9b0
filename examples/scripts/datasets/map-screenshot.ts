// The README's picture of the map viewer: serves a map of a feature table (`cnnviz map serve`'s
// serveMap), opens it in Debian's chromium (WebGL on SwiftShader) through playwright-core, clicks
// one point so that its image and nearest neighbours show, and saves a screenshot.
//
//   npx tsx examples/scripts/datasets/map-screenshot.ts --store /work/data/fashion-store --table fashion \
//     --name fitsne --id 4 --out docs/fashion-map.png
//
// The store is copied to a temporary folder first: the neighbour search may build a vector index,
// and a screenshot should not write into the data it shows.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { serveMap } from '@cnnviz/datasets';
import { chromium } from 'playwright-core';

const { values: v } = parseArgs({
  options: {
    store: { type: 'string', default: './cnnviz-store' },
    table: { type: 'string', default: 'fashion' },
    name: { type: 'string', default: 'fitsne' },
    id: { type: 'string', default: '0' },
    out: { type: 'string', default: 'docs/fashion-map.png' },
    chromium: { type: 'string', default: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium' },
  },
});

await tf.setBackend('cpu');
const copy = mkdtempSync(join(tmpdir(), 'cnnviz-map-shot-'));
cpSync(resolve(v.store!), copy, { recursive: true });
const server = await serveMap({ store: copy, table: v.table!, name: v.name! });
const browser = await chromium.launch({
  executablePath: v.chromium,
  headless: true,
  args: ['--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
  await page.goto(server.url);
  await page.waitForFunction(() => ['ready', 'error'].includes(document.body.dataset.state ?? ''), null, {
    timeout: 120_000,
  });
  if ((await page.evaluate(() => document.body.dataset.state)) !== 'ready')
    throw new Error(`the page says: ${await page.textContent('#status')}`);
  const id = Number(v.id);
  await page.evaluate((i) => window.cnnvizMap!.select([i]), id);
  // The clicked point's image and its neighbours' thumbnails, all loaded.
  await page.waitForFunction(
    () => {
      const imgs = [...document.querySelectorAll<HTMLImageElement>('#thumb, #neighbours img')];
      return imgs.length > 1 && imgs.every((i) => i.complete && i.naturalWidth > 0);
    },
    null,
    // The first neighbour search of a large table waits for its vector index (built once, minutes).
    { timeout: 900_000 },
  );
  await page.waitForTimeout(500);
  await page.screenshot({ path: resolve(v.out!) });
  console.log(`${v.out}: ${await page.textContent('#status')}; point ${id} selected`);
} finally {
  await browser.close();
  await server.close();
  rmSync(copy, { recursive: true, force: true });
}
