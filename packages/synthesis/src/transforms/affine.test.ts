import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-layers';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRng, gaussianBlur, randomNormal } from '@cnnviz/core';
import { affineWarp } from './affine.js';
import { compose, standardTransforms } from './random.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const smooth = (seed: number, s: number) =>
  tf.tidy(() => gaussianBlur(randomNormal([1, s, s, 2], createRng(seed)) as tf.Tensor4D, 2));

describe('affineWarp', () => {
  it('rotating by 90 degrees moves the top-left corner to the expected corner', () => {
    const x = tf.tidy(() =>
      tf.pad(tf.ones([1, 2, 2, 1]), [
        [0, 0],
        [0, 4],
        [0, 4],
        [0, 0],
      ]),
    ) as tf.Tensor4D;
    const y = affineWarp(x, 90, 1);
    const v = Array.from(y.dataSync());
    // Mass preserved by an exact 90-degree turn of a square grid.
    expect(v.reduce((a, b) => a + b, 0)).toBeCloseTo(4, 4);
    expect(v[0]).toBe(0);
    tf.dispose([x, y]);
  });

  it('its gradient is (close to) the adjoint of the warp: <A x, y> = <x, A^T y>', () => {
    for (const [deg, scale] of [
      [10, 1],
      [0, 1.1],
      [-7, 0.92],
    ]) {
      const x = smooth(1, 48);
      const y = smooth(2, 48);
      const lhs = tf.tidy(() => tf.sum(tf.mul(affineWarp(x, deg, scale), y)).dataSync()[0]);
      const grad = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(affineWarp(xi as tf.Tensor4D, deg, scale), y)))(
        x,
      );
      const rhs = tf.tidy(() => tf.sum(tf.mul(x, grad)).dataSync()[0]);
      const norm = tf.tidy(() => tf.norm(x).dataSync()[0] * tf.norm(y).dataSync()[0]);
      // Exact up to interpolation and the border; a wrong sign, angle or scale factor is far off.
      expect(Math.abs(lhs - rhs) / norm).toBeLessThan(0.03);
      tf.dispose([x, y, grad]);
    }
  });
});

describe('standardTransforms', () => {
  it('keeps the batch, pads by the scaled amount and is differentiable', () => {
    const before = tf.memory().numTensors;
    const t = compose(standardTransforms(64));
    const x = smooth(3, 64);
    const rng = createRng(0);
    const out = t(x, rng);
    expect(out.shape).toEqual([1, 64 + 12, 64 + 12, 2]);
    const g = tf.grad((xi: tf.Tensor) => tf.mean(t(xi as tf.Tensor4D, createRng(0))))(x);
    expect(tf.tidy(() => tf.sum(tf.abs(g)).dataSync()[0])).toBeGreaterThan(0);
    tf.dispose([x, out, g]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
