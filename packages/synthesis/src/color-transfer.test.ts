import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-layers';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRng, randomNormal } from '@cnnviz/core';
import { colorStats, matchColors, mixColorStats, sqrtmNewtonSchulz } from './color-transfer.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const maxAbs = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

/** A random colour image with correlated channels: pixels = 0.5 + noise @ mix. */
function correlatedImage(seed: number, mix: number[][], h = 12, w = 10): tf.Tensor4D {
  return tf.tidy(() => {
    const noise = tf.reshape(randomNormal([h * w * 3], createRng(seed)), [h * w, 3]);
    return tf.reshape(tf.add(tf.matMul(noise, tf.tensor2d(mix)), 0.5), [1, h, w, 3]) as tf.Tensor4D;
  });
}

describe('colour transfer', () => {
  it('Newton–Schulz square roots: S^½ S^½ = S (+ the small regulariser), S^½ S^-½ = I', () => {
    const before = tf.memory().numTensors;
    // A hand-made SPD matrix with condition number ~400 (a nearly grey image's covariance).
    const a = tf.tensor3d([
      [
        [0.04, 0.039, 0.038],
        [0.039, 0.04, 0.039],
        [0.038, 0.039, 0.0401],
      ],
    ]);
    const { sqrt, invSqrt } = sqrtmNewtonSchulz(a, { eps: 1e-6 });
    const back = tf.matMul(sqrt, sqrt);
    const eye = tf.matMul(sqrt, invSqrt);
    const identity = tf.eye(3);
    expect(maxAbs(back, a)).toBeLessThan(1e-5);
    expect(maxAbs(eye, identity)).toBeLessThan(1e-3);
    tf.dispose([a, sqrt, invSqrt, back, eye, identity]);
    // Closed form: diag(4, 9, 0.25) -> diag(2, 3, 0.5) and diag(1/2, 1/3, 2).
    const d = tf.tensor3d([
      [
        [4, 0, 0],
        [0, 9, 0],
        [0, 0, 0.25],
      ],
    ]);
    const r = sqrtmNewtonSchulz(d, { eps: 0 });
    expect(Array.from(r.sqrt.dataSync()).map((v) => +v.toFixed(4))).toEqual([2, 0, 0, 0, 3, 0, 0, 0, 0.5]);
    expect(Array.from(r.invSqrt.dataSync()).map((v) => +v.toFixed(4))).toEqual([
      0.5, 0, 0, 0, 0.3333, 0, 0, 0, 2,
    ]);
    tf.dispose([d, r.sqrt, r.invSqrt]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('matchColors gives the target mean and covariance, and keeps the picture (a linear map)', () => {
    const x = correlatedImage(1, [
      [0.1, 0.02, 0],
      [0, 0.05, 0.01],
      [0.03, 0, 0.08],
    ]);
    const ref = correlatedImage(2, [
      [0.2, 0.15, 0.1],
      [0, 0.05, -0.02],
      [0, 0, 0.04],
    ]);
    const target = colorStats(ref);
    const before = tf.memory().numTensors;
    const y = matchColors(x, target);
    expect(tf.memory().numTensors).toBe(before + 1);
    const got = colorStats(y);
    expect(maxAbs(got.mean, target.mean)).toBeLessThan(1e-5);
    const scale = tf.tidy(() => tf.max(tf.abs(target.cov)).dataSync()[0]);
    expect(maxAbs(got.cov, target.cov) / scale).toBeLessThan(5e-3);
    // Per-pixel linear: y's pixels are an affine function of x's (regression residual ~ 0).
    const resid = tf.tidy(() => {
      const xf = tf.concat([tf.reshape(x, [-1, 3]), tf.ones([x.size / 3, 1])], 1);
      const yf = tf.reshape(y, [-1, 3]);
      const xtx = tf.matMul(xf, xf, true, false);
      const coef = tf.matMul(
        tf.matMul(tf.tensor2d(invert4(xtx.arraySync() as number[][])), xf, false, true),
        yf,
      );
      return tf.max(tf.abs(tf.sub(tf.matMul(xf, coef), yf))).dataSync()[0];
    });
    expect(resid).toBeLessThan(1e-4);
    tf.dispose([x, ref, y, target.mean, target.cov, got.mean, got.cov]);
  });

  it('a grey target makes the result grey', () => {
    const x = correlatedImage(3, [
      [0.1, 0, 0],
      [0, 0.1, 0],
      [0, 0, 0.1],
    ]);
    const grey = tf.tidy(() =>
      tf.tile(
        tf.slice(
          correlatedImage(4, [
            [0.1, 0, 0],
            [0, 0, 0],
            [0, 0, 0],
          ]),
          [0, 0, 0, 0],
          [-1, -1, -1, 1],
        ),
        [1, 1, 1, 3],
      ),
    ) as tf.Tensor4D;
    const t = colorStats(grey);
    const y = matchColors(x, t);
    const chroma = tf.tidy(() => {
      const [r, g, b] = tf.split(y, 3, 3);
      return Math.max(tf.max(tf.abs(tf.sub(r, g))).dataSync()[0], tf.max(tf.abs(tf.sub(g, b))).dataSync()[0]);
    });
    const spread = tf.tidy(() => tf.moments(y).variance.dataSync()[0]);
    expect(spread).toBeGreaterThan(1e-3);
    expect(chroma).toBeLessThan(0.02);
    tf.dispose([x, grey, t.mean, t.cov, y]);
  });

  it('mixColorStats of two equally weighted images equals the statistics of their pixels together', () => {
    const a = correlatedImage(5, [
      [0.1, 0, 0.05],
      [0, 0.1, 0],
      [0, 0, 0.1],
    ]);
    const b = tf.tidy(() =>
      tf.add(
        correlatedImage(6, [
          [0.05, 0, 0],
          [0.02, 0.1, 0],
          [0, 0, 0.02],
        ]),
        0.2,
      ),
    ) as tf.Tensor4D;
    const sa = colorStats(a);
    const sb = colorStats(b);
    const mixed = mixColorStats([sa, sb], [0.5, 0.5]);
    const both = colorStats(tf.concat([a, b], 1) as tf.Tensor4D);
    expect(maxAbs(mixed.mean, both.mean)).toBeLessThan(1e-6);
    expect(maxAbs(mixed.cov, both.cov)).toBeLessThan(1e-6);
    tf.dispose([a, b, sa.mean, sa.cov, sb.mean, sb.cov, mixed.mean, mixed.cov, both.mean, both.cov]);
  });
});

/** Inverse of a 4x4 matrix by Gauss–Jordan elimination (test helper). */
function invert4(m: number[][]): number[][] {
  const n = m.length;
  const a = m.map((r, i) => [...r, ...Array.from({ length: n }, (_, j) => (i === j ? 1 : 0))]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r][c]) > Math.abs(a[p][c])) p = r;
    [a[c], a[p]] = [a[p], a[c]];
    const d = a[c][c];
    for (let j = 0; j < 2 * n; j++) a[c][j] /= d;
    for (let r = 0; r < n; r++)
      if (r !== c) {
        const f = a[r][c];
        for (let j = 0; j < 2 * n; j++) a[r][j] -= f * a[c][j];
      }
  }
  return a.map((r) => r.slice(n));
}
