import * as jpeg from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import { CnnvizError } from '../errors.js';
import { checkImageSize, DEFAULT_MAX_PIXELS, readImageHeader, sniffImage } from './header.js';

const bytes = (...parts: (number[] | string)[]) =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...p].map((c) => c.charCodeAt(0)) : p)));

describe('readImageHeader', () => {
  it('reads a real JPEG (jpeg-js, 4:2:0) and one with a 60 KB APP1 segment and fill bytes before its frame', () => {
    const w = 37;
    const h = 21;
    const file = jpeg.encode({ data: Buffer.alloc(w * h * 4, 128), width: w, height: h }, 90).data;
    const head = readImageHeader(file);
    expect(head).toMatchObject({ format: 'jpeg', width: 37, height: 21, jpeg: { sof: 0xc0 } });
    expect(head!.jpeg!.components).toHaveLength(3);
    // SOI, a big APP1 (EXIF-like), fill bytes, then the rest of the file after its SOI.
    const app1 = new Uint8Array(60_000);
    app1.set([0xff, 0xe1, (60_000 - 2) >> 8, (60_000 - 2) & 255]);
    const withExif = new Uint8Array([...file.subarray(0, 2), ...app1, 0xff, 0xff, ...file.subarray(2)]);
    expect(readImageHeader(withExif)).toMatchObject({ width: 37, height: 21 });
    expect(() => readImageHeader(withExif.subarray(0, 1000))).toThrow(/ends before its frame header/);
  });

  it('PNG, WebP (VP8X, VP8L, VP8), GIF and BMP sizes from their headers', () => {
    const png = bytes(
      [0x89],
      'PNG',
      [13, 10, 26, 10, 0, 0, 0, 13],
      'IHDR',
      [0, 0, 1, 44, 0, 0, 0, 200, 8, 2, 0, 0, 0, 0, 0, 0, 0],
    );
    expect(readImageHeader(png)).toEqual({
      format: 'png',
      width: 300,
      height: 200,
      png: { bitDepth: 8, colorType: 2, interlace: 0 },
    });
    const vp8x = bytes(
      'RIFF',
      [0, 0, 0, 0],
      'WEBPVP8X',
      [10, 0, 0, 0, 0, 0, 0, 0],
      [0x2b, 0x01, 0x00],
      [0xc7, 0x00, 0x00],
    );
    expect(readImageHeader(vp8x)).toMatchObject({ format: 'webp', width: 300, height: 200 });
    // VP8L: 14-bit width-1 and height-1 packed from byte 21.
    const bits = 299 | (199 << 14);
    const vp8l = bytes(
      'RIFF',
      [0, 0, 0, 0],
      'WEBPVP8L',
      [0, 0, 0, 0, 0x2f],
      [bits & 255, (bits >> 8) & 255, (bits >> 16) & 255, bits >>> 24],
    );
    expect(readImageHeader(vp8l)).toMatchObject({ width: 300, height: 200 });
    const vp8 = bytes('RIFF', [0, 0, 0, 0], 'WEBPVP8 ', [0, 0, 0, 0, 0, 0, 0, 0, 0, 0], [44, 1, 200, 0]);
    expect(readImageHeader(vp8)).toMatchObject({ width: 300, height: 200 });
    expect(readImageHeader(bytes('GIF89a', [44, 1, 200, 0]))).toMatchObject({
      format: 'gif',
      width: 300,
      height: 200,
    });
    const bmp = new Uint8Array(26);
    bmp.set(bytes('BM'));
    new DataView(bmp.buffer).setInt32(18, 300, true);
    new DataView(bmp.buffer).setInt32(22, -200, true); // top-down
    expect(readImageHeader(bmp)).toMatchObject({ format: 'bmp', width: 300, height: 200 });
    expect(readImageHeader(bytes('<svg/>'))).toBeUndefined();
    expect(sniffImage(bytes('GIF87a'))).toBe('gif');
    expect(() => readImageHeader(png.subarray(0, 20))).toThrow(CnnvizError);
  });
});

describe('checkImageSize', () => {
  it('refuses over the limit with IMAGE_TOO_LARGE, no pixels with BAD_IMAGE', () => {
    expect(() => checkImageSize({ width: 10000, height: 10000 })).not.toThrow();
    expect(DEFAULT_MAX_PIXELS).toBe(10000 * 10000);
    const err = (() => {
      try {
        checkImageSize({ width: 10001, height: 10000 }, undefined, 'x.png');
      } catch (e) {
        return e as CnnvizError;
      }
    })();
    expect(err?.code).toBe('IMAGE_TOO_LARGE');
    expect(err?.message).toBe(
      'x.png declares 10001 x 10000 = 100.0 megapixels, over the limit of 100.0; raise maxPixels (CLI: --max-pixels) if you trust it',
    );
    expect(() => checkImageSize({ width: 0, height: 5 })).toThrow(/declares no pixels/);
    expect(() => checkImageSize({ width: 5, height: 5 }, 0)).toThrow(/maxPixels must be a positive number/);
  });
});
