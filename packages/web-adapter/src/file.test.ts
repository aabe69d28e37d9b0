// imageFromFile's checks run before the browser decodes anything, so they are tested here in Node
// with a stand-in createImageBitmap that records what it was asked; real decoding is the browser's.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { imageFromFile } from './canvas.js';

const g = globalThis as { createImageBitmap?: unknown };
let calls: unknown[] = [];

beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterEach(() => {
  delete g.createImageBitmap;
  calls = [];
});

/** PNG signature and an IHDR declaring `w` x `h` (the CRC is not read by the header check). */
function pngHead(w: number, h: number): Uint8Array {
  const b = new Uint8Array(33);
  b.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
  const dv = new DataView(b.buffer);
  dv.setUint32(16, w);
  dv.setUint32(20, h);
  b.set([8, 2, 0, 0, 0], 24);
  return b;
}

describe('imageFromFile', () => {
  it('refuses a 30000 x 30000 PNG from its header, before createImageBitmap', async () => {
    g.createImageBitmap = (...a: unknown[]) => {
      calls.push(a);
      throw new Error('must not decode');
    };
    const file = new File([pngHead(30000, 30000) as BlobPart], 'bomb.png');
    await expect(imageFromFile(file)).rejects.toMatchObject({
      code: 'IMAGE_TOO_LARGE',
      message: expect.stringMatching(/"bomb\.png" declares 30000 x 30000/),
    });
    await expect(
      imageFromFile(new File([pngHead(100, 100) as BlobPart], 'a.png'), { maxPixels: 9999 }),
    ).rejects.toMatchObject({
      code: 'IMAGE_TOO_LARGE',
    });
    await expect(imageFromFile(new Blob(['<svg/>']))).rejects.toMatchObject({ code: 'BAD_IMAGE' });
    await expect(imageFromFile('x' as unknown as Blob)).rejects.toMatchObject({ code: 'BAD_IMAGE' });
    expect(calls).toEqual([]);
  });

  it('asks the browser to scale while decoding when a size is given', async () => {
    g.createImageBitmap = async (...a: unknown[]) => {
      calls.push(a[1]);
      throw new Error('stand-in decoder');
    };
    const file = new File([pngHead(4000, 2000) as BlobPart], 'big.png');
    await expect(imageFromFile(file, { size: 400 })).rejects.toMatchObject({
      code: 'BAD_IMAGE',
      message: expect.stringMatching(/could not be decoded: stand-in decoder/),
    });
    expect(calls).toEqual([{ resizeHeight: 200, resizeWidth: 400, resizeQuality: 'high' }]);
  });
});
