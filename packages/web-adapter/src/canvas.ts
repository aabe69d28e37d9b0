import * as tf from '@tensorflow/tfjs-core';
import {
  applyColormap,
  check,
  checkImage,
  checkImageSize,
  CnnvizError,
  DEFAULT_MAX_PIXELS,
  readImageHeader,
  overlayHeatmap,
  resize,
  type ColormapName,
  type ColormapOptions,
  type OverlayOptions,
} from '@cnnviz/core';

/** Anything a browser can draw: an image element, a canvas, a video frame, a bitmap or raw pixels. */
export type ImageSource =
  HTMLImageElement | HTMLCanvasElement | HTMLVideoElement | ImageBitmap | ImageData | OffscreenCanvas;

/** A canvas to draw on: on the page, or an OffscreenCanvas in a worker. */
export type DrawTarget = HTMLCanvasElement | OffscreenCanvas;

export interface ImageFromElementOptions {
  /** 3 (RGB, default) or 1 (luma, for grayscale models such as fashionCnn). */
  channels?: 1 | 3;
  /** Resize (bilinear): a number is the longest side (aspect kept), `[h, w]` exact. Default: the source's size. */
  size?: number | [number, number];
}

export interface DrawOptions {
  /** Canvas size in pixels; the tensor is scaled to it. Default: the tensor's own size. */
  width?: number;
  height?: number;
  /** Smooth scaling (bilinear); default false, so enlarged small images show crisp pixels. */
  smooth?: boolean;
}

export interface DrawHeatmapOptions extends DrawOptions, ColormapOptions {
  /** Default 'inferno' (unsigned), 'rdbu' when `signed`. */
  colormap?: ColormapName;
}

export type DrawOverlayOptions = DrawOptions & OverlayOptions;

const g = globalThis as {
  HTMLImageElement?: typeof HTMLImageElement;
  HTMLVideoElement?: typeof HTMLVideoElement;
  HTMLCanvasElement?: typeof HTMLCanvasElement;
  ImageData?: typeof ImageData;
  ImageBitmap?: typeof ImageBitmap;
  OffscreenCanvas?: typeof OffscreenCanvas;
  document?: Document;
};

const is = <T>(ctor: (abstract new (...a: never[]) => T) | undefined, v: unknown): v is T =>
  ctor !== undefined && v instanceof ctor;

function sourceSize(src: ImageSource): [number, number] {
  if (is(g.HTMLImageElement, src)) return [src.naturalHeight, src.naturalWidth];
  if (is(g.HTMLVideoElement, src)) return [src.videoHeight, src.videoWidth];
  return [src.height, src.width];
}

function checkSource(src: unknown): asserts src is ImageSource {
  const known =
    is(g.HTMLImageElement, src) ||
    is(g.HTMLCanvasElement, src) ||
    is(g.HTMLVideoElement, src) ||
    is(g.ImageBitmap, src) ||
    is(g.ImageData, src) ||
    is(g.OffscreenCanvas, src);
  check(
    known,
    'BAD_IMAGE',
    () =>
      `expected an HTMLImageElement, HTMLCanvasElement, HTMLVideoElement, ImageBitmap, ImageData or OffscreenCanvas, got ${
        src === null ? 'null' : typeof src === 'object' ? (src.constructor?.name ?? 'object') : typeof src
      }`,
  );
  if (is(g.HTMLImageElement, src)) {
    check(
      src.complete && src.naturalWidth > 0,
      'BAD_IMAGE',
      `the <img> (${src.src.slice(0, 80) || 'no src'}) has not loaded or is broken; await img.decode() first`,
    );
  }
  if (is(g.HTMLVideoElement, src)) {
    check(
      src.readyState >= 2 && src.videoWidth > 0,
      'BAD_IMAGE',
      'the <video> has no frame yet (readyState < HAVE_CURRENT_DATA); wait for its loadeddata event',
    );
  }
  const [h, w] = sourceSize(src as ImageSource);
  check(h > 0 && w > 0, 'BAD_IMAGE', `the image source is empty (${w}x${h})`);
}

function scratchCanvas(w: number, h: number): OffscreenCanvas | HTMLCanvasElement {
  if (g.OffscreenCanvas) return new g.OffscreenCanvas(w, h);
  check(g.document !== undefined, 'UNSUPPORTED_OP', 'no OffscreenCanvas and no document to draw on');
  const c = g.document.createElement('canvas');
  c.width = w;
  c.height = h;
  return c;
}

function context2d(
  canvas: DrawTarget | OffscreenCanvas,
): CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D {
  const ctx = canvas.getContext('2d') as CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D | null;
  check(
    ctx !== null,
    'BAD_OPTION',
    'cannot get a 2d context on this canvas (it already has a WebGL/WebGPU context?)',
  );
  return ctx;
}

/** RGBA bytes of any source (fromPixels cannot read an OffscreenCanvas). */
function pixelsOf(src: ImageSource): ImageData | Exclude<ImageSource, OffscreenCanvas> {
  if (!is(g.OffscreenCanvas, src)) return src;
  const c = scratchCanvas(src.width, src.height);
  const ctx = context2d(c);
  ctx.drawImage(src, 0, 0);
  return ctx.getImageData(0, 0, src.width, src.height);
}

function targetSize(h: number, w: number, size: ImageFromElementOptions['size']): [number, number] {
  if (size === undefined) return [h, w];
  if (typeof size === 'number') {
    check(Number.isInteger(size) && size >= 1, 'BAD_OPTION', `size must be a positive integer, got ${size}`);
    const k = size / Math.max(h, w);
    return [Math.max(1, Math.round(h * k)), Math.max(1, Math.round(w * k))];
  }
  check(
    Array.isArray(size) && size.length === 2 && size.every((v) => Number.isInteger(v) && v >= 1),
    'BAD_OPTION',
    `size must be a number or [h, w] of positive integers, got ${JSON.stringify(size)}`,
  );
  return [size[0], size[1]];
}

/**
 * The pixels of an image element, canvas, video frame, ImageBitmap, ImageData or OffscreenCanvas
 * as a float32 `[H, W, C]` tensor with values in 0..1 (the caller disposes it): the image format
 * every cnnviz technique takes. `channels: 1` gives luma (0.299 R + 0.587 G + 0.114 B).
 */
export function imageFromElement(source: ImageSource, options: ImageFromElementOptions = {}): tf.Tensor3D {
  checkSource(source);
  check(options !== null && typeof options === 'object', 'BAD_OPTION', 'options must be an object');
  const channels = options.channels ?? 3;
  check(channels === 1 || channels === 3, 'BAD_OPTION', `channels must be 1 or 3, got ${String(channels)}`);
  const [h, w] = sourceSize(source);
  const size = targetSize(h, w, options.size);
  const pixels = pixelsOf(source);
  return tf.tidy(() => {
    const rgb = tf.div(tf.cast(tf.browser.fromPixels(pixels, 3), 'float32'), 255) as tf.Tensor3D;
    const out =
      channels === 1
        ? (tf.sum(tf.mul(rgb, tf.tensor1d([0.299, 0.587, 0.114])), 2, true) as tf.Tensor3D)
        : rgb;
    return size[0] === h && size[1] === w ? out : resize(out, size);
  });
}

/** Options of `imageFromFile`. */
export interface ImageFromFileOptions extends ImageFromElementOptions {
  /**
   * Files whose header declares more pixels are refused with IMAGE_TOO_LARGE before the browser
   * decodes them. Default `DEFAULT_MAX_PIXELS` (100 megapixels).
   */
  maxPixels?: number;
}

/**
 * A file the user dropped or chose (a `File` or any `Blob`) as a float32 `[H, W, C]` tensor with
 * values 0..1. Its size is read from the header bytes first (PNG, JPEG, WebP, GIF, BMP; other
 * formats are BAD_IMAGE) and refused over `maxPixels`, before `createImageBitmap` decodes it;
 * with `size`, the browser scales while decoding, so a large photo need not exist at full size.
 */
export async function imageFromFile(file: Blob, options: ImageFromFileOptions = {}): Promise<tf.Tensor3D> {
  check(
    typeof Blob !== 'undefined' && file instanceof Blob,
    'BAD_IMAGE',
    'imageFromFile expects a File or Blob (e.g. from an <input type=file> or a drop event)',
  );
  check(options !== null && typeof options === 'object', 'BAD_OPTION', 'options must be an object');
  const what = `"${(file as Partial<File>).name ?? 'the file'}"`;
  // Every supported header sits in the first MiB (a JPEG's frame header follows its metadata).
  const head = new Uint8Array(await file.slice(0, 1 << 20).arrayBuffer());
  const header = readImageHeader(head, what);
  check(
    header !== undefined,
    'BAD_IMAGE',
    `${what} is not a PNG, JPEG, WebP, GIF or BMP image (its size cannot be checked before decoding)`,
  );
  checkImageSize(header, options.maxPixels ?? DEFAULT_MAX_PIXELS, what);
  const [h, w] = targetSize(header.height, header.width, options.size);
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(
      file,
      h === header.height && w === header.width
        ? {}
        : { resizeHeight: h, resizeWidth: w, resizeQuality: 'high' },
    );
  } catch (e) {
    throw new CnnvizError('BAD_IMAGE', `${what} could not be decoded: ${(e as Error).message}`, { cause: e });
  }
  try {
    return imageFromElement(bitmap, { channels: options.channels, size: [h, w] });
  } finally {
    bitmap.close();
  }
}

/** Pixel data of a 0..1 image `[H,W,1|3|4]` or `[H,W]` as RGBA bytes (NaN shows black). */
async function rgbaBytes(image: tf.Tensor2D | tf.Tensor3D): Promise<ImageData> {
  const [h, w, c = 1] = image.shape as number[];
  const data = await image.data();
  const out = new Uint8ClampedArray(h * w * 4);
  // Uint8ClampedArray rounds and clamps; NaN becomes 0.
  for (let i = 0; i < h * w; i++) {
    const o = 4 * i;
    if (c === 1) {
      const v = data[i] * 255;
      out[o] = v;
      out[o + 1] = v;
      out[o + 2] = v;
      out[o + 3] = 255;
    } else {
      out[o] = data[c * i] * 255;
      out[o + 1] = data[c * i + 1] * 255;
      out[o + 2] = data[c * i + 2] * 255;
      out[o + 3] = c === 4 ? data[c * i + 3] * 255 : 255;
    }
  }
  check(g.ImageData !== undefined, 'UNSUPPORTED_OP', 'ImageData is not available in this environment');
  return new g.ImageData(out, w, h);
}

function checkCanvas(canvas: unknown): asserts canvas is DrawTarget {
  check(
    is(g.HTMLCanvasElement, canvas) || is(g.OffscreenCanvas, canvas),
    'BAD_OPTION',
    'canvas must be an HTMLCanvasElement or an OffscreenCanvas',
  );
}

function checkDrawSize(v: number | undefined, name: string): void {
  check(
    v === undefined || (Number.isInteger(v) && v >= 1 && v <= 16384),
    'BAD_OPTION',
    `${name} must be an integer in 1..16384, got ${String(v)}`,
  );
}

/**
 * Draws an image tensor (`[H,W,1|3|4]` or `[H,W]`, values 0..1, clipped) on a canvas, which is
 * resized to `width` x `height` (default the tensor's size). Reads the tensor asynchronously, so
 * it works on every backend (WebGPU has no synchronous read). The tensor is not disposed.
 */
export async function drawTensor(
  canvas: DrawTarget,
  image: tf.Tensor2D | tf.Tensor3D,
  options: DrawOptions = {},
): Promise<void> {
  checkCanvas(canvas);
  check(
    image instanceof tf.Tensor && !image.isDisposed && (image.rank === 2 || image.rank === 3),
    'BAD_IMAGE',
    () =>
      `image must be a live tf.Tensor [H,W] or [H,W,C], got ${image instanceof tf.Tensor ? `shape [${image.shape.join(',')}]` : typeof image}`,
  );
  if (image.rank === 3) {
    check(
      [1, 3, 4].includes((image.shape as number[])[2]),
      'BAD_IMAGE',
      `image must have 1, 3 or 4 channels (HWC), got shape [${image.shape.join(',')}]`,
    );
  }
  checkDrawSize(options.width, 'width');
  checkDrawSize(options.height, 'height');
  const [h, w] = image.shape;
  const pixels = await rgbaBytes(image);
  const width = options.width ?? w;
  const height = options.height ?? h;
  canvas.width = width;
  canvas.height = height;
  const ctx = context2d(canvas);
  if (width === w && height === h) {
    ctx.putImageData(pixels, 0, 0);
    return;
  }
  const scratch = scratchCanvas(w, h);
  context2d(scratch).putImageData(pixels, 0, 0);
  ctx.imageSmoothingEnabled = options.smooth ?? false;
  ctx.clearRect(0, 0, width, height);
  ctx.drawImage(scratch, 0, 0, width, height);
}

/**
 * Draws a map `[H,W]` (saliency, Grad-CAM, occlusion) through a colormap: min-max scaled, or
 * symmetric about 0 with `signed` (then 'rdbu' by default).
 */
export async function drawHeatmap(
  canvas: DrawTarget,
  map: tf.Tensor2D,
  options: DrawHeatmapOptions = {},
): Promise<void> {
  const { width, height, smooth, colormap, ...cm } = options;
  const colour = applyColormap(map, colormap ?? (cm.signed ? 'rdbu' : 'inferno'), cm);
  try {
    await drawTensor(canvas, colour, { width, height, smooth: smooth ?? true });
  } finally {
    colour.dispose();
  }
}

/**
 * Draws a map `[h,w]` blended over the image `[H,W,C]` it explains (core's `overlayHeatmap`:
 * the map is resized to the image, default colormap 'jet', alpha 0.5).
 */
export async function drawOverlay(
  canvas: DrawTarget,
  image: tf.Tensor3D,
  map: tf.Tensor2D,
  options: DrawOverlayOptions = {},
): Promise<void> {
  checkImage(image, { batch: false });
  const { width, height, smooth, ...overlay } = options;
  const blended = overlayHeatmap(image, map, overlay);
  try {
    await drawTensor(canvas, blended, { width, height, smooth });
  } finally {
    blended.dispose();
  }
}
