import { existsSync, readdirSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as jpeg from 'jpeg-js';
import * as pngjs from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePng, readImage, writePng } from './image-io.js';

let dir: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'cnnviz-io-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Every 8-bit value appears: 16x16 pixels, channel k = (i*16 + j + 85k) mod 256. */
function allBytes(): Float32Array {
  const v = new Float32Array(16 * 16 * 3);
  for (let p = 0; p < 256; p++) for (let k = 0; k < 3; k++) v[3 * p + k] = ((p + 85 * k) % 256) / 255;
  return v;
}

describe('PNG', () => {
  it('round-trips 8-bit RGB values exactly and leaks nothing', async () => {
    const vals = allBytes();
    const img = tf.tensor3d(vals, [16, 16, 3]);
    const path = join(dir, 'rgb.png');
    const before = tf.memory().numTensors;
    await writePng(path, img);
    expect(tf.memory().numTensors).toBe(before);
    const back = await readImage(path);
    expect(back.shape).toEqual([16, 16, 3]);
    expect(back.dtype).toBe('float32');
    const got = await back.data();
    for (let i = 0; i < vals.length; i++) expect(Math.round(got[i] * 255)).toBe(Math.round(vals[i] * 255));
    expect(Math.max(...Array.from(got, (g, i) => Math.abs(g - vals[i])))).toBeLessThan(1e-7);
    tf.dispose([img, back]);
    // No temporary file is left next to the output.
    expect(await readdir(dir)).toEqual(['rgb.png']);
  });

  it('writes 1-channel and 2-D maps as grey PNGs, clipping to 0..1 (NaN → 0)', async () => {
    const map = tf.tensor2d([-1, 0, 0.5, 2, NaN, 1], [2, 3]);
    const buf = await encodePng(map);
    const png = pngjs.PNG.sync.read(buf);
    expect(png.width).toBe(3);
    expect(png.height).toBe(2);
    expect((png as unknown as { colorType: number }).colorType).toBe(0);
    expect(Array.from({ length: 6 }, (_, i) => png.data[4 * i])).toEqual([0, 0, 128, 255, 0, 255]);
    const gray = await readImage(buf, { channels: 1 });
    expect(gray.shape).toEqual([2, 3, 1]);
    expect(Array.from(await gray.data(), (v) => Math.round(v * 255))).toEqual([0, 0, 128, 255, 0, 255]);
    tf.dispose([map, gray]);
  });

  it('reads a grey/palette PNG as RGB and drops alpha', async () => {
    const png = new pngjs.PNG({ width: 2, height: 1 });
    png.data = Buffer.from([10, 20, 30, 0, 200, 100, 50, 128]);
    const buf = pngjs.PNG.sync.write(png); // RGBA
    const img = await readImage(buf);
    expect(Array.from(await img.data(), (v) => Math.round(v * 255))).toEqual([10, 20, 30, 200, 100, 50]);
    const luma = await readImage(buf, { channels: 1 });
    expect((await luma.data())[0] * 255).toBeCloseTo(0.299 * 10 + 0.587 * 20 + 0.114 * 30, 3);
    tf.dispose([img, luma]);
  });

  it.skipIf(!realPng)('reads a real PNG file as pngjs decodes it', async () => {
    const buf = await readFile(realPng!);
    const ref = pngjs.PNG.sync.read(buf);
    const img = await readImage(realPng!);
    expect(img.shape).toEqual([ref.height, ref.width, 3]);
    const d = await img.data();
    for (let p = 0; p < ref.width * ref.height; p += 7)
      expect(Math.round(d[3 * p + 1] * 255)).toBe(ref.data[4 * p + 1]);
    img.dispose();
  });

  it('rejects bad tensors', async () => {
    const t4 = tf.zeros([1, 2, 2, 3]);
    const c2 = tf.zeros([2, 2, 2]);
    await expect(encodePng(t4 as unknown as tf.Tensor3D)).rejects.toMatchObject({ code: 'BAD_IMAGE' });
    await expect(encodePng(c2 as tf.Tensor3D)).rejects.toMatchObject({ code: 'BAD_IMAGE' });
    tf.dispose([t4, c2]);
  });
});

const assets = new URL('../../models/assets/images/', import.meta.url).pathname;
const realJpeg = [
  ...(existsSync(assets)
    ? readdirSync(assets)
        .filter((f) => /\.jpe?g$/i.test(f))
        .map((f) => assets + f)
    : []),
  '/usr/lib/google-cloud-sdk/platform/gsutil/third_party/requests/ext/flower-of-life.jpg',
].find((p) => existsSync(p));
const realPng = existsSync(assets)
  ? readdirSync(assets)
      .filter((f) => f.endsWith('.png'))
      .map((f) => assets + f)[0]
  : undefined;

describe('JPEG', () => {
  it('reads a JPEG close to the pixels it encoded', async () => {
    const width = 32;
    const height = 24;
    const rgba = Buffer.alloc(width * height * 4);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const o = 4 * (y * width + x);
        [rgba[o], rgba[o + 1], rgba[o + 2], rgba[o + 3]] = [x * 8, y * 10, 128, 255];
      }
    }
    const path = join(dir, 'grad.jpg');
    await writeFile(path, jpeg.encode({ width, height, data: rgba }, 95).data);
    const img = await readImage(path);
    expect(img.shape).toEqual([24, 32, 3]);
    const d = await img.data();
    let maxErr = 0;
    for (let p = 0; p < width * height; p++) {
      for (let k = 0; k < 3; k++) maxErr = Math.max(maxErr, Math.abs(d[3 * p + k] * 255 - rgba[4 * p + k]));
    }
    expect(maxErr).toBeLessThan(12); // smooth gradient at quality 95
    img.dispose();
  });

  it.skipIf(!realJpeg)(`reads a real JPEG file (${realJpeg}) exactly as jpeg-js decodes it`, async () => {
    {
      const buf = await readFile(realJpeg!);
      const img = await readImage(buf);
      const ref = jpeg.decode(buf, { useTArray: true, formatAsRGBA: false });
      expect(img.shape).toEqual([ref.height, ref.width, 3]);
      const d = await img.data();
      for (const i of [0, 1, 2, 1000, d.length - 1]) expect(d[i] * 255).toBeCloseTo(ref.data[i], 3);
      img.dispose();
    }
  });
});

describe('JPEG shrinkTo', () => {
  // 157 x 109, progressive 4:2:0 with restart markers (packages/core/fixtures/jpeg/make.sh).
  const fixture = join(import.meta.dirname, '../../core/fixtures/jpeg/prog-restart420.jpg');

  it('decodes at 1/4 in the DCT domain, then box-filters: close to the full image area-averaged', async () => {
    // Largest factor for [20, 20] is 5 (109 / 20); 4 x 1 is within 3/4 of it, so the DCT scale is 4:
    // 40 x 28, and the box factor of that for [20, 20] is 1.
    const small = await readImage(fixture, { shrinkTo: [20, 20] });
    const full = await readImage(fixture);
    expect(small.shape).toEqual([28, 40, 3]);
    const area = tf.tidy(() => tf.avgPool(tf.slice(full, [0, 0, 0], [108, 156, 3]), 4, 4, 'valid'));
    const a = await area.data();
    const cut = tf.slice(small, [0, 0, 0], [27, 39, 3]);
    const b = await cut.data();
    let sum = 0;
    let max = 0;
    for (let i = 0; i < a.length; i++) {
      const d = Math.abs(a[i] - b[i]) * 255;
      sum += d;
      max = Math.max(max, d);
    }
    expect(sum / a.length).toBeLessThan(3); // levels of 255; the reduced IDCT is not a box filter
    expect(max).toBeLessThan(40);
    // A factor of 8 or more uses the 1/8 scale (DC terms): [12, 12] -> factor 9 -> 20 x 14, box 1.
    const tiny = await readImage(fixture, { shrinkTo: [12, 12] });
    expect(tiny.shape).toEqual([14, 20, 3]);
    tf.dispose([small, full, area, cut, tiny]);
  });
});

describe('errors', () => {
  it('missing file → IO naming the path; not an image → BAD_IMAGE naming the path', async () => {
    const missing = join(dir, 'nope.png');
    await expect(readImage(missing)).rejects.toMatchObject({
      code: 'IO',
      message: expect.stringContaining(missing),
    });
    await expect(readImage(dir)).rejects.toMatchObject({ code: 'IO' });
    const text = join(dir, 'notes.png');
    await writeFile(text, 'hello, not a picture');
    await expect(readImage(text)).rejects.toMatchObject({
      code: 'BAD_IMAGE',
      message: expect.stringContaining(text),
    });
    const truncated = join(dir, 'cut.png');
    const good = await encodePng(tf.tidy(() => tf.ones([8, 8, 3]) as tf.Tensor3D));
    await writeFile(truncated, good.subarray(0, 40));
    await expect(readImage(truncated)).rejects.toMatchObject({
      code: 'BAD_IMAGE',
      message: expect.stringContaining(truncated),
    });
    await expect(readImage(Buffer.from('RIFF\0\0\0\0WEBPVP8 '))).rejects.toMatchObject({
      code: 'BAD_IMAGE',
      message: expect.stringMatching(/WebP.*sharp/),
    });
    await expect(readImage(good, { channels: 2 as 1 })).rejects.toMatchObject({ code: 'BAD_OPTION' });
    await rm(text);
    await rm(truncated);
  });

  it('unwritable or missing directory → IO, and no temporary file is left', async () => {
    const img = tf.ones([2, 2, 3]) as tf.Tensor3D;
    await expect(writePng(join(dir, 'no-such-dir', 'x.png'), img)).rejects.toMatchObject({ code: 'IO' });
    const locked = join(dir, 'locked');
    await mkdir(locked);
    await chmod(locked, 0o500);
    const isRoot = process.getuid?.() === 0;
    if (!isRoot) {
      await expect(writePng(join(locked, 'x.png'), img)).rejects.toMatchObject({ code: 'IO' });
      expect(await readdir(locked)).toEqual([]);
    }
    // Rename onto a directory fails after the temp file was written: the temp file must be gone.
    const target = join(dir, 'a-dir.png');
    await mkdir(target);
    await expect(writePng(target, img)).rejects.toMatchObject({ code: 'IO' });
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    await chmod(locked, 0o700);
    img.dispose();
  });
});
