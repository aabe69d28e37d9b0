// End-to-end: the playground built with Vite, served by `vite preview`, driven in Debian's
// chromium through playwright-core, once on WebGL and once on WebGPU; and the gradients the page
// computes compared with the same computed here in Node on TF.js's CPU backend.
import { readFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gradCam, guidedBackprop, saliency } from '@cnnviz/attribution';
import { zoo } from '@cnnviz/models';
import type { Browser, Page } from 'playwright-core';
import { PNG } from 'pngjs';
import type { CanvasReport, GradientReport, GradientSpec } from '../lab.js';
import { TINY_CAM_LAYER, tinyMobileNet } from '../tiny-mobilenet.js';
import { describeNeeding } from '../../../../packages/core/src/test-support/needs.js';
import {
  buildAndServe,
  chromiumRequirement,
  launchChromium,
  openPage,
  waitForState,
  type GpuMode,
  type Served,
} from './harness.js';

/** Canvas pixels (RGBA) and size, read in the page. */
async function pixels(page: Page, id: string): Promise<{ w: number; h: number; data: number[] }> {
  return page.evaluate((canvasId) => {
    const c = document.getElementById(canvasId) as HTMLCanvasElement;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    return { w: c.width, h: c.height, data: Array.from(d) };
  }, id);
}

/** Standard deviation of the RGB values: 0 for a blank (one-colour) canvas. */
function spread(data: number[]): number {
  let n = 0;
  let sum = 0;
  let sq = 0;
  for (let i = 0; i < data.length; i++) {
    if (i % 4 === 3) continue;
    n++;
    sum += data[i];
    sq += data[i] * data[i];
  }
  const mean = sum / n;
  return Math.sqrt(Math.max(0, sq / n - mean * mean));
}

/** Mean absolute RGB difference (0..255) of two same-sized canvases. */
function meanAbsDiff(a: number[], b: number[]): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    if (i % 4 === 3) continue;
    s += Math.abs(a[i] - b[i]);
    n++;
  }
  return s / n;
}

/** Largest difference relative to the largest reference magnitude. */
function relError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  expect(got.length).toBe(want.length);
  let scale = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  let err = 0;
  for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got[i] - want[i]));
  return err / Math.max(scale, 1e-12);
}

async function runTechnique(page: Page, technique: string, steps?: number): Promise<string> {
  await page.selectOption('#technique', technique);
  if (steps !== undefined) await page.fill('#steps', String(steps));
  await page.click('#run');
  return waitForState(page, ['done', 'error', 'cancelled'], 120_000);
}

/** The gradients of the lab page, recomputed in Node on the CPU backend and compared. */
async function checkGradients(page: Page, spec: GradientSpec): Promise<GradientReport> {
  const report = (await page.evaluate((s) => window.lab.gradients(s), spec)) as GradientReport;
  const model = spec.model === 'fashionCnn' ? await zoo.fashionCnn() : tinyMobileNet();
  const image = tf.tensor3d(report.input, report.shape as [number, number, number]);
  try {
    const target = report.target;
    if (spec.target !== undefined) expect(target).toBe(spec.target);
    const s = await saliency(model, image, { target });
    const g = await guidedBackprop(model, image, { target });
    const c = await gradCam(model, image, { target, layer: spec.layer });
    const [sr, gr, cm] = await Promise.all([s.raw.data(), g.raw.data(), c.map.data()]);
    expect(report.gradcamShape).toEqual(c.map.shape);
    expect(relError(report.saliency, sr)).toBeLessThan(1e-3);
    expect(relError(report.guided, gr)).toBeLessThan(1e-3);
    expect(relError(report.gradcam, cm)).toBeLessThan(1e-3);
    // The guided-ReLU override took effect in the page: guided backprop is not the plain gradient.
    expect(relError(report.guided, report.saliency)).toBeGreaterThan(1e-2);
    expect(report.tensorsAfter).toBe(report.tensorsBefore);
    s.dispose();
    g.dispose();
    c.dispose();
  } finally {
    image.dispose();
    model.dispose?.();
  }
  return report;
}

// Skipped outside CI, with one line, where no chromium starts; CI installs it and fails without it.
const need = await chromiumRequirement();

describeNeeding(need, "the playground in Debian's chromium", () => {
  let served: Served;

  beforeAll(async () => {
    await tf.setBackend('cpu');
    served = await buildAndServe();
  }, 180_000);

  afterAll(async () => {
    await served?.close();
  });

  describe.each<GpuMode>(['webgl', 'webgpu'])('playground in Chromium on %s', (mode) => {
    let browser: Browser;
    let page: Page;
    let errors: string[];

    beforeAll(async () => {
      browser = await launchChromium(mode);
      ({ page, errors } = await openPage(
        browser,
        `${served.url}index.html?backend=${mode}&model=fashionCnn&image=fashion-sneaker`,
      ));
      await waitForState(page, ['ready', 'error'], 90_000);
    }, 120_000);

    afterAll(async () => {
      await browser?.close();
    });

    it('loads on the requested backend and lists the model layers', async () => {
      expect(await page.getAttribute('body', 'data-state')).toBe('ready');
      expect(await page.getAttribute('body', 'data-backend')).toBe(mode);
      await page.selectOption('#technique', 'gradcam');
      const layers = await page.$$eval('#layer option', (os) =>
        os.map((o) => (o as HTMLOptionElement).value),
      );
      const model = await zoo.fashionCnn();
      expect(layers).toEqual(model.layers.map((l) => l.name));
      model.dispose?.();
      expect(await page.inputValue('#layer')).toBe('conv3');
    }, 100_000);

    it('refuses a dropped 30000 x 30000 PNG from its header, and reads a real file', async () => {
      // Signature and IHDR only: the size alone must refuse it, before the browser decodes anything.
      const bomb = Buffer.alloc(33);
      bomb.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
      bomb.writeUInt32BE(30000, 16);
      bomb.writeUInt32BE(30000, 20);
      bomb.set([8, 0, 0, 0, 0], 24);
      // The file input is disabled while the page is busy.
      const state = await waitForState(page, ['ready', 'done', 'cancelled', 'error'], 60_000);
      expect(await page.isDisabled('#file'), `state ${state}`).toBe(false);
      await page.setInputFiles('#file', { name: 'bomb.png', mimeType: 'image/png', buffer: bomb });
      await page.waitForFunction(() =>
        /bomb\.png/.test(document.getElementById('status')!.textContent ?? ''),
      );
      expect(await page.textContent('#status')).toMatch(
        /Cannot read bomb\.png: .*30000 x 30000 = 900\.0 megapixels, over the limit of 100\.0/,
      );
      const png = new PNG({ width: 300, height: 200 });
      for (let i = 0; i < 300 * 200; i++) png.data.set([(i % 300) * 0.8, (i / 300) | 0, 128, 255], 4 * i);
      await waitForState(page, ['ready', 'done', 'cancelled', 'error'], 60_000);
      await page.setInputFiles('#file', {
        name: 'ok.png',
        mimeType: 'image/png',
        buffer: PNG.sync.write(png),
      });
      await page.waitForFunction(() =>
        /Using ok\.png/.test(document.getElementById('status')!.textContent ?? ''),
      );
      expect(spread((await pixels(page, 'input')).data)).toBeGreaterThan(10);
      // Back to the bundled sneaker for the tests below.
      await page.selectOption('#image', 'fashion-sneaker');
      await waitForState(page, ['ready'], 60_000);
    }, 150_000);

    it('runs saliency: the result is not blank and differs from the input', async () => {
      expect(await runTechnique(page, 'saliency')).toBe('done');
      const input = await pixels(page, 'input');
      const result = await pixels(page, 'result');
      expect([result.w, result.h]).toEqual([input.w, input.h]);
      expect(spread(result.data)).toBeGreaterThan(10);
      expect(meanAbsDiff(result.data, input.data)).toBeGreaterThan(20);
    }, 120_000);

    it('runs DeepDream with a live preview per step, and downloads the result as PNG', async () => {
      const input = await pixels(page, 'input');
      expect(await runTechnique(page, 'deepdream', 8)).toBe('done');
      expect(await page.getAttribute('body', 'data-frames')).toBe('8');
      expect(Number(await page.getAttribute('body', 'data-ms-per-step'))).toBeGreaterThan(0);
      expect(await page.textContent('#status')).toMatch(/ms\/step/);
      const result = await pixels(page, 'result');
      expect(spread(result.data)).toBeGreaterThan(10);
      // The dream keeps the sneaker but changes its pixels.
      const diff = meanAbsDiff(result.data, input.data);
      expect(diff).toBeGreaterThan(1);
      expect(diff).toBeLessThan(120);
      // Download PNG saves the result canvas.
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
      expect(download.suggestedFilename()).toBe('cnnviz-deepdream.png');
      const png = await readFile((await download.path())!);
      expect([...png.subarray(1, 4)].map((c) => String.fromCharCode(c)).join('')).toBe('PNG');
      expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([result.w, result.h]);
    }, 120_000);

    it('cancels a long run, stays responsive meanwhile, and frees its tensors', async () => {
      const before = Number((await page.textContent('#tensors'))!.split(' ')[0]);
      await page.selectOption('#technique', 'deepdream');
      await page.fill('#steps', '2000');
      await page.click('#run');
      await page.waitForFunction(() => Number(document.body.dataset.step ?? 0) >= 3, null, {
        timeout: 60_000,
      });
      // The page answers while the technique runs (it yields to the event loop every step).
      const t0 = Date.now();
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(r)));
      expect(Date.now() - t0).toBeLessThan(3000);
      expect(await page.getAttribute('body', 'data-state')).toBe('running');
      await page.click('#cancel');
      expect(await waitForState(page, ['cancelled', 'done', 'error'], 30_000)).toBe('cancelled');
      expect(Number(await page.getAttribute('body', 'data-step'))).toBeLessThan(2000);
      expect(Number((await page.textContent('#tensors'))!.split(' ')[0])).toBe(before);
      expect(await page.isEnabled('#run')).toBe(true);
    }, 120_000);

    it('gradients (saliency, guided backprop, Grad-CAM) equal Node CPU ones (rel. err < 1e-3)', async () => {
      await page.goto(`${served.url}lab.html?backend=${mode}`);
      expect(await waitForState(page, ['ready', 'error'], 90_000)).toBe('ready');
      const fashion = await checkGradients(page, {
        model: 'fashionCnn',
        image: 'fashion-sneaker',
        layer: 'conv3',
        target: 7,
        noise: 0.05,
      });
      expect(fashion.backend).toBe(mode);
      // Depthwise convolutions, ReLU6, BatchNorm and a residual add, as in MobileNetV2: the kernels
      // cnnviz's WebGPU fixes replace.
      const mobile = await checkGradients(page, {
        model: 'tinyMobileNet',
        image: 'chelsea',
        layer: TINY_CAM_LAYER,
        noise: 0.05,
      });
      expect(mobile.backend).toBe(mode);
    }, 180_000);

    it('canvas helpers read every image source and draw tensors back exactly', async () => {
      const r = (await page.evaluate(() => window.lab.canvasCheck())) as CanvasReport;
      const rgb = r.rgba.flatMap((v, i) => (i % 4 === 3 ? [] : [v / 255]));
      expect(Object.keys(r.fromSources)).toEqual(['imageData', 'canvas', 'offscreen', 'bitmap', 'img']);
      for (const values of Object.values(r.fromSources)) {
        expect(values.length).toBe(rgb.length);
        values.forEach((v, i) => expect(v).toBeCloseTo(rgb[i], 6));
      }
      r.luma.forEach((v, i) =>
        expect(v).toBeCloseTo(0.299 * rgb[3 * i] + 0.587 * rgb[3 * i + 1] + 0.114 * rgb[3 * i + 2], 5),
      );
      expect(r.resizedShape).toEqual([6, 8, 3]);
      expect(r.drawn).toEqual(r.rgba);
      // Nearest-neighbour enlargement: the top-left 2x2 block is pixel (0, 0).
      expect(r.scaled).toEqual({
        width: 8,
        height: 6,
        block: [...r.rgba.slice(0, 4), ...r.rgba.slice(0, 4), ...r.rgba.slice(0, 4), ...r.rgba.slice(0, 4)],
      });
      expect(r.errors).toHaveLength(4);
      expect(r.errors[0]).toMatch(/^BAD_IMAGE: the <img>.*has not loaded/);
      expect(r.errors[1]).toMatch(/^BAD_IMAGE: expected an HTMLImageElement/);
      expect(r.errors[2]).toMatch(/^BAD_OPTION: channels must be 1 or 3/);
      expect(r.errors[3]).toMatch(/^BAD_IMAGE: image must be a live tf.Tensor/);
      expect(r.tensorsAfter).toBe(r.tensorsBefore);
    });

    it('logged no page errors', () => {
      expect(errors).toEqual([]);
    });
  });

  describe('automatic backend choice in Chromium without a hardware GPU', () => {
    let browser: Browser;

    afterAll(async () => {
      await browser?.close();
    });

    it('skips software WebGPU/WebGL, picks WASM (binaries served by the app) with the kernel fixes, gradients equal Node', async () => {
      browser = await launchChromium('webgpu');
      const { page, errors } = await openPage(browser, `${served.url}lab.html`);
      expect(await waitForState(page, ['ready', 'error'], 90_000)).toBe('ready');
      const info = await page.evaluate(() => window.lab.info);
      expect(info.name).toBe('wasm');
      expect(info.tried.map((t) => [t.name, t.ok])).toEqual([
        ['webgpu', false],
        ['webgl', false],
        ['wasm', true],
      ]);
      expect(info.tried[0].why).toMatch(/software adapter.*isFallbackAdapter/);
      expect(info.tried[1].why).toMatch(/software renderer.*SwiftShader/);
      expect(info.fixes).toEqual(expect.arrayContaining(['wasm:MaxPoolGrad', 'wasm:Conv2DBackpropFilter']));
      const report = await checkGradients(page, {
        model: 'fashionCnn',
        image: 'fashion-bag',
        layer: 'conv2',
        noise: 0.05,
      });
      expect(report.backend).toBe('wasm');
      expect(errors).toEqual([]);
    }, 120_000);
  });
});
