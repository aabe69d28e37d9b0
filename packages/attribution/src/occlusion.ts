import * as tf from '@tensorflow/tfjs-core';
import { check, checkFinite, checkNumber, type VisionModel } from '@cnnviz/core';
import { batchSize, bytesPerSample, step, type BatchOptions } from './batching.js';
import { prepareImages } from './input.js';
import { makeResult, type AttributionOf } from './result.js';
import { evaluateObjective, resolveTarget, type TargetOptions } from './target.js';

export interface OcclusionOptions extends TargetOptions, BatchOptions {
  /** Occluding patch size in pixels, `s` or `[height, width]`. Default 16. */
  window?: number | [number, number];
  /** Step between patch positions, `s` or `[y, x]`. Default half the window (at least 1). */
  stride?: number | [number, number];
  /**
   * What fills the patch, in pixel space: a value (default 0, black) or an image `[H,W,C]` whose
   * pixels are copied in (e.g. a blurred copy of the input).
   */
  baseline?: number | tf.Tensor3D;
}

export interface OcclusionExtra {
  /** Patch positions (top-left corners, pixels) along y and x; `raw[i][j]` is at (ys[i], xs[j]). */
  ys: number[];
  xs: number[];
  /** The target's value on the unoccluded image (per image). */
  scores: number[];
}

/**
 * Occlusion (Zeiler & Fergus 2014): slide a patch over the image and record how much the target
 * drops. `raw` `[nY,nX]` is the drop f(image) - f(occluded) at each patch position (all channels
 * occluded); `map[i,j]` `[H,W]` is the mean drop over the patches covering pixel (i,j), 0 where
 * none does (Captum's Occlusion with all channels in the window). Batches give `[N,nY,nX]` /
 * `[N,H,W]`. Occluded copies run in internal batches sized to `maxBatchBytes` (forward only).
 */
export async function occlusion<I extends tf.Tensor3D | tf.Tensor4D>(
  model: VisionModel,
  image: I,
  options: OcclusionOptions,
): Promise<AttributionOf<I, OcclusionExtra>> {
  const opts = options ?? {};
  const input = await prepareImages(model, image);
  let fill: tf.Tensor | undefined;
  try {
    const { x, n, h, w, c } = input;
    const [wy, wx] = pair(opts.window ?? 16, 'window');
    const [sy, sx] = pair(
      opts.stride ?? [Math.max(1, Math.floor(wy / 2)), Math.max(1, Math.floor(wx / 2))],
      'stride',
    );
    check(
      wy <= h && wx <= w,
      'BAD_OPTION',
      `window ${wy}x${wx} is larger than the image (${h}x${w}); use a window of at most the image size`,
    );
    const target = resolveTarget(model, opts, n, h, w);
    fill = await baselineFor(opts.baseline ?? 0, [h, w, c]);
    const ys = positions(h, wy, sy);
    const xs = positions(w, wx, sx);
    const windows = ys.flatMap((y) => xs.map((xx) => [y, xx] as const));
    const perImage = windows.length;
    const size = batchSize(opts, bytesPerSample(model, h, w, 'forward'), perImage);
    const total = n * perImage;

    const base = evaluateObjective(model, x, target.forRows(Array.from({ length: n }, (_, i) => i)));
    const scores = Array.from(await base.data());
    base.dispose();

    const drops = new Float32Array(total);
    for (let i = 0; i < n; i++) {
      const img = tf.slice(x, [i, 0, 0, 0], [1, -1, -1, -1]);
      try {
        for (let start = 0; start < perImage; start += size) {
          const batch = windows.slice(start, start + size);
          const values = tf.tidy(() => {
            const mask = tf.tensor4d(windowMasks(batch, h, w, wy, wx), [batch.length, h, w, 1]);
            // image where the mask is 0, the fill where it is 1
            const occluded = tf.add(img, tf.mul(mask, tf.sub(fill!, img))) as tf.Tensor4D;
            return evaluateObjective(model, occluded, target.forRows(batch.map(() => i)));
          });
          const v = await values.data();
          values.dispose();
          for (let k = 0; k < batch.length; k++) drops[i * perImage + start + k] = scores[i] - v[k];
          await step(opts, i * perImage + start + batch.length, total, 'occlusion');
        }
      } finally {
        img.dispose();
      }
    }
    const map = meanOverCovering(drops, n, ys, xs, h, w, wy, wx);
    const raw = tf.tensor3d(drops, [n, ys.length, xs.length]);
    return makeResult(input.batched, tf.tensor3d(map, [n, h, w]), raw, true, { ys, xs, scores });
  } finally {
    fill?.dispose();
    input.dispose();
  }
}

function pair(v: unknown, name: string): [number, number] {
  const p = typeof v === 'number' ? [v, v] : v;
  check(
    Array.isArray(p) && p.length === 2,
    'BAD_OPTION',
    `${name} must be a positive integer or [height, width], got ${JSON.stringify(v)}`,
  );
  checkNumber(p[0], `${name}[0]`, { min: 1, integer: true });
  checkNumber(p[1], `${name}[1]`, { min: 1, integer: true });
  return [p[0], p[1]];
}

/** Top-left corners 0, s, 2s, ... of the windows that fit (Captum's sliding windows). */
function positions(size: number, window: number, stride: number): number[] {
  const out: number[] = [];
  for (let p = 0; p + window <= size; p += stride) out.push(p);
  return out;
}

async function baselineFor(baseline: unknown, shape: [number, number, number]): Promise<tf.Tensor> {
  if (typeof baseline === 'number') {
    checkNumber(baseline, 'baseline');
    return tf.scalar(baseline);
  }
  check(
    baseline instanceof tf.Tensor &&
      !baseline.isDisposed &&
      baseline.rank === 3 &&
      (baseline as tf.Tensor).shape.every((d: number, i: number) => d === shape[i]),
    'BAD_OPTION',
    `baseline must be a number or an image of shape [${shape.join(',')}]`,
  );
  await checkFinite(baseline as tf.Tensor, 'baseline');
  return tf.cast(baseline as tf.Tensor, 'float32');
}

function windowMasks(
  batch: ReadonlyArray<readonly [number, number]>,
  h: number,
  w: number,
  wy: number,
  wx: number,
): Float32Array {
  const mask = new Float32Array(batch.length * h * w);
  batch.forEach(([y0, x0], k) => {
    for (let y = y0; y < y0 + wy; y++) mask.fill(1, k * h * w + y * w + x0, k * h * w + y * w + x0 + wx);
  });
  return mask;
}

function meanOverCovering(
  drops: Float32Array,
  n: number,
  ys: number[],
  xs: number[],
  h: number,
  w: number,
  wy: number,
  wx: number,
): Float32Array {
  const map = new Float32Array(n * h * w);
  const count = new Float32Array(h * w);
  for (const y0 of ys)
    for (const x0 of xs)
      for (let y = y0; y < y0 + wy; y++) for (let x = x0; x < x0 + wx; x++) count[y * w + x]++;
  for (let i = 0; i < n; i++) {
    const out = map.subarray(i * h * w, (i + 1) * h * w);
    ys.forEach((y0, a) =>
      xs.forEach((x0, b) => {
        const d = drops[i * ys.length * xs.length + a * xs.length + b];
        for (let y = y0; y < y0 + wy; y++) for (let x = x0; x < x0 + wx; x++) out[y * w + x] += d;
      }),
    );
    for (let p = 0; p < h * w; p++) out[p] = count[p] > 0 ? out[p] / count[p] : 0;
  }
  return map;
}
