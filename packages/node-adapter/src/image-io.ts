import { randomBytes } from 'node:crypto';
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { CnnvizError, check } from '@cnnviz/core';
import * as jpeg from 'jpeg-js';
import * as pngjs from 'pngjs';

export interface ReadImageOptions {
  /** 3 (RGB, default) or 1 (luma, ITU-R 601 weights as PIL's 'L'). */
  channels?: 1 | 3;
}

type Format = 'png' | 'jpeg' | 'webp';

function sniff(buf: Uint8Array): Format | undefined {
  if (buf.length >= 8 && buf[0] === 0x89 && buf[1] === 0x50 && buf[2] === 0x4e && buf[3] === 0x47)
    return 'png';
  if (buf.length >= 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff) return 'jpeg';
  const ascii = (from: number, to: number) => String.fromCharCode(...buf.subarray(from, to));
  if (buf.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'webp';
  return undefined;
}

/** Decoded pixels as RGBA or RGB bytes. */
interface Raw {
  width: number;
  height: number;
  data: Uint8Array;
  stride: 3 | 4;
}

async function decodeWebp(buf: Uint8Array, what: string): Promise<Raw> {
  // sharp is optional (prebuilt libvips, ~30 MB); pure-JS decoders here cover PNG and JPEG only.
  const specifier = 'sharp';
  let sharp: (input: Uint8Array) => {
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
  try {
    const { data, info } = await sharp(buf).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    check(info.channels === 3, 'BAD_IMAGE', `${what}: unexpected WebP channel count ${info.channels}`);
    return { width: info.width, height: info.height, data, stride: 3 };
  } catch (e) {
    if (CnnvizError.isInstance(e)) throw e;
    throw new CnnvizError('BAD_IMAGE', `${what} is not a readable WebP image: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

async function decode(buf: Uint8Array, what: string): Promise<Raw> {
  const format = sniff(buf);
  try {
    if (format === 'png') {
      // pngjs expands palettes and grey to RGBA and rescales 16-bit samples to 8 bits.
      const png = pngjs.PNG.sync.read(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength));
      return { width: png.width, height: png.height, data: png.data, stride: 4 };
    }
    if (format === 'jpeg') {
      const img = jpeg.decode(buf, { useTArray: true, formatAsRGBA: false, maxMemoryUsageInMB: 2048 });
      return { width: img.width, height: img.height, data: img.data, stride: 3 };
    }
  } catch (e) {
    throw new CnnvizError(
      'BAD_IMAGE',
      `${what} is not a readable ${format?.toUpperCase()} image: ${(e as Error).message}`,
      {
        cause: e,
      },
    );
  }
  if (format === 'webp') return decodeWebp(buf, what);
  throw new CnnvizError('BAD_IMAGE', `${what} is not an image: expected a PNG, JPEG or WebP file`);
}

/**
 * Reads a PNG, JPEG (or WebP, with the optional `sharp`) file or buffer into a float32 tensor
 * `[H,W,C]` with values 0..1. The format is detected from the bytes, not the file name. Alpha is
 * dropped (as PIL's `convert('RGB')`). A missing or unreadable file is code IO; bytes that are not
 * a decodable image are code BAD_IMAGE; both messages name the file.
 */
export async function readImage(
  pathOrBuffer: string | Uint8Array,
  options: ReadImageOptions = {},
): Promise<tf.Tensor3D> {
  const channels = options.channels ?? 3;
  check(channels === 1 || channels === 3, 'BAD_OPTION', `channels must be 1 or 3, got ${String(channels)}`);
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
  const raw = await decode(buf, what);
  const { width, height, data, stride } = raw;
  check(width > 0 && height > 0, 'BAD_IMAGE', `${what} has no pixels`);
  const n = width * height;
  const out = new Float32Array(n * channels);
  for (let i = 0; i < n; i++) {
    const r = data[i * stride];
    const g = data[i * stride + 1];
    const b = data[i * stride + 2];
    if (channels === 3) {
      out[3 * i] = r / 255;
      out[3 * i + 1] = g / 255;
      out[3 * i + 2] = b / 255;
    } else {
      out[i] = (0.299 * r + 0.587 * g + 0.114 * b) / 255;
    }
  }
  return tf.tensor3d(out, [height, width, channels]);
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
