import * as zlib from 'node:zlib';
import { crc32 } from './png-rows.js';

// Test helpers: PNG files built chunk by chunk, so tests can declare any header over any data.

/** One chunk: length, type, data, CRC. */
export function pngChunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  dv.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

export interface PngParts {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  interlace?: number;
  palette?: Uint8Array;
  /** The zlib stream (filter bytes and scanlines, compressed). */
  idat: Uint8Array;
}

/** A PNG from its parts; the header may lie about the data. */
export function pngFile(p: PngParts): Uint8Array {
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, p.width);
  dv.setUint32(4, p.height);
  ihdr.set([p.bitDepth, p.colorType, 0, 0, p.interlace ?? 0], 8);
  const parts = [
    Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    ...(p.palette ? [pngChunk('PLTE', p.palette)] : []),
    pngChunk('IDAT', p.idat),
    pngChunk('IEND', new Uint8Array(0)),
  ];
  return Buffer.concat(parts);
}

/** A valid grey PNG of `width` x `height` zeros, deflated in slices (a bomb needs no big buffer). */
export async function zeroPng(width: number, height: number): Promise<Uint8Array> {
  const rows = Math.max(1, Math.floor((4 << 20) / (width + 1)));
  const slice = Buffer.alloc((width + 1) * rows);
  const def = zlib.createDeflate({ level: 9, strategy: zlib.constants.Z_RLE, chunkSize: 1 << 20 });
  const parts: Buffer[] = [];
  def.on('data', (d: Buffer) => parts.push(d));
  const done = new Promise((r) => def.on('end', r));
  for (let y = 0; y < height; y += rows)
    def.write(slice.subarray(0, (width + 1) * Math.min(rows, height - y)));
  def.end();
  await done;
  return pngFile({ width, height, bitDepth: 8, colorType: 0, idat: Buffer.concat(parts) });
}
