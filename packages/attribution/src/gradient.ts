import * as tf from '@tensorflow/tfjs-core';
import { objectiveGradient, reduceChannels, type VisionModel } from '@cnnviz/core';
import { batchSize, bytesPerSample, step, type BatchOptions } from './batching.js';
import type { ResolvedTarget } from './target.js';

/**
 * Pixel gradients of the target for every image of `x` `[N,H,W,C]`, in internal batches that fit
 * the memory budget. Returns the gradient `[N,H,W,C]` and the target values `[N]`. `wrap` runs
 * each batch's forward and backward pass (e.g. inside a gradient override), batch by batch so an
 * override is never left installed across an await.
 */
export async function batchedGradient(
  model: VisionModel,
  x: tf.Tensor4D,
  target: ResolvedTarget,
  options: BatchOptions,
  what: string,
  wrap: <T>(fn: () => T) => T = (fn) => fn(),
): Promise<{ grad: tf.Tensor4D; values: tf.Tensor1D }> {
  const [n, h, w] = x.shape;
  const size = batchSize(options, bytesPerSample(model, h, w, 'gradient'), n);
  if (size >= n) {
    return wrap(() => objectiveGradient(model, x, target.forRows(range(0, n))));
  }
  const grads: tf.Tensor[] = [];
  const values: tf.Tensor[] = [];
  try {
    for (let start = 0; start < n; start += size) {
      const count = Math.min(size, n - start);
      const part = tf.slice(x, [start, 0, 0, 0], [count, -1, -1, -1]);
      try {
        const g = wrap(() => objectiveGradient(model, part, target.forRows(range(start, start + count))));
        grads.push(g.grad);
        values.push(g.values);
      } finally {
        part.dispose();
      }
      await step(options, start + count, n, what);
    }
    return { grad: tf.concat(grads as tf.Tensor4D[], 0), values: tf.concat(values as tf.Tensor1D[], 0) };
  } finally {
    tf.dispose(grads);
    tf.dispose(values);
  }
}

export function range(start: number, end: number): number[] {
  return Array.from({ length: end - start }, (_, i) => start + i);
}

/** `[N,H,W,C]` → `[N,H,W]`: the largest |value| over channels (Simonyan et al.'s saliency map). */
export function maxAbsOverChannels(raw: tf.Tensor4D): tf.Tensor3D {
  return reduceChannels(raw, 'maxAbs') as tf.Tensor3D;
}

/** `[N,H,W,C]` → `[N,H,W]`: the signed sum over channels, so the map keeps IG's completeness. */
export function sumOverChannels(raw: tf.Tensor4D): tf.Tensor3D {
  return reduceChannels(raw, 'sum') as tf.Tensor3D;
}

/**
 * Adds each image's rows of `g` `[rows,H,W,C]` to that image's running sum; `rows[k]` is the image
 * of row k, in ascending order (internal batches of samples or steps, image-major).
 */
/**
 * Runs of equal consecutive entries of `rows` as [row, start, count] (the internal batches list
 * each image's samples together).
 */
function runs(rows: number[]): [number, number, number][] {
  const out: [number, number, number][] = [];
  for (let k = 0; k < rows.length;) {
    let end = k;
    while (end < rows.length && rows[end] === rows[k]) end++;
    out.push([rows[k], k, end - k]);
    k = end;
  }
  return out;
}

/**
 * `f(x[row], batch rows start .. start + count)` for each run of equal rows, concatenated: lets a
 * per-image term broadcast over its samples instead of being gathered row by row (GatherV2 on
 * wasm took ~30 ms for 4 × 224² × 3, a tenth of a SmoothGrad batch).
 */
export function perImageRows(
  x: tf.Tensor4D,
  rows: number[],
  f: (image: tf.Tensor4D, start: number, count: number) => tf.Tensor4D,
): tf.Tensor4D {
  return tf.tidy(() => {
    const parts = runs(rows).map(([i, start, count]) =>
      f(tf.slice(x, [i, 0, 0, 0], [1, -1, -1, -1]), start, count),
    );
    return parts.length === 1 ? parts[0] : tf.concat(parts);
  });
}

export function accumulateRows(sums: tf.Tensor3D[], g: tf.Tensor, rows: number[]): void {
  for (const [i, start, count] of runs(rows)) {
    const next = tf.tidy(() =>
      tf.add(sums[i], tf.sum(tf.slice(g, [start, 0, 0, 0], [count, -1, -1, -1]), 0)),
    ) as tf.Tensor3D;
    sums[i].dispose();
    sums[i] = next;
  }
}
