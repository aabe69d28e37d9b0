import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { installFix } from './registry.js';
import { setupBackends } from './test-backends.js';
import { kernelOn, randomInput, seeded } from './test-util.js';
import { wasmBatchMatMulFix } from './wasm-fast-batch-matmul.js';

describe('wasm BatchMatMul fix', () => {
  beforeAll(async () => {
    await setupBackends();
    installFix(wasmBatchMatMulFix);
  });

  it.each([
    { a: [300, 40], b: [40, 20], ta: false, tb: false }, // single products: our own matrix product
    { a: [67, 113], b: [113, 113], ta: false, tb: false }, // 113 columns: a 1-column tail
    { a: [90, 64], b: [13, 64], ta: false, tb: true },
    { a: [500, 24], b: [500, 24], ta: true, tb: false }, // a Gram matrix F^T F
    { a: [30, 400], b: [50, 400], ta: false, tb: true },
    { a: [400, 30], b: [50, 400], ta: true, tb: true },
    { a: [3, 60, 50], b: [3, 50, 40], ta: false, tb: false },
    { a: [2, 2, 60, 50], b: [50, 40], ta: false, tb: false },
    { a: [70, 60], b: [4, 70, 30], ta: true, tb: false },
    { a: [4, 5], b: [5, 6], ta: false, tb: false }, // tiny: stock kernel
  ])('matches cpu: a $a (T $ta) x b $b (T $tb)', async ({ a, b, ta, tb }) => {
    const rng = seeded(9);
    const inputs = { a: randomInput(a, rng), b: randomInput(b, rng) };
    const attrs = {
      transposeA: ta,
      transposeB: tb,
      bias: null,
      activation: 'linear',
      preluActivationWeights: null,
    };
    const want = await kernelOn('cpu', tf.BatchMatMul, inputs, attrs);
    const got = await kernelOn('wasm', tf.BatchMatMul, inputs, attrs);
    expect(got.shape).toEqual(want.shape);
    let maxErr = 0;
    for (let i = 0; i < want.values.length; i++)
      maxErr = Math.max(maxErr, Math.abs(got.values[i] - want.values[i]));
    expect(maxErr).toBeLessThan(1e-3);
    // On one thread nothing is timed: the same bits on every call.
    expect((await kernelOn('wasm', tf.BatchMatMul, inputs, attrs)).values).toEqual(got.values);
  });

  it('gradients through tf.matMul use it and stay correct', async () => {
    await tf.setBackend('wasm');
    const rng = seeded(3);
    const x = tf.tensor2d(Array.from(randomInput([200, 32], rng).values), [200, 32]);
    const f = (t: tf.Tensor) => tf.sum(tf.square(tf.matMul(t as tf.Tensor2D, t as tf.Tensor2D, true, false)));
    const g = tf.grad(f)(x);
    // d/dX sum((X^T X)^2) = 4 X (X^T X)
    const want = tf.tidy(() => tf.mul(4, tf.matMul(x, tf.matMul(x, x, true, false))));
    const err = tf.tidy(
      () => tf.max(tf.abs(tf.sub(g, want))).dataSync()[0] / tf.max(tf.abs(want)).dataSync()[0],
    );
    expect(err).toBeLessThan(1e-4);
    tf.dispose([x, g, want]);
  });
});
