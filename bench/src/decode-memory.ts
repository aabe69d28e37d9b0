/**
 * Peak memory of reading one large image, each way in its own process (peak RSS is per process):
 *   shrink  readImage(file, { shrinkTo: [224, 224] })  what the CLI does: rows box-averaged while decoding
 *   full    readImage(file)                            one full-size float32 copy, no 8-bit copy
 *   pngjs   pngjs.PNG.sync.read + float conversion     the PNG decoder before issue 17 (for comparison)
 *   jpeg-js-shrink / jpeg-js-full                      the JPEG decoder before (jpeg-js, then the same box
 *                                                      filter or float conversion readImage applied)
 * Usage: tsx bench/src/decode-memory.ts [side=8000] [png|jpeg|progressive] [--no-before]
 *   png: a side x side RGB PNG; jpeg / progressive: the same picture as a quality-90 4:2:0 JPEG made by
 *   cjpeg (and jpegtran -progressive): Debian's libjpeg-turbo-progs. Files go to the temp dir.
 *   --no-before skips pngjs / jpeg-js (at 100 megapixels jpeg-js needs several GB).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as zlib from 'node:zlib';

function crc32(b: Uint8Array): number {
  return (zlib as unknown as { crc32(d: Uint8Array): number }).crc32(b) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** A side x side RGB PNG of smooth gradients and a little texture (compresses like a photo, roughly). */
function makePng(side: number): Buffer {
  const def = zlib.deflateSync;
  const rows: Buffer[] = [];
  for (let y = 0; y < side; y++) {
    const r = Buffer.alloc(1 + 3 * side);
    r[0] = 1; // Sub filter
    for (let x = 0; x < side; x++) {
      const v = ((x * 255) / side + ((x * y) & 7)) & 255;
      r[1 + 3 * x] = v;
      r[2 + 3 * x] = (y * 255) / side;
      r[3 + 3 * x] = (v + y) & 255;
    }
    rows.push(r);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const idat = def(Buffer.concat(rows), { level: 1 });
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', idat),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

/**
 * The same gradients with pseudo-random grain, as a binary PPM for cjpeg: at quality 90 it
 * compresses to about 2 bits per pixel, like a photo (smooth gradients alone make a tiny JPEG).
 */
function writePpm(side: number, file: string): void {
  const header = Buffer.from(`P6\n${side} ${side}\n255\n`, 'latin1');
  const chunks: Buffer[] = [header];
  let s = 17;
  const grain = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s & 15) - 8;
  };
  const c = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : v);
  for (let y = 0; y < side; y++) {
    const r = Buffer.alloc(3 * side);
    for (let x = 0; x < side; x++) {
      const v = ((x * 255) / side + ((x * y) & 7)) & 255;
      const g = grain();
      r[3 * x] = c(v + g);
      r[3 * x + 1] = c((y * 255) / side + g);
      r[3 * x + 2] = c(((v + y) & 255) + grain());
    }
    chunks.push(r);
  }
  writeFileSync(file, Buffer.concat(chunks));
}

/** Box-averages RGB rows by `factor` as readImage's sink does (for the jpeg-js "before" modes). */
function boxAverage(data: Uint8Array, w: number, h: number, factor: number): Float32Array {
  const ow = Math.ceil(w / factor);
  const oh = Math.ceil(h / factor);
  const out = new Float32Array(ow * oh * 3);
  for (let y = 0; y < h; y++) {
    const o = ((y / factor) | 0) * ow * 3;
    for (let x = 0, i = y * w * 3; x < w; x++, i += 3) {
      const k = o + 3 * ((x / factor) | 0);
      out[k] += data[i];
      out[k + 1] += data[i + 1];
      out[k + 2] += data[i + 2];
    }
  }
  for (let i = 0; i < out.length; i++) out[i] /= 255 * factor * factor;
  return out;
}

async function child(mode: string, file: string): Promise<void> {
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-cpu');
  await tf.setBackend('cpu');
  const { readImage } = await import('@cnnviz/node');
  const baseline = process.memoryUsage().rss / 2 ** 20;
  const t0 = performance.now();
  let shape: number[];
  if (mode === 'pngjs') {
    const { PNG } = await import('pngjs');
    const png = PNG.sync.read(readFileSync(file));
    const out = new Float32Array(png.width * png.height * 3);
    for (let i = 0; i < png.width * png.height; i++)
      for (let k = 0; k < 3; k++) out[3 * i + k] = png.data[4 * i + k] / 255;
    shape = [png.height, png.width, 3];
  } else if (mode.startsWith('jpeg-js')) {
    const jpeg = await import('jpeg-js');
    const img = jpeg.decode(readFileSync(file), {
      useTArray: true,
      formatAsRGBA: false,
      maxResolutionInMP: 200,
      maxMemoryUsageInMB: 16384,
    });
    const factor = mode === 'jpeg-js-shrink' ? Math.floor(Math.min(img.height, img.width) / 224) : 1;
    boxAverage(img.data, img.width, img.height, factor);
    shape = [Math.ceil(img.height / factor), Math.ceil(img.width / factor), 3];
  } else {
    const t = await readImage(file, mode === 'shrink' ? { shrinkTo: [224, 224] } : {});
    shape = t.shape;
    t.dispose();
  }
  const ms = performance.now() - t0;
  const peak = process.resourceUsage().maxRSS / 1024;
  const report = {
    mode,
    shape,
    ms: Math.round(ms),
    baselineMiB: Math.round(baseline),
    peakRssMiB: Math.round(peak),
  };
  process.stdout.write(JSON.stringify(report) + '\n');
}

/** The input file for a format, made once in the temp dir. */
function inputFile(side: number, format: 'png' | 'jpeg' | 'progressive'): string {
  const base = join(tmpdir(), `cnnviz-decode-${side}`);
  if (format === 'png') {
    if (!existsSync(`${base}.png`)) writeFileSync(`${base}.png`, makePng(side));
    return `${base}.png`;
  }
  const jpg = `${base}.jpg`;
  if (!existsSync(jpg)) {
    writePpm(side, `${base}.ppm`);
    execFileSync('cjpeg', ['-quality', '90', '-outfile', jpg, `${base}.ppm`]);
    rmSync(`${base}.ppm`);
  }
  if (format === 'jpeg') return jpg;
  const prog = `${base}-progressive.jpg`;
  if (!existsSync(prog)) execFileSync('jpegtran', ['-progressive', '-outfile', prog, jpg]);
  return prog;
}

/** Runs each mode in a fresh process; returns their reports. */
export function decodeMemory(
  side = 8000,
  format: 'png' | 'jpeg' | 'progressive' = 'png',
  before = true,
): { mode: string; shape: number[]; ms: number; baselineMiB: number; peakRssMiB: number }[] {
  const file = inputFile(side, format);
  const self = fileURLToPath(import.meta.url);
  const modes = ['shrink', 'full'];
  if (before) modes.push(...(format === 'png' ? ['pngjs'] : ['jpeg-js-shrink', 'jpeg-js-full']));
  return modes.map((mode) => {
    // Plain node on the built packages: a TypeScript loader in the child would count in its peak.
    const env = { ...process.env };
    delete env.TSX_TSCONFIG_PATH;
    const r = spawnSync(process.execPath, ['--import', 'tsx', self, '--child', mode, file], {
      encoding: 'utf8',
      env,
    });
    if (r.status !== 0) throw new Error(`${mode}: ${r.stderr}`);
    return JSON.parse(r.stdout.trim().split('\n').pop()!);
  });
}

const argv = process.argv.slice(2);
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (argv[0] === '--child') await child(argv[1], argv[2]);
  else {
    const side = Number(argv[0] ?? 8000);
    const format = (argv[1] ?? 'png') as 'png' | 'jpeg' | 'progressive';
    const file = inputFile(side, format);
    const mb = (readFileSync(file).length / 1e6).toFixed(1);
    console.log(
      `${format} ${side} x ${side}, ${mb} MB; load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
    );
    for (const r of decodeMemory(side, format, !argv.includes('--no-before')))
      console.log(
        JSON.stringify({ ...r, extraMiB: r.peakRssMiB - r.baselineMiB, load: +loadavg()[0].toFixed(1) }),
      );
  }
}
