import * as tf from '@tensorflow/tfjs-core';
import { type KernelArgs } from './kernel-util.js';
import { type KernelFix } from './registry.js';
import { heapViews, isWasmBackend } from './wasm-heap.js';

type FillMode = 'constant' | 'reflect' | 'wrap' | 'nearest';

/** tfjs-backend-cpu's coordinate mapping for each fill mode (copied rule for rule so results match it). */
function mapCoord(c: number, len: number, mode: FillMode): number {
  if (mode === 'constant') return c;
  if (mode === 'nearest') return Math.min(Math.max(c, 0), len - 1);
  let v = c;
  if (mode === 'reflect') {
    if (v < 0) {
      if (len <= 1) v = 0;
      else {
        const sz2 = 2 * len;
        if (v < sz2) v = sz2 * Math.trunc(-v / sz2) + v;
        v = v < -len ? v + sz2 : -v - 1;
      }
    } else if (v > len - 1) {
      if (len <= 1) v = 0;
      else {
        const sz2 = 2 * len;
        v -= sz2 * Math.trunc(v / sz2);
        if (v >= len) v = sz2 - v - 1;
      }
    }
  } else if (v < 0) {
    v = len <= 1 ? 0 : v + len * (Math.trunc(-v / (len - 1)) + 1);
  } else if (v > len - 1) {
    v = len <= 1 ? 0 : v - len * Math.trunc(v / (len - 1));
  }
  return Math.min(Math.max(v, 0), len - 1);
}

/**
 * `tf.image.transform` (projective warp, NHWC) with tfjs-backend-cpu's arithmetic, on the wasm heap. The coordinates
 * and weights are computed once per output pixel and shared by its channels; the stock wasm kernel took ~4 ms per
 * 248x248 RGB warp, two of which (forward and backward) are in every feature-visualisation step. An affine map
 * (Lucid's jitter, scale and rotation) divides by no projection and a 'constant' fill maps no coordinate: both are
 * decided once per image rather than per pixel (2.1 -> 1.8 ms at 248x248 RGB), with the same arithmetic.
 */
export function transformInto(
  image: Float32Array,
  shape: number[],
  transforms: ArrayLike<number>,
  perImage: boolean,
  interpolation: 'bilinear' | 'nearest',
  fillMode: FillMode,
  fillValue: number,
  outHeight: number,
  outWidth: number,
  out: Float32Array,
): void {
  out.fill(fillValue);
  for (let b = 0; b < shape[0]; b++) {
    const t = perImage ? b * 8 : 0;
    const m = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => transforms[t + i]);
    warpImage(image, shape, b, m, interpolation === 'nearest', fillMode, fillValue, outHeight, outWidth, out);
  }
}

/** Image `b` of `transformInto`, by its eight coefficients `m`. */
function warpImage(
  image: Float32Array,
  [, h, w, c]: number[],
  b: number,
  [t0, t1, t2, t3, t4, t5, t6, t7]: number[],
  nearest: boolean,
  fillMode: FillMode,
  fillValue: number,
  outHeight: number,
  outWidth: number,
  out: Float32Array,
): void {
  const base = b * h * w * c;
  const read = (y: number, x: number, k: number) =>
    y >= 0 && y < h && x >= 0 && x < w ? image[base + (y * w + x) * c + k] : fillValue;
  const affine = t6 === 0 && t7 === 0;
  const mapped = fillMode !== 'constant';
  for (let oy = 0; oy < outHeight; oy++) {
    for (let ox = 0; ox < outWidth; ox++) {
      const proj = affine ? 1 : t6 * ox + t7 * oy + 1;
      if (proj === 0) continue;
      const xp = affine ? t0 * ox + t1 * oy + t2 : (t0 * ox + t1 * oy + t2) / proj;
      const yp = affine ? t3 * ox + t4 * oy + t5 : (t3 * ox + t4 * oy + t5) / proj;
      const x = mapped ? mapCoord(xp, w, fillMode) : xp;
      const y = mapped ? mapCoord(yp, h, fillMode) : yp;
      const o = ((b * outHeight + oy) * outWidth + ox) * c;
      if (nearest) {
        const ry = Math.round(y);
        const rx = Math.round(x);
        for (let k = 0; k < c; k++) out[o + k] = read(ry, rx, k);
        continue;
      }
      const y0 = Math.floor(y);
      const x0 = Math.floor(x);
      const fx = x - x0;
      const gx = x0 + 1 - x;
      const fy = y - y0;
      const gy = y0 + 1 - y;
      if (y0 >= 0 && y0 + 1 < h && x0 >= 0 && x0 + 1 < w) {
        // All four taps inside: no bounds checks.
        const p = base + (y0 * w + x0) * c;
        const q = p + w * c;
        for (let k = 0; k < c; k++) {
          const top = gx * image[p + k] + fx * image[p + c + k];
          const bottom = gx * image[q + k] + fx * image[q + c + k];
          out[o + k] = gy * top + fy * bottom;
        }
      } else {
        for (let k = 0; k < c; k++) {
          const top = gx * read(y0, x0, k) + fx * read(y0, x0 + 1, k);
          const bottom = gx * read(y0 + 1, x0, k) + fx * read(y0 + 1, x0 + 1, k);
          out[o + k] = gy * top + fy * bottom;
        }
      }
    }
  }
}

/** Faster wasm `Transform` (float32 images; anything else goes to the stock kernel). */
export const wasmTransformFix: KernelFix = {
  name: 'wasm:Transform',
  kernelName: tf.Transform,
  backendName: 'wasm',
  make: (stock) => (args) => {
    const { inputs, backend, attrs } = args as unknown as KernelArgs;
    const image = inputs.image as tf.TensorInfo;
    const transforms = inputs.transforms as tf.TensorInfo;
    const a = attrs as unknown as tf.TransformAttrs;
    const usable =
      isWasmBackend(backend) &&
      image.dtype === 'float32' &&
      transforms.dtype === 'float32' &&
      image.shape.length === 4 &&
      (a.interpolation === 'bilinear' || a.interpolation === 'nearest');
    if (!usable) {
      if (stock === undefined) throw new Error('Transform: no stock kernel');
      return stock.kernelFunc(args);
    }
    const [batch, h, w, c] = image.shape;
    const [oh, ow] = a.outputShape ?? [h, w];
    const { out, outView, inViews } = heapViews(backend, [image, transforms], [batch, oh, ow, c], 'float32');
    transformInto(
      inViews[0] as Float32Array,
      image.shape,
      inViews[1],
      transforms.shape[0] !== 1,
      a.interpolation,
      a.fillMode,
      a.fillValue,
      oh,
      ow,
      outView as Float32Array,
    );
    return out;
  },
};
