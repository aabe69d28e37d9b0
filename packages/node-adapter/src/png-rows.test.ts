import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as zlib from 'node:zlib';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as pngjs from 'pngjs';
import { CnnvizError, DEFAULT_MAX_PIXELS } from '@cnnviz/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkImageFile, readImage } from './image-io.js';
import { pngChunk, pngFile, zeroPng } from './test-png.js';

let dir: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'cnnviz-png-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A seeded byte generator (LCG), so failures reproduce. */
function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

/** pngjs's own RGBA decode as RGB values 0..1: the reference the row decoder must match. */
function reference(file: Uint8Array): { w: number; h: number; rgb: Float32Array } {
  const png = pngjs.PNG.sync.read(Buffer.from(file));
  const rgb = new Float32Array(png.width * png.height * 3);
  for (let i = 0; i < png.width * png.height; i++)
    for (let k = 0; k < 3; k++) rgb[3 * i + k] = png.data[4 * i + k] / 255;
  return { w: png.width, h: png.height, rgb };
}

async function expectSame(file: Uint8Array) {
  const ref = reference(file);
  const t = await readImage(file);
  expect(t.shape).toEqual([ref.h, ref.w, 3]);
  const got = await t.data();
  t.dispose();
  let maxDiff = 0;
  for (let i = 0; i < got.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i] - ref.rgb[i]));
  expect(maxDiff).toBe(0);
}

describe('row-by-row PNG decoder matches pngjs', () => {
  it('8- and 16-bit grey, grey+alpha, RGB and RGBA written by pngjs (all five row filters)', async () => {
    for (const [colorType, bitDepth] of [
      [0, 8],
      [4, 8],
      [2, 8],
      [6, 8],
      [2, 16],
      [6, 16],
      [0, 16],
    ] as const) {
      const png = new pngjs.PNG({ width: 37, height: 23, colorType, bitDepth, inputHasAlpha: true });
      const src = bytes(37 * 23 * 4 * (bitDepth / 8), 7 + colorType + bitDepth);
      if (bitDepth === 16) png.data = Buffer.from(new Uint16Array(src.buffer.slice(0, 37 * 23 * 8)));
      else png.data = Buffer.from(src);
      // A smooth image makes pngjs's adaptive filtering choose Sub/Up/Average/Paeth, not only None.
      if (bitDepth === 8) for (let i = 0; i < png.data.length; i++) png.data[i] = (i * 7 + (i >> 7)) & 255;
      const file = pngjs.PNG.sync.write(png, { colorType, bitDepth, inputHasAlpha: true });
      await expectSame(file);
    }
  });

  it('1/2/4-bit grey and 1/2/4/8-bit palettes (hand-built scanlines)', async () => {
    for (const [colorType, bitDepth] of [
      [0, 1],
      [0, 2],
      [0, 4],
      [3, 1],
      [3, 2],
      [3, 4],
      [3, 8],
    ] as const) {
      const w = 13;
      const h = 5;
      const rowBytes = Math.ceil((w * bitDepth) / 8);
      const raw = new Uint8Array(h * (rowBytes + 1));
      const body = bytes(h * rowBytes, bitDepth * 10 + colorType);
      for (let y = 0; y < h; y++) {
        raw[y * (rowBytes + 1)] = y % 3; // None, Sub, Up
        raw.set(body.subarray(y * rowBytes, (y + 1) * rowBytes), y * (rowBytes + 1) + 1);
      }
      const palette = colorType === 3 ? bytes(3 * 256, 99) : undefined;
      const file = pngFile({
        width: w,
        height: h,
        bitDepth,
        colorType,
        palette,
        idat: zlib.deflateSync(raw),
      });
      await expectSame(file);
    }
  });
});

describe('limits', () => {
  it('refuses a 30000 x 30000 bomb (a valid deflate stream of zeros) from its header, in well under a second', async () => {
    const file = await zeroPng(30000, 30000);
    const path = join(dir, 'bomb.png');
    await writeFile(path, file);
    const rss = process.memoryUsage().rss;
    const t0 = performance.now();
    const err = await readImage(path).catch((e: unknown) => e);
    const ms = performance.now() - t0;
    expect(CnnvizError.isInstance(err) && err.code).toBe('IMAGE_TOO_LARGE');
    expect((err as Error).message).toMatch(
      /30000 x 30000 = 900\.0 megapixels, over the limit of 100\.0.*--max-pixels/,
    );
    expect(ms).toBeLessThan(1000);
    expect(process.memoryUsage().rss - rss).toBeLessThan(64 << 20);
    await expect(checkImageFile(path)).rejects.toMatchObject({ code: 'IMAGE_TOO_LARGE' });
    // As small as the 874 KB bomb: deflate's 1032:1 limit on 900 MB of zeros.
    expect(file.length).toBeGreaterThan(800_000);
    expect(file.length).toBeLessThan(900_000);
  });

  it('a tiny IDAT behind a large IHDR within the limit is BAD_IMAGE before any row buffer', async () => {
    const file = pngFile({
      width: 9000,
      height: 9000,
      bitDepth: 8,
      colorType: 2,
      idat: zlib.deflateSync(Buffer.alloc(100)),
    });
    await expect(readImage(file)).rejects.toMatchObject({
      code: 'BAD_IMAGE',
      message: expect.stringMatching(/cannot hold 9000 x 9000 pixels/),
    });
  });

  it('maxPixels lowers and raises the limit; zero dimensions are BAD_IMAGE', async () => {
    const file = pngFile({
      width: 40,
      height: 30,
      bitDepth: 8,
      colorType: 0,
      idat: zlib.deflateSync(Buffer.alloc(31 * 40)),
    });
    await expect(readImage(file, { maxPixels: 1199 })).rejects.toMatchObject({ code: 'IMAGE_TOO_LARGE' });
    const ok = await readImage(file, { maxPixels: 1200 });
    expect(ok.shape).toEqual([30, 40, 3]);
    ok.dispose();
    await expect(readImage(file, { maxPixels: 0 })).rejects.toMatchObject({ code: 'BAD_OPTION' });
    const zero = pngFile({
      width: 0,
      height: 30,
      bitDepth: 8,
      colorType: 0,
      idat: zlib.deflateSync(Buffer.alloc(30)),
    });
    await expect(readImage(zero)).rejects.toMatchObject({ code: 'BAD_IMAGE', message: /no pixels/ });
    expect(DEFAULT_MAX_PIXELS).toBe(100_000_000);
  });

  it('a truncated stream, a wrong CRC and a chunk running past the end are BAD_IMAGE', async () => {
    const raw = bytes(20 * (1 + 60), 3);
    for (let y = 0; y < 20; y++) raw[y * 61] = 0;
    const full = pngFile({ width: 20, height: 20, bitDepth: 8, colorType: 2, idat: zlib.deflateSync(raw) });
    const short = pngFile({
      width: 20,
      height: 20,
      bitDepth: 8,
      colorType: 2,
      idat: zlib.deflateSync(raw.subarray(0, 10 * 61)),
    });
    await expect(readImage(short)).rejects.toMatchObject({
      code: 'BAD_IMAGE',
      message: /ends after 10 of 20 rows/,
    });
    const crc = Uint8Array.from(full);
    crc[40] ^= 1; // inside IDAT's data
    await expect(readImage(crc)).rejects.toMatchObject({ code: 'BAD_IMAGE', message: /wrong CRC/ });
    const cut = full.subarray(0, full.length - 30);
    await expect(readImage(cut)).rejects.toMatchObject({ code: 'BAD_IMAGE', message: /past the end/ });
    // A JPEG whose frame header declares 60000 x 60000.
    const jpeg = Uint8Array.from([
      0xff, 0xd8, 0xff, 0xc0, 0, 17, 8, 0xea, 0x60, 0xea, 0x60, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1,
    ]);
    await expect(readImage(jpeg)).rejects.toMatchObject({ code: 'IMAGE_TOO_LARGE' });
    expect(pngChunk('IEND', new Uint8Array(0)).length).toBe(12);
  });
});

describe('shrinkTo', () => {
  it('box-averages integer blocks while decoding (partial edge blocks by their own size)', async () => {
    const w = 11;
    const h = 7;
    const raw = new Uint8Array(h * (1 + 3 * w));
    const px = bytes(h * w * 3, 5);
    for (let y = 0; y < h; y++) raw.set(px.subarray(y * 3 * w, (y + 1) * 3 * w), y * (1 + 3 * w) + 1);
    const file = pngFile({ width: w, height: h, bitDepth: 8, colorType: 2, idat: zlib.deflateSync(raw) });
    // factor = floor(min(7/3, 11/4)) = 2 → ceil(7/2) x ceil(11/2) = 4 x 6.
    const t = await readImage(file, { shrinkTo: [3, 4] });
    expect(t.shape).toEqual([4, 6, 3]);
    const got = await t.data();
    t.dispose();
    for (let oy = 0; oy < 4; oy++)
      for (let ox = 0; ox < 6; ox++)
        for (let k = 0; k < 3; k++) {
          let sum = 0;
          let n = 0;
          for (let y = 2 * oy; y < Math.min(h, 2 * oy + 2); y++)
            for (let x = 2 * ox; x < Math.min(w, 2 * ox + 2); x++) {
              sum += px[3 * (y * w + x) + k];
              n++;
            }
          expect(got[3 * (oy * 6 + ox) + k]).toBeCloseTo(sum / n / 255, 6);
        }
    const grey = await readImage(file, { shrinkTo: [3, 4], channels: 1 });
    expect(grey.shape).toEqual([4, 6, 1]);
    const g = await grey.data();
    grey.dispose();
    expect(g[0]).toBeCloseTo(0.299 * got[0] + 0.587 * got[1] + 0.114 * got[2], 6);
    // Never enlarges.
    const same = await readImage(file, { shrinkTo: [100, 100] });
    expect(same.shape).toEqual([7, 11, 3]);
    same.dispose();
    await expect(readImage(file, { shrinkTo: [0, 4] as [number, number] })).rejects.toMatchObject({
      code: 'BAD_OPTION',
    });
  });
});
