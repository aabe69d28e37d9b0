import * as tf from '@tensorflow/tfjs-core';
import { checkNumber, counterNormal, objectiveGradient, type VisionModel } from '@cnnviz/core';
import { batchSize, bytesPerSample, step, type BatchOptions } from './batching.js';
import { accumulateRows, maxAbsOverChannels, perImageRows, range } from './gradient.js';
import { prepareImages } from './input.js';
import { makeResult, type AttributionOf } from './result.js';
import { resolveTarget, type TargetOptions } from './target.js';

export interface SmoothGradOptions extends TargetOptions, BatchOptions {
  /** Noisy copies per image. Default 50. */
  samples?: number;
  /**
   * Noise standard deviation as a fraction of the image's value range (max - min), Smilkov et
   * al.'s σ/(x_max - x_min); 0.1-0.2 works best in their paper. Default 0.15.
   */
  noise?: number;
  /** Seed of the noise; the same seed gives the same result on every backend. Default 0. */
  seed?: number;
  /** Average squared gradients (SmoothGrad-Squared, Hooker et al. 2019) instead of gradients. */
  squared?: boolean;
}

/**
 * SmoothGrad (Smilkov et al. 2017): the pixel gradient averaged over `samples` copies of the image
 * with Gaussian noise added. `raw` = mean gradient (or mean squared gradient) `[H,W,C]`; `map` =
 * max over channels of |raw| `[H,W]`. Batches `[N,H,W,C]` give `[N,H,W,C]` / `[N,H,W]`. The
 * noisy copies of all images run in internal batches sized to `maxBatchBytes`.
 */
export async function smoothGrad<I extends tf.Tensor3D | tf.Tensor4D>(
  model: VisionModel,
  image: I,
  options: SmoothGradOptions,
): Promise<AttributionOf<I>> {
  const { samples = 50, noise = 0.15, seed = 0, squared = false } = options ?? {};
  checkNumber(samples, 'samples', { min: 1, integer: true });
  checkNumber(noise, 'noise', { min: 0 });
  checkNumber(seed, 'seed');
  const input = await prepareImages(model, image);
  const sums: tf.Tensor3D[] = [];
  try {
    const { x, n, h, w, c } = input;
    const target = resolveTarget(model, options, n, h, w);
    const sigmas = tf.tidy(() => {
      const flat = tf.reshape(x, [n, -1]);
      return tf.mul(tf.sub(tf.max(flat, 1), tf.min(flat, 1)), noise);
    });
    const sigma = await sigmas.data();
    sigmas.dispose();
    const total = n * samples;
    const size = batchSize(options ?? {}, bytesPerSample(model, h, w, 'gradient'), total);
    for (let i = 0; i < n; i++) sums.push(tf.zeros([h, w, c]));
    // Rows are ordered image-major and row r's noise is elements r·HWC.. of the seed's counter-based stream, so
    // the noise depends on the seed only, not on the batch size — and a GPU draws it in place (webgpu kernel).
    for (let start = 0; start < total; start += size) {
      const rows = range(start, Math.min(start + size, total)).map((r) => Math.floor(r / samples));
      const g = tf.tidy(() => {
        const scale = tf.tensor4d(
          Float32Array.from(rows, (i) => sigma[i]),
          [rows.length, 1, 1, 1],
        );
        const unit = counterNormal([rows.length, h, w, c], seed, { offset: start * h * w * c });
        const eps = tf.mul(unit, scale);
        const noisy = perImageRows(x, rows, (image, from, count) =>
          tf.add(image, tf.slice(eps, [from, 0, 0, 0], [count, -1, -1, -1])),
        );
        const { grad, values } = objectiveGradient(model, noisy, target.forRows(rows));
        values.dispose();
        return squared ? tf.square(grad) : grad;
      });
      accumulateRows(sums, g, rows);
      g.dispose();
      await step(options ?? {}, start + rows.length, total, 'smoothGrad');
    }
    const raw = tf.tidy(() => tf.div(tf.stack(sums), samples) as tf.Tensor4D);
    return makeResult(input.batched, maxAbsOverChannels(raw), raw, false);
  } finally {
    tf.dispose(sums);
    input.dispose();
  }
}
