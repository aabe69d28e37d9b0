import { randomBytes } from 'node:crypto';
import { open, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  CnnvizError,
  DEFAULT_MAX_PIXELS,
  check,
  checkImageSize,
  decodeJpegRows,
  readImageHeader,
  sniffImage,
  type ImageHeader,
} from '@cnnviz/core';
import * as pngjs from 'pngjs';
import { decodePngRows, pngChunks } from './png-rows.js';

export interface ReadImageOptions {
  /** 3 (RGB, default) or 1 (luma, ITU-R 601 weights as PIL's 'L'). */
  channels?: 1 | 3;
  /**
   * Images whose header declares more pixels are refused with IMAGE_TOO_LARGE before anything is
   * decoded. Default `DEFAULT_MAX_PIXELS` (100 megapixels).
   */
  maxPixels?: number;
  /**
   * `[height, width]`: shrink while decoding, by the largest integer factor that keeps the image
   * at least this size, averaging each factor x factor block (a box filter). A 8000 x 8000 PNG read
   * with `shrinkTo: [224, 224]` never exists at full size in memory. A JPEG is first reduced by
   * 2, 4 or 8 in the DCT domain (as libjpeg's scale_denom) and then box-averaged, with a total
   * factor within 3/4 of the largest, so its result can be up to 4/3 of `shrinkTo`. Never enlarges.
   */
  shrinkTo?: [number, number];
}

/** Turns decoded RGB rows into the float32 result, box-averaging `factor` x `factor` blocks. */
class PixelSink {
  readonly out: Float32Array;
  readonly oh: number;
  readonly ow: number;
  private readonly acc: Float64Array;

  constructor(
    private readonly width: number,
    private readonly height: number,
    private readonly channels: 1 | 3,
    private readonly factor: number,
  ) {
    this.oh = Math.ceil(height / factor);
    this.ow = Math.ceil(width / factor);
    this.out = new Float32Array(this.oh * this.ow * channels);
    this.acc = new Float64Array(factor === 1 ? 0 : this.ow * 3);
  }

  push = (rgb: Uint8Array, y: number): void => {
    const { width, channels, factor, out, acc, ow } = this;
    if (factor === 1) {
      const o = y * width * channels;
      for (let x = 0; x < width; x++) {
        const r = rgb[3 * x];
        const g = rgb[3 * x + 1];
        const b = rgb[3 * x + 2];
        if (channels === 3) {
          out[o + 3 * x] = r / 255;
          out[o + 3 * x + 1] = g / 255;
          out[o + 3 * x + 2] = b / 255;
        } else out[o + x] = (0.299 * r + 0.587 * g + 0.114 * b) / 255;
      }
      return;
    }
    for (let x = 0; x < width; x++) {
      const k = 3 * ((x / factor) | 0);
      acc[k] += rgb[3 * x];
      acc[k + 1] += rgb[3 * x + 1];
      acc[k + 2] += rgb[3 * x + 2];
    }
    const last = y === this.height - 1;
    if ((y + 1) % factor !== 0 && !last) return;
    const rows = (y % factor) + 1;
    const oy = (y / factor) | 0;
    for (let ox = 0; ox < ow; ox++) {
      const n = rows * Math.min(factor, width - ox * factor) * 255;
      const r = acc[3 * ox] / n;
      const g = acc[3 * ox + 1] / n;
      const b = acc[3 * ox + 2] / n;
      const o = (oy * ow + ox) * channels;
      if (channels === 3) {
        out[o] = r;
        out[o + 1] = g;
        out[o + 2] = b;
      } else out[o] = 0.299 * r + 0.587 * g + 0.114 * b;
    }
    acc.fill(0);
  };
}

async function decodeWebp(
  buf: Uint8Array,
  what: string,
  maxPixels: number,
  sink: (w: number, h: number) => PixelSink['push'],
): Promise<void> {
  // sharp is optional (prebuilt libvips, ~30 MB); pure-JS decoders here cover PNG and JPEG only.
  const specifier = 'sharp';
  let sharp: (
    input: Uint8Array,
    options: { limitInputPixels: number },
  ) => {
    removeAlpha(): {
      raw(): {
        toBuffer(o: {
          resolveWithObject: true;
        }): Promise<{ data: Buffer; info: { width: number; height: number; channels: number } }>;
      };
    };
  };
  try {
    const mod = (await import(specifier)) as { default?: typeof sharp } & typeof sharp;
    sharp = mod.default ?? mod;
  } catch {
    throw new CnnvizError(
      'BAD_IMAGE',
      `${what} is a WebP image; reading WebP needs the optional package 'sharp' (npm i sharp), or convert it to PNG/JPEG`,
    );
  }
  const header = readImageHeader(buf, what)!;
  checkImageSize(header, maxPixels, what);
  let raw: { data: Buffer; info: { width: number; height: number; channels: number } };
  try {
    raw = await sharp(buf, { limitInputPixels: Math.floor(maxPixels) })
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new CnnvizError('BAD_IMAGE', `${what} is not a readable WebP image: ${errorText(e)}`, {
      cause: e,
    });
  }
  const { data, info } = raw;
  check(info.channels === 3, 'BAD_IMAGE', `${what}: unexpected WebP channel count ${info.channels}`);
  pushRows(data, info.width, info.height, 3, sink(info.width, info.height));
}

/** Some decoders throw strings; every failure still gets a readable reason. */
const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

function pushRows(
  data: Uint8Array,
  width: number,
  height: number,
  stride: 3 | 4,
  push: PixelSink['push'],
): void {
  const row = new Uint8Array(width * 3);
  for (let y = 0; y < height; y++) {
    const o = y * width * stride;
    if (stride === 3) push(data.subarray(o, o + width * 3), y);
    else {
      for (let x = 0; x < width; x++) {
        row[3 * x] = data[o + 4 * x];
        row[3 * x + 1] = data[o + 4 * x + 1];
        row[3 * x + 2] = data[o + 4 * x + 2];
      }
      push(row, y);
    }
  }
}

/** The largest integer factor that keeps a w x h image at least `shrinkTo` (1 without it). */
const shrinkFactor = (w: number, h: number, t?: [number, number]) =>
  t ? Math.max(1, Math.floor(Math.min(h / t[0], w / t[1]))) : 1;

/**
 * Checks the header (size limit, plausibility), then decodes into rows for `sink`. The sink is
 * created from the decoded size only after the header passed, so no pixel buffer exists for a
 * refused image. A JPEG that will be shrunk by 2, 4 or 8 or more is decoded at that scale in the
 * DCT domain (libjpeg's scale_denom): `sink` then gets the reduced size.
 */
async function decode(
  buf: Uint8Array,
  what: string,
  maxPixels: number,
  shrinkTo: [number, number] | undefined,
  sink: (w: number, h: number) => PixelSink['push'],
): Promise<void> {
  if (sniffImage(buf) === 'webp') return decodeWebp(buf, what, maxPixels, sink);
  const header = readImageHeader(buf, what);
  if (!header || header.format === 'gif' || header.format === 'bmp') {
    throw new CnnvizError('BAD_IMAGE', `${what} is not an image: expected a PNG, JPEG or WebP file`);
  }
  checkImageSize(header, maxPixels, what);
  const { format, width, height } = header;
  if (format === 'jpeg') {
    // The largest DCT scale whose multiples come within 3/4 of the factor wanted: 17 -> 8 x 2,
    // 15 -> 4 x 3, 3 -> 1 x 3 (8 would leave the result twice the size asked for).
    const f = shrinkFactor(width, height, shrinkTo);
    const scale = ([8, 4, 2] as const).find((s) => s * Math.floor(f / s) >= 0.75 * f) ?? 1;
    decodeJpegRows(buf, { scale, what }, sink);
    return;
  }
  const chunks = pngChunks(buf, header, what);
  if (header.png!.interlace === 0) return decodePngRows(header, chunks, what, sink(width, height));
  let png: pngjs.PNGWithMetadata;
  try {
    // Interlaced (Adam7) PNGs need the whole image anyway: pngjs decodes them to RGBA.
    png = pngjs.PNG.sync.read(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength));
  } catch (e) {
    throw new CnnvizError('BAD_IMAGE', `${what} is not a readable PNG image: ${errorText(e)}`, { cause: e });
  }
  check(
    png.width === width && png.height === height && png.data.length >= width * height * 4,
    'BAD_IMAGE',
    `${what} decoded to ${png.width} x ${png.height}, not the ${width} x ${height} its header declares`,
  );
  pushRows(png.data, width, height, 4, sink(width, height));
}

/**
 * Reads a PNG, JPEG (or WebP, with the optional `sharp`) file or buffer into a float32 tensor
 * `[H,W,C]` with values 0..1. The format is detected from the bytes, not the file name. Alpha is
 * dropped (as PIL's `convert('RGB')`). The header is read first: more than `maxPixels` pixels is
 * IMAGE_TOO_LARGE, before any pixel buffer exists. PNGs are decoded row by row while inflating and
 * JPEGs one MCU row at a time (progressive ones from a coefficient buffer of Int16 per sample), so
 * with `shrinkTo` a large image never exists at full size. A missing or unreadable file is code
 * IO; bytes that are not a decodable image are code BAD_IMAGE; messages name the file.
 */
export async function readImage(
  pathOrBuffer: string | Uint8Array,
  options: ReadImageOptions = {},
): Promise<tf.Tensor3D> {
  const channels = options.channels ?? 3;
  check(channels === 1 || channels === 3, 'BAD_OPTION', `channels must be 1 or 3, got ${String(channels)}`);
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  check(
    typeof maxPixels === 'number' && maxPixels >= 1,
    'BAD_OPTION',
    `maxPixels must be a positive number, got ${String(maxPixels)}`,
  );
  const t = options.shrinkTo;
  check(
    t === undefined || (Array.isArray(t) && t.length === 2 && t.every((d) => Number.isInteger(d) && d >= 1)),
    'BAD_OPTION',
    () => `shrinkTo must be [height, width] with positive integers, got ${JSON.stringify(t)}`,
  );
  let buf: Uint8Array;
  let what: string;
  if (typeof pathOrBuffer === 'string') {
    what = `"${pathOrBuffer}"`;
    try {
      buf = await readFile(pathOrBuffer);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why =
        code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (e as Error).message;
      throw new CnnvizError('IO', `cannot read image ${what}: ${why}`, { cause: e });
    }
  } else {
    check(
      pathOrBuffer instanceof Uint8Array,
      'BAD_IMAGE',
      `readImage expects a file path or a Buffer/Uint8Array, got ${typeof pathOrBuffer}`,
    );
    what = 'the image buffer';
    buf = pathOrBuffer;
  }
  let rows: PixelSink | undefined;
  await decode(buf, what, maxPixels, t, (w, h) => {
    rows = new PixelSink(w, h, channels, shrinkFactor(w, h, t));
    return rows.push;
  });
  return tf.tensor3d(rows!.out, [rows!.oh, rows!.ow, channels]);
}

/**
 * Reads only the header of an image file (at most its first 1 MiB, where every JPEG frame header
 * sits after its metadata) and refuses it as `readImage` would, without decoding: IMAGE_TOO_LARGE
 * over `maxPixels`, BAD_IMAGE for no pixels or an unknown format, IO for an unreadable file. The
 * CLI calls it on every input before it loads a model.
 */
export async function checkImageFile(
  path: string,
  maxPixels: number = DEFAULT_MAX_PIXELS,
): Promise<ImageHeader> {
  const what = `"${path}"`;
  let head: Uint8Array;
  try {
    const fh = await open(path, 'r');
    try {
      const b = Buffer.alloc(1 << 20);
      const { bytesRead } = await fh.read(b, 0, b.length, 0);
      head = b.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  } catch (e) {
    throw new CnnvizError('IO', `cannot read image ${what}: ${errorText(e)}`, { cause: e });
  }
  const header = readImageHeader(head, what);
  if (!header)
    throw new CnnvizError('BAD_IMAGE', `${what} is not an image: expected a PNG, JPEG or WebP file`);
  checkImageSize(header, maxPixels, what);
  return header;
}

/**
 * Encodes `[H,W,1|3]` or `[H,W]` (values 0..1, clipped; NaN as 0) as an 8-bit PNG: grey for one
 * channel, RGB for three. Async because WebGPU tensors in Node can only be read asynchronously.
 */
export async function encodePng(image: tf.Tensor2D | tf.Tensor3D): Promise<Buffer> {
  check(
    image instanceof tf.Tensor && !image.isDisposed,
    'BAD_IMAGE',
    'encodePng expects a live tf.Tensor [H,W], [H,W,1] or [H,W,3] with values 0..1',
  );
  const c: number = image.rank === 2 ? 1 : (image.shape[2] ?? 0);
  check(
    (image.rank === 2 || image.rank === 3) && (c === 1 || c === 3),
    'BAD_IMAGE',
    `image must have shape [H,W], [H,W,1] or [H,W,3], got [${image.shape.join(',')}]`,
  );
  const [height, width] = image.shape;
  check(height > 0 && width > 0, 'BAD_IMAGE', `image must be at least 1x1, got ${height}x${width}`);
  const values = await image.data();
  const rgba = Buffer.alloc(width * height * 4);
  const byte = (v: number) => (v > 0 ? (v < 1 ? Math.round(v * 255) : 255) : 0); // NaN and negatives → 0
  for (let i = 0; i < width * height; i++) {
    const r = byte(values[i * c]);
    rgba[4 * i] = r;
    rgba[4 * i + 1] = c === 3 ? byte(values[i * c + 1]) : r;
    rgba[4 * i + 2] = c === 3 ? byte(values[i * c + 2]) : r;
    rgba[4 * i + 3] = 255;
  }
  const png = new pngjs.PNG({ width, height });
  png.data = rgba;
  return pngjs.PNG.sync.write(png, { colorType: c === 3 ? 2 : 0, inputHasAlpha: true });
}

/**
 * Writes an image tensor (see `encodePng`) to `path` atomically: the PNG goes to a temporary file
 * in the same directory, then is renamed over `path`, so a reader never sees a partial file and a
 * failure leaves nothing behind. The directory must exist. Failures are code IO.
 */
export async function writePng(path: string, image: tf.Tensor2D | tf.Tensor3D): Promise<void> {
  check(typeof path === 'string' && path.length > 0, 'BAD_OPTION', 'writePng needs a file path');
  const bytes = await encodePng(image);
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, bytes, { flag: 'wx' });
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'the directory does not exist'
        : code === 'EACCES'
          ? 'permission denied'
          : (e as Error).message;
    throw new CnnvizError('IO', `cannot write PNG "${path}": ${why}`, { cause: e });
  }
}
