import { beforeAll, describe, expect, it } from 'vitest';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { images } from './images.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('images', () => {
  it('lists the bundled images, each with a licence and source, at most 256 px', () => {
    const names = images.list();
    for (const n of ['chelsea', 'astronaut', 'coffee', 'brick', 'grass', 'starry_night', 'scream'])
      expect(names).toContain(n);
    for (const n of names) {
      const e = images.catalog[n];
      expect(e.licence.length).toBeGreaterThan(3);
      expect(e.source.length).toBeGreaterThan(3);
      expect(Math.max(e.width, e.height)).toBeLessThanOrEqual(256);
    }
    const notice = readFileSync(fileURLToPath(new URL('../assets/images/NOTICE', import.meta.url)), 'utf8');
    for (const n of names) expect(notice).toContain(images.catalog[n].file);
  });

  it('loads every image as [H,W,C] float32 in 0..1 with the catalogue size', async () => {
    for (const n of images.list()) {
      const before = tf.memory().numTensors;
      const img = await images.load(n);
      const e = images.catalog[n];
      expect(img.shape).toEqual([e.height, e.width, e.channels]);
      expect(img.dtype).toBe('float32');
      const [lo, hi, mean] = tf.tidy(() =>
        [tf.min(img), tf.max(img), tf.mean(img)].map((t) => t.dataSync()[0]),
      );
      expect(lo).toBeGreaterThanOrEqual(0);
      expect(hi).toBeLessThanOrEqual(1);
      expect(hi - lo).toBeGreaterThan(0.3); // a real picture, not a blank
      expect(mean).toBeGreaterThan(0.05);
      img.dispose();
      expect(tf.memory().numTensors).toBe(before);
    }
  });

  it('decodes PNG pixels exactly and converts channels on request', async () => {
    const brick = await images.load('brick');
    const png = PNG.sync.read(
      readFileSync(fileURLToPath(new URL('../assets/images/brick.png', import.meta.url))),
    );
    const px = brick.dataSync();
    for (const i of [0, 1000, 65535]) {
      expect(px[3 * i]).toBeCloseTo(png.data[4 * i] / 255, 6);
      expect(px[3 * i + 2]).toBeCloseTo(png.data[4 * i + 2] / 255, 6);
    }
    const gray = await images.load('chelsea', { channels: 1 });
    expect(gray.shape).toEqual([170, 256, 1]);
    const rgb = await images.load('fashion-bag', { channels: 3 });
    expect(rgb.shape).toEqual([28, 28, 3]);
    tf.dispose([brick, gray, rgb]);
  });

  it('an unknown name is a BAD_INPUT error listing the images', async () => {
    await expect(images.load('chelse')).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: expect.stringMatching(/chelsea/),
    });
    await expect(images.load('chelsea', { channels: 2 as 1 })).rejects.toMatchObject({ code: 'BAD_OPTION' });
  });
});
