import { CnnvizError } from '../errors.js';
import { check } from '../validate.js';

/**
 * Images with more pixels than this are refused unless a caller raises the limit: 100 megapixels
 * is a 10000 x 10000 photo, already 1.2 GB as float32 RGB; a "bomb" declares far more in a tiny file.
 */
export const DEFAULT_MAX_PIXELS = 100_000_000;

/** What the first bytes of an image file say about it, before anything is decoded. */
export interface ImageHeader {
  format: 'png' | 'jpeg' | 'webp' | 'gif' | 'bmp';
  width: number;
  height: number;
  /** PNG only: IHDR's fields. */
  png?: { bitDepth: number; colorType: number; interlace: number };
  /** JPEG only: the SOF marker (0xC0 baseline, 0xC2 progressive, ...) and each component's sampling factors. */
  jpeg?: { sof: number; components: { h: number; v: number }[] };
}

const u16be = (b: Uint8Array, i: number) => (b[i] << 8) | b[i + 1];
const u32be = (b: Uint8Array, i: number) =>
  ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
const u16le = (b: Uint8Array, i: number) => b[i] | (b[i + 1] << 8);
const u24le = (b: Uint8Array, i: number) => b[i] | (b[i + 1] << 8) | (b[i + 2] << 16);
const ascii = (b: Uint8Array, i: number, n: number) => String.fromCharCode(...b.subarray(i, i + n));

/** The file type from its magic bytes, or undefined. */
export function sniffImage(b: Uint8Array): ImageHeader['format'] | undefined {
  if (b.length >= 8 && b[0] === 0x89 && ascii(b, 1, 3) === 'PNG') return 'png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 12 && ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'WEBP') return 'webp';
  if (b.length >= 6 && (ascii(b, 0, 6) === 'GIF87a' || ascii(b, 0, 6) === 'GIF89a')) return 'gif';
  if (b.length >= 2 && ascii(b, 0, 2) === 'BM') return 'bmp';
  return undefined;
}

const bad = (what: string, why: string) =>
  new CnnvizError('BAD_IMAGE', `${what} is not a readable image: ${why}`);

function jpegHeader(b: Uint8Array, what: string): ImageHeader {
  // Walk the marker segments up to the frame header (SOFn); EXIF and ICC segments may come first.
  let i = 2;
  while (i < b.length) {
    if (b[i] !== 0xff) throw bad(what, `JPEG marker expected at byte ${i}`);
    while (i < b.length && b[i] === 0xff) i++; // fill bytes
    const m = b[i++];
    if (m === undefined) break;
    if (m === 0xd8 || m === 0x01 || (m >= 0xd0 && m <= 0xd7)) continue; // no length
    if (m === 0xd9 || m === 0xda) throw bad(what, 'JPEG has no frame header before its scan data');
    if (i + 2 > b.length) break;
    const len = u16be(b, i);
    if (len < 2) throw bad(what, `JPEG segment length ${len} at byte ${i}`);
    const sof = m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;
    if (sof) {
      if (len < 8 || i + len > b.length) break;
      const height = u16be(b, i + 3);
      const width = u16be(b, i + 5);
      const n = b[i + 7];
      if (len < 8 + 3 * n || n === 0) throw bad(what, `JPEG frame header declares ${n} components`);
      const components = [];
      for (let k = 0; k < n; k++) {
        const hv = b[i + 8 + 3 * k + 1];
        components.push({ h: hv >> 4, v: hv & 15 });
      }
      return { format: 'jpeg', width, height, jpeg: { sof: m, components } };
    }
    i += len;
  }
  throw bad(what, 'the JPEG file ends before its frame header (truncated)');
}

function webpHeader(b: Uint8Array, what: string): ImageHeader {
  const chunk = b.length >= 16 ? ascii(b, 12, 4) : '';
  if (chunk === 'VP8X' && b.length >= 30)
    return { format: 'webp', width: u24le(b, 24) + 1, height: u24le(b, 27) + 1 };
  if (chunk === 'VP8 ' && b.length >= 30)
    return { format: 'webp', width: u16le(b, 26) & 0x3fff, height: u16le(b, 28) & 0x3fff };
  if (chunk === 'VP8L' && b.length >= 25) {
    const bits = (b[21] | (b[22] << 8) | (b[23] << 16) | (b[24] << 24)) >>> 0;
    return { format: 'webp', width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
  }
  throw bad(what, 'the WebP header is truncated or unknown');
}

/**
 * Reads an image's size from its first bytes (PNG IHDR, JPEG SOFn, WebP VP8/VP8L/VP8X, GIF, BMP)
 * without decoding it, so a caller can refuse it before a pixel buffer exists. Bytes of an unknown
 * format give undefined; a known format with a broken or truncated header is BAD_IMAGE.
 */
export function readImageHeader(bytes: Uint8Array, what = 'the image'): ImageHeader | undefined {
  const b = bytes;
  const format = sniffImage(b);
  switch (format) {
    case 'png': {
      if (b.length < 33 || ascii(b, 12, 4) !== 'IHDR' || u32be(b, 8) !== 13)
        throw bad(what, 'the PNG does not start with a 13-byte IHDR chunk');
      return {
        format,
        width: u32be(b, 16),
        height: u32be(b, 20),
        png: { bitDepth: b[24], colorType: b[25], interlace: b[28] },
      };
    }
    case 'jpeg':
      return jpegHeader(b, what);
    case 'webp':
      return webpHeader(b, what);
    case 'gif':
      if (b.length < 10) throw bad(what, 'the GIF header is truncated');
      return { format, width: u16le(b, 6), height: u16le(b, 8) };
    case 'bmp': {
      if (b.length < 26) throw bad(what, 'the BMP header is truncated');
      const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
      return { format, width: Math.abs(dv.getInt32(18, true)), height: Math.abs(dv.getInt32(22, true)) };
    }
    default:
      return undefined;
  }
}

/**
 * Refuses an image whose header declares no pixels (BAD_IMAGE) or more than `maxPixels`
 * (IMAGE_TOO_LARGE, naming the option that raises the limit). Call it before decoding.
 */
export function checkImageSize(
  header: Pick<ImageHeader, 'width' | 'height'>,
  maxPixels: number = DEFAULT_MAX_PIXELS,
  what = 'the image',
): void {
  check(
    typeof maxPixels === 'number' && maxPixels >= 1,
    'BAD_OPTION',
    `maxPixels must be a positive number, got ${String(maxPixels)}`,
  );
  const { width, height } = header;
  check(width > 0 && height > 0, 'BAD_IMAGE', `${what} declares no pixels (${width} x ${height})`);
  const pixels = width * height;
  if (pixels > maxPixels) {
    throw new CnnvizError(
      'IMAGE_TOO_LARGE',
      `${what} declares ${width} x ${height} = ${(pixels / 1e6).toFixed(1)} megapixels, over the limit of ${(maxPixels / 1e6).toFixed(1)}; raise maxPixels (CLI: --max-pixels) if you trust it`,
    );
  }
}
