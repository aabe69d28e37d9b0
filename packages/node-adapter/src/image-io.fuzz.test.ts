// 1,000 mutated PNG and JPEG files from a fixed seed: each must give an image or a CnnvizError
// with a code, within 2 s and 1 GB of RSS growth; never a crash, a hang or an untyped error.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as zlib from 'node:zlib';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as jpeg from 'jpeg-js';
import * as pngjs from 'pngjs';
import { CnnvizError, createRng, type Rng } from '@cnnviz/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { readImage } from './image-io.js';
import { pngChunk, pngFile } from './test-png.js';
import { ROOT } from './cli/test-cli.js';

const CASES = 1000;
const SEED = 17;

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function seedImages(): { name: string; bytes: Uint8Array }[] {
  const w = 24;
  const h = 16;
  const rgba = Buffer.alloc(w * h * 4);
  for (let i = 0; i < w * h; i++) rgba.set([(i * 7) & 255, (i * 13) & 255, (i * 29) & 255, 255], 4 * i);
  const png = new pngjs.PNG({ width: w, height: h });
  png.data = rgba;
  const raw = new Uint8Array(h * (1 + Math.ceil(w / 2)));
  for (let y = 0; y < h; y++) for (let x = 1; x <= w / 2; x++) raw[y * (1 + w / 2) + x] = (x * y) & 255;
  const palette = new Uint8Array(48).map((_, i) => i * 5);
  return [
    { name: 'rgb8.png', bytes: pngjs.PNG.sync.write(png) },
    { name: 'rgba16.png', bytes: pngjs.PNG.sync.write(png, { colorType: 6, bitDepth: 16 }) },
    {
      name: 'palette4.png',
      bytes: pngFile({
        width: w,
        height: h,
        bitDepth: 4,
        colorType: 3,
        palette,
        idat: zlib.deflateSync(raw),
      }),
    },
    { name: 'baseline.jpg', bytes: jpeg.encode({ data: rgba, width: w, height: h }, 80).data },
    // Progressive with restart markers: the coefficient-buffer path of the JPEG decoder.
    {
      name: 'prog-restart420.jpg',
      bytes: readFileSync(join(ROOT, 'packages/core/fixtures/jpeg/prog-restart420.jpg')),
    },
    { name: 'chelsea.jpg', bytes: readFileSync(join(ROOT, 'packages/models/assets/images/chelsea.jpg')) },
  ];
}

const u32 = (b: Uint8Array, i: number) =>
  ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)];
const DIMS = [0, 1, 2, 255, 4096, 9999, 30000, 65535, 0x7fffffff, 0xffffffff];

/** Offsets of the chunks of a PNG (walking lengths as written, up to the end). */
function chunks(b: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 8; i + 12 <= b.length && out.length < 64; i += 12 + u32(b, i)) out.push(i);
  return out;
}

function setPngDims(b: Uint8Array, w: number, h: number): void {
  const dv = new DataView(b.buffer, b.byteOffset);
  dv.setUint32(16, w >>> 0);
  dv.setUint32(20, h >>> 0);
  const fixed = pngChunk('IHDR', b.subarray(16, 29));
  b.set(fixed.subarray(8 + 13), 29); // the CRC, so the header is believed
}

function sofOffset(b: Uint8Array): number {
  for (let i = 2; i + 9 < b.length; i++) if (b[i] === 0xff && b[i + 1] >= 0xc0 && b[i + 1] <= 0xc2) return i;
  return -1;
}

/** Rewrites every chunk's CRC, so corrupt data reaches the inflater and the row filters. */
function fixCrcs(b: Uint8Array): void {
  for (const at of chunks(b)) {
    const len = u32(b, at);
    if (at + 12 + len > b.length) break;
    b.set(
      pngChunk(String.fromCharCode(...b.subarray(at + 4, at + 8)), b.subarray(at + 8, at + 8 + len)).subarray(
        8 + len,
      ),
      at + 8 + len,
    );
  }
}

/** One mutation; returns its name (for the failure message) and the new bytes. */
function mutate(rng: Rng, seed: { name: string; bytes: Uint8Array }): { how: string; bytes: Uint8Array } {
  const b = Uint8Array.from(seed.bytes);
  const isPng = seed.name.endsWith('.png');
  const kind = pick(rng, ['flip', 'flip', 'bytes', 'truncate', 'dims', 'zero', 'length', 'splice'] as const);
  switch (kind) {
    case 'flip': {
      const n = 1 + Math.floor(rng() * 8);
      for (let k = 0; k < n; k++) b[Math.floor(rng() * b.length)] ^= 1 << Math.floor(rng() * 8);
      return { how: `flip ${n} bits`, bytes: b };
    }
    case 'bytes': {
      const n = 1 + Math.floor(rng() * 16);
      for (let k = 0; k < n; k++)
        b[Math.floor(rng() * b.length)] = pick(rng, [0, 0xff, Math.floor(rng() * 256)]);
      return { how: `set ${n} bytes`, bytes: b };
    }
    case 'truncate': {
      const len = Math.floor(rng() * b.length);
      return { how: `truncate to ${len}`, bytes: b.subarray(0, len) };
    }
    case 'dims':
    case 'zero': {
      const w = kind === 'zero' && rng() < 0.5 ? 0 : pick(rng, DIMS);
      const h = kind === 'zero' ? 0 : pick(rng, DIMS);
      if (isPng) setPngDims(b, w, h);
      else {
        const o = sofOffset(b);
        if (o >= 0) {
          b[o + 5] = (h >> 8) & 255;
          b[o + 6] = h & 255;
          b[o + 7] = (w >> 8) & 255;
          b[o + 8] = w & 255;
        }
      }
      return { how: `dims ${w} x ${h}`, bytes: b };
    }
    case 'length': {
      if (isPng) {
        const at = pick(rng, chunks(b));
        const v = pick(rng, [0, 1, 13, 0x7fffffff, 0xffffffff, Math.floor(rng() * 5000)]);
        new DataView(b.buffer).setUint32(at, v >>> 0);
        return { how: `chunk at ${at} length ${v}`, bytes: b };
      }
      const segs: number[] = [];
      for (let i = 2; i + 4 < b.length && segs.length < 32; i++)
        if (b[i] === 0xff && b[i + 1] >= 0xc0 && b[i + 1] !== 0xff) segs.push(i);
      const at = segs.length ? pick(rng, segs) : 2;
      const v = pick(rng, [0, 1, 2, 0xffff, Math.floor(rng() * 0x10000)]);
      b[at + 2] = v >> 8;
      b[at + 3] = v & 255;
      return { how: `segment at ${at} length ${v}`, bytes: b };
    }
    case 'splice': {
      const at = Math.floor(rng() * b.length);
      const n = 1 + Math.floor(rng() * 64);
      const out =
        rng() < 0.5
          ? Buffer.concat([b.subarray(0, at), b.subarray(at + n)])
          : Buffer.concat([
              b.subarray(0, at),
              Buffer.from(new Uint8Array(n).map(() => Math.floor(rng() * 256))),
              b.subarray(at),
            ]);
      return { how: `splice ${n} at ${at}`, bytes: out };
    }
  }
}

describe('fuzzed images', () => {
  it(`${CASES} mutated PNG/JPEG files: an image or a typed CnnvizError each, within 2 s and 1 GB`, async () => {
    const seeds = seedImages();
    const rng = createRng(SEED);
    const counts: Record<string, number> = {};
    const untyped: string[] = [];
    let slowest = 0;
    let maxGrowth = 0;
    const rss0 = process.memoryUsage().rss;
    const tensors0 = tf.memory().numTensors;
    for (let i = 0; i < CASES; i++) {
      // The big photo (last) is one seed in ten.
      const seed = rng() < 0.1 ? seeds[seeds.length - 1] : seeds[Math.floor(rng() * (seeds.length - 1))];
      const m = mutate(rng, seed);
      const { bytes } = m;
      let how = m.how;
      if (seed.name.endsWith('.png') && rng() < 0.5) {
        fixCrcs(bytes);
        how += ', CRCs fixed';
      }
      const shrink = rng() < 0.3;
      const t0 = performance.now();
      try {
        const img = await readImage(bytes, shrink ? { shrinkTo: [8, 8] } : {});
        const [h, w, c] = img.shape;
        if (!(h > 0 && w > 0 && c === 3)) untyped.push(`#${i} ${seed.name} ${how}: shape ${img.shape}`);
        img.dispose();
        counts.image = (counts.image ?? 0) + 1;
      } catch (e) {
        if (CnnvizError.isInstance(e)) counts[e.code] = (counts[e.code] ?? 0) + 1;
        else untyped.push(`#${i} ${seed.name} ${how}: ${String(e)}`);
      }
      const ms = performance.now() - t0;
      slowest = Math.max(slowest, ms);
      if (ms > 2000) untyped.push(`#${i} ${seed.name} ${how}: took ${Math.round(ms)} ms`);
      maxGrowth = Math.max(maxGrowth, process.memoryUsage().rss - rss0);
    }
    console.log(
      `image fuzz: ${CASES} cases (seed ${SEED}) → ${JSON.stringify(counts)}; slowest ${Math.round(slowest)} ms; max RSS growth ${(maxGrowth / 2 ** 20).toFixed(0)} MiB`,
    );
    expect(untyped).toEqual([]);
    expect(maxGrowth).toBeLessThan(2 ** 30);
    expect(tf.memory().numTensors).toBe(tensors0);
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(CASES);
    // Both outcomes occur: the mutations are neither all harmless nor all fatal.
    expect(counts.image).toBeGreaterThan(50);
    expect(counts.BAD_IMAGE).toBeGreaterThan(200);
    expect(counts.IMAGE_TOO_LARGE).toBeGreaterThan(10);
  }, 120_000);
});
