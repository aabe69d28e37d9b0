import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as jpeg from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import { MAX_JPEG_SCANS, decodeJpegRows, type JpegRowsInfo } from './jpeg-rows.js';

// Fixtures: a 157 x 109 crop of the bundled chelsea.jpg (partial MCUs on both edges) encoded by
// Pillow and re-coded by jpegtran; see fixtures/jpeg/make.sh.
const FIXTURES = join(import.meta.dirname, '../../fixtures/jpeg');
const ASSETS = join(import.meta.dirname, '../../../models/assets/images');
const fixture = (f: string) => readFileSync(join(FIXTURES, f));

const CASES: [file: string, progressive: boolean][] = [
  ['base444.jpg', false],
  ['base422.jpg', false],
  ['base420.jpg', false],
  ['gray.jpg', false],
  ['cmyk.jpg', false], // Adobe inverted CMYK
  ['restart420.jpg', false], // DRI: an RST marker every 2 MCUs
  ['multiscan420.jpg', false], // sequential, one component per scan: needs the coefficient buffer
  ['prog420.jpg', true],
  ['prog444.jpg', true],
  ['gray-prog.jpg', true],
  ['prog-restart420.jpg', true], // an RST marker every MCU row
  ['prog-optimized422.jpg', true], // jpegtran -optimize: other Huffman tables and scans
];
const BUNDLED = ['astronaut', 'chelsea', 'coffee', 'scream', 'starry_night'];

interface Decoded extends JpegRowsInfo {
  rgb: Uint8Array;
  rowsInOrder: boolean;
}

function decode(bytes: Uint8Array, scale: 1 | 2 | 4 | 8 = 1): Decoded {
  let rgb = new Uint8Array(0);
  let next = 0;
  let rowsInOrder = true;
  const info = decodeJpegRows(bytes, { scale, what: 'test' }, (w, h) => {
    rgb = new Uint8Array(w * h * 3);
    return (row, y) => {
      rowsInOrder &&= y === next++ && row.length === w * 3;
      rgb.set(row, y * w * 3);
    };
  });
  return { ...info, rgb, rowsInOrder: rowsInOrder && next === info.height };
}

/** Max and mean absolute difference to jpeg-js's RGBA decode. */
function diffToJpegJs(bytes: Uint8Array, ours: Decoded): { max: number; mean: number } {
  const ref = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true });
  expect([ours.width, ours.height]).toEqual([ref.width, ref.height]);
  let max = 0;
  let sum = 0;
  for (let i = 0; i < ref.width * ref.height; i++)
    for (let k = 0; k < 3; k++) {
      const d = Math.abs(ours.rgb[3 * i + k] - ref.data[4 * i + k]);
      max = Math.max(max, d);
      sum += d;
    }
  return { max, mean: sum / (ref.width * ref.height * 3) };
}

describe('decodeJpegRows at full size', () => {
  it.each(CASES)('%s: the pixels jpeg-js decodes (max difference <= 2 levels)', (file, progressive) => {
    const bytes = fixture(file);
    const ours = decode(bytes);
    expect(ours.progressive).toBe(progressive);
    expect(ours.rowsInOrder).toBe(true);
    const { max, mean } = diffToJpegJs(bytes, ours);
    expect(max).toBeLessThanOrEqual(2);
    expect(mean).toBeLessThan(0.05);
  });

  it.each(BUNDLED)('bundled %s.jpg: the pixels jpeg-js decodes', (name) => {
    const bytes = readFileSync(join(ASSETS, `${name}.jpg`));
    const { max } = diffToJpegJs(bytes, decode(bytes));
    expect(max).toBeLessThanOrEqual(2);
  });

  it('keeps no coefficients for a one-scan baseline file, Int16 per sample for a progressive one', () => {
    expect(decode(fixture('base420.jpg')).coefficientBytes).toBe(0);
    // 157 x 109 at 4:2:0: 10 x 7 MCUs of 16 x 16; luma 20 x 14 blocks, each chroma 10 x 7; 2 bytes each.
    const blocks = 20 * 14 + 2 * 10 * 7;
    expect(decode(fixture('prog420.jpg')).coefficientBytes).toBe(blocks * 64 * 2);
    expect((blocks * 64 * 2) / (157 * 109)).toBeLessThan(3.2); // ~3 bytes per pixel (padding aside)
    expect(decode(fixture('prog444.jpg')).coefficientBytes).toBe(3 * 20 * 14 * 64 * 2);
  });
});

describe('decodeJpegRows scaled in the DCT domain', () => {
  /**
   * Compares a 1/s decode with the full decode box-averaged over s x s (outputs whose block lies
   * inside the image; at the edges the IDCT also averages the encoder's padding).
   */
  function versusArea(bytes: Uint8Array, s: 2 | 4 | 8) {
    const full = decode(bytes);
    const small = decode(bytes, s);
    expect([small.width, small.height]).toEqual([Math.ceil(full.width / s), Math.ceil(full.height / s)]);
    expect(small.rowsInOrder).toBe(true);
    const diffs: number[] = [];
    for (let oy = 0; oy < Math.floor(full.height / s); oy++)
      for (let ox = 0; ox < Math.floor(full.width / s); ox++)
        for (let k = 0; k < 3; k++) {
          let a = 0;
          for (let y = oy * s; y < oy * s + s; y++)
            for (let x = ox * s; x < ox * s + s; x++) a += full.rgb[(y * full.width + x) * 3 + k];
          diffs.push(Math.abs(a / (s * s) - small.rgb[(oy * small.width + ox) * 3 + k]));
        }
    diffs.sort((a, b) => a - b);
    return {
      max: diffs[diffs.length - 1],
      p99: diffs[Math.floor(diffs.length * 0.99)],
      mean: diffs.reduce((a, b) => a + b, 0) / diffs.length,
    };
  }

  const all = [...CASES.map(([f]) => f), ...BUNDLED.map((n) => `../../../models/assets/images/${n}.jpg`)];

  it.each(all)('%s at 1/8 is the 8 x 8 block mean (max 5 levels)', (file) => {
    // A 1/8 sample is the block's DC term: the exact mean up to rounding, clamping and chroma.
    const r = versusArea(fixture(file), 8);
    expect(r.max).toBeLessThanOrEqual(5);
    expect(r.mean).toBeLessThan(1);
  });

  it.each(all)(
    '%s at 1/2 and 1/4 is near the area average (mean < 5, 99th percentile < 20 levels)',
    (file) => {
      // The reduced IDCT keeps the lowest frequencies rather than box-averaging: edges differ most.
      for (const s of [2, 4] as const) {
        const r = versusArea(fixture(file), s);
        expect(r.mean).toBeLessThan(5);
        expect(r.p99).toBeLessThan(20);
      }
    },
  );
});

describe('decodeJpegRows refuses what it cannot read with BAD_IMAGE', () => {
  const patchedSof = (file: string, at: (sof: number, b: Uint8Array) => void) => {
    const b = new Uint8Array(fixture(file));
    const sof = b.findIndex((v, i) => v === 0xff && (b[i + 1] === 0xc0 || b[i + 1] === 0xc2));
    at(sof, b);
    return b;
  };
  const refuses = (bytes: Uint8Array, message: RegExp) => {
    let sinks = 0;
    expect(() => decodeJpegRows(bytes, { what: '"x.jpg"' }, () => (sinks++, () => undefined))).toThrow(
      expect.objectContaining({ code: 'BAD_IMAGE', message: expect.stringMatching(message) }),
    );
    expect(sinks).toBe(0); // refused before any pixel buffer
  };

  it('arithmetic-coded, lossless and 12-bit JPEGs', () => {
    refuses(fixture('arithmetic.jpg'), /^"x\.jpg" .*arithmetic-coded JPEG/);
    refuses(
      patchedSof('base420.jpg', (i, b) => (b[i + 1] = 0xc3)),
      /lossless JPEG/,
    );
    refuses(
      patchedSof('base420.jpg', (i, b) => (b[i + 4] = 12)),
      /12-bit samples/,
    );
  });

  it('a scan whose quantisation table is missing', () => {
    const b = patchedSof('base420.jpg', (i, b) => (b[i + 12] = 3)); // Y names table 3, never defined
    refuses(b, /component 1 uses quantisation table 3, which is not defined/);
  });

  it('a header declaring more pixels than the file can hold (a bomb), before allocating', () => {
    const b = patchedSof('base420.jpg', (i, b) => b.set([0xea, 0x60, 0xea, 0x60], i + 5)); // 60000 x 60000
    refuses(b, /cannot hold 60000 x 60000 pixels/);
  });

  it(`more than ${MAX_JPEG_SCANS} scans (work without data)`, () => {
    const b = fixture('prog420.jpg');
    const lastScan = b.lastIndexOf(Buffer.from([0xff, 0xda]));
    const scan = b.subarray(lastScan, b.length - 2);
    const many = Buffer.concat([
      b.subarray(0, b.length - 2),
      ...Array(MAX_JPEG_SCANS).fill(scan),
      Buffer.from([0xff, 0xd9]),
    ]);
    expect(() => decodeJpegRows(many, {}, () => () => undefined)).toThrow(
      expect.objectContaining({ code: 'BAD_IMAGE', message: expect.stringMatching(/more than 100 scans/) }),
    );
  });

  it('decodes a truncated file as far as it goes (the rest is flat, as libjpeg)', () => {
    const bytes = fixture('base420.jpg');
    const full = decode(bytes);
    const cut = decode(bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    expect(cut.rowsInOrder).toBe(true);
    const firstMcuRow = 16 * full.width * 3;
    expect(cut.rgb.subarray(0, firstMcuRow)).toEqual(full.rgb.subarray(0, firstMcuRow));
    const last = cut.rgb.subarray(cut.rgb.length - full.width * 3);
    expect([...new Set(last)]).toEqual([128]); // blocks after the end stay zero: mid-grey
  });
});
