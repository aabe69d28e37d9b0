import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import '../register-gradients.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** d sum(w * avgPool(x)) / dx by central differences on the forward op (which is right; the op is linear). */
function numericGrad(
  x: number[],
  shape: [number, number, number, number],
  w: number[],
  out: number[],
  k: number | [number, number],
  s: number,
  pad: 'same' | 'valid',
) {
  const f = (v: number[]) =>
    tf.tidy(
      () => tf.sum(tf.mul(tf.avgPool(tf.tensor4d(v, shape), k, s, pad), tf.tensor(w, out))).dataSync()[0],
    );
  const eps = 1e-2;
  return x.map((_, i) => {
    const p = x.slice();
    const m = x.slice();
    p[i] += eps;
    m[i] -= eps;
    return (f(p) - f(m)) / (2 * eps);
  });
}

describe('AvgPool gradient fix', () => {
  it('gives a corner of a 3x3 "same" pool 1/4 + 1/6 + 1/6 + 1/9 (stock TF.js: 4/9)', () => {
    const g = tf.grad((v: tf.Tensor) => tf.sum(tf.avgPool(v as tf.Tensor4D, 3, 1, 'same')))(
      tf.ones([1, 4, 4, 1]),
    );
    const d = g.dataSync();
    expect(d[0]).toBeCloseTo(1 / 4 + 1 / 6 + 1 / 6 + 1 / 9, 6);
    // An edge cell: windows of 4, 6, 6 (row 0) and 6, 9, 9 (row 1) cells.
    expect(d[1]).toBeCloseTo(1 / 4 + 1 / 6 + 1 / 6 + 1 / 6 + 1 / 9 + 1 / 9, 6);
    expect(d[5]).toBeCloseTo(1 / 4 + 2 / 6 + 2 / 6 + 4 / 9, 6);
    g.dispose();
  });

  for (const backend of ['cpu', 'wasm']) {
    it(`matches central differences on ${backend} ('same' strides 1 and 2, 'valid', 3-D input), leaking nothing`, async () => {
      await tf.setBackend(backend);
      await tf.ready();
      const cases: [number | [number, number], number, 'same' | 'valid', [number, number, number, number]][] =
        [
          [3, 1, 'same', [1, 5, 6, 2]],
          // Stride 1, odd windows: the fast path (one forward pool between two multiplications).
          [[5, 3], 1, 'same', [2, 5, 3, 2]],
          [3, 2, 'same', [2, 7, 5, 1]],
          [2, 2, 'same', [1, 5, 5, 1]],
          [2, 2, 'valid', [1, 6, 4, 2]],
        ];
      for (const [k, s, pad, shape] of cases) {
        const n = shape.reduce((a, b) => a * b, 1);
        const x = Array.from({ length: n }, (_, i) => Math.sin(i * 1.3) + 0.2 * i);
        const out = tf.tidy(() => tf.avgPool(tf.tensor4d(x, shape), k, s, pad).shape);
        const w = Array.from({ length: out.reduce((a, b) => a * b, 1) }, (_, i) =>
          Math.cos(i * 0.7),
        ) as number[];
        const before = tf.memory().numTensors;
        const g = tf.tidy(() =>
          tf.grad((v: tf.Tensor) =>
            tf.sum(tf.mul(tf.avgPool(v as tf.Tensor4D, k, s, pad), tf.tensor(w, out))),
          )(tf.tensor4d(x, shape)),
        );
        const got = Array.from(g.dataSync());
        g.dispose();
        expect(tf.memory().numTensors).toBe(before);
        const want = numericGrad(x, shape, w, out, k, s, pad);
        for (let i = 0; i < n; i++) expect(got[i]).toBeCloseTo(want[i], 3);
      }
      // A 3-D image goes through the same path.
      const g3 = tf.grad((v: tf.Tensor) => tf.sum(tf.avgPool(v as tf.Tensor3D, 3, 1, 'same')))(
        tf.ones([4, 4, 1]),
      );
      expect(g3.shape).toEqual([4, 4, 1]);
      expect(g3.dataSync()[0]).toBeCloseTo(1 / 4 + 1 / 6 + 1 / 6 + 1 / 9, 5);
      g3.dispose();
      await tf.setBackend('cpu');
    });
  }
});
