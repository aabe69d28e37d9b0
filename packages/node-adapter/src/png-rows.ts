import * as zlib from 'node:zlib';
import { CnnvizError, type ImageHeader, type RowSink } from '@cnnviz/core';

const u32 = (b: Uint8Array, i: number) =>
  ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;

let crcTable: Uint32Array | undefined;
/** CRC-32 of PNG chunks (zlib's when Node has it). */
export function crc32(b: Uint8Array): number {
  const native = (zlib as { crc32?: (d: Uint8Array) => number }).crc32;
  if (native) return native(b) >>> 0;
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) c = crcTable[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const DEPTHS: Record<number, number[]> = {
  0: [1, 2, 4, 8, 16],
  2: [8, 16],
  3: [1, 2, 4, 8],
  4: [8, 16],
  6: [8, 16],
};
/** Deflate cannot beat 1032:1 (a 258-byte match in two 1-bit codes); 1100 leaves room for rounding. */
const MAX_DEFLATE_RATIO = 1100;

/** The chunks a decoder needs, after every length and CRC was checked. */
export interface PngChunks {
  palette?: Uint8Array;
  idat: Uint8Array[];
  idatBytes: number;
}

/**
 * Walks a PNG's chunks without inflating anything: lengths inside the file, CRCs right, IHDR
 * fields valid, a palette for palette images, and enough compressed data for the declared size
 * (a tiny IDAT claiming a huge image is refused here, before a row buffer exists).
 */
export function pngChunks(buf: Uint8Array, header: ImageHeader, what: string): PngChunks {
  const bad = (why: string) => new CnnvizError('BAD_IMAGE', `${what} is not a readable PNG image: ${why}`);
  const { bitDepth, colorType, interlace } = header.png!;
  if (!DEPTHS[colorType]?.includes(bitDepth))
    throw bad(`bit depth ${bitDepth} with colour type ${colorType}`);
  if (buf[26] !== 0 || buf[27] !== 0 || interlace > 1)
    throw bad('unknown compression, filter or interlace method');
  const out: PngChunks = { idat: [], idatBytes: 0 };
  let i = 8;
  let ended = false;
  while (i + 8 <= buf.length && !ended) {
    const len = u32(buf, i);
    const type = String.fromCharCode(buf[i + 4], buf[i + 5], buf[i + 6], buf[i + 7]);
    if (len > buf.length - i - 12)
      throw bad(`chunk ${JSON.stringify(type)} at byte ${i} runs past the end of the file`);
    const data = buf.subarray(i + 8, i + 8 + len);
    if (crc32(buf.subarray(i + 4, i + 8 + len)) !== u32(buf, i + 8 + len))
      throw bad(`chunk ${JSON.stringify(type)} has a wrong CRC`);
    if (type === 'PLTE') out.palette = data;
    else if (type === 'IDAT') {
      out.idat.push(data);
      out.idatBytes += len;
    } else if (type === 'IEND') ended = true;
    i += 12 + len;
  }
  if (out.idat.length === 0) throw bad('no image data (IDAT)');
  if (colorType === 3 && (!out.palette || out.palette.length % 3 !== 0 || out.palette.length === 0))
    throw bad('a palette image without a valid palette');
  const raw = header.height * (1 + Math.ceil((header.width * CHANNELS[colorType] * bitDepth) / 8));
  if (out.idatBytes * MAX_DEFLATE_RATIO < raw)
    throw bad(
      `${out.idatBytes} bytes of compressed data cannot hold ${header.width} x ${header.height} pixels (truncated, or a decompression bomb)`,
    );
  return out;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/**
 * Decodes a non-interlaced PNG row by row while inflating: at any time only two filtered rows and
 * one RGB row exist, never the whole image. 16-bit samples are rounded to 8 bits and low bit
 * depths scaled to 0..255 (as pngjs does); alpha is dropped. Rejects with BAD_IMAGE when the data
 * is corrupt or ends early.
 */
export function decodePngRows(
  header: ImageHeader,
  chunks: PngChunks,
  what: string,
  sink: RowSink,
): Promise<void> {
  const { width, height } = header;
  const { bitDepth, colorType } = header.png!;
  const spp = CHANNELS[colorType];
  const bpp = Math.max(1, (spp * bitDepth) >> 3); // bytes per complete pixel, for the filters
  const rowBytes = Math.ceil((width * spp * bitDepth) / 8);
  let prev = new Uint8Array(rowBytes);
  let cur = new Uint8Array(rowBytes);
  const rgb = new Uint8Array(width * 3);
  const pal = chunks.palette;
  const maxSample = (1 << bitDepth) - 1;
  let filter = -1;
  let fill = 0;
  let y = 0;
  const bad = (why: string) => new CnnvizError('BAD_IMAGE', `${what} is not a readable PNG image: ${why}`);

  const sample = (x: number, s: number): number => {
    // The s-th sample of pixel x, scaled to 0..255.
    if (bitDepth === 8) return cur[x * spp + s];
    if (bitDepth === 16) {
      const o = 2 * (x * spp + s);
      return Math.round(((cur[o] << 8) | cur[o + 1]) / 257);
    }
    const bit = (x * spp + s) * bitDepth;
    const v = (cur[bit >> 3] >> (8 - bitDepth - (bit & 7))) & maxSample;
    return colorType === 3 ? v : Math.round((v * 255) / maxSample);
  };

  const finishRow = () => {
    switch (filter) {
      case 0:
        break;
      case 1:
        for (let i = bpp; i < rowBytes; i++) cur[i] = (cur[i] + cur[i - bpp]) & 255;
        break;
      case 2:
        for (let i = 0; i < rowBytes; i++) cur[i] = (cur[i] + prev[i]) & 255;
        break;
      case 3:
        for (let i = 0; i < rowBytes; i++)
          cur[i] = (cur[i] + (((i >= bpp ? cur[i - bpp] : 0) + prev[i]) >> 1)) & 255;
        break;
      case 4:
        for (let i = 0; i < rowBytes; i++)
          cur[i] = (cur[i] + paeth(i >= bpp ? cur[i - bpp] : 0, prev[i], i >= bpp ? prev[i - bpp] : 0)) & 255;
        break;
      default:
        throw bad(`unknown filter type ${filter} in row ${y}`);
    }
    if (bitDepth === 8 && colorType !== 3) {
      // The common case without a per-sample call.
      if (spp <= 2)
        for (let x = 0; x < width; x++) rgb[3 * x] = rgb[3 * x + 1] = rgb[3 * x + 2] = cur[x * spp];
      else
        for (let x = 0, o = 0; x < width; x++, o += spp) {
          rgb[3 * x] = cur[o];
          rgb[3 * x + 1] = cur[o + 1];
          rgb[3 * x + 2] = cur[o + 2];
        }
    } else
      for (let x = 0; x < width; x++) {
        if (colorType === 3) {
          const k = sample(x, 0);
          if (3 * k + 2 >= pal!.length) throw bad(`palette index ${k} in row ${y} is outside the palette`);
          rgb[3 * x] = pal![3 * k];
          rgb[3 * x + 1] = pal![3 * k + 1];
          rgb[3 * x + 2] = pal![3 * k + 2];
        } else if (spp <= 2) {
          const v = sample(x, 0);
          rgb[3 * x] = rgb[3 * x + 1] = rgb[3 * x + 2] = v;
        } else {
          rgb[3 * x] = sample(x, 0);
          rgb[3 * x + 1] = sample(x, 1);
          rgb[3 * x + 2] = sample(x, 2);
        }
      }
    sink(rgb, y);
    [prev, cur] = [cur, prev];
    y++;
    filter = -1;
    fill = 0;
  };

  return new Promise<void>((resolve, reject) => {
    const inflate = zlib.createInflate();
    let failed = false;
    const fail = (e: unknown) => {
      if (failed) return;
      failed = true;
      inflate.destroy();
      reject(CnnvizError.isInstance(e) ? e : bad(`corrupt compressed data (${(e as Error).message})`));
    };
    inflate.on('data', (d: Buffer) => {
      if (failed) return;
      try {
        let i = 0;
        while (i < d.length && y < height) {
          if (filter < 0) {
            filter = d[i++];
            continue;
          }
          const n = Math.min(rowBytes - fill, d.length - i);
          cur.set(d.subarray(i, i + n), fill);
          fill += n;
          i += n;
          if (fill === rowBytes) finishRow();
        }
        if (y === height) {
          // Everything needed has arrived; trailing data is ignored (as libpng does).
          failed = true;
          inflate.destroy();
          resolve();
        }
      } catch (e) {
        fail(e);
      }
    });
    inflate.on('error', fail);
    inflate.on('end', () => {
      if (failed) return;
      if (y < height) fail(bad(`the image data ends after ${y} of ${height} rows (truncated)`));
      else resolve();
    });
    for (const c of chunks.idat) inflate.write(c);
    inflate.end();
  });
}
