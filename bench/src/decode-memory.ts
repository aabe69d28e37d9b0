/**
 * Peak memory of reading one large PNG, each way in its own process (peak RSS is per process):
 *   shrink  readImage(file, { shrinkTo: [224, 224] })  what the CLI does: rows box-averaged while inflating
 *   full    readImage(file)                            one full-size float32 copy, no 8-bit copy
 *   pngjs   pngjs.PNG.sync.read + float conversion     the decoder before issue 17 (for comparison)
 * Usage: tsx bench/src/decode-memory.ts [side=8000]   (writes a side x side RGB PNG to the temp dir)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

/** Runs each mode in a fresh process; returns their reports. */
export function decodeMemory(
  side = 8000,
): { mode: string; shape: number[]; ms: number; baselineMiB: number; peakRssMiB: number }[] {
  const file = join(tmpdir(), `cnnviz-decode-${side}.png`);
  if (!existsSync(file)) writeFileSync(file, makePng(side));
  const self = fileURLToPath(import.meta.url);
  return ['shrink', 'full', 'pngjs'].map((mode) => {
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
    for (const r of decodeMemory(side)) console.log(JSON.stringify(r));
  }
}
