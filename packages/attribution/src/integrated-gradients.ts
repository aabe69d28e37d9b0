import * as tf from '@tensorflow/tfjs-core';
import { check, checkFinite, checkNumber, objectiveGradient, type VisionModel } from '@cnnviz/core';
import { batchSize, bytesPerSample, step, type BatchOptions } from './batching.js';
import { accumulateRows, perImageRows, range, sumOverChannels } from './gradient.js';
import { prepareImages } from './input.js';
import { quadrature, type IntegrationMethod } from './quadrature.js';
import { makeResult, type AttributionOf } from './result.js';
import { evaluateObjective, resolveTarget, type TargetOptions } from './target.js';

export interface IntegratedGradientsOptions extends TargetOptions, BatchOptions {
  /** Points on the path from the baseline to the image. Default 50. */
  steps?: number;
  /**
   * The reference input in pixel space: a value for every pixel, an image `[H,W,C]` for every
   * input, or one per input `[N,H,W,C]`. Default 0 (a black image).
   */
  baseline?: number | tf.Tensor3D | tf.Tensor4D;
  /** Quadrature rule. Default 'gausslegendre' (Captum's default). */
  method?: IntegrationMethod;
}

export interface IntegratedGradientsExtra {
  /**
   * |sum(raw) - (f(image) - f(baseline))| / |f(image) - f(baseline)|, the relative violation of
   * completeness (worst over a batch). 0 when exact; Infinity when f(image) = f(baseline) but the
   * attributions do not sum to 0.
   */
  completenessError: number;
  /** Per image: the same error. */
  completenessErrors: number[];
  /** Per image: sum(raw) - (f(image) - f(baseline)), Captum's convergence delta. */
  delta: number[];
}

/**
 * Integrated gradients (Sundararajan et al. 2017): `raw` = (x - baseline) * the path integral of
 * the pixel gradient along the straight line from the baseline to x, `[H,W,C]`; `map` = the signed
 * sum over channels `[H,W]` (so it sums to f(x) - f(baseline) as well). Batches `[N,H,W,C]` give
 * `[N,H,W,C]` / `[N,H,W]`. All steps of all images run in internal batches sized to `maxBatchBytes`.
 */
export async function integratedGradients<I extends tf.Tensor3D | tf.Tensor4D>(
  model: VisionModel,
  image: I,
  options: IntegratedGradientsOptions,
): Promise<AttributionOf<I, IntegratedGradientsExtra>> {
  const { steps = 50, baseline = 0, method = 'gausslegendre' } = options ?? {};
  checkNumber(steps, 'steps', { min: 1, integer: true });
  const { alphas, weights } = quadrature(method, steps);
  const input = await prepareImages(model, image);
  const sums: tf.Tensor3D[] = [];
  let base: tf.Tensor4D | undefined;
  let diff: tf.Tensor4D | undefined;
  try {
    const { x, n, h, w, c } = input;
    const target = resolveTarget(model, options, n, h, w);
    base = await baselineFor(baseline, x);
    diff = tf.sub(x, base) as tf.Tensor4D;
    const total = n * steps;
    const size = batchSize(options ?? {}, bytesPerSample(model, h, w, 'gradient'), total);
    for (let i = 0; i < n; i++) sums.push(tf.zeros([h, w, c]));
    for (let start = 0; start < total; start += size) {
      const rowIds = range(start, Math.min(start + size, total));
      const rows = rowIds.map((r) => Math.floor(r / steps));
      const g = tf.tidy(() => {
        const a = tf.tensor4d(
          Float32Array.from(rowIds, (r) => alphas[r % steps]),
          [rows.length, 1, 1, 1],
        );
        const wts = tf.tensor4d(
          Float32Array.from(rowIds, (r) => weights[r % steps]),
          [rows.length, 1, 1, 1],
        );
        const points = perImageRows(diff!, rows, (d, from, count) => {
          const b = tf.slice(base!, [rows[from], 0, 0, 0], [1, -1, -1, -1]);
          return tf.add(b, tf.mul(tf.slice(a, [from, 0, 0, 0], [count, -1, -1, -1]), d));
        });
        const { grad, values } = objectiveGradient(model, points, target.forRows(rows));
        values.dispose();
        return tf.mul(grad, wts);
      });
      accumulateRows(sums, g, rows);
      g.dispose();
      await step(options ?? {}, start + rows.length, total, 'integratedGradients');
    }
    const raw = tf.tidy(() => tf.mul(diff!, tf.stack(sums)) as tf.Tensor4D);
    const ends = tf.tidy(() =>
      evaluateObjective(model, tf.concat([x, base!]), target.forRows([...range(0, n), ...range(0, n)])),
    );
    const totals = tf.sum(raw, [1, 2, 3]);
    const [endValues, sumValues] = await Promise.all([ends.data(), totals.data()]);
    ends.dispose();
    totals.dispose();
    const delta: number[] = [];
    const errors: number[] = [];
    for (let i = 0; i < n; i++) {
      const change = endValues[i] - endValues[n + i];
      delta.push(sumValues[i] - change);
      errors.push(change !== 0 ? Math.abs(delta[i] / change) : delta[i] === 0 ? 0 : Infinity);
    }
    const extra: IntegratedGradientsExtra = {
      completenessError: Math.max(...errors),
      completenessErrors: errors,
      delta,
    };
    return makeResult(input.batched, sumOverChannels(raw), raw, true, extra);
  } finally {
    tf.dispose(sums);
    base?.dispose();
    diff?.dispose();
    input.dispose();
  }
}

/** The baseline as a batch like `x`, checked for shape and finiteness. */
async function baselineFor(baseline: unknown, x: tf.Tensor4D): Promise<tf.Tensor4D> {
  if (typeof baseline === 'number') {
    checkNumber(baseline, 'baseline');
    return tf.fill(x.shape, baseline) as tf.Tensor4D;
  }
  check(
    baseline instanceof tf.Tensor && !baseline.isDisposed,
    'BAD_OPTION',
    'baseline must be a number or a live tf.Tensor [H,W,C] / [N,H,W,C]',
  );
  const b = baseline as tf.Tensor;
  const shape = x.shape;
  check(
    (b.rank === 3 && b.shape.every((d, i) => d === shape[i + 1])) ||
      (b.rank === 4 && b.shape.every((d, i) => d === shape[i])),
    'BAD_OPTION',
    `baseline must have shape [${shape.slice(1).join(',')}] or [${shape.join(',')}] like the image, got [${b.shape.join(',')}]`,
  );
  await checkFinite(b, 'baseline');
  return tf.tidy(() => tf.broadcastTo(tf.cast(b, 'float32'), shape) as tf.Tensor4D);
}
